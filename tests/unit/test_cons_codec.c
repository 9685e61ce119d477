/* test_cons_codec.c — the command codec (cmd.c) and the record codec
 * (codec.c) of consensus/.
 *
 * Round trips: every op and every record, encode → decode gives the same
 * struct and re-encoding gives the same bytes. Rejections: a table of
 * commands written as JSON (converted to msgpack here, so each case reads
 * like the dump an operator would see), each a valid path_reserve with one
 * field broken, and the error code and the word the message must contain.
 * Raw-byte cases cover what JSON cannot say: duplicate keys, trailing
 * bytes, every truncation of a valid command, hostile length headers, deep
 * nesting, embedded NULs, bin where str is expected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <msgpack.h>

#include "consensus/consensus.h"
#include "tests/unit/json_pack.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ------------------------------------------------------------------------- */
/* Sample commands                                                           */

static struct cons_cmd sample(enum cons_op op)
{
	struct cons_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.client_id = 0xfeedfacecafebeefull;
	c.seq = 42;
	switch (op) {
	case CONS_OP_HOST_ADD:
		c.u.host = (struct cons_host){ .id = 3, .uplink_bps = 100000000, .rt_budget_ppm = 500000,
					       .max_frame_bytes = 1514, .role = CONS_HOST_STANDBY };
		strcpy(c.u.host.name, "h3");
		strcpy(c.u.host.raft_addr, "127.0.0.1:17103");
		strcpy(c.u.host.rpc_addr, "tcp://127.0.0.1:17113");
		strcpy(c.u.host.uplink_to, "tor1");
		break;
	case CONS_OP_LINK_SET:
		c.u.link = (struct cons_link){ .capacity_ab_bps = 1000000000, .capacity_ba_bps = 400000000,
					       .rt_budget_ppm = 250000, .hop_latency_ns = 10000 };
		strcpy(c.u.link.a, "agg1");
		strcpy(c.u.link.b, "core");
		break;
	case CONS_OP_LINK_REMOVE:
		strcpy(c.u.link.a, "tor1");
		strcpy(c.u.link.b, "agg1");
		break;
	case CONS_OP_VM_SET:
		c.u.vm = (struct cons_vm){ .host_id = 3, .ips = { IP(10, 0, 0, 1), IP(192, 168, 7, 255) },
					   .n_ips = 2, .macs = { { 0x52, 0x54, 0, 0xab, 0xcd, 0xef } },
					   .n_macs = 1 };
		strcpy(c.u.vm.uuid, "6b1f0e52-8a0e-4f7e-9d55-2c1f7a1d0001");
		strcpy(c.u.vm.name, "web-1");
		strcpy(c.u.vm.tenant, "acme");
		c.u.vm.mtu = 1496;	/* optional field: round-trips when set */
		break;
	case CONS_OP_VM_REMOVE:
		strcpy(c.u.vm.uuid, "6b1f0e52-8a0e-4f7e-9d55-2c1f7a1d0001");
		break;
	case CONS_OP_PATH_RESERVE:
		c.u.path = (struct cons_path_req){
			.src_ip = IP(10, 0, 0, 1), .dst_ip = IP(10, 0, 0, 2), .proto = 17, .dport = 5000,
			.type = CONS_PATH_RESERVATION, .rate_bps = 2000000, .burst_bytes = 3000,
			.deadline_ns = 5000000, .max_pkt_bytes = 1500,
			.policy = { .misses = 3, .after_ns = 20000000000ull, .max_level = 2 } };
		strcpy(c.u.path.owner, "alice");
		break;
	case CONS_OP_PATH_ESCALATE:
		c.u.ref.level = 3;
		/* fall through */
	case CONS_OP_HOST_REMOVE:
	case CONS_OP_PATH_RELEASE:
		c.u.ref.id = 77;
		break;
	case CONS_OP_VM_MIGRATE:
		strcpy(c.u.mig.uuid, "6b1f0e52-8a0e-4f7e-9d55-2c1f7a1d0001");
		c.u.mig.phase = CONS_MIG_PREPARE;
		c.u.mig.to_host = 3;
		break;
	case CONS_OP_NOOP:
		break;
	}
	return c;
}

