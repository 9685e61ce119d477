// fuzz-modules: common pki
/* fuzz_pki_dgram.c — pki_dgram_open (pki/dgram.c) on arbitrary bytes, as a
 * datagram from anyone on the management network would be.
 *
 * Properties: no crash, leak or out-of-bounds access on any input (ASan);
 * every refusal is counted under exactly one reason; nothing the fuzzer
 * writes opens without the key (a forgery would abort); and the input as a
 * payload seals and opens back to itself exactly once (a replay is
 * refused). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki.h"

static const char keys[] =
	"7 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
	"8 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";

static struct pki_dgram *make(uint64_t self)
{
	struct pki_keyring *k;
	struct pki_dgram *d;
	char err[PKI_ERRLEN];

	if (pki_keyring_parse(keys, sizeof(keys) - 1, &k, err) != 0 ||
	    pki_dgram_new(k, self, 0, &d) != 0)
		abort();
	return d;
}

static uint64_t refusals(const struct pki_dgram_stats *s)
{
	return s->malformed + s->unknown_key + s->bad_tag + s->stale + s->replayed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pki_dgram *tx, *rx;
	const uint64_t now = 1700000000000000000ull;
	uint8_t out[70000], sealed[70000];
	size_t olen, slen;
	uint64_t from, before;
	int rc;

	if (!tx) {
		tx = make(1);
		rx = make(2);
	}
	before = refusals(pki_dgram_stats(rx));
	rc = pki_dgram_open(rx, now, data, size, out, sizeof(out), &olen, &from);
	if (rc == 0)
		abort();	/* the fuzzer forged a tag */
	if (rc != -ENOSPC && refusals(pki_dgram_stats(rx)) != before + 1)
		abort();
	if (size > 65000)
		return 0;
	if (pki_dgram_seal(tx, now, data, size, sealed, sizeof(sealed), &slen) != 0 ||
	    pki_dgram_open(rx, now, sealed, slen, out, sizeof(out), &olen, &from) != 0 ||
	    olen != size || from != 1 || memcmp(out, data, size) != 0)
		abort();
	if (pki_dgram_open(rx, now, sealed, slen, out, sizeof(out), &olen, &from) != -EALREADY)
		abort();
	return 0;
}
