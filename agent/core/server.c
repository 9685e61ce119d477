/* server.c — the rep socket and its pool of contexts (see server.h).
 *
 * Each context is a small state machine driven by its one nng aio:
 *
 *   RECV --request--> SERVE --job done--> SEND --sent--> RECV ...
 *
 * The aio callback runs on an nng thread and only posts the context to the
 * loop queue (loopq.h); the transitions run on the loop. A context in SERVE has no nng
 * operation outstanding: its job may wait on Raft or on a forwarded request
 * for as long as it needs without holding anything else up.
 */
#include "agent/core/server.h"

#include <errno.h>
#include <arpa/inet.h>
#include <grp.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpc/proto.h"
#include "agent/core/rtvd.h"
#include "pki/pki.h"

#define REFUSAL_LOG_MS 5000	/* how often new TLS refusals are logged */

enum ctx_phase { CTX_IDLE, CTX_RECV, CTX_SERVE, CTX_SEND };

struct agent_server_ctx {
	struct agent_server *s;
	nng_ctx ctx;
	nng_aio *aio;
	struct agent_loopq_item item;
	enum ctx_phase phase;
	struct agent_job job;
};

static void ctx_recv(struct agent_server_ctx *c)
{
	if (!c->s->accepting) {
		c->phase = CTX_IDLE;
		return;
	}
	c->phase = CTX_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

static void on_job_done(struct agent_job *job, const void *reply, size_t len, int status,
			const char *err)
{
	struct agent_server_ctx *c =
		(struct agent_server_ctx *)((char *)job - offsetof(struct agent_server_ctx, job));
	nng_msg *msg = NULL;

	(void)status;
	(void)err;
	agent_req_close(&job->req);
	if (c->s->closed) {
		c->phase = CTX_IDLE;
		return;
	}
	if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, reply, len) != 0) {
		/* the client times out; nothing better to do without memory */
		rtv_warn("agent", "out of memory for a %zu-byte reply", len);
		if (msg)
			nng_msg_free(msg);
		ctx_recv(c);
		return;
	}
	c->phase = CTX_SEND;
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
}

static void log_bad(struct agent_server *s, int rc, const char *err)
{
	uint64_t dropped = 0;

	s->n_bad++;
	if (rtv_ratelimit_ok(&s->bad_rl, &dropped))
		rtv_warn("agent", "bad request (%s): %s%s", strerror(-rc), err,
			 dropped ? " (and more, not logged)" : "");
}

/* True if msg came in on the read-only listener. */
static bool from_reader(const struct agent_server *s, nng_msg *msg, char *who, size_t n)
{
	nng_pipe p = nng_msg_get_pipe(msg);
	nng_listener l = nng_pipe_listener(p);
	nng_sockaddr sa;

	if (!s->has_read_l || nng_listener_id(l) != nng_listener_id(s->read_l))
		return false;
	snprintf(who, n, "a client");
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0 && sa.s_family == NNG_AF_INET) {
		const uint8_t *a = (const uint8_t *)&sa.s_in.sa_addr;

		snprintf(who, n, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
			 (unsigned)ntohs(sa.s_in.sa_port));
	}
	return true;
}

/* A change asked on the read-only listener: refused, named, counted. */
static void refuse_reader(struct agent_server_ctx *c, const char *who)
{
	struct agent_server *s = c->s;
	const char *op = agent_op_name(c->job.req.op);
	char err[CONS_ERRLEN];
	uint64_t dropped = 0;

	s->n_read_only_refused++;
	if (rtv_ratelimit_ok(&s->deny_rl, &dropped))
		rtv_warn("agent", "refused %s from %s on the read-only RPC listener %s%s", op, who,
			 s->d->cfg->rpc_read_addr, dropped ? " (and more, not logged)" : "");
	snprintf(err, sizeof(err), "permission denied: %s changes the rack, and this is the "
		 "read-only RPC endpoint (a reader's certificate); use an admin certificate "
		 "(rtvctl pki issue-client NAME --admin) against the agent's rpc_addr", op);
	agent_job_fail(&c->job, -EPERM, err);
}

