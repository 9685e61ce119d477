/* test_mig_place.c — placement (migrate/place.c) on small racks whose right
 * answer can be worked out by hand: the objective, each reason a host is
 * refused (CPU, memory, not accepting, an rtpath's link budget in the
 * direction it is used, unreachable), hysteresis, cool-down, ties, the
 * total, and a world with bad indices refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "migrate/migrate.h"

#define M 1000000ull
#define G (1ull << 30)

/* Two racks under a spine: hosts 0,1 on ToR A (node 4), hosts 2,3 on ToR B
 * (node 5), spine node 6. Hops: same rack 2, other rack 4. */
static struct mig_place_host hosts[4];
static struct mig_place_link links[6];
static struct mig_place_vm vms[4];
static struct mig_place_flow flows[4];
static struct mig_place_rtpath rtps[2];
static struct mig_place_world w;
static const struct mig_place_policy pol0 = { 0 };

static void rack(void)
{
	static const uint32_t ends[6][2] = { { 0, 4 }, { 1, 4 }, { 2, 5 }, { 3, 5 }, { 4, 6 }, { 5, 6 } };

	for (int i = 0; i < 4; i++)
		hosts[i] = (struct mig_place_host){ .id = 10 + (uint32_t)i, .vcpus_free = 8,
						    .mem_free_bytes = 16 * G, .accepts = true };
	for (int i = 0; i < 6; i++)
		links[i] = (struct mig_place_link){ ends[i][0], ends[i][1], 100 * M, 100 * M };
	/* VM 0 on host 0 talks to VM 1 and VM 2, both on host 2 */
	vms[0] = (struct mig_place_vm){ .host = 0, .vcpus = 2, .mem_bytes = 1 * G };
	vms[1] = (struct mig_place_vm){ .host = 2, .vcpus = 1, .mem_bytes = G };
	vms[2] = (struct mig_place_vm){ .host = 2, .vcpus = 1, .mem_bytes = G };
	vms[3] = (struct mig_place_vm){ .host = 1, .vcpus = 1, .mem_bytes = G };
	flows[0] = (struct mig_place_flow){ 0, 1, 10 * M };
	flows[1] = (struct mig_place_flow){ 2, 0, 5 * M };
	flows[2] = (struct mig_place_flow){ 1, 2, 50 * M };	/* not VM 0's */
	flows[3] = (struct mig_place_flow){ 0, 3, 1 * M };
	w = (struct mig_place_world){ .n_nodes = 7, .n_hosts = 4, .n_links = 6, .n_vms = 4,
				      .n_flows = 4, .n_rtpaths = 0, .hosts = hosts,
				      .links = links, .vms = vms, .flows = flows,
				      .rtpaths = rtps };
}

static struct mig_place_cand cands[8];

static void decide(const struct mig_place_policy *pol, uint32_t vm, uint64_t now_ms,
		   struct mig_place_decision *d)
{
	struct mig_place_scratch *s;
	char err[MIG_ERRLEN];

	assert_int_equal(mig_place_scratch_new(&w, &s, err, sizeof(err)), 0);
	memset(d, 0, sizeof(*d));
	d->cands = cands;
	d->cap = 8;
	assert_int_equal(mig_place_decide(&w, s, pol, vm, now_ms, d), 0);
	mig_place_scratch_free(s);
}

static const struct mig_place_cand *cand(const struct mig_place_decision *d, uint32_t host)
{
	for (uint32_t i = 0; i < d->n; i++) {
		if (d->cands[i].host == host)
			return &d->cands[i];
	}
	fail_msg("host %u not among the candidates", host);
	return NULL;
}