static void test_roundtrip_ops(void **state)
{
	(void)state;
	for (int op = CONS_OP_HOST_ADD; op <= CONS_OP_VM_MIGRATE; op++) {
		struct cons_cmd in = sample((enum cons_op)op), out;
		char err[CONS_ERRLEN] = "";
		void *buf = NULL, *buf2 = NULL;
		size_t len = 0, len2 = 0;

		assert_int_equal(cons_cmd_encode(&in, &buf, &len, err), 0);
		assert_int_equal(cons_cmd_decode(buf, len, &out, err), 0);
		if (memcmp(&in, &out, sizeof(in)) != 0)
			fail_msg("%s does not round-trip", cons_op_name(in.op));
		assert_int_equal(cons_cmd_encode(&out, &buf2, &len2, err), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, buf2, len);
		free(buf);
		free(buf2);
	}
}

static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(cons_op_name(CONS_OP_PATH_RESERVE), "path_reserve");
	assert_string_equal(cons_op_name(CONS_OP_NOOP), "noop");
	assert_string_equal(cons_op_name((enum cons_op)0), "unknown");
	assert_string_equal(cons_op_name((enum cons_op)99), "unknown");
}

/* encode refuses what decode would refuse */
static void test_encode_validates(void **state)
{
	struct cons_cmd c = sample(CONS_OP_PATH_RESERVE);
	char err[CONS_ERRLEN] = "";
	void *buf = NULL;
	size_t len = 0;

	(void)state;
	c.u.path.rate_bps = 0;
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), -EINVAL);
	assert_non_null(strstr(err, "rate_bps"));
	assert_null(buf);
	c = sample(CONS_OP_HOST_ADD);
	memset(c.u.host.name, 'x', sizeof(c.u.host.name));	/* no NUL */
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), -EINVAL);
	assert_non_null(strstr(err, "host.name"));
	c = sample(CONS_OP_NOOP);
	c.op = (enum cons_op)0;
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), -EINVAL);
}

/* ------------------------------------------------------------------------- */
/* Records                                                                   */

typedef int (*pack_fn)(void *pk, const void *rec);
typedef int (*unpack_fn)(const void *obj, void *rec, char err[CONS_ERRLEN]);

static void record_roundtrip(pack_fn pack, unpack_fn unpack, const void *rec, size_t size)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object obj;
	size_t off = 0;
	char err[CONS_ERRLEN] = "";
	void *out = malloc(size);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(pack(&pk, rec), 0);
	msgpack_zone_init(&zone, 1024);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &zone, &obj), MSGPACK_UNPACK_SUCCESS);
	if (unpack(&obj, out, err) != 0)
		fail_msg("unpack: %s", err);
	assert_memory_equal(rec, out, size);
	/* not a map */
	obj.type = MSGPACK_OBJECT_ARRAY;
	obj.via.array.size = 0;
	assert_int_equal(unpack(&obj, out, err), -EPROTO);
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);
	free(out);
}

