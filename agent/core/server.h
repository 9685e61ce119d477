/* server.h — rtvd's RPC listener (rpc/proto.h).
 *
 * One nng rep socket listening on the CLI's ipc:// socket (mode 0660, owner
 * root, group [node] cli_group) and on [node] rpc_addr (tcp://, for other
 * agents), served by a pool of [rpc] contexts nng contexts, each cycling
 * receive → decode → serve (agent_job_run) → send, so that many requests are
 * in progress at once while the loop never waits. All calls run on the loop.
 */
#ifndef RTV_AGENT_SERVER_H
#define RTV_AGENT_SERVER_H

#include <nng/nng.h>
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
	struct agent_server_ctx *ctxs;
	unsigned n_ctxs;
	bool sock_open, accepting, closed;
	struct rtv_ratelimit bad_rl;
	/* statistics */
	uint64_t n_requests, n_bad;
};

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
