/* dataplane_chan.c — rtvd's dataplane module as the client of rtvdp, the
 * host's dataplane process (dpd/dpd.h; docs/dataplane-process.md).
 *
 * rtvd no longer runs the packet engine. It still builds the rtpath table
 * from the replicated state (dataplane.c keeps a copy, without threads, for
 * its own questions: which paths are ours, their levels and boosts), and
 * sends its input — this host's rtpaths, their boosts and the Raft index
 * they were read at — to rtvdp, which builds and runs the same table:
 *
 *   - a table goes only when rtvdp is up and the state has reached the index
 *     of the table in force there (dpd_link): a restarted rtvd replaying its
 *     log never replaces a newer table; a push held back is retried at each
 *     tick until the state catches up;
 *   - on (re)connecting, the first push waits for rtvdp's stats, whose
 *     per-path boosts seed the miss policy at that push (seed_boosts): a
 *     restarted rtvd keeps the local escalations in force instead of
 *     resetting them;
 *   - each tick asks for the misses rtvdp kept (acknowledging the previous
 *     batch, which the miss machinery has then handled) and for the
 *     counters, which the metrics and replies read from this cache;
 *   - when rtvdp has been unreachable for DEGRADE_AFTER_MS, the host degrades
 *     to plain forwarding (dpd_degrade: a kernel bridge), loudly; rtvdp
 *     removes the bridge itself when it runs again.
 */
#include "agent/dataplane/dataplane_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dpd/dpd_engine.h"

#define TIMEOUT_MS 1000
#define RETRY_MS 100
#define DEGRADE_AFTER_MS 3000

static uint64_t now_ms(const struct agent_dp *dp)
{
	return uv_now(agent_core_loop(dp->d));
}

static uint64_t applied_index(const struct agent_dp *dp)
{
	return cons_state_applied_index(agent_core_state(dp->d));
}

/* ---- replies ------------------------------------------------------------------- */

static void on_table_ok(void *arg, int rc, struct dpd_msg *r, const char *err)
{
	struct agent_dp *dp = arg;

	dp->push_wait = false;
	if (rc == -ESTALE) {		/* our state is behind rtvdp's table: later */
		dp->push_due = true;
		return;
	}
	if (rc < 0) {
		if (rc != -ECANCELED && rc != -ECONNRESET && rc != -ETIMEDOUT)
			rtv_error(DPG_MOD, "rtvdp refused the rtpath table: %s; it keeps the "
				  "previous one", err);
		dp->push_due = rc != -ECANCELED;
		return;
	}
	dpd_link_pushed(&dp->link, r->u.table_ok.index);
	dp->c.table_pushes++;
	rtv_debug(DPG_MOD, "rtvdp took table generation %llu (Raft index %llu)",
		  (unsigned long long)r->u.table_ok.gen, (unsigned long long)r->u.table_ok.index);
}

static void on_misses(void *arg, int rc, struct dpd_msg *r, const char *err)
{
	struct agent_dp *dp = arg;

	(void)err;
	dp->miss_wait = false;
	if (rc < 0)
		return;
	dp->miss_dropped = r->u.misses.dropped;
	dpg_miss_drain(dp, r->u.misses.r, r->u.misses.n);
	if (r->u.misses.n)	/* handled: acknowledged with the next request */
		dp->miss_ack = r->u.misses.first_seq + r->u.misses.n;
}

/* The local boosts in force in rtvdp become this rtvd's again, so that a
 * restarted rtvd carries on where the last one was instead of pushing boost
 * 0 for every path — which would take an escalation back in the middle of
 * a miss episode. Done at the first push, when the state has caught up with
 * rtvdp's table (so it knows the paths) and rtvdp's last stats still
 * describe the table it was given before. A seeded boost decays as any
 * other: one level per [dataplane] boost_decay from now, unless new misses
 * come. A boost below what rtvd already has (it met rtvdp again without
 * restarting) stays its own. Returns how many were seeded. */
