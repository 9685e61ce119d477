/* codec_stats.c — the stats reply (counters by name, histograms as their
 * non-empty buckets, per-path entries) and the handover message.
 *
 * Counters travel as a map of name → value, so a newer rtvdp may add
 * counters an older rtvd ignores, and an older rtvdp's missing ones read 0.
 * A histogram is its totals and a flat array [bucket, count, bucket,
 * count, ...] of the buckets that are not empty: a one-way delay histogram
 * of a steady path fills a dozen of its 896 buckets.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ctr_names[DPD_C_N] = {
	"rx_frames", "rt_frames", "nrt_frames", "ctl_frames", "sent_frames", "sent_bytes",
	"nrt_overtakes", "drop_pool", "drop_runt", "bad_ip_passed", "drop_nrt_full",
	"drop_ctl_full", "drop_policed", "demoted", "drop_too_big", "icmp_sent",
	"icmp_ratelimited", "icmp_not_answered", "drop_vm_mpls", "remarked", "wfq_no_slot",
	"table_swaps", "fragmented", "frag_out", "backlog_nrt", "backlog_ctl", "backlog_edf",
	"backlog_wfq", "drop_nrt_sojourn", "drop_demoted_sojourn", "tolerated", "cdv_tolerance_ns",
	"in_frames", "in_popped", "in_passed", "in_mpls_foreign", "in_unknown_path",
	"in_misses", "in_not_ipv4", "in_reports_lost", "in_late_past_label",
	"io_int_rx", "io_int_tx", "io_up_rx", "io_up_tx", "io_tx_errors", "io_rx_truncated",
};

const char *dpd_ctr_name(enum dpd_ctr c)
{
	return c < DPD_C_N ? ctr_names[c] : "?";
}

/* ------------------------------------------------------------------------- */
/* Histograms                                                                */

int dpd__hist_check(const struct dpd_hist *h, const char *ctx, char err[CONS_ERRLEN])
{
	if (h->n > DP_HIST_BUCKETS)
		return dpd__fail(err, -EINVAL, "%s: %u buckets, at most %u", ctx, h->n,
				 (unsigned)DP_HIST_BUCKETS);
	if (h->n && (!h->idx || !h->cnt))
		return dpd__fail(err, -EINVAL, "%s: %u buckets but no arrays", ctx, h->n);
	for (uint32_t i = 0; i < h->n; i++)
		if (h->idx[i] >= DP_HIST_BUCKETS || (i && h->idx[i] <= h->idx[i - 1]))
			return dpd__fail(err, -EINVAL, "%s: bucket %u out of range or out of "
					 "order", ctx, h->idx[i]);
	return 0;
}

int dpd__pack_hist(msgpack_packer *pk, const struct dpd_hist *h)
{
	int rc = msgpack_pack_map(pk, 5);

	rc |= rtv_pk_kv_u64(pk, "count", h->count) | rtv_pk_kv_u64(pk, "sum", h->sum);
	rc |= rtv_pk_kv_u64(pk, "min", h->min) | rtv_pk_kv_u64(pk, "max", h->max);
	rc |= rtv_pk_str(pk, "b") | msgpack_pack_array(pk, 2 * (size_t)h->n);
	for (uint32_t i = 0; i < h->n; i++)
		rc |= msgpack_pack_uint32(pk, h->idx[i]) | msgpack_pack_uint64(pk, h->cnt[i]);
	return rc;
}

void dpd__hist_free(struct dpd_hist *h)
{
	free(h->idx);
	free(h->cnt);
	h->idx = NULL;
	h->cnt = NULL;
	h->n = 0;
}

