/* bcast.c — dissemination: the queue of updates and how they leave.
 *
 * Every change this host learns or makes (alive, suspect, dead, facts) is
 * queued as one encoded message and rides along on whatever leaves next —
 * pings, acks, ping-reqs (SWIM §4.1's piggybacking) — and on a gossip round
 * every gossip_interval to gossip_fanout random members (memberlist's
 * addition, which makes spreading independent of the probe rate). Each
 * update goes out at most retransmit_mult * ceil(log10(n + 1)) times, the
 * least-sent first, which is enough for an epidemic to reach every member
 * with high probability (SWIM §4.1; Demers et al., 1987). A newer update
 * about a member replaces the queued one (membership and facts separately).
 */
#include "gossip/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned retransmit_limit(const struct gossip *g)
{
	return g->cfg.retransmit_mult * (unsigned)ceil(log10((double)g->n + 1));
}

static void bcast_drop(struct gossip *g, size_t i)
{
	free(g->bc[i].buf);
	g->bc[i] = g->bc[--g->n_bc];
}

/* Queues buf[0..len) (copied) about `name`, replacing the older one. */
static void enqueue(struct gossip *g, const char *name, bool facts, const uint8_t *buf,
		    size_t len)
{
	struct gossip__bcast *b;
	uint8_t *copy;

	if (!g->cfg.piggyback)
		return;
	for (size_t i = 0; i < g->n_bc; i++)
		if (g->bc[i].facts == facts && strcmp(g->bc[i].name, name) == 0) {
			bcast_drop(g, i);
			break;
		}
	if (g->n_bc == GOSSIP__BCAST_MAX) {
		size_t worst = 0;	/* full: forget the most-sent */

		for (size_t i = 1; i < g->n_bc; i++)
			if (g->bc[i].transmits > g->bc[worst].transmits)
				worst = i;
		bcast_drop(g, worst);
	}
	if (g->n_bc == g->cap_bc) {
		size_t cap = g->cap_bc ? 2 * g->cap_bc : 64;
		struct gossip__bcast *bc = realloc(g->bc, cap * sizeof(*bc));

		if (!bc)
			return;
		g->bc = bc;
		g->cap_bc = cap;
	}
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, buf, len);
	b = &g->bc[g->n_bc++];
	memcpy(b->name, name, GOSSIP_NAME_MAX);
	b->facts = facts;
	b->sel = false;
	b->transmits = 0;
	b->len = len;
	b->buf = copy;
}

void gossip__bcast_alive(struct gossip *g, const struct gossip__member *m)
{
	uint8_t buf[GOSSIP_NAME_MAX + 32];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	if (gossip__pk_alive(&pk, m->pub.name, m->pub.incarnation, &m->pub.addr) == 0)
		enqueue(g, m->pub.name, false, buf, fb.len);
}

void gossip__bcast_accuse(struct gossip *g, uint8_t type, const struct gossip__member *m,
			  const char *from)
{
	uint8_t buf[2 * GOSSIP_NAME_MAX + 32];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	if (gossip__pk_accuse(&pk, type, m->pub.name, m->pub.incarnation, from) == 0)
		enqueue(g, m->pub.name, false, buf, fb.len);
}

void gossip__bcast_facts(struct gossip *g, const struct gossip__member *m)
{
	uint8_t buf[GOSSIP_NAME_MAX + GOSSIP_VERSION_MAX + 128];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	if (gossip__pk_facts(&pk, m->pub.name, m->pub.facts_seq, &m->pub.facts) == 0)
		enqueue(g, m->pub.name, true, buf, fb.len);
}

void gossip__bcast_free(struct gossip *g)
{
	while (g->n_bc)
		bcast_drop(g, g->n_bc - 1);
	free(g->bc);
	g->bc = NULL;
}

/* Picks queued updates, least-sent first, that fit in `room` bytes and the
 * message count left; marks them (sel). Returns how many. */
static unsigned select_updates(struct gossip *g, size_t room, unsigned slots, size_t *bytes)
{
	unsigned limit = retransmit_limit(g), n = 0;

	*bytes = 0;
	for (unsigned t = 0; t < limit && n < slots; t++)
		for (size_t i = 0; i < g->n_bc && n < slots; i++) {
			struct gossip__bcast *b = &g->bc[i];

			if (b->sel || b->transmits != t || b->len > room - *bytes)
				continue;
			b->sel = true;
			*bytes += b->len;
			n++;
		}
	return n;
}

/* Counts a transmission of each selected update (if sent); drops the
 * spent ones. */
static void spend(struct gossip *g, bool sent)
{
	unsigned limit = retransmit_limit(g);

	for (size_t i = g->n_bc; i-- > 0;) {
		if (!g->bc[i].sel)
			continue;
		g->bc[i].sel = false;
		if (sent && ++g->bc[i].transmits >= limit)
			bcast_drop(g, i);
	}
}

int gossip__send_with(struct gossip *g, const struct gossip_addr *to, const void *msgs,
		      size_t len, unsigned n_msgs)
{
	size_t room = g->cfg.mtu_bytes - GOSSIP__ENVELOPE_MAX, extra = 0;
	unsigned n_extra = 0;
	struct gossip__fixbuf fb;
	msgpack_packer pk;
	int rc;

	if (len + 3 > room)
		return -EMSGSIZE;
	if (g->cfg.piggyback)
		n_extra = select_updates(g, room - len - 3, GOSSIP__MSGS_MAX - n_msgs, &extra);
	if (n_msgs + n_extra == 0)
		return 0;
	gossip__fixbuf_init(&fb, &pk, g->body, g->cfg.mtu_bytes);
	msgpack_pack_array(&pk, n_msgs + n_extra);
	if (len)
		memcpy(g->body + fb.len, msgs, len);
	fb.len += len;
	for (size_t i = 0; i < g->n_bc; i++)
		if (g->bc[i].sel) {
			memcpy(g->body + fb.len, g->bc[i].buf, g->bc[i].len);
			fb.len += g->bc[i].len;
		}
	rc = gossip__send_raw(g, to, g->body, fb.len);
	spend(g, rc == 0);
	return rc;
}

void gossip__gossip_round(struct gossip *g)
{
	size_t to[16], k = g->cfg.gossip_fanout < 16 ? g->cfg.gossip_fanout : 16;

	if (g->n_bc == 0)
		return;
	k = gossip__pick(g, to, k, NULL, true);	/* suspects too: they must hear it */
	for (size_t i = 0; i < k && g->n_bc; i++)
		gossip__send_with(g, &g->m[to[i]].pub.addr, NULL, 0, 0);
}
