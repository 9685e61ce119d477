/* telemetry.c — rtvd's metric families, the hooks that count as things
 * happen, and the loop-lag probe (see telemetry.h; docs/metrics.md is the
 * operator's copy of the table below).
 *
 * Naming follows https://prometheus.io/docs/practices/naming/: the rtvnet_
 * prefix, base units in the name (_seconds, _bytes, _bits_per_second),
 * _total on counters, _info for constant labels. Every labelled series the
 * code knows in advance is pinned at start-up, so a counter that has not
 * moved yet is exported as 0 rather than missing (rate() and alerts need
 * the series to exist before the first event).
 */
#include "agent/telemetry/telemetry_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rpc/client.h"
#include "rpc/proto.h"

#define LAG_PERIOD_MS 100

const double agent_tm_delay_bounds_s[AGENT_TM_DELAY_BUCKETS] = {
	25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 500e-3,
};
static const double commit_bounds_s[] = {
	250e-6, 500e-6, 1e-3, 2e-3, 4e-3, 8e-3, 16e-3, 32e-3, 64e-3, 128e-3, 256e-3, 1,
};
static const double lag_bounds_s[] = {
	1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3, 1,
};

const char *const tm_rpc_class_names[TM_RPC_CLASSES] = { "ok", "refused", "invalid",
							 "unavailable" };
const char *const tm_outcome_names[TM_OUTCOMES] = { "ok", "refused", "error" };
const char *const tm_class_names[AGENT_TM_CLASS_N] = { "rt", "nrt", "ctl" };
const char *const tm_queue_names[AGENT_TM_QUEUE_N] = { "edf", "wfq", "ctl", "nrt" };
const char *const tm_drop_names[AGENT_TM_DROP_N] = { "pool", "runt", "nrt_full", "ctl_full",
						     "policed", "too_big", "vm_mpls",
						     "nrt_sojourn", "demoted_sojourn" };
const char *const tm_exc_names[AGENT_TM_EXC_N] = { "bad_ip_passed", "remarked",
						   "wfq_no_slot", "fragmented" };
const char *const tm_icmp_names[AGENT_TM_ICMP_N] = { "sent", "rate_limited", "not_answered" };
const char *const tm_seal_names[AGENT_TM_SEAL_N] = { "bad_mac", "unknown_key", "replay",
						     "stale", "malformed", "wrong_sender" };
const char *const tm_rx_names[AGENT_TM_RX_N] = { "popped", "passed", "mpls_foreign",
						 "unknown_path", "not_ipv4" };
const char *const tm_of_state_names[3] = { "disabled", "connecting", "connected" };

#define L(...) { __VA_ARGS__, NULL }
#define NOL { NULL }
#define PATHL L("rtpath", "type"), .cap_label = "rtpath"
#define HIST(b) .buckets = (b), .n_buckets = sizeof(b) / sizeof((b)[0])
#define DELAY .buckets = agent_tm_delay_bounds_s, .n_buckets = AGENT_TM_DELAY_BUCKETS
#define C AGENT_M_COUNTER
#define G AGENT_M_GAUGE
#define H AGENT_M_HISTOGRAM

