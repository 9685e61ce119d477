/* reply.c — rtvd's replies as msgpack maps (rpc/proto.h, "Reply").
 *
 * Every reply starts with the same head: "v", "status", "node", "leader",
 * and "err" when status != 0; replies to reads add "stale" and "index".
 * msgpack maps carry their size up front, so each builder counts its keys
 * before packing.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/rtvd.h"
#include "common/mpack.h"
#include "rpc/proto.h"

struct reply {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;			/* first packing error */
};

static void reply_init(struct reply *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	r->rc = 0;
}

static int reply_take(struct reply *r, void **buf, size_t *len)
{
	if (r->rc || !r->sb.data) {
		msgpack_sbuffer_destroy(&r->sb);
		return -ENOMEM;
	}
	*buf = r->sb.data;
	*len = r->sb.size;
	return 0;
}

static void ck(struct reply *r, int rc)
{
	if (rc && !r->rc)
		r->rc = -ENOMEM;
}

static void key(struct reply *r, const char *k)
{
	ck(r, rtv_pk_str(&r->pk, k));
}

static void kv_str(struct reply *r, const char *k, const char *v)
{
	ck(r, rtv_pk_kv_str(&r->pk, k, v));
}

static void kv_u64(struct reply *r, const char *k, uint64_t v)
{
	ck(r, rtv_pk_kv_u64(&r->pk, k, v));
}

static void kv_bool(struct reply *r, const char *k, bool v)
{
	ck(r, rtv_pk_kv_bool(&r->pk, k, v));
}

/* read: 0 = not a read; 1 = stale read; 2 = linearizable read. */
static void head(struct reply *r, const struct rtvd *d, int status, const char *err, int read,
		 size_t extra)
{
	bool has_err = status != 0;

	ck(r, msgpack_pack_map(&r->pk, 4 + has_err + (read ? 2 : 0) + extra));
	kv_u64(r, "v", PROTO_VERSION);
	key(r, "status");
	ck(r, msgpack_pack_int(&r->pk, status));
	kv_u64(r, "node", d->cfg->id);
	kv_u64(r, "leader", d->leader_id);
	if (has_err)
		kv_str(r, "err", err && err[0] ? err : strerror(status < 0 ? -status : EIO));
	if (read) {
		kv_bool(r, "stale", read == 1);
		kv_u64(r, "index", cons_state_applied_index(d->state));
	}
}

int agent_reply_error(const struct rtvd *d, int status, const char *err, void **buf,
		      size_t *len)
{
	struct reply r;

	reply_init(&r);
	head(&r, d, status, err, 0, 0);
	return reply_take(&r, buf, len);
}

int agent_reply_ok(const struct rtvd *d, void **buf, size_t *len)
{
	return agent_reply_error(d, 0, NULL, buf, len);
}

int agent_reply_submit(const struct rtvd *d, const struct cons_result *res, void **buf,
		       size_t *len)
{
	struct reply r;

	reply_init(&r);
	head(&r, d, res->status, res->err, 0, 3);
	kv_u64(&r, "id", res->id);
	kv_bool(&r, "dup", res->duplicate);
	kv_u64(&r, "index", res->index);
	return reply_take(&r, buf, len);
}

/* ------------------------------------------------------------------------- */
/* Reads                                                                     */

/* A module may add to a path's map (the dataplane's "stats"). */
static void pack_paths(struct reply *r, const struct rtvd *d, const struct cons_rtpath *one)
{
	const struct cons_state *s = d->state;
	size_t n = one ? 1 : cons_state_n_paths(s);

	key(r, "paths");
	ck(r, msgpack_pack_array(&r->pk, n));
	for (size_t i = 0; i < n; i++)
		ck(r, agent_modules_pack_path(d, &r->pk, one ? one : cons_state_path_at(s, i)));
}

static void pack_hosts(struct reply *r, const struct cons_state *s)
{
	size_t n = cons_state_n_hosts(s);

	key(r, "hosts");
	ck(r, msgpack_pack_array(&r->pk, n));
	for (size_t i = 0; i < n; i++)
		ck(r, cons_pack_host(&r->pk, cons_state_host_at(s, i)));
}

