/* systemd.h — rtvd under systemd: readiness, watchdog and stopping through
 * the sd_notify protocol (common/sdnotify.h). A module of rtvd's core
 * (agent/core/core.h), registered after the OVS module.
 *
 * Ready means what the unit's dependents and an operator need (Type=notify
 * in deploy/systemd/rtvd.service): this agent has joined Raft (it knows a
 * leader, which a host outside the configuration never does) and, with
 * [ovs] enabled, it owns its bridge (OpenFlow connected and the installed
 * flows equal the desired ones). Checked every AGENT_SYSTEMD_POLL_MS until
 * then; READY=1 is sent once, with a STATUS= line; STATUS= also says what
 * is still missing while it waits.
 *
 * Watchdog: when systemd asks for one (WatchdogSec=), WATCHDOG=1 from the
 * loop every half interval, from start (before readiness too), so a stuck
 * loop is restarted. STOPPING=1 at close. Without $NOTIFY_SOCKET (not
 * started by systemd) the module does nothing.
 */
#ifndef RTV_AGENT_SYSTEMD_H
#define RTV_AGENT_SYSTEMD_H

#include "agent/core/core.h"

#define AGENT_SYSTEMD_POLL_MS 200

extern const struct agent_module agent_systemd_module;

#endif
