/* dp_frag.c — IPv4 fragmentation of a frame too big for the uplink once
 * the label is on (RFC 791 §2.3 "Fragmentation and Reassembly", §3.2).
 *
 * Why here. rtvnet adds 4 bytes (one MPLS entry) to every RT frame, so a
 * guest whose interface MTU equals the uplink's sends RT packets that no
 * longer fit. The guest's MTU is set 4 bytes lower up front (docs/mtu.md),
 * but a guest that ignores it, or one plugged before the agent set it,
 * still sends full-size packets. A router would fragment an IPv4 packet
 * without DF (RFC 791, RFC 1812 §4.2.2.7) and answer one with DF with
 * ICMP fragmentation-needed (RFC 1191); the dataplane does the same, the
 * first case here, the second in dp_pkt.c.
 *
 * How, as Linux's ip_do_fragment does it:
 *   - every fragment but the last carries the same number of payload
 *     bytes, the largest multiple of 8 that fits mtu with the header;
 *   - the first fragment keeps the whole header; later ones keep the
 *     header's length, with every option whose "copied" flag is clear
 *     overwritten by NOPs (Linux's ip_options_fragment), so all fragments
 *     have the same header length and the same payload size;
 *   - offsets continue the original's (fragmenting a fragment is allowed),
 *     MF is set on all but the last, which keeps the original's MF;
 *   - identification, TTL, TOS and protocol are the original's; each
 *     header checksum is recomputed; the L4 checksum is untouched (it
 *     covers the reassembled datagram).
 * Ethernet addresses and ethertype are copied to each fragment. Nothing
 * here allocates, and reads stay within the frame given (the fuzz harness
 * holds it to that).
 */
#include "dp/dp_internal.h"

#include <errno.h>
#include <string.h>

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define IP_MIN_HLEN 20
#define IPOPT_END 0
#define IPOPT_NOP 1
#define IPOPT_COPIED 0x80

/* Writes into opts (len bytes) the options of a later fragment: those with
 * the copied flag kept, the rest NOPs. -EINVAL if the options are
 * malformed (a length under 2 or past the header): such a packet is not
 * ours to reinterpret. */
static int later_options(const uint8_t *in, uint8_t *out, size_t len)
{
	size_t i = 0;

	memcpy(out, in, len);
	while (i < len) {
		uint8_t type = in[i];
		size_t olen;

		if (type == IPOPT_END)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || in[i + 1] < 2 || i + in[i + 1] > len)
			return -EINVAL;
		olen = in[i + 1];
		if (!(type & IPOPT_COPIED))
			memset(out + i, IPOPT_NOP, olen);
		i += olen;
	}
	return 0;
}

int dp_frag_init(struct dp_frag *f, const uint8_t *frame, size_t len,
		 const struct dp_parsed *p, uint16_t mtu)
{
	const uint8_t *ip = frame + p->l3_off;
	size_t payload;
	uint16_t word;

	memset(f, 0, sizeof(*f));
	if (p->ip_df || p->ip_hlen < IP_MIN_HLEN || p->ip_tot_len < p->ip_hlen ||
	    (size_t)p->l3_off + p->ip_tot_len > len || p->l3_off > DP_FRAG_L2_MAX)
		return -EINVAL;
	if (mtu < p->ip_hlen + 8)
		return -EMSGSIZE;	/* RFC 791: at least 8 payload bytes per fragment */
	word = rd16(ip + 6);
	payload = p->ip_tot_len - p->ip_hlen;
	f->base_off_bytes = (uint32_t)(word & IP_OFFMASK) * 8;
	if (f->base_off_bytes + payload > 0xffff)
		return -EINVAL;
	if (later_options(ip + IP_MIN_HLEN, f->later_opts, p->ip_hlen - IP_MIN_HLEN) < 0)
		return -EINVAL;
	f->frame = frame;
	f->l3_off = p->l3_off;
	f->hlen = p->ip_hlen;
	f->payload_bytes = (uint32_t)payload;
	f->chunk_bytes = (uint16_t)((mtu - p->ip_hlen) & ~7u);
	f->last_mf = (word & IP_MF) != 0;
	f->n = payload ? (uint32_t)((payload + f->chunk_bytes - 1) / f->chunk_bytes) : 1;
	return (int)f->n;
}

size_t dp_frag_next(struct dp_frag *f, uint8_t *out, size_t cap)
{
	const uint8_t *ip = f->frame + f->l3_off;
	uint32_t left = f->payload_bytes - f->done_bytes;
	uint32_t take = left > f->chunk_bytes ? f->chunk_bytes : left;
	bool last = f->emitted + 1 == f->n;
	size_t total = (size_t)f->l3_off + f->hlen + take;
	uint8_t *oip = out + f->l3_off;
	uint16_t word;

	if (f->emitted >= f->n || cap < total)
		return 0;
	memcpy(out, f->frame, f->l3_off);
	memcpy(oip, ip, IP_MIN_HLEN);
	if (f->emitted == 0)
		memcpy(oip + IP_MIN_HLEN, ip + IP_MIN_HLEN, f->hlen - IP_MIN_HLEN);
	else
		memcpy(oip + IP_MIN_HLEN, f->later_opts, f->hlen - IP_MIN_HLEN);
	memcpy(oip + f->hlen, ip + f->hlen + f->done_bytes, take);

	word = (uint16_t)((f->base_off_bytes + f->done_bytes) / 8);
	if (!last || f->last_mf)
		word |= IP_MF;
	wr16(oip + 2, (uint16_t)(f->hlen + take));
	wr16(oip + 6, word);	/* DF is clear: we only fragment without it */
	wr16(oip + 10, 0);
	wr16(oip + 10, dp_csum(oip, f->hlen));
	f->done_bytes += take;
	f->emitted++;
	return total;
}
