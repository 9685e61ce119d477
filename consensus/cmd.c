/* cmd.c — commands: validation, and their msgpack encoding.
 *
 * One set of rules (cons__cmd_check) serves the encoder (a client learns of
 * a bad request before it reaches the log), the decoder (bytes from the
 * network) and apply (a command built in memory by a test or an old
 * client). Rules that depend on the state — a host's frame size, an IP's
 * owner — are checked by apply alone.
 *
 * The helpers for messages live here too. Everything that ends up in a
 * result is formatted with integer arithmetic only: results are stored in
 * the replicated deduplication table, so every replica must produce the
 * same bytes.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {
	[CONS_OP_HOST_ADD] = "host_add",
	[CONS_OP_HOST_REMOVE] = "host_remove",
	[CONS_OP_LINK_SET] = "link_set",
	[CONS_OP_LINK_REMOVE] = "link_remove",
	[CONS_OP_VM_SET] = "vm_set",
	[CONS_OP_VM_REMOVE] = "vm_remove",
	[CONS_OP_PATH_RESERVE] = "path_reserve",
	[CONS_OP_PATH_RELEASE] = "path_release",
	[CONS_OP_PATH_ESCALATE] = "path_escalate",
	[CONS_OP_NOOP] = "noop",
	[CONS_OP_VM_MIGRATE] = "vm_migrate",
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *cons_op_name(enum cons_op op)
{
	if ((unsigned)op < N_OPS && op_names[op] != NULL)
		return op_names[op];
	return "unknown";
}

/* ------------------------------------------------------------------------- */
/* Messages and integer helpers                                              */

void cons__err(char err[CONS_ERRLEN], const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, CONS_ERRLEN, fmt, ap);
	va_end(ap);
}

/* v in the largest 1000-based unit it reaches, up to three decimals
 * (truncated), trailing zeros dropped: 2500000 bit/s → "2.5 Mbit/s". */
static void fmt_scaled(char *out, size_t cap, uint64_t v, const char *const *units, int n)
{
	uint64_t div = 1;
	char d[8];
	int u = 0;

	while (u + 1 < n && v / div >= 1000) {
		div *= 1000;
		u++;
	}
	snprintf(d, sizeof(d), "%03llu", (unsigned long long)(v % div * 1000 / div));
	for (int i = 2; i >= 0 && d[i] == '0'; i--)
		d[i] = '\0';
	snprintf(out, cap, "%llu%s%s %s", (unsigned long long)(v / div), d[0] ? "." : "", d,
		 units[u]);
}

void cons__fmt_rate(char *out, size_t cap, uint64_t bps)
{
	static const char *const u[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };

	fmt_scaled(out, cap, bps, u, 5);
}

void cons__fmt_ns(char *out, size_t cap, uint64_t ns)
{
	static const char *const u[] = { "ns", "µs", "ms", "s" };

	fmt_scaled(out, cap, ns, u, 4);
}

void cons__fmt_bits(char *out, size_t cap, uint64_t bits)
{
	static const char *const u[] = { "bit", "kbit", "Mbit", "Gbit", "Tbit" };

	fmt_scaled(out, cap, bits, u, 5);
}

/* floor(c · p / 1e6) without overflow: p <= 1e6, so (c / 1e6) · p <= c and
 * (c mod 1e6) · p < 1e12. */
uint64_t cons__budget_bps(uint64_t capacity_bps, uint32_t ppm)
{
	return capacity_bps / CONS_PPM * ppm + capacity_bps % CONS_PPM * ppm / CONS_PPM;
}

uint64_t cons__muldiv_ceil(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 q = ((unsigned __int128)a * b + c - 1) / c;

	return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

/* ------------------------------------------------------------------------- */
/* Validation                                                                */

int cons__name_check(const char *what, const char *s, size_t cap, bool empty_ok,
		     char err[CONS_ERRLEN])
{
	const char *end = memchr(s, '\0', cap);

	if (end == NULL) {
		cons__err(err, "%s is longer than the %zu bytes allowed", what, cap - 1);
		return -EINVAL;
	}
	if (end == s && !empty_ok) {
		cons__err(err, "%s is empty; give a name", what);
		return -EINVAL;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			cons__err(err, "%s contains control character 0x%02x; use printable text",
				  what, *p);
			return -EINVAL;
		}
	}
	return 0;
}

