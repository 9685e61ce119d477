/* dp_io.c — the dataplane's packet I/O: AF_PACKET sockets on rtv-int and the
 * uplink, and the two threads that move frames between them.
 *
 *   egress   rtv-int --recvmmsg--> dp_sched_enqueue (classify, police,
 *            stamp, queue) ... dp_sched_dequeue (pacer) --sendmmsg--> uplink;
 *            ICMP answers --sendmmsg--> rtv-int
 *   ingress  uplink --recvmmsg--> dp_rx_frame (pop, check, record)
 *            --sendmmsg--> rtv-int
 *
 * Batched recvmmsg/sendmmsg rather than TPACKET_V3 rings: the egress side
 * holds frames in its queues for up to a deadline, so it copies each frame
 * out of the kernel into a pool descriptor either way, and batching already
 * amortises the system calls (the figure is in bench/bench_dp.c). Rings and
 * AF_XDP stay possible behind the same two threads.
 *
 * Sockets. Each thread has its own sockets: an ETH_P_ALL receive socket per
 * input (bound to the device, PACKET_IGNORE_OUTGOING so it never sees what
 * either thread sends, PACKET_AUXDATA to restore VLAN tags the kernel took
 * off, promiscuous) and a send-only socket per output (protocol 0). Frames
 * go through the device's qdisc (no PACKET_QDISC_BYPASS): the pacer runs a
 * little below the link (it counts preamble, FCS and gap), so the qdisc
 * stays near empty, and any shaping the operator set stays in force.
 *
 * The devices must not hand us GSO super-frames or partial checksums:
 * switch TSO/GSO and TX checksum offload off on rtv-int's peer (ethtool -K
 * DEV tx off), as OVS userspace needs anyway (docs/architecture.md, "Data plane details"). Oversized
 * frames are counted (rx_truncated) and dropped.
 *
 * Time. Both threads take each frame's kernel receive timestamp
 * (SO_TIMESTAMPNS, CLOCK_REALTIME): the egress thread stamps the label and
 * keys EDF from the moment the VM's frame reached rtv-int (mapped onto
 * CLOCK_MONOTONIC, which orders and paces), so time spent in the socket
 * queue counts against the deadline; the ingress thread measures the
 * one-way delay to the moment the frame reached the uplink, not to when
 * this thread got to it. The
 * egress thread sleeps in ppoll until input or the pacer's next slot, with a
 * 1 µs timer slack (PR_SET_TIMERSLACK).
 *
 * Waiting (cfg.busy_poll). By default both threads sleep in ppoll when they
 * run out of work, which suits a host whose cores also run VMs: each frame
 * then costs a wake-up in the sender's egress thread and one in the
 * receiver's ingress thread, and a timer wake-up may come late — on some
 * virtual machines by 50–100 µs, far more than on hardware. The pacer
 * covers its own lateness with tx_ahead_ns (frames handed to the driver
 * that early keep the wire busy while the thread oversleeps); the frames'
 * latency it cannot cover. With busy_poll one thread does both directions
 * instead and never blocks: it spins over both receive sockets and the
 * pacer's slot, like an OVS-DPDK PMD thread, for hosts that dedicate a core
 * to it (keep the VMs off that core; with rt_priority, a spinning
 * SCHED_FIFO thread leaves its core to nothing of lower priority but what
 * the kernel's RT throttling grants — including the kernel's own softirq
 * thread, which processes these sockets' frames once the kernel defers that
 * work: run ksoftirqd above the poller, as tests/lab/dpnet_bench.sh does).
 * A frame then waits for no wake-up, and the pacer for no timer: tx_ahead_ns
 * may be as small as the loop. Measured on the lab's 2-core VM (bench
 * dpnet): added one-way latency p50 ~20-30 µs instead of ~110-150 µs
 * sleeping; its p99 stays at 100-400 µs there, where no core is really
 * dedicated.
 *
 * Tables. Each thread is an RCU reader (dp_table.c): it announces a
 * quiescent state at the top of every loop, adopts a newer table when there
 * is one, and goes offline while it sleeps — except the ingress thread while
 * it holds unreported misses, which point into the current table's path
 * state: it then sleeps online, at most until the interval ends.
 */
