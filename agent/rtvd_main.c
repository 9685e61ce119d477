/* rtvd_main.c — the rtvd program: arguments, configuration, logging, the
 * modules around the core (agent/modules.c names them all), run.
 *
 * rtvd always runs in the foreground and logs to stderr (systemd, or the
 * test harness, keeps the logs). Exit codes: 0 clean stop, 1 failure while
 * running, 2 bad usage or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/core/config.h"
#include "agent/core/core.h"
#include "agent/modules.h"
#include "common/log.h"
#include "rpc/proto.h"

#define EXIT_BAD_CONFIG 2

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rtvd -c FILE [-f] [--check-config]\n"
		"\n"
		"The rtvnet agent: keeps the rack's reservations replicated with Raft and\n"
		"serves rtvctl and the other agents.\n"
		"\n"
		"  -c, --config FILE   configuration (see deploy/rtvd.conf.example)\n"
		"  -f, --foreground    run in the foreground, logging to stderr (the only mode)\n"
		"      --check-config  validate the configuration and exit (0 valid, 2 not)\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n"
		"\n"
		"Stops cleanly on SIGTERM or SIGINT, handing Raft leadership over first.\n");
}

struct args {
	const char *config;
	bool check_only;
};

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'f':
			break;
		case 'k':
			a->check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rtvd %s (protocol %d)\n", RTVD_VERSION, PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_BAD_CONFIG;
		}
	}
	if (optind < argc || !a->config) {
		fprintf(stderr, "rtvd: %s\n", optind < argc
			? "unexpected argument" : "a configuration file is needed: -c FILE");
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct agent_config cfg;	/* large: peers, paths */
	char err[AGENT_CONFIG_ERRLEN];
	struct args a = { 0 };
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	/* before the configuration: a module may own a section of it */
	if (agent_register_modules() < 0) {
		fprintf(stderr, "rtvd: cannot register the modules\n");
		return 1;
	}
	if (agent_config_load(&cfg, a.config, err, sizeof(err)) < 0 ||
	    agent_config_check_env(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtvd: %s\n", err);
		return EXIT_BAD_CONFIG;
	}
	if (a.check_only) {
		printf("rtvd: %s: configuration OK (node %llu, %s)\n", a.config,
		       (unsigned long long)cfg.id, cfg.name);
		return 0;
	}
	rtv_log_init("rtvd", cfg.log_level);
	return rtvd_run(&cfg);
}
