/* rtvctl_pki.c — `rtvctl pki`: the rack CA, by running pki/rtv-pki.sh.
 *
 * One implementation of the CA's chores (openssl under a small script), so
 * the operator's `rtvctl pki` and the test helpers make the same files.
 * The script is found, in order: $RTV_PKI_SCRIPT; next to an installed
 * rtvctl (<prefix>/bin/../libexec/rtvnet/rtv-pki.sh); in the source tree of
 * a built one (build/bin/../../pki/rtv-pki.sh).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/rtvctl.h"

static const char pki_help[] =
"usage: rtvctl pki [-d DIR] COMMAND [ARGS]\n"
"\n"
"The rack's credentials (DIR: $RTV_PKI_DIR, else /etc/rtvnet/pki):\n"
"  init                     the rack CA (agents, admins), the read CA (readers)\n"
"                           and the rack keyring (seals miss reports, gossip)\n"
"  issue HOST_ID [--days N] an agent's certificate, rtvd-host-HOST_ID\n"
"  issue-client NAME --read|--admin [--days N]\n"
"                           a remote operator's (rtvctl -e tls+tcp://...):\n"
"                           --admin may change the rack (agent's rpc_addr),\n"
"                           --read may only read (agent's rpc_read_addr)\n"
"  rotate [--promote|--retire]  rack key rotation, three steps\n"
"  show FILE                subject, issuer and validity of a certificate\n"
"\n"
"Keep ca.key and read-ca.key off the hosts. See docs/security.md.\n";

static int script_path(char *out, size_t n)
{
	static const char *const rel[] = { "../libexec/rtvnet/rtv-pki.sh", "../../pki/rtv-pki.sh" };
	const char *env = getenv("RTV_PKI_SCRIPT");
	char exe[PATH_MAX];
	ssize_t len;

	if (env && *env) {
		snprintf(out, n, "%s", env);
		return 0;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return -errno;
	exe[len] = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", exe);	/* dirname writes into it */
		snprintf(out, n, "%s/%s", dirname(dir), rel[i]);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int rtvctl_pki(int argc, char *const argv[])
{
	char path[PATH_MAX + 64];
	char **args;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(pki_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (script_path(path, sizeof(path)) < 0) {
		fprintf(stderr, "rtvctl pki: cannot find rtv-pki.sh next to rtvctl; set "
			"RTV_PKI_SCRIPT to its path\n");
		return 3;
	}
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 3;
	args[0] = path;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(path, args);
	fprintf(stderr, "rtvctl pki: cannot run %s: %s\n", path, strerror(errno));
	free(args);
	return 3;
}
