/* units.h — parsing and printing the quantities people type: rates,
 * durations, sizes and fractions.
 *
 * Every parser is exact: decimals are read as integers ("1.5M" is exactly
 * 1,500,000 bit/s, never 1499999.99…), a result that is not a whole number of
 * the base unit is refused rather than rounded, and overflow is an error.
 * One optional space may separate the number from its unit, so what the
 * formatters print parses back ("2 Mbit/s", "5 ms", "3 kB", "50%").
 *
 * Rates (bit/s; SI multipliers, as in networking):
 *   multiplier  k K = 1e3, m M = 1e6, g G = 1e9, t T = 1e12
 *               Ki Mi Gi Ti (and ki mi gi ti) = 2^10 … 2^40
 *   unit        bit bits bit/s bps b/s          bits per second (the default)
 *               B/s Byte/s Bytes/s byte/s bytes/s   bytes per second (×8)
 *   So "2M" = "2Mbit" = "2Mbps" = "2 Mbit/s" = 2,000,000; "100mbit" = 1e8;
 *   "250k" = 250,000; "1MB/s" = 8,000,000. A multiplier or unit is required:
 *   "12000" is refused with the hint "12000bit? 12k? 12M?". Refused as
 *   ambiguous: a bare "B" or "b" ("2MB": megabytes is a size, not a rate) and
 *   "Bps"/"MBps" (bytes in tc(8), bits to most people); the message says
 *   how to write either meaning.
 *
 * Durations (ns): ns, us, µs (U+00B5 or U+03BC), ms, s, min, h. A bare
 * number is refused with a hint ("5ms? 5us? 5s?"). "1.5ms" = 1,500,000 ns;
 * "0.5ns" is refused (below the resolution).
 *
 * Sizes (bytes): a bare number is bytes; "B" optional; k K = 1e3, M = 1e6,
 * G = 1e9; Ki Mi Gi = 2^10, 2^20, 2^30 ("KiB", "kB", "1.5k" = 1500). A
 * lower-case "b" (bits?) is refused.
 *
 * Fractions (ppm, 0..1,000,000): "50%" = 500,000; "0.5" = 500,000;
 * "1" = 1,000,000; "250000ppm". A bare number above 1 is refused with the
 * hint "50%?".
 *
 * Parsers return 0 with the result stored, or -EINVAL (bad syntax, unknown
 * unit, not exact, negative, empty) or -ERANGE (too large) with a sentence
 * in err (may be NULL). The result is not touched on error.
 */
#ifndef RTV_COMMON_UNITS_H
#define RTV_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define RTV_PPM_ONE 1000000u
#define RTV_FMT_LEN 32	/* enough for any formatter's output */

int rtv_parse_rate_bps(const char *s, uint64_t *bps, char *err, size_t errlen);
int rtv_parse_duration_ns(const char *s, uint64_t *ns, char *err, size_t errlen);
int rtv_parse_size_bytes(const char *s, uint64_t *bytes, char *err, size_t errlen);
int rtv_parse_ppm(const char *s, uint32_t *ppm, char *err, size_t errlen);

/* Formatters write a human string with up to three decimals, trailing zeros
 * dropped, into buf (n bytes, RTV_FMT_LEN is always enough) and return buf.
 * Values that need more than three decimals are rounded to the nearest.
 *   rate      "2 Mbit/s", "1.5 Gbit/s", "250 kbit/s", "12 bit/s"
 *   duration  "5 ms", "500 us", "250 ns", "20 s", "1.5 ms"
 *   bytes     "1518 B", "3000 B", "12.5 kB", "1.2 MB"  (exact below 10 kB, then SI)
 *   ppm       "50%", "0.01%", "100%"
 */
const char *rtv_fmt_rate(char *buf, size_t n, uint64_t bps);
const char *rtv_fmt_duration(char *buf, size_t n, uint64_t ns);
const char *rtv_fmt_bytes(char *buf, size_t n, uint64_t bytes);
const char *rtv_fmt_ppm(char *buf, size_t n, uint32_t ppm);

/* A plain decimal unsigned integer (digits only, no sign, no unit; fits in
 * 64 bits). Returns 0 or -EINVAL. */
int rtv_parse_u64(const char *s, uint64_t *out);

/* Parses "ip:port" (IPv4, port 1..65535) into host order; ip or port may
 * be NULL. Returns 0 or -EINVAL. */
int rtv_parse_ipport(const char *s, uint32_t *ip, uint16_t *port);

#endif /* RTV_COMMON_UNITS_H */
