/* ofgw.h — the OpenFlow gateway: rtvd as the OpenFlow 1.3 controller of its
 * own Open vSwitch bridge (docs/architecture.md, "OpenFlow gateway").
 *
 * OVS connects to us (`ovs-vsctl set-controller br-rtv tcp:127.0.0.1:PORT`,
 * `set-fail-mode br-rtv secure`, so installed flows keep forwarding while
 * rtvd is away). On every connection the gateway negotiates OpenFlow 1.3,
 * learns the datapath id and the bridge's ports, dumps the flow table, diffs
 * it against the flows the current inputs imply, and sends only the
 * difference followed by a barrier: an rtvd restart with unchanged state
 * sends no flow-mod at all, an OVS restart gets every flow back. Later
 * changes of the inputs (a VM port, an rtpath admitted or released) are
 * diffed the same way and become flow-mods for the affected cookies only.
 *
 * Inputs (all copied; the caller keeps ownership of what it passes):
 *   - the configuration below: this host's id and address, the ports of
 *     rtvd's own control traffic, the name of the off-host next hop;
 *   - the VM ports (interface name on the bridge, MAC, IPs), from OVSDB's
 *     Interface external_ids (ofgw/ovsdb.h) and the replicated VMs;
 *   - the rtpaths of the replicated state (struct cons_rtpath).
 * Port numbers are learnt from the switch itself (port-desc, port-status),
 * so names are enough.
 *
 * The pipeline (pipeline.c has the details):
 *   table 0  classification and marking at the edge
 *     60000  rtvd's control traffic from LOCAL: set DSCP CS6, goto 1
 *     500+   rtpath of a local VM, at its port: set the rtpath's DSCP, goto 1
 *     100    any other IPv4 from a VM port: DSCP 0 (a VM cannot claim a
 *            class it did not reserve), goto 1
 *     0      goto 1
 *   table 1  forwarding
 *     300    eth_dst = a VM's MAC -> its port; = LOCAL's MAC -> LOCAL
 *     200    multicast/broadcast eth_dst (ARP, ...) -> FLOOD
 *     100    from a VM port or LOCAL -> the off-host next hop
 *     0      drop
 * so same-host VM<->VM traffic stays in the bridge and off-host traffic
 * leaves through `rtv-int` (rtvd's dataplane) or, while that port is absent,
 * straight through the uplink port.
 *
 * Every flow carries a cookie saying what it belongs to: the top 8 bits are
 * the kind (enum ofgw_cookie_kind), the low 56 bits an id (rtpath id, VM
 * port number, control port). Flows whose cookie is not ours are stale and
 * removed by the next reconciliation: the gateway owns the bridge's tables.
 *
 * The bridge should be set up with protocols including OpenFlow13,
 * fail-mode=secure and other-config:disable-in-band=true. The gateway only
 * listens: OVS dials it and, after a drop, redials with its own backoff
 * (1, 2, 4, 8 s in OVS 3.1; the Controller's max_backoff did not shorten it
 * in our measurements), while its flows keep forwarding. One switch
 * connection is served at a time; a new one replaces the old.
 *
 * Threading: everything runs on the caller's libuv loop; no call blocks.
 * Errors: 0 or a negative errno; calls that can fail on user input fill an
 * `err` buffer of OFGW_ERRLEN bytes with what was wrong.
 */
#ifndef RTV_OFGW_H
#define RTV_OFGW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFGW_ERRLEN 256
#define OFGW_PORT_NAME_MAX 16	/* OFP_MAX_PORT_NAME_LEN, including the NUL */
#define OFGW_ACTIONS_MAX 8	/* actions of one flow's apply_actions */
#define OFGW_CONTROL_PORTS_MAX 8
#define OFGW_VM_IPS_MAX 4

/* Port numbers (OpenFlow 1.3 §7.2.1); physical/virtual ports are 1..MAX. */
#define OFGW_PORT_MAX 0xffffff00u
#define OFGW_PORT_IN_PORT 0xfffffff8u
#define OFGW_PORT_TABLE 0xfffffff9u
#define OFGW_PORT_NORMAL 0xfffffffau
#define OFGW_PORT_FLOOD 0xfffffffbu
#define OFGW_PORT_ALL 0xfffffffcu
#define OFGW_PORT_CONTROLLER 0xfffffffdu
#define OFGW_PORT_LOCAL 0xfffffffeu
#define OFGW_PORT_ANY 0xffffffffu

