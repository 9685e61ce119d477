/* telemetry_collect.c — what rtvd reads at each scrape: Raft's status, the
 * replicated state, the other modules' counters and /proc/self.
 *
 * Runs on the loop, between two events, so it reads the state without any
 * lock; the cost grows with the rtpaths this host sends or receives (one
 * hash lookup per rtpath and family), which bench/bench_metrics.c measures
 * with 10,000 rtpaths. /proc reads are served from memory by the kernel and
 * do not block.
 */
#include "agent/telemetry/telemetry_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void sset(struct agent_mseries *s, double v)
{
	if (s)
		agent_mseries_set(s, v);
}

static void shist(struct agent_mseries *s, const struct agent_tm_hist *h)
{
	if (s)
		agent_mseries_hist_set(s, h->counts, AGENT_TM_DELAY_BUCKETS + 1, h->sum_s);
}

/* ------------------------------------------------------------------------- */
/* Raft and RPC                                                              */

static void collect_peers(struct agent_telemetry *t, const struct cons_node_status *st)
{
	struct agent_mfamily *lag = t->f->f[TM_RAFT_FOLLOWER_LAG];
	size_t voters = 0, standbys = 0;
	char id[24];

	agent_mfamily_begin(lag);
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct cons_peer_status *p = &st->peers[i];

		if (p->voter)
			voters++;
		else
			standbys++;
		if (st->role != CONS_ROLE_LEADER || p->id == st->id)
			continue;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)p->id);
		sset(tm_series(t, TM_RAFT_FOLLOWER_LAG, id, NULL), (double)p->lag);
	}
	agent_mfamily_sweep(lag);
	sset(tm_series(t, TM_RAFT_PEERS, cons_host_role_names[CONS_HOST_VOTER], NULL),
	     (double)voters);
	sset(tm_series(t, TM_RAFT_PEERS, cons_host_role_names[CONS_HOST_STANDBY], NULL),
	     (double)standbys);
}

static void collect_raft(struct agent_telemetry *t)
{
	struct cons_node_status st;

	if (!agent_core_node(t->d))
		return;
	cons_node_status(agent_core_node(t->d), &st);
	for (int r = 0; r < CONS_ROLE_N; r++)
		sset(tm_series(t, TM_RAFT_ROLE, cons_role_names[r], NULL), (int)st.role == r);
	tm_set(t, TM_RAFT_IS_LEADER, st.role == CONS_ROLE_LEADER);
	tm_set(t, TM_RAFT_LEADER_NODE, (double)st.leader_id);
	tm_set(t, TM_RAFT_TERM, (double)st.term);
	tm_set(t, TM_RAFT_COMMIT_INDEX, (double)st.commit_index);
	tm_set(t, TM_RAFT_APPLIED_INDEX, (double)st.applied_index);
	tm_set(t, TM_RAFT_LAST_INDEX, (double)st.last_index);
	tm_set(t, TM_RAFT_LEADER_CHANGES, (double)st.leader_changes);
	collect_peers(t, &st);
	tm_set(t, TM_RPC_IN_FLIGHT, (double)t->in_flight);
	tm_set(t, TM_RPC_WAITING, (double)agent_core_n_waiting(t->d));
}

/* ------------------------------------------------------------------------- */
/* The replicated state                                                      */

static int type_index(enum cons_path_type type)
{
	return type == CONS_PATH_RESERVATION ? 1 : 0;
}

static const char *type_name(enum cons_path_type type)
{
	return type == CONS_PATH_RESERVATION ? "reservation" : "deadline";
}

/* The classes telemetry.c pins (admission's: deadline TC 5/6, reservation
 * TC 4/5) are always set, to 0 when empty; others only while used. */
static bool class_pinned(int type, unsigned tc)
{
	return type == 0 ? (tc == 5 || tc == 6) : (tc == 4 || tc == 5);
}

