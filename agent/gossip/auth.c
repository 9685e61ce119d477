/* auth.c — gossip's seal/open hooks over the rack keyring (auth.h).
 *
 * The replay table of pki_dgram is keyed by a 64-bit sender id; gossip
 * names its members, so the id is a hash of the name (FNV-1a). The name is
 * inside the bytes the MAC covers, so only a holder of the rack key can
 * choose it; two names of one rack colliding in 64 bits would only make
 * their datagrams share a replay window.
 */
#include "agent/gossip/auth.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct agent_gossip_auth {
	struct pki_dgram *d;
	uint64_t (*wall_ns)(void *arg);
	void *arg;
	struct pki_dgram_stats stats;
};

static uint64_t system_wall_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int agent_gossip_auth_new(struct pki_keyring *k, uint64_t self_id,
			  uint64_t (*wall_ns)(void *arg), void *arg,
			  struct agent_gossip_auth **out)
{
	struct agent_gossip_auth *a = calloc(1, sizeof(*a));
	int rc;

	if (!a) {
		pki_keyring_free(k);
		return -ENOMEM;
	}
	rc = pki_dgram_new(k, self_id, 0, &a->d);
	if (rc) {
		pki_keyring_free(k);
		free(a);
		return rc;
	}
	a->wall_ns = wall_ns ? wall_ns : system_wall_ns;
	a->arg = arg;
	*out = a;
	return 0;
}

void agent_gossip_auth_free(struct agent_gossip_auth *a)
{
	if (!a)
		return;
	pki_dgram_free(a->d);
	free(a);
}

static uint64_t name_id(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

static uint32_t hook_seal_key(void *data)
{
	struct agent_gossip_auth *a = data;

	return pki_keyring_primary(pki_dgram_keyring(a->d));
}

static int hook_seal(void *data, uint32_t key_id, const void *msg, size_t len, uint8_t *mac,
		     size_t *mac_len)
{
	struct agent_gossip_auth *a = data;

	if (*mac_len < PKI_MAC_BYTES)
		return -ENOSPC;
	*mac_len = PKI_MAC_BYTES;
	return pki_keyring_mac(pki_dgram_keyring(a->d), key_id, msg, len, mac);
}

/* The MAC first: nothing unauthenticated reaches the replay table. */
static int hook_open(void *data, const char *sender, uint32_t key_id, uint64_t seq,
		     const void *msg, size_t len, const uint8_t *mac, size_t mac_len)
{
	struct agent_gossip_auth *a = data;
	int rc = pki_keyring_mac_verify(pki_dgram_keyring(a->d), key_id, msg, len, mac, mac_len);

	if (rc == -EKEYREJECTED)
		a->stats.unknown_key++;
	else if (rc)
		a->stats.bad_tag++;
	else if ((rc = pki_dgram_accept(a->d, name_id(sender), seq, a->wall_ns(a->arg))) == 0)
		a->stats.opened++;
	return rc;
}

static uint64_t hook_wall_ns(void *data)
{
	struct agent_gossip_auth *a = data;

	return a->wall_ns(a->arg);
}

void agent_gossip_auth_ops(struct agent_gossip_auth *a, struct gossip_ops *ops)
{
	ops->auth_data = a;
	ops->seal_key = hook_seal_key;
	ops->seal = hook_seal;
	ops->open = hook_open;
	ops->wall_ns = hook_wall_ns;
}

void agent_gossip_auth_set_keyring(struct agent_gossip_auth *a, struct pki_keyring *k)
{
	pki_dgram_set_keyring(a->d, k);
}

const struct pki_dgram_stats *agent_gossip_auth_stats(const struct agent_gossip_auth *a)
{
	const struct pki_dgram_stats *p = pki_dgram_stats(a->d);
	struct agent_gossip_auth *w = (struct agent_gossip_auth *)a;

	w->stats.stale = p->stale;	/* counted by pki_dgram_accept */
	w->stats.replayed = p->replayed;
	return &a->stats;
}
