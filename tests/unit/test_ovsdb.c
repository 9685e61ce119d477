/* test_ovsdb.c — the pure parts of the OVSDB client, fed bytes and JSON:
 *
 *   framing    a stream of messages split at every byte position, one
 *              byte at a time, garbage, nesting and size limits;
 *   JSON-RPC   request / notification / reply / error shapes, and every
 *              wrong type refused with a message;
 *   datums     RFC 7047 §5.1 atoms, sets, maps, with wrong types;
 *   replica    initial state + updates → the port view → the differences
 *              reported (and none when a resync brings the same state);
 *   ensure     the write planned from a read: nothing when all is in place,
 *              only the differing columns otherwise, the errors named.
 *
 * JSON literals are written with single quotes (J() swaps them).
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

#include "common/log.h"
#include "ofgw/ovsdb_internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define U(x) "00000000-0000-0000-0000-0000000000" x

/* Parses a JSON literal written with ' for ". */
static json_t *J(const char *s)
{
	char *d = strdup(s);
	json_error_t je;
	json_t *j;

	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(d, JSON_DECODE_ANY, &je);
	if (j == NULL)
		fail_msg("bad test JSON at %d: %s: %s", je.position, je.text, d);
	free(d);
	return j;
}

/* ------------------------------------------------------------------------- */
/* Framing                                                                   */

static const char stream[] =
	"{\"id\":null,\"method\":\"update\",\"params\":[\"rtvd\",{\"a\":\"}]{[\"}]}\n"
	"  {\"id\":1,\"result\":\"quote \\\" and \\\\\\\\ and \\\\\\\" {\",\"error\":null}"
	"{\"x\":[[[{}]],{\"y\":\"\\u007b\"}]}\r\n\t";
static const char *const stream_msgs[] = {
	"{\"id\":null,\"method\":\"update\",\"params\":[\"rtvd\",{\"a\":\"}]{[\"}]}",
	"{\"id\":1,\"result\":\"quote \\\" and \\\\\\\\ and \\\\\\\" {\",\"error\":null}",
	"{\"x\":[[[{}]],{\"y\":\"\\u007b\"}]}",
};

/* Feeds data in pieces ending at cuts[], collecting the messages. */
static void frame_pieces(const char *data, size_t len, const size_t *cuts, size_t n_cuts,
			 char out[][128], size_t *n_out)
{
	struct ofgw_jrpc_framer f;
	size_t from = 0;
	const char *msg;
	size_t mlen;
	int rc;

	ofgw_jrpc_framer_init(&f, 4096);
	*n_out = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;

		assert_int_equal(ofgw_jrpc_framer_feed(&f, data + from, to - from), 0);
		from = to;
		while ((rc = ofgw_jrpc_framer_next(&f, &msg, &mlen)) == 1) {
			assert_true(*n_out < 8 && mlen < 128);
			memcpy(out[*n_out], msg, mlen);
			out[(*n_out)++][mlen] = '\0';
		}
		assert_int_equal(rc, 0);
	}
	ofgw_jrpc_framer_close(&f);
}

static void check_stream_msgs(char got[][128], size_t n)
{
	assert_int_equal(n, N(stream_msgs));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], stream_msgs[i]);
}

static void test_frame_every_split(void **state)
{
	size_t len = strlen(stream), n;
	char got[8][128];

	(void)state;
	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b++) {
			size_t cuts[2] = { a, b };

			frame_pieces(stream, len, cuts, 2, got, &n);
			check_stream_msgs(got, n);
		}
	}
}

static void test_frame_byte_at_a_time(void **state)
{
	size_t len = strlen(stream), n, cuts[sizeof(stream)];
	char got[8][128];

	(void)state;
	for (size_t i = 0; i < len; i++)
		cuts[i] = i;
	frame_pieces(stream, len, cuts, len, got, &n);
	check_stream_msgs(got, n);
}

static int frame_all(const char *data, size_t max, size_t *n_msgs)
{
	struct ofgw_jrpc_framer f;
	const char *msg;
	size_t mlen;
	int rc;

	*n_msgs = 0;
	ofgw_jrpc_framer_init(&f, max);
	assert_int_equal(ofgw_jrpc_framer_feed(&f, data, strlen(data)), 0);
	while ((rc = ofgw_jrpc_framer_next(&f, &msg, &mlen)) == 1)
		(*n_msgs)++;
	if (rc < 0)	/* a failed framer stays failed */
		assert_int_equal(ofgw_jrpc_framer_next(&f, &msg, &mlen), rc);
	ofgw_jrpc_framer_close(&f);
	return rc;
}

static void test_frame_bad(void **state)
{
	static const struct {
		const char *in;
		int rc;
		size_t msgs;
	} cases[] = {
		{ "x", -EPROTO, 0 },
		{ "{}]", -EPROTO, 1 },
		{ "{} [1]", -EPROTO, 1 },	/* JSON-RPC messages are objects */
		{ "\"s\"", -EPROTO, 0 },
		{ "{\"a\":1}\0{}", 0, 1 },	/* strlen stops at the NUL */
		{ "{\"unterminated", 0, 0 },
		{ "{}{}{", 0, 2 },
		{ "  \r\n", 0, 0 },
	};
	size_t n;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int rc = frame_all(cases[i].in, 1024, &n);

		if (rc != cases[i].rc || n != cases[i].msgs)
			fail_msg("'%s': rc %d n %zu, want %d %zu", cases[i].in, rc, n, cases[i].rc,
				 cases[i].msgs);
	}
}