#include "dp/dp_internal.h"

#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 256
#define IDLE_NS 100000000ull	/* longest sleep: 100 ms */
#define HOUSEKEEP_NS 100000000ull
/* The threads' stacks: their buffers live in struct dp_io, so a little is
 * plenty; and in a process whose memory is locked (rtvdp) a stack is
 * touched whole when the thread starts, which an upgrade's gap pays. */
#define THREAD_STACK (256u << 10)
#define DRAIN_NS 50000000ull	/* longest a stopping egress thread sends its queues */
#define CMSG_SPACE_RX (CMSG_SPACE(sizeof(struct tpacket_auxdata)) + \
		       CMSG_SPACE(sizeof(struct timespec)))

struct io_counters {
	_Atomic uint64_t int_rx, int_tx, up_rx, up_tx, tx_errors, rx_truncated;
};

/* One receive batch: headers, addresses and control buffers. */
struct rx_batch {
	struct mmsghdr msg[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	struct sockaddr_ll from[BATCH_MAX];
	char cmsg[BATCH_MAX][CMSG_SPACE_RX];
	uint8_t *frame[BATCH_MAX];
};

struct tx_batch {
	struct mmsghdr msg[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	unsigned n;
};

struct dp_io {
	struct dp_io_config cfg;
	struct dp_rcu *rcu;
	int int_rx, int_tx_eg, int_tx_in, up_rx, up_tx;
	int wake;			/* eventfd: dp_io_stop wakes sleeping threads */
	pthread_t eg_thread, in_thread;	/* busy_poll: eg_thread does both */
	bool eg_started, in_started;
	atomic_bool stop;
	struct io_counters c;
	struct dp_sched sched;		/* egress thread's */
	struct dp_rx rx;		/* ingress thread's */
	uint8_t *in_bufs;		/* ingress frames, batch × stride */
	size_t in_stride;
	struct rx_batch eg_rx, in_rx;
	struct tx_batch eg_tx, eg_reply, in_tx;
	struct dp_desc *eg_desc[BATCH_MAX], *eg_out[BATCH_MAX], *eg_replies[BATCH_MAX];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- sockets ------------------------------------------------------------------ */

static int bind_dev(int fd, const char *dev, uint16_t proto, char err[CONS_ERRLEN])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };

	sll.sll_ifindex = (int)if_nametoindex(dev);
	if (!sll.sll_ifindex) {
		dp__errf(err, "dataplane: no interface '%s' in this network namespace", dev);
		return -ENODEV;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		dp__errf(err, "dataplane: cannot bind to '%s': %s", dev, strerror(errno));
		return -errno;
	}
	return 0;
}

static int rx_options(int fd, int ifindex, bool stamp)
{
	int one = 1, buf = 4 << 20;
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };

	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return -errno;
	if (stamp && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		return -errno;
	/* a bigger queue absorbs bursts while the thread sleeps; best effort */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return 0;
}

/* Protocol 0 at socket() time, ETH_P_ALL at bind: no frame of another
 * device can slip into the queue before the bind. */
static int open_rx(const char *dev, bool stamp, int *out, char err[CONS_ERRLEN])
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), rc;

	if (fd < 0) {
		dp__errf(err, "dataplane: AF_PACKET socket for '%s': %s (needs CAP_NET_RAW)", dev,
		       strerror(errno));
		return -errno;
	}
	if ((rc = rx_options(fd, (int)if_nametoindex(dev), stamp)) < 0) {
		dp__errf(err, "dataplane: socket options on '%s': %s", dev, strerror(-rc));
		close(fd);
		return rc;
	}
	if ((rc = bind_dev(fd, dev, ETH_P_ALL, err)) < 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

static int open_tx(const char *dev, int *out, char err[CONS_ERRLEN])
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), rc, buf = 4 << 20;

	if (fd < 0) {
		dp__errf(err, "dataplane: AF_PACKET socket for '%s': %s (needs CAP_NET_RAW)", dev,
		       strerror(errno));
		return -errno;
	}
	if ((rc = bind_dev(fd, dev, 0, err)) < 0) {
		close(fd);
		return rc;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	*out = fd;
	return 0;
}

