// fuzz-modules: common gossip
/* fuzz_gossip.c — a gossip member fed arbitrary datagrams, as anyone who
 * can reach its UDP port could send them.
 *
 * Properties: no crash, leak or unbounded allocation on any input (ASan and
 * libFuzzer's malloc limit watch); a refused datagram comes with a message
 * and leaves the member table exactly as it was; an accepted one leaves a
 * table whose every member passes the decoder's own checks. The member
 * knows two peers, so alive/suspect/dead/facts/push-pull paths all run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/internal.h"

static uint64_t clock_ns = 1000000000ull, rnd = 1;

static uint64_t op_now(void *d) { (void)d; return clock_ns; }
static uint64_t op_random(void *d) { (void)d; rnd = rnd * 6364136223846793005ull + 1; return rnd >> 11; }
static int op_send(void *d, const struct gossip_addr *to, const void *b, size_t n)
{
	(void)d; (void)to; (void)b; (void)n;
	return 0;
}

static struct gossip *member(void)
{
	struct gossip_config c;
	struct gossip_ops ops = { .now_ns = op_now, .random = op_random, .send = op_send };
	struct gossip *g;
	char err[GOSSIP_ERRLEN];
	struct gossip_addr a = { 0x0a000002, 7946 };

	gossip_config_default(&c);
	strcpy(c.name, "h0");
	c.addr = (struct gossip_addr){ 0x0a000001, 7946 };
	if (gossip_new(&c, &ops, &g, err))
		abort();
	if (!gossip__add(g, "h1", &a, 0))
		abort();
	a.ip++;
	if (!gossip__add(g, "h2", &a, 3))
		abort();
	return g;
}

static void check_member(const struct gossip_member *m)
{
	if (!gossip__name_ok(m->name, strlen(m->name)) || m->state > GOSSIP_LEFT ||
	    !m->addr.ip || !m->addr.port || (m->facts_seq && gossip__facts_check(&m->facts)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gossip *g = member();
	struct gossip_addr from = { 0x0a000002, 7946 };
	struct gossip_member before[3], m;
	int rc;

	for (size_t i = 0; i < 3; i++)
		gossip_member_get(g, i, &before[i]);
	rc = gossip_recv(g, &from, data, size);
	if (rc != 0) {
		if (gossip_last_error(g)[0] == '\0' || gossip_count(g) != 3)
			abort();
		for (size_t i = 0; i < 3; i++) {
			gossip_member_get(g, i, &m);
			if (memcmp(&m, &before[i], sizeof(m)) != 0)
				abort();
		}
	}
	for (size_t i = 0; i < gossip_count(g); i++) {
		gossip_member_get(g, i, &m);
		check_member(&m);
	}
	clock_ns += 600000000ull;	/* run the timers the datagram may have set */
	gossip_tick(g);
	gossip_free(g);
	return 0;
}
