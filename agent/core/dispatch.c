/* dispatch.c — where a request is served (docs/architecture.md, "Control plane": any
 * agent accepts client requests and forwards writes to the leader; reads
 * are served locally, stale and labelled, or linearizably via a barrier on
 * the leader).
 *
 *   stale read                      → this replica's state, "stale": true
 *   write, lin read, membership     → this node if it leads (Raft), else the
 *                                     leader's agent with "fwd": true
 *   "fwd" request on a non-leader   → -CONS_ENOTLEADER with the leader hint
 *                                     (a forwarded request never travels on)
 *
 * When no leader is known (an election is under way) or the leader's agent
 * does not answer, the job waits, and is retried when the leader changes or
 * on a short tick, for up to [rpc] leader_wait; then it fails with -EAGAIN
 * and a sentence saying how many voters this node can reach.
 *
 * A request is retried only when that cannot apply it twice: reads, and
 * commands deduplicated by (client_id, seq) or idempotent by nature. For the
 * others an answer lost after sending means "outcome unknown", said so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/rtvd.h"

#define WAIT_TICK_MS 10

static uint64_t now_ms(const struct rtvd *d)
{
	return uv_now(d->loop);
}

void agent_job_init(struct agent_job *job, struct rtvd *d, agent_job_done_fn done)
{
	memset(job, 0, sizeof(*job));
	job->d = d;
	job->done = done;
	agent_fwd_op_init(&job->fwd);
}

void agent_job_close(struct agent_job *job)
{
	agent_req_close(&job->req);
	agent_fwd_op_close(&job->fwd);
}

static void finish(struct agent_job *job, const void *reply, size_t len, int status,
		   const char *err)
{
	job->fwd_leader = 0;
	if (!job->internal) {
		struct agent_req_ev ev = { .type = AGENT_REQ_DONE, .started = job->ev_started,
					   .op = job->ev_started ? (int)job->req.op : 0,
					   .status = status };

		job->ev_started = false;
		agent_modules_request(job->d, &ev);
	}
	job->done(job, reply, len, status, err ? err : "");
}

void agent_job_fail(struct agent_job *job, int status, const char *err)
{
	void *buf = NULL;
	size_t len = 0;

	if (agent_reply_error(job->d, status, err, &buf, &len) < 0)
		rtv_error("agent", "out of memory building an error reply");
	finish(job, buf, len, status, err);
	free(buf);
}

static void fail_fmt(struct agent_job *job, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_fmt(struct agent_job *job, int status, const char *fmt, ...)
{
	char err[CONS_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	agent_job_fail(job, status, err);
}

const char *agent_core_peer_url(const struct rtvd *d, uint64_t id)
{
	const struct cons_host *h = cons_state_host(d->state, id);
	const struct agent_peer *p;

	if (h && h->rpc_addr[0])
		return h->rpc_addr;
	p = agent_config_peer(d->cfg, id);
	return p ? p->rpc_addr : NULL;
}

/* ------------------------------------------------------------------------- */
/* Waiting for a leader                                                      */

static void route(struct agent_job *job);

static void wait_unlink(struct agent_job *job)
{
	struct rtvd *d = job->d;

	if (job->wprev)
		job->wprev->wnext = job->wnext;
	else
		d->waiting = job->wnext;
	if (job->wnext)
		job->wnext->wprev = job->wprev;
	job->wprev = job->wnext = NULL;
	job->waiting = false;
	d->n_waiting--;
}

/* Starts dialling every voter's agent, so that if the wait ends without a
 * leader the message can say how many were reachable. */
static void touch_voters(struct rtvd *d)
{
	struct cons_node_status st;

	cons_node_status(d->node, &st);
	for (size_t i = 0; i < st.n_peers; i++) {
		const char *url = agent_core_peer_url(d, st.peers[i].id);

		if (st.peers[i].voter && st.peers[i].id != d->cfg->id && url)
			agent_fwd_touch(&d->fwd, st.peers[i].id, url);
	}
}

static void on_wait_tick(uv_timer_t *t);

static void wait_link(struct agent_job *job)
{
	struct rtvd *d = job->d;

	job->waiting = true;
	job->wprev = NULL;
	job->wnext = d->waiting;
	if (d->waiting)
		d->waiting->wprev = job;
	d->waiting = job;
	if (d->n_waiting++ == 0)
		uv_timer_start(&d->wait_timer, on_wait_tick, WAIT_TICK_MS, WAIT_TICK_MS);
}

