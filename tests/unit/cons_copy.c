/* cons_copy.c — see cons_copy.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tests/unit/cons_copy.h"

struct cons_state *test_cons_copy(const struct cons_state *s)
{
	struct cons_state *c;
	char err[CONS_ERRLEN];
	void *buf;
	size_t len;

	assert_int_equal(cons_state_new(&c), 0);
	assert_int_equal(cons_state_snapshot(s, &buf, &len), 0);
	if (cons_state_restore(c, buf, len, err) != 0)
		fail_msg("restore of a fresh snapshot: %s", err);
	free(buf);
	return c;
}
