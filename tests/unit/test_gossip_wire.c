/* test_gossip_wire.c — one member driven by hand: datagrams written here
 * with msgpack-c from the format in docs/gossip.md (not with gossip's own
 * encoders), a clock the test moves, and a fake network that answers
 * pings and ping-reqs as told. Checks the suspicion timeout's shrinking,
 * the local health multiplier's arithmetic, refutation, the seal/open
 * hook and that bad datagrams change nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "gossip/gossip.h"

#define S 1000000000ull
#define MS 1000000ull
#define SELF "me"

enum { T_PING = 1, T_ACK, T_NACK, T_PINGREQ, T_ALIVE, T_SUSPECT, T_DEAD, T_FACTS, T_PP };

struct fake {
	uint64_t now;
	bool ack;		/* answer pings with acks */
	bool nack;		/* answer ping-reqs with nacks */
	bool seal;		/* toy seal on both sides */
	struct gossip *g;
	size_t n_sent;
	uint32_t alive_inc_sent;	/* highest ALIVE(me) incarnation sent */
	bool alive_sent;
	uint32_t sent_key;
	uint64_t rnd;
	/* answers owed, delivered once the member's call returns (gossip_recv
	 * must not be called from inside its own send) */
	struct { char from[8]; uint32_t v[2]; } owed[64];
	size_t n_owed;
	bool flushing;
};

static struct fake F;

/* ------------------------------------------------------------------------- */
/* Writing datagrams                                                         */

static uint64_t toy_mac(uint32_t key, const uint8_t *p, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ key;	/* not a MAC: a stand-in */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* Wraps body into an envelope from `sender`, sealed with the toy MAC when
 * key != 0. Returns the datagram's length in out. */
static size_t envelope(uint8_t *out, const char *sender, uint32_t key, const msgpack_sbuffer *body)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t mac;
	size_t len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint8(&pk, 1);
	pk_str(&pk, sender);
	msgpack_pack_uint32(&pk, key);
	msgpack_pack_uint64(&pk, F.n_sent + 1000);
	msgpack_pack_bin(&pk, body->size);
	msgpack_pack_bin_body(&pk, body->data, body->size);
	mac = toy_mac(key, (const uint8_t *)sb.data, sb.size);
	msgpack_pack_bin(&pk, key ? 8 : 0);
	if (key)
		msgpack_pack_bin_body(&pk, &mac, 8);
	len = sb.size;
	memcpy(out, sb.data, len);
	msgpack_sbuffer_destroy(&sb);
	return len;
}

static struct gossip_addr from_addr(const char *name)
{
	return (struct gossip_addr){ .ip = 0x0a000100u + (uint32_t)name[1], .port = 7946 };
}

static void flush_owed(void);

/* Delivers one message (packed by fn) from sender. Returns gossip_recv's rc. */
static int deliver(const char *sender, uint32_t key, void (*fn)(msgpack_packer *, void *),
		   void *arg)
{
	msgpack_sbuffer body;
	msgpack_packer pk;
	uint8_t dgram[4096];
	struct gossip_addr from = from_addr(sender);
	size_t len;

	msgpack_sbuffer_init(&body);
	msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
	fn(&pk, arg);
	len = envelope(dgram, sender, key, &body);
	msgpack_sbuffer_destroy(&body);
	{
		int rc = gossip_recv(F.g, &from, dgram, len);

		flush_owed();
		return rc;
	}
}

static void answer(msgpack_packer *pk, void *arg);

/* Delivers the answers the member's sends asked for, and those they ask. */
static void flush_owed(void)
{
	if (F.flushing)
		return;
	F.flushing = true;
	for (size_t i = 0; i < F.n_owed; i++)
		deliver(F.owed[i].from, F.seal ? 7 : 0, answer, F.owed[i].v);
	F.n_owed = 0;
	F.flushing = false;
}

static void owe(const char *from, uint32_t type, uint32_t seq)
{
	assert_true(F.n_owed < 64);
	snprintf(F.owed[F.n_owed].from, sizeof(F.owed[0].from), "%s", from);
	F.owed[F.n_owed].v[0] = type;
	F.owed[F.n_owed].v[1] = seq;
	F.n_owed++;
}

struct accuse {
	uint8_t type;
	const char *name, *from;
	uint32_t inc;
};

