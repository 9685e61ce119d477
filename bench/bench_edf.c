/* bench_edf.c — the EDF queue against a plain binary heap (bench/heap_edf).
 *
 * Workload: the "hold" model of priority-queue studies (Jones, CACM 1986)
 * dressed as a host's egress. 10k paths, each with its own relative deadline
 * D_path drawn once, uniform in 1..50 ms in whole microseconds (the MPLS
 * label's resolution). B packets (the backlog) start queued with deadlines
 * now + D_path for random paths. One step then dequeues the earliest packet,
 * advances the simulated clock to its deadline (a link that sends each packet
 * just in time) and re-queues the packet for a random path at now + D_path,
 * so the backlog stays at B. ns/pkt is the time of one step, one dequeue plus
 * one enqueue (and a ~1 ns random draw both sides pay), after a warm-up of
 * max(2B, 100k) steps; the figure is the median of REPS timed runs of STEPS
 * steps, ours and the heap's runs interleaved. Runs are timed in this
 * thread's CPU time, so time slices lost to other processes on a shared
 * machine do not count (their cache pollution still does: hence many short
 * interleaved runs and the median).
 *
 * The EDF queue uses the dataplane's configuration: 1 us buckets, 2^16 of
 * them (a 65.5 ms window, wider than the largest deadline). Deadlines are
 * whole microseconds, so the wheel's order equals the heap's exact order;
 * both runs hash their dequeue sequences and the bench fails if they differ.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/heap_edf.h"
#include "bench/report.h"
#include "sched/sched.h"

#define N_PATHS 10000
#define D_MIN_US 1000
#define D_MAX_US 50000
#define REPS 11
#define STEPS 300000
#define BUCKET_NS 1000
#define BUCKETS_LOG2 16

/* The caller's packet descriptor: a sched_pkt embedded in a cache-line
 * aligned record, as dataplane descriptors are (DPDK's rte_mbuf, the
 * kernel's sk_buff), so that touching a packet costs one line, not two. */
struct desc {
	struct sched_pkt pkt;
	uint32_t port;
	uint32_t flags;
} __attribute__((aligned(64)));

struct run {
	struct desc *pkts;
	size_t n;
	const uint64_t *d_ns;	/* per path */
	uint64_t rng;
	uint64_t now_ns;
	uint64_t hash;		/* of the dequeue sequence */
};

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * SCHED_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline void retarget(struct run *r, struct sched_pkt *p)
{
	uint32_t path = (uint32_t)(rng_next(&r->rng) % N_PATHS);

	p->path = path;
	p->deadline_ns = r->now_ns + r->d_ns[path];
}

/* Took p out of the queue: the clock moves to its deadline, and p comes
 * back as the next packet of a random path. */
static inline void hold(struct run *r, struct sched_pkt *p)
{
	r->now_ns = p->deadline_ns;
	r->hash = (r->hash ^ (p->deadline_ns + p->path)) * 0x100000001b3ull;
	retarget(r, p);
}

static void run_init(struct run *r, size_t n, const uint64_t *d_ns)
{
	r->pkts = aligned_alloc(_Alignof(struct desc), n * sizeof(*r->pkts));
	if (!r->pkts) {
		fprintf(stderr, "bench_edf: out of memory\n");
		exit(1);
	}
	r->n = n;
	r->d_ns = d_ns;
	r->rng = 0x243f6a8885a308d3ull;
	r->now_ns = 1000000000000ull;
	r->hash = 0;
	for (size_t i = 0; i < n; i++) {
		memset(&r->pkts[i], 0, sizeof(r->pkts[i]));
		r->pkts[i].pkt.len_bytes = 1500;
		retarget(r, &r->pkts[i].pkt);
	}
}

static void edf_steps(struct sched_edf *q, struct run *r, size_t steps)
{
	for (size_t i = 0; i < steps; i++) {
		struct sched_pkt *p = sched_edf_dequeue(q);

		hold(r, p);
		sched_edf_enqueue(q, p);
	}
}

static void heap_steps(struct heap_edf *h, struct run *r, size_t steps)
{
	for (size_t i = 0; i < steps; i++) {
		struct sched_pkt *p = heap_edf_dequeue(h);

		hold(r, p);
		heap_edf_enqueue(h, p);
	}
}

