/* engine.c — rtvdp's hold on the packet engine (dpd_engine.h): the table in
 * force, the engine's threads, its counters as stats, its misses into the
 * backlog.
 *
 * The engine is the one rtvd ran in-process before (dp.h): its threads
 * read the table through dp_rcu and never block on this control thread.
 * What changes is who feeds it: rtvd's table arrives over the channel and
 * is built here with dp_table_new, carrying each path's counters and
 * histograms over from the table it replaces, exactly as rtvd did; and the
 * table in force stays in force, whatever happens to rtvd, until a table
 * built from a state at least as new replaces it (dpd_table_order).
 */
#include "dpd/dpd_engine.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t ld(const _Atomic uint64_t *a)
{
	return atomic_load_explicit((_Atomic uint64_t *)a, memory_order_relaxed);
}

int dpd_engine_init(struct dpd_engine *e, const struct dp_io_config *ioc,
		    const struct dp_table_config *tc, size_t backlog_cap)
{
	int rc;

	memset(e, 0, sizeof(*e));
	e->ioc = *ioc;
	e->tc = *tc;
	if ((rc = dpd_backlog_init(&e->backlog, backlog_cap)) < 0)
		return rc;
	dp_rcu_init(&e->rcu);
	return 0;
}

/* Builds and publishes the snapshot of t (NULL: an empty table). */
static int publish(struct dpd_engine *e, const struct dpd_table *t, char err[CONS_ERRLEN])
{
	struct dp_table *dt = NULL;
	int rc = dp_table_new(&e->tc, t ? t->paths : NULL, t ? t->n : 0, t ? t->boost : NULL,
			      dp_rcu_current(&e->rcu), &dt, err);

	if (rc < 0)
		return rc;
	if ((rc = dp_rcu_publish(&e->rcu, dt)) < 0) {
		dp_table_free(dt);
		return dpd__fail(err, rc, "out of memory publishing the table");
	}
	return 0;
}

int dpd_engine_set_table(struct dpd_engine *e, const struct dpd_table *t,
			 struct dpd_table_ok *ok, char err[CONS_ERRLEN])
{
	struct dpd_table copy;
	const struct dp_table *cur;
	int rc;

	if (dpd_table_order(e->has_table ? e->cur.index : 0, t->index) < 0)
		return dpd__fail(err, -ESTALE, "a table built at Raft index %llu is older than "
				 "the one in force (index %llu): kept the newer one",
				 (unsigned long long)t->index, (unsigned long long)e->cur.index);
	if ((rc = dpd_table_copy(&copy, t)) < 0)
		return dpd__fail(err, rc, "out of memory keeping the table");
	if ((rc = publish(e, t, err)) < 0) {
		dpd_table_free(&copy);
		return rc;
	}
	dpd_table_free(&e->cur);
	e->cur = copy;
	e->has_table = true;
	e->gen++;
	cur = dp_rcu_current(&e->rcu);
	*ok = (struct dpd_table_ok){ .gen = e->gen, .index = t->index,
				     .n_tx = dp_table_count(cur, DP_TX),
				     .n_rx = dp_table_count(cur, DP_RX) };
	return 0;
}

int dpd_engine_prepare(struct dpd_engine *e, char err[CONS_ERRLEN])
{
	return e->io ? 0 : dp_io_new(&e->ioc, &e->io, err);
}

/* The handed-over sockets, unless start used them. */
static void drop_fds(struct dpd_engine *e)
{
	for (int i = 0; e->adopt && i < DP_IO_FDS; i++)
		close(e->fds[i]);
	e->adopt = false;
}

int dpd_engine_start(struct dpd_engine *e, char err[CONS_ERRLEN])
{
	int rc;

	if ((rc = dpd_engine_prepare(e, err)) < 0 ||
	    (!dp_rcu_current(&e->rcu) && (rc = publish(e, e->has_table ? &e->cur : NULL, err)) < 0)) {
		drop_fds(e);
		return rc;
	}
	rc = dp_io_run(e->io, &e->rcu, e->adopt ? e->fds : NULL, err);
	e->adopt = false;	/* dp_io owns them now, or closed them */
	if (rc < 0) {
		dp_io_stop(e->io);
		e->io = NULL;
		return rc;
	}
	e->running = true;
	return 0;
}

void dpd_engine_detach(struct dpd_engine *e, int fds[DP_IO_FDS])
{
	dpd_engine_tick(e);	/* the last misses into the backlog */
	dp_io_detach(e->io, fds);
	e->io = NULL;
	e->running = false;
}

void dpd_engine_adopt(struct dpd_engine *e, const int fds[DP_IO_FDS])
{
	e->adopt = true;
	memcpy(e->fds, fds, sizeof(e->fds));
}

void dpd_engine_tick(struct dpd_engine *e)
{
	struct dp_miss_report r[64];
	size_t n;

	dp_rcu_reclaim(&e->rcu);
	if (!e->running)
		return;
	while ((n = dp_io_miss_drain(e->io, r, 64)) > 0)
		dpd_backlog_push(&e->backlog, r, n);
}

void dpd_engine_stop_threads(struct dpd_engine *e)
{
	dpd_engine_tick(e);	/* the last misses into the backlog */
	dp_io_stop(e->io);
	e->io = NULL;
	e->running = false;
}

