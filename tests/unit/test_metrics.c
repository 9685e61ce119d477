/* test_metrics.c — agent/telemetry/metrics.c: the registry and its text exposition.
 *
 * Golden renderings (byte for byte) of counters, gauges and histograms with
 * and without labels; escaping of HELP text and label values; numbers as
 * the format spells them; deterministic order; names Prometheus would
 * refuse are refused; histogram buckets are cumulative with le inclusive,
 * +Inf, _sum and _count; the cardinality cap hides series beyond it and
 * folds them into the per-class "other" series (sum/min/max for gauges,
 * monotonic sums for counters and histograms, even across removals); sweep
 * removes what a collection did not touch and keeps pinned series. The
 * output is also parsed by promtool in tests/system/metrics.sh.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/config.h"
#include "agent/telemetry/metrics.h"

struct fx {
	struct agent_metrics *m;
	struct agent_mbuf b;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(agent_metrics_new(&fx->m), 0);
	agent_mbuf_init(&fx->b);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	agent_metrics_free(fx->m);
	agent_mbuf_close(&fx->b);
	free(fx);
	return 0;
}

/* The rendering as a NUL-terminated string (valid until the next call). */
static const char *render(struct fx *fx)
{
	agent_mbuf_reset(&fx->b);
	assert_int_equal(agent_metrics_render(fx->m, &fx->b), 0);
	fx->b.p = realloc(fx->b.p, fx->b.len + 1);
	assert_non_null(fx->b.p);
	fx->b.cap = fx->b.len + 1;
	fx->b.p[fx->b.len] = '\0';
	return fx->b.p;
}

static struct agent_mfamily *add(struct fx *fx, const struct agent_mdesc *d)
{
	struct agent_mfamily *f = NULL;

	assert_int_equal(agent_metrics_add(fx->m, d, &f), 0);
	assert_non_null(f);
	return f;
}

static struct agent_mseries *series(struct agent_mfamily *f, const char *a, const char *b)
{
	const char *v[] = { a, b, NULL };
	struct agent_mseries *s = NULL;