/* Bytes the allocator has handed out, arena and mmap'd chunks alike. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static int bench_backlog(size_t backlog, const uint64_t *d_ns, const char *name,
			 size_t *edf_alloc_bytes)
{
	struct sched_edf_config cfg = { .bucket_ns = BUCKET_NS, .buckets_log2 = BUCKETS_LOG2 };
	double ours[REPS], heap[REPS];
	size_t warm = 2 * backlog > 100000 ? 2 * backlog : 100000, before;
	uint64_t t0_ns, t1_ns, t2_ns;
	struct run ro, rh;
	struct sched_edf q;
	struct heap_edf h;

	before = heap_in_use();
	if (sched_edf_init(&q, &cfg)) {
		fprintf(stderr, "bench_edf: sched_edf_init failed\n");
		return -1;
	}
	*edf_alloc_bytes = heap_in_use() - before;
	if (heap_edf_init(&h, backlog)) {
		fprintf(stderr, "bench_edf: heap_edf_init failed\n");
		return -1;
	}
	run_init(&ro, backlog, d_ns);
	run_init(&rh, backlog, d_ns);
	for (size_t i = 0; i < backlog; i++) {
		sched_edf_enqueue(&q, &ro.pkts[i].pkt);
		heap_edf_enqueue(&h, &rh.pkts[i].pkt);
	}
	edf_steps(&q, &ro, warm);
	heap_steps(&h, &rh, warm);
	for (int i = 0; i < REPS; i++) {
		t0_ns = cpu_now_ns();
		edf_steps(&q, &ro, STEPS);
		t1_ns = cpu_now_ns();
		heap_steps(&h, &rh, STEPS);
		t2_ns = cpu_now_ns();
		ours[i] = (double)(t1_ns - t0_ns) / STEPS;
		heap[i] = (double)(t2_ns - t1_ns) / STEPS;
	}
	if (ro.hash != rh.hash || q.len != backlog || h.len != backlog) {
		fprintf(stderr, "bench_edf: EDF and heap orders differ at backlog %zu\n", backlog);
		return -1;
	}
	bench_report(name, bench_median(ours, REPS), "ns/pkt", BENCH_LOWER, "heap",
		     bench_median(heap, REPS));
	while (sched_edf_dequeue(&q))
		;
	sched_edf_close(&q);
	heap_edf_close(&h);
	free(ro.pkts);
	free(rh.pkts);
	return 0;
}

int main(void)
{
	static const struct {
		size_t backlog;
		const char *name;
	} cases[] = {
		{ 10, "sched.edf.ns_per_pkt.10" },
		{ 1000, "sched.edf.ns_per_pkt.1k" },
		{ 100000, "sched.edf.ns_per_pkt.100k" },
	};
	static uint64_t d_ns[N_PATHS];
	uint64_t rng = 0x13198a2e03707344ull;
	size_t alloc_bytes = 0, n;

	for (size_t i = 0; i < N_PATHS; i++)
		d_ns[i] = 1000 * (D_MIN_US + rng_next(&rng) % (D_MAX_US - D_MIN_US + 1));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (bench_backlog(cases[i].backlog, d_ns, cases[i].name, &alloc_bytes))
			return 1;

	/* Memory per queued packet at a 100k backlog: the struct sched_pkt the
	 * caller embeds, plus everything sched_edf_init allocated (buckets and
	 * bitmap, malloc headers included, as mallinfo2 saw it) and the struct
	 * sched_edf itself, spread over the 100k packets. The caller's own
	 * descriptor around sched_pkt is not counted. The heap baseline counts
	 * sched_pkt plus its array entry (key copy and pointer) per packet. */
	n = 100000;
	bench_report("sched.edf.bytes_per_pkt",
		     (double)(n * sizeof(struct sched_pkt) + alloc_bytes +
			      sizeof(struct sched_edf)) / (double)n,
		     "bytes", BENCH_LOWER, "heap",
		     (double)(n * (sizeof(struct sched_pkt) + sizeof(struct heap_edf_ent)) +
			      sizeof(struct heap_edf)) / (double)n);
	return 0;
}
