/* transport_tls.c — raft_uv's transport over mutual TLS.
 *
 * raft_uv talks to its peers through libuv streams that a transport hands
 * it (struct raft_uv_transport, raft/uv.h); the stock one is plain TCP. This
 * one accepts and dials TCP, runs a TLS session (pki/) on each connection
 * and, only once the peer is verified, hands raft one end of a socketpair;
 * the other end is pumped through the session:
 *
 *   raft ── uv_pipe A ═ socketpair ═ uv_pipe B ── TLS (pki_tls) ── uv_tcp ── peer
 *
 * Verification, before raft sees a byte:
 *   - both sides: the certificate chains to the rack CA and is valid now
 *     (pki_tls_handshake);
 *   - dialing server id N: the peer's certificate names rtvd-host-N;
 *   - accepting: the peer's certificate is a host's (rtvd-host-M), and the
 *     preamble it sends first inside the session claims id M. A valid
 *     certificate of host 2 cannot speak for host 3.
 * Any refusal closes the connection with a (rate-limited) log line naming
 * the peer's address, its certificate and the reason, and counts it.
 *
 * Slow or silent peers: a connection that has not finished its handshake
 * and preamble within HANDSHAKE_MS is closed, so a port scanner cannot pin
 * connections. raft_uv owns pipe A like a TCP stream of the stock transport
 * (it uv_close()s it and frees it with raft_free); closing B is how this
 * side tells raft the connection ended.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "common/bytes.h"
#include "common/log.h"
#include "consensus/transport_tls.h"
#include "pki/pki.h"

#define MOD "consensus"

enum {
	HANDSHAKE_MS = 5000,
	GRACE_MS = 100,
	MAX_EXTEND = 3,
	READ_CHUNK = 64 * 1024,
};

enum conn_state { C_DIALING, C_HANDSHAKE, C_PREAMBLE, C_OPEN, C_CLOSING };

struct tt;

struct conn {
	struct tt *tt;
	struct conn *prev, *next;
	enum conn_state state;
	bool outbound;
	uv_tcp_t tcp;
	uv_pipe_t pipe;		/* B: our end of the socketpair */
	bool pipe_open;
	uv_timer_t timer;
	uv_connect_t connect;
	unsigned closes_pending;
	bool grace;		/* the handshake timer is in its last turn */
	bool progress;		/* bytes arrived since the timer was armed */
	unsigned extended;	/* times the timer was re-armed for progress */
	struct pki_tls *tls;
	char peer[64];		/* "ip:port" of the TCP peer, for logs */
	/* outbound */
	struct raft_uv_connect *req;
	raft_uv_connect_cb cb;
	raft_id expect_id;
	/* what libuv reads into (tcp and pipe alike: their callbacks never
	 * nest, and each consumes the bytes before returning) */
	char rbuf[READ_CHUNK];
	/* inbound: preamble bytes so far */
	unsigned char pre[CONS_TLS_PREAMBLE_FIXED + CONS_ADDR_MAX];
	size_t pre_len;
};

struct tt {
	struct raft_uv_transport *t;
	uv_loop_t *loop;
	struct pki_creds *creds;
	raft_id id;
	const char *address;
	uv_tcp_t listener;
	bool listener_open;
	raft_uv_accept_cb accept_cb;
	struct conn *conns;
	bool closing;
	raft_uv_transport_close_cb close_cb;
	uint64_t refused, refused_by[CONS_TLS_R_N];
	struct rtv_ratelimit rl;
};

/* ------------------------------------------------------------------------- */
/* Preamble                                                                   */

int cons_tls_preamble_encode(uint64_t id, const char *addr, void *buf, size_t cap,
			     size_t *len)
{
	size_t alen = addr ? strlen(addr) : 0;
	unsigned char *p = buf;

	if (id == 0 || alen == 0 || alen >= CONS_ADDR_MAX)
		return -EINVAL;
	if (cap < CONS_TLS_PREAMBLE_FIXED + alen)
		return -ENOSPC;
	rtv_put_be(p, CONS_TLS_PREAMBLE_MAGIC, 4);
	rtv_put_be(p + 4, alen, 4);
	rtv_put_be(p + 8, id, 8);
	memcpy(p + CONS_TLS_PREAMBLE_FIXED, addr, alen);
	*len = CONS_TLS_PREAMBLE_FIXED + alen;
	return 0;
}

