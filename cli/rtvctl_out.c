/* rtvctl_out.c — tables and JSON.
 *
 * JSON output is the reply map itself, converted value by value, so scripts
 * see every field rtvd sends (raw integers: bit/s, ns, bytes, ppm) and new
 * fields appear without a new rtvctl. Tables decode the records with
 * consensus/'s codec and print human units ("2 Mbit/s", "5 ms"), columns
 * aligned like `etcdctl -w table` without the box drawing.
 */
#include "cli/rtvctl_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/units.h"

#define TABLE_COLS_MAX 20

struct table {
	size_t n_cols, n_rows, cap;
	char **cells;		/* n_rows × n_cols, row 0 is the header */
};

static void table_init(struct table *t, size_t n_cols)
{
	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols;
}

/* Appends a row of n_cols strings (copied). Out of memory: the row is
 * dropped, the table stays printable. */
static void table_row(struct table *t, ...)
{
	va_list ap;
	char **cells;

	if (t->n_rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		cells = realloc(t->cells, cap * t->n_cols * sizeof(*cells));
		if (!cells)
			return;
		t->cells = cells;
		t->cap = cap;
	}
	cells = t->cells + t->n_rows * t->n_cols;
	va_start(ap, t);
	for (size_t i = 0; i < t->n_cols; i++) {
		const char *s = va_arg(ap, const char *);
		cells[i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->n_rows++;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* Prints and frees the table. */
static void table_print(FILE *f, struct table *t)
{
	size_t w[TABLE_COLS_MAX] = { 0 };

	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];
			size_t len = s ? strlen(s) : 0;
			w[c] = len > w[c] ? len : w[c];
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];
			if (c + 1 == t->n_cols)
				fprintf(f, "%s\n", s ? s : "");
			else
				fprintf(f, "%-*s  ", (int)w[c], s ? s : "");
		}
	}
	table_free(t);
}

/* ------------------------------------------------------------------------- */
/* JSON                                                                       */

