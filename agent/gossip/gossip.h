/* gossip.h — rtvd's gossip module: the rack's member list (gossip/) on the
 * agent's loop, with this host's facts, shown in `rtvctl status`.
 *
 * Configuration, section [gossip] (absent: the module is off):
 *   bind = IP:PORT              UDP address to listen on (required)
 *   advertise = IP:PORT         what other members are told (default: bind;
 *                               required when bind is 0.0.0.0)
 *   seeds = IP:PORT[,IP:PORT]   members to join through (up to 16; none: wait
 *                               to be joined)
 *   probe_interval, probe_timeout, gossip_interval, pushpull_interval
 *                               durations ("1s", "500ms"); docs/gossip.md
 *   lifeguard = yes|no          default yes
 *   autopilot = yes|no          default no: the leader replaces a voter dead
 *                               (gossip and Raft) by a healthy standby
 *   autopilot_dead_after = DUR  how long both must agree (default 10s, >= 1s)
 * The member name is [node] name. With [tls] rack_keys every datagram is
 * sealed with the rack key (agent/gossip/auth.h).
 */
#ifndef RTV_AGENT_GOSSIP_H
#define RTV_AGENT_GOSSIP_H

#include "agent/core/core.h"

extern const struct agent_module agent_gossip_module;

#endif /* RTV_AGENT_GOSSIP_H */
