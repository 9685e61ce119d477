/* dataplane_miss.c — closing the miss loop (docs/architecture.md, "Miss reports"; issue 4,
 * "Ingress"): the receiving host reports, the sending host boosts and
 * escalates.
 *
 * Receiver. The ingress thread aggregates misses per rtpath per interval
 * and hands the records over through a ring (dp_miss.c); each tick drains
 * it, adds each record to the path's cumulative count, and sends one
 * datagram per sending host with the paths that missed (missrep.h). A
 * path's last report is sent twice more in the following ticks with no new
 * misses ("n": 0, same "cum"), so that the loss of the last datagram of an
 * episode is made good; the sender ignores what it has already counted.
 *
 * Sender. A report is used only if the path exists in this replica's
 * state, this host sends it, and the reporting host receives it; then the
 * path's miss policy (misspol.h) decides on the local boost (a new table at
 * once) and on escalation, proposed as PATH_ESCALATE through the normal
 * submit path with this process's client id and sequence (consensus.h: one
 * request in flight per client id, so proposals for several paths queue up
 * and go one at a time, the next on the next tick).
 */
#include "agent/dataplane/dataplane_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
#include "common/units.h"

#define REPEATS 2

/* ------------------------------------------------------------------------- */
/* Receiver                                                                  */

static void take_record(struct agent_dp *dp, const struct dp_miss_report *m)
{
	struct dpg_rx *rx = dpg_idvec_get(&dp->rxs, m->path_id);

	dp->c.misses_drained += m->misses;
	if (!rx)
		return;	/* out of memory: the next record brings the count back */
	rx->src_host = m->src_host;
	rx->cum += m->misses;
	rx->last = (struct agent_missrep){
		.path_id = m->path_id, .misses = m->misses, .cum_misses = rx->cum,
		.first_ns = m->first_ns, .last_ns = m->last_ns < m->first_ns ? m->first_ns : m->last_ns,
		.max_late_ns = m->max_exceed_ns < AGENT_MISSREP_LATE_MAX_NS ? m->max_exceed_ns
									    : AGENT_MISSREP_LATE_MAX_NS,
		.max_late_ip_id = m->max_exceed_ip_id, .last_ip_id = m->last_ip_id,
		.uncertainty_ns = m->uncertainty_ns,
	};
	rx->fresh = true;
	rx->repeats = REPEATS;
}

/* The address of host's miss socket: its rpc_addr's IPv4 and our miss_port. */
static int host_ip(const struct agent_dp *dp, uint64_t host, uint32_t *ip)
{
	const char *url = agent_core_peer_url(dp->d, host);

	*ip = 0;
	if (!url || !strstr(url, "://") || rtv_parse_ipport(agent_url_addr(url), ip, NULL) < 0)
		return -ENOENT;
	return *ip ? 0 : -EADDRNOTAVAIL;
}

static bool due(const struct dpg_rx *rx)
{
	return rx->fresh || rx->repeats > 0;
}

/* The report to send for rx now (a repeat carries no new misses). */
static void next_report(struct dpg_rx *rx, struct agent_missrep *out)
{
	*out = rx->last;
	if (rx->fresh)
		rx->fresh = false;
	else {
		out->misses = 0;
		rx->repeats--;
	}
	rx->reports_sent++;
}

static void unroutable(struct agent_dp *dp, uint64_t host, size_t n)
{
	uint64_t suppressed = 0;

	dp->c.reports_unroutable += n;
	if (rtv_ratelimit_ok(&dp->route_rl, &suppressed))
		rtv_warn(DPG_MOD, "cannot report %zu missed rtpaths to host %llu: no IPv4 rpc_addr "
			 "known for it (its host record or [cluster] peer line)%s", n,
			 (unsigned long long)host, suppressed ? " (more not logged)" : "");
}

/* Sends every due report of host `host`, AGENT_MISSREP_MAX per datagram. */
static void send_host(struct agent_dp *dp, uint64_t host)
{
	struct agent_missrep batch[AGENT_MISSREP_MAX];
	uint16_t port = agent_core_config(dp->d)->dataplane.miss_port;
	size_t n = 0, left = 0;
	uint32_t ip;
	bool ok = host_ip(dp, host, &ip) == 0;

	for (size_t i = 0; i < dp->rxs.n; i++) {
		struct dpg_rx *rx = dpg_idvec_at(&dp->rxs, i);

		if (rx->src_host != host || !due(rx))
			continue;
		rx->sent_tick = dp->drains;
		if (!ok) {
			left++;
			rx->fresh = false;
			rx->repeats = 0;
			continue;
		}
		next_report(rx, &batch[n++]);
		if (n == AGENT_MISSREP_MAX) {
			agent_missrep_send(&dp->sock, ip, port, batch, n);
			n = 0;
		}
	}
	if (n)
		agent_missrep_send(&dp->sock, ip, port, batch, n);
	if (left)
		unroutable(dp, host, left);
}

