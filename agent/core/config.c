/* config.c — reading and validating rtvd's INI file.
 *
 * inih does the lexing; every key goes through a table of key definitions
 * (section, name, parser, field), so an unknown key, a repeated key or a
 * missing required key are found by the same code and named the same way.
 * Debian's libinih is built without INI_HANDLER_LINENO, so the line number
 * comes from our own reader: inih calls it once per line before calling the
 * handler for that line.
 *
 * Only the first error is reported: later ones are often consequences of it.
 */
#include "agent/core/config.h"
#include "agent/core/rtvd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/units.h"

#define WHYLEN 200
#define NS_PER_S 1000000000ull

struct key_def;
typedef int (*parse_fn)(const struct key_def *k, const char *v, void *field,
			char *why, size_t whylen);

struct key_def {
	const char *section, *name;
	parse_fn parse;
	size_t off, size;	/* the field in struct agent_config */
	bool required, repeatable;
	const char *what;	/* what the key is, for "missing" messages */
};

struct parse_ctx {
	struct agent_config *cfg;
	FILE *f;
	int lineno, next_lineno;
	bool line_too_long;
	int seen_line[64];	/* per key_def: line it was set on, 0 = unset */
	int peer_line[CONS_PEERS_MAX];
	char *err;
	size_t errlen;
	bool failed;
	/* keys of modules' sections seen so far ("section\nkey"), and where */
	struct { char key[2 * 64]; int line; } mod_seen[64];
	size_t n_mod_seen;
};

/* ------------------------------------------------------------------------- */
/* Value parsers: 0, or -EINVAL with `why` saying what is allowed.           */

static int why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int p_id(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	(void)k;
	if (rtv_parse_u64(v, field) < 0 || *(uint64_t *)field == 0)
		return why_set(why, n, "a Raft server id is a whole number > 0, unique in "
			       "the rack");
	return 0;
}

static int p_uint(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x > UINT_MAX)
		return why_set(why, n, "a whole number from 0 to %u is needed", UINT_MAX);
	*(unsigned *)field = (unsigned)x;
	return 0;
}

static int p_contexts(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x < 1 || x > 4096)
		return why_set(why, n, "the number of requests served at once, 1 to 4096 "
			       "(e.g. 64)");
	*(unsigned *)field = (unsigned)x;
	return 0;
}

static int p_rtpath_cap(const struct key_def *k, const char *v, void *field, char *why,
		       size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x > 1000000)
		return why_set(why, n, "rtpaths with their own series per metric, 0 to 1000000 "
			       "(e.g. 1000; the rest are summed into rtpath=\"other\")");
	*(unsigned *)field = (unsigned)x;
	return 0;
}

static bool name_ok(const char *v)
{
	if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z') ||
	      (v[0] >= '0' && v[0] <= '9')))
		return false;
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       strlen(v);
}

