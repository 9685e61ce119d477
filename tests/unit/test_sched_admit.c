/* test_sched_admit.c — admission math (admit.c) and the NRT rule
 * (headroom.c).
 *
 * Expected values are worked out by hand in the comments. Units: a link of
 * 10 Mbit/s carries 10,000 bits per ms (one bit per 100 ns); 1500 B is
 * 12,000 bits. Beyond the tables, two oracles written here from the
 * definitions: a naive O(n²) demand-bound test and a brute-force h_min.
 * test_sched_nrt_sim.c checks the NRT rule on a simulated link.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sched/sched.h"

#define MS 1000000ull
#define US 1000ull
#define MBPS 1000000ull
#define GBPS 1000000000ull
#define NBIT_PER_BYTE (8 * SCHED_NS_PER_S)

#define FLOW(r, b, d, m) \
	{ .rate_bps = (r), .burst_bytes = (b), .deadline_ns = (d), .max_pkt_bytes = (m) }
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned __int128 u128;

static uint64_t rng_next(uint64_t *s)	/* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)	/* [lo, hi] */
{
	return lo + rng_next(s) % (hi - lo + 1);
}

static void assert_verdict(const struct sched_edf_verdict *v, bool ok, uint64_t at_ns,
			   uint64_t demand_bits, uint64_t supply_bits, bool rate_exceeded)
{
	assert_int_equal(v->ok, ok);
	assert_int_equal(v->at_ns, at_ns);
	assert_int_equal(v->demand_bits, demand_bits);
	assert_int_equal(v->supply_bits, supply_bits);
	assert_int_equal(v->rate_exceeded, rate_exceeded);
}

/* ------------------------------------------------------------------------- */
/* EDF demand-bound test: hand-computed cases                                */

/* Link 10 Mbit/s, block 1500 B (12,000 bits).
 * A = (2 Mbit/s, 1500 B, 5 ms), B = (2 Mbit/s, 1500 B, 10 ms).
 * t = 5 ms:  A 12,000 + block 12,000 = 24,000 <= 50,000.
 * t = 10 ms: A 12,000 + 2,000·5 = 22,000, B 12,000, block 12,000 = 46,000
 *            <= 100,000.  Σr = 4 Mbit/s <= 10.  Admissible. */
static void test_edf_two_flows(void **state)
{
	const struct sched_flow f[] = {
		FLOW(2 * MBPS, 1500, 5 * MS, 1500),
		FLOW(2 * MBPS, 1500, 10 * MS, 1500),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 2, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
}

/* Adding A-type flows (2 Mbit/s, 1500 B, 5 ms) to {A, B} one at a time.
 * With k flows at 5 ms: demand(5 ms) = 12,000·k + 12,000 vs 50,000, so k = 3
 * fits (48,000) and k = 4 does not (60,000). With k = 3, t = 10 ms:
 * 3·22,000 + 12,000 + 12,000 = 90,000 <= 100,000 and Σr = 8 Mbit/s.
 * k = 4 brings Σr to exactly C = 10 Mbit/s: not exceeded. */
static void test_edf_add_until_refusal(void **state)
{
	struct sched_flow f[8] = {
		FLOW(2 * MBPS, 1500, 5 * MS, 1500),
		FLOW(2 * MBPS, 1500, 10 * MS, 1500),
	};
	static const struct {
		bool ok;
		uint64_t demand_bits;
	} step[] = {
		{ true, 0 },		/* {A, B, A2} */
		{ true, 0 },		/* {A, B, A2, A3} */
		{ false, 60000 },	/* {A, B, A2, A3, A4}: refused at 5 ms */
	};
	struct sched_edf_verdict v;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(step); i++) {
		f[2 + i] = f[0];
		assert_int_equal(sched_edf_admissible(f, 3 + i, 10 * MBPS, 1500, &v), 0);
		if (step[i].ok)
			assert_verdict(&v, true, 0, 0, 0, false);
		else
			assert_verdict(&v, false, 5 * MS, step[i].demand_bits, 50000, false);
	}
}

/* A refusal at the second breakpoint. {A, B} as above plus
 * E = (1 Mbit/s, 6000 B = 48,000 bits, 10 ms):
 *   t = 5 ms: 24,000 <= 50,000; t = 10 ms: 46,000 + 48,000 = 94,000 <= 100,000.
 * F = (1 Mbit/s, 1500 B, 10 ms) adds 12,000 at 10 ms: 106,000 > 100,000. */
static void test_edf_refusal_at_later_deadline(void **state)
{
	const struct sched_flow f[] = {
		FLOW(2 * MBPS, 1500, 5 * MS, 1500),
		FLOW(2 * MBPS, 1500, 10 * MS, 1500),
		FLOW(1 * MBPS, 6000, 10 * MS, 1500),
		FLOW(1 * MBPS, 1500, 10 * MS, 1500),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	assert_int_equal(sched_edf_admissible(f, 4, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, false, 10 * MS, 106000, 100000, false);
}

/* Every breakpoint holds but Σr = 11 > 10 Mbit/s: fails in the long run.
 * (6 Mbit/s, 1500 B, 5 ms), (5 Mbit/s, 1500 B, 10 ms), block 1500 B:
 *   t = 5 ms: 24,000 <= 50,000;
 *   t = 10 ms: 12,000 + 6,000·5 + 12,000 + 12,000 = 66,000 <= 100,000.
 * The 34,000-bit slack shrinks at 1 Mbit/s: gone after 34 ms, so the first
 * failing whole ns is t = 44,000,001 ns, where
 *   demand = 66,000 + 11e6·34,000,001e-9 = 440,000.011 -> 440,001 (up),
 *   supply = 10e6·44,000,001e-9 = 440,000.01 -> 440,000 (down). */
static void test_edf_rate_exceeded(void **state)
{
	const struct sched_flow f[] = {
		FLOW(6 * MBPS, 1500, 5 * MS, 1500),
		FLOW(5 * MBPS, 1500, 10 * MS, 1500),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 2, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, false, 44000001, 440001, 440000, true);
}

/* Equal deadlines merge into one breakpoint. Three flows at 5 ms:
 * 1500 B each: 3·12,000 + 12,000 = 48,000 <= 50,000;
 * 1600 B each: 3·12,800 + 12,000 = 50,400 > 50,000. */
static void test_edf_equal_deadlines(void **state)
{
	struct sched_flow f[3];
	struct sched_edf_verdict v;

	(void)state;
	for (int i = 0; i < 3; i++)
		f[i] = (struct sched_flow)FLOW(1 * MBPS, 1500, 5 * MS, 1500);
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	for (int i = 0; i < 3; i++)
		f[i].burst_bytes = 1600;
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, false, 5 * MS, 50400, 50000, false);
}

/* Σr = 1 Mbit/s on a 10 Mbit/s link would pass a rate-only check, but the
 * 10,000-B burst (80,000 bits) due within 5 ms does not fit:
 * 80,000 + 12,000 = 92,000 > 50,000. */
static void test_edf_burst_dominated(void **state)
{
	const struct sched_flow f[] = { FLOW(1 * MBPS, 10000, 5 * MS, 1500) };
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 1, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, false, 5 * MS, 92000, 50000, false);
}

