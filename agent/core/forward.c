/* forward.c — req sockets to other agents (see forward.h).
 *
 * A request's life: nng_ctx_send on a fresh context of the peer's socket,
 * then nng_ctx_recv on the same context, each step's completion posted to
 * the loop through the loop queue; the context is closed when the reply (or an
 * error) is handed to the caller. The deadline covers both steps.
 */
#include "agent/core/forward.h"

#include <errno.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rpc/proto.h"
#include "common/log.h"
#include "pki/pki.h"

#define RECONNECT_MIN_MS 20	/* a restarted leader is found again quickly */
#define RECONNECT_MAX_MS 500

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct agent_fwd_peer *peer = arg;

	(void)p;
	atomic_fetch_add(&peer->pipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

/* Dials url in the background; a tls+tcp:// peer must prove with the rack
 * CA's certificate that it is rtvd-host-<id>, and sees this host's. */
static int dial(struct agent_fwd *f, struct agent_fwd_peer *peer, uint64_t id, const char *url)
{
	nng_tls_config *tls = NULL;
	char err[PKI_ERRLEN];
	int rv;

	if (strncmp(url, "tls+tcp://", 10) != 0)
		return agent_nng_errno(nng_dial(peer->sock, url, NULL, NNG_FLAG_NONBLOCK));
	if (!f->tls_ca) {
		rtv_warn("agent", "agent %llu is at %s, but this agent has no [tls] certificates",
			 (unsigned long long)id, url);
		return -EPROTONOSUPPORT;
	}
	rv = pki_nng_tls_config(f->tls_ca, f->tls_cert, f->tls_key, false, id, &tls, err);
	if (rv < 0) {
		rtv_warn("agent", "TLS towards agent %llu: %s", (unsigned long long)id, err);
		return rv;
	}
	return agent_nng_errno(pki_nng_dial(nng_socket_id(peer->sock), url, tls,
					     NNG_FLAG_NONBLOCK));
}

static int peer_open(struct agent_fwd *f, struct agent_fwd_peer *peer, uint64_t id,
		     const char *url)
{
	int rv;

	rv = nng_req0_open(&peer->sock);
	if (rv)
		return agent_nng_errno(rv);
	atomic_store(&peer->pipes, 0);
	nng_socket_set_size(peer->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG_BYTES);
	nng_socket_set_ms(peer->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS);
	nng_socket_set_ms(peer->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS);
	/* our own deadline decides; no silent resends behind it */
	nng_socket_set_ms(peer->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_pipe_notify(peer->sock, NNG_PIPE_EV_ADD_POST, on_pipe, peer);
	nng_pipe_notify(peer->sock, NNG_PIPE_EV_REM_POST, on_pipe, peer);
	rv = dial(f, peer, id, url);
	if (rv) {
		nng_close(peer->sock);
		return rv;
	}
	peer->id = id;
	snprintf(peer->url, sizeof(peer->url), "%s", url);
	peer->in_flight = 0;
	rtv_debug("agent", "dialling agent %llu at %s", (unsigned long long)id, url);
	return 0;
}

static void peer_close(struct agent_fwd_peer *peer)
{
	nng_close(peer->sock);
	peer->id = 0;
	atomic_store(&peer->pipes, 0);
}

/* The peer socket for (id, url): the existing one, a re-dialled one if the
 * agent moved, or a new one in a free (or idle) slot. */
static int peer_get(struct agent_fwd *f, uint64_t id, const char *url,
		    struct agent_fwd_peer **out)
{
	struct agent_fwd_peer *slot = NULL;

	for (size_t i = 0; i < CONS_PEERS_MAX; i++) {
		struct agent_fwd_peer *p = &f->peers[i];

		if (p->id == id && strcmp(p->url, url) == 0) {
			*out = p;
			return 0;
		}
		if (p->id == id && p->in_flight == 0)
			peer_close(p);
		if (!slot && p->id == 0)
			slot = p;
	}
	for (size_t i = 0; !slot && i < CONS_PEERS_MAX; i++) {
		if (f->peers[i].in_flight == 0) {
			slot = &f->peers[i];
			peer_close(slot);
		}
	}
	if (!slot)
		return -ENOSPC;
	*out = slot;
	return peer_open(f, slot, id, url);
}

void agent_fwd_init(struct agent_fwd *f, struct agent_loopq *loopq, const char *tls_ca,
		    const char *tls_cert, const char *tls_key)
{
	memset(f, 0, sizeof(*f));
	f->loopq = loopq;
	if (tls_ca && tls_ca[0]) {
		f->tls_ca = tls_ca;
		f->tls_cert = tls_cert;
		f->tls_key = tls_key;
	}
	for (size_t i = 0; i < CONS_PEERS_MAX; i++)
		atomic_init(&f->peers[i].pipes, 0);
}

int agent_fwd_touch(struct agent_fwd *f, uint64_t id, const char *url)
{
	struct agent_fwd_peer *p;

	if (f->closed)
		return -ESHUTDOWN;
	return peer_get(f, id, url, &p);
}

bool agent_fwd_reachable(const struct agent_fwd *f, uint64_t id)
{
	for (size_t i = 0; i < CONS_PEERS_MAX; i++) {
		if (f->peers[i].id == id && atomic_load(&f->peers[i].pipes) > 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------- */
/* Requests                                                                  */

static void on_aio(void *arg)
{
	struct agent_fwd_op *op = arg;

	agent_loopq_post(op->fwd->loopq, &op->item);
}

static void op_unlink(struct agent_fwd_op *op)
{
	struct agent_fwd *f = op->fwd;

	if (op->prev)
		op->prev->next = op->next;
	else
		f->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
	op->in_flight = false;
	op->peer->in_flight--;
	nng_ctx_close(op->ctx);
}

static void op_finish(struct agent_fwd_op *op, int rv)
{
	nng_msg *msg = nng_aio_get_msg(op->aio);
	agent_fwd_cb cb = op->cb;
	void *arg = op->arg;
	int status = agent_nng_errno(rv);

	nng_aio_set_msg(op->aio, NULL);
	op_unlink(op);
	if (op->fwd->closed && status)
		status = -ESHUTDOWN;
	/* op is idle now: cb may send with it again */
	if (status == 0)
		cb(arg, 0, nng_msg_body(msg), nng_msg_len(msg));
	else
		cb(arg, status, NULL, 0);
	if (msg)
		nng_msg_free(msg);
}

static void on_item(struct agent_loopq_item *item)
{
	struct agent_fwd_op *op = (struct agent_fwd_op *)((char *)item -
							  offsetof(struct agent_fwd_op, item));
	int rv = nng_aio_result(op->aio);
	uint64_t now = now_ms();

	if (rv == 0 && !op->receiving) {
		/* sent: the message is nng's now */
		nng_aio_set_msg(op->aio, NULL);
		if (op->fwd->closed || op->cancelled) {
			op_finish(op, op->fwd->closed ? NNG_ECLOSED : NNG_ECANCELED);
			return;
		}
		op->receiving = true;
		nng_aio_set_timeout(op->aio, op->deadline_ms > now
						     ? (nng_duration)(op->deadline_ms - now) : 1);
		nng_ctx_recv(op->ctx, op->aio);
		return;
	}
	op_finish(op, rv);
}

void agent_fwd_op_init(struct agent_fwd_op *op)
{
	memset(op, 0, sizeof(*op));
	op->item.fn = on_item;
}

void agent_fwd_op_close(struct agent_fwd_op *op)
{
	if (op->aio)
		nng_aio_free(op->aio);
	op->aio = NULL;
}

static int op_start(struct agent_fwd_op *op, const void *req, size_t len, unsigned timeout_ms)
{
	nng_msg *msg;
	int rv;

	if (!op->aio && (rv = nng_aio_alloc(&op->aio, on_aio, op)) != 0)
		return agent_nng_errno(rv);
	rv = nng_ctx_open(&op->ctx, op->peer->sock);
	if (rv)
		return agent_nng_errno(rv);
	rv = nng_msg_alloc(&msg, 0);
	if (rv == 0)
		rv = nng_msg_append(msg, req, len);
	if (rv) {
		if (msg)
			nng_msg_free(msg);
		nng_ctx_close(op->ctx);
		return agent_nng_errno(rv);
	}
	op->deadline_ms = now_ms() + timeout_ms;
	op->receiving = false;
	op->cancelled = false;
	nng_aio_set_msg(op->aio, msg);
	nng_aio_set_timeout(op->aio, (nng_duration)timeout_ms);
	nng_ctx_send(op->ctx, op->aio);
	return 0;
}

int agent_fwd_send(struct agent_fwd *f, struct agent_fwd_op *op, uint64_t id, const char *url,
		   const void *req, size_t len, unsigned timeout_ms, agent_fwd_cb cb, void *arg)
{
	int rc;

	if (f->closed)
		return -ESHUTDOWN;
	if (op->in_flight)
		return -EBUSY;
	op->fwd = f;
	op->item.fn = on_item;
	rc = peer_get(f, id, url, &op->peer);
	if (rc < 0)
		return rc;
	op->cb = cb;
	op->arg = arg;
	rc = op_start(op, req, len, timeout_ms);
	if (rc < 0)
		return rc;
	op->in_flight = true;
	op->peer->in_flight++;
	op->next = f->ops;
	op->prev = NULL;
	if (f->ops)
		f->ops->prev = op;
	f->ops = op;
	return 0;
}

void agent_fwd_cancel_others(struct agent_fwd *f, uint64_t keep_id,
			     bool (*may_cancel)(void *arg))
{
	for (struct agent_fwd_op *op = f->ops; op; op = op->next) {
		if (op->peer->id != keep_id && may_cancel(op->arg)) {
			op->cancelled = true;
			nng_aio_cancel(op->aio);
		}
	}
}

void agent_fwd_close(struct agent_fwd *f)
{
	f->closed = true;
	for (struct agent_fwd_op *op = f->ops; op; op = op->next)
		nng_aio_cancel(op->aio);
	for (struct agent_fwd_op *op = f->ops; op; op = op->next)
		nng_aio_wait(op->aio);
	for (size_t i = 0; i < CONS_PEERS_MAX; i++) {
		if (f->peers[i].id)
			peer_close(&f->peers[i]);
	}
}