static void test_roundtrip_records(void **state)
{
	struct cons_cmd h = sample(CONS_OP_HOST_ADD), l = sample(CONS_OP_LINK_SET);
	struct cons_cmd v = sample(CONS_OP_VM_SET), r = sample(CONS_OP_PATH_RESERVE);
	struct cons_rtpath p;

	(void)state;
	l.u.link.reserved_ab_bps = 123456;	/* carried for rtvctl links */
	l.u.link.reserved_ba_bps = 7;
	memset(&p, 0, sizeof(p));
	p.id = 9;
	p.req = r.u.path;
	p.src_host = 1;
	p.dst_host = 2;
	p.tc = 5;
	p.dscp = 34;
	p.service_rate_bps = 4500000;
	p.service_rate_base_bps = 3000000;
	p.sched_deadline_ns = 4780000;
	p.net_budget_ns = 220000;
	p.level = 1;
	p.admitted_index = 1234;
	record_roundtrip((pack_fn)cons_pack_host, (unpack_fn)cons_unpack_host, &h.u.host,
			 sizeof(h.u.host));
	record_roundtrip((pack_fn)cons_pack_link, (unpack_fn)cons_unpack_link, &l.u.link,
			 sizeof(l.u.link));
	record_roundtrip((pack_fn)cons_pack_vm, (unpack_fn)cons_unpack_vm, &v.u.vm, sizeof(v.u.vm));
	record_roundtrip((pack_fn)cons_pack_path, (unpack_fn)cons_unpack_path, &p, sizeof(p));
}

/* ------------------------------------------------------------------------- */
/* JSON → msgpack, for readable rejection cases                              */

/* RFC 7386 merge patch: objects merge, null deletes, anything else replaces. */
static void merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *v;

	json_object_foreach(patch, key, v) {
		json_t *t = json_object_get(target, key);

		if (json_is_null(v))
			json_object_del(target, key);
		else if (json_is_object(v) && json_is_object(t))
			merge_patch(t, v);
		else
			json_object_set(target, key, v);
	}
}

static const char *const base_reserve =
	"{\"v\":1,\"op\":\"path_reserve\",\"cid\":5,\"seq\":1,\"path\":{"
	"\"src_ip\":\"10.0.0.1\",\"dst_ip\":\"10.0.0.2\",\"proto\":17,\"dport\":5000,"
	"\"type\":\"deadline\",\"rate_bps\":2000000,\"burst_bytes\":3000,\"deadline_ns\":5000000,"
	"\"max_pkt_bytes\":1500,\"policy\":{\"misses\":3,\"after_ns\":0,\"max_level\":2},"
	"\"owner\":\"bob\"}}";

