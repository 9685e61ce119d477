/* topo.c — the rack's topology: hosts, links, and routes between hosts.
 *
 * Nodes are names. A host is a node with exactly one edge, its uplink to
 * the switch named in uplink_to, made and changed only through host_add
 * (capacity uplink_bps both ways, the host's RT budget, a default hop
 * latency). Every other node is a switch; link_set joins switches in any
 * shape (a star through one ToR, or seed 001's tree of switches). Since a
 * host has one edge it is never a transit node.
 *
 * Routes are shortest by hop count: breadth-first search over the nodes in
 * name order, neighbours visited in name order, so among equal-length
 * routes the one through lexicographically smaller switches wins on every
 * replica. Admitted rtpaths pin their route; a topology change never moves
 * them, and a change that would invalidate their budgets (removing a link,
 * changing a capacity or latency they were admitted with) is refused while
 * they exist.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Links                                                                     */

struct link_key {
	const char *a, *b;
};

static int link_cmp(const void *key, const void *elem)
{
	const struct link_key *k = key;
	const struct cons__link *l = elem;
	int c = strcmp(k->a, l->pub.a);

	return c != 0 ? c : strcmp(k->b, l->pub.b);
}

static struct link_key link_key(const char *x, const char *y)
{
	return strcmp(x, y) < 0 ? (struct link_key){ x, y } : (struct link_key){ y, x };
}

struct cons__link *cons__link_find(const struct cons_state *s, const char *x, const char *y)
{
	struct link_key k = link_key(x, y);
	size_t i;

	return cons__vec_find(&s->links, &k, link_cmp, &i) ? s->links.v[i] : NULL;
}

static size_t link_pos(const struct cons_state *s, const char *a, const char *b)
{
	struct link_key k = { a, b };
	size_t i;

	cons__vec_find(&s->links, &k, link_cmp, &i);
	return i;
}

const char *cons__hop_from(const struct cons__hop *h)
{
	return h->ab ? h->link->pub.a : h->link->pub.b;
}

const char *cons__hop_to(const struct cons__hop *h)
{
	return h->ab ? h->link->pub.b : h->link->pub.a;
}

uint64_t cons__hop_capacity(const struct cons__hop *h)
{
	return h->ab ? h->link->pub.capacity_ab_bps : h->link->pub.capacity_ba_bps;
}

uint64_t *cons__hop_reserved(const struct cons__hop *h)
{
	return h->ab ? &h->link->pub.reserved_ab_bps : &h->link->pub.reserved_ba_bps;
}

void cons__hop_name(const struct cons__hop *h, char *out, size_t cap)
{
	snprintf(out, cap, "%s->%s", cons__hop_from(h), cons__hop_to(h));
}

/* A new RT budget on a link that carries rtpaths must still hold what they
 * reserve, in both directions. */
static int budget_fits(const struct cons_link *l, uint32_t ppm, struct cons_result *res)
{
	for (int ab = 1; ab >= 0; ab--) {
		uint64_t cap = ab ? l->capacity_ab_bps : l->capacity_ba_bps;
		uint64_t used = ab ? l->reserved_ab_bps : l->reserved_ba_bps;
		uint64_t lim = cons__budget_bps(cap, ppm);
		char s_lim[32], s_used[32];

		if (used <= lim)
			continue;
		cons__fmt_rate(s_lim, sizeof(s_lim), lim);
		cons__fmt_rate(s_used, sizeof(s_used), used);
		cons__err(res->err, "rt_budget_ppm %u would limit %s->%s to %s but rtpaths reserve "
			  "%s there on the wire; release some first", ppm, ab ? l->a : l->b, ab ? l->b : l->a,
			  s_lim, s_used);
		return res->status = -EBUSY;
	}
	return 0;
}

static void link_drop(struct cons_state *s, struct cons__link *l)
{
	cons__vec_remove(&s->links, link_pos(s, l->pub.a, l->pub.b));
	free(l);
	cons__graph_invalidate(s);
}

/* ------------------------------------------------------------------------- */
/* Hosts                                                                     */

/* Is `name` a switch: an end of a link other than `self`'s own uplink? */
static bool is_switch(const struct cons_state *s, const char *name, const struct cons__host *self)
{
	for (size_t i = 0; i < s->links.n; i++) {
		const struct cons__link *l = s->links.v[i];

		if (l->host != NULL && l->host == self)
			continue;
		if (strcmp(l->pub.a, name) == 0 || strcmp(l->pub.b, name) == 0)
			return true;
	}
	return false;
}

