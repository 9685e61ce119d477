/* internal.h — private to agent/libvirt: the module's state, shared by
 * libvirt.c (VM records) and lvmig.c (live migrations and their Raft
 * record). Loop thread only. */
#ifndef RTV_AGENT_LIBVIRT_INTERNAL_H
#define RTV_AGENT_LIBVIRT_INTERNAL_H

#include "agent/libvirt/libvirt.h"
#include "migrate/migrate.h"

#define MOD "libvirt"
#define LV_URI_MAX 512

struct lv_mig;

struct lv {
	struct rtvd *d;
	struct mig_conn *conn;
	uv_timer_t retry;
	bool closing;
	struct agent_submit *job;
	uint64_t client_id, seq;
	char (*dirty)[MIG_UUID_LEN];
	size_t n_dirty, cap_dirty;
	struct lv_mig *mig;
};

/* lvmig.c: the [libvirt] keys of migration (peer_uri, migrate_*). */
int lv_mig_config_key(const char *key, const char *value, char *why, size_t whylen);
int lv_mig_start(struct lv *m);
void lv_mig_close(struct lv *m);
void lv_mig_free(struct lv *m);
/* The hooks' and the connection's events, passed on. */
void lv_mig_applied(struct lv *m, const struct cons_cmd *cmd, const struct cons_result *res);
void lv_mig_restored(struct lv *m);
void lv_mig_vm(struct lv *m, const struct mig_vm *vm);
void lv_mig_lifecycle(struct lv *m, const struct mig_lifecycle *ev);
void lv_mig_synced(struct lv *m);
void lv_mig_gone(struct lv *m, const char *uuid);
/* status: the "libvirt" key */
size_t lv_mig_status_keys(void *self);
/* telemetry's sources (AGENT_TM_IFACE): the migration counters */
const void *lv_mig_iface(void *self, const char *name);
int lv_mig_pack_status(void *self, msgpack_packer *pk);

#endif