/* ------------------------------------------------------------------------- */
/* Flows: version-independent structs the codec decodes into and encodes     */
/* from.                                                                     */

/* Match fields present in struct ofgw_match.fields. */
enum {
	OFGW_M_IN_PORT = 1u << 0,
	OFGW_M_ETH_DST = 1u << 1,	/* with eth_dst_mask */
	OFGW_M_ETH_SRC = 1u << 2,	/* with eth_src_mask */
	OFGW_M_ETH_TYPE = 1u << 3,
	OFGW_M_IP_DSCP = 1u << 4,	/* needs eth_type IPv4 or IPv6 */
	OFGW_M_IP_PROTO = 1u << 5,	/* needs eth_type IPv4 or IPv6 */
	OFGW_M_IPV4_SRC = 1u << 6,	/* with ipv4_src_mask; needs eth_type IPv4 */
	OFGW_M_IPV4_DST = 1u << 7,	/* with ipv4_dst_mask; needs eth_type IPv4 */
	OFGW_M_TCP_SRC = 1u << 8,	/* needs ip_proto 6 */
	OFGW_M_TCP_DST = 1u << 9,
	OFGW_M_UDP_SRC = 1u << 10,	/* needs ip_proto 17 */
	OFGW_M_UDP_DST = 1u << 11,
	OFGW_M_MPLS_LABEL = 1u << 12,	/* needs eth_type MPLS (0x8847/0x8848) */
	OFGW_M_MPLS_TC = 1u << 13,
};

/* A flow match. Canonical form, which the setters below and the decoder
 * keep and equality relies on: a field absent from `fields` is all zero;
 * values are stored ANDed with their mask; an exact field has an all-ones
 * mask. Addresses and ports in host byte order. */
struct ofgw_match {
	uint32_t fields;	/* OFGW_M_* */
	uint32_t in_port;
	uint32_t ipv4_src, ipv4_src_mask;
	uint32_t ipv4_dst, ipv4_dst_mask;
	uint32_t mpls_label;	/* 20 bits */
	uint16_t eth_type;
	uint16_t tcp_src, tcp_dst, udp_src, udp_dst;
	uint8_t eth_dst[6], eth_dst_mask[6];
	uint8_t eth_src[6], eth_src_mask[6];
	uint8_t ip_dscp;	/* 6 bits */
	uint8_t ip_proto;
	uint8_t mpls_tc;	/* 3 bits */
	uint8_t n_unknown;	/* OXM fields the decoder does not model */
};

enum ofgw_action_type {
	OFGW_ACT_OUTPUT = 1,	/* port; max_len for CONTROLLER */
	OFGW_ACT_SET_IP_DSCP,	/* value 0..63 */
	OFGW_ACT_SET_MPLS_LABEL,	/* value < 2^20 */
	OFGW_ACT_SET_MPLS_TC,	/* value 0..7 */
	OFGW_ACT_PUSH_MPLS,	/* value = ethertype 0x8847 or 0x8848 */
	OFGW_ACT_POP_MPLS,	/* value = ethertype of the payload, e.g. 0x0800 */
};

struct ofgw_action {
	enum ofgw_action_type type;
	uint32_t value;		/* port, field value or ethertype */
	uint16_t max_len;	/* OUTPUT to CONTROLLER: bytes sent; otherwise 0 */
};

/* What struct ofgw_flow.foreign says about a decoded flow. */
enum {
	OFGW_FOREIGN_MATCH = 1,		/* match has fields we do not model */
	OFGW_FOREIGN_INSTR = 2,		/* instructions or actions we do not model */
};

/* A flow entry: one apply_actions instruction (n_actions > 0) followed by an
 * optional goto_table. Identity in a table is (table_id, priority, match);
 * everything else is the flow's content. */
