/* metrics_internal.h — the registry's structs, shared by metrics.c (the
 * registry) and metrics_text.c (the exposition). Private to them. */
#ifndef RTV_AGENT_METRICS_INTERNAL_H
#define RTV_AGENT_METRICS_INTERNAL_H

#include "agent/telemetry/metrics.h"

struct agent_mseries {
	struct agent_mfamily *f;
	struct agent_mseries *hnext;	/* hash chain */
	struct agent_mseries *other;	/* hidden: the aggregate it folds into */
	const char *key;		/* values, each NUL-terminated, back to back */
	size_t key_len;
	const char *lbl;		/* rendered labels without braces; "" if none */
	size_t lbl_len;
	uint32_t hash, seen;
	size_t idx;			/* in f->all */
	bool pinned, is_agg;
	double v;			/* counter, gauge (aggregates: computed) */
	double sum;			/* histogram */
	uint64_t *b;			/* histogram: n_buckets + 1 counts */
	double ret_v, ret_sum;		/* aggregates: left by removed hidden series */
	uint64_t *ret_b;
	size_t n_members;		/* aggregates: hidden series folded at render */
};

struct agent_mfamily {
	char *name, *help;
	size_t name_len;
	enum agent_mtype type;
	char *labels[AGENT_M_LABELS_MAX];
	size_t n_labels;
	double bounds[AGENT_M_BUCKETS_MAX];
	size_t n_buckets;
	char le[AGENT_M_BUCKETS_MAX + 1][32];	/* le="..." values, +Inf last */
	int cap_label;
	size_t cap;
	enum agent_magg agg;
	struct agent_mseries **all, **tab;
	size_t n, all_cap, tab_size;
	size_t n_visible, n_hidden;	/* visible: not hidden, not pinned */
	uint32_t epoch;
	bool sorted;
};

struct agent_metrics {
	struct agent_mfamily **fams;	/* sorted by name */
	size_t n, cap;
	size_t n_rendered;
};

/* metrics_text.c: escaped length of s (label values escape \\, \" and
 * newline; HELP text \\ and newline), and s escaped into out (which has
 * room); returns the end. */
size_t agent__mesc_len(const char *s, bool quote);
char *agent__mesc(char *out, const char *s, bool quote);

/* metrics.c: recomputes f's aggregates and sorts its series, before f is
 * rendered. */
void agent__mfamily_prepare(struct agent_mfamily *f);

#endif /* RTV_AGENT_METRICS_INTERNAL_H */
