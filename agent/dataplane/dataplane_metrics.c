/* dataplane_metrics.c — the dataplane as a metric source (dp/dp.h's
 * counters in agent/telemetry/telemetry.h's terms), read at each scrape on
 * the loop through the interface AGENT_TM_IFACE (struct agent_tm_sources).
 *
 * The dataplane's counters are single-writer relaxed atomics (dp.h), so a
 * relaxed load here reads a value the dataplane thread really had; two
 * counters read one after the other may be a few packets apart, which a
 * scrape tolerates. The egress backlog is a gauge the egress thread
 * publishes (only it may read its queues); queue delay per class and the
 * lateness of misses per rtpath are dp_hists like the one-way delay.
 */
#include <stdatomic.h>
#include <string.h>

#include "agent/dataplane/dataplane_internal.h"
#include "pki/pki.h"

static uint64_t ld(const _Atomic uint64_t *a)
{
	return atomic_load_explicit((_Atomic uint64_t *)a, memory_order_relaxed);
}

/* A dp_hist (ns, log-linear buckets) in the exporter's buckets: each dp
 * bucket counts in the first bound at or above its upper edge, so a value
 * may be reported up to one dp bucket (3 %) high, never low. */
static void hist_from_dp(const struct dp_hist *h, struct agent_tm_hist *out)
{
	size_t j = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < DP_HIST_BUCKETS; i++) {
		uint64_t c = ld(&h->b[i]);
		double high_s = (double)dp_hist_bucket_high(i) / 1e9;

		if (!c)
			continue;
		while (j < AGENT_TM_DELAY_BUCKETS && agent_tm_delay_bounds_s[j] < high_s)
			j++;
		out->counts[j] += c;
	}
	out->sum_s = (double)ld(&h->sum) / 1e9;
}

/* a - b, or 0: two counters read one after the other, the second of which
 * counts a subset of the first, may be read a frame apart */
static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void dp_sched(const struct dp_sched_stats *s, struct agent_tm_dp_host *o)
{
	o->sent_frames = ld(&s->sent_frames);
	o->sent_bytes = ld(&s->sent_bytes);
	o->queued[AGENT_TM_RT] = ld(&s->rt_frames);
	o->queued[AGENT_TM_NRT] = ld(&s->nrt_frames);
	o->queued[AGENT_TM_CTL] = ld(&s->ctl_frames);
	o->drops[AGENT_TM_DROP_POOL] = ld(&s->drop_pool);
	o->drops[AGENT_TM_DROP_RUNT] = ld(&s->drop_runt);
	o->drops[AGENT_TM_DROP_NRT_FULL] = ld(&s->drop_nrt_full);
	o->drops[AGENT_TM_DROP_CTL_FULL] = ld(&s->drop_ctl_full);
	o->drops[AGENT_TM_DROP_POLICED] = ld(&s->drop_policed);
	o->drops[AGENT_TM_DROP_TOO_BIG] = ld(&s->drop_too_big);
	o->drops[AGENT_TM_DROP_VM_MPLS] = ld(&s->drop_vm_mpls);
	o->exceptions[AGENT_TM_EXC_BAD_IP] = ld(&s->bad_ip_passed);
	o->exceptions[AGENT_TM_EXC_REMARKED] = ld(&s->remarked);
	o->exceptions[AGENT_TM_EXC_WFQ_NO_SLOT] = ld(&s->wfq_no_slot);
	o->exceptions[AGENT_TM_EXC_FRAGMENTED] = ld(&s->fragmented);
	o->demoted = ld(&s->demoted);
	o->tolerated = ld(&s->tolerated);
	o->cdv_tolerance_ns = ld(&s->cdv_tolerance_ns);
	/* a demoted frame dropped for its sojourn is counted once, as demoted */
	o->drops[AGENT_TM_DROP_DEMOTED_SOJOURN] = ld(&s->drop_demoted_sojourn);
	o->drops[AGENT_TM_DROP_NRT_SOJOURN] = sub0(ld(&s->drop_nrt_sojourn),
						   o->drops[AGENT_TM_DROP_DEMOTED_SOJOURN]);
	o->nrt_overtakes = ld(&s->nrt_overtakes);
	o->table_swaps = ld(&s->table_swaps);
	o->icmp[AGENT_TM_ICMP_SENT] = ld(&s->icmp_sent);
	o->icmp[AGENT_TM_ICMP_LIMITED] = ld(&s->icmp_ratelimited);
	o->icmp[AGENT_TM_ICMP_NOT_ANSWERED] = ld(&s->icmp_not_answered);
	o->backlog[AGENT_TM_Q_EDF] = ld(&s->backlog[DP_Q_EDF]);
	o->backlog[AGENT_TM_Q_WFQ] = ld(&s->backlog[DP_Q_WFQ]);
	o->backlog[AGENT_TM_Q_CTL] = ld(&s->backlog[DP_Q_CTL]);
	o->backlog[AGENT_TM_Q_NRT] = ld(&s->backlog[DP_Q_NRT]);
	hist_from_dp(&s->queue_delay[DP_QC_RT], &o->queue_delay[AGENT_TM_RT]);
	hist_from_dp(&s->queue_delay[DP_QC_NRT], &o->queue_delay[AGENT_TM_NRT]);
	hist_from_dp(&s->queue_delay[DP_QC_CTL], &o->queue_delay[AGENT_TM_CTL]);
}

