/* internal.h — private to consensus/: the state's in-memory layout and the
 * helpers shared by cmd.c, codec.c, state.c, topo.c and cadmit.c.
 *
 * Layout of struct cons_state. Every record lives in its own heap block so
 * that pointers to it stay valid while it exists (rtpaths point at the links
 * of their route and at their hosts and VMs); the record tables are arrays
 * of pointers kept sorted by key and searched by bisection:
 *
 *   hosts  by id         links  by (a, b)     vms  by uuid
 *   paths  by id         ipidx  (ip → vm) by ip, rebuilt when VMs change
 *
 * Derived data, never serialised and rebuilt on restore: the links'
 * reserved_* sums and path counts, each host's list of rtpaths sending over
 * its uplink (sorted by id: the EDF test runs over it), reference counts,
 * and the topology graph used for routing (rebuilt when links change).
 *
 * Replicated data: the records, each rtpath's route (pinned at admission:
 * later topology changes never move an admitted path), the rtpath id
 * counter, the applied index and the deduplication table.
 */
#ifndef RTV_CONSENSUS_INTERNAL_H
#define RTV_CONSENSUS_INTERNAL_H

#include "consensus/consensus.h"
#include "sched/sched.h"

#include <msgpack.h>

#include "common/mpack.h"

/* ------------------------------------------------------------------------- */
/* Records                                                                   */

struct cons__path;

struct cons__host {
	struct cons_host pub;
	struct cons__link *uplink;	/* its edge to pub.uplink_to */
	struct cons__path **tx;		/* rtpaths sending over its uplink, by id */
	size_t n_tx, cap_tx;
	size_t n_paths;			/* rtpaths with this host as src or dst */
	size_t n_vms;			/* VMs placed on it */
};

struct cons__link {
	struct cons_link pub;
	struct cons__host *host;	/* the host whose uplink this is, or NULL */
	size_t n_paths;			/* rtpaths whose route crosses it */
};

struct cons__mig;

struct cons__vm {
	struct cons_vm pub;
	size_t n_paths;			/* rtpaths using one of its IPs (shadows too) */
	struct cons__mig *mig;		/* its migration in progress, or NULL */
};

/* One step of a route: a link crossed in one direction. */
struct cons__hop {
	struct cons__link *link;
	bool ab;			/* from pub.a to pub.b */
};

struct cons__path {
	struct cons_rtpath pub;
	struct cons__host *src, *dst;
	struct cons__vm *src_vm, *dst_vm;
	struct cons__hop *hops;		/* empty for a same-host path */
	uint32_t n_hops;
};

 /* A migration in progress (mig.c): shadow[i] is orig[i] on its route once
  * the VM runs on pub.to_host; shadows carry their path's id, are linked into
  * the derived sums (links, the new sender's list) but not into paths. */
struct cons__mig {
	struct cons_mig pub;
	struct cons__vm *vm;
	struct cons__path **orig, **shadow;
	uint32_t n;
};

/* ------------------------------------------------------------------------- */
/* Small containers                                                          */

/* A sorted array of pointers. */
struct cons__vec {
	void **v;
	size_t n, cap;
};

int cons__vec_reserve(struct cons__vec *vec, size_t extra);
/* Inserts at position i; capacity must have been reserved. */
void cons__vec_insert(struct cons__vec *vec, size_t i, void *p);
void cons__vec_remove(struct cons__vec *vec, size_t i);
/* Bisection: returns true and *pos if found, else false and the insert
 * position. cmp(key, element). */
bool cons__vec_find(const struct cons__vec *vec, const void *key,
		    int (*cmp)(const void *key, const void *elem), size_t *pos);
void cons__vec_free(struct cons__vec *vec);

/* ------------------------------------------------------------------------- */
/* Deduplication table (Raft dissertation §6.3)                              */

struct cons__client {
	uint64_t cid, seq;
	uint64_t index;			/* of the stored result: LRU order */
	uint64_t id;
	int status;
	char *err;			/* NULL when status == 0 */
	struct cons__client *hnext;	/* hash chain */
	struct cons__client *prev, *next;	/* LRU list, oldest first */
};

