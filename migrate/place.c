/* place.c — communication-aware placement (see migrate.h).
 *
 * Seed 004 (OVCT) moves a VM to the host with the fewest hops to the one
 * client it serves, if that host has CPU and memory above thresholds, and
 * takes ~10 s to decide (SSH polling). Here the objective is the VM's whole
 * communication: score(h) = Σ over its peers p of traffic(vm, p) ×
 * hops(h, host(p)), hop counts on the rack's topology (a star through the
 * ToR, or a tree of switches as in seed 001). A host is a candidate when it
 * accepts VMs, has the vCPUs and memory, and every rtpath of the VM fits
 * every link of its new route with the old route still reserved — the same
 * rule the make-before-break prepare applies, so a proposal is one the
 * rack can admit.
 *
 * Cost per decision: one BFS per distinct peer host (P of them) over the
 * topology, then P multiply-adds per host, one route walk per rtpath per
 * host, and a sort of the hosts: O(F + P·(N+E) + H·(P + R·depth) + H log H)
 * for F flows, N nodes, E links, H hosts, R rtpaths of the VM. Nothing is
 * allocated while deciding: the scratch is sized once per topology.
 *
 * Deterministic: BFS visits neighbours in link order, ties in score go to
 * the current host first, then to the lower host index.
 */
#include "migrate/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEER_HOSTS_MAX 64
#define VM_RTPATHS_MAX 64
#define HOPS_INF UINT16_MAX
#define LINK_NONE UINT32_MAX

struct mig_place_scratch {
	uint32_t n_nodes, n_hosts, n_links;
	uint32_t *adj_off, *adj_node, *adj_link;	/* CSR, both directions */
	uint32_t *queue;
	uint16_t *hops;		/* [PEER_HOSTS_MAX][n_nodes] */
	uint32_t *up_link;	/* [PEER_HOSTS_MAX][n_nodes]: link towards the root */
	uint32_t peer_host[PEER_HOSTS_MAX];
	uint64_t peer_bps[PEER_HOSTS_MAX];
	uint32_t n_peer;
	uint32_t rtp[VM_RTPATHS_MAX], n_rtp;
	uint64_t *need;		/* [n_links * 2], per direction, zero between uses */
	uint32_t *touched, n_touched;
	struct mig_place_cand *all;	/* [n_hosts] */
};

const char *mig_place_refusal_name(enum mig_place_refusal r)
{
	switch (r) {
	case MIG_PLACE_OK: return "ok";
	case MIG_PLACE_CURRENT: return "current";
	case MIG_PLACE_NOT_ACCEPTING: return "not accepting VMs";
	case MIG_PLACE_CPU: return "not enough free vCPUs";
	case MIG_PLACE_MEM: return "not enough free memory";
	case MIG_PLACE_RT_BUDGET: return "an rtpath does not fit a link's RT budget";
	case MIG_PLACE_UNREACHABLE: return "unreachable from a peer";
	}
	return "?";
}