/* The flow set H used by the headroom tests, on 10 Mbit/s:
 *   A = (1 Mbit/s, 1500 B, 2 ms), B = (1 Mbit/s, 5000 B, 6 ms),
 *   C = (2 Mbit/s, 1500 B, 10 ms), all max_pkt 500 B.
 * dbf(2 ms) = 12,000; dbf(6 ms) = 12,000 + 1,000·4 + 40,000 = 56,000;
 * dbf(10 ms) = 12,000 + 8,000 + 40,000 + 4,000 + 12,000 = 76,000.
 * Slack C·t − dbf: 8,000, 4,000, 24,000. The blocking frame may therefore
 * be up to 4,000 bits = 500 B; 501 B gives 56,000 + 4,008 = 60,008 > 60,000
 * at 6 ms. The flows' own max_pkt counts as a blocker too: with block 0 but
 * one flow's max_pkt at 600 B, 56,000 + 4,800 = 60,800 > 60,000. */
static const struct sched_flow H[] = {
	FLOW(1 * MBPS, 1500, 2 * MS, 500),
	FLOW(1 * MBPS, 5000, 6 * MS, 500),
	FLOW(2 * MBPS, 1500, 10 * MS, 500),
};

static void test_edf_blocking(void **state)
{
	struct sched_flow f[3];
	struct sched_edf_verdict v;

	(void)state;
	memcpy(f, H, sizeof(f));
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 501, &v), 0);
	assert_verdict(&v, false, 6 * MS, 60008, 60000, false);
	f[2].max_pkt_bytes = 600;
	assert_int_equal(sched_edf_admissible(f, 3, 10 * MBPS, 0, &v), 0);
	assert_verdict(&v, false, 6 * MS, 60800, 60000, false);
}

/* Seed 000: 1 Gbit/s, A = (2 Mbit/s, 5 ms), B = (2 Mbit/s, 10 ms), 1502-B
 * packets, 1502-B NRT frames (12,016 bits). 5 ms: 24,032 <= 5,000,000.
 * Experiment 3's flow C (1 Gbit/s, 1502 B, 10 ms) passes every breakpoint
 * (10 ms: 22,016 + 12,016 + 12,016 + 12,016 = 58,064 <= 10,000,000) but
 * Σr = 1.004 Gbit/s: the 9,941,936-bit slack lasts 9,941,936 / 4e6 s
 * = 2,485,484,000 ns, so t = 10 ms + 2,485,484,000 + 1 = 2,495,484,001 ns;
 * supply there is 2,495,484,001 bits; demand = 58,064 + 1.004e9 ·
 * 2.485484001 = 2,495,484,001.004 -> 2,495,484,002. */
static void test_edf_seed000(void **state)
{
	const struct sched_flow f[] = {
		FLOW(2 * MBPS, 1502, 5 * MS, 1502),
		FLOW(2 * MBPS, 1502, 10 * MS, 1502),
		FLOW(1 * GBPS, 1502, 10 * MS, 1502),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 2, 1 * GBPS, 1502, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	assert_int_equal(sched_edf_admissible(f, 3, 1 * GBPS, 1502, &v), 0);
	assert_verdict(&v, false, 2495484001ull, 2495484002ull, 2495484001ull, true);
}

/* Magnitudes beyond 64 bits: 400 Gbit/s, 10 s (C·t = 4e21 nanobits).
 * Two flows (200 Gbit/s, 1 GB, 10 s) and one (1 Mbit/s, 1500 B, 10 s),
 * block 1500 B: demand(10 s) = 2·8e9 + 12,000 + 12,000 = 16,000,024,000 bits
 * <= 4e12, but Σr exceeds C by 1 Mbit/s. Slack 3,983,999,976,000 bits runs out
 * after 3,983,999,976,000,000 ns; t = 3,984,009,976,000,001 ns, supply
 * 1,593,603,990,400,000,400 bits, demand ...401 (computed exactly in
 * rationals). A saturated demand (a burst of 2^64 − 1 bytes) is refused with
 * demand_bits clamped to UINT64_MAX. */
static void test_edf_large(void **state)
{
	struct sched_flow f[] = {
		FLOW(200 * GBPS, 1000000000ull, 10000 * MS, 1500),
		FLOW(200 * GBPS, 1000000000ull, 10000 * MS, 1500),
		FLOW(1 * MBPS, 1500, 10000 * MS, 1500),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 2, 400 * GBPS, 1500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	assert_int_equal(sched_edf_admissible(f, 3, 400 * GBPS, 1500, &v), 0);
	assert_verdict(&v, false, 3984009976000001ull, 1593603990400000401ull,
		       1593603990400000400ull, true);
	f[0].burst_bytes = UINT64_MAX;
	f[1].burst_bytes = UINT64_MAX;
	assert_int_equal(sched_edf_admissible(f, 2, 400 * GBPS, 1500, &v), 0);
	assert_verdict(&v, false, 10000 * MS, UINT64_MAX, 4000000000000ull, false);
}

/* Exactness below one bit. Link 1 Gbit/s (one bit per ns), no blocking.
 * P = (0 bit/s, 1 B, 8 ns, max_pkt 0) alone: 8 bits due at 8 ns, supply 8:
 * admissible, with no slack. Q = (1 bit/s, 0 B, 1 ns, max_pkt 0) adds
 * 1 bit/s · 7 ns = 7 nanobits by 8 ns: refused, demand 8.000000007 bits
 * (shown as 9), supply 8. */
static void test_edf_sub_bit(void **state)
{
	const struct sched_flow f[] = {
		FLOW(0, 1, 8, 0),
		FLOW(1, 0, 1, 0),
	};
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 1, 1 * GBPS, 0, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
	assert_int_equal(sched_edf_admissible(f, 2, 1 * GBPS, 0, &v), 0);
	assert_verdict(&v, false, 8, 9, 8, false);
}

/* Sums past 2^128 nanobits saturate instead of wrapping. C = 2^64 − 1
 * bit/s; one flow (C, 0 B, 1 ns) and four (C, 0 B, 2^63 ns), then an empty
 * flow at D6 = 2^63 + 3·2^60 ns. Demand at 2^63 is C·(2^63 − 1), within
 * supply; from there to D6 the five rates add 5C·3·2^60 ≈ 0.94·2^128, which
 * fits on its own, but the sum ≈ 1.44·2^128 does not. Wrapped, it would read
 * 0.44·2^128, below the supply C·D6 ≈ 0.59·2^128; saturated, it is refused
 * at D6, both amounts clamped to UINT64_MAX bits. */
static void test_edf_saturation(void **state)
{
	const uint64_t C = UINT64_MAX, D6 = (1ull << 63) + (3ull << 60);
	const struct sched_flow f[] = {
		FLOW(C, 0, 1, 0),
		FLOW(C, 0, 1ull << 63, 0), FLOW(C, 0, 1ull << 63, 0),
		FLOW(C, 0, 1ull << 63, 0), FLOW(C, 0, 1ull << 63, 0),
		FLOW(0, 0, D6, 0),
	};
	struct sched_flow g[10];
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, ARRAY_LEN(f), C, 0, &v), 0);
	assert_verdict(&v, false, D6, UINT64_MAX, UINT64_MAX, true);
	/* A product past 2^128: nine flows (C, 0 B, 1 ns) and an empty one at
	 * 2^63 ns. 9C·(2^63 − 1) ≈ 2.25·2^128 would wrap to ≈ 0.25·2^128, below
	 * the supply C·2^63 ≈ 0.5·2^128; saturated, it is refused at 2^63. */
	for (int i = 0; i < 9; i++)
		g[i] = (struct sched_flow)FLOW(C, 0, 1, 0);
	g[9] = (struct sched_flow)FLOW(0, 0, 1ull << 63, 0);
	assert_int_equal(sched_edf_admissible(g, ARRAY_LEN(g), C, 0, &v), 0);
	assert_verdict(&v, false, 1ull << 63, UINT64_MAX, UINT64_MAX, true);
}

