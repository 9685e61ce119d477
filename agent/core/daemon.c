/* daemon.c — rtvd's life: start-up, Raft hooks, self-registration and
 * shutdown (see rtvd.h for the order and why).
 *
 * Self-registration: no central setup step adds hosts to the replicated
 * state. Once a leader exists, each agent compares its own host record with
 * its configuration and submits HOST_ADD (idempotent) when the record is
 * missing or differs, e.g. after a restart with a new [uplink] capacity or
 * after its promotion from standby to voter. Checked on every leader change,
 * snapshot restore, apply of its own record, and every REG_PERIOD_MS.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/core/rtvd.h"
#include "pki/pki.h"

#define TRANSFER_WAIT_MS 1000	/* leadership hand-over at shutdown, at most */
#define REG_PERIOD_MS 10000
#define REG_RETRY_MS 1000

/* cons_node_close's callback carries no argument: the one daemon of this
 * process is found here. */
static struct rtvd *the_daemon;

/* ------------------------------------------------------------------------- */
/* Self-registration                                                         */

static void reg_soon(struct rtvd *d, uint64_t delay_ms);

static bool self_role(const struct rtvd *d, enum cons_host_role *role)
{
	struct cons_node_status st;

	cons_node_status(d->node, &st);
	for (size_t i = 0; i < st.n_peers; i++) {
		if (st.peers[i].id == d->cfg->id) {
			*role = st.peers[i].voter ? CONS_HOST_VOTER : CONS_HOST_STANDBY;
			return true;
		}
	}
	return false;
}

static void want_host(const struct rtvd *d, enum cons_host_role role, struct cons_host *h)
{
	const struct agent_config *cfg = d->cfg;

	memset(h, 0, sizeof(*h));
	h->id = cfg->id;
	snprintf(h->name, sizeof(h->name), "%s", cfg->name);
	snprintf(h->raft_addr, sizeof(h->raft_addr), "%s", cfg->raft_addr);
	snprintf(h->rpc_addr, sizeof(h->rpc_addr), "%s", cfg->rpc_addr);
	h->uplink_bps = cfg->uplink_bps;
	h->rt_budget_ppm = cfg->rt_budget_ppm;
	h->max_frame_bytes = cfg->max_frame_bytes;
	h->uplink_latency_ns = cfg->uplink_latency_ns;
	snprintf(h->uplink_to, sizeof(h->uplink_to), "%s", cfg->uplink_to);
	h->role = role;
}

static bool host_same(const struct cons_host *a, const struct cons_host *b)
{
	return a->id == b->id && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->raft_addr, b->raft_addr) == 0 && strcmp(a->rpc_addr, b->rpc_addr) == 0 &&
	       a->uplink_bps == b->uplink_bps && a->rt_budget_ppm == b->rt_budget_ppm &&
	       a->max_frame_bytes == b->max_frame_bytes &&
	       a->uplink_latency_ns == b->uplink_latency_ns &&
	       strcmp(a->uplink_to, b->uplink_to) == 0 && a->role == b->role;
}

static void on_reg_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct rtvd *d = arg;

	(void)cmd;
	d->reg_job = NULL;
	if (status == 0 || status == -ESHUTDOWN)
		return;	/* the apply hook checks the record again */
	if (status == CONS_EREFUSED || status == -EINVAL || status == -EPROTO) {
		rtv_error("agent", "the rack refused this host's record: %s; fix [node] or "
			  "[uplink] in %s and restart", err, d->cfg->file);
		d->reg_refused = true;
		return;
	}
	rtv_warn("agent", "registering this host failed (%s); retrying in %d ms", err,
		 REG_RETRY_MS);
	reg_soon(d, REG_RETRY_MS);
}

static void reg_submit(struct rtvd *d, const struct cons_host *want, bool update)
{
	struct cons_cmd cmd = { .op = CONS_OP_HOST_ADD };
	struct agent_submit *job;
	char err[CONS_ERRLEN];
	int rc;

	cmd.u.host = *want;
	rc = agent_submit_new(d, &cmd, on_reg_done, d, &job, err);
	if (rc == -ENOMEM)
		return;
	if (rc < 0) {
		rtv_error("agent", "this host's record is invalid: %s; fix %s and restart", err,
			  d->cfg->file);
		d->reg_refused = true;
		return;
	}
	rtv_info("agent", "%s host record %s (node %llu)", update ? "updating" : "adding",
		 want->name, (unsigned long long)want->id);
	d->reg_job = job;
	agent_submit_run(job);
}