	assert_int_equal(agent_mfamily_series(f, v, &s), 0);
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------------------------- */

static void test_golden_counter_gauge(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc c = { "app_requests_total", "Requests served.", AGENT_M_COUNTER,
				 { "op", "status", NULL } };
	struct agent_mdesc g = { "app_temperature_celsius", "Temperature.", AGENT_M_GAUGE,
				 { NULL } };
	struct agent_mfamily *fc = add(fx, &c), *fg = add(fx, &g);

	agent_mseries_add(series(fc, "get", "ok"), 3);
	agent_mseries_add(series(fc, "get", "ok"), 2);
	agent_mseries_add(series(fc, "get", "ok"), -7);	/* counters never go down */
	agent_mseries_add(series(fc, "put", "error"), 1);
	agent_mseries_set(agent_mfamily_only(fg), -12.5);
	assert_string_equal(render(fx),
		"# HELP app_requests_total Requests served.\n"
		"# TYPE app_requests_total counter\n"
		"app_requests_total{op=\"get\",status=\"ok\"} 5\n"
		"app_requests_total{op=\"put\",status=\"error\"} 1\n"
		"# HELP app_temperature_celsius Temperature.\n"
		"# TYPE app_temperature_celsius gauge\n"
		"app_temperature_celsius -12.5\n");
	assert_int_equal(agent_metrics_n_rendered(fx->m), 3);
}

static void test_golden_histogram(void **state)
{
	struct fx *fx = *state;
	static const double b[] = { 0.001, 0.01, 0.1 };
	struct agent_mdesc d = { "app_latency_seconds", "Latency.", AGENT_M_HISTOGRAM,
				 { "path", NULL }, b, 3 };
	struct agent_mfamily *f = add(fx, &d);
	struct agent_mseries *s = series(f, "/x", NULL);

	agent_mseries_observe(s, 0.001);	/* le is inclusive */
	agent_mseries_observe(s, 0.0005);
	agent_mseries_observe(s, 0.05);
	agent_mseries_observe(s, 7);		/* +Inf */
	agent_mseries_observe(s, NAN);		/* ignored */
	assert_string_equal(render(fx),
		"# HELP app_latency_seconds Latency.\n"
		"# TYPE app_latency_seconds histogram\n"
		"app_latency_seconds_bucket{path=\"/x\",le=\"0.001\"} 2\n"
		"app_latency_seconds_bucket{path=\"/x\",le=\"0.01\"} 2\n"
		"app_latency_seconds_bucket{path=\"/x\",le=\"0.1\"} 3\n"
		"app_latency_seconds_bucket{path=\"/x\",le=\"+Inf\"} 4\n"
		"app_latency_seconds_sum{path=\"/x\"} 7.0515\n"
		"app_latency_seconds_count{path=\"/x\"} 4\n");
	assert_true(agent_mseries_value(s) == 4);
}

static void test_histogram_unlabelled_and_set(void **state)
{
	struct fx *fx = *state;
	static const double b[] = { 1, 2 };
	struct agent_mdesc d = { "app_size_bytes", "Sizes.", AGENT_M_HISTOGRAM, { NULL }, b, 2 };
	struct agent_mfamily *f = add(fx, &d);
	uint64_t counts[3] = { 4, 0, 6 };

	assert_int_equal(agent_mseries_hist_set(agent_mfamily_only(f), counts, 2, 1), -EINVAL);
	assert_int_equal(agent_mseries_hist_set(agent_mfamily_only(f), counts, 3, 90.25), 0);
	assert_string_equal(render(fx),
		"# HELP app_size_bytes Sizes.\n"
		"# TYPE app_size_bytes histogram\n"
		"app_size_bytes_bucket{le=\"1\"} 4\n"
		"app_size_bytes_bucket{le=\"2\"} 4\n"
		"app_size_bytes_bucket{le=\"+Inf\"} 10\n"
		"app_size_bytes_sum 90.25\n"
		"app_size_bytes_count 10\n");
}

static void test_escaping(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc d = { "app_info", "A \\ backslash\nand a \"quote\".", AGENT_M_GAUGE,
				 { "v", NULL } };
	struct agent_mfamily *f = add(fx, &d);

	agent_mseries_set(series(f, "a\\b\"c\nd", NULL), 1);
	assert_string_equal(render(fx),
		"# HELP app_info A \\\\ backslash\\nand a \"quote\".\n"
		"# TYPE app_info gauge\n"
		"app_info{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

static void test_numbers(void **state)
{
	static const struct { double v; const char *s; } cases[] = {
		{ 0, "0" }, { -0.0, "0" }, { 1, "1" }, { -3, "-3" }, { 0.5, "0.5" },
		{ 0.1, "0.1" }, { 1e-6, "1e-06" }, { 123456789012345.0, "123456789012345" },
		{ 1e20, "1e+20" }, { 1.0 / 3, "0.33333333333333331" }, { NAN, "NaN" },
		{ INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { 18446744073709551616.0,
							       "1.8446744073709552e+19" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = agent_metrics_fmt_value(out, cases[i].v);

		assert_string_equal(out, cases[i].s);
		assert_int_equal(n, strlen(cases[i].s));
		if (isfinite(cases[i].v))
			assert_true(strtod(out, NULL) == cases[i].v);
	}
}

static void test_order(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc b = { "b_gauge", "b", AGENT_M_GAUGE, { "id", "k", NULL } };
	struct agent_mdesc a = { "a_gauge", "a", AGENT_M_GAUGE, { NULL } };
	struct agent_mfamily *fb = add(fx, &b);

	add(fx, &a);
	series(fb, "10", "x");
	series(fb, "9", "y");
	series(fb, "other", "a");
	series(fb, "9", "b");
	series(fb, "010", "a");	/* numbers as numbers; "010" = 10: by the next label */
	assert_string_equal(render(fx),
		"# HELP a_gauge a\n# TYPE a_gauge gauge\na_gauge 0\n"
		"# HELP b_gauge b\n# TYPE b_gauge gauge\n"
		"b_gauge{id=\"9\",k=\"b\"} 0\n"
		"b_gauge{id=\"9\",k=\"y\"} 0\n"
		"b_gauge{id=\"010\",k=\"a\"} 0\n"
		"b_gauge{id=\"10\",k=\"x\"} 0\n"
		"b_gauge{id=\"other\",k=\"a\"} 0\n");
}

static void test_refused(void **state)
{
	struct fx *fx = *state;
	static const double up[] = { 1, 2 }, down[] = { 2, 1 }, inf[] = { 1, INFINITY };
	const struct agent_mdesc bad[] = {
		{ "x_count", "counter without _total", AGENT_M_COUNTER, { NULL } },
		{ "x_total", "gauge with _total", AGENT_M_GAUGE, { NULL } },
		{ "1x", "starts with a digit", AGENT_M_GAUGE, { NULL } },
		{ "x-y", "dash", AGENT_M_GAUGE, { NULL } },
		{ "", "empty", AGENT_M_GAUGE, { NULL } },
		{ "x", "bad label", AGENT_M_GAUGE, { "a:b", NULL } },
		{ "x", "reserved label", AGENT_M_GAUGE, { "__name", NULL } },
		{ "x", "repeated label", AGENT_M_GAUGE, { "a", "a", NULL } },
		{ "x", "le on a histogram", AGENT_M_HISTOGRAM, { "le", NULL }, up, 2 },
		{ "x", "no buckets", AGENT_M_HISTOGRAM, { NULL }, up, 0 },
		{ "x", "buckets going down", AGENT_M_HISTOGRAM, { NULL }, down, 2 },
		{ "x", "infinite bucket", AGENT_M_HISTOGRAM, { NULL }, inf, 2 },
		{ "x", "too many buckets", AGENT_M_HISTOGRAM, { NULL }, up,
		  AGENT_M_BUCKETS_MAX + 1 },
		{ "x", "cap on no label", AGENT_M_GAUGE, { "a", NULL }, .cap_label = "b" },
	};
	struct agent_mdesc ok = { "x", "fine", AGENT_M_GAUGE, { "le", NULL } };
	struct agent_mfamily *f;
	const char *v[] = { "a", NULL };
	struct agent_mseries *s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = agent_metrics_add(fx->m, &bad[i], &f);

		if (rc != -EINVAL)
			fail_msg("%s (%s): %d, want -EINVAL", bad[i].name, bad[i].help, rc);
	}
	assert_int_equal(agent_metrics_add(fx->m, &ok, &f), 0);	/* le is fine on a gauge */
	assert_int_equal(agent_metrics_add(fx->m, &ok, &f), -EEXIST);
	assert_ptr_equal(agent_metrics_family(fx->m, "x"), f);
	assert_null(agent_metrics_family(fx->m, "y"));
	assert_int_equal(agent_mfamily_series(f, NULL, &s), -EINVAL);
	v[0] = NULL;
	assert_int_equal(agent_mfamily_series(f, v, &s), -EINVAL);
	assert_null(agent_mfamily_only(f));
}

/* ------------------------------------------------------------------------- */
/* Cardinality cap                                                           */

static struct agent_mfamily *capped(struct fx *fx, const char *name, enum agent_mtype type,
				    enum agent_magg agg, size_t cap)
{
	static const double b[] = { 1, 10 };
	struct agent_mdesc d = { name, "capped", type, { "rtpath", "type", NULL },
				 type == AGENT_M_HISTOGRAM ? b : NULL,
				 type == AGENT_M_HISTOGRAM ? 2 : 0, "rtpath", cap, agg };
	struct agent_mfamily *f = add(fx, &d);
	const char *v[] = { "ignored", "deadline", NULL };
	struct agent_mseries *s;

	assert_int_equal(agent_mfamily_pin(f, v, &s), 0);	/* -> rtpath="other" */
	v[1] = "reservation";
	assert_int_equal(agent_mfamily_pin(f, v, &s), 0);
	return f;
}

static void test_cap_gauges(void **state)
{
	struct fx *fx = *state;
	struct agent_mfamily *sum = capped(fx, "g_sum", AGENT_M_GAUGE, AGENT_M_SUM, 2);
	struct agent_mfamily *min = capped(fx, "g_min", AGENT_M_GAUGE, AGENT_M_MIN, 2);
	struct agent_mfamily *max = capped(fx, "g_max", AGENT_M_GAUGE, AGENT_M_MAX, 2);
	struct agent_mfamily *fams[] = { sum, min, max };
	static const char *const ids[] = { "1", "2", "3", "4", "5" };
	static const double vals[] = { 10, 20, 3, 40, 5 };

	for (size_t f = 0; f < 3; f++) {
		for (size_t i = 0; i < 5; i++) {
			struct agent_mseries *s = series(fams[f], ids[i], "deadline");

			agent_mseries_set(s, vals[i]);
			assert_int_equal(agent_mseries_hidden(s), i >= 2);
		}
		assert_int_equal(agent_mfamily_n_series(fams[f]), 7);	/* 5 + 2 other */
		assert_int_equal(agent_mfamily_n_hidden(fams[f]), 3);
	}
	assert_string_equal(render(fx),
		"# HELP g_max capped\n# TYPE g_max gauge\n"
		"g_max{rtpath=\"1\",type=\"deadline\"} 10\n"
		"g_max{rtpath=\"2\",type=\"deadline\"} 20\n"
		"g_max{rtpath=\"other\",type=\"deadline\"} 40\n"
		"g_max{rtpath=\"other\",type=\"reservation\"} 0\n"
		"# HELP g_min capped\n# TYPE g_min gauge\n"
		"g_min{rtpath=\"1\",type=\"deadline\"} 10\n"
		"g_min{rtpath=\"2\",type=\"deadline\"} 20\n"
		"g_min{rtpath=\"other\",type=\"deadline\"} 3\n"
		"g_min{rtpath=\"other\",type=\"reservation\"} 0\n"
		"# HELP g_sum capped\n# TYPE g_sum gauge\n"
		"g_sum{rtpath=\"1\",type=\"deadline\"} 10\n"
		"g_sum{rtpath=\"2\",type=\"deadline\"} 20\n"
		"g_sum{rtpath=\"other\",type=\"deadline\"} 48\n"
		"g_sum{rtpath=\"other\",type=\"reservation\"} 0\n");
	/* per class, the exported series add up to the whole: 10+20+48 = 78 */
}

static void test_cap_counters_monotonic(void **state)
{
	struct fx *fx = *state;
	struct agent_mfamily *f = capped(fx, "c_total", AGENT_M_COUNTER, AGENT_M_SUM, 1);

	agent_mseries_set(series(f, "1", "deadline"), 5);
	agent_mseries_set(series(f, "2", "deadline"), 7);	/* hidden */
	agent_mseries_set(series(f, "3", "reservation"), 11);	/* hidden */
	assert_non_null(strstr(render(fx), "c_total{rtpath=\"other\",type=\"deadline\"} 7\n"));
	/* a collection that no longer sees rtpaths 1 and 2: removed; 2's count
	 * stays in its aggregate, so "other" does not go down */
	agent_mfamily_begin(f);
	agent_mseries_set(series(f, "3", "reservation"), 12);
	agent_mfamily_sweep(f);
	assert_int_equal(agent_mfamily_n_series(f), 3);
	assert_string_equal(render(fx),
		"# HELP c_total capped\n# TYPE c_total counter\n"
		"c_total{rtpath=\"other\",type=\"deadline\"} 7\n"
		"c_total{rtpath=\"other\",type=\"reservation\"} 12\n");
	/* the slot freed by rtpath 1 goes to the next new series, not to 3 */
	agent_mseries_set(series(f, "4", "deadline"), 1);
	assert_true(agent_mseries_hidden(series(f, "3", "reservation")));
	assert_non_null(strstr(render(fx), "c_total{rtpath=\"4\",type=\"deadline\"} 1\n"));
}

static void test_cap_histogram_and_zero_cap(void **state)
{
	struct fx *fx = *state;
	struct agent_mfamily *f = capped(fx, "h_seconds", AGENT_M_HISTOGRAM, AGENT_M_SUM, 0);
	struct agent_mseries *a = series(f, "1", "deadline"), *b = series(f, "2", "deadline");

	assert_true(agent_mseries_hidden(a) && agent_mseries_hidden(b));
	agent_mseries_observe(a, 0.5);
	agent_mseries_observe(b, 5);
	agent_mseries_observe(b, 50);
	agent_mfamily_begin(f);
	series(f, "2", "deadline");
	agent_mfamily_sweep(f);	/* 1 removed: its observation stays */
	assert_non_null(strstr(render(fx),
		"h_seconds_bucket{rtpath=\"other\",type=\"deadline\",le=\"1\"} 1\n"
		"h_seconds_bucket{rtpath=\"other\",type=\"deadline\",le=\"10\"} 2\n"
		"h_seconds_bucket{rtpath=\"other\",type=\"deadline\",le=\"+Inf\"} 3\n"
		"h_seconds_sum{rtpath=\"other\",type=\"deadline\"} 55.5\n"
		"h_seconds_count{rtpath=\"other\",type=\"deadline\"} 3\n"));
	assert_null(strstr(fx->b.p, "rtpath=\"1\""));
	assert_int_equal(agent_metrics_n_rendered(fx->m), 2);
}

static void test_sweep_keeps_pinned(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc d = { "links", "l", AGENT_M_GAUGE, { "link", NULL } };
	struct agent_mfamily *f = add(fx, &d);
	const char *v[] = { "fixed", NULL };
	struct agent_mseries *p;
	char id[16];

	assert_int_equal(agent_mfamily_pin(f, v, &p), 0);
	for (int i = 0; i < 1000; i++) {	/* grows the hash table a few times */
		snprintf(id, sizeof(id), "l%d", i);
		agent_mseries_set(series(f, id, NULL), i);
	}
	assert_int_equal(agent_mfamily_n_series(f), 1001);
	agent_mfamily_begin(f);
	for (int i = 0; i < 1000; i += 2) {
		snprintf(id, sizeof(id), "l%d", i);
		assert_true(agent_mseries_value(series(f, id, NULL)) == i);
	}
	agent_mfamily_sweep(f);
	assert_int_equal(agent_mfamily_n_series(f), 501);
	assert_non_null(strstr(render(fx), "links{link=\"fixed\"} 0\n"));
	assert_null(strstr(fx->b.p, "links{link=\"l1\"}"));
	assert_non_null(strstr(fx->b.p, "links{link=\"l998\"} 998\n"));
	agent_mfamily_begin(f);
	agent_mfamily_sweep(f);
	assert_string_equal(render(fx), "# HELP links l\n# TYPE links gauge\nlinks{link=\"fixed\"} 0\n");
}

/* A labelled family that never had a series (a follower's follower-lag
 * family) renders its HELP and TYPE only. */
static void test_empty_family(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc d = { "lag_entries", "Lag.", AGENT_M_GAUGE, { "peer", NULL } };
	struct agent_mfamily *f = add(fx, &d);

	agent_mfamily_begin(f);
	agent_mfamily_sweep(f);
	assert_string_equal(render(fx), "# HELP lag_entries Lag.\n# TYPE lag_entries gauge\n");
	assert_int_equal(agent_metrics_n_rendered(fx->m), 0);
}

static void test_long_label_values(void **state)
{
	struct fx *fx = *state;
	struct agent_mdesc d = { "long_info", "l", AGENT_M_GAUGE, { "v", NULL } };
	struct agent_mfamily *f = add(fx, &d);
	char *big = malloc(5000);

	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	agent_mseries_set(series(f, big, NULL), 2);
	assert_ptr_equal(series(f, big, NULL), series(f, big, NULL));
	assert_int_equal(agent_mfamily_n_series(f), 1);
	assert_int_equal(strlen(render(fx)), strlen("# HELP long_info l\n# TYPE long_info gauge\n") +
						strlen("long_info{v=\"\"} 2\n") + 4999);
	free(big);
}

/* ------------------------------------------------------------------------- */
/* [metrics] in rtvd's configuration                                         */

static const char base_conf[] =
	"[node]\nid = 1\nname = h1\ndata_dir = /var/lib/rtvd\nraft_addr = 127.0.0.1:7001\n"
	"rpc_addr = tcp://127.0.0.1:8001\n[cluster]\npeer = 1@127.0.0.1:7001@tcp://127.0.0.1:8001\n"
	"[uplink]\ncapacity = 1G\n" "[tls]\ninsecure = true\n";

static int parse_with(const char *extra, struct agent_config *cfg, char *err)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	return agent_config_parse(cfg, "t.conf", text, err, AGENT_CONFIG_ERRLEN);
}

static void test_config(void **state)
{
	static const struct { const char *extra, *want; } bad[] = {
		{ "[metrics]\nlisten = 9464\n", "[metrics] listen" },
		{ "[metrics]\nlisten = 127.0.0.1:70000\n", "[metrics] listen" },
		{ "[metrics]\nlisten = 127.0.0.1:7001\n", "is also [node] raft_addr" },
		{ "[metrics]\nlisten = 127.0.0.1:8001\n", "is also [node] rpc_addr" },
		{ "[metrics]\nrtpath_cap = 1000001\n", "[metrics] rtpath_cap" },
		{ "[metrics]\nrtpath_cap = -1\n", "[metrics] rtpath_cap" },
		{ "[metrics]\nport = 9464\n", "keys in [metrics]: listen, rtpath_cap" },
		{ "[metrics]\nlisten = 127.0.0.1:9464\nlisten = 127.0.0.1:9465\n", "given twice" },
	};
	static struct agent_config cfg;
	char err[AGENT_CONFIG_ERRLEN];

	(void)state;
	assert_int_equal(parse_with("", &cfg, err), 0);
	assert_string_equal(cfg.metrics_listen, "");
	assert_int_equal(cfg.metrics_rtpath_cap, 1000);
	assert_int_equal(parse_with("[metrics]\nlisten = 127.0.0.1:9464\nrtpath_cap = 0\n", &cfg, err), 0);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9464");
	assert_int_equal(cfg.metrics_rtpath_cap, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_with(bad[i].extra, &cfg, err);

		if (rc != -EINVAL || !strstr(err, bad[i].want) || strncmp(err, "t.conf:", 7) != 0)
			fail_msg("\"%s\": rc %d, err \"%s\", want -EINVAL and \"%s\"", bad[i].extra,
				 rc, err, bad[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_golden_counter_gauge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_golden_histogram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_unlabelled_and_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_gauges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_counters_monotonic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_histogram_and_zero_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_keeps_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_family, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_label_values, setup, teardown),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
