/* gossip.c — the gossip module: configuration, start, status.
 *
 * The member list itself is gossip/ (docs/gossip.md); this file puts it on
 * rtvd's loop (gossip/udp.c), seals it with the rack key when [tls]
 * rack_keys is set (auth.c; the keyring file is read again when it
 * changes, for rotation), joins the configured seeds, refreshes this
 * host's facts every GMOD_FACTS_MS (facts.c), runs the autopilot
 * (autopilot.c), logs every state change, and adds the view to the
 * `status` reply as "gossip".
 */
#include "agent/gossip/gossip.h"
#include "agent/gossip/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mpack.h"
#include "common/units.h"
#include "gossip/gossip.h"

#define MOD GMOD

struct gmod_config {
	bool on;
	struct gossip_addr bind, advertise;
	bool advertise_set;
	struct gossip_addr seeds[16];
	size_t n_seeds;
	struct gossip_config gcfg;
	struct gmod_autopilot_config ap;
};

/* C: what the file being parsed says so far; A: the last file that passed
 * config_done, which start uses. C starts empty for every file. */
static struct gmod_config C, A;


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

	int rc;

	if (!C.on) {
		gossip_config_default(g);
		C.ap.dead_after_ns = 10000000000ull;
	}
	C.on = true;
	if ((rc = gmod_autopilot_key(&C.ap, key, v, why, whylen)) != -ENOENT)
		return rc;
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
/* Life cycle                                                                */

struct gossip *gmod_gossip(struct gmod *m)
{
	return gossip_udp_gossip(m->udp);
}

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

/* [tls] rack_keys: every datagram sealed, unsealed and forged ones refused
 * (auth.h). Without it gossip runs unauthenticated and says so. */
static int auth_open(struct gmod *m, struct gossip_ops *ops)
{
	const struct agent_config *cfg = agent_core_config(m->d);
	struct pki_keyring *k;
	char err[PKI_ERRLEN];
	int rc;

	if (!cfg->tls_rack_keys[0]) {
		rtv_warn(MOD, "INSECURE: gossip travels unsealed (no [tls] rack_keys): any host "
			 "that reaches the UDP port can join and declare members dead");
		return 0;
	}
	snprintf(m->keys_path, sizeof(m->keys_path), "%s", cfg->tls_rack_keys);
	if (stat(m->keys_path, &m->keys_st) != 0) {
		rtv_error(MOD, "[tls] rack_keys %s: %s", m->keys_path, strerror(errno));
		return -errno;
	}
	if ((rc = pki_keyring_load(m->keys_path, &k, err)) < 0) {
		rtv_error(MOD, "[tls] rack_keys %s: %s", m->keys_path, err);
		return rc;
	}
	rc = agent_gossip_auth_new(k, cfg->id, NULL, NULL, &m->auth);
	if (rc < 0) {
		rtv_error(MOD, "[tls] rack_keys: node id %llu cannot seal (ids up to 2^32-1)",
			  (unsigned long long)cfg->id);
		return rc;
	}
	agent_gossip_auth_ops(m->auth, ops);
	rtv_info(MOD, "gossip sealed with rack key %u (%s)", pki_keyring_primary(k),
		 m->keys_path);
	return 0;
}

/* Rotation: the keyring file changed (pki/rtv-pki.sh rotate): load it
 * again; a file that does not load leaves the keys in force. */
static void auth_reload(struct gmod *m)
{
	struct pki_keyring *k;
	struct stat st;
	char err[PKI_ERRLEN];

	if (!m->auth || stat(m->keys_path, &st) != 0)
		return;
	if (st.st_mtim.tv_sec == m->keys_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == m->keys_st.st_mtim.tv_nsec && st.st_size == m->keys_st.st_size &&
	    st.st_ino == m->keys_st.st_ino)
		return;
	m->keys_st = st;
	if (pki_keyring_load(m->keys_path, &k, err) < 0) {
		rtv_error(MOD, "[tls] rack_keys %s changed but does not load (%s): keeping the "
			  "keys in force", m->keys_path, err);
		return;
	}
	rtv_info(MOD, "rack keys reloaded from %s: sealing with key %u", m->keys_path,
		 pki_keyring_primary(k));
	agent_gossip_auth_set_keyring(m->auth, k);
	m->key_reloads++;
}

