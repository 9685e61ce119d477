/* test_agent_config.c — rtvd's configuration file and RPC request decoder.
 *
 * Configuration: table-driven good and bad files; every bad one must be
 * refused with -EINVAL and a message naming the file, the line and the key.
 * Requests: well-formed ones decode to the right struct and survive an
 * encode/decode round trip; malformed ones (wrong types, missing or unknown
 * op, bad version, truncated, hostile sizes) are refused with the right
 * errno and a message, never crash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>

#include "agent/core/config.h"
#include "agent/modules.h"
#include "common/mpack.h"
#include "rpc/proto.h"
#include "rpc/request.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Lines 1-12; bad cases replace one of them or append after line 12. */
static const char *const base_lines[] = {
	"[node]",
	"id = 1",
	"name = h1",
	"data_dir = /var/lib/rtvd",
	"raft_addr = 127.0.0.1:7001",
	"rpc_addr = tcp://127.0.0.1:8001",
	"[cluster]",
	"peer = 1@127.0.0.1:7001@tcp://127.0.0.1:8001",
	"peer = 2@127.0.0.1:7002@tcp://127.0.0.1:8002",
	"peer = 3@127.0.0.1:7003@tcp://127.0.0.1:8003@standby",
	"[uplink]",
	"capacity = 1G",
};

/* The base text with line `line` (1-based) replaced by `text`, or with
 * `text` appended when line is 0; then "[tls] insecure = true" unless the
 * text has a [tls] of its own (a config without [tls] is refused). */
static char *config_text(int line, const char *text)
{
	size_t cap = 4096;
	char *buf = malloc(cap);
	size_t used = 0;

	assert_non_null(buf);
	for (size_t i = 0; i < N(base_lines); i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s\n",
					 (int)i + 1 == line ? text : base_lines[i]);
	if (line == 0)
		used += (size_t)snprintf(buf + used, cap - used, "%s\n", text);
	if (!strstr(text, "[tls]"))
		snprintf(buf + used, cap - used, "[tls]\ninsecure = true\n");
	return buf;
}

