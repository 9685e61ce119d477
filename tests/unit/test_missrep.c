/* test_missrep.c — miss reports between agents (agent/dataplane/missrep.h), the
 * sender's miss policy (agent/dataplane/misspol.h) and the [dataplane] section of
 * rtvd's configuration.
 *
 * Codec: reports round-trip; every malformed or out-of-range datagram is
 * refused with the right errno and a message, and leaves the output alone.
 * Socket: two sockets on loopback exchange a datagram on a libuv loop, and
 * the loop closes with nothing open. Policy: a simulated clock drives the
 * boost, the count and time thresholds, refusal backoff, commits and decay. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <msgpack.h>

#include "agent/core/config.h"
#include "agent/dataplane/missrep.h"
#include "pki/pki.h"
#include "agent/dataplane/misspol.h"
#include "sched/sched.h"

#define MS 1000000ull
#define S 1000000000ull

static struct agent_missrep_msg sample(size_t n)
{
	struct agent_missrep_msg m = { .host = 2, .seq = 7, .n = n };

	for (size_t i = 0; i < n; i++)
		m.r[i] = (struct agent_missrep){
			.path_id = 10 + i, .misses = 3, .cum_misses = 40 + i,
			.first_ns = 1700000000000000000ull, .last_ns = 1700000000090000000ull,
			.max_late_ns = 1234000, .max_late_ip_id = 0xbeef, .last_ip_id = 0xcafe,
			.uncertainty_ns = 100000,
		};
	return m;
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t n = 1; n <= AGENT_MISSREP_MAX; n++) {
		struct agent_missrep_msg m = sample(n), back;
		char err[CONS_ERRLEN];
		void *buf;
		size_t len;

		assert_int_equal(agent_missrep_encode(&m, &buf, &len), 0);
		assert_true(len <= 1400);	/* one unfragmented datagram */
		memset(&back, 0xa5, sizeof(back));
		assert_int_equal(agent_missrep_decode(buf, len, &back, err), 0);
		assert_int_equal(back.host, 2);
		assert_int_equal(back.seq, 7);
		assert_int_equal(back.n, n);
		assert_memory_equal(back.r, m.r, n * sizeof(m.r[0]));
		free(buf);
	}
}

static void test_encode_refuses(void **state)
{
	struct agent_missrep_msg m = sample(1);
	void *buf;
	size_t len;

	(void)state;
	m.n = 0;
	assert_int_equal(agent_missrep_encode(&m, &buf, &len), -EINVAL);
	m = sample(1);
	m.r[0].misses = 50;	/* more than cum */
	assert_int_equal(agent_missrep_encode(&m, &buf, &len), -EINVAL);
	m = sample(1);
	m.host = 0;
	assert_int_equal(agent_missrep_encode(&m, &buf, &len), -EINVAL);
}

/* Packs a datagram by hand: `mutate` picks what is wrong with it. */
enum mut { M_NONE, M_V0, M_V2, M_T, M_HOST0, M_NOSEQ, M_DUPKEY, M_EMPTY, M_TOOMANY, M_ID0,
	   M_NGTCUM, M_FIRSTLAST, M_LATE, M_UNC, M_IPID, M_STRTYPE, M_NOTMAP, M_N32 };

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void pk_kv(msgpack_packer *pk, const char *k, uint64_t v)
{
	pk_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void pack_report(msgpack_packer *pk, enum mut mu)
{
	msgpack_pack_map(pk, 9);
	pk_kv(pk, "id", mu == M_ID0 ? 0 : 5);
	pk_kv(pk, "n", mu == M_NGTCUM ? 9 : mu == M_N32 ? (1ull << 32) : 2);
	pk_kv(pk, "cum", mu == M_N32 ? (1ull << 33) : 8);
	pk_kv(pk, "first_ns", mu == M_FIRSTLAST ? 200 : 100);
	pk_kv(pk, "last_ns", 150);
	pk_kv(pk, "late_ns", mu == M_LATE ? 2 * S : 5000);
	pk_kv(pk, "late_ipid", 1);
	pk_kv(pk, "ipid", mu == M_IPID ? 70000 : 2);
	if (mu == M_STRTYPE) {
		pk_str(pk, "unc_ns");
		pk_str(pk, "1us");
	} else {
		pk_kv(pk, "unc_ns", mu == M_UNC ? 2 * S : 1000);
	}
}

static msgpack_sbuffer build(enum mut mu)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t nr = mu == M_EMPTY ? 0 : mu == M_TOOMANY ? AGENT_MISSREP_MAX + 1 : 1;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (mu == M_NOTMAP) {
		msgpack_pack_array(&pk, 1);
		msgpack_pack_uint64(&pk, 1);
		return sb;
	}
	msgpack_pack_map(&pk, (mu == M_NOSEQ ? 4 : 5) + (mu == M_DUPKEY));
	pk_kv(&pk, "v", mu == M_V0 ? 0 : mu == M_V2 ? 2 : 1);
	pk_str(&pk, "t");
	pk_str(&pk, mu == M_T ? "hello" : "miss");
	pk_kv(&pk, "host", mu == M_HOST0 ? 0 : 3);
	if (mu != M_NOSEQ)
		pk_kv(&pk, "seq", 1);
	if (mu == M_DUPKEY)
		pk_kv(&pk, "host", 3);
	pk_str(&pk, "r");
	msgpack_pack_array(&pk, nr);
	for (size_t i = 0; i < nr; i++)
		pack_report(&pk, mu);
	return sb;
}

