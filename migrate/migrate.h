/* migrate.h — libvirt in rtvnet: one connection per host, the VMs libvirt
 * runs there, live migration, and communication-aware placement.
 *
 * Three parts, usable apart:
 *
 *   The VM inventory (struct mig_vm) and its decoder, mig_domxml_parse: what
 *   rtvnet needs from a domain's XML (uuid, name, vCPUs, memory and each
 *   interface's MAC, bridge, OVS port and the external_ids libvirt sets on
 *   that port). Pure; fuzzed (tests/fuzz/fuzz_domxml.c).
 *
 *   The connection (struct mig_conn) on a libuv loop. libvirt's API blocks
 *   (a first call to a fresh libvirtd waits seconds for its capability
 *   probe; a migration takes seconds to minutes), so nothing of it runs on
 *   the loop: the connection has a worker thread for open/list/query calls,
 *   each migration a thread of its own, and libvirt's events come from
 *   libvirt's own default event loop, run on a thread of its own (see
 *   evloop.c for why not an event implementation on libuv). Every result
 *   and event comes back to the loop through one uv_async; the callbacks
 *   below run on the loop only. A connection that drops (libvirtd
 *   restarted, keep-alive lost) is reopened with exponential back-off and
 *   its inventory refreshed in full.
 *
 *   Placement (struct mig_place_*): the host that minimises a VM's weighted
 *   communication distance among the hosts with room. Pure, deterministic,
 *   no allocation while deciding; every decision lists its candidates with
 *   their scores and, for those refused, why.
 *
 * Errors: 0 or a negative errno; calls that can fail for a reason worth
 * showing fill an `err` buffer of MIG_ERRLEN bytes. libvirt's error
 * convention (-1/NULL + a thread-local virError) is translated in one place,
 * lverr.c.
 */
#ifndef RTV_MIGRATE_H
#define RTV_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MIG_ERRLEN 256
#define MIG_UUID_LEN 37		/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
#define MIG_NAME_LEN 64		/* domain names longer than 63 bytes are refused */
#define MIG_MAC_LEN 18		/* "52:54:00:aa:bb:cc" + NUL */
#define MIG_PORT_LEN 16		/* IFNAMSIZ: the tap's name is the OVS port's */
#define MIG_IFACE_ID_LEN 64
#define MIG_IFACES_MAX 8	/* interfaces kept per VM; more are refused */

/* ------------------------------------------------------------------------- */
/* The inventory                                                              */

enum mig_vm_state {
	MIG_VM_SHUTOFF,		/* defined, not running (also: crashed) */
	MIG_VM_RUNNING,
	MIG_VM_PAUSED,
	MIG_VM_MIGRATING,	/* a migration job runs (either side) */
};
const char *mig_vm_state_name(enum mig_vm_state s);	/* "running", … */

/* One <interface>. `ovs` is set when libvirt plugs it into Open vSwitch
 * (<virtualport type='openvswitch'>): libvirt then names the OVS port after
 * the tap (`port`, known while the VM runs) and sets on the Interface row
 * external_ids attached-mac=mac, iface-id=iface_id, vm-id=<domain uuid>,
 * iface-status=active, which is how the OVSDB path (ofgw/) recognises it. */
struct mig_iface {
	char mac[MIG_MAC_LEN];		/* lower case */
	char bridge[MIG_PORT_LEN];	/* <source bridge=…>, "" if none */
	char port[MIG_PORT_LEN];	/* <target dev=…>, "" while shut off */
	char iface_id[MIG_IFACE_ID_LEN];/* <parameters interfaceid=…> */
	bool ovs;
};

struct mig_vm {
	char uuid[MIG_UUID_LEN];	/* lower case */
	char name[MIG_NAME_LEN];
	enum mig_vm_state state;
	uint32_t vcpus;
	uint64_t mem_bytes;		/* <currentMemory>, else <memory> */
	uint32_t n_ifaces;
	struct mig_iface ifaces[MIG_IFACES_MAX];
};

/* Decodes a domain's XML (virDomainGetXMLDesc) into *vm; state is left
 * SHUTOFF (the XML does not say). Refuses, with a sentence in err, what is
 * not well-formed, lacks a valid uuid or name, or overflows a field above.
 * *vm is written only on success. */
int mig_domxml_parse(const char *xml, size_t len, struct mig_vm *vm, char *err, size_t errlen);

