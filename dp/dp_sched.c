/* dp_sched.c — the egress scheduler: where the uplink's queue forms, ordered
 * by deadline, inside rtvd (docs/architecture.md, "One host").
 *
 * Classes, in the order the link serves them:
 *
 *   WFQ  reservation-type rtpaths, one WF²Q+ path each at its service rate R,
 *        in strict priority above everything else. Admission (cadmit.c (c),
 *        (d)) counts them that way: each takes b + R·t of the link, and the
 *        RFC 2212 bound with Ctot = one max frame covers the one frame of a
 *        lower class that may be on the wire when a packet arrives.
 *   EDF  deadline-type rtpaths in a timing wheel of 1 µs buckets (the label's
 *        resolution), keyed by arrival + the path's EDF offset (its deadline
 *        minus the network budget, escalated and boosted).
 *   CTL  rtvd's own control traffic (from the host's address with DSCP
 *        CS6/CS7): a short FIFO ahead of NRT, under the NRT rule — it is not
 *        reserved, so it must not put RT deadlines at risk either.
 *   NRT  everything else, drop-tail FIFO, and head-drop of frames that
 *        waited longer than nrt_sojourn_ns (a sojourn limit sized to the
 *        link, CoDel's target without its control law: at the head a frame
 *        older than that is dropped when the link could take it).
 *
 * The NRT rule (seed 000 §3.4; sched/headroom.c): when the wire is free and
 * RT is queued, a CTL/NRT frame of L wire bits goes first iff
 * L + B <= h_min(d_min − now), B the queued EDF wire bits and d_min the
 * head's bucket start; the headroom comes with the table (dp_table.c), built
 * in wire terms from the EDF offsets less one bucket and less tx_ahead_ns.
 * Every quantity the rule compares counts the pacer's per-frame overhead,
 * as linksim.c does, or the overhead would eat the slack the rule relies on.
 *
 * The pacer releases frames at the uplink's configured rate (with its
 * per-frame overhead), so the queue forms here and not in a FIFO below. The
 * I/O thread may dequeue up to tx_ahead_ns before the pacer's start time to
 * save wake-ups; the frame then waits at most that long in the driver.
 *
 * Policing (per rtpath, token bucket on wire bytes, dp_table.c's wire
 * envelope, deepened by r·τ for the host switch's measured delay variation
 * τ: dp_police.c). Traffic beyond the reservation is not the path's to send:
 *   deadline type     demoted: sent as NRT, unlabelled, counted — soft
 *                     real time: the excess still arrives, best effort,
 *                     and the receiver does not count it as a miss; like
 *                     any NRT frame it waits at most nrt_sojourn_ns (5 ms
 *                     or 16 full frames at the link's rate), else it is
 *                     dropped and counted (drop_demoted_sojourn): never
 *                     the seconds a full NRT FIFO holds at a slow uplink;
 *   reservation type  dropped and counted — its WF²Q+ rate and the EDF test
 *                     of its neighbours assume (r, b), and demoting would
 *                     reorder its stream behind NRT; a hard-RT sender that
 *                     exceeds its contract is misconfigured, and the counter
 *                     says so.
 *
 * Oversized RT frames: an RT frame whose L3 part + 4 exceeds the uplink MTU
 * cannot carry the label whole. Without DF it is fragmented (dp_frag.c) to
 * MTU − 4 and each fragment is labelled and queued, as a router would
 * (RFC 1812 §4.2.2.7). With DF it is not sent; the VM gets ICMP destination
 * unreachable / fragmentation needed (RFC 1191) with next-hop MTU = MTU − 4,
 * rate limited. Source address: the host's own (cfg.host_ip) — the
 * hypervisor is the hop that cannot forward, which is who RFC 792/1191 say
 * answers; the original destination only if no host address is configured
 * (stacks match the quoted header to a socket, not the ICMP source).
 *
 * Edge policy (cfg.edge_remark): rtvd re-marks at the edge so that a VM
 * cannot claim a ToR priority class it did not reserve (tests/lab/lab.sh):
 * NRT IPv4 from VMs loses DSCP 34/40/46/48/56, MPLS frames from VMs are
 * dropped.
 *
 * Memory: one pool of descriptors allocated at init; no allocation and no
 * lock after that. Each exception has its own counter (struct
 * dp_sched_stats); nothing on this path logs.
 *
 * Telemetry: only this thread may read the queues, so it publishes what
 * the control loop exports: each queue's length as a relaxed atomic gauge,
 * stored when that queue changes (one store per enqueue and per dequeue),
 * and the time each frame spent queued (its enqueue time to its dequeue,
 * on the monotonic clock) into a histogram per class. A frame dequeued up
 * to tx_ahead_ns early counts the time up to its dequeue, not to the wire.
 */
