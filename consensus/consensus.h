/* consensus.h — the rack's replicated state: hosts, topology, VMs, rtpaths.
 *
 * Three layers, each usable alone:
 *
 *  1. Commands and their msgpack codec (cmd.c, codec.c). Every change to the
 *     state is a struct cons_cmd, encoded as a msgpack map carrying a format
 *     version ("v") and an operation name ("op"). The decoder validates every
 *     field and copies out of the buffer; a malformed command is rejected with
 *     a message, never half-applied.
 *
 *  2. The state machine (state.c, topo.c, cadmit.c). Pure and deterministic:
 *     no clock, no randomness, no I/O, integer arithmetic only, so every
 *     replica that applies the same log reaches the same state. Admission of
 *     rtpaths runs inside apply using sched/'s admission math on every link
 *     of the path. Client requests carry (client_id, seq); a retried request
 *     returns the first answer and never applies twice.
 *
 *  3. The Raft node (fsm.c, node.c): libraft 0.15 + raft_uv + TCP transport
 *     (plain, or mutual TLS from the rack CA: transport_tls.c) on the
 *     caller's libuv loop, wrapping the state machine as a raft_fsm,
 *     with snapshots, membership changes (voters and standbys) and leadership
 *     transfer.
 *
 * Addresses are IPv4 in host byte order. Names are NUL-terminated and fit
 * their arrays (the decoder refuses longer ones).
 *
 * Errors: 0 or a negative errno; functions that can fail on user input take
 * an `err` buffer of CONS_ERRLEN bytes that receives a sentence saying what
 * was wrong.
 */
#ifndef RTV_CONSENSUS_H
#define RTV_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONS_FORMAT_VERSION 1
#define CONS_ERRLEN 256
#define CONS_NAME_MAX 64	/* bytes, including the NUL */
#define CONS_ADDR_MAX 96
#define CONS_VM_IPS_MAX 4
#define CONS_VM_MACS_MAX 4

/* What validation allows (commands, records, snapshots). */
#define CONS_RATE_MAX_BPS 1000000000000ull	/* 1 Tbit/s: link capacities and rates */
#define CONS_RATE_MIN_BPS 1000ull		/* rtpath min rate */
#define CONS_DEADLINE_MAX_NS 500000000ull	/* 500 ms: the MPLS label wraps at 2^20 µs */
#define CONS_DEADLINE_MIN_NS 1000ull
#define CONS_BURST_MAX_BYTES (64ull << 20)
#define CONS_FRAME_MIN_BYTES 64
#define CONS_FRAME_MAX_BYTES 65535
#define CONS_HOP_LATENCY_MAX_NS 10000000ull	/* 10 ms */
#define CONS_PPM 1000000u

/* Defaults applied by the state machine. */
#define CONS_UPLINK_DEFAULT "tor"		/* host.uplink_to when empty */
#define CONS_HOP_LATENCY_DEFAULT_NS 50000ull	/* latency budget of a host uplink edge */
/* escalation never queues below this: 50 µs of EDF deadline beyond the
 * scheduling margin (CONS_EDF_MARGIN_NS, below) */
#define CONS_ESCALATE_FLOOR_NS (CONS_EDF_MARGIN_NS + 50000ull)
#define CONS_DEDUP_MAX 65536			/* clients remembered (LRU by apply index) */

