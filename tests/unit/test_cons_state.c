/* test_cons_state.c — the replicated state machine of consensus/: topology,
 * VMs, admission of rtpaths, escalation, deduplication, snapshots.
 *
 * Every apply in these tests goes through fx_apply, which also checks after
 * each command that cons_state_check passes (no link over its RT budget,
 * every sender's uplink passes the EDF test, derived sums match a recount),
 * that a refused command left the state exactly as it was, and that a
 * snapshot restores to an equal state.
 *
 * Admission counts wire bits (consensus.h, "Admission in wire terms"): every
 * frame costs o = 28 bytes more on the wire (MPLS label 4 + preamble, FCS
 * and gap 24). A path of r frame bits/s in packets of up to M bytes takes
 * W(r) = ⌈r·(M+o)/M⌉ of each link and bursts B = b + ⌈b/M⌉·o bytes; for
 * M = 1500, W(r) = r·1528/1500, e.g. W(2 Mbit/s) = ⌈2,037,333.3⌉ = 2,037,334.
 *
 * The standard rack (rack3): hosts h1, h2, h3 on ToR "tor", uplinks
 * 100 Mbit/s, RT budget 50 % (limit 50 Mbit/s per direction), frames of
 * 1500 B (1528 B on the wire: 12,224 bits, 122.24 µs at 100 Mbit/s), hop
 * latency 50 µs (the default). VMs: vm1 10.0.0.1 and vm1b 10.0.0.11 on h1,
 * vm2 10.0.0.2 on h2, vm3 10.0.0.3 on h3. Between two hosts the route is
 * h->tor->h', and
 *   net budget = 50 µs (first hop) + 122.24 µs + 50 µs (tor->h') = 222.24 µs,
 * so a 5 ms deadline gives the sender a scheduler deadline of 4,777.76 µs;
 * the EDF test cuts the 251 µs margin (one 1 µs bucket + 250 µs tx-ahead)
 * and checks at 4,526.76 µs, where the uplink supplies 452,676 bits. The
 * blocking frame is the larger of an NRT frame (1500 + 24 B) and the flows'
 * own packets (1500 + 28 B): 12,224 bits.
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
#include <jansson.h>
#include <msgpack.h>

#include "dp/dp.h"
#include "consensus/consensus.h"
#include "tests/unit/cons_copy.h"
#include "tests/unit/json_pack.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MBPS 1000000ull
#define MS 1000000ull
#define US 1000ull
#define DL CONS_PATH_DEADLINE
#define RS CONS_PATH_RESERVATION

/* ------------------------------------------------------------------------- */
/* Fixture                                                                   */

struct fx {
	struct cons_state *s;
	uint64_t index;
	struct cons_result res;
	bool light;		/* skip the per-command checks (big tests) */
};


static int fx_apply(struct fx *f, const struct cons_cmd *c)
{
	return test_cons_apply_checked(f->s, ++f->index, c, &f->res, f->light);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(cons_state_new(&f->s), 0);
}

static void fx_close(struct fx *f)
{
	cons_state_free(f->s);
	f->s = NULL;
}

static int host_add(struct fx *f, uint64_t id, const char *name, uint64_t bps, uint32_t ppm,
		    const char *to)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_ADD };

	c.u.host = (struct cons_host){ .id = id, .uplink_bps = bps, .rt_budget_ppm = ppm,
				       .max_frame_bytes = 1500 };
	snprintf(c.u.host.name, sizeof(c.u.host.name), "%s", name);
	snprintf(c.u.host.uplink_to, sizeof(c.u.host.uplink_to), "%s", to);
	snprintf(c.u.host.raft_addr, sizeof(c.u.host.raft_addr), "127.0.0.1:%llu",
		 17100 + (unsigned long long)id % 100);
	return fx_apply(f, &c);
}

static int host_remove(struct fx *f, uint64_t id)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_REMOVE, .u.ref.id = id };

	return fx_apply(f, &c);
}

static int link_set(struct fx *f, const char *a, const char *b, uint64_t bps, uint32_t ppm,
		    uint64_t lat_ns)
{
	struct cons_cmd c = { .op = CONS_OP_LINK_SET };

	c.u.link = (struct cons_link){ .capacity_ab_bps = bps, .capacity_ba_bps = bps,
				       .rt_budget_ppm = ppm, .hop_latency_ns = lat_ns };
	snprintf(c.u.link.a, sizeof(c.u.link.a), "%s", a);
	snprintf(c.u.link.b, sizeof(c.u.link.b), "%s", b);
	return fx_apply(f, &c);
}

static int link_remove(struct fx *f, const char *a, const char *b)
{
	struct cons_cmd c = { .op = CONS_OP_LINK_REMOVE };

	snprintf(c.u.link.a, sizeof(c.u.link.a), "%s", a);
	snprintf(c.u.link.b, sizeof(c.u.link.b), "%s", b);
	return fx_apply(f, &c);
}

static int vm_set(struct fx *f, const char *uuid, uint64_t host, uint32_t ip1, uint32_t ip2)
{
	struct cons_cmd c = { .op = CONS_OP_VM_SET };

	c.u.vm.host_id = host;
	snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "%s", uuid);
	if (ip1 != 0)
		c.u.vm.ips[c.u.vm.n_ips++] = ip1;
	if (ip2 != 0)
		c.u.vm.ips[c.u.vm.n_ips++] = ip2;
	return fx_apply(f, &c);
}

static int vm_remove(struct fx *f, const char *uuid)
{
	struct cons_cmd c = { .op = CONS_OP_VM_REMOVE };

	snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "%s", uuid);
	return fx_apply(f, &c);
}

/* A request as the tables write it. */
struct preq {
	uint32_t src, dst;
	enum cons_path_type type;
	uint64_t rate_bps, burst_bytes, deadline_ns;
	uint32_t max_pkt_bytes;
};

static struct cons_cmd reserve_cmd(const struct preq *q)
{
	struct cons_cmd c = { .op = CONS_OP_PATH_RESERVE };

	c.u.path = (struct cons_path_req){ .src_ip = q->src, .dst_ip = q->dst, .type = q->type,
					   .rate_bps = q->rate_bps, .burst_bytes = q->burst_bytes,
					   .deadline_ns = q->deadline_ns,
					   .max_pkt_bytes = q->max_pkt_bytes,
					   .policy = { .max_level = 2 } };
	return c;
}

static int reserve(struct fx *f, struct preq q)
{
	struct cons_cmd c = reserve_cmd(&q);

	return fx_apply(f, &c);
}

static int release(struct fx *f, uint64_t id)
{
	struct cons_cmd c = { .op = CONS_OP_PATH_RELEASE, .u.ref.id = id };

	return fx_apply(f, &c);
}

static int escalate(struct fx *f, uint64_t id, uint8_t level)
{
	struct cons_cmd c = { .op = CONS_OP_PATH_ESCALATE, .u.ref = { .id = id, .level = level } };

	return fx_apply(f, &c);
}

static const struct cons_link *find_link(const struct cons_state *s, const char *a, const char *b)
{
	for (size_t i = 0; i < cons_state_n_links(s); i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		if (strcmp(l->a, a) == 0 && strcmp(l->b, b) == 0)
			return l;
	}
	fail_msg("no link %s<->%s", a, b);
	return NULL;
}

#define V1 IP(10, 0, 0, 1)
#define V1B IP(10, 0, 0, 11)
#define V2 IP(10, 0, 0, 2)
#define V3 IP(10, 0, 0, 3)

static void rack3(struct fx *f)
{
	fx_init(f);
	for (uint64_t i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "h%llu", (unsigned long long)i);
		assert_int_equal(host_add(f, i, name, 100 * MBPS, 500000, ""), 0);
	}
	assert_int_equal(vm_set(f, "vm1", 1, V1, 0), 0);
	assert_int_equal(vm_set(f, "vm1b", 1, V1B, 0), 0);
	assert_int_equal(vm_set(f, "vm2", 2, V2, 0), 0);
	assert_int_equal(vm_set(f, "vm3", 3, V3, 0), 0);
}

