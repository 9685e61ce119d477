/* dataplane_out.c — what rtvd tells about its dataplane: per-rtpath "stats"
 * in the paths reply and a "dataplane" map in the status reply
 * (rpc/proto.h). The figures are this host's own: an rtpath's sender
 * shows what it sent and what its receiver reported, the receiver what it
 * measured.
 *
 * The path map comes from consensus/'s codec (cons_pack_path); "stats" is
 * added to it by packing the record into a scratch buffer and writing it
 * again under a map header one key larger — msgpack maps carry their size
 * up front, and the codec's own "extra keys" hook is private to consensus/.
 */
#include "agent/dataplane/dataplane_internal.h"

#include <errno.h>
#include <msgpack.h>
#include <string.h>

#include "common/mpack.h"

bool agent_dp_get_counters(const struct agent_dp *dp, struct agent_dp_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!dp)
		return false;
	*out = dp->c;
	out->reports_sent = dp->sock.stats.reports_sent;
	out->dgrams_sent = dp->sock.stats.dgrams_sent;
	out->send_errors = dp->sock.stats.send_errors;
	out->dgrams_received = dp->sock.stats.dgrams_received;
	out->dgrams_bad = dp->sock.stats.dgrams_bad;
	out->dgrams_unauth = dp->sock.stats.dgrams_unauth;
	out->dgrams_replayed = dp->sock.stats.dgrams_replayed;
	out->reports_received = dp->sock.stats.reports_received;
	return true;
}

const struct dp_path *agent_dp_path(const struct agent_dp *dp, uint64_t path_id,
				    enum dp_dir *side)
{
	const struct dp_table *t = dp ? dp_rcu_current(&dp->rcu) : NULL;
	const struct dp_path *p;

	if (!t)
		return NULL;
	if ((p = dp_table_find_id(t, DP_TX, path_id)) != NULL)
		*side = DP_TX;
	else if ((p = dp_table_find_id(t, DP_RX, path_id)) != NULL)
		*side = DP_RX;
	return p;
}

/* A dp_hist_summary of a histogram that crossed the channel. */
static void summary_of(const struct dpd_hist *h, struct dp_hist_summary *out)
{
	uint64_t seen = 0, q50 = (h->count + 1) / 2, q99 = h->count - h->count / 100,
		 q999 = h->count - h->count / 1000;

	*out = (struct dp_hist_summary){ .count = h->count, .min = h->min, .max = h->max,
					 .mean = h->count ? h->sum / h->count : 0 };
	for (uint32_t i = 0; i < h->n; i++) {
		uint64_t high = dp_hist_bucket_high(h->idx[i]);

		high = high > h->max ? h->max : high;
		seen += h->cnt[i];
		if (!out->p50 && seen >= q50)
			out->p50 = high;
		if (!out->p99 && seen >= q99)
			out->p99 = high;
		if (!out->p999 && seen >= q999)
			out->p999 = high;
	}
}

static void sender_stats(const struct agent_dp *dp, uint64_t id, struct agent_dp_path_stats *out)
{
	const struct agent_misspol *pol = dpg_idvec_find(&dp->pols, id);

	if (!pol)
		return;
	out->reports = pol->reports;
	out->misses_reported = pol->misses;
	out->worst_late_ns = pol->worst_late_ns;
	out->uncertainty_ns = pol->uncertainty_ns;
	out->escalations_proposed = pol->proposed;
	out->escalations_committed = pol->committed;
	out->escalations_refused = pol->refused;
}

bool agent_dp_path_stats(const struct agent_dp *dp, uint64_t path_id,
			 struct agent_dp_path_stats *out)
{
	const struct dp_path *p;
	const struct dpd_path_stats *ps;
	const struct dpg_rx *rx;
	enum dp_dir side = DP_TX;

	memset(out, 0, sizeof(*out));
	if (!(p = agent_dp_path(dp, path_id, &side)))
		return false;
	out->side = side;
	out->level = p->level;
	out->boost = p->boost;
	if ((ps = dpg_chan_path(dp, path_id)) != NULL)	/* rtvdp's counters */
		out->c = ps->c;
	if (out->side == DP_TX) {
		sender_stats(dp, path_id, out);
		return true;
	}
	if (ps && ps->has_hist)
		summary_of(&ps->delay, &out->delay);
	if ((rx = dpg_idvec_find(&dp->rxs, path_id)) != NULL)
		out->reports_sent = rx->reports_sent;
	out->worst_late_ns = out->c.rx_max_late_ns;
	return true;
}

/* ------------------------------------------------------------------------- */
/* msgpack                                                                   */

#define COMMON_KEYS 6
#define SENDER_KEYS 9
#define RECEIVER_KEYS 8

