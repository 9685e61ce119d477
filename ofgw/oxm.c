/* oxm.c — OpenFlow 1.3 matches (OXM), instructions and actions, and the
 * checks and formatting of struct ofgw_flow.
 *
 * A match on the wire is struct ofp_match (§7.2.2): type OFPMT_OXM, a length
 * that excludes the trailing pad, then TLVs of class OPENFLOW_BASIC (§7.2.3).
 * We model the fields our pipeline uses; any other field (another class, or
 * a basic field we do not know) is counted in n_unknown so that the flow is
 * recognised as foreign and never mistaken for one of ours. Encoded fields
 * come in field-number order, which puts every prerequisite (eth_type,
 * ip_proto) before the fields that depend on it, as §7.2.3.6 requires.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ofgw/ofp.h"

#define OXM_CLASS_BASIC 0x8000
#define OFPMT_OXM 1

enum oxm_field {
	OXM_IN_PORT = 0, OXM_ETH_DST = 3, OXM_ETH_SRC = 4, OXM_ETH_TYPE = 5,
	OXM_IP_DSCP = 8, OXM_IP_PROTO = 10, OXM_IPV4_SRC = 11, OXM_IPV4_DST = 12,
	OXM_TCP_SRC = 13, OXM_TCP_DST = 14, OXM_UDP_SRC = 15, OXM_UDP_DST = 16,
	OXM_MPLS_LABEL = 34, OXM_MPLS_TC = 35,
};

enum { OFPIT_GOTO_TABLE = 1, OFPIT_APPLY_ACTIONS = 4 };
enum { OFPAT_OUTPUT = 0, OFPAT_PUSH_MPLS = 19, OFPAT_POP_MPLS = 20, OFPAT_SET_FIELD = 25 };

/* The fields we model, in encoding order. */
static const struct oxm_desc {
	uint8_t field, len;	/* payload length without mask */
	bool maskable;
	uint32_t bit;		/* OFGW_M_* */
} oxm_descs[] = {
	{ OXM_IN_PORT, 4, false, OFGW_M_IN_PORT },
	{ OXM_ETH_DST, 6, true, OFGW_M_ETH_DST },
	{ OXM_ETH_SRC, 6, true, OFGW_M_ETH_SRC },
	{ OXM_ETH_TYPE, 2, false, OFGW_M_ETH_TYPE },
	{ OXM_IP_DSCP, 1, false, OFGW_M_IP_DSCP },
	{ OXM_IP_PROTO, 1, false, OFGW_M_IP_PROTO },
	{ OXM_IPV4_SRC, 4, true, OFGW_M_IPV4_SRC },
	{ OXM_IPV4_DST, 4, true, OFGW_M_IPV4_DST },
	{ OXM_TCP_SRC, 2, false, OFGW_M_TCP_SRC },
	{ OXM_TCP_DST, 2, false, OFGW_M_TCP_DST },
	{ OXM_UDP_SRC, 2, false, OFGW_M_UDP_SRC },
	{ OXM_UDP_DST, 2, false, OFGW_M_UDP_DST },
	{ OXM_MPLS_LABEL, 4, false, OFGW_M_MPLS_LABEL },
	{ OXM_MPLS_TC, 1, false, OFGW_M_MPLS_TC },
};
#define N_OXM (sizeof(oxm_descs) / sizeof(oxm_descs[0]))

