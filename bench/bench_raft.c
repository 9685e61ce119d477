/* bench_raft.c — the control plane under load (issue 3, group `raft`).
 *
 * Three real rtvd processes on loopback (fork/exec of build/bin/rtvd with
 * generated configs in a temp dir, like tests/lib/rack.sh), driven through
 * the same client library rtvctl uses (agent/client.h), so the figures
 * include everything an operator's reservation goes through: nng, msgpack,
 * forwarding from a follower, Raft commit with fsync on three disks,
 * admission in apply, and the reply.
 *
 * Phases, in this order so that each figure has its own conditions:
 *   1. RSS of every rtvd with 0 rtpaths               (baseline "empty")
 *   2. commit latency, 1 client, through the leader   (baseline "via-leader")
 *      and through a follower                         raft.commit.p99_ms.1client
 *   3. 64 clients, one req socket each, spread over the three agents
 *                                                     raft.commit.per_s.64clients
 *                                                     (baseline "1client": phase 2's
 *                                                      follower run)
 *   4. fill to exactly 10,000 rtpaths; max RSS over the three agents once
 *      all have applied them                          agent.rss_mib.10k_paths
 *   5. 20 × kill -9 of the leader under load (4 clients dialled to all three
 *      agents); time from the kill to the first reservation acknowledged
 *      under a new leader; restart the killed node and let it catch up
 *                                                     raft.failover.median_ms / max_ms
 *   6. every acknowledged reservation of every phase is present on every
 *      agent                                          raft.lost_acked (must be 0)
 *
 * The election timeout is the rack default of tests/lib/rack.sh (250 ms with
 * pre-vote; ENV-NOTES.md measured 0.44 s median failover with it). Knobs:
 * RTVD (binary), BENCH_RAFT_N (latency samples, default 1000),
 * BENCH_RAFT_KILLS (default 20).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/proto.h"
#include "bench/report.h"

#define N_NODES 3
#define VMS_PER_HOST 4
#define N_VMS (N_NODES * VMS_PER_HOST)
#define TARGET_PATHS 10000
#define N_CLIENTS 64
#define FAILOVER_CLIENTS 4
#define MS 1000000ull

struct node {
	pid_t pid;
	char conf[PATH_MAX], log[PATH_MAX], sock_url[PATH_MAX + 8], rpc_url[64];
	struct agent_client *ctl;	/* status and reads, over the ipc socket */
};

static struct {
	char dir[128];
	char rtvd[PATH_MAX];
	int port_base;
	struct node nodes[N_NODES + 1];	/* 1-based, like Raft ids */
	char all_rpc[3 * 64];
	/* every acknowledged reservation id, all phases */
	pthread_mutex_t mu;
	uint64_t *acked;
	size_t n_acked, cap_acked;
	atomic_uint_fast64_t next_k;	/* reservation counter: unique 5-tuples */
	bool keep;			/* leave the temp dir for a post-mortem */
} R = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_raft: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	for (int i = 1; i <= N_NODES; i++)
		fprintf(stderr, "  node %d log: %s (kept)\n", i, R.nodes[i].log);
	R.keep = true;
	exit(1);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------- */
/* The rack: temp dir, ports, configs, processes                              */