int cons_tls_preamble_decode(const void *buf, size_t len, uint64_t *id,
			     char addr[CONS_ADDR_MAX], size_t *used)
{
	const unsigned char *p = buf;
	uint64_t alen, pid;

	if (len >= 4 && rtv_get_be(p, 4) != CONS_TLS_PREAMBLE_MAGIC)
		return -EPROTO;
	if (len < CONS_TLS_PREAMBLE_FIXED)
		return -EAGAIN;
	alen = rtv_get_be(p + 4, 4);
	pid = rtv_get_be(p + 8, 8);
	if (alen == 0 || alen >= CONS_ADDR_MAX || pid == 0)
		return -EPROTO;
	if (len < CONS_TLS_PREAMBLE_FIXED + alen)
		return -EAGAIN;
	for (size_t i = 0; i < alen; i++)
		if (p[CONS_TLS_PREAMBLE_FIXED + i] < 0x21 || p[CONS_TLS_PREAMBLE_FIXED + i] > 0x7e)
			return -EPROTO;
	memcpy(addr, p + CONS_TLS_PREAMBLE_FIXED, alen);
	addr[alen] = '\0';
	*id = pid;
	*used = CONS_TLS_PREAMBLE_FIXED + alen;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Connections: closing                                                       */

static void transport_maybe_closed(struct tt *tt)
{
	if (tt->closing && !tt->conns && !tt->listener_open && tt->close_cb) {
		raft_uv_transport_close_cb cb = tt->close_cb;

		tt->close_cb = NULL;
		cb(tt->t);
	}
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct tt *tt = c->tt;

	if (--c->closes_pending > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		tt->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pki_tls_free(c->tls);
	free(c);
	transport_maybe_closed(tt);
}

/* Ends a connection; an outbound one not yet handed to raft reports the
 * failure to raft (which retries after its connect delay). */
static void conn_close(struct conn *c)
{
	if (c->state == C_CLOSING)
		return;
	if (c->outbound && c->cb && c->state != C_OPEN) {
		raft_uv_connect_cb cb = c->cb;

		c->cb = NULL;
		cb(c->req, NULL, c->tt->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
	}
	c->state = C_CLOSING;
	c->closes_pending = 2 + (c->pipe_open ? 1 : 0);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	if (c->pipe_open)
		uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
}

/* Logs a line about peer c (rate-limited: an intruder retrying must not
 * flood the log) and closes it. `refusal`: this side refused the peer's
 * credentials (counted); otherwise the connection just failed. */
const char *const cons_tls_refusal_names[CONS_TLS_R_N] = {
	"unknown_ca", "expired", "bad_name", "no_cert", "not_tls", "not_host", "id_mismatch",
	"preamble", "timeout",
};

/* The counter of a handshake that pki refused. */
static enum cons_tls_refusal from_pki(enum pki_refusal r)
{
	switch (r) {
	case PKI_REFUSAL_UNKNOWN_CA: return CONS_TLS_R_UNKNOWN_CA;
	case PKI_REFUSAL_EXPIRED: return CONS_TLS_R_EXPIRED;
	case PKI_REFUSAL_BAD_NAME: return CONS_TLS_R_BAD_NAME;
	case PKI_REFUSAL_NO_CERT: return CONS_TLS_R_NO_CERT;
	default: return CONS_TLS_R_NOT_TLS;
	}
}

static void conn_drop(struct conn *c, bool refusal, enum cons_tls_refusal reason,
		      const char *why)
{
	char more[48] = "";
	uint64_t suppressed = 0;

	if (refusal) {
		c->tt->refused++;
		c->tt->refused_by[reason]++;
	}
	if (rtv_ratelimit_ok(&c->tt->rl, &suppressed)) {
		if (suppressed)
			snprintf(more, sizeof(more), " (%llu lines suppressed)",
				 (unsigned long long)suppressed);
		rtv_warn(MOD, "raft tls: %s %s peer %s: %s%s",
			 refusal ? "refused" : "lost", c->outbound ? "dialed" : "incoming",
			 c->peer, why, more);
	}
	conn_close(c);
}

static void conn_refuse(struct conn *c, enum cons_tls_refusal reason, const char *why)
{
	conn_drop(c, true, reason, why);
}

/* ------------------------------------------------------------------------- */
/* Connections: I/O                                                           */

struct wreq {
	uv_write_t w;
	void *buf;
};

static void write_done(uv_write_t *w, int status)
{
	struct wreq *r = (struct wreq *)w;

	(void)status;	/* a failed write shows up as a read error / EOF too */
	free(r->buf);
	free(r);
}

/* Writes buf (malloc'd, owned from here on) to stream. */
static int write_owned(uv_stream_t *s, void *buf, size_t len)
{
	struct wreq *r;
	uv_buf_t b = uv_buf_init(buf, (unsigned)len);

	r = malloc(sizeof(*r));
	if (!r) {
		free(buf);
		return -ENOMEM;
	}
	r->buf = buf;
	if (uv_write(&r->w, s, &b, 1, write_done) != 0) {
		free(buf);
		free(r);
		return -EIO;
	}
	return 0;
}

/* Sends whatever the TLS session has produced. */
static int flush_tls(struct conn *c)
{
	void *buf;
	size_t len;
	int rc = pki_tls_take_output(c->tls, &buf, &len);

	if (rc != 0 || len == 0)
		return rc;
	return write_owned((uv_stream_t *)&c->tcp, buf, len);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;

	(void)hint;
	b->base = c->rbuf;
	b->len = sizeof(c->rbuf);
}

/* Plaintext from raft (pipe B) into the session, out to the peer. */
static void pipe_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (n > 0 && c->state == C_OPEN) {
		if (pki_tls_write(c->tls, b->base, (size_t)n) != 0 || flush_tls(c) != 0) {
			rtv_warn(MOD, "raft tls: %s: %s", c->peer, pki_tls_errmsg(c->tls));
			conn_close(c);
		}
	} else if (n < 0 && c->state == C_OPEN) {	/* raft closed its end */
		pki_tls_close_notify(c->tls);
		flush_tls(c);
		conn_close(c);
	}
}

/* Makes the socketpair; pipe A (raft's, allocated with raft_malloc as raft
 * frees it) goes to *out. */
static int open_pair(struct conn *c, uv_stream_t **out)
{
	int fds[2];
	uv_pipe_t *a;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return -errno;
	a = raft_malloc(sizeof(*a));
	if (!a)
		goto err_fds;
	uv_pipe_init(c->tt->loop, a, 0);
	uv_pipe_init(c->tt->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->pipe_open = true;
	if (uv_pipe_open(a, fds[0]) != 0 || uv_pipe_open(&c->pipe, fds[1]) != 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, pipe_read_cb) != 0) {
		uv_close((uv_handle_t *)a, (uv_close_cb)raft_free);
		return -EIO;	/* fds now belong to the pipes */
	}
	*out = (uv_stream_t *)a;
	return 0;
err_fds:
	close(fds[0]);
	close(fds[1]);
	return -ENOMEM;
}

/* Decrypted bytes towards raft. */
static int to_raft(struct conn *c, const void *data, size_t len)
{
	void *copy;

	if (len == 0)
		return 0;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	return write_owned((uv_stream_t *)&c->pipe, copy, len);
}

static void go_open(struct conn *c, const unsigned char *extra, size_t n_extra,
		    raft_id id, const char *addr)
{
	uv_stream_t *a = NULL;

	if (open_pair(c, &a) != 0) {
		rtv_warn(MOD, "raft tls: %s: cannot make a socketpair", c->peer);
		conn_close(c);
		return;
	}
	uv_timer_stop(&c->timer);
	c->state = C_OPEN;
	if (c->outbound) {
		raft_uv_connect_cb cb = c->cb;

		c->cb = NULL;
		cb(c->req, a, 0);
	} else {
		c->tt->accept_cb(c->tt->t, id, addr, a);
		if (to_raft(c, extra, n_extra) != 0)
			conn_close(c);
	}
}

/* Inbound: the preamble, checked against the certificate's host id. */
static void on_preamble(struct conn *c, const unsigned char *data, size_t len)
{
	const struct pki_peer *peer = pki_tls_peer(c->tls);
	char addr[CONS_ADDR_MAX], why[160];
	size_t take = sizeof(c->pre) - c->pre_len, used = 0;
	uint64_t id = 0;
	int rc;

	if (take > len)
		take = len;
	memcpy(c->pre + c->pre_len, data, take);
	c->pre_len += take;
	rc = cons_tls_preamble_decode(c->pre, c->pre_len, &id, addr, &used);
	if (rc == -EAGAIN && c->pre_len < sizeof(c->pre))
		return;
	if (rc != 0) {
		conn_refuse(c, CONS_TLS_R_PREAMBLE, "no valid Raft preamble after the TLS handshake");
		return;
	}
	if (id != peer->host_id) {
		snprintf(why, sizeof(why), "its certificate names %.64s but it claims Raft id %llu",
			 peer->name, (unsigned long long)id);
		conn_refuse(c, CONS_TLS_R_ID_MISMATCH, why);
		return;
	}
	rtv_debug(MOD, "raft tls: accepted %s (%s)", c->peer, peer->name);
	/* what followed the preamble in this read is raft's first bytes */
	go_open(c, c->pre + used, c->pre_len - used, id, addr);
	if (c->state == C_OPEN && take < len && to_raft(c, data + take, len - take) != 0)
		conn_close(c);
}

static void handshake_done(struct conn *c)
{
	const struct pki_peer *peer = pki_tls_peer(c->tls);
	unsigned char pre[CONS_TLS_PREAMBLE_FIXED + CONS_ADDR_MAX];
	char why[160];
	size_t len;

	if (peer->kind != PKI_KIND_HOST || (c->outbound && peer->host_id != c->expect_id)) {
		snprintf(why, sizeof(why), "certificate CN=%.64s is not the agent of a host%s",
			 peer->name, c->outbound ? " we dialed" : "");
		conn_refuse(c, CONS_TLS_R_NOT_HOST, why);
		return;
	}
	if (!c->outbound) {
		c->state = C_PREAMBLE;
		return;
	}
	if (cons_tls_preamble_encode(c->tt->id, c->tt->address, pre, sizeof(pre), &len) != 0 ||
	    pki_tls_write(c->tls, pre, len) != 0 || flush_tls(c) != 0) {
		rtv_warn(MOD, "raft tls: %s: cannot send the preamble", c->peer);
		conn_close(c);
		return;
	}
	rtv_debug(MOD, "raft tls: connected to %s (%s)", c->peer, peer->name);
	go_open(c, NULL, 0, 0, NULL);
}

/* Drains decrypted bytes: to the preamble parser or to raft. */
static void drain(struct conn *c)
{
	unsigned char buf[16384];
	ssize_t n;

	while (c->state == C_PREAMBLE || c->state == C_OPEN) {
		n = pki_tls_read(c->tls, buf, sizeof(buf));
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				rtv_warn(MOD, "raft tls: %s: %s", c->peer, pki_tls_errmsg(c->tls));
			conn_close(c);
			return;
		}
		if (c->state == C_PREAMBLE)
			on_preamble(c, buf, (size_t)n);
		else if (to_raft(c, buf, (size_t)n) != 0)
			conn_close(c);
	}
}

static void tcp_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	int rc;

	if (n < 0 || c->state == C_CLOSING) {
		if (n < 0 && c->state == C_HANDSHAKE)
			conn_drop(c, false, CONS_TLS_R_NOT_TLS,
				  "closed the connection during the TLS handshake");
		else
			conn_close(c);
		return;
	}
	c->progress = c->progress || n > 0;
	rc = pki_tls_feed(c->tls, b->base, (size_t)n);
	if (rc != 0) {
		conn_close(c);
		return;
	}
	if (c->state == C_HANDSHAKE) {
		rc = pki_tls_handshake(c->tls);
		flush_tls(c);	/* alerts too: the peer learns why */
		if (rc == -EAGAIN)
			return;
		if (rc != 0) {	/* an incoming peer that cannot authenticate is refused */
			conn_drop(c, rc == -EACCES || (!c->outbound && rc != -ECONNREFUSED),
				  from_pki(pki_tls_refusal(c->tls)), pki_tls_errmsg(c->tls));
			return;
		}
		handshake_done(c);
	}
	drain(c);
}

