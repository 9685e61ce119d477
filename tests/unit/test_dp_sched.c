/* test_dp_sched.c — the egress scheduler (dp/dp_sched.c) on a simulated
 * clock: classification and stamping, policing per type, ICMP for oversized
 * RT frames, edge re-marking, class order, the pacer, table swaps, and seed
 * 000's experiment at the scheduler level: an admitted 5 ms path has no
 * misses under NRT overload at 1.1x the link, while the same traffic
 * without a reservation misses. */
#include "common/bytes.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dp/dp.h"
#include "agent/dataplane/dataplane.h"

#define put16(p, v) rtv_put_be(p, v, 2)
#define put32(p, v) rtv_put_be(p, v, 4)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull
#define MBPS 1000000ull
#define VM1 IP(10, 0, 1, 11)
#define VM2 IP(10, 0, 2, 11)
#define HOST1 IP(10, 0, 1, 1)
#define NET_NS (100 * US)
#define REAL0 (1700000000ull * S + 123456789ull)	/* CLOCK_REALTIME at mono 0 */

/* ---- frames ------------------------------------------------------------------ */

/* An Ethernet/IPv4/UDP frame of `len` bytes (>= 42) at f. */
static uint32_t udp_frame(uint8_t *f, uint32_t len, uint32_t src, uint32_t dst, uint16_t dport,
			  uint8_t tos, bool df)
{
	uint8_t *ip = f + 14;

	memset(f, 0, len);
	memcpy(f, (uint8_t[]){ 2, 0, 0, 0, 2, 1 }, 6);
	memcpy(f + 6, (uint8_t[]){ 2, 0, 0, 0, 1, 1 }, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = tos;
	put16(ip + 2, (uint16_t)(len - 14));
	put16(ip + 4, 7);
	put16(ip + 6, df ? 0x4000 : 0);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, dp_csum(ip, 20));
	put16(ip + 20, 40000);
	put16(ip + 22, dport);
	put16(ip + 24, (uint16_t)(len - 34));
	for (uint32_t i = 42; i < len; i++)
		f[i] = (uint8_t)i;
	return len;
}

/* ---- fixture ----------------------------------------------------------------- */

static struct cons_rtpath path(uint64_t id, uint16_t dport, enum cons_path_type type,
			       uint64_t rate_bps, uint64_t burst_bytes, uint64_t deadline_ns)
{
	struct cons_rtpath p = {
		.id = id, .src_host = 1, .dst_host = 2,
		.req = { .src_ip = VM1, .dst_ip = VM2, .proto = 17, .dport = dport,
			 .type = type, .rate_bps = rate_bps, .burst_bytes = burst_bytes,
			 .deadline_ns = deadline_ns, .max_pkt_bytes = 1514 },
		.tc = type == CONS_PATH_DEADLINE ? 5 : 4,
		.dscp = type == CONS_PATH_DEADLINE ? 46 : 34,
		.service_rate_bps = type == CONS_PATH_DEADLINE ? rate_bps : 4 * rate_bps,
		.service_rate_base_bps = type == CONS_PATH_DEADLINE ? rate_bps : 4 * rate_bps,
		.net_budget_ns = NET_NS,
		.sched_deadline_ns = deadline_ns - NET_NS,
	};
	return p;
}

struct fx {
	struct dp_sched s;
	struct dp_table *t;
	uint64_t now_ns;
};

static struct dp_sched_config sched_cfg(void)
{
	return (struct dp_sched_config){
		.uplink_bps = 100 * MBPS, .overhead_bytes = 24, .mtu = 1500,
		.frame_max_bytes = 2048, .pool_pkts = 4096, .nrt_limit_pkts = 1000,
		.ctl_limit_pkts = 64, .wfq_max_paths = 4, .host_ip = HOST1,
		.edge_remark = true,
	};
}

