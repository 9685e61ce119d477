/* cpuprobe — when could a thread at rtvd's dataplane priority not run? The
 * lab's per-packet verdicts (tests/lab/hops.py) need the answer from the
 * same run: a packet rtvd held past its share while no CPU would run a
 * thread of that priority was held by the machine, not by rtvd's choice.
 *
 *   cpuprobe --out FILE [--prio N] [--period-us P] [--threshold-us T]
 *
 * One SCHED_FIFO thread of priority N (default 10, rtvd's [dataplane]
 * rt_priority in the lab) pinned to each online CPU wakes every P µs
 * (default 200) on an absolute timer; each wake-up later than T µs (default
 * 300) is a stall of that CPU: "cpu start_ns end_ns" (CLOCK_REALTIME, the
 * clock of the lab's captures) in FILE, written when the probe ends
 * (SIGINT/SIGTERM). Exit 0, 1 when it cannot run (no privilege for
 * SCHED_FIFO, FILE not writable), 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64
#define MAX_STALLS 200000	/* per CPU */

struct stall {
	uint64_t start_ns, end_ns;
};

struct probe {
	pthread_t th;
	int cpu;
	size_t n;
	struct stall *s;
};

static _Atomic bool stop;
static int prio = 10;
static uint64_t period_ns = 200000, threshold_ns = 300000;

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg)
{
	struct probe *p = arg;
	struct timespec ts;
	uint64_t next = now_ns(CLOCK_MONOTONIC) + period_ns, late;

	while (!atomic_load(&stop)) {
		ts = (struct timespec){ .tv_sec = (time_t)(next / 1000000000ull),
					.tv_nsec = (long)(next % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
		       !atomic_load(&stop))
			;
		late = now_ns(CLOCK_MONOTONIC) - next;
		if (late > threshold_ns && p->n < MAX_STALLS) {
			uint64_t rt = now_ns(CLOCK_REALTIME);

			p->s[p->n++] = (struct stall){ rt - late, rt };
		}
		next += period_ns;
		if (next < now_ns(CLOCK_MONOTONIC))
			next = now_ns(CLOCK_MONOTONIC) + period_ns;	/* skip missed wake-ups */
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static int usage(const char *why)
{
	fprintf(stderr, "cpuprobe: %s\nusage: cpuprobe --out FILE [--prio N] [--period-us P] "
		"[--threshold-us T]\n", why);
	return 2;
}

static int start(struct probe *p)
{
	pthread_attr_t a;
	struct sched_param sp = { .sched_priority = prio };
	cpu_set_t set;
	int rc;

	p->s = calloc(MAX_STALLS, sizeof(*p->s));
	if (!p->s)
		return ENOMEM;
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	pthread_attr_init(&a);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_FIFO);
	pthread_attr_setschedparam(&a, &sp);
	pthread_attr_setaffinity_np(&a, sizeof(set), &set);
	rc = pthread_create(&p->th, &a, run, p);
	pthread_attr_destroy(&a);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", 1, 0, 'o' }, { "prio", 1, 0, 'p' }, { "period-us", 1, 0, 'P' },
		{ "threshold-us", 1, 0, 'T' }, { 0, 0, 0, 0 } };
	struct probe pr[MAX_CPUS];
	const char *out = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *end;
	FILE *f;
	int c, n = 0, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = 0;

		if (c != 'o') {
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v)
				return usage("options take a positive number");
		}
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': if (v > 99) return usage("--prio: 1..99"); prio = (int)v; break;
		case 'P': period_ns = v * 1000; break;
		case 'T': threshold_ns = v * 1000; break;
		default: return usage("unknown option");
		}
	}
	if (!out || optind != argc)
		return usage("--out FILE is required, and nothing else");
	if (!(f = fopen(out, "w"))) {
		fprintf(stderr, "cpuprobe: %s: %s\n", out, strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int i = 0; i < ncpu && i < MAX_CPUS; i++) {
		pr[n] = (struct probe){ .cpu = i };
		if ((rc = start(&pr[n])) != 0) {
			fprintf(stderr, "cpuprobe: a SCHED_FIFO %d thread on CPU %d: %s\n", prio, i,
				strerror(rc));
			atomic_store(&stop, true);
			break;
		}
		n++;
	}
	fprintf(f, "# cpus %d prio %d period_us %llu threshold_us %llu\n", n, prio,
		(unsigned long long)(period_ns / 1000), (unsigned long long)(threshold_ns / 1000));
	if (!atomic_load(&stop)) {
		fprintf(stderr, "cpuprobe: %d CPUs, priority %d, every %llu us, stalls over %llu us\n",
			n, prio, (unsigned long long)(period_ns / 1000),
			(unsigned long long)(threshold_ns / 1000));
		while (!atomic_load(&stop))
			pause();
	}
	for (int i = 0; i < n; i++) {
		pthread_join(pr[i].th, NULL);
		for (size_t j = 0; j < pr[i].n; j++)
			fprintf(f, "%d %llu %llu\n", pr[i].cpu,
				(unsigned long long)pr[i].s[j].start_ns,
				(unsigned long long)pr[i].s[j].end_ns);
		free(pr[i].s);
	}
	rc = fclose(f) ? 1 : 0;
	return n == ncpu || n == MAX_CPUS ? rc : 1;
}