void dpd_engine_close(struct dpd_engine *e)
{
	dpd_engine_stop_threads(e);
	drop_fds(e);
	dp_rcu_close(&e->rcu);
	dpd_table_free(&e->cur);
	dpd_backlog_close(&e->backlog);
}

/* ------------------------------------------------------------------------- */
/* Stats                                                                     */

static int hist_of(const struct dp_hist *h, struct dpd_hist *out)
{
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < DP_HIST_BUCKETS; i++)
		n += ld(&h->b[i]) != 0;
	if (n && (!(out->idx = malloc(n * sizeof(*out->idx))) ||
		  !(out->cnt = malloc(n * sizeof(*out->cnt)))))
		return -ENOMEM;
	for (unsigned i = 0; i < DP_HIST_BUCKETS && out->n < n; i++) {
		uint64_t c = ld(&h->b[i]);

		if (c) {
			out->idx[out->n] = i;
			out->cnt[out->n++] = c;
		}
	}
	out->count = ld(&h->count);
	out->sum = ld(&h->sum);
	out->min = ld(&h->min);
	out->max = ld(&h->max);
	return 0;
}

static void host_ctrs(const struct dpd_engine *e, uint64_t *c)
{
	const struct dp_sched_stats *s = dp_io_sched_stats(e->io);
	const struct dp_rx_stats *r = dp_io_rx_stats(e->io);
	const _Atomic uint64_t *sched[] = {
		&s->rx_frames, &s->rt_frames, &s->nrt_frames, &s->ctl_frames, &s->sent_frames,
		&s->sent_bytes, &s->nrt_overtakes, &s->drop_pool, &s->drop_runt,
		&s->bad_ip_passed, &s->drop_nrt_full, &s->drop_ctl_full, &s->drop_policed,
		&s->demoted, &s->drop_too_big, &s->icmp_sent, &s->icmp_ratelimited,
		&s->icmp_not_answered, &s->drop_vm_mpls, &s->remarked, &s->wfq_no_slot,
		&s->table_swaps, &s->fragmented, &s->frag_out, &s->backlog[DP_Q_NRT], &s->backlog[DP_Q_CTL],
		&s->backlog[DP_Q_EDF], &s->backlog[DP_Q_WFQ],
		&s->drop_nrt_sojourn, &s->drop_demoted_sojourn, &s->tolerated,
		&s->cdv_tolerance_ns,
		&r->frames, &r->popped, &r->passed, &r->mpls_foreign, &r->unknown_path,
		&r->misses, &r->not_ipv4, &r->reports_lost, &r->late_past_label,
	};
	struct dp_io_stats io;

	_Static_assert(sizeof(sched) / sizeof(sched[0]) == DPD_C_IO_INT_RX,
		       "one engine counter per dpd_ctr before the I/O ones");
	for (size_t i = 0; i < DPD_C_IO_INT_RX; i++)
		c[i] = ld(sched[i]);
	dp_io_stats(e->io, &io);
	c[DPD_C_IO_INT_RX] = io.int_rx;
	c[DPD_C_IO_INT_TX] = io.int_tx;
	c[DPD_C_IO_UP_RX] = io.up_rx;
	c[DPD_C_IO_UP_TX] = io.up_tx;
	c[DPD_C_IO_TX_ERRORS] = io.tx_errors;
	c[DPD_C_IO_RX_TRUNCATED] = io.rx_truncated;
}

static int path_stats(const struct dp_path *p, enum dp_dir dir, struct dpd_path_stats *o)
{
	o->id = p->id;
	o->dir = (uint8_t)dir;
	o->level = p->level;
	o->boost = p->boost;
	dp_path_counters(p, &o->c);
	if (!dp_path_hist(p) || !dp_path_lateness(p))
		return 0;
	o->has_hist = true;
	if (hist_of(dp_path_hist(p), &o->delay) < 0)
		return -ENOMEM;
	return hist_of(dp_path_lateness(p), &o->late);
}

int dpd_engine_stats(const struct dpd_engine *e, struct dpd_msg *m)
{
	const struct dp_table *t = dp_rcu_current(&e->rcu);
	size_t ntx = t ? dp_table_count(t, DP_TX) : 0, nrx = t ? dp_table_count(t, DP_RX) : 0;
	struct dpd_stats *s = &m->u.stats;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->type = DPD_T_STATS;
	if (e->running) {
		host_ctrs(e, s->ctr);
		for (int q = 0; q < DP_QC_N && rc == 0; q++)
			rc = hist_of(&dp_io_sched_stats(e->io)->queue_delay[q], &s->qdelay[q]);
	}
	if (rc == 0 && ntx + nrx && !(s->paths = calloc(ntx + nrx, sizeof(*s->paths))))
		rc = -ENOMEM;
	for (size_t i = 0; i < ntx + nrx && rc == 0; i++) {
		enum dp_dir dir = i < ntx ? DP_TX : DP_RX;

		s->n++;
		rc = path_stats(dp_table_at(t, dir, dir == DP_TX ? i : i - ntx), dir, &s->paths[i]);
	}
	if (rc < 0)
		dpd_msg_free(m);
	return rc;
}
