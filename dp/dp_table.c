/* dp_table.c — the rtpath snapshot the dataplane classifies against, and its
 * publication by pointer swap with epoch-based reclamation.
 *
 * A snapshot is built on the control thread from the replicated rtpaths
 * whenever they change (or a local boost does), and never changes after it
 * is published: the dataplane threads read it without locks (docs/architecture.md
 * "Data plane details": "an immutable snapshot swapped by pointer").
 *
 * Lookup. One open-addressing hash per direction on the 12-byte key
 * (src, dst, proto, dport), linear probing, load factor <= 1/2. An rtpath
 * may leave proto or dport 0 ("any"), so a frame is looked up with its exact
 * key first, then with dport 0, then proto 0, then both, most specific
 * first; a bitmap of which of the four kinds the table holds skips probes
 * for kinds that do not exist, so a rack whose paths all name a port costs
 * one probe per frame. Two paths with the same key (consensus does not
 * forbid it): the earlier admitted (lower id) is found; the later is listed
 * and counted as shadowed.
 *
 * Wire envelopes. Consensus admits paths in VM frame bits. The egress link
 * carries each RT frame with DP_MPLS_HLEN more bytes and the pacer's
 * per-frame overhead o' (preamble, FCS, gap), together o. For frames of
 * max_pkt L, (r, b) in frame bits is (⌈r(L+o)/L⌉, b + ⌈b/L⌉·o) in wire bits,
 * with packets of L+o: the same conversion linksim makes (bench/linksim.c),
 * so the policer and the NRT headroom agree with what the wire carries.
 * Frames smaller than L cost the link more per frame bit; policing in wire
 * bytes charges them for it instead of letting them eat other paths' slack.
 *
 * The NRT headroom (sched_headroom_build) is built here, once per snapshot,
 * over the host's egress paths: deadline type with its EDF offset less one
 * EDF bucket (the wheel orders by bucket start, see linksim.c) and less
 * tx_ahead_ns (the I/O thread may decide that much before the wire is
 * free); reservation type — served in strict priority above EDF — as
 * consensus models it (cadmit.c (c)): deadline D_min of the EDF set, burst
 * b + R·D_min. The same set is audited with sched_edf_admissible and the NRT
 * block, for the operator (dp_table_wire_admissible); the dataplane does not
 * refuse a committed path.
 *
 * Reclamation (dp_rcu). A reader announces a quiescent state by copying the
 * global epoch into its slot; the writer bumps the epoch after each swap and
 * frees a retired table once every online reader's slot has reached the
 * epoch of its retirement. All of these are sequentially consistent atomics:
 * the swap precedes the bump, so a reader that saw the new epoch loads the
 * new pointer afterwards. Readers blocked in the kernel go offline
 * (UINT64_MAX) so they never hold reclamation up.
 */
#include "dp/dp_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RCU_OFFLINE UINT64_MAX

/* Table generations are unique in the process, so a reader can tell a new
 * table from an old one even if malloc hands the new one the old address. */
static _Atomic uint64_t next_gen;

/* dp_internal.h */
void dp__errf(char err[CONS_ERRLEN], const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, CONS_ERRLEN, fmt, ap);
	va_end(ap);
}

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t muldiv_ceil(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 p = (unsigned __int128)a * b;
	unsigned __int128 q = p / c + (p % c != 0);

	return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

/* ---- hashing -------------------------------------------------------------- */

static uint32_t key_hash(const struct dp_flow_key *k)
{
	uint64_t h = ((uint64_t)k->src_ip << 32 | k->dst_ip) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)k->proto << 16 | k->dport) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (uint32_t)(h * 0xbf58476d1ce4e5b9ull >> 32);
}

static bool key_eq(const struct dp_flow_key *a, const struct dp_flow_key *b)
{
	return a->src_ip == b->src_ip && a->dst_ip == b->dst_ip && a->proto == b->proto &&
	       a->dport == b->dport;
}

