/* dptest_main.c — runs rtvd's dataplane library (dp/dp.h) alone between
 * two interfaces, for the namespace tests (tests/system/dp_veth.sh) and by
 * hand. The rtpaths come from the command line instead of Raft.
 *
 *   dptest --int DEV --up DEV --host-id N --rate RATE [options] [--path SPEC]...
 *
 *   --int DEV         VM side (rtv-int)            --up DEV     the uplink
 *   --host-id N       this host (paths name hosts) --rate R     uplink rate ("100mbit")
 *   --mtu N           uplink MTU (1500)            --host-ip A  ICMP source, control traffic
 *   --ahead D         pacer slack (250us, rtvd's)  --uncertainty D  clock bound in reports
 *   --no-remark       do not re-mark NRT DSCPs     --stats FILE key=value counters on exit
 *   --rt-prio N       SCHED_FIFO priority of the dataplane threads (0: none)
 *   --poll MODE       sleep (rtvd's default) or busy: the threads never block
 *   --cpu N           both threads and the devices' receive work (RPS) on CPU N
 *   --path SPEC       id=N,src=IP,dst=IP,proto=N,dport=N,type=deadline|reservation,
 *                     rate=R,burst=BYTES,deadline=D,src-host=N,dst-host=N
 *                     [,maxpkt=BYTES][,net=D][,svc=R][,boost=N]
 *
 * Runs until SIGINT/SIGTERM; every 100 ms it reclaims old tables and drains
 * miss reports (counted in the stats). Exit status 0, or 2 for bad usage,
 * 1 when the dataplane cannot start (the message says why).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp/dp.h"
#include "common/units.h"

#define MAX_PATHS 64

static volatile sig_atomic_t stop;

struct opts {
	struct dp_io_config io;
	struct dp_table_config tc;
	struct cons_rtpath paths[MAX_PATHS];
	uint8_t boost[MAX_PATHS];
	size_t n_paths;
	const char *stats;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(const char *why)
{
	fprintf(stderr, "dptest: %s\nusage: dptest --int DEV --up DEV --host-id N --rate RATE "
		"[--mtu N] [--host-ip A] [--ahead D] [--uncertainty D] [--no-remark] "
		"[--rt-prio N] [--poll sleep|busy] [--cpu N] [--stats FILE] [--path SPEC]...\n", why);
	return 2;
}

static int parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

/* One key=value of a --path spec. */
static int path_kv(struct cons_rtpath *p, uint8_t *boost, uint64_t *net, const char *k,
		   const char *v)
{
	struct cons_path_req *q = &p->req;
	uint64_t x = 0;
	int rc = 0;

	if (!strcmp(k, "src") || !strcmp(k, "dst"))
		return parse_ip(v, !strcmp(k, "src") ? &q->src_ip : &q->dst_ip);
	if (!strcmp(k, "type")) {
		q->type = !strcmp(v, "deadline") ? CONS_PATH_DEADLINE :
			  !strcmp(v, "reservation") ? CONS_PATH_RESERVATION : 0;
		return q->type ? 0 : -EINVAL;
	}
	if (!strcmp(k, "rate") || !strcmp(k, "svc"))
		rc = rtv_parse_rate_bps(v, &x, NULL, 0);
	else if (!strcmp(k, "deadline") || !strcmp(k, "net"))
		rc = rtv_parse_duration_ns(v, &x, NULL, 0);
	else
		rc = parse_u64(v, &x);
	if (rc < 0)
		return rc;
	if (!strcmp(k, "id")) p->id = x;
	else if (!strcmp(k, "proto")) q->proto = (uint8_t)x;
	else if (!strcmp(k, "dport")) q->dport = (uint16_t)x;
	else if (!strcmp(k, "rate")) q->rate_bps = x;
	else if (!strcmp(k, "svc")) p->service_rate_bps = x;
	else if (!strcmp(k, "burst")) q->burst_bytes = x;
	else if (!strcmp(k, "maxpkt")) q->max_pkt_bytes = (uint32_t)x;
	else if (!strcmp(k, "deadline")) q->deadline_ns = x;
	else if (!strcmp(k, "net")) *net = x;
	else if (!strcmp(k, "src-host")) p->src_host = x;
	else if (!strcmp(k, "dst-host")) p->dst_host = x;
	else if (!strcmp(k, "boost")) *boost = (uint8_t)x;
	else return -EINVAL;
	return 0;
}

