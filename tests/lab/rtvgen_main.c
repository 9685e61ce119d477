/* rtvgen_main.c — constant-rate UDP probes for the lab: one-way delay, loss,
 * reordering and deadline misses of a real-time flow, and NRT floods.
 *
 *   rtvgen send  --dst IP:PORT --rate R [--size B | --payload B] [--dscp N]
 *                [--duration D | --count N] [--deadline D] [--flow NAME]
 *                [--burst N] [--json | -o json]
 *   rtvgen flood --dst IP:PORT --rate R ...   (send with flow "NRT")
 *   rtvgen recv  --port P [--bind IP] [--deadline D] [--duration D] [--csv FILE]
 *                [--quiet] [--json | -o json]
 *
 * Sizes. --size is the Ethernet frame without FCS, as the paper counts its
 * 1,502-byte packets: UDP payload = size − 42 (Ethernet 14 + IPv4 20 + UDP 8);
 * 78 ≤ size ≤ 1514, so one frame, no IP fragments. --payload sets the UDP
 * payload instead (36..65507; above 1472 the kernel fragments). --rate counts
 * those frame bytes (size × 8 bits per packet); the receiver's Mbit/s does too.
 * An MPLS label pushed by rtvd (+4 B) is not counted.
 *
 * Pacing. Packet i is due at start + i·size·8/rate on CLOCK_MONOTONIC, computed
 * from i each time (no accumulated drift) and waited for with clock_nanosleep
 * on an absolute deadline (timer slack 1 ns). Packets due together leave in one
 * sendmmsg, but never more than --burst (8; 64 for flood) back to back: a
 * sender further behind than that shifts its schedule (a "slip", counted)
 * instead of dumping a queue into the network that the flow never had.
 *
 * Payload (big-endian), 36 bytes, the rest zero:
 *   0 magic "RTVG"  4 version 1  5 flags (1 = FIN)  6 reserved (2)
 *   8 seq (u64, from 0)  16 send time (u64 ns, CLOCK_REALTIME, read just
 *   before the send call)  24 deadline (u32 µs, 0 = none)  28 flow name (8)
 * The sender ends with three FIN probes (0, 20, 200 ms after the last) whose
 * seq is the number of packets sent, so the receiver can count losses at the
 * tail; the receiver stops at the first FIN of its flow, at --duration, or
 * on SIGINT/SIGTERM.
 *
 * Receiving. recvmmsg in batches of 64; the receive time is the kernel's
 * SO_TIMESTAMPNS stamp (CLOCK_REALTIME when the frame reached the VM's
 * stack), else clock_gettime right after recvmmsg returns. The lab's
 * namespaces share one clock, so receive − send time is a true one-way delay.
 * One sender per port: the first probe names the flow; probes of another
 * flow are counted as "foreign" and otherwise ignored. Loss counts sequence
 * numbers from 0 (start the receiver first) up to the FIN's count (or the
 * highest seen) that never arrived; a probe older than the highest seen is
 * "reordered", one seen before (within the last 65,536) a duplicate. A miss
 * is a received probe with delay > deadline (--deadline, else the sender's);
 * lost probes are reported apart, not as misses. Quantiles come from
 * dp/dp_hist (log-linear, ≤ 3.1 % above the true value); min, avg and max
 * are exact. The per-second series is indexed by receive time since start.
 *
 * Exit status: 0, 1 on a runtime error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp/dp.h"
#include "common/units.h"

#define PROBE_MAGIC 0x52545647u	/* "RTVG" */
#define PROBE_VERSION 1
#define PROBE_FIN 0x01
#define PROBE_HDR_BYTES 36
#define FLOW_NAME_LEN 8
#define L2_OVERHEAD_BYTES 42	/* Ethernet 14 + IPv4 20 + UDP 8 */
#define MIN_FRAME_BYTES (L2_OVERHEAD_BYTES + PROBE_HDR_BYTES)
#define MAX_FRAME_BYTES 1514
#define MAX_PAYLOAD_BYTES 65507
#define MAX_PPS 2000000
#define RX_BATCH 64
#define TX_BATCH 64
#define RX_BUF_BYTES 2048	/* the probe header is all we read of a datagram */
#define DUP_WINDOW (1u << 16)
#define NSEC 1000000000ull

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rtvgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(rtvgen --help for usage)\n");
	return 2;
}

static const char help_text[] =
	"usage:\n"
	"  rtvgen send  --dst IP:PORT --rate R [--size B | --payload B] [--dscp N]\n"
	"               [--duration D | --count N] [--deadline D] [--flow NAME] [--burst N] [--json]\n"
	"  rtvgen flood --dst IP:PORT --rate R [the same options; flow \"NRT\"]\n"
	"  rtvgen recv  --port P [--bind IP] [--deadline D] [--duration D] [--csv FILE]\n"
	"               [--quiet] [--json | -o json]\n"
	"Rates like 2M or 100mbit, durations like 5ms or 10s. --size is the Ethernet frame\n"
	"without FCS (default 1502 B = UDP payload + 42). Senders run 10s by default;\n"
	"recv runs until the sender's FIN, --duration or a signal. More: the top of\n"
	"tests/lab/rtvgen_main.c and tests/lab/README.md.\n";

