/* dbf.h — private to sched/: the demand-bound-function walk shared by the
 * EDF test (admit.c) and the NRT headroom (headroom.c).
 *
 * Amounts are nanobits (10^-9 bit): rate [bit/s] × time [ns] exactly. They
 * live in unsigned __int128 and are summed with saturation; see admit.c.
 */
#ifndef RTV_SCHED_DBF_H
#define RTV_SCHED_DBF_H

#include "sched/sched.h"

typedef unsigned __int128 sched__u128;

#define SCHED__U128_MAX (~(sched__u128)0)
#define SCHED__NBIT_PER_BYTE (8 * SCHED_NS_PER_S)

static inline sched__u128 sched__sat_add(sched__u128 a, sched__u128 b)
{
	sched__u128 s = a + b;

	return s < a ? SCHED__U128_MAX : s;
}

static inline sched__u128 sched__sat_mul(sched__u128 a, uint64_t b)
{
	if (b != 0 && a > SCHED__U128_MAX / b)
		return SCHED__U128_MAX;
	return a * b;
}

/* 0, or -EINVAL if flows is NULL with n > 0, or a flow has a zero deadline
 * or a burst smaller than its largest packet. */
int sched__flows_check(const struct sched_flow *flows, size_t n);

/* The flows sharing one relative deadline. */
struct sched__dl_group {
	uint64_t at_ns;			/* the deadline D_k */
	sched__u128 burst_nbit;		/* Σ b_i, saturating */
	sched__u128 rate_bps;		/* Σ r_i */
};

/* Visits distinct deadlines in increasing order without sorting the flows
 * or allocating: O(n) for the whole walk if the flows are sorted by
 * deadline (either way); otherwise one pass over the flows for every
 * SCHED__DL_BATCH groups, each collecting the next groups in a small sorted
 * array inside the iterator (about 3 KiB, on the caller's stack). The flows
 * must stay unchanged meanwhile. */
#define SCHED__DL_BATCH 64

struct sched__dl_iter {
	const struct sched_flow *flows;
	size_t n, pos;
	bool ascending, descending, started;
	uint64_t last_ns;		/* the last deadline handed out */
	unsigned batch_len, batch_pos;
	struct sched__dl_group batch[SCHED__DL_BATCH];
};

void sched__dl_iter_init(struct sched__dl_iter *it, const struct sched_flow *flows,
			 size_t n);
/* Fills g with the next group; false when there is none. */
bool sched__dl_next(struct sched__dl_iter *it, struct sched__dl_group *g);

/* dbf at the current group, accumulated group by group. Zero-initialise;
 * nbit may be preset to a constant (the blocking frame). */
struct sched__demand {
	uint64_t at_ns;
	sched__u128 nbit;		/* dbf(at_ns) (+ preset), saturating */
	sched__u128 rate_bps;		/* Σ r_i over flows with D_i <= at_ns */
	bool started;
};

void sched__demand_step(struct sched__demand *d, const struct sched__dl_group *g);

#endif /* RTV_SCHED_DBF_H */