/* libvirt's state (virDomainState), its reason and whether a migration job
 * runs, as one state. */
enum mig_vm_state mig_vm_state_from(int vir_state, int vir_reason, bool migrating);

/* ------------------------------------------------------------------------- */
/* The connection                                                             */

struct mig_conn;

/* A libvirt domain lifecycle event as it arrived (virDomainEventType and
 * its detail), with the loop's time of arrival. */
struct mig_lifecycle {
	char uuid[MIG_UUID_LEN];
	char name[MIG_NAME_LEN];
	int event, detail;
	const char *what;	/* "started", "suspended", …; static */
	uint64_t recv_ns;	/* CLOCK_MONOTONIC when the loop got it */
};

struct mig_conn_cbs {
	/* The connection opened (true) or dropped (false, err says why);
	 * after a drop the connection retries by itself. */
	void (*link)(struct mig_conn *c, bool up, const char *err, void *arg);
	/* The inventory is complete again (after every open). */
	void (*synced)(struct mig_conn *c, void *arg);
	/* A VM appeared or changed (state, interfaces). */
	void (*vm)(struct mig_conn *c, const struct mig_vm *vm, void *arg);
	/* A VM is no longer defined on this host (undefined, or migrated away). */
	void (*vm_gone)(struct mig_conn *c, const char *uuid, void *arg);
	/* Every lifecycle event, before the VM it concerns is re-read. */
	void (*lifecycle)(struct mig_conn *c, const struct mig_lifecycle *ev, void *arg);
};

struct mig_conn_config {
	const char *uri;		/* "" or NULL: off (mig_conn_new refuses) */
	uint32_t backoff_min_ms;	/* first retry after a failure (0: 200) */
	uint32_t backoff_max_ms;	/* cap of the doubling (0: 5000) */
	uint32_t keepalive_s;		/* libvirt keep-alive interval (0: 5) */
};

/* Allocates a connection on loop and starts opening it (in the worker; the
 * call does not block). The callbacks and arg are kept; cfg is copied.
 * Fails with -EINVAL (and err) when the uri is empty. */
int mig_conn_new(uv_loop_t *loop, const struct mig_conn_config *cfg,
		 const struct mig_conn_cbs *cbs, void *arg,
		 struct mig_conn **out, char *err, size_t errlen);
/* Loop thread. Stops the worker (waits for a call in flight, which libvirt
 * bounds by its keep-alive), closes the connection and the uv handles; the
 * memory is freed once the loop has run the close. Migrations still
 * running go on in libvirt; their done callbacks are not called.
 * NULL is a no-op. */
void mig_conn_free(struct mig_conn *c);

bool mig_conn_up(const struct mig_conn *c);
const char *mig_conn_uri(const struct mig_conn *c);
/* The inventory as last seen (loop thread; valid until the loop runs again). */
const struct mig_vm *mig_conn_vms(const struct mig_conn *c, size_t *n);
const struct mig_vm *mig_conn_vm(const struct mig_conn *c, const char *uuid_or_name);
/* Times the connection was (re)opened since mig_conn_new. */
uint64_t mig_conn_opens(const struct mig_conn *c);

/* The host's resources as libvirt reports them (virNodeGetInfo,
 * virNodeGetFreeMemory), re-read at every sync and lifecycle event, and the
 * vCPUs and memory the inventory's running/paused/migrating VMs hold: what
 * placement needs to know whether a VM fits. */
struct mig_host_res {
	uint32_t cpus;			/* logical CPUs */
	uint64_t mem_total_bytes, mem_free_bytes;
	uint32_t vcpus_used;		/* Σ vCPUs of the VMs not shut off */
	uint64_t mem_used_bytes;	/* Σ their memory */
};
/* 0, or -ENODATA before the first sync. */
int mig_conn_host(const struct mig_conn *c, struct mig_host_res *out);

/* ------------------------------------------------------------------------- */
/* Live migration                                                             */

struct mig_policy {
	uint64_t bandwidth_bps;		/* cap of the migration stream; 0: libvirt's */
	uint64_t max_downtime_ns;	/* QEMU's target pause; 0: QEMU's (300 ms) */
	uint64_t timeout_ns;		/* abort the job after this long; 0: never */
	uint32_t progress_ms;		/* progress report period (0: 500) */
	bool auto_converge;		/* throttle a guest that dirties too fast */
};

