/* test_sdnotify.c — common/sdnotify against a real AF_UNIX datagram socket
 * standing in for systemd's notify socket (path and abstract namespace),
 * and the environment cases: unset, malformed, watchdog for another PID. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sdnotify.h"

/* A bound datagram socket at `name` (path, or "@..." abstract); returns fd. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
	char path[64];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/rtv-sdnotify-%d.sock", (int)getpid());
	unlink(path);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(rtv_sdnotify("READY=1\nSTATUS=joined Raft"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=joined Raft");
	assert_int_equal(rtv_sdnotify("WATCHDOG=1"), 0);
	expect_datagram(fd, "WATCHDOG=1");
	close(fd);
	unlink(path);
	/* the listener is gone: the error comes back, nothing crashes */
	assert_true(rtv_sdnotify("WATCHDOG=1") < 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@rtv-sdnotify-test-%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(rtv_sdnotify("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_environment(void **state)
{
	char pid[32], longp[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(rtv_sdnotify("READY=1"), 0);	/* nobody to tell */
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(rtv_sdnotify("READY=1"), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(rtv_sdnotify("READY=1"), -EINVAL);
	assert_int_equal(rtv_sdnotify(""), -EINVAL);
	unsetenv("NOTIFY_SOCKET");

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(rtv_sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "10000000", 1);
	assert_int_equal(rtv_sdnotify_watchdog_usec(), 10000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(rtv_sdnotify_watchdog_usec(), 10000000);
	setenv("WATCHDOG_PID", "1", 1);	/* meant for another process */
	assert_int_equal(rtv_sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "10s", 1);	/* malformed: no watchdog */
	assert_int_equal(rtv_sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
