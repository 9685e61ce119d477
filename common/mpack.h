/* mpack.h — the msgpack helpers every encoder and decoder in the tree goes
 * through (consensus/ commands and snapshots, rpc/ requests and replies,
 * the dataplane's miss reports): one structure checker for untrusted bytes
 * and one set of packing helpers over msgpack-c.
 *
 * The checker walks the bytes before msgpack-c sees them: msgpack-c
 * allocates every declared array and map up front (24 bytes per element),
 * so a 5-byte message could otherwise ask for ~100 GB. Every object takes
 * at least one byte, so the objects still owed can never exceed the bytes
 * left; rtv_mp_walk refuses any header that declares more, which keeps
 * msgpack-c's allocations within 24 × len in all.
 */
#ifndef RTV_COMMON_MPACK_H
#define RTV_COMMON_MPACK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Walks exactly one msgpack object at the start of buf: 0 with *used its
 * size, or -EPROTO with err (errlen bytes) saying where and why (truncated,
 * the never-used tag 0xc1, more objects declared than bytes left). */
int rtv_mp_walk(const void *buf, size_t len, size_t *used, char *err, size_t errlen);

/* True if buf holds exactly one well-formed msgpack object whose container
 * sizes fit in the buffer. Run before msgpack_unpack on untrusted bytes. */
bool rtv_mp_sane(const void *buf, size_t len);

/* Packing. Each returns msgpack-c's 0 / -1, so that a builder accumulates
 * with |= and checks once (rtv_mp_status turns that into 0 / -ENOMEM). */
int rtv_pk_str(msgpack_packer *pk, const char *s);
int rtv_pk_kv_str(msgpack_packer *pk, const char *key, const char *s);
int rtv_pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t v);
int rtv_pk_kv_i64(msgpack_packer *pk, const char *key, int64_t v);
int rtv_pk_kv_bool(msgpack_packer *pk, const char *key, bool v);
int rtv_mp_status(int rc);

#endif /* RTV_COMMON_MPACK_H */
