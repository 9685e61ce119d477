/* internal.h — what gossip/'s files share; not part of the module's API. */
#ifndef RTV_GOSSIP_INTERNAL_H
#define RTV_GOSSIP_INTERNAL_H

#include "gossip/gossip.h"

#include <msgpack.h>

#define GOSSIP__WIRE_VERSION 1
#define GOSSIP__MSGS_MAX 64	/* messages in one datagram */
#define GOSSIP__STATES_MAX 64	/* member states in one push-pull datagram */
#define GOSSIP__CONFIRM_MAX 8	/* suspicion confirmations counted */
#define GOSSIP__RELAYS 64	/* ping-req relays in flight */
#define GOSSIP__BCAST_MAX 8192	/* queued updates; the most-sent beyond are dropped */
#define GOSSIP__SEEDS_MAX 16	/* join addresses kept for retries */
#define GOSSIP__ENVELOPE_MAX 160 /* envelope bytes around the body, MAC included */

enum gossip__type {
	GOSSIP__PING = 1,
	GOSSIP__ACK,
	GOSSIP__NACK,
	GOSSIP__PINGREQ,
	GOSSIP__ALIVE,
	GOSSIP__SUSPECT,
	GOSSIP__DEAD,
	GOSSIP__FACTS,
	GOSSIP__PUSHPULL,
	GOSSIP__TYPE_END,
};

#define GOSSIP__PP_REPLY 0x1	/* push-pull: answer with your state */

/* One member's state as push-pull carries it. */
struct gossip__state {
	char name[GOSSIP_NAME_MAX];
	struct gossip_addr addr;
	uint32_t inc;
	uint8_t state;			/* enum gossip_state */
	uint64_t facts_seq;		/* 0: no facts */
	struct gossip_facts facts;
};

/* One decoded message; which fields mean something depends on type. */
struct gossip__msg {
	uint8_t type;
	uint32_t seq;			/* PING ACK NACK PINGREQ */
	char name[GOSSIP_NAME_MAX];	/* target (PING PINGREQ) or subject */
	char from[GOSSIP_NAME_MAX];	/* SUSPECT DEAD: who says so */
	uint32_t inc;			/* ALIVE SUSPECT DEAD */
	struct gossip_addr addr;	/* PINGREQ target, ALIVE */
	bool nack;			/* PINGREQ: send a nack if no ack */
	uint64_t facts_seq;		/* FACTS */
	struct gossip_facts facts;	/* FACTS */
	uint8_t flags;			/* PUSHPULL */
	size_t first_state, n_states;	/* PUSHPULL: range of packet.states */
};

/* A decoded datagram. Large: lives in struct gossip, reused. */
struct gossip__packet {
	uint32_t version, key_id;
	uint64_t seq;
	char sender[GOSSIP_NAME_MAX];
	size_t n_msgs, n_states;
	struct gossip__msg msgs[GOSSIP__MSGS_MAX];
	struct gossip__state states[GOSSIP__STATES_MAX];
	/* where the MAC sits, for ops->open */
	size_t signed_len;
	const uint8_t *mac;
	size_t mac_len;
};

struct gossip__member {
	struct gossip_member pub;
	uint64_t suspect_start_ns, suspect_deadline_ns;
	uint64_t confirm_hash[GOSSIP__CONFIRM_MAX];	/* who suspected it */
	unsigned n_confirm;
};

struct gossip__bcast {
	char name[GOSSIP_NAME_MAX];	/* the member it is about */
	bool facts;			/* facts vs membership: replace separately */
	bool sel;			/* picked for the datagram being built */
	unsigned transmits;
	size_t len;
	uint8_t *buf;			/* one encoded message */
};

struct gossip__relay {
	bool used, acked, nack;
	uint32_t seq, orig_seq;
	struct gossip_addr requester;
	uint64_t nack_at_ns;
};

struct gossip {
	struct gossip_config cfg;
	struct gossip_ops ops;
	struct gossip_stats stats;
	bool leaving;

	/* members: an array, index 0 is this host, and a name hash */
	struct gossip__member *m;
	size_t n, cap;
	uint32_t *hash;			/* open addressing: index+1, 0 = empty */
	size_t hash_cap;
	size_t *order;			/* probe order: a shuffled permutation */
	size_t n_order, probe_pos;

	/* the probe in flight */
	bool probing, acked, indirect_sent;
	uint32_t probe_seq;
	char probe_target[GOSSIP_NAME_MAX];
	uint64_t probe_indirect_ns, probe_end_ns;
	unsigned nacks_expected, nacks_got;
	unsigned lhm;

	struct gossip__relay relays[GOSSIP__RELAYS];
	uint32_t next_seq;
	uint64_t env_seq;		/* envelope sequence (replay protection) */

	struct gossip__bcast *bc;
	size_t n_bc, cap_bc;

	uint64_t next_probe_ns, next_gossip_ns, next_pushpull_ns, next_reap_ns;

