/* test_dp_pkt.c — frames (dp/dp_pkt.c): parse, MPLS push/pop, DSCP with
 * an incremental checksum, ICMP fragmentation-needed. Frames are built by
 * hand here; checksums are checked against a full recomputation. */
#include "common/bytes.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dp/dp.h"

#define put16(p, v) rtv_put_be(p, v, 2)
#define put32(p, v) rtv_put_be(p, v, 4)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0x01, 0x01 };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0x02, 0x01 };

struct frame_spec {
	uint32_t src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t payload;	/* L4 payload bytes */
	uint8_t tos, ttl;
	uint16_t frag;		/* flags + offset word */
	uint8_t ihl;		/* 0: 5 */
};

/* Writes an Ethernet/IPv4/L4 frame at buf; returns its length. */
static size_t build(uint8_t *buf, const struct frame_spec *s)
{
	uint8_t ihl = s->ihl ? s->ihl : 5, *ip = buf + 14, *l4 = ip + ihl * 4;
	size_t l4_hdr = s->proto == 6 ? 20 : s->proto == 17 ? 8 : 0;
	size_t tot = (size_t)ihl * 4 + l4_hdr + s->payload;

	memcpy(buf, MAC_B, 6);
	memcpy(buf + 6, MAC_A, 6);
	put16(buf + 12, 0x0800);
	memset(ip, 0, (size_t)ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	ip[1] = s->tos;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, 0x1234);
	put16(ip + 6, s->frag);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = s->proto;
	put32(ip + 12, s->src);
	put32(ip + 16, s->dst);
	put16(ip + 10, dp_csum(ip, (size_t)ihl * 4));
	memset(l4, 0, l4_hdr);
	if (l4_hdr) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[l4_hdr + i] = (uint8_t)(i * 7 + 3);
	return 14 + tot;
}

static const struct frame_spec UDP = {
	.src = IP(10, 0, 1, 11), .dst = IP(10, 0, 2, 11), .proto = 17,
	.sport = 40000, .dport = 5000, .payload = 100, .tos = 0, .ttl = 61,
};

static void test_parse_udp_tcp(void **state)
{
	uint8_t f[2048];
	struct dp_parsed p;
	struct frame_spec s = UDP;
	size_t n = build(f, &s);

	(void)state;
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(p.key.src_ip, IP(10, 0, 1, 11));
	assert_int_equal(p.key.dst_ip, IP(10, 0, 2, 11));
	assert_int_equal(p.key.proto, 17);
	assert_int_equal(p.key.dport, 5000);
	assert_int_equal(p.key.pad, 0);
	assert_int_equal(p.ip_hlen, 20);
	assert_int_equal(p.ip_tot_len, 128);
	assert_int_equal(p.ip_ttl, 61);
	assert_int_equal(p.ip_id, 0x1234);
	assert_false(p.ip_df);

	/* TCP with IP options (IHL 7): the port is found past the options */
	s.proto = 6;
	s.ihl = 7;
	s.dport = 443;
	s.frag = 0x4000;
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(p.key.proto, 6);
	assert_int_equal(p.key.dport, 443);
	assert_int_equal(p.ip_hlen, 28);
	assert_true(p.ip_df);

	/* trailing Ethernet padding beyond tot_len is fine */
	s = UDP;
	s.payload = 0;
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, 60, &p), DP_PARSE_IPV4);
	assert_int_equal(p.ip_tot_len, 28);
	(void)n;
}

static void test_parse_fragments_and_others(void **state)
{
	uint8_t f[2048];
	struct dp_parsed p;
	struct frame_spec s = UDP;
	size_t n;

	(void)state;
	s.frag = 100;	/* offset 800 bytes: no UDP header here */
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_true(p.later_fragment);
	assert_int_equal(p.key.dport, 0);

	s.frag = 0x2000;	/* first fragment (MF): has the header */
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_false(p.later_fragment);
	assert_int_equal(p.key.dport, 5000);

	s = UDP;
	s.proto = 1;	/* ICMP: no port */
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(p.key.dport, 0);

	assert_int_equal(dp_pkt_parse(f, 13, &p), DP_PARSE_RUNT);
	put16(f + 12, 0x0806);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_OTHER);
	put16(f + 12, 0x86dd);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_OTHER);
	put16(f + 12, 0x8100);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_OTHER);
	put16(f + 12, 0x8847);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_MPLS);
}

static void test_parse_bad_ip(void **state)
{
	uint8_t f[2048];
	struct dp_parsed p;
	size_t n = build(f, &UDP);

	(void)state;
	assert_int_equal(dp_pkt_parse(f, 14 + 19, &p), DP_PARSE_BAD_IP);	/* short */
	assert_int_equal(dp_pkt_parse(f, n - 1, &p), DP_PARSE_BAD_IP);	/* tot_len > frame */
	f[14] = 0x44;	/* IHL 4 */
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_BAD_IP);
	f[14] = 0x65;	/* version 6 */
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_BAD_IP);
	f[14] = 0x4f;	/* IHL 15: a 60-byte header in a 40-byte datagram */
	put16(f + 16, 40);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_BAD_IP);
}

