/* metrics.c — the gossip module's figures for /metrics: the telemetry
 * module reads them at each scrape through AGENT_TM_IFACE
 * (agent/telemetry/telemetry.h; docs/metrics.md lists them). */
#include "agent/gossip/internal.h"

#include <string.h>

#include "agent/telemetry/telemetry.h"

static void tm_gossip(void *self, struct agent_tm_gossip *out)
{
	struct gmod *m = self;
	struct gossip *g = gmod_gossip(m);
	struct gossip_stats st;

	gossip_stats_get(g, &st);
	out->members[AGENT_TM_G_ALIVE] = gossip_count_state(g, GOSSIP_ALIVE);
	out->members[AGENT_TM_G_SUSPECT] = gossip_count_state(g, GOSSIP_SUSPECT);
	out->members[AGENT_TM_G_DEAD] = gossip_count_state(g, GOSSIP_DEAD);
	out->members[AGENT_TM_G_LEFT] = gossip_count_state(g, GOSSIP_LEFT);
	out->health = gossip_health(g);
	out->tx_bytes = st.tx_bytes;
	out->rx_bytes = st.rx_bytes;
	out->refused[AGENT_TM_GR_MALFORMED] = st.rx_bad;
	out->refused[AGENT_TM_GR_UNAUTHENTICATED] = st.rx_unauth;
	out->probes = st.probes;
	out->probe_failures = st.probe_failures;
	out->suspicions = st.suspicions;
	out->refutations = st.refutations;
	out->deaths = st.deaths;
	out->autopilot_replacements = m->ap.replacements;
}

static const struct agent_tm_sources gmod_tm_sources = { .gossip = tm_gossip };

const void *gmod_iface(void *self, const char *name)
{
	(void)self;
	return strcmp(name, AGENT_TM_IFACE) == 0 ? &gmod_tm_sources : NULL;
}
