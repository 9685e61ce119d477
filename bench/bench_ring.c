/* bench_ring.c — how the dataplane should take frames off a veth (group
 * `ring`; issue 13, "Shorter and cheaper"): the engine's batched
 * recvmmsg/sendmmsg against TPACKET rx rings, sleeping against busy
 * polling, and the forwarder on the sender's core against the other one,
 * each beside a direct path measured in the same run.
 *
 * Topology, in a network namespace of this process's own (unshare):
 *
 *   sender -> a0 =veth= a1 -> forwarder -> b0 =veth= b1 -> receiver
 *   direct:   a0 =veth= a1 -> receiver
 *
 * Frames are Ethernet broadcasts of a local experimental ethertype
 * (0x88b5) carrying a sequence number and the sender's CLOCK_REALTIME just
 * before its send call; the receiver takes the kernel's receive timestamp
 * (SO_TIMESTAMPNS), so its own wake-up is not measured, only the path. The
 * forwarder is a minimal run-to-completion loop (receive, copy out, send):
 * it has the engine's I/O and wake-ups but not its scheduler, so the
 * figures say what the I/O costs, not what the whole dataplane costs
 * (bench dpnet measures that).
 *
 * Variants (forwarder thread):
 *   mmsg-sleep   recvmmsg batches, ppoll when empty (the engine today)
 *   mmsg-busy    recvmmsg batches, spinning when empty ([dataplane] poll = busy)
 *   v2-sleep     TPACKET_V2 rx ring (a status word per frame), poll when empty
 *   v2-busy      TPACKET_V2 rx ring, spinning on the status word: no system
 *                call to receive at all
 *   v3-sleep     TPACKET_V3 block ring, 1 ms block timeout, poll when empty
 *   mmsg-samecpu mmsg-sleep pinned to the sender's CPU: the wake-up without
 *                an inter-processor interrupt (run-to-completion on one core)
 *
 * Figures (ring.<variant>.*):
 *   p50_us, p99_us   one-way delay of 5,000 frames/s for 2 s; baseline: the
 *                    direct path's quantile, same run
 *   mbps             Mbit/s reaching the far end (the veth's rx bytes) of
 *                    1,400-byte frames sent as fast as possible for 1 s by a
 *                    SCHED_OTHER sender; baseline: the direct path's
 *   cpu_s_per_gbit   the forwarder thread's CPU time per forwarded Gbit
 *                    (CLOCK_THREAD_CPUTIME_ID: its system calls included,
 *                    softirq work done in other contexts not); baseline:
 *                    mmsg-sleep's
 * The machine is shared (2 cores, other jobs): the figures are indicative,
 * the comparison within one run is what counts.
 *
 * Needs root (unshare, AF_PACKET); without it the group prints why and
 * reports nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp/dp.h"
#include "bench/report.h"

#define ETYPE 0x88b5
#define BATCH 32
#define LAT_PPS 5000
#define LAT_SECS 2
#define TPUT_BYTES 1400
#define FRAME_CAP 2048
#define REPS 3

enum io { IO_MMSG, IO_V2, IO_V3 };

struct variant {
	const char *name;
	enum io io;
	bool busy;
	int cpu;			/* -1: the other CPU than the sender's */
};

static const struct variant variants[] = {
	{ "mmsg-sleep", IO_MMSG, false, -1 }, { "mmsg-busy", IO_MMSG, true, -1 },
	{ "v2-sleep", IO_V2, false, -1 },    { "v2-busy", IO_V2, true, -1 },
	{ "v3-sleep", IO_V3, false, -1 },    { "mmsg-samecpu", IO_MMSG, false, 0 },
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

struct run {
	const struct variant *v;
	atomic_bool stop;
	uint64_t fwd_frames, fwd_bytes, cpu_ns;
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pinned, at SCHED_FIFO 10 as the lab runs the dataplane's threads: the
 * machine is shared, and a thread that waits for a CPU behind other jobs
 * measures them, not the I/O. The flooding sender stays SCHED_OTHER, as a
 * VM below its host's dataplane: at the same FIFO priority on one core it
 * would never let the forwarder run. Best effort. */
static void pin(int cpu, bool fifo)
{
	struct sched_param sp = { .sched_priority = fifo ? 10 : 0 };
	cpu_set_t set;

	pthread_setschedparam(pthread_self(), fifo ? SCHED_FIFO : SCHED_OTHER, &sp);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "bench ring: `%s` failed\n", cmd);
	return rc;
}

static int pkt_socket(const char *dev, uint16_t proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto)), one = 1;
	int buf = 4 << 20;

	if (fd < 0)
		return -1;
	sll.sll_ifindex = (int)if_nametoindex(dev);
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- forwarder ------------------------------------------------------------------ */

