/* core.h — rtvd's core as its modules see it: the one header a module
 * (agent/<module>/) includes from the core. docs/architecture.md draws the
 * map and the start-up order.
 *
 * The core owns the libuv loop, the configuration, the replicated state and
 * the Raft node (consensus/), the RPC server and the request engine
 * (serving, forwarding to the leader, waiting for one), and the hand-off
 * from nng's threads to the loop (loopq.h). It knows nothing of its
 * modules: the program (agent/rtvd_main.c) registers them, and the core
 * calls their hooks in registration order — to start them, to tell them
 * what Raft applied, to let them add to the `status` and `paths` replies,
 * to report the request engine's events — and closes them in the reverse
 * order. A module may use the modules registered before it (the dataplane
 * and OVS glue use telemetry's types); the other direction goes through
 * agent_core_iface, a named interface one module offers and another looks
 * up (scripts/check-deps.sh fails on a cycle).
 *
 * Everything here runs on the loop thread.
 */
#ifndef RTV_AGENT_CORE_H
#define RTV_AGENT_CORE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/core/config.h"
#include "consensus/consensus.h"

#define RTVD_VERSION "0.3.0"

struct rtvd;
struct agent_loopq;

/* ------------------------------------------------------------------------- */
/* What the core offers a module                                             */

uv_loop_t *agent_core_loop(const struct rtvd *d);
const struct agent_config *agent_core_config(const struct rtvd *d);
/* This replica's state as of the last applied command. */
const struct cons_state *agent_core_state(const struct rtvd *d);
/* The Raft node (cons_node_status); NULL before it is created. */
struct cons_node *agent_core_node(const struct rtvd *d);
/* The leader this node knows (0 = none). */
uint64_t agent_core_leader(const struct rtvd *d);
/* True once shutdown began: submit nothing new. */
bool agent_core_stopping(const struct rtvd *d);
/* Requests waiting for a (reachable) leader. */
size_t agent_core_n_waiting(const struct rtvd *d);
/* RPC refusals: connections a TLS listener dropped in the handshake, by
 * nng's reason (out[0..3]: auth, proto, timeout, other) for rpc_addr
 * (read_listener false) or rpc_read_addr; 0 or -ENOENT (no such TLS
 * listener). And changes refused on the read-only listener. */
#define AGENT_CORE_RPC_REFUSAL_N 4
extern const char *const agent_core_rpc_refusal_names[AGENT_CORE_RPC_REFUSAL_N];
int agent_core_rpc_refusals(const struct rtvd *d, bool read_listener,
			    uint64_t out[AGENT_CORE_RPC_REFUSAL_N]);
uint64_t agent_core_rpc_read_only_refused(const struct rtvd *d);
/* The nng URL of agent `id`'s RPC listener: its host record, else the
 * [cluster] peer list; NULL if unknown. */
const char *agent_core_peer_url(const struct rtvd *d, uint64_t id);
/* The hand-off from other threads to the loop (loopq.h). */
struct agent_loopq *agent_core_loopq(struct rtvd *d);

/* Submitting a command as rtvd itself (self-registration, escalations, VM
 * records): served like a client's submit — on this node if it leads,
 * else forwarded to the leader's agent, waiting up to [rpc] leader_wait for
 * one — but not counted as an RPC request. cb runs exactly once, maybe
 * inside agent_core_submit, with status 0, a negative errno or
 * CONS_EREFUSED, and err a sentence (never NULL). cmd is the command as
 * submitted. */
struct agent_submit;
typedef void (*agent_submit_cb)(void *arg, const struct cons_cmd *cmd, int status,
				const char *err);
/* Returns 0 with *out set (before cb can run; the core frees it after cb
 * returns), or -EINVAL (err says why) / -ENOMEM, and cb never runs.
 * agent_core_submit is agent_submit_new then agent_submit_run; a module
 * that must record the command in flight before an answer can arrive
 * uses the two steps. */
int agent_core_submit(struct rtvd *d, const struct cons_cmd *cmd, agent_submit_cb cb,
		      void *arg, struct agent_submit **out, char err[CONS_ERRLEN]);
/* Validates cmd and makes the submit without sending it: 0, -EINVAL, -ENOMEM. */
int agent_submit_new(struct rtvd *d, const struct cons_cmd *cmd, agent_submit_cb cb,
		     void *arg, struct agent_submit **out, char err[CONS_ERRLEN]);