static void collect_classes(struct agent_telemetry *t, const struct cons_state *s)
{
	struct agent_mfamily *f = t->f->f[TM_STATE_RTPATHS];
	size_t n = cons_state_n_paths(s), count[2][8] = { { 0 } };
	char tc[4];

	for (size_t i = 0; i < n; i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);

		count[type_index(p->req.type)][p->tc & 7]++;
	}
	agent_mfamily_begin(f);
	for (int ty = 0; ty < 2; ty++) {
		for (unsigned c = 0; c < 8; c++) {
			if (!count[ty][c] && !class_pinned(ty, c))
				continue;
			snprintf(tc, sizeof(tc), "%u", c);
			sset(tm_series(t, TM_STATE_RTPATHS, ty ? "reservation" : "deadline", tc,
				       NULL), (double)count[ty][c]);
		}
	}
	agent_mfamily_sweep(f);
}

/* Prometheus' base unit for data is the byte (promtool refuses bits). */
static double bytes_per_s(uint64_t bps)
{
	return (double)bps / 8;
}

static double budget_bytes_per_s(uint64_t capacity_bps, uint32_t ppm)
{
	return bytes_per_s(capacity_bps) * ppm / CONS_PPM;
}

static void link_dir(struct agent_telemetry *t, const char *link, const char *from,
		     const char *to, uint64_t cap, uint32_t ppm, uint64_t reserved)
{
	char dir[2 * CONS_NAME_MAX + 4];

	snprintf(dir, sizeof(dir), "%s->%s", from, to);
	sset(tm_series(t, TM_LINK_CAPACITY, link, dir, NULL), bytes_per_s(cap));
	sset(tm_series(t, TM_LINK_BUDGET, link, dir, NULL), budget_bytes_per_s(cap, ppm));
	sset(tm_series(t, TM_LINK_RESERVED, link, dir, NULL), bytes_per_s(reserved));
}

static void collect_links(struct agent_telemetry *t, const struct cons_state *s)
{
	static const enum tm_fam fams[] = { TM_LINK_CAPACITY, TM_LINK_BUDGET, TM_LINK_RESERVED };
	char name[2 * CONS_NAME_MAX + 4];

	for (size_t i = 0; i < 3; i++)
		agent_mfamily_begin(t->f->f[fams[i]]);
	for (size_t i = 0; i < cons_state_n_links(s); i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		snprintf(name, sizeof(name), "%s--%s", l->a, l->b);
		link_dir(t, name, l->a, l->b, l->capacity_ab_bps, l->rt_budget_ppm,
			 l->reserved_ab_bps);
		link_dir(t, name, l->b, l->a, l->capacity_ba_bps, l->rt_budget_ppm,
			 l->reserved_ba_bps);
	}
	for (size_t i = 0; i < 3; i++)
		agent_mfamily_sweep(t->f->f[fams[i]]);
}

/* This host's uplink edge: from its host record, or from its configuration
 * until it has registered. */
static void collect_uplink(struct agent_telemetry *t, const struct cons_state *s)
{
	const struct agent_config *cfg = agent_core_config(t->d);
	const struct cons_host *h = cons_state_host(s, cfg->id);
	uint64_t cap[2] = { cfg->uplink_bps, cfg->uplink_bps }, res[2] = { 0, 0 };
	uint32_t ppm = cfg->rt_budget_ppm;
	const char *const dirs[2] = { "tx", "rx" };

	for (size_t i = 0; h && i < cons_state_n_links(s); i++) {
		const struct cons_link *l = cons_state_link_at(s, i);
		const char *to = h->uplink_to[0] ? h->uplink_to : CONS_UPLINK_DEFAULT;
		bool ab = strcmp(l->a, h->name) == 0 && strcmp(l->b, to) == 0;

		if (!ab && !(strcmp(l->b, h->name) == 0 && strcmp(l->a, to) == 0))
			continue;
		cap[0] = ab ? l->capacity_ab_bps : l->capacity_ba_bps;
		cap[1] = ab ? l->capacity_ba_bps : l->capacity_ab_bps;
		res[0] = ab ? l->reserved_ab_bps : l->reserved_ba_bps;
		res[1] = ab ? l->reserved_ba_bps : l->reserved_ab_bps;
		ppm = l->rt_budget_ppm;
		break;
	}
	for (int i = 0; i < 2; i++) {
		sset(tm_series(t, TM_UPLINK_CAPACITY, dirs[i], NULL), bytes_per_s(cap[i]));
		sset(tm_series(t, TM_UPLINK_BUDGET, dirs[i], NULL), budget_bytes_per_s(cap[i], ppm));
		sset(tm_series(t, TM_UPLINK_RESERVED, dirs[i], NULL), bytes_per_s(res[i]));
	}
}

