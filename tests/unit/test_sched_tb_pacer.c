/* test_sched_tb_pacer.c — token bucket (sched/tb.c), pacer (sched/pacer.c)
 * and FIFO (sched/fifo.c). All times are simulated: the expected values are
 * worked out by hand in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "sched/sched.h"

#define MS 1000000ull

/* ---- token bucket -------------------------------------------------------- */

/* 8000 bit/s = 1000 bytes/s, burst 1500 bytes; starts full at t = 0. */
static void test_tb_sequence(void **state)
{
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, 8000, 1500, 0);
	assert_true(sched_tb_take(&tb, 1000, 0));	/* 500 left */
	assert_false(sched_tb_take(&tb, 600, 0));	/* does not take */
	assert_true(sched_tb_take(&tb, 500, 0));	/* 0 left */
	assert_false(sched_tb_take(&tb, 1, 0));

	/* 0.5 s later: 500 bytes. */
	assert_false(sched_tb_take(&tb, 501, 500 * MS));
	assert_int_equal(sched_tb_wait_ns(&tb, 501, 500 * MS), 1 * MS);	/* 1 byte = 1 ms */
	assert_int_equal(sched_tb_wait_ns(&tb, 500, 500 * MS), 0);
	assert_true(sched_tb_take(&tb, 500, 500 * MS));

	/* 999,999 ns earn 999,999 × 8000 bit·ns/s = one byte minus 8000 units:
	 * exactly 1 ns short. */
	assert_int_equal(sched_tb_wait_ns(&tb, 1, 501 * MS - 1), 1);
	assert_false(sched_tb_take(&tb, 1, 501 * MS - 1));
	assert_true(sched_tb_take(&tb, 1, 501 * MS));

	/* A long pause refills only to the burst. */
	assert_true(sched_tb_take(&tb, 1500, 10000 * MS));
	assert_false(sched_tb_take(&tb, 1, 10000 * MS));
}

/* wait_ns is exact where the rate does not divide: at 3 bit/s one byte takes
 * 8/3 s, so 2,666,666,667 ns (rounded up), and not one ns less. */
static void test_tb_wait_exact(void **state)
{
	uint64_t t0 = 12345, wait;
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, 3, 10, t0);
	assert_true(sched_tb_take(&tb, 10, t0));
	wait = sched_tb_wait_ns(&tb, 1, t0);
	assert_int_equal(wait, 2666666667ull);
	assert_int_equal(sched_tb_wait_ns(&tb, 1, t0 + wait), 0);
	assert_int_equal(sched_tb_wait_ns(&tb, 1, t0 + wait - 1), 1);
	/* wait_ns does not take: asking twice gives the same answer. */
	assert_int_equal(sched_tb_wait_ns(&tb, 1, t0), wait);
	assert_false(sched_tb_take(&tb, 1, t0 + wait - 1));
	assert_true(sched_tb_take(&tb, 1, t0 + wait));
	/* The rounding was not lost: taking at t0 + wait left 3·wait − 8e9 = 1
	 * unit. 6 s later that is 1 + 18e9 units; one byte (8e9) leaves
	 * 10,000,000,001, and three bytes (24e9) need 13,999,999,999 more:
	 * 4,666,666,666.33 ns, so 4,666,666,667. */
	assert_true(sched_tb_take(&tb, 1, t0 + wait + 6000 * MS));
	assert_false(sched_tb_take(&tb, 3, t0 + wait + 6000 * MS));
	assert_int_equal(sched_tb_wait_ns(&tb, 3, t0 + wait + 6000 * MS), 4666666667ull);
}

/* Idle for (almost) the whole 64-bit clock at 100 Gbit/s: rate × elapsed
 * would be about 1.8e30, far past 64 bits. The bucket must come back full,
 * not wrapped to some small or huge value. */
static void test_tb_long_idle(void **state)
{
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, 100000000000ull, 1000000, 0);
	assert_true(sched_tb_take(&tb, 1000000, 0));
	assert_int_equal(sched_tb_wait_ns(&tb, 1000000, UINT64_MAX - 1), 0);
	assert_true(sched_tb_take(&tb, 1000000, UINT64_MAX - 1));
	assert_false(sched_tb_take(&tb, 1, UINT64_MAX - 1));
	/* 1 byte at 100 Gbit/s: 0.08 ns, rounded up to 1. */
	assert_int_equal(sched_tb_wait_ns(&tb, 1, UINT64_MAX - 1), 1);

	/* The largest bucket there is: UINT64_MAX bit·ns/s units. */
	sched_tb_init(&tb, UINT64_MAX, UINT64_MAX, 0);
	assert_true(sched_tb_take(&tb, 2000000000u, 0));
	assert_true(sched_tb_take(&tb, 300000000u, 0));
	assert_false(sched_tb_take(&tb, 300000000u, 0));
	assert_true(sched_tb_take(&tb, 300000000u, UINT64_MAX));
}

