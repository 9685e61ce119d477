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
 *   3. tests/system/lab_metrics.sh (as root; else tests/system/metrics.sh on
 *      loopback): a real Prometheus scrapes the lab rack while experiment 3
 *      runs (rtvd's dataplane, OVS, misses, escalation) and every panel
 *      query of every dashboard is evaluated through its HTTP API
 *                                                   metrics.dashboard_queries_with_data
 *                                                   metrics.dashboard_queries_total
 *      (equal when every histogram behind a panel has observations; the
 *      loopback rack runs no dataplane, so there its delay quantiles are
 *      NaN and counted as idle)
 *
 * Knobs: RTVD (binary), BENCH_METRICS_SCRAPES (default 200),
 * BENCH_METRICS_PATHS (default 10000), BENCH_METRICS_KEEP=1 keeps the dir.
 */
#include <limits.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpc/client.h"
#include "bench/rack.h"
#include "bench/report.h"

#define N_NODES RACK_NODES
#define FILL_THREADS 8
#define MS 1000000ull

static struct {
	struct rack rk;
	char root[PATH_MAX];
	atomic_uint_fast64_t next_k;
	atomic_int tickets;
} R = { .rk = { .name = "bench_metrics", .keep_env = "BENCH_METRICS_KEEP", .metrics = true } };

#define die(...) rack_die(&R.rk, __VA_ARGS__)

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : dflt;
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
		rack_reserve_cmd(atomic_fetch_add(&R.next_k, 1), true, &cmd);
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
		if (pthread_create(&t[i], NULL, fill_thread, R.rk.n[leader].sock_url) != 0)
			die("pthread_create failed");
	for (int i = 0; i < FILL_THREADS; i++)
		pthread_join(t[i], NULL);
}

static void wait_applied(int leader, unsigned timeout_ms)
{
	if (!rack_caught_up(&R.rk, leader, timeout_ms))
		die("the rack did not apply what leader %d committed within %u ms", leader,
		    timeout_ms);
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
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/metrics", rack_metrics_port(&R.rk, i));
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

/* The repository: the working directory (make runs there) or above build/. */
static void find_root(void)
{
	if (access("tests/system/metrics.sh", R_OK) == 0 && getcwd(R.root, sizeof(R.root)))
		return;
	if (snprintf(R.root, sizeof(R.root), "%s/..", R.rk.build) >= (int)sizeof(R.root))
		die("path too long: %s", R.rk.build);
}

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

/* The lab (namespaces: root) runs every source a panel reads. */
static const char *dashboards_test(void)
{
	return geteuid() == 0 ? "tests/system/lab_metrics.sh" : "tests/system/metrics.sh";
}

static void dashboards_run(void)
{
	const char *test = dashboards_test();
	char figs[PATH_MAX], log[PATH_MAX], cmd[3 * PATH_MAX];
	double with_data = 0, total = 0, pending = 0, idle = 0, failed = 0;
	int rc;

	snprintf(figs, sizeof(figs), "%s/dashboard-figures", R.rk.dir);
	snprintf(log, sizeof(log), "%s/metrics-test.log", R.rk.dir);
	if (snprintf(cmd, sizeof(cmd), "cd '%s' && RTV_BUILD='%s' METRICS_FIGURES='%s' "
		     "bash %s >'%s' 2>&1", R.root, R.rk.build, figs, test, log) >=
	    (int)sizeof(cmd))
		die("paths too long for a command line");
	rc = system(cmd);
	if (!figure(figs, "with_data", &with_data) || !figure(figs, "total", &total))
		die("%s wrote no figures (exit %d); its output: %s", test, WEXITSTATUS(rc), log);
	figure(figs, "pending", &pending);
	figure(figs, "idle", &idle);
	figure(figs, "failed", &failed);
	printf("    %s: exit %d; %.0f queries: %.0f with data, %.0f pending, %.0f idle "
	       "(a source this rack does not run), %.0f failed\n",
	       test, WEXITSTATUS(rc), total, with_data, pending, idle, failed);
	if (rc != 0) {
		fprintf(stderr, "bench_metrics: %s failed; its output: %s\n", test, log);
		R.rk.keep = true;
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
	rack_up(&R.rk);
	find_root();
	printf("  3 rtvd on loopback in %s, metrics on ports %d..%d\n", R.rk.dir,
	       rack_metrics_port(&R.rk, 1), rack_metrics_port(&R.rk, N_NODES));
	l = rack_wait_leader(&R.rk, 15000, 0);
	rack_register_vms(&R.rk, l);
	wait_applied(l, 10000);

	printf("  phase 1: %d scrapes of node 1, no rtpaths\n", n);
	scrape_run(1, n, &empty);
	printf("  phase 2: fill to %d rtpaths (%d clients), then %d scrapes of node 1\n", paths,
	       FILL_THREADS, n);
	fill(l, paths);
	wait_applied(rack_wait_leader(&R.rk, 10000, 0), 30000);
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
	rack_stop(&R.rk);

	printf("  phase 3: the dashboards against a real Prometheus (%s)\n", dashboards_test());
	dashboards_run();
	return R.rk.keep ? 1 : 0;
}
