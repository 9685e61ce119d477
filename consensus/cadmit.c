/* cadmit.c — admission of rtpaths, inside apply.
 *
 * Deterministic integer arithmetic over the replicated state only, so every
 * replica reaches the same verdict. Everything is counted in wire terms
 * (consensus.h, "Admission in wire terms"): a path (r, b, M) is the wire
 * envelope (W(r), B, M + o) with o = CONS_WIRE_OVERHEAD_BYTES, converted by
 * sched/'s sched_wire_* functions, the same ones the dataplane polices and
 * audits with (dp/dp_table.c), so the two agree to the bit. For a
 * PATH_RESERVE from host S to host D:
 *
 *  route   shortest by hops over the topology (topo.c), pinned from now on.
 *          S == D (both VMs on one host): no link is crossed, the traffic
 *          stays inside the host's switch and is accounted apart from the
 *          uplink (seed 003), so none of the link tests below apply.
 *  (b)     network budget of the hops after the sender's uplink:
 *            net = lat(first hop) + Σ_{later hops} (⌈8·(F+o)/C_k⌉ + lat_k)
 *          with F the sender's max_frame_bytes: a store-and-forward switch
 *          receives a whole frame (label, preamble and FCS included; the gap
 *          is counted too, as the pacer does) before sending it on;
 *          queueing in the switches is assumed inside the hop latency
 *          (strict-priority RT classes within the links' RT budgets). The
 *          sender's own transmission is not in net: the EDF test below
 *          counts a packet as done when its last bit leaves. The scheduler
 *          deadline at the sender is D − net; the EDF test uses it less
 *          CONS_EDF_MARGIN_NS, so D must exceed net + that margin.
 *  (a)     every link direction on the route: reserved + W(x) <= capacity ·
 *          rt_budget_ppm / 1e6, x = r (deadline type) or the service rate R
 *          (reservation type). The wire rate bounds what the path puts on
 *          every link: the sender's policer enforces it, and the label and
 *          the Ethernet overhead stay the same size all the way.
 *  (d)     reservation type: R = the smallest frame rate whose wire rate
 *          W(R) meets RFC 2212 (tspec W(r), p = uplink rate, B, M + o; Ctot =
 *          F + o, the non-preemptive blocking by the largest frame of a lower
 *          class; Dtot = net + CONS_TX_AHEAD_MAX_NS, the frames the
 *          dataplane may commit to the wire ahead of a WF²Q+ arrival) by D,
 *          W(R) at most the uplink's RT budget. The search runs on wire
 *          rates (sched_rfc2212_min_rate); sched_frame_rate_bps maps the
 *          result back, and never below r.
 *  (c)     EDF demand-bound test (sched_edf_admissible) on the sender's
 *          uplink over its deadline-type paths (W(r), B, D − net − margin,
 *          M + o), blocking F + SCHED_ETH_OVERHEAD_BYTES (an NRT frame; the
 *          test adds the flows' own packets). The margin is one EDF bucket
 *          (the wheel is exact EDF on deadlines rounded down to a bucket)
 *          plus CONS_TX_AHEAD_MAX_NS (work committed ahead of the pacer).
 *          Reservation-type traffic is served in strict priority above EDF,
 *          so each such path takes B + W(R)·t of the link from t = 0: it
 *          enters the test as a flow with deadline D_min (the smallest EDF
 *          deadline) and burst B + ⌈W(R)·D_min/8e9⌉ + 1 bytes, at least
 *          B + W(R)·t at every t >= D_min, the only points the test
 *          examines. The dataplane models it the same way without the
 *          extra byte; the byte covers its rounding when its own margin is
 *          smaller than ours (a later D_min there), so that every set
 *          admitted here passes its audit for any margin up to ours.
 *  (e)     PATH_ESCALATE to level L raises the class (MPLS TC) to L's and
 *          tightens the sender's share as far as admission allows: for
 *          k = L, L − 1, …, the deadline type re-queues at
 *          sched_escalate_deadline_ns(D − net, k, CONS_ESCALATE_FLOOR_NS),
 *          the reservation type gets sched_escalate_rate_bps(R0, k, cap),
 *          cap the largest frame rate whose wire rate fits the uplink's RT
 *          budget, and (a) and (c) re-run; the first k that passes is taken. When none does
 *          (or k reaches what the path has now), the path keeps its
 *          deadline and rate and only its class rises: that always fits,
 *          and it is what lifts the path above competing traffic in the
 *          network, where misses the sender cannot cause come from. A
 *          refusal (an invalid level) leaves the path as it was.
 *
 * Cost per command: O(route) for (a), O(k log k) for (c) with k the
 * sender's rtpaths, never a scan of all paths.
 */
