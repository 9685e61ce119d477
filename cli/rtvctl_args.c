/* rtvctl_args.c — rtvctl's command line into struct rtvctl_opts.
 *
 * Options are collected first and applied once the verb is known, so
 * global and verb options may come in any order ("rtvctl -o json paths" and
 * "rtvctl paths -o json" are the same), and an option that does not belong
 * to the verb is named in the error together with where to look.
 * Nothing here touches the network or the environment: main passes the
 * environment in, and the unit tests call rtvctl_parse with tables.
 */
#include "cli/rtvctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
#include "common/units.h"
#include "sched/sched.h"

#define MAX_ARGS 64

enum opt_id {
	O_SOCKET, O_ENDPOINT, O_OUTPUT, O_TIMEOUT, O_LIN, O_HELP, O_CERT, O_KEY, O_CA,
	O_SRC, O_DST, O_DPORT, O_PROTO, O_TYPE, O_RATE, O_DEADLINE, O_BURST, O_MAX_PKT,
	O_MISS_AFTER, O_MISS_COUNT, O_MAX_LEVEL, O_OWNER,
	O_UUID, O_NAME, O_HOST, O_IP, O_MAC, O_TENANT,
	O_CAPACITY, O_CAPACITY_BA, O_RT_BUDGET, O_HOP_LATENCY, O_STANDBY,
};

#define V(x) (1u << RTVCTL_##x)
#define GLOBAL 0u

struct opt {
	const char *name;
	char short_name;
	bool has_arg;
	enum opt_id id;
	unsigned verbs;		/* bit per verb where it is allowed; GLOBAL = all */
};

static const struct opt opts[] = {
	{ "socket", 's', true, O_SOCKET, GLOBAL },
	{ "endpoint", 'e', true, O_ENDPOINT, GLOBAL },
	{ "endpoints", 0, true, O_ENDPOINT, GLOBAL },
	{ "output", 'o', true, O_OUTPUT, GLOBAL },
	{ "timeout", 't', true, O_TIMEOUT, GLOBAL },
	{ "linearizable", 'l', false, O_LIN, GLOBAL },
	{ "help", 'h', false, O_HELP, GLOBAL },
	{ "cert", 0, true, O_CERT, GLOBAL },
	{ "key", 0, true, O_KEY, GLOBAL },
	{ "ca", 0, true, O_CA, GLOBAL },
	{ "src", 0, true, O_SRC, V(RESERVE) },
	{ "dst", 0, true, O_DST, V(RESERVE) },
	{ "dport", 0, true, O_DPORT, V(RESERVE) },
	{ "proto", 0, true, O_PROTO, V(RESERVE) },
	{ "type", 0, true, O_TYPE, V(RESERVE) },
	{ "rate", 0, true, O_RATE, V(RESERVE) },
	{ "deadline", 0, true, O_DEADLINE, V(RESERVE) },
	{ "burst", 0, true, O_BURST, V(RESERVE) },
	{ "max-pkt", 0, true, O_MAX_PKT, V(RESERVE) },
	{ "miss-after", 0, true, O_MISS_AFTER, V(RESERVE) },
	{ "miss-count", 0, true, O_MISS_COUNT, V(RESERVE) },
	{ "max-level", 0, true, O_MAX_LEVEL, V(RESERVE) },
	{ "owner", 0, true, O_OWNER, V(RESERVE) },
	{ "uuid", 0, true, O_UUID, V(VM_ADD) },
	{ "name", 0, true, O_NAME, V(VM_ADD) },
	{ "host", 0, true, O_HOST, V(VM_ADD) },
	{ "ip", 0, true, O_IP, V(VM_ADD) },
	{ "mac", 0, true, O_MAC, V(VM_ADD) },
	{ "tenant", 0, true, O_TENANT, V(VM_ADD) },
	{ "capacity", 0, true, O_CAPACITY, V(LINK_SET) },
	{ "capacity-ba", 0, true, O_CAPACITY_BA, V(LINK_SET) },
	{ "rt-budget", 0, true, O_RT_BUDGET, V(LINK_SET) },
	{ "hop-latency", 0, true, O_HOP_LATENCY, V(LINK_SET) },
	{ "standby", 0, false, O_STANDBY, V(MEMBERS_ADD) },
};

