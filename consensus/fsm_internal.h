/* fsm_internal.h — libraft glue private to consensus/: the raft_fsm over a
 * struct cons_state, the one translation of raft's error codes, and a guard
 * on raft_io's disk writes. node.c builds the real node from these; the
 * fault tests (tests/unit/test_cons_fixture.c) put the same FSM and guard on
 * libraft's simulated cluster.
 */
#ifndef RTV_CONSENSUS_FSM_INTERNAL_H
#define RTV_CONSENSUS_FSM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <raft.h>

#include "common/log.h"
#include "consensus/consensus.h"

/* The state machine as libraft sees it. Caller-allocated; it does not own
 * the state. The raft instance must be bound (cons_fsm_bind) before raft
 * applies anything: apply reads the entry's log index from it. */
struct cons_fsm {
	struct raft_fsm fsm;		/* fsm.data points back here */
	struct raft *raft;
	struct cons_state *state;
	struct cons_node_hooks hooks;
	/* The answer to the command being applied. raft_apply's callback gets
	 * a pointer to it and must copy what it needs before returning (see
	 * fsm.c for why this is not a heap allocation). */
	struct cons_result result;
	uint64_t n_applied;		/* commands applied (any outcome) */
	uint64_t n_undecodable;		/* log entries that failed to decode */
	uint64_t n_restored;		/* snapshots installed */
	struct rtv_ratelimit bad_rl;	/* log lines about undecodable entries */
};

/* A command as a Raft log entry: an 8-byte header (payload length, u32
 * little-endian, then 4 zero bytes), the cons_cmd_encode bytes, and zero
 * padding to a multiple of 8 bytes, which raft_uv requires of every entry
 * (uv_segment.c asserts it; the Debian build, without asserts, writes a
 * segment it cannot load back). Fills out with a raft_malloc'd buffer.
 * Returns 0, -EINVAL (err says why) or -ENOMEM. */
int cons_entry_encode(const struct cons_cmd *cmd, struct raft_buffer *out,
		      char err[CONS_ERRLEN]);

void cons_fsm_init(struct cons_fsm *f, struct cons_state *state,
		   const struct cons_node_hooks *hooks);
void cons_fsm_bind(struct cons_fsm *f, struct raft *r);

/* raft's error code (RAFT_NOMEM, ...) as a negative errno; 0 stays 0.
 * RAFT_NOTLEADER and RAFT_LEADERSHIPLOST become -CONS_ENOTLEADER. */
int cons_raft_errno(int rv);

/* A shim between raft and its raft_io that works around two libraft 0.15
 * bugs. Install after raft_init and before raft_start; it takes raft->data.
 *
 * Disk-write failures: raft 0.15 keeps leading after one (later releases
 * step down). The guard sees every failed append, logs it, and on the next
 * cons_io_guard_poll asks a leader to hand leadership to an up-to-date
 * voter (raft_transfer), so the cluster keeps a leader whose disk works.
 *
 * Over-reported match index: a follower answers an AppendEntries it could
 * handle without writing (a heartbeat, or entries it already has) with its
 * last stored index, which may include a stale tail from an older term
 * beyond what the leader's message proved to match. The leader caps that
 * at its own last index and takes it as the follower's match index, so it
 * can count the follower towards committing entries the follower does not
 * have (an acknowledged write can then be lost), and it never repairs the
 * follower's log (test_cons_fixture has schedules that fail without it). The
 * guard caps such an answer at prev_log_index + n_entries of the message
 * it answers, the value the leader's own code expects (replication.c,
 * replicationUpdate). Answers sent after a disk write are not affected:
 * that write replaced any stale tail. */
struct cons_io_guard {
	struct raft *raft;
	/* the wrapped I/O's methods */
	int (*append)(struct raft_io *io, struct raft_io_append *req,
		      const struct raft_entry entries[], unsigned n,
		      raft_io_append_cb cb);
	int (*start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
		     raft_io_recv_cb recv);
	int (*send)(struct raft_io *io, struct raft_io_send *req,
		    const struct raft_message *message, raft_io_send_cb cb);
	raft_io_recv_cb recv;

	uint64_t n_errors;		/* failed disk writes seen */
	uint64_t n_transfers;		/* leadership hand-overs asked for */
	uint64_t n_capped;		/* AppendEntries answers corrected */
	bool pending;			/* a failure not yet acted upon */
	bool transferring;		/* `transfer` is in use by raft */
	bool in_append_entries;		/* raft is handling an AppendEntries */
	raft_index append_entries_end;	/* its prev_log_index + n_entries */
	struct raft_transfer transfer;
};

void cons_io_guard_install(struct cons_io_guard *g, struct raft *r);
/* Acts on disk failures seen since the last call. Call every loop turn. */
void cons_io_guard_poll(struct cons_io_guard *g);

#endif /* RTV_CONSENSUS_FSM_INTERNAL_H */