/* A connection must finish its handshake and preamble within HANDSHAKE_MS,
 * extended (at most MAX_EXTEND times) while bytes keep arriving: a loop
 * stalled by raft_uv's synchronous disk work or a busy machine delays an
 * honest peer, a silent one is cut. And since libuv runs due timers before
 * it polls for I/O, a timer that fires after a stall gives the bytes that
 * may be waiting in the socket one more turn of the loop (GRACE_MS). */
static void timer_cb(uv_timer_t *h)
{
	struct conn *c = h->data;

	if (c->progress && c->extended < MAX_EXTEND) {
		c->progress = false;
		c->grace = false;
		c->extended++;
		uv_timer_start(&c->timer, timer_cb, HANDSHAKE_MS, 0);
		return;
	}
	if (!c->grace) {
		c->grace = true;
		uv_timer_start(&c->timer, timer_cb, GRACE_MS, 0);
		return;
	}
	if (c->state == C_DIALING)
		conn_drop(c, false, CONS_TLS_R_TIMEOUT, "no TCP connection within 5 s");
	else
		conn_refuse(c, CONS_TLS_R_TIMEOUT, "no TLS handshake and Raft preamble within 5 s");
}

static struct conn *conn_new(struct tt *tt, bool outbound, raft_id expect_id)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tt = tt;
	c->outbound = outbound;
	c->expect_id = expect_id;
	if (pki_tls_new(tt->creds, outbound ? PKI_CLIENT : PKI_SERVER, expect_id,
			&c->tls) != 0) {
		free(c);
		return NULL;
	}
	uv_tcp_init(tt->loop, &c->tcp);
	uv_timer_init(tt->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->next = tt->conns;
	if (tt->conns)
		tt->conns->prev = c;
	tt->conns = c;
	uv_timer_start(&c->timer, timer_cb, HANDSHAKE_MS, 0);
	return c;
}

