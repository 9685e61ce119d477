/* lvmig.c — live migrations driven by their Raft record (docs/migration.md).
 *
 * The record (consensus.h, "Live migration") is the only coordination: no
 * agent talks to another about a migration. Each agent acts on what its
 * replica applies and what its own libvirtd says:
 *
 *   source (the record's from_host): on applying the prepare it starts the
 *     libvirt job (virDomainMigrateToURI3, live, peer-to-peer, the policy
 *     below); the job ends well → it submits commit; the job fails → abort.
 *   destination (to_host): the guest resumes here (libvirt's "resumed"
 *     event, or the domain seen running) → it submits commit at once, so
 *     the rtpaths' new routes, admitted at prepare, become the paths.
 *   recovery, on every agent, at start, after each libvirt (re)sync, after
 *     a snapshot and every second: for each record, the destination whose
 *     libvirt runs the VM commits; the source whose libvirt runs the VM
 *     without a migration job (its agent restarted, the job died) aborts.
 *     So a migration whose orchestrating agent died ends committed or
 *     aborted once either side's agent runs, and the VM's reservations are
 *     those of the host it runs on.
 * Entries replayed from this agent's own log at start are not acted on (a
 * prepare replayed is history, not a request): recovery judges what is left.
 * commit and abort are idempotent in effect (the second is refused with
 * -ENOENT), so they go without deduplication and two agents racing do no
 * harm: the first applied wins and the VM is where that one says.
 *
 * Crash points for tests: RTV_MIG_CRASH=prepared|job|moved makes the
 * source agent kill itself (SIGKILL) on applying the prepare, 1 s into the
 * libvirt job, or when the job has succeeded and before it submits commit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "agent/libvirt/internal.h"
#include "agent/telemetry/telemetry.h"
#include "common/log.h"
#include "common/mpack.h"
#include "common/units.h"

#define RECOVER_MS 1000
#define RUNS_MAX 8
#define SUBS_MAX 32
#define GONE_MAX 8

static char cfg_peer_uri[LV_URI_MAX] = "qemu+tcp://%n/system";
static struct mig_policy cfg_pol = { .timeout_ns = 600000000000ull, .progress_ms = 500 };

struct lv_run {
	char uuid[MIG_UUID_LEN];
	struct mig_job *job;		/* source: the libvirt job, while it runs */
	struct mig_progress prog;
	bool have_prog;
	uint64_t resume_ns;		/* destination: the guest's resume here */
	uint64_t commit_sent_ns;
};

struct lv_mig {
	struct lv *m;
	uv_timer_t recover;
	uv_timer_t crash;
	struct lv_run runs[RUNS_MAX];
	struct agent_submit *sub[SUBS_MAX];	/* commands in flight */
	char left[GONE_MAX][MIG_UUID_LEN];	/* VMs libvirt said migrated away */
	unsigned n_left;
	uint64_t undefined_released;		/* rtpaths released: VM undefined */
	uint64_t committed, aborted, follow_ms_last;
	/* the last log index on disk when this agent started: entries up to it
	 * are a replay (their migration's fate is for recovery to judge, never
	 * a reason to start a job) */
	uint64_t replay_upto;
};

/* ---- configuration ------------------------------------------------------------ */

int lv_mig_config_key(const char *key, const char *value, char *why, size_t whylen)
{
	uint64_t v;

	if (strcmp(key, "peer_uri") == 0) {
		if (strlen(value) >= sizeof(cfg_peer_uri) || !strstr(value, "%")) {
			snprintf(why, whylen, "peer_uri: a libvirt URI with %%n (the destination "
				 "host's name) or %%i (its id), shorter than %d bytes",
				 LV_URI_MAX);
			return -EINVAL;
		}
		snprintf(cfg_peer_uri, sizeof(cfg_peer_uri), "%s", value);
		return 0;
	}
	if (strcmp(key, "migrate_bandwidth") == 0)
		return rtv_parse_rate_bps(value, &cfg_pol.bandwidth_bps, why, whylen);
	if (strcmp(key, "migrate_downtime") == 0)
		return rtv_parse_duration_ns(value, &cfg_pol.max_downtime_ns, why, whylen);
	if (strcmp(key, "migrate_timeout") == 0)
		return rtv_parse_duration_ns(value, &cfg_pol.timeout_ns, why, whylen);
	if (strcmp(key, "migrate_auto_converge") == 0) {
		if (rtv_parse_u64(value, &v) != 0 || v > 1) {
			snprintf(why, whylen, "migrate_auto_converge: 0 or 1");
			return -EINVAL;
		}
		cfg_pol.auto_converge = v == 1;
		return 0;
	}
	return -ENOENT;
}

