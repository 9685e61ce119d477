/* snapshot.c — the whole state as a sequence of msgpack objects, and back.
 *
 *   {"v": 1, "applied": uint, "next_path_id": uint,
 *    "hosts": n, "links": n, "vms": n, "paths": n, "clients": n[, "migs": n]}
 *   then n host maps, n link maps, n VM maps, n rtpath maps (each with
 *   "route": [node name, ...]), the migrations in progress (mig.c; "migs"
 *   only when there are some, so older snapshots read the same),
 *   n [cid, seq, index, id, status, err].
 *
 * A sequence rather than one map so that restore parses one record at a
 * time into a zone it clears in between: msgpack-c builds 24 bytes of
 * object per element, which for one map of 10,000 rtpaths would cost
 * several times the snapshot's size at once, on top of two states.
 *
 * Records come in key order (host id, link (a, b), VM uuid, path id, client
 * id), so equal states give equal bytes and cons_state_equal can compare
 * snapshots. Links are switch links only: host uplinks follow from the
 * hosts. Derived data (reserved sums, sender lists) is not trusted from the
 * bytes: restore rebuilds it.
 *
 * Restore builds a fresh state through the same code as apply (host_add,
 * link_set, vm_set, so the same validation), re-attaches each rtpath to its
 * pinned route, then runs cons_state_check (budgets, EDF on every sender's
 * uplink, recounts) on the result. Only a state that passes replaces the
 * caller's.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Writing                                                                   */

static int pack_route(msgpack_packer *pk, const struct cons__path *p)
{
	int rc = rtv_pk_str(pk, "route") | msgpack_pack_array(pk, p->n_hops + 1);

	rc |= rtv_pk_str(pk, p->src->pub.name);
	for (uint32_t i = 0; i < p->n_hops; i++)
		rc |= rtv_pk_str(pk, cons__hop_to(&p->hops[i]));
	return rc;
}

static int client_cmp(const void *x, const void *y)
{
	uint64_t a = (*(struct cons__client *const *)x)->cid;
	uint64_t b = (*(struct cons__client *const *)y)->cid;

	return a < b ? -1 : a > b;
}

static int pack_clients(msgpack_packer *pk, const struct cons__dedup *d)
{
	struct cons__client **v = malloc((d->n + 1) * sizeof(*v));
	size_t n = 0;
	int rc = 0;

	if (v == NULL)
		return -1;
	for (struct cons__client *c = d->oldest; c != NULL; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof(*v), client_cmp);
	for (size_t i = 0; i < n; i++) {
		rc |= msgpack_pack_array(pk, 6);
		rc |= msgpack_pack_uint64(pk, v[i]->cid);
		rc |= msgpack_pack_uint64(pk, v[i]->seq);
		rc |= msgpack_pack_uint64(pk, v[i]->index);
		rc |= msgpack_pack_uint64(pk, v[i]->id);
		rc |= msgpack_pack_int64(pk, v[i]->status);
		rc |= rtv_pk_str(pk, v[i]->err != NULL ? v[i]->err : "");
	}
	free(v);
	return rc;
}

static size_t n_switch_links(const struct cons_state *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->links.n; i++)
		n += ((const struct cons__link *)s->links.v[i])->host == NULL;
	return n;
}

static int pack_header(msgpack_packer *pk, const struct cons_state *s)
{
	int rc = msgpack_pack_map(pk, 8 + (s->migs.n > 0));

	rc |= rtv_pk_kv_u64(pk, "v", CONS_FORMAT_VERSION);
	rc |= rtv_pk_kv_u64(pk, "applied", s->applied_index);
	rc |= rtv_pk_kv_u64(pk, "next_path_id", s->next_path_id);
	rc |= rtv_pk_kv_u64(pk, "hosts", s->hosts.n);
	rc |= rtv_pk_kv_u64(pk, "links", n_switch_links(s));
	rc |= rtv_pk_kv_u64(pk, "vms", s->vms.n);
	rc |= rtv_pk_kv_u64(pk, "paths", s->paths.n);
	rc |= rtv_pk_kv_u64(pk, "clients", s->dedup.n);
	if (s->migs.n > 0)
		rc |= rtv_pk_kv_u64(pk, "migs", s->migs.n);
	return rc;
}

