/* test_gossip_udp.c — the libuv UDP backend on loopback: three members on
 * ephemeral ports join, see each other alive, one is closed (silent from
 * then on, as after SIGKILL) and the other two mark it dead; then every
 * handle closes and the loop ends empty. Intervals are short (100 ms
 * probes) so the test takes about a second; the deadline is only there so
 * a broken build fails instead of hanging. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "gossip/gossip.h"

#define N 3
#define LOOPBACK 0x7f000001u

struct fixture {
	uv_loop_t loop;
	uv_timer_t check, deadline;
	struct gossip_udp *m[N];
	bool (*done)(struct fixture *);
	bool timed_out;
	unsigned changes;
};

static void on_change(void *data, const struct gossip_member *m, enum gossip_state old)
{
	struct fixture *f = data;

	(void)m;
	(void)old;
	f->changes++;
}

static void on_check(uv_timer_t *t)
{
	struct fixture *f = t->data;

	if (f->done(f))
		uv_stop(&f->loop);
}

static void on_deadline(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->timed_out = true;
	uv_stop(&f->loop);
}

static bool run_until(struct fixture *f, bool (*done)(struct fixture *))
{
	f->done = done;
	f->timed_out = false;
	uv_timer_start(&f->check, on_check, 10, 10);
	uv_timer_start(&f->deadline, on_deadline, 20000, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->check);
	uv_timer_stop(&f->deadline);
	return !f->timed_out;
}

static bool all_alive(struct fixture *f)
{
	for (size_t i = 0; i < N; i++)
		if (gossip_count_state(gossip_udp_gossip(f->m[i]), GOSSIP_ALIVE) != N)
			return false;
	return true;
}

static bool last_dead(struct fixture *f)
{
	struct gossip_member m;

	for (size_t i = 0; i < N - 1; i++)
		if (gossip_member_find(gossip_udp_gossip(f->m[i]), "u2", &m) != 0 ||
		    m.state != GOSSIP_DEAD)
			return false;
	return true;
}

static void test_udp_rack(void **state)
{
	struct fixture f = { 0 };
	struct gossip_ops user = { .data = &f, .on_change = on_change };
	struct gossip_addr bind = { LOOPBACK, 0 }, seed;
	struct gossip_config c;
	char err[GOSSIP_ERRLEN];

	(void)state;
	assert_int_equal(uv_loop_init(&f.loop), 0);
	uv_timer_init(&f.loop, &f.check);
	uv_timer_init(&f.loop, &f.deadline);
	f.check.data = f.deadline.data = &f;
	gossip_config_default(&c);
	c.probe_interval_ns = 100000000;
	c.probe_timeout_ns = 50000000;
	c.gossip_interval_ns = 20000000;
	c.addr = (struct gossip_addr){ LOOPBACK, 0 };
	for (size_t i = 0; i < N; i++) {
		snprintf(c.name, sizeof(c.name), "u%zu", i);
		if (gossip_udp_new(&f.loop, &c, &user, &bind, &f.m[i], err))
			fail_msg("member %zu: %s", i, err);
	}
	{
		struct gossip_member m0;

		assert_int_equal(gossip_member_get(gossip_udp_gossip(f.m[0]), 0, &m0), 0);
		assert_int_not_equal(m0.addr.port, 0);
		seed = m0.addr;
	}
	for (size_t i = 1; i < N; i++)
		assert_int_equal(gossip_join(gossip_udp_gossip(f.m[i]), &seed, 1), 0);
	assert_true(run_until(&f, all_alive));
	assert_true(f.changes >= N * N);
	gossip_udp_close(f.m[N - 1]);
	assert_true(run_until(&f, last_dead));
	for (size_t i = 0; i < N - 1; i++)
		gossip_udp_close(f.m[i]);
	uv_close((uv_handle_t *)&f.check, NULL);
	uv_close((uv_handle_t *)&f.deadline, NULL);
	assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_udp_bind_error(void **state)
{
	uv_loop_t loop;
	struct gossip_config c;
	struct gossip_addr bind = { 0x01020304u, 7946 };	/* not ours */
	struct gossip_udp *u = NULL;
	char err[GOSSIP_ERRLEN] = "";

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	gossip_config_default(&c);
	strcpy(c.name, "x");
	c.addr = bind;
	assert_true(gossip_udp_new(&loop, &c, NULL, &bind, &u, err) < 0);
	assert_non_null(strstr(err, "cannot bind"));
	assert_null(u);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_rack),
		cmocka_unit_test(test_udp_bind_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