static int host_names_ok(const struct cons_state *s, const struct cons_host *h,
			 const struct cons__host *old, struct cons_result *res)
{
	const struct cons__host *same = cons__host_by_name(s, h->name);
	const struct cons__host *to = cons__host_by_name(s, h->uplink_to);

	if (same != NULL && same != old) {
		cons__err(res->err, "host name %s is taken by host id %llu; choose another name",
			  h->name, (unsigned long long)same->pub.id);
		return res->status = -EEXIST;
	}
	if (is_switch(s, h->name, old)) {
		cons__err(res->err, "%s is a switch in the topology; a host needs its own name",
			  h->name);
		return res->status = -EEXIST;
	}
	if (to != NULL && to != old) {
		cons__err(res->err, "host %s: uplink_to %s is a host; an uplink goes to a switch",
			  h->name, h->uplink_to);
		return res->status = -EINVAL;
	}
	return 0;
}

/* The latency budget of a host's uplink edge (0: the default). */
static uint64_t uplink_latency(const struct cons_host *h)
{
	return h->uplink_latency_ns ? h->uplink_latency_ns : CONS_HOP_LATENCY_DEFAULT_NS;
}

/* May an existing host change as asked? Name, switch, uplink rate and
 * frame size went into the routes, budgets and packet sizes of the rtpaths
 * that start or end there (same-host ones included). */
static int host_change_ok(const struct cons__host *old, const struct cons_host *h,
			  struct cons_result *res)
{
	const struct cons_host *o = &old->pub;
	bool topo = strcmp(o->name, h->name) != 0 || strcmp(o->uplink_to, h->uplink_to) != 0 ||
		    o->uplink_bps != h->uplink_bps || o->max_frame_bytes != h->max_frame_bytes ||
		    uplink_latency(o) != uplink_latency(h);

	if (topo && old->n_paths > 0) {
		cons__err(res->err, "host %s: %zu rtpaths start or end there; its name, uplink_to, "
			  "uplink_bps, max_frame_bytes and uplink_latency_ns cannot change until "
			  "they are released",
			  o->name, old->n_paths);
		return res->status = -EBUSY;
	}
	return topo ? 0 : budget_fits(&old->uplink->pub, h->rt_budget_ppm, res);
}

static void uplink_fill(struct cons__link *l, struct cons__host *host)
{
	const struct cons_host *h = &host->pub;
	struct link_key k = link_key(h->name, h->uplink_to);

	snprintf(l->pub.a, sizeof(l->pub.a), "%s", k.a);
	snprintf(l->pub.b, sizeof(l->pub.b), "%s", k.b);
	l->pub.capacity_ab_bps = h->uplink_bps;
	l->pub.capacity_ba_bps = h->uplink_bps;
	l->pub.rt_budget_ppm = h->rt_budget_ppm;
	l->pub.hop_latency_ns = uplink_latency(h);
	l->host = host;
	host->uplink = l;
}

/* Switches the host to a new uplink edge `nl` (already allocated). */
static void host_rehome(struct cons_state *s, struct cons__host *host, struct cons__link *nl)
{
	if (host->uplink != NULL)
		link_drop(s, host->uplink);
	uplink_fill(nl, host);
	cons__vec_insert(&s->links, link_pos(s, nl->pub.a, nl->pub.b), nl);
	cons__graph_invalidate(s);
}

static int host_cmp(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key, e = ((const struct cons__host *)elem)->pub.id;

	return id < e ? -1 : id > e;
}

int cons__host_add(struct cons_state *s, const struct cons_host *in, struct cons_result *res)
{
	struct cons__host *old = cons__host_by_id(s, in->id), *host = old;
	struct cons__link *nl = NULL;
	struct cons_host h = *in;
	size_t pos;
	int rc;

	if (h.uplink_to[0] == '\0')
		snprintf(h.uplink_to, sizeof(h.uplink_to), "%s", CONS_UPLINK_DEFAULT);
	rc = host_names_ok(s, &h, old, res);
	if (rc == 0 && old != NULL)
		rc = host_change_ok(old, &h, res);
	if (rc != 0)
		return 0;
	if (old == NULL || strcmp(old->pub.name, h.name) != 0 ||
	    strcmp(old->pub.uplink_to, h.uplink_to) != 0) {
		nl = calloc(1, sizeof(*nl));
		if (nl == NULL || cons__vec_reserve(&s->links, 1) != 0)
			goto nomem;
	}
	if (old == NULL) {
		host = calloc(1, sizeof(*host));
		if (host == NULL || cons__vec_reserve(&s->hosts, 1) != 0)
			goto nomem;
		cons__vec_find(&s->hosts, &h.id, host_cmp, &pos);
		cons__vec_insert(&s->hosts, pos, host);
	}
	host->pub = h;
	if (nl != NULL)
		host_rehome(s, host, nl);
	else
		uplink_fill(host->uplink, host);
	return 0;
nomem:
	free(nl);
	if (host != old)
		free(host);
	return -ENOMEM;
}

