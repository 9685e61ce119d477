/* cmd_vm.c — rtvctl's VM verbs that need more than one request:
 *
 *   rtvctl vm migrate VM --to HOST [--wait DURATION]
 *     VM by uuid or name, HOST by name or id. Submits the migration's
 *     prepare (one Raft command: every rtpath of the VM admitted on its new
 *     route, the old one still reserved; a refusal names the rtpath, the
 *     link and its limit, and nothing changes), then follows the record
 *     until it is committed or aborted, printing the source's progress.
 *     Exit 0 committed, 1 refused or aborted, 3 unavailable or still
 *     running after --wait (default 10 min; the migration goes on).
 *   rtvctl vms
 *     the VM records with each VM's state (running, paused, migrating,
 *     down, "-" for a host without libvirt, "?" for a host that did not
 *     answer), asked of each VM's host's agent ("status" → "libvirt").
 *
 * main (rtvctl_main.c) hands these over after rtvctl_parse knows the
 * global options: rtvctl_vm_take() tells whether argv is one of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cmd_vm.h"
#include "cli/rtvctl_out.h"
#include "common/mpack.h"
#include "common/units.h"
#include "rpc/client.h"
#include "rpc/proto.h"

#define POLL_NS 200000000ull

/* ---- reads ------------------------------------------------------------------------ */

/* op's array `key` of the connected agent's reply (rep kept open). */
static int read_array(struct agent_client *c, const char *op, const char *key, uint64_t timeout,
		      struct agent_client_reply *rep, const msgpack_object_array **out)
{
	struct agent_client_req req;
	const msgpack_object *a;
	int rc;

	if (agent_client_req_begin(&req, op, 0, false))
		return -ENOMEM;
	rc = agent_client_call_retry(c, &req, timeout, rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	if (rep->status != 0) {
		rc = rep->status;
		agent_client_reply_close(rep);
		return rc;
	}
	a = agent_client_reply_get(rep, key);
	if (!a || a->type != MSGPACK_OBJECT_ARRAY) {
		agent_client_reply_close(rep);
		return -EPROTO;
	}
	*out = &a->via.array;
	return 0;
}

static int find_vm(struct agent_client *c, uint64_t timeout, const char *which,
		   struct cons_vm *vm, char *err, size_t errlen)
{
	struct agent_client_reply rep;
	const msgpack_object_array *a;
	char why[CONS_ERRLEN];
	int rc = read_array(c, PROTO_OP_VMS, "vms", timeout, &rep, &a), found = 0;

	if (rc != 0) {
		snprintf(err, errlen, "reading the VMs: %s", agent_client_status_name(rc));
		return rc;
	}
	for (uint32_t i = 0; i < a->size; i++) {
		struct cons_vm v;

		if (cons_unpack_vm(&a->ptr[i], &v, why) == 0 &&
		    (strcmp(v.uuid, which) == 0 || strcmp(v.name, which) == 0)) {
			*vm = v;
			found++;
		}
	}
	agent_client_reply_close(&rep);
	if (found == 1)
		return 0;
	if (found)
		snprintf(err, errlen, "%d VMs are named %s: give its uuid", found, which);
	else
		snprintf(err, errlen, "no VM %s (uuid or name; see rtvctl vms)", which);
	return found ? -EINVAL : -ENOENT;
}

/* The hosts, copied out (n at most max). */
static int read_hosts(struct agent_client *c, uint64_t timeout, struct cons_host *hosts,
		      size_t max, size_t *n)
{
	struct agent_client_reply rep;
	const msgpack_object_array *a;
	char why[CONS_ERRLEN];
	int rc = read_array(c, PROTO_OP_HOSTS, "hosts", timeout, &rep, &a);

	*n = 0;
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < a->size && *n < max; i++)
		if (cons_unpack_host(&a->ptr[i], &hosts[*n], why) == 0)
			(*n)++;
	agent_client_reply_close(&rep);
	return 0;
}

static const struct cons_host *host_named(const struct cons_host *h, size_t n, const char *which)
{
	uint64_t id = 0;
	bool num = rtv_parse_u64(which, &id) == 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, which) == 0 || (num && h[i].id == id))
			return &h[i];
	return NULL;
}

