/* bench_ofcommit.c — from a reservation's commit to its flows in Open vSwitch
 * (issue 5, group `ofcommit`).
 *
 * Two rtvd processes (a 2-voter rack on loopback) in a network namespace of
 * this benchmark's own, each the controller of its own bridge, with [ovs]
 * enabled as in production: each learns its VM port from OVSDB (external_ids
 * vm-id, attached-mac, ip-address) and programs its bridge. The two bridges
 * (userspace netdev) live in ONE private Open vSwitch (bench/ovs_env.h):
 * two ovs-vswitchd in one namespace would both create the netdev
 * datapath's "ovs-netdev" tap, and two namespaces would take rtvd's Raft
 * off loopback. One vswitchd serves both hosts' flow-mods in its one main
 * thread, which can only make the figure worse.
 *
 * 200 reservations (after 10 of warm-up) are submitted one at a time through
 * host 1's agent, alternating direction: vm1 (host 1) -> vm2 (host 2), then
 * vm2 -> vm1, so half of them must reach the OTHER host's bridge through
 * Raft replication and that host's gateway. An rtpath's flow lives on its
 * sending host only (ofgw.h: the marking flow at the VM's port; the
 * receiver's pipeline does not change), so "its flows present on both
 * hosts" means: on the host(s) whose flows it changes.
 *
 * How presence is observed. Each bridge is watched by `ovs-ofctl -O
 * OpenFlow13 monitor BR watch:` (an OpenFlow flow monitor on a second,
 * service connection): ovs-vswitchd reports every flow added to its table,
 * after the flow-mod took effect. A reader thread timestamps each "event=
 * ADDED ... cookie=0x3<id>" line as it arrives, concurrently with the
 * submit, so the time is an upper bound (it includes the monitor's
 * notification and ovs-ofctl's printing) and never waits for the client.
 * Polling `ovs-ofctl dump-flows` would cost a process per poll and quantise
 * the answer to the poll period.
 *
 *   of.commit_to_flows.p99_ms  p99 over the 200 of: submit -> (the client
 *                              has the commit AND the flow is in the
 *                              sender's bridge), i.e. when both the caller
 *                              and the network can count on it;
 *                              baseline commit-only: submit -> the client
 *                              has the commit (the same runs).
 * The gap between the two is what programming the switches adds to a
 * commit; also printed: p50s and the flow's lag behind the reply.
 *
 * Needs root, Open vSwitch and build/bin/rtvd (or $RTVD); otherwise it says
 * why and exits 0. Ports 18111-18112 (Raft), 18161-18162 (RPC), 18191-18192
 * (OpenFlow), inside its own namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc/client.h"
#include "bench/ovs_env.h"
#include "bench/rack.h"
#include "bench/report.h"
#include "common/log.h"
#include "consensus/consensus.h"

#define N_WARM 10
#define N_RUNS 200
#define N_IDS (N_WARM + N_RUNS + 16)
#define WAIT_NS 5000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct host {
	char br[16], vm[16], up[16];
	uint32_t vm_ip;
	char conf[256], log[256], sock[256];
	pid_t rtvd, mon;
	int mon_fd;
};

static struct ovs_env env;
static struct host hosts[2];
static volatile sig_atomic_t interrupted;
static char dir[64];
/* when each rtpath's flow was seen added, per bridge (0: not yet) */
static uint64_t seen_ns[2][N_IDS];
static volatile int reader_stop;

static void cleanup(void);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	char cmd[600];

	va_start(ap, fmt);
	fprintf(stderr, "bench_ofcommit: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	for (int h = 0; h < 2; h++) {
		snprintf(cmd, sizeof(cmd), "tail -n 8 %s 1>&2", hosts[h].log);
		if (hosts[h].log[0] && system(cmd) != 0)
			fprintf(stderr, "(no log for host %d)\n", h + 1);
	}
	cleanup();
	exit(1);
}

/* ------------------------------------------------------------------------- */
/* Processes                                                                 */

