/* tb.c — token bucket (rate_bps, burst_bytes), exact in integers.
 *
 * Tokens are counted in bit·1e9 units (bits × ns/s): t nanoseconds at r bit/s
 * earn exactly r·t of them and a frame of L bytes costs L·8·1e9, so refills
 * never round and a bucket polled every nanosecond earns the same as one
 * polled once a day. The bucket holds at most burst·8·1e9, which must fit in
 * 64 bits: bursts are clamped to TB_MAX_BURST_BYTES (2.3 GB), far above any
 * real one. A refill after a long idle never forms rate × elapsed when that
 * product could pass the cap (it could overflow): it first checks whether the
 * elapsed time alone fills the bucket.
 */
#include "sched/sched.h"

#define TB_UNITS_PER_BYTE (8 * SCHED_NS_PER_S)
#define TB_MAX_BURST_BYTES (UINT64_MAX / TB_UNITS_PER_BYTE)

static uint64_t burst_of(const struct sched_tb *tb)
{
	return tb->burst_bytes < TB_MAX_BURST_BYTES ? tb->burst_bytes
						    : TB_MAX_BURST_BYTES;
}

static uint64_t cap_of(const struct sched_tb *tb)
{
	return burst_of(tb) * TB_UNITS_PER_BYTE;
}

/* The fill at now_ns (an earlier time counts as last_ns), without changing
 * the bucket. */
static uint64_t fill_at(const struct sched_tb *tb, uint64_t now_ns)
{
	uint64_t cap = cap_of(tb), gap, elapsed;

	if (tb->tokens >= cap)
		return cap;
	if (now_ns <= tb->last_ns || !tb->rate_bps)
		return tb->tokens;
	elapsed = now_ns - tb->last_ns;
	gap = cap - tb->tokens;
	/* elapsed <= gap / rate  ⇒  elapsed·rate <= gap: no overflow. */
	if (elapsed > gap / tb->rate_bps)
		return cap;
	return tb->tokens + elapsed * tb->rate_bps;
}

static void refill(struct sched_tb *tb, uint64_t now_ns)
{
	tb->tokens = fill_at(tb, now_ns);
	if (now_ns > tb->last_ns)
		tb->last_ns = now_ns;
}

void sched_tb_init(struct sched_tb *tb, uint64_t rate_bps, uint64_t burst_bytes,
		   uint64_t now_ns)
{
	*tb = (struct sched_tb){.rate_bps = rate_bps, .burst_bytes = burst_bytes,
				.last_ns = now_ns};
	tb->tokens = cap_of(tb);
}

void sched_tb_set(struct sched_tb *tb, uint64_t rate_bps, uint64_t burst_bytes,
		  uint64_t now_ns)
{
	uint64_t cap;

	refill(tb, now_ns);
	tb->rate_bps = rate_bps;
	tb->burst_bytes = burst_bytes;
	cap = cap_of(tb);
	if (tb->tokens > cap)
		tb->tokens = cap;
}

bool sched_tb_take(struct sched_tb *tb, uint32_t len_bytes, uint64_t now_ns)
{
	uint64_t cost;

	refill(tb, now_ns);
	if (len_bytes > burst_of(tb))
		return false;
	cost = len_bytes * TB_UNITS_PER_BYTE;
	if (tb->tokens < cost)
		return false;
	tb->tokens -= cost;
	return true;
}

uint64_t sched_tb_wait_ns(const struct sched_tb *tb, uint32_t len_bytes,
			  uint64_t now_ns)
{
	uint64_t cost, fill, deficit;

	if (len_bytes > burst_of(tb))
		return UINT64_MAX;
	cost = len_bytes * TB_UNITS_PER_BYTE;
	fill = fill_at(tb, now_ns);
	if (fill >= cost)
		return 0;
	if (!tb->rate_bps)
		return UINT64_MAX;
	deficit = cost - fill;
	return deficit / tb->rate_bps + (deficit % tb->rate_bps != 0);
}
