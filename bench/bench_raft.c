/* bench_raft.c — the control plane under load (issue 3, group `raft`).
 *
 * Three real rtvd processes on loopback (bench/rack.c: fork/exec of
 * build/bin/rtvd with generated configs in a temp dir, like
 * tests/lib/rack.sh), driven through
 * the same client library rtvctl uses (rpc/client.h), so the figures
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
 * pre-vote, which stops a follower that still trusts the dead leader from
 * splitting the first election; about 0.45 s median failover). Knobs:
 * RTVD (binary), BENCH_RAFT_N (latency samples, default 1000),
 * BENCH_RAFT_KILLS (default 20).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
#include "rpc/proto.h"
#include "bench/rack.h"
#include "bench/report.h"

#define N_NODES RACK_NODES
#define TARGET_PATHS 10000
#define N_CLIENTS 64
#define FAILOVER_CLIENTS 4
#define MS 1000000ull

static struct {
	struct rack rk;
	char all_rpc[3 * 64];
	/* every acknowledged reservation id, all phases */
	pthread_mutex_t mu;
	uint64_t *acked;
	size_t n_acked, cap_acked;
	atomic_uint_fast64_t next_k;	/* reservation counter: unique 5-tuples */
} R = { .rk = { .name = "bench_raft", .keep_env = "BENCH_RAFT_KEEP" },
	.mu = PTHREAD_MUTEX_INITIALIZER };

#define die(...) rack_die(&R.rk, __VA_ARGS__)

static double rss_mib(int i)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)R.rk.n[i].pid);
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

	rack_reserve_cmd(atomic_fetch_add(&R.next_k, 1), false, &cmd);
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

	if (!v || agent_client_new(R.rk.n[i].sock_url, 5000 * MS, true, &c, err, sizeof(err)))
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

	if (agent_client_new_tls(ld->url, ld->timeout_ms * MS, false, &R.rk.tls, &c, err,
				 sizeof(err))) {
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
		const char *url = all_nodes ? R.all_rpc : R.rk.n[t % N_NODES + 1].sock_url;

		ld[t] = (struct load){ .url = url, .timeout_ms = timeout_ms, .stop = stop,
				       .tickets = tickets };
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
		rack_sleep_ms(10);
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
	int l = rack_wait_leader(&R.rk, 5000, 0);
	int have = rack_count_list(&R.rk, l, PROTO_OP_PATHS, "paths", true);

	if (have < 0)
		die("paths on the leader failed: %d", have);
	while (have < target) {
		atomic_store(&tickets, target - have);
		load_start(ld, 16, &stop, &tickets, 5000, false);
		load_join(ld, 16, &failed);
		have = rack_count_list(&R.rk, l, PROTO_OP_PATHS, "paths", true);
	}
	if (have != target)
		printf("    note: %d rtpaths (an unacknowledged attempt was applied)\n", have);
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
		int l = rack_try_leader(&R.rk, 10000, 0), zero_wait = 0;
		if (!l) {
			printf("    no stable leader for 10 s: the rack did not recover; "
			       "stopping the failover phase\n");
			R.rk.keep = true;
			break;
		}
		rack_caught_up(&R.rk, l, 5000);
		rack_sleep_ms(100);
		atomic_store(&recovered_ns, 0);
		atomic_store(&killed_id, l);
		atomic_store(&kill_ns, bench_now_ns());
		rack_kill(&R.rk, l);
		while (atomic_load(&recovered_ns) == 0 && zero_wait++ < 1000)
			rack_sleep_ms(10);
		ms[k] = atomic_load(&recovered_ns)
			? (double)(atomic_load(&recovered_ns) - atomic_load(&kill_ns)) / 1e6 : 10000.0;
		atomic_store(&kill_ns, 0);
		printf("    kill %2d: node %d, next ack under a new leader after %.0f ms\n", k + 1, l,
		       ms[k]);
		rack_spawn(&R.rk, l);
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
	int n = rack_read_list(&R.rk, i, PROTO_OP_PATHS, "paths", lin, &rep, &arr);

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
	rack_up(&R.rk);
	snprintf(R.all_rpc, sizeof(R.all_rpc), "%s,%s,%s", R.rk.n[1].rpc_url, R.rk.n[2].rpc_url,
		 R.rk.n[3].rpc_url);
	printf("  3 rtvd on loopback in %s (ports %d..%d), election timeout 250 ms\n", R.rk.dir,
	       R.rk.base + 1, R.rk.base + 50 + N_NODES);
	rack_register_vms(&R.rk, rack_wait_leader(&R.rk, 15000, 0));
	l = rack_wait_leader(&R.rk, 10000, 0);
	rack_caught_up(&R.rk, l, 10000);
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

	have = rack_count_list(&R.rk, l, PROTO_OP_PATHS, "paths", true);
	printf("  phase 3: %d clients (one req socket each, spread over the 3 agents)\n", N_CLIENTS);
	bench_report("raft.commit.per_s.64clients",
		     throughput_run(TARGET_PATHS - have - 1000 > 6000 ? 6000 : TARGET_PATHS - have - 1000),
		     "1/s", BENCH_HIGHER, "1client", lf.per_s);

	printf("  phase 4: fill to %d rtpaths\n", TARGET_PATHS);
	fill_to(TARGET_PATHS);
	l = rack_wait_leader(&R.rk, 10000, 0);
	rack_caught_up(&R.rk, l, 20000);
	full = max_rss();
	bench_report("agent.rss_mib.10k_paths", full, "MiB", BENCH_LOWER, "empty", empty);

	printf("  phase 5: %d x kill -9 of the leader under load (%d clients dialled to all agents)\n",
	       kills, FAILOVER_CLIENTS);
	if ((kills = failover_run(kills, fo, 60000 * MS)) == 0)
		die("no failover could be measured");
	bench_report("raft.failover.median_ms", bench_median(fo, kills), "ms", BENCH_LOWER, NULL, 0);
	bench_report("raft.failover.max_ms", fo[kills - 1], "ms", BENCH_LOWER, NULL, 0);

	printf("  phase 6: every acknowledged reservation on every agent\n");
	l = rack_wait_leader(&R.rk, 10000, 0);
	rack_caught_up(&R.rk, l, 20000);
	lost = missing_on(l, true);
	for (int i = 1; i <= N_NODES; i++) {
		size_t m = missing_on(i, false);
		lost = m > lost ? m : lost;
	}
	bench_report("raft.lost_acked", (double)lost, "count", BENCH_LOWER, NULL, 0);
	free(fo);
	return lost ? 1 : 0;
}