int cons__host_remove(struct cons_state *s, uint64_t id, struct cons_result *res)
{
	struct cons__host *h = cons__host_by_id(s, id);
	size_t pos;

	if (h == NULL) {
		cons__err(res->err, "no host with id %llu (see rtvctl hosts)", (unsigned long long)id);
		return cons__answer(res, -ENOENT);
	}
	if (h->n_paths > 0 || h->n_vms > 0) {
		cons__err(res->err, "host %s still has %zu rtpaths and %zu VMs; release and move "
			  "them first", h->pub.name, h->n_paths, h->n_vms);
		return cons__answer(res, -EBUSY);
	}
	link_drop(s, h->uplink);
	cons__vec_find(&s->hosts, &id, host_cmp, &pos);
	cons__vec_remove(&s->hosts, pos);
	free(h->tx);
	free(h);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Switch links                                                              */

static int link_change_ok(const struct cons__link *old, const struct cons_link *l,
			  struct cons_result *res)
{
	const struct cons_link *o = &old->pub;

	if (old->n_paths > 0 && (o->capacity_ab_bps != l->capacity_ab_bps ||
				 o->capacity_ba_bps != l->capacity_ba_bps ||
				 o->hop_latency_ns != l->hop_latency_ns)) {
		cons__err(res->err, "link %s<->%s: %zu rtpaths cross it; its capacities and hop "
			  "latency cannot change until they are released", o->a, o->b,
			  old->n_paths);
		return res->status = -EBUSY;
	}
	return budget_fits(o, l->rt_budget_ppm, res);
}

int cons__link_set(struct cons_state *s, const struct cons_link *in, struct cons_result *res)
{
	struct cons_link l = *in;
	struct cons__link *old, *nl;

	if (strcmp(l.a, l.b) > 0) {
		snprintf(l.a, sizeof(l.a), "%s", in->b);
		snprintf(l.b, sizeof(l.b), "%s", in->a);
		l.capacity_ab_bps = in->capacity_ba_bps;
		l.capacity_ba_bps = in->capacity_ab_bps;
	}
	l.reserved_ab_bps = l.reserved_ba_bps = 0;
	if (cons__host_by_name(s, l.a) != NULL || cons__host_by_name(s, l.b) != NULL) {
		cons__err(res->err, "link %s<->%s: %s is a host; a host's uplink is set by host_add "
			  "(uplink_to, uplink_bps)", l.a, l.b,
			  cons__host_by_name(s, l.a) ? l.a : l.b);
		return cons__answer(res, -EINVAL);
	}
	old = cons__link_find(s, l.a, l.b);
	if (old != NULL) {
		if (link_change_ok(old, &l, res) != 0)
			return 0;
		l.reserved_ab_bps = old->pub.reserved_ab_bps;
		l.reserved_ba_bps = old->pub.reserved_ba_bps;
		old->pub = l;
		return 0;
	}
	nl = calloc(1, sizeof(*nl));
	if (nl == NULL || cons__vec_reserve(&s->links, 1) != 0) {
		free(nl);
		return -ENOMEM;
	}
	nl->pub = l;
	cons__vec_insert(&s->links, link_pos(s, l.a, l.b), nl);
	cons__graph_invalidate(s);
	return 0;
}

int cons__link_remove(struct cons_state *s, const char *a, const char *b, struct cons_result *res)
{
	struct cons__link *l = cons__link_find(s, a, b);

	if (l == NULL) {
		cons__err(res->err, "no link %s<->%s (see rtvctl links)", a, b);
		return cons__answer(res, -ENOENT);
	}
	if (l->host != NULL) {
		cons__err(res->err, "link %s<->%s is the uplink of host %s; remove or re-home the "
			  "host instead", l->pub.a, l->pub.b, l->host->pub.name);
		return cons__answer(res, -EINVAL);
	}
	if (l->n_paths > 0) {
		cons__err(res->err, "link %s<->%s carries %zu rtpaths; release them first",
			  l->pub.a, l->pub.b, l->n_paths);
		return cons__answer(res, -EBUSY);
	}
	link_drop(s, l);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Graph and routes                                                          */

void cons__graph_free(struct cons__graph *g)
{
	free(g->nodes);
	free(g->adj);
	free(g->parent);
	free(g->queue);
	memset(g, 0, sizeof(*g));
}

void cons__graph_invalidate(struct cons_state *s)
{
	cons__graph_free(&s->graph);
}

static int str_ptr_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int node_cmp(const void *x, const void *y)
{
	return strcmp(((const struct cons__node *)x)->name, ((const struct cons__node *)y)->name);
}

static int adj_cmp(const void *x, const void *y)
{
	const struct cons__adj *p = x, *q = y;

	return p->node < q->node ? -1 : p->node > q->node;
}

static uint32_t node_index(const struct cons__graph *g, const char *name)
{
	struct cons__node key = { .name = name };
	const struct cons__node *n = bsearch(&key, g->nodes, g->n_nodes, sizeof(key), node_cmp);

	return n == NULL ? UINT32_MAX : (uint32_t)(n - g->nodes);
}

/* Sorted unique node names from the links' ends. */
static int graph_nodes(struct cons__graph *g, const struct cons__vec *links)
{
	const char **names = malloc(2 * links->n * sizeof(*names) + 1);
	uint32_t n = 0;

	g->nodes = calloc(2 * links->n + 1, sizeof(*g->nodes));
	if (names == NULL || g->nodes == NULL) {
		free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < links->n; i++) {
		const struct cons__link *l = links->v[i];

		names[2 * i] = l->pub.a;
		names[2 * i + 1] = l->pub.b;
	}
	qsort(names, 2 * links->n, sizeof(*names), str_ptr_cmp);
	for (size_t i = 0; i < 2 * links->n; i++)
		if (n == 0 || strcmp(g->nodes[n - 1].name, names[i]) != 0)
			g->nodes[n++].name = names[i];
	g->n_nodes = n;
	free(names);
	return 0;
}

static void graph_edges(struct cons__graph *g, const struct cons__vec *links)
{
	for (size_t i = 0; i < links->n; i++) {
		struct cons__link *l = links->v[i];

		g->nodes[node_index(g, l->pub.a)].n_adj++;
		g->nodes[node_index(g, l->pub.b)].n_adj++;
	}
	for (uint32_t i = 0, off = 0; i < g->n_nodes; i++) {
		g->nodes[i].adj_off = off;
		off += g->nodes[i].n_adj;
		g->nodes[i].n_adj = 0;
	}
	for (size_t i = 0; i < links->n; i++) {
		struct cons__link *l = links->v[i];
		uint32_t a = node_index(g, l->pub.a), b = node_index(g, l->pub.b);
		struct cons__node *na = &g->nodes[a], *nb = &g->nodes[b];

		g->adj[na->adj_off + na->n_adj++] = (struct cons__adj){ a, b, { l, true } };
		g->adj[nb->adj_off + nb->n_adj++] = (struct cons__adj){ b, a, { l, false } };
	}
	for (uint32_t i = 0; i < g->n_nodes; i++)
		qsort(g->adj + g->nodes[i].adj_off, g->nodes[i].n_adj, sizeof(*g->adj), adj_cmp);
}

static int graph_build(struct cons_state *s)
{
	struct cons__graph *g = &s->graph;

	if (g->valid)
		return 0;
	cons__graph_free(g);
	if (graph_nodes(g, &s->links) != 0)
		goto nomem;
	g->adj = calloc(2 * s->links.n + 1, sizeof(*g->adj));
	g->parent = calloc(g->n_nodes + 1, sizeof(*g->parent));
	g->queue = calloc(g->n_nodes + 1, sizeof(*g->queue));
	if (g->adj == NULL || g->parent == NULL || g->queue == NULL)
		goto nomem;
	graph_edges(g, &s->links);
	g->valid = true;
	return 0;
nomem:
	cons__graph_free(g);
	return -ENOMEM;
}

/* BFS from src; parent[v] = index of the adjacency entry that reached v. */
static void bfs(struct cons__graph *g, uint32_t src, uint32_t dst)
{
	uint32_t head = 0, tail = 0;

	for (uint32_t i = 0; i < g->n_nodes; i++)
		g->parent[i] = UINT32_MAX;
	g->parent[src] = UINT32_MAX - 1;
	g->queue[tail++] = src;
	while (head < tail && g->parent[dst] == UINT32_MAX) {
		const struct cons__node *u = &g->nodes[g->queue[head++]];

		for (uint32_t k = u->adj_off; k < u->adj_off + u->n_adj; k++) {
			uint32_t v = g->adj[k].node;

			if (g->parent[v] != UINT32_MAX)
				continue;
			g->parent[v] = k;
			g->queue[tail++] = v;
		}
	}
}

int cons__route(struct cons_state *s, const struct cons__host *from, const struct cons__host *to,
		struct cons__hop *hops, size_t max)
{
	struct cons__graph *g = &s->graph;
	uint32_t src, dst, n = 0;

	if (graph_build(s) != 0)
		return -ENOMEM;
	src = node_index(g, from->pub.name);
	dst = node_index(g, to->pub.name);
	if (src == UINT32_MAX || dst == UINT32_MAX)
		return -ENOENT;
	bfs(g, src, dst);
	if (g->parent[dst] == UINT32_MAX)
		return -ENOENT;
	for (uint32_t v = dst; v != src; v = g->adj[g->parent[v]].from)
		n++;
	if (n > max)
		return -E2BIG;
	for (uint32_t v = dst, i = n; v != src; v = g->adj[g->parent[v]].from)
		hops[--i] = g->adj[g->parent[v]].hop;
	return (int)n;
}