/* Admission in wire terms (cadmit.c). Requests speak VM frame terms: rate,
 * burst and max_pkt count the bytes of the Ethernet frames a VM sends (no
 * FCS). On every link an RT frame costs CONS_WIRE_OVERHEAD_BYTES more: the
 * MPLS deadline label and the preamble, FCS and inter-frame gap. A path
 * (r, b, M) therefore buys, with o = CONS_WIRE_OVERHEAD_BYTES,
 *     wire rate W(x) = ⌈x·(M+o)/M⌉ for a frame rate x,
 *     wire burst B = b + ⌈b/M⌉·o, wire packets of M + o bytes
 * (sched_wire_rate_bps, sched_wire_burst_bytes), and the sending dataplane
 * enforces exactly that: its policer is a token bucket of (W(r), B) that
 * charges every frame its length + o. A frame smaller than M pays its o out
 * of the same tokens, so a flow of small packets gets fewer frame bits/s
 * than r through it and must declare a max_pkt_bytes close to its real
 * packets to get its rate; it can never put more on the wire than W(r).
 * Admission counts those wire amounts everywhere:
 *   - link reservations (cons_link.reserved_*_bps) are wire rates: W(r) for
 *     a deadline path, W(R) for a reservation path;
 *   - the EDF test of the sender's uplink runs over the wire envelopes with
 *     each deadline cut by CONS_EDF_MARGIN_NS, blocking max_frame_bytes +
 *     SCHED_ETH_OVERHEAD_BYTES (an NRT frame; the flows' own M + o count
 *     too);
 *   - RFC 2212 (reservation type) runs on (W(r), p = uplink, B, M + o) with
 *     Ctot = max_frame_bytes + o and Dtot = net + CONS_TX_AHEAD_MAX_NS; R is
 *     kept in frame terms, the smallest frame rate whose W(R) meets the bound;
 *   - the network budget counts one wire frame (max_frame_bytes + o) per
 *     store-and-forward hop.
 * The margin: the dataplane's EDF wheel orders deadlines at a resolution of
 * CONS_EDF_BUCKET_NS (so it is exact EDF on deadlines up to one bucket
 * early), and its I/O thread may commit frames to the wire up to its
 * tx_ahead_ns before the pacer's slot: a frame that arrives just after is
 * queued behind at most that much committed work, which EDF did not order.
 * With the dataplane configured within these bounds (pacer at the host's
 * uplink_bps with overhead SCHED_ETH_OVERHEAD_BYTES, edf_bucket_ns <=
 * CONS_EDF_BUCKET_NS, tx_ahead_ns <= CONS_TX_AHEAD_MAX_NS — rtvd's config
 * refuses more —, NRT frames <= the host's max_frame_bytes) every set of
 * paths admitted here passes the dataplane's own wire-terms audit
 * (dp_table_wire_admissible) when no local boost is applied; tests/unit/
 * test_cons_state.c checks that. A path's deadline must exceed
 * net + CONS_EDF_MARGIN_NS.
 * Why 250 µs ahead: the dataplane's I/O thread sleeps until its pacer's
 * next slot, and a timer wake-up comes late by the platform's latency —
 * on the lab's virtual machines p50 44 µs, p99 95 µs, more under load —
 * during which a pacer that had committed less than that leaves the link
 * idle. TCP throughput through the lab's dataplane as a fraction of a
 * direct path's (bench dpnet, 100 Mbit/s, median of 3 pairs, one run):
 * 20 µs 0.71, 60 µs 0.76, 100 µs 0.90, 150 µs 0.97, 250 µs 0.99 (that
 * last one with the machine busy). 250 µs keeps the 0.90 when
 * wake-ups come later than on an idle machine. It costs every deadline
 * 250 µs, which ms-scale deadlines (the paper's are 5 and 10 ms) afford.
 * It is a rack-wide constant, not a per-host setting, because every
 * replica must reach the same verdicts from the replicated state alone. */
#define CONS_MPLS_LABEL_BYTES 4
#define CONS_WIRE_OVERHEAD_BYTES (CONS_MPLS_LABEL_BYTES + 24)	/* + SCHED_ETH_OVERHEAD_BYTES */
#define CONS_EDF_BUCKET_NS 1000ull			/* the MPLS label's 1 µs resolution */
#define CONS_TX_AHEAD_MAX_NS 250000ull			/* the dataplane's tx_ahead_ns at most */
#define CONS_EDF_MARGIN_NS (CONS_EDF_BUCKET_NS + CONS_TX_AHEAD_MAX_NS)

/* Status codes beyond errno, returned in struct cons_result.status. */
#define CONS_EREFUSED 1001	/* admission refused the request (message says why) */
#define CONS_ENOTLEADER 1002	/* this node is not the leader (submit) */