#include "dp/dp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define DSCP_CS6 48
#define NRT_SOJOURN_MIN_NS 5000000ull	/* CoDel's target: a queue to absorb bursts, not to stand */

struct dp_wfq_slot {
	uint64_t path_id;
	uint64_t gen;		/* table generation that last named it */
	bool used, retiring;
};

static struct dp_desc *desc_of(struct sched_pkt *p)
{
	return p ? container_of(p, struct dp_desc, sp) : NULL;
}

/* ---- set-up --------------------------------------------------------------- */

static int config_fix(const struct dp_sched_config *in, struct dp_sched_config *c)
{
	*c = *in;
	if (!c->edf_bucket_ns)
		c->edf_bucket_ns = 1000;
	if (!c->edf_buckets_log2)
		c->edf_buckets_log2 = 16;
	if (!c->icmp_per_s)
		c->icmp_per_s = 100;
	if (!c->icmp_burst)
		c->icmp_burst = 10;
	if (!c->nrt_sojourn_ns && c->uplink_bps) {
		uint64_t frames_ns = 16 * (uint64_t)(c->frame_max_bytes + c->overhead_bytes) * 8 *
				     1000000000 / c->uplink_bps;

		c->nrt_sojourn_ns = frames_ns > NRT_SOJOURN_MIN_NS ? frames_ns : NRT_SOJOURN_MIN_NS;
	}
	if (!c->cdv_max_ns)
		c->cdv_max_ns = DP_CDV_MAX_NS;
	if (!c->uplink_bps || c->mtu < 68 || c->mtu > 65531 || c->frame_max_bytes < 64 ||
	    c->frame_max_bytes > 65535 || !c->pool_pkts || !c->wfq_max_paths ||
	    (uint64_t)c->nrt_limit_pkts + c->ctl_limit_pkts >= c->pool_pkts)
		return -EINVAL;
	return 0;
}

static void stats_init(struct dp_sched_stats *st)
{
	_Atomic uint64_t *c = (_Atomic uint64_t *)st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(*c); i++)
		atomic_init(&c[i], 0);
	for (int i = 0; i < DP_QC_N; i++)
		dp_hist_init(&st->queue_delay[i]);
}

/* ---- telemetry (egress thread) ------------------------------------------------ */

static uint64_t queue_len(const struct dp_sched *s, unsigned kind)
{
	switch (kind) {
	case DP_Q_EDF:
		return s->edf.len;
	case DP_Q_WFQ:
		return s->wfq.len;
	case DP_Q_CTL:
		return s->ctl.len;
	default:
		return s->nrt.len;
	}
}

static void backlog_publish(struct dp_sched *s, unsigned kind)
{
	atomic_store_explicit(&s->stats.backlog[kind], queue_len(s, kind), memory_order_relaxed);
}

static enum dp_qclass class_of(unsigned kind)
{
	return kind == DP_Q_NRT ? DP_QC_NRT : kind == DP_Q_CTL ? DP_QC_CTL : DP_QC_RT;
}

static int pool_init(struct dp_sched *s)
{
	size_t stride = (DP_HEADROOM + s->cfg.frame_max_bytes + 63) & ~(size_t)63;

	s->descs = calloc(s->cfg.pool_pkts, sizeof(*s->descs));
	s->bufs = aligned_alloc(64, stride * s->cfg.pool_pkts);
	if (!s->descs || !s->bufs)
		return -ENOMEM;
	for (uint32_t i = s->cfg.pool_pkts; i-- > 0;) {
		s->descs[i].buf = s->bufs + stride * i;
		s->descs[i].free_next = s->free;
		s->free = &s->descs[i];
	}
	return 0;
}

