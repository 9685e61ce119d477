/* test_rtvctl.c — rtvctl's command line as pure functions: what each verb
 * accepts, what it refuses and with which words, defaults, exit-code
 * mapping, and the msgpack → JSON conversion behind -o json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/client.h"
#include "rpc/proto.h"
#include "cli/rtvctl.h"
#include "cli/rtvctl_out.h"
#include "sched/sched.h"

#define MAX_ARGV 32
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct rtvctl_env test_env = { NULL, "alice" };

/* Splits a command line on spaces (tests never need quoting) and parses it. */
static int parse_line(const char *line, struct rtvctl_opts *o, char *err, size_t errlen)
{
	static char buf[1024];
	char *argv[MAX_ARGV] = { "rtvctl" }, *save = NULL;
	int argc = 1;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < MAX_ARGV; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	err[0] = '\0';
	return rtvctl_parse(argc, argv, &test_env, o, err, errlen);
}

static void parse_ok(const char *line, struct rtvctl_opts *o)
{
	char err[RTVCTL_ERRLEN];

	if (parse_line(line, o, err, sizeof(err)) != 0)
		fail_msg("\"%s\" refused: %s", line, err);
}

static void test_reserve(void **state)
{
	struct rtvctl_opts o;
	const struct cons_path_req *p = &o.cmd.u.path;

	(void)state;
	parse_ok("reserve --src 10.0.0.1 --dst 10.0.0.2 --dport 5000 --type deadline --rate 2M "
		 "--deadline 5ms --burst 3000", &o);
	assert_int_equal(o.verb, RTVCTL_RESERVE);
	assert_true(rtvctl_verb_submits(o.verb));
	assert_int_equal(o.cmd.op, CONS_OP_PATH_RESERVE);
	assert_int_equal(p->src_ip, 0x0a000001);
	assert_int_equal(p->dst_ip, 0x0a000002);
	assert_int_equal(p->dport, 5000);
	assert_int_equal(p->proto, 0);
	assert_int_equal(p->type, CONS_PATH_DEADLINE);
	assert_int_equal(p->rate_bps, 2000000);
	assert_int_equal(p->deadline_ns, 5000000);
	assert_int_equal(p->burst_bytes, 3000);
	assert_int_equal(p->max_pkt_bytes, 0);
	assert_int_equal(p->policy.after_ns, RTVCTL_DEFAULT_MISS_AFTER_NS);
	assert_int_equal(p->policy.misses, 0);
	assert_int_equal(p->policy.max_level, SCHED_ESCALATION_MAX);
	assert_string_equal(p->owner, "alice");
	assert_int_equal(o.output, RTVCTL_OUT_TABLE);
	assert_int_equal(o.timeout_ns, RTVCTL_DEFAULT_TIMEOUT_NS);
	assert_string_equal(o.endpoint, AGENT_CLIENT_DEFAULT_URL);

	/* every option, "=" syntax, global options after the verb */
	parse_ok("reserve --src=10.1.2.3 --dst 10.1.2.4 --proto udp --type=reservation --rate 1.5M "
		 "--deadline 500us --burst 1.5k --max-pkt 1500 --miss-after 2s --miss-count 10 "
		 "--max-level 2 --owner bob -o json --timeout 250ms", &o);
	assert_int_equal(p->proto, 17);
	assert_int_equal(p->type, CONS_PATH_RESERVATION);
	assert_int_equal(p->rate_bps, 1500000);
	assert_int_equal(p->deadline_ns, 500000);
	assert_int_equal(p->burst_bytes, 1500);
	assert_int_equal(p->max_pkt_bytes, 1500);
	assert_int_equal(p->policy.after_ns, 2000000000ull);
	assert_int_equal(p->policy.misses, 10);
	assert_int_equal(p->policy.max_level, 2);
	assert_string_equal(p->owner, "bob");
	assert_int_equal(o.output, RTVCTL_OUT_JSON);
	assert_int_equal(o.timeout_ns, 250000000ull);
	parse_ok("reserve --src 10.0.0.1 --dst 10.0.0.2 --proto tcp --type deadline --rate 1G "
		 "--deadline 1ms", &o);
	assert_int_equal(p->proto, 6);
}

struct bad {
	const char *line;
	const char *msg_part;
};

