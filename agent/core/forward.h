/* forward.h — sending requests to other agents (the leader's, mostly).
 *
 * One nng req socket per peer agent, dialled once and kept (nng reconnects
 * by itself), with one req context per request in flight, so many forwarded
 * requests share a connection. Completions come back on the libuv loop
 * through the loop queue. Each peer also counts its connected pipes, which tells
 * "is that agent reachable?" without sending anything.
 *
 * All functions run on the loop thread.
 */
#ifndef RTV_AGENT_FORWARD_H
#define RTV_AGENT_FORWARD_H

#include <nng/nng.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/core/loopq.h"
#include "consensus/consensus.h"

/* status 0 with the reply's bytes (valid during the call only), or a
 * negative errno: -ETIMEDOUT, -ECANCELED (agent_fwd_cancel_others),
 * -ESHUTDOWN (agent_fwd_close), -ENOMEM, ... */
typedef void (*agent_fwd_cb)(void *arg, int status, const void *reply, size_t len);

struct agent_fwd_peer {
	uint64_t id;			/* 0 = free slot */
	char url[CONS_ADDR_MAX];
	nng_socket sock;
	atomic_int pipes;		/* connected pipes (nng's threads update it) */
	unsigned in_flight;
};

/* One request in flight; embedded in its owner and reusable. */
struct agent_fwd_op {
	/* private */
	struct agent_fwd *fwd;
	struct agent_fwd_op *prev, *next;	/* in fwd->ops while in flight */
	struct agent_loopq_item item;
	nng_aio *aio;
	nng_ctx ctx;
	struct agent_fwd_peer *peer;
	uint64_t deadline_ms;
	bool in_flight, receiving, cancelled;
	agent_fwd_cb cb;
	void *arg;
};

struct agent_fwd {
	/* private */
	struct agent_loopq *loopq;
	struct agent_fwd_peer peers[CONS_PEERS_MAX];
	struct agent_fwd_op *ops;
	const char *tls_ca, *tls_cert, *tls_key;	/* NULL: no certificates */
	bool closed;
};

/* tls_*: the rack CA and this host's certificate and key files ([tls];
 * NULL or "" without), used towards peers whose URL is tls+tcp://; they
 * must outlive f. */
void agent_fwd_init(struct agent_fwd *f, struct agent_loopq *loopq, const char *tls_ca,
		    const char *tls_cert, const char *tls_key);
/* Closes every peer socket; requests in flight complete with -ESHUTDOWN
 * through the loop queue (drain it afterwards). Waits for nng's callbacks to
 * finish (bounded: they only post to the loop queue). */
void agent_fwd_close(struct agent_fwd *f);

void agent_fwd_op_init(struct agent_fwd_op *op);
/* Frees the op's nng resources; it must not be in flight. */
void agent_fwd_op_close(struct agent_fwd_op *op);

/* Sends req (copied) to agent `id` at `url` and waits up to timeout_ms for
 * the reply. Returns 0 (cb will run once) or a negative errno (it will not). */
int agent_fwd_send(struct agent_fwd *f, struct agent_fwd_op *op, uint64_t id, const char *url,
		   const void *req, size_t len, unsigned timeout_ms, agent_fwd_cb cb, void *arg);
/* Cancels the requests in flight to agents other than keep_id (the leader
 * changed: they are retried elsewhere) for which may_cancel(cb's arg) says
 * yes; their callbacks run with -ECANCELED. */
void agent_fwd_cancel_others(struct agent_fwd *f, uint64_t keep_id,
			     bool (*may_cancel)(void *arg));

/* Starts dialling agent `id` at `url` if not already (so that reachability
 * is known later). Returns 0 or a negative errno. */
int agent_fwd_touch(struct agent_fwd *f, uint64_t id, const char *url);
/* True if a connection to agent `id` is up now. */
bool agent_fwd_reachable(const struct agent_fwd *f, uint64_t id);

#endif /* RTV_AGENT_FORWARD_H */