static int range(const char *what, uint64_t v, uint64_t lo, uint64_t hi, char err[CONS_ERRLEN])
{
	if (v >= lo && v <= hi)
		return 0;
	cons__err(err, "%s is %llu; allowed %llu..%llu", what, (unsigned long long)v,
		  (unsigned long long)lo, (unsigned long long)hi);
	return -EINVAL;
}

int cons__host_check(const struct cons_host *h, char err[CONS_ERRLEN])
{
	int rc;

	rc = range("host.id", h->id, 1, UINT64_MAX, err);
	rc = rc ? rc : cons__name_check("host.name", h->name, sizeof(h->name), false, err);
	rc = rc ? rc : cons__name_check("host.raft_addr", h->raft_addr, sizeof(h->raft_addr),
					true, err);
	rc = rc ? rc : cons__name_check("host.rpc_addr", h->rpc_addr, sizeof(h->rpc_addr),
					true, err);
	rc = rc ? rc : range("host.uplink_bps", h->uplink_bps, CONS_RATE_MIN_BPS,
			     CONS_RATE_MAX_BPS, err);
	rc = rc ? rc : range("host.rt_budget_ppm", h->rt_budget_ppm, 1, CONS_PPM, err);
	rc = rc ? rc : range("host.max_frame_bytes", h->max_frame_bytes, CONS_FRAME_MIN_BYTES,
			     CONS_FRAME_MAX_BYTES, err);
	rc = rc ? rc : cons__name_check("host.uplink_to", h->uplink_to, sizeof(h->uplink_to),
					true, err);
	rc = rc ? rc : range("host.role (0 voter, 1 standby)", h->role, 0, 1, err);
	rc = rc ? rc : range("host.uplink_latency_ns", h->uplink_latency_ns, 0,
			     CONS_HOP_LATENCY_MAX_NS, err);
	if (rc == 0 && strcmp(h->uplink_to, h->name) == 0) {
		cons__err(err, "host %s: uplink_to names the host itself; give its switch", h->name);
		rc = -EINVAL;
	}
	return rc;
}

static int link_names_check(const char *a, const char *b, char err[CONS_ERRLEN])
{
	int rc = cons__name_check("link.a", a, CONS_NAME_MAX, false, err);

	rc = rc ? rc : cons__name_check("link.b", b, CONS_NAME_MAX, false, err);
	if (rc == 0 && strcmp(a, b) == 0) {
		cons__err(err, "link %s<->%s: both ends are the same node", a, b);
		rc = -EINVAL;
	}
	return rc;
}

int cons__link_check(const struct cons_link *l, char err[CONS_ERRLEN])
{
	int rc = link_names_check(l->a, l->b, err);

	rc = rc ? rc : range("link.capacity_ab_bps", l->capacity_ab_bps, CONS_RATE_MIN_BPS,
			     CONS_RATE_MAX_BPS, err);
	rc = rc ? rc : range("link.capacity_ba_bps", l->capacity_ba_bps, CONS_RATE_MIN_BPS,
			     CONS_RATE_MAX_BPS, err);
	rc = rc ? rc : range("link.rt_budget_ppm", l->rt_budget_ppm, 1, CONS_PPM, err);
	rc = rc ? rc : range("link.hop_latency_ns", l->hop_latency_ns, 0,
			     CONS_HOP_LATENCY_MAX_NS, err);
	return rc;
}