static void park(struct agent_job *job, int status, const char *why)
{
	struct rtvd *d = job->d;

	job->last_status = status;
	snprintf(job->last_err, sizeof(job->last_err), "%s", why);
	if (d->node_closing) {
		agent_job_fail(job, -ESHUTDOWN, "rtvd is shutting down; retry on another host");
		return;
	}
	if (now_ms(d) >= job->deadline_ms) {
		agent_job_fail(job, status, why);
		return;
	}
	if (!d->leader_id)
		touch_voters(d);
	wait_link(job);
}

static void fail_no_leader(struct agent_job *job)
{
	struct rtvd *d = job->d;
	struct cons_node_status st;
	size_t voters = 0, reachable = 0;
	char ids[128] = "";
	size_t used = 0;

	cons_node_status(d->node, &st);
	for (size_t i = 0; i < st.n_peers; i++) {
		uint64_t id = st.peers[i].id;

		if (!st.peers[i].voter)
			continue;
		voters++;
		reachable += id == d->cfg->id || agent_fwd_reachable(&d->fwd, id);
		if (used < sizeof(ids))
			used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%llu",
						 used ? ", " : "", (unsigned long long)id);
	}
	fail_fmt(job, -EAGAIN, "no Raft leader after %llu ms: %zu of %zu voters (%s) reachable "
		 "from node %llu, %zu needed; start the missing rtvd or check that the "
		 "voters reach each other's raft_addr",
		 (unsigned long long)(now_ms(d) - job->start_ms), reachable, voters, ids,
		 (unsigned long long)d->cfg->id, voters / 2 + 1);
}

static void expire(struct agent_job *job)
{
	if (job->last_status == -EAGAIN && !job->d->leader_id)
		fail_no_leader(job);
	else
		agent_job_fail(job, job->last_status, job->last_err);
}

/* Runs the waiting jobs again: the leader changed, or a tick passed. */
static void retry_waiting(struct rtvd *d, bool leader_changed)
{
	struct agent_job *list = d->waiting, *next;
	uint64_t now = now_ms(d);

	d->waiting = NULL;
	d->n_waiting = 0;
	for (struct agent_job *j = list; j; j = next) {
		next = j->wnext;
		j->wprev = j->wnext = NULL;
		j->waiting = false;
		if (now >= j->deadline_ms)
			expire(j);
		else if (leader_changed || d->leader_id)
			route(j);
		else
			wait_link(j);
	}
	if (d->n_waiting == 0)
		uv_timer_stop(&d->wait_timer);
}

static void on_wait_tick(uv_timer_t *t)
{
	retry_waiting(t->data, false);
}

/* A request that cannot be retried safely keeps waiting for the old
 * leader's answer (a transfer is answered only after leadership moved). */
static bool may_cancel(void *arg)
{
	return agent_req_retry_safe(&((struct agent_job *)arg)->req);
}

void agent_dispatch_leader_changed(struct rtvd *d)
{
	if (d->leader_id)
		agent_fwd_cancel_others(&d->fwd, d->leader_id, may_cancel);
	retry_waiting(d, true);
}

void agent_dispatch_fail_waiting(struct rtvd *d)
{
	while (d->waiting) {
		struct agent_job *j = d->waiting;

		wait_unlink(j);
		agent_job_fail(j, -ESHUTDOWN, "rtvd is shutting down; retry on another host");
	}
	uv_timer_stop(&d->wait_timer);
}

/* ------------------------------------------------------------------------- */
/* Forwarding to the leader's agent                                          */

static void on_forwarded(void *arg, int status, const void *reply, size_t len)
{
	struct agent_job *job = arg;
	struct rtvd *d = job->d;
	uint64_t to = job->fwd_leader;
	struct agent_reply_head h;
	char why[CONS_ERRLEN];

	job->fwd_leader = 0;
	if (status == 0 && agent_reply_peek(reply, len, &h) < 0) {
		status = -EPROTO;
		rtv_warn("agent", "leader %llu sent a malformed reply (%zu bytes)",
			 (unsigned long long)to, len);
	}
	if (status == 0 && !(h.status == -CONS_ENOTLEADER && agent_req_retry_safe(&job->req))) {
		finish(job, reply, len, h.status, h.err);
		return;
	}
	if (status == 0)
		snprintf(why, sizeof(why), "node %llu was no longer the leader",
			 (unsigned long long)to);
	else
		snprintf(why, sizeof(why), "the leader's agent (node %llu at %s) did not "
			 "answer: %s",
			 (unsigned long long)to, agent_core_peer_url(d, to) ? agent_core_peer_url(d, to) : "?",
			 strerror(-status));
	if (status == -ESHUTDOWN)
		agent_job_fail(job, -ESHUTDOWN, "rtvd is shutting down; retry on another host");
	else if (agent_req_retry_safe(&job->req) || status == -ECONNREFUSED)
		park(job, status == 0 ? -CONS_ENOTLEADER : -EAGAIN, why);
	else
		fail_fmt(job, status == -ECANCELED ? -ETIMEDOUT : status,
			 "%s; the request may or may not have been applied: check before "
			 "retrying (or send it with a request id)", why);
}

