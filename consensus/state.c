/* state.c — the replicated state machine: apply, deduplication, VMs, reads.
 *
 * apply is pure: it reads nothing but the state and the command, so every
 * replica that applies the same log reaches the same state (and the same
 * answers, which the deduplication table stores). Each operation validates
 * everything and allocates everything it needs before its first change, so
 * a refusal or an out-of-memory leaves the state exactly as it was.
 *
 * Deduplication follows the Raft dissertation §6.3: a client tags each
 * request with (client_id, seq); the state remembers, per client, the
 * highest seq applied and its answer, so a request retried after a lost
 * reply or a leader change is answered again instead of applied twice.
 * The table is replicated (it is in the snapshot) and bounded: past
 * CONS_DEDUP_MAX clients the one whose answer is oldest in the log goes
 * first, the same one on every replica.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Sorted pointer arrays                                                     */

int cons__vec_reserve(struct cons__vec *vec, size_t extra)
{
	size_t ncap = vec->cap ? vec->cap : 8;
	void **nv;

	if (vec->n + extra <= vec->cap)
		return 0;
	while (ncap < vec->n + extra)
		ncap *= 2;
	nv = realloc(vec->v, ncap * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	vec->v = nv;
	vec->cap = ncap;
	return 0;
}

void cons__vec_insert(struct cons__vec *vec, size_t i, void *p)
{
	memmove(vec->v + i + 1, vec->v + i, (vec->n - i) * sizeof(*vec->v));
	vec->v[i] = p;
	vec->n++;
}

void cons__vec_remove(struct cons__vec *vec, size_t i)
{
	memmove(vec->v + i, vec->v + i + 1, (vec->n - i - 1) * sizeof(*vec->v));
	vec->n--;
}

bool cons__vec_find(const struct cons__vec *vec, const void *key,
		    int (*cmp)(const void *key, const void *elem), size_t *pos)
{
	size_t lo = 0, hi = vec->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(key, vec->v[mid]);

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return false;
}

void cons__vec_free(struct cons__vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

/* ------------------------------------------------------------------------- */
/* Lifetime                                                                  */

int cons_state_new(struct cons_state **out)
{
	struct cons_state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->next_path_id = 1;
	*out = s;
	return 0;
}

void cons__state_clear(struct cons_state *s)
{
	cons__mig_free_all(s);
	for (size_t i = 0; i < s->paths.n; i++)
		cons__path_free(s->paths.v[i]);
	for (size_t i = 0; i < s->hosts.n; i++) {
		struct cons__host *h = s->hosts.v[i];

		free(h->tx);
		free(h);
	}
	for (size_t i = 0; i < s->links.n; i++)
		free(s->links.v[i]);
	for (size_t i = 0; i < s->vms.n; i++)
		free(s->vms.v[i]);
	for (struct cons__client *c = s->dedup.oldest, *next; c != NULL; c = next) {
		next = c->next;
		free(c->err);
		free(c);
	}
	free(s->dedup.buckets);
	cons__vec_free(&s->paths);
	cons__vec_free(&s->hosts);
	cons__vec_free(&s->links);
	cons__vec_free(&s->vms);
	free(s->ipidx);
	cons__graph_free(&s->graph);
	free(s->flows);
	memset(s, 0, sizeof(*s));
	s->next_path_id = 1;
}

void cons_state_free(struct cons_state *s)
{
	if (s == NULL)
		return;
	cons__state_clear(s);
	free(s);
}

/* ------------------------------------------------------------------------- */
/* Lookups                                                                   */

static int host_cmp(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key, e = ((const struct cons__host *)elem)->pub.id;

	return id < e ? -1 : id > e;
}

static int path_cmp(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key, e = ((const struct cons__path *)elem)->pub.id;

	return id < e ? -1 : id > e;
}

static int vm_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cons__vm *)elem)->pub.uuid);
}

struct cons__host *cons__host_by_id(const struct cons_state *s, uint64_t id)
{
	size_t i;

	return cons__vec_find(&s->hosts, &id, host_cmp, &i) ? s->hosts.v[i] : NULL;
}

/* A rack has tens of hosts: a scan is cheaper than keeping a second index. */
struct cons__host *cons__host_by_name(const struct cons_state *s, const char *name)
{
	for (size_t i = 0; i < s->hosts.n; i++) {
		struct cons__host *h = s->hosts.v[i];

		if (strcmp(h->pub.name, name) == 0)
			return h;
	}
	return NULL;
}

