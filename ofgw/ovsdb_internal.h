/* ovsdb_internal.h — private to the OVSDB client (ovsdb.c, jsonrpc.c,
 * ovsdb_data.c, ovsdb_ensure.c): the pure parts, with no I/O, so unit tests
 * and the fuzz harness drive them with bytes and JSON.
 *
 *   jsonrpc.c       stream framing, JSON-RPC 1.0 message shapes
 *   ovsdb_data.c    OVSDB datum decoding (RFC 7047 §5.1), the monitor
 *                   replica and the port view built from it
 *   ovsdb_ensure.c  the read and write transactions that ensure the bridge
 */
#ifndef RTV_OFGW_OVSDB_INTERNAL_H
#define RTV_OFGW_OVSDB_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofgw/ovsdb.h"

#define OFGW_OVSDB_DB "Open_vSwitch"
#define OFGW_JRPC_DEPTH_MAX 128		/* nesting a framed message may have */

/* ------------------------------------------------------------------------- */
/* Framing (jsonrpc.c)                                                       */

/* OVSDB sends JSON objects back to back with no delimiter (RFC 7047 §4:
 * "JSON-RPC ... over a stream"). The framer finds where each top-level
 * object ends by counting brackets outside strings, resumable at any byte,
 * so each byte is scanned once however the stream is split. It does not
 * validate JSON: jansson does that on the framed message. */
struct ofgw_jrpc_framer {
	/* private */
	char *buf;
	size_t len, cap;	/* bytes held */
	size_t start;		/* first byte of the message being scanned */
	size_t pos;		/* next byte to scan */
	size_t max_bytes;	/* largest message */
	unsigned depth;
	bool in_string, escape;
	int error;		/* once failed: the error, for good */
};

void ofgw_jrpc_framer_init(struct ofgw_jrpc_framer *f, size_t max_bytes);
void ofgw_jrpc_framer_close(struct ofgw_jrpc_framer *f);
/* Forgets everything held (a new connection). */
void ofgw_jrpc_framer_reset(struct ofgw_jrpc_framer *f);
/* Appends n bytes. The framer holds at most one partial message (bounded by
 * max_bytes through _next) plus what the last feed added. 0 or -ENOMEM. */
int ofgw_jrpc_framer_feed(struct ofgw_jrpc_framer *f, const void *data, size_t n);
/* The next complete message: returns 1 with *msg, *len (valid until the next
 * feed or reset), 0 when more bytes are needed, or, for good (until reset):
 * -EMSGSIZE (a message longer than max_bytes), -EPROTO (a top-level byte
 * that does not start an object, or nesting deeper than
 * OFGW_JRPC_DEPTH_MAX). */
int ofgw_jrpc_framer_next(struct ofgw_jrpc_framer *f, const char **msg, size_t *len);

/* ------------------------------------------------------------------------- */
/* JSON-RPC 1.0 messages (jsonrpc.c)                                         */

enum ofgw_jrpc_kind {
	OFGW_JRPC_REQUEST = 1,	/* method, params, id != null */
	OFGW_JRPC_NOTIFY,	/* method, params, id == null */
	OFGW_JRPC_REPLY,	/* result, error == null, id */
	OFGW_JRPC_ERROR,	/* error != null, id */
};

/* Borrowed views into the parsed message. */
struct ofgw_jrpc_msg {
	enum ofgw_jrpc_kind kind;
	const char *method;
	json_t *params;		/* an array */
	json_t *id;
	json_t *result;
	json_t *error;
};

/* Parses one framed message. Returns 0 with *root (caller json_decref's)
 * and m filled, or -EPROTO with err saying what was wrong. */
int ofgw_jrpc_parse(const char *data, size_t len, json_t **root, struct ofgw_jrpc_msg *m,
		    char err[OFGW_OVSDB_ERRLEN]);
/* {"method", "params", "id"}; steals params. NULL on ENOMEM. */
json_t *ofgw_jrpc_request(const char *method, json_t *params, json_int_t id);
/* {"result", "error": null, "id"}; steals result, copies id. */
json_t *ofgw_jrpc_reply(json_t *result, const json_t *id);
/* Serialises msg compactly: heap string (free()), *len without the NUL. */
char *ofgw_jrpc_dump(const json_t *msg, size_t *len);
/* Writes an OVSDB error object ({"error": s, "details": s, ...}) or any
 * other JSON as one line of text: "error: details". */
void ofgw_jrpc_error_text(const json_t *error, char *out, size_t n);

/* ------------------------------------------------------------------------- */
/* OVSDB data (ovsdb_data.c), RFC 7047 §5.1                                  */

#define OFGW_UUID_LEN 36

/* A set datum, viewed: either a bare atom (n = 1) or ["set", [atoms]]. */
struct ofgw_odb_set {
	const json_t *single;
	const json_t *arr;
	size_t n;
};

