/* mig.c — the live-migration record (CONS_OP_VM_MIGRATE; consensus.h,
 * "Live migration").
 *
 * prepare builds one shadow per rtpath of the VM (cons__path_shadow: the
 * path's request admitted again with the VM's end on the destination host)
 * and links each into the derived sums as soon as it is admitted, so the
 * next shadow is checked against the old routes and the shadows before it.
 * A refusal unlinks what was linked: the state is as before. commit swaps
 * each path onto its shadow's route keeping its id; abort drops the shadows.
 * Everything here is deterministic, like the rest of the state machine.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {
	[CONS_MIG_PREPARE] = "prepare", [CONS_MIG_COMMIT] = "commit", [CONS_MIG_ABORT] = "abort",
};

const char *cons_mig_phase_name(enum cons_mig_phase p)
{
	if (p >= CONS_MIG_PREPARE && p <= CONS_MIG_ABORT)
		return phase_names[p];
	return "unknown";
}

int cons__mig_check_req(const struct cons_mig_req *rq, char err[CONS_ERRLEN])
{
	int rc = cons__name_check("mig.uuid", rq->uuid, sizeof(rq->uuid), false, err);

	if (rc != 0)
		return rc;
	if (rq->phase < CONS_MIG_PREPARE || rq->phase > CONS_MIG_ABORT) {
		cons__err(err, "mig.phase must be prepare, commit or abort");
		return -EINVAL;
	}
	if ((rq->phase == CONS_MIG_PREPARE) != (rq->to_host != 0)) {
		cons__err(err, "mig.to: a host id for prepare, 0 for commit and abort");
		return -EINVAL;
	}
	return 0;
}

static int mig_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cons__mig *)elem)->pub.uuid);
}

static void mig_free(struct cons__mig *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; m->shadow != NULL && i < m->n; i++)
		cons__path_free(m->shadow[i]);
	free(m->shadow);
	free(m->orig);
	free(m);
}

void cons__mig_free_all(struct cons_state *s)
{
	for (size_t i = 0; i < s->migs.n; i++)
		mig_free(s->migs.v[i]);
	cons__vec_free(&s->migs);
}

static bool touches(const struct cons__path *p, const struct cons__vm *vm)
{
	return p->src_vm == vm || p->dst_vm == vm;
}

/* The record with room for every rtpath of vm (n of them, in id order). */
static struct cons__mig *mig_alloc(const struct cons_state *s, struct cons__vm *vm)
{
	struct cons__mig *m = calloc(1, sizeof(*m));
	size_t n = 0;

	for (size_t i = 0; i < s->paths.n; i++)
		n += touches(s->paths.v[i], vm);
	if (m == NULL)
		return NULL;
	m->orig = calloc(n + 1, sizeof(*m->orig));
	m->shadow = calloc(n + 1, sizeof(*m->shadow));
	if (m->orig == NULL || m->shadow == NULL) {
		mig_free(m);
		return NULL;
	}
	for (size_t i = 0; i < s->paths.n; i++)
		if (touches(s->paths.v[i], vm))
			m->orig[m->n++] = s->paths.v[i];
	m->vm = vm;
	return m;
}

/* Shadows of every path, linked one by one; on failure all unlinked. */
static int shadows_admit(struct cons_state *s, struct cons__mig *m, struct cons__host *to,
			 struct cons_result *res)
{
	int rc = 0;
	uint32_t i;

