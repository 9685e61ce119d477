/* test_ovsdb_live.c — the OVSDB client against a real Open vSwitch.
 *
 * The group setup starts ovsdb-server and ovs-vswitchd (userspace) in a
 * temporary run directory, vswitchd in a network namespace of its own
 * (`unshare -n`) so the bridge's tap devices never meet the host's or the
 * lab's; teardown kills both and removes the directory. Our client runs on
 * a libuv loop in this process; ovs-vsctl (run with system()) is the oracle
 * and the "operator".
 *
 * Covers: the bridge ensured from an empty database (datapath_type,
 * fail_mode, controller, protocols, rtv-int); ensuring again, and from a
 * second client (an rtvd restart), writes nothing and changes no uuid;
 * drifted settings are put back, and only they; a VM port added with
 * external_ids is reported with its ids, MAC and (later) ofport, and its
 * removal too; ovsdb-server killed and restarted: the client reconnects,
 * resyncs without reporting unchanged ports again, re-ensures (no write),
 * and reports a port added around the restart exactly once. Every test ends
 * with uv_loop_close() == 0.
 *
 * Waits are bounded by generous deadlines that only turn a hang into a
 * failure; nothing asserts on timing. Skipped without root or OVS.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "ofgw/ovsdb.h"

#define WAIT_MS 15000
#define CONTROLLER "tcp:127.0.0.1:17701"	/* nobody listens: vswitchd just retries */

static char dir[64];
static bool have_ovs;

