/* fsm.c — struct cons_state as libraft's raft_fsm, the one place where
 * raft's error codes become errnos, and a guard between raft and its I/O.
 *
 * Apply. libraft 0.15 gives the FSM the entry's bytes but not its index.
 * It applies entries strictly in order and sets r->last_applied only after
 * apply returns (replication.c, replicationApply), so the entry being
 * applied is raft_last_applied() + 1, on every replica, and across restarts
 * (after a snapshot install last_applied is the snapshot's index).
 *
 * Results. raft hands apply's `result` to the raft_apply callback only on
 * the node that submitted the entry, and drops it everywhere else (followers,
 * or a leader replaying entries of an earlier term: applyCommand only looks
 * the request up). A heap-allocated result would leak on every replica but
 * one, so the answer lives in the FSM (struct cons_fsm.result) and the
 * callback, which raft runs synchronously right after apply, copies it out.
 *
 * Entries. raft_uv requires every entry to be a multiple of 8 bytes
 * (uv_segment.c asserts it; the Debian build has no asserts and writes
 * segments it cannot load back), and the command decoder refuses trailing
 * bytes, so a command travels framed: its length, then its bytes, then
 * zero padding (cons_entry_encode, fsm_internal.h).
 *
 * Determinism. An entry that does not decode (a corrupt or newer-format
 * command) is answered with the decoder's error on every replica alike
 * instead of failing apply: raft 0.15 would stop applying at that entry and
 * retry it forever, stalling the replica. Only an internal failure (-ENOMEM,
 * after which cons_state_apply leaves the state unchanged) fails apply, so
 * raft retries the same entry later.
 *
 * Snapshots use fsm version 2: raft calls snapshot_finalize once the snapshot
 * is on disk, so the buffer cons_state_snapshot malloc'd is freed by us and
 * never copied into raft_malloc memory. Restore receives a raft_malloc'd
 * buffer that becomes ours on success (snapshot.c, snapshotRestore).
 *
 * The guard sits between raft and its raft_io (raft_uv's or the fixture's),
 * so node.c and the fault tests share it; fsm_internal.h says what it fixes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/fsm_internal.h"

#define MOD "consensus"

int cons_raft_errno(int rv)
{
	switch (rv) {
	case 0: return 0;
	case RAFT_NOMEM: return -ENOMEM;
	case RAFT_BADID: return -EINVAL;
	case RAFT_DUPLICATEID: return -EEXIST;
	case RAFT_DUPLICATEADDRESS: return -EADDRINUSE;
	case RAFT_BADROLE: return -EINVAL;
	case RAFT_MALFORMED: return -EPROTO;
	case RAFT_NOTLEADER: return -CONS_ENOTLEADER;
	case RAFT_LEADERSHIPLOST: return -CONS_ENOTLEADER;
	case RAFT_SHUTDOWN: return -ESHUTDOWN;
	case RAFT_CANTBOOTSTRAP: return -EEXIST;
	case RAFT_CANTCHANGE: return -EBUSY;
	case RAFT_CORRUPT: return -EBADMSG;
	case RAFT_CANCELED: return -ECANCELED;
	case RAFT_NAMETOOLONG: return -ENAMETOOLONG;
	case RAFT_TOOBIG: return -E2BIG;
	case RAFT_NOCONNECTION: return -ENOTCONN;
	case RAFT_BUSY: return -EBUSY;
	case RAFT_IOERR: return -EIO;
	case RAFT_NOTFOUND: return -ENOENT;
	case RAFT_INVALID: return -EINVAL;
	case RAFT_UNAUTHORIZED: return -EACCES;
	case RAFT_NOSPACE: return -ENOSPC;
	case RAFT_TOOMANY: return -EMFILE;
	default: return -EIO;
	}
}

/* The reverse direction, for the codes the FSM returns to raft. */
static int raft_code(int neg_errno)
{
	switch (neg_errno) {
	case 0: return 0;
	case -ENOMEM: return RAFT_NOMEM;
	case -EBUSY: return RAFT_BUSY;
	default: return RAFT_MALFORMED;
	}
}

enum { ENTRY_HEADER_BYTES = 8, ENTRY_ALIGN_BYTES = 8 };

int cons_entry_encode(const struct cons_cmd *cmd, struct raft_buffer *out,
		      char err[CONS_ERRLEN])
{
	unsigned char *p;
	void *enc;
	size_t len, total;
	int rc;

	rc = cons_cmd_encode(cmd, &enc, &len, err);
	if (rc != 0)
		return rc;
	if (len > UINT32_MAX - 2 * ENTRY_ALIGN_BYTES) {
		free(enc);
		snprintf(err, CONS_ERRLEN, "command of %zu bytes is too large for a log entry", len);
		return -EINVAL;
	}
	total = ENTRY_HEADER_BYTES + (len + ENTRY_ALIGN_BYTES - 1) / ENTRY_ALIGN_BYTES *
		ENTRY_ALIGN_BYTES;
	p = raft_calloc(1, total);
	if (!p) {
		free(enc);
		return -ENOMEM;
	}
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(len >> (8 * i));
	memcpy(p + ENTRY_HEADER_BYTES, enc, len);
	free(enc);
	out->base = p;
	out->len = total;
	return 0;
}

