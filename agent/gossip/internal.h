/* internal.h — the gossip module's private state, shared by its files:
 * gossip.c (configuration, life cycle, status), facts.c (this host's
 * facts), autopilot.c (replacing dead voters) and metrics.c (its source of
 * /metrics figures). */
#ifndef RTV_AGENT_GOSSIP_INTERNAL_H
#define RTV_AGENT_GOSSIP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <uv.h>

#include "agent/core/core.h"
#include "agent/gossip/auth.h"
#include "consensus/consensus.h"
#include "gossip/gossip.h"

#define GMOD "gossip"

struct gmod_autopilot_config {
	bool on;
	uint64_t dead_after_ns;		/* gossip dead AND no Raft contact this long */
};

struct gmod_autopilot {
	struct gmod_autopilot_config cfg;
	uv_timer_t timer;
	bool busy;			/* a membership change is in flight */
	uint64_t promote_id, demote_id;	/* of the change in flight */
	/* per Raft id: when the leader last saw raft hear from it */
	struct { uint64_t id, contact_ns; } seen[CONS_PEERS_MAX];
	size_t n_seen;
	uint64_t replacements;		/* dead voters replaced by a standby */
	uint64_t last_refusal_ns;	/* rate limit of "cannot replace" logs */
};

struct gmod {
	struct rtvd *d;
	struct gossip_udp *udp;
	struct agent_gossip_auth *auth;	/* NULL: unsealed ([tls] rack_keys unset) */
	char keys_path[4096];
	struct stat keys_st;		/* of the keyring in force (rotation) */
	uv_timer_t facts_timer;
	uint64_t cpu_busy, cpu_total;	/* /proc/stat at the last refresh */
	uint64_t util_at_ns, util_bytes;	/* dataplane bytes sent, last refresh */
	uint64_t key_reloads;
	struct gmod_autopilot ap;
};

struct gossip *gmod_gossip(struct gmod *m);

/* facts.c: refreshes this host's facts (every GMOD_FACTS_MS). */
#define GMOD_FACTS_MS 2000
void gmod_facts_refresh(struct gmod *m);

/* autopilot.c */
int gmod_autopilot_key(struct gmod_autopilot_config *c, const char *key, const char *v,
		       char *why, size_t whylen);
int gmod_autopilot_start(struct gmod *m, const struct gmod_autopilot_config *c);
void gmod_autopilot_close(struct gmod *m);

/* metrics.c: the AGENT_TM_IFACE source */
const void *gmod_iface(void *self, const char *name);

#endif /* RTV_AGENT_GOSSIP_INTERNAL_H */