/* 2000 flows i = 0..1999: (1 Mbit/s, 1000 B, (i+1) ms), link 1 Gbit/s,
 * block 1500 B. At D_k = (k+1) ms:
 *   demand = 12,000 + 8,000(k+1) + 1,000·k(k+1)/2,  supply = 1e6·(k+1),
 * demand − supply = 12,000 + (k+1)(500k − 992,000): at k = 1983 that is
 * 12,000 − 1984·500 < 0, at k = 1984 it is 12,000 > 0. So the test fails at
 * 1985 ms: demand 12,000 + 15,880,000 + 1,969,120,000 = 1,985,012,000,
 * supply 1,985,000,000; Σr = 2 Gbit/s. Sorted, reversed and interleaved
 * orders (the O(n) and the O(n·k) walks) give the same verdict. */
static void test_edf_many_flows(void **state)
{
	static struct sched_flow f[2000];
	struct sched_edf_verdict v;

	(void)state;
	for (int order = 0; order < 3; order++) {
		for (size_t i = 0; i < ARRAY_LEN(f); i++) {
			size_t k = order == 0 ? i : order == 1 ? 1999 - i : (i * 7) % 2000;

			f[i] = (struct sched_flow)FLOW(1 * MBPS, 1000, (k + 1) * MS, 1000);
		}
		assert_int_equal(sched_edf_admissible(f, 2000, 1 * GBPS, 1500, &v), 0);
		assert_verdict(&v, false, 1985 * MS, 1985012000, 1985000000, true);
	}
}

static void test_edf_invalid(void **state)
{
	struct sched_flow f[] = { FLOW(1 * MBPS, 1500, 5 * MS, 1500) };
	struct sched_edf_verdict v;

	(void)state;
	assert_int_equal(sched_edf_admissible(f, 1, 0, 1500, &v), -EINVAL);
	assert_int_equal(sched_edf_admissible(f, 1, 10 * MBPS, 1500, NULL), -EINVAL);
	assert_int_equal(sched_edf_admissible(NULL, 1, 10 * MBPS, 1500, &v), -EINVAL);
	f[0].deadline_ns = 0;
	assert_int_equal(sched_edf_admissible(f, 1, 10 * MBPS, 1500, &v), -EINVAL);
	f[0].deadline_ns = 5 * MS;
	f[0].max_pkt_bytes = 1501;	/* burst smaller than a packet */
	assert_int_equal(sched_edf_admissible(f, 1, 10 * MBPS, 1500, &v), -EINVAL);
	/* No flows: nothing is due, whatever the block. */
	assert_int_equal(sched_edf_admissible(NULL, 0, 10 * MBPS, 1500, &v), 0);
	assert_verdict(&v, true, 0, 0, 0, false);
}

/* ------------------------------------------------------------------------- */
/* EDF test against a naive oracle                                           */

/* Demand in nanobits at interval length t, straight from the definition. */
static u128 ref_demand(const struct sched_flow *f, size_t n, uint64_t block, uint64_t t)
{
	u128 d = (u128)block * NBIT_PER_BYTE;

	for (size_t i = 0; i < n; i++)
		if (t >= f[i].deadline_ns)
			d += (u128)f[i].burst_bytes * NBIT_PER_BYTE +
			     (u128)f[i].rate_bps * (t - f[i].deadline_ns);
	return d;
}

/* Small sets: anything up to 40 Gbit/s and 10 s, half the deadlines on a
 * coarse grid so that equal deadlines are common. Large sets (n > 64): 150
 * possible deadlines, more than one batch of the unsorted walk, with rates
 * and bursts scaled so that all three outcomes still occur. */
static void random_flows(uint64_t *s, struct sched_flow *f, size_t n, uint64_t link)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t m = (uint32_t)rng_range(s, 64, 9000);

		if (n > 64) {
			f[i] = (struct sched_flow)FLOW(rng_range(s, 0, 2 * link / n),
						       rng_range(s, m, 2000000),
						       rng_range(s, 1, 150) * 10 * MS, m);
			continue;
		}
		f[i] = (struct sched_flow)FLOW(rng_range(s, 0, 40 * GBPS), rng_range(s, m, 2000000),
					       rng_next(s) % 2 ? rng_range(s, 1, 8) * MS
							   : rng_range(s, 1, 10000 * MS),
					       m);
	}
}

/* Checks v against the oracle: at a failing breakpoint, the smallest one;
 * in the long run, demand > supply at v->at_ns and not one ns earlier.
 * Returns which: 0 admissible, 1 a breakpoint, 2 the long run. */
static int check_against_oracle(const struct sched_flow *f, size_t n, uint64_t link,
				 uint32_t block_bytes, const struct sched_edf_verdict *v)
{
	uint64_t block = block_bytes, first_bad = UINT64_MAX;
	u128 sum_r = 0;

	for (size_t i = 0; i < n; i++) {
		block = f[i].max_pkt_bytes > block ? f[i].max_pkt_bytes : block;
		sum_r += f[i].rate_bps;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t = f[i].deadline_ns;

		if (ref_demand(f, n, block, t) > (u128)link * t && t < first_bad)
			first_bad = t;
	}
	assert_int_equal(v->rate_exceeded, sum_r > link);
	if (first_bad != UINT64_MAX) {
		u128 d = ref_demand(f, n, block, first_bad);

		assert_false(v->ok);
		assert_int_equal(v->at_ns, first_bad);
		assert_int_equal(v->demand_bits, (uint64_t)((d + SCHED_NS_PER_S - 1) / SCHED_NS_PER_S));
		assert_int_equal(v->supply_bits, (uint64_t)((u128)link * first_bad / SCHED_NS_PER_S));
		return 1;
	}
	if (sum_r > link) {
		assert_false(v->ok);
		assert_true(ref_demand(f, n, block, v->at_ns) > (u128)link * v->at_ns);
		assert_true(ref_demand(f, n, block, v->at_ns - 1) <= (u128)link * (v->at_ns - 1));
		return 2;
	}
	assert_true(v->ok);
	return 0;
}