/* RFC 1624 §4's worked example: HC 0xDD2F, m 0x5555 → m' 0x3285 gives
 * HC' 0x0000 (eqn. 3; eqn. 2 would give 0xFFFF). */
static void test_csum_rfc1624(void **state)
{
	(void)state;
	assert_int_equal(dp_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every DSCP on many random headers: the incrementally fixed checksum is
 * the one a full recomputation gives, and a header still verifies to 0. */
static void test_set_dscp(void **state)
{
	uint8_t f[2048];
	struct dp_parsed p;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct frame_spec s = UDP;
		uint8_t dscp = (uint8_t)(rng(&seed) & 63);
		uint16_t want, got;
		size_t n;

		s.src = (uint32_t)rng(&seed);
		s.dst = (uint32_t)rng(&seed);
		s.tos = (uint8_t)rng(&seed);
		s.ttl = (uint8_t)(rng(&seed) | 1);
		n = build(f, &s);
		assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
		dp_pkt_set_dscp(f, &p, dscp);
		assert_int_equal(f[15] >> 2, dscp);
		assert_int_equal(f[15] & 3, s.tos & 3);	/* ECN kept */
		assert_int_equal(dp_csum(f + 14, 20), 0);
		got = (uint16_t)(f[24] << 8 | f[25]);
		f[24] = f[25] = 0;
		want = dp_csum(f + 14, 20);
		assert_int_equal(got, want);
	}
}

static void test_push_pop_roundtrip(void **state)
{
	uint8_t buf[2048], orig[2048], *f = buf + DP_HEADROOM, *g, *h;
	struct dp_parsed p;
	struct dp_mpls m;
	size_t n = build(f, &UDP);

	(void)state;
	memcpy(orig, f, n);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	g = dp_mpls_push(f, n, &p, 0xabcde, 5, 0);
	assert_ptr_equal(g, f - 4);
	assert_memory_equal(g, MAC_B, 6);
	assert_memory_equal(g + 6, MAC_A, 6);
	assert_int_equal(g[12], 0x88);
	assert_int_equal(g[13], 0x47);
	/* label 0xabcde, TC 5, S 1, TTL 61 (copied) */
	assert_int_equal(g[14], 0xab);
	assert_int_equal(g[15], 0xcd);
	assert_int_equal(g[16], (0xe << 4) | (5 << 1) | 1);
	assert_int_equal(g[17], 61);
	assert_memory_equal(g + 18, orig + 14, n - 14);
	assert_int_equal(dp_pkt_parse(g, n + 4, &p), DP_PARSE_MPLS);

	assert_int_equal(dp_mpls_pop(g, n + 4, &m, &h), DP_POP_OK);
	assert_ptr_equal(h, f);
	assert_int_equal(m.label, 0xabcde);
	assert_int_equal(m.tc, 5);
	assert_int_equal(m.ttl, 61);
	assert_memory_equal(h, orig, n);

	/* an explicit TTL and a label wider than 20 bits (masked) */
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	g = dp_mpls_push(f, n, &p, 0x1fffff, 7, 64);
	assert_int_equal(dp_mpls_pop(g, n + 4, &m, &h), DP_POP_OK);
	assert_int_equal(m.label, 0xfffff);
	assert_int_equal(m.tc, 7);
	assert_int_equal(m.ttl, 64);
	assert_int_equal(dp_label_of_us(1ull << 40 | 12345), 12345);
}

static void test_pop_rejects(void **state)
{
	uint8_t buf[2048], copy[2048], *f = buf + DP_HEADROOM, *g, *h = NULL;
	struct dp_parsed p;
	struct dp_mpls m;
	size_t n = build(f, &UDP);

	(void)state;
	memcpy(copy, f, n);
	assert_int_equal(dp_mpls_pop(f, n, &m, &h), DP_POP_NOT_MPLS);
	assert_memory_equal(f, copy, n);
	assert_int_equal(dp_mpls_pop(f, 10, &m, &h), DP_POP_NOT_MPLS);

	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	g = dp_mpls_push(f, n, &p, 77, 5, 0);
	memcpy(copy, g, n + 4);

	g[16] &= (uint8_t)~1;	/* S = 0: a stack of more labels */
	copy[16] &= (uint8_t)~1;
	assert_int_equal(dp_mpls_pop(g, n + 4, &m, &h), DP_POP_MULTI);
	assert_memory_equal(g, copy, n + 4);
	g[16] |= 1;
	copy[16] |= 1;

	g[18] = 0x60;	/* IPv6 inside */
	copy[18] = 0x60;
	assert_int_equal(dp_mpls_pop(g, n + 4, &m, &h), DP_POP_NOT_IPV4);
	assert_memory_equal(g, copy, n + 4);
	g[18] = 0x45;

	assert_int_equal(dp_mpls_pop(g, 14 + 4 + 19, &m, &h), DP_POP_RUNT);
	assert_int_equal(dp_mpls_pop(g, 16, &m, &h), DP_POP_RUNT);
	assert_null(h);
}

static void check_icmp(const uint8_t *r, size_t rl, const uint8_t *f, size_t quote,
		       uint32_t src, uint16_t mtu)
{
	const uint8_t *ip = r + 14, *icmp = ip + 20;

	assert_int_equal(rl, 14 + 20 + 8 + quote);
	assert_memory_equal(r, f + 6, 6);
	assert_memory_equal(r + 6, f, 6);
	assert_int_equal(r[12] << 8 | r[13], 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[2] << 8 | ip[3], 20 + 8 + quote);
	assert_int_equal(ip[9], 1);
	assert_int_equal(dp_csum(ip, 20), 0);	/* IP checksum verifies */
	assert_int_equal((uint32_t)ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15], src);
	assert_memory_equal(ip + 16, f + 14 + 12, 4);	/* to the original source */
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 4);
	assert_int_equal(icmp[4] << 8 | icmp[5], 0);
	assert_int_equal(icmp[6] << 8 | icmp[7], mtu);
	assert_int_equal(dp_csum(icmp, 8 + quote), 0);	/* ICMP checksum verifies */
	assert_memory_equal(icmp + 8, f + 14, quote);
}

