/* wire.c — gossip datagrams: the envelope, the messages, their checks.
 *
 * A datagram is one msgpack array (docs/gossip.md has the table):
 *   [version, sender, key_id, seq, body: bin, mac: bin]
 * The MAC covers every byte before the MAC field, so the body is carried
 * as opaque bytes and parsed only after ops->open accepted them. The body
 * is an array of messages, each an array whose first element is its type;
 * a message may carry trailing elements we do not know (a newer writer),
 * never fewer than its type needs.
 *
 * Decoding copies every field out after checking type and range; nothing
 * points into the input afterwards except pkt->mac (valid while the
 * caller's buffer is). Messages are arrays, not maps: a probe and its
 * piggybacked updates must fit one datagram, and field names would double
 * the size of most messages.
 */
#include "gossip/internal.h"
#include "common/mpack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Checks                                                                    */

bool gossip__name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= GOSSIP_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < ' ' || s[i] > '~')
			return false;
	return true;
}

int gossip__facts_check(const struct gossip_facts *f)
{
	size_t vlen = strnlen(f->version, GOSSIP_VERSION_MAX);

	if (f->uplink_util_ppm > 1000000 || f->cpu_ppm > 1000000 ||
	    f->mem_avail_bytes > f->mem_total_bytes || vlen == GOSSIP_VERSION_MAX ||
	    !printable(f->version, vlen))
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

#define FAIL(...) do { snprintf(err, GOSSIP_ERRLEN, __VA_ARGS__); return -EPROTO; } while (0)

/* Exactly one msgpack object filling buf, parsed into zone after the
 * structure checker bounded every declared length (common/mpack.h). */
static int parse(const void *buf, size_t len, msgpack_zone *zone, msgpack_object *obj,
		 char err[GOSSIP_ERRLEN])
{
	size_t used = 0, off = 0;

	if (len == 0)
		FAIL("empty datagram");
	if (rtv_mp_walk(buf, len, &used, err, GOSSIP_ERRLEN))
		return -EPROTO;
	if (used != len)
		FAIL("%zu bytes after the msgpack object", len - used);
	if (msgpack_unpack(buf, len, &off, zone, obj) != MSGPACK_UNPACK_SUCCESS)
		FAIL("msgpack too deeply nested or malformed");
	return 0;
}

static int get_u64(const msgpack_object *o, uint64_t max, uint64_t *out, const char *what,
		   char err[GOSSIP_ERRLEN])
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		FAIL("%s: not an unsigned integer", what);
	if (o->via.u64 > max)
		FAIL("%s: %llu is above %llu", what, (unsigned long long)o->via.u64,
		     (unsigned long long)max);
	*out = o->via.u64;
	return 0;
}

static int get_u32(const msgpack_object *o, uint32_t max, uint32_t *out, const char *what,
		   char err[GOSSIP_ERRLEN])
{
	uint64_t v;
	int rc = get_u64(o, max, &v, what, err);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

static int get_name(const msgpack_object *o, char dst[GOSSIP_NAME_MAX], const char *what,
		    char err[GOSSIP_ERRLEN])
{
	if (o->type != MSGPACK_OBJECT_STR)
		FAIL("%s: not a string", what);
	if (!gossip__name_ok(o->via.str.ptr, o->via.str.size))
		FAIL("%s: not a name (1..%d printable characters, no space)", what,
		     GOSSIP_NAME_MAX - 1);
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return 0;
}

static int get_addr(const msgpack_object *o, struct gossip_addr *a, char err[GOSSIP_ERRLEN])
{
	uint32_t port;

	if (get_u32(&o[0], UINT32_MAX, &a->ip, "address", err) ||
	    get_u32(&o[1], UINT16_MAX, &port, "port", err))
		return -EPROTO;
	if (port == 0 || a->ip == 0)
		FAIL("address 0 or port 0");
	a->port = (uint16_t)port;
	return 0;
}

enum { F_UPLINK, F_UTIL, F_RT, F_CPU, F_MEMT, F_MEMA, F_VMS, F_MISS, F_VER, F_N };

static int get_facts(const msgpack_object *o, struct gossip_facts *f, char err[GOSSIP_ERRLEN])
{
	const msgpack_object *e;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < F_N)
		FAIL("facts: not an array of %d", F_N);
	e = o->via.array.ptr;
	memset(f, 0, sizeof(*f));
	if (get_u64(&e[F_UPLINK], UINT64_MAX, &f->uplink_bps, "uplink", err) ||
	    get_u32(&e[F_UTIL], 1000000, &f->uplink_util_ppm, "uplink use", err) ||
	    get_u64(&e[F_RT], UINT64_MAX, &f->rt_reserved_bps, "rt reserved", err) ||
	    get_u32(&e[F_CPU], 1000000, &f->cpu_ppm, "cpu", err) ||
	    get_u64(&e[F_MEMT], UINT64_MAX, &f->mem_total_bytes, "memory", err) ||
	    get_u64(&e[F_MEMA], f->mem_total_bytes, &f->mem_avail_bytes, "memory free", err) ||
	    get_u32(&e[F_VMS], UINT32_MAX, &f->vm_count, "vm count", err) ||
	    get_u64(&e[F_MISS], UINT64_MAX, &f->dp_miss_count, "misses", err))
		return -EPROTO;
	if (e[F_VER].type != MSGPACK_OBJECT_STR || e[F_VER].via.str.size >= GOSSIP_VERSION_MAX ||
	    !printable(e[F_VER].via.str.ptr, e[F_VER].via.str.size))
		FAIL("facts: version is not a short printable string");
	memcpy(f->version, e[F_VER].via.str.ptr, e[F_VER].via.str.size);
	return 0;
}

