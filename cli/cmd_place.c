/* cmd_place.c — `rtvctl vm place VM`: the explained placement of one VM.
 *
 * migrate/'s placement (mig_place_decide: the host with room that minimises
 * the VM's weighted communication distance, with hysteresis) runs here, in
 * rtvctl, on a copy of the rack's state that rtvctl rebuilds from the
 * agent's reads: hosts, switch links, VMs, then every rtpath's request
 * re-admitted in id order (the same admission code; an rtpath the copy does
 * not admit again — the topology changed since — is left out and counted).
 * What the replicated state does not hold comes from each host's agent:
 *   room: libvirt's CPUs and memory (status → libvirt → host), the free
 *     memory replaced by gossip's mem_avail_bytes where the host's gossip
 *     member is present (status → gossip); a host without libvirt accepts
 *     no VM;
 *   the VM's size: libvirt's vCPUs and memory (status → libvirt → vms);
 *   traffic between VM pairs: the rtpaths' reserved rates (the dataplane's
 *     measured rates do not reach rtvctl yet).
 * Time is 0 for the decision: the cool-down (it needs each VM's last move,
 * which nothing records yet) does not apply; hysteresis (5 %) does.
 * It only explains (no --apply): every candidate with its score, or the
 * reason it was refused (CPU, memory, the RT budget of a named link).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd_vm.h"
#include "cli/rtvctl_out.h"
#include "migrate/migrate.h"
#include "rpc/client.h"
#include "rpc/proto.h"

#define HOSTS_MAX 256

struct rtvctl_rd {	/* one read's array, reply kept open */
	struct agent_client_reply rep;
	const msgpack_object_array *a;
	bool open;
};

static int read_op(struct agent_client *c, const char *op, uint64_t timeout, struct rtvctl_rd *r)
{
	struct agent_client_req req;
	const msgpack_object *a;
	int rc;

	if (agent_client_req_begin(&req, op, 0, false))
		return -ENOMEM;
	rc = agent_client_call_retry(c, &req, timeout, &r->rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	r->open = true;
	if (r->rep.status != 0)
		return r->rep.status;
	a = agent_client_reply_get(&r->rep, op);
	if (!a || a->type != MSGPACK_OBJECT_ARRAY)
		return -EPROTO;
	r->a = &a->via.array;
	return 0;
}

static uint64_t apply(struct cons_state *s, uint64_t *ix, const struct cons_cmd *c, int *refused)
{
	struct cons_result res;

	if (cons_state_apply(s, ++*ix, c, &res) != 0 || res.status != 0) {
		(*refused)++;
		return 0;
	}
	return res.id;
}

/* The copy of the state: 0, or a status. */
static int rebuild(const struct rtvctl_rd r[4], struct cons_state *s, int *left_out,
		   uint64_t *ids)
{
	char why[CONS_ERRLEN];
	uint64_t ix = 0;
	int junk = 0;

	for (uint32_t i = 0; i < r[0].a->size; i++) {
		struct cons_cmd c = { .op = CONS_OP_HOST_ADD };

		if (cons_unpack_host(&r[0].a->ptr[i], &c.u.host, why) == 0)
			apply(s, &ix, &c, &junk);
	}
	for (uint32_t i = 0; i < r[1].a->size; i++) {
		struct cons_cmd c = { .op = CONS_OP_LINK_SET };

		/* host uplinks come with their hosts */
		if (cons_unpack_link(&r[1].a->ptr[i], &c.u.link, why) == 0)
			apply(s, &ix, &c, &junk);
	}
	for (uint32_t i = 0; i < r[2].a->size; i++) {
		struct cons_cmd c = { .op = CONS_OP_VM_SET };

		if (cons_unpack_vm(&r[2].a->ptr[i], &c.u.vm, why) == 0)
			apply(s, &ix, &c, &junk);
	}
	*left_out = 0;
	for (uint32_t i = 0; i < r[3].a->size; i++) {
		struct cons_cmd c = { .op = CONS_OP_PATH_RESERVE };
		struct cons_rtpath p;

		if (cons_unpack_path(&r[3].a->ptr[i], &p, why) != 0) {
			(*left_out)++;
			continue;
		}
		c.u.path = p.req;
		ids[apply(s, &ix, &c, left_out)] = p.id;	/* copy's id -> the rack's */
	}
	return 0;
}

/* Each host's room and each VM's size, from the hosts' agents. */
static void host_inputs(const struct rtvctl_opts *o, struct agent_client *local,
			const struct cons_state *s, uint64_t timeout,
			struct mig_place_hostres *hr, struct mig_place_vmres *vr, size_t n_vr,
			char (*uuids)[CONS_NAME_MAX])
{
	for (size_t i = 0; i < cons_state_n_hosts(s); i++) {
		const struct cons_host *h = cons_state_host_at(s, i);
		struct agent_client *c = NULL;
		struct agent_client_req req;
		struct agent_client_reply rep;
		const msgpack_object *lv, *host, *g, *vms;
		uint64_t cpus = 0, used = 0, mem = 0;

		hr[i] = (struct mig_place_hostres){ .host_id = h->id };
		if (rtvctl_peer_client(o, local, h->rpc_addr, timeout, &c) != 0)
			continue;
		if (agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false) == 0 &&
		    agent_client_call(c, &req, timeout, &rep) == 0) {
			lv = agent_client_reply_get(&rep, "libvirt");
			host = lv ? agent_client_map_get(lv, "host") : NULL;
			if (host && agent_client_map_uint(host, "cpus", &cpus) == 0 &&
			    agent_client_map_uint(host, "vcpus_used", &used) == 0 &&
			    agent_client_map_uint(host, "mem_free_bytes", &mem) == 0) {
				hr[i].accepts = true;
				hr[i].vcpus_free = cpus > used ? (uint32_t)(cpus - used) : 0;
				hr[i].mem_free_bytes = mem;
			}
			g = agent_client_reply_get(&rep, "gossip");
			g = g ? agent_client_map_get(g, "members") : NULL;
			for (uint32_t k = 0; g && g->type == MSGPACK_OBJECT_ARRAY && k < g->via.array.size; k++) {
				char name[CONS_NAME_MAX];

				if (agent_client_map_str(&g->via.array.ptr[k], "name", name, sizeof(name)) == 0 &&
				    strcmp(name, h->name) == 0 &&
				    agent_client_map_uint(&g->via.array.ptr[k], "mem_avail_bytes", &mem) == 0 &&
				    mem > 0)
					hr[i].mem_free_bytes = mem;
			}
			vms = lv ? agent_client_map_get(lv, "vms") : NULL;
			for (uint32_t k = 0; vms && vms->type == MSGPACK_OBJECT_ARRAY && k < vms->via.array.size; k++) {
				char u[CONS_NAME_MAX];
				uint64_t vc = 0, mb = 0;

				if (agent_client_map_str(&vms->via.array.ptr[k], "uuid", u, sizeof(u)) != 0)
					continue;
				agent_client_map_uint(&vms->via.array.ptr[k], "vcpus", &vc);
				agent_client_map_uint(&vms->via.array.ptr[k], "mem_bytes", &mb);
				for (size_t v = 0; v < n_vr; v++)
					if (strcmp(uuids[v], u) == 0) {
						vr[v].vcpus = (uint32_t)vc;
						vr[v].mem_bytes = mb;
					}
			}
			agent_client_reply_close(&rep);
		}
		agent_client_req_close(&req);
		agent_client_free(c);
	}
}

