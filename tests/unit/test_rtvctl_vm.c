/* test_rtvctl_vm.c — which command lines rtvctl hands to cli/cmd_vm.c's
 * `vm migrate` (global options may stand before the verb). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cmd_vm.h"

#define TAKE(at, ...)                                                           \
	do {                                                                    \
		char *const a_[] = { "rtvctl", __VA_ARGS__, NULL };             \
		int n_ = (int)(sizeof(a_) / sizeof(a_[0])) - 1, v_ = -1;        \
		bool t_ = rtvctl_vm_take(n_, a_, &v_);                          \
		assert_int_equal(t_, (at) > 0);                                 \
		if ((at) > 0)                                                   \
			assert_int_equal(v_, (at));                             \
	} while (0)

static void test_take(void **st)
{
	(void)st;
	TAKE(1, "vm", "migrate", "g1", "--to", "h2");
	TAKE(3, "-o", "json", "vm", "migrate", "g1", "--to", "h2");
	TAKE(5, "-s", "/run/x.sock", "--timeout", "2s", "vm", "migrate", "g1");
	TAKE(2, "-l", "vm", "migrate");
	TAKE(0, "vm", "add", "--uuid", "u");
	TAKE(0, "vms");
	TAKE(0, "-o", "vm", "migrate");	/* "vm" is -o's value: the verb is "migrate" */
	TAKE(0, "vm");
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_take) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
