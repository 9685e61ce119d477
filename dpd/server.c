/* server.c — rtvdp's end of the channel (dpd_engine.h, "The server").
 *
 * A poll loop on the control thread over the listening socket and up to
 * DPD_CONNS_MAX connections (rtvd, and a tool or a second rtvd for a
 * moment while the first one's socket closes). Each whole frame is one
 * request, answered at once: nothing here waits for the engine. Sends
 * block for at most a second (SO_SNDTIMEO) so a stuck peer cannot hold the
 * control thread; the engine's threads forward meanwhile regardless.
 */
#include "dpd/dpd_engine.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define MOD "rtvdp"
#define VERSION "rtvdp 1"

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dpd_server_init(struct dpd_server *s, struct dpd_engine *e, int lfd, uint64_t host_id,
		     uint64_t uplink_bps)
{
	memset(s, 0, sizeof(*s));
	s->e = e;
	s->lfd = lfd;
	s->host_id = host_id;
	s->uplink_bps = uplink_bps;
	s->started_ns = real_ns();
	s->takeover = -1;
	for (int i = 0; i < DPD_CONNS_MAX; i++)
		s->c[i].fd = -1;
}

void dpd_server_state(const struct dpd_server *s, struct dpd_state *o)
{
	const struct dpd_engine *e = s->e;

	memset(o, 0, sizeof(*o));
	o->host_id = s->host_id;
	o->uplink_bps = s->uplink_bps;
	o->pid = (uint32_t)getpid();
	o->mode = s->mode;
	o->started_ns = s->started_ns;
	o->takeovers = s->takeovers;
	o->gen = e->gen;
	o->index = e->has_table ? e->cur.index : 0;
	if (dp_rcu_current(&e->rcu)) {
		o->n_tx = dp_table_count(dp_rcu_current(&e->rcu), DP_TX);
		o->n_rx = dp_table_count(dp_rcu_current(&e->rcu), DP_RX);
	}
	o->misses_kept = e->backlog.n;
	o->misses_dropped = e->backlog.dropped;
	o->next_seq = e->backlog.first_seq + e->backlog.n;
	snprintf(o->version, sizeof(o->version), "%s", VERSION);
}

static void conn_close(struct dpd_conn *c, const char *why)
{
	if (c->fd < 0)
		return;
	rtv_info(MOD, "channel: %s (pid %u) gone: %s", c->name[0] ? c->name : "peer", c->pid, why);
	close(c->fd);
	dpd_rbuf_close(&c->rb);
	c->fd = -1;
	c->greeted = false;
	c->name[0] = '\0';
}

static int reply(struct dpd_server *s, struct dpd_conn *c, struct dpd_msg *m, uint64_t re)
{
	char err[CONS_ERRLEN] = "";
	int rc;

	m->seq = ++s->seq;
	m->re = re;
	if ((rc = dpd_send(c->fd, m, err)) < 0)
		conn_close(c, err);
	return rc;
}

static int refuse(struct dpd_server *s, struct dpd_conn *c, uint64_t re, int code,
		  const char *msg)
{
	struct dpd_msg m = { .type = DPD_T_ERROR };

	s->refused++;
	m.u.error.code = code;
	snprintf(m.u.error.msg, sizeof(m.u.error.msg), "%s", msg);
	return reply(s, c, &m, re);
}

static void on_hello(struct dpd_server *s, int i, const struct dpd_msg *q)
{
	struct dpd_conn *c = &s->c[i];
	struct dpd_msg m = { .type = DPD_T_STATE };
	char why[CONS_ERRLEN];

	if (q->u.hello.host_id != s->host_id) {
		snprintf(why, sizeof(why), "this rtvdp forwards for host %llu, not host %llu: "
			 "check [node] id in both configurations", (unsigned long long)s->host_id,
			 (unsigned long long)q->u.hello.host_id);
		rtv_error(MOD, "channel: refused %s (pid %u): %s", q->u.hello.name, c->pid, why);
		refuse(s, c, q->seq, -EINVAL, why);
		conn_close(c, "wrong host");
		return;
	}
	c->greeted = true;
	snprintf(c->name, sizeof(c->name), "%s", q->u.hello.name);
	if (q->type == DPD_T_TAKEOVER) {
		s->takeover = i;
		return;
	}
	rtv_info(MOD, "channel: %s (pid %u) connected; table generation %llu at Raft index "
		 "%llu in force, %zu miss reports kept", c->name, c->pid,
		 (unsigned long long)s->e->gen,
		 (unsigned long long)(s->e->has_table ? s->e->cur.index : 0), s->e->backlog.n);
	dpd_server_state(s, &m.u.state);
	reply(s, c, &m, q->seq);
}

static void on_table(struct dpd_server *s, struct dpd_conn *c, const struct dpd_msg *q)
{
	struct dpd_msg m = { .type = DPD_T_TABLE_OK };
	char err[CONS_ERRLEN] = "";
	int rc = dpd_engine_set_table(s->e, &q->u.table, &m.u.table_ok, err);

	if (rc < 0) {
		rtv_warn(MOD, "table from %s refused: %s", c->name, err);
		refuse(s, c, q->seq, rc, err);
		return;
	}
	rtv_debug(MOD, "table generation %llu (Raft index %llu): %llu sent, %llu received",
		  (unsigned long long)m.u.table_ok.gen, (unsigned long long)m.u.table_ok.index,
		  (unsigned long long)m.u.table_ok.n_tx, (unsigned long long)m.u.table_ok.n_rx);
	reply(s, c, &m, q->seq);
}

