/* heap_edf.h — the baseline EDF queue: a plain array binary heap.
 *
 * What sched_edf is measured against, and the oracle its differential test
 * compares with. Exact deadlines (no bucketing), FIFO among equal deadlines:
 * entries are ordered by (deadline_ns, seq), seq counting enqueues. Keys are
 * kept inline in the array next to the packet pointer, so comparisons do not
 * chase packets — the strongest plain heap, not a straw man.
 *
 * Bench/test code, not part of sched/: it allocates a fixed capacity in
 * _init and refuses packets beyond it.
 */
#ifndef RTV_BENCH_HEAP_EDF_H
#define RTV_BENCH_HEAP_EDF_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

struct heap_edf_ent {
	uint64_t deadline_ns;
	uint64_t seq;
	struct sched_pkt *pkt;
};

struct heap_edf {
	struct heap_edf_ent *a;	/* a[0] is the root */
	size_t cap;
	uint64_t seq;
	/* statistics, readable */
	uint64_t len;
	uint64_t bytes;
};

/* Returns 0, -EINVAL (cap == 0) or -ENOMEM. */
int heap_edf_init(struct heap_edf *h, size_t cap);
void heap_edf_close(struct heap_edf *h);
/* Returns 0, or -ENOBUFS when full (the packet is not queued). */
int heap_edf_enqueue(struct heap_edf *h, struct sched_pkt *p);
struct sched_pkt *heap_edf_peek(const struct heap_edf *h);
struct sched_pkt *heap_edf_dequeue(struct heap_edf *h);

#endif
