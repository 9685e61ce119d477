/* dgram.c — datagrams sealed under the rack key: ChaCha20-Poly1305 (RFC
 * 8439) with replay protection.
 *
 * Wire format (big-endian), all of the header authenticated as AAD:
 *   0  u8  version (1)        1  u8  flags (0)
 *   2  u16 key id             4  u32 sender host id
 *   8  u64 seq: the sender's CLOCK_REALTIME in ns, strictly increasing
 *  16  ciphertext of the payload, then the 16-byte Poly1305 tag.
 * The nonce is sender ‖ seq: unique per key as long as host ids are unique
 * and a host's clock does not go back past the last seq it sent across a
 * restart (the seq then keeps increasing from the highest of clock and
 * last+1 within a run, so a clock step back within a run is harmless).
 *
 * Replay (as IPsec's anti-replay window, RFC 4303 §3.4.3, but over sparse
 * sequence numbers): per sender the PKI_REPLAY_DEPTH highest seqs
 * accepted. A seq already there is a replay; one below all of them once
 * the set is full is too old. The time window bounds what a receiver that
 * lost its state (a restart) can be fooled into accepting again: only
 * datagrams sealed in the last window_ns. Replay checks run after the tag
 * verifies, so only rack members can fill the sender table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "common/bytes.h"
#include "pki/pki.h"

struct pki_keyring {
	size_t n;
	uint16_t id[PKI_KEYS_MAX];
	mbedtls_chachapoly_context ctx[PKI_KEYS_MAX];
	unsigned char raw[PKI_KEYS_MAX][PKI_KEY_BYTES];	/* for HMAC */
};

struct replay_slot {
	uint64_t sender;	/* 0: free */
	uint64_t last_ns;	/* receive time of the last accepted datagram */
	uint32_t n;
	uint64_t seq[PKI_REPLAY_DEPTH];	/* unordered */
};

struct pki_dgram {
	struct pki_keyring *keys;
	uint32_t self;
	uint64_t window_ns;
	uint64_t last_seq;
	struct replay_slot slots[PKI_REPLAY_SENDERS];
	struct pki_dgram_stats stats;
};

/* ------------------------------------------------------------------------- */
/* Keyring                                                                    */