static unsigned key_kind(const struct dp_flow_key *k)
{
	return (k->proto ? 1u : 0u) | (k->dport ? 2u : 0u);
}

static const struct dp_path *probe(const struct dp_table *t, int dir, const struct dp_flow_key *k)
{
	uint32_t i = key_hash(k) & t->mask[dir], v;

	while ((v = t->hash[dir][i]) != 0) {
		const struct dp_path *p = &t->paths[dir][v - 1];

		if (key_eq(&p->key, k))
			return p;
		i = (i + 1) & t->mask[dir];
	}
	return NULL;
}

const struct dp_path *dp_table_lookup(const struct dp_table *t, enum dp_dir dir,
				      const struct dp_flow_key *k)
{
	/* most specific first: exact, (proto, *), (*, dport), (*, *) */
	static const unsigned order[4] = { 3, 1, 2, 0 };
	struct dp_flow_key q;
	const struct dp_path *p;

	if (!t || !t->n[dir])
		return NULL;
	for (int i = 0; i < 4; i++) {
		unsigned kind = order[i];

		if (!(t->kinds[dir] & 1u << kind))
			continue;
		q = *k;
		q.pad = 0;
		if (!(kind & 1))
			q.proto = 0;
		if (!(kind & 2))
			q.dport = 0;
		/* a kind that names what the frame lacks cannot match */
		if (((kind & 1) && !q.proto) || ((kind & 2) && !q.dport))
			continue;
		if ((p = probe(t, dir, &q)) != NULL)
			return p;
	}
	return NULL;
}

static int hash_build(struct dp_table *t, int dir)
{
	uint32_t size = 4;

	while (size < 2 * t->n[dir])
		size *= 2;
	t->hash[dir] = calloc(size, sizeof(uint32_t));
	if (!t->hash[dir])
		return -ENOMEM;
	t->mask[dir] = size - 1;
	for (size_t i = 0; i < t->n[dir]; i++) {
		const struct dp_path *p = &t->paths[dir][i];
		uint32_t j = key_hash(&p->key) & t->mask[dir];

		if (probe(t, dir, &p->key)) {	/* sorted by id: the earlier one stays */
			t->shadowed++;
			continue;
		}
		while (t->hash[dir][j])
			j = (j + 1) & t->mask[dir];
		t->hash[dir][j] = (uint32_t)i + 1;
		t->kinds[dir] |= (uint8_t)(1u << key_kind(&p->key));
	}
	return 0;
}

/* ---- per-path state --------------------------------------------------------- */