static void print_decision(const struct rtvctl_opts *o, const struct mig_place_built *b,
			   const struct mig_place_decision *d, const char *vm, int left_out)
{
	if (o->output == RTVCTL_OUT_JSON) {
		json_t *c = json_array();

		for (uint32_t i = 0; i < d->n; i++) {
			const struct mig_place_cand *k = &d->cands[i];
			json_t *j = json_pack("{s:I, s:I, s:s}", "host_id",
					      (json_int_t)b->host_ids[k->host], "score",
					      (json_int_t)k->score, "refusal",
					      mig_place_refusal_name(k->refusal));

			if (k->refusal == MIG_PLACE_RT_BUDGET)
				json_object_set_new(j, "link_free_bps", json_integer((json_int_t)k->link_free_bps));
			json_array_append_new(c, j);
		}
		json_dumpf(json_pack("{s:s, s:I, s:I, s:b, s:s, s:I, s:I, s:i, s:o}", "vm", vm,
				     "from", (json_int_t)b->host_ids[d->from], "to",
				     (json_int_t)b->host_ids[d->to], "move", d->move, "reason",
				     d->reason, "score_from", (json_int_t)d->score_from,
				     "score_to", (json_int_t)d->score_to, "rtpaths_left_out",
				     left_out, "candidates", c),
			   stdout, JSON_COMPACT);
		fputc('\n', stdout);
		return;
	}
	printf("VM %s on host %llu: %s\n", vm, (unsigned long long)b->host_ids[d->from], d->reason);
	printf("%-8s %-14s %s\n", "HOST", "SCORE", "VERDICT");
	for (uint32_t i = 0; i < d->n; i++) {
		const struct mig_place_cand *k = &d->cands[i];

		printf("%-8llu %-14llu %s", (unsigned long long)b->host_ids[k->host],
		       (unsigned long long)k->score, mig_place_refusal_name(k->refusal));
		if (k->refusal == MIG_PLACE_RT_BUDGET)
			printf(" (a link from node %u to node %u needs %llu bit/s, %llu free)",
			       k->link_from, k->link_to, (unsigned long long)k->link_need_bps,
			       (unsigned long long)k->link_free_bps);
		putchar('\n');
	}
	if (left_out)
		printf("(%d rtpaths could not be re-admitted on rtvctl's copy of the state and were "
		       "left out)\n", left_out);
}

