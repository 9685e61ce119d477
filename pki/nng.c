/* nng.c — the rack's credentials for nng's tls+tcp:// (the agent RPC).
 *
 * Debian's nng 1.5 is built with mbedTLS: its TLS verifies the peer's chain
 * against the CA given (NNG_TLS_AUTH_MODE_REQUIRED on both sides, so the
 * client must present a certificate too) and, on a dialer, the server's
 * name. What nng 1.5 cannot do is tell the listener *who* the verified
 * client is: it has no option for the peer certificate's name (later
 * versions have NNG_OPT_TLS_PEER_CN). So the RPC can refuse everyone
 * without a rack certificate here, but telling an admin from a reader needs
 * something more (docs/security.md, "RPC rights").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "pki/pki.h"

/* Reads a whole (small) PEM file into a NUL-terminated malloc'd string. */
static char *slurp(const char *path, char err[PKI_ERRLEN])
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, PKI_ERRLEN, "%.160s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1 << 20 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		buf[n] = '\0';
	else {
		free(buf);
		buf = NULL;
		snprintf(err, PKI_ERRLEN, "%.160s: unreadable or not a PEM file", path);
	}
	fclose(f);
	return buf;
}

int pki_nng_tls_config(const char *ca_file, const char *cert_file, const char *key_file,
		       bool server, uint64_t expect_host_id, nng_tls_config **out,
		       char err[PKI_ERRLEN])
{
	nng_tls_config *cfg = NULL;
	char *crt = NULL, *key = NULL, name[PKI_NAME_MAX];
	int rv;

	crt = slurp(cert_file, err);
	key = crt ? slurp(key_file, err) : NULL;
	if (!crt || !key) {
		free(crt);
		return -EINVAL;
	}
	rv = nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
	if (rv == 0)
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv == 0)
		rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_2);
	if (rv == 0 && (rv = nng_tls_config_ca_file(cfg, ca_file)) != 0)
		snprintf(err, PKI_ERRLEN, "rack CA %.160s: %s", ca_file, nng_strerror(rv));
	else if (rv == 0 && (rv = nng_tls_config_own_cert(cfg, crt, key, NULL)) != 0)
		snprintf(err, PKI_ERRLEN, "certificate %.100s with key %.100s: %s", cert_file,
			 key_file, nng_strerror(rv));
	if (rv == 0 && !server && expect_host_id) {
		pki_host_name(expect_host_id, name);
		rv = nng_tls_config_server_name(cfg, name);
	}
	memset(key, 0, strlen(key));
	free(key);
	free(crt);
	if (rv != 0) {
		if (cfg)
			nng_tls_config_free(cfg);
		if (rv == NNG_ENOMEM)
			snprintf(err, PKI_ERRLEN, "out of memory");
		return rv == NNG_ENOMEM ? -ENOMEM : -EINVAL;
	}
	*out = cfg;
	return 0;
}

int pki_nng_tls_add_ca(nng_tls_config *cfg, const char *ca_file, char err[PKI_ERRLEN])
{
	int rv = nng_tls_config_ca_file(cfg, ca_file);

	if (rv == 0)
		return 0;
	snprintf(err, PKI_ERRLEN, "CA %.160s: %s", ca_file, nng_strerror(rv));
	return rv == NNG_ENOMEM ? -ENOMEM : -EINVAL;
}

int pki_nng_dial(uint32_t sock_id, const char *url, nng_tls_config *cfg, int flags)
{
	nng_socket sock = { .id = sock_id };
	nng_dialer d;
	int rv = nng_dialer_create(&d, sock, url);

	if (rv == 0)
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
	if (rv == 0)
		rv = nng_dialer_start(d, flags);
	nng_tls_config_free(cfg);
	return rv;
}
