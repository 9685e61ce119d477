/* client.c — synchronous nng req client of rtvd (proto.h).
 *
 * Why a req socket and our own retry loop: nng's req protocol already
 * resends a request when the connection it went out on closes (kill -9 of
 * an agent shows up at once as a reset on loopback), and a new request on
 * the socket cancels the previous one, so an attempt that timed out cannot
 * deliver a stale reply later. What nng cannot know is that "no leader"
 * is worth retrying: that is the loop in agent_client_submit, which keeps
 * the same (client_id, seq) so the state machine's deduplication table
 * (consensus.h) turns any number of attempts into one application.
 */
#include "rpc/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "rpc/proto.h"
#include "pki/pki.h"

/* One attempt never waits longer than this, so a request stuck on an agent
 * that lost its leader is re-sent (same cid/seq) instead of waiting out the
 * whole timeout. */
#define ATTEMPT_MAX_NS AGENT_CLIENT_ATTEMPT_MAX_NS
#define BACKOFF_MIN_NS 5000000ull
#define BACKOFF_MAX_NS 100000000ull

struct agent_client {
	nng_socket sock;
	uint64_t timeout_ns;
	uint64_t client_id, seq;
	atomic_uint n_pipes;
	struct agent_client_tls tls;	/* the caller's strings */
	char err[AGENT_CLIENT_ERRLEN];
	char dial_err[AGENT_CLIENT_ERRLEN];	/* why the first dial failed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void set_err(struct agent_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct agent_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* snprintf that may truncate on purpose: error sentences are cut to fit. */
static void fmt_into(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fmt_into(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* The one place nng's error codes become errno values. */
static int nng_to_errno(int rv)
{
	if (rv & NNG_ESYSERR)
		return -(rv & ~NNG_ESYSERR);
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return -ETIMEDOUT;
	case NNG_ECONNREFUSED: case NNG_ENOENT: return -ECONNREFUSED;
	case NNG_EPERM: return -EACCES;
	case NNG_ENOMEM: return -ENOMEM;
	case NNG_EADDRINVAL: case NNG_ENOTSUP: case NNG_EINVAL: return -EINVAL;
	case NNG_EUNREACHABLE: return -EHOSTUNREACH;
	case NNG_ECONNRESET: case NNG_ECONNSHUT: case NNG_ECLOSED: return -ECONNRESET;
	case NNG_ECONNABORTED: return -ECONNABORTED;
	case NNG_EMSGSIZE: return -EMSGSIZE;
	case NNG_EPROTO: return -EPROTO;
	case NNG_EAGAIN: return -EAGAIN;
	default: return -EIO;
	}
}

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct agent_client *c = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&c->n_pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&c->n_pipes, 1);
}

uint64_t agent_client_random_u64(void)
{
	uint64_t v = 0;

	while (v == 0) {
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			v = now_ns() ^ ((uint64_t)getpid() << 32);
	}
	return v;
}

static int socket_setup(struct agent_client *c)
{
	int rv;

	if ((rv = nng_req0_open(&c->sock)) != 0)
		return nng_to_errno(rv);
	if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG_BYTES)) ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 10)) ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 200)) ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event, c)) ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event, c))) {
		nng_close(c->sock);
		return nng_to_errno(rv);
	}
	return 0;
}

/* A tls+tcp:// dialer with the client's certificate; started with flags. */
static int dial_tls(struct agent_client *c, const char *url, int flags)
{
	nng_tls_config *cfg = NULL;
	char perr[PKI_ERRLEN];
	int rc;

	if (!c->tls.ca || !c->tls.cert || !c->tls.key) {
		set_err(c, "%s needs a client certificate: give --ca, --cert and --key "
			"(rtvctl pki issue-client NAME --read or --admin makes one)", url);
		return NNG_EINVAL;
	}
	rc = pki_nng_tls_config(c->tls.ca, c->tls.cert, c->tls.key, false, 0, &cfg, perr);
	if (rc < 0) {
		set_err(c, "client certificate: %s", perr);
		return NNG_EINVAL;
	}
	return pki_nng_dial((uint32_t)nng_socket_id(c->sock), url, cfg, flags);
}

static int dial_url(struct agent_client *c, const char *url, int flags)
{
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return dial_tls(c, url, flags);
	return nng_dial(c->sock, url, NULL, flags);
}

/* Dials one URL: synchronously first (to learn at once whether anybody
 * listens), then in the background so a restarting agent is picked up. */