/* Fills what admission would: class, DSCP, service rate, EDF offset. */
static int path_finish(struct cons_rtpath *p, uint64_t net, uint64_t uplink_bps)
{
	struct cons_path_req *q = &p->req;
	struct sched_tspec t;

	if (!q->max_pkt_bytes)
		q->max_pkt_bytes = 1514;
	if (!q->burst_bytes)
		q->burst_bytes = q->max_pkt_bytes;
	if (q->deadline_ns <= net)
		return -EINVAL;
	p->net_budget_ns = net;
	p->sched_deadline_ns = q->deadline_ns - net;
	p->tc = q->type == CONS_PATH_DEADLINE ? 5 : 4;
	p->dscp = q->type == CONS_PATH_DEADLINE ? 46 : 34;
	if (q->type == CONS_PATH_DEADLINE)
		p->service_rate_bps = q->rate_bps;
	t = (struct sched_tspec){ .r_bps = q->rate_bps, .p_bps = uplink_bps,
				  .b_bytes = q->burst_bytes, .M_bytes = q->max_pkt_bytes };
	if (!p->service_rate_bps &&
	    sched_rfc2212_min_rate(&t, 1514, net, q->deadline_ns, uplink_bps,
				   &p->service_rate_bps) < 0)
		return -ERANGE;
	p->service_rate_base_bps = p->service_rate_bps;
	return 0;
}

static int parse_path(struct opts *o, const char *spec, uint64_t uplink_bps)
{
	char buf[512], *save = NULL, *tok;
	struct cons_rtpath *p = &o->paths[o->n_paths];
	uint64_t net = 0;

	if (o->n_paths == MAX_PATHS || strlen(spec) >= sizeof(buf))
		return -E2BIG;
	memset(p, 0, sizeof(*p));
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (path_kv(p, &o->boost[o->n_paths], &net, tok, eq + 1) < 0)
			return -EINVAL;
	}
	if (!p->id || !p->req.type || !p->req.rate_bps || !p->src_host || !p->dst_host)
		return -EINVAL;
	if (path_finish(p, net, uplink_bps) < 0)
		return -EINVAL;
	o->n_paths++;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "int", 1, 0, 'i' }, { "up", 1, 0, 'u' }, { "host-id", 1, 0, 'h' },
		{ "rate", 1, 0, 'r' }, { "mtu", 1, 0, 'm' }, { "host-ip", 1, 0, 'a' },
		{ "ahead", 1, 0, 'A' }, { "uncertainty", 1, 0, 'U' }, { "no-remark", 0, 0, 'n' },
		{ "stats", 1, 0, 's' }, { "path", 1, 0, 'p' }, { "rt-prio", 1, 0, 'P' },
		{ "poll", 1, 0, 'W' }, { "cpu", 1, 0, 'C' },
		{ 0, 0, 0, 0 },
	};
	const char *specs[MAX_PATHS];
	size_t n_specs = 0;
	uint64_t x;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i': o->io.int_dev = optarg; break;
		case 'u': o->io.up_dev = optarg; break;
		case 'h': if (parse_u64(optarg, &o->tc.host_id)) return usage("--host-id: a number"); break;
		case 'r': if (rtv_parse_rate_bps(optarg, &o->tc.uplink_bps, NULL, 0)) return usage("--rate: e.g. 100mbit"); break;
		case 'm': if (parse_u64(optarg, &x) || x < 68 || x > 65531) return usage("--mtu: 68..65531"); o->io.sched.mtu = (uint32_t)x; break;
		case 'a': if (parse_ip(optarg, &o->io.sched.host_ip)) return usage("--host-ip: an IPv4 address"); break;
		case 'A': if (rtv_parse_duration_ns(optarg, &o->io.sched.tx_ahead_ns, NULL, 0)) return usage("--ahead: e.g. 250us"); break;
		case 'U': if (rtv_parse_duration_ns(optarg, &o->io.rx.uncertainty_ns, NULL, 0)) return usage("--uncertainty: e.g. 1us"); break;
		case 'n': o->io.sched.edge_remark = false; break;
		case 's': o->stats = optarg; break;
		case 'P': if (parse_u64(optarg, &x) || x > 99) return usage("--rt-prio: 0..99"); o->io.rt_priority = (int)x; break;
		case 'C': o->io.pin = true; o->io.cpu = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'W': if (strcmp(optarg, "sleep") && strcmp(optarg, "busy")) return usage("--poll: sleep or busy"); o->io.busy_poll = !strcmp(optarg, "busy"); break;
		case 'p': if (n_specs == MAX_PATHS) return usage("too many --path"); specs[n_specs++] = optarg; break;
		default: return usage("unknown option");
		}
	}
	if (!o->io.int_dev || !o->io.up_dev || !o->tc.host_id || !o->tc.uplink_bps)
		return usage("--int, --up, --host-id and --rate are required");
	for (size_t i = 0; i < n_specs; i++)
		if (parse_path(o, specs[i], o->tc.uplink_bps) < 0) {
			fprintf(stderr, "dptest: bad --path '%s'\n", specs[i]);
			return 2;
		}
	return 0;
}