bool ofgw_odb_is_uuid_str(const char *s);
/* ["uuid", "…"] → its string (borrowed) or NULL. */
const char *ofgw_odb_uuid(const json_t *atom);
int ofgw_odb_set_view(const json_t *datum, struct ofgw_odb_set *s);
const json_t *ofgw_odb_set_at(const struct ofgw_odb_set *s, size_t i);
/* Every element a uuid atom; 0 or -EINVAL. */
int ofgw_odb_uuid_set(const json_t *datum, struct ofgw_odb_set *s);
bool ofgw_odb_uuid_set_has(const struct ofgw_odb_set *s, const char *uuid);
/* A string column (exactly one string): 0, -EINVAL, -ENAMETOOLONG. */
int ofgw_odb_string(const json_t *datum, char *out, size_t n);
/* An optional string: "" when the set is empty. */
int ofgw_odb_opt_string(const json_t *datum, char *out, size_t n);
/* An optional integer: *present false when the set is empty. */
int ofgw_odb_opt_integer(const json_t *datum, int64_t *v, bool *present);
/* A set of strings: true when it is exactly {want}. -EINVAL if malformed. */
int ofgw_odb_string_set_is(const json_t *datum, const char *want, bool *is);
/* A string→string map: 0 with *val (borrowed), -ENOENT, or -EINVAL. */
int ofgw_odb_map_get(const json_t *datum, const char *key, const char **val);

/* The monitored tables. */
enum ofgw_odb_table { OFGW_ODB_BRIDGE, OFGW_ODB_PORT, OFGW_ODB_INTERFACE, OFGW_ODB_N_TABLES };

/* Rows by uuid, one JSON object per table: {"<uuid>": {column: datum}}. */
struct ofgw_odb_replica {
	json_t *rows[OFGW_ODB_N_TABLES];
};

int ofgw_odb_replica_init(struct ofgw_odb_replica *r);
void ofgw_odb_replica_close(struct ofgw_odb_replica *r);
void ofgw_odb_replica_clear(struct ofgw_odb_replica *r);
/* The "monitor" request's params (monitor id `mon_id`). NULL on ENOMEM. */
json_t *ofgw_odb_monitor_params(const char *mon_id);
/* Applies a <table-updates> (RFC 7047 §4.1.6) after checking all of it: on
 * -EPROTO (err says where) the replica is unchanged. -ENOMEM possible. */
int ofgw_odb_replica_apply(struct ofgw_odb_replica *r, const json_t *updates,
			   char err[OFGW_OVSDB_ERRLEN]);

/* The bridge's interfaces, sorted by name (no duplicates). */
struct ofgw_odb_view {
	struct ofgw_ovsdb_port *ports;
	size_t n, cap;
};

void ofgw_odb_view_init(struct ofgw_odb_view *v);
void ofgw_odb_view_close(struct ofgw_odb_view *v);
void ofgw_odb_view_swap(struct ofgw_odb_view *a, struct ofgw_odb_view *b);
/* Builds the view of `bridge` from the replica into v (emptied first).
 * Malformed rows and fields are skipped and counted in *n_bad (a line is
 * logged through rl). 0 or -ENOMEM. */
struct rtv_ratelimit;
int ofgw_odb_view_build(const struct ofgw_odb_replica *r, const char *bridge,
			struct ofgw_odb_view *v, uint64_t *n_bad, struct rtv_ratelimit *rl);
const struct ofgw_ovsdb_port *ofgw_odb_view_find(const struct ofgw_odb_view *v, const char *name);

enum ofgw_odb_change { OFGW_ODB_REMOVED, OFGW_ODB_CHANGED, OFGW_ODB_ADDED };
/* Calls fn for every difference from old to cur: removals first, then
 * changes, then additions, each in name order. fn returns false to stop. */
void ofgw_odb_view_diff(const struct ofgw_odb_view *old, const struct ofgw_odb_view *cur,
			bool (*fn)(void *arg, enum ofgw_odb_change ch,
				   const struct ofgw_ovsdb_port *was,
				   const struct ofgw_ovsdb_port *now),
			void *arg);

/* ------------------------------------------------------------------------- */
/* Ensuring the bridge (ovsdb_ensure.c)                                      */

/* 0 or -EINVAL with err. */
int ofgw_odb_spec_check(const char *bridge, const struct ofgw_ovsdb_bridge_spec *s,
			char err[OFGW_OVSDB_ERRLEN]);
/* The read transaction's params: every Bridge (all bridges, to find the
 * one holding the internal port), the internal Port and Interface by name,
 * every Controller, the Open_vSwitch row. NULL on ENOMEM. */
json_t *ofgw_odb_ensure_read(const struct ofgw_ovsdb_bridge_spec *s);
/* From the read transaction's result, the write transaction's params in
 * *write (NULL when nothing differs). 0, or -EEXIST (int port on another
 * bridge), -EPROTO (malformed result), -ENOMEM, with err. */
int ofgw_odb_ensure_plan(const char *bridge, const struct ofgw_ovsdb_bridge_spec *s,
			 const json_t *result, json_t **write, char err[OFGW_OVSDB_ERRLEN]);
/* Decodes a "transact" result for n_ops operations (RFC 7047 §4.1.3): 0,
 * -EAGAIN (a "wait" timed out or an index clashed: someone changed the rows
 * meanwhile, read again), -EIO with OVSDB's error text, or -EPROTO. */
int ofgw_odb_txn_result(const json_t *result, size_t n_ops, char err[OFGW_OVSDB_ERRLEN]);

#endif /* RTV_OFGW_OVSDB_INTERNAL_H */
