/* dpd.h — rtvdp, the dataplane daemon, and the local channel between it and
 * rtvd (issue 13; docs/dataplane-process.md is the design).
 *
 * rtvdp holds rtv-int and the uplink and runs the packet engine (dp.h). It
 * keeps forwarding with the last rtpath table it was given when rtvd is
 * gone. rtvd drives it over one Unix stream socket:
 *
 *   rtvd                                  rtvdp
 *   hello {host, pid}            ──────▶
 *                                ◀──────  state {table gen/index, misses kept, ...}
 *   table {index, paths, boosts} ──────▶  (built and published, or refused)
 *                                ◀──────  table_ok {gen, index} | error
 *   stats_get                    ──────▶
 *                                ◀──────  stats {counters, histograms, per path}
 *   misses_get {ack, max}        ──────▶
 *                                ◀──────  misses {first_seq, reports, dropped}
 *
 * and a second rtvdp takes over from the running one on the same socket:
 *
 *   takeover {pid}               ──────▶  (old stops its threads)
 *                                ◀──────  handover {table, misses} + SCM_RIGHTS fds
 *
 * Framing. Each message is a 4-byte big-endian length, then that many bytes
 * of one msgpack map (1 ≤ length ≤ DPD_FRAME_MAX). Maps carry "v" (the
 * format version: a newer one is refused with -EPROTONOSUPPORT), "t" (the
 * type's name) and "seq" (the sender's request number; a reply carries the
 * request's in "re"). Unknown keys are ignored, so either side may be
 * upgraded first; known keys are type- and range-checked, none twice, and a
 * message is validated whole before anything is used.
 *
 * Ownership. Decoders copy everything out of the caller's buffer; arrays in
 * a decoded message are malloc'd and freed by dpd_msg_free. Encoders return
 * a malloc'd frame (header included) the caller frees.
 *
 * Errors: 0 or a negative errno; decoders and I/O fill err (CONS_ERRLEN
 * bytes) with a sentence saying what was wrong.
 */
#ifndef RTV_DPD_H
#define RTV_DPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "dp/dp.h"
#include "consensus/consensus.h"

#define DPD_VERSION 1
#define DPD_HDR_BYTES 4
#define DPD_FRAME_MAX (16u << 20)	/* a table of 50,000 rtpaths fits */
#define DPD_TABLE_MAX 50000		/* rtpaths per table message */
#define DPD_MISSES_MAX 4096		/* reports per misses message */
#define DPD_PATHS_MAX 50000		/* per-path entries per stats message */
#define DPD_FDS_MAX 16			/* descriptors per handover */
#define DPD_NAME_LEN 32

/* ------------------------------------------------------------------------- */
/* Messages                                                                  */

enum dpd_type {
	DPD_T_HELLO = 1,	/* rtvd → rtvdp: first message of a connection */
	DPD_T_STATE,		/* rtvdp → rtvd: answers hello */
	DPD_T_TABLE,		/* rtvd → rtvdp: the rtpath table */
	DPD_T_TABLE_OK,		/* rtvdp → rtvd: the table is in force */
	DPD_T_STATS_GET,	/* rtvd → rtvdp */
	DPD_T_STATS,		/* rtvdp → rtvd */
	DPD_T_MISSES_GET,	/* rtvd → rtvdp: acknowledges, then asks for more */
	DPD_T_MISSES,		/* rtvdp → rtvd */
	DPD_T_ERROR,		/* either way: a request refused */
	DPD_T_TAKEOVER,		/* new rtvdp → running rtvdp */
	DPD_T_HANDOVER,		/* running rtvdp → new one, with the fds */
};
#define DPD_T_MAX DPD_T_HANDOVER

/* What the host's forwarding is doing (state, stats, `rtvctl status`). */
enum dpd_mode {
	DPD_MODE_DEADLINE = 0,	/* rtvdp forwards and keeps deadlines */
	DPD_MODE_DEGRADED,	/* rtvdp is gone for good: plain forwarding */
};

