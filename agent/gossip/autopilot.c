/* autopilot.c — the leader replaces a dead voter with a healthy standby,
 * so that the rack keeps its fault tolerance (as Consul's autopilot does
 * for its servers).
 *
 * When is a voter dead? Two independent witnesses must agree for
 * dead_after (10 s by default), both measured on the leader:
 *   - gossip: the member list holds it DEAD (the suspicion ran its course
 *     without a refutation: several members' probes, direct and indirect,
 *     failed) and has for dead_after;
 *   - Raft: libraft heard nothing from it (recent_contact false at every
 *     sample, every 100 ms) for dead_after, while this node stayed leader
 *     — and a leader only stays one while a majority of voters answers it
 *     (check quorum), so the verdict is taken with a majority reachable.
 * A voter that is merely slow answers Raft's heartbeats or refutes its
 * suspicion, so it is not replaced; one paused longer than dead_after is
 * replaced, and comes back as a standby, which is safe: the configuration
 * change commits through the live majority, and the voter count never
 * drops.
 *
 * The replacement: first promote a standby that gossip holds ALIVE, that
 * Raft heard from in the last sample and that is caught up (lag <= 64
 * entries); only when that change committed, demote the dead voter to
 * standby (cons_node_add with voter false). The voter count therefore
 * never falls below what it was (the bootstrap's count, or what an
 * operator set with rtvctl members add): without a healthy standby
 * nothing happens (logged once a minute). One change at a
 * time; a leader that loses leadership forgets its clocks, and the next
 * leader starts its own (a fresh leader waits dead_after before acting).
 */
#include "agent/gossip/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/units.h"

#define AP_TICK_MS 100
#define AP_MAX_LAG 64
#define AP_LOG_EVERY_NS (60 * 1000000000ull)

int gmod_autopilot_key(struct gmod_autopilot_config *c, const char *key, const char *v,
		       char *why, size_t whylen)
{
	char err[128];

	if (strcmp(key, "autopilot") == 0) {
		if (strcmp(v, "yes") && strcmp(v, "no")) {
			snprintf(why, whylen, "autopilot: yes or no");
			return -EINVAL;
		}
		c->on = v[0] == 'y';
		return 0;
	}
	if (strcmp(key, "autopilot_dead_after") == 0) {
		if (rtv_parse_duration_ns(v, &c->dead_after_ns, err, sizeof(err)) == 0 &&
		    c->dead_after_ns >= 1000000000ull)
			return 0;
		snprintf(why, whylen, "autopilot_dead_after: a duration of at least 1s, e.g. 10s");
		return -EINVAL;
	}
	return -ENOENT;
}

/* When raft last heard from `id`, as sampled; a peer seen for the first
 * time counts as heard now (the clock starts when this node leads). */
static uint64_t *contact(struct gmod_autopilot *ap, uint64_t id, uint64_t now)
{
	for (size_t i = 0; i < ap->n_seen; i++)
		if (ap->seen[i].id == id)
			return &ap->seen[i].contact_ns;
	if (ap->n_seen == CONS_PEERS_MAX)
		return NULL;
	ap->seen[ap->n_seen].id = id;
	ap->seen[ap->n_seen].contact_ns = now;
	return &ap->seen[ap->n_seen++].contact_ns;
}

/* The gossip member of Raft server `id` (by its host record's name). */
static int member_of(struct gmod *m, uint64_t id, struct gossip_member *gm)
{
	const struct cons_host *h = cons_state_host(agent_core_state(m->d), id);

	return h ? gossip_member_find(gmod_gossip(m), h->name, gm) : -ENOENT;
}

static bool is_dead(struct gmod *m, const struct cons_peer_status *p, uint64_t now)
{
	uint64_t after = m->ap.cfg.dead_after_ns, *c = contact(&m->ap, p->id, now);
	struct gossip_member gm;

	return c && now - *c >= after && member_of(m, p->id, &gm) == 0 &&
	       gm.state == GOSSIP_DEAD && now - gm.state_since_ns >= after;
}

static bool is_healthy(struct gmod *m, const struct cons_peer_status *p, uint64_t now)
{
	uint64_t *c = contact(&m->ap, p->id, now);
	struct gossip_member gm;

	return c && now - *c <= 2 * AP_TICK_MS * 1000000ull && p->lag <= AP_MAX_LAG &&
	       member_of(m, p->id, &gm) == 0 && gm.state == GOSSIP_ALIVE;
}

