/* bench_gossip.c — group `gossip`: the member list at rack scale and under
 * a sick member, in simulation (bench/gossip_sim: real gossip objects, a
 * simulated clock and network).
 *
 *   bench_gossip [--seed N] [--variants] [--only fp|rack]
 *
 * 1. 1,000 members, 1% datagram loss, 0.2..2 ms latency, default
 *    configuration (1 s probes, 200 ms gossip rounds to 3, push-pull),
 *    joining one every 10 ms through a random earlier one. After they
 *    converge, 60 s of steady state in which every member
 *    changes its facts every 10 s (as the agent does):
 *      gossip.bytes_per_s_per_host.n1000   bytes sent per member per second
 *    Then five new members join one after another, each through a random
 *    member; the time until all 1,000 hold it alive, median:
 *      gossip.converge_s.n1000
 *    Baselines (memberlist's published behaviour, same defaults): Serf's
 *    convergence simulator, whose formula (the epidemic model for 200 ms
 *    rounds, fanout 3, the same loss) gives the time to 99.99% and whose
 *    bandwidth estimate is 1400 B × fanout × rounds/s × 2. Printed beside
 *    them with --variants (slow: simulated hours), measured in the same
 *    run: the same rack with piggybacking off (updates spread by push-pull
 *    alone: SWIM without its dissemination component).
 * 2. 8 members for 24 simulated hours, one of them SIGSTOPped for 0.5 s
 *    every 10 s and CPU-starved (each of its events runs up to 1 s late,
 *    in order). Nobody fails, so every "dead" verdict is false:
 *      gossip.false_positive_per_hour.sim8  with Lifeguard
 *    (gossip.false_positive_per_hour itself is the same scenario on five
 *    real rtvd: tests/long/gossip_fp.sh)
 *    baseline: the same run (seed, schedule) with Lifeguard off (SWIM's
 *    fixed suspicion timeout, no health multiplier, no nacks).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gossip_sim.h"
#include "bench/report.h"

#define S 1000000000ull
#define MS 1000000ull
#define N_RACK 1000
#define N_JOIN 5
#define LOSS_PPM 10000

static uint64_t seed = 1;

/* ------------------------------------------------------------------------- */
/* 1,000 members                                                             */

struct converge {
	size_t n;	/* members 0..n-1 must all see every one of them alive */
};

static bool everyone_knows_everyone(struct gsim *s, void *arg)
{
	size_t n = ((struct converge *)arg)->n;

	for (size_t i = 0; i < n; i++)
		if (gossip_count_state(gsim_gossip(s, i), GOSSIP_ALIVE) != n)
			return false;
	return true;
}

static bool joiner_known(struct gsim *s, void *arg)
{
	return gsim_all_see(s, *(size_t *)arg, GOSSIP_ALIVE);
}

static void churn_facts(struct gsim *s, size_t n, uint64_t tick)
{
	for (size_t i = 0; i < n; i++) {
		struct gossip_facts f = { .uplink_bps = 10000000000ull,
					  .cpu_ppm = (uint32_t)((tick * 7919 + i * 104729) % 1000000),
					  .mem_total_bytes = 256ull << 30,
					  .mem_avail_bytes = 100ull << 30, .vm_count = (uint32_t)(i % 40),
					  .version = "rtvd 0.1" };

		if ((i + tick) % 10 == 0)	/* each member every 10 s */
			gossip_set_facts(gsim_gossip(s, i), &f);
	}
}

struct rack_result {
	bool ok;
	double bootstrap_s, bytes_per_s, converge_s;
};

static struct rack_result run_rack(bool piggyback)
{
	struct gsim_config c = { .n = N_RACK + N_JOIN, .seed = seed, .loss_ppm = LOSS_PPM,
				 .lat_min_ns = 200000, .lat_max_ns = 2 * MS };
	struct rack_result r = { 0 };
	struct converge cv = { N_RACK };
	uint64_t t0, bytes0 = 0, bytes1 = 0, limit = piggyback ? 600 * S : 7200 * S;
	double conv[N_JOIN];
	struct gsim *s;

	gossip_config_default(&c.base);
	c.base.piggyback = piggyback;
	if (gsim_new(&c, &s))
		return r;
	for (size_t i = 0; i < N_RACK; i++) {	/* one join every 10 ms */
		gsim_start(s, i, NULL);
		if (i)
			gsim_join(s, i, (size_t)rand() % i);
		gsim_run_until(s, gsim_now(s) + 10 * MS);
	}
	t0 = gsim_now(s);
	if (!gsim_run_while_not(s, everyone_knows_everyone, &cv, S, t0 + limit)) {
		fprintf(stderr, "bench_gossip: %s rack did not converge in %llu s\n",
			piggyback ? "piggyback" : "push-pull-only",
			(unsigned long long)(limit / S));
		gsim_free(s);
		return r;
	}
	r.bootstrap_s = (double)(gsim_now(s) - t0) / 1e9;
	for (size_t i = 0; i < N_RACK; i++)
		bytes0 += gsim_tx_bytes(s, i);
	for (uint64_t t = 0; t < 60; t++) {
		churn_facts(s, N_RACK, t);
		gsim_run_until(s, gsim_now(s) + S);
	}
	for (size_t i = 0; i < N_RACK; i++)
		bytes1 += gsim_tx_bytes(s, i);
	r.bytes_per_s = (double)(bytes1 - bytes0) / N_RACK / 60.0;
	for (size_t j = 0; j < N_JOIN; j++) {
		size_t who = N_RACK + j;

		gsim_start(s, who, NULL);
		gsim_join(s, who, (size_t)rand() % N_RACK);
		t0 = gsim_now(s);
		if (!gsim_run_while_not(s, joiner_known, &who, 10 * MS, t0 + limit)) {
			gsim_free(s);
			return r;
		}
		conv[j] = (double)(gsim_now(s) - t0) / 1e9;
		gsim_run_until(s, gsim_now(s) + 10 * S);
	}
	r.converge_s = bench_median(conv, N_JOIN);
	r.ok = true;
	gsim_free(s);
	return r;
}

