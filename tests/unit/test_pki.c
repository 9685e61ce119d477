/* test_pki.c — pki/: rack names, loading credentials, TLS sessions driven
 * through memory (client and server in this process, bytes passed by
 * hand), and sealed datagrams with replay protection and key rotation.
 *
 * Certificates come from pki/rtv-pki.sh in a temporary directory: a rack
 * CA with hosts 1-3, an expired host 9, an admin (readers' certificates
 * come from the read CA, which no pki session trusts); a second
 * rack's CA with its own host 1; a self-signed "rtvd-host-1".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pki/pki.h"
#include "tests/unit/pki_fixture.h"

static char base[64], rack[96], other[96], self_dir[96], intruder[96];

static int setup_all(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/test_pki.XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(rack, sizeof(rack), "%s/rack", base);
	snprintf(other, sizeof(other), "%s/other", base);
	snprintf(self_dir, sizeof(self_dir), "%s/self", base);
	pkifx_rack(rack);
	for (uint64_t id = 1; id <= 3; id++)
		pkifx_issue(rack, id, 30);
	pkifx_issue(rack, 9, -1);
	pkifx_issue_client(rack, "alice", "admin");
	pkifx_issue_client(rack, "bob", "admin");	/* readers' come from the read CA */
	pkifx_rack(other);
	pkifx_issue(other, 1, 30);
	mkdir(self_dir, 0700);
	pkifx_self_signed(self_dir, "ca", "rtvd-host-1");
	/* an intruder that trusts our CA (it is public) with another rack's
	 * certificate: so it gets past verifying our side, and our side is the
	 * one that must refuse */
	snprintf(intruder, sizeof(intruder), "%s/intruder", base);
	pkifx_sh("mkdir %s && cat %s/ca.crt %s/ca.crt >%s/ca.crt && cp %s/host-1.* %s/",
		 intruder, rack, other, intruder, other, intruder);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	pkifx_sh("rm -rf %s", base);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Names and credentials                                                      */

static void test_names(void **state)
{
	struct pki_peer p;
	char buf[PKI_NAME_MAX];

	(void)state;
	assert_int_equal(pki_name_parse("rtvd-host-42", &p), 0);
	assert_int_equal(p.kind, PKI_KIND_HOST);
	assert_int_equal(p.host_id, 42);
	assert_int_equal(pki_name_parse("rtvctl-admin-alice", &p), 0);
	assert_int_equal(p.kind, PKI_KIND_ADMIN);
	assert_int_equal(pki_name_parse("rtvctl-read-ops.team_1", &p), 0);
	assert_int_equal(p.kind, PKI_KIND_READER);
	const char *bad[] = { "rtvd-host-0", "rtvd-host-01", "rtvd-host-", "rtvd-host-1x",
			      "rtvd-host-99999999999999999999", "rtvd-host-18446744073709551615",
			      "rtvctl-admin-", "rtvctl-admin-a b", "rtvctl-root-x", "evil", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pki_name_parse(bad[i], &p), -EINVAL);
	pki_host_name(7, buf);
	assert_string_equal(buf, "rtvd-host-7");
}

static void test_creds_load(void **state)
{
	char ca[128], crt[128], key[128], key2[128], err[PKI_ERRLEN];
	struct pki_creds *c = NULL;

	(void)state;
	c = pkifx_creds(rack, rack, "host-2", 0);
	assert_int_equal(pki_creds_self(c)->kind, PKI_KIND_HOST);
	assert_int_equal(pki_creds_self(c)->host_id, 2);
	assert_true(pki_creds_not_after(c) > 0);
	pki_creds_free(c);

	snprintf(ca, sizeof(ca), "%s/ca.crt", rack);
	snprintf(crt, sizeof(crt), "%s/host-9.crt", rack);
	snprintf(key, sizeof(key), "%s/host-9.key", rack);
	c = NULL;
	assert_int_equal(pki_creds_new(ca, crt, key, 0, &c, err), -EKEYEXPIRED);
	assert_null(c);
	assert_non_null(strstr(err, "expired on"));
	assert_non_null(strstr(err, "rtvd-host-9"));

	snprintf(crt, sizeof(crt), "%s/host-1.crt", other);	/* another rack's */
	snprintf(key, sizeof(key), "%s/host-1.key", other);
	assert_int_equal(pki_creds_new(ca, crt, key, 0, &c, err), -EINVAL);
	assert_non_null(strstr(err, "does not verify against the rack CA"));

	snprintf(crt, sizeof(crt), "%s/host-1.crt", rack);	/* someone else's key */
	snprintf(key2, sizeof(key2), "%s/host-2.key", rack);
	assert_int_equal(pki_creds_new(ca, crt, key2, 0, &c, err), -EINVAL);
	assert_non_null(strstr(err, "does not belong"));

	snprintf(key, sizeof(key), "%s/missing.key", rack);
	assert_int_equal(pki_creds_new(ca, crt, key, 0, &c, err), -ENOENT);
	assert_non_null(strstr(err, "missing.key"));
}

