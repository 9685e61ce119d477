/* creds.c — rack names and the credentials of one holder (CA, certificate,
 * key), loaded once and shared by its TLS sessions.
 *
 * Loading checks what would otherwise surface as an obscure handshake
 * failure on every peer: that the certificate chains to the CA given, is
 * valid now, matches the key and carries a rack name. The TLS configuration
 * (mbedtls_ssl_config) is built here once per role: mbedTLS keeps a pointer
 * to it in every session, hence the reference count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki/pki_internal.h"

/* ------------------------------------------------------------------------- */
/* Names                                                                      */

static int parse_who(const char *s, struct pki_peer *out, enum pki_kind kind)
{
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return -EINVAL;
	out->kind = kind;
	out->host_id = 0;
	return 0;
}

int pki_name_parse(const char *name, struct pki_peer *out)
{
	struct pki_peer p = { .kind = PKI_KIND_NONE };
	size_t hl = strlen(PKI_HOST_PREFIX);
	int rc = -EINVAL;

	if (!name || strlen(name) >= PKI_NAME_MAX)
		return -EINVAL;
	if (strncmp(name, PKI_HOST_PREFIX, hl) == 0) {
		const char *d = name + hl;
		uint64_t id = 0;

		if (*d < '1' || *d > '9' || strlen(d) > 19)	/* no sign, no leading 0 */
			return -EINVAL;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return -EINVAL;
			id = id * 10 + (uint64_t)(*d - '0');
		}
		if (id > INT64_MAX)
			return -EINVAL;
		p.kind = PKI_KIND_HOST;
		p.host_id = id;
		rc = 0;
	} else if (strncmp(name, PKI_ADMIN_PREFIX, strlen(PKI_ADMIN_PREFIX)) == 0) {
		rc = parse_who(name + strlen(PKI_ADMIN_PREFIX), &p, PKI_KIND_ADMIN);
	} else if (strncmp(name, PKI_READER_PREFIX, strlen(PKI_READER_PREFIX)) == 0) {
		rc = parse_who(name + strlen(PKI_READER_PREFIX), &p, PKI_KIND_READER);
	}
	if (rc != 0)
		return rc;
	snprintf(p.name, sizeof(p.name), "%s", name);
	*out = p;
	return 0;
}

void pki_host_name(uint64_t id, char buf[PKI_NAME_MAX])
{
	snprintf(buf, PKI_NAME_MAX, PKI_HOST_PREFIX "%" PRIu64, id);
}

const char *pki_kind_name(enum pki_kind k)
{
	switch (k) {
	case PKI_KIND_HOST: return "host";
	case PKI_KIND_ADMIN: return "admin";
	case PKI_KIND_READER: return "reader";
	default: return "none";
	}
}

/* The subject CN of crt into buf ("?" when it has none). */
void pki__crt_cn(const mbedtls_x509_crt *crt, char *buf, size_t cap)
{
	const mbedtls_x509_name *n;

	snprintf(buf, cap, "?");
	for (n = &crt->subject; n; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		snprintf(buf, cap, "%.*s", (int)n->val.len, (const char *)n->val.p);
		return;
	}
}

/* The rack name of a certificate: its CN, which must also appear among its
 * DNS subjectAltNames when it has any (a certificate naming two holders is
 * refused). */
int pki__crt_peer(const mbedtls_x509_crt *crt, struct pki_peer *out)
{
	char cn[PKI_NAME_MAX + 8];
	const mbedtls_x509_sequence *san;
	bool has_san = false, cn_in_san = false;

	pki__crt_cn(crt, cn, sizeof(cn));
	if (pki_name_parse(cn, out) != 0)
		return -EINVAL;
	for (san = &crt->subject_alt_names; san && san->buf.p; san = san->next) {
		if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != 2)	/* dNSName */
			continue;
		has_san = true;
		if (san->buf.len == strlen(cn) && memcmp(san->buf.p, cn, san->buf.len) == 0)
			cn_in_san = true;
		else
			return -EINVAL;
	}
	return has_san && !cn_in_san ? -EINVAL : 0;
}

void pki__x509_time(const mbedtls_x509_time *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", t->year, t->mon, t->day,
		 t->hour, t->min, t->sec);
}

static int64_t x509_epoch(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
			 .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };

	return (int64_t)timegm(&tm);
}

/* ------------------------------------------------------------------------- */
/* Loading                                                                    */

static int file_errno(int mbed_rc)
{
	return mbed_rc == MBEDTLS_ERR_PK_FILE_IO_ERROR || mbed_rc == MBEDTLS_ERR_X509_FILE_IO_ERROR
		? -ENOENT : -EINVAL;
}

static int load_files(struct pki_creds *c, const char *ca_file, const char *cert_file,
		      const char *key_file, char err[PKI_ERRLEN])
{
	char why[120];
	int rc;

	rc = mbedtls_x509_crt_parse_file(&c->ca, ca_file);
	if (rc != 0) {
		mbedtls_strerror(rc, why, sizeof(why));
		snprintf(err, PKI_ERRLEN, "rack CA certificate %.80s: %s", ca_file, why);
		return file_errno(rc);
	}
	rc = mbedtls_x509_crt_parse_file(&c->crt, cert_file);
	if (rc != 0) {
		mbedtls_strerror(rc, why, sizeof(why));
		snprintf(err, PKI_ERRLEN, "certificate %.80s: %s", cert_file, why);
		return file_errno(rc);
	}
	rc = mbedtls_pk_parse_keyfile(&c->key, key_file, NULL);
	if (rc != 0) {
		mbedtls_strerror(rc, why, sizeof(why));
		snprintf(err, PKI_ERRLEN, "private key %.80s: %s", key_file, why);
		return file_errno(rc);
	}
	if (mbedtls_pk_check_pair(&c->crt.pk, &c->key) != 0) {
		snprintf(err, PKI_ERRLEN, "private key %.80s does not belong to certificate %.80s",
			 key_file, cert_file);
		return -EINVAL;
	}
	return 0;
}