static const struct agent_mdesc defs[TM_FAM_N] = {
	[TM_BUILD_INFO] = { "rtvnet_build_info", "rtvd's version and RPC protocol version "
			    "(always 1).", G, L("version", "protocol") },
	[TM_NODE_INFO] = { "rtvnet_node_info", "This agent's Raft server id and host name "
			   "(always 1).", G, L("node", "name") },
	[TM_RAFT_ROLE] = { "rtvnet_raft_role", "1 for this node's current Raft role, 0 for "
			   "the others.", G, L("role") },
	[TM_RAFT_IS_LEADER] = { "rtvnet_raft_is_leader", "1 if this node is the Raft leader.",
				G, NOL },
	[TM_RAFT_LEADER_NODE] = { "rtvnet_raft_leader_node", "Server id of the leader this "
				  "node knows; 0 while there is none.", G, NOL },
	[TM_RAFT_TERM] = { "rtvnet_raft_term", "Current Raft term.", G, NOL },
	[TM_RAFT_COMMIT_INDEX] = { "rtvnet_raft_commit_index", "Highest log index known to "
				   "be committed.", G, NOL },
	[TM_RAFT_APPLIED_INDEX] = { "rtvnet_raft_applied_index", "Highest log index applied "
				    "to this replica's state.", G, NOL },
	[TM_RAFT_LAST_INDEX] = { "rtvnet_raft_last_index", "Index of the last entry in this "
				 "node's log.", G, NOL },
	[TM_RAFT_LEADER_CHANGES] = { "rtvnet_raft_leader_changes_total", "Leader changes "
				     "this node has seen since it started.", C, NOL },
	[TM_RAFT_PEERS] = { "rtvnet_raft_peers", "Members of the Raft configuration by kind.",
			    G, L("kind") },
	[TM_RAFT_FOLLOWER_LAG] = { "rtvnet_raft_follower_lag_entries", "Log entries a "
				   "member is behind the leader (exported by the leader only).",
				   G, L("peer") },
	[TM_RAFT_COMMIT_LATENCY] = { "rtvnet_raft_commit_latency_seconds", "Time from "
				     "proposing a command on this leader to applying it.", H,
				     NOL, HIST(commit_bounds_s) },
	[TM_RAFT_APPLIED_CMDS] = { "rtvnet_raft_applied_commands_total", "Commands applied "
				   "to this replica, by operation and outcome.", C,
				   L("op", "outcome") },
	[TM_RPC_REQUESTS] = { "rtvnet_rpc_requests_total", "Requests answered by this agent, "
			      "by operation and status class (rtvctl's exit codes).", C,
			      L("op", "status") },
	[TM_RPC_FORWARDED] = { "rtvnet_rpc_forwarded_total", "Requests forwarded to the "
			       "leader's agent (each attempt).", C, NOL },
	[TM_RPC_IN_FLIGHT] = { "rtvnet_rpc_in_flight", "Requests being served now.", G, NOL },
	[TM_RPC_WAITING] = { "rtvnet_rpc_waiting_for_leader", "Requests waiting for a "
			     "reachable Raft leader.", G, NOL },
	[TM_TLS_REFUSED] = { "rtvnet_tls_refused_total", "Connections refused in or right "
			     "after the TLS handshake, by channel (raft, rpc, rpc_read) and reason "
			     "(docs/metrics.md).", C, L("channel", "reason") },
	[TM_RPC_READ_ONLY_REFUSED] = { "rtvnet_rpc_read_only_refused_total", "Requests that "
				       "would change the rack, refused on the read-only RPC "
				       "listener.", C, NOL },
	[TM_SEALED_REFUSED] = { "rtvnet_sealed_refused_total", "Sealed datagrams refused, by "
				"channel and reason (bad_mac, unknown_key, replay, stale, "
				"malformed, wrong_sender).", C, L("channel", "reason") },
	[TM_STATE_HOSTS] = { "rtvnet_state_hosts", "Hosts in the replicated state.", G, NOL },
	[TM_STATE_VMS] = { "rtvnet_state_vms", "VMs in the replicated state.", G, NOL },
	[TM_STATE_LINKS] = { "rtvnet_state_links", "Topology links in the replicated state.",
			     G, NOL },
	[TM_STATE_RTPATHS] = { "rtvnet_state_rtpaths", "Admitted rtpaths in the replicated "
			       "state, by type and MPLS traffic class.", G, L("type", "tc") },
	[TM_LINK_CAPACITY] = { "rtvnet_link_capacity_bytes_per_second", "Capacity of a "
			       "topology link in one direction.", G, L("link", "dir") },
	[TM_LINK_BUDGET] = { "rtvnet_link_rt_budget_bytes_per_second", "Share of the link "
			     "direction real-time reservations may take.", G, L("link", "dir") },
	[TM_LINK_RESERVED] = { "rtvnet_link_reserved_bytes_per_second", "Real-time rate "
			       "reserved on the link direction.", G, L("link", "dir") },
	[TM_UPLINK_CAPACITY] = { "rtvnet_uplink_capacity_bytes_per_second", "This host's "
				 "uplink capacity (tx: host to switch).", G, L("dir") },
	[TM_UPLINK_BUDGET] = { "rtvnet_uplink_rt_budget_bytes_per_second", "Share of this "
			       "host's uplink real-time reservations may take.", G, L("dir") },
	[TM_UPLINK_RESERVED] = { "rtvnet_uplink_reserved_bytes_per_second", "Real-time rate "
				 "reserved on this host's uplink.", G, L("dir") },
	[TM_PATH_RESERVED] = { "rtvnet_rtpath_reserved_bytes_per_second", "Reserved rate of "
			       "an rtpath sent by this host.", G, PATHL, .agg = AGENT_M_SUM },
	[TM_PATH_DEADLINE] = { "rtvnet_rtpath_deadline_seconds", "End-to-end deadline of an "
			       "rtpath sent by this host (other: the tightest).", G, PATHL,
			       .agg = AGENT_M_MIN },
	[TM_PATH_LEVEL] = { "rtvnet_rtpath_escalation_level", "Committed escalation level of "
			    "an rtpath sent by this host (other: the highest).", G, PATHL,
			    .agg = AGENT_M_MAX },
	[TM_PATH_TX_PKTS] = { "rtvnet_rtpath_tx_packets_total", "Packets of the rtpath "
			      "stamped and queued by this host.", C, PATHL },
	[TM_PATH_TX_BYTES] = { "rtvnet_rtpath_tx_bytes_total", "Bytes of the rtpath stamped "
			       "and queued by this host.", C, PATHL },
	[TM_PATH_TX_EXCEEDED] = { "rtvnet_rtpath_tx_exceeded_total", "Packets beyond the "
				  "reservation: sent as NRT (deadline type) or dropped by the "
				  "policer (reservation type).", C, PATHL },
	[TM_PATH_RX_PKTS] = { "rtvnet_rtpath_rx_packets_total", "Labelled packets of the "
			      "rtpath received by this host.", C, PATHL },
	[TM_PATH_MISSES] = { "rtvnet_rtpath_misses_total", "Packets of the rtpath that "
			     "arrived after their deadline.", C, PATHL },
	[TM_PATH_LATENESS] = { "rtvnet_rtpath_lateness_seconds", "How late missed packets "
			       "of the rtpath arrived.", H, PATHL, DELAY },
	[TM_PATH_DELAY] = { "rtvnet_rtpath_one_way_delay_seconds", "One-way delay of the "
			    "rtpath's packets, sender's stamp to this host's receipt.", H,
			    PATHL, DELAY },
	[TM_DP_PACER] = { "rtvnet_dp_pacer_rate_bytes_per_second", "Rate the egress pacer "
			  "releases frames at (0: dataplane not running).", G, NOL },
	[TM_DP_SENT_FRAMES] = { "rtvnet_dp_sent_frames_total", "Frames sent on the uplink.",
				C, NOL },
	[TM_DP_SENT_BYTES] = { "rtvnet_dp_sent_bytes_total", "Bytes sent on the uplink.", C,
			       NOL },
	[TM_DP_QUEUED] = { "rtvnet_dp_queued_frames_total", "Frames queued for the uplink, "
			   "by class.", C, L("class") },
	[TM_DP_BACKLOG] = { "rtvnet_dp_backlog_frames", "Frames waiting in each egress "
			    "queue.", G, L("queue") },
	[TM_DP_QUEUE_DELAY] = { "rtvnet_dp_queue_delay_seconds", "Time frames spent in the "
				"egress queues, by class.", H, L("class"), DELAY },
	[TM_DP_DROPS] = { "rtvnet_dp_drops_total", "Frames dropped on egress, by reason.", C,
			  L("reason") },
	[TM_DP_EXCEPTIONS] = { "rtvnet_dp_exceptions_total", "Frames sent but not as asked "
			       "(malformed IPv4 passed, DSCP remarked, no WF2Q+ slot).", C,
			       L("kind") },
	[TM_DP_DEMOTED] = { "rtvnet_dp_demoted_total", "Deadline-type frames beyond their "
			    "bucket sent as NRT.", C, NOL },
	[TM_DP_TOLERATED] = { "rtvnet_dp_policer_tolerated_total", "RT frames within their "
			      "rtpath's (r, b) only with the tolerance for the host switch's "
			      "delay variation (r*tolerance more).", C, NOL },
	[TM_DP_TOLERANCE] = { "rtvnet_dp_policer_tolerance_seconds", "The policer's tolerance "
			      "for the host switch's delay variation: the longest silence on "
			      "rtv-int over the last 5-10 s, capped.", G, NOL },
	[TM_DP_LATE_PAST_LABEL] = { "rtvnet_dp_misses_past_label_total", "Misses more than "
				    "0.52 s late (the 20-bit label alone would read them as "
				    "early; the TTL's deadline bits tell).", C, NOL },
	[TM_DP_OVERTAKES] = { "rtvnet_dp_nrt_overtakes_total", "NRT or control frames sent "
			      "while RT frames were queued (the NRT rule).", C, NOL },
	[TM_DP_ICMP] = { "rtvnet_dp_icmp_frag_needed_total", "ICMP fragmentation-needed "
			 "answers to oversized RT frames, by result.", C, L("result") },
	[TM_DP_RX] = { "rtvnet_dp_rx_frames_total", "Frames received on the uplink, by what "
		       "ingress did with them.", C, L("kind") },
	[TM_DP_MISSES] = { "rtvnet_dp_misses_total", "Packets received after their deadline "
			   "(all rtpaths).", C, NOL },
	[TM_DP_REPORTS_LOST] = { "rtvnet_dp_miss_reports_lost_total", "Miss reports lost to a "
				 "full ring between ingress and the loop.", C, NOL },
	[TM_DP_TABLE_SWAPS] = { "rtvnet_dp_table_swaps_total", "rtpath tables adopted by the "
				"egress thread.", C, NOL },
	[TM_DP_PROCESS_UP] = { "rtvnet_dp_process_up", "1 while rtvdp, the dataplane process, "
			       "answers rtvd; 0 while it does not (it forwards on with its last "
			       "table, or the host is degraded).", G, NOL },
	[TM_DP_DEGRADED] = { "rtvnet_dp_degraded", "1 while the host forwards WITHOUT deadlines "
			     "(rtvdp gone for good: its devices are bridged).", G, NOL },
	[TM_DP_TAKEOVERS] = { "rtvnet_dp_takeovers_total", "In-place upgrades of rtvdp "
			      "(rtvdp --takeover) its packet sockets went through, as the "
			      "running rtvdp last told rtvd.", C, NOL },
	[TM_OF_STATE] = { "rtvnet_openflow_connection_state", "1 for the state of the "
			  "OpenFlow connection to the local OVS, 0 for the others.", G,
			  L("state") },
	[TM_OF_FLOWS] = { "rtvnet_openflow_flows", "Flows rtvd has installed in the local "
			  "bridge.", G, NOL },
	[TM_OF_RECONCILES] = { "rtvnet_openflow_reconciles_total", "Reconciliations of the "
			       "bridge's flows against the replicated state.", C, NOL },
	[TM_OF_RECONCILE_FLOWS] = { "rtvnet_openflow_reconcile_flows_total", "Flows "
				    "reconciliations changed, by action.", C, L("action") },
	[TM_LV_MIGRATIONS] = { "rtvnet_vm_migrations_total", "Live migrations of VMs this host "
			       "ran or runs that ended, by result (their Raft record committed "
			       "or aborted).", C, L("result") },
	[TM_LV_RELEASED] = { "rtvnet_vm_undefined_rtpaths_released_total", "rtpaths released "
			     "because their VM was undefined on this host.", C, NOL },
	[TM_G_MEMBERS] = { "rtvnet_gossip_members", "Members of the rack in this host's gossip "
			   "view, by state (itself included).", G, L("state") },
	[TM_G_HEALTH] = { "rtvnet_gossip_local_health", "Lifeguard's local health multiplier: "
			  "0 healthy, up to 8 while this host misses its own probes' answers.",
			  G, NOL },
	[TM_G_BYTES] = { "rtvnet_gossip_bytes_total", "Gossip bytes sent (tx) and received "
			 "(rx), envelopes included.", C, L("dir") },
	[TM_G_REFUSED] = { "rtvnet_gossip_datagrams_refused_total", "Gossip datagrams dropped, "
			   "by reason: malformed, or unauthenticated (unsealed, unknown key, "
			   "bad MAC, replayed or stale).", C, L("reason") },
	[TM_G_PROBES] = { "rtvnet_gossip_probes_total", "Members this host probed.", C, NOL },
	[TM_G_PROBE_FAILURES] = { "rtvnet_gossip_probe_failures_total", "Probes answered "
				  "neither directly nor through the indirect helpers.", C, NOL },
	[TM_G_SUSPICIONS] = { "rtvnet_gossip_suspicions_total", "Members this host started "
			      "suspecting.", C, NOL },
	[TM_G_REFUTATIONS] = { "rtvnet_gossip_refutations_total", "Suspicions of this host it "
			       "refuted (a false positive another host raised).", C, NOL },
	[TM_G_DEATHS] = { "rtvnet_gossip_deaths_total", "Members this host declared dead.", C,
			  NOL },
	[TM_G_AUTOPILOT] = { "rtvnet_autopilot_replacements_total", "Dead voters this host, as "
			     "leader, replaced by a standby.", C, NOL },
	[TM_PROC_RSS] = { "rtvnet_process_resident_memory_bytes", "Resident memory of rtvd.",
			  G, NOL },
	[TM_PROC_FDS] = { "rtvnet_process_open_fds", "Open file descriptors of rtvd.", G,
			  NOL },
	[TM_PROC_CPU] = { "rtvnet_process_cpu_seconds_total", "CPU time rtvd used (user + "
			  "system).", C, NOL },
	[TM_PROC_START] = { "rtvnet_process_start_time_seconds", "When rtvd started, in "
			    "seconds since the Unix epoch.", G, NOL },
	[TM_LOOP_LAG] = { "rtvnet_loop_lag_seconds", "How late a 100 ms timer on the control "
			  "loop fires (the loop must never block).", H, NOL,
			  HIST(lag_bounds_s) },
	[TM_M_RENDER] = { "rtvnet_metrics_render_seconds", "Time the previous scrape took to "
			  "collect and render on the loop.", G, NOL },
	[TM_M_SERIES] = { "rtvnet_metrics_series", "Series the previous scrape exported.", G,
			  NOL },
	[TM_M_CAP] = { "rtvnet_metrics_rtpath_cap", "Most rtpaths with their own series per "
		       "family ([metrics] rtpath_cap).", G, NOL },
	[TM_M_AGGREGATED] = { "rtvnet_metrics_rtpaths_aggregated", "rtpaths beyond the cap, "
			      "exported only within rtpath=\"other\" (tx: sent, rx: received "
			      "here).", G, L("side") },
};

