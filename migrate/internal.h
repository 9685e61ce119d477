/* internal.h — what migrate/'s files share (not part of migrate.h). */
#ifndef RTV_MIGRATE_INTERNAL_H
#define RTV_MIGRATE_INTERNAL_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stddef.h>

#include "migrate/migrate.h"

/* lverr.c: libvirt's last error on this thread as a negative errno, its
 * message as "what: message" in err; the error is reset. The one place
 * libvirt's -1/NULL + virError convention is translated. */
int mig__lv_error(const char *what, char *err, size_t errlen);

/* evloop.c: libvirt's default event loop on a thread of its own, shared by
 * every connection of the process. _ref registers it (first call) and
 * starts the thread; _unref stops it with the last user. */
int mig__evloop_ref(char *err, size_t errlen);
void mig__evloop_unref(void);

/* A message from any thread to a connection's loop (conn.c). */
enum mig__msg_kind {
	MIG__MSG_OPENED,	/* worker: open succeeded */
	MIG__MSG_OPEN_FAILED,	/* worker: err says why */
	MIG__MSG_CLOSED,	/* event thread: libvirt closed the connection */
	MIG__MSG_VM,		/* worker: vm */
	MIG__MSG_VM_GONE,	/* worker: uuid */
	MIG__MSG_SYNCED,	/* worker: full list done; uuids of every VM seen */
	MIG__MSG_HOST,		/* worker: host */
	MIG__MSG_LIFECYCLE,	/* event thread: ev */
	MIG__MSG_JOB_PROGRESS,	/* worker: job, progress */
	MIG__MSG_JOB_DONE,	/* job thread: job, result */
};

struct mig__msg {
	struct mig__msg *next;
	enum mig__msg_kind kind;
	uint64_t gen;		/* the connection generation it belongs to */
	char err[MIG_ERRLEN];
	struct mig_vm vm;
	struct mig_host_res host;
	struct mig_lifecycle ev;
	struct mig_job *job;
	struct mig_progress progress;
	struct mig_result result;
	char (*uuids)[MIG_UUID_LEN];	/* SYNCED: heap, owned by the message */
	size_t n_uuids;
};

struct mig__msg *mig__msg_new(enum mig__msg_kind kind);
void mig__msg_free(struct mig__msg *m);
/* Any thread: queue m for c's loop (takes m; dropped after close). */
void mig__post(struct mig_conn *c, struct mig__msg *m);

/* conn.c, for job.c: the live libvirt connection (a new reference the
 * caller unrefs with virConnectClose), or NULL when down. */
virConnectPtr mig__conn_ref(struct mig_conn *c);
/* Drops the reference mig__conn_ref took on c (any thread). */
void mig__conn_release(struct mig_conn *c);
uv_loop_t *mig__conn_loop(struct mig_conn *c);
/* Loop thread: ask the worker for the job statistics of uuid (progress),
 * to abort uuid's job, to re-read uuid. */
void mig__conn_query_job(struct mig_conn *c, struct mig_job *j, const char *uuid);
void mig__conn_abort_job(struct mig_conn *c, const char *uuid);
void mig__conn_reread(struct mig_conn *c, const char *uuid);
/* Loop thread: the inventory's state of uuid (reported if changed). */
void mig__conn_vm_state(struct mig_conn *c, const char *uuid, enum mig_vm_state st);
int mig__conn_job_add(struct mig_conn *c, struct mig_job *j);
void mig__conn_job_del(struct mig_conn *c, struct mig_job *j);

/* job.c, for conn.c */
void mig__job_progress(struct mig_job *j, const struct mig_progress *p);
void mig__job_done(struct mig_job *j, const struct mig_result *r);
void mig__job_orphan(struct mig_job *j);	/* the connection is going away */

/* vm.c: one VM's inventory read with the given connection (blocking) */
int mig__vm_read(virDomainPtr dom, struct mig_vm *vm, char *err, size_t errlen);
/* A job's statistics (flags: 0 for the running job, or
 * VIR_DOMAIN_JOB_STATS_COMPLETED) into p and/or r (either may be NULL);
 * *migrating (may be NULL) tells whether a migration job runs. Returns the
 * job type (VIR_DOMAIN_JOB_*) or a negative errno. */
int mig__job_stats(virDomainPtr dom, unsigned int flags, struct mig_progress *p,
		   struct mig_result *r, bool *migrating, char *err, size_t errlen);

#endif /* RTV_MIGRATE_INTERNAL_H */