static void expect(struct fx *f, int status, const char *const *words, size_t n)
{
	if (f->res.status != status)
		fail_msg("status %d (want %d): %s", f->res.status, status, f->res.err);
	for (size_t i = 0; i < n && words[i] != NULL; i++)
		if (strstr(f->res.err, words[i]) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", f->res.err, words[i]);
}

#define EXPECT(f, st, ...)                                                     \
	do {                                                                   \
		const char *const w_[] = { __VA_ARGS__, NULL };                \
		expect((f), (st), w_, ARRAY_LEN(w_));                          \
	} while (0)

/* ------------------------------------------------------------------------- */
/* Hosts, links, VMs                                                         */

static void test_hosts(void **state)
{
	struct fx f;
	const struct cons_host *h;

	(void)state;
	rack3(&f);
	assert_int_equal(cons_state_n_hosts(f.s), 3);
	h = cons_state_host(f.s, 2);
	assert_non_null(h);
	assert_string_equal(h->name, "h2");
	assert_string_equal(h->uplink_to, "tor");	/* the default */
	assert_int_equal(cons_state_n_links(f.s), 3);	/* three uplinks */
	assert_int_equal(find_link(f.s, "h1", "tor")->capacity_ba_bps, 100 * MBPS);
	assert_int_equal(find_link(f.s, "h1", "tor")->hop_latency_ns, CONS_HOP_LATENCY_DEFAULT_NS);

	/* update: budget and role */
	assert_int_equal(host_add(&f, 2, "h2", 100 * MBPS, 250000, "tor"), 0);
	assert_int_equal(find_link(f.s, "h2", "tor")->rt_budget_ppm, 250000);
	/* re-home h2 to another switch, then back */
	assert_int_equal(host_add(&f, 2, "h2", 100 * MBPS, 250000, "tor2"), 0);
	assert_int_equal(cons_state_n_links(f.s), 3);
	find_link(f.s, "h2", "tor2");
	assert_int_equal(host_add(&f, 2, "h2", 100 * MBPS, 250000, "tor"), 0);
	/* a name taken by another host */
	assert_int_equal(host_add(&f, 9, "h1", 100 * MBPS, 500000, ""), -EEXIST);
	EXPECT(&f, -EEXIST, "h1", "host id 1");
	/* a switch's name */
	assert_int_equal(host_add(&f, 9, "tor", 100 * MBPS, 500000, "core"), -EEXIST);
	EXPECT(&f, -EEXIST, "switch");
	/* uplink to a host */
	assert_int_equal(host_add(&f, 9, "h9", 100 * MBPS, 500000, "h1"), -EINVAL);
	EXPECT(&f, -EINVAL, "h1 is a host");
	/* validation names the field, the value and what is allowed */
	assert_int_equal(host_add(&f, 9, "h9", 100 * MBPS, 1000001, ""), -EINVAL);
	EXPECT(&f, -EINVAL, "rt_budget_ppm", "1000001", "1..1000000");
	assert_int_equal(host_add(&f, 9, "h9", 0, 500000, ""), -EINVAL);
	EXPECT(&f, -EINVAL, "uplink_bps");
	/* remove: refused while VMs are on it */
	assert_int_equal(host_remove(&f, 3), -EBUSY);
	EXPECT(&f, -EBUSY, "h3", "1 VMs");
	assert_int_equal(vm_remove(&f, "vm3"), 0);
	assert_int_equal(host_remove(&f, 3), 0);
	assert_null(cons_state_host(f.s, 3));
	assert_int_equal(cons_state_n_links(f.s), 2);
	assert_int_equal(host_remove(&f, 3), -ENOENT);
	EXPECT(&f, -ENOENT, "3", "rtvctl hosts");
	fx_close(&f);
}

static void test_links(void **state)
{
	struct fx f;

	(void)state;
	rack3(&f);
	assert_int_equal(link_set(&f, "tor", "agg", 1000 * MBPS, 500000, 10 * US), 0);
	assert_int_equal(cons_state_n_links(f.s), 4);
	/* given b < a: stored as (agg, tor) with the capacities swapped */
	{
		struct cons_cmd c = { .op = CONS_OP_LINK_SET };

		c.u.link = (struct cons_link){ .capacity_ab_bps = 300 * MBPS,
					       .capacity_ba_bps = 700 * MBPS,
					       .rt_budget_ppm = 500000 };
		strcpy(c.u.link.a, "tor");
		strcpy(c.u.link.b, "agg");
		assert_int_equal(fx_apply(&f, &c), 0);
		assert_int_equal(find_link(f.s, "agg", "tor")->capacity_ab_bps, 700 * MBPS);
		assert_int_equal(find_link(f.s, "agg", "tor")->capacity_ba_bps, 300 * MBPS);
	}
	/* a host's edge belongs to host_add */
	assert_int_equal(link_set(&f, "h1", "agg", 1000 * MBPS, 500000, 0), -EINVAL);
	EXPECT(&f, -EINVAL, "h1 is a host");
	assert_int_equal(link_remove(&f, "h1", "tor"), -EINVAL);
	EXPECT(&f, -EINVAL, "uplink of host h1");
	assert_int_equal(link_remove(&f, "tor", "nowhere"), -ENOENT);
	assert_int_equal(link_set(&f, "x", "y", 1000 * MBPS, 500000, 11 * MS), -EINVAL);
	EXPECT(&f, -EINVAL, "hop_latency_ns");
	assert_int_equal(link_remove(&f, "agg", "tor"), 0);
	assert_int_equal(cons_state_n_links(f.s), 3);
	fx_close(&f);
}

static void test_vms(void **state)
{
	struct fx f;
	const struct cons_vm *v;

	(void)state;
	rack3(&f);
	v = cons_state_vm_by_ip(f.s, V1B);
	assert_non_null(v);
	assert_string_equal(v->uuid, "vm1b");
	assert_null(cons_state_vm_by_ip(f.s, IP(10, 9, 9, 9)));
	/* an IP owned by another VM */
	assert_int_equal(vm_set(&f, "vm4", 3, IP(10, 0, 0, 4), V2), -EEXIST);
	EXPECT(&f, -EEXIST, "10.0.0.2", "vm2");
	/* unknown host */
	assert_int_equal(vm_set(&f, "vm4", 7, IP(10, 0, 0, 4), 0), -ENOENT);
	EXPECT(&f, -ENOENT, "7");
	/* move and re-address a VM without rtpaths */
	assert_int_equal(vm_set(&f, "vm3", 2, IP(10, 0, 0, 33), V3), 0);
	assert_int_equal(cons_state_vm_by_ip(f.s, IP(10, 0, 0, 33))->host_id, 2);
	/* a VM with an rtpath: may be renamed and get more IPs, not moved */
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 1 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(vm_set(&f, "vm3", 3, V3, 0), -EBUSY);
	EXPECT(&f, -EBUSY, "vm3", "moving");
	assert_int_equal(vm_set(&f, "vm3", 2, IP(10, 0, 0, 33), 0), -EBUSY);
	EXPECT(&f, -EBUSY, "10.0.0.3");
	assert_int_equal(vm_set(&f, "vm3", 2, V3, IP(10, 0, 0, 34)), 0);
	assert_int_equal(vm_remove(&f, "vm3"), -EBUSY);
	assert_int_equal(vm_remove(&f, "vm1"), -EBUSY);
	assert_int_equal(release(&f, 1), 0);
	assert_int_equal(vm_remove(&f, "vm3"), 0);
	assert_int_equal(vm_remove(&f, "vm3"), -ENOENT);
	assert_int_equal(cons_state_n_vms(f.s), 3);
	fx_close(&f);
}

/* A VM's port MTU is its host's to report (docs/mtu.md): a VM_SET without
 * one keeps it while the VM stays on that host, a move forgets it. */
static void test_vm_mtu(void **state)
{
	struct cons_cmd c = { .op = CONS_OP_VM_SET };
	struct fx f;

	(void)state;
	rack3(&f);
	c.u.vm.host_id = 2;
	snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "vm9");
	c.u.vm.ips[c.u.vm.n_ips++] = IP(10, 0, 0, 99);
	c.u.vm.mtu = 1496;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_int_equal(cons_state_vm_by_ip(f.s, IP(10, 0, 0, 99))->mtu, 1496);
	assert_int_equal(vm_set(&f, "vm9", 2, IP(10, 0, 0, 99), 0), 0);	/* no MTU: kept */
	assert_int_equal(cons_state_vm_by_ip(f.s, IP(10, 0, 0, 99))->mtu, 1496);
	c.u.vm.mtu = 1446;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_int_equal(cons_state_vm_by_ip(f.s, IP(10, 0, 0, 99))->mtu, 1446);
	assert_int_equal(vm_set(&f, "vm9", 3, IP(10, 0, 0, 99), 0), 0);	/* moved: unknown */
	assert_int_equal(cons_state_vm_by_ip(f.s, IP(10, 0, 0, 99))->mtu, 0);
	c.u.vm.mtu = 67;
	assert_int_equal(fx_apply(&f, &c), -EINVAL);
	fx_close(&f);
}

/* ------------------------------------------------------------------------- */
/* Admission: table of cases on rack3                                        */

struct rcase {
	const char *name;
	struct preq pre[2];		/* admitted first (rate 0 = none) */
	struct preq req;
	int status;
	const char *words[4];
	uint64_t want_R, want_sched, want_net;	/* checked when status == 0 */
};

/* R for (r 1 Mbit/s, b 15,000 B, M 1500 B, D 5 ms), in wire terms:
 *   r_w = W(1 Mbit/s) = ⌈1,018,666.7⌉ = 1,018,667 bit/s, p = 100 Mbit/s,
 *   b_w = 15,000 + 10·28 = 15,280 B, M_w = 1528 B, Ctot = 1500 + 28 B,
 *   Dtot = net 222.24 µs + tx-ahead 250 µs = 472.24 µs,
 * by RFC 2212, p > R >= r_w:
 *   (b_w−M_w)/R · (p−R)/(p−r_w) + (M_w+Ctot)/R + Dtot <= D, in bits and s:
 *   110016·(1e8 − R)/(98,981,333·R) + 24448/R <= 4.52776e-3
 *   R >= (110016·1e8/98,981,333 + 24448) / (4.52776e-3 + 110016/98,981,333)
 *     = 135,596.230 / 5.6392423e-3 = 24,045,115.11 bit/s,
 * so the first integer wire rate that meets 5 ms (the bound is rounded up to
 * whole ns against a whole-ns deadline; 24,045,116 gives exactly 5 ms) is
 * R_w = 24,045,116. R is kept in frame terms: the smallest frame rate whose
 * W reaches R_w,
 *   ⌊(24,045,116 − 1)·1500/1528⌋ + 1 = ⌊23,604,497.2⌋ + 1 = 23,604,498
 * (W(23,604,498) = ⌈24,045,115.7⌉ = 24,045,116; W(23,604,497) = 24,045,115). */
#define R_HAND 23604498ull
#define R_HAND_WIRE 24045116ull