struct ring {
	uint8_t *map;
	size_t len;
	unsigned frames, frame_size, blocks, block_size, cur;
	struct mmsghdr m[BATCH];	/* frames read, sent in one sendmmsg */
	struct iovec iov[BATCH];
	unsigned n;
};

/* Queues a frame of the ring for the next sendmmsg. */
static void tx_add(struct run *run, struct ring *r, uint8_t *f, unsigned len)
{
	r->iov[r->n] = (struct iovec){ f, len };
	r->m[r->n].msg_hdr = (struct msghdr){ .msg_iov = &r->iov[r->n], .msg_iovlen = 1 };
	r->n++;
	run->fwd_frames++;
	run->fwd_bytes += len;
}

static void tx_flush(int out, struct ring *r)
{
	if (r->n)
		sendmmsg(out, r->m, r->n, 0);
	r->n = 0;
}

static int ring_setup(int fd, enum io io, struct ring *r)
{
	int ver = io == IO_V2 ? TPACKET_V2 : TPACKET_V3, rc;

	memset(r, 0, sizeof(*r));
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0)
		return -1;
	r->block_size = 1 << 16;
	r->blocks = 64;
	r->frame_size = FRAME_CAP;
	r->frames = r->block_size / r->frame_size * r->blocks;
	if (io == IO_V2) {
		struct tpacket_req q = { r->block_size, r->blocks, r->frame_size, r->frames };

		rc = setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &q, sizeof(q));
	} else {
		struct tpacket_req3 q = { .tp_block_size = r->block_size, .tp_block_nr = r->blocks,
					  .tp_frame_size = r->frame_size, .tp_frame_nr = r->frames,
					  .tp_retire_blk_tov = 1 };

		rc = setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &q, sizeof(q));
	}
	if (rc < 0)
		return -1;
	r->len = (size_t)r->block_size * r->blocks;
	r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return r->map == MAP_FAILED ? -1 : 0;
}

static void wait_in(int fd, bool busy)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (busy)
		sched_yield();
	else
		poll(&p, 1, 100);
}

static void fwd_mmsg(struct run *run, int in, int out)
{
	static uint8_t buf[BATCH][FRAME_CAP];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];

	while (!atomic_load(&run->stop)) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], FRAME_CAP };
			m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		if ((n = recvmmsg(in, m, BATCH, MSG_DONTWAIT, NULL)) <= 0) {
			wait_in(in, run->v->busy);
			continue;
		}
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = m[i].msg_len;
			run->fwd_bytes += m[i].msg_len;
		}
		run->fwd_frames += (uint64_t)n;
		sendmmsg(out, m, (unsigned)n, 0);
	}
}

static struct tpacket2_hdr *v2_slot(struct ring *r, unsigned i)
{
	return (void *)(r->map + (size_t)(i % r->frames) * r->frame_size);
}

/* TPACKET_V2: one header per frame slot; the kernel sets TP_STATUS_USER
 * when the frame is there, we give the slot back with TP_STATUS_KERNEL
 * once the batch holding it is sent. */
