/* flows.h — flow tables, their difference, and the pipeline that says which
 * flows the inputs imply (private to ofgw/).
 *
 * struct flowtab holds flows keyed by their identity (table, priority,
 * match): one entry per key, as in a switch's table. The gateway keeps two:
 * `desired` (what the inputs imply, pipeline.c) and `installed` (what the
 * switch has: the last dump plus every flow-mod sent since). flows_diff
 * turns the difference into flow-mods.
 */
#ifndef RTV_OFGW_FLOWS_H
#define RTV_OFGW_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofgw/ofgw.h"

struct cons_rtpath;

struct flowtab {
	struct ofgw_flow *flows;	/* dense: entries 0..n-1 */
	uint64_t *cookies;		/* cookies[i] == flows[i].cookie, for fast scans */
	uint32_t *hashes, *next;	/* per entry: key hash, next entry in its bucket */
	uint32_t *buckets;		/* first entry of each bucket, or FLOWTAB_NONE */
	size_t n, cap, n_buckets;	/* n_buckets: a power of two >= cap */
};
#define FLOWTAB_NONE UINT32_MAX

void flowtab_init(struct flowtab *t);
void flowtab_uninit(struct flowtab *t);
void flowtab_clear(struct flowtab *t);
/* Inserts f, replacing the entry with the same key. 0 or -ENOMEM. */
int flowtab_put(struct flowtab *t, const struct ofgw_flow *f);
/* The entry with f's key, or NULL. Valid until the table changes. */
const struct ofgw_flow *flowtab_find(const struct flowtab *t, const struct ofgw_flow *key);
/* Removes the entry with key's key; false if there was none. */
bool flowtab_del(struct flowtab *t, const struct ofgw_flow *key);
/* Removes every entry with this cookie (and this table unless table is
 * OFP_TABLE_ALL); returns how many. */
size_t flowtab_del_cookie(struct flowtab *t, uint64_t cookie, uint8_t table);

/* One flow-mod of a difference. */
struct flow_op {
	uint8_t command;	/* OFPFC_ADD, OFPFC_DELETE_STRICT, OFPFC_DELETE (by cookie) */
	bool modify;		/* an ADD replacing a flow whose content differed */
	struct ofgw_flow flow;
};

struct flow_ops {
	struct flow_op *v;
	size_t n, cap;
	uint32_t added, modified, deleted, unchanged;
};
void flow_ops_init(struct flow_ops *ops);
void flow_ops_uninit(struct flow_ops *ops);
void flow_ops_clear(struct flow_ops *ops);
/* Appends a non-strict delete of every flow of `cookie` in `table`. */
int flow_ops_delete_cookie(struct flow_ops *ops, uint8_t table, uint64_t cookie);

/* Appends the flow-mods that turn `have` into `want`: ADDs (new or changed
 * content: an add replaces the flow, cookie included, which a modify would
 * not, §6.4) first, then strict DELETEs of stale entries, so that traffic
 * always has a flow to match. With cookies != NULL only flows with one of
 * those n_cookies cookies are considered (incremental updates); `unchanged`
 * is counted for full diffs only. 0 or -ENOMEM (ops may hold a prefix). */
int flows_diff(const struct flowtab *want, const struct flowtab *have, const uint64_t *cookies,
	       size_t n_cookies, struct flow_ops *ops);

/* ------------------------------------------------------------------------- */
/* The pipeline (pipeline.c): see ofgw.h for the tables and priorities.      */

#define PIPE_PRIO_CONTROL 60000
#define PIPE_PRIO_RTPATH 500	/* + 1 for a protocol, + 1 for a port */
#define PIPE_PRIO_EDGE 100
#define PIPE_PRIO_TO_HOST 300
#define PIPE_PRIO_FLOOD 200
#define PIPE_PRIO_OFFHOST 100
#define PIPE_PRIO_POP 50	/* labelled frames from rtv-int: only on a degraded host */
#define PIPE_DSCP_CONTROL 48	/* CS6, in the ToR's high class (tests/lab/lab.sh) */
#define PIPE_TABLE_CLASSIFY 0
#define PIPE_TABLE_FORWARD 1

struct pipeline_in {
	uint64_t host_id;
	uint32_t host_ip;
	const char *offhost_port, *uplink_port;
	const struct ofgw_control_port *control;
	size_t n_control;
	const struct ofgw_port *ports;	/* the bridge's, from the switch */
	size_t n_ports;
	const struct ofgw_vm_port *vms;
	size_t n_vms;
};

/* Replaces t's contents with the base, control and VM flows. 0 or -ENOMEM. */
int pipeline_base(const struct pipeline_in *in, struct flowtab *t);
/* The flow marking rtpath p at its source VM's port: returns 1 with *out
 * filled, or 0 when this host has none for it (another host's rtpath, or
 * its VM's port is not on the bridge). */
int pipeline_rtpath(const struct pipeline_in *in, const struct cons_rtpath *p,
		    struct ofgw_flow *out);
/* The number of the port called name, or 0. */
uint32_t pipeline_port_no(const struct pipeline_in *in, const char *name);

#endif /* RTV_OFGW_FLOWS_H */