static int pack_records(msgpack_packer *pk, const struct cons_state *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->hosts.n; i++)
		rc |= cons_pack_host(pk, cons_state_host_at(s, i));
	for (size_t i = 0; i < s->links.n; i++)
		if (((const struct cons__link *)s->links.v[i])->host == NULL)
			rc |= cons_pack_link(pk, cons_state_link_at(s, i));
	for (size_t i = 0; i < s->vms.n; i++)
		rc |= cons_pack_vm(pk, cons_state_vm_at(s, i));
	for (size_t i = 0; i < s->paths.n; i++) {
		const struct cons__path *p = s->paths.v[i];

		rc |= cons__pack_path_extra(pk, &p->pub, 1) | pack_route(pk, p);
	}
	return rc | cons__mig_pack(pk, s);
}

int cons_state_snapshot(const struct cons_state *s, void **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = pack_header(&pk, s);
	rc |= pack_records(&pk, s);
	rc |= pack_clients(&pk, &s->dedup);
	if (rtv_mp_status(rc) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

bool cons_state_equal(const struct cons_state *a, const struct cons_state *b)
{
	void *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	bool eq = cons_state_snapshot(a, &x, &nx) == 0 && cons_state_snapshot(b, &y, &ny) == 0 &&
		  nx == ny && memcmp(x, y, nx) == 0;

	free(x);
	free(y);
	return eq;
}

/* ------------------------------------------------------------------------- */
/* Reading                                                                   */

/* A restore in progress: the new state, the bytes, the current record. */
struct rd {
	struct cons_state *s;
	char *err;
	struct cons_result res;		/* of the last apply-path operation */
	const uint8_t *buf;
	size_t len, off;
	msgpack_zone zone;		/* cleared before each record */
	msgpack_object obj;
};

/* Parses the next record into r->obj. */
static int next(struct rd *r, const char *what)
{
	size_t used = 0;
	int rc;

	msgpack_zone_clear(&r->zone);
	if (r->off >= r->len) {
		cons__err(r->err, "snapshot: truncated before %s", what);
		return -EPROTO;
	}
	rc = cons__mp_parse_next(r->buf + r->off, r->len - r->off, &used, &r->zone, &r->obj, r->err);
	r->off += used;
	return rc;
}

static struct cons_result *fresh(struct rd *r)
{
	memset(&r->res, 0, sizeof(r->res));
	return &r->res;
}

/* Adopts the answer of an apply-path operation into the restore verdict. */
static int took(struct rd *r, int rc, const char *what)
{
	if (rc == -ENOMEM) {
		cons__err(r->err, "out of memory restoring a snapshot");
		return rc;
	}
	if (r->res.status != 0) {
		cons__err(r->err, "snapshot: %s: %.200s", what, r->res.err);
		return -EINVAL;
	}
	return 0;
}

static int out_of_order(struct rd *r, const char *what, const char *key)
{
	cons__err(r->err, "snapshot: %s %s is out of order or repeated", what, key);
	return -EINVAL;
}

static int restore_hosts(struct rd *r, uint64_t n)
{
	struct cons_host h;
	uint64_t prev = 0;
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		rc = next(r, "a host");
		rc = rc ? rc : cons_unpack_host(&r->obj, &h, r->err);
		if (rc == 0 && h.id <= prev)
			rc = out_of_order(r, "host", h.name);
		rc = rc ? rc : took(r, cons__host_add(r->s, &h, fresh(r)), h.name);
		prev = h.id;
	}
	return rc;
}

static int restore_links(struct rd *r, uint64_t n)
{
	char pa[CONS_NAME_MAX] = "", pb[CONS_NAME_MAX] = "";
	struct cons_link l;
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		rc = next(r, "a link");
		rc = rc ? rc : cons_unpack_link(&r->obj, &l, r->err);
		if (rc == 0 && (strcmp(l.a, l.b) >= 0 || strcmp(l.a, pa) < 0 ||
				(strcmp(l.a, pa) == 0 && strcmp(l.b, pb) <= 0)))
			rc = out_of_order(r, "link from", l.a);
		rc = rc ? rc : took(r, cons__link_set(r->s, &l, fresh(r)), "link");
		memcpy(pa, l.a, sizeof(pa));
		memcpy(pb, l.b, sizeof(pb));
	}
	return rc;
}