/* ------------------------------------------------------------------------- */
/* Shell helpers                                                             */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* ovs-vsctl's output, trimmed, in out. */
static int vsctl(char *out, size_t n, const char *args)
{
	char cmd[512];
	FILE *p;
	size_t len;

	snprintf(cmd, sizeof(cmd), "ovs-vsctl --db=unix:%s/db.sock --timeout=10 %s 2>&1", dir, args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	len = fread(out, 1, n - 1, p);
	out[len] = '\0';
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

static void expect_vsctl(const char *args, const char *want)
{
	char out[1024];

	if (vsctl(out, sizeof(out), args) != 0 || strcmp(out, want) != 0)
		fail_msg("ovs-vsctl %s: '%s', want '%s'", args, out, want);
}

static pid_t read_pid(const char *name)
{
	char path[128];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* SIGTERM, then SIGKILL if it is still there after ~5 s. */
static void kill_pidfile(const char *name)
{
	pid_t pid = read_pid(name);

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
}

static int start_server(void)
{
	return sh("ovsdb-server %s/conf.db --remote=punix:%s/db.sock --pidfile=%s/ovsdb.pid "
		  "--unixctl=%s/ovsdb.ctl --log-file=%s/ovsdb.log -vconsole:off --detach",
		  dir, dir, dir, dir, dir);
}

static int group_teardown(void **state);

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || sh("command -v ovsdb-server ovs-vswitchd unshare >/dev/null") != 0)
		return 0;	/* each test skips */
	snprintf(dir, sizeof(dir), "/tmp/rtv-ovsdb-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	if (sh("ovsdb-tool create %s/conf.db /usr/share/openvswitch/vswitch.ovsschema", dir) != 0 ||
	    start_server() != 0 ||
	    sh("ovs-vsctl --db=unix:%s/db.sock --no-wait init", dir) != 0 ||
	    sh("unshare -n env OVS_RUNDIR=%s ovs-vswitchd unix:%s/db.sock --pidfile=%s/vsd.pid "
	       "--unixctl=%s/vsd.ctl --log-file=%s/vsd.log -vconsole:off --detach",
	       dir, dir, dir, dir, dir) != 0) {
		fprintf(stderr, "could not start OVS in %s\n", dir);
		sh("tail -n 5 %s/*.log >&2", dir);
		group_teardown(state);
		return -1;
	}
	have_ovs = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (dir[0] == '\0')
		return 0;
	kill_pidfile("vsd.pid");
	kill_pidfile("ovsdb.pid");
	sh("rm -rf %s", dir);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* The client on a loop                                                      */

struct ctx {
	uv_loop_t loop;
	uv_timer_t wake;	/* makes every UV_RUN_ONCE return */
	struct ofgw_ovsdb *c;
	unsigned n_synced, n_ensured, n_added, n_changed, n_removed;
	int ens_status;
	bool ens_changed, closed;
	char ens_err[OFGW_OVSDB_ERRLEN];
	struct ofgw_ovsdb_port added, removed, changed;
};

static void on_added(void *arg, const struct ofgw_ovsdb_port *p)
{
	struct ctx *x = arg;

	x->n_added++;
	x->added = *p;
}

static void on_changed(void *arg, const struct ofgw_ovsdb_port *old, const struct ofgw_ovsdb_port *p)
{
	struct ctx *x = arg;

	assert_string_equal(old->name, p->name);
	if (getenv("DEBUG_CHANGED"))
		fprintf(stderr, "changed %s: ofport %d->%d mac_in_use %d->%d type %s->%s\n", p->name,
			old->ofport, p->ofport, old->has_mac_in_use, p->has_mac_in_use, old->type, p->type);
	x->n_changed++;
	x->changed = *p;
}

static void on_removed(void *arg, const struct ofgw_ovsdb_port *p)
{
	struct ctx *x = arg;

	x->n_removed++;
	x->removed = *p;
}

static void on_synced(void *arg)
{
	((struct ctx *)arg)->n_synced++;
}

static void on_ensured(void *arg, int status, bool changed, const char *err)
{
	struct ctx *x = arg;

	x->n_ensured++;
	x->ens_status = status;
	x->ens_changed = changed;
	snprintf(x->ens_err, sizeof(x->ens_err), "%s", err);
}

static const struct ofgw_ovsdb_ops ops = {
	.port_added = on_added, .port_changed = on_changed, .port_removed = on_removed,
	.synced = on_synced, .ensured = on_ensured,
};

static void on_wake(uv_timer_t *t)
{
	(void)t;
}

typedef bool (*cond_fn)(struct ctx *x, const void *arg);

static void run_until(struct ctx *x, cond_fn cond, const void *arg, const char *what)
{
	uint64_t end;

	uv_update_time(&x->loop);
	end = uv_now(&x->loop) + WAIT_MS;
	while (!cond(x, arg)) {
		if (uv_now(&x->loop) > end)
			fail_msg("timed out waiting for %s", what);
		uv_run(&x->loop, UV_RUN_ONCE);
	}
}

static bool synced_n(struct ctx *x, const void *n)
{
	return x->n_synced >= *(const unsigned *)n && ofgw_ovsdb_synced(x->c);
}

static bool ensured_n(struct ctx *x, const void *n)
{
	return x->n_ensured >= *(const unsigned *)n;
}

static void ctx_open(struct ctx *x)
{
	struct ofgw_ovsdb_config cfg = { .bridge = "br-rtv", .backoff_min_ms = 50,
					 .backoff_max_ms = 400 };
	char remote[128], err[OFGW_OVSDB_ERRLEN];
	unsigned one = 1;

	if (!have_ovs)
		skip();
	memset(x, 0, sizeof(*x));
	snprintf(remote, sizeof(remote), "unix:%s/db.sock", dir);
	cfg.remote = remote;
	assert_int_equal(uv_loop_init(&x->loop), 0);
	assert_int_equal(uv_timer_init(&x->loop, &x->wake), 0);
	assert_int_equal(uv_timer_start(&x->wake, on_wake, 20, 20), 0);
	if (ofgw_ovsdb_new(&x->loop, &cfg, &ops, x, &x->c, err) != 0)
		fail_msg("new: %s", err);
	assert_int_equal(ofgw_ovsdb_start(x->c), 0);
	assert_int_equal(ofgw_ovsdb_start(x->c), -EALREADY);
	run_until(x, synced_n, &one, "the first sync");
}

static void on_closed(struct ofgw_ovsdb *c)
{
	(void)c;
}

static void ctx_close(struct ctx *x)
{
	ofgw_ovsdb_close(x->c, on_closed);
	uv_close((uv_handle_t *)&x->wake, NULL);
	assert_int_equal(uv_run(&x->loop, UV_RUN_DEFAULT), 0);
	ofgw_ovsdb_free(x->c);
	assert_int_equal(uv_loop_close(&x->loop), 0);
}

static const struct ofgw_ovsdb_bridge_spec spec = {
	.datapath_type = "netdev", .controller = CONTROLLER,
	.int_port = "rtv-int", .int_type = "internal",
};

/* Ensures and waits for the answer; returns whether it wrote. */
static bool ensure(struct ctx *x)
{
	char err[OFGW_OVSDB_ERRLEN];
	unsigned want = x->n_ensured + 1;

	if (ofgw_ovsdb_ensure_bridge(x->c, &spec, err) != 0)
		fail_msg("ensure: %s", err);
	run_until(x, ensured_n, &want, "the ensure result");
	if (x->ens_status != 0)
		fail_msg("ensure failed: %d %s", x->ens_status, x->ens_err);
	return x->ens_changed;
}

static void expect_bridge_settings(void)
{
	expect_vsctl("get bridge br-rtv datapath_type", "netdev");
	expect_vsctl("get bridge br-rtv fail_mode", "secure");
	expect_vsctl("get bridge br-rtv protocols", "[OpenFlow13]");
	expect_vsctl("get-controller br-rtv", CONTROLLER);
	expect_vsctl("get interface rtv-int type", "internal");
	expect_vsctl("port-to-br rtv-int", "br-rtv");
	expect_vsctl("br-exists br-rtv && echo yes", "yes");
}

/* ------------------------------------------------------------------------- */

static bool has_port(struct ctx *x, const void *name)
{
	return ofgw_ovsdb_port_find(x->c, name) != NULL;
}

static bool port_has_ofport(struct ctx *x, const void *name)
{
	const struct ofgw_ovsdb_port *p = ofgw_ovsdb_port_find(x->c, name);

	return p != NULL && p->ofport > 0;
}

static bool port_gone(struct ctx *x, const void *name)
{
	return ofgw_ovsdb_port_find(x->c, name) == NULL;
}

/* The rows' identities and settings, as ovs-vsctl prints them. */
#define BRIDGE_IDS                                                                        \
	"get bridge br-rtv _uuid -- get bridge br-rtv ports -- get bridge br-rtv controller " \
	"-- get port rtv-int _uuid -- get interface rtv-int _uuid"
#define BRIDGE_ROWS BRIDGE_IDS " -- list bridge br-rtv -- list controller -- list port rtv-int"

static void test_ensure_bridge(void **state)
{
	struct ofgw_ovsdb_stats st;
	char before[1024], after[1024];
	struct ctx x;

	(void)state;
	ctx_open(&x);
	assert_int_equal(ofgw_ovsdb_n_ports(x.c), 0);
	assert_true(ensure(&x));
	expect_bridge_settings();
	run_until(&x, port_has_ofport, "rtv-int", "rtv-int's ofport");
	assert_non_null(ofgw_ovsdb_port_find(x.c, "br-rtv"));	/* the local port */

	/* again: nothing written, nothing replaced */
	assert_int_equal(vsctl(before, sizeof(before), BRIDGE_ROWS), 0);
	assert_false(ensure(&x));
	assert_false(ensure(&x));
	ofgw_ovsdb_get_stats(x.c, &st);
	assert_int_equal(st.txn_writes, 1);
	assert_int_equal(vsctl(after, sizeof(after), BRIDGE_ROWS), 0);
	assert_string_equal(before, after);
	ctx_close(&x);

	/* an rtvd restart: a new client writes nothing either */
	ctx_open(&x);
	assert_false(ensure(&x));
	ofgw_ovsdb_get_stats(x.c, &st);
	assert_int_equal(st.txn_writes, 0);
	assert_int_equal(st.txn_reads, 1);

	/* an operator changed settings: exactly those are put back */
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 set bridge br-rtv "
			    "fail_mode=standalone protocols=OpenFlow10,OpenFlow13 -- "
			    "set-controller br-rtv tcp:127.0.0.1:17702 -- set interface rtv-int type=tap",
			    dir), 0);
	assert_int_equal(vsctl(before, sizeof(before), BRIDGE_IDS), 0);
	assert_true(ensure(&x));
	expect_bridge_settings();
	assert_int_equal(vsctl(after, sizeof(after), BRIDGE_IDS), 0);
	assert_string_equal(before, after);	/* updated in place, not re-created */
	assert_false(ensure(&x));
	ofgw_ovsdb_get_stats(x.c, &st);
	assert_int_equal(st.txn_writes, 1);
	ctx_close(&x);
}

