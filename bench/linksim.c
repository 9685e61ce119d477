/* linksim.c — discrete-event simulation of one egress link driven by sched/.
 *
 * The event loop has two kinds of events: a source emits a packet, or the
 * link becomes free while something is queued. At equal times arrivals go
 * first, so a packet arriving the instant the wire frees up is a candidate
 * for that slot. Sources are few (a handful per experiment), so the next
 * arrival is found by a linear scan rather than a heap. Packet descriptors
 * come from a pool allocated once per run; the loop itself never allocates.
 *
 * Admission is done in wire terms. A flow of frame rate r with frames of L
 * bytes occupies r·(L+o)/L on a link that adds o bytes per frame, so the
 * EDF test, the NRT headroom and RFC 2212 all see (L+o)-byte packets, rate
 * ceil(r·(L+o)/L) and burst (L+o) + ceil(r_wire·jitter/8). Anything else
 * would let the pacer's per-frame overhead eat the slack the rule relies on.
 *
 * EDF resolution. sched_edf orders by deadline at bucket_ns resolution
 * (FIFO within a bucket), i.e. it is exact EDF on the deadlines rounded down
 * to their bucket start. Those are at most bucket_ns − 1 earlier than the
 * true ones, so the simulator admits with D − bucket_ns and hands the NRT
 * rule the head's bucket start as d_min: both then describe the order the
 * wheel really serves, and meeting the rounded deadline meets the true one.
 *
 * WFQ service rates. WF²Q+ keeps a path whose traffic conforms to (r ≤ R, b)
 * within b/R + L_max/C of its arrival (Bennett & Zhang 1997). That is RFC
 * 2212's bound with p unlimited, Ctot = 0 and Dtot = L_max/C (the frame of
 * another path already on the wire), so each real-time path gets the smallest
 * R that sched_rfc2212_min_rate() finds for its deadline. With R = r a
 * 1,502-byte frame of flow A could wait L/R = 6 ms, more than its 5 ms
 * deadline: this is why guaranteed service picks R > r. The NRT flows share
 * one more path at C − ΣR. WF²Q+ tags use frame lengths while the rates are
 * in wire bits; with equal frame sizes (experiment 1) the two differ by a
 * common factor and the schedule is identical.
 */
#include "bench/linksim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define NEVER UINT64_MAX

struct sim_pkt {
	struct sched_pkt sp;
	struct sim_pkt *free_next;
	uint32_t flow;
};

/* Nominal arrival k is phase + floor(k·bits·1e9 / rate): step_ns is the
 * quotient, step_rem the remainder carried in rem, so no drift accumulates. */
struct source {
	uint64_t next_ns;	/* next arrival, NEVER once past the duration */
	uint64_t nominal_ns;
	uint64_t step_ns, step_rem, rem;
};

struct sim {
	const struct linksim_config *cfg;
	struct linksim_result *res;
	struct source src[LINKSIM_MAX_FLOWS];
	struct sim_pkt *pool, *free;
	uint64_t rng;
	uint64_t now_ns;
	uint64_t queued;
	uint64_t bucket_ns;
	uint32_t nrt_path;
	struct sched_pacer pacer;
	struct sched_fifo fifo;		/* NRT (EDF mode) or everything (FIFO) */
	struct sched_edf edf;
	struct sched_wfq wfq;
	struct sched_headroom hr;
	struct sched_headroom_pt hr_pts[LINKSIM_MAX_FLOWS];
};

