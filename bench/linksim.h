/* linksim.h — a discrete-event simulation of one egress link driven by sched/.
 *
 * A test and benchmark tool, not part of the product. Constant-rate sources
 * feed one link, scheduled in one of three ways:
 *
 *   LINKSIM_EDF   real-time flows in sched_edf (deadline = arrival + D), NRT
 *                 in a drop-tail sched_fifo; NRT goes first whenever
 *                 sched_nrt_may_send() says no RT deadline is put at risk
 *                 (seed 000 §3.4). The flow set must pass
 *                 sched_edf_admissible() or the run is refused.
 *   LINKSIM_WFQ   each real-time flow a WF²Q+ path at the smallest service rate
 *                 R whose RFC 2212 bound meets its deadline; all NRT flows
 *                 share one more path at C − ΣR, drop-tail at a packet limit.
 *   LINKSIM_FIFO  everything in one drop-tail sched_fifo (a txqueuelen).
 *
 * Time is a simulated nanosecond clock; a sched_pacer models the wire. The run
 * is deterministic: the only randomness (source phases and jitter) comes from
 * a PRNG seeded by the config.
 *
 * Accounting. "Wait" is the time a packet spends in the send queue: the time
 * it starts on the wire minus its arrival (seed 000 Table 8 measures this).
 * A packet MISSES when its last bit leaves after its absolute deadline
 * (arrival + D). Rates and packet sizes in the config are frame bits and
 * frame bytes; the pacer adds overhead_bytes per frame on the wire, and
 * admission (EDF test, headroom, RFC 2212) is done in wire bits so that it
 * describes what the link really carries.
 */
#ifndef RTV_BENCH_LINKSIM_H
#define RTV_BENCH_LINKSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINKSIM_MAX_FLOWS 32
#define LINKSIM_DEFAULT_BUCKET_NS 1000	/* the MPLS label's resolution */

enum linksim_mode { LINKSIM_EDF, LINKSIM_WFQ, LINKSIM_FIFO };

/* A constant-rate source. Packet k arrives at phase + floor(k·P) + j_k where
 * P = pkt_bytes·8/rate_bps (exact, no drift), phase is drawn uniformly from
 * [0, P) when the config asks for random phases (else 0), and j_k uniformly
 * from [0, jitter_ns). Such a source conforms to a token bucket of rate r
 * and burst pkt + r·jitter, which is what admission is told. */
struct linksim_flow {
	const char *name;	/* for messages; may be NULL */
	uint64_t rate_bps;	/* offered rate in frame bits/s, > 0 */
	uint32_t pkt_bytes;	/* frame length, > 0 */
	uint64_t deadline_ns;	/* relative deadline; 0 = non-real-time */
	uint64_t jitter_ns;	/* < the packet interval */
};

/* One departure, handed to the trace hook. */
struct linksim_trace {
	uint32_t flow;
	uint64_t enq_ns;	/* arrival */
	uint64_t deq_ns;	/* first bit on the wire */
	uint64_t end_ns;	/* last bit on the wire */
	uint64_t deadline_ns;	/* absolute; 0 for NRT */
};

struct linksim_config {
	enum linksim_mode mode;
	uint64_t link_bps;		/* > 0 */
	uint32_t overhead_bytes;	/* wire bytes added per frame by the pacer */
	uint64_t duration_ns;		/* sources emit in [0, duration); queues then drain */
	uint64_t seed;
	bool random_phase;
	uint32_t queue_limit_pkts;	/* the NRT queue (EDF, WFQ) or the one FIFO; 0 = none */
	uint32_t pool_pkts;		/* packet descriptors; 0 = limit + 4096 */
	uint64_t edf_bucket_ns;		/* 0 = LINKSIM_DEFAULT_BUCKET_NS */
	size_t n_flows;			/* 1..LINKSIM_MAX_FLOWS */
	struct linksim_flow flows[LINKSIM_MAX_FLOWS];
	/* Optional: called for every departure, in time order. */
	void (*trace)(void *arg, const struct linksim_trace *t);
	void *trace_arg;
};

struct linksim_flow_result {
	uint64_t arrived;
	uint64_t sent;
	uint64_t dropped_queue;		/* queue limit reached (drop-tail) */
	uint64_t dropped_pool;		/* simulator out of descriptors */
	uint64_t misses;		/* last bit after the deadline */
	uint64_t max_late_ns;		/* worst lateness among misses */
	uint64_t wait_min_ns, wait_max_ns, wait_sum_ns;
	uint64_t first_arrival_ns;
	uint64_t sent_bytes;		/* frame bytes */
	uint64_t sent_in_window;	/* packets whose last bit left by duration_ns */
	uint64_t sent_bytes_in_window;
	uint64_t service_rate_bps;	/* WFQ: the path's R in wire bits/s; else 0 */
};

struct linksim_result {
	struct linksim_flow_result flow[LINKSIM_MAX_FLOWS];
	uint64_t pkts;			/* arrivals, all flows */
	uint64_t end_ns;		/* last bit of the last frame */
	uint64_t link_busy_ns;		/* wire time of every frame sent */
	uint64_t nrt_overtakes;		/* EDF: NRT frames sent while RT was queued */
	uint64_t nrt_path_rate_bps;	/* WFQ: R of the shared NRT path */
	char why[200];			/* why a config was refused */
};

/* Runs one simulation. res is overwritten (zeroed first). Returns 0;
 * -EINVAL for a malformed config; -ENOSPC if the flow set is not admissible
 * (EDF test fails, or no RFC 2212 rate fits under the link) — res->why says
 * which flow and why; -ENOMEM; -EPROTO if a sched/ queue reports empty while
 * holding packets (a scheduler bug; res->why says when). */
int linksim_run(const struct linksim_config *cfg, struct linksim_result *res);

/* Mean wait of a flow's sent packets in ns (0 if none). */
double linksim_wait_avg_ns(const struct linksim_flow_result *f);
/* Frame bits/s whose last bit left within [0, duration_ns). */
double linksim_window_bps(const struct linksim_flow_result *f, uint64_t duration_ns);
const char *linksim_mode_name(enum linksim_mode mode);

/* Seed 000's experiment 1: a 1 Gbit/s link, flows A (2 Mbit/s, D = 5 ms) and
 * B (2 Mbit/s, D = 10 ms), NRT UDP at 1.1 Gbit/s, 1,502-byte frames,
 * Ethernet overhead on the wire, NRT/FIFO limit 1,000 packets, 10 s. */
enum { LINKSIM_EXP1_A, LINKSIM_EXP1_B, LINKSIM_EXP1_NRT };
void linksim_exp1_config(struct linksim_config *cfg, enum linksim_mode mode,
			 uint64_t seed);

#endif