static void fx_table(struct fx *x, const struct cons_rtpath *p, size_t n, const uint8_t *boost)
{
	struct dp_table_config tc = { .host_id = 1, .uplink_bps = 100 * MBPS,
				      .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	struct dp_table *t;

	assert_int_equal(dp_table_new(&tc, p, n, boost, x->t, &t, NULL), 0);
	dp_sched_adopt(&x->s, t, x->now_ns);
	dp_table_free(x->t);	/* single-threaded test: no reader holds it */
	x->t = t;
}

/* The uplink's MTU: 1504 ("baby giant", as MPLS links are often set) so
 * that full 1514-byte frames can carry the label; the ICMP test uses 1500. */
static void fx_init_mtu(struct fx *x, const struct cons_rtpath *p, size_t n, uint32_t mtu)
{
	struct dp_sched_config c = sched_cfg();

	c.mtu = mtu;
	memset(x, 0, sizeof(*x));
	assert_int_equal(dp_sched_init(&x->s, &c), 0);
	fx_table(x, p, n, NULL);
}

static void fx_init(struct fx *x, const struct cons_rtpath *p, size_t n)
{
	fx_init_mtu(x, p, n, 1504);
}

static void fx_close(struct fx *x)
{
	dp_sched_close(&x->s);
	dp_table_free(x->t);
}

static enum dp_verdict offer(struct fx *x, uint32_t len, uint16_t dport, uint8_t tos,
			     struct dp_desc **reply)
{
	struct dp_desc *d = dp_sched_alloc(&x->s);
	struct dp_now now = { .mono_ns = x->now_ns, .real_ns = REAL0 + x->now_ns };

	assert_non_null(d);
	d->len = udp_frame(d->frame, len, VM1, VM2, dport, tos, true);
	*reply = NULL;
	return dp_sched_enqueue(&x->s, d, &now, reply);
}

/* A UDP frame of len bytes without DF to dport at the fixture's time: no
 * reply is expected (fragmented, not refused). */
static enum dp_verdict offer_nodf(struct fx *x, uint32_t len, uint16_t dport)
{
	struct dp_desc *d = dp_sched_alloc(&x->s), *r = NULL;
	struct dp_now now = { .mono_ns = x->now_ns, .real_ns = REAL0 + x->now_ns };
	enum dp_verdict v;

	assert_non_null(d);
	d->len = udp_frame(d->frame, len, VM1, VM2, dport, 0, false);
	v = dp_sched_enqueue(&x->s, d, &now, &r);
	assert_null(r);
	return v;
}

static enum dp_verdict offer1(struct fx *x, uint32_t len, uint16_t dport)
{
	struct dp_desc *r;
	enum dp_verdict v = offer(x, len, dport, 0, &r);

	assert_int_not_equal(v, DP_V_REPLY);
	return v;
}

/* Dequeues the next frame, advancing the clock to the pacer's time. */
static struct dp_desc *next(struct fx *x)
{
	uint64_t t = dp_sched_next_ns(&x->s, x->now_ns);

	if (t == UINT64_MAX)
		return NULL;
	if (t > x->now_ns)
		x->now_ns = t;
	return dp_sched_dequeue(&x->s, x->now_ns);
}

static uint16_t dport_of(const struct dp_desc *d)
{
	size_t ip = d->frame[12] == 0x88 ? 18 : 14;

	return (uint16_t)(d->frame[ip + 22] << 8 | d->frame[ip + 23]);
}

/* ---- stamping ------------------------------------------------------------------ */

static void test_stamp_rt_and_pass_nrt(void **state)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS);
	uint8_t orig[2048];
	struct fx x;
	struct dp_desc *d;
	uint64_t want_label;

	(void)state;
	fx_init(&x, &p, 1);
	x.now_ns = 1 * S;
	assert_int_equal(offer1(&x, 200, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 200, 6000), DP_V_QUEUED);
	d = next(&x);
	assert_non_null(d);
	/* the RT frame first (an idle link, but RT is not behind anything) —
	 * either order is allowed by the rule; check each by its content */
	for (int i = 0; i < 2; i++) {
		if (dport_of(d) == 5000) {
			want_label = ((REAL0 + 1 * S + 5 * MS) / 1000) % (1u << 20);
			assert_int_equal(d->len, 204);
			assert_int_equal(d->frame[12] << 8 | d->frame[13], 0x8847);
			assert_int_equal((uint32_t)d->frame[14] << 12 | d->frame[15] << 4 |
						 d->frame[16] >> 4, want_label);
			assert_int_equal(d->frame[16] >> 1 & 7, 5);	/* TC */
			assert_int_equal(d->frame[16] & 1, 1);	/* S */
			/* TTL: the marker and the deadline's bits 20..26 */
			assert_int_equal(d->frame[17], 0x80 | ((REAL0 + 1 * S + 5 * MS) / 1000 >> 20 &
							       0x7f));
			assert_int_equal(d->frame[18 + 1] >> 2, 46);	/* DSCP EF */
			assert_int_equal(dp_csum(d->frame + 18, 20), 0);
		} else {
			udp_frame(orig, 200, VM1, VM2, 6000, 0, true);
			assert_int_equal(d->len, 200);
			assert_memory_equal(d->frame, orig, 200);	/* untouched */
		}
		dp_sched_free(&x.s, d);
		d = i == 0 ? next(&x) : NULL;
		assert_true(i == 1 || d != NULL);
	}
	assert_int_equal(atomic_load(&x.s.stats.rt_frames), 1);
	assert_int_equal(atomic_load(&x.s.stats.nrt_frames), 1);
	fx_close(&x);
}

static void test_too_big_icmp(void **state)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS);
	struct fx x;
	struct dp_desc *r;
	int replies = 0;

	(void)state;
	fx_init_mtu(&x, &p, 1, 1500);
	/* 1497 bytes of IP + 4 > 1500: answered; 1496 + 4 fits */
	assert_int_equal(offer(&x, 14 + 1497, 5000, 0, &r), DP_V_REPLY);
	assert_non_null(r);
	assert_int_equal(r->frame[14 + 20], 3);
	assert_int_equal(r->frame[14 + 21], 4);
	assert_int_equal(r->frame[14 + 26] << 8 | r->frame[14 + 27], 1496);
	assert_int_equal(dp_csum(r->frame + 14, 20), 0);
	assert_int_equal(dp_csum(r->frame + 34, r->len - 34), 0);
	assert_int_equal((uint32_t)r->frame[26] << 24 | r->frame[27] << 16 | r->frame[28] << 8 |
				 r->frame[29], HOST1);
	dp_sched_free(&x.s, r);
	assert_int_equal(offer1(&x, 14 + 1496, 5000), DP_V_QUEUED);
	/* NRT frames are not the scheduler's to answer: a full 1500 goes */
	assert_int_equal(offer1(&x, 14 + 1500, 6000), DP_V_QUEUED);
	/* rate limit: the burst (10) then nothing at the same instant */
	for (int i = 0; i < 20; i++)
		if (offer(&x, 14 + 1500, 5000, 0, &r) == DP_V_REPLY) {
			replies++;
			dp_sched_free(&x.s, r);
		}
	assert_int_equal(replies, 9);	/* one was spent above */
	assert_int_equal(atomic_load(&x.s.stats.icmp_sent), 10);
	assert_int_equal(atomic_load(&x.s.stats.icmp_ratelimited), 11);
	assert_int_equal(atomic_load(&x.s.stats.drop_too_big), 21);
	fx_close(&x);
}

