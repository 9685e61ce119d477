/* dp.h — rtvd's dataplane: what sits between the host's switch (rtv-int) and
 * the uplink and keeps the deadlines (docs/architecture.md, "One host", "Data plane
 * details"; issue 4).
 *
 *   egress   rtv-int → parse → classify (rtpath table) → police → stamp MPLS
 *            deadline label + DSCP → WF²Q+ / EDF / control / NRT queues →
 *            pacer at the uplink rate → uplink
 *   ingress  uplink → pop the label → deadline check against the local clock →
 *            per-path one-way delay histogram, miss aggregation → rtv-int
 *
 * Layers, each usable alone and each with its own unit tests:
 *   dp_pkt.c    frames: parse, classify key, push/pop the label, DSCP with an
 *               incremental checksum, ICMP fragmentation-needed. Pure functions
 *               on caller buffers.
 *   dp_table.c  the immutable rtpath snapshot of this host (sender and
 *               receiver side), published by pointer swap; epoch-based
 *               reclamation of old snapshots.
 *   dp_sched.c  the egress scheduler over sched/: descriptor pool, policing,
 *               queues, the NRT rule, the pacer, drop counters.
 *   dp_police.c the per-rtpath policer and its tolerance for the host
 *               switch's measured delay variation.
 *   dp_hist.c   log-linear histograms (one-way delay, lateness, queue delay).
 *   dp_miss.c   the ingress path's per-packet work and the miss records the
 *               control loop drains.
 *   dp_io.c     AF_PACKET sockets and the two dataplane threads.
 *
 * Threads. The control thread (the libuv loop) builds tables, publishes them,
 * reclaims old ones, and reads counters; it never blocks on the dataplane.
 * The dataplane threads take no lock and allocate nothing per packet: the
 * table is read through an RCU-like pointer, counters are single-writer
 * relaxed atomics, miss records cross through a single-producer ring.
 *
 * Byte order: IPv4 addresses and ports in this header are in host order
 * (as in consensus.h); frames are wire bytes.
 *
 * Errors: 0 or a negative errno. The packet path never fails loudly: every
 * drop or exception has its own counter (struct dp_sched_stats, dp_rx_stats).
 */
#ifndef RTV_AGENT_DP_H
#define RTV_AGENT_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/consensus.h"
#include "sched/sched.h"

/* ------------------------------------------------------------------------- */
/* Frames (dp_pkt.c)                                                         */

#define DP_ETH_HLEN 14
#define DP_MPLS_HLEN 4
#define DP_ETH_P_IP 0x0800
#define DP_ETH_P_8021Q 0x8100
#define DP_ETH_P_MPLS_UC 0x8847
#define DP_LABEL_BITS 20
#define DP_LABEL_MOD (1u << DP_LABEL_BITS)	/* label space, in µs */
#define DP_MPLS_TTL 64
/* Per-frame bytes an RT frame adds on the wire beyond what the VM sent:
 * the label, and the pacer's Ethernet overhead (preamble, FCS, gap). */
#define DP_RT_EXTRA_BYTES (DP_MPLS_HLEN + SCHED_ETH_OVERHEAD_BYTES)
#define DP_ICMP_QUOTE_MAX 548	/* RFC 1812 §4.3.2.3: ICMP datagram <= 576 bytes */

/* The classification key: what an rtpath names. */
struct dp_flow_key {
	uint32_t src_ip, dst_ip;
	uint16_t dport;		/* 0: none (not TCP/UDP/SCTP, or a later fragment) */
	uint8_t proto;
	uint8_t pad;		/* always 0 (keys are hashed as bytes) */
};

enum dp_parse_status {
	DP_PARSE_IPV4 = 0,	/* an untagged Ethernet IPv4 frame: all fields valid */
	DP_PARSE_MPLS,		/* ethertype 0x8847: only ethertype/l3_off valid */
	DP_PARSE_OTHER,		/* any other ethertype (ARP, IPv6, VLAN...) */
	DP_PARSE_BAD_IP,	/* IPv4 ethertype but a malformed or truncated header */
	DP_PARSE_RUNT,		/* shorter than an Ethernet header */
};

struct dp_parsed {
	struct dp_flow_key key;
	uint16_t ethertype;
	uint16_t l3_off;	/* offset of the IPv4 header (or MPLS stack) */
	uint16_t ip_hlen;	/* bytes */
	uint16_t ip_tot_len;
	uint16_t ip_id;
	uint8_t ip_ttl;
	uint8_t ip_dscp;
	bool ip_df;
	bool later_fragment;	/* fragment offset != 0: no L4 header */
};

/* Parses an Ethernet frame as a VM or the uplink sent it. Never reads past
 * len. The IPv4 header must be complete (IHL >= 5, tot_len within the frame
 * and >= IHL); its checksum is not verified (the receiver's stack does). */
enum dp_parse_status dp_pkt_parse(const uint8_t *frame, size_t len, struct dp_parsed *out);