struct cons__path *cons__path_by_id(const struct cons_state *s, uint64_t id)
{
	size_t i;

	return cons__vec_find(&s->paths, &id, path_cmp, &i) ? s->paths.v[i] : NULL;
}

struct cons__vm *cons__vm_by_uuid(const struct cons_state *s, const char *uuid)
{
	size_t i;

	return cons__vec_find(&s->vms, uuid, vm_cmp, &i) ? s->vms.v[i] : NULL;
}

/* Index of the first ipidx entry >= ip. */
static size_t ip_pos(const struct cons_state *s, uint32_t ip)
{
	size_t lo = 0, hi = s->n_ipidx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->ipidx[mid].ip < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct cons__vm *cons__vm_by_ip(const struct cons_state *s, uint32_t ip)
{
	size_t i = ip_pos(s, ip);

	return i < s->n_ipidx && s->ipidx[i].ip == ip ? s->ipidx[i].vm : NULL;
}

/* ------------------------------------------------------------------------- */
/* VMs                                                                       */

static bool has_ip(const struct cons_vm *vm, uint32_t ip)
{
	for (unsigned i = 0; i < vm->n_ips; i++)
		if (vm->ips[i] == ip)
			return true;
	return false;
}

static bool ip_in_use(const struct cons_state *s, uint32_t ip)
{
	for (size_t i = 0; i < s->paths.n; i++) {
		const struct cons__path *p = s->paths.v[i];

		if (p->pub.req.src_ip == ip || p->pub.req.dst_ip == ip)
			return true;
	}
	return false;
}

static int vm_change_ok(const struct cons_state *s, const struct cons__vm *old,
			const struct cons_vm *vm, struct cons_result *res)
{
	char ip[16];

	for (unsigned i = 0; i < vm->n_ips; i++) {
		const struct cons__vm *owner = cons__vm_by_ip(s, vm->ips[i]);

		if (owner != NULL && owner != old) {
			cons__ip_str(vm->ips[i], ip);
			cons__err(res->err, "IP %s already belongs to VM %s; remove it there first",
				  ip, owner->pub.uuid);
			res->status = -EEXIST;
			return -EEXIST;
		}
	}
	if (old == NULL || old->n_paths == 0)
		return 0;
	if (old->pub.host_id != vm->host_id) {
		cons__err(res->err, "VM %s has %zu rtpaths; release them before moving it to "
			  "another host", vm->uuid, old->n_paths);
		res->status = -EBUSY;
			return -EBUSY;
	}
	for (unsigned i = 0; i < old->pub.n_ips; i++) {
		if (!has_ip(vm, old->pub.ips[i]) && ip_in_use(s, old->pub.ips[i])) {
			cons__ip_str(old->pub.ips[i], ip);
			cons__err(res->err, "VM %s: rtpaths use IP %s; release them before removing "
				  "the address", vm->uuid, ip);
			res->status = -EBUSY;
			return -EBUSY;
		}
	}
	return 0;
}

static int ipidx_reserve(struct cons_state *s, size_t extra)
{
	struct cons__ipent *n;

	if (s->n_ipidx + extra <= s->cap_ipidx)
		return 0;
	n = realloc(s->ipidx, (s->cap_ipidx * 2 + extra) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	s->ipidx = n;
	s->cap_ipidx = s->cap_ipidx * 2 + extra;
	return 0;
}

static void ipidx_del(struct cons_state *s, const struct cons_vm *vm)
{
	for (unsigned i = 0; i < vm->n_ips; i++) {
		size_t k = ip_pos(s, vm->ips[i]);

		memmove(s->ipidx + k, s->ipidx + k + 1, (s->n_ipidx - k - 1) * sizeof(*s->ipidx));
		s->n_ipidx--;
	}
}

static void ipidx_add(struct cons_state *s, struct cons__vm *vm)
{
	for (unsigned i = 0; i < vm->pub.n_ips; i++) {
		size_t k = ip_pos(s, vm->pub.ips[i]);

		memmove(s->ipidx + k + 1, s->ipidx + k, (s->n_ipidx - k) * sizeof(*s->ipidx));
		s->ipidx[k] = (struct cons__ipent){ vm->pub.ips[i], vm };
		s->n_ipidx++;
	}
}

int cons__vm_set(struct cons_state *s, const struct cons_vm *vm, struct cons_result *res)
{
	struct cons__host *host = cons__host_by_id(s, vm->host_id), *old_host;
	struct cons__vm *old = cons__vm_by_uuid(s, vm->uuid), *v = old;
	uint32_t mtu = vm->mtu;
	size_t pos;

	if (host == NULL) {
		cons__err(res->err, "VM %s: no host with id %llu; add the host first (rtvctl hosts)",
			  vm->uuid, (unsigned long long)vm->host_id);
		return cons__answer(res, -ENOENT);
	}
	if (vm_change_ok(s, old, vm, res) != 0)
		return 0;
	if (ipidx_reserve(s, vm->n_ips) != 0)
		return -ENOMEM;
	if (old == NULL) {
		v = calloc(1, sizeof(*v));
		if (v == NULL || cons__vec_reserve(&s->vms, 1) != 0) {
			free(v);
			return -ENOMEM;
		}
		cons__vec_find(&s->vms, vm->uuid, vm_cmp, &pos);
		cons__vec_insert(&s->vms, pos, v);
	} else {
		ipidx_del(s, &old->pub);
		old_host = cons__host_by_id(s, old->pub.host_id);
		old_host->n_vms--;
	}
	/* the MTU is the host switch's to report: a VM_SET without one (an
	 * operator's vm add) keeps it while the VM stays on that host */
	if (old != NULL && mtu == 0 && old->pub.host_id == vm->host_id)
		mtu = old->pub.mtu;
	v->pub = *vm;
	v->pub.mtu = mtu;
	ipidx_add(s, v);
	host->n_vms++;
	return 0;
}

int cons__vm_remove(struct cons_state *s, const char *uuid, struct cons_result *res)
{
	struct cons__vm *v = cons__vm_by_uuid(s, uuid);
	size_t pos;

	if (v == NULL) {
		cons__err(res->err, "no VM %s (see rtvctl vms)", uuid);
		return cons__answer(res, -ENOENT);
	}
	if (v->n_paths > 0) {
		cons__err(res->err, "VM %s has %zu rtpaths; release them first", uuid, v->n_paths);
		return cons__answer(res, -EBUSY);
	}
	ipidx_del(s, &v->pub);
	cons__host_by_id(s, v->pub.host_id)->n_vms--;
	cons__vec_find(&s->vms, uuid, vm_cmp, &pos);
	cons__vec_remove(&s->vms, pos);
	free(v);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Deduplication table                                                       */

static size_t dd_bucket(const struct cons__dedup *d, uint64_t cid)
{
	return (size_t)((cid * 0x9e3779b97f4a7c15ull) >> 32) & (d->n_buckets - 1);
}

struct cons__client *cons__dedup_find(const struct cons__dedup *d, uint64_t cid)
{
	if (d->n_buckets == 0)
		return NULL;
	for (struct cons__client *c = d->buckets[dd_bucket(d, cid)]; c != NULL; c = c->hnext)
		if (c->cid == cid)
			return c;
	return NULL;
}

/* Room for one more client: grows the buckets to keep chains short. */
int cons__dedup_reserve(struct cons__dedup *d)
{
	size_t nb = d->n_buckets ? d->n_buckets * 2 : 64;
	struct cons__client **b;

	if (d->n < d->n_buckets)
		return 0;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	free(d->buckets);
	d->buckets = b;
	d->n_buckets = nb;
	for (struct cons__client *c = d->oldest; c != NULL; c = c->next) {
		size_t k = dd_bucket(d, c->cid);

		c->hnext = b[k];
		b[k] = c;
	}
	return 0;
}

/* Inserts c as the newest entry (hash chain and LRU tail). */
void cons__dedup_push(struct cons__dedup *d, struct cons__client *c)
{
	size_t k = dd_bucket(d, c->cid);

	c->hnext = d->buckets[k];
	d->buckets[k] = c;
	c->prev = d->newest;
	c->next = NULL;
	if (d->newest != NULL)
		d->newest->next = c;
	else
		d->oldest = c;
	d->newest = c;
	d->n++;
}

static void dd_unlink(struct cons__dedup *d, struct cons__client *c)
{
	struct cons__client **pp = &d->buckets[dd_bucket(d, c->cid)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		d->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		d->newest = c->prev;
	d->n--;
}

/* Stores res as client c's answer to seq; `spare` is a CONS_ERRLEN buffer
 * allocated before the command ran, so this step cannot fail. */
static void dd_store(struct cons__dedup *d, struct cons__client *c, uint64_t seq,
		     const struct cons_result *res, char *spare)
{
	char *shrunk;

	if (cons__dedup_find(d, c->cid) == c)
		dd_unlink(d, c);
	else if (d->n >= CONS_DEDUP_MAX) {
		struct cons__client *victim = d->oldest;

		dd_unlink(d, victim);
		free(victim->err);
		free(victim);
	}
	free(c->err);
	c->err = NULL;
	if (res->status != 0) {
		memcpy(spare, res->err, CONS_ERRLEN);
		spare[CONS_ERRLEN - 1] = '\0';
		shrunk = realloc(spare, strlen(spare) + 1);
		c->err = shrunk != NULL ? shrunk : spare;
	} else {
		free(spare);
	}
	c->seq = seq;
	c->index = res->index;
	c->id = res->id;
	c->status = res->status;
	cons__dedup_push(d, c);
}

static bool dd_answer(const struct cons__client *c, const struct cons_cmd *cmd,
		      struct cons_result *res)
{
	if (c == NULL || cmd->seq > c->seq)
		return false;
	if (cmd->seq < c->seq) {
		cons__err(res->err, "request %llu of client %llu is older than its last applied "
			  "request %llu; not applied (retry only the latest request)",
			  (unsigned long long)cmd->seq, (unsigned long long)cmd->client_id,
			  (unsigned long long)c->seq);
		res->status = -ESTALE;
		return true;
	}
	res->status = c->status;
	if (c->err != NULL)
		memcpy(res->err, c->err, strlen(c->err) + 1);
	res->id = c->id;
	res->index = c->index;
	res->duplicate = true;
	return true;
}

/* ------------------------------------------------------------------------- */
/* apply                                                                     */

/* An rtpath whose VM migrates is frozen until the migration ends. */
static bool path_migrating(const struct cons_state *s, uint64_t id, char err[CONS_ERRLEN])
{
	const struct cons__path *p = cons__path_by_id(s, id);

	return p != NULL && (cons__mig_busy_vm(s, p->src_vm->pub.uuid, err) != 0 ||
			     cons__mig_busy_vm(s, p->dst_vm->pub.uuid, err) != 0);
}

static int dispatch(struct cons_state *s, uint64_t index, const struct cons_cmd *cmd,
		    struct cons_result *res)
{
	if (cons__cmd_check(cmd, res->err) != 0)
		return cons__answer(res, -EINVAL);
	switch (cmd->op) {
	case CONS_OP_HOST_ADD:
		return cons__host_add(s, &cmd->u.host, res);
	case CONS_OP_HOST_REMOVE:
		return cons__host_remove(s, cmd->u.ref.id, res);
	case CONS_OP_LINK_SET:
		return cons__link_set(s, &cmd->u.link, res);
	case CONS_OP_LINK_REMOVE:
		return cons__link_remove(s, cmd->u.link.a, cmd->u.link.b, res);
	case CONS_OP_VM_SET:
	case CONS_OP_VM_REMOVE:
		if (cons__mig_busy_vm(s, cmd->u.vm.uuid, res->err) != 0)
			return cons__answer(res, -EBUSY);
		return cmd->op == CONS_OP_VM_SET ? cons__vm_set(s, &cmd->u.vm, res)
						 : cons__vm_remove(s, cmd->u.vm.uuid, res);
	case CONS_OP_PATH_RESERVE:
		if (cons__mig_busy_ip(s, cmd->u.path.src_ip, res->err) != 0 ||
		    cons__mig_busy_ip(s, cmd->u.path.dst_ip, res->err) != 0)
			return cons__answer(res, -EBUSY);
		return cons__path_reserve(s, index, &cmd->u.path, res);
	case CONS_OP_PATH_RELEASE:
	case CONS_OP_PATH_ESCALATE:
		if (path_migrating(s, cmd->u.ref.id, res->err))
			return cons__answer(res, -EBUSY);
		return cmd->op == CONS_OP_PATH_RELEASE
			       ? cons__path_release(s, cmd->u.ref.id, res)
			       : cons__path_escalate(s, cmd->u.ref.id, cmd->u.ref.level, res);
	case CONS_OP_VM_MIGRATE:
		return cons__mig_apply(s, index, &cmd->u.mig, res);
	case CONS_OP_NOOP:
		break;
	}
	return 0;
}

int cons_state_apply(struct cons_state *s, uint64_t index, const struct cons_cmd *cmd,
		     struct cons_result *res)
{
	struct cons__client *c = NULL;
	char *spare = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	res->index = index;
	if (index <= s->applied_index) {
		cons__err(res->err, "log index %llu is not after the applied index %llu",
			  (unsigned long long)index, (unsigned long long)s->applied_index);
		return cons__answer(res, -EINVAL);
	}
	if (cmd->client_id != 0) {
		c = cons__dedup_find(&s->dedup, cmd->client_id);
		if (dd_answer(c, cmd, res)) {
			s->applied_index = index;
			return 0;
		}
		spare = malloc(CONS_ERRLEN);
		if (c == NULL && spare != NULL && cons__dedup_reserve(&s->dedup) == 0)
			c = calloc(1, sizeof(*c));
		if (spare == NULL || c == NULL)
			goto nomem;
		c->cid = cmd->client_id;
	}
	rc = dispatch(s, index, cmd, res);
	if (rc != 0)
		goto nomem;
	if (res->status == 0)
		res->err[0] = '\0';
	if (c != NULL)
		dd_store(&s->dedup, c, cmd->seq, res, spare);
	s->applied_index = index;
	return 0;
nomem:
	free(spare);
	if (c != NULL && cons__dedup_find(&s->dedup, cmd->client_id) != c)
		free(c);
	memset(res, 0, sizeof(*res));
	res->status = -ENOMEM;
	cons__err(res->err, "out of memory applying %s", cons_op_name(cmd->op));
	return -ENOMEM;
}

/* ------------------------------------------------------------------------- */
/* Reads                                                                     */

uint64_t cons_state_applied_index(const struct cons_state *s)
{
	return s->applied_index;
}

size_t cons_state_n_hosts(const struct cons_state *s)
{
	return s->hosts.n;
}

const struct cons_host *cons_state_host_at(const struct cons_state *s, size_t i)
{
	return i < s->hosts.n ? &((const struct cons__host *)s->hosts.v[i])->pub : NULL;
}

const struct cons_host *cons_state_host(const struct cons_state *s, uint64_t id)
{
	const struct cons__host *h = cons__host_by_id(s, id);

	return h != NULL ? &h->pub : NULL;
}

size_t cons_state_n_links(const struct cons_state *s)
{
	return s->links.n;
}

const struct cons_link *cons_state_link_at(const struct cons_state *s, size_t i)
{
	return i < s->links.n ? &((const struct cons__link *)s->links.v[i])->pub : NULL;
}

size_t cons_state_n_vms(const struct cons_state *s)
{
	return s->vms.n;
}

const struct cons_vm *cons_state_vm_at(const struct cons_state *s, size_t i)
{
	return i < s->vms.n ? &((const struct cons__vm *)s->vms.v[i])->pub : NULL;
}

const struct cons_vm *cons_state_vm_by_ip(const struct cons_state *s, uint32_t ip)
{
	const struct cons__vm *v = cons__vm_by_ip(s, ip);

	return v != NULL ? &v->pub : NULL;
}

size_t cons_state_n_paths(const struct cons_state *s)
{
	return s->paths.n;
}

const struct cons_rtpath *cons_state_path_at(const struct cons_state *s, size_t i)
{
	return i < s->paths.n ? &((const struct cons__path *)s->paths.v[i])->pub : NULL;
}

const struct cons_rtpath *cons_state_path(const struct cons_state *s, uint64_t id)
{
	const struct cons__path *p = cons__path_by_id(s, id);

	return p != NULL ? &p->pub : NULL;
}

size_t cons_state_path_route(const struct cons_state *s, uint64_t id, const char **names,
			     size_t max)
{
	const struct cons__path *p = cons__path_by_id(s, id);

	return p == NULL ? 0 : cons__route_names(p, names, max);
}

size_t cons__route_names(const struct cons__path *p, const char **names, size_t max)
{
	if (max > 0)
		names[0] = p->src->pub.name;
	for (uint32_t i = 0; i < p->n_hops && i + 1 < max; i++)
		names[i + 1] = cons__hop_to(&p->hops[i]);
	return p->n_hops + 1;
}