struct ofgw_flow {
	uint64_t cookie;
	uint8_t table_id;	/* 0..254 */
	uint8_t goto_table;	/* 0: none (a goto must go to a later table) */
	uint8_t n_actions;
	uint8_t foreign;	/* OFGW_FOREIGN_*: decoded, never equal to ours */
	uint16_t priority;
	uint16_t idle_timeout_s, hard_timeout_s;	/* 0: permanent */
	uint16_t flags;		/* OFPFF_* */
	struct ofgw_match match;
	struct ofgw_action actions[OFGW_ACTIONS_MAX];
	/* filled from a flow dump, ignored otherwise */
	uint32_t duration_s;
	uint64_t packet_count, byte_count;
};

/* Match setters: set the field exact (or with a mask) in canonical form. */
void ofgw_match_in_port(struct ofgw_match *m, uint32_t port);
void ofgw_match_eth_type(struct ofgw_match *m, uint16_t eth_type);
void ofgw_match_eth_dst(struct ofgw_match *m, const uint8_t mac[6], const uint8_t mask[6]);
void ofgw_match_eth_src(struct ofgw_match *m, const uint8_t mac[6], const uint8_t mask[6]);
void ofgw_match_ip_dscp(struct ofgw_match *m, uint8_t dscp);
void ofgw_match_ip_proto(struct ofgw_match *m, uint8_t proto);
void ofgw_match_ipv4_src(struct ofgw_match *m, uint32_t ip, uint32_t mask);
void ofgw_match_ipv4_dst(struct ofgw_match *m, uint32_t ip, uint32_t mask);
void ofgw_match_tcp_src(struct ofgw_match *m, uint16_t port);
void ofgw_match_tcp_dst(struct ofgw_match *m, uint16_t port);
void ofgw_match_udp_src(struct ofgw_match *m, uint16_t port);
void ofgw_match_udp_dst(struct ofgw_match *m, uint16_t port);
void ofgw_match_mpls_label(struct ofgw_match *m, uint32_t label);
void ofgw_match_mpls_tc(struct ofgw_match *m, uint8_t tc);
/* Appends an action; -ENOSPC when the flow has OFGW_ACTIONS_MAX already. */
int ofgw_flow_add_action(struct ofgw_flow *f, enum ofgw_action_type type, uint32_t value);

bool ofgw_match_equal(const struct ofgw_match *a, const struct ofgw_match *b);
/* Same identity: table, priority, match. */
bool ofgw_flow_same_key(const struct ofgw_flow *a, const struct ofgw_flow *b);
/* Same identity and content (cookie, timeouts, flags, instructions); dump
 * statistics are ignored; a foreign flow is never the same as another. */
bool ofgw_flow_same(const struct ofgw_flow *a, const struct ofgw_flow *b);
/* Checks a flow before it is encoded: OpenFlow 1.3 prerequisites (§7.2.3.6),
 * value ranges, port numbers, goto_table after table_id. 0 or -EINVAL with
 * a reason in why (may be NULL). */
int ofgw_flow_check(const struct ofgw_flow *f, char *why, size_t whylen);
/* Writes the flow in ovs-ofctl's syntax ("cookie=0x3000000000000007,
 * table=0, priority=501, ip,in_port=2,nw_src=10.0.1.11,...
 * actions=set_field:46->ip_dscp,goto_table:1") and returns buf. */
const char *ofgw_flow_format(const struct ofgw_flow *f, char *buf, size_t len);

/* Cookies: what a flow belongs to. */
enum ofgw_cookie_kind {
	OFGW_COOKIE_BASE = 1,		/* the base pipeline, id 0 */
	OFGW_COOKIE_CONTROL = 2,	/* rtvd's control traffic, id = TCP/UDP port */
	OFGW_COOKIE_RTPATH = 3,		/* an rtpath, id = its id */
	OFGW_COOKIE_VM = 4,		/* a VM port, id = its port number */
};
#define OFGW_COOKIE_ID_MASK 0x00ffffffffffffffull
static inline uint64_t ofgw_cookie(enum ofgw_cookie_kind kind, uint64_t id)
{
	return (uint64_t)kind << 56 | (id & OFGW_COOKIE_ID_MASK);
}
static inline unsigned ofgw_cookie_kind(uint64_t cookie) { return (unsigned)(cookie >> 56); }
static inline uint64_t ofgw_cookie_id(uint64_t cookie) { return cookie & OFGW_COOKIE_ID_MASK; }