static const struct rcase rcases[] = {
	{ "deadline fits", {}, { V1, V2, DL, 2 * MBPS, 3000, 5 * MS }, 0, {},
	  2 * MBPS, 4777760, 222240 },
	/* W(30 Mbit/s) = 30,560,000 exactly; 50 − 30.56 = 19.44 Mbit/s free */
	{ "uplink budget", { { V1, V2, DL, 30 * MBPS, 0, 5 * MS } },
	  { V1, V3, DL, 30 * MBPS, 0, 5 * MS }, CONS_EREFUSED,
	  { "link h1->tor", "cannot take 30.56 Mbit/s on the wire", "limit is 50 Mbit/s",
	    "19.44 Mbit/s is free" } },
	{ "downlink budget: two senders to one receiver", { { V1, V3, DL, 30 * MBPS, 0, 5 * MS } },
	  { V2, V3, DL, 30 * MBPS, 0, 5 * MS }, CONS_EREFUSED,
	  { "link tor->h3", "19.44 Mbit/s is free" } },
	/* 64,000 B in ⌈64,000/1500⌉ = 43 frames: 64,000 + 43·28 = 65,204 B =
	 * 521,632 bits due at 1 ms − 222.24 µs − 251 µs = 526.76 µs, plus the
	 * 12,224-bit blocking frame: 533,856 bits against 52,676 of supply */
	{ "EDF: bursty, short deadline", {}, { V1, V2, DL, 1 * MBPS, 64000, 1 * MS },
	  CONS_EREFUSED, { "uplink of h1", "533.856 kbit", "526.76 µs", "52.676 kbit" } },
	/* A (40,000 B = 27 frames, 40,756 B on the wire, 5 ms) alone:
	 *   326,048 + 12,224 = 338,272 <= 452,676 at 4,526.76 µs.
	 * B (20,000 B = 14 frames, 20,392 B, 2.5 ms) alone: scheduler deadline
	 *   2,277.76 µs, tested at 2,026.76: 163,136 + 12,224 <= 202,676.
	 * Together at 4,526.76 µs: 326,048 + 163,136 + W(1 Mbit/s)·2.5 ms
	 *   (1,018,667 · 2.5e-3 = 2,546.67) + 12,224 = 503,954.67 -> 503,955
	 *   > 452,676. (In frame bits this was 494,500 > 455,000.) */
	{ "EDF: A alone", {}, { V1, V2, DL, 1 * MBPS, 40000, 5 * MS }, 0, {}, 0, 4777760, 0 },
	{ "EDF: B alone", {}, { V1, V3, DL, 1 * MBPS, 20000, 2500 * US }, 0, {}, 0, 2277760, 0 },
	{ "EDF: A then B", { { V1, V2, DL, 1 * MBPS, 40000, 5 * MS } },
	  { V1, V3, DL, 1 * MBPS, 20000, 2500 * US }, CONS_EREFUSED,
	  { "uplink of h1", "503.955 kbit on the wire", "4.526 ms", "452.676 kbit" } },
	{ "reservation: R by RFC 2212", {}, { V1, V2, RS, 1 * MBPS, 15000, 5 * MS }, 0, {},
	  R_HAND, 4777760, 222240 },
	/* 1 MB of burst in 4.76 ms needs ~1.7 Gbit/s */
	{ "reservation: no R meets the deadline", {}, { V1, V2, RS, 1 * MBPS, 1000000, 5 * MS },
	  CONS_EREFUSED, { "no service rate up to 50 Mbit/s", "5 ms" } },
	/* W(40 Mbit/s) = ⌈40,746,666.7⌉ leaves 9,253,333 bit/s; W(R) is 24.05 M */
	{ "reservation: R above what is free", { { V1, V3, DL, 40 * MBPS, 0, 5 * MS } },
	  { V1, V2, RS, 1 * MBPS, 15000, 5 * MS }, CONS_EREFUSED,
	  { "link h1->tor", "24.045 Mbit/s on the wire", "23.604 Mbit/s in packets",
	    "9.253 Mbit/s is free" } },
	/* The reservation takes B + W(R)·t from t = 0 in strict priority: at
	 * 4,526.76 µs, 15,280 + ⌈24,045,116 · 4.52676e-3 / 8⌉ + 1 B =
	 * 15,280 + ⌈13,605.5⌉ + 1 = 28,887 B = 231,096 bits, + A's 326,048 +
	 * 12,224 = 569,368 > 452,676. */
	{ "reservation as EDF interference", { { V1, V3, DL, 1 * MBPS, 40000, 5 * MS } },
	  { V1, V2, RS, 1 * MBPS, 15000, 5 * MS }, CONS_EREFUSED,
	  { "uplink of h1", "569.368 kbit", "4.526 ms" } },
	{ "deadline inside the network budget", {}, { V1, V2, DL, 1 * MBPS, 0, 200 * US },
	  CONS_EREFUSED, { "200 µs", "222.24 µs", "h1 to h2", "251 µs" } },
	/* 450 µs exceeds the 222.24 µs of the hops, but not by the 251 µs
	 * margin (473.24 µs): the dataplane could not keep it */
	{ "deadline inside the scheduling margin", {}, { V1, V2, DL, 1 * MBPS, 0, 450 * US },
	  CONS_EREFUSED, { "450 µs", "222.24 µs", "251 µs scheduling margin" } },
	/* Small packets, admitted in frame bits before. 25 Mbit/s in 64-byte
	 * packets is W = 25e6·92/64 = 35,937,500 bit/s on the wire; with
	 * W(20 Mbit/s) = 20,373,334 taken that is 56.3 > 50 Mbit/s (in frame
	 * bits, 20 + 25 = 45 fit). The same rate in 1500-byte packets,
	 * W = 25,466,667, still fits (45.84 Mbit/s). */
	{ "small packets: link budget", { { V1, V2, DL, 20 * MBPS, 0, 5 * MS } },
	  { V1, V3, DL, 25 * MBPS, 0, 5 * MS, 64 }, CONS_EREFUSED,
	  { "link h1->tor", "cannot take 35.937 Mbit/s on the wire",
	    "25 Mbit/s in packets of up to 64 bytes", "29.626 Mbit/s is free" } },
	{ "small packets: same rate in large packets fits",
	  { { V1, V2, DL, 20 * MBPS, 0, 5 * MS } }, { V1, V3, DL, 25 * MBPS, 0, 5 * MS, 1500 }, 0,
	  {}, 25 * MBPS, 4777760, 222240 },
	/* A 41,000-byte burst in 64-byte packets is ⌈41,000/64⌉ = 641 frames:
	 * 41,000 + 641·28 = 58,948 B = 471,584 bits; blocking is the 1524-B
	 * NRT frame (above the flow's 92-B packets), 12,192 bits: 483,776 >
	 * 452,676. In frame bits (328,000 + 12,000 <= 455,000) it was admitted;
	 * in 1500-byte packets (28 frames, 41,784 B = 334,272 + 12,224 =
	 * 346,496) it still is. */
	{ "small packets: EDF burst", {}, { V1, V2, DL, 1 * MBPS, 41000, 5 * MS, 64 },
	  CONS_EREFUSED, { "uplink of h1", "483.776 kbit on the wire", "4.526 ms", "452.676 kbit" } },
	{ "small packets: same burst in large packets fits", {},
	  { V1, V2, DL, 1 * MBPS, 41000, 5 * MS, 1500 }, 0, {}, 1 * MBPS, 4777760, 222240 },
	{ "unknown source IP", {}, { IP(10, 9, 9, 9), V2, DL, 1 * MBPS, 0, 5 * MS }, -ENOENT,
	  { "10.9.9.9", "rtvctl vms" } },
	{ "unknown destination IP", {}, { V1, IP(10, 9, 9, 8), DL, 1 * MBPS, 0, 5 * MS }, -ENOENT,
	  { "destination 10.9.9.8" } },
	{ "max_pkt above the host's frames", {}, { V1, V2, DL, 1 * MBPS, 9000, 5 * MS, 9000 },
	  -EINVAL, { "max_pkt_bytes", "9000", "1500" } },
	{ "burst below max_pkt", {}, { V1, V2, DL, 1 * MBPS, 500, 5 * MS, 0 }, -EINVAL,
	  { "burst_bytes", "500", "1500" } },
	{ "rate 0", {}, { V1, V2, DL, 0, 0, 5 * MS }, -EINVAL, { "rate_bps", "is 0" } },
	{ "deadline 0", {}, { V1, V2, DL, 1 * MBPS, 0, 0 }, -EINVAL, { "deadline_ns" } },
	/* same host: nothing crosses the uplink, no link checks */
	{ "same host, above the uplink budget", {}, { V1, V1B, DL, 80 * MBPS, 0, 100 * US }, 0, {},
	  80 * MBPS, 100 * US, 0 },
};

static void test_admission_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rcases); i++) {
		const struct rcase *c = &rcases[i];
		const struct cons_rtpath *p;
		struct fx f;

		print_message("case: %s\n", c->name);
		rack3(&f);
		for (size_t k = 0; k < ARRAY_LEN(c->pre) && c->pre[k].rate_bps; k++)
			if (reserve(&f, c->pre[k]) != 0)
				fail_msg("%s: setup refused: %s", c->name, f.res.err);
		reserve(&f, c->req);
		expect(&f, c->status, c->words, ARRAY_LEN(c->words));
		if (c->status == 0) {
			p = cons_state_path(f.s, f.res.id);
			assert_non_null(p);
			if (c->want_R)
				assert_int_equal(p->service_rate_bps, c->want_R);
			if (c->want_sched)
				assert_int_equal(p->sched_deadline_ns, c->want_sched);
			if (c->want_net)
				assert_int_equal(p->net_budget_ns, c->want_net);
		}
		fx_close(&f);
	}
}

static void test_admitted_fields(void **state)
{
	const struct cons_rtpath *p;
	const char *route[8];
	struct fx f;

	(void)state;
	rack3(&f);
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 2 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(f.res.id, 1);
	assert_int_equal(f.res.index, f.index);
	p = cons_state_path(f.s, 1);
	assert_int_equal(p->src_host, 1);
	assert_int_equal(p->dst_host, 2);
	assert_int_equal(p->tc, 5);
	assert_int_equal(p->dscp, 46);
	assert_int_equal(p->req.max_pkt_bytes, 1500);	/* filled from the host */
	assert_int_equal(p->req.burst_bytes, 1500);	/* one max packet */
	assert_int_equal(p->admitted_index, f.index);
	assert_int_equal(cons_state_path_route(f.s, 1, route, 8), 3);
	assert_string_equal(route[0], "h1");
	assert_string_equal(route[1], "tor");
	assert_string_equal(route[2], "h2");
	/* links reserve the wire rate, W(2 Mbit/s) = ⌈2,037,333.3⌉ */
	assert_int_equal(p->service_rate_bps, 2 * MBPS);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 2037334);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ba_bps, 0);
	assert_int_equal(find_link(f.s, "h2", "tor")->reserved_ba_bps, 2037334);
	assert_int_equal(reserve(&f, (struct preq){ V2, V1, RS, 1 * MBPS, 15000, 5 * MS }), 0);
	p = cons_state_path(f.s, 2);
	assert_int_equal(p->tc, 4);
	assert_int_equal(p->dscp, 34);
	assert_int_equal(p->service_rate_base_bps, R_HAND);
	assert_int_equal(find_link(f.s, "h2", "tor")->reserved_ab_bps, R_HAND_WIRE);
	/* same host: no link touched, route of one node */
	assert_int_equal(reserve(&f, (struct preq){ V1, V1B, RS, 5 * MBPS, 0, 1 * MS }), 0);
	p = cons_state_path(f.s, 3);
	assert_int_equal(p->net_budget_ns, 0);
	assert_int_equal(p->service_rate_bps, 5 * MBPS);
	assert_int_equal(cons_state_path_route(f.s, 3, route, 8), 1);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 2037334);
	assert_int_equal(cons_state_path_route(f.s, 99, route, 8), 0);
	fx_close(&f);
}