static void collect_state(struct agent_telemetry *t)
{
	const struct cons_state *s = agent_core_state(t->d);

	if (!s)
		return;
	tm_set(t, TM_STATE_HOSTS, (double)cons_state_n_hosts(s));
	tm_set(t, TM_STATE_VMS, (double)cons_state_n_vms(s));
	tm_set(t, TM_STATE_LINKS, (double)cons_state_n_links(s));
	collect_classes(t, s);
	collect_links(t, s);
	collect_uplink(t, s);
}

/* ------------------------------------------------------------------------- */
/* Per rtpath                                                                */

#define TM_PATH_FAMS (TM_PATH_DELAY - TM_PATH_RESERVED + 1)
#define RS(row, fam) ((row)->s[(fam) - TM_PATH_RESERVED])

/* An rtpath this host sends or receives, and its series in each per-rtpath
 * family (NULL where the family is the other side's). Rows stay valid while
 * the replicated state does not change: a scrape of a stable rack then
 * costs no lookup and no sweep, only the dataplane's numbers. */
struct agent_tm_row {
	uint64_t id;
	struct agent_mseries *s[TM_PATH_FAMS];
};

static struct agent_mseries *path_series(struct agent_telemetry *t, enum tm_fam id,
					 const char *const *v)
{
	struct agent_mseries *s = NULL;

	return agent_mfamily_series(t->f->f[id], v, &s) == 0 ? s : NULL;
}

/* Looks the rtpath's series up (marking them seen) and sets what the
 * replicated state says. */
static void row_fill(struct agent_telemetry *t, struct agent_tm_row *r,
		     const struct cons_rtpath *p, uint64_t self)
{
	char id[24];
	const char *v[3] = { id, type_name(p->req.type), NULL };

	snprintf(id, sizeof(id), "%llu", (unsigned long long)p->id);
	memset(r, 0, sizeof(*r));
	r->id = p->id;
	if (p->src_host == self) {
		for (int f = TM_PATH_RESERVED; f <= TM_PATH_TX_EXCEEDED; f++)
			RS(r, f) = path_series(t, (enum tm_fam)f, v);
		sset(RS(r, TM_PATH_RESERVED), bytes_per_s(p->req.rate_bps));
		sset(RS(r, TM_PATH_DEADLINE), (double)p->req.deadline_ns / 1e9);
		sset(RS(r, TM_PATH_LEVEL), p->level);
	}
	if (p->dst_host == self)
		for (int f = TM_PATH_RX_PKTS; f <= TM_PATH_DELAY; f++)
			RS(r, f) = path_series(t, (enum tm_fam)f, v);
}

/* The dataplane's numbers for the rtpath; zeros when it does not know the
 * path, written only when `zero` (a new row) so that a scrape without a
 * dataplane costs one call per rtpath. */
