/* chan_io.c — frames on the channel's Unix stream socket (dpd.h).
 *
 * A stream socket rather than SOCK_SEQPACKET: a table of many rtpaths is
 * larger than the socket's send buffer and must be able to cross in
 * pieces, and rtvd reads it from a libuv pipe, which is a stream. The
 * 4-byte length header gives the boundaries back.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* Receive buffer                                                            */

void dpd_rbuf_init(struct dpd_rbuf *rb)
{
	memset(rb, 0, sizeof(*rb));
}

void dpd_rbuf_close(struct dpd_rbuf *rb)
{
	free(rb->buf);
	memset(rb, 0, sizeof(*rb));
}

/* Drops the frame handed out last (its body stayed valid until now). */
static void rbuf_compact(struct dpd_rbuf *rb)
{
	if (!rb->done)
		return;
	memmove(rb->buf, rb->buf + rb->done, rb->len - rb->done);
	rb->len -= rb->done;
	rb->done = 0;
}

int dpd_rbuf_feed(struct dpd_rbuf *rb, const void *data, size_t n)
{
	rbuf_compact(rb);
	if (n == 0)
		return 0;
	if (rb->len + n > rb->cap) {
		size_t cap = rb->cap ? rb->cap : 4096;
		uint8_t *b;

		while (cap < rb->len + n)
			cap *= 2;
		if (!(b = realloc(rb->buf, cap)))
			return -ENOMEM;
		rb->buf = b;
		rb->cap = cap;
	}
	memcpy(rb->buf + rb->len, data, n);
	rb->len += n;
	return 0;
}

int dpd_rbuf_next(struct dpd_rbuf *rb, const uint8_t **body, size_t *len)
{
	uint32_t n;

	rbuf_compact(rb);
	if (rb->len < DPD_HDR_BYTES)
		return 0;
	n = (uint32_t)rb->buf[0] << 24 | (uint32_t)rb->buf[1] << 16 |
	    (uint32_t)rb->buf[2] << 8 | rb->buf[3];
	if (n == 0 || n > DPD_FRAME_MAX)
		return -EMSGSIZE;
	if (rb->len - DPD_HDR_BYTES < n)
		return 0;
	*body = rb->buf + DPD_HDR_BYTES;
	*len = n;
	rb->done = DPD_HDR_BYTES + (size_t)n;
	return 1;
}

/* ------------------------------------------------------------------------- */
/* Blocking send and receive                                                 */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int write_all(int fd, const uint8_t *p, size_t n, char err[CONS_ERRLEN])
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w < 0)
			return dpd__fail(err, -errno, "channel: send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int dpd_send(int fd, const struct dpd_msg *m, char err[CONS_ERRLEN])
{
	void *buf;
	size_t len;
	int rc = dpd_msg_encode(m, &buf, &len, err);

	if (rc < 0)
		return rc;
	rc = write_all(fd, buf, len, err);
	free(buf);
	return rc;
}

/* Waits for input until the deadline (UINT64_MAX: none). */
static int wait_in(int fd, uint64_t deadline_ms, char err[CONS_ERRLEN])
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do {
		uint64_t now = mono_ms();
		int ms = deadline_ms == UINT64_MAX ? -1
			 : now >= deadline_ms ? 0 : (int)(deadline_ms - now);

		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return dpd__fail(err, -ETIMEDOUT, "channel: no answer in time");
	return r < 0 ? dpd__fail(err, -errno, "channel: poll: %s", strerror(errno)) : 0;
}

int dpd_recv(int fd, struct dpd_rbuf *rb, struct dpd_msg *m, int timeout_ms,
	     char err[CONS_ERRLEN])
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : mono_ms() + (uint64_t)timeout_ms;
	uint8_t chunk[65536];

	for (;;) {
		const uint8_t *body;
		size_t len;
		ssize_t r;
		int rc = dpd_rbuf_next(rb, &body, &len);

		if (rc == 1)
			return dpd_msg_decode(body, len, m, err);
		if (rc < 0)
			return dpd__fail(err, rc, "channel: a frame header announces 0 or more "
					 "than %u bytes", DPD_FRAME_MAX);
		if ((rc = wait_in(fd, deadline, err)) < 0)
			return rc;
		r = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (r == 0)
			return dpd__fail(err, -ECONNRESET, "channel: the peer closed it");
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return dpd__fail(err, -errno, "channel: recv: %s", strerror(errno));
		if (dpd_rbuf_feed(rb, chunk, (size_t)r) < 0)
			return dpd__fail(err, -ENOMEM, "channel: out of memory");
	}
}

/* ------------------------------------------------------------------------- */
/* Sockets                                                                   */

static int addr_of(const char *path, struct sockaddr_un *sa, char err[CONS_ERRLEN])
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof(sa->sun_path))
		return dpd__fail(err, -ENAMETOOLONG, "channel: socket path '%s' is empty or "
				 "longer than %zu bytes", path ? path : "", sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int dpd_connect(const char *path, char err[CONS_ERRLEN])
{
	struct sockaddr_un sa;
	int fd, rc;

	if ((rc = addr_of(path, &sa, err)) < 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return dpd__fail(err, -errno, "channel: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return dpd__fail(err, rc, "channel: cannot connect to %s: %s%s", path,
				 strerror(-rc), rc == -ENOENT || rc == -ECONNREFUSED ?
				 " (is rtvdp running?)" : "");
	}
	return fd;
}

int dpd_listen(const char *path, char err[CONS_ERRLEN])
{
	struct sockaddr_un sa;
	int fd, rc, probe;

	if ((rc = addr_of(path, &sa, err)) < 0)
		return rc;
	/* a socket file someone still listens on is theirs: never steal it */
	if ((probe = dpd_connect(path, NULL)) >= 0) {
		close(probe);
		return dpd__fail(err, -EADDRINUSE, "channel: %s is in use by a running rtvdp "
				 "(take over from it with --takeover)", path);
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return dpd__fail(err, -errno, "channel: socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 8) < 0) {
		rc = -errno;
		close(fd);
		return dpd__fail(err, rc, "channel: cannot listen on %s: %s", path, strerror(-rc));
	}
	return fd;
}

int dpd_peer_ok(int fd, uint32_t *pid, char err[CONS_ERRLEN])
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return dpd__fail(err, -errno, "channel: SO_PEERCRED: %s", strerror(errno));
	if (pid)
		*pid = (uint32_t)uc.pid;
	if (uc.uid != 0 && uc.uid != getuid())
		return dpd__fail(err, -EPERM, "channel: refused pid %d of uid %u: only root or "
				 "uid %u may drive the dataplane", (int)uc.pid, (unsigned)uc.uid,
				 (unsigned)getuid());
	return 0;
}