static void stop_pid(pid_t *pid, int sig)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	for (int i = 0; i < 150 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
		nanosleep(&ts, NULL);
	if (kill(*pid, 0) == 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void remove_dir(void)
{
	char cmd[128];

	if (dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (getenv("RTV_KEEP_OVS") == NULL && system(cmd) != 0)
		fprintf(stderr, "bench_ofcommit: could not remove %s\n", dir);
	dir[0] = '\0';
}

static void cleanup(void)
{
	reader_stop = 1;
	for (int h = 0; h < 2; h++) {
		stop_pid(&hosts[h].rtvd, SIGTERM);
		stop_pid(&hosts[h].mon, SIGTERM);
	}
	ovs_env_stop(&env);
	remove_dir();
}

static pid_t spawn(const char *path, char *const argv[], const char *out, int *pipe_fd)
{
	int fds[2] = { -1, -1 };
	pid_t pid;

	if (pipe_fd && pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = pipe_fd ? fds[1] : open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		if (pipe_fd)
			close(fds[0]);
		execv(path, argv);
		_exit(127);
	}
	if (pipe_fd) {
		close(fds[1]);
		*pipe_fd = fds[0];
	}
	return pid;
}

static const char *rtvd_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("RTVD"))
		return getenv("RTVD");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "build/bin/rtvd";
	exe[n] = '\0';
	snprintf(buf, len, "%s/../bin/rtvd", dirname(exe));	/* build/bench/ -> build/bin/ */
	return buf;
}

/* ------------------------------------------------------------------------- */
/* Set-up                                                                    */

static void setup_ovs(int h)
{
	struct host *x = &hosts[h];

	snprintf(x->br, sizeof(x->br), "brc%d", h + 1);
	snprintf(x->vm, sizeof(x->vm), "c%dvm", h + 1);
	snprintf(x->up, sizeof(x->up), "c%dup", h + 1);
	x->vm_ip = IP(10, 0, h + 1, 11);
	if (ovs_env_add_bridge(&env, x->br, 0) != 0)
		die("cannot add host %d's bridge", h + 1);
	/* internal ports: tap devices in this namespace, gone with vswitchd */
	if (ovs_env_run(&env, NULL, 0, "ovs-vsctl --db=$DB --timeout=20 add-port %s %s -- "
			"set interface %s type=internal -- add-port %s %s -- set interface %s "
			"type=internal external_ids:vm-id=bench-vm%d "
			"external_ids:attached-mac=02:00:00:00:0%d:01 "
			"external_ids:ip-address=10.0.%d.11", x->br, x->up, x->up, x->br, x->vm,
			x->vm, h + 1, h + 1, h + 1) != 0)
		die("cannot add the ports of host %d", h + 1);
}

static void write_conf(int h)
{
	struct host *x = &hosts[h];
	FILE *f;

	snprintf(x->conf, sizeof(x->conf), "%s/n%d.conf", dir, h + 1);
	snprintf(x->log, sizeof(x->log), "%s/n%d.log", dir, h + 1);
	snprintf(x->sock, sizeof(x->sock), "%s/n%d.sock", dir, h + 1);
	if ((f = fopen(x->conf, "w")) == NULL)
		die("cannot write %s", x->conf);
	fprintf(f, "[node]\nid = %d\nname = h%d\ndata_dir = %s/n%d\nraft_addr = 127.0.0.1:%d\n"
		"rpc_addr = tls+tcp://127.0.0.1:%d\ncli_socket = %s\n[cluster]\n"
		"peer = 1@127.0.0.1:18111@tls+tcp://127.0.0.1:18161\n"
		"peer = 2@127.0.0.1:18112@tls+tcp://127.0.0.1:18162\n"
		"[uplink]\ncapacity = 10G\n[ovs]\nenabled = true\ndb = unix:%s/db.sock\n"
		"bridge = %s\ndatapath_type = netdev\nof_listen = 127.0.0.1:%d\nuplink_port = %s\n"
		"[log]\nlevel = info\n", h + 1, h + 1, dir, h + 1, 18111 + h, 18161 + h, x->sock,
		env.dir, x->br, 18191 + h, x->up);
	fprintf(f, "[tls]\nca = %s/pki/ca.crt\ncert = %s/pki/host-%d.crt\nkey = %s/pki/host-%d.key\n",
		dir, dir, h + 1, dir, h + 1);
	fclose(f);
}

static void start_monitor(int h)
{
	struct host *x = &hosts[h];
	char cmd[256];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	if (snprintf(cmd, sizeof(cmd), "OVS_RUNDIR=%s exec stdbuf -oL ovs-ofctl -O OpenFlow13 "
		     "monitor %s watch:", env.dir, x->br) >= (int)sizeof(cmd))
		die("run directory name too long");
	x->mon = spawn(argv[0], argv, NULL, &x->mon_fd);
	if (x->mon < 0)
		die("cannot start ovs-ofctl monitor");
}

/* "event=ADDED table=0 cookie=0x300000000000007 ..." → 7 */
static void parse_line(int h, const char *line, uint64_t now)
{
	const char *c = strstr(line, "cookie=0x");
	unsigned long long cookie;

	if (!strstr(line, "event=ADDED") || c == NULL || sscanf(c, "cookie=0x%llx", &cookie) != 1)
		return;
	if (cookie >> 56 == 3 && (cookie & 0xffffffffull) < N_IDS)
		__atomic_store_n(&seen_ns[h][cookie & 0xffffffffull], now, __ATOMIC_RELEASE);
}

static void *reader(void *arg)
{
	static char buf[2][8192];
	size_t used[2] = { 0, 0 };
	struct pollfd pfd[2] = { { hosts[0].mon_fd, POLLIN, 0 }, { hosts[1].mon_fd, POLLIN, 0 } };

	(void)arg;
	while (!reader_stop) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int h = 0; h < 2; h++) {
			uint64_t now = bench_now_ns();
			ssize_t n;
			char *nl;

			if (!(pfd[h].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(pfd[h].fd, buf[h] + used[h], sizeof(buf[h]) - 1 - used[h]);
			if (n <= 0) {
				pfd[h].fd = -1;
				continue;
			}
			used[h] += (size_t)n;
			buf[h][used[h]] = '\0';
			while ((nl = strchr(buf[h], '\n')) != NULL) {
				*nl = '\0';
				parse_line(h, buf[h], now);
				used[h] -= (size_t)(nl + 1 - buf[h]);
				memmove(buf[h], nl + 1, used[h] + 1);
			}
			if (used[h] == sizeof(buf[h]) - 1)
				used[h] = 0;	/* an over-long line: drop it */
		}
	}
	return NULL;
}

/* Both VMs are in host 1's copy of the state (each learnt by its host). */
static bool vms_known(struct agent_client *c)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	const msgpack_object *vms;
	bool ok = false;

	if (agent_client_req_begin(&req, "vms", 0, false) != 0)
		return false;
	if (agent_client_call(c, &req, 1000000000ull, &rep) == 0) {
		vms = agent_client_reply_get(&rep, "vms");
		ok = rep.status == 0 && vms && vms->type == MSGPACK_OBJECT_ARRAY &&
		     vms->via.array.size == 2;
		agent_client_reply_close(&rep);
	}
	agent_client_req_close(&req);
	return ok;
}

