/* bench_dpnet.c — the dataplane on real packets against a direct path, same
 * run (group `dpnet`; issue 4, "Benchmarks"). The namespaces, dptest, iperf3
 * and rtvgen are driven by tests/lab/dpnet_bench.sh (see its header for the
 * topology and for why the direct path is a Linux bridge in place of
 * dptest); this program runs it, reads its key=value lines and turns the
 * repetitions into figures:
 *
 *   dp.throughput.ratio_vs_direct   median over repetitions of ours/direct
 *                                   (TCP goodput, 100 Mbit/s HTB wire, runs
 *                                   interleaved in pairs); baseline: direct
 *                                   Mbit/s. Target >= 0.90.
 *   dp.throughput.mbps              ours, baseline direct (medians)
 *   dp.added_latency.p50_us/.p99_us median over pairs of ours − direct of the
 *                                   one-way delay quantile of a 10 Mbit/s
 *                                   UDP flow (an admitted rtpath on ours);
 *                                   baseline: direct's quantile. Target p99
 *                                   <= 50 µs.
 *   dp.added_latency_1cpu.*         the same with both rtvgens and every
 *                                   dptest thread on CPU 0: the dataplane's
 *                                   path without cross-CPU wake-ups
 *   dp.cpu_s_per_gbit               utime + stime of both dptest processes
 *                                   per Gbit of frames the wire carried in
 *                                   the data direction during the 100 Mbit/s
 *                                   runs (the ACKs they forward back cost CPU
 *                                   but add no Gbit). No baseline: the
 *                                   bridge forwards in softirq inside other
 *                                   processes' time, which /proc cannot
 *                                   attribute on a shared machine.
 *   dp.throughput_ahead20us.*       the 100 Mbit/s run with dptest's pacer
 *                                   slack at 20 µs (the default before
 *                                   250 µs) against the same direct median:
 *                                   what the platform's late timer wake-ups
 *                                   cost a pacer with too little slack
 *   dp.throughput_busy.*, dp.added_latency_busy.*, dp.cpu_s_per_gbit_busy
 *                                   throughput, added latency and CPU again
 *                                   with [dataplane] poll = busy (one
 *                                   spinning thread per host, both on CPU 1
 *                                   at SCHED_FIFO, the rtvgens above them;
 *                                   see the script), paired with direct
 *                                   runs of the same phase. The figures
 *                                   without a suffix are rtvd's default
 *                                   (poll = sleep, tx_ahead 250 µs)
 *   dp.throughput_1g.*, dp.cpu_s_per_gbit_1g   wires and pacer at 1 Gbit/s
 *                                   (CPU-bound on 2 cores: reported apart)
 *
 * Also printed, not reported: the spread (min..max) of every series, and the
 * platform's costs that the dataplane pays and the bridge does not: a null
 * system call, and a thread's wake-up latency (a pipe between two threads,
 * the reader at the dataplane's SCHED_FIFO priority on the other CPU and on
 * the same CPU). Each frame through dptest needs two wake-ups (egress on one
 * host, ingress on the other) and a few system calls where the bridge
 * forwards inside the sender's own call, so these say how much of the added
 * latency and CPU is the machine's rather than the dataplane's.
 *
 * Needs root (network namespaces); without it the group prints why and
 * reports nothing. Runtime about 2 minutes.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/report.h"

#define SCRIPT "tests/lab/dpnet_bench.sh"
#define MAX_SERIES 32
#define MAX_REPS 32
#define KEY_LEN 48
#define WAKE_SAMPLES 1000
#define WAKE_GAP_US 500
#define SYSCALLS 100000
#define RT_PRIO 10		/* as the script's dptest (DPNET_RT_PRIO default) */

struct series {
	char key[KEY_LEN];
	double v[MAX_REPS];
	int n;
};

struct results {
	struct series s[MAX_SERIES];
	int n;
};

static struct series *series_get(struct results *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->s[i].key, key))
			return &r->s[i];
	return NULL;
}