static void on_facts_timer(uv_timer_t *t)
{
	struct gmod *m = t->data;

	auth_reload(m);
	gmod_facts_refresh(m);
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
	rc = auth_open(m, &ops);	/* logs its own refusals */
	if (rc == 0 &&
	    (rc = gossip_udp_new(agent_core_loop(d), &A.gcfg, &ops, &A.bind, &m->udp, err)))
		rtv_error(MOD, "%s", err);
	if (rc) {
		agent_gossip_auth_free(m->auth);
		free(m);
		return rc;
	}
	if (A.n_seeds && gossip_join(gossip_udp_gossip(m->udp), A.seeds, A.n_seeds))
		rtv_warn(MOD, "join: no seed reachable yet; asking again every 2 probe intervals");
	uv_timer_init(agent_core_loop(d), &m->facts_timer);
	m->facts_timer.data = m;
	gmod_facts_refresh(m);
	uv_timer_start(&m->facts_timer, on_facts_timer, GMOD_FACTS_MS, GMOD_FACTS_MS);
	gmod_autopilot_start(m, &A.ap);
	rtv_info(MOD, "member %s on UDP %u.%u.%u.%u:%u, %zu seed(s)", A.gcfg.name,
		 A.advertise.ip >> 24, (A.advertise.ip >> 16) & 0xff, (A.advertise.ip >> 8) & 0xff,
		 A.advertise.ip & 0xff, A.advertise.port, A.n_seeds);
	*self = m;
	return 0;
}

static void gossip_close(void *self)
{
	struct gmod *m = self;

	gmod_autopilot_close(m);
	uv_timer_stop(&m->facts_timer);
	uv_close((uv_handle_t *)&m->facts_timer, NULL);
	gossip_udp_close(m->udp);	/* frees itself once libuv closed it */
	m->udp = NULL;
}

static void gossip_free_mod(void *self)
{
	struct gmod *m = self;

	agent_gossip_auth_free(m->auth);	/* after the loop: no datagram left */
	free(m);
}

/* ------------------------------------------------------------------------- */
/* Status                                                                    */

static size_t gossip_status_keys(void *self)
{
	return self ? 1 : 0;
}

/* Raft's view of the member called `name`: its server id (0: no host
 * record of that name), "voter", "standby" or "none" (not in the
 * configuration), and on the leader whether raft heard from it in the
 * last round ("yes"/"no"; elsewhere "unknown"). */
static int pack_raft(struct gmod *m, msgpack_packer *pk, const char *name,
		     const struct cons_node_status *st)
{
	const struct cons_state *s = agent_core_state(m->d);
	const char *role = "none", *contact = "unknown";
	uint64_t id = 0;
	int rc;

	for (size_t i = 0; i < cons_state_n_hosts(s); i++)
		if (strcmp(cons_state_host_at(s, i)->name, name) == 0)
			id = cons_state_host_at(s, i)->id;
	for (size_t i = 0; id && i < st->n_peers; i++) {
		if (st->peers[i].id != id)
			continue;
		role = st->peers[i].voter ? "voter" : st->peers[i].standby ? "standby" : "spare";
		if (st->role == CONS_ROLE_LEADER)
			contact = id == st->id || st->peers[i].recent_contact ? "yes" : "no";
	}
	rc = rtv_pk_kv_u64(pk, "raft_id", id);
	rc |= rtv_pk_kv_str(pk, "raft_role", role);
	rc |= rtv_pk_kv_str(pk, "raft_contact", contact);
	return rc;
}

