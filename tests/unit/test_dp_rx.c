/* test_dp_rx.c — the ingress side: log-linear histograms (dp/dp_hist.c),
 * label pop, deadline check in serial arithmetic, one-way delay and miss
 * aggregation with its ring (dp/dp_miss.c). Clocks are simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dp/dp.h"
#include "agent/dataplane/dataplane.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull
#define VM1 IP(10, 0, 1, 11)
#define VM2 IP(10, 0, 2, 11)

/* ---- histogram ----------------------------------------------------------------- */

static void test_hist_buckets(void **state)
{
	unsigned last = 0;

	(void)state;
	for (uint64_t v = 0; v < (1ull << 22); v += 1 + v / 97) {
		unsigned b = dp_hist_bucket(v);
		uint64_t hi = dp_hist_bucket_high(b);

		assert_true(b >= last);	/* monotonic */
		assert_true(b <= last + 1 || v > 64);
		assert_true(b < DP_HIST_BUCKETS);
		assert_true(hi >= v);
		assert_true(hi - v <= v / 32);	/* within 1/2^5 above */
		if (b > 0)
			assert_true(dp_hist_bucket_high(b - 1) < v);	/* v not in the one before */
		last = b;
	}
	assert_int_equal(dp_hist_bucket(UINT64_MAX), DP_HIST_BUCKETS - 1);
	assert_int_equal(dp_hist_bucket_high(DP_HIST_BUCKETS - 1), (1ull << DP_HIST_MAX_LOG2) - 1);
}

static void test_hist_summary(void **state)
{
	static struct dp_hist h;
	struct dp_hist_summary s;

	(void)state;
	dp_hist_init(&h);
	dp_hist_summary(&h, &s);
	assert_int_equal(s.count, 0);
	for (uint64_t v = 1; v <= 100000; v++)
		dp_hist_record(&h, v * 10);	/* 10 ns .. 1 ms */
	dp_hist_summary(&h, &s);
	assert_int_equal(s.count, 100000);
	assert_int_equal(s.min, 10);
	assert_int_equal(s.max, 1000000);
	assert_int_equal(s.mean, 500005);
	/* true quantiles: 500,000, 990,000, 999,000; reported at most 3.2 % above */
	assert_true(s.p50 >= 500000 && s.p50 <= 500000 + 500000 / 31);
	assert_true(s.p99 >= 990000 && s.p99 <= 990000 + 990000 / 31);
	assert_true(s.p999 >= 999000 && s.p999 <= 1000000);
	assert_int_equal(dp_hist_quantile(&h, 1000000), 1000000);	/* clamped to max */
	assert_true(dp_hist_quantile(&h, 0) <= 10 + 1);
}

/* ---- ingress ------------------------------------------------------------------- */

struct rxfx {
	struct dp_rx rx;
	struct dp_table *t;
	uint8_t buf[2048];
};

/* Host 2 receives path 7 (UDP 5000, D = 5 ms) from host 1. */
static void rxfx_init(struct rxfx *x)
{
	struct cons_rtpath p = {
		.id = 7, .src_host = 1, .dst_host = 2,
		.req = { .src_ip = VM1, .dst_ip = VM2, .proto = 17, .dport = 5000,
			 .type = CONS_PATH_DEADLINE, .rate_bps = 2000000, .burst_bytes = 3000,
			 .deadline_ns = 5 * MS, .max_pkt_bytes = 1500 },
		.tc = 5, .dscp = 46, .service_rate_bps = 2000000,
		.sched_deadline_ns = 4900 * US, .net_budget_ns = 100 * US,
	};
	struct dp_table_config tc = { .host_id = 2, .uplink_bps = 100000000,
				      .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	struct dp_rx_config rc = { .interval_ns = 100 * MS, .uncertainty_ns = 400 };

	assert_int_equal(dp_table_new(&tc, &p, 1, NULL, NULL, &x->t, NULL), 0);
	dp_rx_init(&x->rx, &rc);
	dp_rx_adopt(&x->rx, x->t, 0);
}

/* A labelled UDP frame to port `dport`, deadline `deadline_ns` (real time);
 * returns its start inside x->buf and its length. */
static uint8_t *labelled(struct rxfx *x, uint16_t dport, uint64_t deadline_ns, uint16_t ip_id,
			 size_t *len)
{
	uint8_t *f = x->buf + DP_HEADROOM, *ip = f + 14;
	struct dp_parsed p;

	memset(f, 0, 200);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 100;
	ip[4] = (uint8_t)(ip_id >> 8);
	ip[5] = (uint8_t)ip_id;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 1, 11, 10, 0, 2, 11 }, 8);
	ip[22] = (uint8_t)(dport >> 8);
	ip[23] = (uint8_t)dport;
	assert_int_equal(dp_pkt_parse(f, 114, &p), DP_PARSE_IPV4);
	*len = 118;
	return dp_mpls_push(f, 114, &p, dp_label_of_us(deadline_ns / 1000), 5,
			    dp_ttl_of_us(deadline_ns / 1000));
}