static int restore_vms(struct rd *r, uint64_t n)
{
	char prev[CONS_NAME_MAX] = "";
	struct cons_vm vm;
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		rc = next(r, "a VM");
		rc = rc ? rc : cons_unpack_vm(&r->obj, &vm, r->err);
		if (rc == 0 && strcmp(vm.uuid, prev) <= 0)
			rc = out_of_order(r, "vm", vm.uuid);
		rc = rc ? rc : took(r, cons__vm_set(r->s, &vm, fresh(r)), vm.uuid);
		memcpy(prev, vm.uuid, sizeof(prev));
	}
	return rc;
}

/* ------------------------------------------------------------------------- */
/* rtpaths                                                                   */

static int bad_path(struct rd *r, const struct cons_rtpath *p, const char *why)
{
	cons__err(r->err, "snapshot: rtpath %llu: %s", (unsigned long long)p->id, why);
	return -EINVAL;
}

/* The route's node names, checked: from the source host to the
 * destination host, no node twice, consecutive nodes linked. */
static int path_hops(struct rd *r, const msgpack_object *o, struct cons__path *p,
		     struct cons__hop *hops)
{
	char names[CONS__ROUTE_MAX_HOPS + 1][CONS_NAME_MAX];
	const msgpack_object_array *a;
	int rc = cons__get_array(o, "path", "route", CONS__ROUTE_MAX_HOPS + 1, &a, r->err);