/* ------------------------------------------------------------------------- */
/* The gateway                                                               */

struct uv_loop_s;
struct cons_rtpath;
struct ofgw;

/* A port of the bridge as the switch describes it (port-desc). */
struct ofgw_port {
	uint32_t no;
	char name[OFGW_PORT_NAME_MAX];
	uint8_t hw_addr[6];
	uint32_t config, state;		/* OFPPC_*, OFPPS_* */
	uint32_t curr_speed_kbps, max_speed_kbps;
};

/* A VM's interface on the bridge. */
struct ofgw_vm_port {
	char name[OFGW_PORT_NAME_MAX];	/* Interface name, e.g. "vnet3" */
	uint8_t mac[6];			/* the guest's MAC (attached-mac) */
	uint32_t ips[OFGW_VM_IPS_MAX];	/* host order; rtpaths match on these */
	uint8_t n_ips;
};

struct ofgw_control_port {
	uint8_t proto;		/* 6 TCP or 17 UDP */
	uint16_t port;		/* a port rtvd listens on (Raft, RPC, gossip) */
};

struct ofgw_config {
	const char *listen;	/* "IP:PORT" to accept the switch on, e.g. "127.0.0.1:6653" */
	uint64_t host_id;	/* rtpaths with src_host == host_id are marked here */
	uint32_t host_ip;	/* this host's address (host order); 0: match any source */
	/* Off-host traffic leaves by offhost_port when the bridge has it, else
	 * by uplink_port; with neither present it is dropped. Either may be
	 * NULL or "". Typical: "rtv-int" and the uplink's name. */
	const char *offhost_port;
	const char *uplink_port;
	struct ofgw_control_port control[OFGW_CONTROL_PORTS_MAX];
	size_t n_control;
	unsigned echo_interval_ms;	/* 0: 5000; a keepalive after this much silence */
	unsigned echo_max_missed;	/* 0: 3; unanswered keepalives before dropping */
};

/* The outcome of one barrier-fenced batch of flow-mods. */
struct ofgw_sync {
	bool full;		/* a reconciliation after a (re)connection: dump + diff */
	uint32_t added;		/* flows the switch lacked */
	uint32_t modified;	/* flows replaced because their content differed */
	uint32_t deleted;	/* stale flows removed */
	uint32_t unchanged;	/* full: flows already right */
	uint32_t errors;	/* error replies to this batch */
	uint64_t duration_ns;	/* full: dump request to barrier reply; else diff to reply */
};

struct ofgw_packet_in {
	uint32_t buffer_id;
	uint16_t total_len;
	uint8_t reason, table_id;
	uint64_t cookie;
	struct ofgw_match match;	/* in_port is match.in_port */
	const uint8_t *data;		/* valid during the callback only */
	size_t data_len;
};

/* An OFPT_ERROR from the switch. */
struct ofgw_error {
	uint32_t xid;
	uint16_t type, code;	/* OFPET_*, and its code */
	const char *what;	/* "flow-mod rejected: OFPET_BAD_MATCH code 4", ... */
};

struct ofgw_port_stats {
	uint32_t port_no;
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	uint64_t rx_dropped, tx_dropped, rx_errors, tx_errors;
	uint32_t duration_s;
};

/* Callbacks on the loop thread; any may be NULL. */
struct ofgw_hooks {
	void *arg;
	/* the switch finished the handshake (hello, features, port-desc) */
	void (*connected)(void *arg, uint64_t dpid);
	void (*disconnected)(void *arg, const char *why);
	/* a barrier-fenced batch completed: the switch now has the desired flows
	 * (unless s->errors) */
	void (*synced)(void *arg, const struct ofgw_sync *s);
	void (*packet_in)(void *arg, const struct ofgw_packet_in *pi);
	void (*error)(void *arg, const struct ofgw_error *e);
	/* a port was added, removed or changed (port-status) */
	void (*port_changed)(void *arg, const struct ofgw_port *p, bool removed);
};