/* The payload of an entry framed by cons_entry_encode. */
static int entry_payload(const struct raft_buffer *buf, const void **payload, size_t *len,
			 char err[CONS_ERRLEN])
{
	const unsigned char *p = buf->base;
	uint32_t n = 0;

	if (buf->len < ENTRY_HEADER_BYTES || buf->len % ENTRY_ALIGN_BYTES != 0) {
		snprintf(err, CONS_ERRLEN, "log entry of %zu bytes is not a framed command",
			 buf->len);
		return -EPROTO;
	}
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)p[i] << (8 * i);
	if (p[4] | p[5] | p[6] | p[7] || n > buf->len - ENTRY_HEADER_BYTES ||
	    buf->len - ENTRY_HEADER_BYTES - n >= ENTRY_ALIGN_BYTES) {
		snprintf(err, CONS_ERRLEN, "log entry header (length %u in %zu bytes) is corrupt",
			 n, buf->len);
		return -EPROTO;
	}
	*payload = p + ENTRY_HEADER_BYTES;
	*len = n;
	return 0;
}

static void answer_undecodable(struct cons_fsm *f, uint64_t index, int rc)
{
	uint64_t dropped = 0;

	f->n_undecodable++;
	f->result.status = rc;
	f->result.index = index;
	if (rtv_ratelimit_ok(&f->bad_rl, &dropped))
		rtv_error(MOD, "log entry %llu does not decode (%s); answered with "
			  "that error on every replica (%llu more not logged)",
			  (unsigned long long)index, f->result.err,
			  (unsigned long long)dropped);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct cons_fsm *f = fsm->data;
	struct cons_cmd cmd;
	uint64_t index = raft_last_applied(f->raft) + 1;
	const void *payload;
	size_t len;
	int rc;

	memset(&f->result, 0, sizeof(f->result));
	rc = entry_payload(buf, &payload, &len, f->result.err);
	if (rc == 0)
		rc = cons_cmd_decode(payload, len, &cmd, f->result.err);
	if (rc != 0) {
		answer_undecodable(f, index, rc);
		*result = &f->result;
		return 0;
	}
	rc = cons_state_apply(f->state, index, &cmd, &f->result);
	if (rc != 0) {
		rtv_error(MOD, "applying log entry %llu (%s) failed: %s; raft will retry it",
			  (unsigned long long)index, cons_op_name(cmd.op), strerror(-rc));
		*result = NULL;
		return raft_code(rc);
	}
	f->n_applied++;
	if (f->hooks.applied)
		f->hooks.applied(f->hooks.arg, &cmd, &f->result);
	*result = &f->result;
	return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct cons_fsm *f = fsm->data;
	struct raft_buffer *b = malloc(sizeof(*b));
	int rc;

	if (!b)
		return RAFT_NOMEM;
	rc = cons_state_snapshot(f->state, &b->base, &b->len);
	if (rc != 0) {
		free(b);
		rtv_warn(MOD, "snapshot failed: %s; raft retries at the next threshold",
			 strerror(-rc));
		return raft_code(rc);
	}
	*bufs = b;
	*n_bufs = 1;
	return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
				 unsigned *n_bufs)
{
	(void)fsm;
	if (*bufs) {
		for (unsigned i = 0; i < *n_bufs; i++)
			free((*bufs)[i].base);
		free(*bufs);
	}
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct cons_fsm *f = fsm->data;
	char err[CONS_ERRLEN] = "";
	int rc;

	rc = cons_state_restore(f->state, buf->base, buf->len, err);
	if (rc != 0) {
		rtv_error(MOD, "cannot install snapshot (%zu bytes): %s", buf->len, err);
		return raft_code(rc);
	}
	raft_free(buf->base);
	f->n_restored++;
	rtv_info(MOD, "installed snapshot: state now at index %llu",
		 (unsigned long long)cons_state_applied_index(f->state));
	if (f->hooks.restored)
		f->hooks.restored(f->hooks.arg);
	return 0;
}

void cons_fsm_init(struct cons_fsm *f, struct cons_state *state,
		   const struct cons_node_hooks *hooks)
{
	static const struct rtv_ratelimit rl = RTV_RATELIMIT_INIT(10, 5);

	memset(f, 0, sizeof(*f));
	f->state = state;
	if (hooks)
		f->hooks = *hooks;
	f->bad_rl = rl;
	f->fsm.version = 2;
	f->fsm.data = f;
	f->fsm.apply = fsm_apply;
	f->fsm.snapshot = fsm_snapshot;
	f->fsm.restore = fsm_restore;
	f->fsm.snapshot_finalize = fsm_snapshot_finalize;
	f->fsm.snapshot_async = NULL;
}

void cons_fsm_bind(struct cons_fsm *f, struct raft *r)
{
	f->raft = r;
}

/* ------------------------------------------------------------------------- */
/* The I/O guard                                                             */

