/* client.h — a small synchronous client of rtvd's RPC protocol (proto.h).
 *
 * One struct agent_client is one nng req socket dialled to one or more
 * agents ("ipc:///run/rtvd/rtvd.sock", "tcp://127.0.0.1:7001", or several
 * separated by commas: a request goes to any connected agent and moves to
 * another when its connection drops). It is used by one thread at a time;
 * benchmarks that want concurrency open one client per thread.
 *
 * Every client has a random client_id (getrandom) and a sequence counter,
 * so its submits are exactly-once: agent_client_submit retries a command
 * with the SAME (client_id, seq) while the rack is unavailable (no leader,
 * leadership lost, agent restarting, connection refused, a timed-out
 * attempt) until the overall timeout, and the state machine answers a
 * retried command from its deduplication table instead of applying it again.
 *
 * Errors: 0 or a negative errno. Functions that talk to rtvd return 0 when a
 * reply arrived (its status is in the reply), or -ETIMEDOUT (no reply in
 * time), -ECONNREFUSED (nothing listening), -EACCES (the ipc socket's
 * permissions), -EPROTO (a malformed reply), -ENOMEM; `err` of the client
 * says why in a sentence. nng's error codes are translated here and nowhere
 * else.
 */
#ifndef RTV_AGENT_CLIENT_H
#define RTV_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "consensus/consensus.h"

#define AGENT_CLIENT_DEFAULT_URL "ipc:///run/rtvd/rtvd.sock"
#define AGENT_CLIENT_ERRLEN 512

struct agent_client;

/* A request being built: agent_client_req_begin packs the map header and the common
 * keys ("v", "op", "wait_ms", and "lin" when lin), the caller then packs exactly
 * n_args key/value pairs with req->pk, and hands req to a call. */
struct agent_client_req {
	msgpack_sbuffer buf;
	msgpack_packer pk;
};

/* A decoded reply. The common keys are copied out; `map` is the whole reply
 * (a msgpack map) for op-specific results, valid until agent_client_reply_close. */
struct agent_client_reply {
	int status;		/* 0, -errno, or ±CONS_EREFUSED / ±CONS_ENOTLEADER */
	char err[CONS_ERRLEN];
	uint64_t node, leader, index;
	bool stale;
	const msgpack_object *map;
	/* private */
	void *raw;
	size_t raw_len;
	msgpack_unpacked up;
};

/* The outcome of a submit, after retries. */
struct agent_client_submit_result {
	int status;		/* reply status (0, -errno, CONS_EREFUSED), or the
				 * transport error of the last attempt */
	char err[CONS_ERRLEN];
	uint64_t id;		/* rtpath id for PATH_RESERVE */
	uint64_t index;
	uint64_t node, leader;	/* who answered, and the leader it knew */
	bool dup;		/* answered from the deduplication table */
	unsigned attempts;
};

/* A client certificate for tls+tcp:// URLs (rtvctl pki issue-client): the
 * rack CA that must have issued the agent's certificate, and the client's
 * certificate and key files (PEM). */
struct agent_client_tls {
	const char *ca, *cert, *key;
};

/* Opens a req socket dialled to every URL in the comma-separated `urls`.
 * Fails with -ECONNREFUSED only if `must_connect` and no URL accepted a
 * connection right away; otherwise the dialers keep retrying in the
 * background (every 10..200 ms). timeout_ns bounds every call made without
 * its own deadline. */
int agent_client_new(const char *urls, uint64_t timeout_ns, bool must_connect,
		     struct agent_client **out, char *err, size_t errlen);
/* The same, with a client certificate for the tls+tcp:// URLs (tls may be
 * NULL when there are none; a tls+tcp:// URL without one is -EINVAL). The
 * agent verifies the certificate in the TLS handshake and drops the
 * connection if it refuses it: then the first call fails with -ECONNREFUSED
 * / -ETIMEDOUT and err says the certificate may be the cause. */
int agent_client_new_tls(const char *urls, uint64_t timeout_ns, bool must_connect,
			 const struct agent_client_tls *tls, struct agent_client **out,
			 char *err, size_t errlen);
void agent_client_free(struct agent_client *c);	/* NULL is a no-op */

/* Why the last call on c failed (a sentence), "" after a success. */
const char *agent_client_err(const struct agent_client *c);
uint64_t agent_client_id(const struct agent_client *c);
/* Number of agents currently connected. */
unsigned agent_client_n_connected(const struct agent_client *c);

/* One attempt of a retried call never waits longer than this. */
#define AGENT_CLIENT_ATTEMPT_MAX_NS 1000000000ull

/* wait_ms = AGENT_CLIENT_ATTEMPT_MAX_NS: for calls that retry. */
int agent_client_req_begin(struct agent_client_req *req, const char *op, size_t n_args, bool lin);
/* For single calls that wait longer (membership changes last as long as the
 * new server's catch-up): rtvd answers within 90% of wait_ms. */
int agent_client_req_begin_wait(struct agent_client_req *req, const char *op, size_t n_args,
				bool lin, uint32_t wait_ms);
void agent_client_req_close(struct agent_client_req *req);

/* Sends req and waits for the reply until timeout_ns (0 = the client's
 * default). On 0, *rep must be closed with agent_client_reply_close. One attempt. */
int agent_client_call(struct agent_client *c, const struct agent_client_req *req,
		      uint64_t timeout_ns, struct agent_client_reply *rep);
/* As agent_client_call, but retries while the answer is "unavailable"
 * (agent_client_unavailable) until timeout_ns in total. Safe for reads and
 * for anything carrying its own idempotency key. */
int agent_client_call_retry(struct agent_client *c, const struct agent_client_req *req,
			    uint64_t timeout_ns, struct agent_client_reply *rep);
void agent_client_reply_close(struct agent_client_reply *rep);

/* The value of `key` in the reply map, or NULL. */
const msgpack_object *agent_client_reply_get(const struct agent_client_reply *rep, const char *key);
/* Typed lookups in any msgpack map: 0, -ENOENT (absent) or -EPROTO. */
int agent_client_map_uint(const msgpack_object *map, const char *key, uint64_t *v);
int agent_client_map_int(const msgpack_object *map, const char *key, int64_t *v);
int agent_client_map_bool(const msgpack_object *map, const char *key, bool *v);
/* Copies a string value, NUL-terminated and truncated to n bytes. */
int agent_client_map_str(const msgpack_object *map, const char *key, char *out, size_t n);
const msgpack_object *agent_client_map_get(const msgpack_object *map, const char *key);

/* Submits cmd exactly once: stamps it with the client's id and the next
 * sequence number, encodes it (cons_cmd_encode), and retries as described
 * above until timeout_ns (0 = the client's default). Always fills *res and
 * returns res->status: 0 (applied; res->id, res->dup), CONS_EREFUSED or
 * another refusal from the state machine, -EINVAL when the command does not
 * encode, or an unavailable status / transport error when time ran out
 * (res->err says what happened and what to do). */
int agent_client_submit(struct agent_client *c, struct cons_cmd *cmd, uint64_t timeout_ns,
			struct agent_client_submit_result *res);

/* Classifies a status (reply status or transport error). */
bool agent_client_unavailable(int status);
/* The rtvctl exit code for a status (proto.h). */
int agent_client_exit_code(int status);
/* A short name for a status: "ok", "refused", "ENOENT", "not leader", … */
const char *agent_client_status_name(int status);

/* A random 64-bit value from getrandom(2) (never 0). */
uint64_t agent_client_random_u64(void);

#endif /* RTV_AGENT_CLIENT_H */
