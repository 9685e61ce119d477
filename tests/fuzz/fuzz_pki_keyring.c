// fuzz-modules: common pki
/* fuzz_pki_keyring.c — the rack keyring parser (pki/dgram.c) on arbitrary
 * text, as a damaged or hand-edited rack.keys would be.
 *
 * Properties: no crash or leak; a refusal leaves no keyring and says why;
 * an accepted keyring has 1 to PKI_KEYS_MAX distinct non-zero ids. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_keyring *k = NULL;
	char err[PKI_ERRLEN] = "";
	uint16_t ids[PKI_KEYS_MAX];
	size_t n;

	if (pki_keyring_parse((const char *)data, size, &k, err) != 0) {
		if (k || err[0] == '\0')
			abort();
		return 0;
	}
	n = pki_keyring_ids(k, ids);
	if (n == 0 || n > PKI_KEYS_MAX || ids[0] != pki_keyring_primary(k))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (ids[i] == ids[j])
				abort();
	}
	pki_keyring_free(k);
	return 0;
}
