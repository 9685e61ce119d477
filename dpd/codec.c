/* codec.c — the channel's messages (dpd.h): framing, the generic map
 * decoder, and the small messages, tables and miss batches. Stats and the
 * handover are in codec_stats.c.
 *
 * The decoder follows the tree's other msgpack decoders (agent/request.c,
 * agent/missrep.c): agent_msgpack_sane first bounds what msgpack-c may
 * allocate from the counts in container headers, then every known key is
 * collected once with its type and range checked, then the message is
 * checked whole by the same rules the encoder applies, into a local copy:
 * the caller's message changes only on success. rtvd and rtvdp are root on
 * the same host, but they are separate programs that may run different
 * versions during an upgrade, and the point of the split is that a broken
 * rtvd must not take the forwarding down with it: rtvdp trusts nothing it
 * reads.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dpd__fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, CONS_ERRLEN, fmt, ap);
	va_end(ap);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Packing and the generic map decoder                                       */

static bool key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

static int field_take(const struct dpd__field *f, const msgpack_object *v, const char *ctx,
		      char err[CONS_ERRLEN])
{
	static const msgpack_object_type want[] = {
		[F_U64] = MSGPACK_OBJECT_POSITIVE_INTEGER, [F_STR] = MSGPACK_OBJECT_STR,
		[F_ARR] = MSGPACK_OBJECT_ARRAY, [F_MAP] = MSGPACK_OBJECT_MAP,
		[F_BIN] = MSGPACK_OBJECT_BIN, [F_BOOL] = MSGPACK_OBJECT_BOOLEAN,
	};
	uint64_t size = 0;

	/* msgpack-c decodes a non-negative integer as POSITIVE_INTEGER always */
	if (v->type != want[f->type])
		return dpd__fail(err, -EPROTO, "%s: \"%s\" has the wrong type", ctx, f->name);
	switch (f->type) {
	case F_U64:
		size = v->via.u64;
		*f->u = v->via.u64;
		break;
	case F_BOOL:
		*f->u = v->via.boolean;
		return 0;
	case F_STR: size = v->via.str.size; break;
	case F_BIN: size = v->via.bin.size; break;
	case F_ARR: size = v->via.array.size; break;
	case F_MAP: size = v->via.map.size; break;
	}
	if (size > f->max)
		return dpd__fail(err, -EINVAL, "%s: \"%s\" is %llu, above its limit %llu", ctx,
				 f->name, (unsigned long long)size, (unsigned long long)f->max);
	if (f->o)
		*f->o = v;
	return 0;
}

int dpd__fields(const msgpack_object *o, const struct dpd__field *f, size_t n, const char *ctx,
		char err[CONS_ERRLEN])
{
	uint64_t seen = 0;
	int rc;

	if (o->type != MSGPACK_OBJECT_MAP)
		return dpd__fail(err, -EPROTO, "%s is not a msgpack map", ctx);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return dpd__fail(err, -EPROTO, "%s: keys are strings", ctx);
		for (size_t k = 0; k < n && k < 64; k++) {
			if (!key_is(&kv->key, f[k].name))
				continue;
			if (seen & (1ull << k))
				return dpd__fail(err, -EPROTO, "%s: \"%s\" appears twice", ctx,
						 f[k].name);
			seen |= 1ull << k;
			if ((rc = field_take(&f[k], &kv->val, ctx, err)) < 0)
				return rc;
		}
	}
	for (size_t k = 0; k < n && k < 64; k++)
		if (!f[k].optional && !(seen & (1ull << k)))
			return dpd__fail(err, -EPROTO, "%s: \"%s\" is missing", ctx, f[k].name);
	return 0;
}

void dpd__str_copy(char *out, size_t cap, const msgpack_object *o)
{
	size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;

	memcpy(out, o->via.str.ptr, n);
	out[n] = '\0';
}

/* ------------------------------------------------------------------------- */
/* Tables                                                                    */

int dpd__table_check(const struct dpd_table *t, char err[CONS_ERRLEN])
{
	if (t->index == 0)
		return dpd__fail(err, -EINVAL, "table: \"index\" is 0; Raft indexes start at 1");
	if (t->n > DPD_TABLE_MAX)
		return dpd__fail(err, -EINVAL, "table: %zu rtpaths, at most %d", t->n,
				 DPD_TABLE_MAX);
	if (t->n && (!t->paths || !t->boost))
		return dpd__fail(err, -EINVAL, "table: %zu rtpaths but no array", t->n);
	return 0;
}

