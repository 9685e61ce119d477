/* bench_raft_tls.c — what mutual TLS costs Raft (group `raft_tls`).
 *
 * Three processes on loopback, each one consensus node (consensus/node.c,
 * raft_uv with fsync on this disk) on its own libuv loop, run once with the
 * plain TCP transport and once with the TLS transport (transport_tls.c,
 * certificates from pki/rtv-pki.sh), alternating plain/TLS for
 * BENCH_RAFT_TLS_ROUNDS rounds (default 3) so both see the same machine;
 * each figure is the median over the rounds. Per run:
 *   1. commit latency, one client: the leader's process submits NOOP
 *      commands one at a time (BENCH_RAFT_TLS_N, default 1000) and times
 *      submit → applied                       raft.commit.p99_ms.1client.tls
 *   2. 64 commands outstanding for 3 s        raft.commit.per_s.64clients.tls
 *   3. a follower killed (-9) and restarted from its data dir: time from
 *      the moment its node has loaded its snapshot and log (raft_start
 *      returned) to having applied everything the leader had committed
 *      (the leader's reconnect, both TLS handshakes, catch-up)
 *                                             raft.rejoin_ms.tls
 *      The local reload before it is printed apart: it replays the log
 *      tail after the last snapshot, 0 to ~4,600 entries depending on where
 *      the load phase stopped relative to that node's snapshot threshold,
 *      so it varies by hundreds of ms from run to run whatever the
 *      transport (the earlier "786 vs 277 ms" compared two such reloads).
 * The baselines are the same measurements with the plain transport in the
 * same run. These drive the node directly, without rtvd's RPC, so they
 * isolate the transport; bench_raft's raft.commit.* figures go through rtvd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "bench/report.h"
#include "common/log.h"
#include "consensus/consensus.h"
#include "pki/pki.h"

#define NODES 3
#define CLIENTS 64
#define LOAD_S 3
#define MS 1000000ull

struct run {
	bool tls;
	unsigned port_base;
	char dir[128];
	pid_t pid[NODES];
	int pipe_r, pipe_w;
};

struct result {
	double p50_ms, p99_ms, per_s, rejoin_ms, load_ms, contact_ms;
};

static char tmp[64];
static unsigned n_samples = 1000;

/* ------------------------------------------------------------------------- */
/* One node's process                                                         */

struct child {
	uv_loop_t loop;
	uv_timer_t tick;
	struct cons_node *node;
	struct cons_state *state;
	int out;
	char loaded[160];	/* exists once a leader has run the load */
	bool rejoin;		/* restarted: report catching up to `target` */
	uint64_t target, t_start, t_loaded, t_contact;
	/* the leader's load */
	int phase;		/* 0 waiting, 1 one client, 2 many, 3 done */
	unsigned done, inflight;
	uint64_t t_phase, t_sub, t_end;
	double *lat_ms;
	uint64_t n_many;
};

static void say(struct child *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct child *ch, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(ch->out, line, (size_t)n) != n)
		_exit(3);
}

static void submit_one(struct child *ch);

static void on_applied(void *arg, int status, const struct cons_result *res)
{
	struct child *ch = arg;
	uint64_t now = bench_now_ns();

	if (status != 0 || res->status != 0) {
		say(ch, "E submit failed: %d\n", status);
		_exit(4);
	}
	ch->inflight--;
	if (ch->phase == 1) {
		ch->lat_ms[ch->done++] = (double)(now - ch->t_sub) / MS;
		if (ch->done < n_samples) {
			submit_one(ch);
			return;
		}
		ch->phase = 2;
		ch->n_many = 0;
		ch->t_phase = now;
		ch->t_end = now + LOAD_S * 1000 * MS;
		while (ch->inflight < CLIENTS)
			submit_one(ch);
		return;
	}
	ch->n_many++;
	if (now < ch->t_end)
		submit_one(ch);
	else if (ch->inflight == 0) {
		struct cons_node_status st;
		double p50, p99;

		cons_node_status(ch->node, &st);
		p50 = bench_median(ch->lat_ms, (int)n_samples);	/* sorts */
		p99 = ch->lat_ms[(size_t)(0.99 * (n_samples - 1))];
		say(ch, "R %.4f %.4f %.1f %llu %llu\n", p50, p99,
		    (double)ch->n_many * 1e9 / (double)(now - ch->t_phase),
		    (unsigned long long)st.commit_index, (unsigned long long)st.id);
		ch->phase = 3;
	}
}

static void submit_one(struct child *ch)
{
	struct cons_cmd cmd = { .op = CONS_OP_NOOP };

	ch->t_sub = bench_now_ns();
	ch->inflight++;
	if (cons_node_submit(ch->node, &cmd, on_applied, ch) != 0) {
		say(ch, "E not leader any more\n");
		_exit(4);
	}
}

