/* pki.h — the rack's trust: certificates from the rack CA, TLS sessions that
 * any event loop can drive, and sealed datagrams under a shared rack key.
 *
 * A leaf module (it depends on common/ only) over mbedTLS 2.28, the TLS
 * library Debian's nng is built with, so one TLS library serves the whole
 * process (nng's tls+tcp:// for the RPC, this module for Raft and datagrams).
 *
 * Names. Every certificate is issued by the rack CA (pki/rtv-pki.sh) and
 * names its holder in its subject CN and a DNS subjectAltName:
 *   rtvd-host-<id>      the agent of the host whose Raft server id is <id>
 *   rtvctl-admin-<who>  a remote operator that may change the rack
 *   rtvctl-read-<who>   a remote operator that may only read
 * A peer is trusted when its certificate chains to the rack CA, is within
 * its validity period, and its name is of one of those forms; a host must
 * also claim the id its name carries (the caller compares).
 *
 * Sealed datagrams (miss reports, gossip). ChaCha20-Poly1305 under a rack
 * key from a keyring file (up to PKI_KEYS_MAX keys, the first one seals,
 * all open), so a key is rotated in three steps without dropping a datagram:
 * add the new key everywhere, make it first everywhere, drop the old one.
 * Replay protection: each datagram carries its sender's host id and a
 * sequence number that is the sender's wall clock in ns (strictly
 * increasing per sender); a receiver refuses a datagram outside
 * ±window of its own clock, or whose (sender, seq) it has seen, or older
 * than the last PKI_REPLAY_DEPTH it has accepted from that sender.
 *
 * Errors: 0 or a negative errno; calls that can fail on user input or on a
 * peer fill an `err` buffer of PKI_ERRLEN bytes (or keep a message, see
 * pki_tls_errmsg) that says what was wrong and, for the operator, what to
 * do. Not thread-safe: each object belongs to one thread (a creds object may
 * be shared by sessions of one thread).
 */
#ifndef RTV_PKI_H
#define RTV_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PKI_ERRLEN 256
#define PKI_NAME_MAX 64		/* bytes of a certificate name, with the NUL */
#define PKI_HOST_PREFIX "rtvd-host-"
#define PKI_ADMIN_PREFIX "rtvctl-admin-"
#define PKI_READER_PREFIX "rtvctl-read-"

/* ------------------------------------------------------------------------- */
/* Names                                                                      */

enum pki_kind { PKI_KIND_NONE = 0, PKI_KIND_HOST, PKI_KIND_ADMIN, PKI_KIND_READER };

struct pki_peer {
	enum pki_kind kind;
	uint64_t host_id;		/* PKI_KIND_HOST: > 0 */
	char name[PKI_NAME_MAX];	/* the certificate's name as parsed */
};

/* Parses a certificate name of the forms above into *out. Returns 0, or
 * -EINVAL (not one of the rack's forms, an id of 0 or beyond 2^63, a <who>
 * that is empty or not [A-Za-z0-9._-]). */
int pki_name_parse(const char *name, struct pki_peer *out);
/* Writes "rtvd-host-<id>" into buf (PKI_NAME_MAX bytes). */
void pki_host_name(uint64_t id, char buf[PKI_NAME_MAX]);
const char *pki_kind_name(enum pki_kind k);	/* "host", "admin", "reader" */

/* ------------------------------------------------------------------------- */
/* Credentials                                                                */

struct pki_creds;

/* Loads the rack CA certificate, this holder's certificate and its private
 * key (PEM files). Checks that the certificate chains to the CA, is valid
 * now (an expired one: "…expired on <date> UTC; issue a new one…"), matches
 * the key, and carries a rack name. Returns 0 with *out (reference count 1)
 * or -ENOENT/-EACCES (a file), -EINVAL (contents, err says which file and
 * why), -EKEYEXPIRED (not yet valid or expired), -ENOMEM.
 * PKI_CREDS_ALLOW_EXPIRED loads a certificate outside its validity period
 * anyway, as an agent that started before its certificate expired holds
 * one (tests of the peers' refusal; rtvd never sets it). */
#define PKI_CREDS_ALLOW_EXPIRED 1u
int pki_creds_new(const char *ca_file, const char *cert_file, const char *key_file,
		  unsigned flags, struct pki_creds **out, char err[PKI_ERRLEN]);
/* Reference counting: sessions hold a reference, so new credentials (a
 * renewed certificate) can replace old ones while old sessions finish.
 * pki_creds_free drops one reference; NULL is a no-op. */
struct pki_creds *pki_creds_ref(struct pki_creds *c);
void pki_creds_free(struct pki_creds *c);
/* The holder as named by its own certificate. */
const struct pki_peer *pki_creds_self(const struct pki_creds *c);
/* Its certificate's end of validity, seconds since the epoch (UTC). */
int64_t pki_creds_not_after(const struct pki_creds *c);

/* ------------------------------------------------------------------------- */
/* TLS sessions over memory buffers                                           */