static void on_received(struct agent_server_ctx *c, int rv)
{
	char who[64];
	bool reader;
	struct agent_server *s = c->s;
	char err[CONS_ERRLEN];
	nng_msg *msg;
	int rc;

	if (rv) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			rtv_warn("agent", "receiving a request: %s", nng_strerror(rv));
		c->phase = CTX_IDLE;
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			ctx_recv(c);
		return;
	}
	msg = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	if (s->closed) {
		nng_msg_free(msg);
		return;
	}
	s->n_requests++;
	c->phase = CTX_SERVE;
	reader = from_reader(s, msg, who, sizeof(who));
	rc = agent_req_decode(nng_msg_body(msg), nng_msg_len(msg), &c->job.req, err);
	nng_msg_free(msg);
	if (rc < 0) {
		log_bad(s, rc, err);
		agent_job_fail(&c->job, rc, err);
		return;
	}
	if (reader && !agent_op_is_read(c->job.req.op)) {
		refuse_reader(c, who);
		return;
	}
	agent_job_run(&c->job);
}

static void on_sent(struct agent_server_ctx *c, int rv)
{
	nng_msg *msg = nng_aio_get_msg(c->aio);

	nng_aio_set_msg(c->aio, NULL);
	if (rv) {
		/* not sent: still ours (the client went away, or we are closing) */
		if (msg)
			nng_msg_free(msg);
		if (rv != NNG_ECLOSED)
			rtv_debug("agent", "sending a reply: %s", nng_strerror(rv));
	}
	c->phase = CTX_IDLE;
	if (!c->s->closed)
		ctx_recv(c);
}

static void on_item(struct agent_loopq_item *item)
{
	struct agent_server_ctx *c =
		(struct agent_server_ctx *)((char *)item - offsetof(struct agent_server_ctx, item));
	int rv = nng_aio_result(c->aio);

	if (c->phase == CTX_RECV)
		on_received(c, rv);
	else if (c->phase == CTX_SEND)
		on_sent(c, rv);
}

static void on_aio(void *arg)
{
	struct agent_server_ctx *c = arg;

	agent_loopq_post(&c->s->d->loopq, &c->item);
}

/* ------------------------------------------------------------------------- */
/* Listeners                                                                 */

static int fail_nng(char *err, size_t errlen, int rv, const char *what, const char *url)
{
	snprintf(err, errlen, "%s %s: %s%s", what, url, nng_strerror(rv),
		 rv == NNG_EADDRINUSE ? " (is another rtvd running?)" : "");
	return agent_nng_errno(rv);
}

/* The CLI socket: created 0660 from the start (umask around the bind, as
 * nng's chmod comes after it), then handed to root:cli_group. */
static int listen_cli(struct agent_server *s, const struct agent_config *cfg, char *err,
		      size_t errlen)
{
	char url[AGENT_SUN_PATH_MAX + 8], dir[AGENT_SUN_PATH_MAX];
	nng_listener l;
	mode_t old;
	int rv;

	snprintf(url, sizeof(url), "ipc://%s", cfg->cli_socket);
	snprintf(dir, sizeof(dir), "%s", cfg->cli_socket);
	*strrchr(dir, '/') = '\0';
	if (dir[0] && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s for the CLI socket: %s", dir,
			 strerror(errno));
		return -errno;
	}
	rv = nng_listener_create(&l, s->sock, url);
	if (rv)
		return fail_nng(err, errlen, rv, "cannot listen on", url);
	nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660);
	old = umask(0117);
	rv = nng_listener_start(l, 0);
	umask(old);
	if (rv)
		return fail_nng(err, errlen, rv, "cannot listen on", url);
	if (cfg->cli_group[0]) {
		struct group *g = getgrnam(cfg->cli_group);

		if (!g || chown(cfg->cli_socket, 0, g->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give %s to root:%s: %s", cfg->cli_socket,
				 cfg->cli_group, g ? strerror(errno) : "no such group");
			return g ? -errno : -ENOENT;
		}
	}
	return 0;
}

/* A tls+tcp:// listener: the rack CA's clients (hosts, admins), plus
 * read_ca's (readers) when given. */