/* ------------------------------------------------------------------------- */
/* The state's records                                                       */

enum cons_host_role { CONS_HOST_VOTER = 0, CONS_HOST_STANDBY = 1 };
/* "voter", "standby": the one table of these names (codec, CLI, metrics). */
extern const char *const cons_host_role_names[2];

struct cons_host {
	uint64_t id;			/* Raft server id, > 0 */
	char name[CONS_NAME_MAX];	/* also its topology node name */
	char raft_addr[CONS_ADDR_MAX];	/* "ip:port" of raft_uv's TCP transport */
	char rpc_addr[CONS_ADDR_MAX];	/* nng URL of its agent, "tcp://ip:port" */
	uint64_t uplink_bps;		/* > 0 */
	uint32_t rt_budget_ppm;		/* share of every link RT may reserve, 1..1e6 */
	uint32_t max_frame_bytes;	/* largest frame on its uplink (NRT blocking) */
	char uplink_to[CONS_NAME_MAX];	/* switch its uplink goes to ("tor" default) */
	enum cons_host_role role;
	uint64_t uplink_latency_ns;	/* latency budget of its uplink edge: what its
					 * own switch adds to a frame; 0 =
					 * CONS_HOP_LATENCY_DEFAULT_NS. Encoded only
					 * when not 0 (older logs lack it) */
};

/* A topology edge between two named nodes (hosts or switches). A switch is
 * any node name that is not a host. Hosts get their uplink edge implicitly
 * from host_add (capacity uplink_bps both ways); link_set adds or changes
 * switch-to-switch (or any) edges, e.g. for seed 001's tree of switches. */
struct cons_link {
	char a[CONS_NAME_MAX], b[CONS_NAME_MAX];	/* a < b (strcmp) */
	uint64_t capacity_ab_bps, capacity_ba_bps;
	uint32_t rt_budget_ppm;
	uint64_t hop_latency_ns;	/* fixed per-hop delay budgeted in Dtot */
	/* derived, not replicated: RT rate reserved per direction, in wire
	 * bits/s (see "Admission in wire terms") */
	uint64_t reserved_ab_bps, reserved_ba_bps;
};

struct cons_vm {
	char uuid[CONS_NAME_MAX];
	char name[CONS_NAME_MAX];
	uint64_t host_id;
	uint32_t ips[CONS_VM_IPS_MAX];
	uint8_t n_ips;
	uint8_t macs[CONS_VM_MACS_MAX][6];
	uint8_t n_macs;
	char tenant[CONS_NAME_MAX];
	uint32_t mtu;		/* its ports' MTU as its host's switch reports it
				 * (docs/mtu.md); 0 unknown. Encoded only when
				 * not 0 (older logs lack it) */
};

enum cons_path_type { CONS_PATH_DEADLINE = 1, CONS_PATH_RESERVATION = 2 };

/* What a sending agent does about misses reported by the receiver: boost at
 * once locally; after `misses` misses or `after_ns` of persisting misses
 * (whichever first), propose escalation one level up, to at most max_level. */
struct cons_miss_policy {
	uint32_t misses;	/* 0 = count threshold off */
	uint64_t after_ns;	/* 0 = time threshold off; the paper waited 20 s */
	uint8_t max_level;	/* <= SCHED_ESCALATION_MAX */
};

/* What a client asks for. */
struct cons_path_req {
	uint32_t src_ip, dst_ip;
	uint8_t proto;		/* 0 any, 6 TCP, 17 UDP */
	uint16_t dport;		/* 0 any */
	enum cons_path_type type;
	uint64_t rate_bps;	/* min rate r, > 0 */
	uint64_t burst_bytes;	/* max burst b, >= max_pkt_bytes; 0 = one max packet */
	uint64_t deadline_ns;	/* end-to-end, > 0 */
	uint32_t max_pkt_bytes;	/* 0 = the source host's max_frame_bytes */
	struct cons_miss_policy policy;
	char owner[CONS_NAME_MAX];
};