static void pk_alive(msgpack_packer *pk, void *arg)
{
	const char *name = arg;
	struct gossip_addr a = from_addr(name);

	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, T_ALIVE);
	pk_str(pk, name);
	msgpack_pack_uint32(pk, 0);
	msgpack_pack_uint32(pk, a.ip);
	msgpack_pack_uint16(pk, a.port);
}

static void pk_accuse(msgpack_packer *pk, void *arg)
{
	const struct accuse *a = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, a->type);
	pk_str(pk, a->name);
	msgpack_pack_uint32(pk, a->inc);
	pk_str(pk, a->from);
}

/* ------------------------------------------------------------------------- */
/* The fake network: reads what the member sends                             */

static void answer(msgpack_packer *pk, void *arg)
{
	const uint32_t *v = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, (uint8_t)v[0]);
	msgpack_pack_uint32(pk, v[1]);
}

static void look_at(const msgpack_object *m, const struct gossip_addr *to)
{
	const msgpack_object *e = m->via.array.ptr;
	char name[64] = "";

	if (e[0].via.u64 == T_PING && F.ack) {
		snprintf(name, sizeof(name), "%.*s", (int)e[2].via.str.size, e[2].via.str.ptr);
		owe(name, T_ACK, (uint32_t)e[1].via.u64);
	} else if (e[0].via.u64 == T_PINGREQ && F.nack) {
		snprintf(name, sizeof(name), "h%c", (char)(to->ip - 0x0a000100u));
		owe(name, T_NACK, (uint32_t)e[1].via.u64);
	} else if (e[0].via.u64 == T_ALIVE && e[1].via.str.size == strlen(SELF) &&
		   memcmp(e[1].via.str.ptr, SELF, strlen(SELF)) == 0) {
		F.alive_sent = true;
		if (e[2].via.u64 > F.alive_inc_sent)
			F.alive_inc_sent = (uint32_t)e[2].via.u64;
	}
}

