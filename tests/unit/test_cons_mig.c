/* test_cons_mig.c — the live-migration record of the replicated state
 * (CONS_OP_VM_MIGRATE: prepare, commit, abort; consensus.h).
 *
 * Every command goes through apply(), which checks the state's invariants
 * (cons_state_check: no link over its RT budget, EDF on every sender, the
 * derived sums equal a recount with the shadows counted) and that a snapshot
 * of the state restores to an equal one, so a migration in progress
 * survives a snapshot and a follower catching up.
 *
 * The rack: hosts h1, h2, h3 on "tor", uplinks 100 Mbit/s, RT budget 50 %
 * (50 Mbit/s per direction). vm1 10.0.0.1 on h1, vm2 10.0.0.2 on h2, vm3
 * 10.0.0.3 on h3. A path of 10 Mbit/s in 1500-byte packets takes
 * ⌈10e6·1528/1500⌉ = 10,186,667 bit/s of each link it crosses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/consensus.h"
#include "tests/unit/cons_copy.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MBPS 1000000ull
#define MS 1000000ull
#define V1 IP(10, 0, 0, 1)
#define V2 IP(10, 0, 0, 2)
#define V3 IP(10, 0, 0, 3)
#define W10 10186667ull		/* wire rate of 10 Mbit/s in 1500-byte packets */

struct fx {
	struct cons_state *s;
	uint64_t index;
	struct cons_result res;
};


/* Applies c; checks the invariants, the snapshot round trip and that a
 * refusal changed nothing. Returns the status. */
static int apply(struct fx *f, const struct cons_cmd *c)
{
	return test_cons_apply_checked(f->s, ++f->index, c, &f->res, false);
}

static int host_add(struct fx *f, uint64_t id, uint64_t bps)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_ADD };

	c.u.host = (struct cons_host){ .id = id, .uplink_bps = bps, .rt_budget_ppm = 500000,
				       .max_frame_bytes = 1500 };
	snprintf(c.u.host.name, sizeof(c.u.host.name), "h%llu", (unsigned long long)id);
	snprintf(c.u.host.raft_addr, sizeof(c.u.host.raft_addr), "127.0.0.1:%llu",
		 17100 + (unsigned long long)id);
	return apply(f, &c);
}

static int vm_set(struct fx *f, const char *uuid, uint64_t host, uint32_t ip)
{
	struct cons_cmd c = { .op = CONS_OP_VM_SET };

	c.u.vm.host_id = host;
	snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "%s", uuid);
	c.u.vm.ips[c.u.vm.n_ips++] = ip;
	return apply(f, &c);
}

static int reserve(struct fx *f, uint32_t src, uint32_t dst, uint64_t rate)
{
	struct cons_cmd c = { .op = CONS_OP_PATH_RESERVE };

	c.u.path = (struct cons_path_req){ .src_ip = src, .dst_ip = dst,
					   .type = CONS_PATH_DEADLINE, .rate_bps = rate,
					   .deadline_ns = 5 * MS, .policy = { .max_level = 2 } };
	return apply(f, &c);
}

static int mig(struct fx *f, const char *uuid, enum cons_mig_phase phase, uint64_t to)
{
	struct cons_cmd c = { .op = CONS_OP_VM_MIGRATE };

	snprintf(c.u.mig.uuid, sizeof(c.u.mig.uuid), "%s", uuid);
	c.u.mig.phase = phase;
	c.u.mig.to_host = to;
	return apply(f, &c);
}

static uint64_t reserved(const struct cons_state *s, const char *a, const char *b, bool ab)
{
	for (size_t i = 0; i < cons_state_n_links(s); i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		if (strcmp(l->a, a) == 0 && strcmp(l->b, b) == 0)
			return ab ? l->reserved_ab_bps : l->reserved_ba_bps;
	}
	fail_msg("no link %s<->%s", a, b);
	return 0;
}

static const char *route_of(const struct cons_state *s, uint64_t id, bool next)
{
	static char out[128];
	const char *n[8];
	size_t k = next ? cons_state_mig_route(s, id, n, 8) : cons_state_path_route(s, id, n, 8);

	out[0] = '\0';
	for (size_t i = 0; i < k && i < 8; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? ">" : "", n[i]);
	return out;
}

