/* rtvdp_main.c — the rtvdp program: the host's dataplane as a process of
 * its own (docs/dataplane-process.md).
 *
 * Start-up order: configuration (rtvd's file) → engine allocated → the
 * channel's socket (bound, or taken over from the running rtvdp) → the
 * degrade bridge removed if there is one → the engine's threads → the
 * control loop (channel requests, a tick every 10 ms). Stops on SIGTERM or
 * SIGINT; after a handover it exits without touching what it handed over.
 *
 * Exit codes: 0 clean stop or handed over, 1 failure while starting or
 * running, 2 bad usage or configuration, 3 (--status) no rtvdp.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/core/config.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "common/units.h"
#include "dpd/dpd_engine.h"

#define MOD "rtvdp"
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3
#define TICK_MS 10
#define UNDEGRADE_CHECK_MS 1000

enum mode { M_RUN, M_TAKEOVER, M_DEGRADE, M_UNDEGRADE, M_STATUS };

struct args {
	const char *config, *socket;
	enum mode mode;
	bool json;
};

static volatile sig_atomic_t stopping;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rtvdp -c FILE [--socket PATH] [--takeover]\n"
		"       rtvdp -c FILE --status [-o json]\n"
		"       rtvdp -c FILE --degrade | --undegrade\n"
		"\n"
		"The host's rtvnet dataplane: forwards between the switch ([dataplane]\n"
		"int_dev) and the uplink ([dataplane] uplink_dev), stamping and keeping\n"
		"deadlines with the rtpath table rtvd gives it, and keeps doing so with\n"
		"the last table when rtvd is gone.\n"
		"\n"
		"  -c, --config FILE  rtvd's configuration (the same file as rtvd's)\n"
		"  -s, --socket PATH  the channel to rtvd (default <[node] data_dir>/rtvdp.sock)\n"
		"      --takeover     replace the rtvdp running on that socket: it hands over\n"
		"                     its table, its miss reports and its sockets, then exits\n"
		"                     (an upgrade in place; a failed one leaves it running)\n"
		"      --status       print the running rtvdp's state and exit\n"
		"  -o, --output table|json  --status's format\n"
		"      --degrade      plain forwarding without rtvdp: join int_dev and\n"
		"                     uplink_dev in a kernel bridge (no deadlines!)\n"
		"      --undegrade    remove that bridge (rtvdp does it when it starts)\n"
		"  -h, --help         this help\n"
		"\n"
		"Stops on SIGTERM or SIGINT. Exit: 0 ok, 1 failure, 2 usage or\n"
		"configuration, 3 (--status) no rtvdp running.\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "takeover", no_argument, NULL, 'T' },
		{ "status", no_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "degrade", no_argument, NULL, 'D' },
		{ "undegrade", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const enum mode modes[] = { ['T'] = M_TAKEOVER, ['S'] = M_STATUS, ['D'] = M_DEGRADE,
				    ['U'] = M_UNDEGRADE };
	int c;

	while ((c = getopt_long(argc, argv, "c:s:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 's': a->socket = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "rtvdp: -o takes table or json, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			a->json = !strcmp(optarg, "json");
			break;
		case 'T': case 'S': case 'D': case 'U':
			if (a->mode != M_RUN) {
				fprintf(stderr, "rtvdp: one of --takeover, --status, --degrade, "
					"--undegrade at a time\n");
				return EXIT_USAGE;
			}
			a->mode = modes[c];
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !a->config) {
		fprintf(stderr, "rtvdp: %s\n", optind < argc ? "unexpected argument"
			: "rtvd's configuration file is needed: -c FILE");
		return EXIT_USAGE;
	}
	return -1;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int status(const struct agent_config *cfg, const char *path, bool json)
{
	struct dpd_client c;
	char err[CONS_ERRLEN] = "", rate[RTV_FMT_LEN];
	const struct dpd_state *s = &c.state;

	if (dpd_client_open(&c, path, cfg->id, "rtvdp-status", 2000, err) < 0) {
		fprintf(stderr, "rtvdp: %s\n", err);
		if (dpd_degraded(cfg->dataplane.int_dev))
			fprintf(stderr, "rtvdp: DEGRADED: %s and %s are bridged, traffic flows "
				"without deadlines\n", cfg->dataplane.int_dev,
				cfg->dataplane.uplink_dev);
		return EXIT_UNAVAILABLE;
	}
	if (json)
		printf("{\"host\":%llu,\"pid\":%u,\"mode\":\"%s\",\"version\":\"%s\","
		       "\"takeovers\":%llu,\"gen\":%llu,\"index\":%llu,\"n_tx\":%llu,"
		       "\"n_rx\":%llu,\"misses_kept\":%llu,\"misses_dropped\":%llu}\n",
		       (unsigned long long)s->host_id, s->pid,
		       s->mode ? "degraded" : "deadline", s->version,
		       (unsigned long long)s->takeovers, (unsigned long long)s->gen,
		       (unsigned long long)s->index, (unsigned long long)s->n_tx,
		       (unsigned long long)s->n_rx, (unsigned long long)s->misses_kept,
		       (unsigned long long)s->misses_dropped);
	else
		printf("rtvdp pid %u (%s), host %llu, pacer %s, %llu takeovers\n"
		       "table generation %llu built at Raft index %llu: %llu sent, %llu received\n"
		       "miss reports kept for rtvd: %llu (%llu dropped)\n", s->pid, s->version,
		       (unsigned long long)s->host_id,
		       rtv_fmt_rate(rate, sizeof(rate), s->uplink_bps),
		       (unsigned long long)s->takeovers, (unsigned long long)s->gen,
		       (unsigned long long)s->index, (unsigned long long)s->n_tx,
		       (unsigned long long)s->n_rx, (unsigned long long)s->misses_kept,
		       (unsigned long long)s->misses_dropped);
	dpd_client_close(&c);
	return 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The channel's socket: bound, or taken over with the running state. */