/* The base command with `patch` merged in, as msgpack in *sb. */
static void build(const char *base, const char *patch, msgpack_sbuffer *sb)
{
	json_error_t je;
	json_t *b = json_loads(base, JSON_ALLOW_NUL, &je), *p;
	msgpack_packer pk;

	assert_non_null(b);
	if (patch != NULL) {
		p = json_loads(patch, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
		if (p == NULL)
			fail_msg("bad test JSON %s: %s", patch, je.text);
		if (json_is_object(p) && json_is_object(b)) {
			merge_patch(b, p);
		} else {
			json_decref(b);
			b = json_incref(p);
		}
		json_decref(p);
	}
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	test_pack_json(&pk, b);
	json_decref(b);
}

struct reject {
	const char *patch;
	int rc;
	const char *word;	/* the message must name it */
};

static const struct reject rejects[] = {
	{ NULL, 0, NULL },	/* the base is valid */
	{ "[1,2]", -EPROTO, "map" },
	{ "\"path_reserve\"", -EPROTO, "map" },
	{ "{\"v\":null}", -EPROTO, "\"v\"" },
	{ "{\"v\":2}", -EPROTO, "version 2" },
	{ "{\"v\":\"1\"}", -EPROTO, "\"v\"" },
	{ "{\"op\":\"path_reserv\"}", -EPROTO, "path_reserv" },
	{ "{\"op\":7}", -EPROTO, "\"op\"" },
	{ "{\"cid\":-1}", -EPROTO, "\"cid\"" },
	{ "{\"seq\":1.5}", -EPROTO, "\"seq\"" },
	{ "{\"seq\":null}", -EPROTO, "missing" },
	{ "{\"path\":null}", -EPROTO, "\"path\"" },
	{ "{\"path\":[]}", -EPROTO, "map" },
	{ "{\"path\":{\"rate_bps\":null}}", -EPROTO, "rate_bps" },
	{ "{\"path\":{\"rate_bps\":\"2M\"}}", -EPROTO, "rate_bps" },
	{ "{\"path\":{\"rate_bps\":0}}", -EINVAL, "rate_bps" },
	{ "{\"path\":{\"rate_bps\":1000000000001}}", -EINVAL, "rate_bps" },
	{ "{\"path\":{\"deadline_ns\":0}}", -EINVAL, "deadline_ns" },
	{ "{\"path\":{\"deadline_ns\":600000000}}", -EINVAL, "deadline_ns" },
	{ "{\"path\":{\"burst_bytes\":1000}}", -EINVAL, "burst_bytes" },
	{ "{\"path\":{\"max_pkt_bytes\":70000}}", -EINVAL, "max_pkt_bytes" },
	{ "{\"path\":{\"proto\":5}}", -EINVAL, "proto" },
	{ "{\"path\":{\"proto\":256}}", -EINVAL, "proto" },
	{ "{\"path\":{\"proto\":0}}", -EINVAL, "dport" },
	{ "{\"path\":{\"dport\":65536}}", -EINVAL, "dport" },
	{ "{\"path\":{\"type\":\"besteffort\"}}", -EINVAL, "type" },
	{ "{\"path\":{\"src_ip\":\"10.0.0.300\"}}", -EINVAL, "src_ip" },
	{ "{\"path\":{\"src_ip\":\"10.0.0\"}}", -EINVAL, "src_ip" },
	{ "{\"path\":{\"src_ip\":167772161}}", -EPROTO, "src_ip" },
	{ "{\"path\":{\"dst_ip\":\"10.0.0.1\"}}", -EINVAL, "same address" },
	{ "{\"path\":{\"dst_ip\":\"0.0.0.0\"}}", -EINVAL, "dst_ip" },
	{ "{\"path\":{\"policy\":{\"max_level\":5}}}", -EINVAL, "max_level" },
	{ "{\"path\":{\"policy\":{\"misses\":-3}}}", -EPROTO, "misses" },
	{ "{\"path\":{\"policy\":7}}", -EPROTO, "policy" },
	{ "{\"path\":{\"owner\":\"0123456789012345678901234567890123456789012345678901234567890123\"}}",
	  -EINVAL, "64 bytes" },
	{ "{\"path\":{\"owner\":\"a\\u0000b\"}}", -EINVAL, "NUL" },
	{ "{\"path\":{\"owner\":\"tab\\there\"}}", -EINVAL, "control" },
	{ "{\"path\":{\"extra\":1},\"future\":\"ok\"}", 0, NULL },	/* unknown keys ignored */
	/* other ops */
	{ "{\"op\":\"path_escalate\",\"id\":3,\"level\":5}", -EINVAL, "level" },
	{ "{\"op\":\"path_escalate\",\"id\":3}", -EPROTO, "level" },
	{ "{\"op\":\"path_release\",\"id\":0}", -EINVAL, "id" },
	{ "{\"op\":\"path_release\",\"id\":3}", 0, NULL },
	{ "{\"op\":\"noop\"}", 0, NULL },
	{ "{\"op\":\"link_remove\",\"a\":\"tor\",\"b\":\"tor\"}", -EINVAL, "same node" },
	{ "{\"op\":\"link_remove\",\"a\":\"tor\"}", -EPROTO, "\"b\"" },
	{ "{\"op\":\"vm_remove\",\"uuid\":\"\"}", -EINVAL, "uuid" },
	{ "{\"op\":\"host_add\",\"host\":{\"id\":1,\"name\":\"h1\",\"raft_addr\":\"\","
	  "\"rpc_addr\":\"\",\"uplink_bps\":100000000,\"rt_budget_ppm\":1000001,"
	  "\"max_frame_bytes\":1500,\"uplink_to\":\"\",\"role\":\"voter\"}}", -EINVAL, "rt_budget_ppm" },
	{ "{\"op\":\"host_add\",\"host\":{\"id\":1,\"name\":\"h1\",\"raft_addr\":\"\","
	  "\"rpc_addr\":\"\",\"uplink_bps\":100000000,\"rt_budget_ppm\":100,"
	  "\"max_frame_bytes\":1500,\"uplink_to\":\"\",\"role\":\"leader\"}}", -EINVAL, "role" },
	{ "{\"op\":\"host_add\",\"host\":{\"id\":0,\"name\":\"h1\",\"raft_addr\":\"\","
	  "\"rpc_addr\":\"\",\"uplink_bps\":100000000,\"rt_budget_ppm\":100,"
	  "\"max_frame_bytes\":1500,\"uplink_to\":\"\",\"role\":\"voter\"}}", -EINVAL, "host.id" },
	{ "{\"op\":\"host_add\",\"host\":{\"id\":1,\"name\":\"h1\",\"raft_addr\":\"\","
	  "\"rpc_addr\":\"\",\"uplink_bps\":100000000,\"rt_budget_ppm\":100,"
	  "\"max_frame_bytes\":1500,\"uplink_to\":\"h1\",\"role\":\"voter\"}}", -EINVAL, "uplink_to" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[\"10.0.0.1\",\"10.0.0.1\"],\"macs\":[],\"tenant\":\"\"}}", -EINVAL, "twice" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\",\"10.0.0.4\",\"10.0.0.5\"],\"macs\":[],"
	  "\"tenant\":\"\"}}", -EINVAL, "ips" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[\"52:54:00:ab:cd\"],\"tenant\":\"\"}}", -EINVAL, "MAC" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[\"52:54:00:ab:cd:zz\"],\"tenant\":\"\"}}", -EINVAL, "MAC" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[\"52:54:00:AB:cd:ef\"],\"tenant\":\"\"}}", 0, NULL },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[],\"tenant\":\"\",\"mtu\":1496}}", 0, NULL },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[],\"tenant\":\"\",\"mtu\":67}}", -EINVAL, "vm.mtu" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[],\"tenant\":\"\",\"mtu\":65536}}", -EINVAL, "mtu" },
	{ "{\"op\":\"vm_set\",\"vm\":{\"uuid\":\"u\",\"name\":\"\",\"host_id\":1,"
	  "\"ips\":[],\"macs\":[],\"tenant\":\"\",\"mtu\":\"big\"}}", -EPROTO, "mtu" },
	{ "{\"op\":\"link_set\",\"link\":{\"a\":\"x\",\"b\":\"y\",\"capacity_ab_bps\":0,"
	  "\"capacity_ba_bps\":1000000,\"rt_budget_ppm\":1,\"hop_latency_ns\":0}}", -EINVAL,
	  "capacity_ab_bps" },
	{ "{\"op\":\"link_set\",\"link\":{\"a\":\"x\",\"b\":\"y\",\"capacity_ab_bps\":1000000,"
	  "\"capacity_ba_bps\":1000000,\"rt_budget_ppm\":1,\"hop_latency_ns\":20000000}}", -EINVAL,
	  "hop_latency_ns" },
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rejects); i++) {
		const struct reject *c = &rejects[i];
		char err[CONS_ERRLEN] = "";
		struct cons_cmd cmd;
		msgpack_sbuffer sb;
		int rc;

		build(base_reserve, c->patch, &sb);
		rc = cons_cmd_decode(sb.data, sb.size, &cmd, err);
		msgpack_sbuffer_destroy(&sb);
		if (rc != c->rc || (c->word != NULL && strstr(err, c->word) == NULL))
			fail_msg("case %zu %s: rc %d (want %d), err \"%s\" (want \"%s\")", i,
				 c->patch ? c->patch : "(base)", rc, c->rc, err,
				 c->word ? c->word : "");
		if (rc != 0) {
			struct cons_cmd zero;

			memset(&zero, 0, sizeof(zero));
			assert_memory_equal(&cmd, &zero, sizeof(cmd));	/* nothing half-decoded */
		}
	}
}

/* ------------------------------------------------------------------------- */
/* Raw bytes                                                                 */

static int decode_bytes(const void *b, size_t n, char err[CONS_ERRLEN])
{
	struct cons_cmd cmd;

	return cons_cmd_decode(b, n, &cmd, err);
}

static void test_truncations(void **state)
{
	(void)state;
	for (int op = CONS_OP_HOST_ADD; op <= CONS_OP_VM_MIGRATE; op++) {
		struct cons_cmd c = sample((enum cons_op)op);
		char err[CONS_ERRLEN];
		void *buf;
		size_t len;

		assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), 0);
		for (size_t n = 0; n < len; n++) {
			void *copy = malloc(n + 1);	/* exact size: ASan sees over-reads */

			memcpy(copy, buf, n);
			assert_int_equal(decode_bytes(n ? copy : NULL, n, err), -EPROTO);
			free(copy);
		}
		free(buf);
	}
}

