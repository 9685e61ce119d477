/* test_sim_exp1.c — seed 000's experiment 1 on the link simulator.
 *
 * A 1 Gbit/s link, flows A (2 Mbit/s, D = 5 ms) and B (2 Mbit/s, D = 10 ms),
 * NRT UDP at 1.1 Gbit/s, 1,502-byte frames, 10 s simulated, under EDF with
 * the NRT rule, WF²Q+ with RFC 2212 service rates, and one FIFO. EDF and WFQ
 * must meet every deadline, the FIFO must miss, and under EDF the NRT flow
 * must keep everything the real-time flows leave of the link. Timing-free:
 * every figure is simulated time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/linksim.h"
#include "sched/sched.h"

#define A LINKSIM_EXP1_A
#define B LINKSIM_EXP1_B
#define NRT LINKSIM_EXP1_NRT

static struct linksim_config cfg;
static struct linksim_result res, res2;

static uint64_t tx_ns(const struct linksim_config *c, size_t i)
{
	uint64_t bits = (uint64_t)(c->flows[i].pkt_bytes + c->overhead_bytes) * 8;

	return (bits * SCHED_NS_PER_S + c->link_bps - 1) / c->link_bps;
}

/* Every packet is accounted for exactly once, the pool never ran dry, the
 * sources emitted at their rate, and the link never carried more than C. */
static void check_conservation(const struct linksim_config *c, const struct linksim_result *r)
{
	uint64_t wire_bits = 0;

	for (size_t i = 0; i < c->n_flows; i++) {
		const struct linksim_flow_result *f = &r->flow[i];
		const struct linksim_flow *fl = &c->flows[i];
		uint64_t per_ns = (uint64_t)fl->pkt_bytes * 8 * SCHED_NS_PER_S;
		uint64_t lo = c->duration_ns * fl->rate_bps / per_ns;

		assert_int_equal(f->arrived, f->sent + f->dropped_queue + f->dropped_pool);
		assert_int_equal(f->dropped_pool, 0);
		/* ceil((T − phase − jitter)/P) .. ceil(T/P) packets */
		assert_in_range(f->arrived, lo ? lo - 1 : 0, lo + 1);
		assert_true(f->sent_in_window <= f->sent);
		wire_bits += f->sent_in_window * (fl->pkt_bytes + c->overhead_bytes) * 8;
	}
	assert_true(wire_bits <= c->duration_ns * c->link_bps / SCHED_NS_PER_S);
}

static void run_exp1(enum linksim_mode mode, uint64_t seed, struct linksim_result *r)
{
	linksim_exp1_config(&cfg, mode, seed);
	assert_int_equal(linksim_run(&cfg, r), 0);
	check_conservation(&cfg, r);
}

static void assert_rt_clean(const struct linksim_result *r, size_t i)
{
	const struct linksim_flow_result *f = &r->flow[i];

	assert_int_equal(f->misses, 0);
	assert_int_equal(f->dropped_queue, 0);
	assert_int_equal(f->sent, f->arrived);
	assert_true(f->wait_max_ns < cfg.flows[i].deadline_ns);
	assert_true(f->wait_max_ns + tx_ns(&cfg, i) <= cfg.flows[i].deadline_ns);
}

/* NRT keeps at least C minus what RT took. The link is busy without a gap
 * from the first NRT arrival t0 on (NRT arrives every 10.9 µs, a frame takes
 * 12.2 µs on the wire), so by T at least k = floor((T − t0)·C / wire bits)
 * frames have left; real-time frames can be at most the RT arrivals among
 * them. Hence NRT frames in the window >= k − RT arrivals, exactly, with the
 * per-frame overhead in the wire bits: in the long run that is
 * C·L/(L+o) − Σr = 980.27 Mbit/s of frames, i.e. (C − 4 Mbit/s) less the
 * 24/1526 of every frame spent on preamble, FCS and gap. */
static void test_edf_meets_deadlines_and_keeps_nrt(void **state)
{
	const struct linksim_flow_result *nrt;
	uint64_t wire_bits, k, rt_arrived, t0;
	double expect_bps;

	(void)state;
	run_exp1(LINKSIM_EDF, 1, &res);
	assert_rt_clean(&res, A);
	assert_rt_clean(&res, B);
	assert_true(res.nrt_overtakes > 0);

	nrt = &res.flow[NRT];
	t0 = nrt->first_arrival_ns;
	wire_bits = (uint64_t)(cfg.flows[NRT].pkt_bytes + cfg.overhead_bytes) * 8;
	k = (cfg.duration_ns - t0) * cfg.link_bps / (wire_bits * SCHED_NS_PER_S);
	rt_arrived = res.flow[A].arrived + res.flow[B].arrived;
	assert_true(nrt->sent_in_window >= k - rt_arrived);

	expect_bps = (double)cfg.link_bps * cfg.flows[NRT].pkt_bytes / (double)(wire_bits / 8) -
		     (double)(cfg.flows[A].rate_bps + cfg.flows[B].rate_bps);
	print_message("EDF NRT %.3f Mbit/s of frames; long-run C·L/(L+o) − Σr = %.3f Mbit/s\n",
		      linksim_window_bps(nrt, cfg.duration_ns) / 1e6, expect_bps / 1e6);
}