/* ------------------------------------------------------------------------- */
/* TLS through memory                                                         */

/* Moves bytes between the two sessions until both handshakes finish or one
 * fails. Returns the client's and server's last handshake result. */
static void pump(struct pki_tls *cl, struct pki_tls *sv, int *rc_cl, int *rc_sv)
{
	*rc_cl = *rc_sv = -EAGAIN;
	for (int round = 0; round < 20; round++) {
		void *buf;
		size_t len;

		if (*rc_cl == -EAGAIN)
			*rc_cl = pki_tls_handshake(cl);
		assert_int_equal(pki_tls_take_output(cl, &buf, &len), 0);
		assert_int_equal(pki_tls_feed(sv, buf, len), 0);
		free(buf);
		if (*rc_sv == -EAGAIN)
			*rc_sv = pki_tls_handshake(sv);
		assert_int_equal(pki_tls_take_output(sv, &buf, &len), 0);
		assert_int_equal(pki_tls_feed(cl, buf, len), 0);
		free(buf);
		if (*rc_cl != -EAGAIN && *rc_sv != -EAGAIN)
			return;
		if ((*rc_cl != 0 && *rc_cl != -EAGAIN) || (*rc_sv != 0 && *rc_sv != -EAGAIN))
			return;
	}
}

struct tls_case {
	struct pki_creds *cl, *sv;
	uint64_t expect;
	struct pki_tls *tcl, *tsv;
	int rc_cl, rc_sv;
};

static void run_case(struct tls_case *k)
{
	assert_int_equal(pki_tls_new(k->cl, PKI_CLIENT, k->expect, &k->tcl), 0);
	assert_int_equal(pki_tls_new(k->sv, PKI_SERVER, 0, &k->tsv), 0);
	pump(k->tcl, k->tsv, &k->rc_cl, &k->rc_sv);
}

static void end_case(struct tls_case *k)
{
	pki_tls_free(k->tcl);
	pki_tls_free(k->tsv);
	pki_creds_free(k->cl);
	pki_creds_free(k->sv);
}

static void test_tls_ok_and_data(void **state)
{
	struct tls_case k = { pkifx_creds(rack, rack, "host-1", 0),
			      pkifx_creds(rack, rack, "host-2", 0), 2 };
	char msg[40000], got[40000];
	size_t n = 0;
	void *buf;
	size_t len;

	(void)state;
	run_case(&k);
	assert_int_equal(k.rc_cl, 0);
	assert_int_equal(k.rc_sv, 0);
	assert_int_equal(pki_tls_peer(k.tcl)->host_id, 2);
	assert_int_equal(pki_tls_peer(k.tsv)->host_id, 1);
	assert_int_equal(pki_tls_peer(k.tsv)->kind, PKI_KIND_HOST);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(i * 7);
	assert_int_equal(pki_tls_write(k.tcl, msg, sizeof(msg)), 0);	/* > one record */
	assert_int_equal(pki_tls_take_output(k.tcl, &buf, &len), 0);
	assert_true(len > sizeof(msg));
	assert_null(memmem(buf, len, msg + 100, 64));	/* encrypted */
	assert_int_equal(pki_tls_feed(k.tsv, buf, len), 0);
	free(buf);
	while (n < sizeof(got)) {
		ssize_t r = pki_tls_read(k.tsv, got + n, sizeof(got) - n);

		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_int_equal(pki_tls_read(k.tsv, got, sizeof(got)), -EAGAIN);
	assert_memory_equal(got, msg, sizeof(msg));
	pki_tls_close_notify(k.tcl);
	assert_int_equal(pki_tls_take_output(k.tcl, &buf, &len), 0);
	assert_int_equal(pki_tls_feed(k.tsv, buf, len), 0);
	free(buf);
	assert_int_equal(pki_tls_read(k.tsv, got, sizeof(got)), 0);
	end_case(&k);
}

/* The side that verifies refuses with -EACCES and a message naming the
 * peer's certificate and the reason. */
static void expect_refused(struct pki_tls *t, int rc, const char *cn, const char *why)
{
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(pki_tls_errmsg(t), cn));
	if (!strstr(pki_tls_errmsg(t), why))
		fail_msg("message \"%s\" lacks \"%s\"", pki_tls_errmsg(t), why);
	assert_null(pki_tls_peer(t));
	assert_int_equal(pki_tls_write(t, "x", 1), -EINVAL);
}

