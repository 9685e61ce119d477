/* request.c — decoding, validating and encoding RPC requests (rpc/proto.h).
 *
 * msgpack-c's unpacker allocates a container's elements up front from the
 * count in its header: "dd ff ff ff ff" (an array of 2^32 - 1 elements) in a
 * 5-byte message asks for ~100 GB. rtv_mp_sane (common/mpack.h) walks the
 * bytes first and refuses any container that claims more elements than
 * bytes remain, so what msgpack-c allocates stays proportional to the
 * message.
 */
#include "rpc/request.h"

#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mpack.h"
#include "common/units.h"
#include "rpc/proto.h"

static const char *const op_names[] = {
	[AGENT_OP_SUBMIT] = PROTO_OP_SUBMIT,
	[AGENT_OP_PATHS] = PROTO_OP_PATHS,
	[AGENT_OP_HOSTS] = PROTO_OP_HOSTS,
	[AGENT_OP_LINKS] = PROTO_OP_LINKS,
	[AGENT_OP_VMS] = PROTO_OP_VMS,
	[AGENT_OP_STATUS] = PROTO_OP_STATUS,
	[AGENT_OP_MEMBERS_ADD] = PROTO_OP_MEMBERS_ADD,
	[AGENT_OP_MEMBERS_REMOVE] = PROTO_OP_MEMBERS_REMOVE,
	[AGENT_OP_TRANSFER] = PROTO_OP_TRANSFER,
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *agent_op_name(enum agent_op op)
{
	if ((size_t)op < N_OPS && op_names[op])
		return op_names[op];
	return "?";
}

bool agent_op_is_read(enum agent_op op)
{
	return op >= AGENT_OP_PATHS && op <= AGENT_OP_STATUS;
}

bool agent_req_retry_safe(const struct agent_req *r)
{
	if (agent_op_is_read(r->op))
		return true;
	if (r->op != AGENT_OP_SUBMIT)
		return false;
	if (r->cmd.client_id != 0)
		return true;
	return r->cmd.op == CONS_OP_HOST_ADD || r->cmd.op == CONS_OP_LINK_SET ||
	       r->cmd.op == CONS_OP_VM_SET || r->cmd.op == CONS_OP_NOOP;
}

/* ------------------------------------------------------------------------- */
/* Structure check                                                           */

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

enum rkey {
	RK_V, RK_OP, RK_FWD, RK_LIN, RK_WAIT, RK_CMD, RK_ID, RK_RAFT_ADDR, RK_VOTER, RK_TO, RK_N
};

static const struct {
	const char *name;
	msgpack_object_type type;
	const char *type_name;
} rkeys[RK_N] = {
	[RK_V] = { "v", MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer" },
	[RK_OP] = { "op", MSGPACK_OBJECT_STR, "a string" },
	[RK_FWD] = { "fwd", MSGPACK_OBJECT_BOOLEAN, "a boolean" },
	[RK_LIN] = { "lin", MSGPACK_OBJECT_BOOLEAN, "a boolean" },
	[RK_WAIT] = { "wait_ms", MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer" },
	[RK_CMD] = { "cmd", MSGPACK_OBJECT_BIN, "binary (a cons_cmd)" },
	[RK_ID] = { "id", MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer" },
	[RK_RAFT_ADDR] = { "raft_addr", MSGPACK_OBJECT_STR, "a string" },
	[RK_VOTER] = { "voter", MSGPACK_OBJECT_BOOLEAN, "a boolean" },
	[RK_TO] = { "to", MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer" },
};

static int fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CONS_ERRLEN, fmt, ap);
	va_end(ap);
	return rc;
}

static bool str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

/* Sorts the map's known keys into vals[], checking their types. */
static int collect_keys(const msgpack_object *root, const msgpack_object *vals[RK_N],
			char err[CONS_ERRLEN])
{
	if (root->type != MSGPACK_OBJECT_MAP)
		return fail(err, -EPROTO, "a request is a msgpack map");
	for (uint32_t i = 0; i < root->via.map.size; i++) {
		const msgpack_object_kv *kv = &root->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(err, -EPROTO, "request keys are strings");
		for (int k = 0; k < RK_N; k++) {
			if (!str_is(&kv->key, rkeys[k].name))
				continue;
			if (vals[k])
				return fail(err, -EPROTO, "\"%s\" appears twice", rkeys[k].name);
			if (kv->val.type != rkeys[k].type)
				return fail(err, -EPROTO, "\"%s\" must be %s", rkeys[k].name,
					    rkeys[k].type_name);
			vals[k] = &kv->val;
		}
	}
	return 0;
}

static int decode_head(const msgpack_object *vals[RK_N], struct agent_req *req,
		       char err[CONS_ERRLEN])
{
	const msgpack_object *op = vals[RK_OP];
	char name[32];

	if (!vals[RK_V])
		return fail(err, -EPROTO, "\"v\" (the protocol version) is missing");
	if (vals[RK_V]->via.u64 == 0)
		return fail(err, -EPROTO, "\"v\" is 0; versions start at 1");
	if (vals[RK_V]->via.u64 > PROTO_VERSION)
		return fail(err, -EPROTONOSUPPORT, "request version %llu is newer than this "
			    "rtvd's %d: upgrade rtvd or use a matching rtvctl",
			    (unsigned long long)vals[RK_V]->via.u64, PROTO_VERSION);
	req->v = (uint32_t)vals[RK_V]->via.u64;
	if (!op)
		return fail(err, -EPROTO, "\"op\" (the operation) is missing");
	for (size_t i = 1; i < N_OPS; i++) {
		if (str_is(op, op_names[i])) {
			req->op = (enum agent_op)i;
			return 0;
		}
	}
	snprintf(name, sizeof(name), "%.*s", (int)(op->via.str.size < 24 ? op->via.str.size : 24),
		 op->via.str.ptr);
	for (char *c = name; *c; c++)
		*c = (*c < 0x20 || *c > 0x7e) ? '?' : *c;
	return fail(err, -EOPNOTSUPP, "unknown op \"%s\" (this rtvd knows submit, paths, "
		    "hosts, links, vms, status, members_add, members_remove, transfer)", name);
}

static int decode_submit(const msgpack_object *cmd, struct agent_req *req,
			 char err[CONS_ERRLEN])
{
	char why[CONS_ERRLEN];
	int rc;

	if (!cmd)
		return fail(err, -EINVAL, "submit needs \"cmd\", an encoded command");
	rc = cons_cmd_decode(cmd->via.bin.ptr, cmd->via.bin.size, &req->cmd, why);
	if (rc < 0)
		return fail(err, rc == -ENOMEM ? -ENOMEM : -EINVAL, "cmd: %s", why);
	req->cmd_buf = malloc(cmd->via.bin.size ? cmd->via.bin.size : 1);
	if (!req->cmd_buf)
		return fail(err, -ENOMEM, "out of memory");
	memcpy(req->cmd_buf, cmd->via.bin.ptr, cmd->via.bin.size);
	req->cmd_len = cmd->via.bin.size;
	return 0;
}

static int decode_id(const msgpack_object *id, bool required, uint64_t *out,
		     char err[CONS_ERRLEN])
{
	if (!id)
		return required ? fail(err, -EINVAL, "\"id\" is missing") : 0;
	if (id->via.u64 == 0)
		return fail(err, -EINVAL, "\"id\" is 0; ids start at 1");
	*out = id->via.u64;
	return 0;
}

static int decode_members_add(const msgpack_object *vals[RK_N], struct agent_req *req,
			      char err[CONS_ERRLEN])
{
	const msgpack_object *addr = vals[RK_RAFT_ADDR];
	int rc = decode_id(vals[RK_ID], true, &req->id, err);

	if (rc < 0)
		return rc;
	if (!addr)
		return fail(err, -EINVAL, "members_add needs \"raft_addr\" (IPv4:port)");
	if (addr->via.str.size >= sizeof(req->raft_addr))
		return fail(err, -EINVAL, "\"raft_addr\" is too long");
	memcpy(req->raft_addr, addr->via.str.ptr, addr->via.str.size);
	req->raft_addr[addr->via.str.size] = '\0';
	if (rtv_parse_ipport(req->raft_addr, NULL, NULL) < 0)
		return fail(err, -EINVAL, "\"raft_addr\" must be IPv4:port, e.g. 10.0.0.4:7001");
	if (vals[RK_VOTER])
		req->voter = vals[RK_VOTER]->via.boolean;
	return 0;
}

static int decode_args(const msgpack_object *vals[RK_N], struct agent_req *req,
		       char err[CONS_ERRLEN])
{
	switch (req->op) {
	case AGENT_OP_SUBMIT:
		return decode_submit(vals[RK_CMD], req, err);
	case AGENT_OP_PATHS:
		return decode_id(vals[RK_ID], false, &req->id, err);
	case AGENT_OP_MEMBERS_ADD:
		return decode_members_add(vals, req, err);
	case AGENT_OP_MEMBERS_REMOVE:
		return decode_id(vals[RK_ID], true, &req->id, err);
	case AGENT_OP_TRANSFER:
		req->to = vals[RK_TO] ? vals[RK_TO]->via.u64 : 0;
		return 0;
	default:
		return 0;
	}
}

int agent_req_decode(const void *buf, size_t len, struct agent_req *req,
		     char err[CONS_ERRLEN])
{
	const msgpack_object *vals[RK_N] = { 0 };
	msgpack_unpacked up;
	size_t off = 0;
	int rc;

	memset(req, 0, sizeof(*req));
	req->voter = true;
	err[0] = '\0';
	if (!rtv_mp_sane(buf, len))
		return fail(err, -EPROTO, "not a well-formed msgpack message (%zu bytes)", len);
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
		rc = fail(err, -EPROTO, "not a well-formed msgpack message (%zu bytes)", len);
		goto out;
	}
	rc = collect_keys(&up.data, vals, err);
	if (rc == 0)
		rc = decode_head(vals, req, err);
	if (rc == 0) {
		req->fwd = vals[RK_FWD] && vals[RK_FWD]->via.boolean;
		req->lin = vals[RK_LIN] && vals[RK_LIN]->via.boolean;
		if (vals[RK_WAIT])
			req->wait_ms = vals[RK_WAIT]->via.u64 > UINT32_MAX
					       ? UINT32_MAX : (uint32_t)vals[RK_WAIT]->via.u64;
		rc = decode_args(vals, req, err);
	}
	if (rc < 0)
		agent_req_close(req);
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

void agent_req_close(struct agent_req *req)
{
	free(req->cmd_buf);
	req->cmd_buf = NULL;
	req->cmd_len = 0;
}

int agent_req_init_submit(struct agent_req *req, const struct cons_cmd *cmd,
			  char err[CONS_ERRLEN])
{
	void *buf;
	size_t len;
	int rc;

	memset(req, 0, sizeof(*req));
	rc = cons_cmd_encode(cmd, &buf, &len, err);
	if (rc < 0)
		return rc;
	req->v = PROTO_VERSION;
	req->op = AGENT_OP_SUBMIT;
	req->cmd = *cmd;
	req->cmd_buf = buf;
	req->cmd_len = len;
	req->voter = true;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

static size_t n_args(const struct agent_req *req)
{
	switch (req->op) {
	case AGENT_OP_SUBMIT:
	case AGENT_OP_MEMBERS_REMOVE:
	case AGENT_OP_TRANSFER:
		return 1;
	case AGENT_OP_PATHS:
		return req->id != 0;
	case AGENT_OP_MEMBERS_ADD:
		return 3;
	default:
		return 0;
	}
}

static int pack_args(msgpack_packer *pk, const struct agent_req *req)
{
	switch (req->op) {
	case AGENT_OP_SUBMIT:
		return rtv_pk_str(pk, "cmd") | msgpack_pack_bin(pk, req->cmd_len) |
		       msgpack_pack_bin_body(pk, req->cmd_buf, req->cmd_len);
	case AGENT_OP_PATHS:
		return req->id ? rtv_pk_kv_u64(pk, "id", req->id) : 0;
	case AGENT_OP_MEMBERS_ADD:
		return rtv_pk_kv_u64(pk, "id", req->id) |
		       rtv_pk_kv_str(pk, "raft_addr", req->raft_addr) |
		       rtv_pk_kv_bool(pk, "voter", req->voter);
	case AGENT_OP_MEMBERS_REMOVE:
		return rtv_pk_kv_u64(pk, "id", req->id);
	case AGENT_OP_TRANSFER:
		return rtv_pk_kv_u64(pk, "to", req->to);
	default:
		return 0;
	}
}

int agent_req_encode(const struct agent_req *req, bool fwd, void **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = msgpack_pack_map(&pk, 2 + fwd + req->lin + (req->wait_ms != 0) + n_args(req));
	rc |= rtv_pk_kv_u64(&pk, "v", PROTO_VERSION);
	rc |= rtv_pk_kv_str(&pk, "op", agent_op_name(req->op));
	if (fwd)
		rc |= rtv_pk_kv_bool(&pk, "fwd", true);
	if (req->lin)
		rc |= rtv_pk_kv_bool(&pk, "lin", true);
	if (req->wait_ms)
		rc |= rtv_pk_kv_u64(&pk, "wait_ms", req->wait_ms);
	rc |= pack_args(&pk, req);
	if (rc || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Replies                                                                   */

static int peek_kv(const msgpack_object_kv *kv, struct agent_reply_head *h, bool *has_status)
{
	const msgpack_object *v = &kv->val;

	if (str_is(&kv->key, "status")) {
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT32_MAX)
			h->status = (int)v->via.u64;
		else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && v->via.i64 >= INT32_MIN)
			h->status = (int)v->via.i64;
		else
			return -EPROTO;
		*has_status = true;
	} else if (str_is(&kv->key, "node") || str_is(&kv->key, "leader")) {
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return -EPROTO;
		*(kv->key.via.str.ptr[0] == 'n' ? &h->node : &h->leader) = v->via.u64;
	} else if (str_is(&kv->key, "err")) {
		size_t n;

		if (v->type != MSGPACK_OBJECT_STR)
			return -EPROTO;
		n = v->via.str.size < CONS_ERRLEN - 1 ? v->via.str.size : CONS_ERRLEN - 1;
		memcpy(h->err, v->via.str.ptr, n);
		h->err[n] = '\0';
	}
	return 0;
}

int agent_reply_peek(const void *buf, size_t len, struct agent_reply_head *h)
{
	msgpack_unpacked up;
	bool has_status = false;
	size_t off = 0;
	int rc = -EPROTO;

	memset(h, 0, sizeof(*h));
	if (!rtv_mp_sane(buf, len))
		return -EPROTO;
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    up.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	rc = 0;
	for (uint32_t i = 0; i < up.data.via.map.size && rc == 0; i++) {
		if (up.data.via.map.ptr[i].key.type == MSGPACK_OBJECT_STR)
			rc = peek_kv(&up.data.via.map.ptr[i], h, &has_status);
	}
	if (rc == 0 && !has_status)
		rc = -EPROTO;
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}
