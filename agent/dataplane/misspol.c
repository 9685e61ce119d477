/* misspol.c — the sending host's miss policy for one rtpath (misspol.h says
 * what it does; this file says why where it is not obvious).
 *
 * Why boost first and escalate later (docs/architecture.md, "Miss reports", after the
 * paper's sender, which waited 20 s): a local boost costs nothing to the
 * rest of the rack and takes effect within one table swap, but it only
 * reorders this host's own queue; escalation changes what admission has
 * promised (a higher class, a larger R) and so goes through Raft, where
 * admission can still say no.
 *
 * Why the boost drops when the level rises: the committed level now gives
 * what the boost gave; keeping both would push the path further up every
 * time, without any new miss asking for it.
 */
#include "agent/dataplane/misspol.h"

#include "sched/sched.h"

static unsigned boost_cap(uint8_t level)
{
	return level >= SCHED_ESCALATION_MAX ? 0 : SCHED_ESCALATION_MAX - level;
}

/* New misses in r, from the cumulative count (missrep.h, "Transport"). */
static uint64_t new_misses(struct agent_misspol *p, const struct agent_missrep *r,
			   uint64_t reporter)
{
	uint64_t n;

	if (!p->have_cum || p->reporter != reporter || r->cum_misses < p->last_cum)
		n = r->misses;	/* first sight, or the receiver restarted */
	else
		n = r->cum_misses - p->last_cum;
	p->have_cum = true;
	p->reporter = reporter;
	p->last_cum = r->cum_misses;
	return n;
}

uint64_t agent_misspol_report(struct agent_misspol *p, const struct agent_misspol_cfg *c,
			      uint64_t reporter, const struct agent_missrep *r, uint8_t level,
			      uint64_t now_ns, bool *boost_changed)
{
	uint64_t n = new_misses(p, r, reporter);
	bool began = false;

	*boost_changed = false;
	p->reports++;
	if (n == 0) {
		p->reports_dup++;
		return 0;
	}
	p->misses += n;
	p->last_late_ns = r->max_late_ns;
	if (r->max_late_ns > p->worst_late_ns)
		p->worst_late_ns = r->max_late_ns;
	p->last_ip_id = r->last_ip_id;
	p->uncertainty_ns = r->uncertainty_ns;
	if (!p->in_episode) {
		p->in_episode = began = true;
		p->episode_start_ns = now_ns;
		p->episode_misses = 0;
	}
	p->last_miss_ns = p->last_decay_ns = now_ns;
	p->episode_misses += n;
	if (p->boost < boost_cap(level) && (began || now_ns - p->last_boost_ns >= c->step_ns)) {
		p->boost++;
		p->boosts++;
		p->last_boost_ns = now_ns;
		*boost_changed = true;
	}
	return n;
}

bool agent_misspol_tick(struct agent_misspol *p, const struct agent_misspol_cfg *c,
			uint64_t now_ns)
{
	if (p->in_episode && now_ns - p->last_miss_ns >= c->decay_ns) {
		p->in_episode = false;
		p->episode_misses = 0;
		p->backoff_ns = 0;
		p->retry_at_ns = 0;
	}
	if (p->in_episode || p->boost == 0 || now_ns - p->last_decay_ns < c->decay_ns)
		return false;
	p->boost--;
	p->last_decay_ns = now_ns;
	return true;
}

bool agent_misspol_want(const struct agent_misspol *p, const struct cons_miss_policy *pol,
			uint8_t level, uint64_t now_ns)
{
	bool count, time;

	if (!p->in_episode || p->pending_level || level < p->committed_level ||
	    level >= pol->max_level || level >= SCHED_ESCALATION_MAX || now_ns < p->retry_at_ns)
		return false;
	count = pol->misses && p->episode_misses >= pol->misses;
	time = pol->after_ns && now_ns - p->episode_start_ns >= pol->after_ns;
	return count || time;
}

void agent_misspol_proposed(struct agent_misspol *p, uint8_t level)
{
	p->pending_level = level;
	p->proposed++;
}

void agent_misspol_answer(struct agent_misspol *p, int status, bool refused, uint64_t now_ns)
{
	if (status == 0)
		p->committed_level = p->pending_level;
	p->pending_level = 0;
	if (status == 0) {
		p->committed++;
		p->backoff_ns = 0;
		p->retry_at_ns = 0;
		return;
	}
	if (!refused) {
		p->failed++;
		p->retry_at_ns = now_ns + AGENT_MISSPOL_RETRY_NS;
		return;
	}
	p->refused++;
	p->backoff_ns = p->backoff_ns ? p->backoff_ns * 2 : AGENT_MISSPOL_BACKOFF_MIN_NS;
	if (p->backoff_ns > AGENT_MISSPOL_BACKOFF_MAX_NS)
		p->backoff_ns = AGENT_MISSPOL_BACKOFF_MAX_NS;
	p->retry_at_ns = now_ns + p->backoff_ns;
}

bool agent_misspol_level_rose(struct agent_misspol *p, uint64_t now_ns)
{
	p->committed_level = 0;
	p->episode_misses = 0;
	p->episode_start_ns = now_ns;
	p->backoff_ns = 0;
	p->retry_at_ns = 0;
	if (p->boost == 0)
		return false;
	p->boost--;
	return true;
}