/* Starts the handshake of a connected TCP socket. */
static void conn_start(struct conn *c)
{
	uv_tcp_nodelay(&c->tcp, 1);
	c->state = C_HANDSHAKE;
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, tcp_read_cb) != 0) {
		conn_close(c);
		return;
	}
	if (c->outbound) {	/* the client speaks first */
		int rc = pki_tls_handshake(c->tls);

		if (rc != -EAGAIN || flush_tls(c) != 0)
			conn_close(c);
	}
}

/* ------------------------------------------------------------------------- */
/* The transport's methods                                                    */

static int parse_addr(const char *address, struct sockaddr_in *sa)
{
	char host[CONS_ADDR_MAX];
	const char *colon = strrchr(address, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - address) >= sizeof(host))
		return -EINVAL;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	return uv_ip4_addr(host, (int)port, sa) == 0 ? 0 : -EINVAL;
}

static void peer_name(struct conn *c)
{
	struct sockaddr_in sa;
	int len = sizeof(sa);
	char ip[32] = "?";

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
		uv_ip4_name(&sa, ip, sizeof(ip));
	snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
}

static int tt_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	struct tt *tt = t->impl;

	tt->id = id;
	tt->address = address;
	return 0;
}

static void on_incoming(uv_stream_t *server, int status)
{
	struct tt *tt = server->data;
	struct conn *c;

	if (status != 0 || tt->closing)
		return;
	c = conn_new(tt, false, 0);
	if (!c)
		return;	/* the connection stays in the backlog until memory returns */
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	peer_name(c);
	conn_start(c);
}

