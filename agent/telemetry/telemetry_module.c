/* telemetry_module.c — the metrics as a module of rtvd's core
 * (agent/core/core.h): the registry before the Raft node starts, so that
 * the log replayed at start is counted; the /metrics endpoint (http.h) on
 * [metrics] listen once the node runs; the request engine's events and the
 * applied commands as counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/telemetry/telemetry.h"
#include "common/log.h"

static int tm_init(struct rtvd *d, void **self)
{
	struct agent_telemetry *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	*self = t;	/* close and free apply from here on */
	rc = agent_telemetry_init(t, d);
	if (rc < 0)
		rtv_error("agent", "cannot set up the metrics: %s", strerror(-rc));
	return rc;
}

static int render(void *arg, struct agent_mbuf *out)
{
	return agent_telemetry_render(arg, out);
}

static int tm_start(struct rtvd *d, void **self)
{
	struct agent_telemetry *t = *self;
	const struct agent_config *cfg = agent_core_config(d);
	char err[AGENT_CONFIG_ERRLEN];
	int rc;

	if (!t || !cfg->metrics_listen[0])
		return 0;
	rc = agent_http_start(&t->http, cfg->metrics_listen, agent_core_loopq(d), render, t,
			      err, sizeof(err));
	if (rc < 0)
		rtv_error("agent", "%s", err);
	else
		rtv_info("agent", "metrics at %s", agent_http_url(&t->http));
	return rc;
}

static void tm_applied(void *self, const struct cons_cmd *cmd, const struct cons_result *res)
{
	agent_tm_applied(self, cmd, res);
}

static void tm_request(void *self, const struct agent_req_ev *ev)
{
	agent_tm_request(self, ev);
}

static void tm_close(void *self)
{
	struct agent_telemetry *t = self;

	agent_http_close(&t->http);	/* answers posted scrapes */
	agent_telemetry_close(t);
}

static void tm_free(void *self)
{
	agent_telemetry_free(self);
	free(self);
}

const struct agent_module agent_telemetry_module = {
	.name = "telemetry",
	.init = tm_init,
	.start = tm_start,
	.applied = tm_applied,
	.request = tm_request,
	.close = tm_close,
	.free = tm_free,
};