static void test_decode_refuses(void **state)
{
	static const struct { enum mut mu; int rc; } cases[] = {
		{ M_V0, -EPROTO }, { M_V2, -EPROTONOSUPPORT }, { M_T, -EPROTO },
		{ M_HOST0, -EINVAL }, { M_NOSEQ, -EPROTO }, { M_DUPKEY, -EPROTO },
		{ M_EMPTY, -EINVAL }, { M_TOOMANY, -EINVAL }, { M_ID0, -EINVAL },
		{ M_NGTCUM, -EINVAL }, { M_FIRSTLAST, -EINVAL }, { M_LATE, -EINVAL },
		{ M_UNC, -EINVAL }, { M_IPID, -EINVAL }, { M_STRTYPE, -EPROTO },
		{ M_NOTMAP, -EPROTO }, { M_N32, -EINVAL },
	};
	struct agent_missrep_msg m;
	char err[CONS_ERRLEN];

	(void)state;
	{
		msgpack_sbuffer sb = build(M_NONE);

		assert_int_equal(agent_missrep_decode(sb.data, sb.size, &m, err), 0);
		assert_int_equal(m.host, 3);
		assert_int_equal(m.r[0].path_id, 5);
		msgpack_sbuffer_destroy(&sb);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msgpack_sbuffer sb = build(cases[i].mu);

		memset(&m, 0x5a, sizeof(m));
		err[0] = '\0';
		assert_int_equal(agent_missrep_decode(sb.data, sb.size, &m, err), cases[i].rc);
		assert_true(err[0] != '\0');
		assert_int_equal(m.host, 0x5a5a5a5a5a5a5a5aull);	/* untouched */
		msgpack_sbuffer_destroy(&sb);
	}
}