/* ---- batches ------------------------------------------------------------------ */

static void rx_prepare(struct rx_batch *b, unsigned i, uint8_t *frame, size_t cap)
{
	b->frame[i] = frame;
	b->iov[i] = (struct iovec){ .iov_base = frame, .iov_len = cap };
	b->msg[i].msg_hdr = (struct msghdr){
		.msg_name = &b->from[i], .msg_namelen = sizeof(b->from[i]),
		.msg_iov = &b->iov[i], .msg_iovlen = 1,
		.msg_control = b->cmsg[i], .msg_controllen = sizeof(b->cmsg[i]),
	};
	b->msg[i].msg_len = 0;
}

/* The VLAN tag the kernel took off (if any) and the receive timestamp. */
static void rx_meta(struct msghdr *h, uint16_t *vlan_tpid, uint16_t *vlan_tci, uint64_t *ts_ns)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
			struct tpacket_auxdata aux;

			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_VLAN_VALID) {
				*vlan_tci = aux.tp_vlan_tci;
				*vlan_tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ?
					     aux.tp_vlan_tpid : ETH_P_8021Q;
			}
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
}

/* Puts a VLAN tag back in front of the ethertype; the buffer has headroom. */
static uint8_t *vlan_insert(uint8_t *f, uint16_t tpid, uint16_t tci)
{
	uint8_t *g = f - 4;

	memmove(g, f, 12);
	g[12] = (uint8_t)(tpid >> 8);
	g[13] = (uint8_t)tpid;
	g[14] = (uint8_t)(tci >> 8);
	g[15] = (uint8_t)tci;
	return g;
}

/* Receives up to n frames; returns how many (0 on EAGAIN or error). */
static unsigned rx_batch_recv(int fd, struct rx_batch *b, unsigned n)
{
	int r = recvmmsg(fd, b->msg, n, MSG_DONTWAIT, NULL);

	return r > 0 ? (unsigned)r : 0;
}

/* Frame i of a received batch after the usual checks; NULL to drop it. */
static uint8_t *rx_frame(struct dp_io *io, struct rx_batch *b, unsigned i, size_t *len,
			 uint64_t *ts_ns)
{
	struct msghdr *h = &b->msg[i].msg_hdr;
	uint16_t tpid = 0, tci = 0;
	uint8_t *f = b->frame[i];

	if (h->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		dp_add(&io->c.rx_truncated, 1);
		return NULL;
	}
	if (b->from[i].sll_pkttype == PACKET_OUTGOING)
		return NULL;
	*len = b->msg[i].msg_len;
	rx_meta(h, &tpid, &tci, ts_ns);
	if (tpid && *len >= 12 && *len + 4 <= io->cfg.sched.frame_max_bytes) {
		f = vlan_insert(f, tpid, tci);
		*len += 4;
	}
	return f;
}

static void tx_add(struct tx_batch *b, uint8_t *frame, size_t len)
{
	b->iov[b->n] = (struct iovec){ .iov_base = frame, .iov_len = len };
	b->msg[b->n].msg_hdr = (struct msghdr){ .msg_iov = &b->iov[b->n], .msg_iovlen = 1 };
	b->n++;
}

/* Sends the batch; frames the kernel refuses are counted, not retried (the
 * qdisc below is full: the pacer is meant to prevent that). */
static void tx_flush(struct dp_io *io, int fd, struct tx_batch *b, _Atomic uint64_t *sent)
{
	unsigned done = 0;

	while (done < b->n) {
		int r = sendmmsg(fd, b->msg + done, b->n - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			dp_add(&io->c.tx_errors, 1);
			done++;	/* skip the frame that failed */
			continue;
		}
		done += (unsigned)r;
		dp_add(sent, (uint64_t)r);
	}
	b->n = 0;
}

/* ---- the egress thread ---------------------------------------------------------- */

