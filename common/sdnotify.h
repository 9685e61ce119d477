/* sdnotify.h — telling systemd that a Type=notify service is ready, alive or
 * stopping (the sd_notify(3) datagram protocol).
 *
 * Why not libsystemd's sd_notify: the protocol is one datagram of
 * "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or "@name" in the abstract namespace), documented by systemd as a stable
 * interface that services may implement themselves; linking all of
 * libsystemd for it would add a run-time dependency to every rtvd for
 * ~50 lines.
 *
 * Without $NOTIFY_SOCKET (not started by systemd, or Type=simple) every call
 * is a no-op returning 0, so callers never need to know how rtvd was started.
 * rtv_sdnotify_watchdog_usec tells how often systemd expects WATCHDOG=1
 * ($WATCHDOG_USEC, checked against $WATCHDOG_PID when that is set).
 * Thread-safe: each call opens, sends and closes its own socket.
 */
#ifndef RTV_COMMON_SDNOTIFY_H
#define RTV_COMMON_SDNOTIFY_H

#include <stdint.h>

/* Sends `state` (e.g. "READY=1\nSTATUS=joined Raft") to systemd. Returns 0
 * when sent or when there is nobody to tell, -EINVAL when $NOTIFY_SOCKET is
 * malformed or state is empty, or the -errno of socket/sendto. */
int rtv_sdnotify(const char *state);

/* The watchdog interval systemd asked for, in microseconds, or 0 when there
 * is none (no WatchdogSec=, or $WATCHDOG_PID names another process).
 * Ping at least twice per interval. */
uint64_t rtv_sdnotify_watchdog_usec(void);

#endif