struct dpd_hello {
	uint64_t host_id;	/* rtvd's; rtvdp refuses another host's (> 0) */
	uint32_t pid;
	char name[DPD_NAME_LEN];	/* "rtvd", "rtvdp" (takeover), "rtvctl" */
};

/* rtvdp as it stands: the answer to hello. gen/index 0: no table yet. */
struct dpd_state {
	uint64_t host_id, uplink_bps;
	uint32_t pid;
	uint8_t mode;			/* enum dpd_mode */
	uint64_t started_ns;		/* CLOCK_REALTIME this process started */
	uint64_t takeovers;		/* processes this one's sockets passed through */
	uint64_t gen;			/* rtvdp's number for its current table */
	uint64_t index;			/* the Raft index that table was built at */
	uint64_t n_tx, n_rx;		/* rtpaths sent / received in it */
	uint64_t misses_kept;		/* reports held for rtvd, not yet acknowledged */
	uint64_t misses_dropped;	/* reports lost to a full backlog, since start */
	uint64_t next_seq;		/* the next report's sequence number */
	char version[DPD_NAME_LEN];	/* rtvdp's build */
};

/* The rtpath table as rtvd builds it (dataplane.h): this host's replicated
 * rtpaths at Raft index `index`, with each sent path's local boost. */
struct dpd_table {
	uint64_t index;			/* > 0; see dpd_table_order */
	size_t n;			/* <= DPD_TABLE_MAX */
	struct cons_rtpath *paths;	/* n, owned by the message */
	uint8_t *boost;			/* n, owned by the message */
};

struct dpd_table_ok {
	uint64_t gen, index;
	uint64_t n_tx, n_rx;
};

/* Acknowledges every report with seq < ack (0: none), then asks for up to
 * max (<= DPD_MISSES_MAX) of the rest. */
struct dpd_misses_get {
	uint64_t ack;
	uint32_t max;
};

/* Reports first_seq, first_seq + 1, ... still held by rtvdp. */
struct dpd_misses {
	uint64_t first_seq;
	uint64_t dropped;		/* reports lost to a full backlog, since start */
	size_t n;			/* <= DPD_MISSES_MAX */
	struct dp_miss_report *r;	/* n, owned by the message */
};

/* A histogram as it crosses the channel: only the non-empty buckets of a
 * dp_hist (indices strictly increasing, each < DP_HIST_BUCKETS). */
struct dpd_hist {
	uint64_t count, sum, min, max;
	uint32_t n;			/* non-empty buckets */
	uint32_t *idx;			/* n, owned by the message */
	uint64_t *cnt;
};

enum dpd_ctr {
	/* dp_sched_stats */
	DPD_C_RX_FRAMES, DPD_C_RT_FRAMES, DPD_C_NRT_FRAMES, DPD_C_CTL_FRAMES,
	DPD_C_SENT_FRAMES, DPD_C_SENT_BYTES, DPD_C_NRT_OVERTAKES, DPD_C_DROP_POOL,
	DPD_C_DROP_RUNT, DPD_C_BAD_IP_PASSED, DPD_C_DROP_NRT_FULL, DPD_C_DROP_CTL_FULL,
	DPD_C_DROP_POLICED, DPD_C_DEMOTED, DPD_C_DROP_TOO_BIG, DPD_C_ICMP_SENT,
	DPD_C_ICMP_RATELIMITED, DPD_C_ICMP_NOT_ANSWERED, DPD_C_DROP_VM_MPLS, DPD_C_REMARKED,
	DPD_C_WFQ_NO_SLOT, DPD_C_TABLE_SWAPS, DPD_C_FRAGMENTED, DPD_C_FRAG_OUT,
	DPD_C_BACKLOG_NRT, DPD_C_BACKLOG_CTL, DPD_C_BACKLOG_EDF, DPD_C_BACKLOG_WFQ,
	DPD_C_DROP_NRT_SOJOURN, DPD_C_DROP_DEMOTED_SOJOURN, DPD_C_TOLERATED,
	DPD_C_CDV_TOLERANCE_NS,
	/* dp_rx_stats */
	DPD_C_IN_FRAMES, DPD_C_IN_POPPED, DPD_C_IN_PASSED, DPD_C_IN_MPLS_FOREIGN,
	DPD_C_IN_UNKNOWN_PATH, DPD_C_IN_MISSES, DPD_C_IN_NOT_IPV4, DPD_C_IN_REPORTS_LOST,
	DPD_C_IN_LATE_PAST_LABEL,
	/* dp_io_stats */
	DPD_C_IO_INT_RX, DPD_C_IO_INT_TX, DPD_C_IO_UP_RX, DPD_C_IO_UP_TX, DPD_C_IO_TX_ERRORS,
	DPD_C_IO_RX_TRUNCATED,
	DPD_C_N
};
/* The counter's key on the wire (and in metrics), e.g. "drop_pool". */
const char *dpd_ctr_name(enum dpd_ctr c);