/* An admitted rtpath.
 *
 * Classes (TC 7 is rtvd's own control traffic, 0 is NRT):
 *   type          level 0            level >= 1
 *   deadline      TC 5, DSCP 46 EF   TC 6
 *   reservation   TC 4, DSCP 34 AF41 TC 5
 * The DSCP stays; escalation raises the MPLS TC by one, and tightens the
 * sender's EDF deadline (deadline type) or R (reservation type) as far as
 * admission allows — possibly not at all: the class alone always fits
 * (cadmit.c, (e)).
 *
 * Admission (cadmit.c) pins the route (shortest by hops over the topology);
 * net_budget_ns = the first hop's latency + Σ over the later hops of (one
 * wire frame, the source host's max_frame_bytes + CONS_WIRE_OVERHEAD_BYTES,
 * at that link's rate + its hop latency). A same-host path crosses no link:
 * net_budget 0, no link checks (its traffic stays inside the host's
 * switch). Rates here (rate_bps, service_rate_*) are frame rates; what a
 * path takes of each link is their wire rate (above). */
struct cons_rtpath {
	uint64_t id;		/* assigned by apply, increasing from 1 */
	struct cons_path_req req;	/* as admitted: max_pkt and burst filled in */
	uint64_t src_host, dst_host;
	uint8_t tc;		/* MPLS traffic class (3 bits) */
	uint8_t dscp;		/* DSCP stamped on the inner IP header */
	uint64_t service_rate_bps;	/* R: reservation type, chosen by admission
					 * (escalated); deadline type: rate_bps */
	uint64_t service_rate_base_bps;	/* R at level 0 */
	uint64_t sched_deadline_ns;	/* EDF key offset: escalated, minus network budget */
	uint64_t net_budget_ns;	/* budget of the hops after the sender's uplink */
	uint8_t level;		/* escalation level */
	uint64_t admitted_index;	/* log index that admitted it */
};

/* ------------------------------------------------------------------------- */
/* Commands                                                                  */

enum cons_op {
	CONS_OP_HOST_ADD = 1,	/* add or update a host (its uplink edge too) */
	CONS_OP_HOST_REMOVE,	/* refused while rtpaths use it */
	CONS_OP_LINK_SET,
	CONS_OP_LINK_REMOVE,
	CONS_OP_VM_SET,		/* add or move/update a VM */
	CONS_OP_VM_REMOVE,
	CONS_OP_PATH_RESERVE,
	CONS_OP_PATH_RELEASE,
	CONS_OP_PATH_ESCALATE,	/* to level `level` (<= the path's policy.max_level):
				 * its class, and the tightening admission allows */
	CONS_OP_NOOP,		/* barrier / testing */
	CONS_OP_VM_MIGRATE,	/* a live migration's record: prepare, commit, abort
				 * (see "Live migration" below) */
};

/* Live migration (mig.c). One record per migrating VM, make-before-break:
 *   prepare (uuid, to): every rtpath of the VM is admitted again on the
 *     route it will have once the VM runs on host `to` — a shadow of the
 *     path, charged on every link of its new route and in the new sender's
 *     EDF test — while the path itself keeps its old route reserved. All or
 *     nothing: if one shadow does not fit, the answer (CONS_EREFUSED) names
 *     the path, the link and its limit, and nothing changes. Refused
 *     (-EBUSY) when the VM already migrates; (-EINVAL) when `to` is its host.
 *   commit (uuid): the VM's host becomes `to`; each rtpath keeps its id and
 *     takes its shadow's route (escalation starts again at level 0); the old
 *     routes' reservations are released.
 *   abort (uuid): the shadows are released; the VM and its rtpaths are
 *     exactly as before prepare.
 * While a record exists, commands that would change the VM or its rtpaths
 * (vm_set/vm_remove of the VM, path_reserve/release/escalate touching it)
 * are refused with -EBUSY. commit and abort without a record: -ENOENT. */
enum cons_mig_phase { CONS_MIG_PREPARE = 1, CONS_MIG_COMMIT, CONS_MIG_ABORT };
/* "prepare", "commit", "abort" */
const char *cons_mig_phase_name(enum cons_mig_phase p);