static void on_demoted(void *arg, int status)
{
	struct gmod *m = arg;

	m->ap.busy = false;
	if (status < 0) {
		rtv_warn(GMOD, "autopilot: demoting dead voter %" PRIu64 " failed: %s (retrying)",
			 m->ap.demote_id, strerror(-status));
		return;
	}
	m->ap.replacements++;
	rtv_info(GMOD, "autopilot: voter %" PRIu64 " replaced by %" PRIu64
		 " (now a standby; voters back to their count)", m->ap.demote_id,
		 m->ap.promote_id);
}

static void on_promoted(void *arg, int status)
{
	struct gmod *m = arg;
	struct cons_node_status st;
	int rc;

	if (status < 0) {
		m->ap.busy = false;
		rtv_warn(GMOD, "autopilot: promoting standby %" PRIu64 " failed: %s",
			 m->ap.promote_id, strerror(-status));
		return;
	}
	cons_node_status(agent_core_node(m->d), &st);
	for (size_t i = 0; i < st.n_peers; i++) {
		if (st.peers[i].id != m->ap.demote_id)
			continue;
		rc = cons_node_add(agent_core_node(m->d), st.peers[i].id, st.peers[i].raft_addr,
				   false, on_demoted, m);
		if (rc == 0)
			return;
		rtv_warn(GMOD, "autopilot: cannot demote %" PRIu64 ": %s", m->ap.demote_id,
			 strerror(-rc));
	}
	m->ap.busy = false;
}

static void replace(struct gmod *m, const struct cons_peer_status *dead,
		    const struct cons_peer_status *sb)
{
	int rc;

	m->ap.busy = true;
	m->ap.demote_id = dead->id;
	m->ap.promote_id = sb->id;
	rtv_info(GMOD, "autopilot: voter %" PRIu64 " dead (gossip and Raft, %.1f s): "
		 "promoting standby %" PRIu64, dead->id,
		 (double)m->ap.cfg.dead_after_ns / 1e9, sb->id);
	rc = cons_node_add(agent_core_node(m->d), sb->id, sb->raft_addr, true, on_promoted, m);
	if (rc < 0) {
		m->ap.busy = false;
		rtv_warn(GMOD, "autopilot: cannot promote %" PRIu64 ": %s", sb->id, strerror(-rc));
	}
}

static void tick(uv_timer_t *t)
{
	struct gmod *m = t->data;
	uint64_t self = agent_core_config(m->d)->id, now = uv_hrtime();
	const struct cons_peer_status *dead = NULL, *sb = NULL;
	struct cons_node_status st;

	cons_node_status(agent_core_node(m->d), &st);
	if (st.role != CONS_ROLE_LEADER) {
		m->ap.n_seen = 0;
		return;
	}
	for (size_t i = 0; i < st.n_peers; i++) {
		uint64_t *c = contact(&m->ap, st.peers[i].id, now);

		if (c && (st.peers[i].recent_contact || st.peers[i].id == self))
			*c = now;
	}
	if (m->ap.busy)
		return;
	for (size_t i = 0; i < st.n_peers; i++) {
		const struct cons_peer_status *p = &st.peers[i];

		if (!dead && p->voter && p->id != self && is_dead(m, p, now))
			dead = p;
		else if (!sb && p->standby && is_healthy(m, p, now))
			sb = p;
	}
	if (dead && sb)
		replace(m, dead, sb);
	else if (dead && now - m->ap.last_refusal_ns >= AP_LOG_EVERY_NS) {
		m->ap.last_refusal_ns = now;
		rtv_warn(GMOD, "autopilot: voter %" PRIu64 " is dead but no standby is alive, "
			 "heard by Raft and caught up: the rack runs with one voter less",
			 dead->id);
	}
}

int gmod_autopilot_start(struct gmod *m, const struct gmod_autopilot_config *c)
{
	m->ap.cfg = *c;
	if (!c->on)
		return 0;
	uv_timer_init(agent_core_loop(m->d), &m->ap.timer);
	m->ap.timer.data = m;
	uv_timer_start(&m->ap.timer, tick, AP_TICK_MS, AP_TICK_MS);
	rtv_info(GMOD, "autopilot on: a voter dead for %.1f s (gossip and Raft) is replaced "
		 "by a healthy standby", (double)c->dead_after_ns / 1e9);
	return 0;
}

void gmod_autopilot_close(struct gmod *m)
{
	if (!m->ap.cfg.on)
		return;
	uv_timer_stop(&m->ap.timer);
	uv_close((uv_handle_t *)&m->ap.timer, NULL);
}
