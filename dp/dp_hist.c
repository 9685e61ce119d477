/* dp_hist.c — log-linear histograms for per-path one-way delay.
 *
 * The layout of HdrHistogram (Tene) with a fixed precision: values below
 * 2^(S+1) have a bucket each; above, every power of two [2^k, 2^(k+1)) is
 * split into 2^S equal buckets, so a bucket's width is at most 1/2^S of the
 * values in it and any reported quantile is at most 3.1 % (S = 5) above the
 * true one. The index of v with e = max(0, msb(v) − S) is e·2^S + (v >> e):
 * one count-leading-zeros and a shift, no loop, no floating point.
 *
 * One writer (the ingress thread); counts are relaxed atomics written with a
 * plain load and store, so recording costs what plain increments cost and a
 * reader on another thread sees each counter whole.
 */
#include "dp/dp_internal.h"

#include <string.h>

#define SUB DP_HIST_SUB_BITS
#define VMAX ((1ull << DP_HIST_MAX_LOG2) - 1)

void dp_hist_init(struct dp_hist *h)
{
	atomic_init(&h->count, 0);
	atomic_init(&h->sum, 0);
	atomic_init(&h->min, UINT64_MAX);
	atomic_init(&h->max, 0);
	for (unsigned i = 0; i < DP_HIST_BUCKETS; i++)
		atomic_init(&h->b[i], 0);
}

unsigned dp_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v > VMAX)
		v = VMAX;
	if (v < (2u << SUB))
		return (unsigned)v;
	e = (unsigned)(63 - __builtin_clzll(v)) - SUB;
	return (e << SUB) + (unsigned)(v >> e);
}

uint64_t dp_hist_bucket_high(unsigned i)
{
	unsigned e;

	if (i < (2u << SUB))
		return i;
	e = (i >> SUB) - 1;
	return (((uint64_t)(i - (e << SUB)) + 1) << e) - 1;
}

void dp_hist_record(struct dp_hist *h, uint64_t v)
{
	dp_add(&h->b[dp_hist_bucket(v)], 1);
	dp_add(&h->sum, v);
	dp_max(&h->max, v);
	if (v < dp_get(&h->min))
		atomic_store_explicit(&h->min, v, memory_order_relaxed);
	/* count last: a reader that sees it has a chance to see the rest */
	atomic_store_explicit(&h->count, dp_get(&h->count) + 1, memory_order_release);
}

uint64_t dp_hist_quantile(const struct dp_hist *h, uint32_t q_ppm)
{
	uint64_t n = 0, seen = 0, rank, max = dp_get(&h->max), hi;

	for (unsigned i = 0; i < DP_HIST_BUCKETS; i++)
		n += dp_get(&h->b[i]);
	if (!n)
		return 0;
	if (q_ppm > 1000000)
		q_ppm = 1000000;
	rank = (n * q_ppm + 999999) / 1000000;
	if (!rank)
		rank = 1;
	for (unsigned i = 0; i < DP_HIST_BUCKETS; i++) {
		seen += dp_get(&h->b[i]);
		if (seen >= rank) {
			hi = dp_hist_bucket_high(i);
			return hi < max ? hi : max;
		}
	}
	return max;
}

void dp_hist_summary(const struct dp_hist *h, struct dp_hist_summary *out)
{
	uint64_t n = atomic_load_explicit((_Atomic uint64_t *)&h->count, memory_order_acquire);

	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	out->count = n;
	out->min = dp_get(&h->min);
	out->max = dp_get(&h->max);
	out->mean = dp_get(&h->sum) / n;
	out->p50 = dp_hist_quantile(h, 500000);
	out->p99 = dp_hist_quantile(h, 990000);
	out->p999 = dp_hist_quantile(h, 999000);
}