/* Without DF the same frame is fragmented (dp_frag.c): every fragment fits
 * MTU − 4, is labelled with the path's deadline and class, and the
 * payloads put back together are the original's. */
static void test_too_big_fragmented(void **state)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 20 * MBPS, 30000, 5 * MS);
	uint8_t orig[2048];
	struct dp_desc *d;
	struct fx x;
	uint32_t got = 0, label = 0;
	int n = 0;

	(void)state;
	fx_init_mtu(&x, &p, 1, 1500);
	udp_frame(orig, 14 + 1500, VM1, VM2, 5000, 0, false);
	assert_int_equal(offer_nodf(&x, 14 + 1500, 5000), DP_V_QUEUED);
	while ((d = next(&x))) {
		const uint8_t *ip = d->frame + 18;
		uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]), word = (uint16_t)(ip[6] << 8 | ip[7]);
		uint32_t l = (uint32_t)d->frame[14] << 12 | d->frame[15] << 4 | d->frame[16] >> 4;

		assert_int_equal(d->frame[12] << 8 | d->frame[13], 0x8847);
		assert_true(n == 0 || l == label);	/* one deadline for the datagram */
		label = l;
		assert_true(tot + 4u <= 1500);
		assert_int_equal(dp_csum(ip, 20), 0);
		assert_int_equal((word & 0x1fff) * 8u, got);
		assert_memory_equal(ip + 20, orig + 34 + got, tot - 20u);
		got += tot - 20u;
		n++;
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(n, 2);
	assert_int_equal(got, 1480);
	assert_int_equal(atomic_load(&x.s.stats.fragmented), 1);
	assert_int_equal(atomic_load(&x.s.stats.frag_out), 2);
	assert_int_equal(atomic_load(&x.s.stats.rt_frames), 2);
	assert_int_equal(atomic_load(&x.s.stats.drop_too_big), 0);
	fx_close(&x);
}

/* Fragments are policed as one datagram: over the bucket, a reservation's
 * datagram is dropped whole and a deadline path's demoted whole (no label on
 * any piece), never split between the two fates. */
static void test_fragments_policed_whole(void **state)
{
	/* burst 2000 wire bytes: the first 1500-byte datagram (2 fragments,
	 * 1,570 wire bytes) fits, the second does not */
	struct cons_rtpath p[2] = { path(1, 5000, CONS_PATH_DEADLINE, 1 * MBPS, 2000, 5 * MS),
				    path(2, 5001, CONS_PATH_RESERVATION, 1 * MBPS, 2000, 5 * MS) };
	struct dp_desc *d;
	int labelled = 0, plain = 0;
	struct fx x;

	(void)state;
	fx_init_mtu(&x, p, 2, 1500);
	for (int k = 0; k < 4; k++)
		offer_nodf(&x, 14 + 1500, k < 2 ? 5000 : 5001);
	while ((d = next(&x))) {
		if (d->frame[12] == 0x88)
			labelled++;
		else
			plain++;
		dp_sched_free(&x.s, d);
	}
	/* deadline: 2 labelled, then 2 demoted; reservation: 2 labelled, 2 dropped */
	assert_int_equal(labelled, 4);
	assert_int_equal(plain, 2);
	assert_int_equal(atomic_load(&x.s.stats.demoted), 2);
	assert_int_equal(atomic_load(&x.s.stats.drop_policed), 2);
	assert_int_equal(atomic_load(&x.s.stats.fragmented), 4);
	fx_close(&x);
}

/* burst = 2 frames of 1514 (+28 on the wire each): frames 3.. of a
 * back-to-back run exceed it. */
