/* edf.c — the earliest-deadline-first queue.
 *
 * Why a wheel. The dataplane pops the earliest deadline among up to ~10^5
 * queued packets at line rate. A comparison heap pays O(log n) compares per
 * operation, each a likely cache miss at that size. But our keys are small
 * integers: deadlines lie a bounded distance ahead of now (the admitted
 * relative deadlines, 1-50 ms in practice) and matter only to the MPLS
 * label's 1 us resolution. That is the setting of integer priority queues:
 * Carousel (Saeed et al., SIGCOMM'17) keeps packets in a timing wheel of FIFO
 * buckets, and Eiffel (Saeed et al., NSDI'19) finds the first non-empty
 * bucket with find-first-set over a hierarchy of bitmaps. Both are O(1) per
 * operation for a fixed wheel size.
 *
 * Resolution. A packet's key is its absolute bucket, deadline_ns / bucket_ns,
 * and the queue releases packets in (key, seq) order, where seq counts
 * enqueues. Deadlines in one bucket are thus equal to this queue and leave
 * in arrival order, which makes equal deadlines FIFO; two deadlines less
 * than bucket_ns apart may leave out of deadline order, never by more than
 * bucket_ns.
 *
 * The window. The wheel has N = 2^buckets_log2 slots; key k lives in slot
 * k mod N. Invariant: when the wheel holds packets, base is the smallest key
 * among them and every wheel key lies in [base, base + N). In that window the
 * cyclic slot order starting at base's slot is key order, and each bucket is
 * a FIFO appended in seq order, so the head of base's bucket is the wheel's
 * least (key, seq) and peek is one load. base moves
 *   - forward on dequeue, to the next non-empty slot (find-first-set over
 *     the bitmap levels, wrapping around once);
 *   - down, when a packet with key k < base arrives and the largest wheel key
 *     is still < k + N. The largest key is kept in wheel_max, which is exact
 *     without any search: the wheel only ever loses its least key, so its
 *     largest stays until the wheel is empty;
 *   - anywhere, when the wheel is empty (re-anchoring to the arriving key).
 * No packet moves when base does: slots are addressed modulo N, and the
 * slots the window gives up or takes over are empty by the invariant.
 *
 * Slow paths. A packet that cannot join the window — k >= base + N ("far"),
 * or k < base while the wheel spans too much to stretch down to k ("early":
 * a late packet) — goes into one of two exact heaps ordered by the same
 * (key, seq). They are pairing heaps (Fredman, Sedgewick, Sleator, Tarjan,
 * Algorithmica 1986), intrusive through next (sibling) and child, so they
 * allocate nothing. Their packets never migrate into the wheel: one would
 * queue behind later arrivals of its own bucket and break FIFO. Instead
 * dequeue takes the least of three candidates — the wheel head and the two
 * heap roots — by (key, seq). Each candidate is the minimum of its structure
 * and (key, seq) is a total order on queued packets, so the output is exactly
 * (key, seq) order however the packets are split between the structures.
 * With the window wider than the largest deadline the slow paths stay cold:
 * a packet misses the window only if it and the wheel's keys would span more
 * than N buckets, e.g. one queued long past its deadline behind a full queue.
 *
 * Complexity. Wheel enqueue: a multiply for the key (no divide, see
 * key_of), a FIFO append and one bitmap word per level. Wheel dequeue: a FIFO pop and one find-next, O(levels) with
 * levels = ceil(buckets_log2 / 6) <= 4. A late packet that still fits costs
 * the same as any wheel enqueue. Slow paths: O(1) insert, amortised O(log n)
 * removal. Peek: three candidates, O(1). Memory: N buckets of two pointers
 * plus about N/63 bitmap words, allocated once in sched_edf_init. Size the
 * wheel so N * bucket_ns covers the largest admitted deadline and the heaps
 * stay empty in steady state.
 */
#include "sched/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EDF_LOG2_MIN 6
#define EDF_LOG2_MAX 24
#define NO_SLOT UINT64_MAX

struct sched_edf_bucket {
	struct sched_pkt *head;
	struct sched_pkt *tail;	/* valid only while head != NULL */
};

static inline uint64_t slot_mask(const struct sched_edf *q)
{
	return (1ull << q->buckets_log2) - 1;
}