static const struct dp_path *find_id(const struct dp_table *t, int dir, uint64_t id)
{
	size_t lo = 0, hi = t ? t->n[dir] : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->paths[dir][mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return t && lo < t->n[dir] && t->paths[dir][lo].id == id ? &t->paths[dir][lo] : NULL;
}

const struct dp_path *dp_table_find_id(const struct dp_table *t, enum dp_dir dir, uint64_t id)
{
	return find_id(t, dir, id);
}

static void pstate_put(struct dp_pstate *st)
{
	if (!st || --st->refs)
		return;
	free(st->hist);
	free(st);
}

/* The state of path `id` in prev (either direction), or a new one. */
static struct dp_pstate *pstate_get(const struct dp_table *prev, uint64_t id, bool rx)
{
	const struct dp_path *old = find_id(prev, DP_TX, id);
	struct dp_pstate *st;

	if (!old)
		old = find_id(prev, DP_RX, id);
	if (old && (!rx || old->st->hist)) {
		old->st->refs++;
		return old->st;
	}
	st = aligned_alloc(DP_CACHELINE, (sizeof(*st) + DP_CACHELINE - 1) / DP_CACHELINE * DP_CACHELINE);
	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->id = id;
	st->refs = 1;
	st->tx.wfq_slot = DP_NO_SLOT;
	if (rx) {
		st->hist = malloc(2 * sizeof(*st->hist));
		if (!st->hist) {
			free(st);
			return NULL;
		}
		st->late = st->hist + 1;
		dp_hist_init(st->hist);
		dp_hist_init(st->late);
	}
	return st;
}

/* ---- building ---------------------------------------------------------------- */

static uint32_t extra_bytes(const struct dp_table_config *c)
{
	return DP_MPLS_HLEN + c->overhead_bytes;
}

static int path_check(const struct cons_rtpath *r, char err[CONS_ERRLEN])
{
	const struct cons_path_req *q = &r->req;

	if ((q->type != CONS_PATH_DEADLINE && q->type != CONS_PATH_RESERVATION) || !q->rate_bps ||
	    !q->max_pkt_bytes || q->burst_bytes < q->max_pkt_bytes || !q->deadline_ns ||
	    !r->sched_deadline_ns || !r->service_rate_bps || (!q->proto && q->dport)) {
		dp__errf(err, "rtpath %llu: type, rate, max packet, burst >= max packet, deadlines, "
			  "service rate and a protocol for a port are required",
			  (unsigned long long)r->id);
		return -EINVAL;
	}
	return 0;
}

static void path_fill(const struct dp_table_config *c, const struct cons_rtpath *r,
		      uint8_t boost, struct dp_path *p)
{
	unsigned lvl = r->level + boost;
	uint64_t L = r->req.max_pkt_bytes, o = extra_bytes(c);

	if (lvl > SCHED_ESCALATION_MAX)
		lvl = SCHED_ESCALATION_MAX;
	*p = (struct dp_path){
		.id = r->id,
		.key = { .src_ip = r->req.src_ip, .dst_ip = r->req.dst_ip,
			 .proto = r->req.proto, .dport = r->req.dport },
		.type = r->req.type, .tc = r->tc, .dscp = r->dscp,
		.level = r->level, .boost = boost,
		.src_host = r->src_host, .dst_host = r->dst_host,
		.deadline_ns = r->req.deadline_ns,
		.edf_offset_ns = r->sched_deadline_ns,
		.rate_bps = r->req.rate_bps, .burst_bytes = r->req.burst_bytes,
		.service_rate_bps = r->service_rate_bps,
		.max_pkt_bytes = r->req.max_pkt_bytes,
		.wire_rate_bps = muldiv_ceil(r->req.rate_bps, L + o, L),
		.wire_burst_bytes = r->req.burst_bytes + div_ceil(r->req.burst_bytes, L) * o,
	};
	if (!boost)
		return;
	/* boost on top of the committed level (struct dp_path's comment) */
	if (p->type == CONS_PATH_DEADLINE && r->req.deadline_ns > r->net_budget_ns)
		p->edf_offset_ns = sched_escalate_deadline_ns(r->req.deadline_ns - r->net_budget_ns,
							      lvl, c->escalate_floor_ns);
	else if (p->type == CONS_PATH_RESERVATION)
		p->service_rate_bps = sched_escalate_rate_bps(r->service_rate_base_bps ?
							      r->service_rate_base_bps :
							      r->service_rate_bps,
							      lvl, c->uplink_bps);
	if (p->service_rate_bps < r->service_rate_bps)
		p->service_rate_bps = r->service_rate_bps;
	if (p->edf_offset_ns > r->sched_deadline_ns)
		p->edf_offset_ns = r->sched_deadline_ns;
}

static int cmp_path_id(const void *a, const void *b)
{
	uint64_t x = ((const struct dp_path *)a)->id, y = ((const struct dp_path *)b)->id;

	return x < y ? -1 : x > y;
}

/* The EDF flow of an egress path in wire terms (see the top comment). */
static struct sched_flow wire_flow(const struct dp_table *t, const struct dp_path *p,
				   uint64_t dmin_ns)
{
	uint64_t L = p->max_pkt_bytes, o = extra_bytes(&t->cfg);
	uint64_t cut = t->cfg.edf_bucket_ns + t->cfg.tx_ahead_ns;
	struct sched_flow f = {
		.rate_bps = p->wire_rate_bps, .burst_bytes = p->wire_burst_bytes,
		.deadline_ns = p->edf_offset_ns > cut ? p->edf_offset_ns - cut : 1,
		.max_pkt_bytes = (uint32_t)(L + o),
	};

	if (p->type == CONS_PATH_RESERVATION) {
		f.rate_bps = muldiv_ceil(p->service_rate_bps, L + o, L);
		f.burst_bytes += muldiv_ceil(f.rate_bps, dmin_ns, 8 * SCHED_NS_PER_S);
		f.deadline_ns = dmin_ns;
	}
	return f;
}

static int headroom_build(struct dp_table *t)
{
	size_t n = t->n[DP_TX], k = 0;
	uint64_t dmin = UINT64_MAX;
	struct sched_flow *fl;
	struct sched_edf_verdict v;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (t->paths[DP_TX][i].type == CONS_PATH_DEADLINE) {
			struct sched_flow f = wire_flow(t, &t->paths[DP_TX][i], 0);

			if (f.deadline_ns < dmin)
				dmin = f.deadline_ns;
		}
	t->hr.pts = t->pts = calloc(n ? n : 1, sizeof(*t->pts));
	fl = calloc(n ? n : 1, sizeof(*fl));
	if (!t->pts || !fl) {
		free(fl);
		return -ENOMEM;
	}
	t->hr.cap = (uint32_t)(n ? n : 1);
	if (dmin != UINT64_MAX)	/* no EDF traffic: the rule is never asked */
		for (size_t i = 0; i < n; i++)
			fl[k++] = wire_flow(t, &t->paths[DP_TX][i], dmin);
	rc = sched_headroom_build(&t->hr, fl, k, t->cfg.uplink_bps);
	t->wire_ok = true;
	if (rc == 0 && k > 0 &&
	    sched_edf_admissible(fl, k, t->cfg.uplink_bps,
				 t->cfg.nrt_max_frame_bytes + t->cfg.overhead_bytes, &v) == 0)
		t->wire_ok = v.ok;
	free(fl);
	return rc;
}

static int config_check(const struct dp_table_config *c, struct dp_table_config *out,
			char err[CONS_ERRLEN])
{
	if (!c->host_id || !c->uplink_bps || !c->nrt_max_frame_bytes) {
		dp__errf(err, "dataplane table: host id, uplink rate and the largest NRT frame "
			  "are required");
		return -EINVAL;
	}
	*out = *c;
	if (!out->edf_bucket_ns)
		out->edf_bucket_ns = 1000;
	if (!out->escalate_floor_ns)
		out->escalate_floor_ns = CONS_ESCALATE_FLOOR_NS;
	return 0;
}

/* Counts this host's paths per direction and checks them. */
static int count_paths(const struct dp_table_config *c, const struct cons_rtpath *paths,
		       size_t n, size_t cnt[2], char err[CONS_ERRLEN])
{
	int rc;

	cnt[DP_TX] = cnt[DP_RX] = 0;
	for (size_t i = 0; i < n; i++) {
		if (paths[i].src_host == paths[i].dst_host)
			continue;	/* same host: never leaves the switch */
		if (paths[i].src_host != c->host_id && paths[i].dst_host != c->host_id)
			continue;
		if ((rc = path_check(&paths[i], err)) < 0)
			return rc;
		cnt[DP_TX] += paths[i].src_host == c->host_id;
		cnt[DP_RX] += paths[i].dst_host == c->host_id;
	}
	if (cnt[DP_TX] >= UINT32_MAX / 4 || cnt[DP_RX] >= UINT32_MAX / 4) {
		dp__errf(err, "dataplane table: too many rtpaths");
		return -EINVAL;
	}
	return 0;
}

static int fill_dir(struct dp_table *t, int dir, const struct cons_rtpath *paths, size_t n,
		    const uint8_t *boost, const struct dp_table *prev)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cons_rtpath *r = &paths[i];
		uint64_t host = dir == DP_TX ? r->src_host : r->dst_host;

		if (r->src_host == r->dst_host || host != t->cfg.host_id)
			continue;
		path_fill(&t->cfg, r, boost ? boost[i] : 0, &t->paths[dir][k]);
		k++;
	}
	qsort(t->paths[dir], k, sizeof(struct dp_path), cmp_path_id);
	for (size_t i = 0; i < k; i++) {
		struct dp_path *p = &t->paths[dir][i];

		/* a path in both directions (a host sending to itself through
		 * the uplink cannot happen: same-host paths are skipped) */
		p->st = pstate_get(prev, p->id, dir == DP_RX);
		if (!p->st)
			return -ENOMEM;
		p->st->rx.src_host = p->src_host;
		t->n[dir]++;
	}
	return 0;
}

