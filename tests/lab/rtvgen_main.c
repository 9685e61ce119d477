/* rtvgen_main.c — constant-rate UDP probes for the lab: one-way delay, loss,
 * reordering and deadline misses of a real-time flow, and NRT floods.
 *
 *   rtvgen send  --dst IP:PORT --rate R [--size B | --payload B] [--dscp N]
 *                [--duration D | --count N] [--deadline D] [--flow NAME]
 *                [--burst N] [--json]
 *   rtvgen flood --dst IP:PORT --rate R ...   (send with flow "NRT", no deadline)
 *   rtvgen recv  --port P [--bind IP] [--deadline D] [--duration D] [--csv FILE]
 *                [--quiet] [--json | -o json]
 *
 * Sizes. --size is the Ethernet frame without FCS, as the paper counts its
 * 1,502-byte packets: UDP payload = size − 42 (Ethernet 14 + IPv4 20 + UDP 8);
 * 78 ≤ size ≤ 1514, so one frame, no IP fragments. --payload sets the UDP
 * payload instead (36..65507; above 1472 the kernel fragments). --rate counts
 * those frame bytes (size × 8 bits per packet); the receiver's Mbit/s does too.
 * MPLS labels added by rtvd (+4 B) are not counted.
 *
 * Pacing. Packet i is due at start + i·size·8/rate on CLOCK_MONOTONIC, computed
 * from i each time (no accumulated drift) and waited for with clock_nanosleep
 * on an absolute deadline. A sender that fell behind sends what is due at once,
 * but never more than --burst packets back to back: past that the schedule
 * slips (counted) instead of bursting, so a preempted sender does not dump a
 * queue into the network that the flow did not have.
 *
 * Payload (big-endian), 36 bytes, the rest zero:
 *   0 magic "RTVG"  4 version 1  5 flags (1 = FIN)  6 reserved (2)
 *   8 seq (u64, from 0)  16 send time (u64 ns, CLOCK_REALTIME, taken just
 *   before the send call)  24 deadline (u32 µs, 0 = none)  28 flow name (8)
 * The sender ends with three FIN probes whose seq is the number of packets
 * sent, so the receiver can count losses at the tail; the receiver stops at
 * the first FIN of its flow, at --duration, or on SIGINT/SIGTERM.
 *
 * Receiving. recvmmsg in batches of 64; the receive time is the kernel's
 * SO_TIMESTAMPNS stamp (CLOCK_REALTIME when the frame reached the VM's
 * stack), else clock_gettime right after recvmmsg returns. The lab's
 * namespaces share one clock, so delay = receive time − send time is a true
 * one-way delay. One sender per port: the first probe names the flow, probes
 * of another flow name are counted apart and otherwise ignored. Loss counts
 * sequence numbers from 0 (start the receiver first) up to the FIN's count
 * (or the highest seen) that never arrived; a probe older than the highest
 * seen is "reordered", one seen before (within the last 65,536) a duplicate.
 * A miss is a received probe with delay > deadline (--deadline, else the one
 * the sender stamped); lost probes are reported apart, not as misses.
 * Quantiles come from agent/dp_hist (log-linear, ≤ 3.1 % above the true
 * value); min, avg and max are exact.
 *
 * Exit status: 0, 1 on a runtime error, 2 on bad usage.
 */
#include <arpa/inet.h>
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

#include "agent/dp.h"
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
#define RX_BATCH 64
#define TX_BATCH 64
#define RX_BUF_BYTES 2048	/* one frame; longer datagrams are truncated */
#define DUP_WINDOW_LOG2 16
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
	"  rtvgen flood --dst IP:PORT --rate R [same options; flow \"NRT\"]\n"
	"  rtvgen recv  --port P [--bind IP] [--deadline D] [--duration D] [--csv FILE]\n"
	"               [--quiet] [--json | -o json]\n"
	"rates like 2M, 100mbit; durations like 5ms, 10s; --size is the Ethernet frame\n"
	"without FCS (default 1502 B = UDP payload + 42); --duration defaults to 10s for\n"
	"senders, to \"until the sender's FIN or a signal\" for recv. See the top of\n"
	"tests/lab/rtvgen_main.c and tests/lab/README.md.\n";

