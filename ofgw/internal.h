/* internal.h — the gateway object shared by conn.c (the switch connection)
 * and ofgw.c (inputs, desired flows, reconciliation). Private to ofgw/.
 */
#ifndef RTV_OFGW_INTERNAL_H
#define RTV_OFGW_INTERNAL_H

#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "ofgw/flows.h"
#include "ofgw/ofgw.h"
#include "ofgw/ofp.h"

#define OFGW_MOD "ofgw"
#define OFGW_DIRTY_MAX 256	/* cookies tracked one by one; beyond: full diff */
#define OFGW_RESYNC_MAX 3	/* consecutive failed reconciliations before giving up */
#define OFGW_RETRY_MS 1000	/* after a failed dump */

/* Where the connection is. A switch connection goes HELLO -> FEATURES ->
 * PORTS -> DUMP -> READY; batches of flow-mods are sent only in READY. */
enum ofgw_phase {
	OFGW_IDLE,		/* no switch */
	OFGW_HELLO,		/* our hello sent, waiting for the switch's */
	OFGW_FEATURES,
	OFGW_PORTS,
	OFGW_DUMP,		/* flow dump in progress (or waiting to retry one) */
	OFGW_READY,
};

struct ofgw_conn {
	uv_tcp_t tcp;
	struct ofgw *o;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	bool closing;
};

/* A (table, cookie) whose flows must go by a non-strict delete: a dumped
 * flow with a match we cannot reproduce. */
struct ofgw_opaque {
	uint8_t table;
	uint64_t cookie;
};

struct ofgw {
	uv_loop_t *loop;
	struct ofgw_config cfg;		/* strings point into the arrays below */
	char listen[64], offhost[OFGW_PORT_NAME_MAX], uplink[OFGW_PORT_NAME_MAX];
	struct ofgw_hooks hooks;
	char errmsg[OFGW_ERRLEN];

	uv_tcp_t server;
	uv_timer_t echo_timer, batch_timer, retry_timer;
	bool listening, started;
	int open_handles;		/* closing: handles not yet closed */
	void (*close_cb)(struct ofgw *o);
	bool closing;

	/* the connection */
	struct ofgw_conn *conn;
	enum ofgw_phase phase;
	uint32_t xid;			/* last used */
	unsigned echo_missed;
	uint64_t dpid;
	uint32_t ports_xid, dump_xid, stats_xid;
	struct ofgw_port *ports, *ports_new;	/* ports_new: a port-desc reply being read */
	size_t n_ports, n_ports_new, cap_ports, cap_ports_new;

	/* inputs */
	struct ofgw_vm_port *vms;
	size_t n_vms;
	struct cons_rtpath *paths;	/* sorted by id */
	size_t n_paths, cap_paths;

	/* flows */
	struct flowtab desired, installed;
	struct ofgw_opaque *opaque;
	size_t n_opaque, cap_opaque;
	bool dump_failed;
	uint64_t dump_start_ns;
	uint64_t dirty[OFGW_DIRTY_MAX];
	size_t n_dirty;
	bool dirty_all;
	struct flow_ops ops;

	/* the batch in flight (at most one) */
	bool in_flight;
	uint32_t batch_first_xid, barrier_xid;
	uint64_t batch_start_ns;
	struct ofgw_sync batch;
	bool resync;
	unsigned resync_runs;

	/* port stats request */
	ofgw_port_stats_cb stats_cb;
	void *stats_arg;
	struct ofgw_port_stats *pstats;
	size_t n_pstats, cap_pstats;

	struct ofp_buf out;
	struct ofgw_stats st;
	struct rtv_ratelimit rl;
};

/* conn.c */
/* "IP:PORT" -> sa; 0 or -EINVAL with err. */
int ofgw__parse_listen(const char *s, struct sockaddr_in *sa, char err[OFGW_ERRLEN]);
int ofgw__listen(struct ofgw *o, char err[OFGW_ERRLEN]);
uint32_t ofgw__next_xid(struct ofgw *o);
/* Writes o->out to the switch (no-op when empty). 0 or a negative errno
 * (the connection is then dropped). */
int ofgw__flush(struct ofgw *o);
void ofgw__drop(struct ofgw *o, const char *why);
void ofgw__close_handles(struct ofgw *o);
/* A rate-limited warning about bad input. */
void ofgw__warn(struct ofgw *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* reconcile.c */
/* Starts a batch on the next loop turn if one is due and none in flight. */
void ofgw__schedule(struct ofgw *o);
/* Notes that the desired flows of `cookie` changed. */
void ofgw__mark_dirty(struct ofgw *o, uint64_t cookie);

/* ofgw.c: recomputes every desired flow from the inputs (marks all dirty). */
void ofgw__rebuild(struct ofgw *o);

/* reconcile.c and ofgw.c, called by conn.c */
void ofgw__on_ready(struct ofgw *o);
void ofgw__on_flow_stats(struct ofgw *o, const struct ofp_msg *m);
void ofgw__on_barrier(struct ofgw *o, uint32_t xid);
void ofgw__on_error(struct ofgw *o, const struct ofp_msg *m);
void ofgw__on_port_status(struct ofgw *o, const struct ofp_msg *m);
void ofgw__on_port_stats(struct ofgw *o, const struct ofp_msg *m);
void ofgw__on_disconnect(struct ofgw *o);
void ofgw__handle_closed(struct ofgw *o);

#endif /* RTV_OFGW_INTERNAL_H */