static void test_edf_oracle(void **state)
{
	static struct sched_flow f[300], sorted[300];
	int outcomes[2][3] = { { 0 } };	/* small/large × ok, breakpoint, long run */
	uint64_t s = 42;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		bool large = round % 10 == 0;
		size_t n = (size_t)(large ? rng_range(&s, 65, 300) : rng_range(&s, 1, 12));
		uint64_t link = rng_range(&s, 1 * GBPS, large ? 20 * GBPS : 400 * GBPS);
		uint32_t block = (uint32_t)rng_range(&s, 0, 9000);
		struct sched_edf_verdict v, w;

		random_flows(&s, f, n, link);
		assert_int_equal(sched_edf_admissible(f, n, link, block, &v), 0);
		outcomes[large][check_against_oracle(f, n, link, block, &v)]++;

		/* insertion sort: the O(n) walk must agree with the batched one */
		memcpy(sorted, f, n * sizeof(*f));
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && sorted[j - 1].deadline_ns > sorted[j].deadline_ns; j--) {
				struct sched_flow tmp = sorted[j];

				sorted[j] = sorted[j - 1];
				sorted[j - 1] = tmp;
			}
		assert_int_equal(sched_edf_admissible(sorted, n, link, block, &w), 0);
		assert_verdict(&w, v.ok, v.at_ns, v.demand_bits, v.supply_bits, v.rate_exceeded);
	}
	/* the generator must reach all three outcomes, or the oracle proves little */
	print_message("edf oracle: small %d/%d/%d, large %d/%d/%d\n", outcomes[0][0], outcomes[0][1],
		      outcomes[0][2], outcomes[1][0], outcomes[1][1], outcomes[1][2]);
	for (int i = 0; i < 3; i++) {
		assert_true(outcomes[0][i] > 100);
		assert_true(outcomes[1][i] > 10);
	}
}

/* ------------------------------------------------------------------------- */
/* RFC 2212                                                                  */

/* T1: r = 1 Mbit/s, p = 10 Mbit/s, b = 10,000 B, M = 1000 B; Ctot = 500 B,
 * Dtot = 1 ms. (b−M) = 72,000 bits, (M+Ctot) = 12,000 bits.
 *   R = 1 M (= r): 72,000/1e6·(9/9) = 72 ms + 12 ms + 1 ms       = 85 ms
 *   R = 2 M: 72,000/2e6 = 36 ms · (8/9) = 32 ms, + 6 ms + 1 ms   = 39 ms
 *   R = 3 M: 24 ms·(7/9) = 18.6667 ms + 4 ms + 1 ms = 23,666,666.67 ns
 *            -> 23,666,667
 *   R = 10 M (= p): 0 + 1.2 ms + 1 ms = 2.2 ms (both branches agree)
 *   R = 12 M: 1 ms + 1 ms = 2 ms
 * Unlimited peak, factor 1:
 *   R = 2 M: 36 + 6 + 1 = 43 ms;  R = 7 M: 84,000/7e6 = 12 ms + 1 = 13 ms
 *   exactly (rounding the two terms apart would give 13,000,001).
 * p = r = 1 Mbit/s (constant rate): R = r >= p, 12 ms + 1 ms = 13 ms.
 * b = M: no burst term, R = 3 M: 4 ms + 1 ms = 5 ms.
 * T2, rounding on a sum with a fractional part hidden in the first term:
 * r = 1,000,000, p = 1,000,003, R = 1,000,001 bit/s, b = 42 B, M = 41 B,
 * Ctot = Dtot = 0: (8 bits·2/3 + 328 bits) / R = (1000/3) / 1,000,001 s =
 * 10^12 / 3,000,003 ns = 333,333.0000003 ns -> 333,334. (Truncating the 16/3
 * bits to whole nanobits first lands on exactly 333,333.) */
static const struct sched_tspec T1 = {
	.r_bps = 1 * MBPS, .p_bps = 10 * MBPS, .b_bytes = 10000, .M_bytes = 1000,
};

static const struct sched_tspec T2 = {
	.r_bps = 1000000, .p_bps = 1000003, .b_bytes = 42, .M_bytes = 41,
};

static void test_rfc2212_delay(void **state)
{
	struct sched_tspec unl = T1, cbr = T1, noburst = T1;
	static const struct {
		const struct sched_tspec *t;
		uint64_t R, delay;
	} *c, cases[] = {
		{ &T1, 1 * MBPS, 85 * MS },
		{ &T1, 2 * MBPS, 39 * MS },
		{ &T1, 3 * MBPS, 23666667 },
		{ &T1, 10 * MBPS, 2200 * US },
		{ &T1, 12 * MBPS, 2 * MS },
	};
	uint64_t d;

	(void)state;
	for (c = cases; c < cases + ARRAY_LEN(cases); c++) {
		assert_int_equal(sched_rfc2212_delay_ns(c->t, c->R, 500, 1 * MS, &d), 0);
		assert_int_equal(d, c->delay);
	}
	unl.p_bps = UINT64_MAX;
	assert_int_equal(sched_rfc2212_delay_ns(&unl, 2 * MBPS, 500, 1 * MS, &d), 0);
	assert_int_equal(d, 43 * MS);
	assert_int_equal(sched_rfc2212_delay_ns(&unl, 7 * MBPS, 500, 1 * MS, &d), 0);
	assert_int_equal(d, 13 * MS);
	cbr.p_bps = cbr.r_bps;
	assert_int_equal(sched_rfc2212_delay_ns(&cbr, 1 * MBPS, 500, 1 * MS, &d), 0);
	assert_int_equal(d, 13 * MS);
	noburst.b_bytes = noburst.M_bytes;
	assert_int_equal(sched_rfc2212_delay_ns(&noburst, 3 * MBPS, 500, 1 * MS, &d), 0);
	assert_int_equal(d, 5 * MS);
	assert_int_equal(sched_rfc2212_delay_ns(&T2, 1000001, 0, 0, &d), 0);
	assert_int_equal(d, 333334);
}

