/* gossip.c — the gossip module: configuration, start, facts, status.
 *
 * The member list itself is gossip/ (docs/gossip.md); this file puts it on
 * rtvd's loop (gossip/udp.c), joins the configured seeds, refreshes this
 * host's facts every FACTS_MS from /proc and the configuration, logs every
 * state change, and adds the view to the `status` reply as "gossip".
 */
#include "agent/gossip/gossip.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mpack.h"
#include "common/units.h"
#include "gossip/gossip.h"

#define MOD "gossip"
#define FACTS_MS 5000

struct gmod_config {
	bool on;
	struct gossip_addr bind, advertise;
	bool advertise_set;
	struct gossip_addr seeds[16];
	size_t n_seeds;
	struct gossip_config gcfg;
};

/* C: what the file being parsed says so far; A: the last file that passed
 * config_done, which start uses. C starts empty for every file. */
static struct gmod_config C, A;

struct gmod {
	struct rtvd *d;
	struct gossip_udp *udp;
	uv_timer_t facts_timer;
	uint64_t cpu_busy, cpu_total;	/* /proc/stat at the last refresh */
};

/* ------------------------------------------------------------------------- */
/* Configuration                                                             */

static int parse_seeds(const char *v, char *why, size_t whylen)
{
	char buf[1024], *save = NULL;

	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	C.n_seeds = 0;
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (C.n_seeds == 16 ||
		    rtv_parse_ipport(t, &C.seeds[C.n_seeds].ip, &C.seeds[C.n_seeds].port))
			goto bad;
		C.n_seeds++;
	}
	return 0;
bad:
	snprintf(why, whylen, "seeds: up to 16 IP:PORT separated by commas, e.g. "
		 "10.0.0.1:7946,10.0.0.2:7946");
	return -EINVAL;
}

static int duration(const char *key, const char *v, uint64_t *out, char *why, size_t whylen)
{
	char err[128];

	if (rtv_parse_duration_ns(v, out, err, sizeof(err)) == 0)
		return 0;
	snprintf(why, whylen, "%s: %s", key, err);
	return -EINVAL;
}

static int config_key(const char *key, const char *v, char *why, size_t whylen);

/* A refused key ends the file's parse without config_done: start the next
 * file from nothing. (A file refused in another section after [gossip] is
 * not seen here; rtvd parses one file per process.) */
static int gossip_config_key(const char *key, const char *v, char *why, size_t whylen)
{
	int rc = config_key(key, v, why, whylen);

	if (rc)
		memset(&C, 0, sizeof(C));
	return rc;
}

static int config_key(const char *key, const char *v, char *why, size_t whylen)
{
	struct gossip_config *g = &C.gcfg;

	if (!C.on)
		gossip_config_default(g);
	C.on = true;
	if (strcmp(key, "bind") == 0 || strcmp(key, "advertise") == 0) {
		bool adv = key[0] == 'a';
		struct gossip_addr *a = adv ? &C.advertise : &C.bind;

		if (rtv_parse_ipport(v, &a->ip, &a->port)) {
			snprintf(why, whylen, "%s: IP:PORT, e.g. 10.0.0.1:7946", key);
			return -EINVAL;
		}
		C.advertise_set |= adv;
		return 0;
	}
	if (strcmp(key, "seeds") == 0)
		return parse_seeds(v, why, whylen);
	if (strcmp(key, "probe_interval") == 0)
		return duration(key, v, &g->probe_interval_ns, why, whylen);
	if (strcmp(key, "probe_timeout") == 0)
		return duration(key, v, &g->probe_timeout_ns, why, whylen);
	if (strcmp(key, "gossip_interval") == 0)
		return duration(key, v, &g->gossip_interval_ns, why, whylen);
	if (strcmp(key, "pushpull_interval") == 0)
		return duration(key, v, &g->pushpull_interval_ns, why, whylen);
	if (strcmp(key, "lifeguard") == 0) {
		if (strcmp(v, "yes") && strcmp(v, "no")) {
			snprintf(why, whylen, "lifeguard: yes or no");
			return -EINVAL;
		}
		g->lifeguard = v[0] == 'y';
		return 0;
	}
	return -ENOENT;
}

static int check_section(const struct agent_config *cfg, char *why, size_t whylen)
{
	char err[GOSSIP_ERRLEN];

	if (C.bind.port == 0) {
		snprintf(why, whylen, "[gossip] needs bind = IP:PORT (e.g. 10.0.0.1:7946)");
		return -EINVAL;
	}
	if (!C.advertise_set)
		C.advertise = C.bind;
	if (C.advertise.ip == 0) {
		snprintf(why, whylen, "[gossip] bind is 0.0.0.0: set advertise = IP:PORT, "
			 "the address other hosts reach");
		return -EINVAL;
	}
	snprintf(C.gcfg.name, sizeof(C.gcfg.name), "%s", cfg->name);
	C.gcfg.addr = C.advertise;
	if (gossip_config_check(&C.gcfg, err)) {
		snprintf(why, whylen, "[gossip] %s", err);
		return -EINVAL;
	}
	return 0;
}