static int world_check(const struct mig_place_world *w, char *err, size_t n)
{
	if (w->n_hosts == 0 || w->n_hosts > w->n_nodes || w->n_nodes >= HOPS_INF) {
		snprintf(err, n, "placement: %u hosts among %u nodes (need 1 <= hosts <= nodes < %u)",
			 w->n_hosts, w->n_nodes, HOPS_INF);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < w->n_links; i++) {
		if (w->links[i].a >= w->n_nodes || w->links[i].b >= w->n_nodes ||
		    w->links[i].a == w->links[i].b) {
			snprintf(err, n, "placement: link %u joins nodes %u and %u (of %u)", i,
				 w->links[i].a, w->links[i].b, w->n_nodes);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < w->n_vms; i++) {
		if (w->vms[i].host >= w->n_hosts) {
			snprintf(err, n, "placement: VM %u on host index %u (of %u)", i,
				 w->vms[i].host, w->n_hosts);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < w->n_flows; i++) {
		if (w->flows[i].a >= w->n_vms || w->flows[i].b >= w->n_vms) {
			snprintf(err, n, "placement: flow %u between VMs %u and %u (of %u)", i,
				 w->flows[i].a, w->flows[i].b, w->n_vms);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < w->n_rtpaths; i++) {
		if (w->rtpaths[i].src >= w->n_vms || w->rtpaths[i].dst >= w->n_vms) {
			snprintf(err, n, "placement: rtpath %u between VMs %u and %u (of %u)", i,
				 w->rtpaths[i].src, w->rtpaths[i].dst, w->n_vms);
			return -EINVAL;
		}
	}
	return 0;
}

static void build_adjacency(struct mig_place_scratch *s, const struct mig_place_world *w)
{
	uint32_t *fill = s->queue;	/* free until the first BFS */

	memset(s->adj_off, 0, (s->n_nodes + 1) * sizeof(*s->adj_off));
	for (uint32_t i = 0; i < w->n_links; i++) {
		s->adj_off[w->links[i].a + 1]++;
		s->adj_off[w->links[i].b + 1]++;
	}
	for (uint32_t v = 0; v < s->n_nodes; v++)
		s->adj_off[v + 1] += s->adj_off[v];
	memcpy(fill, s->adj_off, s->n_nodes * sizeof(*fill));
	for (uint32_t i = 0; i < w->n_links; i++) {
		uint32_t a = w->links[i].a, b = w->links[i].b;

		s->adj_node[fill[a]] = b;
		s->adj_link[fill[a]++] = i;
		s->adj_node[fill[b]] = a;
		s->adj_link[fill[b]++] = i;
	}
}

void mig_place_scratch_free(struct mig_place_scratch *s)
{
	if (!s)
		return;
	free(s->adj_off);
	free(s->adj_node);
	free(s->adj_link);
	free(s->queue);
	free(s->hops);
	free(s->up_link);
	free(s->need);
	free(s->touched);
	free(s->all);
	free(s);
}

int mig_place_scratch_new(const struct mig_place_world *w, struct mig_place_scratch **out,
			  char *err, size_t errlen)
{
	struct mig_place_scratch *s;
	size_t nn, nl;
	int rc = world_check(w, err, errlen);

	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->n_nodes = w->n_nodes;
	s->n_hosts = w->n_hosts;
	s->n_links = w->n_links;
	nn = w->n_nodes, nl = w->n_links;
	s->adj_off = calloc(nn + 1, sizeof(*s->adj_off));
	s->adj_node = calloc(2 * nl + 1, sizeof(*s->adj_node));
	s->adj_link = calloc(2 * nl + 1, sizeof(*s->adj_link));
	s->queue = calloc(nn, sizeof(*s->queue));
	s->hops = calloc(PEER_HOSTS_MAX * nn, sizeof(*s->hops));
	s->up_link = calloc(PEER_HOSTS_MAX * nn, sizeof(*s->up_link));
	s->need = calloc(2 * nl + 1, sizeof(*s->need));
	s->touched = calloc(2 * nl + 1, sizeof(*s->touched));
	s->all = calloc(w->n_hosts, sizeof(*s->all));
	if (!s->adj_off || !s->adj_node || !s->adj_link || !s->queue || !s->hops ||
	    !s->up_link || !s->need || !s->touched || !s->all) {
		mig_place_scratch_free(s);
		return -ENOMEM;
	}
	build_adjacency(s, w);
	*out = s;
	return 0;
}

/* Hop counts from root into hops[], and for every node the link of its
 * first step towards root into up[]. */
static void bfs(const struct mig_place_scratch *s, uint32_t root, uint16_t *hops, uint32_t *up)
{
	uint32_t head = 0, tail = 0;

	for (uint32_t v = 0; v < s->n_nodes; v++) {
		hops[v] = HOPS_INF;
		up[v] = LINK_NONE;
	}
	hops[root] = 0;
	s->queue[tail++] = root;
	while (head < tail) {
		uint32_t v = s->queue[head++];

		for (uint32_t k = s->adj_off[v]; k < s->adj_off[v + 1]; k++) {
			uint32_t u = s->adj_node[k];

			if (hops[u] != HOPS_INF)
				continue;
			hops[u] = hops[v] + 1;
			up[u] = s->adj_link[k];
			s->queue[tail++] = u;
		}
	}
}

static int peer_slot(struct mig_place_scratch *s, uint32_t host)
{
	for (uint32_t i = 0; i < s->n_peer; i++) {
		if (s->peer_host[i] == host)
			return (int)i;
	}
	if (s->n_peer == PEER_HOSTS_MAX)
		return -E2BIG;
	s->peer_host[s->n_peer] = host;
	s->peer_bps[s->n_peer] = 0;
	return (int)s->n_peer++;
}

/* The VM's peer hosts with their traffic, and its rtpaths. */
static int gather(const struct mig_place_world *w, struct mig_place_scratch *s, uint32_t vm)
{
	s->n_peer = 0;
	s->n_rtp = 0;
	for (uint32_t i = 0; i < w->n_flows; i++) {
		const struct mig_place_flow *f = &w->flows[i];
		uint32_t peer = f->a == vm ? f->b : f->b == vm ? f->a : vm;
		int slot;

		if (peer == vm)
			continue;
		slot = peer_slot(s, w->vms[peer].host);
		if (slot < 0)
			return slot;
		s->peer_bps[slot] += f->bps;
	}
	for (uint32_t i = 0; i < w->n_rtpaths; i++) {
		const struct mig_place_rtpath *r = &w->rtpaths[i];
		uint32_t peer = r->src == vm ? r->dst : r->dst == vm ? r->src : vm;
		int slot;

		if (peer == vm)
			continue;
		if (s->n_rtp == VM_RTPATHS_MAX)
			return -E2BIG;
		slot = peer_slot(s, w->vms[peer].host);
		if (slot < 0)
			return slot;
		s->rtp[s->n_rtp++] = i;
	}
	for (uint32_t i = 0; i < s->n_peer; i++)
		bfs(s, s->peer_host[i], &s->hops[(size_t)i * s->n_nodes],
		    &s->up_link[(size_t)i * s->n_nodes]);
	return 0;
}

static uint32_t slot_of(const struct mig_place_scratch *s, uint32_t host)
{
	for (uint32_t i = 0; i < s->n_peer; i++) {
		if (s->peer_host[i] == host)
			return i;
	}
	return 0;	/* not reached: gather() gave every rtpath peer a slot */
}

static void need_reset(struct mig_place_scratch *s)
{
	for (uint32_t i = 0; i < s->n_touched; i++)
		s->need[s->touched[i]] = 0;
	s->n_touched = 0;
}

/* Walks rtpath r's route as it would be with the VM on host h and adds its
 * rate to every link direction; false (and c filled) at the first that
 * does not fit. The route is the BFS tree's path from h to the peer's host. */
static bool route_fits(const struct mig_place_world *w, struct mig_place_scratch *s,
		       uint32_t vm, uint32_t r, uint32_t h, struct mig_place_cand *c)
{
	const struct mig_place_rtpath *p = &w->rtpaths[r];
	bool vm_sends = p->src == vm;
	uint32_t peer = vm_sends ? p->dst : p->src, slot = slot_of(s, w->vms[peer].host);
	const uint32_t *up = &s->up_link[(size_t)slot * s->n_nodes];
	uint32_t x = h;

	while (up[x] != LINK_NONE) {
		const struct mig_place_link *l = &w->links[up[x]];
		uint32_t next = l->a == x ? l->b : l->a;
		uint32_t from = vm_sends ? x : next, to = vm_sends ? next : x;
		bool ab = l->a == from;
		uint32_t k = up[x] * 2 + (ab ? 0 : 1);
		uint64_t free_bps = ab ? l->rt_free_ab_bps : l->rt_free_ba_bps;

		if (s->need[k] == 0)
			s->touched[s->n_touched++] = k;
		s->need[k] += p->rate_bps;
		if (s->need[k] > free_bps) {
			c->link = up[x];
			c->link_from = from;
			c->link_to = to;
			c->link_need_bps = s->need[k];
			c->link_free_bps = free_bps;
			return false;
		}
		x = next;
	}
	return true;
}

static void score_host(const struct mig_place_world *w, struct mig_place_scratch *s,
		       uint32_t vm, uint32_t h, struct mig_place_cand *c)
{
	const struct mig_place_vm *v = &w->vms[vm];
	const struct mig_place_host *host = &w->hosts[h];

	memset(c, 0, sizeof(*c));
	c->host = h;
	for (uint32_t i = 0; i < s->n_peer; i++) {
		uint16_t hops = s->hops[(size_t)i * s->n_nodes + h];

		if (hops == HOPS_INF) {
			/* where it is stays allowed: anything reachable beats it */
			c->refusal = h == v->host ? MIG_PLACE_CURRENT : MIG_PLACE_UNREACHABLE;
			c->score = UINT64_MAX;
			return;
		}
		c->score += s->peer_bps[i] * hops;
	}
	if (h == v->host)
		c->refusal = MIG_PLACE_CURRENT;
	else if (!host->accepts)
		c->refusal = MIG_PLACE_NOT_ACCEPTING;
	else if (host->vcpus_free < v->vcpus)
		c->refusal = MIG_PLACE_CPU;
	else if (host->mem_free_bytes < v->mem_bytes)
		c->refusal = MIG_PLACE_MEM;
	if (c->refusal != MIG_PLACE_OK)
		return;
	for (uint32_t i = 0; i < s->n_rtp; i++) {
		if (!route_fits(w, s, vm, s->rtp[i], h, c)) {
			c->refusal = MIG_PLACE_RT_BUDGET;
			break;
		}
	}
	need_reset(s);
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct mig_place_cand *a = pa, *b = pb;
	bool fa = a->refusal <= MIG_PLACE_CURRENT, fb = b->refusal <= MIG_PLACE_CURRENT;

	if (fa != fb)
		return fa ? -1 : 1;
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if ((a->refusal == MIG_PLACE_CURRENT) != (b->refusal == MIG_PLACE_CURRENT))
		return a->refusal == MIG_PLACE_CURRENT ? -1 : 1;
	return a->host < b->host ? -1 : a->host > b->host;
}

static void explain(const struct mig_place_world *w, const struct mig_place_policy *pol,
		    uint64_t now_ms, const struct mig_place_cand *best,
		    struct mig_place_decision *d)
{
	const struct mig_place_vm *v = &w->vms[d->vm];
	uint32_t from_id = w->hosts[d->from].id, best_id = w->hosts[best->host].id;
	unsigned __int128 gain = d->score_from - best->score;

	d->to = d->from;
	if (best->host == d->from) {
		snprintf(d->reason, sizeof(d->reason), "stay: host %u is already the best (score %llu)",
			 from_id, (unsigned long long)d->score_from);
	} else if (v->last_move_ms && now_ms - v->last_move_ms < pol->cooldown_ms) {
		snprintf(d->reason, sizeof(d->reason),
			 "stay: moved %llu ms ago, cool-down %llu ms (best would be host %u)",
			 (unsigned long long)(now_ms - v->last_move_ms),
			 (unsigned long long)pol->cooldown_ms, best_id);
	} else if (gain * 1000000u < (unsigned __int128)d->score_from * pol->hysteresis_ppm) {
		snprintf(d->reason, sizeof(d->reason),
			 "stay: host %u scores %llu, only %.1f%% below %llu (hysteresis %.1f%%)",
			 best_id, (unsigned long long)best->score,
			 100.0 * (double)gain / (double)d->score_from,
			 (unsigned long long)d->score_from, pol->hysteresis_ppm / 1e4);
	} else {
		d->move = true;
		d->to = best->host;
		snprintf(d->reason, sizeof(d->reason), "move to host %u: score %llu -> %llu",
			 best_id, (unsigned long long)d->score_from,
			 (unsigned long long)best->score);
	}
	d->score_to = d->move ? best->score : d->score_from;
}

int mig_place_decide(const struct mig_place_world *w, struct mig_place_scratch *s,
		     const struct mig_place_policy *pol, uint32_t vm, uint64_t now_ms,
		     struct mig_place_decision *d)
{
	const struct mig_place_cand *best = NULL;
	int rc;

	if (vm >= w->n_vms || w->n_hosts != s->n_hosts || w->n_nodes != s->n_nodes ||
	    w->n_links != s->n_links)
		return -EINVAL;
	rc = gather(w, s, vm);
	if (rc)
		return rc;
	d->vm = vm;
	d->from = w->vms[vm].host;
	d->move = false;
	for (uint32_t h = 0; h < w->n_hosts; h++) {
		score_host(w, s, vm, h, &s->all[h]);
		if (h == d->from)
			d->score_from = s->all[h].score;
	}
	qsort(s->all, w->n_hosts, sizeof(*s->all), cand_cmp);
	best = &s->all[0];	/* the current host is always feasible */
	explain(w, pol, now_ms, best, d);
	d->n = d->cap < w->n_hosts ? d->cap : w->n_hosts;
	if (d->n)
		memcpy(d->cands, s->all, d->n * sizeof(*d->cands));
	return 0;
}

uint64_t mig_place_total(const struct mig_place_world *w, struct mig_place_scratch *s)
{
	uint64_t total = 0;

	for (uint32_t h = 0; h < w->n_hosts; h++) {
		bfs(s, h, s->hops, s->up_link);
		for (uint32_t i = 0; i < w->n_flows; i++) {
			const struct mig_place_flow *f = &w->flows[i];
			uint16_t hops;

			if (w->vms[f->a].host != h)
				continue;
			hops = s->hops[w->vms[f->b].host];
			if (hops != HOPS_INF)
				total += f->bps * hops;
		}
	}
	return total;
}
