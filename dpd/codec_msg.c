/* codec_msg.c — whole messages (dpd.h): the envelope ("v", "t", "seq",
 * "re"), each type's body, and the 4-byte frame header. */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mpack.h"

#define ERRNO_MAX 4095

static const char *const type_names[DPD_T_MAX + 1] = {
	[DPD_T_HELLO] = "hello", [DPD_T_STATE] = "state", [DPD_T_TABLE] = "table",
	[DPD_T_TABLE_OK] = "table_ok", [DPD_T_STATS_GET] = "stats_get",
	[DPD_T_STATS] = "stats", [DPD_T_MISSES_GET] = "misses_get",
	[DPD_T_MISSES] = "misses", [DPD_T_ERROR] = "error", [DPD_T_TAKEOVER] = "takeover",
	[DPD_T_HANDOVER] = "handover",
};

const char *dpd_type_name(enum dpd_type t)
{
	return t >= DPD_T_HELLO && t <= DPD_T_MAX ? type_names[t] : "?";
}

/* ------------------------------------------------------------------------- */
/* Checks shared by the encoder and the decoder                              */

static int name_check(const char *s, size_t cap, const char *what, char err[CONS_ERRLEN])
{
	if (strnlen(s, cap) >= cap)
		return dpd__fail(err, -EINVAL, "%s is longer than %zu bytes", what, cap - 1);
	return 0;
}