/* RFC 1624 eqn. 3: the IPv4 header checksum after one 16-bit word of the
 * header changed from old_word to new_word (both in network order as read
 * from the frame). Exposed for tests. */
uint16_t dp_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);
/* The Internet checksum (RFC 1071) of len bytes, folded and complemented. */
uint16_t dp_csum(const void *data, size_t len);

/* Sets the DSCP of the IPv4 header at frame + p->l3_off (ECN bits kept) and
 * fixes its checksum incrementally. p must come from DP_PARSE_IPV4. */
void dp_pkt_set_dscp(uint8_t *frame, const struct dp_parsed *p, uint8_t dscp);

/* The MPLS label: the absolute deadline in µs modulo 2^20 (deadline_us is
 * the full deadline on the sender's CLOCK_REALTIME in µs). */
static inline uint32_t dp_label_of_us(uint64_t deadline_us)
{
	return (uint32_t)(deadline_us & (DP_LABEL_MOD - 1));
}

/* The label's extension (wire format, docs/guarantee.md): 20 bits of µs
 * wrap every 1.05 s, so a frame more than 0.52 s late would read as early.
 * rtvnet's TTL field carries the deadline's next 7 bits (20..26) under a
 * marker bit: TTL = 0x80 | (deadline_us >> 20 & 0x7f). Label and TTL
 * together name the deadline modulo 2^27 µs, unambiguous within ±67 s.
 * The label is never switched on (the ToR forwards by Ethernet and its
 * MPLS TC), so nothing on the path decrements the TTL; a TTL without the
 * marker (a sender that does not extend) is read as the 20-bit label alone. */
#define DP_TTL_EXT 0x80u
#define DP_DEADLINE_EXT_BITS 27
#define DP_DEADLINE_EXT_MOD (1u << DP_DEADLINE_EXT_BITS)

static inline uint8_t dp_ttl_of_us(uint64_t deadline_us)
{
	return (uint8_t)(DP_TTL_EXT | (deadline_us >> DP_LABEL_BITS & 0x7f));
}

/* Pushes one MPLS label stack entry between L2 and L3 of an untagged IPv4
 * frame (label, tc (3 bits), S = 1, ttl: 0 = copy the IP TTL). Writes into
 * the DP_MPLS_HLEN bytes BEFORE frame, which the caller must own (buffers
 * are laid out with that headroom): the MAC addresses move 4 bytes down.
 * Returns the new frame start (frame − 4); the new length is len + 4. */
uint8_t *dp_mpls_push(uint8_t *frame, size_t len, const struct dp_parsed *p,
		      uint32_t label, uint8_t tc, uint8_t ttl);

enum dp_pop_status {
	DP_POP_OK = 0,		/* label removed; out filled */
	DP_POP_NOT_MPLS,	/* no MPLS ethertype: pass the frame untouched */
	DP_POP_MULTI,		/* S bit clear: a label stack we did not push */
	DP_POP_NOT_IPV4,	/* inner packet is not IPv4 (first nibble != 4) */
	DP_POP_RUNT,		/* truncated label or inner header */
};

struct dp_mpls {
	uint32_t label;
	uint8_t tc, ttl;
};

/* Validates and removes rtvnet's label from a received frame: exactly one
 * entry (S = 1) over an IPv4 packet. On DP_POP_OK the MAC addresses move 4
 * bytes up, the ethertype becomes 0x0800, *out_frame = frame + 4 and the
 * new length is len − 4. Any other status leaves the frame untouched. */
enum dp_pop_status dp_mpls_pop(uint8_t *frame, size_t len, struct dp_mpls *mpls,
			       uint8_t **out_frame);

/* Builds, into out (cap bytes), the ICMP destination-unreachable /
 * fragmentation-needed (type 3 code 4, RFC 792 + RFC 1191) answering the
 * IPv4 frame `frame` (parsed as p): Ethernet addresses swapped, IPv4 from
 * src_ip (host order) to the frame's source, TTL 64, next-hop MTU in the
 * header, quoting the offending IP header and as much of its payload as
 * keeps the ICMP datagram within 576 bytes (RFC 1812 §4.3.2.3). Both
 * checksums are computed. Returns the reply's length, or 0 if cap is too
 * small or the frame must not be answered (RFC 1122 §3.2.2: an ICMP error,
 * a later fragment, a broadcast/multicast/zero source). */
size_t dp_icmp_frag_needed(uint8_t *out, size_t cap, const uint8_t *frame, size_t len,
			   const struct dp_parsed *p, uint32_t src_ip, uint16_t mtu);

/* IPv4 fragmentation (dp_frag.c, RFC 791): an iterator over the fragments
 * of one frame, each written whole (L2 header copied, IPv4 header with its
 * checksum) into a caller buffer. The frame must stay unchanged until the
 * last dp_frag_next. */
