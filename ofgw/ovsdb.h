/* ovsdb.h — the OVSDB client of the OpenFlow gateway: watches which VM
 * ports sit on our bridge, and creates the bridge's settings if missing.
 *
 * It speaks JSON-RPC 1.0 as RFC 7047 (the OVSDB management protocol) uses
 * it, over Open vSwitch's unix socket, on the caller's libuv loop, never
 * blocking. One client per process, for one bridge (e.g. br-rtv).
 *
 * Watching. The client "monitor"s (RFC 7047 §4.1.5) the Bridge, Port and
 * Interface tables and keeps the view of every interface on the bridge,
 * sorted by name. Each change of that view is reported once through
 * port_added / port_changed / port_removed. Ports are keyed by interface
 * name. A port appears as soon as OVSDB has its row; its ofport is -1 until
 * ovs-vswitchd assigns one, which comes as a port_changed.
 *
 * VM identity (libvirt, OpenStack and the lab set these on the Interface):
 *   vm_id         external_ids:vm-id, else external_ids:vm-uuid
 *   iface_id      external_ids:iface-id, else external_ids:iface-uuid
 *   attached_mac  external_ids:attached-mac ("02:00:00:00:01:01")
 *   ip_address    external_ids:ip-address, the guest's IPv4 addresses
 *                 ("10.0.1.11" or "10.0.1.11,10.0.1.12"), as text: OVSDB
 *                 has no IPs of its own, so whoever plugs the port (the lab,
 *                 a libvirt hook) may set it; the caller parses it
 * A VM port is one with vm_id or iface_id set (ofgw_ovsdb_port_is_vm);
 * every other port of the bridge (rtv-int, uplinks, the bridge's own local
 * port) is reported too, so the caller also learns their ofports. Ids set
 * after the port was added (ovs-vsctl add-port, then set interface) arrive
 * as port_changed: callers acting on VM ports look at both added and changed.
 *
 * Resync. When the connection drops (ovsdb-server restarted, a malformed or
 * oversized message), the view is kept as last reported and the client
 * reconnects with exponential backoff. The new connection's initial state is
 * diffed against the kept view: only real differences are reported (a port
 * that did not change is not reported again), then `synced` runs. While
 * disconnected nothing is reported.
 *
 * Ensuring the bridge. ofgw_ovsdb_ensure_bridge stores a spec; after every
 * (re)connection, and at once if connected, the client reads the current
 * rows in one transaction, then writes only what differs, guarded by "wait"
 * so a concurrent change makes the write fail and be retried from a fresh
 * read (three attempts, then -EIO). With nothing to change nothing is written (restarts cause no churn).
 * What "ensured" means:
 *   - bridge `bridge` exists, in the Open_vSwitch root row's bridges, with
 *     its local internal port when created by us;
 *   - datapath_type = spec.datapath_type; fail_mode = secure (installed
 *     flows keep forwarding while rtvd is away); protocols = {OpenFlow13};
 *   - controller = exactly one Controller whose target is spec.controller
 *     (rtvd is the only controller; a single existing Controller row has its
 *     target updated, so its other settings stay);
 *   - port spec.int_port with one interface of type spec.int_type is on the
 *     bridge. If it is a port of another bridge, that is an error (the text
 *     says which bridge and what to run).
 * fail_mode and protocols are fixed by design, not options.
 *
 * Logging goes through common/log.h with module "ovsdb"; bad input from the
 * server is logged rate-limited and counted in the stats.
 */
#ifndef RTV_OFGW_OVSDB_H
#define RTV_OFGW_OVSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;

#define OFGW_OVSDB_ERRLEN 256
#define OFGW_OVSDB_NAME_MAX 64		/* bytes with the NUL: names, ids, types */
#define OFGW_OVSDB_TARGET_MAX 128	/* controller target, with the NUL */
#define OFGW_OVSDB_REMOTE_DEFAULT "unix:/run/openvswitch/db.sock"
#define OFGW_OVSDB_MSG_MAX_DEFAULT_BYTES (16u << 20)
#define OFGW_OVSDB_BACKOFF_MIN_DEFAULT_MS 100u
#define OFGW_OVSDB_BACKOFF_MAX_DEFAULT_MS 4000u