/* [name, ip, port, inc, state, facts_seq, facts | nil] */
static int get_state(const msgpack_object *o, struct gossip__state *st, char err[GOSSIP_ERRLEN])
{
	const msgpack_object *e;
	uint32_t state;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 7)
		FAIL("push-pull: a member is not an array of 7");
	e = o->via.array.ptr;
	memset(st, 0, sizeof(*st));
	if (get_name(&e[0], st->name, "push-pull member", err) || get_addr(&e[1], &st->addr, err) ||
	    get_u32(&e[3], UINT32_MAX, &st->inc, "incarnation", err) ||
	    get_u32(&e[4], GOSSIP_LEFT, &state, "state", err) ||
	    get_u64(&e[5], UINT64_MAX, &st->facts_seq, "facts seq", err))
		return -EPROTO;
	st->state = (uint8_t)state;
	if (st->facts_seq == 0) {
		if (e[6].type != MSGPACK_OBJECT_NIL)
			FAIL("push-pull: facts without a facts seq");
		return 0;
	}
	return get_facts(&e[6], &st->facts, err);
}

static int get_pushpull(const msgpack_object *e, uint32_t n, struct gossip__packet *pkt,
			struct gossip__msg *m, char err[GOSSIP_ERRLEN])
{
	uint32_t flags;
	const msgpack_object_array *a;

	(void)n;	/* need[] checked the count */
	if (get_u32(&e[1], 0xff, &flags, "push-pull flags", err))
		return -EPROTO;
	if (e[2].type != MSGPACK_OBJECT_ARRAY)
		FAIL("push-pull: members are not an array");
	a = &e[2].via.array;
	if (a->size > GOSSIP__STATES_MAX - pkt->n_states)
		FAIL("push-pull: more than %d members in one datagram", GOSSIP__STATES_MAX);
	m->flags = (uint8_t)flags;
	m->first_state = pkt->n_states;
	m->n_states = a->size;
	for (uint32_t i = 0; i < a->size; i++)
		if (get_state(&a->ptr[i], &pkt->states[pkt->n_states++], err))
			return -EPROTO;
	return 0;
}

/* Fields each type needs after its type element. */
static const uint8_t need[GOSSIP__TYPE_END] = {
	[GOSSIP__PING] = 2, [GOSSIP__ACK] = 1, [GOSSIP__NACK] = 1, [GOSSIP__PINGREQ] = 5,
	[GOSSIP__ALIVE] = 4, [GOSSIP__SUSPECT] = 3, [GOSSIP__DEAD] = 3, [GOSSIP__FACTS] = 3,
	[GOSSIP__PUSHPULL] = 2,
};