static int series_add(struct results *r, const char *key, double v)
{
	struct series *s = series_get(r, key);

	if (!s) {
		if (r->n == MAX_SERIES || strlen(key) >= KEY_LEN)
			return -E2BIG;
		s = &r->s[r->n++];
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	if (s->n == MAX_REPS)
		return -E2BIG;
	s->v[s->n++] = v;
	return 0;
}

/* ---- running the script ------------------------------------------------------ */

/* One line of the script's stdout: "info.x=..." is shown, "key=number" kept. */
static int take_line(struct results *r, char *line)
{
	char *eq = strchr(line, '='), *end;
	double v;

	line[strcspn(line, "\n")] = '\0';
	if (!eq)
		return 0;
	*eq = '\0';
	if (!strncmp(line, "info.", 5)) {
		printf("  info: %s = %s\n", line + 5, eq + 1);
		fflush(stdout);	/* in step with the script's progress on stderr */
		return 0;
	}
	errno = 0;
	v = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || *end) {
		fprintf(stderr, "bench_dpnet: %s: \"%s\" is not a number\n", line, eq + 1);
		return -EINVAL;
	}
	return series_add(r, line, v);
}

/* The build directory's bin/, from this program's own path
 * (<build>/bench/bench_dpnet), so that BUILD=... runs its own dptest. */
static int bin_dir(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		if (!(slash = strrchr(exe, '/')))
			return -ENOENT;
		*slash = '\0';
	}
	return snprintf(out, cap, "%s/bin", exe) < (int)cap ? 0 : -ENAMETOOLONG;
}

/* Runs the script; 0, 1 (it failed: it said why on stderr) or BENCH_SKIPPED. */
static int run_script(struct results *r)
{
	char bin[PATH_MAX], line[2048];
	FILE *p;
	int st, bad = 0;

	if (access(SCRIPT, X_OK) < 0) {
		fprintf(stderr, "bench_dpnet: %s not found: run from the repository root (make bench)\n",
			SCRIPT);
		return 1;
	}
	if (bin_dir(bin, sizeof(bin)) < 0 || setenv("DPNET_BIN", bin, 1) < 0)
		return 1;
	fflush(stdout);
	if (!(p = popen(SCRIPT, "r"))) {
		perror("bench_dpnet: " SCRIPT);
		return 1;
	}
	while (fgets(line, sizeof(line), p))
		if (take_line(r, line) < 0)
			bad = 1;
	st = pclose(p);
	if (st < 0 || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st) ? WEXITSTATUS(st) : bad;
}

/* ---- platform wake-up latency ------------------------------------------------- */

struct wake {
	int fd[2];
	int reader_cpu;
	int n;				/* samples taken */
	double us[WAKE_SAMPLES];
};

static void pin_self(int cpu, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (prio)
		pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

static void *wake_reader(void *arg)
{
	struct wake *w = arg;

	pin_self(w->reader_cpu, RT_PRIO);
	for (int i = 0; i < WAKE_SAMPLES; i++) {
		struct pollfd pfd = { .fd = w->fd[0], .events = POLLIN };
		uint64_t t = 0;

		if (ppoll(&pfd, 1, NULL, NULL) < 0 || read(w->fd[0], &t, sizeof(t)) != sizeof(t))
			return NULL;
		w->us[i] = (double)(bench_now_ns() - t) / 1e3;
		w->n = i + 1;
	}
	return NULL;
}

static void *wake_writer(void *arg)
{
	struct wake *w = arg;
	struct timespec gap = { 0, WAKE_GAP_US * 1000 };

	pin_self(0, 0);
	for (int i = 0; i < WAKE_SAMPLES; i++) {
		uint64_t now;

		nanosleep(&gap, NULL);
		now = bench_now_ns();
		if (write(w->fd[1], &now, sizeof(now)) != sizeof(now))
			break;
	}
	close(w->fd[1]);
	return NULL;
}

/* Wake-up latency (p50, p99) of a thread blocked in ppoll on a pipe, written
 * by a thread on CPU 0 every WAKE_GAP_US (long enough for a CPU to go idle).
 * Both are new threads: this one keeps its CPU mask, which the script and
 * everything it starts inherit. */
static int wake_probe(int reader_cpu, double *p50, double *p99)
{
	static struct wake w;
	pthread_t rd, wr;

	memset(&w, 0, sizeof(w));
	w.reader_cpu = reader_cpu;
	if (pipe(w.fd) < 0)
		return -errno;
	if (pthread_create(&rd, NULL, wake_reader, &w) != 0) {
		close(w.fd[0]);
		close(w.fd[1]);
		return -EAGAIN;
	}
	if (pthread_create(&wr, NULL, wake_writer, &w) != 0)
		close(w.fd[1]);		/* the reader sees EOF */
	else
		pthread_join(wr, NULL);
	pthread_join(rd, NULL);
	close(w.fd[0]);
	if (w.n < WAKE_SAMPLES)
		return -EIO;
	*p50 = bench_median(w.us, WAKE_SAMPLES);	/* sorts */
	*p99 = w.us[WAKE_SAMPLES * 99 / 100];
	return 0;
}

/* What a system call costs here (getppid): the dataplane makes a few per
 * frame (recvmmsg, sendmmsg, ppoll), amortised over a batch only when busy. */
static double syscall_ns(void)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < SYSCALLS; i++)
		syscall(SYS_getppid);
	return (double)(bench_now_ns() - t0) / SYSCALLS;
}