/* ------------------------------------------------------------------------- */
/* Probes                                                                     */

struct probe_wire {
	uint32_t magic;
	uint8_t version, flags;
	uint16_t reserved;
	uint64_t seq, send_ns;
	uint32_t deadline_us;
	char flow[FLOW_NAME_LEN];
} __attribute__((packed));
_Static_assert(sizeof(struct probe_wire) == PROBE_HDR_BYTES, "probe header layout");

struct probe {
	uint8_t flags;
	uint64_t seq, send_ns;
	uint32_t deadline_us;
	char flow[FLOW_NAME_LEN + 1];
};

static void probe_encode(uint8_t *b, const struct probe *p)
{
	struct probe_wire w = {
		.magic = htobe32(PROBE_MAGIC), .version = PROBE_VERSION, .flags = p->flags,
		.seq = htobe64(p->seq), .send_ns = htobe64(p->send_ns),
		.deadline_us = htobe32(p->deadline_us),
	};

	memcpy(w.flow, p->flow, strnlen(p->flow, FLOW_NAME_LEN));
	memcpy(b, &w, sizeof(w));
}

/* 0, or -EINVAL for anything that is not one of our probes. */
static int probe_decode(const uint8_t *b, size_t len, struct probe *p)
{
	struct probe_wire w;

	if (len < sizeof(w))
		return -EINVAL;
	memcpy(&w, b, sizeof(w));
	if (be32toh(w.magic) != PROBE_MAGIC || w.version != PROBE_VERSION)
		return -EINVAL;
	p->flags = w.flags;
	p->seq = be64toh(w.seq);
	p->send_ns = be64toh(w.send_ns);
	p->deadline_us = be32toh(w.deadline_us);
	memcpy(p->flow, w.flow, FLOW_NAME_LEN);
	p->flow[FLOW_NAME_LEN] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Options                                                                    */

struct opts {
	bool flood, recv, json;
	uint64_t deadline_ns, duration_ns;
	/* send, flood */
	struct sockaddr_in dst;
	uint64_t rate_bps, frame_bytes, payload_bytes, count, burst;
	unsigned dscp;
	char flow[FLOW_NAME_LEN + 1];
	bool have_dst;
	/* recv */
	struct sockaddr_in bind;
	const char *csv;
	bool quiet, have_port;
};

enum { OPT_DST = 256, OPT_RATE, OPT_SIZE, OPT_PAYLOAD, OPT_DSCP, OPT_DURATION, OPT_COUNT,
       OPT_DEADLINE, OPT_FLOW, OPT_BURST, OPT_JSON, OPT_PORT, OPT_BIND, OPT_CSV, OPT_QUIET,
       OPT_HELP };

#define OPT(name, arg, id) { name, arg, NULL, id }
static const struct option tx_longopts[] = {
	OPT("dst", required_argument, OPT_DST), OPT("rate", required_argument, OPT_RATE),
	OPT("size", required_argument, OPT_SIZE), OPT("payload", required_argument, OPT_PAYLOAD),
	OPT("dscp", required_argument, OPT_DSCP), OPT("duration", required_argument, OPT_DURATION),
	OPT("count", required_argument, OPT_COUNT), OPT("deadline", required_argument, OPT_DEADLINE),
	OPT("flow", required_argument, OPT_FLOW), OPT("burst", required_argument, OPT_BURST),
	OPT("json", no_argument, OPT_JSON), OPT("help", no_argument, OPT_HELP), { 0 }
};
static const struct option rx_longopts[] = {
	OPT("port", required_argument, OPT_PORT), OPT("bind", required_argument, OPT_BIND),
	OPT("deadline", required_argument, OPT_DEADLINE), OPT("duration", required_argument, OPT_DURATION),
	OPT("csv", required_argument, OPT_CSV), OPT("quiet", no_argument, OPT_QUIET),
	OPT("json", no_argument, OPT_JSON), OPT("help", no_argument, OPT_HELP), { 0 }
};
#undef OPT

static int parse_uint(const char *what, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		return usage("%s: \"%s\" is not a whole number in %" PRIu64 "..%" PRIu64, what, s, lo, hi);
	*out = v;
	return 0;
}

static int parse_unit(const char *what, const char *s, uint64_t *out,
		      int (*fn)(const char *, uint64_t *, char *, size_t))
{
	char err[160];

	if (fn(s, out, err, sizeof(err)))
		return usage("%s: %s", what, err);
	return 0;
}

/* "IP:PORT", IPv4 only (the lab is IPv4). */
static int parse_dst(const char *s, struct sockaddr_in *sa)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;
	uint64_t port;

	if (!colon || n == 0 || n >= sizeof(ip))
		return usage("--dst: \"%s\" is not IP:PORT (e.g. 10.0.2.11:18000)", s);
	memcpy(ip, s, n);
	ip[n] = '\0';
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return usage("--dst: \"%s\" is not an IPv4 address", ip);
	if (parse_uint("--dst port", colon + 1, 1, 65535, &port))
		return 2;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static int parse_flow(const char *s, char *flow)
{
	size_t n = strlen(s);

	if (n == 0 || n > FLOW_NAME_LEN)
		return usage("--flow: a name of 1..%d characters, got \"%s\"", FLOW_NAME_LEN, s);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.:", s[i]))
			return usage("--flow: \"%s\": use letters, digits and -_.:", s);
	memcpy(flow, s, n + 1);
	return 0;
}

/* --size (frame) or --payload (UDP payload): the other follows. */
static int parse_frame(struct opts *o, const char *arg, bool payload)
{
	uint64_t v, lo = payload ? PROBE_HDR_BYTES : MIN_FRAME_BYTES;
	uint64_t hi = payload ? MAX_PAYLOAD_BYTES : MAX_FRAME_BYTES;

	if (parse_unit(payload ? "--payload" : "--size", arg, &v, rtv_parse_size_bytes))
		return 2;
	if (v < lo || v > hi)
		return usage("%s: %" PRIu64 "..%" PRIu64 " bytes, got %" PRIu64 "%s",
			     payload ? "--payload" : "--size (the frame: UDP payload + 42)", lo, hi, v,
			     payload ? "" : "; --payload allows larger datagrams");
	o->payload_bytes = payload ? v : v - L2_OVERHEAD_BYTES;
	o->frame_bytes = o->payload_bytes + L2_OVERHEAD_BYTES;
	return 0;
}

/* A duration of at least 1 µs; a deadline must also fit the probe's 32-bit µs. */
static int parse_duration(const char *what, const char *arg, uint64_t *ns, bool deadline)
{
	if (parse_unit(what, arg, ns, rtv_parse_duration_ns))
		return 2;
	if (*ns < 1000 || (deadline && *ns / 1000 > UINT32_MAX))
		return usage("%s: at least 1us%s, got %s", what, deadline ? " and below 71 min" : "", arg);
	return 0;
}

static int parse_small(const char *what, const char *arg, uint64_t lo, uint64_t hi, unsigned *out)
{
	uint64_t v;

	if (parse_uint(what, arg, lo, hi, &v))
		return 2;
	*out = (unsigned)v;
	return 0;
}

static int opt_apply(struct opts *o, int c, const char *arg)
{
	unsigned port;

	switch (c) {
	case OPT_DST: o->have_dst = true; return parse_dst(arg, &o->dst);
	case OPT_RATE: return parse_unit("--rate", arg, &o->rate_bps, rtv_parse_rate_bps);
	case OPT_SIZE: return parse_frame(o, arg, false);
	case OPT_PAYLOAD: return parse_frame(o, arg, true);
	case OPT_DSCP: return parse_small("--dscp", arg, 0, 63, &o->dscp);
	case OPT_DURATION: return parse_duration("--duration", arg, &o->duration_ns, false);
	case OPT_COUNT: return parse_uint("--count", arg, 1, UINT64_MAX / 2, &o->count);
	case OPT_DEADLINE: return parse_duration("--deadline", arg, &o->deadline_ns, true);
	case OPT_FLOW: return parse_flow(arg, o->flow);
	case OPT_BURST: return parse_uint("--burst", arg, 1, TX_BATCH, &o->burst);
	case OPT_JSON: o->json = true; return 0;
	case 'o':
		if (strcmp(arg, "json") != 0)
			return usage("-o: only \"json\" is known, got \"%s\"", arg);
		o->json = true;
		return 0;
	case OPT_PORT:
		if (parse_small("--port", arg, 1, 65535, &port))
			return 2;
		o->bind.sin_port = htons((uint16_t)port);
		o->have_port = true;
		return 0;
	case OPT_BIND:
		return inet_pton(AF_INET, arg, &o->bind.sin_addr) == 1 ? 0 :
		       usage("--bind: \"%s\" is not an IPv4 address", arg);
	case OPT_CSV: o->csv = arg; return 0;
	case OPT_QUIET: o->quiet = true; return 0;
	default: return usage("option %d not handled", c);
	}
}

static int opts_check(const struct opts *o, const char *cmd)
{
	if (o->recv)
		return o->have_port ? 0 : usage("recv: --port is required");
	if (!o->have_dst)
		return usage("%s: --dst IP:PORT is required", cmd);
	if (!o->rate_bps)
		return usage("%s: --rate is required (e.g. --rate 2M)", cmd);
	if (o->rate_bps / (o->frame_bytes * 8) > MAX_PPS)
		return usage("%s: %" PRIu64 " B frames at that rate are over %d packets/s; use larger frames "
			     "or a lower rate", cmd, o->frame_bytes, MAX_PPS);
	return 0;
}

/* 0, 2 (usage: message printed) or -1 (--help printed). */
static int opts_parse(int argc, char **argv, struct opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->recv = !strcmp(argv[0], "recv");
	o->flood = !strcmp(argv[0], "flood");
	o->frame_bytes = 1502;
	o->payload_bytes = 1502 - L2_OVERHEAD_BYTES;
	o->duration_ns = o->recv ? 0 : 10 * NSEC;
	o->burst = o->flood ? TX_BATCH : 8;	/* an overload needs its mean rate more than smoothness */
	strcpy(o->flow, o->flood ? "NRT" : "A");
	o->bind.sin_family = AF_INET;
	o->bind.sin_addr.s_addr = htonl(INADDR_ANY);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", o->recv ? rx_longopts : tx_longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(help_text, stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return usage("%s: %s \"%s\"", argv[0], c == '?' ? "unknown option" : "a value is missing after",
				     argv[optind - 1]);
		rc = opt_apply(o, c, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage("%s: unexpected argument \"%s\"", argv[0], argv[optind]);
	return opts_check(o, argv[0]);
}

/* ------------------------------------------------------------------------- */
/* Sender                                                                     */

struct tx_stats {
	uint64_t sent, send_errors, slips, elapsed_ns;
	int last_errno;
};

/* Packets due together go out in one sendmmsg: a header each, one shared
 * zeroed tail. */
struct tx_batch {
	struct mmsghdr m[TX_BATCH];
	struct iovec iov[TX_BATCH][2];
	uint8_t hdr[TX_BATCH][PROBE_HDR_BYTES];
	const uint8_t *tail;
};

static int tx_socket(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), tos = (int)(o->dscp << 2), buf = 4 << 20;

	if (fd < 0) {
		fprintf(stderr, "rtvgen: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ||
	    connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0) {
		fprintf(stderr, "rtvgen: cannot send to %s:%u: %s\n", inet_ntoa(o->dst.sin_addr),
			ntohs(o->dst.sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Due time of packet i after the start: i · bits / rate, exact. */
static uint64_t tx_due_ns(const struct opts *o, uint64_t i)
{
	return (uint64_t)((unsigned __int128)i * o->frame_bytes * 8 * NSEC / o->rate_bps);
}

static void tx_send(int fd, struct tx_batch *b, const struct opts *o, uint64_t seq, unsigned n,
		    struct tx_stats *st)
{
	struct probe p = { .deadline_us = (uint32_t)(o->deadline_ns / 1000) };
	unsigned done = 0;
	int rc;

	memcpy(p.flow, o->flow, sizeof(p.flow));
	for (unsigned k = 0; k < n; k++) {
		p.seq = seq + k;
		p.send_ns = now_ns(CLOCK_REALTIME);
		probe_encode(b->hdr[k], &p);
		b->iov[k][0] = (struct iovec){ b->hdr[k], PROBE_HDR_BYTES };
		b->iov[k][1] = (struct iovec){ (void *)b->tail, o->payload_bytes - PROBE_HDR_BYTES };
		b->m[k].msg_hdr = (struct msghdr){ .msg_iov = b->iov[k], .msg_iovlen = 2 };
	}
	while (done < n) {
		rc = sendmmsg(fd, b->m + done, n - done, 0);
		if (rc <= 0) {
			/* ENOBUFS/EAGAIN/ECONNREFUSED: dropped here; the seq stays used */
			st->send_errors++;
			st->last_errno = errno;
			rc = 1;
		}
		done += (unsigned)rc;
	}
	st->sent += n;
}

/* How many of packets i, i+1, … are due by `now`: at most the burst. */
static unsigned tx_due_count(const struct opts *o, uint64_t start, uint64_t end, uint64_t i,
			     uint64_t now)
{
	unsigned n = 1;
	uint64_t due;

	while (n < o->burst && (!o->count || i + n < o->count)) {
		due = start + tx_due_ns(o, i + n);
		if (due > now || (!o->count && due >= end))
			break;
		n++;
	}
	return n;
}

static void tx_loop(int fd, struct tx_batch *b, const struct opts *o, struct tx_stats *st)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), start = t0, end = t0 + o->duration_ns, i = 0;
	uint64_t slip_ns = o->burst * (tx_due_ns(o, 1) ? tx_due_ns(o, 1) : 1), now, due;
	unsigned n;

	while (!stop && (!o->count || i < o->count)) {
		due = start + tx_due_ns(o, i);
		if (!o->count && due >= end)	/* wall time: slips do not extend the run */
			break;
		while ((now = now_ns(CLOCK_MONOTONIC)) < due && !stop) {
			struct timespec ts = { (time_t)(due / NSEC), (long)(due % NSEC) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		if (stop)
			break;
		if (now - due > slip_ns) {	/* too far behind: shift, do not burst */
			start += now - due;
			st->slips++;
		}
		n = tx_due_count(o, start, end, i, now);
		tx_send(fd, b, o, i, n, st);
		i += n;
	}
	/* n packets take n periods: up to when the next one would be due */
	st->elapsed_ns = start - t0 + tx_due_ns(o, st->sent);
}

/* Three FIN probes carry the count for the receiver's tail loss: at once,
 * 20 ms and 200 ms later, so that one gets through after a full queue the
 * flow shared has drained (the receiver waits --duration otherwise). */
static void tx_fin(int fd, const struct opts *o, uint64_t sent)
{
	static const long gap_ms[] = { 0, 20, 180 };
	struct probe p = { .flags = PROBE_FIN, .seq = sent };
	uint8_t hdr[PROBE_HDR_BYTES];

	memcpy(p.flow, o->flow, sizeof(p.flow));
	for (size_t k = 0; k < sizeof(gap_ms) / sizeof(gap_ms[0]); k++) {
		struct timespec gap = { 0, gap_ms[k] * 1000000 };

		nanosleep(&gap, NULL);
		p.send_ns = now_ns(CLOCK_REALTIME);
		probe_encode(hdr, &p);
		send(fd, hdr, sizeof(hdr), 0);
	}
}

static void tx_report(const struct opts *o, const struct tx_stats *st)
{
	double s = (double)(st->elapsed_ns ? st->elapsed_ns : 1) / 1e9;
	double mbps = (double)st->sent * (double)o->frame_bytes * 8 / s / 1e6;
	const char *role = o->flood ? "flood" : "send";
	char dst[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &o->dst.sin_addr, dst, sizeof(dst));
	if (o->json) {
		printf("{\"role\": \"%s\", \"flow\": \"%s\", \"dst\": \"%s:%u\", \"frame_bytes\": %" PRIu64
		       ", \"payload_bytes\": %" PRIu64 ", \"dscp\": %u, \"rate_bps\": %" PRIu64 ", \"sent\": %" PRIu64
		       ", \"elapsed_s\": %.3f, \"mbps\": %.3f, \"send_errors\": %" PRIu64 ", \"slips\": %" PRIu64 "}\n",
		       role, o->flow, dst, ntohs(o->dst.sin_port), o->frame_bytes, o->payload_bytes, o->dscp,
		       o->rate_bps, st->sent, s, mbps, st->send_errors, st->slips);
		return;
	}
	printf("rtvgen %s: flow %s -> %s:%u, %" PRIu64 " packets of %" PRIu64 " B (UDP payload %" PRIu64
	       " B) in %.3f s = %.3f Mbit/s, dscp %u, %" PRIu64 " schedule slips, %" PRIu64 " send errors%s%s\n",
	       role, o->flow, dst, ntohs(o->dst.sin_port), st->sent, o->frame_bytes, o->payload_bytes, s, mbps,
	       o->dscp, st->slips, st->send_errors, st->send_errors ? ": " : "",
	       st->send_errors ? strerror(st->last_errno) : "");
}

static int cmd_send(const struct opts *o)
{
	struct tx_stats st = { 0 };
	struct tx_batch *b = calloc(1, sizeof(*b));
	uint8_t *tail = calloc(1, o->payload_bytes);
	int fd = -1, rc = 1;

	if (!b || !tail) {
		fprintf(stderr, "rtvgen: out of memory\n");
		goto out;
	}
	fd = tx_socket(o);
	if (fd < 0)
		goto out;
	b->tail = tail;
	/* the default 50 us timer slack would pace a 100k pps flow at half rate */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	tx_loop(fd, b, o, &st);
	tx_fin(fd, o, st.sent);
	tx_report(o, &st);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(tail);
	free(b);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Receiver                                                                   */

struct rx_second {
	uint64_t pkts, bytes, misses, max_ns, sum_ns;
};

struct rx {
	const struct opts *o;
	struct dp_hist hist;
	char flow[FLOW_NAME_LEN + 1];
	uint64_t deadline_ns;		/* effective: --deadline, else the sender's */
	uint64_t start_ns;		/* CLOCK_REALTIME at start: series t = 0 */
	uint64_t received, bytes, misses, reordered, duplicates, foreign, negative;
	uint64_t next_seq;		/* highest seq seen + 1 */
	uint64_t fin_total;		/* packets the sender says it sent (FIN) */
	uint64_t first_ns, last_ns;	/* receive times of the first and last probe */
	uint64_t seen[DUP_WINDOW / 64];	/* bit per seq, modulo the window */
	struct rx_second *sec;
	size_t n_sec, cap_sec, printed_sec;
	FILE *csv;
	bool got_fin, kernel_ts, user_ts;
};

struct rx_batch {
	struct mmsghdr m[RX_BATCH];
	struct iovec iov[RX_BATCH];
	uint8_t buf[RX_BATCH][RX_BUF_BYTES];
	uint8_t ctl[RX_BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
};

static int rx_socket(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, buf = 8 << 20;
	struct timeval tv = { 0, 100000 };	/* wake up to print seconds and stop */

	if (fd < 0) {
		fprintf(stderr, "rtvgen: socket: %s\n", strerror(errno));
		return -1;
	}
	/* a deep buffer: a burst must be measured, not dropped by us */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (const struct sockaddr *)&o->bind, sizeof(o->bind)) < 0) {
		fprintf(stderr, "rtvgen: cannot listen on UDP %s:%u: %s\n", inet_ntoa(o->bind.sin_addr),
			ntohs(o->bind.sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The second a receive time falls in; NULL if out of memory (not counted). */
static struct rx_second *rx_second_at(struct rx *rx, uint64_t recv_ns)
{
	size_t i = recv_ns > rx->start_ns ? (size_t)((recv_ns - rx->start_ns) / NSEC) : 0, cap;
	struct rx_second *s;

	if (i >= rx->cap_sec) {
		for (cap = rx->cap_sec ? rx->cap_sec : 64; cap <= i; cap *= 2)
			;
		s = realloc(rx->sec, cap * sizeof(*s));
		if (!s)
			return NULL;
		memset(s + rx->cap_sec, 0, (cap - rx->cap_sec) * sizeof(*s));
		rx->sec = s;
		rx->cap_sec = cap;
	}
	if (i >= rx->n_sec)
		rx->n_sec = i + 1;
	return &rx->sec[i];
}

static bool seen_test_set(struct rx *rx, uint64_t seq)
{
	uint64_t i = seq % DUP_WINDOW, bit = 1ull << (i % 64);
	bool was = rx->seen[i / 64] & bit;

	rx->seen[i / 64] |= bit;
	return was;
}

/* Sequence accounting. False for a duplicate (not counted further). */
static bool rx_sequence(struct rx *rx, uint64_t seq)
{
	if (seq >= rx->next_seq) {
		if (seq - rx->next_seq >= DUP_WINDOW)
			memset(rx->seen, 0, sizeof(rx->seen));
		for (uint64_t s = rx->next_seq; s < seq && seq - s < DUP_WINDOW; s++)
			rx->seen[s % DUP_WINDOW / 64] &= ~(1ull << (s % 64));
		seen_test_set(rx, seq);
		rx->next_seq = seq + 1;
		return true;
	}
	if (rx->next_seq - seq <= DUP_WINDOW && seen_test_set(rx, seq)) {
		rx->duplicates++;
		return false;
	}
	rx->reordered++;
	return true;
}

static void rx_record(struct rx *rx, const struct probe *p, uint64_t recv_ns, size_t len)
{
	int64_t delay = (int64_t)(recv_ns - p->send_ns);
	uint64_t d = delay < 0 ? 0 : (uint64_t)delay, frame = len + L2_OVERHEAD_BYTES;
	bool miss = rx->deadline_ns && d > rx->deadline_ns;
	struct rx_second *s = rx_second_at(rx, recv_ns);

	rx->negative += delay < 0;
	dp_hist_record(&rx->hist, d);
	rx->received++;
	rx->bytes += frame;
	rx->misses += miss;
	rx->first_ns = rx->first_ns ? rx->first_ns : recv_ns;
	rx->last_ns = recv_ns;
	if (s) {
		s->pkts++;
		s->bytes += frame;
		s->misses += miss;
		s->sum_ns += d;
		s->max_ns = d > s->max_ns ? d : s->max_ns;
	}
	if (rx->csv)
		fprintf(rx->csv, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s%" PRIu64 ".%03" PRIu64 ",%d\n", p->seq,
			p->send_ns, recv_ns, delay < 0 ? "-" : "", (uint64_t)llabs(delay) / 1000,
			(uint64_t)llabs(delay) % 1000, miss);
}

static void rx_probe(struct rx *rx, const uint8_t *b, size_t len, uint64_t recv_ns)
{
	struct probe p;

	if (probe_decode(b, len, &p) || (rx->flow[0] && strcmp(rx->flow, p.flow) != 0)) {
		rx->foreign++;
		return;
	}
	if (!rx->flow[0]) {
		memcpy(rx->flow, p.flow, sizeof(rx->flow));
		rx->deadline_ns = rx->o->deadline_ns ? rx->o->deadline_ns : (uint64_t)p.deadline_us * 1000;
	}
	if (p.flags & PROBE_FIN) {
		rx->got_fin = true;
		rx->fin_total = p.seq;
	} else if (rx_sequence(rx, p.seq)) {
		rx_record(rx, &p, recv_ns, len);
	}
}

static uint64_t rx_stamp(struct msghdr *mh, uint64_t user_ns, struct rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct timespec ts;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		if (ts.tv_sec) {
			rx->kernel_ts = true;
			return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
		}
	}
	rx->user_ts = true;
	return user_ns;
}

/* Prints each second once it is over (live progress), unless --quiet/--json. */
static void rx_print_series(struct rx *rx, uint64_t now, bool all)
{
	size_t done = now > rx->start_ns ? (size_t)((now - rx->start_ns) / NSEC) : 0;

	if (rx->o->quiet || rx->o->json)
		return;
	if (all || done > rx->n_sec)
		done = rx->n_sec;
	for (; rx->printed_sec < done; rx->printed_sec++) {
		const struct rx_second *s = &rx->sec[rx->printed_sec];

		printf("  t=%4zus %7" PRIu64 " pps %9.3f Mbit/s  delay max %9.3f ms avg %9.3f ms  misses %" PRIu64 "\n",
		       rx->printed_sec, s->pkts, (double)s->bytes * 8 / 1e6, (double)s->max_ns / 1e6,
		       s->pkts ? (double)s->sum_ns / (double)s->pkts / 1e6 : 0.0, s->misses);
	}
}

static int rx_loop(int fd, struct rx *rx, struct rx_batch *b)
{
	uint64_t end = rx->o->duration_ns ? rx->start_ns + rx->o->duration_ns : UINT64_MAX, user;
	int n;

	for (int i = 0; i < RX_BATCH; i++) {
		b->iov[i] = (struct iovec){ b->buf[i], RX_BUF_BYTES };
		b->m[i].msg_hdr = (struct msghdr){ .msg_iov = &b->iov[i], .msg_iovlen = 1 };
	}
	while (!stop && !rx->got_fin && now_ns(CLOCK_REALTIME) < end) {
		for (int i = 0; i < RX_BATCH; i++) {
			b->m[i].msg_hdr.msg_control = b->ctl[i];
			b->m[i].msg_hdr.msg_controllen = sizeof(b->ctl[i]);
		}
		/* MSG_TRUNC: msg_len is the datagram's size even past our buffer */
		n = recvmmsg(fd, b->m, RX_BATCH, MSG_WAITFORONE | MSG_TRUNC, NULL);
		user = now_ns(CLOCK_REALTIME);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			fprintf(stderr, "rtvgen: recvmmsg: %s\n", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++)
			rx_probe(rx, b->buf[i], b->m[i].msg_len, rx_stamp(&b->m[i].msg_hdr, user, rx));
		rx_print_series(rx, user, false);
	}
	return 0;
}

static uint64_t rx_lost(const struct rx *rx)
{
	uint64_t expected = rx->got_fin && rx->fin_total > rx->next_seq ? rx->fin_total : rx->next_seq;

	return expected > rx->received ? expected - rx->received : 0;
}

/* Packets per second and Mbit/s between the first and the last probe. */
static void rx_rates(const struct rx *rx, double *span_s, double *pps, double *mbps)
{
	*span_s = (double)(rx->last_ns - rx->first_ns) / 1e9;
	*pps = *mbps = 0;
	if (rx->received < 2 || *span_s <= 0)
		return;
	/* n packets span n − 1 intervals: leave one packet's bytes out */
	*pps = (double)(rx->received - 1) / *span_s;
	*mbps = (double)(rx->bytes - rx->bytes / rx->received) * 8 / *span_s / 1e6;
}

static void rx_report_json(const struct rx *rx, const struct dp_hist_summary *h)
{
	double span, pps, mbps;

	rx_rates(rx, &span, &pps, &mbps);
	printf("{\"flow\": \"%s\", \"deadline_us\": %.3f, \"received\": %" PRIu64 ", \"lost\": %" PRIu64
	       ", \"sent\": %" PRIu64 ", \"got_fin\": %s, \"reordered\": %" PRIu64 ", \"duplicates\": %" PRIu64
	       ", \"misses\": %" PRIu64 ", \"foreign\": %" PRIu64 ", \"negative_delays\": %" PRIu64
	       ", \"timestamps\": \"%s\", \"span_s\": %.3f, \"pps\": %.1f, \"mbps\": %.3f, \"delay_us\": "
	       "{\"min\": %.3f, \"avg\": %.3f, \"max\": %.3f, \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, "
	       "\"series\": [", rx->flow, (double)rx->deadline_ns / 1e3, rx->received, rx_lost(rx),
	       rx->received + rx_lost(rx), rx->got_fin ? "true" : "false", rx->reordered, rx->duplicates,
	       rx->misses, rx->foreign, rx->negative, rx->user_ts ? (rx->kernel_ts ? "mixed" : "user") : rx->kernel_ts ? "kernel" : "none",
	       span, pps, mbps, (double)h->min / 1e3, (double)h->mean / 1e3, (double)h->max / 1e3,
	       (double)h->p50 / 1e3, (double)h->p99 / 1e3, (double)h->p999 / 1e3);
	for (size_t i = 0; i < rx->n_sec; i++) {
		const struct rx_second *s = &rx->sec[i];

		printf("%s{\"t\": %zu, \"pps\": %" PRIu64 ", \"mbps\": %.3f, \"max_us\": %.3f, \"avg_us\": %.3f, "
		       "\"misses\": %" PRIu64 "}", i ? ", " : "", i, s->pkts, (double)s->bytes * 8 / 1e6,
		       (double)s->max_ns / 1e3, s->pkts ? (double)s->sum_ns / (double)s->pkts / 1e3 : 0.0,
		       s->misses);
	}
	printf("]}\n");
}

static void rx_report(const struct rx *rx)
{
	struct dp_hist_summary h;
	uint64_t lost = rx_lost(rx), sent = rx->received + lost;
	double span, pps, mbps;
	char dl[RTV_FMT_LEN];

	dp_hist_summary(&rx->hist, &h);
	if (rx->o->json) {
		rx_report_json(rx, &h);
		return;
	}
	rx_rates(rx, &span, &pps, &mbps);
	printf("rtvgen recv: flow %s: %" PRIu64 " received, %" PRIu64 " lost (%.3f%%)%s, %" PRIu64
	       " reordered, %" PRIu64 " duplicates\n", rx->flow[0] ? rx->flow : "-", rx->received, lost,
	       sent ? 100.0 * (double)lost / (double)sent : 0.0, rx->got_fin ? "" : " (no FIN: tail not counted)",
	       rx->reordered, rx->duplicates);
	if (!h.count)
		return;
	printf("  delay ms: min %.3f avg %.3f p50 %.3f p99 %.3f p99.9 %.3f max %.3f  (%s timestamps)\n",
	       (double)h.min / 1e6, (double)h.mean / 1e6, (double)h.p50 / 1e6, (double)h.p99 / 1e6,
	       (double)h.p999 / 1e6, (double)h.max / 1e6, rx->user_ts ? "user-space" : "kernel");
	if (rx->deadline_ns)
		printf("  deadline %s: %" PRIu64 " misses (%.3f%% of received)\n",
		       rtv_fmt_duration(dl, sizeof(dl), rx->deadline_ns), rx->misses,
		       100.0 * (double)rx->misses / (double)rx->received);
	printf("  rate %.1f pps, %.3f Mbit/s of frames over %.3f s%s\n", pps, mbps, span,
	       rx->foreign ? "; other traffic on this port was ignored" : "");
}

static int cmd_recv(const struct opts *o)
{
	struct rx *rx = calloc(1, sizeof(*rx));
	struct rx_batch *b = calloc(1, sizeof(*b));
	int fd = -1, rc = 1;

	if (!rx || !b) {
		fprintf(stderr, "rtvgen: out of memory\n");
		goto out;
	}
	rx->o = o;
	dp_hist_init(&rx->hist);
	if (o->csv) {
		rx->csv = fopen(o->csv, "w");
		if (!rx->csv) {
			fprintf(stderr, "rtvgen: cannot write %s: %s\n", o->csv, strerror(errno));
			goto out;
		}
		setvbuf(rx->csv, NULL, _IOFBF, 1 << 20);
		fprintf(rx->csv, "seq,send_ns,recv_ns,delay_us,miss\n");
	}
	fd = rx_socket(o);
	if (fd < 0)
		goto out;
	rx->start_ns = now_ns(CLOCK_REALTIME);
	if (rx_loop(fd, rx, b) == 0) {
		rx_print_series(rx, 0, true);
		rx_report(rx);
		rc = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rx && rx->csv && fclose(rx->csv) != 0) {
		fprintf(stderr, "rtvgen: writing %s: %s\n", o->csv, strerror(errno));
		rc = 1;
	}
	if (rx)
		free(rx->sec);
	free(rx);
	free(b);
	return rc;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct opts o;
	int rc;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(help_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "send") && strcmp(argv[1], "flood") && strcmp(argv[1], "recv"))
		return usage("unknown command \"%s\" (send, flood, recv)", argv[1]);
	rc = opts_parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	return o.recv ? cmd_recv(&o) : cmd_send(&o);
}
