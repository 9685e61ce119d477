/* dataplane.c — rtvd's dataplane: start, stop, the rtpath table and the
 * hooks from the Raft node (dataplane.h says what and when).
 *
 * The table is rebuilt whole from the state on every change that concerns
 * this host: dp_table_new is O(paths of this host) and carries each path's
 * counters and histogram over from the previous table, so a rebuild loses
 * nothing, and the dataplane threads pick the new table up at their next
 * loop (dp_rcu). Old tables are freed by the timer once both threads have
 * moved on.
 */
#include "agent/dataplane/dataplane_internal.h"
#include "pki/pki.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/core/config.h"
#include "common/units.h"

#define TICK_MIN_MS 10
#define TICK_MAX_MS 100

uint64_t dpg_now_ns(void)
{
	return uv_hrtime();
}

/* ------------------------------------------------------------------------- */
/* Sorted vectors by id                                                      */

static uint64_t rec_id(const struct dpg_idvec *iv, size_t i)
{
	uint64_t id;

	memcpy(&id, (const char *)iv->v + i * iv->size, sizeof(id));
	return id;
}

/* First index whose id is >= id. */
static size_t lower_bound(const struct dpg_idvec *iv, uint64_t id)
{
	size_t lo = 0, hi = iv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rec_id(iv, mid) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *dpg_idvec_at(const struct dpg_idvec *iv, size_t i)
{
	return i < iv->n ? (char *)iv->v + i * iv->size : NULL;
}

void *dpg_idvec_find(const struct dpg_idvec *iv, uint64_t id)
{
	size_t i = lower_bound(iv, id);

	return i < iv->n && rec_id(iv, i) == id ? dpg_idvec_at(iv, i) : NULL;
}

void *dpg_idvec_get(struct dpg_idvec *iv, uint64_t id)
{
	size_t i = lower_bound(iv, id);
	char *rec;

	if (i < iv->n && rec_id(iv, i) == id)
		return dpg_idvec_at(iv, i);
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 16;
		void *v = realloc(iv->v, cap * iv->size);

		if (!v)
			return NULL;
		iv->v = v;
		iv->cap = cap;
	}
	rec = (char *)iv->v + i * iv->size;
	memmove(rec + iv->size, rec, (iv->n - i) * iv->size);
	memset(rec, 0, iv->size);
	memcpy(rec, &id, sizeof(id));
	iv->n++;
	return rec;
}

void dpg_idvec_filter(struct dpg_idvec *iv, bool (*keep)(void *arg, const void *rec), void *arg)
{
	size_t out = 0;

	for (size_t i = 0; i < iv->n; i++) {
		char *rec = (char *)iv->v + i * iv->size;

		if (!keep(arg, rec))
			continue;
		if (out != i)
			memcpy((char *)iv->v + out * iv->size, rec, iv->size);
		out++;
	}
	iv->n = out;
}

void dpg_idvec_free(struct dpg_idvec *iv)
{
	free(iv->v);
	iv->v = NULL;
	iv->n = iv->cap = 0;
}

/* ------------------------------------------------------------------------- */
/* The table                                                                 */

static bool concerns_host(const struct agent_dp *dp, const struct cons_rtpath *p)
{
	uint64_t self = agent_core_config(dp->d)->id;

	return p->src_host == self || p->dst_host == self;
}

static int grow_input(struct agent_dp *dp, size_t n)
{
	struct cons_rtpath *in;
	uint8_t *boost;
	size_t cap = dp->cap_in ? dp->cap_in : 64;

	if (n <= dp->cap_in)
		return 0;
	while (cap < n)
		cap *= 2;
	if (!(in = realloc(dp->in, cap * sizeof(*in))))
		return -ENOMEM;
	dp->in = in;
	if (!(boost = realloc(dp->boost, cap)))
		return -ENOMEM;
	dp->boost = boost;
	dp->cap_in = cap;
	return 0;
}

/* This host's rtpaths with their boosts, in dp->in / dp->boost. */
static int gather(struct agent_dp *dp, size_t *out_n)
{
	const struct cons_state *s = agent_core_state(dp->d);
	size_t total = cons_state_n_paths(s), n = 0;

	if (grow_input(dp, total) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < total; i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);
		const struct agent_misspol *pol;

		if (!concerns_host(dp, p))
			continue;
		pol = p->src_host == agent_core_config(dp->d)->id ? dpg_idvec_find(&dp->pols, p->id) : NULL;
		dp->in[n] = *p;
		dp->boost[n] = pol ? pol->boost : 0;
		n++;
	}
	*out_n = n;
	return 0;
}