static void test_decode_hostile(void **state)
{
	static const uint8_t huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t huge_arr[] = { 0x81, 0xa1, 'r', 0xdd, 0xff, 0xff, 0xff, 0xff };
	struct agent_missrep_msg m;
	char err[CONS_ERRLEN];
	msgpack_sbuffer sb = build(M_NONE);

	(void)state;
	assert_int_equal(agent_missrep_decode(huge_map, sizeof(huge_map), &m, err), -EPROTO);
	assert_int_equal(agent_missrep_decode(huge_arr, sizeof(huge_arr), &m, err), -EPROTO);
	for (size_t cut = 0; cut < sb.size; cut++)
		assert_int_equal(agent_missrep_decode(sb.data, cut, &m, err), -EPROTO);
	msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------------------- */
/* The socket on a loop                                                      */

struct got {
	struct agent_missrep_msg m;
	uint32_t from;
	int n;
};

static void on_msg(void *arg, const struct agent_missrep_msg *m, uint32_t from)
{
	struct got *g = arg;

	g->m = *m;
	g->from = from;
	g->n++;
}

static void on_timeout(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void test_socket_loopback(void **state)
{
	static struct agent_missrep_sock a, b;
	struct agent_missrep_msg m = sample(2);
	char err[CONS_ERRLEN];
	struct got got = { 0 };
	uv_timer_t timer;
	uv_loop_t loop;
	uint16_t port_b = 18290;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(agent_missrep_open(&a, &loop, 1, 0x7f000001, 18289, on_msg, &got, err), 0);
	assert_int_equal(agent_missrep_open(&b, &loop, 2, 0x7f000001, port_b, on_msg, &got, err), 0);
	/* a second socket on a taken port is refused, saying which */
	{
		static struct agent_missrep_sock c;

		assert_true(agent_missrep_open(&c, &loop, 3, 0x7f000001, port_b, on_msg, &got, err) < 0);
		assert_non_null(strstr(err, "18290"));
	}
	assert_int_equal(agent_missrep_send(&a, 0x7f000001, port_b, m.r, m.n), 0);
	uv_timer_init(&loop, &timer);
	uv_timer_start(&timer, on_timeout, 2000, 0);
	while (got.n == 0 && uv_is_active((uv_handle_t *)&timer))
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.m.host, 1);	/* the sender's id */
	assert_int_equal(got.m.n, 2);
	assert_int_equal(got.from, 0x7f000001);
	assert_memory_equal(got.m.r, m.r, 2 * sizeof(m.r[0]));
	assert_int_equal(a.stats.dgrams_sent, 1);
	assert_int_equal(b.stats.reports_received, 2);
	agent_missrep_close(&a);
	agent_missrep_close(&b);
	agent_missrep_close(&b);	/* idempotent */
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Sealed with the rack key (agent_missrep_set_seal): a sealed report
 * arrives; an unsealed one, one sealed with another key, one whose seal
 * names a host other than its report, and a replay of the accepted
 * datagram are each refused and counted, and none reaches the callback. */
#define RACK_KEY "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define OTHER_KEY "1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"

static struct pki_dgram *sealer(const char *key, uint64_t self)
{
	struct pki_keyring *k;
	struct pki_dgram *d;
	char err[PKI_ERRLEN];

	assert_int_equal(pki_keyring_parse(key, strlen(key), &k, err), 0);
	assert_int_equal(pki_dgram_new(k, self, 0, &d), 0);
	return d;
}

/* The datagram host `host` would send, sealed by `d` (as sender `host`). */
static size_t sealed_report(struct pki_dgram *d, uint64_t host, uint8_t *out, size_t cap)
{
	struct agent_missrep_msg m = sample(1);
	struct timespec ts;
	void *buf;
	size_t len, out_len;

	m.host = host;
	m.seq = 1;
	assert_int_equal(agent_missrep_encode(&m, &buf, &len), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_int_equal(pki_dgram_seal(d, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
					buf, len, out, cap, &out_len), 0);
	free(buf);
	return out_len;
}

static void send_raw(uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
	close(fd);
}

static void run_ms(uv_loop_t *loop, unsigned ms)
{
	uv_timer_t timer;

	uv_timer_init(loop, &timer);
	uv_timer_start(&timer, on_timeout, ms, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static void test_socket_sealed(void **state)
{
	static struct agent_missrep_sock a, b;
	struct agent_missrep_msg m = sample(2);
	struct pki_dgram *host1 = sealer(RACK_KEY, 1), *host3 = sealer(RACK_KEY, 3);
	struct pki_dgram *outsider = sealer(OTHER_KEY, 1);
	uint8_t dg[4096];
	char err[CONS_ERRLEN];
	struct got got = { 0 };
	uv_loop_t loop;
	size_t len;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(agent_missrep_open(&a, &loop, 1, 0x7f000001, 18291, on_msg, &got, err), 0);
	assert_int_equal(agent_missrep_open(&b, &loop, 2, 0x7f000001, 18292, on_msg, &got, err), 0);
	agent_missrep_set_seal(&a, sealer(RACK_KEY, 1));
	agent_missrep_set_seal(&b, sealer(RACK_KEY, 2));
	assert_int_equal(agent_missrep_send(&a, 0x7f000001, 18292, m.r, m.n), 0);
	run_ms(&loop, 300);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.m.host, 1);
	assert_int_equal(got.m.n, 2);

	send_raw(18292, "\x83\xa1v\x01", 4);	/* unsealed (any bytes) */
	len = sealed_report(outsider, 1, dg, sizeof(dg));	/* another key */
	send_raw(18292, dg, len);
	len = sealed_report(host3, 1, dg, sizeof(dg));	/* host 3 speaking for host 1 */
	send_raw(18292, dg, len);
	len = sealed_report(host1, 1, dg, sizeof(dg));	/* genuine ... */
	send_raw(18292, dg, len);
	send_raw(18292, dg, len);			/* ... and its replay */
	run_ms(&loop, 300);
	assert_int_equal(got.n, 2);	/* only the genuine one */
	assert_int_equal(b.stats.dgrams_unauth, 3);
	assert_int_equal(b.stats.dgrams_replayed, 1);
	assert_int_equal(b.stats.dgrams_bad, 0);
	pki_dgram_free(host1);
	pki_dgram_free(host3);
	pki_dgram_free(outsider);
	agent_missrep_close(&a);
	agent_missrep_close(&b);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------------------------- */
/* The miss policy                                                           */

static const struct agent_misspol_cfg pcfg = { .decay_ns = 10 * S, .step_ns = 1 * S };

static struct agent_missrep rep(uint32_t n, uint64_t cum)
{
	return (struct agent_missrep){ .path_id = 1, .misses = n, .cum_misses = cum,
				       .max_late_ns = 3000, .uncertainty_ns = 1000 };
}

static void test_policy_boost_and_count(void **state)
{
	struct cons_miss_policy pol = { .misses = 5, .after_ns = 0, .max_level = 2 };
	struct agent_misspol p = { .path_id = 1 };
	struct agent_missrep r;
	bool changed;
	uint64_t t = 100 * S;

	(void)state;
	r = rep(3, 3);
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, t, &changed), 3);
	assert_true(changed);		/* boosted at once */
	assert_int_equal(p.boost, 1);
	assert_false(agent_misspol_want(&p, &pol, 0, t));	/* 3 < 5 */
	/* the same report again (a repeat): nothing new */
	r = rep(0, 3);
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, t + 100 * MS, &changed), 0);
	assert_false(changed);
	assert_int_equal(p.reports_dup, 1);
	/* a lost datagram: cum says 4 more, the interval only 1 */
	r = rep(1, 7);
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, t + 200 * MS, &changed), 4);
	assert_false(changed);		/* less than a step since the boost */
	assert_true(agent_misspol_want(&p, &pol, 0, t + 200 * MS));
	agent_misspol_proposed(&p, 1);
	assert_false(agent_misspol_want(&p, &pol, 0, t + 200 * MS));	/* one in flight */
	agent_misspol_answer(&p, 0, false, t + 300 * MS);
	assert_true(agent_misspol_level_rose(&p, t + 300 * MS));
	assert_int_equal(p.boost, 0);	/* level + boost unchanged */
	assert_int_equal(p.committed, 1);
	assert_false(agent_misspol_want(&p, &pol, 1, t + 300 * MS));	/* count restarts */
	/* more misses after a step: the boost rises again */
	r = rep(6, 13);
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 1, t + 2 * S, &changed), 6);
	assert_true(changed);
	assert_true(agent_misspol_want(&p, &pol, 1, t + 2 * S));
	/* at max_level: never */
	assert_false(agent_misspol_want(&p, &pol, 2, t + 2 * S));
}