/* ------------------------------------------------------------------------- */
/* Helpers shared with telemetry_collect.c                                   */

struct agent_mseries *tm_series(struct agent_telemetry *t, enum tm_fam id, ...)
{
	const char *v[AGENT_M_LABELS_MAX + 1] = { NULL };
	struct agent_mseries *s = NULL;
	va_list ap;

	va_start(ap, id);
	for (size_t i = 0; i < AGENT_M_LABELS_MAX; i++)
		if (!(v[i] = va_arg(ap, const char *)))
			break;
	va_end(ap);
	return agent_mfamily_series(t->f->f[id], v, &s) == 0 ? s : NULL;
}

void tm_set(struct agent_telemetry *t, enum tm_fam id, double v)
{
	agent_mseries_set(agent_mfamily_only(t->f->f[id]), v);
}

/* ------------------------------------------------------------------------- */
/* Registration                                                              */

static bool per_path(enum tm_fam id)
{
	return id >= TM_PATH_RESERVED && id <= TM_PATH_DELAY;
}

static int pin(struct agent_telemetry *t, enum tm_fam id, const char *a, const char *b,
	       struct agent_mseries **out)
{
	const char *v[] = { a, b, NULL };
	struct agent_mseries *s;

	return agent_mfamily_pin(t->f->f[id], v, out ? out : &s);
}