/* When the frame reached rtv-int: its kernel receive timestamp, on both
 * clocks, so that time spent in the socket queue counts against its
 * deadline (the VM handed it over then, not when this thread got to it). */
static struct dp_now arrival(const struct dp_now *now, uint64_t ts_real_ns)
{
	uint64_t back;

	if (!ts_real_ns || ts_real_ns > now->real_ns)
		return *now;
	back = now->real_ns - ts_real_ns;
	if (back > now->mono_ns)
		return *now;
	return (struct dp_now){ .mono_ns = now->mono_ns - back, .real_ns = ts_real_ns };
}

/* An NRT or control frame's time in the queue starts when this thread
 * queued it, not at its kernel timestamp: the sojourn limit (dp_sched.c,
 * nrt_sojourn_ns) bounds the queue that forms at the uplink, and a frame
 * that waited in the socket for the engine — a starved thread, or the gap
 * of an in-place upgrade, whose point is that frames wait in the handed-over
 * socket instead of being lost — must not be dropped for that wait. RT
 * frames keep their arrival: their deadline runs from it, and their queue
 * delay is the engine's whole hold, socket included. Only this thread owns
 * a queued descriptor, and only the sojourn and the queue-delay histogram
 * read enq_ns. */
static void nrt_from_now(struct dp_desc *d, uint64_t now_mono_ns)
{
	if (d->kind == DP_Q_NRT || d->kind == DP_Q_CTL)
		d->sp.enq_ns = now_mono_ns;
}

static void eg_receive(struct dp_io *io, unsigned *got)
{
	struct dp_sched *s = &io->sched;
	unsigned n = 0, r, replies = 0;
	struct dp_now now;

	while (n < io->cfg.batch && (io->eg_desc[n] = dp_sched_alloc(s)) != NULL) {
		rx_prepare(&io->eg_rx, n, io->eg_desc[n]->frame, s->cfg.frame_max_bytes - 4);
		n++;
	}
	r = n ? rx_batch_recv(io->int_rx, &io->eg_rx, n) : 0;
	now = (struct dp_now){ clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_REALTIME) };
	for (unsigned i = 0; i < n; i++) {
		struct dp_desc *d = io->eg_desc[i], *reply = NULL;
		uint64_t ts = 0;
		size_t len;
		uint8_t *f = i < r ? rx_frame(io, &io->eg_rx, i, &len, &ts) : NULL;
		struct dp_now at;

		if (!f) {
			dp_sched_free(s, d);
			continue;
		}
		d->frame = f;
		d->len = (uint32_t)len;
		at = arrival(&now, ts);
		switch (dp_sched_enqueue(s, d, &at, &reply)) {
		case DP_V_REPLY:
			io->eg_replies[replies++] = reply;
			tx_add(&io->eg_reply, reply->frame, reply->len);
			break;
		case DP_V_QUEUED:
			nrt_from_now(d, now.mono_ns);
			break;
		case DP_V_DROPPED:
			break;
		}
	}
	dp_add(&io->c.int_rx, r);
	if (replies) {
		tx_flush(io, io->int_tx_eg, &io->eg_reply, &io->c.int_tx);
		for (unsigned i = 0; i < replies; i++)
			dp_sched_free(s, io->eg_replies[i]);
	}
	*got = r;
}

static void eg_transmit(struct dp_io *io)
{
	struct dp_sched *s = &io->sched;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	struct dp_desc *d;
	unsigned n;

	do {
		n = 0;
		while (n < io->cfg.batch && (d = dp_sched_dequeue(s, now)) != NULL) {
			io->eg_out[n++] = d;
			tx_add(&io->eg_tx, d->frame, d->len);
		}
		if (n)
			tx_flush(io, io->up_tx, &io->eg_tx, &io->c.up_tx);
		for (unsigned i = 0; i < n; i++)
			dp_sched_free(s, io->eg_out[i]);
	} while (n == io->cfg.batch);
}

/* A polling thread's pause between two empty rounds: eases the pipeline
 * (and a hyperthread sibling), then lets another runnable thread of the
 * same real-time priority have the core — a second poller that shares it,
 * say — at the cost of one system call when there is none. */