int dp_table_new(const struct dp_table_config *cfg, const struct cons_rtpath *paths,
		 size_t n, const uint8_t *boost, const struct dp_table *prev,
		 struct dp_table **out, char err[CONS_ERRLEN])
{
	struct dp_table *t;
	size_t cnt[2];
	int rc;

	if (!cfg || !out || (n && !paths))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if ((rc = config_check(cfg, &t->cfg, err)) < 0 ||
	    (rc = count_paths(&t->cfg, paths, n, cnt, err)) < 0)
		goto err_table;
	t->gen = atomic_fetch_add(&next_gen, 1) + 1;
	rc = -ENOMEM;
	for (int dir = 0; dir < 2; dir++) {
		t->paths[dir] = calloc(cnt[dir] ? cnt[dir] : 1, sizeof(struct dp_path));
		if (!t->paths[dir] || fill_dir(t, dir, paths, n, boost, prev) < 0 ||
		    hash_build(t, dir) < 0)
			goto err_table;
	}
	if ((rc = headroom_build(t)) < 0) {
		if (rc == -E2BIG)
			dp__errf(err, "dataplane table: too many distinct deadlines");
		goto err_table;
	}
	*out = t;
	return 0;

err_table:
	if (rc == -ENOMEM)
		dp__errf(err, "dataplane table: out of memory");
	dp_table_free(t);
	return rc;
}

