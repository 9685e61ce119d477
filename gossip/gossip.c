/* gossip.c — the object: configuration, receive, timers, push-pull, view.
 *
 * Push-pull (memberlist's anti-entropy, needed after partitions: gossip's
 * bounded retransmissions may end before the other side can hear them):
 * every pushpull_interval, scaled by ceil(log2(n) - log2(32)) + 1 above 32
 * members as memberlist does, this host sends its whole table to one random
 * member, which merges it and answers with its own. The table travels over
 * the same UDP socket, chunked into datagrams of at most mtu_bytes (about
 * six members with facts each); the first chunk asks for the answer. There
 * is no retransmission: a lost chunk is repaired by the next round, and a
 * joining host asks every seed.
 */
#include "gossip/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gossip_config_default(struct gossip_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->probe_interval_ns = 1000000000ull;
	cfg->probe_timeout_ns = 500000000ull;
	cfg->gossip_interval_ns = 200000000ull;
	cfg->pushpull_interval_ns = 30000000000ull;
	cfg->dead_reap_ns = 24ull * 3600 * 1000000000ull;
	cfg->indirect_k = 3;
	cfg->gossip_fanout = 3;
	cfg->retransmit_mult = 4;
	cfg->suspicion_mult = 4;
	cfg->suspicion_max_mult = 6;
	cfg->lhm_max = 8;
	cfg->mtu_bytes = 1400;
	cfg->lifeguard = true;
	cfg->piggyback = true;
}

#define CHECK(cond, ...)                                                        \
	do {                                                                   \
		if (!(cond)) {                                                 \
			snprintf(err, GOSSIP_ERRLEN, __VA_ARGS__);             \
			return -EINVAL;                                        \
		}                                                              \
	} while (0)

int gossip_config_check(const struct gossip_config *c, char err[GOSSIP_ERRLEN])
{
	CHECK(gossip__name_ok(c->name, strnlen(c->name, GOSSIP_NAME_MAX)),
	      "gossip name '%.63s': 1 to 63 printable characters without spaces", c->name);
	CHECK(c->addr.ip && c->addr.port, "gossip address: an IPv4 address and a port, not 0");
	CHECK(c->probe_interval_ns >= 1000000 && c->probe_interval_ns <= 60000000000ull,
	      "probe interval: 1 ms to 60 s");
	CHECK(c->probe_timeout_ns > 0 && c->probe_timeout_ns < c->probe_interval_ns,
	      "probe timeout: above 0 and below the probe interval");
	CHECK(c->gossip_interval_ns >= 1000000 && c->gossip_interval_ns <= 60000000000ull,
	      "gossip interval: 1 ms to 60 s");
	CHECK(c->pushpull_interval_ns >= c->probe_interval_ns,
	      "push-pull interval: at least the probe interval");
	CHECK(c->dead_reap_ns >= c->probe_interval_ns, "dead reap time: at least a probe interval");
	CHECK(c->indirect_k <= 16 && c->gossip_fanout >= 1 && c->gossip_fanout <= 16,
	      "indirect k: 0..16; gossip fanout: 1..16");
	CHECK(c->retransmit_mult >= 1 && c->retransmit_mult <= 16, "retransmit mult: 1..16");
	CHECK(c->suspicion_mult >= 1 && c->suspicion_mult <= 16 && c->suspicion_max_mult >= 1 &&
	      c->suspicion_max_mult <= 16, "suspicion mult and max mult: 1..16");
	CHECK(c->lhm_max <= 16, "lhm max: 0..16");
	CHECK(c->mtu_bytes >= 512 && c->mtu_bytes <= 65000, "mtu: 512..65000 bytes");
	return 0;
}

void gossip_free(struct gossip *g)
{
	if (!g)
		return;
	gossip__bcast_free(g);
	free(g->m);
	free(g->hash);
	free(g->order);
	free(g->out);
	free(g->body);
	free(g);
}

int gossip_new(const struct gossip_config *cfg, const struct gossip_ops *ops,
	       struct gossip **out, char err[GOSSIP_ERRLEN])
{
	struct gossip *g;
	uint64_t now;
	int rc = gossip_config_check(cfg, err);

