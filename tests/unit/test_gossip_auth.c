/* test_gossip_auth.c — gossip sealed with the rack key (agent/gossip/auth.h)
 * under the simulated network of bench/gossip_sim: members holding another
 * key or none change nothing in the honest members' views; a captured
 * datagram replayed, altered or delivered late is refused and counted; a
 * key rotated in three steps refuses nothing and suspects nobody, and the
 * same rotation done out of order is caught. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/gossip/auth.h"
#include "bench/gossip_sim.h"

#define S 1000000000ull
#define MS 1000000ull
#define EPOCH 1800000000000000000ull	/* the simulated wall clock's origin */
#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define N_MAX 8

struct fixture {
	struct gsim *s;
	struct agent_gossip_auth *auth[N_MAX];
	const char *ring[N_MAX];	/* keyring text of member i; NULL: no sealing */
	size_t suspect_of[N_MAX], dead_of[N_MAX];
};

static struct pki_keyring *ring(const char *text)
{
	struct pki_keyring *k;
	char err[PKI_ERRLEN];

	assert_int_equal(pki_keyring_parse(text, strlen(text), &k, err), 0);
	return k;
}

static uint64_t sim_wall(void *arg)
{
	return EPOCH + gsim_now(((struct fixture *)arg)->s);
}

static void fill_auth(void *arg, size_t i, struct gossip_ops *ops)
{
	struct fixture *f = arg;

	if (!f->ring[i])
		return;
	assert_int_equal(agent_gossip_auth_new(ring(f->ring[i]), i + 1, sim_wall, f,
					       &f->auth[i]), 0);
	agent_gossip_auth_ops(f->auth[i], ops);
}

static void on_change(void *arg, size_t observer, const struct gossip_member *m,
		      enum gossip_state old)
{
	struct fixture *f = arg;
	unsigned long i = strtoul(m->name + 1, NULL, 10);

	(void)observer;
	(void)old;
	if (i >= N_MAX)
		return;
	f->suspect_of[i] += m->state == GOSSIP_SUSPECT;
	f->dead_of[i] += m->state == GOSSIP_DEAD;
}

/* Members 0..n-1 with the keyrings in f->ring, all joining through 0. */
static void start(struct fixture *f, size_t n, uint64_t seed)
{
	struct gsim_config c = { .n = n, .seed = seed, .lat_min_ns = 200000,
				 .lat_max_ns = 2 * MS, .on_change = on_change,
				 .auth = fill_auth, .arg = f };

	gossip_config_default(&c.base);
	assert_int_equal(gsim_new(&c, &f->s), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gsim_start(f->s, i, NULL), 0);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(gsim_join(f->s, i, 0), 0);
}

static void stop(struct fixture *f, size_t n)
{
	gsim_free(f->s);
	for (size_t i = 0; i < n; i++)
		agent_gossip_auth_free(f->auth[i]);
}

static uint64_t unauth(struct fixture *f, size_t i)
{
	struct gossip_stats st;

	gossip_stats_get(gsim_gossip(f->s, i), &st);
	return st.rx_unauth;
}

/* h4 holds another key under the same id, h5 none: the four honest members
 * see only each other, never suspect each other, and count the refusals. */
static void test_intruders_change_nothing(void **state)
{
	struct fixture f = { .ring = { "1 " K1, "1 " K1, "1 " K1, "1 " K1, "1 " K2, NULL } };
	char name[GOSSIP_NAME_MAX];
	struct gossip_member m;
	uint64_t refused = 0;

	(void)state;
	start(&f, 6, 7);
	gsim_run_until(f.s, 60 * S);
	for (size_t i = 0; i < 4; i++) {
		struct gossip *g = gsim_gossip(f.s, i);

		assert_int_equal(gossip_count(g), 4);
		assert_int_equal(gossip_count_state(g, GOSSIP_ALIVE), 4);
		assert_int_equal(gossip_member_find(g, gsim_name(4, name), &m), -ENOENT);
		assert_int_equal(gossip_member_find(g, gsim_name(5, name), &m), -ENOENT);
		assert_int_equal(f.suspect_of[i], 0);
		refused += unauth(&f, i);
	}
	assert_true(refused > 0);	/* the intruders did talk: to h0 at least */
	assert_true(unauth(&f, 0) > 0);
	assert_true(agent_gossip_auth_stats(f.auth[0])->bad_tag > 0);
	/* and the intruders learnt nothing from the rack either */
	assert_int_equal(gossip_count(gsim_gossip(f.s, 4)), 1);
	assert_int_equal(gossip_count(gsim_gossip(f.s, 5)), 1);
	stop(&f, 6);
}

static void set_all(struct fixture *f, size_t n, const char *text, uint64_t gap_ns)
{
	for (size_t i = 0; i < n; i++) {
		agent_gossip_auth_set_keyring(f->auth[i], ring(text));
		gsim_run_until(f->s, gsim_now(f->s) + gap_ns);
	}
}

/* Rotation K1 -> K2 in three steps, one host at a time with 3 s between
 * hosts: nothing refused, nobody suspected, everyone alive throughout. */
