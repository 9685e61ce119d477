/* ovs.c — rtvd as the OpenFlow controller of its own bridge (see ovs.h).
 *
 * The gateway (ofgw/) computes flows from three inputs and keeps the switch
 * equal to them; this file keeps the inputs equal to rtvd's view:
 *
 *   rtpaths   the replicated state's, in full at start and after a snapshot
 *             restore, then one upsert/remove per applied PATH_RESERVE,
 *             PATH_ESCALATE or PATH_RELEASE (the gateway diffs per cookie,
 *             so a reservation costs exactly its own flow-mods);
 *   VM ports  OVSDB's view joined with the VM records (ovs_vm.c), after
 *             every OVSDB change and every applied VM_SET / VM_REMOVE;
 *   config    this host's id and address, rtvd's own Raft and RPC ports
 *             (their traffic leaves as CS6), the off-host and uplink ports.
 *
 * The gateway only listens; OVS dials it. When it starts listening is the
 * one delicate decision (ovs.h, "When the gateway takes the bridge over"):
 * the first reconciliation after an rtvd restart must find nothing to do.
 *
 * Followers learn of a commit promptly: the Raft node's commit notice
 * (consensus/node.c) tells them, so a follower applies an rtpath (and its
 * sending host programs the flow) a few ms after the leader, not at the
 * next heartbeat.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ovs/ovs.h"
#include "agent/telemetry/telemetry.h"
#include "agent/ovs/ovs_internal.h"
#include "common/log.h"
#include "common/units.h"

#define MOD "ovs"
#define GATE_TICK_MS 10
#define DB_BACKOFF_MAX_MS 1000	/* ovsdb-server restarts: be back within a second */

static uint64_t now_ms(const struct agent_ovs *o)
{
	return uv_now(agent_core_loop(o->d));
}

/* ------------------------------------------------------------------------- */
/* rtpaths                                                                   */