static void test_frame_depth_and_size(void **state)
{
	char deep[2 * OFGW_JRPC_DEPTH_MAX + 8], *p = deep;
	size_t n;

	(void)state;
	for (int i = 0; i < OFGW_JRPC_DEPTH_MAX; i++)
		*p++ = '{';
	for (int i = 0; i < OFGW_JRPC_DEPTH_MAX; i++)
		*p++ = '}';
	*p = '\0';
	assert_int_equal(frame_all(deep, 4096, &n), 0);
	assert_int_equal(n, 1);
	memmove(deep + 1, deep, strlen(deep) + 1);	/* one level more than allowed */
	deep[0] = '{';
	strcat(deep, "}");
	assert_int_equal(frame_all(deep, 4096, &n), -EPROTO);

	/* exactly max bytes pass; one more does not, and nothing before it is lost */
	assert_int_equal(frame_all("{\"k\":\"0123456789\"}", 18, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(frame_all("{}{\"k\":\"0123456789\"}", 17, &n), -EMSGSIZE);
	assert_int_equal(n, 1);
	/* an endless message fails as soon as it passes the limit, not at its end */
	assert_int_equal(frame_all("{\"k\":\"0123456789", 8, &n), -EMSGSIZE);
}

static void test_frame_reset(void **state)
{
	struct ofgw_jrpc_framer f;
	const char *msg;
	size_t len;

	(void)state;
	ofgw_jrpc_framer_init(&f, 64);
	assert_int_equal(ofgw_jrpc_framer_feed(&f, "}{", 2), 0);
	assert_int_equal(ofgw_jrpc_framer_next(&f, &msg, &len), -EPROTO);
	ofgw_jrpc_framer_reset(&f);
	assert_int_equal(ofgw_jrpc_framer_feed(&f, "{\"a\":[]}", 8), 0);
	assert_int_equal(ofgw_jrpc_framer_next(&f, &msg, &len), 1);
	assert_int_equal(len, 8);
	assert_memory_equal(msg, "{\"a\":[]}", 8);
	ofgw_jrpc_framer_close(&f);
}

/* ------------------------------------------------------------------------- */
/* JSON-RPC                                                                  */

static int parse(const char *lit, struct ofgw_jrpc_msg *m, json_t **root, char *err)
{
	char *d = strdup(lit);
	int rc;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	rc = ofgw_jrpc_parse(d, strlen(d), root, m, err);
	free(d);
	return rc;
}

static void test_jrpc_kinds(void **state)
{
	struct ofgw_jrpc_msg m;
	char err[OFGW_OVSDB_ERRLEN];
	json_t *root;

	(void)state;
	assert_int_equal(parse("{'method':'echo','params':[],'id':'echo'}", &m, &root, err), 0);
	assert_int_equal(m.kind, OFGW_JRPC_REQUEST);
	assert_string_equal(m.method, "echo");
	json_decref(root);
	assert_int_equal(parse("{'method':'update','params':[1],'id':null}", &m, &root, err), 0);
	assert_int_equal(m.kind, OFGW_JRPC_NOTIFY);
	json_decref(root);
	assert_int_equal(parse("{'result':{},'error':null,'id':7}", &m, &root, err), 0);
	assert_int_equal(m.kind, OFGW_JRPC_REPLY);
	assert_int_equal(json_integer_value(m.id), 7);
	json_decref(root);
	assert_int_equal(parse("{'result':null,'error':{'error':'unknown database'},'id':7}", &m,
			       &root, err), 0);
	assert_int_equal(m.kind, OFGW_JRPC_ERROR);
	json_decref(root);
}

static void test_jrpc_bad(void **state)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{ "{'id':1,", "malformed JSON" },
		{ "{'id':1} x", "malformed JSON" },
		{ "[1]", "not an object" },
		{ "{'method':'echo','params':[]}", "no \"id\"" },
		{ "{'method':3,'params':[],'id':1}", "\"method\" is not a string" },
		{ "{'method':'echo','params':{},'id':1}", "\"params\" is not an array" },
		{ "{'method':'echo','id':1}", "\"params\" is not an array" },
		{ "{'id':1,'error':null}", "neither" },
		{ "{'id':1,'id':2,'result':1}", "duplicate" },
		{ "{'id':1,'result':'\\u0000'}", "malformed JSON" },
		{ "{'id':1,'result':'\xff'}", "malformed JSON" },
	};
	struct ofgw_jrpc_msg m;
	char err[OFGW_OVSDB_ERRLEN];
	json_t *root = (json_t *)1;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		err[0] = '\0';
		if (parse(cases[i].in, &m, &root, err) != -EPROTO || root != NULL ||
		    strstr(err, cases[i].msg) == NULL)
			fail_msg("'%s': err '%s', want '%s'", cases[i].in, err, cases[i].msg);
	}
}

