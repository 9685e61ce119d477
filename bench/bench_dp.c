/* bench_dp.c — per-packet cost of the dataplane's work (group `dp`), beside
 * what seed 000's paper reports for RTvNIC on its own hosts (MPLS push 32 µs,
 * pop 23 µs, EDF scheduling 101 µs per packet): a paper's number, not a
 * same-run baseline. Target: <= 1 µs each.
 *
 *   dp.stamp.ns  egress work on an RT frame short of queueing: parse,
 *                classify against a table of 1,000 rtpaths, set the DSCP
 *                (incremental checksum), push the label (dp_pkt.c, dp_table.c)
 *   dp.pop.ns    ingress work on a labelled frame: pop, parse, classify,
 *                deadline check, one-way delay into the path's histogram
 *                (dp_rx_frame)
 *   dp.sched.ns  dp_sched_enqueue (parse, classify, police, stamp, queue)
 *                plus dp_sched_dequeue (WF²Q+ / EDF / NRT rule / pacer) per
 *                frame in steady state with ~1,000 frames queued: 7/8 of the
 *                traffic on deadline paths, 1/16 on reservation paths, 1/16
 *                NRT. Each step also writes a 64-byte header template into
 *                the descriptor, as receiving a frame would.
 *
 * The clock is simulated (the pacer is never the limit: time advances by
 * three times each frame's wire time on a 100 Gbit/s link; path rates are
 * set so that no frame is policed). Frames are 1,000 bytes; the working set of frames is
 * small enough to stay in cache, as a frame just copied in by recvmmsg is.
 * Timed in this thread's CPU time; each figure is the median of REPS runs.
 * Not measured here: the system calls (recvmmsg/sendmmsg amortised over a
 * batch) — see tests/system/dp_veth.sh for the real path.
 */
#include "common/bytes.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp/dp.h"
#include "bench/report.h"

#define put16(p, v) rtv_put_be(p, v, 2)
#define put32(p, v) rtv_put_be(p, v, 4)

#define N_PATHS 1000
#define N_FRAMES 256
#define FRAME_BYTES 1000
#define REPS 11
#define ROUNDS 200		/* stamp/pop: rounds over the N_FRAMES frames per run */
#define SCHED_STEPS 200000
#define BACKLOG 1000
#define LINK_BPS 100000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_dp: %s\n", what);
	exit(1);
}

/* Path i: 10.1.x.y → 10.2.x.y, UDP port 5000 + i % 1000. */
static uint32_t src_of(uint32_t i) { return IP(10, 1, i >> 8, i & 255); }
static uint32_t dst_of(uint32_t i) { return IP(10, 2, i >> 8, i & 255); }

static struct dp_table *table(uint64_t host)
{
	static struct cons_rtpath p[N_PATHS];
	struct dp_table_config tc = { .host_id = host, .uplink_bps = LINK_BPS,
				      .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	struct dp_table *t;

	for (uint32_t i = 0; i < N_PATHS; i++) {
		bool resv = i % 16 == 15;

		p[i] = (struct cons_rtpath){
			.id = i + 1, .src_host = 1, .dst_host = 2,
			.req = { .src_ip = src_of(i), .dst_ip = dst_of(i), .proto = 17,
				 .dport = (uint16_t)(5000 + i), .rate_bps = 50000000,
				 .burst_bytes = 1000000, .deadline_ns = 1000000 + 10000ull * i,
				 .max_pkt_bytes = 1514,
				 .type = resv ? CONS_PATH_RESERVATION : CONS_PATH_DEADLINE },
			.tc = resv ? 4 : 5, .dscp = resv ? 34 : 46,
			.service_rate_bps = 50000000, .service_rate_base_bps = 50000000,
			.net_budget_ns = 50000, .sched_deadline_ns = 950000 + 10000ull * i,
		};
	}
	if (dp_table_new(&tc, p, N_PATHS, NULL, NULL, &t, NULL) < 0)
		die("dp_table_new failed");
	return t;
}

/* A UDP frame of path i (or an NRT one for i >= N_PATHS). */
static void frame(uint8_t *f, uint32_t i)
{
	uint8_t *ip = f + 14;
	uint32_t k = i % N_PATHS;

	memset(f, 0, 64);
	f[0] = 2;
	f[6] = 2;
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, FRAME_BYTES - 14);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, src_of(k));
	put32(ip + 16, i < N_PATHS ? dst_of(k) : IP(10, 3, 0, 1));
	put16(ip + 10, dp_csum(ip, 20));
	put16(ip + 22, (uint16_t)(5000 + k));
}