struct given {
	const struct opt *opt;
	const char *val;
};

struct cmdline {
	struct given g[MAX_ARGS];
	size_t n_g;
	const char *pos[MAX_ARGS];
	size_t n_pos;
};

static const char *const verb_names[RTVCTL_N_VERBS] = {
	[RTVCTL_NONE] = "", [RTVCTL_RESERVE] = "reserve", [RTVCTL_RELEASE] = "release",
	[RTVCTL_PATHS] = "paths", [RTVCTL_HOSTS] = "hosts", [RTVCTL_LINKS] = "links",
	[RTVCTL_VMS] = "vms", [RTVCTL_VM_ADD] = "vm add", [RTVCTL_VM_REMOVE] = "vm remove",
	[RTVCTL_LINK_SET] = "link set", [RTVCTL_STATUS] = "status",
	[RTVCTL_MEMBERS_ADD] = "members add", [RTVCTL_MEMBERS_REMOVE] = "members remove",
	[RTVCTL_TRANSFER] = "transfer", [RTVCTL_MEMBERS] = "members",
};

const char *rtvctl_verb_name(enum rtvctl_verb verb)
{
	return verb < RTVCTL_N_VERBS ? verb_names[verb] : "?";
}

bool rtvctl_verb_submits(enum rtvctl_verb verb)
{
	return verb == RTVCTL_RESERVE || verb == RTVCTL_RELEASE || verb == RTVCTL_VM_ADD ||
	       verb == RTVCTL_VM_REMOVE || verb == RTVCTL_LINK_SET;
}

static int usage(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ------------------------------------------------------------------------- */
/* Small parsers                                                              */

int rtvctl_parse_uint(const char *what, const char *s, uint64_t max, uint64_t *v,
		      char *err, size_t errlen)
{
	char *end;
	unsigned long long x;

	if (!s || *s < '0' || *s > '9')
		return usage(err, errlen, "%s \"%s\" is not a number", what, s ? s : "");
	errno = 0;
	x = strtoull(s, &end, 10);
	if (*end)
		return usage(err, errlen, "%s \"%s\" is not a whole number", what, s);
	if (errno == ERANGE || x > max)
		return usage(err, errlen, "%s %s is out of range (at most %llu)", what, s,
			     (unsigned long long)max);
	*v = x;
	return 0;
}

int rtvctl_parse_ipv4(const char *s, uint32_t *ip, char *err, size_t errlen)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return usage(err, errlen, "\"%s\" is not an IPv4 address (write e.g. 10.0.0.1)",
			     s ? s : "");
	*ip = ntohl(a.s_addr);
	return 0;
}