static inline bool pkt_before(const struct sched_pkt *a, const struct sched_pkt *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

/* --- hierarchical bitmap ------------------------------------------------
 * Level 0 has one bit per slot, set iff the bucket is non-empty; a bit of
 * level l+1 is set iff word (its index) of level l is non-zero. The top level
 * is a single word. */

static inline uint64_t *bm_word(const struct sched_edf *q, unsigned l, uint64_t i)
{
	return &q->bitmap[q->level_off[l] + i];
}

/* Branch-free: setting the summary bits of a word that was already non-zero
 * changes nothing, and with few packets queued the early exit would be a
 * coin toss for the branch predictor. */
static void bm_set(struct sched_edf *q, uint64_t pos)
{
	for (unsigned l = 0; l < q->levels; l++, pos >>= 6)
		*bm_word(q, l, pos >> 6) |= 1ull << (pos & 63);
}

/* Clears pos, and each summary bit whose word below became zero. */
static void bm_clear(struct sched_edf *q, uint64_t pos)
{
	uint64_t empty = 1;

	for (unsigned l = 0; l < q->levels; l++, pos >>= 6) {
		uint64_t *w = bm_word(q, l, pos >> 6);

		*w &= ~(empty << (pos & 63));
		empty = *w == 0;
	}
}

/* The first non-empty slot >= pos (no wrap-around), or NO_SLOT. */
static uint64_t bm_next(const struct sched_edf *q, uint64_t pos)
{
	unsigned l = 0;
	uint64_t w;

	for (;;) {
		if (l == q->levels || pos >= (1ull << q->buckets_log2) >> (6 * l))
			return NO_SLOT;
		w = *bm_word(q, l, pos >> 6) & (~0ull << (pos & 63));
		if (w)
			break;
		pos = (pos >> 6) + 1;
		l++;
	}
	pos = (pos & ~63ull) | (uint64_t)__builtin_ctzll(w);
	while (l-- > 0)
		pos = pos << 6 | (uint64_t)__builtin_ctzll(*bm_word(q, l, pos));
	return pos;
}

/* --- key = deadline_ns / bucket_ns ---------------------------------------
 * A 64-bit divide costs tens of cycles on the enqueue path; dividing by an
 * invariant as a multiply-high and shifts (Granlund & Montgomery, PLDI'94;
 * the variant of libdivide) is exact for every 64-bit numerator. With
 * l = floor(log2 d) and d not a power of two, m = floor(2^(64+l) / d) + 1
 * works when d - 2^(64+l) mod d < 2^l; otherwise the 65-bit magic
 * 2^(65+l)/d + 1 is used, its top bit folded in by the "add" step. */

static void div_init(struct sched_edf *q, uint64_t d)
{
	unsigned l = 63u - (unsigned)__builtin_clzll(d);
	unsigned __int128 num = (unsigned __int128)1 << (64 + l);
	uint64_t m, rem, twice_rem;

	q->div_shift = l;
	q->div_add = false;
	if (!(d & (d - 1))) {
		q->div_magic = 0;	/* a power of two: just shift */
		return;
	}
	m = (uint64_t)(num / d);
	rem = (uint64_t)(num % d);
	if (d - rem >= 1ull << l) {
		twice_rem = rem + rem;
		m += m;
		if (twice_rem >= d || twice_rem < rem)
			m++;
		q->div_add = true;
	}
	q->div_magic = m + 1;
}

static inline uint64_t key_of(const struct sched_edf *q, uint64_t deadline_ns)
{
	uint64_t hi;

	if (!q->div_magic)
		return deadline_ns >> q->div_shift;
	hi = (uint64_t)(((unsigned __int128)q->div_magic * deadline_ns) >> 64);
	if (q->div_add)
		return (((deadline_ns - hi) >> 1) + hi) >> q->div_shift;
	return hi >> q->div_shift;
}

/* --- wheel ---------------------------------------------------------------- */

/* Appends p to its bucket. Emptiness is read from the leaf bitmap word (hot
 * in cache) rather than the bucket, so that filling an empty bucket only
 * stores to it: a store miss does not stall the way a load miss does. */
static void wheel_push(struct sched_edf *q, struct sched_pkt *p)
{
	uint64_t slot = p->key & slot_mask(q);
	struct sched_edf_bucket *b = &q->buckets[slot];

	p->next = NULL;
	if (*bm_word(q, 0, slot >> 6) & 1ull << (slot & 63)) {
		b->tail->next = p;
	} else {
		b->head = p;
		bm_set(q, slot);
	}
	b->tail = p;
	if (!q->wheel_len || p->key > q->wheel_max)
		q->wheel_max = p->key;
	q->wheel_len++;
}

/* Pops the head of base's bucket and moves base to the next non-empty slot,
 * restoring the invariant that base is the least wheel key. The next head is
 * prefetched: it is most likely the next packet out, and its cache miss can
 * overlap whatever the caller does until then. */
static void wheel_pop(struct sched_edf *q)
{
	uint64_t mask = slot_mask(q), slot = q->base & mask, s;
	struct sched_edf_bucket *b = &q->buckets[slot];

	b->head = b->head->next;
	q->wheel_len--;
	if (b->head) {
		__builtin_prefetch(b->head);
		return;
	}
	bm_clear(q, slot);
	if (!q->wheel_len)
		return;
	s = bm_next(q, slot);
	if (s == NO_SLOT)
		s = bm_next(q, 0);
	q->base += (s - slot) & mask;
	__builtin_prefetch(q->buckets[s].head);
}

/* Whether key can join the wheel, moving base down to it if it must and the
 * window still covers the largest wheel key. Subtractions rather than
 * base + N keep this exact for keys near UINT64_MAX. */
static bool wheel_admits(struct sched_edf *q, uint64_t key)
{
	uint64_t mask = slot_mask(q);

	if (!q->wheel_len) {
		q->base = key;	/* re-anchor: any window will do */
		return true;
	}
	if (key >= q->base)
		return key - q->base <= mask;
	if (q->wheel_max - key > mask)
		return false;
	q->base = key;
	return true;
}

static inline struct sched_pkt *wheel_head(const struct sched_edf *q)
{
	return q->wheel_len ? q->buckets[q->base & slot_mask(q)].head : NULL;
}

/* --- pairing heaps (slow paths) -------------------------------------------- */

static struct sched_pkt *heap_meld(struct sched_pkt *a, struct sched_pkt *b)
{
	struct sched_pkt *t;

	if (!a)
		return b;
	if (!b)
		return a;
	if (pkt_before(b, a)) {
		t = a;
		a = b;
		b = t;
	}
	b->next = a->child;
	a->child = b;
	return a;
}

static struct sched_pkt *heap_push(struct sched_pkt *root, struct sched_pkt *p)
{
	p->next = NULL;
	p->child = NULL;
	return heap_meld(root, p);
}

/* Removes the root: melds its children in pairs left to right, then folds
 * the pairs right to left (the standard two-pass variant, amortised
 * O(log n)). Returns the new root. */
static struct sched_pkt *heap_pop(struct sched_pkt *root)
{
	struct sched_pkt *list = root->child, *pairs = NULL, *a, *b, *res = NULL;

	while (list) {
		a = list;
		b = a->next;
		list = b ? b->next : NULL;
		a = heap_meld(a, b);
		a->next = pairs;
		pairs = a;
	}
	while (pairs) {
		a = pairs;
		pairs = a->next;
		res = heap_meld(res, a);
	}
	return res;
}

/* --- public --------------------------------------------------------------- */

int sched_edf_init(struct sched_edf *q, const struct sched_edf_config *cfg)
{
	uint64_t n, words = 0;
	unsigned l;

	if (!q || !cfg || !cfg->bucket_ns || cfg->buckets_log2 < EDF_LOG2_MIN ||
	    cfg->buckets_log2 > EDF_LOG2_MAX)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->bucket_ns = cfg->bucket_ns;
	div_init(q, cfg->bucket_ns);
	q->buckets_log2 = cfg->buckets_log2;
	q->levels = (cfg->buckets_log2 + 5) / 6;
	n = 1ull << cfg->buckets_log2;
	for (l = 0; l < q->levels; l++) {
		q->level_off[l] = (unsigned)words;
		words += ((n >> (6 * l)) + 63) / 64;
	}
	q->buckets = calloc(n, sizeof(*q->buckets));
	if (!q->buckets)
		return -ENOMEM;
	q->bitmap = calloc(words, sizeof(*q->bitmap));
	if (!q->bitmap)
		goto err_bitmap;
	return 0;

err_bitmap:
	free(q->buckets);
	q->buckets = NULL;
	return -ENOMEM;
}

void sched_edf_close(struct sched_edf *q)
{
	free(q->bitmap);
	free(q->buckets);
	q->bitmap = NULL;
	q->buckets = NULL;
}

void sched_edf_enqueue(struct sched_edf *q, struct sched_pkt *p)
{
	p->key = key_of(q, p->deadline_ns);
	p->seq = q->seq++;
	q->len++;
	q->bytes += p->len_bytes;
	if (wheel_admits(q, p->key))
		wheel_push(q, p);
	else if (p->key < q->base)
		q->early = heap_push(q->early, p);
	else
		q->far = heap_push(q->far, p);
}

struct sched_pkt *sched_edf_peek(struct sched_edf *q)
{
	struct sched_pkt *best = wheel_head(q);

	if (q->early && (!best || pkt_before(q->early, best)))
		best = q->early;
	if (q->far && (!best || pkt_before(q->far, best)))
		best = q->far;
	return best;
}

struct sched_pkt *sched_edf_dequeue(struct sched_edf *q)
{
	struct sched_pkt *p = sched_edf_peek(q);

	if (!p)
		return NULL;
	if (p == q->early)
		q->early = heap_pop(p);
	else if (p == q->far)
		q->far = heap_pop(p);
	else
		wheel_pop(q);
	q->len--;
	q->bytes -= p->len_bytes;
	p->next = NULL;
	p->child = NULL;
	return p;
}