/* ---- vm migrate ------------------------------------------------------------------ */

struct mig_args {
	char vm[CONS_NAME_MAX], to[CONS_NAME_MAX];
	uint64_t wait_ns;
	bool dry_run, apply;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The connected agent's view of the record: 1 (in progress, or that agent
 * has not applied the prepare at index `since` yet; *pct set when its agent
 * runs the job), 0 (no record), <0 error. */
static int record_state(struct agent_client *c, uint64_t timeout, const char *uuid,
			uint64_t since, int *pct)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	const msgpack_object *lv, *a;
	int rc, found = 0;

	*pct = -1;
	if (agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false))
		return -ENOMEM;
	rc = agent_client_call_retry(c, &req, timeout, &rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	lv = agent_client_reply_get(&rep, "libvirt");
	a = lv ? agent_client_map_get(lv, "migrations") : NULL;
	for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
		const msgpack_object *m = &a->via.array.ptr[i];
		char u[CONS_NAME_MAX];
		uint64_t tot = 0, done = 0;

		if (agent_client_map_str(m, "uuid", u, sizeof(u)) != 0 || strcmp(u, uuid) != 0)
			continue;
		found = 1;
		if (agent_client_map_uint(m, "data_total_bytes", &tot) == 0 && tot > 0 &&
		    agent_client_map_uint(m, "data_processed_bytes", &done) == 0)
			*pct = (int)(done * 100 / tot);
	}
	rc = lv ? found : -ENOTSUP;
	if (rep.index < since)
		rc = 1;	/* its replica is behind the prepare */
	agent_client_reply_close(&rep);
	return rc;
}

static int mig_summary(const struct rtvctl_opts *o, const struct cons_vm *vm,
		       const char *from, const char *to, const char *result, uint64_t prep_ms,
		       uint64_t total_ms, const char *err)
{
	if (o->output == RTVCTL_OUT_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "vm", vm->name,
				      "uuid", vm->uuid, "from", from, "to", to, "result", result,
				      "prepare_ms", (json_int_t)prep_ms, "total_ms",
				      (json_int_t)total_ms);

		if (j && err)
			json_object_set_new(j, "error", json_string(err));
		if (j)
			json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		printf("VM %s (%s) %s -> %s: %s (prepare %llu ms, total %llu ms)%s%s\n", vm->name,
		       vm->uuid, from, to, result, (unsigned long long)prep_ms,
		       (unsigned long long)total_ms, err ? ": " : "", err ? err : "");
	}
	return strcmp(result, "committed") == 0 ? PROTO_EXIT_OK : PROTO_EXIT_REFUSED;
}

/* Waits for the record to go, then reads where the VM is. */
static int mig_follow(struct agent_client *c, const struct rtvctl_opts *o,
		      const struct mig_args *a, const struct cons_vm *vm, uint64_t to_id,
		      const char *from, const char *to, uint64_t t0, uint64_t prep_ms,
		      uint64_t prep_index)
{
	uint64_t end = now_ns() + a->wait_ns;
	int last = -2, pct, rc;
	struct cons_vm now;
	char err[RTVCTL_ERRLEN];

	for (;;) {
		rc = record_state(c, o->timeout_ns, vm->uuid, prep_index, &pct);
		if (rc == 0 || rc == -ENOTSUP)
			break;	/* no record (or an agent without libvirt: read the VM) */
		if (rc < 0 && !agent_client_unavailable(rc))
			break;
		if (pct != last && o->output != RTVCTL_OUT_JSON) {
			if (pct >= 0)
				fprintf(stderr, "migrating %s: %d%% of its memory sent\n", vm->name,
					pct);
			else
				fprintf(stderr, "migrating %s: in progress\n", vm->name);
			last = pct;
		}
		if (now_ns() > end) {
			mig_summary(o, vm, from, to, "running", prep_ms, (now_ns() - t0) / 1000000,
				    "still migrating after --wait; follow it with rtvctl vms");
			return PROTO_EXIT_UNAVAILABLE;
		}
		nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
		if (rc == -ENOTSUP || rc < 0)
			break;
	}
	if (rc == -ENOTSUP) {	/* no record view: wait for the VM's host to change */
		while (now_ns() < end && find_vm(c, o->timeout_ns, vm->uuid, &now, err,
						 sizeof(err)) == 0 && now.host_id != to_id)
			nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
	}
	rc = find_vm(c, o->timeout_ns, vm->uuid, &now, err, sizeof(err));
	if (rc != 0)
		return mig_summary(o, vm, from, to, "unknown", prep_ms, (now_ns() - t0) / 1000000,
				   err);
	return mig_summary(o, vm, from, to, now.host_id == to_id ? "committed" : "aborted",
			   prep_ms, (now_ns() - t0) / 1000000,
			   now.host_id == to_id ? NULL
						: "rolled back: the VM and its rtpaths are where "
						  "they were (the agents' logs say why)");
}