static int pack_member(struct gmod *m, msgpack_packer *pk, const struct gossip_member *gm,
		       const struct cons_node_status *st, uint64_t now)
{
	const struct gossip_facts *f = &gm->facts;
	char addr[24];
	int rc = msgpack_pack_map(pk, 19);

	rc |= rtv_pk_kv_str(pk, "name", gm->name);
	rc |= rtv_pk_kv_str(pk, "state", gossip_state_name(gm->state));
	rc |= rtv_pk_kv_u64(pk, "incarnation", gm->incarnation);
	rc |= rtv_pk_kv_i64(pk, "last_heard_ms",
			    gm->last_heard_ns ? (int64_t)((now - gm->last_heard_ns) / 1000000) : -1);
	rc |= rtv_pk_kv_u64(pk, "state_for_ms", (now - gm->state_since_ns) / 1000000);
	rc |= rtv_pk_kv_u64(pk, "facts_seq", gm->facts_seq);
	rc |= rtv_pk_kv_u64(pk, "cpu_ppm", f->cpu_ppm);
	rc |= rtv_pk_kv_u64(pk, "mem_total_bytes", f->mem_total_bytes);
	rc |= rtv_pk_kv_u64(pk, "mem_avail_bytes", f->mem_avail_bytes);
	rc |= rtv_pk_kv_u64(pk, "uplink_bps", f->uplink_bps);
	rc |= rtv_pk_kv_u64(pk, "uplink_util_ppm", f->uplink_util_ppm);
	rc |= rtv_pk_kv_u64(pk, "rt_reserved_bps", f->rt_reserved_bps);
	rc |= rtv_pk_kv_u64(pk, "vm_count", f->vm_count);
	rc |= rtv_pk_kv_u64(pk, "dp_miss_count", f->dp_miss_count);
	snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u", gm->addr.ip >> 24,
		 (gm->addr.ip >> 16) & 0xff, (gm->addr.ip >> 8) & 0xff, gm->addr.ip & 0xff,
		 gm->addr.port);
	rc |= rtv_pk_kv_str(pk, "addr", addr);
	rc |= rtv_pk_kv_str(pk, "version", f->version);
	return rc | pack_raft(m, pk, gm->name, st);
}

static int gossip_pack_status(void *self, msgpack_packer *pk)
{
	struct gmod *m = self;
	struct gossip *g = gossip_udp_gossip(m->udp);
	struct cons_node_status *ns = malloc(sizeof(*ns));	/* 6 kB: not on the stack */
	struct gossip_stats st;
	struct gossip_member gm;
	uint64_t now = uv_hrtime();
	int rc = rtv_pk_str(pk, "gossip") | msgpack_pack_map(pk, 9);

	if (!ns)
		return -ENOMEM;
	cons_node_status(agent_core_node(m->d), ns);
	gossip_stats_get(g, &st);
	rc |= rtv_pk_kv_u64(pk, "health", gossip_health(g));
	rc |= rtv_pk_kv_str(pk, "sealed", m->auth ? "yes" : "no");
	rc |= rtv_pk_kv_u64(pk, "rx_refused", st.rx_bad + st.rx_unauth);
	rc |= rtv_pk_kv_u64(pk, "suspicions", st.suspicions);
	rc |= rtv_pk_kv_u64(pk, "refutations", st.refutations);
	rc |= rtv_pk_kv_u64(pk, "deaths", st.deaths);
	rc |= rtv_pk_kv_str(pk, "autopilot", m->ap.cfg.on ? "on" : "off");
	rc |= rtv_pk_kv_u64(pk, "autopilot_replacements", m->ap.replacements);
	rc |= rtv_pk_str(pk, "members") | msgpack_pack_array(pk, gossip_count(g));
	for (size_t i = 0; i < gossip_count(g); i++)
		if (gossip_member_get(g, i, &gm) == 0)
			rc |= pack_member(m, pk, &gm, ns, now);
	free(ns);
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
	.iface = gmod_iface,
	.close = gossip_close,
	.free = gossip_free_mod,
};
