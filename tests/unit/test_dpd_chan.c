/* test_dpd_chan.c — the rtvd<->rtvdp channel's codec and framing
 * (dpd/dpd.h), and the miss backlog.
 *
 * Codec: every message type round-trips field for field; a frame fed a
 * byte at a time, or two frames in one read, come out whole; a newer
 * version, an unknown type, a missing, repeated or mistyped key, an
 * out-of-range value or an inconsistent body is refused with its errno and
 * a message and leaves the output alone; unknown keys are ignored (a newer
 * peer may add some). Backlog: order, sequence numbers, acknowledgement
 * (clamped to what was handed out), overflow counted, restore. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "dpd/dpd.h"

#define MBPS 1000000ull
#define MS 1000000ull

static struct cons_rtpath mk_path(uint64_t id)
{
	struct cons_rtpath p = {
		.id = id, .src_host = 1, .dst_host = 2,
		.req = { .src_ip = 0x0a000001, .dst_ip = 0x0a000002, .proto = 17,
			 .dport = (uint16_t)(5000 + id), .type = CONS_PATH_DEADLINE,
			 .rate_bps = 2 * MBPS, .burst_bytes = 3000, .deadline_ns = 5 * MS,
			 .max_pkt_bytes = 1500 },
		.tc = 5, .dscp = 46, .service_rate_bps = 2 * MBPS,
		.service_rate_base_bps = 2 * MBPS, .net_budget_ns = 100000,
		.sched_deadline_ns = 5 * MS - 100000, .admitted_index = 10 + id,
	};

	snprintf(p.req.owner, sizeof(p.req.owner), "tenant%llu", (unsigned long long)id);
	return p;
}

/* Zeroed padding, so that reports compare as bytes. */
static struct dp_miss_report mk_report(uint64_t id)
{
	struct dp_miss_report r;

	memset(&r, 0, sizeof(r));
	r.path_id = id;
	r.src_host = 1;
	r.first_ns = 1700000000000000000ull + id;
	r.last_ns = 1700000000050000000ull + id;
	r.misses = (uint32_t)(3 + id);
	r.max_exceed_ns = 12345;
	r.max_exceed_ip_id = 0xbeef;
	r.last_ip_id = 0xcafe;
	r.uncertainty_ns = 100000;
	return r;
}

/* Encodes m, checks the frame header, decodes the body into *out. */
static void roundtrip(const struct dpd_msg *m, struct dpd_msg *out)
{
	char err[CONS_ERRLEN] = "";
	uint8_t *buf;
	size_t len;
	uint32_t n;

	assert_int_equal(dpd_msg_encode(m, (void **)&buf, &len, err), 0);
	assert_true(len > DPD_HDR_BYTES);
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	assert_int_equal(n, len - DPD_HDR_BYTES);
	memset(out, 0, sizeof(*out));
	if (dpd_msg_decode(buf + DPD_HDR_BYTES, n, out, err) != 0)
		fail_msg("decode: %s", err);
	assert_int_equal(out->type, m->type);
	assert_int_equal(out->seq, m->seq);
	assert_int_equal(out->re, m->re);
	free(buf);
}