int dpd__unpack_hist(const msgpack_object *o, struct dpd_hist *h, const char *ctx,
		     char err[CONS_ERRLEN])
{
	const msgpack_object *b = NULL;
	const struct dpd__field f[] = {
		{ "count", F_U64, false, UINT64_MAX, &h->count, NULL },
		{ "sum", F_U64, false, UINT64_MAX, &h->sum, NULL },
		{ "min", F_U64, false, UINT64_MAX, &h->min, NULL },
		{ "max", F_U64, false, UINT64_MAX, &h->max, NULL },
		{ "b", F_ARR, false, 2 * DP_HIST_BUCKETS, NULL, &b },
	};
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = dpd__fields(o, f, 5, ctx, err)) < 0)
		return rc;
	if (b->via.array.size % 2)
		return dpd__fail(err, -EPROTO, "%s: \"b\" holds pairs", ctx);
	h->n = b->via.array.size / 2;
	if (h->n && (!(h->idx = malloc(h->n * sizeof(*h->idx))) ||
		     !(h->cnt = malloc(h->n * sizeof(*h->cnt))))) {
		dpd__hist_free(h);
		return dpd__fail(err, -ENOMEM, "%s: out of memory", ctx);
	}
	for (uint32_t i = 0; i < h->n; i++) {
		const msgpack_object *x = &b->via.array.ptr[2 * i], *c = x + 1;

		if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    c->type != MSGPACK_OBJECT_POSITIVE_INTEGER || x->via.u64 >= DP_HIST_BUCKETS) {
			dpd__hist_free(h);
			return dpd__fail(err, -EPROTO, "%s: bucket pair %u is not two integers "
					 "(bucket < %u)", ctx, i, (unsigned)DP_HIST_BUCKETS);
		}
		h->idx[i] = (uint32_t)x->via.u64;
		h->cnt[i] = c->via.u64;
	}
	if ((rc = dpd__hist_check(h, ctx, err)) < 0)
		dpd__hist_free(h);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Stats                                                                     */

#define PATH_CTRS 8

static int pack_path(msgpack_packer *pk, const struct dpd_path_stats *p)
{
	const struct dp_path_counters *c = &p->c;
	int rc = msgpack_pack_map(pk, p->has_hist ? 7 : 5);

	rc |= rtv_pk_kv_u64(pk, "id", p->id) | rtv_pk_kv_u64(pk, "dir", p->dir);
	rc |= rtv_pk_kv_u64(pk, "level", p->level) | rtv_pk_kv_u64(pk, "boost", p->boost);
	rc |= rtv_pk_str(pk, "c") | msgpack_pack_map(pk, PATH_CTRS);
	rc |= rtv_pk_kv_u64(pk, "tx_pkts", c->tx_pkts) | rtv_pk_kv_u64(pk, "tx_bytes", c->tx_bytes);
	rc |= rtv_pk_kv_u64(pk, "tx_demoted", c->tx_demoted);
	rc |= rtv_pk_kv_u64(pk, "tx_policed", c->tx_policed);
	rc |= rtv_pk_kv_u64(pk, "tx_too_big", c->tx_too_big);
	rc |= rtv_pk_kv_u64(pk, "rx_pkts", c->rx_pkts) | rtv_pk_kv_u64(pk, "rx_misses", c->rx_misses);
	rc |= rtv_pk_kv_u64(pk, "rx_max_late_ns", c->rx_max_late_ns);
	if (p->has_hist) {
		rc |= rtv_pk_str(pk, "delay") | dpd__pack_hist(pk, &p->delay);
		rc |= rtv_pk_str(pk, "late") | dpd__pack_hist(pk, &p->late);
	}
	return rc;
}

size_t dpd__stats_keys(void)
{
	return 3;
}

int dpd__stats_check(const struct dpd_stats *s, char err[CONS_ERRLEN])
{
	int rc = 0;

	if (s->n > DPD_PATHS_MAX || (s->n && !s->paths))
		return dpd__fail(err, -EINVAL, "stats: %zu paths (at most %d, with an array)",
				 s->n, DPD_PATHS_MAX);
	for (int q = 0; q < DP_QC_N && rc == 0; q++)
		rc = dpd__hist_check(&s->qdelay[q], "stats: queue delay", err);
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		const struct dpd_path_stats *p = &s->paths[i];

		if (p->id == 0 || p->dir > DP_RX)
			return dpd__fail(err, -EINVAL, "stats: path %zu: id 0 or direction %u", i,
					 p->dir);
		if (p->has_hist && (rc = dpd__hist_check(&p->delay, "stats: delay", err)) == 0)
			rc = dpd__hist_check(&p->late, "stats: lateness", err);
	}
	return rc;
}

int dpd__pack_stats(msgpack_packer *pk, const struct dpd_stats *s)
{
	int rc = rtv_pk_str(pk, "c") | msgpack_pack_map(pk, DPD_C_N);

	for (int i = 0; i < DPD_C_N; i++)
		rc |= rtv_pk_kv_u64(pk, ctr_names[i], s->ctr[i]);
	rc |= rtv_pk_str(pk, "qdelay") | msgpack_pack_array(pk, DP_QC_N);
	for (int q = 0; q < DP_QC_N; q++)
		rc |= dpd__pack_hist(pk, &s->qdelay[q]);
	rc |= rtv_pk_str(pk, "paths") | msgpack_pack_array(pk, s->n);
	for (size_t i = 0; i < s->n; i++)
		rc |= pack_path(pk, &s->paths[i]);
	return rc;
}

