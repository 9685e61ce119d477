/* request.h — rtvd's RPC requests as structs: decoding, validation and
 * encoding of the msgpack maps of rpc/proto.h. Pure: no I/O, no globals,
 * only msgpack-c and consensus/'s command codec, so it can be fuzzed alone
 * (tests/fuzz/fuzz_agent_request.c).
 *
 * The decoder checks the whole message before the caller acts on any of it:
 * the msgpack structure (sizes bounded by the buffer, so a 5-byte message
 * cannot make msgpack-c allocate gigabytes), the version, the operation, the
 * type of every known key, the arguments the operation needs and, for
 * submit, the embedded cons_cmd (cons_cmd_decode validates every field).
 * Unknown keys are ignored (proto.h: forward compatibility).
 */
#ifndef RTV_AGENT_REQUEST_H
#define RTV_AGENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/consensus.h"

enum agent_op {
	AGENT_OP_SUBMIT = 1,
	AGENT_OP_PATHS,
	AGENT_OP_HOSTS,
	AGENT_OP_LINKS,
	AGENT_OP_VMS,
	AGENT_OP_STATUS,
	AGENT_OP_MEMBERS_ADD,
	AGENT_OP_MEMBERS_REMOVE,
	AGENT_OP_TRANSFER,
};

struct agent_req {
	uint32_t v;
	enum agent_op op;
	bool fwd;		/* forwarded by an agent: never forwarded again */
	bool lin;		/* reads: linearizable, served by the leader */
	uint32_t wait_ms;	/* how long the sender waits for the answer; 0 = unsaid */
	/* submit */
	struct cons_cmd cmd;	/* decoded and validated */
	void *cmd_buf;		/* the encoded command as received (malloc'd) */
	size_t cmd_len;
	/* paths (0 = all), members_add, members_remove */
	uint64_t id;
	/* members_add */
	char raft_addr[CONS_ADDR_MAX];
	bool voter;		/* default true */
	/* transfer: 0 = let Raft choose */
	uint64_t to;
};

/* Decodes and validates a request. On 0 the caller owns req and releases it
 * with agent_req_close. On error nothing needs releasing and err says what
 * was wrong: -EPROTO (not a msgpack map, mistyped or duplicate key, missing
 * "v" or "op"), -EPROTONOSUPPORT (newer version), -EOPNOTSUPP (unknown op),
 * -EINVAL (missing or invalid argument, invalid cmd), -ENOMEM. */
int agent_req_decode(const void *buf, size_t len, struct agent_req *req,
		     char err[CONS_ERRLEN]);
void agent_req_close(struct agent_req *req);

/* Builds a submit request around an already-encoded command (copied).
 * Returns 0 or -EINVAL (err says why) / -ENOMEM. */
int agent_req_init_submit(struct agent_req *req, const struct cons_cmd *cmd,
			  char err[CONS_ERRLEN]);

/* Encodes req (with "fwd" as given) into a malloc'd buffer the caller frees.
 * Returns 0 or -ENOMEM. */
int agent_req_encode(const struct agent_req *req, bool fwd, void **buf, size_t *len);

/* True if sending req again cannot apply it twice: reads, and commands
 * deduplicated by (client_id, seq) or idempotent by nature (host_add,
 * link_set, vm_set, noop). Membership changes and transfers are not. */
bool agent_req_retry_safe(const struct agent_req *req);

const char *agent_op_name(enum agent_op op);
/* True for paths, hosts, links, vms, status. */
bool agent_op_is_read(enum agent_op op);

/* The common part of every reply. */
struct agent_reply_head {
	int status;
	uint64_t node, leader;
	char err[CONS_ERRLEN];	/* "" when absent */
};

/* Reads the head of a reply without interpreting the rest. Returns 0 or
 * -EPROTO (not a reply map, or "status" missing or mistyped). */
int agent_reply_peek(const void *buf, size_t len, struct agent_reply_head *h);

#endif /* RTV_AGENT_REQUEST_H */
