/* http.c — the /metrics endpoint (see http.h).
 *
 * A scrape's life: nng's handler thread allocates a struct scrape, posts it
 * to the loop queue and returns with nng's aio still open; the loop renders,
 * builds the response and finishes the aio. nng's server waits for open
 * handler aios when it stops, and only the loop can finish them, so the
 * loop must not stop the server while a scrape sits in the loop queue: h->mu
 * makes "post" and "closing" exclusive, and agent_http_close drains the
 * loop queue between setting closing and stopping the server.
 */
#include "agent/telemetry/http.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char index_text[] = "rtvd: Prometheus metrics at /metrics\n";

struct scrape {
	struct agent_loopq_item item;
	struct agent_http *h;
	nng_aio *aio;
};

/* Any thread: answers with an empty error page (or gives up the connection). */
static void answer_error(nng_aio *aio, uint16_t code)
{
	nng_http_res *res;

	if (nng_http_res_alloc_error(&res, code) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* Loop: the response with the rendered exposition, or NULL. */
static nng_http_res *response(struct agent_http *h)
{
	nng_http_res *res = NULL;
	int rc;

	agent_mbuf_reset(&h->buf);
	rc = h->render(h->arg, &h->buf);
	if (rc < 0) {
		rtv_warn("agent", "rendering /metrics failed: %s", strerror(-rc));
		return NULL;
	}
	if (nng_http_res_alloc(&res) != 0)
		return NULL;
	if (nng_http_res_set_header(res, "Content-Type", AGENT_HTTP_CONTENT_TYPE) != 0 ||
	    nng_http_res_copy_data(res, h->buf.p, h->buf.len) != 0) {
		nng_http_res_free(res);
		return NULL;
	}
	return res;
}

static void on_scrape(struct agent_loopq_item *item)
{
	struct scrape *s = (struct scrape *)((char *)item - offsetof(struct scrape, item));
	struct agent_http *h = s->h;
	nng_http_res *res = response(h);

	h->n_scrapes++;
	if (res) {
		nng_aio_set_output(s->aio, 0, res);
		nng_aio_finish(s->aio, 0);
	} else {
		h->n_failed++;
		answer_error(s->aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR);
	}
	pthread_mutex_lock(&h->mu);
	h->n_posted--;
	pthread_mutex_unlock(&h->mu);
	free(s);
}

/* nng's thread. */
static void on_request(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	struct agent_http *h = nng_http_handler_get_data(hd);
	struct scrape *s = malloc(sizeof(*s));
	bool closing;

	pthread_mutex_lock(&h->mu);
	closing = h->closing;
	if (s && !closing) {
		s->item.fn = on_scrape;
		s->h = h;
		s->aio = aio;
		h->n_posted++;
		agent_loopq_post(h->loopq, &s->item);
	}
	pthread_mutex_unlock(&h->mu);
	if (!s || closing) {
		free(s);
		answer_error(aio, closing ? NNG_HTTP_STATUS_SERVICE_UNAVAILABLE
					  : NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR);
	}
}

static int fail(char *err, size_t errlen, int rv, const char *what, const char *url)
{
	snprintf(err, errlen, "cannot %s %s for /metrics: %s%s", what, url, nng_strerror(rv),
		 rv == NNG_EADDRINUSE ? " (is something else using it? see [metrics] listen)"
				      : "");
	return agent_nng_errno(rv);
}

static int add_handlers(struct agent_http *h, nng_http_server *srv, char *err, size_t errlen)
{
	nng_http_handler *hm = NULL, *hi = NULL;
	int rv = nng_http_handler_alloc(&hm, "/metrics", on_request);

	if (rv == 0 && (rv = nng_http_handler_set_data(hm, h, NULL)) == 0 &&
	    (rv = nng_http_server_add_handler(srv, hm)) == 0)
		hm = NULL;	/* the server's now */
	if (rv == 0)
		rv = nng_http_handler_alloc_static(&hi, "/", index_text, sizeof(index_text) - 1,
						   "text/plain; charset=utf-8");
	if (rv == 0 && (rv = nng_http_server_add_handler(srv, hi)) == 0)
		hi = NULL;
	if (hm)
		nng_http_handler_free(hm);
	if (hi)
		nng_http_handler_free(hi);
	return rv ? fail(err, errlen, rv, "set up", h->url) : 0;
}

int agent_http_start(struct agent_http *h, const char *listen, struct agent_loopq *loopq,
		     agent_http_render_fn render, void *arg, char *err, size_t errlen)
{
	nng_http_server *srv;
	nng_url *url;
	int rv;

	memset(h, 0, sizeof(*h));
	h->loopq = loopq;
	h->render = render;
	h->arg = arg;
	agent_mbuf_init(&h->buf);
	if ((rv = pthread_mutex_init(&h->mu, NULL)) != 0)
		return -rv;
	h->mu_init = true;
	snprintf(h->url, sizeof(h->url), "http://%s", listen);
	if ((rv = nng_url_parse(&url, h->url)) != 0)
		return fail(err, errlen, rv, "parse", h->url);
	rv = nng_http_server_hold(&srv, url);
	nng_url_free(url);
	if (rv != 0)
		return fail(err, errlen, rv, "create a server on", h->url);
	h->srv = srv;
	rv = add_handlers(h, srv, err, errlen);
	if (rv < 0)
		return rv;
	if ((rv = nng_http_server_start(srv)) != 0)
		return fail(err, errlen, rv, "listen on", h->url);
	h->started = true;
	snprintf(h->url, sizeof(h->url), "http://%s/metrics", listen);
	return 0;
}

void agent_http_close(struct agent_http *h)
{
	if (!h->mu_init)
		return;
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	pthread_mutex_unlock(&h->mu);
	if (h->srv) {
		agent_loopq_drain(h->loopq);	/* answers the scrapes posted before */
		if (h->n_posted)
			rtv_error("agent", "%u scrapes still posted at close", h->n_posted);
		if (h->started)
			nng_http_server_stop(h->srv);
		nng_http_server_release(h->srv);
		h->srv = NULL;
	}
	agent_mbuf_close(&h->buf);
	pthread_mutex_destroy(&h->mu);
	h->mu_init = false;
}

const char *agent_http_url(const struct agent_http *h)
{
	return h->url;
}
