/* member.c — the member table and SWIM's rules for changing it.
 *
 * Precedence (SWIM §4.2, as memberlist applies it): a message about member
 * M with incarnation i overrides what we hold at incarnation j when
 *   alive:   i > j (or M unknown, or M dead/left and i > j);
 *   suspect: i >= j and M is alive (or suspect: a confirmation);
 *   dead:    i >= j and M is not already dead/left.
 * Only M raises its own incarnation: told it is suspected or dead at an
 * incarnation at least its own, it answers alive at that incarnation + 1
 * (refutation). Push-pull reports "dead" as a suspicion, as memberlist does:
 * a remote host's verdict is not ours until our own timer agrees.
 *
 * The suspicion timeout follows Lifeguard §IV-B: it starts at
 *   max = suspicion_max_mult * min,  min = suspicion_mult * max(1, log10 n) * P
 * and shrinks with each independent confirmation c towards min,
 *   t(c) = max - (max - min) * log(c + 1) / log(K + 1),
 * K = suspicion_mult - 2 confirmations expected (0 in a cluster too small to
 * provide them, then t = min). Without Lifeguard the timeout is min, fixed.
 */
#include "gossip/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Table                                                                     */

uint64_t gossip__name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ull;
	return h;
}

static void hash_insert(struct gossip *g, size_t idx)
{
	size_t mask = g->hash_cap - 1;
	size_t i = gossip__name_hash(g->m[idx].pub.name) & mask;

	while (g->hash[i])
		i = (i + 1) & mask;
	g->hash[i] = (uint32_t)idx + 1;
}

static int hash_rebuild(struct gossip *g, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -1;
	free(g->hash);
	g->hash = h;
	g->hash_cap = cap;
	for (size_t i = 0; i < g->n; i++)
		hash_insert(g, i);
	return 0;
}

struct gossip__member *gossip__find(const struct gossip *g, const char *name)
{
	size_t mask = g->hash_cap - 1;
	size_t i = gossip__name_hash(name) & mask;

	for (; g->hash[i]; i = (i + 1) & mask) {
		struct gossip__member *m = &g->m[g->hash[i] - 1];

		if (strcmp(m->pub.name, name) == 0)
			return m;
	}
	return NULL;
}

/* Puts index idx at a random place of the probe order (SWIM §4.3: new
 * members are inserted at random so that every member is probed once per
 * round and none waits for a whole round more than once). */
static void order_insert(struct gossip *g, size_t idx)
{
	size_t at = g->n_order ? g->ops.random(g->ops.data) % (g->n_order + 1) : 0;

	g->order[g->n_order++] = g->order[at];
	g->order[at] = idx;
	if (at < g->probe_pos)
		g->probe_pos++;
	if (g->probe_pos > g->n_order)
		g->probe_pos = g->n_order;
}

static int grow(struct gossip *g)
{
	size_t cap = g->cap ? g->cap * 2 : 16;
	struct gossip__member *m = realloc(g->m, cap * sizeof(*m));
	size_t *o;

	if (!m)
		return -1;
	g->m = m;
	o = realloc(g->order, cap * sizeof(*o));
	if (!o)
		return -1;
	g->order = o;
	g->cap = cap;
	return hash_rebuild(g, cap * 2);
}

struct gossip__member *gossip__add(struct gossip *g, const char *name,
				   const struct gossip_addr *addr, uint32_t inc)
{
	struct gossip__member *m;

	if (g->n == g->cap && grow(g))
		return NULL;
	m = &g->m[g->n];
	memset(m, 0, sizeof(*m));
	strcpy(m->pub.name, name);
	m->pub.addr = *addr;
	m->pub.incarnation = inc;
	m->pub.state = GOSSIP_ALIVE;
	m->pub.state_since_ns = g->ops.now_ns(g->ops.data);
	hash_insert(g, g->n);
	if (g->n > 0)
		order_insert(g, g->n);
	g->n++;
	if (g->ops.on_change)
		g->ops.on_change(g->ops.data, &m->pub, GOSSIP_DEAD);
	return m;
}

/* Forgets members dead or left for longer than dead_reap_ns. Indices
 * change: the probe order is rebuilt and the probe round restarts. */
