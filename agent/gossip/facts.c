/* facts.c — what this host tells the rack about itself (struct
 * gossip_facts): CPU and memory from /proc, the uplink and the RT rate
 * reserved on it from the replicated state, the VMs the state places here,
 * and the deadline misses this host's dataplane counted (read through the
 * dataplane's telemetry source, the same figure /metrics exports as
 * rtvnet_dp_misses_total). */
#include "agent/gossip/internal.h"

#include <stdio.h>
#include <string.h>

#include "agent/telemetry/telemetry.h"
#include "common/log.h"

/* CPU busy share since the last call, from /proc/stat's first line. */
static uint32_t cpu_ppm(struct gmod *m)
{
	unsigned long long v[8] = { 0 }, busy, total = 0;
	uint32_t ppm = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		fclose(f);
		return 0;
	}
	fclose(f);
	for (int i = 0; i < 8; i++)
		total += v[i];
	busy = total - v[3] - v[4];	/* idle, iowait */
	if (total > m->cpu_total && busy >= m->cpu_busy)
		ppm = (uint32_t)((busy - m->cpu_busy) * 1000000ull / (total - m->cpu_total));
	m->cpu_busy = busy;
	m->cpu_total = total;
	return ppm > 1000000 ? 1000000 : ppm;
}

static void mem_bytes(uint64_t *total, uint64_t *avail)
{
	char line[128];
	unsigned long long kb;
	FILE *f = fopen("/proc/meminfo", "r");

	*total = *avail = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			*total = kb * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			*avail = kb * 1024;
	}
	fclose(f);
	if (*avail > *total)
		*avail = *total;
}

/* RT rate reserved host -> switch on this host's uplink edge, and the VMs
 * placed here, from the replicated state. */
static void from_state(struct gmod *m, struct gossip_facts *f)
{
	const struct cons_state *s = agent_core_state(m->d);
	const struct agent_config *cfg = agent_core_config(m->d);
	const struct cons_host *h = cons_state_host(s, cfg->id);

	for (size_t i = 0; h && i < cons_state_n_links(s); i++) {
		const struct cons_link *l = cons_state_link_at(s, i);

		if (strcmp(l->a, h->name) == 0 && strcmp(l->b, h->uplink_to) == 0)
			f->rt_reserved_bps = l->reserved_ab_bps;
		else if (strcmp(l->b, h->name) == 0 && strcmp(l->a, h->uplink_to) == 0)
			f->rt_reserved_bps = l->reserved_ba_bps;
	}
	for (size_t i = 0; i < cons_state_n_vms(s); i++)
		f->vm_count += cons_state_vm_at(s, i)->host_id == cfg->id;
}

struct dp_read {
	uint64_t misses, sent_bytes;
	bool any;
};

static void dp_read(void *arg, void *self, const void *iface)
{
	const struct agent_tm_sources *src = iface;
	struct dp_read *r = arg;
	struct agent_tm_dp_host h = { 0 };

	if (!src->dp_host)
		return;
	src->dp_host(self, &h);
	r->misses += h.misses;
	r->sent_bytes += h.sent_bytes;
	r->any = true;
}

/* Uplink utilisation since the last refresh, from the bytes the dataplane
 * sent (0 without a dataplane). */
static uint32_t util_ppm(struct gmod *m, const struct dp_read *r, uint64_t uplink_bps)
{
	uint64_t now = uv_hrtime(), ppm = 0;

	if (r->any && m->util_at_ns && now > m->util_at_ns && uplink_bps &&
	    r->sent_bytes >= m->util_bytes) {
		double bits = (double)(r->sent_bytes - m->util_bytes) * 8.0;
		double s = (double)(now - m->util_at_ns) / 1e9;

		ppm = (uint64_t)(bits / s / (double)uplink_bps * 1e6);
	}
	m->util_at_ns = now;
	m->util_bytes = r->sent_bytes;
	return ppm > 1000000 ? 1000000 : (uint32_t)ppm;
}

void gmod_facts_refresh(struct gmod *m)
{
	const struct agent_config *cfg = agent_core_config(m->d);
	struct gossip_facts f = { .uplink_bps = cfg->uplink_bps };
	struct dp_read r = { 0 };

	f.cpu_ppm = cpu_ppm(m);
	mem_bytes(&f.mem_total_bytes, &f.mem_avail_bytes);
	from_state(m, &f);
	agent_core_iface(m->d, AGENT_TM_IFACE, dp_read, &r);
	f.dp_miss_count = r.misses;
	f.uplink_util_ppm = util_ppm(m, &r, cfg->uplink_bps);
	snprintf(f.version, sizeof(f.version), "rtvd %s", RTVD_VERSION);
	if (gossip_set_facts(gmod_gossip(m), &f))
		rtv_warn(GMOD, "facts refused (out of range): not spread this round");
}