/* ---- stamp ------------------------------------------------------------------ */

static uint64_t stamp_round(const struct dp_table *t, uint8_t **f, uint64_t *sum)
{
	uint64_t t0 = cpu_now_ns();

	for (int i = 0; i < N_FRAMES; i++) {
		struct dp_parsed p;
		const struct dp_path *path;
		uint8_t *g;

		if (dp_pkt_parse(f[i], FRAME_BYTES, &p) != DP_PARSE_IPV4 ||
		    !(path = dp_table_lookup(t, DP_TX, &p.key)))
			die("stamp: frame did not classify");
		dp_pkt_set_dscp(f[i], &p, path->dscp);
		g = dp_mpls_push(f[i], FRAME_BYTES, &p, (uint32_t)i * 977, path->tc, 0);
		*sum += g[14];
	}
	return cpu_now_ns() - t0;
}

static double bench_stamp(const struct dp_table *t)
{
	static uint8_t buf[N_FRAMES][2048];
	uint8_t *f[N_FRAMES];
	double runs[REPS];
	uint64_t sum = 0, seed = 88172645463325252ull;

	for (int i = 0; i < N_FRAMES; i++)
		f[i] = buf[i] + DP_HEADROOM;
	for (int r = 0; r < REPS; r++) {
		uint64_t ns = 0;

		for (int k = 0; k < ROUNDS; k++) {
			for (int i = 0; i < N_FRAMES; i++)	/* untimed: fresh frames */
				frame(f[i], (uint32_t)(rng(&seed) % N_PATHS));
			ns += stamp_round(t, f, &sum);
		}
		runs[r] = (double)ns / (ROUNDS * N_FRAMES);
	}
	if (!sum)
		die("stamp: nothing stamped");
	return bench_median(runs, REPS);
}

/* ---- pop --------------------------------------------------------------------- */

static double bench_pop(void)
{
	static uint8_t buf[N_FRAMES][2048];
	struct dp_table *t = table(2);
	struct dp_rx_config rc = { .interval_ns = 100000000 };
	static struct dp_rx rx;
	uint8_t *f[N_FRAMES], *out;
	size_t out_len;
	double runs[REPS];
	uint64_t seed = 2463534242ull, now = 1700000000000000000ull;

	dp_rx_init(&rx, &rc);
	dp_rx_adopt(&rx, t, now);
	for (int r = 0; r < REPS; r++) {
		uint64_t ns = 0, t0;

		for (int k = 0; k < ROUNDS; k++) {
			for (int i = 0; i < N_FRAMES; i++) {	/* untimed: labelled frames */
				struct dp_parsed p;
				uint8_t *g = buf[i] + DP_HEADROOM;

				frame(g, (uint32_t)(rng(&seed) % N_PATHS));
				dp_pkt_parse(g, FRAME_BYTES, &p);
				f[i] = dp_mpls_push(g, FRAME_BYTES, &p,
						    dp_label_of_us(now / 1000 + 800), 5, 0);
			}
			t0 = cpu_now_ns();
			for (int i = 0; i < N_FRAMES; i++)
				dp_rx_frame(&rx, f[i], FRAME_BYTES + 4, now + (uint64_t)i, &out,
					    &out_len);
			ns += cpu_now_ns() - t0;
		}
		runs[r] = (double)ns / (ROUNDS * N_FRAMES);
	}
	if (atomic_load(&rx.stats.popped) != (uint64_t)REPS * ROUNDS * N_FRAMES ||
	    atomic_load(&rx.stats.unknown_path))
		die("pop: not every frame was popped and classified");
	dp_table_free(t);
	return bench_median(runs, REPS);
}