int dpg_rebuild(struct agent_dp *dp)
{
	char err[CONS_ERRLEN] = "";
	uint64_t suppressed = 0;
	struct dp_table *t = NULL;
	size_t n = 0;
	int rc = gather(dp, &n);

	if (rc == 0)
		rc = dp_table_new(&dp->tc, dp->in, n, dp->boost, dp_rcu_current(&dp->rcu), &t, err);
	if (rc == 0 && (rc = dp_rcu_publish(&dp->rcu, t)) < 0)
		dp_table_free(t);
	if (rc < 0) {
		dp->c.table_errors++;
		if (rtv_ratelimit_ok(&dp->table_rl, &suppressed))
			rtv_error(DPG_MOD, "cannot build the rtpath table (%zu rtpaths): %s; the "
				  "dataplane keeps the previous one%s", n,
				  err[0] ? err : strerror(-rc),
				  suppressed ? " (more failures not logged)" : "");
		return rc;
	}
	dp->c.table_builds++;
	dp->n_in = n;
	dpg_chan_push(dp);
	dpg_miss_prune(dp, dp_rcu_current(&dp->rcu));
	rtv_debug(DPG_MOD, "rtpath table %llu: %zu sent, %zu received",
		  (unsigned long long)dp_table_generation(t), dp_table_count(t, DP_TX),
		  dp_table_count(t, DP_RX));
	return 0;
}

/* Does the command change this host's table? (A released path is gone from
 * the state: the table says whether it was ours.) */
static bool concerns(const struct agent_dp *dp, const struct cons_cmd *cmd,
		     const struct cons_result *res)
{
	const struct dp_table *t = dp_rcu_current(&dp->rcu);
	const struct cons_rtpath *p;

	switch (cmd->op) {
	case CONS_OP_PATH_RESERVE:
		p = cons_state_path(agent_core_state(dp->d), res->id);
		return p && concerns_host(dp, p);
	case CONS_OP_PATH_RELEASE:
		return dp_table_find_id(t, DP_TX, cmd->u.ref.id) ||
		       dp_table_find_id(t, DP_RX, cmd->u.ref.id);
	case CONS_OP_PATH_ESCALATE:
		p = cons_state_path(agent_core_state(dp->d), cmd->u.ref.id);
		return p && concerns_host(dp, p);
	case CONS_OP_VM_MIGRATE:	/* a commit moves rtpaths between hosts */
		return cmd->u.mig.phase == CONS_MIG_COMMIT;
	default:
		return false;
	}
}

static void dp_applied(void *self, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct agent_dp *dp = self;

	if (dp->closing || res->status != 0 || res->duplicate || !concerns(dp, cmd, res))
		return;
	if (cmd->op == CONS_OP_PATH_ESCALATE)
		dpg_miss_escalated(dp, cmd->u.ref.id);
	dpg_rebuild(dp);
}

static void dp_restored(void *self)
{
	struct agent_dp *dp = self;

	if (!dp->closing)
		dpg_rebuild(dp);
}

/* ------------------------------------------------------------------------- */
/* Start and stop                                                            */

static void on_tick(uv_timer_t *t)
{
	struct agent_dp *dp = t->data;

	if (dp->closing)
		return;
	dp_rcu_reclaim(&dp->rcu);
	dpg_chan_tick(dp);	/* rtvdp's misses reach dpg_miss_drain from here */
	dpg_miss_tick(dp);
}

static void configure(struct agent_dp *dp)
{
	const struct agent_config *cfg = agent_core_config(dp->d);
	const struct agent_dp_config *c = &cfg->dataplane;
	uint32_t rpc_ip = 0;

	(void)rtv_parse_ipport(agent_url_addr(cfg->rpc_addr), &rpc_ip, NULL);
	dp->host_ip = c->host_ip ? c->host_ip : rpc_ip;
	dp->tc = (struct dp_table_config){
		.host_id = cfg->id, .uplink_bps = cfg->uplink_bps,
		.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES,
		.nrt_max_frame_bytes = cfg->max_frame_bytes, .tx_ahead_ns = c->tx_ahead_ns,
	};
	/* the boost rises at most once per second, or per interval if longer */
	dp->pc = (struct agent_misspol_cfg){
		.decay_ns = c->boost_decay_ns,
		.step_ns = c->miss_interval_ns > 1000000000ull ? c->miss_interval_ns : 1000000000ull,
	};
	dp->pols.size = sizeof(struct agent_misspol);
	dp->rxs.size = sizeof(struct dpg_rx);
	dp->table_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(10, 3);
	dp->reject_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(10, 5);
	dp->report_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(60, 10);
	dp->esc_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(20, 5);
	dp->route_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(10, 3);
}

static uint64_t tick_ms(const struct agent_dp_config *c)
{
	uint64_t ms = c->miss_interval_ns / 1000000;

	return ms < TICK_MIN_MS ? TICK_MIN_MS : ms > TICK_MAX_MS ? TICK_MAX_MS : ms;
}

/* [tls] rack_keys: miss reports sealed with the rack key, unsealed,
 * forged and replayed ones refused (missrep.c). */
