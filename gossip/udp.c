/* udp.c — the real transport: one UDP socket and one timer on a libuv loop.
 *
 * Datagrams leave with uv_udp_try_send: no queue, no callback, no
 * allocation; a full socket buffer drops the datagram (counted by gossip as
 * a send error), which the protocol tolerates as it tolerates loss. Every
 * received datagram and every timer expiry ends by re-arming the one timer
 * at the deadline gossip_tick returns. Time is uv_hrtime (monotonic);
 * randomness arc4random (the kernel's generator through glibc).
 */
#include "gossip/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

struct gossip_udp {
	uv_udp_t sock;
	uv_timer_t timer;
	struct gossip *g;
	struct gossip_ops user;		/* the caller's seal/open/on_change */
	int open_handles;
	uint8_t rx[65536];
};

static uint64_t udp_now(void *data)
{
	(void)data;
	return uv_hrtime();
}

static uint64_t udp_random(void *data)
{
	(void)data;
	return (uint64_t)arc4random() << 32 | arc4random();
}

static int udp_send(void *data, const struct gossip_addr *to, const void *buf, size_t len)
{
	struct gossip_udp *u = data;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(to->port),
				  .sin_addr.s_addr = htonl(to->ip) };
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int rc = uv_udp_try_send(&u->sock, &b, 1, (const struct sockaddr *)&sa);

	return rc < 0 ? rc : 0;		/* libuv errors are negative errnos */
}

static uint64_t udp_wall_ns(void *data)
{
	struct timespec ts;

	(void)data;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void udp_change(void *data, const struct gossip_member *m, enum gossip_state old)
{
	struct gossip_udp *u = data;

	u->user.on_change(u->user.data, m, old);
}

static void on_timer(uv_timer_t *t);

static void rearm(struct gossip_udp *u)
{
	uint64_t next = gossip_tick(u->g), now = uv_hrtime();
	uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 0;

	uv_timer_start(&u->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	rearm(t->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct gossip_udp *u = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)u->rx, sizeof(u->rx));
}

static void on_recv(uv_udp_t *s, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	struct gossip_udp *u = s->data;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)addr;
	struct gossip_addr from;

	if (nread <= 0 || !addr || addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL))
		return;
	from.ip = ntohl(sa->sin_addr.s_addr);
	from.port = ntohs(sa->sin_port);
	gossip_recv(u->g, &from, buf->base, (size_t)nread);
	rearm(u);
}

static void on_closed(uv_handle_t *h)
{
	struct gossip_udp *u = h->data;

	if (--u->open_handles == 0) {
		gossip_free(u->g);
		free(u);
	}
}

static int bind_socket(struct gossip_udp *u, uv_loop_t *loop, const struct gossip_addr *bind,
		       struct gossip_addr *bound, char err[GOSSIP_ERRLEN])
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(bind->port),
				  .sin_addr.s_addr = htonl(bind->ip) };
	struct sockaddr_in got;
	int len = sizeof(got), rc;

	uv_udp_init(loop, &u->sock);
	uv_timer_init(loop, &u->timer);
	u->sock.data = u->timer.data = u;
	u->open_handles = 2;
	rc = uv_udp_bind(&u->sock, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_udp_getsockname(&u->sock, (struct sockaddr *)&got, &len);
	if (rc) {
		snprintf(err, GOSSIP_ERRLEN, "gossip: cannot bind UDP %u.%u.%u.%u:%u: %s",
			 bind->ip >> 24, (bind->ip >> 16) & 0xff, (bind->ip >> 8) & 0xff,
			 bind->ip & 0xff, bind->port, uv_strerror(rc));
		return rc;
	}
	bound->ip = ntohl(got.sin_addr.s_addr);
	bound->port = ntohs(got.sin_port);
	return 0;
}

int gossip_udp_new(uv_loop_t *loop, const struct gossip_config *cfg,
		   const struct gossip_ops *auth_ops, const struct gossip_addr *bind,
		   struct gossip_udp **out, char err[GOSSIP_ERRLEN])
{
	struct gossip_udp *u = calloc(1, sizeof(*u));
	struct gossip_ops ops = { .now_ns = udp_now, .random = udp_random, .send = udp_send };
	struct gossip_config c = *cfg;
	struct gossip_addr bound;
	int rc;

	if (!u)
		return -ENOMEM;
	ops.data = u;
	if (auth_ops) {
		u->user = *auth_ops;
		ops.auth_data = auth_ops->auth_data ? auth_ops->auth_data : auth_ops->data;
		ops.seal_key = auth_ops->seal_key;
		ops.seal = auth_ops->seal;
		ops.open = auth_ops->open;
		ops.wall_ns = auth_ops->wall_ns ? auth_ops->wall_ns
			      : auth_ops->seal ? udp_wall_ns : NULL;
		ops.on_change = auth_ops->on_change ? udp_change : NULL;
	}
	rc = bind_socket(u, loop, bind, &bound, err);
	if (rc == 0 && c.addr.port == 0)
		c.addr.port = bound.port;	/* ephemeral: advertise what we got */
	if (rc == 0)
		rc = gossip_new(&c, &ops, &u->g, err);
	if (rc == 0)
		rc = uv_udp_recv_start(&u->sock, on_alloc, on_recv);
	if (rc) {
		gossip_udp_close(u);
		return rc;
	}
	rearm(u);
	*out = u;
	return 0;
}

struct gossip *gossip_udp_gossip(struct gossip_udp *u)
{
	return u->g;
}

void gossip_udp_close(struct gossip_udp *u)
{
	if (!u)
		return;
	uv_close((uv_handle_t *)&u->sock, on_closed);
	uv_close((uv_handle_t *)&u->timer, on_closed);
}