static int pack_stats(msgpack_packer *pk, const struct agent_dp_path_stats *s)
{
	bool tx = s->side == DP_TX;
	int rc = msgpack_pack_map(pk, COMMON_KEYS + (tx ? SENDER_KEYS : RECEIVER_KEYS));

	rc |= rtv_pk_str(pk, "side") | rtv_pk_str(pk, tx ? "sender" : "receiver");
	rc |= rtv_pk_kv_u64(pk, "packets", tx ? s->c.tx_pkts : s->c.rx_pkts);
	rc |= rtv_pk_kv_u64(pk, "misses", tx ? s->misses_reported : s->c.rx_misses);
	rc |= rtv_pk_kv_u64(pk, "worst_late_ns", s->worst_late_ns);
	rc |= rtv_pk_kv_u64(pk, "level", s->level);
	rc |= rtv_pk_kv_u64(pk, "boost", s->boost);
	if (tx) {
		rc |= rtv_pk_kv_u64(pk, "bytes", s->c.tx_bytes);
		rc |= rtv_pk_kv_u64(pk, "demoted", s->c.tx_demoted);
		rc |= rtv_pk_kv_u64(pk, "policed", s->c.tx_policed);
		rc |= rtv_pk_kv_u64(pk, "too_big", s->c.tx_too_big);
		rc |= rtv_pk_kv_u64(pk, "reports", s->reports);
		rc |= rtv_pk_kv_u64(pk, "uncertainty_ns", s->uncertainty_ns);
		rc |= rtv_pk_kv_u64(pk, "escalations_proposed", s->escalations_proposed);
		rc |= rtv_pk_kv_u64(pk, "escalations_committed", s->escalations_committed);
		rc |= rtv_pk_kv_u64(pk, "escalations_refused", s->escalations_refused);
		return rc;
	}
	rc |= rtv_pk_kv_u64(pk, "delay_count", s->delay.count);
	rc |= rtv_pk_kv_u64(pk, "delay_min_ns", s->delay.min);
	rc |= rtv_pk_kv_u64(pk, "delay_mean_ns", s->delay.mean);
	rc |= rtv_pk_kv_u64(pk, "delay_p50_ns", s->delay.p50);
	rc |= rtv_pk_kv_u64(pk, "delay_p99_ns", s->delay.p99);
	rc |= rtv_pk_kv_u64(pk, "delay_p999_ns", s->delay.p999);
	rc |= rtv_pk_kv_u64(pk, "delay_max_ns", s->delay.max);
	rc |= rtv_pk_kv_u64(pk, "reports_sent", s->reports_sent);
	return rc;
}

/* The size and header length of the map at b (msgpack spec: fixmap, map 16,
 * map 32); -EPROTO if b is not a map. */
static int map_head(const uint8_t *b, size_t len, uint32_t *n, size_t *hlen)
{
	if (len >= 1 && (b[0] & 0xf0) == 0x80) {
		*n = b[0] & 0x0f;
		*hlen = 1;
	} else if (len >= 3 && b[0] == 0xde) {
		*n = (uint32_t)b[1] << 8 | b[2];
		*hlen = 3;
	} else if (len >= 5 && b[0] == 0xdf) {
		*n = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
		*hlen = 5;
	} else {
		return -EPROTO;
	}
	return 0;
}

int agent_dp_pack_path(void *self, msgpack_packer *pk, const struct cons_rtpath *p)
{
	const struct agent_dp *dp = self;
	msgpack_packer tmp;
	struct agent_dp_path_stats st;
	msgpack_sbuffer sb;
	uint32_t n = 0;
	size_t hlen = 0;
	int rc;

	if (!agent_dp_path_stats(dp, p->id, &st))
		return 0;	/* not this host's: the core packs it */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&tmp, &sb, msgpack_sbuffer_write);
	rc = cons_pack_path(&tmp, p);
	if (rc == 0 && (rc = map_head((const uint8_t *)sb.data, sb.size, &n, &hlen)) == 0) {
		rc = msgpack_pack_map(pk, n + 1);
		rc |= pk->callback(pk->data, sb.data + hlen, sb.size - hlen);
		rc |= rtv_pk_str(pk, "stats") | pack_stats(pk, &st);
		rc = rc ? -ENOMEM : 1;
	}
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

#define IO_KEYS 6