static void test_tls_other_ca(void **state)
{
	/* another rack's host 1 dials our host 2: our server refuses */
	struct tls_case k = { pkifx_creds(intruder, intruder, "host-1", 0),
			      pkifx_creds(rack, rack, "host-2", 0), 0 };

	(void)state;
	run_case(&k);
	expect_refused(k.tsv, k.rc_sv, "rtvd-host-1", "not issued by the rack CA");
	assert_int_equal(pki_tls_refusal(k.tsv), PKI_REFUSAL_UNKNOWN_CA);
	assert_string_equal(pki_refusal_name(pki_tls_refusal(k.tsv)), "unknown_ca");
	assert_int_not_equal(k.rc_cl, 0);
	end_case(&k);
}

static void test_tls_self_signed_server(void **state)
{
	/* our host 2 dials a self-signed "rtvd-host-1": our client refuses */
	struct tls_case k = { pkifx_creds(rack, rack, "host-2", 0),
			      pkifx_creds(self_dir, self_dir, "ca", 0), 1 };

	(void)state;
	run_case(&k);
	expect_refused(k.tcl, k.rc_cl, "rtvd-host-1", "not issued by the rack CA");
	end_case(&k);
}

static void test_tls_expired(void **state)
{
	struct tls_case k = { pkifx_creds(rack, rack, "host-9", PKI_CREDS_ALLOW_EXPIRED),
			      pkifx_creds(rack, rack, "host-2", 0), 2 };

	(void)state;
	run_case(&k);
	expect_refused(k.tsv, k.rc_sv, "rtvd-host-9", "expired on");
	assert_int_equal(pki_tls_refusal(k.tsv), PKI_REFUSAL_EXPIRED);
	end_case(&k);
}

static void test_tls_wrong_name(void **state)
{
	/* dialing server 3, reached host 2 (a valid rack member): refused */
	struct tls_case k = { pkifx_creds(rack, rack, "host-1", 0),
			      pkifx_creds(rack, rack, "host-2", 0), 3 };

	(void)state;
	run_case(&k);
	expect_refused(k.tcl, k.rc_cl, "rtvd-host-2", "does not name rtvd-host-3");
	assert_int_equal(pki_tls_refusal(k.tcl), PKI_REFUSAL_BAD_NAME);
	end_case(&k);
}

static void test_tls_operator(void **state)
{
	struct tls_case k = { pkifx_creds(rack, rack, "admin-bob", 0),
			      pkifx_creds(rack, rack, "host-2", 0), 2 };

	(void)state;
	run_case(&k);
	assert_int_equal(k.rc_sv, 0);
	assert_int_equal(pki_tls_peer(k.tsv)->kind, PKI_KIND_ADMIN);
	assert_string_equal(pki_tls_peer(k.tsv)->name, "rtvctl-admin-bob");
	end_case(&k);
}

static void test_tls_garbage(void **state)
{
	struct pki_creds *c = pkifx_creds(rack, rack, "host-2", 0);
	struct pki_tls *t;
	char junk[600];

	(void)state;
	memset(junk, 'G', sizeof(junk));
	assert_int_equal(pki_tls_new(c, PKI_SERVER, 0, &t), 0);
	assert_int_equal(pki_tls_feed(t, junk, sizeof(junk)), 0);
	assert_int_equal(pki_tls_handshake(t), -EPROTO);
	assert_int_equal(pki_tls_refusal(t), PKI_REFUSAL_NOT_TLS);
	assert_non_null(strstr(pki_tls_errmsg(t), "handshake"));
	pki_tls_free(t);
	pki_creds_free(c);
}