/* One "<id> <hex>" line into k. */
static int parse_line(struct pki_keyring *k, const char *s, size_t len, unsigned lineno,
		      char err[PKI_ERRLEN])
{
	unsigned char key[PKI_KEY_BYTES];
	unsigned long id = 0;
	size_t i = 0, j;

	while (i < len && s[i] >= '0' && s[i] <= '9' && id <= 65535)
		id = id * 10 + (unsigned long)(s[i++] - '0');
	if (i == 0 || id == 0 || id > 65535 || i >= len || (s[i] != ' ' && s[i] != '\t')) {
		snprintf(err, PKI_ERRLEN, "keyring line %u: expected \"<id 1-65535> <64 hex "
			 "digits>\"", lineno);
		return -EINVAL;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (j = 0; j < PKI_KEY_BYTES; j++, i += 2) {
		int hi = i + 1 < len ? rtv_hexval(s[i]) : -1;
		int lo = i + 1 < len ? rtv_hexval(s[i + 1]) : -1;

		if (hi < 0 || lo < 0) {
			snprintf(err, PKI_ERRLEN, "keyring line %u: the key must be 64 hex digits",
				 lineno);
			return -EINVAL;
		}
		key[j] = (unsigned char)(hi << 4 | lo);
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i != len) {
		snprintf(err, PKI_ERRLEN, "keyring line %u: text after the key", lineno);
		return -EINVAL;
	}
	for (j = 0; j < k->n; j++)
		if (k->id[j] == id) {
			snprintf(err, PKI_ERRLEN, "keyring line %u: key id %lu appears twice",
				 lineno, id);
			return -EINVAL;
		}
	if (k->n == PKI_KEYS_MAX) {
		snprintf(err, PKI_ERRLEN, "keyring line %u: more than %d keys", lineno,
			 PKI_KEYS_MAX);
		return -EINVAL;
	}
	mbedtls_chachapoly_init(&k->ctx[k->n]);
	mbedtls_chachapoly_setkey(&k->ctx[k->n], key);
	memcpy(k->raw[k->n], key, sizeof(key));
	mbedtls_platform_zeroize(key, sizeof(key));
	k->id[k->n++] = (uint16_t)id;
	return 0;
}

int pki_keyring_parse(const char *text, size_t len, struct pki_keyring **out,
		      char err[PKI_ERRLEN])
{
	struct pki_keyring *k = calloc(1, sizeof(*k));
	unsigned lineno = 0;
	size_t i = 0;
	int rc = 0;

	if (!k) {
		snprintf(err, PKI_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	while (i < len && rc == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, s = i, e;

		lineno++;
		while (s < end && (text[s] == ' ' || text[s] == '\t'))
			s++;
		e = s;
		while (e < end && text[e] != '#')
			e++;
		while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
			e--;
		if (e > s)
			rc = parse_line(k, text + s, e - s, lineno, err);
		i = end + 1;
	}
	if (rc == 0 && k->n == 0) {
		snprintf(err, PKI_ERRLEN, "keyring holds no key");
		rc = -EINVAL;
	}
	if (rc != 0) {
		pki_keyring_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int pki_keyring_load(const char *path, struct pki_keyring **out, char err[PKI_ERRLEN])
{
	char text[PKI_KEYS_MAX * 128 + 1024];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, PKI_ERRLEN, "rack keyring %.120s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, PKI_ERRLEN, "rack keyring %.120s: readable by others than its "
			 "owner; chmod 600 it", path);
		return -EPERM;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || (size_t)n == sizeof(text)) {
		snprintf(err, PKI_ERRLEN, "rack keyring %.120s: %s", path,
			 n < 0 ? strerror(errno) : "too large for a keyring");
		return n < 0 ? -EIO : -EINVAL;
	}
	rc = pki_keyring_parse(text, (size_t)n, out, err);
	mbedtls_platform_zeroize(text, sizeof(text));
	return rc;
}

void pki_keyring_free(struct pki_keyring *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		mbedtls_chachapoly_free(&k->ctx[i]);
	mbedtls_platform_zeroize(k->raw, sizeof(k->raw));
	free(k);
}

uint16_t pki_keyring_primary(const struct pki_keyring *k)
{
	return k->id[0];
}

size_t pki_keyring_ids(const struct pki_keyring *k, uint16_t ids[PKI_KEYS_MAX])
{
	memcpy(ids, k->id, k->n * sizeof(ids[0]));
	return k->n;
}

/* ------------------------------------------------------------------------- */
/* Sealing and opening                                                        */

int pki_dgram_new(struct pki_keyring *k, uint64_t self_id, uint64_t window_ns,
		  struct pki_dgram **out)
{
	struct pki_dgram *d;

	if (!k || self_id == 0 || self_id > UINT32_MAX || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->keys = k;
	d->self = (uint32_t)self_id;
	d->window_ns = window_ns ? window_ns : PKI_WINDOW_DEFAULT_NS;
	*out = d;
	return 0;
}

void pki_dgram_free(struct pki_dgram *d)
{
	if (!d)
		return;
	pki_keyring_free(d->keys);
	free(d);
}

void pki_dgram_set_keyring(struct pki_dgram *d, struct pki_keyring *k)
{
	pki_keyring_free(d->keys);
	d->keys = k;
}

int pki_dgram_seal(struct pki_dgram *d, uint64_t now_ns, const void *in, size_t len,
		   void *out, size_t cap, size_t *out_len)
{
	unsigned char *o = out, nonce[12];
	uint64_t seq;

	if (len > 65000)
		return -EMSGSIZE;
	if (cap < len + PKI_SEAL_OVERHEAD)
		return -ENOSPC;
	seq = now_ns > d->last_seq ? now_ns : d->last_seq + 1;
	d->last_seq = seq;
	o[0] = PKI_SEAL_VERSION;
	o[1] = 0;
	rtv_put_be(o + 2, d->keys->id[0], 2);
	rtv_put_be(o + 4, d->self, 4);
	rtv_put_be(o + 8, seq, 8);
	memcpy(nonce, o + 4, 12);
	if (mbedtls_chachapoly_encrypt_and_tag(&d->keys->ctx[0], len, nonce, o,
					       PKI_SEAL_HEADER_BYTES, in,
					       o + PKI_SEAL_HEADER_BYTES,
					       o + PKI_SEAL_HEADER_BYTES + len) != 0)
		return -EIO;
	*out_len = len + PKI_SEAL_OVERHEAD;
	return 0;
}

static struct replay_slot *replay_slot(struct pki_dgram *d, uint64_t sender)
{
	struct replay_slot *free_slot = NULL, *victim = &d->slots[0];

	for (size_t i = 0; i < PKI_REPLAY_SENDERS; i++) {
		struct replay_slot *s = &d->slots[i];

		if (s->sender == sender)
			return s;
		if (s->sender == 0 && !free_slot)
			free_slot = s;
		if (s->last_ns < victim->last_ns)
			victim = s;
	}
	if (free_slot)
		return free_slot;
	/* Full: forget the sender heard from least recently. Its datagrams
	 * older than the time window stay refused. */
	memset(victim, 0, sizeof(*victim));
	return victim;
}

/* 0 if seq is new for s, -EALREADY if a replay or too old. */
static int replay_check(const struct replay_slot *s, uint64_t seq, size_t *min_at)
{
	size_t lo = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->seq[i] == seq)
			return -EALREADY;
		if (s->seq[i] < s->seq[lo])
			lo = i;
	}
	*min_at = lo;
	if (s->n == PKI_REPLAY_DEPTH && seq < s->seq[lo])
		return -EALREADY;
	return 0;
}

static int refuse(uint64_t *counter, int rc)
{
	(*counter)++;
	return rc;
}

int pki_dgram_accept(struct pki_dgram *d, uint64_t sender, uint64_t seq, uint64_t now_ns)
{
	struct replay_slot *slot;
	size_t min_at = 0;

	if (seq + d->window_ns < now_ns || seq > now_ns + d->window_ns)
		return refuse(&d->stats.stale, -ETIME);
	slot = replay_slot(d, sender);
	if (replay_check(slot, seq, &min_at) != 0)
		return refuse(&d->stats.replayed, -EALREADY);
	slot->sender = sender;
	slot->last_ns = now_ns;
	slot->seq[slot->n < PKI_REPLAY_DEPTH ? slot->n++ : min_at] = seq;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* MACs for framings of their own                                             */

static int key_index(const struct pki_keyring *k, uint32_t key_id, size_t *i)
{
	for (*i = 0; *i < k->n; (*i)++)
		if (k->id[*i] == key_id)
			return 0;
	return -EKEYREJECTED;
}

int pki_keyring_mac(const struct pki_keyring *k, uint32_t key_id, const void *msg, size_t len,
		    uint8_t mac[PKI_MAC_BYTES])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	size_t i;

	if (key_index(k, key_id, &i) != 0)
		return -EKEYREJECTED;
	return mbedtls_md_hmac(md, k->raw[i], PKI_KEY_BYTES, msg, len, mac) == 0 ? 0 : -EIO;
}

int pki_keyring_mac_verify(const struct pki_keyring *k, uint32_t key_id, const void *msg,
			   size_t len, const uint8_t *mac, size_t mac_len)
{
	uint8_t want[PKI_MAC_BYTES];
	unsigned char diff = 0;
	int rc;

	if (mac_len != PKI_MAC_BYTES)
		return -EBADMSG;
	rc = pki_keyring_mac(k, key_id, msg, len, want);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < PKI_MAC_BYTES; i++)	/* constant time */
		diff |= (unsigned char)(want[i] ^ mac[i]);
	mbedtls_platform_zeroize(want, sizeof(want));
	return diff == 0 ? 0 : -EBADMSG;
}

const struct pki_keyring *pki_dgram_keyring(const struct pki_dgram *d)
{
	return d->keys;
}

int pki_dgram_open(struct pki_dgram *d, uint64_t now_ns, const void *in, size_t len,
		   void *out, size_t cap, size_t *out_len, uint64_t *sender)
{
	const unsigned char *p = in;
	struct pki_keyring *k = d->keys;
	uint64_t seq, from;
	size_t plen, ki;
	uint16_t key_id;
	int rc;

	if (len < PKI_SEAL_OVERHEAD || p[0] != PKI_SEAL_VERSION || p[1] != 0)
		return refuse(&d->stats.malformed, -EBADMSG);
	plen = len - PKI_SEAL_OVERHEAD;
	if (cap < plen)
		return -ENOSPC;
	key_id = (uint16_t)rtv_get_be(p + 2, 2);
	from = rtv_get_be(p + 4, 4);
	seq = rtv_get_be(p + 8, 8);
	for (ki = 0; ki < k->n && k->id[ki] != key_id; ki++)
		;
	if (ki == k->n)
		return refuse(&d->stats.unknown_key, -EKEYREJECTED);
	if (from == 0 || mbedtls_chachapoly_auth_decrypt(&k->ctx[ki], plen, p + 4, p,
							 PKI_SEAL_HEADER_BYTES,
							 p + len - PKI_SEAL_TAG_BYTES,
							 p + PKI_SEAL_HEADER_BYTES, out) != 0) {
		mbedtls_platform_zeroize(out, plen);
		return refuse(&d->stats.bad_tag, -EBADMSG);
	}
	rc = pki_dgram_accept(d, from, seq, now_ns);
	if (rc != 0) {
		mbedtls_platform_zeroize(out, plen);
		return rc;
	}
	d->stats.opened++;
	*out_len = plen;
	*sender = from;
	return 0;
}

const struct pki_dgram_stats *pki_dgram_stats(const struct pki_dgram *d)
{
	return &d->stats;
}

const char *pki_dgram_strerror(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case -EBADMSG: return "malformed or not sealed with a rack key (forged?)";
	case -EKEYREJECTED: return "sealed with a key id not in this host's keyring";
	case -ETIME: return "sealed outside the time window (replay, or clocks apart)";
	case -EALREADY: return "a replay of a datagram already accepted";
	case -ENOSPC: return "output buffer too small";
	default: return "refused";
	}
}
