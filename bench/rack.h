/* rack.h — a local rack of real rtvd processes for benchmarks: three nodes on
 * loopback (fork/exec of build/bin/rtvd with generated configs in a temp
 * dir, like tests/lib/rack.sh), each with a client on its ipc socket, and
 * the questions benchmarks ask them (status, leader, lists) plus the
 * commands they fill it with (VMs, reservations).
 *
 * One rack per process: rack_up registers an atexit handler that kills the
 * nodes and removes the temp dir (unless keep is set or the keep_env
 * variable is), and SIGINT/SIGTERM end the process through it. Errors are
 * fatal: rack_die names the bench, points at the node logs and keeps them.
 * Ports: node i listens for Raft on base + i, RPC on base + 50 + i and, with
 * metrics, /metrics on base + 80 + i (rack_metrics_port). Raft and the RPC
 * run over mutual TLS with the test rack CA (tests/lib/pki.sh, in dir/pki);
 * clients of rpc_url use `tls`, an admin certificate.
 */
#ifndef RTV_BENCH_RACK_H
#define RTV_BENCH_RACK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpc/client.h"

#define RACK_NODES 3
#define RACK_VMS_PER_HOST 4
#define RACK_VMS (RACK_NODES * RACK_VMS_PER_HOST)

struct rack_node {
	pid_t pid;		/* 0: not running */
	char conf[PATH_MAX], log[PATH_MAX], sock_url[PATH_MAX + 8], rpc_url[64];
	struct agent_client *ctl;	/* status and reads, over the ipc socket */
};

struct rack {
	/* set by the caller before rack_up */
	const char *name;	/* "bench_raft": messages; temp dir /tmp/rtv-bench-raft.XXXXXX */
	const char *keep_env;	/* set in the environment: keep the temp dir */
	bool metrics;		/* each node serves /metrics */
	/* filled by rack_up */
	char dir[128];
	char rtvd[PATH_MAX];	/* $RTVD or build/bin/rtvd next to this program */
	char build[PATH_MAX];	/* the build dir this program runs from */
	int base;		/* port base */
	struct rack_node n[RACK_NODES + 1];	/* 1-based, like Raft ids */
	char pki[PATH_MAX];	/* dir/pki */
	struct agent_client_tls tls;	/* admin certificate for rpc_url clients */
	bool keep;		/* leave the temp dir for a post-mortem */
};

/* What a node's STATUS answers. */
struct rack_status {
	char role[16];
	uint64_t leader, applied, commit;
};

void rack_die(struct rack *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void rack_sleep_ms(unsigned ms);

/* The test rack CA (tests/lib/pki.sh: the CA, host-1..9, admin-test,
 * read-test, rack.keys) copied into dir; build is the build dir (the source
 * tree is its parent, or $RTV_SRC). 0, or -1 with a message on stderr. */
int bench_pki(const char *build, const char *dir);

/* Temp dir, ports, configs, the three processes and their clients. */
void rack_up(struct rack *r);
/* (Re)starts node i from its config and data dir. */
void rack_spawn(struct rack *r, int i);
/* kill -9 of node i, reaped. */
void rack_kill(struct rack *r, int i);
/* Kills every node and frees the clients; the temp dir stays until exit. */
void rack_stop(struct rack *r);
int rack_metrics_port(const struct rack *r, int i);

/* 0 and st filled, -ESRCH for a stopped node, or the call's error. */
int rack_status(struct rack *r, int i, struct rack_status *st);
/* The leader every live node agrees on (and that says it is leader), other
 * than `except`, within timeout_ms; 0 when there is none. */
int rack_try_leader(struct rack *r, unsigned timeout_ms, int except);
/* The same, fatal after timeout_ms. */
int rack_wait_leader(struct rack *r, unsigned timeout_ms, int except);
/* Waits until every live node has applied what the leader has committed.
 * False (after saying who lags, and keeping the dir) when that does not
 * happen in time. */
bool rack_caught_up(struct rack *r, int leader, unsigned timeout_ms);

/* Runs a read op on node i (linearizable if lin); the length of the array
 * under `key`, the reply to close in rep and the array in arr; or < 0. */
int rack_read_list(struct rack *r, int i, const char *op, const char *key, bool lin,
		   struct agent_client_reply *rep, const msgpack_object **arr);
/* The same, only the length. */
int rack_count_list(struct rack *r, int i, const char *op, const char *key, bool lin);

/* Waits for the hosts to register themselves, then adds RACK_VMS_PER_HOST
 * VMs on each through the leader l (10.0.H.K+1, "bench-vm-H-K"). */
void rack_register_vms(struct rack *r, int l);
/* The k-th reservation: a unique (src, dst, proto, dport) between VMs on
 * different hosts, small enough that 10,000 of them fit the rack (per
 * uplink ~3,400 × 100 kbit/s = 340 Mbit/s of a 5 Gbit/s RT budget; EDF
 * demand at 20 ms: 3,400 × 200 B ≪ 10 Gbit/s × 20 ms). Deadline type, or
 * with `mixed` every fifth of reservation type. */
void rack_reserve_cmd(uint64_t k, bool mixed, struct cons_cmd *cmd);

#endif