static size_t seed_boosts(struct agent_dp *dp)
{
	const struct dpd_stats *s = &dp->stats.u.stats;
	uint64_t now = dpg_now_ns(), self = agent_core_config(dp->d)->id;
	const struct cons_state *st = agent_core_state(dp->d);
	size_t seeded = 0;

	for (size_t i = 0; dp->have_stats && i < s->n; i++) {
		const struct dpd_path_stats *p = &s->paths[i];
		const struct cons_rtpath *rp = cons_state_path(st, p->id);
		struct agent_misspol *pol;

		if (p->dir != DP_TX || !p->boost || !rp || rp->src_host != self ||
		    !(pol = dpg_idvec_get(&dp->pols, p->id)) || pol->boost >= p->boost)
			continue;
		pol->boost = p->boost;
		pol->last_decay_ns = now;
		seeded++;
		rtv_info(DPG_MOD, "rtpath %llu: local boost %u taken back from rtvdp",
			 (unsigned long long)p->id, p->boost);
	}
	return seeded;
}

static void on_stats(void *arg, int rc, struct dpd_msg *r, const char *err)
{
	struct agent_dp *dp = arg;

	(void)err;
	dp->stats_wait = false;
	if (rc == 0) {
		dpd_msg_free(&dp->stats);
		dp->stats = *r;		/* taken: the arrays are ours now */
		memset(r, 0, sizeof(*r));
		dp->have_stats = true;
	}
	if (dp->boost_sync) {	/* one try: a failed reply pushes the boosts rtvd has */
		dp->boost_sync = false;
		dp->seed_due = rc == 0;
		if (dp->push_due)
			dpg_chan_push(dp);
	}
}

/* ---- the link ------------------------------------------------------------------- */

static void on_link(void *arg, bool up, const struct dpd_state *st, const char *why)
{
	struct agent_dp *dp = arg;
	const struct agent_dp_config *c = &agent_core_config(dp->d)->dataplane;

	if (!up) {
		dpd_link_down(&dp->link, now_ms(dp));
		dp->have_stats = false;
		rtv_error(DPG_MOD, "lost rtvdp (%s): it forwards on with the table it has; "
			  "reconnecting", why);
		return;
	}
	if (dpd_link_up(&dp->link, st))
		rtv_warn(DPG_MOD, "rtvdp is back (pid %u): %s and %s are no longer bridged, "
			 "deadlines are kept again", st->pid, c->int_dev, c->uplink_dev);
	rtv_info(DPG_MOD, "rtvdp pid %u: table generation %llu at Raft index %llu in force, "
		 "%llu miss reports kept for us (%llu dropped)", st->pid,
		 (unsigned long long)st->gen, (unsigned long long)st->index,
		 (unsigned long long)st->misses_kept, (unsigned long long)st->misses_dropped);
	dp->takeovers = st->takeovers;
	dp->dp_pid = st->pid;
	dp->alive_warned = false;
	dp->miss_ack = 0;	/* whatever the last rtvd did not acknowledge comes again */
	dp->push_due = true;
	dp->boost_sync = true;	/* no push before the boosts in force are known */
	dp->seed_due = false;
}

/* ---- what rtvd asks --------------------------------------------------------------- */

void dpg_chan_push(struct agent_dp *dp)
{
	struct dpd_msg q = { .type = DPD_T_TABLE };
	uint64_t index = applied_index(dp);

	dp->push_due = true;
	if (dp->push_wait || dp->boost_sync || !dpd_link_may_push(&dp->link, index) || index == 0)
		return;
	if (dp->seed_due) {
		dp->seed_due = false;
		if (seed_boosts(dp) > 0) {
			dpg_rebuild(dp);	/* gathers the seeded boosts, pushes */
			return;
		}
	}
	q.u.table = (struct dpd_table){ .index = index, .n = dp->n_in, .paths = dp->in,
					.boost = dp->boost };
	if (dpd_uclient_request(&dp->uc, &q, on_table_ok, dp) == 0) {
		dp->push_due = false;
		dp->push_wait = true;
	}
}