/* WF²Q+ keeps a conforming path within b/R + L_max/C (Bennett & Zhang),
 * the bound RFC 2212 sized R for, so the last bit leaves by then. */
static void assert_wfq_bound(const struct linksim_result *r, size_t i)
{
	const struct linksim_flow_result *f = &r->flow[i];
	uint64_t b_bits = (uint64_t)(cfg.flows[i].pkt_bytes + cfg.overhead_bytes) * 8;
	uint64_t bound = (b_bits * SCHED_NS_PER_S + f->service_rate_bps - 1) / f->service_rate_bps +
			 tx_ns(&cfg, NRT);

	assert_true(f->service_rate_bps > 0);
	assert_true(f->wait_max_ns + tx_ns(&cfg, i) <= bound);
}

static void test_wfq_meets_deadlines(void **state)
{
	uint64_t r_wire_a;

	(void)state;
	run_exp1(LINKSIM_WFQ, 1, &res);
	assert_rt_clean(&res, A);
	assert_rt_clean(&res, B);
	assert_wfq_bound(&res, A);
	assert_wfq_bound(&res, B);
	/* R = r would let A's frame wait L/r = 6 ms > 5 ms: RFC 2212 raised it */
	r_wire_a = cfg.flows[A].rate_bps * (cfg.flows[A].pkt_bytes + cfg.overhead_bytes) /
		   cfg.flows[A].pkt_bytes;
	assert_true(res.flow[A].service_rate_bps > r_wire_a);
	assert_int_equal(res.nrt_path_rate_bps + res.flow[A].service_rate_bps +
			 res.flow[B].service_rate_bps, cfg.link_bps);
}

static void test_fifo_misses(void **state)
{
	(void)state;
	run_exp1(LINKSIM_FIFO, 1, &res);
	assert_true(res.flow[A].misses > 0);
	assert_true(res.flow[B].misses > 0);
	assert_true(res.flow[A].wait_max_ns > cfg.flows[A].deadline_ns);
	assert_true(res.flow[NRT].dropped_queue > 0);
}

static void test_inadmissible_refused(void **state)
{
	(void)state;
	/* 20 µs cannot hold a blocking NRT frame plus A's own (2 × 12.2 µs) */
	linksim_exp1_config(&cfg, LINKSIM_EDF, 1);
	cfg.flows[A].deadline_ns = 20000;
	assert_int_equal(linksim_run(&cfg, &res), -ENOSPC);
	assert_true(strstr(res.why, "EDF") != NULL);
	assert_int_equal(res.pkts, 0);

	linksim_exp1_config(&cfg, LINKSIM_WFQ, 1);
	cfg.flows[A].deadline_ns = 20000;
	assert_int_equal(linksim_run(&cfg, &res), -ENOSPC);
	assert_true(strstr(res.why, "(A)") != NULL);

	/* RT rates above the link */
	linksim_exp1_config(&cfg, LINKSIM_EDF, 1);
	cfg.flows[A].rate_bps = cfg.flows[B].rate_bps = 600000000;
	assert_int_equal(linksim_run(&cfg, &res), -ENOSPC);
	linksim_exp1_config(&cfg, LINKSIM_WFQ, 1);
	cfg.flows[A].rate_bps = cfg.flows[B].rate_bps = 600000000;
	assert_int_equal(linksim_run(&cfg, &res), -ENOSPC);

	/* malformed: jitter longer than the packet interval */
	linksim_exp1_config(&cfg, LINKSIM_EDF, 1);
	cfg.flows[A].jitter_ns = 7000000;
	assert_int_equal(linksim_run(&cfg, &res), -EINVAL);
	assert_true(res.why[0] != '\0');
}

static void jittered_exp1(enum linksim_mode mode, uint64_t seed)
{
	linksim_exp1_config(&cfg, mode, seed);
	cfg.duration_ns = SCHED_NS_PER_S;
	cfg.flows[A].jitter_ns = 1000000;
	cfg.flows[B].jitter_ns = 2000000;
	cfg.flows[NRT].jitter_ns = 5000;
}

static void min_slack(void *arg, const struct linksim_trace *t)
{
	uint64_t *min_ns = arg;

	if (t->deadline_ns && t->end_ns <= t->deadline_ns && t->deadline_ns - t->end_ns < *min_ns)
		*min_ns = t->deadline_ns - t->end_ns;
}

static void test_deterministic(void **state)
{
	static const enum linksim_mode modes[] = { LINKSIM_EDF, LINKSIM_WFQ, LINKSIM_FIFO };

	(void)state;
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		jittered_exp1(modes[m], 42);
		assert_int_equal(linksim_run(&cfg, &res), 0);
		check_conservation(&cfg, &res);
		assert_int_equal(linksim_run(&cfg, &res2), 0);
		assert_memory_equal(&res, &res2, sizeof(res));

		jittered_exp1(modes[m], 43);
		assert_int_equal(linksim_run(&cfg, &res2), 0);
		assert_true(res.flow[A].wait_sum_ns != res2.flow[A].wait_sum_ns ||
			    res.flow[NRT].wait_sum_ns != res2.flow[NRT].wait_sum_ns);
	}
}