static int slots_init(struct dp_sched *s)
{
	uint32_t n = s->cfg.wfq_max_paths;

	s->slots = calloc(n, sizeof(*s->slots));
	s->free_slots = calloc(n, sizeof(*s->free_slots));
	if (!s->slots || !s->free_slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		s->free_slots[i] = n - 1 - i;
	s->n_free_slots = n;
	return 0;
}

static void free_all(struct dp_sched *s)
{
	free(s->descs);
	free(s->bufs);
	free(s->slots);
	free(s->free_slots);
}

int dp_sched_init(struct dp_sched *s, const struct dp_sched_config *cfg)
{
	struct sched_edf_config ec;
	struct sched_wfq_config wc;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = config_fix(cfg, &s->cfg)) < 0)
		return rc;
	stats_init(&s->stats);
	ec = (struct sched_edf_config){ .bucket_ns = s->cfg.edf_bucket_ns,
					.buckets_log2 = s->cfg.edf_buckets_log2 };
	wc = (struct sched_wfq_config){ .link_bps = s->cfg.uplink_bps,
					.max_paths = s->cfg.wfq_max_paths };
	if ((rc = sched_edf_init(&s->edf, &ec)) < 0)
		return rc;
	if ((rc = sched_wfq_init(&s->wfq, &wc)) < 0)
		goto err_wfq;
	rc = -ENOMEM;
	if (pool_init(s) < 0 || slots_init(s) < 0)
		goto err_mem;
	sched_fifo_init(&s->nrt, s->cfg.nrt_limit_pkts);
	sched_fifo_init(&s->ctl, s->cfg.ctl_limit_pkts);
	sched_pacer_init(&s->pacer, s->cfg.uplink_bps, s->cfg.overhead_bytes);
	/* one "byte" per ICMP answer: rate icmp_per_s·8 bit/s */
	sched_tb_init(&s->icmp_tb, (uint64_t)s->cfg.icmp_per_s * 8, s->cfg.icmp_burst, 0);
	dp_cdv_init(&s->cdv, s->cfg.cdv_off ? 0 : s->cfg.cdv_max_ns, 0);
	return 0;

err_mem:
	free_all(s);
	sched_wfq_close(&s->wfq);
err_wfq:
	sched_edf_close(&s->edf);
	return rc;
}

void dp_sched_close(struct dp_sched *s)
{
	struct sched_pkt *p;

	while ((p = sched_wfq_dequeue(&s->wfq)) || (p = sched_edf_dequeue(&s->edf)) ||
	       (p = sched_fifo_dequeue(&s->ctl)) || (p = sched_fifo_dequeue(&s->nrt)))
		;
	for (uint32_t i = 0; i < s->cfg.wfq_max_paths; i++)
		if (s->slots[i].used)
			sched_wfq_path_clear(&s->wfq, i);
	sched_wfq_close(&s->wfq);
	sched_edf_close(&s->edf);
	free_all(s);
	memset(s, 0, sizeof(*s));
}

/* ---- descriptors ----------------------------------------------------------- */

struct dp_desc *dp_sched_alloc(struct dp_sched *s)
{
	struct dp_desc *d = s->free;

	if (!d) {
		dp_add(&s->stats.drop_pool, 1);
		return NULL;
	}
	s->free = d->free_next;
	d->frame = d->buf + DP_HEADROOM;
	d->len = 0;
	d->demoted = false;
	return d;
}

void dp_sched_free(struct dp_sched *s, struct dp_desc *d)
{
	d->free_next = s->free;
	s->free = d;
}

/* ---- adopting a table ------------------------------------------------------- */

static void slot_release(struct dp_sched *s, uint32_t i)
{
	sched_wfq_path_clear(&s->wfq, i);
	s->slots[i] = (struct dp_wfq_slot){ 0 };
	s->free_slots[s->n_free_slots++] = i;
}

void dp_sched_housekeep(struct dp_sched *s)
{
	if (!s->n_retiring)
		return;
	for (uint32_t i = 0; i < s->cfg.wfq_max_paths; i++)
		if (s->slots[i].retiring && !sched_wfq_path_len(&s->wfq, i)) {
			slot_release(s, i);
			s->n_retiring--;
		}
}

/* A reservation path's WF²Q+ slot: kept (and re-rated) if it still names
 * this path, else a new one. */
