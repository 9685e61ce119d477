/* codec.c — msgpack encoding of the state's records, and the msgpack helpers
 * every encoder and decoder in consensus/ goes through.
 *
 * Decoding is written for hostile input (commands arrive from the network,
 * snapshots from disk): the bytes are first walked by a structural checker
 * that bounds every declared length by the bytes that remain, then parsed
 * by msgpack-c into a zone, then every field is looked up by key,
 * type-checked, range-checked and copied out. Nothing points into the input
 * afterwards. Keys we do not know are ignored, so a newer writer can add
 * fields; keys we know are required.
 */
#include "common/bytes.h"
#include "consensus/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cons__mp_parse_next(const void *buf, size_t len, size_t *used, msgpack_zone *zone,
			msgpack_object *obj, char err[CONS_ERRLEN])
{
	size_t off = 0;
	int rc;

	if (buf == NULL || len == 0) {
		cons__err(err, "empty message");
		return -EPROTO;
	}
	rc = rtv_mp_walk(buf, len, used, err, CONS_ERRLEN);
	if (rc != 0)
		return rc;
	switch (msgpack_unpack(buf, *used, &off, zone, obj)) {
	case MSGPACK_UNPACK_SUCCESS:
		return 0;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		/* also msgpack-c's answer to nesting deeper than its stack */
		cons__err(err, "msgpack too deeply nested or out of memory");
		return -EPROTO;
	default:
		cons__err(err, "malformed msgpack");
		return -EPROTO;
	}
}

int cons__mp_parse(const void *buf, size_t len, msgpack_zone *zone, msgpack_object *obj,
		   char err[CONS_ERRLEN])
{
	size_t used = 0;
	int rc = cons__mp_parse_next(buf, len, &used, zone, obj, err);

	if (rc == 0 && used != len) {
		cons__err(err, "%zu trailing bytes after the msgpack object", len - used);
		return -EPROTO;
	}
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Reading maps                                                              */

static const char *type_str(msgpack_object_type t)
{
	switch (t) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_BIN: return "bin";
	default: return "ext";
	}
}

const char *cons__mp_type_name(const msgpack_object *o)
{
	return type_str(o->type);
}

static bool key_is(const msgpack_object *k, const char *key)
{
	size_t n = strlen(key);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, key, n) == 0;
}

/* A map whose keys are all strings, none twice: a repeated key would make
 * the reader's choice (first or last) a matter of implementation. */