static int listen_tls(struct agent_server *s, const char *url, const char *read_ca,
		      nng_listener *l, char *err, size_t errlen)
{
	const struct agent_config *cfg = s->d->cfg;
	nng_tls_config *tls = NULL;
	char perr[PKI_ERRLEN];
	int rv, rc;

	rc = pki_nng_tls_config(cfg->tls_ca, cfg->tls_cert, cfg->tls_key, true, 0, &tls, perr);
	if (rc == 0 && read_ca)
		rc = pki_nng_tls_add_ca(tls, read_ca, perr);
	if (rc < 0) {
		snprintf(err, errlen, "RPC listener %s: %s", url, perr);
		if (tls)
			nng_tls_config_free(tls);
		return rc;
	}
	rv = nng_listener_create(l, s->sock, url);
	if (rv == 0)
		rv = nng_listener_set_ptr(*l, NNG_OPT_TLS_CONFIG, tls);
	if (rv == 0)
		rv = nng_listener_start(*l, 0);
	nng_tls_config_free(tls);	/* the listener holds its own reference */
	return rv ? fail_nng(err, errlen, rv, "cannot listen on", url) : 0;
}

static int listen_all(struct agent_server *s, const struct agent_config *cfg, char *err,
		      size_t errlen)
{
	int rv = nng_rep0_open(&s->sock);

	if (rv)
		return fail_nng(err, errlen, rv, "cannot open", "an nng rep socket");
	s->sock_open = true;
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG_BYTES);
	rv = listen_cli(s, cfg, err, errlen);
	if (rv < 0)
		return rv;
	if (strncmp(cfg->rpc_addr, "tls+tcp://", 10) != 0) {
		rv = nng_listener_create(&s->rpc_l, s->sock, cfg->rpc_addr);
		if (rv == 0)
			rv = nng_listener_start(s->rpc_l, 0);
		return rv ? fail_nng(err, errlen, rv, "cannot listen on", cfg->rpc_addr) : 0;
	}
	rv = listen_tls(s, cfg->rpc_addr, NULL, &s->rpc_l, err, errlen);
	s->has_tls = rv == 0;
	if (rv == 0 && cfg->rpc_read_addr[0]) {
		rv = listen_tls(s, cfg->rpc_read_addr, cfg->tls_read_ca, &s->read_l, err, errlen);
		s->has_read_l = rv == 0;
	}
	return rv;
}

/* ------------------------------------------------------------------------- */
/* TLS refusals: nng counts the connections a listener dropped before they
 * became pipes (its TLS handshake verifies the client's certificate); it
 * cannot say whose, so the log names the listener and the count. */

/* The stats scope of listener l. (nng 1.5's nng_stat_find_listener matches
 * any listener scope, so the scope is found by its "id" child.) */
static nng_stat *find_listener(nng_stat *st, int id)
{
	for (; st; st = nng_stat_next(st)) {
		nng_stat *v, *found;

		if (strcmp(nng_stat_name(st), "listener") == 0 &&
		    (v = nng_stat_find(st, "id")) && nng_stat_value(v) == (uint64_t)id)
			return st;
		if ((found = find_listener(nng_stat_child(st), id)))
			return found;
	}
	return NULL;
}

static void listener_refusals(nng_stat *all, nng_listener l, struct agent_server_refusals *r)
{
	nng_stat *st = find_listener(all, nng_listener_id(l));
	nng_stat *v;

	if (!st)
		return;
	if ((v = nng_stat_find(st, "auth")))
		r->auth = nng_stat_value(v);
	if ((v = nng_stat_find(st, "proto")))
		r->proto = nng_stat_value(v);
	if ((v = nng_stat_find(st, "timeout")))
		r->timeout = nng_stat_value(v);
	if ((v = nng_stat_find(st, "other")))
		r->other = nng_stat_value(v);
}

int agent_server_refusals(const struct agent_server *s, bool read_listener,
			  struct agent_server_refusals *out)
{
	nng_stat *all = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (!s->has_tls || (read_listener && !s->has_read_l))
		return -ENOENT;
	rv = nng_stats_get(&all);
	if (rv)
		return agent_nng_errno(rv);
	listener_refusals(all, read_listener ? s->read_l : s->rpc_l, out);
	nng_stats_free(all);
	return 0;
}

