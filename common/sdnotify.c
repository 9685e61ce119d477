/* sdnotify.c — the sd_notify(3) datagram protocol; see sdnotify.h. */
#include "common/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills `sa` from $NOTIFY_SOCKET; returns the address length, 0 when the
 * variable is unset, or -EINVAL. A leading '@' is the abstract namespace. */
static int notify_addr(struct sockaddr_un *sa)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	return (int)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
}

int rtv_sdnotify(const char *state)
{
	struct sockaddr_un sa;
	int len, fd, rc = 0;
	size_t n;

	if (!state || !*state)
		return -EINVAL;
	len = notify_addr(&sa);
	if (len <= 0)
		return len;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = strlen(state);
	if (sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, (socklen_t)len) != (ssize_t)n)
		rc = errno ? -errno : -EIO;
	close(fd);
	return rc;
}

uint64_t rtv_sdnotify_watchdog_usec(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (pid && *pid) {
		errno = 0;
		v = strtoull(pid, &end, 10);
		if (errno || *end || v != (unsigned long long)getpid())
			return 0;
	}
	if (!us || !*us)
		return 0;
	errno = 0;
	v = strtoull(us, &end, 10);
	if (errno || *end)
		return 0;
	return v;
}