static struct cons_io_guard *guard_of(struct raft_io *io)
{
	return ((struct raft *)io->data)->data;	/* raft_init set io->data */
}

struct guarded_append {
	void *raft_data;		/* raft's own req->data, restored on completion */
	raft_io_append_cb cb;
	struct cons_io_guard *g;
};

static void guard_note(struct cons_io_guard *g, int status)
{
	bool leader = raft_state(g->raft) == RAFT_LEADER;

	g->n_errors++;
	g->pending = true;
	rtv_error(MOD, "DISK WRITE FAILED on raft server %llu: %s (%s); %s",
		  (unsigned long long)g->raft->id, raft_strerror(status),
		  g->raft->io->errmsg[0] ? g->raft->io->errmsg : "no detail",
		  leader ? "handing leadership to an up-to-date voter; check the disk"
			 : "this replica will lag until the disk works; check it");
}

static void guard_append_done(struct raft_io_append *req, int status)
{
	struct guarded_append *ga = req->data;
	struct cons_io_guard *g = ga->g;
	raft_io_append_cb cb = ga->cb;

	req->data = ga->raft_data;
	free(ga);
	if (status != 0 && status != RAFT_CANCELED)
		guard_note(g, status);
	cb(req, status);
}

/* raft_uv does not use req->data (uv_append.c), so it carries our record
 * while the write is in flight. */
static int guard_append(struct raft_io *io, struct raft_io_append *req,
			const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
	struct cons_io_guard *g = guard_of(io);
	struct guarded_append *ga = malloc(sizeof(*ga));
	int rv;

	if (!ga)
		return RAFT_NOMEM;
	ga->raft_data = req->data;
	ga->cb = cb;
	ga->g = g;
	req->data = ga;
	rv = g->append(io, req, entries, n, guard_append_done);
	if (rv != 0) {
		req->data = ga->raft_data;
		free(ga);
		guard_note(g, rv);
	}
	return rv;
}

/* raft handles a received message synchronously, including any answer it
 * can give without writing to disk, so "inside recv" identifies the
 * AppendEntries an answer sent from guard_send belongs to. */
static void guard_recv(struct raft_io *io, struct raft_message *m)
{
	struct cons_io_guard *g = guard_of(io);

	if (m->type != RAFT_IO_APPEND_ENTRIES) {
		g->recv(io, m);
		return;
	}
	g->in_append_entries = true;
	g->append_entries_end = m->append_entries.prev_log_index + m->append_entries.n_entries;
	g->recv(io, m);
	g->in_append_entries = false;
}

static int guard_send(struct raft_io *io, struct raft_io_send *req,
		      const struct raft_message *m, raft_io_send_cb cb)
{
	struct cons_io_guard *g = guard_of(io);
	struct raft_message capped;

	if (!g->in_append_entries || m->type != RAFT_IO_APPEND_ENTRIES_RESULT ||
	    m->append_entries_result.rejected != 0 ||
	    m->append_entries_result.last_log_index <= g->append_entries_end)
		return g->send(io, req, m, cb);
	capped = *m;	/* both raft_io implementations copy or encode it at once */
	capped.append_entries_result.last_log_index = g->append_entries_end;
	g->n_capped++;
	rtv_debug(MOD, "server %llu: answering AppendEntries with match %llu, not %llu "
		  "(entries past it are not known to match the leader's)",
		  (unsigned long long)g->raft->id, (unsigned long long)g->append_entries_end,
		  (unsigned long long)m->append_entries_result.last_log_index);
	return g->send(io, req, &capped, cb);
}

static int guard_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
		       raft_io_recv_cb recv)
{
	struct cons_io_guard *g = guard_of(io);

	g->recv = recv;
	return g->start(io, msecs, tick, guard_recv);
}

void cons_io_guard_install(struct cons_io_guard *g, struct raft *r)
{
	memset(g, 0, sizeof(*g));
	g->raft = r;
	g->append = r->io->append;
	g->start = r->io->start;
	g->send = r->io->send;
	g->transfer.data = g;
	r->data = g;
	r->io->append = guard_append;
	r->io->start = guard_start;
	r->io->send = guard_send;
}

static void guard_transfer_done(struct raft_transfer *req)
{
	struct cons_io_guard *g = req->data;

	g->transferring = false;
	if (raft_state(g->raft) == RAFT_LEADER)
		rtv_error(MOD, "server %llu is still leader after a disk error: no voter "
			  "took over in time; will retry on the next failure",
			  (unsigned long long)g->raft->id);
}

void cons_io_guard_poll(struct cons_io_guard *g)
{
	int rv;

	if (!g->pending)
		return;
	g->pending = false;
	if (g->transferring || raft_state(g->raft) != RAFT_LEADER)
		return;
	g->transfer.data = g;
	rv = raft_transfer(g->raft, &g->transfer, 0, guard_transfer_done);
	if (rv != 0) {
		rtv_error(MOD, "cannot hand leadership over after a disk error: %s",
			  raft_errmsg(g->raft));
		return;
	}
	g->transferring = true;
	g->n_transfers++;
}