static uint64_t refusals_sum(const struct agent_server_refusals *r)
{
	return r->auth + r->proto + r->timeout + r->other;
}

static void on_refusal_timer(uv_timer_t *t)
{
	struct agent_server *s = t->data;

	for (int k = 0; k < 2; k++) {
		struct agent_server_refusals r;
		uint64_t n;

		if (agent_server_refusals(s, k == 1, &r) < 0)
			continue;
		n = refusals_sum(&r);
		if (n > s->refusals_logged[k])
			rtv_warn("agent", "RPC listener %s refused %llu connection(s) in the TLS "
				 "handshake since the last report (no certificate, not from %s, "
				 "expired, or not TLS; %llu in all): the client is not named, as "
				 "nng 1.5 gives no peer certificate",
				 k ? s->d->cfg->rpc_read_addr : s->d->cfg->rpc_addr,
				 (unsigned long long)(n - s->refusals_logged[k]),
				 k ? "the rack or read CA" : "the rack CA", (unsigned long long)n);
		s->refusals_logged[k] = n;
	}
}

static int ctxs_open(struct agent_server *s, char *err, size_t errlen)
{
	unsigned n = s->d->cfg->contexts;

	s->ctxs = calloc(n, sizeof(*s->ctxs));
	if (!s->ctxs)
		return -ENOMEM;
	for (; s->n_ctxs < n; s->n_ctxs++) {
		struct agent_server_ctx *c = &s->ctxs[s->n_ctxs];
		int rv;

		c->s = s;
		c->item.fn = on_item;
		agent_job_init(&c->job, s->d, on_job_done);
		rv = nng_aio_alloc(&c->aio, on_aio, c);
		if (rv == 0 && (rv = nng_ctx_open(&c->ctx, s->sock)) != 0) {
			nng_aio_free(c->aio);
			c->aio = NULL;
		}
		if (rv)
			return fail_nng(err, errlen, rv, "cannot open", "an nng context");
	}
	return 0;
}

int agent_server_start(struct agent_server *s, struct rtvd *d, char *err, size_t errlen)
{
	struct rtv_ratelimit rl = RTV_RATELIMIT_INIT(20, 5);
	int rc;

	memset(s, 0, sizeof(*s));
	s->d = d;
	s->bad_rl = rl;
	s->deny_rl = rl;
	rc = listen_all(s, d->cfg, err, errlen);
	if (rc == 0)
		rc = ctxs_open(s, err, errlen);
	if (rc < 0)
		return rc;
	s->accepting = true;
	for (unsigned i = 0; i < s->n_ctxs; i++)
		ctx_recv(&s->ctxs[i]);
	if (s->has_tls) {
		uv_timer_init(d->loop, &s->refusal_timer);
		s->refusal_timer.data = s;
		s->timer_open = true;
		uv_timer_start(&s->refusal_timer, on_refusal_timer, REFUSAL_LOG_MS, REFUSAL_LOG_MS);
	}
	return 0;
}

void agent_server_quiesce(struct agent_server *s)
{
	s->accepting = false;
	for (unsigned i = 0; i < s->n_ctxs; i++) {
		if (s->ctxs[i].phase == CTX_RECV)
			nng_aio_cancel(s->ctxs[i].aio);
	}
}

void agent_server_close(struct agent_server *s)
{
	s->accepting = false;
	s->closed = true;
	if (s->timer_open && !uv_is_closing((uv_handle_t *)&s->refusal_timer))
		uv_close((uv_handle_t *)&s->refusal_timer, NULL);
	if (s->sock_open)
		nng_close(s->sock);
	s->sock_open = false;
	for (unsigned i = 0; i < s->n_ctxs; i++)
		nng_aio_stop(s->ctxs[i].aio);
}

void agent_server_free(struct agent_server *s)
{
	for (unsigned i = 0; i < s->n_ctxs; i++) {
		agent_job_close(&s->ctxs[i].job);
		nng_aio_free(s->ctxs[i].aio);
	}
	free(s->ctxs);
	s->ctxs = NULL;
	s->n_ctxs = 0;
}
