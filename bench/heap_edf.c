/* heap_edf.c — array binary heap by (deadline_ns, seq); see heap_edf.h.
 * Sifts move a hole instead of swapping, one store per level. */
#include "bench/heap_edf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static inline bool ent_before(const struct heap_edf_ent *x, const struct heap_edf_ent *y)
{
	return x->deadline_ns < y->deadline_ns ||
	       (x->deadline_ns == y->deadline_ns && x->seq < y->seq);
}

int heap_edf_init(struct heap_edf *h, size_t cap)
{
	if (!h || !cap)
		return -EINVAL;
	h->a = calloc(cap, sizeof(*h->a));
	if (!h->a)
		return -ENOMEM;
	h->cap = cap;
	h->seq = 0;
	h->len = 0;
	h->bytes = 0;
	return 0;
}

void heap_edf_close(struct heap_edf *h)
{
	free(h->a);
	h->a = NULL;
	h->cap = 0;
}

int heap_edf_enqueue(struct heap_edf *h, struct sched_pkt *p)
{
	struct heap_edf_ent e = { p->deadline_ns, h->seq++, p };
	size_t i = h->len, parent;

	if (h->len == h->cap)
		return -ENOBUFS;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!ent_before(&e, &h->a[parent]))
			break;
		h->a[i] = h->a[parent];
		i = parent;
	}
	h->a[i] = e;
	h->len++;
	h->bytes += p->len_bytes;
	return 0;
}

struct sched_pkt *heap_edf_peek(const struct heap_edf *h)
{
	return h->len ? h->a[0].pkt : NULL;
}

struct sched_pkt *heap_edf_dequeue(struct heap_edf *h)
{
	struct sched_pkt *p;
	struct heap_edf_ent last;
	size_t i = 0, c, n;

	if (!h->len)
		return NULL;
	p = h->a[0].pkt;
	n = --h->len;
	last = h->a[n];
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && ent_before(&h->a[c + 1], &h->a[c]))
			c++;
		if (!ent_before(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (n)
		h->a[i] = last;
	h->bytes -= p->len_bytes;
	return p;
}
