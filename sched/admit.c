/* admit.c — admission math: the EDF demand-bound test, the RFC 2212 delay
 * bound, and the escalation hooks. The NRT rule and its headroom table live
 * in headroom.c; both files share the deadline-group walk declared in
 * dbf.h.
 *
 * EDF test. A flow i conforms to a token bucket (r_i, b_i), so it releases at
 * most b_i + r_i·x bits in any closed interval of length x, and each packet
 * must leave within D_i of its arrival. The work that must be done in any
 * window [t0, t0 + t] is then at most the demand-bound function
 *     dbf(t) = Σ_i [t >= D_i] · (b_i + r_i·(t − D_i))
 * (a packet counts only if both its arrival and its deadline fall inside).
 * The processor-demand criterion (Baruah, Rosier & Howell 1990) makes
 * dbf(t) <= C·t for all t sufficient for preemptive EDF; on a link frames
 * are not preemptible, and one frame that is not deadline-bound inside the
 * window may already be on the wire when it opens (George, Rivierre & Spuri,
 * INRIA RR-2966, 1996): dbf(t) + block <= C·t for every t >= min D_i.
 * The blocker is an NRT frame or an RT frame with a later deadline, so the
 * block used here is max(block_bytes, max_i max_pkt_bytes): the caller's
 * block_bytes covers the NRT MTU, the flows' own packets are added here.
 *
 * dbf jumps by b_i at D_i and is linear in between, so the slack
 * C·t − dbf(t) − block is linear on each piece [D_k, D_{k+1}), and its limit
 * just before D_{k+1} is no lower than its value at D_{k+1}, where the demand
 * jumps up. Checking t = D_k (jump included) for every distinct deadline,
 * plus Σ r_i <= C for the slope after the last one, is therefore exact.
 *
 * Arithmetic. All amounts are kept in nanobits (10^-9 bit): r [bit/s] times
 * t [ns] is a whole number of nanobits, and b bytes are 8·10^9·b nanobits,
 * so nothing rounds. Products of two uint64 fit unsigned __int128; sums are
 * saturating, and a saturated demand exceeds every possible supply (C·t <
 * 2^128 − 2^65), so saturation can only make the answer "no", and only when
 * the true demand is beyond any link anyway. Amounts leave the library as
 * whole bits: demand rounded up, supply and headroom rounded down.
 *
 * Cost. Distinct deadlines are visited in increasing order without sorting
 * the caller's array or allocating: O(n) when the flows come sorted by
 * deadline (either way), O(n·k/64) for k distinct deadlines otherwise
 * (dbf.h). Callers with many flows should keep their array sorted.
 *
 * RFC 2212 (guaranteed service) gives the end-to-end bound for a
 * (r, p, b, M) flow served at rate R, with the path's error terms Ctot and
 * Dtot. It is computed exactly and rounded up once; it is non-increasing in
 * R (argued at sched_rfc2212_min_rate), so the minimum rate is found by
 * bisection over whole bits per second.
 */
#include <errno.h>
#include <string.h>

#include "sched/dbf.h"

static uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static bool flow_valid(const struct sched_flow *f)
{
	return f->deadline_ns > 0 && f->burst_bytes >= f->max_pkt_bytes;
}

int sched__flows_check(const struct sched_flow *flows, size_t n)
{
	if (n > 0 && !flows)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!flow_valid(&flows[i]))
			return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Deadline groups: distinct deadlines in increasing order                    */

void sched__dl_iter_init(struct sched__dl_iter *it, const struct sched_flow *flows,
			 size_t n)
{
	it->flows = flows;
	it->n = n;
	it->pos = 0;
	it->started = false;
	it->last_ns = 0;
	it->batch_len = it->batch_pos = 0;
	it->ascending = it->descending = true;
	for (size_t i = 1; i < n && (it->ascending || it->descending); i++) {
		it->ascending &= flows[i].deadline_ns >= flows[i - 1].deadline_ns;
		it->descending &= flows[i].deadline_ns <= flows[i - 1].deadline_ns;
	}
}