static void test_small_messages(void **state)
{
	struct dpd_msg m = { .type = DPD_T_HELLO, .seq = 1 }, back;

	(void)state;
	m.u.hello = (struct dpd_hello){ .host_id = 3, .pid = 4242 };
	strcpy(m.u.hello.name, "rtvd");
	roundtrip(&m, &back);
	assert_int_equal(back.u.hello.host_id, 3);
	assert_int_equal(back.u.hello.pid, 4242);
	assert_string_equal(back.u.hello.name, "rtvd");

	m = (struct dpd_msg){ .type = DPD_T_STATE, .seq = 9, .re = 1 };
	m.u.state = (struct dpd_state){ .host_id = 3, .uplink_bps = 100 * MBPS, .pid = 77,
		.mode = DPD_MODE_DEGRADED, .started_ns = 1700000000000000000ull, .takeovers = 2,
		.gen = 5, .index = 1234, .n_tx = 6, .n_rx = 7, .misses_kept = 8,
		.misses_dropped = 9, .next_seq = 10 };
	strcpy(m.u.state.version, "rtvdp 1");
	roundtrip(&m, &back);
	assert_memory_equal(&back.u.state, &m.u.state, sizeof(m.u.state));

	m = (struct dpd_msg){ .type = DPD_T_TABLE_OK, .seq = 10, .re = 2 };
	m.u.table_ok = (struct dpd_table_ok){ .gen = 6, .index = 1300, .n_tx = 1, .n_rx = 2 };
	roundtrip(&m, &back);
	assert_memory_equal(&back.u.table_ok, &m.u.table_ok, sizeof(m.u.table_ok));

	m = (struct dpd_msg){ .type = DPD_T_MISSES_GET, .seq = 3 };
	m.u.misses_get = (struct dpd_misses_get){ .ack = 41, .max = 256 };
	roundtrip(&m, &back);
	assert_int_equal(back.u.misses_get.ack, 41);
	assert_int_equal(back.u.misses_get.max, 256);

	m = (struct dpd_msg){ .type = DPD_T_ERROR, .seq = 11, .re = 3 };
	m.u.error.code = -ESTALE;
	strcpy(m.u.error.msg, "table built at index 3 is older than the one in force");
	roundtrip(&m, &back);
	assert_int_equal(back.u.error.code, -ESTALE);
	assert_string_equal(back.u.error.msg, m.u.error.msg);

	m = (struct dpd_msg){ .type = DPD_T_STATS_GET, .seq = 4 };
	roundtrip(&m, &back);
}

static void test_table(void **state)
{
	struct cons_rtpath paths[3] = { mk_path(1), mk_path(2), mk_path(3) };
	uint8_t boost[3] = { 0, 2, 1 };
	struct dpd_msg m = { .type = DPD_T_TABLE, .seq = 5 }, back;
	struct dpd_table copy;

	(void)state;
	m.u.table = (struct dpd_table){ .index = 99, .n = 3, .paths = paths, .boost = boost };
	roundtrip(&m, &back);
	assert_int_equal(back.u.table.index, 99);
	assert_int_equal(back.u.table.n, 3);
	assert_memory_equal(back.u.table.paths, paths, sizeof(paths));
	assert_memory_equal(back.u.table.boost, boost, sizeof(boost));
	assert_int_equal(dpd_table_copy(&copy, &back.u.table), 0);
	assert_memory_equal(copy.paths, paths, sizeof(paths));
	dpd_table_free(&copy);
	dpd_msg_free(&back);
	assert_null(back.u.table.paths);

	m.u.table.n = 0;	/* an empty table is a table: every rtpath released */
	roundtrip(&m, &back);
	assert_int_equal(back.u.table.n, 0);
	dpd_msg_free(&back);
}

static void test_table_order(void **state)
{
	(void)state;
	assert_int_equal(dpd_table_order(0, 1), 0);
	assert_int_equal(dpd_table_order(50, 50), 0);	/* same state: taken (boosts) */
	assert_int_equal(dpd_table_order(50, 51), 0);
	assert_int_equal(dpd_table_order(50, 49), -ESTALE);
}

static void fill_hist(struct dpd_hist *h, uint32_t *idx, uint64_t *cnt, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		idx[i] = 100 + 7 * i;
		cnt[i] = 1 + i;
	}
	*h = (struct dpd_hist){ .count = 99, .sum = 123456, .min = 10, .max = 9000, .n = n,
				.idx = idx, .cnt = cnt };
}

static void assert_hist(const struct dpd_hist *a, const struct dpd_hist *b)
{
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->sum, b->sum);
	assert_int_equal(a->min, b->min);
	assert_int_equal(a->max, b->max);
	assert_int_equal(a->n, b->n);
	if (a->n) {
		assert_memory_equal(a->idx, b->idx, a->n * sizeof(*a->idx));
		assert_memory_equal(a->cnt, b->cnt, a->n * sizeof(*a->cnt));
	}
}