#define DP_FRAG_L2_MAX 64	/* largest L2 header copied to each fragment */
#define DP_FRAG_MAX 64		/* the scheduler fragments into at most this many */
struct dp_frag {
	const uint8_t *frame;
	uint16_t l3_off, hlen, chunk_bytes;
	uint32_t base_off_bytes;	/* the original's own fragment offset */
	uint32_t payload_bytes, done_bytes;
	uint32_t n, emitted;
	bool last_mf;			/* the original had MF: its last piece keeps it */
	uint8_t later_opts[40];		/* options of the later fragments */
};

/* Prepares fragmenting the IPv4 frame `frame` (len bytes, parsed as p) into
 * fragments of at most mtu bytes of L3. Returns the number of fragments
 * (>= 1), or -EINVAL (DF set, malformed options, offset + length past
 * 65535, header not within len) or -EMSGSIZE (mtu below header + 8). */
int dp_frag_init(struct dp_frag *f, const uint8_t *frame, size_t len,
		 const struct dp_parsed *p, uint16_t mtu);
/* Writes the next fragment into out (cap bytes) and returns its length, or
 * 0 when all were written or cap is too small (the iterator does not move). */
size_t dp_frag_next(struct dp_frag *f, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------------- */
/* The rtpath table (dp_table.c)                                             */

/* Per-path state that survives table swaps (the same object is shared by
 * every snapshot that holds the path). Fields are written by one dataplane
 * thread each (egress: tx_*, ingress: rx_*) and read by anyone; counters are
 * relaxed atomics for that reason. Lifetime: the control thread's, through
 * the tables (reference count). */
struct dp_hist;
struct dp_pstate;

enum dp_dir { DP_TX = 0, DP_RX = 1 };

/* One admitted rtpath as the dataplane needs it. Immutable once published. */
struct dp_path {
	uint64_t id;
	struct dp_flow_key key;		/* proto 0 / dport 0: wildcard */
	enum cons_path_type type;
	uint8_t tc, dscp;
	uint8_t level;			/* committed escalation level */
	uint8_t boost;			/* local boost (miss policy), see dp_table_new */
	uint64_t src_host, dst_host;
	uint64_t deadline_ns;		/* end to end: what the label carries */
	uint64_t edf_offset_ns;		/* EDF key = arrival + this (escalated, boosted) */
	uint64_t rate_bps, burst_bytes;	/* the reservation (r, b), VM frame bits */
	uint64_t service_rate_bps;	/* WF²Q+ rate: R escalated and boosted */
	uint32_t max_pkt_bytes;
	/* wire envelope (frames + DP_RT_EXTRA_BYTES each): what the policer
	 * enforces and the NRT headroom assumes */
	uint64_t wire_rate_bps, wire_burst_bytes;
	struct dp_pstate *st;
};

struct dp_table_config {
	uint64_t host_id;		/* this host: paths with src_host (egress) or */
					/* dst_host (ingress) equal to it */
	uint64_t uplink_bps;		/* the pacer's rate, > 0 */
	uint32_t overhead_bytes;	/* pacer's per-frame wire overhead (24) */
	uint32_t nrt_max_frame_bytes;	/* largest NRT frame (the NRT rule's block) */
	uint64_t edf_bucket_ns;		/* 0: 1000 (the label's resolution) */
	uint64_t tx_ahead_ns;		/* see dp_sched: frames may leave this early */
	uint64_t escalate_floor_ns;	/* 0: CONS_ESCALATE_FLOOR_NS */
};

struct dp_table;

/* Builds a snapshot from the replicated rtpaths (any order; paths of other
 * hosts and same-host paths — whose traffic never leaves the switch — are
 * skipped). boost (may be NULL) gives a local escalation level per input
 * path, the miss policy's immediate reaction (docs/architecture.md, "Miss reports"):
 * deadline type → EDF offset sched_escalate_deadline_ns(sched_deadline,
 * boost, floor); reservation type → R = sched_escalate_rate_bps(R, boost,
 * uplink). `prev` (may be NULL): the snapshot this one replaces; per-path
 * state of paths present in both is carried over (shared). Also builds the
 * NRT headroom from the host's egress paths in wire terms.
 * Two paths with the same key: the lower id is found, the other is counted
 * (dp_table_shadowed). Returns 0, -EINVAL (bad config or path; err says
 * which), -E2BIG (too many distinct deadlines for the headroom) or -ENOMEM.
 * Control thread only. */
int dp_table_new(const struct dp_table_config *cfg, const struct cons_rtpath *paths,
		 size_t n, const uint8_t *boost, const struct dp_table *prev,
		 struct dp_table **out, char err[CONS_ERRLEN]);
/* Frees a table no dataplane thread can see any more (see dp_rcu). NULL ok. */
void dp_table_free(struct dp_table *t);

/* Lookups: exact key first, then (proto, dport 0), (proto 0, dport), (0, 0).
 * A later fragment (dport 0 in its key) matches only dport-0 entries.
 * Lock-free and allocation-free. NULL: no path. */
const struct dp_path *dp_table_lookup(const struct dp_table *t, enum dp_dir dir,
				      const struct dp_flow_key *k);
const struct dp_path *dp_table_find_id(const struct dp_table *t, enum dp_dir dir, uint64_t id);
size_t dp_table_count(const struct dp_table *t, enum dp_dir dir);
const struct dp_path *dp_table_at(const struct dp_table *t, enum dp_dir dir, size_t i);
const struct dp_table_config *dp_table_cfg(const struct dp_table *t);
const struct sched_headroom *dp_table_headroom(const struct dp_table *t);
/* Does the egress set pass sched_edf_admissible in wire terms with the NRT
 * block (an audit of what consensus admitted in frame terms)? */
bool dp_table_wire_admissible(const struct dp_table *t);
/* Unique per table in the process, increasing with each dp_table_new. */
uint64_t dp_table_generation(const struct dp_table *t);
size_t dp_table_shadowed(const struct dp_table *t);

/* Per-path counters, readable from any thread. */
struct dp_path_counters {
	uint64_t tx_pkts, tx_bytes;	/* stamped and queued (egress) */
	uint64_t tx_demoted;		/* deadline type beyond its bucket: sent as NRT */
	uint64_t tx_policed;		/* reservation type beyond its bucket: dropped */
	uint64_t tx_too_big;		/* answered with ICMP frag-needed */
	uint64_t rx_pkts;		/* labelled frames received (ingress) */
	uint64_t rx_misses;
	uint64_t rx_max_late_ns;
};
void dp_path_counters(const struct dp_path *p, struct dp_path_counters *out);
/* The path's one-way delay histogram (ingress side; NULL on egress-only). */
const struct dp_hist *dp_path_hist(const struct dp_path *p);
/* How late the path's missed packets were, ns (ingress side; NULL on
 * egress-only). Written by the ingress thread on each miss. */
const struct dp_hist *dp_path_lateness(const struct dp_path *p);

/* Epoch-based reclamation (RCU-like). One writer (the control thread)
 * publishes tables; up to DP_RCU_MAX_READERS dataplane threads read them.
 * A reader announces quiescent states (it holds no table pointer loaded
 * before) and goes offline while it blocks; a retired table is freed once
 * every online reader has passed a quiescent state after its retirement. */
#define DP_RCU_MAX_READERS 8

struct dp_rcu_reader {
	_Atomic uint64_t seen;		/* epoch at the last quiescent state; */
	_Atomic bool used;		/* UINT64_MAX: offline */
	char pad[48];
};

struct dp_rcu {
	_Atomic(struct dp_table *) cur;
	_Atomic uint64_t epoch;
	struct dp_rcu_reader readers[DP_RCU_MAX_READERS];
	/* writer-private */
	struct dp_retired {
		struct dp_table *t;
		uint64_t epoch;
	} *retired;
	size_t n_retired, cap_retired;
};

void dp_rcu_init(struct dp_rcu *r);
/* Frees the current and every retired table. No reader may be online. */
void dp_rcu_close(struct dp_rcu *r);
/* Writer: makes t current (ownership passes to r) and retires the old one.
 * Returns 0 or -ENOMEM (then t is not published and stays the caller's). */
int dp_rcu_publish(struct dp_rcu *r, struct dp_table *t);
/* Writer: frees retired tables every online reader is done with; returns
 * how many are still waiting. Never blocks. */
size_t dp_rcu_reclaim(struct dp_rcu *r);
/* Writer: the current table (the writer may use it freely). */
const struct dp_table *dp_rcu_current(const struct dp_rcu *r);

/* Reader side. register: returns a reader index (online) or -EBUSY. */
int dp_rcu_register(struct dp_rcu *r);
void dp_rcu_unregister(struct dp_rcu *r, int reader);
/* Quiescent state, then the current table, valid until the next call of
 * dp_rcu_quiescent / dp_rcu_offline by this reader. */
const struct dp_table *dp_rcu_quiescent(struct dp_rcu *r, int reader);
void dp_rcu_offline(struct dp_rcu *r, int reader);

/* ------------------------------------------------------------------------- */
/* Policing (dp_police.c)                                                    */

/* The tolerance the policer gives for the host switch's delay variation:
 * the longest silence on rtv-int (no frame from any VM) over the last one
 * to two windows, capped (dp_police.c says why and what it cannot tell). */
#define DP_CDV_WIN_NS 5000000000ull	/* 5 s */
#define DP_CDV_MAX_NS 50000000ull	/* default cap: 50 ms */

struct dp_cdv {
	uint64_t max_ns, win_ns;
	uint64_t last_ns;		/* the previous frame's arrival */
	uint64_t win_start_ns, cur_max_ns, prev_max_ns;
};

/* max_ns: the cap (0: no tolerance); win_ns 0: DP_CDV_WIN_NS. */
void dp_cdv_init(struct dp_cdv *c, uint64_t max_ns, uint64_t win_ns);
/* A frame reached rtv-int at t_ns (monotonic; every frame, RT or not). */
void dp_cdv_arrival(struct dp_cdv *c, uint64_t t_ns);
/* τ now, ns: <= max_ns. */
uint64_t dp_cdv_tolerance(const struct dp_cdv *c);

enum dp_police_result {
	DP_POLICE_IN = 0,	/* within (r, b) */
	DP_POLICE_TOLERATED,	/* within (r, b + r·τ) only: the switch's jitter */
	DP_POLICE_OUT,		/* beyond it: demote or drop */
};

/* Polices one RT frame of wire_bytes of p (egress thread) at now_ns with
 * tolerance tol_ns: a token bucket of rate p->wire_rate_bps and depth
 * p->wire_burst_bytes + rate·tol_ns; takes the tokens when it conforms. */
enum dp_police_result dp_police(const struct dp_path *p, uint32_t wire_bytes, uint64_t now_ns,
				uint64_t tol_ns);

/* ------------------------------------------------------------------------- */
/* Histograms (dp_hist.c)                                                    */

/* Log-linear (HdrHistogram-style): values below 2^(SUB+1) exact, then 2^SUB
 * buckets per power of two, so a value is reported within 1/2^SUB (3.1 %)
 * above its true value; values are clamped at 2^DP_HIST_MAX_LOG2. Single
 * writer; readers use dp_hist_read (relaxed loads: a read racing a record
 * may see one sample in count but not yet in its bucket, never garbage). */
#define DP_HIST_SUB_BITS 5
#define DP_HIST_MAX_LOG2 32	/* 4.29 s in ns: past the label's ±0.5 s */
#define DP_HIST_BUCKETS (((DP_HIST_MAX_LOG2 - DP_HIST_SUB_BITS - 1) << DP_HIST_SUB_BITS) + \
			 (2u << DP_HIST_SUB_BITS))

