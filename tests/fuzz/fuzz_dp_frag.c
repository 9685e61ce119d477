/* fuzz_dp_frag.c — IPv4 fragmentation (dp/dp_frag.c) of arbitrary frames at
 * an arbitrary MTU.
 *
 * Input: two bytes of MTU (big-endian), then the frame, copied into a
 * buffer of exactly its size so ASan catches a read past it. For every
 * frame the parser accepts as IPv4 and dp_frag_init agrees to fragment:
 *  - there are as many fragments as announced, each within the MTU, with a
 *    valid header checksum, DF clear, the original's identification;
 *  - every fragment but the last carries a multiple of 8 payload bytes, the
 *    offsets follow each other from the original's, MF is set on all but
 *    the last, which keeps the original's;
 *  - the payloads put back together are the original's, byte for byte;
 *  - a refusal happens only for DF, a too-small MTU or malformed options.
 */
// fuzz-modules: sched common dp
#include "common/bytes.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp/dp.h"

#define get16(p) ((uint16_t)rtv_get_be(p, 2))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_fragments(const uint8_t *f, size_t n, const struct dp_parsed *p, uint16_t mtu)
{
	static uint8_t out[65536 + 64];
	const uint8_t *oip = f + p->l3_off;
	uint16_t word0 = get16(oip + 6);
	uint32_t got = 0, k = 0;
	struct dp_frag fr;
	size_t len;
	int cnt = dp_frag_init(&fr, f, n, p, mtu);

	if (cnt < 0) {
		CHECK(cnt == -EINVAL || cnt == -EMSGSIZE);
		CHECK(cnt != -EMSGSIZE || mtu < p->ip_hlen + 8);
		return;
	}
	CHECK(!p->ip_df && mtu >= p->ip_hlen + 8);
	while ((len = dp_frag_next(&fr, out, sizeof(out))) > 0) {
		const uint8_t *ip = out + p->l3_off;
		uint16_t tot = get16(ip + 2), word = get16(ip + 6);
		bool last = ++k == (uint32_t)cnt;

		CHECK(len == (size_t)p->l3_off + tot && tot <= mtu && tot >= p->ip_hlen);
		CHECK((ip[0] & 15) * 4 == p->ip_hlen && dp_csum(ip, p->ip_hlen) == 0);
		CHECK(memcmp(out, f, p->l3_off) == 0 && get16(ip + 4) == p->ip_id);
		CHECK(!(word & 0x4000));
		CHECK((word & 0x1fff) * 8u == (word0 & 0x1fffu) * 8 + got);
		CHECK(((word & 0x2000) != 0) == (last ? (word0 & 0x2000) != 0 : true));
		CHECK(last || (tot - p->ip_hlen) % 8 == 0);
		CHECK(memcmp(ip + p->ip_hlen, oip + p->ip_hlen + got, tot - p->ip_hlen) == 0);
		got += tot - p->ip_hlen;
	}
	CHECK(k == (uint32_t)cnt && got == (uint32_t)(p->ip_tot_len - p->ip_hlen));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_parsed p;
	uint8_t *f;
	uint16_t mtu;

	if (size < 2)
		return 0;
	mtu = get16(data);
	f = malloc(size - 2 ? size - 2 : 1);
	if (!f)
		return 0;
	memcpy(f, data + 2, size - 2);
	if (dp_pkt_parse(f, size - 2, &p) == DP_PARSE_IPV4)
		check_fragments(f, size - 2, &p, mtu);
	free(f);
	return 0;
}