struct cons__dedup {
	struct cons__client **buckets;
	size_t n_buckets;		/* power of two */
	size_t n;
	struct cons__client *oldest, *newest;
};

/* ------------------------------------------------------------------------- */
/* Topology graph (derived)                                                  */

struct cons__node {
	const char *name;		/* points into a link's pub.a or pub.b */
	uint32_t adj_off, n_adj;
};

struct cons__adj {
	uint32_t from, node;		/* this node and its neighbour (indices) */
	struct cons__hop hop;
};

struct cons__graph {
	bool valid;
	struct cons__node *nodes;	/* sorted by name */
	struct cons__adj *adj;		/* per node, sorted by neighbour name */
	uint32_t n_nodes;
	uint32_t *parent;		/* BFS scratch: adj index, or UINT32_MAX */
	uint32_t *queue;
};

/* ------------------------------------------------------------------------- */
/* The state                                                                 */

struct cons_state {
	uint64_t applied_index;
	uint64_t next_path_id;
	struct cons__vec hosts;		/* struct cons__host *, by id */
	struct cons__vec links;		/* struct cons__link *, by (a, b) */
	struct cons__vec vms;		/* struct cons__vm *, by uuid */
	struct cons__vec paths;		/* struct cons__path *, by id */
	struct cons__vec migs;		/* struct cons__mig *, by uuid */
	struct cons__ipent {
		uint32_t ip;
		struct cons__vm *vm;
	} *ipidx;
	size_t n_ipidx, cap_ipidx;
	struct cons__dedup dedup;
	struct cons__graph graph;
	struct sched_flow *flows;	/* scratch for the EDF test */
	size_t cap_flows;
};

/* Limits that are policy, not contract. */
#define CONS__ROUTE_MAX_HOPS 32
#define CONS__MAP_MAX_KEYS 64

/* ------------------------------------------------------------------------- */
/* cmd.c: stateless validation                                               */

/* Checks every field of a command against what the format allows (the same
 * rules for encode, decode and apply). Returns 0 or -EINVAL with err. */