/* splitmix64 (Steele, Lea & Flood 2014): tiny, seedable, good enough. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *state, uint64_t n)
{
	return n ? rng_next(state) % n : 0;
}

static const char *flow_name(const struct linksim_config *cfg, size_t i)
{
	return cfg->flows[i].name ? cfg->flows[i].name : "?";
}

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint32_t wire_bytes(const struct sim *s, size_t i)
{
	return s->cfg->flows[i].pkt_bytes + s->cfg->overhead_bytes;
}

static uint32_t max_wire_bytes(const struct sim *s)
{
	uint32_t m = 0;

	for (size_t i = 0; i < s->cfg->n_flows; i++)
		if (wire_bytes(s, i) > m)
			m = wire_bytes(s, i);
	return m;
}

/* The token-bucket envelope of source i on the wire (see the top comment). */
static void flow_envelope(const struct sim *s, size_t i, struct sched_flow *fl)
{
	const struct linksim_flow *f = &s->cfg->flows[i];
	uint32_t w = wire_bytes(s, i);

	fl->rate_bps = div_ceil(f->rate_bps * w, f->pkt_bytes);
	fl->burst_bytes = w + div_ceil(fl->rate_bps * f->jitter_ns, 8 * SCHED_NS_PER_S);
	fl->deadline_ns = f->deadline_ns;
	fl->max_pkt_bytes = w;
}

/* ---- configuration --------------------------------------------------------- */

static int check_flow(const struct linksim_config *cfg, size_t i, char *why, size_t n)
{
	const struct linksim_flow *f = &cfg->flows[i];
	uint64_t step_ns;

	if (!f->rate_bps || !f->pkt_bytes || f->pkt_bytes > 65535) {
		snprintf(why, n, "flow %zu (%s): rate and packet size (1..65535 bytes) are required",
			 i, flow_name(cfg, i));
		return -EINVAL;
	}
	step_ns = (uint64_t)f->pkt_bytes * 8 * SCHED_NS_PER_S / f->rate_bps;
	if (f->jitter_ns > step_ns) {
		snprintf(why, n, "flow %zu (%s): jitter %llu ns exceeds the packet interval %llu ns",
			 i, flow_name(cfg, i), (unsigned long long)f->jitter_ns,
			 (unsigned long long)step_ns);
		return -EINVAL;
	}
	return 0;
}

static int check_config(const struct linksim_config *cfg, char *why, size_t n)
{
	int rc;

	if (cfg->mode != LINKSIM_EDF && cfg->mode != LINKSIM_WFQ && cfg->mode != LINKSIM_FIFO) {
		snprintf(why, n, "unknown mode %d", (int)cfg->mode);
		return -EINVAL;
	}
	if (!cfg->link_bps || !cfg->duration_ns || !cfg->n_flows ||
	    cfg->n_flows > LINKSIM_MAX_FLOWS) {
		snprintf(why, n, "link rate, duration and 1..%d flows are required",
			 LINKSIM_MAX_FLOWS);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_flows; i++)
		if ((rc = check_flow(cfg, i, why, n)) < 0)
			return rc;
	return 0;
}

/* ---- admission and queue set-up --------------------------------------------- */

static unsigned wheel_log2(uint64_t max_deadline_ns, uint64_t bucket_ns)
{
	unsigned l = 6;

	/* twice the longest deadline, so a full period of arrivals fits */
	while (l < 20 && ((uint64_t)1 << l) * bucket_ns < 2 * max_deadline_ns)
		l++;
	return l;
}

static int edf_refuse(struct sim *s, const struct sched_edf_verdict *v)
{
	if (v->rate_exceeded)
		snprintf(s->res->why, sizeof(s->res->why),
			 "EDF: real-time rates exceed the link (%llu bit/s)",
			 (unsigned long long)s->cfg->link_bps);
	else
		snprintf(s->res->why, sizeof(s->res->why),
			 "EDF: demand %llu bits exceeds supply %llu bits in an interval of %llu ns",
			 (unsigned long long)v->demand_bits, (unsigned long long)v->supply_bits,
			 (unsigned long long)v->at_ns);
	return -ENOSPC;
}