static int tt_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct tt *tt = t->impl;
	struct sockaddr_in sa;

	if (parse_addr(tt->address, &sa) != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "raft address %s is not ip:port",
			 tt->address);
		return RAFT_INVALID;
	}
	tt->accept_cb = cb;
	uv_tcp_init(tt->loop, &tt->listener);
	tt->listener.data = tt;
	tt->listener_open = true;
	if (uv_tcp_bind(&tt->listener, (struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&tt->listener, 64, on_incoming) != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "cannot listen on %s", tt->address);
		return RAFT_IOERR;
	}
	return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (c->state == C_CLOSING)
		return;
	if (status != 0) {
		conn_close(c);	/* raft retries; it logs nothing for a refused dial */
		return;
	}
	conn_start(c);
}

static int tt_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
		      const char *address, raft_uv_connect_cb cb)
{
	struct tt *tt = t->impl;
	struct sockaddr_in sa;
	struct conn *c;

	if (parse_addr(address, &sa) != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "raft address %s is not ip:port", address);
		return RAFT_NOCONNECTION;
	}
	c = conn_new(tt, true, id);
	if (!c)
		return RAFT_NOMEM;
	snprintf(c->peer, sizeof(c->peer), "%s", address);
	c->req = req;
	c->cb = cb;
	c->state = C_DIALING;
	c->connect.data = c;
	if (uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&sa, on_connected) != 0) {
		c->cb = NULL;	/* failing synchronously: raft must not get a callback */
		conn_close(c);
		return RAFT_NOCONNECTION;
	}
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct tt *tt = h->data;

	tt->listener_open = false;
	transport_maybe_closed(tt);
}

