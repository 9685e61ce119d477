// fuzz-modules: sched common consensus rpc
/* fuzz_agent_request.c — rtvd's RPC request decoder (rpc/request.c) and
 * reply peek on arbitrary bytes.
 *
 * Properties: no crash, leak or unbounded allocation on any input (ASan and
 * libFuzzer's malloc limit watch); a refusal always comes with a message; a
 * request that decodes re-encodes to bytes that decode to the same request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/request.h"

static void check_roundtrip(const struct agent_req *req)
{
	char err[CONS_ERRLEN];
	struct agent_req back;
	void *buf;
	size_t len;

	if (agent_req_encode(req, req->fwd, &buf, &len) != 0)
		return;
	if (agent_req_decode(buf, len, &back, err) != 0)
		abort();
	if (back.op != req->op || back.fwd != req->fwd || back.lin != req->lin ||
	    back.id != req->id || back.to != req->to ||
	    strcmp(back.raft_addr, req->raft_addr) != 0 ||
	    (req->op == AGENT_OP_MEMBERS_ADD && back.voter != req->voter) ||
	    back.cmd_len != req->cmd_len ||
	    (req->cmd_len && memcmp(back.cmd_buf, req->cmd_buf, req->cmd_len) != 0) ||
	    back.cmd.op != req->cmd.op)
		abort();
	agent_req_close(&back);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONS_ERRLEN];
	struct agent_reply_head h;
	struct agent_req req;

	if (agent_req_decode(data, size, &req, err) == 0) {
		check_roundtrip(&req);
		agent_req_close(&req);
	} else if (err[0] == '\0') {
		abort();
	}
	agent_reply_peek(data, size, &h);
	return 0;
}