static void test_rfc2212_invalid(void **state)
{
	struct sched_tspec t = T1;
	uint64_t d = 7;

	(void)state;
	assert_int_equal(sched_rfc2212_delay_ns(&t, 1 * MBPS - 1, 500, 1 * MS, &d), -EINVAL);
	assert_int_equal(sched_rfc2212_delay_ns(NULL, 2 * MBPS, 500, 1 * MS, &d), -EINVAL);
	assert_int_equal(sched_rfc2212_delay_ns(&t, 2 * MBPS, 500, 1 * MS, NULL), -EINVAL);
	t.b_bytes = 999;	/* b < M */
	assert_int_equal(sched_rfc2212_delay_ns(&t, 2 * MBPS, 500, 1 * MS, &d), -EINVAL);
	t = T1;
	t.p_bps = t.r_bps - 1;	/* p < r */
	assert_int_equal(sched_rfc2212_delay_ns(&t, 2 * MBPS, 500, 1 * MS, &d), -EINVAL);
	t = T1;
	t.r_bps = 0;		/* R = 0 would divide by zero */
	assert_int_equal(sched_rfc2212_delay_ns(&t, 0, 500, 1 * MS, &d), -EINVAL);
	assert_int_equal(d, 7);	/* untouched on error */
}

/* min_rate on T1 (Ctot 500 B, Dtot 1 ms):
 *   39 ms -> 2 Mbit/s exactly (bound(2 M) = 39 ms, table above);
 *   2 ms -> 12 Mbit/s: needs R >= p, 12,000 bits/R = 1 ms;
 *   85 ms -> r itself;
 *   30 ms: 8,000·(10e6 − R)/1e6 + 12,000 = 0.029·R gives R = 92,000/0.037
 *          = 2,486,486.49, so 2,486,487 (bound 29,999,993 ns; at 2,486,486:
 *          30,000,008 ns).
 * -ERANGE: 1 ms (= Dtot, and (M+Ctot)/R > 0), a 1.5 Mbit/s ceiling for 39 ms,
 * and a ceiling below r. */
static void test_rfc2212_min_rate(void **state)
{
	static const struct {
		uint64_t deadline, max_R;
		int rc;
		uint64_t R;
	} *c, cases[] = {
		{ 39 * MS, 1 * GBPS, 0, 2 * MBPS },
		{ 2 * MS, 1 * GBPS, 0, 12 * MBPS },
		{ 85 * MS, 1 * GBPS, 0, 1 * MBPS },
		{ 30 * MS, 1 * GBPS, 0, 2486487 },
		{ 30 * MS, UINT64_MAX, 0, 2486487 },
		{ 1 * MS, UINT64_MAX, -ERANGE, 0 },
		{ 39 * MS, 1500000, -ERANGE, 0 },
		{ 39 * MS, 999999, -ERANGE, 0 },
	};
	uint64_t R, d_at, d_below;

	(void)state;
	for (c = cases; c < cases + ARRAY_LEN(cases); c++) {
		R = 0;
		assert_int_equal(sched_rfc2212_min_rate(&T1, 500, 1 * MS, c->deadline, c->max_R, &R),
				 c->rc);
		if (c->rc != 0)
			continue;
		assert_int_equal(R, c->R);
		/* bound(R) <= deadline < bound(R − 1), unless R is r */
		assert_int_equal(sched_rfc2212_delay_ns(&T1, R, 500, 1 * MS, &d_at), 0);
		assert_true(d_at <= c->deadline);
		if (R > T1.r_bps) {
			assert_int_equal(sched_rfc2212_delay_ns(&T1, R - 1, 500, 1 * MS, &d_below), 0);
			assert_true(d_below > c->deadline);
		}
	}
	assert_int_equal(sched_rfc2212_min_rate(NULL, 500, 1 * MS, 39 * MS, 1 * GBPS, &R), -EINVAL);
	assert_int_equal(sched_rfc2212_min_rate(&T1, 500, 1 * MS, 39 * MS, 1 * GBPS, NULL), -EINVAL);
}

/* The bound over one common denominator, small enough here for 128 bits:
 * D = ceil(((b−M)·(p−R) + (M+Ctot)·(p−r)) / (R·(p−r))) + Dtot for R < p. */
static uint64_t ref_rfc2212(const struct sched_tspec *t, uint64_t R, uint64_t ctot,
			    uint64_t dtot)
{
	u128 burst = (u128)(t->b_bytes - t->M_bytes) * NBIT_PER_BYTE;
	u128 pkt = ((u128)t->M_bytes + ctot) * NBIT_PER_BYTE;
	u128 num, den;

	if (t->p_bps == UINT64_MAX) {
		num = burst + pkt;
		den = R;
	} else if (R < t->p_bps) {
		num = burst * (t->p_bps - R) + pkt * (t->p_bps - t->r_bps);
		den = (u128)R * (t->p_bps - t->r_bps);
	} else {
		num = pkt;
		den = R;
	}
	return (uint64_t)((num + den - 1) / den) + dtot;
}

/* Against the one-denominator oracle; the bound is non-increasing in R
 * (what makes bisection valid); min_rate is minimal. Random tspecs. */
static void test_rfc2212_monotone(void **state)
{
	uint64_t s = 7;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct sched_tspec t = { .M_bytes = (uint32_t)rng_range(&s, 64, 9000) };
		uint64_t R, d1, d2, dl, Rmin;

		t.r_bps = rng_range(&s, 1, 10 * GBPS);
		t.p_bps = rng_next(&s) % 4 == 0 ? UINT64_MAX : rng_range(&s, t.r_bps, 100 * GBPS);
		t.b_bytes = rng_range(&s, t.M_bytes, 10000000);
		R = rng_range(&s, t.r_bps, 200 * GBPS - 1);
		assert_int_equal(sched_rfc2212_delay_ns(&t, R, 1500, 10 * US, &d1), 0);
		assert_int_equal(d1, ref_rfc2212(&t, R, 1500, 10 * US));
		assert_int_equal(sched_rfc2212_delay_ns(&t, R + 1, 1500, 10 * US, &d2), 0);
		assert_true(d2 <= d1);
		dl = d1;
		assert_int_equal(sched_rfc2212_min_rate(&t, 1500, 10 * US, dl, 200 * GBPS, &Rmin), 0);
		assert_true(Rmin <= R);
		if (Rmin > t.r_bps) {
			assert_int_equal(sched_rfc2212_delay_ns(&t, Rmin - 1, 1500, 10 * US, &d2), 0);
			assert_true(d2 > dl);
		}
	}
}

/* ------------------------------------------------------------------------- */
/* Headroom and the NRT rule                                                 */

static struct sched_headroom_pt pts_buf[SCHED_HEADROOM_MAX];

static void build(struct sched_headroom *hr, const struct sched_flow *f, size_t n,
		  uint64_t link)
{
	hr->pts = pts_buf;
	hr->cap = SCHED_HEADROOM_MAX;
	assert_int_equal(sched_headroom_build(hr, f, n, link), 0);
}

