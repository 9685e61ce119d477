/* test_dp_frag.c — IPv4 fragmentation (dp/dp_frag.c) and the scheduler's
 * use of it (dp/dp_sched.c).
 *
 * Two oracles:
 *  - the RFC 791 rules checked fragment by fragment (sizes, multiples of 8,
 *    offsets, MF, identification, header checksum, options of later
 *    fragments) and the payloads put back together in this test;
 *  - the Linux kernel: in a network namespace of its own, each fragment is
 *    sent as an Ethernet frame on the loopback device through a packet
 *    socket, so the kernel checks every header checksum, reassembles the
 *    datagram and hands it to a UDP socket only if the UDP checksum over
 *    the whole reassembled datagram is right. Needs root (CAP_NET_ADMIN,
 *    CAP_NET_RAW); skipped otherwise, and a skip fails the run as root.
 */
#include "common/bytes.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "dp/dp.h"

#define put16(p, v) rtv_put_be(p, v, 2)
#define get16(p) ((uint16_t)rtv_get_be(p, 2))

#define MAXF 64

/* An Ethernet/IPv4/UDP frame 10.9.0.2:40000 -> 10.9.0.1:port with `opts`
 * (olen bytes, a multiple of 4) as IP options and a correct UDP checksum.
 * Both MACs are zero, as the loopback device's. */
static size_t build_udp(uint8_t *f, size_t payload, uint16_t port, uint16_t frag_word,
			const uint8_t *opts, size_t olen)
{
	uint8_t *ip = f + 14, *udp = ip + 20 + olen, pseudo[12];
	size_t ulen = 8 + payload;
	uint32_t sum = 0;

	memset(f, 0, 14);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = (uint8_t)(0x40 | (20 + olen) / 4);
	put16(ip + 2, (uint16_t)(20 + olen + ulen));
	put16(ip + 4, 0xbeef);
	put16(ip + 6, frag_word);
	ip[8] = 64;
	ip[9] = 17;
	put16(ip + 12, 0x0a09);	/* 10.9.0.2 -> 10.9.0.1 */
	put16(ip + 14, 0x0002);
	put16(ip + 16, 0x0a09);
	put16(ip + 18, 0x0001);
	if (olen)
		memcpy(ip + 20, opts, olen);
	put16(ip + 10, dp_csum(ip, 20 + olen));
	put16(udp, 40000);
	put16(udp + 2, port);
	put16(udp + 4, (uint16_t)ulen);
	put16(udp + 6, 0);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(i * 13 + i / 251);
	/* UDP checksum over the pseudo-header (RFC 768) */
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	put16(pseudo + 10, (uint16_t)ulen);
	sum = (uint16_t)~dp_csum(pseudo, sizeof(pseudo));
	sum += (uint16_t)~dp_csum(udp, ulen);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(udp + 6, (uint16_t)~sum ? (uint16_t)~sum : 0xffff);
	return 14 + 20 + olen + ulen;
}

/* Fragments f (n bytes) to mtu; returns the count, fragments in out[i]. */
static int fragment(const uint8_t *f, size_t n, uint16_t mtu, uint8_t out[][2048], size_t *lens)
{
	struct dp_parsed p;
	struct dp_frag fr;
	int k;

	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	k = dp_frag_init(&fr, f, n, &p, mtu);
	if (k <= 0)
		return k;
	assert_true(k <= MAXF);
	for (int i = 0; i < k; i++) {
		lens[i] = dp_frag_next(&fr, out[i], 2048);
		assert_true(lens[i] > 34);
	}
	assert_int_equal(dp_frag_next(&fr, out[0], 2048), 0);	/* exhausted */
	return k;
}

