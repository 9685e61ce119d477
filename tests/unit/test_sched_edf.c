/* test_sched_edf.c — the EDF queue (sched/edf.c).
 *
 * Oracles: hand-worked tables for the window rules; a linear-scan reference
 * of the documented order, (deadline / bucket_ns, enqueue order), under
 * random interleavings of late, in-window and far deadlines; and a
 * differential run against bench/heap_edf (exact deadlines) on deadlines that
 * are multiples of bucket_ns, where both orders must agree packet for packet.
 * Some tests also read the private fields wheel_len/early/far to check that
 * packets took the path the design says (window vs. slow path).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/heap_edf.h"
#include "sched/sched.h"

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

static void edf_setup(struct sched_edf *q, uint64_t bucket_ns, unsigned log2)
{
	struct sched_edf_config cfg = { .bucket_ns = bucket_ns, .buckets_log2 = log2 };

	assert_int_equal(sched_edf_init(q, &cfg), 0);
}

static void pkt_set(struct sched_pkt *p, uint64_t deadline_ns, uint32_t len_bytes)
{
	memset(p, 0, sizeof(*p));
	p->deadline_ns = deadline_ns;
	p->len_bytes = len_bytes;
}

/* --- configuration and lifecycle ------------------------------------------ */

static void test_init_bad_config(void **state)
{
	static const struct sched_edf_config bad[] = {
		{ .bucket_ns = 0, .buckets_log2 = 16 },
		{ .bucket_ns = 1000, .buckets_log2 = 0 },
		{ .bucket_ns = 1000, .buckets_log2 = 5 },
		{ .bucket_ns = 1000, .buckets_log2 = 25 },
		{ .bucket_ns = 1000, .buckets_log2 = 64 },
	};
	struct sched_edf q, before;

	(void)state;
	memset(&q, 0x5a, sizeof(q));
	before = q;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sched_edf_init(&q, &bad[i]), -EINVAL);
		assert_memory_equal(&q, &before, sizeof(q));	/* untouched */
	}
	assert_int_equal(sched_edf_init(&q, NULL), -EINVAL);
	assert_int_equal(sched_edf_init(NULL, &bad[0]), -EINVAL);
}

static void test_empty(void **state)
{
	struct sched_edf q;
	struct sched_pkt p;

	(void)state;
	edf_setup(&q, 1000, 6);
	assert_null(sched_edf_peek(&q));
	assert_null(sched_edf_dequeue(&q));
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);

	pkt_set(&p, 5000, 100);
	sched_edf_enqueue(&q, &p);
	assert_ptr_equal(sched_edf_peek(&q), &p);
	assert_ptr_equal(sched_edf_dequeue(&q), &p);
	assert_null(sched_edf_peek(&q));
	assert_null(sched_edf_dequeue(&q));
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);
	sched_edf_close(&q);
}

static void test_close_and_reinit(void **state)
{
	struct sched_edf q;
	struct sched_pkt p[3];

	(void)state;
	for (int round = 0; round < 3; round++) {
		edf_setup(&q, 1, 6 + (unsigned)round * 6);
		for (int i = 0; i < 3; i++) {
			pkt_set(&p[i], (uint64_t)(i * 1000), 1);
			sched_edf_enqueue(&q, &p[i]);
		}
		while (sched_edf_dequeue(&q))
			;
		sched_edf_close(&q);
		assert_null(q.buckets);
		assert_null(q.bitmap);
	}
}

/* --- table-driven ordering ----------------------------------------------- */

#define CASE_MAX 8

struct order_case {
	const char *name;
	uint64_t bucket_ns;
	unsigned log2;
	size_t n;
	uint64_t deadline_ns[CASE_MAX];
	size_t order[CASE_MAX];	/* expected dequeue order, as input indexes */
	uint64_t wheel_len;	/* packets in the wheel after all enqueues */
};

/* Worked by hand from the rules in edf.c: with N = 64 buckets of 1 ns, the
 * first packet anchors the window [k, k+64); a key >= base+64 goes far; a key
 * below base joins the wheel iff max key - key < 64, else goes early. */
