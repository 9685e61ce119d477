/* ovs_internal.h — shared by ovs.c (gateway and OVSDB glue) and ovs_vm.c
 * (VM ports and VM records). Private to those two files.
 */
#ifndef RTV_AGENT_OVS_INTERNAL_H
#define RTV_AGENT_OVS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/core/core.h"
#include "consensus/consensus.h"
#include "ofgw/ofgw.h"
#include "ofgw/ovsdb.h"


struct agent_ovs {
	struct rtvd *d;
	struct ofgw_ovsdb *db;
	struct ofgw *gw;

	uv_timer_t gate_timer;		/* polls until the gateway listens */
	uv_timer_t vm_timer;		/* VM submissions retried later */
	bool timers_open, closing;
	bool ensured;			/* an ensure attempt ended */
	bool fresh;			/* ensure had to change the bridge */
	bool listening;
	uint64_t start_ms;
	uint64_t last_index_at_start;	/* Raft log on disk when rtvd started */

	/* VM learning (ovs_vm.c) */
	uint64_t client_id, seq;	/* our submits' deduplication key */
	struct agent_submit *job;	/* the one VM command in flight */
	char (*dirty)[CONS_NAME_MAX];	/* VM keys to look at, oldest first */
	size_t n_dirty, cap_dirty;
	uint64_t vm_submits;
};

/* ovs_vm.c */
/* The VM key of an OVSDB port: vm-id, else iface-id ("" for other ports). */
const char *ovs_vm_key(const struct ofgw_ovsdb_port *p);
/* Queues VM `key` to be compared with the replicated state. */
void ovs_vm_dirty(struct agent_ovs *o, const char *key);
/* Submits the next queued VM change unless one is in flight. */
void ovs_vm_kick(struct agent_ovs *o);
/* Recomputes the gateway's VM ports from OVSDB's view and the state. */
void ovs_vm_feed(struct agent_ovs *o);
/* Frees what VM learning holds (the job, if its answer never came). */
void ovs_vm_free(struct agent_ovs *o);

/* ovs_mtu.c */
/* The MTU VM ports are given (docs/mtu.md), 0 when rtvd leaves them alone. */
uint32_t ovs_mtu_want(const struct agent_config *c);
/* Asks OVS for that MTU on VM port p unless it has it already. */
void ovs_mtu_apply(struct agent_ovs *o, const struct ofgw_ovsdb_port *p);

#endif /* RTV_AGENT_OVS_INTERNAL_H */
