/* tls.c — mbedTLS sessions over memory buffers ("memory BIOs").
 *
 * mbedTLS reads and writes through two callbacks; here they move bytes
 * between the session and two growable buffers, so the session never does
 * I/O and never blocks: the event loop owner feeds what its socket received
 * and sends what the session produced. The receive callback answers
 * WANT_READ when the input is empty, which mbedTLS passes up as "call again
 * with more input".
 *
 * Verification is mbedTLS's (chain to the rack CA, validity period, the
 * expected name on the client side), done during the handshake. A verify
 * callback records the peer's leaf certificate (name, issuer, end of
 * validity, flags) so a refusal names whom it refused and why, which the
 * handshake's error code alone does not say. After a successful handshake
 * the peer's certificate must also carry a rack name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki_internal.h"

struct tls_buf {
	unsigned char *p;
	size_t off, len, cap;	/* unread bytes: p[off, len) */
};

struct pki_tls {
	struct pki_creds *creds;
	mbedtls_ssl_context ssl;
	enum pki_role role;
	char expect[PKI_NAME_MAX];	/* client: the server's name, or "" */
	struct tls_buf in, out;
	bool established;
	struct pki_peer peer;
	/* the leaf certificate as seen by the verify callback */
	bool leaf_seen;
	uint32_t leaf_flags;
	char leaf_cn[PKI_NAME_MAX + 8], leaf_issuer[PKI_NAME_MAX + 8], leaf_to[40];
	char errmsg[PKI_ERRLEN];
	enum pki_refusal refusal;
};

static int buf_append(struct tls_buf *b, const void *data, size_t len)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *p;

		if (b->off > 0) {	/* compact before growing */
			memmove(b->p, b->p + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (cap < b->len + len)
			cap *= 2;
		if (cap > b->cap) {
			p = realloc(b->p, cap);
			if (!p)
				return -ENOMEM;
			b->p = p;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static int bio_send(void *ctx, const unsigned char *data, size_t len)
{
	struct pki_tls *t = ctx;

	if (buf_append(&t->out, data, len) != 0)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len)
{
	struct tls_buf *b = &((struct pki_tls *)ctx)->in;
	size_t n = b->len - b->off;

	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > len)
		n = len;
	memcpy(data, b->p + b->off, n);
	b->off += n;
	return (int)n;
}

static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct pki_tls *t = ctx;
	char dn[PKI_NAME_MAX + 8];
	const mbedtls_x509_name *n;

	if (depth != 0)
		return 0;
	t->leaf_seen = true;
	t->leaf_flags = *flags;
	pki__crt_cn(crt, t->leaf_cn, sizeof(t->leaf_cn));
	snprintf(dn, sizeof(dn), "?");
	for (n = &crt->issuer; n; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
			snprintf(dn, sizeof(dn), "%.*s", (int)n->val.len, (const char *)n->val.p);
	snprintf(t->leaf_issuer, sizeof(t->leaf_issuer), "%s", dn);
	pki__x509_time(&crt->valid_to, t->leaf_to, sizeof(t->leaf_to));
	return 0;
}

int pki_tls_new(struct pki_creds *c, enum pki_role role, uint64_t expect_host_id,
		struct pki_tls **out)
{
	struct pki_tls *t;

	if (!c || !out || (role != PKI_CLIENT && role != PKI_SERVER))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &c->conf[role]) != 0)
		goto err;
	t->role = role;
	if (role == PKI_CLIENT && expect_host_id != 0) {
		pki_host_name(expect_host_id, t->expect);
		if (mbedtls_ssl_set_hostname(&t->ssl, t->expect) != 0)
			goto err;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_verify(&t->ssl, verify_cb, t);
	t->creds = pki_creds_ref(c);
	*out = t;
	return 0;
err:
	mbedtls_ssl_free(&t->ssl);
	free(t);
	return -ENOMEM;
}

void pki_tls_free(struct pki_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	pki_creds_free(t->creds);
	free(t->in.p);
	free(t->out.p);
	free(t);
}

int pki_tls_feed(struct pki_tls *t, const void *data, size_t len)
{
	return len ? buf_append(&t->in, data, len) : 0;
}

/* The reason the verify callback saw, in the operator's words. */
static void refusal_reason(struct pki_tls *t, char *buf, size_t cap)
{
	uint32_t f = t->leaf_flags;

	if (f & MBEDTLS_X509_BADCERT_EXPIRED)
		snprintf(buf, cap, "certificate expired on %s", t->leaf_to);
	else if (f & MBEDTLS_X509_BADCERT_FUTURE)
		snprintf(buf, cap, "certificate not valid yet (check the clocks)");
	else if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		snprintf(buf, cap, "not issued by the rack CA (issuer CN=%s)", t->leaf_issuer);
	else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		snprintf(buf, cap, "does not name %s", t->expect);
	else {
		mbedtls_x509_crt_verify_info(buf, cap, "", f);
		buf[strcspn(buf, "\n")] = '\0';
	}
}

static enum pki_refusal refusal_class(uint32_t f)
{
	if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		return PKI_REFUSAL_EXPIRED;
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return PKI_REFUSAL_UNKNOWN_CA;
	return PKI_REFUSAL_BAD_NAME;
}

const char *pki_refusal_name(enum pki_refusal r)
{
	static const char *const names[PKI_REFUSAL_N] = {
		"none", "unknown_ca", "expired", "bad_name", "no_cert", "not_tls",
	};

	return (unsigned)r < PKI_REFUSAL_N ? names[r] : "?";
}

enum pki_refusal pki_tls_refusal(const struct pki_tls *t)
{
	return t->refusal;
}

static int handshake_failed(struct pki_tls *t, int rc)
{
	char why[160];

	t->refusal = PKI_REFUSAL_NOT_TLS;
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && t->leaf_seen) {
		t->refusal = refusal_class(t->leaf_flags);
		refusal_reason(t, why, sizeof(why));
		snprintf(t->errmsg, sizeof(t->errmsg), "refused peer certificate CN=%.64s: %.150s",
			 t->leaf_cn, why);
		return -EACCES;
	}
	if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
	    rc == MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED) {
		t->refusal = PKI_REFUSAL_NO_CERT;
		snprintf(t->errmsg, sizeof(t->errmsg), "refused peer: it presented no certificate");
		return -EACCES;
	}
	if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		snprintf(t->errmsg, sizeof(t->errmsg), "the peer ended the TLS handshake with a "
			 "fatal alert (does it trust this host's certificate and the same CA?)");
		return -ECONNREFUSED;
	}
	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(t->errmsg, sizeof(t->errmsg), "TLS handshake failed: %.150s", why);
	return -EPROTO;
}