static int open_channel(const struct agent_config *cfg, const char *path, bool takeover,
			struct dpd_engine *e, uint64_t *takeovers)
{
	char err[CONS_ERRLEN] = "";
	int lfd = -1, rc;

	mkdir(cfg->data_dir, 0700);
	if (!takeover) {
		if ((lfd = dpd_listen(path, err)) < 0)
			rtv_error(MOD, "%s", err);
		return lfd;
	}
	if ((rc = dpd_takeover(path, cfg->id, e, &lfd, takeovers, err)) < 0) {
		rtv_error(MOD, "cannot take over from the rtvdp on %s: %s", path, err);
		return rc;
	}
	return lfd;
}

static int start(const struct agent_config *cfg, struct dpd_engine *e)
{
	char err[CONS_ERRLEN] = "";
	int rc = dpd_undegrade(cfg->dataplane.int_dev, err);

	if (rc == 1)
		rtv_warn(MOD, "leaving plain forwarding: removed the degrade bridge between %s "
			 "and %s; deadlines are kept again", cfg->dataplane.int_dev,
			 cfg->dataplane.uplink_dev);
	else if (rc < 0)
		rtv_error(MOD, "%s: frames may cross twice", err);
	if ((rc = dpd_engine_start(e, err)) < 0)
		rtv_error(MOD, "%s (check [dataplane] int_dev = %s and uplink_dev = %s: both must "
			  "exist in this network namespace, and rtvdp needs CAP_NET_RAW)", err,
			  cfg->dataplane.int_dev, cfg->dataplane.uplink_dev);
	return rc;
}

/* Every page rtvdp has or will have stays in memory, touched: the engine's
 * threads then never take a page fault. A fault on the packet path blocks
 * the thread on the process's memory map, and the control thread may hold
 * that while it allocates a stats reply and is preempted by other work —
 * a real-time thread asleep behind a normal one (dpd_restart.sh saw frames
 * held 50-100 ms that way, on a loaded host, with no CPU wait at all).
 * Best effort: without CAP_IPC_LOCK or a memlock limit it says so and
 * forwards as before. */
static void lock_memory(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		rtv_warn(MOD, "cannot lock rtvdp's memory (%s): the packet path may stall on "
			 "page faults under memory or CPU pressure", strerror(errno));
}

/* A degrade bridge while rtvdp forwards makes every frame cross twice.
 * rtvdp removes it when it starts; one added later — an rtvd that could not
 * reach a live but stalled rtvdp for its grace, or a service manager's
 * OnFailure= that ran too eagerly — goes within a second. */
static void keep_undegraded(const struct agent_config *cfg, uint64_t *next_ms)
{
	char err[CONS_ERRLEN] = "";
	uint64_t now = mono_us() / 1000;

	if (now < *next_ms)
		return;
	*next_ms = now + UNDEGRADE_CHECK_MS;
	if (dpd_undegrade(cfg->dataplane.int_dev, err) == 1)
		rtv_warn(MOD, "removed a degrade bridge between %s and %s that appeared while "
			 "rtvdp forwards (frames crossed twice meanwhile)", cfg->dataplane.int_dev,
			 cfg->dataplane.uplink_dev);
}

static int serve(const struct agent_config *cfg, struct dpd_server *s)
{
	char err[CONS_ERRLEN] = "";
	uint64_t next_ms = 0;

	while (!stopping) {
		if (dpd_server_poll(s, TICK_MS) == 1 && dpd_server_handover(s, err) == 0)
			return 1;	/* handed over: exit without a word to the sockets */
		dpd_engine_tick(s->e);
		keep_undegraded(cfg, &next_ms);
	}
	return 0;
}