static int p_name(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	if (strlen(v) >= k->size || !name_ok(v))
		return why_set(why, n, "a name is 1 to %zu letters, digits, '.', '_' or '-', "
			       "starting with a letter or digit", k->size - 1);
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int p_group(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	if (v[0] == '\0') {
		*(char *)field = '\0';
		return 0;
	}
	return p_name(k, v, field, why, n);
}

static int p_abspath(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	if (v[0] != '/' || strlen(v) >= k->size)
		return why_set(why, n, "an absolute path of at most %zu bytes is needed, "
			       "e.g. /var/lib/rtvd", k->size - 1);
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

/* The CLI socket may be written as a path or as an nng URL "ipc:///path". */
static int p_cli_socket(const struct key_def *k, const char *v, void *field, char *why,
			size_t n)
{
	if (strncmp(v, "ipc://", 6) == 0)
		v += 6;
	if (v[0] != '/' || strlen(v) >= k->size)
		return why_set(why, n, "an absolute path of at most %zu bytes (a unix socket "
			       "path), e.g. /run/rtvd/rtvd.sock", k->size - 1);
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int p_ipport(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	if (strlen(v) >= k->size || rtv_parse_ipport(v, NULL, NULL) < 0)
		return why_set(why, n, "an IPv4 address and port are needed, e.g. 10.0.0.1:7001");
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

const char *agent_url_addr(const char *url)
{
	if (strncmp(url, "tcp://", 6) == 0)
		return url + 6;
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return url + 10;
	return url;
}

static bool url_is_tls(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0;
}

/* tcp://IP:PORT (insecure racks) or tls+tcp://IP:PORT; check_tls says
 * which one the rack's [tls] needs. */
static int check_tcp_url(const char *v)
{
	if ((strncmp(v, "tcp://", 6) != 0 && !url_is_tls(v)) || strlen(v) >= CONS_ADDR_MAX)
		return -EINVAL;
	return rtv_parse_ipport(agent_url_addr(v), NULL, NULL);
}

static int p_tcp_url(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	(void)k;
	if (check_tcp_url(v) < 0)
		return why_set(why, n, "an nng URL tls+tcp://IPv4:port (or tcp:// with [tls] "
			       "insecure = true) is needed, e.g. tls+tcp://10.0.0.1:8001");
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int p_bool(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	(void)k;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*(bool *)field = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return why_set(why, n, "true or false is needed");
}

static int p_rate(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t bps;

	(void)k;
	if (rtv_parse_rate_bps(v, &bps, why, n) < 0)
		return -EINVAL;
	if (bps == 0)
		return why_set(why, n, "the uplink rate must be above 0, e.g. 10G");
	*(uint64_t *)field = bps;
	return 0;
}

static int p_budget(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint32_t ppm;

	(void)k;
	if (rtv_parse_ppm(v, &ppm, why, n) < 0)
		return -EINVAL;
	if (ppm == 0)
		return why_set(why, n, "the real-time budget must be above 0%%, e.g. 50%%");
	*(uint32_t *)field = ppm;
	return 0;
}

static int p_frame(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t bytes;

	(void)k;
	if (rtv_parse_size_bytes(v, &bytes, why, n) < 0)
		return -EINVAL;
	if (bytes < 64 || bytes > 65535)
		return why_set(why, n, "the largest frame is 64 to 65535 bytes (1518 for Ethernet, "
			       "9018 for jumbo frames)");
	*(uint32_t *)field = (uint32_t)bytes;
	return 0;
}

/* Raft's timers are in milliseconds: refuse what would be rounded. */
static int p_ms(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t ns;

	(void)k;
	if (rtv_parse_duration_ns(v, &ns, why, n) < 0)
		return -EINVAL;
	if (ns % 1000000 || ns == 0 || ns > 600 * NS_PER_S)
		return why_set(why, n, "a whole number of milliseconds from 1ms to 10min is "
			       "needed");
	*(unsigned *)field = (unsigned)(ns / 1000000);
	return 0;
}

static int p_wait(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t ns;

	(void)k;
	if (rtv_parse_duration_ns(v, &ns, why, n) < 0)
		return -EINVAL;
	if (ns < 1000000 || ns > 600 * NS_PER_S)
		return why_set(why, n, "a duration from 1ms to 10min is needed, e.g. 3s");
	*(uint64_t *)field = ns;
	return 0;
}

static int p_level(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	(void)k;
	if (rtv_log_level_parse(v, field) < 0)
		return why_set(why, n, "one of debug, info, warn, error, off is needed");
	return 0;
}

/* "ID@RAFT_ADDR@RPC_URL[@standby]" */
static int p_peer(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	struct agent_peer *p = field;
	char buf[3 * CONS_ADDR_MAX], *parts[5], *save = NULL;
	size_t np = 0;

	(void)k;
	memset(p, 0, sizeof(*p));
	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	for (char *t = strtok_r(buf, "@", &save); t && np < 5; t = strtok_r(NULL, "@", &save))
		parts[np++] = t;
	if (np < 3 || np > 4 || rtv_parse_u64(parts[0], &p->id) < 0 || p->id == 0)
		goto bad;
	if (rtv_parse_ipport(parts[1], NULL, NULL) < 0 || check_tcp_url(parts[2]) < 0)
		goto bad;
	if (np == 4 && strcmp(parts[3], "standby") != 0)
		goto bad;
	strcpy(p->raft_addr, parts[1]);
	strcpy(p->rpc_addr, parts[2]);
	p->standby = np == 4;
	return 0;
bad:
	return why_set(why, n, "a peer is ID@RAFT_IP:PORT@tls+tcp://RPC_IP:PORT[@standby], "
		       "e.g. 2@10.0.0.2:7001@tls+tcp://10.0.0.2:8001");
}

/* [ovs] (agent/ovs/ovs.h) */

/* A port or bridge name as the kernel takes it (IFNAMSIZ); "" where the key
 * allows none. */
static int p_ifname(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	bool empty_ok = strcmp(k->name, "bridge") != 0;

	if ((v[0] == '\0' && empty_ok) || (strlen(v) < k->size && name_ok(v))) {
		memcpy(field, v, strlen(v) + 1);
		return 0;
	}
	return why_set(why, n, "an interface name is 1 to %zu letters, digits, '.', '_' or '-'%s, "
		       "e.g. br-rtv or rtv-int", k->size - 1, empty_ok ? " (or empty: none)" : "");
}

static int p_ovsdb(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	const char *path = strncmp(v, "unix:", 5) == 0 ? v + 5 : v;

	if (path[0] != '/' || strlen(path) >= AGENT_SUN_PATH_MAX || strlen(v) >= k->size)
		return why_set(why, n, "OVSDB's unix socket is needed, unix:/PATH (at most %d "
			       "bytes), e.g. unix:/run/openvswitch/db.sock",
			       AGENT_SUN_PATH_MAX - 1);
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int p_one_of(const char *const *allowed, const char *v, void *field, char *why, size_t n)
{
	for (size_t i = 0; allowed[i]; i++) {
		if (strcmp(v, allowed[i]) == 0) {
			strcpy(field, v);
			return 0;
		}
	}
	return why_set(why, n, "one of %s%s%s%s is needed", allowed[0], allowed[1] ? ", " : "",
		       allowed[1] ? allowed[1] : "", allowed[1] && allowed[2] ? ", ..." : "");
}

static int p_dptype(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	static const char *const types[] = { "system", "netdev", NULL };

	(void)k;
	return p_one_of(types, v, field, why, n);
}

static int p_inttype(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	(void)k;
	if (v[0] == '\0' || strcmp(v, "internal") == 0) {
		strcpy(field, v);
		return 0;
	}
	return why_set(why, n, "internal (rtvd's port is an OVS internal port) or empty (it "
		       "is a veth end that exists already) is needed");
}

/* "auto", "off" or an MTU: what rtvd asks OVS to give VM ports (docs/mtu.md). */
static int p_guest_mtu(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (strcmp(v, "auto") == 0)
		*(int32_t *)field = AGENT_GUEST_MTU_AUTO;
	else if (strcmp(v, "off") == 0)
		*(int32_t *)field = AGENT_GUEST_MTU_OFF;
	else if (rtv_parse_u64(v, &x) == 0 && x >= 68 && x <= 65535)
		*(int32_t *)field = (int32_t)x;
	else
		return why_set(why, n, "guest_mtu is auto (the uplink's MTU less what rtvnet adds), "
			       "off (leave VM ports alone) or an MTU of 68 to 65535");
	return 0;
}

/* [dataplane] (agent/dataplane/dataplane.h) */

static int p_mtu(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x < 68 || x > 65531)
		return why_set(why, n, "the uplink's IP MTU is 68 to 65531 (1500 for Ethernet, "
			       "9000 for jumbo frames)");
	*(uint32_t *)field = (uint32_t)x;
	return 0;
}

static int p_host_ip(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	struct in_addr a;

	(void)k;
	if (v[0] == '\0') {
		*(uint32_t *)field = 0;
		return 0;
	}
	if (inet_pton(AF_INET, v, &a) != 1 || a.s_addr == 0)
		return why_set(why, n, "an IPv4 address of this host is needed, e.g. 10.0.0.1 "
			       "(or empty: rpc_addr's)");
	*(uint32_t *)field = ntohl(a.s_addr);
	return 0;
}

static int p_prio(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x > 99)
		return why_set(why, n, "a SCHED_FIFO priority, 1 to 99, or 0 for none, is needed");
	*(int *)field = (int)x;
	return 0;
}

/* [dataplane] cpu = N: the engine's threads and the devices' receive work
 * on CPU N (dp.h, dp_io_config.pin). */
static int p_dp_cpu(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	struct agent_dp_config *c = field;
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x >= 1024)
		return why_set(why, n, "a CPU number (0 to 1023) is needed: the dataplane's "
			       "threads and its devices' receive work run there");
	c->pin = true;
	c->cpu = (unsigned)x;
	return 0;
}

static int p_udp_port(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	uint64_t x;

	(void)k;
	if (rtv_parse_u64(v, &x) < 0 || x < 1 || x > 65535)
		return why_set(why, n, "a UDP port, 1 to 65535, the same on every host, is needed");
	*(uint16_t *)field = (uint16_t)x;
	return 0;
}

/* tx_ahead: how far ahead of its pacer the dataplane may hand frames to the
 * driver. Admission leaves exactly CONS_TX_AHEAD_MAX_NS for that in every
 * deadline (consensus.h, "The margin"): the same constant on every replica,
 * so a host configured beyond it could miss deadlines admission promised. */
static int p_tx_ahead(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	char max[24];
	uint64_t ns;

	(void)k;
	if (rtv_parse_duration_ns(v, &ns, why, n) < 0)
		return -EINVAL;
	rtv_fmt_duration(max, sizeof(max), CONS_TX_AHEAD_MAX_NS);
	if (ns > CONS_TX_AHEAD_MAX_NS)
		return why_set(why, n, "at most %s is allowed: admission reserves that much of "
			       "every deadline for frames sent ahead of the pacer "
			       "(CONS_TX_AHEAD_MAX_NS), the same on every host", max);
	*(uint64_t *)field = ns;
	return 0;
}

/* [uplink] hop_latency: the latency budget of the host's uplink edge, what
 * its own switch adds to a frame on either side (admission adds it to
 * every rtpath's network budget). */
static int p_hop_latency(const struct key_def *k, const char *v, void *field, char *why,
			 size_t n)
{
	char max[24];
	uint64_t ns;

	(void)k;
	if (rtv_parse_duration_ns(v, &ns, why, n) < 0)
		return -EINVAL;
	rtv_fmt_duration(max, sizeof(max), CONS_HOP_LATENCY_MAX_NS);
	if (ns == 0 || ns > CONS_HOP_LATENCY_MAX_NS)
		return why_set(why, n, "a duration above 0 and at most %s is needed, e.g. 50us", max);
	*(uint64_t *)field = ns;
	return 0;
}

static int p_poll(const struct key_def *k, const char *v, void *field, char *why, size_t n)
{
	(void)k;
	if (strcmp(v, "sleep") && strcmp(v, "busy"))
		return why_set(why, n, "sleep (the threads block when idle; default) or busy (one "
			       "thread spins over both directions: for hosts that dedicate a core "
			       "to the network) is needed");
	*(bool *)field = !strcmp(v, "busy");
	return 0;
}

/* The durations of [dataplane], each with its own range. */
static int p_dp_duration(const struct key_def *k, const char *v, void *field, char *why,
			 size_t n)
{
	static const struct { const char *name; uint64_t lo, hi; const char *what; } r[] = {
		{ "clock_uncertainty", 0, NS_PER_S, "0 to 1s, e.g. 100us (chrony) or 1us (PTP)" },
		{ "miss_interval", 1000000, 10 * NS_PER_S, "1ms to 10s, e.g. 100ms" },
		{ "boost_decay", 100000000, 3600 * NS_PER_S, "100ms to 1h, e.g. 10s" },
	};
	uint64_t ns;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (strcmp(k->name, r[i].name) != 0)
			continue;
		if (rtv_parse_duration_ns(v, &ns, why, n) < 0)
			return -EINVAL;
		if (ns < r[i].lo || ns > r[i].hi)
			return why_set(why, n, "a duration from %s is needed", r[i].what);
		*(uint64_t *)field = ns;
		return 0;
	}
	return why_set(why, n, "internal error: no range for this key");
}

/* ------------------------------------------------------------------------- */
/* The keys                                                                  */

#define F(field) offsetof(struct agent_config, field), sizeof(((struct agent_config *)0)->field)

static const struct key_def keys[] = {
	{ "node", "id", p_id, F(id), true, false,
	  "the node's Raft server id, a whole number > 0 unique in the rack" },
	{ "node", "name", p_name, F(name), true, false,
	  "the host's name in the rack topology, e.g. h1" },
	{ "node", "data_dir", p_abspath, F(data_dir), true, false,
	  "the directory for Raft's log and snapshots, e.g. /var/lib/rtvd" },
	{ "node", "raft_addr", p_ipport, F(raft_addr), true, false,
	  "the IPv4:port Raft listens on, e.g. 10.0.0.1:7001" },
	{ "node", "rpc_addr", p_tcp_url, F(rpc_addr), true, false,
	  "the nng URL other agents and admins reach this one at, e.g. tls+tcp://10.0.0.1:8001" },
	{ "node", "rpc_read_addr", p_tcp_url, F(rpc_read_addr), false, false, NULL },
	{ "node", "cli_socket", p_cli_socket, F(cli_socket), false, false, NULL },
	{ "node", "cli_group", p_group, F(cli_group), false, false, NULL },
	{ "cluster", "peer", NULL, 0, 0, false, true,
	  "the bootstrap members, one line each: peer = ID@RAFT_IP:PORT@tls+tcp://RPC_IP:PORT"
	  "[@standby] (or join = true for a host added later with rtvctl members add)" },
	{ "cluster", "join", p_bool, F(join), false, false, NULL },
	{ "uplink", "capacity", p_rate, F(uplink_bps), true, false,
	  "the uplink's rate, e.g. 10G or 100Mbit" },
	{ "uplink", "rt_budget", p_budget, F(rt_budget_ppm), false, false, NULL },
	{ "uplink", "max_frame", p_frame, F(max_frame_bytes), false, false, NULL },
	{ "uplink", "to", p_name, F(uplink_to), false, false, NULL },
	{ "uplink", "hop_latency", p_hop_latency, F(uplink_latency_ns), false, false, NULL },
	{ "raft", "election_timeout", p_ms, F(election_timeout_ms), false, false, NULL },
	{ "raft", "heartbeat", p_ms, F(heartbeat_ms), false, false, NULL },
	{ "raft", "pre_vote", p_bool, F(pre_vote), false, false, NULL },
	{ "raft", "snapshot_threshold", p_uint, F(snapshot_threshold), false, false, NULL },
	{ "raft", "snapshot_trailing", p_uint, F(snapshot_trailing), false, false, NULL },
	{ "rpc", "contexts", p_contexts, F(contexts), false, false, NULL },
	{ "rpc", "leader_wait", p_wait, F(leader_wait_ns), false, false, NULL },
	{ "rpc", "forward_timeout", p_wait, F(forward_timeout_ns), false, false, NULL },
	{ "log", "level", p_level, F(log_level), false, false, NULL },
	{ "tls", "ca", p_abspath, F(tls_ca), false, false, NULL },
	{ "tls", "cert", p_abspath, F(tls_cert), false, false, NULL },
	{ "tls", "key", p_abspath, F(tls_key), false, false, NULL },
	{ "tls", "insecure", p_bool, F(tls_insecure), false, false, NULL },
	{ "tls", "rack_keys", p_abspath, F(tls_rack_keys), false, false, NULL },
	{ "tls", "read_ca", p_abspath, F(tls_read_ca), false, false, NULL },
	{ "metrics", "listen", p_ipport, F(metrics_listen), false, false, NULL },
	{ "metrics", "rtpath_cap", p_rtpath_cap, F(metrics_rtpath_cap), false, false, NULL },
	{ "ovs", "enabled", p_bool, F(ovs.enabled), false, false, NULL },
	{ "ovs", "db", p_ovsdb, F(ovs.db), false, false, NULL },
	{ "ovs", "bridge", p_ifname, F(ovs.bridge), false, false, NULL },
	{ "ovs", "datapath_type", p_dptype, F(ovs.datapath_type), false, false, NULL },
	{ "ovs", "of_listen", p_ipport, F(ovs.of_listen), false, false, NULL },
	{ "ovs", "offhost_port", p_ifname, F(ovs.offhost_port), false, false, NULL },
	{ "ovs", "uplink_port", p_ifname, F(ovs.uplink_port), false, false, NULL },
	{ "ovs", "int_port", p_ifname, F(ovs.int_port), false, false, NULL },
	{ "ovs", "int_type", p_inttype, F(ovs.int_type), false, false, NULL },
	{ "ovs", "guest_mtu", p_guest_mtu, F(ovs.guest_mtu), false, false, NULL },
	{ "dataplane", "enabled", p_bool, F(dataplane.enabled), false, false, NULL },
	{ "dataplane", "int_dev", p_ifname, F(dataplane.int_dev), false, false, NULL },
	{ "dataplane", "uplink_dev", p_ifname, F(dataplane.uplink_dev), false, false, NULL },
	{ "dataplane", "mtu", p_mtu, F(dataplane.mtu), false, false, NULL },
	{ "dataplane", "host_ip", p_host_ip, F(dataplane.host_ip), false, false, NULL },
	{ "dataplane", "tx_ahead", p_tx_ahead, F(dataplane.tx_ahead_ns), false, false, NULL },
	{ "dataplane", "poll", p_poll, F(dataplane.busy_poll), false, false, NULL },
	{ "dataplane", "rt_priority", p_prio, F(dataplane.rt_priority), false, false, NULL },
	{ "dataplane", "cpu", p_dp_cpu, F(dataplane), false, false, NULL },
	{ "dataplane", "clock_uncertainty", p_dp_duration, F(dataplane.clock_uncertainty_ns),
	  false, false, NULL },
	{ "dataplane", "miss_port", p_udp_port, F(dataplane.miss_port), false, false, NULL },
	{ "dataplane", "miss_interval", p_dp_duration, F(dataplane.miss_interval_ns), false,
	  false, NULL },
	{ "dataplane", "boost_decay", p_dp_duration, F(dataplane.boost_decay_ns), false, false,
	  NULL },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(N_KEYS <= 64, "parse_ctx.seen_line is too small");

void agent_config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->cli_socket, AGENT_DEFAULT_CLI_SOCKET);
	cfg->rt_budget_ppm = RTV_PPM_ONE / 2;
	cfg->max_frame_bytes = 1518;
	cfg->uplink_latency_ns = CONS_HOP_LATENCY_DEFAULT_NS;
	strcpy(cfg->uplink_to, "tor");
	/* 250 ms + pre-vote: failover median 0.44 s on loopback (measured) */
	cfg->election_timeout_ms = 250;
	cfg->pre_vote = true;
	cfg->contexts = 64;
	cfg->leader_wait_ns = 3 * NS_PER_S;
	cfg->forward_timeout_ns = 2 * NS_PER_S;
	cfg->log_level = RTV_LOG_INFO;
	cfg->metrics_rtpath_cap = 1000;
	strcpy(cfg->ovs.db, "unix:/run/openvswitch/db.sock");
	strcpy(cfg->ovs.bridge, "br-rtv");
	strcpy(cfg->ovs.datapath_type, "system");
	strcpy(cfg->ovs.of_listen, "127.0.0.1:6653");
	strcpy(cfg->ovs.offhost_port, "rtv-int");
	strcpy(cfg->ovs.int_type, "internal");
	strcpy(cfg->dataplane.int_dev, "rtv-int");
	strcpy(cfg->dataplane.uplink_dev, "up0");
	cfg->dataplane.mtu = 1500;
	cfg->dataplane.tx_ahead_ns = AGENT_DP_TX_AHEAD_NS;
	cfg->dataplane.clock_uncertainty_ns = 100000;
	cfg->dataplane.miss_port = 7003;
	cfg->dataplane.miss_interval_ns = 100000000;
	cfg->dataplane.boost_decay_ns = 10 * NS_PER_S;
}

/* ------------------------------------------------------------------------- */
/* Parsing                                                                   */

static void fail_at(struct parse_ctx *pc, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_at(struct parse_ctx *pc, int line, const char *fmt, ...)
{
	char msg[AGENT_CONFIG_ERRLEN];
	va_list ap;

	if (pc->failed)
		return;
	pc->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(pc->err, pc->errlen, "%s:%d: %s", pc->cfg->file, line, msg);
	else
		snprintf(pc->err, pc->errlen, "%s: %s", pc->cfg->file, msg);
}

static void list_keys(const char *section, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_KEYS && used < n; i++) {
		if (strcmp(keys[i].section, section) == 0)
			used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
						 keys[i].name);
	}
}