struct dpd_path_stats {
	uint64_t id;
	uint8_t dir;			/* enum dp_dir */
	uint8_t level, boost;
	struct dp_path_counters c;
	bool has_hist;			/* receiver side: delay and lateness */
	struct dpd_hist delay, late;	/* ns */
};

struct dpd_stats {
	uint64_t ctr[DPD_C_N];		/* a counter the sender lacks reads 0 */
	struct dpd_hist qdelay[DP_QC_N];	/* by enum dp_qclass */
	size_t n;			/* <= DPD_PATHS_MAX */
	struct dpd_path_stats *paths;	/* n, owned by the message */
};

struct dpd_error {
	int32_t code;			/* a negative errno */
	char msg[CONS_ERRLEN];
};

/* What a running rtvdp hands to the one taking over, besides the fds: the
 * roles of the fds in the order they travel, its table and its misses. */
enum dpd_fd_role {
	DPD_FD_LISTEN = 1,	/* the channel's listening socket */
	DPD_FD_INT_RX, DPD_FD_UP_RX, DPD_FD_INT_TX_EG, DPD_FD_INT_TX_IN, DPD_FD_UP_TX,
};
#define DPD_FD_ROLE_MAX DPD_FD_UP_TX

struct dpd_handover {
	uint64_t gen;			/* the table's generation: the new one continues */
	uint64_t takeovers;		/* how many the sockets went through before */
	uint32_t n_fds;			/* <= DPD_FDS_MAX */
	uint8_t roles[DPD_FDS_MAX];	/* enum dpd_fd_role, each at most once */
	bool has_table;
	struct dpd_table table;
	struct dpd_misses misses;	/* the backlog, unacknowledged reports */
};

struct dpd_msg {
	enum dpd_type type;
	uint64_t seq;			/* this message's number */
	uint64_t re;			/* the request a reply answers (0: none) */
	union {
		struct dpd_hello hello;		/* HELLO, TAKEOVER */
		struct dpd_state state;
		struct dpd_table table;
		struct dpd_table_ok table_ok;
		struct dpd_misses_get misses_get;
		struct dpd_misses misses;
		struct dpd_stats stats;
		struct dpd_error error;
		struct dpd_handover handover;
	} u;				/* STATS_GET carries nothing */
};

const char *dpd_type_name(enum dpd_type t);

/* Encodes m into one frame (length header included), validated as the
 * decoder would. Returns 0, -EINVAL (m is not valid: err says why, may be
 * NULL) or -ENOMEM; *buf is malloc'd, the caller frees it. */
int dpd_msg_encode(const struct dpd_msg *m, void **buf, size_t *len, char err[CONS_ERRLEN]);
/* Decodes one frame's body (without its 4-byte header). Returns 0, -EPROTO
 * (malformed, mistyped, repeated or missing key, unknown type),
 * -EPROTONOSUPPORT (newer version) or -EINVAL (a value out of range); on
 * failure m is untouched and err says why. On success the caller calls
 * dpd_msg_free(m). */
int dpd_msg_decode(const void *body, size_t len, struct dpd_msg *m, char err[CONS_ERRLEN]);
/* Frees the arrays a decoded (or caller-filled) message owns; zeroes them. */
void dpd_msg_free(struct dpd_msg *m);

