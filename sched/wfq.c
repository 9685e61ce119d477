/* wfq.c — WF²Q+ over per-path FIFO queues.
 *
 * Algorithm (Bennett & Zhang, "Hierarchical packet fair queueing
 * algorithms", IEEE/ACM ToN 1997, §III). Each path i has a service rate R_i
 * and a FIFO. Only the head packet of a path carries tags: a start tag S_i
 * and a finish tag F_i = S_i + L/R_i. A system virtual time V tracks the
 * work the link has done:
 *
 *   - a packet arriving at an empty path starts at S_i = max(F_i, V), where
 *     F_i is the path's last finish tag; a later head starts at the previous
 *     head's finish, S_i = F_i;
 *   - on each departure of a packet of L bits, V = max(V + L/C, min S_j over
 *     backlogged paths j);
 *   - the next packet is the head with the smallest F_i among *eligible*
 *     paths, those with S_i <= V. The second rule guarantees one always is.
 *
 * The eligibility test is what makes it WF²Q rather than WFQ: no path runs
 * ahead of its fluid (GPS) service by more than one packet, so a newly
 * backlogged path never waits behind another path's burst of early finish
 * tags. With Σ R_i <= C, a path whose arrivals conform to (r <= R_i, b)
 * leaves every packet within b/R_i + L_max/C of its arrival — the bound of
 * Parekh-Gallager's PGPS, which RFC 2212's C and D error terms assume —
 * and the service two continuously backlogged paths receive over any
 * interval stays within L_max/R_i + L_max/R_j (normalised) of their rates.
 *
 * Units. Virtual time is in virtual nanoseconds: V advances by 1 for every
 * nanosecond of link work (L·8·1e9/C per packet), and a tag advances by the
 * nanoseconds path i would need at its own rate (L·8·1e9/R_i). Products are
 * formed in 128 bits (a 4 GB frame is 3.4e19 bit-ns/s) and the quotient's
 * remainder is carried into the next division, per path for tags and per
 * link for V, so over a busy period tags are exact to the nanosecond with no
 * rounding drift, for any rate from 1 bit/s to 2^64 bit/s. A single packet
 * is capped at 2^56 ns of virtual service (2.3 years: only a multi-gigabyte
 * frame at a few bit/s reaches it).
 *
 * Range. V does not follow the wall clock: when only slow paths are
 * backlogged it jumps from start tag to start tag, C/ΣR times faster than
 * real time (a lone 1 Mbit/s path on a 10 Gbit/s link: 10^4 times). So
 * V is not assumed to fit in 64 bits for the life of a host: when it passes
 * 2^62, 2^61 is subtracted from V and from every tag, saturating at 0, and
 * both heaps are rebuilt. That costs O(max_paths), at most once per 2^61 ns
 * (73 years) of virtual time. Tags of backlogged paths stay below
 * V + 2·2^56, so nothing overflows. A tag that saturates is harmless when
 * its path is empty (it only loses the max() against V). A backlogged
 * path's tags stay near V while Σ R_i <= C; they can fall 2^61 ns behind
 * only if the rates overbook the link for that long (V then moves at the
 * link's pace: 73 years), and then the rebase would reorder those paths
 * once — never lose a packet. Linux's QFQ makes the same assumption.
 *
 * Data structures. Two binary heaps of paths, allocated for max_paths at
 * init: eligible paths by (F, id) and waiting paths by (S, id); ties go to
 * the lower path id, so the order is deterministic. A heap slot carries a
 * copy of its key next to the id, so sifting reads one array instead of
 * chasing ids into the path table (twice as fast at 10k paths, for 24 bytes
 * more per path; bench/bench_wfq.c). Each path is in exactly one heap while
 * backlogged and in none while empty. Every update touches a heap's root
 * (the path just served, or the waiting path V has just reached), so no
 * position index is needed. Enqueue and dequeue cost O(log n) plus
 * O(log n) for each waiting path that becomes eligible — at most once per
 * head packet, so O(log n) amortised per packet. Invariant between calls:
 * len > 0 implies n_eligible > 0, so peek is O(1).
 *
 * Rate changes (escalation) apply from the path's next head packet: the
 * current head keeps the finish tag it was given.
 */
#include "sched/sched.h"

#include <errno.h>
#include <stdlib.h>

__extension__ typedef unsigned __int128 wfq_u128;

#define WFQ_VT_REBASE (1ull << 62)
#define WFQ_VT_SHIFT (1ull << 61)
#define WFQ_MAX_DELTA_VT (1ull << 56)