int cons__map_open(const msgpack_object *o, const char *ctx, char err[CONS_ERRLEN])
{
	const msgpack_object_map *m = &o->via.map;

	if (o->type != MSGPACK_OBJECT_MAP) {
		cons__err(err, "%s: expected a map, got %s", ctx, cons__mp_type_name(o));
		return -EPROTO;
	}
	if (m->size > CONS__MAP_MAX_KEYS) {
		cons__err(err, "%s: %u keys, at most %d allowed", ctx, m->size, CONS__MAP_MAX_KEYS);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;

		if (k->type != MSGPACK_OBJECT_STR) {
			cons__err(err, "%s: a key is a %s, keys must be str", ctx,
				  cons__mp_type_name(k));
			return -EPROTO;
		}
		for (uint32_t j = 0; j < i; j++) {
			const msgpack_object *q = &m->ptr[j].key;

			if (q->via.str.size == k->via.str.size &&
			    (k->via.str.size == 0 ||
			     memcmp(q->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)) {
				cons__err(err, "%s: key \"%.*s\" appears twice", ctx,
					  (int)(k->via.str.size > 32 ? 32 : k->via.str.size),
					  k->via.str.size ? k->via.str.ptr : "");
				return -EPROTO;
			}
		}
	}
	return 0;
}

const msgpack_object *cons__map_get(const msgpack_object *map, const char *key)
{
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (key_is(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

static const msgpack_object *need(const msgpack_object *map, const char *ctx, const char *key,
				  msgpack_object_type type, char err[CONS_ERRLEN])
{
	const msgpack_object *v = cons__map_get(map, key);

	if (v == NULL) {
		cons__err(err, "%s: field \"%s\" is missing", ctx, key);
		return NULL;
	}
	if (v->type != type) {
		cons__err(err, "%s: field \"%s\" is a %s, expected %s", ctx, key,
			  type_str(v->type), type_str(type));
		return NULL;
	}
	return v;
}

int cons__get_u64(const msgpack_object *map, const char *ctx, const char *key, uint64_t max,
		  uint64_t *out, char err[CONS_ERRLEN])
{
	const msgpack_object *v = need(map, ctx, key, MSGPACK_OBJECT_POSITIVE_INTEGER, err);

	if (v == NULL)
		return -EPROTO;
	if (v->via.u64 > max) {
		cons__err(err, "%s: field \"%s\" is %llu, at most %llu allowed", ctx, key,
			  (unsigned long long)v->via.u64, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v->via.u64;
	return 0;
}

int cons__obj_str(const msgpack_object *o, const char *ctx, const char *what, char *dst,
		  size_t cap, char err[CONS_ERRLEN])
{
	if (o->type != MSGPACK_OBJECT_STR) {
		cons__err(err, "%s: %s is a %s, expected str", ctx, what, cons__mp_type_name(o));
		return -EPROTO;
	}
	if (o->via.str.size >= cap) {
		cons__err(err, "%s: %s is %u bytes long, at most %zu allowed", ctx, what,
			  o->via.str.size, cap - 1);
		return -EINVAL;
	}
	memset(dst, 0, cap);
	if (o->via.str.size == 0)
		return 0;	/* msgpack-c gives an empty string a NULL ptr */
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		cons__err(err, "%s: %s contains a NUL byte", ctx, what);
		return -EINVAL;
	}
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	return 0;
}

int cons__get_str(const msgpack_object *map, const char *ctx, const char *key, char *dst,
		  size_t cap, char err[CONS_ERRLEN])
{
	const msgpack_object *v = cons__map_get(map, key);
	char what[48];

	if (v == NULL) {
		cons__err(err, "%s: field \"%s\" is missing", ctx, key);
		return -EPROTO;
	}
	snprintf(what, sizeof(what), "field \"%s\"", key);
	return cons__obj_str(v, ctx, what, dst, cap, err);
}

int cons__ip_parse(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

void cons__ip_str(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

static int ip_obj(const msgpack_object *o, const char *ctx, const char *what, uint32_t *ip,
		  char err[CONS_ERRLEN])
{
	char s[16];
	int rc = cons__obj_str(o, ctx, what, s, sizeof(s), err);

	if (rc != 0)
		return rc;
	if (cons__ip_parse(s, ip) != 0) {
		cons__err(err, "%s: %s \"%s\" is not a dotted IPv4 address like 10.0.0.1", ctx,
			  what, s);
		return -EINVAL;
	}
	return 0;
}

int cons__get_ip(const msgpack_object *map, const char *ctx, const char *key, uint32_t *ip,
		 char err[CONS_ERRLEN])
{
	const msgpack_object *v = cons__map_get(map, key);
	char what[48];

	if (v == NULL) {
		cons__err(err, "%s: field \"%s\" is missing", ctx, key);
		return -EPROTO;
	}
	snprintf(what, sizeof(what), "field \"%s\"", key);
	return ip_obj(v, ctx, what, ip, err);
}

int cons__get_array(const msgpack_object *map, const char *ctx, const char *key, size_t max,
		    const msgpack_object_array **out, char err[CONS_ERRLEN])
{
	const msgpack_object *v = need(map, ctx, key, MSGPACK_OBJECT_ARRAY, err);

	if (v == NULL)
		return -EPROTO;
	if (v->via.array.size > max) {
		cons__err(err, "%s: field \"%s\" has %u entries, at most %zu allowed", ctx, key,
			  v->via.array.size, max);
		return -EINVAL;
	}
	*out = &v->via.array;
	return 0;
}

/* Reads an enum given as a string from a table of names (index = value). */
static int get_enum(const msgpack_object *map, const char *ctx, const char *key,
		    const char *const *names, int n, int *out, char err[CONS_ERRLEN])
{
	char s[CONS_NAME_MAX];
	int rc = cons__get_str(map, ctx, key, s, sizeof(s), err);

	if (rc != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	cons__err(err, "%s: field \"%s\" is \"%s\", not one of the known values", ctx, key, s);
	return -EINVAL;
}

/* ------------------------------------------------------------------------- */
/* Packing                                                                   */

int cons__pk_kv_ip(msgpack_packer *pk, const char *key, uint32_t ip)
{
	char s[16];

	cons__ip_str(ip, s);
	return rtv_pk_kv_str(pk, key, s);
}

/* ------------------------------------------------------------------------- */
/* Hosts and links                                                           */

const char *const cons_host_role_names[2] = { "voter", "standby" };
const char *const cons_role_names[CONS_ROLE_N] = { "unavailable", "follower", "candidate",
						   "leader" };

int cons_pack_host(void *pk_, const struct cons_host *h)
{
	msgpack_packer *pk = pk_;
	int rc = msgpack_pack_map(pk, h->uplink_latency_ns ? 10 : 9);

	rc |= rtv_pk_kv_u64(pk, "id", h->id);
	rc |= rtv_pk_kv_str(pk, "name", h->name);
	rc |= rtv_pk_kv_str(pk, "raft_addr", h->raft_addr);
	rc |= rtv_pk_kv_str(pk, "rpc_addr", h->rpc_addr);
	rc |= rtv_pk_kv_u64(pk, "uplink_bps", h->uplink_bps);
	rc |= rtv_pk_kv_u64(pk, "rt_budget_ppm", h->rt_budget_ppm);
	rc |= rtv_pk_kv_u64(pk, "max_frame_bytes", h->max_frame_bytes);
	rc |= rtv_pk_kv_str(pk, "uplink_to", h->uplink_to);
	rc |= rtv_pk_kv_str(pk, "role", cons_host_role_names[h->role == CONS_HOST_STANDBY]);
	if (h->uplink_latency_ns)	/* optional: absent in older logs */
		rc |= rtv_pk_kv_u64(pk, "uplink_latency_ns", h->uplink_latency_ns);
	return rtv_mp_status(rc);
}

int cons_unpack_host(const void *obj, struct cons_host *h, char err[CONS_ERRLEN])
{
	const msgpack_object *o = obj;
	const char *ctx = "host";
	uint64_t ppm = 0, frame = 0;
	int role = 0, rc;

	memset(h, 0, sizeof(*h));
	rc = cons__map_open(o, ctx, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "id", UINT64_MAX, &h->id, err);
	rc = rc ? rc : cons__get_str(o, ctx, "name", h->name, sizeof(h->name), err);
	rc = rc ? rc : cons__get_str(o, ctx, "raft_addr", h->raft_addr, sizeof(h->raft_addr), err);
	rc = rc ? rc : cons__get_str(o, ctx, "rpc_addr", h->rpc_addr, sizeof(h->rpc_addr), err);
	rc = rc ? rc : cons__get_u64(o, ctx, "uplink_bps", UINT64_MAX, &h->uplink_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "rt_budget_ppm", UINT32_MAX, &ppm, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "max_frame_bytes", UINT32_MAX, &frame, err);
	rc = rc ? rc : cons__get_str(o, ctx, "uplink_to", h->uplink_to, sizeof(h->uplink_to), err);
	rc = rc ? rc : get_enum(o, ctx, "role", cons_host_role_names, 2, &role, err);
	if (rc == 0 && cons__map_get(o, "uplink_latency_ns") != NULL)
		rc = cons__get_u64(o, ctx, "uplink_latency_ns", UINT64_MAX, &h->uplink_latency_ns, err);
	if (rc != 0)
		return rc;
	h->rt_budget_ppm = (uint32_t)ppm;
	h->max_frame_bytes = (uint32_t)frame;
	h->role = role == 1 ? CONS_HOST_STANDBY : CONS_HOST_VOTER;
	return cons__host_check(h, err);
}

int cons_pack_link(void *pk_, const struct cons_link *l)
{
	msgpack_packer *pk = pk_;
	int rc = msgpack_pack_map(pk, 8);

	rc |= rtv_pk_kv_str(pk, "a", l->a);
	rc |= rtv_pk_kv_str(pk, "b", l->b);
	rc |= rtv_pk_kv_u64(pk, "capacity_ab_bps", l->capacity_ab_bps);
	rc |= rtv_pk_kv_u64(pk, "capacity_ba_bps", l->capacity_ba_bps);
	rc |= rtv_pk_kv_u64(pk, "rt_budget_ppm", l->rt_budget_ppm);
	rc |= rtv_pk_kv_u64(pk, "hop_latency_ns", l->hop_latency_ns);
	rc |= rtv_pk_kv_u64(pk, "reserved_ab_bps", l->reserved_ab_bps);
	rc |= rtv_pk_kv_u64(pk, "reserved_ba_bps", l->reserved_ba_bps);
	return rtv_mp_status(rc);
}

/* The reserved_* sums are derived: read when present (RPC replies), never
 * required (commands and snapshots leave them to the state machine). */
static int get_reserved(const msgpack_object *o, const char *ctx, struct cons_link *l,
			char err[CONS_ERRLEN])
{
	int rc = 0;

	if (cons__map_get(o, "reserved_ab_bps") != NULL)
		rc = cons__get_u64(o, ctx, "reserved_ab_bps", UINT64_MAX, &l->reserved_ab_bps, err);
	if (rc == 0 && cons__map_get(o, "reserved_ba_bps") != NULL)
		rc = cons__get_u64(o, ctx, "reserved_ba_bps", UINT64_MAX, &l->reserved_ba_bps, err);
	return rc;
}

int cons_unpack_link(const void *obj, struct cons_link *l, char err[CONS_ERRLEN])
{
	const msgpack_object *o = obj;
	const char *ctx = "link";
	uint64_t ppm = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	rc = cons__map_open(o, ctx, err);
	rc = rc ? rc : cons__get_str(o, ctx, "a", l->a, sizeof(l->a), err);
	rc = rc ? rc : cons__get_str(o, ctx, "b", l->b, sizeof(l->b), err);
	rc = rc ? rc : cons__get_u64(o, ctx, "capacity_ab_bps", UINT64_MAX, &l->capacity_ab_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "capacity_ba_bps", UINT64_MAX, &l->capacity_ba_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "rt_budget_ppm", UINT32_MAX, &ppm, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "hop_latency_ns", UINT64_MAX, &l->hop_latency_ns, err);
	rc = rc ? rc : get_reserved(o, ctx, l, err);
	if (rc != 0)
		return rc;
	l->rt_budget_ppm = (uint32_t)ppm;
	return cons__link_check(l, err);
}

/* ------------------------------------------------------------------------- */
/* VMs                                                                       */

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Exactly "xx:xx:xx:xx:xx:xx", hex digits of either case. */
static int mac_parse(const char *s, uint8_t m[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = rtv_hexval(s[3 * i]), lo = rtv_hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int cons_pack_vm(void *pk_, const struct cons_vm *vm)
{
	msgpack_packer *pk = pk_;
	int rc = msgpack_pack_map(pk, vm->mtu ? 7 : 6);
	char mac[18], ip[16];

	rc |= rtv_pk_kv_str(pk, "uuid", vm->uuid);
	rc |= rtv_pk_kv_str(pk, "name", vm->name);
	rc |= rtv_pk_kv_u64(pk, "host_id", vm->host_id);
	rc |= rtv_pk_str(pk, "ips");
	rc |= msgpack_pack_array(pk, vm->n_ips);
	for (unsigned i = 0; i < vm->n_ips && i < CONS_VM_IPS_MAX; i++) {
		cons__ip_str(vm->ips[i], ip);
		rc |= rtv_pk_str(pk, ip);
	}
	rc |= rtv_pk_str(pk, "macs");
	rc |= msgpack_pack_array(pk, vm->n_macs);
	for (unsigned i = 0; i < vm->n_macs && i < CONS_VM_MACS_MAX; i++) {
		mac_str(vm->macs[i], mac);
		rc |= rtv_pk_str(pk, mac);
	}
	rc |= rtv_pk_kv_str(pk, "tenant", vm->tenant);
	if (vm->mtu)	/* optional: absent in older logs */
		rc |= rtv_pk_kv_u64(pk, "mtu", vm->mtu);
	return rtv_mp_status(rc);
}

static int vm_lists(const msgpack_object *o, const char *ctx, struct cons_vm *vm,
		    char err[CONS_ERRLEN])
{
	const msgpack_object_array *ips, *macs;
	char s[18];
	int rc;

	rc = cons__get_array(o, ctx, "ips", CONS_VM_IPS_MAX, &ips, err);
	rc = rc ? rc : cons__get_array(o, ctx, "macs", CONS_VM_MACS_MAX, &macs, err);
	for (uint32_t i = 0; rc == 0 && i < ips->size; i++)
		rc = ip_obj(&ips->ptr[i], ctx, "an entry of \"ips\"", &vm->ips[i], err);
	for (uint32_t i = 0; rc == 0 && i < macs->size; i++) {
		rc = cons__obj_str(&macs->ptr[i], ctx, "an entry of \"macs\"", s, sizeof(s), err);
		if (rc == 0 && mac_parse(s, vm->macs[i]) != 0) {
			cons__err(err, "%s: MAC \"%s\" is not of the form aa:bb:cc:dd:ee:ff", ctx, s);
			rc = -EINVAL;
		}
	}
	if (rc != 0)
		return rc;
	vm->n_ips = (uint8_t)ips->size;
	vm->n_macs = (uint8_t)macs->size;
	return 0;
}

int cons_unpack_vm(const void *obj, struct cons_vm *vm, char err[CONS_ERRLEN])
{
	const msgpack_object *o = obj;
	const char *ctx = "vm";
	int rc;

	memset(vm, 0, sizeof(*vm));
	rc = cons__map_open(o, ctx, err);
	rc = rc ? rc : cons__get_str(o, ctx, "uuid", vm->uuid, sizeof(vm->uuid), err);
	rc = rc ? rc : cons__get_str(o, ctx, "name", vm->name, sizeof(vm->name), err);
	rc = rc ? rc : cons__get_u64(o, ctx, "host_id", UINT64_MAX, &vm->host_id, err);
	rc = rc ? rc : vm_lists(o, ctx, vm, err);
	rc = rc ? rc : cons__get_str(o, ctx, "tenant", vm->tenant, sizeof(vm->tenant), err);
	if (rc == 0 && cons__map_get(o, "mtu") != NULL) {
		uint64_t mtu = 0;

		rc = cons__get_u64(o, ctx, "mtu", 65535, &mtu, err);
		vm->mtu = (uint32_t)mtu;
	}
	return rc ? rc : cons__vm_check(vm, err);
}

/* ------------------------------------------------------------------------- */
/* Path requests and rtpaths                                                 */

static const char *const type_names[] = { NULL, "deadline", "reservation" };

static int pack_req_fields(msgpack_packer *pk, const struct cons_path_req *r)
{
	int rc = 0;

	rc |= cons__pk_kv_ip(pk, "src_ip", r->src_ip);
	rc |= cons__pk_kv_ip(pk, "dst_ip", r->dst_ip);
	rc |= rtv_pk_kv_u64(pk, "proto", r->proto);
	rc |= rtv_pk_kv_u64(pk, "dport", r->dport);
	rc |= rtv_pk_kv_str(pk, "type", r->type == CONS_PATH_RESERVATION ? "reservation"
									 : "deadline");
	rc |= rtv_pk_kv_u64(pk, "rate_bps", r->rate_bps);
	rc |= rtv_pk_kv_u64(pk, "burst_bytes", r->burst_bytes);
	rc |= rtv_pk_kv_u64(pk, "deadline_ns", r->deadline_ns);
	rc |= rtv_pk_kv_u64(pk, "max_pkt_bytes", r->max_pkt_bytes);
	rc |= rtv_pk_str(pk, "policy");
	rc |= msgpack_pack_map(pk, 3);
	rc |= rtv_pk_kv_u64(pk, "misses", r->policy.misses);
	rc |= rtv_pk_kv_u64(pk, "after_ns", r->policy.after_ns);
	rc |= rtv_pk_kv_u64(pk, "max_level", r->policy.max_level);
	rc |= rtv_pk_kv_str(pk, "owner", r->owner);
	return rc;
}
#define REQ_FIELDS 11

int cons__pack_req(msgpack_packer *pk, const struct cons_path_req *r)
{
	return rtv_mp_status(msgpack_pack_map(pk, REQ_FIELDS) | pack_req_fields(pk, r));
}

static int unpack_policy(const msgpack_object *o, const char *ctx, struct cons_miss_policy *p,
			 char err[CONS_ERRLEN])
{
	const msgpack_object *m = cons__map_get(o, "policy");
	uint64_t misses = 0, level = 0;
	char sub[64];
	int rc;

	snprintf(sub, sizeof(sub), "%s.policy", ctx);
	if (m == NULL) {
		cons__err(err, "%s: field \"policy\" is missing", ctx);
		return -EPROTO;
	}
	rc = cons__map_open(m, sub, err);
	rc = rc ? rc : cons__get_u64(m, sub, "misses", UINT32_MAX, &misses, err);
	rc = rc ? rc : cons__get_u64(m, sub, "after_ns", UINT64_MAX, &p->after_ns, err);
	rc = rc ? rc : cons__get_u64(m, sub, "max_level", UINT8_MAX, &level, err);
	p->misses = (uint32_t)misses;
	p->max_level = (uint8_t)level;
	return rc;
}

/* Reads the request fields of map o (a request, or an rtpath record). */
static int unpack_req_fields(const msgpack_object *o, const char *ctx, struct cons_path_req *r,
			     char err[CONS_ERRLEN])
{
	uint64_t proto = 0, dport = 0, max_pkt = 0;
	int type = 0, rc;

	rc = cons__get_ip(o, ctx, "src_ip", &r->src_ip, err);
	rc = rc ? rc : cons__get_ip(o, ctx, "dst_ip", &r->dst_ip, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "proto", UINT8_MAX, &proto, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "dport", UINT16_MAX, &dport, err);
	rc = rc ? rc : get_enum(o, ctx, "type", type_names, 3, &type, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "rate_bps", UINT64_MAX, &r->rate_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "burst_bytes", UINT64_MAX, &r->burst_bytes, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "deadline_ns", UINT64_MAX, &r->deadline_ns, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "max_pkt_bytes", UINT32_MAX, &max_pkt, err);
	rc = rc ? rc : unpack_policy(o, ctx, &r->policy, err);
	rc = rc ? rc : cons__get_str(o, ctx, "owner", r->owner, sizeof(r->owner), err);
	r->proto = (uint8_t)proto;
	r->dport = (uint16_t)dport;
	r->type = (enum cons_path_type)type;
	r->max_pkt_bytes = (uint32_t)max_pkt;
	return rc;
}

int cons__unpack_req(const msgpack_object *o, const char *ctx, struct cons_path_req *r,
		     char err[CONS_ERRLEN])
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = cons__map_open(o, ctx, err);
	rc = rc ? rc : unpack_req_fields(o, ctx, r, err);
	return rc ? rc : cons__req_check(r, err);
}

int cons__pack_path_extra(msgpack_packer *pk, const struct cons_rtpath *p, size_t n_extra)
{
	int rc = msgpack_pack_map(pk, REQ_FIELDS + 11 + n_extra);

	rc |= rtv_pk_kv_u64(pk, "id", p->id);
	rc |= pack_req_fields(pk, &p->req);
	rc |= rtv_pk_kv_u64(pk, "src_host", p->src_host);
	rc |= rtv_pk_kv_u64(pk, "dst_host", p->dst_host);
	rc |= rtv_pk_kv_u64(pk, "tc", p->tc);
	rc |= rtv_pk_kv_u64(pk, "dscp", p->dscp);
	rc |= rtv_pk_kv_u64(pk, "service_rate_bps", p->service_rate_bps);
	rc |= rtv_pk_kv_u64(pk, "service_rate_base_bps", p->service_rate_base_bps);
	rc |= rtv_pk_kv_u64(pk, "sched_deadline_ns", p->sched_deadline_ns);
	rc |= rtv_pk_kv_u64(pk, "net_budget_ns", p->net_budget_ns);
	rc |= rtv_pk_kv_u64(pk, "level", p->level);
	rc |= rtv_pk_kv_u64(pk, "admitted_index", p->admitted_index);
	return rtv_mp_status(rc);
}

int cons_pack_path(void *pk, const struct cons_rtpath *p)
{
	return cons__pack_path_extra(pk, p, 0);
}

/* Static sanity of an admitted rtpath's derived fields (the state machine
 * re-derives link sums and re-runs the budget and EDF tests on restore). */
static int path_check(const struct cons_rtpath *p, char err[CONS_ERRLEN])
{
	int rc = cons__req_check(&p->req, err);

	if (rc != 0)
		return rc;
	if (p->id == 0 || p->src_host == 0 || p->dst_host == 0) {
		cons__err(err, "path: id, src_host and dst_host must be > 0");
		return -EINVAL;
	}
	if (p->tc > 7 || p->dscp > 63 || p->level > SCHED_ESCALATION_MAX) {
		cons__err(err, "path %llu: tc %u (0..7), dscp %u (0..63) or level %u (0..%d) "
			  "out of range", (unsigned long long)p->id, p->tc, p->dscp, p->level,
			  SCHED_ESCALATION_MAX);
		return -EINVAL;
	}
	if (p->service_rate_bps == 0 || p->service_rate_bps > CONS_RATE_MAX_BPS ||
	    p->service_rate_base_bps == 0 || p->service_rate_base_bps > p->service_rate_bps ||
	    p->sched_deadline_ns == 0 || p->sched_deadline_ns > p->req.deadline_ns ||
	    p->net_budget_ns >= p->req.deadline_ns) {
		cons__err(err, "path %llu: service rate, scheduler deadline or network budget "
			  "inconsistent with its request", (unsigned long long)p->id);
		return -EINVAL;
	}
	return 0;
}

int cons_unpack_path(const void *obj, struct cons_rtpath *p, char err[CONS_ERRLEN])
{
	const msgpack_object *o = obj;
	const char *ctx = "path";
	uint64_t tc = 0, dscp = 0, level = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = cons__map_open(o, ctx, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "id", UINT64_MAX, &p->id, err);
	rc = rc ? rc : unpack_req_fields(o, ctx, &p->req, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "src_host", UINT64_MAX, &p->src_host, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "dst_host", UINT64_MAX, &p->dst_host, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "tc", UINT8_MAX, &tc, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "dscp", UINT8_MAX, &dscp, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "service_rate_bps", UINT64_MAX, &p->service_rate_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "service_rate_base_bps", UINT64_MAX,
				     &p->service_rate_base_bps, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "sched_deadline_ns", UINT64_MAX,
				     &p->sched_deadline_ns, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "net_budget_ns", UINT64_MAX, &p->net_budget_ns, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "level", UINT8_MAX, &level, err);
	rc = rc ? rc : cons__get_u64(o, ctx, "admitted_index", UINT64_MAX, &p->admitted_index, err);
	if (rc != 0)
		return rc;
	p->tc = (uint8_t)tc;
	p->dscp = (uint8_t)dscp;
	p->level = (uint8_t)level;
	return path_check(p, err);
}
