/* test_ovsdb_client.c — the OVSDB client's connection logic against a
 * scripted fake server: a unix socket in a temporary directory, served on
 * the same libuv loop, so the test decides every byte the client sees.
 *
 * Covers: the initial state delivered one byte per write; echo answered
 * with the request's params and id; an unknown request answered with an
 * error; an update reported as a change; garbage, an oversized message, a
 * malformed update and a refused monitor each end the connection (counted)
 * and the client reconnects and resyncs without reporting unchanged ports
 * again; ensure retried from a fresh read when its write loses a race, and
 * given up after three tries; a connection lost in the middle of an ensure
 * reported as -ENOTCONN and the ensure re-run after the resync. Ends with
 * uv_loop_close() == 0. No timing is asserted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "ofgw/ovsdb_internal.h"

#define WAIT_MS 10000
#define U(x) "00000000-0000-0000-0000-0000000000" x
#define MSG_MAX 4096

struct fake {
	uv_loop_t loop;
	uv_pipe_t server;
	uv_pipe_t *conn;		/* the current connection */
	uv_timer_t wake;
	char dir[64], path[128];
	struct ofgw_jrpc_framer fr;
	json_t *inbox[64];		/* messages from the client, oldest first */
	size_t n_inbox;
	unsigned n_conns;

	struct ofgw_ovsdb *c;
	unsigned n_added, n_changed, n_removed, n_synced, n_ensured;
	int ens_status;
	bool ens_changed;
	char ens_err[OFGW_OVSDB_ERRLEN];
};

/* ------------------------------------------------------------------------- */
/* The fake server                                                           */

static char *quotes(const char *lit)
{
	char *d = strdup(lit);

	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static void on_conn_closed(uv_handle_t *h)
{
	free(h);
}

static void srv_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(n);
	buf->len = buf->base ? n : 0;
}

static void srv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct fake *f = s->data;
	const char *msg;
	size_t len;

	if (nread < 0) {
		if ((uv_pipe_t *)s == f->conn)
			f->conn = NULL;
		uv_close((uv_handle_t *)s, on_conn_closed);
	} else if ((uv_pipe_t *)s == f->conn) {
		assert_int_equal(ofgw_jrpc_framer_feed(&f->fr, buf->base, (size_t)nread), 0);
		while (ofgw_jrpc_framer_next(&f->fr, &msg, &len) == 1) {
			json_t *j = json_loadb(msg, len, 0, NULL);

			assert_non_null(j);
			assert_true(f->n_inbox < 64);
			f->inbox[f->n_inbox++] = j;
		}
	}
	free(buf->base);
}

