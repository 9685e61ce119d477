/* backlog.c — miss reports held for rtvd (dpd.h, "The miss backlog").
 *
 * rtvdp's control thread drains the engine's miss ring (DP_MISS_RING
 * reports, single-producer) every tick whether or not rtvd is connected,
 * so the ingress thread never loses a report to a full ring while rtvd is
 * away; they wait here instead, bounded. Delivery to rtvd is at least once:
 * a report leaves only when rtvd acknowledges it, so one rtvd that dies
 * after reading but before sending leaves it to the next. A report handed
 * twice makes the sending host count those misses twice (a boost one step
 * early); one never handed would hide a deadline miss from the path's
 * miss policy, which is the worse failure.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG_CAP_MAX 1000000

int dpd_backlog_init(struct dpd_backlog *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	if (cap == 0 || cap > BACKLOG_CAP_MAX)
		return -EINVAL;
	if (!(b->r = calloc(cap, sizeof(*b->r))))
		return -ENOMEM;
	b->cap = cap;
	b->first_seq = b->handed = 1;
	return 0;
}

void dpd_backlog_close(struct dpd_backlog *b)
{
	free(b->r);
	memset(b, 0, sizeof(*b));
}

void dpd_backlog_push(struct dpd_backlog *b, const struct dp_miss_report *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b->n == b->cap) {	/* full: the oldest goes */
			b->head = (b->head + 1) % b->cap;
			b->n--;
			b->first_seq++;
			b->dropped++;
		}
		b->r[(b->head + b->n) % b->cap] = r[i];
		b->n++;
	}
}

void dpd_backlog_ack(struct dpd_backlog *b, uint64_t ack)
{
	uint64_t k;

	if (ack > b->handed)
		ack = b->handed;
	if (ack <= b->first_seq)
		return;
	k = ack - b->first_seq;
	if (k > b->n)
		k = b->n;	/* nothing beyond what exists */
	b->head = (b->head + (size_t)k) % b->cap;
	b->n -= (size_t)k;
	b->first_seq += k;
}

size_t dpd_backlog_peek(struct dpd_backlog *b, struct dp_miss_report *out, size_t max,
			uint64_t *first_seq)
{
	size_t n = b->n < max ? b->n : max;

	for (size_t i = 0; i < n; i++)
		out[i] = b->r[(b->head + i) % b->cap];
	*first_seq = b->first_seq;
	if (b->first_seq + n > b->handed)
		b->handed = b->first_seq + n;
	return n;
}

int dpd_backlog_restore(struct dpd_backlog *b, const struct dpd_misses *m)
{
	b->head = 0;
	b->n = 0;
	b->first_seq = b->handed = m->first_seq ? m->first_seq : 1;
	b->dropped = m->dropped;
	dpd_backlog_push(b, m->r, m->n);
	return 0;
}