/* A follower hears "committed" from the leader before it applies the entry:
 * no second proposal until the level shows here; as leader the other way round. */
static void test_policy_commit_before_apply(void **state)
{
	struct cons_miss_policy pol = { .misses = 1, .max_level = 3 };
	struct agent_misspol p = { .path_id = 1 };
	struct agent_missrep r = rep(4, 4);
	bool changed;

	(void)state;
	agent_misspol_report(&p, &pcfg, 2, &r, 0, S, &changed);
	agent_misspol_proposed(&p, 1);
	agent_misspol_answer(&p, 0, false, S);
	assert_false(agent_misspol_want(&p, &pol, 0, S));	/* still level 0 here */
	agent_misspol_level_rose(&p, S);
	r = rep(2, 6);
	agent_misspol_report(&p, &pcfg, 2, &r, 1, 2 * S, &changed);
	assert_true(agent_misspol_want(&p, &pol, 1, 2 * S));
	/* leader: applied first, then answered */
	agent_misspol_proposed(&p, 2);
	agent_misspol_level_rose(&p, 2 * S);
	agent_misspol_answer(&p, 0, false, 2 * S);
	r = rep(1, 7);
	agent_misspol_report(&p, &pcfg, 2, &r, 2, 3 * S, &changed);
	assert_true(agent_misspol_want(&p, &pol, 2, 3 * S));
}

static void test_policy_receiver_restart(void **state)
{
	struct agent_misspol p = { .path_id = 1 };
	struct agent_missrep r = rep(5, 100);
	bool changed;

	(void)state;
	/* first sight: only the interval's misses count, not the receiver's past */
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, S, &changed), 5);
	r = rep(2, 2);	/* the receiver restarted */
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, 2 * S, &changed), 2);
	r = rep(1, 3);
	assert_int_equal(agent_misspol_report(&p, &pcfg, 2, &r, 0, 3 * S, &changed), 1);
	assert_int_equal(p.misses, 8);
}

