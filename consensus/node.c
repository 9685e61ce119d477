/* node.c — the Raft node: libraft 0.15 with raft_uv and its TCP transport on
 * the caller's libuv loop, the FSM of fsm.c over a struct cons_state.
 *
 * Timers. The rack default is an election timeout of 250 ms with pre-vote
 * and a heartbeat of a fifth of it. A rack's one-way latency is ~0.1 ms, so
 * the thesis's 10-20x latency rule (Raft thesis §9.3) is no constraint; the
 * floor is set by stalls of a healthy node: fdatasync p99 0.7 ms, but 4-9 ms
 * write stalls every ~100 ms with three writers on this disk (measured on the development machine),
 * and the occasional loop hiccup. 250 ms is ~30x the worst stall, so a live
 * leader is not deposed by accident, and it measured a 0.44 s median
 * failover (kill -9 to next commit), within the 500 ms target. Pre-vote
 * saves one split election (without it a follower that still believes in
 * the old leader rejects votes: 0.55 s vs 0.89 s at 300 ms) and stops a
 * node returning from a partition from bumping the term and deposing a
 * healthy leader (thesis §9.6). raft_uv ticks at the heartbeat period, so
 * the heartbeat is also the granularity of election checks; five per
 * timeout tolerate four lost heartbeats in a row.
 *
 * Leader changes. raft 0.15 has no callback for them: a uv_check handle
 * polls raft_state()/raft_leader() after every loop iteration. Every state
 * change is the consequence of some event handled in that iteration (a tick,
 * a message, a disk write), so no change goes unseen.
 *
 * raft 0.15's gaps, covered by the I/O guard of fsm.c (fsm_internal.h):
 * it keeps leading after a failed disk write, so the guard logs every
 * failure loudly and, from the same poll, asks a leader to transfer
 * leadership to an up-to-date voter (a follower whose disk fails just falls
 * behind: it does not acknowledge what it could not write); and a follower
 * with a stale tail from an older term over-reports its match index, which
 * can make a leader commit what a majority does not hold, so the guard caps
 * those answers. Entries are framed and padded to 8 bytes (fsm.c), which
 * raft_uv requires and does not check in the Debian build.
 *
 * Snapshots. By default every 4096 entries, keeping 1024 so a follower that
 * was briefly away catches up from the log rather than a whole snapshot.
 * The default threshold is staggered by server id: when all replicas
 * snapshot at the same index at once the commit latency spikes (~45 ms
 * measured on the development machine); once apart they stay apart, as each counts from its
 * own last snapshot. A follower busy taking its own snapshot drops an
 * InstallSnapshot without answering (raft 0.15, replicationInstallSnapshot:
 * RAFT_BUSY), and the leader only retries after the install-snapshot
 * timeout, 30 s by default: we use 10 election timeouts (2.5 s), plenty for
 * a snapshot of a rack's state (~2 MB at 10,000 rtpaths) on its network.
 *
 * Commit notices. A follower learns a new commit index only from the
 * leader's next AppendEntries, and raft 0.15 sends one only for new entries
 * or at the next heartbeat, so a follower would apply (and program its
 * bridge, fill its dataplane table) up to a heartbeat late. So once the
 * leader has applied client commands and nothing is in flight (commit index
 * = last index; an entry in flight carries the commit index itself, and its
 * own commit gets a notice), it appends a Raft barrier: its AppendEntries
 * goes out at once with the new commit index, and the followers apply one
 * round trip later. Barrier entries never reach the FSM, so a notice never
 * causes another; at most one is in flight, and commands applied meanwhile
 * get one more after it. The notice is sent from a timer, NOTICE_QUIET_MS
 * after the log last grew (re-armed while it grows), never from inside
 * raft's callbacks, so commands arriving back to back share one notice.
 * Measured (bench_ofcommit, flow on a follower's host, p50): 2.3-2.7 ms with
 * the earlier rtpath-only push from agent/ovs/ovs.c, 4.8 ms with the 2 ms quiet
 * period, 1.7-2.0 ms at 0 (the next loop turn). But at 0 bench_raft's
 * 20 kills under load twice left a restarted follower stuck (it held entries
 * past its snapshot and never applied them within 20 s), never at 2 ms (3
 * runs) nor without notices (2 runs); not understood yet (raft 0.15's catch-up of a
 * restarted follower under a stream of barrier entries?), so 2 ms it is.
 *
 * Shutdown: raft_close closes raft_uv's handles and the transport; their
 * memory (raft_uv_close, raft_uv_tcp_close) is released by cons_node_free
 * once uv_run has returned, because some of the transport's handles finish
 * closing after raft's close callback.
 */
