/* degrade.c — plain forwarding when no rtvdp can run (dpd_engine.h;
 * docs/dataplane-process.md, "Degraded mode").
 *
 * A kernel bridge joins rtv-int's peer and the uplink: frames cross at L2
 * with no label, no pacer and no deadline, but they cross, where otherwise
 * every VM of the host would be cut off. It is made with iproute2 (`ip
 * link`), which every host running rtvnet has: this path runs once, when
 * something already went wrong, and must not depend on more of rtvnet than
 * necessary. rtvdp removes the bridge before it forwards again (both at
 * once would send every frame twice).
 */
#include "dpd/dpd_engine.h"

#include <errno.h>
#include <net/if.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

void dpd_degrade_bridge_name(const char *int_dev, char out[16])
{
	snprintf(out, 16, "rtvdeg-%.8s", int_dev);
}

bool dpd_degraded(const char *int_dev)
{
	char br[16];

	dpd_degrade_bridge_name(int_dev, br);
	return if_nametoindex(br) != 0;
}

/* Runs `ip` with args (NULL-terminated); 0 if it exits 0. */
static int ip(char *const argv[], char err[CONS_ERRLEN])
{
	pid_t pid;
	int st, rc = posix_spawnp(&pid, "ip", NULL, NULL, argv, environ);

	if (rc != 0)
		return dpd__fail(err, -rc, "degrade: cannot run ip(8): %s", strerror(rc));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return dpd__fail(err, -errno, "degrade: waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return dpd__fail(err, -EIO, "degrade: `ip %s %s %s %s ...` failed", argv[1],
				 argv[2], argv[3], argv[4] ? argv[4] : "");
	return 0;
}

int dpd_degrade(const char *int_dev, const char *up_dev, char err[CONS_ERRLEN])
{
	char br[16], *dev[2] = { (char *)int_dev, (char *)up_dev };
	int rc;

	dpd_degrade_bridge_name(int_dev, br);
	if (!if_nametoindex(int_dev) || !if_nametoindex(up_dev))
		return dpd__fail(err, -ENODEV, "degrade: no interface '%s' or '%s' here",
				 int_dev, up_dev);
	if (!if_nametoindex(br) &&
	    (rc = ip((char *[]){ "ip", "link", "add", br, "type", "bridge", "stp_state", "0",
				 "forward_delay", "0", NULL }, err)) < 0)
		return rc;
	for (int i = 0; i < 2; i++)
		if ((rc = ip((char *[]){ "ip", "link", "set", "dev", dev[i], "master", br, "up",
					 NULL }, err)) < 0)
			return rc;
	return ip((char *[]){ "ip", "link", "set", "dev", br, "up", NULL }, err);
}

int dpd_undegrade(const char *int_dev, char err[CONS_ERRLEN])
{
	char br[16];
	int rc;

	dpd_degrade_bridge_name(int_dev, br);
	if (!if_nametoindex(br))
		return 0;
	rc = ip((char *[]){ "ip", "link", "del", "dev", br, NULL }, err);
	return rc < 0 ? rc : 1;
}