/* ------------------------------------------------------------------------- */
/* Probe encoding                                                             */

struct probe {
	uint8_t flags;
	uint64_t seq;
	uint64_t send_ns;
	uint32_t deadline_us;
	char flow[FLOW_NAME_LEN + 1];
};

static void probe_encode(uint8_t *b, const struct probe *p)
{
	uint32_t v32;
	uint64_t v64;

	v32 = htobe32(PROBE_MAGIC);
	memcpy(b, &v32, 4);
	b[4] = PROBE_VERSION;
	b[5] = p->flags;
	b[6] = b[7] = 0;
	v64 = htobe64(p->seq);
	memcpy(b + 8, &v64, 8);
	v64 = htobe64(p->send_ns);
	memcpy(b + 16, &v64, 8);
	v32 = htobe32(p->deadline_us);
	memcpy(b + 24, &v32, 4);
	memset(b + 28, 0, FLOW_NAME_LEN);
	memcpy(b + 28, p->flow, strnlen(p->flow, FLOW_NAME_LEN));
}

/* 0, or -EINVAL for anything that is not one of our probes. */
static int probe_decode(const uint8_t *b, size_t len, struct probe *p)
{
	uint32_t v32;
	uint64_t v64;

	if (len < PROBE_HDR_BYTES)
		return -EINVAL;
	memcpy(&v32, b, 4);
	if (be32toh(v32) != PROBE_MAGIC || b[4] != PROBE_VERSION)
		return -EINVAL;
	p->flags = b[5];
	memcpy(&v64, b + 8, 8);
	p->seq = be64toh(v64);
	memcpy(&v64, b + 16, 8);
	p->send_ns = be64toh(v64);
	memcpy(&v32, b + 24, 4);
	p->deadline_us = be32toh(v32);
	memcpy(p->flow, b + 28, FLOW_NAME_LEN);
	p->flow[FLOW_NAME_LEN] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Argument helpers                                                           */

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
	uint64_t port;
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (!colon || n == 0 || n >= sizeof(ip))
		return usage("--dst: \"%s\" is not IP:PORT (e.g. 10.0.2.11:18000)", s);
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(sa, 0, sizeof(*sa));
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
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ',' || s[i] == '"' || s[i] == '\\')
			return usage("--flow: \"%s\": use letters, digits and -_.:", s);
	memcpy(flow, s, n + 1);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Sender                                                                     */

struct tx_opts {
	struct sockaddr_in dst;
	uint64_t rate_bps, frame_bytes, payload_bytes;
	uint64_t duration_ns, count, deadline_ns, burst;
	unsigned dscp;
	char flow[FLOW_NAME_LEN + 1];
	bool json, flood;
};

struct tx_stats {
	uint64_t sent, send_errors, slips, elapsed_ns;
	int last_errno;
};

enum { OPT_DST = 256, OPT_RATE, OPT_SIZE, OPT_PAYLOAD, OPT_DSCP, OPT_DURATION, OPT_COUNT,
       OPT_DEADLINE, OPT_FLOW, OPT_BURST, OPT_JSON, OPT_PORT, OPT_BIND, OPT_CSV, OPT_QUIET, OPT_HELP };

static const struct option tx_longopts[] = {
	{ "dst", required_argument, NULL, OPT_DST },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "payload", required_argument, NULL, OPT_PAYLOAD },
	{ "dscp", required_argument, NULL, OPT_DSCP },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "flow", required_argument, NULL, OPT_FLOW },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* -o json, as in rtvctl */
