/* test_agent_gossip.c — the [gossip] section of rtvd.conf as the gossip
 * module reads it: a good section, each refusal with its message, and a
 * file without the section after one with it (nothing carried over). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/config.h"
#include "agent/gossip/gossip.h"

#define BASE "[node]\nid = 1\nname = h1\ndata_dir = /var/lib/rtvd\n" \
	     "raft_addr = 127.0.0.1:7001\nrpc_addr = tcp://127.0.0.1:8001\n" \
	     "[cluster]\npeer = 1@127.0.0.1:7001@tcp://127.0.0.1:8001\n" \
	     "[uplink]\ncapacity = 1G\n" "[tls]\ninsecure = true\n"

static int parse(const char *extra, char *err)
{
	static struct agent_config cfg;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	err[0] = '\0';
	return agent_config_parse(&cfg, "t.conf", text, err, AGENT_CONFIG_ERRLEN);
}

static int setup(void **state)
{
	(void)state;
	return agent_module_register(&agent_gossip_module);
}

static void test_good(void **state)
{
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	assert_int_equal(parse("[gossip]\nbind = 10.0.0.1:7946\n"
			       "seeds = 10.0.0.2:7946, 10.0.0.3:7946\nprobe_interval = 500ms\n"
			       "probe_timeout = 200ms\ngossip_interval = 100ms\n"
			       "pushpull_interval = 20s\nlifeguard = no\nautopilot = yes\n"
			       "autopilot_dead_after = 5s\n", err), 0);
	assert_int_equal(parse("[gossip]\nbind = 0.0.0.0:7946\nadvertise = 10.0.0.1:7946\n", err), 0);
	assert_int_equal(parse("", err), 0);	/* no section: off */
}

static void test_refused(void **state)
{
	static const struct { const char *text, *says; } bad[] = {
		{ "[gossip]\nseeds = 10.0.0.2:7946\n", "needs bind" },
		{ "[gossip]\nbind = 0.0.0.0:7946\n", "advertise" },
		{ "[gossip]\nbind = 10.0.0.1\n", "IP:PORT" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nseeds = 10.0.0.2\n", "seeds" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nprobe_interval = 5\n", "probe_interval" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nprobe_timeout = 2s\n", "probe timeout" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nlifeguard = maybe\n", "yes or no" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nautopilot = maybe\n", "autopilot: yes or no" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nautopilot_dead_after = 10ms\n", "at least 1s" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nautopilot_dead_after = x\n", "autopilot_dead_after" },
		{ "[gossip]\nbind = 10.0.0.1:7946\nfanout = 3\n", "fanout" },
	};
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, err) != -EINVAL || !strstr(err, bad[i].says))
			fail_msg("case %zu accepted or unclear: '%s'", i, err);
		/* the refusal leaves nothing behind for the next file */
		assert_int_equal(parse("", err), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