static int get_fields(const msgpack_object *e, uint32_t n, struct gossip__packet *pkt,
		      struct gossip__msg *m, char err[GOSSIP_ERRLEN])
{
	switch (m->type) {
	case GOSSIP__PING:
		return get_u32(&e[1], UINT32_MAX, &m->seq, "seq", err) ||
		       get_name(&e[2], m->name, "ping target", err) ? -EPROTO : 0;
	case GOSSIP__ACK:
	case GOSSIP__NACK:
		return get_u32(&e[1], UINT32_MAX, &m->seq, "seq", err);
	case GOSSIP__PINGREQ:
		if (e[5].type != MSGPACK_OBJECT_BOOLEAN)
			FAIL("ping-req: nack flag is not a boolean");
		m->nack = e[5].via.boolean;
		return get_u32(&e[1], UINT32_MAX, &m->seq, "seq", err) ||
		       get_name(&e[2], m->name, "ping-req target", err) ||
		       get_addr(&e[3], &m->addr, err) ? -EPROTO : 0;
	case GOSSIP__ALIVE:
		return get_name(&e[1], m->name, "alive", err) ||
		       get_u32(&e[2], UINT32_MAX, &m->inc, "incarnation", err) ||
		       get_addr(&e[3], &m->addr, err) ? -EPROTO : 0;
	case GOSSIP__SUSPECT:
	case GOSSIP__DEAD:
		return get_name(&e[1], m->name, "accused", err) ||
		       get_u32(&e[2], UINT32_MAX, &m->inc, "incarnation", err) ||
		       get_name(&e[3], m->from, "accuser", err) ? -EPROTO : 0;
	case GOSSIP__FACTS:
		if (get_name(&e[1], m->name, "facts", err) ||
		    get_u64(&e[2], UINT64_MAX, &m->facts_seq, "facts seq", err))
			return -EPROTO;
		if (m->facts_seq == 0)
			FAIL("facts: seq 0");
		return get_facts(&e[3], &m->facts, err);
	default:
		return get_pushpull(e, n, pkt, m, err);
	}
}

static int get_msg(const msgpack_object *o, struct gossip__packet *pkt, char err[GOSSIP_ERRLEN])
{
	struct gossip__msg *m = &pkt->msgs[pkt->n_msgs];
	const msgpack_object *e;
	uint32_t n, type;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
		FAIL("message %zu: not a non-empty array", pkt->n_msgs);
	e = o->via.array.ptr;
	n = o->via.array.size - 1;
	if (get_u32(&e[0], GOSSIP__TYPE_END - 1, &type, "message type", err) || type == 0)
		FAIL("message %zu: unknown type", pkt->n_msgs);
	if (n < need[type])
		FAIL("message %zu (type %u): %u fields, needs %u", pkt->n_msgs, type, n, need[type]);
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	if (get_fields(e, n, pkt, m, err))
		return -EPROTO;
	pkt->n_msgs++;
	return 0;
}

static int decode_body(const uint8_t *body, size_t len, struct gossip__packet *pkt,
		       char err[GOSSIP_ERRLEN])
{
	msgpack_zone zone;
	msgpack_object o;
	int rc;

	msgpack_zone_init(&zone, 2048);
	rc = parse(body, len, &zone, &o, err);
	if (rc == 0 && (o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size == 0 ||
			       o.via.array.size > GOSSIP__MSGS_MAX)) {
		snprintf(err, GOSSIP_ERRLEN, "body: not an array of 1..%d messages",
			 GOSSIP__MSGS_MAX);
		rc = -EPROTO;
	}
	for (uint32_t i = 0; rc == 0 && i < o.via.array.size; i++)
		rc = get_msg(&o.via.array.ptr[i], pkt, err);
	msgpack_zone_destroy(&zone);
	return rc;
}

