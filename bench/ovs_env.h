/* ovs_env.h — a private Open vSwitch for tests and benchmarks: its own
 * ovsdb-server and ovs-vswitchd in a temporary run directory (the approach
 * of tests/lab/lab.sh's start_ovs, without a namespace), with userspace
 * (netdev) bridges. Everything it starts is stopped by ovs_env_stop.
 *
 * Lives in bench/ because libbench.a is linked into both the benchmarks and
 * the unit tests. Commands run synchronously (fork/exec through sh): do not
 * call them from a libuv callback that must not block, only between loop
 * runs.
 */
#ifndef RTV_BENCH_OVS_ENV_H
#define RTV_BENCH_OVS_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct ovs_env {
	char dir[64];		/* run directory (conf.db, sockets, pidfiles, logs) */
	bool db_up, vsd_up;
};

/* True when ovs-vswitchd, ovsdb-server, ovs-vsctl and ovs-ofctl are on PATH. */
bool ovs_env_available(void);
/* Creates the run directory under /tmp and starts both daemons.
 * 0 or -1 (the reason printed to stderr; the logs stay in e->dir). */
int ovs_env_start(struct ovs_env *e);
/* Adds a netdev bridge speaking OpenFlow 1.3 whose controller is
 * tcp:127.0.0.1:port (fail-mode secure, reconnect backoff at most 1 s) or,
 * with port 0, no controller. */
int ovs_env_add_bridge(struct ovs_env *e, const char *br, int port);
/* Runs a command with OVS_RUNDIR set and the db socket substituted for
 * "$DB" (printf-style); its stdout goes to out (if non-NULL, NUL-terminated,
 * truncated to len). Returns the exit status, -1 if it could not run. */
int ovs_env_run(struct ovs_env *e, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Makes the bridge redial its controller now (ovs-appctl bridge/reconnect):
 * OVS backs off up to 8 s between attempts, so a test or benchmark that
 * restarts its controller calls this once it listens again. */
int ovs_env_reconnect(struct ovs_env *e, const char *br);
/* Stops / starts ovs-vswitchd alone (flows of netdev bridges are lost). */
int ovs_env_stop_vswitchd(struct ovs_env *e);
int ovs_env_start_vswitchd(struct ovs_env *e);
/* Stops both daemons and removes the run directory. */
void ovs_env_stop(struct ovs_env *e);
/* Number of lines of `ovs-ofctl dump-flows br` that are flows (-1 on error). */
int ovs_env_count_flows(struct ovs_env *e, const char *br);

#endif
