/* metrics.c — the registry (see metrics.h; metrics_text.c renders it).
 *
 * Each family keeps its series twice: in a hash table keyed by the label
 * values (lookups on every collection: 10,000 rtpaths × a few families per
 * scrape) and in an array that is sorted only when it changed since the
 * last render. A series is one allocation: the struct, then its bucket
 * arrays, its key (the values, NUL-separated) and its rendered label text
 * (name="escaped value",...), so rendering a line is a few memcpy.
 *
 * Aggregates under a cap are recomputed at each render from the hidden
 * series plus what removed hidden series left behind (ret_*), so they never
 * go backwards for counters and histograms.
 */
#include "agent/telemetry/metrics_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_STACK 512

/* ------------------------------------------------------------------------- */
/* Names                                                                     */

static bool name_ok(const char *s, bool colon)
{
	if (!s || !s[0])
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (colon && c == ':');

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}
/* ------------------------------------------------------------------------- */
/* Registry and families                                                     */

int agent_metrics_new(struct agent_metrics **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void series_free(struct agent_mseries *s)
{
	free(s);
}

static void family_free(struct agent_mfamily *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		series_free(f->all[i]);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->all);
	free(f->tab);
	free(f->name);
	free(f->help);
	free(f);
}

void agent_metrics_free(struct agent_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		family_free(m->fams[i]);
	free(m->fams);
	free(m);
}

/* Index of the capped label, or -1. */
static int cap_index(const struct agent_mdesc *d, size_t n_labels)
{
	for (size_t i = 0; d->cap_label && i < n_labels; i++)
		if (strcmp(d->labels[i], d->cap_label) == 0)
			return (int)i;
	return -1;
}

static int desc_check(const struct agent_mdesc *d, size_t *n_labels)
{
	size_t n = 0;

	if (!name_ok(d->name, true) || (d->type == AGENT_M_COUNTER) != ends_with(d->name, "_total"))
		return -EINVAL;
	for (; n < AGENT_M_LABELS_MAX && d->labels[n]; n++) {
		if (!name_ok(d->labels[n], false) || strncmp(d->labels[n], "__", 2) == 0 ||
		    (d->type == AGENT_M_HISTOGRAM && strcmp(d->labels[n], "le") == 0))
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			if (strcmp(d->labels[j], d->labels[n]) == 0)
				return -EINVAL;
	}
	if (n == AGENT_M_LABELS_MAX && d->labels[n])
		return -EINVAL;
	if (d->cap_label && cap_index(d, n) < 0)
		return -EINVAL;
	if (d->type == AGENT_M_HISTOGRAM) {
		if (d->n_buckets < 1 || d->n_buckets > AGENT_M_BUCKETS_MAX || !d->buckets)
			return -EINVAL;
		for (size_t i = 0; i < d->n_buckets; i++)
			if (!isfinite(d->buckets[i]) || (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
				return -EINVAL;
	}
	*n_labels = n;
	return 0;
}

static int family_fill(struct agent_mfamily *f, const struct agent_mdesc *d, size_t n_labels)
{
	f->name = strdup(d->name);
	f->help = strdup(d->help ? d->help : "");
	if (!f->name || !f->help)
		return -ENOMEM;
	f->name_len = strlen(f->name);
	f->type = d->type;
	for (; f->n_labels < n_labels; f->n_labels++)
		if (!(f->labels[f->n_labels] = strdup(d->labels[f->n_labels])))
			return -ENOMEM;
	if (d->type == AGENT_M_HISTOGRAM) {
		f->n_buckets = d->n_buckets;
		for (size_t i = 0; i < d->n_buckets; i++) {
			f->bounds[i] = d->buckets[i];
			agent_metrics_fmt_value(f->le[i], d->buckets[i]);
		}
		strcpy(f->le[d->n_buckets], "+Inf");
	}
	f->cap_label = cap_index(d, n_labels);
	f->cap = d->cap;
	f->agg = d->agg;
	f->tab_size = 16;
	f->tab = calloc(f->tab_size, sizeof(*f->tab));
	return f->tab ? 0 : -ENOMEM;
}

static int registry_insert(struct agent_metrics *m, struct agent_mfamily *f)
{
	size_t at = 0;

	while (at < m->n && strcmp(m->fams[at]->name, f->name) < 0)
		at++;
	if (at < m->n && strcmp(m->fams[at]->name, f->name) == 0)
		return -EEXIST;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct agent_mfamily **p = realloc(m->fams, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->fams = p;
		m->cap = cap;
	}
	memmove(m->fams + at + 1, m->fams + at, (m->n - at) * sizeof(*m->fams));
	m->fams[at] = f;
	m->n++;
	return 0;
}

int agent_metrics_add(struct agent_metrics *m, const struct agent_mdesc *d,
		      struct agent_mfamily **out)
{
	struct agent_mfamily *f;
	struct agent_mseries *only;
	size_t n_labels;
	int rc = desc_check(d, &n_labels);

	if (rc < 0)
		return rc;
	if (agent_metrics_family(m, d->name))
		return -EEXIST;
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	rc = family_fill(f, d, n_labels);
	if (rc == 0 && n_labels == 0)
		rc = agent_mfamily_pin(f, NULL, &only);
	if (rc == 0)
		rc = registry_insert(m, f);
	if (rc < 0) {
		family_free(f);
		return rc;
	}
	if (out)
		*out = f;
	return 0;
}

struct agent_mfamily *agent_metrics_family(const struct agent_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->fams[i]->name, name) == 0)
			return m->fams[i];
	return NULL;
}

