/* test_agent_ovs_config.c — the [ovs] section of rtvd's configuration
 * (agent/core/config.h, agent/ovs/ovs.h): defaults that leave OVS alone, every key
 * parsed, and every bad value or combination refused with -EINVAL and a
 * message naming the file, the section and the key. */
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
#include "agent/ovs/ovs_internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char base[] =
	"[node]\n"
	"id = 1\n"
	"name = h1\n"
	"data_dir = /var/lib/rtvd\n"
	"raft_addr = 10.0.1.1:7001\n"
	"rpc_addr = tcp://10.0.1.1:8001\n"
	"[cluster]\n"
	"peer = 1@10.0.1.1:7001@tcp://10.0.1.1:8001\n"
	"[uplink]\n"
	"capacity = 1G\n" "[tls]\ninsecure = true\n";

static int parse_with(const char *ovs, struct agent_config *cfg, char *err, size_t errlen)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", base, ovs);
	return agent_config_parse(cfg, "t.conf", text, err, errlen);
}

static void test_defaults(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse_with("", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.ovs.enabled);
	assert_string_equal(cfg.ovs.db, "unix:/run/openvswitch/db.sock");
	assert_string_equal(cfg.ovs.bridge, "br-rtv");
	assert_string_equal(cfg.ovs.datapath_type, "system");
	assert_string_equal(cfg.ovs.of_listen, "127.0.0.1:6653");
	assert_string_equal(cfg.ovs.offhost_port, "rtv-int");
	assert_string_equal(cfg.ovs.uplink_port, "");
	assert_string_equal(cfg.ovs.int_port, "");
	assert_string_equal(cfg.ovs.int_type, "internal");
}

static void test_all_keys(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse_with("[ovs]\nenabled = true\ndb = /tmp/x/db.sock\nbridge = br0\n"
				    "datapath_type = netdev\nof_listen = 127.0.0.1:16653\n"
				    "offhost_port = \nuplink_port = up0\nint_port = rtv-int\n"
				    "int_type = \n", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.ovs.enabled);
	assert_string_equal(cfg.ovs.db, "/tmp/x/db.sock");
	assert_string_equal(cfg.ovs.bridge, "br0");
	assert_string_equal(cfg.ovs.datapath_type, "netdev");
	assert_string_equal(cfg.ovs.of_listen, "127.0.0.1:16653");
	assert_string_equal(cfg.ovs.offhost_port, "");
	assert_string_equal(cfg.ovs.uplink_port, "up0");
	assert_string_equal(cfg.ovs.int_port, "rtv-int");
	assert_string_equal(cfg.ovs.int_type, "");
}

/* An offhost port and the int_port that creates it are enough without an
 * uplink (rtvd's dataplane then owns the uplink). */
static void test_no_uplink_with_int_port(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse_with("[ovs]\nenabled = yes\nint_port = rtv-int\n", &cfg, err,
				    sizeof(err)), 0);
}

struct bad {
	const char *ovs;	/* the [ovs] section */
	const char *want;	/* a piece of the message */
};

static const struct bad bads[] = {
	{ "[ovs]\nenable = true\n", "[ovs] enable: unknown key" },
	{ "[ovs]\nenabled = maybe\n", "true or false" },
	{ "[ovs]\ndb = run/db.sock\n", "unix:/PATH" },
	{ "[ovs]\ndb = tcp:127.0.0.1:6640\n", "unix:/PATH" },
	{ "[ovs]\nbridge = \n", "interface name" },
	{ "[ovs]\nbridge = a-bridge-name-too-long\n", "interface name" },
	{ "[ovs]\nbridge = br rtv\n", "interface name" },
	{ "[ovs]\ndatapath_type = dpdk\n", "system, netdev" },
	{ "[ovs]\nof_listen = 6653\n", "IPv4 address and port" },
	{ "[ovs]\nenabled = true\nof_listen = 10.0.1.1:7001\nuplink_port = up0\n", "raft_addr" },
	{ "[ovs]\nenabled = true\nof_listen = 10.0.1.1:8001\nuplink_port = up0\n", "rpc_addr" },
	{ "[ovs]\nuplink_port = /dev/x\n", "interface name" },
	{ "[ovs]\nint_type = patch\n", "internal" },
	{ "[ovs]\nguest_mtu = 67\n", "guest_mtu is auto" },
	{ "[ovs]\nguest_mtu = 65536\n", "68 to 65535" },
	{ "[ovs]\nguest_mtu = on\n", "off (leave VM ports alone)" },
	{ "[ovs]\nenabled = true\n", "uplink_port is missing" },
	{ "[ovs]\nenabled = true\noffhost_port = \nint_port = rtv-int\n", "uplink_port is missing" },
	{ "[ovs]\nenabled = true\nuplink_port = up0\nint_port = br-rtv\n", "bridge's own name" },
	{ "[ovs]\nbridge = br0\nbridge = br1\n", "given twice" },
	{ "[osv]\nenabled = true\n", "unknown section [osv]" },
};

/* Cross-key rules apply only when enabled: a disabled section is inert. */
static void test_disabled_inert(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse_with("[ovs]\nof_listen = 10.0.1.1:7001\noffhost_port = \n", &cfg,
				    err, sizeof(err)), 0);
	assert_false(cfg.ovs.enabled);
}

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bads); i++) {
		struct agent_config cfg;
		char err[AGENT_CONFIG_ERRLEN] = "";
		int rc = parse_with(bads[i].ovs, &cfg, err, sizeof(err));

		if (rc != -EINVAL || strstr(err, bads[i].want) == NULL ||
		    strncmp(err, "t.conf", 6) != 0)
			fail_msg("case %zu (%s): rc %d, message \"%s\", want \"%s\"", i,
				 bads[i].ovs, rc, err, bads[i].want);
	}
}

/* The line of the offending key is named. */
static void test_line(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse_with("[ovs]\nbridge = br0\ndatapath_type = kernel\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:15: [ovs] datapath_type = \"kernel\""));
}

/* [ovs] guest_mtu: what VM ports are given (agent/ovs/ovs_mtu.c, docs/mtu.md) */
static void test_guest_mtu(void **state)
{
	static const struct {
		const char *conf;
		uint32_t want;
	} cases[] = {
		{ "", 0 },	/* auto, no dataplane: rtvnet adds nothing */
		{ "[dataplane]\nenabled = true\nint_dev = a\nuplink_dev = b\n", 1496 },
		{ "[dataplane]\nenabled = true\nint_dev = a\nuplink_dev = b\nmtu = 9000\n", 8996 },
		{ "[ovs]\nguest_mtu = off\n[dataplane]\nenabled = true\nint_dev = a\nuplink_dev = b\n", 0 },
		{ "[ovs]\nguest_mtu = 1446\n", 1446 },
		{ "[ovs]\nguest_mtu = auto\n[dataplane]\nenabled = true\nint_dev = a\nuplink_dev = b\n",
		  1496 },
	};
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		if (parse_with(cases[i].conf, &cfg, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		if (ovs_mtu_want(&cfg) != cases[i].want)
			fail_msg("case %zu: %u, want %u", i, ovs_mtu_want(&cfg), cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_no_uplink_with_int_port),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_disabled_inert),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_guest_mtu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