static void defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->io.sched = (struct dp_sched_config){
		.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES, .mtu = 1500, .frame_max_bytes = 2048,
		.pool_pkts = 8192, .nrt_limit_pkts = 1000, .ctl_limit_pkts = 256,
		.wfq_max_paths = 256, .edge_remark = true,
	};
	o->io.sched.tx_ahead_ns = CONS_TX_AHEAD_MAX_NS;	/* rtvd's default */
	o->io.rx.interval_ns = 100000000;
	o->tc.overhead_bytes = SCHED_ETH_OVERHEAD_BYTES;
	o->tc.nrt_max_frame_bytes = 1514;
}

#define STAT(f, s, name) fprintf(f, "%s=%llu\n", #name, (unsigned long long)atomic_load(&(s)->name))

static void dump_paths(FILE *f, const struct dp_table *t)
{
	for (int dir = 0; dir < 2; dir++)
		for (size_t i = 0; i < dp_table_count(t, dir); i++) {
			const struct dp_path *p = dp_table_at(t, dir, i);
			struct dp_path_counters c;
			struct dp_hist_summary h = { 0 };

			dp_path_counters(p, &c);
			if (dp_path_hist(p))
				dp_hist_summary(dp_path_hist(p), &h);
			fprintf(f, "path.%llu.tx_pkts=%llu\npath.%llu.tx_demoted=%llu\n"
				"path.%llu.tx_policed=%llu\npath.%llu.tx_too_big=%llu\n"
				"path.%llu.rx_pkts=%llu\npath.%llu.rx_misses=%llu\n"
				"path.%llu.delay_min_ns=%llu\npath.%llu.delay_p99_ns=%llu\n"
				"path.%llu.delay_max_ns=%llu\n",
				(unsigned long long)p->id, (unsigned long long)c.tx_pkts,
				(unsigned long long)p->id, (unsigned long long)c.tx_demoted,
				(unsigned long long)p->id, (unsigned long long)c.tx_policed,
				(unsigned long long)p->id, (unsigned long long)c.tx_too_big,
				(unsigned long long)p->id, (unsigned long long)c.rx_pkts,
				(unsigned long long)p->id, (unsigned long long)c.rx_misses,
				(unsigned long long)p->id, (unsigned long long)h.min,
				(unsigned long long)p->id, (unsigned long long)h.p99,
				(unsigned long long)p->id, (unsigned long long)h.max);
		}
}

