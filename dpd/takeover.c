/* takeover.c — rtvdp upgraded or restarted in place (dpd_engine.h, "Taking
 * over"; docs/dataplane-process.md, "Upgrading rtvdp").
 *
 *   new rtvdp                            running rtvdp
 *   (config read, engine allocated)
 *   takeover {host, pid}        ──────▶  stops its engine threads (their
 *                                        last misses into the backlog)
 *                               ◀──────  handover {gen, table, backlog,
 *                                        roles} + SCM_RIGHTS fds; exits
 *   publishes the table, starts its threads
 *
 * The gap is the time between the two processes' threads: everything slow
 * (reading the configuration, allocating the pool) happens in the new one
 * before it asks. The listening socket itself is handed over, so a rtvd
 * that connects meanwhile waits in its backlog instead of being refused.
 * The packet sockets travel too (dp_io_detach, roles DPD_FD_INT_RX...):
 * frames that arrive during the gap wait in the sockets' buffers and are
 * forwarded late rather than lost.
 * If the handover cannot be sent, the running process restarts its threads
 * and keeps forwarding: a failed upgrade never leaves the host without a
 * dataplane.
 */
#include "dpd/dpd_engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define MOD "rtvdp"
#define HANDOVER_TIMEOUT_MS 5000

/* The role of the engine's socket i (enum dp_io_fd) on the wire. */
static uint8_t role_of(int i)
{
	return (uint8_t)(DPD_FD_INT_RX + i);
}

int dpd_server_handover(struct dpd_server *s, char err[CONS_ERRLEN])
{
	struct dpd_engine *e = s->e;
	struct dpd_conn *c = &s->c[s->takeover];
	static struct dp_miss_report r[DPD_MISSES_MAX];
	struct dpd_msg m = { .type = DPD_T_HANDOVER, .seq = ++s->seq };
	struct dpd_handover *h = &m.u.handover;
	int fds[DPD_FDS_MAX], pfds[DP_IO_FDS], rc;
	bool had_io = e->running;

	if (had_io)
		dpd_engine_detach(e, pfds);
	h->gen = e->gen;
	h->takeovers = s->takeovers + 1;
	h->has_table = e->has_table;
	h->table = e->cur;
	h->misses.n = dpd_backlog_peek(&e->backlog, r, DPD_MISSES_MAX, &h->misses.first_seq);
	h->misses.r = r;
	h->misses.dropped = e->backlog.dropped + (e->backlog.n - h->misses.n);
	h->roles[h->n_fds] = DPD_FD_LISTEN;
	fds[h->n_fds++] = s->lfd;
	for (int i = 0; had_io && i < DP_IO_FDS; i++) {
		h->roles[h->n_fds] = role_of(i);
		fds[h->n_fds++] = pfds[i];
	}
	rc = dpd_send_fds(c->fd, &m, fds, err);
	s->takeover = -1;
	if (rc < 0) {
		char serr[CONS_ERRLEN] = "";

		rtv_error(MOD, "handover to pid %u failed (%s): forwarding again", c->pid, err);
		if (had_io)
			dpd_engine_adopt(e, pfds);
		if (dpd_engine_start(e, serr) < 0)
			rtv_error(MOD, "cannot restart forwarding: %s", serr);
		return rc;
	}
	for (int i = 0; had_io && i < DP_IO_FDS; i++)
		close(pfds[i]);		/* the new process holds them now */
	rtv_info(MOD, "handed over to pid %u: table generation %llu, %zu miss reports, %s",
		 c->pid, (unsigned long long)h->gen, h->misses.n,
		 had_io ? "the packet sockets" : "no packet sockets");
	return 0;
}

/* Takes what the handover carries into the new process's engine. */
static int adopt(struct dpd_engine *e, const struct dpd_handover *h, const int *fds,
		 uint32_t n, int *lfd, char err[CONS_ERRLEN])
{
	int rc, pfds[DP_IO_FDS] = { -1, -1, -1, -1, -1 }, got = 0;

	*lfd = -1;
	if (h->has_table) {
		if ((rc = dpd_table_copy(&e->cur, &h->table)) < 0) {
			for (uint32_t i = 0; i < n; i++)
				close(fds[i]);
			return dpd__fail(err, rc, "out of memory for the handed-over table");
		}
		e->has_table = true;
	}
	e->gen = h->gen;
	dpd_backlog_restore(&e->backlog, &h->misses);
	for (uint32_t i = 0; i < n; i++) {
		if (h->roles[i] == DPD_FD_LISTEN)
			*lfd = fds[i];
		else
			pfds[h->roles[i] - DPD_FD_INT_RX] = fds[i];
		got += h->roles[i] != DPD_FD_LISTEN;
	}
	if (got == DP_IO_FDS)
		dpd_engine_adopt(e, pfds);	/* frames queued meanwhile are forwarded */
	else
		for (int i = 0; i < DP_IO_FDS; i++)	/* all or none: open fresh ones */
			if (pfds[i] >= 0)
				close(pfds[i]);
	return 0;
}

int dpd_takeover(const char *path, uint64_t host_id, struct dpd_engine *e, int *lfd,
		 uint64_t *takeovers, char err[CONS_ERRLEN])
{
	struct dpd_msg q = { .type = DPD_T_TAKEOVER, .seq = 1 }, m;
	int fds[DPD_FDS_MAX], fd, rc;
	uint32_t n = 0;

	if ((fd = dpd_connect(path, err)) < 0)
		return fd;
	q.u.hello.host_id = host_id;
	q.u.hello.pid = (uint32_t)getpid();
	snprintf(q.u.hello.name, sizeof(q.u.hello.name), "rtvdp");
	if ((rc = dpd_send(fd, &q, err)) < 0 ||
	    (rc = dpd_recv_fds(fd, &m, fds, &n, HANDOVER_TIMEOUT_MS, err)) < 0) {
		close(fd);
		return rc;
	}
	close(fd);
	rc = adopt(e, &m.u.handover, fds, n, lfd, err);
	*takeovers = m.u.handover.takeovers;
	dpd_msg_free(&m);
	if (rc == 0 && *lfd < 0)
		rc = dpd__fail(err, -EPROTO, "the running rtvdp handed over no listening socket");
	return rc;
}