void gossip__reap(struct gossip *g, uint64_t now)
{
	size_t w = 1;

	for (size_t r = 1; r < g->n; r++) {
		const struct gossip_member *p = &g->m[r].pub;

		if ((p->state == GOSSIP_DEAD || p->state == GOSSIP_LEFT) &&
		    now - p->state_since_ns >= g->cfg.dead_reap_ns)
			continue;
		g->m[w++] = g->m[r];
	}
	if (w == g->n)
		return;
	g->n = w;
	hash_rebuild(g, g->hash_cap);	/* same size: cannot fail */
	g->n_order = 0;
	g->probe_pos = 0;
	for (size_t i = 1; i < g->n; i++)
		order_insert(g, i);
}

void gossip__set_state(struct gossip *g, struct gossip__member *m, enum gossip_state s,
		       uint32_t inc, uint64_t now)
{
	enum gossip_state old = m->pub.state;

	m->pub.incarnation = inc;
	if (old == s)
		return;
	m->pub.state = s;
	m->pub.state_since_ns = now;
	if (s != GOSSIP_SUSPECT) {
		m->n_confirm = 0;
		m->pub.confirmations = 0;
		m->suspect_deadline_ns = 0;
	}
	if (g->ops.on_change)
		g->ops.on_change(g->ops.data, &m->pub, old);
}

/* ------------------------------------------------------------------------- */
/* Suspicion                                                                 */

static size_t live_count(const struct gossip *g)
{
	return g->n - gossip_count_state(g, GOSSIP_DEAD) - gossip_count_state(g, GOSSIP_LEFT);
}

static uint64_t suspicion_min_ns(const struct gossip *g)
{
	double scale = fmax(1.0, log10(fmax(1.0, (double)live_count(g))));

	return (uint64_t)(g->cfg.suspicion_mult * scale * (double)g->cfg.probe_interval_ns);
}

static void suspicion_arm(struct gossip *g, struct gossip__member *m)
{
	uint64_t min = suspicion_min_ns(g), max = min * g->cfg.suspicion_max_mult, t = min;
	unsigned k = g->cfg.suspicion_mult > 2 ? g->cfg.suspicion_mult - 2 : 0;

	if (live_count(g) < k + 2)
		k = 0;
	if (k > GOSSIP__CONFIRM_MAX)
		k = GOSSIP__CONFIRM_MAX;
	if (g->cfg.lifeguard && k > 0) {
		/* confirmations beyond K add nothing (and must not push the
		 * timeout below min: the fraction is capped at 1) */
		double c = fmin((double)m->pub.confirmations, (double)k);
		double frac = log(c + 1) / log((double)k + 1);

		t = max - (uint64_t)(frac * (double)(max - min));
	}
	m->suspect_deadline_ns = m->suspect_start_ns + t;
}

/* Adds `from` as a suspecter of m; true if it is a new, independent one. */
static bool confirm(struct gossip__member *m, const char *from)
{
	uint64_t h = gossip__name_hash(from);

	for (unsigned i = 0; i < m->n_confirm; i++)
		if (m->confirm_hash[i] == h)
			return false;
	if (m->n_confirm == GOSSIP__CONFIRM_MAX)
		return false;
	m->confirm_hash[m->n_confirm++] = h;
	if (m->n_confirm > 1)
		m->pub.confirmations = m->n_confirm - 1;
	return true;
}

void gossip__refute(struct gossip *g, uint32_t accused_inc)
{
	struct gossip__member *self = &g->m[0];

	if (accused_inc >= self->pub.incarnation)
		self->pub.incarnation = accused_inc + 1;
	g->stats.refutations++;
	gossip__lhm_add(g, 1);	/* Lifeguard: being suspected hints we are slow */
	gossip__bcast_alive(g, self);
}

/* Declares dead every suspect whose timer ran out; returns the earliest
 * deadline still pending (UINT64_MAX if none). */
uint64_t gossip__suspicion_check(struct gossip *g, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 1; i < g->n; i++) {
		struct gossip__member *m = &g->m[i];

		if (m->pub.state != GOSSIP_SUSPECT)
			continue;
		if (now < m->suspect_deadline_ns) {
			if (m->suspect_deadline_ns < next)
				next = m->suspect_deadline_ns;
			continue;
		}
		gossip__set_state(g, m, GOSSIP_DEAD, m->pub.incarnation, now);
		g->stats.deaths++;
		gossip__bcast_accuse(g, GOSSIP__DEAD, m, g->cfg.name);
	}
	return next;
}

/* ------------------------------------------------------------------------- */
/* Rules                                                                     */