static void forward(struct agent_job *job)
{
	struct rtvd *d = job->d;
	const char *url = agent_core_peer_url(d, d->leader_id);
	uint64_t now = now_ms(d), left = job->deadline_ms > now ? job->deadline_ms - now : 0;
	uint64_t timeout = d->cfg->forward_timeout_ns / 1000000;
	struct agent_req fwd = job->req;	/* shares cmd_buf: not closed */
	char why[CONS_ERRLEN];
	void *buf;
	size_t len;
	int rc;

	if (!url) {
		snprintf(why, sizeof(why), "the leader, node %llu, has no known rpc address yet "
			 "(it registers itself; or list it as a [cluster] peer)",
			 (unsigned long long)d->leader_id);
		park(job, -EHOSTUNREACH, why);
		return;
	}
	if (left == 0) {
		park(job, job->last_status ? job->last_status : -ETIMEDOUT,
		     job->last_err[0] ? job->last_err : "no time left to reach the leader");
		return;
	}
	/* the leader answers within what is left of this job's time */
	fwd.wait_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	rc = agent_req_encode(&fwd, true, &buf, &len);
	if (rc == 0) {
		job->fwd_leader = d->leader_id;
		rc = agent_fwd_send(&d->fwd, &job->fwd, d->leader_id, url, buf, len,
				    (unsigned)(left < timeout ? left : timeout), on_forwarded, job);
		free(buf);
		if (rc == 0)
			agent_modules_request(d, &(struct agent_req_ev){ .type = AGENT_REQ_FORWARDED });
	}
	if (rc < 0) {
		job->fwd_leader = 0;
		snprintf(why, sizeof(why), "cannot forward to the leader at %s: %s", url,
			 strerror(-rc));
		park(job, -EAGAIN, why);
	}
}

/* ------------------------------------------------------------------------- */
/* On the leader                                                             */

static void serve_read(struct agent_job *job, bool stale)
{
	char err[CONS_ERRLEN] = "";
	int status = 0;
	void *buf = NULL;
	size_t len = 0;

	if (agent_reply_read(job->d, &job->req, stale, &buf, &len, &status, err) < 0) {
		agent_job_fail(job, -ENOMEM, "out of memory");
		return;
	}
	finish(job, buf, len, status, err);
	free(buf);
}

/* Leadership moved while the leader held the job. */
static void lost_leadership(struct agent_job *job, bool may_be_applied)
{
	char why[CONS_ERRLEN];

	snprintf(why, sizeof(why), "node %llu lost the leadership while serving the request",
		 (unsigned long long)job->d->cfg->id);
	if (job->req.fwd || (may_be_applied && !agent_req_retry_safe(&job->req)))
		fail_fmt(job, -CONS_ENOTLEADER, "%s%s", why, may_be_applied ?
			 "; it may or may not have been applied: check before retrying" : "");
	else
		park(job, -CONS_ENOTLEADER, why);
}

static void on_submitted(void *arg, int status, const struct cons_result *res)
{
	struct agent_job *job = arg;
	void *buf = NULL;
	size_t len = 0;

	if (status == -CONS_ENOTLEADER) {
		lost_leadership(job, true);
		return;
	}
	if (status == -ESHUTDOWN) {
		agent_job_fail(job, status, "rtvd is shutting down; the command may or may not "
			       "have been applied (retry elsewhere with the same request id)");
		return;
	}
	if (status < 0) {
		fail_fmt(job, status, "the command could not be committed: %s", strerror(-status));
		return;
	}
	agent_modules_request(job->d, &(struct agent_req_ev){
		.type = AGENT_REQ_COMMITTED, .commit_ns = uv_hrtime() - job->submit_ns });
	if (agent_reply_submit(job->d, res, &buf, &len) < 0) {
		agent_job_fail(job, -ENOMEM, "out of memory");
		return;
	}
	finish(job, buf, len, res->status, res->err);
	free(buf);
}

static void on_barrier(void *arg, int status)
{
	struct agent_job *job = arg;

	if (status == -CONS_ENOTLEADER)
		lost_leadership(job, false);
	else if (status < 0)
		fail_fmt(job, status, "the read barrier failed: %s", strerror(-status));
	else
		serve_read(job, false);
}