static int body_check(const struct dpd_msg *m, char err[CONS_ERRLEN])
{
	switch (m->type) {
	case DPD_T_HELLO:
	case DPD_T_TAKEOVER:
		if (m->u.hello.host_id == 0)
			return dpd__fail(err, -EINVAL, "%s: \"host\" is 0; host ids start at 1",
					 dpd_type_name(m->type));
		return name_check(m->u.hello.name, DPD_NAME_LEN, "\"name\"", err);
	case DPD_T_STATE:
		if (m->u.state.mode > DPD_MODE_DEGRADED)
			return dpd__fail(err, -EINVAL, "state: unknown mode %u", m->u.state.mode);
		return name_check(m->u.state.version, DPD_NAME_LEN, "\"version\"", err);
	case DPD_T_TABLE:
		return dpd__table_check(&m->u.table, err);
	case DPD_T_MISSES_GET:
		if (m->u.misses_get.max > DPD_MISSES_MAX)
			return dpd__fail(err, -EINVAL, "misses_get: \"max\" %u above %d",
					 m->u.misses_get.max, DPD_MISSES_MAX);
		return 0;
	case DPD_T_MISSES:
		return dpd__misses_check(&m->u.misses, err);
	case DPD_T_STATS:
		return dpd__stats_check(&m->u.stats, err);
	case DPD_T_ERROR:
		if (m->u.error.code >= 0 || m->u.error.code < -ERRNO_MAX)
			return dpd__fail(err, -EINVAL, "error: code %d is not a negative errno",
					 m->u.error.code);
		return name_check(m->u.error.msg, CONS_ERRLEN, "\"msg\"", err);
	case DPD_T_HANDOVER:
		return dpd__handover_check(&m->u.handover, err);
	case DPD_T_TABLE_OK:
	case DPD_T_STATS_GET:
		return 0;
	}
	return dpd__fail(err, -EINVAL, "unknown message type %d", (int)m->type);
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

static size_t body_keys(const struct dpd_msg *m)
{
	switch (m->type) {
	case DPD_T_HELLO: case DPD_T_TAKEOVER: return 3;
	case DPD_T_STATE: return 14;
	case DPD_T_TABLE: return 1;
	case DPD_T_TABLE_OK: return 4;
	case DPD_T_MISSES_GET: return 2;
	case DPD_T_MISSES: return 1;
	case DPD_T_STATS: return dpd__stats_keys();
	case DPD_T_ERROR: return 2;
	case DPD_T_HANDOVER: return dpd__handover_keys(&m->u.handover);
	case DPD_T_STATS_GET: return 0;
	}
	return 0;
}

static int pack_state(msgpack_packer *pk, const struct dpd_state *s)
{
	int rc = rtv_pk_kv_u64(pk, "host", s->host_id);

	rc |= rtv_pk_kv_u64(pk, "uplink_bps", s->uplink_bps);
	rc |= rtv_pk_kv_u64(pk, "pid", s->pid);
	rc |= rtv_pk_kv_u64(pk, "mode", s->mode);
	rc |= rtv_pk_kv_u64(pk, "started_ns", s->started_ns);
	rc |= rtv_pk_kv_u64(pk, "takeovers", s->takeovers);
	rc |= rtv_pk_kv_u64(pk, "gen", s->gen);
	rc |= rtv_pk_kv_u64(pk, "index", s->index);
	rc |= rtv_pk_kv_u64(pk, "n_tx", s->n_tx);
	rc |= rtv_pk_kv_u64(pk, "n_rx", s->n_rx);
	rc |= rtv_pk_kv_u64(pk, "kept", s->misses_kept);
	rc |= rtv_pk_kv_u64(pk, "dropped", s->misses_dropped);
	rc |= rtv_pk_kv_u64(pk, "next_seq", s->next_seq);
	rc |= rtv_pk_kv_str(pk, "version", s->version);
	return rc;
}

static int pack_body(msgpack_packer *pk, const struct dpd_msg *m)
{
	const struct dpd_table_ok *ok = &m->u.table_ok;

	switch (m->type) {
	case DPD_T_HELLO:
	case DPD_T_TAKEOVER:
		return rtv_pk_kv_u64(pk, "host", m->u.hello.host_id) |
		       rtv_pk_kv_u64(pk, "pid", m->u.hello.pid) |
		       rtv_pk_kv_str(pk, "name", m->u.hello.name);
	case DPD_T_STATE:
		return pack_state(pk, &m->u.state);
	case DPD_T_TABLE:
		return rtv_pk_str(pk, "table") | dpd__pack_table(pk, &m->u.table);
	case DPD_T_TABLE_OK:
		return rtv_pk_kv_u64(pk, "gen", ok->gen) | rtv_pk_kv_u64(pk, "index", ok->index) |
		       rtv_pk_kv_u64(pk, "n_tx", ok->n_tx) | rtv_pk_kv_u64(pk, "n_rx", ok->n_rx);
	case DPD_T_MISSES_GET:
		return rtv_pk_kv_u64(pk, "ack", m->u.misses_get.ack) |
		       rtv_pk_kv_u64(pk, "max", m->u.misses_get.max);
	case DPD_T_MISSES:
		return rtv_pk_str(pk, "misses") | dpd__pack_misses(pk, &m->u.misses);
	case DPD_T_STATS:
		return dpd__pack_stats(pk, &m->u.stats);
	case DPD_T_ERROR:
		return rtv_pk_kv_u64(pk, "errno", (uint64_t)-m->u.error.code) |
		       rtv_pk_kv_str(pk, "msg", m->u.error.msg);
	case DPD_T_HANDOVER:
		return dpd__pack_handover(pk, &m->u.handover);
	case DPD_T_STATS_GET:
		return 0;
	}
	return -1;
}

int dpd_msg_encode(const struct dpd_msg *m, void **buf, size_t *len, char err[CONS_ERRLEN])
{
	static const char zero[DPD_HDR_BYTES];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t body;
	int rc;

	if ((rc = body_check(m, err)) < 0)
		return rc;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = msgpack_sbuffer_write(&sb, zero, sizeof(zero));
	rc |= msgpack_pack_map(&pk, 4 + body_keys(m));
	rc |= rtv_pk_kv_u64(&pk, "v", DPD_VERSION);
	rc |= rtv_pk_kv_str(&pk, "t", dpd_type_name(m->type));
	rc |= rtv_pk_kv_u64(&pk, "seq", m->seq);
	rc |= rtv_pk_kv_u64(&pk, "re", m->re);
	rc |= pack_body(&pk, m);
	body = sb.size - DPD_HDR_BYTES;
	if (rc || !sb.data || body > DPD_FRAME_MAX) {
		msgpack_sbuffer_destroy(&sb);
		return rc ? dpd__fail(err, -ENOMEM, "out of memory encoding a %s",
				      dpd_type_name(m->type))
			  : dpd__fail(err, -EINVAL, "a %s of %zu bytes is above the frame limit",
				      dpd_type_name(m->type), body);
	}
	for (int i = 0; i < DPD_HDR_BYTES; i++)
		((uint8_t *)sb.data)[i] = (uint8_t)(body >> (8 * (DPD_HDR_BYTES - 1 - i)));
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

static int unpack_state(const msgpack_object *o, struct dpd_state *s, char err[CONS_ERRLEN])
{
	uint64_t pid = 0, mode = 0;
	const msgpack_object *ver = NULL;
	const struct dpd__field f[] = {
		{ "host", F_U64, false, UINT64_MAX, &s->host_id, NULL },
		{ "uplink_bps", F_U64, false, UINT64_MAX, &s->uplink_bps, NULL },
		{ "pid", F_U64, false, UINT32_MAX, &pid, NULL },
		{ "mode", F_U64, false, DPD_MODE_DEGRADED, &mode, NULL },
		{ "started_ns", F_U64, false, UINT64_MAX, &s->started_ns, NULL },
		{ "takeovers", F_U64, false, UINT64_MAX, &s->takeovers, NULL },
		{ "gen", F_U64, false, UINT64_MAX, &s->gen, NULL },
		{ "index", F_U64, false, UINT64_MAX, &s->index, NULL },
		{ "n_tx", F_U64, false, UINT64_MAX, &s->n_tx, NULL },
		{ "n_rx", F_U64, false, UINT64_MAX, &s->n_rx, NULL },
		{ "kept", F_U64, false, UINT64_MAX, &s->misses_kept, NULL },
		{ "dropped", F_U64, false, UINT64_MAX, &s->misses_dropped, NULL },
		{ "next_seq", F_U64, false, UINT64_MAX, &s->next_seq, NULL },
		{ "version", F_STR, false, DPD_NAME_LEN - 1, NULL, &ver },
	};
	int rc = dpd__fields(o, f, sizeof(f) / sizeof(f[0]), "state", err);

	if (rc < 0)
		return rc;
	s->pid = (uint32_t)pid;
	s->mode = (uint8_t)mode;
	dpd__str_copy(s->version, sizeof(s->version), ver);
	return 0;
}

static int unpack_hello(const msgpack_object *o, struct dpd_hello *h, const char *ctx,
			char err[CONS_ERRLEN])
{
	uint64_t pid = 0;
	const msgpack_object *name = NULL;
	const struct dpd__field f[] = {
		{ "host", F_U64, false, UINT64_MAX, &h->host_id, NULL },
		{ "pid", F_U64, false, UINT32_MAX, &pid, NULL },
		{ "name", F_STR, false, DPD_NAME_LEN - 1, NULL, &name },
	};
	int rc = dpd__fields(o, f, 3, ctx, err);

	if (rc < 0)
		return rc;
	h->pid = (uint32_t)pid;
	dpd__str_copy(h->name, sizeof(h->name), name);
	return 0;
}

static int unpack_small(const msgpack_object *o, struct dpd_msg *m, char err[CONS_ERRLEN])
{
	uint64_t code = 0, max = 0;
	const msgpack_object *msg = NULL;
	struct dpd_table_ok *ok = &m->u.table_ok;
	const struct dpd__field fok[] = {
		{ "gen", F_U64, false, UINT64_MAX, &ok->gen, NULL },
		{ "index", F_U64, false, UINT64_MAX, &ok->index, NULL },
		{ "n_tx", F_U64, false, UINT64_MAX, &ok->n_tx, NULL },
		{ "n_rx", F_U64, false, UINT64_MAX, &ok->n_rx, NULL },
	};
	const struct dpd__field fget[] = {
		{ "ack", F_U64, false, UINT64_MAX, &m->u.misses_get.ack, NULL },
		{ "max", F_U64, false, DPD_MISSES_MAX, &max, NULL },
	};
	const struct dpd__field ferr[] = {
		{ "errno", F_U64, false, ERRNO_MAX, &code, NULL },
		{ "msg", F_STR, false, CONS_ERRLEN - 1, NULL, &msg },
	};
	int rc = 0;

	if (m->type == DPD_T_TABLE_OK)
		return dpd__fields(o, fok, 4, "table_ok", err);
	if (m->type == DPD_T_MISSES_GET) {
		rc = dpd__fields(o, fget, 2, "misses_get", err);
		m->u.misses_get.max = (uint32_t)max;
		return rc;
	}
	if ((rc = dpd__fields(o, ferr, 2, "error", err)) < 0)
		return rc;
	m->u.error.code = -(int32_t)code;
	dpd__str_copy(m->u.error.msg, sizeof(m->u.error.msg), msg);
	return 0;
}

static int unpack_body(const msgpack_object *o, struct dpd_msg *m, char err[CONS_ERRLEN])
{
	const msgpack_object *sub = NULL;
	const struct dpd__field ft[] = { { "table", F_MAP, false, UINT32_MAX, NULL, &sub } };
	const struct dpd__field fm[] = { { "misses", F_MAP, false, UINT32_MAX, NULL, &sub } };
	int rc;

	switch (m->type) {
	case DPD_T_HELLO:
	case DPD_T_TAKEOVER:
		return unpack_hello(o, &m->u.hello, dpd_type_name(m->type), err);
	case DPD_T_STATE:
		return unpack_state(o, &m->u.state, err);
	case DPD_T_TABLE:
		rc = dpd__fields(o, ft, 1, "table message", err);
		return rc < 0 ? rc : dpd__unpack_table(sub, &m->u.table, err);
	case DPD_T_MISSES:
		rc = dpd__fields(o, fm, 1, "misses message", err);
		return rc < 0 ? rc : dpd__unpack_misses(sub, &m->u.misses, err);
	case DPD_T_STATS:
		return dpd__unpack_stats(o, &m->u.stats, err);
	case DPD_T_HANDOVER:
		return dpd__unpack_handover(o, &m->u.handover, err);
	case DPD_T_TABLE_OK:
	case DPD_T_MISSES_GET:
	case DPD_T_ERROR:
		return unpack_small(o, m, err);
	case DPD_T_STATS_GET:
		return 0;
	}
	return -EPROTO;
}

static int unpack_envelope(const msgpack_object *o, struct dpd_msg *m, char err[CONS_ERRLEN])
{
	uint64_t v = 0;
	const msgpack_object *t = NULL;
	const struct dpd__field f[] = {
		{ "v", F_U64, false, UINT64_MAX, &v, NULL },
		{ "t", F_STR, false, 16, NULL, &t },
		{ "seq", F_U64, false, UINT64_MAX, &m->seq, NULL },
		{ "re", F_U64, true, UINT64_MAX, &m->re, NULL },
	};
	int rc = dpd__fields(o, f, 4, "message", err);

	if (rc < 0)
		return rc;
	if (v == 0)
		return dpd__fail(err, -EPROTO, "\"v\" is 0; versions start at 1");
	if (v > DPD_VERSION)
		return dpd__fail(err, -EPROTONOSUPPORT, "channel version %llu is newer than this "
				 "program's %d: upgrade it", (unsigned long long)v, DPD_VERSION);
	for (int i = DPD_T_HELLO; i <= DPD_T_MAX; i++)
		if (t->via.str.size == strlen(type_names[i]) &&
		    memcmp(t->via.str.ptr, type_names[i], t->via.str.size) == 0)
			m->type = (enum dpd_type)i;
	if (!m->type)
		return dpd__fail(err, -EPROTO, "unknown message type \"%.*s\"",
				 (int)t->via.str.size, t->via.str.ptr);
	return 0;
}

int dpd_msg_decode(const void *body, size_t len, struct dpd_msg *m, char err[CONS_ERRLEN])
{
	struct dpd_msg tmp;
	msgpack_unpacked up;
	size_t off = 0;
	int rc;

	if (err)
		err[0] = '\0';
	if (len == 0 || len > DPD_FRAME_MAX)
		return dpd__fail(err, -EPROTO, "a message of %zu bytes (1 to %u)", len,
				 DPD_FRAME_MAX);
	if (!rtv_mp_sane(body, len))
		return dpd__fail(err, -EPROTO, "not one well-formed msgpack object (%zu bytes)",
				 len);
	memset(&tmp, 0, sizeof(tmp));
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, body, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
		rc = dpd__fail(err, -EPROTO, "not one well-formed msgpack object (%zu bytes)", len);
	else if ((rc = unpack_envelope(&up.data, &tmp, err)) == 0 &&
		 (rc = unpack_body(&up.data, &tmp, err)) == 0 &&
		 (rc = body_check(&tmp, err)) < 0)
		dpd_msg_free(&tmp);
	msgpack_unpacked_destroy(&up);
	if (rc == 0)
		*m = tmp;
	return rc;
}

void dpd_msg_free(struct dpd_msg *m)
{
	switch (m->type) {
	case DPD_T_TABLE:
		dpd_table_free(&m->u.table);
		break;
	case DPD_T_MISSES:
		free(m->u.misses.r);
		m->u.misses.r = NULL;
		m->u.misses.n = 0;
		break;
	case DPD_T_STATS:
		dpd__stats_free(&m->u.stats);
		break;
	case DPD_T_HANDOVER:
		dpd_table_free(&m->u.handover.table);
		free(m->u.handover.misses.r);
		m->u.handover.misses.r = NULL;
		m->u.handover.misses.n = 0;
		break;
	default:
		break;
	}
}