static void test_policing_per_type(void **state)
{
	struct cons_rtpath p[2] = { path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS),
				    path(2, 5001, CONS_PATH_RESERVATION, 2 * MBPS, 3028, 5 * MS) };
	struct dp_path_counters c;
	struct fx x;
	int rt = 0, plain = 0;
	struct dp_desc *d;

	(void)state;
	fx_init(&x, p, 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	for (int i = 0; i < 5; i++)
		assert_int_equal(offer1(&x, 1514, 5001), i < 2 ? DP_V_QUEUED : DP_V_DROPPED);
	assert_int_equal(atomic_load(&x.s.stats.demoted), 3);
	assert_int_equal(atomic_load(&x.s.stats.drop_policed), 3);
	dp_path_counters(dp_table_find_id(x.t, DP_TX, 1), &c);
	assert_int_equal(c.tx_pkts, 2);
	assert_int_equal(c.tx_demoted, 3);
	dp_path_counters(dp_table_find_id(x.t, DP_TX, 2), &c);
	assert_int_equal(c.tx_policed, 3);
	while ((d = next(&x)) != NULL) {
		if (d->frame[12] == 0x88)
			rt++;
		else
			plain++;	/* demoted: unlabelled */
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(rt, 4);
	assert_int_equal(plain, 3);
	/* the bucket refills: 1542 wire bytes at ~2.06 Mbit/s take ~6 ms */
	x.now_ns += 7 * MS;
	assert_int_equal(offer1(&x, 1514, 5001), DP_V_QUEUED);
	fx_close(&x);
}

/* ---- the policer's tolerance for the host switch (dp_police.c) -------------------- */

/* The tolerance is the longest silence on rtv-int over the last one to two
 * windows, capped; a window with no frame forgets. */
static void test_cdv_estimate(void **state)
{
	struct dp_cdv c;

	(void)state;
	dp_cdv_init(&c, 20 * MS, 1 * S);
	dp_cdv_arrival(&c, 1 * S);
	assert_int_equal(dp_cdv_tolerance(&c), 0);
	for (uint64_t t = 1 * S; t < 1 * S + 500 * MS; t += 100 * US)
		dp_cdv_arrival(&c, t);
	assert_int_equal(dp_cdv_tolerance(&c), 100 * US);
	dp_cdv_arrival(&c, 1 * S + 506900 * US);	/* a 7 ms stall */
	assert_int_equal(dp_cdv_tolerance(&c), 7 * MS);
	dp_cdv_arrival(&c, 1 * S + 506900 * US);	/* ties are not silences */
	for (uint64_t t = 1 * S + 508 * MS; t < 3 * S + 100 * MS; t += 100 * US)
		dp_cdv_arrival(&c, t);
	/* two windows later the stall is forgotten */
	assert_int_equal(dp_cdv_tolerance(&c), 100 * US);
	dp_cdv_arrival(&c, 3 * S + 200 * MS);	/* 100 ms: capped */
	assert_int_equal(dp_cdv_tolerance(&c), 20 * MS);
	dp_cdv_init(&c, 0, 0);			/* cap 0: no tolerance at all */
	dp_cdv_arrival(&c, 1 * S);
	dp_cdv_arrival(&c, 2 * S);
	assert_int_equal(dp_cdv_tolerance(&c), 0);
}

struct sw_result {
	uint64_t sent, demoted, tolerated, rt;
};

/* A host whose switch stalls: VM1 sends the deadline rtpath's 1514-byte
 * frames every period_ns (6.06 ms is exactly its 2 Mbit/s; burst: 2
 * frames), a neighbour VM sends a 200-byte NRT frame every 100 µs, and the
 * switch forwards each frame 50 µs after its VM sent it, except that it
 * stalls for 30 ms at 0.5 s, 1.0 s and 1.5 s and then hands over what it
 * held, in order, at once. The link (100 Mbit/s) drains as it goes. */
static void switch_run(bool cdv, uint64_t period_ns, struct sw_result *r)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS);
	struct dp_sched_config c = sched_cfg();
	uint64_t rt_next = 0, nrt_next = 0, end = 2 * S;
	struct dp_desc *d;
	struct fx x;

	c.mtu = 1504;
	c.cdv_off = !cdv;
	memset(&x, 0, sizeof(x));
	memset(r, 0, sizeof(*r));
	assert_int_equal(dp_sched_init(&x.s, &c), 0);
	fx_table(&x, &p, 1, NULL);
	while (rt_next < end || nrt_next < end) {
		bool rt = rt_next <= nrt_next;
		uint64_t sent = rt ? rt_next : nrt_next, at = sent + 50 * US;

		for (uint64_t s0 = 500 * MS; s0 < end; s0 += 500 * MS)
			if (sent >= s0 && sent < s0 + 30 * MS)
				at = s0 + 30 * MS;	/* held by the stall */
		if (at > x.now_ns)
			x.now_ns = at;
		while ((d = dp_sched_dequeue(&x.s, x.now_ns)) != NULL)
			dp_sched_free(&x.s, d);
		offer1(&x, rt ? 1514 : 200, rt ? 5000 : 6000);
		if (rt) {
			r->sent++;
			rt_next += period_ns;
		} else {
			nrt_next += 100 * US;
		}
	}
	r->demoted = atomic_load(&x.s.stats.demoted);
	r->tolerated = atomic_load(&x.s.stats.tolerated);
	r->rt = atomic_load(&x.s.stats.rt_frames);
	fx_close(&x);
}

/* A sender exactly in profile is demoted after each stall when the policer
 * ignores the switch, and never with the tolerance; a sender at 1.5 times
 * its rate is still demoted (a third of its frames, give or take the
 * r·τ the tolerance adds once). */
static void test_policer_switch_tolerance(void **state)
{
	struct sw_result r;

	(void)state;
	switch_run(false, 6060 * US, &r);
	assert_true(r.sent >= 330);
	assert_true(r.demoted >= 3);		/* what hole 2 was */
	switch_run(true, 6060 * US, &r);
	assert_int_equal(r.demoted, 0);
	assert_int_equal(r.rt, r.sent);
	assert_true(r.tolerated >= 3);		/* the catch-up bursts */
	switch_run(true, 4040 * US, &r);	/* 1.5 x the rate */
	assert_true(r.sent >= 490);
	assert_true(r.demoted >= r.sent / 4);
	assert_true(r.demoted <= r.sent / 3 + 10);
}