static void test_release(void **state)
{
	struct fx f;

	(void)state;
	rack3(&f);
	/* 50 Mbit/s of frames is 50.93 on the wire: over the 50 Mbit/s limit */
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 50 * MBPS, 0, 5 * MS }), CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "h1->tor", "50.933 Mbit/s on the wire", "50 Mbit/s is free");
	/* 49,080,000 = 1500·32,720 is W = 1528·32,720 = 49,996,160: 3,840 free */
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 49080000, 0, 5 * MS }), 0);
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 1 * MBPS, 0, 5 * MS }), CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "h1->tor", "3.84 kbit/s is free");
	assert_int_equal(release(&f, 1), 0);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 0);
	assert_int_equal(find_link(f.s, "h2", "tor")->reserved_ba_bps, 0);
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 1 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(f.res.id, 2);	/* ids are never reused */
	assert_int_equal(release(&f, 1), -ENOENT);
	EXPECT(&f, -ENOENT, "rtpath", "1", "rtvctl paths");
	assert_int_equal(cons_state_n_paths(f.s), 1);
	fx_close(&f);
}

/* Changes to records that rtpaths were admitted with. */
static void test_busy(void **state)
{
	struct fx f;

	(void)state;
	rack3(&f);
	/* 20 Mbit/s of 1500-B frames: W = ⌈20,373,333.3⌉ = 20,373,334 */
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 20 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(host_add(&f, 1, "h1", 1000 * MBPS, 500000, ""), -EBUSY);
	EXPECT(&f, -EBUSY, "h1", "1 rtpaths", "uplink_bps");
	assert_int_equal(host_add(&f, 1, "h1", 100 * MBPS, 500000, "tor2"), -EBUSY);
	assert_int_equal(host_add(&f, 1, "h1", 100 * MBPS, 100000, ""), -EBUSY);
	EXPECT(&f, -EBUSY, "10 Mbit/s", "20.373 Mbit/s there on the wire");
	/* a 20 % budget no longer holds 20 Mbit/s of frames; 21 % does */
	assert_int_equal(host_add(&f, 1, "h1", 100 * MBPS, 200000, ""), -EBUSY);
	EXPECT(&f, -EBUSY, "20 Mbit/s", "20.373 Mbit/s");
	assert_int_equal(host_add(&f, 1, "h1", 100 * MBPS, 210000, ""), 0);
	assert_int_equal(host_remove(&f, 2), -EBUSY);
	EXPECT(&f, -EBUSY, "1 rtpaths");
	/* 20,373,334 + W(1 Mbit/s) 1,018,667 = 21,392,001 > 21 Mbit/s */
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 1 * MBPS, 0, 5 * MS }), CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "limit is 21 Mbit/s", "626.666 kbit/s is free");
	/* a same-host path pins its host's frame size too (its max_pkt) */
	assert_int_equal(reserve(&f, (struct preq){ V3, IP(10, 0, 0, 31), DL, 1 * MBPS, 0, 5 * MS }),
			 -ENOENT);
	assert_int_equal(vm_set(&f, "vm3", 3, V3, IP(10, 0, 0, 31)), 0);
	assert_int_equal(reserve(&f, (struct preq){ V3, IP(10, 0, 0, 31), DL, 1 * MBPS, 0, 5 * MS }), 0);
	{
		struct cons_cmd c = { .op = CONS_OP_HOST_ADD };

		c.u.host = *cons_state_host(f.s, 3);
		c.u.host.max_frame_bytes = 1000;
		assert_int_equal(fx_apply(&f, &c), -EBUSY);
		EXPECT(&f, -EBUSY, "h3", "max_frame_bytes");
	}
	fx_close(&f);
}

/* A host's uplink latency ([uplink] hop_latency): its edge's hop latency,
 * in every rtpath's network budget; it cannot change under rtpaths. */
static void test_host_uplink_latency(void **state)
{
	struct cons_cmd c = { .op = CONS_OP_HOST_ADD };
	const struct cons_rtpath *p;
	struct fx f;

	(void)state;
	rack3(&f);
	c.u.host = *cons_state_host(f.s, 2);
	c.u.host.uplink_latency_ns = 1 * MS;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_int_equal(find_link(f.s, "h2", "tor")->hop_latency_ns, 1 * MS);
	/* h1 -> h2: h1's uplink latency (the default 50 µs), then one wire
	 * frame of 1,528 bytes at 100 Mbit/s (122.24 µs) and h2's 1 ms */
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 1 * MBPS, 0, 5 * MS }), 0);
	p = cons_state_path(f.s, 1);
	assert_int_equal(p->net_budget_ns, 50000 + 122240 + 1000000);
	/* not under an rtpath; the same value (also as 0 vs the default) is fine */
	c.u.host.uplink_latency_ns = 2 * MS;
	assert_int_equal(fx_apply(&f, &c), -EBUSY);
	EXPECT(&f, -EBUSY, "h2", "uplink_latency_ns");
	assert_int_equal(find_link(f.s, "h2", "tor")->hop_latency_ns, 1 * MS);
	c.u.host = *cons_state_host(f.s, 1);
	c.u.host.uplink_latency_ns = CONS_HOP_LATENCY_DEFAULT_NS;
	assert_int_equal(fx_apply(&f, &c), 0);
	/* out of range */
	c.u.host.uplink_latency_ns = CONS_HOP_LATENCY_MAX_NS + 1;
	assert_int_equal(fx_apply(&f, &c), -EINVAL);
	EXPECT(&f, -EINVAL, "uplink_latency_ns");
	fx_close(&f);
}

/* ------------------------------------------------------------------------- */
/* Escalation                                                                */

static void test_escalate_deadline(void **state)
{
	const struct cons_rtpath *p;
	struct fx f;

	(void)state;
	rack3(&f);
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 1 * MBPS, 3000, 5 * MS }), 0);
	assert_int_equal(escalate(&f, 1, 1), 0);
	p = cons_state_path(f.s, 1);
	assert_int_equal(p->level, 1);
	assert_int_equal(p->sched_deadline_ns, 2388880);	/* 4,777.76 µs / 2 */
	assert_int_equal(p->tc, 6);
	assert_int_equal(escalate(&f, 1, 2), 0);
	assert_int_equal(cons_state_path(f.s, 1)->sched_deadline_ns, 1194440);
	assert_int_equal(escalate(&f, 1, 3), -EINVAL);	/* policy.max_level is 2 */
	EXPECT(&f, -EINVAL, "max_level", "2");
	assert_int_equal(escalate(&f, 1, 5), -EINVAL);
	assert_int_equal(escalate(&f, 1, 0), 0);
	p = cons_state_path(f.s, 1);
	assert_int_equal(p->sched_deadline_ns, 4777760);
	assert_int_equal(p->tc, 5);
	/* B: 40,000 B (40,756 on the wire) due at 4,526.76 µs fits with path
	 * 1's 3056 B: 326,048 + 24,448 + 12,224 = 362,720 <= 452,676 bits; at
	 * level 1 it would be due at 2,388.88 − 251 = 2,137.88 µs, where the
	 * uplink supplies 213,788 bits: 326,048 + 12,224 = 338,272 is too
	 * much. So escalation raises its class alone: TC 6 in the network,
	 * its deadline at the sender as it was. */
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 1 * MBPS, 40000, 5 * MS }), 0);
	assert_int_equal(escalate(&f, 2, 1), 0);
	p = cons_state_path(f.s, 2);
	assert_int_equal(p->level, 1);
	assert_int_equal(p->tc, 6);
	assert_int_equal(p->sched_deadline_ns, 4777760);
	assert_string_equal(f.res.err, "");
	assert_int_equal(escalate(&f, 9, 1), -ENOENT);
	fx_close(&f);
}

static void test_escalate_reservation(void **state)
{
	struct cons_cmd c;
	struct fx f;

	(void)state;
	rack3(&f);
	c = reserve_cmd(&(struct preq){ V1, V2, RS, 1 * MBPS, 15000, 5 * MS });
	c.u.path.policy.max_level = 4;
	assert_int_equal(fx_apply(&f, &c), 0);
	/* level 2: R·(1 + 2/2) = 47,208,996, on the wire
	 * ⌈47,208,996·1528/1500⌉ = ⌈48,090,230.6⌉ = 48,090,231 */
	assert_int_equal(escalate(&f, 1, 2), 0);
	assert_int_equal(cons_state_path(f.s, 1)->service_rate_bps, 2 * R_HAND);
	assert_int_equal(cons_state_path(f.s, 1)->tc, 5);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 48090231);
	assert_int_equal(find_link(f.s, "h2", "tor")->reserved_ba_bps, 48090231);
	/* level 4: 3R = 70.8 Mbit/s, capped at the largest frame rate whose wire
	 * rate fits the uplink's 50 Mbit/s budget: ⌊50e6·1500/1528⌋ =
	 * ⌊49,083,769.6⌋ = 49,083,769, which is W = ⌈49,999,999.6⌉ = 50e6 */
	assert_int_equal(escalate(&f, 1, 4), 0);
	assert_int_equal(cons_state_path(f.s, 1)->service_rate_bps, 49083769);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 50 * MBPS);
	assert_int_equal(escalate(&f, 1, 0), 0);
	assert_int_equal(cons_state_path(f.s, 1)->service_rate_bps, R_HAND);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, R_HAND_WIRE);
	/* with 10 Mbit/s (10,186,667 on the wire) taken by another path, the
	 * uplink's 50 Mbit/s budget leaves 39,813,333 for path 1: level 4's
	 * rate (capped at 49,083,769) and strength 3's (2.5R, capped too) and
	 * 2's (2R = 48,090,231 on the wire) do not fit; strength 1's does:
	 * 1.5R = 35,406,747, ⌈35,406,747·1528/1500⌉ = ⌈36,067,672.9⌉ =
	 * 36,067,673 on the wire. The path takes level 4's class with that
	 * rate. */
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 10 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(escalate(&f, 1, 4), 0);
	assert_int_equal(cons_state_path(f.s, 1)->level, 4);
	assert_int_equal(cons_state_path(f.s, 1)->tc, 5);
	assert_int_equal(cons_state_path(f.s, 1)->service_rate_bps, R_HAND * 3 / 2);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 36067673 + 10186667);
	/* back at level 0, and with 15 Mbit/s more taken (24,045,116 +
	 * 10,186,667 + 15,280,000 = 49,511,783 of the 50 Mbit/s budget), no
	 * tightening fits: level 4 is the class alone */
	assert_int_equal(escalate(&f, 1, 0), 0);
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, DL, 15 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(escalate(&f, 1, 4), 0);
	assert_int_equal(cons_state_path(f.s, 1)->level, 4);
	assert_int_equal(cons_state_path(f.s, 1)->tc, 5);
	assert_int_equal(cons_state_path(f.s, 1)->service_rate_bps, R_HAND);
	fx_close(&f);
}

