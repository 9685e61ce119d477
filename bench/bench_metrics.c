/* bench_metrics.c — what /metrics costs, and whether the dashboards work
 * against a real Prometheus (issue 7, group `metrics`).
 *
 *   1. three rtvd on loopback (fork/exec of build/bin/rtvd, generated
 *      configs with [metrics] listen), hosts and VMs registered, no rtpath:
 *      N scrapes of node 1 through nng's HTTP client, back to back
 *                                                   (baseline "empty")
 *   2. fill to 10,000 rtpaths (node 1 sends a third and receives a third;
 *      1000 of each get their own series, the rest fold into "other"); the
 *      same N scrapes                               metrics.scrape_ms.p99
 *      the loop's share of each scrape (rtvnet_metrics_render_seconds, which
 *      every scrape reports for the one before)     metrics.render_ms.p99
 *      and the size of one scrape                   metrics.scrape_kib.10k_paths
 *   3. tests/system/metrics.sh: a real Prometheus scrapes a rack under load
 *      and every panel query of every dashboard is evaluated through its
 *      HTTP API                                     metrics.dashboard_queries_with_data
 *                                                   metrics.dashboard_queries_total
 *      (equal once every histogram behind a panel has observations: the
 *      loopback rack runs no dataplane, so its delay quantiles are NaN, and
 *      a few figures are not counted yet: docs/metrics.md "(pending)")
 *
 * Knobs: RTVD (binary), BENCH_METRICS_SCRAPES (default 200),
 * BENCH_METRICS_PATHS (default 10000), BENCH_METRICS_KEEP=1 keeps the dir.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
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
#define FILL_THREADS 8
#define MS 1000000ull

struct node {
	pid_t pid;
	char conf[PATH_MAX], log[PATH_MAX], sock_url[PATH_MAX + 8];
	struct agent_client *ctl;
};

static struct {
	char dir[128];
	char rtvd[PATH_MAX], build[PATH_MAX], root[PATH_MAX];
	int base;
	struct node n[N_NODES + 1];	/* 1-based, like Raft ids */
	atomic_uint_fast64_t next_k;
	atomic_int tickets;
	bool keep;
} R;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_metrics: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	R.keep = true;
	exit(1);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : dflt;
}

static int metrics_port(int i)
{
	return R.base + 80 + i;
}

/* ------------------------------------------------------------------------- */
/* The rack                                                                   */

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
	int base = 20000 + (int)((getpid() * 137) % 9800);

	for (int tries = 0; tries < 50; tries++, base = 20000 + (base - 20000 + 119) % 9800) {
		bool ok = true;

		for (int i = 1; i <= N_NODES && ok; i++)
			ok = port_free(base + i) && port_free(base + 50 + i) && port_free(base + 80 + i);
		if (ok)
			return base;
	}
	die("no free ports in 20000-29999");
}

static void write_conf(int i)
{
	struct node *n = &R.n[i];
	FILE *f;

	snprintf(n->conf, sizeof(n->conf), "%s/n%d/rtvd.conf", R.dir, i);
	snprintf(n->log, sizeof(n->log), "%s/n%d/rtvd.log", R.dir, i);
	snprintf(n->sock_url, sizeof(n->sock_url), "ipc://%s/n%d/rtvd.sock", R.dir, i);
	if (!(f = fopen(n->conf, "w")))
		die("%s: %s", n->conf, strerror(errno));
	fprintf(f, "[node]\nid = %d\nname = h%d\ndata_dir = %s/n%d/data\n"
		"raft_addr = 127.0.0.1:%d\nrpc_addr = tcp://127.0.0.1:%d\n"
		"cli_socket = %s/n%d/rtvd.sock\n[cluster]\n",
		i, i, R.dir, i, R.base + i, R.base + 50 + i, R.dir, i);
	for (int j = 1; j <= N_NODES; j++)
		fprintf(f, "peer = %d@127.0.0.1:%d@tcp://127.0.0.1:%d\n", j, R.base + j,
			R.base + 50 + j);
	fprintf(f, "[uplink]\ncapacity = 10G\nrt_budget = 50%%\n[raft]\nelection_timeout = 250ms\n"
		"[log]\nlevel = warn\n[metrics]\nlisten = 127.0.0.1:%d\n", metrics_port(i));
	fclose(f);
}