static void test_moves_next_to_its_peers(void **state)
{
	struct mig_place_decision d;

	(void)state;
	rack();
	decide(&pol0, 0, 1000, &d);
	/* host 0: 15M x 4 + 1M x 2 = 62M; host 2: 15M x 0 + 1M x 4 = 4M;
	 * host 3: 15M x 2 + 1M x 4 = 34M; host 1: 15M x 4 + 1M x 0 = 60M */
	assert_true(d.move);
	assert_int_equal(d.from, 0);
	assert_int_equal(d.to, 2);
	assert_int_equal(d.score_from, 62 * M);
	assert_int_equal(d.score_to, 4 * M);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.cands[0].host, 2);
	assert_int_equal(d.cands[1].host, 3);
	assert_int_equal(d.cands[1].score, 34 * M);
	assert_int_equal(cand(&d, 1)->score, 60 * M);
	assert_int_equal(cand(&d, 0)->refusal, MIG_PLACE_CURRENT);
	assert_non_null(strstr(d.reason, "move to host 12"));
}

static void test_refusals_cpu_mem_accepting(void **state)
{
	struct mig_place_decision d;

	(void)state;
	rack();
	hosts[2].vcpus_free = 1;		/* VM 0 needs 2 */
	hosts[3].mem_free_bytes = G / 2;	/* VM 0 needs 1 GiB */
	hosts[1].accepts = false;
	decide(&pol0, 0, 1000, &d);
	assert_false(d.move);
	assert_int_equal(d.to, 0);
	assert_int_equal(cand(&d, 2)->refusal, MIG_PLACE_CPU);
	assert_int_equal(cand(&d, 3)->refusal, MIG_PLACE_MEM);
	assert_int_equal(cand(&d, 1)->refusal, MIG_PLACE_NOT_ACCEPTING);
	/* feasible first: the current host heads the list */
	assert_int_equal(d.cands[0].host, 0);
	assert_non_null(strstr(d.reason, "already the best"));
}

/* An rtpath VM 0 -> VM 3 (host 1) at 30M: from host 2 its route is
 * 2 -> ToR B -> spine -> ToR A -> 1; the spine -> ToR A link has 20M of RT
 * budget left in that direction (and plenty the other way). */
static void test_rt_budget_in_the_direction_used(void **state)
{
	struct mig_place_decision d;
	const struct mig_place_cand *c;

	(void)state;
	rack();
	rtps[0] = (struct mig_place_rtpath){ .src = 0, .dst = 3, .rate_bps = 30 * M };
	w.n_rtpaths = 1;
	links[4].rt_free_ab_bps = 500 * M;	/* ToR A -> spine */
	links[4].rt_free_ba_bps = 20 * M;	/* spine -> ToR A */
	decide(&pol0, 0, 1000, &d);
	c = cand(&d, 2);
	assert_int_equal(c->refusal, MIG_PLACE_RT_BUDGET);
	assert_int_equal(c->link, 4);
	assert_int_equal(c->link_from, 6);
	assert_int_equal(c->link_to, 4);
	assert_int_equal(c->link_need_bps, 30 * M);
	assert_int_equal(c->link_free_bps, 20 * M);
	assert_int_equal(cand(&d, 3)->refusal, MIG_PLACE_RT_BUDGET);
	/* host 1 keeps the path inside ToR A: fits */
	assert_int_equal(cand(&d, 1)->refusal, MIG_PLACE_OK);
	assert_true(d.move);
	assert_int_equal(d.to, 1);

	/* the same rtpath the other way (VM 3 sends to VM 0): from host 2 it
	 * runs 1 -> ToR A -> spine -> ToR B -> 2, which has budget: host 2
	 * fits again */
	rtps[0] = (struct mig_place_rtpath){ .src = 3, .dst = 0, .rate_bps = 30 * M };
	decide(&pol0, 0, 1000, &d);
	assert_int_equal(cand(&d, 2)->refusal, MIG_PLACE_OK);
	assert_int_equal(d.to, 2);
}

/* Two rtpaths that fit a link alone but not together */
static void test_rt_budget_sums_paths(void **state)
{
	struct mig_place_decision d;

	(void)state;
	rack();
	rtps[0] = (struct mig_place_rtpath){ .src = 0, .dst = 3, .rate_bps = 15 * M };
	rtps[1] = (struct mig_place_rtpath){ .src = 0, .dst = 3, .rate_bps = 15 * M };
	w.n_rtpaths = 2;
	links[4].rt_free_ba_bps = 20 * M;
	decide(&pol0, 0, 1000, &d);
	assert_int_equal(cand(&d, 2)->refusal, MIG_PLACE_RT_BUDGET);
	assert_int_equal(cand(&d, 2)->link_need_bps, 30 * M);
}