static void platform(void)
{
	double cross50, cross99, same50, same99;

	printf("  info: platform null system call %.0f ns\n", syscall_ns());
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || wake_probe(1, &cross50, &cross99) < 0 ||
	    wake_probe(0, &same50, &same99) < 0)
		return;
	printf("  info: platform thread wake-up (SCHED_FIFO %d, pipe, %d us apart): other CPU "
	       "p50 %.1f us p99 %.1f us; same CPU p50 %.1f us p99 %.1f us\n", RT_PRIO, WAKE_GAP_US,
	       cross50, cross99, same50, same99);
}

/* ---- figures ------------------------------------------------------------------ */

static double med(const struct series *s)
{
	double v[MAX_REPS];

	memcpy(v, s->v, sizeof(double) * (size_t)s->n);
	return bench_median(v, s->n);
}

static void spread(const char *what, const struct series *s, const char *unit)
{
	double lo = s->v[0], hi = s->v[0];

	for (int i = 1; i < s->n; i++) {
		lo = s->v[i] < lo ? s->v[i] : lo;
		hi = s->v[i] > hi ? s->v[i] : hi;
	}
	printf("  noise: %-34s median %10.3f  min %10.3f  max %10.3f %s (n=%d)\n", what, med(s),
	       lo, hi, unit, s->n);
}

enum combine { RATIO, DIFF };

/* Pairwise a[i] ∘ b[i] over the repetitions both have. */
static int pairwise(const struct series *a, const struct series *b, enum combine c,
		    struct series *out)
{
	out->n = a->n < b->n ? a->n : b->n;
	for (int i = 0; i < out->n; i++) {
		if (c == RATIO && b->v[i] <= 0)
			return -EDOM;
		out->v[i] = c == RATIO ? a->v[i] / b->v[i] : a->v[i] - b->v[i];
	}
	return out->n ? 0 : -ENODATA;
}

/* Looks up each named series; all must exist. */
static int need(struct results *r, const struct series **out, const char *const *keys, int n)
{
	for (int i = 0; i < n; i++)
		if (!(out[i] = series_get(r, keys[i]))) {
			fprintf(stderr, "bench_dpnet: the script printed no %s\n", keys[i]);
			return -ENODATA;
		}
	return 0;
}

/* Throughput figures of one phase: ratio (ours/direct per pair, or against
 * direct's median when ours ran alone), Mbit/s, and CPU per Gbit. */
