/* telemetry.h — rtvd's metrics: what it exports at /metrics and where each
 * figure comes from. The telemetry module. docs/metrics.md is the list for
 * operators (names, labels, units, sources); tests/system/metrics.sh checks
 * that the list, the exposition and the dashboards agree.
 *
 * Three kinds of sources:
 *   - hot counters the loop bumps as things happen (RPC requests, forwards,
 *     commits and their latency, applied commands, loop lag): the core's
 *     request and applied hooks (agent/core/core.h);
 *   - state read at each scrape (Raft status, the replicated hosts, links
 *     and rtpaths, /proc/self);
 *   - other modules' counters read at each scrape through struct
 *     agent_tm_sources, the interface AGENT_TM_IFACE that a module offers
 *     through its iface hook (agent/core/core.h): today the dataplane
 *     (agent/dataplane/dataplane_metrics.c) and the OVS glue. A module that
 *     is disabled, or a figure it does not count yet, is exported as 0
 *     (OpenFlow: state "disabled"), with every series that the state
 *     implies, so that dashboards and alerts work unchanged the day the
 *     numbers arrive.
 *
 * Per-rtpath series are capped ([metrics] rtpath_cap, default 1000 per
 * family): rtpaths beyond it are folded into {rtpath="other", type=...},
 * which always exists for both types (see agent/telemetry/metrics.h). The sending
 * host exports an rtpath's reservation and tx counters, the receiving host
 * its rx counters, misses and delay histograms.
 *
 * Everything here runs on the loop thread.
 */
#ifndef RTV_AGENT_TELEMETRY_H
#define RTV_AGENT_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "agent/core/core.h"
#include "agent/telemetry/http.h"
#include "agent/telemetry/metrics.h"
#include "rpc/request.h"
#include "consensus/consensus.h"

/* Histograms other modules fill: one-way delay, lateness, queue delay. Upper
 * bounds in seconds (agent_tm_delay_bounds_s); counts[i] = observations in
 * bucket i, NOT cumulative, i = AGENT_TM_DELAY_BUCKETS for beyond the last. */
#define AGENT_TM_DELAY_BUCKETS 12
extern const double agent_tm_delay_bounds_s[AGENT_TM_DELAY_BUCKETS];

struct agent_tm_hist {
	uint64_t counts[AGENT_TM_DELAY_BUCKETS + 1];
	double sum_s;
};

/* The label values of each index below, in docs/metrics.md. */
enum agent_tm_class { AGENT_TM_RT, AGENT_TM_NRT, AGENT_TM_CTL, AGENT_TM_CLASS_N };
enum agent_tm_queue { AGENT_TM_Q_EDF, AGENT_TM_Q_WFQ, AGENT_TM_Q_CTL, AGENT_TM_Q_NRT,
		      AGENT_TM_QUEUE_N };
enum agent_tm_drop { AGENT_TM_DROP_POOL, AGENT_TM_DROP_RUNT, AGENT_TM_DROP_NRT_FULL,
		     AGENT_TM_DROP_CTL_FULL, AGENT_TM_DROP_POLICED, AGENT_TM_DROP_TOO_BIG,
		     AGENT_TM_DROP_VM_MPLS, AGENT_TM_DROP_NRT_SOJOURN,
		     AGENT_TM_DROP_DEMOTED_SOJOURN, AGENT_TM_DROP_N };
enum agent_tm_exc { AGENT_TM_EXC_BAD_IP, AGENT_TM_EXC_REMARKED, AGENT_TM_EXC_WFQ_NO_SLOT,
		    AGENT_TM_EXC_FRAGMENTED, AGENT_TM_EXC_N };
enum agent_tm_icmp { AGENT_TM_ICMP_SENT, AGENT_TM_ICMP_LIMITED, AGENT_TM_ICMP_NOT_ANSWERED,
		     AGENT_TM_ICMP_N };
enum agent_tm_rx { AGENT_TM_RX_POPPED, AGENT_TM_RX_PASSED, AGENT_TM_RX_FOREIGN,
		   AGENT_TM_RX_UNKNOWN_PATH, AGENT_TM_RX_NOT_IPV4, AGENT_TM_RX_N };
/* Sealed datagrams refused (pki_dgram_stats, plus the channel's own check
 * that the sealer is the host the payload speaks for). */
enum agent_tm_seal { AGENT_TM_SEAL_BAD_MAC, AGENT_TM_SEAL_UNKNOWN_KEY, AGENT_TM_SEAL_REPLAY,
		     AGENT_TM_SEAL_STALE, AGENT_TM_SEAL_MALFORMED, AGENT_TM_SEAL_WRONG_SENDER,
		     AGENT_TM_SEAL_N };

/* This host's dataplane (dp/dp.h: struct dp_sched_stats, dp_rx_stats,
 * dp_sched_backlog); counters are totals since the dataplane started. */