static void feed_all_paths(struct agent_ovs *o)
{
	const struct cons_state *s = agent_core_state(o->d);
	size_t n = cons_state_n_paths(s);
	struct cons_rtpath *v = n ? malloc(n * sizeof(*v)) : NULL;

	if (n && v == NULL) {
		rtv_error(MOD, "out of memory copying %zu rtpaths for the gateway", n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = *cons_state_path_at(s, i);
	if (ofgw_set_rtpaths(o->gw, v, n) < 0)
		rtv_error(MOD, "out of memory handing %zu rtpaths to the gateway", n);
	free(v);
}

static void path_changed(struct agent_ovs *o, uint64_t id)
{
	const struct cons_rtpath *p = cons_state_path(agent_core_state(o->d), id);
	int rc = p ? ofgw_rtpath_upsert(o->gw, p) : ofgw_rtpath_remove(o->gw, id);

	if (rc < 0 && rc != -ENOENT)
		rtv_error(MOD, "rtpath %llu: the gateway could not take it: %s",
			  (unsigned long long)id, strerror(-rc));
}

static void ovs_applied(void *self, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct agent_ovs *o = self;

	if (o->closing || res->status != 0 || res->duplicate)
		return;
	switch (cmd->op) {
	case CONS_OP_PATH_RESERVE:
		path_changed(o, res->id);
		break;
	case CONS_OP_PATH_RELEASE:
	case CONS_OP_PATH_ESCALATE:
		path_changed(o, cmd->u.ref.id);
		break;
	case CONS_OP_VM_SET:
	case CONS_OP_VM_REMOVE:
		ovs_vm_feed(o);
		break;
	case CONS_OP_VM_MIGRATE:	/* a commit moves rtpaths between hosts */
		if (cmd->u.mig.phase == CONS_MIG_COMMIT) {
			ovs_vm_feed(o);
			feed_all_paths(o);
		}
		break;
	case CONS_OP_HOST_ADD:
		if (cmd->u.host.id == agent_core_config(o->d)->id) {
			uv_timer_stop(&o->vm_timer);	/* VM_SET needed this record */
			ovs_vm_kick(o);
		}
		break;
	default:
		break;
	}
}

static void ovs_restored(void *self)
{
	struct agent_ovs *o = self;

	if (o->closing)
		return;
	feed_all_paths(o);
	ovs_vm_feed(o);
	ovs_vm_kick(o);
}

/* ------------------------------------------------------------------------- */
/* OpenFlow gateway hooks                                                    */

static void on_of_connected(void *arg, uint64_t dpid)
{
	struct agent_ovs *o = arg;

	rtv_info(MOD, "OpenFlow: bridge %s connected (datapath %016llx)", agent_core_config(o->d)->ovs.bridge,
		 (unsigned long long)dpid);
}

static void on_of_disconnected(void *arg, const char *why)
{
	struct agent_ovs *o = arg;

	if (!o->closing)
		rtv_warn(MOD, "OpenFlow: bridge %s disconnected: %s; its flows keep forwarding "
			 "(fail-mode secure) until it dials again", agent_core_config(o->d)->ovs.bridge, why);
}

/* Full reconciliations are what tests and operators look for (an rtvd
 * restart must show added=0 modified=0 deleted=0); incremental batches,
 * one per reservation, are debug. */
static void on_of_synced(void *arg, const struct ofgw_sync *s)
{
	struct agent_ovs *o = arg;
	struct ofgw_stats st;

	ofgw_get_stats(o->gw, &st);
	if (s->errors)
		rtv_warn(MOD, "OpenFlow: %u flow-mods refused by the switch (see the errors above)",
			 s->errors);
	if (s->full)
		rtv_info(MOD, "OpenFlow: reconciled %s: added=%u modified=%u deleted=%u "
			 "unchanged=%u errors=%u flows=%zu ms=%.1f", agent_core_config(o->d)->ovs.bridge,
			 s->added, s->modified, s->deleted, s->unchanged, s->errors,
			 st.n_desired, s->duration_ns / 1e6);
	else
		rtv_debug(MOD, "OpenFlow: synced: added=%u modified=%u deleted=%u errors=%u "
			  "ms=%.2f", s->added, s->modified, s->deleted, s->errors,
			  s->duration_ns / 1e6);
}

static void on_of_error(void *arg, const struct ofgw_error *e)
{
	(void)arg;
	rtv_warn(MOD, "OpenFlow: the switch answered xid %u with an error: %s", e->xid, e->what);
}

/* ------------------------------------------------------------------------- */
/* OVSDB hooks                                                               */

static void port_event(struct agent_ovs *o, const struct ofgw_ovsdb_port *old,
		       const struct ofgw_ovsdb_port *p)
{
	if (o->closing)
		return;
	if (old && ovs_vm_key(old)[0])
		ovs_vm_dirty(o, ovs_vm_key(old));
	if (p && ovs_vm_key(p)[0])
		ovs_vm_dirty(o, ovs_vm_key(p));
	if (p && ofgw_ovsdb_port_is_vm(p) && strlen(p->name) >= OFGW_PORT_NAME_MAX)
		rtv_warn(MOD, "VM port %s: the name is longer than OpenFlow's %d bytes; no flows "
			 "for it (its VM is still recorded)", p->name, OFGW_PORT_NAME_MAX - 1);
	if (p)
		ovs_mtu_apply(o, p);
	if (p && ofgw_ovsdb_port_is_vm(p) && !p->has_attached_mac)
		rtv_warn(MOD, "VM port %s has no external_ids:attached-mac: traffic to the guest "
			 "is dropped until it is set", p->name);
	ovs_vm_feed(o);
	ovs_vm_kick(o);
}

static void on_db_added(void *arg, const struct ofgw_ovsdb_port *p)
{
	port_event(arg, NULL, p);
}

static void on_db_changed(void *arg, const struct ofgw_ovsdb_port *old,
			  const struct ofgw_ovsdb_port *p)
{
	port_event(arg, old, p);
}

static void on_db_removed(void *arg, const struct ofgw_ovsdb_port *p)
{
	port_event(arg, p, NULL);
}

static void on_db_synced(void *arg)
{
	struct agent_ovs *o = arg;

	rtv_info(MOD, "OVSDB: %zu interfaces on %s", ofgw_ovsdb_n_ports(o->db),
		 agent_core_config(o->d)->ovs.bridge);
	for (size_t i = 0; i < ofgw_ovsdb_n_ports(o->db); i++)
		ovs_mtu_apply(o, ofgw_ovsdb_port_at(o->db, i));
}

static void on_db_ensured(void *arg, int status, bool changed, const char *err)
{
	struct agent_ovs *o = arg;
	const struct agent_ovs_config *c = &agent_core_config(o->d)->ovs;

	if (status == 0 && changed)
		rtv_info(MOD, "OVSDB: bridge %s set up: datapath %s, fail_mode secure, OpenFlow13, "
			 "controller tcp:%s%s%s", c->bridge, c->datapath_type, c->of_listen,
			 c->int_port[0] ? ", port " : "", c->int_port);
	else if (status == -ENOTCONN)
		return;	/* retried after the reconnection */
	else if (status < 0)
		rtv_error(MOD, "OVSDB: cannot set up bridge %s: %s (%s); fix it and restart rtvd, "
			  "or change [ovs] in %s", c->bridge, err, strerror(-status),
			  agent_core_config(o->d)->file);
	if (!o->ensured)
		o->fresh = status == 0 && changed;
	o->ensured = true;
}

/* ------------------------------------------------------------------------- */
/* Taking the bridge over                                                    */

/* This replica holds everything the leader has committed, and at least
 * what its own log held at start. */
static bool raft_caught_up(const struct agent_ovs *o)
{
	struct cons_node_status st;

	cons_node_status(agent_core_node(o->d), &st);
	return st.leader_id != 0 && st.applied_index >= st.commit_index &&
	       st.applied_index >= o->last_index_at_start;
}

static void take_over(struct agent_ovs *o, const char *why)
{
	char err[OFGW_ERRLEN] = "";
	int rc;

	uv_timer_stop(&o->gate_timer);
	feed_all_paths(o);
	ovs_vm_feed(o);
	rc = ofgw_start(o->gw, err);
	if (rc < 0) {
		rtv_error(MOD, "OpenFlow: cannot listen on %s: %s; fix [ovs] of_listen in %s and "
			  "restart rtvd", agent_core_config(o->d)->ovs.of_listen, err[0] ? err : strerror(-rc),
			  agent_core_config(o->d)->file);
		return;
	}
	o->listening = true;
	rtv_info(MOD, "OpenFlow: listening on %s for bridge %s (%s; state at index %llu, "
		 "%zu rtpaths)", agent_core_config(o->d)->ovs.of_listen, agent_core_config(o->d)->ovs.bridge, why,
		 (unsigned long long)cons_state_applied_index(agent_core_state(o->d)),
		 cons_state_n_paths(agent_core_state(o->d)));
}

static void on_gate(uv_timer_t *t)
{
	struct agent_ovs *o = t->data;
	uint64_t waited = now_ms(o) - o->start_ms;

	if (o->closing || o->listening || !o->ensured || !ofgw_ovsdb_synced(o->db))
		return;
	if (o->fresh)
		take_over(o, "the bridge was not under rtvd's control");
	else if (raft_caught_up(o))
		take_over(o, "Raft caught up");
	else if (waited >= AGENT_OVS_RAFT_GRACE_MS) {
		rtv_warn(MOD, "Raft has not caught up after %llu ms; taking bridge %s over with "
			 "the state this replica has", (unsigned long long)waited,
			 agent_core_config(o->d)->ovs.bridge);
		take_over(o, "Raft grace period over");
	}
}

/* ------------------------------------------------------------------------- */
/* Start-up                                                                  */

static void ports_of(const struct agent_config *cfg, struct ofgw_config *gc)
{
	uint32_t ip;
	uint16_t port;

	if (rtv_parse_ipport(cfg->raft_addr, &ip, &port) == 0) {
		gc->host_ip = ip;
		gc->control[gc->n_control++] = (struct ofgw_control_port){ 6, port };
	}
	/* rpc_addr is "[tls+]tcp://ip:port" (config.c checked it) */
	if (rtv_parse_ipport(agent_url_addr(cfg->rpc_addr), NULL, &port) == 0)
		gc->control[gc->n_control++] = (struct ofgw_control_port){ 6, port };
}

static int gateway_new(struct agent_ovs *o)
{
	const struct agent_config *cfg = agent_core_config(o->d);
	struct ofgw_config gc = {
		.listen = cfg->ovs.of_listen, .host_id = cfg->id,
		.offhost_port = cfg->ovs.offhost_port, .uplink_port = cfg->ovs.uplink_port,
	};
	struct ofgw_hooks hooks = {
		.arg = o, .connected = on_of_connected, .disconnected = on_of_disconnected,
		.synced = on_of_synced, .error = on_of_error,
	};
	char err[OFGW_ERRLEN] = "";
	int rc;

	ports_of(cfg, &gc);
	rc = ofgw_new(agent_core_loop(o->d), &gc, &hooks, &o->gw, err);
	if (rc < 0)
		rtv_error(MOD, "OpenFlow gateway: %s; fix [ovs] in %s", err[0] ? err : strerror(-rc),
			  cfg->file);
	return rc;
}

static int ovsdb_new(struct agent_ovs *o)
{
	const struct agent_config *cfg = agent_core_config(o->d);
	struct ofgw_ovsdb_config dc = { .remote = cfg->ovs.db, .bridge = cfg->ovs.bridge,
					.backoff_max_ms = DB_BACKOFF_MAX_MS };
	struct ofgw_ovsdb_ops ops = {
		.port_added = on_db_added, .port_changed = on_db_changed,
		.port_removed = on_db_removed, .synced = on_db_synced, .ensured = on_db_ensured,
	};
	struct ofgw_ovsdb_bridge_spec spec;
	char err[OFGW_OVSDB_ERRLEN] = "";
	int rc;

	memset(&spec, 0, sizeof(spec));
	snprintf(spec.datapath_type, sizeof(spec.datapath_type), "%s", cfg->ovs.datapath_type);
	snprintf(spec.controller, sizeof(spec.controller), "tcp:%s", cfg->ovs.of_listen);
	/* ofgw/ensures one port besides the bridge's own: rtvd's int_port when
	 * configured, else the uplink, which must then be on the bridge already
	 * as a plain ("system") port (config.c requires one of them) */
	if (cfg->ovs.int_port[0]) {
		snprintf(spec.int_port, sizeof(spec.int_port), "%s", cfg->ovs.int_port);
		snprintf(spec.int_type, sizeof(spec.int_type), "%s", cfg->ovs.int_type);
	} else {
		snprintf(spec.int_port, sizeof(spec.int_port), "%s", cfg->ovs.uplink_port);
	}
	rc = ofgw_ovsdb_new(agent_core_loop(o->d), &dc, &ops, o, &o->db, err);
	if (rc == 0)
		rc = ofgw_ovsdb_ensure_bridge(o->db, &spec, err);
	if (rc == 0)
		rc = ofgw_ovsdb_start(o->db);
	if (rc < 0)
		rtv_error(MOD, "OVSDB client: %s; fix [ovs] in %s", err[0] ? err : strerror(-rc),
			  cfg->file);
	return rc;
}

static int ovs_start(struct rtvd *d, void **self)
{
	const struct agent_config *cfg = agent_core_config(d);
	uv_loop_t *loop = agent_core_loop(d);
	struct agent_ovs *o;
	struct cons_node_status st;
	int rc;

	if (!cfg->ovs.enabled)
		return 0;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	*self = o;	/* close and free apply from here on */
	o->d = d;
	o->start_ms = uv_now(loop);
	cons_node_status(agent_core_node(d), &st);
	o->last_index_at_start = st.last_index;
	uv_timer_init(loop, &o->gate_timer);
	uv_timer_init(loop, &o->vm_timer);
	o->gate_timer.data = o->vm_timer.data = o;
	o->timers_open = true;
	if ((rc = gateway_new(o)) < 0 || (rc = ovsdb_new(o)) < 0)
		return rc;
	feed_all_paths(o);
	uv_timer_start(&o->gate_timer, on_gate, GATE_TICK_MS, GATE_TICK_MS);
	rtv_info(MOD, "managing bridge %s through %s (Raft log up to %llu at start)",
		 cfg->ovs.bridge, cfg->ovs.db, (unsigned long long)st.last_index);
	return 0;
}

/* ------------------------------------------------------------------------- */

void agent_ovs_get_status(const struct agent_ovs *o, struct agent_ovs_status *out)
{
	struct ofgw_stats st;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return;
	out->enabled = true;
	out->ovsdb_synced = o->db && ofgw_ovsdb_synced(o->db);
	out->listening = o->listening;
	out->vm_submits = o->vm_submits;
	if (o->gw == NULL)
		return;
	ofgw_get_stats(o->gw, &st);
	out->connected = st.connected;
	out->flows_synced = st.synced;
	out->reconciles = st.reconciles;
	out->flow_mods = st.flow_mods;
	out->flows = st.n_installed;
	out->flows_added = st.flows_added;
	out->flows_modified = st.flows_modified;
	out->flows_deleted = st.flows_deleted;
}

static void close_timer(uv_timer_t *t)
{
	if (!uv_is_closing((uv_handle_t *)t))
		uv_close((uv_handle_t *)t, NULL);
}

static void ovs_close(void *self)
{
	struct agent_ovs *o = self;

	if (o->closing)
		return;
	o->closing = true;
	if (o->timers_open) {
		close_timer(&o->gate_timer);
		close_timer(&o->vm_timer);
	}
	if (o->gw)
		ofgw_close(o->gw, NULL);
	if (o->db)
		ofgw_ovsdb_close(o->db, NULL);
}

static void ovs_free(void *self)
{
	struct agent_ovs *o = self;

	ovs_vm_free(o);
	ofgw_free(o->gw);
	ofgw_ovsdb_free(o->db);
	free(o);
}

/* The OpenFlow gateway as a metric source (telemetry.h). */
static void tm_openflow(void *self, struct agent_tm_of *out)
{
	struct agent_ovs_status st;

	agent_ovs_get_status(self, &st);
	out->state = !st.enabled ? AGENT_TM_OF_DISABLED
		     : st.connected ? AGENT_TM_OF_CONNECTED : AGENT_TM_OF_CONNECTING;
	out->reconciles = st.reconciles;
	out->flows = st.flows;
	out->flows_added = st.flows_added;
	out->flows_modified = st.flows_modified;
	out->flows_deleted = st.flows_deleted;
}

static const struct agent_tm_sources tm_sources = { .openflow = tm_openflow };

static const void *ovs_iface(void *self, const char *name)
{
	(void)self;
	if (strcmp(name, AGENT_OVS_IFACE) == 0)
		return &agent_ovs_module;	/* any non-NULL: the caller wants self */
	return strcmp(name, AGENT_TM_IFACE) == 0 ? &tm_sources : NULL;
}

const struct agent_module agent_ovs_module = {
	.name = "ovs",
	.start = ovs_start,
	.applied = ovs_applied,
	.restored = ovs_restored,
	.iface = ovs_iface,
	.close = ovs_close,
	.free = ovs_free,
};
