/* test_units.c — table-driven tests of common/units: exact parsing, refusals
 * with useful messages, and formatters whose output parses back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/units.h"

typedef int (*parse_u64_fn)(const char *, uint64_t *, char *, size_t);

struct ok_case {
	const char *in;
	uint64_t want;
};

struct bad_case {
	const char *in;
	int rc;
	const char *msg_part;	/* the message must mention this */
};

static void check_ok(parse_u64_fn fn, const struct ok_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 12345;
		char err[256] = "";
		int rc = fn(c[i].in, &v, err, sizeof(err));
		if (rc != 0 || v != c[i].want)
			fail_msg("\"%s\": rc %d (%s), got %llu, want %llu", c[i].in, rc, err,
				 (unsigned long long)v, (unsigned long long)c[i].want);
	}
}

static void check_bad(parse_u64_fn fn, const struct bad_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 777;
		char err[256] = "";
		int rc = fn(c[i].in, &v, err, sizeof(err));
		if (rc != c[i].rc || v != 777 || !strstr(err, c[i].msg_part))
			fail_msg("\"%s\": rc %d (want %d), v %llu, err \"%s\" (want \"%s\")",
				 c[i].in ? c[i].in : "(null)", rc, c[i].rc, (unsigned long long)v,
				 err, c[i].msg_part);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_rate_ok(void **state)
{
	static const struct ok_case cases[] = {
		{ "2M", 2000000 }, { "2Mbit", 2000000 }, { "2Mbps", 2000000 },
		{ "2 Mbit/s", 2000000 }, { "250k", 250000 }, { "250K", 250000 },
		{ "1G", 1000000000 }, { "1.5M", 1500000 }, { "100mbit", 100000000 },
		{ "12000bit", 12000 }, { "1MB/s", 8000000 }, { "1.25kB/s", 10000 },
		{ "10Gbit", 10000000000ull }, { "1Mibit", 1048576 }, { "0.001k", 1 },
		{ "1.500000M", 1500000 }, { "18446744073709551615bit", UINT64_MAX },
		{ "18446744073.709551615G", UINT64_MAX },
		{ "0M", 0 }, { ".5M", 500000 }, { "5.M", 5000000 },
	};
	(void)state;
	check_ok(rtv_parse_rate_bps, cases, N(cases));
}

static void test_rate_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "12000", -EINVAL, "a rate needs a unit: 12000bit? 12k? 12M?" },
		{ "5", -EINVAL, "a rate needs a unit: 5bit? 5k? 5M?" },
		{ "", -EINVAL, "empty" },
		{ NULL, -EINVAL, "empty" },
		{ "-2M", -EINVAL, "negative" },
		{ "M", -EINVAL, "not a number" },
		{ "nan", -EINVAL, "not a number" },
		{ "inf", -EINVAL, "not a number" },
		{ "2MB", -EINVAL, "ambiguous" },
		{ "2MBps", -EINVAL, "2MB/s" },
		{ "2Mb", -EINVAL, "2Mbit" },
		{ "2Mx", -EINVAL, "unknown rate unit" },
		{ "2M junk", -EINVAL, "unknown rate unit" },
		{ "2  M", -EINVAL, "unknown rate unit" },
		{ " 2M", -EINVAL, "not a number" },
		{ "1.5bit", -EINVAL, "whole number" },
		{ "1.0000005M", -EINVAL, "whole number" },
		{ "18446744073709551616bit", -ERANGE, "too" },
		{ "20000000T", -ERANGE, "too large" },
		{ "1e6", -EINVAL, "unknown rate unit" },
		{ "0x10M", -EINVAL, "unknown rate unit" },
	};
	(void)state;
	check_bad(rtv_parse_rate_bps, cases, N(cases));
}

static void test_duration(void **state)
{
	static const struct ok_case ok[] = {
		{ "5ms", 5000000 }, { "500us", 500000 }, { "500\xc2\xb5s", 500000 },
		{ "500\xce\xbcs", 500000 }, { "1s", 1000000000 }, { "250ns", 250 },
		{ "1.5ms", 1500000 }, { "20s", 20000000000ull }, { "2min", 120000000000ull },
		{ "5 ms", 5000000 }, { "0.000001ms", 1 },
	};
	static const struct bad_case bad[] = {
		{ "5", -EINVAL, "a duration needs a unit: 5ms? 5us? 5s?" },
		{ "0.5ns", -EINVAL, "whole number of nanoseconds" },
		{ "5sec", -EINVAL, "unknown duration unit" },
		{ "-1ms", -EINVAL, "negative" },
		{ "ms", -EINVAL, "not a number" },
		{ "99999999999h", -ERANGE, "too large" },
		{ "", -EINVAL, "empty" },
	};
	(void)state;
	check_ok(rtv_parse_duration_ns, ok, N(ok));
	check_bad(rtv_parse_duration_ns, bad, N(bad));
}

static void test_size(void **state)
{
	static const struct ok_case ok[] = {
		{ "3000", 3000 }, { "3000B", 3000 }, { "1.5k", 1500 }, { "1.5kB", 1500 },
		{ "3 kB", 3000 }, { "1KiB", 1024 }, { "1Ki", 1024 }, { "2MiB", 2097152 },
		{ "1M", 1000000 }, { "0", 0 },
	};
	static const struct bad_case bad[] = {
		{ "3000b", -EINVAL, "not b" },
		{ "1kb", -EINVAL, "not b" },
		{ "1.5", -EINVAL, "whole number of bytes" },
		{ "1.0001k", -EINVAL, "whole number of bytes" },
		{ "3x", -EINVAL, "unknown size unit" },
		{ "-3", -EINVAL, "negative" },
	};
	(void)state;
	check_ok(rtv_parse_size_bytes, ok, N(ok));
	check_bad(rtv_parse_size_bytes, bad, N(bad));
}