int rtvctl_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
	unsigned b[6];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
			 &b[5], &tail) != 6 || strlen(s) != 17)
		return usage(err, errlen, "\"%s\" is not a MAC address (write e.g. 52:54:00:12:34:56)",
			     s ? s : "");
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int copy_name(const char *what, const char *s, char *dst, size_t n,
		     char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (len == 0)
		return usage(err, errlen, "%s must not be empty", what);
	if (len >= n)
		return usage(err, errlen, "%s \"%s\" is too long (at most %zu bytes)", what, s, n - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

/* "ip:port" as raft_uv's TCP transport wants it. */
static int check_ipport(const char *s, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char ip[INET_ADDRSTRLEN];
	uint64_t port;
	uint32_t a;

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return usage(err, errlen, "\"%s\" is not ip:port (write e.g. 10.0.0.4:7000)", s);
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	if (rtvctl_parse_ipv4(ip, &a, err, errlen) ||
	    rtvctl_parse_uint("port", colon + 1, 65535, &port, err, errlen) || port == 0)
		return usage(err, errlen, "\"%s\" is not ip:port (write e.g. 10.0.0.4:7000)", s);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Splitting the command line                                                 */

static const struct opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const struct opt *find_short(char c)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opts[i].short_name && opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

static int take_option(int argc, char *const argv[], int *i, struct cmdline *cl,
		       char *err, size_t errlen)
{
	const char *a = argv[*i], *val = NULL;
	const struct opt *o;

	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (!(o = find_long(a + 2, len)))
			return usage(err, errlen, "unknown option \"%.*s\" (see rtvctl --help)",
				     (int)(len + 2), a);
		val = eq ? eq + 1 : NULL;
	} else {
		if (!(o = find_short(a[1])))
			return usage(err, errlen, "unknown option \"-%c\" (see rtvctl --help)", a[1]);
		val = a[2] ? a + 2 : NULL;
		if (val && !o->has_arg)
			return usage(err, errlen, "\"%s\": -%c takes no value", a, a[1]);
	}
	if (o->has_arg && !val) {
		if (*i + 1 >= argc)
			return usage(err, errlen, "option --%s needs a value", o->name);
		val = argv[++*i];
	} else if (!o->has_arg && val) {
		return usage(err, errlen, "option --%s takes no value", o->name);
	}
	if (cl->n_g == MAX_ARGS)
		return usage(err, errlen, "too many options");
	cl->g[cl->n_g++] = (struct given){ o, val };
	return 0;
}

static int split(int argc, char *const argv[], struct cmdline *cl, char *err, size_t errlen)
{
	bool only_pos = false;

	memset(cl, 0, sizeof(*cl));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc;
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
		} else if (!only_pos && a[0] == '-' && a[1] != '\0') {
			if ((rc = take_option(argc, argv, &i, cl, err, errlen)) != 0)
				return rc;
		} else {
			if (cl->n_pos == MAX_ARGS)
				return usage(err, errlen, "too many arguments");
			cl->pos[cl->n_pos++] = a;
		}
	}
	return 0;
}

/* Reads the verb (one or two words) from the positional arguments; *used
 * is how many words it took. */
static int find_verb(const struct cmdline *cl, enum rtvctl_verb *verb, size_t *used,
		     char *err, size_t errlen)
{
	const char *w0 = cl->n_pos > 0 ? cl->pos[0] : NULL;
	const char *w1 = cl->n_pos > 1 ? cl->pos[1] : "";

	*verb = RTVCTL_NONE;
	*used = 0;
	if (!w0)
		return 0;
	for (int v = RTVCTL_RESERVE; v < RTVCTL_N_VERBS; v++) {
		const char *name = verb_names[v], *sp = strchr(name, ' ');
		size_t len0 = sp ? (size_t)(sp - name) : strlen(name);
		if (strlen(w0) != len0 || strncmp(w0, name, len0) != 0)
			continue;
		if (!sp || strcmp(w1, sp + 1) == 0) {
			*verb = (enum rtvctl_verb)v;
			*used = sp ? 2 : 1;
			return 0;
		}
	}
	if (strcmp(w0, "vm") == 0 || strcmp(w0, "link") == 0 || strcmp(w0, "members") == 0)
		return usage(err, errlen, "%s needs a subcommand (%s); see rtvctl --help", w0,
			     strcmp(w0, "vm") == 0 ? "add or remove" :
			     strcmp(w0, "link") == 0 ? "set" : "add or remove");
	if (strcmp(w0, "help") == 0)
		return 0;
	return usage(err, errlen, "unknown command \"%s\"; run rtvctl --help for the list", w0);
}

/* ------------------------------------------------------------------------- */
/* Applying options                                                           */

static int set_endpoint(struct rtvctl_opts *o, const char *val, bool is_socket,
			char *err, size_t errlen)
{
	int n;

	if (!*val)
		return usage(err, errlen, "the endpoint must not be empty");
	if (is_socket && !strstr(val, "://"))
		n = snprintf(o->endpoint, sizeof(o->endpoint), "ipc://%s", val);
	else
		n = snprintf(o->endpoint, sizeof(o->endpoint), "%s", val);
	if (n < 0 || (size_t)n >= sizeof(o->endpoint))
		return usage(err, errlen, "the endpoint is too long");
	if (!strstr(o->endpoint, "ipc://") && !strstr(o->endpoint, "tcp://"))
		return usage(err, errlen, "endpoint \"%s\": use ipc:///path/to/rtvd.sock or "
			     "tls+tcp://host:port (with --cert, --key, --ca)", val);
	return 0;
}