static void row_dp(struct agent_telemetry *t, const struct agent_tm_row *r, bool zero)
{
	struct agent_tm_dp_path dp;
	bool known;

	memset(&dp, 0, sizeof(dp));
	known = false;
	for (size_t i = 0; i < t->n_src && !known; i++)
		known = t->src[i].s->dp_path && t->src[i].s->dp_path(t->src[i].self, r->id, &dp);
	if (!known && !zero)
		return;
	sset(RS(r, TM_PATH_TX_PKTS), (double)dp.tx_pkts);
	sset(RS(r, TM_PATH_TX_BYTES), (double)dp.tx_bytes);
	sset(RS(r, TM_PATH_TX_EXCEEDED), (double)dp.tx_exceeded);
	sset(RS(r, TM_PATH_RX_PKTS), (double)dp.rx_pkts);
	sset(RS(r, TM_PATH_MISSES), (double)dp.misses);
	shist(RS(r, TM_PATH_LATENESS), &dp.lateness);
	shist(RS(r, TM_PATH_DELAY), &dp.delay);
}

static bool rows_room(struct agent_telemetry *t, size_t n)
{
	struct agent_tm_row *rows;

	if (n <= t->cap_rows)
		return true;
	rows = realloc(t->rows, n * sizeof(*rows));
	if (!rows)
		return false;
	t->rows = rows;
	t->cap_rows = n;
	return true;
}

/* Every per-rtpath family from the state: look-ups, then a sweep of the
 * released rtpaths. Without memory for the rows, fills as it goes and
 * keeps no rows. */
static void rows_rebuild(struct agent_telemetry *t, const struct cons_state *s)
{
	uint64_t self = agent_core_config(t->d)->id;
	bool keep = rows_room(t, cons_state_n_paths(s));
	struct agent_tm_row tmp;

	t->n_rows = 0;
	for (int f = TM_PATH_RESERVED; f <= TM_PATH_DELAY; f++)
		agent_mfamily_begin(t->f->f[f]);
	for (size_t i = 0; i < cons_state_n_paths(s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);
		struct agent_tm_row *r = keep ? &t->rows[t->n_rows] : &tmp;

		if (p->src_host != self && p->dst_host != self)
			continue;
		row_fill(t, r, p, self);
		if (keep)
			t->n_rows++;
		else
			row_dp(t, r, true);
	}
	for (int f = TM_PATH_RESERVED; f <= TM_PATH_DELAY; f++)
		agent_mfamily_sweep(t->f->f[f]);
	t->rows_valid = keep;
	t->rows_index = cons_state_applied_index(s);
}

static bool tm_has_dp_path(const struct agent_telemetry *t)
{
	for (size_t i = 0; i < t->n_src; i++)
		if (t->src[i].s->dp_path)
			return true;
	return false;
}

static void collect_paths(struct agent_telemetry *t)
{
	const struct cons_state *s = agent_core_state(t->d);
	bool rebuilt = false;

	if (!s)
		return;
	if (!t->rows_valid || t->rows_index != cons_state_applied_index(s)) {
		rows_rebuild(t, s);
		rebuilt = true;
	}
	if (t->rows_valid && (rebuilt || tm_has_dp_path(t)))
		for (size_t i = 0; i < t->n_rows; i++)
			row_dp(t, &t->rows[i], rebuilt);
	sset(tm_series(t, TM_M_AGGREGATED, "tx", NULL),
	     (double)agent_mfamily_n_hidden(t->f->f[TM_PATH_RESERVED]));
	sset(tm_series(t, TM_M_AGGREGATED, "rx", NULL),
	     (double)agent_mfamily_n_hidden(t->f->f[TM_PATH_RX_PKTS]));
}

/* ------------------------------------------------------------------------- */
/* The dataplane and the OpenFlow gateway (zeros until wired)                */

static void set_each(struct agent_telemetry *t, enum tm_fam id, const char *const *names,
		     const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sset(tm_series(t, id, names[i], NULL), (double)v[i]);
}