static void fwd_v2(struct run *run, int in, int out, struct ring *r)
{
	while (!atomic_load(&run->stop)) {
		unsigned first = r->cur;
		struct tpacket2_hdr *h;

		while (r->n < BATCH) {
			h = v2_slot(r, r->cur);
			if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
				break;
			tx_add(run, r, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
			r->cur = (r->cur + 1) % r->frames;
		}
		if (!r->n) {
			wait_in(in, run->v->busy);
			continue;
		}
		tx_flush(out, r);
		for (unsigned i = first; i != r->cur; i = (i + 1) % r->frames)
			__atomic_store_n(&v2_slot(r, i)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	}
}

/* TPACKET_V3: the kernel hands over whole blocks, when full or when the
 * block timeout retires them. */
static void fwd_v3(struct run *run, int in, int out, struct ring *r)
{
	while (!atomic_load(&run->stop)) {
		struct tpacket_block_desc *b = (void *)(r->map + (size_t)r->cur * r->block_size);
		struct tpacket3_hdr *h;

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
			wait_in(in, run->v->busy);
			continue;
		}
		h = (void *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < b->hdr.bh1.num_pkts; i++) {
			tx_add(run, r, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
			if (r->n == BATCH)
				tx_flush(out, r);
			h = (void *)((uint8_t *)h + h->tp_next_offset);
		}
		tx_flush(out, r);
		__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		r->cur = (r->cur + 1) % r->blocks;
	}
}

static void *forwarder(void *arg)
{
	struct run *run = arg;
	int in = pkt_socket("a1", ETYPE), out = pkt_socket("b0", ETYPE);
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	struct ring r = { 0 };

	pin(run->v->cpu >= 0 ? run->v->cpu : 1, true);
	if (in < 0 || out < 0 || (run->v->io != IO_MMSG && ring_setup(in, run->v->io, &r) < 0)) {
		perror("bench ring: forwarder sockets");
		exit(1);
	}
	if (run->v->io == IO_MMSG)
		fwd_mmsg(run, in, out);
	else if (run->v->io == IO_V2)
		fwd_v2(run, in, out, &r);
	else
		fwd_v3(run, in, out, &r);
	run->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (run->v->io != IO_MMSG)
		munmap(r.map, r.len);
	close(in);
	close(out);
	return NULL;
}

/* ---- sender and receiver ----------------------------------------------------------- */

struct probe {
	uint32_t magic;
	uint64_t seq, send_ns;
} __attribute__((packed));

struct rx {
	const char *dev;
	atomic_bool stop;
	struct dp_hist lat;
};

static void rx_frame(struct rx *rx, const uint8_t *f, size_t len, uint64_t ts)
{
	struct probe p;

	if (len < DP_ETH_HLEN + sizeof(p))
		return;
	memcpy(&p, f + DP_ETH_HLEN, sizeof(p));
	if (p.magic != 0x52494e47 || !ts)
		return;
	if (ts > p.send_ns)
		dp_hist_record(&rx->lat, ts - p.send_ns);
}

static void *receiver(void *arg)
{
	struct rx *rx = arg;
	static uint8_t buf[BATCH][FRAME_CAP];
	static char cm[BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct timeval tv = { .tv_usec = 50000 };
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int fd = pkt_socket(rx->dev, ETYPE), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&rx->stop)) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], FRAME_CAP };
			m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
							.msg_control = cm[i],
							.msg_controllen = sizeof(cm[i]) };
		}
		n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr);
			struct timespec ts = { 0 };

			if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS)
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			rx_frame(rx, buf[i], m[i].msg_len,
				 (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
		}
	}
	close(fd);
	return NULL;
}

static void fill(uint8_t *f, size_t len, uint64_t seq)
{
	struct probe p = { 0x52494e47, seq, now_ns(CLOCK_REALTIME) };

	memset(f, 0xff, 6);				/* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	memset(f + DP_ETH_HLEN, 0, len - DP_ETH_HLEN);
	memcpy(f + DP_ETH_HLEN, &p, sizeof(p));
}

/* Paced probes (latency) or a flood of full frames for tput_s (throughput). */
static void send_frames(int fd, bool flood)
{
	uint8_t f[BATCH][TPUT_BYTES];
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), seq = 0;

	pin(0, !flood);
	if (flood) {
		struct mmsghdr m[BATCH];
		struct iovec iov[BATCH];

		while (now_ns(CLOCK_MONOTONIC) - t0 < 1000000000ull) {
			for (int i = 0; i < BATCH; i++) {
				fill(f[i], TPUT_BYTES, seq++);
				iov[i] = (struct iovec){ f[i], TPUT_BYTES };
				m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
			}
			sendmmsg(fd, m, BATCH, 0);
		}
		return;
	}
	for (seq = 0; seq < (uint64_t)LAT_PPS * LAT_SECS; seq++) {
		uint64_t due = t0 + seq * (1000000000ull / LAT_PPS);
		struct timespec ts = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		fill(f[0], 64, seq);
		send(fd, f[0], 64, 0);
	}
}

struct result {
	double p50_us, p99_us, mbps, cpu_s_per_gbit;
};

/* Bytes the device received: a veth counts what its peer transmitted to
 * it, whoever reads it afterwards (no receiver thread to starve). From
 * getifaddrs (rtnetlink), since /sys shows the namespace it was mounted
 * in, not ours; its counters are 32-bit, enough for a 1 s delta. */