/* ------------------------------------------------------------------------- */
/* The measurement                                                           */

struct sample {
	double commit_ms, flow_ms, both_ms;
	bool on_leader;		/* the flow's host is the Raft leader's */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	int k = (int)(p * n + 0.999999) - 1;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void reserve_one(struct agent_client *c, int i, struct sample *s)
{
	int from = i % 2, to = 1 - from;
	struct cons_cmd cmd = { .op = CONS_OP_PATH_RESERVE };
	struct cons_path_req *r = &cmd.u.path;
	struct agent_client_submit_result res;
	uint64_t t0, t1, tf = 0;

	r->src_ip = hosts[from].vm_ip;
	r->dst_ip = hosts[to].vm_ip;
	r->proto = 17;
	r->dport = (uint16_t)(10000 + i);
	r->type = CONS_PATH_DEADLINE;
	r->rate_bps = 1000000;
	r->deadline_ns = 10000000;
	snprintf(r->owner, sizeof(r->owner), "bench");
	t0 = bench_now_ns();
	if (agent_client_submit(c, &cmd, WAIT_NS, &res) != 0)
		die("reservation %d refused or failed: %s", i, res.err);
	t1 = bench_now_ns();
	if (res.id >= N_IDS)
		die("rtpath id %llu beyond the table", (unsigned long long)res.id);
	while ((tf = __atomic_load_n(&seen_ns[from][res.id], __ATOMIC_ACQUIRE)) == 0) {
		struct timespec ts = { 0, 20000 };

		if (interrupted)
			die("interrupted");
		if (bench_now_ns() - t0 > WAIT_NS)
			die("rtpath %llu's flow did not appear on host %d within 5 s",
			    (unsigned long long)res.id, from + 1);
		nanosleep(&ts, NULL);
	}
	s->commit_ms = (t1 - t0) / 1e6;
	s->flow_ms = ((double)tf - (double)t0) / 1e6;
	s->both_ms = ((tf > t1 ? tf : t1) - t0) / 1e6;
	s->on_leader = res.leader == (uint64_t)from + 1;
}

static void print_dist(const char *what, double *v, int n)
{
	double p50, p99;

	if (n == 0)
		return;
	p50 = pct(v, n, 0.5);
	p99 = pct(v, n, 0.99);
	printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%d)\n", what, p50, p99,
	       v[n - 1], n);
}