/* The URI this host's libvirtd uses to reach host h's. */
static void peer_uri(const struct cons_host *h, char *out, size_t cap)
{
	size_t n = 0;

	for (const char *p = cfg_peer_uri; *p && n + 1 < cap; p++) {
		if (p[0] == '%' && p[1] == 'n') {
			n += (size_t)snprintf(out + n, cap - n, "%s", h->name);
			p++;
		} else if (p[0] == '%' && p[1] == 'i') {
			n += (size_t)snprintf(out + n, cap - n, "%llu", (unsigned long long)h->id);
			p++;
		} else {
			out[n++] = *p;
		}
		if (n >= cap)
			n = cap - 1;
	}
	out[n] = '\0';
}

/* ---- the runs ------------------------------------------------------------------ */

static struct lv_run *run_of(struct lv_mig *g, const char *uuid, bool make)
{
	struct lv_run *free_slot = NULL;

	for (int i = 0; i < RUNS_MAX; i++) {
		if (strcmp(g->runs[i].uuid, uuid) == 0)
			return &g->runs[i];
		if (!free_slot && !g->runs[i].uuid[0])
			free_slot = &g->runs[i];
	}
	if (!make || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->uuid, sizeof(free_slot->uuid), "%s", uuid);
	return free_slot;
}

static void run_drop(struct lv_run *r)
{
	if (r && !r->job)
		memset(r, 0, sizeof(*r));
}

static uint64_t self_id(const struct lv *m)
{
	return agent_core_config(m->d)->id;
}

static void crash_if(const char *point)
{
	const char *want = getenv("RTV_MIG_CRASH");

	if (want && strcmp(want, point) == 0) {
		rtv_warn(MOD, "RTV_MIG_CRASH=%s: killing this agent here (test crash point)", point);
		raise(SIGKILL);
	}
}

/* ---- submitting commit / abort ------------------------------------------------- */

static void on_end_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct agent_submit **slot = arg;

	*slot = NULL;	/* the core frees it when this returns */
	if (status != 0 && status != -ENOENT)
		rtv_warn(MOD, "migration %s of VM %s: %s", cons_mig_phase_name(cmd->u.mig.phase),
			 cmd->u.mig.uuid, err);
}

/* Submits cmd without deduplication (what this module submits is harmless
 * twice); -EBUSY when SUBS_MAX are in flight. */
static int submit(struct lv *m, const struct cons_cmd *cmd, agent_submit_cb cb)
{
	struct agent_submit **slot = NULL;
	char err[CONS_ERRLEN];

	if (m->closing || agent_core_stopping(m->d))
		return -ESHUTDOWN;
	for (int i = 0; i < SUBS_MAX && !slot; i++)
		if (!m->mig->sub[i])
			slot = &m->mig->sub[i];
	if (!slot)
		return -EBUSY;
	if (agent_core_submit(m->d, cmd, cb, slot, slot, err) != 0) {
		rtv_warn(MOD, "%s: %s", cons_op_name(cmd->op), err);
		return -EINVAL;
	}
	return 0;
}

static void submit_end(struct lv *m, const char *uuid, enum cons_mig_phase phase,
		       const char *why)
{
	struct cons_cmd cmd = { .op = CONS_OP_VM_MIGRATE };

	snprintf(cmd.u.mig.uuid, sizeof(cmd.u.mig.uuid), "%s", uuid);
	cmd.u.mig.phase = phase;
	rtv_info(MOD, "migration of VM %s: submitting %s (%s)", uuid, cons_mig_phase_name(phase),
		 why);
	if (submit(m, &cmd, on_end_done) == -EBUSY)	/* the recovery timer tries again */
		rtv_warn(MOD, "migration of VM %s: %d commands in flight already", uuid, SUBS_MAX);
}

/* ---- the source: the libvirt job ---------------------------------------------------- */