#include <errno.h>
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "consensus/fsm_internal.h"
#include "consensus/transport_tls.h"

#define MOD "consensus"

enum {
	DEFAULT_ELECTION_MS = 250,
	DEFAULT_SNAPSHOT_THRESHOLD = 4096,
	DEFAULT_SNAPSHOT_STAGGER = 256,		/* entries per id step, 8 steps */
	CONNECT_RETRY_MS = 100,			/* raft_uv's default is 1 s */
	INSTALL_SNAPSHOT_TIMEOUTS = 10,		/* election timeouts; raft's default: 30 s */
	NOTICE_QUIET_MS = 2,			/* a commit notice waits for a quiet log */
};

struct cons_node {
	struct uv_loop_s *loop;
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport transport;
	bool tls;			/* transport is transport_tls.c's */
	struct cons_fsm fsm;
	struct cons_io_guard guard;
	uv_check_t poll;
	struct cons_node_hooks hooks;
	uint64_t id;

	uint64_t seen_leader;		/* as of the last poll */
	bool seen_self_leader;
	uint64_t counted_leader, counted_term;
	uint64_t leader_changes;

	/* Lives as long as the node: raft_uv may still hold its embedded send
	 * request (TimeoutNow) after raft has run the transfer callback. */
	struct raft_transfer transfer;
	bool transfer_busy;
	cons_done_cb transfer_cb;
	void *transfer_arg;

	/* The commit notice (see the top of this file); lives as long as the
	 * node for the same reason as `transfer`. */
	struct raft_barrier notice;
	bool notice_busy;
	uint64_t notice_applied;	/* commands applied when the last one went out */
	uint64_t notice_armed;		/* last index when notice_timer was started */
	uv_timer_t notice_timer;

	bool started, closing, closed;
	unsigned closes_pending;
	void (*close_cb)(struct cons_node *n);
	char errmsg[CONS_ERRLEN];
};

struct submit_req {
	struct raft_apply req;
	cons_submit_cb cb;
	void *arg;
};

struct barrier_req {
	struct raft_barrier req;
	cons_done_cb cb;
	void *arg;
};

/* A membership change, possibly in steps: raft_add makes a spare, then
 * raft_assign moves it to standby, then (if asked) to voter. */
struct change_req {
	struct raft_change req;
	struct cons_node *n;
	uint64_t id;
	int role, want;			/* current and final role; -1: removal */
	cons_done_cb cb;
	void *arg;
};

static struct cons_node *node_of(struct raft *r)
{
	return (struct cons_node *)((char *)r - offsetof(struct cons_node, raft));
}

/* Records why a raft call failed and returns it as an errno. raft does not
 * fill errmsg on every path, so it is cleared before each call (clear_err). */
static int node_fail(struct cons_node *n, int rv, const char *what)
{
	const char *msg = n->raft.errmsg[0] ? n->raft.errmsg : raft_strerror(rv);
	const char *io = n->io.errmsg[0] ? n->io.errmsg : n->transport.errmsg;

	if (io[0] && !strstr(msg, io))
		snprintf(n->errmsg, sizeof(n->errmsg), "%s: %.100s (%.120s)", what, msg, io);
	else
		snprintf(n->errmsg, sizeof(n->errmsg), "%s: %.200s", what, msg);
	return cons_raft_errno(rv);
}

static void clear_err(struct cons_node *n)
{
	n->raft.errmsg[0] = '\0';
	n->io.errmsg[0] = '\0';
	n->transport.errmsg[0] = '\0';
	n->errmsg[0] = '\0';
}

/* ------------------------------------------------------------------------- */
/* Creation                                                                   */