	/* seeds of the last join, asked again while we know nobody alive */
	struct gossip_addr seeds[GOSSIP__SEEDS_MAX];
	size_t n_seeds;
	bool joined;			/* a seed answered */
	uint64_t next_rejoin_ns;

	struct gossip__packet pkt;	/* decode scratch */
	uint8_t *out;			/* datagram scratch, cfg.mtu_bytes */
	uint8_t *body;			/* body scratch, cfg.mtu_bytes */
	char err[GOSSIP_ERRLEN];
};

/* wire.c */
int gossip__decode(const void *buf, size_t len, struct gossip__packet *pkt,
		   char err[GOSSIP_ERRLEN]);
/* Encoders of one message into pk (a msgpack_packer on an sbuffer). */
int gossip__pk_ping(msgpack_packer *pk, uint8_t type, uint32_t seq, const char *target);
int gossip__pk_ack(msgpack_packer *pk, uint8_t type, uint32_t seq);
int gossip__pk_pingreq(msgpack_packer *pk, uint32_t seq, const char *target,
		       const struct gossip_addr *addr, bool nack);
int gossip__pk_alive(msgpack_packer *pk, const char *name, uint32_t inc,
		     const struct gossip_addr *addr);
int gossip__pk_accuse(msgpack_packer *pk, uint8_t type, const char *name, uint32_t inc,
		      const char *from);
int gossip__pk_facts(msgpack_packer *pk, const char *name, uint64_t seq,
		     const struct gossip_facts *f);
int gossip__pk_state(msgpack_packer *pk, const struct gossip_member *m);
/* Wraps body[0..body_len) in an envelope into out (cap bytes), sealing it
 * through ops->seal when set. Returns the datagram's length or -errno. */
int gossip__envelope(struct gossip *g, const void *body, size_t body_len, uint8_t *out,
		     size_t cap);
bool gossip__name_ok(const char *s, size_t len);
int gossip__facts_check(const struct gossip_facts *f);

/* member.c */
struct gossip__member *gossip__find(const struct gossip *g, const char *name);
struct gossip__member *gossip__add(struct gossip *g, const char *name,
				   const struct gossip_addr *addr, uint32_t inc);
void gossip__reap(struct gossip *g, uint64_t now);
void gossip__set_state(struct gossip *g, struct gossip__member *m, enum gossip_state s,
		       uint32_t inc, uint64_t now);
uint64_t gossip__name_hash(const char *name);
void gossip__on_alive(struct gossip *g, const struct gossip__msg *msg, uint64_t now);
void gossip__on_suspect(struct gossip *g, const struct gossip__msg *msg, uint64_t now);
void gossip__on_dead(struct gossip *g, const struct gossip__msg *msg, uint64_t now);
void gossip__on_facts(struct gossip *g, const struct gossip__msg *msg);
void gossip__merge_state(struct gossip *g, const struct gossip__state *st,
			 const char *sender, uint64_t now);
uint64_t gossip__suspicion_check(struct gossip *g, uint64_t now);
void gossip__refute(struct gossip *g, uint32_t accused_inc);

/* probe.c */
uint64_t gossip__probe_tick(struct gossip *g, uint64_t now);
void gossip__on_ping(struct gossip *g, const struct gossip_addr *from,
		     const struct gossip__msg *msg);
void gossip__on_pingreq(struct gossip *g, const struct gossip_addr *from,
			const struct gossip__msg *msg, uint64_t now);
void gossip__on_ack(struct gossip *g, const struct gossip__msg *msg, bool nack);
void gossip__lhm_add(struct gossip *g, int delta);
uint64_t gossip__scaled(const struct gossip *g, uint64_t ns);
size_t gossip__pick(struct gossip *g, size_t *out, size_t k, const char *exclude,
		    bool suspects);

/* bcast.c */
void gossip__bcast_alive(struct gossip *g, const struct gossip__member *m);
void gossip__bcast_accuse(struct gossip *g, uint8_t type, const struct gossip__member *m,
			  const char *from);
void gossip__bcast_facts(struct gossip *g, const struct gossip__member *m);
/* Sends n_msgs encoded messages (msgs[0..len), may be none) to `to`,
 * with as many queued updates piggybacked as fit (none when piggyback is
 * off in the config). Sends nothing if that leaves the body empty. */
int gossip__send_with(struct gossip *g, const struct gossip_addr *to, const void *msgs,
		      size_t len, unsigned n_msgs);
void gossip__gossip_round(struct gossip *g);
void gossip__bcast_free(struct gossip *g);

/* gossip.c */
int gossip__send_raw(struct gossip *g, const struct gossip_addr *to, const void *body,
		     size_t body_len);
/* A msgpack_packer writing into a fixed buffer (wire.c); refuses what does
 * not fit. */
struct gossip__fixbuf {
	uint8_t *p;
	size_t len, cap;
};
void gossip__fixbuf_init(struct gossip__fixbuf *fb, msgpack_packer *pk, uint8_t *p, size_t cap);
void gossip__pushpull(struct gossip *g, const struct gossip_addr *to, uint8_t flags);

#endif /* RTV_GOSSIP_INTERNAL_H */