static void pack_links(struct reply *r, const struct cons_state *s)
{
	size_t n = cons_state_n_links(s);

	key(r, "links");
	ck(r, msgpack_pack_array(&r->pk, n));
	for (size_t i = 0; i < n; i++)
		ck(r, cons_pack_link(&r->pk, cons_state_link_at(s, i)));
}

static void pack_vms(struct reply *r, const struct cons_state *s)
{
	size_t n = cons_state_n_vms(s);

	key(r, "vms");
	ck(r, msgpack_pack_array(&r->pk, n));
	for (size_t i = 0; i < n; i++)
		ck(r, cons_pack_vm(&r->pk, cons_state_vm_at(s, i)));
}

static const char *role_name(enum cons_role role)
{
	return (unsigned)role < CONS_ROLE_N ? cons_role_names[role] : "unavailable";
}

static void pack_peer(struct reply *r, const struct cons_peer_status *p)
{
	ck(r, msgpack_pack_map(&r->pk, 6));
	kv_u64(r, "id", p->id);
	kv_str(r, "addr", p->raft_addr);
	kv_bool(r, "voter", p->voter);
	kv_bool(r, "standby", p->standby);
	kv_u64(r, "match", p->match_index);
	kv_u64(r, "lag", p->lag);
}

#define STATUS_KEYS 11	/* "leader" is in the head already */

static void pack_status(struct reply *r, const struct rtvd *d)
{
	struct cons_node_status st;

	cons_node_status(d->node, &st);
	kv_str(r, "role", role_name(st.role));
	kv_u64(r, "term", st.term);
	kv_str(r, "leader_addr", st.leader_addr);
	kv_u64(r, "commit", st.commit_index);
	kv_u64(r, "applied", st.applied_index);
	kv_u64(r, "last", st.last_index);
	kv_u64(r, "leader_changes", st.leader_changes);
	key(r, "peers");
	ck(r, msgpack_pack_array(&r->pk, st.n_peers));
	for (size_t i = 0; i < st.n_peers; i++)
		pack_peer(r, &st.peers[i]);
	kv_str(r, "name", d->cfg->name);
	kv_str(r, "version", RTVD_VERSION);
	/* where this host's credentials are (paths, not contents): rtvctl on
	 * this host reaches the other agents with them (cli: rtvctl_peer_client);
	 * the key file is readable by root only */
	key(r, "tls_files");
	ck(r, msgpack_pack_map(&r->pk, 3));
	kv_str(r, "ca", d->cfg->tls_ca);
	kv_str(r, "cert", d->cfg->tls_cert);
	kv_str(r, "key", d->cfg->tls_key);
	ck(r, agent_modules_pack_status(d, &r->pk));
}

int agent_reply_read(const struct rtvd *d, const struct agent_req *req, bool stale,
		     void **buf, size_t *len, int *status, char err[CONS_ERRLEN])
{
	const struct cons_state *s = d->state;
	const struct cons_rtpath *one = NULL;
	int read = stale ? 1 : 2;
	struct reply r;

	*status = 0;
	reply_init(&r);
	if (req->op == AGENT_OP_PATHS && req->id && !(one = cons_state_path(s, req->id))) {
		*status = -ENOENT;
		snprintf(err, CONS_ERRLEN, "no rtpath %llu (as of index %llu%s)",
			 (unsigned long long)req->id,
			 (unsigned long long)cons_state_applied_index(s),
			 stale ? " on this replica; a linearizable read asks the leader" : "");
		head(&r, d, *status, err, read, 0);
		return reply_take(&r, buf, len);
	}
	head(&r, d, 0, NULL, read,
	     req->op == AGENT_OP_STATUS ? STATUS_KEYS + agent_modules_status_keys(d) : 1);
	switch (req->op) {
	case AGENT_OP_PATHS:
		pack_paths(&r, d, one);
		break;
	case AGENT_OP_HOSTS:
		pack_hosts(&r, s);
		break;
	case AGENT_OP_LINKS:
		pack_links(&r, s);
		break;
	case AGENT_OP_VMS:
		pack_vms(&r, s);
		break;
	default:
		pack_status(&r, d);
		break;
	}
	return reply_take(&r, buf, len);
}
