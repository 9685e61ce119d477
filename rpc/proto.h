/* proto.h — the RPC protocol between rtvctl and rtvd, and between agents.
 *
 * Transport: nng req/rep (rtvd's rep socket uses contexts, so many requests
 * are served at once). rtvd listens on an ipc:// socket for the local CLI
 * (mode 0660, root or the configured group) and on tcp:// for other agents.
 *
 * Every message is one msgpack map. Unknown keys are ignored (forward
 * compatibility); missing or mistyped required keys are an error.
 *
 * Request:
 *   "v"    uint   PROTO_VERSION (a higher major is refused with -EPROTONOSUPPORT)
 *   "op"   str    one of the PROTO_OP_* names below
 *   "fwd"  bool   set by an agent forwarding to the leader: never forwarded again
 *   "lin"  bool   reads: linearizable (served by the leader after a barrier)
 *                 instead of locally (stale, labelled so)
 *   "wait_ms" uint optional: how long the sender will wait for this reply.
 *                 rtvd answers a little before (waiting for an election at
 *                 most that long, then -EAGAIN saying why), so a client with
 *                 short attempts still gets the reason rather than a timeout.
 *                 Without it rtvd waits up to its [rpc] leader_wait (3 s).
 *   ... op arguments
 *
 * Reply:
 *   "v"       uint
 *   "status"  int    0, a negative errno, or CONS_EREFUSED (admission said no)
 *   "err"     str    present when status != 0: a sentence for the user
 *   "node"    uint   id of the agent that answered
 *   "leader"  uint   the leader it knows (0 = none)
 *   "stale"   bool   reads served from a replica without a barrier
 *   "index"   uint   applied index of the state the answer comes from
 *   ... op results
 *
 * Operations (arguments → results):
 *   submit   "cmd": bin, a cons_cmd encoded by cons_cmd_encode (with the
 *            client's client_id/seq for exactly-once retries)
 *            → "id" (rtpath id for reservations), "dup" bool
 *            Any agent accepts it and forwards it to the leader.
 *   paths    ["id": uint]  → "paths": [path maps (cons_pack_path) + "stats"]
 *            "stats" (only on paths the answering agent's dataplane sends or
 *            receives; its own figures, see "node"): a map with
 *              "side" "sender"|"receiver", "packets", "misses" (receiver:
 *              counted; sender: reported to it), "worst_late_ns", "level"
 *              (committed), "boost" (the sender's local boost on top);
 *              sender: "bytes", "demoted", "policed", "too_big", "reports"
 *              (miss reports received), "uncertainty_ns" (the receiver's
 *              clock bound), "escalations_proposed", "escalations_committed",
 *              "escalations_refused";
 *              receiver: one-way delay "delay_count", "delay_min_ns",
 *              "delay_mean_ns", "delay_p50_ns", "delay_p99_ns",
 *              "delay_p999_ns", "delay_max_ns" (log-linear histogram: within
 *              3.1 % above), "reports_sent".
 *   hosts    → "hosts": [host maps]
 *   links    → "links": [link maps]
 *   vms      → "vms": [vm maps]
 *   status   → "role" str, "term", "leader", "leader_addr", "commit", "applied",
 *              "last", "leader_changes", "peers": [{"id","addr","voter",
 *              "standby","match","lag"}], "name", "version",
 *              "dataplane" (with [dataplane] enabled): {"int_dev", "uplink_dev",
 *              "running", the dataplane threads' "tx_sent_frames",
 *              "tx_rt_frames", "tx_nrt_frames", "rx_popped", "rx_misses",
 *              "rx_unknown_path", "paths_sent", "paths_received",
 *              "table_builds", "table_errors", as a receiver
 *              "misses_drained", "reports_sent", "dgrams_sent", "send_errors",
 *              "reports_unroutable", as a sender "dgrams_received",
 *              "dgrams_bad", "dgrams_unauth", "dgrams_replayed" (sealing on:
 *              refused as forged / replayed), "reports_received", "reports_applied",
 *              "reports_dup", "reports_rejected", "misses_reported",
 *              "boosts_raised", "boosts_lowered", "escalations_proposed",
 *              "escalations_committed", "escalations_refused",
 *              "escalations_failed"} (agent/dataplane/dataplane.h),
 *              "gossip" (with [gossip]): {"health", "sealed" yes|no,
 *              "rx_refused", "suspicions", "refutations", "deaths",
 *              "autopilot" on|off, "autopilot_replacements", "members":
 *              [{"name", "addr", "state" alive|suspect|dead|left,
 *              "incarnation", "last_heard_ms" (-1: never), "state_for_ms",
 *              "facts_seq", "cpu_ppm", "mem_total_bytes", "mem_avail_bytes",
 *              "uplink_bps", "uplink_util_ppm", "rt_reserved_bps",
 *              "vm_count", "dp_miss_count", "version", "raft_id" (0: no
 *              host record), "raft_role" voter|standby|spare|none, "raft_contact"
 *              yes|no (leader) or unknown}]} (agent/gossip/)
 *   members_add     "id" uint, "raft_addr" str, "voter" bool → (leader only; forwarded)
 *   members_remove  "id" uint → (forwarded)
 *   transfer        ["to" uint] → (forwarded)
 *
 * Between agents, besides this RPC: miss reports, one msgpack map per UDP
 * datagram to [dataplane] miss_port, DSCP CS6 (agent/dataplane/missrep.h).
 *
 * Exit codes of rtvctl derived from status: 0 ok; 1 refused (CONS_EREFUSED,
 * -ENOENT, -EEXIST, -EBUSY: valid request the rack cannot grant; -EPERM: a
 * change asked on the read-only listener); 2 usage
 * (local parse errors, -EINVAL); 3 unavailable (no leader within the
 * timeout, connection refused, timeout: -EAGAIN, -ETIMEDOUT, -ECONNREFUSED,
 * -EHOSTUNREACH, -ESHUTDOWN (that rtvd is stopping), CONS_ENOTLEADER).
 */
#ifndef RTV_AGENT_PROTO_H
#define RTV_AGENT_PROTO_H

#define PROTO_VERSION 1

#define PROTO_OP_SUBMIT "submit"
#define PROTO_OP_PATHS "paths"
#define PROTO_OP_HOSTS "hosts"
#define PROTO_OP_LINKS "links"
#define PROTO_OP_VMS "vms"
#define PROTO_OP_STATUS "status"
#define PROTO_OP_MEMBERS_ADD "members_add"
#define PROTO_OP_MEMBERS_REMOVE "members_remove"
#define PROTO_OP_TRANSFER "transfer"

/* rtvctl exit codes */
#define PROTO_EXIT_OK 0
#define PROTO_EXIT_REFUSED 1
#define PROTO_EXIT_USAGE 2
#define PROTO_EXIT_UNAVAILABLE 3

/* Largest request or reply rtvd accepts (nng's recvmaxsz). */
#define PROTO_MAX_MSG_BYTES (16u << 20)

#endif
