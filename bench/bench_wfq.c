/* bench_wfq.c — group `wfq`: what WF²Q+ (sched/wfq.c) costs and what it buys.
 *
 *  1. sched.wfq.ns_per_pkt.{10,10k}_paths: one dequeue plus one enqueue, in
 *     steady state with every path backlogged (2 packets each, 64..1500 B,
 *     rates summing to the link). Baseline: the same WF²Q+ with the textbook
 *     O(n) selection, a linear scan over all paths per packet, defined below
 *     and checked to make exactly the same decisions.
 *  2. sched.wfq.bytes_per_pkt: memory per queued packet in that 10k-path
 *     state — sizeof(struct sched_pkt), which the caller embeds in its
 *     descriptor, plus what sched_wfq_init allocates (per-path state and the
 *     two heaps, as the allocator reports it) divided by the packets queued.
 *     Baseline: one plain FIFO, which keeps no per-path state at all.
 *  3. sched.fair.jain_N: N equal-rate paths on a simulated 1 Gbit/s link,
 *     1500-B frames, 1 s of simulated time; path i offers (i+1)·1.2·C/N, so
 *     every path asks for more than its fair share and together they overload
 *     the link. Jain's index over per-path throughput (1 = perfectly fair).
 *     Baseline: the same arrivals into one drop-tail FIFO, which shares the
 *     link in proportion to offered load — the unfairness WFQ exists to fix.
 *  4. sched.fair.max_share_err_pct: four paths reserving 1:2:3:4 of the link,
 *     each offering the whole link in 64..1500-B frames; the worst relative
 *     error of a path's share against its weight share. Baseline: FIFO.
 *
 * Timing is wall clock (median of 5 runs); everything else is simulated and
 * deterministic.
 */
#include "bench/report.h"
#include "sched/sched.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#define LINK_BPS 1000000000ull
#define RUNS 5

static uint32_t next_size(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return 64 + (uint32_t)((*state >> 33) % (1500 - 64 + 1));
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "bench_wfq: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- baseline: WF²Q+ with an O(n) scan ---------------------------------- */

/* The same tags, units and tie-break as sched/wfq.c; only the selection
 * differs: a scan over every path instead of two heaps. */
struct lin_path {
	struct sched_pkt *head, *tail;
	uint64_t start_vt, finish_vt, rate_bps, rem;
};

struct lin_wfq {
	struct lin_path *paths;
	uint32_t n;
	uint64_t link_bps, vtime, vtime_rem;
};

static uint64_t lin_delta(uint32_t len_bytes, uint64_t rate_bps, uint64_t *rem)
{
	__extension__ unsigned __int128 num =
		(unsigned __int128)len_bytes * 8 * SCHED_NS_PER_S + *rem;

	*rem = (uint64_t)(num % rate_bps);
	return (uint64_t)(num / rate_bps);
}

static void lin_enqueue(struct lin_wfq *l, struct sched_pkt *p)
{
	struct lin_path *q = &l->paths[p->path];

	p->next = NULL;
	if (q->head) {
		q->tail->next = p;
		q->tail = p;
		return;
	}
	q->head = q->tail = p;
	if (q->finish_vt > l->vtime) {
		q->start_vt = q->finish_vt;
	} else {
		q->start_vt = l->vtime;
		q->rem = 0;
	}
	q->finish_vt = q->start_vt + lin_delta(p->len_bytes, q->rate_bps, &q->rem);
}

/* The eligible path with the smallest (F, id), or UINT32_MAX; *min_s gets
 * the smallest start tag of any backlogged path. */
static uint32_t lin_scan(const struct lin_wfq *l, uint64_t *min_s)
{
	uint32_t best = UINT32_MAX;

	*min_s = UINT64_MAX;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct lin_path *q = &l->paths[i];

		if (!q->head)
			continue;
		if (q->start_vt < *min_s)
			*min_s = q->start_vt;
		if (q->start_vt <= l->vtime &&
		    (best == UINT32_MAX || q->finish_vt < l->paths[best].finish_vt))
			best = i;
	}
	return best;
}

static struct sched_pkt *lin_dequeue(struct lin_wfq *l)
{
	struct sched_pkt *p;
	struct lin_path *q;
	uint64_t min_s;
	uint32_t i = lin_scan(l, &min_s);

