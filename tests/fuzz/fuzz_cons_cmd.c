/* fuzz_cons_cmd.c — cons_cmd_decode on arbitrary bytes.
 *
 * Properties: the decoder never crashes or reads out of bounds (ASan); a
 * command it accepts re-encodes, and decoding that encoding gives the same
 * struct; applying it to a small rack (two hosts, three VMs, a few rtpaths)
 * never fails except for memory and leaves a state that passes
 * cons_state_check and whose snapshot restores to an equal state. Seeds:
 * one encoded command per op.
 */
// fuzz-modules: sched common pki consensus
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/consensus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void *rack_snap;
static size_t rack_len;

static void apply_or_die(struct cons_state *s, uint64_t index, const struct cons_cmd *c)
{
	struct cons_result r;

	if (cons_state_apply(s, index, c, &r) != 0 || r.status != 0)
		abort();
}

/* h1, h2 on "tor" (100 Mbit/s, 50 %); vm1 10.0.0.1 and vm3 10.0.0.3 on h1,
 * vm2 10.0.0.2 on h2; two rtpaths, one of each type. */
static void build_rack(void)
{
	struct cons_state *s;
	struct cons_cmd c;
	uint64_t index = 0;

	if (cons_state_new(&s) != 0)
		abort();
	for (int i = 1; i <= 2; i++) {
		memset(&c, 0, sizeof(c));
		c.op = CONS_OP_HOST_ADD;
		c.u.host = (struct cons_host){ .id = (uint64_t)i, .uplink_bps = 100000000,
					       .rt_budget_ppm = 500000, .max_frame_bytes = 1500 };
		c.u.host.name[0] = 'h';
		c.u.host.name[1] = (char)('0' + i);
		apply_or_die(s, ++index, &c);
	}
	for (int i = 1; i <= 3; i++) {
		memset(&c, 0, sizeof(c));
		c.op = CONS_OP_VM_SET;
		c.u.vm.host_id = i == 2 ? 2 : 1;
		c.u.vm.uuid[0] = 'v';
		c.u.vm.uuid[1] = (char)('0' + i);
		c.u.vm.ips[0] = IP(10, 0, 0, i);
		c.u.vm.n_ips = 1;
		apply_or_die(s, ++index, &c);
	}
	for (int i = 0; i < 2; i++) {
		memset(&c, 0, sizeof(c));
		c.op = CONS_OP_PATH_RESERVE;
		c.u.path = (struct cons_path_req){ .src_ip = IP(10, 0, 0, 1 + i),
						   .dst_ip = IP(10, 0, 0, 2 - i),
						   .type = i ? CONS_PATH_RESERVATION : CONS_PATH_DEADLINE,
						   .rate_bps = 2000000, .burst_bytes = 6000,
						   .deadline_ns = 5000000, .policy.max_level = 4 };
		apply_or_die(s, ++index, &c);
	}
	if (cons_state_snapshot(s, &rack_snap, &rack_len) != 0)
		abort();
	cons_state_free(s);
}

static void apply_to_rack(const struct cons_cmd *cmd)
{
	struct cons_state *s, *t;
	void *buf;
	size_t len;
	struct cons_result r;
	char err[CONS_ERRLEN];

	if (cons_state_new(&s) != 0 || cons_state_restore(s, rack_snap, rack_len, err) != 0)
		abort();
	if (cons_state_apply(s, cons_state_applied_index(s) + 1, cmd, &r) != 0)
		abort();
	if (cons_state_check(s, err) != 0)
		abort();
	/* whatever apply can reach, restore must accept */
	if (cons_state_snapshot(s, &buf, &len) != 0 || cons_state_new(&t) != 0 ||
	    cons_state_restore(t, buf, len, err) != 0 || !cons_state_equal(s, t))
		abort();
	free(buf);
	cons_state_free(t);
	cons_state_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cons_cmd a, b;
	char err[CONS_ERRLEN];
	void *buf = NULL;
	size_t len = 0;

	if (rack_snap == NULL)
		build_rack();
	if (cons_cmd_decode(data, size, &a, err) != 0)
		return 0;
	if (cons_cmd_encode(&a, &buf, &len, err) != 0)
		abort();
	if (cons_cmd_decode(buf, len, &b, err) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(buf);
	apply_to_rack(&a);
	return 0;
}