static int parse_dur_opt(const char *opt, const char *val, uint64_t *ns, char *err, size_t errlen)
{
	char why[256];

	if (rtv_parse_duration_ns(val, ns, why, sizeof(why)))
		return usage(err, errlen, "--%s: %s", opt, why);
	return 0;
}

static int set_path(char dst[RTVCTL_PATH_MAX], const char *opt, const char *val, char *err,
		    size_t errlen)
{
	if (!*val || strlen(val) >= RTVCTL_PATH_MAX)
		return usage(err, errlen, "--%s wants a file name (a PEM file from rtvctl pki)", opt);
	snprintf(dst, RTVCTL_PATH_MAX, "%s", val);
	return 0;
}

/* tls+tcp:// endpoints need the client's certificate, key and the rack CA. */
static int check_tls(const struct rtvctl_opts *o, char *err, size_t errlen)
{
	if (!strstr(o->endpoint, "tls+tcp://"))
		return 0;
	if (!o->cert[0] || !o->key[0] || !o->ca[0])
		return usage(err, errlen, "a tls+tcp:// endpoint needs a client certificate: give "
			     "--cert FILE --key FILE --ca FILE (or $RTVCTL_CERT, $RTVCTL_KEY, "
			     "$RTVCTL_CA); rtvctl pki issue-client NAME --read|--admin makes one");
	return 0;
}

static int apply_global(struct rtvctl_opts *o, const struct given *g, char *err, size_t errlen)
{
	switch (g->opt->id) {
	case O_SOCKET: case O_ENDPOINT:
		return set_endpoint(o, g->val, g->opt->id == O_SOCKET, err, errlen);
	case O_OUTPUT:
		if (strcmp(g->val, "json") == 0)
			o->output = RTVCTL_OUT_JSON;
		else if (strcmp(g->val, "table") == 0)
			o->output = RTVCTL_OUT_TABLE;
		else
			return usage(err, errlen, "-o \"%s\": write -o json or -o table", g->val);
		return 0;
	case O_TIMEOUT:
		if (parse_dur_opt("timeout", g->val, &o->timeout_ns, err, errlen))
			return -EINVAL;
		if (o->timeout_ns == 0)
			return usage(err, errlen, "--timeout must be above zero");
		return 0;
	case O_LIN:
		o->linearizable = true;
		return 0;
	case O_CERT: case O_KEY: case O_CA:
		return set_path(g->opt->id == O_CERT ? o->cert : g->opt->id == O_KEY ? o->key : o->ca,
				g->opt->name, g->val, err, errlen);
	case O_HELP:
		o->help = true;
		return 0;
	default:
		return -ENOENT;	/* not global */
	}
}

static int parse_rate_opt(const char *opt, const char *val, uint64_t *bps, char *err, size_t errlen)
{
	char why[256];

	if (rtv_parse_rate_bps(val, bps, why, sizeof(why)))
		return usage(err, errlen, "--%s: %s", opt, why);
	return 0;
}

static int parse_size_opt(const char *opt, const char *val, uint64_t max, uint64_t *bytes,
			  char *err, size_t errlen)
{
	char why[256];

	if (rtv_parse_size_bytes(val, bytes, why, sizeof(why)))
		return usage(err, errlen, "--%s: %s", opt, why);
	if (*bytes > max)
		return usage(err, errlen, "--%s %s is too large (at most %llu bytes)", opt, val,
			     (unsigned long long)max);
	return 0;
}

static int reserve_enum(const struct given *g, struct cons_path_req *p, char *err, size_t errlen)
{
	if (g->opt->id == O_PROTO) {
		if (strcmp(g->val, "udp") == 0)
			p->proto = 17;
		else if (strcmp(g->val, "tcp") == 0)
			p->proto = 6;
		else if (strcmp(g->val, "any") == 0)
			p->proto = 0;
		else
			return usage(err, errlen, "--proto \"%s\": write udp, tcp or any", g->val);
		return 0;
	}
	if (strcmp(g->val, "deadline") == 0)
		p->type = CONS_PATH_DEADLINE;
	else if (strcmp(g->val, "reservation") == 0)
		p->type = CONS_PATH_RESERVATION;
	else
		return usage(err, errlen,
			     "--type \"%s\": write deadline (EDF, a packet deadline) or reservation (WFQ, a guaranteed rate)",
			     g->val);
	return 0;
}