/* Deep copy of a table (for keeping the last one). 0 or -ENOMEM. */
int dpd_table_copy(struct dpd_table *dst, const struct dpd_table *src);
void dpd_table_free(struct dpd_table *t);

/* The rule that makes a restarted rtvd resynchronise without a gap: a table
 * is taken only if it was built at a Raft index at least that of the one in
 * force (a restarted rtvd that has not yet replayed its log builds from an
 * older state and must not replace a newer table). Returns 0 (take it),
 * -ESTALE (older: refused, the current one stays). */
int dpd_table_order(uint64_t cur_index, uint64_t new_index);

/* ------------------------------------------------------------------------- */
/* Frames on a stream socket (chan_io.c)                                     */

/* A connection's receive side: bytes in, whole frame bodies out. */
struct dpd_rbuf {
	uint8_t *buf;
	size_t len, cap;
	size_t done;		/* bytes of the frame handed out last */
};

void dpd_rbuf_init(struct dpd_rbuf *rb);
void dpd_rbuf_close(struct dpd_rbuf *rb);
/* Appends n received bytes. 0 or -ENOMEM. */
int dpd_rbuf_feed(struct dpd_rbuf *rb, const void *data, size_t n);
/* The next whole frame's body: 1 (*body, *len valid until the next call of
 * dpd_rbuf_feed or dpd_rbuf_next), 0 (need more bytes), -EMSGSIZE (a
 * header announces 0 or more than DPD_FRAME_MAX bytes: the stream is
 * unusable, close it). */
int dpd_rbuf_next(struct dpd_rbuf *rb, const uint8_t **body, size_t *len);

/* Blocking helpers on a socket fd (rtvdp's control thread, tools, tests):
 * write a whole frame; read one whole message within timeout_ms (< 0: no
 * limit). Return 0, -ETIMEDOUT, -ECONNRESET (peer closed), -EMSGSIZE, a
 * decoder's error, or another negative errno; err says what. */
int dpd_send(int fd, const struct dpd_msg *m, char err[CONS_ERRLEN]);
int dpd_recv(int fd, struct dpd_rbuf *rb, struct dpd_msg *m, int timeout_ms,
	     char err[CONS_ERRLEN]);

/* The channel's socket: bound to path (an existing file there is replaced
 * only if nothing listens on it), mode 0600, listening, non-blocking,
 * close-on-exec. Returns the fd or a negative errno (err says why). */
int dpd_listen(const char *path, char err[CONS_ERRLEN]);
/* Connects to path; returns the fd (blocking, close-on-exec) or a negative
 * errno (-ENOENT / -ECONNREFUSED: no rtvdp there). */
int dpd_connect(const char *path, char err[CONS_ERRLEN]);
/* Is the peer root or our own uid (SO_PEERCRED)? Everything on the channel
 * changes the host's forwarding: nobody else may speak on it. */