static void dp_rx(const struct dp_rx_stats *r, struct agent_tm_dp_host *o)
{
	o->rx[AGENT_TM_RX_POPPED] = ld(&r->popped);
	o->rx[AGENT_TM_RX_PASSED] = ld(&r->passed);
	o->rx[AGENT_TM_RX_FOREIGN] = ld(&r->mpls_foreign);
	o->rx[AGENT_TM_RX_UNKNOWN_PATH] = ld(&r->unknown_path);
	o->rx[AGENT_TM_RX_NOT_IPV4] = ld(&r->not_ipv4);
	o->misses = ld(&r->misses);
	o->late_past_label = ld(&r->late_past_label);
	o->miss_reports_lost = ld(&r->reports_lost);
}

void agent_dp_tm_host_read(const struct dp_sched_stats *s, const struct dp_rx_stats *r,
		     struct agent_tm_dp_host *o)
{
	dp_sched(s, o);
	dp_rx(r, o);
}

/* ---- from rtvdp's stats (what rtvd exports: rtvdp runs the engine) ---------- */

/* The same bucket mapping as hist_from_dp, over the non-empty buckets
 * that crossed the channel. */
static void hist_from_dpd(const struct dpd_hist *h, struct agent_tm_hist *out)
{
	size_t j = 0;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < h->n; i++) {
		double high_s = (double)dp_hist_bucket_high(h->idx[i]) / 1e9;

		while (j < AGENT_TM_DELAY_BUCKETS && agent_tm_delay_bounds_s[j] < high_s)
			j++;
		out->counts[j] += h->cnt[i];
	}
	out->sum_s = (double)h->sum / 1e9;
}

static void host_from_dpd(const struct dpd_stats *s, struct agent_tm_dp_host *o)
{
	const uint64_t *c = s->ctr;

	o->sent_frames = c[DPD_C_SENT_FRAMES];
	o->sent_bytes = c[DPD_C_SENT_BYTES];
	o->queued[AGENT_TM_RT] = c[DPD_C_RT_FRAMES];
	o->queued[AGENT_TM_NRT] = c[DPD_C_NRT_FRAMES];
	o->queued[AGENT_TM_CTL] = c[DPD_C_CTL_FRAMES];
	o->drops[AGENT_TM_DROP_POOL] = c[DPD_C_DROP_POOL];
	o->drops[AGENT_TM_DROP_RUNT] = c[DPD_C_DROP_RUNT];
	o->drops[AGENT_TM_DROP_NRT_FULL] = c[DPD_C_DROP_NRT_FULL];
	o->drops[AGENT_TM_DROP_CTL_FULL] = c[DPD_C_DROP_CTL_FULL];
	o->drops[AGENT_TM_DROP_POLICED] = c[DPD_C_DROP_POLICED];
	o->drops[AGENT_TM_DROP_TOO_BIG] = c[DPD_C_DROP_TOO_BIG];
	o->drops[AGENT_TM_DROP_VM_MPLS] = c[DPD_C_DROP_VM_MPLS];
	o->exceptions[AGENT_TM_EXC_BAD_IP] = c[DPD_C_BAD_IP_PASSED];
	o->exceptions[AGENT_TM_EXC_REMARKED] = c[DPD_C_REMARKED];
	o->exceptions[AGENT_TM_EXC_WFQ_NO_SLOT] = c[DPD_C_WFQ_NO_SLOT];
	o->exceptions[AGENT_TM_EXC_FRAGMENTED] = c[DPD_C_FRAGMENTED];
	o->demoted = c[DPD_C_DEMOTED];
	o->tolerated = c[DPD_C_TOLERATED];
	o->cdv_tolerance_ns = c[DPD_C_CDV_TOLERANCE_NS];
	o->drops[AGENT_TM_DROP_DEMOTED_SOJOURN] = c[DPD_C_DROP_DEMOTED_SOJOURN];
	o->drops[AGENT_TM_DROP_NRT_SOJOURN] = sub0(c[DPD_C_DROP_NRT_SOJOURN],
						   c[DPD_C_DROP_DEMOTED_SOJOURN]);
	o->nrt_overtakes = c[DPD_C_NRT_OVERTAKES];
	o->table_swaps = c[DPD_C_TABLE_SWAPS];
	o->icmp[AGENT_TM_ICMP_SENT] = c[DPD_C_ICMP_SENT];
	o->icmp[AGENT_TM_ICMP_LIMITED] = c[DPD_C_ICMP_RATELIMITED];
	o->icmp[AGENT_TM_ICMP_NOT_ANSWERED] = c[DPD_C_ICMP_NOT_ANSWERED];
	o->backlog[AGENT_TM_Q_EDF] = c[DPD_C_BACKLOG_EDF];
	o->backlog[AGENT_TM_Q_WFQ] = c[DPD_C_BACKLOG_WFQ];
	o->backlog[AGENT_TM_Q_CTL] = c[DPD_C_BACKLOG_CTL];
	o->backlog[AGENT_TM_Q_NRT] = c[DPD_C_BACKLOG_NRT];
	hist_from_dpd(&s->qdelay[DP_QC_RT], &o->queue_delay[AGENT_TM_RT]);
	hist_from_dpd(&s->qdelay[DP_QC_NRT], &o->queue_delay[AGENT_TM_NRT]);
	hist_from_dpd(&s->qdelay[DP_QC_CTL], &o->queue_delay[AGENT_TM_CTL]);
	o->rx[AGENT_TM_RX_POPPED] = c[DPD_C_IN_POPPED];
	o->rx[AGENT_TM_RX_PASSED] = c[DPD_C_IN_PASSED];
	o->rx[AGENT_TM_RX_FOREIGN] = c[DPD_C_IN_MPLS_FOREIGN];
	o->rx[AGENT_TM_RX_UNKNOWN_PATH] = c[DPD_C_IN_UNKNOWN_PATH];
	o->rx[AGENT_TM_RX_NOT_IPV4] = c[DPD_C_IN_NOT_IPV4];
	o->misses = c[DPD_C_IN_MISSES];
	o->late_past_label = c[DPD_C_IN_LATE_PAST_LABEL];
	o->miss_reports_lost = c[DPD_C_IN_REPORTS_LOST];
}