static void route_str(const char **n, size_t k, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < k && i < 16 && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? "->" : "", n[i]);
}

/* --dry-run: the prepare applied to a copy of the state (rtvctl_state_copy):
 * what would be admitted where, or the refusal. Changes nothing. */
static int vm_dry_run(struct agent_client *c, const struct rtvctl_opts *o,
		      const struct cons_vm *vm, const struct cons_host *to)
{
	struct rtvctl_state_copy sc;
	struct cons_cmd cmd = { .op = CONS_OP_VM_MIGRATE };
	struct cons_result res;
	json_t *paths = json_array();
	int rc = rtvctl_state_copy(c, o->timeout_ns, &sc);

	if (rc != 0) {
		json_decref(paths);
		return rtvctl_vm_fail(o, rc, "reading the rack's state failed");
	}
	snprintf(cmd.u.mig.uuid, sizeof(cmd.u.mig.uuid), "%s", vm->uuid);
	cmd.u.mig.phase = CONS_MIG_PREPARE;
	cmd.u.mig.to_host = to->id;
	if (cons_state_apply(sc.s, cons_state_applied_index(sc.s) + 1, &cmd, &res) != 0)
		res.status = -ENOMEM;
	for (size_t i = 0; res.status == 0 && i < cons_state_n_paths(sc.s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(sc.s, i);
		const char *n[16];
		char from_r[512], to_r[512];
		size_t k = cons_state_mig_route(sc.s, p->id, n, 16);

		if (k == 0)
			continue;
		route_str(n, k, to_r, sizeof(to_r));
		route_str(n, cons_state_path_route(sc.s, p->id, n, 16), from_r, sizeof(from_r));
		if (o->output == RTVCTL_OUT_JSON)
			json_array_append_new(paths, json_pack("{s:I, s:s, s:s}", "id",
							       (json_int_t)sc.ids[p->id], "route",
							       from_r, "new_route", to_r));
		else
			printf("rtpath %llu: %s, would be admitted on %s\n",
			       (unsigned long long)sc.ids[p->id], from_r, to_r);
	}
	if (o->output == RTVCTL_OUT_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "vm", vm->name, "to", to->name,
				      "result", res.status == 0 ? "would prepare" : "would be refused",
				      "error", res.status == 0 ? "" : res.err, "rtpaths", paths);

		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		json_decref(paths);
		if (res.status == 0)
			printf("dry run: VM %s to %s would prepare (nothing changed)\n", vm->name,
			       to->name);
		else
			printf("dry run: VM %s to %s would be refused: %s\n", vm->name, to->name,
			       res.err);
	}
	if (sc.left_out)
		fprintf(stderr, "note: %d rtpaths could not be re-admitted on rtvctl's copy of the "
			"state\n", sc.left_out);
	rtvctl_state_copy_close(&sc);
	return res.status == 0 ? PROTO_EXIT_OK : agent_client_exit_code(res.status);
}