/* See agent_config_skip_module_sections. */
static bool skip_module_sections;

void agent_config_skip_module_sections(void)
{
	skip_module_sections = true;
}

static void fail_unknown(struct parse_ctx *pc, const char *section, const char *name)
{
	char known[256], mods[128];

	agent_module_sections(mods, sizeof(mods));	/* ", gossip, ..." or "" */
	if (section[0] == '\0') {
		fail_at(pc, pc->lineno, "%s is outside any section: put it under [node], "
			"[cluster], [uplink], [raft], [rpc], [log], [metrics], [ovs] or [dataplane]"
			"%s%s%s", name, mods[0] ? " (or a module's:" : "", mods[0] ? mods + 1 : "",
			mods[0] ? ")" : "");
		return;
	}
	list_keys(section, known, sizeof(known));
	if (known[0] == '\0' && skip_module_sections)
		return;		/* a module's section, for rtvd to check */
	if (known[0] == '\0')
		fail_at(pc, pc->lineno, "unknown section [%s] (sections are node, cluster, "
			"uplink, raft, rpc, log, metrics, ovs, dataplane%s)", section, mods);
	else
		fail_at(pc, pc->lineno, "[%s] %s: unknown key (keys in [%s]: %s)", section, name,
			section, known);
}

static void fail_value(struct parse_ctx *pc, const struct key_def *k, const char *value,
		       const char *why)
{
	/* units.h's messages start with the quoted value: don't say it twice */
	if (why[0] == '"')
		fail_at(pc, pc->lineno, "[%s] %s = %s", k->section, k->name, why);
	else
		fail_at(pc, pc->lineno, "[%s] %s = \"%s\": %s", k->section, k->name, value, why);
}

