/* units.c — exact parsing of rates, durations, sizes and fractions.
 *
 * A quantity is read as a decimal mantissa and a count of decimals
 * ("1.5" = 15 × 10^-1), then multiplied by its unit in 128-bit integer
 * arithmetic and divided by the power of ten. A remainder means the value is
 * not a whole number of the base unit: we refuse it instead of rounding,
 * because a reservation of "1.0000001 bit/s" is a typo, not a wish.
 *
 * Rates follow networking usage (SI multipliers, bits). tc(8) reads "mbps"
 * as megabytes per second, most people as megabits; we accept "bps" as bits
 * (lower case, the common reading) and refuse "Bps" as ambiguous, asking for
 * "B/s" when bytes are meant.
 */
#include "common/units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

struct unit {
	const char *name;
	uint64_t mult;		/* base units per one of this unit */
};

struct number {
	uint64_t mant;
	unsigned decimals;
	const char *rest;	/* what follows the number (and one space) */
};

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads "ddd[.ddd]" (at least one digit); trailing zeros of the fraction are
 * dropped so "1.50000" costs no precision. */
static int read_number(const char *what, const char *s, struct number *out,
		       char *err, size_t errlen)
{
	const char *p = s, *frac = "";
	size_t n_int, n_frac = 0;
	uint64_t mant = 0;

	if (!s || !*s)
		return fail(-EINVAL, err, errlen, "empty %s: give a number and a unit", what);
	if (*s == '-')
		return fail(-EINVAL, err, errlen, "\"%s\": a %s cannot be negative", s, what);
	while (is_digit(*p))
		p++;
	n_int = (size_t)(p - s);
	if (*p == '.') {
		frac = ++p;
		while (is_digit(*p))
			p++;
		n_frac = (size_t)(p - frac);
	}
	if (n_int + n_frac == 0)
		return fail(-EINVAL, err, errlen, "\"%s\" is not a number: a %s starts with digits, e.g. %s",
			    s, what, strcmp(what, "duration") == 0 ? "5ms" : "2M");
	while (n_frac && frac[n_frac - 1] == '0')
		n_frac--;
	for (size_t i = 0; i < n_int + n_frac; i++) {
		char c = i < n_int ? s[i] : frac[i - n_int];
		if (mant > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return fail(-ERANGE, err, errlen, "\"%s\": too many digits for a %s", s, what);
		mant = mant * 10 + (uint64_t)(c - '0');
	}
	if (*p == ' ')
		p++;
	out->mant = mant;
	out->decimals = (unsigned)n_frac;
	out->rest = p;
	return 0;
}

/* mant × 10^-decimals × mult, exactly, or an error. */
static int scale(const char *what, const char *s, const struct number *num, uint64_t mult,
		 uint64_t *out, char *err, size_t errlen)
{
	u128 v = (u128)num->mant * mult, pow10 = 1;

	if (num->decimals > 19)
		return fail(-EINVAL, err, errlen, "\"%s\": too many decimals for a %s", s, what);
	for (unsigned i = 0; i < num->decimals; i++)
		pow10 *= 10;
	if (v % pow10)
		return fail(-EINVAL, err, errlen,
			    "\"%s\" is not a whole number of %s: use fewer decimals or a smaller unit",
			    s, strcmp(what, "rate") == 0 ? "bits per second" :
			    strcmp(what, "duration") == 0 ? "nanoseconds" : "bytes");
	v /= pow10;
	if (v > UINT64_MAX)
		return fail(-ERANGE, err, errlen, "\"%s\": %s too large", s, what);
	*out = (uint64_t)v;
	return 0;
}

static const struct unit *find_unit(const struct unit *tab, const char *name)
{
	for (; tab->name; tab++)
		if (strcmp(tab->name, name) == 0)
			return tab;
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Rates                                                                      */

static const struct unit rate_mults[] = {
	{ "Ki", 1ull << 10 }, { "ki", 1ull << 10 }, { "Mi", 1ull << 20 }, { "mi", 1ull << 20 },
	{ "Gi", 1ull << 30 }, { "gi", 1ull << 30 }, { "Ti", 1ull << 40 }, { "ti", 1ull << 40 },
	{ "k", 1000ull }, { "K", 1000ull }, { "m", 1000000ull }, { "M", 1000000ull },
	{ "g", 1000000000ull }, { "G", 1000000000ull },
	{ "t", 1000000000000ull }, { "T", 1000000000000ull },
	{ NULL, 0 }
};

static const struct unit rate_units[] = {
	{ "", 1 }, { "bit", 1 }, { "bits", 1 }, { "bit/s", 1 }, { "bps", 1 }, { "b/s", 1 },
	{ "B/s", 8 }, { "Byte/s", 8 }, { "Bytes/s", 8 }, { "byte/s", 8 }, { "bytes/s", 8 },
	{ NULL, 0 }
};

static const char *const rate_ambiguous[] = {
	"b", "B", "Bps", "Byte", "Bytes", "byte", "bytes", NULL
};

/* Splits "Mbit" into the multiplier "M" and the unit "bit". The longest
 * multiplier wins ("Mi" before "M"); a unit that starts like a multiplier
 * never collides, since no unit begins with k, m, g, t or i. */
static const struct unit *rate_mult(const char *rest, const char **unit)
{
	for (const struct unit *m = rate_mults; m->name; m++) {
		size_t len = strlen(m->name);
		if (strncmp(rest, m->name, len) == 0) {
			*unit = rest + len;
			return m;
		}
	}
	*unit = rest;
	return NULL;
}

/* "12000" was probably meant as 12 kbit/s or 12 Mbit/s: offer the number
 * without its thousands, as the example does. */
static int bare_rate(const char *s, const struct number *num, char *err, size_t errlen)
{
	char shortn[24];

	if (num->decimals == 0 && num->mant >= 1000 && num->mant % 1000 == 0)
		snprintf(shortn, sizeof(shortn), "%llu", (unsigned long long)(num->mant / 1000));
	else
		snprintf(shortn, sizeof(shortn), "%.*s", (int)(num->rest - s), s);
	return fail(-EINVAL, err, errlen, "\"%s\": a rate needs a unit: %sbit? %sk? %sM?",
		    s, s, shortn, shortn);
}

int rtv_parse_rate_bps(const char *s, uint64_t *bps, char *err, size_t errlen)
{
	struct number num;
	const struct unit *mult, *unit;
	const char *uname;
	int rc = read_number("rate", s, &num, err, errlen);

	if (rc)
		return rc;
	mult = rate_mult(num.rest, &uname);
	for (size_t i = 0; rate_ambiguous[i]; i++)
		if (strcmp(uname, rate_ambiguous[i]) == 0)
			return fail(-EINVAL, err, errlen,
				    "\"%s\" is ambiguous for a rate: write %.*s%sbit for bits per second or %.*s%sB/s for bytes per second",
				    s, (int)(num.rest - s), s, mult ? mult->name : "",
				    (int)(num.rest - s), s, mult ? mult->name : "");
	unit = find_unit(rate_units, uname);
	if (!unit)
		return fail(-EINVAL, err, errlen,
			    "\"%s\": unknown rate unit \"%s\" (write e.g. 2M, 2Mbit, 250k, 1G, 10MB/s)",
			    s, num.rest);
	if (!mult && unit->name[0] == '\0')
		return bare_rate(s, &num, err, errlen);
	return scale("rate", s, &num, (mult ? mult->mult : 1) * unit->mult, bps, err, errlen);
}

/* ------------------------------------------------------------------------- */
/* Durations                                                                  */

static const struct unit duration_units[] = {
	{ "ns", 1ull }, { "us", 1000ull }, { "\xc2\xb5s", 1000ull }, { "\xce\xbcs", 1000ull },
	{ "ms", 1000000ull }, { "s", 1000000000ull }, { "min", 60000000000ull },
	{ "h", 3600000000000ull },
	{ NULL, 0 }
};

int rtv_parse_duration_ns(const char *s, uint64_t *ns, char *err, size_t errlen)
{
	struct number num;
	const struct unit *unit;
	int rc = read_number("duration", s, &num, err, errlen);

	if (rc)
		return rc;
	if (num.rest[0] == '\0')
		return fail(-EINVAL, err, errlen,
			    "\"%s\": a duration needs a unit: %sms? %sus? %ss?", s, s, s, s);
	unit = find_unit(duration_units, num.rest);
	if (!unit)
		return fail(-EINVAL, err, errlen,
			    "\"%s\": unknown duration unit \"%s\" (use ns, us, ms, s, min or h)",
			    s, num.rest);
	return scale("duration", s, &num, unit->mult, ns, err, errlen);
}

/* ------------------------------------------------------------------------- */
/* Sizes                                                                      */

static const struct unit size_units[] = {
	{ "", 1ull }, { "B", 1ull },
	{ "k", 1000ull }, { "K", 1000ull }, { "kB", 1000ull }, { "KB", 1000ull },
	{ "M", 1000000ull }, { "MB", 1000000ull }, { "G", 1000000000ull }, { "GB", 1000000000ull },
	{ "Ki", 1ull << 10 }, { "KiB", 1ull << 10 }, { "Mi", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "Gi", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1000000000000ull }, { "TB", 1000000000000ull },
	{ "Ti", 1ull << 40 }, { "TiB", 1ull << 40 },
	{ NULL, 0 }
};

int rtv_parse_size_bytes(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	struct number num;
	const struct unit *unit;
	size_t len;
	int rc = read_number("size", s, &num, err, errlen);

	if (rc)
		return rc;
	len = strlen(num.rest);
	if (len && num.rest[len - 1] == 'b')
		return fail(-EINVAL, err, errlen,
			    "\"%s\": sizes are in bytes; write B (e.g. 3000B or 3kB), not b", s);
	unit = find_unit(size_units, num.rest);
	if (!unit)
		return fail(-EINVAL, err, errlen,
			    "\"%s\": unknown size unit \"%s\" (use B, kB, MB, GB, KiB, MiB or GiB)",
			    s, num.rest);
	return scale("size", s, &num, unit->mult, bytes, err, errlen);
}

/* ------------------------------------------------------------------------- */
/* Fractions                                                                  */

int rtv_parse_ppm(const char *s, uint32_t *ppm, char *err, size_t errlen)
{
	struct number num;
	uint64_t mult, v;
	int rc = read_number("fraction", s, &num, err, errlen);

	if (rc)
		return rc;
	if (strcmp(num.rest, "%") == 0)
		mult = 10000;
	else if (strcmp(num.rest, "ppm") == 0)
		mult = 1;
	else if (num.rest[0] == '\0')
		mult = RTV_PPM_ONE;
	else
		return fail(-EINVAL, err, errlen,
			    "\"%s\": unknown fraction unit \"%s\" (write 50%%, 0.5 or 500000ppm)",
			    s, num.rest);
	rc = scale("fraction", s, &num, mult, &v, err, errlen);
	if (rc == -EINVAL)
		return fail(-EINVAL, err, errlen, "\"%s\": finer than one part per million", s);
	if (rc == 0 && v > RTV_PPM_ONE && mult == RTV_PPM_ONE)
		return fail(-ERANGE, err, errlen,
			    "\"%s\": a fraction must be between 0 and 1: %s%%?", s, s);
	if (rc == -ERANGE || v > RTV_PPM_ONE)
		return fail(-ERANGE, err, errlen, "\"%s\": a fraction cannot exceed 100%%", s);
	*ppm = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Formatters                                                                 */

/* Prints v/div with up to `places` decimals (rounded, zeros trimmed). */
static void fmt_fixed(char *buf, size_t n, uint64_t v, uint64_t div, unsigned places,
		      const char *unit)
{
	uint64_t pow10 = 1, whole = v / div, frac;
	char digits[24];
	int len;

	for (unsigned i = 0; i < places; i++)
		pow10 *= 10;
	frac = (uint64_t)(((u128)(v % div) * pow10 + div / 2) / div);
	if (frac >= pow10) {
		whole++;
		frac -= pow10;
	}
	len = snprintf(digits, sizeof(digits), "%0*llu", (int)places, (unsigned long long)frac);
	while (len > 0 && digits[len - 1] == '0')
		digits[--len] = '\0';
	if (len)
		snprintf(buf, n, "%llu.%s%s", (unsigned long long)whole, digits, unit);
	else
		snprintf(buf, n, "%llu%s", (unsigned long long)whole, unit);
}

static const char *fmt_scaled(char *buf, size_t n, uint64_t v, const struct unit *tab)
{
	const struct unit *best = tab;

	for (const struct unit *u = tab; u->name; u++)
		if (v >= u->mult)
			best = u;
	fmt_fixed(buf, n, v, best->mult, 3, best->name);
	return buf;
}

const char *rtv_fmt_rate(char *buf, size_t n, uint64_t bps)
{
	static const struct unit tab[] = {
		{ " bit/s", 1ull }, { " kbit/s", 1000ull }, { " Mbit/s", 1000000ull },
		{ " Gbit/s", 1000000000ull }, { " Tbit/s", 1000000000000ull }, { NULL, 0 }
	};
	return fmt_scaled(buf, n, bps, tab);
}

const char *rtv_fmt_duration(char *buf, size_t n, uint64_t ns)
{
	static const struct unit tab[] = {
		{ " ns", 1ull }, { " us", 1000ull }, { " ms", 1000000ull },
		{ " s", 1000000000ull }, { NULL, 0 }
	};
	return fmt_scaled(buf, n, ns, tab);
}

/* Below 10 kB sizes print exactly ("1518 B", "3000 B"): bursts and frames
 * are thought of in bytes. */
const char *rtv_fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
	static const struct unit tab[] = {
		{ " B", 1ull }, { " kB", 1000ull }, { " MB", 1000000ull },
		{ " GB", 1000000000ull }, { " TB", 1000000000000ull }, { NULL, 0 }
	};
	if (bytes < 10000) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	return fmt_scaled(buf, n, bytes, tab);
}

const char *rtv_fmt_ppm(char *buf, size_t n, uint32_t ppm)
{
	fmt_fixed(buf, n, ppm, 10000, 4, "%");
	return buf;
}

/* ------------------------------------------------------------------------- */
/* Addresses                                                                 */

int rtv_parse_u64(const char *v, uint64_t *out)
{
	unsigned long long x;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

int rtv_parse_ipport(const char *s, uint32_t *ip, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	uint64_t p;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || rtv_parse_u64(colon + 1, &p) < 0 || p < 1 ||
	    p > 65535)
		return -EINVAL;
	if (ip)
		*ip = ntohl(a.s_addr);
	if (port)
		*port = (uint16_t)p;
	return 0;
}
