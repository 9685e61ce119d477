/* dp_pkt.c — the frames rtvd touches: parse, classify key, MPLS push/pop,
 * DSCP with an incremental checksum, ICMP fragmentation-needed.
 *
 * Carriage (RTvNIC §3.3; docs/architecture.md, "Data plane"): one MPLS label
 * stack entry (RFC 3032 §2.1) between L2 and L3, ethertype 0x8847. The label
 * is only a carrier, never switched on: label = absolute deadline in µs
 * modulo 2^20, TC = the rtpath's class, S = 1, TTL given by the caller
 * (the scheduler gives the deadline's next 7 bits, dp_ttl_of_us) or, 0,
 * copied from the IP header (RFC 3443's uniform model). The inner IP header
 * keeps its own TTL and gets the rtpath's DSCP.
 *
 * Everything here works on caller buffers, reads no further than the length
 * it is given (the fuzz harness holds it to that) and never allocates.
 * Multi-byte header fields are read and written byte by byte in network
 * order, so frames need no alignment.
 */
#include "dp/dp_internal.h"

#include <string.h>

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_SCTP_ 132
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define ICMP_HLEN 8
#define IP_MIN_HLEN 20

/* ---- checksums ---------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len > 1) {
		sum += rd16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t dp_csum(const void *data, size_t len)
{
	uint32_t sum = 0;
	const uint8_t *p = data;

	/* chunks keep the 32-bit accumulator from overflowing on big inputs */
	while (len > 65536) {
		sum = csum_add(sum, p, 65536);
		sum = (sum & 0xffff) + (sum >> 16);
		p += 65536;
		len -= 65536;
	}
	return csum_fold(csum_add(sum, p, len));
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), one's complement arithmetic.
 * Unlike eqn. 2 it never yields 0xffff-vs-0 mistakes for a field change. */
uint16_t dp_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t)~old_word;
	sum += new_word;
	return csum_fold(sum);
}

/* ---- parse -------------------------------------------------------------- */

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_;
}

static enum dp_parse_status parse_ipv4(const uint8_t *ip, size_t avail, struct dp_parsed *o)
{
	uint16_t frag;

	if (avail < IP_MIN_HLEN || ip[0] >> 4 != 4)
		return DP_PARSE_BAD_IP;
	o->ip_hlen = (uint16_t)((ip[0] & 0x0f) * 4);
	o->ip_tot_len = rd16(ip + 2);
	if (o->ip_hlen < IP_MIN_HLEN || o->ip_tot_len < o->ip_hlen || o->ip_tot_len > avail)
		return DP_PARSE_BAD_IP;
	frag = rd16(ip + 6);
	o->ip_id = rd16(ip + 4);
	o->ip_df = (frag & IP_DF) != 0;
	o->later_fragment = (frag & IP_OFFMASK) != 0;
	o->ip_ttl = ip[8];
	o->ip_dscp = ip[1] >> 2;
	o->key.proto = ip[9];
	o->key.src_ip = rd32(ip + 12);
	o->key.dst_ip = rd32(ip + 16);
	/* the destination port sits at L4 offset 2 for TCP, UDP and SCTP */
	if (!o->later_fragment && has_ports(o->key.proto) && o->ip_tot_len >= o->ip_hlen + 4)
		o->key.dport = rd16(ip + o->ip_hlen + 2);
	return DP_PARSE_IPV4;
}

enum dp_parse_status dp_pkt_parse(const uint8_t *frame, size_t len, struct dp_parsed *out)
{
	memset(out, 0, sizeof(*out));
	if (len < DP_ETH_HLEN)
		return DP_PARSE_RUNT;
	out->ethertype = rd16(frame + 12);
	out->l3_off = DP_ETH_HLEN;
	if (out->ethertype == DP_ETH_P_MPLS_UC)
		return DP_PARSE_MPLS;
	if (out->ethertype != DP_ETH_P_IP)
		return DP_PARSE_OTHER;
	return parse_ipv4(frame + DP_ETH_HLEN, len - DP_ETH_HLEN, out);
}

/* ---- DSCP --------------------------------------------------------------- */

void dp_pkt_set_dscp(uint8_t *frame, const struct dp_parsed *p, uint8_t dscp)
{
	uint8_t *ip = frame + p->l3_off;
	uint16_t old = rd16(ip);	/* version/IHL and TOS: one 16-bit word */
	uint16_t new = (uint16_t)((old & 0xff03) | (uint16_t)(dscp & 0x3f) << 2);

	if (old == new)
		return;
	wr16(ip, new);
	wr16(ip + 10, dp_csum_update16(rd16(ip + 10), old, new));
}

/* ---- MPLS --------------------------------------------------------------- */

uint8_t *dp_mpls_push(uint8_t *frame, size_t len, const struct dp_parsed *p,
		      uint32_t label, uint8_t tc, uint8_t ttl)
{
	uint8_t *f = frame - DP_MPLS_HLEN;

	(void)len;
	memmove(f, frame, 12);	/* destination and source MAC */
	wr16(f + 12, DP_ETH_P_MPLS_UC);
	/* RFC 3032 §2.1: label 20 | TC 3 | S 1 | TTL 8 */
	wr32(f + DP_ETH_HLEN, (label & (DP_LABEL_MOD - 1)) << 12 | (uint32_t)(tc & 7) << 9 |
			      1u << 8 | (ttl ? ttl : p->ip_ttl));
	return f;
}