static int gossip_config_done(const struct agent_config *cfg, char *why, size_t whylen)
{
	int rc = C.on ? check_section(cfg, why, whylen) : 0;

	if (rc == 0)
		A = C;
	memset(&C, 0, sizeof(C));
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Facts                                                                     */

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

static void refresh_facts(uv_timer_t *t)
{
	struct gmod *m = t->data;
	const struct agent_config *cfg = agent_core_config(m->d);
	struct gossip_facts f = { .uplink_bps = cfg->uplink_bps };

	f.cpu_ppm = cpu_ppm(m);
	mem_bytes(&f.mem_total_bytes, &f.mem_avail_bytes);
	snprintf(f.version, sizeof(f.version), "rtvd %s", RTVD_VERSION);
	if (gossip_set_facts(gossip_udp_gossip(m->udp), &f))
		rtv_warn(MOD, "facts refused (out of range): not spread this round");
}

/* ------------------------------------------------------------------------- */
/* Life cycle                                                                */

static void on_change(void *data, const struct gossip_member *gm, enum gossip_state old)
{
	(void)data;
	if (gm->state == GOSSIP_ALIVE && old == GOSSIP_DEAD)
		rtv_info(MOD, "member %s alive (incarnation %" PRIu32 ")", gm->name,
			 gm->incarnation);
	else
		rtv_info(MOD, "member %s %s -> %s (incarnation %" PRIu32 ")", gm->name,
			 gossip_state_name(old), gossip_state_name(gm->state), gm->incarnation);
}

static int gossip_start(struct rtvd *d, void **self)
{
	struct gossip_ops ops = { .on_change = on_change };
	struct gmod *m;
	char err[GOSSIP_ERRLEN];
	int rc;

	if (!A.on)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	rc = gossip_udp_new(agent_core_loop(d), &A.gcfg, &ops, &A.bind, &m->udp, err);
	if (rc) {
		rtv_error(MOD, "%s", err);
		free(m);
		return rc;
	}
	if (A.n_seeds && gossip_join(gossip_udp_gossip(m->udp), A.seeds, A.n_seeds))
		rtv_warn(MOD, "join: no seed reachable yet; asking again every 2 probe intervals");
	uv_timer_init(agent_core_loop(d), &m->facts_timer);
	m->facts_timer.data = m;
	refresh_facts(&m->facts_timer);
	uv_timer_start(&m->facts_timer, refresh_facts, FACTS_MS, FACTS_MS);
	rtv_info(MOD, "member %s on UDP %u.%u.%u.%u:%u, %zu seed(s)", A.gcfg.name,
		 A.advertise.ip >> 24, (A.advertise.ip >> 16) & 0xff, (A.advertise.ip >> 8) & 0xff,
		 A.advertise.ip & 0xff, A.advertise.port, A.n_seeds);
	*self = m;
	return 0;
}

static void gossip_close(void *self)
{
	struct gmod *m = self;

	uv_timer_stop(&m->facts_timer);
	uv_close((uv_handle_t *)&m->facts_timer, NULL);
	gossip_udp_close(m->udp);	/* frees itself once libuv closed it */
	m->udp = NULL;
}

static void gossip_free_mod(void *self)
{
	free(self);
}

/* ------------------------------------------------------------------------- */
/* Status                                                                    */

static size_t gossip_status_keys(void *self)
{
	return self ? 1 : 0;
}

static int pack_member(msgpack_packer *pk, const struct gossip_member *gm, uint64_t now)
{
	int rc = msgpack_pack_map(pk, 10);

	rc |= rtv_pk_kv_str(pk, "name", gm->name);
	rc |= rtv_pk_kv_str(pk, "state", gossip_state_name(gm->state));
	rc |= rtv_pk_kv_u64(pk, "incarnation", gm->incarnation);
	rc |= rtv_pk_kv_i64(pk, "last_heard_ms",
			    gm->last_heard_ns ? (int64_t)((now - gm->last_heard_ns) / 1000000) : -1);
	rc |= rtv_pk_kv_u64(pk, "state_for_ms", (now - gm->state_since_ns) / 1000000);
	rc |= rtv_pk_kv_u64(pk, "cpu_ppm", gm->facts.cpu_ppm);
	rc |= rtv_pk_kv_u64(pk, "mem_total_bytes", gm->facts.mem_total_bytes);
	rc |= rtv_pk_kv_u64(pk, "mem_avail_bytes", gm->facts.mem_avail_bytes);
	rc |= rtv_pk_kv_u64(pk, "uplink_bps", gm->facts.uplink_bps);
	rc |= rtv_pk_kv_str(pk, "version", gm->facts.version);
	return rc;
}

static int gossip_pack_status(void *self, msgpack_packer *pk)
{
	struct gmod *m = self;
	struct gossip *g = gossip_udp_gossip(m->udp);
	struct gossip_member gm;
	uint64_t now = uv_hrtime();
	int rc = rtv_pk_str(pk, "gossip") | msgpack_pack_map(pk, 2);

	rc |= rtv_pk_kv_u64(pk, "health", gossip_health(g));
	rc |= rtv_pk_str(pk, "members") | msgpack_pack_array(pk, gossip_count(g));
	for (size_t i = 0; i < gossip_count(g); i++)
		if (gossip_member_get(g, i, &gm) == 0)
			rc |= pack_member(pk, &gm, now);
	return rtv_mp_status(rc);
}

const struct agent_module agent_gossip_module = {
	.name = "gossip",
	.section = "gossip",
	.config_key = gossip_config_key,
	.config_done = gossip_config_done,
	.start = gossip_start,
	.status_keys = gossip_status_keys,
	.pack_status = gossip_pack_status,
	.close = gossip_close,
	.free = gossip_free_mod,
};