struct dp_hist {
	_Atomic uint64_t count, sum, min, max;
	_Atomic uint64_t b[DP_HIST_BUCKETS];
};

struct dp_hist_summary {
	uint64_t count;
	uint64_t min, max;
	uint64_t mean;
	uint64_t p50, p99, p999;	/* upper edges of the buckets holding them */
};

void dp_hist_init(struct dp_hist *h);
void dp_hist_record(struct dp_hist *h, uint64_t v);
void dp_hist_summary(const struct dp_hist *h, struct dp_hist_summary *out);
/* The value at quantile q_ppm (0..1e6) (upper bucket edge, clamped to max). */
uint64_t dp_hist_quantile(const struct dp_hist *h, uint32_t q_ppm);
/* Bucket index and its upper edge (tests). */
unsigned dp_hist_bucket(uint64_t v);
uint64_t dp_hist_bucket_high(unsigned i);

/* ------------------------------------------------------------------------- */
/* The egress scheduler (dp_sched.c)                                         */

/* A packet descriptor: a frame buffer from the pool with DP_HEADROOM bytes
 * in front of the frame for the label. */
#define DP_HEADROOM 64

enum dp_qkind { DP_Q_NRT = 0, DP_Q_CTL, DP_Q_EDF, DP_Q_WFQ };
#define DP_Q_KINDS 4