static json_t *hex_string(const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *s = malloc(len * 2 + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[len * 2] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

static json_t *json_map(const msgpack_object *o)
{
	json_t *obj = json_object();

	for (uint32_t i = 0; obj && i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		json_t *v = rtvctl_json_from_msgpack(&o->via.map.ptr[i].val);
		char key[256];
		if (k->type == MSGPACK_OBJECT_STR)
			snprintf(key, sizeof(key), "%.*s", (int)k->via.str.size, k->via.str.ptr);
		else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			snprintf(key, sizeof(key), "%llu", (unsigned long long)k->via.u64);
		else
			snprintf(key, sizeof(key), "key%u", (unsigned)i);
		if (!v || json_object_set_new(obj, key, v) != 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

json_t *rtvctl_json_from_msgpack(const msgpack_object *o)
{
	json_t *j;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return json_null();
	case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return o->via.u64 <= (uint64_t)INT64_MAX ? json_integer((json_int_t)o->via.u64)
							 : json_real((double)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
	case MSGPACK_OBJECT_STR:
		j = json_stringn(o->via.str.ptr, o->via.str.size);
		return j ? j : hex_string(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN: return hex_string(o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY:
		j = json_array();
		for (uint32_t i = 0; j && i < o->via.array.size; i++) {
			json_t *v = rtvctl_json_from_msgpack(&o->via.array.ptr[i]);
			if (!v || json_array_append_new(j, v) != 0) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case MSGPACK_OBJECT_MAP: return json_map(o);
	default: return json_null();	/* ext: not produced by rtvd */
	}
}

static void print_json(FILE *f, json_t *j)
{
	if (!j) {
		fputs("{\"error\": \"out of memory\"}\n", f);
		return;
	}
	json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(j);
}

void rtvctl_print_json_error(FILE *f, int status, const char *msg, int exit_code)
{
	print_json(f, json_pack("{s:i, s:s, s:s, s:i}", "status", status, "status_name",
				agent_client_status_name(status), "error", msg, "exit", exit_code));
}

/* ------------------------------------------------------------------------- */
/* Tables                                                                     */

static const char *ip_str(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(ip) };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *u64_str(uint64_t v, char buf[24])
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

static const msgpack_object *reply_array(const struct agent_client_reply *rep, const char *key,
					 char *err, size_t errlen)
{
	const msgpack_object *a = agent_client_reply_get(rep, key);

	if (!a || a->type != MSGPACK_OBJECT_ARRAY) {
		snprintf(err, errlen, "rtvd's reply has no \"%s\" list (is rtvd the same version?)", key);
		return NULL;
	}
	return a;
}

static void stale_note(FILE *f, const struct agent_client_reply *rep)
{
	if (rep->stale)
		fprintf(f, "(stale: node %llu's copy at index %llu; --linearizable asks the leader)\n",
			(unsigned long long)rep->node, (unsigned long long)rep->index);
}

static const char *proto_name(uint8_t proto)
{
	return proto == 17 ? "udp" : proto == 6 ? "tcp" : proto == 0 ? "any" : "?";
}

/* The answering host's dataplane figures for a path ("stats" in the path
 * map, rpc/proto.h), as table cells; "-" where it has none. */
static const char *map_u64_str(const msgpack_object *m, const char *key, char buf[24]);

struct path_cells {
	char side[12], pkts[24], misses[24], delay[3 * RTV_FMT_LEN + 4];
	uint64_t boost;
};

static void stats_cells(const msgpack_object *path, struct path_cells *c)
{
	const msgpack_object *st = agent_client_map_get(path, "stats");
	char p50[RTV_FMT_LEN], p99[RTV_FMT_LEN], max[RTV_FMT_LEN];
	uint64_t v50 = 0, v99 = 0, vmax = 0, count = 0;

	memset(c, 0, sizeof(*c));
	strcpy(c->side, "-");
	strcpy(c->pkts, "-");
	strcpy(c->misses, "-");
	strcpy(c->delay, "-");
	if (!st || st->type != MSGPACK_OBJECT_MAP)
		return;
	(void)agent_client_map_str(st, "side", c->side, sizeof(c->side));
	(void)map_u64_str(st, "packets", c->pkts);
	(void)map_u64_str(st, "misses", c->misses);
	(void)agent_client_map_uint(st, "boost", &c->boost);
	if (agent_client_map_uint(st, "delay_count", &count) != 0 || count == 0)
		return;
	(void)agent_client_map_uint(st, "delay_p50_ns", &v50);
	(void)agent_client_map_uint(st, "delay_p99_ns", &v99);
	(void)agent_client_map_uint(st, "delay_max_ns", &vmax);
	snprintf(c->delay, sizeof(c->delay), "%s/%s/%s", rtv_fmt_duration(p50, sizeof(p50), v50),
		 rtv_fmt_duration(p99, sizeof(p99), v99), rtv_fmt_duration(max, sizeof(max), vmax));
}

static void path_row(struct table *t, const struct cons_rtpath *p, const struct path_cells *c)
{
	char id[24], src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], port[8], rate[RTV_FMT_LEN];
	char dl[RTV_FMT_LEN], burst[RTV_FMT_LEN], r[RTV_FMT_LEN], lvl[32], hosts[48];

	snprintf(port, sizeof(port), "%u", p->req.dport);
	if (c->boost)
		snprintf(lvl, sizeof(lvl), "%u+%llu", p->level, (unsigned long long)c->boost);
	else
		snprintf(lvl, sizeof(lvl), "%u", p->level);
	snprintf(hosts, sizeof(hosts), "%llu->%llu", (unsigned long long)p->src_host,
		 (unsigned long long)p->dst_host);
	if (p->req.type == CONS_PATH_RESERVATION)
		rtv_fmt_rate(r, sizeof(r), p->service_rate_bps);
	else
		snprintf(r, sizeof(r), "-");
	table_row(t, u64_str(p->id, id), ip_str(p->req.src_ip, src), ip_str(p->req.dst_ip, dst),
		  proto_name(p->req.proto), p->req.dport ? port : "any",
		  p->req.type == CONS_PATH_RESERVATION ? "reservation" : "deadline",
		  rtv_fmt_rate(rate, sizeof(rate), p->req.rate_bps),
		  rtv_fmt_duration(dl, sizeof(dl), p->req.deadline_ns),
		  rtv_fmt_bytes(burst, sizeof(burst), p->req.burst_bytes), r, lvl, hosts,
		  p->req.owner, c->side, c->pkts, c->misses, c->delay);
}

static int print_paths(FILE *f, const struct agent_client_reply *rep, char *err, size_t errlen)
{
	const msgpack_object *a = reply_array(rep, "paths", err, errlen);
	bool any_stats = false;
	struct table t;

	if (!a)
		return -EPROTO;
	table_init(&t, 17);
	table_row(&t, "ID", "SRC", "DST", "PROTO", "DPORT", "TYPE", "RATE", "DEADLINE", "BURST",
		  "R", "LEVEL", "HOSTS", "OWNER", "SIDE", "PKTS", "MISSES", "DELAY P50/P99/MAX");
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		struct path_cells c;
		struct cons_rtpath p;
		char why[CONS_ERRLEN];
		if (cons_unpack_path(&a->via.array.ptr[i], &p, why) != 0) {
			snprintf(err, errlen, "rtvd sent an rtpath rtvctl cannot read: %s", why);
			table_free(&t);
			return -EPROTO;
		}
		stats_cells(&a->via.array.ptr[i], &c);
		any_stats |= strcmp(c.side, "-") != 0;
		path_row(&t, &p, &c);
	}
	table_print(f, &t);
	stale_note(f, rep);
	if (any_stats)
		fprintf(f, "(LEVEL: committed[+local boost]; SIDE, PKTS, MISSES, DELAY: node %llu's "
			"dataplane, for the rtpaths it sends or receives)\n",
			(unsigned long long)rep->node);
	return 0;
}

/* Decodes each element of reply[key] with `unpack` into a record of `size`
 * bytes and hands it to `row`. */
typedef int (*unpack_fn)(const void *obj, void *rec, char err[CONS_ERRLEN]);

static int rows_from(struct table *t, const struct agent_client_reply *rep, const char *key,
		     unpack_fn unpack, void *rec, void (*row)(struct table *, const void *),
		     char *err, size_t errlen)
{
	const msgpack_object *a = reply_array(rep, key, err, errlen);

	if (!a) {
		table_free(t);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		char why[CONS_ERRLEN];
		if (unpack(&a->via.array.ptr[i], rec, why) != 0) {
			snprintf(err, errlen, "rtvd sent a %s record rtvctl cannot read: %s", key, why);
			table_free(t);
			return -EPROTO;
		}
		row(t, rec);
	}
	return 0;
}

static int unpack_host(const void *obj, void *rec, char err[CONS_ERRLEN])
{
	return cons_unpack_host(obj, rec, err);
}

static int unpack_link(const void *obj, void *rec, char err[CONS_ERRLEN])
{
	return cons_unpack_link(obj, rec, err);
}

static int unpack_vm(const void *obj, void *rec, char err[CONS_ERRLEN])
{
	return cons_unpack_vm(obj, rec, err);
}

static void host_row(struct table *t, const void *rec)
{
	const struct cons_host *h = rec;
	char id[24], up[RTV_FMT_LEN], budget[RTV_FMT_LEN], frame[RTV_FMT_LEN];

	table_row(t, u64_str(h->id, id), h->name, h->raft_addr, h->rpc_addr,
		  rtv_fmt_rate(up, sizeof(up), h->uplink_bps),
		  rtv_fmt_ppm(budget, sizeof(budget), h->rt_budget_ppm),
		  rtv_fmt_bytes(frame, sizeof(frame), h->max_frame_bytes), h->uplink_to,
		  cons_host_role_names[h->role == CONS_HOST_STANDBY]);
}

/* "4 Mbit/s of 5 Gbit/s (0.08%)": what is reserved against the RT budget. */
static const char *reserved_str(uint64_t reserved, uint64_t cap, uint32_t budget_ppm,
				char *buf, size_t n)
{
	char r[RTV_FMT_LEN], b[RTV_FMT_LEN], pct[RTV_FMT_LEN];
	uint64_t budget_bps = (uint64_t)((unsigned __int128)cap * budget_ppm / RTV_PPM_ONE);
	uint32_t used_ppm = budget_bps ? (uint32_t)((unsigned __int128)reserved * RTV_PPM_ONE /
						    budget_bps) : 0;

	snprintf(buf, n, "%s of %s (%s)", rtv_fmt_rate(r, sizeof(r), reserved),
		 rtv_fmt_rate(b, sizeof(b), budget_bps),
		 rtv_fmt_ppm(pct, sizeof(pct), used_ppm > RTV_PPM_ONE ? RTV_PPM_ONE : used_ppm));
	return buf;
}

static void link_row(struct table *t, const void *rec)
{
	const struct cons_link *l = rec;
	char cab[RTV_FMT_LEN], cba[RTV_FMT_LEN], budget[RTV_FMT_LEN], hop[RTV_FMT_LEN];
	char rab[96], rba[96];

	table_row(t, l->a, l->b, rtv_fmt_rate(cab, sizeof(cab), l->capacity_ab_bps),
		  rtv_fmt_rate(cba, sizeof(cba), l->capacity_ba_bps),
		  rtv_fmt_ppm(budget, sizeof(budget), l->rt_budget_ppm),
		  reserved_str(l->reserved_ab_bps, l->capacity_ab_bps, l->rt_budget_ppm, rab, sizeof(rab)),
		  reserved_str(l->reserved_ba_bps, l->capacity_ba_bps, l->rt_budget_ppm, rba, sizeof(rba)),
		  rtv_fmt_duration(hop, sizeof(hop), l->hop_latency_ns));
}

static void vm_row(struct table *t, const void *rec)
{
	const struct cons_vm *vm = rec;
	char host[24], mtu[24], ips[CONS_VM_IPS_MAX * 17] = "", macs[CONS_VM_MACS_MAX * 19] = "";
	char ip[INET_ADDRSTRLEN];
	size_t off = 0;

	for (uint8_t i = 0; i < vm->n_ips; i++)
		off += (size_t)snprintf(ips + off, sizeof(ips) - off, "%s%s", i ? "," : "",
					ip_str(vm->ips[i], ip));
	off = 0;
	for (uint8_t i = 0; i < vm->n_macs; i++) {
		const uint8_t *m = vm->macs[i];
		off += (size_t)snprintf(macs + off, sizeof(macs) - off,
					"%s%02x:%02x:%02x:%02x:%02x:%02x", i ? "," : "",
					m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	table_row(t, vm->uuid, vm->name, u64_str(vm->host_id, host), ips, macs, vm->tenant,
		  vm->mtu ? u64_str(vm->mtu, mtu) : "-");
}

static int print_records(FILE *f, enum rtvctl_verb verb, const struct agent_client_reply *rep,
			 char *err, size_t errlen)
{
	union { struct cons_host h; struct cons_link l; struct cons_vm vm; } rec;
	struct table t;
	int rc;

	if (verb == RTVCTL_HOSTS) {
		table_init(&t, 9);
		table_row(&t, "ID", "NAME", "RAFT", "RPC", "UPLINK", "RT-BUDGET", "MAX-FRAME",
			  "UPLINK-TO", "ROLE");
		rc = rows_from(&t, rep, "hosts", unpack_host, &rec.h, host_row, err, errlen);
	} else if (verb == RTVCTL_LINKS) {
		table_init(&t, 8);
		table_row(&t, "A", "B", "CAP A->B", "CAP B->A", "RT-BUDGET", "RESERVED A->B",
			  "RESERVED B->A", "HOP");
		rc = rows_from(&t, rep, "links", unpack_link, &rec.l, link_row, err, errlen);
	} else {
		table_init(&t, 7);
		table_row(&t, "UUID", "NAME", "HOST", "IPS", "MACS", "TENANT", "MTU");
		rc = rows_from(&t, rep, "vms", unpack_vm, &rec.vm, vm_row, err, errlen);
	}
	if (rc)
		return rc;
	table_print(f, &t);
	stale_note(f, rep);
	return 0;
}

static const char *map_u64_str(const msgpack_object *m, const char *key, char buf[24])
{
	uint64_t v;

	if (agent_client_map_uint(m, key, &v) != 0)
		return "-";
	return u64_str(v, buf);
}

static void peer_row(struct table *t, const msgpack_object *p, bool on_leader)
{
	char id[24], match[24], lag[24], addr[CONS_ADDR_MAX] = "-";
	bool voter = false, standby = false;

	(void)agent_client_map_str(p, "addr", addr, sizeof(addr));
	(void)agent_client_map_bool(p, "voter", &voter);
	(void)agent_client_map_bool(p, "standby", &standby);
	table_row(t, map_u64_str(p, "id", id), addr,
		  voter ? "voter" : standby ? "standby" : "spare",
		  on_leader ? map_u64_str(p, "match", match) : "-",
		  on_leader ? map_u64_str(p, "lag", lag) : "-");
}

/* The status reply's "dataplane" map (rpc/proto.h), when rtvd runs one. */
static void print_dataplane(FILE *f, const msgpack_object *m)
{
	static const char *const keys[] = {
		"paths_sent", "paths_received", "reports_sent", "reports_received",
		"reports_applied", "reports_rejected", "dgrams_bad", "boosts_raised",
		"boosts_lowered", "escalations_proposed", "escalations_committed",
		"escalations_refused", "escalations_failed",
	};
	char dev_in[24] = "?", dev_up[24] = "?", v[13][24], mode[16] = "";
	bool running = false;

	if (!m || m->type != MSGPACK_OBJECT_MAP)
		return;
	(void)agent_client_map_str(m, "int_dev", dev_in, sizeof(dev_in));
	(void)agent_client_map_str(m, "uplink_dev", dev_up, sizeof(dev_up));
	(void)agent_client_map_bool(m, "running", &running);
	(void)agent_client_map_str(m, "rtvdp", mode, sizeof(mode));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		map_u64_str(m, keys[i], v[i]);
	fprintf(f, "\ndataplane: %s <-> %s, %s; rtpaths %s sent, %s received\n"
		"miss reports: %s sent; %s received, %s applied, %s rejected, %s bad datagrams\n"
		"local boosts: %s raised, %s lowered; escalations: %s proposed, %s committed, "
		"%s refused, %s failed\n", dev_in, dev_up,
		!strcmp(mode, "degraded") ? "DEGRADED (rtvdp gone: plain forwarding, no deadlines)"
		: !strcmp(mode, "down") ? "rtvdp not reachable (it forwards on with its last table)"
		: running ? "running" : "stopped",
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
}

static void gossip_row(struct table *t, const msgpack_object *g)
{
	char name[CONS_NAME_MAX] = "?", state[16] = "?", version[32] = "-", inc[24], heard[32] = "never";
	char cpu[RTV_FMT_LEN] = "-", mem[RTV_FMT_LEN] = "-";
	uint64_t v, total = 0;
	int64_t ms;

	(void)agent_client_map_str(g, "name", name, sizeof(name));
	(void)agent_client_map_str(g, "state", state, sizeof(state));
	(void)agent_client_map_str(g, "version", version, sizeof(version));
	if (agent_client_map_int(g, "last_heard_ms", &ms) == 0 && ms >= 0)
		snprintf(heard, sizeof(heard), "%" PRId64 " ms ago", ms);
	if (agent_client_map_uint(g, "cpu_ppm", &v) == 0 && v <= RTV_PPM_ONE)
		rtv_fmt_ppm(cpu, sizeof(cpu), (uint32_t)v);
	if (agent_client_map_uint(g, "mem_total_bytes", &total) == 0 && total &&
	    agent_client_map_uint(g, "mem_avail_bytes", &v) == 0) {
		char a[RTV_FMT_LEN], b[RTV_FMT_LEN];

		snprintf(mem, sizeof(mem), "%s/%s", rtv_fmt_bytes(a, sizeof(a), v),
			 rtv_fmt_bytes(b, sizeof(b), total));
	}
	table_row(t, name, state, map_u64_str(g, "incarnation", inc), heard, cpu, mem, version);
}

/* The status reply's "gossip" map (rpc/proto.h), when rtvd runs gossip:
 * this agent's view of the rack's members. */
static void print_gossip(FILE *f, const msgpack_object *m)
{
	const msgpack_object *members = NULL;
	char health[24];
	struct table t;

	if (!m || m->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (m->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR &&
		    m->via.map.ptr[i].key.via.str.size == 7 &&
		    memcmp(m->via.map.ptr[i].key.via.str.ptr, "members", 7) == 0)
			members = &m->via.map.ptr[i].val;
	fprintf(f, "\ngossip: this agent's view (local health %s; 0 is healthy)\n",
		map_u64_str(m, "health", health));
	if (!members || members->type != MSGPACK_OBJECT_ARRAY)
		return;
	table_init(&t, 7);
	table_row(&t, "MEMBER", "STATE", "INC", "LAST-HEARD", "CPU", "MEM-FREE", "VERSION");
	for (uint32_t i = 0; i < members->via.array.size; i++)
		gossip_row(&t, &members->via.array.ptr[i]);
	table_print(f, &t);
}

static int print_status(FILE *f, const struct agent_client_reply *rep, char *err, size_t errlen)
{
	const msgpack_object *m = rep->map, *peers = agent_client_reply_get(rep, "peers");
	char role[16] = "?", name[CONS_NAME_MAX] = "-", version[32] = "-", leader_addr[CONS_ADDR_MAX] = "";
	char node[24], term[24], leader[24], commit[24], applied[24], last[24], changes[24];
	struct table t;

	if (agent_client_map_str(m, "role", role, sizeof(role)) != 0) {
		snprintf(err, errlen, "rtvd's status reply has no \"role\"");
		return -EPROTO;
	}
	(void)agent_client_map_str(m, "name", name, sizeof(name));
	(void)agent_client_map_str(m, "version", version, sizeof(version));
	(void)agent_client_map_str(m, "leader_addr", leader_addr, sizeof(leader_addr));
	table_init(&t, 10);
	table_row(&t, "NODE", "NAME", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST",
		  "LEADER-CHANGES", "VERSION");
	table_row(&t, u64_str(rep->node, node), name, role, map_u64_str(m, "term", term),
		  map_u64_str(m, "leader", leader), map_u64_str(m, "commit", commit),
		  map_u64_str(m, "applied", applied), map_u64_str(m, "last", last),
		  map_u64_str(m, "leader_changes", changes), version);
	table_print(f, &t);
	if (rep->leader == 0)
		fputs("no leader known: an election is under way, or a majority is unreachable\n", f);
	if (peers && peers->type == MSGPACK_OBJECT_ARRAY) {
		fputc('\n', f);
		table_init(&t, 5);
		table_row(&t, "PEER", "ADDRESS", "ROLE", "MATCH", "LAG");
		for (uint32_t i = 0; i < peers->via.array.size; i++)
			peer_row(&t, &peers->via.array.ptr[i], strcmp(role, "leader") == 0);
		table_print(f, &t);
	}
	print_dataplane(f, agent_client_reply_get(rep, "dataplane"));
	print_gossip(f, agent_client_reply_get(rep, "gossip"));
	rtvctl_members_warn(f, agent_client_reply_get(rep, "gossip"));
	return 0;
}

int rtvctl_print_read(FILE *f, const struct rtvctl_opts *o, const struct agent_client_reply *rep,
		      char *err, size_t errlen)
{
	if (o->verb == RTVCTL_MEMBERS)
		return rtvctl_print_members(f, o, rep, err, errlen);
	if (o->output == RTVCTL_OUT_JSON) {
		print_json(f, rtvctl_json_from_msgpack(rep->map));
		return 0;
	}
	switch (o->verb) {
	case RTVCTL_PATHS: return print_paths(f, rep, err, errlen);
	case RTVCTL_STATUS: return print_status(f, rep, err, errlen);
	default: return print_records(f, o->verb, rep, err, errlen);
	}
}

void rtvctl_print_submit(FILE *f, const struct rtvctl_opts *o,
			 const struct agent_client_submit_result *res)
{
	const struct cons_cmd *c = &o->cmd;

	if (o->output == RTVCTL_OUT_JSON) {
		print_json(f, json_pack("{s:i, s:s, s:I, s:b, s:I, s:I, s:I, s:i}", "status", 0,
					"op", cons_op_name(c->op), "id", (json_int_t)res->id,
					"dup", res->dup, "index", (json_int_t)res->index,
					"node", (json_int_t)res->node, "leader", (json_int_t)res->leader,
					"attempts", (int)res->attempts));
		return;
	}
	switch (c->op) {
	case CONS_OP_PATH_RESERVE:
		fprintf(f, "%llu\n", (unsigned long long)res->id);
		break;
	case CONS_OP_PATH_RELEASE:
		fprintf(f, "released rtpath %llu\n", (unsigned long long)c->u.ref.id);
		break;
	case CONS_OP_VM_SET:
		fprintf(f, "VM %s is on host %llu\n", c->u.vm.uuid, (unsigned long long)c->u.vm.host_id);
		break;
	case CONS_OP_VM_REMOVE:
		fprintf(f, "removed VM %s\n", c->u.vm.uuid);
		break;
	default:
		fprintf(f, "link %s - %s set\n", c->u.link.a, c->u.link.b);
		break;
	}
}

void rtvctl_print_done(FILE *f, const struct rtvctl_opts *o, const struct agent_client_reply *rep)
{
	if (o->output == RTVCTL_OUT_JSON) {
		print_json(f, rtvctl_json_from_msgpack(rep->map));
		return;
	}
	if (o->verb == RTVCTL_MEMBERS_ADD)
		fprintf(f, "node %llu added as %s\n", (unsigned long long)o->id,
			o->voter ? "voter" : "standby");
	else if (o->verb == RTVCTL_MEMBERS_REMOVE)
		fprintf(f, "node %llu removed\n", (unsigned long long)o->id);
	else
		fprintf(f, "leadership transferred%s\n", o->has_id ? "" : " to the most up-to-date voter");
}