static void reg_check(struct rtvd *d)
{
	const struct cons_host *cur;
	enum cons_host_role role;
	struct cons_host want;

	if (d->stopping || d->reg_job || d->reg_refused || !d->leader_id)
		return;
	if (!self_role(d, &role))
		return;	/* not a member yet: `rtvctl members add` comes first */
	want_host(d, role, &want);
	cur = cons_state_host(d->state, d->cfg->id);
	if (cur && host_same(cur, &want)) {
		if (!d->registered)
			rtv_info("agent", "host record %s (node %llu) is in the replicated state",
				 want.name, (unsigned long long)want.id);
		d->registered = true;
		return;
	}
	d->registered = false;
	reg_submit(d, &want, cur != NULL);
}

static void on_reg_timer(uv_timer_t *t)
{
	reg_check(t->data);
}

static void reg_soon(struct rtvd *d, uint64_t delay_ms)
{
	if (!d->stopping)
		uv_timer_start(&d->reg_timer, on_reg_timer, delay_ms, REG_PERIOD_MS);
}

/* ------------------------------------------------------------------------- */
/* Raft hooks (on the loop)                                                  */

static void on_leader_changed(void *arg, uint64_t leader_id, bool self)
{
	struct rtvd *d = arg;

	d->leader_id = leader_id;
	d->is_leader = self;
	if (self)
		rtv_info("agent", "this node (%llu) is the leader", (unsigned long long)leader_id);
	else if (leader_id)
		rtv_info("agent", "leader is node %llu", (unsigned long long)leader_id);
	else
		rtv_info("agent", "no leader: election under way");
	agent_dispatch_leader_changed(d);
	reg_soon(d, 0);
}

static void on_applied(void *arg, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct rtvd *d = arg;
	uint64_t self = d->cfg->id;

	d->n_applied++;
	rtv_debug("agent", "applied %s at index %llu: %s", cons_op_name(cmd->op),
		  (unsigned long long)res->index, res->status ? res->err : "ok");
	agent_modules_applied(d, cmd, res);
	if ((cmd->op == CONS_OP_HOST_ADD && cmd->u.host.id == self) ||
	    (cmd->op == CONS_OP_HOST_REMOVE && cmd->u.ref.id == self))
		reg_soon(d, 0);
}

static void on_restored(void *arg)
{
	struct rtvd *d = arg;

	rtv_info("agent", "state restored from a snapshot: index %llu, %zu hosts, %zu rtpaths",
		 (unsigned long long)cons_state_applied_index(d->state),
		 cons_state_n_hosts(d->state), cons_state_n_paths(d->state));
	agent_modules_restored(d);
	reg_soon(d, 0);
}

/* ------------------------------------------------------------------------- */
/* Shutdown                                                                  */

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* The Raft node is closed: nng next, then every handle, so uv_run returns. */
static void finish_close(struct rtvd *d)
{
	agent_modules_close(d);	/* e.g. /metrics answers posted scrapes: before the drain */
	if (d->fwd_open)
		agent_fwd_close(&d->fwd);
	agent_server_close(&d->server);
	if (d->loopq_open) {
		/* completions posted before the close: answers and frees */
		agent_loopq_drain(&d->loopq);
		agent_loopq_close(&d->loopq);
	}
	agent_dispatch_fail_waiting(d);
	close_handle((uv_handle_t *)&d->wait_timer);
	close_handle((uv_handle_t *)&d->reg_timer);
	close_handle((uv_handle_t *)&d->stop_timer);
	close_handle((uv_handle_t *)&d->sig_term);
	close_handle((uv_handle_t *)&d->sig_int);
	rtv_info("agent", "stopped after %llu applied commands",
		 (unsigned long long)d->n_applied);
}

static void on_node_closed(struct cons_node *n)
{
	(void)n;
	finish_close(the_daemon);
}

static void close_node(struct rtvd *d)
{
	if (d->node_closing)
		return;
	d->node_closing = true;
	uv_timer_stop(&d->stop_timer);
	agent_dispatch_fail_waiting(d);
	if (d->node)
		cons_node_close(d->node, on_node_closed);
	else
		finish_close(d);
}