/* Classes of the queue-delay histograms: RT (EDF and WF²Q+), NRT (incl.
 * demoted), control. */
enum dp_qclass { DP_QC_RT = 0, DP_QC_NRT, DP_QC_CTL, DP_QC_N };

struct dp_desc {
	struct sched_pkt sp;		/* sp.len_bytes: frame length as sent */
	struct dp_desc *free_next;
	uint8_t *frame;			/* start of the frame inside buf */
	uint32_t len;			/* frame length */
	uint8_t kind;			/* enum dp_qkind while queued */
	bool demoted;			/* an RT frame over its bucket, queued as NRT */
	uint8_t *buf;			/* DP_HEADROOM + frame_max bytes */
};

struct dp_sched_config {
	uint64_t uplink_bps;		/* the pacer, > 0 */
	uint32_t overhead_bytes;	/* per frame on the wire (24) */
	uint32_t mtu;			/* uplink IP MTU: an RT frame whose L3 part is */
					/* over mtu − 4 gets ICMP frag-needed (68..65531) */
	uint32_t frame_max_bytes;	/* largest frame a descriptor holds (64..65535) */
	uint32_t pool_pkts;		/* descriptors */
	uint32_t nrt_limit_pkts;	/* drop-tail limit of the NRT queue; with */
	uint32_t ctl_limit_pkts;	/* ctl_limit, < pool_pkts: RT always finds one */
	uint64_t nrt_sojourn_ns;	/* the longest an NRT frame (a demoted one too) */
					/* may wait; older at the head, it is dropped. */
					/* 0: 5 ms, or 16 frames of frame_max at the */
					/* uplink's rate if that is longer */
	uint64_t cdv_max_ns;		/* the policer's switch-jitter tolerance cap */
					/* (dp_police.c; 0: DP_CDV_MAX_NS) */
	bool cdv_off;			/* no tolerance: police at arrival (tests) */
	uint32_t wfq_max_paths;		/* reservation paths at once (> 0) */
	uint64_t edf_bucket_ns;		/* 0: 1000 */
	unsigned edf_buckets_log2;	/* 0: 16 (65.5 ms window at 1 µs; later
					 * deadlines go to an exact heap) */
	uint64_t tx_ahead_ns;		/* dequeue may run this far ahead of the pacer */
	uint32_t host_ip;		/* ICMP source; control traffic from it */
	bool edge_remark;		/* NRT from VMs: clear the DSCPs the ToR */
					/* prioritises (34 40 46 48 56); drop VM MPLS */
	uint32_t icmp_per_s, icmp_burst;	/* ICMP rate limit (0: 100/s, 10) */
};