static void test_hysteresis_and_cooldown(void **state)
{
	struct mig_place_policy pol = { .hysteresis_ppm = 950000, .cooldown_ms = 60000 };
	struct mig_place_decision d;

	(void)state;
	rack();
	/* 62M -> 4M is a 93.5% gain: below a 95% hysteresis, stays */
	decide(&pol, 0, 100000, &d);
	assert_false(d.move);
	assert_int_equal(d.to, 0);
	assert_non_null(strstr(d.reason, "hysteresis"));
	pol.hysteresis_ppm = 900000;
	decide(&pol, 0, 100000, &d);
	assert_true(d.move);
	/* moved 10 s ago: cool-down */
	vms[0].last_move_ms = 90000;
	decide(&pol, 0, 100000, &d);
	assert_false(d.move);
	assert_non_null(strstr(d.reason, "cool-down"));
	decide(&pol, 0, 150000, &d);
	assert_true(d.move);
}

static void test_ties_and_no_peers(void **state)
{
	struct mig_place_decision d;

	(void)state;
	rack();
	/* VM 3 talks to nobody: everything scores 0, it stays */
	w.n_flows = 3;
	decide(&pol0, 3, 1000, &d);
	assert_false(d.move);
	assert_int_equal(d.cands[0].host, 1);
	/* VM 1 and VM 2 on host 2 talk; move VM 0's peers apart so hosts 2
	 * and 3 tie for VM 0: the lower index wins */
	rack();
	w.n_flows = 2;
	vms[1].host = 2;
	vms[2].host = 3;
	flows[1].bps = 10 * M;
	decide(&pol0, 0, 1000, &d);
	assert_true(d.move);
	assert_int_equal(d.to, 2);
	assert_int_equal(d.cands[1].host, 3);
	assert_int_equal(d.cands[0].score, d.cands[1].score);
}

static void test_unreachable(void **state)
{
	struct mig_place_decision d;

	(void)state;
	rack();
	w.n_links = 5;	/* ToR B loses the spine: hosts 2, 3 cut off from 0, 1 */
	decide(&pol0, 3, 1000, &d);	/* VM 3 (host 1) has VM 0 (host 0) as peer */
	assert_int_equal(cand(&d, 2)->refusal, MIG_PLACE_UNREACHABLE);
	assert_int_equal(cand(&d, 3)->refusal, MIG_PLACE_UNREACHABLE);
}

static void test_total_and_bad_world(void **state)
{
	struct mig_place_scratch *s;
	char err[MIG_ERRLEN] = "";
	struct mig_place_decision d = { 0 };

	(void)state;
	rack();
	assert_int_equal(mig_place_scratch_new(&w, &s, err, sizeof(err)), 0);
	/* 10M x 4 + 5M x 4 + 50M x 0 + 1M x 2 */
	assert_int_equal(mig_place_total(&w, s), 62 * M);
	assert_int_equal(mig_place_decide(&w, s, &pol0, 9, 0, &d), -EINVAL);
	mig_place_scratch_free(s);
	mig_place_scratch_free(NULL);

	vms[1].host = 4;
	assert_int_equal(mig_place_scratch_new(&w, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "VM 1 on host index 4"));
	rack();
	links[2].b = 2;
	assert_int_equal(mig_place_scratch_new(&w, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "link 2"));
	rack();
	flows[3].b = 7;
	assert_int_equal(mig_place_scratch_new(&w, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "flow 3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moves_next_to_its_peers),
		cmocka_unit_test(test_refusals_cpu_mem_accepting),
		cmocka_unit_test(test_rt_budget_in_the_direction_used),
		cmocka_unit_test(test_rt_budget_sums_paths),
		cmocka_unit_test(test_hysteresis_and_cooldown),
		cmocka_unit_test(test_ties_and_no_peers),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_total_and_bad_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