static void measure(struct agent_client *c)
{
	static struct sample s[N_RUNS];
	static double commit[N_RUNS], both[N_RUNS], lag[N_RUNS], lead[N_RUNS], foll[N_RUNS];
	int n_lead = 0, n_foll = 0;
	double p99_both, p99_commit;
	struct sample w;

	for (int i = 0; i < N_WARM; i++)
		reserve_one(c, i, &w);
	for (int i = 0; i < N_RUNS; i++) {
		reserve_one(c, N_WARM + i, &s[i]);
		commit[i] = s[i].commit_ms;
		both[i] = s[i].both_ms;
		lag[i] = s[i].flow_ms - s[i].commit_ms;
		if (s[i].on_leader)
			lead[n_lead++] = s[i].flow_ms;
		else
			foll[n_foll++] = s[i].flow_ms;
	}
	printf("  %d reservations via host 1, alternating direction\n", N_RUNS);
	print_dist("commit-only (submit -> reply)", commit, N_RUNS);
	print_dist("commit+flows (submit -> reply and flow)", both, N_RUNS);
	print_dist("flow after the reply (negative: before)", lag, N_RUNS);
	print_dist("submit -> flow, flow on the leader's host", lead, n_lead);
	print_dist("submit -> flow, flow on a follower's host", foll, n_foll);
	p99_both = pct(both, N_RUNS, 0.99);
	p99_commit = pct(commit, N_RUNS, 0.99);
	bench_report("of.commit_to_flows.p99_ms", p99_both, "ms", BENCH_LOWER, "commit-only",
		     p99_commit);
}

int main(void)
{
	char rtvd_buf[PATH_MAX];
	const char *rtvd = rtvd_path(rtvd_buf, sizeof(rtvd_buf));
	struct agent_client *c = NULL;
	char err[AGENT_CLIENT_ERRLEN], url[300];
	pthread_t th;
	uint64_t end;

	rtv_log_init("bench_ofcommit", RTV_LOG_WARN);
	if (geteuid() != 0) {
		printf("bench_ofcommit: skipped (needs root: network namespaces)\n");
		return BENCH_SKIPPED;
	}
	if (!ovs_env_available() || access(rtvd, X_OK) != 0) {
		fprintf(stderr, "bench_ofcommit: needs Open vSwitch (make deps) and %s (make build)\n", rtvd);
		return 1;
	}
	if (unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0) {
		fprintf(stderr, "bench_ofcommit: cannot make a network namespace\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	snprintf(dir, sizeof(dir), "/tmp/rtv-ofcommit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	if (ovs_env_start(&env) != 0)
		die("cannot start Open vSwitch");
	{
		char copy[PATH_MAX], build[PATH_MAX + 8], pki[sizeof(dir) + 8];

		snprintf(copy, sizeof(copy), "%s", rtvd);	/* dirname writes into it */
		snprintf(build, sizeof(build), "%s/..", dirname(copy));	/* bin/.. */
		snprintf(pki, sizeof(pki), "%s/pki", dir);
		if (bench_pki(build, pki) != 0)
			die("no certificates for the rack");
	}
	for (int h = 0; h < 2; h++) {
		setup_ovs(h);
		write_conf(h);
		start_monitor(h);
	}
	if (pthread_create(&th, NULL, reader, NULL) != 0)
		die("cannot start the monitor reader");
	for (int h = 0; h < 2; h++) {
		char *argv[] = { (char *)rtvd, "-c", hosts[h].conf, NULL };

		if ((hosts[h].rtvd = spawn(rtvd, argv, hosts[h].log, NULL)) < 0)
			die("cannot start %s", rtvd);
	}
	snprintf(url, sizeof(url), "ipc://%s", hosts[0].sock);
	if (agent_client_new(url, WAIT_NS, false, &c, err, sizeof(err)) != 0)
		die("%s", err);
	end = bench_now_ns() + 20 * 1000000000ull;
	while (!vms_known(c)) {
		if (bench_now_ns() > end || interrupted)
			die("the VMs were not learnt from OVSDB within 20 s");
		usleep(50000);
	}
	measure(c);
	agent_client_free(c);
	reader_stop = 1;
	for (int h = 0; h < 2; h++)
		stop_pid(&hosts[h].mon, SIGTERM);
	pthread_join(th, NULL);
	cleanup();
	return 0;
}