static int reserve_opt(const struct given *g, struct cons_path_req *p, char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	switch (g->opt->id) {
	case O_SRC: return rtvctl_parse_ipv4(g->val, &p->src_ip, err, errlen);
	case O_DST: return rtvctl_parse_ipv4(g->val, &p->dst_ip, err, errlen);
	case O_DPORT:
		rc = rtvctl_parse_uint("--dport", g->val, 65535, &v, err, errlen);
		p->dport = (uint16_t)v;
		return rc;
	case O_PROTO: case O_TYPE: return reserve_enum(g, p, err, errlen);
	case O_RATE: return parse_rate_opt("rate", g->val, &p->rate_bps, err, errlen);
	case O_DEADLINE: return parse_dur_opt("deadline", g->val, &p->deadline_ns, err, errlen);
	case O_BURST: return parse_size_opt("burst", g->val, UINT32_MAX, &p->burst_bytes, err, errlen);
	case O_MAX_PKT:
		rc = parse_size_opt("max-pkt", g->val, 65535, &v, err, errlen);
		p->max_pkt_bytes = (uint32_t)v;
		return rc;
	case O_MISS_AFTER: return parse_dur_opt("miss-after", g->val, &p->policy.after_ns, err, errlen);
	case O_MISS_COUNT:
		rc = rtvctl_parse_uint("--miss-count", g->val, UINT32_MAX, &v, err, errlen);
		p->policy.misses = (uint32_t)v;
		return rc;
	case O_MAX_LEVEL:
		rc = rtvctl_parse_uint("--max-level", g->val, SCHED_ESCALATION_MAX, &v, err, errlen);
		p->policy.max_level = (uint8_t)v;
		return rc;
	case O_OWNER: return copy_name("--owner", g->val, p->owner, sizeof(p->owner), err, errlen);
	default: return -ENOENT;
	}
}

static bool was_given(const struct cmdline *cl, enum opt_id id)
{
	for (size_t i = 0; i < cl->n_g; i++)
		if (cl->g[i].opt->id == id)
			return true;
	return false;
}

static int reserve_check(const struct cmdline *cl, const struct cons_path_req *p,
			 char *err, size_t errlen)
{
	static const struct { enum opt_id id; const char *name; } required[] = {
		{ O_SRC, "--src IP" }, { O_DST, "--dst IP" }, { O_TYPE, "--type deadline|reservation" },
		{ O_RATE, "--rate (e.g. 2M)" }, { O_DEADLINE, "--deadline (e.g. 5ms)" },
	};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!was_given(cl, required[i].id))
			return usage(err, errlen, "reserve needs %s (see rtvctl reserve --help)",
				     required[i].name);
	if (p->src_ip == p->dst_ip)
		return usage(err, errlen, "--src and --dst are the same address");
	if (p->rate_bps == 0)
		return usage(err, errlen, "--rate must be above zero");
	if (p->deadline_ns == 0)
		return usage(err, errlen, "--deadline must be above zero");
	if (p->burst_bytes && p->max_pkt_bytes && p->burst_bytes < p->max_pkt_bytes)
		return usage(err, errlen, "--burst (%llu B) must hold at least one --max-pkt (%u B)",
			     (unsigned long long)p->burst_bytes, p->max_pkt_bytes);
	return 0;
}

