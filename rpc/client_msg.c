/* client_msg.c — building requests, reading reply maps, and what a status
 * means to the user (proto.h's exit-code table). */
#include "rpc/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mpack.h"
#include "rpc/proto.h"

int agent_client_req_begin(struct agent_client_req *req, const char *op, size_t n_args, bool lin)
{
	return agent_client_req_begin_wait(req, op, n_args, lin,
					   (uint32_t)(AGENT_CLIENT_ATTEMPT_MAX_NS / 1000000));
}

/* "wait_ms" tells rtvd how long this attempt waits, so that it answers
 * (e.g. "no Raft leader: ...") before the client gives up on it. */
int agent_client_req_begin_wait(struct agent_client_req *req, const char *op, size_t n_args,
				bool lin, uint32_t wait_ms)
{
	int rc;

	msgpack_sbuffer_init(&req->buf);
	msgpack_packer_init(&req->pk, &req->buf, msgpack_sbuffer_write);
	rc = msgpack_pack_map(&req->pk, (uint32_t)(3 + n_args + (lin ? 1 : 0)));
	rc |= rtv_pk_kv_u64(&req->pk, "v", PROTO_VERSION);
	rc |= rtv_pk_kv_str(&req->pk, "op", op);
	rc |= rtv_pk_kv_u64(&req->pk, "wait_ms", wait_ms);
	if (lin)
		rc |= rtv_pk_kv_bool(&req->pk, "lin", true);
	if (rc || !req->buf.data) {
		msgpack_sbuffer_destroy(&req->buf);
		return -ENOMEM;
	}
	return 0;
}

void agent_client_req_close(struct agent_client_req *req)
{
	msgpack_sbuffer_destroy(&req->buf);
}

const msgpack_object *agent_client_map_get(const msgpack_object *map, const char *key)
{
	size_t klen = strlen(key);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
		    memcmp(k->via.str.ptr, key, klen) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

const msgpack_object *agent_client_reply_get(const struct agent_client_reply *rep, const char *key)
{
	return agent_client_map_get(rep->map, key);
}

int agent_client_map_uint(const msgpack_object *map, const char *key, uint64_t *v)
{
	const msgpack_object *o = agent_client_map_get(map, key);

	if (!o)
		return -ENOENT;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -EPROTO;
	*v = o->via.u64;
	return 0;
}

int agent_client_map_int(const msgpack_object *map, const char *key, int64_t *v)
{
	const msgpack_object *o = agent_client_map_get(map, key);

	if (!o)
		return -ENOENT;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		return -EPROTO;
	return 0;
}

int agent_client_map_bool(const msgpack_object *map, const char *key, bool *v)
{
	const msgpack_object *o = agent_client_map_get(map, key);

	if (!o)
		return -ENOENT;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -EPROTO;
	*v = o->via.boolean;
	return 0;
}

int agent_client_map_str(const msgpack_object *map, const char *key, char *out, size_t n)
{
	const msgpack_object *o = agent_client_map_get(map, key);
	size_t len;

	if (!o)
		return -ENOENT;
	if (o->type != MSGPACK_OBJECT_STR || n == 0)
		return -EPROTO;
	len = o->via.str.size < n - 1 ? o->via.str.size : n - 1;
	memcpy(out, o->via.str.ptr, len);
	out[len] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------- */
/* What a status means                                                        */

bool agent_client_unavailable(int status)
{
	switch (abs(status)) {
	case CONS_ENOTLEADER:
	case EAGAIN: case ETIMEDOUT: case ECONNREFUSED: case ECONNRESET:
	case ECONNABORTED: case EHOSTUNREACH: case ENETUNREACH: case ENOTCONN:
	case ECANCELED: case ESHUTDOWN: case EPIPE:
		return status != 0;
	default:
		return false;
	}
}

int agent_client_exit_code(int status)
{
	if (status == 0)
		return PROTO_EXIT_OK;
	switch (abs(status)) {
	case CONS_EREFUSED: case ENOENT: case EEXIST: case EBUSY: case ENOSPC: case EPERM:
		return PROTO_EXIT_REFUSED;
	case EINVAL: case EPROTONOSUPPORT: case ERANGE: case E2BIG:
		return PROTO_EXIT_USAGE;
	default:
		return PROTO_EXIT_UNAVAILABLE;
	}
}

const char *agent_client_status_name(int status)
{
	static const struct { int code; const char *name; } names[] = {
		{ 0, "ok" }, { CONS_EREFUSED, "refused" }, { CONS_ENOTLEADER, "not leader" },
		{ ENOENT, "not found" }, { EEXIST, "exists" }, { EBUSY, "busy" },
		{ ENOSPC, "no space" }, { EINVAL, "invalid" }, { EAGAIN, "no leader" },
		{ ETIMEDOUT, "timed out" }, { ECONNREFUSED, "connection refused" },
		{ ECONNRESET, "connection reset" }, { EACCES, "permission denied" }, { EPERM, "not permitted" },
		{ EPROTO, "protocol error" }, { EPROTONOSUPPORT, "unsupported version" },
		{ ECANCELED, "leadership lost" }, { ESHUTDOWN, "shutting down" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == abs(status))
			return names[i].name;
	return "error";
}