static void test_jrpc_build_and_error_text(void **state)
{
	json_t *id = json_string("e1"), *r;
	char out[64], *s;
	size_t len;

	(void)state;
	r = ofgw_jrpc_reply(J("['x']"), id);
	s = ofgw_jrpc_dump(r, &len);
	assert_string_equal(s, "{\"result\":[\"x\"],\"error\":null,\"id\":\"e1\"}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(r);
	json_decref(id);
	r = ofgw_jrpc_request("monitor", J("[1]"), 42);
	s = ofgw_jrpc_dump(r, &len);
	assert_string_equal(s, "{\"method\":\"monitor\",\"params\":[1],\"id\":42}");
	free(s);
	json_decref(r);

	r = J("{'error':'constraint violation','details':'dup\\nname'}");
	ofgw_jrpc_error_text(r, out, sizeof(out));
	assert_string_equal(out, "constraint violation: dup?name");
	json_decref(r);
	r = J("'unknown method'");
	ofgw_jrpc_error_text(r, out, sizeof(out));
	assert_string_equal(out, "unknown method");
	json_decref(r);
	r = J("[1,2]");
	ofgw_jrpc_error_text(r, out, sizeof(out));
	assert_string_equal(out, "[1,2]");
	json_decref(r);
}

/* ------------------------------------------------------------------------- */
/* Datums                                                                    */

static void test_datum_atoms_and_sets(void **state)
{
	struct ofgw_odb_set s;
	json_t *j;

	(void)state;
	assert_true(ofgw_odb_is_uuid_str(U("0a")));
	assert_true(ofgw_odb_is_uuid_str("8F0A39D0-1D4B-4B71-9B5A-0E5D3C3C3C3C"));
	assert_false(ofgw_odb_is_uuid_str(U("0a") "0"));
	assert_false(ofgw_odb_is_uuid_str("00000000-0000-0000-0000x000000000000"));
	assert_false(ofgw_odb_is_uuid_str("g0000000-0000-0000-0000-000000000000"));
	assert_false(ofgw_odb_is_uuid_str(""));

	j = J("['set',[['uuid','" U("01") "'],['uuid','" U("02") "']]]");
	assert_int_equal(ofgw_odb_uuid_set(j, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(ofgw_odb_uuid_set_has(&s, U("02")));
	assert_false(ofgw_odb_uuid_set_has(&s, U("03")));
	assert_null(ofgw_odb_set_at(&s, 2));
	json_decref(j);
	j = J("['uuid','" U("01") "']");	/* a set of one is the bare atom */
	assert_int_equal(ofgw_odb_uuid_set(j, &s), 0);
	assert_int_equal(s.n, 1);
	json_decref(j);

	static const char *const bad_uuid_sets[] = {
		"['set',[['uuid','nope']]]", "['set',['x']]", "['set',{}]", "['set']",
		"['map',[]]", "{}", "null", "['uuid']", "['uuid',1]", "['set',[[1,2]]]",
	};
	for (size_t i = 0; i < N(bad_uuid_sets); i++) {
		j = J(bad_uuid_sets[i]);
		if (ofgw_odb_uuid_set(j, &s) != -EINVAL)
			fail_msg("accepted %s", bad_uuid_sets[i]);
		json_decref(j);
	}
}

static void test_datum_typed(void **state)
{
	char out[8];
	int64_t v = 0;
	bool present = true, is = false;
	const char *val = NULL;
	json_t *j;

	(void)state;
	j = J("['set',[]]");
	assert_int_equal(ofgw_odb_opt_integer(j, &v, &present), 0);
	assert_false(present);
	assert_int_equal(ofgw_odb_opt_string(j, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ofgw_odb_string_set_is(j, "OpenFlow13", &is), 0);
	assert_false(is);
	json_decref(j);
	j = J("5");
	assert_int_equal(ofgw_odb_opt_integer(j, &v, &present), 0);
	assert_true(present);
	assert_int_equal(v, 5);
	assert_int_equal(ofgw_odb_string(j, out, sizeof(out)), -EINVAL);
	json_decref(j);
	j = J("['set',[1,2]]");
	assert_int_equal(ofgw_odb_opt_integer(j, &v, &present), -EINVAL);
	json_decref(j);
	j = J("'5'");
	assert_int_equal(ofgw_odb_opt_integer(j, &v, &present), -EINVAL);
	assert_int_equal(ofgw_odb_string_set_is(j, "5", &is), 0);
	assert_true(is);
	json_decref(j);
	j = J("'12345678'");
	assert_int_equal(ofgw_odb_string(j, out, sizeof(out)), -ENAMETOOLONG);
	json_decref(j);
	j = J("['set',['OpenFlow13','OpenFlow10']]");
	assert_int_equal(ofgw_odb_string_set_is(j, "OpenFlow13", &is), 0);
	assert_false(is);
	json_decref(j);
	j = J("['set',['OpenFlow13',1]]");
	assert_int_equal(ofgw_odb_string_set_is(j, "OpenFlow13", &is), -EINVAL);
	json_decref(j);

	j = J("['map',[['vm-id','a'],['attached-mac','02:00:00:00:00:01']]]");
	assert_int_equal(ofgw_odb_map_get(j, "attached-mac", &val), 0);
	assert_string_equal(val, "02:00:00:00:00:01");
	assert_int_equal(ofgw_odb_map_get(j, "iface-id", &val), -ENOENT);
	json_decref(j);
	static const char *const bad_maps[] = {
		"['map',[['k',1]]]", "['map',[['k']]]", "['map',[['vm-id','a'],3]]",
		"['map',{}]", "['set',[]]", "'k'", "['map',[[1,'v']]]",
	};
	for (size_t i = 0; i < N(bad_maps); i++) {
		j = J(bad_maps[i]);
		if (ofgw_odb_map_get(j, "vm-id", &val) != -EINVAL)
			fail_msg("accepted map %s", bad_maps[i]);
		json_decref(j);
	}
}

static void test_mac_parse(void **state)
{
	static const char *const bad[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:0", "02:00:00:00:00:001",
		"02-00-00-00-00-01", "0g:00:00:00:00:01", "02:00:00:00:00:01:",
		":02:00:00:00:00:0",
	};
	uint8_t mac[6] = { 9, 9, 9, 9, 9, 9 }, want[6] = { 0x02, 0, 0, 0, 0xab, 0x0C };

	(void)state;
	assert_int_equal(ofgw_ovsdb_mac_parse("02:00:00:00:AB:0c", mac), 0);
	assert_memory_equal(mac, want, 6);
	for (size_t i = 0; i < N(bad); i++) {
		if (ofgw_ovsdb_mac_parse(bad[i], mac) != -EINVAL)
			fail_msg("accepted MAC '%s'", bad[i]);
		assert_memory_equal(mac, want, 6);
	}
}

/* ------------------------------------------------------------------------- */
/* Replica and view                                                          */

#define IFROW(name, type, ofport, ids, mac)                                               \
	"{'name':'" name "','type':'" type "','ofport':" ofport ",'external_ids':['map',[" ids \
	"]],'mac_in_use':" mac "}"
#define IFACE(name, type, ofport, ids, mac) "{'new':" IFROW(name, type, ofport, ids, mac) "}"

static const char initial[] =
	"{'Bridge':{'" U("b1") "':{'new':{'name':'br-rtv','ports':['set',[['uuid','" U("a1") "'],"
	"['uuid','" U("a2") "'],['uuid','" U("a4") "']]]}},"
	"'" U("b2") "':{'new':{'name':'br-other','ports':['uuid','" U("a3") "']}}},"
	"'Port':{'" U("a1") "':{'new':{'name':'vm1','interfaces':['uuid','" U("f1") "']}},"
	"'" U("a2") "':{'new':{'name':'rtv-int','interfaces':['uuid','" U("f2") "']}},"
	"'" U("a3") "':{'new':{'name':'x','interfaces':['uuid','" U("f3") "']}},"
	"'" U("a4") "':{'new':{'name':'lib','interfaces':['uuid','" U("f4") "']}}},"
	"'Interface':{"
	"'" U("f1") "':" IFACE("vm1", "", "['set',[]]",
				"['vm-id','vm-one'],['attached-mac','02:00:00:00:01:01']", "['set',[]]") ","
	"'" U("f2") "':" IFACE("rtv-int", "internal", "3", "", "'aa:bb:cc:dd:ee:ff'") ","
	"'" U("f3") "':" IFACE("x", "", "1", "['vm-id','elsewhere']", "['set',[]]") ","
	"'" U("f4") "':" IFACE("vnet0", "", "7",
				"['iface-id','if-0'],['vm-uuid','dom-0'],['attached-mac','fe:54:00:00:00:01']",
				"'fe:54:00:00:00:01'") "}}";

struct rec {
	char log[1024];
};

static bool record(void *arg, enum ofgw_odb_change ch, const struct ofgw_ovsdb_port *was,
		   const struct ofgw_ovsdb_port *now)
{
	struct rec *r = arg;
	size_t n = strlen(r->log);
	const struct ofgw_ovsdb_port *p = now ? now : was;
	static const char tag[] = { '-', '~', '+' };

	snprintf(r->log + n, sizeof(r->log) - n, "%c%s:%d ", tag[ch], p->name, p->ofport);
	return true;
}

struct world {
	struct ofgw_odb_replica r;
	struct ofgw_odb_view old, cur;
	uint64_t bad;
	struct rec rec;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(ofgw_odb_replica_init(&w->r), 0);
	ofgw_odb_view_init(&w->old);
	ofgw_odb_view_init(&w->cur);
}

static void world_close(struct world *w)
{
	ofgw_odb_replica_close(&w->r);
	ofgw_odb_view_close(&w->old);
	ofgw_odb_view_close(&w->cur);
}

/* Applies `updates`, rebuilds, returns the differences as text. */
static const char *step(struct world *w, const char *updates)
{
	char err[OFGW_OVSDB_ERRLEN];
	json_t *j = J(updates);

	if (ofgw_odb_replica_apply(&w->r, j, err) != 0)
		fail_msg("apply: %s", err);
	json_decref(j);
	ofgw_odb_view_swap(&w->old, &w->cur);
	assert_int_equal(ofgw_odb_view_build(&w->r, "br-rtv", &w->cur, &w->bad, NULL), 0);
	w->rec.log[0] = '\0';
	ofgw_odb_view_diff(&w->old, &w->cur, record, &w->rec);
	return w->rec.log;
}

static void test_view_initial(void **state)
{
	const struct ofgw_ovsdb_port *p;
	const uint8_t mac1[6] = { 2, 0, 0, 0, 1, 1 }, mac4[6] = { 0xfe, 0x54, 0, 0, 0, 1 };
	struct world w;

	(void)state;
	world_init(&w);
	assert_string_equal(step(&w, initial), "+rtv-int:3 +vm1:-1 +vnet0:7 ");
	assert_int_equal(w.bad, 0);
	p = ofgw_odb_view_find(&w.cur, "vm1");
	assert_non_null(p);
	assert_string_equal(p->bridge, "br-rtv");
	assert_string_equal(p->vm_id, "vm-one");
	assert_string_equal(p->iface_id, "");
	assert_true(p->has_attached_mac);
	assert_memory_equal(p->attached_mac, mac1, 6);
	assert_false(p->has_mac_in_use);
	assert_true(ofgw_ovsdb_port_is_vm(p));
	p = ofgw_odb_view_find(&w.cur, "vnet0");	/* libvirt/OpenStack keys */
	assert_string_equal(p->vm_id, "dom-0");
	assert_string_equal(p->iface_id, "if-0");
	assert_memory_equal(p->attached_mac, mac4, 6);
	assert_memory_equal(p->mac_in_use, mac4, 6);
	p = ofgw_odb_view_find(&w.cur, "rtv-int");
	assert_string_equal(p->type, "internal");
	assert_false(ofgw_ovsdb_port_is_vm(p));
	assert_true(p->has_mac_in_use);
	assert_null(ofgw_odb_view_find(&w.cur, "x"));	/* on another bridge */
	world_close(&w);
}

static void test_view_updates(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	step(&w, initial);
	/* vswitchd assigns vm1 its ofport */
	assert_string_equal(step(&w, "{'Interface':{'" U("f1") "':{'old':{'ofport':['set',[]]},'new':"
				 IFROW("vm1", "", "5", "['vm-id','vm-one'],['attached-mac','02:00:00:00:01:01']",
				       "['set',[]]") "}}}"),
			    "~vm1:5 ");
	/* an unrelated bridge changes: nothing to report */
	assert_string_equal(step(&w, "{'Interface':{'" U("f3") "':{'new':" IFACE("x", "", "2", "", "['set',[]]") "}}}"), "");
	/* vnet0 leaves br-rtv (port deleted), vm2 arrives in the same update */
	assert_string_equal(
		step(&w, "{'Bridge':{'" U("b1") "':{'new':{'name':'br-rtv','ports':['set',[['uuid','" U("a1")
			 "'],['uuid','" U("a2") "'],['uuid','" U("a5") "']]]}}},"
			 "'Port':{'" U("a4") "':{'old':{}},'" U("a5") "':{'new':{'name':'vm2','interfaces':['uuid','" U("f5") "']}}},"
			 "'Interface':{'" U("f4") "':{'old':{}},'" U("f5") "':" IFACE("vm2", "", "9", "['vm-id','vm-two']", "['set',[]]") "}}"),
		"-vnet0:7 +vm2:9 ");
	/* the bridge goes away: every port is removed */
	assert_string_equal(step(&w, "{'Bridge':{'" U("b1") "':{'old':{}}}}"), "-rtv-int:3 -vm1:5 -vm2:9 ");
	assert_int_equal(w.bad, 0);
	world_close(&w);
}

static void test_view_resync_no_duplicates(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	step(&w, initial);
	ofgw_odb_replica_clear(&w.r);	/* reconnection: the replica starts over */
	assert_string_equal(step(&w, initial), "");
	world_close(&w);
}

static void test_view_bad_fields(void **state)
{
	const struct ofgw_ovsdb_port *p;
	struct world w;

	(void)state;
	world_init(&w);
	step(&w, initial);
	/* wrong types: each costs the field (or row), never the view */
	step(&w, "{'Interface':{'" U("f1") "':{'new':{'name':'vm1','type':7,'ofport':'5',"
		 "'external_ids':['map',[['vm-id',3]]],'mac_in_use':'zz'}},"
		 "'" U("f2") "':{'new':{'name':['set',[]],'type':'','ofport':1,'external_ids':['map',[]],'mac_in_use':['set',[]]}},"
		 "'" U("f4") "':{'new':{'name':'vnet0','type':'','ofport':70000,'external_ids':"
		 "['map',[['attached-mac','nope'],['vm-id','" "0123456789012345678901234567890123456789012345678901234567890123456789" "']]],"
		 "'mac_in_use':['set',[]]}}}}");
	assert_null(ofgw_odb_view_find(&w.cur, "rtv-int"));	/* no usable name */
	p = ofgw_odb_view_find(&w.cur, "vm1");
	assert_non_null(p);
	assert_int_equal(p->ofport, -1);
	assert_string_equal(p->type, "");
	assert_string_equal(p->vm_id, "");
	assert_false(p->has_mac_in_use);
	p = ofgw_odb_view_find(&w.cur, "vnet0");
	assert_int_equal(p->ofport, -1);
	assert_false(p->has_attached_mac);
	assert_string_equal(p->vm_id, "");
	assert_true(w.bad >= 8);
	world_close(&w);

	/* a dangling reference costs its port; a malformed ports column the view */
	world_init(&w);
	step(&w, initial);
	step(&w, "{'Port':{'" U("a1") "':{'new':{'name':'vm1','interfaces':['uuid','" U("ee") "']}}}}");
	assert_null(ofgw_odb_view_find(&w.cur, "vm1"));
	assert_int_equal(w.cur.n, 2);
	assert_int_equal(w.bad, 1);
	step(&w, "{'Bridge':{'" U("b1") "':{'new':{'name':'br-rtv','ports':'p1'}}}}");
	assert_int_equal(w.cur.n, 0);
	world_close(&w);
}

static void test_replica_rejects(void **state)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{ "[]", "not an object" },
		{ "{'Controller':{}}", "unmonitored" },
		{ "{'Port':[]}", "not an object" },
		{ "{'Port':{'p1':{'new':{}}}}", "not a uuid" },
		{ "{'Port':{'" U("01") "':{}}}", "neither" },
		{ "{'Port':{'" U("01") "':5}}", "neither" },
		{ "{'Port':{'" U("01") "':{'new':[]}}}", "not an object" },
		{ "{'Port':{'" U("01") "':{'old':1,'new':{}}}}", "not an object" },
		/* a bad row after good ones: nothing at all is applied */
		{ "{'Bridge':{'" U("b9") "':{'new':{'name':'br-rtv','ports':['set',[]]}}},'Port':{'x':{}}}",
		  "not a uuid" },
	};
	struct world w;
	char err[OFGW_OVSDB_ERRLEN];

	(void)state;
	world_init(&w);
	step(&w, initial);
	for (size_t i = 0; i < N(cases); i++) {
		json_t *j = J(cases[i].in);

		err[0] = '\0';
		if (ofgw_odb_replica_apply(&w.r, j, err) != -EPROTO || !strstr(err, cases[i].msg))
			fail_msg("%s: '%s', want '%s'", cases[i].in, err, cases[i].msg);
		json_decref(j);
	}
	assert_string_equal(step(&w, "{}"), "");	/* unchanged */
	world_close(&w);
}

static void test_monitor_params(void **state)
{
	json_t *p = ofgw_odb_monitor_params("rtvd");
	char *s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);

	(void)state;
	assert_string_equal(s, "[\"Open_vSwitch\",\"rtvd\",{\"Bridge\":{\"columns\":[\"name\",\"ports\"]},"
			       "\"Interface\":{\"columns\":[\"name\",\"type\",\"ofport\",\"external_ids\",\"mac_in_use\","
			       "\"mtu_request\",\"mtu\"]},"
			       "\"Port\":{\"columns\":[\"name\",\"interfaces\"]}}]");
	free(s);
	json_decref(p);
}

/* ------------------------------------------------------------------------- */
/* Ensuring the bridge                                                       */

static const struct ofgw_ovsdb_bridge_spec spec = {
	.datapath_type = "netdev",
	.controller = "tcp:127.0.0.1:6653",
	.int_port = "rtv-int",
	.int_type = "internal",
};

#define ROOT "{'rows':[{'_uuid':['uuid','" U("d0") "']}]}"
#define CTL(u, t) "{'_uuid':['uuid','" U(u) "'],'target':'" t "'}"
#define BR_OK "{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':'netdev',"         \
	      "'fail_mode':'secure','protocols':'OpenFlow13','controller':['uuid','" U("c1") "']," \
	      "'ports':['set',[['uuid','" U("a0") "'],['uuid','" U("a2") "']]]}"
#define PORT_INT "{'rows':[{'_uuid':['uuid','" U("a2") "'],'interfaces':['uuid','" U("f2") "']}]}"
#define IFACE_INT(t) "{'rows':[{'_uuid':['uuid','" U("f2") "'],'type':'" t "'}]}"

/* Plans from a read result; returns the ops as "op:table ..." and the
 * write in *write (caller frees) or NULL. */
static int plan_spec(const struct ofgw_ovsdb_bridge_spec *s, const char *read, char *sig,
		     size_t n, json_t **write, char *err)
{
	json_t *r = J(read);
	int rc = ofgw_odb_ensure_plan("br-rtv", s, r, write, err);

	json_decref(r);
	sig[0] = '\0';
	if (*write == NULL)
		return rc;
	assert_string_equal(json_string_value(json_array_get(*write, 0)), OFGW_OVSDB_DB);
	for (size_t i = 1; i < json_array_size(*write); i++) {
		const json_t *op = json_array_get(*write, i);
		const char *t = json_string_value(json_object_get(op, "table"));
		size_t len = strlen(sig);

		snprintf(sig + len, n - len, "%s%s%s", i > 1 ? " " : "",
			 json_string_value(json_object_get(op, "op")), t ? ":" : "");
		len = strlen(sig);
		snprintf(sig + len, n - len, "%s", t ? t : "");
	}
	return rc;
}

static int plan(const char *read, char *sig, size_t n, json_t **write, char *err)
{
	return plan_spec(&spec, read, sig, n, write, err);
}

static const json_t *op_at(const json_t *write, const char *op, const char *table)
{
	for (size_t i = 1; i < json_array_size(write); i++) {
		const json_t *o = json_array_get(write, i);

		if (strcmp(json_string_value(json_object_get(o, "op")), op) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "table")), table) == 0)
			return o;
	}
	fail_msg("no %s on %s", op, table);
	return NULL;
}