static void srv_on_connection(uv_stream_t *server, int status)
{
	struct fake *f = server->data;
	uv_pipe_t *p = calloc(1, sizeof(*p));

	assert_int_equal(status, 0);
	assert_non_null(p);
	assert_int_equal(uv_pipe_init(&f->loop, p, 0), 0);
	assert_int_equal(uv_accept(server, (uv_stream_t *)p), 0);
	p->data = f;
	assert_null(f->conn);	/* the client has one connection at a time */
	f->conn = p;
	f->n_conns++;
	ofgw_jrpc_framer_reset(&f->fr);
	assert_int_equal(uv_read_start((uv_stream_t *)p, srv_alloc, srv_read), 0);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void srv_write(struct fake *f, const char *data, size_t len)
{
	uv_write_t *w = malloc(sizeof(*w) + len);
	uv_buf_t b;

	assert_non_null(w);
	memcpy(w + 1, data, len);
	b = uv_buf_init((char *)(w + 1), (unsigned)len);
	assert_int_equal(uv_write(w, (uv_stream_t *)f->conn, &b, 1, on_written), 0);
}

/* Sends a JSON literal (' for "), whole or one byte per write. */
static void srv_send(struct fake *f, const char *lit, bool bytewise)
{
	char *d = quotes(lit);
	size_t len = strlen(d);

	assert_non_null(f->conn);
	if (!bytewise)
		srv_write(f, d, len);
	for (size_t i = 0; bytewise && i < len; i++)
		srv_write(f, d + i, 1);
	free(d);
}

/* Kills the current connection from the server side. */
static void srv_hangup(struct fake *f)
{
	assert_non_null(f->conn);
	uv_close((uv_handle_t *)f->conn, on_conn_closed);
	f->conn = NULL;
}

/* ------------------------------------------------------------------------- */
/* The client's callbacks and the loop                                       */

static void on_added(void *arg, const struct ofgw_ovsdb_port *p)
{
	(void)p;
	((struct fake *)arg)->n_added++;
}

static void on_changed(void *arg, const struct ofgw_ovsdb_port *o, const struct ofgw_ovsdb_port *p)
{
	(void)o;
	(void)p;
	((struct fake *)arg)->n_changed++;
}

static void on_removed(void *arg, const struct ofgw_ovsdb_port *p)
{
	(void)p;
	((struct fake *)arg)->n_removed++;
}

static void on_synced(void *arg)
{
	((struct fake *)arg)->n_synced++;
}

static void on_ensured(void *arg, int status, bool changed, const char *err)
{
	struct fake *f = arg;

	f->n_ensured++;
	f->ens_status = status;
	f->ens_changed = changed;
	snprintf(f->ens_err, sizeof(f->ens_err), "%s", err);
}

static const struct ofgw_ovsdb_ops ops = {
	.port_added = on_added, .port_changed = on_changed, .port_removed = on_removed,
	.synced = on_synced, .ensured = on_ensured,
};

static void on_wake(uv_timer_t *t)
{
	(void)t;
}

static void run_until(struct fake *f, bool (*cond)(struct fake *, const void *), const void *arg,
		      const char *what)
{
	uint64_t end;

	uv_update_time(&f->loop);
	end = uv_now(&f->loop) + WAIT_MS;
	while (!cond(f, arg)) {
		if (uv_now(&f->loop) > end)
			fail_msg("timed out waiting for %s", what);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
}

static bool has_msg(struct fake *f, const void *arg)
{
	(void)arg;
	return f->n_inbox > 0;
}

/* The next message from the client (caller json_decref's). */
static json_t *next_msg(struct fake *f)
{
	json_t *j;

	run_until(f, has_msg, NULL, "a message from the client");
	j = f->inbox[0];
	memmove(f->inbox, f->inbox + 1, --f->n_inbox * sizeof(f->inbox[0]));
	return j;
}

/* Waits for a request `method`; returns its id. */
static json_int_t expect_request(struct fake *f, const char *method)
{
	json_t *j = next_msg(f);
	const char *m = json_string_value(json_object_get(j, "method"));
	json_int_t id = json_integer_value(json_object_get(j, "id"));

	if (m == NULL || strcmp(m, method) != 0)
		fail_msg("expected '%s', got '%s'", method, json_dumps(j, JSON_COMPACT));
	assert_true(json_is_integer(json_object_get(j, "id")));
	json_decref(j);
	return id;
}

static bool counter_at_least(struct fake *f, const void *arg)
{
	const unsigned *const *pp = arg;

	(void)f;
	return *pp[0] >= *pp[1];
}

#define WAIT_FOR(f, counter, value)                                                   \
	do {                                                                          \
		unsigned want_ = (value);                                             \
		const unsigned *pp_[2] = { &(counter), &want_ };                      \
		run_until((f), counter_at_least, pp_, #counter " >= " #value);        \
	} while (0)

static void reply(struct fake *f, json_int_t id, const char *result_lit, bool bytewise)
{
	char head[64], *tail;

	snprintf(head, sizeof(head), "{'id':%lld,'error':null,'result':", (long long)id);
	tail = malloc(strlen(head) + strlen(result_lit) + 2);
	assert_non_null(tail);
	sprintf(tail, "%s%s}", head, result_lit);
	srv_send(f, tail, bytewise);
	free(tail);
}

static const char initial[] =
	"{'Bridge':{'" U("b1") "':{'new':{'name':'br-rtv','ports':['uuid','" U("a1") "']}}},"
	"'Port':{'" U("a1") "':{'new':{'name':'vm1','interfaces':['uuid','" U("f1") "']}}},"
	"'Interface':{'" U("f1") "':{'new':{'name':'vm1','type':'','ofport':['set',[]],"
	"'external_ids':['map',[['vm-id','vm-one']]],'mac_in_use':['set',[]]}}}}";

static char test_dir[64];	/* removed by the teardown, even after a failure */

static int remove_dir(void **state)
{
	char path[128];

	(void)state;
	if (test_dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/db.sock", test_dir);
		unlink(path);
		rmdir(test_dir);
		test_dir[0] = '\0';
	}
	return 0;
}

static void fake_open(struct fake *f)
{
	struct ofgw_ovsdb_config cfg = { .bridge = "br-rtv", .backoff_min_ms = 5, .backoff_max_ms = 20,
					 .msg_max_bytes = MSG_MAX };
	char err[OFGW_OVSDB_ERRLEN], remote[160];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/rtv-ovsdbc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(test_dir, sizeof(test_dir), "%s", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/db.sock", f->dir);
	ofgw_jrpc_framer_init(&f->fr, 1 << 20);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->wake), 0);
	assert_int_equal(uv_timer_start(&f->wake, on_wake, 10, 10), 0);
	assert_int_equal(uv_pipe_init(&f->loop, &f->server, 0), 0);
	f->server.data = f;
	assert_int_equal(uv_pipe_bind(&f->server, f->path), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->server, 4, srv_on_connection), 0);
	snprintf(remote, sizeof(remote), "unix:%s", f->path);
	cfg.remote = remote;
	if (ofgw_ovsdb_new(&f->loop, &cfg, &ops, f, &f->c, err) != 0)
		fail_msg("new: %s", err);
	assert_int_equal(ofgw_ovsdb_start(f->c), 0);
}

static void fake_close(struct fake *f)
{
	ofgw_ovsdb_close(f->c, NULL);
	if (f->conn != NULL)
		srv_hangup(f);
	uv_close((uv_handle_t *)&f->server, NULL);
	uv_close((uv_handle_t *)&f->wake, NULL);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	ofgw_ovsdb_free(f->c);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	while (f->n_inbox > 0)
		json_decref(f->inbox[--f->n_inbox]);
	ofgw_jrpc_framer_close(&f->fr);
}

/* Answers the monitor of connection number `n` with `state`. */
static void sync_with(struct fake *f, unsigned n, const char *state)
{
	unsigned synced = f->n_synced;

	WAIT_FOR(f, f->n_conns, n);
	reply(f, expect_request(f, "monitor"), state, false);
	WAIT_FOR(f, f->n_synced, synced + 1);
}

static struct ofgw_ovsdb_stats stats(struct fake *f)
{
	struct ofgw_ovsdb_stats st;

	ofgw_ovsdb_get_stats(f->c, &st);
	return st;
}

/* ------------------------------------------------------------------------- */

static void reply_error(struct fake *f, json_int_t id, const char *error_lit)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "{'id':%lld,'result':null,'error':%s}", (long long)id, error_lit);
	srv_send(f, buf, false);
}