static void group_add(struct sched__dl_group *g, const struct sched_flow *f)
{
	g->burst_nbit = sched__sat_add(g->burst_nbit,
				       (sched__u128)f->burst_bytes * SCHED__NBIT_PER_BYTE);
	g->rate_bps += f->rate_bps;	/* n < 2^64 terms < 2^64: no overflow */
}

/* Flows sorted either way: walk them in increasing deadline order. */
static const struct sched_flow *sorted_at(const struct sched__dl_iter *it, size_t pos)
{
	return &it->flows[it->ascending ? pos : it->n - 1 - pos];
}

static bool next_sorted(struct sched__dl_iter *it, struct sched__dl_group *g)
{
	if (it->pos >= it->n)
		return false;
	*g = (struct sched__dl_group){ .at_ns = sorted_at(it, it->pos)->deadline_ns };
	while (it->pos < it->n && sorted_at(it, it->pos)->deadline_ns == g->at_ns)
		group_add(g, sorted_at(it, it->pos++));
	return true;
}

/* Offers flow f to the batch of the smallest deadlines above the previous
 * batch. Once the batch is full, a newcomer pushes out the largest group;
 * the flows of a group pushed out, or never let in, have deadlines above
 * the batch's final maximum and are collected again by a later pass, so
 * every group in the batch is complete when the pass ends. */
static void batch_offer(struct sched__dl_iter *it, const struct sched_flow *f)
{
	struct sched__dl_group *b = it->batch;
	unsigned lo = 0, hi = it->batch_len;

	if (hi == SCHED__DL_BATCH && f->deadline_ns > b[hi - 1].at_ns)
		return;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (b[mid].at_ns < f->deadline_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < it->batch_len && b[lo].at_ns == f->deadline_ns) {
		group_add(&b[lo], f);
		return;
	}
	if (lo == SCHED__DL_BATCH)
		return;
	if (it->batch_len == SCHED__DL_BATCH)
		it->batch_len--;
	memmove(&b[lo + 1], &b[lo], (it->batch_len - lo) * sizeof(*b));
	b[lo] = (struct sched__dl_group){ .at_ns = f->deadline_ns };
	group_add(&b[lo], f);
	it->batch_len++;
}

static bool next_unsorted(struct sched__dl_iter *it, struct sched__dl_group *g)
{
	if (it->batch_pos == it->batch_len) {
		it->batch_len = it->batch_pos = 0;
		for (size_t i = 0; i < it->n; i++)
			if (!it->started || it->flows[i].deadline_ns > it->last_ns)
				batch_offer(it, &it->flows[i]);
		if (it->batch_len == 0)
			return false;
	}
	*g = it->batch[it->batch_pos++];
	return true;
}

bool sched__dl_next(struct sched__dl_iter *it, struct sched__dl_group *g)
{
	bool found = it->ascending || it->descending ? next_sorted(it, g)
						     : next_unsorted(it, g);

	if (found) {
		it->started = true;
		it->last_ns = g->at_ns;
	}
	return found;
}

/* Advances the demand from the previous group (d->at_ns, with d->rate_bps
 * summed over every flow due by then) to group g: the earlier flows accrue
 * rate·gap more, and g's flows add their bursts. Only additions, so the
 * saturating sums stay monotone. */
void sched__demand_step(struct sched__demand *d, const struct sched__dl_group *g)
{
	if (d->started) {
		sched__u128 accrued = sched__sat_mul(d->rate_bps, g->at_ns - d->at_ns);

		d->nbit = sched__sat_add(d->nbit, accrued);
	}
	d->nbit = sched__sat_add(d->nbit, g->burst_nbit);
	d->rate_bps += g->rate_bps;
	d->at_ns = g->at_ns;
	d->started = true;
}

/* ------------------------------------------------------------------------- */
/* EDF demand-bound test                                                     */

