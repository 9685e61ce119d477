/* libvirt.c — see libvirt.h.
 *
 * Writes: a domain reported running or paused (a libvirt event
 * and the re-read after it, or the full list after every reconnection)
 * queues its uuid; the queue is worked one command at a time, each
 * recomputed from the state when its turn comes, so a burst of events for
 * one VM costs at most one VM_SET and none when the record already agrees.
 * Commands go through agent_core_submit with this module's own client id
 * and sequence (exactly-once, one in flight); a refusal is logged and the
 * VM waits for its next change; unavailability is retried every second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/libvirt/internal.h"
#include "common/log.h"
#include "migrate/migrate.h"
#include "rpc/client.h"

#define RETRY_MS 1000

static char cfg_uri[LV_URI_MAX] = "qemu:///system";

static int lv_config_key(const char *key, const char *value, char *why, size_t whylen)
{
	if (strcmp(key, "uri") != 0)
		return lv_mig_config_key(key, value, why, whylen);
	if (strlen(value) >= sizeof(cfg_uri)) {
		snprintf(why, whylen, "uri: longer than %d bytes", LV_URI_MAX - 1);
		return -EINVAL;
	}
	snprintf(cfg_uri, sizeof(cfg_uri), "%s", value);
	return 0;
}

static const struct cons_vm *record(const struct cons_state *s, const char *uuid)
{
	for (size_t i = 0; i < cons_state_n_vms(s); i++) {
		const struct cons_vm *v = cons_state_vm_at(s, i);

		if (strcmp(v->uuid, uuid) == 0)
			return v;
	}
	return NULL;
}

static int mac_parse(const char *s, uint8_t mac[6])
{
	unsigned b[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* The VM_SET that makes the record agree with libvirt, or false. */
static bool vm_command(struct lv *m, const struct mig_vm *vm, struct cons_cmd *cmd)
{
	const struct cons_state *s = agent_core_state(m->d);
	const struct cons_vm *cur = record(s, vm->uuid);
	struct cons_vm *want = &cmd->u.vm;

	memset(cmd, 0, sizeof(*cmd));
	cmd->op = CONS_OP_VM_SET;
	snprintf(want->uuid, sizeof(want->uuid), "%s", vm->uuid);
	snprintf(want->name, sizeof(want->name), "%s", vm->name);
	want->host_id = agent_core_config(m->d)->id;
	for (uint32_t i = 0; i < vm->n_ifaces && want->n_macs < CONS_VM_MACS_MAX; i++) {
		if (mac_parse(vm->ifaces[i].mac, want->macs[want->n_macs]) == 0)
			want->n_macs++;
	}
	if (cur) {
		want->n_ips = cur->n_ips;
		memcpy(want->ips, cur->ips, sizeof(want->ips));
		snprintf(want->tenant, sizeof(want->tenant), "%s", cur->tenant);
	}
	return !cur || cur->host_id != want->host_id || strcmp(cur->name, want->name) != 0 ||
	       cur->n_macs != want->n_macs ||
	       memcmp(cur->macs, want->macs, sizeof(want->macs[0]) * want->n_macs) != 0;
}

static void dirty(struct lv *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_dirty; i++)
		if (strcmp(m->dirty[i], uuid) == 0)
			return;
	if (m->n_dirty == m->cap_dirty) {
		size_t cap = m->cap_dirty ? 2 * m->cap_dirty : 16;
		void *n = realloc(m->dirty, cap * sizeof(*m->dirty));

		if (!n) {
			rtv_error(MOD, "out of memory queueing VM %s", uuid);
			return;
		}
		m->dirty = n;
		m->cap_dirty = cap;
	}
	snprintf(m->dirty[m->n_dirty++], MIG_UUID_LEN, "%s", uuid);
}

static void kick(struct lv *m);

/* Running or paused here. Not while migrating: an incoming domain is
 * paused on the destination until the guest resumes there, and the
 * record must not move before the VM does. */
static bool runs_here(const struct mig_vm *vm)
{
	return vm->state == MIG_VM_RUNNING || vm->state == MIG_VM_PAUSED;
}

static void on_retry(uv_timer_t *t)
{
	kick(t->data);
}

static void retry_later(struct lv *m)
{
	if (!m->closing && !uv_is_active((uv_handle_t *)&m->retry))
		uv_timer_start(&m->retry, on_retry, RETRY_MS, 0);
}

static void on_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct lv *m = arg;

	m->job = NULL;	/* the core frees it when this returns */
	if (m->closing)
		return;
	if (status == 0) {
		rtv_info(MOD, "VM %s (%s) is on this host (learnt from libvirt)", cmd->u.vm.uuid,
			 cmd->u.vm.name);
	} else if (status == CONS_EREFUSED || status == -EEXIST || status == -EBUSY ||
		   status == -EINVAL) {
		rtv_warn(MOD, "VM_SET %s refused: %s", cmd->u.vm.uuid, err);
	} else {
		rtv_info(MOD, "VM_SET %s not done yet (%s); retrying in %d ms", cmd->u.vm.uuid, err,
			 RETRY_MS);
		dirty(m, cmd->u.vm.uuid);
		retry_later(m);
	}
	kick(m);
}

static void submit(struct lv *m, struct cons_cmd *cmd)
{
	char err[CONS_ERRLEN];
	int rc;

	if (m->client_id == 0)
		m->client_id = agent_client_random_u64();
	cmd->client_id = m->client_id;
	cmd->seq = ++m->seq;
	rc = agent_submit_new(m->d, cmd, on_done, m, &m->job, err);
	if (rc < 0) {
		m->job = NULL;
		rtv_warn(MOD, "VM_SET %s: %s", cmd->u.vm.uuid, err);
		if (rc == -ENOMEM) {
			dirty(m, cmd->u.vm.uuid);
			retry_later(m);
		}
		return;
	}
	agent_submit_run(m->job);	/* may answer at once */
}

