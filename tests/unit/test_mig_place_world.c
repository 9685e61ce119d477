/* test_mig_place_world.c — a placement world built from a real replicated
 * state (consensus/ commands applied to a cons_state): node numbering,
 * each link direction's free RT budget in wire terms after an admitted
 * rtpath, the rtpath's wire rate, host resources and traffic by uuid, and
 * a decision on it that respects an rtpath's budget. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/consensus.h"
#include "migrate/migrate.h"
#include "sched/sched.h"

#define M 1000000ull
#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static uint64_t idx;

static void apply(struct cons_state *s, const struct cons_cmd *c)
{
	struct cons_result r;

	assert_int_equal(cons_state_apply(s, ++idx, c, &r), 0);
	if (r.status)
		fail_msg("%s: %s", cons_op_name(c->op), r.err);
}

static void host(struct cons_state *s, uint64_t id, const char *name, const char *tor)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_ADD };

	c.u.host = (struct cons_host){ .id = id, .uplink_bps = 100 * M, .rt_budget_ppm = 500000,
				       .max_frame_bytes = 1500 };
	snprintf(c.u.host.name, sizeof(c.u.host.name), "%s", name);
	snprintf(c.u.host.uplink_to, sizeof(c.u.host.uplink_to), "%s", tor);
	snprintf(c.u.host.raft_addr, sizeof(c.u.host.raft_addr), "127.0.0.1:%llu",
		 17000 + (unsigned long long)id);
	apply(s, &c);
}

static void vm(struct cons_state *s, const char *uuid, uint64_t h, uint32_t ip)
{
	struct cons_cmd c = { .op = CONS_OP_VM_SET };

	c.u.vm.host_id = h;
	snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "%s", uuid);
	c.u.vm.ips[c.u.vm.n_ips++] = ip;
	apply(s, &c);
}

/* h1, h2 on tor1; h3 on tor2; tor1 - tor2 at 100M with a 50% RT budget.
 * VM a on h1, b on h3, c on h2; an rtpath a -> b, 20 Mbit/s of 1000-byte
 * frames, deadline 20 ms. */
static struct cons_state *rack(void)
{
	struct cons_state *s;
	struct cons_cmd c = { .op = CONS_OP_LINK_SET };

	idx = 0;
	assert_int_equal(cons_state_new(&s), 0);
	host(s, 1, "h1", "tor1");
	host(s, 2, "h2", "tor1");
	host(s, 3, "h3", "tor2");
	c.u.link = (struct cons_link){ .a = "tor1", .b = "tor2", .capacity_ab_bps = 100 * M,
				       .capacity_ba_bps = 100 * M, .rt_budget_ppm = 500000,
				       .hop_latency_ns = 50000 };
	apply(s, &c);
	vm(s, "a", 1, IP(10, 0, 1, 11));
	vm(s, "b", 3, IP(10, 0, 3, 11));
	vm(s, "c", 2, IP(10, 0, 2, 11));
	c = (struct cons_cmd){ .op = CONS_OP_PATH_RESERVE };
	c.u.path = (struct cons_path_req){ .src_ip = IP(10, 0, 1, 11), .dst_ip = IP(10, 0, 3, 11),
					   .type = CONS_PATH_DEADLINE, .rate_bps = 20 * M,
					   .deadline_ns = 20000000, .max_pkt_bytes = 1000 };
	apply(s, &c);
	return s;
}

