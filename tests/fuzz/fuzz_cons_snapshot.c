/* fuzz_cons_snapshot.c — cons_state_restore on arbitrary bytes.
 *
 * The target state holds a small rack (hosts, a switch link, VMs, rtpaths
 * of both types, a deduplication entry). Properties: restore never crashes
 * or reads out of bounds; when it fails the state is byte-for-byte what it
 * was (its snapshot is unchanged); when it succeeds the state passes
 * cons_state_check and its own snapshot restores to an equal state.
 * Seeds: snapshots of an empty state and of that rack.
 */
// fuzz-modules: sched common pki consensus
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/consensus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void *base_snap;
static size_t base_len;

static void apply_or_die(struct cons_state *s, uint64_t index, struct cons_cmd *c)
{
	struct cons_result r;

	if (cons_state_apply(s, index, c, &r) != 0 || r.status != 0)
		abort();
	memset(c, 0, sizeof(*c));
}

static void build_base(void)
{
	struct cons_state *s;
	struct cons_cmd c;
	uint64_t index = 0;

	if (cons_state_new(&s) != 0)
		abort();
	memset(&c, 0, sizeof(c));
	for (int i = 1; i <= 2; i++) {
		c.op = CONS_OP_HOST_ADD;
		c.u.host = (struct cons_host){ .id = (uint64_t)i, .uplink_bps = 100000000,
					       .rt_budget_ppm = 500000, .max_frame_bytes = 1500 };
		strcpy(c.u.host.name, i == 1 ? "h1" : "h2");
		strcpy(c.u.host.uplink_to, i == 1 ? "tor1" : "tor2");
		apply_or_die(s, ++index, &c);
		c.op = CONS_OP_VM_SET;
		c.u.vm.host_id = (uint64_t)i;
		strcpy(c.u.vm.uuid, i == 1 ? "vm1" : "vm2");
		c.u.vm.ips[0] = IP(10, 0, 0, i);
		c.u.vm.n_ips = 1;
		apply_or_die(s, ++index, &c);
	}
	c.op = CONS_OP_LINK_SET;
	c.u.link = (struct cons_link){ .capacity_ab_bps = 1000000000, .capacity_ba_bps = 1000000000,
				       .rt_budget_ppm = 500000, .hop_latency_ns = 10000 };
	strcpy(c.u.link.a, "tor1");
	strcpy(c.u.link.b, "tor2");
	apply_or_die(s, ++index, &c);
	for (int i = 0; i < 2; i++) {
		c.op = CONS_OP_PATH_RESERVE;
		c.client_id = 9;
		c.seq = (uint64_t)i;
		c.u.path = (struct cons_path_req){ .src_ip = IP(10, 0, 0, 1 + i),
						   .dst_ip = IP(10, 0, 0, 2 - i),
						   .type = i ? CONS_PATH_RESERVATION : CONS_PATH_DEADLINE,
						   .rate_bps = 2000000, .burst_bytes = 6000,
						   .deadline_ns = 5000000, .policy.max_level = 2 };
		apply_or_die(s, ++index, &c);
	}
	if (cons_state_snapshot(s, &base_snap, &base_len) != 0)
		abort();
	cons_state_free(s);
}

static bool snapshot_is(const struct cons_state *s, const void *want, size_t len)
{
	void *buf = NULL;
	size_t n = 0;
	bool eq = cons_state_snapshot(s, &buf, &n) == 0 && n == len && memcmp(buf, want, n) == 0;

	free(buf);
	return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cons_state *s, *again;
	char err[CONS_ERRLEN];
	void *buf;
	size_t len;

	if (base_snap == NULL)
		build_base();
	if (cons_state_new(&s) != 0 || cons_state_restore(s, base_snap, base_len, err) != 0)
		abort();
	if (cons_state_restore(s, data, size, err) != 0) {
		if (!snapshot_is(s, base_snap, base_len))
			abort();	/* a failed restore changed the state */
		cons_state_free(s);
		return 0;
	}
	if (cons_state_check(s, err) != 0 || cons_state_snapshot(s, &buf, &len) != 0)
		abort();
	if (cons_state_new(&again) != 0 || cons_state_restore(again, buf, len, err) != 0 ||
	    !cons_state_equal(s, again))
		abort();
	free(buf);
	cons_state_free(again);
	cons_state_free(s);
	return 0;
}
