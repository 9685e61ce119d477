/* test_ofgw_ovs.c — the OpenFlow gateway against a real Open vSwitch.
 *
 * The test enters a network namespace of its own (so its bridge's and
 * ports' tap devices and its TCP port cannot meet anyone else's), starts a
 * private ovsdb-server + ovs-vswitchd (bench/ovs_env.h) with one netdev
 * bridge whose controller is us on 127.0.0.1:17601, and drives the gateway
 * on a libuv loop in this process. `ovs-ofctl dump-flows` is the witness.
 *
 * Covers: the base pipeline installed on first contact; a controller
 * restart with unchanged inputs sends no flow-mod at all; an OVS restart
 * gets every flow back; rtpath admitted / shadowed / released / escalated
 * produce exactly the expected flow-mods; stale and foreign flows are
 * removed; a port appearing gets its flows; port counters and packet-out;
 * a bridge without OpenFlow 1.3 is refused. Skipped (not failed) without
 * root or Open vSwitch. Every test ends with the loop closing cleanly.
 */
#include <errno.h>
#include <sched.h>
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

#include "bench/ovs_env.h"
#include "common/log.h"
#include "consensus/consensus.h"
#include "ofgw/ofgw.h"

#define PORT 17601
#define BR "br0"
#define WAIT_MS 20000
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct ovs_env env;
static bool have_ovs;
static struct ctl *open_ctl;
static struct ctl the_ctl;	/* closed by the teardown when a test fails */

struct ctl {
	uv_loop_t loop;
	uv_timer_t wake;
	struct ofgw *o;
	int n_connected, n_disconnected, n_synced, n_errors;
	struct ofgw_sync last;
	int stats_status;
	size_t stats_n;
	bool stats_done;
};

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */

static void wake_cb(uv_timer_t *t)
{
	(void)t;
}

static void on_connected(void *arg, uint64_t dpid)
{
	(void)dpid;
	((struct ctl *)arg)->n_connected++;
}

static void on_disconnected(void *arg, const char *why)
{
	(void)why;
	((struct ctl *)arg)->n_disconnected++;
}

static void on_synced(void *arg, const struct ofgw_sync *s)
{
	struct ctl *c = arg;

	c->n_synced++;
	c->last = *s;
}

static void on_error(void *arg, const struct ofgw_error *e)
{
	(void)e;
	((struct ctl *)arg)->n_errors++;
}

static const struct ofgw_vm_port vms[] = {
	{ .name = "vm1", .mac = { 2, 0, 0, 0, 1, 1 }, .ips = { IP(10, 0, 1, 11) }, .n_ips = 1 },
	{ .name = "vm2", .mac = { 2, 0, 0, 0, 1, 2 }, .ips = { IP(10, 0, 1, 12) }, .n_ips = 1 },
	{ .name = "vm3", .mac = { 2, 0, 0, 0, 1, 3 }, .ips = { IP(10, 0, 1, 13) }, .n_ips = 1 },
};

static void ctl_open(struct ctl *c)
{
	struct ofgw_config cfg = {
		.listen = "127.0.0.1:17601", .host_id = 1, .host_ip = IP(10, 0, 1, 1),
		.offhost_port = "rtv-int", .uplink_port = "up0",
		.control = { { 6, 17100 }, { 6, 17101 }, { 17, 17102 } }, .n_control = 3,
	};
	struct ofgw_hooks hooks = { .arg = c, .connected = on_connected,
				    .disconnected = on_disconnected, .synced = on_synced,
				    .error = on_error };
	char err[OFGW_ERRLEN] = "";

	memset(c, 0, sizeof(*c));
	assert_int_equal(uv_loop_init(&c->loop), 0);
	assert_int_equal(uv_timer_init(&c->loop, &c->wake), 0);
	assert_int_equal(uv_timer_start(&c->wake, wake_cb, 20, 20), 0);
	if (ofgw_new(&c->loop, &cfg, &hooks, &c->o, err) != 0)
		fail_msg("ofgw_new: %s", err);
	assert_int_equal(ofgw_set_vm_ports(c->o, vms, 3, err), 0);
	open_ctl = c;
	if (ofgw_start(c->o, err) != 0)
		fail_msg("ofgw_start: %s", err);
	if (have_ovs)
		ovs_env_reconnect(&env, BR);	/* not OVS's backoff: see ovs_env.h */
}