static void on_transferred(void *arg, int status)
{
	struct rtvd *d = arg;

	if (d->node_closing)
		return;
	if (status == 0)
		rtv_info("agent", "leadership handed over");
	else
		rtv_warn("agent", "leadership hand-over failed: %s", strerror(-status));
	close_node(d);
}

static void on_stop_timer(uv_timer_t *t)
{
	rtv_warn("agent", "leadership hand-over not done after %d ms; closing anyway",
		 TRANSFER_WAIT_MS);
	close_node(t->data);
}

static void begin_stop(struct rtvd *d)
{
	int rc;

	d->stopping = true;
	agent_server_quiesce(&d->server);
	uv_timer_stop(&d->reg_timer);
	if (d->node && d->is_leader) {
		rc = cons_node_transfer(d->node, 0, on_transferred, d);
		if (rc == 0) {
			rtv_info("agent", "handing leadership over");
			uv_timer_start(&d->stop_timer, on_stop_timer, TRANSFER_WAIT_MS, 0);
			return;
		}
		rtv_warn("agent", "cannot hand leadership over: %s", strerror(-rc));
	}
	close_node(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct rtvd *d = h->data;

	if (d->stopping) {
		rtv_info("agent", "%s: already stopping", strsignal(signum));
		return;
	}
	rtv_info("agent", "%s: stopping", strsignal(signum));
	begin_stop(d);
}

/* ------------------------------------------------------------------------- */
/* Start-up                                                                  */

static void handles_init(struct rtvd *d)
{
	uv_timer_init(d->loop, &d->wait_timer);
	uv_timer_init(d->loop, &d->reg_timer);
	uv_timer_init(d->loop, &d->stop_timer);
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	d->wait_timer.data = d->reg_timer.data = d->stop_timer.data = d;
	d->sig_term.data = d->sig_int.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
}

static int make_data_dir(const struct agent_config *cfg)
{
	if (mkdir(cfg->data_dir, 0700) == 0)
		rtv_info("agent", "created %s", cfg->data_dir);
	else if (errno != EEXIST)
		return -errno;
	return 0;
}

/* The rack's credentials ([tls]), checked against this node's id; or a
 * warning that Raft runs in plaintext. */
static int tls_load(struct rtvd *d)
{
	const struct agent_config *cfg = d->cfg;
	char err[PKI_ERRLEN], want[PKI_NAME_MAX];
	const struct pki_peer *self;
	int rc;

	if (!cfg->tls_cert[0]) {
		rtv_warn("agent", "INSECURE: [tls] insecure = true: Raft and the RPC (%s) run in "
			 "plaintext; anyone who reaches these ports can change the rack",
			 cfg->rpc_addr);
		return 0;
	}
	rc = pki_creds_new(cfg->tls_ca, cfg->tls_cert, cfg->tls_key, 0, &d->tls, err);
	if (rc < 0) {
		rtv_error("agent", "[tls]: %s", err);
		return rc;
	}
	self = pki_creds_self(d->tls);
	pki_host_name(cfg->id, want);
	if (self->kind != PKI_KIND_HOST || self->host_id != cfg->id) {
		rtv_error("agent", "[tls] cert %s names %s, but this node is %s: issue its own "
			  "with rtv-pki.sh issue %llu", cfg->tls_cert, self->name, want,
			  (unsigned long long)cfg->id);
		pki_creds_free(d->tls);
		d->tls = NULL;
		return -EINVAL;
	}
	rtv_info("agent", "Raft over mutual TLS as %s (CA %s); RPC on %s%s%s", self->name,
		 cfg->tls_ca, cfg->rpc_addr, cfg->rpc_read_addr[0] ? ", read-only on " : "",
		 cfg->rpc_read_addr);
	return 0;
}

static int node_start(struct rtvd *d)
{
	const struct agent_config *cfg = d->cfg;
	struct cons_peer peers[CONS_PEERS_MAX];
	struct cons_node_config nc = {
		.id = cfg->id, .raft_addr = cfg->raft_addr, .data_dir = cfg->data_dir,
		.peers = peers, .n_peers = cfg->join ? 0 : cfg->n_peers,
		.election_timeout_ms = cfg->election_timeout_ms, .heartbeat_ms = cfg->heartbeat_ms,
		.pre_vote = cfg->pre_vote, .snapshot_threshold = cfg->snapshot_threshold,
		.snapshot_trailing = cfg->snapshot_trailing, .tls = d->tls,
	};
	struct cons_node_hooks hooks = { d, on_leader_changed, on_applied, on_restored };
	char err[CONS_ERRLEN] = "";
	int rc;

	for (size_t i = 0; i < cfg->n_peers; i++) {
		peers[i].id = cfg->peers[i].id;
		snprintf(peers[i].raft_addr, sizeof(peers[i].raft_addr), "%s",
			 cfg->peers[i].raft_addr);
		peers[i].voter = !cfg->peers[i].standby;
	}
	rc = cons_node_new(d->loop, &nc, d->state, &hooks, &d->node, err);
	if (rc < 0) {
		rtv_error("agent", "cannot create the Raft node in %s: %s", cfg->data_dir,
			  err[0] ? err : strerror(-rc));
		return rc;
	}
	rc = cons_node_start(d->node);
	if (rc < 0)
		rtv_error("agent", "cannot start the Raft node on %s: %s", cfg->raft_addr,
			  strerror(-rc));
	return rc;
}

static int start(struct rtvd *d)
{
	const struct agent_config *cfg = d->cfg;
	char err[AGENT_CONFIG_ERRLEN];
	int rc = make_data_dir(cfg);

	if (rc < 0) {
		rtv_error("agent", "cannot create %s: %s", cfg->data_dir, strerror(-rc));
		return rc;
	}
	rc = cons_state_new(&d->state);
	if (rc < 0)
		return rc;
	rc = agent_loopq_init(&d->loopq, d->loop);
	if (rc < 0)
		return rc;
	d->loopq_open = true;
	agent_fwd_init(&d->fwd, &d->loopq, cfg->tls_ca, cfg->tls_cert, cfg->tls_key);
	d->fwd_open = true;
	rc = agent_modules_init(d);
	if (rc < 0)
		return rc;
	rc = tls_load(d);
	if (rc < 0)
		return rc;
	rc = node_start(d);
	if (rc < 0)
		return rc;
	rc = agent_modules_start(d);
	if (rc < 0)
		return rc;
	rc = agent_server_start(&d->server, d, err, sizeof(err));
	if (rc < 0)
		rtv_error("agent", "%s", err);
	return rc;
}

static void log_ready(const struct rtvd *d)
{
	const struct agent_config *cfg = d->cfg;

	rtv_info("agent", "rtvd %s ready: node %llu (%s), raft %s, rpc %s, cli ipc://%s%s%s, "
		 "%zu modules, %zu bootstrap peers%s", RTVD_VERSION, (unsigned long long)cfg->id,
		 cfg->name, cfg->raft_addr, cfg->rpc_addr, cfg->cli_socket,
		 cfg->cli_group[0] ? " group " : "", cfg->cli_group, d->n_mods, cfg->n_peers,
		 cfg->join ? " (joining: waiting for rtvctl members add)" : "");
}

static void log_open_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	rtv_error("agent", "handle left open at exit: %s%s", uv_handle_type_name(h->type),
		  uv_is_closing(h) ? " (closing)" : "");
}

static void teardown(struct rtvd *d)
{
	if (d->node)
		cons_node_free(d->node);
	/* consensus may close raft_uv's handles only after the first uv_run */
	uv_run(d->loop, UV_RUN_DEFAULT);
	agent_submit_drop(d->reg_job);
	d->reg_job = NULL;
	agent_server_free(&d->server);
	agent_modules_free(d);
	cons_state_free(d->state);
	pki_creds_free(d->tls);	/* the node dropped its own reference */
	if (uv_loop_close(d->loop) != 0) {
		uv_walk(d->loop, log_open_handle, NULL);
		d->exit_code = 1;
	}
}

int rtvd_run(const struct agent_config *cfg)
{
	struct rtvd d;
	uv_loop_t loop;
	int rc;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.loop = &loop;
	the_daemon = &d;
	signal(SIGPIPE, SIG_IGN);
	rc = uv_loop_init(&loop);
	if (rc < 0) {
		rtv_error("agent", "cannot create the event loop: %s", uv_strerror(rc));
		return 1;
	}
	handles_init(&d);
	if (start(&d) < 0) {
		d.exit_code = 1;
		begin_stop(&d);
	} else {
		log_ready(&d);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	teardown(&d);
	the_daemon = NULL;
	return d.exit_code;
}
