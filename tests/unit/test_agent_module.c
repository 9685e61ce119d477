/* test_agent_module.c — the core's module registry (agent/core/core.h):
 * registration rules and a module's own section of rtvd.conf. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/config.h"
#include "agent/core/core.h"

#define BASE "[node]\nid = 1\nname = h1\ndata_dir = /var/lib/rtvd\n" \
	     "raft_addr = 127.0.0.1:7001\nrpc_addr = tcp://127.0.0.1:8001\n" \
	     "[cluster]\npeer = 1@127.0.0.1:7001@tcp://127.0.0.1:8001\n" \
	     "[uplink]\ncapacity = 1G\n" "[tls]\ninsecure = true\n"

/* A module with a section [probe]: key "port" (1..65535, required). */
static struct { unsigned port; unsigned keys; bool done; } probe;

static int probe_key(const char *key, const char *value, char *why, size_t whylen)
{
	char *end;
	unsigned long v;

	probe.keys++;
	if (strcmp(key, "port") != 0)
		return -ENOENT;
	v = strtoul(value, &end, 10);
	if (*end || v < 1 || v > 65535) {
		snprintf(why, whylen, "a UDP port, 1 to 65535");
		return -EINVAL;
	}
	probe.port = (unsigned)v;
	return 0;
}

static int probe_done(const struct agent_config *cfg, char *why, size_t whylen)
{
	probe.done = true;
	if (cfg->id == 1 && probe.port == 0) {
		snprintf(why, whylen, "[probe] port is missing");
		return -EINVAL;
	}
	return 0;
}

static const struct agent_module probe_module = {
	.name = "probe", .section = "probe", .config_key = probe_key, .config_done = probe_done,
};
static const struct agent_module same_name = { .name = "probe" };
static const struct agent_module same_section = { .name = "other", .section = "probe" };

static int parse(const char *extra, char *err, size_t n)
{
	static struct agent_config cfg;
	char text[1024];

	memset(&probe, 0, sizeof(probe));
	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	return agent_config_parse(&cfg, "t.conf", text, err, n);
}

static void test_register(void **state)
{
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	/* before registration the section is unknown, and said so */
	assert_int_equal(parse("[probe]\nport = 7100\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown section [probe]"));
	assert_int_equal(agent_module_register(&probe_module), 0);
	assert_int_equal(agent_module_register(&probe_module), -EEXIST);
	assert_int_equal(agent_module_register(&same_name), -EEXIST);
	assert_int_equal(agent_module_register(&same_section), -EEXIST);
}

static void test_section(void **state)
{
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	assert_int_equal(parse("[probe]\nport = 7100\n", err, sizeof(err)), 0);
	assert_int_equal(probe.port, 7100);
	assert_true(probe.done);

	assert_int_equal(parse("[probe]\nport = 0\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:14: [probe] port = \"0\": a UDP port"));

	assert_int_equal(parse("[probe]\nport = 1\nport = 2\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[probe] port is given twice (first on line 14)"));
	assert_int_equal(probe.keys, 1);	/* the repeat never reached the module */

	assert_int_equal(parse("[probe]\nprot = 1\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[probe] prot: unknown key"));

	/* config_done runs without the section too: required keys */
	assert_int_equal(parse("", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[probe] port is missing"));

	/* other unknown sections list the modules' sections */
	assert_int_equal(parse("[nope]\nx = 1\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dataplane, probe)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
