/* flows.c — a flow table keyed like a switch's, and the difference of two.
 *
 * Entries live in a dense array (iteration and the cookie scans of
 * incremental updates touch contiguous memory) with chained hashing on top:
 * removal moves the last entry into the hole and relinks it. Reconciling 10k
 * flows is two passes of hash lookups.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/flows.h"
#include "ofgw/ofp.h"

/* FNV-1a over the key's fields, one value at a time (no struct padding). */
static uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ull;
	return h;
}

static uint64_t mix_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint32_t key_hash(const struct ofgw_flow *f)
{
	const struct ofgw_match *m = &f->match;
	uint64_t h = 0xcbf29ce484222325ull;

	h = mix(h, (uint64_t)f->table_id << 32 | (uint64_t)f->priority << 16 | m->ip_dscp);
	h = mix(h, (uint64_t)m->fields << 32 | m->in_port);
	h = mix(h, (uint64_t)m->ipv4_src << 32 | m->ipv4_dst);
	h = mix(h, (uint64_t)m->ipv4_src_mask << 32 | m->ipv4_dst_mask);
	h = mix(h, (uint64_t)m->mpls_label << 32 | (uint64_t)m->eth_type << 16 | m->ip_proto);
	h = mix(h, (uint64_t)m->tcp_src << 48 | (uint64_t)m->tcp_dst << 32 |
		       (uint64_t)m->udp_src << 16 | m->udp_dst);
	h = mix_bytes(h, m->eth_dst, 6);
	h = mix_bytes(h, m->eth_dst_mask, 6);
	h = mix_bytes(h, m->eth_src, 6);
	h = mix_bytes(h, m->eth_src_mask, 6);
	h = mix(h, (uint64_t)m->mpls_tc << 8 | m->n_unknown);
	return (uint32_t)(h ^ h >> 32);
}

void flowtab_init(struct flowtab *t)
{
	memset(t, 0, sizeof(*t));
}

