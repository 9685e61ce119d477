/* mpack.c — one msgpack structure checker and the packing helpers for the
 * whole tree (see mpack.h).
 */
#include "common/mpack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Structure                                                                 */

/* Reads a big-endian length of `w` bytes at p[0..w). */
static uint64_t be_len(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < w; i++)
		v = v << 8 | p[i];
	return v;
}

/* The header of one msgpack object at p (avail >= 1 bytes): how many bytes
 * the header and any payload take (*skip), and how many child objects
 * follow (*children). Returns false on the never-used tag 0xc1 or when the
 * header itself is truncated. */
static bool mp_head(const uint8_t *p, size_t avail, uint64_t *skip, uint64_t *children)
{
	/* For tags 0xc4..0xdf: width of the length field, fixed payload,
	 * 1 for ext (one type byte), kind (0 scalar, 1 bytes, 2 array, 3 map). */
	static const struct { uint8_t w, fixed, ext, kind; } t[28] = {
		{ 1, 0, 0, 1 }, { 2, 0, 0, 1 }, { 4, 0, 0, 1 },		/* bin */
		{ 1, 0, 1, 1 }, { 2, 0, 1, 1 }, { 4, 0, 1, 1 },		/* ext */
		{ 0, 4, 0, 0 }, { 0, 8, 0, 0 },				/* float */
		{ 0, 1, 0, 0 }, { 0, 2, 0, 0 }, { 0, 4, 0, 0 }, { 0, 8, 0, 0 },
		{ 0, 1, 0, 0 }, { 0, 2, 0, 0 }, { 0, 4, 0, 0 }, { 0, 8, 0, 0 },
		{ 0, 2, 0, 0 }, { 0, 3, 0, 0 }, { 0, 5, 0, 0 }, { 0, 9, 0, 0 },
		{ 0, 17, 0, 0 },					/* fixext */
		{ 1, 0, 0, 1 }, { 2, 0, 0, 1 }, { 4, 0, 0, 1 },		/* str */
		{ 2, 0, 0, 2 }, { 4, 0, 0, 2 }, { 2, 0, 0, 3 }, { 4, 0, 0, 3 },
	};
	uint8_t c = p[0];
	uint64_t n;

	*children = 0;
	*skip = 1;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return true;
	if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
		*children = (uint64_t)(c & 0x0f) * (c <= 0x8f ? 2 : 1);
		return true;
	}
	if (c <= 0xbf) {
		*skip = 1 + (uint64_t)(c & 0x1f);
		return true;
	}
	if (c == 0xc1)
		return false;
	c -= 0xc4;
	if (avail < 1u + t[c].w)
		return false;
	n = be_len(p + 1, t[c].w);
	if (t[c].kind == 2 || t[c].kind == 3) {
		*skip = 1 + t[c].w;
		*children = t[c].kind == 3 ? 2 * n : n;
		return true;
	}
	*skip = 1 + t[c].w + t[c].ext + t[c].fixed + (t[c].kind == 1 ? n : 0);
	return true;
}

int rtv_mp_walk(const void *buf, size_t len, size_t *used, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	uint64_t pending = 1, skip, children;
	size_t pos = 0;

	while (pending > 0) {
		if (pos >= len) {
			snprintf(err, errlen, "truncated msgpack: %llu more objects expected at byte %zu",
				  (unsigned long long)pending, pos);
			return -EPROTO;
		}
		if (!mp_head(p + pos, len - pos, &skip, &children) || skip > len - pos) {
			snprintf(err, errlen, "malformed or truncated msgpack at byte %zu (tag 0x%02x)",
				  pos, p[pos]);
			return -EPROTO;
		}
		pos += skip;
		pending = pending - 1 + children;
		if (pending > len - pos) {
			snprintf(err, errlen, "msgpack declares %llu more objects than the %zu bytes left",
				  (unsigned long long)pending, len - pos);
			return -EPROTO;
		}
	}
	*used = pos;
	return 0;
}

bool rtv_mp_sane(const void *buf, size_t len)
{
	char err[8];
	size_t used = 0;

	return buf && len && rtv_mp_walk(buf, len, &used, err, sizeof(err)) == 0 && used == len;
}

/* ------------------------------------------------------------------------- */
/* Packing                                                                   */

int rtv_pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

int rtv_pk_kv_str(msgpack_packer *pk, const char *key, const char *s)
{
	return rtv_pk_str(pk, key) | rtv_pk_str(pk, s);
}

int rtv_pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	return rtv_pk_str(pk, key) | msgpack_pack_uint64(pk, v);
}

int rtv_pk_kv_i64(msgpack_packer *pk, const char *key, int64_t v)
{
	return rtv_pk_str(pk, key) | msgpack_pack_int64(pk, v);
}

int rtv_pk_kv_bool(msgpack_packer *pk, const char *key, bool v)
{
	return rtv_pk_str(pk, key) | (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

int rtv_mp_status(int rc)
{
	return rc == 0 ? 0 : -ENOMEM;
}