static void test_vm_port(void **state)
{
	const uint8_t mac[6] = { 2, 0, 0, 0, 0x0a, 1 };
	const struct ofgw_ovsdb_port *p;
	struct ctx x;

	(void)state;
	ctx_open(&x);
	assert_false(ensure(&x));	/* the first test made it */
	assert_int_equal(x.n_added, 2);	/* the initial state: br-rtv's local port, rtv-int */
	assert_non_null(ofgw_ovsdb_port_find(x.c, "rtv-int"));
	x.n_added = x.n_changed = 0;
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 add-port br-rtv vX -- "
			    "set interface vX type=internal external_ids:vm-id=vm1 "
			    "external_ids:attached-mac=02:00:00:00:0a:01", dir), 0);
	run_until(&x, port_has_ofport, "vX", "vX with an ofport");
	assert_int_equal(x.n_added, 1);
	assert_string_equal(x.added.name, "vX");
	p = ofgw_ovsdb_port_find(x.c, "vX");
	assert_string_equal(p->bridge, "br-rtv");
	assert_string_equal(p->vm_id, "vm1");
	assert_string_equal(p->type, "internal");
	assert_true(p->has_attached_mac);
	assert_memory_equal(p->attached_mac, mac, 6);
	assert_true(ofgw_ovsdb_port_is_vm(p));
	if (x.added.ofport <= 0)	/* vswitchd numbered it after the insert */
		assert_true(x.n_changed >= 1 && x.changed.ofport == p->ofport);

	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 del-port br-rtv vX", dir), 0);
	run_until(&x, port_gone, "vX", "vX removed");
	assert_int_equal(x.n_removed, 1);
	assert_string_equal(x.removed.name, "vX");
	assert_string_equal(x.removed.vm_id, "vm1");
	ctx_close(&x);
}

