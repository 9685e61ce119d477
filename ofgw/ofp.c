/* ofp.c — OpenFlow 1.3 messages: the ones rtvd sends, and the ones an Open
 * vSwitch sends to its controller.
 *
 * Layouts are those of the spec's appendix A (openflow.h of 1.3.5); offsets
 * are written out where a struct would hide padding. Every decoder checks a
 * length before the bytes it covers are read: the message's own length
 * against the buffer, then each nested length (hello elements, ports, flow
 * stats entries, matches, instructions, actions) against what contains it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/ofp.h"

#define OFPHET_VERSIONBITMAP 1
#define PORT_LEN 64		/* struct ofp_port */
#define FLOW_STATS_LEN 48	/* struct ofp_flow_stats without match/instructions */
#define PORT_STATS_LEN 112	/* struct ofp_port_stats */
#define FLOW_MOD_LEN 48		/* struct ofp_flow_mod without match/instructions */
#define MP_HDR_LEN 16		/* struct ofp_multipart_request/reply */

/* ------------------------------------------------------------------------- */
/* Buffer                                                                    */

void ofp_buf_init(struct ofp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ofp_buf_uninit(struct ofp_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void ofp_buf_clear(struct ofp_buf *b)
{
	b->len = 0;
}

uint8_t *ofp_buf_steal(struct ofp_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

uint8_t *ofp_buf_put(struct ofp_buf *b, size_t n)
{
	uint8_t *p;

	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap - b->len < n)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return NULL;
		b->data = p;
		b->cap = cap;
	}
	p = b->data + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

/* Starts a message: the header with its length to be filled by end_msg. */
static int start_msg(struct ofp_buf *b, uint8_t type, uint32_t xid, size_t body, size_t *start)
{
	uint8_t *p;

	*start = b->len;
	if ((p = ofp_buf_put(b, OFP_HEADER_LEN + body)) == NULL)
		return -ENOMEM;
	p[0] = OFP_VERSION_13;
	p[1] = type;
	ofp_set32(p + 4, xid);
	return 0;
}

/* Fills in the length; a message past 64 KiB cannot be sent: undo it. */
static int end_msg(struct ofp_buf *b, size_t start, int rc)
{
	size_t len = b->len - start;

	if (rc == 0 && len > OFP_MSG_MAX)
		rc = -EINVAL;
	if (rc != 0) {
		b->len = start;
		return rc;
	}
	ofp_set16(b->data + start + 2, (uint16_t)len);
	return 0;
}

static int put_bytes(struct ofp_buf *b, const void *data, size_t len)
{
	uint8_t *p;

	if (len == 0)
		return 0;
	if (len > OFP_MSG_MAX)
		return -EINVAL;
	if ((p = ofp_buf_put(b, len)) == NULL)
		return -ENOMEM;
	memcpy(p, data, len);
	return 0;
}

int ofp_encode_hello(struct ofp_buf *b, uint32_t xid)
{
	size_t start;
	uint8_t *p;
	int rc;

	if ((rc = start_msg(b, OFPT_HELLO, xid, 8, &start)) != 0)
		return rc;
	p = b->data + start + OFP_HEADER_LEN;
	ofp_set16(p, OFPHET_VERSIONBITMAP);
	ofp_set16(p + 2, 8);
	ofp_set32(p + 4, 1u << OFP_VERSION_13);
	return end_msg(b, start, 0);
}

int ofp_encode_error(struct ofp_buf *b, uint32_t xid, uint16_t type, uint16_t code,
		     const void *data, size_t len)
{
	size_t start;
	int rc;

	if ((rc = start_msg(b, OFPT_ERROR, xid, 4, &start)) != 0)
		return rc;
	ofp_set16(b->data + start + 8, type);
	ofp_set16(b->data + start + 10, code);
	return end_msg(b, start, put_bytes(b, data, len));
}

int ofp_encode_echo(struct ofp_buf *b, uint32_t xid, bool reply, const void *data, size_t len)
{
	size_t start;
	int rc;

	if ((rc = start_msg(b, reply ? OFPT_ECHO_REPLY : OFPT_ECHO_REQUEST, xid, 0, &start)) != 0)
		return rc;
	return end_msg(b, start, put_bytes(b, data, len));
}

int ofp_encode_simple(struct ofp_buf *b, uint32_t xid, enum ofp_type type)
{
	size_t start;
	int rc;

	if ((rc = start_msg(b, (uint8_t)type, xid, 0, &start)) != 0)
		return rc;
	return end_msg(b, start, 0);
}

static bool is_delete(enum ofp_flow_mod_command c)
{
	return c == OFPFC_DELETE || c == OFPFC_DELETE_STRICT;
}

/* Deletes may name every table and carry no instructions; adds and
 * modifies must be complete flows. */
static int check_flow_mod(const struct ofp_flow_mod *fm)
{
	struct ofgw_flow f;

	if ((unsigned)fm->command > OFPFC_DELETE_STRICT)
		return -EINVAL;
	if (!is_delete(fm->command))
		return ofgw_flow_check(&fm->flow, NULL, 0);
	f = fm->flow;
	f.table_id = 0;
	f.n_actions = 0;
	f.goto_table = 0;
	return ofgw_flow_check(&f, NULL, 0);
}

int ofp_encode_flow_mod(struct ofp_buf *b, uint32_t xid, const struct ofp_flow_mod *fm)
{
	const struct ofgw_flow *f = &fm->flow;
	size_t start;
	uint8_t *p;
	int rc;

	if ((rc = check_flow_mod(fm)) != 0)
		return rc;
	if ((rc = start_msg(b, OFPT_FLOW_MOD, xid, FLOW_MOD_LEN - OFP_HEADER_LEN, &start)) != 0)
		return rc;
	p = b->data + start;
	ofp_set64(p + 8, f->cookie);
	ofp_set64(p + 16, fm->command == OFPFC_ADD ? 0 : fm->cookie_mask);
	p[24] = f->table_id;
	p[25] = (uint8_t)fm->command;
	ofp_set16(p + 26, f->idle_timeout_s);
	ofp_set16(p + 28, f->hard_timeout_s);
	ofp_set16(p + 30, f->priority);
	ofp_set32(p + 32, OFP_NO_BUFFER);
	ofp_set32(p + 36, is_delete(fm->command) ? fm->out_port : OFGW_PORT_ANY);
	ofp_set32(p + 40, OFP_GROUP_ANY);
	ofp_set16(p + 44, f->flags);
	rc = ofp_put_match(b, &f->match);
	if (rc == 0 && !is_delete(fm->command))
		rc = ofp_put_instructions(b, f);
	return end_msg(b, start, rc);
}

static int start_multipart(struct ofp_buf *b, uint32_t xid, uint16_t type, size_t body,
			   size_t *start)
{
	int rc = start_msg(b, OFPT_MULTIPART_REQUEST, xid, MP_HDR_LEN - OFP_HEADER_LEN + body,
			   start);

	if (rc == 0)
		ofp_set16(b->data + *start + 8, type);
	return rc;
}

int ofp_encode_flow_stats_request(struct ofp_buf *b, uint32_t xid, uint8_t table_id,
				  uint64_t cookie, uint64_t cookie_mask,
				  const struct ofgw_match *match)
{
	static const struct ofgw_match any;
	size_t start;
	uint8_t *p;
	int rc;

	if (match != NULL && match->n_unknown)
		return -EINVAL;
	if ((rc = start_multipart(b, xid, OFPMP_FLOW, 32, &start)) != 0)
		return rc;
	p = b->data + start + MP_HDR_LEN;
	p[0] = table_id;
	ofp_set32(p + 4, OFGW_PORT_ANY);
	ofp_set32(p + 8, OFP_GROUP_ANY);
	ofp_set64(p + 16, cookie);
	ofp_set64(p + 24, cookie_mask);
	return end_msg(b, start, ofp_put_match(b, match != NULL ? match : &any));
}

int ofp_encode_port_desc_request(struct ofp_buf *b, uint32_t xid)
{
	size_t start;
	int rc;

	if ((rc = start_multipart(b, xid, OFPMP_PORT_DESC, 0, &start)) != 0)
		return rc;
	return end_msg(b, start, 0);
}

int ofp_encode_port_stats_request(struct ofp_buf *b, uint32_t xid, uint32_t port_no)
{
	size_t start;
	int rc;

	if ((rc = start_multipart(b, xid, OFPMP_PORT_STATS, 8, &start)) != 0)
		return rc;
	ofp_set32(b->data + start + MP_HDR_LEN, port_no);
	return end_msg(b, start, 0);
}

int ofp_encode_packet_out(struct ofp_buf *b, uint32_t xid, uint32_t in_port,
			  const struct ofgw_action *actions, size_t n_actions,
			  const void *data, size_t len)
{
	size_t start, alen;
	uint8_t *p;
	int rc;

	if ((rc = start_msg(b, OFPT_PACKET_OUT, xid, 16, &start)) != 0)
		return rc;
	p = b->data + start;
	ofp_set32(p + 8, OFP_NO_BUFFER);
	ofp_set32(p + 12, in_port);
	rc = ofp_put_actions(b, actions, n_actions);
	alen = b->len - start - 24;
	if (rc == 0)
		ofp_set16(b->data + start + 16, (uint16_t)alen);
	if (rc == 0)
		rc = put_bytes(b, data, len);
	return end_msg(b, start, rc);
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

static int bad(const char **why, const char *msg, int err)
{
	*why = msg;
	return err;
}

int ofp_peek_header(const uint8_t *buf, size_t len, struct ofp_header *h, const char **why)
{
	if (len < OFP_HEADER_LEN)
		return bad(why, "message shorter than the OpenFlow header", -EBADMSG);
	h->version = buf[0];
	h->type = buf[1];
	h->length = ofp_get16(buf + 2);
	h->xid = ofp_get32(buf + 4);
	if (h->length < OFP_HEADER_LEN)
		return bad(why, "header length below 8", -EBADMSG);
	return 0;
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* §7.5.1: elements are TLVs padded to 8 bytes; the version bitmap is a list
 * of 32-bit words, bit n of word 0 standing for version n. */
static int decode_hello(const uint8_t *buf, size_t len, struct ofp_msg *m, const char **why)
{
	size_t off = OFP_HEADER_LEN;

	if (m->h.version < OFP_VERSION_13)
		return 0;	/* older hellos may carry anything: ignored */
	while (len - off >= 4) {
		uint16_t type = ofp_get16(buf + off), elen = ofp_get16(buf + off + 2);

		if (elen < 4 || elen > len - off)
			return bad(why, "hello element length outside the message", -EBADMSG);
		if (type == OFPHET_VERSIONBITMAP) {
			if (elen < 8 || (elen - 4) % 4 != 0)
				return bad(why, "hello version bitmap is not whole words", -EPROTO);
			m->u.hello.has_bitmap = true;
			m->u.hello.bitmap = ofp_get32(buf + off + 4);
		}
		off += pad8(elen) < len - off ? pad8(elen) : len - off;
	}
	return 0;
}

static void get_port(const uint8_t *p, struct ofgw_port *port)
{
	memset(port, 0, sizeof(*port));
	port->no = ofp_get32(p);
	memcpy(port->hw_addr, p + 8, 6);
	memcpy(port->name, p + 16, OFGW_PORT_NAME_MAX - 1);	/* NUL-terminated by memset */
	port->config = ofp_get32(p + 32);
	port->state = ofp_get32(p + 36);
	port->curr_speed_kbps = ofp_get32(p + 56);
	port->max_speed_kbps = ofp_get32(p + 60);
}

/* struct ofp_packet_in: buffer_id, total_len, reason, table_id, cookie,
 * match, 2 bytes of pad, then the frame. */
static int decode_packet_in(const uint8_t *buf, size_t len, struct ofp_msg *m,
			    const char **why)
{
	struct ofgw_packet_in *pi = &m->u.packet_in;
	size_t used;
	int rc;

	if (len < 24 + 8)
		return bad(why, "packet-in shorter than its fixed part", -EBADMSG);
	pi->buffer_id = ofp_get32(buf + 8);
	pi->total_len = ofp_get16(buf + 12);
	pi->reason = buf[14];
	pi->table_id = buf[15];
	pi->cookie = ofp_get64(buf + 16);
	if ((rc = ofp_get_match(buf + 24, len - 24, &pi->match, &used, why)) != 0)
		return rc;
	if (len - 24 - used < 2)
		return bad(why, "packet-in lacks the pad before its data", -EBADMSG);
	pi->data = buf + 24 + used + 2;
	pi->data_len = len - 24 - used - 2;
	return 0;
}

static int decode_body(const uint8_t *buf, size_t len, struct ofp_msg *m, const char **why)
{
	switch (m->h.type) {
	case OFPT_ERROR:
		if (len < 12)
			return bad(why, "error message shorter than 12 bytes", -EBADMSG);
		m->u.error.type = ofp_get16(buf + 8);
		m->u.error.code = ofp_get16(buf + 10);
		m->u.error.data = buf + 12;
		m->u.error.len = len - 12;
		return 0;
	case OFPT_ECHO_REQUEST:
	case OFPT_ECHO_REPLY:
		m->u.echo.data = buf + 8;
		m->u.echo.len = len - 8;
		return 0;
	case OFPT_FEATURES_REPLY:
		if (len < 32)
			return bad(why, "features reply shorter than 32 bytes", -EBADMSG);
		m->u.features.dpid = ofp_get64(buf + 8);
		m->u.features.n_buffers = ofp_get32(buf + 16);
		m->u.features.n_tables = buf[20];
		m->u.features.auxiliary_id = buf[21];
		m->u.features.capabilities = ofp_get32(buf + 24);
		return 0;
	case OFPT_PORT_STATUS:
		if (len < 16 + PORT_LEN)
			return bad(why, "port-status shorter than 80 bytes", -EBADMSG);
		m->u.port_status.reason = buf[8];
		if (buf[8] > OFPPR_MODIFY)
			return bad(why, "port-status reason unknown", -EPROTO);
		get_port(buf + 16, &m->u.port_status.port);
		return 0;
	case OFPT_PACKET_IN:
		return decode_packet_in(buf, len, m, why);
	case OFPT_MULTIPART_REPLY:
		if (len < MP_HDR_LEN)
			return bad(why, "multipart reply shorter than 16 bytes", -EBADMSG);
		m->u.multipart.type = ofp_get16(buf + 8);
		m->u.multipart.flags = ofp_get16(buf + 10);
		m->u.multipart.body = buf + MP_HDR_LEN;
		m->u.multipart.len = len - MP_HDR_LEN;
		return 0;
	default:
		return 0;
	}
}

int ofp_decode(const uint8_t *buf, size_t len, struct ofp_msg *m, const char **why)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = ofp_peek_header(buf, len, &m->h, why)) != 0)
		return rc;
	if (m->h.length != len)
		return bad(why, "header length differs from the message's size", -EBADMSG);
	if (m->h.type == OFPT_HELLO)
		return decode_hello(buf, len, m, why);
	if (m->h.version != OFP_VERSION_13 && m->h.type != OFPT_ERROR)
		return 0;
	return decode_body(buf, len, m, why);
}

int ofp_next_port(const uint8_t *body, size_t len, size_t *off, struct ofgw_port *out,
		  const char **why)
{
	if (*off >= len)
		return 0;
	if (len - *off < PORT_LEN)
		return bad(why, "port description truncated", -EBADMSG);
	get_port(body + *off, out);
	*off += PORT_LEN;
	return 1;
}

int ofp_next_port_stats(const uint8_t *body, size_t len, size_t *off,
			struct ofgw_port_stats *out, const char **why)
{
	const uint8_t *p = body + *off;

	if (*off >= len)
		return 0;
	if (len - *off < PORT_STATS_LEN)
		return bad(why, "port stats entry truncated", -EBADMSG);
	memset(out, 0, sizeof(*out));
	out->port_no = ofp_get32(p);
	out->rx_packets = ofp_get64(p + 8);
	out->tx_packets = ofp_get64(p + 16);
	out->rx_bytes = ofp_get64(p + 24);
	out->tx_bytes = ofp_get64(p + 32);
	out->rx_dropped = ofp_get64(p + 40);
	out->tx_dropped = ofp_get64(p + 48);
	out->rx_errors = ofp_get64(p + 56);
	out->tx_errors = ofp_get64(p + 64);
	out->duration_s = ofp_get32(p + 104);
	*off += PORT_STATS_LEN;
	return 1;
}

/* struct ofp_flow_stats: length, table_id, pad, duration_sec, duration_nsec,
 * priority, idle_timeout, hard_timeout, flags, pad[4], cookie, packet_count,
 * byte_count, match, instructions to `length`. */
int ofp_next_flow_stats(const uint8_t *body, size_t len, size_t *off, struct ofgw_flow *f,
			const char **why)
{
	const uint8_t *p = body + *off;
	size_t elen, used;
	int rc;

	if (*off >= len)
		return 0;
	if (len - *off < FLOW_STATS_LEN + 8)
		return bad(why, "flow stats entry truncated", -EBADMSG);
	elen = ofp_get16(p);
	if (elen < FLOW_STATS_LEN + 8 || elen > len - *off)
		return bad(why, "flow stats entry length outside the reply", -EBADMSG);
	memset(f, 0, sizeof(*f));
	f->table_id = p[2];
	f->duration_s = ofp_get32(p + 4);
	f->priority = ofp_get16(p + 12);
	f->idle_timeout_s = ofp_get16(p + 14);
	f->hard_timeout_s = ofp_get16(p + 16);
	f->flags = ofp_get16(p + 18);
	f->cookie = ofp_get64(p + 24);
	f->packet_count = ofp_get64(p + 32);
	f->byte_count = ofp_get64(p + 40);
	rc = ofp_get_match(p + FLOW_STATS_LEN, elen - FLOW_STATS_LEN, &f->match, &used, why);
	if (rc != 0)
		return rc;
	if (f->match.n_unknown)
		f->foreign |= OFGW_FOREIGN_MATCH;
	rc = ofp_get_instructions(p + FLOW_STATS_LEN + used, elen - FLOW_STATS_LEN - used, f, why);
	if (rc != 0)
		return rc;
	*off += elen;
	return 1;
}

/* ------------------------------------------------------------------------- */
/* Names                                                                     */

const char *ofp_type_name(uint8_t type)
{
	static const char *const names[] = {
		"HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "EXPERIMENTER",
		"FEATURES_REQUEST", "FEATURES_REPLY", "GET_CONFIG_REQUEST",
		"GET_CONFIG_REPLY", "SET_CONFIG", "PACKET_IN", "FLOW_REMOVED",
		"PORT_STATUS", "PACKET_OUT", "FLOW_MOD", "GROUP_MOD", "PORT_MOD",
		"TABLE_MOD", "MULTIPART_REQUEST", "MULTIPART_REPLY", "BARRIER_REQUEST",
		"BARRIER_REPLY",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "UNKNOWN";
}

const char *ofp_error_type_name(uint16_t type)
{
	static const char *const names[] = {
		"OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION",
		"OFPET_BAD_INSTRUCTION", "OFPET_BAD_MATCH", "OFPET_FLOW_MOD_FAILED",
		"OFPET_GROUP_MOD_FAILED", "OFPET_PORT_MOD_FAILED", "OFPET_TABLE_MOD_FAILED",
		"OFPET_QUEUE_OP_FAILED", "OFPET_SWITCH_CONFIG_FAILED", "OFPET_ROLE_REQUEST_FAILED",
		"OFPET_METER_MOD_FAILED", "OFPET_TABLE_FEATURES_FAILED",
	};

	if (type == 0xffff)
		return "OFPET_EXPERIMENTER";
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "OFPET_UNKNOWN";
}