/* ------------------------------------------------------------------------- */
/* Sealed datagrams                                                           */

#define KEY1 "1 0000000000000000000000000000000000000000000000000000000000000001\n"
#define KEY2 "2 0000000000000000000000000000000000000000000000000000000000000002\n"
#define SEC 1000000000ull

static struct pki_keyring *ring(const char *text)
{
	struct pki_keyring *k = NULL;
	char err[PKI_ERRLEN];

	if (pki_keyring_parse(text, strlen(text), &k, err) != 0)
		fail_msg("keyring: %s", err);
	return k;
}

static struct pki_dgram *dgram(const char *text, uint64_t self)
{
	struct pki_dgram *d = NULL;

	assert_int_equal(pki_dgram_new(ring(text), self, 0, &d), 0);
	return d;
}

static int seal_open(struct pki_dgram *tx, struct pki_dgram *rx, uint64_t t_tx, uint64_t t_rx,
		     unsigned char *sealed, size_t *slen)
{
	unsigned char out[64];
	size_t olen;
	uint64_t from = 0;
	int rc;

	assert_int_equal(pki_dgram_seal(tx, t_tx, "miss report", 11, sealed, 64, slen), 0);
	rc = pki_dgram_open(rx, t_rx, sealed, *slen, out, sizeof(out), &olen, &from);
	if (rc == 0) {
		assert_int_equal(olen, 11);
		assert_memory_equal(out, "miss report", 11);
		assert_int_equal(from, 1);
	}
	return rc;
}

static void test_dgram_seal_open_replay(void **state)
{
	struct pki_dgram *tx = dgram(KEY1, 1), *rx = dgram(KEY1, 2);
	unsigned char s[64], out[64];
	size_t slen, olen;
	uint64_t from, t0 = 1700000000 * SEC;

	(void)state;
	assert_int_equal(seal_open(tx, rx, t0, t0 + 1000, s, &slen), 0);
	assert_int_equal(slen, 11 + PKI_SEAL_OVERHEAD);
	/* the same datagram again: a replay */
	assert_int_equal(pki_dgram_open(rx, t0 + 2000, s, slen, out, sizeof(out), &olen, &from),
			 -EALREADY);
	/* any flipped bit: forged */
	for (size_t i = 0; i < slen; i++) {
		s[i] ^= 0x10;
		int rc = pki_dgram_open(rx, t0 + 2000, s, slen, out, sizeof(out), &olen, &from);
		assert_true(rc == -EBADMSG || rc == -EKEYREJECTED);
		s[i] ^= 0x10;
	}
	assert_int_equal(pki_dgram_open(rx, t0, s, 10, out, sizeof(out), &olen, &from), -EBADMSG);
	/* sealed 31 s ago, or 31 s in the future: outside the window */
	assert_int_equal(seal_open(tx, rx, t0 + 100 * SEC, t0 + 131 * SEC, s, &slen), -ETIME);
	assert_int_equal(seal_open(tx, rx, t0 + 200 * SEC, t0 + 169 * SEC, s, &slen), -ETIME);
	const struct pki_dgram_stats *st = pki_dgram_stats(rx);
	assert_int_equal(st->opened, 1);
	assert_int_equal(st->replayed, 1);
	assert_int_equal(st->stale, 2);
	assert_true(st->bad_tag + st->unknown_key + st->malformed >= slen);
	pki_dgram_free(tx);
	pki_dgram_free(rx);
}

/* Reordering within the remembered depth is accepted once; anything older
 * than the depth once it is full is refused. */