static int op_send(void *data, const struct gossip_addr *to, const void *buf, size_t len)
{
	msgpack_unpacked env, body;
	size_t off = 0, boff = 0;

	(void)data;
	F.n_sent++;
	msgpack_unpacked_init(&env);
	msgpack_unpacked_init(&body);
	assert_int_equal(msgpack_unpack_next(&env, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(env.data.via.array.size, 6);
	F.sent_key = (uint32_t)env.data.via.array.ptr[2].via.u64;
	assert_int_equal(msgpack_unpack_next(&body, env.data.via.array.ptr[4].via.bin.ptr,
					     env.data.via.array.ptr[4].via.bin.size, &boff),
			 MSGPACK_UNPACK_SUCCESS);
	for (uint32_t i = 0; i < body.data.via.array.size; i++)
		look_at(&body.data.via.array.ptr[i], to);
	msgpack_unpacked_destroy(&env);
	msgpack_unpacked_destroy(&body);
	return 0;
}

static uint64_t op_now(void *data)
{
	(void)data;
	return F.now;
}

static uint64_t op_random(void *data)
{
	(void)data;
	return F.rnd++;	/* timers start (almost) at once; picks go round */
}

static uint32_t op_seal_key(void *data)
{
	(void)data;
	return 7;
}

static int op_seal(void *data, uint32_t key, const void *msg, size_t len, uint8_t *mac,
		   size_t *mac_len)
{
	uint64_t m = toy_mac(key, msg, len);

	(void)data;
	memcpy(mac, &m, 8);
	*mac_len = 8;
	return 0;
}

static int op_open(void *data, const char *sender, uint32_t key, uint64_t seq, const void *msg,
		   size_t len, const uint8_t *mac, size_t mac_len)
{
	uint64_t m = toy_mac(key, msg, len);

	(void)data;
	(void)sender;
	(void)seq;
	return key == 7 && mac_len == 8 && memcmp(mac, &m, 8) == 0 ? 0 : -EBADMSG;
}

static void setup_member(bool lifeguard, bool seal, size_t peers)
{
	struct gossip_config c;
	struct gossip_ops ops = { .now_ns = op_now, .random = op_random, .send = op_send };
	char err[GOSSIP_ERRLEN], name[8];

	memset(&F, 0, sizeof(F));
	F.now = 100 * S;
	F.ack = true;
	F.seal = seal;
	if (seal) {
		ops.seal_key = op_seal_key;
		ops.seal = op_seal;
		ops.open = op_open;
	}
	gossip_config_default(&c);
	strcpy(c.name, SELF);
	c.addr = (struct gossip_addr){ .ip = 0x0a0001ffu, .port = 7946 };
	c.lifeguard = lifeguard;
	assert_int_equal(gossip_new(&c, &ops, &F.g, err), 0);
	for (size_t i = 1; i <= peers; i++) {
		snprintf(name, sizeof(name), "h%zu", i);
		assert_int_equal(deliver(name, seal ? 7 : 0, pk_alive, name), 0);
	}
	assert_int_equal(gossip_count(F.g), peers + 1);
}

static void run_to(uint64_t t)
{
	while (F.now < t) {
		uint64_t next = gossip_tick(F.g);

		flush_owed();
		F.now = next < t ? next : t;
	}
	gossip_tick(F.g);
	flush_owed();
}

static enum gossip_state state_of(const char *name)
{
	struct gossip_member m;

	assert_int_equal(gossip_member_find(F.g, name, &m), 0);
	return m.state;
}

/* ------------------------------------------------------------------------- */
/* Suspicion timeout                                                         */

/* 8 members: min = 4 * max(1, log10 8) * 1 s = 4 s, max = 6 * min = 24 s,
 * K = 2 confirmations expected. Returns when `name` was declared dead,
 * relative to the first suspicion (in ms). */
static uint64_t time_to_dead(const char *name, const char *const *from, size_t n_from)
{
	uint64_t t0 = F.now;

	for (size_t i = 0; i < n_from; i++) {
		struct accuse a = { T_SUSPECT, name, from[i], 0 };

		assert_int_equal(deliver(from[i], 0, pk_accuse, &a), 0);
	}
	assert_int_equal(state_of(name), GOSSIP_SUSPECT);
	while (state_of(name) == GOSSIP_SUSPECT && F.now - t0 < 60 * S)
		run_to(F.now + 10 * MS);
	assert_int_equal(state_of(name), GOSSIP_DEAD);
	return (F.now - t0) / MS;
}

static void test_suspicion_shrinks(void **state)
{
	static const char *const one[] = { "h1" }, *const two[] = { "h1", "h2" },
			  *const three[] = { "h1", "h2", "h3" }, *const dup[] = { "h1", "h1" },
			  *const six[] = { "h1", "h2", "h3", "h4", "h5", "h6" };

	(void)state;
	setup_member(true, false, 7);
	assert_int_equal(time_to_dead("h4", one, 1), 24000);
	assert_int_equal(time_to_dead("h5", dup, 2), 24000);	/* same accuser twice */
	/* 24 - 20 * log(2)/log(3) = 11.381 s */
	assert_int_equal(time_to_dead("h6", two, 2), 11390);
	assert_int_equal(time_to_dead("h7", three, 3), 4000);
	gossip_free(F.g);

	/* more confirmations than K change nothing: still min, never less */
	setup_member(true, false, 7);
	assert_int_equal(time_to_dead("h7", six, 6), 4000);
	gossip_free(F.g);

	setup_member(false, false, 7);	/* plain SWIM: min, whatever the count */
	assert_int_equal(time_to_dead("h4", one, 1), 4000);
	gossip_free(F.g);
}

/* ------------------------------------------------------------------------- */
/* Local health                                                              */

static void test_lhm_arithmetic(void **state)
{
	(void)state;
	/* two peers: a failed probe of one asks the other; no nack = +1 */
	setup_member(true, false, 2);
	F.ack = false;
	run_to(F.now + 1 * S + 1 * MS);	/* the timers started a few ns late */
	assert_int_equal(gossip_health(F.g), 1);
	/* The next probe left unanswered too, at once; its interval is now
	 * 2 s: it fails at +3 s (health 2), and the probe that follows at
	 * once is acked (the fake answers at once: 1). That probe started at
	 * health 2, so the next is 3 s later, acked: 0. */
	F.ack = true;
	run_to(F.now + 2 * S);
	assert_int_equal(gossip_health(F.g), 1);
	run_to(F.now + 3 * S - 2 * MS);
	assert_int_equal(gossip_health(F.g), 1);
	run_to(F.now + 2 * MS);
	assert_int_equal(gossip_health(F.g), 0);
	gossip_free(F.g);

	/* four peers, three helpers: none nacks = +3; all nack = +0 */
	setup_member(true, false, 4);
	F.ack = false;
	run_to(F.now + 1 * S + 1 * MS);
	assert_int_equal(gossip_health(F.g), 3);
	gossip_free(F.g);
	setup_member(true, false, 4);
	F.ack = false;
	F.nack = true;
	run_to(F.now + 1 * S + 1 * MS);
	assert_int_equal(gossip_health(F.g), 0);
	gossip_free(F.g);

	/* without Lifeguard there is no multiplier */
	setup_member(false, false, 4);
	F.ack = false;
	run_to(F.now + 5 * S);
	assert_int_equal(gossip_health(F.g), 0);
	gossip_free(F.g);
}

/* ------------------------------------------------------------------------- */
/* Refutation                                                                */

static void test_refutation(void **state)
{
	struct accuse sus = { T_SUSPECT, SELF, "h1", 0 }, dead = { T_DEAD, SELF, "h2", 3 };
	struct gossip_member me;
	struct gossip_stats st;

	(void)state;
	setup_member(true, false, 3);
	assert_int_equal(deliver("h1", 0, pk_accuse, &sus), 0);
	assert_int_equal(gossip_member_find(F.g, SELF, &me), 0);
	assert_int_equal(me.incarnation, 1);
	assert_int_equal(me.state, GOSSIP_ALIVE);
	assert_int_equal(gossip_health(F.g), 1);
	run_to(F.now + 1 * S);
	assert_true(F.alive_sent);
	assert_int_equal(F.alive_inc_sent, 1);
	/* declared dead at a later incarnation: jumps past it */
	assert_int_equal(deliver("h2", 0, pk_accuse, &dead), 0);
	assert_int_equal(gossip_member_find(F.g, SELF, &me), 0);
	assert_int_equal(me.incarnation, 4);
	run_to(F.now + 1 * S);
	assert_int_equal(F.alive_inc_sent, 4);
	/* an old accusation is ignored */
	sus.inc = 2;
	assert_int_equal(deliver("h1", 0, pk_accuse, &sus), 0);
	assert_int_equal(gossip_member_find(F.g, SELF, &me), 0);
	assert_int_equal(me.incarnation, 4);
	gossip_stats_get(F.g, &st);
	assert_int_equal(st.refutations, 2);
	gossip_free(F.g);
}

/* ------------------------------------------------------------------------- */
/* Bad input                                                                 */

static void pk_raw(msgpack_packer *pk, void *arg)
{
	void (*fn)(msgpack_packer *) = (void (*)(msgpack_packer *))arg;

	fn(pk);
}

static void b_not_array(msgpack_packer *pk) { msgpack_pack_uint8(pk, 1); }
static void b_empty(msgpack_packer *pk) { msgpack_pack_array(pk, 0); }
static void b_type99(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, 99);
	msgpack_pack_uint8(pk, 1);
}
static void b_ping_short(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, T_PING);
	msgpack_pack_uint32(pk, 5);
}
static void b_alive_port0(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, T_ALIVE);
	pk_str(pk, "h9");
	msgpack_pack_uint32(pk, 0);
	msgpack_pack_uint32(pk, 0x0a000109);
	msgpack_pack_uint16(pk, 0);
}
/* a good ALIVE(h9) then a bad one: the whole datagram is refused */
static void b_good_then_bad(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, T_ALIVE);
	pk_str(pk, "h9");
	msgpack_pack_uint32(pk, 0);
	msgpack_pack_uint32(pk, 0x0a000109);
	msgpack_pack_uint16(pk, 7946);
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, T_SUSPECT);
	pk_str(pk, "bad name");
	msgpack_pack_uint32(pk, 0);
	pk_str(pk, "h1");
}
static void b_facts_cpu(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, T_FACTS);
	pk_str(pk, "h1");
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_array(pk, 9);
	for (int i = 0; i < 8; i++)
		msgpack_pack_uint64(pk, i == 3 ? 1000001 : 1);	/* cpu above 100% */
	pk_str(pk, "v");
}
static void b_pp_state(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, T_PP);
	msgpack_pack_uint8(pk, 0);
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 7);
	pk_str(pk, "h9");
	msgpack_pack_uint32(pk, 0x0a000109);
	msgpack_pack_uint16(pk, 7946);
	msgpack_pack_uint32(pk, 0);
	msgpack_pack_uint8(pk, 7);	/* no such state */
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_nil(pk);
}