static void tick_cb(uv_timer_t *t)
{
	struct child *ch = t->data;
	struct cons_node_status st;

	cons_node_status(ch->node, &st);
	if (ch->rejoin) {
		if (st.leader_id && !ch->t_contact)
			ch->t_contact = bench_now_ns();	/* the leader's first message */
		if (st.leader_id && st.commit_index >= ch->target && st.applied_index >= ch->target) {
			say(ch, "J %.2f %.2f %.2f\n", (double)(bench_now_ns() - ch->t_loaded) / MS,
			    (double)(ch->t_loaded - ch->t_start) / MS,
			    (double)(ch->t_contact - ch->t_loaded) / MS);
			ch->rejoin = false;
		}
		return;
	}
	/* only the first leader loads: a later one (after a leadership change
	 * on a busy machine) must not load the rack during the rejoin */
	if (ch->phase == 0 && st.role == CONS_ROLE_LEADER && access(ch->loaded, F_OK) != 0) {
		ch->phase = 1;
		submit_one(ch);
	}
}

static void child_main(const struct run *r, int i, uint64_t rejoin_target)
{
	struct child ch = { .out = r->pipe_w, .rejoin = rejoin_target > 0,
			    .target = rejoin_target };
	struct cons_peer peers[NODES];
	char addr[32], data[160], ca[160], crt[160], key[160], err[CONS_ERRLEN];
	struct pki_creds *creds = NULL;
	char perr[PKI_ERRLEN];

	ch.t_start = bench_now_ns();
	snprintf(ch.loaded, sizeof(ch.loaded), "%s/loaded", r->dir);
	rtv_log_init("bench_raft_tls", getenv("BENCH_RAFT_TLS_DEBUG") ? RTV_LOG_DEBUG : RTV_LOG_ERROR);
	for (int k = 0; k < NODES; k++) {
		peers[k].id = (uint64_t)k + 1;
		snprintf(peers[k].raft_addr, sizeof(peers[k].raft_addr), "127.0.0.1:%u",
			 r->port_base + (unsigned)k);
		peers[k].voter = true;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", r->port_base + (unsigned)i);
	snprintf(data, sizeof(data), "%s/n%d", r->dir, i + 1);
	if (r->tls) {
		snprintf(ca, sizeof(ca), "%s/pki/ca.crt", tmp);
		snprintf(crt, sizeof(crt), "%s/pki/host-%d.crt", tmp, i + 1);
		snprintf(key, sizeof(key), "%s/pki/host-%d.key", tmp, i + 1);
		if (pki_creds_new(ca, crt, key, 0, &creds, perr) != 0) {
			say(&ch, "E %s\n", perr);
			_exit(2);
		}
	}
	struct cons_node_config cfg = { .id = (uint64_t)i + 1, .raft_addr = addr,
					.data_dir = data, .peers = peers, .n_peers = NODES,
					.pre_vote = true, .tls = creds };
	ch.lat_ms = calloc(n_samples, sizeof(double));
	uv_loop_init(&ch.loop);
	if (cons_state_new(&ch.state) != 0 ||
	    cons_node_new(&ch.loop, &cfg, ch.state, NULL, &ch.node, err) != 0 ||
	    cons_node_start(ch.node) != 0) {
		say(&ch, "E node %d: %s\n", i + 1, err);
		_exit(2);
	}
	ch.t_loaded = bench_now_ns();	/* raft_start loaded snapshot and log */
	uv_timer_init(&ch.loop, &ch.tick);
	ch.tick.data = &ch;
	uv_timer_start(&ch.tick, tick_cb, 1, 1);
	uv_run(&ch.loop, UV_RUN_DEFAULT);
	_exit(0);
}

/* ------------------------------------------------------------------------- */
/* The parent                                                                 */

static void spawn(struct run *r, int i, uint64_t rejoin_target)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("bench_raft_tls: fork");
		exit(1);
	}
	if (pid == 0) {
		close(r->pipe_r);
		child_main(r, i, rejoin_target);
	}
	r->pid[i] = pid;
}

static void kill_node(struct run *r, int i)
{
	if (r->pid[i] > 0) {
		kill(r->pid[i], SIGKILL);
		waitpid(r->pid[i], NULL, 0);
		r->pid[i] = 0;
	}
}