static int find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static void add_peer(struct parse_ctx *pc, const struct key_def *k, const char *value)
{
	struct agent_config *cfg = pc->cfg;
	struct agent_peer p;
	char why[WHYLEN];

	if (p_peer(k, value, &p, why, sizeof(why)) < 0) {
		fail_value(pc, k, value, why);
		return;
	}
	if (cfg->n_peers == CONS_PEERS_MAX) {
		fail_at(pc, pc->lineno, "[cluster] peer: more than %d peers (bootstrap with the "
			"voters and add the rest with rtvctl members add)", CONS_PEERS_MAX);
		return;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct agent_peer *q = &cfg->peers[i];
		const char *same = q->id == p.id ? "id"
				   : strcmp(q->raft_addr, p.raft_addr) == 0 ? "raft address"
				   : strcmp(q->rpc_addr, p.rpc_addr) == 0 ? "rpc address" : NULL;
		if (same) {
			fail_at(pc, pc->lineno, "[cluster] peer = \"%s\": same %s as the peer on "
				"line %d; each peer needs its own", value, same, pc->peer_line[i]);
			return;
		}
	}
	pc->peer_line[cfg->n_peers] = pc->lineno;
	cfg->peers[cfg->n_peers++] = p;
}

/* A key of a section a registered module owns (core.h, config_key). */
static void module_key(struct parse_ctx *pc, const struct agent_module *m, const char *section,
		       const char *name, const char *value)
{
	char key[sizeof(pc->mod_seen[0].key)], why[WHYLEN] = "";
	int rc;

	snprintf(key, sizeof(key), "%s\n%s", section, name);
	for (size_t i = 0; i < pc->n_mod_seen; i++) {
		if (strcmp(pc->mod_seen[i].key, key) == 0) {
			fail_at(pc, pc->lineno, "[%s] %s is given twice (first on line %d)",
				section, name, pc->mod_seen[i].line);
			return;
		}
	}
	if (pc->n_mod_seen == sizeof(pc->mod_seen) / sizeof(pc->mod_seen[0])) {
		fail_at(pc, pc->lineno, "[%s]: too many keys", section);
		return;
	}
	snprintf(pc->mod_seen[pc->n_mod_seen].key, sizeof(key), "%s", key);
	pc->mod_seen[pc->n_mod_seen++].line = pc->lineno;
	rc = m->config_key ? m->config_key(name, value, why, sizeof(why)) : -ENOENT;
	if (rc == -ENOENT)
		fail_at(pc, pc->lineno, "[%s] %s: unknown key", section, name);
	else if (rc < 0)
		fail_at(pc, pc->lineno, "[%s] %s = \"%s\": %s", section, name, value,
			why[0] ? why : "invalid");
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	const struct agent_module *m;
	const struct key_def *k;
	char why[WHYLEN];
	int i;

	if (pc->failed)
		return 1;
	i = find_key(section, name);
	if (i < 0 && section[0] && (m = agent_module_of_section(section)) != NULL) {
		module_key(pc, m, section, name, value);
		return 1;
	}
	if (i < 0) {
		fail_unknown(pc, section, name);
		return 1;
	}
	k = &keys[i];
	if (pc->seen_line[i] && !k->repeatable) {
		fail_at(pc, pc->lineno, "[%s] %s is given twice (first on line %d)", section,
			name, pc->seen_line[i]);
		return 1;
	}
	pc->seen_line[i] = pc->lineno;
	if (k->parse == NULL)
		add_peer(pc, k, value);
	else if (k->parse(k, value, (char *)pc->cfg + k->off, why, sizeof(why)) < 0)
		fail_value(pc, k, value, why);
	return 1;
}