static void on_progress(struct mig_job *j, const struct mig_progress *p, void *arg)
{
	struct lv_run *r = arg;
	static struct rtv_ratelimit rl = RTV_RATELIMIT_INIT(30, 5);

	(void)j;
	r->prog = *p;
	r->have_prog = true;
	if (rtv_ratelimit_ok(&rl, NULL))
		rtv_info(MOD, "migration of VM %s: %llu ms, %llu of %llu bytes, pass %llu", r->uuid,
			 (unsigned long long)p->elapsed_ms,
			 (unsigned long long)p->data_processed_bytes,
			 (unsigned long long)p->data_total_bytes, (unsigned long long)p->iteration);
}

static struct lv_mig *the_mig;	/* the job callbacks' way back (one module per process) */

static void on_job_done(struct mig_job *j, const struct mig_result *res, void *arg)
{
	struct lv_run *r = arg;
	struct lv_mig *g = the_mig;
	char uuid[MIG_UUID_LEN];

	(void)j;
	r->job = NULL;
	snprintf(uuid, sizeof(uuid), "%s", r->uuid);
	if (!g || g->m->closing)
		return;
	if (res->rc == 0) {
		rtv_info(MOD, "migration of VM %s: libvirt done in %llu ms (QEMU downtime %llu ms, "
			 "%llu bytes, stats from the %s)", uuid, (unsigned long long)res->wall_ms,
			 (unsigned long long)res->downtime_ms, (unsigned long long)res->data_bytes,
			 res->stats_ok ? res->stats_from : "-");
		crash_if("moved");
		if (cons_state_mig(agent_core_state(g->m->d), uuid))
			submit_end(g->m, uuid, CONS_MIG_COMMIT, "the guest runs on the destination");
	} else {
		rtv_warn(MOD, "migration of VM %s failed: %s", uuid, res->err);
		if (cons_state_mig(agent_core_state(g->m->d), uuid))
			submit_end(g->m, uuid, CONS_MIG_ABORT, res->err);
	}
	run_drop(r);
}

static const struct mig_job_cbs job_cbs = { .progress = on_progress, .done = on_job_done };

static void on_crash_timer(uv_timer_t *t)
{
	(void)t;
	crash_if("job");
}

static void source_start(struct lv_mig *g, const struct cons_mig *rec)
{
	struct lv *m = g->m;
	const struct cons_host *to = cons_state_host(agent_core_state(m->d), rec->to_host);
	char uri[LV_URI_MAX], err[MIG_ERRLEN];
	struct lv_run *r = run_of(g, rec->uuid, true);
	int rc;

	crash_if("prepared");
	if (!r || !to) {
		submit_end(m, rec->uuid, CONS_MIG_ABORT, !r ? "too many migrations at once here"
							    : "unknown destination host");
		return;
	}
	if (r->job)
		return;
	peer_uri(to, uri, sizeof(uri));
	rc = mig_migrate_start(m->conn, rec->uuid, uri, NULL, &cfg_pol, &job_cbs, r, &r->job, err,
			       sizeof(err));
	if (rc != 0) {
		r->job = NULL;
		run_drop(r);
		submit_end(m, rec->uuid, CONS_MIG_ABORT, err);
		return;
	}
	rtv_info(MOD, "migration of VM %s to %s (%s): libvirt job started", rec->uuid, to->name,
		 uri);
	if (getenv("RTV_MIG_CRASH") && strcmp(getenv("RTV_MIG_CRASH"), "job") == 0)
		uv_timer_start(&g->crash, on_crash_timer, 1000, 0);
}

/* ---- recovery ---------------------------------------------------------------- */

/* What this agent can decide about rec from its own libvirt. */
static void recover_one(struct lv_mig *g, const struct cons_mig *rec)
{
	struct lv *m = g->m;
	const struct mig_vm *vm = mig_conn_up(m->conn) ? mig_conn_vm(m->conn, rec->uuid) : NULL;
	struct lv_run *r = run_of(g, rec->uuid, false);

	if (!vm)
		return;
	if (rec->to_host == self_id(m) && vm->state == MIG_VM_RUNNING) {
		r = run_of(g, rec->uuid, true);
		if (r && r->commit_sent_ns && uv_hrtime() - r->commit_sent_ns < 2000000000ull)
			return;	/* one in flight */
		if (r)
			r->commit_sent_ns = uv_hrtime();
		submit_end(m, rec->uuid, CONS_MIG_COMMIT, "the guest runs here, the destination");
	} else if (rec->from_host == self_id(m) && (!r || !r->job) &&
		   (vm->state == MIG_VM_RUNNING || vm->state == MIG_VM_PAUSED)) {
		submit_end(m, rec->uuid, CONS_MIG_ABORT,
			   "the guest still runs on the source and no migration job does");
	}
}