static void test_raw_rejects(void **state)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
		const char *word;
	} cases[] = {
		{ "array32 of 2^32-1", "\xdd\xff\xff\xff\xff", 5, "more objects" },
		{ "map32 of 2^32-1", "\xdf\xff\xff\xff\xff", 5, "more objects" },
		{ "str32 of 4 GiB", "\xdb\xff\xff\xff\xff" "abc", 8, "truncated" },
		{ "bin16 truncated", "\xc5\x01", 2, "truncated" },
		{ "never-used tag", "\xc1", 1, "malformed" },
		{ "trailing bytes", "\x80\x00", 2, "trailing" },
		{ "empty", "", 0, "empty" },
		{ "nil", "\xc0", 1, "map" },
		{ "duplicate key", "\x82\xa1v\x01\xa1v\x01", 7, "twice" },
		{ "int key", "\x81\x01\x01", 3, "key" },
		/* {"v":1,"op":bin "noop",...}: bin is not str */
		{ "bin op", "\x84\xa1v\x01\xa2op\xc4\x04noop\xa3" "cid\x00\xa3seq\x00", 23, "\"op\"" },
		{ "ext value", "\x81\xa1v\xd4\x01\x01", 6, "\"v\"" },
	};
	char err[CONS_ERRLEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		void *copy = malloc(cases[i].len + 1);
		int rc;

		memcpy(copy, cases[i].bytes, cases[i].len);
		err[0] = '\0';
		rc = decode_bytes(cases[i].len ? copy : NULL, cases[i].len, err);
		free(copy);
		if (rc != -EPROTO || strstr(err, cases[i].word) == NULL)
			fail_msg("%s: rc %d, err \"%s\" (want \"%s\")", cases[i].name, rc, err,
				 cases[i].word);
	}
}

/* 10,000 nested arrays: msgpack-c's parser stack stops it, we do not crash. */
static void test_deep_nesting(void **state)
{
	size_t n = 10000;
	char *b = malloc(n + 1), err[CONS_ERRLEN];

	(void)state;
	memset(b, 0x91, n);	/* fixarray of 1, nested */
	b[n] = (char)0xc0;
	assert_int_equal(decode_bytes(b, n + 1, err), -EPROTO);
	free(b);
}

/* A known command as bytes: the wire format is a contract with other
 * versions, so pin one encoding down byte for byte. */
static void test_golden_noop(void **state)
{
	static const unsigned char want[] = {
		0x84, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'n', 'o', 'o', 'p',
		0xa3, 'c', 'i', 'd', 0x07, 0xa3, 's', 'e', 'q', 0xcc, 200,
	};
	struct cons_cmd c;
	char err[CONS_ERRLEN];
	void *buf;
	size_t len;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.op = CONS_OP_NOOP;
	c.client_id = 7;
	c.seq = 200;
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, len);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_ops),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_encode_validates),
		cmocka_unit_test(test_roundtrip_records),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_raw_rejects),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_golden_noop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