static void test_icmp_frag_needed(void **state)
{
	uint8_t f[2048], r[1024];
	struct dp_parsed p;
	struct frame_spec s = UDP;
	uint32_t host = IP(10, 0, 1, 1);
	size_t n, rl;

	(void)state;
	s.payload = 1500 - 28;	/* a full 1500-byte datagram with DF */
	s.frag = 0x4000;
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	rl = dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496);
	check_icmp(r, rl, f, DP_ICMP_QUOTE_MAX, host, 1496);
	assert_int_equal(rl - 14, 576);	/* RFC 1812's limit exactly */

	/* a short datagram is quoted whole */
	s.payload = 10;
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	rl = dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496);
	check_icmp(r, rl, f, 38, host, 1496);
	assert_int_equal(dp_icmp_frag_needed(r, rl - 1, f, n, &p, host, 1496), 0);

	/* never about an ICMP error, a later fragment, or a multicast source */
	s = UDP;
	s.proto = 1;
	n = build(f, &s);
	f[14 + 20] = 3;
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496), 0);
	f[14 + 20] = 8;	/* an echo request is answered */
	assert_int_not_equal(dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496), 0);
	s = UDP;
	s.frag = 10;
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496), 0);
	s = UDP;
	s.src = IP(224, 0, 0, 5);
	n = build(f, &s);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_icmp_frag_needed(r, sizeof(r), f, n, &p, host, 1496), 0);
}

static void test_label_serial(void **state)
{
	(void)state;
	assert_int_equal(dp_label_diff_us(100, 100), 0);
	assert_int_equal(dp_label_diff_us(150, 100), 50);	/* 50 µs late */
	assert_int_equal(dp_label_diff_us(100, 150), -50);	/* 50 µs early */
	/* across the wrap */
	assert_int_equal(dp_label_diff_us(5, DP_LABEL_MOD - 5), 10);
	assert_int_equal(dp_label_diff_us(DP_LABEL_MOD - 5, 5), -10);
	/* half the space: the most negative */
	assert_int_equal(dp_label_diff_us(0, 1u << 19), -(1 << 19));
	assert_int_equal(dp_label_diff_us((1u << 19) - 1, 0), (1 << 19) - 1);
}

/* The deadline extended by the TTL's 7 bits: ±2^26 µs (67 s). */
static void test_deadline_ext(void **state)
{
	uint64_t dl = 1700000000ull * 1000000 + 777;	/* µs */
	uint32_t label = dp_label_of_us(dl);
	uint8_t ttl = dp_ttl_of_us(dl);

	(void)state;
	assert_true(ttl & 0x80);
	assert_int_equal(dp_deadline_diff_us(dl, label, ttl), 0);
	assert_int_equal(dp_deadline_diff_us(dl + 600000, label, ttl), 600000);	/* label: early */
	assert_true(dp_label_diff_us(dp_label_of_us(dl + 600000), label) < 0);
	assert_int_equal(dp_deadline_diff_us(dl - 3000, label, ttl), -3000);
	assert_int_equal(dp_deadline_diff_us(dl + 60000000, label, ttl), 60000000);
	/* across the 2^27 wrap of the extended value */
	dl = (1ull << 40) - 5;
	assert_int_equal(dp_deadline_diff_us(dl + 10, dp_label_of_us(dl), dp_ttl_of_us(dl)), 10);
	/* no marker: the label alone */
	assert_int_equal(dp_deadline_diff_us(dl + 600000, dp_label_of_us(dl), 64),
			 dp_label_diff_us(dp_label_of_us(dl + 600000), dp_label_of_us(dl)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_udp_tcp),
		cmocka_unit_test(test_parse_fragments_and_others),
		cmocka_unit_test(test_parse_bad_ip),
		cmocka_unit_test(test_csum_rfc1624),
		cmocka_unit_test(test_set_dscp),
		cmocka_unit_test(test_push_pop_roundtrip),
		cmocka_unit_test(test_pop_rejects),
		cmocka_unit_test(test_icmp_frag_needed),
		cmocka_unit_test(test_label_serial),
		cmocka_unit_test(test_deadline_ext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