struct cons_mig_req {
	char uuid[CONS_NAME_MAX];
	enum cons_mig_phase phase;
	uint64_t to_host;		/* prepare only (0 otherwise) */
};

/* A migration in progress, as the state holds it. */
struct cons_mig {
	char uuid[CONS_NAME_MAX];
	uint64_t from_host, to_host;
	uint64_t prepared_index;	/* log index of its prepare */
	uint32_t n_paths;		/* rtpaths that follow the VM */
};

struct cons_cmd {
	enum cons_op op;
	uint64_t client_id;	/* 0 = no deduplication */
	uint64_t seq;		/* per client, increasing */
	union {
		struct cons_host host;		/* HOST_ADD */
		struct cons_link link;		/* LINK_SET, LINK_REMOVE (a, b) */
		struct cons_vm vm;		/* VM_SET, VM_REMOVE (uuid) */
		struct cons_path_req path;	/* PATH_RESERVE */
		struct cons_mig_req mig;	/* VM_MIGRATE */
		struct {
			uint64_t id;		/* HOST_REMOVE, PATH_RELEASE */
			uint8_t level;		/* PATH_ESCALATE */
		} ref;
	} u;
};

/* The answer to a command, the same on every replica. */
struct cons_result {
	int status;		/* 0, -errno, or CONS_EREFUSED */
	char err[CONS_ERRLEN];	/* why, when status != 0 */
	uint64_t id;		/* the rtpath id for PATH_RESERVE */
	uint64_t index;		/* log index at which it was applied */
	bool duplicate;		/* answered from the deduplication table */
};

/* Wire format (cmd.c): one msgpack map
 *   {"v": 1, "op": "path_reserve", "cid": uint, "seq": uint, ...}
 * with, per op: host_add "host": host map; host_remove "id"; link_set
 * "link": link map; link_remove "a", "b"; vm_set "vm": vm map; vm_remove
 * "uuid"; path_reserve "path": request map (the fields of struct
 * cons_path_req by name, "policy" a map); path_release "id"; path_escalate
 * "id", "level"; vm_migrate "mig": {"uuid", "phase", "to"}; noop nothing. IPv4 addresses are dotted strings, MACs
 * "aa:bb:cc:dd:ee:ff", enums strings ("deadline", "voter"). Unknown keys
 * are ignored; every known key is required and type- and range-checked.
 *
 * Encodes cmd into a malloc'd buffer (*buf, *len); the caller frees it.
 * Returns 0, -EINVAL (invalid command: see err) or -ENOMEM. */
int cons_cmd_encode(const struct cons_cmd *cmd, void **buf, size_t *len,
		    char err[CONS_ERRLEN]);
/* Decodes and validates a command. Copies everything out of buf. Returns 0
 * or -EINVAL / -EPROTO (err says which field and why). */
int cons_cmd_decode(const void *buf, size_t len, struct cons_cmd *cmd,
		    char err[CONS_ERRLEN]);
const char *cons_op_name(enum cons_op op);

/* ------------------------------------------------------------------------- */
/* The state machine                                                         */

struct cons_state;

int cons_state_new(struct cons_state **out);
void cons_state_free(struct cons_state *s);	/* NULL is a no-op */

/* Applies a decoded command at log index `index` (strictly increasing).
 * Always fills *res. Returns 0 when the command was applied or answered
 * (res->status tells the outcome, including refusals), or a negative errno
 * only on an internal failure (-ENOMEM) after which the state is unchanged.
 *
 * Outcomes in res->status: 0; CONS_EREFUSED (admission, in wire terms: a
 * link's RT budget, the EDF test of the sender's uplink, no service rate R
 * meets the deadline, deadline not above the network budget plus
 * CONS_EDF_MARGIN_NS); -EINVAL (a field out
 * of range); -ENOENT (unknown host, VM IP, path or link; no route);
 * -EEXIST (name or IP owned by another record); -EBUSY (a record still
 * used by rtpaths or VMs); -ESTALE (see below).
 *
 * Deduplication (Raft dissertation §6.3): for client_id != 0 the state
 * keeps the highest seq applied and its result. The same (client_id, seq)
 * again returns that result with duplicate = true and changes nothing; a
 * lower seq returns -ESTALE and changes nothing (a client keeps one request
 * outstanding per client_id, or retries only its latest). At most
 * CONS_DEDUP_MAX clients are kept; the one whose stored result is oldest
 * (lowest index) is forgotten first. An index <= the applied index is
 * answered -EINVAL without any change. */
