/* telemetry_internal.h — shared by telemetry.c (definitions, hooks) and
 * telemetry_collect.c (what is read at each scrape). Private to them. */
#ifndef RTV_AGENT_TELEMETRY_INTERNAL_H
#define RTV_AGENT_TELEMETRY_INTERNAL_H

#include "agent/telemetry/telemetry.h"

/* One entry per metric family, in the order of docs/metrics.md. */
enum tm_fam {
	/* build, node */
	TM_BUILD_INFO, TM_NODE_INFO,
	/* Raft */
	TM_RAFT_ROLE, TM_RAFT_IS_LEADER, TM_RAFT_LEADER_NODE, TM_RAFT_TERM,
	TM_RAFT_COMMIT_INDEX, TM_RAFT_APPLIED_INDEX, TM_RAFT_LAST_INDEX,
	TM_RAFT_LEADER_CHANGES, TM_RAFT_PEERS, TM_RAFT_FOLLOWER_LAG,
	TM_RAFT_COMMIT_LATENCY, TM_RAFT_APPLIED_CMDS,
	/* RPC */
	TM_RPC_REQUESTS, TM_RPC_FORWARDED, TM_RPC_IN_FLIGHT, TM_RPC_WAITING,
	/* trust: refusals */
	TM_TLS_REFUSED, TM_RPC_READ_ONLY_REFUSED, TM_SEALED_REFUSED,
	/* replicated state */
	TM_STATE_HOSTS, TM_STATE_VMS, TM_STATE_LINKS, TM_STATE_RTPATHS,
	TM_LINK_CAPACITY, TM_LINK_BUDGET, TM_LINK_RESERVED,
	TM_UPLINK_CAPACITY, TM_UPLINK_BUDGET, TM_UPLINK_RESERVED,
	/* per rtpath: sender side */
	TM_PATH_RESERVED, TM_PATH_DEADLINE, TM_PATH_LEVEL,
	TM_PATH_TX_PKTS, TM_PATH_TX_BYTES, TM_PATH_TX_EXCEEDED,
	/* per rtpath: receiver side */
	TM_PATH_RX_PKTS, TM_PATH_MISSES, TM_PATH_LATENESS, TM_PATH_DELAY,
	/* host dataplane */
	TM_DP_PACER, TM_DP_SENT_FRAMES, TM_DP_SENT_BYTES, TM_DP_QUEUED, TM_DP_BACKLOG,
	TM_DP_QUEUE_DELAY, TM_DP_DROPS, TM_DP_EXCEPTIONS, TM_DP_DEMOTED, TM_DP_TOLERATED,
	TM_DP_TOLERANCE, TM_DP_LATE_PAST_LABEL, TM_DP_OVERTAKES,
	TM_DP_ICMP, TM_DP_RX, TM_DP_MISSES, TM_DP_REPORTS_LOST, TM_DP_TABLE_SWAPS,
	TM_DP_PROCESS_UP, TM_DP_DEGRADED, TM_DP_TAKEOVERS,
	/* OpenFlow */
	TM_OF_STATE, TM_OF_FLOWS, TM_OF_RECONCILES, TM_OF_RECONCILE_FLOWS,
	/* libvirt */
	TM_LV_MIGRATIONS, TM_LV_RELEASED,
	/* gossip */
	TM_G_MEMBERS, TM_G_HEALTH, TM_G_BYTES, TM_G_REFUSED, TM_G_PROBES, TM_G_PROBE_FAILURES,
	TM_G_SUSPICIONS, TM_G_REFUTATIONS, TM_G_DEATHS, TM_G_AUTOPILOT,
	/* process */
	TM_PROC_RSS, TM_PROC_FDS, TM_PROC_CPU, TM_PROC_START, TM_LOOP_LAG,
	/* the metrics endpoint itself */
	TM_M_RENDER, TM_M_SERIES, TM_M_CAP, TM_M_AGGREGATED,
	TM_FAM_N
};

/* Label values behind the enums of telemetry.h and below. */
#define TM_RPC_CLASSES 4	/* rtvctl's exit codes: ok refused invalid unavailable */
#define TM_OUTCOMES 3		/* ok refused error */
#define TM_N_AGENT_OPS (AGENT_OP_TRANSFER + 1)	/* 0: a request that did not decode */
#define TM_N_CONS_OPS (CONS_OP_NOOP + 1)

extern const char *const tm_rpc_class_names[TM_RPC_CLASSES];
extern const char *const tm_outcome_names[TM_OUTCOMES];
extern const char *const tm_class_names[AGENT_TM_CLASS_N];
extern const char *const tm_queue_names[AGENT_TM_QUEUE_N];
extern const char *const tm_drop_names[AGENT_TM_DROP_N];
extern const char *const tm_exc_names[AGENT_TM_EXC_N];
extern const char *const tm_icmp_names[AGENT_TM_ICMP_N];
extern const char *const tm_rx_names[AGENT_TM_RX_N];
extern const char *const tm_seal_names[AGENT_TM_SEAL_N];
extern const char *const tm_of_state_names[3];
extern const char *const tm_lv_result_names[2];	/* committed, aborted */
extern const char *const tm_of_action_names[3];	/* reconcile: add, modify, delete */
extern const char *const tm_gstate_names[AGENT_TM_GSTATE_N];
extern const char *const tm_grefuse_names[AGENT_TM_GREFUSE_N];

struct agent_tm_fams {
	struct agent_mfamily *f[TM_FAM_N];
	/* hot series, resolved once */
	struct agent_mseries *rpc[TM_N_AGENT_OPS][TM_RPC_CLASSES];
	struct agent_mseries *applied[TM_N_CONS_OPS][TM_OUTCOMES];
	struct agent_mseries *commit, *forwarded, *loop_lag;
};

/* telemetry_collect.c: refreshes every family read at a scrape. Returns 0
 * or -ENOMEM. */
int tm_collect(struct agent_telemetry *t);

/* The series of family `id` with these label values (NULL-terminated list
 * of strings), or NULL without memory. */
struct agent_mseries *tm_series(struct agent_telemetry *t, enum tm_fam id, ...);
/* Sets the family's only series. */
void tm_set(struct agent_telemetry *t, enum tm_fam id, double v);

#endif /* RTV_AGENT_TELEMETRY_INTERNAL_H */
