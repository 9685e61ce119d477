/* bench_of.c — the OpenFlow gateway against a real Open vSwitch (issue 5,
 * group `of`).
 *
 * Runs in a network namespace of its own with a private ovsdb-server +
 * ovs-vswitchd (bench/ovs_env.h): bridge `brof` (controller: the gateway in
 * this process) and bridge `brbase` (no controller) for the ovs-ofctl
 * baselines, both userspace (netdev) and speaking OpenFlow 1.3. The flows
 * are 10,000 rtpath marking flows (cookie, in_port, udp 5-tuple, set DSCP,
 * goto_table), the same text for ovs-ofctl.
 *
 *   of.flowmods_per_s          10k flow-adds + barrier through the gateway
 *                              (set_rtpaths to the `synced` hook), median of 3;
 *                              baseline ovs-ofctl-per-flow: `ovs-ofctl add-flow`
 *                              once per flow, measured on 300 flows and
 *                              expressed as flows/s (extrapolated)
 *   of.flowmods_per_s.vs_file  the same figure; baseline ovs-ofctl-file: one
 *                              `ovs-ofctl add-flows FILE` of the 10k flows
 *   of.reconcile_ms.10k_nochange  a controller restart with the 10k flows
 *                              installed and nothing changed: dump request to
 *                              barrier reply, median of 5; baseline
 *                              ovs-ofctl-replace-flows (dump, diff, apply the
 *                              same 10k flows on brbase)
 *   of.reconcile_ms.10k_1pct   the same with 100 rtpaths' DSCP changed while
 *                              the controller was away (100 flow-mods);
 *                              baseline: replace-flows with the same change
 *
 * of.commit_to_flows.p99_ms needs rtvd (Raft commit to flows on both
 * hosts) is measured with rtvd in bench_ofcommit.c (group ofcommit).
 * Needs root and Open vSwitch; otherwise it says why and exits 0.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "bench/ovs_env.h"
#include "bench/report.h"
#include "common/log.h"
#include "consensus/consensus.h"
#include "ofgw/ofgw.h"

#define N_FLOWS 10000
#define N_CHANGED (N_FLOWS / 100)
#define N_PER_FLOW_CLI 300
#define PORT 17610
#define WAIT_NS 60000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct ovs_env env;
static struct cons_rtpath paths[N_FLOWS];

struct gw {
	uv_loop_t loop;
	uv_timer_t wake;
	struct ofgw *o;
	int n_synced;
	struct ofgw_sync last;
};

static void die(const char *what)
{
	fprintf(stderr, "bench_of: %s (OVS logs in %s)\n", what, env.dir);
	ovs_env_stop(&env);
	exit(1);
}

static void wake_cb(uv_timer_t *t)
{
	(void)t;
}

static void on_synced(void *arg, const struct ofgw_sync *s)
{
	struct gw *g = arg;

	g->n_synced++;
	g->last = *s;
}

static void gw_open(struct gw *g)
{
	static const struct ofgw_vm_port vm = { .name = "vm1", .mac = { 2, 0, 0, 0, 1, 1 },
						.ips = { IP(10, 0, 1, 11) }, .n_ips = 1 };
	struct ofgw_config cfg = { .listen = "127.0.0.1:17610", .host_id = 1,
				   .host_ip = IP(10, 0, 1, 1), .uplink_port = "up0",
				   .control = { { 6, 17100 } }, .n_control = 1 };
	struct ofgw_hooks hooks = { .arg = g, .synced = on_synced };
	char err[OFGW_ERRLEN];

	memset(g, 0, sizeof(*g));
	uv_loop_init(&g->loop);
	uv_timer_init(&g->loop, &g->wake);
	uv_timer_start(&g->wake, wake_cb, 20, 20);
	if (ofgw_new(&g->loop, &cfg, &hooks, &g->o, err) != 0 ||
	    ofgw_set_vm_ports(g->o, &vm, 1, err) != 0 || ofgw_start(g->o, err) != 0)
		die(err);
	ovs_env_reconnect(&env, "brof");
}

static void gw_close(struct gw *g)
{
	ofgw_close(g->o, NULL);
	uv_close((uv_handle_t *)&g->wake, NULL);
	while (uv_run(&g->loop, UV_RUN_ONCE))
		;
	ofgw_free(g->o);
	uv_loop_close(&g->loop);
}

/* Runs the loop until a batch beyond `seen` completes. */
static void wait_batch(struct gw *g, int seen)
{
	uint64_t end = bench_now_ns() + WAIT_NS;

	while (g->n_synced <= seen) {
		if (bench_now_ns() > end)
			die("no barrier reply within 60 s");
		uv_run(&g->loop, UV_RUN_ONCE);
	}
	if (g->last.errors)
		die("the switch refused flows");
}

