/* libvirt.h — rtvd's libvirt module: the VMs libvirt runs on this host, in
 * the replicated state (docs/migration.md).
 *
 * [libvirt]
 *   uri = qemu:///system     libvirtd to watch (the default); empty: off
 *
 * With a uri, the module holds a migrate/ connection (mig_conn: its own
 * worker and libvirt's event thread; nothing blocks the loop; reconnects
 * with back-off) and keeps the VM records of the domains that run here
 * (running or paused; not an incoming migration until the guest resumes
 * here) in step with libvirt: VM_SET with this
 * host, the domain's name and the MACs of its interfaces, keeping the IPs
 * and tenant the record has (libvirt does not know a guest's IPs; OVSDB's
 * ip-address or `rtvctl vm add` give them). A domain that stops or is
 * undefined keeps its record (and so its rtpaths): a migrated VM's record
 * is moved by its new host's VM_SET.
 */
#ifndef RTV_AGENT_LIBVIRT_H
#define RTV_AGENT_LIBVIRT_H

#include "agent/core/core.h"

extern const struct agent_module agent_libvirt_module;

#endif /* RTV_AGENT_LIBVIRT_H */