/* The NRT queue holds time, not a count: a frame (a demoted one too) that
 * waited longer than nrt_sojourn_ns (default 5 ms at 100 Mbit/s: 16 frames
 * of 2,048 + 24 bytes take 2.65 ms, less than the 5 ms floor) is dropped and
 * counted when the link could take it; a fresh one behind it is sent. */
static void test_nrt_sojourn(void **state)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS);
	struct fx x;
	struct dp_desc *d;
	int sent = 0;

	(void)state;
	fx_init(&x, &p, 1);
	assert_int_equal(x.s.cfg.nrt_sojourn_ns, 5 * MS);
	for (int i = 0; i < 2; i++) {	/* 2 fit the 3,028-byte bucket and leave */
		assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
		d = next(&x);
		assert_non_null(d);
		assert_int_equal(d->frame[12], 0x88);
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);	/* the 3rd: demoted */
	assert_int_equal(atomic_load(&x.s.stats.demoted), 1);
	for (int i = 0; i < 40; i++)	/* 40 NRT frames: 5 ms of the link at 100 Mbit/s */
		assert_int_equal(offer1(&x, 1514, 6000), DP_V_QUEUED);
	x.now_ns += 6 * MS;		/* the link stalls (a busy host) for 6 ms */
	/* everything queued is now older than 5 ms: dropped, not sent */
	assert_null(next(&x));
	assert_int_equal(atomic_load(&x.s.stats.drop_nrt_sojourn), 41);
	assert_int_equal(atomic_load(&x.s.stats.drop_demoted_sojourn), 1);
	assert_int_equal(atomic_load(&x.s.stats.backlog[DP_Q_NRT]), 0);
	/* a fresh frame goes out at once */
	assert_int_equal(offer1(&x, 1514, 6000), DP_V_QUEUED);
	while ((d = next(&x)) != NULL) {
		sent++;
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(sent, 1);
	assert_int_equal(atomic_load(&x.s.stats.drop_nrt_sojourn), 41);
	fx_close(&x);
}

/* WFQ (reservation) before EDF; EDF by deadline; the pacer spaces frames
 * by their wire time (1514 + 4 + 24 bytes at 100 Mbit/s = 123,360 ns). */
static void test_order_and_pacer(void **state)
{
	struct cons_rtpath p[3] = { path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 10 * MS),
				    path(2, 5001, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS),
				    path(3, 5002, CONS_PATH_RESERVATION, 2 * MBPS, 3028, 5 * MS) };
	uint16_t want[3] = { 5002, 5001, 5000 };
	struct fx x;
	uint64_t t0;

	(void)state;
	fx_init(&x, p, 3);
	x.now_ns = 10 * MS;
	/* nothing sent yet: a blocker first so the three queue up */
	assert_int_equal(offer1(&x, 1514, 9), DP_V_QUEUED);
	struct dp_desc *b = next(&x);
	assert_non_null(b);
	dp_sched_free(&x.s, b);
	t0 = x.now_ns;
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 5001), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 5002), DP_V_QUEUED);
	assert_null(dp_sched_dequeue(&x.s, x.now_ns));	/* the blocker is on the wire */
	assert_int_equal(dp_sched_next_ns(&x.s, x.now_ns), t0 + 1538 * 80);
	for (int i = 0; i < 3; i++) {
		struct dp_desc *d = next(&x);

		assert_non_null(d);
		assert_int_equal(dport_of(d), want[i]);
		assert_int_equal(x.now_ns, t0 + 1538 * 80 + (uint64_t)i * 1542 * 80);
		dp_sched_free(&x.s, d);
	}
	assert_null(next(&x));
	fx_close(&x);
}

/* An NRT frame goes before queued RT when the headroom allows it (a far
 * deadline) and not when it does not (the deadline is too near). */
static void test_nrt_rule(void **state)
{
	struct cons_rtpath p = path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS);
	struct fx x;
	struct dp_desc *d;

	(void)state;
	fx_init(&x, &p, 1);
	assert_int_equal(offer1(&x, 1514, 9), DP_V_QUEUED);	/* blocker */
	dp_sched_free(&x.s, next(&x));
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 6000), DP_V_QUEUED);
	d = next(&x);
	assert_int_equal(dport_of(d), 6000);	/* 4.9 ms of slack: NRT first */
	dp_sched_free(&x.s, d);
	assert_int_equal(atomic_load(&x.s.stats.nrt_overtakes), 1);
	dp_sched_free(&x.s, next(&x));

	/* RT queued with its deadline 150 µs away: one NRT frame (123 µs on
	 * the wire) plus the RT frame no longer fit */
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	x.now_ns += 5 * MS - NET_NS - 150 * US;
	assert_int_equal(offer1(&x, 1514, 6000), DP_V_QUEUED);
	d = next(&x);
	assert_int_equal(dport_of(d), 5000);
	dp_sched_free(&x.s, d);
	dp_sched_free(&x.s, next(&x));
	fx_close(&x);
}