#include "consensus/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Classes: see struct cons_rtpath. */
#define TC_DEADLINE 5
#define TC_RESERVATION 4
#define DSCP_EF 46
#define DSCP_AF41 34

#define WIRE_O CONS_WIRE_OVERHEAD_BYTES

_Static_assert(CONS_WIRE_OVERHEAD_BYTES == CONS_MPLS_LABEL_BYTES + SCHED_ETH_OVERHEAD_BYTES,
	       "consensus.h's wire overhead must be the label plus sched/'s Ethernet overhead");
_Static_assert(CONS_ESCALATE_FLOOR_NS > CONS_EDF_MARGIN_NS,
	       "an escalated deadline must stay above the EDF margin");

void cons__path_class(struct cons_rtpath *p)
{
	bool up = p->level > 0;

	if (p->req.type == CONS_PATH_DEADLINE) {
		p->tc = TC_DEADLINE + up;
		p->dscp = DSCP_EF;
	} else {
		p->tc = TC_RESERVATION + up;
		p->dscp = DSCP_AF41;
	}
}

static uint64_t wire_rate(const struct cons_rtpath *p, uint64_t frame_bps)
{
	return sched_wire_rate_bps(frame_bps, p->req.max_pkt_bytes, WIRE_O);
}

uint64_t cons__path_rate(const struct cons_rtpath *p)
{
	return wire_rate(p, p->service_rate_bps);
}

static void fmt_ppm(char *out, size_t cap, uint32_t ppm)
{
	char d[8];

	snprintf(d, sizeof(d), "%04u", ppm % 10000);
	for (int i = 3; i >= 0 && d[i] == '0'; i--)
		d[i] = '\0';
	snprintf(out, cap, "%u%s%s%%", ppm / 10000, d[0] ? "." : "", d);
}

/* ------------------------------------------------------------------------- */
/* (a) link budgets                                                          */

static uint64_t hop_limit(const struct cons__hop *h)
{
	return cons__budget_bps(cons__hop_capacity(h), h->link->pub.rt_budget_ppm);
}

static void links_refusal(const struct cons__hop *h, const struct cons_rtpath *p,
			  uint64_t used, char err[CONS_ERRLEN])
{
	uint64_t lim = hop_limit(h);
	char name[2 * CONS_NAME_MAX + 4], s_add[32], s_frame[32], s_lim[32], s_cap[32],
		s_free[32], pc[16];

	cons__hop_name(h, name, sizeof(name));
	cons__fmt_rate(s_add, sizeof(s_add), cons__path_rate(p));
	cons__fmt_rate(s_frame, sizeof(s_frame), p->service_rate_bps);
	cons__fmt_rate(s_lim, sizeof(s_lim), lim);
	cons__fmt_rate(s_cap, sizeof(s_cap), cons__hop_capacity(h));
	cons__fmt_rate(s_free, sizeof(s_free), used <= lim ? lim - used : 0);
	fmt_ppm(pc, sizeof(pc), h->link->pub.rt_budget_ppm);
	cons__err(err, "link %s cannot take %s on the wire (%s in packets of up to %u bytes, "
		  "each %u bytes more on the wire): its RT limit is %s (%s of %s) and %s is free",
		  name, s_add, s_frame, p->req.max_pkt_bytes, WIRE_O, s_lim, pc, s_cap, s_free);
}

/* Would every hop take path p's wire rate once sub_bps (the path's current
 * wire rate, on escalation) is given back? */