	if (i == UINT32_MAX) {
		if (min_s == UINT64_MAX)
			return NULL;
		l->vtime = min_s;	/* V = max(V, min S) */
		i = lin_scan(l, &min_s);
	}
	q = &l->paths[i];
	p = q->head;
	q->head = p->next;
	l->vtime += lin_delta(p->len_bytes, l->link_bps, &l->vtime_rem);
	if (q->head) {
		q->start_vt = q->finish_vt;
		q->finish_vt += lin_delta(q->head->len_bytes, q->rate_bps, &q->rem);
	} else {
		q->tail = NULL;
	}
	return p;
}

/* ---- 1. cost per packet -------------------------------------------------- */

#define PKTS_PER_PATH 2

static uint64_t path_rate(uint32_t i, uint32_t n)
{
	/* Rates 0.4, 0.8, 1.2, 1.6 × C/n in turn: they sum to C for n % 4 == 0
	 * and stay under it otherwise. */
	return LINK_BPS / n * ((i % 4) + 1) * 2 / 5;
}

static struct sched_pkt *make_pkts(uint32_t n_paths)
{
	struct sched_pkt *p = xcalloc((size_t)n_paths * PKTS_PER_PATH, sizeof(*p));
	uint64_t rng = 42;

	for (uint32_t i = 0; i < n_paths * PKTS_PER_PATH; i++) {
		p[i].path = i % n_paths;
		p[i].len_bytes = next_size(&rng);
	}
	return p;
}

static void wfq_setup(struct sched_wfq *w, uint32_t n_paths, struct sched_pkt *p)
{
	struct sched_wfq_config cfg = {.link_bps = LINK_BPS, .max_paths = n_paths};

	if (sched_wfq_init(w, &cfg)) {
		fprintf(stderr, "bench_wfq: sched_wfq_init failed\n");
		exit(1);
	}
	for (uint32_t i = 0; i < n_paths; i++)
		sched_wfq_path_set(w, i, path_rate(i, n_paths));
	for (uint32_t i = 0; i < n_paths * PKTS_PER_PATH; i++)
		sched_wfq_enqueue(w, &p[i]);
}

static void lin_setup(struct lin_wfq *l, uint32_t n_paths, struct sched_pkt *p)
{
	*l = (struct lin_wfq){.n = n_paths, .link_bps = LINK_BPS};
	l->paths = xcalloc(n_paths, sizeof(*l->paths));
	for (uint32_t i = 0; i < n_paths; i++)
		l->paths[i].rate_bps = path_rate(i, n_paths);
	for (uint32_t i = 0; i < n_paths * PKTS_PER_PATH; i++)
		lin_enqueue(l, &p[i]);
}

static double time_wfq(uint32_t n_paths, uint64_t iters)
{
	struct sched_pkt *p = make_pkts(n_paths);
	double runs[RUNS];
	struct sched_wfq w;

	wfq_setup(&w, n_paths, p);
	for (int r = -1; r < RUNS; r++) {	/* run -1 warms up */
		uint64_t t0 = bench_now_ns();

		for (uint64_t k = 0; k < iters; k++)
			sched_wfq_enqueue(&w, sched_wfq_dequeue(&w));
		if (r >= 0)
			runs[r] = (double)(bench_now_ns() - t0) / (double)iters;
	}
	while (sched_wfq_dequeue(&w))
		;
	sched_wfq_close(&w);
	free(p);
	return bench_median(runs, RUNS);
}

static double time_lin(uint32_t n_paths, uint64_t iters)
{
	struct sched_pkt *p = make_pkts(n_paths);
	double runs[RUNS];
	struct lin_wfq l;

	lin_setup(&l, n_paths, p);
	for (int r = -1; r < RUNS; r++) {
		uint64_t t0 = bench_now_ns();

		for (uint64_t k = 0; k < iters; k++)
			lin_enqueue(&l, lin_dequeue(&l));
		if (r >= 0)
			runs[r] = (double)(bench_now_ns() - t0) / (double)iters;
	}
	free(l.paths);
	free(p);
	return bench_median(runs, RUNS);
}

/* The baseline must do the same job: same packet at every step. */
static void check_same_decisions(uint32_t n_paths, uint64_t steps)
{
	struct sched_pkt *pw = make_pkts(n_paths), *pl = make_pkts(n_paths);
	struct sched_wfq w;
	struct lin_wfq l;

	wfq_setup(&w, n_paths, pw);
	lin_setup(&l, n_paths, pl);
	for (uint64_t k = 0; k < steps; k++) {
		struct sched_pkt *a = sched_wfq_dequeue(&w), *b = lin_dequeue(&l);

		if (a - pw != b - pl) {
			fprintf(stderr, "bench_wfq: linear scan differs at step %llu\n",
				(unsigned long long)k);
			exit(1);
		}
		sched_wfq_enqueue(&w, a);
		lin_enqueue(&l, b);
	}
	while (sched_wfq_dequeue(&w))
		;
	sched_wfq_close(&w);
	free(l.paths);
	free(pw);
	free(pl);
}