static void wfq_attach(struct dp_sched *s, const struct dp_path *p, uint64_t gen)
{
	struct dp_pstate *st = p->st;
	uint32_t i = st->tx.wfq_slot;
	uint64_t wire_bps;

	if (i == DP_NO_SLOT || i >= s->cfg.wfq_max_paths || !s->slots[i].used ||
	    s->slots[i].path_id != p->id) {
		st->tx.wfq_slot = DP_NO_SLOT;
		if (!s->n_free_slots)
			return;	/* counted per packet as wfq_no_slot */
		i = s->free_slots[--s->n_free_slots];
		s->slots[i] = (struct dp_wfq_slot){ .path_id = p->id, .used = true };
		st->tx.wfq_slot = i;
		st->tx.wfq_rate_bps = 0;
	}
	if (s->slots[i].retiring) {
		s->slots[i].retiring = false;
		s->n_retiring--;
	}
	s->slots[i].gen = gen;
	/* WF²Q+ charges each frame with its label (d->len), so serve R in
	 * the same terms: R bought for frames of max_pkt_bytes, plus 4 bytes
	 * each (the same conversion admission uses, sched_wire_rate_bps). */
	wire_bps = sched_wire_rate_bps(p->service_rate_bps, p->max_pkt_bytes, DP_MPLS_HLEN);
	if (st->tx.wfq_rate_bps != wire_bps && sched_wfq_path_set(&s->wfq, i, wire_bps) == 0)
		st->tx.wfq_rate_bps = wire_bps;
}

static void policer_attach(const struct dp_path *p, uint64_t now_ns)
{
	struct dp_pstate *st = p->st;

	if (!st->tx.ready) {
		sched_tb_init(&st->tx.tb, p->wire_rate_bps, p->wire_burst_bytes, now_ns);
		st->tx.ready = true;
	} else if (st->tx.tb_rate_bps != p->wire_rate_bps ||
		   st->tx.tb_burst_bytes != p->wire_burst_bytes) {
		sched_tb_set(&st->tx.tb, p->wire_rate_bps, p->wire_burst_bytes, now_ns);
	}
	st->tx.tb_rate_bps = p->wire_rate_bps;
	st->tx.tb_burst_bytes = p->wire_burst_bytes;
}

void dp_sched_adopt(struct dp_sched *s, const struct dp_table *t, uint64_t now_mono_ns)
{
	uint64_t gen = dp_table_generation(t);

	for (size_t i = 0; i < dp_table_count(t, DP_TX); i++) {
		const struct dp_path *p = dp_table_at(t, DP_TX, i);

		policer_attach(p, now_mono_ns);
		if (p->type == CONS_PATH_RESERVATION)
			wfq_attach(s, p, gen);
	}
	for (uint32_t i = 0; i < s->cfg.wfq_max_paths; i++)
		if (s->slots[i].used && !s->slots[i].retiring && s->slots[i].gen != gen) {
			s->slots[i].retiring = true;
			s->n_retiring++;
		}
	dp_sched_housekeep(s);
	s->table = t;
	s->table_gen = gen;
	dp_add(&s->stats.table_swaps, 1);
}

/* ---- enqueue ---------------------------------------------------------------- */

static bool prioritised_dscp(uint8_t dscp)
{
	return dscp == 34 || dscp == 40 || dscp == 46 || dscp == 48 || dscp == 56;
}

static enum dp_verdict fifo_put(struct dp_sched *s, struct dp_desc *d, bool ctl)
{
	struct sched_fifo *f = ctl ? &s->ctl : &s->nrt;

	d->sp.len_bytes = d->len;
	d->kind = ctl ? DP_Q_CTL : DP_Q_NRT;
	if (sched_fifo_enqueue(f, &d->sp) < 0) {
		dp_add(ctl ? &s->stats.drop_ctl_full : &s->stats.drop_nrt_full, 1);
		dp_sched_free(s, d);
		return DP_V_DROPPED;
	}
	dp_add(ctl ? &s->stats.ctl_frames : &s->stats.nrt_frames, 1);
	s->queued++;
	backlog_publish(s, d->kind);
	return DP_V_QUEUED;
}

/* NRT IPv4: control traffic of this host, or a VM's (re-marked at the edge). */
static enum dp_verdict nrt_ipv4(struct dp_sched *s, struct dp_desc *d, const struct dp_parsed *p)
{
	bool own = s->cfg.host_ip && p->key.src_ip == s->cfg.host_ip;

	if (own && p->ip_dscp >= DSCP_CS6)
		return fifo_put(s, d, true);
	if (!own && s->cfg.edge_remark && prioritised_dscp(p->ip_dscp)) {
		dp_pkt_set_dscp(d->frame, p, 0);
		dp_add(&s->stats.remarked, 1);
	}
	return fifo_put(s, d, false);
}