static void collect_dp(struct agent_telemetry *t)
{
	struct agent_tm_dp_host h;

	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < t->n_src; i++)
		if (t->src[i].s->dp_host)
			t->src[i].s->dp_host(t->src[i].self, &h);
	tm_set(t, TM_DP_PACER, bytes_per_s(h.pacer_bps));
	tm_set(t, TM_DP_SENT_FRAMES, (double)h.sent_frames);
	tm_set(t, TM_DP_SENT_BYTES, (double)h.sent_bytes);
	set_each(t, TM_DP_QUEUED, tm_class_names, h.queued, AGENT_TM_CLASS_N);
	set_each(t, TM_DP_BACKLOG, tm_queue_names, h.backlog, AGENT_TM_QUEUE_N);
	for (int c = 0; c < AGENT_TM_CLASS_N; c++)
		shist(tm_series(t, TM_DP_QUEUE_DELAY, tm_class_names[c], NULL), &h.queue_delay[c]);
	set_each(t, TM_DP_DROPS, tm_drop_names, h.drops, AGENT_TM_DROP_N);
	set_each(t, TM_DP_EXCEPTIONS, tm_exc_names, h.exceptions, AGENT_TM_EXC_N);
	tm_set(t, TM_DP_DEMOTED, (double)h.demoted);
	tm_set(t, TM_DP_TOLERATED, (double)h.tolerated);
	tm_set(t, TM_DP_TOLERANCE, (double)h.cdv_tolerance_ns / 1e9);
	tm_set(t, TM_DP_LATE_PAST_LABEL, (double)h.late_past_label);
	tm_set(t, TM_DP_OVERTAKES, (double)h.nrt_overtakes);
	set_each(t, TM_DP_ICMP, tm_icmp_names, h.icmp, AGENT_TM_ICMP_N);
	set_each(t, TM_DP_RX, tm_rx_names, h.rx, AGENT_TM_RX_N);
	tm_set(t, TM_DP_MISSES, (double)h.misses);
	tm_set(t, TM_DP_REPORTS_LOST, (double)h.miss_reports_lost);
	tm_set(t, TM_DP_TABLE_SWAPS, (double)h.table_swaps);
	tm_set(t, TM_DP_PROCESS_UP, (double)h.process_up);
	tm_set(t, TM_DP_DEGRADED, (double)h.degraded);
	tm_set(t, TM_DP_TAKEOVERS, (double)h.takeovers);
	for (int i = 0; h.sealed && i < AGENT_TM_SEAL_N; i++)
		sset(tm_series(t, TM_SEALED_REFUSED, "miss_report", tm_seal_names[i], NULL),
		     (double)h.miss_sealed_refused[i]);
}

/* Refusals of the rack's trust checks: Raft's TLS transport by reason,
 * the RPC's TLS listeners by nng's reason, the read-only listener. */
static void collect_trust(struct agent_telemetry *t)
{
	const struct agent_config *cfg = agent_core_config(t->d);
	uint64_t v[AGENT_CORE_RPC_REFUSAL_N];
	struct cons_node_status st;

	if (!cfg->tls_cert[0])
		return;
	if (agent_core_node(t->d)) {
		cons_node_status(agent_core_node(t->d), &st);
		for (int r = 0; r < CONS_TLS_R_N; r++)
			sset(tm_series(t, TM_TLS_REFUSED, "raft", cons_tls_refusal_names[r], NULL),
			     (double)st.tls_refused_by[r]);
	}
	for (int k = 0; k < 2; k++) {
		if (agent_core_rpc_refusals(t->d, k == 1, v) < 0)
			continue;
		for (int r = 0; r < AGENT_CORE_RPC_REFUSAL_N; r++)
			sset(tm_series(t, TM_TLS_REFUSED, k ? "rpc_read" : "rpc",
				       agent_core_rpc_refusal_names[r], NULL), (double)v[r]);
	}
	if (cfg->rpc_read_addr[0])
		tm_set(t, TM_RPC_READ_ONLY_REFUSED, (double)agent_core_rpc_read_only_refused(t->d));
}