struct sched_wfq_path {
	struct sched_pkt *head, *tail;
	uint64_t start_vt;	/* S of the head packet */
	uint64_t finish_vt;	/* F of the head packet; the last F when empty */
	uint64_t rate_bps;	/* 0: not configured */
	uint64_t rem;		/* carried remainder of the tag division, < rate_bps */
	uint64_t len;		/* packets queued */
};

/* Virtual ns to send len_bytes at rate_bps, carrying the division's
 * remainder through *rem so that successive calls sum exactly. */
static uint64_t vt_delta(uint32_t len_bytes, uint64_t rate_bps, uint64_t *rem)
{
	wfq_u128 num = (wfq_u128)len_bytes * 8 * SCHED_NS_PER_S + *rem;
	wfq_u128 q = num / rate_bps;

	*rem = (uint64_t)(num % rate_bps);
	if (q > WFQ_MAX_DELTA_VT) {
		*rem = 0;
		return WFQ_MAX_DELTA_VT;
	}
	return (uint64_t)q;
}

/* A heap entry. key is a copy of the path's finish tag (eligible heap) or
 * start tag (waiting heap), refreshed whenever the tag changes; that only
 * happens at the root. */
struct sched_wfq_slot {
	uint64_t key;
	uint32_t id;
};

/* Heap order: by key, ties by path id. */
static inline bool before(const struct sched_wfq_slot *a,
			  const struct sched_wfq_slot *b)
{
	return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static void heap_up(struct sched_wfq_slot *h, uint32_t i)
{
	struct sched_wfq_slot x = h[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!before(&x, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = x;
}

static void heap_down(struct sched_wfq_slot *h, uint32_t n, uint32_t i)
{
	struct sched_wfq_slot x = h[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && before(&h[c + 1], &h[c]))
			c++;
		if (!before(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static void heap_push(struct sched_wfq_slot *h, uint32_t *n, uint32_t id,
		      uint64_t key)
{
	h[*n] = (struct sched_wfq_slot){.key = key, .id = id};
	heap_up(h, (*n)++);
}

static uint32_t heap_pop(struct sched_wfq_slot *h, uint32_t *n)
{
	uint32_t top = h[0].id;

	if (--*n > 0) {
		h[0] = h[*n];
		heap_down(h, *n, 0);
	}
	return top;
}

static void heapify(struct sched_wfq_slot *h, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		heap_down(h, n, i);
}

/* V = max(V, min S) when no path is eligible, then move every waiting path
 * whose start tag V has reached to the eligible heap. */
static void catch_up(struct sched_wfq *w)
{
	if (!w->n_eligible && w->n_waiting && w->waiting[0].key > w->vtime)
		w->vtime = w->waiting[0].key;
	while (w->n_waiting && w->waiting[0].key <= w->vtime) {
		uint32_t id = heap_pop(w->waiting, &w->n_waiting);

		heap_push(w->eligible, &w->n_eligible, id, w->paths[id].finish_vt);
	}
}

static inline uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Shifts V and every tag down by WFQ_VT_SHIFT (see "Range" above), then
 * reloads the heap keys. Clamping can turn distinct tags into ties, which
 * the id tie-break may order the other way, so the heaps are rebuilt. */
static void rebase(struct sched_wfq *w)
{
	for (uint32_t i = 0; i < w->max_paths; i++) {
		struct sched_wfq_path *q = &w->paths[i];

		q->start_vt = sat_sub(q->start_vt, WFQ_VT_SHIFT);
		q->finish_vt = sat_sub(q->finish_vt, WFQ_VT_SHIFT);
	}
	w->vtime -= WFQ_VT_SHIFT;
	for (uint32_t i = 0; i < w->n_eligible; i++)
		w->eligible[i].key = w->paths[w->eligible[i].id].finish_vt;
	for (uint32_t i = 0; i < w->n_waiting; i++)
		w->waiting[i].key = w->paths[w->waiting[i].id].start_vt;
	heapify(w->eligible, w->n_eligible);
	heapify(w->waiting, w->n_waiting);
}

int sched_wfq_init(struct sched_wfq *w, const struct sched_wfq_config *cfg)
{
	*w = (struct sched_wfq){0};
	if (!cfg->link_bps || !cfg->max_paths)
		return -EINVAL;
	w->paths = calloc(cfg->max_paths, sizeof(*w->paths));
	if (!w->paths)
		goto err_paths;
	w->eligible = calloc(cfg->max_paths, sizeof(*w->eligible));
	if (!w->eligible)
		goto err_eligible;
	w->waiting = calloc(cfg->max_paths, sizeof(*w->waiting));
	if (!w->waiting)
		goto err_waiting;
	w->max_paths = cfg->max_paths;
	w->link_bps = cfg->link_bps;
	return 0;

err_waiting:
	free(w->eligible);
err_eligible:
	free(w->paths);
err_paths:
	*w = (struct sched_wfq){0};
	return -ENOMEM;
}

void sched_wfq_close(struct sched_wfq *w)
{
	free(w->waiting);
	free(w->eligible);
	free(w->paths);
	*w = (struct sched_wfq){0};
}

int sched_wfq_path_set(struct sched_wfq *w, uint32_t path, uint64_t rate_bps)
{
	struct sched_wfq_path *q;

	if (path >= w->max_paths || !rate_bps)
		return -EINVAL;
	q = &w->paths[path];
	if (q->rate_bps != rate_bps) {
		/* The remainder was a fraction of the old rate; dropping it
		 * costs under one virtual ns, once. */
		q->rem = 0;
		q->rate_bps = rate_bps;
	}
	return 0;
}

int sched_wfq_path_clear(struct sched_wfq *w, uint32_t path)
{
	if (path >= w->max_paths)
		return -EINVAL;
	if (w->paths[path].head)
		return -EBUSY;
	w->paths[path] = (struct sched_wfq_path){0};
	return 0;
}

int sched_wfq_enqueue(struct sched_wfq *w, struct sched_pkt *p)
{
	struct sched_wfq_path *q;

	if (p->path >= w->max_paths || !w->paths[p->path].rate_bps)
		return -ENOENT;
	q = &w->paths[p->path];
	p->next = NULL;
	q->len++;
	w->len++;
	w->bytes += p->len_bytes;
	if (q->head) {
		q->tail->next = p;
		q->tail = p;
		return 0;
	}
	q->head = q->tail = p;
	if (q->finish_vt > w->vtime) {
		q->start_vt = q->finish_vt;
	} else {
		/* A new busy period: the old remainder no longer applies. */
		q->start_vt = w->vtime;
		q->rem = 0;
	}
	q->finish_vt = q->start_vt + vt_delta(p->len_bytes, q->rate_bps, &q->rem);
	if (q->start_vt <= w->vtime)
		heap_push(w->eligible, &w->n_eligible, p->path, q->finish_vt);
	else
		heap_push(w->waiting, &w->n_waiting, p->path, q->start_vt);
	catch_up(w);
	return 0;
}

struct sched_pkt *sched_wfq_peek(struct sched_wfq *w)
{
	return w->n_eligible ? w->paths[w->eligible[0].id].head : NULL;
}

/* After the head of path id (the eligible root) has left: give the next
 * head its tags and put the path where they say, or drop it from the heaps
 * if it is now empty. */
static void requeue_served(struct sched_wfq *w, uint32_t id)
{
	struct sched_wfq_path *q = &w->paths[id];

	if (!q->head) {
		heap_pop(w->eligible, &w->n_eligible);
		return;
	}
	q->start_vt = q->finish_vt;
	q->finish_vt += vt_delta(q->head->len_bytes, q->rate_bps, &q->rem);
	if (q->start_vt <= w->vtime) {
		w->eligible[0].key = q->finish_vt;
		heap_down(w->eligible, w->n_eligible, 0);
	} else {
		heap_pop(w->eligible, &w->n_eligible);
		heap_push(w->waiting, &w->n_waiting, id, q->start_vt);
	}
}

struct sched_pkt *sched_wfq_dequeue(struct sched_wfq *w)
{
	struct sched_wfq_path *q;
	struct sched_pkt *p;
	uint32_t id;

	if (!w->n_eligible)
		return NULL;
	id = w->eligible[0].id;
	q = &w->paths[id];
	p = q->head;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	p->next = NULL;
	q->len--;
	w->len--;
	w->bytes -= p->len_bytes;

	w->vtime += vt_delta(p->len_bytes, w->link_bps, &w->vtime_rem);
	requeue_served(w, id);
	catch_up(w);
	if (w->vtime >= WFQ_VT_REBASE)
		rebase(w);
	return p;
}

uint64_t sched_wfq_path_len(const struct sched_wfq *w, uint32_t path)
{
	return path < w->max_paths ? w->paths[path].len : 0;
}