/* H on 10 Mbit/s (see test_edf_blocking): h(Δ) = C·Δ − dbf(Δ) is
 *   [0, 2 ms):   10,000 bits/ms · Δ
 *   [2, 6 ms):   8,000 + 9,000·(Δ − 2)    (rises to 44,000)
 *   [6, 10 ms):  4,000 + 8,000·(Δ − 6)    (rises to 36,000)
 *   [10 ms, ∞):  24,000 + 6,000·(Δ − 10)
 * so the dip at 6 ms (4,000) caps h_min everywhere before it, and the one at
 * 10 ms (24,000) caps it on [8.5 ms, 10 ms]. */
static void test_headroom_table(void **state)
{
	static const struct {
		uint64_t delta;
		int64_t bits;
	} *c, cases[] = {
		{ 0, 0 },
		{ 150, 1 },			/* 1.5 bits, rounded down */
		{ 200 * US, 2000 },
		{ 400 * US, 4000 },
		{ 1 * MS, 4000 },
		{ 2 * MS, 4000 },		/* h = 8,000, the 6-ms dip binds */
		{ 3 * MS, 4000 },
		{ 6 * MS, 4000 },
		{ 6 * MS + 150, 4001 },		/* 4,000 + 1.2 */
		{ 6500 * US, 8000 },		/* 4,000 + 8,000·0.5 */
		{ 7 * MS, 12000 },
		{ 8500 * US, 24000 },		/* h = 24,000 exactly */
		{ 9 * MS, 24000 },		/* h = 28,000, the 10-ms dip binds */
		{ 10 * MS, 24000 },
		{ 10 * MS + 1, 24000 },		/* + 0.006 */
		{ 12 * MS, 36000 },		/* 24,000 + 6,000·2 */
	};
	const struct sched_flow shuffled[] = { H[2], H[0], H[1] };
	struct sched_headroom hr;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		build(&hr, pass ? shuffled : H, 3, 10 * MBPS);
		assert_int_equal(hr.n, 3);
		assert_int_equal(hr.pts[0].at_ns, 2 * MS);
		assert_int_equal(hr.pts[0].h_bits, 8000);
		assert_int_equal(hr.pts[0].slope_bps, 9 * MBPS);
		assert_int_equal(hr.pts[1].h_bits, 4000);
		assert_int_equal(hr.pts[2].h_bits, 24000);
		assert_int_equal(hr.pts[2].slope_bps, 6 * MBPS);
		for (c = cases; c < cases + ARRAY_LEN(cases); c++)
			assert_int_equal(sched_headroom_bits(&hr, c->delta), c->bits);
	}
}

/* Seed 000 on 1 Gbit/s (one bit per ns): h(5 ms) = 5,000,000 − 12,016 =
 * 4,987,984 (slope after: 998 Mbit/s); h(10 ms) = 10,000,000 − 22,016 −
 * 12,016 = 9,965,968 (slope 996 Mbit/s).
 *   h_min(1 ms) = 1,000,000; h_min(4.99 ms) = 4,987,984 (not 4,990,000);
 *   h_min(7 ms) = 4,987,984 + 998,000·2 = 6,983,984;
 *   h_min(20 ms) = 9,965,968 + 996,000·10 = 19,925,968.
 * Rule: one 1502-B RT frame queued, a 1502-B NRT frame: L + B = 24,032 bits,
 * so the NRT frame may go iff the earliest deadline is >= 24,032 ns away. */
static void test_headroom_seed000(void **state)
{
	const struct sched_flow f[] = {
		FLOW(2 * MBPS, 1502, 5 * MS, 1502),
		FLOW(2 * MBPS, 1502, 10 * MS, 1502),
	};
	const uint64_t now = 5 * SCHED_NS_PER_S;
	struct sched_headroom hr;

	(void)state;
	build(&hr, f, 2, 1 * GBPS);
	assert_int_equal(sched_headroom_bits(&hr, 1 * MS), 1000000);
	assert_int_equal(sched_headroom_bits(&hr, 4990 * US), 4987984);
	assert_int_equal(sched_headroom_bits(&hr, 7 * MS), 6983984);
	assert_int_equal(sched_headroom_bits(&hr, 20 * MS), 19925968);
	assert_true(sched_nrt_may_send(&hr, now, now + 24032, 1502, 1502));
	assert_false(sched_nrt_may_send(&hr, now, now + 24031, 1502, 1502));
}

/* The rule on H, now = 1 ms:
 *   d_min 7 ms away: h_min = 12,000; 1000 B RT + 500 B NRT = 12,000: yes;
 *   1001 B RT: 12,008: no;
 *   d_min 3 ms away: h_min = 4,000 (the 6-ms dip): 1 + 499 B = 4,000 yes,
 *   1 + 500 B = 4,008 no;
 *   no RT queued: yes whatever d_min; a deadline now or past: no. */
static void test_nrt_rule(void **state)
{
	const uint64_t now = 1 * MS;
	struct sched_headroom hr;

	(void)state;
	build(&hr, H, 3, 10 * MBPS);
	assert_true(sched_nrt_may_send(&hr, now, now + 7 * MS, 1000, 500));
	assert_false(sched_nrt_may_send(&hr, now, now + 7 * MS, 1001, 500));
	assert_true(sched_nrt_may_send(&hr, now, now + 3 * MS, 1, 499));
	assert_false(sched_nrt_may_send(&hr, now, now + 3 * MS, 1, 500));
	assert_true(sched_nrt_may_send(&hr, now, 0, 0, 1500));
	assert_false(sched_nrt_may_send(&hr, now, now, 1, 1));
	assert_false(sched_nrt_may_send(&hr, now, now - 1, 1, 1));
	assert_false(sched_nrt_may_send(&hr, now, now + 7 * MS, UINT64_MAX, 1));
}

/* Σr = 11 > 10 Mbit/s: h falls without bound, so h_min is INT64_MIN
 * everywhere and the rule never lets NRT past queued RT. No flows: h = C·Δ. */
static void test_headroom_unbounded(void **state)
{
	const struct sched_flow f[] = {
		FLOW(6 * MBPS, 1500, 5 * MS, 1500),
		FLOW(5 * MBPS, 1500, 10 * MS, 1500),
	};
	struct sched_headroom hr;

	(void)state;
	build(&hr, f, 2, 10 * MBPS);
	assert_int_equal(sched_headroom_bits(&hr, 1 * MS), INT64_MIN);
	assert_int_equal(sched_headroom_bits(&hr, 7 * MS), INT64_MIN);
	assert_int_equal(sched_headroom_bits(&hr, 1000 * MS), INT64_MIN);
	assert_false(sched_nrt_may_send(&hr, 0, 1000 * MS, 1, 1));
	build(&hr, NULL, 0, 10 * MBPS);
	assert_int_equal(hr.n, 0);
	assert_int_equal(sched_headroom_bits(&hr, 1 * MS), 10000);
}