static const struct order_case order_cases[] = {
	{ "reverse in window", 1, 6, 5, { 5, 4, 3, 2, 1 }, { 4, 3, 2, 1, 0 }, 5 },
	{ "equal deadlines FIFO", 1, 6, 4, { 7, 7, 7, 7 }, { 0, 1, 2, 3 }, 4 },
	{ "one bucket is FIFO", 1000, 6, 4, { 1999, 1000, 1500, 2000 },
	  { 0, 1, 2, 3 }, 4 },
	{ "far beyond window", 1, 6, 5, { 0, 1000, 64, 63, 500 },
	  { 0, 3, 2, 4, 1 }, 2 },
	{ "late packets", 1, 6, 5, { 100, 160, 30, 99, 20 }, { 4, 2, 3, 0, 1 }, 3 },
	{ "same slot, other lap", 1, 6, 4, { 10, 74, 138, 10 }, { 0, 3, 1, 2 }, 2 },
	{ "window wraps the ring", 1, 6, 4, { 60, 70, 123, 61 }, { 0, 3, 1, 2 }, 4 },
	{ "extreme deadlines", 1, 6, 3, { UINT64_MAX, 0, UINT64_MAX - 1 },
	  { 1, 2, 0 }, 2 },
	{ "both edges of the window", 1000, 7, 6,
	  { 5000, 200000, 6000, 128000, 133000, 132999 }, { 0, 2, 3, 5, 4, 1 }, 4 },
};

static void test_order_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(order_cases) / sizeof(order_cases[0]); c++) {
		const struct order_case *t = &order_cases[c];
		struct sched_pkt p[CASE_MAX];
		struct sched_edf q;

		print_message("case: %s\n", t->name);
		edf_setup(&q, t->bucket_ns, t->log2);
		for (size_t i = 0; i < t->n; i++) {
			pkt_set(&p[i], t->deadline_ns[i], 100 + (uint32_t)i);
			sched_edf_enqueue(&q, &p[i]);
		}
		assert_int_equal(q.wheel_len, t->wheel_len);
		for (size_t i = 0; i < t->n; i++) {
			assert_ptr_equal(sched_edf_peek(&q), &p[t->order[i]]);
			assert_ptr_equal(sched_edf_dequeue(&q), &p[t->order[i]]);
		}
		assert_null(sched_edf_dequeue(&q));
		sched_edf_close(&q);
	}
}

/* Bucket edges are exact for any width and any deadline up to UINT64_MAX:
 * k*d - 1 belongs to bucket k-1 and goes first; k*d and the last deadline of
 * bucket k share bucket k and leave in arrival order. */
static void test_bucket_edges(void **state)
{
	static const uint64_t widths[] = { 1, 2, 3, 7, 1000, 1024, 641, 999999937,
					   (1ull << 63) - 1, (1ull << 63) + 1, UINT64_MAX };
	struct sched_pkt a, b, c;
	struct sched_edf q;

	(void)state;
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		uint64_t d = widths[i], top = UINT64_MAX / d;
		uint64_t ks[] = { 1, 2, 1000003, top / 2, top - 1, top };

		for (size_t j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
			uint64_t k = ks[j];

			if (k < 1 || k > top)
				continue;
			edf_setup(&q, d, 6);
			pkt_set(&a, k * d, 1);
			pkt_set(&b, k * d - 1, 1);
			pkt_set(&c, k * d + (d - 1 < UINT64_MAX - k * d ? d - 1 : UINT64_MAX - k * d), 1);
			sched_edf_enqueue(&q, &a);
			sched_edf_enqueue(&q, &c);
			sched_edf_enqueue(&q, &b);
			assert_ptr_equal(sched_edf_dequeue(&q), &b);
			assert_ptr_equal(sched_edf_dequeue(&q), &a);
			assert_ptr_equal(sched_edf_dequeue(&q), &c);
			sched_edf_close(&q);
		}
	}
}

