/* http.h — rtvd's /metrics endpoint on nng's HTTP server
 * (<nng/supplemental/http/http.h>; no HTTP parsing of our own).
 *
 * GET /metrics answers text/plain; version=0.0.4 (Prometheus' text format);
 * GET / answers a line saying where the metrics are. nng calls the handler
 * on one of its threads; the handler only posts the scrape to the loop
 * through the loop queue, and the loop renders it (agent_http_render_fn) and
 * completes nng's operation. So a scrape reads rtvd's state on the loop,
 * between two events, without locks, and never blocks the loop.
 *
 * Closing: agent_http_close stops accepting scrapes, answers the ones
 * already posted (it drains the loop queue), then stops nng's server, which
 * waits for its handlers — none of which can be waiting for the loop any
 * more. Scrapes that arrive while closing get 503.
 */
#ifndef RTV_AGENT_HTTP_H
#define RTV_AGENT_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/core/loopq.h"
#include "agent/telemetry/metrics.h"

#define AGENT_HTTP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Loop thread: appends the exposition to out; 0 or a negative errno (the
 * scrape gets 500). */
typedef int (*agent_http_render_fn)(void *arg, struct agent_mbuf *out);

struct agent_http {
	/* private */
	void *srv;		/* nng_http_server */
	struct agent_loopq *loopq;
	agent_http_render_fn render;
	void *arg;
	struct agent_mbuf buf;	/* loop: reused by every scrape */
	pthread_mutex_t mu;	/* closing, n_posted: nng threads vs the loop */
	bool closing, mu_init, started;
	unsigned n_posted;
	char url[64];
	/* statistics (loop) */
	uint64_t n_scrapes, n_failed;
};

/* Starts serving on `listen` ("IPv4:port"). Loop thread. Returns 0 or a
 * negative errno with err filled (e.g. the address is in use). On error
 * agent_http_close still applies. */
int agent_http_start(struct agent_http *h, const char *listen, struct agent_loopq *loopq,
		     agent_http_render_fn render, void *arg, char *err, size_t errlen);
/* Loop thread; see above. Safe on a zeroed or failed struct. */
void agent_http_close(struct agent_http *h);
/* "http://IPv4:port/metrics" once started. */
const char *agent_http_url(const struct agent_http *h);

#endif /* RTV_AGENT_HTTP_H */
