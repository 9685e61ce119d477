/* ofp.h — our OpenFlow 1.3 codec (private to ofgw/).
 *
 * Encoders append one complete message to a growable buffer; the bytes
 * depend only on the arguments (pads are zero, match fields in OXM field
 * order), so golden tests can compare them. Decoders check every length
 * against the message and the message against the buffer before reading,
 * and turn the wire into the version-independent structs of ofgw.h. A
 * malformed message gives -EBADMSG (lengths inconsistent, truncated) or
 * -EPROTO (a value that OpenFlow 1.3 does not allow there) with a static
 * reason string in *why; the caller counts and logs it.
 *
 * Decoded messages copy every structured field out of the buffer; the
 * opaque payloads (echo data, error data, packet-in data, multipart bodies)
 * are views into it, valid as long as the buffer is.
 *
 * Spec references are to the OpenFlow Switch Specification 1.3.5 (ONF
 * TS-023).
 */
#ifndef RTV_OFGW_OFP_H
#define RTV_OFGW_OFP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofgw/ofgw.h"

#define OFP_VERSION_13 0x04
#define OFP_HEADER_LEN 8
#define OFP_MSG_MAX 65535
#define OFP_NO_BUFFER 0xffffffffu
#define OFP_TABLE_ALL 0xff
#define OFP_GROUP_ANY 0xffffffffu

enum ofp_type {
	OFPT_HELLO = 0,
	OFPT_ERROR = 1,
	OFPT_ECHO_REQUEST = 2,
	OFPT_ECHO_REPLY = 3,
	OFPT_EXPERIMENTER = 4,
	OFPT_FEATURES_REQUEST = 5,
	OFPT_FEATURES_REPLY = 6,
	OFPT_GET_CONFIG_REQUEST = 7,
	OFPT_GET_CONFIG_REPLY = 8,
	OFPT_SET_CONFIG = 9,
	OFPT_PACKET_IN = 10,
	OFPT_FLOW_REMOVED = 11,
	OFPT_PORT_STATUS = 12,
	OFPT_PACKET_OUT = 13,
	OFPT_FLOW_MOD = 14,
	OFPT_GROUP_MOD = 15,
	OFPT_PORT_MOD = 16,
	OFPT_TABLE_MOD = 17,
	OFPT_MULTIPART_REQUEST = 18,
	OFPT_MULTIPART_REPLY = 19,
	OFPT_BARRIER_REQUEST = 20,
	OFPT_BARRIER_REPLY = 21,
	OFPT_ROLE_REQUEST = 24,
	OFPT_ROLE_REPLY = 25,
	OFPT_GET_ASYNC_REQUEST = 26,
	OFPT_GET_ASYNC_REPLY = 27,
	OFPT_SET_ASYNC = 28,
	OFPT_METER_MOD = 29,
};

enum ofp_flow_mod_command {
	OFPFC_ADD = 0,
	OFPFC_MODIFY = 1,
	OFPFC_MODIFY_STRICT = 2,
	OFPFC_DELETE = 3,
	OFPFC_DELETE_STRICT = 4,
};

enum ofp_multipart_type {
	OFPMP_DESC = 0,
	OFPMP_FLOW = 1,
	OFPMP_PORT_STATS = 4,
	OFPMP_PORT_DESC = 13,
};
#define OFPMPF_MORE 1	/* multipart flags: more parts follow */

enum ofp_error_type {
	OFPET_HELLO_FAILED = 0,
	OFPET_BAD_REQUEST = 1,
	OFPET_BAD_ACTION = 2,
	OFPET_BAD_INSTRUCTION = 3,
	OFPET_BAD_MATCH = 4,
	OFPET_FLOW_MOD_FAILED = 5,
};
#define OFPHFC_INCOMPATIBLE 0
#define OFPBRC_BAD_VERSION 0
#define OFPBRC_BAD_TYPE 1

enum ofp_port_reason { OFPPR_ADD = 0, OFPPR_DELETE = 1, OFPPR_MODIFY = 2 };

/* A growable output buffer. */
struct ofp_buf {
	uint8_t *data;
	size_t len, cap;
};
void ofp_buf_init(struct ofp_buf *b);
void ofp_buf_uninit(struct ofp_buf *b);
void ofp_buf_clear(struct ofp_buf *b);
/* Hands the bytes over (caller frees) and leaves b empty. */
uint8_t *ofp_buf_steal(struct ofp_buf *b, size_t *len);

/* ------------------------------------------------------------------------- */
/* Encoding: each returns 0, -ENOMEM, or -EINVAL for arguments OpenFlow      */
/* cannot carry (then b is unchanged).                                       */

/* HELLO with a version-bitmap element announcing 1.3 only (§7.5.1). */
int ofp_encode_hello(struct ofp_buf *b, uint32_t xid);
/* ERROR type/code with data; for HELLO_FAILED the data is ASCII text. */
int ofp_encode_error(struct ofp_buf *b, uint32_t xid, uint16_t type, uint16_t code,
		     const void *data, size_t len);
int ofp_encode_echo(struct ofp_buf *b, uint32_t xid, bool reply, const void *data,
		    size_t len);
/* Header-only requests: FEATURES_REQUEST, BARRIER_REQUEST, ... */
int ofp_encode_simple(struct ofp_buf *b, uint32_t xid, enum ofp_type type);

struct ofp_flow_mod {
	enum ofp_flow_mod_command command;
	struct ofgw_flow flow;	/* table_id: OFP_TABLE_ALL allowed for deletes */
	uint64_t cookie_mask;	/* modify/delete: which cookie bits must match */
	uint32_t out_port;	/* delete: OFGW_PORT_ANY for no restriction */
};
int ofp_encode_flow_mod(struct ofp_buf *b, uint32_t xid, const struct ofp_flow_mod *fm);

