/* gossip.h — rack membership by gossip: SWIM with Lifeguard, host facts
 * piggybacked, over an injected transport.
 *
 * Every host runs one `struct gossip`. It probes one member per probe
 * interval (direct ping, then ping-req through k others), suspects what does
 * not answer, and declares it dead when the suspicion is not refuted within
 * a timeout; updates spread by piggybacking on probes and by a gossip round
 * to a few random members, each retransmitted a bounded number of times;
 * a periodic full-state push-pull repairs what gossip missed (partitions).
 * Lifeguard (Dadgar et al., 2018) adds a local health multiplier (a host
 * that misses acks and nacks slows its own probes and verdicts), nacks from
 * the ping-req helpers, and a suspicion timeout that starts long and
 * shrinks as independent members confirm it. docs/gossip.md has the
 * protocol, the parameters and the wire format.
 *
 * Nothing here touches a clock, a random source or a socket: `struct
 * gossip_ops` supplies them, so a simulation drives any number of members in
 * one process (bench/gossip_sim.c) and gossip_udp_* wires one to libuv.
 * Single-threaded: every call on one `struct gossip` comes from one thread.
 *
 * Names identify members (the host name, as in the rack's config); an
 * address is IPv4 plus a UDP port, both in host byte order.
 */
#ifndef RTV_GOSSIP_H
#define RTV_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_NAME_MAX 64	/* bytes with the NUL: names are 1..63 printable ASCII */
#define GOSSIP_VERSION_MAX 32	/* agent version string, with the NUL */
#define GOSSIP_MAC_MAX 64	/* bytes of MAC an envelope may carry */
#define GOSSIP_ERRLEN 160

struct gossip;

struct gossip_addr {
	uint32_t ip;		/* IPv4, host byte order */
	uint16_t port;
};

/* What a host says about itself; the agent fills it, gossip carries it
 * without interpreting it (beyond range checks on receipt). */
struct gossip_facts {
	uint64_t uplink_bps;		/* uplink capacity */
	uint32_t uplink_util_ppm;	/* share of uplink_bps in use, last interval */
	uint64_t rt_reserved_bps;	/* bandwidth reserved by admitted rtpaths */
	uint32_t cpu_ppm;		/* busy share of all CPUs, last interval */
	uint64_t mem_total_bytes;
	uint64_t mem_avail_bytes;
	uint32_t vm_count;
	uint64_t dp_miss_count;		/* deadline misses the dataplane counted, total */
	char version[GOSSIP_VERSION_MAX];	/* printable ASCII, may be empty */
};

enum gossip_state {
	GOSSIP_ALIVE,
	GOSSIP_SUSPECT,
	GOSSIP_DEAD,
	GOSSIP_LEFT,		/* said goodbye (gossip_leave) */
};

/* One member as this host sees it (a copy; see gossip_member_get). */
struct gossip_member {
	char name[GOSSIP_NAME_MAX];
	struct gossip_addr addr;
	enum gossip_state state;
	uint32_t incarnation;
	uint64_t state_since_ns;	/* local clock: when it entered `state` */
	uint64_t last_heard_ns;		/* local clock: last datagram from it; 0 never */
	uint32_t confirmations;		/* independent suspicions beyond the first */
	uint64_t facts_seq;		/* 0: no facts heard yet */
	struct gossip_facts facts;
};

struct gossip_config {
	char name[GOSSIP_NAME_MAX];	/* this host's name (required) */
	struct gossip_addr addr;	/* where others reach it (required) */
	uint64_t probe_interval_ns;	/* 1 s */
	uint64_t probe_timeout_ns;	/* 500 ms: direct ack wait, then ping-req */
	uint64_t gossip_interval_ns;	/* 200 ms */
	uint64_t pushpull_interval_ns;	/* 30 s (scaled up above 32 members) */
	uint64_t dead_reap_ns;		/* forget dead/left members after: 24 h */
	unsigned indirect_k;		/* 3 ping-req helpers */
	unsigned gossip_fanout;		/* 3 members per gossip round */
	unsigned retransmit_mult;	/* 4: each update sent mult*ceil(log10(n+1)) times */
	unsigned suspicion_mult;	/* 4: min timeout = mult*max(1,log10 n)*probe interval */
	unsigned suspicion_max_mult;	/* 6: max timeout = this * min timeout */
	unsigned lhm_max;		/* 8: local health multiplier saturates here */
	size_t mtu_bytes;		/* 1400: largest datagram sent */
	bool lifeguard;			/* true; false = plain SWIM (benchmarks compare) */
	bool piggyback;			/* true; false = updates spread by push-pull only */
};

/* The environment. now_ns and random are required; send is required for
 * anything to leave. seal_key/seal/open are the authentication hook (the
 * rack key's datagram seal): all NULL = unauthenticated (key id 0, empty
 * MAC), and then a datagram carrying a key id other than 0 is refused.
 * With open set, every datagram must pass it before anything in it is used,
 * and one with key id 0 is refused. seal_key, seal, open and wall_ns get
 * auth_data (NULL: data), so an authenticator plugs in without wrappers. */