static void test_echo_update_and_bad_input(void **state)
{
	char big[MSG_MAX + 64];
	struct fake f;
	json_t *j, *want;

	(void)state;
	fake_open(&f);
	WAIT_FOR(&f, f.n_conns, 1);
	reply(&f, expect_request(&f, "monitor"), initial, true);	/* one byte per write */
	WAIT_FOR(&f, f.n_synced, 1);
	assert_int_equal(f.n_added, 1);
	assert_string_equal(ofgw_ovsdb_port_find(f.c, "vm1")->vm_id, "vm-one");

	srv_send(&f, "{'id':'e1','method':'echo','params':['x',1]}", false);
	j = next_msg(&f);
	want = json_pack("[s,i]", "x", 1);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "e1");
	assert_true(json_is_null(json_object_get(j, "error")));
	assert_true(json_equal(json_object_get(j, "result"), want));
	json_decref(want);
	json_decref(j);
	srv_send(&f, "{'id':9,'method':'lock','params':['x']}", false);
	j = next_msg(&f);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "unknown method");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
	json_decref(j);
	assert_int_equal(stats(&f).echoes, 1);

	srv_send(&f, "{'id':null,'method':'update','params':['rtvd',{'Interface':{'" U("f1") "':"
		     "{'new':{'name':'vm1','type':'','ofport':4,'external_ids':['map',[['vm-id','vm-one']]],"
		     "'mac_in_use':['set',[]]}}}}]}", false);
	WAIT_FOR(&f, f.n_changed, 1);
	assert_int_equal(ofgw_ovsdb_port_find(f.c, "vm1")->ofport, 4);

	/* garbage: dropped, reconnected, resynced: only the real difference
	 * (ofport unset again) is reported, vm1 is not added twice */
	srv_send(&f, "]", false);
	sync_with(&f, 2, initial);
	assert_int_equal(stats(&f).bad_msgs, 1);
	assert_int_equal(f.n_added, 1);
	assert_int_equal(f.n_changed, 2);
	assert_int_equal(ofgw_ovsdb_port_find(f.c, "vm1")->ofport, -1);

	/* an oversized message; the next state has no vm1 */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{'id':null,'method':'x','params':['", 35);
	memcpy(big + sizeof(big) - 4, "']}", 4);
	srv_send(&f, big, false);
	sync_with(&f, 3, "{}");
	assert_int_equal(stats(&f).too_big, 1);
	assert_int_equal(f.n_removed, 1);
	assert_int_equal(ofgw_ovsdb_n_ports(f.c), 0);

	/* a malformed update; then a refused monitor; then a good one */
	srv_send(&f, "{'id':null,'method':'update','params':['rtvd',{'Nope':{}}]}", false);
	WAIT_FOR(&f, f.n_conns, 4);
	reply_error(&f, expect_request(&f, "monitor"), "{'error':'unknown database'}");
	sync_with(&f, 5, initial);
	assert_int_equal(stats(&f).bad_msgs, 2);
	assert_int_equal(stats(&f).disconnects, 4);
	assert_int_equal(stats(&f).connects, 5);
	assert_int_equal(f.n_added, 2);
	assert_int_equal(f.n_removed, 1);
	fake_close(&f);
}

static const struct ofgw_ovsdb_bridge_spec spec = {
	.datapath_type = "netdev", .controller = "tcp:127.0.0.1:6653",
	.int_port = "rtv-int", .int_type = "internal",
};

#define ROOT "{'rows':[{'_uuid':['uuid','" U("d0") "']}]}"
static const char empty_read[] = "[{'rows':[]},{'rows':[]},{'rows':[]},{'rows':[]}," ROOT "]";
static const char good_read[] =
	"[{'rows':[{'_uuid':['uuid','" U("b1") "'],'name':'br-rtv','datapath_type':'netdev',"
	"'fail_mode':'secure','protocols':'OpenFlow13','controller':['uuid','" U("c1") "'],"
	"'ports':['uuid','" U("a2") "']}]},"
	"{'rows':[{'_uuid':['uuid','" U("a2") "'],'interfaces':['uuid','" U("f2") "']}]},"
	"{'rows':[{'_uuid':['uuid','" U("f2") "'],'type':'internal'}]},"
	"{'rows':[{'_uuid':['uuid','" U("c1") "'],'target':'tcp:127.0.0.1:6653'}]}," ROOT "]";

/* Waits for a "transact"; returns its id and the number of operations. */
static json_int_t expect_transact(struct fake *f, size_t *n_ops)
{
	json_t *j = next_msg(f);
	const char *m = json_string_value(json_object_get(j, "method"));
	json_int_t id = json_integer_value(json_object_get(j, "id"));

	if (m == NULL || strcmp(m, "transact") != 0)
		fail_msg("expected a transact");
	*n_ops = json_array_size(json_object_get(j, "params")) - 1;
	json_decref(j);
	return id;
}

static void reply_ok(struct fake *f, json_int_t id, size_t n_ops)
{
	char res[512] = "[";

	for (size_t i = 0; i < n_ops; i++)
		strcat(res, i ? ",{}" : "{}");
	strcat(res, "]");
	reply(f, id, res, false);
}

/* The first operation failed: the others were not run (RFC 7047 §4.1.3). */
static void reply_fail(struct fake *f, json_int_t id, size_t n_ops, const char *error_lit)
{
	char res[1024];

	snprintf(res, sizeof(res), "[%s", error_lit);
	for (size_t i = 1; i < n_ops; i++)
		strcat(res, ",null");
	strcat(res, "]");
	reply(f, id, res, false);
}

static void test_ensure_retries(void **state)
{
	char err[OFGW_OVSDB_ERRLEN];
	struct fake f;
	json_int_t id;
	size_t n;

	(void)state;
	fake_open(&f);
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);	/* runs once synced */
	sync_with(&f, 1, initial);

	/* the write loses the race three times: read again each time, then give up */
	for (int i = 0; i < 3; i++) {
		reply(&f, expect_transact(&f, &n), empty_read, false);
		assert_int_equal(n, 5);
		id = expect_transact(&f, &n);
		reply_fail(&f, id, n, "{'error':'timed out','details':'wait'}");
	}
	WAIT_FOR(&f, f.n_ensured, 1);
	assert_int_equal(f.ens_status, -EIO);
	assert_non_null(strstr(f.ens_err, "timed out"));
	assert_int_equal(stats(&f).txn_reads, 3);
	assert_int_equal(stats(&f).txn_writes, 3);

	/* the server refuses the read */
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);
	reply_error(&f, expect_transact(&f, &n), "{'error':'unknown database','details':'no db'}");
	WAIT_FOR(&f, f.n_ensured, 2);
	assert_int_equal(f.ens_status, -EIO);
	assert_string_equal(f.ens_err, "unknown database: no db");

	/* the connection dies mid-ensure: -ENOTCONN, then re-run after the resync */
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);
	expect_transact(&f, &n);
	srv_hangup(&f);
	WAIT_FOR(&f, f.n_ensured, 3);
	assert_int_equal(f.ens_status, -ENOTCONN);
	sync_with(&f, 2, initial);
	reply(&f, expect_transact(&f, &n), good_read, false);
	WAIT_FOR(&f, f.n_ensured, 4);
	assert_int_equal(f.ens_status, 0);
	assert_false(f.ens_changed);

	/* a call while one is in flight runs once more after it */
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &spec, err), 0);
	reply(&f, expect_transact(&f, &n), empty_read, false);
	id = expect_transact(&f, &n);
	reply_ok(&f, id, n);
	WAIT_FOR(&f, f.n_ensured, 5);
	assert_int_equal(f.ens_status, 0);
	assert_true(f.ens_changed);
	reply(&f, expect_transact(&f, &n), good_read, false);
	WAIT_FOR(&f, f.n_ensured, 6);
	assert_false(f.ens_changed);
	assert_int_equal(f.n_inbox, 0);

	/* a bad spec is refused and the stored one stays */
	struct ofgw_ovsdb_bridge_spec bad = spec;
	bad.controller[0] = '\0';
	assert_int_equal(ofgw_ovsdb_ensure_bridge(f.c, &bad, err), -EINVAL);
	assert_non_null(strstr(err, "controller"));
	fake_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_echo_update_and_bad_input, remove_dir),
		cmocka_unit_test_teardown(test_ensure_retries, remove_dir),
	};

	rtv_log_init("test_ovsdb_client", getenv("TEST_LOG") ? RTV_LOG_DEBUG : RTV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