/* From libvirt's job statistics (virDomainGetJobStats). */
struct mig_progress {
	uint64_t elapsed_ms;
	uint64_t data_total_bytes, data_processed_bytes, data_remaining_bytes;
	uint64_t dirty_rate_pages_s;
	uint64_t iteration;
};

struct mig_result {
	int rc;				/* 0, or negative errno (err says why) */
	char err[MIG_ERRLEN];
	uint64_t wall_ms;		/* the call, as the worker timed it */
	bool stats_ok;			/* the fields below come from job stats */
	uint64_t elapsed_ms;		/* libvirt's time_elapsed */
	uint64_t downtime_ms;		/* QEMU's downtime (guest paused) */
	uint64_t data_bytes;		/* transferred */
	const char *stats_from;		/* "source" or "destination" */
};

struct mig_job;

struct mig_job_cbs {
	void (*progress)(struct mig_job *j, const struct mig_progress *p, void *arg);
	/* Exactly once per started job, on the loop; the job is freed after. */
	void (*done)(struct mig_job *j, const struct mig_result *r, void *arg);
};

/* Starts a live, peer-to-peer migration (virDomainMigrateToURI3 with
 * VIR_MIGRATE_LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE) of the VM
 * uuid_or_name of c's host to dest_uri — the URI c's libvirtd uses to reach
 * the destination's (e.g. qemu+tcp://10.1.0.2/system). stats_uri, if set,
 * is how this process reaches the destination's libvirtd to read the
 * completed job's statistics (QEMU's downtime) when the source has
 * dropped the domain; default dest_uri. The migration runs on a thread of
 * its own; progress and the result come back on the loop. -ENOTCONN when
 * c is down, -ENOENT when c does not know the VM. */
int mig_migrate_start(struct mig_conn *c, const char *uuid_or_name, const char *dest_uri,
		      const char *stats_uri, const struct mig_policy *pol,
		      const struct mig_job_cbs *cbs, void *arg, struct mig_job **out,
		      char *err, size_t errlen);
/* Loop thread: asks libvirt to abort the job (virDomainAbortJob); done
 * still follows, normally with -ECANCELED. */
int mig_migrate_abort(struct mig_job *j);

/* ------------------------------------------------------------------------- */
/* Placement                                                                  */

/* The topology: nodes 0..n_hosts-1 are the hosts (in world->hosts order),
 * the others switches. Links are undirected for hop counts; each direction
 * has its own free RT budget (bit/s that admission could still give). */
struct mig_place_link {
	uint32_t a, b;
	uint64_t rt_free_ab_bps, rt_free_ba_bps;
};

struct mig_place_host {
	uint32_t id;			/* the rack's host id, for the explanation */
	uint32_t vcpus_free;
	uint64_t mem_free_bytes;
	bool accepts;			/* false: drained, down, or without libvirt */
};

struct mig_place_vm {
	uint32_t host;			/* index into hosts */
	uint32_t vcpus;
	uint64_t mem_bytes;
	uint64_t last_move_ms;		/* 0: never moved */
};

/* Measured traffic between two VMs (both directions summed), bit/s. */
struct mig_place_flow {
	uint32_t a, b;
	uint64_t bps;
};

/* An rtpath between two VMs: if one of them moves, its reservation must
 * fit every link of the new route, with the old route still reserved
 * (make-before-break). */
struct mig_place_rtpath {
	uint32_t src, dst;		/* VM indices */
	uint64_t rate_bps;
};

struct mig_place_world {
	uint32_t n_nodes, n_hosts, n_links, n_vms, n_flows, n_rtpaths;
	const struct mig_place_host *hosts;
	const struct mig_place_link *links;
	const struct mig_place_vm *vms;
	const struct mig_place_flow *flows;
	const struct mig_place_rtpath *rtpaths;
};

struct mig_place_policy {
	uint32_t hysteresis_ppm;	/* move only if the score drops by this fraction */
	uint64_t cooldown_ms;		/* no move within this time of the last */
};

enum mig_place_refusal {
	MIG_PLACE_OK,
	MIG_PLACE_CURRENT,		/* where the VM is (scored, always allowed) */
	MIG_PLACE_NOT_ACCEPTING,
	MIG_PLACE_CPU,
	MIG_PLACE_MEM,
	MIG_PLACE_RT_BUDGET,
	MIG_PLACE_UNREACHABLE,
};
const char *mig_place_refusal_name(enum mig_place_refusal r);