static uint64_t nbit_to_bits_up(sched__u128 nbit)
{
	sched__u128 bits = nbit / SCHED_NS_PER_S + (nbit % SCHED_NS_PER_S != 0);

	return bits > UINT64_MAX ? UINT64_MAX : (uint64_t)bits;
}

static uint64_t nbit_to_bits_down(sched__u128 nbit)
{
	sched__u128 bits = nbit / SCHED_NS_PER_S;

	return bits > UINT64_MAX ? UINT64_MAX : (uint64_t)bits;
}

static void verdict_fail(struct sched_edf_verdict *v, uint64_t at_ns,
			 sched__u128 demand_nbit, sched__u128 supply_nbit)
{
	v->ok = false;
	v->at_ns = at_ns;
	v->demand_bits = nbit_to_bits_up(demand_nbit);
	v->supply_bits = nbit_to_bits_down(supply_nbit);
}

/* All breakpoints hold but Σr > C: the slack left at the last deadline T
 * shrinks by (Σr − C) per ns, so the first failing t is
 * T + floor(slack / excess) + 1. A t beyond 2^64 ns (584 years) is reported
 * as UINT64_MAX, with the amounts at that t. */
static void verdict_long_run(struct sched_edf_verdict *v, const struct sched__demand *d,
			     uint64_t link_bps)
{
	sched__u128 supply = (sched__u128)link_bps * d->at_ns;
	sched__u128 excess = d->rate_bps - link_bps;
	sched__u128 after = (supply - d->nbit) / excess + 1;
	uint64_t t = UINT64_MAX;

	if (after <= UINT64_MAX - d->at_ns)
		t = d->at_ns + (uint64_t)after;
	verdict_fail(v, t,
		     sched__sat_add(d->nbit, sched__sat_mul(d->rate_bps, t - d->at_ns)),
		     (sched__u128)link_bps * t);
}

int sched_edf_admissible(const struct sched_flow *flows, size_t n,
			 uint64_t link_bps, uint32_t block_bytes,
			 struct sched_edf_verdict *v)
{
	struct sched__demand d = { 0 };
	struct sched__dl_iter it;
	struct sched__dl_group g;
	sched__u128 sum_bps = 0;
	uint64_t block = block_bytes;

	if (!v || link_bps == 0 || sched__flows_check(flows, n) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		block = u64_max(block, flows[i].max_pkt_bytes);
		sum_bps += flows[i].rate_bps;
	}