static void deliver(struct rxfx *x, uint8_t *f, size_t len, uint64_t now_ns)
{
	uint8_t *out;
	size_t out_len;

	dp_rx_frame(&x->rx, f, len, now_ns, &out, &out_len);
	assert_int_equal(out_len, len - 4);
	assert_int_equal(out[12] << 8 | out[13], 0x0800);
}

static void test_rx_on_time_and_late(void **state)
{
	struct rxfx x;
	struct dp_path_counters c;
	struct dp_hist_summary s;
	struct dp_miss_report rep[4];
	const struct dp_path *p;
	const struct dp_hist *h;
	struct agent_tm_dp_path o;
	size_t j;
	uint64_t n, edge, t0 = 1700000000ull * S;	/* real time at the sender */
	size_t len;
	uint8_t *f;

	(void)state;
	rxfx_init(&x);
	p = dp_table_find_id(x.t, DP_RX, 7);
	dp_rx_tick(&x.rx, t0);	/* an interval starts */
	/* sent at t0, deadline t0 + 5 ms, arrives 1.2 ms later: delay 1.2 ms */
	f = labelled(&x, 5000, t0 + 5 * MS, 1, &len);
	deliver(&x, f, len, t0 + 1200 * US);
	/* arrives 250 µs after its deadline: a miss */
	f = labelled(&x, 5000, t0 + 5 * MS, 2, &len);
	deliver(&x, f, len, t0 + 5250 * US);
	/* in the deadline's own microsecond: not a miss */
	f = labelled(&x, 5000, t0 + 5 * MS, 3, &len);
	deliver(&x, f, len, t0 + 5 * MS + 999);

	dp_path_counters(p, &c);
	assert_int_equal(c.rx_pkts, 3);
	assert_int_equal(c.rx_misses, 1);
	assert_int_equal(c.rx_max_late_ns, 250 * US);
	dp_hist_summary(dp_path_hist(p), &s);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.min, 1200 * US);
	assert_int_equal(s.max, 5250 * US);
	/* lateness: the one miss, 250 µs, in its bucket; on-time packets not */
	h = dp_path_lateness(p);
	assert_non_null(h);
	dp_hist_summary(h, &s);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.min, 250 * US);
	assert_int_equal(s.max, 250 * US);
	assert_int_equal(atomic_load(&h->b[dp_hist_bucket(250 * US)]), 1);
	assert_int_equal(atomic_load(&h->sum), 250 * US);
	/* as exported (rtvnet_rtpath_lateness_seconds): one observation, in
	 * the first bound at or above its dp bucket's upper edge */
	memset(&o, 0, sizeof(o));
	agent_dp_tm_path_read(p, &o);
	assert_int_equal(o.rx_pkts, 3);
	assert_int_equal(o.misses, 1);
	edge = dp_hist_bucket_high(dp_hist_bucket(250 * US));
	for (j = 0; j < AGENT_TM_DELAY_BUCKETS; j++)
		if (agent_tm_delay_bounds_s[j] * 1e9 >= edge)
			break;
	for (size_t i = 0; i <= AGENT_TM_DELAY_BUCKETS; i++)
		assert_int_equal(o.lateness.counts[i], i == j);
	assert_true(o.lateness.sum_s == 250e-6);
	n = 0;
	for (size_t i = 0; i <= AGENT_TM_DELAY_BUCKETS; i++)
		n += o.delay.counts[i];
	assert_int_equal(n, 3);

	/* the report comes when the interval ends */
	assert_int_equal(dp_miss_drain(&x.rx, rep, 4), 0);
	dp_rx_tick(&x.rx, t0 + 50 * MS);
	assert_int_equal(dp_miss_drain(&x.rx, rep, 4), 0);
	dp_rx_tick(&x.rx, t0 + 200 * MS);
	assert_int_equal(dp_miss_drain(&x.rx, rep, 4), 1);
	assert_int_equal(rep[0].path_id, 7);
	assert_int_equal(rep[0].src_host, 1);
	assert_int_equal(rep[0].misses, 1);
	assert_int_equal(rep[0].max_exceed_ns, 250 * US);
	assert_int_equal(rep[0].max_exceed_ip_id, 2);
	assert_int_equal(rep[0].uncertainty_ns, 400);
	assert_int_equal(rep[0].first_ns, t0 + 5250 * US);
	dp_table_free(x.t);
}

