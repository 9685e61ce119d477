/* auth.h — gossip sealed with the rack key: the seal/open hooks of struct
 * gossip_ops (gossip/gossip.h) over pki/'s keyring and replay window.
 *
 * Each datagram's envelope (sender name, key id, seq, body) carries an
 * HMAC-SHA256 under the rack key named by its key id (pki_keyring_mac); seq
 * is the sender's wall clock in ns, strictly increasing, and
 * pki_dgram_accept refuses a (sender, seq) seen before or outside the time
 * window (30 s). The first key of the keyring seals, every key opens, so
 * a key is rotated in three steps with no datagram refused: add the new key
 * second on every host, then make it first on every host, then remove the
 * old one (agent_gossip_auth_set_keyring on a running host). The body is
 * authenticated, not encrypted: facts are load figures, not secrets.
 *
 * Single-threaded, like the gossip object it serves.
 */
#ifndef RTV_AGENT_GOSSIP_AUTH_H
#define RTV_AGENT_GOSSIP_AUTH_H

#include <stdint.h>

#include "gossip/gossip.h"
#include "pki/pki.h"

struct agent_gossip_auth;

/* Takes the keyring (freed with the object, also on failure). self_id:
 * this host's node id, 1..2^32-1. wall_ns: CLOCK_REALTIME in ns (NULL:
 * the system's; tests inject a simulated one). 0, -EINVAL, -ENOMEM. */
int agent_gossip_auth_new(struct pki_keyring *k, uint64_t self_id,
			  uint64_t (*wall_ns)(void *arg), void *arg,
			  struct agent_gossip_auth **out);
void agent_gossip_auth_free(struct agent_gossip_auth *a);	/* NULL is a no-op */

/* Fills ops->auth_data, seal_key, seal, open and wall_ns (the rest
 * untouched). */
void agent_gossip_auth_ops(struct agent_gossip_auth *a, struct gossip_ops *ops);

/* Rotation: replaces the keyring (taken); replay state is kept. */
void agent_gossip_auth_set_keyring(struct agent_gossip_auth *a, struct pki_keyring *k);

/* Why datagrams were refused: unknown key, bad MAC (bad_tag), outside the
 * window (stale), replayed. */
const struct pki_dgram_stats *agent_gossip_auth_stats(const struct agent_gossip_auth *a);

#endif /* RTV_AGENT_GOSSIP_AUTH_H */