const char *agent_mfamily_name(const struct agent_mfamily *f)
{
	return f->name;
}

size_t agent_mfamily_n_series(const struct agent_mfamily *f)
{
	return f->n;
}

size_t agent_mfamily_n_hidden(const struct agent_mfamily *f)
{
	return f->n_hidden;
}

/* ------------------------------------------------------------------------- */
/* Series: keys, lookup, creation, removal                                   */

/* The key of `values` (the cap label read as "other" if agg) into buf, or
 * into a malloc'd block when it does not fit (*heap set). */
static int key_build(const struct agent_mfamily *f, const char *const *values, bool agg,
		     char *buf, char **key, size_t *len, bool *heap)
{
	size_t n = 0, at = 0;

	for (size_t i = 0; i < f->n_labels; i++) {
		const char *v = agg && (int)i == f->cap_label ? AGENT_M_OTHER : values[i];

		if (!v)
			return -EINVAL;
		n += strlen(v) + 1;
	}
	*heap = n > KEY_STACK;
	*key = *heap ? malloc(n) : buf;
	if (!*key)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_labels; i++) {
		const char *v = agg && (int)i == f->cap_label ? AGENT_M_OTHER : values[i];
		size_t l = strlen(v) + 1;

		memcpy(*key + at, v, l);
		at += l;
	}
	*len = n;
	return 0;
}

static uint32_t hash_key(const char *k, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h;
}

static struct agent_mseries *lookup(const struct agent_mfamily *f, const char *k, size_t len,
				    uint32_t h)
{
	struct agent_mseries *s = f->tab[h & (f->tab_size - 1)];

	for (; s; s = s->hnext)
		if (s->hash == h && s->key_len == len && memcmp(s->key, k, len) == 0)
			return s;
	return NULL;
}

static int tab_grow(struct agent_mfamily *f)
{
	size_t size = f->tab_size * 2;
	struct agent_mseries **tab = calloc(size, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		struct agent_mseries *s = f->all[i];

		s->hnext = tab[s->hash & (size - 1)];
		tab[s->hash & (size - 1)] = s;
	}
	free(f->tab);
	f->tab = tab;
	f->tab_size = size;
	return 0;
}

/* Room in f->all and f->tab for one more series. */
static int family_room(struct agent_mfamily *f)
{
	if (f->n == f->all_cap) {
		size_t cap = f->all_cap ? f->all_cap * 2 : 8;
		struct agent_mseries **p = realloc(f->all, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->all = p;
		f->all_cap = cap;
	}
	return f->n + 1 > f->tab_size ? tab_grow(f) : 0;
}

static size_t lbl_len(const struct agent_mfamily *f, const char *k)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_labels; i++) {
		n += (i ? 1 : 0) + strlen(f->labels[i]) + 3 + agent__mesc_len(k, true);
		k += strlen(k) + 1;
	}
	return n;
}

static void lbl_write(const struct agent_mfamily *f, const char *k, char *out)
{
	for (size_t i = 0; i < f->n_labels; i++) {
		if (i)
			*out++ = ',';
		out += sprintf(out, "%s=\"", f->labels[i]);
		out = agent__mesc(out, k, true);
		*out++ = '"';
		k += strlen(k) + 1;
	}
	*out = '\0';
}