static void check_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rtvctl_opts o;
		char err[RTVCTL_ERRLEN];
		int rc = parse_line(cases[i].line, &o, err, sizeof(err));
		if (rc != -EINVAL || !strstr(err, cases[i].msg_part))
			fail_msg("\"%s\": rc %d, err \"%s\" (want \"%s\")", cases[i].line, rc, err,
				 cases[i].msg_part);
	}
}

#define RES "reserve --src 10.0.0.1 --dst 10.0.0.2 --type deadline "

static void test_reserve_bad(void **state)
{
	static const struct bad cases[] = {
		{ RES "--rate 12000 --deadline 5ms", "a rate needs a unit: 12000bit? 12k? 12M?" },
		{ RES "--rate 2M --deadline 5", "a duration needs a unit" },
		{ RES "--rate 2M", "reserve needs --deadline" },
		{ RES "--deadline 5ms", "reserve needs --rate" },
		{ "reserve --src 10.0.0.1 --type deadline --rate 2M --deadline 5ms", "needs --dst" },
		{ "reserve --dst 10.0.0.1 --type deadline --rate 2M --deadline 5ms", "needs --src" },
		{ "reserve --src 10.0.0.1 --dst 10.0.0.2 --rate 2M --deadline 5ms", "needs --type" },
		{ RES "--rate 0M --deadline 5ms", "--rate must be above zero" },
		{ RES "--rate 2M --deadline 0ms", "--deadline must be above zero" },
		{ RES "--rate -2M --deadline 5ms", "negative" },
		{ RES "--rate 2MB --deadline 5ms", "ambiguous" },
		{ RES "--rate 2M --deadline 5ms --dport 70000", "out of range" },
		{ RES "--rate 2M --deadline 5ms --dport http", "not a number" },
		{ RES "--rate 2M --deadline 5ms --proto icmp", "udp, tcp or any" },
		{ RES "--rate 2M --deadline 5ms --burst 1000 --max-pkt 1500", "at least one --max-pkt" },
		{ RES "--rate 2M --deadline 5ms --max-pkt 100000", "too large" },
		{ RES "--rate 2M --deadline 5ms --max-level 9", "out of range" },
		{ RES "--rate 2M --deadline 5ms --bogus 1", "unknown option \"--bogus\"" },
		{ RES "--rate 2M --deadline 5ms --uuid x", "--uuid is not an option of reserve" },
		{ RES "--rate 2M --deadline 5ms extra", "reserve takes no arguments" },
		{ RES "--rate 2M --deadline 5ms --linearizable", "--linearizable applies to reads" },
		{ RES "--rate 2M --deadline", "option --deadline needs a value" },
		{ "reserve --src 10.0.0.300 --dst 10.0.0.2 --type deadline --rate 2M --deadline 5ms",
		  "not an IPv4 address" },
		{ "reserve --src 10.0.0.1 --dst 10.0.0.1 --type deadline --rate 2M --deadline 5ms",
		  "same address" },
		{ "reserve --src 10.0.0.1 --dst 10.0.0.2 --type edf --rate 2M --deadline 5ms",
		  "write deadline" },
		{ RES "--rate 2M --deadline 5ms --owner "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "too long" },
	};

	(void)state;
	check_bad(cases, N(cases));
}

static void test_reads(void **state)
{
	struct rtvctl_opts o;

	(void)state;
	parse_ok("paths", &o);
	assert_int_equal(o.verb, RTVCTL_PATHS);
	assert_false(o.has_id);
	assert_false(o.linearizable);
	assert_false(rtvctl_verb_submits(o.verb));
	parse_ok("--linearizable paths 17", &o);
	assert_true(o.has_id);
	assert_int_equal(o.id, 17);
	assert_true(o.linearizable);
	parse_ok("-l -ojson hosts", &o);
	assert_int_equal(o.verb, RTVCTL_HOSTS);
	assert_int_equal(o.output, RTVCTL_OUT_JSON);
	parse_ok("links -o table", &o);
	assert_int_equal(o.verb, RTVCTL_LINKS);
	parse_ok("vms", &o);
	assert_int_equal(o.verb, RTVCTL_VMS);
	parse_ok("status", &o);
	assert_int_equal(o.verb, RTVCTL_STATUS);
}