static void bench_cost(void)
{
	check_same_decisions(10, 200000);
	check_same_decisions(10000, 30000);
	bench_report("sched.wfq.ns_per_pkt.10_paths", time_wfq(10, 2000000), "ns",
		     BENCH_LOWER, "linear-scan", time_lin(10, 2000000));
	bench_report("sched.wfq.ns_per_pkt.10k_paths", time_wfq(10000, 1000000), "ns",
		     BENCH_LOWER, "linear-scan", time_lin(10000, 10000));
}

/* ---- 2. memory per queued packet ----------------------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void bench_memory(void)
{
	const uint32_t n_paths = 10000;
	struct sched_wfq_config cfg = {.link_bps = LINK_BPS, .max_paths = n_paths};
	struct sched_wfq w;
	size_t before = heap_in_use(), state;
	double pkts = (double)n_paths * PKTS_PER_PATH;

	if (sched_wfq_init(&w, &cfg)) {
		fprintf(stderr, "bench_wfq: sched_wfq_init failed\n");
		exit(1);
	}
	state = heap_in_use() - before;
	sched_wfq_close(&w);
	printf("  (%u paths: %zu bytes of scheduler state, %.1f per path; "
	       "%u packets queued per path)\n", n_paths, state,
	       (double)state / n_paths, PKTS_PER_PATH);
	bench_report("sched.wfq.bytes_per_pkt",
		     (double)sizeof(struct sched_pkt) + ((double)state + sizeof(w)) / pkts,
		     "bytes", BENCH_LOWER, "fifo",
		     (double)sizeof(struct sched_pkt) + (double)sizeof(struct sched_fifo) / pkts);
}

/* ---- 3, 4. fairness on a simulated link ---------------------------------- */

#define SIM_MAX_PATHS 16
#define SIM_PATH_LIMIT 64	/* per-path drop-tail, the caller's job */
#define SIM_NS 1000000000ull	/* 1 s */

struct sim_path {
	uint64_t offered_bps, next_ns, rem;
	uint32_t fixed_len;	/* 0 = 64..1500 B */
	uint64_t queued, sent_bytes;
};

struct sim {
	bool fifo_mode;
	uint32_t n;
	struct sim_path path[SIM_MAX_PATHS];
	struct sched_wfq wfq;
	struct sched_fifo fifo;
	struct sched_pkt *pool, **free_list;
	uint32_t n_free;
	uint64_t rng;
};

static void sim_arrive(struct sim *s, uint32_t i)
{
	struct sim_path *sp = &s->path[i];
	uint32_t len = sp->fixed_len ? sp->fixed_len : next_size(&s->rng);
	__extension__ unsigned __int128 gap =
		(unsigned __int128)len * 8 * SCHED_NS_PER_S + sp->rem;
	struct sched_pkt *p;
	uint64_t t = sp->next_ns;

	/* Gaps uniform in [0.5, 1.5) of the mean: periodic sources phase-lock
	 * into a full drop-tail FIFO (whoever arrives just after a departure
	 * always wins), which would flatter WFQ's lead. */
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	gap = gap * (512 + (s->rng >> 54)) / 1024;
	sp->next_ns += (uint64_t)(gap / sp->offered_bps);
	sp->rem = (uint64_t)(gap % sp->offered_bps);
	/* Drop-tail: per path for WFQ, the whole queue for the one FIFO (the
	 * same total buffer). */
	if (s->fifo_mode ? s->fifo.len >= (uint64_t)SIM_PATH_LIMIT * s->n
			 : sp->queued >= SIM_PATH_LIMIT)
		return;
	p = s->free_list[--s->n_free];
	*p = (struct sched_pkt){.enq_ns = t, .len_bytes = len, .path = i};
	sp->queued++;
	if (s->fifo_mode)
		sched_fifo_enqueue(&s->fifo, p);
	else
		sched_wfq_enqueue(&s->wfq, p);
}

/* The path with the earliest next arrival (lowest id on ties). */
static uint32_t sim_next_path(const struct sim *s)
{
	uint32_t best = 0;

	for (uint32_t i = 1; i < s->n; i++)
		if (s->path[i].next_ns < s->path[best].next_ns)
			best = i;
	return best;
}