static void test_ppm(void **state)
{
	static const struct { const char *in; uint32_t want; } ok[] = {
		{ "50%", 500000 }, { "0.5", 500000 }, { "1", 1000000 }, { "100%", 1000000 },
		{ "0.0001%", 1 }, { "250000ppm", 250000 }, { "0", 0 }, { "12.5%", 125000 },
	};
	static const struct { const char *in; int rc; const char *part; } bad[] = {
		{ "50", -ERANGE, "between 0 and 1: 50%?" },
		{ "101%", -ERANGE, "exceed 100%" },
		{ "0.00001%", -EINVAL, "part per million" },
		{ "50 percent", -EINVAL, "unknown fraction unit" },
		{ "-5%", -EINVAL, "negative" },
		{ "1000001ppm", -ERANGE, "exceed" },
	};
	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		uint32_t v = 0;
		char err[256] = "";
		assert_int_equal(rtv_parse_ppm(ok[i].in, &v, err, sizeof(err)), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < N(bad); i++) {
		uint32_t v = 42;
		char err[256] = "";
		int rc = rtv_parse_ppm(bad[i].in, &v, err, sizeof(err));
		if (rc != bad[i].rc || v != 42 || !strstr(err, bad[i].part))
			fail_msg("\"%s\": rc %d err \"%s\"", bad[i].in, rc, err);
	}
}

static void test_err_may_be_null(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rtv_parse_rate_bps("12000", &v, NULL, 0), -EINVAL);
	assert_int_equal(rtv_parse_duration_ns("x", &v, NULL, 10), -EINVAL);
}

static void test_format(void **state)
{
	static const struct { uint64_t v; const char *rate, *dur, *bytes; } cases[] = {
		{ 0, "0 bit/s", "0 ns", "0 B" },
		{ 12, "12 bit/s", "12 ns", "12 B" },
		{ 1500, "1.5 kbit/s", "1.5 us", "1500 B" },
		{ 12500, "12.5 kbit/s", "12.5 us", "12.5 kB" },
		{ 2000000, "2 Mbit/s", "2 ms", "2 MB" },
		{ 1234567, "1.235 Mbit/s", "1.235 ms", "1.235 MB" },
		{ 999999, "999.999 kbit/s", "999.999 us", "999.999 kB" },
		{ 999999999, "1000 Mbit/s", "1000 ms", "1000 MB" },
		{ 20000000000ull, "20 Gbit/s", "20 s", "20 GB" },
		{ UINT64_MAX, "18446744.074 Tbit/s", "18446744073.71 s", "18446744.074 TB" },
	};
	char buf[RTV_FMT_LEN];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		assert_string_equal(rtv_fmt_rate(buf, sizeof(buf), cases[i].v), cases[i].rate);
		assert_string_equal(rtv_fmt_duration(buf, sizeof(buf), cases[i].v), cases[i].dur);
		assert_string_equal(rtv_fmt_bytes(buf, sizeof(buf), cases[i].v), cases[i].bytes);
	}
	assert_string_equal(rtv_fmt_ppm(buf, sizeof(buf), 500000), "50%");
	assert_string_equal(rtv_fmt_ppm(buf, sizeof(buf), 100), "0.01%");
	assert_string_equal(rtv_fmt_ppm(buf, sizeof(buf), 1), "0.0001%");
	assert_string_equal(rtv_fmt_ppm(buf, sizeof(buf), 1000000), "100%");
	/* truncation is safe */
	rtv_fmt_rate(buf, 4, 2000000);
	assert_string_equal(buf, "2 M");
}

/* What the formatters print parses back to the same value whenever it is
 * exact (at most three significant decimals). */
static void test_roundtrip(void **state)
{
	static const uint64_t vals[] = { 1, 999, 1000, 1500, 250000, 2000000, 1234000,
					 10000000000ull, 5000000000000ull };
	char buf[RTV_FMT_LEN], err[256];
	uint64_t v;
	uint32_t ppm;

	(void)state;
	for (size_t i = 0; i < N(vals); i++) {
		assert_int_equal(rtv_parse_rate_bps(rtv_fmt_rate(buf, sizeof(buf), vals[i]), &v,
						    err, sizeof(err)), 0);
		assert_int_equal(v, vals[i]);
		assert_int_equal(rtv_parse_duration_ns(rtv_fmt_duration(buf, sizeof(buf), vals[i]),
						       &v, err, sizeof(err)), 0);
		assert_int_equal(v, vals[i]);
		assert_int_equal(rtv_parse_size_bytes(rtv_fmt_bytes(buf, sizeof(buf), vals[i]), &v,
						      err, sizeof(err)), 0);
		assert_int_equal(v, vals[i]);
	}
	for (uint32_t p = 0; p <= RTV_PPM_ONE; p += 8191) {
		assert_int_equal(rtv_parse_ppm(rtv_fmt_ppm(buf, sizeof(buf), p), &ppm, err,
					       sizeof(err)), 0);
		assert_int_equal(ppm, p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_ok),
		cmocka_unit_test(test_rate_bad),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_ppm),
		cmocka_unit_test(test_err_may_be_null),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