static bool run_until(struct ctl *c, bool (*done)(struct ctl *c))
{
	uint64_t end;

	uv_update_time(&c->loop);
	end = uv_now(&c->loop) + WAIT_MS;
	while (!done(c)) {
		uv_update_time(&c->loop);
		if (uv_now(&c->loop) > end)
			return false;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
	return true;
}

static bool is_synced(struct ctl *c)
{
	struct ofgw_stats st;

	ofgw_get_stats(c->o, &st);
	return st.synced && c->n_synced > 0;
}

static void wait_synced(struct ctl *c)
{
	if (!run_until(c, is_synced))
		fail_msg("the gateway did not reach the synced state (log in %s)", env.dir);
}

static bool closed;

static void on_closed(struct ofgw *o)
{
	(void)o;
	closed = true;
}

/* Closes the gateway and checks that the loop ends with nothing open. */
static void ctl_close(struct ctl *c)
{
	open_ctl = NULL;
	closed = false;
	ofgw_close(c->o, on_closed);
	uv_close((uv_handle_t *)&c->wake, NULL);
	while (uv_run(&c->loop, UV_RUN_ONCE))
		;
	assert_true(closed);
	ofgw_free(c->o);
	assert_int_equal(uv_loop_close(&c->loop), 0);
}

static uint64_t flow_mods(struct ctl *c)
{
	struct ofgw_stats st;

	ofgw_get_stats(c->o, &st);
	return st.flow_mods;
}

static size_t n_desired(struct ctl *c)
{
	struct ofgw_stats st;

	ofgw_get_stats(c->o, &st);
	return st.n_desired;
}

static void dump_flows(char *out, size_t len)
{
	assert_int_equal(ovs_env_run(&env, out, len, "ovs-ofctl -O OpenFlow13 --no-stats "
				     "dump-flows %s | sort", BR), 0);
}

static void assert_has(const char *dump, const char *line)
{
	if (strstr(dump, line) == NULL) {
		fprintf(stderr, "dump-flows has:\n%s", dump);
		fail_msg("dump-flows lacks '%s'", line);
	}
}

static struct cons_rtpath rtpath(uint64_t id, uint16_t dport, uint8_t dscp)
{
	struct cons_rtpath p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.req.src_ip = IP(10, 0, 1, 11);
	p.req.dst_ip = IP(10, 0, 2, 11);
	p.req.proto = 17;
	p.req.dport = dport;
	p.req.type = CONS_PATH_DEADLINE;
	p.src_host = 1;
	p.dst_host = 2;
	p.dscp = dscp;
	p.tc = 5;
	return p;
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                     */

static int skip_without_ovs(void **state)
{
	(void)state;
	if (!have_ovs)
		skip();
	return 0;
}

/* First contact: every desired flow is added and shows in dump-flows. */
static void test_install_base(void **state)
{
	static char dump[65536];
	struct ctl *cp = &the_ctl;

	skip_without_ovs(state);
	assert_int_equal(ovs_env_run(&env, NULL, 0, "ovs-ofctl -O OpenFlow13 del-flows %s", BR), 0);
	ctl_open(cp);
	wait_synced(cp);
	assert_true(cp->last.full);
	assert_int_equal(cp->last.added, n_desired(cp));
	assert_int_equal(cp->last.deleted + cp->last.modified + cp->last.errors, 0);
	assert_int_equal(ovs_env_count_flows(&env, BR), (int)n_desired(cp));
	dump_flows(dump, sizeof(dump));
	/* vm1 is port 1, vm2 port 2, vm3 port 3, up0 port 4 (added in that order) */
	assert_has(dump, "cookie=0x400000000000001, table=1, priority=300,dl_dst=02:00:00:00:01:01 "
		   "actions=output:1");
	assert_has(dump, "cookie=0x400000000000002, priority=100,ip,in_port=2 "
		   "actions=set_field:0->ip_dscp,goto_table:1");
	assert_has(dump, "cookie=0x400000000000003, table=1, priority=100,in_port=3 actions=output:4");
	assert_has(dump, "cookie=0x100000000000000, table=1, priority=200,"
		   "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=FLOOD");
	assert_has(dump, "cookie=0x100000000000000, table=1, priority=100,in_port=LOCAL "
		   "actions=output:4");
	assert_has(dump, "cookie=0x2000000000042cc, priority=60000,tcp,in_port=LOCAL,"
		   "nw_src=10.0.1.1,tp_dst=17100 actions=set_field:48->ip_dscp,goto_table:1");
	assert_has(dump, "cookie=0x2000000000042ce, priority=60000,udp,in_port=LOCAL,"
		   "nw_src=10.0.1.1,tp_src=17102 actions=set_field:48->ip_dscp,goto_table:1");
	assert_has(dump, "cookie=0x100000000000000, table=1, priority=0 actions=drop");
	ctl_close(cp);
}

/* A controller restart with the same inputs: nothing is sent but the dump
 * and one barrier. */
static void test_restart_no_churn(void **state)
{
	struct ctl *cp = &the_ctl;

	skip_without_ovs(state);
	for (int round = 0; round < 2; round++) {
		ctl_open(cp);
		wait_synced(cp);
		assert_true(cp->last.full);
		if (round == 1) {
			assert_int_equal(cp->last.added + cp->last.modified + cp->last.deleted, 0);
			assert_int_equal(cp->last.unchanged, n_desired(cp));
			assert_int_equal(flow_mods(cp), 0);
		}
		ctl_close(cp);
	}
}

static bool is_reconnected(struct ctl *c)
{
	return c->n_connected >= 2 && is_synced(c) && c->last.full;
}

/* ovs-vswitchd restarts with an empty table (netdev bridge): it comes back
 * to us and gets every flow again. */
static void test_ovs_restart(void **state)
{
	struct ctl *cp = &the_ctl;
	int n;

	skip_without_ovs(state);
	ctl_open(cp);
	wait_synced(cp);
	assert_int_equal(ovs_env_stop_vswitchd(&env), 0);
	assert_int_equal(ovs_env_start_vswitchd(&env), 0);
	cp->n_synced = 0;
	assert_true(run_until(cp, is_reconnected));
	n = (int)n_desired(cp);
	assert_int_equal(cp->last.added, n);
	assert_int_equal(ovs_env_count_flows(&env, BR), n);
	printf("    OVS restart: %d flows restored %.1f ms after the dump request\n", n,
	       cp->last.duration_ns / 1e6);
	ctl_close(cp);
}

static bool batch_seen(struct ctl *c)
{
	return c->n_synced > 0 && is_synced(c);
}

/* Waits for the next batch and checks its counts. */
static void expect_batch(struct ctl *c, uint32_t added, uint32_t modified, uint32_t deleted)
{
	c->n_synced = 0;
	assert_true(run_until(c, batch_seen));
	assert_false(c->last.full);
	assert_int_equal(c->last.added, added);
	assert_int_equal(c->last.modified, modified);
	assert_int_equal(c->last.deleted, deleted);
	assert_int_equal(c->last.errors, 0);
}

/* Runs the loop a little and checks that no flow-mod went out. */
static void expect_nothing(struct ctl *c, uint64_t mods_before)
{
	for (int i = 0; i < 10; i++)
		uv_run(&c->loop, UV_RUN_NOWAIT);
	assert_int_equal(flow_mods(c), mods_before);
}

static void test_rtpath_changes(void **state)
{
	static char dump[65536];
	struct cons_rtpath a = rtpath(7, 5000, 46), b = rtpath(9, 5000, 34);
	struct cons_rtpath other_host = rtpath(11, 6000, 46);
	uint64_t mods;
	struct ctl *cp = &the_ctl;

	skip_without_ovs(state);
	ctl_open(cp);
	wait_synced(cp);
	assert_int_equal(ofgw_rtpath_upsert(cp->o, &a), 0);
	expect_batch(cp, 1, 0, 0);
	dump_flows(dump, sizeof(dump));
	assert_has(dump, "cookie=0x300000000000007, priority=502,udp,in_port=1,nw_src=10.0.1.11,"
		   "nw_dst=10.0.2.11,tp_dst=5000 actions=set_field:46->ip_dscp,goto_table:1");
	/* b has a's tuple: a (lower id) keeps the entry */
	mods = flow_mods(cp);
	assert_int_equal(ofgw_rtpath_upsert(cp->o, &b), 0);
	expect_nothing(cp, mods);
	/* another host's rtpath: nothing here */
	other_host.src_host = 2;
	assert_int_equal(ofgw_rtpath_upsert(cp->o, &other_host), 0);
	expect_nothing(cp, mods);
	/* a released: b takes the entry over (cookie and DSCP change) */
	assert_int_equal(ofgw_rtpath_remove(cp->o, a.id), 0);
	expect_batch(cp, 0, 1, 0);
	dump_flows(dump, sizeof(dump));
	assert_has(dump, "cookie=0x300000000000009, priority=502,udp,in_port=1,nw_src=10.0.1.11,"
		   "nw_dst=10.0.2.11,tp_dst=5000 actions=set_field:34->ip_dscp,goto_table:1");
	/* escalation changes the MPLS TC, not the DSCP: no flow-mod */
	b.level = 1;
	b.tc = 6;
	mods = flow_mods(cp);
	assert_int_equal(ofgw_rtpath_upsert(cp->o, &b), 0);
	expect_nothing(cp, mods);
	assert_int_equal(ofgw_rtpath_remove(cp->o, b.id), 0);
	expect_batch(cp, 0, 0, 1);
	assert_int_equal(ofgw_rtpath_remove(cp->o, b.id), -ENOENT);
	assert_int_equal(ovs_env_count_flows(&env, BR), (int)n_desired(cp));
	ctl_close(cp);
}

/* Flows the inputs do not imply are removed, ours and foreign alike. */
static void test_stale_removed(void **state)
{
	struct ctl *cp = &the_ctl;

	skip_without_ovs(state);
	assert_int_equal(ovs_env_run(&env, NULL, 0,
		"ovs-ofctl -O OpenFlow13 add-flow %s 'priority=7,ip,nw_tos=8 actions=drop' && "
		"ovs-ofctl -O OpenFlow13 add-flow %s 'cookie=0x3000000000000063,priority=502,udp,"
		"in_port=1,nw_src=10.0.1.11,nw_dst=10.9.9.9,tp_dst=9 actions=goto_table:1' && "
		"ovs-ofctl -O OpenFlow13 add-flow %s 'cookie=0x55,table=3,priority=9,tcp,"
		"tcp_flags=+syn actions=drop'", BR, BR, BR), 0);
	ctl_open(cp);
	wait_synced(cp);
	assert_int_equal(cp->last.added + cp->last.modified, 0);
	assert_int_equal(cp->last.deleted, 3);
	assert_int_equal(ovs_env_count_flows(&env, BR), (int)n_desired(cp));
	ctl_close(cp);
}

static bool has_port_vm3(struct ctl *c)
{
	return ofgw_port_by_name(c->o, "vm3") != NULL && is_synced(c);
}

static void on_port_stats(void *arg, int status, const struct ofgw_port_stats *st, size_t n)
{
	struct ctl *c = arg;

	(void)st;
	c->stats_status = status;
	c->stats_n = n;
	c->stats_done = true;
}

static bool stats_done(struct ctl *c)
{
	return c->stats_done;
}

/* A VM port leaving and coming back, port counters, packet-out. */
static void test_ports(void **state)
{
	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 1, 1,
					 0x08, 0x06 };
	struct ctl *cp = &the_ctl;
	size_t n;

	skip_without_ovs(state);
	ctl_open(cp);
	wait_synced(cp);
	n = n_desired(cp);
	assert_int_equal(ofgw_request_port_stats(cp->o, on_port_stats, cp), 0);
	assert_int_equal(ofgw_request_port_stats(cp->o, on_port_stats, cp), -EBUSY);
	assert_true(run_until(cp, stats_done));
	assert_int_equal(cp->stats_status, 0);
	assert_int_equal(cp->stats_n, 5);	/* vm1..3, up0, LOCAL */
	assert_int_equal(ofgw_packet_out(cp->o, OFGW_PORT_CONTROLLER, OFGW_PORT_FLOOD, arp,
					 sizeof(arp)), 0);
	assert_int_equal(ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB del-port %s vm3", BR), 0);
	assert_true(run_until(cp, is_synced));
	run_until(cp, batch_seen);
	while (ofgw_port_by_name(cp->o, "vm3") != NULL || !is_synced(cp))
		uv_run(&cp->loop, UV_RUN_ONCE);
	assert_int_equal(n_desired(cp), n - 3);
	assert_int_equal(ovs_env_count_flows(&env, BR), (int)n - 3);
	assert_int_equal(ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB add-port %s vm3 -- "
				     "set interface vm3 type=internal ofport_request=3", BR), 0);
	assert_true(run_until(cp, has_port_vm3));
	while (n_desired(cp) != n || !is_synced(cp))
		uv_run(&cp->loop, UV_RUN_ONCE);
	assert_int_equal(ovs_env_count_flows(&env, BR), (int)n);
	assert_int_equal(cp->n_errors, 0);
	ctl_close(cp);
}

static bool refused(struct ctl *c)
{
	return c->n_disconnected > 0;
}

/* A bridge limited to OpenFlow 1.0 is answered with HELLO_FAILED. */
static void test_version_refused(void **state)
{
	char log[256];
	struct ctl *cp = &the_ctl;

	skip_without_ovs(state);
	assert_int_equal(ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB set bridge %s "
				     "protocols=OpenFlow10", BR), 0);
	ctl_open(cp);
	assert_true(run_until(cp, refused));
	assert_int_equal(cp->n_connected, 0);
	ctl_close(cp);
	assert_int_equal(ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB set bridge %s "
				     "protocols=OpenFlow13", BR), 0);
	assert_int_equal(ovs_env_run(&env, log, sizeof(log), "grep -c 'version negotiation failed' "
				     "$OVS_RUNDIR/vsd.log"), 0);
}