static int vm_migrate(struct agent_client *c, const struct rtvctl_opts *o,
		      const struct mig_args *a)
{
	struct cons_host hosts[256];
	const struct cons_host *to, *from;
	struct cons_vm vm;
	struct cons_cmd cmd = { .op = CONS_OP_VM_MIGRATE };
	struct agent_client_submit_result res;
	char err[RTVCTL_ERRLEN], fromname[CONS_NAME_MAX];
	uint64_t t0 = now_ns();
	size_t n;
	int rc;

	rc = find_vm(c, o->timeout_ns, a->vm, &vm, err, sizeof(err));
	if (rc != 0)
		return rtvctl_vm_fail(o, rc, err);
	rc = read_hosts(c, o->timeout_ns, hosts, 256, &n);
	if (rc != 0)
		return rtvctl_vm_fail(o, rc, "reading the hosts failed");
	to = host_named(hosts, n, a->to);
	from = host_named(hosts, n, "");
	for (size_t i = 0; i < n; i++)
		if (hosts[i].id == vm.host_id)
			from = &hosts[i];
	if (!to) {
		snprintf(err, sizeof(err), "no host %s (name or id; see rtvctl hosts)", a->to);
		return rtvctl_vm_fail(o, -ENOENT, err);
	}
	snprintf(fromname, sizeof(fromname), "%s", from ? from->name : "?");
	if (a->dry_run)
		return vm_dry_run(c, o, &vm, to);
	snprintf(cmd.u.mig.uuid, sizeof(cmd.u.mig.uuid), "%s", vm.uuid);
	cmd.u.mig.phase = CONS_MIG_PREPARE;
	cmd.u.mig.to_host = to->id;
	rc = agent_client_submit(c, &cmd, o->timeout_ns, &res);
	if (rc != 0)
		return rtvctl_vm_fail(o, rc, res.err[0] ? res.err : agent_client_status_name(rc));
	if (o->output != RTVCTL_OUT_JSON)
		fprintf(stderr, "prepared at index %llu: the rtpaths of %s are admitted on their "
			"routes from %s, the old ones still reserved\n",
			(unsigned long long)res.index, vm.name, to->name);
	return mig_follow(c, o, a, &vm, to->id, fromname, to->name, t0,
			  (now_ns() - t0) / 1000000, res.index);
}

/* ---- other agents ----------------------------------------------------------------- */

/* The credentials of the agent rtvctl talks to (its status' tls_files), read once. */
static struct {
	bool tried;
	char ca[RTVCTL_PATH_MAX], cert[RTVCTL_PATH_MAX], key[RTVCTL_PATH_MAX];
} host_tls;

static void read_host_tls(struct agent_client *local, uint64_t timeout)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	const msgpack_object *f;

	host_tls.tried = true;
	if (!local || agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false) != 0)
		return;
	if (agent_client_call(local, &req, timeout, &rep) == 0) {
		f = rep.status == 0 ? agent_client_reply_get(&rep, "tls_files") : NULL;
		if (!f || agent_client_map_str(f, "ca", host_tls.ca, sizeof(host_tls.ca)) != 0 ||
		    agent_client_map_str(f, "cert", host_tls.cert, sizeof(host_tls.cert)) != 0 ||
		    agent_client_map_str(f, "key", host_tls.key, sizeof(host_tls.key)) != 0)
			host_tls.cert[0] = '\0';
		agent_client_reply_close(&rep);
	}
	agent_client_req_close(&req);
}

int rtvctl_peer_client(const struct rtvctl_opts *o, struct agent_client *local, const char *url,
		       uint64_t timeout, struct agent_client **out)
{
	struct agent_client_tls tls;
	char err[256];

	*out = NULL;
	if (o->cert[0]) {
		tls = (struct agent_client_tls){ o->ca, o->cert, o->key };
		return agent_client_new_tls(url, timeout, false, &tls, out, err, sizeof(err));
	}
	if (strncmp(url, "tls+tcp://", 10) != 0)
		return agent_client_new(url, timeout, false, out, err, sizeof(err));
	if (!host_tls.tried)
		read_host_tls(local, timeout);
	if (!host_tls.cert[0])
		return -EACCES;
	tls = (struct agent_client_tls){ host_tls.ca, host_tls.cert, host_tls.key };
	return agent_client_new_tls(url, timeout, false, &tls, out, err, sizeof(err));
}