static void dump(FILE *f, struct dp_io *io, const struct dp_table *t, uint64_t reports)
{
	const struct dp_sched_stats *s = dp_io_sched_stats(io);
	const struct dp_rx_stats *r = dp_io_rx_stats(io);
	struct dp_io_stats c;

	STAT(f, s, rx_frames); STAT(f, s, rt_frames); STAT(f, s, nrt_frames); STAT(f, s, ctl_frames);
	STAT(f, s, sent_frames); STAT(f, s, nrt_overtakes); STAT(f, s, drop_pool);
	STAT(f, s, drop_runt); STAT(f, s, drop_nrt_full); STAT(f, s, drop_policed);
	STAT(f, s, drop_nrt_sojourn); STAT(f, s, drop_demoted_sojourn);
	STAT(f, s, demoted); STAT(f, s, drop_too_big); STAT(f, s, icmp_sent);
	STAT(f, s, icmp_ratelimited); STAT(f, s, icmp_not_answered); STAT(f, s, drop_vm_mpls);
	STAT(f, s, remarked); STAT(f, s, wfq_no_slot); STAT(f, s, table_swaps);
	STAT(f, s, fragmented); STAT(f, s, frag_out);
	STAT(f, r, frames); STAT(f, r, popped); STAT(f, r, passed); STAT(f, r, mpls_foreign);
	STAT(f, r, unknown_path); STAT(f, r, misses); STAT(f, r, not_ipv4);
	dp_io_stats(io, &c);
	fprintf(f, "io.int_rx=%llu\nio.int_tx=%llu\nio.up_rx=%llu\nio.up_tx=%llu\n"
		"io.tx_errors=%llu\nio.rx_truncated=%llu\nmiss_reports=%llu\n",
		(unsigned long long)c.int_rx, (unsigned long long)c.int_tx,
		(unsigned long long)c.up_rx, (unsigned long long)c.up_tx,
		(unsigned long long)c.tx_errors, (unsigned long long)c.rx_truncated,
		(unsigned long long)reports);
	dump_paths(f, t);
}

static uint64_t run(struct dp_io *io, struct dp_rcu *r)
{
	struct dp_miss_report rep[64];
	struct timespec tick = { 0, 100000000 };
	uint64_t reports = 0;
	size_t n;

	while (!stop) {
		nanosleep(&tick, NULL);
		dp_rcu_reclaim(r);
		while ((n = dp_io_miss_drain(io, rep, 64)) > 0)
			reports += n;
	}
	return reports;
}

int main(int argc, char **argv)
{
	static struct opts o;
	char err[CONS_ERRLEN] = "";
	struct dp_table *t;
	struct dp_rcu r;
	struct dp_io *io;
	uint64_t reports;
	FILE *f;
	int rc;

	defaults(&o);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	o.io.sched.uplink_bps = o.tc.uplink_bps;
	o.tc.tx_ahead_ns = o.io.sched.tx_ahead_ns;
	if (o.tc.tx_ahead_ns > CONS_TX_AHEAD_MAX_NS)	/* allowed here, for experiments */
		fprintf(stderr, "dptest: warning: --ahead beyond the %llu ns admission allows for; "
			"rtvd refuses that\n", (unsigned long long)CONS_TX_AHEAD_MAX_NS);
	if (dp_table_new(&o.tc, o.paths, o.n_paths, o.boost, NULL, &t, err) < 0) {
		fprintf(stderr, "dptest: %s\n", err);
		return 1;
	}
	dp_rcu_init(&r);
	dp_rcu_publish(&r, t);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (dp_io_start(&o.io, &r, &io, err) < 0) {
		fprintf(stderr, "dptest: %s\n", err);
		dp_rcu_close(&r);
		return 1;
	}
	fprintf(stderr, "dptest: forwarding %s <-> %s, %zu rtpaths\n", o.io.int_dev, o.io.up_dev,
		o.n_paths);
	reports = run(io, &r);
	f = o.stats ? fopen(o.stats, "w") : stdout;
	dump(f ? f : stdout, io, dp_rcu_current(&r), reports);
	if (f && f != stdout)
		fclose(f);
	dp_io_stop(io);
	dp_rcu_close(&r);
	return 0;
}