	*v = (struct sched_edf_verdict){ .ok = true };
	d.nbit = (sched__u128)block * SCHED__NBIT_PER_BYTE;
	sched__dl_iter_init(&it, flows, n);
	while (sched__dl_next(&it, &g)) {
		sched__u128 supply = (sched__u128)link_bps * g.at_ns;

		sched__demand_step(&d, &g);
		if (d.nbit > supply) {
			verdict_fail(v, g.at_ns, d.nbit, supply);
			break;
		}
	}
	v->rate_exceeded = sum_bps > link_bps;
	if (v->ok && v->rate_exceeded)	/* d covers every flow: d.rate_bps == sum_bps */
		verdict_long_run(v, &d, link_bps);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* RFC 2212 guaranteed-service delay bound                                    */

static bool tspec_valid(const struct sched_tspec *t)
{
	return t && t->b_bytes >= t->M_bytes && t->p_bps >= t->r_bps;
}

/* x·a/c = q + rem/c for a <= c, c > 0, exactly: with x = xh·c + xl,
 * x·a/c = xh·a + xl·a/c, where xh·a <= x and xl·a < 2^128. */
static sched__u128 muldiv(sched__u128 x, uint64_t a, uint64_t c, sched__u128 *rem)
{
	sched__u128 xh = x / c, xl = x % c;

	*rem = xl * a % c;
	return xh * a + xl * a / c;
}

/* The bound in ns, rounded up once on the exact sum:
 *   D·R = (b−M)·(p−R)/(p−r) + (M+Ctot) (nanobits), plus Dtot. */
static uint64_t rfc2212_ns(const struct sched_tspec *t, uint64_t R_bps,
			   uint64_t ctot_bytes, uint64_t dtot_ns)
{
	sched__u128 burst = (sched__u128)(t->b_bytes - t->M_bytes) * SCHED__NBIT_PER_BYTE;
	sched__u128 pkt = ((sched__u128)t->M_bytes + ctot_bytes) * SCHED__NBIT_PER_BYTE;
	sched__u128 q = 0, frac = 0, num, ns;

	if (t->p_bps == UINT64_MAX)	/* unlimited peak: (p−R)/(p−r) -> 1 */
		q = burst;
	else if (t->p_bps > R_bps)
		q = muldiv(burst, t->p_bps - R_bps, t->p_bps - t->r_bps, &frac);
	num = q + pkt;
	ns = num / R_bps + (num % R_bps != 0 || frac != 0);
	ns = sched__sat_add(ns, dtot_ns);
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

int sched_rfc2212_delay_ns(const struct sched_tspec *t, uint64_t R_bps,
			   uint64_t ctot_bytes, uint64_t dtot_ns, uint64_t *delay_ns)
{
	if (!tspec_valid(t) || !delay_ns || R_bps == 0 || R_bps < t->r_bps)
		return -EINVAL;
	*delay_ns = rfc2212_ns(t, R_bps, ctot_bytes, dtot_ns);
	return 0;
}

/* Bisection is valid because the bound is non-increasing in R on [r, ∞):
 * for r <= R < p, (b−M)/R and (p−R)/(p−r) are both non-negative and
 * non-increasing, so is their product, and (M+Ctot)/R decreases; at R = p
 * the first term is 0, which is where the R >= p branch starts, so the two
 * pieces join; for R >= p only (M+Ctot)/R remains. Rounding up and
 * saturating are monotone maps, so the integer bound is non-increasing too.
 * Invariant: bound(lo) > deadline >= bound(hi). */
int sched_rfc2212_min_rate(const struct sched_tspec *t, uint64_t ctot_bytes,
			   uint64_t dtot_ns, uint64_t deadline_ns, uint64_t max_R_bps,
			   uint64_t *R_bps)
{
	uint64_t lo, hi;

	if (!tspec_valid(t) || !R_bps)
		return -EINVAL;
	lo = u64_max(t->r_bps, 1);
	if (max_R_bps < lo || rfc2212_ns(t, max_R_bps, ctot_bytes, dtot_ns) > deadline_ns)
		return -ERANGE;
	if (rfc2212_ns(t, lo, ctot_bytes, dtot_ns) <= deadline_ns) {
		*R_bps = lo;
		return 0;
	}
	hi = max_R_bps;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (rfc2212_ns(t, mid, ctot_bytes, dtot_ns) <= deadline_ns)
			hi = mid;
		else
			lo = mid;
	}
	*R_bps = hi;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Escalation hooks                                                          */

/* Escalation only ever tightens: the result is never later than the true
 * deadline, even when the floor is above it. */
uint64_t sched_escalate_deadline_ns(uint64_t deadline_ns, unsigned level,
				    uint64_t floor_ns)
{
	uint64_t eff;

	if (level > SCHED_ESCALATION_MAX)
		level = SCHED_ESCALATION_MAX;
	eff = u64_max(deadline_ns >> level, floor_ns);
	return u64_min(eff, deadline_ns);
}

/* R + R·L/2 in 128 bits, then capped; like the deadline, escalation never
 * lowers the rate, even when the cap is below the current R. */
uint64_t sched_escalate_rate_bps(uint64_t rate_bps, unsigned level, uint64_t cap_bps)
{
	sched__u128 r;

	if (level > SCHED_ESCALATION_MAX)
		level = SCHED_ESCALATION_MAX;
	r = rate_bps + (sched__u128)rate_bps * level / 2;
	if (r > cap_bps)
		r = cap_bps;
	return u64_max((uint64_t)r, rate_bps);
}