/* ------------------------------------------------------------------------- */
/* Deduplication                                                             */

static void test_idempotent_retry(void **state)
{
	struct cons_cmd c = reserve_cmd(&(struct preq){ V1, V2, DL, 2 * MBPS, 0, 5 * MS });
	struct cons_result first;
	struct fx f;

	(void)state;
	rack3(&f);
	c.client_id = 0xabcdef0123456789ull;
	c.seq = 10;
	assert_int_equal(fx_apply(&f, &c), 0);
	first = f.res;
	assert_false(first.duplicate);
	/* the retry: same answer, same id, nothing admitted twice */
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_true(f.res.duplicate);
	assert_int_equal(f.res.id, first.id);
	assert_int_equal(f.res.index, first.index);
	assert_int_equal(cons_state_n_paths(f.s), 1);
	assert_int_equal(find_link(f.s, "h1", "tor")->reserved_ab_bps, 2037334);
	/* an older request of the same client */
	c.seq = 9;
	assert_int_equal(fx_apply(&f, &c), -ESTALE);
	EXPECT(&f, -ESTALE, "9", "10");
	assert_int_equal(cons_state_n_paths(f.s), 1);
	/* the next request is applied */
	c.seq = 11;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_false(f.res.duplicate);
	assert_int_equal(f.res.id, 2);
	/* a refusal is remembered too, message included */
	c.seq = 12;
	/* on the wire W(2 M) = 2,037,334 and W(47 M) = ⌈47,877,333.3⌉ */
	c.u.path.rate_bps = 47 * MBPS;	/* 2.04 + 2.04 + 47.88 > 50 */
	assert_int_equal(fx_apply(&f, &c), CONS_EREFUSED);
	first = f.res;
	assert_int_equal(release(&f, 1), 0);	/* now it would fit: 49,914,668 */
	assert_int_equal(fx_apply(&f, &c), CONS_EREFUSED);
	assert_true(f.res.duplicate);
	assert_string_equal(f.res.err, first.err);
	/* another client is independent; client 0 is never deduplicated */
	c.client_id = 77;
	assert_int_equal(fx_apply(&f, &c), 0);
	/* 85,332 bit/s are left: 41,250 bit/s is W = 41,250·1528/1500 = 42,020
	 * exactly, so two fit (84,040) and a third does not */
	c.client_id = 0;
	c.u.path.rate_bps = 41250;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_false(f.res.duplicate);
	assert_int_equal(cons_state_n_paths(f.s), 4);
	assert_int_equal(fx_apply(&f, &c), CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "42.02 kbit/s on the wire", "1.292 kbit/s is free");
	fx_close(&f);
}

static void test_dedup_bound(void **state)
{
	struct cons_cmd c = { .op = CONS_OP_NOOP, .seq = 1 };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.light = true;
	for (uint64_t cid = 1; cid <= CONS_DEDUP_MAX + 1; cid++) {
		c.client_id = cid;
		assert_int_equal(fx_apply(&f, &c), 0);
	}
	/* client 1 had the oldest answer and was forgotten; 2 is remembered */
	c.client_id = 2;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_true(f.res.duplicate);
	c.client_id = 1;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_false(f.res.duplicate);
	/* and re-entering evicted the next oldest, 2 */
	c.client_id = 2;
	assert_int_equal(fx_apply(&f, &c), 0);
	assert_false(f.res.duplicate);
	{
		struct cons_state *copy = test_cons_copy(f.s);

		assert_true(cons_state_equal(copy, f.s));
		cons_state_free(copy);
	}
	fx_close(&f);
}

static void test_index_order(void **state)
{
	struct cons_cmd c = { .op = CONS_OP_NOOP };
	struct cons_result r;
	struct fx f;

	(void)state;
	rack3(&f);
	assert_int_equal(cons_state_apply(f.s, f.index, &c, &r), 0);
	assert_int_equal(r.status, -EINVAL);
	assert_int_equal(cons_state_applied_index(f.s), f.index);
	fx_close(&f);
}

/* ------------------------------------------------------------------------- */
/* A tree of switches (seed 001)                                             */

/*            core
 *          /      \
 *       agg1      agg2          switch links 1 Gbit/s, 50 %, 10 µs;
 *       /  \      /  \          agg1-core and core-agg2 100 Mbit/s, 10 %
 *    tor1 tor2  tor3 tor4
 *     |    |          |
 *    ha   hb         hc         uplinks 100 Mbit/s, 50 %, 50 µs
 */
static void tree(struct fx *f)
{
	static const char *const links[][2] = {
		{ "agg1", "tor1" }, { "agg1", "tor2" }, { "agg2", "tor3" }, { "agg2", "tor4" },
	};

	fx_init(f);
	for (size_t i = 0; i < ARRAY_LEN(links); i++)
		assert_int_equal(link_set(f, links[i][0], links[i][1], 1000 * MBPS, 500000, 10 * US), 0);
	assert_int_equal(link_set(f, "agg1", "core", 100 * MBPS, 100000, 10 * US), 0);
	assert_int_equal(link_set(f, "core", "agg2", 100 * MBPS, 100000, 10 * US), 0);
	assert_int_equal(host_add(f, 1, "ha", 100 * MBPS, 500000, "tor1"), 0);
	assert_int_equal(host_add(f, 2, "hb", 100 * MBPS, 500000, "tor2"), 0);
	assert_int_equal(host_add(f, 3, "hc", 100 * MBPS, 500000, "tor4"), 0);
	assert_int_equal(vm_set(f, "va", 1, IP(10, 1, 0, 1), 0), 0);
	assert_int_equal(vm_set(f, "vb", 2, IP(10, 1, 0, 2), 0), 0);
	assert_int_equal(vm_set(f, "vc", 3, IP(10, 1, 0, 3), 0), 0);
}

static void assert_route(struct fx *f, uint64_t id, const char *want)
{
	const char *names[16];
	char got[256] = "";
	size_t n = cons_state_path_route(f->s, id, names, 16);

	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? ">" : "", names[i]);
	assert_string_equal(got, want);
}

static void test_tree(void **state)
{
	struct fx f;
	const struct cons_rtpath *p;

	(void)state;
	tree(&f);
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 1), IP(10, 1, 0, 3), DL, 5 * MBPS, 0,
						  5 * MS }), 0);
	assert_route(&f, 1, "ha>tor1>agg1>core>agg2>tor4>hc");
	/* ha's uplink: its latency, 50 µs; then one 12,224-bit wire frame and
	 * the hop latency per link: tor1->agg1 12.224 + 10, agg1->core
	 * 122.24 + 10, core->agg2 122.24 + 10, agg2->tor4 12.224 + 10,
	 * tor4->hc 122.24 + 50:
	 *   50 + 22.224 + 132.24 + 132.24 + 22.224 + 172.24 = 531.168 µs */
	p = cons_state_path(f.s, 1);
	assert_int_equal(p->net_budget_ns, 531168);
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 2), IP(10, 1, 0, 1), DL, 1 * MBPS, 0,
						  5 * MS }), 0);
	assert_route(&f, 2, "hb>tor2>agg1>tor1>ha");
	/* the core links' RT limit is 10 Mbit/s, W(5 Mbit/s) = 5,093,334 taken;
	 * W(6 Mbit/s) = 6,112,000 > 4,906,666 */
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 2), IP(10, 1, 0, 3), DL, 6 * MBPS, 0,
						  5 * MS }), CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "link agg1->core", "limit is 10 Mbit/s", "4.906 Mbit/s is free");
	/* the reverse direction of the same links is free: W(9 M) = 9,168,000 */
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 3), IP(10, 1, 0, 2), DL, 9 * MBPS, 0,
						  5 * MS }), 0);
	assert_route(&f, 3, "hc>tor4>agg2>core>agg1>tor2>hb");
	/* a crossed link cannot go */
	assert_int_equal(link_remove(&f, "core", "agg1"), -EBUSY);
	EXPECT(&f, -EBUSY, "agg1<->core", "2 rtpaths");
	assert_int_equal(link_set(&f, "core", "agg1", 1000 * MBPS, 100000, 10 * US), -EBUSY);
	/* shortcuts: new paths take the shorter route, old ones keep theirs;
	 * with tor1-agg2 and agg1-tor4 both there, ha -> hc has two 4-hop
	 * routes and the one through agg1 (smaller name) wins */
	assert_int_equal(link_set(&f, "tor1", "agg2", 1000 * MBPS, 500000, 10 * US), 0);
	assert_int_equal(link_set(&f, "agg1", "tor4", 1000 * MBPS, 500000, 10 * US), 0);
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 1), IP(10, 1, 0, 3), DL, 1 * MBPS, 0,
						  5 * MS }), 0);
	assert_route(&f, 4, "ha>tor1>agg1>tor4>hc");
	assert_route(&f, 1, "ha>tor1>agg1>core>agg2>tor4>hc");
	/* released, the core links may go; a disconnected pair has no route */
	assert_int_equal(release(&f, 1), 0);
	assert_int_equal(release(&f, 3), 0);
	assert_int_equal(link_remove(&f, "agg1", "core"), 0);
	assert_int_equal(link_remove(&f, "agg1", "tor4"), -EBUSY);	/* path 4 */
	assert_int_equal(link_remove(&f, "agg1", "tor1"), -EBUSY);	/* paths 2 and 4 */
	EXPECT(&f, -EBUSY, "2 rtpaths");
	assert_int_equal(release(&f, 4), 0);
	assert_int_equal(link_remove(&f, "agg1", "tor4"), 0);
	assert_int_equal(link_remove(&f, "agg2", "tor1"), 0);
	assert_int_equal(reserve(&f, (struct preq){ IP(10, 1, 0, 1), IP(10, 1, 0, 3), DL, 1 * MBPS, 0,
						  5 * MS }), -ENOENT);
	EXPECT(&f, -ENOENT, "no route from ha to hc");
	fx_close(&f);
}