/* inih's reader hook: counts lines, and refuses lines longer than inih's
 * buffer (inih would otherwise read the rest as a separate line). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *pc = stream;
	size_t len;

	pc->lineno = pc->next_lineno;
	if (!fgets(str, num, pc->f))
		return NULL;
	len = strlen(str);
	if (len > 0 && str[len - 1] == '\n') {
		pc->next_lineno++;
	} else if (!feof(pc->f)) {
		fail_at(pc, pc->lineno, "line longer than %d characters", num - 2);
		return NULL;
	}
	return str;
}

/* ------------------------------------------------------------------------- */
/* Cross-key rules, once every key is read                                   */

static void check_required(struct parse_ctx *pc)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].required && !pc->seen_line[i])
			fail_at(pc, 0, "[%s] %s is missing: %s", keys[i].section, keys[i].name,
				keys[i].what);
	}
}

static void check_self(struct parse_ctx *pc)
{
	const struct agent_config *cfg = pc->cfg;
	const struct agent_peer *self = agent_config_peer(cfg, cfg->id);
	size_t voters = 0;

	for (size_t i = 0; i < cfg->n_peers; i++)
		voters += !cfg->peers[i].standby;
	if (!cfg->join && cfg->n_peers == 0)
		fail_at(pc, 0, "[cluster] peer is missing: %s",
			keys[find_key("cluster", "peer")].what);
	else if (!cfg->join && !self)
		fail_at(pc, pc->peer_line[0], "[cluster]: no peer has this node's id %llu; list "
			"every bootstrap member, this one included (or set join = true)",
			(unsigned long long)cfg->id);
	else if (!cfg->join && voters == 0)
		fail_at(pc, pc->peer_line[0], "[cluster]: every peer is a standby; a cluster "
			"needs at least one voter (3 or 5 for fault tolerance)");
	if (!self)
		return;
	if (strcmp(self->raft_addr, cfg->raft_addr) || strcmp(self->rpc_addr, cfg->rpc_addr))
		fail_at(pc, pc->peer_line[self - cfg->peers], "[cluster] peer %llu has %s@%s "
			"but [node] says raft_addr = %s, rpc_addr = %s; make them agree",
			(unsigned long long)self->id, self->raft_addr, self->rpc_addr,
			cfg->raft_addr, cfg->rpc_addr);
}