/* TLS 1.2, mutual authentication always: both sides present a certificate
 * from the rack CA. The session does no I/O: the caller feeds it the bytes
 * it receives and sends the bytes it takes out, so it fits any event loop
 * (libuv here) without blocking.
 *
 * Verification happens inside the handshake, before any application byte
 * is exchanged: chain to the rack CA, validity period, a rack name, and on
 * the client side that the server is rtvd-host-<expect_host_id> when that
 * is not 0. A refusal is -EACCES with a message naming the peer's
 * certificate and the reason (pki_tls_errmsg). */
enum pki_role { PKI_CLIENT, PKI_SERVER };
struct pki_tls;

/* Returns 0 with *out, or -ENOMEM / -EINVAL. Takes a reference on c. */
int pki_tls_new(struct pki_creds *c, enum pki_role role, uint64_t expect_host_id,
		struct pki_tls **out);
void pki_tls_free(struct pki_tls *t);	/* NULL is a no-op */

/* Bytes received from the peer. 0 or -ENOMEM. */
int pki_tls_feed(struct pki_tls *t, const void *data, size_t len);
/* Advances the handshake: 0 once it is complete (the peer is verified),
 * -EAGAIN when more input is needed (send the output first), -EACCES when
 * the peer is refused, -ECONNREFUSED when the peer refused this side (a
 * fatal alert), -EPROTO on any other failure, e.g. a peer that does not
 * speak TLS (message kept). */
int pki_tls_handshake(struct pki_tls *t);
bool pki_tls_established(const struct pki_tls *t);
/* After the handshake: the verified peer. */
const struct pki_peer *pki_tls_peer(const struct pki_tls *t);
/* Encrypts len bytes into the output. 0, -EINVAL before the handshake,
 * -EPROTO (message kept). */
int pki_tls_write(struct pki_tls *t, const void *data, size_t len);
/* Decrypts into buf: bytes > 0, -EAGAIN (needs input), 0 when the peer
 * closed the session (close_notify), -EPROTO (message kept). */
ssize_t pki_tls_read(struct pki_tls *t, void *buf, size_t cap);
/* Hands over what is to be sent: *buf (malloc'd, the caller frees it) and
 * *len, or *buf NULL and *len 0 when nothing is pending. 0 or -ENOMEM. */
int pki_tls_take_output(struct pki_tls *t, void **buf, size_t *len);
/* Queues a close_notify alert (then take the output and close). */
void pki_tls_close_notify(struct pki_tls *t);
/* Why the last call failed; "" if nothing failed. */
const char *pki_tls_errmsg(const struct pki_tls *t);

/* The class of a failed handshake, for counters (names: pki_refusal_name:
 * "unknown_ca", "expired", "bad_name", "no_cert", "not_tls"). */
enum pki_refusal {
	PKI_REFUSAL_NONE = 0,
	PKI_REFUSAL_UNKNOWN_CA,	/* not issued by the rack CA, or self-signed */
	PKI_REFUSAL_EXPIRED,	/* outside its validity period */
	PKI_REFUSAL_BAD_NAME,	/* not a rack name, or not the one expected */
	PKI_REFUSAL_NO_CERT,	/* the peer presented none */
	PKI_REFUSAL_NOT_TLS,	/* no TLS 1.2 the rack speaks, or any other failure */
	PKI_REFUSAL_N
};
enum pki_refusal pki_tls_refusal(const struct pki_tls *t);
const char *pki_refusal_name(enum pki_refusal r);

/* ------------------------------------------------------------------------- */
/* Sealed datagrams                                                           */

#define PKI_KEYS_MAX 4
#define PKI_KEY_BYTES 32
#define PKI_SEAL_HEADER_BYTES 16	/* version, flags, key id, sender, seq */
#define PKI_SEAL_TAG_BYTES 16
#define PKI_SEAL_OVERHEAD (PKI_SEAL_HEADER_BYTES + PKI_SEAL_TAG_BYTES)
#define PKI_SEAL_VERSION 1
#define PKI_REPLAY_DEPTH 32		/* seqs remembered per sender */
#define PKI_REPLAY_SENDERS 256		/* senders remembered */
#define PKI_WINDOW_DEFAULT_NS 30000000000ull	/* 30 s */

struct pki_keyring;

/* Keyring text: one key a line, "<id> <64 hex digits>", id 1..65535, '#'
 * starts a comment; the first key seals, every key opens; ids unique; 1 to
 * PKI_KEYS_MAX keys. parse: 0, -EINVAL (err says which line and why),
 * -ENOMEM. load: also -ENOENT/-EACCES, and refuses a file that others than
 * its owner may read (-EPERM). */
int pki_keyring_parse(const char *text, size_t len, struct pki_keyring **out,
		      char err[PKI_ERRLEN]);
int pki_keyring_load(const char *path, struct pki_keyring **out, char err[PKI_ERRLEN]);
void pki_keyring_free(struct pki_keyring *k);	/* NULL is a no-op */
uint16_t pki_keyring_primary(const struct pki_keyring *k);
size_t pki_keyring_ids(const struct pki_keyring *k, uint16_t ids[PKI_KEYS_MAX]);