/* vm1 (h1) sends to vm2 (h2) and receives from vm3 (h3), 10 Mbit/s each. */
static void rack(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(cons_state_new(&f->s), 0);
	for (uint64_t id = 1; id <= 3; id++)
		assert_int_equal(host_add(f, id, 100 * MBPS), 0);
	assert_int_equal(vm_set(f, "vm1", 1, V1), 0);
	assert_int_equal(vm_set(f, "vm2", 2, V2), 0);
	assert_int_equal(vm_set(f, "vm3", 3, V3), 0);
	assert_int_equal(reserve(f, V1, V2, 10 * MBPS), 0);	/* id 1 */
	assert_int_equal(reserve(f, V3, V1, 10 * MBPS), 0);	/* id 2 */
}

/* h1 -> h3: both paths get shadows; the old routes stay reserved until
 * commit, then the paths keep their ids on the new routes. */
static void test_prepare_commit(void **st)
{
	struct fx f;
	const struct cons_mig *m;

	(void)st;
	rack(&f);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 3), 0);
	m = cons_state_mig(f.s, "vm1");
	assert_non_null(m);
	assert_int_equal(m->from_host, 1);
	assert_int_equal(m->to_host, 3);
	assert_int_equal(m->n_paths, 2);
	assert_int_equal(cons_state_n_migs(f.s), 1);
	assert_string_equal(route_of(f.s, 1, false), "h1>tor>h2");
	assert_string_equal(route_of(f.s, 1, true), "h3>tor>h2");
	assert_string_equal(route_of(f.s, 2, true), "h3");	/* becomes same-host */
	/* old and new both reserved: h1->tor (old) and h3->tor (new) */
	assert_int_equal(reserved(f.s, "h1", "tor", true), W10);
	assert_int_equal(reserved(f.s, "h3", "tor", true), 2 * W10);
	assert_int_equal(reserved(f.s, "h2", "tor", false), 2 * W10);	/* tor->h2 twice */
	/* the VM and its paths are frozen meanwhile */
	assert_int_equal(vm_set(&f, "vm1", 3, V1), -EBUSY);
	assert_int_equal(reserve(&f, V2, V1, MBPS), -EBUSY);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 2), -EBUSY);

	assert_int_equal(mig(&f, "vm1", CONS_MIG_COMMIT, 0), 0);
	assert_int_equal(cons_state_n_migs(f.s), 0);
	assert_int_equal(cons_state_vm_at(f.s, 0)->host_id, 3);
	assert_int_equal(cons_state_n_paths(f.s), 2);
	assert_int_equal(cons_state_path(f.s, 1)->src_host, 3);
	assert_int_equal(cons_state_path(f.s, 2)->dst_host, 3);
	assert_string_equal(route_of(f.s, 1, false), "h3>tor>h2");
	assert_string_equal(route_of(f.s, 2, false), "h3");
	assert_int_equal(reserved(f.s, "h1", "tor", true), 0);
	assert_int_equal(reserved(f.s, "h1", "tor", false), 0);
	assert_int_equal(reserved(f.s, "h3", "tor", true), W10);
	assert_int_equal(reserved(f.s, "h2", "tor", false), W10);
	/* no longer frozen */
	assert_int_equal(mig(&f, "vm1", CONS_MIG_COMMIT, 0), -ENOENT);
	assert_int_equal(reserve(&f, V2, V1, MBPS), 0);
	cons_state_free(f.s);
}

/* abort: the state is exactly as before prepare (but the applied index). */
static void test_abort_restores(void **st)
{
	struct cons_cmd noop = { .op = CONS_OP_NOOP };
	struct cons_state *before;
	struct cons_result r;
	struct fx f;

	(void)st;
	rack(&f);
	before = test_cons_copy(f.s);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 3), 0);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_ABORT, 0), 0);
	assert_int_equal(cons_state_apply(before, f.index, &noop, &r), 0);
	assert_true(cons_state_equal(before, f.s));
	assert_int_equal(reserved(f.s, "h3", "tor", true), W10);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_ABORT, 0), -ENOENT);
	cons_state_free(before);
	cons_state_free(f.s);
}