static void make_paths(uint8_t dscp_first)
{
	for (int i = 0; i < N_FLOWS; i++) {
		struct cons_rtpath *p = &paths[i];

		memset(p, 0, sizeof(*p));
		p->id = (uint64_t)i + 1;
		p->src_host = 1;
		p->req.src_ip = IP(10, 0, 1, 11);
		p->req.dst_ip = IP(10, 0, 2 + i / 250, 1 + i % 250);
		p->req.proto = 17;
		p->req.dport = (uint16_t)(5000 + i % 100);
		p->dscp = i < N_CHANGED ? dscp_first : 46;
	}
}

/* The same flows in ovs-ofctl's syntax. */
static void write_flow_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("cannot write the flow file");
	for (int i = 0; i < N_FLOWS; i++) {
		const struct cons_rtpath *p = &paths[i];

		fprintf(f, "table=0,priority=502,cookie=0x%llx,udp,in_port=1,nw_src=10.0.1.11,"
			"nw_dst=10.0.%u.%u,tp_dst=%u,actions=set_field:%u->ip_dscp,goto_table:1\n",
			(unsigned long long)ofgw_cookie(OFGW_COOKIE_RTPATH, p->id),
			p->req.dst_ip >> 8 & 255, p->req.dst_ip & 255, p->req.dport, p->dscp);
	}
	fclose(f);
}


/* ------------------------------------------------------------------------- */

static double gateway_install_rate(struct gw *g)
{
	double rate[3];

	for (int r = 0; r < 3; r++) {
		int seen = g->n_synced;
		uint64_t t0 = bench_now_ns();

		make_paths(46);
		ofgw_set_rtpaths(g->o, paths, N_FLOWS);
		wait_batch(g, seen);
		rate[r] = g->last.added / ((bench_now_ns() - t0) / 1e9);
		if (g->last.added != N_FLOWS)
			die("the install batch did not add 10k flows");
		if (r < 2) {
			seen = g->n_synced;
			ofgw_set_rtpaths(g->o, NULL, 0);
			wait_batch(g, seen);
		}
	}
	return bench_median(rate, 3);
}

/* Seconds that a command takes (fork/exec included: that is the baseline). */
static double timed_run(const char *what, const char *cmd)
{
	uint64_t t0 = bench_now_ns();

	if (ovs_env_run(&env, NULL, 0, "%s", cmd) != 0)
		die(what);
	return (bench_now_ns() - t0) / 1e9;
}

static double cli_per_flow_rate(void)
{
	char cmd[512];
	double s;

	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt %d ]; do ovs-ofctl -O OpenFlow13 add-flow brbase "
		 "\"table=0,priority=502,udp,in_port=1,nw_src=10.0.1.11,nw_dst=10.1.0.1,"
		 "tp_dst=$((1000 + i)),actions=set_field:46->ip_dscp,goto_table:1\" || exit 1; "
		 "i=$((i + 1)); done", N_PER_FLOW_CLI);
	s = timed_run("ovs-ofctl add-flow loop", cmd);
	return N_PER_FLOW_CLI / s;
}