/* Every reason a frame was not sent as asked, and what was sent. Written by
 * the egress thread only; read from any thread with atomic_load. */
struct dp_sched_stats {
	_Atomic uint64_t rx_frames;		/* offered to dp_sched_enqueue */
	_Atomic uint64_t rt_frames;		/* stamped and queued RT */
	_Atomic uint64_t nrt_frames;		/* queued NRT (incl. demoted) */
	_Atomic uint64_t ctl_frames;		/* queued control */
	_Atomic uint64_t sent_frames, sent_bytes;
	_Atomic uint64_t nrt_overtakes;		/* NRT/control sent while RT was queued */
	_Atomic uint64_t drop_pool;		/* no descriptor */
	_Atomic uint64_t drop_runt;		/* shorter than an Ethernet header */
	_Atomic uint64_t bad_ip_passed;		/* malformed IPv4: sent as NRT, untouched */
	_Atomic uint64_t drop_nrt_full;		/* NRT queue at its limit */
	_Atomic uint64_t drop_nrt_sojourn;	/* NRT older than nrt_sojourn_ns */
	_Atomic uint64_t drop_demoted_sojourn;	/* of those, demoted RT frames */
	_Atomic uint64_t drop_ctl_full;
	_Atomic uint64_t drop_policed;		/* reservation type over its bucket */
	_Atomic uint64_t demoted;		/* deadline type over its bucket: NRT */
	_Atomic uint64_t tolerated;		/* RT in profile only with the switch's */
						/* jitter tolerance (dp_police.c) */
	_Atomic uint64_t cdv_tolerance_ns;	/* gauge: that tolerance now */
	_Atomic uint64_t drop_too_big;		/* RT frame over mtu − 4 with DF (or */
						/* over DP_FRAG_MAX fragments) */
	_Atomic uint64_t fragmented;		/* RT frames over mtu − 4 without DF */
	_Atomic uint64_t frag_out;		/* the fragments made of them */
	_Atomic uint64_t icmp_sent;		/* frag-needed answers */
	_Atomic uint64_t icmp_ratelimited;
	_Atomic uint64_t icmp_not_answered;	/* RFC 1122 says no, or no descriptor */
	_Atomic uint64_t drop_vm_mpls;		/* edge_remark: MPLS sent by a VM */
	_Atomic uint64_t remarked;		/* edge_remark: NRT DSCP cleared */
	_Atomic uint64_t wfq_no_slot;		/* reservation path without a WF²Q+ slot: */
						/* queued by deadline instead */
	_Atomic uint64_t table_swaps;
	/* Gauges: frames in each queue (by enum dp_qkind), published by the
	 * egress thread on every enqueue and dequeue, since only it may read
	 * its queues. */
	_Atomic uint64_t backlog[DP_Q_KINDS];
	/* Time from dp_sched_enqueue to dp_sched_dequeue, ns, by enum dp_qclass
	 * (the egress thread is the single writer). */
	struct dp_hist queue_delay[DP_QC_N];
};

struct dp_wfq_slot;

struct dp_sched {
	struct dp_sched_config cfg;
	struct dp_sched_stats stats;
	/* private: owned by the egress thread */
	struct sched_edf edf;
	struct sched_wfq wfq;
	struct sched_fifo nrt, ctl;
	struct sched_pacer pacer;
	struct sched_tb icmp_tb;
	struct dp_cdv cdv;
	struct dp_desc *descs, *free;
	uint8_t *bufs;
	struct dp_wfq_slot *slots;
	uint32_t *free_slots, n_free_slots, n_retiring;
	const struct dp_table *table;	/* adopted */
	uint64_t table_gen;
	uint64_t queued;
};

/* The time as the scheduler sees it: a monotonic clock that orders and paces,
 * and the real-time clock the label's deadline is read against. */