static int edf_setup(struct sim *s)
{
	const struct linksim_config *cfg = s->cfg;
	struct sched_flow fl[LINKSIM_MAX_FLOWS] = { 0 };
	struct sched_edf_config ec = { .bucket_ns = s->bucket_ns };
	struct sched_edf_verdict v;
	uint64_t max_d = 0;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < cfg->n_flows; i++) {
		if (!cfg->flows[i].deadline_ns)
			continue;
		if (cfg->flows[i].deadline_ns <= s->bucket_ns) {
			snprintf(s->res->why, sizeof(s->res->why),
				 "flow %zu (%s): deadline must exceed the EDF bucket (%llu ns)",
				 i, flow_name(cfg, i), (unsigned long long)s->bucket_ns);
			return -EINVAL;
		}
		flow_envelope(s, i, &fl[n]);
		fl[n].deadline_ns -= s->bucket_ns;
		if (cfg->flows[i].deadline_ns > max_d)
			max_d = cfg->flows[i].deadline_ns;
		n++;
	}
	if (n) {
		rc = sched_edf_admissible(fl, n, cfg->link_bps, max_wire_bytes(s), &v);
		if (rc < 0)
			return rc;
		if (!v.ok)
			return edf_refuse(s, &v);
	}
	s->hr.pts = s->hr_pts;
	s->hr.cap = LINKSIM_MAX_FLOWS;
	if ((rc = sched_headroom_build(&s->hr, fl, n, cfg->link_bps)) < 0)
		return rc;
	ec.buckets_log2 = wheel_log2(max_d, s->bucket_ns);
	return sched_edf_init(&s->edf, &ec);
}

static int wfq_rt_rate(struct sim *s, size_t i, uint64_t dtot_ns, uint64_t *R_bps)
{
	struct sched_flow fl;
	struct sched_tspec t;
	int rc;

	flow_envelope(s, i, &fl);
	t = (struct sched_tspec){ .r_bps = fl.rate_bps, .p_bps = UINT64_MAX,
				  .b_bytes = fl.burst_bytes, .M_bytes = fl.max_pkt_bytes };
	rc = sched_rfc2212_min_rate(&t, 0, dtot_ns, fl.deadline_ns, s->cfg->link_bps, R_bps);
	if (rc == -ERANGE) {
		snprintf(s->res->why, sizeof(s->res->why),
			 "WFQ: flow %zu (%s): no service rate up to the link's meets its %llu ns deadline",
			 i, flow_name(s->cfg, i), (unsigned long long)fl.deadline_ns);
		return -ENOSPC;
	}
	return rc;
}

static int wfq_paths(struct sim *s)
{
	const struct linksim_config *cfg = s->cfg;
	uint64_t dtot_ns = div_ceil((uint64_t)max_wire_bytes(s) * 8 * SCHED_NS_PER_S, cfg->link_bps);
	uint64_t sum_R = 0, R;
	bool have_nrt = false;
	int rc;

	for (size_t i = 0; i < cfg->n_flows; i++) {
		if (!cfg->flows[i].deadline_ns) {
			have_nrt = true;
			continue;
		}
		if ((rc = wfq_rt_rate(s, i, dtot_ns, &R)) < 0)
			return rc;
		if ((rc = sched_wfq_path_set(&s->wfq, (uint32_t)i, R)) < 0)
			return rc;
		s->res->flow[i].service_rate_bps = R;
		sum_R += R;
	}
	if (sum_R > cfg->link_bps || (have_nrt && sum_R == cfg->link_bps)) {
		snprintf(s->res->why, sizeof(s->res->why),
			 "WFQ: service rates need %llu bit/s of a %llu bit/s link%s",
			 (unsigned long long)sum_R, (unsigned long long)cfg->link_bps,
			 have_nrt ? " and leave nothing for NRT" : "");
		return -ENOSPC;
	}
	if (!have_nrt)
		return 0;
	s->res->nrt_path_rate_bps = cfg->link_bps - sum_R;
	return sched_wfq_path_set(&s->wfq, s->nrt_path, cfg->link_bps - sum_R);
}

static int wfq_setup(struct sim *s)
{
	struct sched_wfq_config wc = {
		.link_bps = s->cfg->link_bps,
		.max_paths = (uint32_t)s->cfg->n_flows + 1,
	};
	int rc;

	s->nrt_path = (uint32_t)s->cfg->n_flows;
	if ((rc = sched_wfq_init(&s->wfq, &wc)) < 0)
		return rc;
	if ((rc = wfq_paths(s)) < 0)
		sched_wfq_close(&s->wfq);
	return rc;
}

