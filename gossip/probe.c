/* probe.c — SWIM's failure detector with Lifeguard's local health.
 *
 * Once per probe interval P this host pings the next member of a shuffled
 * round-robin order (SWIM §4.3). No ack within the probe timeout T: it asks
 * k other members to ping the target for it (ping-req); with Lifeguard
 * each helper also answers with a nack when the target stays silent, so
 * the prober learns whether its helpers — and so its own network and CPU —
 * are working. No ack by the end of the interval: the target is suspected.
 *
 * Local health multiplier (Lifeguard §IV-A, "LHM"): a score 0..lhm_max.
 * A direct ack lowers it by one; a failed probe raises it by the nacks that
 * did not come (or by one if no nack was expected); being suspected raises
 * it by one. P and T are multiplied by (score + 1), so a host that is slow
 * — starved of CPU, paused, losing packets — probes less often and waits
 * longer before it accuses anyone: its own trouble stops turning into
 * false suspicions of healthy members.
 *
 * A suspect target gets the suspicion piggybacked on the ping itself
 * (Lifeguard's "buddy system"), so it can refute at once.
 */
#include "gossip/internal.h"

#include <string.h>

uint64_t gossip__scaled(const struct gossip *g, uint64_t ns)
{
	return g->cfg.lifeguard ? ns * (g->lhm + 1) : ns;
}

void gossip__lhm_add(struct gossip *g, int delta)
{
	int v = (int)g->lhm + delta;

	if (!g->cfg.lifeguard)
		return;
	if (v < 0)
		v = 0;
	if (v > (int)g->cfg.lhm_max)
		v = (int)g->cfg.lhm_max;
	g->lhm = (unsigned)v;
}

static bool reachable(const struct gossip__member *m)
{
	return m->pub.state == GOSSIP_ALIVE || m->pub.state == GOSSIP_SUSPECT;
}

/* Up to k distinct random members other than us and `exclude`: alive ones,
 * or alive and suspect ones (reachable). */
size_t gossip__pick(struct gossip *g, size_t *out, size_t k, const char *exclude,
		    bool suspects)
{
	size_t got = 0;

	for (size_t tries = 0; got < k && g->n > 1 && tries < 3 * g->n; tries++) {
		size_t i = 1 + g->ops.random(g->ops.data) % (g->n - 1), j;

		if (!(suspects ? reachable(&g->m[i]) : g->m[i].pub.state == GOSSIP_ALIVE) ||
		    (exclude && strcmp(g->m[i].pub.name, exclude) == 0))
			continue;
		for (j = 0; j < got && out[j] != i; j++)
			;
		if (j == got)
			out[got++] = i;
	}
	return got;
}

static void shuffle(struct gossip *g)
{
	for (size_t i = g->n_order; i > 1; i--) {
		size_t j = g->ops.random(g->ops.data) % i, t = g->order[i - 1];

		g->order[i - 1] = g->order[j];
		g->order[j] = t;
	}
	g->probe_pos = 0;
}

static struct gossip__member *next_target(struct gossip *g)
{
	for (size_t tries = 0; tries <= g->n_order; tries++) {
		struct gossip__member *m;

		if (g->probe_pos >= g->n_order)
			shuffle(g);
		if (g->n_order == 0)
			return NULL;
		m = &g->m[g->order[g->probe_pos++]];
		if (reachable(m))
			return m;
	}
	return NULL;
}

static void probe_start(struct gossip *g, uint64_t now)
{
	struct gossip__member *m = g->leaving ? NULL : next_target(g);
	uint8_t buf[2 * GOSSIP_NAME_MAX + 64];
	struct gossip__fixbuf fb;
	msgpack_packer pk;
	unsigned n = 1;

	g->next_probe_ns = now + gossip__scaled(g, g->cfg.probe_interval_ns);
	if (!m)
		return;
	g->probing = true;
	g->acked = g->indirect_sent = false;
	g->nacks_expected = g->nacks_got = 0;
	g->probe_seq = ++g->next_seq;
	memcpy(g->probe_target, m->pub.name, GOSSIP_NAME_MAX);
	g->probe_indirect_ns = now + gossip__scaled(g, g->cfg.probe_timeout_ns);
	g->probe_end_ns = g->next_probe_ns;
	g->stats.probes++;
	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	gossip__pk_ping(&pk, GOSSIP__PING, g->probe_seq, m->pub.name);
	if (m->pub.state == GOSSIP_SUSPECT && g->cfg.lifeguard) {
		gossip__pk_accuse(&pk, GOSSIP__SUSPECT, m->pub.name, m->pub.incarnation,
				  g->cfg.name);
		n++;
	}
	gossip__send_with(g, &m->pub.addr, buf, fb.len, n);
}

