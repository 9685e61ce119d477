/* dpd_engine.h — rtvdp's side: the packet engine it runs, the server that
 * speaks the channel, the degraded mode. Private to dpd/ (rtvdp_main.c and
 * its tests); rtvd sees only dpd.h.
 *
 * Everything here runs on rtvdp's control thread; the engine's own threads
 * (dp.h, dp_io.c) forward packets and never wait for it.
 */
#ifndef RTV_DPD_ENGINE_H
#define RTV_DPD_ENGINE_H

#include "dpd/dpd_internal.h"

/* ------------------------------------------------------------------------- */
/* The engine (engine.c)                                                     */

struct dpd_engine {
	struct dp_io_config ioc;
	struct dp_table_config tc;
	struct dp_rcu rcu;
	struct dp_io *io;		/* allocated (dp_io_new), maybe not running */
	bool running;			/* its threads forward */
	bool adopt;			/* start on fds (a handover's) */
	int fds[DP_IO_FDS];
	bool has_table;
	struct dpd_table cur;		/* the table in force, as rtvd sent it */
	uint64_t gen;			/* tables taken, continued across takeovers */
	struct dpd_backlog backlog;
};

/* Copies the configurations; no thread, no socket yet. 0, -EINVAL, -ENOMEM. */
int dpd_engine_init(struct dpd_engine *e, const struct dp_io_config *ioc,
		    const struct dp_table_config *tc, size_t backlog_cap);
/* Allocates the engine's memory (the pool): what takes time, done before
 * a takeover asks. 0 or a negative errno. */
int dpd_engine_prepare(struct dpd_engine *e, char err[CONS_ERRLEN]);
/* Starts forwarding with the table in force (an empty one if none: every
 * frame is then NRT, as on a host without rtpaths). 0 or a negative errno,
 * err says which interface and why. */
int dpd_engine_start(struct dpd_engine *e, char err[CONS_ERRLEN]);
/* Makes t the table in force if dpd_table_order allows (-ESTALE otherwise)
 * and the engine accepts it (dp_table_new's errors); on any error the
 * previous table stays in force. ok gets the new generation and counts. */
int dpd_engine_set_table(struct dpd_engine *e, const struct dpd_table *t,
			 struct dpd_table_ok *ok, char err[CONS_ERRLEN]);
/* Every few ms: frees tables the threads left, moves the engine's misses
 * into the backlog. */
void dpd_engine_tick(struct dpd_engine *e);
/* The stats reply (m->type = DPD_T_STATS); free with dpd_msg_free. */
int dpd_engine_stats(const struct dpd_engine *e, struct dpd_msg *m);
/* Stops the threads (their misses drained first) but keeps the packet
 * sockets open: they go to fds[] (enum dp_io_fd), for a handover. */
void dpd_engine_detach(struct dpd_engine *e, int fds[DP_IO_FDS]);
/* The next dpd_engine_start runs on these sockets (then owns them). */
void dpd_engine_adopt(struct dpd_engine *e, const int fds[DP_IO_FDS]);
/* Stops and joins the threads (their misses drained first); the table
 * and backlog stay. */
void dpd_engine_stop_threads(struct dpd_engine *e);
void dpd_engine_close(struct dpd_engine *e);

/* ------------------------------------------------------------------------- */
/* The server (server.c)                                                     */

#define DPD_CONNS_MAX 4

struct dpd_conn {
	int fd;				/* -1: free slot */
	uint32_t pid;
	bool greeted;			/* hello or takeover seen */
	char name[DPD_NAME_LEN];
	struct dpd_rbuf rb;
};

struct dpd_server {
	struct dpd_engine *e;
	int lfd;
	uint64_t host_id, uplink_bps;
	uint64_t started_ns, takeovers;
	uint8_t mode;
	uint64_t seq;
	struct dpd_conn c[DPD_CONNS_MAX];
	int takeover;			/* index of a connection asking to take over, or -1 */
	uint64_t requests, refused;
};

void dpd_server_init(struct dpd_server *s, struct dpd_engine *e, int lfd, uint64_t host_id,
		     uint64_t uplink_bps);
/* Waits up to timeout_ms for the listening socket and the connections and
 * answers every whole request. A connection that sends garbage, a frame
 * too large, or speaks before hello is answered with an error when
 * possible and closed; rtvdp goes on. Returns 0, or 1 when a takeover was
 * asked (s->takeover says by whom). */
int dpd_server_poll(struct dpd_server *s, int timeout_ms);
/* Hands the table, the backlog, the listening socket and (if the engine
 * kept them open) its packet sockets to the connection that asked, after
 * stopping the engine's threads. On success this process must exit
 * without touching the sockets. */
int dpd_server_handover(struct dpd_server *s, char err[CONS_ERRLEN]);
/* Closes every connection (not the listening socket). */
void dpd_server_close(struct dpd_server *s);

/* The state reply of this process. */
void dpd_server_state(const struct dpd_server *s, struct dpd_state *out);

/* ------------------------------------------------------------------------- */
/* Taking over (takeover.c)                                                  */

/* The new process's half: connects to the running rtvdp at path, asks it
 * to hand over, receives the table, the backlog and the fds (*lfd: the
 * listening socket, -1 if it did not come). The running process stops
 * forwarding when it sends; the caller starts its engine at once. */
int dpd_takeover(const char *path, uint64_t host_id, struct dpd_engine *e, int *lfd,
		 uint64_t *takeovers, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* Configuration (config.c)                                                  */

struct agent_config;

/* The engine's configuration from rtvd's configuration file ([node],
 * [uplink], [dataplane]): rtvdp reads the same file as rtvd, so the two
 * can never disagree about the devices, the pacer's rate or the host.
 * The returned config points into cfg (device names). */
void dpd_config_from(const struct agent_config *cfg, struct dp_io_config *ioc,
		     struct dp_table_config *tc);

/* ------------------------------------------------------------------------- */
/* Plain forwarding (degrade.c)                                              */

/* The name of the kernel bridge that joins int_dev and uplink_dev when no
 * rtvdp can run: "rtvdeg-" + the first 8 characters of int_dev. */
void dpd_degrade_bridge_name(const char *int_dev, char out[16]);
/* Joins the two devices in a kernel bridge: frames flow without deadlines
 * (no label, no pacer, no EDF). Idempotent. 0 or a negative errno. */
int dpd_degrade(const char *int_dev, const char *up_dev, char err[CONS_ERRLEN]);
/* Removes that bridge if it exists (rtvdp does this before it forwards,
 * or frames would cross twice). 1 if there was one, 0 if not, or < 0. */
int dpd_undegrade(const char *int_dev, char err[CONS_ERRLEN]);
/* Is the bridge there? */
bool dpd_degraded(const char *int_dev);

#endif /* RTV_DPD_ENGINE_H */