/* A new route that does not fit: refused naming the path, the link and its
 * limit; nothing changes (apply() checks that). */
static void test_refused(void **st)
{
	struct fx f;

	(void)st;
	rack(&f);
	/* fill h3's uplink so vm1's 10 Mbit/s to vm2 cannot join it */
	assert_int_equal(vm_set(&f, "vm3b", 3, IP(10, 0, 0, 33)), 0);
	assert_int_equal(reserve(&f, IP(10, 0, 0, 33), V2, 35 * MBPS), 0);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 3), CONS_EREFUSED);
	if (!strstr(f.res.err, "rtpath 1") || !strstr(f.res.err, "h3->tor") ||
	    !strstr(f.res.err, "RT limit is 50 Mbit/s"))
		fail_msg("refusal lacks the path, link or limit: %s", f.res.err);
	assert_int_equal(cons_state_n_migs(f.s), 0);
	/* bad requests */
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 1), -EINVAL);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 9), -ENOENT);
	assert_int_equal(mig(&f, "nope", CONS_MIG_PREPARE, 2), -ENOENT);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_COMMIT, 2), -EINVAL);
	cons_state_free(f.s);
}

/* The host and VM records a shadow uses cannot go away under it. */
static void test_busy_records(void **st)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_REMOVE, .u.ref.id = 3 };
	struct cons_cmd rel = { .op = CONS_OP_PATH_RELEASE, .u.ref.id = 1 };
	struct fx f;

	(void)st;
	rack(&f);
	assert_int_equal(mig(&f, "vm2", CONS_MIG_PREPARE, 3), 0);
	assert_int_equal(apply(&f, &c), -EBUSY);
	assert_int_equal(apply(&f, &rel), -EBUSY);
	assert_int_equal(mig(&f, "vm2", CONS_MIG_ABORT, 0), 0);
	assert_int_equal(apply(&f, &rel), 0);
	cons_state_free(f.s);
}

/* Both rtpaths stay between hosts: g1 (h1) <-> peer (h3), g1 moves to h2. */
static void test_cross_hosts(void **st)
{
	struct fx f;

	(void)st;
	rack(&f);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 2), 0);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_COMMIT, 0), 0);
	assert_string_equal(route_of(f.s, 1, false), "h2");
	assert_string_equal(route_of(f.s, 2, false), "h3>tor>h2");
	assert_int_equal(mig(&f, "vm1", CONS_MIG_PREPARE, 1), 0);
	assert_int_equal(mig(&f, "vm1", CONS_MIG_COMMIT, 0), 0);
	assert_string_equal(route_of(f.s, 1, false), "h1>tor>h2");
	assert_int_equal(mig(&f, "vm2", CONS_MIG_PREPARE, 3), 0);
	assert_int_equal(mig(&f, "vm2", CONS_MIG_COMMIT, 0), 0);
	assert_string_equal(route_of(f.s, 1, false), "h1>tor>h3");
	cons_state_free(f.s);
}

/* The command's codec round-trips and refuses what is malformed. */
static void test_codec(void **st)
{
	struct cons_cmd c = { .op = CONS_OP_VM_MIGRATE, .client_id = 7, .seq = 9 }, d;
	char err[CONS_ERRLEN];
	void *buf;
	size_t len;

	(void)st;
	snprintf(c.u.mig.uuid, sizeof(c.u.mig.uuid), "vm1");
	c.u.mig.phase = CONS_MIG_PREPARE;
	c.u.mig.to_host = 3;
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), 0);
	assert_int_equal(cons_cmd_decode(buf, len, &d, err), 0);
	assert_int_equal(d.op, CONS_OP_VM_MIGRATE);
	assert_string_equal(d.u.mig.uuid, "vm1");
	assert_int_equal(d.u.mig.phase, CONS_MIG_PREPARE);
	assert_int_equal(d.u.mig.to_host, 3);
	free(buf);
	c.u.mig.to_host = 0;	/* prepare needs a host */
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), -EINVAL);
	c.u.mig.phase = 7;
	assert_int_equal(cons_cmd_encode(&c, &buf, &len, err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_commit),
		cmocka_unit_test(test_abort_restores),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_busy_records),
		cmocka_unit_test(test_cross_hosts),
		cmocka_unit_test(test_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
