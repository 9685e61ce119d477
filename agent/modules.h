/* modules.h — the modules rtvd runs around its core, named in one place so
 * that the program and the tests that load a whole rtvd.conf register the
 * same set, in the same order.
 */
#ifndef RTV_AGENT_MODULES_H
#define RTV_AGENT_MODULES_H

/* Registers every rtvd module with the core, before the configuration is
 * loaded (a module may own a section of it). Start order: metrics first
 * (they count the log replayed at start), then OVS, libvirt, the
 * dataplane, gossip, and last systemd's notifications (readiness needs the
 * OVS module's state); close runs the other way round. Call once per
 * process. Returns 0 or a negative errno from agent_module_register. */
int agent_register_modules(void);

#endif