/* Equal keys split between the far heap and the wheel still leave FIFO. */
static void test_fifo_across_structures(void **state)
{
	struct sched_pkt a, b, c, d;
	struct sched_edf q;

	(void)state;
	edf_setup(&q, 1, 6);
	pkt_set(&a, 0, 1);
	pkt_set(&b, 100, 1);
	pkt_set(&c, 100, 1);
	pkt_set(&d, 100, 1);
	sched_edf_enqueue(&q, &a);
	sched_edf_enqueue(&q, &b);	/* 100 >= 0 + 64: far */
	assert_ptr_equal(q.far, &b);
	assert_ptr_equal(sched_edf_dequeue(&q), &a);
	sched_edf_enqueue(&q, &c);	/* wheel empty: re-anchored at 100 */
	sched_edf_enqueue(&q, &d);
	assert_int_equal(q.wheel_len, 2);
	assert_ptr_equal(sched_edf_dequeue(&q), &b);
	assert_ptr_equal(sched_edf_dequeue(&q), &c);
	assert_ptr_equal(sched_edf_dequeue(&q), &d);
	assert_null(sched_edf_dequeue(&q));
	sched_edf_close(&q);
}

/* An empty wheel takes the next packet wherever its deadline is, forward or
 * backward, even while the slow paths hold packets. */
static void test_reanchor(void **state)
{
	static const uint64_t at_ns[] = { 1000000000, 1000000000000000, 5, 5 + 64,
					  UINT64_MAX / 2 };
	struct sched_pkt p[5], f;
	struct sched_edf q;

	(void)state;
	edf_setup(&q, 1, 6);
	for (size_t i = 0; i < 5; i++) {
		pkt_set(&p[i], at_ns[i], 10);
		sched_edf_enqueue(&q, &p[i]);
		assert_int_equal(q.wheel_len, 1);
		assert_null(q.early);
		assert_null(q.far);
		assert_ptr_equal(sched_edf_dequeue(&q), &p[i]);
	}
	/* a far packet outlives the window that refused it */
	pkt_set(&p[0], 1000, 1);
	pkt_set(&f, 5000, 1);
	sched_edf_enqueue(&q, &p[0]);
	sched_edf_enqueue(&q, &f);
	assert_ptr_equal(q.far, &f);
	assert_ptr_equal(sched_edf_dequeue(&q), &p[0]);
	pkt_set(&p[1], 4990, 1);	/* re-anchors below the far packet */
	pkt_set(&p[2], 5010, 1);
	sched_edf_enqueue(&q, &p[1]);
	sched_edf_enqueue(&q, &p[2]);
	assert_int_equal(q.wheel_len, 2);
	assert_ptr_equal(sched_edf_dequeue(&q), &p[1]);
	assert_ptr_equal(sched_edf_dequeue(&q), &f);
	assert_ptr_equal(sched_edf_dequeue(&q), &p[2]);
	assert_null(sched_edf_dequeue(&q));
	sched_edf_close(&q);
}

/* --- accounting ----------------------------------------------------------- */

static void test_len_bytes(void **state)
{
	/* in window, far, late, in window: every path counts */
	static const uint64_t at_ns[] = { 100, 100000, 10, 150, 100, 99999 };
	static const uint32_t len[] = { 64, 1500, 9000, 1, 0, 4000000000u };
	struct sched_pkt p[6], *out;
	uint64_t want_bytes = 0;
	struct sched_edf q;

	(void)state;
	edf_setup(&q, 1, 6);
	for (size_t i = 0; i < 6; i++) {
		pkt_set(&p[i], at_ns[i], len[i]);
		sched_edf_enqueue(&q, &p[i]);
		want_bytes += len[i];
		assert_int_equal(q.len, i + 1);
		assert_int_equal(q.bytes, want_bytes);
	}
	assert_non_null(q.far);
	assert_non_null(q.early);
	for (size_t i = 6; i > 0; i--) {
		out = sched_edf_dequeue(&q);
		assert_non_null(out);
		want_bytes -= out->len_bytes;
		assert_int_equal(q.len, i - 1);
		assert_int_equal(q.bytes, want_bytes);
	}
	assert_int_equal(q.bytes, 0);
	sched_edf_close(&q);
}

/* --- random interleavings against a linear-scan reference -------------------- */

#define REF_MAX 2048

struct ref {
	struct sched_pkt *pkt[REF_MAX];
	uint64_t order[REF_MAX];	/* enqueue count when queued */
	size_t n;
	uint64_t enq;
	uint64_t bytes;
};

static void ref_add(struct ref *r, struct sched_pkt *p)
{
	r->pkt[r->n] = p;
	r->order[r->n] = r->enq++;
	r->n++;
	r->bytes += p->len_bytes;
}

