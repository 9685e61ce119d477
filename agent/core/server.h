/* server.h — rtvd's RPC listener (rpc/proto.h).
 *
 * One nng rep socket listening on the CLI's ipc:// socket (mode 0660, owner
 * root, group [node] cli_group), on [node] rpc_addr (tls+tcp:// with the
 * rack CA's certificates: other agents and admins; tcp:// when insecure),
 * and on [node] rpc_read_addr when set (tls+tcp://, also trusting [tls]
 * read_ca: a request that would change the rack is refused there with
 * -EPERM, logged with the client's address and counted), served by a pool of [rpc] contexts nng contexts, each cycling
 * receive → decode → serve (agent_job_run) → send, so that many requests are
 * in progress at once while the loop never waits. All calls run on the loop.
 */
#ifndef RTV_AGENT_SERVER_H
#define RTV_AGENT_SERVER_H

#include <nng/nng.h>
#include <uv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

struct rtvd;
struct agent_server_ctx;

struct agent_server {
	/* private */
	struct rtvd *d;
	nng_socket sock;
	nng_listener rpc_l, read_l;
	struct agent_server_ctx *ctxs;
	unsigned n_ctxs;
	bool sock_open, accepting, closed, has_tls, has_read_l, timer_open;
	struct rtv_ratelimit bad_rl, deny_rl;
	uv_timer_t refusal_timer;	/* logs new TLS refusals */
	uint64_t refusals_logged[2];	/* rpc_addr, rpc_read_addr */
	/* statistics */
	uint64_t n_requests, n_bad;
	uint64_t n_read_only_refused;	/* changes asked on the read-only listener */
};

/* Connections a TLS listener refused before they carried a message, by
 * nng's reason: auth (no certificate, another CA, expired, or not TLS at
 * all), proto (a TLS peer that does not speak the SP protocol), timeout,
 * other. */
struct agent_server_refusals {
	uint64_t auth, proto, timeout, other;
};

/* The counts of the rpc_addr listener (read_listener false) or of
 * rpc_read_addr's. 0, or -ENOENT when that listener is not a TLS one. */
int agent_server_refusals(const struct agent_server *s, bool read_listener,
			  struct agent_server_refusals *out);

/* Opens the socket, starts both listeners and arms every context. Returns 0
 * or a negative errno with err filled (e.g. the address is in use). On
 * error, agent_server_close and agent_server_free still apply. */
int agent_server_start(struct agent_server *s, struct rtvd *d, char *err, size_t errlen);
/* Stops taking new requests; those in progress are still answered. */
void agent_server_quiesce(struct agent_server *s);
/* Closes the socket and waits for nng's callbacks to finish (bounded: they
 * only post to the loop queue). Drain the loop queue afterwards. */
void agent_server_close(struct agent_server *s);
/* Frees the contexts, after uv_run has returned. */
void agent_server_free(struct agent_server *s);

#endif /* RTV_AGENT_SERVER_H */