static bool port_mtu_1400(struct ctx *x, const void *name)
{
	const struct ofgw_ovsdb_port *p = ofgw_ovsdb_port_find(x->c, name);

	return p != NULL && p->mtu_request == 1400 && p->mtu == 1400;
}

/* mtu_request written by the client: OVS applies it to the device (the
 * kernel's MTU of the internal port, read back with ovs-vsctl and ip), and
 * the view reports both columns; bad arguments are refused up front. */
static void test_mtu_request(void **state)
{
	struct ofgw_ovsdb_stats st;
	struct ctx x;

	(void)state;
	ctx_open(&x);
	ensure(&x);
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 add-port br-rtv vM -- "
			    "set interface vM type=internal external_ids:vm-id=vm-m", dir), 0);
	run_until(&x, port_has_ofport, "vM", "vM with an ofport");
	assert_int_equal(ofgw_ovsdb_set_mtu_request(x.c, "vM", 67), -EINVAL);
	assert_int_equal(ofgw_ovsdb_set_mtu_request(x.c, "", 1400), -EINVAL);
	assert_int_equal(ofgw_ovsdb_set_mtu_request(x.c, "vM", 1400), 0);
	run_until(&x, port_mtu_1400, "vM", "vM at MTU 1400");
	expect_vsctl("get interface vM mtu_request", "1400");
	expect_vsctl("get interface vM mtu", "1400");
	/* a port that is not there: OVSDB updates no row, which is no error */
	assert_int_equal(ofgw_ovsdb_set_mtu_request(x.c, "nosuch", 1400), 0);
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 del-port br-rtv vM", dir), 0);
	run_until(&x, port_gone, "vM", "vM removed");
	ofgw_ovsdb_get_stats(x.c, &st);
	assert_int_equal(st.mtu_writes, 2);
	assert_int_equal(st.mtu_failures, 0);
	ctx_close(&x);
}

static bool disconnected(struct ctx *x, const void *arg)
{
	struct ofgw_ovsdb_stats st;

	(void)arg;
	ofgw_ovsdb_get_stats(x->c, &st);
	return st.disconnects >= 1;
}

static void test_server_restart(void **state)
{
	struct ofgw_ovsdb_stats st;
	unsigned added, changed, two = 2, ens;
	struct ctx x;

	(void)state;
	ctx_open(&x);
	assert_false(ensure(&x));
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 add-port br-rtv vA -- "
			    "set interface vA type=internal external_ids:vm-id=vmA "
			    "external_ids:attached-mac=02:00:00:00:0a:0a", dir), 0);
	run_until(&x, port_has_ofport, "vA", "vA with an ofport");
	added = x.n_added;
	changed = x.n_changed;
	ens = x.n_ensured;

	kill_pidfile("ovsdb.pid");
	run_until(&x, disconnected, NULL, "the disconnection");
	assert_false(ofgw_ovsdb_synced(x.c));
	assert_non_null(ofgw_ovsdb_port_find(x.c, "vA"));	/* the view is kept */
	assert_int_equal(start_server(), 0);
	/* a port added around the reconnection is reported exactly once */
	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 --no-wait add-port br-rtv vB -- "
			    "set interface vB type=internal external_ids:vm-id=vmB", dir), 0);
	run_until(&x, synced_n, &two, "the resync");
	run_until(&x, has_port, "vB", "vB");
	run_until(&x, ensured_n, &(unsigned){ ens + 1 }, "the re-ensure");
	assert_int_equal(x.ens_status, 0);
	assert_false(x.ens_changed);
	run_until(&x, port_has_ofport, "vB", "vB's ofport");

	assert_int_equal(x.n_added, added + 1);	/* vB only: vA, rtv-int, br-rtv not again */
	assert_string_equal(x.added.name, "vB");
	assert_int_equal(x.n_removed, 0);
	ofgw_ovsdb_get_stats(x.c, &st);
	assert_int_equal(st.disconnects, 1);
	assert_true(st.connects >= 2);
	assert_int_equal(st.txn_writes, 0);
	assert_int_equal(st.bad_msgs + st.too_big + st.bad_fields, 0);
	/* unchanged ports are not reported changed either (vB's ofport may be) */
	if (x.n_changed != changed)
		assert_string_equal(x.changed.name, "vB");

	assert_int_equal(sh("ovs-vsctl --db=unix:%s/db.sock --timeout=10 del-port vA -- del-port vB", dir), 0);
	run_until(&x, port_gone, "vB", "vB removed");
	run_until(&x, port_gone, "vA", "vA removed");
	assert_int_equal(x.n_removed, 2);
	ctx_close(&x);
}

