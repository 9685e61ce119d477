/* test_gossip.c — the member list under a simulated clock and network
 * (bench/gossip_sim): joins, kills, loss with reordering, partitions and
 * heal, SIGSTOP-like pauses, starvation and Lifeguard's health, facts,
 * leaving. Every scenario is deterministic for its seed; times are
 * simulated, so nothing here depends on the machine's speed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/gossip_sim.h"

#define S 1000000000ull
#define MS 1000000ull

/* Every state change any member sees, for "nobody ever declared X dead". */
struct watch {
	size_t dead_of[16];		/* times member i was marked dead by anyone */
	size_t suspect_of[16];
};

static void on_change(void *arg, size_t observer, const struct gossip_member *m,
		      enum gossip_state old)
{
	struct watch *w = arg;
	unsigned long i;

	(void)observer;
	(void)old;
	if (!w || m->name[0] != 'h')
		return;
	i = strtoul(m->name + 1, NULL, 10);
	if (i >= 16)
		return;
	if (m->state == GOSSIP_DEAD)
		w->dead_of[i]++;
	if (m->state == GOSSIP_SUSPECT)
		w->suspect_of[i]++;
}

static struct gsim *rack(size_t n, uint64_t seed, uint32_t loss_ppm, struct watch *w)
{
	struct gsim_config c = { .n = n, .seed = seed, .loss_ppm = loss_ppm,
				 .lat_min_ns = 200000, .lat_max_ns = 2 * MS,
				 .on_change = on_change, .arg = w };
	struct gsim *s;

	gossip_config_default(&c.base);
	assert_int_equal(gsim_new(&c, &s), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gsim_start(s, i, NULL), 0);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(gsim_join(s, i, 0), 0);
	return s;
}

static bool all_alive(struct gsim *s, void *arg)
{
	size_t n = *(size_t *)arg;

	for (size_t i = 0; i < n; i++)
		if (!gsim_killed(s, i) && !gsim_all_see(s, i, GOSSIP_ALIVE))
			return false;
	return true;
}

static bool seen_dead(struct gsim *s, void *arg)
{
	return gsim_all_see(s, *(size_t *)arg, GOSSIP_DEAD);
}

static void test_join_converges(void **state)
{
	size_t n = 8;
	struct gsim *s = rack(n, 1, 0, NULL);

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gossip_count(gsim_gossip(s, i)), n);
	gsim_free(s);
}

/* SIGKILL one member: every other marks it dead, nobody else is accused. */
static void test_kill_detected(void **state)
{
	size_t n = 8, victim = 5;
	struct watch w = { 0 };
	struct gsim *s = rack(n, 2, 0, &w);

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	gsim_run_until(s, gsim_now(s) + 5 * S);
	gsim_kill(s, victim);
	assert_true(gsim_run_while_not(s, seen_dead, &victim, 100 * MS, gsim_now(s) + 60 * S));
	for (size_t i = 0; i < n; i++)
		if (i != victim)
			assert_int_equal(w.dead_of[i], 0);
	gsim_free(s);
}

/* 10% loss and 0.2..40 ms latency (datagrams overtake each other): the
 * rack still converges, finds a killed member, and accuses no one else. */
static void test_loss_and_reordering(void **state)
{
	size_t n = 10, victim = 3;
	struct watch w = { 0 };
	struct gsim_config c = { .n = n, .seed = 3, .loss_ppm = 100000, .lat_min_ns = 200000,
				 .lat_max_ns = 40 * MS, .on_change = on_change, .arg = &w };
	struct gsim *s;

	(void)state;
	gossip_config_default(&c.base);
	assert_int_equal(gsim_new(&c, &s), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(gsim_start(s, i, NULL), 0);
	for (size_t i = 1; i < n; i++)
		gsim_join(s, i, i - 1);
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 60 * S));
	gsim_run_until(s, gsim_now(s) + 120 * S);
	gsim_kill(s, victim);
	assert_true(gsim_run_while_not(s, seen_dead, &victim, 100 * MS, gsim_now(s) + 90 * S));
	assert_true(gsim_dropped(s) > 0);
	for (size_t i = 0; i < n; i++)
		if (i != victim)
			assert_int_equal(w.dead_of[i], 0);
	gsim_free(s);
}