static void test_ensure_create(void **state)
{
	char sig[512], err[OFGW_OVSDB_ERRLEN] = "";
	json_t *w;
	const json_t *br;

	(void)state;
	assert_int_equal(plan("[{'rows':[]},{'rows':[]},{'rows':[]},{'rows':[]}," ROOT "]", sig,
			      sizeof(sig), &w, err), 0);
	assert_string_equal(sig, "wait:Bridge insert:Interface insert:Port insert:Interface insert:Port "
				 "insert:Controller insert:Bridge mutate:Open_vSwitch comment");
	br = json_object_get(op_at(w, "insert", "Bridge"), "row");
	assert_string_equal(json_string_value(json_object_get(br, "name")), "br-rtv");
	assert_string_equal(json_string_value(json_object_get(br, "datapath_type")), "netdev");
	assert_string_equal(json_string_value(json_object_get(br, "fail_mode")), "secure");
	json_decref(w);

	/* no Open_vSwitch row yet (ovs-vsctl init never ran): insert it too */
	assert_int_equal(plan("[{'rows':[]},{'rows':[]},{'rows':[]},{'rows':[]},{'rows':[]}]", sig,
			      sizeof(sig), &w, err), 0);
	assert_non_null(strstr(sig, "insert:Bridge wait:Open_vSwitch insert:Open_vSwitch comment"));
	json_decref(w);
}