static void degrade(struct agent_dp *dp)
{
	const struct agent_dp_config *c = &agent_core_config(dp->d)->dataplane;
	char err[CONS_ERRLEN] = "";

	dp->c.degrades++;
	if (dpd_degrade(c->int_dev, c->uplink_dev, err) < 0) {
		rtv_error(DPG_MOD, "rtvdp unreachable for %d ms and plain forwarding failed: %s: "
			  "this host's VMs are cut off", DEGRADE_AFTER_MS, err);
		return;
	}
	rtv_error(DPG_MOD, "DEGRADED: rtvdp unreachable for %d ms: %s and %s bridged, traffic "
		  "flows WITHOUT deadlines until rtvdp runs again", DEGRADE_AFTER_MS, c->int_dev,
		  c->uplink_dev);
}

/* An rtvdp runs but does not answer (stalled, its control thread starved,
 * or this rtvd just started on a loaded host): it forwards with its table,
 * so bridging the devices beside it would send every frame twice.
 * Degrading is for a host without a dataplane: alive is the rtvdp last met
 * still existing, or a listener having taken a connection on the channel
 * within the grace (a connect to a socket nobody serves is refused). */
static bool rtvdp_alive(struct agent_dp *dp)
{
	uint64_t now = now_ms(dp);
	bool listened = dp->uc.accepted_ms && now - dp->uc.accepted_ms < dp->link.degrade_after_ms;

	if (!listened &&
	    (!dp->dp_pid || (kill((pid_t)dp->dp_pid, 0) < 0 && errno == ESRCH)))
		return false;
	if (!dp->alive_warned && !dp->link.degraded &&
	    now_ms(dp) - dp->link.down_since_ms >= dp->link.degrade_after_ms) {
		dp->alive_warned = true;
		rtv_warn(DPG_MOD, "rtvdp (pid %u) does not answer but runs: it forwards with its "
			 "last table; not degrading", dp->dp_pid);
	}
	return true;
}

void dpg_chan_tick(struct agent_dp *dp)
{
	struct dpd_msg q;

	if (!dp->uc.up) {
		if (!rtvdp_alive(dp) && dpd_link_degrade_due(&dp->link, now_ms(dp)))
			degrade(dp);
		return;
	}
	if (dp->push_due)
		dpg_chan_push(dp);
	if (!dp->miss_wait && !dp->boost_sync && !dp->seed_due) {	/* misses raise seeded boosts */
		q = (struct dpd_msg){ .type = DPD_T_MISSES_GET };
		q.u.misses_get = (struct dpd_misses_get){ .ack = dp->miss_ack, .max = 256 };
		dp->miss_wait = dpd_uclient_request(&dp->uc, &q, on_misses, dp) == 0;
	}
	if (!dp->stats_wait) {
		q = (struct dpd_msg){ .type = DPD_T_STATS_GET };
		dp->stats_wait = dpd_uclient_request(&dp->uc, &q, on_stats, dp) == 0;
	}
}

int dpg_chan_start(struct agent_dp *dp)
{
	const struct agent_config *cfg = agent_core_config(dp->d);
	char path[108];
	int rc;

	dpd_default_path(cfg->data_dir, path, sizeof(path));
	dpd_link_init(&dp->link, DEGRADE_AFTER_MS, now_ms(dp));
	rc = dpd_uclient_init(&dp->uc, agent_core_loop(dp->d), path, cfg->id, TIMEOUT_MS, RETRY_MS,
			      on_link, dp);
	if (rc < 0) {
		rtv_error(DPG_MOD, "rtvdp's socket path %s is too long: shorten [node] data_dir",
			  path);
		return rc;
	}
	dp->uc_open = true;
	rtv_info(DPG_MOD, "driving rtvdp on %s", path);
	return 0;
}

void dpg_chan_close(struct agent_dp *dp)
{
	if (dp->uc_open)
		dpd_uclient_close(&dp->uc);
	dp->uc_open = false;
}

const struct dpd_path_stats *dpg_chan_path(const struct agent_dp *dp, uint64_t id)
{
	if (!dp->have_stats)
		return NULL;
	for (size_t i = 0; i < dp->stats.u.stats.n; i++)
		if (dp->stats.u.stats.paths[i].id == id)
			return &dp->stats.u.stats.paths[i];
	return NULL;
}