/* Split 3 | 3: each side declares the other dead; after the heal the
 * push-pull to dead members brings everyone back alive. */
static void test_partition_and_heal(void **state)
{
	size_t n = 6;
	int halves[6] = { 0, 0, 0, 1, 1, 1 };
	struct gsim *s = rack(n, 4, 0, NULL);

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	gsim_partition(s, halves);
	gsim_run_until(s, gsim_now(s) + 60 * S);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(gossip_count_state(gsim_gossip(s, i), GOSSIP_DEAD), 3);
		assert_int_equal(gossip_count_state(gsim_gossip(s, i + 3), GOSSIP_DEAD), 3);
	}
	gsim_partition(s, NULL);
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 180 * S));
	gsim_free(s);
}

/* A SIGSTOP of 3 s: the member is suspected, refutes when it runs again
 * (incarnation up), and is never declared dead. */
static void test_pause_refuted(void **state)
{
	size_t n = 6, paused = 2;
	struct watch w = { 0 };
	struct gsim *s = rack(n, 5, 0, &w);
	struct gossip_member m;
	struct gossip_stats st;

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	gsim_run_until(s, gsim_now(s) + 3 * S);
	gsim_pause(s, paused, 3 * S);
	gsim_run_until(s, gsim_now(s) + 30 * S);
	assert_true(w.suspect_of[paused] > 0);
	assert_int_equal(w.dead_of[paused], 0);
	gossip_stats_get(gsim_gossip(s, paused), &st);
	assert_true(st.refutations >= 1);
	assert_int_equal(gossip_member_find(gsim_gossip(s, 0), "h2", &m), 0);
	assert_int_equal(m.state, GOSSIP_ALIVE);
	assert_true(m.incarnation >= 1);
	assert_true(all_alive(s, &n));
	gsim_free(s);
}

/* A starved member (every event up to 1.5 s late) raises its own local
 * health multiplier, the healthy ones stay at 0, and it comes back down
 * once the member runs normally again. */
static void test_lhm_starved(void **state)
{
	size_t n = 6, slow = 1;
	struct gsim *s = rack(n, 6, 0, NULL);
	unsigned peak = 0;

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	gsim_starve(s, slow, 1500 * MS);
	for (int t = 0; t < 60; t++) {
		gsim_run_until(s, gsim_now(s) + S);
		if (gossip_health(gsim_gossip(s, slow)) > peak)
			peak = gossip_health(gsim_gossip(s, slow));
		for (size_t i = 0; i < n; i++)
			if (i != slow)
				assert_true(gossip_health(gsim_gossip(s, i)) <= 1);
	}
	assert_true(peak >= 2);
	gsim_starve(s, slow, 0);
	gsim_run_until(s, gsim_now(s) + 120 * S);
	assert_int_equal(gossip_health(gsim_gossip(s, slow)), 0);
	gsim_free(s);
}

static void test_facts_spread(void **state)
{
	size_t n = 8;
	struct gsim *s = rack(n, 7, 0, NULL);
	struct gossip_facts f = { .uplink_bps = 10000000000ull, .uplink_util_ppm = 250000,
				  .rt_reserved_bps = 2000000, .cpu_ppm = 420000,
				  .mem_total_bytes = 64ull << 30, .mem_avail_bytes = 20ull << 30,
				  .vm_count = 7, .dp_miss_count = 3, .version = "rtvd 0.9" };
	struct gossip_member m;

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	assert_int_equal(gossip_set_facts(gsim_gossip(s, 4), &f), 0);
	gsim_run_until(s, gsim_now(s) + 5 * S);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(gossip_member_find(gsim_gossip(s, i), "h4", &m), 0);
		assert_int_equal(m.facts_seq, 1);
		assert_int_equal(m.facts.cpu_ppm, 420000);
		assert_int_equal(m.facts.vm_count, 7);
		assert_string_equal(m.facts.version, "rtvd 0.9");
	}
	f.cpu_ppm = 1000001;
	assert_int_equal(gossip_set_facts(gsim_gossip(s, 4), &f), -EINVAL);
	gsim_free(s);
}

