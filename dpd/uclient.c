/* uclient.c — rtvd's end of the channel on its libuv loop (dpd.h, "rtvd's
 * end on its libuv loop").
 *
 * The loop never waits for rtvdp: requests are written and their replies
 * come back through the read callback, in order (rtvdp answers requests in
 * the order it reads them and sends nothing unasked), so the pending
 * requests are a FIFO matched by sequence number. A timer every 100 ms
 * retries the connection while there is none and fails a request that has
 * waited past the timeout — a rtvdp that does not answer is treated like
 * one that is gone, since rtvd must then decide about plain forwarding.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 100

struct wreq {
	uv_write_t w;
	void *buf;
};

static void drop(struct dpd_uclient *c, const char *why, int rc);

static void fail_pending(struct dpd_uclient *c, int rc, const char *why)
{
	while (c->n_pend > 0) {
		struct dpd_upending p = c->pend[0];

		memmove(c->pend, c->pend + 1, --c->n_pend * sizeof(c->pend[0]));
		if (p.fn)
			p.fn(p.arg, rc, NULL, why);
	}
}

static void on_pipe_closed(uv_handle_t *h)
{
	struct dpd_uclient *c = h->data;

	c->pipe_open = c->pipe_closing = false;
}

static void on_write(uv_write_t *w, int status)
{
	struct wreq *r = (struct wreq *)w;
	struct dpd_uclient *c = w->data;

	free(r->buf);
	free(r);
	if (status < 0 && c->connected)
		drop(c, uv_strerror(status), -ECONNRESET);
}

static int send_msg(struct dpd_uclient *c, struct dpd_msg *q, dpd_reply_fn fn, void *arg)
{
	struct wreq *r;
	uv_buf_t b;
	size_t len;
	int rc;

	if (c->n_pend == DPD_UPENDING)
		return -EBUSY;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	q->seq = ++c->seq;
	if ((rc = dpd_msg_encode(q, &r->buf, &len, NULL)) < 0) {
		free(r);
		return rc;
	}
	b = uv_buf_init(r->buf, (unsigned)len);
	r->w.data = c;
	if ((rc = uv_write(&r->w, (uv_stream_t *)&c->pipe, &b, 1, on_write)) < 0) {
		free(r->buf);
		free(r);
		return rc;
	}
	c->pend[c->n_pend++] = (struct dpd_upending){
		.seq = q->seq, .deadline_ms = uv_now(c->loop) + (uint64_t)c->timeout_ms,
		.fn = fn, .arg = arg };
	return 0;
}

/* The connection is gone (or useless): fail what waits, close, retry. */
static void drop(struct dpd_uclient *c, const char *why, int rc)
{
	bool was_up = c->up;

	c->up = c->connected = false;
	c->drops++;
	if (c->pipe_open && !c->pipe_closing) {
		c->pipe_closing = true;
		uv_close((uv_handle_t *)&c->pipe, on_pipe_closed);
	}
	dpd_rbuf_close(&c->rb);
	c->next_try_ms = uv_now(c->loop) + (uint64_t)c->retry_ms;
	fail_pending(c, rc, why);
	if (was_up && c->link_fn && !c->closing)
		c->link_fn(c->arg, false, NULL, why);
}

static void on_hello(void *arg, int rc, struct dpd_msg *r, const char *err)
{
	struct dpd_uclient *c = arg;

	if (rc < 0) {
		if (c->connected)
			drop(c, err, rc);
		return;
	}
	c->state = r->u.state;
	c->up = true;
	if (c->link_fn)
		c->link_fn(c->arg, true, &c->state, NULL);
}