static int vm_opt(const struct given *g, struct cons_vm *vm, char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	switch (g->opt->id) {
	case O_UUID: return copy_name("--uuid", g->val, vm->uuid, sizeof(vm->uuid), err, errlen);
	case O_NAME: return copy_name("--name", g->val, vm->name, sizeof(vm->name), err, errlen);
	case O_TENANT: return copy_name("--tenant", g->val, vm->tenant, sizeof(vm->tenant), err, errlen);
	case O_HOST:
		rc = rtvctl_parse_uint("--host (a host id from `rtvctl hosts`)", g->val, UINT64_MAX,
				       &v, err, errlen);
		if (rc == 0 && v == 0)
			return usage(err, errlen, "--host 0: host ids start at 1 (see rtvctl hosts)");
		vm->host_id = v;
		return rc;
	case O_IP:
		if (vm->n_ips == CONS_VM_IPS_MAX)
			return usage(err, errlen, "at most %d --ip per VM", CONS_VM_IPS_MAX);
		return rtvctl_parse_ipv4(g->val, &vm->ips[vm->n_ips++], err, errlen);
	case O_MAC:
		if (vm->n_macs == CONS_VM_MACS_MAX)
			return usage(err, errlen, "at most %d --mac per VM", CONS_VM_MACS_MAX);
		return rtvctl_parse_mac(g->val, vm->macs[vm->n_macs++], err, errlen);
	default: return -ENOENT;
	}
}

static int vm_check(struct cons_vm *vm, char *err, size_t errlen)
{
	if (!vm->uuid[0])
		return usage(err, errlen, "vm add needs --uuid (see rtvctl vm add --help)");
	if (!vm->host_id)
		return usage(err, errlen, "vm add needs --host ID (see rtvctl hosts)");
	if (!vm->n_ips)
		return usage(err, errlen, "vm add needs at least one --ip");
	if (!vm->name[0])
		memcpy(vm->name, vm->uuid, sizeof(vm->name));
	return 0;
}

struct link_user {
	uint64_t cap_ab, cap_ba;	/* as the user wrote A B */
};

static int link_opt(const struct given *g, struct rtvctl_opts *o, struct link_user *lu,
		    char *err, size_t errlen)
{
	struct cons_link *l = &o->cmd.u.link;
	uint32_t ppm;
	char why[256];

	switch (g->opt->id) {
	case O_CAPACITY: return parse_rate_opt("capacity", g->val, &lu->cap_ab, err, errlen);
	case O_CAPACITY_BA:
		o->link_given |= RTVCTL_LINK_CAP_BA;
		return parse_rate_opt("capacity-ba", g->val, &lu->cap_ba, err, errlen);
	case O_RT_BUDGET:
		o->link_given |= RTVCTL_LINK_BUDGET;
		if (rtv_parse_ppm(g->val, &ppm, why, sizeof(why)))
			return usage(err, errlen, "--rt-budget: %s", why);
		if (ppm == 0)
			return usage(err, errlen, "--rt-budget must be above 0%% (e.g. 50%%)");
		l->rt_budget_ppm = ppm;
		return 0;
	case O_HOP_LATENCY:
		o->link_given |= RTVCTL_LINK_HOP;
		return parse_dur_opt("hop-latency", g->val, &l->hop_latency_ns, err, errlen);
	default: return -ENOENT;
	}
}

/* Stores the names in the state's order (a < b) with the capacities of the
 * matching directions. */
static int link_finish(const char *a, const char *b, const struct link_user *lu,
		       struct rtvctl_opts *o, char *err, size_t errlen)
{
	struct cons_link *l = &o->cmd.u.link;
	bool swap = strcmp(a, b) > 0;
	uint64_t ba = (o->link_given & RTVCTL_LINK_CAP_BA) ? lu->cap_ba : lu->cap_ab;