/* ---- vms with state ------------------------------------------------------------------ */

/* host id → the "libvirt" status of its agent (NULL: none or no answer). */
struct host_view {
	uint64_t id;
	bool answered, has_libvirt;
	struct agent_client_reply rep;
	const msgpack_object *lv;
};

static void view_host(const struct rtvctl_opts *o, struct agent_client *local,
		      const struct cons_host *h, uint64_t timeout, struct host_view *v)
{
	struct agent_client *c = NULL;
	struct agent_client_req req;

	memset(v, 0, sizeof(*v));
	v->id = h->id;
	if (rtvctl_peer_client(o, local, h->rpc_addr, timeout, &c) != 0)
		return;
	if (agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false) == 0) {
		if (agent_client_call(c, &req, timeout, &v->rep) == 0) {
			v->answered = v->rep.status == 0;
			v->lv = agent_client_reply_get(&v->rep, "libvirt");
			v->has_libvirt = v->lv != NULL;
			if (!v->answered)
				agent_client_reply_close(&v->rep);
		}
		agent_client_req_close(&req);
	}
	agent_client_free(c);
}

static const char *state_in(const struct host_view *v, const char *uuid, bool migrating)
{
	const msgpack_object *a;

	if (migrating)
		return "migrating";
	if (!v || !v->answered)
		return "?";
	if (!v->has_libvirt)
		return "-";
	a = agent_client_map_get(v->lv, "vms");
	for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
		static char st[16];
		char u[CONS_NAME_MAX];

		if (agent_client_map_str(&a->via.array.ptr[i], "uuid", u, sizeof(u)) == 0 &&
		    strcmp(u, uuid) == 0 &&
		    agent_client_map_str(&a->via.array.ptr[i], "state", st, sizeof(st)) == 0)
			return strcmp(st, "shut off") == 0 || strcmp(st, "shutoff") == 0 ? "down" : st;
	}
	return "down";
}

static bool is_migrating(const struct host_view *views, size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *a = views[i].lv ? agent_client_map_get(views[i].lv,
									     "migrations") : NULL;
		for (uint32_t k = 0; a && a->type == MSGPACK_OBJECT_ARRAY && k < a->via.array.size;
		     k++) {
			char u[CONS_NAME_MAX];

			if (agent_client_map_str(&a->via.array.ptr[k], "uuid", u, sizeof(u)) == 0 &&
			    strcmp(u, uuid) == 0)
				return true;
		}
	}
	return false;
}

static void print_vm(const struct rtvctl_opts *o, const msgpack_object *raw,
		     const struct cons_vm *vm, const char *host, const char *state, json_t *arr)
{
	char ips[CONS_VM_IPS_MAX * 17] = "";
	size_t off = 0;

	if (o->output == RTVCTL_OUT_JSON) {
		json_t *j = rtvctl_json_from_msgpack(raw);

		if (j) {
			json_object_set_new(j, "state", json_string(state));
			json_object_set_new(j, "host", json_string(host));
			json_array_append_new(arr, j);
		}
		return;
	}
	for (uint8_t i = 0; i < vm->n_ips; i++)
		off += (size_t)snprintf(ips + off, sizeof(ips) - off, "%s%u.%u.%u.%u", i ? "," : "",
					vm->ips[i] >> 24, (vm->ips[i] >> 16) & 255,
					(vm->ips[i] >> 8) & 255, vm->ips[i] & 255);
	printf("%-38s %-16s %-8s %-10s %s\n", vm->uuid, vm->name, host, state, ips);
}