static void test_headroom_invalid(void **state)
{
	struct sched_headroom_pt two[2];
	struct sched_headroom hr = { .pts = two, .cap = 2 };
	struct sched_flow bad[] = { FLOW(1 * MBPS, 1500, 0, 1500) };

	(void)state;
	assert_int_equal(sched_headroom_build(&hr, H, 3, 10 * MBPS), -E2BIG);
	assert_int_equal(sched_headroom_build(&hr, H, 2, 0), -EINVAL);
	assert_int_equal(sched_headroom_build(&hr, bad, 1, 10 * MBPS), -EINVAL);
	assert_int_equal(sched_headroom_build(NULL, H, 2, 10 * MBPS), -EINVAL);
	hr.pts = NULL;
	assert_int_equal(sched_headroom_build(&hr, H, 2, 10 * MBPS), -EINVAL);
	/* three flows, two distinct deadlines: fits in two points */
	const struct sched_flow f[] = { H[0], H[1], H[0] };

	hr.pts = two;
	assert_int_equal(sched_headroom_build(&hr, f, 3, 10 * MBPS), 0);
	assert_int_equal(hr.n, 2);
	assert_int_equal(hr.pts[0].h_bits, 20000 - 24000);	/* two A bursts at 2 ms */
}

/* Exact h in nanobits (signed), from the definition. */
static __int128 ref_h(const struct sched_flow *f, size_t n, uint64_t link, uint64_t delta)
{
	return (__int128)((u128)link * delta) - (__int128)ref_demand(f, n, 0, delta);
}

static int64_t floor_bits(__int128 nbit)
{
	__int128 q = nbit / (__int128)SCHED_NS_PER_S;

	if (nbit % (__int128)SCHED_NS_PER_S < 0)
		q--;
	return (int64_t)q;
}

/* h_min against brute force: the minimum of h(Δ) and h at every later
 * breakpoint. The table may round down by at most one more bit. */
static void test_headroom_oracle(void **state)
{
	static struct sched_flow f[200];
	struct sched_headroom hr;
	uint64_t s = 99;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		/* every 100th set spans several batches of the unsorted walk */
		bool large = round % 100 == 0;
		size_t n = (size_t)(large ? rng_range(&s, 65, 200) : rng_range(&s, 1, 10));
		uint64_t link = rng_range(&s, 10 * MBPS, 10 * GBPS), sum_r = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t d = rng_range(&s, 1, large ? 150 : 20) * 250 * US;

			f[i] = (struct sched_flow)FLOW(rng_range(&s, 0, link / n), rng_range(&s, 1500, 100000),
						       d + rng_range(&s, 0, 1), 1500);
			sum_r += f[i].rate_bps;
		}
		build(&hr, f, n, link);
		for (int q = 0; q < 40; q++) {
			uint64_t delta = q < 20 ? rng_range(&s, 0, 40 * MS)
						: f[q % n].deadline_ns + rng_range(&s, 0, 2) - 1;
			__int128 m = ref_h(f, n, link, delta);
			int64_t want, got = sched_headroom_bits(&hr, delta);

			for (size_t i = 0; i < n; i++) {
				__int128 hi = ref_h(f, n, link, f[i].deadline_ns);

				if (f[i].deadline_ns > delta && hi < m)
					m = hi;
			}
			assert_true(sum_r <= link);	/* the generator keeps the tail bounded */
			want = floor_bits(m);
			assert_true(got <= want);
			assert_true(got >= want - 1);
		}
	}
}

/* ------------------------------------------------------------------------- */
/* Frame terms to wire terms (wire.c)                                        */

#define WIRE_O 28	/* rtvnet: the MPLS label (4) + SCHED_ETH_OVERHEAD_BYTES (24) */

/* By hand, o = 28:
 *   2 Mbit/s of 1500-B frames: 2e6·1528/1500 = 2,037,333.3 -> 2,037,334
 *   1 Mbit/s of 64-B frames: 1e6·92/64 = 1,437,500 exactly
 *   3000 B in 1500-B frames: 2 frames, 3000 + 56 = 3056; 3001 B: 3 frames, 3085
 *   a 64-B burst of 64-B frames: 92
 *   inverse of 2,037,334: ⌊2,037,333·1500/1528⌋ + 1 = ⌊1,999,999.67⌋ + 1
 *   = 2,000,000 (and 1,999,999 converts to ⌈2,037,332.3⌉ = 2,037,333, short)
 *   o = 0 changes nothing; a rate near 2^64 saturates. */
static void test_wire_hand(void **state)
{
	struct sched_flow f = FLOW(2 * MBPS, 3000, 5 * MS, 1500), w;

	(void)state;
	assert_int_equal(sched_wire_rate_bps(2 * MBPS, 1500, WIRE_O), 2037334);
	assert_int_equal(sched_wire_rate_bps(1 * MBPS, 64, WIRE_O), 1437500);
	assert_int_equal(sched_wire_rate_bps(2 * MBPS, 1500, 0), 2 * MBPS);
	assert_int_equal(sched_wire_rate_bps(UINT64_MAX, 64, WIRE_O), UINT64_MAX);
	assert_int_equal(sched_wire_rate_bps(0, 1500, WIRE_O), 0);
	assert_int_equal(sched_wire_burst_bytes(3000, 1500, WIRE_O), 3056);
	assert_int_equal(sched_wire_burst_bytes(3001, 1500, WIRE_O), 3085);
	assert_int_equal(sched_wire_burst_bytes(64, 64, WIRE_O), 92);
	assert_int_equal(sched_wire_burst_bytes(UINT64_MAX, 64, WIRE_O), UINT64_MAX);
	assert_int_equal(sched_frame_rate_bps(2037334, 1500, WIRE_O), 2 * MBPS);
	assert_int_equal(sched_frame_rate_bps(2037333, 1500, WIRE_O), 1999999);
	assert_int_equal(sched_frame_rate_bps(1437500, 64, WIRE_O), 1 * MBPS);
	assert_int_equal(sched_frame_rate_bps(0, 64, WIRE_O), 0);
	assert_int_equal(sched_frame_rate_bps(1, 64, WIRE_O), 1);
	w = sched_wire_flow(&f, WIRE_O);
	assert_int_equal(w.rate_bps, 2037334);
	assert_int_equal(w.burst_bytes, 3056);
	assert_int_equal(w.deadline_ns, 5 * MS);
	assert_int_equal(w.max_pkt_bytes, 1528);
	/* pkt 0 is taken as 1: no division by zero */
	assert_int_equal(sched_wire_rate_bps(1000, 0, WIRE_O), 29000);
}

/* The inverse against its definition on random inputs: frame(w) converts
 * back to >= w, and one bit/s less does not; converting there and back
 * never gains. */
static void test_wire_inverse(void **state)
{
	uint64_t s = 7;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint64_t w = rng_range(&s, 1, i % 2 ? 100 * GBPS : 5000);
		uint32_t L = (uint32_t)rng_range(&s, 1, 65535), o = (uint32_t)rng_range(&s, 0, 64);
		uint64_t x = sched_frame_rate_bps(w, L, o);

		assert_true(sched_wire_rate_bps(x, L, o) >= w);
		assert_true(x == 0 || sched_wire_rate_bps(x - 1, L, o) < w);
		assert_true(sched_frame_rate_bps(sched_wire_rate_bps(w, L, o), L, o) <= w);
	}
}