static struct agent_mseries *series_alloc(struct agent_mfamily *f, const char *k, size_t len,
					  bool agg)
{
	size_t nb = f->type == AGENT_M_HISTOGRAM ? f->n_buckets + 1 : 0;
	size_t bytes = (agg ? 2 : 1) * nb * sizeof(uint64_t);
	size_t ll = lbl_len(f, k);
	struct agent_mseries *s = calloc(1, sizeof(*s) + bytes + len + ll + 1);
	char *tail;

	if (!s)
		return NULL;
	s->f = f;
	s->b = (uint64_t *)(s + 1);
	s->ret_b = agg ? s->b + nb : NULL;
	tail = (char *)(s + 1) + bytes;
	memcpy(tail, k, len);
	s->key = tail;
	s->key_len = len;
	lbl_write(f, k, tail + len);
	s->lbl = tail + len;
	s->lbl_len = ll;
	s->is_agg = agg;
	return s;
}

static int series_get(struct agent_mfamily *f, const char *const *values, bool pin,
		      struct agent_mseries **out);

static int series_new(struct agent_mfamily *f, const char *k, size_t len, uint32_t h,
		      const char *const *values, bool pin, struct agent_mseries **out)
{
	bool capped = f->cap_label >= 0 && !pin && f->n_visible >= f->cap;
	struct agent_mseries *other = NULL, *s;
	int rc;

	if (capped && (rc = series_get(f, values, true, &other)) < 0)
		return rc;
	if ((rc = family_room(f)) < 0)
		return rc;
	if (!(s = series_alloc(f, k, len, pin && f->cap_label >= 0)))
		return -ENOMEM;
	s->hash = h;
	s->pinned = pin;
	s->other = other;
	s->idx = f->n;
	f->all[f->n++] = s;
	s->hnext = f->tab[h & (f->tab_size - 1)];
	f->tab[h & (f->tab_size - 1)] = s;
	if (other)
		f->n_hidden++;
	else if (!pin)
		f->n_visible++;
	f->sorted = false;
	*out = s;
	return 0;
}

static int series_get(struct agent_mfamily *f, const char *const *values, bool pin,
		      struct agent_mseries **out)
{
	char buf[KEY_STACK], *k;
	bool heap = false;
	size_t len = 0;
	uint32_t h;
	int rc = key_build(f, values, pin && f->cap_label >= 0, buf, &k, &len, &heap);

	if (rc < 0)
		return rc;
	h = hash_key(k, len);
	*out = lookup(f, k, len, h);
	if (!*out) {
		rc = series_new(f, k, len, h, values, pin, out);
	} else if (pin && !(*out)->pinned && !(*out)->other) {
		(*out)->pinned = true;	/* no longer counted against the cap */
		f->n_visible--;
	}
	if (rc == 0)
		(*out)->seen = f->epoch;
	if (heap)
		free(k);
	return rc;
}

int agent_mfamily_series(struct agent_mfamily *f, const char *const *values,
			 struct agent_mseries **out)
{
	if (f->n_labels && !values)
		return -EINVAL;
	return series_get(f, values, false, out);
}

int agent_mfamily_pin(struct agent_mfamily *f, const char *const *values,
		      struct agent_mseries **out)
{
	if (f->n_labels && !values)
		return -EINVAL;
	return series_get(f, values, true, out);
}

struct agent_mseries *agent_mfamily_only(struct agent_mfamily *f)
{
	return f->n_labels == 0 && f->n == 1 ? f->all[0] : NULL;
}

/* A hidden counter or histogram leaves its counts in its aggregate. */
static void retire(struct agent_mseries *s)
{
	struct agent_mseries *o = s->other;
	const struct agent_mfamily *f = s->f;

	if (f->type == AGENT_M_COUNTER) {
		o->ret_v += s->v;
	} else if (f->type == AGENT_M_HISTOGRAM) {
		for (size_t i = 0; i <= f->n_buckets; i++)
			o->ret_b[i] += s->b[i];
		o->ret_sum += s->sum;
	}
}