/* Serf's convergence simulator (memberlist defaults: 200 ms rounds, fanout
 * 3): infected fraction after x rounds 1 / (1 + (n+1) e^(-c n x)),
 * c = fanout/n * (1 - loss) * 0.5; rounds to 99.99% solved for x. */
static double serf_converge_s(double n, double loss)
{
	double cn = 3.0 * (1 - loss) * 0.5, target = 0.9999;

	return log((n + 1) * target / (1 - target)) / cn * 0.2;
}

static int bench_rack(bool variants)
{
	struct rack_result pb = run_rack(true), pp;

	if (!pb.ok)
		return -1;
	printf("  1,000 members converged from joins in %.1f s (simulated)\n", pb.bootstrap_s);
	bench_report("gossip.converge_s.n1000", pb.converge_s, "s", BENCH_LOWER,
		     "Serf simulator formula, 99.99%, 1% loss", serf_converge_s(N_RACK, 0.01));
	bench_report("gossip.bytes_per_s_per_host.n1000", pb.bytes_per_s, "B/s", BENCH_LOWER,
		     "Serf simulator estimate (formula)", 1400.0 * 3 * 5 * 2);
	if (!variants)
		return 0;
	pp = run_rack(false);
	if (pp.ok)
		printf("  same rack, piggyback off (push-pull only): bootstrap %.0f s, join "
		       "converges in %.1f s, %.0f B/s per host\n", pp.bootstrap_s, pp.converge_s,
		       pp.bytes_per_s);
	else
		printf("  same rack, piggyback off (push-pull only): no convergence within the "
		       "limit\n");
	return 0;
}

/* ------------------------------------------------------------------------- */
/* False positives                                                           */

#define FP_N 8
#define FP_SICK 3

struct fp_count {
	uint64_t dead;		/* any member marked dead by anyone */
	uint64_t by_sick;	/* ... of which by the sick member itself */
	uint64_t of_sick;	/* ... of which about the sick member */
};

static void fp_change(void *arg, size_t observer, const struct gossip_member *m,
		      enum gossip_state old)
{
	struct fp_count *c = arg;
	char name[GOSSIP_NAME_MAX];

	(void)old;
	if (m->state != GOSSIP_DEAD)
		return;
	c->dead++;
	c->by_sick += observer == FP_SICK;
	c->of_sick += strcmp(m->name, gsim_name(FP_SICK, name)) == 0;
}

static int run_fp(bool lifeguard, uint64_t hours, struct fp_count *out)
{
	struct gsim_config c = { .n = FP_N, .seed = seed, .lat_min_ns = 200000,
				 .lat_max_ns = 2 * MS, .on_change = fp_change, .arg = out };
	struct gsim *s;

	memset(out, 0, sizeof(*out));
	gossip_config_default(&c.base);
	c.base.lifeguard = lifeguard;
	if (gsim_new(&c, &s))
		return -ENOMEM;
	for (size_t i = 0; i < FP_N; i++) {
		gsim_start(s, i, NULL);
		if (i)
			gsim_join(s, i, 0);
	}
	gsim_run_until(s, gsim_now(s) + 30 * S);
	memset(out, 0, sizeof(*out));	/* count from the converged rack on */
	gsim_starve(s, FP_SICK, 1000 * MS);
	for (uint64_t t = 0; t < hours * 360; t++) {
		gsim_pause(s, FP_SICK, 500 * MS);
		gsim_run_until(s, gsim_now(s) + 10 * S);
	}
	gsim_free(s);
	return 0;
}

static int bench_fp(void)
{
	const uint64_t hours = 24;
	struct fp_count lg, swim;

	if (run_fp(true, hours, &lg) || run_fp(false, hours, &swim))
		return -1;
	printf("  %d members, one paused 0.5 s / 10 s and starved (events up to 1 s late), "
	       "%llu simulated hours\n", FP_N, (unsigned long long)hours);
	printf("    Lifeguard: %llu dead verdicts (%llu by the sick member, %llu about it)\n",
	       (unsigned long long)lg.dead, (unsigned long long)lg.by_sick,
	       (unsigned long long)lg.of_sick);
	printf("    SWIM:      %llu dead verdicts (%llu by the sick member, %llu about it)\n",
	       (unsigned long long)swim.dead, (unsigned long long)swim.by_sick,
	       (unsigned long long)swim.of_sick);
	bench_report("gossip.false_positive_per_hour.sim8", (double)lg.dead / (double)hours, "1/h",
		     BENCH_LOWER, "same run, SWIM without Lifeguard",
		     (double)swim.dead / (double)hours);
	return 0;
}

int main(int argc, char **argv)
{
	bool variants = false, fp = true, rack = true;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--variants") == 0) {
			variants = true;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			fp = strcmp(argv[++i], "fp") == 0;
			rack = strcmp(argv[i], "rack") == 0;
		} else {
			fprintf(stderr, "usage: bench_gossip [--seed N] [--variants] "
				"[--only fp|rack]\n");
			return 2;
		}
	}
	srand((unsigned)seed);
	if ((fp && bench_fp()) || (rack && bench_rack(variants)))
		return 1;
	return 0;
}
