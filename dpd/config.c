/* config.c — the engine's configuration from rtvd's file (dpd_engine.h).
 *
 * The sizes are the ones rtvd used when the engine ran inside it
 * (agent/dataplane.c); they move here with the engine.
 */
#include "dpd/dpd_engine.h"

#include "agent/core/config.h"
#include "common/units.h"

#define POOL_PKTS 4096
#define NRT_LIMIT_PKTS 1000
#define CTL_LIMIT_PKTS 256
#define WFQ_MAX_PATHS 1024
#define FRAME_MAX_MIN 2048

void dpd_config_from(const struct agent_config *cfg, struct dp_io_config *ioc,
		     struct dp_table_config *tc)
{
	const struct agent_dp_config *c = &cfg->dataplane;
	uint32_t frame_max = c->mtu + 64 > FRAME_MAX_MIN ? c->mtu + 64 : FRAME_MAX_MIN;
	uint32_t host_ip = c->host_ip;

	if (!host_ip)
		(void)rtv_parse_ipport(agent_url_addr(cfg->rpc_addr), &host_ip, NULL);
	*tc = (struct dp_table_config){
		.host_id = cfg->id, .uplink_bps = cfg->uplink_bps,
		.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES,
		.nrt_max_frame_bytes = cfg->max_frame_bytes, .tx_ahead_ns = c->tx_ahead_ns,
	};
	*ioc = (struct dp_io_config){
		.int_dev = c->int_dev, .up_dev = c->uplink_dev, .rt_priority = c->rt_priority,
		.busy_poll = c->busy_poll, .pin = c->pin, .cpu = c->cpu,
		.sched = {
			.uplink_bps = cfg->uplink_bps, .overhead_bytes = SCHED_ETH_OVERHEAD_BYTES,
			.mtu = c->mtu, .frame_max_bytes = frame_max, .pool_pkts = POOL_PKTS,
			.nrt_limit_pkts = NRT_LIMIT_PKTS, .ctl_limit_pkts = CTL_LIMIT_PKTS,
			.wfq_max_paths = WFQ_MAX_PATHS, .tx_ahead_ns = c->tx_ahead_ns,
			.host_ip = host_ip, .edge_remark = true,
		},
		.rx = { .interval_ns = c->miss_interval_ns,
			.uncertainty_ns = c->clock_uncertainty_ns },
	};
}