int cons__cmd_check(const struct cons_cmd *cmd, char err[CONS_ERRLEN]);
int cons__host_check(const struct cons_host *h, char err[CONS_ERRLEN]);
int cons__link_check(const struct cons_link *l, char err[CONS_ERRLEN]);
int cons__vm_check(const struct cons_vm *vm, char err[CONS_ERRLEN]);
int cons__req_check(const struct cons_path_req *r, char err[CONS_ERRLEN]);
/* A name: at most CONS_NAME_MAX-1 bytes, no control characters; `empty_ok`. */
int cons__name_check(const char *what, const char *s, size_t cap, bool empty_ok,
		     char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* codec.c: msgpack helpers. msgpack-c's return conventions are translated   */
/* here and nowhere else.                                                    */

/* Parses exactly one msgpack object filling buf (trailing bytes refused)
 * into zone-allocated objects. A structural pre-pass bounds every declared
 * length by the bytes that remain, so hostile headers cannot make msgpack-c
 * allocate more than a small multiple of len. -EPROTO or -ENOMEM. */
int cons__mp_parse(const void *buf, size_t len, msgpack_zone *zone,
		   msgpack_object *obj, char err[CONS_ERRLEN]);
/* The same for the first object of buf; *used = its length in bytes. */
int cons__mp_parse_next(const void *buf, size_t len, size_t *used, msgpack_zone *zone,
			msgpack_object *obj, char err[CONS_ERRLEN]);

/* Map reading: `ctx` prefixes messages ("host", "path_reserve.path"). */
int cons__map_open(const msgpack_object *o, const char *ctx, char err[CONS_ERRLEN]);
const msgpack_object *cons__map_get(const msgpack_object *map, const char *key);
int cons__get_u64(const msgpack_object *map, const char *ctx, const char *key,
		  uint64_t max, uint64_t *out, char err[CONS_ERRLEN]);
int cons__get_str(const msgpack_object *map, const char *ctx, const char *key,
		  char *dst, size_t cap, char err[CONS_ERRLEN]);
int cons__get_ip(const msgpack_object *map, const char *ctx, const char *key,
		 uint32_t *ip, char err[CONS_ERRLEN]);
int cons__get_array(const msgpack_object *map, const char *ctx, const char *key,
		    size_t max, const msgpack_object_array **out, char err[CONS_ERRLEN]);
int cons__obj_str(const msgpack_object *o, const char *ctx, const char *what,
		  char *dst, size_t cap, char err[CONS_ERRLEN]);
const char *cons__mp_type_name(const msgpack_object *o);

/* Packing: common/mpack.h (rtv_pk_*, rtv_mp_status), and an IPv4 address
 * as its dotted string. */
int cons__pk_kv_ip(msgpack_packer *pk, const char *key, uint32_t ip);

int cons__pack_req(msgpack_packer *pk, const struct cons_path_req *r);
int cons__unpack_req(const msgpack_object *o, const char *ctx, struct cons_path_req *r,
		     char err[CONS_ERRLEN]);
/* cons_pack_path with n_extra more key/value pairs left for the caller. */
int cons__pack_path_extra(msgpack_packer *pk, const struct cons_rtpath *p, size_t n_extra);

void cons__ip_str(uint32_t ip, char out[16]);
int cons__ip_parse(const char *s, uint32_t *ip);

/* ------------------------------------------------------------------------- */
/* Human-readable numbers (integer only: messages are replicated state)      */

void cons__fmt_rate(char *out, size_t cap, uint64_t bps);	/* "2.5 Mbit/s" */
void cons__fmt_ns(char *out, size_t cap, uint64_t ns);	/* "250 µs" */
void cons__fmt_bits(char *out, size_t cap, uint64_t bits);	/* "12.5 kbit" */
/* Limit of a link direction: floor(capacity · ppm / 1e6). */
uint64_t cons__budget_bps(uint64_t capacity_bps, uint32_t ppm);
/* ceil(a · b / c) for c > 0, saturating at UINT64_MAX. */
uint64_t cons__muldiv_ceil(uint64_t a, uint64_t b, uint64_t c);
/* snprintf into err (CONS_ERRLEN) */
void cons__err(char err[CONS_ERRLEN], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------- */
/* state.c                                                                   */

/* The command was answered (not applied) with `status`: apply returns 0. */
static inline int cons__answer(struct cons_result *res, int status)
{
	res->status = status;
	return 0;
}

struct cons__host *cons__host_by_id(const struct cons_state *s, uint64_t id);
struct cons__host *cons__host_by_name(const struct cons_state *s, const char *name);
struct cons__path *cons__path_by_id(const struct cons_state *s, uint64_t id);
struct cons__vm *cons__vm_by_ip(const struct cons_state *s, uint32_t ip);
struct cons__vm *cons__vm_by_uuid(const struct cons_state *s, const char *uuid);
int cons__vm_set(struct cons_state *s, const struct cons_vm *vm, struct cons_result *res);
int cons__vm_remove(struct cons_state *s, const char *uuid, struct cons_result *res);
void cons__state_clear(struct cons_state *s);
/* A path's route as node names (cons_state_path_route's contract). */
size_t cons__route_names(const struct cons__path *p, const char **names, size_t max);
struct cons__client *cons__dedup_find(const struct cons__dedup *d, uint64_t cid);
int cons__dedup_reserve(struct cons__dedup *d);
void cons__dedup_push(struct cons__dedup *d, struct cons__client *c);

/* topo.c */
int cons__host_add(struct cons_state *s, const struct cons_host *h, struct cons_result *res);
int cons__host_remove(struct cons_state *s, uint64_t id, struct cons_result *res);
int cons__link_set(struct cons_state *s, const struct cons_link *l, struct cons_result *res);
int cons__link_remove(struct cons_state *s, const char *a, const char *b,
		      struct cons_result *res);
struct cons__link *cons__link_find(const struct cons_state *s, const char *x, const char *y);
/* Shortest route by hops from host `from` to host `to` (BFS; neighbours
 * visited in name order, so ties go to the lexicographically smaller
 * node). Writes up to max hops. Returns the hop count, -ENOENT (no route),
 * -E2BIG (longer than max) or -ENOMEM. */
int cons__route(struct cons_state *s, const struct cons__host *from,
		const struct cons__host *to, struct cons__hop *hops, size_t max);
void cons__graph_invalidate(struct cons_state *s);
void cons__graph_free(struct cons__graph *g);
/* "a->b" of a hop's direction */
void cons__hop_name(const struct cons__hop *h, char *out, size_t cap);
const char *cons__hop_from(const struct cons__hop *h);
const char *cons__hop_to(const struct cons__hop *h);
uint64_t cons__hop_capacity(const struct cons__hop *h);
uint64_t *cons__hop_reserved(const struct cons__hop *h);

/* cadmit.c */
int cons__path_reserve(struct cons_state *s, uint64_t index, const struct cons_path_req *rq,
		       struct cons_result *res);
int cons__path_release(struct cons_state *s, uint64_t id, struct cons_result *res);
int cons__path_escalate(struct cons_state *s, uint64_t id, uint8_t level,
			struct cons_result *res);
void cons__path_free(struct cons__path *p);
/* Adds p to / removes p from the derived sums (links, sender list, counts).
 * The sender list stays sorted by id; a shadow sorts after its path. */
int cons__path_link(struct cons__path *p);
void cons__path_unlink(struct cons__path *p);
/* Admits a shadow of `orig` from host src to host dst (one end moved) against
 * the state as it is, without linking it: 0 and *out, CONS_EREFUSED /
 * -ENOENT with err, or -ENOMEM. */
int cons__path_shadow(struct cons_state *s, const struct cons__path *orig,
		      struct cons__host *src, struct cons__host *dst, struct cons__path **out,
		      char err[CONS_ERRLEN]);

/* mig.c */
int cons__mig_apply(struct cons_state *s, uint64_t index, const struct cons_mig_req *rq,
		    struct cons_result *res);
/* -EBUSY with err when the VM owning ip / uuid migrates (commands that
 * would change it are refused meanwhile). */
int cons__mig_busy_ip(const struct cons_state *s, uint32_t ip, char err[CONS_ERRLEN]);
int cons__mig_busy_vm(const struct cons_state *s, const char *uuid, char err[CONS_ERRLEN]);
void cons__mig_free_all(struct cons_state *s);
int cons__mig_check_req(const struct cons_mig_req *rq, char err[CONS_ERRLEN]);
/* snapshot: the records after the rtpaths */
int cons__mig_pack(msgpack_packer *pk, const struct cons_state *s);
/* Restores one record from obj and its shadows through next_obj (which
 * parses the next object of the snapshot into *o). */
int cons__mig_restore(struct cons_state *s, const msgpack_object *obj,
		      int (*next_obj)(void *rd, const msgpack_object **o), void *rd,
		      char err[CONS_ERRLEN]);
/* Takes a path map with "route" into p (hops allocated), ends given. */
int cons__path_from_snapshot(struct cons_state *s, const msgpack_object *o,
			     struct cons__path *p, char err[CONS_ERRLEN]);
/* Takes p (fields, hops, src/dst, VMs set; id above every path's) into the
 * state and links it. 0 or -ENOMEM (p not taken). */
int cons__path_adopt(struct cons_state *s, struct cons__path *p);
/* Sets tc and dscp from type and level (the table in consensus.h). */
void cons__path_class(struct cons_rtpath *p);
/* The rate a path reserves on each link of its route. */
uint64_t cons__path_rate(const struct cons_rtpath *p);
/* Runs the EDF test on host h's uplink; `skip`, if set, is replaced by
 * `extra` (escalation), else `extra` (if set) is added (reservation).
 * Returns 0 (fits), CONS_EREFUSED with err, or -ENOMEM. */
int cons__edf_check(struct cons_state *s, const struct cons__host *h,
		    const struct cons__path *skip, const struct cons_rtpath *extra,
		    char err[CONS_ERRLEN]);

#endif