/* Runs the simulation; fills each path's sent_bytes (frames whose last bit
 * left within SIM_NS). */
static void sim_run(struct sim *s, const uint64_t *rate_bps)
{
	struct sched_wfq_config cfg = {.link_bps = LINK_BPS, .max_paths = s->n};
	uint32_t pool = SIM_PATH_LIMIT * s->n + 1;
	struct sched_pacer wire;
	uint64_t now = 0;

	s->pool = xcalloc(pool, sizeof(*s->pool));
	s->free_list = xcalloc(pool, sizeof(*s->free_list));
	for (s->n_free = 0; s->n_free < pool; s->n_free++)
		s->free_list[s->n_free] = &s->pool[s->n_free];
	sched_fifo_init(&s->fifo, 0);
	if (sched_wfq_init(&s->wfq, &cfg))
		exit(1);
	for (uint32_t i = 0; i < s->n; i++)
		sched_wfq_path_set(&s->wfq, i, rate_bps[i]);
	sched_pacer_init(&wire, LINK_BPS, 0);

	while (now < SIM_NS) {
		struct sched_pkt *p;
		uint32_t i;

		/* Arrivals up to now, in time order across paths (drop-tail
		 * must see them in the order they happened). */
		while ((i = sim_next_path(s)), s->path[i].next_ns <= now)
			sim_arrive(s, i);
		p = s->fifo_mode ? sched_fifo_dequeue(&s->fifo) : sched_wfq_dequeue(&s->wfq);
		if (!p) {
			now = s->path[i].next_ns;
			continue;
		}
		now = sched_pacer_send(&wire, p->len_bytes, now);
		if (now <= SIM_NS)
			s->path[p->path].sent_bytes += p->len_bytes;
		s->path[p->path].queued--;
		s->free_list[s->n_free++] = p;
	}
	while (sched_wfq_dequeue(&s->wfq))
		;
	sched_wfq_close(&s->wfq);
	free(s->free_list);
	free(s->pool);
}

static double jain(const struct sim *s)
{
	double sum = 0, sum2 = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		double x = (double)s->path[i].sent_bytes;

		sum += x;
		sum2 += x * x;
	}
	return sum2 > 0 ? sum * sum / (s->n * sum2) : 0;
}

static double jain_run(uint32_t n, bool fifo_mode)
{
	struct sim s = {.fifo_mode = fifo_mode, .n = n, .rng = 1};
	uint64_t rate[SIM_MAX_PATHS];

	for (uint32_t i = 0; i < n; i++) {
		rate[i] = LINK_BPS / n;
		s.path[i].offered_bps = (i + 1) * LINK_BPS * 6 / (5 * n);
		s.path[i].fixed_len = 1500;
		s.path[i].next_ns = i * 1000;	/* staggered phases */
	}
	sim_run(&s, rate);
	return jain(&s);
}

static double share_err_run(bool fifo_mode)
{
	static const uint64_t weight[4] = {1, 2, 3, 4};
	struct sim s = {.fifo_mode = fifo_mode, .n = 4, .rng = 9};
	uint64_t rate[4], total = 0;
	double worst = 0;

	for (uint32_t i = 0; i < 4; i++) {
		rate[i] = LINK_BPS * weight[i] / 10;
		s.path[i].offered_bps = LINK_BPS;
		s.path[i].next_ns = i * 333;
	}
	sim_run(&s, rate);
	for (uint32_t i = 0; i < 4; i++)
		total += s.path[i].sent_bytes;
	for (uint32_t i = 0; i < 4; i++) {
		double share = (double)s.path[i].sent_bytes / (double)total;
		double want = (double)weight[i] / 10;
		double err = (share > want ? share - want : want - share) / want * 100;

		if (err > worst)
			worst = err;
	}
	return worst;
}

static void bench_fairness(void)
{
	static const uint32_t ns[] = {2, 4, 8, 16};
	char name[64];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		snprintf(name, sizeof(name), "sched.fair.jain_%u", ns[k]);
		bench_report(name, jain_run(ns[k], false), "index", BENCH_HIGHER,
			     "fifo-unequal-load", jain_run(ns[k], true));
	}
	bench_report("sched.fair.max_share_err_pct", share_err_run(false), "%",
		     BENCH_LOWER, "fifo", share_err_run(true));
}

int main(void)
{
	bench_cost();
	bench_memory();
	bench_fairness();
	return 0;
}
