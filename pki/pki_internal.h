/* pki_internal.h — private to pki/: the credentials' layout and the
 * certificate helpers shared by creds.c and tls.c. */
#ifndef RTV_PKI_INTERNAL_H
#define RTV_PKI_INTERNAL_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "pki/pki.h"

struct pki_creds {
	unsigned refs;
	mbedtls_x509_crt ca;		/* the rack CA */
	mbedtls_x509_crt crt;		/* this holder's certificate */
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf[2];	/* by enum pki_role */
	struct pki_peer self;
	int64_t not_after;
};

void pki__crt_cn(const mbedtls_x509_crt *crt, char *buf, size_t cap);
/* 0 and *out when crt carries one rack name (CN, and the same DNS SAN if it
 * has SANs), else -EINVAL. */
int pki__crt_peer(const mbedtls_x509_crt *crt, struct pki_peer *out);
void pki__x509_time(const mbedtls_x509_time *t, char *buf, size_t cap);

#endif
