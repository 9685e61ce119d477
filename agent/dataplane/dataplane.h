/* dataplane.h — rtvd and its dataplane: the glue between the replicated
 * state (consensus/), the dataplane library (dp/dp.h), the miss reports
 * between agents (agent/dataplane/missrep.h) and the miss policy (agent/dataplane/misspol.h).
 * A module of rtvd's core (agent/core/core.h).
 *
 * With [dataplane] enabled, rtvd sits between the host's switch (int_dev,
 * rtv-int's peer) and the uplink (uplink_dev) and owns the uplink's queue
 * (docs/architecture.md, "One host"):
 *
 *   - The rtpath table. Built from the replicated rtpaths that this host
 *     sends or receives, with each sent path's local boost, and published
 *     to the dataplane threads by pointer swap: at start, after every
 *     applied PATH_RESERVE / PATH_RELEASE / PATH_ESCALATE that concerns
 *     this host, after a snapshot restore, and whenever a local boost
 *     changes. A table the library refuses (e.g. too many distinct
 *     deadlines) is logged and the previous one stays.
 *   - A timer every [dataplane] miss_interval (10 to 100 ms) reclaims old
 *     tables, drains the ingress thread's miss records and sends them to
 *     the sending hosts' agents (missrep.h), and lets the miss policy's
 *     time pass (boost decay, escalation retries).
 *   - Reports that arrive for a path this host sends go through the path's
 *     miss policy (misspol.h): a local boost at once (new table), and past
 *     the policy's threshold a PATH_ESCALATE to level + 1 through the
 *     normal submit path (forwarded to the leader, deduplicated by this
 *     process's client id and sequence; one proposal in flight). A report
 *     for a path that does not exist, that this host does not send, or
 *     from a host that does not receive it is counted and logged (rate
 *     limited), and changes nothing.
 *
 * Start after the Raft node (the table is built from the state as it is
 * then, and rebuilt as the log is applied); close in the shutdown's last
 * step (the dataplane still forwards rtvd's own Raft traffic while
 * leadership is handed over): closing joins the dataplane threads, which
 * takes up to their 100 ms idle sleep.
 *
 * Everything here runs on rtvd's loop.
 */
#ifndef RTV_AGENT_DATAPLANE_H
#define RTV_AGENT_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/core/core.h"
#include "agent/telemetry/telemetry.h"
#include "consensus/consensus.h"
#include "dp/dp.h"

struct agent_dp;

/* This host's counters since start. */
struct agent_dp_counters {
	uint64_t table_builds, table_errors;
	/* as a receiver */
	uint64_t misses_drained;	/* misses in the ingress thread's records */
	uint64_t reports_sent, dgrams_sent, send_errors;
	uint64_t reports_unroutable;	/* the sending host has no usable address */
	/* as a sender */
	uint64_t dgrams_received, dgrams_bad;
	uint64_t reports_received, reports_applied, reports_dup, reports_rejected;
	uint64_t misses_reported;	/* new misses learnt from reports */
	uint64_t boosts_raised, boosts_lowered;
	uint64_t escalations_proposed, escalations_committed, escalations_refused,
		 escalations_failed;
};

/* One rtpath as this host's dataplane sees it. */
struct agent_dp_path_stats {
	enum dp_dir side;		/* DP_TX: this host sends it; DP_RX: receives */
	uint8_t level, boost;		/* committed level; local boost (sender) */
	struct dp_path_counters c;
	struct dp_hist_summary delay;	/* one-way delay, ns (receiver) */
	/* sender: what the receiver reported */
	uint64_t reports, misses_reported, worst_late_ns, uncertainty_ns;
	uint64_t escalations_proposed, escalations_committed, escalations_refused;
	/* receiver: reports sent for it */
	uint64_t reports_sent;
};

/* The module (agent/core/core.h). start, when [dataplane] enabled (nothing
 * otherwise): builds the first table, starts the dataplane threads on
 * int_dev and uplink_dev, opens the miss-report socket, starts the timer;
 * fails with a negative errno after logging why (a device missing, no
 * CAP_NET_RAW, the miss port taken). applied / restored rebuild the table
 * when the change concerns this host. close stops the threads (joins
 * them), the socket and the timer. It adds "dataplane" to the status reply
 * and "stats" to the paths this host sends or receives (rpc/proto.h), and
 * offers the telemetry sources (AGENT_TM_IFACE). */
extern const struct agent_module agent_dp_module;

/* Reads (false / nothing when the dataplane does not know the path). */
bool agent_dp_get_counters(const struct agent_dp *dp, struct agent_dp_counters *out);
bool agent_dp_path_stats(const struct agent_dp *dp, uint64_t path_id,
			 struct agent_dp_path_stats *out);

/* The running dataplane (NULL when stopped; its counters through
 * dp_io_sched_stats, dp_io_rx_stats, dp_io_stats), and rtpath `id` in the
 * current table (NULL if this host neither sends nor receives it; valid
 * until the next table is published, i.e. until control returns to the
 * loop). */
const struct dp_io *agent_dp_io(const struct agent_dp *dp);
const struct dp_path *agent_dp_path(const struct agent_dp *dp, uint64_t path_id,
				    enum dp_dir *side);

/* The module's reply hooks (core.h): "stats" in a path's map, "dataplane"
 * in the status reply. */
int agent_dp_pack_path(void *self, msgpack_packer *pk, const struct cons_rtpath *p);
size_t agent_dp_status_keys(void *self);
int agent_dp_pack_status(void *self, msgpack_packer *pk);

/* dataplane_metrics.c: the telemetry sources (AGENT_TM_IFACE), and the
 * dataplane's counters, gauges and histograms as exported (also tests):
 * fill what the dataplane knows, leave the rest of out alone. */
extern const struct agent_tm_sources agent_dp_tm_sources;
void agent_dp_tm_host_read(const struct dp_sched_stats *s, const struct dp_rx_stats *r,
			   struct agent_tm_dp_host *out);
void agent_dp_tm_path_read(const struct dp_path *p, struct agent_tm_dp_path *out);

#endif /* RTV_AGENT_DATAPLANE_H */