void flowtab_uninit(struct flowtab *t)
{
	free(t->flows);
	free(t->cookies);
	free(t->hashes);
	free(t->next);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

void flowtab_clear(struct flowtab *t)
{
	t->n = 0;
	if (t->buckets != NULL)
		memset(t->buckets, 0xff, t->n_buckets * sizeof(*t->buckets));
}

static void link_entry(struct flowtab *t, uint32_t i)
{
	uint32_t b = t->hashes[i] & (uint32_t)(t->n_buckets - 1);

	t->next[i] = t->buckets[b];
	t->buckets[b] = i;
}

static int grow(struct flowtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	void *p;

	if ((p = realloc(t->flows, cap * sizeof(*t->flows))) == NULL)
		return -ENOMEM;
	t->flows = p;
	if ((p = realloc(t->cookies, cap * sizeof(*t->cookies))) == NULL)
		return -ENOMEM;
	t->cookies = p;
	if ((p = realloc(t->hashes, cap * sizeof(*t->hashes))) == NULL)
		return -ENOMEM;
	t->hashes = p;
	if ((p = realloc(t->next, cap * sizeof(*t->next))) == NULL)
		return -ENOMEM;
	t->next = p;
	if ((p = malloc(cap * sizeof(*t->buckets))) == NULL)
		return -ENOMEM;
	free(t->buckets);
	t->buckets = p;
	t->cap = t->n_buckets = cap;
	memset(t->buckets, 0xff, cap * sizeof(*t->buckets));
	for (uint32_t i = 0; i < t->n; i++)
		link_entry(t, i);
	return 0;
}

static uint32_t find_index(const struct flowtab *t, const struct ofgw_flow *key, uint32_t h)
{
	if (t->n == 0)
		return FLOWTAB_NONE;
	for (uint32_t i = t->buckets[h & (t->n_buckets - 1)]; i != FLOWTAB_NONE; i = t->next[i])
		if (t->hashes[i] == h && ofgw_flow_same_key(&t->flows[i], key))
			return i;
	return FLOWTAB_NONE;
}

int flowtab_put(struct flowtab *t, const struct ofgw_flow *f)
{
	uint32_t h = key_hash(f), i = find_index(t, f, h);

	if (i != FLOWTAB_NONE) {
		t->flows[i] = *f;
		t->cookies[i] = f->cookie;
		return 0;
	}
	if (t->n == t->cap && grow(t) != 0)
		return -ENOMEM;
	i = (uint32_t)t->n++;
	t->flows[i] = *f;
	t->cookies[i] = f->cookie;
	t->hashes[i] = h;
	link_entry(t, i);
	return 0;
}

const struct ofgw_flow *flowtab_find(const struct flowtab *t, const struct ofgw_flow *key)
{
	uint32_t i = find_index(t, key, key_hash(key));

	return i == FLOWTAB_NONE ? NULL : &t->flows[i];
}

/* Unlinks entry i from its bucket's chain. */
static void unlink_entry(struct flowtab *t, uint32_t i)
{
	uint32_t *pp = &t->buckets[t->hashes[i] & (t->n_buckets - 1)];

	while (*pp != i)
		pp = &t->next[*pp];
	*pp = t->next[i];
}

static void remove_at(struct flowtab *t, uint32_t i)
{
	uint32_t last = (uint32_t)t->n - 1;

	unlink_entry(t, i);
	if (i != last) {
		unlink_entry(t, last);
		t->flows[i] = t->flows[last];
		t->cookies[i] = t->cookies[last];
		t->hashes[i] = t->hashes[last];
		link_entry(t, i);
	}
	t->n--;
}

bool flowtab_del(struct flowtab *t, const struct ofgw_flow *key)
{
	uint32_t i = find_index(t, key, key_hash(key));

	if (i == FLOWTAB_NONE)
		return false;
	remove_at(t, i);
	return true;
}

size_t flowtab_del_cookie(struct flowtab *t, uint64_t cookie, uint8_t table)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->n;) {
		if (t->cookies[i] == cookie &&
		    (table == OFP_TABLE_ALL || t->flows[i].table_id == table)) {
			remove_at(t, i);	/* the last entry moved into i */
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* ------------------------------------------------------------------------- */
/* Differences                                                               */

void flow_ops_init(struct flow_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
}

void flow_ops_uninit(struct flow_ops *ops)
{
	free(ops->v);
	memset(ops, 0, sizeof(*ops));
}

void flow_ops_clear(struct flow_ops *ops)
{
	ops->n = 0;
	ops->added = ops->modified = ops->deleted = ops->unchanged = 0;
}

static struct flow_op *push_op(struct flow_ops *ops, uint8_t command, const struct ofgw_flow *f)
{
	struct flow_op *op;

	if (ops->n == ops->cap) {
		size_t cap = ops->cap ? ops->cap * 2 : 64;

		if ((op = realloc(ops->v, cap * sizeof(*op))) == NULL)
			return NULL;
		ops->v = op;
		ops->cap = cap;
	}
	op = &ops->v[ops->n++];
	op->command = command;
	op->modify = false;
	op->flow = *f;
	return op;
}

int flow_ops_delete_cookie(struct flow_ops *ops, uint8_t table, uint64_t cookie)
{
	struct ofgw_flow f;

	memset(&f, 0, sizeof(f));
	f.table_id = table;
	f.cookie = cookie;
	if (push_op(ops, OFPFC_DELETE, &f) == NULL)
		return -ENOMEM;
	ops->deleted++;
	return 0;
}

static bool wanted_cookie(uint64_t c, const uint64_t *cookies, size_t n)
{
	if (cookies == NULL)
		return true;
	for (size_t i = 0; i < n; i++)
		if (cookies[i] == c)
			return true;
	return false;
}

static int diff_adds(const struct flowtab *want, const struct flowtab *have,
		     const uint64_t *cookies, size_t n_cookies, struct flow_ops *ops)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct ofgw_flow *w = &want->flows[i], *h;
		struct flow_op *op;

		if (!wanted_cookie(want->cookies[i], cookies, n_cookies))
			continue;
		h = flowtab_find(have, w);
		if (h != NULL && ofgw_flow_same(w, h)) {
			ops->unchanged += cookies == NULL;
			continue;
		}
		if ((op = push_op(ops, OFPFC_ADD, w)) == NULL)
			return -ENOMEM;
		op->modify = h != NULL;
		if (h != NULL)
			ops->modified++;
		else
			ops->added++;
	}
	return 0;
}

int flows_diff(const struct flowtab *want, const struct flowtab *have, const uint64_t *cookies,
	       size_t n_cookies, struct flow_ops *ops)
{
	int rc = diff_adds(want, have, cookies, n_cookies, ops);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < have->n; i++) {
		if (!wanted_cookie(have->cookies[i], cookies, n_cookies) ||
		    flowtab_find(want, &have->flows[i]) != NULL)
			continue;
		if (push_op(ops, OFPFC_DELETE_STRICT, &have->flows[i]) == NULL)
			return -ENOMEM;
		ops->deleted++;
	}
	return 0;
}