static void test_stats(void **state)
{
	uint32_t idx[4][5];
	uint64_t cnt[4][5];
	struct dpd_path_stats ps[2] = {
		{ .id = 7, .dir = DP_TX, .level = 1, .boost = 2,
		  .c = { .tx_pkts = 100, .tx_bytes = 150000, .tx_demoted = 1, .tx_policed = 2,
			 .tx_too_big = 3 } },
		{ .id = 8, .dir = DP_RX, .has_hist = true,
		  .c = { .rx_pkts = 200, .rx_misses = 4, .rx_max_late_ns = 5000 } },
	};
	struct dpd_msg m = { .type = DPD_T_STATS, .seq = 12, .re = 4 }, back;
	void *buf;
	size_t len;

	(void)state;
	for (int i = 0; i < DPD_C_N; i++)
		m.u.stats.ctr[i] = 1000 + (uint64_t)i;
	fill_hist(&m.u.stats.qdelay[DP_QC_RT], idx[0], cnt[0], 5);
	fill_hist(&m.u.stats.qdelay[DP_QC_NRT], idx[1], cnt[1], 2);
	fill_hist(&ps[1].delay, idx[2], cnt[2], 3);
	fill_hist(&ps[1].late, idx[3], cnt[3], 1);
	m.u.stats.n = 2;
	m.u.stats.paths = ps;
	roundtrip(&m, &back);
	assert_memory_equal(back.u.stats.ctr, m.u.stats.ctr, sizeof(m.u.stats.ctr));
	for (int q = 0; q < DP_QC_N; q++)
		assert_hist(&back.u.stats.qdelay[q], &m.u.stats.qdelay[q]);
	assert_int_equal(back.u.stats.n, 2);
	for (int i = 0; i < 2; i++) {
		const struct dpd_path_stats *a = &back.u.stats.paths[i], *b = &ps[i];

		assert_int_equal(a->id, b->id);
		assert_int_equal(a->dir, b->dir);
		assert_int_equal(a->level, b->level);
		assert_int_equal(a->boost, b->boost);
		assert_memory_equal(&a->c, &b->c, sizeof(a->c));
		assert_int_equal(a->has_hist, b->has_hist);
	}
	assert_hist(&back.u.stats.paths[1].delay, &ps[1].delay);
	assert_hist(&back.u.stats.paths[1].late, &ps[1].late);
	assert_string_equal(dpd_ctr_name(DPD_C_DROP_POOL), "drop_pool");
	dpd_msg_free(&back);

	idx[0][3] = idx[0][2];	/* buckets out of order: the encoder refuses */
	assert_int_equal(dpd_msg_encode(&m, &buf, &len, NULL), -EINVAL);
}

static void test_misses_and_handover(void **state)
{
	struct dp_miss_report r[3] = { mk_report(1), mk_report(2), mk_report(3) };
	struct cons_rtpath paths[1] = { mk_path(4) };
	uint8_t boost[1] = { 3 };
	struct dpd_msg m = { .type = DPD_T_MISSES, .seq = 13, .re = 3 }, back;
	void *buf;
	size_t len;

	(void)state;
	m.u.misses = (struct dpd_misses){ .first_seq = 40, .dropped = 2, .n = 3, .r = r };
	roundtrip(&m, &back);
	assert_int_equal(back.u.misses.first_seq, 40);
	assert_int_equal(back.u.misses.dropped, 2);
	assert_int_equal(back.u.misses.n, 3);
	assert_memory_equal(back.u.misses.r, r, sizeof(r));
	dpd_msg_free(&back);

	m = (struct dpd_msg){ .type = DPD_T_HANDOVER, .seq = 2, .re = 1 };
	m.u.handover = (struct dpd_handover){
		.gen = 17, .takeovers = 1, .n_fds = 3,
		.roles = { DPD_FD_LISTEN, DPD_FD_INT_RX, DPD_FD_UP_RX }, .has_table = true,
		.table = { .index = 500, .n = 1, .paths = paths, .boost = boost },
		.misses = { .first_seq = 7, .dropped = 0, .n = 2, .r = r },
	};
	roundtrip(&m, &back);
	assert_int_equal(back.u.handover.gen, 17);
	assert_int_equal(back.u.handover.takeovers, 1);
	assert_int_equal(back.u.handover.n_fds, 3);
	assert_memory_equal(back.u.handover.roles, m.u.handover.roles, 3);
	assert_true(back.u.handover.has_table);
	assert_memory_equal(back.u.handover.table.paths, paths, sizeof(paths));
	assert_int_equal(back.u.handover.table.boost[0], 3);
	assert_int_equal(back.u.handover.misses.n, 2);
	assert_memory_equal(back.u.handover.misses.r, r, 2 * sizeof(r[0]));
	dpd_msg_free(&back);

	m.u.handover.roles[2] = DPD_FD_INT_RX;	/* a role twice */
	assert_int_equal(dpd_msg_encode(&m, &buf, &len, NULL), -EINVAL);
}