void dp_table_free(struct dp_table *t)
{
	if (!t)
		return;
	for (int dir = 0; dir < 2; dir++) {
		for (size_t i = 0; i < t->n[dir]; i++)
			pstate_put(t->paths[dir][i].st);
		free(t->paths[dir]);
		free(t->hash[dir]);
	}
	free(t->pts);
	free(t);
}

size_t dp_table_count(const struct dp_table *t, enum dp_dir dir)
{
	return t ? t->n[dir] : 0;
}

const struct dp_path *dp_table_at(const struct dp_table *t, enum dp_dir dir, size_t i)
{
	return t && i < t->n[dir] ? &t->paths[dir][i] : NULL;
}

const struct dp_table_config *dp_table_cfg(const struct dp_table *t)
{
	return &t->cfg;
}

const struct sched_headroom *dp_table_headroom(const struct dp_table *t)
{
	return &t->hr;
}

bool dp_table_wire_admissible(const struct dp_table *t)
{
	return t->wire_ok;
}

uint64_t dp_table_generation(const struct dp_table *t)
{
	return t->gen;
}

size_t dp_table_shadowed(const struct dp_table *t)
{
	return t->shadowed;
}

void dp_path_counters(const struct dp_path *p, struct dp_path_counters *out)
{
	const struct dp_pstate *st = p->st;

	*out = (struct dp_path_counters){
		.tx_pkts = dp_get(&st->tx.pkts), .tx_bytes = dp_get(&st->tx.bytes),
		.tx_demoted = dp_get(&st->tx.demoted), .tx_policed = dp_get(&st->tx.policed),
		.tx_too_big = dp_get(&st->tx.too_big),
		.rx_pkts = dp_get(&st->rx.pkts), .rx_misses = dp_get(&st->rx.misses),
		.rx_max_late_ns = dp_get(&st->rx.max_late_ns),
	};
}