struct gossip_ops {
	void *data;
	void *auth_data;
	uint64_t (*now_ns)(void *data);		/* monotonic */
	uint64_t (*random)(void *data);		/* uniform 64 bits */
	/* Sends one datagram; 0 or -errno (counted, never retried). buf is
	 * valid during the call only; must not call back into this object. */
	int (*send)(void *data, const struct gossip_addr *to, const void *buf, size_t len);
	/* The key the next datagram is sealed with (not 0); the envelope
	 * carries it inside the bytes the MAC covers. */
	uint32_t (*seal_key)(void *data);
	/* Computes the MAC of msg[0..len) (the envelope up to its MAC field)
	 * with key_id into mac (*mac_len: capacity in, bytes out). */
	int (*seal)(void *data, uint32_t key_id, const void *msg, size_t len, uint8_t *mac,
		    size_t *mac_len);
	/* Checks a datagram's MAC and its (sender, seq) against replay;
	 * 0 = accept, -errno = drop. */
	int (*open)(void *data, const char *sender, uint32_t key_id, uint64_t seq,
		    const void *msg, size_t len, const uint8_t *mac, size_t mac_len);
	/* Optional: the wall clock (ns). With it the envelope's seq is
	 * max(previous seq + 1, wall_ns()), so a receiver can bound a
	 * datagram's age as well as refuse replays (pki_dgram_accept); without
	 * it seq counts from 1. */
	uint64_t (*wall_ns)(void *data);
	/* Optional: a member changed state (m->state is new) or appeared
	 * (then old is GOSSIP_DEAD: it was not there). */
	void (*on_change)(void *data, const struct gossip_member *m, enum gossip_state old);
};

/* Counters, all since gossip_new. */
struct gossip_stats {
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_bad;		/* refused by the decoder */
	uint64_t rx_unauth;		/* refused by open, or key id without open */
	uint64_t probes, probe_failures, indirect_probes;
	uint64_t suspicions;		/* members this host started suspecting */
	uint64_t refutations;		/* suspicions of this host it refuted */
	uint64_t deaths;		/* members it marked dead */
	uint64_t pushpulls;
};

void gossip_config_default(struct gossip_config *cfg);

/* Checks cfg (name, address, ranges); 0 or -EINVAL with a sentence in err. */
int gossip_config_check(const struct gossip_config *cfg, char err[GOSSIP_ERRLEN]);

/* Creates a member list holding only this host (alive, incarnation 0).
 * cfg and ops are copied; ops->data must outlive the object. Returns 0 with
 * *out set, -EINVAL (bad config, message in err) or -ENOMEM. */
int gossip_new(const struct gossip_config *cfg, const struct gossip_ops *ops,
	       struct gossip **out, char err[GOSSIP_ERRLEN]);
void gossip_free(struct gossip *g);	/* NULL is a no-op */

/* Asks each address (up to 16; this host's own is skipped) for its full
 * state (push-pull) and announces this host; asks again every two probe
 * intervals until one of them answers. Returns 0 if at least
 * one request left, -EHOSTUNREACH if none did (retried all the same), or
 * -EINVAL (no address but our own). Joining completes as answers arrive. */
int gossip_join(struct gossip *g, const struct gossip_addr *seeds, size_t n);

/* Announces a graceful departure; after it the object only answers probes. */
void gossip_leave(struct gossip *g);

/* Replaces this host's facts; when they differ, they spread. Refuses
 * (-EINVAL) out-of-range ppm values or an unprintable version. */
int gossip_set_facts(struct gossip *g, const struct gossip_facts *f);

/* Hands one received datagram over (from: its source). Bad or
 * unauthenticated input is counted and dropped: state is untouched.
 * Returns 0, or the negative errno of the refusal (for tests and logs). */
int gossip_recv(struct gossip *g, const struct gossip_addr *from, const void *buf,
		size_t len);

/* Runs every timer that is due at ops->now_ns() and returns the time at
 * which it must be called again (the caller arms one timer for it). */
uint64_t gossip_tick(struct gossip *g);

/* The view. Members are numbered 0..gossip_count()-1 (this host included)
 * until the next call that may change the list (recv, tick, join). */
size_t gossip_count(const struct gossip *g);
int gossip_member_get(const struct gossip *g, size_t i, struct gossip_member *out);
/* By name: 0, or -ENOENT. */
int gossip_member_find(const struct gossip *g, const char *name, struct gossip_member *out);
/* Number of members in `state`. */
size_t gossip_count_state(const struct gossip *g, enum gossip_state state);

/* Lifeguard's local health multiplier: 0 healthy .. cfg.lhm_max. */
unsigned gossip_health(const struct gossip *g);
void gossip_stats_get(const struct gossip *g, struct gossip_stats *out);

const char *gossip_state_name(enum gossip_state s);

/* Why the last refused datagram was refused (empty if none was). */
const char *gossip_last_error(const struct gossip *g);

/* --- libuv UDP backend (gossip/udp.c) -------------------------------------
 * Binds a UDP socket at `bind` on the loop, feeds datagrams to gossip_recv
 * and runs gossip_tick on a timer; now_ns, random and send are its own.
 * From auth_ops (may be NULL) it takes seal_key/seal/open/wall_ns with
 * auth_data (NULL: data), and on_change with data; without wall_ns and
 * with seal, the wall clock is CLOCK_REALTIME. cfg->addr is what other
 * members are told; port 0 there means the port the socket got (for an
 * ephemeral bind). Returns 0 or a negative
 * errno with a sentence in err (bind failure, bad config). */
struct uv_loop_s;
struct gossip_udp;

int gossip_udp_new(struct uv_loop_s *loop, const struct gossip_config *cfg,
		   const struct gossip_ops *auth_ops, const struct gossip_addr *bind,
		   struct gossip_udp **out, char err[GOSSIP_ERRLEN]);
struct gossip *gossip_udp_gossip(struct gossip_udp *u);
/* Stops the socket and timer; the object is freed once libuv has closed
 * both (the loop must run on). NULL is a no-op. */
void gossip_udp_close(struct gossip_udp *u);

#endif /* RTV_GOSSIP_H */