/* ------------------------------------------------------------------------- */
/* Snapshots                                                                 */

/* A state with some of everything: tree, paths of both types, an
 * escalated path, a same-host path, deduplication entries. */
static void populated(struct fx *f)
{
	struct cons_cmd c;

	tree(f);
	assert_int_equal(vm_set(f, "va2", 1, IP(10, 1, 0, 11), IP(10, 1, 0, 12)), 0);
	assert_int_equal(reserve(f, (struct preq){ IP(10, 1, 0, 1), IP(10, 1, 0, 3), DL, 2 * MBPS,
						 3000, 5 * MS }), 0);
	assert_int_equal(reserve(f, (struct preq){ IP(10, 1, 0, 2), IP(10, 1, 0, 1), RS, 1 * MBPS,
						 15000, 5 * MS }), 0);
	assert_int_equal(reserve(f, (struct preq){ IP(10, 1, 0, 1), IP(10, 1, 0, 11), DL, 1 * MBPS,
						 0, 1 * MS }), 0);
	assert_int_equal(escalate(f, 1, 1), 0);
	assert_int_equal(escalate(f, 2, 1), 0);
	c = reserve_cmd(&(struct preq){ IP(10, 1, 0, 3), IP(10, 1, 0, 2), DL, 1 * MBPS, 0, 5 * MS });
	c.client_id = 5;
	c.seq = 1;
	assert_int_equal(fx_apply(f, &c), 0);
	c.client_id = 6;
	c.u.path.rate_bps = 900 * MBPS;
	assert_int_equal(fx_apply(f, &c), CONS_EREFUSED);
}

static void test_snapshot_roundtrip(void **state)
{
	struct cons_cmd c = reserve_cmd(&(struct preq){ IP(10, 1, 0, 2), IP(10, 1, 0, 3), DL,
							1 * MBPS, 0, 5 * MS });
	struct cons_result r1, r2;
	struct cons_state *copy;
	void *b1, *b2;
	size_t n1, n2;
	struct fx f;

	(void)state;
	populated(&f);
	copy = test_cons_copy(f.s);
	assert_true(cons_state_equal(copy, f.s));
	assert_int_equal(cons_state_snapshot(f.s, &b1, &n1), 0);
	assert_int_equal(cons_state_snapshot(copy, &b2, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b1);
	free(b2);
	assert_int_equal(cons_state_applied_index(copy), f.index);
	assert_int_equal(cons_state_n_paths(copy), 4);
	assert_int_equal(cons_state_path(copy, 2)->service_rate_bps,
			 cons_state_path(f.s, 2)->service_rate_bps);
	assert_int_equal(find_link(copy, "agg1", "core")->reserved_ab_bps, 2037334);
	/* both go on the same way: next id, deduplication */
	assert_int_equal(cons_state_apply(f.s, f.index + 1, &c, &r1), 0);
	assert_int_equal(cons_state_apply(copy, f.index + 1, &c, &r2), 0);
	assert_int_equal(r1.status, 0);
	assert_int_equal(r1.id, 5);
	assert_int_equal(r2.id, 5);
	c.client_id = 6;	/* a remembered refusal */
	c.seq = 1;
	assert_int_equal(cons_state_apply(copy, f.index + 2, &c, &r2), 0);
	assert_true(r2.duplicate);
	assert_int_equal(r2.status, CONS_EREFUSED);
	assert_int_equal(cons_state_apply(f.s, f.index + 2, &c, &r1), 0);
	assert_string_equal(r1.err, r2.err);
	assert_true(cons_state_equal(copy, f.s));
	/* and they differ once they do different things */
	assert_int_equal(cons_state_apply(copy, f.index + 3, &(struct cons_cmd){
		.op = CONS_OP_PATH_RELEASE, .u.ref.id = 5 }, &r2), 0);
	assert_false(cons_state_equal(copy, f.s));
	cons_state_free(copy);
	fx_close(&f);
}

/* msgpack ↔ JSON, to corrupt a snapshot field by field */
static json_t *to_json(const msgpack_object *o)
{
	json_t *j;

	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer(o->via.i64);
	case MSGPACK_OBJECT_STR:
		return json_stringn(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
	case MSGPACK_OBJECT_ARRAY:
		j = json_array();
		for (uint32_t i = 0; i < o->via.array.size; i++)
			json_array_append_new(j, to_json(&o->via.array.ptr[i]));
		return j;
	case MSGPACK_OBJECT_MAP:
		j = json_object();
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			char key[64];

			snprintf(key, sizeof(key), "%.*s", (int)o->via.map.ptr[i].key.via.str.size,
				 o->via.map.ptr[i].key.via.str.ptr);
			json_object_set_new(j, key, to_json(&o->via.map.ptr[i].val));
		}
		return j;
	default:
		fail_msg("unexpected msgpack type %d in a snapshot", o->type);
		return NULL;
	}
}

/* The snapshot as {"header": {...}, "hosts": [...], "links": [...], "vms":
 * [...], "paths": [...], "clients": [...]}, following the header's counts. */
static json_t *snapshot_json(const struct cons_state *s)
{
	static const char *const keys[] = { "hosts", "links", "vms", "paths", "clients" };
	msgpack_zone zone;
	msgpack_object obj;
	size_t len, off = 0;
	void *buf;
	json_t *j = json_object(), *header;

	assert_int_equal(cons_state_snapshot(s, &buf, &len), 0);
	msgpack_zone_init(&zone, 4096);
	assert_int_equal(msgpack_unpack(buf, len, &off, &zone, &obj), MSGPACK_UNPACK_EXTRA_BYTES);
	header = to_json(&obj);
	json_object_set_new(j, "header", header);
	for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
		json_t *a = json_array();
		json_int_t n = json_integer_value(json_object_get(header, keys[k]));

		for (json_int_t i = 0; i < n; i++) {
			int rc = msgpack_unpack(buf, len, &off, &zone, &obj);

			assert_true(rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES);
			json_array_append_new(a, to_json(&obj));
		}
		json_object_set_new(j, keys[k], a);
	}
	assert_int_equal(off, len);
	msgpack_zone_destroy(&zone);
	free(buf);
	return j;
}

static void json_snapshot(msgpack_packer *pk, const json_t *j)
{
	static const char *const keys[] = { "hosts", "links", "vms", "paths", "clients" };
	size_t i;
	json_t *v;

	test_pack_json(pk, json_object_get(j, "header"));
	for (size_t k = 0; k < ARRAY_LEN(keys); k++)
		json_array_foreach(json_object_get(j, keys[k]), i, v)
			test_pack_json(pk, v);
}

static json_t *path0(json_t *root)
{
	return json_array_get(json_object_get(root, "paths"), 0);
}

static void m_none(json_t *r) { (void)r; }
static void m_version(json_t *r)
{
	json_object_set_new(json_object_get(r, "header"), "v", json_integer(2));
}
static void m_no_vms(json_t *r) { json_object_del(json_object_get(r, "header"), "vms"); }
static void m_next_id(json_t *r)
{
	json_object_set_new(json_object_get(r, "header"), "next_path_id", json_integer(2));
}
/* one VM more than there are: the first rtpath is read as a VM */
static void m_count(json_t *r)
{
	json_t *h = json_object_get(r, "header");

	json_object_set_new(h, "vms", json_integer(json_integer_value(json_object_get(h, "vms")) + 1));
}
static void m_trailing(json_t *r)
{
	json_array_append_new(json_object_get(r, "clients"), json_integer(0));
}
static void m_net(json_t *r)
{
	json_t *p = path0(r);

	json_object_set_new(p, "net_budget_ns", json_object_get(p, "deadline_ns"));
	json_incref(json_object_get(p, "deadline_ns"));
}
/* path 3 of populated() stays on host ha */
static void m_net_same_host(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "paths"), 2), "net_budget_ns",
			    json_integer(1000));
}
static void m_route_reversed(json_t *r)
{
	json_t *route = json_object_get(path0(r), "route"), *rev = json_array();

	for (size_t i = json_array_size(route); i-- > 0;)
		json_array_append(rev, json_array_get(route, i));
	json_object_set_new(path0(r), "route", rev);
}
static void m_route_hole(json_t *r)
{
	json_array_remove(json_object_get(path0(r), "route"), 2);
}
static void m_hosts_swapped(json_t *r)
{
	json_t *h = json_object_get(r, "hosts"), *first = json_incref(json_array_get(h, 0));

	json_array_remove(h, 0);
	json_array_append_new(h, first);
}
static void m_client_status(json_t *r)
{
	json_array_set_new(json_array_get(json_object_get(r, "clients"), 0), 4, json_integer(5));
}
static void m_client_order(json_t *r)
{
	json_t *c = json_object_get(r, "clients"), *first = json_incref(json_array_get(c, 0));

	json_array_remove(c, 0);
	json_array_append_new(c, first);
}
/* 49 Mbit/s on a link that carries other paths: over its budget */
static void m_over_budget(json_t *r)
{
	json_t *p = path0(r);

	json_object_set_new(p, "rate_bps", json_integer(49 * MBPS));
	json_object_set_new(p, "service_rate_bps", json_integer(49 * MBPS));
	json_object_set_new(p, "service_rate_base_bps", json_integer(49 * MBPS));
}
/* a burst the sender's uplink cannot deliver by the deadline */
static void m_edf(json_t *r)
{
	json_object_set_new(path0(r), "burst_bytes", json_integer(1000000));
}
static void m_src_ip(json_t *r)
{
	json_object_set_new(path0(r), "src_ip", json_string("10.7.7.7"));
}
static void m_class(json_t *r) { json_object_set_new(path0(r), "tc", json_integer(7)); }
static void m_link_capacity(json_t *r)
{
	json_t *links = json_object_get(r, "links");

	for (size_t i = 0; i < json_array_size(links); i++)
		json_object_set_new(json_array_get(links, i), "capacity_ab_bps", json_integer(1000));
}
static void m_dup_path(json_t *r)
{
	json_t *h = json_object_get(r, "header");

	json_array_append(json_object_get(r, "paths"), path0(r));
	json_object_set_new(h, "paths", json_integer(json_integer_value(json_object_get(h, "paths")) + 1));
}