/* MULTIPART_REQUEST for flows: table (OFP_TABLE_ALL), cookie/mask, match
 * (NULL = all). */
int ofp_encode_flow_stats_request(struct ofp_buf *b, uint32_t xid, uint8_t table_id,
				  uint64_t cookie, uint64_t cookie_mask,
				  const struct ofgw_match *match);
int ofp_encode_port_desc_request(struct ofp_buf *b, uint32_t xid);
int ofp_encode_port_stats_request(struct ofp_buf *b, uint32_t xid, uint32_t port_no);
/* PACKET_OUT of data (no buffer) with the given actions. */
int ofp_encode_packet_out(struct ofp_buf *b, uint32_t xid, uint32_t in_port,
			  const struct ofgw_action *actions, size_t n_actions,
			  const void *data, size_t len);

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

struct ofp_header {
	uint8_t version, type;
	uint16_t length;
	uint32_t xid;
};

/* Parses the 8-byte header at buf (len >= 8) without looking further:
 * -EBADMSG when length < 8. Used for framing a stream. */
int ofp_peek_header(const uint8_t *buf, size_t len, struct ofp_header *h, const char **why);

struct ofp_msg {
	struct ofp_header h;
	union {
		struct {
			bool has_bitmap;
			uint32_t bitmap;	/* bit n: version n supported */
		} hello;
		struct {
			uint16_t type, code;
			const uint8_t *data;
			size_t len;
		} error;
		struct {	/* ECHO_REQUEST, ECHO_REPLY */
			const uint8_t *data;
			size_t len;
		} echo;
		struct {
			uint64_t dpid;
			uint32_t n_buffers, capabilities;
			uint8_t n_tables, auxiliary_id;
		} features;
		struct {
			uint8_t reason;		/* OFPPR_* */
			struct ofgw_port port;
		} port_status;
		struct ofgw_packet_in packet_in;
		struct {	/* MULTIPART_REPLY; the body is checked by the
				 * iterators below */
			uint16_t type, flags;
			const uint8_t *body;
			size_t len;
		} multipart;
	} u;
};

/* Decodes one whole message (buf holds exactly h.length bytes). Messages of
 * other types than those in the union decode to their header only. For
 * OpenFlow versions other than 1.3 only HELLO and ERROR are decoded (the
 * version negotiation needs them). 0, -EBADMSG or -EPROTO with *why. */
int ofp_decode(const uint8_t *buf, size_t len, struct ofp_msg *m, const char **why);

/* Multipart reply bodies: each call decodes the entry at *off and advances
 * it. Returns 1 with *out filled, 0 at the end of the body, or -EBADMSG /
 * -EPROTO with *why (the rest of the body is unusable). */
int ofp_next_flow_stats(const uint8_t *body, size_t len, size_t *off, struct ofgw_flow *out,
			const char **why);
int ofp_next_port(const uint8_t *body, size_t len, size_t *off, struct ofgw_port *out,
		  const char **why);
int ofp_next_port_stats(const uint8_t *body, size_t len, size_t *off,
			struct ofgw_port_stats *out, const char **why);

/* ------------------------------------------------------------------------- */
/* Match, instructions and actions (oxm.c), shared by the message codecs.    */

/* Appends struct ofp_match (OXM type, padded to 8 bytes). */
int ofp_put_match(struct ofp_buf *b, const struct ofgw_match *m);
/* Appends the instructions of a flow (apply_actions, goto_table). */
int ofp_put_instructions(struct ofp_buf *b, const struct ofgw_flow *f);
/* Appends an action list; returns its length in bytes through *len. */
int ofp_put_actions(struct ofp_buf *b, const struct ofgw_action *a, size_t n);
/* Decodes the struct ofp_match at buf (len available); *used = its padded
 * length. */
int ofp_get_match(const uint8_t *buf, size_t len, struct ofgw_match *m, size_t *used,
		  const char **why);
/* Decodes an instruction list of exactly len bytes into f. */
int ofp_get_instructions(const uint8_t *buf, size_t len, struct ofgw_flow *f,
			 const char **why);
/* Decodes an action list of exactly len bytes; unknown actions set
 * *foreign. */
int ofp_get_actions(const uint8_t *buf, size_t len, struct ofgw_action *a, uint8_t *n,
		    bool *foreign, const char **why);

/* Names for logs: "FLOW_MOD", "OFPET_BAD_MATCH", ... */
const char *ofp_type_name(uint8_t type);
const char *ofp_error_type_name(uint16_t type);

/* Byte order helpers (unaligned, big-endian). */
static inline uint16_t ofp_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ofp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t ofp_get64(const uint8_t *p)
{
	return (uint64_t)ofp_get32(p) << 32 | ofp_get32(p + 4);
}
static inline void ofp_set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void ofp_set32(uint8_t *p, uint32_t v)
{
	ofp_set16(p, (uint16_t)(v >> 16));
	ofp_set16(p + 2, (uint16_t)v);
}
static inline void ofp_set64(uint8_t *p, uint64_t v)
{
	ofp_set32(p, (uint32_t)(v >> 32));
	ofp_set32(p + 4, (uint32_t)v);
}

/* Reserves n zeroed bytes at the end of b; returns a pointer to them or NULL
 * (-ENOMEM). The pointer is valid until the next append. */
uint8_t *ofp_buf_put(struct ofp_buf *b, size_t n);

#endif /* RTV_OFGW_OFP_H */