static void test_dgram_reorder(void **state)
{
	struct pki_dgram *tx = dgram(KEY1, 1), *rx = dgram(KEY1, 2);
	unsigned char s[PKI_REPLAY_DEPTH + 2][64], out[64];
	size_t slen[PKI_REPLAY_DEPTH + 2], olen;
	uint64_t from, t0 = 1700000000 * SEC;
	int n = PKI_REPLAY_DEPTH + 2;

	(void)state;
	for (int i = 0; i < n; i++)
		assert_int_equal(pki_dgram_seal(tx, t0 + (uint64_t)i, "x", 1, s[i], 64, &slen[i]), 0);
	/* deliver 1..n-1 first, then 0 (the oldest, now below the window) */
	for (int i = n - 1; i >= 2; i--)
		assert_int_equal(pki_dgram_open(rx, t0 + SEC, s[i], slen[i], out, 64, &olen, &from), 0);
	assert_int_equal(pki_dgram_open(rx, t0 + SEC, s[1], slen[1], out, 64, &olen, &from),
			 -EALREADY);
	for (int i = 2; i < n; i++)
		assert_int_equal(pki_dgram_open(rx, t0 + SEC, s[i], slen[i], out, 64, &olen, &from),
				 -EALREADY);
	/* a seal at the same clock reading still gets a fresh seq */
	assert_int_equal(pki_dgram_seal(tx, t0, "y", 1, s[0], 64, &slen[0]), 0);
	assert_int_equal(pki_dgram_open(rx, t0 + SEC, s[0], slen[0], out, 64, &olen, &from), 0);
	pki_dgram_free(tx);
	pki_dgram_free(rx);
}

/* Rotation in three steps, a datagram in flight at each step, none lost. */
static void test_dgram_rotation(void **state)
{
	struct pki_dgram *tx = dgram(KEY1, 1), *rx = dgram(KEY1, 2);
	unsigned char s[64];
	size_t slen;
	uint64_t t = 1700000000 * SEC;

	(void)state;
	assert_int_equal(seal_open(tx, rx, t, t, s, &slen), 0);
	/* step 1: both accept key 2, key 1 still seals (order of update free) */
	pki_dgram_set_keyring(rx, ring(KEY1 KEY2));
	assert_int_equal(seal_open(tx, rx, t + 1, t + 1, s, &slen), 0);
	pki_dgram_set_keyring(tx, ring(KEY1 KEY2));
	/* step 2: the sender seals with key 2 before the receiver promoted it */
	pki_dgram_set_keyring(tx, ring(KEY2 KEY1));
	assert_int_equal(seal_open(tx, rx, t + 2, t + 2, s, &slen), 0);
	pki_dgram_set_keyring(rx, ring(KEY2 KEY1));
	/* step 3: key 1 retired; what it sealed is refused from now on */
	unsigned char old[64], out[64];
	size_t olen;
	uint64_t from;
	struct pki_dgram *stale_tx = dgram(KEY1, 3);
	assert_int_equal(pki_dgram_seal(stale_tx, t + 3, "z", 1, old, 64, &olen), 0);
	pki_dgram_set_keyring(rx, ring(KEY2));
	assert_int_equal(seal_open(tx, rx, t + 4, t + 4, s, &slen), 0);
	assert_int_equal(pki_dgram_open(rx, t + 5, old, olen, out, 64, &olen, &from), -EKEYREJECTED);
	pki_dgram_free(stale_tx);
	pki_dgram_free(tx);
	pki_dgram_free(rx);
}

/* The MAC hook for framings of their own (gossip): HMAC-SHA256, checked
 * against Python's hmac for key 1; and the replay check on its own. */