/* ---- classify + enqueue + dequeue --------------------------------------------------- */

struct sched_run {
	struct dp_sched s;
	uint8_t tmpl[N_PATHS + 1][64];
	uint64_t seed, mono_ns;
};

static void sched_step(struct sched_run *r)
{
	uint32_t i = (uint32_t)(rng(&r->seed) % (N_PATHS + N_PATHS / 15));
	struct dp_desc *d = dp_sched_alloc(&r->s), *reply;
	struct dp_now now = { r->mono_ns, 1700000000000000000ull + r->mono_ns };

	if (!d)
		die("sched: pool empty");
	memcpy(d->frame, r->tmpl[i < N_PATHS ? i : N_PATHS], 64);
	d->len = FRAME_BYTES;
	if (dp_sched_enqueue(&r->s, d, &now, &reply) != DP_V_QUEUED)
		die("sched: a frame was not queued");
	d = dp_sched_dequeue(&r->s, r->mono_ns);
	if (!d)
		die("sched: nothing to dequeue");
	/* a third of the link: each path sees ~31 Mbit/s of its 50 */
	r->mono_ns += 3 * ((uint64_t)(d->len + 24) * 8 * 1000000000ull / LINK_BPS + 1);
	dp_sched_free(&r->s, d);
}

static double bench_sched(const struct dp_table *t)
{
	static struct sched_run r;
	struct dp_sched_config c = {
		.uplink_bps = LINK_BPS, .overhead_bytes = 24, .mtu = 9000,
		.frame_max_bytes = 2048, .pool_pkts = 4 * BACKLOG, .nrt_limit_pkts = 2 * BACKLOG,
		.ctl_limit_pkts = 16, .wfq_max_paths = N_PATHS,
	};
	struct dp_now now;
	double runs[REPS];

	if (dp_sched_init(&r.s, &c) < 0)
		die("dp_sched_init failed");
	r.seed = 0x9e3779b97f4a7c15ull;
	r.mono_ns = 1000000000;
	for (uint32_t i = 0; i <= N_PATHS; i++)
		frame(r.tmpl[i], i);
	dp_sched_adopt(&r.s, t, r.mono_ns);
	now = (struct dp_now){ r.mono_ns, 1700000000000000000ull };
	for (int i = 0; i < BACKLOG; i++) {	/* the backlog the steps keep */
		struct dp_desc *d = dp_sched_alloc(&r.s), *reply;

		memcpy(d->frame, r.tmpl[i % N_PATHS], 64);
		d->len = FRAME_BYTES;
		dp_sched_enqueue(&r.s, d, &now, &reply);
	}
	for (int i = 0; i < SCHED_STEPS; i++)	/* warm-up */
		sched_step(&r);
	for (int k = 0; k < REPS; k++) {
		uint64_t t0 = cpu_now_ns();

		for (int i = 0; i < SCHED_STEPS; i++)
			sched_step(&r);
		runs[k] = (double)(cpu_now_ns() - t0) / SCHED_STEPS;
	}
	if (atomic_load(&r.s.stats.demoted) || atomic_load(&r.s.stats.drop_policed))
		die("sched: frames were policed (rates too low for the bench)");
	dp_sched_close(&r.s);
	return bench_median(runs, REPS);
}

int main(void)
{
	struct dp_table *t = table(1);

	bench_report("dp.stamp.ns", bench_stamp(t), "ns", BENCH_LOWER, "paper, RTvNIC on its hosts", 32000);
	bench_report("dp.pop.ns", bench_pop(), "ns", BENCH_LOWER, "paper, RTvNIC on its hosts", 23000);
	bench_report("dp.sched.ns", bench_sched(t), "ns", BENCH_LOWER, "paper, RTvNIC on its hosts", 101000);
	dp_table_free(t);
	return 0;
}