static int vm_ips_check(const struct cons_vm *vm, char err[CONS_ERRLEN])
{
	char ip[16];

	for (unsigned i = 0; i < vm->n_ips; i++) {
		if (vm->ips[i] == 0) {
			cons__err(err, "vm %s: IP 0.0.0.0 is not an address", vm->uuid);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (vm->ips[j] == vm->ips[i]) {
				cons__ip_str(vm->ips[i], ip);
				cons__err(err, "vm %s: IP %s is listed twice", vm->uuid, ip);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int cons__vm_check(const struct cons_vm *vm, char err[CONS_ERRLEN])
{
	int rc = cons__name_check("vm.uuid", vm->uuid, sizeof(vm->uuid), false, err);

	rc = rc ? rc : cons__name_check("vm.name", vm->name, sizeof(vm->name), true, err);
	rc = rc ? rc : cons__name_check("vm.tenant", vm->tenant, sizeof(vm->tenant), true, err);
	rc = rc ? rc : range("vm.host_id", vm->host_id, 1, UINT64_MAX, err);
	rc = rc ? rc : range("vm.n_ips", vm->n_ips, 0, CONS_VM_IPS_MAX, err);
	rc = rc ? rc : range("vm.n_macs", vm->n_macs, 0, CONS_VM_MACS_MAX, err);
	if (rc == 0 && vm->mtu != 0)
		rc = range("vm.mtu", vm->mtu, 68, 65535, err);
	return rc ? rc : vm_ips_check(vm, err);
}

static int req_addr_check(const struct cons_path_req *r, char err[CONS_ERRLEN])
{
	if (r->src_ip == 0 || r->dst_ip == 0) {
		cons__err(err, "path: src_ip and dst_ip are required (0.0.0.0 given)");
		return -EINVAL;
	}
	if (r->src_ip == r->dst_ip) {
		cons__err(err, "path: src_ip and dst_ip are the same address");
		return -EINVAL;
	}
	if (r->proto != 0 && r->proto != 6 && r->proto != 17) {
		cons__err(err, "path.proto is %u; allowed 0 (any), 6 (TCP), 17 (UDP)", r->proto);
		return -EINVAL;
	}
	if (r->dport != 0 && r->proto == 0) {
		cons__err(err, "path.dport %u needs a protocol: give proto 6 (TCP) or 17 (UDP)",
			  r->dport);
		return -EINVAL;
	}
	if (r->type != CONS_PATH_DEADLINE && r->type != CONS_PATH_RESERVATION) {
		cons__err(err, "path.type is %d; allowed deadline (1), reservation (2)", r->type);
		return -EINVAL;
	}
	return 0;
}

int cons__req_check(const struct cons_path_req *r, char err[CONS_ERRLEN])
{
	int rc = req_addr_check(r, err);
	uint64_t min_burst = r->max_pkt_bytes ? r->max_pkt_bytes : CONS_FRAME_MIN_BYTES;

	rc = rc ? rc : range("path.rate_bps", r->rate_bps, CONS_RATE_MIN_BPS, CONS_RATE_MAX_BPS,
			     err);
	rc = rc ? rc : range("path.deadline_ns", r->deadline_ns, CONS_DEADLINE_MIN_NS,
			     CONS_DEADLINE_MAX_NS, err);
	if (rc == 0 && r->max_pkt_bytes != 0)
		rc = range("path.max_pkt_bytes (0 = the host's frame size)", r->max_pkt_bytes,
			   CONS_FRAME_MIN_BYTES, CONS_FRAME_MAX_BYTES, err);
	if (rc == 0 && r->burst_bytes != 0)
		rc = range("path.burst_bytes (0 = one max packet; at least max_pkt_bytes)",
			   r->burst_bytes, min_burst, CONS_BURST_MAX_BYTES, err);
	rc = rc ? rc : range("path.policy.max_level", r->policy.max_level, 0,
			     SCHED_ESCALATION_MAX, err);
	rc = rc ? rc : cons__name_check("path.owner", r->owner, sizeof(r->owner), true, err);
	return rc;
}

int cons__cmd_check(const struct cons_cmd *cmd, char err[CONS_ERRLEN])
{
	switch (cmd->op) {
	case CONS_OP_HOST_ADD:
		return cons__host_check(&cmd->u.host, err);
	case CONS_OP_LINK_SET:
		return cons__link_check(&cmd->u.link, err);
	case CONS_OP_LINK_REMOVE:
		return link_names_check(cmd->u.link.a, cmd->u.link.b, err);
	case CONS_OP_VM_SET:
		return cons__vm_check(&cmd->u.vm, err);
	case CONS_OP_VM_REMOVE:
		return cons__name_check("vm.uuid", cmd->u.vm.uuid, sizeof(cmd->u.vm.uuid), false,
					err);
	case CONS_OP_PATH_RESERVE:
		return cons__req_check(&cmd->u.path, err);
	case CONS_OP_PATH_ESCALATE:
		if (cmd->u.ref.level > SCHED_ESCALATION_MAX)
			return range("level", cmd->u.ref.level, 0, SCHED_ESCALATION_MAX, err);
		/* fall through */
	case CONS_OP_HOST_REMOVE:
	case CONS_OP_PATH_RELEASE:
		return range("id", cmd->u.ref.id, 1, UINT64_MAX, err);
	case CONS_OP_VM_MIGRATE:
		return cons__mig_check_req(&cmd->u.mig, err);
	case CONS_OP_NOOP:
		return 0;
	}
	cons__err(err, "unknown operation %d", (int)cmd->op);
	return -EINVAL;
}

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */

static size_t op_fields(enum cons_op op)
{
	switch (op) {
	case CONS_OP_LINK_REMOVE:
	case CONS_OP_PATH_ESCALATE:
		return 2;
	case CONS_OP_NOOP:
		return 0;
	default:
		return 1;
	}
}

static int pack_args(msgpack_packer *pk, const struct cons_cmd *cmd)
{
	switch (cmd->op) {
	case CONS_OP_HOST_ADD:
		return rtv_pk_str(pk, "host") | cons_pack_host(pk, &cmd->u.host);
	case CONS_OP_LINK_SET:
		return rtv_pk_str(pk, "link") | cons_pack_link(pk, &cmd->u.link);
	case CONS_OP_LINK_REMOVE:
		return rtv_pk_kv_str(pk, "a", cmd->u.link.a) |
		       rtv_pk_kv_str(pk, "b", cmd->u.link.b);
	case CONS_OP_VM_SET:
		return rtv_pk_str(pk, "vm") | cons_pack_vm(pk, &cmd->u.vm);
	case CONS_OP_VM_REMOVE:
		return rtv_pk_kv_str(pk, "uuid", cmd->u.vm.uuid);
	case CONS_OP_PATH_RESERVE:
		return rtv_pk_str(pk, "path") | cons__pack_req(pk, &cmd->u.path);
	case CONS_OP_PATH_ESCALATE:
		return rtv_pk_kv_u64(pk, "id", cmd->u.ref.id) |
		       rtv_pk_kv_u64(pk, "level", cmd->u.ref.level);
	case CONS_OP_HOST_REMOVE:
	case CONS_OP_PATH_RELEASE:
		return rtv_pk_kv_u64(pk, "id", cmd->u.ref.id);
	case CONS_OP_VM_MIGRATE:
		return rtv_pk_str(pk, "mig") | msgpack_pack_map(pk, 3) |
		       rtv_pk_kv_str(pk, "uuid", cmd->u.mig.uuid) |
		       rtv_pk_kv_str(pk, "phase", cons_mig_phase_name(cmd->u.mig.phase)) |
		       rtv_pk_kv_u64(pk, "to", cmd->u.mig.to_host);
	case CONS_OP_NOOP:
		break;
	}
	return 0;
}

int cons_cmd_encode(const struct cons_cmd *cmd, void **buf, size_t *len, char err[CONS_ERRLEN])
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc = cons__cmd_check(cmd, err);

	if (rc != 0)
		return rc;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = msgpack_pack_map(&pk, 4 + op_fields(cmd->op));
	rc |= rtv_pk_kv_u64(&pk, "v", CONS_FORMAT_VERSION);
	rc |= rtv_pk_kv_str(&pk, "op", cons_op_name(cmd->op));
	rc |= rtv_pk_kv_u64(&pk, "cid", cmd->client_id);
	rc |= rtv_pk_kv_u64(&pk, "seq", cmd->seq);
	rc |= pack_args(&pk, cmd);
	if (rtv_mp_status(rc) != 0) {
		msgpack_sbuffer_destroy(&sb);
		cons__err(err, "out of memory encoding %s", cons_op_name(cmd->op));
		return -ENOMEM;
	}
	*buf = sb.data;	/* malloc'd by the sbuffer: the caller free()s it */
	*len = sb.size;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */

static int get_sub(const msgpack_object *map, const char *key, const msgpack_object **out,
		   char err[CONS_ERRLEN])
{
	*out = cons__map_get(map, key);
	if (*out == NULL) {
		cons__err(err, "command: field \"%s\" is missing", key);
		return -EPROTO;
	}
	return 0;
}

static int unpack_mig(const msgpack_object *o, struct cons_mig_req *m, char err[CONS_ERRLEN])
{
	const char *ctx = "vm_migrate.mig";
	char phase[16];
	int rc = cons__map_open(o, ctx, err);

	rc = rc ? rc : cons__get_str(o, ctx, "uuid", m->uuid, sizeof(m->uuid), err);
	rc = rc ? rc : cons__get_str(o, ctx, "phase", phase, sizeof(phase), err);
	rc = rc ? rc : cons__get_u64(o, ctx, "to", UINT64_MAX, &m->to_host, err);
	if (rc != 0)
		return rc;
	for (int p = CONS_MIG_PREPARE; p <= CONS_MIG_ABORT; p++)
		if (strcmp(phase, cons_mig_phase_name((enum cons_mig_phase)p)) == 0)
			m->phase = (enum cons_mig_phase)p;
	if (m->phase == 0) {
		cons__err(err, "%s.phase \"%s\": want prepare, commit or abort", ctx, phase);
		return -EPROTO;
	}
	return 0;
}

static int unpack_args(const msgpack_object *o, struct cons_cmd *cmd, char err[CONS_ERRLEN])
{
	const char *ctx = cons_op_name(cmd->op);
	const msgpack_object *sub = NULL;
	uint64_t level = 0;
	int rc;

	switch (cmd->op) {
	case CONS_OP_HOST_ADD:
		rc = get_sub(o, "host", &sub, err);
		return rc ? rc : cons_unpack_host(sub, &cmd->u.host, err);
	case CONS_OP_LINK_SET:
		rc = get_sub(o, "link", &sub, err);
		return rc ? rc : cons_unpack_link(sub, &cmd->u.link, err);
	case CONS_OP_LINK_REMOVE:
		rc = cons__get_str(o, ctx, "a", cmd->u.link.a, sizeof(cmd->u.link.a), err);
		return rc ? rc : cons__get_str(o, ctx, "b", cmd->u.link.b, sizeof(cmd->u.link.b), err);
	case CONS_OP_VM_SET:
		rc = get_sub(o, "vm", &sub, err);
		return rc ? rc : cons_unpack_vm(sub, &cmd->u.vm, err);
	case CONS_OP_VM_REMOVE:
		return cons__get_str(o, ctx, "uuid", cmd->u.vm.uuid, sizeof(cmd->u.vm.uuid), err);
	case CONS_OP_PATH_RESERVE:
		rc = get_sub(o, "path", &sub, err);
		return rc ? rc : cons__unpack_req(sub, "path_reserve.path", &cmd->u.path, err);
	case CONS_OP_PATH_ESCALATE:
		rc = cons__get_u64(o, ctx, "level", UINT8_MAX, &level, err);
		cmd->u.ref.level = (uint8_t)level;
		return rc ? rc : cons__get_u64(o, ctx, "id", UINT64_MAX, &cmd->u.ref.id, err);
	case CONS_OP_HOST_REMOVE:
	case CONS_OP_PATH_RELEASE:
		return cons__get_u64(o, ctx, "id", UINT64_MAX, &cmd->u.ref.id, err);
	case CONS_OP_VM_MIGRATE:
		rc = get_sub(o, "mig", &sub, err);
		return rc ? rc : unpack_mig(sub, &cmd->u.mig, err);
	case CONS_OP_NOOP:
		break;
	}
	return 0;
}

static int decode_obj(const msgpack_object *o, struct cons_cmd *cmd, char err[CONS_ERRLEN])
{
	char op[24];
	uint64_t v = 0;
	int rc;

	rc = cons__map_open(o, "command", err);
	rc = rc ? rc : cons__get_u64(o, "command", "v", UINT64_MAX, &v, err);
	if (rc == 0 && v != CONS_FORMAT_VERSION) {
		cons__err(err, "command format version %llu; this build reads version %d: "
			  "upgrade rtvd/rtvctl to matching versions", (unsigned long long)v,
			  CONS_FORMAT_VERSION);
		return -EPROTO;
	}
	rc = rc ? rc : cons__get_str(o, "command", "op", op, sizeof(op), err);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < N_OPS; i++)
		if (op_names[i] != NULL && strcmp(op, op_names[i]) == 0)
			cmd->op = (enum cons_op)i;
	if (cmd->op == 0) {
		cons__err(err, "command: unknown op \"%s\"", op);
		return -EPROTO;
	}
	rc = cons__get_u64(o, "command", "cid", UINT64_MAX, &cmd->client_id, err);
	rc = rc ? rc : cons__get_u64(o, "command", "seq", UINT64_MAX, &cmd->seq, err);
	rc = rc ? rc : unpack_args(o, cmd, err);
	return rc ? rc : cons__cmd_check(cmd, err);
}

int cons_cmd_decode(const void *buf, size_t len, struct cons_cmd *cmd, char err[CONS_ERRLEN])
{
	msgpack_zone zone;
	msgpack_object obj;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	if (!msgpack_zone_init(&zone, 2048)) {
		cons__err(err, "out of memory decoding a command");
		return -ENOMEM;
	}
	rc = cons__mp_parse(buf, len, &zone, &obj, err);
	if (rc == 0)
		rc = decode_obj(&obj, cmd, err);
	msgpack_zone_destroy(&zone);
	if (rc != 0)
		memset(cmd, 0, sizeof(*cmd));
	return rc;
}