static void test_bad_datagrams(void **state)
{
	static const uint8_t raw[][12] = {
		{ 0xc1 },						/* never used */
		{ 0x96, 0x01 },						/* truncated */
		{ 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 },			/* 2^32 elements */
		{ 0x96, 0x02, 0xa2, 'h', '1', 0, 0, 0xc4, 0x01, 0x90, 0xc4, 0x00 }, /* v2 */
		{ 0x96, 0x01, 0xa2, 'h', ' ', 0, 0, 0xc4, 0x01, 0x90, 0xc4, 0x00 }, /* name */
	};
	static void (*const bodies[])(msgpack_packer *) = {
		b_not_array, b_empty, b_type99, b_ping_short, b_alive_port0, b_good_then_bad,
		b_facts_cpu, b_pp_state,
	};
	struct gossip_addr from = from_addr("h1");
	struct gossip_stats st;
	struct gossip_member before, after;

	(void)state;
	setup_member(true, false, 2);
	assert_int_equal(gossip_member_find(F.g, "h1", &before), 0);
	assert_int_equal(gossip_recv(F.g, &from, raw[0], 0), -EPROTO);
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		assert_int_equal(gossip_recv(F.g, &from, raw[i], sizeof(raw[i])), -EPROTO);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (deliver("h1", 0, pk_raw, (void *)bodies[i]) != -EPROTO)
			fail_msg("body %zu accepted", i);
		assert_true(gossip_last_error(F.g)[0] != '\0');
	}
	/* a datagram naming us as its sender */
	assert_int_equal(deliver(SELF, 0, pk_alive, "h9"), -EPROTO);
	gossip_stats_get(F.g, &st);
	assert_int_equal(st.rx_bad, 1 + 5 + 8 + 1);
	assert_int_equal(gossip_count(F.g), 3);
	assert_int_equal(gossip_member_find(F.g, "h9", &after), -ENOENT);
	assert_int_equal(gossip_member_find(F.g, "h1", &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	gossip_free(F.g);
}

/* ------------------------------------------------------------------------- */
/* Seal and open                                                             */

static void test_seal_hook(void **state)
{
	struct gossip_stats st;
	msgpack_sbuffer body;
	msgpack_packer pk;
	uint8_t dgram[512];
	struct gossip_addr from = from_addr("h3");
	size_t len;

	(void)state;
	setup_member(true, true, 2);	/* the two ALIVEs went through open */
	run_to(F.now + 3 * S);		/* our probes were sealed and acked */
	assert_int_equal(F.sent_key, 7);
	assert_int_equal(gossip_health(F.g), 0);
	/* unsealed: refused, nothing learned */
	assert_int_equal(deliver("h3", 0, pk_alive, "h3"), -EPERM);
	/* sealed, then one byte of the body changed: refused */
	msgpack_sbuffer_init(&body);
	msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
	pk_alive(&pk, "h3");
	len = envelope(dgram, "h3", 7, &body);
	msgpack_sbuffer_destroy(&body);
	dgram[len - 12] ^= 0x01;	/* inside the body: the port's low byte */
	assert_int_equal(gossip_recv(F.g, &from, dgram, len), -EPERM);
	dgram[len - 12] ^= 0x01;
	assert_int_equal(gossip_recv(F.g, &from, dgram, len), 0);
	gossip_stats_get(F.g, &st);
	assert_int_equal(st.rx_unauth, 2);
	assert_int_equal(gossip_count(F.g), 4);
	gossip_free(F.g);

	/* a member without keys refuses sealed datagrams */
	setup_member(true, false, 1);
	assert_int_equal(deliver("h3", 7, pk_alive, "h3"), -EPERM);
	assert_int_equal(gossip_count(F.g), 2);
	gossip_free(F.g);
}

static void test_config_refused(void **state)
{
	struct gossip_config c;
	struct gossip_ops ops = { .now_ns = op_now, .random = op_random };
	struct gossip *g = NULL;
	char err[GOSSIP_ERRLEN];

	(void)state;
	gossip_config_default(&c);
	c.addr = (struct gossip_addr){ .ip = 1, .port = 1 };
	strcpy(c.name, "has space");
	assert_int_equal(gossip_new(&c, &ops, &g, err), -EINVAL);
	assert_non_null(strstr(err, "name"));
	strcpy(c.name, "ok");
	c.probe_timeout_ns = c.probe_interval_ns;
	assert_int_equal(gossip_new(&c, &ops, &g, err), -EINVAL);
	assert_non_null(strstr(err, "probe timeout"));
	assert_null(g);
	gossip_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suspicion_shrinks),
		cmocka_unit_test(test_lhm_arithmetic),
		cmocka_unit_test(test_refutation),
		cmocka_unit_test(test_bad_datagrams),
		cmocka_unit_test(test_seal_hook),
		cmocka_unit_test(test_config_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