/* The envelope: fills pkt's header fields, the MAC's place and the body. */
static int decode_envelope(const uint8_t *buf, size_t len, msgpack_zone *zone,
			   struct gossip__packet *pkt, const msgpack_object **body,
			   char err[GOSSIP_ERRLEN])
{
	msgpack_object o;
	const msgpack_object *e;

	if (parse(buf, len, zone, &o, err))
		return -EPROTO;
	if (o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 6)
		FAIL("envelope: not an array of 6");
	e = o.via.array.ptr;
	if (get_u32(&e[0], UINT32_MAX, &pkt->version, "version", err))
		return -EPROTO;
	if (pkt->version != GOSSIP__WIRE_VERSION)
		FAIL("wire version %u, this build speaks %d", pkt->version, GOSSIP__WIRE_VERSION);
	if (get_name(&e[1], pkt->sender, "sender", err) ||
	    get_u32(&e[2], UINT32_MAX, &pkt->key_id, "key id", err) ||
	    get_u64(&e[3], UINT64_MAX, &pkt->seq, "seq", err))
		return -EPROTO;
	if (e[4].type != MSGPACK_OBJECT_BIN || e[5].type != MSGPACK_OBJECT_BIN)
		FAIL("envelope: body or MAC is not bin");
	if (e[5].via.bin.size > GOSSIP_MAC_MAX)
		FAIL("envelope: MAC of %u bytes", e[5].via.bin.size);
	/* The MAC is the last field, as bin 8: its header and bytes end the
	 * datagram, and everything before them is what it covers. */
	pkt->mac_len = e[5].via.bin.size;
	pkt->signed_len = len - 2 - pkt->mac_len;
	if (buf[pkt->signed_len] != 0xc4 || buf[pkt->signed_len + 1] != pkt->mac_len)
		FAIL("envelope: MAC is not a bin 8 at the end");
	pkt->mac = buf + pkt->signed_len + 2;
	*body = &e[4];
	return 0;
}

