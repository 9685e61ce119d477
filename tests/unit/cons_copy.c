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

int test_cons_apply_checked(struct cons_state *s, uint64_t index, const struct cons_cmd *c,
			    struct cons_result *res, bool light)
{
	struct cons_state *before = light ? NULL : test_cons_copy(s), *after;
	struct cons_cmd noop = { .op = CONS_OP_NOOP };
	struct cons_result r;
	char err[CONS_ERRLEN];

	assert_int_equal(cons_state_apply(s, index, c, res), 0);
	if (light)
		return res->status;
	if (cons_state_check(s, err) != 0)
		fail_msg("invariants after %s: %s", cons_op_name(c->op), err);
	after = test_cons_copy(s);
	assert_true(cons_state_equal(after, s));
	if ((res->status != 0 && c->client_id == 0) || res->duplicate) {
		/* nothing may have changed but the applied index */
		assert_int_equal(cons_state_apply(before, index, &noop, &r), 0);
		if (!cons_state_equal(before, s))
			fail_msg("refused %s changed the state: %s", cons_op_name(c->op), res->err);
	}
	cons_state_free(after);
	cons_state_free(before);
	return res->status;
}
