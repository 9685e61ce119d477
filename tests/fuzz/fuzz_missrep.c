// fuzz-modules: sched common consensus
// fuzz-files: agent/dataplane/missrep.c
/* fuzz_missrep.c — the miss-report decoder (agent/dataplane/missrep.c) on arbitrary
 * bytes, as a datagram from anyone on the management network would be.
 *
 * Properties: no crash, leak or unbounded allocation on any input (ASan and
 * libFuzzer's malloc limit watch); a refusal always comes with a message and
 * leaves the output untouched; a datagram that decodes is valid by the
 * encoder's rules and re-encodes to bytes that decode to the same reports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dataplane/missrep.h"

static void check_roundtrip(const struct agent_missrep_msg *m)
{
	struct agent_missrep_msg back;
	char err[CONS_ERRLEN];
	void *buf;
	size_t len;

	if (agent_missrep_encode(m, &buf, &len) != 0)
		abort();	/* the decoder let through what the encoder refuses */
	if (agent_missrep_decode(buf, len, &back, err) != 0)
		abort();
	if (back.host != m->host || back.seq != m->seq || back.n != m->n ||
	    memcmp(back.r, m->r, m->n * sizeof(m->r[0])) != 0)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_missrep_msg m, untouched;
	char err[CONS_ERRLEN];

	memset(&m, 0x5a, sizeof(m));
	untouched = m;
	if (agent_missrep_decode(data, size, &m, err) == 0)
		check_roundtrip(&m);
	else if (err[0] == '\0' || memcmp(&m, &untouched, sizeof(m)) != 0)
		abort();
	return 0;
}