static void kick(struct lv *m)
{
	char uuid[MIG_UUID_LEN];
	struct cons_cmd cmd;

	if (m->closing || m->job || agent_core_stopping(m->d) ||
	    uv_is_active((uv_handle_t *)&m->retry))
		return;
	/* a VM_SET for a host the state does not know yet would be refused */
	if (m->n_dirty && !cons_state_host(agent_core_state(m->d), agent_core_config(m->d)->id)) {
		retry_later(m);
		return;
	}
	while (m->n_dirty && !m->job && !uv_is_active((uv_handle_t *)&m->retry)) {
		const struct mig_vm *vm;

		memcpy(uuid, m->dirty[0], sizeof(uuid));
		memmove(m->dirty, m->dirty + 1, (m->n_dirty - 1) * sizeof(*m->dirty));
		m->n_dirty--;
		vm = mig_conn_vm(m->conn, uuid);
		/* a migrating VM's record is moved by its migration's commit */
		if (vm && runs_here(vm) && !cons_state_mig(agent_core_state(m->d), uuid) &&
		    vm_command(m, vm, &cmd))
			submit(m, &cmd);
	}
}

/* ---- the connection's reports --------------------------------------------- */

static struct rtv_ratelimit link_rl = RTV_RATELIMIT_INIT(6, 3);

static void on_link(struct mig_conn *c, bool up, const char *err, void *arg)
{
	(void)arg;
	if (up)
		rtv_info(MOD, "connected to %s", mig_conn_uri(c));
	else if (rtv_ratelimit_ok(&link_rl, NULL))
		rtv_warn(MOD, "%s is not reachable (%s); retrying with back-off", mig_conn_uri(c),
			 err ? err : "?");
}

static void on_vm(struct mig_conn *c, const struct mig_vm *vm, void *arg)
{
	struct lv *m = arg;

	(void)c;
	lv_mig_vm(m, vm);
	if (!runs_here(vm))
		return;
	dirty(m, vm->uuid);
	kick(m);
}

static void on_gone(struct mig_conn *c, const char *uuid, void *arg)
{
	(void)c;
	rtv_info(MOD, "VM %s left this host's libvirt", uuid);
	lv_mig_gone(arg, uuid);
}

static void on_lifecycle(struct mig_conn *c, const struct mig_lifecycle *ev, void *arg)
{
	(void)c;
	rtv_debug(MOD, "VM %s (%s): %s, detail %d", ev->uuid, ev->name, ev->what, ev->detail);
	lv_mig_lifecycle(arg, ev);
}

static void on_synced(struct mig_conn *c, void *arg)
{
	(void)c;
	lv_mig_synced(arg);
}

static const struct mig_conn_cbs conn_cbs = {
	.link = on_link, .vm = on_vm, .vm_gone = on_gone, .lifecycle = on_lifecycle,
	.synced = on_synced,
};

/* ---- the module -------------------------------------------------------------- */

static int lv_start(struct rtvd *d, void **self)
{
	struct mig_conn_config cfg = { .uri = cfg_uri };
	char err[MIG_ERRLEN];
	struct lv *m;
	int rc;

	if (!cfg_uri[0]) {
		rtv_info(MOD, "off ([libvirt] uri is empty): VMs are learnt from OVSDB only");
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	rc = mig_conn_new(agent_core_loop(d), &cfg, &conn_cbs, m, &m->conn, err, sizeof(err));
	if (rc) {
		rtv_error(MOD, "%s", err);
		free(m);
		return rc;
	}
	uv_timer_init(agent_core_loop(d), &m->retry);
	m->retry.data = m;
	rc = lv_mig_start(m);
	if (rc) {
		uv_close((uv_handle_t *)&m->retry, NULL);
		mig_conn_free(m->conn);
		free(m);	/* the loop has not run: nothing refers to it yet */
		return rc;
	}
	rtv_info(MOD, "watching %s", cfg_uri);
	*self = m;
	return 0;
}

static void lv_applied(void *self, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct lv *m = self;

	/* a host record appearing unblocks the queue (kick waits for it) */
	if (cmd->op == CONS_OP_HOST_ADD && res->status == 0)
		kick(m);
	lv_mig_applied(m, cmd, res);
}

static void lv_restored(void *self)
{
	lv_mig_restored(self);
}

static void lv_close(void *self)
{
	struct lv *m = self;

	if (m->closing)
		return;
	m->closing = true;
	lv_mig_close(m);
	mig_conn_free(m->conn);
	m->conn = NULL;
	uv_close((uv_handle_t *)&m->retry, NULL);
}

static void lv_free(void *self)
{
	struct lv *m = self;

	if (!m)
		return;
	if (m->job)
		agent_submit_drop(m->job);
	lv_mig_free(m);
	free(m->dirty);
	free(m);
}

const struct agent_module agent_libvirt_module = {
	.name = "libvirt",
	.section = "libvirt",
	.config_key = lv_config_key,
	.start = lv_start,
	.applied = lv_applied,
	.restored = lv_restored,
	.status_keys = lv_mig_status_keys,
	.pack_status = lv_mig_pack_status,
	.iface = lv_mig_iface,
	.close = lv_close,
	.free = lv_free,
};
