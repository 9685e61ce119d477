/* test_dpd_fd.c — the channel's sockets and the descriptor hand-over
 * between two rtvdp processes (dpd/dpd.h).
 *
 * Hand-over: the descriptors that arrive are the very objects sent (a pipe
 * written through the old end reads through the new one); a connection
 * made to the listening socket before the hand-over is accepted after it;
 * an AF_PACKET socket's frames queued before the hand-over are read after
 * it (needs CAP_NET_RAW: skipped, and reported so, without it); a frame
 * whose descriptor count does not match its message is refused and what
 * came is closed. Sockets: a table larger than the socket buffer crosses
 * whole; a timeout and a closed peer are told apart; a live socket file is
 * never taken over by dpd_listen, a stale one is; the peer's credentials
 * are read. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpd/dpd.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_dpd_fd.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/chan", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

static const char *sock_path(void)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/chan", dir);
	return p;
}

static struct dpd_msg handover(uint32_t n, const uint8_t *roles)
{
	struct dpd_msg m = { .type = DPD_T_HANDOVER, .seq = 1 };

	m.u.handover.gen = 42;
	m.u.handover.n_fds = n;
	memcpy(m.u.handover.roles, roles, n);
	return m;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void test_handover_pipe_and_listener(void **state)
{
	const uint8_t roles[2] = { DPD_FD_LISTEN, DPD_FD_INT_RX };
	int sp[2], pfd[2], lfd, early, fds[DPD_FDS_MAX], c;
	struct dpd_msg m = handover(2, roles), got;
	char err[CONS_ERRLEN] = "", buf[8];
	uint32_t n = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe(pfd), 0);
	lfd = dpd_listen(sock_path(), err);
	assert_true(lfd >= 0);
	early = dpd_connect(sock_path(), err);	/* waits in the backlog */
	assert_true(early >= 0);

	assert_int_equal(dpd_send_fds(sp[0], &m, (int[]){ lfd, pfd[0] }, err), 0);
	close(lfd);				/* the old process exits */
	assert_int_equal(dpd_recv_fds(sp[1], &got, fds, &n, 1000, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(got.type, DPD_T_HANDOVER);
	assert_int_equal(got.u.handover.gen, 42);
	assert_memory_equal(got.u.handover.roles, roles, 2);
	assert_true(same_file(fds[1], pfd[0]));
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	close(pfd[0]);
	assert_int_equal(write(pfd[1], "frame", 5), 5);
	assert_int_equal(read(fds[1], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "frame", 5);

	c = accept(fds[0], NULL, NULL);		/* the connection made before */
	assert_true(c >= 0);
	assert_int_equal(write(early, "x", 1), 1);
	assert_int_equal(read(c, buf, 1), 1);
	dpd_msg_free(&got);
	close(c);
	close(early);
	close(fds[0]);
	close(fds[1]);
	close(pfd[1]);
	close(sp[0]);
	close(sp[1]);
}

/* A UDP datagram on loopback seen by an AF_PACKET socket bound to lo. */
static int packet_socket_lo(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex("lo");
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void test_handover_packet_socket(void **state)
{
	const uint8_t roles[1] = { DPD_FD_UP_RX };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct dpd_msg m = handover(1, roles), got;
	int sp[2], pk, u, fds[DPD_FDS_MAX];
	uint8_t frame[2048];
	char err[CONS_ERRLEN] = "";
	const char marker[] = "queued-during-the-gap";
	bool seen = false;
	uint32_t n = 0;
	ssize_t r;

	(void)state;
	if ((pk = packet_socket_lo()) < 0) {
		print_message("AF_PACKET on lo: %s (needs CAP_NET_RAW)\n", strerror(-pk));
		skip();
	}
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(dpd_send_fds(sp[0], &m, &pk, err), 0);
	/* the frame arrives while the socket is in flight: nobody reads it */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(sendto(u, marker, sizeof(marker), 0, (struct sockaddr *)&to, sizeof(to)) > 0);
	close(u);
	close(pk);
	assert_int_equal(dpd_recv_fds(sp[1], &got, fds, &n, 1000, err), 0);
	assert_int_equal(n, 1);
	while (!seen && (r = recv(fds[0], frame, sizeof(frame), MSG_DONTWAIT)) > 0)
		seen = memmem(frame, (size_t)r, marker, sizeof(marker)) != NULL;
	assert_true(seen);
	dpd_msg_free(&got);
	close(fds[0]);
	close(sp[0]);
	close(sp[1]);
}

static void test_handover_mismatch(void **state)
{
	const uint8_t roles[2] = { DPD_FD_LISTEN, DPD_FD_UP_TX };
	struct dpd_msg m = handover(2, roles), got, hello = { .type = DPD_T_HELLO, .seq = 1 };
	int sp[2], fds[DPD_FDS_MAX];
	char err[CONS_ERRLEN] = "";
	uint32_t n = 9;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(dpd_send(sp[0], &m, err), 0);	/* names 2, carries none */
	assert_int_equal(dpd_recv_fds(sp[1], &got, fds, &n, 1000, err), -EPROTO);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "descriptors"));
	hello.u.hello.host_id = 1;
	assert_int_equal(dpd_send_fds(sp[0], &hello, fds, err), -EINVAL);
	close(sp[0]);
	assert_int_equal(dpd_recv_fds(sp[1], &got, fds, &n, 1000, err), -ECONNRESET);
	close(sp[1]);
}

/* ---- the channel socket -------------------------------------------------------- */

struct big {
	int fd;
	struct dpd_msg m;
	int rc;
};

static void *send_big(void *arg)
{
	struct big *b = arg;
	char err[CONS_ERRLEN];

	b->rc = dpd_send(b->fd, &b->m, err);
	return NULL;
}

static void test_big_table_and_errors(void **state)
{
	enum { N = 20000 };
	struct big b = { .m = { .type = DPD_T_TABLE, .seq = 7 } };
	struct dpd_msg got;
	struct dpd_rbuf rb;
	char err[CONS_ERRLEN] = "";
	pthread_t th;
	int sp[2];

	(void)state;
	b.m.u.table = (struct dpd_table){ .index = 3, .n = N,
		.paths = calloc(N, sizeof(struct cons_rtpath)), .boost = calloc(N, 1) };
	for (size_t i = 0; i < N; i++) {
		struct cons_rtpath *p = &b.m.u.table.paths[i];

		*p = (struct cons_rtpath){ .id = i + 1, .src_host = 1, .dst_host = 2,
			.req = { .src_ip = 0x0a000001, .dst_ip = 0x0a000002, .proto = 17,
				 .dport = (uint16_t)i, .type = CONS_PATH_DEADLINE,
				 .rate_bps = 1000000, .deadline_ns = 5000000 },
			.tc = 5, .dscp = 46, .service_rate_bps = 1000000,
			.service_rate_base_bps = 1000000, .sched_deadline_ns = 4000000 };
		strcpy(p->req.owner, "t");
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	b.fd = sp[0];
	assert_int_equal(pthread_create(&th, NULL, send_big, &b), 0);
	dpd_rbuf_init(&rb);
	assert_int_equal(dpd_recv(sp[1], &rb, &got, 10000, err), 0);
	pthread_join(th, NULL);
	assert_int_equal(b.rc, 0);
	assert_int_equal(got.u.table.n, N);
	assert_int_equal(got.u.table.paths[N - 1].id, N);
	dpd_msg_free(&got);

	assert_int_equal(dpd_recv(sp[1], &rb, &got, 20, err), -ETIMEDOUT);
	close(sp[0]);
	assert_int_equal(dpd_recv(sp[1], &rb, &got, 1000, err), -ECONNRESET);
	dpd_rbuf_close(&rb);
	close(sp[1]);
	free(b.m.u.table.paths);
	free(b.m.u.table.boost);
}

static void test_listen_and_peer(void **state)
{
	char err[CONS_ERRLEN] = "";
	int a, b, c, s;
	uint32_t pid = 0;

	(void)state;
	a = dpd_listen(sock_path(), err);
	assert_true(a >= 0);
	assert_int_equal(dpd_listen(sock_path(), err), -EADDRINUSE);	/* never stolen */
	assert_non_null(strstr(err, "takeover"));
	c = dpd_connect(sock_path(), err);
	assert_true(c >= 0);
	while ((s = accept(a, NULL, NULL)) < 0 && errno == EAGAIN)
		usleep(1000);
	assert_int_equal(dpd_peer_ok(s, &pid, err), 0);
	assert_int_equal(pid, (uint32_t)getpid());
	close(s);
	close(c);
	close(a);				/* a stale file: taken */
	b = dpd_listen(sock_path(), err);
	assert_true(b >= 0);
	close(b);
	assert_int_equal(dpd_connect("/nonexistent/rtvdp.sock", err), -ENOENT);
	assert_non_null(strstr(err, "rtvdp running"));
	assert_true(dpd_listen("", err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handover_pipe_and_listener),
		cmocka_unit_test(test_handover_packet_socket),
		cmocka_unit_test(test_handover_mismatch),
		cmocka_unit_test(test_big_table_and_errors),
		cmocka_unit_test(test_listen_and_peer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