static int dial_one(struct agent_client *c, const char *url)
{
	int rv = dial_url(c, url, 0);

	if (rv == 0)
		return 0;
	if (rv == NNG_EINVAL && c->err[0])
		return -EINVAL;
	if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP || rv == NNG_EINVAL) {
		set_err(c, "\"%s\" is not a valid endpoint: use ipc:///path/to/rtvd.sock, "
			"tls+tcp://host:port (with a client certificate) or tcp://host:port", url);
		return -EINVAL;
	}
	set_err(c, "cannot connect to %s: %s%s", url, nng_strerror(rv),
		rv == NNG_EPERM ? " (run as root or as a member of rtvd's group)"
		: rv == NNG_ECRYPTO || rv == NNG_EPEERAUTH
		? " (the TLS handshake failed: the agent refused this certificate, or its "
		  "own is not from --ca; rtvctl pki show FILE says who issued one)"
		: rv == NNG_ECLOSED || rv == NNG_ECONNSHUT
		? " (the agent closed the connection: it may want tls+tcp:// with a client "
		  "certificate)"
		: " (is rtvd running? check --endpoint or RTVCTL_ENDPOINT)");
	memcpy(c->dial_err, c->err, sizeof(c->dial_err));
	(void)dial_url(c, url, NNG_FLAG_NONBLOCK);
	return nng_to_errno(rv);
}

int agent_client_new(const char *urls, uint64_t timeout_ns, bool must_connect,
		     struct agent_client **out, char *err, size_t errlen)
{
	return agent_client_new_tls(urls, timeout_ns, must_connect, NULL, out, err, errlen);
}

int agent_client_new_tls(const char *urls, uint64_t timeout_ns, bool must_connect,
			 const struct agent_client_tls *tls, struct agent_client **out,
			 char *err, size_t errlen)
{
	struct agent_client *c = calloc(1, sizeof(*c));
	char *list, *save = NULL;
	int rc, first_err = 0, n_ok = 0;

	if (!c || !(list = strdup(urls && *urls ? urls : AGENT_CLIENT_DEFAULT_URL))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->timeout_ns = timeout_ns ? timeout_ns : 5000000000ull;
	if (tls)
		c->tls = *tls;
	c->client_id = agent_client_random_u64();
	if ((rc = socket_setup(c)) != 0) {
		snprintf(err, errlen, "cannot open an nng req socket: %s", strerror(-rc));
		goto err_list;
	}
	for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		rc = dial_one(c, u);
		if (rc == -EINVAL) {
			fmt_into(err, errlen, "%s", c->err);
			goto err_sock;
		}
		if (rc == 0)
			n_ok++;
		else if (!first_err)
			first_err = rc;
	}
	if (n_ok == 0 && must_connect) {
		rc = first_err ? first_err : -EINVAL;
		fmt_into(err, errlen, "%s", c->err[0] ? c->err : "no endpoint given");
		goto err_sock;
	}
	free(list);
	c->err[0] = '\0';
	*out = c;
	return 0;

err_sock:
	nng_close(c->sock);
err_list:
	free(list);
	free(c);
	return rc;
}

void agent_client_free(struct agent_client *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	free(c);
}

const char *agent_client_err(const struct agent_client *c)
{
	return c->err;
}

uint64_t agent_client_id(const struct agent_client *c)
{
	return c->client_id;
}

unsigned agent_client_n_connected(const struct agent_client *c)
{
	return atomic_load(&((struct agent_client *)c)->n_pipes);
}

/* ------------------------------------------------------------------------- */
/* Calls                                                                      */

static int nng_ms(uint64_t ns)
{
	uint64_t ms = (ns + 999999) / 1000000;

	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static int decode_reply(struct agent_client *c, struct agent_client_reply *rep)
{
	size_t off = 0;
	int64_t status;

	msgpack_unpacked_init(&rep->up);
	if (msgpack_unpack_next(&rep->up, rep->raw, rep->raw_len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    rep->up.data.type != MSGPACK_OBJECT_MAP) {
		set_err(c, "rtvd sent a reply that is not a msgpack map");
		return -EPROTO;
	}
	rep->map = &rep->up.data;
	if (agent_client_map_int(rep->map, "status", &status) != 0 ||
	    status < INT32_MIN || status > INT32_MAX) {
		set_err(c, "rtvd's reply has no valid \"status\"");
		return -EPROTO;
	}
	rep->status = (int)status;
	rep->err[0] = '\0';
	(void)agent_client_map_str(rep->map, "err", rep->err, sizeof(rep->err));
	(void)agent_client_map_uint(rep->map, "node", &rep->node);
	(void)agent_client_map_uint(rep->map, "leader", &rep->leader);
	(void)agent_client_map_uint(rep->map, "index", &rep->index);
	(void)agent_client_map_bool(rep->map, "stale", &rep->stale);
	return 0;
}

int agent_client_call(struct agent_client *c, const struct agent_client_req *req,
		      uint64_t timeout_ns, struct agent_client_reply *rep)
{
	int ms = nng_ms(timeout_ns ? timeout_ns : c->timeout_ns), rv, rc;

	memset(rep, 0, sizeof(*rep));
	c->err[0] = '\0';
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, ms)) == 0 &&
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, ms)) == 0 &&
	    (rv = nng_send(c->sock, req->buf.data, req->buf.size, 0)) == 0)
		rv = nng_recv(c->sock, &rep->raw, &rep->raw_len, NNG_FLAG_ALLOC);
	if (rv != 0) {
		rc = nng_to_errno(rv);
		if (rc == -ETIMEDOUT)
			set_err(c, "no answer from rtvd within %d ms", ms);
		else
			set_err(c, "talking to rtvd failed: %s", nng_strerror(rv));
		rep->raw = NULL;
		return rc;
	}
	if ((rc = decode_reply(c, rep)) != 0)
		agent_client_reply_close(rep);
	return rc;
}