int dpd_peer_ok(int fd, uint32_t *pid, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* Descriptor hand-over (fdpass.c)                                           */

/* Sends m (a HANDOVER) as one frame with fds[0..m->u.handover.n_fds)
 * attached (SCM_RIGHTS) to the first byte. The fds stay open here. */
int dpd_send_fds(int sock, const struct dpd_msg *m, const int *fds, char err[CONS_ERRLEN]);
/* Receives one frame with its fds (blocking, timeout_ms as dpd_recv):
 * fds[] gets the descriptors (close-on-exec) in the order sent, *n_fds their
 * number, which must equal the message's n_fds (else everything received
 * is closed and -EPROTO returned). */
int dpd_recv_fds(int sock, struct dpd_msg *m, int fds[DPD_FDS_MAX], uint32_t *n_fds,
		 int timeout_ms, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* The miss backlog (backlog.c)                                              */

/* The reports the engine produced, kept until rtvd acknowledges them: while
 * rtvd is away they accumulate (up to cap; beyond, the oldest are dropped
 * and counted: the newest tell more about the path's state, and the
 * per-path cumulative miss counters in the stats keep the totals). Each
 * report has a sequence number, 1, 2, ..., across the process's life (and
 * across a takeover: the backlog moves with the handover). Single-threaded
 * (rtvdp's control thread). */
struct dpd_backlog {
	struct dp_miss_report *r;
	size_t cap, head, n;		/* ring: r[(head + i) % cap], i < n */
	uint64_t first_seq;		/* seq of r[head] */
	uint64_t handed;		/* one past the last seq peek handed out */
	uint64_t dropped;
};

/* cap in 1..1,000,000. 0, -EINVAL or -ENOMEM. */
int dpd_backlog_init(struct dpd_backlog *b, size_t cap);
void dpd_backlog_close(struct dpd_backlog *b);
/* Appends n reports (drops the oldest past cap). */
void dpd_backlog_push(struct dpd_backlog *b, const struct dp_miss_report *r, size_t n);
/* Forgets every report with seq < ack. An ack beyond what peek handed out
 * is clamped to it: a bad ack never makes a report nobody saw disappear. */
void dpd_backlog_ack(struct dpd_backlog *b, uint64_t ack);
/* Copies up to max of the oldest held reports; *first_seq gets the seq of
 * out[0]. Returns how many. Nothing is removed (dpd_backlog_ack does). */
size_t dpd_backlog_peek(struct dpd_backlog *b, struct dp_miss_report *out, size_t max,
			uint64_t *first_seq);
/* Restores a handed-over backlog (first_seq continues the old numbering). */
int dpd_backlog_restore(struct dpd_backlog *b, const struct dpd_misses *m);

/* ------------------------------------------------------------------------- */
/* rtvd's end (client.c)                                                     */

/* Where rtvdp listens: <data_dir>/rtvdp.sock, data_dir being [node]
 * data_dir of the configuration both read (one per host, also in a lab
 * where hosts share a filesystem). */
void dpd_default_path(const char *data_dir, char *out, size_t cap);

/* A connection to rtvdp. Calls are request/reply, blocking for at most the
 * timeout given: a local round trip takes tens of µs, and a rtvdp that
 * does not answer in time is treated as gone (the caller closes and
 * reconnects). */
struct dpd_client {
	int fd;				/* -1: closed */
	uint64_t seq;
	uint64_t ack;			/* misses up to here are processed */
	int timeout_ms;
	struct dpd_rbuf rb;
	struct dpd_state state;		/* rtvdp as it answered hello */
};

/* Connects to path, says hello as `name` for host_id, reads the state.
 * Returns 0, -ENOENT / -ECONNREFUSED (no rtvdp), -EINVAL (it forwards for
 * another host), -ETIMEDOUT, or another negative errno; err says which. */
int dpd_client_open(struct dpd_client *c, const char *path, uint64_t host_id, const char *name,
		    int timeout_ms, char err[CONS_ERRLEN]);
void dpd_client_close(struct dpd_client *c);
/* Pushes a table. -ESTALE: rtvdp holds a table built at a later index
 * (rtvd's state is behind: wait until its log catches up). Other errors:
 * the table was refused (err says why) or the channel failed. */
int dpd_client_table(struct dpd_client *c, const struct dpd_table *t, struct dpd_table_ok *ok,
		     char err[CONS_ERRLEN]);
/* The counters: m is a DPD_T_STATS message, freed with dpd_msg_free. */
int dpd_client_stats(struct dpd_client *c, struct dpd_msg *m, char err[CONS_ERRLEN]);
/* Acknowledges what the previous call returned (the caller has acted on
 * it), then fetches up to max (<= DPD_MISSES_MAX) reports into out. */
int dpd_client_misses(struct dpd_client *c, struct dp_miss_report *out, size_t max, size_t *n,
		      uint64_t *dropped, char err[CONS_ERRLEN]);
/* Fresh state (the same as hello's answer). */
int dpd_client_state(struct dpd_client *c, struct dpd_state *out, char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* rtvd's end on its libuv loop (uclient.c)                                  */

/* The same requests without ever blocking the loop: connects (and
 * reconnects every retry_ms while rtvdp is away), says hello, and matches
 * replies to requests in order. A request without an answer within
 * timeout_ms counts as rtvdp gone: the connection is dropped and every
 * pending request fails with -ETIMEDOUT, then the client reconnects. */
#define DPD_UPENDING 64

/* up: rtvdp answered hello (st: its state); down: the connection is gone
 * (why says how). Runs on the loop. */
typedef void (*dpd_link_fn)(void *arg, bool up, const struct dpd_state *st, const char *why);
/* rc 0 and the reply, or a negative errno (an error reply: its code) and
 * err; reply is freed after the call returns, unless the callback took it
 * (copied the struct, then zeroed *reply). */
typedef void (*dpd_reply_fn)(void *arg, int rc, struct dpd_msg *reply, const char *err);

struct dpd_upending {
	uint64_t seq, deadline_ms;
	dpd_reply_fn fn;
	void *arg;
};

struct dpd_uclient {
	uv_loop_t *loop;
	char path[108];
	uint64_t host_id;
	int timeout_ms, retry_ms;
	dpd_link_fn link_fn;
	void *arg;
	bool up;			/* hello answered */
	struct dpd_state state;
	uint64_t connects, drops;	/* counters for the metrics */
	uint64_t accepted_ms;		/* uv_now of the last connect a listener took, or */
					/* found busy (EAGAIN: backlog full); 0: none */
	/* private */
	uv_pipe_t pipe;
	uv_connect_t creq;
	uv_timer_t timer;
	bool pipe_open, pipe_closing, connected, closing;
	uint64_t next_try_ms, seq;
	struct dpd_rbuf rb;
	struct dpd_upending pend[DPD_UPENDING];
	size_t n_pend;
};

/* Starts connecting at once. 0 or a negative errno (path too long). */
int dpd_uclient_init(struct dpd_uclient *c, uv_loop_t *loop, const char *path, uint64_t host_id,
		     int timeout_ms, int retry_ms, dpd_link_fn link_fn, void *arg);
/* Sends q (seq is assigned); fn gets the reply. -ENOTCONN (not up),
 * -EBUSY (DPD_UPENDING requests pending), -EINVAL (q does not encode). */
int dpd_uclient_request(struct dpd_uclient *c, struct dpd_msg *q, dpd_reply_fn fn, void *arg);
/* Fails pending requests with -ECANCELED and closes the handles (uv_run
 * must run afterwards for them to close). */
void dpd_uclient_close(struct dpd_uclient *c);

/* ------------------------------------------------------------------------- */
/* rtvd's policy toward its rtvdp (link.c)                                   */

/* Pure bookkeeping, on rtvd's loop, of the two rules rtvd follows:
 *   push   a table only when rtvdp is up and rtvd's applied Raft index has
 *          reached that of the table in force (a restarted rtvd replaying
 *          its log must not replace a newer table: no gap);
 *   degrade to plain forwarding when rtvdp has been unreachable for
 *          degrade_after_ms (its service manager could not bring it back);
 *          rtvdp undoes it itself when it runs again. */
struct dpd_link {
	uint64_t degrade_after_ms;
	bool up, degraded;
	uint64_t dp_index;		/* Raft index of the table in force in rtvdp */
	uint64_t down_since_ms;
	uint64_t held;			/* pushes held back while rtvd was behind */
};

void dpd_link_init(struct dpd_link *l, uint64_t degrade_after_ms, uint64_t now_ms);
/* rtvdp answered hello. Returns true if the host was degraded (rtvdp has
 * removed the bridge: say so). */
bool dpd_link_up(struct dpd_link *l, const struct dpd_state *st);
void dpd_link_down(struct dpd_link *l, uint64_t now_ms);
/* May rtvd push a table built at applied_index now? (counts a refusal) */
bool dpd_link_may_push(struct dpd_link *l, uint64_t applied_index);
/* A table_ok (or an -ESTALE error carrying nothing: then leave it). */
void dpd_link_pushed(struct dpd_link *l, uint64_t index);
/* Is it time to degrade? True once per outage; the caller then degrades. */
bool dpd_link_degrade_due(struct dpd_link *l, uint64_t now_ms);

#endif /* RTV_DPD_H */
