/* config.h — rtvd's configuration file.
 *
 * An INI file read with inih. Sections and keys (deploy/rtvd.conf.example
 * explains each):
 *
 *   [node]     id, name, data_dir, raft_addr, rpc_addr     (required)
 *              cli_socket (default /run/rtvd/rtvd.sock), cli_group
 *   [cluster]  peer = ID@RAFT_ADDR@RPC_URL[@standby]       (repeatable)
 *              join = false|true
 *   [uplink]   capacity (required), rt_budget, max_frame, to
 *   [raft]     election_timeout, heartbeat, pre_vote,
 *              snapshot_threshold, snapshot_trailing
 *   [rpc]      contexts, leader_wait, forward_timeout
 *   [log]      level
 *   [metrics]  listen (IPv4:port of the /metrics endpoint; unset: none),
 *              rtpath_cap (rtpaths with their own series, default 1000)
 *   [ovs]      enabled (default false), db, bridge, datapath_type, of_listen,
 *              offhost_port, uplink_port, int_port, int_type, guest_mtu
 *              (agent/ovs/ovs.h)
 *   [dataplane] enabled (default false), int_dev, uplink_dev, mtu, host_ip,
 *              tx_ahead, rt_priority, poll, cpu, clock_uncertainty, miss_port,
 *              miss_interval, boost_decay  (agent/dataplane/dataplane.h)
 *
 * Everything is validated before the caller starts anything: unknown
 * sections and keys are errors (a typo must not be silently ignored), keys
 * given twice are errors (except peer), values are parsed with common/units
 * (a rate needs a unit), and cross-key rules are checked (this node is in
 * the peer list with the same addresses, heartbeat < election timeout, ...).
 *
 * Errors fill `err` with one line naming the file, the line, the section,
 * the key, the value and what is allowed, e.g.
 *   /etc/rtvd.conf:7: [uplink] capacity = "12000": a rate needs a unit: 12000bit? 12k? 12M?
 */
#ifndef RTV_AGENT_CONFIG_H
#define RTV_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "consensus/consensus.h"

#define AGENT_CONFIG_ERRLEN 512
#define AGENT_PATH_MAX 256
#define AGENT_SUN_PATH_MAX 108		/* sizeof(sockaddr_un.sun_path) */
#define AGENT_DEFAULT_CLI_SOCKET "/run/rtvd/rtvd.sock"

/* [ovs]: the local Open vSwitch bridge rtvd controls (agent/ovs/ovs.h). */
#define AGENT_IFNAME_MAX 16		/* IFNAMSIZ: port and bridge names */
struct agent_ovs_config {
	bool enabled;			/* default false: rtvd leaves OVS alone */
	char db[AGENT_PATH_MAX];	/* "unix:/run/openvswitch/db.sock" */
	char bridge[AGENT_IFNAME_MAX];	/* default "br-rtv" */
	char datapath_type[AGENT_IFNAME_MAX];	/* "system" (default) or "netdev" */
	char of_listen[CONS_ADDR_MAX];	/* "127.0.0.1:6653": the controller target */
	char offhost_port[AGENT_IFNAME_MAX];	/* default "rtv-int" */
	char uplink_port[AGENT_IFNAME_MAX];	/* off-host while offhost_port is absent */
	char int_port[AGENT_IFNAME_MAX];	/* created if missing; "" (default): none,
						 * the uplink port must be on the bridge */
	char int_type[AGENT_IFNAME_MAX];	/* "internal" (default) or "" for a veth end */
	int32_t guest_mtu;		/* VM ports' mtu_request: AGENT_GUEST_MTU_AUTO
					 * (default: uplink MTU less the encapsulation,
					 * docs/mtu.md), AGENT_GUEST_MTU_OFF, or 68..65535 */
};
#define AGENT_GUEST_MTU_AUTO 0
#define AGENT_GUEST_MTU_OFF (-1)

/* [dataplane] tx_ahead's default: all the slack admission leaves for it
 * (consensus.h, "The margin"), since every deadline pays that margin
 * whatever a host configures. A thread that sleeps until its pacer's next
 * slot wakes late by the platform's timer latency; frames handed to the
 * driver this far ahead keep the wire busy meanwhile (dp/dp_io.c). */
#define AGENT_DP_TX_AHEAD_NS CONS_TX_AHEAD_MAX_NS

/* [dataplane]: rtvd's own dataplane between the switch and the uplink
 * (agent/dataplane/dataplane.h). Its pacer runs at [uplink] capacity. */
struct agent_dp_config {
	bool enabled;			/* default false: no dataplane */
	char int_dev[AGENT_IFNAME_MAX];	/* VM side, rtv-int's peer (default "rtv-int") */
	char uplink_dev[AGENT_IFNAME_MAX];	/* the uplink (default "up0") */
	uint32_t mtu;			/* uplink IP MTU (default 1500) */
	uint32_t host_ip;		/* ICMP source, control traffic; 0: rpc_addr's */
	uint64_t tx_ahead_ns;		/* pacer slack, <= CONS_TX_AHEAD_MAX_NS */
					/* (default AGENT_DP_TX_AHEAD_NS) */
	int rt_priority;		/* SCHED_FIFO of the dataplane threads (0: none) */
	bool busy_poll;			/* poll = busy: threads spin (default sleep) */
	bool pin;			/* cpu = N set: the engine on CPU cpu */
	unsigned cpu;
	uint64_t clock_uncertainty_ns;	/* stamped on miss reports (default 100 µs) */
	uint16_t miss_port;		/* UDP, the same on every host (default 7003) */
	uint64_t miss_interval_ns;	/* miss aggregation (default 100 ms) */
	uint64_t boost_decay_ns;	/* quiet time per boost level (default 10 s) */
};