/* Pins one series per name: labelled families whose values are known. */
static int pin_all(struct agent_telemetry *t, enum tm_fam id, const char *const *names,
		   size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pin(t, id, names[i], NULL, NULL);
	return rc;
}

static int pin_ops(struct agent_telemetry *t)
{
	struct agent_tm_fams *F = t->f;
	int rc = 0;

	for (size_t op = 0; op < TM_N_AGENT_OPS && rc == 0; op++)
		for (size_t c = 0; c < TM_RPC_CLASSES && rc == 0; c++)
			rc = pin(t, TM_RPC_REQUESTS, op ? agent_op_name(op) : "malformed",
				 tm_rpc_class_names[c], &F->rpc[op][c]);
	for (size_t op = CONS_OP_HOST_ADD; op < TM_N_CONS_OPS && rc == 0; op++)
		for (size_t o = 0; o < TM_OUTCOMES && rc == 0; o++)
			rc = pin(t, TM_RAFT_APPLIED_CMDS, cons_op_name(op), tm_outcome_names[o],
				 &F->applied[op][o]);
	return rc;
}

/* Label values known in advance, one label. */
struct pin_set {
	enum tm_fam id;
	const char *const *names;
	size_t n;
};

static const char *const dirs[] = { "tx", "rx" };
const char *const tm_of_action_names[3] = { "add", "modify", "delete" };
const char *const tm_lv_result_names[2] = { "committed", "aborted" };
const char *const tm_gstate_names[AGENT_TM_GSTATE_N] = { "alive", "suspect", "dead", "left" };
const char *const tm_grefuse_names[AGENT_TM_GREFUSE_N] = { "malformed", "unauthenticated" };