static int tput(struct results *r, const char *phase, const char *direct_key,
		const char *fig, const char *cpu_fig, bool paired)
{
	char k_dp[KEY_LEN], k_cpu[KEY_LEN], k_gbit[KEY_LEN], name[96];
	const struct series *s[4];
	const char *keys[4] = { direct_key, k_dp, k_cpu, k_gbit };
	struct series ratio, cpu;

	snprintf(k_dp, sizeof(k_dp), "tput.%s.dp", phase);
	snprintf(k_cpu, sizeof(k_cpu), "cpu_s.%s", phase);
	snprintf(k_gbit, sizeof(k_gbit), "gbit.%s", phase);
	if (need(r, s, keys, 4) < 0 || pairwise(s[2], s[3], RATIO, &cpu) < 0)
		return -ENODATA;
	if (paired) {
		if (pairwise(s[1], s[0], RATIO, &ratio) < 0)
			return -ENODATA;
	} else {
		ratio = *s[1];
		for (int i = 0; i < ratio.n; i++)
			ratio.v[i] /= med(s[0]);
	}
	spread(k_dp, s[1], "Mbit/s");
	if (paired)
		spread(direct_key, s[0], "Mbit/s");
	spread(paired ? "ours/direct per pair" : "ours/median direct", &ratio, "");
	spread("CPU s per Gbit", &cpu, "s/Gbit");
	snprintf(name, sizeof(name), "%s.ratio_vs_direct", fig);
	/* a ratio to direct: direct's own is 1 (its Mbit/s are the next figure's baseline) */
	bench_report(name, med(&ratio), "ratio", BENCH_HIGHER, "formula, direct = 1", 1.0);
	snprintf(name, sizeof(name), "%s.mbps", fig);
	bench_report(name, med(s[1]), "Mbit/s", BENCH_HIGHER, "direct", med(s[0]));
	if (cpu_fig)
		bench_report(cpu_fig, med(&cpu), "s/Gbit", BENCH_LOWER, NULL, 0);
	return 0;
}

/* Added one-way delay of one latency phase (key prefix "lat" or "lat1cpu"). */
static int latency(struct results *r, const char *key, const char *fig)
{
	char k[4][KEY_LEN], name[96];
	const char *keys[4] = { k[0], k[1], k[2], k[3] };
	const struct series *s[4];
	struct series d50, d99;

	snprintf(k[0], KEY_LEN, "%s.direct.p50", key);
	snprintf(k[1], KEY_LEN, "%s.dp.p50", key);
	snprintf(k[2], KEY_LEN, "%s.direct.p99", key);
	snprintf(k[3], KEY_LEN, "%s.dp.p99", key);
	if (need(r, s, keys, 4) < 0 || pairwise(s[1], s[0], DIFF, &d50) < 0 ||
	    pairwise(s[3], s[2], DIFF, &d99) < 0)
		return -ENODATA;
	for (int i = 0; i < 4; i++)
		spread(keys[i], s[i], "us");
	spread("added p50 per pair", &d50, "us");
	spread("added p99 per pair", &d99, "us");
	snprintf(name, sizeof(name), "%s.p50_us", fig);
	bench_report(name, med(&d50), "us", BENCH_LOWER, "direct", med(s[0]));
	snprintf(name, sizeof(name), "%s.p99_us", fig);
	bench_report(name, med(&d99), "us", BENCH_LOWER, "direct", med(s[2]));
	return 0;
}

int main(void)
{
	static struct results r;
	int rc;

	if (geteuid() != 0) {
		printf("  dpnet: skipped (needs root for network namespaces)\n");
		return BENCH_SKIPPED;
	}
	platform();
	rc = run_script(&r);
	if (rc == BENCH_SKIPPED)
		return BENCH_SKIPPED;
	if (rc != 0) {
		fprintf(stderr, "bench_dpnet: %s failed; no figures\n", SCRIPT);
		return 1;
	}
	rc = tput(&r, "100m", "tput.100m.direct", "dp.throughput", "dp.cpu_s_per_gbit", true);
	rc |= latency(&r, "lat", "dp.added_latency");
	if (series_get(&r, "lat1cpu.dp.p50"))
		rc |= latency(&r, "lat1cpu", "dp.added_latency_1cpu");
	if (series_get(&r, "tput.ahead20.dp"))
		rc |= tput(&r, "ahead20", "tput.100m.direct", "dp.throughput_ahead20us",
			   "dp.cpu_s_per_gbit_ahead20us", false);
	if (series_get(&r, "tput.busy.dp")) {
		rc |= tput(&r, "busy", "tput.busy.direct", "dp.throughput_busy",
			   "dp.cpu_s_per_gbit_busy", true);
		rc |= latency(&r, "latbusy", "dp.added_latency_busy");
	}
	if (series_get(&r, "tput.1g.dp"))
		rc |= tput(&r, "1g", "tput.1g.direct", "dp.throughput_1g", "dp.cpu_s_per_gbit_1g",
			   true);
	return rc ? 1 : 0;
}