static void sources_init(struct sim *s)
{
	const struct linksim_config *cfg = s->cfg;

	for (size_t i = 0; i < cfg->n_flows; i++) {
		const struct linksim_flow *f = &cfg->flows[i];
		struct source *src = &s->src[i];
		uint64_t bits_ns = (uint64_t)f->pkt_bytes * 8 * SCHED_NS_PER_S;

		src->step_ns = bits_ns / f->rate_bps;
		src->step_rem = bits_ns % f->rate_bps;
		src->rem = 0;
		src->nominal_ns = cfg->random_phase ? rng_below(&s->rng, src->step_ns) : 0;
		src->next_ns = src->nominal_ns + rng_below(&s->rng, f->jitter_ns);
		if (src->next_ns >= cfg->duration_ns)
			src->next_ns = NEVER;
	}
}

static int pool_init(struct sim *s)
{
	uint32_t n = s->cfg->pool_pkts ? s->cfg->pool_pkts : s->cfg->queue_limit_pkts + 4096;

	s->pool = calloc(n, sizeof(*s->pool));
	if (!s->pool)
		return -ENOMEM;
	s->free = NULL;
	for (uint32_t i = n; i-- > 0;) {
		s->pool[i].free_next = s->free;
		s->free = &s->pool[i];
	}
	return 0;
}

/* ---- the event loop ------------------------------------------------------------ */

static int enqueue(struct sim *s, struct sim_pkt *p)
{
	const struct linksim_config *cfg = s->cfg;
	bool rt = p->sp.deadline_ns != 0;

	switch (cfg->mode) {
	case LINKSIM_EDF:
		if (!rt)
			return sched_fifo_enqueue(&s->fifo, &p->sp);
		sched_edf_enqueue(&s->edf, &p->sp);
		return 0;
	case LINKSIM_WFQ:
		p->sp.path = rt ? p->flow : s->nrt_path;
		if (!rt && cfg->queue_limit_pkts &&
		    sched_wfq_path_len(&s->wfq, s->nrt_path) >= cfg->queue_limit_pkts)
			return -ENOBUFS;
		return sched_wfq_enqueue(&s->wfq, &p->sp);
	case LINKSIM_FIFO:
		return sched_fifo_enqueue(&s->fifo, &p->sp);
	}
	return -EINVAL;
}

static void arrive(struct sim *s, uint32_t i)
{
	const struct linksim_flow *f = &s->cfg->flows[i];
	struct linksim_flow_result *fr = &s->res->flow[i];
	struct sim_pkt *p = s->free;

	if (!fr->arrived++)
		fr->first_arrival_ns = s->now_ns;
	s->res->pkts++;
	if (!p) {
		fr->dropped_pool++;
		return;
	}
	s->free = p->free_next;
	p->flow = i;
	p->sp.enq_ns = s->now_ns;
	p->sp.deadline_ns = f->deadline_ns ? s->now_ns + f->deadline_ns : 0;
	p->sp.len_bytes = f->pkt_bytes;
	p->sp.path = i;
	if (enqueue(s, p) < 0) {
		fr->dropped_queue++;
		p->free_next = s->free;
		s->free = p;
		return;
	}
	s->queued++;
}

static void source_advance(struct sim *s, uint32_t i)
{
	struct source *src = &s->src[i];
	uint64_t rate = s->cfg->flows[i].rate_bps;

	src->nominal_ns += src->step_ns;
	src->rem += src->step_rem;
	if (src->rem >= rate) {
		src->rem -= rate;
		src->nominal_ns++;
	}
	src->next_ns = src->nominal_ns + rng_below(&s->rng, s->cfg->flows[i].jitter_ns);
	if (src->next_ns >= s->cfg->duration_ns)
		src->next_ns = NEVER;
}