void agent_client_reply_close(struct agent_client_reply *rep)
{
	if (rep->raw) {
		msgpack_unpacked_destroy(&rep->up);
		nng_free(rep->raw, rep->raw_len);
	}
	memset(rep, 0, sizeof(*rep));
}

/* Sleeps the backoff (bounded by the deadline); returns false when no time
 * is left for another attempt. */
static bool backoff(uint64_t deadline, uint64_t *wait_ns)
{
	uint64_t now = now_ns();

	if (now >= deadline)
		return false;
	sleep_ns(*wait_ns < deadline - now ? *wait_ns : deadline - now);
	*wait_ns = *wait_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *wait_ns * 2;
	return now_ns() < deadline;
}

static int call_retry(struct agent_client *c, const struct agent_client_req *req,
		      uint64_t timeout_ns, struct agent_client_reply *rep, unsigned *attempts)
{
	uint64_t deadline = now_ns() + (timeout_ns ? timeout_ns : c->timeout_ns);
	uint64_t wait_ns = BACKOFF_MIN_NS;
	int rc;

	for (;;) {
		uint64_t now = now_ns(), left = deadline > now ? deadline - now : 1;
		rc = agent_client_call(c, req, left < ATTEMPT_MAX_NS ? left : ATTEMPT_MAX_NS, rep);
		(*attempts)++;
		if (rc == 0 && !agent_client_unavailable(rep->status))
			return 0;
		if (rc != 0 && !agent_client_unavailable(rc))
			return rc;
		if (!backoff(deadline, &wait_ns))
			return rc;	/* the last unavailable reply, or the transport error */
		if (rc == 0)
			agent_client_reply_close(rep);
	}
}

int agent_client_call_retry(struct agent_client *c, const struct agent_client_req *req,
			    uint64_t timeout_ns, struct agent_client_reply *rep)
{
	unsigned attempts = 0;

	return call_retry(c, req, timeout_ns, rep, &attempts);
}

static void submit_outcome(struct agent_client *c, int rc, struct agent_client_reply *rep,
			   uint64_t timeout_ns, struct agent_client_submit_result *res)
{
	int status = rc ? rc : rep->status;

	res->status = status;
	if (rc == 0) {
		fmt_into(res->err, sizeof(res->err), "%s", rep->err);
		(void)agent_client_map_uint(rep->map, "id", &res->id);
		(void)agent_client_map_bool(rep->map, "dup", &res->dup);
		res->index = rep->index;
		res->node = rep->node;
		res->leader = rep->leader;
	} else if (agent_client_n_connected(c) == 0 && c->dial_err[0]) {
		fmt_into(res->err, sizeof(res->err), "%s", c->dial_err);
	} else {
		fmt_into(res->err, sizeof(res->err), "%s", c->err);
	}
	if (agent_client_unavailable(status)) {
		char last[CONS_ERRLEN];
		fmt_into(last, sizeof(last), "%s", res->err[0] ? res->err : agent_client_status_name(status));
		fmt_into(res->err, sizeof(res->err),
			 "the rack did not accept the command within %llu ms (%u attempt%s; last: %s); "
			 "check `rtvctl status` for a leader, or raise --timeout",
			 (unsigned long long)(timeout_ns / 1000000), res->attempts,
			 res->attempts == 1 ? "" : "s", last);
	}
}

static int submit_attempts(struct agent_client *c, const struct agent_client_req *req,
			   uint64_t timeout_ns, struct agent_client_submit_result *res)
{
	struct agent_client_reply rep;
	int rc;

	timeout_ns = timeout_ns ? timeout_ns : c->timeout_ns;
	rc = call_retry(c, req, timeout_ns, &rep, &res->attempts);
	submit_outcome(c, rc, &rep, timeout_ns, res);
	if (rc == 0)
		agent_client_reply_close(&rep);
	return res->status;
}

int agent_client_submit(struct agent_client *c, struct cons_cmd *cmd, uint64_t timeout_ns,
			struct agent_client_submit_result *res)
{
	struct agent_client_req req;
	void *buf;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	cmd->client_id = c->client_id;
	cmd->seq = ++c->seq;
	if ((rc = cons_cmd_encode(cmd, &buf, &len, res->err)) != 0) {
		res->status = rc;
		return rc;
	}
	rc = agent_client_req_begin(&req, PROTO_OP_SUBMIT, 1, false);
	if (rc == 0) {
		msgpack_pack_str_with_body(&req.pk, "cmd", 3);
		msgpack_pack_bin_with_body(&req.pk, buf, len);
		rc = submit_attempts(c, &req, timeout_ns, res);
		agent_client_req_close(&req);
	} else {
		res->status = rc;
		snprintf(res->err, sizeof(res->err), "out of memory");
	}
	free(buf);
	return rc;
}