/* Why pki_dgram_open refused datagrams, counted for metrics. */
struct pki_dgram_stats {
	uint64_t opened;
	uint64_t malformed;	/* too short, unknown version or flags */
	uint64_t unknown_key;	/* key id not in the keyring */
	uint64_t bad_tag;	/* authentication failed (forged or corrupted) */
	uint64_t stale;		/* outside the time window */
	uint64_t replayed;	/* seen before, or older than what is remembered */
};

struct pki_dgram;

/* A sealer/opener for one host. self_id (1..2^32-1) goes into every sealed
 * datagram; window_ns bounds clock skew plus delay (0: the default). The
 * keyring becomes the object's (freed with it). */
int pki_dgram_new(struct pki_keyring *k, uint64_t self_id, uint64_t window_ns,
		  struct pki_dgram **out);
void pki_dgram_free(struct pki_dgram *d);	/* NULL is a no-op */
/* Replaces the keyring (rotation); the old one is freed. Replay state is
 * kept, so nothing accepted before can be replayed under a new key. */
void pki_dgram_set_keyring(struct pki_dgram *d, struct pki_keyring *k);

/* Seals len bytes (the payload) at now_ns (CLOCK_REALTIME) into out, which
 * must hold len + PKI_SEAL_OVERHEAD bytes. 0 with *out_len, -ENOSPC,
 * -EMSGSIZE (len > 65,000). */
int pki_dgram_seal(struct pki_dgram *d, uint64_t now_ns, const void *in, size_t len,
		   void *out, size_t cap, size_t *out_len);
/* Opens a datagram received at now_ns: decrypts into out (len -
 * PKI_SEAL_OVERHEAD bytes needed) and records it against replays.
 * 0 with *out_len and *sender; -EBADMSG (malformed or forged),
 * -EKEYREJECTED (unknown key id), -ETIME (outside the window), -EALREADY
 * (a replay), -ENOSPC (out too small). A refused datagram changes nothing
 * but the counters. */
int pki_dgram_open(struct pki_dgram *d, uint64_t now_ns, const void *in, size_t len,
		   void *out, size_t cap, size_t *out_len, uint64_t *sender);
const struct pki_dgram_stats *pki_dgram_stats(const struct pki_dgram *d);

/* For framings that carry their own header, key id and sequence number
 * (gossip's envelope, whose seal/open hook these fit):
 *   pki_keyring_mac: HMAC-SHA256 of msg under rack key key_id. 0,
 *     -EKEYREJECTED (no such key in the ring).
 *   pki_keyring_mac_verify: 0 if mac is that MAC (compared in constant
 *     time), -EBADMSG, -EKEYREJECTED.
 *   pki_dgram_accept: the time window and replay check of pki_dgram_open
 *     for an authenticated (sender, seq), seq being the sender's
 *     CLOCK_REALTIME in ns, strictly increasing; records it. 0, -ETIME,
 *     -EALREADY (counted as stale / replayed). */
#define PKI_MAC_BYTES 32
int pki_keyring_mac(const struct pki_keyring *k, uint32_t key_id, const void *msg, size_t len,
		    uint8_t mac[PKI_MAC_BYTES]);
int pki_keyring_mac_verify(const struct pki_keyring *k, uint32_t key_id, const void *msg,
			   size_t len, const uint8_t *mac, size_t mac_len);
int pki_dgram_accept(struct pki_dgram *d, uint64_t sender, uint64_t seq, uint64_t now_ns);
const struct pki_keyring *pki_dgram_keyring(const struct pki_dgram *d);
/* Message for a refusal code of pki_dgram_open. */
const char *pki_dgram_strerror(int rc);

/* ------------------------------------------------------------------------- */
/* nng's TLS (nng.c)                                                          */

typedef struct nng_tls_config nng_tls_config;

/* An nng TLS configuration (tls+tcp://) with the rack CA, this holder's
 * certificate and key, TLS 1.2, and the peer's certificate required on both
 * sides; a client with expect_host_id != 0 also requires the server to be
 * rtvd-host-<expect_host_id>. Set it on a listener or dialer with
 * NNG_OPT_TLS_CONFIG; the caller frees it (nng_tls_config_free). 0,
 * -EINVAL (err says which file), -ENOMEM. nng 1.5 does not tell a listener
 * the verified client's name. */
int pki_nng_tls_config(const char *ca_file, const char *cert_file, const char *key_file,
		       bool server, uint64_t expect_host_id, nng_tls_config **out,
		       char err[PKI_ERRLEN]);

/* Adds the CA certificate(s) of ca_file to those cfg trusts (a listener
 * that also accepts the read-only clients' CA, docs/security.md). 0 or
 * -EINVAL (err says why). */
int pki_nng_tls_add_ca(nng_tls_config *cfg, const char *ca_file, char err[PKI_ERRLEN]);

/* Dials url (tls+tcp://) from socket sock_id (nng_socket_id) with cfg, then
 * drops this reference on cfg (the dialer holds its own). flags as
 * nng_dialer_start's. Returns nng's code (0 = dialed, or dialing in the
 * background with NNG_FLAG_NONBLOCK). */
int pki_nng_dial(uint32_t sock_id, const char *url, nng_tls_config *cfg, int flags);

#endif /* RTV_PKI_H */