/* Sends it; cb may run inside. */
void agent_submit_run(struct agent_submit *s);
/* Drops a submit in flight without calling its cb: only after uv_run has
 * returned (a module's free hook). */
void agent_submit_drop(struct agent_submit *s);

/* ------------------------------------------------------------------------- */
/* What a module offers the core                                             */

/* The request engine's events, for whoever counts them (telemetry). */
enum agent_req_ev_type {
	AGENT_REQ_STARTED,	/* a client's request began to be served */
	AGENT_REQ_DONE,		/* a client's request was answered */
	AGENT_REQ_FORWARDED,	/* a request was sent on to the leader's agent */
	AGENT_REQ_COMMITTED,	/* a submit committed and applied on this leader */
};

struct agent_req_ev {
	enum agent_req_ev_type type;
	int op;			/* DONE: enum agent_op (rpc/request.h); 0 = did not decode */
	bool started;		/* DONE: a STARTED was reported for it */
	int status;		/* DONE */
	uint64_t commit_ns;	/* COMMITTED: from proposal to apply */
};

/* Every hook is optional (NULL). `self` is what init or start stored; a
 * module that leaves it NULL (disabled by its configuration) gets no other
 * hook but free. */
struct agent_module {
	const char *name;
	/* Its own section of rtvd.conf, [section] (NULL: none), parsed with the
	 * rest of the file before anything starts, so the values live in the
	 * module's own static storage. config_key gets each key = value of the
	 * section (a key given twice is refused before it is called); returns 0,
	 * or -EINVAL with why (a sentence: what is wrong and what would do), or
	 * -ENOENT for a key it does not know. config_done runs after the whole
	 * file (also when the section is absent): defaults, required keys and
	 * consistency; 0 or -EINVAL with why. */
	const char *section;
	int (*config_key)(const char *key, const char *value, char *why, size_t whylen);
	int (*config_done)(const struct agent_config *cfg, char *why, size_t whylen);
	/* Before the Raft node starts (e.g. metrics, so that the replay of the
	 * log at start is counted). 0 or a negative errno after logging why. */
	int (*init)(struct rtvd *d, void **self);
	/* After the Raft node started and before the RPC server listens. */
	int (*start)(struct rtvd *d, void **self);
	/* Raft applied cmd (res: its outcome), or restored a snapshot. */
	void (*applied)(void *self, const struct cons_cmd *cmd, const struct cons_result *res);
	void (*restored)(void *self);
	/* The request engine's events. */
	void (*request)(void *self, const struct agent_req_ev *ev);
	/* The `status` reply (rpc/proto.h): the number of keys pack_status adds
	 * to the reply map, and packs them. 0 or -ENOMEM. */
	size_t (*status_keys)(void *self);
	int (*pack_status)(void *self, msgpack_packer *pk);
	/* The `paths` reply: packs rtpath p as its own map (cons_pack_path's
	 * keys and any of the module's) and returns 1, or returns 0 to leave
	 * it to the next module (the core packs cons_pack_path's map when none
	 * does). <0 on error. */
	int (*pack_path)(void *self, msgpack_packer *pk, const struct cons_rtpath *p);
	/* A named interface this module offers other modules (NULL: none of
	 * that name). See agent_core_iface. */
	const void *(*iface)(void *self, const char *name);
	/* Shutdown, after the Raft node closed: stop timers, threads and
	 * sockets; no hook acts afterwards. uv_run runs afterwards. */
	void (*close)(void *self);
	/* After uv_run has returned: free what init/start made. */
	void (*free)(void *self);
};

#define AGENT_MODULES_MAX 16

/* Registers m (static storage) for every later agent_config_load and
 * rtvd_run; call before both, in the order the modules start. Returns 0 or
 * -ENOSPC / -EEXIST (same descriptor, name or section twice). */
int agent_module_register(const struct agent_module *m);

/* Calls fn(arg, self, iface) for every started module that offers the
 * interface `name` (registration order). */
void agent_core_iface(const struct rtvd *d, const char *name,
		      void (*fn)(void *arg, void *self, const void *iface), void *arg);

/* Runs rtvd with a validated configuration until SIGTERM/SIGINT, with the
 * registered modules. Returns the process exit code. */
int rtvd_run(const struct agent_config *cfg);

#endif /* RTV_AGENT_CORE_H */
