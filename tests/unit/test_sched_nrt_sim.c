/* test_sched_nrt_sim.c — the NRT rule (headroom.c) on a simulated link.
 *
 * A discrete-event simulation of one link: RT sources that send at most
 * their token-bucket envelopes, EDF among RT frames, NRT always backlogged
 * and sent whenever sched_nrt_may_send says so. Over many random, nearly
 * tight flow sets no RT frame may miss its deadline; the same simulation
 * with broken rules must miss, or it would prove nothing. Self-contained:
 * the RT queue is a sorted array here, not sched/edf.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sched/sched.h"

#define MS 1000000ull
#define US 1000ull
#define MBPS 1000000ull
#define NBIT_PER_BYTE (8 * SCHED_NS_PER_S)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned __int128 u128;

static uint64_t rng_next(uint64_t *s)	/* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)	/* [lo, hi] */
{
	return lo + rng_next(s) % (hi - lo + 1);
}

/* 100 Mbit/s: 10 ns per bit, 80 ns per byte, so every frame time is a whole
 * number of ns and the simulation is exact. Time runs from one frame end to
 * the next: with NRT always waiting, the link never idles. */
#define SIM_LINK_BPS (100 * MBPS)
#define SIM_NS_PER_BYTE 80
#define SIM_NRT_MAX 1500	/* also the admission block */
#define SIM_FLOWS 16
#define SIM_QUEUE 4096
#define SIM_END_NS (200 * MS)
#define SIM_GRID_NS (5 * MS)	/* bursty sources restart together on this grid */
#define SIM_SYNC_DICE 4	/* in 32: share of pauses that refill and sync */

enum sim_rule { RULE_HEADROOM, RULE_ALWAYS_NRT, RULE_IGNORE_BACKLOG };

struct sim_src {
	struct sched_flow f;
	u128 tokens;		/* nanobits at last_ns */
	uint64_t last_ns;
	uint64_t next_ns;	/* next arrival */
	uint32_t next_len;
};

struct sim_pkt {
	uint64_t deadline_ns;
	uint32_t len;
};

struct sim {
	uint64_t rng;
	struct sim_src src[SIM_FLOWS];
	size_t n;
	struct sched_headroom hr;
	struct sched_headroom_pt pts[SIM_FLOWS];
	struct sim_pkt q[SIM_QUEUE];	/* sorted by deadline, FIFO among equals */
	size_t qlen;
	uint64_t q_bytes;
	/* results */
	uint64_t rt_sent, misses, nrt_bits, nrt_ahead;
	uint64_t nrt_floor_bits;	/* link bits minus the RT envelopes */
	int64_t min_slack_ns;
};

static u128 src_tokens(const struct sim_src *x, uint64_t t)
{
	u128 cap = (u128)x->f.burst_bytes * NBIT_PER_BYTE;
	u128 tok = x->tokens + (u128)x->f.rate_bps * (t - x->last_ns);

	return tok < cap ? tok : cap;
}

/* The next frame leaves the source as soon as its bucket allows, mostly;
 * sometimes after a short pause, and now and then after one long enough to
 * refill the bucket, so that a full burst follows. */
static void src_plan(struct sim *sim, struct sim_src *x, uint64_t now)
{
	uint64_t from = now, D = x->f.deadline_ns;
	uint64_t refill_ns = x->f.burst_bytes * 8 * SCHED_NS_PER_S / x->f.rate_bps;
	uint64_t dice = rng_next(&sim->rng) % 32;
	u128 need, tok;

	if (dice < SIM_SYNC_DICE)	/* refill, then burst on the common grid */
		from = (now + refill_ns + SIM_GRID_NS) / SIM_GRID_NS * SIM_GRID_NS;
	else if (dice < 8)
		from += rng_range(&sim->rng, 0, D / 4);
	x->next_len = (uint32_t)rng_range(&sim->rng, 64, x->f.max_pkt_bytes);
	need = (u128)x->next_len * NBIT_PER_BYTE;
	tok = src_tokens(x, from);
	if (tok < need)
		from += (uint64_t)((need - tok + x->f.rate_bps - 1) / x->f.rate_bps);
	x->next_ns = from;
}