/* 150 members through one seed with piggybacking off: only push-pull can
 * spread them, and a 150-member table (about 3 kB) takes several
 * datagrams, so convergence proves the chunking. */
static void test_large_pushpull_chunked(void **state)
{
	size_t n = 150;
	struct gsim_config c = { .n = n, .seed = 9, .lat_min_ns = 200000, .lat_max_ns = 2 * MS };
	struct gsim *s;

	(void)state;
	gossip_config_default(&c.base);
	c.base.piggyback = false;
	assert_int_equal(gsim_new(&c, &s), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(gsim_start(s, i, NULL), 0);
		if (i)
			assert_int_equal(gsim_join(s, i, 0), 0);
	}
	assert_true(gsim_run_while_not(s, all_alive, &n, S, gsim_now(s) + 900 * S));
	gsim_free(s);
}

/* Facts reach a member that joins after their updates stopped spreading:
 * through the push-pull answer to its join. Dead members are forgotten
 * after dead_reap_ns. */
static void test_late_joiner_and_reap(void **state)
{
	size_t n = 6, late = 5, victim = 2;
	struct gsim_config c = { .n = n, .seed = 10, .lat_min_ns = 200000, .lat_max_ns = 2 * MS };
	struct gossip_facts f = { .cpu_ppm = 10, .mem_total_bytes = 2, .version = "v" };
	struct gossip_member m;
	struct gsim *s;

	(void)state;
	gossip_config_default(&c.base);
	c.base.dead_reap_ns = 30 * S;
	assert_int_equal(gsim_new(&c, &s), 0);
	for (size_t i = 0; i < late; i++) {
		gsim_start(s, i, NULL);
		if (i)
			gsim_join(s, i, 0);
	}
	gossip_set_facts(gsim_gossip(s, 1), &f);
	gsim_run_until(s, gsim_now(s) + 60 * S);
	gsim_start(s, late, NULL);
	gsim_join(s, late, 3);
	gsim_run_until(s, gsim_now(s) + 1 * S);
	assert_int_equal(gossip_member_find(gsim_gossip(s, late), "h1", &m), 0);
	assert_int_equal(m.facts_seq, 1);
	assert_int_equal(m.facts.cpu_ppm, 10);
	gsim_kill(s, victim);
	assert_true(gsim_run_while_not(s, seen_dead, &victim, 100 * MS, gsim_now(s) + 60 * S));
	gsim_run_until(s, gsim_now(s) + 32 * S);
	for (size_t i = 0; i < n; i++)
		if (i != victim) {
			assert_int_equal(gossip_count(gsim_gossip(s, i)), n - 1);
			assert_int_equal(gossip_member_find(gsim_gossip(s, i), "h2", &m), -ENOENT);
		}
	gsim_free(s);
}

static bool seen_left(struct gsim *s, void *arg)
{
	return gsim_all_see(s, *(size_t *)arg, GOSSIP_LEFT);
}

static void test_leave(void **state)
{
	size_t n = 6, leaver = 3;
	struct gsim *s = rack(n, 8, 0, NULL);

	(void)state;
	assert_true(gsim_run_while_not(s, all_alive, &n, 100 * MS, gsim_now(s) + 10 * S));
	gossip_leave(gsim_gossip(s, leaver));
	assert_true(gsim_run_while_not(s, seen_left, &leaver, 100 * MS, gsim_now(s) + 5 * S));
	gsim_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_converges),
		cmocka_unit_test(test_kill_detected),
		cmocka_unit_test(test_loss_and_reordering),
		cmocka_unit_test(test_partition_and_heal),
		cmocka_unit_test(test_pause_refuted),
		cmocka_unit_test(test_lhm_starved),
		cmocka_unit_test(test_facts_spread),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_large_pushpull_chunked),
		cmocka_unit_test(test_late_joiner_and_reap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