static void test_tb_oversize_and_backwards(void **state)
{
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, 1000000, 1500, 1000);
	assert_int_equal(sched_tb_wait_ns(&tb, 1501, 1000), UINT64_MAX);
	assert_false(sched_tb_take(&tb, 1501, 1000));
	assert_int_equal(sched_tb_wait_ns(&tb, UINT32_MAX, 1000), UINT64_MAX);
	assert_false(sched_tb_take(&tb, UINT32_MAX, 1000));
	assert_int_equal(sched_tb_wait_ns(&tb, 1500, 1000), 0);

	/* Time going backwards counts as last_ns: no tokens from it, no harm. */
	assert_true(sched_tb_take(&tb, 1500, 5000));
	assert_false(sched_tb_take(&tb, 1, 10));
	/* 1 byte at 1 Mbit/s = 8 µs after t = 5000. */
	assert_int_equal(sched_tb_wait_ns(&tb, 1, 5000), 8000);
	assert_true(sched_tb_take(&tb, 1, 13000));
}

static void test_tb_set(void **state)
{
	struct sched_tb tb;

	(void)state;
	sched_tb_init(&tb, 8000, 1000, 0);
	assert_true(sched_tb_take(&tb, 1000, 0));
	/* 100 ms at the old rate earns 100 bytes; then 8,000 → 80,000 bit/s. */
	sched_tb_set(&tb, 80000, 1000, 100 * MS);
	assert_false(sched_tb_take(&tb, 101, 100 * MS));
	assert_int_equal(sched_tb_wait_ns(&tb, 200, 100 * MS), 10 * MS);
	/* A smaller burst clamps the fill. */
	sched_tb_set(&tb, 80000, 50, 100 * MS);
	assert_false(sched_tb_take(&tb, 51, 200 * MS));
	assert_true(sched_tb_take(&tb, 50, 200 * MS));
}

/* ---- pacer --------------------------------------------------------------- */

static void test_pacer_tx_ns(void **state)
{
	struct sched_pacer p;

	(void)state;
	sched_pacer_init(&p, 1000000000, SCHED_ETH_OVERHEAD_BYTES);
	assert_int_equal(sched_pacer_tx_ns(&p, 1500), 12192);	/* 1524 B × 8 */
	assert_int_equal(sched_pacer_tx_ns(&p, 64 - 24), 512);
	sched_pacer_init(&p, 3000000000ull, 0);
	assert_int_equal(sched_pacer_tx_ns(&p, 1), 3);	/* 8/3 ns, rounded up */
	assert_int_equal(sched_pacer_tx_ns(&p, 3), 8);	/* exact */
	/* (2^32 − 1 + 24) bytes at 8 bit/s: 4.3e18 ns, past 64 bits in the
	 * intermediate product (3.4e19 bit·ns/s). */
	sched_pacer_init(&p, 8, SCHED_ETH_OVERHEAD_BYTES);
	assert_int_equal(sched_pacer_tx_ns(&p, UINT32_MAX),
			 (UINT32_MAX + 24ull) * SCHED_NS_PER_S);
	/* Past 64 bits in the result too: saturates. */
	sched_pacer_init(&p, 1, SCHED_ETH_OVERHEAD_BYTES);
	assert_int_equal(sched_pacer_tx_ns(&p, UINT32_MAX), UINT64_MAX);
}

/* 1e6 back-to-back frames of odd sizes at a rate that makes no frame a whole
 * number of ns: the link is free within 1 ns of Σ bits / rate (never before
 * it), while summing rounded per-frame times drifts by hundreds of µs. */
static void test_pacer_no_drift(void **state)
{
	const uint64_t rate = 999999937;	/* a prime */
	uint64_t bits = 0, naive_ns = 0, end = 0, exact_ns;
	struct sched_pacer p;

	(void)state;
	sched_pacer_init(&p, rate, SCHED_ETH_OVERHEAD_BYTES);
	for (uint32_t i = 0; i < 1000000; i++) {
		uint32_t len = 64 + (i * 7919u) % 1437;

		naive_ns += sched_pacer_tx_ns(&p, len);
		bits += (len + SCHED_ETH_OVERHEAD_BYTES) * 8ull;
		end = sched_pacer_send(&p, len, 0);
	}
	assert_true(bits < UINT64_MAX / SCHED_NS_PER_S);
	exact_ns = bits * SCHED_NS_PER_S / rate;	/* floor */
	assert_in_range(end, exact_ns, exact_ns + 1);
	assert_int_equal(sched_pacer_next_ns(&p, 0), end);
	/* The workload really has fractional nanoseconds to lose. */
	assert_true(naive_ns > exact_ns + 100000);
}