	if (strcmp(a, b) == 0)
		return usage(err, errlen, "link set %s %s: a link joins two different nodes", a, b);
	if (copy_name("the first node name", swap ? b : a, l->a, sizeof(l->a), err, errlen) ||
	    copy_name("the second node name", swap ? a : b, l->b, sizeof(l->b), err, errlen))
		return -EINVAL;
	if (lu->cap_ab == 0 || ba == 0)
		return usage(err, errlen, "link set needs --capacity above zero (e.g. --capacity 10G)");
	l->capacity_ab_bps = swap ? ba : lu->cap_ab;
	l->capacity_ba_bps = swap ? lu->cap_ab : ba;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Positional arguments                                                       */

static int want_args(enum rtvctl_verb verb, size_t n, size_t min, size_t max,
		     const char *what, char *err, size_t errlen)
{
	if (n < min)
		return usage(err, errlen, "%s needs %s (see rtvctl %s --help)",
			     verb_names[verb], what, verb_names[verb]);
	if (n > max)
		return usage(err, errlen, "%s takes %s%s; unexpected extra arguments",
			     verb_names[verb], max ? "only " : "no arguments", max ? what : "");
	return 0;
}

static int parse_id(const char *what, const char *s, uint64_t *id, char *err, size_t errlen)
{
	int rc = rtvctl_parse_uint(what, s, UINT64_MAX, id, err, errlen);

	if (rc == 0 && *id == 0)
		return usage(err, errlen, "%s 0: ids start at 1", what);
	return rc;
}

static int positional(struct rtvctl_opts *o, const char *const *pos, size_t n,
		      const struct link_user *lu, char *err, size_t errlen)
{
	switch (o->verb) {
	case RTVCTL_RELEASE:
		o->cmd.op = CONS_OP_PATH_RELEASE;
		return want_args(o->verb, n, 1, 1, "an rtpath ID", err, errlen) ?:
		       parse_id("rtpath id", pos[0], &o->cmd.u.ref.id, err, errlen);
	case RTVCTL_PATHS: case RTVCTL_TRANSFER:
		if (want_args(o->verb, n, 0, 1, "one ID", err, errlen))
			return -EINVAL;
		o->has_id = n == 1;
		return n ? parse_id(o->verb == RTVCTL_PATHS ? "rtpath id" : "node id", pos[0],
				    &o->id, err, errlen) : 0;
	case RTVCTL_VM_REMOVE:
		o->cmd.op = CONS_OP_VM_REMOVE;
		return want_args(o->verb, n, 1, 1, "the VM's UUID", err, errlen) ?:
		       copy_name("the UUID", pos[0], o->cmd.u.vm.uuid, sizeof(o->cmd.u.vm.uuid),
				 err, errlen);
	case RTVCTL_LINK_SET:
		o->cmd.op = CONS_OP_LINK_SET;
		return want_args(o->verb, n, 2, 2, "two node names, A B", err, errlen) ?:
		       link_finish(pos[0], pos[1], lu, o, err, errlen);
	case RTVCTL_MEMBERS_ADD:
		o->has_id = true;
		return want_args(o->verb, n, 2, 2, "ID RAFT_ADDR", err, errlen) ?:
		       parse_id("node id", pos[0], &o->id, err, errlen) ?:
		       check_ipport(pos[1], err, errlen) ?:
		       copy_name("RAFT_ADDR", pos[1], o->raft_addr, sizeof(o->raft_addr), err, errlen);
	case RTVCTL_MEMBERS_REMOVE:
		o->has_id = true;
		return want_args(o->verb, n, 1, 1, "a node ID", err, errlen) ?:
		       parse_id("node id", pos[0], &o->id, err, errlen);
	default:
		return want_args(o->verb, n, 0, 0, "", err, errlen);
	}
}

/* ------------------------------------------------------------------------- */

static void defaults(struct rtvctl_opts *o, const struct rtvctl_env *env)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->endpoint, sizeof(o->endpoint), "%s",
		 env && env->endpoint && *env->endpoint ? env->endpoint : AGENT_CLIENT_DEFAULT_URL);
	if (env && env->cert && strlen(env->cert) < RTVCTL_PATH_MAX)
		snprintf(o->cert, sizeof(o->cert), "%s", env->cert);
	if (env && env->key && strlen(env->key) < RTVCTL_PATH_MAX)
		snprintf(o->key, sizeof(o->key), "%s", env->key);
	if (env && env->ca && strlen(env->ca) < RTVCTL_PATH_MAX)
		snprintf(o->ca, sizeof(o->ca), "%s", env->ca);
	o->timeout_ns = RTVCTL_DEFAULT_TIMEOUT_NS;
	o->voter = true;
}