static bool port_free(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int pick_ports(void)
{
	int base = 20000 + (int)((getpid() * 131) % 9800);

	for (int tries = 0; tries < 50; tries++, base = 20000 + (base - 20000 + 117) % 9800) {
		bool ok = true;
		for (int i = 1; i <= N_NODES && ok; i++)
			ok = port_free(base + i) && port_free(base + 50 + i);
		if (ok)
			return base;
	}
	die("no free ports in 20000-29999");
}

static void write_conf(int i)
{
	struct node *n = &R.nodes[i];
	FILE *f;

	snprintf(n->conf, sizeof(n->conf), "%s/n%d/rtvd.conf", R.dir, i);
	snprintf(n->log, sizeof(n->log), "%s/n%d/rtvd.log", R.dir, i);
	snprintf(n->sock_url, sizeof(n->sock_url), "ipc://%s/n%d/rtvd.sock", R.dir, i);
	snprintf(n->rpc_url, sizeof(n->rpc_url), "tcp://127.0.0.1:%d", R.port_base + 50 + i);
	if (!(f = fopen(n->conf, "w")))
		die("%s: %s", n->conf, strerror(errno));
	fprintf(f, "[node]\nid = %d\nname = h%d\ndata_dir = %s/n%d/data\n"
		"raft_addr = 127.0.0.1:%d\nrpc_addr = %s\ncli_socket = %s/n%d/rtvd.sock\n[cluster]\n",
		i, i, R.dir, i, R.port_base + i, n->rpc_url, R.dir, i);
	for (int j = 1; j <= N_NODES; j++)
		fprintf(f, "peer = %d@127.0.0.1:%d@tcp://127.0.0.1:%d\n", j, R.port_base + j,
			R.port_base + 50 + j);
	fprintf(f, "[uplink]\ncapacity = 10G\nrt_budget = 50%%\n[raft]\nelection_timeout = 250ms\n"
		"[log]\nlevel = warn\n");
	fclose(f);
}

static void spawn(int i)
{
	struct node *n = &R.nodes[i];
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the bench */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(R.rtvd, "rtvd", "-c", n->conf, (char *)NULL);
		_exit(127);
	}
	n->pid = pid;
}