int dpd__pack_table(msgpack_packer *pk, const struct dpd_table *t)
{
	int rc = msgpack_pack_map(pk, 3);

	rc |= rtv_pk_kv_u64(pk, "index", t->index);
	rc |= rtv_pk_str(pk, "paths") | msgpack_pack_array(pk, t->n);
	for (size_t i = 0; i < t->n && rc == 0; i++)
		rc |= cons_pack_path(pk, &t->paths[i]);
	rc |= rtv_pk_str(pk, "boost") | msgpack_pack_bin(pk, t->n);
	if (t->n)
		rc |= msgpack_pack_bin_body(pk, t->boost, t->n);
	return rc;
}

int dpd__unpack_table(const msgpack_object *o, struct dpd_table *t, char err[CONS_ERRLEN])
{
	const msgpack_object *paths = NULL, *boost = NULL;
	const struct dpd__field f[] = {
		{ "index", F_U64, false, UINT64_MAX, &t->index, NULL },
		{ "paths", F_ARR, false, DPD_TABLE_MAX, NULL, &paths },
		{ "boost", F_BIN, false, DPD_TABLE_MAX, NULL, &boost },
	};
	char perr[CONS_ERRLEN];
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = dpd__fields(o, f, 3, "table", err)) < 0)
		return rc;
	if (boost->via.bin.size != paths->via.array.size)
		return dpd__fail(err, -EINVAL, "table: %u boosts for %u rtpaths",
				 boost->via.bin.size, paths->via.array.size);
	t->n = paths->via.array.size;
	if (t->n && (!(t->paths = calloc(t->n, sizeof(*t->paths))) ||
		     !(t->boost = malloc(t->n)))) {
		dpd_table_free(t);
		return dpd__fail(err, -ENOMEM, "table: out of memory for %zu rtpaths", t->n);
	}
	for (size_t i = 0; i < t->n; i++) {
		if ((rc = cons_unpack_path(&paths->via.array.ptr[i], &t->paths[i], perr)) < 0) {
			dpd_table_free(t);
			return dpd__fail(err, rc, "table: rtpath %zu: %s", i, perr);
		}
	}
	if (t->n)
		memcpy(t->boost, boost->via.bin.ptr, t->n);
	if ((rc = dpd__table_check(t, err)) < 0)
		dpd_table_free(t);
	return rc;
}

int dpd_table_copy(struct dpd_table *dst, const struct dpd_table *src)
{
	struct dpd_table t = { .index = src->index, .n = src->n };

	if (t.n && (!(t.paths = malloc(t.n * sizeof(*t.paths))) || !(t.boost = malloc(t.n)))) {
		dpd_table_free(&t);
		return -ENOMEM;
	}
	if (t.n) {
		memcpy(t.paths, src->paths, t.n * sizeof(*t.paths));
		memcpy(t.boost, src->boost, t.n);
	}
	*dst = t;
	return 0;
}

void dpd_table_free(struct dpd_table *t)
{
	free(t->paths);
	free(t->boost);
	t->paths = NULL;
	t->boost = NULL;
	t->n = 0;
}

int dpd_table_order(uint64_t cur_index, uint64_t new_index)
{
	return new_index >= cur_index ? 0 : -ESTALE;
}

/* ------------------------------------------------------------------------- */
/* Miss batches                                                              */

#define REPORT_KEYS 9

static int report_check(const struct dp_miss_report *r, size_t i, char err[CONS_ERRLEN])
{
	if (r->path_id == 0)
		return dpd__fail(err, -EINVAL, "misses: report %zu: rtpath id 0", i);
	if (r->first_ns > r->last_ns)
		return dpd__fail(err, -EINVAL, "misses: report %zu (rtpath %llu): first miss "
				 "after the last", i, (unsigned long long)r->path_id);
	return 0;
}

int dpd__misses_check(const struct dpd_misses *m, char err[CONS_ERRLEN])
{
	int rc = 0;

	if (m->n > DPD_MISSES_MAX)
		return dpd__fail(err, -EINVAL, "misses: %zu reports, at most %d", m->n,
				 DPD_MISSES_MAX);
	if (m->n && !m->r)
		return dpd__fail(err, -EINVAL, "misses: %zu reports but no array", m->n);
	if (m->n && m->first_seq == 0)
		return dpd__fail(err, -EINVAL, "misses: \"first\" is 0; reports count from 1");
	for (size_t i = 0; i < m->n && rc == 0; i++)
		rc = report_check(&m->r[i], i, err);
	return rc;
}

