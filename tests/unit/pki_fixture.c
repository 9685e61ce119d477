/* pki_fixture.c — see pki_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pki/pki.h"
#include "tests/unit/pki_fixture.h"

static const char *src_dir(void)
{
	const char *s = getenv("RTV_SRC");

	return s && *s ? s : ".";
}

void pkifx_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

void pkifx_rack(const char *dir)
{
	pkifx_sh("%s/pki/rtv-pki.sh -d %s init >/dev/null", src_dir(), dir);
}

void pkifx_issue(const char *dir, uint64_t id, int days)
{
	pkifx_sh("%s/pki/rtv-pki.sh -d %s issue %llu --days %d >/dev/null", src_dir(), dir,
		 (unsigned long long)id, days);
}

void pkifx_issue_client(const char *dir, const char *who, const char *role)
{
	pkifx_sh("%s/pki/rtv-pki.sh -d %s issue-client %s --role %s >/dev/null", src_dir(), dir,
		 who, role);
}

void pkifx_self_signed(const char *dir, const char *base, const char *name)
{
	pkifx_sh("cd %s && openssl ecparam -name prime256v1 -genkey -noout -out %s.key && "
		 "openssl req -x509 -new -key %s.key -subj /CN=%s -addext subjectAltName=DNS:%s "
		 "-days 30 -out %s.crt 2>/dev/null", dir, base, base, name, name, base);
}

struct pki_creds *pkifx_creds(const char *ca_dir, const char *dir, const char *base,
			      unsigned flags)
{
	char ca[512], crt[512], key[512], err[PKI_ERRLEN];
	struct pki_creds *c = NULL;

	snprintf(ca, sizeof(ca), "%s/ca.crt", ca_dir);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, base);
	snprintf(key, sizeof(key), "%s/%s.key", dir, base);
	if (pki_creds_new(ca, crt, key, flags, &c, err) != 0)
		fail_msg("loading %s: %s", crt, err);
	return c;
}