/* ---- refusals -------------------------------------------------------------- */

/* Packs a map of n key/value pairs given as alternating C strings and
 * values: a value is a uint64 unless the key starts with '$' (a string). */
static size_t raw(uint8_t *out, size_t cap, size_t n, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	va_list ap;
	size_t len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		bool is_str = k[0] == '$';

		k += is_str;
		msgpack_pack_str(&pk, strlen(k));
		msgpack_pack_str_body(&pk, k, strlen(k));
		if (is_str) {
			const char *v = va_arg(ap, const char *);

			msgpack_pack_str(&pk, strlen(v));
			msgpack_pack_str_body(&pk, v, strlen(v));
		} else {
			msgpack_pack_uint64(&pk, va_arg(ap, uint64_t));
		}
	}
	va_end(ap);
	assert_true(sb.size <= cap);
	memcpy(out, sb.data, sb.size);
	len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return len;
}

static void refused(const uint8_t *buf, size_t len, int want)
{
	struct dpd_msg m, untouched;
	char err[CONS_ERRLEN] = "";

	memset(&m, 0x5a, sizeof(m));
	untouched = m;
	assert_int_equal(dpd_msg_decode(buf, len, &m, err), want);
	assert_true(err[0] != '\0');
	assert_memory_equal(&m, &untouched, sizeof(m));
}

#define U(x) ((uint64_t)(x))