/* consensus/ says why a call failed; fall back on the errno's text. */
static const char *node_err(const struct agent_job *job, int status, char *buf, size_t n)
{
	const char *why = cons_node_errmsg(job->d->node);

	if (why && why[0])
		snprintf(buf, n, "%s: %s", agent_op_name(job->req.op), why);
	else
		snprintf(buf, n, "%s failed: %s", agent_op_name(job->req.op), strerror(-status));
	return buf;
}

static void on_member_done(void *arg, int status)
{
	struct agent_job *job = arg;
	char err[CONS_ERRLEN];
	void *buf = NULL;
	size_t len = 0;

	if (status == -CONS_ENOTLEADER) {
		lost_leadership(job, true);
		return;
	}
	if (status < 0) {
		agent_job_fail(job, status, node_err(job, status, err, sizeof(err)));
		return;
	}
	rtv_info("agent", "%s %llu done", agent_op_name(job->req.op), (unsigned long long)
		 (job->req.op == AGENT_OP_TRANSFER ? job->req.to : job->req.id));
	if (agent_reply_ok(job->d, &buf, &len) < 0) {
		agent_job_fail(job, -ENOMEM, "out of memory");
		return;
	}
	finish(job, buf, len, 0, NULL);
	free(buf);
}

static bool is_member(const struct cons_node *n, uint64_t id)
{
	struct cons_node_status st;

	cons_node_status(n, &st);
	for (size_t i = 0; i < st.n_peers; i++) {
		if (st.peers[i].id == id)
			return true;
	}
	return false;
}

static int start_on_leader(struct agent_job *job)
{
	struct cons_node *n = job->d->node;
	const struct agent_req *r = &job->req;

	switch (r->op) {
	case AGENT_OP_SUBMIT:
		job->submit_ns = uv_hrtime();
		return cons_node_submit(n, &r->cmd, on_submitted, job);
	case AGENT_OP_MEMBERS_ADD:
		return cons_node_add(n, r->id, r->raft_addr, r->voter, on_member_done, job);
	case AGENT_OP_MEMBERS_REMOVE:
		if (!is_member(n, r->id))
			return -ENOENT;
		return cons_node_remove(n, r->id, on_member_done, job);
	case AGENT_OP_TRANSFER:
		if (r->to == job->d->cfg->id) {
			/* already there: a retried transfer must not fail */
			on_member_done(job, 0);
			return 0;
		}
		return cons_node_transfer(n, r->to, on_member_done, job);
	default:
		return cons_node_barrier(n, on_barrier, job);
	}
}

static void run_on_leader(struct agent_job *job)
{
	char err[CONS_ERRLEN];
	int rc = start_on_leader(job);

	if (rc == 0)
		return;
	if (rc == -ENOENT && job->req.op == AGENT_OP_MEMBERS_REMOVE)
		fail_fmt(job, rc, "server %llu is not a member (see rtvctl status)",
			 (unsigned long long)job->req.id);
	else if (rc == -CONS_ENOTLEADER)
		lost_leadership(job, false);
	else
		agent_job_fail(job, rc, node_err(job, rc, err, sizeof(err)));
}

/* ------------------------------------------------------------------------- */

static void route(struct agent_job *job)
{
	struct rtvd *d = job->d;

	if (agent_op_is_read(job->req.op) && !job->req.lin) {
		serve_read(job, true);
	} else if (d->is_leader) {
		run_on_leader(job);
	} else if (job->req.fwd) {
		fail_fmt(job, -CONS_ENOTLEADER, "node %llu is not the leader (leader: %llu)",
			 (unsigned long long)d->cfg->id, (unsigned long long)d->leader_id);
	} else if (d->leader_id) {
		forward(job);
	} else {
		park(job, -EAGAIN, "no Raft leader");
	}
}

void agent_job_run(struct agent_job *job)
{
	struct rtvd *d = job->d;
	uint64_t budget_ms = d->cfg->leader_wait_ns / 1000000;
	uint64_t wait = job->req.wait_ms;

	/* answer a tenth before the sender gives up, so that it hears why */
	if (wait && wait - wait / 10 < budget_ms)
		budget_ms = wait - wait / 10;
	job->start_ms = now_ms(d);
	job->deadline_ms = job->start_ms + budget_ms;
	job->last_status = 0;
	job->last_err[0] = '\0';
	if (!job->internal && !job->ev_started) {
		job->ev_started = true;
		agent_modules_request(d, &(struct agent_req_ev){ .type = AGENT_REQ_STARTED });
	}
	route(job);
}
