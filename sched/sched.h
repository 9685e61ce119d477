/* sched.h — rtvnet's packet-scheduling library.
 *
 * A leaf: libc only, no I/O, no globals, no allocation on the packet path
 * (queues are intrusive: the caller embeds a struct sched_pkt in its own
 * packet descriptor). Allocation happens only in the _init functions.
 *
 * Units are in the names: _ns (nanoseconds), _bps (bits per second),
 * _bytes. Times are absolute on a clock the caller chooses (the dataplane uses
 * CLOCK_MONOTONIC or CLOCK_REALTIME; the simulator a simulated clock); the
 * library never reads a clock itself.
 *
 * Errors: 0 or a negative errno. The fast path (enqueue/dequeue) never fails
 * loudly: what it cannot take it returns to the caller, who counts the drop
 * under its own reason.
 *
 * Everything here is deterministic integer arithmetic, so the admission
 * functions can run inside Raft's apply and give the same answer on every
 * replica.
 */
#ifndef RTV_SCHED_H
#define RTV_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_NS_PER_S 1000000000ull

/* ------------------------------------------------------------------------- */
/* Packets                                                                   */

/* Embedded in the caller's packet descriptor. While a packet is queued the
 * scheduler owns the link fields; the caller owns the memory and must not
 * touch or free the packet until it is dequeued. */
struct sched_pkt {
	/* private to the queue holding the packet */
	struct sched_pkt *next;
	struct sched_pkt *child;
	uint64_t key;
	uint64_t seq;
	/* set by the caller before enqueue */
	uint64_t deadline_ns;	/* absolute deadline (EDF key) */
	uint64_t enq_ns;	/* arrival time (statistics, simulator) */
	uint32_t len_bytes;	/* frame length, without per-frame wire overhead */
	uint32_t path;		/* caller's path index; WFQ: the wfq path id */
};

/* ------------------------------------------------------------------------- */
/* EDF queue (edf.c)                                                         */

/* A bucketed earliest-deadline-first queue: a timing wheel of 2^buckets_log2
 * FIFO buckets, each bucket_ns wide, indexed through a hierarchy of
 * find-first-set bitmaps (Eiffel, NSDI'19; Carousel, SIGCOMM'17). The wheel
 * covers a window of 2^buckets_log2 * bucket_ns starting at the earliest
 * queued deadline; deadlines beyond the window, and deadlines earlier than
 * the window's start (late packets), go to exact slow-path heaps.
 *
 * Ordering: by deadline at bucket_ns resolution, FIFO among packets whose
 * deadlines fall in the same bucket (so FIFO among equal deadlines). The
 * dataplane uses bucket_ns = 1000, the resolution of the MPLS deadline label.
 */
struct sched_edf_config {
	uint64_t bucket_ns;	/* > 0 */
	unsigned buckets_log2;	/* 6..24 */
};

struct sched_edf {
	/* private */
	struct sched_edf_bucket *buckets;
	uint64_t *bitmap;	/* all levels, leaf level first */
	unsigned levels;
	unsigned level_off[4];
	uint64_t bucket_ns;
	uint64_t div_magic;	/* deadline_ns / bucket_ns as multiply-shift */
	unsigned div_shift;
	bool div_add;
	unsigned buckets_log2;
	uint64_t base;		/* absolute bucket number of the window start */
	uint64_t wheel_len;
	uint64_t wheel_max;	/* largest key in the wheel */
	struct sched_pkt *early;	/* slow-path heap: buckets before base */
	struct sched_pkt *far;		/* slow-path heap: beyond the window */
	uint64_t seq;
	/* statistics, readable */
	uint64_t len;		/* packets queued */
	uint64_t bytes;		/* bytes queued */
};

/* Allocates the wheel. Returns 0, -EINVAL (bad config) or -ENOMEM. */
int sched_edf_init(struct sched_edf *q, const struct sched_edf_config *cfg);
/* Frees the wheel. The queue must be empty (queued packets are the caller's:
 * drain them first). */
void sched_edf_close(struct sched_edf *q);
/* Queues p by p->deadline_ns. Never fails. */
void sched_edf_enqueue(struct sched_edf *q, struct sched_pkt *p);
/* The packet with the earliest deadline, or NULL. Does not remove it. */
struct sched_pkt *sched_edf_peek(struct sched_edf *q);
/* Removes and returns the packet with the earliest deadline, or NULL. */
struct sched_pkt *sched_edf_dequeue(struct sched_edf *q);

/* ------------------------------------------------------------------------- */
/* WF²Q+ (wfq.c)                                                             */