static void tt_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct tt *tt = t->impl;
	struct conn *c, *next;

	tt->closing = true;
	tt->close_cb = cb;
	for (c = tt->conns; c; c = next) {
		next = c->next;
		conn_close(c);
	}
	if (tt->listener_open && !uv_is_closing((uv_handle_t *)&tt->listener))
		uv_close((uv_handle_t *)&tt->listener, listener_closed);
	else
		transport_maybe_closed(tt);
}

int cons_tls_transport_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
			    struct pki_creds *creds)
{
	struct tt *tt = calloc(1, sizeof(*tt));

	if (!tt)
		return -ENOMEM;
	tt->t = t;
	tt->loop = loop;
	tt->creds = pki_creds_ref(creds);
	tt->rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(60, 10);
	memset(t, 0, sizeof(*t));
	t->impl = tt;
	t->init = tt_init;
	t->listen = tt_listen;
	t->connect = tt_connect;
	t->close = tt_close;
	return 0;
}

void cons_tls_transport_close(struct raft_uv_transport *t)
{
	struct tt *tt = t->impl;

	if (!tt)
		return;
	pki_creds_free(tt->creds);
	free(tt);
	t->impl = NULL;
}

void cons_tls_transport_set_creds(struct raft_uv_transport *t, struct pki_creds *creds)
{
	struct tt *tt = t->impl;
	struct pki_creds *old = tt->creds;

	tt->creds = pki_creds_ref(creds);
	pki_creds_free(old);	/* sessions still using it hold their own reference */
}

uint64_t cons_tls_transport_refused(const struct raft_uv_transport *t,
				    uint64_t by[CONS_TLS_R_N])
{
	const struct tt *tt = t->impl;

	for (int i = 0; by && i < CONS_TLS_R_N; i++)
		by[i] = tt ? tt->refused_by[i] : 0;
	return tt ? tt->refused : 0;
}
