/* bridge.h — handing work from nng's threads to the libuv loop.
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
#ifndef RTV_AGENT_BRIDGE_H
#define RTV_AGENT_BRIDGE_H

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

struct agent_bridge_item {
	struct agent_bridge_item *next;	/* private */
	void (*fn)(struct agent_bridge_item *item);	/* runs on the loop */
};

struct agent_bridge {
	/* private */
	uv_async_t async;
	pthread_mutex_t mu;
	struct agent_bridge_item *head, **tail;
	bool closed;
};

/* Caller-allocated; the bridge holds one uv handle until agent_bridge_close. */
int agent_bridge_init(struct agent_bridge *b, uv_loop_t *loop);
/* Any thread. Queues item; item->fn runs on the loop soon after. After
 * agent_bridge_close the item is dropped (callers stop their nng operations
 * first, so this does not happen). */
void agent_bridge_post(struct agent_bridge *b, struct agent_bridge_item *item);
/* Loop thread: runs everything queued now, without waiting for the wake-up. */
void agent_bridge_drain(struct agent_bridge *b);
/* Loop thread: drops what is still queued and closes the uv handle. The
 * memory must stay valid until the loop has run the close (uv_run returns). */
void agent_bridge_close(struct agent_bridge *b);

/* nng's error numbers as negative errnos: the one place rtvd translates
 * them (NNG_ECLOSED is -ESHUTDOWN, NNG_ETIMEDOUT -ETIMEDOUT, ...). */
int agent_nng_errno(int nng_rv);

#endif /* RTV_AGENT_BRIDGE_H */
