/* pacer.c — releases frames at the link rate, exactly.
 *
 * A frame of L bytes plus the per-frame overhead (preamble, FCS, gap) takes
 * (L + overhead)·8·1e9 / rate nanoseconds, rarely a whole number. Rounding
 * each frame up would make a 1 Gbit/s pacer of 1 Gbit/s traffic fall behind
 * by up to 1 ns a frame, and rounding down would overrun the link below it,
 * so the FIFO we mean to keep empty would fill. Instead the pacer keeps the
 * exact time the link becomes free as free_ns + rem/rate: whole nanoseconds
 * plus a remainder in bit·1e9 units (rem < rate). Back-to-back frames add
 * their exact duration to that sum, so after any number of frames the link
 * is free within one nanosecond of Σ bits / rate, never earlier. The times
 * the pacer reports are rounded up (never early). When the link has gone
 * idle a frame starts at the caller's now, and the remainder restarts at 0.
 *
 * Products are formed in 128 bits: a 4 GB frame is 3.4e19 bit·ns/s. A rate
 * of 0 is a caller error; it is treated as 1 bit/s rather than divided by.
 */
#include "sched/sched.h"

__extension__ typedef unsigned __int128 pacer_u128;

static uint64_t rate_of(const struct sched_pacer *p)
{
	return p->rate_bps ? p->rate_bps : 1;
}

static pacer_u128 frame_units(const struct sched_pacer *p, uint32_t len_bytes)
{
	return ((pacer_u128)len_bytes + p->overhead_bytes) * 8 * SCHED_NS_PER_S;
}

static uint64_t sat_u64(pacer_u128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* When the link is free, rounded up to a whole nanosecond. */
static uint64_t free_at(const struct sched_pacer *p)
{
	return p->free_ns + (p->rem != 0 && p->free_ns != UINT64_MAX);
}

void sched_pacer_init(struct sched_pacer *p, uint64_t rate_bps, uint32_t overhead_bytes)
{
	*p = (struct sched_pacer){.rate_bps = rate_bps, .overhead_bytes = overhead_bytes};
}

void sched_pacer_set_rate(struct sched_pacer *p, uint64_t rate_bps)
{
	/* The remainder is a fraction of a nanosecond at the old rate: round
	 * the free time up to the nanosecond rather than rescale it. */
	p->free_ns = free_at(p);
	p->rem = 0;
	p->rate_bps = rate_bps;
}

uint64_t sched_pacer_tx_ns(const struct sched_pacer *p, uint32_t len_bytes)
{
	pacer_u128 units = frame_units(p, len_bytes);
	uint64_t rate = rate_of(p);

	return sat_u64(units / rate + (units % rate != 0));
}

uint64_t sched_pacer_next_ns(const struct sched_pacer *p, uint64_t now_ns)
{
	uint64_t t = free_at(p);

	return t > now_ns ? t : now_ns;
}

uint64_t sched_pacer_send(struct sched_pacer *p, uint32_t len_bytes, uint64_t now_ns)
{
	uint64_t rate = rate_of(p);
	pacer_u128 units;

	if (now_ns >= free_at(p)) {
		p->free_ns = now_ns;
		p->rem = 0;
	}
	units = frame_units(p, len_bytes) + p->rem;
	p->free_ns = sat_u64(p->free_ns + units / rate);
	p->rem = (uint64_t)(units % rate);
	return free_at(p);
}