/* Under systemd (deploy/systemd/rtvdp.service) the in-place upgrade runs from
 * the unit's ExecReload=, which sets $MAINPID: the new process names itself
 * the main process before the old one hands over and exits (systemd would
 * take that exit for the service's and stop it), and names the old one again
 * if the takeover fails (the old one then keeps forwarding). */
static void notify_mainpid(bool self)
{
	char msg[40];
	const char *old = getenv("MAINPID");

	if (old && *old) {
		if (self)
			snprintf(msg, sizeof(msg), "MAINPID=%ld", (long)getpid());
		else
			snprintf(msg, sizeof(msg), "MAINPID=%.20s", old);
		rtv_sdnotify(msg);
	}
}

static int run(const struct agent_config *cfg, const char *path, bool takeover)
{
	static struct dpd_engine e;
	static struct dpd_server s;
	struct dp_io_config ioc;
	struct dp_table_config tc;
	uint64_t t0, takeovers = 0;
	int lfd, handed;
	bool adopted;

	dpd_config_from(cfg, &ioc, &tc);
	char err[CONS_ERRLEN] = "";

	if (dpd_engine_init(&e, &ioc, &tc, DPD_MISSES_MAX) < 0)
		return EXIT_FAIL;
	lock_memory();
	if (dpd_engine_prepare(&e, err) < 0) {	/* the slow part, before any takeover */
		rtv_error(MOD, "%s", err);
		dpd_engine_close(&e);
		return EXIT_FAIL;
	}
	t0 = mono_us();
	if (takeover)
		notify_mainpid(true);
	if ((lfd = open_channel(cfg, path, takeover, &e, &takeovers)) < 0) {
		if (takeover)
			notify_mainpid(false);
		dpd_engine_close(&e);
		return EXIT_FAIL;
	}
	adopted = e.adopt;
	if (start(cfg, &e) < 0) {
		close(lfd);
		dpd_engine_close(&e);
		return EXIT_FAIL;
	}
	if (takeover)
		rtv_info(MOD, "took over: forwarding again %llu us after asking (the gap is at "
			 "most that), on %s, table generation %llu, %zu miss reports",
			 (unsigned long long)(mono_us() - t0),
			 adopted ? "the running packet sockets" : "new packet sockets",
			 (unsigned long long)e.gen, e.backlog.n);
	dpd_server_init(&s, &e, lfd, cfg->id, cfg->uplink_bps);
	s.takeovers = takeovers;
	rtv_info(MOD, "forwarding %s <-> %s; channel %s", cfg->dataplane.int_dev,
		 cfg->dataplane.uplink_dev, path);
	rtv_sdnotify("READY=1\nSTATUS=forwarding");	/* Type=notify: ready now */
	handed = serve(cfg, &s);
	dpd_server_close(&s);
	dpd_engine_close(&e);
	if (!handed) {
		close(lfd);
		unlink(path);
		rtv_info(MOD, "stopped: %s and %s no longer forwarded", cfg->dataplane.int_dev,
			 cfg->dataplane.uplink_dev);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN], path[108];
	struct args a = { 0 };
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	agent_config_skip_module_sections();	/* [libvirt], [gossip]...: rtvd's */
	if (agent_config_load(&cfg, a.config, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtvdp: %s\n", err);
		return EXIT_USAGE;
	}
	if (!cfg.dataplane.enabled) {
		fprintf(stderr, "rtvdp: %s: [dataplane] enabled = false: this host has no "
			"dataplane to run\n", a.config);
		return EXIT_USAGE;
	}
	if (a.socket)
		snprintf(path, sizeof(path), "%s", a.socket);
	else
		dpd_default_path(cfg.data_dir, path, sizeof(path));
	rtv_log_init("rtvdp", cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	switch (a.mode) {
	case M_STATUS:
		return status(&cfg, path, a.json);
	case M_DEGRADE:
		if ((rc = dpd_degrade(cfg.dataplane.int_dev, cfg.dataplane.uplink_dev, err)) < 0) {
			rtv_error(MOD, "%s", err);
			return EXIT_FAIL;
		}
		rtv_error(MOD, "DEGRADED: %s and %s bridged: traffic flows WITHOUT deadlines "
			  "until rtvdp runs again", cfg.dataplane.int_dev, cfg.dataplane.uplink_dev);
		return 0;
	case M_UNDEGRADE:
		return dpd_undegrade(cfg.dataplane.int_dev, err) < 0 ? EXIT_FAIL : 0;
	default:
		return run(&cfg, path, a.mode == M_TAKEOVER) ? EXIT_FAIL : 0;
	}
}