static void test_policy_time_threshold(void **state)
{
	struct cons_miss_policy pol = { .misses = 0, .after_ns = 20 * S, .max_level = 4 };
	struct agent_misspol p = { .path_id = 1 };
	uint64_t t = 5 * S, cum = 0;
	bool changed;

	(void)state;
	for (int i = 0; i < 25; i++) {	/* one miss a second for 25 s */
		struct agent_missrep r = rep(1, ++cum);

		agent_misspol_report(&p, &pcfg, 2, &r, 0, t + (uint64_t)i * S, &changed);
		assert_int_equal(agent_misspol_want(&p, &pol, 0, t + (uint64_t)i * S), i >= 20);
	}
	/* the boost rose once per second, up to the cap */
	assert_int_equal(p.boost, SCHED_ESCALATION_MAX);
}

static void test_policy_refusal_backoff(void **state)
{
	struct cons_miss_policy pol = { .misses = 1, .max_level = 4 };
	struct agent_misspol p = { .path_id = 1 };
	struct agent_missrep r = rep(1, 1);
	uint64_t t = S;
	bool changed;

	(void)state;
	agent_misspol_report(&p, &pcfg, 2, &r, 0, t, &changed);
	assert_true(agent_misspol_want(&p, &pol, 0, t));
	agent_misspol_proposed(&p, 1);
	agent_misspol_answer(&p, CONS_EREFUSED, true, t);
	assert_int_equal(p.refused, 1);
	for (int i = 1; i <= 3; i++) {	/* misses go on, 1 a second */
		r = rep(1, 1 + (uint64_t)i);
		agent_misspol_report(&p, &pcfg, 2, &r, 0, t + (uint64_t)i * S, &changed);
		assert_false(agent_misspol_want(&p, &pol, 0, t + (uint64_t)i * S));
	}
	assert_true(agent_misspol_want(&p, &pol, 0, t + AGENT_MISSPOL_BACKOFF_MIN_NS));
	agent_misspol_proposed(&p, 1);
	agent_misspol_answer(&p, CONS_EREFUSED, true, t + 5 * S);
	assert_int_equal(p.backoff_ns, 2 * AGENT_MISSPOL_BACKOFF_MIN_NS);	/* doubled */
	/* unavailable: asked again after a second */
	r = rep(1, 10);
	agent_misspol_report(&p, &pcfg, 2, &r, 0, t + 15 * S, &changed);
	agent_misspol_proposed(&p, 1);
	agent_misspol_answer(&p, -EAGAIN, false, t + 15 * S);
	assert_int_equal(p.failed, 1);
	assert_false(agent_misspol_want(&p, &pol, 0, t + 15 * S + 500 * MS));
	assert_true(agent_misspol_want(&p, &pol, 0, t + 16 * S + 500 * MS));
}

static void test_policy_decay(void **state)
{
	struct cons_miss_policy pol = { .misses = 100, .max_level = 4 };
	struct agent_misspol p = { .path_id = 1 };
	uint64_t t = S, cum = 0;
	bool changed;

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct agent_missrep r = rep(1, ++cum);

		agent_misspol_report(&p, &pcfg, 2, &r, 0, t + (uint64_t)i * S, &changed);
	}
	assert_int_equal(p.boost, 3);
	t += 2 * S;	/* the last miss */
	assert_false(agent_misspol_tick(&p, &pcfg, t + 9 * S));
	assert_true(p.in_episode);
	assert_true(agent_misspol_tick(&p, &pcfg, t + 10 * S));	/* quiet: episode over */
	assert_false(p.in_episode);
	assert_false(agent_misspol_want(&p, &pol, 0, t + 10 * S));
	assert_int_equal(p.boost, 2);
	assert_false(agent_misspol_tick(&p, &pcfg, t + 15 * S));
	assert_true(agent_misspol_tick(&p, &pcfg, t + 20 * S));
	assert_true(agent_misspol_tick(&p, &pcfg, t + 30 * S));
	assert_int_equal(p.boost, 0);
	assert_false(agent_misspol_tick(&p, &pcfg, t + 60 * S));
}

/* ------------------------------------------------------------------------- */
/* [dataplane] in rtvd.conf                                                  */

static const char base_conf[] =
	"[node]\nid = 1\nname = h1\ndata_dir = /var/lib/rtvd\nraft_addr = 10.0.0.1:7001\n"
	"rpc_addr = tcp://10.0.0.1:8001\n[cluster]\npeer = 1@10.0.0.1:7001@tcp://10.0.0.1:8001\n"
	"[uplink]\ncapacity = 1G\n" "[tls]\ninsecure = true\n";