static enum dp_verdict too_big(struct dp_sched *s, struct dp_desc *d, const struct dp_parsed *p,
			       const struct dp_path *path, uint64_t now_ns,
			       struct dp_desc **reply)
{
	struct dp_desc *r;
	uint32_t src = s->cfg.host_ip ? s->cfg.host_ip : p->key.dst_ip;
	size_t n;

	dp_add(&s->stats.drop_too_big, 1);
	dp_add(&path->st->tx.too_big, 1);
	if (!sched_tb_take(&s->icmp_tb, 1, now_ns)) {
		dp_add(&s->stats.icmp_ratelimited, 1);
		dp_sched_free(s, d);
		return DP_V_DROPPED;
	}
	r = dp_sched_alloc(s);
	n = r ? dp_icmp_frag_needed(r->frame, s->cfg.frame_max_bytes, d->frame, d->len, p, src,
				    (uint16_t)(s->cfg.mtu - DP_MPLS_HLEN)) : 0;
	dp_sched_free(s, d);
	if (!n) {
		if (r)
			dp_sched_free(s, r);
		dp_add(&s->stats.icmp_not_answered, 1);
		return DP_V_DROPPED;
	}
	r->len = (uint32_t)n;
	*reply = r;
	dp_add(&s->stats.icmp_sent, 1);
	return DP_V_REPLY;
}

/* Stamps and queues a conforming RT frame. */
static enum dp_verdict rt_queue(struct dp_sched *s, struct dp_desc *d, const struct dp_parsed *p,
				const struct dp_path *path, const struct dp_now *now)
{
	uint64_t deadline_us = (now->real_ns + path->deadline_ns) / 1000;
	struct dp_pstate *st = path->st;
	uint32_t slot = st->tx.wfq_slot;

	dp_pkt_set_dscp(d->frame, p, path->dscp);
	d->frame = dp_mpls_push(d->frame, d->len, p, dp_label_of_us(deadline_us), path->tc,
				  dp_ttl_of_us(deadline_us));
	d->len += DP_MPLS_HLEN;
	d->sp.len_bytes = d->len;
	d->sp.deadline_ns = now->mono_ns + path->edf_offset_ns;
	if (path->type == CONS_PATH_RESERVATION && slot != DP_NO_SLOT) {
		d->sp.path = slot;
		d->kind = DP_Q_WFQ;
		sched_wfq_enqueue(&s->wfq, &d->sp);	/* the slot is configured */
	} else {
		if (path->type == CONS_PATH_RESERVATION)
			dp_add(&s->stats.wfq_no_slot, 1);
		d->kind = DP_Q_EDF;
		sched_edf_enqueue(&s->edf, &d->sp);
	}
	dp_add(&st->tx.pkts, 1);
	dp_add(&st->tx.bytes, d->len);
	dp_add(&s->stats.rt_frames, 1);
	s->queued++;
	backlog_publish(s, d->kind);
	return DP_V_QUEUED;
}

/* The policer (dp_police.c) with the host switch's measured tolerance: true
 * when WIRE bytes of PATH are within its reservation now. */
static bool rt_conforms(struct dp_sched *s, const struct dp_path *path, uint32_t wire,
			uint64_t now_ns)
{
	switch (dp_police(path, wire, now_ns, dp_cdv_tolerance(&s->cdv))) {
	case DP_POLICE_TOLERATED:
		dp_add(&s->stats.tolerated, 1);
		return true;
	case DP_POLICE_IN:
		return true;
	case DP_POLICE_OUT:
		break;
	}
	return false;
}

/* A frame beyond its path's reservation (see "Policing" above). */
static enum dp_verdict rt_excess(struct dp_sched *s, struct dp_desc *d, const struct dp_parsed *p,
				 const struct dp_path *path)
{
	if (path->type == CONS_PATH_RESERVATION) {
		dp_add(&s->stats.drop_policed, 1);
		dp_add(&path->st->tx.policed, 1);
		dp_sched_free(s, d);
		return DP_V_DROPPED;
	}
	dp_add(&s->stats.demoted, 1);
	dp_add(&path->st->tx.demoted, 1);
	d->demoted = true;
	return nrt_ipv4(s, d, p);
}

static enum dp_verdict rt_fragments(struct dp_sched *s, struct dp_desc *d,
				    const struct dp_parsed *p, const struct dp_path *path,
				    const struct dp_now *now, struct dp_desc **reply);