static int pack_report(msgpack_packer *pk, const struct dp_miss_report *r)
{
	int rc = msgpack_pack_map(pk, REPORT_KEYS);

	rc |= rtv_pk_kv_u64(pk, "id", r->path_id);
	rc |= rtv_pk_kv_u64(pk, "src", r->src_host);
	rc |= rtv_pk_kv_u64(pk, "first_ns", r->first_ns);
	rc |= rtv_pk_kv_u64(pk, "last_ns", r->last_ns);
	rc |= rtv_pk_kv_u64(pk, "n", r->misses);
	rc |= rtv_pk_kv_u64(pk, "late_ns", r->max_exceed_ns);
	rc |= rtv_pk_kv_u64(pk, "late_ipid", r->max_exceed_ip_id);
	rc |= rtv_pk_kv_u64(pk, "ipid", r->last_ip_id);
	rc |= rtv_pk_kv_u64(pk, "unc_ns", r->uncertainty_ns);
	return rc;
}

int dpd__pack_misses(msgpack_packer *pk, const struct dpd_misses *m)
{
	int rc = msgpack_pack_map(pk, 3);

	rc |= rtv_pk_kv_u64(pk, "first", m->first_seq);
	rc |= rtv_pk_kv_u64(pk, "dropped", m->dropped);
	rc |= rtv_pk_str(pk, "r") | msgpack_pack_array(pk, m->n);
	for (size_t i = 0; i < m->n; i++)
		rc |= pack_report(pk, &m->r[i]);
	return rc;
}

static int unpack_report(const msgpack_object *o, size_t i, struct dp_miss_report *r,
			 char err[CONS_ERRLEN])
{
	uint64_t n = 0, lid = 0, id = 0;
	const struct dpd__field f[REPORT_KEYS] = {
		{ "id", F_U64, false, UINT64_MAX, &r->path_id, NULL },
		{ "src", F_U64, false, UINT64_MAX, &r->src_host, NULL },
		{ "first_ns", F_U64, false, UINT64_MAX, &r->first_ns, NULL },
		{ "last_ns", F_U64, false, UINT64_MAX, &r->last_ns, NULL },
		{ "n", F_U64, false, UINT32_MAX, &n, NULL },
		{ "late_ns", F_U64, false, UINT64_MAX, &r->max_exceed_ns, NULL },
		{ "late_ipid", F_U64, false, UINT16_MAX, &lid, NULL },
		{ "ipid", F_U64, false, UINT16_MAX, &id, NULL },
		{ "unc_ns", F_U64, false, UINT64_MAX, &r->uncertainty_ns, NULL },
	};
	int rc = dpd__fields(o, f, REPORT_KEYS, "misses: report", err);

	if (rc < 0)
		return rc;
	r->misses = (uint32_t)n;
	r->max_exceed_ip_id = (uint16_t)lid;
	r->last_ip_id = (uint16_t)id;
	return report_check(r, i, err);
}

int dpd__unpack_misses(const msgpack_object *o, struct dpd_misses *m, char err[CONS_ERRLEN])
{
	const msgpack_object *arr = NULL;
	const struct dpd__field f[] = {
		{ "first", F_U64, false, UINT64_MAX, &m->first_seq, NULL },
		{ "dropped", F_U64, false, UINT64_MAX, &m->dropped, NULL },
		{ "r", F_ARR, false, DPD_MISSES_MAX, NULL, &arr },
	};
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = dpd__fields(o, f, 3, "misses", err)) < 0)
		return rc;
	m->n = arr->via.array.size;
	if (m->n && !(m->r = calloc(m->n, sizeof(*m->r))))
		return dpd__fail(err, -ENOMEM, "misses: out of memory");
	for (size_t i = 0; i < m->n && rc == 0; i++)
		rc = unpack_report(&arr->via.array.ptr[i], i, &m->r[i], err);
	if (rc == 0)
		rc = dpd__misses_check(m, err);
	if (rc < 0) {
		free(m->r);
		m->r = NULL;
		m->n = 0;
	}
	return rc;
}
