/* reconcile.c — keeping the switch's flow table equal to the desired one.
 *
 * The gateway keeps `installed`, its picture of the switch's table. On every
 * connection that picture is rebuilt from a flow dump (multipart, possibly
 * many parts) and diffed against `desired`; afterwards it is kept by
 * applying each flow-mod as it is sent. OpenFlow processes a connection's
 * messages in order and a barrier reply says all before it are done
 * (§6.2), so every batch ends with a barrier and its reply completes the
 * batch: the `synced` hook reports what it did.
 *
 * At most one batch is in flight. Changes arriving meanwhile only update
 * `desired` and note the cookies they touched; the next batch diffs those
 * cookies (or everything, after port changes or many cookies) once the
 * barrier is back. An error reply to a batch's flow-mod means the picture
 * may be wrong: after the barrier the table is dumped and reconciled again,
 * at most OFGW_RESYNC_MAX times in a row, so a flow the switch will never
 * accept cannot make us loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/internal.h"

static void start_dump(struct ofgw *o);

/* ------------------------------------------------------------------------- */
/* Sending a batch                                                           */

static int encode_op(struct ofgw *o, const struct flow_op *op)
{
	struct ofp_flow_mod fm;

	memset(&fm, 0, sizeof(fm));
	fm.command = op->command;
	fm.flow = op->flow;
	fm.out_port = OFGW_PORT_ANY;
	if (op->command == OFPFC_DELETE)
		fm.cookie_mask = UINT64_MAX;
	return ofp_encode_flow_mod(&o->out, ofgw__next_xid(o), &fm);
}

/* What the switch will have once the op is done. */
static int apply_op(struct ofgw *o, const struct flow_op *op)
{
	switch (op->command) {
	case OFPFC_ADD:
		return flowtab_put(&o->installed, &op->flow);
	case OFPFC_DELETE_STRICT:
		flowtab_del(&o->installed, &op->flow);
		return 0;
	default:
		flowtab_del_cookie(&o->installed, op->flow.cookie, op->flow.table_id);
		return 0;
	}
}

/* Encodes o->ops and a barrier, updates `installed`, writes. A full batch
 * is sent even when empty: its barrier reply reports the reconciliation. */
static void send_batch(struct ofgw *o, bool full, uint64_t start_ns)
{
	char buf[512];
	size_t i;

	if (o->ops.n == 0 && !full)
		return;
	o->batch = (struct ofgw_sync){ .full = full, .added = o->ops.added,
				       .modified = o->ops.modified, .deleted = o->ops.deleted,
				       .unchanged = o->ops.unchanged };
	o->batch_start_ns = start_ns;
	o->batch_first_xid = o->xid + 1;
	for (i = 0; i < o->ops.n; i++) {
		const struct flow_op *op = &o->ops.v[i];

		if (encode_op(o, op) != 0) {
			rtv_error(OFGW_MOD, "cannot encode flow-mod (a pipeline bug): %s",
				  ofgw_flow_format(&op->flow, buf, sizeof(buf)));
			o->batch.errors++;
			continue;
		}
		o->st.tx_msgs++;
		o->st.flow_mods++;
		if (apply_op(o, op) != 0)
			o->resync = true;	/* out of memory: our picture is incomplete */
	}
	o->barrier_xid = ofgw__next_xid(o);
	if (ofp_encode_simple(&o->out, o->barrier_xid, OFPT_BARRIER_REQUEST) == 0)
		o->st.tx_msgs++;
	o->in_flight = true;
	flow_ops_clear(&o->ops);
	ofgw__flush(o);
}

static void clear_dirty(struct ofgw *o)
{
	o->n_dirty = 0;
	o->dirty_all = false;
}

static void on_batch_timer(uv_timer_t *t)
{
	struct ofgw *o = t->data;
	int rc;

	if (o->phase != OFGW_READY || o->in_flight || (o->n_dirty == 0 && !o->dirty_all))
		return;
	flow_ops_clear(&o->ops);
	if (o->dirty_all)
		rc = flows_diff(&o->desired, &o->installed, NULL, 0, &o->ops);
	else
		rc = flows_diff(&o->desired, &o->installed, o->dirty, o->n_dirty, &o->ops);
	if (rc != 0) {
		rtv_error(OFGW_MOD, "out of memory diffing flows; retrying");
		flow_ops_clear(&o->ops);
		uv_timer_start(&o->batch_timer, on_batch_timer, OFGW_RETRY_MS, 0);
		return;
	}
	clear_dirty(o);
	o->ops.unchanged = 0;
	send_batch(o, false, uv_hrtime());
}