/* rtvdp's own counters, as last read (zeros while it is away). */
static int pack_io(msgpack_packer *pk, const struct agent_dp *dp)
{
	static const uint64_t none[DPD_C_N];
	const uint64_t *c = dp->have_stats ? dp->stats.u.stats.ctr : none;
	int rc;

	rc = rtv_pk_kv_u64(pk, "tx_sent_frames", c[DPD_C_SENT_FRAMES]);
	rc |= rtv_pk_kv_u64(pk, "tx_rt_frames", c[DPD_C_RT_FRAMES]);
	rc |= rtv_pk_kv_u64(pk, "tx_nrt_frames", c[DPD_C_NRT_FRAMES]);
	rc |= rtv_pk_kv_u64(pk, "rx_popped", c[DPD_C_IN_POPPED]);
	rc |= rtv_pk_kv_u64(pk, "rx_misses", c[DPD_C_IN_MISSES]);
	rc |= rtv_pk_kv_u64(pk, "rx_unknown_path", c[DPD_C_IN_UNKNOWN_PATH]);
	return rc;
}

static const char *rtvdp_mode(const struct agent_dp *dp)
{
	return dp->uc.up ? "up" : dp->link.degraded ? "degraded" : "down";
}

size_t agent_dp_status_keys(void *self)
{
	return self ? 1 : 0;
}

#define STATUS_DP_KEYS (29 + IO_KEYS)	/* the keys packed below, counted */

int agent_dp_pack_status(void *self, msgpack_packer *pk)
{
	const struct agent_dp *dp = self;
	const struct agent_config *cfg = agent_core_config(dp->d);
	const struct dp_table *t;
	struct agent_dp_counters c;
	int rc;

	if (!dp)
		return 0;
	agent_dp_get_counters(dp, &c);
	t = dp_rcu_current(&dp->rcu);
	rc = rtv_pk_str(pk, "dataplane") | msgpack_pack_map(pk, STATUS_DP_KEYS);
	rc |= rtv_pk_str(pk, "int_dev") | rtv_pk_str(pk, cfg->dataplane.int_dev);
	rc |= rtv_pk_str(pk, "uplink_dev") | rtv_pk_str(pk, cfg->dataplane.uplink_dev);
	rc |= rtv_pk_str(pk, "running") | (dp->uc.up ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
	rc |= rtv_pk_kv_str(pk, "rtvdp", rtvdp_mode(dp));
	rc |= rtv_pk_kv_u64(pk, "table_pushes", c.table_pushes);
	rc |= pack_io(pk, dp);
	rc |= rtv_pk_kv_u64(pk, "paths_sent", dp_table_count(t, DP_TX));
	rc |= rtv_pk_kv_u64(pk, "paths_received", dp_table_count(t, DP_RX));
	rc |= rtv_pk_kv_u64(pk, "table_builds", c.table_builds);
	rc |= rtv_pk_kv_u64(pk, "table_errors", c.table_errors);
	rc |= rtv_pk_kv_u64(pk, "misses_drained", c.misses_drained);
	rc |= rtv_pk_kv_u64(pk, "reports_sent", c.reports_sent);
	rc |= rtv_pk_kv_u64(pk, "dgrams_sent", c.dgrams_sent);
	rc |= rtv_pk_kv_u64(pk, "send_errors", c.send_errors);
	rc |= rtv_pk_kv_u64(pk, "reports_unroutable", c.reports_unroutable);
	rc |= rtv_pk_kv_u64(pk, "dgrams_received", c.dgrams_received);
	rc |= rtv_pk_kv_u64(pk, "dgrams_bad", c.dgrams_bad);
	rc |= rtv_pk_kv_u64(pk, "dgrams_unauth", c.dgrams_unauth);
	rc |= rtv_pk_kv_u64(pk, "dgrams_replayed", c.dgrams_replayed);
	rc |= rtv_pk_kv_u64(pk, "reports_received", c.reports_received);
	rc |= rtv_pk_kv_u64(pk, "reports_applied", c.reports_applied);
	rc |= rtv_pk_kv_u64(pk, "reports_dup", c.reports_dup);
	rc |= rtv_pk_kv_u64(pk, "reports_rejected", c.reports_rejected);
	rc |= rtv_pk_kv_u64(pk, "misses_reported", c.misses_reported);
	rc |= rtv_pk_kv_u64(pk, "boosts_raised", c.boosts_raised);
	rc |= rtv_pk_kv_u64(pk, "boosts_lowered", c.boosts_lowered);
	rc |= rtv_pk_kv_u64(pk, "escalations_proposed", c.escalations_proposed);
	rc |= rtv_pk_kv_u64(pk, "escalations_committed", c.escalations_committed);
	rc |= rtv_pk_kv_u64(pk, "escalations_refused", c.escalations_refused);
	rc |= rtv_pk_kv_u64(pk, "escalations_failed", c.escalations_failed);
	return rc ? -ENOMEM : 0;
}