static enum dp_verdict rt_frame(struct dp_sched *s, struct dp_desc *d, const struct dp_parsed *p,
				const struct dp_path *path, const struct dp_now *now,
				struct dp_desc **reply)
{
	uint32_t wire = d->len + DP_MPLS_HLEN + s->cfg.overhead_bytes;

	if (d->len - p->l3_off + DP_MPLS_HLEN > s->cfg.mtu)
		return p->ip_df ? too_big(s, d, p, path, now->mono_ns, reply)
				: rt_fragments(s, d, p, path, now, reply);
	if (rt_conforms(s, path, wire, now->mono_ns))
		return rt_queue(s, d, p, path, now);
	return rt_excess(s, d, p, path);
}

/* An RT frame without DF too big for the label (dp_frag.c). The fragments
 * are policed as one datagram, so it is stamped and queued whole, or demoted
 * (deadline type) or dropped (reservation type) whole: a datagram partly
 * dropped could never be reassembled. All descriptors are taken first for
 * the same reason (a short pool drops it whole, counted in drop_pool). Each
 * fragment is then queued like any frame of the rtpath, with the datagram's
 * deadline. */
static enum dp_verdict rt_fragments(struct dp_sched *s, struct dp_desc *d,
				    const struct dp_parsed *p, const struct dp_path *path,
				    const struct dp_now *now, struct dp_desc **reply)
{
	struct dp_desc *frags[DP_FRAG_MAX];
	enum dp_verdict v = DP_V_DROPPED;
	struct dp_parsed fp;
	struct dp_frag fr;
	uint64_t wire = 0;
	bool conform;
	int n = dp_frag_init(&fr, d->frame, d->len, p, (uint16_t)(s->cfg.mtu - DP_MPLS_HLEN));

	if (n <= 0 || n > DP_FRAG_MAX)
		return too_big(s, d, p, path, now->mono_ns, reply);
	for (int i = 0; i < n; i++)
		if (!(frags[i] = dp_sched_alloc(s))) {
			while (i-- > 0)
				dp_sched_free(s, frags[i]);
			dp_sched_free(s, d);
			return DP_V_DROPPED;
		}
	for (int i = 0; i < n; i++) {
		frags[i]->len = (uint32_t)dp_frag_next(&fr, frags[i]->frame, s->cfg.frame_max_bytes);
		frags[i]->sp.enq_ns = d->sp.enq_ns;
		wire += frags[i]->len + DP_MPLS_HLEN + s->cfg.overhead_bytes;
	}
	dp_sched_free(s, d);
	dp_add(&s->stats.fragmented, 1);
	dp_add(&s->stats.frag_out, (uint64_t)n);
	conform = rt_conforms(s, path, (uint32_t)wire, now->mono_ns);
	for (int i = 0; i < n; i++) {
		dp_pkt_parse(frags[i]->frame, frags[i]->len, &fp);	/* IPv4 by construction */
		if ((conform ? rt_queue(s, frags[i], &fp, path, now)
			     : rt_excess(s, frags[i], &fp, path)) == DP_V_QUEUED)
			v = DP_V_QUEUED;
	}
	return v;
}

enum dp_verdict dp_sched_enqueue(struct dp_sched *s, struct dp_desc *d,
				 const struct dp_now *now, struct dp_desc **reply)
{
	const struct dp_path *path;
	struct dp_parsed p;

	dp_add(&s->stats.rx_frames, 1);
	d->sp.enq_ns = now->mono_ns;	/* queue delay, whichever queue takes it */
	dp_cdv_arrival(&s->cdv, now->mono_ns);
	atomic_store_explicit(&s->stats.cdv_tolerance_ns, dp_cdv_tolerance(&s->cdv),
			      memory_order_relaxed);
	switch (dp_pkt_parse(d->frame, d->len, &p)) {
	case DP_PARSE_IPV4:
		path = dp_table_lookup(s->table, DP_TX, &p.key);
		if (path)
			return rt_frame(s, d, &p, path, now, reply);
		return nrt_ipv4(s, d, &p);
	case DP_PARSE_MPLS:
		if (!s->cfg.edge_remark)
			return fifo_put(s, d, false);
		dp_add(&s->stats.drop_vm_mpls, 1);
		dp_sched_free(s, d);
		return DP_V_DROPPED;
	case DP_PARSE_BAD_IP:
		dp_add(&s->stats.bad_ip_passed, 1);
		return fifo_put(s, d, false);
	case DP_PARSE_OTHER:
		return fifo_put(s, d, false);
	case DP_PARSE_RUNT:
		break;
	}
	dp_add(&s->stats.drop_runt, 1);
	dp_sched_free(s, d);
	return DP_V_DROPPED;
}