static void test_ensure_nothing_to_do(void **state)
{
	char sig[512], err[OFGW_OVSDB_ERRLEN] = "";
	json_t *w = (json_t *)1;

	(void)state;
	assert_int_equal(plan("[{'rows':[" BR_OK "]}," PORT_INT "," IFACE_INT("internal") ","
			      "{'rows':[" CTL("c1", "tcp:127.0.0.1:6653") "]}," ROOT "]",
			      sig, sizeof(sig), &w, err), 0);
	assert_null(w);

	/* "system" and "" are the same datapath and interface type */
	struct ofgw_ovsdb_bridge_spec s2 = spec;
	strcpy(s2.datapath_type, "system");
	s2.int_type[0] = '\0';
	assert_int_equal(plan_spec(&s2, "[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv',"
				   "'datapath_type':'','fail_mode':'secure','protocols':'OpenFlow13',"
				   "'controller':['uuid','" U("c1") "'],'ports':['uuid','" U("a2") "']}]},"
				   PORT_INT "," IFACE_INT("system") ",{'rows':[" CTL("c1", "tcp:127.0.0.1:6653")
				   "]}," ROOT "]", sig, sizeof(sig), &w, err), 0);
	assert_null(w);
}

static void test_ensure_only_differences(void **state)
{
	char sig[512], err[OFGW_OVSDB_ERRLEN] = "";
	const json_t *row;
	json_t *w;

	(void)state;
	/* fail_mode unset, two protocols, interface type wrong, controller target wrong */
	assert_int_equal(
		plan("[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':'netdev',"
		     "'fail_mode':['set',[]],'protocols':['set',['OpenFlow10','OpenFlow13']],"
		     "'controller':['uuid','" U("c1") "'],'ports':['set',[['uuid','" U("a2") "']]]}]},"
		     PORT_INT "," IFACE_INT("") ",{'rows':[" CTL("c1", "tcp:1.2.3.4:6653") "]}," ROOT "]",
		     sig, sizeof(sig), &w, err), 0);
	assert_string_equal(sig, "wait:Bridge update:Controller update:Interface update:Bridge comment");
	row = json_object_get(op_at(w, "update", "Bridge"), "row");
	assert_int_equal(json_object_size(row), 2);
	assert_string_equal(json_string_value(json_object_get(row, "fail_mode")), "secure");
	assert_non_null(json_object_get(row, "protocols"));
	row = json_object_get(op_at(w, "update", "Controller"), "row");
	assert_string_equal(json_string_value(json_object_get(row, "target")), "tcp:127.0.0.1:6653");
	json_decref(w);

	/* two controllers: replaced by ours; int port missing */
	assert_int_equal(
		plan("[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':'netdev',"
		     "'fail_mode':'secure','protocols':'OpenFlow13',"
		     "'controller':['set',[['uuid','" U("c1") "'],['uuid','" U("c2") "']]],'ports':['set',[]]}]},"
		     "{'rows':[]},{'rows':[]},{'rows':[" CTL("c1", "tcp:127.0.0.1:6653") "," CTL("c2", "tcp:x:1")
		     "]}," ROOT "]",
		     sig, sizeof(sig), &w, err), 0);
	assert_string_equal(sig, "wait:Bridge insert:Controller insert:Interface insert:Port "
				 "mutate:Bridge update:Bridge comment");
	row = json_object_get(op_at(w, "update", "Bridge"), "row");
	assert_int_equal(json_object_size(row), 1);
	assert_non_null(json_object_get(row, "controller"));
	json_decref(w);
}