/* Deadlines either side of the label's wrap (2^20 µs). */
static void test_rx_wrap(void **state)
{
	struct rxfx x;
	struct dp_path_counters c;
	uint64_t wrap = (1ull << 20) * 1000 * 1234567;	/* a multiple of 2^20 µs */
	size_t len;
	uint8_t *f;

	(void)state;
	rxfx_init(&x);
	f = labelled(&x, 5000, wrap - 10 * US, 1, &len);	/* label 2^20 − 10 */
	deliver(&x, f, len, wrap + 30 * US);			/* now label 30: 40 µs late */
	f = labelled(&x, 5000, wrap + 10 * US, 2, &len);	/* label 10 */
	deliver(&x, f, len, wrap - 30 * US);			/* 40 µs early */
	dp_path_counters(dp_table_find_id(x.t, DP_RX, 7), &c);
	assert_int_equal(c.rx_misses, 1);
	assert_int_equal(c.rx_max_late_ns, 40 * US);
	assert_int_equal(dp_hist_quantile(dp_path_lateness(dp_table_find_id(x.t, DP_RX, 7)),
					  1000000), 40 * US);
	dp_table_free(x.t);
}

/* A frame held past the label's own half-space (0.52 s): the TTL's deadline
 * bits say it is late — a miss, counted in late_past_label too — where the
 * label alone reads it as early. Without the marker (a sender that does not
 * extend) the label alone decides. */
static void test_rx_late_past_label(void **state)
{
	struct rxfx x;
	struct dp_path_counters c;
	uint64_t t0 = 1700000000ull * 1000 * MS;
	size_t len;
	uint8_t *f;

	(void)state;
	rxfx_init(&x);
	f = labelled(&x, 5000, t0, 1, &len);
	deliver(&x, f, len, t0 + 700 * MS);		/* 0.7 s late */
	f = labelled(&x, 5000, t0 + 2 * S, 2, &len);
	deliver(&x, f, len, t0 + 2 * S + 40 * S);	/* 40 s late */
	f = labelled(&x, 5000, t0 + 100 * S, 3, &len);
	deliver(&x, f, len, t0 + 100 * S - 3 * MS);	/* early */
	dp_path_counters(dp_table_find_id(x.t, DP_RX, 7), &c);
	assert_int_equal(c.rx_misses, 2);
	assert_int_equal(c.rx_max_late_ns, 40 * S);
	/* the label alone reads the 0.7 s as early; the 40 s (mod 2^20 µs) as
	 * 154 ms late: a miss, only not by how much */
	assert_int_equal(atomic_load(&x.rx.stats.late_past_label), 1);
	f = labelled(&x, 5000, t0 + 200 * S, 4, &len);
	f[17] = 64;					/* no marker */
	deliver(&x, f, len, t0 + 200 * S + 700 * MS);	/* reads as early */
	dp_path_counters(dp_table_find_id(x.t, DP_RX, 7), &c);
	assert_int_equal(c.rx_misses, 2);
	dp_table_free(x.t);
}