/* One interface of the watched bridge. Strings are "" when absent; a value
 * that does not fit (or a malformed MAC) is treated as absent, logged and
 * counted in stats.bad_fields. */
struct ofgw_ovsdb_port {
	char name[OFGW_OVSDB_NAME_MAX];		/* Interface name (the key) */
	char bridge[OFGW_OVSDB_NAME_MAX];	/* the watched bridge */
	char type[OFGW_OVSDB_NAME_MAX];		/* "" (system, e.g. veth), "internal", ... */
	int32_t ofport;				/* OpenFlow port, -1 if none (yet); the
						 * bridge's local port is 65534 */
	char vm_id[OFGW_OVSDB_NAME_MAX];
	char iface_id[OFGW_OVSDB_NAME_MAX];
	char ip_address[OFGW_OVSDB_NAME_MAX];	/* external_ids:ip-address, unparsed */
	bool has_attached_mac, has_mac_in_use;
	uint8_t attached_mac[6];		/* from external_ids:attached-mac */
	uint8_t mac_in_use[6];			/* the device's MAC, set by vswitchd;
						 * informational (see port_changed) */
	uint32_t mtu_request;			/* Interface mtu_request, 0: unset */
	uint32_t mtu;				/* Interface mtu (the device's), 0: unknown */
};

static inline bool ofgw_ovsdb_port_is_vm(const struct ofgw_ovsdb_port *p)
{
	return p->vm_id[0] != '\0' || p->iface_id[0] != '\0';
}

/* What the client tells its owner. Every member may be NULL. They run on the
 * loop thread; the pointers are valid during the call only. Callbacks may
 * call ofgw_ovsdb_ensure_bridge and ofgw_ovsdb_close (not _free). */
struct ofgw_ovsdb_ops {
	void (*port_added)(void *arg, const struct ofgw_ovsdb_port *p);
	/* A field changed (ofport assigned, ids set, type, ...). Not reported
	 * for mac_in_use alone: that column is ephemeral in OVSDB, empty after
	 * each ovsdb-server restart until vswitchd rewrites it; the view still
	 * holds its current value. */
	void (*port_changed)(void *arg, const struct ofgw_ovsdb_port *old,
			     const struct ofgw_ovsdb_port *p);
	void (*port_removed)(void *arg, const struct ofgw_ovsdb_port *p);
	/* The view matches the server after a (re)connection. */
	void (*synced)(void *arg);
	/* One ensure attempt ended: status 0 (changed says whether anything was
	 * written) or a negative errno with OVSDB's own "error: details" text
	 * in err: -EIO (the server refused the transaction), -EEXIST (the
	 * internal port belongs to another bridge), -ENOTCONN (connection lost;
	 * retried after reconnecting), -EPROTO (malformed reply). */
	void (*ensured)(void *arg, int status, bool changed, const char *err);
};

struct ofgw_ovsdb_config {
	const char *remote;		/* "unix:/path/db.sock" or "/path"; NULL = default */
	const char *bridge;		/* the watched bridge, e.g. "br-rtv" */
	uint32_t backoff_min_ms;	/* first reconnect delay; 0 = default */
	uint32_t backoff_max_ms;	/* doubling up to this; 0 = default */
	size_t msg_max_bytes;		/* largest message accepted; 0 = default */
};

struct ofgw_ovsdb_bridge_spec {
	char datapath_type[OFGW_OVSDB_NAME_MAX];	/* "netdev" (userspace) or "system" */
	char controller[OFGW_OVSDB_TARGET_MAX];	/* "tcp:127.0.0.1:6653", "unix:/path" */
	char int_port[OFGW_OVSDB_NAME_MAX];	/* "rtv-int" */
	char int_type[OFGW_OVSDB_NAME_MAX];	/* "internal", or "" for a veth end */
};