static int links_fit(const struct cons__hop *hops, uint32_t n, uint64_t sub_bps,
		     const struct cons_rtpath *p, char err[CONS_ERRLEN])
{
	uint64_t add = cons__path_rate(p);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t used = *cons__hop_reserved(&hops[i]) - sub_bps, lim = hop_limit(&hops[i]);

		if (used <= lim && add <= lim - used)
			continue;
		links_refusal(&hops[i], p, used, err);
		return CONS_EREFUSED;
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* (c) the EDF test on a sender's uplink                                     */

/* The deadline the EDF test gives a deadline-type path: its scheduler
 * deadline less the margin. Admission keeps it above the margin; a crafted
 * snapshot that does not gets the dataplane's answer, 1 ns, and fails. */
static uint64_t edf_deadline(const struct cons_rtpath *p)
{
	return p->sched_deadline_ns > CONS_EDF_MARGIN_NS ? p->sched_deadline_ns - CONS_EDF_MARGIN_NS
							 : 1;
}

/* Path p as the EDF test sees it, in wire terms ((c) at the top). */
static struct sched_flow edf_flow(const struct cons_rtpath *p, uint64_t dmin_ns)
{
	struct sched_flow frame = {
		.rate_bps = p->req.rate_bps,
		.burst_bytes = p->req.burst_bytes,
		.deadline_ns = edf_deadline(p),
		.max_pkt_bytes = p->req.max_pkt_bytes,
	};
	struct sched_flow f = sched_wire_flow(&frame, WIRE_O);

	if (p->req.type == CONS_PATH_RESERVATION) {
		f.rate_bps = cons__path_rate(p);
		f.burst_bytes += cons__muldiv_ceil(f.rate_bps, dmin_ns, 8 * SCHED_NS_PER_S) + 1;
		f.deadline_ns = dmin_ns;
	}
	return f;
}

static int flows_grow(struct sched_flow **buf, size_t *cap, size_t n)
{
	struct sched_flow *nb;
	size_t ncap = *cap ? *cap : 16;

	if (n <= *cap)
		return 0;
	while (ncap < n)
		ncap *= 2;
	nb = realloc(*buf, ncap * sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static void edf_refusal(const struct cons__host *h, const struct sched_edf_verdict *v,
			char err[CONS_ERRLEN])
{
	char rate[32], d[32], s[32], t[32];

	cons__fmt_rate(rate, sizeof(rate), h->pub.uplink_bps);
	if (v->rate_exceeded) {
		cons__err(err, "uplink of %s (%s): the RT flows' long-run rate would exceed the "
			  "link rate", h->pub.name, rate);
		return;
	}
	cons__fmt_bits(d, sizeof(d), v->demand_bits);
	cons__fmt_bits(s, sizeof(s), v->supply_bits);
	cons__fmt_ns(t, sizeof(t), v->at_ns);
	cons__err(err, "uplink of %s (%s): EDF demand %s on the wire at t = %s exceeds supply %s; "
		  "ask for a longer deadline or a smaller burst", h->pub.name, rate, d, t, s);
}

/* The test over host h's senders, `skip` replaced by `extra` when both are
 * set (escalation), `extra` added when only it is set (a new path). */
static int edf_run(const struct cons__host *h, const struct cons__path *skip,
		   const struct cons_rtpath *extra, struct sched_flow **buf, size_t *cap,
		   char err[CONS_ERRLEN])
{
	struct sched_edf_verdict v;
	uint64_t dmin = UINT64_MAX;
	size_t n = 0;

	for (size_t i = 0; i < h->n_tx; i++) {
		const struct cons_rtpath *p = &h->tx[i]->pub;

		if (h->tx[i] != skip && p->req.type == CONS_PATH_DEADLINE && edf_deadline(p) < dmin)
			dmin = edf_deadline(p);
	}
	if (extra != NULL && extra->req.type == CONS_PATH_DEADLINE && edf_deadline(extra) < dmin)
		dmin = edf_deadline(extra);
	if (dmin == UINT64_MAX)
		return 0;	/* no EDF traffic: nothing to schedule by deadline */
	if (flows_grow(buf, cap, h->n_tx + 1) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_tx; i++)
		if (h->tx[i] != skip)
			(*buf)[n++] = edf_flow(&h->tx[i]->pub, dmin);
	if (extra != NULL)
		(*buf)[n++] = edf_flow(extra, dmin);
	if (sched_edf_admissible(*buf, n, h->pub.uplink_bps,
				 h->pub.max_frame_bytes + SCHED_ETH_OVERHEAD_BYTES, &v) != 0) {
		cons__err(err, "uplink of %s: a flow is malformed for the EDF test", h->pub.name);
		return -EINVAL;
	}
	if (v.ok)
		return 0;
	edf_refusal(h, &v, err);
	return CONS_EREFUSED;
}

int cons__edf_check(struct cons_state *s, const struct cons__host *h,
		    const struct cons__path *skip, const struct cons_rtpath *extra,
		    char err[CONS_ERRLEN])
{
	return edf_run(h, skip, extra, &s->flows, &s->cap_flows, err);
}

/* ------------------------------------------------------------------------- */
/* Linking a path into the derived sums                                      */

static int tx_reserve(struct cons__host *h)
{
	struct cons__path **ntx;
	size_t ncap = h->cap_tx ? 2 * h->cap_tx : 8;

	if (h->n_tx < h->cap_tx)
		return 0;
	ntx = realloc(h->tx, ncap * sizeof(*ntx));
	if (ntx == NULL)
		return -ENOMEM;
	h->tx = ntx;
	h->cap_tx = ncap;
	return 0;
}

/* The position after every entry of h's sender list with an id <= id (a
 * shadow goes after its path). */
static size_t tx_upper(const struct cons__host *h, uint64_t id)
{
	size_t lo = 0, hi = h->n_tx;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (h->tx[mid]->pub.id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Where p sits in its sender's list, or NULL. */
static struct cons__path **tx_slot(const struct cons__path *p)
{
	const struct cons__host *h = p->src;

	for (size_t i = tx_upper(h, p->pub.id); i-- > 0 && h->tx[i]->pub.id == p->pub.id;)
		if (h->tx[i] == p)
			return &h->tx[i];
	return NULL;
}

int cons__path_link(struct cons__path *p)
{
	struct cons__host *h = p->src;

	if (p->n_hops > 0) {
		size_t at;

		if (tx_reserve(h) != 0)
			return -ENOMEM;
		at = tx_upper(h, p->pub.id);
		memmove(h->tx + at + 1, h->tx + at, (h->n_tx - at) * sizeof(*h->tx));
		h->tx[at] = p;
		h->n_tx++;
	}
	for (uint32_t i = 0; i < p->n_hops; i++) {
		*cons__hop_reserved(&p->hops[i]) += cons__path_rate(&p->pub);
		p->hops[i].link->n_paths++;
	}
	p->src->n_paths++;
	if (p->dst != p->src)
		p->dst->n_paths++;
	p->src_vm->n_paths++;
	if (p->dst_vm != p->src_vm)
		p->dst_vm->n_paths++;
	return 0;
}

void cons__path_unlink(struct cons__path *p)
{
	struct cons__host *h = p->src;
	struct cons__path **at;

	for (uint32_t i = 0; i < p->n_hops; i++) {
		*cons__hop_reserved(&p->hops[i]) -= cons__path_rate(&p->pub);
		p->hops[i].link->n_paths--;
	}
	at = p->n_hops ? tx_slot(p) : NULL;
	if (at != NULL) {
		memmove(at, at + 1, (size_t)(h->tx + h->n_tx - at - 1) * sizeof(*at));
		h->n_tx--;
	}
	p->src->n_paths--;
	if (p->dst != p->src)
		p->dst->n_paths--;
	p->src_vm->n_paths--;
	if (p->dst_vm != p->src_vm)
		p->dst_vm->n_paths--;
}

void cons__path_free(struct cons__path *p)
{
	if (p == NULL)
		return;
	free(p->hops);
	free(p);
}

/* ------------------------------------------------------------------------- */
/* PATH_RESERVE                                                              */

struct admit {
	struct cons_state *s;
	struct cons__host *src, *dst;
	struct cons__vm *svm, *dvm;
	struct cons__hop hops[CONS__ROUTE_MAX_HOPS];
	uint32_t n_hops;
	struct cons_rtpath p;
	char *err;
};

static int resolve_ip(struct admit *a, uint32_t ip, const char *what, struct cons__vm **vm,
		      struct cons__host **host)
{
	char s[16];

	cons__ip_str(ip, s);
	*vm = cons__vm_by_ip(a->s, ip);
	if (*vm == NULL) {
		cons__err(a->err, "%s %s belongs to no known VM; check the address (rtvctl vms)",
			  what, s);
		return -ENOENT;
	}
	*host = cons__host_by_id(a->s, (*vm)->pub.host_id);
	if (*host == NULL) {
		cons__err(a->err, "%s %s: VM %s is on unknown host %llu", what, s, (*vm)->pub.uuid,
			  (unsigned long long)(*vm)->pub.host_id);
		return -ENOENT;
	}
	return 0;
}

/* Fills in max_pkt (0 = the sender's frame size) and burst (0 = one max
 * packet), then checks them against the sender's frame size. */
static int normalize(struct admit *a)
{
	struct cons_path_req *r = &a->p.req;
	uint32_t frame = a->src->pub.max_frame_bytes;

	if (r->max_pkt_bytes == 0)
		r->max_pkt_bytes = frame;
	if (r->burst_bytes == 0)
		r->burst_bytes = r->max_pkt_bytes;
	if (r->max_pkt_bytes > frame) {
		cons__err(a->err, "path.max_pkt_bytes %u exceeds the %u-byte frames of host %s's "
			  "uplink", r->max_pkt_bytes, frame, a->src->pub.name);
		return -EINVAL;
	}
	if (r->burst_bytes < r->max_pkt_bytes) {
		cons__err(a->err, "path.burst_bytes %llu is smaller than one max packet (%u bytes); "
			  "give at least that", (unsigned long long)r->burst_bytes, r->max_pkt_bytes);
		return -EINVAL;
	}
	return 0;
}

static int route(struct admit *a)
{
	int n;

	a->n_hops = 0;
	if (a->src == a->dst)
		return 0;
	n = cons__route(a->s, a->src, a->dst, a->hops, CONS__ROUTE_MAX_HOPS);
	if (n == -ENOMEM)
		return n;
	if (n < 0) {
		cons__err(a->err, n == -E2BIG ? "the route from %s to %s is longer than %d hops"
					      : "no route from %s to %s in the topology; connect "
						"their switches (rtvctl links)",
			  a->src->pub.name, a->dst->pub.name, CONS__ROUTE_MAX_HOPS);
		return -ENOENT;
	}
	a->n_hops = (uint32_t)n;
	return 0;
}

static uint64_t net_budget(const struct cons__host *src, const struct cons__hop *hops,
			   uint32_t n)
{
	uint64_t net = 0, frame_bits = ((uint64_t)src->pub.max_frame_bytes + WIRE_O) * 8;

	for (uint32_t i = 0; i < n; i++) {
		net += hops[i].link->pub.hop_latency_ns;
		if (i > 0)
			net += cons__muldiv_ceil(frame_bits, SCHED_NS_PER_S,
						 cons__hop_capacity(&hops[i]));
	}
	return net;
}

static int budget_net(struct admit *a)
{
	uint64_t net = net_budget(a->src, a->hops, a->n_hops);
	char s_d[32], s_net[32], s_m[32];

	a->p.net_budget_ns = net;
	if (net < a->p.req.deadline_ns && a->p.req.deadline_ns - net > CONS_EDF_MARGIN_NS)
		return 0;
	cons__fmt_ns(s_d, sizeof(s_d), a->p.req.deadline_ns);
	cons__fmt_ns(s_net, sizeof(s_net), net);
	cons__fmt_ns(s_m, sizeof(s_m), CONS_EDF_MARGIN_NS);
	cons__err(a->err, "deadline %s does not exceed the %s the network hops from %s to %s take "
		  "(hop latencies and one frame per switch) plus the sender's %s scheduling "
		  "margin; ask for a longer deadline", s_d, s_net, a->src->pub.name,
		  a->dst->pub.name, s_m);
	return CONS_EREFUSED;
}

/* (d): the smallest service rate R whose wire rate meets the deadline by
 * RFC 2212, the tspec and the error terms in wire terms. */
static int service_rate(struct admit *a)
{
	struct cons_path_req *r = &a->p.req;
	struct sched_tspec t = { wire_rate(&a->p, r->rate_bps), a->src->pub.uplink_bps,
				 sched_wire_burst_bytes(r->burst_bytes, r->max_pkt_bytes, WIRE_O),
				 r->max_pkt_bytes + WIRE_O };
	uint64_t max_R = hop_limit(&a->hops[0]), R = 0;
	char s_max[32], s_d[32];
	int rc;

	rc = sched_rfc2212_min_rate(&t, (uint64_t)a->src->pub.max_frame_bytes + WIRE_O,
				    a->p.net_budget_ns + CONS_TX_AHEAD_MAX_NS, r->deadline_ns, max_R,
				    &R);
	if (rc == 0) {
		R = sched_frame_rate_bps(R, r->max_pkt_bytes, WIRE_O);
		a->p.service_rate_bps = a->p.service_rate_base_bps = R > r->rate_bps ? R : r->rate_bps;
		return 0;
	}
	cons__fmt_rate(s_max, sizeof(s_max), max_R);
	cons__fmt_ns(s_d, sizeof(s_d), r->deadline_ns);
	if (rc == -ERANGE) {
		cons__err(a->err, "no service rate up to %s on the wire (the RT limit of %s's "
			  "uplink) meets %s for a burst of %llu bytes; ask for a longer deadline or "
			  "a smaller burst", s_max, a->src->pub.name, s_d,
			  (unsigned long long)r->burst_bytes);
		return CONS_EREFUSED;
	}
	cons__err(a->err, "reservation: the traffic spec is malformed for RFC 2212 (rate above "
		  "the uplink rate?)");
	return -EINVAL;
}

/* The checks (a)-(d); fills a->p's derived fields. */
static int admit_checks(struct admit *a)
{
	struct cons_rtpath *p = &a->p;
	int rc;

	p->service_rate_bps = p->service_rate_base_bps = p->req.rate_bps;
	p->sched_deadline_ns = p->req.deadline_ns;
	if (a->n_hops == 0)
		return 0;	/* same host: no link crossed */
	rc = budget_net(a);
	rc = rc ? rc : links_fit(a->hops, a->n_hops, 0, p, a->err);
	if (rc != 0)
		return rc;
	p->sched_deadline_ns = p->req.deadline_ns - p->net_budget_ns;
	if (p->req.type == CONS_PATH_RESERVATION) {
		rc = service_rate(a);
		rc = rc ? rc : links_fit(a->hops, a->n_hops, 0, p, a->err);
		if (rc != 0)
			return rc;
	}
	return cons__edf_check(a->s, a->src, NULL, p, a->err);
}

int cons__path_adopt(struct cons_state *s, struct cons__path *p)
{
	if (cons__vec_reserve(&s->paths, 1) != 0 || cons__path_link(p) != 0)
		return -ENOMEM;
	cons__vec_insert(&s->paths, s->paths.n, p);
	return 0;
}

static int admit_commit(struct admit *a, uint64_t index)
{
	struct cons_state *s = a->s;
	struct cons__path *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->hops = a->n_hops ? malloc(a->n_hops * sizeof(*p->hops)) : NULL;
	if (a->n_hops > 0 && p->hops == NULL)
		goto nomem;
	if (a->n_hops > 0)
		memcpy(p->hops, a->hops, a->n_hops * sizeof(*p->hops));
	p->n_hops = a->n_hops;
	p->pub = a->p;
	p->pub.id = s->next_path_id;
	p->pub.admitted_index = index;
	p->src = a->src;
	p->dst = a->dst;
	p->src_vm = a->svm;
	p->dst_vm = a->dvm;
	if (cons__path_adopt(s, p) != 0)
		goto nomem;
	s->next_path_id++;
	return 0;
nomem:
	cons__path_free(p);
	return -ENOMEM;
}

int cons__path_reserve(struct cons_state *s, uint64_t index, const struct cons_path_req *rq,
		       struct cons_result *res)
{
	struct admit a = { .s = s, .err = res->err };
	int rc;

	a.p.req = *rq;
	rc = resolve_ip(&a, rq->src_ip, "source", &a.svm, &a.src);
	rc = rc ? rc : resolve_ip(&a, rq->dst_ip, "destination", &a.dvm, &a.dst);
	rc = rc ? rc : normalize(&a);
	rc = rc ? rc : route(&a);
	rc = rc ? rc : admit_checks(&a);
	if (rc == 0) {
		a.p.src_host = a.src->pub.id;
		a.p.dst_host = a.dst->pub.id;
		cons__path_class(&a.p);
		rc = admit_commit(&a, index);
		if (rc == 0)
			res->id = s->next_path_id - 1;
	}
	if (rc == -ENOMEM)
		return rc;
	res->status = rc;
	return 0;
}

/* A migration's shadow: the admitted request again, one end moved. The
 * old route stays charged while this one is checked, so a link both routes
 * cross must hold both (make-before-break). */
int cons__path_shadow(struct cons_state *s, const struct cons__path *orig,
		      struct cons__host *src, struct cons__host *dst, struct cons__path **out,
		      char err[CONS_ERRLEN])
{
	struct admit a = { .s = s, .err = err, .src = src, .dst = dst, .svm = orig->src_vm,
			   .dvm = orig->dst_vm };
	struct cons__path *p;
	char why[CONS_ERRLEN];
	int rc;

	a.p.req = orig->pub.req;
	rc = route(&a);
	rc = rc ? rc : admit_checks(&a);
	if (rc != 0) {
		if (rc != -ENOMEM) {
			snprintf(why, sizeof(why), "%s", err);
			cons__err(err, "rtpath %llu on its new route: %.200s",
				  (unsigned long long)orig->pub.id, why);
		}
		return rc;
	}
	a.p.src_host = src->pub.id;
	a.p.dst_host = dst->pub.id;
	cons__path_class(&a.p);
	p = calloc(1, sizeof(*p));
	if (p == NULL || (a.n_hops > 0 && !(p->hops = malloc(a.n_hops * sizeof(*p->hops))))) {
		cons__path_free(p);
		return -ENOMEM;
	}
	if (a.n_hops > 0)
		memcpy(p->hops, a.hops, a.n_hops * sizeof(*p->hops));
	p->n_hops = a.n_hops;
	p->pub = a.p;
	p->pub.id = orig->pub.id;
	p->pub.admitted_index = orig->pub.admitted_index;
	p->src = src;
	p->dst = dst;
	p->src_vm = a.svm;
	p->dst_vm = a.dvm;
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* PATH_RELEASE and PATH_ESCALATE                                            */

static int path_cmp(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key, e = ((const struct cons__path *)elem)->pub.id;

	return id < e ? -1 : id > e;
}

static struct cons__path *path_or_enoent(struct cons_state *s, uint64_t id, size_t *pos,
					 struct cons_result *res)
{
	if (cons__vec_find(&s->paths, &id, path_cmp, pos))
		return s->paths.v[*pos];
	cons__err(res->err, "no rtpath with id %llu (see rtvctl paths)", (unsigned long long)id);
	res->status = -ENOENT;
	return NULL;
}

int cons__path_release(struct cons_state *s, uint64_t id, struct cons_result *res)
{
	size_t pos;
	struct cons__path *p = path_or_enoent(s, id, &pos, res);

	if (p == NULL)
		return 0;
	cons__path_unlink(p);
	cons__vec_remove(&s->paths, pos);
	cons__path_free(p);
	return 0;
}

/* The path's fields at class `level`, tightened as escalation `strength`
 * says (deadline type: its EDF deadline >> strength; reservation type: R
 * raised by R·strength/2). A same-host path has no uplink to cap R by, nor
 * does R mean anything there: it keeps its rate. The cap is the largest
 * frame rate whose wire rate fits the uplink's RT limit: one below the
 * smallest whose wire rate passes it. */
static struct cons_rtpath escalated(const struct cons__path *p, uint8_t level, uint8_t strength)
{
	struct cons_rtpath q = p->pub;
	uint64_t cap;

	q.level = level;
	if (q.req.type == CONS_PATH_DEADLINE) {
		q.sched_deadline_ns = sched_escalate_deadline_ns(q.req.deadline_ns - q.net_budget_ns,
								 strength, CONS_ESCALATE_FLOOR_NS);
	} else if (p->n_hops > 0) {
		cap = sched_frame_rate_bps(hop_limit(&p->hops[0]) + 1, q.req.max_pkt_bytes, WIRE_O) - 1;
		q.service_rate_bps = sched_escalate_rate_bps(q.service_rate_base_bps, strength, cap);
	}
	cons__path_class(&q);
	return q;
}

/* Is q no tighter than the path is now? Then only its class changes. */
static bool no_tighter(const struct cons_rtpath *q, const struct cons_rtpath *now)
{
	return q->req.type == CONS_PATH_DEADLINE ? q->sched_deadline_ns >= now->sched_deadline_ns
						 : q->service_rate_bps <= now->service_rate_bps;
}

static int escalate_fits(struct cons_state *s, struct cons__path *p, const struct cons_rtpath *q,
			 char err[CONS_ERRLEN])
{
	int rc;

	if (p->n_hops == 0)
		return 0;
	rc = links_fit(p->hops, p->n_hops, cons__path_rate(&p->pub), q, err);
	return rc ? rc : cons__edf_check(s, p->src, p, q, err);
}

int cons__path_escalate(struct cons_state *s, uint64_t id, uint8_t level, struct cons_result *res)
{
	size_t pos;
	struct cons__path *p = path_or_enoent(s, id, &pos, res);
	struct cons_rtpath q;
	int rc;

	if (p == NULL)
		return 0;
	if (level > p->pub.req.policy.max_level) {
		cons__err(res->err, "rtpath %llu may escalate up to level %u (its policy.max_level), "
			  "not %u", (unsigned long long)id, p->pub.req.policy.max_level, level);
		res->status = -EINVAL;
		return 0;
	}
	/* The strongest tightening admission allows, from `level` down to
	 * what the path has now. Looser than now (a lower level) always fits;
	 * so does the class alone (same rate, same deadline), and in the
	 * network the class is what lifts the path past the traffic it
	 * competes with. The class-only candidate is checked all the same. */
	rc = CONS_EREFUSED;
	for (int k = level; k >= 0 && rc == CONS_EREFUSED; k--) {
		q = escalated(p, level, (uint8_t)k);
		if (no_tighter(&q, &p->pub))
			break;
		rc = escalate_fits(s, p, &q, res->err);
	}
	/* The loop stops at a candidate no tighter than now: strength 0 (the
	 * admitted values) is never tighter. Going down a level, that is the
	 * level's own values; going up, keep what the path has and raise the
	 * class alone. */
	if (rc == CONS_EREFUSED) {
		if (q.level > p->pub.level) {
			q.sched_deadline_ns = p->pub.sched_deadline_ns;
			q.service_rate_bps = p->pub.service_rate_bps;
		}
		rc = escalate_fits(s, p, &q, res->err);
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0) {
		res->status = rc;
		return 0;
	}
	res->err[0] = '\0';	/* a tighter candidate's refusal is not the answer */
	for (uint32_t i = 0; i < p->n_hops; i++)
		*cons__hop_reserved(&p->hops[i]) += cons__path_rate(&q) - cons__path_rate(&p->pub);
	p->pub = q;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Invariants                                                                */

static int check_links(const struct cons_state *s, uint64_t *sums, char err[CONS_ERRLEN])
{
	for (size_t i = 0; i < s->links.n; i++) {
		const struct cons__link *l = s->links.v[i];
		const struct cons_link *pl = &l->pub;

		if (sums[2 * i] != pl->reserved_ab_bps || sums[2 * i + 1] != pl->reserved_ba_bps) {
			cons__err(err, "link %s<->%s: reserved sums %llu/%llu, recount %llu/%llu",
				  pl->a, pl->b, (unsigned long long)pl->reserved_ab_bps,
				  (unsigned long long)pl->reserved_ba_bps,
				  (unsigned long long)sums[2 * i], (unsigned long long)sums[2 * i + 1]);
			return -EDOM;
		}
		if (pl->reserved_ab_bps > cons__budget_bps(pl->capacity_ab_bps, pl->rt_budget_ppm) ||
		    pl->reserved_ba_bps > cons__budget_bps(pl->capacity_ba_bps, pl->rt_budget_ppm)) {
			cons__err(err, "link %s<->%s: RT reservations exceed its budget", pl->a, pl->b);
			return -EDOM;
		}
	}
	return 0;
}

static size_t link_index(const struct cons_state *s, const struct cons__link *l)
{
	size_t lo = 0, hi = s->links.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct cons__link *m = s->links.v[mid];
		int c = strcmp(l->pub.a, m->pub.a);

		c = c ? c : strcmp(l->pub.b, m->pub.b);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SIZE_MAX;
}

static bool in_tx(const struct cons__path *p)
{
	return tx_slot(p) != NULL;
}

/* Recounts each link direction's reservations into sums (2 per link, in
 * link order) and checks that the senders' lists hold exactly the paths
 * that cross links. */
static int recount_path(const struct cons_state *s, const struct cons__path *p, uint64_t *sums,
			size_t *n_crossing, char err[CONS_ERRLEN])
{
	if (p->n_hops > 0 && !in_tx(p)) {
		cons__err(err, "rtpath %llu is missing from host %s's sender list",
			  (unsigned long long)p->pub.id, p->src->pub.name);
		return -EDOM;
	}
	*n_crossing += p->n_hops > 0;
	for (uint32_t k = 0; k < p->n_hops; k++) {
		size_t j = link_index(s, p->hops[k].link);

		if (j == SIZE_MAX || s->links.v[j] != p->hops[k].link) {
			cons__err(err, "rtpath %llu crosses a link not in the state",
				  (unsigned long long)p->pub.id);
			return -EDOM;
		}
		sums[2 * j + !p->hops[k].ab] += cons__path_rate(&p->pub);
	}
	return 0;
}

/* Recounts each link direction's reservations into sums (2 per link, in
 * link order), migrations' shadows included, and checks that the senders'
 * lists hold exactly the paths and shadows that cross links. */
static int recount(const struct cons_state *s, uint64_t *sums, char err[CONS_ERRLEN])
{
	size_t n_tx = 0, n_crossing = 0;
	int rc = 0;

	for (size_t i = 0; i < s->hosts.n; i++)
		n_tx += ((const struct cons__host *)s->hosts.v[i])->n_tx;
	for (size_t i = 0; i < s->paths.n && rc == 0; i++)
		rc = recount_path(s, s->paths.v[i], sums, &n_crossing, err);
	for (size_t i = 0; i < s->migs.n && rc == 0; i++) {
		const struct cons__mig *m = s->migs.v[i];

		for (uint32_t k = 0; k < m->n && rc == 0; k++)
			rc = recount_path(s, m->shadow[k], sums, &n_crossing, err);
	}
	if (rc == 0 && n_tx != n_crossing) {
		cons__err(err, "sender lists hold %zu rtpaths, %zu cross links", n_tx, n_crossing);
		return -EDOM;
	}
	return rc;
}

static int check_uplinks(const struct cons_state *s, char err[CONS_ERRLEN])
{
	struct sched_flow *buf = NULL;
	size_t cap = 0;
	char why[CONS_ERRLEN];
	int rc = 0;

	for (size_t i = 0; i < s->hosts.n && rc == 0; i++) {
		const struct cons__host *h = s->hosts.v[i];

		for (size_t k = 1; k < h->n_tx && rc == 0; k++)
			if (h->tx[k - 1]->pub.id > h->tx[k]->pub.id)
				rc = -EDOM;
		if (rc != 0) {
			cons__err(err, "host %s: sender list out of order", h->pub.name);
			break;
		}
		rc = edf_run(h, NULL, NULL, &buf, &cap, why);
		if (rc != 0) {
			cons__err(err, "EDF test fails: %s", why);
			rc = -EDOM;
		}
	}
	free(buf);
	return rc;
}

int cons_state_check(const struct cons_state *s, char err[CONS_ERRLEN])
{
	uint64_t *sums = calloc(2 * s->links.n + 1, sizeof(*sums));
	int rc;

	if (sums == NULL) {
		cons__err(err, "out of memory");
		return -ENOMEM;
	}
	rc = recount(s, sums, err);
	rc = rc ? rc : check_links(s, sums, err);
	rc = rc ? rc : check_uplinks(s, err);
	free(sums);
	return rc;
}