struct agent_tm_dp_host {
	uint64_t pacer_bps;
	uint64_t sent_frames, sent_bytes;
	uint64_t queued[AGENT_TM_CLASS_N];	/* rt_frames, nrt_frames, ctl_frames */
	uint64_t backlog[AGENT_TM_QUEUE_N];
	struct agent_tm_hist queue_delay[AGENT_TM_CLASS_N];
	uint64_t drops[AGENT_TM_DROP_N];
	uint64_t exceptions[AGENT_TM_EXC_N];
	uint64_t demoted, nrt_overtakes, table_swaps;
	uint64_t tolerated;		/* RT in profile thanks to the switch tolerance */
	uint64_t cdv_tolerance_ns;	/* that tolerance now (gauge) */
	uint64_t late_past_label;	/* misses the 20-bit label alone reads as early */
	uint64_t icmp[AGENT_TM_ICMP_N];
	uint64_t rx[AGENT_TM_RX_N];
	uint64_t misses, miss_reports_lost;
	uint64_t process_up;		/* rtvdp answers rtvd (1) or not (0) */
	uint64_t degraded;		/* plain forwarding: rtvdp gone for good (1) */
	bool sealed;			/* miss reports are sealed ([tls] rack_keys) */
	uint64_t miss_sealed_refused[AGENT_TM_SEAL_N];
	uint64_t takeovers;		/* in-place upgrades of rtvdp (its state reply) */
};

/* One rtpath (dp/dp.h: struct dp_path_counters, dp_path_hist). */
struct agent_tm_dp_path {
	uint64_t tx_pkts, tx_bytes;
	uint64_t tx_exceeded;		/* tx_demoted + tx_policed */
	uint64_t rx_pkts, misses;
	struct agent_tm_hist delay, lateness;
};

enum agent_tm_of_state { AGENT_TM_OF_DISABLED, AGENT_TM_OF_CONNECTING, AGENT_TM_OF_CONNECTED };

struct agent_tm_of {
	enum agent_tm_of_state state;
	uint64_t flows;
	uint64_t reconciles;		/* reconcile runs */
	uint64_t flows_added, flows_modified, flows_deleted;	/* by reconciles */
};

/* The gossip member list (agent/gossip): counts by state in this host's
 * view, its counters since start, the autopilot's replacements. */
enum agent_tm_gstate { AGENT_TM_G_ALIVE, AGENT_TM_G_SUSPECT, AGENT_TM_G_DEAD, AGENT_TM_G_LEFT,
		       AGENT_TM_GSTATE_N };
enum agent_tm_grefuse { AGENT_TM_GR_MALFORMED, AGENT_TM_GR_UNAUTHENTICATED, AGENT_TM_GREFUSE_N };

struct agent_tm_gossip {
	uint64_t members[AGENT_TM_GSTATE_N];
	uint64_t health;		/* Lifeguard's local health multiplier */
	uint64_t tx_bytes, rx_bytes;
	uint64_t refused[AGENT_TM_GREFUSE_N];
	uint64_t probes, probe_failures, suspicions, refutations, deaths;
	uint64_t autopilot_replacements;
};

/* The interface a module offers (its iface hook, agent/core/core.h) under
 * the name AGENT_TM_IFACE. Called at each scrape, on the loop, with the
 * module's self; NULL members: no such source. dp_path returns false when
 * the dataplane does not know the rtpath (a same-host rtpath). */
#define AGENT_TM_IFACE "telemetry.sources"

/* The libvirt module's counters (agent/libvirt). */
struct agent_tm_lv {
	uint64_t migrations_committed, migrations_aborted;	/* of VMs this host ran or runs */
	uint64_t undefined_rtpaths_released;
};

struct agent_tm_sources {
	void (*dp_host)(void *self, struct agent_tm_dp_host *out);
	bool (*dp_path)(void *self, uint64_t path_id, struct agent_tm_dp_path *out);
	void (*openflow)(void *self, struct agent_tm_of *out);
	void (*libvirt)(void *self, struct agent_tm_lv *out);
	void (*gossip)(void *self, struct agent_tm_gossip *out);
};

struct agent_tm_fams;
struct agent_tm_row;

struct agent_telemetry {
	/* private */
	struct rtvd *d;
	struct agent_metrics *reg;
	struct agent_tm_fams *f;
	/* the modules offering AGENT_TM_IFACE, found again at each scrape */
	struct agent_tm_src {
		const struct agent_tm_sources *s;
		void *self;
	} src[AGENT_MODULES_MAX];
	size_t n_src;
	struct agent_http http;	/* [metrics] listen */
	uv_timer_t lag_timer;
	uint64_t lag_last_ns;
	bool timer_open;
	uint64_t in_flight;
	double start_time_s;
	double last_render_s;
	/* per-rtpath series of the last collection, valid while the replicated
	 * state is at rows_index (telemetry_collect.c) */
	struct agent_tm_row *rows;
	size_t n_rows, cap_rows;
	uint64_t rows_index;
	bool rows_valid;
};

/* Registers every metric and starts the loop-lag timer on d->loop. Returns
 * 0 or a negative errno. agent_telemetry_close and _free apply either way. */
int agent_telemetry_init(struct agent_telemetry *t, struct rtvd *d);
/* Stops the timer (closes its handle: uv_run must run afterwards). */
void agent_telemetry_close(struct agent_telemetry *t);
/* Frees the registry, after uv_run has returned. */
void agent_telemetry_free(struct agent_telemetry *t);

/* Refreshes everything read at a scrape and renders the exposition into b
 * (appended). Returns 0 or -ENOMEM. */
int agent_telemetry_render(struct agent_telemetry *t, struct agent_mbuf *b);

/* The request engine's events (the module's request hook). */
void agent_tm_request(struct agent_telemetry *t, const struct agent_req_ev *ev);
void agent_tm_applied(struct agent_telemetry *t, const struct cons_cmd *cmd,
		      const struct cons_result *res);

/* The module: metrics registered before the Raft node starts (init), the
 * /metrics endpoint on [metrics] listen (start). */
extern const struct agent_module agent_telemetry_module;

#endif /* RTV_AGENT_TELEMETRY_H */
