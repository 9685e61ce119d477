/* headroom.c — when may a non-real-time frame go before queued RT traffic?
 *
 * Seed 000 §3.4: NRT frames go first whenever no RT deadline is put at risk.
 * "At risk" is judged against the admitted envelopes, not against what
 * happens to be queued, so the answer holds for every arrival pattern that
 * admission allowed.
 *
 * Setting. A link of C bit/s sends whole frames. RT flow i conforms to a
 * token bucket (r_i, b_i) with relative deadline D_i, so, as in admit.c,
 *     dbf(Δ) = Σ_i [Δ >= D_i]·(b_i + r_i(Δ − D_i)),   h(Δ) = C·Δ − dbf(Δ),
 *     h_min(Δ) = min_{Δ' >= Δ} h(Δ').
 * Whenever the link goes idle the dataplane sends: if RT is queued (B bits,
 * earliest deadline d_min), an NRT frame of L bits when
 *     L + B <= h_min(d_min − now)                                    (R)
 * and the EDF head otherwise; if no RT is queued, NRT; nothing only when
 * both queues are empty. Assumptions: (A1) the flows passed
 * sched_edf_admissible with a block_bytes no smaller than any NRT frame (it
 * folds the RT max_pkt_bytes in itself), i.e. block + dbf(Δ) <= C·Δ for all
 * Δ >= D_min and Σ r_i <= C; (A2) arrivals conform to their buckets.
 *
 * Claim: every RT frame leaves by its deadline.
 *
 * Proof. Suppose frame J, arrived at a_J with deadline d, is unfinished at d.
 * Call RT frames with deadline <= d urgent. Let t1 <= a_J be the last instant
 * at which every urgent frame that arrived before t1 is finished; then
 * urgent work is pending throughout (t1, d]. While it is, EDF starts no RT
 * frame with a later deadline, the link never idles, and NRT starts only
 * through (R). So [t1, d) holds at most one non-urgent frame that was on the
 * wire at t1 or started at t1 with nothing urgent pending (the blocker: NRT,
 * or RT with a later deadline — at most block bits either way), urgent
 * frames that arrived in [t1, d], and NRT frames started by (R) with urgent
 * work pending.
 *  Case A, no frame of the last kind: the link is busy over [t1, d) with the
 * blocker and urgent work, and the urgent frames due by d that arrived in
 * [t1, d − D_i] total at most dbf(d − t1) (A2). J unfinished means
 * block + dbf(d − t1) > C·(d − t1) with d − t1 >= D_J >= D_min: against A1.
 *  Case B: let s be the last start of such an NRT frame. The link was idle
 * at s (no blocker), and after it only urgent frames are sent until d. What
 * the link must carry in [s, d) is L, plus the urgent backlog at s (at most
 * B), plus urgent arrivals in (s, d], at most dbf(d − s). A miss means
 * L + B > C·(d − s) − dbf(d − s) = h(d − s). Urgent work was queued at s, so
 * d_min <= d and h(d − s) >= h_min(d_min − s) >= L + B by (R): contradiction.
 * □
 *
 * Blocking. An RT frame with a later deadline can hold up an earlier-deadline
 * frame only by having started before the latter was pending, since EDF
 * picks the earliest deadline at every start. That is case A's single
 * blocker, paid for by admission's block (hence the max_pkt_bytes fold in
 * admit.c). In case B the one non-urgent frame after s is the NRT frame, and
 * (R) charges it in full; no extra M_rt term is needed. h_min rather than h:
 * the frame delays every later deadline too, and h can dip after d_min where
 * a large burst falls due.
 *
 * The caller's side of the bargain: NRT frames no longer than the block the
 * flows were admitted with (a frame sent when no RT is queued, or only far
 * deadlines, is case A's blocker), and lengths in the flows, rt_bytes and
 * nrt_bytes counting the same per-frame wire overhead.
 *
 * Table. For distinct deadlines D_0 < ... < D_{n−1}: h_k = h(D_k) with the
 * jump at D_k included, slope_k = C − Σ_{D_i <= D_k} r_i (clamped at 0, see
 * below), and suffix_k = min_{j > k} h_j, where past the last breakpoint the
 * tail counts as +∞ if Σ r_i <= C and −∞ otherwise (then h falls without
 * bound, every suffix is −∞, and clamped slopes never show). On [D_k,
 * D_{k+1}) h is linear from h_k and its left limit at D_{k+1} is >= h_{k+1},
 * so there h_min(Δ) = min(h_k + slope_k(Δ − D_k), suffix_k); before D_0 it is
 * min(C·Δ, h_0, suffix_0). Each stored h_k and each slope term is rounded
 * down, so the result is never above the exact h_min and at most 2 bits
 * below it. A binary search finds k: O(log n).
 */
