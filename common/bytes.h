/* bytes.h — big-endian integers in wire buffers and hex digits: the few
 * byte-level helpers every decoder needs, in one place. */
#ifndef RTV_COMMON_BYTES_H
#define RTV_COMMON_BYTES_H

#include <stdint.h>

/* Writes the low `bytes` (1..8) bytes of v at p, most significant first. */
static inline void rtv_put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* Reads `bytes` (1..8) bytes at p, most significant first. */
static inline uint64_t rtv_get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* The value of a hex digit of either case, or -1. */
static inline int rtv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