static const struct pin_set pin_sets[] = {
	{ TM_RAFT_ROLE, cons_role_names, CONS_ROLE_N },
	{ TM_RAFT_PEERS, cons_host_role_names, 2 },
	{ TM_UPLINK_CAPACITY, dirs, 2 },
	{ TM_UPLINK_BUDGET, dirs, 2 },
	{ TM_UPLINK_RESERVED, dirs, 2 },
	{ TM_DP_QUEUED, tm_class_names, AGENT_TM_CLASS_N },
	{ TM_DP_BACKLOG, tm_queue_names, AGENT_TM_QUEUE_N },
	{ TM_DP_QUEUE_DELAY, tm_class_names, AGENT_TM_CLASS_N },
	{ TM_DP_DROPS, tm_drop_names, AGENT_TM_DROP_N },
	{ TM_DP_EXCEPTIONS, tm_exc_names, AGENT_TM_EXC_N },
	{ TM_DP_ICMP, tm_icmp_names, AGENT_TM_ICMP_N },
	{ TM_DP_RX, tm_rx_names, AGENT_TM_RX_N },
	{ TM_OF_STATE, tm_of_state_names, 3 },
	{ TM_OF_RECONCILE_FLOWS, tm_of_action_names, 3 },
	{ TM_LV_MIGRATIONS, tm_lv_result_names, 2 },
	{ TM_G_MEMBERS, tm_gstate_names, AGENT_TM_GSTATE_N },
	{ TM_G_BYTES, dirs, 2 },
	{ TM_G_REFUSED, tm_grefuse_names, AGENT_TM_GREFUSE_N },
	{ TM_M_AGGREGATED, dirs, 2 },
};