static void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
	sched_yield();
}

/* Sleeps until input arrives or the pacer's next slot (minus the ahead
 * allowance), offline as an RCU reader. */
static void eg_wait(struct dp_io *io, int reader)
{
	struct dp_sched *s = &io->sched;
	uint64_t now = clock_ns(CLOCK_MONOTONIC), next = dp_sched_next_ns(s, now), wait;
	struct pollfd pfd[2] = { { .fd = io->int_rx, .events = POLLIN },
				 { .fd = io->wake, .events = POLLIN } };
	struct timespec ts;

	if (next != UINT64_MAX && next <= now + s->cfg.tx_ahead_ns)
		return;
	wait = next == UINT64_MAX ? IDLE_NS : next - s->cfg.tx_ahead_ns - now;
	if (wait > IDLE_NS)
		wait = IDLE_NS;
	ts = (struct timespec){ .tv_sec = (time_t)(wait / 1000000000ull),
				.tv_nsec = (long)(wait % 1000000000ull) };
	dp_rcu_offline(io->rcu, reader);
	ppoll(pfd, 2, &ts, NULL);
}

/* Pinning and real-time priority: a dataplane thread that waits for a CPU
 * behind a busy VM sends its RT frames late, whatever the scheduler chose
 * (tests/system/dp_veth.sh measured misses of up to 7 ms from exactly that
 * on a shared 2-core host). Both are best effort: without the privilege the
 * thread runs as before. */
static void pin(struct dp_io *io)
{
	cpu_set_t set;
	struct sched_param sp = { .sched_priority = io->cfg.rt_priority };

	if (io->cfg.rt_priority > 0)
		pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (!io->cfg.pin || io->cfg.cpu >= CPU_SETSIZE)
		return;
	CPU_ZERO(&set);
	CPU_SET(io->cfg.cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* cfg.pin: the kernel's receive work for dev (the softirq that queues a
 * frame on our socket and wakes the thread) runs on cfg.cpu too, through
 * RPS on each of its receive queues. A frame then crosses the host with
 * its wake-ups on one CPU — run to completion as far as the kernel's
 * sockets allow — instead of an inter-processor interrupt per wake-up
 * (bench/bench_ring.c: 18/113 µs instead of 44/311 for the same forwarder).
 * Best effort: without a writable sysfs the threads are pinned alone. */
static void rps_steer(const char *dev, unsigned cpu)
{
	char path[128], mask[80];
	int n = 0, len = 0;
	FILE *f;

	/* rps_cpus is a comma-separated hex bitmap, 32 bits per word */
	for (int w = (int)(cpu / 32); w >= 0; w--)
		len += snprintf(mask + len, sizeof(mask) - (size_t)len, "%s%x", len ? "," : "",
				w == (int)(cpu / 32) ? 1u << (cpu % 32) : 0u);
	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d/rps_cpus", dev, n);
		if (!(f = fopen(path, "w")))
			return;
		fputs(mask, f);
		fclose(f);
	}
}

/* One round of egress work: a newer table, housekeeping, a receive batch,
 * whatever the pacer releases. Returns the frames received. */
static unsigned eg_round(struct dp_io *io, int reader, uint64_t *last_hk)
{
	const struct dp_table *t = dp_rcu_quiescent(io->rcu, reader);
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	unsigned got;

	if (t && dp_table_generation(t) != io->sched.table_gen)
		dp_sched_adopt(&io->sched, t, now);
	if (now - *last_hk > HOUSEKEEP_NS) {
		dp_sched_housekeep(&io->sched);
		*last_hk = now;
	}
	eg_receive(io, &got);
	eg_transmit(io);
	return got;
}

/* Stopping: what the queues hold still goes out, at the pacer's rate (at
 * most DRAIN_NS), before the thread ends. Frames not yet read stay in the
 * receive socket, which outlives the thread (dp_io_detach hands it to the
 * next process); the frames already read live only in the queues, and
 * freeing them with the pool would lose them — what an in-place upgrade of
 * rtvdp lost before. */