	for (uint32_t i = 0; rc == 0 && i < a->size; i++)
		rc = cons__obj_str(&a->ptr[i], "path", "a route node", names[i], CONS_NAME_MAX,
				   r->err);
	if (rc != 0)
		return rc;
	if (a->size == 0 || strcmp(names[0], p->src->pub.name) != 0 ||
	    strcmp(names[a->size - 1], p->dst->pub.name) != 0 || (a->size == 1) != (p->src == p->dst))
		return bad_path(r, &p->pub, "route does not join its source and destination hosts");
	for (uint32_t i = 1; i < a->size; i++) {
		struct cons__link *l = cons__link_find(r->s, names[i - 1], names[i]);

		for (uint32_t j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return bad_path(r, &p->pub, "route visits a node twice");
		if (l == NULL)
			return bad_path(r, &p->pub, "route crosses a link that does not exist");
		hops[i - 1] = (struct cons__hop){ l, strcmp(names[i - 1], l->pub.a) == 0 };
	}
	p->n_hops = a->size - 1;
	return 0;
}

static int path_ends(struct rd *r, struct cons__path *p)
{
	const struct cons_rtpath *q = &p->pub;

	p->src_vm = cons__vm_by_ip(r->s, q->req.src_ip);
	p->dst_vm = cons__vm_by_ip(r->s, q->req.dst_ip);
	if (p->src_vm == NULL || p->dst_vm == NULL)
		return bad_path(r, q, "an endpoint IP belongs to no VM");
	p->src = cons__host_by_id(r->s, p->src_vm->pub.host_id);
	p->dst = cons__host_by_id(r->s, p->dst_vm->pub.host_id);
	if (p->src->pub.id != q->src_host || p->dst->pub.id != q->dst_host)
		return bad_path(r, q, "its hosts are not its VMs' hosts");
	return 0;
}

/* Derived fields as admission would have left them. Only what no later
 * command can change and no version may compute differently is checked
 * exactly (a hop latency default, say, could change between versions: the
 * network budget is checked for sense, not recomputed); safety comes from
 * cons_state_check on the whole result. */
static int path_fields(struct rd *r, const struct cons__path *p)
{
	const struct cons_rtpath *q = &p->pub;
	const struct cons_path_req *rq = &q->req;
	struct cons_rtpath c = *q;

	cons__path_class(&c);
	if (c.tc != q->tc || c.dscp != q->dscp)
		return bad_path(r, q, "class does not match its type and level");
	if (rq->max_pkt_bytes == 0 || rq->burst_bytes == 0 ||
	    rq->max_pkt_bytes > p->src->pub.max_frame_bytes)
		return bad_path(r, q, "max_pkt_bytes or burst_bytes not as admission sets them");
	if ((p->n_hops == 0) != (q->net_budget_ns == 0))
		return bad_path(r, q, "network budget does not match its route");
	if (q->sched_deadline_ns > rq->deadline_ns - q->net_budget_ns ||
	    q->level > rq->policy.max_level || q->service_rate_base_bps < rq->rate_bps ||
	    (rq->type == CONS_PATH_DEADLINE && (q->service_rate_bps != rq->rate_bps ||
						q->service_rate_base_bps != rq->rate_bps)))
		return bad_path(r, q, "scheduler deadline, level or service rate inconsistent");
	if (q->id >= r->s->next_path_id || q->admitted_index > r->s->applied_index)
		return bad_path(r, q, "id or admitted index beyond the snapshot's counters");
	return 0;
}

static int restore_path(struct rd *r, const msgpack_object *o, uint64_t *prev)
{
	struct cons__hop hops[CONS__ROUTE_MAX_HOPS];
	struct cons__path *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL)
		return -ENOMEM;
	rc = cons_unpack_path(o, &p->pub, r->err);
	if (rc == 0 && p->pub.id <= *prev)
		rc = bad_path(r, &p->pub, "out of order or repeated");
	rc = rc ? rc : path_ends(r, p);
	rc = rc ? rc : path_hops(r, o, p, hops);
	p->hops = rc == 0 && p->n_hops > 0 ? malloc(p->n_hops * sizeof(*hops)) : NULL;
	if (rc == 0 && p->n_hops > 0 && p->hops == NULL)
		rc = -ENOMEM;
	if (rc == 0 && p->n_hops > 0)
		memcpy(p->hops, hops, p->n_hops * sizeof(*hops));
	rc = rc ? rc : path_fields(r, p);
	rc = rc ? rc : cons__path_adopt(r->s, p);
	if (rc != 0) {
		cons__path_free(p);
		return rc;
	}
	*prev = p->pub.id;
	return 0;
}

int cons__path_from_snapshot(struct cons_state *s, const msgpack_object *o,
			     struct cons__path *p, char err[CONS_ERRLEN])
{
	struct rd r = { .s = s, .err = err };
	struct cons__hop hops[CONS__ROUTE_MAX_HOPS];
	int rc = path_hops(&r, o, p, hops);

	p->hops = rc == 0 && p->n_hops > 0 ? malloc(p->n_hops * sizeof(*hops)) : NULL;
	if (rc == 0 && p->n_hops > 0 && p->hops == NULL)
		return -ENOMEM;
	if (rc == 0 && p->n_hops > 0)
		memcpy(p->hops, hops, p->n_hops * sizeof(*hops));
	return rc ? rc : path_fields(&r, p);
}

