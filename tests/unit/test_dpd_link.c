/* test_dpd_link.c — rtvd's rules toward its rtvdp (dpd/link.c): no push
 * before rtvd's state has caught up with the table in force, then every
 * push; plain forwarding once rtvdp has been unreachable long enough, once
 * per outage, and cleared when rtvdp answers again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dpd/dpd.h"

static void test_resync(void **state)
{
	struct dpd_link l;
	struct dpd_state st = { .index = 120, .gen = 7 };

	(void)state;
	dpd_link_init(&l, 3000, 0);
	assert_false(dpd_link_may_push(&l, 500));	/* not connected */
	assert_false(dpd_link_up(&l, &st));
	assert_false(dpd_link_may_push(&l, 0));		/* restarted: snapshot only */
	assert_false(dpd_link_may_push(&l, 119));	/* replaying the log */
	assert_int_equal(l.held, 2);
	assert_true(dpd_link_may_push(&l, 120));	/* caught up */
	dpd_link_pushed(&l, 130);
	assert_false(dpd_link_may_push(&l, 125));
	assert_true(dpd_link_may_push(&l, 131));
	dpd_link_pushed(&l, 100);			/* never backwards */
	assert_int_equal(l.dp_index, 130);
}

static void test_degrade(void **state)
{
	struct dpd_link l;
	struct dpd_state st = { .index = 1 };

	(void)state;
	dpd_link_init(&l, 3000, 1000);
	assert_false(dpd_link_degrade_due(&l, 3999));	/* rtvdp may still be starting */
	assert_true(dpd_link_degrade_due(&l, 4000));	/* never came */
	assert_false(dpd_link_degrade_due(&l, 9000));	/* once per outage */
	assert_true(dpd_link_up(&l, &st));		/* back: it was degraded */
	assert_false(dpd_link_degrade_due(&l, 20000));
	dpd_link_down(&l, 20000);
	assert_false(dpd_link_degrade_due(&l, 22999));	/* a restart within the grace */
	assert_false(dpd_link_up(&l, &st));
	dpd_link_down(&l, 30000);
	dpd_link_down(&l, 31000);			/* already down: the outage began at 30 s */
	assert_true(dpd_link_degrade_due(&l, 33000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_degrade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