static void deliver(struct dpd_uclient *c, struct dpd_msg *m)
{
	struct dpd_upending p;
	char why[CONS_ERRLEN];

	if (c->n_pend == 0 || m->re != c->pend[0].seq) {
		snprintf(why, sizeof(why), "rtvdp answered request %llu out of order",
			 (unsigned long long)m->re);
		drop(c, why, -EPROTO);
		return;
	}
	p = c->pend[0];
	memmove(c->pend, c->pend + 1, --c->n_pend * sizeof(c->pend[0]));
	if (!p.fn)
		return;
	if (m->type == DPD_T_ERROR)
		p.fn(p.arg, m->u.error.code, NULL, m->u.error.msg);
	else
		p.fn(p.arg, 0, m, NULL);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	b->base = malloc(hint);
	b->len = b->base ? hint : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct dpd_uclient *c = s->data;
	const uint8_t *body;
	size_t len;
	int rc = 0;

	if (n < 0) {
		free(b->base);
		drop(c, n == UV_EOF ? "rtvdp closed the channel" : uv_strerror((int)n), -ECONNRESET);
		return;
	}
	if (n > 0 && dpd_rbuf_feed(&c->rb, b->base, (size_t)n) < 0)
		rc = -ENOMEM;
	free(b->base);
	while (rc == 0 && c->connected && (rc = dpd_rbuf_next(&c->rb, &body, &len)) == 1) {
		struct dpd_msg m;
		char err[CONS_ERRLEN];

		if ((rc = dpd_msg_decode(body, len, &m, err)) < 0) {
			drop(c, err, rc);
			return;
		}
		deliver(c, &m);
		dpd_msg_free(&m);
		rc = 0;
	}
	if (rc < 0 && c->connected)
		drop(c, "a frame of a bad length from rtvdp", rc);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct dpd_uclient *c = req->data;
	struct dpd_msg q = { .type = DPD_T_HELLO };

	if (c->closing)
		return;
	if (status == UV_EAGAIN)	/* someone listens, but does not accept now */
		c->accepted_ms = uv_now(c->loop);
	if (status < 0) {
		c->pipe_closing = true;
		uv_close((uv_handle_t *)&c->pipe, on_pipe_closed);
		c->next_try_ms = uv_now(c->loop) + (uint64_t)c->retry_ms;
		return;
	}
	c->connected = true;
	c->connects++;
	c->accepted_ms = uv_now(c->loop);
	dpd_rbuf_init(&c->rb);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	q.u.hello.host_id = c->host_id;
	q.u.hello.pid = (uint32_t)getpid();
	snprintf(q.u.hello.name, sizeof(q.u.hello.name), "rtvd");
	if (send_msg(c, &q, on_hello, c) < 0)
		drop(c, "cannot send hello", -EIO);
}

static void try_connect(struct dpd_uclient *c)
{
	if (c->pipe_open || uv_pipe_init(c->loop, &c->pipe, 0) < 0)
		return;
	c->pipe_open = true;
	c->pipe.data = c;
	c->creq.data = c;
	uv_pipe_connect(&c->creq, &c->pipe, c->path, on_connect);
}

static void on_tick(uv_timer_t *t)
{
	struct dpd_uclient *c = t->data;
	uint64_t now = uv_now(c->loop);
	char why[64];

	if (!c->pipe_open && now >= c->next_try_ms)
		try_connect(c);
	if (c->n_pend > 0 && now > c->pend[0].deadline_ms) {
		snprintf(why, sizeof(why), "rtvdp did not answer within %d ms", c->timeout_ms);
		drop(c, why, -ETIMEDOUT);
	}
}

int dpd_uclient_init(struct dpd_uclient *c, uv_loop_t *loop, const char *path, uint64_t host_id,
		     int timeout_ms, int retry_ms, dpd_link_fn link_fn, void *arg)
{
	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->loop = loop;
	c->host_id = host_id;
	c->timeout_ms = timeout_ms;
	c->retry_ms = retry_ms;
	c->link_fn = link_fn;
	c->arg = arg;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	try_connect(c);
	return uv_timer_start(&c->timer, on_tick, TICK_MS, TICK_MS);
}

int dpd_uclient_request(struct dpd_uclient *c, struct dpd_msg *q, dpd_reply_fn fn, void *arg)
{
	if (!c->up || c->closing)
		return -ENOTCONN;
	return send_msg(c, q, fn, arg);
}

void dpd_uclient_close(struct dpd_uclient *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->up = c->connected = false;
	fail_pending(c, -ECANCELED, "closing");
	dpd_rbuf_close(&c->rb);
	if (c->pipe_open && !c->pipe_closing) {
		c->pipe_closing = true;
		uv_close((uv_handle_t *)&c->pipe, on_pipe_closed);
	}
	uv_close((uv_handle_t *)&c->timer, NULL);
}