struct mig_place_cand {
	uint32_t host;			/* index */
	uint64_t score;			/* Σ bit/s × hops to each peer */
	enum mig_place_refusal refusal;
	/* MIG_PLACE_RT_BUDGET: the first link that does not fit */
	uint32_t link, link_from, link_to;
	uint64_t link_need_bps, link_free_bps;
};

struct mig_place_decision {
	uint32_t vm, from, to;
	bool move;
	uint64_t score_from, score_to;
	char reason[160];
	/* the candidates, feasible first then by score; the caller provides
	 * the array (cands, cap) and gets the best n of all hosts */
	struct mig_place_cand *cands;
	uint32_t cap, n;
};

/* Per-topology working memory: adjacency and one BFS per peer host. */
struct mig_place_scratch;

/* Builds the scratch for w's topology (n_nodes, links); rebuild when the
 * topology changes. Validates the world (indices in range); -EINVAL and
 * err otherwise. */
int mig_place_scratch_new(const struct mig_place_world *w, struct mig_place_scratch **out,
			  char *err, size_t errlen);
void mig_place_scratch_free(struct mig_place_scratch *s);

/* Decides for VM vm at time now_ms. Fills d (d->cands/cap set by the
 * caller). Never allocates; -EINVAL if vm is out of range, -E2BIG if the
 * VM has more distinct peer hosts than the scratch holds (64). */
int mig_place_decide(const struct mig_place_world *w, struct mig_place_scratch *s,
		     const struct mig_place_policy *pol, uint32_t vm, uint64_t now_ms,
		     struct mig_place_decision *d);

/* Σ over flows of bit/s × hops between the two VMs' hosts. */
uint64_t mig_place_total(const struct mig_place_world *w, struct mig_place_scratch *s);

/* ---- Placement from the replicated state (place_world.c) ---- */

struct cons_state;

/* What the replicated state does not hold: each host's free resources
 * (libvirt, mig_conn_host; hosts not listed do not accept VMs), each VM's
 * size and last move (VMs not listed: 1 vCPU, 0 bytes), and the measured
 * traffic between VM pairs (by uuid; unknown uuids are skipped). */
struct mig_place_hostres {
	uint64_t host_id;
	uint32_t vcpus_free;
	uint64_t mem_free_bytes;
	bool accepts;
};
struct mig_place_vmres {
	const char *uuid;
	uint32_t vcpus;
	uint64_t mem_bytes;
	uint64_t last_move_ms;
};
struct mig_place_traffic {
	const char *a_uuid, *b_uuid;
	uint64_t bps;
};
struct mig_place_input {
	const struct mig_place_hostres *hosts;
	size_t n_hosts;
	const struct mig_place_vmres *vms;
	size_t n_vms;
	const struct mig_place_traffic *traffic;
	size_t n_traffic;
};

/* A world built from a cons_state: w is ready for mig_place_scratch_new
 * and mig_place_decide. The state's hosts are hosts 0..n_hosts-1 in its
 * order (host_ids[i] is host i's rack id), its VMs VMs 0..n_vms-1 in its
 * order (vm_uuids[i] points into the state: valid until it changes). Each
 * link direction's free RT budget is capacity × rt_budget − reserved in
 * wire bits/s, each rtpath's rate its wire rate; rtpaths whose ends are not
 * both known VMs are left out. */
struct mig_place_built {
	struct mig_place_world w;
	uint64_t *host_ids;
	const char **vm_uuids;
	/* private */
	uint32_t n_nodes, n_hosts, n_links, n_vms, n_flows, n_rtpaths;
	struct mig_place_host *hosts;
	struct mig_place_link *links;
	struct mig_place_vm *vms;
	struct mig_place_flow *flows;
	struct mig_place_rtpath *rtpaths;
};

/* 0, -ENOENT (no hosts: err) or -ENOMEM. *b is owned by the caller
 * (mig_place_built_free). */
int mig_place_build(const struct cons_state *s, const struct mig_place_input *in,
		    struct mig_place_built *b, char *err, size_t errlen);
void mig_place_built_free(struct mig_place_built *b);	/* NULL is a no-op */
/* The VM index of uuid, or -1. */
int mig_place_vm_index(const struct mig_place_built *b, const char *uuid);

#endif /* RTV_MIGRATE_H */