void dpd__stats_free(struct dpd_stats *s)
{
	for (int q = 0; q < DP_QC_N; q++)
		dpd__hist_free(&s->qdelay[q]);
	for (size_t i = 0; i < s->n && s->paths; i++) {
		dpd__hist_free(&s->paths[i].delay);
		dpd__hist_free(&s->paths[i].late);
	}
	free(s->paths);
	s->paths = NULL;
	s->n = 0;
}

static int unpack_ctrs(const msgpack_object *o, uint64_t ctr[DPD_C_N], char err[CONS_ERRLEN])
{
	struct dpd__field f[DPD_C_N];

	for (int i = 0; i < DPD_C_N; i++)
		f[i] = (struct dpd__field){ ctr_names[i], F_U64, true, UINT64_MAX, &ctr[i], NULL };
	return dpd__fields(o, f, DPD_C_N, "stats: counters", err);
}

static int unpack_path(const msgpack_object *o, struct dpd_path_stats *p, char err[CONS_ERRLEN])
{
	uint64_t dir = 0, level = 0, boost = 0;
	const msgpack_object *c = NULL, *delay = NULL, *late = NULL;
	struct dp_path_counters *k = &p->c;
	const struct dpd__field f[] = {
		{ "id", F_U64, false, UINT64_MAX, &p->id, NULL },
		{ "dir", F_U64, false, DP_RX, &dir, NULL },
		{ "level", F_U64, false, UINT8_MAX, &level, NULL },
		{ "boost", F_U64, false, UINT8_MAX, &boost, NULL },
		{ "c", F_MAP, false, UINT32_MAX, NULL, &c },
		{ "delay", F_MAP, true, UINT32_MAX, NULL, &delay },
		{ "late", F_MAP, true, UINT32_MAX, NULL, &late },
	};
	const struct dpd__field fc[PATH_CTRS] = {
		{ "tx_pkts", F_U64, true, UINT64_MAX, &k->tx_pkts, NULL },
		{ "tx_bytes", F_U64, true, UINT64_MAX, &k->tx_bytes, NULL },
		{ "tx_demoted", F_U64, true, UINT64_MAX, &k->tx_demoted, NULL },
		{ "tx_policed", F_U64, true, UINT64_MAX, &k->tx_policed, NULL },
		{ "tx_too_big", F_U64, true, UINT64_MAX, &k->tx_too_big, NULL },
		{ "rx_pkts", F_U64, true, UINT64_MAX, &k->rx_pkts, NULL },
		{ "rx_misses", F_U64, true, UINT64_MAX, &k->rx_misses, NULL },
		{ "rx_max_late_ns", F_U64, true, UINT64_MAX, &k->rx_max_late_ns, NULL },
	};
	int rc;

	if ((rc = dpd__fields(o, f, 7, "stats: path", err)) < 0 ||
	    (rc = dpd__fields(c, fc, PATH_CTRS, "stats: path counters", err)) < 0)
		return rc;
	if (!delay != !late)
		return dpd__fail(err, -EPROTO, "stats: path %llu: \"delay\" and \"late\" come "
				 "together", (unsigned long long)p->id);
	p->dir = (uint8_t)dir;
	p->level = (uint8_t)level;
	p->boost = (uint8_t)boost;
	p->has_hist = delay != NULL;
	if (!p->has_hist)
		return 0;
	if ((rc = dpd__unpack_hist(delay, &p->delay, "stats: delay", err)) < 0)
		return rc;
	return dpd__unpack_hist(late, &p->late, "stats: lateness", err);
}

static int unpack_stats_parts(const msgpack_object *qd, const msgpack_object *paths,
			      struct dpd_stats *s, char err[CONS_ERRLEN])
{
	int rc = 0;

	if (qd->via.array.size != DP_QC_N)
		return dpd__fail(err, -EPROTO, "stats: \"qdelay\" holds %d histograms", DP_QC_N);
	for (int q = 0; q < DP_QC_N && rc == 0; q++)
		rc = dpd__unpack_hist(&qd->via.array.ptr[q], &s->qdelay[q], "stats: queue delay",
				      err);
	if (rc < 0)
		return rc;
	s->n = paths->via.array.size;
	if (s->n && !(s->paths = calloc(s->n, sizeof(*s->paths))))
		return dpd__fail(err, -ENOMEM, "stats: out of memory");
	for (size_t i = 0; i < s->n && rc == 0; i++)
		rc = unpack_path(&paths->via.array.ptr[i], &s->paths[i], err);
	return rc;
}

