/* misspol.h — the sending host's miss policy for one rtpath (docs/architecture.md, "Miss
 * reports"; consensus.h struct cons_miss_policy). Private to agent/dataplane/.
 *
 * Pure: no clock, no I/O. The caller (dataplane.c) feeds the reports that
 * arrive and the time (CLOCK_MONOTONIC ns), rebuilds the rtpath table when
 * the local boost changes and submits PATH_ESCALATE when asked to.
 *
 * What it does, per rtpath this host sends:
 *
 *   - New misses. A report's new misses are its cumulative count minus the
 *     last one seen (a lower count: the receiver restarted; its interval
 *     count is taken). A repeat (nothing new) changes nothing.
 *   - Episode. Misses belong to one episode while they keep coming: an
 *     episode ends after `decay_ns` ([dataplane] boost_decay) without any.
 *     The policy's thresholds count within an episode: `misses` new misses,
 *     or misses still arriving `after_ns` after the episode began.
 *   - Local boost, at once. The first new misses of an episode raise the
 *     path's local boost by one level (dp_table_new's boost: EDF offset
 *     D·2^-(level+boost), or R·(1 + (level+boost)/2)); while misses go on it
 *     rises one more level per `step_ns` at most, up to
 *     SCHED_ESCALATION_MAX − level. Each `decay_ns` without a miss lowers it
 *     by one level, back to 0.
 *   - Escalation. Past a threshold, and below the policy's max_level, the
 *     path asks for level + 1 through Raft (one proposal in flight). When
 *     the level rises (committed), the count starts again, the time
 *     threshold counts from then, and the boost drops by one level so that
 *     level + boost stays where it was. A commit answered before this
 *     replica applied it (a follower hears from the leader first) holds
 *     further proposals until the level is seen here. A refusal (admission said no) waits
 *     `refusal backoff` before asking again: 5 s, doubling to 60 s, reset
 *     by a commit or the end of the episode; an outcome that is unknown or
 *     unavailable (no leader) is asked again after 1 s.
 */
#ifndef RTV_AGENT_MISSPOL_H
#define RTV_AGENT_MISSPOL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/dataplane/missrep.h"
#include "consensus/consensus.h"

#define AGENT_MISSPOL_BACKOFF_MIN_NS 5000000000ull
#define AGENT_MISSPOL_BACKOFF_MAX_NS 60000000000ull
#define AGENT_MISSPOL_RETRY_NS 1000000000ull

struct agent_misspol_cfg {
	uint64_t decay_ns;	/* quiet time that ends an episode / lowers the boost */
	uint64_t step_ns;	/* at most one boost level per step while misses go on */
};

struct agent_misspol {
	uint64_t path_id;		/* first: kept sorted by it (dataplane.c) */
	uint64_t reporter;		/* receiving host of the last report */
	uint64_t last_cum;
	bool have_cum;
	uint8_t boost;
	uint8_t pending_level;		/* proposed, answer not yet in (0: none) */
	uint8_t committed_level;	/* committed, not yet applied here (0: none) */
	bool in_episode;
	uint64_t episode_start_ns, last_miss_ns, last_boost_ns, last_decay_ns;
	uint64_t episode_misses;	/* since the episode began or the level rose */
	uint64_t retry_at_ns, backoff_ns;
	/* what `rtvctl paths` shows */
	uint64_t reports, reports_dup, misses;	/* misses: new ones, summed */
	uint64_t worst_late_ns, last_late_ns, uncertainty_ns;
	uint16_t last_ip_id;
	uint64_t boosts, proposed, committed, refused, failed;
};

/* A report for this path from host `reporter` arrived at now_ns; level is
 * the path's committed escalation level. Returns the new misses it brings
 * (0: a repeat); *boost_changed tells whether the boost rose. */
uint64_t agent_misspol_report(struct agent_misspol *p, const struct agent_misspol_cfg *c,
			      uint64_t reporter, const struct agent_missrep *r, uint8_t level,
			      uint64_t now_ns, bool *boost_changed);
/* Time passes: ends a quiet episode, lowers the boost. Returns true if the
 * boost changed. */
bool agent_misspol_tick(struct agent_misspol *p, const struct agent_misspol_cfg *c,
			uint64_t now_ns);
/* Whether to propose level + 1 now (policy of the path, committed level). */
bool agent_misspol_want(const struct agent_misspol *p, const struct cons_miss_policy *pol,
			uint8_t level, uint64_t now_ns);
/* The proposal for `level` was submitted. */
void agent_misspol_proposed(struct agent_misspol *p, uint8_t level);
/* The outcome of the proposal: 0 committed (the level rose: see also
 * agent_misspol_level_rose), refused (admission or policy said no), or
 * neither (unavailable / unknown: ask again soon). */
void agent_misspol_answer(struct agent_misspol *p, int status, bool refused, uint64_t now_ns);
/* The committed level of the path rose (whoever proposed it). Returns true
 * if the boost changed. */
bool agent_misspol_level_rose(struct agent_misspol *p, uint64_t now_ns);

#endif /* RTV_AGENT_MISSPOL_H */