static int parse(const char *extra, struct agent_config *cfg, char *err)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	return agent_config_parse(cfg, "t.conf", text, err, AGENT_CONFIG_ERRLEN);
}

static void test_config_dataplane(void **state)
{
	static struct agent_config cfg;
	static const char *const bad[] = {
		"[dataplane]\nmtu = 40\n", "[dataplane]\nmtu = 70000\n",
		"[dataplane]\nhost_ip = 10.0.0\n", "[dataplane]\nrt_priority = 100\n",
		"[dataplane]\nmiss_port = 0\n", "[dataplane]\nmiss_interval = 100us\n",
		"[dataplane]\nmiss_interval = 100\n", "[dataplane]\ntx_ahead = 5ms\n",
		"[dataplane]\nboost_decay = 2h\n", "[dataplane]\nfrobnicate = 1\n",
		"[dataplane]\nenabled = true\nint_dev = eth0\nuplink_dev = eth0\n",
		"[dataplane]\nenabled = true\nint_dev =\n",
		"[dataplane]\nint_dev = this-name-is-too-long\n", "[dataplane]\npoll = spin\n",
		"[dataplane]\npoll =\n",
	};
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	assert_int_equal(parse("", &cfg, err), 0);
	assert_false(cfg.dataplane.enabled);
	assert_string_equal(cfg.dataplane.int_dev, "rtv-int");
	assert_string_equal(cfg.dataplane.uplink_dev, "up0");
	assert_int_equal(cfg.dataplane.mtu, 1500);
	assert_int_equal(cfg.dataplane.miss_interval_ns, 100 * MS);
	assert_int_equal(cfg.dataplane.miss_port, 7003);
	assert_int_equal(cfg.dataplane.tx_ahead_ns, CONS_TX_AHEAD_MAX_NS);
	assert_false(cfg.dataplane.busy_poll);
	assert_int_equal(parse("[dataplane]\nenabled = true\nint_dev = vA\nuplink_dev = wA\n"
			       "mtu = 9000\nhost_ip = 10.99.0.254\ntx_ahead = 10us\nrt_priority = 10\n"
			       "clock_uncertainty = 1us\nmiss_port = 18203\nmiss_interval = 50ms\n"
			       "boost_decay = 2s\npoll = busy\n", &cfg, err), 0);
	assert_true(cfg.dataplane.enabled);
	assert_string_equal(cfg.dataplane.int_dev, "vA");
	assert_int_equal(cfg.dataplane.mtu, 9000);
	assert_int_equal(cfg.dataplane.host_ip, 0x0a6300fe);
	assert_int_equal(cfg.dataplane.tx_ahead_ns, 10000);
	assert_int_equal(cfg.dataplane.rt_priority, 10);
	assert_true(cfg.dataplane.busy_poll);
	assert_int_equal(cfg.dataplane.clock_uncertainty_ns, 1000);
	assert_int_equal(cfg.dataplane.miss_port, 18203);
	assert_int_equal(cfg.dataplane.miss_interval_ns, 50 * MS);
	assert_int_equal(cfg.dataplane.boost_decay_ns, 2 * S);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i], &cfg, err), -EINVAL);
		assert_non_null(strstr(err, "t.conf"));
		assert_non_null(strstr(err, "dataplane"));
	}
	/* tx_ahead: up to what admission leaves for it, and a reason beyond */
	assert_int_equal(parse("[dataplane]\ntx_ahead = 250us\n", &cfg, err), 0);
	assert_int_equal(cfg.dataplane.tx_ahead_ns, CONS_TX_AHEAD_MAX_NS);
	assert_int_equal(parse("[dataplane]\ntx_ahead = 251us\n", &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "tx_ahead"));
	assert_non_null(strstr(err, "at most 250 us"));
	assert_non_null(strstr(err, "CONS_TX_AHEAD_MAX_NS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_socket_loopback),
		cmocka_unit_test(test_socket_sealed),
		cmocka_unit_test(test_policy_boost_and_count),
		cmocka_unit_test(test_policy_commit_before_apply),
		cmocka_unit_test(test_policy_receiver_restart),
		cmocka_unit_test(test_policy_time_threshold),
		cmocka_unit_test(test_policy_refusal_backoff),
		cmocka_unit_test(test_policy_decay),
		cmocka_unit_test(test_config_dataplane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
