// fuzz-modules: common pki
// fuzz-files: consensus/transport_tls.c
/* fuzz_cons_tls_preamble.c — the Raft-over-TLS preamble decoder
 * (consensus/transport_tls.c) on arbitrary bytes, as a peer with a valid
 * certificate could send them.
 *
 * Properties: no crash; a decoded preamble uses no more bytes than given,
 * has an id > 0 and a printable address, and re-encodes to exactly the
 * bytes it used; -EAGAIN only for a strict prefix of something valid-looking
 * shorter than the largest preamble. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/transport_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[CONS_ADDR_MAX];
	uint8_t back[CONS_TLS_PREAMBLE_FIXED + CONS_ADDR_MAX];
	uint64_t id = 0;
	size_t used = 0, len = 0;
	int rc = cons_tls_preamble_decode(data, size, &id, addr, &used);

	if (rc == -EAGAIN) {
		if (size >= CONS_TLS_PREAMBLE_FIXED + CONS_ADDR_MAX - 1)
			abort();
		return 0;
	}
	if (rc != 0) {
		if (rc != -EPROTO)
			abort();
		return 0;
	}
	if (used > size || id == 0 || strlen(addr) == 0)
		abort();
	if (cons_tls_preamble_encode(id, addr, back, sizeof(back), &len) != 0 || len != used ||
	    memcmp(back, data, used) != 0)
		abort();
	return 0;
}
