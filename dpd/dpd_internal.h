/* dpd_internal.h — shared by dpd/'s codec files. Private to dpd/. */
#ifndef RTV_DPD_INTERNAL_H
#define RTV_DPD_INTERNAL_H

#include <msgpack.h>

#include "common/mpack.h"

#include "dpd/dpd.h"

int dpd__fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One key of a map as a decoder expects it. */
enum dpd__ftype { F_U64, F_STR, F_ARR, F_MAP, F_BIN, F_BOOL };

struct dpd__field {
	const char *name;
	enum dpd__ftype type;
	bool optional;
	uint64_t max;			/* F_U64: largest value; F_STR/F_BIN/F_ARR: length */
	uint64_t *u;			/* F_U64 / F_BOOL: the value (optional: untouched) */
	const msgpack_object **o;	/* other types: the object (optional: NULL) */
};

/* Collects fields[0..n) from map o (unknown keys skipped): each at most
 * once, of its type, within its max; required ones present. ctx names the
 * map in err. 0, -EPROTO or -EINVAL. */
int dpd__fields(const msgpack_object *o, const struct dpd__field *f, size_t n, const char *ctx,
		char err[CONS_ERRLEN]);
/* A NUL-terminated copy of a msgpack string into out[cap] (length already
 * checked by dpd__fields against cap - 1). */
void dpd__str_copy(char *out, size_t cap, const msgpack_object *o);

/* Histograms (codec_stats.c). */
int dpd__hist_check(const struct dpd_hist *h, const char *ctx, char err[CONS_ERRLEN]);
int dpd__pack_hist(msgpack_packer *pk, const struct dpd_hist *h);
int dpd__unpack_hist(const msgpack_object *o, struct dpd_hist *h, const char *ctx,
		     char err[CONS_ERRLEN]);
void dpd__hist_free(struct dpd_hist *h);

/* Tables and miss batches (codec.c), also inside a handover. */
int dpd__table_check(const struct dpd_table *t, char err[CONS_ERRLEN]);
int dpd__pack_table(msgpack_packer *pk, const struct dpd_table *t);
int dpd__unpack_table(const msgpack_object *o, struct dpd_table *t, char err[CONS_ERRLEN]);
int dpd__misses_check(const struct dpd_misses *m, char err[CONS_ERRLEN]);
int dpd__pack_misses(msgpack_packer *pk, const struct dpd_misses *m);
int dpd__unpack_misses(const msgpack_object *o, struct dpd_misses *m, char err[CONS_ERRLEN]);

/* Stats and handover bodies (codec_stats.c): the keys after v/t/seq/re. */
size_t dpd__stats_keys(void);
int dpd__stats_check(const struct dpd_stats *s, char err[CONS_ERRLEN]);
int dpd__pack_stats(msgpack_packer *pk, const struct dpd_stats *s);
int dpd__unpack_stats(const msgpack_object *o, struct dpd_stats *s, char err[CONS_ERRLEN]);
void dpd__stats_free(struct dpd_stats *s);
int dpd__handover_check(const struct dpd_handover *h, char err[CONS_ERRLEN]);
size_t dpd__handover_keys(const struct dpd_handover *h);
int dpd__pack_handover(msgpack_packer *pk, const struct dpd_handover *h);
int dpd__unpack_handover(const msgpack_object *o, struct dpd_handover *h, char err[CONS_ERRLEN]);

#endif /* RTV_DPD_INTERNAL_H */