static int seal_reports(struct agent_dp *dp)
{
	const struct agent_config *cfg = agent_core_config(dp->d);
	struct pki_keyring *k;
	struct pki_dgram *d;
	char err[PKI_ERRLEN];
	int rc;

	if (!cfg->tls_rack_keys[0]) {
		rtv_warn(DPG_MOD, "INSECURE: miss reports travel unsealed (no [tls] rack_keys)");
		return 0;
	}
	rc = pki_keyring_load(cfg->tls_rack_keys, &k, err);
	if (rc < 0) {
		rtv_error(DPG_MOD, "[tls] rack_keys: %s", err);
		return rc;
	}
	rc = pki_dgram_new(k, cfg->id, 0, &d);
	if (rc < 0) {
		pki_keyring_free(k);
		rtv_error(DPG_MOD, "[tls] rack_keys: node id %llu cannot seal (ids up to 2^32-1)",
			  (unsigned long long)cfg->id);
		return rc;
	}
	agent_missrep_set_seal(&dp->sock, d);
	rtv_info(DPG_MOD, "miss reports sealed with rack key %u (%s)", pki_keyring_primary(k),
		 cfg->tls_rack_keys);
	return 0;
}

static int start_io(struct agent_dp *dp)
{
	const struct agent_config *cfg = agent_core_config(dp->d);
	char err[CONS_ERRLEN] = "";
	uint32_t bind_ip = 0;
	int rc;

	if ((rc = dpg_chan_start(dp)) < 0)
		return rc;
	(void)rtv_parse_ipport(agent_url_addr(cfg->rpc_addr), &bind_ip, NULL);
	rc = agent_missrep_open(&dp->sock, agent_core_loop(dp->d), cfg->id, bind_ip,
				cfg->dataplane.miss_port, dpg_miss_received, dp, err);
	if (rc < 0)
		rtv_error(DPG_MOD, "%s", err);
	else
		rc = seal_reports(dp);
	return rc;
}

static int dp_start(struct rtvd *d, void **self)
{
	const struct agent_config *cfg = agent_core_config(d);
	const struct agent_dp_config *c = &cfg->dataplane;
	char rate[RTV_FMT_LEN];
	struct agent_dp *dp;
	int rc;

	if (!c->enabled)
		return 0;
	if (!(dp = calloc(1, sizeof(*dp))))
		return -ENOMEM;
	*self = dp;	/* close and free apply from here on */
	dp->d = d;
	configure(dp);
	dp_rcu_init(&dp->rcu);
	dp->rcu_open = true;
	uv_timer_init(agent_core_loop(d), &dp->timer);
	dp->timer.data = dp;
	dp->timer_open = true;
	if ((rc = dpg_rebuild(dp)) < 0 || (rc = start_io(dp)) < 0)
		return rc;
	uv_timer_start(&dp->timer, on_tick, tick_ms(c), tick_ms(c));
	rtv_info(DPG_MOD, "rtvdp forwards %s <-> %s, pacer at %s, MTU %u; miss reports on UDP "
		 "port %u every %llu ms", c->int_dev, c->uplink_dev,
		 rtv_fmt_rate(rate, sizeof(rate), cfg->uplink_bps), c->mtu, c->miss_port,
		 (unsigned long long)(c->miss_interval_ns / 1000000));
	return 0;
}

static void dp_close(void *self)
{
	struct agent_dp *dp = self;

	if (dp->closing)
		return;
	dp->closing = true;
	dpg_chan_close(dp);	/* rtvdp forwards on without us */
	agent_missrep_close(&dp->sock);
	if (dp->timer_open && !uv_is_closing((uv_handle_t *)&dp->timer))
		uv_close((uv_handle_t *)&dp->timer, NULL);
	rtv_info(DPG_MOD, "stopped: %llu reports sent, %llu received (%llu applied), %llu "
		 "escalations proposed, %llu committed, %llu refused",
		 (unsigned long long)dp->sock.stats.reports_sent,
		 (unsigned long long)dp->sock.stats.reports_received,
		 (unsigned long long)dp->c.reports_applied,
		 (unsigned long long)dp->c.escalations_proposed,
		 (unsigned long long)dp->c.escalations_committed,
		 (unsigned long long)dp->c.escalations_refused);
}

static void dp_free(void *self)
{
	struct agent_dp *dp = self;

	agent_submit_drop(dp->job);
	dpd_msg_free(&dp->stats);
	if (dp->rcu_open)
		dp_rcu_close(&dp->rcu);
	dpg_idvec_free(&dp->pols);
	dpg_idvec_free(&dp->rxs);
	free(dp->in);
	free(dp->boost);
	free(dp);
}

static const void *dp_iface(void *self, const char *name)
{
	(void)self;
	return strcmp(name, AGENT_TM_IFACE) == 0 ? &agent_dp_tm_sources : NULL;
}

const struct agent_module agent_dp_module = {
	.name = "dataplane",
	.start = dp_start,
	.applied = dp_applied,
	.restored = dp_restored,
	.status_keys = agent_dp_status_keys,
	.pack_status = agent_dp_pack_status,
	.pack_path = agent_dp_pack_path,
	.iface = dp_iface,
	.close = dp_close,
	.free = dp_free,
};