static int out_json(const char *arg, bool *json)
{
	if (strcmp(arg, "json") != 0)
		return usage("-o: only \"json\" is known, got \"%s\"", arg);
	*json = true;
	return 0;
}

static int tx_opt(struct tx_opts *o, int c, const char *arg, bool *have_dst)
{
	uint64_t v;

	switch (c) {
	case OPT_DST: *have_dst = true; return parse_dst(arg, &o->dst);
	case OPT_RATE: return parse_unit("--rate", arg, &o->rate_bps, rtv_parse_rate_bps);
	case OPT_SIZE:
		if (parse_unit("--size", arg, &v, rtv_parse_size_bytes))
			return 2;
		if (v < MIN_FRAME_BYTES || v > MAX_FRAME_BYTES)
			return usage("--size: the frame size must be %d..%d bytes (UDP payload + %d), got %" PRIu64
				     "; use --payload for larger datagrams", MIN_FRAME_BYTES, MAX_FRAME_BYTES,
				     L2_OVERHEAD_BYTES, v);
		o->frame_bytes = v;
		o->payload_bytes = v - L2_OVERHEAD_BYTES;
		return 0;
	case OPT_PAYLOAD:
		if (parse_unit("--payload", arg, &v, rtv_parse_size_bytes))
			return 2;
		if (v < PROBE_HDR_BYTES || v > MAX_PAYLOAD_BYTES)
			return usage("--payload: %d..%d bytes, got %" PRIu64, PROBE_HDR_BYTES, MAX_PAYLOAD_BYTES, v);
		o->payload_bytes = v;
		o->frame_bytes = v + L2_OVERHEAD_BYTES;
		return 0;
	case OPT_DSCP:
		if (parse_uint("--dscp", arg, 0, 63, &v))
			return 2;
		o->dscp = (unsigned)v;
		return 0;
	case OPT_DURATION: return parse_unit("--duration", arg, &o->duration_ns, rtv_parse_duration_ns);
	case OPT_COUNT: return parse_uint("--count", arg, 1, UINT64_MAX / 2, &o->count);
	case OPT_DEADLINE:
		if (parse_unit("--deadline", arg, &o->deadline_ns, rtv_parse_duration_ns))
			return 2;
		if (o->deadline_ns < 1000 || o->deadline_ns / 1000 > UINT32_MAX)
			return usage("--deadline: between 1us and ~71 min, got %s", arg);
		return 0;
	case OPT_FLOW: return parse_flow(arg, o->flow);
	case OPT_BURST: return parse_uint("--burst", arg, 1, 100000, &o->burst);
	case OPT_JSON: o->json = true; return 0;
	case 'o': return out_json(arg, &o->json);
	default: return usage("unknown option");
	}
}

static int tx_parse(int argc, char **argv, struct tx_opts *o)
{
	bool have_dst = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->frame_bytes = 1502;
	o->payload_bytes = 1502 - L2_OVERHEAD_BYTES;
	o->duration_ns = 10 * NSEC;
	o->burst = 8;
	o->flood = strcmp(argv[0], "flood") == 0;
	strcpy(o->flow, o->flood ? "NRT" : "A");
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", tx_longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(help_text, stdout);
			return -1;
		}
		if (c == '?' || tx_opt(o, c, optarg, &have_dst))
			return 2;
	}
	if (optind < argc)
		return usage("%s: unexpected argument \"%s\"", argv[0], argv[optind]);
	if (!have_dst)
		return usage("%s: --dst IP:PORT is required", argv[0]);
	if (!o->rate_bps)
		return usage("%s: --rate is required (e.g. --rate 2M)", argv[0]);
	if (o->rate_bps / (o->frame_bytes * 8) > 2000000)
		return usage("%s: %" PRIu64 " B frames at that rate are over 2 million packets/s; "
			     "use larger frames or a lower rate", argv[0], o->frame_bytes);
	if (!o->duration_ns)
		return usage("%s: --duration must be more than 0", argv[0]);
	return 0;
}