static void test_ensure_errors(void **state)
{
	static const struct {
		const char *read;
		int rc;
		const char *msg;
	} cases[] = {
		/* rtv-int is a port of br-other */
		{ "[{'rows':[" BR_OK ",{'_uuid':['uuid','" U("b2") "'],'name':'br-other','ports':['uuid','"
		  U("a9") "']}]},{'rows':[{'_uuid':['uuid','" U("a9") "'],'interfaces':['uuid','" U("f9")
		  "']}]},{'rows':[]},{'rows':[]}," ROOT "]",
		  -EEXIST, "is on bridge br-other" },
		/* bridge missing but the port exists elsewhere */
		{ "[{'rows':[]}," PORT_INT ",{'rows':[]},{'rows':[]}," ROOT "]", -EEXIST, "already exists" },
		/* a bond named rtv-int */
		{ "[{'rows':[" BR_OK "]}," PORT_INT ",{'rows':[]},{'rows':[]}," ROOT "]", -EEXIST, "a bond?" },
		{ "[{'rows':[]}]", -EPROTO, "fewer results" },
		{ "{}", -EPROTO, "fewer results" },
		{ "[{'rows':[]},{'rows':[]},{'rows':{}},{'rows':[]},{'rows':[]}]", -EPROTO, "rows" },
		{ "[{'rows':[]},{'rows':[{}]},{'rows':[]},{'rows':[]},{'rows':[]}]", -EPROTO, "_uuid" },
		{ "[{'rows':[]},{'rows':[]},{'rows':[]},3,{'rows':[]}]", -EPROTO, "neither" },
		{ "[{'rows':[]},{'error':'unknown table','details':'no Port'},null,null,null]", -EIO,
		  "unknown table: no Port" },
		{ "[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':1}]},"
		  "{'rows':[]},{'rows':[]},{'rows':[]}," ROOT "]", -EPROTO, "datapath_type" },
		{ "[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':'netdev',"
		  "'fail_mode':'secure','protocols':'OpenFlow13','controller':3}]},"
		  "{'rows':[]},{'rows':[]},{'rows':[]}," ROOT "]", -EPROTO, "controller" },
	};
	char sig[512], err[OFGW_OVSDB_ERRLEN];
	json_t *w;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int rc;

		err[0] = '\0';
		rc = plan(cases[i].read, sig, sizeof(sig), &w, err);
		if (rc != cases[i].rc || w != NULL || !strstr(err, cases[i].msg))
			fail_msg("case %zu: rc %d '%s', want %d '%s'", i, rc, err, cases[i].rc,
				 cases[i].msg);
	}
}

