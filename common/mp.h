/* mp.h — reading msgpack from hostile bytes with msgpack-c.
 *
 * msgpack-c allocates every array and map in full as soon as it reads the
 * declared length (24 bytes per element), so a 5-byte datagram declaring
 * 2^32 elements would ask for 100 GB. rtv_mp_parse_next first walks the
 * bytes with a structural checker that bounds every declared length by the
 * bytes that remain, and only then lets msgpack-c build the objects (in the
 * caller's zone). Every decoder of network or disk input goes through it.
 */
#ifndef RTV_COMMON_MP_H
#define RTV_COMMON_MP_H

#include <stddef.h>

#include <msgpack.h>

/* Parses the first msgpack object of buf[0..len) into *obj (allocated in
 * zone, which the caller owns and frees; obj may point into buf for
 * strings and bins). *used receives the bytes the object takes. Returns 0,
 * or -EPROTO with a sentence in err (errlen bytes) for empty, truncated,
 * malformed or too deeply nested input. */
int rtv_mp_parse_next(const void *buf, size_t len, size_t *used, msgpack_zone *zone,
		      msgpack_object *obj, char *err, size_t errlen);

#endif /* RTV_COMMON_MP_H */