struct ofgw_ovsdb_stats {
	uint64_t connects;		/* connections established */
	uint64_t connect_failures;
	uint64_t disconnects;		/* established connections lost or dropped */
	uint64_t syncs;			/* initial states processed */
	uint64_t updates;		/* update notifications processed */
	uint64_t echoes;		/* echo requests answered */
	uint64_t bad_msgs;		/* malformed JSON / JSON-RPC / OVSDB (connection dropped) */
	uint64_t too_big;		/* messages over msg_max_bytes (connection dropped) */
	uint64_t bad_fields;		/* rows or fields ignored while building the view */
	uint64_t txn_reads, txn_writes;	/* ensure transactions sent */
	uint64_t mtu_writes, mtu_failures;	/* mtu_request writes sent, refused */
	uint64_t ports_added, ports_changed, ports_removed;
};

struct ofgw_ovsdb;

/* Validates cfg (copied) and creates the client; nothing is sent before
 * ofgw_ovsdb_start. Returns 0, or -EINVAL / -ENAMETOOLONG / -ENOMEM with
 * err saying what was wrong. */
int ofgw_ovsdb_new(struct uv_loop_s *loop, const struct ofgw_ovsdb_config *cfg,
		   const struct ofgw_ovsdb_ops *ops, void *arg, struct ofgw_ovsdb **out,
		   char err[OFGW_OVSDB_ERRLEN]);
/* Starts connecting (and reconnecting for ever). Returns 0 or -EALREADY. */
int ofgw_ovsdb_start(struct ofgw_ovsdb *c);
/* Stores spec (copied) and runs it now if connected, else once synced; it
 * runs again after each reconnection. A call while an attempt is in flight
 * runs once more after it. Returns 0 (ops->ensured will report) or -EINVAL
 * with err (bad spec; the previous spec stays). */
int ofgw_ovsdb_ensure_bridge(struct ofgw_ovsdb *c, const struct ofgw_ovsdb_bridge_spec *spec,
			     char err[OFGW_OVSDB_ERRLEN]);

/* Sets Interface `iface`'s mtu_request (RFC 7047 "update"): ovs-vswitchd
 * then sets the device's MTU (netdev-linux: SIOCSIFMTU; a tap, a veth end,
 * an internal port). No answer is reported: the change shows in the view
 * (port_changed with mtu_request, then mtu once applied); a refusal is
 * logged and counted in stats.mtu_failures. At most OFGW_OVSDB_MTU_INFLIGHT
 * writes in flight. Returns 0, -EINVAL (no such name length, mtu outside
 * 68..65535), -ENOTCONN (not synced) or -EBUSY (retry on a later event). */
#define OFGW_OVSDB_MTU_INFLIGHT 16
int ofgw_ovsdb_set_mtu_request(struct ofgw_ovsdb *c, const char *iface, uint32_t mtu);

/* The current view (as last reported), sorted by name. */
bool ofgw_ovsdb_synced(const struct ofgw_ovsdb *c);
size_t ofgw_ovsdb_n_ports(const struct ofgw_ovsdb *c);
const struct ofgw_ovsdb_port *ofgw_ovsdb_port_at(const struct ofgw_ovsdb *c, size_t i);
const struct ofgw_ovsdb_port *ofgw_ovsdb_port_find(const struct ofgw_ovsdb *c, const char *name);
void ofgw_ovsdb_get_stats(const struct ofgw_ovsdb *c, struct ofgw_ovsdb_stats *out);

/* Closes the connection and timers; no callback runs afterwards except cb
 * (may be NULL), once, on the loop when every handle is closed (at once if
 * the client was never started). Then ofgw_ovsdb_free. */
void ofgw_ovsdb_close(struct ofgw_ovsdb *c, void (*cb)(struct ofgw_ovsdb *c));
/* Frees a client that was never started or whose close completed. NULL: no-op. */
void ofgw_ovsdb_free(struct ofgw_ovsdb *c);

/* "02:00:00:00:01:0a" (either case) → 6 bytes. 0 or -EINVAL. */
int ofgw_ovsdb_mac_parse(const char *s, uint8_t mac[6]);

#endif /* RTV_OFGW_OVSDB_H */