	for (i = 0; i < m->n && rc == 0; i++) {
		const struct cons__path *o = m->orig[i];
		struct cons__host *src = o->src_vm == m->vm ? to : o->src;
		struct cons__host *dst = o->dst_vm == m->vm ? to : o->dst;

		rc = cons__path_shadow(s, o, src, dst, &m->shadow[i], res->err);
		if (rc == 0 && cons__path_link(m->shadow[i]) != 0) {
			cons__path_free(m->shadow[i]);
			m->shadow[i] = NULL;
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		return 0;
	for (uint32_t k = 0; k < m->n && m->shadow[k] != NULL; k++) {
		cons__path_unlink(m->shadow[k]);
		cons__path_free(m->shadow[k]);
		m->shadow[k] = NULL;
	}
	return rc;
}

static int prepare(struct cons_state *s, uint64_t index, const struct cons_mig_req *rq,
		   struct cons_result *res)
{
	struct cons__vm *vm = cons__vm_by_uuid(s, rq->uuid);
	struct cons__host *to = cons__host_by_id(s, rq->to_host);
	struct cons__mig *m;
	size_t pos;
	int rc;

	if (vm == NULL || to == NULL) {
		cons__err(res->err, vm == NULL ? "no VM %s (see rtvctl vms)"
					       : "VM %s: no host with id %llu (see rtvctl hosts)",
			  rq->uuid, (unsigned long long)rq->to_host);
		return cons__answer(res, -ENOENT);
	}
	if (vm->mig != NULL || vm->pub.host_id == rq->to_host) {
		cons__err(res->err, vm->mig != NULL ? "VM %s is already migrating (to host %llu)"
						    : "VM %s already runs on host %llu",
			  rq->uuid, (unsigned long long)(vm->mig ? vm->mig->pub.to_host
								 : rq->to_host));
		return cons__answer(res, vm->mig != NULL ? -EBUSY : -EINVAL);
	}
	m = mig_alloc(s, vm);
	if (m == NULL || cons__vec_reserve(&s->migs, 1) != 0) {
		mig_free(m);
		return -ENOMEM;
	}
	rc = shadows_admit(s, m, to, res);
	if (rc != 0) {
		mig_free(m);
		return rc == -ENOMEM ? rc : cons__answer(res, rc);
	}
	snprintf(m->pub.uuid, sizeof(m->pub.uuid), "%s", rq->uuid);
	m->pub.from_host = vm->pub.host_id;
	m->pub.to_host = rq->to_host;
	m->pub.prepared_index = index;
	m->pub.n_paths = m->n;
	cons__vec_find(&s->migs, m->pub.uuid, mig_cmp, &pos);
	cons__vec_insert(&s->migs, pos, m);
	vm->mig = m;
	return 0;
}

static void mig_remove(struct cons_state *s, struct cons__mig *m)
{
	size_t pos;

	if (cons__vec_find(&s->migs, m->pub.uuid, mig_cmp, &pos))
		cons__vec_remove(&s->migs, pos);
	m->vm->mig = NULL;
	mig_free(m);
}

/* Each path takes its shadow's route, hosts and derived fields; its id,
 * request and admission index stay. */
static void commit(struct cons_state *s, struct cons__mig *m)
{
	struct cons__host *from = cons__host_by_id(s, m->pub.from_host);
	struct cons__host *to = cons__host_by_id(s, m->pub.to_host);

	for (uint32_t i = 0; i < m->n; i++) {
		struct cons__path *p = m->orig[i], *q = m->shadow[i];
		struct cons__hop *hops = p->hops;

		cons__path_unlink(p);
		cons__path_unlink(q);
		p->pub = q->pub;
		p->hops = q->hops;
		p->n_hops = q->n_hops;
		p->src = q->src;
		p->dst = q->dst;
		q->hops = hops;
		/* the sender list had room for q, and p takes its place */
		(void)cons__path_link(p);
	}
	m->vm->pub.host_id = m->pub.to_host;
	from->n_vms--;
	to->n_vms++;
}

int cons__mig_apply(struct cons_state *s, uint64_t index, const struct cons_mig_req *rq,
		    struct cons_result *res)
{
	struct cons__vm *vm;

	if (rq->phase == CONS_MIG_PREPARE)
		return prepare(s, index, rq, res);
	vm = cons__vm_by_uuid(s, rq->uuid);
	if (vm == NULL || vm->mig == NULL) {
		cons__err(res->err, "VM %s has no migration in progress (it may have been "
			  "committed or aborted already)", rq->uuid);
		return cons__answer(res, -ENOENT);
	}
	if (rq->phase == CONS_MIG_COMMIT)
		commit(s, vm->mig);
	else
		for (uint32_t i = 0; i < vm->mig->n; i++)
			cons__path_unlink(vm->mig->shadow[i]);
	mig_remove(s, vm->mig);
	return 0;
}

int cons__mig_busy_vm(const struct cons_state *s, const char *uuid, char err[CONS_ERRLEN])
{
	const struct cons__vm *vm = cons__vm_by_uuid(s, uuid);

	if (vm == NULL || vm->mig == NULL)
		return 0;
	cons__err(err, "VM %s is migrating to host %llu; wait for it to commit or abort "
		  "(rtvctl vms)", uuid, (unsigned long long)vm->mig->pub.to_host);
	return -EBUSY;
}

int cons__mig_busy_ip(const struct cons_state *s, uint32_t ip, char err[CONS_ERRLEN])
{
	const struct cons__vm *vm = cons__vm_by_ip(s, ip);

	return vm == NULL ? 0 : cons__mig_busy_vm(s, vm->pub.uuid, err);
}

/* ------------------------------------------------------------------------- */
/* Reads                                                                     */

size_t cons_state_n_migs(const struct cons_state *s)
{
	return s->migs.n;
}

const struct cons_mig *cons_state_mig_at(const struct cons_state *s, size_t i)
{
	return i < s->migs.n ? &((const struct cons__mig *)s->migs.v[i])->pub : NULL;
}

const struct cons_mig *cons_state_mig(const struct cons_state *s, const char *uuid)
{
	size_t pos;

	if (!cons__vec_find(&s->migs, uuid, mig_cmp, &pos))
		return NULL;
	return &((const struct cons__mig *)s->migs.v[pos])->pub;
}

size_t cons_state_mig_route(const struct cons_state *s, uint64_t id, const char **names,
			    size_t max)
{
	const struct cons__path *p = cons__path_by_id(s, id), *q = NULL;
	const struct cons__mig *m = NULL;

	if (p != NULL)
		m = p->src_vm->mig ? p->src_vm->mig : p->dst_vm->mig;
	for (uint32_t i = 0; m != NULL && i < m->n; i++)
		if (m->orig[i] == p)
			q = m->shadow[i];
	return q == NULL ? 0 : cons__route_names(q, names, max);
}

/* ------------------------------------------------------------------------- */
/* Snapshot: {"uuid", "to", "index", "shadows": n} then n rtpath maps with   */
/* their "route", as the rtpaths themselves are written.                     */

int cons__mig_pack(msgpack_packer *pk, const struct cons_state *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->migs.n; i++) {
		const struct cons__mig *m = s->migs.v[i];

		rc |= msgpack_pack_map(pk, 4);
		rc |= rtv_pk_kv_str(pk, "uuid", m->pub.uuid);
		rc |= rtv_pk_kv_u64(pk, "to", m->pub.to_host);
		rc |= rtv_pk_kv_u64(pk, "index", m->pub.prepared_index);
		rc |= rtv_pk_kv_u64(pk, "shadows", m->n);
		for (uint32_t k = 0; k < m->n; k++) {
			const struct cons__path *q = m->shadow[k];

			rc |= cons__pack_path_extra(pk, &q->pub, 1);
			rc |= rtv_pk_str(pk, "route") | msgpack_pack_array(pk, q->n_hops + 1);
			rc |= rtv_pk_str(pk, q->src->pub.name);
			for (uint32_t h = 0; h < q->n_hops; h++)
				rc |= rtv_pk_str(pk, cons__hop_to(&q->hops[h]));
		}
	}
	return rc;
}

static int bad(char err[CONS_ERRLEN], const char *uuid, const char *why)
{
	cons__err(err, "snapshot: migration of VM %s: %s", uuid, why);
	return -EINVAL;
}

/* One shadow: its path must be the record's next one, its ends the path's
 * with the VM's end on the destination. */
static int restore_shadow(struct cons_state *s, struct cons__mig *m, const msgpack_object *o,
			  struct cons__host *to, char err[CONS_ERRLEN])
{
	struct cons__path *q = calloc(1, sizeof(*q));
	const struct cons__path *p = m->orig[m->n];
	int rc = q == NULL ? -ENOMEM : cons_unpack_path(o, &q->pub, err);