void dpg_miss_drain(struct agent_dp *dp, const struct dp_miss_report *rec, size_t n)
{
	dp->drains++;
	for (size_t i = 0; i < n; i++)
		take_record(dp, &rec[i]);
	/* one pass per sending host with something due (send_host marks what
	 * it handled with this drain's number) */
	for (size_t i = 0; i < dp->rxs.n; i++) {
		struct dpg_rx *rx = dpg_idvec_at(&dp->rxs, i);

		if (due(rx) && rx->sent_tick != dp->drains)
			send_host(dp, rx->src_host);
	}
}

/* ------------------------------------------------------------------------- */
/* Sender: escalation through Raft                                           */

static bool refused_status(int status)
{
	return status == CONS_EREFUSED || status == -EINVAL || status == -ENOENT ||
	       status == -EPROTO || status == -ESTALE;
}

static void on_escalate_done(void *arg, const struct cons_cmd *cmd, int status, const char *err)
{
	struct agent_dp *dp = arg;
	uint64_t id = dp->job_path, suppressed = 0;
	uint8_t level = dp->job_level;
	struct agent_misspol *pol;
	bool refused = refused_status(status);

	(void)cmd;
	dp->job = NULL;
	if (dp->closing || status == -ESHUTDOWN)
		return;
	if ((pol = dpg_idvec_find(&dp->pols, id)) != NULL)
		agent_misspol_answer(pol, status, refused, dpg_now_ns());
	if (status == 0) {
		dp->c.escalations_committed++;
		rtv_info(DPG_MOD, "rtpath %llu: escalation to level %u committed",
			 (unsigned long long)id, level);
		return;
	}
	if (refused)
		dp->c.escalations_refused++;
	else
		dp->c.escalations_failed++;
	if (rtv_ratelimit_ok(&dp->esc_rl, &suppressed))
		rtv_warn(DPG_MOD, "rtpath %llu: escalation to level %u %s: %s; %s%s",
			 (unsigned long long)id, level, refused ? "refused" : "not committed", err,
			 refused ? "asked again later if misses persist (backing off)"
				 : "retrying in 1 s", suppressed ? " (more not logged)" : "");
}

static void propose(struct agent_dp *dp, struct agent_misspol *pol, const struct cons_rtpath *p)
{
	struct cons_cmd cmd = { .op = CONS_OP_PATH_ESCALATE };
	struct agent_submit *job;
	char err[CONS_ERRLEN];

	if (dp->client_id == 0)
		dp->client_id = agent_client_random_u64();
	cmd.client_id = dp->client_id;
	cmd.seq = ++dp->seq;
	cmd.u.ref.id = p->id;
	cmd.u.ref.level = (uint8_t)(p->level + 1);
	if (agent_submit_new(dp->d, &cmd, on_escalate_done, dp, &job, err) < 0) {
		rtv_error(DPG_MOD, "rtpath %llu: cannot build the escalation: %s",
			  (unsigned long long)p->id, err);
		return;
	}
	agent_misspol_proposed(pol, cmd.u.ref.level);
	dp->c.escalations_proposed++;
	dp->job = job;
	dp->job_path = p->id;
	dp->job_level = cmd.u.ref.level;
	rtv_info(DPG_MOD, "rtpath %llu: %llu misses since level %u (policy: %u misses or %llu ms); "
		 "proposing level %u", (unsigned long long)p->id,
		 (unsigned long long)pol->episode_misses, p->level, p->req.policy.misses,
		 (unsigned long long)(p->req.policy.after_ns / 1000000), cmd.u.ref.level);
	agent_submit_run(job);	/* may answer at once */
}

/* Proposes the first escalation the policies want (one in flight). */
static void maybe_escalate(struct agent_dp *dp)
{
	uint64_t now = dpg_now_ns();

	if (dp->job || dp->closing || agent_core_stopping(dp->d))
		return;
	for (size_t i = 0; i < dp->pols.n; i++) {
		struct agent_misspol *pol = dpg_idvec_at(&dp->pols, i);
		const struct cons_rtpath *p = cons_state_path(agent_core_state(dp->d), pol->path_id);

		if (p && agent_misspol_want(pol, &p->req.policy, p->level, now)) {
			propose(dp, pol, p);
			return;
		}
	}
}

void dpg_miss_escalated(struct agent_dp *dp, uint64_t id)
{
	struct agent_misspol *pol = dpg_idvec_find(&dp->pols, id);
	const struct cons_rtpath *p = cons_state_path(agent_core_state(dp->d), id);

	if (pol && agent_misspol_level_rose(pol, dpg_now_ns()))
		dp->c.boosts_lowered++;
	if (p && p->src_host == agent_core_config(dp->d)->id)
		rtv_info(DPG_MOD, "rtpath %llu is at level %u now (TC %u)%s", (unsigned long long)id,
			 p->level, p->tc, pol && pol->boost ? ", local boost on top" : "");
}