static void test_endpoints(void **state)
{
	struct rtvctl_opts o;
	struct rtvctl_env env = { "tcp://127.0.0.1:7101", NULL };
	char *argv[] = { "rtvctl", "status" };
	char err[RTVCTL_ERRLEN];

	(void)state;
	parse_ok("-s /tmp/r.sock status", &o);
	assert_string_equal(o.endpoint, "ipc:///tmp/r.sock");
	parse_ok("--socket ipc:///x/y.sock status", &o);
	assert_string_equal(o.endpoint, "ipc:///x/y.sock");
	parse_ok("status --endpoint tcp://10.0.0.1:7101,tcp://10.0.0.2:7101", &o);
	assert_string_equal(o.endpoint, "tcp://10.0.0.1:7101,tcp://10.0.0.2:7101");
	assert_int_equal(rtvctl_parse(2, argv, &env, &o, err, sizeof(err)), 0);
	assert_string_equal(o.endpoint, "tcp://127.0.0.1:7101");
}

static void test_admin_verbs(void **state)
{
	struct rtvctl_opts o;

	(void)state;
	parse_ok("release 42", &o);
	assert_int_equal(o.cmd.op, CONS_OP_PATH_RELEASE);
	assert_int_equal(o.cmd.u.ref.id, 42);
	parse_ok("vm add --uuid u-1 --host 2 --ip 10.0.0.5 --ip 10.0.1.5 --mac 52:54:00:ab:cd:ef "
		 "--tenant blue", &o);
	assert_int_equal(o.cmd.op, CONS_OP_VM_SET);
	assert_string_equal(o.cmd.u.vm.uuid, "u-1");
	assert_string_equal(o.cmd.u.vm.name, "u-1");	/* name defaults to the uuid */
	assert_int_equal(o.cmd.u.vm.host_id, 2);
	assert_int_equal(o.cmd.u.vm.n_ips, 2);
	assert_int_equal(o.cmd.u.vm.ips[1], 0x0a000105);
	assert_int_equal(o.cmd.u.vm.n_macs, 1);
	assert_int_equal(o.cmd.u.vm.macs[0][5], 0xef);
	assert_string_equal(o.cmd.u.vm.tenant, "blue");
	parse_ok("vm remove u-1", &o);
	assert_int_equal(o.cmd.op, CONS_OP_VM_REMOVE);
	assert_string_equal(o.cmd.u.vm.uuid, "u-1");
	parse_ok("members add 4 10.0.0.4:7000 --standby", &o);
	assert_int_equal(o.verb, RTVCTL_MEMBERS_ADD);
	assert_int_equal(o.id, 4);
	assert_string_equal(o.raft_addr, "10.0.0.4:7000");
	assert_false(o.voter);
	parse_ok("members add 5 10.0.0.5:7000", &o);
	assert_true(o.voter);
	parse_ok("members remove 4", &o);
	assert_int_equal(o.verb, RTVCTL_MEMBERS_REMOVE);
	parse_ok("transfer", &o);
	assert_false(o.has_id);
	parse_ok("transfer 2", &o);
	assert_true(o.has_id);
	assert_int_equal(o.id, 2);
}

static void test_link_set(void **state)
{
	struct rtvctl_opts o;
	const struct cons_link *l = &o.cmd.u.link;

	(void)state;
	parse_ok("link set tor spine1 --capacity 10G --rt-budget 50% --hop-latency 5us", &o);
	assert_int_equal(o.cmd.op, CONS_OP_LINK_SET);
	assert_string_equal(l->a, "spine1");	/* stored in the state's order, a < b */
	assert_string_equal(l->b, "tor");
	assert_int_equal(l->capacity_ab_bps, 10000000000ull);
	assert_int_equal(l->capacity_ba_bps, 10000000000ull);
	assert_int_equal(l->rt_budget_ppm, 500000);
	assert_int_equal(l->hop_latency_ns, 5000);
	assert_int_equal(o.link_given, RTVCTL_LINK_BUDGET | RTVCTL_LINK_HOP);
	/* directions follow the names when they are swapped */
	parse_ok("link set tor spine1 --capacity 40G --capacity-ba 10G", &o);
	assert_int_equal(l->capacity_ab_bps, 10000000000ull);	/* spine1 -> tor */
	assert_int_equal(l->capacity_ba_bps, 40000000000ull);	/* tor -> spine1 */
	assert_int_equal(o.link_given, RTVCTL_LINK_CAP_BA);
	parse_ok("link set a b --capacity 1G --capacity-ba 2G --rt-budget 0.25", &o);
	assert_int_equal(l->capacity_ab_bps, 1000000000ull);
	assert_int_equal(l->capacity_ba_bps, 2000000000ull);
	assert_int_equal(l->rt_budget_ppm, 250000);
}