	if (rc == 0 && q->pub.id != p->pub.id)
		rc = bad(err, m->pub.uuid, "shadows do not match the VM's rtpaths");
	if (rc == 0) {
		q->src_vm = p->src_vm;
		q->dst_vm = p->dst_vm;
		q->src = p->src_vm == m->vm ? to : p->src;
		q->dst = p->dst_vm == m->vm ? to : p->dst;
		if (q->pub.src_host != q->src->pub.id || q->pub.dst_host != q->dst->pub.id)
			rc = bad(err, m->pub.uuid, "a shadow's hosts are not the moved ends");
	}
	rc = rc ? rc : cons__path_from_snapshot(s, o, q, err);
	rc = rc ? rc : cons__path_link(q);
	if (rc != 0) {
		cons__path_free(q);
		return rc;
	}
	m->shadow[m->n++] = q;
	return 0;
}

int cons__mig_restore(struct cons_state *s, const msgpack_object *obj,
		      int (*next_obj)(void *rd, const msgpack_object **o), void *rd,
		      char err[CONS_ERRLEN])
{
	struct cons_mig_req rq = { .phase = CONS_MIG_PREPARE };
	uint64_t index = 0, n = 0;
	struct cons__vm *vm;
	struct cons__host *to;
	struct cons__mig *m;
	const msgpack_object *o;
	size_t pos;
	int rc = cons__map_open(obj, "snapshot migration", err);

	rc = rc ? rc : cons__get_str(obj, "migration", "uuid", rq.uuid, sizeof(rq.uuid), err);
	rc = rc ? rc : cons__get_u64(obj, "migration", "to", UINT64_MAX, &rq.to_host, err);
	rc = rc ? rc : cons__get_u64(obj, "migration", "index", s->applied_index, &index, err);
	rc = rc ? rc : cons__get_u64(obj, "migration", "shadows", UINT32_MAX, &n, err);
	if (rc != 0)
		return rc;
	vm = cons__vm_by_uuid(s, rq.uuid);
	to = cons__host_by_id(s, rq.to_host);
	if (vm == NULL || to == NULL || vm->mig != NULL || vm->pub.host_id == rq.to_host ||
	    index == 0)
		return bad(err, rq.uuid, "unknown VM or host, repeated, or to its own host");
	m = mig_alloc(s, vm);
	if (m == NULL || cons__vec_reserve(&s->migs, 1) != 0) {
		mig_free(m);
		return -ENOMEM;
	}
	if (m->n != n) {
		mig_free(m);
		return bad(err, rq.uuid, "shadow count differs from the VM's rtpaths");
	}
	m->n = 0;
	while (rc == 0 && m->n < n) {
		rc = next_obj(rd, &o);
		rc = rc ? rc : restore_shadow(s, m, o, to, err);
	}
	if (rc != 0) {
		for (uint32_t k = 0; k < m->n; k++)
			cons__path_unlink(m->shadow[k]);
		mig_free(m);
		return rc;
	}
	snprintf(m->pub.uuid, sizeof(m->pub.uuid), "%s", rq.uuid);
	m->pub.from_host = vm->pub.host_id;
	m->pub.to_host = rq.to_host;
	m->pub.prepared_index = index;
	m->pub.n_paths = m->n;
	if (cons__vec_find(&s->migs, m->pub.uuid, mig_cmp, &pos)) {
		for (uint32_t k = 0; k < m->n; k++)
			cons__path_unlink(m->shadow[k]);
		mig_free(m);
		return bad(err, rq.uuid, "repeated");
	}
	cons__vec_insert(&s->migs, pos, m);
	vm->mig = m;
	return 0;
}