/* ------------------------------------------------------------------------- */

static int teardown(void **state)
{
	(void)state;
	if (open_ctl != NULL)
		ctl_close(open_ctl);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	rtv_log_init("test_ofgw_ovs", getenv("RTV_LOG") ? RTV_LOG_DEBUG : RTV_LOG_WARN);
	if (geteuid() != 0 || !ovs_env_available()) {
		fprintf(stderr, "test_ofgw_ovs: skipped (needs root and Open vSwitch)\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0) {
		fprintf(stderr, "test_ofgw_ovs: skipped (cannot make a network namespace)\n");
		return 0;
	}
	if (ovs_env_start(&env) != 0 || ovs_env_add_bridge(&env, BR, PORT) != 0)
		return -1;
	if (ovs_env_run(&env, NULL, 0,
			"for p in vm1 vm2 vm3 up0; do ovs-vsctl --db=$DB add-port %s $p -- "
			"set interface $p type=internal || exit 1; done", BR) != 0)
		return -1;
	have_ovs = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ovs_env_stop(&env);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_install_base, teardown),
		cmocka_unit_test_teardown(test_restart_no_churn, teardown),
		cmocka_unit_test_teardown(test_rtpath_changes, teardown),
		cmocka_unit_test_teardown(test_stale_removed, teardown),
		cmocka_unit_test_teardown(test_ports, teardown),
		cmocka_unit_test_teardown(test_ovs_restart, teardown),
		cmocka_unit_test_teardown(test_version_refused, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