static void series_remove(struct agent_mfamily *f, struct agent_mseries *s)
{
	struct agent_mseries **pp = &f->tab[s->hash & (f->tab_size - 1)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	if (s->other) {
		retire(s);
		f->n_hidden--;
	} else if (!s->pinned) {
		f->n_visible--;
	}
	f->all[s->idx] = f->all[--f->n];
	f->all[s->idx]->idx = s->idx;
	f->sorted = false;
	series_free(s);
}

void agent_mfamily_begin(struct agent_mfamily *f)
{
	f->epoch++;
}

void agent_mfamily_sweep(struct agent_mfamily *f)
{
	for (size_t i = 0; i < f->n;) {
		struct agent_mseries *s = f->all[i];

		if (s->seen != f->epoch && !s->pinned)
			series_remove(f, s);	/* the last one moved to i */
		else
			i++;
	}
}

/* ------------------------------------------------------------------------- */
/* Values                                                                    */

void agent_mseries_set(struct agent_mseries *s, double v)
{
	if (s->f->type != AGENT_M_HISTOGRAM)
		s->v = v;
}

void agent_mseries_add(struct agent_mseries *s, double v)
{
	if (s->f->type != AGENT_M_HISTOGRAM && (s->f->type == AGENT_M_GAUGE || v >= 0))
		s->v += v;
}

void agent_mseries_observe(struct agent_mseries *s, double v)
{
	const struct agent_mfamily *f = s->f;
	size_t lo = 0, hi = f->n_buckets;

	if (f->type != AGENT_M_HISTOGRAM || isnan(v))
		return;
	while (lo < hi) {	/* the first bound >= v; n_buckets: +Inf */
		size_t mid = (lo + hi) / 2;

		if (v <= f->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	s->b[lo]++;
	s->sum += v;
}

int agent_mseries_hist_set(struct agent_mseries *s, const uint64_t *counts, size_t n,
			   double sum)
{
	if (s->f->type != AGENT_M_HISTOGRAM || n != s->f->n_buckets + 1)
		return -EINVAL;
	memcpy(s->b, counts, n * sizeof(*counts));
	s->sum = sum;
	return 0;
}

static uint64_t hist_count(const struct agent_mseries *s)
{
	uint64_t c = 0;

	for (size_t i = 0; i <= s->f->n_buckets; i++)
		c += s->b[i];
	return c;
}

double agent_mseries_value(const struct agent_mseries *s)
{
	return s->f->type == AGENT_M_HISTOGRAM ? (double)hist_count(s) : s->v;
}

bool agent_mseries_hidden(const struct agent_mseries *s)
{
	return s->other != NULL;
}

/* ------------------------------------------------------------------------- */
/* Aggregates and order, for the exposition                                  */

static void agg_fold(const struct agent_mfamily *f, struct agent_mseries *o,
		     const struct agent_mseries *s)
{
	if (f->type == AGENT_M_HISTOGRAM) {
		for (size_t i = 0; i <= f->n_buckets; i++)
			o->b[i] += s->b[i];
		o->sum += s->sum;
	} else if (f->type == AGENT_M_COUNTER || f->agg == AGENT_M_SUM) {
		o->v += s->v;
	} else if (o->n_members == 0 || (f->agg == AGENT_M_MIN ? s->v < o->v : s->v > o->v)) {
		o->v = s->v;
	}
	o->n_members++;
}

/* Aggregates = what removed hidden series left + every hidden series now. */
static void agg_compute(struct agent_mfamily *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct agent_mseries *o = f->all[i];

		if (!o->is_agg)
			continue;
		o->n_members = 0;
		o->v = f->type == AGENT_M_COUNTER ? o->ret_v : 0;
		if (f->type == AGENT_M_HISTOGRAM) {
			memcpy(o->b, o->ret_b, (f->n_buckets + 1) * sizeof(*o->b));
			o->sum = o->ret_sum;
		}
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->all[i]->other)
			agg_fold(f, f->all[i]->other, f->all[i]);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Label values in order; numbers as numbers. */
static int key_cmp(const char *a, const char *b, size_t n_labels)
{
	for (size_t i = 0; i < n_labels; i++) {
		int c;

		if (all_digits(a) && all_digits(b)) {
			while (a[0] == '0' && a[1])
				a++;
			while (b[0] == '0' && b[1])
				b++;
			c = strlen(a) < strlen(b) ? -1 : strlen(a) > strlen(b) ? 1 : strcmp(a, b);
		} else {
			c = strcmp(a, b);
		}
		if (c)
			return c;
		a += strlen(a) + 1;
		b += strlen(b) + 1;
	}
	return 0;
}

static int series_cmp(const void *x, const void *y)
{
	const struct agent_mseries *a = *(const struct agent_mseries *const *)x;
	const struct agent_mseries *b = *(const struct agent_mseries *const *)y;

	return key_cmp(a->key, b->key, a->f->n_labels);
}

static void family_sort(struct agent_mfamily *f)
{
	if (f->sorted || f->n == 0)
		return;
	qsort(f->all, f->n, sizeof(*f->all), series_cmp);
	for (size_t i = 0; i < f->n; i++)
		f->all[i]->idx = i;
	f->sorted = true;
}

void agent__mfamily_prepare(struct agent_mfamily *f)
{
	agg_compute(f);
	family_sort(f);
}
