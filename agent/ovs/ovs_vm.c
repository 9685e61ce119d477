/* ovs_vm.c — which VMs sit on this host, learnt from OVSDB (docs/architecture.md,
 * "OpenFlow gateway": rtvd watches OVSDB for VM interfaces to learn which
 * VM is where).
 *
 * A VM port is an Interface of our bridge with external_ids:vm-id (libvirt;
 * else vm-uuid, iface-id, iface-uuid: ofgw/ovsdb.h). Its VM key is that id;
 * a VM with several interfaces has one key and one record. What OVSDB says
 * of a VM: it is on this host, its MACs (attached-mac of each port) and, if
 * whoever plugged the port set external_ids:ip-address ("10.0.1.11" or a
 * comma-separated list; the lab does, a libvirt hook can), its IPs. OVSDB
 * knows no IPs otherwise, so a port without ip-address keeps the IPs the
 * replicated record already has (set with `rtvctl vm add` or by migrate/).
 *
 * When this agent writes. A VM port appearing or changing (first sync
 * included) queues its key; the queue is worked one command at a time:
 *   - ports with the key on the bridge, and the record missing or differing
 *     (host, MACs, IPs when OVSDB gives them, the ports' MTU once OVS
 *     reports it) → VM_SET for this host, with the record's name and
 *     tenant kept;
 *   - no port with the key any more → VM_REMOVE, but only if the record
 *     still places the VM on this host (a migrated VM's record points at
 *     its new host by then, so the source's unplug removes nothing) and no
 *     rtpath uses its IPs (a VM being restarted, or unplugged by mistake,
 *     keeps its reservations; `rtvctl vm remove` is there for the rest).
 * Changes made by others (another host's VM_SET after a migration, an
 * operator) are never fought: only OVSDB events queue work, so two hosts
 * that both see a port (the destination during a live migration) write at
 * most once each, and the later migrate/ command settles it.
 *
 * Commands go through agent_core_submit like a client's: forwarded to the
 * leader, retried while the rack is unavailable, deduplicated by this
 * process's random client id and an increasing sequence number (one
 * command in flight, as consensus.h asks). Refusals (an IP owned by
 * another VM, a VM with rtpaths on another host) are logged and dropped
 * until the port changes again; unavailability is retried every second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
#include "agent/ovs/ovs_internal.h"
#include "common/log.h"

#define MOD "ovs"
#define RETRY_MS 1000

const char *ovs_vm_key(const struct ofgw_ovsdb_port *p)
{
	return p->vm_id[0] ? p->vm_id : p->iface_id;
}

/* ------------------------------------------------------------------------- */
/* What OVSDB and the state say                                              */

/* external_ids:ip-address → up to max IPv4 addresses (host order); an
 * optional "/prefix" is ignored; a malformed entry ends the list. */
static uint8_t parse_ips(const char *s, uint32_t *ips, uint8_t max)
{
	char buf[OFGW_OVSDB_NAME_MAX], *save = NULL;
	uint8_t n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ", ", &save); t && n < max; t = strtok_r(NULL, ", ", &save)) {
		struct in_addr a;
		char *slash = strchr(t, '/');

		if (slash)
			*slash = '\0';
		if (inet_pton(AF_INET, t, &a) != 1 || a.s_addr == 0)
			break;
		ips[n++] = ntohl(a.s_addr);
	}
	return n;
}

static bool has_ip(const uint32_t *ips, uint8_t n, uint32_t ip)
{
	for (uint8_t i = 0; i < n; i++)
		if (ips[i] == ip)
			return true;
	return false;
}

static bool has_mac(const struct cons_vm *vm, const uint8_t *mac)
{
	for (uint8_t i = 0; i < vm->n_macs; i++)
		if (memcmp(vm->macs[i], mac, 6) == 0)
			return true;
	return false;
}