static int tx_socket(const struct tx_opts *o)
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

/* Due time of packet i, relative to the start: i · bits / rate, exact. */
static uint64_t tx_due_ns(const struct tx_opts *o, uint64_t i)
{
	return (uint64_t)((unsigned __int128)i * o->frame_bytes * 8 * NSEC / o->rate_bps);
}

/* The packets due together go out in one sendmmsg: a header each, sharing
 * one zeroed tail. */
struct tx_batch {
	struct mmsghdr m[TX_BATCH];
	struct iovec iov[TX_BATCH][2];
	uint8_t hdr[TX_BATCH][PROBE_HDR_BYTES];
	const uint8_t *tail;
};

static void tx_send(int fd, struct tx_batch *b, const struct tx_opts *o, uint64_t seq, unsigned n,
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

static void tx_sleep_until(uint64_t due)
{
	struct timespec ts = { (time_t)(due / NSEC), (long)(due % NSEC) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Packets i, i+1, … due by `now`, at most the burst and what is left. */
static unsigned tx_due_count(const struct tx_opts *o, uint64_t start, uint64_t end, uint64_t i,
			     uint64_t now)
{
	unsigned n = 1;
	uint64_t due;

	while (n < o->burst && n < TX_BATCH && (!o->count || i + n < o->count)) {
		due = start + tx_due_ns(o, i + n);
		if (due > now || (!o->count && due >= end))
			break;
		n++;
	}
	return n;
}

static void tx_loop(int fd, struct tx_batch *b, const struct tx_opts *o, struct tx_stats *st)
{
	uint64_t period_ns = tx_due_ns(o, 1), t0 = now_ns(CLOCK_MONOTONIC), start = t0, now, due;
	uint64_t slip_ns = o->burst * (period_ns ? period_ns : 1), end = t0 + o->duration_ns, i = 0;
	unsigned n;

	while (!stop && (!o->count || i < o->count)) {
		due = start + tx_due_ns(o, i);
		if (!o->count && due >= end)	/* wall time: slips do not extend the run */
			break;
		now = now_ns(CLOCK_MONOTONIC);
		while (now < due && !stop) {
			tx_sleep_until(due);
			now = now_ns(CLOCK_MONOTONIC);
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

/* Three FIN probes, 1 ms apart, carry the count for the receiver's tail loss. */
static void tx_fin(int fd, const struct tx_opts *o, uint64_t sent)
{
	struct probe p = { .flags = PROBE_FIN, .seq = sent };
	struct timespec ms = { 0, 1000000 };
	uint8_t hdr[PROBE_HDR_BYTES];

	memcpy(p.flow, o->flow, sizeof(p.flow));
	for (int k = 0; k < 3; k++) {
		p.send_ns = now_ns(CLOCK_REALTIME);
		probe_encode(hdr, &p);
		send(fd, hdr, sizeof(hdr), 0);
		nanosleep(&ms, NULL);
	}
}

static void tx_report(const struct tx_opts *o, const struct tx_stats *st)
{
	double s = st->elapsed_ns ? (double)st->elapsed_ns / 1e9 : 1e-9;
	double mbps = (double)st->sent * (double)o->frame_bytes * 8 / s / 1e6;
	char dst[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &o->dst.sin_addr, dst, sizeof(dst));
	if (o->json) {
		printf("{\"role\": \"%s\", \"flow\": \"%s\", \"dst\": \"%s:%u\", \"frame_bytes\": %" PRIu64
		       ", \"payload_bytes\": %" PRIu64 ", \"dscp\": %u, \"rate_bps\": %" PRIu64
		       ", \"sent\": %" PRIu64 ", \"elapsed_s\": %.3f, \"mbps\": %.3f, \"send_errors\": %" PRIu64
		       ", \"slips\": %" PRIu64 "}\n", o->flood ? "flood" : "send", o->flow, dst,
		       ntohs(o->dst.sin_port), o->frame_bytes, o->payload_bytes, o->dscp, o->rate_bps,
		       st->sent, s, mbps, st->send_errors, st->slips);
		return;
	}
	printf("rtvgen %s: flow %s -> %s:%u, %" PRIu64 " packets of %" PRIu64 " B (UDP payload %" PRIu64
	       " B) in %.3f s = %.3f Mbit/s, dscp %u, %" PRIu64 " send errors%s%s, %" PRIu64 " schedule slips\n",
	       o->flood ? "flood" : "send", o->flow, dst, ntohs(o->dst.sin_port), st->sent, o->frame_bytes,
	       o->payload_bytes, s, mbps, o->dscp, st->send_errors, st->send_errors ? " (last: " : "",
	       st->send_errors ? strerror(st->last_errno) : "", st->slips);
	if (st->send_errors)
		printf("  (send errors are packets the local stack refused, e.g. ENOBUFS; they count as sent)\n");
}

static int cmd_send(int argc, char **argv)
{
	struct tx_opts o;
	struct tx_stats st = { 0 };
	struct tx_batch *b;
	uint8_t *tail;
	int fd, rc = tx_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;	/* -1: --help */
	fd = tx_socket(&o);
	if (fd < 0)
		return 1;
	b = calloc(1, sizeof(*b));
	tail = calloc(1, o.payload_bytes);
	if (!b || !tail) {
		fprintf(stderr, "rtvgen: out of memory\n");
		rc = 1;
		goto out;
	}
	b->tail = tail;
	/* the default 50 us timer slack would pace a 100k pps flow at half rate */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	tx_loop(fd, b, &o, &st);
	tx_fin(fd, &o, st.sent);
	tx_report(&o, &st);
out:
	free(tail);
	free(b);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Receiver                                                                   */

struct rx_opts {
	struct sockaddr_in bind;
	uint64_t deadline_ns, duration_ns;
	const char *csv;
	bool json, quiet;
};

struct rx_second {
	uint64_t pkts, bytes, misses, max_ns, sum_ns;
};

struct rx {
	struct rx_opts o;
	struct dp_hist hist;
	char flow[FLOW_NAME_LEN + 1];
	uint64_t deadline_ns;		/* effective: --deadline, else the sender's */
	uint64_t start_ns;		/* CLOCK_REALTIME at start; series t = 0 */
	uint64_t received, bytes, misses, reordered, duplicates, foreign, negative;
	uint64_t next_seq;		/* highest seq seen + 1 */
	uint64_t fin_total;		/* packets the sender says it sent (FIN) */
	uint64_t first_ns, last_ns;	/* receive times of first and last probe */
	uint64_t seen[(1u << DUP_WINDOW_LOG2) / 64];
	struct rx_second *sec;
	size_t n_sec, cap_sec, printed_sec;
	FILE *csv;
	bool got_fin, kernel_ts, user_ts;
};

static const struct option rx_longopts[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static int rx_opt(struct rx_opts *o, int c, const char *arg, bool *have_port)
{
	uint64_t v;

	switch (c) {
	case OPT_PORT:
		*have_port = true;
		if (parse_uint("--port", arg, 1, 65535, &v))
			return 2;
		o->bind.sin_port = htons((uint16_t)v);
		return 0;
	case OPT_BIND:
		if (inet_pton(AF_INET, arg, &o->bind.sin_addr) != 1)
			return usage("--bind: \"%s\" is not an IPv4 address", arg);
		return 0;
	case OPT_DEADLINE:
		if (parse_unit("--deadline", arg, &o->deadline_ns, rtv_parse_duration_ns))
			return 2;
		return o->deadline_ns ? 0 : usage("--deadline must be more than 0");
	case OPT_DURATION:
		if (parse_unit("--duration", arg, &o->duration_ns, rtv_parse_duration_ns))
			return 2;
		return o->duration_ns ? 0 : usage("--duration must be more than 0");
	case OPT_CSV: o->csv = arg; return 0;
	case OPT_QUIET: o->quiet = true; return 0;
	case OPT_JSON: o->json = true; return 0;
	case 'o': return out_json(arg, &o->json);
	default: return usage("unknown option");
	}
}

static int rx_parse(int argc, char **argv, struct rx_opts *o)
{
	bool have_port = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->bind.sin_family = AF_INET;
	o->bind.sin_addr.s_addr = htonl(INADDR_ANY);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", rx_longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(help_text, stdout);
			return -1;
		}
		if (c == '?' || rx_opt(o, c, optarg, &have_port))
			return 2;
	}
	if (optind < argc)
		return usage("recv: unexpected argument \"%s\"", argv[optind]);
	if (!have_port)
		return usage("recv: --port is required");
	return 0;
}

static int rx_socket(const struct rx_opts *o)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, buf = 8 << 20;
	struct timeval tv = { 0, 100000 };

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

static struct rx_second *rx_second_at(struct rx *rx, uint64_t recv_ns)
{
	size_t i = recv_ns > rx->start_ns ? (size_t)((recv_ns - rx->start_ns) / NSEC) : 0;

	if (i >= rx->cap_sec) {
		size_t cap = rx->cap_sec ? rx->cap_sec : 64;
		struct rx_second *s;

		while (cap <= i)
			cap *= 2;
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
	uint64_t i = seq & ((1u << DUP_WINDOW_LOG2) - 1), bit = 1ull << (i % 64);
	bool was = rx->seen[i / 64] & bit;

	rx->seen[i / 64] |= bit;
	return was;
}

/* Sequence accounting. Returns false for a duplicate (not counted further). */
static bool rx_sequence(struct rx *rx, uint64_t seq)
{
	const uint64_t win = 1u << DUP_WINDOW_LOG2;

	if (seq >= rx->next_seq) {
		if (seq - rx->next_seq >= win)
			memset(rx->seen, 0, sizeof(rx->seen));
		else
			for (uint64_t s = rx->next_seq; s < seq; s++)
				rx->seen[(s & (win - 1)) / 64] &= ~(1ull << ((s & (win - 1)) % 64));
		seen_test_set(rx, seq);
		rx->next_seq = seq + 1;
		return true;
	}
	if (rx->next_seq - seq <= win && seen_test_set(rx, seq)) {
		rx->duplicates++;
		return false;
	}
	rx->reordered++;
	return true;
}

static void rx_csv_row(FILE *f, uint64_t seq, uint64_t send_ns, uint64_t recv_ns, int64_t delay_ns,
		       bool miss)
{
	fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRId64 ".%03" PRId64 ",%d\n", seq, send_ns,
		recv_ns, delay_ns / 1000, (delay_ns < 0 ? -delay_ns : delay_ns) % 1000, miss);
}

static void rx_probe(struct rx *rx, const uint8_t *b, size_t len, uint64_t recv_ns)
{
	struct probe p;
	struct rx_second *s;
	int64_t delay;
	uint64_t d;
	bool miss;

	if (probe_decode(b, len, &p) || (rx->flow[0] && strcmp(rx->flow, p.flow) != 0)) {
		rx->foreign++;
		return;
	}
	if (!rx->flow[0]) {
		memcpy(rx->flow, p.flow, sizeof(rx->flow));
		rx->deadline_ns = rx->o.deadline_ns ? rx->o.deadline_ns : (uint64_t)p.deadline_us * 1000;
	}
	if (p.flags & PROBE_FIN) {
		rx->got_fin = true;
		rx->fin_total = p.seq;
		return;
	}
	if (!rx_sequence(rx, p.seq))
		return;
	delay = (int64_t)(recv_ns - p.send_ns);
	if (delay < 0)
		rx->negative++;
	d = delay < 0 ? 0 : (uint64_t)delay;
	miss = rx->deadline_ns && d > rx->deadline_ns;
	dp_hist_record(&rx->hist, d);
	rx->received++;
	rx->bytes += len + L2_OVERHEAD_BYTES;
	rx->misses += miss;
	if (!rx->first_ns)
		rx->first_ns = recv_ns;
	rx->last_ns = recv_ns;
	s = rx_second_at(rx, recv_ns);
	if (s) {
		s->pkts++;
		s->bytes += len + L2_OVERHEAD_BYTES;
		s->misses += miss;
		s->sum_ns += d;
		if (d > s->max_ns)
			s->max_ns = d;
	}
	if (rx->csv)
		rx_csv_row(rx->csv, p.seq, p.send_ns, recv_ns, delay, miss);
}

static uint64_t rx_stamp(struct msghdr *mh, uint64_t user_ns, struct rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			if (ts.tv_sec) {
				rx->kernel_ts = true;
				return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
			}
		}
	}
	rx->user_ts = true;
	return user_ns;
}

static void rx_print_second(const struct rx *rx, size_t i)
{
	const struct rx_second *s = &rx->sec[i];

	printf("  t=%4zus  %6" PRIu64 " pps  %8.3f Mbit/s  delay max %9.3f ms avg %9.3f ms  misses %" PRIu64 "\n",
	       i, s->pkts, (double)s->bytes * 8 / 1e6, (double)s->max_ns / 1e6,
	       s->pkts ? (double)s->sum_ns / (double)s->pkts / 1e6 : 0.0, s->misses);
}

/* Prints each second once it is over (live progress), unless --quiet/--json. */
static void rx_print_series(struct rx *rx, uint64_t now, bool all)
{
	size_t done = now > rx->start_ns ? (size_t)((now - rx->start_ns) / NSEC) : 0;

	if (rx->o.quiet || rx->o.json)
		return;
	if (all || done > rx->n_sec)
		done = rx->n_sec;
	for (; rx->printed_sec < done; rx->printed_sec++)
		rx_print_second(rx, rx->printed_sec);
	fflush(stdout);
}

struct rx_batch {
	struct mmsghdr m[RX_BATCH];
	struct iovec iov[RX_BATCH];
	uint8_t buf[RX_BATCH][RX_BUF_BYTES];
	uint8_t ctl[RX_BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
};

static int rx_loop(int fd, struct rx *rx, struct rx_batch *b)
{
	uint64_t end = rx->o.duration_ns ? rx->start_ns + rx->o.duration_ns : UINT64_MAX, user;
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
		n = recvmmsg(fd, b->m, RX_BATCH, MSG_WAITFORONE, NULL);
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

static double rx_mbps(const struct rx *rx)
{
	uint64_t span = rx->last_ns - rx->first_ns;

	/* n packets span n−1 intervals: count the bytes after the first */
	if (rx->received < 2 || !span)
		return 0;
	return (double)(rx->bytes - rx->bytes / rx->received) * 8 / ((double)span / 1e9) / 1e6;
}

static void rx_json_series(const struct rx *rx)
{
	printf(", \"series\": [");
	for (size_t i = 0; i < rx->n_sec; i++) {
		const struct rx_second *s = &rx->sec[i];

		printf("%s{\"t\": %zu, \"pps\": %" PRIu64 ", \"mbps\": %.3f, \"max_us\": %.3f, \"avg_us\": %.3f, "
		       "\"misses\": %" PRIu64 "}", i ? ", " : "", i, s->pkts, (double)s->bytes * 8 / 1e6,
		       (double)s->max_ns / 1e3, s->pkts ? (double)s->sum_ns / (double)s->pkts / 1e3 : 0.0,
		       s->misses);
	}
	printf("]");
}

static void rx_report_json(const struct rx *rx, const struct dp_hist_summary *h)
{
	double span = rx->received > 1 ? (double)(rx->last_ns - rx->first_ns) / 1e9 : 0;

	printf("{\"flow\": \"%s\", \"deadline_us\": %.3f, \"received\": %" PRIu64 ", \"lost\": %" PRIu64
	       ", \"sent\": %" PRIu64 ", \"got_fin\": %s, \"reordered\": %" PRIu64 ", \"duplicates\": %" PRIu64
	       ", \"misses\": %" PRIu64 ", \"foreign\": %" PRIu64 ", \"negative_delays\": %" PRIu64
	       ", \"timestamps\": \"%s\", \"span_s\": %.3f, \"pps\": %.1f, \"mbps\": %.3f",
	       rx->flow, (double)rx->deadline_ns / 1e3, rx->received, rx_lost(rx),
	       rx->got_fin ? rx->fin_total : rx->next_seq, rx->got_fin ? "true" : "false", rx->reordered,
	       rx->duplicates, rx->misses, rx->foreign, rx->negative,
	       rx->user_ts ? (rx->kernel_ts ? "mixed" : "user") : "kernel", span,
	       span > 0 ? (double)(rx->received - 1) / span : 0.0, rx_mbps(rx));
	printf(", \"delay_us\": {\"min\": %.3f, \"avg\": %.3f, \"max\": %.3f, \"p50\": %.3f, \"p99\": %.3f, "
	       "\"p999\": %.3f}", (double)h->min / 1e3, (double)h->mean / 1e3, (double)h->max / 1e3,
	       (double)h->p50 / 1e3, (double)h->p99 / 1e3, (double)h->p999 / 1e3);
	rx_json_series(rx);
	printf("}\n");
}

static void rx_report(const struct rx *rx)
{
	struct dp_hist_summary h;
	uint64_t lost = rx_lost(rx), sent = rx->received + lost;
	char dl[RTV_FMT_LEN];

	dp_hist_summary(&rx->hist, &h);
	if (rx->o.json) {
		rx_report_json(rx, &h);
		return;
	}
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
	printf("  rate %.1f pps, %.3f Mbit/s of frames over %.3f s%s\n",
	       rx->received > 1 ? (double)(rx->received - 1) / ((double)(rx->last_ns - rx->first_ns) / 1e9) : 0.0,
	       rx_mbps(rx), (double)(rx->last_ns - rx->first_ns) / 1e9,
	       rx->foreign ? "; other traffic on this port was ignored" : "");
}

static int cmd_recv(int argc, char **argv)
{
	struct rx *rx = calloc(1, sizeof(*rx));
	struct rx_batch *b = calloc(1, sizeof(*b));
	int fd = -1, rc = 1;

	if (!rx || !b) {
		fprintf(stderr, "rtvgen: out of memory\n");
		goto out;
	}
	rc = rx_parse(argc, argv, &rx->o);
	if (rc) {
		rc = rc < 0 ? 0 : rc;	/* -1: --help */
		goto out;
	}
	rc = 1;
	dp_hist_init(&rx->hist);
	if (rx->o.csv) {
		rx->csv = fopen(rx->o.csv, "w");
		if (!rx->csv) {
			fprintf(stderr, "rtvgen: cannot write %s: %s\n", rx->o.csv, strerror(errno));
			goto out;
		}
		setvbuf(rx->csv, NULL, _IOFBF, 1 << 20);
		fprintf(rx->csv, "seq,send_ns,recv_ns,delay_us,miss\n");
	}
	fd = rx_socket(&rx->o);
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
		fprintf(stderr, "rtvgen: writing %s: %s\n", rx->o.csv, strerror(errno));
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

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(help_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "send") || !strcmp(argv[1], "flood"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recv"))
		return cmd_recv(argc - 1, argv + 1);
	return usage("unknown command \"%s\" (send, flood, recv)", argv[1]);
}