static void recover_all(struct lv_mig *g)
{
	const struct cons_state *s = agent_core_state(g->m->d);

	if (g->m->closing || !mig_conn_up(g->m->conn))
		return;
	for (size_t i = 0; i < cons_state_n_migs(s); i++)
		recover_one(g, cons_state_mig_at(s, i));
}

static void on_recover(uv_timer_t *t)
{
	recover_all(t->data);
}

/* 1 when the VM's record says this host (after a commit: the destination;
 * after an abort: the source), else 0. */
static unsigned vm_here(const struct lv *m, const char *uuid)
{
	const struct cons_state *s = agent_core_state(m->d);

	for (size_t i = 0; i < cons_state_n_vms(s); i++)
		if (strcmp(cons_state_vm_at(s, i)->uuid, uuid) == 0)
			return cons_state_vm_at(s, i)->host_id == self_id(m);
	return 0;
}

/* ---- hooks -------------------------------------------------------------------- */

void lv_mig_applied(struct lv *m, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct lv_mig *g = m->mig;
	const struct cons_mig *rec;
	struct lv_run *r;

	if (!g || cmd->op != CONS_OP_VM_MIGRATE || res->status != 0 || m->closing ||
	    res->index <= g->replay_upto)
		return;
	if (cmd->u.mig.phase == CONS_MIG_PREPARE) {
		rec = cons_state_mig(agent_core_state(m->d), cmd->u.mig.uuid);
		if (rec && rec->from_host == self_id(m) && !res->duplicate)
			source_start(g, rec);
		return;
	}
	r = run_of(g, cmd->u.mig.uuid, false);
	if (cmd->u.mig.phase == CONS_MIG_COMMIT) {
		g->committed += vm_here(m, cmd->u.mig.uuid);	/* its new host counts it */
		if (r && r->resume_ns) {
			g->follow_ms_last = (uv_hrtime() - r->resume_ns) / 1000000u;
			rtv_info(MOD, "migration of VM %s committed: its rtpaths are this host's "
				 "%llu.%03llu ms after the guest resumed here",
				 cmd->u.mig.uuid, (unsigned long long)(uv_hrtime() - r->resume_ns) / 1000000u,
				 (unsigned long long)((uv_hrtime() - r->resume_ns) / 1000u % 1000u));
		} else {
			rtv_info(MOD, "migration of VM %s committed", cmd->u.mig.uuid);
		}
	} else {
		g->aborted += vm_here(m, cmd->u.mig.uuid);	/* its source counts it */
		rtv_info(MOD, "migration of VM %s aborted: reservations as before", cmd->u.mig.uuid);
		if (r && r->job)
			mig_migrate_abort(r->job);
	}
	run_drop(r);
}

void lv_mig_restored(struct lv *m)
{
	if (m->mig)
		recover_all(m->mig);
}

void lv_mig_synced(struct lv *m)
{
	if (m->mig)
		recover_all(m->mig);
}

void lv_mig_vm(struct lv *m, const struct mig_vm *vm)
{
	const struct cons_mig *rec;

	if (!m->mig || vm->state != MIG_VM_RUNNING)
		return;
	rec = cons_state_mig(agent_core_state(m->d), vm->uuid);
	if (rec && rec->to_host == self_id(m))
		recover_one(m->mig, rec);
}

/* The guest resumed here: the moment its paths must follow. */
void lv_mig_lifecycle(struct lv *m, const struct mig_lifecycle *ev)
{
	const struct cons_mig *rec;
	struct lv_run *r;

	if (!m->mig)
		return;
	if (strcmp(ev->what, "stopped") == 0 && ev->detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED) {
		snprintf(m->mig->left[m->mig->n_left++ % GONE_MAX], MIG_UUID_LEN, "%s", ev->uuid);
		return;
	}
	if (strcmp(ev->what, "resumed") != 0 && strcmp(ev->what, "started") != 0)
		return;
	rec = cons_state_mig(agent_core_state(m->d), ev->uuid);
	if (!rec || rec->to_host != self_id(m))
		return;
	r = run_of(m->mig, ev->uuid, true);
	if (!r)
		return;
	if (!r->resume_ns)
		r->resume_ns = ev->recv_ns;
	r->commit_sent_ns = uv_hrtime();
	submit_end(m, ev->uuid, CONS_MIG_COMMIT, "the guest resumed here, the destination");
}

