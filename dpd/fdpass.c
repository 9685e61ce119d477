/* fdpass.c — handing descriptors from a running rtvdp to the one that takes
 * over (dpd.h, "Descriptor hand-over").
 *
 * The descriptors travel as SCM_RIGHTS ancillary data on the frame's first
 * bytes. What the new process receives are the very sockets the old one
 * had: an AF_PACKET socket keeps queueing frames while nobody reads it, so
 * between the old process's last read and the new one's first, frames wait
 * in the socket's buffer instead of being lost, and the channel's listening
 * socket keeps accepting (a connecting rtvd waits in its backlog).
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int dpd_send_fds(int sock, const struct dpd_msg *m, const int *fds, char err[CONS_ERRLEN])
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DPD_FDS_MAX)];
		struct cmsghdr align;
	} u;
	uint32_t n = m->u.handover.n_fds;
	struct msghdr h = { 0 };
	struct iovec iov;
	struct cmsghdr *c;
	uint8_t *buf;
	size_t len, off = 0;
	int rc;

	if (m->type != DPD_T_HANDOVER)
		return dpd__fail(err, -EINVAL, "fdpass: only a handover carries descriptors");
	if ((rc = dpd_msg_encode(m, (void **)&buf, &len, err)) < 0)
		return rc;
	memset(&u, 0, sizeof(u));
	iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	if (n) {
		h.msg_control = u.buf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	while (off < len) {
		ssize_t w = sendmsg(sock, &h, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = dpd__fail(err, -errno, "fdpass: sendmsg: %s", strerror(errno));
			break;
		}
		off += (size_t)w;
		iov = (struct iovec){ .iov_base = buf + off, .iov_len = len - off };
		h.msg_control = NULL;	/* the descriptors went with the first bytes */
		h.msg_controllen = 0;
	}
	free(buf);
	return rc;
}

static void close_all(int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Moves the descriptors of one control message into fds[*n..]; any beyond
 * DPD_FDS_MAX are closed at once and make the whole receive fail. */
static int take_fds(struct msghdr *h, int fds[DPD_FDS_MAX], uint32_t *n)
{
	int rc = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*n < DPD_FDS_MAX)
				fds[(*n)++] = fd;
			else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	return rc;
}

static int recv_chunk(int sock, struct dpd_rbuf *rb, int fds[DPD_FDS_MAX], uint32_t *n,
		      int timeout_ms, char err[CONS_ERRLEN])
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DPD_FDS_MAX)];
		struct cmsghdr align;
	} u;
	uint8_t chunk[65536];
	struct iovec iov = { .iov_base = chunk, .iov_len = sizeof(chunk) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t r;
	int prc;

	while ((prc = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (prc == 0)
		return dpd__fail(err, -ETIMEDOUT, "fdpass: no handover in time");
	while ((r = recvmsg(sock, &h, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return dpd__fail(err, -errno, "fdpass: recvmsg: %s", strerror(errno));
	if (take_fds(&h, fds, n) < 0 || (h.msg_flags & MSG_CTRUNC))
		return dpd__fail(err, -EPROTO, "fdpass: more descriptors than %d arrived",
				 DPD_FDS_MAX);
	if (r == 0)
		return dpd__fail(err, -ECONNRESET, "fdpass: the running rtvdp closed the "
				 "channel before its handover");
	return dpd_rbuf_feed(rb, chunk, (size_t)r) < 0 ? -ENOMEM : 0;
}

int dpd_recv_fds(int sock, struct dpd_msg *m, int fds[DPD_FDS_MAX], uint32_t *n_fds,
		 int timeout_ms, char err[CONS_ERRLEN])
{
	struct dpd_rbuf rb;
	const uint8_t *body;
	size_t len;
	int rc;

	*n_fds = 0;
	dpd_rbuf_init(&rb);
	while ((rc = dpd_rbuf_next(&rb, &body, &len)) == 0)
		if ((rc = recv_chunk(sock, &rb, fds, n_fds, timeout_ms, err)) < 0)
			break;
	if (rc == 1)
		rc = dpd_msg_decode(body, len, m, err);
	else if (rc == -EMSGSIZE)
		dpd__fail(err, rc, "fdpass: a frame header announces a bad length");
	if (rc == 0 && (m->type != DPD_T_HANDOVER || m->u.handover.n_fds != *n_fds)) {
		rc = dpd__fail(err, -EPROTO, "fdpass: a %s with %u descriptors, expected a "
			       "handover with as many as it names", dpd_type_name(m->type),
			       *n_fds);
		dpd_msg_free(m);
	}
	dpd_rbuf_close(&rb);
	if (rc < 0) {
		close_all(fds, *n_fds);
		*n_fds = 0;
	}
	return rc;
}