static void probe_indirect(struct gossip *g)
{
	struct gossip__member *t = gossip__find(g, g->probe_target);
	uint8_t buf[GOSSIP_NAME_MAX + 64];
	struct gossip__fixbuf fb;
	msgpack_packer pk;
	size_t helpers[16], k = g->cfg.indirect_k < 16 ? g->cfg.indirect_k : 16;

	g->indirect_sent = true;
	if (!t || !reachable(t))
		return;
	k = gossip__pick(g, helpers, k, t->pub.name, false);
	g->nacks_expected = g->cfg.lifeguard ? (unsigned)k : 0;
	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	gossip__pk_pingreq(&pk, g->probe_seq, t->pub.name, &t->pub.addr, g->cfg.lifeguard);
	for (size_t i = 0; i < k; i++)
		gossip__send_with(g, &g->m[helpers[i]].pub.addr, buf, fb.len, 1);
	if (k)
		g->stats.indirect_probes++;
}

static void probe_finish(struct gossip *g, uint64_t now)
{
	struct gossip__member *t = gossip__find(g, g->probe_target);
	struct gossip__msg msg = { .type = GOSSIP__SUSPECT };

	g->probing = false;
	if (g->acked)
		return;
	g->stats.probe_failures++;
	if (g->nacks_expected)
		gossip__lhm_add(g, (int)(g->nacks_expected - g->nacks_got));
	else
		gossip__lhm_add(g, 1);
	if (!t || t->pub.state != GOSSIP_ALIVE)
		return;
	memcpy(msg.name, t->pub.name, GOSSIP_NAME_MAX);
	memcpy(msg.from, g->cfg.name, GOSSIP_NAME_MAX);
	msg.inc = t->pub.incarnation;
	gossip__on_suspect(g, &msg, now);
}

static uint64_t relays_tick(struct gossip *g, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint8_t buf[16];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	for (size_t i = 0; i < GOSSIP__RELAYS; i++) {
		struct gossip__relay *r = &g->relays[i];

		if (!r->used)
			continue;
		if (now < r->nack_at_ns) {
			next = r->nack_at_ns < next ? r->nack_at_ns : next;
			continue;
		}
		r->used = false;
		if (!r->nack)
			continue;
		gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
		gossip__pk_ack(&pk, GOSSIP__NACK, r->orig_seq);
		gossip__send_with(g, &r->requester, buf, fb.len, 1);
	}
	return next;
}

uint64_t gossip__probe_tick(struct gossip *g, uint64_t now)
{
	uint64_t next = relays_tick(g, now);

	if (g->probing && !g->acked && !g->indirect_sent && now >= g->probe_indirect_ns)
		probe_indirect(g);
	if (g->probing && now >= g->probe_end_ns)
		probe_finish(g, now);
	if (!g->probing && now >= g->next_probe_ns)
		probe_start(g, now);
	if (g->probing && !g->acked && !g->indirect_sent && g->probe_indirect_ns < next)
		next = g->probe_indirect_ns;
	if (g->probing && g->probe_end_ns < next)
		next = g->probe_end_ns;
	if (!g->probing && g->next_probe_ns < next)
		next = g->next_probe_ns;
	return next;
}

void gossip__on_ping(struct gossip *g, const struct gossip_addr *from,
		     const struct gossip__msg *msg)
{
	uint8_t buf[16];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	if (strcmp(msg->name, g->cfg.name) != 0)
		return;		/* meant for whoever had this address before us */
	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	gossip__pk_ack(&pk, GOSSIP__ACK, msg->seq);
	gossip__send_with(g, from, buf, fb.len, 1);
}

void gossip__on_pingreq(struct gossip *g, const struct gossip_addr *from,
			const struct gossip__msg *msg, uint64_t now)
{
	uint8_t buf[GOSSIP_NAME_MAX + 32];
	struct gossip__fixbuf fb;
	msgpack_packer pk;
	struct gossip__relay *r = NULL;

	for (size_t i = 0; i < GOSSIP__RELAYS && !r; i++)
		if (!g->relays[i].used)
			r = &g->relays[i];
	if (!r || strcmp(msg->name, g->cfg.name) == 0)
		return;
	*r = (struct gossip__relay){ .used = true, .seq = ++g->next_seq, .orig_seq = msg->seq,
				     .requester = *from, .nack = msg->nack };
	/* nack a little before the requester's interval ends (memberlist: 80%) */
	r->nack_at_ns = now + g->cfg.probe_timeout_ns * 4 / 5;
	gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
	gossip__pk_ping(&pk, GOSSIP__PING, r->seq, msg->name);
	gossip__send_with(g, &msg->addr, buf, fb.len, 1);
}

void gossip__on_ack(struct gossip *g, const struct gossip__msg *msg, bool nack)
{
	uint8_t buf[16];
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	if (g->probing && msg->seq == g->probe_seq) {
		if (nack) {
			g->nacks_got += g->nacks_got < g->nacks_expected;
		} else if (!g->acked) {
			g->acked = true;
			if (!g->indirect_sent)
				gossip__lhm_add(g, -1);
		}
		return;
	}
	for (size_t i = 0; i < GOSSIP__RELAYS && !nack; i++) {
		struct gossip__relay *r = &g->relays[i];

		if (!r->used || r->seq != msg->seq)
			continue;
		r->used = false;
		gossip__fixbuf_init(&fb, &pk, buf, sizeof(buf));
		gossip__pk_ack(&pk, GOSSIP__ACK, r->orig_seq);
		gossip__send_with(g, &r->requester, buf, fb.len, 1);
		return;
	}
}