void rtvctl_state_copy_close(struct rtvctl_state_copy *sc)
{
	for (int i = 0; i < 4; i++)
		if (sc->r[i].open)
			agent_client_reply_close(&sc->r[i].rep);
	cons_state_free(sc->s);
	free(sc->r);
	free(sc->ids);
	memset(sc, 0, sizeof(*sc));
}

int rtvctl_state_copy(struct agent_client *c, uint64_t timeout, struct rtvctl_state_copy *sc)
{
	static const char *const ops[4] = { PROTO_OP_HOSTS, PROTO_OP_LINKS, PROTO_OP_VMS,
					    PROTO_OP_PATHS };
	int rc = 0;

	memset(sc, 0, sizeof(*sc));
	sc->r = calloc(4, sizeof(*sc->r));
	if (!sc->r)
		return -ENOMEM;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = read_op(c, ops[i], timeout, &sc->r[i]);
	rc = rc ? rc : cons_state_new(&sc->s);
	if (rc == 0 && !(sc->ids = calloc(sc->r[3].a->size + 1, sizeof(*sc->ids))))
		rc = -ENOMEM;
	rc = rc ? rc : rebuild(sc->r, sc->s, &sc->left_out, sc->ids);
	if (rc != 0)
		rtvctl_state_copy_close(sc);
	return rc;
}

int rtvctl_vm_place(struct agent_client *c, const struct rtvctl_opts *o, const char *vm,
		    char *apply_to)
{
	static struct mig_place_hostres hr[HOSTS_MAX];
	struct rtvctl_state_copy copy;
	struct cons_state *s;
	struct mig_place_built b = { 0 };
	struct mig_place_scratch *sc = NULL;
	struct mig_place_cand cands[HOSTS_MAX];
	struct mig_place_decision d = { .cands = cands, .cap = HOSTS_MAX };
	struct mig_place_policy pol = { .hysteresis_ppm = 50000 };
	struct mig_place_vmres *vr = NULL;
	char (*uuids)[CONS_NAME_MAX] = NULL, err[MIG_ERRLEN] = "";
	struct mig_place_traffic *tr = NULL;
	size_t nv, ntr = 0;
	int rc, left_out, v = -1, code;

	rc = rtvctl_state_copy(c, o->timeout_ns, &copy);
	if (rc != 0)
		return rtvctl_vm_fail(o, rc, "reading the rack's state failed");
	s = copy.s;
	left_out = copy.left_out;
	nv = cons_state_n_vms(s);
	vr = calloc(nv + 1, sizeof(*vr));
	uuids = calloc(nv + 1, sizeof(*uuids));
	for (size_t i = 0; vr && uuids && i < nv; i++) {
		const struct cons_vm *x = cons_state_vm_at(s, i);

		snprintf(uuids[i], sizeof(uuids[i]), "%s", x->uuid);
		vr[i] = (struct mig_place_vmres){ .uuid = uuids[i], .vcpus = 1 };
		if (strcmp(x->uuid, vm) == 0 || strcmp(x->name, vm) == 0)
			v = (int)i;
	}
	if (!vr || !uuids || v < 0) {
		snprintf(err, sizeof(err), "no VM %s (uuid or name; see rtvctl vms)", vm);
		code = rtvctl_vm_fail(o, vr && uuids ? -ENOENT : -ENOMEM, err);
		goto out;
	}
	host_inputs(o, c, s, o->timeout_ns < 2000000000ull ? o->timeout_ns : 2000000000ull, hr, vr, nv,
		    uuids);
	tr = calloc(cons_state_n_paths(s) + 1, sizeof(*tr));
	for (size_t i = 0; tr && i < cons_state_n_paths(s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);
		const struct cons_vm *a = cons_state_vm_by_ip(s, p->req.src_ip);
		const struct cons_vm *z = cons_state_vm_by_ip(s, p->req.dst_ip);

		if (a && z)
			tr[ntr++] = (struct mig_place_traffic){ a->uuid, z->uuid, p->req.rate_bps };
	}
	struct mig_place_input in = { hr, cons_state_n_hosts(s), vr, nv, tr, ntr };

	rc = mig_place_build(s, &in, &b, err, sizeof(err));
	rc = rc ? rc : mig_place_scratch_new(&b.w, &sc, err, sizeof(err));
	v = rc ? v : mig_place_vm_index(&b, uuids[v]);
	rc = rc ? rc : mig_place_decide(&b.w, sc, &pol, (uint32_t)v, 0, &d);
	if (rc != 0) {
		code = rtvctl_vm_fail(o, rc, err[0] ? err : "placement failed");
		goto out;
	}
	print_decision(o, &b, &d, vm, left_out);
	code = PROTO_EXIT_OK;
	if (apply_to && d.move)
		snprintf(apply_to, CONS_NAME_MAX, "%llu", (unsigned long long)b.host_ids[d.to]);
out:
	mig_place_scratch_free(sc);
	mig_place_built_free(&b);
	rtvctl_state_copy_close(&copy);
	free(vr);
	free(uuids);
	free(tr);
	return code;
}