/* Removes and returns the least (deadline / bucket_ns, enqueue order). */
static struct sched_pkt *ref_pop(struct ref *r, uint64_t bucket_ns)
{
	size_t best = 0;
	struct sched_pkt *p;

	if (!r->n)
		return NULL;
	for (size_t i = 1; i < r->n; i++) {
		uint64_t ki = r->pkt[i]->deadline_ns / bucket_ns;
		uint64_t kb = r->pkt[best]->deadline_ns / bucket_ns;

		if (ki < kb || (ki == kb && r->order[i] < r->order[best]))
			best = i;
	}
	p = r->pkt[best];
	r->n--;
	r->pkt[best] = r->pkt[r->n];
	r->order[best] = r->order[r->n];
	r->bytes -= p->len_bytes;
	return p;
}

struct mix_case {
	uint64_t bucket_ns;
	unsigned log2;
	unsigned late_pct, far_pct;	/* the rest falls in one window */
	unsigned enq_pct;		/* chance a step enqueues */
};

/* Deadlines relative to a clock that follows the dequeued deadlines: late
 * ones up to 3 windows back, in-window ones, far ones up to 10 windows
 * ahead (these also hit slots of later laps), some exact duplicates. */
static uint64_t mix_deadline(uint64_t *rng, const struct mix_case *m, uint64_t now_ns,
			     uint64_t last_ns)
{
	uint64_t win_ns = m->bucket_ns << m->log2;
	unsigned r = (unsigned)rng_below(rng, 100);

	if (r < 5)
		return last_ns;
	if (r < 5 + m->late_pct)
		return now_ns - rng_below(rng, 3 * win_ns);
	if (r < 5 + m->late_pct + m->far_pct)
		return now_ns + win_ns + rng_below(rng, 10 * win_ns);
	return now_ns + rng_below(rng, win_ns);
}

static void run_mix(const struct mix_case *m, uint64_t seed, size_t steps)
{
	static struct sched_pkt pool[REF_MAX];
	struct sched_pkt *free_list[REF_MAX], *p, *want;
	uint64_t rng = seed, now_ns = 1ull << 40, last_ns = now_ns;
	size_t n_free = REF_MAX;
	struct ref r = { 0 };
	struct sched_edf q;

	edf_setup(&q, m->bucket_ns, m->log2);
	for (size_t i = 0; i < REF_MAX; i++)
		free_list[i] = &pool[i];
	for (size_t s = 0; s < steps; s++) {
		bool enq = n_free && (!r.n || rng_below(&rng, 100) < m->enq_pct);

		if (enq) {
			p = free_list[--n_free];
			last_ns = mix_deadline(&rng, m, now_ns, last_ns);
			pkt_set(p, last_ns, (uint32_t)rng_below(&rng, 1500));
			sched_edf_enqueue(&q, p);
			ref_add(&r, p);
		} else {
			want = ref_pop(&r, m->bucket_ns);
			assert_ptr_equal(sched_edf_peek(&q), want);
			p = sched_edf_dequeue(&q);
			assert_ptr_equal(p, want);
			if (p->deadline_ns > now_ns)
				now_ns = p->deadline_ns;
			free_list[n_free++] = p;
		}
		assert_int_equal(q.len, r.n);
		assert_int_equal(q.bytes, r.bytes);
	}
	while ((want = ref_pop(&r, m->bucket_ns)))
		assert_ptr_equal(sched_edf_dequeue(&q), want);
	assert_null(sched_edf_dequeue(&q));
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);
	sched_edf_close(&q);
}