struct ofgw_stats {
	bool connected, synced;	/* synced: no batch in flight, desired == installed */
	uint64_t dpid;
	uint64_t connections, disconnections;
	uint64_t rx_msgs, tx_msgs, rx_bytes, tx_bytes;
	uint64_t decode_errors;	/* malformed or truncated messages from the switch */
	uint64_t error_msgs;	/* OFPT_ERROR received */
	uint64_t echo_timeouts;	/* connections dropped for missed keepalives */
	uint64_t flow_mods;	/* sent, all connections */
	uint64_t reconciles;	/* full reconciliations completed */
	/* flows changed by completed batches (full reconciliations and the
	 * incremental ones after a change), as in struct ofgw_sync */
	uint64_t flows_added, flows_modified, flows_deleted;
	uint64_t packet_ins;
	size_t n_ports, n_desired, n_installed;
};

/* Creates the gateway on `loop` (nothing is opened yet). cfg is copied.
 * Returns 0, -EINVAL (bad listen address, control port, ...: err says which)
 * or -ENOMEM. */
int ofgw_new(struct uv_loop_s *loop, const struct ofgw_config *cfg,
	     const struct ofgw_hooks *hooks, struct ofgw **out, char err[OFGW_ERRLEN]);
/* Listens on cfg->listen. 0 or a negative errno (-EADDRINUSE, ...) with err. */
int ofgw_start(struct ofgw *o, char err[OFGW_ERRLEN]);

/* Replaces the VM ports. Copies. -EINVAL (empty or too long name, a name
 * given twice) leaves the previous set. The flows follow at once when the
 * switch is connected, after the next handshake otherwise. */
int ofgw_set_vm_ports(struct ofgw *o, const struct ofgw_vm_port *ports, size_t n,
		      char err[OFGW_ERRLEN]);
/* Replaces the rtpath set (e.g. after a snapshot restore). Copies; -ENOMEM
 * leaves the previous set. */
int ofgw_set_rtpaths(struct ofgw *o, const struct cons_rtpath *paths, size_t n);
/* One rtpath admitted, escalated or changed (by id) / released. The
 * resulting flow-mods touch that rtpath's cookie only. remove: -ENOENT if
 * unknown. */
int ofgw_rtpath_upsert(struct ofgw *o, const struct cons_rtpath *p);
int ofgw_rtpath_remove(struct ofgw *o, uint64_t id);

/* Sends a packet through the switch: data out of out_port as if it came in
 * on in_port (OFGW_PORT_CONTROLLER for "from us"). -ENOTCONN without a
 * switch, -EINVAL (len 0 or > 65000, bad port). */
int ofgw_packet_out(struct ofgw *o, uint32_t in_port, uint32_t out_port,
		    const void *data, size_t len);
/* Asks the switch for every port's counters; cb runs once with all of them
 * (status 0) or with -ENOTCONN/-ECONNRESET and n = 0. Returns 0 (cb will run)
 * or -ENOTCONN / -EBUSY (a request is outstanding). */
typedef void (*ofgw_port_stats_cb)(void *arg, int status, const struct ofgw_port_stats *st,
				   size_t n);
int ofgw_request_port_stats(struct ofgw *o, ofgw_port_stats_cb cb, void *arg);

/* Reads. Pointers stay valid until the next call into the gateway or the
 * next loop turn. */
void ofgw_get_stats(const struct ofgw *o, struct ofgw_stats *out);
/* The bridge's port called name, or NULL (not connected, no such port). */
const struct ofgw_port *ofgw_port_by_name(const struct ofgw *o, const char *name);
/* Calls fn for every desired flow (what the inputs imply now). */
void ofgw_foreach_desired(const struct ofgw *o,
			  void (*fn)(void *arg, const struct ofgw_flow *f), void *arg);
/* The listening port actually bound (useful with port 0), or 0. */
int ofgw_listen_port(const struct ofgw *o);

/* Drops the switch connection, stops listening and closes the handles; cb
 * runs on the loop when done, after which ofgw_free may be called. The
 * switch keeps its flows (fail-mode secure). */
void ofgw_close(struct ofgw *o, void (*cb)(struct ofgw *o));
void ofgw_free(struct ofgw *o);	/* NULL is a no-op */

/* The OVSDB client (ofgw/ovsdb.h) belongs to this module too; the lead adds
 * its include here once that header exists. */

#endif /* RTV_OFGW_H */