/* Worst-case fair weighted fair queueing (Bennett & Zhang, WF²Q+, 1997) over
 * per-path FIFO queues, each path served at its service rate R (bits/s) on a
 * link of link_bps. With Σ R ≤ link_bps, a path whose traffic conforms to
 * (r ≤ R, b) sees a delay of at most b/R + L_max/link_bps — the latency bound
 * that RFC 2212's formula and sched_rfc2212_* below assume.
 * Paths are numbered 0..max_paths-1 by the caller. */
struct sched_wfq_config {
	uint64_t link_bps;	/* > 0 */
	uint32_t max_paths;	/* > 0 */
};

struct sched_wfq {
	/* private */
	struct sched_wfq_path *paths;
	struct sched_wfq_slot *eligible;	/* heap of paths by finish tag */
	struct sched_wfq_slot *waiting;		/* heap of paths by start tag */
	uint32_t n_eligible, n_waiting;
	uint32_t max_paths;
	uint64_t link_bps;
	uint64_t vtime;		/* system virtual time (virtual ns) */
	uint64_t vtime_rem;	/* carried remainder of V's L/C increments */
	/* statistics, readable */
	uint64_t len;
	uint64_t bytes;
};

int sched_wfq_init(struct sched_wfq *w, const struct sched_wfq_config *cfg);
/* The queue must be empty. */
void sched_wfq_close(struct sched_wfq *w);
/* Configures path `path` with service rate rate_bps (> 0), or changes the
 * rate of an existing path (escalation: takes effect from the path's next
 * packet). Returns 0 or -EINVAL. */
int sched_wfq_path_set(struct sched_wfq *w, uint32_t path, uint64_t rate_bps);
/* Removes a path. Returns 0, -EINVAL, or -EBUSY if it still has packets. */
int sched_wfq_path_clear(struct sched_wfq *w, uint32_t path);
/* Queues p on path p->path. Returns 0, or -ENOENT if the path is not
 * configured (the packet is not queued; the caller counts the drop). */
int sched_wfq_enqueue(struct sched_wfq *w, struct sched_pkt *p);
/* The next packet WF²Q+ would send, without removing it, or NULL. */
struct sched_pkt *sched_wfq_peek(struct sched_wfq *w);
/* Removes and returns the next packet, or NULL when empty. */
struct sched_pkt *sched_wfq_dequeue(struct sched_wfq *w);
/* Packets queued on one path (0 for an unknown path). */
uint64_t sched_wfq_path_len(const struct sched_wfq *w, uint32_t path);

/* ------------------------------------------------------------------------- */
/* FIFO (fifo.c): the NRT queue and the FIFO baseline, with a packet limit.  */

struct sched_fifo {
	struct sched_pkt *head, *tail;
	uint64_t len, bytes;
	uint64_t limit_pkts;	/* 0 = unlimited */
};

void sched_fifo_init(struct sched_fifo *f, uint64_t limit_pkts);
/* Returns 0, or -ENOBUFS when full (the packet is not queued). */
int sched_fifo_enqueue(struct sched_fifo *f, struct sched_pkt *p);
struct sched_pkt *sched_fifo_peek(const struct sched_fifo *f);
struct sched_pkt *sched_fifo_dequeue(struct sched_fifo *f);

/* ------------------------------------------------------------------------- */
/* Token bucket (tb.c): policing an rtpath to (rate, burst), and per-tenant  */
/* caps that delay rather than drop (seed 003).                              */

struct sched_tb {
	uint64_t rate_bps;
	uint64_t burst_bytes;
	/* private: tokens in units of bits * 1e9 (bit-nanoseconds / s) so that
	 * refills are exact integer arithmetic */
	uint64_t tokens;
	uint64_t last_ns;
};

/* The bucket starts full. rate_bps > 0, burst_bytes > 0. */
void sched_tb_init(struct sched_tb *tb, uint64_t rate_bps, uint64_t burst_bytes,
		   uint64_t now_ns);
/* Changes rate and burst, keeping the current fill (clamped to the burst). */
void sched_tb_set(struct sched_tb *tb, uint64_t rate_bps, uint64_t burst_bytes,
		  uint64_t now_ns);
/* True, and the tokens are taken, if len_bytes conforms now. now_ns must not
 * go backwards (an earlier time is treated as last_ns). */
bool sched_tb_take(struct sched_tb *tb, uint32_t len_bytes, uint64_t now_ns);
/* Nanoseconds from now until len_bytes would conform (0 = conforms now);
 * UINT64_MAX if it never can (len_bytes > burst). Does not take tokens. */
uint64_t sched_tb_wait_ns(const struct sched_tb *tb, uint32_t len_bytes,
			  uint64_t now_ns);

