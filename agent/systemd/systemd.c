/* systemd.c — readiness, watchdog and stopping for systemd; see systemd.h. */
#include "agent/systemd/systemd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ovs/ovs.h"
#include "common/log.h"
#include "common/sdnotify.h"

struct agent_systemd {
	struct rtvd *d;
	uv_timer_t timer;
	uint64_t watchdog_ms;	/* half systemd's interval; 0: no watchdog */
	bool ready, timer_open, warned;
	char last_status[96];
};

struct ovs_probe {
	bool found, owned;
};

static void probe_ovs(void *arg, void *self, const void *iface)
{
	struct ovs_probe *p = arg;
	struct agent_ovs_status st;

	(void)iface;
	agent_ovs_get_status(self, &st);
	p->found = true;
	p->owned = st.connected && st.flows_synced;
}

/* What is still missing before READY=1, or NULL when nothing is. */
static const char *missing(const struct agent_systemd *s)
{
	struct ovs_probe p = { 0 };

	if (agent_core_leader(s->d) == 0)
		return "waiting to join Raft (no leader known yet)";
	if (!agent_core_config(s->d)->ovs.enabled)
		return NULL;
	agent_core_iface(s->d, AGENT_OVS_IFACE, probe_ovs, &p);
	return p.found && p.owned ? NULL : "joined Raft; waiting to own the bridge (OpenFlow)";
}

static void notify(struct agent_systemd *s, const char *state)
{
	int rc = rtv_sdnotify(state);

	/* once: a watchdog ping failing every few seconds would flood the log */
	if (rc < 0 && !s->warned) {
		s->warned = true;
		rtv_warn("systemd", "cannot notify systemd (%.20s...): %s", state, strerror(-rc));
	}
}

static void on_timer(uv_timer_t *t)
{
	struct agent_systemd *s = t->data;
	const char *why;
	char msg[160];

	if (s->watchdog_ms)
		notify(s, "WATCHDOG=1");
	if (s->ready)
		return;
	why = missing(s);
	if (why) {
		if (strcmp(why, s->last_status) != 0) {
			snprintf(s->last_status, sizeof(s->last_status), "%s", why);
			snprintf(msg, sizeof(msg), "STATUS=%s", why);
			notify(s, msg);
		}
		return;
	}
	s->ready = true;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=node %llu: Raft leader %llu%s",
		 (unsigned long long)agent_core_config(s->d)->id,
		 (unsigned long long)agent_core_leader(s->d),
		 agent_core_config(s->d)->ovs.enabled ? ", bridge owned" : "");
	notify(s, msg);
	rtv_info("systemd", "ready (%s)", msg + strlen("READY=1\nSTATUS="));
	if (!s->watchdog_ms)
		uv_timer_stop(&s->timer);
	else
		uv_timer_set_repeat(&s->timer, s->watchdog_ms);
}

static int sd_start(struct rtvd *d, void **self)
{
	struct agent_systemd *s;
	uint64_t repeat;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;	/* not under systemd (or Type=simple): nothing to do */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*self = s;
	s->d = d;
	s->watchdog_ms = rtv_sdnotify_watchdog_usec() / 2000;
	repeat = AGENT_SYSTEMD_POLL_MS;
	if (s->watchdog_ms && s->watchdog_ms < repeat)
		repeat = s->watchdog_ms;
	uv_timer_init(agent_core_loop(d), &s->timer);
	s->timer.data = s;
	s->timer_open = true;
	uv_timer_start(&s->timer, on_timer, 0, repeat ? repeat : 1);
	return 0;
}

static void sd_close(void *self)
{
	struct agent_systemd *s = self;

	notify(s, "STOPPING=1");
	if (s->timer_open && !uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, NULL);
}

static void sd_free(void *self)
{
	free(self);
}

const struct agent_module agent_systemd_module = {
	.name = "systemd",
	.start = sd_start,
	.close = sd_close,
	.free = sd_free,
};
