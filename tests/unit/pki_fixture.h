/* pki_fixture.h — rack certificates for tests, made by pki/rtv-pki.sh (the
 * tool operators use) in a temporary directory.
 *
 * Tests run from the source tree's root (make); RTV_SRC overrides it. Every
 * helper fails the test (cmocka) on error. */
#ifndef RTV_TESTS_PKI_FIXTURE_H
#define RTV_TESTS_PKI_FIXTURE_H

#include <stdint.h>

struct pki_creds;

/* A new rack CA and keyring in dir (created). */
void pkifx_rack(const char *dir);
/* host-<id>.crt/.key in dir, valid for `days` (negative: already expired). */
void pkifx_issue(const char *dir, uint64_t id, int days);
/* An operator certificate: <role>-<who>.crt/.key (role "admin" or "read"). */
void pkifx_issue_client(const char *dir, const char *who, const char *role);
/* A self-signed certificate for `name` (no CA): <base>.crt/.key in dir. */
void pkifx_self_signed(const char *dir, const char *base, const char *name);
/* Loads dir/ca.crt with <base>.crt/.key (e.g. "host-1"), CA from ca_dir. */
struct pki_creds *pkifx_creds(const char *ca_dir, const char *dir, const char *base,
			      unsigned flags);
/* Runs a shell command; fails the test unless it exits 0. */
void pkifx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