enum dp_pop_status dp_mpls_pop(uint8_t *frame, size_t len, struct dp_mpls *mpls,
			       uint8_t **out_frame)
{
	uint32_t e;

	if (len < DP_ETH_HLEN || rd16(frame + 12) != DP_ETH_P_MPLS_UC)
		return DP_POP_NOT_MPLS;
	if (len < DP_ETH_HLEN + DP_MPLS_HLEN + IP_MIN_HLEN)
		return DP_POP_RUNT;
	e = rd32(frame + DP_ETH_HLEN);
	if (!(e & 1u << 8))
		return DP_POP_MULTI;
	/* MPLS carries no payload type: the first nibble tells (RFC 4928) */
	if (frame[DP_ETH_HLEN + DP_MPLS_HLEN] >> 4 != 4)
		return DP_POP_NOT_IPV4;
	mpls->label = e >> 12;
	mpls->tc = (uint8_t)(e >> 9 & 7);
	mpls->ttl = (uint8_t)e;
	memmove(frame + DP_MPLS_HLEN, frame, 12);
	wr16(frame + DP_MPLS_HLEN + 12, DP_ETH_P_IP);
	*out_frame = frame + DP_MPLS_HLEN;
	return DP_POP_OK;
}

/* ---- ICMP fragmentation-needed ----------------------------------------- */

static bool bad_source(uint32_t ip)
{
	/* RFC 1122 §3.2.2: never about a datagram whose source does not
	 * define a single host (0/8, multicast, limited broadcast) */
	return (ip >> 24) == 0 || (ip >> 28) == 0xe || ip == 0xffffffffu;
}

static bool is_icmp_error(const uint8_t *ip, const struct dp_parsed *p)
{
	uint8_t type;

	if (p->key.proto != IPPROTO_ICMP_)
		return false;
	if (p->ip_tot_len < p->ip_hlen + 1)
		return true;	/* cannot tell: do not answer */
	type = ip[p->ip_hlen];
	/* errors: 3 unreachable, 4 quench, 5 redirect, 11 time exceeded,
	 * 12 parameter problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

size_t dp_icmp_frag_needed(uint8_t *out, size_t cap, const uint8_t *frame, size_t len,
			   const struct dp_parsed *p, uint32_t src_ip, uint16_t mtu)
{
	const uint8_t *oip = frame + p->l3_off;
	size_t quote, total;
	uint8_t *ip, *icmp;

	if (p->l3_off + (size_t)p->ip_tot_len > len || p->later_fragment ||
	    bad_source(p->key.src_ip) || is_icmp_error(oip, p))
		return 0;
	quote = p->ip_tot_len;
	if (quote > DP_ICMP_QUOTE_MAX)
		quote = DP_ICMP_QUOTE_MAX;
	total = DP_ETH_HLEN + IP_MIN_HLEN + ICMP_HLEN + quote;
	if (cap < total)
		return 0;

	memcpy(out, frame + 6, 6);	/* to whoever sent it */
	memcpy(out + 6, frame, 6);	/* from the MAC it addressed */
	wr16(out + 12, DP_ETH_P_IP);

	ip = out + DP_ETH_HLEN;
	memset(ip, 0, IP_MIN_HLEN);
	ip[0] = 0x45;
	ip[1] = 48 << 2;	/* CS6, network control (RFC 4594 §3.2) */
	wr16(ip + 2, (uint16_t)(IP_MIN_HLEN + ICMP_HLEN + quote));
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP_;
	wr32(ip + 12, src_ip);
	wr32(ip + 16, p->key.src_ip);
	wr16(ip + 10, dp_csum(ip, IP_MIN_HLEN));

	icmp = ip + IP_MIN_HLEN;
	icmp[0] = 3;		/* destination unreachable */
	icmp[1] = 4;		/* fragmentation needed and DF set */
	wr16(icmp + 2, 0);
	wr16(icmp + 4, 0);	/* unused (RFC 1191 §4) */
	wr16(icmp + 6, mtu);	/* next-hop MTU */
	memcpy(icmp + ICMP_HLEN, oip, quote);
	wr16(icmp + 2, dp_csum(icmp, ICMP_HLEN + quote));
	return total;
}

/* ---- labels ------------------------------------------------------------- */

/* RFC 1982 serial-number arithmetic in a 20-bit space: the difference is
 * taken modulo 2^20 and read as two's complement, so a deadline up to 2^19
 * µs (0.52 s) either side of now compares correctly across the wrap. */
int32_t dp_label_diff_us(uint32_t now_label, uint32_t deadline_label)
{
	uint32_t d = (now_label - deadline_label) & (DP_LABEL_MOD - 1);

	return d >= DP_LABEL_MOD / 2 ? (int32_t)d - (int32_t)DP_LABEL_MOD : (int32_t)d;
}

/* The extended deadline: label | (TTL & 0x7f) << 20 when the TTL carries
 * the marker, compared in 27-bit serial-number arithmetic. */
int32_t dp_deadline_diff_us(uint64_t now_us, uint32_t label, uint8_t ttl)
{
	uint32_t dl, d;

	if (!(ttl & DP_TTL_EXT))
		return dp_label_diff_us(dp_label_of_us(now_us), label);
	dl = (uint32_t)(ttl & 0x7f) << DP_LABEL_BITS | (label & (DP_LABEL_MOD - 1));
	d = ((uint32_t)now_us - dl) & (DP_DEADLINE_EXT_MOD - 1);
	return d >= DP_DEADLINE_EXT_MOD / 2 ? (int32_t)d - (int32_t)DP_DEADLINE_EXT_MOD : (int32_t)d;
}