	if (rc)
		return rc;
	CHECK(ops->now_ns && ops->random, "gossip ops: now_ns and random are required");
	CHECK(!ops->seal == !ops->seal_key, "gossip ops: seal and seal_key go together");
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cfg = *cfg;
	g->ops = *ops;
	if (!g->ops.auth_data)
		g->ops.auth_data = g->ops.data;
	g->out = malloc(cfg->mtu_bytes);
	g->body = malloc(cfg->mtu_bytes);
	if (!g->out || !g->body || !gossip__add(g, cfg->name, &cfg->addr, 0)) {
		gossip_free(g);
		return -ENOMEM;
	}
	now = ops->now_ns(ops->data);
	g->next_seq = (uint32_t)ops->random(ops->data);
	/* stagger the timers so members started together do not beat together */
	g->next_probe_ns = now + ops->random(ops->data) % cfg->probe_interval_ns;
	g->next_gossip_ns = now + ops->random(ops->data) % cfg->gossip_interval_ns;
	g->next_pushpull_ns = now + cfg->pushpull_interval_ns +
			      ops->random(ops->data) % cfg->pushpull_interval_ns;
	g->next_reap_ns = now + cfg->probe_interval_ns;
	gossip__bcast_alive(g, &g->m[0]);
	*out = g;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Sending                                                                   */

int gossip__send_raw(struct gossip *g, const struct gossip_addr *to, const void *body,
		     size_t body_len)
{
	int len = gossip__envelope(g, body, body_len, g->out, g->cfg.mtu_bytes);
	int rc;

	if (len < 0 || !g->ops.send) {
		g->stats.tx_errors++;
		return len < 0 ? len : -ENOTCONN;
	}
	rc = g->ops.send(g->ops.data, to, g->out, (size_t)len);
	if (rc < 0) {
		g->stats.tx_errors++;
		return rc;
	}
	g->stats.tx_packets++;
	g->stats.tx_bytes += (size_t)len;
	return 0;
}

/* Flushes one push-pull datagram holding the states packed in sbuf. */
static void pp_flush(struct gossip *g, const struct gossip_addr *to, uint8_t flags,
		     const uint8_t *states, size_t len, unsigned n)
{
	struct gossip__fixbuf fb;
	msgpack_packer pk;

	gossip__fixbuf_init(&fb, &pk, g->body, g->cfg.mtu_bytes);
	if (msgpack_pack_array(&pk, 1) || msgpack_pack_array(&pk, 3) ||
	    msgpack_pack_uint8(&pk, GOSSIP__PUSHPULL) || msgpack_pack_uint8(&pk, flags) ||
	    msgpack_pack_array(&pk, n) || fb.len + len > fb.cap)
		return;
	memcpy(g->body + fb.len, states, len);
	gossip__send_raw(g, to, g->body, fb.len + len);
}

void gossip__pushpull(struct gossip *g, const struct gossip_addr *to, uint8_t flags)
{
	size_t room = g->cfg.mtu_bytes - GOSSIP__ENVELOPE_MAX - 16;
	uint8_t *states = malloc(room), one[512];
	struct gossip__fixbuf fb, fb1;
	msgpack_packer pk, pk1;
	unsigned n = 0;

	if (!states)
		return;
	gossip__fixbuf_init(&fb, &pk, states, room);
	for (size_t i = 0; i < g->n; i++) {
		gossip__fixbuf_init(&fb1, &pk1, one, sizeof(one));
		if (gossip__pk_state(&pk1, &g->m[i].pub))
			continue;
		if (fb1.len > room - fb.len || n == GOSSIP__STATES_MAX) {
			pp_flush(g, to, flags, states, fb.len, n);
			flags &= (uint8_t)~GOSSIP__PP_REPLY;	/* one answer per push */
			fb.len = 0;
			n = 0;
		}
		memcpy(states + fb.len, one, fb1.len);
		fb.len += fb1.len;
		n++;
	}
	if (n)
		pp_flush(g, to, flags, states, fb.len, n);
	free(states);
}

static size_t ask_seeds(struct gossip *g)
{
	uint64_t before = g->stats.tx_packets;

	for (size_t i = 0; i < g->n_seeds; i++)
		gossip__pushpull(g, &g->seeds[i], GOSSIP__PP_REPLY);
	return g->stats.tx_packets - before;
}

/* A datagram is all a join is: until a seed answers, the seeds are asked
 * again every two probe intervals (the first answer may be lost, or the
 * seeds not up yet). Knowing some member is not enough: others may have
 * joined through us before we reached the rack, and we would make an
 * island with them. */
int gossip_join(struct gossip *g, const struct gossip_addr *seeds, size_t n)
{
	if (n == 0)
		return -EINVAL;
	g->n_seeds = 0;
	g->joined = false;
	for (size_t i = 0; i < n && g->n_seeds < GOSSIP__SEEDS_MAX; i++)
		if (seeds[i].ip != g->cfg.addr.ip || seeds[i].port != g->cfg.addr.port)
			g->seeds[g->n_seeds++] = seeds[i];
	if (g->n_seeds == 0)
		return -EINVAL;
	g->next_rejoin_ns = g->ops.now_ns(g->ops.data) + 2 * g->cfg.probe_interval_ns;
	return ask_seeds(g) ? 0 : -EHOSTUNREACH;
}

static uint64_t rejoin(struct gossip *g, uint64_t now)
{
	if (g->n_seeds == 0 || g->leaving || g->joined)
		return UINT64_MAX;
	if (now >= g->next_rejoin_ns) {
		ask_seeds(g);
		g->next_rejoin_ns = now + 2 * g->cfg.probe_interval_ns;
	}
	return g->next_rejoin_ns;
}

void gossip_leave(struct gossip *g)
{
	struct gossip__member *self = &g->m[0];

	if (g->leaving)
		return;
	g->leaving = true;
	gossip__bcast_accuse(g, GOSSIP__DEAD, self, g->cfg.name);
	gossip__gossip_round(g);
}

static bool facts_equal(const struct gossip_facts *a, const struct gossip_facts *b)
{
	return a->uplink_bps == b->uplink_bps && a->uplink_util_ppm == b->uplink_util_ppm &&
	       a->rt_reserved_bps == b->rt_reserved_bps && a->cpu_ppm == b->cpu_ppm &&
	       a->mem_total_bytes == b->mem_total_bytes &&
	       a->mem_avail_bytes == b->mem_avail_bytes && a->vm_count == b->vm_count &&
	       a->dp_miss_count == b->dp_miss_count && strcmp(a->version, b->version) == 0;
}

int gossip_set_facts(struct gossip *g, const struct gossip_facts *f)
{
	struct gossip__member *self = &g->m[0];

	if (gossip__facts_check(f))
		return -EINVAL;
	if (self->pub.facts_seq && facts_equal(f, &self->pub.facts))
		return 0;
	self->pub.facts = *f;
	self->pub.facts_seq++;
	gossip__bcast_facts(g, self);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Receiving                                                                 */

static int authenticate(struct gossip *g, const void *buf)
{
	const struct gossip__packet *p = &g->pkt;

	if (!g->ops.open) {
		if (p->key_id == 0)
			return 0;
		snprintf(g->err, sizeof(g->err), "from %s: sealed with key %u, we have no keys",
			 p->sender, p->key_id);
		return -EPERM;
	}
	if (p->key_id == 0) {
		snprintf(g->err, sizeof(g->err), "from %s: not sealed", p->sender);
		return -EPERM;
	}
	if (g->ops.open(g->ops.auth_data, p->sender, p->key_id, p->seq, buf, p->signed_len, p->mac,
			p->mac_len)) {
		snprintf(g->err, sizeof(g->err), "from %s: seal does not open (key %u, seq %llu)",
			 p->sender, p->key_id, (unsigned long long)p->seq);
		return -EPERM;
	}
	return 0;
}

static void dispatch(struct gossip *g, const struct gossip_addr *from,
		     const struct gossip__msg *msg, uint64_t now)
{
	switch (msg->type) {
	case GOSSIP__PING:
		gossip__on_ping(g, from, msg);
		break;
	case GOSSIP__ACK:
	case GOSSIP__NACK:
		gossip__on_ack(g, msg, msg->type == GOSSIP__NACK);
		break;
	case GOSSIP__PINGREQ:
		gossip__on_pingreq(g, from, msg, now);
		break;
	case GOSSIP__ALIVE:
		gossip__on_alive(g, msg, now);
		break;
	case GOSSIP__SUSPECT:
		gossip__on_suspect(g, msg, now);
		break;
	case GOSSIP__DEAD:
		gossip__on_dead(g, msg, now);
		break;
	case GOSSIP__FACTS:
		gossip__on_facts(g, msg);
		break;
	default:
		for (size_t i = 0; i < g->n_seeds && !g->joined; i++)
			g->joined = g->seeds[i].ip == from->ip && g->seeds[i].port == from->port;
		for (size_t i = 0; i < msg->n_states; i++)
			gossip__merge_state(g, &g->pkt.states[msg->first_state + i],
					    g->pkt.sender, now);
		if (msg->flags & GOSSIP__PP_REPLY)
			gossip__pushpull(g, from, 0);
		break;
	}
}

int gossip_recv(struct gossip *g, const struct gossip_addr *from, const void *buf, size_t len)
{
	struct gossip__member *m;
	uint64_t now;
	int rc;

	g->stats.rx_packets++;
	g->stats.rx_bytes += len;
	rc = gossip__decode(buf, len, &g->pkt, g->err);
	if (rc == 0 && strcmp(g->pkt.sender, g->cfg.name) == 0) {
		snprintf(g->err, sizeof(g->err), "datagram from %u.%u.%u.%u names us as sender",
			 from->ip >> 24, (from->ip >> 16) & 0xff, (from->ip >> 8) & 0xff,
			 from->ip & 0xff);
		rc = -EPROTO;
	}
	if (rc) {
		g->stats.rx_bad++;
		return rc;
	}
	rc = authenticate(g, buf);
	if (rc) {
		g->stats.rx_unauth++;
		return rc;
	}
	now = g->ops.now_ns(g->ops.data);
	m = gossip__find(g, g->pkt.sender);
	if (m)
		m->pub.last_heard_ns = now;
	for (size_t i = 0; i < g->pkt.n_msgs; i++)
		dispatch(g, from, &g->pkt.msgs[i], now);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Timers                                                                    */

static uint64_t pushpull_interval(const struct gossip *g)
{
	double n = (double)g->n;
	uint64_t mult = n <= 32 ? 1 : (uint64_t)ceil(log2(n) - log2(32.0)) + 1;

	return g->cfg.pushpull_interval_ns * mult;
}

/* Serf's reconnect, folded into push-pull: a member we hold dead may be
 * alive behind a healed partition, where nobody on our side gossips to it.
 * Each push-pull round also sends our table to one random dead member; if
 * it is alive it refutes, and both sides learn each other again. */
static void reconnect(struct gossip *g)
{
	size_t dead = gossip_count_state(g, GOSSIP_DEAD), k;

	if (dead == 0)
		return;
	k = g->ops.random(g->ops.data) % dead;
	for (size_t i = 1; i < g->n; i++)
		if (g->m[i].pub.state == GOSSIP_DEAD && k-- == 0) {
			gossip__pushpull(g, &g->m[i].pub.addr, GOSSIP__PP_REPLY);
			return;
		}
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t gossip_tick(struct gossip *g)
{
	uint64_t now = g->ops.now_ns(g->ops.data), next;
	size_t peer;

	next = gossip__probe_tick(g, now);
	if (now >= g->next_gossip_ns) {
		gossip__gossip_round(g);
		g->next_gossip_ns = now + g->cfg.gossip_interval_ns;
	}
	if (now >= g->next_pushpull_ns) {
		if (!g->leaving && gossip__pick(g, &peer, 1, NULL, false) == 1) {
			g->stats.pushpulls++;
			gossip__pushpull(g, &g->m[peer].pub.addr, GOSSIP__PP_REPLY);
		}
		if (!g->leaving)
			reconnect(g);
		g->next_pushpull_ns = now + pushpull_interval(g);
	}
	next = min64(next, gossip__suspicion_check(g, now));
	next = min64(next, rejoin(g, now));
	if (now >= g->next_reap_ns) {
		gossip__reap(g, now);
		g->next_reap_ns = now + g->cfg.probe_interval_ns;
	}
	next = min64(next, g->next_gossip_ns);
	next = min64(next, g->next_pushpull_ns);
	return min64(next, g->next_reap_ns);
}

/* ------------------------------------------------------------------------- */
/* View                                                                      */

size_t gossip_count(const struct gossip *g)
{
	return g->n;
}

int gossip_member_get(const struct gossip *g, size_t i, struct gossip_member *out)
{
	if (i >= g->n)
		return -ENOENT;
	*out = g->m[i].pub;
	return 0;
}

int gossip_member_find(const struct gossip *g, const char *name, struct gossip_member *out)
{
	const struct gossip__member *m = gossip__find(g, name);

	if (!m)
		return -ENOENT;
	*out = m->pub;
	return 0;
}

size_t gossip_count_state(const struct gossip *g, enum gossip_state state)
{
	size_t c = 0;

	for (size_t i = 0; i < g->n; i++)
		c += g->m[i].pub.state == state;
	return c;
}

unsigned gossip_health(const struct gossip *g)
{
	return g->lhm;
}

void gossip_stats_get(const struct gossip *g, struct gossip_stats *out)
{
	*out = g->stats;
}

const char *gossip_state_name(enum gossip_state s)
{
	static const char *const names[] = { "alive", "suspect", "dead", "left" };

	return (unsigned)s < 4 ? names[s] : "?";
}

const char *gossip_last_error(const struct gossip *g)
{
	return g->err;
}
