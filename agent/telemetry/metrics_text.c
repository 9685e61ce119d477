/* metrics_text.c — Prometheus' text exposition format 0.0.4 of a registry
 * (see metrics.h for the rules: order, escaping, numbers).
 *
 * Everything is appended to one growable buffer; a failed allocation is
 * latched in it and reported once at the end, so the writers stay simple.
 * Integral values (every counter, most gauges) are printed by hand: a
 * 10,000-rtpath scrape is ~40,000 lines.
 */
#include "agent/telemetry/metrics_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Output buffer                                                             */

void agent_mbuf_init(struct agent_mbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void agent_mbuf_close(struct agent_mbuf *b)
{
	free(b->p);
	agent_mbuf_init(b);
}

void agent_mbuf_reset(struct agent_mbuf *b)
{
	b->len = 0;
	b->failed = false;
}

/* Room for n more bytes; false (and b->failed) without memory. */
static bool mbuf_room(struct agent_mbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(struct agent_mbuf *b, const char *s, size_t n)
{
	if (mbuf_room(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

static void puts_(struct agent_mbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ------------------------------------------------------------------------- */
/* Numbers                                                                   */

static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t agent_metrics_fmt_value(char *out, double v)
{
	int n;

	if (isnan(v))
		return (size_t)snprintf(out, 32, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, 32, "%s", v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return (size_t)snprintf(out, 32, "0");
	if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
		if (v > 0)
			return fmt_u64(out, (uint64_t)v);
		out[0] = '-';
		return 1 + fmt_u64(out + 1, (uint64_t)-v);
	}
	n = snprintf(out, 32, "%.15g", v);
	if (strtod(out, NULL) != v)
		n = snprintf(out, 32, "%.17g", v);
	return (size_t)n;
}

/* ------------------------------------------------------------------------- */
/* Escaping                                                                  */

/* Escaped length of s: label values escape \ " and newline; HELP \ and newline. */
size_t agent__mesc_len(const char *s, bool quote)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == '\\' || *s == '\n' || (quote && *s == '"')) ? 2 : 1;
	return n;
}

char *agent__mesc(char *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\' || (quote && *s == '"')) {
			*out++ = '\\';
			*out++ = *s;
		} else if (*s == '\n') {
			*out++ = '\\';
			*out++ = 'n';
		} else {
			*out++ = *s;
		}
	}
	return out;
}

/* ------------------------------------------------------------------------- */
/* Rendering                                                                 */

/* name[suffix]{lbl[,le="x"]} value\n */
static void line(struct agent_mbuf *b, const struct agent_mfamily *f, const char *suffix,
		 const struct agent_mseries *s, const char *le, const char *val, size_t val_len)
{
	size_t sl = strlen(suffix), ll = le ? strlen(le) : 0;
	char *p;

	if (!mbuf_room(b, f->name_len + sl + s->lbl_len + ll + val_len + 16))
		return;
	p = b->p + b->len;
	memcpy(p, f->name, f->name_len), p += f->name_len;
	memcpy(p, suffix, sl), p += sl;
	if (s->lbl_len || le) {
		*p++ = '{';
		memcpy(p, s->lbl, s->lbl_len), p += s->lbl_len;
		if (le) {
			if (s->lbl_len)
				*p++ = ',';
			memcpy(p, "le=\"", 4), p += 4;
			memcpy(p, le, ll), p += ll;
			*p++ = '"';
		}
		*p++ = '}';
	}
	*p++ = ' ';
	memcpy(p, val, val_len), p += val_len;
	*p++ = '\n';
	b->len = (size_t)(p - b->p);
}

static void render_hist(struct agent_mbuf *b, const struct agent_mfamily *f,
			const struct agent_mseries *s)
{
	char val[32];
	uint64_t cum = 0;
	size_t n;

	for (size_t i = 0; i <= f->n_buckets; i++) {
		cum += s->b[i];
		n = fmt_u64(val, cum);
		line(b, f, "_bucket", s, f->le[i], val, n);
	}
	n = agent_metrics_fmt_value(val, s->sum);
	line(b, f, "_sum", s, NULL, val, n);
	n = fmt_u64(val, cum);
	line(b, f, "_count", s, NULL, val, n);
}

static void render_head(struct agent_mbuf *b, const struct agent_mfamily *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	size_t hl = agent__mesc_len(f->help, false);

	puts_(b, "# HELP ");
	put(b, f->name, f->name_len);
	if (mbuf_room(b, hl + 2)) {
		b->p[b->len++] = ' ';
		b->len = (size_t)(agent__mesc(b->p + b->len, f->help, false) - b->p);
		b->p[b->len++] = '\n';
	}
	puts_(b, "# TYPE ");
	put(b, f->name, f->name_len);
	put(b, " ", 1);
	puts_(b, types[f->type]);
	put(b, "\n", 1);
}

static size_t render_family(struct agent_mbuf *b, struct agent_mfamily *f)
{
	char val[32];
	size_t n = 0;

	agent__mfamily_prepare(f);
	render_head(b, f);
	for (size_t i = 0; i < f->n; i++) {
		const struct agent_mseries *s = f->all[i];

		if (s->other)
			continue;
		n++;
		if (f->type == AGENT_M_HISTOGRAM)
			render_hist(b, f, s);
		else
			line(b, f, "", s, NULL, val, agent_metrics_fmt_value(val, s->v));
	}
	return n;
}

int agent_metrics_render(struct agent_metrics *m, struct agent_mbuf *b)
{
	m->n_rendered = 0;
	for (size_t i = 0; i < m->n; i++)
		m->n_rendered += render_family(b, m->fams[i]);
	return b->failed ? -ENOMEM : 0;
}

size_t agent_metrics_n_rendered(const struct agent_metrics *m)
{
	return m->n_rendered;
}