static void test_edge_policy(void **state)
{
	struct fx x;
	struct dp_desc *d;
	struct dp_now now = { 0, REAL0 };
	struct dp_desc *r;

	(void)state;
	fx_init(&x, NULL, 0);
	/* a VM claiming EF: cleared, checksum still valid */
	assert_int_equal(offer(&x, 100, 7, 46 << 2 | 1, &r), DP_V_QUEUED);
	d = next(&x);
	assert_int_equal(d->frame[15], 1);	/* DSCP 0, ECN kept */
	assert_int_equal(dp_csum(d->frame + 14, 20), 0);
	dp_sched_free(&x.s, d);
	assert_int_equal(atomic_load(&x.s.stats.remarked), 1);
	/* the host's own CS6 control traffic keeps its mark, in the control queue */
	d = dp_sched_alloc(&x.s);
	d->len = udp_frame(d->frame, 100, HOST1, VM2, 7000, 48 << 2, false);
	assert_int_equal(dp_sched_enqueue(&x.s, d, &now, &r), DP_V_QUEUED);
	assert_int_equal(atomic_load(&x.s.stats.ctl_frames), 1);
	d = next(&x);
	assert_int_equal(d->frame[15], 48 << 2);
	dp_sched_free(&x.s, d);
	/* a VM sending MPLS is dropped; ARP and runts */
	d = dp_sched_alloc(&x.s);
	d->len = udp_frame(d->frame, 100, VM1, VM2, 7, 0, false);
	d->frame[12] = 0x88;
	d->frame[13] = 0x47;
	assert_int_equal(dp_sched_enqueue(&x.s, d, &now, &r), DP_V_DROPPED);
	assert_int_equal(atomic_load(&x.s.stats.drop_vm_mpls), 1);
	d = dp_sched_alloc(&x.s);
	d->len = udp_frame(d->frame, 60, VM1, VM2, 7, 0, false);
	d->frame[12] = 0x08;
	d->frame[13] = 0x06;
	assert_int_equal(dp_sched_enqueue(&x.s, d, &now, &r), DP_V_QUEUED);
	d = dp_sched_alloc(&x.s);
	d->len = 10;
	assert_int_equal(dp_sched_enqueue(&x.s, d, &now, &r), DP_V_DROPPED);
	assert_int_equal(atomic_load(&x.s.stats.drop_runt), 1);
	fx_close(&x);
}

/* A reservation path removed while packets are queued: they still leave,
 * then its slot is released and a new path can take it (4 slots). */
static void test_swap_and_slots(void **state)
{
	struct cons_rtpath p[6];
	struct fx x;
	struct dp_desc *d;
	int n = 0;

	(void)state;
	for (int i = 0; i < 6; i++)
		p[i] = path(10 + (uint64_t)i, (uint16_t)(5000 + i), CONS_PATH_RESERVATION, 2 * MBPS,
			    3028, 5 * MS);
	fx_init(&x, p, 4);
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	fx_table(&x, p + 1, 4, NULL);	/* 10 out, 14 in: no free slot yet */
	assert_int_equal(offer1(&x, 1514, 5004), DP_V_QUEUED);
	assert_int_equal(atomic_load(&x.s.stats.wfq_no_slot), 1);	/* went by deadline */
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);	/* 10 is NRT now */
	while ((d = next(&x)) != NULL) {
		n++;
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(n, 4);
	dp_sched_housekeep(&x.s);
	fx_table(&x, p + 1, 5, NULL);	/* 15 arrives: 10's slot is free again */
	assert_int_equal(offer1(&x, 1514, 5005), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 5004), DP_V_QUEUED);
	assert_int_equal(atomic_load(&x.s.stats.wfq_no_slot), 2);	/* 14 or 15 waits */
	while ((d = next(&x)) != NULL)
		dp_sched_free(&x.s, d);
	fx_close(&x);
}

/* ---- telemetry --------------------------------------------------------------- */

static uint64_t queue_len_of(struct fx *x, enum dp_qkind k)
{
	uint64_t q[DP_Q_KINDS];

	dp_sched_backlog(&x->s, &q[DP_Q_EDF], &q[DP_Q_WFQ], &q[DP_Q_CTL], &q[DP_Q_NRT]);
	return q[k];
}

/* The exported bucket of a value the dataplane recorded in ns: the first
 * bound at or above its dp_hist bucket's upper edge (agent/dataplane/dataplane_metrics.c). */
static size_t tm_bucket(uint64_t v_ns)
{
	double high_s = (double)dp_hist_bucket_high(dp_hist_bucket(v_ns)) / 1e9;
	size_t j = 0;

	while (j < AGENT_TM_DELAY_BUCKETS && agent_tm_delay_bounds_s[j] < high_s)
		j++;
	return j;
}

static uint64_t gauge(struct fx *x, enum dp_qkind k)
{
	return atomic_load(&x->s.stats.backlog[k]);
}

/* The backlog gauges follow each queue, and each frame's time from enqueue
 * to dequeue (simulated clock) lands in its class's queue-delay histogram:
 * counts, sums and extremes per class match what the test saw. */