int cons_state_apply(struct cons_state *s, uint64_t index, const struct cons_cmd *cmd,
		     struct cons_result *res);

/* Serialises the whole state (records, id counters, deduplication table) into
 * a malloc'd buffer. Deterministic: equal states give equal bytes. */
int cons_state_snapshot(const struct cons_state *s, void **buf, size_t *len);
/* Replaces s's contents with a snapshot. Validates everything first: on
 * error s is unchanged. */
int cons_state_restore(struct cons_state *s, const void *buf, size_t len,
		       char err[CONS_ERRLEN]);
/* True if two states hold the same replicated content (tests). */
bool cons_state_equal(const struct cons_state *a, const struct cons_state *b);

/* Reads. Pointers stay valid until the next apply/restore/free. */
uint64_t cons_state_applied_index(const struct cons_state *s);
size_t cons_state_n_hosts(const struct cons_state *s);
const struct cons_host *cons_state_host_at(const struct cons_state *s, size_t i);
const struct cons_host *cons_state_host(const struct cons_state *s, uint64_t id);
size_t cons_state_n_links(const struct cons_state *s);
const struct cons_link *cons_state_link_at(const struct cons_state *s, size_t i);
size_t cons_state_n_vms(const struct cons_state *s);
const struct cons_vm *cons_state_vm_at(const struct cons_state *s, size_t i);
const struct cons_vm *cons_state_vm_by_ip(const struct cons_state *s, uint32_t ip);
size_t cons_state_n_paths(const struct cons_state *s);
const struct cons_rtpath *cons_state_path_at(const struct cons_state *s, size_t i);	/* by id order */
const struct cons_rtpath *cons_state_path(const struct cons_state *s, uint64_t id);
/* Migrations in progress, by uuid (mig.c). */
size_t cons_state_n_migs(const struct cons_state *s);
const struct cons_mig *cons_state_mig_at(const struct cons_state *s, size_t i);
const struct cons_mig *cons_state_mig(const struct cons_state *s, const char *uuid);
/* The route rtpath `id` will take when its VM's migration commits, as
 * cons_state_path_route gives routes; 0 when it has no migration. */
size_t cons_state_mig_route(const struct cons_state *s, uint64_t id, const char **names,
			    size_t max);

/* The route of rtpath `id` as node names, source host first: writes up to
 * max names and returns how many the route has (0: unknown id; 1: a
 * same-host path). */
size_t cons_state_path_route(const struct cons_state *s, uint64_t id, const char **names,
			     size_t max);

/* Invariant check for tests and the fault fixture: no link direction's RT
 * reservations exceed its budget, every sender's uplink passes the EDF test,
 * derived sums match a recount. Returns 0, -EDOM with err filled, or
 * -ENOMEM. */