static void test_pacer_idle_busy(void **state)
{
	struct sched_pacer p;

	(void)state;
	sched_pacer_init(&p, 1000000000, SCHED_ETH_OVERHEAD_BYTES);
	/* Idle: may send now. */
	assert_int_equal(sched_pacer_next_ns(&p, 100), 100);
	assert_int_equal(sched_pacer_send(&p, 1500, 100), 100 + 12192);
	/* Busy: the next frame waits for the first to leave. */
	assert_int_equal(sched_pacer_next_ns(&p, 200), 12292);
	assert_int_equal(sched_pacer_send(&p, 1500, 200), 12292 + 12192);
	assert_int_equal(sched_pacer_next_ns(&p, 24484), 24484);
	/* Idle again: an idle gap is not credited, the frame starts at now. */
	assert_int_equal(sched_pacer_next_ns(&p, 1000000), 1000000);
	assert_int_equal(sched_pacer_send(&p, 1500, 1000000), 1000000 + 12192);

	/* Sub-ns carry: 1 byte + 0 overhead at 3 Gbit/s is 8/3 ns. Three
	 * back-to-back frames end at exactly 8 ns; reported times round up. */
	sched_pacer_init(&p, 3000000000ull, 0);
	assert_int_equal(sched_pacer_send(&p, 1, 0), 3);	/* 2.67 */
	assert_int_equal(sched_pacer_next_ns(&p, 0), 3);
	assert_int_equal(sched_pacer_send(&p, 1, 0), 6);	/* 5.33 */
	assert_int_equal(sched_pacer_send(&p, 1, 0), 8);	/* 8 */
	/* At t = 3 the link is still busy until 8. */
	assert_int_equal(sched_pacer_send(&p, 1, 3), 11);	/* 10.67 */
}

static void test_pacer_set_rate(void **state)
{
	struct sched_pacer p;

	(void)state;
	sched_pacer_init(&p, 1000000000, SCHED_ETH_OVERHEAD_BYTES);
	assert_int_equal(sched_pacer_send(&p, 1500, 0), 12192);
	sched_pacer_set_rate(&p, 100000000);
	/* The queued frame keeps its time; the next one goes at 100 Mbit/s. */
	assert_int_equal(sched_pacer_next_ns(&p, 0), 12192);
	assert_int_equal(sched_pacer_tx_ns(&p, 1500), 121920);
	assert_int_equal(sched_pacer_send(&p, 1500, 0), 12192 + 121920);

	/* A pending fraction rounds up, never down. */
	sched_pacer_init(&p, 3000000000ull, 0);
	assert_int_equal(sched_pacer_send(&p, 1, 0), 3);	/* 2.67 */
	sched_pacer_set_rate(&p, 8000000000ull);
	assert_int_equal(sched_pacer_send(&p, 1, 0), 4);	/* 3 + 1 */
}

/* ---- FIFO ---------------------------------------------------------------- */

static void test_fifo(void **state)
{
	struct sched_pkt p[5] = {0};
	struct sched_fifo f;

	(void)state;
	sched_fifo_init(&f, 3);
	assert_null(sched_fifo_peek(&f));
	assert_null(sched_fifo_dequeue(&f));
	for (int i = 0; i < 3; i++) {
		p[i].len_bytes = 100 * (uint32_t)(i + 1);
		assert_int_equal(sched_fifo_enqueue(&f, &p[i]), 0);
	}
	assert_int_equal(sched_fifo_enqueue(&f, &p[3]), -ENOBUFS);
	assert_int_equal(f.len, 3);
	assert_int_equal(f.bytes, 600);
	assert_ptr_equal(sched_fifo_peek(&f), &p[0]);
	assert_ptr_equal(sched_fifo_dequeue(&f), &p[0]);
	assert_int_equal(sched_fifo_enqueue(&f, &p[3]), 0);
	assert_ptr_equal(sched_fifo_dequeue(&f), &p[1]);
	assert_ptr_equal(sched_fifo_dequeue(&f), &p[2]);
	assert_ptr_equal(sched_fifo_dequeue(&f), &p[3]);
	assert_null(sched_fifo_dequeue(&f));
	assert_int_equal(f.len, 0);
	assert_int_equal(f.bytes, 0);
	/* Empty again: the tail was reset, the next packet is the head. */
	assert_int_equal(sched_fifo_enqueue(&f, &p[4]), 0);
	assert_ptr_equal(sched_fifo_peek(&f), &p[4]);

	sched_fifo_init(&f, 0);	/* unlimited */
	for (int i = 0; i < 5; i++)
		assert_int_equal(sched_fifo_enqueue(&f, &p[i]), 0);
	for (int i = 0; i < 5; i++)
		assert_ptr_equal(sched_fifo_dequeue(&f), &p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tb_sequence),
		cmocka_unit_test(test_tb_wait_exact),
		cmocka_unit_test(test_tb_long_idle),
		cmocka_unit_test(test_tb_oversize_and_backwards),
		cmocka_unit_test(test_tb_set),
		cmocka_unit_test(test_pacer_tx_ns),
		cmocka_unit_test(test_pacer_no_drift),
		cmocka_unit_test(test_pacer_idle_busy),
		cmocka_unit_test(test_pacer_set_rate),
		cmocka_unit_test(test_fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
