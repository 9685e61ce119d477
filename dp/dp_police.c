/* dp_police.c — the per-rtpath policer, and the tolerance it gives for the
 * host switch's delay variation (issue 12, hole 2; docs/guarantee.md).
 *
 * Why a tolerance. The policer runs where frames reach the dataplane, after
 * the host's switch (OVS). A switch that stops forwarding for a while (a
 * userspace datapath descheduled, a revalidator pass, a batch) holds every
 * VM's frames and then hands them over back to back: a flow that left its VM
 * exactly within (r, b) arrives within (r, b + r·τ), τ the variation of the
 * switch's delay. A token bucket of depth b alone would demote the frames
 * of that catch-up burst although the VM sent nothing beyond its contract.
 * ATM's GCRA has the same problem and the same answer: a cell delay
 * variation tolerance (ITU-T I.371's CDVT) between the source and the
 * policing point. Here the depth is b + r·τ.
 *
 * How τ is measured. The switch's stalls show on rtv-int itself: the kernel
 * timestamps every frame when it reaches rtv-int (dp_io.c), so a stretch
 * with no frame at all from any VM, ended by a frame, is a time the switch
 * may have held frames. τ is the longest such silence over the last one
 * to two windows (win_ns, 5 s: two windows, the older dropped at each
 * roll), capped at max_ns. The silence that ends in a frame is recorded
 * before that frame is policed, so the first frames after a stall already
 * get the tolerance the stall calls for.
 *   What this cannot tell apart: an idle host's silences read as stalls, so
 * at low load τ sits at its cap; under load (the case that matters) the
 * silences are the switch's. A VM cannot widen τ on its own beyond what
 * every VM's silence allows, and never beyond max_ns: an over-profile
 * sender gets at most r·max_ns more once, after which it is held to r and
 * demoted (deadline type) or dropped (reservation type) as before.
 *   Admission counts (r, b); the catch-up burst after a stall is real
 * traffic the VM was entitled to, late because of the switch, so the
 * scheduler sees it as RT by its own deadline rather than as NRT behind
 * the floods.
 */
#include "dp/dp_internal.h"

void dp_cdv_init(struct dp_cdv *c, uint64_t max_ns, uint64_t win_ns)
{
	*c = (struct dp_cdv){ .max_ns = max_ns, .win_ns = win_ns ? win_ns : DP_CDV_WIN_NS };
}

void dp_cdv_arrival(struct dp_cdv *c, uint64_t t_ns)
{
	uint64_t gap;

	if (!c->last_ns) {
		c->last_ns = c->win_start_ns = t_ns;
		return;
	}
	if (t_ns <= c->last_ns)
		return;	/* timestamps of one batch may tie */
	gap = t_ns - c->last_ns;
	c->last_ns = t_ns;
	if (t_ns - c->win_start_ns >= c->win_ns) {
		/* a window with no frame at all leaves nothing to remember */
		c->prev_max_ns = t_ns - c->win_start_ns >= 2 * c->win_ns ? 0 : c->cur_max_ns;
		c->cur_max_ns = 0;
		c->win_start_ns = t_ns;
	}
	if (gap > c->cur_max_ns)
		c->cur_max_ns = gap;
}

uint64_t dp_cdv_tolerance(const struct dp_cdv *c)
{
	uint64_t t = c->cur_max_ns > c->prev_max_ns ? c->cur_max_ns : c->prev_max_ns;

	return t < c->max_ns ? t : c->max_ns;
}

/* r·τ in bytes, rounded up. */
static uint64_t tolerance_bytes(uint64_t rate_bps, uint64_t tol_ns)
{
	unsigned __int128 b = (unsigned __int128)rate_bps * tol_ns;

	return (uint64_t)((b + 8 * SCHED_NS_PER_S - 1) / (8 * SCHED_NS_PER_S));
}

enum dp_police_result dp_police(const struct dp_path *p, uint32_t wire_bytes, uint64_t now_ns,
				uint64_t tol_ns)
{
	struct sched_tb *tb = &p->st->tx.tb;
	uint64_t extra = tolerance_bytes(p->wire_rate_bps, tol_ns);
	uint64_t depth = p->wire_burst_bytes + extra;

	/* re-size at the bucket's own last update (no refill yet), so that the
	 * refill up to now fills the new depth: the catch-up burst after a
	 * stall finds the tokens the silence earned */
	if (tb->burst_bytes != depth)
		sched_tb_set(tb, p->wire_rate_bps, depth, tb->last_ns);
	if (!sched_tb_take(tb, wire_bytes, now_ns))
		return DP_POLICE_OUT;
	/* fewer than r·τ bytes left: this frame ate into the tolerance */
	return extra && tb->tokens / (8 * SCHED_NS_PER_S) < extra ? DP_POLICE_TOLERATED
								   : DP_POLICE_IN;
}