static void test_rotation_three_steps(void **state)
{
	struct fixture f = { .ring = { "1 " K1, "1 " K1, "1 " K1, "1 " K1, "1 " K1 } };
	uint64_t refused = 0;

	(void)state;
	start(&f, 5, 11);
	gsim_run_until(f.s, 20 * S);
	set_all(&f, 5, "1 " K1 "\n2 " K2 "\n", 3 * S);
	set_all(&f, 5, "2 " K2 "\n1 " K1 "\n", 3 * S);
	set_all(&f, 5, "2 " K2 "\n", 3 * S);
	gsim_run_until(f.s, gsim_now(f.s) + 20 * S);
	for (size_t i = 0; i < 5; i++) {
		refused += unauth(&f, i);
		assert_int_equal(f.suspect_of[i], 0);
		assert_int_equal(gossip_count_state(gsim_gossip(f.s, i), GOSSIP_ALIVE), 5);
	}
	assert_int_equal(refused, 0);
	stop(&f, 5);
}

/* The same hosts switching straight to K2 one by one: the check above
 * could fail — the hosts that switched are refused by the others. */
static void test_rotation_skipping_a_step_is_refused(void **state)
{
	struct fixture f = { .ring = { "1 " K1, "1 " K1, "1 " K1, "1 " K1, "1 " K1 } };
	uint64_t refused = 0;

	(void)state;
	start(&f, 5, 11);
	gsim_run_until(f.s, 20 * S);
	set_all(&f, 2, "2 " K2 "\n", 3 * S);
	for (size_t i = 0; i < 5; i++)
		refused += unauth(&f, i);
	assert_true(refused > 0);
	assert_int_equal(agent_gossip_auth_stats(f.auth[4])->unknown_key > 0, 1);
	stop(&f, 5);
}

/* Direct delivery of captured datagrams: once accepted, again refused;
 * a flipped bit refused; a datagram held 31 s (beyond the window) refused.
 * The receiver's view is the same after each refusal. The two members
 * share one clock and one capture buffer, here. */
static struct {
	uint64_t now;
	uint8_t buf[2048];
	size_t len;
} cap;

static uint64_t cap_now(void *data)
{
	(void)data;
	return cap.now;
}

static uint64_t cap_wall(void *arg)
{
	(void)arg;
	return EPOCH + cap.now;
}

static uint64_t cap_random(void *data)
{
	(void)data;
	return 42;
}

static int cap_send(void *data, const struct gossip_addr *to, const void *buf, size_t len)
{
	(void)data;
	(void)to;
	assert_true(len <= sizeof(cap.buf));
	memcpy(cap.buf, buf, len);
	cap.len = len;
	return 0;
}

static struct gossip *member(const char *name, uint32_t ip, struct agent_gossip_auth **auth,
			     uint64_t self_id)
{
	struct gossip_config cfg;
	struct gossip_ops ops = { .now_ns = cap_now, .random = cap_random, .send = cap_send };
	struct gossip *g;
	char err[GOSSIP_ERRLEN];

	gossip_config_default(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.addr = (struct gossip_addr){ .ip = ip, .port = 7946 };
	assert_int_equal(agent_gossip_auth_new(ring("1 " K1), self_id, cap_wall, NULL, auth), 0);
	agent_gossip_auth_ops(*auth, &ops);
	assert_int_equal(gossip_new(&cfg, &ops, &g, err), 0);
	return g;
}

static void test_replay_tamper_stale(void **state)
{
	struct agent_gossip_auth *aa, *ab;
	struct gossip *a, *b;
	struct gossip_addr to_b = { .ip = 0x0a000002, .port = 7946 };
	struct gossip_addr from_a = { .ip = 0x0a000001, .port = 7946 };
	uint8_t held[2048], flipped[2048];
	size_t held_len;

	(void)state;
	cap.now = 1 * S;
	a = member("ha", from_a.ip, &aa, 1);
	b = member("hb", to_b.ip, &ab, 2);
	assert_int_equal(gossip_join(a, &to_b, 1), 0);	/* a push-pull request */
	assert_true(cap.len > 0);
	memcpy(held, cap.buf, cap.len);
	held_len = cap.len;
	memcpy(flipped, held, held_len);
	flipped[held_len / 2] ^= 0x01;	/* a body byte: the decoder or the MAC refuses */
	assert_int_not_equal(gossip_recv(b, &from_a, flipped, held_len), 0);
	memcpy(flipped, held, held_len);
	flipped[held_len - 1] ^= 0x01;	/* the MAC's last byte */
	assert_int_not_equal(gossip_recv(b, &from_a, flipped, held_len), 0);
	assert_int_equal(gossip_count(b), 1);
	assert_int_equal(gossip_recv(b, &from_a, held, held_len), 0);
	assert_int_equal(gossip_count(b), 2);	/* b learnt of a */
	assert_int_not_equal(gossip_recv(b, &from_a, held, held_len), 0);
	assert_int_equal(agent_gossip_auth_stats(ab)->replayed, 1);
	assert_int_equal(agent_gossip_auth_stats(ab)->bad_tag, 1);

	/* a fresh datagram held 31 s: stale */
	cap.len = 0;
	assert_int_equal(gossip_join(a, &to_b, 1), 0);
	assert_true(cap.len > 0);
	cap.now += 31 * S;
	assert_int_not_equal(gossip_recv(b, &from_a, cap.buf, cap.len), 0);
	assert_int_equal(agent_gossip_auth_stats(ab)->stale, 1);
	{
		struct gossip_stats st;

		gossip_stats_get(b, &st);
		assert_true(st.rx_unauth >= 3);
	}
	gossip_free(a);
	gossip_free(b);
	agent_gossip_auth_free(aa);
	agent_gossip_auth_free(ab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intruders_change_nothing),
		cmocka_unit_test(test_rotation_three_steps),
		cmocka_unit_test(test_rotation_skipping_a_step_is_refused),
		cmocka_unit_test(test_replay_tamper_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