static void check_raft(struct parse_ctx *pc)
{
	struct agent_config *cfg = pc->cfg;
	int hb_line = pc->seen_line[find_key("raft", "heartbeat")];
	int et_line = pc->seen_line[find_key("raft", "election_timeout")];

	if (!hb_line)
		cfg->heartbeat_ms = cfg->election_timeout_ms / 5 ? cfg->election_timeout_ms / 5 : 1;
	if (cfg->heartbeat_ms >= cfg->election_timeout_ms) {
		fail_at(pc, hb_line ? hb_line : et_line, "[raft] heartbeat (%ums) must be "
			"shorter than election_timeout (%ums); a fifth of it is usual",
			cfg->heartbeat_ms, cfg->election_timeout_ms);
	}
	if (strcmp(cfg->raft_addr, agent_url_addr(cfg->rpc_addr)) == 0)
		fail_at(pc, 0, "[node] raft_addr and rpc_addr both use %s; give them "
			"different ports", cfg->raft_addr);
}

/* [ovs], when enabled: the gateway's port must not be one of rtvd's own,
 * and off-host traffic needs somewhere to go. (Each value was checked on
 * its own already; configurations without [ovs] stay valid.) */
static void check_ovs(struct parse_ctx *pc)
{
	const struct agent_config *cfg = pc->cfg;
	const struct agent_ovs_config *o = &cfg->ovs;
	int line = pc->seen_line[find_key("ovs", "of_listen")];

	if (!o->enabled)
		return;
	if (strcmp(o->of_listen, cfg->raft_addr) == 0 || strcmp(o->of_listen, agent_url_addr(cfg->rpc_addr)) == 0)
		fail_at(pc, line, "[ovs] of_listen = %s is also rtvd's %s; give OpenFlow its own "
			"port (6653 is the usual)", o->of_listen,
			strcmp(o->of_listen, cfg->raft_addr) == 0 ? "raft_addr" : "rpc_addr");
	else if (!o->uplink_port[0] && (!o->offhost_port[0] || !o->int_port[0]))
		fail_at(pc, pc->seen_line[find_key("ovs", "uplink_port")], "[ovs] uplink_port is "
			"missing: name the bridge's uplink port (e.g. uplink_port = eth0), or set "
			"both offhost_port and int_port (e.g. rtv-int)");
	else if (o->int_port[0] && strcmp(o->int_port, o->bridge) == 0)
		fail_at(pc, pc->seen_line[find_key("ovs", "int_port")], "[ovs] int_port = %s is the "
			"bridge's own name; use another (e.g. rtv-int)", o->int_port);
}