/* ------------------------------------------------------------------------- */
/* Pacer (pacer.c): releases frames at the link rate so the queue forms in    */
/* the scheduler, ordered, and not in a FIFO below it.                       */

#define SCHED_ETH_OVERHEAD_BYTES 24	/* preamble 8 + FCS 4 + IFG 12 */

struct sched_pacer {
	uint64_t rate_bps;
	uint32_t overhead_bytes;
	/* private */
	uint64_t free_ns;	/* when the link is next idle */
	uint64_t rem;		/* carried sub-nanosecond remainder (bits*1e9 mod rate) */
};

void sched_pacer_init(struct sched_pacer *p, uint64_t rate_bps, uint32_t overhead_bytes);
/* Changes the rate from now on. */
void sched_pacer_set_rate(struct sched_pacer *p, uint64_t rate_bps);
/* Wire time of a frame of len_bytes (plus overhead) at the pacer's rate,
 * rounded up to whole nanoseconds. */
uint64_t sched_pacer_tx_ns(const struct sched_pacer *p, uint32_t len_bytes);
/* Time at which the next frame may start (<= now_ns means now). */
uint64_t sched_pacer_next_ns(const struct sched_pacer *p, uint64_t now_ns);
/* Accounts a frame sent starting at max(now_ns, next); returns the time its
 * last bit leaves. Exact over long runs: no rounding drift accumulates. */
uint64_t sched_pacer_send(struct sched_pacer *p, uint32_t len_bytes, uint64_t now_ns);

/* ------------------------------------------------------------------------- */
/* Admission math (admit.c). Pure functions, integer arithmetic only.        */

/* A real-time flow as admission sees it: a token-bucket envelope (rate, burst)
 * with a relative deadline and a maximum packet size. */
struct sched_flow {
	uint64_t rate_bps;
	uint64_t burst_bytes;	/* >= max_pkt_bytes */
	uint64_t deadline_ns;	/* > 0 */
	uint32_t max_pkt_bytes;
};

/* Why an EDF test failed, for the refusal message. */
struct sched_edf_verdict {
	bool ok;
	uint64_t at_ns;		/* the interval length t where demand > supply */
	uint64_t demand_bits;	/* Σ dbf_i(t) + blocking at that t */
	uint64_t supply_bits;	/* C·t */
	bool rate_exceeded;	/* Σ r_i > C: fails in the long run */
};

/* EDF schedulability of n flows on a link of link_bps with non-preemptive
 * blocking by one packet of up to block_bytes (an NRT or lower-priority frame
 * already on the wire): for every t >= min D_i,
 *     Σ_i (b_i + r_i (t − D_i))⁺ + block  <=  C·t    (bits)
 * and Σ r_i <= C. Checked exactly at the breakpoints t = D_i (between them
 * both sides are linear). Returns 0 (verdict filled in; v->ok tells) or
 * -EINVAL for a malformed flow (zero deadline, zero link rate). */
int sched_edf_admissible(const struct sched_flow *flows, size_t n,
			 uint64_t link_bps, uint32_t block_bytes,
			 struct sched_edf_verdict *v);

/* IntServ guaranteed service (RFC 2212) traffic spec. */
struct sched_tspec {
	uint64_t r_bps;		/* token rate */
	uint64_t p_bps;		/* peak rate (>= r; UINT64_MAX = unlimited) */
	uint64_t b_bytes;	/* bucket depth (>= M) */
	uint32_t M_bytes;	/* maximum packet */
};

/* RFC 2212 end-to-end delay bound for service rate R with error terms
 * Ctot (bytes) and Dtot (ns):
 *   p > R >= r:  D = (b−M)/R · (p−R)/(p−r) + (M+Ctot)/R + Dtot
 *   R >= p:      D = (M+Ctot)/R + Dtot
 * rounded up to whole ns. Returns 0, or -EINVAL if R < r or the tspec is
 * malformed. */
int sched_rfc2212_delay_ns(const struct sched_tspec *t, uint64_t R_bps,
			   uint64_t ctot_bytes, uint64_t dtot_ns, uint64_t *delay_ns);
/* The smallest R (>= r, whole bits/s) whose bound is <= deadline_ns, found by
 * bisection. Returns 0, -EINVAL, or -ERANGE if even R = max_R_bps does not
 * meet the deadline. */
int sched_rfc2212_min_rate(const struct sched_tspec *t, uint64_t ctot_bytes,
			   uint64_t dtot_ns, uint64_t deadline_ns, uint64_t max_R_bps,
			   uint64_t *R_bps);

/* ------------------------------------------------------------------------- */
/* NRT rule (seed 000 §3.4) and headroom (admit.c)                           */