int pki_tls_handshake(struct pki_tls *t)
{
	const mbedtls_x509_crt *crt;
	int rc;

	if (t->established)
		return 0;
	t->errmsg[0] = '\0';
	rc = mbedtls_ssl_handshake(&t->ssl);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	if (rc != 0)
		return handshake_failed(t, rc);
	crt = mbedtls_ssl_get_peer_cert(&t->ssl);
	if (!crt || pki__crt_peer(crt, &t->peer) != 0) {
		t->refusal = PKI_REFUSAL_BAD_NAME;
		snprintf(t->errmsg, sizeof(t->errmsg), "refused peer certificate CN=%s: not a "
			 "rack name (rtvd-host-<id>, rtvctl-admin-<who>, rtvctl-read-<who>)",
			 t->leaf_cn);
		return -EACCES;
	}
	t->established = true;
	return 0;
}

bool pki_tls_established(const struct pki_tls *t)
{
	return t->established;
}

const struct pki_peer *pki_tls_peer(const struct pki_tls *t)
{
	return t->established ? &t->peer : NULL;
}

int pki_tls_write(struct pki_tls *t, const void *data, size_t len)
{
	const unsigned char *p = data;
	char why[120];
	int rc;

	if (!t->established)
		return -EINVAL;
	while (len > 0) {
		rc = mbedtls_ssl_write(&t->ssl, p, len);
		if (rc < 0) {
			mbedtls_strerror(rc, why, sizeof(why));
			snprintf(t->errmsg, sizeof(t->errmsg), "TLS write: %s", why);
			return -EPROTO;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

ssize_t pki_tls_read(struct pki_tls *t, void *buf, size_t cap)
{
	char why[120];
	int rc;

	if (!t->established)
		return -EINVAL;
	rc = mbedtls_ssl_read(&t->ssl, buf, cap);
	if (rc > 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(t->errmsg, sizeof(t->errmsg), "TLS read: %s", why);
	return -EPROTO;
}

int pki_tls_take_output(struct pki_tls *t, void **buf, size_t *len)
{
	struct tls_buf *b = &t->out;
	size_t n = b->len - b->off;

	*buf = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	if (b->off == 0) {	/* hand over the whole buffer */
		*buf = b->p;
		*len = n;
		memset(b, 0, sizeof(*b));
		return 0;
	}
	*buf = malloc(n);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, b->p + b->off, n);
	*len = n;
	b->off = b->len = 0;
	return 0;
}

void pki_tls_close_notify(struct pki_tls *t)
{
	if (t->established)
		mbedtls_ssl_close_notify(&t->ssl);
}

const char *pki_tls_errmsg(const struct pki_tls *t)
{
	return t->errmsg;
}