static double ofctl_file(const char *verb, const char *file)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "ovs-ofctl -O OpenFlow13 %s brbase %s", verb, file);
	return timed_run(verb, cmd);
}

static double reconcile_ms(struct gw *g)
{
	gw_close(g);
	gw_open(g);
	ofgw_set_rtpaths(g->o, paths, N_FLOWS);
	wait_batch(g, 0);
	if (!g->last.full)
		die("expected a reconciliation");
	return g->last.duration_ns / 1e6;
}

int main(void)
{
	char file[128], file2[128];
	double ours, per_flow, file_s, rc_same[5], rc_1pct[5], rp_same, rp_1pct;
	struct gw g;

	rtv_log_init("bench_of", RTV_LOG_WARN);
	if (geteuid() != 0) {
		printf("bench_of: skipped (needs root: network namespaces)\n");
		return BENCH_SKIPPED;
	}
	if (!ovs_env_available()) {
		fprintf(stderr, "bench_of: Open vSwitch is missing (make deps)\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0) {
		fprintf(stderr, "bench_of: cannot make a network namespace\n");
		return 1;
	}
	if (ovs_env_start(&env) != 0 || ovs_env_add_bridge(&env, "brof", PORT) != 0 ||
	    ovs_env_add_bridge(&env, "brbase", 0) != 0 ||
	    ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB add-port brof vm1 -- set interface "
			"vm1 type=internal ofport_request=1 -- add-port brof up0 -- set interface "
			"up0 type=internal") != 0)
		die("cannot set up Open vSwitch");
	gw_open(&g);
	wait_batch(&g, 0);

	ours = gateway_install_rate(&g);
	per_flow = cli_per_flow_rate();
	snprintf(file, sizeof(file), "%s/flows.txt", env.dir);
	snprintf(file2, sizeof(file2), "%s/flows1pct.txt", env.dir);
	make_paths(46);
	write_flow_file(file);
	if (ovs_env_run(&env, NULL, 0, "ovs-ofctl -O OpenFlow13 del-flows brbase") != 0)
		die("del-flows");
	file_s = ofctl_file("add-flows", file);
	printf("  gateway: %d flow-adds + barrier at %.0f/s; ovs-ofctl add-flow: %.1f flows/s "
	       "(%d flows, extrapolated); add-flows FILE: %.0f flows/s\n", N_FLOWS, ours, per_flow,
	       N_PER_FLOW_CLI, N_FLOWS / file_s);
	bench_report("of.flowmods_per_s", ours, "flowmods/s", BENCH_HIGHER, "ovs-ofctl-per-flow",
		     per_flow);
	bench_report("of.flowmods_per_s.vs_file", ours, "flowmods/s", BENCH_HIGHER,
		     "ovs-ofctl-file", N_FLOWS / file_s);

	/* reconciliation: brof holds the 10k flows from the last install */
	for (int r = 0; r < 5; r++)
		rc_same[r] = reconcile_ms(&g);
	for (int r = 0; r < 5; r++) {
		make_paths(r % 2 ? 46 : 34);
		rc_1pct[r] = reconcile_ms(&g);
		if (g.last.modified != N_CHANGED)
			die("the 1% reconciliation did not modify exactly 100 flows");
	}
	make_paths(34);
	write_flow_file(file2);
	rp_same = ofctl_file("replace-flows", file);
	rp_1pct = ofctl_file("replace-flows", file2);
	bench_report("of.reconcile_ms.10k_nochange", bench_median(rc_same, 5), "ms", BENCH_LOWER,
		     "ovs-ofctl-replace-flows", rp_same * 1e3);
	bench_report("of.reconcile_ms.10k_1pct", bench_median(rc_1pct, 5), "ms", BENCH_LOWER,
		     "ovs-ofctl-replace-flows", rp_1pct * 1e3);
	printf("  of.commit_to_flows.p99_ms: see group ofcommit (bench_ofcommit.c)\n");
	gw_close(&g);
	ovs_env_stop(&env);
	return 0;
}