static void collect_of(struct agent_telemetry *t)
{
	struct agent_tm_of o = { .state = AGENT_TM_OF_DISABLED };
	uint64_t changed[3];

	for (size_t i = 0; i < t->n_src; i++)
		if (t->src[i].s->openflow)
			t->src[i].s->openflow(t->src[i].self, &o);
	for (int i = 0; i < 3; i++)
		sset(tm_series(t, TM_OF_STATE, tm_of_state_names[i], NULL), (int)o.state == i);
	tm_set(t, TM_OF_FLOWS, (double)o.flows);
	tm_set(t, TM_OF_RECONCILES, (double)o.reconciles);
	changed[0] = o.flows_added;
	changed[1] = o.flows_modified;
	changed[2] = o.flows_deleted;
	set_each(t, TM_OF_RECONCILE_FLOWS, tm_of_action_names, changed, 3);
}

static void collect_lv(struct agent_telemetry *t)
{
	struct agent_tm_lv l = { 0 };
	uint64_t res[2];

	for (size_t i = 0; i < t->n_src; i++)
		if (t->src[i].s->libvirt)
			t->src[i].s->libvirt(t->src[i].self, &l);
	res[0] = l.migrations_committed;
	res[1] = l.migrations_aborted;
	set_each(t, TM_LV_MIGRATIONS, tm_lv_result_names, res, 2);
	tm_set(t, TM_LV_RELEASED, (double)l.undefined_rtpaths_released);
}

static void collect_gossip(struct agent_telemetry *t)
{
	static const char *const dirs_txrx[2] = { "tx", "rx" };
	struct agent_tm_gossip g = { 0 };
	uint64_t bytes[2];

	for (size_t i = 0; i < t->n_src; i++)
		if (t->src[i].s->gossip)
			t->src[i].s->gossip(t->src[i].self, &g);
	set_each(t, TM_G_MEMBERS, tm_gstate_names, g.members, AGENT_TM_GSTATE_N);
	tm_set(t, TM_G_HEALTH, (double)g.health);
	bytes[0] = g.tx_bytes;
	bytes[1] = g.rx_bytes;
	set_each(t, TM_G_BYTES, dirs_txrx, bytes, 2);
	set_each(t, TM_G_REFUSED, tm_grefuse_names, g.refused, AGENT_TM_GREFUSE_N);
	tm_set(t, TM_G_PROBES, (double)g.probes);
	tm_set(t, TM_G_PROBE_FAILURES, (double)g.probe_failures);
	tm_set(t, TM_G_SUSPICIONS, (double)g.suspicions);
	tm_set(t, TM_G_REFUTATIONS, (double)g.refutations);
	tm_set(t, TM_G_DEATHS, (double)g.deaths);
	tm_set(t, TM_G_AUTOPILOT, (double)g.autopilot_replacements);
}

/* ------------------------------------------------------------------------- */
/* The process                                                               */

static double rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static double open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n ? (double)(n - 1) : 0;	/* not the directory's own fd */
}

static void collect_process(struct agent_telemetry *t)
{
	struct rusage ru;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	tm_set(t, TM_PROC_RSS, rss_bytes());
	tm_set(t, TM_PROC_FDS, open_fds());
	tm_set(t, TM_PROC_CPU, cpu);
	tm_set(t, TM_PROC_START, t->start_time_s);
}

static void add_src(void *arg, void *self, const void *iface)
{
	struct agent_telemetry *t = arg;

	if (t->n_src < AGENT_MODULES_MAX)
		t->src[t->n_src++] = (struct agent_tm_src){ iface, self };
}

int tm_collect(struct agent_telemetry *t)
{
	t->n_src = 0;	/* the modules offering sources now (started, enabled) */
	agent_core_iface(t->d, AGENT_TM_IFACE, add_src, t);
	collect_raft(t);
	collect_trust(t);
	collect_state(t);
	collect_paths(t);
	collect_dp(t);
	collect_of(t);
	collect_lv(t);
	collect_gossip(t);
	collect_process(t);
	return 0;
}