/* ------------------------------------------------------------------------- */
/* Sender: reports                                                           */

static void reject(struct agent_dp *dp, const struct agent_missrep *r, uint64_t host,
		   uint32_t from, const char *why)
{
	struct in_addr a = { htonl(from) };
	char ip[INET_ADDRSTRLEN];
	uint64_t suppressed = 0;

	dp->c.reports_rejected++;
	if (!rtv_ratelimit_ok(&dp->reject_rl, &suppressed))
		return;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	rtv_warn(DPG_MOD, "ignored a miss report for rtpath %llu from host %llu (%s): %s%s",
		 (unsigned long long)r->path_id, (unsigned long long)host, ip, why,
		 suppressed ? " (more not logged)" : "");
}

/* One report; returns true if the path's boost changed. */
static bool take_report(struct agent_dp *dp, const struct agent_missrep_msg *m,
			const struct agent_missrep *r, uint32_t from)
{
	const struct cons_rtpath *p = cons_state_path(agent_core_state(dp->d), r->path_id);
	uint64_t self = agent_core_config(dp->d)->id, n, suppressed = 0;
	struct agent_misspol *pol;
	bool changed = false;

	if (!p || p->src_host != self || p->dst_host != m->host) {
		reject(dp, r, m->host, from, p ? "this host does not send that rtpath to that host"
					       : "no such rtpath in this replica's state");
		return false;
	}
	if (!(pol = dpg_idvec_get(&dp->pols, r->path_id)))
		return false;
	n = agent_misspol_report(pol, &dp->pc, m->host, r, p->level, dpg_now_ns(), &changed);
	if (n == 0) {
		dp->c.reports_dup++;
		return false;
	}
	dp->c.reports_applied++;
	dp->c.misses_reported += n;
	if (rtv_ratelimit_ok(&dp->report_rl, &suppressed))
		rtv_info(DPG_MOD, "rtpath %llu: host %llu reports %llu new misses (%llu in all), "
			 "worst %llu us late (IP id %u), clock uncertainty %llu us%s",
			 (unsigned long long)p->id, (unsigned long long)m->host,
			 (unsigned long long)n, (unsigned long long)r->cum_misses,
			 (unsigned long long)(r->max_late_ns / 1000), r->max_late_ip_id,
			 (unsigned long long)(r->uncertainty_ns / 1000),
			 suppressed ? " (more reports not logged)" : "");
	if (changed) {
		dp->c.boosts_raised++;
		rtv_info(DPG_MOD, "rtpath %llu: local boost raised to %u (level %u)",
			 (unsigned long long)p->id, pol->boost, p->level);
	}
	return changed;
}

void dpg_miss_received(void *arg, const struct agent_missrep_msg *m, uint32_t from_ip)
{
	struct agent_dp *dp = arg;
	bool changed = false;

	if (dp->closing)
		return;
	for (size_t i = 0; i < m->n; i++)
		changed |= take_report(dp, m, &m->r[i], from_ip);
	if (changed)
		dpg_rebuild(dp);
	maybe_escalate(dp);
}

void dpg_miss_tick(struct agent_dp *dp)
{
	uint64_t now = dpg_now_ns();
	bool changed = false;

	for (size_t i = 0; i < dp->pols.n; i++) {
		struct agent_misspol *pol = dpg_idvec_at(&dp->pols, i);

		if (!agent_misspol_tick(pol, &dp->pc, now))
			continue;
		changed = true;
		dp->c.boosts_lowered++;
		rtv_info(DPG_MOD, "rtpath %llu: no misses for %llu ms; local boost lowered to %u",
			 (unsigned long long)pol->path_id,
			 (unsigned long long)(dp->pc.decay_ns / 1000000), pol->boost);
	}
	if (changed)
		dpg_rebuild(dp);
	maybe_escalate(dp);
}

/* ------------------------------------------------------------------------- */

static bool keep_pol(void *arg, const void *rec)
{
	const struct agent_misspol *pol = rec;

	return dp_table_find_id(arg, DP_TX, pol->path_id) != NULL;
}

static bool keep_rx(void *arg, const void *rec)
{
	const struct dpg_rx *rx = rec;

	return dp_table_find_id(arg, DP_RX, rx->path_id) != NULL;
}

void dpg_miss_prune(struct agent_dp *dp, const struct dp_table *t)
{
	dpg_idvec_filter(&dp->pols, keep_pol, (void *)t);
	dpg_idvec_filter(&dp->rxs, keep_rx, (void *)t);
}
