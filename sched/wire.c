/* wire.c — converting a flow's frame-term envelope into wire terms.
 *
 * Why these formulas. A frame of x <= L bytes occupies x + o bytes of the
 * link. A sender policed by a token bucket that charges x + o per frame,
 * with rate ⌈r(L+o)/L⌉ and depth b + ⌈b/L⌉·o, puts at most
 * depth + rate·t wire bits on the link in any interval t: that is the wire
 * envelope, exact by construction, and it is what admission must count.
 * The frame envelope (r, b) maps onto it without loss only for frames of
 * exactly L bytes: a stream of L-byte frames at r frame bits/s sends
 * r/(8L) frames/s, i.e. r(L+o)/L wire bits/s, and a burst of b bytes is at
 * most ⌈b/L⌉ frames. Smaller frames get fewer frame bits through the same
 * wire bucket, which is the point: they cannot under-count their overhead.
 *
 * Rounding. Rates and bursts round up (the envelope is an upper bound);
 * the inverse rounds so that converting its result back reaches the wire
 * rate asked for. Everything is integer arithmetic in 128 bits, so the
 * functions can run inside Raft's apply.
 */
#include "sched/sched.h"

typedef unsigned __int128 wire_u128;

static uint64_t sat64(wire_u128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static uint32_t pkt_or_1(uint32_t pkt_bytes)
{
	return pkt_bytes ? pkt_bytes : 1;
}

uint64_t sched_wire_rate_bps(uint64_t rate_bps, uint32_t pkt_bytes, uint32_t overhead_bytes)
{
	uint64_t L = pkt_or_1(pkt_bytes);
	wire_u128 num = (wire_u128)rate_bps * (L + overhead_bytes);

	return sat64(num / L + (num % L != 0));
}

uint64_t sched_wire_burst_bytes(uint64_t burst_bytes, uint32_t pkt_bytes,
				uint32_t overhead_bytes)
{
	uint64_t L = pkt_or_1(pkt_bytes);
	wire_u128 frames = burst_bytes / L + (burst_bytes % L != 0);

	return sat64(burst_bytes + frames * overhead_bytes);
}

/* ⌈x(L+o)/L⌉ >= w  ⟺  x(L+o)/L > w − 1  ⟺  x > (w−1)·L/(L+o), so the
 * smallest such x is ⌊(w−1)·L/(L+o)⌋ + 1 (for w >= 1; w = 0 needs 0). */
uint64_t sched_frame_rate_bps(uint64_t wire_bps, uint32_t pkt_bytes, uint32_t overhead_bytes)
{
	uint64_t L = pkt_or_1(pkt_bytes);

	if (wire_bps == 0)
		return 0;
	return (uint64_t)((wire_u128)(wire_bps - 1) * L / (L + overhead_bytes)) + 1;
}

struct sched_flow sched_wire_flow(const struct sched_flow *f, uint32_t overhead_bytes)
{
	uint64_t pkt = (uint64_t)f->max_pkt_bytes + overhead_bytes;

	return (struct sched_flow){
		.rate_bps = sched_wire_rate_bps(f->rate_bps, f->max_pkt_bytes, overhead_bytes),
		.burst_bytes = sched_wire_burst_bytes(f->burst_bytes, f->max_pkt_bytes,
						      overhead_bytes),
		.deadline_ns = f->deadline_ns,
		.max_pkt_bytes = pkt > UINT32_MAX ? UINT32_MAX : (uint32_t)pkt,
	};
}