static void spawn(int i)
{
	struct node *n = &R.n[i];
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

static void stop_rack(void)
{
	for (int i = 1; i <= N_NODES; i++) {
		if (R.n[i].pid > 0) {
			kill(R.n[i].pid, SIGKILL);
			waitpid(R.n[i].pid, NULL, 0);
			R.n[i].pid = 0;
		}
		agent_client_free(R.n[i].ctl);
		R.n[i].ctl = NULL;
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
	stop_rack();
	if (R.keep || getenv("BENCH_METRICS_KEEP"))
		fprintf(stderr, "bench_metrics: keeping %s\n", R.dir);
	else if (R.dir[0])
		nftw(R.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(130);	/* cleanup() runs through atexit */
}

/* rtvd and the build dir next to this program (build/bench/..), the
 * repository at the working directory (make runs there) or above build/. */
static void find_paths(void)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("RTVD");

	self[len > 0 ? len : 0] = '\0';
	if (snprintf(R.build, sizeof(R.build), "%s/..", dirname(self)) >= (int)sizeof(R.build))
		die("path too long: %s", self);
	if (env && *env)
		snprintf(R.rtvd, sizeof(R.rtvd), "%s", env);
	else if (snprintf(R.rtvd, sizeof(R.rtvd), "%s/bin/rtvd", R.build) >= (int)sizeof(R.rtvd))
		die("path too long: %s", R.build);
	if (access(R.rtvd, X_OK) != 0)
		die("%s is not built (make build), or set RTVD", R.rtvd);
	if (access("tests/system/metrics.sh", R_OK) == 0 && getcwd(R.root, sizeof(R.root)))
		return;
	if (snprintf(R.root, sizeof(R.root), "%s/..", R.build) >= (int)sizeof(R.root))
		die("path too long: %s", R.build);
}

static void rack_up(void)
{
	char err[AGENT_CLIENT_ERRLEN], d[PATH_MAX + 16];

	find_paths();
	snprintf(R.dir, sizeof(R.dir), "/tmp/rtv-bench-metrics.XXXXXX");
	if (!mkdtemp(R.dir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	R.base = pick_ports();
	for (int i = 1; i <= N_NODES; i++) {
		snprintf(d, sizeof(d), "%s/n%d", R.dir, i);
		mkdir(d, 0755);
		snprintf(d, sizeof(d), "%s/n%d/data", R.dir, i);
		mkdir(d, 0755);
		write_conf(i);
		spawn(i);
	}
	for (int i = 1; i <= N_NODES; i++)
		if (agent_client_new(R.n[i].sock_url, 500 * MS, false, &R.n[i].ctl, err, sizeof(err)))
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
	if (agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false))
		return -ENOMEM;
	rc = agent_client_call(R.n[i].ctl, &req, 300 * MS, &rep);
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

static int wait_leader(unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	struct nstat st;

	while (bench_now_ns() < end) {
		if (node_status(1, &st) == 0 && st.leader >= 1 && st.leader <= N_NODES) {
			struct nstat ls;

			if (node_status((int)st.leader, &ls) == 0 && strcmp(ls.role, "leader") == 0)
				return (int)st.leader;
		}
		sleep_ms(20);
	}
	die("no leader within %u ms", timeout_ms);
}

/* Node i has applied everything the leader had committed when called. */
static void wait_applied(int leader, int i, unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	struct nstat ls, st;

	if (node_status(leader, &ls) != 0)
		die("status of leader %d failed", leader);
	while (bench_now_ns() < end) {
		if (node_status(i, &st) == 0 && st.applied >= ls.commit)
			return;
		sleep_ms(20);
	}
	die("node %d did not apply up to %llu within %u ms", i, (unsigned long long)ls.commit,
	    timeout_ms);
}

static int count_hosts(int i)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	const msgpack_object *arr;
	int n = -1;

	if (agent_client_req_begin(&req, PROTO_OP_HOSTS, 0, true))
		return -1;
	if (agent_client_call_retry(R.n[i].ctl, &req, 2000 * MS, &rep) == 0) {
		arr = agent_client_reply_get(&rep, "hosts");
		if (rep.status == 0 && arr && arr->type == MSGPACK_OBJECT_ARRAY)
			n = (int)arr->via.array.size;
		agent_client_reply_close(&rep);
	}
	agent_client_req_close(&req);
	return n;
}

static uint32_t vm_ip(int host, int k)
{
	return (10u << 24) | ((uint32_t)host << 8) | (uint32_t)(k + 1);	/* 10.0.H.K+1 */
}

static void register_vms(int l)
{
	struct agent_client_submit_result res;
	uint64_t end = bench_now_ns() + 10000 * MS;
	struct cons_cmd cmd;

	while (count_hosts(l) < N_NODES) {
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
			if (agent_client_submit(R.n[l].ctl, &cmd, 5000 * MS, &res) != 0)
				die("vm add: %s", res.err);
		}
}

/* The k-th reservation: a unique (src, dst, proto, dport) between VMs on
 * different hosts, small enough that 10,000 fit the rack (as bench_raft). */
static void reserve_cmd(uint64_t k, struct cons_cmd *cmd)
{
	int src = (int)(k % N_VMS);
	int dst = (src + VMS_PER_HOST + (int)(k / N_VMS) % VMS_PER_HOST) % N_VMS;
	struct cons_path_req *p = &cmd->u.path;

	if (dst / VMS_PER_HOST == src / VMS_PER_HOST)
		dst = (dst + VMS_PER_HOST) % N_VMS;
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = CONS_OP_PATH_RESERVE;
	p->src_ip = vm_ip(src / VMS_PER_HOST + 1, src % VMS_PER_HOST);
	p->dst_ip = vm_ip(dst / VMS_PER_HOST + 1, dst % VMS_PER_HOST);
	p->proto = 17;
	p->dport = (uint16_t)(1 + (k / N_VMS) % 65000);
	p->type = k % 5 ? CONS_PATH_DEADLINE : CONS_PATH_RESERVATION;
	p->rate_bps = 100000;
	p->deadline_ns = 20 * MS;
	p->max_pkt_bytes = 200;
	snprintf(p->owner, sizeof(p->owner), "bench");
}

static void *fill_thread(void *arg)
{
	const char *url = arg;
	struct agent_client_submit_result res;
	struct agent_client *c;
	char err[AGENT_CLIENT_ERRLEN];
	struct cons_cmd cmd;

	if (agent_client_new(url, 5000 * MS, true, &c, err, sizeof(err)))
		die("fill client: %s", err);
	while (atomic_fetch_sub(&R.tickets, 1) > 0) {
		reserve_cmd(atomic_fetch_add(&R.next_k, 1), &cmd);
		if (agent_client_submit(c, &cmd, 5000 * MS, &res) != 0)
			die("reservation failed: %s", res.err);
	}
	agent_client_free(c);
	return NULL;
}

static void fill(int leader, int n)
{
	pthread_t t[FILL_THREADS];

	atomic_store(&R.tickets, n);
	for (int i = 0; i < FILL_THREADS; i++)
		if (pthread_create(&t[i], NULL, fill_thread, R.n[leader].sock_url) != 0)
			die("pthread_create failed");
	for (int i = 0; i < FILL_THREADS; i++)
		pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------------------- */
/* Scraping                                                                   */

struct scrapes {
	double *ms, *render_ms;	/* per scrape; render_ms[i] = scrape i-1's */
	int n, n_render;
	size_t bytes;		/* of the last one */
	double aggregated_tx, aggregated_rx, series;
};

/* The value of an unlabelled or exactly-labelled sample in an exposition. */
static bool sample(const char *body, size_t len, const char *name, double *v)
{
	char key[128];
	const char *p;
	size_t kl = (size_t)snprintf(key, sizeof(key), "\n%s ", name);

	p = memmem(body, len, key, kl);
	if (!p)
		return false;
	*v = strtod(p + kl, NULL);
	return true;
}

static void scrape_note(struct scrapes *s, const char *body, size_t len)
{
	double v;

	s->bytes = len;
	if (sample(body, len, "rtvnet_metrics_render_seconds", &v) && v > 0)
		s->render_ms[s->n_render++] = v * 1e3;
	if (sample(body, len, "rtvnet_metrics_rtpaths_aggregated{side=\"tx\"}", &v))
		s->aggregated_tx = v;
	if (sample(body, len, "rtvnet_metrics_rtpaths_aggregated{side=\"rx\"}", &v))
		s->aggregated_rx = v;
	if (sample(body, len, "rtvnet_metrics_series", &v))
		s->series = v;
}

/* n back-to-back GET /metrics of node i, each on a new connection. */
static void scrape_run(int i, int n, struct scrapes *s)
{
	char u[64];
	nng_url *url;
	nng_http_client *cli;
	nng_http_req *req;
	nng_http_res *res;
	nng_aio *aio;
	int rv;

	memset(s, 0, sizeof(*s));
	s->ms = calloc((size_t)n, sizeof(double));
	s->render_ms = calloc((size_t)n, sizeof(double));
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/metrics", metrics_port(i));
	if (!s->ms || !s->render_ms || (rv = nng_url_parse(&url, u)) ||
	    (rv = nng_http_client_alloc(&cli, url)) || (rv = nng_http_req_alloc(&req, url)) ||
	    (rv = nng_http_res_alloc(&res)) || (rv = nng_aio_alloc(&aio, NULL, NULL)))
		die("setting up the HTTP client for %s failed", u);
	nng_aio_set_timeout(aio, 10000);
	for (int k = 0; k < n; k++) {
		uint64_t t0 = bench_now_ns();
		void *body;
		size_t len;

		nng_http_res_reset(res);
		nng_http_client_transact(cli, req, res, aio);
		nng_aio_wait(aio);
		if ((rv = nng_aio_result(aio)) != 0 || nng_http_res_get_status(res) != 200)
			die("scrape %d of %s failed: %s (HTTP %u)", k, u, nng_strerror(rv),
			    nng_http_res_get_status(res));
		s->ms[k] = (double)(bench_now_ns() - t0) / 1e6;
		nng_http_res_get_data(res, &body, &len);
		scrape_note(s, body, len);
		s->n++;
	}
	nng_aio_free(aio);
	nng_http_res_free(res);
	nng_http_req_free(req);
	nng_http_client_free(cli);
	nng_url_free(url);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double p99(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

static void scrapes_free(struct scrapes *s)
{
	free(s->ms);
	free(s->render_ms);
}

/* ------------------------------------------------------------------------- */
/* The dashboards against a real Prometheus: the system test does it          */

static bool figure(const char *path, const char *key, double *v)
{
	char k[32];
	double x;
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fscanf(f, "%31s %lf", k, &x) == 2)
		if (strcmp(k, key) == 0) {
			*v = x;
			found = true;
		}
	fclose(f);
	return found;
}

static void dashboards_run(void)
{
	char figs[PATH_MAX], log[PATH_MAX], cmd[3 * PATH_MAX];
	double with_data = 0, total = 0, pending = 0, idle = 0, failed = 0;
	int rc;

	snprintf(figs, sizeof(figs), "%s/dashboard-figures", R.dir);
	snprintf(log, sizeof(log), "%s/metrics-test.log", R.dir);
	if (snprintf(cmd, sizeof(cmd), "cd '%s' && RTV_BUILD='%s' METRICS_FIGURES='%s' "
		     "bash tests/system/metrics.sh >'%s' 2>&1", R.root, R.build, figs, log) >=
	    (int)sizeof(cmd))
		die("paths too long for a command line");
	rc = system(cmd);
	if (!figure(figs, "with_data", &with_data) || !figure(figs, "total", &total))
		die("tests/system/metrics.sh wrote no figures (exit %d); its output: %s",
		    WEXITSTATUS(rc), log);
	figure(figs, "pending", &pending);
	figure(figs, "idle", &idle);
	figure(figs, "failed", &failed);
	printf("    tests/system/metrics.sh: exit %d; %.0f queries: %.0f with data, %.0f pending "
	       "(not counted yet), %.0f idle (no dataplane on loopback), %.0f failed\n",
	       WEXITSTATUS(rc), total, with_data, pending, idle, failed);
	if (rc != 0) {
		fprintf(stderr, "bench_metrics: tests/system/metrics.sh failed; its output: %s\n",
			log);
		R.keep = true;
	}
	bench_report("metrics.dashboard_queries_with_data", with_data, "queries", BENCH_HIGHER,
		     NULL, 0);
	bench_report("metrics.dashboard_queries_total", total, "queries", BENCH_HIGHER, NULL, 0);
}

int main(void)
{
	int n = env_int("BENCH_METRICS_SCRAPES", 200), paths = env_int("BENCH_METRICS_PATHS", 10000);
	struct scrapes empty, full;
	int l;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rack_up();
	printf("  3 rtvd on loopback in %s, metrics on ports %d..%d\n", R.dir, metrics_port(1),
	       metrics_port(N_NODES));
	l = wait_leader(15000);
	register_vms(l);
	wait_applied(l, 1, 10000);

	printf("  phase 1: %d scrapes of node 1, no rtpaths\n", n);
	scrape_run(1, n, &empty);
	printf("  phase 2: fill to %d rtpaths (%d clients), then %d scrapes of node 1\n", paths,
	       FILL_THREADS, n);
	fill(l, paths);
	wait_applied(wait_leader(10000), 1, 30000);
	scrape_run(1, n, &full);
	printf("    node 1: %.0f series, %.0f KiB; rtpaths folded into other: %.0f sent, %.0f "
	       "received (cap 1000)\n", full.series, (double)full.bytes / 1024, full.aggregated_tx,
	       full.aggregated_rx);
	bench_report("metrics.scrape_ms.p99", p99(full.ms, full.n), "ms", BENCH_LOWER, "empty",
		     p99(empty.ms, empty.n));
	bench_report("metrics.render_ms.p99", p99(full.render_ms, full.n_render), "ms",
		     BENCH_LOWER, "empty", p99(empty.render_ms, empty.n_render));
	bench_report("metrics.scrape_kib.10k_paths", (double)full.bytes / 1024, "KiB", BENCH_LOWER,
		     "empty", (double)empty.bytes / 1024);
	scrapes_free(&empty);
	scrapes_free(&full);
	stop_rack();

	printf("  phase 3: the dashboards against a real Prometheus (tests/system/metrics.sh)\n");
	dashboards_run();
	return R.keep ? 1 : 0;
}