static void test_world_from_state(void **state)
{
	struct cons_state *s = rack();
	static const struct mig_place_hostres res[] = {
		{ 1, 4, 1ull << 30, true }, { 2, 4, 1ull << 30, true }, { 3, 4, 1ull << 30, true },
	};
	static const struct mig_place_vmres vres[] = { { "a", 2, 256ull << 20, 0 } };
	static const struct mig_place_traffic tr[] = {
		{ "a", "c", 30 * M }, { "a", "b", 5 * M }, { "a", "nobody", 99 * M },
	};
	struct mig_place_input in = { res, 3, vres, 1, tr, 3 };
	struct mig_place_built b;
	uint64_t wire = sched_wire_rate_bps(20 * M, 1000, CONS_WIRE_OVERHEAD_BYTES);
	char err[MIG_ERRLEN];
	int a;

	(void)state;
	assert_int_equal(mig_place_build(s, &in, &b, err, sizeof(err)), 0);
	assert_int_equal(b.w.n_hosts, 3);
	assert_int_equal(b.w.n_nodes, 5);	/* h1 h2 h3 tor1 tor2 */
	assert_int_equal(b.w.n_links, 4);
	assert_int_equal(b.host_ids[0], 1);
	assert_int_equal(b.host_ids[2], 3);
	assert_int_equal(b.w.n_vms, 3);
	assert_int_equal(b.w.n_flows, 2);	/* "nobody" is skipped */
	assert_int_equal(b.w.n_rtpaths, 1);
	a = mig_place_vm_index(&b, "a");
	assert_true(a >= 0);
	assert_int_equal(b.w.vms[a].vcpus, 2);
	assert_int_equal(b.w.vms[a].host, 0);
	assert_int_equal(b.w.rtpaths[0].src, (uint32_t)a);
	assert_int_equal(b.w.rtpaths[0].rate_bps, wire);
	/* every link direction the rtpath crosses has 50M - W(20M) left, the
	 * others 50M */
	int crossed = 0;

	for (uint32_t i = 0; i < b.w.n_links; i++) {
		const struct mig_place_link *l = &b.w.links[i];
		const struct cons_link *cl = cons_state_link_at(s, i);

		assert_int_equal(l->rt_free_ab_bps, 50 * M - cl->reserved_ab_bps);
		assert_int_equal(l->rt_free_ba_bps, 50 * M - cl->reserved_ba_bps);
		crossed += (l->rt_free_ab_bps == 50 * M - wire) + (l->rt_free_ba_bps == 50 * M - wire);
	}
	assert_int_equal(crossed, 3);	/* h1 -> tor1 -> tor2 -> h3 */
	mig_place_built_free(&b);
	mig_place_built_free(NULL);
	cons_state_free(s);
}

static void test_decision_on_state(void **state)
{
	struct cons_state *s = rack();
	struct mig_place_hostres res[] = {
		{ 1, 4, 1ull << 30, true }, { 2, 4, 1ull << 30, true }, { 3, 4, 1ull << 30, true },
	};
	static const struct mig_place_traffic tr[] = { { "a", "c", 30 * M }, { "a", "b", 5 * M } };
	struct mig_place_input in = { res, 3, NULL, 0, tr, 2 };
	static const struct mig_place_policy pol = { 0 };
	struct mig_place_cand cands[3];
	struct mig_place_decision d = { .cands = cands, .cap = 3 };
	struct mig_place_scratch *sc;
	struct mig_place_built b;
	char err[MIG_ERRLEN];

	(void)state;
	assert_int_equal(mig_place_build(s, &in, &b, err, sizeof(err)), 0);
	assert_int_equal(mig_place_scratch_new(&b.w, &sc, err, sizeof(err)), 0);
	/* a talks most to c (h2, same ToR): h2 wins; its rtpath to b still
	 * fits from h2 (tor1 -> tor2 has room) */
	assert_int_equal(mig_place_decide(&b.w, sc, &pol, (uint32_t)mig_place_vm_index(&b, "a"), 1, &d), 0);
	assert_true(d.move);
	assert_int_equal(b.host_ids[d.to], 2);
	mig_place_scratch_free(sc);
	mig_place_built_free(&b);

	/* h2 drained: stays */
	res[1].accepts = false;
	assert_int_equal(mig_place_build(s, &in, &b, err, sizeof(err)), 0);
	assert_int_equal(mig_place_scratch_new(&b.w, &sc, err, sizeof(err)), 0);
	assert_int_equal(mig_place_decide(&b.w, sc, &pol, (uint32_t)mig_place_vm_index(&b, "a"), 1, &d), 0);
	assert_false(d.move);
	mig_place_scratch_free(sc);
	mig_place_built_free(&b);
	cons_state_free(s);
}

static void test_empty_rack(void **state)
{
	struct cons_state *s;
	struct mig_place_input in = { 0 };
	struct mig_place_built b;
	char err[MIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(cons_state_new(&s), 0);
	assert_int_equal(mig_place_build(s, &in, &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no hosts"));
	cons_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_world_from_state),
		cmocka_unit_test(test_decision_on_state),
		cmocka_unit_test(test_empty_rack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