int lv_mig_start(struct lv *m)
{
	struct lv_mig *g = calloc(1, sizeof(*g));
	struct cons_node_status st;

	if (!g)
		return -ENOMEM;
	g->m = m;
	cons_node_status(agent_core_node(m->d), &st);
	g->replay_upto = st.last_index;
	uv_timer_init(agent_core_loop(m->d), &g->recover);
	uv_timer_init(agent_core_loop(m->d), &g->crash);
	g->recover.data = g;
	uv_timer_start(&g->recover, on_recover, RECOVER_MS, RECOVER_MS);
	m->mig = g;
	the_mig = g;
	return 0;
}

void lv_mig_close(struct lv *m)
{
	if (!m->mig)
		return;
	the_mig = NULL;
	uv_close((uv_handle_t *)&m->mig->recover, NULL);
	uv_close((uv_handle_t *)&m->mig->crash, NULL);
}

void lv_mig_free(struct lv *m)
{
	for (int i = 0; m->mig && i < SUBS_MAX; i++)
		if (m->mig->sub[i])
			agent_submit_drop(m->mig->sub[i]);
	free(m->mig);
	m->mig = NULL;
}

/* ---- an undefined VM ------------------------------------------------------------ */

static void on_release_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct agent_submit **slot = arg;

	*slot = NULL;
	if (status != 0 && status != -ENOENT)
		rtv_warn(MOD, "releasing rtpath %llu of an undefined VM: %s",
			 (unsigned long long)cmd->u.ref.id, err);
}

static bool has_ip(const struct cons_vm *vm, uint32_t ip)
{
	for (unsigned i = 0; i < vm->n_ips; i++)
		if (vm->ips[i] == ip)
			return true;
	return false;
}

/* libvirt no longer knows the VM here. Migrated away (libvirt said so, or a
 * migration record exists, or its record is another host's): nothing. Else
 * it was undefined: its rtpaths are released, with a log line and a count
 * (status: libvirt.rtpaths_released_undefined). A VM that only stopped is
 * still defined and keeps them. */
void lv_mig_gone(struct lv *m, const char *uuid)
{
	const struct cons_state *s = agent_core_state(m->d);
	const struct cons_vm *vm = NULL;
	unsigned n = 0;

	for (unsigned i = 0; m->mig && i < GONE_MAX; i++)
		if (strcmp(m->mig->left[i], uuid) == 0) {
			m->mig->left[i][0] = '\0';
			return;
		}
	for (size_t i = 0; i < cons_state_n_vms(s) && !vm; i++)
		if (strcmp(cons_state_vm_at(s, i)->uuid, uuid) == 0)
			vm = cons_state_vm_at(s, i);
	if (!m->mig || !vm || vm->host_id != self_id(m) || cons_state_mig(s, uuid))
		return;
	for (size_t i = 0; i < cons_state_n_paths(s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);
		struct cons_cmd cmd = { .op = CONS_OP_PATH_RELEASE, .u.ref.id = p->id };

		if (!has_ip(vm, p->req.src_ip) && !has_ip(vm, p->req.dst_ip))
			continue;
		if (submit(m, &cmd, on_release_done) == 0)
			n++;
	}
	m->mig->undefined_released += n;
	rtv_info(MOD, "VM %s (%s) was undefined on this host: releasing its %u rtpaths; its "
		 "record stays (rtvctl vm remove)", uuid, vm->name, n);
}

/* ---- status ------------------------------------------------------------------------ */

static void tm_libvirt(void *self, struct agent_tm_lv *out)
{
	const struct lv *m = self;

	if (!m->mig)
		return;
	out->migrations_committed += m->mig->committed;
	out->migrations_aborted += m->mig->aborted;
	out->undefined_rtpaths_released += m->mig->undefined_released;
}

static const struct agent_tm_sources tm_sources = { .libvirt = tm_libvirt };

const void *lv_mig_iface(void *self, const char *name)
{
	(void)self;
	return strcmp(name, AGENT_TM_IFACE) == 0 ? &tm_sources : NULL;
}

size_t lv_mig_status_keys(void *self)
{
	return self ? 1 : 0;
}