static void sim_enqueue(struct sim *sim, uint64_t deadline, uint32_t len)
{
	size_t i = sim->qlen;

	if (sim->qlen == SIM_QUEUE) {	/* only the broken rules get here */
		sim->misses++;
		return;
	}
	while (i > 0 && sim->q[i - 1].deadline_ns > deadline) {
		sim->q[i] = sim->q[i - 1];
		i--;
	}
	sim->q[i] = (struct sim_pkt){ deadline, len };
	sim->qlen++;
	sim->q_bytes += len;
}

static void sim_arrivals(struct sim *sim, uint64_t now)
{
	for (size_t i = 0; i < sim->n; i++) {
		struct sim_src *x = &sim->src[i];

		while (x->next_ns <= now) {
			uint64_t t = x->next_ns;

			x->tokens = src_tokens(x, t) - (u128)x->next_len * NBIT_PER_BYTE;
			x->last_ns = t;
			sim_enqueue(sim, t + x->f.deadline_ns, x->next_len);
			src_plan(sim, x, t);
		}
	}
}

static bool sim_nrt_first(struct sim *sim, enum sim_rule rule, uint64_t now, uint32_t len)
{
	uint64_t d_min = sim->qlen ? sim->q[0].deadline_ns : 0;

	switch (rule) {
	case RULE_ALWAYS_NRT:
		return true;
	case RULE_IGNORE_BACKLOG:	/* charges L but forgets the queued B */
		return sim->qlen == 0 ||
		       (d_min > now && (int64_t)len * 8 <= sched_headroom_bits(&sim->hr, d_min - now));
	default:
		return sched_nrt_may_send(&sim->hr, now, d_min, sim->q_bytes, len);
	}
}

/* Random flows, added while the set stays admissible (block = the largest
 * NRT frame), so most sets end close to the admission boundary. */
static void sim_flows(struct sim *sim)
{
	struct sched_flow f[SIM_FLOWS];
	struct sched_edf_verdict v;
	int refusals = 0;

	sim->n = 0;
	while (sim->n < SIM_FLOWS && refusals < 12) {
		uint32_t m = (uint32_t)rng_range(&sim->rng, 64, 1500);

		f[sim->n] = (struct sched_flow){
			.rate_bps = rng_range(&sim->rng, 1 * MBPS, 25 * MBPS),
			.burst_bytes = rng_range(&sim->rng, m, 6 * 1500),
			.deadline_ns = rng_range(&sim->rng, 3, 50) * 100 * US,
			.max_pkt_bytes = m,
		};
		assert_int_equal(sched_edf_admissible(f, sim->n + 1, SIM_LINK_BPS, SIM_NRT_MAX, &v), 0);
		if (v.ok)
			sim->n++;
		else
			refusals++;
	}
	for (size_t i = 0; i < sim->n; i++)
		sim->src[i] = (struct sim_src){ .f = f[i], .tokens = (u128)f[i].burst_bytes * NBIT_PER_BYTE };
	sim->hr = (struct sched_headroom){ .pts = sim->pts, .cap = SIM_FLOWS };
	assert_int_equal(sched_headroom_build(&sim->hr, f, sim->n, SIM_LINK_BPS), 0);
}