/* One member of the bootstrap configuration ([cluster] peer). */
struct agent_peer {
	uint64_t id;
	char raft_addr[CONS_ADDR_MAX];	/* "ip:port" */
	char rpc_addr[CONS_ADDR_MAX];	/* "tcp://ip:port" */
	bool standby;			/* non-voting replica */
};

struct agent_config {
	char file[AGENT_PATH_MAX];	/* where it was read from (messages) */

	/* [node] */
	uint64_t id;
	char name[CONS_NAME_MAX];
	char data_dir[AGENT_PATH_MAX];
	char raft_addr[CONS_ADDR_MAX];
	char rpc_addr[CONS_ADDR_MAX];	/* tls+tcp://ip:port (tcp:// if insecure) */
	char rpc_read_addr[CONS_ADDR_MAX];	/* read-only listener; "" = none */
	char cli_socket[AGENT_SUN_PATH_MAX];	/* a path, without "ipc://" */
	char cli_group[CONS_NAME_MAX];		/* "" = root only */

	/* [cluster] */
	struct agent_peer peers[CONS_PEERS_MAX];
	size_t n_peers;
	bool join;		/* added later with `rtvctl members add`: no bootstrap */

	/* [uplink] */
	uint64_t uplink_bps;
	uint32_t rt_budget_ppm;
	uint32_t max_frame_bytes;
	char uplink_to[CONS_NAME_MAX];
	uint64_t uplink_latency_ns;	/* hop_latency: what this host's switch adds */

	/* [raft] */
	unsigned election_timeout_ms;
	unsigned heartbeat_ms;
	bool pre_vote;
	unsigned snapshot_threshold;	/* 0 = consensus/'s default */
	unsigned snapshot_trailing;	/* 0 = consensus/'s default */

	/* [rpc] */
	unsigned contexts;		/* requests served at once */
	uint64_t leader_wait_ns;	/* how long a write waits for an election */
	uint64_t forward_timeout_ns;	/* one forwarding attempt to the leader */

	/* [log] */
	enum rtv_log_level log_level;

	/* [tls]: the rack's credentials (pki/rtv-pki.sh). With ca, cert and key
	 * Raft and the RPC (tls+tcp:// URLs) run over mutual TLS; insecure =
	 * true runs both in plaintext (tcp:// URLs) and says so at start; a
	 * config with neither is refused. read_ca: the CA of read-only clients,
	 * trusted on [node] rpc_read_addr only (docs/security.md). */
	char tls_ca[AGENT_PATH_MAX];
	char tls_cert[AGENT_PATH_MAX];
	char tls_key[AGENT_PATH_MAX];
	char tls_rack_keys[AGENT_PATH_MAX];	/* seals miss reports; "" = unsealed */
	char tls_read_ca[AGENT_PATH_MAX];
	bool tls_insecure;

	/* [metrics] */
	char metrics_listen[CONS_ADDR_MAX];	/* "ip:port"; "" = no endpoint */
	unsigned metrics_rtpath_cap;		/* per family; beyond: rtpath="other" */

	/* [ovs] */
	struct agent_ovs_config ovs;

	/* [dataplane] */
	struct agent_dp_config dataplane;
};

/* Fills cfg with the defaults of every optional key; required keys zero. */
void agent_config_defaults(struct agent_config *cfg);

/* Reads and validates the file at `path`. Returns 0, -ENOENT/-EACCES/... when
 * it cannot be opened, or -EINVAL for a bad configuration; err (errlen bytes,
 * AGENT_CONFIG_ERRLEN is enough) says why. cfg is only meaningful on 0. */
int agent_config_load(struct agent_config *cfg, const char *path, char *err, size_t errlen);

/* For a program that reads rtvd.conf without running rtvd's modules
 * (rtvdp): from now on, sections that no core key names are skipped
 * instead of refused; rtvd, which registers the modules, still checks
 * them. Unknown keys in the core's own sections are still refused. */
void agent_config_skip_module_sections(void);

/* The same for configuration text in memory; `name` is used in messages. */
int agent_config_parse(struct agent_config *cfg, const char *name, const char *text,
		       char *err, size_t errlen);

/* Checks what the file alone cannot tell: cli_group names a group, data_dir
 * is a directory or can be created, the cli socket's directory exists or
 * can be created. Returns 0 or a negative errno with err filled. */
/* The "ip:port" of a tcp:// or tls+tcp:// URL (the URL itself otherwise). */
const char *agent_url_addr(const char *url);

int agent_config_check_env(const struct agent_config *cfg, char *err, size_t errlen);

/* The bootstrap peer with this id, or NULL. */
const struct agent_peer *agent_config_peer(const struct agent_config *cfg, uint64_t id);

#endif /* RTV_AGENT_CONFIG_H */