static void test_restore_corrupt(void **state)
{
	static const struct {
		const char *name;
		void (*mutate)(json_t *root);
		int rc;
		const char *word;
	} cases[] = {
		{ "unchanged (control)", m_none, 0, NULL },
		{ "version", m_version, -EINVAL, "\"v\"" },
		{ "vms count missing", m_no_vms, -EPROTO, "vms" },
		{ "vms count too high", m_count, -EPROTO, "vm" },
		{ "trailing record", m_trailing, -EPROTO, "after its last record" },
		{ "next_path_id below ids", m_next_id, -EINVAL, "beyond" },
		{ "net budget", m_net, -EINVAL, "network budget" },
		{ "same-host path with a network budget", m_net_same_host, -EINVAL, "network budget" },
		{ "route reversed", m_route_reversed, -EINVAL, "route" },
		{ "route with a hole", m_route_hole, -EINVAL, "link that does not exist" },
		{ "hosts out of order", m_hosts_swapped, -EINVAL, "out of order" },
		{ "client status", m_client_status, -EINVAL, "status" },
		{ "clients out of order", m_client_order, -EINVAL, "out of order" },
		{ "over budget", m_over_budget, -EINVAL, "budget" },
		{ "EDF", m_edf, -EINVAL, "EDF" },
		{ "source IP", m_src_ip, -EINVAL, "no VM" },
		{ "class", m_class, -EINVAL, "class" },
		{ "link capacity", m_link_capacity, -EINVAL, "" },
		{ "path twice", m_dup_path, -EINVAL, "repeated" },
	};
	struct fx src, dst;
	void *before;
	size_t n_before;

	(void)state;
	populated(&src);
	rack3(&dst);	/* the target has other content, which must survive */
	assert_int_equal(reserve(&dst, (struct preq){ V1, V2, DL, 2 * MBPS, 0, 5 * MS }), 0);
	assert_int_equal(cons_state_snapshot(dst.s, &before, &n_before), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *j = snapshot_json(src.s);
		char err[CONS_ERRLEN] = "";
		msgpack_sbuffer sb;
		msgpack_packer pk;
		void *after;
		size_t n_after;
		int rc;

		cases[i].mutate(j);
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		json_snapshot(&pk, j);
		json_decref(j);
		if (cases[i].rc == 0) {
			struct cons_state *t;

			assert_int_equal(cons_state_new(&t), 0);
			rc = cons_state_restore(t, sb.data, sb.size, err);
			if (rc != 0)
				fail_msg("%s: %s", cases[i].name, err);
			assert_true(cons_state_equal(t, src.s));
			cons_state_free(t);
			msgpack_sbuffer_destroy(&sb);
			continue;
		}
		rc = cons_state_restore(dst.s, sb.data, sb.size, err);
		msgpack_sbuffer_destroy(&sb);
		if (rc != cases[i].rc || strstr(err, cases[i].word) == NULL)
			fail_msg("%s: rc %d (want %d), err \"%s\" (want \"%s\")", cases[i].name, rc,
				 cases[i].rc, err, cases[i].word);
		assert_int_equal(cons_state_snapshot(dst.s, &after, &n_after), 0);
		assert_int_equal(n_after, n_before);
		assert_memory_equal(after, before, n_before);
		free(after);
	}
	free(before);
	fx_close(&src);
	fx_close(&dst);
}

/* Truncations and byte flips of a real snapshot: refused with the state
 * untouched, or accepted only as a state that passes its invariants. */
static void test_restore_garbage(void **state)
{
	uint64_t rng = 0x5eed;
	struct fx src, dst;
	void *snap, *before;
	size_t n, n_before, accepted = 0;
	char err[CONS_ERRLEN];

	(void)state;
	populated(&src);
	rack3(&dst);
	assert_int_equal(cons_state_snapshot(src.s, &snap, &n), 0);
	assert_int_equal(cons_state_snapshot(dst.s, &before, &n_before), 0);
	for (int i = 0; i < 3000; i++) {
		unsigned char *b = malloc(n);
		size_t len = n;
		int rc;

		memcpy(b, snap, n);
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		if (i < 200)
			len = (size_t)(rng >> 33) % n;	/* truncated */
		else
			b[(rng >> 33) % n] ^= (unsigned char)(1u << ((rng >> 20) % 8));
		rc = cons_state_restore(dst.s, b, len, err);
		free(b);
		if (rc == 0) {
			accepted++;
			assert_int_equal(cons_state_check(dst.s, err), 0);
			fx_close(&dst);
			rack3(&dst);
			continue;
		}
		{
			void *after;
			size_t n_after;

			assert_int_equal(cons_state_snapshot(dst.s, &after, &n_after), 0);
			assert_int_equal(n_after, n_before);
			assert_memory_equal(after, before, n_before);
			free(after);
		}
	}
	print_message("%zu of 3000 mutated snapshots were accepted (all passed the check)\n",
		      accepted);
	free(snap);
	free(before);
	fx_close(&src);
	fx_close(&dst);
}

/* ------------------------------------------------------------------------- */
/* Random command sequences                                                  */

static uint64_t rnd(uint64_t *x, uint64_t n)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (*x >> 33) % n;
}

/* One random command over a small world: hosts 1-4 (names h1-h4 on tor1
 * or tor2), switches tor1, tor2, agg, VMs v0-v5 with IPs 10.3.0.1-12,
 * rtpaths 1-40. Values come from small sets so that many commands succeed
 * and many collide. */
static struct cons_cmd random_cmd(uint64_t *x)
{
	static const char *const sw[] = { "tor1", "tor2", "agg" };
	static const uint64_t rates[] = { 100000, 2 * MBPS, 20 * MBPS, 60 * MBPS };
	struct cons_cmd c;
	uint64_t k = rnd(x, 100);

	memset(&c, 0, sizeof(c));
	if (k < 10) {
		c.op = CONS_OP_HOST_ADD;
		c.u.host = (struct cons_host){ .id = 1 + rnd(x, 4), .uplink_bps = rates[1 + rnd(x, 3)] * 5,
					       .rt_budget_ppm = 200000 + 200000 * (uint32_t)rnd(x, 4),
					       .max_frame_bytes = rnd(x, 2) ? 1500 : 9000 };
		snprintf(c.u.host.name, sizeof(c.u.host.name), "h%llu",
			 (unsigned long long)(rnd(x, 8) ? c.u.host.id : 1 + rnd(x, 4)));
		snprintf(c.u.host.uplink_to, sizeof(c.u.host.uplink_to), "%s", sw[rnd(x, 2)]);
	} else if (k < 14) {
		c.op = CONS_OP_HOST_REMOVE;
		c.u.ref.id = 1 + rnd(x, 4);
	} else if (k < 20) {
		c.op = CONS_OP_LINK_SET;
		c.u.link = (struct cons_link){ .capacity_ab_bps = rates[1 + rnd(x, 3)] * 10,
					       .capacity_ba_bps = rates[1 + rnd(x, 3)] * 10,
					       .rt_budget_ppm = 100000 + 300000 * (uint32_t)rnd(x, 3),
					       .hop_latency_ns = 10 * US * rnd(x, 3) };
		strcpy(c.u.link.a, sw[rnd(x, 3)]);
		strcpy(c.u.link.b, sw[rnd(x, 3)]);
	} else if (k < 23) {
		c.op = CONS_OP_LINK_REMOVE;
		strcpy(c.u.link.a, sw[rnd(x, 3)]);
		strcpy(c.u.link.b, sw[rnd(x, 3)]);
	} else if (k < 33) {
		c.op = CONS_OP_VM_SET;
		snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "v%llu", (unsigned long long)rnd(x, 6));
		c.u.vm.host_id = 1 + rnd(x, 4);
		c.u.vm.n_ips = (uint8_t)(1 + rnd(x, 2));
		c.u.vm.ips[0] = IP(10, 3, 0, 1 + rnd(x, 12));
		c.u.vm.ips[1] = c.u.vm.ips[0] + 1;
	} else if (k < 36) {
		c.op = CONS_OP_VM_REMOVE;
		snprintf(c.u.vm.uuid, sizeof(c.u.vm.uuid), "v%llu", (unsigned long long)rnd(x, 6));
	} else if (k < 70) {
		c.op = CONS_OP_PATH_RESERVE;
		c.u.path = (struct cons_path_req){
			.src_ip = IP(10, 3, 0, 1 + rnd(x, 12)), .dst_ip = IP(10, 3, 0, 1 + rnd(x, 12)),
			.type = rnd(x, 3) ? DL : RS, .rate_bps = rates[rnd(x, 4)],
			.burst_bytes = 1500 * (1 + rnd(x, 20)), .deadline_ns = (1 + rnd(x, 10)) * MS,
			.policy.max_level = (uint8_t)rnd(x, 5) };
		if (c.u.path.src_ip == c.u.path.dst_ip)
			c.u.path.dst_ip ^= 1;
	} else if (k < 85) {
		c.op = CONS_OP_PATH_RELEASE;
		c.u.ref.id = 1 + rnd(x, 40);
	} else {
		c.op = CONS_OP_PATH_ESCALATE;
		c.u.ref.id = 1 + rnd(x, 40);
		c.u.ref.level = (uint8_t)rnd(x, 5);
	}
	if (rnd(x, 4) == 0) {	/* some clients retry, some go back */
		c.client_id = 1 + rnd(x, 3);
		c.seq = rnd(x, 8);
	}
	return c;
}

/* Every state apply can reach passes the invariants, and restores from its
 * snapshot to an equal state (fx_apply checks both after each command). */