static void kill_node(int i)
{
	if (R.nodes[i].pid > 0) {
		kill(R.nodes[i].pid, SIGKILL);
		waitpid(R.nodes[i].pid, NULL, 0);
		R.nodes[i].pid = 0;
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	if (R.keep)
		fprintf(stderr, "bench_raft: keeping %s for a post-mortem\n", R.dir);
	for (int i = 1; i <= N_NODES; i++) {
		kill_node(i);
		agent_client_free(R.nodes[i].ctl);
		R.nodes[i].ctl = NULL;
	}
	if (R.dir[0] && !R.keep && !getenv("BENCH_RAFT_KEEP"))
		nftw(R.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(130);	/* runs cleanup() through atexit */
}

static void find_rtvd(void)
{
	char self[PATH_MAX];
	ssize_t len;
	const char *env = getenv("RTVD");

	if (env && *env) {
		snprintf(R.rtvd, sizeof(R.rtvd), "%s", env);
	} else {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[len > 0 ? len : 0] = '\0';
		snprintf(R.rtvd, sizeof(R.rtvd), "%s/../bin/rtvd", dirname(self));
	}
	if (access(R.rtvd, X_OK) != 0)
		die("%s is not built (make build), or set RTVD", R.rtvd);
}

static void rack_up(void)
{
	char err[AGENT_CLIENT_ERRLEN];

	find_rtvd();
	snprintf(R.dir, sizeof(R.dir), "/tmp/rtv-bench-raft.XXXXXX");
	if (!mkdtemp(R.dir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	R.port_base = pick_ports();
	for (int i = 1; i <= N_NODES; i++) {
		char d[PATH_MAX + 16];
		snprintf(d, sizeof(d), "%s/n%d", R.dir, i);
		mkdir(d, 0755);
		snprintf(d, sizeof(d), "%s/n%d/data", R.dir, i);
		mkdir(d, 0755);
		write_conf(i);
		spawn(i);
	}
	snprintf(R.all_rpc, sizeof(R.all_rpc), "%s,%s,%s", R.nodes[1].rpc_url, R.nodes[2].rpc_url,
		 R.nodes[3].rpc_url);
	for (int i = 1; i <= N_NODES; i++)
		if (agent_client_new(R.nodes[i].sock_url, 500 * MS, false, &R.nodes[i].ctl, err,
				     sizeof(err)) != 0)
			die("client for node %d: %s", i, err);
}

/* ------------------------------------------------------------------------- */
/* Asking the agents                                                          */

struct nstat {
	char role[16];
	uint64_t leader, applied, commit;
};

static int node_status(int i, struct nstat *st)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	int rc;

	memset(st, 0, sizeof(*st));
	if (R.nodes[i].pid <= 0 || agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false))
		return -ESRCH;
	rc = agent_client_call(R.nodes[i].ctl, &req, 300 * MS, &rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	rc = rep.status;
	(void)agent_client_map_str(rep.map, "role", st->role, sizeof(st->role));
	(void)agent_client_map_uint(rep.map, "leader", &st->leader);
	(void)agent_client_map_uint(rep.map, "applied", &st->applied);
	(void)agent_client_map_uint(rep.map, "commit", &st->commit);
	agent_client_reply_close(&rep);
	return rc;
}

/* A leader every live node agrees on (and that says it is leader), other
 * than `except`; 0 when there is none yet. */
static int stable_leader(int except)
{
	struct nstat st;
	uint64_t cand = 0;

	for (int i = 1; i <= N_NODES; i++) {
		if (R.nodes[i].pid <= 0)
			continue;
		if (node_status(i, &st) != 0 || st.leader == 0 || (int)st.leader == except ||
		    (cand && st.leader != cand))
			return 0;
		cand = st.leader;
	}
	if (!cand || node_status((int)cand, &st) != 0 || strcmp(st.role, "leader") != 0)
		return 0;
	return (int)cand;
}

/* The stable leader within timeout_ms, or 0. */
static int try_leader(unsigned timeout_ms, int except)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	int l;

	while (bench_now_ns() < end) {
		if ((l = stable_leader(except)) > 0)
			return l;
		sleep_ms(10);
	}
	return 0;
}

static int wait_leader(unsigned timeout_ms, int except)
{
	int l = try_leader(timeout_ms, except);

	if (!l)
		die("no leader within %u ms", timeout_ms);
	return l;
}

/* Runs a read op on node i (linearizable if lin) and returns the length of
 * the array under `key` (and the reply, which the caller closes). */
static int read_list(int i, const char *op, const char *key, bool lin,
		     struct agent_client_reply *rep, const msgpack_object **arr)
{
	struct agent_client_req req;
	int rc;

	if (agent_client_req_begin(&req, op, 0, lin))
		return -ENOMEM;
	rc = agent_client_call_retry(R.nodes[i].ctl, &req, 5000 * MS, rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	*arr = agent_client_reply_get(rep, key);
	if (rep->status != 0 || !*arr || (*arr)->type != MSGPACK_OBJECT_ARRAY) {
		rc = rep->status ? rep->status : -EPROTO;
		agent_client_reply_close(rep);
		return rc;
	}
	return (int)(*arr)->via.array.size;
}

static int count_list(int i, const char *op, const char *key, bool lin)
{
	struct agent_client_reply rep;
	const msgpack_object *arr;
	int n = read_list(i, op, key, lin, &rep, &arr);

	if (n >= 0)
		agent_client_reply_close(&rep);
	return n;
}

static double rss_mib(int i)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)R.nodes[i].pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024.0;
}

static double max_rss(void)
{
	double m = 0;

	for (int i = 1; i <= N_NODES; i++) {
		double r = rss_mib(i);
		printf("    node %d: RSS %.1f MiB\n", i, r);
		m = r > m ? r : m;
	}
	return m;
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                   */

static uint32_t vm_ip(int host, int k)
{
	return (10u << 24) | ((uint32_t)host << 8) | (uint32_t)(k + 1);	/* 10.0.H.K+1 */
}

static void register_vms(void)
{
	struct agent_client_submit_result res;
	struct cons_cmd cmd;
	int l = wait_leader(15000, 0);
	uint64_t end = bench_now_ns() + 10000 * MS;

	while (count_list(l, PROTO_OP_HOSTS, "hosts", true) < N_NODES) {
		if (bench_now_ns() > end)
			die("the hosts did not register themselves within 10 s");
		sleep_ms(20);
	}
	for (int h = 1; h <= N_NODES; h++)
		for (int k = 0; k < VMS_PER_HOST; k++) {
			memset(&cmd, 0, sizeof(cmd));
			cmd.op = CONS_OP_VM_SET;
			snprintf(cmd.u.vm.uuid, sizeof(cmd.u.vm.uuid), "bench-vm-%d-%d", h, k);
			snprintf(cmd.u.vm.name, sizeof(cmd.u.vm.name), "vm%d.%d", h, k);
			cmd.u.vm.host_id = (uint64_t)h;
			cmd.u.vm.ips[0] = vm_ip(h, k);
			cmd.u.vm.n_ips = 1;
			if (agent_client_submit(R.nodes[l].ctl, &cmd, 5000 * MS, &res) != 0)
				die("vm add: %s", res.err);
		}
}

/* The k-th reservation: a unique (src, dst, proto, dport) between VMs on
 * different hosts, small enough that 10,000 of them fit the rack (per
 * uplink ~3,400 × 100 kbit/s = 340 Mbit/s of a 5 Gbit/s RT budget; EDF
 * demand at 20 ms: 3,400 × 200 B ≪ 10 Gbit/s × 20 ms). */
static void reserve_cmd(uint64_t k, struct cons_cmd *cmd)
{
	int src = (int)(k % N_VMS), dst = (src + VMS_PER_HOST + (int)(k / N_VMS) % VMS_PER_HOST) % N_VMS;
	struct cons_path_req *p = &cmd->u.path;

	if (dst / VMS_PER_HOST == src / VMS_PER_HOST)
		dst = (dst + VMS_PER_HOST) % N_VMS;
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = CONS_OP_PATH_RESERVE;
	p->src_ip = vm_ip(src / VMS_PER_HOST + 1, src % VMS_PER_HOST);
	p->dst_ip = vm_ip(dst / VMS_PER_HOST + 1, dst % VMS_PER_HOST);
	p->proto = 17;
	p->dport = (uint16_t)(1 + (k / N_VMS) % 65000);
	p->type = CONS_PATH_DEADLINE;
	p->rate_bps = 100000;
	p->deadline_ns = 20 * MS;
	p->max_pkt_bytes = 200;
	snprintf(p->owner, sizeof(p->owner), "bench");
}

static void record_ack(uint64_t id)
{
	pthread_mutex_lock(&R.mu);
	if (R.n_acked == R.cap_acked) {
		size_t cap = R.cap_acked ? R.cap_acked * 2 : 4096;
		uint64_t *a = realloc(R.acked, cap * sizeof(*a));
		if (!a)
			die("out of memory");
		R.acked = a;
		R.cap_acked = cap;
	}
	R.acked[R.n_acked++] = id;
	pthread_mutex_unlock(&R.mu);
}

/* One reservation; returns its latency in ns, or 0 on failure. */
static uint64_t reserve_one(struct agent_client *c, uint64_t timeout_ns,
			    struct agent_client_submit_result *res)
{
	struct cons_cmd cmd;
	uint64_t t0 = bench_now_ns();

	reserve_cmd(atomic_fetch_add(&R.next_k, 1), &cmd);
	if (agent_client_submit(c, &cmd, timeout_ns, res) != 0) {
		fprintf(stderr, "bench_raft: reserve failed: %s\n", res->err);
		return 0;
	}
	record_ack(res->id);
	return bench_now_ns() - t0;
}

/* ------------------------------------------------------------------------- */
/* Phases                                                                     */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat {
	double p50_ms, p99_ms, max_ms, per_s;
};

/* n sequential reservations through node i (after a short warm-up). */
static struct lat latency_run(int i, int n)
{
	struct agent_client_submit_result res;
	struct agent_client *c;
	char err[AGENT_CLIENT_ERRLEN];
	uint64_t *v = calloc((size_t)n, sizeof(*v)), t0;
	struct lat l;

	if (!v || agent_client_new(R.nodes[i].sock_url, 5000 * MS, true, &c, err, sizeof(err)))
		die("client for node %d: %s", i, v ? err : "out of memory");
	for (int k = 0; k < 50; k++)
		if (!reserve_one(c, 5000 * MS, &res))
			die("warm-up reservation failed");
	t0 = bench_now_ns();
	for (int k = 0; k < n; k++)
		if (!(v[k] = reserve_one(c, 5000 * MS, &res)))
			die("reservation %d through node %d failed", k, i);
	l.per_s = n / ((double)(bench_now_ns() - t0) / 1e9);
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	l.p50_ms = (double)v[n / 2] / 1e6;
	l.p99_ms = (double)v[(n * 99) / 100] / 1e6;
	l.max_ms = (double)v[n - 1] / 1e6;
	agent_client_free(c);
	free(v);
	return l;
}

struct load {
	pthread_t tid;
	const char *url;
	unsigned timeout_ms;
	atomic_bool *stop;
	atomic_int *tickets;		/* NULL = unlimited */
	uint64_t done, failed;
};

/* Failover bookkeeping shared with the load threads. */
static atomic_uint_fast64_t kill_ns;	/* 0 = no kill pending */
static atomic_int killed_id;
static atomic_uint_fast64_t recovered_ns;

static void note_failover(const struct agent_client_submit_result *res)
{
	uint64_t k = atomic_load(&kill_ns), now = bench_now_ns(), zero = 0;

	if (k && now > k && res->leader != 0 && (int)res->leader != atomic_load(&killed_id))
		atomic_compare_exchange_strong(&recovered_ns, &zero, now);
}

static void *load_thread(void *arg)
{
	struct load *ld = arg;
	struct agent_client_submit_result res;
	struct agent_client *c;
	char err[AGENT_CLIENT_ERRLEN];

	if (agent_client_new(ld->url, ld->timeout_ms * MS, false, &c, err, sizeof(err))) {
		fprintf(stderr, "bench_raft: client: %s\n", err);
		ld->failed++;
		return NULL;
	}
	while (!atomic_load(ld->stop)) {
		if (ld->tickets && atomic_fetch_sub(ld->tickets, 1) <= 0)
			break;
		if (reserve_one(c, ld->timeout_ms * MS, &res)) {
			ld->done++;
			note_failover(&res);
		} else {
			ld->failed++;
		}
	}
	agent_client_free(c);
	return NULL;
}

static void load_start(struct load *ld, int n, atomic_bool *stop, atomic_int *tickets,
		       unsigned timeout_ms, bool all_nodes)
{
	for (int t = 0; t < n; t++) {
		ld[t] = (struct load){ .url = all_nodes ? R.all_rpc : R.nodes[t % N_NODES + 1].sock_url,
				       .timeout_ms = timeout_ms, .stop = stop, .tickets = tickets };
		if (pthread_create(&ld[t].tid, NULL, load_thread, &ld[t]) != 0)
			die("pthread_create failed");
	}
}

static uint64_t load_join(struct load *ld, int n, uint64_t *failed)
{
	uint64_t done = 0;

	*failed = 0;
	for (int t = 0; t < n; t++) {
		pthread_join(ld[t].tid, NULL);
		done += ld[t].done;
		*failed += ld[t].failed;
	}
	return done;
}

/* 64 clients for up to 3 s or `budget` reservations. */
static double throughput_run(int budget)
{
	static struct load ld[N_CLIENTS];
	atomic_bool stop = false;
	atomic_int tickets = budget;
	uint64_t t0 = bench_now_ns(), done, failed;

	load_start(ld, N_CLIENTS, &stop, &tickets, 5000, false);
	while (bench_now_ns() - t0 < 3000 * MS && atomic_load(&tickets) > 0)
		sleep_ms(10);
	atomic_store(&stop, true);
	done = load_join(ld, N_CLIENTS, &failed);
	if (failed)
		die("%llu reservations failed under 64 clients", (unsigned long long)failed);
	return (double)done / ((double)(bench_now_ns() - t0) / 1e9);
}

/* Reserves until the leader holds exactly `target` rtpaths. */
static void fill_to(int target)
{
	static struct load ld[N_CLIENTS];
	atomic_bool stop = false;
	atomic_int tickets;
	uint64_t failed;
	int l = wait_leader(5000, 0), have = count_list(l, PROTO_OP_PATHS, "paths", true);

	if (have < 0)
		die("paths on the leader failed: %d", have);
	while (have < target) {
		atomic_store(&tickets, target - have);
		load_start(ld, 16, &stop, &tickets, 5000, false);
		load_join(ld, 16, &failed);
		have = count_list(l, PROTO_OP_PATHS, "paths", true);
	}
	if (have != target)
		printf("    note: %d rtpaths (an unacknowledged attempt was applied)\n", have);
}

/* Waits until every live node has applied what the leader has committed.
 * Returns false (after saying who lags) when that does not happen in time. */
static bool wait_caught_up(int leader, unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	struct nstat ls, st;
	int lagging = 0;

	while (bench_now_ns() < end) {
		lagging = 0;
		if (node_status(leader, &ls) != 0)
			lagging = leader;
		for (int i = 1; !lagging && i <= N_NODES; i++)
			if (R.nodes[i].pid > 0 && (node_status(i, &st) != 0 || st.applied < ls.commit))
				lagging = i;
		if (!lagging)
			return true;
		sleep_ms(20);
	}
	node_status(lagging, &st);
	fprintf(stderr, "bench_raft: WARNING: node %d has not caught up within %u ms "
		"(applied %llu, leader %d committed %llu); see its log in %s\n", lagging, timeout_ms,
		(unsigned long long)st.applied, leader, (unsigned long long)ls.commit, R.dir);
	R.keep = true;
	return false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* kill -9 the leader up to `kills` times under load (fewer if the phase
 * runs past its time budget); fills ms with the sorted times from each kill
 * to the first reservation acknowledged under a new leader and returns how
 * many kills were done. */
static int failover_run(int kills, double *ms, uint64_t budget_ns)
{
	static struct load ld[FAILOVER_CLIENTS];
	atomic_bool stop = false;
	uint64_t failed, done, t0 = bench_now_ns();
	int k;

	load_start(ld, FAILOVER_CLIENTS, &stop, NULL, 15000, true);
	for (k = 0; k < kills && bench_now_ns() - t0 < budget_ns; k++) {
		int l = try_leader(10000, 0), zero_wait = 0;
		if (!l) {
			printf("    no stable leader for 10 s: the rack did not recover; "
			       "stopping the failover phase\n");
			R.keep = true;
			break;
		}
		wait_caught_up(l, 5000);
		sleep_ms(100);
		atomic_store(&recovered_ns, 0);
		atomic_store(&killed_id, l);
		atomic_store(&kill_ns, bench_now_ns());
		kill_node(l);
		while (atomic_load(&recovered_ns) == 0 && zero_wait++ < 1000)
			sleep_ms(10);
		ms[k] = atomic_load(&recovered_ns)
			? (double)(atomic_load(&recovered_ns) - atomic_load(&kill_ns)) / 1e6 : 10000.0;
		atomic_store(&kill_ns, 0);
		printf("    kill %2d: node %d, next ack under a new leader after %.0f ms\n", k + 1, l,
		       ms[k]);
		spawn(l);
	}
	atomic_store(&stop, true);
	done = load_join(ld, FAILOVER_CLIENTS, &failed);
	printf("    load during failovers: %llu acknowledged, %llu failed\n",
	       (unsigned long long)done, (unsigned long long)failed);
	if (k < kills)
		printf("    note: stopped after %d kills, the phase's time budget is spent\n", k);
	qsort(ms, (size_t)k, sizeof(*ms), cmp_double);
	return k;
}

/* Acknowledged ids missing from node i's copy (linearizable: the leader's). */
static size_t missing_on(int i, bool lin)
{
	struct agent_client_reply rep;
	const msgpack_object *arr;
	uint64_t *ids;
	size_t n_ids = 0, missing = 0;
	int n = read_list(i, PROTO_OP_PATHS, "paths", lin, &rep, &arr);

	if (n < 0)
		die("paths on node %d failed: %d", i, n);
	if (!(ids = calloc((size_t)n + 1, sizeof(*ids))))
		die("out of memory");
	for (int k = 0; k < n; k++)
		if (agent_client_map_uint(&arr->via.array.ptr[k], "id", &ids[n_ids]) == 0)
			n_ids++;
	agent_client_reply_close(&rep);
	qsort(ids, n_ids, sizeof(*ids), cmp_u64);
	for (size_t k = 0; k < R.n_acked; k++)
		if (!bsearch(&R.acked[k], ids, n_ids, sizeof(*ids), cmp_u64))
			missing++;
	free(ids);
	printf("    node %d%s: %zu rtpaths, %zu of %zu acknowledged missing\n", i,
	       lin ? " (linearizable)" : "", n_ids, missing, R.n_acked);
	return missing;
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : dflt;
}

int main(void)
{
	int n = env_int("BENCH_RAFT_N", 1000), kills = env_int("BENCH_RAFT_KILLS", 20), l, f, have;
	double empty, full, *fo = calloc((size_t)kills, sizeof(double));
	size_t lost = 0;
	struct lat ll, lf;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!fo)
		die("out of memory");
	rack_up();
	printf("  3 rtvd on loopback in %s (ports %d..%d), election timeout 250 ms\n", R.dir,
	       R.port_base + 1, R.port_base + 50 + N_NODES);
	register_vms();
	l = wait_leader(10000, 0);
	wait_caught_up(l, 10000);
	printf("  phase 1: RSS with 0 rtpaths\n");
	empty = max_rss();

	f = l % N_NODES + 1;
	printf("  phase 2: %d sequential reservations, 1 client, via leader %d then follower %d\n",
	       n, l, f);
	ll = latency_run(l, n);
	lf = latency_run(f, n);
	printf("    via leader:   p50 %.2f ms  p99 %.2f ms  max %.2f ms  %.0f/s\n", ll.p50_ms,
	       ll.p99_ms, ll.max_ms, ll.per_s);
	printf("    via follower: p50 %.2f ms  p99 %.2f ms  max %.2f ms  %.0f/s\n", lf.p50_ms,
	       lf.p99_ms, lf.max_ms, lf.per_s);
	bench_report("raft.commit.p99_ms.1client", lf.p99_ms, "ms", BENCH_LOWER, "via-leader",
		     ll.p99_ms);
	bench_report("raft.commit.p50_ms.1client", lf.p50_ms, "ms", BENCH_LOWER, "via-leader",
		     ll.p50_ms);

	have = count_list(l, PROTO_OP_PATHS, "paths", true);
	printf("  phase 3: %d clients (one req socket each, spread over the 3 agents)\n", N_CLIENTS);
	bench_report("raft.commit.per_s.64clients",
		     throughput_run(TARGET_PATHS - have - 1000 > 6000 ? 6000 : TARGET_PATHS - have - 1000),
		     "1/s", BENCH_HIGHER, "1client", lf.per_s);

	printf("  phase 4: fill to %d rtpaths\n", TARGET_PATHS);
	fill_to(TARGET_PATHS);
	l = wait_leader(10000, 0);
	wait_caught_up(l, 20000);
	full = max_rss();
	bench_report("agent.rss_mib.10k_paths", full, "MiB", BENCH_LOWER, "empty", empty);

	printf("  phase 5: %d x kill -9 of the leader under load (%d clients dialled to all agents)\n",
	       kills, FAILOVER_CLIENTS);
	if ((kills = failover_run(kills, fo, 60000 * MS)) == 0)
		die("no failover could be measured");
	bench_report("raft.failover.median_ms", bench_median(fo, kills), "ms", BENCH_LOWER, NULL, 0);
	bench_report("raft.failover.max_ms", fo[kills - 1], "ms", BENCH_LOWER, NULL, 0);

	printf("  phase 6: every acknowledged reservation on every agent\n");
	l = wait_leader(10000, 0);
	wait_caught_up(l, 20000);
	lost = missing_on(l, true);
	for (int i = 1; i <= N_NODES; i++) {
		size_t m = missing_on(i, false);
		lost = m > lost ? m : lost;
	}
	bench_report("raft.lost_acked", (double)lost, "count", BENCH_LOWER, NULL, 0);
	free(fo);
	return lost ? 1 : 0;
}