/* Many real-time flows of mixed sizes with jitter, 78 % of the link, NRT
 * saturating it in two sizes: admitted, so EDF with the NRT rule and WF²Q+
 * must both meet every deadline, however hard NRT pushes. */
static void stress_config(enum linksim_mode mode)
{
	static const struct linksim_flow flows[] = {
		{ "r1", 100000000, 200, 100000, 10000 },
		{ "r2", 200000000, 1000, 300000, 20000 },
		{ "r3", 150000000, 1502, 500000, 0 },
		{ "r4", 300000000, 600, 1000000, 5000 },
		{ "r5", 1000000, 100, 50000, 300000 },
		{ "nrt1", 1000000000, 1502, 0, 3000 },
		{ "nrt2", 30000000, 64, 0, 1000 },
	};

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = mode;
	cfg.link_bps = 1000000000;
	cfg.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES;
	cfg.duration_ns = SCHED_NS_PER_S;
	cfg.seed = 7;
	cfg.random_phase = true;
	cfg.edf_bucket_ns = 64;
	cfg.queue_limit_pkts = 1000;
	cfg.n_flows = sizeof(flows) / sizeof(flows[0]);
	memcpy(cfg.flows, flows, sizeof(flows));
}

static void test_stress_admitted_meets_deadlines(void **state)
{
	static const enum linksim_mode modes[] = { LINKSIM_EDF, LINKSIM_WFQ };

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		stress_config(modes[m]);
		assert_int_equal(linksim_run(&cfg, &res), 0);
		check_conservation(&cfg, &res);
		for (size_t i = 0; i < cfg.n_flows; i++)
			if (cfg.flows[i].deadline_ns)
				assert_rt_clean(&res, i);
		if (modes[m] == LINKSIM_EDF)
			assert_true(res.nrt_overtakes > 0);
	}
}

/* The NRT rule to the nanosecond. In experiment 1 a B frame is nearly
 * always queued too, and the rule reserves room for every queued RT byte
 * before the earliest deadline, so A keeps a frame time of slack. With A
 * alone, jittered against jittered NRT and 64 ns EDF buckets, the last NRT
 * frame before A's turn lands anywhere in a 12 µs window: over 10 s some A
 * frames finish within a few hundred ns of their deadline, and any slip in
 * the accounting (wire overhead, bucket rounding) shows up as a miss. */
static void test_edf_alone_tight(void **state)
{
	uint64_t min_slack_ns = UINT64_MAX;

	(void)state;
	jittered_exp1(LINKSIM_EDF, 5);
	cfg.duration_ns = 10 * SCHED_NS_PER_S;
	cfg.edf_bucket_ns = 64;
	cfg.flows[1] = cfg.flows[NRT];
	cfg.n_flows = 2;
	cfg.trace = min_slack;
	cfg.trace_arg = &min_slack_ns;
	assert_int_equal(linksim_run(&cfg, &res), 0);
	check_conservation(&cfg, &res);
	assert_rt_clean(&res, A);
	/* the rule did let NRT run A close to its deadline */
	assert_true(min_slack_ns < tx_ns(&cfg, A));
	print_message("EDF, A alone: smallest slack %llu ns\n", (unsigned long long)min_slack_ns);
}

/* Coarse EDF buckets: the wheel is FIFO within a 100 µs bucket, so Y
 * (D = 5.05 ms), arriving together with X (D = 5 ms) but queued first, sits
 * ahead of X in X's bucket. The NRT rule must then be judged against the
 * bucket's start, not the head's own deadline, or X misses. */
static void test_edf_coarse_buckets(void **state)
{
	(void)state;
	linksim_exp1_config(&cfg, LINKSIM_EDF, 9);
	cfg.random_phase = false;
	cfg.edf_bucket_ns = 100000;
	cfg.flows[0] = (struct linksim_flow){ "Y", 2000000, 1502, 5050000, 0 };
	cfg.flows[1] = (struct linksim_flow){ "X", 2000000, 1502, 5000000, 0 };
	cfg.flows[NRT].jitter_ns = 5000;
	assert_int_equal(linksim_run(&cfg, &res), 0);
	check_conservation(&cfg, &res);
	assert_rt_clean(&res, 0);
	assert_rt_clean(&res, 1);
	assert_true(res.nrt_overtakes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edf_meets_deadlines_and_keeps_nrt),
		cmocka_unit_test(test_wfq_meets_deadlines),
		cmocka_unit_test(test_fifo_misses),
		cmocka_unit_test(test_inadmissible_refused),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_stress_admitted_meets_deadlines),
		cmocka_unit_test(test_edf_alone_tight),
		cmocka_unit_test(test_edf_coarse_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