void ofgw__schedule(struct ofgw *o)
{
	if (o->phase == OFGW_READY && !o->in_flight && (o->n_dirty || o->dirty_all))
		uv_timer_start(&o->batch_timer, on_batch_timer, 0, 0);
}

void ofgw__mark_dirty(struct ofgw *o, uint64_t cookie)
{
	if (o->dirty_all)
		return;
	for (size_t i = 0; i < o->n_dirty; i++)
		if (o->dirty[i] == cookie)
			return;
	if (o->n_dirty == OFGW_DIRTY_MAX)
		o->dirty_all = true;
	else
		o->dirty[o->n_dirty++] = cookie;
}

/* ------------------------------------------------------------------------- */
/* The dump and the full reconciliation                                      */

static void reconcile_full(struct ofgw *o)
{
	int rc = 0;

	flow_ops_clear(&o->ops);
	for (size_t i = 0; i < o->n_opaque && rc == 0; i++) {
		rc = flow_ops_delete_cookie(&o->ops, o->opaque[i].table, o->opaque[i].cookie);
		flowtab_del_cookie(&o->installed, o->opaque[i].cookie, o->opaque[i].table);
	}
	if (rc == 0)
		rc = flows_diff(&o->desired, &o->installed, NULL, 0, &o->ops);
	if (rc != 0) {
		rtv_error(OFGW_MOD, "out of memory reconciling %zu flows; retrying", o->desired.n);
		ofgw__on_flow_stats(o, NULL);
		return;
	}
	clear_dirty(o);
	o->n_opaque = 0;
	o->phase = OFGW_READY;
	send_batch(o, true, o->dump_start_ns);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct ofgw *o = t->data;

	if (o->phase == OFGW_DUMP && o->dump_xid == 0)
		start_dump(o);
}

static void start_dump(struct ofgw *o)
{
	o->phase = OFGW_DUMP;
	flowtab_clear(&o->installed);
	o->n_opaque = 0;
	o->dump_start_ns = uv_hrtime();
	o->dump_xid = ofgw__next_xid(o);
	if (ofp_encode_flow_stats_request(&o->out, o->dump_xid, OFP_TABLE_ALL, 0, 0, NULL) == 0)
		o->st.tx_msgs++;
	ofgw__flush(o);
}