static void test_random_sequences(void **state)
{
	size_t admitted = 0, refused = 0, escalated = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		uint64_t x = seed;
		struct fx f;

		fx_init(&f);
		for (uint64_t h = 1; h <= 4; h++) {
			char name[8];

			snprintf(name, sizeof(name), "h%llu", (unsigned long long)h);
			assert_int_equal(host_add(&f, h, name, 100 * MBPS, 600000, h < 3 ? "tor1" : "tor2"), 0);
		}
		assert_int_equal(link_set(&f, "agg", "tor1", 1000 * MBPS, 500000, 10 * US), 0);
		assert_int_equal(link_set(&f, "agg", "tor2", 1000 * MBPS, 500000, 10 * US), 0);
		for (uint32_t v = 0; v < 6; v++) {
			char uuid[8];

			snprintf(uuid, sizeof(uuid), "v%u", v);
			assert_int_equal(vm_set(&f, uuid, 1 + v % 4, IP(10, 3, 0, 1 + 2 * v),
						IP(10, 3, 0, 2 + 2 * v)), 0);
		}
		for (int i = 0; i < 300; i++) {
			struct cons_cmd c = random_cmd(&x);
			int st = fx_apply(&f, &c);

			admitted += c.op == CONS_OP_PATH_RESERVE && st == 0 && !f.res.duplicate;
			refused += st == CONS_EREFUSED;
			escalated += c.op == CONS_OP_PATH_ESCALATE && st == 0;
		}
		fx_close(&f);
	}
	print_message("random sequences: %zu admitted, %zu refused by admission, %zu escalated\n",
		      admitted, refused, escalated);
	assert_true(admitted > 50 && refused > 50 && escalated > 10);
}

/* ------------------------------------------------------------------------- */
/* Agreement with the dataplane                                              */

/* Does host `id`'s egress set pass the dataplane's own wire-terms audit
 * (dp/dp_table.c) with the given tx-ahead allowance? The dataplane is
 * configured as rtvd configures it: Ethernet overhead 24, 1 µs buckets, NRT
 * frames of the host's max_frame_bytes. */
static bool dp_agrees(const struct cons_state *s, uint64_t id, uint64_t tx_ahead_ns)
{
	const struct cons_host *h = cons_state_host(s, id);
	size_t n = cons_state_n_paths(s);
	struct cons_rtpath *paths = calloc(n ? n : 1, sizeof(*paths));
	struct dp_table_config cfg = {
		.host_id = id, .uplink_bps = h->uplink_bps,
		.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES,
		.nrt_max_frame_bytes = h->max_frame_bytes, .edf_bucket_ns = CONS_EDF_BUCKET_NS,
		.tx_ahead_ns = tx_ahead_ns,
	};
	char err[CONS_ERRLEN];
	struct dp_table *t;
	bool ok;

	assert_non_null(paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = *cons_state_path_at(s, i);
	if (dp_table_new(&cfg, paths, n, NULL, NULL, &t, err) != 0)
		fail_msg("dataplane table for host %llu: %s", (unsigned long long)id, err);
	ok = dp_table_wire_admissible(t);
	dp_table_free(t);
	free(paths);
	return ok;
}

/* At the EDF boundary, by hand (rack3, h1's uplink, tested at 4,526.76 µs
 * where it supplies 452,676 bits; blocking 12,224 bits, leaving 440,452
 * bits = 55,056.5 B for the burst on the wire):
 *   b = 54,020 B: ⌈54,020/1500⌉ = 37 frames, 54,020 + 1,036 = 55,056 B fits
 *   (452,672 bits, 4 to spare);
 *   b = 54,021 B: 37 frames, 55,057 B does not.
 * The dataplane's audit agrees at any margin up to consensus's 251 µs, and
 * flags the set once its margin is 10 µs larger (1,000 bits less supply). */
static void test_dataplane_boundary(void **state)
{
	struct fx f;

	(void)state;
	rack3(&f);
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 1 * MBPS, 54021, 5 * MS }),
			 CONS_EREFUSED);
	EXPECT(&f, CONS_EREFUSED, "uplink of h1", "452.68 kbit", "452.676 kbit");
	assert_int_equal(reserve(&f, (struct preq){ V1, V2, DL, 1 * MBPS, 54020, 5 * MS }), 0);
	assert_true(dp_agrees(f.s, 1, CONS_TX_AHEAD_MAX_NS));
	assert_true(dp_agrees(f.s, 1, 0));
	assert_false(dp_agrees(f.s, 1, CONS_TX_AHEAD_MAX_NS + 10 * US));
	/* a reservation path beside it: no EDF room left, refused */
	assert_int_equal(reserve(&f, (struct preq){ V1, V3, RS, 1 * MBPS, 1500, 5 * MS }),
			 CONS_EREFUSED);
	fx_close(&f);
}

/* Reserves q with the largest burst (between one packet and 200,000 B)
 * that admission takes, by bisection: admitted probes are released, so the
 * set ends within a byte of the EDF boundary. Returns the path's id, or 0
 * if even one packet is refused. */
static uint64_t reserve_tightest(struct fx *f, struct preq q)
{
	uint64_t lo = q.max_pkt_bytes ? q.max_pkt_bytes : 1500, hi = 200000;

	q.burst_bytes = lo;
	if (reserve(f, q) != 0)
		return 0;
	assert_int_equal(release(f, f->res.id), 0);
	while (hi - lo > 1) {	/* lo admitted, hi (or above) not known to be */
		uint64_t mid = lo + (hi - lo) / 2;

		q.burst_bytes = mid;
		if (reserve(f, q) == 0) {
			assert_int_equal(release(f, f->res.id), 0);
			lo = mid;
		} else {
			hi = mid;
		}
	}
	q.burst_bytes = lo;
	assert_int_equal(reserve(f, q), 0);
	return f->res.id;
}

/* Whatever consensus admits, the dataplane that enforces it finds
 * admissible in its own wire terms. Paths of both types, packet sizes from
 * 64 to 1500 bytes, each with the largest burst admission takes, then some
 * escalations: after each, every host's egress set passes
 * dp_table_wire_admissible with the largest tx-ahead consensus allows and
 * with none (a smaller margin moves the reservation paths' D_min later, the
 * case the extra byte of cadmit.c (c) is for). The sets are tight: a
 * dataplane margin 10 µs beyond consensus's flags some of them. */
static void test_dataplane_agrees(void **state)
{
	static const uint32_t pkts[] = { 0, 64, 200, 1500 };
	size_t checked = 0, flagged_wider = 0, admitted = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		uint64_t x = seed;
		struct fx f;

		rack3(&f);
		f.light = true;
		for (int i = 0; i < 40; i++) {
			static const uint32_t vms[] = { V1, V2, V3 };
			uint32_t src = vms[rnd(&x, 3)], dst = vms[rnd(&x, 3)];
			struct preq q = { src, dst == src ? V1B : dst, rnd(&x, 3) ? DL : RS,
					  100000 + rnd(&x, 3000000), 0, 300 * US + rnd(&x, 4700) * US,
					  pkts[rnd(&x, 4)] };
			uint64_t id;

			if (q.dst == V1B && q.src == V1)
				continue;	/* same host: the dataplane skips it */
			id = reserve_tightest(&f, q);
			admitted += id != 0;
			if (id != 0 && rnd(&x, 4) == 0)
				escalate(&f, 1 + rnd(&x, id), (uint8_t)(1 + rnd(&x, 2)));
			for (uint64_t h = 1; h <= 3; h++) {
				if (!dp_agrees(f.s, h, CONS_TX_AHEAD_MAX_NS) || !dp_agrees(f.s, h, 0))
					fail_msg("seed %llu, step %d: host h%llu's admitted set fails "
						 "the dataplane's audit", (unsigned long long)seed, i,
						 (unsigned long long)h);
				flagged_wider += !dp_agrees(f.s, h, CONS_TX_AHEAD_MAX_NS + 10 * US);
				checked++;
			}
		}
		fx_close(&f);
	}
	print_message("%zu paths admitted at their largest burst; %zu egress sets pass the "
		      "dataplane's audit, %zu of them fail it with a 10 µs wider margin\n",
		      admitted, checked, flagged_wider);
	assert_true(admitted > 25 && flagged_wider > 20);
}

/* ------------------------------------------------------------------------- */
/* Scale                                                                     */

/* 10,000 rtpaths over 40 hosts: each uplink carries 250 senders' EDF test
 * and 250 receivers' downlink sums. */
static void test_10k(void **state)
{
	struct cons_state *copy;
	char err[CONS_ERRLEN];
	struct fx f;

	(void)state;
	fx_init(&f);
	f.light = true;
	for (uint64_t h = 1; h <= 40; h++) {
		char name[16], uuid[16];

		snprintf(name, sizeof(name), "h%02llu", (unsigned long long)h);
		snprintf(uuid, sizeof(uuid), "vm%02llu", (unsigned long long)h);
		assert_int_equal(host_add(&f, h, name, 10000 * MBPS, 500000, ""), 0);
		assert_int_equal(vm_set(&f, uuid, h, IP(10, 2, 0, h), 0), 0);
	}
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t s = i % 40, d = (s + 1 + (i / 40) % 39) % 40;
		struct preq q = { IP(10, 2, 0, s + 1), IP(10, 2, 0, d + 1), i % 5 ? DL : RS,
				  100000 + i, 1500 * (1 + i % 4), (2 + i % 7) * MS };

		if (reserve(&f, q) != 0)
			fail_msg("reservation %u refused: %s", i, f.res.err);
	}
	assert_int_equal(cons_state_n_paths(f.s), 10000);
	if (cons_state_check(f.s, err) != 0)
		fail_msg("%s", err);
	copy = test_cons_copy(f.s);
	assert_true(cons_state_equal(copy, f.s));
	cons_state_free(copy);
	for (uint64_t id = 1; id <= 10000; id += 2)
		assert_int_equal(release(&f, id), 0);
	assert_int_equal(cons_state_n_paths(f.s), 5000);
	if (cons_state_check(f.s, err) != 0)
		fail_msg("%s", err);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_vms),
		cmocka_unit_test(test_vm_mtu),
		cmocka_unit_test(test_admission_table),
		cmocka_unit_test(test_admitted_fields),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_host_uplink_latency),
		cmocka_unit_test(test_escalate_deadline),
		cmocka_unit_test(test_escalate_reservation),
		cmocka_unit_test(test_idempotent_retry),
		cmocka_unit_test(test_dedup_bound),
		cmocka_unit_test(test_index_order),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_snapshot_roundtrip),
		cmocka_unit_test(test_restore_corrupt),
		cmocka_unit_test(test_restore_garbage),
		cmocka_unit_test(test_random_sequences),
		cmocka_unit_test(test_dataplane_boundary),
		cmocka_unit_test(test_dataplane_agrees),
		cmocka_unit_test(test_10k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
