/* test_dp_table.c — the dataplane's rtpath snapshot (dp/dp_table.c):
 * which paths a host keeps, wildcard lookups, wire envelopes, boosts, state
 * carried across snapshots, and reclamation (including a reader thread
 * racing the writer, which ASan watches for use after free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "dp/dp.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MS 1000000ull
#define MBPS 1000000ull
#define VM1 IP(10, 0, 1, 11)
#define VM2 IP(10, 0, 2, 11)
#define VM3 IP(10, 0, 3, 11)

static struct cons_rtpath mk(uint64_t id, uint64_t src_host, uint64_t dst_host, uint32_t src,
			     uint32_t dst, uint8_t proto, uint16_t dport, enum cons_path_type type)
{
	struct cons_rtpath p = {
		.id = id, .src_host = src_host, .dst_host = dst_host,
		.req = { .src_ip = src, .dst_ip = dst, .proto = proto, .dport = dport,
			 .type = type, .rate_bps = 2 * MBPS, .burst_bytes = 3000,
			 .deadline_ns = 5 * MS, .max_pkt_bytes = 1500 },
		.tc = type == CONS_PATH_DEADLINE ? 5 : 4,
		.dscp = type == CONS_PATH_DEADLINE ? 46 : 34,
		.service_rate_bps = type == CONS_PATH_DEADLINE ? 2 * MBPS : 10 * MBPS,
		.service_rate_base_bps = type == CONS_PATH_DEADLINE ? 2 * MBPS : 10 * MBPS,
		.net_budget_ns = 100000,
		.sched_deadline_ns = 5 * MS - 100000,
	};
	return p;
}

static const struct dp_table_config CFG = {
	.host_id = 1, .uplink_bps = 100 * MBPS, .overhead_bytes = 24,
	.nrt_max_frame_bytes = 1514,
};

/* Host 1's view of a small rack. */
static size_t rack(struct cons_rtpath *p)
{
	size_t n = 0;

	p[n++] = mk(1, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE);	/* exact */
	p[n++] = mk(2, 1, 2, VM1, VM2, 17, 0, CONS_PATH_RESERVATION);	/* any UDP port */
	p[n++] = mk(3, 1, 2, VM1, VM2, 0, 0, CONS_PATH_DEADLINE);	/* anything */
	p[n++] = mk(4, 2, 1, VM2, VM1, 6, 80, CONS_PATH_DEADLINE);	/* we receive */
	p[n++] = mk(5, 3, 2, VM3, VM2, 17, 5000, CONS_PATH_DEADLINE);	/* not ours */
	p[n++] = mk(6, 1, 1, VM1, VM1 + 1, 17, 5000, CONS_PATH_DEADLINE);	/* same host */
	return n;
}

static uint64_t look(const struct dp_table *t, enum dp_dir dir, uint32_t src, uint32_t dst,
		     uint8_t proto, uint16_t dport)
{
	struct dp_flow_key k = { .src_ip = src, .dst_ip = dst, .proto = proto, .dport = dport };
	const struct dp_path *p = dp_table_lookup(t, dir, &k);

	return p ? p->id : 0;
}