static void eg_drain(struct dp_io *io)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), end = now + DRAIN_NS, next;

	while ((next = dp_sched_next_ns(&io->sched, now)) != UINT64_MAX && now < end) {
		if (next > now) {
			struct timespec ts = { .tv_sec = (time_t)((next - now) / 1000000000ull),
					       .tv_nsec = (long)((next - now) % 1000000000ull) };

			nanosleep(&ts, NULL);
		}
		eg_transmit(io);
		now = clock_ns(CLOCK_MONOTONIC);
	}
}

static void *eg_main(void *arg)
{
	struct dp_io *io = arg;
	int reader = dp_rcu_register(io->rcu);
	uint64_t last_hk = 0;

	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	pthread_setname_np(pthread_self(), "dp-egress");
	pin(io);
	while (!atomic_load_explicit(&io->stop, memory_order_relaxed))
		if (eg_round(io, reader, &last_hk) < io->cfg.batch)
			eg_wait(io, reader);
	eg_drain(io);
	dp_rcu_unregister(io->rcu, reader);
	return NULL;
}

/* ---- the ingress thread ----------------------------------------------------------- */

static void in_forward(struct dp_io *io, unsigned *got)
{
	unsigned r, i;

	for (i = 0; i < io->cfg.batch; i++)
		rx_prepare(&io->in_rx, i, io->in_bufs + i * io->in_stride + DP_HEADROOM,
			   io->in_stride - DP_HEADROOM - 4);
	r = rx_batch_recv(io->up_rx, &io->in_rx, io->cfg.batch);
	for (i = 0; i < r; i++) {
		uint64_t ts = 0;
		size_t len, out_len;
		uint8_t *f = rx_frame(io, &io->in_rx, i, &len, &ts), *out;

		if (!f)
			continue;
		dp_rx_frame(&io->rx, f, len, ts ? ts : clock_ns(CLOCK_REALTIME), &out, &out_len);
		tx_add(&io->in_tx, out, out_len);
	}
	dp_add(&io->c.up_rx, r);
	if (io->in_tx.n)
		tx_flush(io, io->int_tx_in, &io->in_tx, &io->c.int_tx);
	*got = r;
}

static void in_wait(struct dp_io *io, int reader)
{
	struct pollfd pfd[2] = { { .fd = io->up_rx, .events = POLLIN },
				 { .fd = io->wake, .events = POLLIN } };
	uint64_t wait = IDLE_NS;
	struct timespec ts;

	if (io->rx.dirty)	/* misses point into the table: stay online */
		wait = io->rx.cfg.interval_ns < IDLE_NS ? io->rx.cfg.interval_ns : IDLE_NS;
	else
		dp_rcu_offline(io->rcu, reader);
	ts = (struct timespec){ .tv_sec = (time_t)(wait / 1000000000ull),
				.tv_nsec = (long)(wait % 1000000000ull) };
	ppoll(pfd, 2, &ts, NULL);
}

/* One round of ingress work; returns the frames received. */
static unsigned in_round(struct dp_io *io, int reader)
{
	const struct dp_table *t = dp_rcu_quiescent(io->rcu, reader);
	unsigned got;

	if (t && dp_table_generation(t) != io->rx.table_gen)
		dp_rx_adopt(&io->rx, t, clock_ns(CLOCK_REALTIME));
	in_forward(io, &got);
	dp_rx_tick(&io->rx, clock_ns(CLOCK_REALTIME));
	return got;
}

static void *in_main(void *arg)
{
	struct dp_io *io = arg;
	int reader = dp_rcu_register(io->rcu);

	pthread_setname_np(pthread_self(), "dp-ingress");
	pin(io);
	while (!atomic_load_explicit(&io->stop, memory_order_relaxed))
		if (in_round(io, reader) < io->cfg.batch)
			in_wait(io, reader);
	dp_rcu_unregister(io->rcu, reader);
	return NULL;
}

/* ---- busy polling: one thread, both directions ----------------------------------- */

/* Never blocks, so it stays online as an RCU reader and announces a
 * quiescent state every round (in eg_round and in_round). */