/* The RFC 791 oracle: checks each fragment and rebuilds the datagram. */
static void check_rules(const uint8_t *f, size_t n, uint16_t mtu, uint8_t fr[][2048],
			const size_t *lens, int k)
{
	const uint8_t *oip = f + 14;
	size_t hlen = (size_t)(oip[0] & 15) * 4, payload = get16(oip + 2) - hlen, got = 0;
	uint16_t base = get16(oip + 6) & 0x1fff;
	bool orig_mf = get16(oip + 6) & 0x2000;

	(void)n;
	for (int i = 0; i < k; i++) {
		const uint8_t *ip = fr[i] + 14;
		uint16_t word = get16(ip + 6), tot = get16(ip + 2);
		bool last = i == k - 1;

		assert_memory_equal(fr[i], f, 14);
		assert_int_equal((ip[0] & 15) * 4, hlen);
		assert_int_equal(tot + 14, lens[i]);
		assert_true(tot <= mtu);
		assert_int_equal(dp_csum(ip, hlen), 0);
		assert_int_equal(get16(ip + 4), get16(oip + 4));
		assert_int_equal(ip[8], oip[8]);
		assert_int_equal(ip[9], oip[9]);
		assert_memory_equal(ip + 12, oip + 12, 8);
		assert_int_equal(word & 0x4000, 0);
		assert_int_equal((word & 0x1fff) * 8, base * 8 + got);
		assert_int_equal((word & 0x2000) != 0, last ? orig_mf : true);
		if (!last)
			assert_int_equal((tot - hlen) % 8, 0);
		if (i == 0)
			assert_memory_equal(ip + 20, oip + 20, hlen - 20);
		assert_memory_equal(ip + hlen, oip + hlen + got, tot - hlen);
		got += tot - hlen;
	}
	assert_int_equal(got, payload);
}

static void test_rules(void **state)
{
	static uint8_t f[2048], fr[MAXF][2048];
	static const uint16_t mtus[] = { 68, 576, 1000, 1496, 1500 };
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 1000, 1464, 1465, 1472, 1473, 1990 };
	size_t lens[MAXF];

	(void)state;
	for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t n = build_udp(f, sizes[s], 9, 0, NULL, 0);
			int k = fragment(f, n, mtus[m], fr, lens);
			size_t chunk = (mtus[m] - 20u) & ~7u;

			assert_true(k >= 1);
			/* as few fragments as the 8-byte rule allows */
			assert_int_equal(k, (int)((n - 34 + chunk - 1) / chunk));
			check_rules(f, n, mtus[m], fr, lens, k);
		}
}

static void test_options_and_refusals(void **state)
{
	/* NOP, Record Route (7: not copied), Loose Source Route (131: copied),
	 * End of list */
	static const uint8_t opts[16] = { 1, 7, 7, 4, 0, 0, 0, 0, 131, 7, 4, 10, 0, 0, 1, 0 };
	static uint8_t f[2048], fr[MAXF][2048];
	size_t lens[MAXF], n;
	struct dp_parsed p;
	struct dp_frag it;
	int k;

	(void)state;
	n = build_udp(f, 1200, 9, 0, opts, sizeof(opts));
	k = fragment(f, n, 576, fr, lens);
	assert_int_equal(k, 3);
	check_rules(f, n, 576, fr, lens, k);
	for (int i = 1; i < k; i++) {
		const uint8_t *o = fr[i] + 34;

		assert_memory_equal(o, "\x01\x01\x01\x01\x01\x01\x01\x01", 8);	/* RR gone */
		assert_memory_equal(o + 8, opts + 8, 8);			/* LSRR kept */
	}

	/* a fragment fragmented again: offsets continue, the last keeps MF */
	n = build_udp(f, 1000, 9, 0x2000 | 100, NULL, 0);
	k = fragment(f, n, 500, fr, lens);
	assert_int_equal(k, 3);
	check_rules(f, n, 500, fr, lens, k);

	/* DF: not ours to fragment; mtu too small for 8 bytes; bad option length */
	n = build_udp(f, 1000, 9, 0x4000, NULL, 0);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_frag_init(&it, f, n, &p, 576), -EINVAL);
	n = build_udp(f, 1000, 9, 0, opts, sizeof(opts));
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_frag_init(&it, f, n, &p, 36 + 7), -EMSGSIZE);
	f[14 + 20 + 2] = 40;	/* Record Route running past the header */
	assert_int_equal(dp_frag_init(&it, f, n, &p, 576), -EINVAL);
	/* an offset that would run past 65535 */
	n = build_udp(f, 1000, 9, 0x1fff, NULL, 0);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_frag_init(&it, f, n, &p, 576), -EINVAL);
	/* a buffer too small: nothing written, the iterator stays */
	n = build_udp(f, 1000, 9, 0, NULL, 0);
	assert_int_equal(dp_pkt_parse(f, n, &p), DP_PARSE_IPV4);
	assert_int_equal(dp_frag_init(&it, f, n, &p, 576), 2);
	assert_int_equal(dp_frag_next(&it, fr[0], 100), 0);
	assert_int_equal(dp_frag_next(&it, fr[0], 2048), 14 + 20 + 552);
}

