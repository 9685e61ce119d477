/* ovs.h — rtvd and its Open vSwitch bridge: the glue between the replicated
 * state (consensus/), the OVSDB client and the OpenFlow gateway (ofgw/).
 * A module of rtvd's core (agent/core/core.h).
 *
 * With [ovs] enabled, each rtvd is the OpenFlow controller of its own
 * bridge only (docs/architecture.md, "OpenFlow gateway"):
 *
 *   - OVSDB: the client watches the bridge's interfaces and ensures the
 *     bridge: datapath_type, fail_mode secure, protocols OpenFlow13, one
 *     Controller whose target is tcp:<[ovs] of_listen>, and the port
 *     [ovs] int_port (of int_type) when configured, else the uplink port,
 *     which must then exist as a plain port. Other Controller settings are
 *     left as the operator set them: OVS 3.1 redials a lost controller
 *     after 1, 2, 4, then 8 s, so `ovs-vsctl set controller BRIDGE
 *     max_backoff=1000` (1 s) shortens an rtvd restart's gap in control.
 *   - OpenFlow: the gateway's inputs follow the state. VM ports come from
 *     OVSDB (interface name, external_ids:attached-mac) with the guest's
 *     IPs from external_ids:ip-address or, when the port has none, from the
 *     replicated VM record; rtpaths come from the state (all of them at
 *     start and after a snapshot restore, one by one from the applied hook).
 *   - VM locations: a VM port on this bridge (external_ids:vm-id, else
 *     iface-id) that appears or changes makes this agent submit VM_SET for
 *     this host through the normal submit path (forwarded to the leader,
 *     deduplicated by this process's client id and sequence). See ovs_vm.c
 *     for the rules, including when a removed port leads to VM_REMOVE.
 *
 * When the gateway takes the bridge over. The gateway reconciles the whole
 * table on every connection, so it must not listen before its inputs are
 * right, or an rtvd restart would delete flows and add them again. It
 * starts listening once OVSDB's view is synced, the bridge ensured, and
 * this replica has applied everything the leader committed (or, when the
 * bridge was not under rtvd's control before — ensure had to change it —
 * at once: there is nothing of ours to keep). If Raft has not caught up
 * after AGENT_OVS_RAFT_GRACE_MS it takes over anyway, with a warning: in
 * the lab rtvd's own Raft traffic crosses the bridge, so an emptied table
 * (ovs-vswitchd restarted while rtvd was down) must not wait for Raft.
 *
 * Everything runs on rtvd's loop; nothing blocks.
 */
#ifndef RTV_AGENT_OVS_H
#define RTV_AGENT_OVS_H

#include <stdbool.h>
#include <stdint.h>

#define AGENT_OVS_RAFT_GRACE_MS 3000

#include "agent/core/core.h"

/* What `rtvctl status` or a log line may show. */
struct agent_ovs_status {
	bool enabled;
	bool ovsdb_synced;	/* the OVSDB view is current */
	bool listening;		/* the gateway took the bridge over */
	bool connected;		/* ovs-vswitchd is connected */
	bool flows_synced;	/* desired flows == installed flows */
	uint64_t reconciles;	/* full reconciliations since start */
	uint64_t flow_mods;	/* flow-mods sent since start */
	uint64_t flows;		/* flows installed in the bridge (gateway's picture) */
	uint64_t flows_added, flows_modified, flows_deleted;	/* by completed batches */
	uint64_t vm_submits;	/* VM_SET / VM_REMOVE submitted */
};

/* The module (agent/core/core.h). start, when [ovs] enabled (nothing
 * otherwise; after the Raft node started): creates and starts the OVSDB
 * client and the gateway; fails with a negative errno after logging why
 * (bad listen address, out of memory). applied / restored feed rtpaths and
 * VM records to the gateway. close stops everything and closes every
 * handle; the switch keeps its flows (fail-mode secure). It offers the
 * OpenFlow telemetry source (AGENT_TM_IFACE). */
extern const struct agent_module agent_ovs_module;

/* o: the module's self (zeros when NULL: disabled). */
struct agent_ovs;
void agent_ovs_get_status(const struct agent_ovs *o, struct agent_ovs_status *out);

#endif /* RTV_AGENT_OVS_H */