static void test_refusals(void **state)
{
	uint8_t b[512];
	size_t n;
	struct dpd_msg m;
	char err[CONS_ERRLEN];

	(void)state;
	n = raw(b, sizeof(b), 6, "v", U(1), "$t", "hello", "seq", U(1), "host", U(2), "pid",
		U(3), "$name", "rtvd");
	assert_int_equal(dpd_msg_decode(b, n, &m, err), 0);	/* the control */
	n = raw(b, sizeof(b), 7, "v", U(1), "$t", "hello", "seq", U(1), "host", U(2), "pid",
		U(3), "$name", "rtvd", "$later", "a newer peer's key");
	assert_int_equal(dpd_msg_decode(b, n, &m, err), 0);	/* unknown key ignored */
	n = raw(b, sizeof(b), 6, "v", U(2), "$t", "hello", "seq", U(1), "host", U(2), "pid",
		U(3), "$name", "rtvd");
	refused(b, n, -EPROTONOSUPPORT);
	n = raw(b, sizeof(b), 6, "v", U(1), "$t", "shout", "seq", U(1), "host", U(2), "pid",
		U(3), "$name", "rtvd");
	refused(b, n, -EPROTO);
	n = raw(b, sizeof(b), 5, "v", U(1), "$t", "hello", "seq", U(1), "host", U(2), "pid",
		U(3));
	refused(b, n, -EPROTO);					/* name missing */
	n = raw(b, sizeof(b), 7, "v", U(1), "$t", "hello", "seq", U(1), "host", U(2), "pid",
		U(3), "$name", "rtvd", "host", U(4));
	refused(b, n, -EPROTO);					/* host twice */
	n = raw(b, sizeof(b), 6, "v", U(1), "$t", "hello", "seq", U(1), "$host", "2", "pid",
		U(3), "$name", "rtvd");
	refused(b, n, -EPROTO);					/* host a string */
	n = raw(b, sizeof(b), 6, "v", U(1), "$t", "hello", "seq", U(1), "host", U(0), "pid",
		U(3), "$name", "rtvd");
	refused(b, n, -EINVAL);					/* host 0 */
	n = raw(b, sizeof(b), 6, "v", U(1), "$t", "hello", "seq", U(1), "host", U(1), "pid",
		U(1) << 33, "$name", "rtvd");
	refused(b, n, -EINVAL);					/* pid above 32 bits */
	n = raw(b, sizeof(b), 5, "v", U(1), "$t", "misses_get", "seq", U(1), "ack", U(1), "max",
		U(DPD_MISSES_MAX + 1));
	refused(b, n, -EINVAL);
	n = raw(b, sizeof(b), 5, "v", U(1), "$t", "error", "seq", U(1), "errno", U(5000),
		"$msg", "x");
	refused(b, n, -EINVAL);
	refused((const uint8_t *)"\x92\x01", 2, -EPROTO);	/* truncated array */
	refused((const uint8_t *)"\xdd\xff\xff\xff\xff", 5, -EPROTO);	/* 4G elements */
	refused((const uint8_t *)"\x01", 1, -EPROTO);		/* not a map */
	refused((const uint8_t *)"", 0, -EPROTO);
}

/* A table whose boosts do not match its rtpaths, and one with a bad path. */
static void test_table_refusals(void **state)
{
	struct cons_rtpath paths[2] = { mk_path(1), mk_path(2) };
	uint8_t boost[2] = { 0, 0 };
	struct dpd_msg m = { .type = DPD_T_TABLE, .seq = 1 };
	uint8_t *buf;
	size_t len;
	char err[CONS_ERRLEN];

	(void)state;
	m.u.table = (struct dpd_table){ .index = 5, .n = 2, .paths = paths, .boost = boost };
	assert_int_equal(dpd_msg_encode(&m, (void **)&buf, &len, err), 0);
	/* the boost bin is the frame's last 2 bytes, after its 0xc4 0x02 header:
	 * make it 0xc4 0x01 <byte> and the map one byte shorter */
	assert_int_equal(buf[len - 4], 0xc4);
	buf[len - 3] = 1;
	refused(buf + DPD_HDR_BYTES, len - DPD_HDR_BYTES - 1, -EINVAL);
	free(buf);

	paths[1].sched_deadline_ns = paths[1].req.deadline_ns + 1;	/* inconsistent */
	assert_int_equal(dpd_msg_encode(&m, (void **)&buf, &len, err), 0);
	refused(buf + DPD_HDR_BYTES, len - DPD_HDR_BYTES, -EINVAL);
	free(buf);

	m.u.table.index = 0;
	assert_int_equal(dpd_msg_encode(&m, (void **)&buf, &len, err), -EINVAL);
}

/* ---- framing ------------------------------------------------------------------ */