static void sim_run(struct sim *sim, uint64_t seed, enum sim_rule rule)
{
	uint64_t now = 0, env = 0;
	uint32_t nrt_len;

	memset(sim, 0, sizeof(*sim));
	sim->rng = seed;
	sim->min_slack_ns = INT64_MAX;
	sim_flows(sim);
	for (size_t i = 0; i < sim->n; i++)	/* random phases */
		src_plan(sim, &sim->src[i], rng_range(&sim->rng, 0, 5 * MS));
	nrt_len = (uint32_t)rng_range(&sim->rng, 64, SIM_NRT_MAX);

	while (now < SIM_END_NS) {
		sim_arrivals(sim, now);
		if (sim_nrt_first(sim, rule, now, nrt_len)) {
			sim->nrt_ahead += sim->qlen > 0;
			sim->nrt_bits += 8ull * nrt_len;
			now += (uint64_t)nrt_len * SIM_NS_PER_BYTE;
			nrt_len = (uint32_t)rng_range(&sim->rng, 64, SIM_NRT_MAX);
		} else {
			struct sim_pkt p = sim->q[0];
			int64_t slack;

			assert_true(sim->qlen > 0);	/* every rule sends NRT when RT is empty */
			memmove(sim->q, sim->q + 1, --sim->qlen * sizeof(*sim->q));
			sim->q_bytes -= p.len;
			now += (uint64_t)p.len * SIM_NS_PER_BYTE;
			slack = (int64_t)(p.deadline_ns - now);
			sim->rt_sent++;
			sim->misses += slack < 0;
			if (slack < sim->min_slack_ns)
				sim->min_slack_ns = slack;
		}
	}
	for (size_t i = 0; i < sim->qlen; i++)	/* still queued past its deadline */
		sim->misses += sim->q[i].deadline_ns < now;
	/* The link sent now/10 bits; RT can have used at most its envelope. */
	for (size_t i = 0; i < sim->n; i++)
		env += 8 * sim->src[i].f.burst_bytes + sim->src[i].f.rate_bps * now / SCHED_NS_PER_S;
	sim->nrt_floor_bits = now / 10 > env ? now / 10 - env : 0;
}

/* The property that makes the rule safe in practice: over many random,
 * nearly tight flow sets with mostly greedy, sometimes bursty sources, EDF
 * plus the rule never misses a deadline. The rule is not "never": NRT gets
 * at least what the RT envelopes leave of the link ((C − Σr)·T − Σb), and it
 * regularly overtakes queued RT frames. Broken rules in the same simulation
 * do miss, so it can tell: NRT always first, and the rule without the
 * backlog B. (That h_min and not h is needed shows in test_headroom_table.) */
static void test_nrt_rule_simulation(void **state)
{
	static const char *const name[] = { "rule", "always-NRT", "no-B" };
	static struct sim sim;
	uint64_t sent = 0, ahead = 0, flows = 0, floor_pos = 0;
	uint64_t misses[ARRAY_LEN(name)] = { 0 };
	int64_t min_slack = INT64_MAX;
	const uint64_t seeds = 60;

	(void)state;
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		sim_run(&sim, seed, RULE_HEADROOM);
		assert_true(sim.n > 0);
		assert_true(sim.nrt_bits >= sim.nrt_floor_bits);
		floor_pos += sim.nrt_floor_bits > 0;
		sent += sim.rt_sent;
		ahead += sim.nrt_ahead;
		flows += sim.n;
		if (sim.min_slack_ns < min_slack)
			min_slack = sim.min_slack_ns;
		for (unsigned r = RULE_HEADROOM; r < ARRAY_LEN(name); r++) {
			if (r != RULE_HEADROOM)
				sim_run(&sim, seed, r);
			misses[r] += sim.misses;
		}
	}
	print_message("nrt sim: %llu seeds, %llu flows, %llu RT frames, min slack %lld ns, "
		      "NRT ahead of queued RT %llu times\n",
		      (unsigned long long)seeds, (unsigned long long)flows,
		      (unsigned long long)sent, (long long)min_slack, (unsigned long long)ahead);
	for (unsigned r = 0; r < ARRAY_LEN(name); r++)
		print_message("nrt sim: misses with %-10s %llu\n", name[r],
			      (unsigned long long)misses[r]);
	assert_int_equal(misses[RULE_HEADROOM], 0);
	assert_true(sent > 0 && ahead > 0 && floor_pos > 0);
	assert_true(misses[RULE_ALWAYS_NRT] > 0);
	assert_true(misses[RULE_IGNORE_BACKLOG] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nrt_rule_simulation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