const struct dp_hist *dp_path_hist(const struct dp_path *p)
{
	return p->st->hist;
}

const struct dp_hist *dp_path_lateness(const struct dp_path *p)
{
	return p->st->late;
}

/* ---- publication and reclamation --------------------------------------------- */

void dp_rcu_init(struct dp_rcu *r)
{
	memset(r, 0, sizeof(*r));
	atomic_init(&r->cur, NULL);
	atomic_init(&r->epoch, 1);
	for (int i = 0; i < DP_RCU_MAX_READERS; i++) {
		atomic_init(&r->readers[i].seen, RCU_OFFLINE);
		atomic_init(&r->readers[i].used, false);
	}
}

void dp_rcu_close(struct dp_rcu *r)
{
	for (size_t i = 0; i < r->n_retired; i++)
		dp_table_free(r->retired[i].t);
	free(r->retired);
	dp_table_free(atomic_load(&r->cur));
	memset(r, 0, sizeof(*r));
}

int dp_rcu_publish(struct dp_rcu *r, struct dp_table *t)
{
	struct dp_table *old;

	if (r->n_retired == r->cap_retired) {
		size_t cap = r->cap_retired ? 2 * r->cap_retired : 8;
		struct dp_retired *nr = realloc(r->retired, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		r->retired = nr;
		r->cap_retired = cap;
	}
	old = atomic_exchange(&r->cur, t);
	/* readers that announce this epoch or later have let go of `old` */
	if (old)
		r->retired[r->n_retired++] = (struct dp_retired){
			.t = old, .epoch = atomic_fetch_add(&r->epoch, 1) + 1 };
	else
		atomic_fetch_add(&r->epoch, 1);
	return 0;
}

static uint64_t min_seen(struct dp_rcu *r)
{
	uint64_t m = RCU_OFFLINE;

	for (int i = 0; i < DP_RCU_MAX_READERS; i++) {
		uint64_t s = atomic_load(&r->readers[i].seen);

		if (s < m)
			m = s;
	}
	return m;
}

size_t dp_rcu_reclaim(struct dp_rcu *r)
{
	uint64_t m = min_seen(r);
	size_t k = 0;

	for (size_t i = 0; i < r->n_retired; i++) {
		if (r->retired[i].epoch <= m)
			dp_table_free(r->retired[i].t);
		else
			r->retired[k++] = r->retired[i];
	}
	r->n_retired = k;
	return k;
}

const struct dp_table *dp_rcu_current(const struct dp_rcu *r)
{
	return atomic_load((_Atomic(struct dp_table *) *)&r->cur);
}

int dp_rcu_register(struct dp_rcu *r)
{
	for (int i = 0; i < DP_RCU_MAX_READERS; i++) {
		bool no = false;

		if (atomic_compare_exchange_strong(&r->readers[i].used, &no, true)) {
			atomic_store(&r->readers[i].seen, atomic_load(&r->epoch));
			return i;
		}
	}
	return -EBUSY;
}

void dp_rcu_unregister(struct dp_rcu *r, int reader)
{
	atomic_store(&r->readers[reader].seen, RCU_OFFLINE);
	atomic_store(&r->readers[reader].used, false);
}

const struct dp_table *dp_rcu_quiescent(struct dp_rcu *r, int reader)
{
	atomic_store(&r->readers[reader].seen, atomic_load(&r->epoch));
	return atomic_load(&r->cur);
}

void dp_rcu_offline(struct dp_rcu *r, int reader)
{
	atomic_store(&r->readers[reader].seen, RCU_OFFLINE);
}