/* The record for VM `uuid` (the state keeps VMs sorted by uuid). */
static const struct cons_vm *vm_record(const struct cons_state *s, const char *uuid)
{
	size_t lo = 0, hi = cons_state_n_vms(s);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cons_vm *v = cons_state_vm_at(s, mid);
		int c = strcmp(uuid, v->uuid);

		if (c == 0)
			return v;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Collects what OVSDB says of VM `key` into want; returns its port count. */
static size_t vm_from_ovsdb(const struct agent_ovs *o, const char *key, struct cons_vm *want)
{
	size_t n = 0;

	for (size_t i = 0; i < ofgw_ovsdb_n_ports(o->db); i++) {
		const struct ofgw_ovsdb_port *p = ofgw_ovsdb_port_at(o->db, i);
		uint32_t ips[CONS_VM_IPS_MAX];
		uint8_t k;

		if (strcmp(ovs_vm_key(p), key) != 0)
			continue;
		n++;
		if (p->has_attached_mac && want->n_macs < CONS_VM_MACS_MAX &&
		    !has_mac(want, p->attached_mac))
			memcpy(want->macs[want->n_macs++], p->attached_mac, 6);
		if (p->mtu && (want->mtu == 0 || p->mtu < want->mtu))
			want->mtu = p->mtu;	/* the smallest of its ports (docs/mtu.md) */
		k = parse_ips(p->ip_address, ips, CONS_VM_IPS_MAX);
		for (uint8_t j = 0; j < k && want->n_ips < CONS_VM_IPS_MAX; j++)
			if (!has_ip(want->ips, want->n_ips, ips[j]))
				want->ips[want->n_ips++] = ips[j];
	}
	return n;
}

static bool same_ips(const struct cons_vm *a, const struct cons_vm *b)
{
	if (a->n_ips != b->n_ips)
		return false;
	for (uint8_t i = 0; i < a->n_ips; i++)
		if (!has_ip(b->ips, b->n_ips, a->ips[i]))
			return false;
	return true;
}

static bool same_macs(const struct cons_vm *a, const struct cons_vm *b)
{
	if (a->n_macs != b->n_macs)
		return false;
	for (uint8_t i = 0; i < a->n_macs; i++)
		if (!has_mac(b, a->macs[i]))
			return false;
	return true;
}

static bool vm_in_use(const struct cons_state *s, const struct cons_vm *vm)
{
	for (size_t i = 0; i < cons_state_n_paths(s); i++) {
		const struct cons_rtpath *p = cons_state_path_at(s, i);

		if (has_ip(vm->ips, vm->n_ips, p->req.src_ip) ||
		    has_ip(vm->ips, vm->n_ips, p->req.dst_ip))
			return true;
	}
	return false;
}

/* The command that makes the state agree with OVSDB about VM `key`, or
 * false when there is nothing to do. */
static bool vm_command(const struct agent_ovs *o, const char *key, struct cons_cmd *cmd)
{
	const struct cons_state *s = agent_core_state(o->d);
	const struct cons_vm *cur = vm_record(s, key);
	struct cons_vm *want = &cmd->u.vm;
	uint64_t self = agent_core_config(o->d)->id;

	memset(cmd, 0, sizeof(*cmd));
	snprintf(want->uuid, sizeof(want->uuid), "%s", key);
	if (vm_from_ovsdb(o, key, want) == 0) {
		if (cur == NULL || cur->host_id != self)
			return false;
		if (vm_in_use(s, cur)) {
			rtv_info(MOD, "VM %s left bridge %s but rtpaths use it: its record stays "
				 "(release them, or rtvctl vm remove %s)", key, agent_core_config(o->d)->ovs.bridge,
				 key);
			return false;
		}
		cmd->op = CONS_OP_VM_REMOVE;
		return true;
	}
	cmd->op = CONS_OP_VM_SET;
	want->host_id = self;
	snprintf(want->name, sizeof(want->name), "%s", cur ? cur->name : key);
	if (cur)
		snprintf(want->tenant, sizeof(want->tenant), "%s", cur->tenant);
	if (want->n_ips == 0 && cur) {
		want->n_ips = cur->n_ips;
		memcpy(want->ips, cur->ips, sizeof(want->ips));
	}
	if (want->n_macs == 0 && cur) {
		want->n_macs = cur->n_macs;
		memcpy(want->macs, cur->macs, sizeof(want->macs));
	}
	return cur == NULL || cur->host_id != self || !same_ips(cur, want) ||
	       !same_macs(cur, want) || (want->mtu != 0 && want->mtu != cur->mtu);
}

/* ------------------------------------------------------------------------- */
/* The gateway's VM ports                                                    */

static void port_from_ovsdb(const struct cons_state *s, const struct ofgw_ovsdb_port *p,
			    struct ofgw_vm_port *v)
{
	const struct cons_vm *rec;

	memset(v, 0, sizeof(*v));
	memcpy(v->name, p->name, strlen(p->name) + 1);
	if (p->has_attached_mac)
		memcpy(v->mac, p->attached_mac, 6);
	v->n_ips = parse_ips(p->ip_address, v->ips, OFGW_VM_IPS_MAX);
	if (v->n_ips == 0 && (rec = vm_record(s, ovs_vm_key(p))) != NULL) {
		v->n_ips = rec->n_ips < OFGW_VM_IPS_MAX ? rec->n_ips : OFGW_VM_IPS_MAX;
		memcpy(v->ips, rec->ips, v->n_ips * sizeof(v->ips[0]));
	}
}

void ovs_vm_feed(struct agent_ovs *o)
{
	struct ofgw_vm_port *ports;
	char err[OFGW_ERRLEN];
	size_t n = 0;

	if (o->closing || o->gw == NULL || o->db == NULL)
		return;
	ports = malloc((ofgw_ovsdb_n_ports(o->db) + 1) * sizeof(*ports));
	if (ports == NULL) {
		rtv_error(MOD, "out of memory listing the VM ports");
		return;
	}
	for (size_t i = 0; i < ofgw_ovsdb_n_ports(o->db); i++) {
		const struct ofgw_ovsdb_port *p = ofgw_ovsdb_port_at(o->db, i);

		/* a longer name cannot be an OpenFlow port (ovs.c warned) */
		if (!ofgw_ovsdb_port_is_vm(p) || strlen(p->name) >= OFGW_PORT_NAME_MAX)
			continue;
		port_from_ovsdb(agent_core_state(o->d), p, &ports[n++]);
	}
	if (ofgw_set_vm_ports(o->gw, ports, n, err) < 0)
		rtv_error(MOD, "the gateway refused the VM ports: %s", err);
	free(ports);
}

/* ------------------------------------------------------------------------- */
/* The queue of VMs to look at                                               */

void ovs_vm_dirty(struct agent_ovs *o, const char *key)
{
	for (size_t i = 0; i < o->n_dirty; i++)
		if (strcmp(o->dirty[i], key) == 0)
			return;
	if (o->n_dirty == o->cap_dirty) {
		size_t cap = o->cap_dirty ? 2 * o->cap_dirty : 16;
		void *n = realloc(o->dirty, cap * sizeof(*o->dirty));

		if (n == NULL) {
			rtv_error(MOD, "out of memory queueing VM %s", key);
			return;
		}
		o->dirty = n;
		o->cap_dirty = cap;
	}
	snprintf(o->dirty[o->n_dirty++], CONS_NAME_MAX, "%s", key);
}

static void pop_dirty(struct agent_ovs *o, char key[CONS_NAME_MAX])
{
	memcpy(key, o->dirty[0], CONS_NAME_MAX);
	memmove(o->dirty, o->dirty + 1, (o->n_dirty - 1) * sizeof(*o->dirty));
	o->n_dirty--;
}

static void on_retry(uv_timer_t *t)
{
	ovs_vm_kick(t->data);
}

static void retry_later(struct agent_ovs *o)
{
	if (!o->closing && !uv_is_active((uv_handle_t *)&o->vm_timer))
		uv_timer_start(&o->vm_timer, on_retry, RETRY_MS, 0);
}

static bool refused(int status)
{
	return status == CONS_EREFUSED || status == -EEXIST || status == -EBUSY ||
	       status == -EINVAL || status == -EPROTO;
}

/* The VM's key left the queue when its command was sent; a command that
 * could not be done yet queues it again (OVSDB may have changed since, so
 * the command is recomputed then). */
static void on_vm_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct agent_ovs *o = arg;
	bool removed = cmd->op == CONS_OP_VM_REMOVE;

	o->job = NULL;	/* the core frees it when this returns */
	if (o->closing)
		return;
	if (status == 0 || (removed && status == -ENOENT)) {
		rtv_info(MOD, "VM %s %s", cmd->u.vm.uuid, removed ? "removed: its port left "
			 "this host" : "is on this host (learnt from OVSDB)");
	} else if (refused(status)) {
		rtv_warn(MOD, "%s %s refused: %s", cons_op_name(cmd->op), cmd->u.vm.uuid, err);
	} else {
		rtv_info(MOD, "%s %s not done yet (%s); retrying in %d ms", cons_op_name(cmd->op),
			 cmd->u.vm.uuid, err, RETRY_MS);
		ovs_vm_dirty(o, cmd->u.vm.uuid);
		retry_later(o);
	}
	ovs_vm_kick(o);
}