int gossip__decode(const void *buf, size_t len, struct gossip__packet *pkt,
		   char err[GOSSIP_ERRLEN])
{
	msgpack_zone zone;
	const msgpack_object *body = NULL;
	int rc;

	pkt->n_msgs = pkt->n_states = 0;
	msgpack_zone_init(&zone, 512);
	rc = decode_envelope(buf, len, &zone, pkt, &body, err);
	if (rc == 0)
		rc = decode_body((const uint8_t *)body->via.bin.ptr, body->via.bin.size, pkt, err);
	msgpack_zone_destroy(&zone);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

static int pk_name(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? -ENOBUFS : 0;
}

static int pk_addr(msgpack_packer *pk, const struct gossip_addr *a)
{
	return msgpack_pack_uint32(pk, a->ip) || msgpack_pack_uint16(pk, a->port) ? -ENOBUFS : 0;
}

int gossip__pk_ping(msgpack_packer *pk, uint8_t type, uint32_t seq, const char *target)
{
	return msgpack_pack_array(pk, 3) || msgpack_pack_uint8(pk, type) ||
	       msgpack_pack_uint32(pk, seq) || pk_name(pk, target) ? -ENOBUFS : 0;
}

int gossip__pk_ack(msgpack_packer *pk, uint8_t type, uint32_t seq)
{
	return msgpack_pack_array(pk, 2) || msgpack_pack_uint8(pk, type) ||
	       msgpack_pack_uint32(pk, seq) ? -ENOBUFS : 0;
}

int gossip__pk_pingreq(msgpack_packer *pk, uint32_t seq, const char *target,
		       const struct gossip_addr *addr, bool nack)
{
	return msgpack_pack_array(pk, 6) || msgpack_pack_uint8(pk, GOSSIP__PINGREQ) ||
	       msgpack_pack_uint32(pk, seq) || pk_name(pk, target) || pk_addr(pk, addr) ||
	       (nack ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? -ENOBUFS : 0;
}

int gossip__pk_alive(msgpack_packer *pk, const char *name, uint32_t inc,
		     const struct gossip_addr *addr)
{
	return msgpack_pack_array(pk, 5) || msgpack_pack_uint8(pk, GOSSIP__ALIVE) ||
	       pk_name(pk, name) || msgpack_pack_uint32(pk, inc) || pk_addr(pk, addr) ?
	       -ENOBUFS : 0;
}

int gossip__pk_accuse(msgpack_packer *pk, uint8_t type, const char *name, uint32_t inc,
		      const char *from)
{
	return msgpack_pack_array(pk, 4) || msgpack_pack_uint8(pk, type) || pk_name(pk, name) ||
	       msgpack_pack_uint32(pk, inc) || pk_name(pk, from) ? -ENOBUFS : 0;
}

static int pk_facts_body(msgpack_packer *pk, const struct gossip_facts *f)
{
	size_t vlen = strnlen(f->version, GOSSIP_VERSION_MAX - 1);

	return msgpack_pack_array(pk, F_N) || msgpack_pack_uint64(pk, f->uplink_bps) ||
	       msgpack_pack_uint32(pk, f->uplink_util_ppm) ||
	       msgpack_pack_uint64(pk, f->rt_reserved_bps) || msgpack_pack_uint32(pk, f->cpu_ppm) ||
	       msgpack_pack_uint64(pk, f->mem_total_bytes) ||
	       msgpack_pack_uint64(pk, f->mem_avail_bytes) || msgpack_pack_uint32(pk, f->vm_count) ||
	       msgpack_pack_uint64(pk, f->dp_miss_count) || msgpack_pack_str(pk, vlen) ||
	       msgpack_pack_str_body(pk, f->version, vlen) ? -ENOBUFS : 0;
}

int gossip__pk_facts(msgpack_packer *pk, const char *name, uint64_t seq,
		     const struct gossip_facts *f)
{
	return msgpack_pack_array(pk, 4) || msgpack_pack_uint8(pk, GOSSIP__FACTS) ||
	       pk_name(pk, name) || msgpack_pack_uint64(pk, seq) || pk_facts_body(pk, f) ?
	       -ENOBUFS : 0;
}

int gossip__pk_state(msgpack_packer *pk, const struct gossip_member *m)
{
	if (msgpack_pack_array(pk, 7) || pk_name(pk, m->name) || pk_addr(pk, &m->addr) ||
	    msgpack_pack_uint32(pk, m->incarnation) || msgpack_pack_uint8(pk, (uint8_t)m->state) ||
	    msgpack_pack_uint64(pk, m->facts_seq))
		return -ENOBUFS;
	if (m->facts_seq == 0)
		return msgpack_pack_nil(pk) ? -ENOBUFS : 0;
	return pk_facts_body(pk, &m->facts);
}

static int fixbuf_write(void *data, const char *buf, size_t len)
{
	struct gossip__fixbuf *fb = data;

	if (len > fb->cap - fb->len)
		return -1;
	memcpy(fb->p + fb->len, buf, len);
	fb->len += len;
	return 0;
}

void gossip__fixbuf_init(struct gossip__fixbuf *fb, msgpack_packer *pk, uint8_t *p, size_t cap)
{
	fb->p = p;
	fb->len = 0;
	fb->cap = cap;
	msgpack_packer_init(pk, fb, fixbuf_write);
}

int gossip__envelope(struct gossip *g, const void *body, size_t body_len, uint8_t *out,
		     size_t cap)
{
	struct gossip__fixbuf fb;
	msgpack_packer pk;
	uint8_t mac[GOSSIP_MAC_MAX];
	size_t mac_len = 0;
	uint32_t key_id = g->ops.seal_key ? g->ops.seal_key(g->ops.auth_data) : 0;
	uint64_t wall = g->ops.wall_ns ? g->ops.wall_ns(g->ops.auth_data) : 0;
	int rc;

	g->env_seq = wall > g->env_seq ? wall : g->env_seq + 1;
	gossip__fixbuf_init(&fb, &pk, out, cap);
	if (msgpack_pack_array(&pk, 6) || msgpack_pack_uint8(&pk, GOSSIP__WIRE_VERSION) ||
	    pk_name(&pk, g->cfg.name) || msgpack_pack_uint32(&pk, key_id) ||
	    msgpack_pack_uint64(&pk, g->env_seq) || msgpack_pack_bin(&pk, body_len) ||
	    msgpack_pack_bin_body(&pk, body, body_len))
		return -EMSGSIZE;
	if (g->ops.seal) {
		mac_len = sizeof(mac);
		rc = g->ops.seal(g->ops.auth_data, key_id, out, fb.len, mac, &mac_len);
		if (rc < 0)
			return rc;
		if (mac_len > GOSSIP_MAC_MAX)
			return -EOVERFLOW;
	}
	if (msgpack_pack_bin(&pk, mac_len) || msgpack_pack_bin_body(&pk, mac, mac_len))
		return -EMSGSIZE;
	return (int)fb.len;
}