static void dp_host(void *self, struct agent_tm_dp_host *o)
{
	const struct agent_dp *dp = self;

	o->process_up = dp->uc.up;
	o->degraded = dp->link.degraded;
	if (dp->sock.seal) {
		const struct pki_dgram_stats *ps = pki_dgram_stats(dp->sock.seal);

		o->sealed = true;
		o->miss_sealed_refused[AGENT_TM_SEAL_BAD_MAC] = ps->bad_tag;
		o->miss_sealed_refused[AGENT_TM_SEAL_UNKNOWN_KEY] = ps->unknown_key;
		o->miss_sealed_refused[AGENT_TM_SEAL_REPLAY] = ps->replayed;
		o->miss_sealed_refused[AGENT_TM_SEAL_STALE] = ps->stale;
		o->miss_sealed_refused[AGENT_TM_SEAL_MALFORMED] = ps->malformed;
		o->miss_sealed_refused[AGENT_TM_SEAL_WRONG_SENDER] = dp->sock.stats.dgrams_wrong_sender;
	}
	o->takeovers = dp->takeovers;
	if (!dp->have_stats)
		return;
	o->pacer_bps = agent_core_config(dp->d)->uplink_bps;	/* dataplane.h: the pacer runs at [uplink] capacity */
	host_from_dpd(&dp->stats.u.stats, o);
}

void agent_dp_tm_path_read(const struct dp_path *p, struct agent_tm_dp_path *o)
{
	const struct dp_hist *h;
	struct dp_path_counters c;

	dp_path_counters(p, &c);
	o->tx_pkts = c.tx_pkts;
	o->tx_bytes = c.tx_bytes;
	o->tx_exceeded = c.tx_demoted + c.tx_policed;
	o->rx_pkts = c.rx_pkts;
	o->misses = c.rx_misses;
	if ((h = dp_path_hist(p)) != NULL)
		hist_from_dp(h, &o->delay);
	if ((h = dp_path_lateness(p)) != NULL)
		hist_from_dp(h, &o->lateness);
}

static bool dp_path(void *self, uint64_t path_id, struct agent_tm_dp_path *o)
{
	const struct dpd_path_stats *p = dpg_chan_path(self, path_id);

	if (!p)
		return false;
	o->tx_pkts = p->c.tx_pkts;
	o->tx_bytes = p->c.tx_bytes;
	o->tx_exceeded = p->c.tx_demoted + p->c.tx_policed;
	o->rx_pkts = p->c.rx_pkts;
	o->misses = p->c.rx_misses;
	if (p->has_hist) {
		hist_from_dpd(&p->delay, &o->delay);
		hist_from_dpd(&p->late, &o->lateness);
	}
	return true;
}

const struct agent_tm_sources agent_dp_tm_sources = {
	.dp_host = dp_host,
	.dp_path = dp_path,
};
