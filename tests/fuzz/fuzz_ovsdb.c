/* fuzz_ovsdb.c — the OVSDB client's input path on arbitrary bytes: the
 * stream framer, JSON-RPC parsing, the monitor replica, the port view and
 * its diff, and the ensure planner on whatever a "result" holds.
 *
 * Input: byte 0 picks how the rest is cut into reads (1..255 bytes each, or
 * 0: all at once); the rest is the stream from the "server".
 *
 * Properties: nothing crashes or leaks (ASan); the messages framed are the
 * same however the stream is cut, and each starts with '{' and ends with
 * '}' or ']'; the view is sorted by name with no duplicates and only valid
 * ofports; a planned write is a transaction on Open_vSwitch that jansson
 * can serialise. Seeds: a monitor reply, an update, an echo, a read result.
 */
// fuzz-modules: common ofgw
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ofgw/ovsdb_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_MAX (64u << 10)

static const struct ofgw_ovsdb_bridge_spec spec = {
	.datapath_type = "netdev", .controller = "tcp:127.0.0.1:6653",
	.int_port = "rtv-int", .int_type = "internal",
};

struct run {
	struct ofgw_odb_replica r;
	struct ofgw_odb_view old, cur;
	uint64_t bad;
	char *framed;		/* every framed message, concatenated */
	size_t framed_len;
	int end_rc;
};

static bool diff_check(void *arg, enum ofgw_odb_change ch, const struct ofgw_ovsdb_port *was,
		       const struct ofgw_ovsdb_port *now)
{
	(void)arg;
	if ((ch == OFGW_ODB_ADDED) != (was == NULL) || (ch == OFGW_ODB_REMOVED) != (now == NULL))
		abort();
	if (was != NULL && now != NULL && strcmp(was->name, now->name) != 0)
		abort();
	return true;
}

static void check_view(const struct ofgw_odb_view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct ofgw_ovsdb_port *p = &v->ports[i];

		if (p->name[0] == '\0' || (i > 0 && strcmp(v->ports[i - 1].name, p->name) >= 0))
			abort();
		if (p->ofport != -1 && p->ofport != 0xfffe && (p->ofport < 1 || p->ofport > 0xfeff))
			abort();
		if (ofgw_odb_view_find(v, p->name) != p)
			abort();
	}
}

static void apply(struct run *run, const json_t *updates)
{
	char err[OFGW_OVSDB_ERRLEN];

	if (ofgw_odb_replica_apply(&run->r, updates, err) != 0)
		return;
	ofgw_odb_view_swap(&run->old, &run->cur);
	if (ofgw_odb_view_build(&run->r, "br-rtv", &run->cur, &run->bad, NULL) != 0)
		abort();
	check_view(&run->cur);
	ofgw_odb_view_diff(&run->old, &run->cur, diff_check, NULL);
}

static void plan(const json_t *result)
{
	char err[OFGW_OVSDB_ERRLEN];
	json_t *write = NULL;
	char *s;

	ofgw_odb_txn_result(result, 3, err);
	if (ofgw_odb_ensure_plan("br-rtv", &spec, result, &write, err) != 0 || write == NULL)
		return;
	if (strcmp(json_string_value(json_array_get(write, 0)), "Open_vSwitch") != 0)
		abort();
	s = json_dumps(write, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(write);
}

static void handle(struct run *run, const char *msg, size_t len)
{
	struct ofgw_jrpc_msg m;
	char err[OFGW_OVSDB_ERRLEN];
	json_t *root;

	if (msg[0] != '{' || (msg[len - 1] != '}' && msg[len - 1] != ']'))
		abort();
	run->framed = realloc(run->framed, run->framed_len + len);
	if (run->framed == NULL)
		abort();
	memcpy(run->framed + run->framed_len, msg, len);
	run->framed_len += len;
	if (ofgw_jrpc_parse(msg, len, &root, &m, err) != 0)
		return;
	if (m.kind == OFGW_JRPC_NOTIFY && json_array_size(m.params) == 2)
		apply(run, json_array_get(m.params, 1));
	if (m.kind == OFGW_JRPC_REPLY) {
		apply(run, m.result);
		plan(m.result);
	}
	if (m.kind == OFGW_JRPC_ERROR)
		ofgw_jrpc_error_text(m.error, err, sizeof(err));
	json_decref(root);
}

static void run_stream(struct run *run, const uint8_t *data, size_t size, size_t chunk)
{
	struct ofgw_jrpc_framer f;
	const char *msg;
	size_t len;
	int rc = 0;

	memset(run, 0, sizeof(*run));
	if (ofgw_odb_replica_init(&run->r) != 0)
		abort();
	ofgw_jrpc_framer_init(&f, MSG_MAX);
	for (size_t off = 0; off < size && rc >= 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (ofgw_jrpc_framer_feed(&f, data + off, n) != 0)
			abort();
		while ((rc = ofgw_jrpc_framer_next(&f, &msg, &len)) == 1)
			handle(run, msg, len);
	}
	run->end_rc = rc;
	ofgw_jrpc_framer_close(&f);
	ofgw_odb_replica_close(&run->r);
	ofgw_odb_view_close(&run->old);
	ofgw_odb_view_close(&run->cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a, b;
	size_t chunk;

	if (size < 1)
		return 0;
	rtv_log_level_cur = RTV_LOG_OFF;
	chunk = data[0] ? data[0] : SIZE_MAX;
	run_stream(&a, data + 1, size - 1, chunk);
	run_stream(&b, data + 1, size - 1, SIZE_MAX);
	if (a.framed_len != b.framed_len || (a.framed_len && memcmp(a.framed, b.framed, a.framed_len)) ||
	    a.end_rc != b.end_rc)
		abort();
	free(a.framed);
	free(b.framed);
	return 0;
}
