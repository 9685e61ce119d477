/* test_pki_nng.c — the rack's credentials on nng's tls+tcp:// (pki/nng.c),
 * the transport the agent RPC will use: a rep socket as host 1 on
 * 127.0.0.1:17460, req clients with various certificates.
 *
 * A rack operator's certificate gets an answer; another CA's certificate,
 * no certificate, the wrong server name and plain TCP get none (the dial
 * fails in the handshake and nothing reaches the server's socket, which
 * counts what it receives).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "pki/pki.h"
#include "tests/unit/pki_fixture.h"

#define URL "tls+tcp://127.0.0.1:17460"

static char base[64], rack[96], intruder[96];
static nng_socket server;
static pthread_t server_thread;
static atomic_int n_served;

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		char *buf = NULL;
		size_t len = 0;

		if (nng_recv(server, &buf, &len, NNG_FLAG_ALLOC) != 0)
			return NULL;	/* socket closed */
		atomic_fetch_add(&n_served, 1);
		nng_free(buf, len);
		nng_send(server, "pong", 5, 0);
	}
}

static void paths(const char *dir, const char *base_name, char *crt, char *key)
{
	sprintf(crt, "%s/%s.crt", dir, base_name);
	sprintf(key, "%s/%s.key", dir, base_name);
}

static int setup_all(void **state)
{
	char ca[160], crt[160], key[160], err[PKI_ERRLEN];
	nng_tls_config *cfg;
	nng_listener l;

	(void)state;
	snprintf(base, sizeof(base), "/tmp/test_pki_nng.XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(rack, sizeof(rack), "%s/rack", base);
	snprintf(intruder, sizeof(intruder), "%s/intruder", base);
	pkifx_rack(rack);
	pkifx_issue(rack, 1, 30);
	pkifx_issue_client(rack, "alice", "admin");
	pkifx_rack(intruder);
	pkifx_issue_client(intruder, "mallory", "admin");
	pkifx_sh("cat %s/ca.crt >>%s/ca.crt", rack, intruder);

	snprintf(ca, sizeof(ca), "%s/ca.crt", rack);
	paths(rack, "host-1", crt, key);
	if (pki_nng_tls_config(ca, crt, key, true, 0, &cfg, err) != 0)
		fail_msg("server config: %s", err);
	assert_int_equal(nng_rep0_open(&server), 0);
	assert_int_equal(nng_listener_create(&l, server, URL), 0);
	assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	nng_tls_config_free(cfg);	/* the listener holds it */
	assert_int_equal(pthread_create(&server_thread, NULL, serve, NULL), 0);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	nng_close(server);
	pthread_join(server_thread, NULL);
	pkifx_sh("rm -rf %s", base);
	return 0;
}

/* Dials URL with cfg and asks once: 0 when "pong" came back, else the
 * nng error of the dial or the exchange. */
static int ask(nng_tls_config *cfg)
{
	nng_socket s;
	nng_dialer d;
	char *buf = NULL;
	size_t len = 0;
	int rv;

	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 3000);
	assert_int_equal(nng_dialer_create(&d, s, URL), 0);
	if (cfg)
		assert_int_equal(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg), 0);
	rv = nng_dialer_start(d, 0);	/* synchronous: the handshake's verdict */
	if (rv == 0)
		rv = nng_send(s, "ping", 5, 0);
	if (rv == 0)
		rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);
	if (rv == 0) {
		assert_string_equal(buf, "pong");
		nng_free(buf, len);
	}
	nng_close(s);
	return rv;
}

static nng_tls_config *client(const char *dir, const char *who, uint64_t expect)
{
	char ca[160], crt[160], key[160], err[PKI_ERRLEN];
	nng_tls_config *cfg;

	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	paths(dir, who, crt, key);
	if (pki_nng_tls_config(ca, crt, key, false, expect, &cfg, err) != 0)
		fail_msg("client config: %s", err);
	return cfg;
}

static void test_operator_answered(void **state)
{
	nng_tls_config *cfg = client(rack, "admin-alice", 1);
	int before = atomic_load(&n_served);

	(void)state;
	assert_int_equal(ask(cfg), 0);
	assert_int_equal(atomic_load(&n_served), before + 1);
	nng_tls_config_free(cfg);
}

static void refused(nng_tls_config *cfg)
{
	int before = atomic_load(&n_served);
	int rv = ask(cfg);

	if (rv == 0)
		fail_msg("a request got through");
	assert_int_equal(atomic_load(&n_served), before);
	if (cfg)
		nng_tls_config_free(cfg);
}

static void test_other_ca_refused(void **state)
{
	(void)state;
	refused(client(intruder, "admin-mallory", 1));
}

static void test_wrong_server_name_refused(void **state)
{
	(void)state;
	refused(client(rack, "admin-alice", 2));	/* the server is host 1 */
}

static void test_no_client_cert_refused(void **state)
{
	char ca[160];
	nng_tls_config *cfg;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.crt", rack);
	assert_int_equal(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT), 0);
	assert_int_equal(nng_tls_config_ca_file(cfg, ca), 0);
	refused(cfg);
}

static void test_bad_files(void **state)
{
	char ca[160], crt[160], key[160], err[PKI_ERRLEN];
	nng_tls_config *cfg = NULL;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.crt", rack);
	paths(rack, "missing", crt, key);
	assert_int_equal(pki_nng_tls_config(ca, crt, key, false, 1, &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "missing.crt"));
	paths(rack, "host-1", crt, key);
	assert_int_equal(pki_nng_tls_config(ca, crt, ca, false, 1, &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "with key"));
	assert_null(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operator_answered),
		cmocka_unit_test(test_other_ca_refused),
		cmocka_unit_test(test_wrong_server_name_refused),
		cmocka_unit_test(test_no_client_cert_refused),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