static void *busy_main(void *arg)
{
	struct dp_io *io = arg;
	int reader = dp_rcu_register(io->rcu);
	uint64_t last_hk = 0;

	pthread_setname_np(pthread_self(), "dp-poll");
	pin(io);
	while (!atomic_load_explicit(&io->stop, memory_order_relaxed))
		if (eg_round(io, reader, &last_hk) + in_round(io, reader) == 0)
			spin_pause();
	eg_drain(io);
	dp_rcu_unregister(io->rcu, reader);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------------- */

/* A handed-over socket: AF_PACKET, bound to dev. */
static int adopt_one(int fd, const char *dev, int *out, char err[CONS_ERRLEN])
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	int domain = 0;
	socklen_t dlen = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 || domain != AF_PACKET ||
	    getsockname(fd, (struct sockaddr *)&sll, &len) < 0 ||
	    sll.sll_ifindex != (int)if_nametoindex(dev)) {
		dp__errf(err, "dataplane: handed-over socket %d is not a packet socket bound to '%s'",
		       fd, dev);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

static int io_adopt(struct dp_io *io, const int *fds, char err[CONS_ERRLEN])
{
	const char *dev[DP_IO_FDS] = { io->cfg.int_dev, io->cfg.up_dev, io->cfg.int_dev,
				       io->cfg.int_dev, io->cfg.up_dev };
	int *out[DP_IO_FDS] = { &io->int_rx, &io->up_rx, &io->int_tx_eg, &io->int_tx_in,
				&io->up_tx };
	int rc = 0;

	for (int i = 0; i < DP_IO_FDS && rc == 0; i++)
		rc = adopt_one(fds[i], dev[i], out[i], err);
	for (int i = 0; i < DP_IO_FDS && rc < 0; i++)	/* ours either way */
		if (*out[i] < 0)
			close(fds[i]);
	return rc;
}

static int io_open(struct dp_io *io, char err[CONS_ERRLEN])
{
	int rc;

	if ((rc = open_rx(io->cfg.int_dev, true, &io->int_rx, err)) < 0 ||
	    (rc = open_rx(io->cfg.up_dev, true, &io->up_rx, err)) < 0 ||
	    (rc = open_tx(io->cfg.int_dev, &io->int_tx_eg, err)) < 0 ||
	    (rc = open_tx(io->cfg.int_dev, &io->int_tx_in, err)) < 0 ||
	    (rc = open_tx(io->cfg.up_dev, &io->up_tx, err)) < 0)
		return rc;
	return 0;
}

static void io_free(struct dp_io *io)
{
	int *fds[] = { &io->int_rx, &io->up_rx, &io->int_tx_eg, &io->int_tx_in, &io->up_tx };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (io->wake >= 0)
		close(io->wake);
	if (io->sched.descs)
		dp_sched_close(&io->sched);
	free(io->in_bufs);
	free(io);
}

static int io_alloc(const struct dp_io_config *cfg, struct dp_io **out, char err[CONS_ERRLEN])
{
	struct dp_io *io = calloc(1, sizeof(*io));
	int rc;

	if (!io)
		return -ENOMEM;
	io->int_rx = io->up_rx = io->int_tx_eg = io->int_tx_in = io->up_tx = -1;
	io->cfg = *cfg;
	if ((io->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		dp__errf(err, "dataplane: eventfd: %s", strerror(-rc));
		free(io);
		return rc;
	}
	if (!io->cfg.batch)
		io->cfg.batch = 32;
	if (io->cfg.batch > BATCH_MAX)
		io->cfg.batch = BATCH_MAX;
	if ((rc = dp_sched_init(&io->sched, &cfg->sched)) < 0) {
		dp__errf(err, "dataplane: scheduler configuration refused (%s)", strerror(-rc));
		close(io->wake);
		free(io);
		return rc;
	}
	io->in_stride = (DP_HEADROOM + io->sched.cfg.frame_max_bytes + 63) & ~(size_t)63;
	io->in_bufs = malloc(io->in_stride * io->cfg.batch);
	if (!io->in_bufs) {
		io_free(io);
		return -ENOMEM;
	}
	dp_rx_init(&io->rx, &cfg->rx);
	*out = io;
	return 0;
}

int dp_io_new(const struct dp_io_config *cfg, struct dp_io **out, char err[CONS_ERRLEN])
{
	if (!cfg || !cfg->int_dev || !cfg->up_dev) {
		dp__errf(err, "dataplane: two interfaces are required");
		return -EINVAL;
	}
	return io_alloc(cfg, out, err);
}

int dp_io_run(struct dp_io *io, struct dp_rcu *r, const int *fds, char err[CONS_ERRLEN])
{
	pthread_attr_t attr;
	int rc;

	if (!r || !dp_rcu_current(r)) {
		dp__errf(err, "dataplane: a published table is required");
		for (int i = 0; fds && i < DP_IO_FDS; i++)
			close(fds[i]);
		return -EINVAL;
	}
	io->rcu = r;
	atomic_init(&io->stop, false);
	if ((rc = fds ? io_adopt(io, fds, err) : io_open(io, err)) < 0)
		return rc;
	if (io->cfg.pin && io->cfg.cpu < CPU_SETSIZE) {
		rps_steer(io->cfg.int_dev, io->cfg.cpu);
		rps_steer(io->cfg.up_dev, io->cfg.cpu);
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	rc = -pthread_create(&io->eg_thread, &attr, io->cfg.busy_poll ? busy_main : eg_main, io);
	if (rc == 0)
		io->eg_started = true;
	if (rc == 0 && !io->cfg.busy_poll && (rc = -pthread_create(&io->in_thread, &attr, in_main, io)) == 0)
		io->in_started = true;
	pthread_attr_destroy(&attr);
	if (rc < 0 && (!err || !err[0]))
		dp__errf(err, "dataplane: cannot start: %s", strerror(-rc));
	return rc;
}

int dp_io_start(const struct dp_io_config *cfg, struct dp_rcu *r, struct dp_io **out,
		char err[CONS_ERRLEN])
{
	struct dp_io *io = NULL;
	int rc;

	if ((rc = dp_io_new(cfg, &io, err)) < 0)
		return rc;
	if ((rc = dp_io_run(io, r, NULL, err)) < 0) {
		dp_io_stop(io);
		return rc;
	}
	*out = io;
	return 0;
}

static void io_join(struct dp_io *io)
{
	uint64_t one = 1;

	atomic_store(&io->stop, true);
	if (write(io->wake, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh eventfd; the threads' 100 ms sleep ends anyway */
	}
	if (io->eg_started)
		pthread_join(io->eg_thread, NULL);
	if (io->in_started)
		pthread_join(io->in_thread, NULL);
}

void dp_io_stop(struct dp_io *io)
{
	if (!io)
		return;
	io_join(io);
	io_free(io);
}

void dp_io_detach(struct dp_io *io, int fds[DP_IO_FDS])
{
	int *mine[DP_IO_FDS] = { &io->int_rx, &io->up_rx, &io->int_tx_eg, &io->int_tx_in,
				 &io->up_tx };

	io_join(io);
	for (int i = 0; i < DP_IO_FDS; i++) {
		fds[i] = *mine[i];
		*mine[i] = -1;
	}
	io_free(io);
}

const struct dp_sched_stats *dp_io_sched_stats(const struct dp_io *io)
{
	return &io->sched.stats;
}

const struct dp_rx_stats *dp_io_rx_stats(const struct dp_io *io)
{
	return &io->rx.stats;
}

void dp_io_stats(const struct dp_io *io, struct dp_io_stats *out)
{
	*out = (struct dp_io_stats){
		.int_rx = dp_get(&io->c.int_rx), .int_tx = dp_get(&io->c.int_tx),
		.up_rx = dp_get(&io->c.up_rx), .up_tx = dp_get(&io->c.up_tx),
		.tx_errors = dp_get(&io->c.tx_errors), .rx_truncated = dp_get(&io->c.rx_truncated),
	};
}

size_t dp_io_miss_drain(struct dp_io *io, struct dp_miss_report *out, size_t max)
{
	return dp_miss_drain(&io->rx, out, max);
}