static int next_obj(void *rd, const msgpack_object **o)
{
	struct rd *r = rd;
	int rc = next(r, "a migration's shadow rtpath");

	*o = &r->obj;
	return rc;
}

/* Each record is parsed into a zone of its own: its shadows reuse r's. */
static int restore_migs(struct rd *r, uint64_t n)
{
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		msgpack_zone zone;
		msgpack_object obj;
		size_t used = 0;

		if (r->off >= r->len) {
			cons__err(r->err, "snapshot: truncated before a migration");
			return -EPROTO;
		}
		if (!msgpack_zone_init(&zone, 1024))
			return -ENOMEM;
		rc = cons__mp_parse_next(r->buf + r->off, r->len - r->off, &used, &zone, &obj,
					 r->err);
		r->off += used;
		rc = rc ? rc : cons__mig_restore(r->s, &obj, next_obj, r, r->err);
		msgpack_zone_destroy(&zone);
	}
	if (rc == -ENOMEM)
		cons__err(r->err, "out of memory restoring a snapshot");
	return rc;
}

static int restore_paths(struct rd *r, uint64_t n)
{
	uint64_t prev = 0;
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		rc = next(r, "an rtpath");
		rc = rc ? rc : restore_path(r, &r->obj, &prev);
	}
	if (rc == -ENOMEM)
		cons__err(r->err, "out of memory restoring a snapshot");
	return rc;
}

/* ------------------------------------------------------------------------- */
/* The deduplication table                                                   */

static bool status_ok(int64_t st)
{
	return st == 0 || st == CONS_EREFUSED || (st < 0 && st >= -4095);
}

