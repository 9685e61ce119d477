/* dp_miss.c — the ingress path: pop the label, check the deadline, record
 * the one-way delay, aggregate misses for the sender (issue 4, "Ingress";
 * docs/architecture.md, "Miss reports").
 *
 * Deadline check. The label is the absolute deadline in µs modulo 2^20 on
 * the sender's CLOCK_REALTIME (floored to the µs). The receiver reads its own
 * CLOCK_REALTIME and compares in serial-number arithmetic over the label
 * and the deadline bits rtvnet's senders put in the TTL (27 bits,
 * dp_deadline_diff_us): unambiguous while |now − deadline| < 2^26 µs (67 s),
 * so a frame held past the label's own ±0.52 s still counts as the miss it
 * is (and in late_past_label: the 20-bit label alone would have read it as
 * early). A frame from a sender without the extension falls back to the
 * label alone. A packet misses when it
 * arrives in a later microsecond than its label's: resolution 1 µs, never a
 * false miss from the floor. Clock error between hosts is not corrected
 * here; every report carries the bound the receiver assumes
 * (cfg.uncertainty_ns) so the sender can judge.
 *
 * One-way delay = arrival − (deadline − D), D the path's end-to-end
 * deadline: the time from the sender's dataplane taking the frame from its
 * VM to this dataplane receiving it. Recorded in ns (1 µs resolution from the
 * label) into the path's log-linear histogram; a missed packet's lateness
 * (arrival − its label's deadline) into a second one.
 *
 * Miss records are aggregated per rtpath per interval (count, worst
 * lateness and its IP id, first and last time) on a list of the paths that
 * missed, and handed to the control loop through a single-producer,
 * single-consumer ring: the ingress thread never blocks and never
 * allocates; if the control loop falls behind, reports are counted as lost
 * (dp_rx_stats.reports_lost) rather than queued without bound.
 */
#include "dp/dp_internal.h"

#include <string.h>

#define RING_MASK (DP_MISS_RING - 1)

_Static_assert((DP_MISS_RING & RING_MASK) == 0, "DP_MISS_RING must be a power of two");

void dp_rx_init(struct dp_rx *rx, const struct dp_rx_config *cfg)
{
	_Atomic uint64_t *c = (_Atomic uint64_t *)&rx->stats;

	memset(rx, 0, sizeof(*rx));
	rx->cfg = *cfg;
	if (!rx->cfg.interval_ns)
		rx->cfg.interval_ns = 100000000;
	for (size_t i = 0; i < sizeof(rx->stats) / sizeof(*c); i++)
		atomic_init(&c[i], 0);
	atomic_init(&rx->ring.head, 0);
	atomic_init(&rx->ring.tail, 0);
}

/* ---- the ring ---------------------------------------------------------------- */

static void ring_push(struct dp_rx *rx, const struct dp_miss_report *rep)
{
	struct dp_miss_ring *r = &rx->ring;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h - t >= DP_MISS_RING) {
		dp_add(&rx->stats.reports_lost, 1);
		return;
	}
	r->r[h & RING_MASK] = *rep;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

size_t dp_miss_drain(struct dp_rx *rx, struct dp_miss_report *out, size_t max)
{
	struct dp_miss_ring *r = &rx->ring;
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = 0;

	while (t + n < h && n < max) {
		out[n] = r->r[(t + n) & RING_MASK];
		n++;
	}
	atomic_store_explicit(&r->tail, t + n, memory_order_release);
	return n;
}

/* ---- aggregation -------------------------------------------------------------- */

static void flush(struct dp_rx *rx)
{
	struct dp_pstate *st = rx->dirty, *next;

	for (; st; st = next) {
		next = st->rx.dirty_next;
		ring_push(rx, &st->rx.pend);
		st->rx.dirty = false;
		st->rx.dirty_next = NULL;
	}
	rx->dirty = NULL;
}

