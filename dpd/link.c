/* link.c — rtvd's policy toward its rtvdp (dpd.h, "rtvd's policy toward its
 * rtvdp"; docs/dataplane-process.md, "The table and its generation" and
 * "When the dataplane cannot run"). No I/O: rtvd's dataplane module feeds
 * it the channel's events and its own applied index and acts on the
 * answers, so the rules are tested without a daemon. */
#include "dpd/dpd.h"

#include <string.h>

void dpd_link_init(struct dpd_link *l, uint64_t degrade_after_ms, uint64_t now_ms)
{
	memset(l, 0, sizeof(*l));
	l->degrade_after_ms = degrade_after_ms;
	l->down_since_ms = now_ms;	/* not up yet: an rtvdp that never comes counts */
}

bool dpd_link_up(struct dpd_link *l, const struct dpd_state *st)
{
	bool was_degraded = l->degraded;

	l->up = true;
	l->degraded = false;
	l->dp_index = st->index;
	return was_degraded;
}

void dpd_link_down(struct dpd_link *l, uint64_t now_ms)
{
	if (!l->up)
		return;
	l->up = false;
	l->down_since_ms = now_ms;
}

bool dpd_link_may_push(struct dpd_link *l, uint64_t applied_index)
{
	if (!l->up)
		return false;
	if (applied_index < l->dp_index) {
		l->held++;
		return false;
	}
	return true;
}

void dpd_link_pushed(struct dpd_link *l, uint64_t index)
{
	if (index > l->dp_index)
		l->dp_index = index;
}

bool dpd_link_degrade_due(struct dpd_link *l, uint64_t now_ms)
{
	if (l->up || l->degraded || now_ms - l->down_since_ms < l->degrade_after_ms)
		return false;
	l->degraded = true;
	return true;
}