/* The headroom of an admitted EDF flow set on a link: h(Δ) = C·Δ − dbf(Δ),
 * in bits, and its non-decreasing lower envelope h_min(Δ) = min_{Δ'>=Δ} h(Δ').
 * An NRT frame of L bits may go before queued RT frames (B bits in all, the
 * earliest deadline d_min) at time `now` iff
 *     L + B  <=  h_min(d_min − now)
 * which keeps every queued RT frame and every future arrival that conforms to
 * its admitted envelope within its deadline (proof in admit.c). */
#define SCHED_HEADROOM_MAX 4096

struct sched_headroom {
	uint64_t link_bps;
	uint32_t n;		/* breakpoints */
	/* private, per breakpoint k (sorted by at_ns): */
	struct sched_headroom_pt {
		uint64_t at_ns;		/* D_k */
		int64_t h_bits;		/* h(D_k) just after the jump */
		uint64_t slope_bps;	/* C − Σ r_i over flows with D_i <= D_k */
		int64_t suffix_min_bits;	/* min_{j>k} h(D_j) */
	} *pts;
	uint32_t cap;
};

/* Builds the headroom of flows (n <= cap of the caller's pts array) on
 * link_bps. Returns 0, -EINVAL, or -E2BIG if more than `cap` distinct
 * deadlines. The caller owns pts (hr->pts = array of cap entries before the
 * call). */
int sched_headroom_build(struct sched_headroom *hr, const struct sched_flow *flows,
			 size_t n, uint64_t link_bps);
/* h_min(delta_ns) in bits (may be negative if the set is not admissible). */
int64_t sched_headroom_bits(const struct sched_headroom *hr, uint64_t delta_ns);
/* The NRT rule: may an NRT frame of nrt_bytes go now, before rt_bytes of
 * queued RT traffic whose earliest deadline is d_min_ns? rt_bytes == 0 means
 * no RT is queued: always true. A deadline already at or before now: false. */
bool sched_nrt_may_send(const struct sched_headroom *hr, uint64_t now_ns,
			uint64_t d_min_ns, uint64_t rt_bytes, uint32_t nrt_bytes);

/* ------------------------------------------------------------------------- */
/* Frame terms to wire terms (wire.c)                                        */

/* A flow is declared in frame terms: rate and burst count the bytes of the
 * frames a VM sends, max_pkt_bytes the largest of them. On the wire every
 * frame costs overhead_bytes more (rtvnet: the 4-byte MPLS label plus
 * SCHED_ETH_OVERHEAD_BYTES). The wire envelope of a flow (r, b, L) is
 *     rate  ⌈r·(L+o)/L⌉        burst  b + ⌈b/L⌉·o        packets  L+o
 * exactly what a policer counting wire bytes (len + o per frame) with that
 * rate and depth lets through, whatever the frame sizes: frames smaller than
 * L pay their overhead out of the same tokens. Admission and the dataplane
 * both convert with these functions so that they agree to the bit.
 * pkt_bytes must be > 0 (0 is treated as 1); results saturate at UINT64_MAX
 * (UINT32_MAX for a packet size). */
uint64_t sched_wire_rate_bps(uint64_t rate_bps, uint32_t pkt_bytes, uint32_t overhead_bytes);
uint64_t sched_wire_burst_bytes(uint64_t burst_bytes, uint32_t pkt_bytes,
				uint32_t overhead_bytes);
/* The inverse of sched_wire_rate_bps: the smallest frame rate whose wire
 * rate is >= wire_bps. */
uint64_t sched_frame_rate_bps(uint64_t wire_bps, uint32_t pkt_bytes, uint32_t overhead_bytes);
/* f in wire terms: rate, burst and max_pkt converted (with L = f's
 * max_pkt_bytes), deadline unchanged. */
struct sched_flow sched_wire_flow(const struct sched_flow *f, uint32_t overhead_bytes);

/* ------------------------------------------------------------------------- */
/* Escalation hooks (admit.c): what the miss policy asks for.                */

#define SCHED_ESCALATION_MAX 4

/* A deadline path at escalation level L (0..SCHED_ESCALATION_MAX) is queued
 * with an effective relative deadline D·2^-L (never below floor_ns), so it
 * wins EDF ties against unescalated paths; the stamped label keeps the true
 * deadline. Admission re-checks with the effective deadline. */
uint64_t sched_escalate_deadline_ns(uint64_t deadline_ns, unsigned level,
				    uint64_t floor_ns);
/* A reservation path at level L is served at R·(1 + L/2), capped at cap_bps
 * (integer arithmetic: R + R·L/2). Admission re-checks with the new R. */
uint64_t sched_escalate_rate_bps(uint64_t rate_bps, unsigned level, uint64_t cap_bps);

#endif /* RTV_SCHED_H */