static int parse(int line, const char *text, struct agent_config *cfg, char *err, size_t n)
{
	char *t = config_text(line, text);
	int rc = agent_config_parse(cfg, "t.conf", t, err, n);

	free(t);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Good configurations                                                       */

static void test_config_base(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	if (parse(-1, "", &cfg, err, sizeof(err)) != 0)
		fail_msg("base config refused: %s", err);
	assert_int_equal(cfg.id, 1);
	assert_string_equal(cfg.name, "h1");
	assert_string_equal(cfg.data_dir, "/var/lib/rtvd");
	assert_string_equal(cfg.raft_addr, "127.0.0.1:7001");
	assert_string_equal(cfg.rpc_addr, "tcp://127.0.0.1:8001");
	assert_string_equal(cfg.cli_socket, AGENT_DEFAULT_CLI_SOCKET);
	assert_string_equal(cfg.cli_group, "");
	assert_int_equal(cfg.n_peers, 3);
	assert_int_equal(cfg.peers[1].id, 2);
	assert_string_equal(cfg.peers[1].raft_addr, "127.0.0.1:7002");
	assert_string_equal(cfg.peers[1].rpc_addr, "tcp://127.0.0.1:8002");
	assert_false(cfg.peers[1].standby);
	assert_true(cfg.peers[2].standby);
	assert_false(cfg.join);
	assert_true(cfg.uplink_bps == 1000000000ull);
	assert_int_equal(cfg.rt_budget_ppm, 500000);
	assert_int_equal(cfg.max_frame_bytes, 1518);
	assert_string_equal(cfg.uplink_to, "tor");
	assert_true(cfg.uplink_latency_ns == CONS_HOP_LATENCY_DEFAULT_NS);
	assert_int_equal(cfg.election_timeout_ms, 250);
	assert_int_equal(cfg.heartbeat_ms, 50);
	assert_true(cfg.pre_vote);
	assert_int_equal(cfg.contexts, 64);
	assert_true(cfg.leader_wait_ns == 3000000000ull);
	assert_int_equal(cfg.log_level, RTV_LOG_INFO);
	assert_non_null(agent_config_peer(&cfg, 3));
	assert_null(agent_config_peer(&cfg, 4));
}

static void test_config_full(void **state)
{
	static const char text[] =
		"# a comment\n"
		"; another\n"
		"[node]\n"
		"id = 7   ; inline comment\n"
		"name = rack1-h7.lab\n"
		"data_dir = /tmp/rtvd7\n"
		"raft_addr = 10.0.0.7:7001\n"
		"rpc_addr = tcp://10.0.0.7:8001\n"
		"cli_socket = ipc:///tmp/rtvd7.sock\n"
		"cli_group = rtv\n"
		"\n"
		"[cluster]\n"
		"join = yes\n"
		"[uplink]\n"
		"capacity = 100Mbit\n"
		"rt_budget = 0.25\n"
		"max_frame = 9018\n"
		"to = spine1\n"
		"hop_latency = 1ms\n"
		"[raft]\n"
		"election_timeout = 1s\n"
		"heartbeat = 100ms\n"
		"pre_vote = off\n"
		"snapshot_threshold = 1000\n"
		"snapshot_trailing = 200\n"
		"[rpc]\n"
		"contexts = 8\n"
		"leader_wait = 500ms\n"
		"forward_timeout = 1s\n"
		"[log]\n"
		"level = debug\n"
		"[tls]\n"
		"insecure = true\n";
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	if (agent_config_parse(&cfg, "full.conf", text, err, sizeof(err)) != 0)
		fail_msg("full config refused: %s", err);
	assert_int_equal(cfg.id, 7);
	assert_string_equal(cfg.name, "rack1-h7.lab");
	assert_string_equal(cfg.cli_socket, "/tmp/rtvd7.sock");
	assert_string_equal(cfg.cli_group, "rtv");
	assert_true(cfg.join);
	assert_int_equal(cfg.n_peers, 0);
	assert_true(cfg.uplink_bps == 100000000ull);
	assert_int_equal(cfg.rt_budget_ppm, 250000);
	assert_int_equal(cfg.max_frame_bytes, 9018);
	assert_string_equal(cfg.uplink_to, "spine1");
	assert_true(cfg.uplink_latency_ns == 1000000ull);
	assert_int_equal(cfg.election_timeout_ms, 1000);
	assert_int_equal(cfg.heartbeat_ms, 100);
	assert_false(cfg.pre_vote);
	assert_int_equal(cfg.snapshot_threshold, 1000);
	assert_int_equal(cfg.snapshot_trailing, 200);
	assert_int_equal(cfg.contexts, 8);
	assert_true(cfg.leader_wait_ns == 500000000ull);
	assert_true(cfg.forward_timeout_ns == 1000000000ull);
	assert_int_equal(cfg.log_level, RTV_LOG_DEBUG);
}

static void test_config_example(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	/* the example has every module's section, as rtvd reads it */
	assert_int_equal(agent_register_modules(), 0);
	if (agent_config_load(&cfg, "deploy/rtvd.conf.example", err, sizeof(err)) != 0)
		fail_msg("deploy/rtvd.conf.example: %s", err);
	assert_int_equal(cfg.id, 1);
	assert_int_equal(cfg.n_peers, 3);
}

/* ------------------------------------------------------------------------- */
/* Bad configurations                                                        */

struct bad_case {
	int line;		/* replaced; 0 = appended */
	const char *text;
	const char *want[3];	/* the message must contain each */
};

static const struct bad_case bad_cases[] = {
	{ 12, "capacity = 12000",
	  { "t.conf:12: [uplink] capacity = \"12000\"", "needs a unit", "12k?" } },
	{ 12, "capacity = fast", { "t.conf:12:", "[uplink] capacity", "fast" } },
	{ 0, "[dataplane]\ncpu = first", { "t.conf:14:", "[dataplane] cpu", "a CPU number" } },
	{ 0, "[dataplane]\ncpu = 1024", { "t.conf:14:", "[dataplane] cpu", "0 to 1023" } },
	{ 12, "capacity = 0bit", { "t.conf:12:", "above 0" } },
	{ 2, "idd = 1", { "t.conf:2:", "[node] idd: unknown key", "id, name" } },
	{ 2, "ID = 1", { "t.conf:2:", "unknown key" } },
	{ 0, "[nodes]\nid = 1", { "t.conf:14:", "unknown section [nodes]" } },
	{ 1, "id = 1", { "t.conf:1:", "outside any section" } },
	{ 3, "id = 2", { "t.conf:3:", "[node] id is given twice (first on line 2)" } },
	{ 2, "", { "t.conf: [node] id is missing", "Raft server id" } },
	{ 12, "", { "[uplink] capacity is missing" } },
	{ 3, "", { "[node] name is missing" } },
	{ 4, "", { "[node] data_dir is missing" } },
	{ 2, "id = 0", { "t.conf:2: [node] id = \"0\"", "> 0" } },
	{ 2, "id = -1", { "t.conf:2:", "\"-1\"" } },
	{ 2, "id = 1x", { "t.conf:2:", "\"1x\"" } },
	{ 2, "id = 99999999999999999999", { "t.conf:2:", "whole number" } },
	{ 3, "name = h 1", { "t.conf:3: [node] name", "letters, digits" } },
	{ 3, "name = -h1", { "t.conf:3:", "starting with a letter or digit" } },
	{ 3, "name = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  { "t.conf:3:", "1 to 63" } },
	{ 4, "data_dir = var/lib/rtvd", { "t.conf:4: [node] data_dir", "absolute path" } },
	{ 5, "raft_addr = 127.0.0.1", { "t.conf:5: [node] raft_addr", "IPv4 address and port" } },
	{ 5, "raft_addr = 127.0.0.1:70000", { "t.conf:5:", "IPv4 address and port" } },
	{ 5, "raft_addr = localhost:7001", { "t.conf:5:", "IPv4" } },
	{ 6, "rpc_addr = 127.0.0.1:8001", { "t.conf:6: [node] rpc_addr", "tcp://" } },
	{ 6, "rpc_addr = tcp://127.0.0.1:7001", { "raft_addr and rpc_addr both use" } },
	{ 8, "peer = 1@127.0.0.1:7001", { "t.conf:8: [cluster] peer", "ID@RAFT_IP:PORT" } },
	{ 8, "peer = 1@127.0.0.1:7001@tcp://127.0.0.1:8001@witness", { "t.conf:8:", "standby" } },
	{ 8, "peer = 0@127.0.0.1:7001@tcp://127.0.0.1:8001", { "t.conf:8:", "ID@" } },
	{ 9, "peer = 1@127.0.0.1:7009@tcp://127.0.0.1:8009",
	  { "t.conf:9:", "same id as the peer on line 8" } },
	{ 9, "peer = 2@127.0.0.1:7001@tcp://127.0.0.1:8009",
	  { "t.conf:9:", "same raft address" } },
	{ 8, "peer = 4@127.0.0.1:7004@tcp://127.0.0.1:8004",
	  { "no peer has this node's id 1", "join = true" } },
	{ 8, "peer = 1@127.0.0.1:7011@tcp://127.0.0.1:8001",
	  { "t.conf:8:", "[cluster] peer 1 has 127.0.0.1:7011", "make them agree" } },
	{ 7, "[log]", { "t.conf:8:", "[log] peer: unknown key" } },
	{ 0, "rt_budget = 150%", { "t.conf:13: [uplink] rt_budget", "100%" } },
	{ 0, "rt_budget = 0%", { "t.conf:13:", "above 0%" } },
	{ 0, "rt_budget = 50", { "t.conf:13:", "50%?" } },
	{ 0, "max_frame = 10", { "t.conf:13: [uplink] max_frame", "64 to 65535" } },
	{ 0, "max_frame = 1518b", { "t.conf:13:", "bytes" } },
	{ 0, "to = a/b", { "t.conf:13: [uplink] to" } },
	{ 0, "hop_latency = 0us", { "t.conf:13: [uplink] hop_latency", "above 0", "10 ms" } },
	{ 0, "hop_latency = 20ms", { "t.conf:13:", "at most 10 ms" } },
	{ 0, "hop_latency = 5", { "t.conf:13: [uplink] hop_latency" } },
	{ 0, "[raft]\nelection_timeout = 250", { "t.conf:14: [raft] election_timeout", "250ms?" } },
	{ 0, "[raft]\nelection_timeout = 1500us",
	  { "t.conf:14:", "whole number of milliseconds" } },
	{ 0, "[raft]\nelection_timeout = 100ms\nheartbeat = 100ms",
	  { "t.conf:15:", "heartbeat (100ms) must be shorter than election_timeout (100ms)" } },
	{ 0, "[raft]\npre_vote = maybe", { "t.conf:14: [raft] pre_vote", "true or false" } },
	{ 0, "[raft]\nsnapshot_threshold = lots", { "t.conf:14:", "whole number" } },
	{ 0, "[rpc]\ncontexts = 0", { "t.conf:14: [rpc] contexts", "1 to 4096" } },
	{ 0, "[rpc]\nleader_wait = 3", { "t.conf:14: [rpc] leader_wait", "3s?" } },
	{ 0, "[log]\nlevel = loud", { "t.conf:14: [log] level = \"loud\"", "debug, info" } },
	{ 0, "[cluster]\njoin = perhaps", { "t.conf:14: [cluster] join", "true or false" } },
	{ 0, "[node]\ncli_socket = rtvd.sock", { "t.conf:14: [node] cli_socket", "absolute" } },
	{ 0, "[node]\ncli_group = wheel group", { "t.conf:14: [node] cli_group" } },
	{ 0, "[tls]\ninsecure = true\nca = /etc/rtvnet/pki/ca.crt",
	  { "t.conf:14: [tls] insecure = true and certificate files at once" } },
	{ 0, "[tls]\nca = /etc/rtvnet/pki/ca.crt\ncert = /etc/rtvnet/pki/host-1.crt",
	  { "[tls] needs ca, cert and key together", "rtvctl pki" } },
	{ 0, "[tls]", { "[tls] is missing", "insecure = true", "rtvctl pki issue 1" } },
	{ 0, "[tls]\nca = /a/ca.crt\ncert = /a/host-1.crt\nkey = /a/host-1.key",
	  { "tcp://127.0.0.1:8001: with [tls] certificates", "write tls+tcp://127.0.0.1:8001" } },
	{ 0, "[node]\nrpc_read_addr = tls+tcp://127.0.0.1:8101\n[tls]\ninsecure = true",
	  { "rpc_read_addr and [tls] read_ca need certificates" } },
	{ 0, "[node]\nrpc_read_addr = tls+tcp://127.0.0.1:8101\n[tls]\nca = /a/ca.crt\n"
	  "cert = /a/host-1.crt\nkey = /a/host-1.key", { "go together" } },
	{ 0, "[tls]\ncert = pki/host-1.crt", { "t.conf:14: [tls] cert", "absolute" } },
	{ 0, "[tls]\ninsecure = yes please", { "t.conf:14: [tls] insecure", "true or false" } },
	{ 0, "this line has no equals sign", { "t.conf:13:", "syntax error" } },
	{ 0, "[uplink", { "t.conf:13:", "syntax error" } },
};

static void test_config_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct agent_config cfg;
		char err[AGENT_CONFIG_ERRLEN] = "";
		int rc = parse(c->line, c->text, &cfg, err, sizeof(err));

		if (rc != -EINVAL)
			fail_msg("case %zu (\"%s\"): rc %d, want -EINVAL (err \"%s\")", i, c->text,
				 rc, err);
		for (size_t k = 0; k < 3 && c->want[k]; k++) {
			if (!strstr(err, c->want[k]))
				fail_msg("case %zu (\"%s\"): message \"%s\" lacks \"%s\"", i,
					 c->text, err, c->want[k]);
		}
	}
}