static void test_mac_and_accept(void **state)
{
	static const uint8_t golden[PKI_MAC_BYTES] = {
		0x07, 0x55, 0x09, 0xe1, 0xc9, 0xa2, 0x52, 0x6d, 0xb3, 0x13, 0xec, 0x78, 0xe3, 0xc3,
		0x2b, 0x16, 0xd0, 0x90, 0x9f, 0xe4, 0xa7, 0x19, 0x83, 0x7f, 0xa9, 0x4e, 0xef, 0xb3,
		0x32, 0x25, 0xa9, 0xb3 };
	struct pki_dgram *d = dgram(KEY2 KEY1, 2);
	const struct pki_keyring *k = pki_dgram_keyring(d);
	uint8_t mac[PKI_MAC_BYTES];
	uint64_t t = 1700000000 * SEC;

	(void)state;
	assert_int_equal(pki_keyring_mac(k, 1, "gossip envelope", 15, mac), 0);
	assert_memory_equal(mac, golden, sizeof(golden));
	assert_int_equal(pki_keyring_mac_verify(k, 1, "gossip envelope", 15, mac, sizeof(mac)), 0);
	assert_int_equal(pki_keyring_mac_verify(k, 2, "gossip envelope", 15, mac, sizeof(mac)),
			 -EBADMSG);
	assert_int_equal(pki_keyring_mac_verify(k, 1, "gossip envelopf", 15, mac, sizeof(mac)),
			 -EBADMSG);
	assert_int_equal(pki_keyring_mac_verify(k, 1, "gossip envelope", 15, mac, 16), -EBADMSG);
	assert_int_equal(pki_keyring_mac(k, 3, "x", 1, mac), -EKEYREJECTED);
	assert_int_equal(pki_dgram_accept(d, 7, t, t), 0);
	assert_int_equal(pki_dgram_accept(d, 7, t, t), -EALREADY);
	assert_int_equal(pki_dgram_accept(d, 8, t, t), 0);	/* per sender */
	assert_int_equal(pki_dgram_accept(d, 7, t - 31 * SEC, t), -ETIME);
	assert_int_equal(pki_dgram_stats(d)->replayed, 1);
	assert_int_equal(pki_dgram_stats(d)->stale, 1);
	pki_dgram_free(d);
}

static void test_keyring_parse(void **state)
{
	struct pki_keyring *k = NULL;
	char err[PKI_ERRLEN];
	uint16_t ids[PKI_KEYS_MAX];
	const char *bad[] = {
		"", "# only a comment\n", "1 abcd\n",
		"0 0000000000000000000000000000000000000000000000000000000000000001\n",
		"1 000000000000000000000000000000000000000000000000000000000000000g\n",
		KEY1 KEY1, "70000 0000000000000000000000000000000000000000000000000000000000000001\n",
		"1 0000000000000000000000000000000000000000000000000000000000000001 extra\n",
		"x 0000000000000000000000000000000000000000000000000000000000000001\n",
	};

	(void)state;
	k = ring("  # the rack keyring\n" KEY2 "\n" KEY1);
	assert_int_equal(pki_keyring_primary(k), 2);
	assert_int_equal(pki_keyring_ids(k, ids), 2);
	assert_int_equal(ids[1], 1);
	pki_keyring_free(k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = NULL;
		err[0] = '\0';
		assert_int_equal(pki_keyring_parse(bad[i], strlen(bad[i]), &k, err), -EINVAL);
		assert_null(k);
		assert_true(err[0] != '\0');
	}
}

static void test_keyring_file(void **state)
{
	char path[128], err[PKI_ERRLEN];
	struct pki_keyring *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/rack.keys", rack);
	assert_int_equal(pki_keyring_load(path, &k, err), 0);	/* rtv-pki.sh's own */
	assert_int_equal(pki_keyring_primary(k), 1);
	pki_keyring_free(k);
	pkifx_sh("%s/pki/rtv-pki.sh -d %s rotate >/dev/null && "
		 "%s/pki/rtv-pki.sh -d %s rotate --promote >/dev/null",
		 getenv("RTV_SRC") ? getenv("RTV_SRC") : ".", rack,
		 getenv("RTV_SRC") ? getenv("RTV_SRC") : ".", rack);
	assert_int_equal(pki_keyring_load(path, &k, err), 0);
	assert_int_equal(pki_keyring_primary(k), 2);
	pki_keyring_free(k);
	chmod(path, 0644);
	assert_int_equal(pki_keyring_load(path, &k, err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_creds_load),
		cmocka_unit_test(test_tls_ok_and_data),
		cmocka_unit_test(test_tls_other_ca),
		cmocka_unit_test(test_tls_self_signed_server),
		cmocka_unit_test(test_tls_expired),
		cmocka_unit_test(test_tls_wrong_name),
		cmocka_unit_test(test_tls_operator),
		cmocka_unit_test(test_tls_garbage),
		cmocka_unit_test(test_dgram_seal_open_replay),
		cmocka_unit_test(test_dgram_reorder),
		cmocka_unit_test(test_dgram_rotation),
		cmocka_unit_test(test_mac_and_accept),
		cmocka_unit_test(test_keyring_parse),
		cmocka_unit_test(test_keyring_file),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