#include <errno.h>

#include "sched/dbf.h"

#define NS ((sched__u128)SCHED_NS_PER_S)

static int64_t i64_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* floor((supply − demand) / 1e9) in bits, clamped to int64. */
static int64_t headroom_bits(sched__u128 supply, sched__u128 demand)
{
	sched__u128 mag;

	if (supply >= demand) {
		mag = (supply - demand) / NS;
		return mag > INT64_MAX ? INT64_MAX : (int64_t)mag;
	}
	mag = (demand - supply) / NS + ((demand - supply) % NS != 0);
	return mag > INT64_MAX ? INT64_MIN : -(int64_t)mag;
}

static int count_groups(const struct sched_flow *flows, size_t n, uint32_t cap)
{
	struct sched__dl_iter it;
	struct sched__dl_group g;
	uint32_t k = 0;

	sched__dl_iter_init(&it, flows, n);
	while (sched__dl_next(&it, &g))
		if (++k > cap)
			return -E2BIG;
	return 0;
}

static void suffix_fill(struct sched_headroom_pt *pts, uint32_t n, bool bounded)
{
	int64_t tail = bounded ? INT64_MAX : INT64_MIN;

	while (n-- > 0) {
		pts[n].suffix_min_bits = tail;
		tail = i64_min(tail, pts[n].h_bits);
	}
}

int sched_headroom_build(struct sched_headroom *hr, const struct sched_flow *flows,
			 size_t n, uint64_t link_bps)
{
	struct sched__demand d = { 0 };
	struct sched__dl_iter it;
	struct sched__dl_group g;
	uint32_t k = 0;
	int err;

	if (!hr || link_bps == 0 || (n > 0 && !hr->pts))
		return -EINVAL;
	err = sched__flows_check(flows, n);
	if (err == 0)
		err = count_groups(flows, n, hr->cap);
	if (err < 0)
		return err;

	sched__dl_iter_init(&it, flows, n);
	while (sched__dl_next(&it, &g)) {
		struct sched_headroom_pt *pt = &hr->pts[k++];

		sched__demand_step(&d, &g);
		pt->at_ns = g.at_ns;
		pt->h_bits = headroom_bits((sched__u128)link_bps * g.at_ns, d.nbit);
		pt->slope_bps = d.rate_bps < link_bps ? link_bps - (uint64_t)d.rate_bps : 0;
	}
	suffix_fill(hr->pts, k, d.rate_bps <= link_bps);
	hr->link_bps = link_bps;
	hr->n = k;
	return 0;
}

int64_t sched_headroom_bits(const struct sched_headroom *hr, uint64_t delta_ns)
{
	const struct sched_headroom_pt *pt;
	uint32_t lo = 0, hi = hr->n;
	__int128 h;

	while (lo < hi) {	/* lo = number of breakpoints <= delta_ns */
		uint32_t mid = lo + (hi - lo) / 2;

		if (hr->pts[mid].at_ns <= delta_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		int64_t cd = headroom_bits((sched__u128)hr->link_bps * delta_ns, 0);

		if (hr->n == 0)
			return cd;
		return i64_min(cd, i64_min(hr->pts[0].h_bits, hr->pts[0].suffix_min_bits));
	}
	pt = &hr->pts[lo - 1];
	h = pt->h_bits + (__int128)((sched__u128)pt->slope_bps * (delta_ns - pt->at_ns) / NS);
	if (h > INT64_MAX)
		h = INT64_MAX;
	return i64_min((int64_t)h, pt->suffix_min_bits);
}

bool sched_nrt_may_send(const struct sched_headroom *hr, uint64_t now_ns,
			uint64_t d_min_ns, uint64_t rt_bytes, uint32_t nrt_bytes)
{
	int64_t h;

	if (rt_bytes == 0)
		return true;
	if (d_min_ns <= now_ns)
		return false;
	h = sched_headroom_bits(hr, d_min_ns - now_ns);
	return h >= 0 && ((sched__u128)rt_bytes + nrt_bytes) * 8 <= (sched__u128)h;
}
