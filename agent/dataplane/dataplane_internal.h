/* dataplane_internal.h — what dataplane.c, dataplane_miss.c and
 * dataplane_out.c share. Private to those three files. */
#ifndef RTV_AGENT_DATAPLANE_INTERNAL_H
#define RTV_AGENT_DATAPLANE_INTERNAL_H

#include <uv.h>

#include "agent/dataplane/dataplane.h"
#include "agent/dataplane/missrep.h"
#include "agent/dataplane/misspol.h"
#include "common/log.h"
#include "dpd/dpd.h"

#define DPG_MOD "dataplane"

/* A vector of records kept sorted by their first member, a uint64_t id. */
struct dpg_idvec {
	void *v;
	size_t n, cap, size;
};

void *dpg_idvec_find(const struct dpg_idvec *iv, uint64_t id);
/* The record with this id, inserted zeroed (id set) if missing; NULL: no memory. */
void *dpg_idvec_get(struct dpg_idvec *iv, uint64_t id);
void *dpg_idvec_at(const struct dpg_idvec *iv, size_t i);
/* Keeps the records for which keep() is true. */
void dpg_idvec_filter(struct dpg_idvec *iv, bool (*keep)(void *arg, const void *rec), void *arg);
void dpg_idvec_free(struct dpg_idvec *iv);

/* A path this host receives: what its miss reports said so far. */
struct dpg_rx {
	uint64_t path_id;		/* first: dpg_idvec key */
	uint64_t src_host;
	uint64_t cum;			/* misses drained so far */
	struct agent_missrep last;	/* the last interval with misses */
	uint8_t repeats;		/* sends of `last` still due without new misses */
	bool fresh;			/* new misses since the last send */
	uint64_t sent_tick;		/* the drain that last sent it */
	uint64_t reports_sent;
};

struct agent_dp {
	struct rtvd *d;
	struct dp_table_config tc;
	struct dp_rcu rcu;		/* rtvd's copy of the table (no threads read it) */
	/* rtvdp, which runs the table (dataplane_chan.c) */
	struct dpd_uclient uc;
	struct dpd_link link;
	struct dpd_msg stats;		/* its last stats reply (DPD_T_STATS), if have_stats */
	bool uc_open, have_stats, stats_wait, miss_wait, push_wait, push_due;
	bool boost_sync;		/* rtvdp (re)met: no push before its stats came */
	bool seed_due;			/* and their boosts seed the policy at the first push */
	uint64_t miss_ack, miss_dropped;
	uint64_t takeovers;		/* rtvdp's, from its last state reply */
	uint32_t dp_pid;		/* the last rtvdp met (0: none yet) */
	bool alive_warned;
	struct agent_missrep_sock sock;
	uv_timer_t timer;
	struct agent_misspol_cfg pc;
	struct dpg_idvec pols;		/* struct agent_misspol: paths this host sends */
	struct dpg_idvec rxs;		/* struct dpg_rx: paths this host receives */
	/* the table's input, reused */
	struct cons_rtpath *in;
	uint8_t *boost;
	size_t cap_in, n_in;
	/* the escalation in flight (one: consensus.h's one request per client) */
	struct agent_submit *job;
	uint64_t job_path;
	uint8_t job_level;
	uint64_t client_id, seq;
	struct agent_dp_counters c;
	uint64_t drains;		/* dpg_miss_drain calls */
	struct rtv_ratelimit table_rl, reject_rl, report_rl, esc_rl, route_rl;
	uint32_t host_ip;
	bool rcu_open, timer_open, closing;
};

/* dataplane.c */
uint64_t dpg_now_ns(void);
/* Builds the table from the state and the boosts and publishes it. */
int dpg_rebuild(struct agent_dp *dp);

/* dataplane_chan.c */
int dpg_chan_start(struct agent_dp *dp);
void dpg_chan_close(struct agent_dp *dp);
/* Sends rtvdp the table input (dp->in, dp->boost, dp->n_in) when allowed,
 * else at a later tick. */
void dpg_chan_push(struct agent_dp *dp);
/* Each tick: misses and counters from rtvdp, a held push, degrading. */
void dpg_chan_tick(struct agent_dp *dp);
/* rtvdp's counters for rtpath id from the last stats (NULL: none). */
const struct dpd_path_stats *dpg_chan_path(const struct agent_dp *dp, uint64_t id);

/* dataplane_miss.c */
/* Receiver: takes rtvdp's miss records and sends the reports. */
void dpg_miss_drain(struct agent_dp *dp, const struct dp_miss_report *rec, size_t n);
/* Sender: a datagram of reports arrived. */
void dpg_miss_received(void *arg, const struct agent_missrep_msg *m, uint32_t from_ip);
/* Sender: boost decay and escalation, as time passes. */
void dpg_miss_tick(struct agent_dp *dp);
/* A PATH_ESCALATE of path id was applied. */
void dpg_miss_escalated(struct agent_dp *dp, uint64_t id);
/* Drops policy and receiver records of paths the table no longer holds. */
void dpg_miss_prune(struct agent_dp *dp, const struct dp_table *t);

#endif /* RTV_AGENT_DATAPLANE_INTERNAL_H */