/* The envelope is what a wire-byte policer enforces. A stream that conforms
 * to (r, b) in L-byte frames — ⌊b/L⌋ frames at once, then one every 8L/r —
 * always fits the bucket (wire rate, wire burst) charging L + o per frame.
 * 64-byte frames at the same r frame bits/s do not: each pays 28 B on 64,
 * so over 1 s the bucket passes at most (B + W·1 s/8)/92 of them, fewer
 * than the 1,954 offered. r = 1 Mbit/s, b = 3000 B, L = 1500. */
static void test_wire_policer(void **state)
{
	uint64_t W = sched_wire_rate_bps(1 * MBPS, 1500, WIRE_O);
	uint64_t B = sched_wire_burst_bytes(3000, 1500, WIRE_O);
	uint64_t passed = 0, offered = 0, t;
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, W, B, 0);
	assert_true(sched_tb_take(&tb, 1500 + WIRE_O, 0));
	assert_true(sched_tb_take(&tb, 1500 + WIRE_O, 0));
	for (uint64_t k = 1; k <= 1000; k++) {
		t = (k * 1500 * 8 * SCHED_NS_PER_S + MBPS - 1) / MBPS;
		if (!sched_tb_take(&tb, 1500 + WIRE_O, t))
			fail_msg("conforming 1500-B frame %llu policed", (unsigned long long)k);
	}
	sched_tb_init(&tb, W, B, 0);
	for (t = 0; t <= SCHED_NS_PER_S; t += 64 * 8 * SCHED_NS_PER_S / MBPS) {
		offered++;
		passed += sched_tb_take(&tb, 64 + WIRE_O, t);
	}
	assert_int_equal(offered, 1954);	/* t = 0, 512 µs, ..., 999.936 ms */
	assert_true(passed <= (B + W / 8) / (64 + WIRE_O));
	assert_true(passed < offered);
}

/* ------------------------------------------------------------------------- */
/* Escalation                                                                */

/* D = 10 ms: levels 0..4 give 10, 5, 2.5, 1.25, 0.625 ms; levels above 4
 * count as 4; a 1-ms floor stops level 4 at 1 ms; a floor above D never
 * makes the deadline later; 3 ns >> 1 = 1 ns (floor division). */
static void test_escalate_deadline(void **state)
{
	static const struct {
		uint64_t d;
		unsigned level;
		uint64_t floor, want;
	} *c, cases[] = {
		{ 10 * MS, 0, 0, 10 * MS },
		{ 10 * MS, 1, 0, 5 * MS },
		{ 10 * MS, 2, 0, 2500 * US },
		{ 10 * MS, 3, 0, 1250 * US },
		{ 10 * MS, 4, 0, 625 * US },
		{ 10 * MS, 9, 0, 625 * US },
		{ 10 * MS, 64, 0, 625 * US },
		{ 10 * MS, 4, 1 * MS, 1 * MS },
		{ 10 * MS, 1, 1 * MS, 5 * MS },
		{ 500 * US, 0, 1 * MS, 500 * US },
		{ 3, 1, 0, 1 },
		{ UINT64_MAX, 4, 0, UINT64_MAX >> 4 },
	};

	(void)state;
	for (c = cases; c < cases + ARRAY_LEN(cases); c++)
		assert_int_equal(sched_escalate_deadline_ns(c->d, c->level, c->floor), c->want);
}

/* R = 10 Mbit/s: levels 0..4 give 10, 15, 20, 25, 30 Mbit/s (R + R·L/2);
 * a 22-Mbit/s cap holds level 3 at 22; R = 3, L = 1: 3 + 1 (1.5 rounded
 * down); no overflow near 2^64 (2^63·1.5 fits, UINT64_MAX·3 saturates at the
 * cap); a cap below R never lowers R. */
static void test_escalate_rate(void **state)
{
	static const struct {
		uint64_t r;
		unsigned level;
		uint64_t cap, want;
	} *c, cases[] = {
		{ 10 * MBPS, 0, 1 * GBPS, 10 * MBPS },
		{ 10 * MBPS, 1, 1 * GBPS, 15 * MBPS },
		{ 10 * MBPS, 2, 1 * GBPS, 20 * MBPS },
		{ 10 * MBPS, 3, 1 * GBPS, 25 * MBPS },
		{ 10 * MBPS, 4, 1 * GBPS, 30 * MBPS },
		{ 10 * MBPS, 7, 1 * GBPS, 30 * MBPS },
		{ 10 * MBPS, 3, 22 * MBPS, 22 * MBPS },
		{ 3, 1, 1 * GBPS, 4 },
		{ 1ull << 63, 1, UINT64_MAX, (1ull << 63) + (1ull << 62) },
		{ UINT64_MAX, 4, UINT64_MAX, UINT64_MAX },
		{ 10 * MBPS, 2, 5 * MBPS, 10 * MBPS },
	};

	(void)state;
	for (c = cases; c < cases + ARRAY_LEN(cases); c++)
		assert_int_equal(sched_escalate_rate_bps(c->r, c->level, c->cap), c->want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edf_two_flows),
		cmocka_unit_test(test_edf_add_until_refusal),
		cmocka_unit_test(test_edf_refusal_at_later_deadline),
		cmocka_unit_test(test_edf_rate_exceeded),
		cmocka_unit_test(test_edf_equal_deadlines),
		cmocka_unit_test(test_edf_burst_dominated),
		cmocka_unit_test(test_edf_blocking),
		cmocka_unit_test(test_edf_seed000),
		cmocka_unit_test(test_edf_large),
		cmocka_unit_test(test_edf_sub_bit),
		cmocka_unit_test(test_edf_saturation),
		cmocka_unit_test(test_edf_many_flows),
		cmocka_unit_test(test_edf_invalid),
		cmocka_unit_test(test_edf_oracle),
		cmocka_unit_test(test_rfc2212_delay),
		cmocka_unit_test(test_rfc2212_invalid),
		cmocka_unit_test(test_rfc2212_min_rate),
		cmocka_unit_test(test_rfc2212_monotone),
		cmocka_unit_test(test_headroom_table),
		cmocka_unit_test(test_headroom_seed000),
		cmocka_unit_test(test_nrt_rule),
		cmocka_unit_test(test_headroom_unbounded),
		cmocka_unit_test(test_headroom_invalid),
		cmocka_unit_test(test_headroom_oracle),
		cmocka_unit_test(test_wire_hand),
		cmocka_unit_test(test_wire_inverse),
		cmocka_unit_test(test_wire_policer),
		cmocka_unit_test(test_escalate_deadline),
		cmocka_unit_test(test_escalate_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