/* The classes admission gives (consensus.h, struct cons_rtpath). */
static const char *const rtpath_classes[][2] = {
	{ "deadline", "5" }, { "deadline", "6" }, { "reservation", "4" }, { "reservation", "5" },
};

static int pin_fixed(struct agent_telemetry *t)
{
	const struct agent_config *cfg = agent_core_config(t->d);
	struct agent_mseries *s;
	char ver[16], id[24];
	int rc;

	snprintf(ver, sizeof(ver), "%d", PROTO_VERSION);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cfg->id);
	rc = pin(t, TM_BUILD_INFO, RTVD_VERSION, ver, &s);
	if (rc == 0) {
		agent_mseries_set(s, 1);
		rc = pin(t, TM_NODE_INFO, id, cfg->name, &s);
	}
	if (rc == 0)
		agent_mseries_set(s, 1);
	for (size_t i = 0; i < sizeof(pin_sets) / sizeof(pin_sets[0]) && rc == 0; i++)
		rc = pin_all(t, pin_sets[i].id, pin_sets[i].names, pin_sets[i].n);
	for (size_t i = 0; i < 4 && rc == 0; i++)
		rc = pin(t, TM_STATE_RTPATHS, rtpath_classes[i][0], rtpath_classes[i][1], NULL);
	for (int f = TM_PATH_RESERVED; f <= TM_PATH_DELAY && rc == 0; f++) {
		rc = pin(t, (enum tm_fam)f, AGENT_M_OTHER, "deadline", NULL);
		if (rc == 0)
			rc = pin(t, (enum tm_fam)f, AGENT_M_OTHER, "reservation", NULL);
	}
	return rc == 0 ? pin_ops(t) : rc;
}