static void test_other_bad(void **state)
{
	static const struct bad cases[] = {
		{ "", "no command given" },
		{ "frobnicate", "unknown command \"frobnicate\"" },
		{ "vm", "vm needs a subcommand (add or remove)" },
		{ "vm start", "vm needs a subcommand" },
		{ "link", "link needs a subcommand (set)" },
		{ "release", "release needs an rtpath ID" },
		{ "release 0", "ids start at 1" },
		{ "release x", "not a number" },
		{ "release 1 2", "release takes only" },
		{ "paths 1 2", "paths takes only" },
		{ "hosts 3", "hosts takes no arguments" },
		{ "status -o yaml", "write -o json or -o table" },
		{ "status --timeout 5", "a duration needs a unit" },
		{ "status --timeout 0s", "above zero" },
		{ "status -s", "needs a value" },
		{ "status -x", "unknown option \"-x\"" },
		{ "status -lfoo", "takes no value" },
		{ "status --linearizable=yes", "takes no value" },
		{ "status --endpoint http://x", "use ipc:///path" },
		{ "status --endpoint=", "must not be empty" },
		{ "vm add --host 1 --ip 10.0.0.1", "needs --uuid" },
		{ "vm add --uuid u --ip 10.0.0.1", "needs --host" },
		{ "vm add --uuid u --host 1", "at least one --ip" },
		{ "vm add --uuid u --host 0 --ip 10.0.0.1", "host ids start at 1" },
		{ "vm add --uuid u --host 1 --ip 10.0.0.1 --mac 52:54:00:00:00", "not a MAC" },
		{ "vm add --uuid u --host 1 --ip 1.1.1.1 --ip 1.1.1.2 --ip 1.1.1.3 --ip 1.1.1.4 "
		  "--ip 1.1.1.5", "at most 4 --ip" },
		{ "vm remove", "needs the VM's UUID" },
		{ "link set a --capacity 1G", "two node names" },
		{ "link set a a --capacity 1G", "two different nodes" },
		{ "link set a b", "needs --capacity" },
		{ "link set a b --capacity 1G --rt-budget 50", "between 0 and 1: 50%?" },
		{ "link set a b --capacity 1G --rt-budget 0%", "above 0%" },
		{ "link set a b --capacity 0G", "above zero" },
		{ "members add 4", "ID RAFT_ADDR" },
		{ "members add 4 10.0.0.4", "not ip:port" },
		{ "members add 4 10.0.0.4:0", "not ip:port" },
		{ "members add 4 host:7000", "not ip:port" },
		{ "members remove", "a node ID" },
		{ "status --standby", "--standby is not an option of status" },
		{ "transfer 0", "ids start at 1" },
	};

	(void)state;
	check_bad(cases, N(cases));
}

static void test_help(void **state)
{
	struct rtvctl_opts o;

	(void)state;
	parse_ok("--help", &o);
	assert_true(o.help);
	assert_int_equal(o.verb, RTVCTL_NONE);
	assert_non_null(strstr(rtvctl_help(o.verb), "Commands:"));
	/* help wins over errors in the rest of the line */
	parse_ok("reserve --help --rate 12000", &o);
	assert_true(o.help);
	assert_int_equal(o.verb, RTVCTL_RESERVE);
	parse_ok("help vm add", &o);
	assert_true(o.help);
	assert_int_equal(o.verb, RTVCTL_VM_ADD);
	parse_ok("-h", &o);
	assert_true(o.help);
	for (int v = RTVCTL_NONE; v < RTVCTL_N_VERBS; v++) {
		const char *h = rtvctl_help((enum rtvctl_verb)v);
		assert_non_null(strstr(h, "usage: rtvctl"));
		if (v != RTVCTL_NONE && !strstr(h, "Example"))
			fail_msg("help of %s has no example", rtvctl_verb_name((enum rtvctl_verb)v));
	}
}