static int check_peers(const struct cons_node_config *cfg, char *err)
{
	bool self = false, voter = false;

	if (cfg->n_peers > CONS_PEERS_MAX || (cfg->n_peers && !cfg->peers)) {
		snprintf(err, CONS_ERRLEN, "peers: %zu given, at most %d allowed",
			 cfg->n_peers, CONS_PEERS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct cons_peer *p = &cfg->peers[i];

		if (p->id == 0 || !memchr(p->raft_addr, '\0', CONS_ADDR_MAX) || !p->raft_addr[0]) {
			snprintf(err, CONS_ERRLEN, "peer #%zu: needs an id > 0 and an "
				 "\"ip:port\" address", i + 1);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (cfg->peers[j].id == p->id) {
				snprintf(err, CONS_ERRLEN, "peer id %llu is listed twice; "
					 "ids must be unique", (unsigned long long)p->id);
				return -EINVAL;
			}
		}
		if (p->id == cfg->id) {
			self = true;
			if (strcmp(p->raft_addr, cfg->raft_addr) != 0) {
				snprintf(err, CONS_ERRLEN, "this node (id %llu) is listed with "
					 "address %s but listens on %s; make them equal",
					 (unsigned long long)cfg->id, p->raft_addr, cfg->raft_addr);
				return -EINVAL;
			}
		}
		voter |= p->voter;
	}
	if (cfg->n_peers && (!self || !voter)) {
		snprintf(err, CONS_ERRLEN, "peers must include this node (id %llu) and at "
			 "least one voter; give no peers to join a running cluster instead",
			 (unsigned long long)cfg->id);
		return -EINVAL;
	}
	return 0;
}

static int check_config(const struct cons_node_config *cfg, char *err)
{
	struct stat st;
	int rc;
	unsigned et = cfg->election_timeout_ms ? cfg->election_timeout_ms : DEFAULT_ELECTION_MS;
	unsigned hb = cfg->heartbeat_ms ? cfg->heartbeat_ms : et / 5;

	if (cfg->id == 0) {
		snprintf(err, CONS_ERRLEN, "node id must be > 0");
		return -EINVAL;
	}
	if (!cfg->raft_addr || !cfg->raft_addr[0] || strlen(cfg->raft_addr) >= CONS_ADDR_MAX) {
		snprintf(err, CONS_ERRLEN, "raft_addr must be \"ip:port\", shorter than %d bytes",
			 CONS_ADDR_MAX);
		return -EINVAL;
	}
	if (!cfg->data_dir || !cfg->data_dir[0]) {
		snprintf(err, CONS_ERRLEN, "data_dir is required");
		return -EINVAL;
	}
	rc = stat(cfg->data_dir, &st) != 0 ? -errno : !S_ISDIR(st.st_mode) ? -ENOTDIR : 0;
	if (rc != 0) {
		snprintf(err, CONS_ERRLEN, "data dir %s: %s; create it (empty for a new node)",
			 cfg->data_dir, strerror(-rc));
		return rc;
	}
	if (hb == 0 || hb >= et) {
		snprintf(err, CONS_ERRLEN, "heartbeat %u ms must be > 0 and below the election "
			 "timeout %u ms (a fifth of it is the default)", hb, et);
		return -EINVAL;
	}
	return check_peers(cfg, err);
}

static void apply_settings(struct cons_node *n, const struct cons_node_config *cfg)
{
	struct raft *r = &n->raft;
	unsigned et = cfg->election_timeout_ms ? cfg->election_timeout_ms : DEFAULT_ELECTION_MS;
	unsigned hb = cfg->heartbeat_ms ? cfg->heartbeat_ms : et / 5;
	unsigned th = cfg->snapshot_threshold;
	unsigned tr = cfg->snapshot_trailing;

	if (th == 0)
		th = DEFAULT_SNAPSHOT_THRESHOLD + (unsigned)(cfg->id % 8) * DEFAULT_SNAPSHOT_STAGGER;
	if (tr == 0)
		tr = th / 4;
	raft_set_election_timeout(r, et);
	raft_set_heartbeat_timeout(r, hb);
	raft_set_pre_vote(r, cfg->pre_vote);
	raft_set_snapshot_threshold(r, th);
	raft_set_snapshot_trailing(r, tr);
	raft_set_install_snapshot_timeout(r, et * INSTALL_SNAPSHOT_TIMEOUTS);
	raft_uv_set_connect_retry_delay(&n->io, CONNECT_RETRY_MS);
}

static int bootstrap(struct cons_node *n, const struct cons_node_config *cfg, char *err)
{
	struct raft_configuration conf;
	int rv = 0;

	raft_configuration_init(&conf);
	for (size_t i = 0; i < cfg->n_peers && rv == 0; i++)
		rv = raft_configuration_add(&conf, cfg->peers[i].id, cfg->peers[i].raft_addr,
					    cfg->peers[i].voter ? RAFT_VOTER : RAFT_STANDBY);
	if (rv == 0)
		rv = raft_bootstrap(&n->raft, &conf);
	raft_configuration_close(&conf);
	if (rv == RAFT_CANTBOOTSTRAP)
		return 0;	/* a restart: the data dir already holds a log */
	if (rv != 0) {
		snprintf(err, CONS_ERRLEN, "bootstrap in %.80s: %.160s", cfg->data_dir,
			 n->raft.errmsg[0] ? n->raft.errmsg : raft_strerror(rv));
		return cons_raft_errno(rv);
	}
	rtv_info(MOD, "bootstrapped a new cluster of %zu in %s", cfg->n_peers, cfg->data_dir);
	return 0;
}

static void transport_close(struct cons_node *n)
{
	if (n->tls)
		cons_tls_transport_close(&n->transport);
	else
		raft_uv_tcp_close(&n->transport);
}

/* Frees a node that failed after raft_init: raft_uv's timer is a live
 * handle by then, so the rest happens in raft's close callback. The node
 * never started, so nothing else of raft_uv is still closing by then. */
static void abandon_closed(struct raft *r)
{
	struct cons_node *n = node_of(r);

	raft_uv_close(&n->io);
	transport_close(n);
	free(n);
}

int cons_node_new(struct uv_loop_s *loop, const struct cons_node_config *cfg,
		  struct cons_state *state, const struct cons_node_hooks *hooks,
		  struct cons_node **out, char err[CONS_ERRLEN])
{
	struct cons_node *n;
	int rv, rc;

	if (!loop || !cfg || !state || !out) {
		snprintf(err, CONS_ERRLEN, "cons_node_new: loop, cfg, state and out are required");
		return -EINVAL;
	}
	rc = check_config(cfg, err);
	if (rc != 0)
		return rc;
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, CONS_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	n->loop = loop;
	n->id = cfg->id;
	if (hooks)
		n->hooks = *hooks;
	n->tls = cfg->tls != NULL;
	if (n->tls)
		rv = cons_tls_transport_init(&n->transport, loop, cfg->tls) == 0 ? 0 : RAFT_NOMEM;
	else
		rv = raft_uv_tcp_init(&n->transport, loop);
	if (rv != 0) {
		snprintf(err, CONS_ERRLEN, "raft %s transport: %s", n->tls ? "TLS" : "TCP",
			 raft_strerror(rv));
		goto err_free;
	}
	rv = raft_uv_init(&n->io, loop, cfg->data_dir, &n->transport);
	if (rv != 0) {
		snprintf(err, CONS_ERRLEN, "raft storage in %.80s: %.150s", cfg->data_dir,
			 n->io.errmsg);
		goto err_transport;
	}
	cons_fsm_init(&n->fsm, state, hooks);
	rv = raft_init(&n->raft, &n->io, &n->fsm.fsm, cfg->id, cfg->raft_addr);
	if (rv != 0) {
		snprintf(err, CONS_ERRLEN, "raft in %.80s: %.160s", cfg->data_dir,
			 raft_errmsg(&n->raft));
		goto err_io;
	}
	cons_fsm_bind(&n->fsm, &n->raft);
	cons_io_guard_install(&n->guard, &n->raft);
	apply_settings(n, cfg);
	if (cfg->n_peers > 0) {
		rc = bootstrap(n, cfg, err);
		if (rc != 0) {
			raft_close(&n->raft, abandon_closed);
			return rc;
		}
	}
	uv_check_init(loop, &n->poll);
	n->poll.data = n;
	uv_timer_init(loop, &n->notice_timer);
	n->notice_timer.data = n;
	uv_unref((uv_handle_t *)&n->notice_timer);
	*out = n;
	return 0;

err_io:
	raft_uv_close(&n->io);
err_transport:
	transport_close(n);
err_free:
	free(n);
	return cons_raft_errno(rv);
}

/* ------------------------------------------------------------------------- */
/* Running                                                                    */

static void poll_leader(struct cons_node *n)
{
	struct raft *r = &n->raft;
	raft_id id;
	const char *addr;
	bool self;

	raft_leader(r, &id, &addr);
	self = raft_state(r) == RAFT_LEADER && id == n->id;
	if (id != 0 && (id != n->counted_leader || r->current_term != n->counted_term)) {
		n->counted_leader = id;
		n->counted_term = r->current_term;
		n->leader_changes++;
	}
	if (id == n->seen_leader && self == n->seen_self_leader)
		return;
	n->seen_leader = id;
	n->seen_self_leader = self;
	if (id)
		rtv_info(MOD, "server %llu: leader is %llu (%s) in term %llu%s",
			 (unsigned long long)n->id, (unsigned long long)id, addr ? addr : "?",
			 (unsigned long long)r->current_term, self ? ", this server" : "");
	else
		rtv_info(MOD, "server %llu: no leader known (term %llu)",
			 (unsigned long long)n->id, (unsigned long long)r->current_term);
	if (n->hooks.leader_changed)
		n->hooks.leader_changed(n->hooks.arg, id, self);
}

static void notice_done(struct raft_barrier *req, int status)
{
	struct cons_node *n = req->data;

	(void)status;	/* leadership lost, shutdown: the next leader's appends carry it */
	n->notice_busy = false;
}

static uint64_t commands_applied(const struct cons_node *n)
{
	return n->fsm.n_applied + n->fsm.n_undecodable;
}

/* This leader applied client commands since the last notice, none is in
 * flight, and nothing else is: a notice would tell the followers. */
static bool notice_due(struct cons_node *n)
{
	struct raft *r = &n->raft;

	return raft_state(r) == RAFT_LEADER && !n->notice_busy &&
	       commands_applied(n) != n->notice_applied && r->commit_index == raft_last_index(r);
}

/* The log stayed at notice_armed for NOTICE_QUIET_MS: send the notice. Runs
 * from a timer, outside raft's own callbacks, so raft is not re-entered. */
static void notice_cb(uv_timer_t *t)
{
	struct cons_node *n = t->data;
	int rv;

	if (n->closing || !notice_due(n) || raft_last_index(&n->raft) != n->notice_armed)
		return;
	n->notice_applied = commands_applied(n);
	n->notice.data = n;
	rv = raft_barrier(&n->raft, &n->notice, notice_done);
	if (rv == 0)
		n->notice_busy = true;
	else		/* e.g. a transfer in progress; the next apply tries again */
		rtv_debug(MOD, "server %llu: commit notice not sent: %s",
			  (unsigned long long)n->id, raft_strerror(rv));
}

/* From the poll, every loop turn: (re)starts the quiet period whenever the
 * log has grown since it was started and a notice is due. */
static void notify_commit(struct cons_node *n)
{
	uint64_t last = raft_last_index(&n->raft);

	if (raft_state(&n->raft) != RAFT_LEADER) {
		n->notice_applied = commands_applied(n);	/* a follower's need none */
		n->notice_armed = 0;
		return;
	}
	if (notice_due(n) && last != n->notice_armed) {
		n->notice_armed = last;
		uv_timer_start(&n->notice_timer, notice_cb, NOTICE_QUIET_MS, 0);
	}
}

static void poll_cb(uv_check_t *h)
{
	struct cons_node *n = h->data;

	if (n->closing)
		return;
	poll_leader(n);
	cons_io_guard_poll(&n->guard);
	notify_commit(n);
}

/* raft_uv reports a failed bind or listen as a bare "I/O error"; find out
 * whether the address is the reason by binding it ourselves (a quick,
 * non-blocking system call, and only on this error path). */
static void explain_listen(struct cons_node *n)
{
	char host[CONS_ADDR_MAX];
	const char *colon = strrchr(n->raft.address, ':');
	struct sockaddr_in sa;
	int fd, one = 1, err = 0;

	if (!colon || (size_t)(colon - n->raft.address) >= sizeof(host))
		return;
	memcpy(host, n->raft.address, (size_t)(colon - n->raft.address));
	host[colon - n->raft.address] = '\0';
	if (uv_ip4_addr(host, atoi(colon + 1), &sa) != 0)
		return;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0)
		err = errno;
	close(fd);
	if (err)
		snprintf(n->errmsg, sizeof(n->errmsg), "start: cannot listen on %s: %s; "
			 "free the port or change raft_addr", n->raft.address, strerror(err));
}

