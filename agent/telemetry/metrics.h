/* metrics.h — a small Prometheus metrics registry and its text exposition
 * (format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * A registry holds families (one metric name, its HELP text, its TYPE and
 * its label names); a family holds series (one set of label values). Values
 * are doubles, as Prometheus stores them; histograms have fixed bucket
 * bounds chosen at registration and keep per-bucket counts, a sum and a
 * count. Nothing here knows about rtvd: agent/telemetry/telemetry.c defines rtvd's
 * metrics on top of it (docs/metrics.md lists them).
 *
 * Threads: none. A registry is used by one thread at a time — in rtvd the
 * libuv loop, which updates hot counters directly and refreshes everything
 * else from its sources just before it renders a scrape (agent/telemetry/http.c hands
 * the scrape over through the bridge). Other threads' counters (the
 * dataplane's atomics) are copied in at that moment with agent_mseries_set,
 * so nothing on a packet path ever touches the registry.
 *
 * Cardinality. A family may cap one of its labels (cap_label, e.g. "rtpath"):
 * at most `cap` series get their own label values; a series created beyond
 * the cap is hidden, and its value is folded into the family's aggregate
 * series, the one whose capped label reads AGENT_M_OTHER ("other") and whose
 * other labels are the hidden series' own (e.g. {rtpath="other",
 * type="deadline"}): so per-class aggregates always add up to the whole.
 * Counters and histograms fold as sums and stay monotonic (a hidden series
 * removed leaves its last value in the aggregate); gauges fold with the
 * family's agg (sum, min or max; 0 when nothing is folded). A series keeps
 * the slot it got until it is removed: which series are visible depends
 * only on the order they were created in. Aggregate series are pinned:
 * created up front with agent_mfamily_pin, they are always exported, so
 * dashboards see every class even when it is empty.
 *
 * Collections. A family whose series mirror a set that changes (rtpaths,
 * links, peers) is refreshed as begin → look up every current series →
 * sweep: series not looked up since begin are removed (pinned ones stay).
 *
 * Exposition: families by name, series by label values (numbers compared
 * as numbers: rtpath="9" before rtpath="10"), so equal registries render
 * equal bytes. HELP text and label values are escaped (\\, \n, and \" in
 * label values); integral values print without exponent, others with the
 * shortest of %.15g / %.17g that reads back exactly; NaN, +Inf, -Inf as
 * Prometheus spells them. No timestamps.
 *
 * Errors: 0 or a negative errno (-EINVAL for a name, label or bucket list
 * that Prometheus would refuse, -EEXIST for a name registered twice,
 * -ENOMEM).
 */
#ifndef RTV_AGENT_METRICS_H
#define RTV_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_M_LABELS_MAX 4
#define AGENT_M_BUCKETS_MAX 24
#define AGENT_M_OTHER "other"

enum agent_mtype { AGENT_M_COUNTER, AGENT_M_GAUGE, AGENT_M_HISTOGRAM };
/* How hidden gauges fold into their aggregate series. */
enum agent_magg { AGENT_M_SUM, AGENT_M_MIN, AGENT_M_MAX };

struct agent_mdesc {
	const char *name;		/* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total */
	const char *help;		/* one line for humans; escaped on output */
	enum agent_mtype type;
	const char *labels[AGENT_M_LABELS_MAX + 1];	/* names, NULL-terminated;
							 * "le" only on non-histograms */
	const double *buckets;		/* histograms: finite upper bounds, strictly */
	size_t n_buckets;		/* increasing, 1..AGENT_M_BUCKETS_MAX (+Inf implied) */
	const char *cap_label;		/* the label whose values are capped, or NULL */
	size_t cap;			/* with cap_label: series with their own values (>= 0) */
	enum agent_magg agg;		/* gauges under a cap */
};

struct agent_metrics;
struct agent_mfamily;
struct agent_mseries;

/* A growable output buffer: p holds len bytes (not NUL-terminated). */
struct agent_mbuf {
	char *p;
	size_t len, cap;
	bool failed;		/* an append ran out of memory */
};

void agent_mbuf_init(struct agent_mbuf *b);
void agent_mbuf_close(struct agent_mbuf *b);
void agent_mbuf_reset(struct agent_mbuf *b);	/* len = 0, keeps the memory */

int agent_metrics_new(struct agent_metrics **out);
void agent_metrics_free(struct agent_metrics *m);	/* NULL is a no-op */

/* Registers a family. The strings of d are copied. A family without labels
 * gets its one series at once (agent_mfamily_only). */
int agent_metrics_add(struct agent_metrics *m, const struct agent_mdesc *d,
		      struct agent_mfamily **out);
/* The family named `name`, or NULL. */
struct agent_mfamily *agent_metrics_family(const struct agent_metrics *m, const char *name);

/* Renders every family into b (appended). Returns 0 or -ENOMEM. Not const:
 * it sorts series lazily and recomputes the aggregates. */
int agent_metrics_render(struct agent_metrics *m, struct agent_mbuf *b);
/* Series rendered by the last agent_metrics_render (each histogram counts
 * once). */
size_t agent_metrics_n_rendered(const struct agent_metrics *m);

/* The series of a family without labels. */
struct agent_mseries *agent_mfamily_only(struct agent_mfamily *f);
/* Finds or creates the series with these label values (one per label name;
 * any bytes but NUL). Beyond the cap the new series is hidden and folded
 * into its aggregate, which is created (pinned) if needed. Marks the series
 * seen for agent_mfamily_sweep. Returns 0, -EINVAL (a value is NULL) or
 * -ENOMEM. */
int agent_mfamily_series(struct agent_mfamily *f, const char *const *values,
			 struct agent_mseries **out);
/* As agent_mfamily_series, but the series is pinned: never swept, never
 * hidden, not counted against the cap. With a cap, values[cap_label] is
 * replaced by AGENT_M_OTHER: this creates an aggregate. */
int agent_mfamily_pin(struct agent_mfamily *f, const char *const *values,
		      struct agent_mseries **out);
/* Starts a collection: see the header comment. */
void agent_mfamily_begin(struct agent_mfamily *f);
/* Ends it: removes the series not looked up since begin, unless pinned. */
void agent_mfamily_sweep(struct agent_mfamily *f);
/* Series in the family, hidden ones included / hidden ones only. */
size_t agent_mfamily_n_series(const struct agent_mfamily *f);
size_t agent_mfamily_n_hidden(const struct agent_mfamily *f);
const char *agent_mfamily_name(const struct agent_mfamily *f);

/* Values. set: gauges, and counters mirroring a monotonic count kept
 * elsewhere; add: counters (v >= 0) and gauges. observe: histograms.
 * hist_set: mirrors a histogram kept elsewhere: counts[i] observations in
 * bucket i (NOT cumulative; i = n_buckets is the +Inf bucket), n must be
 * n_buckets + 1; returns 0 or -EINVAL. A series of the wrong type ignores
 * calls that do not fit it. */
void agent_mseries_set(struct agent_mseries *s, double v);
void agent_mseries_add(struct agent_mseries *s, double v);
void agent_mseries_observe(struct agent_mseries *s, double v);
int agent_mseries_hist_set(struct agent_mseries *s, const uint64_t *counts, size_t n,
			   double sum);
double agent_mseries_value(const struct agent_mseries *s);	/* histograms: count */
bool agent_mseries_hidden(const struct agent_mseries *s);

/* Formats v as the exposition format does (tests, and other writers).
 * out needs 32 bytes; returns the length. */
size_t agent_metrics_fmt_value(char *out, double v);

#endif /* RTV_AGENT_METRICS_H */