/* EDF with the NRT rule (seed 000 §3.4): an NRT frame goes first unless
 * sending it could make a queued or future conforming RT frame late. */
static struct sched_pkt *edf_choose(struct sim *s)
{
	struct sched_pkt *rt = sched_edf_peek(&s->edf);
	struct sched_pkt *nrt = sched_fifo_peek(&s->fifo);
	uint32_t o = s->cfg->overhead_bytes;
	uint64_t d_min, rt_bytes;

	if (!rt)
		return sched_fifo_dequeue(&s->fifo);
	if (nrt) {
		d_min = rt->deadline_ns - rt->deadline_ns % s->bucket_ns;
		rt_bytes = s->edf.bytes + s->edf.len * o;
		if (sched_nrt_may_send(&s->hr, s->now_ns, d_min, rt_bytes, nrt->len_bytes + o)) {
			s->res->nrt_overtakes++;
			return sched_fifo_dequeue(&s->fifo);
		}
	}
	return sched_edf_dequeue(&s->edf);
}

static struct sched_pkt *choose(struct sim *s)
{
	switch (s->cfg->mode) {
	case LINKSIM_EDF:
		return edf_choose(s);
	case LINKSIM_WFQ:
		return sched_wfq_dequeue(&s->wfq);
	case LINKSIM_FIFO:
		return sched_fifo_dequeue(&s->fifo);
	}
	return NULL;
}

static void account(struct sim *s, const struct sim_pkt *p, uint64_t end_ns)
{
	struct linksim_flow_result *fr = &s->res->flow[p->flow];
	uint64_t wait = s->now_ns - p->sp.enq_ns;

	fr->sent++;
	fr->sent_bytes += p->sp.len_bytes;
	fr->wait_sum_ns += wait;
	if (fr->sent == 1 || wait < fr->wait_min_ns)
		fr->wait_min_ns = wait;
	if (wait > fr->wait_max_ns)
		fr->wait_max_ns = wait;
	if (end_ns <= s->cfg->duration_ns) {
		fr->sent_in_window++;
		fr->sent_bytes_in_window += p->sp.len_bytes;
	}
	if (p->sp.deadline_ns && end_ns > p->sp.deadline_ns) {
		fr->misses++;
		if (end_ns - p->sp.deadline_ns > fr->max_late_ns)
			fr->max_late_ns = end_ns - p->sp.deadline_ns;
	}
	s->res->link_busy_ns += end_ns - s->now_ns;
	s->res->end_ns = end_ns;
}

static int depart(struct sim *s)
{
	struct sched_pkt *sp = choose(s);
	struct sim_pkt *p;
	uint64_t end_ns;

	if (!sp) {	/* a queue lost a packet: a bug in sched/ */
		snprintf(s->res->why, sizeof(s->res->why),
			 "%s: scheduler empty with %llu packets queued at %llu ns",
			 linksim_mode_name(s->cfg->mode), (unsigned long long)s->queued,
			 (unsigned long long)s->now_ns);
		return -EPROTO;
	}
	p = container_of(sp, struct sim_pkt, sp);
	end_ns = sched_pacer_send(&s->pacer, sp->len_bytes, s->now_ns);
	account(s, p, end_ns);
	if (s->cfg->trace) {
		struct linksim_trace t = {
			.flow = p->flow, .enq_ns = sp->enq_ns, .deq_ns = s->now_ns,
			.end_ns = end_ns, .deadline_ns = sp->deadline_ns,
		};
		s->cfg->trace(s->cfg->trace_arg, &t);
	}
	p->free_next = s->free;
	s->free = p;
	s->queued--;
	return 0;
}

static uint32_t next_source(const struct sim *s)
{
	uint32_t best = 0;

	for (uint32_t i = 1; i < s->cfg->n_flows; i++)
		if (s->src[i].next_ns < s->src[best].next_ns)
			best = i;
	return best;
}