static void verb_defaults(struct rtvctl_opts *o, const struct rtvctl_env *env)
{
	struct cons_path_req *p = &o->cmd.u.path;

	if (o->verb == RTVCTL_RESERVE) {
		o->cmd.op = CONS_OP_PATH_RESERVE;
		p->policy.after_ns = RTVCTL_DEFAULT_MISS_AFTER_NS;
		p->policy.max_level = SCHED_ESCALATION_MAX;
		if (env && env->user && strlen(env->user) < sizeof(p->owner))
			snprintf(p->owner, sizeof(p->owner), "%s", env->user);
	} else if (o->verb == RTVCTL_VM_ADD) {
		o->cmd.op = CONS_OP_VM_SET;
	} else if (o->verb == RTVCTL_LINK_SET) {
		o->cmd.u.link.rt_budget_ppm = 500000;
	}
}

static int apply_verb_opt(struct rtvctl_opts *o, const struct given *g, struct link_user *lu,
			  char *err, size_t errlen)
{
	if (!(g->opt->verbs & (1u << o->verb)))
		return usage(err, errlen, "--%s is not an option of %s (see rtvctl %s --help)",
			     g->opt->name, verb_names[o->verb], verb_names[o->verb]);
	switch (o->verb) {
	case RTVCTL_RESERVE: return reserve_opt(g, &o->cmd.u.path, err, errlen);
	case RTVCTL_VM_ADD: return vm_opt(g, &o->cmd.u.vm, err, errlen);
	case RTVCTL_LINK_SET: return link_opt(g, o, lu, err, errlen);
	case RTVCTL_MEMBERS_ADD: o->voter = false; return 0;	/* --standby */
	default: return usage(err, errlen, "--%s is not an option of %s", g->opt->name,
			      verb_names[o->verb]);
	}
}

static int verb_check(struct rtvctl_opts *o, const struct cmdline *cl, char *err, size_t errlen)
{
	if (o->linearizable && o->verb != RTVCTL_NONE && o->verb != RTVCTL_PATHS &&
	    o->verb != RTVCTL_HOSTS && o->verb != RTVCTL_LINKS && o->verb != RTVCTL_VMS)
		return usage(err, errlen, "--linearizable applies to reads (paths, hosts, links, vms), not %s",
			     verb_names[o->verb]);
	if (o->verb == RTVCTL_RESERVE)
		return reserve_check(cl, &o->cmd.u.path, err, errlen);
	if (o->verb == RTVCTL_VM_ADD)
		return vm_check(&o->cmd.u.vm, err, errlen);
	if (o->verb == RTVCTL_LINK_SET && !was_given(cl, O_CAPACITY))
		return usage(err, errlen, "link set needs --capacity (e.g. --capacity 10G)");
	return 0;
}

int rtvctl_parse(int argc, char *const argv[], const struct rtvctl_env *env,
		 struct rtvctl_opts *o, char *err, size_t errlen)
{
	struct cmdline cl;
	struct link_user lu = { 0, 0 };
	size_t used, skip = 0;
	int rc;

	defaults(o, env);
	if ((rc = split(argc, argv, &cl, err, errlen)) != 0)
		return rc;
	if (cl.n_pos && strcmp(cl.pos[0], "help") == 0) {
		o->help = true;
		skip = 1;
	}
	{
		struct cmdline rest = cl;
		memmove(rest.pos, cl.pos + skip, (cl.n_pos - skip) * sizeof(cl.pos[0]));
		rest.n_pos -= skip;
		if ((rc = find_verb(&rest, &o->verb, &used, err, errlen)) != 0)
			return rc;
		used += skip;
	}
	for (size_t i = 0; i < cl.n_g; i++)
		if (cl.g[i].opt->id == O_HELP)
			o->help = true;
	if (o->help)
		return 0;
	if (o->verb == RTVCTL_NONE)
		return usage(err, errlen, "no command given; run rtvctl --help for the list");
	verb_defaults(o, env);
	for (size_t i = 0; i < cl.n_g; i++) {
		rc = apply_global(o, &cl.g[i], err, errlen);
		if (rc == -ENOENT)
			rc = apply_verb_opt(o, &cl.g[i], &lu, err, errlen);
		if (rc)
			return -EINVAL;
	}
	if ((rc = verb_check(o, &cl, err, errlen)) != 0 || (rc = check_tls(o, err, errlen)) != 0)
		return rc;
	return positional(o, cl.pos + used, cl.n_pos - used, &lu, err, errlen) ? -EINVAL : 0;
}
