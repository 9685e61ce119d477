/* fifo.c — a packet-limited FIFO: the NRT queue, and the baseline the
 * schedulers are measured against. Tail drop: a full queue refuses the new
 * packet and the caller counts it. */
#include "sched/sched.h"

#include <errno.h>

void sched_fifo_init(struct sched_fifo *f, uint64_t limit_pkts)
{
	*f = (struct sched_fifo){.limit_pkts = limit_pkts};
}

int sched_fifo_enqueue(struct sched_fifo *f, struct sched_pkt *p)
{
	if (f->limit_pkts && f->len >= f->limit_pkts)
		return -ENOBUFS;
	p->next = NULL;
	if (f->tail)
		f->tail->next = p;
	else
		f->head = p;
	f->tail = p;
	f->len++;
	f->bytes += p->len_bytes;
	return 0;
}

struct sched_pkt *sched_fifo_peek(const struct sched_fifo *f)
{
	return f->head;
}

struct sched_pkt *sched_fifo_dequeue(struct sched_fifo *f)
{
	struct sched_pkt *p = f->head;

	if (!p)
		return NULL;
	f->head = p->next;
	if (!f->head)
		f->tail = NULL;
	p->next = NULL;
	f->len--;
	f->bytes -= p->len_bytes;
	return p;
}