/* ---- dequeue ----------------------------------------------------------------- */

/* EDF head or a CTL/NRT frame, by the NRT rule. */
static struct sched_pkt *choose_edf_or_nrt(struct dp_sched *s, uint64_t now_ns)
{
	struct sched_pkt *rt = sched_edf_peek(&s->edf);
	struct sched_fifo *f = sched_fifo_peek(&s->ctl) ? &s->ctl : &s->nrt;
	struct sched_pkt *c = sched_fifo_peek(f);
	uint32_t o = s->cfg.overhead_bytes;
	uint64_t d_min, rt_bytes;

	if (!rt)
		return sched_fifo_dequeue(f);
	if (c) {
		d_min = rt->deadline_ns - rt->deadline_ns % s->cfg.edf_bucket_ns;
		rt_bytes = s->edf.bytes + s->edf.len * o;
		if (sched_nrt_may_send(dp_table_headroom(s->table), now_ns, d_min, rt_bytes,
				       c->len_bytes + o)) {
			dp_add(&s->stats.nrt_overtakes, 1);
			return sched_fifo_dequeue(f);
		}
	}
	return sched_edf_dequeue(&s->edf);
}

/* Drops the NRT frames at the head that have waited longer than
 * nrt_sojourn_ns: when the link can take a frame, one older than that is
 * not worth sending. The NRT queue thus holds at most that much time, not
 * nrt_limit_pkts frames' worth (seconds at a slow uplink), and a demoted RT
 * frame's fate is bounded too: sent within nrt_sojourn_ns, or dropped and
 * counted (drop_demoted_sojourn). */
static void nrt_expire(struct dp_sched *s, uint64_t now_ns)
{
	struct sched_pkt *p;
	struct dp_desc *d;

	while ((p = sched_fifo_peek(&s->nrt)) && now_ns > p->enq_ns &&
	       now_ns - p->enq_ns > s->cfg.nrt_sojourn_ns) {
		sched_fifo_dequeue(&s->nrt);
		s->queued--;
		d = desc_of(p);
		dp_add(&s->stats.drop_nrt_sojourn, 1);
		if (d->demoted)
			dp_add(&s->stats.drop_demoted_sojourn, 1);
		backlog_publish(s, d->kind);
		dp_sched_free(s, d);
	}
}

struct dp_desc *dp_sched_dequeue(struct dp_sched *s, uint64_t now_mono_ns)
{
	struct sched_pkt *p;
	struct dp_desc *d;

	if (!s->queued || sched_pacer_next_ns(&s->pacer, now_mono_ns) >
			  now_mono_ns + s->cfg.tx_ahead_ns)
		return NULL;
	nrt_expire(s, now_mono_ns);
	if (!s->queued)
		return NULL;
	p = s->wfq.len ? sched_wfq_dequeue(&s->wfq) : choose_edf_or_nrt(s, now_mono_ns);
	if (!p)
		return NULL;	/* a queue lost a packet: cannot happen (sched/ tests) */
	sched_pacer_send(&s->pacer, p->len_bytes, now_mono_ns);
	s->queued--;
	dp_add(&s->stats.sent_frames, 1);
	dp_add(&s->stats.sent_bytes, p->len_bytes);
	d = desc_of(p);
	backlog_publish(s, d->kind);
	dp_hist_record(&s->stats.queue_delay[class_of(d->kind)],
		       now_mono_ns > p->enq_ns ? now_mono_ns - p->enq_ns : 0);
	return d;
}

uint64_t dp_sched_next_ns(const struct dp_sched *s, uint64_t now_mono_ns)
{
	return s->queued ? sched_pacer_next_ns(&s->pacer, now_mono_ns) : UINT64_MAX;
}

void dp_sched_backlog(const struct dp_sched *s, uint64_t *edf, uint64_t *wfq, uint64_t *ctl,
		      uint64_t *nrt)
{
	*edf = s->edf.len;
	*wfq = s->wfq.len;
	*ctl = s->ctl.len;
	*nrt = s->nrt.len;
}