static void test_lookup_wildcards(void **state)
{
	struct cons_rtpath p[8];
	struct dp_table *t;
	char err[CONS_ERRLEN];
	size_t n = rack(p);

	(void)state;
	/* input order must not matter */
	struct cons_rtpath tmp = p[0];
	p[0] = p[3];
	p[3] = tmp;
	assert_int_equal(dp_table_new(&CFG, p, n, NULL, NULL, &t, err), 0);
	assert_int_equal(dp_table_count(t, DP_TX), 3);
	assert_int_equal(dp_table_count(t, DP_RX), 1);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(dp_table_at(t, DP_TX, i)->id, i + 1);	/* by id */
	assert_int_equal(dp_table_at(t, DP_RX, 0)->id, 4);

	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 5000), 1);	/* exact */
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 6000), 2);	/* UDP, any port */
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 0), 2);	/* a later fragment */
	assert_int_equal(look(t, DP_TX, VM1, VM2, 6, 80), 3);	/* anything else */
	assert_int_equal(look(t, DP_TX, VM1, VM2, 1, 0), 3);
	assert_int_equal(look(t, DP_TX, VM2, VM1, 17, 5000), 0);	/* wrong direction */
	assert_int_equal(look(t, DP_TX, VM3, VM2, 17, 5000), 0);	/* other host's */
	assert_int_equal(look(t, DP_TX, VM1, VM1 + 1, 17, 5000), 0);	/* same host */
	assert_int_equal(look(t, DP_RX, VM2, VM1, 6, 80), 4);
	assert_int_equal(look(t, DP_RX, VM2, VM1, 6, 81), 0);
	assert_int_equal(look(t, DP_RX, VM1, VM2, 17, 5000), 0);
	assert_non_null(dp_table_find_id(t, DP_TX, 2));
	assert_null(dp_table_find_id(t, DP_TX, 4));
	assert_non_null(dp_table_find_id(t, DP_RX, 4));
	assert_non_null(dp_path_hist(dp_table_find_id(t, DP_RX, 4)));
	assert_null(dp_path_hist(dp_table_find_id(t, DP_TX, 1)));
	assert_int_equal(dp_table_shadowed(t), 0);
	dp_table_free(t);
	dp_table_free(NULL);
}

/* Without wildcard paths only exact keys match; a port without a protocol
 * is refused; duplicates keep the earlier path. */
static void test_exact_only_and_dups(void **state)
{
	struct cons_rtpath p[4];
	struct dp_table *t;
	char err[CONS_ERRLEN] = "";

	(void)state;
	p[0] = mk(7, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE);
	p[1] = mk(9, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE);
	assert_int_equal(dp_table_new(&CFG, p, 2, NULL, NULL, &t, err), 0);
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 5000), 7);
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 5001), 0);
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 0), 0);
	assert_int_equal(dp_table_shadowed(t), 1);
	dp_table_free(t);

	p[0].req.proto = 0;
	assert_int_equal(dp_table_new(&CFG, p, 1, NULL, NULL, &t, err), -EINVAL);
	assert_non_null(strstr(err, "rtpath 7"));
	p[0] = mk(7, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE);
	p[0].req.rate_bps = 0;
	assert_int_equal(dp_table_new(&CFG, p, 1, NULL, NULL, &t, err), -EINVAL);
	/* a bad path of another host does not matter */
	p[0].src_host = 3;
	assert_int_equal(dp_table_new(&CFG, p, 1, NULL, NULL, &t, err), 0);
	assert_int_equal(dp_table_count(t, DP_TX), 0);
	assert_int_equal(look(t, DP_TX, VM1, VM2, 17, 5000), 0);
	dp_table_free(t);

	struct dp_table_config bad = CFG;
	bad.uplink_bps = 0;
	assert_int_equal(dp_table_new(&bad, p, 1, NULL, NULL, &t, err), -EINVAL);
}

/* r = 2 Mbit/s, L = 1500, o = 4 + 24: wire rate ⌈2e6·1528/1500⌉ =
 * 2,037,334 bit/s; burst 3000 = 2 frames → 3000 + 2·28 = 3056 bytes. */