/* The RPC URLs' scheme follows [tls]: tls+tcp:// with certificates,
 * tcp:// only when insecure. Returns the first URL that disagrees, or NULL. */
static const char *tls_url_mismatch(const struct agent_config *cfg, bool tls)
{
	if (url_is_tls(cfg->rpc_addr) != tls)
		return cfg->rpc_addr;
	if (cfg->rpc_read_addr[0] && !url_is_tls(cfg->rpc_read_addr))
		return cfg->rpc_read_addr;
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (url_is_tls(cfg->peers[i].rpc_addr) != tls)
			return cfg->peers[i].rpc_addr;
	return NULL;
}

/* [tls]: all three files, or insecure = true, never both, never neither
 * (TLS is the default: plaintext must be asked for). */
static void check_tls(struct parse_ctx *pc)
{
	const struct agent_config *cfg = pc->cfg;
	int n = !!cfg->tls_ca[0] + !!cfg->tls_cert[0] + !!cfg->tls_key[0];
	int line = pc->seen_line[find_key("tls", "insecure")];
	const char *bad;

	if (cfg->tls_insecure && n > 0)
		fail_at(pc, line, "[tls] insecure = true and certificate files at once: choose "
			"one (insecure runs Raft and the RPC in plaintext)");
	else if (n > 0 && n < 3)
		fail_at(pc, 0, "[tls] needs ca, cert and key together (rtvctl pki makes them: "
			"ca.crt, host-<id>.crt, host-<id>.key)");
	else if (n == 0 && !cfg->tls_insecure)
		fail_at(pc, 0, "[tls] is missing: the rack's agents talk over mutual TLS. Set "
			"[tls] ca, cert and key (rtvctl pki init; rtvctl pki issue %llu), or "
			"insecure = true to run Raft and the RPC in plaintext on a trusted network",
			(unsigned long long)cfg->id);
	else if (cfg->tls_insecure && (cfg->rpc_read_addr[0] || cfg->tls_read_ca[0]))
		fail_at(pc, line, "[node] rpc_read_addr and [tls] read_ca need certificates; "
			"with insecure = true every client may do everything on rpc_addr");
	else if (!!cfg->rpc_read_addr[0] != !!cfg->tls_read_ca[0])
		fail_at(pc, 0, "[node] rpc_read_addr (the read-only RPC listener) and [tls] "
			"read_ca (the CA of read-only clients, rtvctl pki init makes read-ca.crt) "
			"go together");
	else if ((bad = tls_url_mismatch(cfg, n == 3)) != NULL)
		fail_at(pc, 0, n == 3 ? "%s: with [tls] certificates the RPC runs over mutual "
			"TLS; write tls+tcp://%s" : "%s: [tls] insecure = true runs the RPC in "
			"plaintext; write tcp://%s (or give [tls] certificates)", bad,
			agent_url_addr(bad));
}