static int add_opaque(struct ofgw *o, uint8_t table, uint64_t cookie)
{
	for (size_t i = 0; i < o->n_opaque; i++)
		if (o->opaque[i].table == table && o->opaque[i].cookie == cookie)
			return 0;
	if (o->n_opaque == o->cap_opaque) {
		size_t cap = o->cap_opaque ? o->cap_opaque * 2 : 8;
		struct ofgw_opaque *v = realloc(o->opaque, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		o->opaque = v;
		o->cap_opaque = cap;
	}
	o->opaque[o->n_opaque++] = (struct ofgw_opaque){ table, cookie };
	return 0;
}

/* A dumped flow: into `installed`, or, when we could not reproduce its
 * match for a strict delete (or it collides with one we have), onto the
 * list of cookies to delete wholesale. */
static int take_dumped(struct ofgw *o, const struct ofgw_flow *f)
{
	if ((f->foreign & OFGW_FOREIGN_MATCH) || flowtab_find(&o->installed, f) != NULL)
		return add_opaque(o, f->table_id, f->cookie);
	return flowtab_put(&o->installed, f);
}

void ofgw__on_flow_stats(struct ofgw *o, const struct ofp_msg *m)
{
	const char *why = "out of memory";
	struct ofgw_flow f;
	size_t off = 0;
	int rc = -ENOMEM;

	if (o->phase != OFGW_DUMP)
		return;
	if (m != NULL) {
		while ((rc = ofp_next_flow_stats(m->u.multipart.body, m->u.multipart.len, &off, &f,
						 &why)) == 1)
			if (take_dumped(o, &f) != 0) {
				rc = -ENOMEM;
				break;
			}
		if (rc == 0 && !(m->u.multipart.flags & OFPMPF_MORE)) {
			o->dump_xid = 0;
			reconcile_full(o);
		}
		if (rc >= 0)
			return;
		o->st.decode_errors += rc != -ENOMEM;
		ofgw__warn(o, "flow dump unusable (%s); dumping again in %d ms", why, OFGW_RETRY_MS);
	}
	o->dump_xid = 0;	/* later parts of this dump are ignored */
	uv_timer_start(&o->retry_timer, on_retry_timer, OFGW_RETRY_MS, 0);
}

/* ------------------------------------------------------------------------- */
/* Replies and errors                                                        */

void ofgw__on_barrier(struct ofgw *o, uint32_t xid)
{
	struct ofgw_sync s;

	if (!o->in_flight || xid != o->barrier_xid)
		return;
	o->in_flight = false;
	s = o->batch;
	s.duration_ns = uv_hrtime() - o->batch_start_ns;
	if (s.full)
		o->st.reconciles++;
	o->st.flows_added += s.added;
	o->st.flows_modified += s.modified;
	o->st.flows_deleted += s.deleted;
	if (o->hooks.synced != NULL)
		o->hooks.synced(o->hooks.arg, &s);
	if (o->phase != OFGW_READY)
		return;		/* the hook dropped the connection */
	if (s.errors || o->resync) {
		o->resync = false;
		if (o->resync_runs < OFGW_RESYNC_MAX) {
			o->resync_runs++;
			start_dump(o);
			return;
		}
		rtv_error(OFGW_MOD, "the switch keeps refusing flows (%u errors); not retrying until "
			  "the next change or connection", s.errors);
	} else {
		o->resync_runs = 0;
	}
	ofgw__schedule(o);
}

/* The type of the request an error answers: its first bytes are in data. */
static const char *failed_request(const struct ofp_msg *m)
{
	return m->u.error.len >= 2 ? ofp_type_name(m->u.error.data[1]) : "request";
}

void ofgw__on_error(struct ofgw *o, const struct ofp_msg *m)
{
	struct ofgw_error e = { .xid = m->h.xid, .type = m->u.error.type, .code = m->u.error.code };
	char what[160];
	uint32_t xid = m->h.xid;

	o->st.error_msgs++;
	snprintf(what, sizeof(what), "%s rejected: %s code %u", failed_request(m),
		 ofp_error_type_name(e.type), e.code);
	e.what = what;
	ofgw__warn(o, "switch error (xid %u): %s", xid, what);
	if (o->in_flight && xid >= o->batch_first_xid && xid < o->barrier_xid)
		o->batch.errors++;
	if (o->hooks.error != NULL)
		o->hooks.error(o->hooks.arg, &e);
	if (o->phase == OFGW_DUMP && xid == o->dump_xid)
		ofgw__on_flow_stats(o, NULL);
	else if (o->phase < OFGW_DUMP && o->phase > OFGW_HELLO)
		ofgw__drop(o, "the switch refused the handshake");
}

void ofgw__on_ready(struct ofgw *o)
{
	o->resync_runs = 0;
	o->resync = false;
	ofgw__rebuild(o);
	start_dump(o);
}

void ofgw__on_disconnect(struct ofgw *o)
{
	o->phase = OFGW_IDLE;
	o->in_flight = false;
	o->resync = false;
	o->dump_xid = o->ports_xid = 0;
	o->n_ports = o->n_ports_new = 0;
	flowtab_clear(&o->installed);
	o->n_opaque = 0;
	clear_dirty(o);
	flow_ops_clear(&o->ops);
	uv_timer_stop(&o->batch_timer);
	uv_timer_stop(&o->retry_timer);
	if (o->stats_cb != NULL) {
		ofgw_port_stats_cb cb = o->stats_cb;

		o->stats_cb = NULL;
		o->stats_xid = 0;
		cb(o->stats_arg, -ECONNRESET, NULL, 0);
	}
}