int cons_node_start(struct cons_node *n)
{
	int rv;

	if (n->started || n->closing)
		return -EINVAL;
	clear_err(n);
	rv = raft_start(&n->raft);
	if (rv != 0) {
		rv = node_fail(n, rv, "start");
		if (rv == -EIO)
			explain_listen(n);
		rtv_error(MOD, "server %llu: %s", (unsigned long long)n->id, n->errmsg);
		return rv;
	}
	n->started = true;
	uv_check_start(&n->poll, poll_cb);
	uv_unref((uv_handle_t *)&n->poll);
	rtv_info(MOD, "server %llu started on %s (term %llu, log up to %llu)",
		 (unsigned long long)n->id, n->raft.address,
		 (unsigned long long)n->raft.current_term,
		 (unsigned long long)raft_last_index(&n->raft));
	return 0;
}

/* Refuses what only a leader can do, before anything is allocated. */
static int leader_check(struct cons_node *n)
{
	clear_err(n);
	if (n->closing || !n->started) {
		snprintf(n->errmsg, sizeof(n->errmsg), "the node is %s",
			 n->closing ? "shutting down" : "not started");
		return -ESHUTDOWN;
	}
	if (raft_state(&n->raft) != RAFT_LEADER) {
		snprintf(n->errmsg, sizeof(n->errmsg), "not the leader; ask server %llu",
			 (unsigned long long)n->seen_leader);
		return -CONS_ENOTLEADER;
	}
	return 0;
}

