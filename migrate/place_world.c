/* place_world.c — a placement world from the rack's replicated state (see
 * migrate.h, "Placement from the replicated state").
 *
 * Nodes: the state's hosts (in its order, by id) are nodes 0..H-1; every
 * other name at a link's end is a switch, numbered after them in name
 * order. Each link direction's free RT budget is what admission could
 * still give there: capacity × rt_budget_ppm / 10^6 − reserved, in wire
 * bits/s, the same terms an rtpath's reservation is counted in on a link
 * (consensus.h, "Admission in wire terms"). An rtpath's rate is its wire
 * rate: W(service rate) with its max_pkt_bytes.
 */
#include "migrate/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/consensus.h"
#include "sched/sched.h"

struct name_ix {
	const char *name;
	uint32_t node;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

static int find_name(const struct name_ix *ix, size_t n, const char *name)
{
	struct name_ix key = { name, 0 };
	const struct name_ix *hit = bsearch(&key, ix, n, sizeof(*ix), name_cmp);

	return hit ? (int)hit->node : -1;
}

/* Every node name with its node: hosts 0..H-1 (the state's order), then
 * the switches in name order; *out sorted by name for find_name. */
static int nodes(struct mig_place_built *b, const struct cons_state *s, struct name_ix **out,
		 size_t *n_out)
{
	size_t H = cons_state_n_hosts(s), L = cons_state_n_links(s), n = 0, sw0, m;
	struct name_ix *ix = calloc(H + 2 * L + 1, sizeof(*ix));

	if (!ix)
		return -ENOMEM;
	for (size_t i = 0; i < H; i++)
		ix[n++] = (struct name_ix){ cons_state_host_at(s, i)->name, (uint32_t)i };
	qsort(ix, H, sizeof(*ix), name_cmp);
	sw0 = n;
	for (size_t i = 0; i < L; i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		if (find_name(ix, H, l->a) < 0)
			ix[n++] = (struct name_ix){ l->a, 0 };
		if (find_name(ix, H, l->b) < 0)
			ix[n++] = (struct name_ix){ l->b, 0 };
	}
	qsort(ix + sw0, n - sw0, sizeof(*ix), name_cmp);
	for (size_t i = m = sw0; i < n; i++) {
		if (m == sw0 || strcmp(ix[m - 1].name, ix[i].name) != 0)
			ix[m++] = ix[i];
	}
	for (size_t i = sw0; i < m; i++)
		ix[i].node = (uint32_t)(H + i - sw0);
	b->n_nodes = (uint32_t)m;
	qsort(ix, m, sizeof(*ix), name_cmp);	/* a switch is never named like a host */
	*out = ix;
	*n_out = m;
	return 0;
}

static uint64_t rt_free(uint64_t cap_bps, uint32_t ppm, uint64_t reserved_bps)
{
	unsigned __int128 budget = (unsigned __int128)cap_bps * ppm / CONS_PPM;

	return budget > reserved_bps ? (uint64_t)(budget - reserved_bps) : 0;
}

static int links(struct mig_place_built *b, const struct cons_state *s, const struct name_ix *ix,
		 size_t n_ix)
{
	size_t L = cons_state_n_links(s);

	b->links = calloc(L + 1, sizeof(*b->links));
	if (!b->links)
		return -ENOMEM;
	for (size_t i = 0; i < L; i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		b->links[i] = (struct mig_place_link){
			.a = (uint32_t)find_name(ix, n_ix, l->a),
			.b = (uint32_t)find_name(ix, n_ix, l->b),
			.rt_free_ab_bps = rt_free(l->capacity_ab_bps, l->rt_budget_ppm, l->reserved_ab_bps),
			.rt_free_ba_bps = rt_free(l->capacity_ba_bps, l->rt_budget_ppm, l->reserved_ba_bps),
		};
	}
	b->n_links = (uint32_t)L;
	return 0;
}

static void hosts(struct mig_place_built *b, const struct cons_state *s,
		  const struct mig_place_input *in)
{
	for (uint32_t i = 0; i < b->n_hosts; i++) {
		const struct cons_host *h = cons_state_host_at(s, i);

		b->hosts[i] = (struct mig_place_host){ .id = (uint32_t)h->id };
		b->host_ids[i] = h->id;
		for (size_t k = 0; k < in->n_hosts; k++) {
			if (in->hosts[k].host_id != h->id)
				continue;
			b->hosts[i].vcpus_free = in->hosts[k].vcpus_free;
			b->hosts[i].mem_free_bytes = in->hosts[k].mem_free_bytes;
			b->hosts[i].accepts = in->hosts[k].accepts;
		}
	}
}

static uint32_t host_index(const struct mig_place_built *b, uint64_t id)
{
	for (uint32_t i = 0; i < b->n_hosts; i++) {
		if (b->host_ids[i] == id)
			return i;
	}
	return UINT32_MAX;
}

static void vms(struct mig_place_built *b, const struct cons_state *s,
		const struct mig_place_input *in)
{
	for (uint32_t i = 0; i < b->n_vms; i++) {
		const struct cons_vm *v = cons_state_vm_at(s, i);

		b->vm_uuids[i] = v->uuid;
		b->vms[i] = (struct mig_place_vm){ .host = host_index(b, v->host_id), .vcpus = 1 };
		for (size_t k = 0; k < in->n_vms; k++) {
			if (strcmp(in->vms[k].uuid, v->uuid) != 0)
				continue;
			b->vms[i].vcpus = in->vms[k].vcpus;
			b->vms[i].mem_bytes = in->vms[k].mem_bytes;
			b->vms[i].last_move_ms = in->vms[k].last_move_ms;
		}
	}
}

int mig_place_vm_index(const struct mig_place_built *b, const char *uuid)
{
	for (uint32_t i = 0; i < b->n_vms; i++) {
		if (strcmp(b->vm_uuids[i], uuid) == 0)
			return (int)i;
	}
	return -1;
}

static int vm_of_ip(const struct mig_place_built *b, const struct cons_state *s, uint32_t ip)
{
	const struct cons_vm *v = cons_state_vm_by_ip(s, ip);

	return v ? mig_place_vm_index(b, v->uuid) : -1;
}

static void flows_and_paths(struct mig_place_built *b, const struct cons_state *s,
			    const struct mig_place_input *in)
{
	for (size_t k = 0; k < in->n_traffic; k++) {
		int a = mig_place_vm_index(b, in->traffic[k].a_uuid);
		int c = mig_place_vm_index(b, in->traffic[k].b_uuid);

		if (a >= 0 && c >= 0 && a != c)
			b->flows[b->n_flows++] = (struct mig_place_flow){ (uint32_t)a, (uint32_t)c,
									  in->traffic[k].bps };
	}
	for (size_t i = 0; i < cons_state_n_paths(s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);
		int src = vm_of_ip(b, s, p->req.src_ip), dst = vm_of_ip(b, s, p->req.dst_ip);

		if (src < 0 || dst < 0)
			continue;	/* an end that is not a known VM does not move */
		b->rtpaths[b->n_rtpaths++] = (struct mig_place_rtpath){
			(uint32_t)src, (uint32_t)dst,
			sched_wire_rate_bps(p->service_rate_bps, p->req.max_pkt_bytes,
					    CONS_WIRE_OVERHEAD_BYTES),
		};
	}
}

void mig_place_built_free(struct mig_place_built *b)
{
	if (!b)
		return;
	free(b->hosts);
	free(b->host_ids);
	free(b->links);
	free(b->vms);
	free(b->vm_uuids);
	free(b->flows);
	free(b->rtpaths);
	memset(b, 0, sizeof(*b));
}

int mig_place_build(const struct cons_state *s, const struct mig_place_input *in,
		    struct mig_place_built *b, char *err, size_t errlen)
{
	struct name_ix *ix = NULL;
	size_t n_ix = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	b->n_hosts = (uint32_t)cons_state_n_hosts(s);
	b->n_vms = (uint32_t)cons_state_n_vms(s);
	if (b->n_hosts == 0) {
		snprintf(err, errlen, "placement: the rack has no hosts");
		return -ENOENT;
	}
	b->hosts = calloc(b->n_hosts, sizeof(*b->hosts));
	b->host_ids = calloc(b->n_hosts, sizeof(*b->host_ids));
	b->vms = calloc(b->n_vms + 1, sizeof(*b->vms));
	b->vm_uuids = calloc(b->n_vms + 1, sizeof(*b->vm_uuids));
	b->flows = calloc(in->n_traffic + 1, sizeof(*b->flows));
	b->rtpaths = calloc(cons_state_n_paths(s) + 1, sizeof(*b->rtpaths));
	rc = b->hosts && b->host_ids && b->vms && b->vm_uuids && b->flows && b->rtpaths ? 0 : -ENOMEM;
	if (!rc)
		rc = nodes(b, s, &ix, &n_ix);
	if (!rc)
		rc = links(b, s, ix, n_ix);
	free(ix);
	if (rc) {
		mig_place_built_free(b);
		return rc;
	}
	hosts(b, s, in);
	vms(b, s, in);
	flows_and_paths(b, s, in);
	b->w = (struct mig_place_world){
		.n_nodes = b->n_nodes, .n_hosts = b->n_hosts, .n_links = b->n_links,
		.n_vms = b->n_vms, .n_flows = b->n_flows, .n_rtpaths = b->n_rtpaths,
		.hosts = b->hosts, .links = b->links, .vms = b->vms, .flows = b->flows,
		.rtpaths = b->rtpaths,
	};
	return 0;
}