static int register_all(struct agent_telemetry *t)
{
	struct agent_tm_fams *F = t->f;
	int rc;

	for (int id = 0; id < TM_FAM_N; id++) {
		struct agent_mdesc d = defs[id];

		if (per_path((enum tm_fam)id))
			d.cap = agent_core_config(t->d)->metrics_rtpath_cap;
		rc = agent_metrics_add(t->reg, &d, &F->f[id]);
		if (rc < 0) {
			rtv_error("agent", "cannot register metric %s: %s", d.name, strerror(-rc));
			return rc;
		}
	}
	rc = pin_fixed(t);
	if (rc < 0)
		return rc;
	F->commit = agent_mfamily_only(F->f[TM_RAFT_COMMIT_LATENCY]);
	F->forwarded = agent_mfamily_only(F->f[TM_RPC_FORWARDED]);
	F->loop_lag = agent_mfamily_only(F->f[TM_LOOP_LAG]);
	agent_mseries_set(agent_mfamily_only(F->f[TM_M_CAP]), agent_core_config(t->d)->metrics_rtpath_cap);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Loop lag: a timer that measures how late it fires                         */

static void on_lag_timer(uv_timer_t *h)
{
	struct agent_telemetry *t = h->data;
	uint64_t now = uv_hrtime(), due = t->lag_last_ns + LAG_PERIOD_MS * 1000000ull;

	agent_mseries_observe(t->f->loop_lag, now > due ? (double)(now - due) / 1e9 : 0);
	t->lag_last_ns = now;
}

int agent_telemetry_init(struct agent_telemetry *t, struct rtvd *d)
{
	struct timespec ts;
	int rc;

	memset(t, 0, sizeof(*t));
	t->d = d;
	clock_gettime(CLOCK_REALTIME, &ts);
	t->start_time_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (!(t->f = calloc(1, sizeof(*t->f))))
		return -ENOMEM;
	rc = agent_metrics_new(&t->reg);
	if (rc == 0)
		rc = register_all(t);
	if (rc < 0)
		return rc;
	uv_timer_init(agent_core_loop(d), &t->lag_timer);
	t->lag_timer.data = t;
	t->timer_open = true;
	t->lag_last_ns = uv_hrtime();
	uv_timer_start(&t->lag_timer, on_lag_timer, LAG_PERIOD_MS, LAG_PERIOD_MS);
	return 0;
}

void agent_telemetry_close(struct agent_telemetry *t)
{
	if (t->timer_open && !uv_is_closing((uv_handle_t *)&t->lag_timer))
		uv_close((uv_handle_t *)&t->lag_timer, NULL);
}

void agent_telemetry_free(struct agent_telemetry *t)
{
	free(t->rows);
	t->rows = NULL;
	agent_metrics_free(t->reg);
	free(t->f);
	t->reg = NULL;
	t->f = NULL;
}

int agent_telemetry_render(struct agent_telemetry *t, struct agent_mbuf *b)
{
	uint64_t t0 = uv_hrtime();
	int rc;

	if (!t->reg)
		return -ESHUTDOWN;
	tm_set(t, TM_M_RENDER, t->last_render_s);
	tm_set(t, TM_M_SERIES, (double)agent_metrics_n_rendered(t->reg));
	rc = tm_collect(t);
	if (rc == 0)
		rc = agent_metrics_render(t->reg, b);
	t->last_render_s = (double)(uv_hrtime() - t0) / 1e9;
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Hooks                                                                     */

/* In flight: client requests started and not answered yet. */
void agent_tm_request(struct agent_telemetry *t, const struct agent_req_ev *ev)
{
	size_t op = 0;
	int cls;

	if (!t->f)
		return;
	switch (ev->type) {
	case AGENT_REQ_STARTED:
		t->in_flight++;
		return;
	case AGENT_REQ_FORWARDED:
		agent_mseries_add(t->f->forwarded, 1);
		return;
	case AGENT_REQ_COMMITTED:
		agent_mseries_observe(t->f->commit, (double)ev->commit_ns / 1e9);
		return;
	case AGENT_REQ_DONE:
		break;
	}
	if (ev->started) {
		t->in_flight--;
		op = (size_t)ev->op < TM_N_AGENT_OPS ? (size_t)ev->op : 0;
	}
	cls = agent_client_exit_code(ev->status);
	if (cls < 0 || cls >= TM_RPC_CLASSES)
		cls = PROTO_EXIT_UNAVAILABLE;
	agent_mseries_add(t->f->rpc[op][cls], 1);
}

void agent_tm_applied(struct agent_telemetry *t, const struct cons_cmd *cmd,
		      const struct cons_result *res)
{
	int o = res->status == 0 ? 0 : res->status == CONS_EREFUSED ? 1 : 2;

	if (t->f && cmd->op >= CONS_OP_HOST_ADD && (size_t)cmd->op < TM_N_CONS_OPS)
		agent_mseries_add(t->f->applied[cmd->op][o], 1);
}