static void test_reference_mix(void **state)
{
	static const struct mix_case cases[] = {
		{ 1000, 6, 15, 15, 55 },	/* one bitmap level, many slow paths */
		{ 1000, 8, 5, 5, 50 },
		{ 7, 13, 10, 10, 60 },		/* three levels, odd bucket width */
		{ 1, 12, 0, 0, 52 },		/* window only */
		{ 1000, 7, 40, 40, 50 },	/* mostly slow paths */
		{ 1024, 10, 10, 10, 50 },	/* power-of-two width: a shift */
		{ 999999937, 6, 10, 10, 50 },	/* a second per bucket */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_mix(&cases[i], 0x5eed0000 + i, 40000);
}

/* Every bitmap depth, 1 to 4 levels, with sparse keys that make the
 * find-next search climb and descend levels and wrap the ring. */
static void test_all_depths(void **state)
{
	static const unsigned log2s[] = { 6, 7, 11, 12, 13, 18, 19, 24 };

	(void)state;
	for (size_t i = 0; i < sizeof(log2s) / sizeof(log2s[0]); i++) {
		struct mix_case m = { 1, log2s[i], 10, 5, 55 };

		run_mix(&m, 0xd00d + i, 6000);
	}
}

/* --- long runs against bench/heap_edf -------------------------------------- */

/* Hold model: n packets; each step dequeues the earliest from both queues
 * (they must agree), advances the clock to its deadline (never back) and
 * re-queues it d ahead, d a multiple of bucket_ns drawn up to span buckets (span > N
 * exercises the far heap) or, with late_pct, behind now. The clock crosses
 * the wheel's window thousands of times. */
static void run_hold(uint64_t bucket_ns, unsigned log2, size_t n, uint64_t span,
		     unsigned late_pct, size_t steps, uint64_t seed)
{
	struct sched_pkt *pool = calloc(n, sizeof(*pool)), *a, *b;
	uint64_t rng = seed, now_ns = bucket_ns * 1000000;
	struct heap_edf h;
	struct sched_edf q;

	assert_non_null(pool);
	edf_setup(&q, bucket_ns, log2);
	assert_int_equal(heap_edf_init(&h, n), 0);
	for (size_t i = 0; i < n; i++) {
		pkt_set(&pool[i], now_ns + bucket_ns * rng_below(&rng, span), 1);
		sched_edf_enqueue(&q, &pool[i]);
		assert_int_equal(heap_edf_enqueue(&h, &pool[i]), 0);
	}
	for (size_t s = 0; s < steps; s++) {
		a = sched_edf_dequeue(&q);
		b = heap_edf_dequeue(&h);
		assert_non_null(a);
		assert_ptr_equal(a, b);
		if (a->deadline_ns > now_ns)
			now_ns = a->deadline_ns;
		if (rng_below(&rng, 100) < late_pct)
			a->deadline_ns = now_ns - bucket_ns * rng_below(&rng, span);
		else
			a->deadline_ns = now_ns + bucket_ns * rng_below(&rng, span);
		a->len_bytes = (uint32_t)rng_below(&rng, 2000);
		sched_edf_enqueue(&q, a);
		assert_int_equal(heap_edf_enqueue(&h, a), 0);
		assert_int_equal(q.len, h.len);
		assert_int_equal(q.bytes, h.bytes);
	}
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(sched_edf_dequeue(&q), heap_edf_dequeue(&h));
	assert_null(sched_edf_dequeue(&q));
	heap_edf_close(&h);
	sched_edf_close(&q);
	free(pool);
}

static void test_wraparound_long_run(void **state)
{
	(void)state;
	/* 64-bucket ring, deadlines within the window: ~ 6000 laps, wheel only */
	run_hold(1, 6, 64, 60, 0, 200000, 1);
	/* window narrower than the deadline spread: far heap in steady use */
	run_hold(1000, 6, 200, 300, 0, 200000, 2);
}

static void test_differential_heap(void **state)
{
	(void)state;
	/* late re-queues (deadline behind now) exercise the early heap */
	run_hold(1000, 8, 500, 400, 10, 200000, 3);
	run_hold(1000, 16, 5000, 50000, 5, 100000, 4);
	/* heavy duplicates: 5000 packets over 20 keys */
	run_hold(1, 6, 5000, 20, 3, 100000, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bad_config),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_close_and_reinit),
		cmocka_unit_test(test_order_table),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_fifo_across_structures),
		cmocka_unit_test(test_reanchor),
		cmocka_unit_test(test_len_bytes),
		cmocka_unit_test(test_reference_mix),
		cmocka_unit_test(test_all_depths),
		cmocka_unit_test(test_wraparound_long_run),
		cmocka_unit_test(test_differential_heap),
	};

	return cmocka_run_group_tests_name("sched_edf", tests, NULL, NULL);
}
