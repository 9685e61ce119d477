/* cons_cluster.h — a fixture of real Raft nodes (consensus/node.c with
 * raft_uv I/O, TCP or TLS transport) on one libuv loop in the test
 * process, on 127.0.0.1 ports from a base, each with its own temporary data
 * dir; used by test_cons_node.c and test_cons_tls.c.
 *
 * Waits are bounded by generous deadlines (WAIT_MS) that only turn a hang
 * into a failure; nothing asserts on timing. Helpers fail the test
 * (cmocka) on error. */
#ifndef RTV_TESTS_CONS_CLUSTER_H
#define RTV_TESTS_CONS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "consensus/consensus.h"

#define MAX_NODES 5
#define WAIT_MS 15000

struct tnode {
	struct cons_node *node;
	struct cons_state *state;
	uint64_t id;
	char dir[128];
	char addr[32];
	bool open, closed;
	bool outsider;			/* joined with no peers, not yet added */
	struct pki_creds *tls;		/* Raft over TLS with these (the test owns them) */
	uint64_t n_applied, n_restored, n_leader_events;
	uint64_t leader_seen;
};

struct cluster {
	uv_loop_t loop;
	uv_timer_t wake;		/* bounds each UV_RUN_ONCE */
	char base[64];
	unsigned port_base;
	unsigned snapshot_threshold;
	unsigned election_ms, heartbeat_ms;	/* 0: the node's defaults */
	struct tnode t[MAX_NODES];
	struct cons_peer peers[MAX_NODES];
	size_t n_peers;
};

struct answer {
	bool done;
	int status;
	struct cons_result res;
};

/* Loop: runs until done() or ms have passed (false then); run_until: WAIT_MS. */
bool run_within(struct cluster *c, uint64_t ms, bool (*done)(struct cluster *c, void *arg),
		void *arg);
bool run_until(struct cluster *c, bool (*done)(struct cluster *c, void *arg), void *arg);

/* Nodes: ids i + 1 at port_base + i; the first n_voters bootstrap. */
void cluster_init(struct cluster *c, unsigned port_base, unsigned n_voters,
		  unsigned snapshot_threshold);
/* Opens node i from its data dir with a fresh state; `join`: no peers. */
void node_open(struct cluster *c, unsigned i, bool join);
void node_stop(struct cluster *c, unsigned i);
/* Stops every open node, checks the loop closes with nothing open,
 * removes the data dirs. */
void cluster_close(struct cluster *c);
int leader_index(struct cluster *c);
/* A leader other than node `not` (any if < 0) known to every open node. */
int wait_leader(struct cluster *c, int not);

/* Requests. */
void submit_cb(void *arg, int status, const struct cons_result *res);
void done_cb(void *arg, int status);
void wait_answer(struct cluster *c, struct answer *a, const char *what);
void host_cmd(struct cons_cmd *cmd, unsigned h, uint64_t seq);
/* Submits to the current leader; the answer must be an applied command. */
struct cons_result submit_ok(struct cluster *c, const struct cons_cmd *cmd);
void submit_hosts(struct cluster *c, unsigned from, unsigned to);
/* Node b has applied all that node a has, and their states are equal. */
void wait_same(struct cluster *c, unsigned a, unsigned b);
const struct cons_peer_status *cluster_peer(const struct cons_node_status *st, uint64_t id);

#endif