static void test_no_server(void **state)
{
	struct ofgw_ovsdb_config cfg = { .remote = "unix:/nonexistent/rtv/db.sock", .bridge = "br-rtv",
					 .backoff_min_ms = 10, .backoff_max_ms = 20 };
	struct ofgw_ovsdb_stats st;
	char err[OFGW_OVSDB_ERRLEN];
	struct ctx x;
	uint64_t end;

	(void)state;
	memset(&x, 0, sizeof(x));
	assert_int_equal(uv_loop_init(&x.loop), 0);
	assert_int_equal(ofgw_ovsdb_new(&x.loop, &cfg, &ops, &x, &x.c, err), 0);
	assert_int_equal(ofgw_ovsdb_ensure_bridge(x.c, &spec, err), 0);	/* stored for later */
	assert_int_equal(ofgw_ovsdb_start(x.c), 0);
	uv_update_time(&x.loop);
	end = uv_now(&x.loop) + WAIT_MS;
	do {
		uv_run(&x.loop, UV_RUN_ONCE);
		ofgw_ovsdb_get_stats(x.c, &st);
	} while (st.connect_failures < 3 && uv_now(&x.loop) < end);
	assert_true(st.connect_failures >= 3);
	assert_int_equal(st.connects, 0);
	assert_int_equal(x.n_ensured, 0);
	assert_int_equal(x.n_synced, 0);
	ofgw_ovsdb_close(x.c, on_closed);
	assert_int_equal(uv_run(&x.loop, UV_RUN_DEFAULT), 0);
	ofgw_ovsdb_free(x.c);
	assert_int_equal(uv_loop_close(&x.loop), 0);
}

static void test_config_errors(void **state)
{
	static const struct {
		struct ofgw_ovsdb_config cfg;
		int rc;
		const char *msg;
	} cases[] = {
		{ { .remote = "tcp:127.0.0.1:6640", .bridge = "br-rtv" }, -EINVAL, "unix:PATH" },
		{ { .remote = "unix:", .bridge = "br-rtv" }, -ENAMETOOLONG, "socket path" },
		{ { .remote = "/x", .bridge = "" }, -EINVAL, "bridge" },
		{ { .remote = "/x", .bridge = NULL }, -EINVAL, "bridge" },
		{ { .remote = "/x", .bridge = "b", .backoff_min_ms = 5, .backoff_max_ms = 1 }, -EINVAL,
		  "backoff" },
	};
	struct ofgw_ovsdb *c = (struct ofgw_ovsdb *)1;
	char err[OFGW_OVSDB_ERRLEN];
	uv_loop_t loop;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (ofgw_ovsdb_new(&loop, &cases[i].cfg, NULL, NULL, &c, err) != cases[i].rc ||
		    c != NULL || !strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s'", i, err);
	}
	/* never started: close completes at once, nothing on the loop */
	assert_int_equal(ofgw_ovsdb_new(&loop, &(struct ofgw_ovsdb_config){ .bridge = "br-rtv" }, NULL,
					NULL, &c, err), 0);
	ofgw_ovsdb_close(c, on_closed);
	ofgw_ovsdb_free(c);
	ofgw_ovsdb_free(NULL);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_ensure_bridge),
		cmocka_unit_test(test_vm_port),
		cmocka_unit_test(test_mtu_request),
		cmocka_unit_test(test_server_restart),
	};

	rtv_log_init("test_ovsdb_live", RTV_LOG_WARN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