struct dp_now {
	uint64_t mono_ns;
	uint64_t real_ns;
};

/* Allocates the pool and queues. Returns 0, -EINVAL or -ENOMEM. */
int dp_sched_init(struct dp_sched *s, const struct dp_sched_config *cfg);
/* Frees everything; queued descriptors are dropped. */
void dp_sched_close(struct dp_sched *s);

/* Makes t the table used from now on (egress thread; t stays valid until the
 * thread's next quiescent state, see dp_rcu): starts or re-rates token
 * buckets and WF²Q+ paths of new or changed paths, retires slots of removed
 * ones once empty. Cost O(paths). */
void dp_sched_adopt(struct dp_sched *s, const struct dp_table *t, uint64_t now_mono_ns);

/* A free descriptor or NULL (counted in drop_pool). Frames go at d->frame =
 * d->buf + DP_HEADROOM, at most cfg.frame_max_bytes. */
struct dp_desc *dp_sched_alloc(struct dp_sched *s);
void dp_sched_free(struct dp_sched *s, struct dp_desc *d);

enum dp_verdict {
	DP_V_QUEUED = 0,	/* the scheduler owns d until dp_sched_dequeue */
	DP_V_DROPPED,		/* d was freed; a counter says why */
	DP_V_REPLY,		/* d was freed; *reply holds a frame for the VM side */
};

/* Egress for one frame from the VM side (d->frame, d->len): classify,
 * police, stamp, queue. *reply gets an ICMP frag-needed when the verdict is
 * DP_V_REPLY (send it on rtv-int, then dp_sched_free it). Never fails
 * loudly. */
enum dp_verdict dp_sched_enqueue(struct dp_sched *s, struct dp_desc *d,
				 const struct dp_now *now, struct dp_desc **reply);
/* The frame to send at now (pacer permitting) or NULL; the caller sends it
 * and frees it. */
struct dp_desc *dp_sched_dequeue(struct dp_sched *s, uint64_t now_mono_ns);
/* When the pacer next lets a frame go (<= now: now); UINT64_MAX if nothing
 * is queued. */
uint64_t dp_sched_next_ns(const struct dp_sched *s, uint64_t now_mono_ns);
/* Releases WF²Q+ slots of removed paths whose queues have drained (also
 * done on adopt). Call now and then from the egress thread. */
void dp_sched_housekeep(struct dp_sched *s);
/* Frames queued in each class (egress thread, or tests). */
void dp_sched_backlog(const struct dp_sched *s, uint64_t *edf, uint64_t *wfq, uint64_t *ctl,
		      uint64_t *nrt);

/* ------------------------------------------------------------------------- */
/* Ingress and miss records (dp_miss.c)                                      */

/* One aggregated miss report: a rtpath's misses over one interval, what the
 * receiver sends to the sender's agent (docs/architecture.md, "Miss reports"). */
struct dp_miss_report {
	uint64_t path_id;
	uint64_t src_host;		/* whose agent to tell */
	uint64_t first_ns, last_ns;	/* CLOCK_REALTIME of the first/last miss */
	uint32_t misses;
	uint64_t max_exceed_ns;		/* worst lateness (1 µs resolution) */
	uint16_t max_exceed_ip_id;	/* IP id of that packet */
	uint16_t last_ip_id;
	uint64_t uncertainty_ns;	/* clock offset bound the receiver assumed */
};

#define DP_MISS_RING 1024	/* reports in flight; a power of two */

/* Single producer (the ingress thread), single consumer (the control loop). */
struct dp_miss_ring {
	_Atomic uint64_t head, tail;	/* overflow: dp_rx_stats.reports_lost */
	struct dp_miss_report r[DP_MISS_RING];
};

struct dp_rx_stats {
	_Atomic uint64_t frames;
	_Atomic uint64_t popped;		/* our label, removed */
	_Atomic uint64_t passed;		/* not MPLS: untouched */
	_Atomic uint64_t mpls_foreign;		/* MPLS we do not pop (stack, not IPv4, */
						/* runt): passed untouched */
	_Atomic uint64_t unknown_path;		/* labelled, no ingress rtpath matches */
	_Atomic uint64_t misses;
	_Atomic uint64_t late_past_label;	/* of those, > 2^19 µs late: the 20-bit */
						/* label alone reads them as early */
	_Atomic uint64_t not_ipv4;		/* popped, but the inner header is bad */
	_Atomic uint64_t reports_lost;		/* miss reports lost to a full ring */
};

struct dp_rx_config {
	uint64_t interval_ns;		/* miss aggregation interval (0: 100 ms) */
	uint64_t uncertainty_ns;	/* the clock bound stamped on reports */
};

struct dp_rx {
	struct dp_rx_config cfg;
	struct dp_rx_stats stats;
	struct dp_miss_ring ring;
	/* private: owned by the ingress thread */
	const struct dp_table *table;
	uint64_t table_gen;
	struct dp_pstate *dirty;	/* paths with misses not yet reported */
	uint64_t interval_start_ns;
};

