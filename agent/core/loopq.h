/* loopq.h — the loop queue: handing work from nng's threads to the libuv
 * loop (not to be confused with the OVS bridge).
 *
 * nng completes asynchronous operations on its own threads; everything that
 * touches rtvd's state runs on the one libuv loop. An nng aio callback
 * therefore only posts an item (a mutex-protected FIFO and uv_async_send,
 * which coalesces wake-ups); the loop runs the items in order. Items are
 * embedded in their owner (intrusive), so posting never allocates or fails.
 *
 * An item must not be posted again before it has run: each owner has at
 * most one nng operation outstanding per item.
 */
#ifndef RTV_AGENT_LOOPQ_H
#define RTV_AGENT_LOOPQ_H

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

struct agent_loopq_item {
	struct agent_loopq_item *next;	/* private */
	void (*fn)(struct agent_loopq_item *item);	/* runs on the loop */
};

struct agent_loopq {
	/* private */
	uv_async_t async;
	pthread_mutex_t mu;
	struct agent_loopq_item *head, **tail;
	bool closed;
};

/* Caller-allocated; the queue holds one uv handle until agent_loopq_close. */
int agent_loopq_init(struct agent_loopq *b, uv_loop_t *loop);
/* Any thread. Queues item; item->fn runs on the loop soon after. After
 * agent_loopq_close the item is dropped (callers stop their nng operations
 * first, so this does not happen). */
void agent_loopq_post(struct agent_loopq *b, struct agent_loopq_item *item);
/* Loop thread: runs everything queued now, without waiting for the wake-up. */
void agent_loopq_drain(struct agent_loopq *b);
/* Loop thread: drops what is still queued and closes the uv handle. The
 * memory must stay valid until the loop has run the close (uv_run returns). */
void agent_loopq_close(struct agent_loopq *b);

/* nng's error numbers as negative errnos: the one place rtvd translates
 * them (NNG_ECLOSED is -ESHUTDOWN, NNG_ETIMEDOUT -ETIMEDOUT, ...). */
int agent_nng_errno(int nng_rv);

#endif /* RTV_AGENT_LOOPQ_H */