static void on_misses(struct dpd_server *s, struct dpd_conn *c, const struct dpd_msg *q)
{
	static struct dp_miss_report r[DPD_MISSES_MAX];	/* control thread only */
	struct dpd_msg m = { .type = DPD_T_MISSES };
	struct dpd_backlog *b = &s->e->backlog;

	dpd_backlog_ack(b, q->u.misses_get.ack);
	m.u.misses.n = dpd_backlog_peek(b, r, q->u.misses_get.max, &m.u.misses.first_seq);
	m.u.misses.r = r;
	m.u.misses.dropped = b->dropped;
	reply(s, c, &m, q->seq);
}

static void on_stats(struct dpd_server *s, struct dpd_conn *c, const struct dpd_msg *q)
{
	struct dpd_msg m;

	if (dpd_engine_stats(s->e, &m) < 0) {
		refuse(s, c, q->seq, -ENOMEM, "out of memory reading the counters");
		return;
	}
	reply(s, c, &m, q->seq);
	dpd_msg_free(&m);
}

static void dispatch(struct dpd_server *s, int i, const struct dpd_msg *q)
{
	struct dpd_conn *c = &s->c[i];
	char why[CONS_ERRLEN];

	s->requests++;
	if (!c->greeted && q->type != DPD_T_HELLO && q->type != DPD_T_TAKEOVER) {
		refuse(s, c, q->seq, -EPROTO, "say hello first");
		conn_close(c, "spoke before hello");
		return;
	}
	switch (q->type) {
	case DPD_T_HELLO:
	case DPD_T_TAKEOVER:
		on_hello(s, i, q);
		return;
	case DPD_T_TABLE:
		on_table(s, c, q);
		return;
	case DPD_T_MISSES_GET:
		on_misses(s, c, q);
		return;
	case DPD_T_STATS_GET:
		on_stats(s, c, q);
		return;
	default:
		snprintf(why, sizeof(why), "rtvdp takes no \"%s\"", dpd_type_name(q->type));
		refuse(s, c, q->seq, -EPROTO, why);
	}
}

/* Reads what the connection has and answers every whole request. */
static void conn_read(struct dpd_server *s, int i)
{
	struct dpd_conn *c = &s->c[i];
	uint8_t chunk[65536];
	const uint8_t *body;
	size_t len;
	ssize_t r = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	int rc;

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c, r == 0 ? "closed" : strerror(errno));
		return;
	}
	if (r < 0 || dpd_rbuf_feed(&c->rb, chunk, (size_t)r) < 0)
		return;
	while (c->fd >= 0 && s->takeover < 0 && (rc = dpd_rbuf_next(&c->rb, &body, &len)) != 0) {
		struct dpd_msg q;
		char err[CONS_ERRLEN] = "";

		if (rc < 0) {
			conn_close(c, "a frame of a bad length: not the rtvdp channel");
			return;
		}
		if ((rc = dpd_msg_decode(body, len, &q, err)) < 0) {
			rtv_warn(MOD, "channel: bad message from %s (pid %u): %s",
				 c->name[0] ? c->name : "peer", c->pid, err);
			refuse(s, c, 0, rc, err);
			conn_close(c, "bad message");
			return;
		}
		dispatch(s, i, &q);
		dpd_msg_free(&q);
	}
}

static void accept_one(struct dpd_server *s)
{
	struct timeval tv = { .tv_sec = 1 };
	char err[CONS_ERRLEN] = "";
	uint32_t pid = 0;
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC), i;

	if (fd < 0)
		return;
	if (dpd_peer_ok(fd, &pid, err) < 0) {
		rtv_warn(MOD, "%s", err);
		close(fd);
		return;
	}
	for (i = 0; i < DPD_CONNS_MAX && s->c[i].fd >= 0; i++)
		;
	if (i == DPD_CONNS_MAX) {
		rtv_warn(MOD, "channel: refused pid %u: %d connections already", pid,
			 DPD_CONNS_MAX);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	s->c[i].fd = fd;
	s->c[i].pid = pid;
	dpd_rbuf_init(&s->c[i].rb);
}

int dpd_server_poll(struct dpd_server *s, int timeout_ms)
{
	struct pollfd p[DPD_CONNS_MAX + 1];
	int idx[DPD_CONNS_MAX + 1], n = 0;

	p[n] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	idx[n++] = -1;
	for (int i = 0; i < DPD_CONNS_MAX; i++)
		if (s->c[i].fd >= 0) {
			p[n] = (struct pollfd){ .fd = s->c[i].fd, .events = POLLIN };
			idx[n++] = i;
		}
	if (poll(p, (nfds_t)n, timeout_ms) <= 0)
		return 0;
	for (int k = 0; k < n && s->takeover < 0; k++) {
		if (!p[k].revents)
			continue;
		if (idx[k] < 0)
			accept_one(s);
		else
			conn_read(s, idx[k]);
	}
	return s->takeover >= 0;
}

void dpd_server_close(struct dpd_server *s)
{
	for (int i = 0; i < DPD_CONNS_MAX; i++)
		conn_close(&s->c[i], "rtvdp stopping");
}