static int pack_vms(msgpack_packer *pk, const struct lv *m)
{
	size_t n = 0;
	const struct mig_vm *vms = mig_conn_up(m->conn) ? mig_conn_vms(m->conn, &n) : NULL;
	int rc = rtv_pk_str(pk, "vms") | msgpack_pack_array(pk, n);

	for (size_t i = 0; i < n; i++) {
		rc |= msgpack_pack_map(pk, 5);
		rc |= rtv_pk_kv_str(pk, "uuid", vms[i].uuid);
		rc |= rtv_pk_kv_str(pk, "name", vms[i].name);
		rc |= rtv_pk_kv_str(pk, "state", mig_vm_state_name(vms[i].state));
		rc |= rtv_pk_kv_u64(pk, "vcpus", vms[i].vcpus);
		rc |= rtv_pk_kv_u64(pk, "mem_bytes", vms[i].mem_bytes);
	}
	return rc;
}

/* What placement needs of this host (mig_conn_host): {} before a sync. */
static int pack_host(msgpack_packer *pk, const struct lv *m)
{
	struct mig_host_res r;
	int rc = rtv_pk_str(pk, "host");

	if (mig_conn_host(m->conn, &r) != 0)
		return rc | msgpack_pack_map(pk, 0);
	rc |= msgpack_pack_map(pk, 5);
	rc |= rtv_pk_kv_u64(pk, "cpus", r.cpus);
	rc |= rtv_pk_kv_u64(pk, "vcpus_used", r.vcpus_used);
	rc |= rtv_pk_kv_u64(pk, "mem_total_bytes", r.mem_total_bytes);
	rc |= rtv_pk_kv_u64(pk, "mem_free_bytes", r.mem_free_bytes);
	rc |= rtv_pk_kv_u64(pk, "mem_used_bytes", r.mem_used_bytes);
	return rc;
}

/* The records as this replica has them, with this host's role and, on the
 * source, the job's last progress. */
static int pack_migs(msgpack_packer *pk, struct lv *m)
{
	const struct cons_state *s = agent_core_state(m->d);
	int rc = rtv_pk_str(pk, "migrations") | msgpack_pack_array(pk, cons_state_n_migs(s));

	for (size_t i = 0; i < cons_state_n_migs(s); i++) {
		const struct cons_mig *rec = cons_state_mig_at(s, i);
		struct lv_run *r = run_of(m->mig, rec->uuid, false);
		bool prog = r && r->have_prog;

		rc |= msgpack_pack_map(pk, 6 + (prog ? 3 : 0));
		rc |= rtv_pk_kv_str(pk, "uuid", rec->uuid);
		rc |= rtv_pk_kv_u64(pk, "from", rec->from_host);
		rc |= rtv_pk_kv_u64(pk, "to", rec->to_host);
		rc |= rtv_pk_kv_u64(pk, "prepared_index", rec->prepared_index);
		rc |= rtv_pk_kv_u64(pk, "n_paths", rec->n_paths);
		rc |= rtv_pk_kv_bool(pk, "job", r && r->job);
		if (prog) {
			rc |= rtv_pk_kv_u64(pk, "elapsed_ms", r->prog.elapsed_ms);
			rc |= rtv_pk_kv_u64(pk, "data_total_bytes", r->prog.data_total_bytes);
			rc |= rtv_pk_kv_u64(pk, "data_processed_bytes", r->prog.data_processed_bytes);
		}
	}
	return rc;
}

int lv_mig_pack_status(void *self, msgpack_packer *pk)
{
	struct lv *m = self;
	int rc = rtv_pk_str(pk, "libvirt") | msgpack_pack_map(pk, 9);

	rc |= rtv_pk_kv_str(pk, "uri", mig_conn_uri(m->conn));
	rc |= rtv_pk_kv_bool(pk, "up", mig_conn_up(m->conn));
	rc |= rtv_pk_kv_u64(pk, "migrations_committed", m->mig ? m->mig->committed : 0);
	rc |= rtv_pk_kv_u64(pk, "migrations_aborted", m->mig ? m->mig->aborted : 0);
	rc |= rtv_pk_kv_u64(pk, "paths_follow_ms_last", m->mig ? m->mig->follow_ms_last : 0);
	rc |= rtv_pk_kv_u64(pk, "rtpaths_released_undefined",
			    m->mig ? m->mig->undefined_released : 0);
	rc |= pack_vms(pk, m);
	rc |= pack_host(pk, m);
	rc |= m->mig ? pack_migs(pk, m) : (rtv_pk_str(pk, "migrations") | msgpack_pack_array(pk, 0));
	return rtv_mp_status(rc);
}