static void test_wire_envelope_and_boost(void **state)
{
	struct cons_rtpath p[2] = { mk(1, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE),
				    mk(2, 1, 2, VM1, VM2, 17, 6000, CONS_PATH_RESERVATION) };
	uint8_t boost[2] = { 1, 2 };
	struct dp_table *t;
	const struct dp_path *d, *r;

	(void)state;
	assert_int_equal(dp_table_new(&CFG, p, 2, NULL, NULL, &t, NULL), 0);
	d = dp_table_find_id(t, DP_TX, 1);
	assert_int_equal(d->wire_rate_bps, 2037334);
	assert_int_equal(d->wire_burst_bytes, 3056);
	assert_int_equal(d->edf_offset_ns, 5 * MS - 100000);
	assert_int_equal(d->deadline_ns, 5 * MS);
	assert_int_equal(d->tc, 5);
	assert_int_equal(d->dscp, 46);
	assert_true(dp_table_wire_admissible(t));
	assert_int_not_equal(dp_table_headroom(t)->n, 0);
	dp_table_free(t);

	assert_int_equal(dp_table_new(&CFG, p, 2, boost, NULL, &t, NULL), 0);
	d = dp_table_find_id(t, DP_TX, 1);
	r = dp_table_find_id(t, DP_TX, 2);
	assert_int_equal(d->boost, 1);
	assert_int_equal(d->edf_offset_ns,
			 sched_escalate_deadline_ns(5 * MS - 100000, 1, CONS_ESCALATE_FLOOR_NS));
	assert_int_equal(r->service_rate_bps, sched_escalate_rate_bps(10 * MBPS, 2, 100 * MBPS));
	assert_true(r->service_rate_bps > 10 * MBPS);
	dp_table_free(t);
}

/* A set that consensus would have admitted in frame bits but that does not
 * fit on the wire is flagged; without deadline paths there is no headroom
 * to ask (the rule is never consulted). */
static void test_wire_audit(void **state)
{
	struct cons_rtpath p[2] = { mk(1, 1, 2, VM1, VM2, 17, 5000, CONS_PATH_DEADLINE),
				    mk(2, 1, 2, VM1, VM2, 17, 6000, CONS_PATH_RESERVATION) };
	struct dp_table *t;

	(void)state;
	p[0].req.rate_bps = 99 * MBPS;	/* 99 Mbit/s of 1500-byte frames: 100.85 on the wire */
	p[0].req.burst_bytes = 1500;
	p[0].service_rate_bps = p[0].service_rate_base_bps = 99 * MBPS;
	assert_int_equal(dp_table_new(&CFG, p, 1, NULL, NULL, &t, NULL), 0);
	assert_false(dp_table_wire_admissible(t));
	dp_table_free(t);

	assert_int_equal(dp_table_new(&CFG, p + 1, 1, NULL, NULL, &t, NULL), 0);
	assert_int_equal(dp_table_headroom(t)->n, 0);
	assert_true(dp_table_wire_admissible(t));
	dp_table_free(t);
}

/* Per-path state is shared by consecutive snapshots and freed with the last. */
static void test_state_carried(void **state)
{
	struct cons_rtpath p[8];
	struct dp_table *t1, *t2, *t3;
	size_t n = rack(p);

	(void)state;
	assert_int_equal(dp_table_new(&CFG, p, n, NULL, NULL, &t1, NULL), 0);
	assert_int_equal(dp_table_new(&CFG, p, n - 3, NULL, t1, &t2, NULL), 0);	/* 4.. gone */
	assert_ptr_equal(dp_table_find_id(t1, DP_TX, 1)->st, dp_table_find_id(t2, DP_TX, 1)->st);
	assert_null(dp_table_find_id(t2, DP_RX, 4));
	assert_int_equal(dp_table_generation(t2), dp_table_generation(t1) + 1);
	dp_table_free(t1);
	/* path 4 returns: new state; path 1 still shared */
	assert_int_equal(dp_table_new(&CFG, p, n, NULL, t2, &t3, NULL), 0);
	assert_ptr_equal(dp_table_find_id(t2, DP_TX, 1)->st, dp_table_find_id(t3, DP_TX, 1)->st);
	dp_table_free(t2);
	dp_table_free(t3);
}

static struct dp_table *table_gen(size_t n_extra)
{
	struct cons_rtpath p[40];
	struct dp_table *t;
	size_t n = rack(p);

	for (size_t i = 0; i < n_extra && n < 40; i++)
		p[n++] = mk(100 + i, 1, 2, VM1, VM2 + 1 + (uint32_t)i, 17, 7000, CONS_PATH_DEADLINE);
	assert_int_equal(dp_table_new(&CFG, p, n, NULL, NULL, &t, NULL), 0);
	return t;
}

