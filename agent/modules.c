/* modules.c — the one list of rtvd's modules (see modules.h). */
#include "agent/modules.h"

#include "agent/core/core.h"
#include "agent/dataplane/dataplane.h"
#include "agent/gossip/gossip.h"
#include "agent/libvirt/libvirt.h"
#include "agent/ovs/ovs.h"
#include "agent/systemd/systemd.h"
#include "agent/telemetry/telemetry.h"

int agent_register_modules(void)
{
	static const struct agent_module *const all[] = {
		&agent_telemetry_module, &agent_ovs_module, &agent_libvirt_module,
		&agent_dp_module, &agent_gossip_module, &agent_systemd_module,
	};
	int rc;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((rc = agent_module_register(all[i])) < 0)
			return rc;
	return 0;
}