static void test_txn_result(void **state)
{
	static const struct {
		const char *res;
		size_t n;
		int rc;
		const char *msg;
	} cases[] = {
		{ "[{},{'uuid':['uuid','" U("01") "']},{}]", 3, 0, "" },
		{ "[{'error':'timed out','details':'wait'},null,null]", 3, -EAGAIN, "timed out" },
		{ "[{},{},{},{'error':'constraint violation','details':'dup'}]", 3, -EAGAIN, "dup" },
		{ "[{},{'error':'referential integrity violation'},null]", 3, -EIO, "referential" },
		{ "[{},{}]", 3, -EPROTO, "fewer" },
		{ "[{},{},null]", 3, 0, "" },	/* null only after an error; accepted */
		{ "[{},{},{},null]", 3, -EPROTO, "neither" },
		{ "[{},{'error':5}]", 2, -EIO, "5" },
	};
	char err[OFGW_OVSDB_ERRLEN];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		json_t *j = J(cases[i].res);
		int rc;

		err[0] = '\0';
		rc = ofgw_odb_txn_result(j, cases[i].n, err);
		if (rc != cases[i].rc || !strstr(err, cases[i].msg))
			fail_msg("%s: %d '%s', want %d '%s'", cases[i].res, rc, err, cases[i].rc,
				 cases[i].msg);
		json_decref(j);
	}
}