static const uint8_t mac_ones[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ------------------------------------------------------------------------- */
/* Match setters (canonical form: see ofgw.h)                                */

void ofgw_match_in_port(struct ofgw_match *m, uint32_t port)
{
	m->fields |= OFGW_M_IN_PORT;
	m->in_port = port;
}

void ofgw_match_eth_type(struct ofgw_match *m, uint16_t eth_type)
{
	m->fields |= OFGW_M_ETH_TYPE;
	m->eth_type = eth_type;
}

static void set_mac(struct ofgw_match *m, uint32_t bit, uint8_t *v, uint8_t *vm,
		    const uint8_t mac[6], const uint8_t mask[6])
{
	static const uint8_t zero[6];

	if (mask == NULL)
		mask = mac_ones;
	if (memcmp(mask, zero, 6) == 0) {
		m->fields &= ~bit;
		memset(v, 0, 6);
		memset(vm, 0, 6);
		return;
	}
	m->fields |= bit;
	for (int i = 0; i < 6; i++) {
		v[i] = mac[i] & mask[i];
		vm[i] = mask[i];
	}
}

void ofgw_match_eth_dst(struct ofgw_match *m, const uint8_t mac[6], const uint8_t mask[6])
{
	set_mac(m, OFGW_M_ETH_DST, m->eth_dst, m->eth_dst_mask, mac, mask);
}

void ofgw_match_eth_src(struct ofgw_match *m, const uint8_t mac[6], const uint8_t mask[6])
{
	set_mac(m, OFGW_M_ETH_SRC, m->eth_src, m->eth_src_mask, mac, mask);
}

void ofgw_match_ip_dscp(struct ofgw_match *m, uint8_t dscp)
{
	m->fields |= OFGW_M_IP_DSCP;
	m->ip_dscp = dscp;
}

void ofgw_match_ip_proto(struct ofgw_match *m, uint8_t proto)
{
	m->fields |= OFGW_M_IP_PROTO;
	m->ip_proto = proto;
}

static void set_ip(struct ofgw_match *m, uint32_t bit, uint32_t *v, uint32_t *vm,
		   uint32_t ip, uint32_t mask)
{
	if (mask == 0) {
		m->fields &= ~bit;
		*v = *vm = 0;
		return;
	}
	m->fields |= bit;
	*v = ip & mask;
	*vm = mask;
}

void ofgw_match_ipv4_src(struct ofgw_match *m, uint32_t ip, uint32_t mask)
{
	set_ip(m, OFGW_M_IPV4_SRC, &m->ipv4_src, &m->ipv4_src_mask, ip, mask);
}

void ofgw_match_ipv4_dst(struct ofgw_match *m, uint32_t ip, uint32_t mask)
{
	set_ip(m, OFGW_M_IPV4_DST, &m->ipv4_dst, &m->ipv4_dst_mask, ip, mask);
}

void ofgw_match_tcp_src(struct ofgw_match *m, uint16_t port)
{
	m->fields |= OFGW_M_TCP_SRC;
	m->tcp_src = port;
}

void ofgw_match_tcp_dst(struct ofgw_match *m, uint16_t port)
{
	m->fields |= OFGW_M_TCP_DST;
	m->tcp_dst = port;
}

void ofgw_match_udp_src(struct ofgw_match *m, uint16_t port)
{
	m->fields |= OFGW_M_UDP_SRC;
	m->udp_src = port;
}

void ofgw_match_udp_dst(struct ofgw_match *m, uint16_t port)
{
	m->fields |= OFGW_M_UDP_DST;
	m->udp_dst = port;
}

void ofgw_match_mpls_label(struct ofgw_match *m, uint32_t label)
{
	m->fields |= OFGW_M_MPLS_LABEL;
	m->mpls_label = label;
}

void ofgw_match_mpls_tc(struct ofgw_match *m, uint8_t tc)
{
	m->fields |= OFGW_M_MPLS_TC;
	m->mpls_tc = tc;
}

int ofgw_flow_add_action(struct ofgw_flow *f, enum ofgw_action_type type, uint32_t value)
{
	if (f->n_actions >= OFGW_ACTIONS_MAX)
		return -ENOSPC;
	f->actions[f->n_actions++] = (struct ofgw_action){ .type = type, .value = value };
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Equality                                                                  */

bool ofgw_match_equal(const struct ofgw_match *a, const struct ofgw_match *b)
{
	return a->fields == b->fields && a->in_port == b->in_port &&
	       a->ipv4_src == b->ipv4_src && a->ipv4_src_mask == b->ipv4_src_mask &&
	       a->ipv4_dst == b->ipv4_dst && a->ipv4_dst_mask == b->ipv4_dst_mask &&
	       a->mpls_label == b->mpls_label && a->eth_type == b->eth_type &&
	       a->tcp_src == b->tcp_src && a->tcp_dst == b->tcp_dst &&
	       a->udp_src == b->udp_src && a->udp_dst == b->udp_dst &&
	       memcmp(a->eth_dst, b->eth_dst, 6) == 0 &&
	       memcmp(a->eth_dst_mask, b->eth_dst_mask, 6) == 0 &&
	       memcmp(a->eth_src, b->eth_src, 6) == 0 &&
	       memcmp(a->eth_src_mask, b->eth_src_mask, 6) == 0 &&
	       a->ip_dscp == b->ip_dscp && a->ip_proto == b->ip_proto &&
	       a->mpls_tc == b->mpls_tc && a->n_unknown == 0 && b->n_unknown == 0;
}

bool ofgw_flow_same_key(const struct ofgw_flow *a, const struct ofgw_flow *b)
{
	return a->table_id == b->table_id && a->priority == b->priority &&
	       ofgw_match_equal(&a->match, &b->match);
}

bool ofgw_flow_same(const struct ofgw_flow *a, const struct ofgw_flow *b)
{
	if (a->foreign || b->foreign || !ofgw_flow_same_key(a, b))
		return false;
	if (a->cookie != b->cookie || a->goto_table != b->goto_table ||
	    a->idle_timeout_s != b->idle_timeout_s || a->hard_timeout_s != b->hard_timeout_s ||
	    a->flags != b->flags || a->n_actions != b->n_actions)
		return false;
	for (unsigned i = 0; i < a->n_actions; i++) {
		const struct ofgw_action *x = &a->actions[i], *y = &b->actions[i];

		if (x->type != y->type || x->value != y->value || x->max_len != y->max_len)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------- */
/* Checks                                                                    */

#define ETH_IP 0x0800
#define ETH_IPV6 0x86dd
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848

static bool is_ip(uint16_t t) { return t == ETH_IP || t == ETH_IPV6; }
static bool is_mpls(uint16_t t) { return t == ETH_MPLS || t == ETH_MPLS_MC; }

static int fail(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return -EINVAL;
}

static bool port_ok(uint32_t p, bool in_match)
{
	if (p >= 1 && p <= OFGW_PORT_MAX)
		return true;
	if (in_match)
		return p == OFGW_PORT_LOCAL || p == OFGW_PORT_CONTROLLER;
	return p == OFGW_PORT_IN_PORT || p == OFGW_PORT_NORMAL || p == OFGW_PORT_FLOOD ||
	       p == OFGW_PORT_ALL || p == OFGW_PORT_CONTROLLER || p == OFGW_PORT_LOCAL;
}

static const char *match_problem(const struct ofgw_match *m)
{
	uint32_t f = m->fields;
	uint16_t et = f & OFGW_M_ETH_TYPE ? m->eth_type : 0;

	if (m->n_unknown)
		return "match has fields this codec does not model";
	if ((f & OFGW_M_IN_PORT) && !port_ok(m->in_port, true))
		return "in_port is not a valid port number";
	if ((f & (OFGW_M_IP_DSCP | OFGW_M_IP_PROTO)) && !is_ip(et))
		return "ip_dscp/ip_proto need eth_type IPv4 or IPv6";
	if ((f & (OFGW_M_IPV4_SRC | OFGW_M_IPV4_DST)) && et != ETH_IP)
		return "ipv4_src/ipv4_dst need eth_type 0x0800";
	if ((f & (OFGW_M_TCP_SRC | OFGW_M_TCP_DST)) && (!(f & OFGW_M_IP_PROTO) || m->ip_proto != 6))
		return "tcp_src/tcp_dst need ip_proto 6";
	if ((f & (OFGW_M_UDP_SRC | OFGW_M_UDP_DST)) && (!(f & OFGW_M_IP_PROTO) || m->ip_proto != 17))
		return "udp_src/udp_dst need ip_proto 17";
	if ((f & (OFGW_M_MPLS_LABEL | OFGW_M_MPLS_TC)) && !is_mpls(et))
		return "mpls_label/mpls_tc need eth_type 0x8847 or 0x8848";
	if (m->ip_dscp > 63 || m->mpls_label >= 1u << 20 || m->mpls_tc > 7)
		return "ip_dscp, mpls_label or mpls_tc out of range";
	return NULL;
}

/* Walks the actions with the packet's ethertype as it changes (push/pop),
 * so that set-field has its prerequisite as OVS checks it. */
static const char *actions_problem(const struct ofgw_action *a, size_t n, uint16_t et)
{
	for (size_t i = 0; i < n; i++) {
		switch (a[i].type) {
		case OFGW_ACT_OUTPUT:
			if (!port_ok(a[i].value, false))
				return "output to an invalid port number";
			break;
		case OFGW_ACT_SET_IP_DSCP:
			if (!is_ip(et) || a[i].value > 63)
				return "set ip_dscp needs an IP packet and a value below 64";
			break;
		case OFGW_ACT_SET_MPLS_LABEL:
		case OFGW_ACT_SET_MPLS_TC:
			if (!is_mpls(et) || a[i].value >= (a[i].type == OFGW_ACT_SET_MPLS_TC ? 8u : 1u << 20))
				return "set mpls_label/mpls_tc needs an MPLS packet and a value in range";
			break;
		case OFGW_ACT_PUSH_MPLS:
			if (!is_mpls((uint16_t)a[i].value) || a[i].value > 0xffff)
				return "push_mpls needs ethertype 0x8847 or 0x8848";
			et = (uint16_t)a[i].value;
			break;
		case OFGW_ACT_POP_MPLS:
			if (!is_mpls(et) || a[i].value == 0 || a[i].value > 0xffff)
				return "pop_mpls needs an MPLS packet and the payload's ethertype";
			et = (uint16_t)a[i].value;
			break;
		default:
			return "unknown action type";
		}
	}
	return NULL;
}

int ofgw_flow_check(const struct ofgw_flow *f, char *why, size_t whylen)
{
	const char *p;

	if (f->foreign)
		return fail(why, whylen, "flow has instructions this codec does not model");
	if (f->table_id > 254)
		return fail(why, whylen, "table_id must be 0..254");
	if (f->goto_table != 0 && (f->goto_table <= f->table_id || f->goto_table > 254))
		return fail(why, whylen, "goto_table must name a later table (<= 254)");
	if (f->n_actions > OFGW_ACTIONS_MAX)
		return fail(why, whylen, "too many actions");
	if ((p = match_problem(&f->match)) != NULL)
		return fail(why, whylen, p);
	p = actions_problem(f->actions, f->n_actions,
			    f->match.fields & OFGW_M_ETH_TYPE ? f->match.eth_type : 0);
	return p != NULL ? fail(why, whylen, p) : 0;
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

static uint8_t *put_oxm(struct ofp_buf *b, uint8_t field, bool hasmask, uint8_t len)
{
	uint8_t *p = ofp_buf_put(b, 4u + len);

	if (p == NULL)
		return NULL;
	ofp_set16(p, OXM_CLASS_BASIC);
	p[2] = (uint8_t)(field << 1 | (hasmask ? 1 : 0));
	p[3] = len;
	return p + 4;
}

static bool all_ones(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

static void put_be(uint8_t *p, uint32_t v, uint8_t len)
{
	for (int i = len - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Writes one field's TLV. Numeric fields go big-endian in `len` bytes. */
static int put_field(struct ofp_buf *b, const struct oxm_desc *d, const struct ofgw_match *m)
{
	const uint8_t *mac = NULL, *macm = NULL;
	uint32_t v = 0, vm = 0;
	bool masked = false;
	uint8_t *p;

	switch (d->field) {
	case OXM_IN_PORT: v = m->in_port; break;
	case OXM_ETH_DST: mac = m->eth_dst; macm = m->eth_dst_mask; break;
	case OXM_ETH_SRC: mac = m->eth_src; macm = m->eth_src_mask; break;
	case OXM_ETH_TYPE: v = m->eth_type; break;
	case OXM_IP_DSCP: v = m->ip_dscp; break;
	case OXM_IP_PROTO: v = m->ip_proto; break;
	case OXM_IPV4_SRC: v = m->ipv4_src; vm = m->ipv4_src_mask; masked = vm != UINT32_MAX; break;
	case OXM_IPV4_DST: v = m->ipv4_dst; vm = m->ipv4_dst_mask; masked = vm != UINT32_MAX; break;
	case OXM_TCP_SRC: v = m->tcp_src; break;
	case OXM_TCP_DST: v = m->tcp_dst; break;
	case OXM_UDP_SRC: v = m->udp_src; break;
	case OXM_UDP_DST: v = m->udp_dst; break;
	case OXM_MPLS_LABEL: v = m->mpls_label; break;
	case OXM_MPLS_TC: v = m->mpls_tc; break;
	}
	if (mac != NULL)
		masked = !all_ones(macm, 6);
	p = put_oxm(b, d->field, masked, (uint8_t)(masked ? 2 * d->len : d->len));
	if (p == NULL)
		return -ENOMEM;
	if (mac != NULL) {
		memcpy(p, mac, 6);
		if (masked)
			memcpy(p + 6, macm, 6);
	} else {
		put_be(p, v, d->len);
		if (masked)
			put_be(p + d->len, vm, d->len);
	}
	return 0;
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

int ofp_put_match(struct ofp_buf *b, const struct ofgw_match *m)
{
	size_t start = b->len, len;
	uint8_t *p = ofp_buf_put(b, 4);

	if (p == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < N_OXM; i++) {
		if ((m->fields & oxm_descs[i].bit) && put_field(b, &oxm_descs[i], m) != 0) {
			b->len = start;
			return -ENOMEM;
		}
	}
	len = b->len - start;
	ofp_set16(b->data + start, OFPMT_OXM);
	ofp_set16(b->data + start + 2, (uint16_t)len);
	if (ofp_buf_put(b, pad8(len) - len) == NULL) {
		b->len = start;
		return -ENOMEM;
	}
	return 0;
}

static int put_action(struct ofp_buf *b, const struct ofgw_action *a)
{
	static const uint8_t set_field[] = {
		[OFGW_ACT_SET_IP_DSCP] = OXM_IP_DSCP,
		[OFGW_ACT_SET_MPLS_LABEL] = OXM_MPLS_LABEL,
		[OFGW_ACT_SET_MPLS_TC] = OXM_MPLS_TC,
	};
	uint8_t *p;
	uint8_t flen;

	switch (a->type) {
	case OFGW_ACT_OUTPUT:
		if ((p = ofp_buf_put(b, 16)) == NULL)
			return -ENOMEM;
		ofp_set16(p, OFPAT_OUTPUT);
		ofp_set16(p + 2, 16);
		ofp_set32(p + 4, a->value);
		ofp_set16(p + 8, a->value == OFGW_PORT_CONTROLLER ? a->max_len : 0);
		return 0;
	case OFGW_ACT_PUSH_MPLS:
	case OFGW_ACT_POP_MPLS:
		if ((p = ofp_buf_put(b, 8)) == NULL)
			return -ENOMEM;
		ofp_set16(p, a->type == OFGW_ACT_PUSH_MPLS ? OFPAT_PUSH_MPLS : OFPAT_POP_MPLS);
		ofp_set16(p + 2, 8);
		ofp_set16(p + 4, (uint16_t)a->value);
		return 0;
	case OFGW_ACT_SET_IP_DSCP:
	case OFGW_ACT_SET_MPLS_LABEL:
	case OFGW_ACT_SET_MPLS_TC:
		/* ofp_action_set_field: type, len, OXM TLV, pad to 8 (§7.2.5) */
		flen = a->type == OFGW_ACT_SET_MPLS_LABEL ? 4 : 1;
		if ((p = ofp_buf_put(b, pad8(8u + flen))) == NULL)
			return -ENOMEM;
		ofp_set16(p, OFPAT_SET_FIELD);
		ofp_set16(p + 2, (uint16_t)pad8(8u + flen));
		ofp_set16(p + 4, OXM_CLASS_BASIC);
		p[6] = (uint8_t)(set_field[a->type] << 1);
		p[7] = flen;
		put_be(p + 8, a->value, flen);
		return 0;
	}
	return -EINVAL;
}

int ofp_put_actions(struct ofp_buf *b, const struct ofgw_action *a, size_t n)
{
	size_t start = b->len;

	for (size_t i = 0; i < n; i++) {
		int rc = put_action(b, &a[i]);

		if (rc != 0) {
			b->len = start;
			return rc;
		}
	}
	return 0;
}

int ofp_put_instructions(struct ofp_buf *b, const struct ofgw_flow *f)
{
	size_t start = b->len;
	uint8_t *p;
	int rc;

	if (f->n_actions > 0) {
		if ((p = ofp_buf_put(b, 8)) == NULL)
			return -ENOMEM;
		ofp_set16(p, OFPIT_APPLY_ACTIONS);
		if ((rc = ofp_put_actions(b, f->actions, f->n_actions)) != 0) {
			b->len = start;
			return rc;
		}
		ofp_set16(b->data + start + 2, (uint16_t)(b->len - start));
	}
	if (f->goto_table != 0) {
		if ((p = ofp_buf_put(b, 8)) == NULL) {
			b->len = start;
			return -ENOMEM;
		}
		ofp_set16(p, OFPIT_GOTO_TABLE);
		ofp_set16(p + 2, 8);
		p[4] = f->goto_table;
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

static int bad(const char **why, const char *msg, int err)
{
	*why = msg;
	return err;
}

static uint32_t get_be(const uint8_t *p, uint8_t len)
{
	uint32_t v = 0;

	for (uint8_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static const struct oxm_desc *find_desc(uint8_t field)
{
	for (size_t i = 0; i < N_OXM; i++)
		if (oxm_descs[i].field == field)
			return &oxm_descs[i];
	return NULL;
}

/* Stores a known field's value (and mask) in canonical form. */
static void store_field(struct ofgw_match *m, const struct oxm_desc *d, const uint8_t *v,
			const uint8_t *mask)
{
	uint32_t x = d->len <= 4 ? get_be(v, d->len) : 0;
	uint32_t xm = mask != NULL && d->len <= 4 ? get_be(mask, d->len) : UINT32_MAX;

	switch (d->field) {
	case OXM_IN_PORT: ofgw_match_in_port(m, x); break;
	case OXM_ETH_DST: ofgw_match_eth_dst(m, v, mask); break;
	case OXM_ETH_SRC: ofgw_match_eth_src(m, v, mask); break;
	case OXM_ETH_TYPE: ofgw_match_eth_type(m, (uint16_t)x); break;
	case OXM_IP_DSCP: ofgw_match_ip_dscp(m, (uint8_t)x); break;
	case OXM_IP_PROTO: ofgw_match_ip_proto(m, (uint8_t)x); break;
	case OXM_IPV4_SRC: ofgw_match_ipv4_src(m, x, xm); break;
	case OXM_IPV4_DST: ofgw_match_ipv4_dst(m, x, xm); break;
	case OXM_TCP_SRC: ofgw_match_tcp_src(m, (uint16_t)x); break;
	case OXM_TCP_DST: ofgw_match_tcp_dst(m, (uint16_t)x); break;
	case OXM_UDP_SRC: ofgw_match_udp_src(m, (uint16_t)x); break;
	case OXM_UDP_DST: ofgw_match_udp_dst(m, (uint16_t)x); break;
	case OXM_MPLS_LABEL: ofgw_match_mpls_label(m, x); break;
	case OXM_MPLS_TC: ofgw_match_mpls_tc(m, (uint8_t)x); break;
	}
}

/* One OXM TLV at p (n bytes available); *used its length. */
static int get_oxm(const uint8_t *p, size_t n, struct ofgw_match *m, uint32_t *seen,
		   size_t *used, const char **why)
{
	const struct oxm_desc *d;
	uint8_t field, len;
	bool hasmask;

	if (n < 4)
		return bad(why, "OXM field header truncated", -EBADMSG);
	field = p[2] >> 1;
	hasmask = p[2] & 1;
	len = p[3];
	if ((size_t)4 + len > n)
		return bad(why, "OXM field runs past the match", -EBADMSG);
	*used = 4u + len;
	d = ofp_get16(p) == OXM_CLASS_BASIC ? find_desc(field) : NULL;
	if (d == NULL) {
		if (m->n_unknown < UINT8_MAX)
			m->n_unknown++;
		return 0;
	}
	if (len != (hasmask ? 2 * d->len : d->len))
		return bad(why, "OXM field has the wrong length", -EPROTO);
	if (hasmask && !d->maskable)
		return bad(why, "OXM field is masked but not maskable", -EPROTO);
	if (*seen & d->bit)
		return bad(why, "OXM field repeated in one match", -EPROTO);
	*seen |= d->bit;
	store_field(m, d, p + 4, hasmask ? p + 4 + d->len : NULL);
	return 0;
}

int ofp_get_match(const uint8_t *buf, size_t len, struct ofgw_match *m, size_t *used,
		  const char **why)
{
	uint32_t seen = 0;
	size_t mlen, off = 4, n;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len < 4)
		return bad(why, "match header truncated", -EBADMSG);
	if (ofp_get16(buf) != OFPMT_OXM)
		return bad(why, "match is not of type OXM", -EPROTO);
	mlen = ofp_get16(buf + 2);
	if (mlen < 4 || pad8(mlen) > len)
		return bad(why, "match length runs past the message", -EBADMSG);
	while (off < mlen) {
		if ((rc = get_oxm(buf + off, mlen - off, m, &seen, &n, why)) != 0)
			return rc;
		off += n;
	}
	*used = pad8(mlen);
	return 0;
}

static int get_set_field(const uint8_t *p, size_t alen, struct ofgw_action *a, bool *known,
			 const char **why)
{
	uint8_t field, flen;

	if (alen < 8 || (size_t)8 + p[7] > alen)
		return bad(why, "set_field action shorter than its field", -EBADMSG);
	field = p[6] >> 1;
	flen = p[7];
	*known = ofp_get16(p + 4) == OXM_CLASS_BASIC && !(p[6] & 1);
	if (*known && field == OXM_IP_DSCP && flen == 1)
		*a = (struct ofgw_action){ .type = OFGW_ACT_SET_IP_DSCP, .value = p[8] };
	else if (*known && field == OXM_MPLS_TC && flen == 1)
		*a = (struct ofgw_action){ .type = OFGW_ACT_SET_MPLS_TC, .value = p[8] };
	else if (*known && field == OXM_MPLS_LABEL && flen == 4)
		*a = (struct ofgw_action){ .type = OFGW_ACT_SET_MPLS_LABEL, .value = ofp_get32(p + 8) };
	else
		*known = false;
	return 0;
}

/* One action at p (n bytes available; *alen its length). *known is false
 * for an action we do not model. */
static int get_action(const uint8_t *p, size_t n, struct ofgw_action *a, bool *known,
		      size_t *alen, const char **why)
{
	uint16_t type;

	if (n < 8)
		return bad(why, "action header truncated", -EBADMSG);
	type = ofp_get16(p);
	*alen = ofp_get16(p + 2);
	if (*alen < 8 || *alen % 8 != 0 || *alen > n)
		return bad(why, "action length is not a multiple of 8 within its list", -EBADMSG);
	*known = true;
	switch (type) {
	case OFPAT_OUTPUT:
		if (*alen != 16)
			return bad(why, "output action is not 16 bytes", -EPROTO);
		*a = (struct ofgw_action){ .type = OFGW_ACT_OUTPUT, .value = ofp_get32(p + 4) };
		if (a->value == OFGW_PORT_CONTROLLER)
			a->max_len = ofp_get16(p + 8);
		return 0;
	case OFPAT_PUSH_MPLS:
	case OFPAT_POP_MPLS:
		if (*alen != 8)
			return bad(why, "push/pop_mpls action is not 8 bytes", -EPROTO);
		*a = (struct ofgw_action){ .type = type == OFPAT_PUSH_MPLS ? OFGW_ACT_PUSH_MPLS
									   : OFGW_ACT_POP_MPLS,
					   .value = ofp_get16(p + 4) };
		return 0;
	case OFPAT_SET_FIELD:
		return get_set_field(p, *alen, a, known, why);
	default:
		*known = false;
		return 0;
	}
}

int ofp_get_actions(const uint8_t *buf, size_t len, struct ofgw_action *a, uint8_t *n,
		    bool *foreign, const char **why)
{
	size_t off = 0, alen;
	struct ofgw_action act;
	bool known;
	int rc;

	*n = 0;
	while (off < len) {
		if ((rc = get_action(buf + off, len - off, &act, &known, &alen, why)) != 0)
			return rc;
		if (!known || *n >= OFGW_ACTIONS_MAX)
			*foreign = true;
		else
			a[(*n)++] = act;
		off += alen;
	}
	return 0;
}

int ofp_get_instructions(const uint8_t *buf, size_t len, struct ofgw_flow *f,
			 const char **why)
{
	bool foreign = false, seen_apply = false;
	size_t off = 0, ilen;
	int rc;

	while (off < len) {
		const uint8_t *p = buf + off;

		if (len - off < 8)
			return bad(why, "instruction header truncated", -EBADMSG);
		ilen = ofp_get16(p + 2);
		if (ilen < 8 || ilen % 8 != 0 || ilen > len - off)
			return bad(why, "instruction length is not a multiple of 8 within its list",
				   -EBADMSG);
		switch (ofp_get16(p)) {
		case OFPIT_GOTO_TABLE:
			if (ilen != 8)
				return bad(why, "goto_table instruction is not 8 bytes", -EPROTO);
			if (f->goto_table != 0 || p[4] == 0)
				foreign = true;
			f->goto_table = p[4];
			break;
		case OFPIT_APPLY_ACTIONS:
			if (seen_apply)
				foreign = true;
			seen_apply = true;
			rc = ofp_get_actions(p + 8, ilen - 8, f->actions, &f->n_actions, &foreign, why);
			if (rc != 0)
				return rc;
			break;
		default:
			foreign = true;
		}
		off += ilen;
	}
	if (foreign)
		f->foreign |= OFGW_FOREIGN_INSTR;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Formatting, in ovs-ofctl's words                                          */

struct fmt {
	char *buf;
	size_t len, off;
};

__attribute__((format(printf, 2, 3)))
static void out(struct fmt *f, const char *fmtstr, ...)
{
	va_list ap;
	int n;

	if (f->off >= f->len)
		return;
	va_start(ap, fmtstr);
	n = vsnprintf(f->buf + f->off, f->len - f->off, fmtstr, ap);
	va_end(ap);
	if (n > 0)
		f->off += (size_t)n;
}

static void out_ip(struct fmt *f, const char *name, uint32_t ip, uint32_t mask)
{
	out(f, ",%s=%u.%u.%u.%u", name, ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
	if (mask != UINT32_MAX)
		out(f, "/%u.%u.%u.%u", mask >> 24, mask >> 16 & 255, mask >> 8 & 255, mask & 255);
}

static void out_mac(struct fmt *f, const char *name, const uint8_t *mac, const uint8_t *mask)
{
	out(f, ",%s=%02x:%02x:%02x:%02x:%02x:%02x", name, mac[0], mac[1], mac[2], mac[3],
	    mac[4], mac[5]);
	if (!all_ones(mask, 6))
		out(f, "/%02x:%02x:%02x:%02x:%02x:%02x", mask[0], mask[1], mask[2], mask[3],
		    mask[4], mask[5]);
}

static void out_port(struct fmt *f, uint32_t p)
{
	switch (p) {
	case OFGW_PORT_IN_PORT: out(f, "IN_PORT"); break;
	case OFGW_PORT_NORMAL: out(f, "NORMAL"); break;
	case OFGW_PORT_FLOOD: out(f, "FLOOD"); break;
	case OFGW_PORT_ALL: out(f, "ALL"); break;
	case OFGW_PORT_CONTROLLER: out(f, "CONTROLLER"); break;
	case OFGW_PORT_LOCAL: out(f, "LOCAL"); break;
	default: out(f, "%u", p);
	}
}

static void out_match(struct fmt *f, const struct ofgw_match *m)
{
	uint32_t x = m->fields;

	if (x & OFGW_M_IN_PORT) {
		out(f, ",in_port=");
		out_port(f, m->in_port);
	}
	if (x & OFGW_M_ETH_TYPE)
		out(f, ",dl_type=0x%04x", m->eth_type);
	if (x & OFGW_M_ETH_SRC)
		out_mac(f, "dl_src", m->eth_src, m->eth_src_mask);
	if (x & OFGW_M_ETH_DST)
		out_mac(f, "dl_dst", m->eth_dst, m->eth_dst_mask);
	if (x & OFGW_M_IPV4_SRC)
		out_ip(f, "nw_src", m->ipv4_src, m->ipv4_src_mask);
	if (x & OFGW_M_IPV4_DST)
		out_ip(f, "nw_dst", m->ipv4_dst, m->ipv4_dst_mask);
	if (x & OFGW_M_IP_PROTO)
		out(f, ",nw_proto=%u", m->ip_proto);
	if (x & OFGW_M_IP_DSCP)
		out(f, ",ip_dscp=%u", m->ip_dscp);
	if (x & OFGW_M_TCP_SRC)
		out(f, ",tp_src=%u", m->tcp_src);
	if (x & OFGW_M_TCP_DST)
		out(f, ",tp_dst=%u", m->tcp_dst);
	if (x & OFGW_M_UDP_SRC)
		out(f, ",tp_src=%u", m->udp_src);
	if (x & OFGW_M_UDP_DST)
		out(f, ",tp_dst=%u", m->udp_dst);
	if (x & OFGW_M_MPLS_LABEL)
		out(f, ",mpls_label=%u", m->mpls_label);
	if (x & OFGW_M_MPLS_TC)
		out(f, ",mpls_tc=%u", m->mpls_tc);
	if (m->n_unknown)
		out(f, ",(%u unknown fields)", m->n_unknown);
}

static void out_action(struct fmt *f, const struct ofgw_action *a)
{
	switch (a->type) {
	case OFGW_ACT_OUTPUT:
		out(f, "output:");
		out_port(f, a->value);
		break;
	case OFGW_ACT_SET_IP_DSCP: out(f, "set_field:%u->ip_dscp", a->value); break;
	case OFGW_ACT_SET_MPLS_LABEL: out(f, "set_field:%u->mpls_label", a->value); break;
	case OFGW_ACT_SET_MPLS_TC: out(f, "set_field:%u->mpls_tc", a->value); break;
	case OFGW_ACT_PUSH_MPLS: out(f, "push_mpls:0x%04x", a->value); break;
	case OFGW_ACT_POP_MPLS: out(f, "pop_mpls:0x%04x", a->value); break;
	default: out(f, "?");
	}
}

const char *ofgw_flow_format(const struct ofgw_flow *fl, char *buf, size_t len)
{
	struct fmt f = { buf, len, 0 };

	if (len == 0)
		return buf;
	buf[0] = '\0';
	out(&f, "cookie=0x%llx, table=%u, priority=%u", (unsigned long long)fl->cookie,
	    fl->table_id, fl->priority);
	if (fl->idle_timeout_s)
		out(&f, ", idle_timeout=%u", fl->idle_timeout_s);
	if (fl->hard_timeout_s)
		out(&f, ", hard_timeout=%u", fl->hard_timeout_s);
	out_match(&f, &fl->match);
	out(&f, " actions=");
	for (unsigned i = 0; i < fl->n_actions; i++) {
		if (i > 0)
			out(&f, ",");
		out_action(&f, &fl->actions[i]);
	}
	if (fl->goto_table)
		out(&f, "%sgoto_table:%u", fl->n_actions ? "," : "", fl->goto_table);
	if (fl->n_actions == 0 && fl->goto_table == 0)
		out(&f, "drop");
	if (fl->foreign)
		out(&f, " (foreign)");
	return buf;
}