static void test_rx_passes_others(void **state)
{
	struct rxfx x;
	uint8_t *f, *out, copy[256];
	size_t len, out_len;

	(void)state;
	rxfx_init(&x);
	/* not MPLS: untouched */
	f = labelled(&x, 5000, 5 * MS, 1, &len);
	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(copy, f, len);
	dp_rx_frame(&x.rx, f, len, 0, &out, &out_len);
	assert_ptr_equal(out, f);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, copy, len);
	/* a two-label stack: untouched, counted */
	f = labelled(&x, 5000, 5 * MS, 1, &len);
	f[16] &= 0xfe;
	memcpy(copy, f, len);
	dp_rx_frame(&x.rx, f, len, 0, &out, &out_len);
	assert_memory_equal(out, copy, len);
	assert_int_equal(atomic_load(&x.rx.stats.mpls_foreign), 1);
	/* our label, a flow with no rtpath here: popped, counted */
	f = labelled(&x, 5001, 5 * MS, 1, &len);
	deliver(&x, f, len, 0);
	assert_int_equal(atomic_load(&x.rx.stats.unknown_path), 1);
	assert_int_equal(atomic_load(&x.rx.stats.popped), 1);
	assert_int_equal(atomic_load(&x.rx.stats.passed), 1);
	dp_table_free(x.t);
}

/* Misses aggregate per interval; a full ring counts what it loses (the
 * counter rtvnet_dp_miss_reports_lost_total exports); adopting a new table
 * flushes. */
static void test_rx_aggregate_and_overflow(void **state)
{
	struct rxfx x;
	struct dp_miss_report rep[8];
	uint64_t t = 1000 * S;
	size_t len;
	uint8_t *f;

	(void)state;
	rxfx_init(&x);
	dp_rx_tick(&x.rx, t);
	for (int i = 0; i < 3; i++) {
		f = labelled(&x, 5000, t + (uint64_t)i * MS, (uint16_t)(10 + i), &len);
		deliver(&x, f, len, t + (uint64_t)i * MS + (uint64_t)(i == 1 ? 900 : 100) * US);
	}
	dp_rx_tick(&x.rx, t + 150 * MS);
	assert_int_equal(dp_miss_drain(&x.rx, rep, 8), 1);
	assert_int_equal(rep[0].misses, 3);
	assert_int_equal(rep[0].max_exceed_ns, 900 * US);
	assert_int_equal(rep[0].max_exceed_ip_id, 11);
	assert_int_equal(rep[0].last_ip_id, 12);

	/* one miss per interval, never drained: the ring fills */
	for (int i = 0; i < DP_MISS_RING + 5; i++) {
		t += 200 * MS;
		f = labelled(&x, 5000, t, 1, &len);
		deliver(&x, f, len, t + 10 * US);
		dp_rx_tick(&x.rx, t + 150 * MS);
	}
	assert_int_equal(atomic_load(&x.rx.stats.reports_lost), 5);
	{
		struct agent_tm_dp_host o;
		static struct dp_sched_stats none;

		memset(&o, 0, sizeof(o));
		agent_dp_tm_host_read(&none, &x.rx.stats, &o);
		assert_int_equal(o.miss_reports_lost, 5);
		assert_int_equal(o.misses, 3 + DP_MISS_RING + 5);
	}
	size_t n = 0, k;
	while ((k = dp_miss_drain(&x.rx, rep, 8)) > 0)
		n += k;
	assert_int_equal(n, DP_MISS_RING);

	f = labelled(&x, 5000, t, 1, &len);
	deliver(&x, f, len, t + 10 * US);
	dp_rx_adopt(&x.rx, x.t, t);
	assert_int_equal(dp_miss_drain(&x.rx, rep, 8), 1);
	dp_table_free(x.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_summary),
		cmocka_unit_test(test_rx_on_time_and_late),
		cmocka_unit_test(test_rx_wrap),
		cmocka_unit_test(test_rx_late_past_label),
		cmocka_unit_test(test_rx_passes_others),
		cmocka_unit_test(test_rx_aggregate_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