static int loop(struct sim *s)
{
	int rc;

	for (;;) {
		uint32_t i = next_source(s);
		uint64_t t_arr = s->src[i].next_ns, t_tx;

		if (s->queued) {
			t_tx = sched_pacer_next_ns(&s->pacer, s->now_ns);
			if (t_tx < s->now_ns)
				t_tx = s->now_ns;
			if (t_tx < t_arr) {
				s->now_ns = t_tx;
				if ((rc = depart(s)) < 0)
					return rc;
				continue;
			}
		}
		if (t_arr == NEVER)
			return 0;
		s->now_ns = t_arr;
		arrive(s, i);
		source_advance(s, i);
	}
}

/* ---- public --------------------------------------------------------------------- */

static int sim_setup(struct sim *s)
{
	switch (s->cfg->mode) {
	case LINKSIM_EDF:
		return edf_setup(s);
	case LINKSIM_WFQ:
		return wfq_setup(s);
	case LINKSIM_FIFO:
		return 0;
	}
	return -EINVAL;
}

static void sim_teardown(struct sim *s)
{
	if (s->cfg->mode == LINKSIM_EDF)
		sched_edf_close(&s->edf);
	else if (s->cfg->mode == LINKSIM_WFQ)
		sched_wfq_close(&s->wfq);
}

int linksim_run(const struct linksim_config *cfg, struct linksim_result *res)
{
	struct sim *s;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_config(cfg, res->why, sizeof(res->why))) < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->res = res;
	s->rng = cfg->seed;
	s->bucket_ns = cfg->edf_bucket_ns ? cfg->edf_bucket_ns : LINKSIM_DEFAULT_BUCKET_NS;
	sched_pacer_init(&s->pacer, cfg->link_bps, cfg->overhead_bytes);
	sched_fifo_init(&s->fifo, cfg->queue_limit_pkts);
	if ((rc = sim_setup(s)) < 0)
		goto err_setup;
	if ((rc = pool_init(s)) < 0)
		goto err_pool;
	sources_init(s);
	rc = loop(s);
	free(s->pool);
	/* after -EPROTO the queues may still hold pool packets: leak the
	 * queues' memory rather than close non-empty queues */
	if (rc == 0)
		sim_teardown(s);
	free(s);
	return rc;

err_pool:
	sim_teardown(s);
err_setup:
	free(s);
	return rc;
}

double linksim_wait_avg_ns(const struct linksim_flow_result *f)
{
	return f->sent ? (double)f->wait_sum_ns / (double)f->sent : 0;
}

double linksim_window_bps(const struct linksim_flow_result *f, uint64_t duration_ns)
{
	return duration_ns ? (double)f->sent_bytes_in_window * 8 * 1e9 / (double)duration_ns : 0;
}

const char *linksim_mode_name(enum linksim_mode mode)
{
	switch (mode) {
	case LINKSIM_EDF:
		return "EDF";
	case LINKSIM_WFQ:
		return "WFQ";
	case LINKSIM_FIFO:
		return "FIFO";
	}
	return "?";
}

void linksim_exp1_config(struct linksim_config *cfg, enum linksim_mode mode, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = mode;
	cfg->link_bps = 1000000000;
	cfg->overhead_bytes = SCHED_ETH_OVERHEAD_BYTES;
	cfg->duration_ns = 10 * SCHED_NS_PER_S;
	cfg->seed = seed;
	cfg->random_phase = true;
	cfg->queue_limit_pkts = 1000;
	cfg->n_flows = 3;
	cfg->flows[LINKSIM_EXP1_A] = (struct linksim_flow){
		.name = "A", .rate_bps = 2000000, .pkt_bytes = 1502, .deadline_ns = 5000000 };
	cfg->flows[LINKSIM_EXP1_B] = (struct linksim_flow){
		.name = "B", .rate_bps = 2000000, .pkt_bytes = 1502, .deadline_ns = 10000000 };
	cfg->flows[LINKSIM_EXP1_NRT] = (struct linksim_flow){
		.name = "NRT", .rate_bps = 1100000000, .pkt_bytes = 1502 };
}