static int vms_with_state(struct agent_client *c, const struct rtvctl_opts *o)
{
	static struct cons_host hosts[256];
	static struct host_view views[256];
	struct agent_client_reply rep;
	const msgpack_object_array *a;
	json_t *arr = json_array();
	char why[CONS_ERRLEN];
	size_t n = 0;
	int rc = read_hosts(c, o->timeout_ns, hosts, 256, &n);

	rc = rc ? rc : read_array(c, PROTO_OP_VMS, "vms", o->timeout_ns, &rep, &a);
	if (rc != 0) {
		json_decref(arr);
		return rtvctl_vm_fail(o, rc, agent_client_err(c)[0] ? agent_client_err(c)
								   : agent_client_status_name(rc));
	}
	for (size_t i = 0; i < n; i++)
		view_host(o, c, &hosts[i], o->timeout_ns < 2000000000ull ? o->timeout_ns : 2000000000ull,
			  &views[i]);
	if (o->output != RTVCTL_OUT_JSON)
		printf("%-38s %-16s %-8s %-10s %s\n", "UUID", "NAME", "HOST", "STATE", "IPS");
	for (uint32_t i = 0; i < a->size; i++) {
		struct cons_vm vm;
		const struct host_view *v = NULL;
		const char *hname = "?";

		if (cons_unpack_vm(&a->ptr[i], &vm, why) != 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (hosts[k].id == vm.host_id) {
				v = &views[k];
				hname = hosts[k].name;
			}
		print_vm(o, &a->ptr[i], &vm, hname,
			 state_in(v, vm.uuid, is_migrating(views, n, vm.uuid)), arr);
	}
	if (o->output == RTVCTL_OUT_JSON) {
		json_t *top = json_pack("{s:o}", "vms", arr);

		json_dumpf(top, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(top);
	} else {
		json_decref(arr);
	}
	agent_client_reply_close(&rep);
	for (size_t i = 0; i < n; i++)
		if (views[i].answered)
			agent_client_reply_close(&views[i].rep);
	return PROTO_EXIT_OK;
}

static const char place_help[] =
	"rtvctl vm place VM [--apply] [global options]\n"
	"\n"
	"Explains where VM (uuid or name) would best run: the host with room that\n"
	"minimises its weighted communication distance (hops to each peer VM on the\n"
	"replicated topology, weighted by the rtpaths' rates between them), moving\n"
	"only when that beats its current host by 5 %. Every host is listed with its\n"
	"score, or the reason it was refused: not accepting (no libvirt there), cpu,\n"
	"mem (libvirt's room; free memory from gossip where present), rt_budget (a\n"
	"link its rtpaths would cross has no room), unreachable. With --apply, when\n"
	"it says move, it then runs rtvctl vm migrate VM --to that host (JSON: two\n"
	"objects, the placement then the migration). -o json: vm, from, to, move, reason,\n"
	"score_from, score_to, candidates [{host_id, score, refusal}].\n";

/* ---- the entry points ------------------------------------------------------------------ */

int rtvctl_vm_fail(const struct rtvctl_opts *o, int status, const char *msg)
{
	int code = agent_client_exit_code(status);

	fprintf(stderr, "rtvctl: %s: %s\n", o->verb == RTVCTL_VMS ? "vms" : "vm migrate", msg);
	if (o->output == RTVCTL_OUT_JSON)
		rtvctl_print_json_error(stdout, status, msg, code);
	return code;
}

static const char mig_help[] =
	"rtvctl vm migrate VM --to HOST [--wait DURATION] [--dry-run] [global options]\n"
	"\n"
	"Live-migrates VM (uuid or name) to HOST (name or id), make-before-break:\n"
	"  1. prepare: one Raft command admits every rtpath of the VM on the route it\n"
	"     will have from HOST, while the old route stays reserved. If one does not\n"
	"     fit, the command is refused naming the rtpath, the link and its limit,\n"
	"     and nothing changes (exit 1).\n"
	"  2. the VM's current host runs the live migration (libvirt, peer-to-peer,\n"
	"     its [libvirt] migrate_* policy); this command prints its progress.\n"
	"  3. when the guest resumes on HOST, HOST's agent commits: the rtpaths take\n"
	"     their new routes, the old reservations are released (exit 0).\n"
	"  Any failure rolls back: the VM stays where it was, reservations as before\n"
	"  (exit 1). --wait (default 10m) bounds how long this command follows the\n"
	"  migration; after it, exit 3 and the migration goes on (rtvctl vms).\n"
	"--dry-run applies the prepare to a copy of the state rebuilt from this\n"
	"agent's reads and says what would be admitted on which route, or why not;\n"
	"nothing changes.\n"
	"-o json prints one object: vm, uuid, from, to, result (committed, aborted,\n"
	"running), prepare_ms, total_ms, and error when not committed.\n";

bool rtvctl_vm_take(int argc, char *const argv[], int *verb_at)
{
	static const char *const with_arg[] = { "-s", "--socket", "-e", "--endpoint",
						"--endpoints", "-o", "--output", "-t",
						"--timeout", NULL };

	for (int i = 1; i < argc; i++) {
		bool skip = false;

		for (int k = 0; with_arg[k]; k++)
			skip |= strcmp(argv[i], with_arg[k]) == 0;
		if (skip) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		*verb_at = i;
		return strcmp(argv[i], "vm") == 0 && i + 1 < argc &&
		       (strcmp(argv[i + 1], "migrate") == 0 || strcmp(argv[i + 1], "place") == 0);
	}
	return false;
}

int rtvctl_vm_migrate_main(int argc, char *const argv[], int verb_at,
			   const struct rtvctl_env *env)
{
	char *rest[64];
	int nrest = 0;
	struct mig_args a = { .wait_ns = 600000000000ull };
	struct rtvctl_opts o;
	struct agent_client *c;
	char err[RTVCTL_ERRLEN];
	bool help = false, place = strcmp(argv[verb_at + 1], "place") == 0;
	int code;

	rest[nrest++] = argv[0];
	for (int i = 1; i < argc && nrest < 62; i++) {
		if (i == verb_at || i == verb_at + 1)
			continue;
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
			snprintf(a.to, sizeof(a.to), "%s", argv[++i]);
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			if (rtv_parse_duration_ns(argv[++i], &a.wait_ns, err, sizeof(err)) != 0) {
				fprintf(stderr, "rtvctl: vm migrate: --wait: %s\n", err);
				return PROTO_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--dry-run") == 0 && !place) {
			a.dry_run = true;
		} else if (strcmp(argv[i], "--apply") == 0 && place) {
			a.apply = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help = true;
		} else if (argv[i][0] != '-' && !a.vm[0] && i > verb_at) {
			snprintf(a.vm, sizeof(a.vm), "%s", argv[i]);
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (help) {
		fputs(place ? place_help : mig_help, stdout);
		return PROTO_EXIT_OK;
	}
	rest[nrest++] = "status";
	rest[nrest] = NULL;
	if (rtvctl_parse(nrest, rest, env, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "rtvctl: vm migrate: %s\n", err);
		return PROTO_EXIT_USAGE;
	}
	o.verb = RTVCTL_NONE;
	if (place) {
		if (!a.vm[0] || a.to[0] || a.dry_run) {
			fprintf(stderr, "rtvctl: vm place: give the VM only, e.g. rtvctl vm place "
				"web-1 (see rtvctl vm place --help)\n");
			return PROTO_EXIT_USAGE;
		}
		code = agent_client_new(o.endpoint, o.timeout_ns, true, &c, err, sizeof(err));
		if (code != 0)
			return rtvctl_vm_fail(&o, code, err);
		code = rtvctl_vm_place(c, &o, a.vm, a.to);
		if (code == PROTO_EXIT_OK && a.apply && a.to[0])
			code = vm_migrate(c, &o, &a);
		agent_client_free(c);
		return code;
	}
	if (!a.vm[0] || !a.to[0]) {
		fprintf(stderr, "rtvctl: vm migrate: give the VM and --to HOST, e.g. "
			"rtvctl vm migrate web-1 --to h2 (see rtvctl vm migrate --help)\n");
		return PROTO_EXIT_USAGE;
	}
	code = agent_client_new(o.endpoint, o.timeout_ns, false, &c, err, sizeof(err));
	if (code != 0)
		return rtvctl_vm_fail(&o, code, err);
	code = vm_migrate(c, &o, &a);
	agent_client_free(c);
	return code;
}

int rtvctl_vms_run(struct agent_client *c, const struct rtvctl_opts *o)
{
	return vms_with_state(c, o);
}
