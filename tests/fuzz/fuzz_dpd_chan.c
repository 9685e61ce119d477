// fuzz-modules: sched common pki consensus
// fuzz-files: dpd/codec.c dpd/codec_msg.c dpd/codec_stats.c dpd/chan_io.c
/* fuzz_dpd_chan.c — the rtvd<->rtvdp channel's decoder (dpd/dpd.h) on
 * arbitrary bytes, as a broken or hostile peer on the local socket would
 * send them, through the frame reassembly first.
 *
 * Properties: no crash, leak or unbounded allocation on any input (ASan and
 * libFuzzer's malloc limit watch); a refusal always comes with a message and
 * leaves the output untouched; a message that decodes is valid by the
 * encoder's rules, and encoding it, decoding that and encoding again gives
 * the same bytes (the codec loses nothing it accepted). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpd/dpd.h"

static void check_roundtrip(const struct dpd_msg *m)
{
	struct dpd_msg back;
	char err[CONS_ERRLEN];
	uint8_t *a, *b;
	size_t la, lb;

	if (dpd_msg_encode(m, (void **)&a, &la, err) != 0)
		abort();	/* the decoder let through what the encoder refuses */
	if (dpd_msg_decode(a + DPD_HDR_BYTES, la - DPD_HDR_BYTES, &back, err) != 0)
		abort();
	if (dpd_msg_encode(&back, (void **)&b, &lb, err) != 0)
		abort();
	if (la != lb || memcmp(a, b, la) != 0)
		abort();
	dpd_msg_free(&back);
	free(a);
	free(b);
}

static void one(const uint8_t *body, size_t len)
{
	struct dpd_msg m, untouched;
	char err[CONS_ERRLEN];

	memset(&m, 0x5a, sizeof(m));
	untouched = m;
	if (dpd_msg_decode(body, len, &m, err) == 0) {
		check_roundtrip(&m);
		dpd_msg_free(&m);
	} else if (err[0] == '\0' || memcmp(&m, &untouched, sizeof(m)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpd_rbuf rb;
	const uint8_t *body;
	size_t len;
	int rc;

	one(data, size);	/* the input as one frame's body */
	dpd_rbuf_init(&rb);	/* and as a stream of frames, in two reads */
	if (dpd_rbuf_feed(&rb, data, size / 2) == 0) {
		while ((rc = dpd_rbuf_next(&rb, &body, &len)) == 1)
			one(body, len);
		if (rc == 0 && dpd_rbuf_feed(&rb, data + size / 2, size - size / 2) == 0)
			while (dpd_rbuf_next(&rb, &body, &len) == 1)
				one(body, len);
	}
	dpd_rbuf_close(&rb);
	return 0;
}