/* leader_check, then a zeroed request of `size` bytes; NULL with *rc set
 * when this node may not or cannot take it. */
static void *leader_req(struct cons_node *n, size_t size, int *rc)
{
	void *req;

	*rc = leader_check(n);
	if (*rc != 0)
		return NULL;
	req = calloc(1, size);
	if (!req)
		*rc = -ENOMEM;
	return req;
}

static void submit_done(struct raft_apply *req, int status, void *result)
{
	struct submit_req *s = req->data;

	if (status == 0 && result)
		s->cb(s->arg, 0, result);
	else
		s->cb(s->arg, status ? cons_raft_errno(status) : -EIO, NULL);
	free(s);
}

int cons_node_submit(struct cons_node *n, const struct cons_cmd *cmd,
		     cons_submit_cb cb, void *arg)
{
	struct raft_buffer buf;
	struct submit_req *s;
	int rc, rv;

	if (!cmd || !cb)
		return -EINVAL;
	if (!(s = leader_req(n, sizeof(*s), &rc)))
		return rc;
	rc = cons_entry_encode(cmd, &buf, n->errmsg);
	if (rc != 0) {
		free(s);
		return rc;
	}
	s->req.data = s;
	s->cb = cb;
	s->arg = arg;
	rv = raft_apply(&n->raft, &s->req, &buf, 1, submit_done);
	if (rv != 0) {
		raft_free(buf.base);	/* raft owns it only when raft_apply succeeds */
		free(s);
		return node_fail(n, rv, "submit");
	}
	return 0;
}