static void test_backlog_and_queue_delay(void **state)
{
	struct cons_rtpath p[2] = { path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS),
				    path(2, 5001, CONS_PATH_RESERVATION, 2 * MBPS, 3028, 5 * MS) };
	struct dp_now now;
	struct dp_desc *d, *r;
	struct fx x;
	uint64_t t0, edf, wfq, ctl, nrt, delay;
	uint64_t count[DP_QC_N] = { 0 }, sum[DP_QC_N] = { 0 }, max[DP_QC_N] = { 0 };
	struct agent_tm_hist want[DP_QC_N];
	static const int tm_class[DP_QC_N] = { [DP_QC_RT] = AGENT_TM_RT,
					       [DP_QC_NRT] = AGENT_TM_NRT,
					       [DP_QC_CTL] = AGENT_TM_CTL };
	struct agent_tm_dp_host o;
	static struct dp_rx rx;
	struct dp_rx_config rc = { 0 };
	int c;

	(void)state;
	fx_init(&x, p, 2);
	dp_rx_init(&rx, &rc);
	memset(want, 0, sizeof(want));
	want[DP_QC_NRT].counts[tm_bucket(0)] = 1;
	x.now_ns = 10 * MS;
	for (int k = 0; k < DP_Q_KINDS; k++)
		assert_int_equal(gauge(&x, (enum dp_qkind)k), 0);
	/* a blocker sent at once: an NRT delay of 0 */
	assert_int_equal(offer1(&x, 1514, 9), DP_V_QUEUED);
	assert_int_equal(gauge(&x, DP_Q_NRT), 1);
	dp_sched_free(&x.s, next(&x));
	assert_int_equal(x.now_ns, 10 * MS);
	assert_int_equal(gauge(&x, DP_Q_NRT), 0);
	count[DP_QC_NRT] = 1;

	t0 = x.now_ns;
	assert_int_equal(offer1(&x, 200, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 200, 5000), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 200, 5001), DP_V_QUEUED);
	for (int i = 0; i < 3; i++)
		assert_int_equal(offer1(&x, 1000, 6000), DP_V_QUEUED);
	d = dp_sched_alloc(&x.s);	/* the host's control traffic */
	d->len = udp_frame(d->frame, 100, HOST1, VM2, 7000, 48 << 2, false);
	now = (struct dp_now){ .mono_ns = x.now_ns, .real_ns = REAL0 + x.now_ns };
	assert_int_equal(dp_sched_enqueue(&x.s, d, &now, &r), DP_V_QUEUED);
	dp_sched_backlog(&x.s, &edf, &wfq, &ctl, &nrt);
	assert_int_equal(gauge(&x, DP_Q_EDF), 2);
	assert_int_equal(gauge(&x, DP_Q_WFQ), 1);
	assert_int_equal(gauge(&x, DP_Q_CTL), 1);
	assert_int_equal(gauge(&x, DP_Q_NRT), 3);
	assert_int_equal(edf + wfq + ctl + nrt, 7);
	assert_int_equal(gauge(&x, DP_Q_EDF), edf);
	assert_int_equal(gauge(&x, DP_Q_NRT), nrt);
	/* as exported */
	memset(&o, 0, sizeof(o));
	agent_dp_tm_host_read(&x.s.stats, &rx.stats, &o);
	assert_int_equal(o.backlog[AGENT_TM_Q_EDF], 2);
	assert_int_equal(o.backlog[AGENT_TM_Q_WFQ], 1);
	assert_int_equal(o.backlog[AGENT_TM_Q_CTL], 1);
	assert_int_equal(o.backlog[AGENT_TM_Q_NRT], 3);

	/* drain (the pacer spaces them): every delay is dequeue time − t0 */
	while ((d = next(&x)) != NULL) {
		enum dp_qkind k = (enum dp_qkind)d->kind;

		c = k == DP_Q_NRT ? DP_QC_NRT : k == DP_Q_CTL ? DP_QC_CTL : DP_QC_RT;
		delay = x.now_ns - t0;
		count[c]++;
		sum[c] += delay;
		if (delay > max[c])
			max[c] = delay;
		want[c].counts[tm_bucket(delay)]++;
		assert_int_equal(gauge(&x, k), queue_len_of(&x, k));
		dp_sched_free(&x.s, d);
	}
	assert_int_equal(count[DP_QC_RT], 3);
	assert_int_equal(count[DP_QC_NRT], 4);
	assert_int_equal(count[DP_QC_CTL], 1);
	for (c = 0; c < DP_QC_N; c++) {
		const struct dp_hist *h = &x.s.stats.queue_delay[c];

		assert_int_equal(atomic_load(&h->count), count[c]);
		assert_int_equal(atomic_load(&h->sum), sum[c]);
		assert_int_equal(atomic_load(&h->max), max[c]);
		assert_true(max[c] > 0);	/* the pacer made every class wait */
		assert_int_equal(atomic_load(&h->b[dp_hist_bucket(max[c])]) > 0, 1);
	}
	assert_int_equal(atomic_load(&x.s.stats.queue_delay[DP_QC_NRT].min), 0);
	for (int k = 0; k < DP_Q_KINDS; k++)
		assert_int_equal(gauge(&x, (enum dp_qkind)k), 0);
	/* as exported: each delay in its bucket, per class; the sum in seconds */
	memset(&o, 0, sizeof(o));
	agent_dp_tm_host_read(&x.s.stats, &rx.stats, &o);
	for (c = 0; c < DP_QC_N; c++) {
		const struct agent_tm_hist *got = &o.queue_delay[tm_class[c]];

		assert_memory_equal(got->counts, want[c].counts, sizeof(want[c].counts));
		assert_true(got->sum_s == (double)sum[c] / 1e9);
	}
	for (int q = 0; q < AGENT_TM_QUEUE_N; q++)
		assert_int_equal(o.backlog[q], 0);
	fx_close(&x);
}

