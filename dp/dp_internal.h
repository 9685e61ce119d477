/* dp_internal.h — private to the dataplane files (agent/dp_*.c).
 *
 * The table layout and the per-path state that outlives table swaps.
 */
#ifndef RTV_AGENT_DP_INTERNAL_H
#define RTV_AGENT_DP_INTERNAL_H

#include "common/bytes.h"
#include "dp/dp.h"

/* Big-endian fields of the frames the engine parses and writes. */
static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)rtv_get_be(p, 2);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rtv_get_be(p, 4);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	rtv_put_be(p, v, 2);
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	rtv_put_be(p, v, 4);
}

/* Formats an error for a caller's err[CONS_ERRLEN] (NULL: none wanted). */
void dp__errf(char err[CONS_ERRLEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define DP_CACHELINE 64
#define DP_NO_SLOT UINT32_MAX

/* Relaxed single-writer counters: a plain load and store (no locked
 * instruction), race-free under C11 because readers load atomically too. */
static inline void dp_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void dp_max(_Atomic uint64_t *c, uint64_t v)
{
	if (v > atomic_load_explicit(c, memory_order_relaxed))
		atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t dp_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* State of one rtpath shared by every snapshot holding it. The control
 * thread creates it (zeroed) and frees it with the last table referencing
 * it; the egress thread owns `tx`, the ingress thread owns `rx`. */
struct dp_pstate {
	uint64_t id;
	uint32_t refs;			/* tables holding it (control thread) */

	struct {
		struct sched_tb tb;	/* policer, wire bytes */
		uint64_t tb_rate_bps, tb_burst_bytes;	/* as applied to tb */
		uint64_t wfq_rate_bps;	/* as applied to the slot */
		uint32_t wfq_slot;	/* DP_NO_SLOT: none */
		bool ready;
		_Atomic uint64_t pkts, bytes, demoted, policed, too_big;
	} tx __attribute__((aligned(DP_CACHELINE)));

	struct {
		_Atomic uint64_t pkts, misses, max_late_ns;
		/* the miss report being aggregated */
		struct dp_pstate *dirty_next;
		bool dirty;
		struct dp_miss_report pend;
		uint64_t src_host;
	} rx __attribute__((aligned(DP_CACHELINE)));

	struct dp_hist *hist;		/* ingress paths only: one-way delay, */
	struct dp_hist *late;		/* and lateness of misses (same block) */
};

struct dp_table {
	struct dp_table_config cfg;
	uint64_t gen;
	struct dp_path *paths[2];	/* [DP_TX], [DP_RX]; sorted by id */
	size_t n[2];
	uint32_t *hash[2];		/* open addressing: path index + 1, 0 empty */
	uint32_t mask[2];
	uint8_t kinds[2];		/* key kinds present: bit (proto?1:0)|(dport?2:0) */
	size_t shadowed;		/* paths whose key an earlier path already holds */
	struct sched_headroom hr;
	struct sched_headroom_pt *pts;
	bool wire_ok;
};

#endif /* RTV_AGENT_DP_INTERNAL_H */