static void barrier_done(struct raft_barrier *req, int status)
{
	struct barrier_req *b = req->data;

	b->cb(b->arg, cons_raft_errno(status));
	free(b);
}

int cons_node_barrier(struct cons_node *n, cons_done_cb cb, void *arg)
{
	struct barrier_req *b;
	int rc, rv;

	if (!cb)
		return -EINVAL;
	if (!(b = leader_req(n, sizeof(*b), &rc)))
		return rc;
	b->req.data = b;
	b->cb = cb;
	b->arg = arg;
	rv = raft_barrier(&n->raft, &b->req, barrier_done);
	if (rv != 0) {
		free(b);
		return node_fail(n, rv, "barrier");
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Membership and leadership                                                  */

static int next_role(int role, int want)
{
	if (role == RAFT_SPARE && want == RAFT_VOTER)
		return RAFT_STANDBY;	/* replicate first, then promote */
	return want;
}

static void change_done(struct raft_change *req, int status)
{
	struct change_req *c = req->data;
	struct cons_node *n = c->n;
	int rc = cons_raft_errno(status);

	if (rc == 0 && c->role != c->want && n->closing)
		rc = -ECANCELED;	/* half-way (e.g. a spare): the caller decides */
	if (rc == 0 && c->role != c->want) {
		int role = next_role(c->role, c->want);
		int rv;

		clear_err(n);
		rv = raft_assign(&n->raft, &c->req, c->id, role, change_done);
		if (rv == 0) {
			c->role = role;
			return;
		}
		rc = node_fail(n, rv, "membership");
	} else if (rc != 0) {
		snprintf(n->errmsg, sizeof(n->errmsg), "membership change of server %llu "
			 "failed: %s", (unsigned long long)c->id,
			 status ? raft_strerror(status) : "the node is shutting down");
	}
	if (rc == 0)
		rtv_info(MOD, "membership: server %llu is now %s", (unsigned long long)c->id,
			 c->want < 0 ? "removed" : c->want == RAFT_VOTER ? "a voter" : "a standby");
	c->cb(c->arg, rc);
	free(c);
}

static const struct raft_server *member(struct cons_node *n, uint64_t id)
{
	for (unsigned i = 0; i < n->raft.configuration.n; i++)
		if (n->raft.configuration.servers[i].id == id)
			return &n->raft.configuration.servers[i];
	return NULL;
}

/* A server already in the configuration at the same address only changes
 * role (promotion of a standby, demotion of a voter). */
static int add_existing(struct cons_node *n, struct change_req *c,
			const struct raft_server *s, const char *raft_addr)
{
	if (strcmp(s->address, raft_addr) != 0) {
		snprintf(n->errmsg, sizeof(n->errmsg), "server %llu is already a member at "
			 "%s; remove it first to change its address",
			 (unsigned long long)c->id, s->address);
		return -EEXIST;
	}
	if (s->role == c->want) {
		snprintf(n->errmsg, sizeof(n->errmsg), "server %llu is already a %s",
			 (unsigned long long)c->id, c->want == RAFT_VOTER ? "voter" : "standby");
		return -EALREADY;
	}
	c->role = next_role(s->role, c->want);
	return raft_assign(&n->raft, &c->req, c->id, c->role, change_done);
}

int cons_node_add(struct cons_node *n, uint64_t id, const char *raft_addr, bool voter,
		  cons_done_cb cb, void *arg)
{
	const struct raft_server *s;
	struct change_req *c;
	int rc, rv;

	if (id == 0 || !raft_addr || !raft_addr[0] || strlen(raft_addr) >= CONS_ADDR_MAX || !cb)
		return -EINVAL;
	if (!(c = leader_req(n, sizeof(*c), &rc)))
		return rc;
	*c = (struct change_req){ .n = n, .id = id, .role = RAFT_SPARE,
				  .want = voter ? RAFT_VOTER : RAFT_STANDBY, .cb = cb, .arg = arg };
	c->req.data = c;
	s = member(n, id);
	if (s)
		rv = add_existing(n, c, s, raft_addr);
	else
		rv = raft_add(&n->raft, &c->req, id, raft_addr, change_done);
	if (rv < 0) {		/* already an errno, from add_existing */
		free(c);
		return rv;
	}
	if (rv != 0) {
		free(c);
		return node_fail(n, rv, "membership");
	}
	return 0;
}

int cons_node_remove(struct cons_node *n, uint64_t id, cons_done_cb cb, void *arg)
{
	struct change_req *c;
	int rc, rv;

	if (id == 0 || !cb)
		return -EINVAL;
	if (!(c = leader_req(n, sizeof(*c), &rc)))
		return rc;
	*c = (struct change_req){ .n = n, .id = id, .role = -1, .want = -1, .cb = cb, .arg = arg };
	c->req.data = c;
	rv = raft_remove(&n->raft, &c->req, id, change_done);
	if (rv != 0) {
		free(c);
		return node_fail(n, rv, "membership");
	}
	return 0;
}

/* raft runs this when the target has taken over, when an election timeout
 * passed without that, or when this server stopped leading for another
 * reason; whoever leads now tells which. */
static void transfer_done(struct raft_transfer *req)
{
	struct cons_node *n = req->data;
	int rc = 0;

	n->transfer_busy = false;
	if (n->closing)
		rc = -ECANCELED;
	else if (raft_state(&n->raft) == RAFT_LEADER)
		rc = -ETIMEDOUT;
	if (rc == -ETIMEDOUT)
		snprintf(n->errmsg, sizeof(n->errmsg), "leadership transfer timed out: no "
			 "voter caught up and took over within an election timeout");
	n->transfer_cb(n->transfer_arg, rc);
}

int cons_node_transfer(struct cons_node *n, uint64_t to_id, cons_done_cb cb, void *arg)
{
	int rc, rv;

	if (!cb)
		return -EINVAL;
	rc = leader_check(n);
	if (rc != 0)
		return rc;
	if (n->transfer_busy) {
		snprintf(n->errmsg, sizeof(n->errmsg), "a leadership transfer is in progress");
		return -EALREADY;
	}
	n->transfer.data = n;
	n->transfer_cb = cb;
	n->transfer_arg = arg;
	rv = raft_transfer(&n->raft, &n->transfer, to_id, transfer_done);
	if (rv != 0)
		return node_fail(n, rv, "transfer");
	n->transfer_busy = true;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Status, shutdown                                                           */

static enum cons_role role_of(int state)
{
	switch (state) {
	case RAFT_FOLLOWER: return CONS_ROLE_FOLLOWER;
	case RAFT_CANDIDATE: return CONS_ROLE_CANDIDATE;
	case RAFT_LEADER: return CONS_ROLE_LEADER;
	default: return CONS_ROLE_UNAVAILABLE;
	}
}

static void status_peers(struct raft *r, struct cons_node_status *out)
{
	bool leader = raft_state(r) == RAFT_LEADER && r->leader_state.progress;

	for (unsigned i = 0; i < r->configuration.n && i < CONS_PEERS_MAX; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		struct cons_peer_status *p = &out->peers[out->n_peers++];

		p->id = s->id;
		snprintf(p->raft_addr, sizeof(p->raft_addr), "%s", s->address);
		p->voter = s->role == RAFT_VOTER;
		p->standby = s->role == RAFT_STANDBY;
		if (leader) {
			p->match_index = r->leader_state.progress[i].match_index;
			p->lag = out->last_index > p->match_index ? out->last_index - p->match_index : 0;
			p->recent_contact = r->leader_state.progress[i].recent_recv;
		}
	}
}

void cons_node_status(const struct cons_node *cn, struct cons_node_status *out)
{
	struct raft *r = (struct raft *)&cn->raft;	/* raft's getters are not const */
	raft_id id = 0;
	const char *addr = NULL;

	memset(out, 0, sizeof(*out));
	out->id = cn->id;
	out->leader_changes = cn->leader_changes;
	out->tls_refused = cn->tls ? cons_tls_transport_refused(&cn->transport,
								out->tls_refused_by) : 0;
	if (!cn->started || cn->closed)
		return;
	out->role = role_of(raft_state(r));
	out->term = r->current_term;
	raft_leader(r, &id, &addr);
	out->leader_id = id;
	if (addr)
		snprintf(out->leader_addr, sizeof(out->leader_addr), "%s", addr);
	out->commit_index = r->commit_index;
	out->applied_index = raft_last_applied(r);
	out->last_index = raft_last_index(r);
	status_peers(r, out);
}

int cons_node_set_tls(struct cons_node *n, struct pki_creds *creds)
{
	if (!n->tls || !creds)
		return -EINVAL;
	cons_tls_transport_set_creds(&n->transport, creds);
	return 0;
}

const struct cons_state *cons_node_state(const struct cons_node *n)
{
	return n->fsm.state;
}

const char *cons_node_errmsg(const struct cons_node *n)
{
	return n->errmsg;
}

static void one_closed(struct cons_node *n)
{
	if (--n->closes_pending > 0)
		return;
	n->closed = true;
	rtv_info(MOD, "server %llu closed", (unsigned long long)n->id);
	if (n->close_cb)
		n->close_cb(n);
}

static void raft_closed(struct raft *r)
{
	one_closed(node_of(r));
}

static void poll_closed(uv_handle_t *h)
{
	one_closed(h->data);
}

void cons_node_close(struct cons_node *n, void (*cb)(struct cons_node *n))
{
	assert(!n->closing);
	n->closing = true;
	n->close_cb = cb;
	n->closes_pending = 3;
	uv_close((uv_handle_t *)&n->poll, poll_closed);
	uv_close((uv_handle_t *)&n->notice_timer, poll_closed);
	raft_close(&n->raft, raft_closed);
}

void cons_node_free(struct cons_node *n)
{
	if (!n)
		return;
	assert(n->closed);
	raft_uv_close(&n->io);
	transport_close(n);
	free(n);
}