int dpd__unpack_stats(const msgpack_object *o, struct dpd_stats *s, char err[CONS_ERRLEN])
{
	const msgpack_object *c = NULL, *qd = NULL, *paths = NULL;
	const struct dpd__field f[] = {
		{ "c", F_MAP, false, UINT32_MAX, NULL, &c },
		{ "qdelay", F_ARR, false, DP_QC_N, NULL, &qd },
		{ "paths", F_ARR, false, DPD_PATHS_MAX, NULL, &paths },
	};
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = dpd__fields(o, f, 3, "stats", err)) < 0 ||
	    (rc = unpack_ctrs(c, s->ctr, err)) < 0)
		return rc;
	if ((rc = unpack_stats_parts(qd, paths, s, err)) == 0)
		rc = dpd__stats_check(s, err);
	if (rc < 0)
		dpd__stats_free(s);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Handover                                                                  */

int dpd__handover_check(const struct dpd_handover *h, char err[CONS_ERRLEN])
{
	uint32_t seen = 0;
	int rc;

	if (h->n_fds > DPD_FDS_MAX)
		return dpd__fail(err, -EINVAL, "handover: %u descriptors, at most %d", h->n_fds,
				 DPD_FDS_MAX);
	for (uint32_t i = 0; i < h->n_fds; i++) {
		uint8_t r = h->roles[i];

		if (r < DPD_FD_LISTEN || r > DPD_FD_ROLE_MAX || (seen & (1u << r)))
			return dpd__fail(err, -EINVAL, "handover: descriptor %u has an unknown or "
					 "repeated role %u", i, r);
		seen |= 1u << r;
	}
	if (h->has_table && (rc = dpd__table_check(&h->table, err)) < 0)
		return rc;
	return dpd__misses_check(&h->misses, err);
}

size_t dpd__handover_keys(const struct dpd_handover *h)
{
	return h->has_table ? 5 : 4;
}

int dpd__pack_handover(msgpack_packer *pk, const struct dpd_handover *h)
{
	int rc = rtv_pk_kv_u64(pk, "gen", h->gen) | rtv_pk_kv_u64(pk, "takeovers", h->takeovers);

	rc |= rtv_pk_str(pk, "roles") | msgpack_pack_bin(pk, h->n_fds);
	if (h->n_fds)
		rc |= msgpack_pack_bin_body(pk, h->roles, h->n_fds);
	rc |= rtv_pk_str(pk, "misses") | dpd__pack_misses(pk, &h->misses);
	if (h->has_table)
		rc |= rtv_pk_str(pk, "table") | dpd__pack_table(pk, &h->table);
	return rc;
}

int dpd__unpack_handover(const msgpack_object *o, struct dpd_handover *h, char err[CONS_ERRLEN])
{
	const msgpack_object *roles = NULL, *misses = NULL, *table = NULL;
	const struct dpd__field f[] = {
		{ "gen", F_U64, false, UINT64_MAX, &h->gen, NULL },
		{ "takeovers", F_U64, false, UINT64_MAX, &h->takeovers, NULL },
		{ "roles", F_BIN, false, DPD_FDS_MAX, NULL, &roles },
		{ "misses", F_MAP, false, UINT32_MAX, NULL, &misses },
		{ "table", F_MAP, true, UINT32_MAX, NULL, &table },
	};
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = dpd__fields(o, f, 5, "handover", err)) < 0)
		return rc;
	h->n_fds = roles->via.bin.size;
	if (h->n_fds)
		memcpy(h->roles, roles->via.bin.ptr, h->n_fds);
	if ((rc = dpd__unpack_misses(misses, &h->misses, err)) < 0)
		return rc;
	if (table) {
		h->has_table = true;
		if ((rc = dpd__unpack_table(table, &h->table, err)) < 0)
			goto fail;
	}
	if ((rc = dpd__handover_check(h, err)) == 0)
		return 0;
fail:
	dpd_table_free(&h->table);
	free(h->misses.r);
	h->misses.r = NULL;
	h->misses.n = 0;
	return rc;
}
