/* ovs_mtu.c — the MTU of VM ports, set up front (docs/mtu.md).
 *
 * What rtvnet adds below the guest must fit the uplink: 4 bytes of MPLS
 * label on every RT frame when the dataplane is on. A guest whose
 * interface MTU equals the uplink's sends RT packets that no longer fit;
 * the dataplane then fragments them (DF clear) or answers frag-needed (DF
 * set), after the fact, one flow at a time. Setting the guest's MTU to the
 * uplink's less the encapsulation avoids both (seed 002's SET_MTU: 1450
 * for VXLAN, so nothing fragments).
 *
 * How: OVS's Interface mtu_request on every VM port of our bridge. OVS
 * sets the device (the tap of a libvirt guest, a veth end in the lab); a
 * virtio-net guest learns it when libvirt also passes <mtu size=…/> (QEMU's
 * host_mtu), a veth guest when its end follows (the lab does so). The MTU
 * OVS then reports for the port is what goes into the VM's replicated
 * record, and `rtvctl vms` shows it.
 */
#include <errno.h>
#include <string.h>

#include "agent/ovs/ovs_internal.h"
#include "common/log.h"

#define MOD "ovs"

uint32_t ovs_mtu_want(const struct agent_config *c)
{
	if (c->ovs.guest_mtu == AGENT_GUEST_MTU_OFF)
		return 0;
	if (c->ovs.guest_mtu > 0)
		return (uint32_t)c->ovs.guest_mtu;
	/* auto: only what rtvnet itself adds; without the dataplane, nothing */
	if (!c->dataplane.enabled)
		return 0;
	return c->dataplane.mtu - CONS_MPLS_LABEL_BYTES;
}

void ovs_mtu_apply(struct agent_ovs *o, const struct ofgw_ovsdb_port *p)
{
	uint32_t want = ovs_mtu_want(agent_core_config(o->d));
	int rc;

	if (!want || !ofgw_ovsdb_port_is_vm(p) || p->mtu_request == want)
		return;
	rc = ofgw_ovsdb_set_mtu_request(o->db, p->name, want);
	if (rc == 0)
		rtv_info(MOD, "VM port %s: mtu_request %u (was %u)", p->name, want, p->mtu_request);
	else if (rc != -EBUSY && rc != -ENOTCONN)
		rtv_warn(MOD, "VM port %s: cannot ask for MTU %u: %s", p->name, want, strerror(-rc));
}