/* ---- the kernel as the oracle --------------------------------------------- */

/* Brings lo up with 10.9.0.1/24: frames from 10.9.0.2 injected on lo are
 * then received like any host's (127/8 sources would be martians). */
static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rc = fd < 0 ? -1 : ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	rc = rc < 0 ? rc : ioctl(fd, SIOCSIFFLAGS, &ifr);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a090001);
	rc = rc < 0 ? rc : ioctl(fd, SIOCSIFADDR, &ifr);
	sin->sin_addr.s_addr = htonl(0xffffff00);
	rc = rc < 0 ? rc : ioctl(fd, SIOCSIFNETMASK, &ifr);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* In the child's own namespace: sends the fragments (in the order given by
 * `reverse`) and expects the original UDP payload on port. Exit 0 = the
 * kernel delivered exactly the original datagram. */
static int kernel_child(const uint8_t *f, size_t n, uint8_t fr[][2048], const size_t *lens,
			int k, bool reverse, bool corrupt)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct timeval tv = { 2, 0 };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	static uint8_t got[4096];
	int u, pk;
	ssize_t r;

	if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0)
		return 10;
	a.sin_addr.s_addr = htonl(0x0a090001);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return 11;
	pk = socket(AF_PACKET, SOCK_RAW, 0);
	ll.sll_ifindex = (int)if_nametoindex("lo");
	if (pk < 0 || !ll.sll_ifindex)
		return 12;
	if (corrupt)
		fr[k - 1][lens[k - 1] - 1] ^= 1;	/* the L4 checksum no longer holds */
	for (int j = 0; j < k; j++) {
		int i = reverse ? k - 1 - j : j;

		if (sendto(pk, fr[i], lens[i], 0, (struct sockaddr *)&ll, sizeof(ll)) !=
		    (ssize_t)lens[i])
			return 13;
	}
	r = recv(u, got, sizeof(got), 0);
	if (r < 0)
		return 14;	/* nothing: a bad checksum or a hole */
	if ((size_t)r != n - 14 - 20 - 8 - ((f[14] & 15) * 4 - 20) ||
	    memcmp(got, f + 14 + (f[14] & 15) * 4 + 8, (size_t)r) != 0)
		return 15;
	return 0;
}

static void test_kernel_reassembles(void **state)
{
	static const uint8_t opts[8] = { 1, 7, 7, 4, 0, 0, 0, 0 };
	static const struct {
		size_t payload;
		uint16_t mtu;
		size_t olen;
		bool rev, corrupt;
	} cases[] = {
		{ 100, 1500, 0, false, false },	/* one piece: the harness itself works */
		{ 1472, 1496, 0, false, false },	/* a full 1500-byte guest packet, label added */
		{ 1990, 576, 0, true, false },	/* several fragments, arriving backwards */
		{ 1990, 68, 0, false, false },	/* the smallest IPv4 MTU: 48 bytes each */
		{ 1800, 1000, sizeof(opts), false, false },	/* RR dropped from later ones */
		{ 1472, 1496, 0, false, true },	/* the oracle itself: one bit off is refused */
	};
	static uint8_t f[2048], fr[MAXF][2048];
	size_t lens[MAXF];

	(void)state;
	if (geteuid() != 0)
		skip();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = build_udp(f, cases[c].payload, 9, 0, opts, cases[c].olen);
		int k = fragment(f, n, cases[c].mtu, fr, lens), st;
		pid_t pid;

		assert_true(k >= 1);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(kernel_child(f, n, fr, lens, k, cases[c].rev, cases[c].corrupt));
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), cases[c].corrupt ? 14 : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_options_and_refusals),
		cmocka_unit_test(test_kernel_reassembles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