void dp_rx_tick(struct dp_rx *rx, uint64_t now_real_ns)
{
	if (now_real_ns - rx->interval_start_ns < rx->cfg.interval_ns)
		return;
	flush(rx);
	rx->interval_start_ns = now_real_ns;
}

/* The old table's paths may be freed once this thread passes its next
 * quiescent state: report what they hold now. */
void dp_rx_adopt(struct dp_rx *rx, const struct dp_table *t, uint64_t now_real_ns)
{
	flush(rx);
	rx->interval_start_ns = now_real_ns;
	rx->table = t;
	rx->table_gen = t ? dp_table_generation(t) : 0;
}

static void miss(struct dp_rx *rx, struct dp_pstate *st, uint64_t now_ns, uint64_t exceed_ns,
		 uint16_t ip_id)
{
	struct dp_miss_report *m = &st->rx.pend;

	dp_add(&rx->stats.misses, 1);
	dp_add(&st->rx.misses, 1);
	dp_max(&st->rx.max_late_ns, exceed_ns);
	dp_hist_record(st->late, exceed_ns);
	if (!st->rx.dirty) {
		*m = (struct dp_miss_report){ .path_id = st->id, .src_host = st->rx.src_host,
					      .first_ns = now_ns,
					      .uncertainty_ns = rx->cfg.uncertainty_ns };
		st->rx.dirty = true;
		st->rx.dirty_next = rx->dirty;
		rx->dirty = st;
	}
	m->misses++;
	m->last_ns = now_ns;
	m->last_ip_id = ip_id;
	if (exceed_ns > m->max_exceed_ns || m->misses == 1) {
		m->max_exceed_ns = exceed_ns;
		m->max_exceed_ip_id = ip_id;
	}
}

/* Deadline and delay of a popped frame of `path`. */
static void account(struct dp_rx *rx, const struct dp_path *path, const struct dp_mpls *m,
		    uint16_t ip_id, uint64_t now_ns)
{
	struct dp_pstate *st = path->st;
	uint64_t now_us = now_ns / 1000;
	int32_t late_us = dp_deadline_diff_us(now_us, m->label, m->ttl);
	uint64_t deadline_ns = (now_us - (uint64_t)(int64_t)late_us) * 1000;
	uint64_t sent_ns = deadline_ns - path->deadline_ns;

	dp_add(&st->rx.pkts, 1);
	dp_hist_record(st->hist, now_ns > sent_ns ? now_ns - sent_ns : 0);
	if (late_us <= 0)
		return;
	/* read by the label alone, this one would have looked early */
	if (dp_label_diff_us(dp_label_of_us(now_us), m->label) <= 0)
		dp_add(&rx->stats.late_past_label, 1);
	miss(rx, st, now_ns, now_ns - deadline_ns, ip_id);
}

void dp_rx_frame(struct dp_rx *rx, uint8_t *frame, size_t len, uint64_t now_real_ns,
		 uint8_t **out_frame, size_t *out_len)
{
	const struct dp_path *path;
	struct dp_parsed p;
	struct dp_mpls m;
	uint8_t *g;

	dp_add(&rx->stats.frames, 1);
	*out_frame = frame;
	*out_len = len;
	switch (dp_mpls_pop(frame, len, &m, &g)) {
	case DP_POP_OK:
		break;
	case DP_POP_NOT_MPLS:
		dp_add(&rx->stats.passed, 1);
		return;
	default:
		dp_add(&rx->stats.mpls_foreign, 1);
		return;
	}
	dp_add(&rx->stats.popped, 1);
	*out_frame = g;
	*out_len = len - DP_MPLS_HLEN;
	if (dp_pkt_parse(g, len - DP_MPLS_HLEN, &p) != DP_PARSE_IPV4) {
		dp_add(&rx->stats.not_ipv4, 1);
		return;
	}
	path = dp_table_lookup(rx->table, DP_RX, &p.key);
	if (!path || !path->st->hist) {
		dp_add(&rx->stats.unknown_path, 1);
		return;
	}
	account(rx, path, &m, p.ip_id, now_real_ns);
}
