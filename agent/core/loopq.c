/* loopq.c — the loop queue: the nng → libuv hand-off (see loopq.h). */
#include "agent/core/loopq.h"

#include <errno.h>
#include <nng/nng.h>
#include <stddef.h>

int agent_nng_errno(int rv)
{
	static const struct { int nng, err; } map[] = {
		{ NNG_EINTR, EINTR },		{ NNG_ENOMEM, ENOMEM },
		{ NNG_EINVAL, EINVAL },		{ NNG_EBUSY, EBUSY },
		{ NNG_ETIMEDOUT, ETIMEDOUT },	{ NNG_ECONNREFUSED, ECONNREFUSED },
		{ NNG_ECLOSED, ESHUTDOWN },	{ NNG_EAGAIN, EAGAIN },
		{ NNG_ENOTSUP, EOPNOTSUPP },	{ NNG_EADDRINUSE, EADDRINUSE },
		{ NNG_ESTATE, EPROTO },		{ NNG_ENOENT, ENOENT },
		{ NNG_EPROTO, EPROTO },		{ NNG_EUNREACHABLE, EHOSTUNREACH },
		{ NNG_EADDRINVAL, EINVAL },	{ NNG_EPERM, EPERM },
		{ NNG_EMSGSIZE, EMSGSIZE },	{ NNG_ECONNABORTED, ECONNABORTED },
		{ NNG_ECONNRESET, ECONNRESET },	{ NNG_ECANCELED, ECANCELED },
		{ NNG_ENOFILES, EMFILE },	{ NNG_ENOSPC, ENOSPC },
		{ NNG_EEXIST, EEXIST },		{ NNG_ECONNSHUT, ECONNRESET },
	};

	if (rv == 0)
		return 0;
	if (rv & NNG_ESYSERR)
		return -(rv & ~NNG_ESYSERR);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].nng == rv)
			return -map[i].err;
	}
	return -EIO;
}

static struct agent_loopq_item *take_all(struct agent_loopq *b)
{
	struct agent_loopq_item *list;

	pthread_mutex_lock(&b->mu);
	list = b->head;
	b->head = NULL;
	b->tail = &b->head;
	pthread_mutex_unlock(&b->mu);
	return list;
}

void agent_loopq_drain(struct agent_loopq *b)
{
	struct agent_loopq_item *it = take_all(b), *next;

	/* fn may post the same item again (e.g. a context re-arming its
	 * receive), so read next before running it */
	for (; it; it = next) {
		next = it->next;
		it->next = NULL;
		it->fn(it);
	}
}

static void on_async(uv_async_t *h)
{
	agent_loopq_drain(h->data);
}

int agent_loopq_init(struct agent_loopq *b, uv_loop_t *loop)
{
	int rc = pthread_mutex_init(&b->mu, NULL);

	if (rc)
		return -rc;
	b->head = NULL;
	b->tail = &b->head;
	b->closed = false;
	rc = uv_async_init(loop, &b->async, on_async);
	if (rc < 0) {
		pthread_mutex_destroy(&b->mu);
		return rc;
	}
	b->async.data = b;
	return 0;
}

void agent_loopq_post(struct agent_loopq *b, struct agent_loopq_item *item)
{
	bool wake;

	item->next = NULL;
	pthread_mutex_lock(&b->mu);
	wake = !b->closed;
	if (wake) {
		*b->tail = item;
		b->tail = &item->next;
		/* under the lock: close cannot slip in between */
		uv_async_send(&b->async);
	}
	pthread_mutex_unlock(&b->mu);
}

static void on_closed(uv_handle_t *h)
{
	struct agent_loopq *b = h->data;

	pthread_mutex_destroy(&b->mu);
}

void agent_loopq_close(struct agent_loopq *b)
{
	pthread_mutex_lock(&b->mu);
	b->closed = true;
	b->head = NULL;
	b->tail = &b->head;
	pthread_mutex_unlock(&b->mu);
	uv_close((uv_handle_t *)&b->async, on_closed);
}