static uint32_t rx_bytes(const char *dev)
{
	struct ifaddrs *ifa, *i;
	uint32_t v = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, dev))
			v = ((struct rtnl_link_stats *)i->ifa_data)->rx_bytes;
	freeifaddrs(ifa);
	return v;
}

/* One measurement: v NULL is the direct path. */
static void measure(const struct variant *v, bool flood, struct result *res)
{
	struct run run = { .v = v };
	struct rx rx = { .dev = v ? "b1" : "a1" };
	pthread_t fw, rt;
	int out = pkt_socket("a0", ETYPE);

	uint32_t b0;

	dp_hist_init(&rx.lat);
	b0 = rx_bytes(rx.dev);
	pthread_create(&rt, NULL, receiver, &rx);
	if (v)
		pthread_create(&fw, NULL, forwarder, &run);
	usleep(100000);
	send_frames(out, flood);
	usleep(100000);
	atomic_store(&run.stop, true);
	atomic_store(&rx.stop, true);
	if (v)
		pthread_join(fw, NULL);
	pthread_join(rt, NULL);
	close(out);
	if (!flood) {
		res->p50_us = (double)dp_hist_quantile(&rx.lat, 500000) / 1e3;
		res->p99_us = (double)dp_hist_quantile(&rx.lat, 990000) / 1e3;
		return;
	}
	res->mbps = (double)(uint32_t)(rx_bytes(rx.dev) - b0) * 8 / 1e6;	/* sent for 1 s */
	res->cpu_s_per_gbit = run.fwd_bytes ?
			      (double)run.cpu_ns / 1e9 / ((double)run.fwd_bytes * 8 / 1e9) : 0;
}

static int topology(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		perror("bench ring: unshare");
		return -1;
	}
	return sh("ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
		  "sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && "
		  "ip link add a0 type veth peer name a1 && ip link add b0 type veth peer name b1 && "
		  "for d in a0 a1 b0 b1; do ip link set $d up; done") ? -1 : 0;
}

static double med(const struct result *r, size_t off)
{
	double v[REPS];

	for (int k = 0; k < REPS; k++)
		v[k] = *(const double *)((const char *)&r[k * N_VARIANTS] + off);
	return bench_median(v, REPS);
}

static void report(size_t i, const struct result *direct, const struct result *r)
{
	const char *v = variants[i].name;
	char name[64], base[64];

	snprintf(name, sizeof(name), "ring.%s.p50_us", v);
	bench_report(name, med(r + i, offsetof(struct result, p50_us)), "us", BENCH_LOWER,
		     "direct veth, same run", med(direct + i, offsetof(struct result, p50_us)));
	snprintf(name, sizeof(name), "ring.%s.p99_us", v);
	bench_report(name, med(r + i, offsetof(struct result, p99_us)), "us", BENCH_LOWER,
		     "direct veth, same run", med(direct + i, offsetof(struct result, p99_us)));
	snprintf(name, sizeof(name), "ring.%s.mbps", v);
	bench_report(name, med(r + i, offsetof(struct result, mbps)), "Mbit/s", BENCH_HIGHER,
		     "direct veth, same run", med(direct + i, offsetof(struct result, mbps)));
	snprintf(name, sizeof(name), "ring.%s.cpu_s_per_gbit", v);
	snprintf(base, sizeof(base), "%s, same run", variants[0].name);
	bench_report(name, med(r + i, offsetof(struct result, cpu_s_per_gbit)), "s/Gbit",
		     BENCH_LOWER, base, med(r, offsetof(struct result, cpu_s_per_gbit)));
}

int main(void)
{
	static struct result direct[REPS * N_VARIANTS], r[REPS * N_VARIANTS];

	if (geteuid() != 0) {
		printf("bench ring: needs root (a network namespace and AF_PACKET); skipped\n");
		return BENCH_SKIPPED;
	}
	if (topology() < 0)
		return 1;
	for (int k = 0; k < REPS; k++)		/* each variant beside its own direct run */
		for (size_t i = 0; i < N_VARIANTS; i++) {
			struct result *d = &direct[k * N_VARIANTS + i], *x = &r[k * N_VARIANTS + i];

			measure(NULL, false, d);
			measure(&variants[i], false, x);
			measure(NULL, true, d);
			measure(&variants[i], true, x);
		}
	printf("  (medians of %d repetitions)\n", REPS);
	for (size_t i = 0; i < N_VARIANTS; i++)
		report(i, direct, r);
	return 0;
}