/* One line from the children, within timeout_s. */
static bool read_line(struct run *r, char *buf, size_t cap, int timeout_s)
{
	struct pollfd p = { .fd = r->pipe_r, .events = POLLIN };
	size_t n = 0;

	while (n + 1 < cap) {
		if (poll(&p, 1, timeout_s * 1000) <= 0)
			return false;
		if (read(r->pipe_r, buf + n, 1) != 1)
			return false;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static bool run_once(bool tls, unsigned port_base, struct result *res)
{
	struct run r = { .tls = tls, .port_base = port_base };
	int fds[2];
	char line[256];
	unsigned long long commit = 0, leader = 0;
	bool ok = false;

	snprintf(r.dir, sizeof(r.dir), "%s/%s-%u", tmp, tls ? "tls" : "plain", port_base);
	mkdir(r.dir, 0700);
	for (int i = 0; i < NODES; i++) {
		snprintf(line, sizeof(line), "%s/n%d", r.dir, i + 1);
		mkdir(line, 0700);
	}
	if (pipe(fds) != 0)
		return false;
	r.pipe_r = fds[0];
	r.pipe_w = fds[1];
	for (int i = 0; i < NODES; i++)
		spawn(&r, i, 0);
	if (!read_line(&r, line, sizeof(line), 120) ||
	    sscanf(line, "R %lf %lf %lf %llu %llu", &res->p50_ms, &res->p99_ms, &res->per_s,
		   &commit, &leader) != 5) {
		fprintf(stderr, "bench_raft_tls: %s run: %s\n", tls ? "TLS" : "plain",
			line[0] ? line : "no result within 120 s");
		goto out;
	}
	snprintf(line, sizeof(line), "%s/loaded", r.dir);
	close(open(line, O_CREAT | O_WRONLY, 0600));
	/* rejoin: a follower, killed and restarted */
	int f = (int)(leader % NODES);	/* the node after the leader (ids 1-based) */
	kill_node(&r, f);
	spawn(&r, f, commit);
	for (;;) {
		if (!read_line(&r, line, sizeof(line), 60)) {
			fprintf(stderr, "bench_raft_tls: rejoin: no answer within 60 s\n");
			goto out;
		}
		if (sscanf(line, "J %lf %lf %lf", &res->rejoin_ms, &res->load_ms,
			   &res->contact_ms) == 3)
			break;
		fprintf(stderr, "bench_raft_tls: during rejoin: %s", line);
	}
	ok = true;
out:
	for (int i = 0; i < NODES; i++)
		kill_node(&r, i);
	close(fds[0]);
	close(fds[1]);
	return ok;
}

static double med(double *v, int n)
{
	return bench_median(v, n);
}

int main(void)
{
	const char *s = getenv("BENCH_RAFT_TLS_ROUNDS"), *src = getenv("RTV_SRC");
	int rounds = s ? atoi(s) : 3;
	double p99[2][8], per_s[2][8], rejoin[2][8];
	char cmd[512];
	struct result res;

	signal(SIGPIPE, SIG_IGN);	/* as rtvd: raft writes to streams whose peer died */
	if ((s = getenv("BENCH_RAFT_TLS_N")) && atoi(s) > 10)
		n_samples = (unsigned)atoi(s);
	if (rounds < 1 || rounds > 8)
		rounds = 3;
	snprintf(tmp, sizeof(tmp), "/tmp/rtv-bench-raft-tls.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(cmd, sizeof(cmd), "R=%s/pki/rtv-pki.sh; D=%s/pki; $R -d $D init >/dev/null && "
		 "for i in 1 2 3; do $R -d $D issue $i >/dev/null || exit 1; done",
		 src ? src : ".", tmp);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_raft_tls: rtv-pki.sh failed (run from the source tree)\n");
		return 1;
	}
	for (int k = 0; k < rounds; k++)
		for (int tls = 0; tls < 2; tls++) {
			if (!run_once(tls, 17500 + (unsigned)(k * 2 + tls) * 4, &res))
				return 1;
			printf("  round %d %-5s: 1 client p50 %.3f ms p99 %.3f ms; 64: %.0f/s; "
			       "rejoin %.1f ms (leader's first message after %.1f ms; local "
			       "reload before it %.1f ms)\n", k + 1, tls ? "TLS" : "plain",
			       res.p50_ms, res.p99_ms, res.per_s, res.rejoin_ms, res.contact_ms,
			       res.load_ms);
			p99[tls][k] = res.p99_ms;
			per_s[tls][k] = res.per_s;
			rejoin[tls][k] = res.rejoin_ms;
		}
	bench_report("raft.commit.p99_ms.1client.tls", med(p99[1], rounds), "ms", BENCH_LOWER,
		     "plaintext, same harness", med(p99[0], rounds));
	bench_report("raft.commit.per_s.64clients.tls", med(per_s[1], rounds), "commits/s",
		     BENCH_HIGHER, "plaintext, same harness", med(per_s[0], rounds));
	bench_report("raft.rejoin_ms.tls", med(rejoin[1], rounds), "ms", BENCH_LOWER,
		     "plaintext, same harness", med(rejoin[0], rounds));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : 1;
}