static void test_rcu_sequence(void **state)
{
	struct dp_rcu r;
	struct dp_table *t1 = table_gen(0), *t2 = table_gen(1), *t3 = table_gen(2);
	int rd;

	(void)state;
	dp_rcu_init(&r);
	rd = dp_rcu_register(&r);
	assert_true(rd >= 0);
	assert_int_equal(dp_rcu_publish(&r, t1), 0);
	assert_ptr_equal(dp_rcu_quiescent(&r, rd), t1);
	assert_int_equal(dp_rcu_publish(&r, t2), 0);
	assert_ptr_equal(dp_rcu_current(&r), t2);
	assert_int_equal(dp_rcu_reclaim(&r), 1);	/* the reader may hold t1 */
	assert_ptr_equal(dp_rcu_quiescent(&r, rd), t2);
	assert_int_equal(dp_rcu_reclaim(&r), 0);	/* freed */
	dp_rcu_offline(&r, rd);
	assert_int_equal(dp_rcu_publish(&r, t3), 0);
	assert_int_equal(dp_rcu_reclaim(&r), 0);	/* offline holds nothing */
	dp_rcu_unregister(&r, rd);
	for (int i = 0; i < DP_RCU_MAX_READERS; i++)
		assert_true(dp_rcu_register(&r) >= 0);
	assert_int_equal(dp_rcu_register(&r), -EBUSY);
	dp_rcu_close(&r);
}

struct racer {
	struct dp_rcu *r;
	atomic_bool stop;
	_Atomic uint64_t rounds;
	uint64_t lookups, found;
};

static void *reader_main(void *arg)
{
	struct racer *x = arg;
	int rd = dp_rcu_register(x->r);
	struct dp_flow_key k = { .src_ip = VM1, .dst_ip = VM2, .proto = 17, .dport = 5000 };

	while (!atomic_load(&x->stop)) {
		const struct dp_table *t = dp_rcu_quiescent(x->r, rd);

		for (int i = 0; i < 64; i++) {
			const struct dp_path *p = dp_table_lookup(t, DP_TX, &k);

			x->lookups++;
			if (p && p->id == 1 && p->key.dport == 5000 && dp_path_hist(p) == NULL)
				x->found++;
		}
		if (x->lookups % 4096 == 0)
			dp_rcu_offline(x->r, rd);
		atomic_fetch_add(&x->rounds, 1);
	}
	dp_rcu_unregister(x->r, rd);
	return NULL;
}

/* A reader thread looks up without pause while the writer publishes and
 * reclaims hundreds of snapshots: every lookup finds path 1 in a live
 * table (ASan turns a premature free into a failure). */
static void test_rcu_race(void **state)
{
	struct dp_rcu r;
	struct racer x = { .r = &r };
	pthread_t th;

	(void)state;
	dp_rcu_init(&r);
	assert_int_equal(dp_rcu_publish(&r, table_gen(0)), 0);
	atomic_init(&x.stop, false);
	atomic_init(&x.rounds, 0);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &x), 0);
	for (int i = 0; i < 400; i++) {
		uint64_t seen = atomic_load(&x.rounds);

		assert_int_equal(dp_rcu_publish(&r, table_gen((size_t)i % 8)), 0);
		dp_rcu_reclaim(&r);
		while (atomic_load(&x.rounds) == seen)	/* let the reader run */
			sched_yield();
	}
	atomic_store(&x.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(dp_rcu_reclaim(&r), 0);
	assert_true(x.lookups > 0);
	assert_int_equal(x.found, x.lookups);
	dp_rcu_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_wildcards),
		cmocka_unit_test(test_exact_only_and_dups),
		cmocka_unit_test(test_wire_envelope_and_boost),
		cmocka_unit_test(test_wire_audit),
		cmocka_unit_test(test_state_carried),
		cmocka_unit_test(test_rcu_sequence),
		cmocka_unit_test(test_rcu_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