static int check_own(struct pki_creds *c, const char *cert_file, bool any_time,
		     char err[PKI_ERRLEN])
{
	const uint32_t when_flags = MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE;
	char cn[PKI_NAME_MAX + 8], when[40], info[160];
	uint32_t flags = 0;

	pki__crt_cn(&c->crt, cn, sizeof(cn));
	if (!any_time && mbedtls_x509_time_is_past(&c->crt.valid_to)) {
		pki__x509_time(&c->crt.valid_to, when, sizeof(when));
		snprintf(err, PKI_ERRLEN, "certificate %.80s (%.60s) expired on %.30s; issue a new "
			 "one with rtv-pki.sh issue", cert_file, cn, when);
		return -EKEYEXPIRED;
	}
	if (!any_time && mbedtls_x509_time_is_future(&c->crt.valid_from)) {
		pki__x509_time(&c->crt.valid_from, when, sizeof(when));
		snprintf(err, PKI_ERRLEN, "certificate %.80s (%.60s) is not valid before %.30s; "
			 "check this host's clock", cert_file, cn, when);
		return -EKEYEXPIRED;
	}
	if (mbedtls_x509_crt_verify(&c->crt, &c->ca, NULL, NULL, &flags, NULL, NULL) != 0 &&
	    (!any_time || (flags & ~when_flags) != 0)) {
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		snprintf(err, PKI_ERRLEN, "certificate %.80s (%.60s) does not verify against the "
			 "rack CA: %.60s", cert_file, cn, info);
		return -EINVAL;
	}
	if (pki__crt_peer(&c->crt, &c->self) != 0) {
		snprintf(err, PKI_ERRLEN, "certificate %.80s names \"%.60s\", not a rack name "
			 "(rtvd-host-<id>, rtvctl-admin-<who>, rtvctl-read-<who>)", cert_file, cn);
		return -EINVAL;
	}
	return 0;
}

/* Allowed suites: ECDHE with ECDSA certificates (what rtv-pki.sh issues),
 * AEAD only. */
static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	0
};

static int conf_role(struct pki_creds *c, mbedtls_ssl_config *conf, int endpoint)
{
	int rc;

	mbedtls_ssl_config_init(conf);
	rc = mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0)
		return -ENOMEM;
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);	/* TLS 1.2 */
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(conf, &c->ca, NULL);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_ciphersuites(conf, suites);
	rc = mbedtls_ssl_conf_own_cert(conf, &c->crt, &c->key);
	return rc == 0 ? 0 : -ENOMEM;
}

int pki_creds_new(const char *ca_file, const char *cert_file, const char *key_file,
		  unsigned flags, struct pki_creds **out, char err[PKI_ERRLEN])
{
	static const char pers[] = "rtvnet-pki";
	struct pki_creds *c;
	int rc;

	if (!ca_file || !cert_file || !key_file || !out) {
		snprintf(err, PKI_ERRLEN, "pki: the CA, certificate and key files are required");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, PKI_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	c->refs = 1;
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf[PKI_CLIENT]);
	mbedtls_ssl_config_init(&c->conf[PKI_SERVER]);
	rc = load_files(c, ca_file, cert_file, key_file, err);
	if (rc == 0)
		rc = check_own(c, cert_file, flags & PKI_CREDS_ALLOW_EXPIRED, err);
	if (rc == 0 && mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
					     (const unsigned char *)pers, sizeof(pers)) != 0) {
		snprintf(err, PKI_ERRLEN, "pki: cannot seed the random generator");
		rc = -EIO;
	}
	if (rc == 0 && (conf_role(c, &c->conf[PKI_CLIENT], MBEDTLS_SSL_IS_CLIENT) != 0 ||
			conf_role(c, &c->conf[PKI_SERVER], MBEDTLS_SSL_IS_SERVER) != 0)) {
		snprintf(err, PKI_ERRLEN, "pki: out of memory");
		rc = -ENOMEM;
	}
	if (rc != 0) {
		pki_creds_free(c);
		return rc;
	}
	c->not_after = x509_epoch(&c->crt.valid_to);
	*out = c;
	return 0;
}

struct pki_creds *pki_creds_ref(struct pki_creds *c)
{
	c->refs++;
	return c;
}

void pki_creds_free(struct pki_creds *c)
{
	if (!c || --c->refs > 0)
		return;
	mbedtls_ssl_config_free(&c->conf[PKI_CLIENT]);
	mbedtls_ssl_config_free(&c->conf[PKI_SERVER]);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	mbedtls_pk_free(&c->key);
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
}

const struct pki_peer *pki_creds_self(const struct pki_creds *c)
{
	return &c->self;
}

int64_t pki_creds_not_after(const struct pki_creds *c)
{
	return c->not_after;
}