void dp_rx_init(struct dp_rx *rx, const struct dp_rx_config *cfg);
/* Flushes pending misses of the old table, then uses t (ingress thread). */
void dp_rx_adopt(struct dp_rx *rx, const struct dp_table *t, uint64_t now_real_ns);
/* Ingress for one frame from the uplink: pops our label when present and
 * accounts the deadline. *out_frame and *out_len: what to deliver on rtv-int
 * (inside the same buffer). Always delivers (counted per case). */
void dp_rx_frame(struct dp_rx *rx, uint8_t *frame, size_t len, uint64_t now_real_ns,
		 uint8_t **out_frame, size_t *out_len);
/* Ends the interval when due: pushes one report per path with misses. */
void dp_rx_tick(struct dp_rx *rx, uint64_t now_real_ns);
/* Control loop: copies up to max reports out of the ring; returns how many. */
size_t dp_miss_drain(struct dp_rx *rx, struct dp_miss_report *out, size_t max);

/* Serial-number arithmetic on 20-bit µs labels (RFC 1982 style): how far
 * now is past the label's deadline, in µs, as a signed value in
 * [−2^19, 2^19). Positive: late. */
int32_t dp_label_diff_us(uint32_t now_label, uint32_t deadline_label);
/* The same over the extended deadline (label and TTL as received, see
 * dp_ttl_of_us): how far now_us is past it, in [−2^26, 2^26) µs when the
 * TTL carries the marker, else dp_label_diff_us of the label alone. */
int32_t dp_deadline_diff_us(uint64_t now_us, uint32_t label, uint8_t ttl);

/* ------------------------------------------------------------------------- */
/* I/O threads (dp_io.c)                                                     */

/* The engine's sockets, in the order dp_io_detach hands them out and
 * dp_io_config.fds takes them back. */
enum dp_io_fd { DP_IO_INT_RX, DP_IO_UP_RX, DP_IO_INT_TX_EG, DP_IO_INT_TX_IN, DP_IO_UP_TX,
		DP_IO_FDS };

struct dp_io_config {
	const char *int_dev;		/* VM side (rtv-int) */
	const char *up_dev;		/* the uplink */
	uint32_t batch;			/* frames per recvmmsg/sendmmsg (0: 32) */
	bool pin;			/* both threads on CPU `cpu`, and the two */
	unsigned cpu;			/* devices' receive work steered there (RPS) */
	int rt_priority;		/* SCHED_FIFO priority of both threads (0: none) */
	bool busy_poll;			/* one thread for both directions that */
					/* never blocks: it spins (a core) */
	struct dp_sched_config sched;
	struct dp_rx_config rx;
};

struct dp_io;

/* dp_io_start in two steps, for a process that takes over another's
 * sockets and wants its slow part (the pool's allocation) done before it
 * asks: dp_io_new allocates (no socket, no thread; free with dp_io_stop);
 * dp_io_run opens the sockets — or, fds != NULL, runs on those (another
 * process's, from dp_io_detach; each an AF_PACKET socket bound to its
 * device, by enum dp_io_fd; owned by io from the call on), so frames that
 * queued in them meanwhile are forwarded, not lost — and starts the
 * threads. On failure io is left for dp_io_stop. */
int dp_io_new(const struct dp_io_config *cfg, struct dp_io **out, char err[CONS_ERRLEN]);
int dp_io_run(struct dp_io *io, struct dp_rcu *r, const int *fds, char err[CONS_ERRLEN]);

/* Opens the sockets and starts the egress and ingress threads (busy_poll:
 * one thread for both) reading r's current table (r must hold one). Needs
 * CAP_NET_RAW. Returns 0 or a negative errno with err saying which
 * interface and why. */
int dp_io_start(const struct dp_io_config *cfg, struct dp_rcu *r, struct dp_io **out,
		char err[CONS_ERRLEN]);
/* Stops and joins the threads (at once: they are woken), closes the
 * sockets, frees everything. NULL ok. */
void dp_io_stop(struct dp_io *io);
/* The same, but the sockets stay open and go to fds[] (by enum dp_io_fd),
 * the caller's from then on: to hand them to another process. */
void dp_io_detach(struct dp_io *io, int fds[DP_IO_FDS]);
const struct dp_sched_stats *dp_io_sched_stats(const struct dp_io *io);
const struct dp_rx_stats *dp_io_rx_stats(const struct dp_io *io);
/* Per-socket I/O counters. */
struct dp_io_stats {
	uint64_t int_rx, int_tx, up_rx, up_tx;
	uint64_t tx_errors, rx_truncated;
};
void dp_io_stats(const struct dp_io *io, struct dp_io_stats *out);
size_t dp_io_miss_drain(struct dp_io *io, struct dp_miss_report *out, size_t max);

#endif /* RTV_AGENT_DP_H */