static void test_rbuf(void **state)
{
	struct dpd_msg a = { .type = DPD_T_MISSES_GET, .seq = 1 }, b = a, out;
	struct dpd_rbuf rb;
	uint8_t *fa, *fb, two[256];
	size_t la, lb, len;
	const uint8_t *body;
	char err[CONS_ERRLEN];

	(void)state;
	a.u.misses_get.max = 10;
	b.seq = 2;
	b.u.misses_get.ack = 77;
	assert_int_equal(dpd_msg_encode(&a, (void **)&fa, &la, err), 0);
	assert_int_equal(dpd_msg_encode(&b, (void **)&fb, &lb, err), 0);
	dpd_rbuf_init(&rb);
	for (size_t i = 0; i < la; i++) {	/* a byte at a time */
		assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 0);
		assert_int_equal(dpd_rbuf_feed(&rb, fa + i, 1), 0);
	}
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 1);
	assert_int_equal(dpd_msg_decode(body, len, &out, err), 0);
	assert_int_equal(out.u.misses_get.max, 10);
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 0);

	memcpy(two, fa, la);			/* two frames in one read */
	memcpy(two + la, fb, lb);
	assert_int_equal(dpd_rbuf_feed(&rb, two, la + lb), 0);
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 1);
	assert_int_equal(dpd_msg_decode(body, len, &out, err), 0);
	assert_int_equal(out.seq, 1);
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 1);
	assert_int_equal(dpd_msg_decode(body, len, &out, err), 0);
	assert_int_equal(out.seq, 2);
	assert_int_equal(out.u.misses_get.ack, 77);
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), 0);

	assert_int_equal(dpd_rbuf_feed(&rb, "\x00\x00\x00\x00", 4), 0);	/* length 0 */
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), -EMSGSIZE);
	dpd_rbuf_close(&rb);
	dpd_rbuf_init(&rb);
	assert_int_equal(dpd_rbuf_feed(&rb, "\x01\x00\x00\x01", 4), 0);	/* 16 MiB + 1 */
	assert_int_equal(dpd_rbuf_next(&rb, &body, &len), -EMSGSIZE);
	dpd_rbuf_close(&rb);
	free(fa);
	free(fb);
}

/* ---- backlog ------------------------------------------------------------------ */

static void test_backlog(void **state)
{
	struct dpd_backlog bl;
	struct dp_miss_report in[6], out[8];
	struct dpd_misses saved;
	uint64_t first;

	(void)state;
	for (int i = 0; i < 6; i++)
		in[i] = mk_report((uint64_t)i + 1);
	assert_int_equal(dpd_backlog_init(&bl, 0), -EINVAL);
	assert_int_equal(dpd_backlog_init(&bl, 4), 0);
	dpd_backlog_push(&bl, in, 3);
	assert_int_equal(dpd_backlog_peek(&bl, out, 2, &first), 2);
	assert_int_equal(first, 1);
	assert_int_equal(out[1].path_id, 2);
	dpd_backlog_ack(&bl, 100);		/* beyond what was handed out: clamped */
	assert_int_equal(bl.n, 1);
	assert_int_equal(dpd_backlog_peek(&bl, out, 8, &first), 1);
	assert_int_equal(first, 3);
	assert_int_equal(out[0].path_id, 3);
	dpd_backlog_ack(&bl, 2);		/* an old ack changes nothing */
	assert_int_equal(bl.n, 1);

	dpd_backlog_push(&bl, in + 3, 3);	/* 3,4,5,6 then full */
	dpd_backlog_push(&bl, in, 2);		/* drops 3 and 4 */
	assert_int_equal(bl.dropped, 2);
	assert_int_equal(dpd_backlog_peek(&bl, out, 8, &first), 4);
	assert_int_equal(first, 5);
	assert_int_equal(out[0].path_id, 5);
	assert_int_equal(out[3].path_id, 2);

	saved = (struct dpd_misses){ .first_seq = first, .dropped = bl.dropped, .n = 4, .r = out };
	dpd_backlog_close(&bl);
	assert_int_equal(dpd_backlog_init(&bl, 4), 0);
	assert_int_equal(dpd_backlog_restore(&bl, &saved), 0);
	assert_int_equal(dpd_backlog_peek(&bl, in, 8, &first), 4);
	assert_int_equal(first, 5);		/* numbering continues */
	assert_int_equal(in[3].path_id, 2);
	assert_int_equal(bl.dropped, 2);
	dpd_backlog_ack(&bl, 9);
	assert_int_equal(bl.n, 0);
	dpd_backlog_close(&bl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_misses_and_handover),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_table_refusals),
		cmocka_unit_test(test_rbuf),
		cmocka_unit_test(test_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