static void test_small_parsers(void **state)
{
	char err[RTVCTL_ERRLEN];
	uint32_t ip;
	uint8_t mac[6];
	uint64_t v;

	(void)state;
	assert_int_equal(rtvctl_parse_ipv4("192.168.1.254", &ip, err, sizeof(err)), 0);
	assert_int_equal(ip, 0xc0a801fe);
	assert_int_equal(rtvctl_parse_ipv4("192.168.1", &ip, err, sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_ipv4("::1", &ip, err, sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_mac("AA:bb:0c:00:01:ff", mac, err, sizeof(err)), 0);
	assert_int_equal(mac[0], 0xaa);
	assert_int_equal(mac[5], 0xff);
	assert_int_equal(rtvctl_parse_mac("aa:bb:cc:dd:ee:ff:00", mac, err, sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_mac("aa-bb-cc-dd-ee-ff", mac, err, sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_uint("n", "18446744073709551615", UINT64_MAX, &v, err,
					   sizeof(err)), 0);
	assert_int_equal(rtvctl_parse_uint("n", "18446744073709551616", UINT64_MAX, &v, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_uint("n", "-1", UINT64_MAX, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(rtvctl_parse_uint("n", "12abc", UINT64_MAX, &v, err, sizeof(err)), -EINVAL);
}

/* proto.h's table: 0 ok, 1 refused, 2 usage, 3 unavailable. */
static void test_exit_codes(void **state)
{
	static const struct { int status, code; bool unavailable; } cases[] = {
		{ 0, PROTO_EXIT_OK, false },
		{ CONS_EREFUSED, PROTO_EXIT_REFUSED, false },
		{ -CONS_EREFUSED, PROTO_EXIT_REFUSED, false },
		{ -ENOENT, PROTO_EXIT_REFUSED, false },
		{ -EEXIST, PROTO_EXIT_REFUSED, false },
		{ -EBUSY, PROTO_EXIT_REFUSED, false },
		{ -EINVAL, PROTO_EXIT_USAGE, false },
		{ -EAGAIN, PROTO_EXIT_UNAVAILABLE, true },
		{ -ETIMEDOUT, PROTO_EXIT_UNAVAILABLE, true },
		{ -ECONNREFUSED, PROTO_EXIT_UNAVAILABLE, true },
		{ -EHOSTUNREACH, PROTO_EXIT_UNAVAILABLE, true },
		{ CONS_ENOTLEADER, PROTO_EXIT_UNAVAILABLE, true },
		{ -CONS_ENOTLEADER, PROTO_EXIT_UNAVAILABLE, true },
		{ -ECONNRESET, PROTO_EXIT_UNAVAILABLE, true },
		{ -EACCES, PROTO_EXIT_UNAVAILABLE, false },
		{ -EPROTO, PROTO_EXIT_UNAVAILABLE, false },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		if (agent_client_exit_code(cases[i].status) != cases[i].code ||
		    agent_client_unavailable(cases[i].status) != cases[i].unavailable)
			fail_msg("status %d: exit %d unavailable %d", cases[i].status,
				 agent_client_exit_code(cases[i].status),
				 agent_client_unavailable(cases[i].status));
		assert_non_null(agent_client_status_name(cases[i].status));
	}
	assert_string_equal(agent_client_status_name(CONS_EREFUSED), "refused");
}

/* -o json converts whatever rtvd sends; the output must be valid JSON. */
static void test_json(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	json_t *j;
	char *s;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	msgpack_pack_str_with_body(&pk, "status", 6);
	msgpack_pack_int(&pk, -11);
	msgpack_pack_str_with_body(&pk, "big", 3);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "\x01\xff", 2);
	msgpack_pack_str_with_body(&pk, "bad", 3);
	msgpack_pack_str_with_body(&pk, "\xc3\x28", 2);	/* invalid UTF-8 */
	msgpack_pack_uint64(&pk, 7);	/* a non-string key */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "f", 1);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_str_with_body(&pk, "m", 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, "\xc2\xb5s", 3);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	j = rtvctl_json_from_msgpack(&up.data);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"status\":-11,\"big\":1.8446744073709552e19,\"bin\":\"01ff\","
			       "\"bad\":\"c328\",\"7\":[true,null],\"f\":0.5,\"m\":{\"x\":\"\xc2\xb5s\"}}");
	free(s);
	json_decref(j);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

static void test_random_id(void **state)
{
	(void)state;
	assert_true(agent_client_random_u64() != 0);
	assert_true(agent_client_random_u64() != agent_client_random_u64());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_reserve_bad),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_admin_verbs),
		cmocka_unit_test(test_link_set),
		cmocka_unit_test(test_other_bad),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_small_parsers),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_random_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