static void test_spec_check(void **state)
{
	struct ofgw_ovsdb_bridge_spec s = spec;
	char err[OFGW_OVSDB_ERRLEN];
	json_t *r;

	(void)state;
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), 0);
	r = ofgw_odb_ensure_read(&s);
	assert_non_null(r);
	assert_int_equal(json_array_size(r), 6);
	json_decref(r);
	strcpy(s.controller, "127.0.0.1");
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), -EINVAL);
	assert_non_null(strstr(err, "tcp:127.0.0.1:6653"));
	s = spec;
	strcpy(s.int_port, "br-rtv");
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), -EINVAL);
	s = spec;
	s.int_port[0] = '\0';
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), -EINVAL);
	s = spec;
	memset(s.int_type, 'x', sizeof(s.int_type));	/* unterminated */
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), -EINVAL);
	s = spec;
	s.datapath_type[0] = '\n';
	assert_int_equal(ofgw_odb_spec_check("br-rtv", &s, err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_every_split),
		cmocka_unit_test(test_frame_byte_at_a_time),
		cmocka_unit_test(test_frame_bad),
		cmocka_unit_test(test_frame_depth_and_size),
		cmocka_unit_test(test_frame_reset),
		cmocka_unit_test(test_jrpc_kinds),
		cmocka_unit_test(test_jrpc_bad),
		cmocka_unit_test(test_jrpc_build_and_error_text),
		cmocka_unit_test(test_datum_atoms_and_sets),
		cmocka_unit_test(test_datum_typed),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_view_initial),
		cmocka_unit_test(test_view_updates),
		cmocka_unit_test(test_view_resync_no_duplicates),
		cmocka_unit_test(test_view_bad_fields),
		cmocka_unit_test(test_replica_rejects),
		cmocka_unit_test(test_monitor_params),
		cmocka_unit_test(test_ensure_create),
		cmocka_unit_test(test_ensure_nothing_to_do),
		cmocka_unit_test(test_ensure_only_differences),
		cmocka_unit_test(test_ensure_errors),
		cmocka_unit_test(test_txn_result),
		cmocka_unit_test(test_spec_check),
	};

	rtv_log_init("test_ovsdb", RTV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
