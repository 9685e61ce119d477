/* fuzz_dp_pkt.c — the dataplane's frame code (dp/dp_pkt.c) on arbitrary
 * frames, as either thread would see them.
 *
 * The input is copied into a buffer of exactly its size with DP_HEADROOM
 * bytes in front (where the label is pushed), so ASan catches any read past
 * the frame. Properties:
 *  - parse: an IPv4 result describes a header inside the frame;
 *  - push then pop gives the original frame back, byte for byte;
 *  - pop of an arbitrary frame either leaves it untouched or yields an
 *    IPv4-ethertype frame 4 bytes shorter, and pushing the same label stack
 *    entry back restores the input;
 *  - setting a DSCP keeps a valid IPv4 header checksum valid;
 *  - an ICMP frag-needed built for any parsed frame has valid IP and ICMP
 *    checksums and stays within 576 bytes of IP;
 *  - label serial arithmetic is antisymmetric away from the half-way point.
 */
// fuzz-modules: sched common dp
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp/dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_parse(const uint8_t *f, size_t n, const struct dp_parsed *p,
			enum dp_parse_status st)
{
	if (st != DP_PARSE_IPV4)
		return;
	CHECK(p->l3_off == DP_ETH_HLEN);
	CHECK(p->ip_hlen >= 20 && p->ip_hlen <= 60);
	CHECK(p->ip_tot_len >= p->ip_hlen && DP_ETH_HLEN + (size_t)p->ip_tot_len <= n);
	CHECK(p->key.pad == 0);
	CHECK(!p->later_fragment || p->key.dport == 0);
	(void)f;
}

static void check_push_pop(uint8_t *f, size_t n, const struct dp_parsed *p, uint32_t label)
{
	uint8_t *copy = malloc(n), *g, *h = NULL;
	struct dp_mpls m;

	if (!copy)
		return;
	memcpy(copy, f, n);
	g = dp_mpls_push(f, n, p, label, (uint8_t)label, 0);
	CHECK(g == f - DP_MPLS_HLEN);
	CHECK(dp_mpls_pop(g, n + DP_MPLS_HLEN, &m, &h) == DP_POP_OK);
	CHECK(h == f && m.label == (label & (DP_LABEL_MOD - 1)) && m.tc == (label & 7));
	CHECK(memcmp(f, copy, n) == 0);
	free(copy);
}

static void check_pop(uint8_t *f, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1), *h = NULL, *g;
	struct dp_mpls m;
	struct dp_parsed p;
	enum dp_pop_status st;

	if (!copy)
		return;
	memcpy(copy, f, n);
	st = dp_mpls_pop(f, n, &m, &h);
	if (st != DP_POP_OK) {
		CHECK(memcmp(f, copy, n) == 0);
		free(copy);
		return;
	}
	CHECK(h == f + DP_MPLS_HLEN && h[12] == 0x08 && h[13] == 0x00);
	/* push the same entry back: the input again (an explicit TTL of 0
	 * would mean "copy", so only when the TTL is not 0) */
	if (m.ttl != 0) {
		memset(&p, 0, sizeof(p));
		g = dp_mpls_push(h, n - DP_MPLS_HLEN, &p, m.label, m.tc, m.ttl);
		CHECK(g == f && memcmp(f, copy, n) == 0);
	}
	free(copy);
}

static void check_dscp(uint8_t *f, const struct dp_parsed *p, uint8_t dscp)
{
	const uint8_t *ip = f + p->l3_off;
	bool valid = dp_csum(ip, p->ip_hlen) == 0;

	dp_pkt_set_dscp(f, p, dscp);
	CHECK(ip[1] >> 2 == (dscp & 63));
	if (valid)
		CHECK(dp_csum(ip, p->ip_hlen) == 0);
}

static void check_icmp(const uint8_t *f, size_t n, const struct dp_parsed *p)
{
	uint8_t out[1024];
	size_t rl = dp_icmp_frag_needed(out, sizeof(out), f, n, p, 0x0a000101, 1496);

	if (!rl)
		return;
	CHECK(rl >= 14 + 28 && rl - 14 <= 576);
	CHECK(dp_csum(out + 14, 20) == 0);
	CHECK(dp_csum(out + 34, rl - 34) == 0);
	CHECK(out[34] == 3 && out[35] == 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(DP_HEADROOM + size), *f;
	struct dp_parsed p;
	enum dp_parse_status st;
	uint32_t label = size >= 4 ? (uint32_t)data[0] << 16 | data[1] << 8 | data[2] : 0;

	if (!buf)
		return 0;
	f = buf + DP_HEADROOM;
	memcpy(f, data, size);

	st = dp_pkt_parse(f, size, &p);
	check_parse(f, size, &p, st);
	if (st == DP_PARSE_IPV4) {
		check_icmp(f, size, &p);
		check_push_pop(f, size, &p, label);
		check_dscp(f, &p, (uint8_t)label);
	}
	memcpy(f, data, size);
	check_pop(f, size);

	if (size >= 9) {	/* the TTL-extended deadline reads any offset within ±2^26 µs */
		uint64_t dl = 0;
		int32_t off = (int32_t)((uint32_t)data[5] << 24 | (uint32_t)data[6] << 16 |
					(uint32_t)data[7] << 8 | data[8]) >> 6;

		for (int i = 0; i < 5; i++)
			dl = dl << 8 | data[i];
		dl += 1ull << 40;
		CHECK(dp_deadline_diff_us(dl + (uint64_t)(int64_t)off, dp_label_of_us(dl),
					  dp_ttl_of_us(dl)) == off);
	}
	if (dp_label_diff_us(label, label >> 4) != -(int32_t)DP_LABEL_MOD / 2)
		CHECK(dp_label_diff_us(label, label >> 4) == -dp_label_diff_us(label >> 4, label));
	free(buf);
	return 0;
}