int cons_state_check(const struct cons_state *s, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* msgpack encoding of the records (codec.c), shared by snapshots, the RPC     */
/* replies of agent/ and rtvctl. Opaque packer/object types keep msgpack.h     */
/* out of this header: pass a msgpack_packer * and a const msgpack_object *.  */

/* Each record is one map keyed by the struct's field names (IPs, MACs and
 * enums as strings; struct cons_rtpath's request fields inline, its policy
 * a nested map; links carry their reserved_* sums, which unpack reads when
 * present and commands and snapshots never rely on).
 * pack: 0 or -ENOMEM. unpack: 0, -EPROTO (not a map, a key missing or of
 * the wrong type) or -EINVAL (a value out of range), err saying which. */
int cons_pack_host(void *pk, const struct cons_host *h);
int cons_pack_link(void *pk, const struct cons_link *l);
int cons_pack_vm(void *pk, const struct cons_vm *vm);
int cons_pack_path(void *pk, const struct cons_rtpath *p);
int cons_unpack_host(const void *obj, struct cons_host *h, char err[CONS_ERRLEN]);
int cons_unpack_link(const void *obj, struct cons_link *l, char err[CONS_ERRLEN]);
int cons_unpack_vm(const void *obj, struct cons_vm *vm, char err[CONS_ERRLEN]);
int cons_unpack_path(const void *obj, struct cons_rtpath *p, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* The Raft node (node.c), on the caller's libuv loop                        */

struct uv_loop_s;
struct cons_node;
struct pki_creds;

struct cons_peer {
	uint64_t id;
	char raft_addr[CONS_ADDR_MAX];
	bool voter;		/* false: standby (non-voting replica) */
};

struct cons_node_config {
	uint64_t id;
	const char *raft_addr;		/* "ip:port" to listen on */
	const char *data_dir;		/* must exist */
	const struct cons_peer *peers;	/* bootstrap configuration, self included; */
	size_t n_peers;			/* 0: join a running cluster (a leader adds it) */
	unsigned election_timeout_ms;	/* rack default 250 (see node.c) */
	unsigned heartbeat_ms;		/* default election_timeout / 5 */
	bool pre_vote;			/* the rack default is true (a zeroed config: off) */
	unsigned snapshot_threshold;	/* entries between snapshots; 0: 4096, staggered by id */
	unsigned snapshot_trailing;	/* entries kept after a snapshot; 0: threshold / 4 */
	/* Raft over mutual TLS (transport_tls.c): peers must hold a certificate
	 * of the rack CA naming rtvd-host-<their id>, and so should this node
	 * (not checked here: the caller compares pki_creds_self). NULL: plain
	 * TCP. The node takes a reference (pki_creds_ref). */
	struct pki_creds *tls;
};

/* Hooks run on the loop thread, from inside raft's processing: they may
 * submit, but must not close or free the node (defer that to a uv handle). */
struct cons_node_hooks {
	void *arg;
	/* the leader or this node's role changed (polled every loop turn) */
	void (*leader_changed)(void *arg, uint64_t leader_id, bool self_is_leader);
	/* a command was applied on this replica (any role) */
	void (*applied)(void *arg, const struct cons_cmd *cmd, const struct cons_result *res);
	/* the state was replaced by a snapshot */
	void (*restored)(void *arg);
};

enum cons_role { CONS_ROLE_UNAVAILABLE, CONS_ROLE_FOLLOWER, CONS_ROLE_CANDIDATE,
		 CONS_ROLE_LEADER };
#define CONS_ROLE_N 4
/* "unavailable", "follower", "candidate", "leader": the one table of these
 * names (status replies, metrics labels). */
extern const char *const cons_role_names[CONS_ROLE_N];

struct cons_peer_status {
	uint64_t id;
	char raft_addr[CONS_ADDR_MAX];
	bool voter, standby;
	uint64_t match_index;	/* known only on the leader (0 elsewhere) */
	uint64_t lag;		/* last_index − match_index on the leader */
	/* leader only: raft heard from it since its last check-quorum round
	 * (every election timeout); a live follower answers heartbeats, so it
	 * is false for more than a round only when the follower is silent */
	bool recent_contact;
};

#define CONS_PEERS_MAX 64
/* Why the TLS transport refused a Raft connection: the certificate's
 * (pki's classes, same order), or Raft's own checks after the handshake. */
enum cons_tls_refusal {
	CONS_TLS_R_UNKNOWN_CA, CONS_TLS_R_EXPIRED, CONS_TLS_R_BAD_NAME, CONS_TLS_R_NO_CERT,
	CONS_TLS_R_NOT_TLS,
	CONS_TLS_R_NOT_HOST,		/* a valid certificate, but no (or another) host's */
	CONS_TLS_R_ID_MISMATCH,		/* claims a Raft id its certificate does not name */
	CONS_TLS_R_PREAMBLE,		/* no valid preamble after the handshake */
	CONS_TLS_R_TIMEOUT,		/* no handshake and preamble in time */
	CONS_TLS_R_N
};
extern const char *const cons_tls_refusal_names[CONS_TLS_R_N];

struct cons_node_status {
	enum cons_role role;
	uint64_t id, term, leader_id;
	char leader_addr[CONS_ADDR_MAX];
	uint64_t commit_index, applied_index, last_index;
	uint64_t leader_changes;	/* seen by this node since start */
	uint64_t tls_refused;		/* Raft connections refused by TLS checks */
	uint64_t tls_refused_by[CONS_TLS_R_N];	/* the same by reason (cons_tls_refusal_names) */
	size_t n_peers;
	struct cons_peer_status peers[CONS_PEERS_MAX];
};

/* status 0 with res filled, or a negative errno / -CONS_ENOTLEADER when the
 * command never reached the log or its outcome is unknown (leadership lost:
 * the client retries with the same (client_id, seq)). res is valid only
 * during the call. */
typedef void (*cons_submit_cb)(void *arg, int status, const struct cons_result *res);
typedef void (*cons_done_cb)(void *arg, int status);

/* Creates the node: raft_uv I/O and TCP transport in cfg->data_dir, the FSM
 * over `state` (which the node does not own; it must outlive the node).
 * Bootstraps from cfg->peers when the data dir is new. Returns 0 or a
 * negative errno with err filled. */
int cons_node_new(struct uv_loop_s *loop, const struct cons_node_config *cfg,
		  struct cons_state *state, const struct cons_node_hooks *hooks,
		  struct cons_node **out, char err[CONS_ERRLEN]);
int cons_node_start(struct cons_node *n);
/* Leader only: appends cmd; cb runs when applied (or failed). Returns 0
 * (cb will run) or -CONS_ENOTLEADER / -EINVAL / -ENOMEM (cb will not run). */
int cons_node_submit(struct cons_node *n, const struct cons_cmd *cmd,
		     cons_submit_cb cb, void *arg);
/* Leader only: cb runs once everything committed before the call is applied
 * here (linearizable reads). */
int cons_node_barrier(struct cons_node *n, cons_done_cb cb, void *arg);
/* Leader only: membership. add: the server joins as a standby, then is
 * promoted to voter if `voter` (once it has caught up with the log). If it is
 * already a member at that address only its role changes (promotion of a
 * standby, demotion of a voter): -EALREADY if it has that role, -EEXIST if it
 * is a member at another address. remove: leaves the configuration. */
int cons_node_add(struct cons_node *n, uint64_t id, const char *raft_addr, bool voter,
		  cons_done_cb cb, void *arg);
int cons_node_remove(struct cons_node *n, uint64_t id, cons_done_cb cb, void *arg);
/* Leader only: hands leadership to the most up-to-date voter (0 = choose).
 * cb: 0 once this node no longer leads, -ETIMEDOUT if no voter took over
 * within an election timeout, -ECANCELED on close; -EALREADY if one is in
 * progress. */
int cons_node_transfer(struct cons_node *n, uint64_t to_id, cons_done_cb cb, void *arg);
/* Renewed credentials (same CA, a new certificate): new connections use
 * them, open ones finish with the old. 0, or -EINVAL if the node was not
 * started with TLS (plaintext and TLS do not mix in a running rack). */
int cons_node_set_tls(struct cons_node *n, struct pki_creds *creds);
void cons_node_status(const struct cons_node *n, struct cons_node_status *out);
const struct cons_state *cons_node_state(const struct cons_node *n);
/* Why the node's last failed call failed (start, submit, add, ...), with
 * raft's own message; "" after a call that succeeded. */
const char *cons_node_errmsg(const struct cons_node *n);
/* Stops Raft and closes its handles; cb runs on the loop when done, after
 * which cons_node_free may be called (after uv_run returns). */
void cons_node_close(struct cons_node *n, void (*cb)(struct cons_node *n));
void cons_node_free(struct cons_node *n);

#endif /* RTV_CONSENSUS_H */