static bool is_int(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

/* [cid, seq, index, id, status, err] */
static int client_read(struct rd *r, const msgpack_object *o, struct cons__client *c)
{
	const msgpack_object *f = o->via.array.ptr;
	char err[CONS_ERRLEN];
	bool ok = o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 6;
	int64_t st;

	for (int i = 0; ok && i < 4; i++)
		ok = f[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	if (!ok || !is_int(&f[4])) {
		cons__err(r->err, "snapshot: a client entry is not [cid, seq, index, id, status, err]");
		return -EPROTO;
	}
	st = f[4].type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? f[4].via.i64 :
	     f[4].via.u64 <= CONS_EREFUSED ? (int64_t)f[4].via.u64 : INT64_MAX;
	c->cid = f[0].via.u64;
	c->seq = f[1].via.u64;
	c->index = f[2].via.u64;
	c->id = f[3].via.u64;
	if (cons__obj_str(&f[5], "snapshot client", "err", err, sizeof(err), r->err) != 0)
		return -EINVAL;
	if (c->cid == 0 || c->index == 0 || c->index > r->s->applied_index ||
	    !status_ok(st) || (st == 0 && err[0] != '\0')) {
		cons__err(r->err, "snapshot: client %llu: id, index or status out of range",
			  (unsigned long long)c->cid);
		return -EINVAL;
	}
	c->status = (int)st;
	c->err = c->status != 0 ? strdup(err) : NULL;
	return c->status != 0 && c->err == NULL ? -ENOMEM : 0;
}

static int lru_cmp(const void *x, const void *y)
{
	const struct cons__client *a = *(struct cons__client *const *)x;
	const struct cons__client *b = *(struct cons__client *const *)y;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->cid < b->cid ? -1 : a->cid > b->cid;
}

static int restore_clients(struct rd *r, uint64_t count)
{
	struct cons__client **v = calloc(count + 1, sizeof(*v));
	uint64_t n = 0;
	int rc = v == NULL ? -ENOMEM : 0;

	for (uint64_t i = 0; i < count && rc == 0; i++) {
		rc = next(r, "a client");
		v[n] = rc == 0 ? calloc(1, sizeof(**v)) : NULL;
		if (rc == 0)
			rc = v[n] == NULL ? -ENOMEM : client_read(r, &r->obj, v[n]);
		n += v[n] != NULL;
		if (rc == 0 && n > 1 && v[n - 1]->cid <= v[n - 2]->cid)
			rc = out_of_order(r, "client", "entry");
	}
	if (rc == 0)
		qsort(v, n, sizeof(*v), lru_cmp);
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		rc = cons__dedup_reserve(&r->s->dedup);
		if (rc == 0) {
			cons__dedup_push(&r->s->dedup, v[i]);
			v[i] = NULL;
		}
	}
	for (uint64_t i = 0; v != NULL && i < n; i++) {
		if (v[i] != NULL)
			free(v[i]->err);
		free(v[i]);
	}
	free(v);
	if (rc == -ENOMEM)
		cons__err(r->err, "out of memory restoring a snapshot");
	return rc;
}

/* ------------------------------------------------------------------------- */
/* restore                                                                   */

/* The header's record counts; each record takes at least a byte. */
static int restore_header(struct rd *r, uint64_t n[6])
{
	static const char *const keys[5] = { "hosts", "links", "vms", "paths", "clients" };
	const msgpack_object *o = &r->obj;
	const char *ctx = "snapshot";
	uint64_t v = 0;
	int rc = next(r, "its header");

	rc = rc ? rc : cons__map_open(o, ctx, r->err);
	rc = rc ? rc : cons__get_u64(o, ctx, "v", CONS_FORMAT_VERSION, &v, r->err);
	rc = rc ? rc : cons__get_u64(o, ctx, "applied", UINT64_MAX, &r->s->applied_index, r->err);
	rc = rc ? rc : cons__get_u64(o, ctx, "next_path_id", UINT64_MAX, &r->s->next_path_id, r->err);
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = cons__get_u64(o, ctx, keys[i], i == 4 ? CONS_DEDUP_MAX : r->len, &n[i], r->err);
	if (rc == 0 && cons__map_get(o, "migs") != NULL)
		rc = cons__get_u64(o, ctx, "migs", r->len, &n[5], r->err);
	if (rc == 0 && (v != CONS_FORMAT_VERSION || r->s->next_path_id == 0)) {
		cons__err(r->err, "snapshot: version %llu or next_path_id 0 not readable",
			  (unsigned long long)v);
		rc = -EPROTO;
	}
	return rc;
}

static int restore_all(struct rd *r)
{
	uint64_t n[6] = { 0 };
	int rc = restore_header(r, n);

	rc = rc ? rc : restore_hosts(r, n[0]);
	rc = rc ? rc : restore_links(r, n[1]);
	rc = rc ? rc : restore_vms(r, n[2]);
	rc = rc ? rc : restore_paths(r, n[3]);
	rc = rc ? rc : restore_migs(r, n[5]);
	rc = rc ? rc : restore_clients(r, n[4]);
	if (rc == 0 && r->off != r->len) {
		cons__err(r->err, "snapshot: %zu bytes after its last record", r->len - r->off);
		rc = -EPROTO;
	}
	return rc;
}

int cons_state_restore(struct cons_state *s, const void *buf, size_t len, char err[CONS_ERRLEN])
{
	struct rd r = { .err = err, .buf = buf, .len = len };
	struct cons_state swap;
	char why[CONS_ERRLEN];
	int rc;

	if (cons_state_new(&r.s) != 0 || !msgpack_zone_init(&r.zone, 4096)) {
		cons_state_free(r.s);
		cons__err(err, "out of memory restoring a snapshot");
		return -ENOMEM;
	}
	rc = restore_all(&r);
	msgpack_zone_destroy(&r.zone);
	if (rc == 0 && cons_state_check(r.s, why) != 0) {
		cons__err(err, "snapshot fails the state's invariants: %.200s", why);
		rc = -EINVAL;
	}
	if (rc == 0) {
		swap = *s;
		*s = *r.s;
		*r.s = swap;
	}
	cons_state_free(r.s);
	return rc;
}