/* [dataplane] cpu = N: the engine and its devices' receive work on CPU N */
static void test_config_dp_cpu(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse(0, "[dataplane]\ncpu = 3", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.dataplane.pin);
	assert_int_equal(cfg.dataplane.cpu, 3);
	assert_int_equal(parse(0, "[log]\nlevel = info", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.dataplane.pin);
}

static void test_config_peers_max(void **state)
{
	char *text = config_text(0, "[tls]\ninsecure = true\n[cluster]");
	size_t cap = strlen(text) + 70 * 70, used = strlen(text);
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	text = realloc(text, cap);
	assert_non_null(text);
	for (int i = 4; i < 4 + CONS_PEERS_MAX; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "peer = %d@127.0.0.2:%d@tcp://127.0.0.2:%d\n", i,
					 10000 + i, 20000 + i);
	assert_int_equal(agent_config_parse(&cfg, "t.conf", text, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 64 peers"));
	free(text);
}

static void test_config_long_line(void **state)
{
	char line[400];
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "name = ", 7);
	assert_int_equal(parse(3, line, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:3: line longer than"));
}

static void test_config_files(void **state)
{
	char path[] = "/tmp/test_agent_config_XXXXXX";
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";
	char *text = config_text(-1, "");
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(agent_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.file, path);
	unlink(path);
	assert_int_equal(agent_config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot open"));
}

static void test_config_env(void **state)
{
	struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse(4, "data_dir = /tmp/rtvd-test-env-dir", &cfg, err, sizeof(err)), 0);
	snprintf(cfg.cli_socket, sizeof(cfg.cli_socket), "/tmp/rtvd-test-env.sock");
	assert_int_equal(agent_config_check_env(&cfg, err, sizeof(err)), 0);
	snprintf(cfg.cli_group, sizeof(cfg.cli_group), "no-such-group-rtv");
	assert_int_equal(agent_config_check_env(&cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "[node] cli_group = \"no-such-group-rtv\": no such group"));
	cfg.cli_group[0] = '\0';
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/nonexistent-rtv/a/b");
	assert_int_equal(agent_config_check_env(&cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-rtv/a/b does not exist"));
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/etc/passwd");
	assert_int_equal(agent_config_check_env(&cfg, err, sizeof(err)), -ENOTDIR);
}

/* ------------------------------------------------------------------------- */
/* Requests                                                                  */

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_str(struct mp *m, const char *s)
{
	msgpack_pack_str(&m->pk, strlen(s));
	msgpack_pack_str_body(&m->pk, s, strlen(s));
}

static int decode(struct mp *m, struct agent_req *req, char *err)
{
	int rc = agent_req_decode(m->sb.data, m->sb.size, req, err);

	msgpack_sbuffer_destroy(&m->sb);
	return rc;
}

/* {"v": 1, "op": op} plus n_more pairs the caller packs next. */
static void req_head(struct mp *m, const char *op, size_t n_more)
{
	mp_init(m);
	msgpack_pack_map(&m->pk, 2 + n_more);
	mp_str(m, "v");
	msgpack_pack_uint32(&m->pk, PROTO_VERSION);
	mp_str(m, "op");
	mp_str(m, op);
}

static void test_req_reads(void **state)
{
	static const char *const ops[] = { "paths", "hosts", "links", "vms", "status" };
	static const enum agent_op want[] = { AGENT_OP_PATHS, AGENT_OP_HOSTS, AGENT_OP_LINKS,
					      AGENT_OP_VMS, AGENT_OP_STATUS };
	char err[CONS_ERRLEN];
	struct agent_req req;
	struct mp m;

	(void)state;
	for (size_t i = 0; i < N(ops); i++) {
		req_head(&m, ops[i], 2);
		mp_str(&m, "lin");
		msgpack_pack_true(&m.pk);
		mp_str(&m, "future_key");	/* unknown keys are ignored */
		msgpack_pack_array(&m.pk, 0);
		assert_int_equal(decode(&m, &req, err), 0);
		assert_int_equal(req.op, want[i]);
		assert_true(req.lin);
		assert_false(req.fwd);
		assert_true(agent_op_is_read(req.op));
		agent_req_close(&req);
	}
	req_head(&m, "paths", 1);
	mp_str(&m, "id");
	msgpack_pack_uint64(&m.pk, 42);
	assert_int_equal(decode(&m, &req, err), 0);
	assert_int_equal(req.id, 42);
	assert_false(req.lin);
	agent_req_close(&req);
}

static void test_req_members(void **state)
{
	char err[CONS_ERRLEN];
	struct agent_req req;
	struct mp m;

	(void)state;
	req_head(&m, "members_add", 3);
	mp_str(&m, "id");
	msgpack_pack_uint64(&m.pk, 4);
	mp_str(&m, "raft_addr");
	mp_str(&m, "10.0.0.4:7001");
	mp_str(&m, "voter");
	msgpack_pack_false(&m.pk);
	assert_int_equal(decode(&m, &req, err), 0);
	assert_int_equal(req.op, AGENT_OP_MEMBERS_ADD);
	assert_int_equal(req.id, 4);
	assert_string_equal(req.raft_addr, "10.0.0.4:7001");
	assert_false(req.voter);
	agent_req_close(&req);

	req_head(&m, "members_remove", 1);
	mp_str(&m, "id");
	msgpack_pack_uint64(&m.pk, 4);
	assert_int_equal(decode(&m, &req, err), 0);
	assert_int_equal(req.op, AGENT_OP_MEMBERS_REMOVE);
	agent_req_close(&req);

	req_head(&m, "transfer", 0);
	assert_int_equal(decode(&m, &req, err), 0);
	assert_int_equal(req.to, 0);
	agent_req_close(&req);
}

static void test_req_submit_roundtrip(void **state)
{
	struct cons_cmd cmd = { .op = CONS_OP_PATH_RELEASE, .client_id = 9, .seq = 3 };
	char err[CONS_ERRLEN] = "";
	struct agent_req req, back;
	void *buf;
	size_t len;

	(void)state;
	cmd.u.ref.id = 17;
	if (agent_req_init_submit(&req, &cmd, err) != 0)
		fail_msg("init_submit: %s", err);
	assert_int_equal(agent_req_encode(&req, true, &buf, &len), 0);
	if (agent_req_decode(buf, len, &back, err) != 0)
		fail_msg("decode: %s", err);
	assert_int_equal(back.op, AGENT_OP_SUBMIT);
	assert_true(back.fwd);
	assert_int_equal(back.cmd.op, CONS_OP_PATH_RELEASE);
	assert_int_equal(back.cmd.client_id, 9);
	assert_int_equal(back.cmd.seq, 3);
	assert_int_equal(back.cmd.u.ref.id, 17);
	assert_int_equal(back.cmd_len, req.cmd_len);
	assert_memory_equal(back.cmd_buf, req.cmd_buf, req.cmd_len);

	/* every proper prefix is refused as malformed, none crashes */
	for (size_t cut = 0; cut < len; cut++) {
		struct agent_req r;

		assert_int_equal(agent_req_decode(buf, cut, &r, err), -EPROTO);
		assert_true(err[0] != '\0');
	}
	free(buf);
	agent_req_close(&back);
	agent_req_close(&req);
}

static void test_req_roundtrip_all(void **state)
{
	struct agent_req reqs[4];
	char err[CONS_ERRLEN];

	(void)state;
	memset(reqs, 0, sizeof(reqs));
	reqs[0] = (struct agent_req){ .op = AGENT_OP_PATHS, .id = 5, .lin = true };
	reqs[1] = (struct agent_req){ .op = AGENT_OP_MEMBERS_ADD, .id = 6, .voter = true };
	strcpy(reqs[1].raft_addr, "10.1.2.3:7001");
	reqs[2] = (struct agent_req){ .op = AGENT_OP_TRANSFER, .to = 3 };
	reqs[3] = (struct agent_req){ .op = AGENT_OP_STATUS, .wait_ms = 900 };
	for (size_t i = 0; i < N(reqs); i++) {
		struct agent_req back;
		void *buf;
		size_t len;

		assert_int_equal(agent_req_encode(&reqs[i], false, &buf, &len), 0);
		if (agent_req_decode(buf, len, &back, err) != 0)
			fail_msg("request %zu: %s", i, err);
		assert_int_equal(back.op, reqs[i].op);
		assert_int_equal(back.id, reqs[i].id);
		assert_int_equal(back.to, reqs[i].to);
		assert_int_equal(back.lin, reqs[i].lin);
		assert_int_equal(back.wait_ms, reqs[i].wait_ms);
		assert_false(back.fwd);
		assert_string_equal(back.raft_addr, reqs[i].raft_addr);
		free(buf);
		agent_req_close(&back);
	}
}

/* A malformed request as raw bytes, its errno and a word of its message. */
struct bad_req {
	const char *what;
	const char *bytes;
	size_t len;
	int rc;
	const char *msg_part;
};

#define B(s) s, sizeof(s) - 1
static const struct bad_req bad_reqs[] = {
	{ "empty", B(""), -EPROTO, "msgpack" },
	{ "not msgpack", B("\xc1"), -EPROTO, "msgpack" },
	{ "array root", B("\x91\x01"), -EPROTO, "map" },
	{ "string root", B("\xa3" "abc"), -EPROTO, "map" },
	{ "huge array", B("\xdd\xff\xff\xff\xff"), -EPROTO, "msgpack" },
	{ "huge map", B("\xdf\xff\xff\xff\xff\x01"), -EPROTO, "msgpack" },
	{ "huge str", B("\xdb\xff\xff\xff\xff" "a"), -EPROTO, "msgpack" },
	{ "trailing bytes", B("\x80\x00"), -EPROTO, "msgpack" },
	{ "empty map", B("\x80"), -EPROTO, "\"v\"" },
	{ "int key", B("\x81\x01\x01"), -EPROTO, "keys are strings" },
	{ "v as str", B("\x82\xa1v\xa1" "1\xa2op\xa6status"), -EPROTO, "\"v\" must be" },
	{ "v negative", B("\x82\xa1v\xff\xa2op\xa6status"), -EPROTO, "\"v\" must be" },
	{ "v zero", B("\x82\xa1v\x00\xa2op\xa6status"), -EPROTO, "versions start at 1" },
	{ "v too new", B("\x82\xa1v\x02\xa2op\xa6status"), -EPROTONOSUPPORT, "newer" },
	{ "op missing", B("\x81\xa1v\x01"), -EPROTO, "\"op\"" },
	{ "op as int", B("\x82\xa1v\x01\xa2op\x05"), -EPROTO, "\"op\" must be a string" },
	{ "op unknown", B("\x82\xa1v\x01\xa2op\xa4nope"), -EOPNOTSUPP, "unknown op \"nope\"" },
	{ "op binary junk", B("\x82\xa1v\x01\xa2op\xa2\x01\xff"), -EOPNOTSUPP, "unknown op" },
	{ "v twice", B("\x83\xa1v\x01\xa1v\x01\xa2op\xa6status"), -EPROTO, "twice" },
	{ "lin as int", B("\x83\xa1v\x01\xa2op\xa6status\xa3lin\x01"), -EPROTO, "\"lin\"" },
	{ "fwd as str", B("\x83\xa1v\x01\xa2op\xa6status\xa3" "fwd\xa1y"), -EPROTO, "\"fwd\"" },
	{ "wait_ms as str", B("\x83\xa1v\x01\xa2op\xa6status\xa7wait_ms\xa1" "1"), -EPROTO,
	  "\"wait_ms\"" },
	{ "submit no cmd", B("\x82\xa1v\x01\xa2op\xa6submit"), -EINVAL, "\"cmd\"" },
	{ "submit cmd as str", B("\x83\xa1v\x01\xa2op\xa6submit\xa3" "cmd\xa1x"), -EPROTO,
	  "\"cmd\" must be binary" },
	{ "submit junk cmd", B("\x83\xa1v\x01\xa2op\xa6submit\xa3" "cmd\xc4\x02\x01\x02"),
	  -EINVAL, "cmd:" },
	{ "submit empty cmd", B("\x83\xa1v\x01\xa2op\xa6submit\xa3" "cmd\xc4\x00"), -EINVAL,
	  "cmd:" },
	{ "paths id 0", B("\x83\xa1v\x01\xa2op\xa5paths\xa2id\x00"), -EINVAL, "ids start at 1" },
	{ "paths id str", B("\x83\xa1v\x01\xa2op\xa5paths\xa2id\xa1" "1"), -EPROTO, "\"id\"" },
	{ "members_add no id", B("\x83\xa1v\x01\xa2op\xabmembers_add\xa9raft_addr\xa6" "1:2:34"),
	  -EINVAL, "\"id\" is missing" },
	{ "members_add no addr", B("\x83\xa1v\x01\xa2op\xabmembers_add\xa2id\x04"), -EINVAL,
	  "raft_addr" },
	{ "members_add bad addr",
	  B("\x84\xa1v\x01\xa2op\xabmembers_add\xa2id\x04\xa9raft_addr\xa4host"), -EINVAL,
	  "IPv4:port" },
	{ "members_remove no id", B("\x82\xa1v\x01\xa2op\xaemembers_remove"), -EINVAL,
	  "\"id\" is missing" },
	{ "transfer to str", B("\x83\xa1v\x01\xa2op\xa8transfer\xa2to\xa1" "3"), -EPROTO,
	  "\"to\"" },
	{ "deep nesting",
	  B("\x81\xa1x\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
	    "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x00"),
	  -EPROTO, "" },
};

static void test_req_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_reqs); i++) {
		const struct bad_req *c = &bad_reqs[i];
		char err[CONS_ERRLEN] = "";
		struct agent_req req;
		int rc = agent_req_decode(c->bytes, c->len, &req, err);

		if (rc != c->rc || !strstr(err, c->msg_part) || (rc && !err[0]))
			fail_msg("%s: rc %d (want %d), err \"%s\" (want \"%s\")", c->what, rc,
				 c->rc, err, c->msg_part);
		if (rc == 0)
			agent_req_close(&req);
		else
			assert_null(req.cmd_buf);
	}
}

static void test_req_retry_safe(void **state)
{
	static const struct {
		enum agent_op op;
		enum cons_op cmd;
		uint64_t client_id;
		bool safe;
	} cases[] = {
		{ AGENT_OP_PATHS, 0, 0, true },
		{ AGENT_OP_STATUS, 0, 0, true },
		{ AGENT_OP_SUBMIT, CONS_OP_PATH_RESERVE, 7, true },
		{ AGENT_OP_SUBMIT, CONS_OP_PATH_RESERVE, 0, false },
		{ AGENT_OP_SUBMIT, CONS_OP_PATH_RELEASE, 0, false },
		{ AGENT_OP_SUBMIT, CONS_OP_HOST_REMOVE, 0, false },
		{ AGENT_OP_SUBMIT, CONS_OP_HOST_ADD, 0, true },
		{ AGENT_OP_SUBMIT, CONS_OP_VM_SET, 0, true },
		{ AGENT_OP_MEMBERS_ADD, 0, 0, false },
		{ AGENT_OP_MEMBERS_REMOVE, 0, 0, false },
		{ AGENT_OP_TRANSFER, 0, 0, false },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct agent_req r = { .op = cases[i].op };

		r.cmd.op = cases[i].cmd;
		r.cmd.client_id = cases[i].client_id;
		if (agent_req_retry_safe(&r) != cases[i].safe)
			fail_msg("case %zu: %s/%s client %llu: want %s", i, agent_op_name(r.op),
				 cons_op_name(r.cmd.op), (unsigned long long)r.cmd.client_id,
				 cases[i].safe ? "safe" : "unsafe");
	}
}

static void test_msgpack_sane(void **state)
{
	(void)state;
	assert_true(rtv_mp_sane("\x00", 1));
	assert_true(rtv_mp_sane("\x92\x01\xa1x", 4));
	assert_true(rtv_mp_sane("\xc7\x01\x05\xaa", 4));	/* ext8 */
	assert_true(rtv_mp_sane("\xd8\x01" "0123456789abcdef", 18));	/* fixext16 */
	assert_false(rtv_mp_sane("\x92\x01", 2));
	assert_false(rtv_mp_sane("\xcb\x00", 2));
	assert_false(rtv_mp_sane("\xc1", 1));
	assert_false(rtv_mp_sane(NULL, 0));
	assert_false(rtv_mp_sane("\xdc\x00", 2));	/* array16 header cut */
}

static void test_reply_peek(void **state)
{
	struct agent_reply_head h;
	struct mp m;

	(void)state;
	mp_init(&m);
	msgpack_pack_map(&m.pk, 5);
	mp_str(&m, "v");
	msgpack_pack_uint32(&m.pk, 1);
	mp_str(&m, "status");
	msgpack_pack_int(&m.pk, -1002);
	mp_str(&m, "node");
	msgpack_pack_uint64(&m.pk, 2);
	mp_str(&m, "leader");
	msgpack_pack_uint64(&m.pk, 3);
	mp_str(&m, "err");
	mp_str(&m, "node 2 is not the leader");
	assert_int_equal(agent_reply_peek(m.sb.data, m.sb.size, &h), 0);
	assert_int_equal(h.status, -CONS_ENOTLEADER);
	assert_int_equal(h.node, 2);
	assert_int_equal(h.leader, 3);
	assert_string_equal(h.err, "node 2 is not the leader");
	msgpack_sbuffer_destroy(&m.sb);

	assert_int_equal(agent_reply_peek("\x81\xa1v\x01", 4, &h), -EPROTO);	/* no status */
	assert_int_equal(agent_reply_peek("\x81\xa6status\xa1x", 10, &h), -EPROTO);
	assert_int_equal(agent_reply_peek("\x81\xa6status\xcd\x03\xe9", 11, &h), 0);
	assert_int_equal(h.status, CONS_EREFUSED);
	assert_int_equal(agent_reply_peek("\x90", 1, &h), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_base),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_example),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_config_dp_cpu),
		cmocka_unit_test(test_config_peers_max),
		cmocka_unit_test(test_config_long_line),
		cmocka_unit_test(test_config_files),
		cmocka_unit_test(test_config_env),
		cmocka_unit_test(test_req_reads),
		cmocka_unit_test(test_req_members),
		cmocka_unit_test(test_req_submit_roundtrip),
		cmocka_unit_test(test_req_roundtrip_all),
		cmocka_unit_test(test_req_bad),
		cmocka_unit_test(test_req_retry_safe),
		cmocka_unit_test(test_msgpack_sane),
		cmocka_unit_test(test_reply_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