/* The metrics endpoint needs a port of its own. */
static void check_metrics(struct parse_ctx *pc)
{
	const struct agent_config *cfg = pc->cfg;
	const char *m = cfg->metrics_listen;
	const char *clash = strcmp(m, cfg->raft_addr) == 0 ? "raft_addr"
			    : strcmp(m, agent_url_addr(cfg->rpc_addr)) == 0 ? "rpc_addr" : NULL;

	if (m[0] && clash)
		fail_at(pc, pc->seen_line[find_key("metrics", "listen")], "[metrics] listen = %s "
			"is also [node] %s; give the metrics their own port (9464 is usual)",
			m, clash);
}

/* [dataplane]: two distinct devices, and an address to answer VMs from. */
static void check_dataplane(struct parse_ctx *pc)
{
	const struct agent_config *cfg = pc->cfg;
	const struct agent_dp_config *d = &cfg->dataplane;
	uint32_t rpc_ip = 0;

	if (!d->enabled)
		return;
	(void)rtv_parse_ipport(agent_url_addr(cfg->rpc_addr), &rpc_ip, NULL);
	if (!d->int_dev[0] || !d->uplink_dev[0])
		fail_at(pc, pc->seen_line[find_key("dataplane", d->int_dev[0] ? "uplink_dev" :
						   "int_dev")], "[dataplane] int_dev and uplink_dev "
			"name the devices the dataplane sits between; set both (e.g. int_dev = "
			"rtv-int, uplink_dev = eth0)");
	else if (strcmp(d->int_dev, d->uplink_dev) == 0)
		fail_at(pc, pc->seen_line[find_key("dataplane", "uplink_dev")], "[dataplane] "
			"int_dev and uplink_dev are both %s; they are two different devices",
			d->int_dev);
	else if (!d->host_ip && !rpc_ip)
		fail_at(pc, pc->seen_line[find_key("dataplane", "host_ip")], "[dataplane] host_ip "
			"is needed when [node] rpc_addr listens on 0.0.0.0 (the address ICMP "
			"answers come from, e.g. host_ip = 10.0.0.1)");
}

static int parse_file(struct agent_config *cfg, const char *name, FILE *f, char *err,
		      size_t errlen)
{
	struct parse_ctx pc = { .cfg = cfg, .f = f, .next_lineno = 1, .err = err,
				.errlen = errlen };
	int rc;

	agent_config_defaults(cfg);
	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	rc = ini_parse_stream(read_line, &pc, on_key, &pc);
	if (rc > 0 && !pc.failed)
		fail_at(&pc, rc, "syntax error: expected [section], key = value, or a comment "
			"starting with # or ;");
	else if (rc < 0 && !pc.failed)
		fail_at(&pc, 0, "cannot be read (out of memory)");
	check_required(&pc);
	if (!pc.failed)
		check_raft(&pc);
	if (!pc.failed)
		check_self(&pc);
	if (!pc.failed)
		check_ovs(&pc);
	if (!pc.failed)
		check_tls(&pc);
	if (!pc.failed)
		check_metrics(&pc);
	if (!pc.failed)
		check_dataplane(&pc);
	if (!pc.failed) {
		char why[WHYLEN] = "";

		if (agent_modules_config_done(cfg, why, sizeof(why)) < 0)
			fail_at(&pc, 0, "%s", why[0] ? why : "a module refused its section");
	}
	return pc.failed ? -EINVAL : 0;
}

int agent_config_load(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	rc = parse_file(cfg, path, f, err, errlen);
	fclose(f);
	return rc;
}

int agent_config_parse(struct agent_config *cfg, const char *name, const char *text,
		       char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -ENOMEM;
	}
	rc = parse_file(cfg, name, f, err, errlen);
	fclose(f);
	return rc;
}

const struct agent_peer *agent_config_peer(const struct agent_config *cfg, uint64_t id)
{
	for (size_t i = 0; i < cfg->n_peers; i++) {
		if (cfg->peers[i].id == id)
			return &cfg->peers[i];
	}
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* What the file cannot tell                                                 */

/* A directory that exists, or whose parent exists so that it can be made. */
static int check_dir(const char *what, const char *dir, char *err, size_t errlen)
{
	char parent[AGENT_PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%s %s exists but is not a directory", what, dir);
		return -ENOTDIR;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		strcpy(parent, "/");
	if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(err, errlen, "%s %s does not exist and neither does %s; create it", what,
		 dir, parent);
	return -ENOENT;
}

int agent_config_check_env(const struct agent_config *cfg, char *err, size_t errlen)
{
	char sockdir[AGENT_SUN_PATH_MAX];
	char *slash;
	int rc;

	if (cfg->cli_group[0] && !getgrnam(cfg->cli_group)) {
		snprintf(err, errlen, "%s: [node] cli_group = \"%s\": no such group (create it "
			 "with groupadd, or leave cli_group empty for root only)", cfg->file,
			 cfg->cli_group);
		return -ENOENT;
	}
	rc = check_dir("[node] data_dir", cfg->data_dir, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(sockdir, sizeof(sockdir), "%s", cfg->cli_socket);
	slash = strrchr(sockdir, '/');
	if (slash == sockdir)
		return 0;
	*slash = '\0';
	return check_dir("the directory of [node] cli_socket", sockdir, err, errlen);
}
