/* rtvd.h — the daemon's context and the life of a request inside it.
 * Private to agent/core/ (modules see core.h only).
 *
 * One struct rtvd per process, owned by rtvd_run's stack frame; all of it
 * is touched on the libuv loop thread only (nng's threads reach it through
 * the loop queue, loopq.h). Start-up order (daemon.c): config → logging →
 * state → loop queue and forwarding → modules' init hooks → Raft node →
 * modules' start hooks (registration order) → RPC listeners → "ready".
 * Shutdown: stop accepting → hand leadership over (bounded) → close the
 * Raft node → modules' close hooks (reverse order) → close nng → close
 * every handle → uv_run returns with nothing open → modules' free hooks.
 */
#ifndef RTV_AGENT_RTVD_H
#define RTV_AGENT_RTVD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "agent/core/loopq.h"
#include "agent/core/config.h"
#include "agent/core/forward.h"
#include "agent/telemetry/http.h"
#include "rpc/request.h"
#include "agent/core/server.h"
#include "agent/telemetry/telemetry.h"
#include "consensus/consensus.h"

#define RTVD_VERSION "0.3.0"

struct rtvd;
struct agent_job;
struct agent_ovs;
struct agent_dp;

/* The answer to a job, exactly once: the reply's msgpack bytes (valid during
 * the call) and its status and error text. The job may be freed inside. */
typedef void (*agent_job_done_fn)(struct agent_job *job, const void *reply, size_t len,
				  int status, const char *err);

/* One request being served: from a client (server.c) or from rtvd itself
 * (self-registration). Caller-allocated and reusable. */
struct agent_job {
	struct rtvd *d;
	struct agent_req req;		/* set by the caller before agent_job_run */
	agent_job_done_fn done;
	/* private to dispatch.c */
	struct agent_job *wprev, *wnext;	/* in d->waiting */
	struct agent_fwd_op fwd;
	uint64_t start_ms;
	uint64_t deadline_ms;		/* answer by then (leader wait, sender's wait) */
	uint64_t submit_ns;		/* uv_hrtime() when proposed on this leader */
	bool internal;			/* rtvd's own (not counted as an RPC request) */
	bool ev_started;		/* AGENT_REQ_STARTED reported (modules' request hook) */
	uint64_t fwd_leader;		/* forwarded to (0 = not in flight) */
	bool waiting;
	int last_status;		/* why the last attempt did not answer */
	char last_err[CONS_ERRLEN];
};

struct rtvd {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct cons_state *state;
	struct cons_node *node;
	struct agent_loopq loopq;
	struct agent_fwd fwd;
	struct agent_server server;
	/* the registered modules (module.c), started ones with their self */
	struct agent_module_slot {
		const struct agent_module *m;
		void *self;
	} mods[AGENT_MODULES_MAX];
	size_t n_mods;

	uv_signal_t sig_term, sig_int;
	uv_timer_t wait_timer;		/* retries waiting jobs while any wait */
	uv_timer_t reg_timer;		/* self-registration checks */
	uv_timer_t stop_timer;		/* bounds the leadership hand-over */

	uint64_t leader_id;
	bool is_leader;
	struct agent_job *waiting;	/* jobs waiting for a (reachable) leader */
	size_t n_waiting;

	/* self-registration: HOST_ADD for this host once a leader exists */
	struct agent_submit *reg_job;
	bool registered, reg_refused;

	uint64_t n_applied;		/* commands applied on this replica */

	bool loopq_open, fwd_open, timers_open, stopping, node_closing;
	int exit_code;
};

/* dispatch.c */
void agent_job_init(struct agent_job *job, struct rtvd *d, agent_job_done_fn done);
/* Releases the job's request and nng resources; the job must be idle. */
void agent_job_close(struct agent_job *job);
/* Serves job->req: locally, on this node as leader, or forwarded to the
 * leader's agent; job->done runs once with the answer. */
void agent_job_run(struct agent_job *job);
/* Answers job with an error (status, sentence). */
void agent_job_fail(struct agent_job *job, int status, const char *err);
/* The leader changed: cancel forwards to others, retry waiting jobs. */
void agent_dispatch_leader_changed(struct rtvd *d);
/* Fails every waiting job with -ESHUTDOWN (shutdown). */
void agent_dispatch_fail_waiting(struct rtvd *d);

/* module.c: the registered module that owns [section], or NULL; every
 * module's config_done (the first failure's -EINVAL and why); ", a, b"
 * for the sections modules own ("" if none). */
const struct agent_module *agent_module_of_section(const char *section);
int agent_modules_config_done(const struct agent_config *cfg, char *why, size_t whylen);
void agent_module_sections(char *buf, size_t n);

/* module.c: the registered modules' hooks, in registration order (close:
 * reverse). init/start stop at the first failure (its errno). */
int agent_modules_init(struct rtvd *d);
int agent_modules_start(struct rtvd *d);
void agent_modules_applied(struct rtvd *d, const struct cons_cmd *cmd,
			   const struct cons_result *res);
void agent_modules_restored(struct rtvd *d);
void agent_modules_request(struct rtvd *d, const struct agent_req_ev *ev);
size_t agent_modules_status_keys(const struct rtvd *d);
int agent_modules_pack_status(const struct rtvd *d, msgpack_packer *pk);
int agent_modules_pack_path(const struct rtvd *d, msgpack_packer *pk,
			    const struct cons_rtpath *p);
void agent_modules_close(struct rtvd *d);
void agent_modules_free(struct rtvd *d);

/* reply.c: replies as msgpack (malloc'd *buf the caller frees). All return
 * 0 or -ENOMEM. */
int agent_reply_error(const struct rtvd *d, int status, const char *err, void **buf,
		      size_t *len);
int agent_reply_ok(const struct rtvd *d, void **buf, size_t *len);
int agent_reply_submit(const struct rtvd *d, const struct cons_result *res, void **buf,
		       size_t *len);
/* A read op from this replica's state; stale = served without a barrier.
 * Fills *status/err (e.g. -ENOENT for a missing path id). */
int agent_reply_read(const struct rtvd *d, const struct agent_req *req, bool stale,
		     void **buf, size_t *len, int *status, char err[CONS_ERRLEN]);

#endif /* RTV_AGENT_RTVD_H */