void gossip__on_alive(struct gossip *g, const struct gossip__msg *msg, uint64_t now)
{
	struct gossip__member *m = gossip__find(g, msg->name);

	if (m == &g->m[0]) {
		/* Someone holds a newer incarnation of us (we restarted):
		 * jump past it so our own word wins. */
		if (msg->inc > m->pub.incarnation && !g->leaving)
			gossip__refute(g, msg->inc);
		return;
	}
	if (!m) {
		m = gossip__add(g, msg->name, &msg->addr, msg->inc);
		if (m)
			gossip__bcast_alive(g, m);
		return;
	}
	if (msg->inc <= m->pub.incarnation)
		return;
	m->pub.addr = msg->addr;
	gossip__set_state(g, m, GOSSIP_ALIVE, msg->inc, now);
	gossip__bcast_alive(g, m);
}

/* The member a suspect/dead message may act on, or NULL: unknown, older
 * than what we hold, already dead or left — or us, and then we refute.
 * An accusation of us at an incarnation we already refuted means its
 * sender missed the refutation: we announce it again (without counting a
 * new one), or that sender would declare us dead when its timer runs out. */
static struct gossip__member *accused(struct gossip *g, const struct gossip__msg *msg)
{
	struct gossip__member *m = gossip__find(g, msg->name);

	if (m == &g->m[0]) {
		if (g->leaving)
			return NULL;
		if (msg->inc >= m->pub.incarnation)
			gossip__refute(g, msg->inc);
		else
			gossip__bcast_alive(g, m);
		return NULL;
	}
	if (!m || msg->inc < m->pub.incarnation)
		return NULL;
	if (m->pub.state == GOSSIP_DEAD || m->pub.state == GOSSIP_LEFT)
		return NULL;
	return m;
}

void gossip__on_suspect(struct gossip *g, const struct gossip__msg *msg, uint64_t now)
{
	struct gossip__member *m = accused(g, msg);

	if (!m)
		return;
	if (m->pub.state == GOSSIP_SUSPECT && msg->inc == m->pub.incarnation) {
		if (confirm(m, msg->from)) {
			suspicion_arm(g, m);
			gossip__bcast_accuse(g, GOSSIP__SUSPECT, m, msg->from);
		}
		return;
	}
	gossip__set_state(g, m, GOSSIP_SUSPECT, msg->inc, now);
	m->n_confirm = 0;
	m->pub.confirmations = 0;
	m->suspect_start_ns = now;
	confirm(m, msg->from);
	suspicion_arm(g, m);
	if (strcmp(msg->from, g->cfg.name) == 0)
		g->stats.suspicions++;
	gossip__bcast_accuse(g, GOSSIP__SUSPECT, m, msg->from);
}

void gossip__on_dead(struct gossip *g, const struct gossip__msg *msg, uint64_t now)
{
	struct gossip__member *m = accused(g, msg);
	bool left = strcmp(msg->name, msg->from) == 0;

	if (!m)
		return;
	gossip__set_state(g, m, left ? GOSSIP_LEFT : GOSSIP_DEAD, msg->inc, now);
	gossip__bcast_accuse(g, GOSSIP__DEAD, m, msg->from);
}

void gossip__on_facts(struct gossip *g, const struct gossip__msg *msg)
{
	struct gossip__member *m = gossip__find(g, msg->name);

	if (!m || msg->facts_seq <= m->pub.facts_seq)
		return;
	if (m == &g->m[0]) {
		/* an older life of ours numbered further: continue past it */
		m->pub.facts_seq = msg->facts_seq + 1;
		gossip__bcast_facts(g, m);
		return;
	}
	m->pub.facts_seq = msg->facts_seq;
	m->pub.facts = msg->facts;
	gossip__bcast_facts(g, m);
}

/* One member of a push-pull, through the same rules as gossip. */
void gossip__merge_state(struct gossip *g, const struct gossip__state *st,
			 const char *sender, uint64_t now)
{
	struct gossip__msg msg = { .inc = st->inc, .addr = st->addr };

	memcpy(msg.name, st->name, sizeof(msg.name));
	switch (st->state) {
	case GOSSIP_ALIVE:
		gossip__on_alive(g, &msg, now);
		break;
	case GOSSIP_LEFT:
		memcpy(msg.from, st->name, sizeof(msg.from));
		gossip__on_dead(g, &msg, now);
		break;
	default:	/* suspect, dead: a suspicion, ours to time */
		memcpy(msg.from, sender, sizeof(msg.from));
		gossip__on_suspect(g, &msg, now);
		break;
	}
	if (st->facts_seq) {
		msg.facts_seq = st->facts_seq;
		msg.facts = st->facts;
		gossip__on_facts(g, &msg);
	}
}