static void submit(struct agent_ovs *o, struct cons_cmd *cmd)
{
	struct agent_submit *job;
	char err[CONS_ERRLEN];
	int rc;

	if (o->client_id == 0)
		o->client_id = agent_client_random_u64();
	cmd->client_id = o->client_id;
	cmd->seq = ++o->seq;
	rc = agent_submit_new(o->d, cmd, on_vm_done, o, &job, err);
	if (rc == -ENOMEM) {
		ovs_vm_dirty(o, cmd->u.vm.uuid);
		retry_later(o);
		return;
	}
	if (rc < 0) {
		rtv_warn(MOD, "%s %s: %s", cons_op_name(cmd->op), cmd->u.vm.uuid, err);
		return;
	}
	o->job = job;
	o->vm_submits++;
	rtv_debug(MOD, "submitting %s %s", cons_op_name(cmd->op), cmd->u.vm.uuid);
	agent_submit_run(job);	/* may answer at once */
}

/* Works the queue: one command in flight, none while a retry is pending. */
void ovs_vm_kick(struct agent_ovs *o)
{
	char key[CONS_NAME_MAX];
	struct cons_cmd cmd;

	if (o->closing || o->job || agent_core_stopping(o->d) || uv_is_active((uv_handle_t *)&o->vm_timer))
		return;
	/* a VM_SET for a host the state does not know yet would be refused */
	if (o->n_dirty && cons_state_host(agent_core_state(o->d), agent_core_config(o->d)->id) == NULL) {
		retry_later(o);
		return;
	}
	while (o->n_dirty && o->job == NULL && !uv_is_active((uv_handle_t *)&o->vm_timer)) {
		pop_dirty(o, key);
		if (vm_command(o, key, &cmd))
			submit(o, &cmd);
	}
}

void ovs_vm_free(struct agent_ovs *o)
{
	agent_submit_drop(o->job);
	o->job = NULL;
	free(o->dirty);
	o->dirty = NULL;
	o->n_dirty = o->cap_dirty = 0;
}