/* A local boost shortens the EDF offset: the boosted path wins. */
static void test_boost(void **state)
{
	struct cons_rtpath p[2] = { path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 10 * MS),
				    path(2, 5001, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 8 * MS) };
	uint8_t boost[2] = { 1, 0 };
	struct fx x;
	struct dp_desc *d;

	(void)state;
	fx_init(&x, p, 2);
	fx_table(&x, p, 2, boost);	/* 10 ms → (10 − 0.1)/2 ms < 7.9 ms */
	assert_int_equal(offer1(&x, 1514, 9), DP_V_QUEUED);
	dp_sched_free(&x.s, next(&x));
	assert_int_equal(offer1(&x, 1514, 5001), DP_V_QUEUED);
	assert_int_equal(offer1(&x, 1514, 5000), DP_V_QUEUED);
	d = next(&x);
	assert_int_equal(dport_of(d), 5000);
	dp_sched_free(&x.s, d);
	dp_sched_free(&x.s, next(&x));
	fx_close(&x);
}

/* ---- experiment 1 at the scheduler level --------------------------------------- */

/* Seed 000's flows scaled to the lab's 100 Mbit/s: A 2 Mbit/s with D 5 ms,
 * B 2 Mbit/s with D 10 ms, NRT offered at 110 Mbit/s, 1,514-byte frames,
 * constant-rate sources with co-prime phases, 60 s of simulated time
 * (10^4 packets of A). A miss: the frame's last bit leaves after arrival +
 * D − network budget (the sender's share of the deadline). */
struct flow {
	uint16_t dport;
	uint64_t rate_bps, deadline_ns, next_ns, step_ns;
	uint64_t arrived, sent, misses, max_wait_ns;
};

struct exp_result {
	uint64_t misses[3], sent[3], arrived[3];
	uint64_t busy_ns, end_ns;
};

static void exp_run(bool reserve, struct exp_result *res)
{
	struct cons_rtpath p[2] = { path(1, 5000, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 5 * MS),
				    path(2, 5001, CONS_PATH_DEADLINE, 2 * MBPS, 3028, 10 * MS) };
	struct flow f[3] = {
		{ .dport = 5000, .rate_bps = 2 * MBPS, .deadline_ns = 5 * MS, .next_ns = 1111 },
		{ .dport = 5001, .rate_bps = 2 * MBPS, .deadline_ns = 10 * MS, .next_ns = 3333 },
		{ .dport = 6000, .rate_bps = 110 * MBPS, .next_ns = 0 },
	};
	const uint64_t end = 60 * S;
	struct fx x;

	fx_init(&x, p, reserve ? 2 : 0);
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < 3; i++)
		f[i].step_ns = 1514 * 8 * S / f[i].rate_bps;
	for (;;) {
		int k = 0;
		uint64_t tx = dp_sched_next_ns(&x.s, x.now_ns);

		for (int i = 1; i < 3; i++)
			if (f[i].next_ns < f[k].next_ns)
				k = i;
		if (tx != UINT64_MAX && (tx < f[k].next_ns || f[k].next_ns >= end)) {
			struct dp_desc *d;
			int i;

			x.now_ns = tx > x.now_ns ? tx : x.now_ns;
			d = dp_sched_dequeue(&x.s, x.now_ns);
			assert_non_null(d);
			for (i = 0; i < 2 && f[i].dport != dport_of(d); i++)
				;
			/* the pacer's free time is this frame's end on the wire */
			uint64_t end_ns = x.s.pacer.free_ns;

			res->sent[i]++;
			if (f[i].deadline_ns && end_ns > d->sp.enq_ns + f[i].deadline_ns - NET_NS)
				res->misses[i]++;
			res->busy_ns += (uint64_t)(d->len + 24) * 80;
			res->end_ns = end_ns;
			dp_sched_free(&x.s, d);
			continue;
		}
		if (f[k].next_ns >= end)
			break;
		x.now_ns = f[k].next_ns;
		res->arrived[k]++;
		offer1(&x, 1514, f[k].dport);
		f[k].next_ns += f[k].step_ns;
	}
	fx_close(&x);
}

static void test_exp1_admitted_path_no_misses(void **state)
{
	struct exp_result with, without;

	(void)state;
	exp_run(true, &with);
	assert_true(with.arrived[0] >= 9900);
	assert_int_equal(with.sent[0], with.arrived[0]);	/* nothing demoted or lost */
	assert_int_equal(with.misses[0], 0);
	assert_int_equal(with.misses[1], 0);
	/* NRT keeps the link busy: at least 99 % of the 60 s */
	assert_true(with.busy_ns * 100 >= 99 * 60 * S);

	/* the same traffic with no reservation: A waits behind 1000 NRT frames */
	exp_run(false, &without);
	assert_true(without.misses[0] > without.sent[0] / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_rt_and_pass_nrt),
		cmocka_unit_test(test_too_big_icmp),
		cmocka_unit_test(test_too_big_fragmented),
		cmocka_unit_test(test_fragments_policed_whole),
		cmocka_unit_test(test_policing_per_type),
		cmocka_unit_test(test_nrt_sojourn),
		cmocka_unit_test(test_order_and_pacer),
		cmocka_unit_test(test_nrt_rule),
		cmocka_unit_test(test_edge_policy),
		cmocka_unit_test(test_swap_and_slots),
		cmocka_unit_test(test_boost),
		cmocka_unit_test(test_backlog_and_queue_delay),
		cmocka_unit_test(test_exp1_admitted_path_no_misses),
		cmocka_unit_test(test_cdv_estimate),
		cmocka_unit_test(test_policer_switch_tolerance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
