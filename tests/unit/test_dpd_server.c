/* test_dpd_server.c — rtvdp's server and engine glue against rtvd's client
 * end, over a real Unix socket, with the real table builder (dp_table_new)
 * but no packet threads (no devices needed).
 *
 * A server thread runs dpd_server_poll; the test speaks as rtvd:
 *   - hello: the state of a fresh rtvdp (no table); another host's hello
 *     is refused with -EINVAL and the reason;
 *   - tables: taken in Raft-index order (same index again: taken, e.g. a
 *     boost change), an older one refused with -ESTALE and the table in
 *     force unchanged; a table the engine refuses leaves it in force too;
 *   - stats: one entry per rtpath of this host with its side, level and
 *     boost, histograms on the receiving side;
 *   - misses: kept reports come out in order, are acknowledged by the next
 *     call, a lost reply's reports come again (at least once);
 *   - takeover: a second engine takes over in-process and gets the table,
 *     its generation, the unacknowledged reports and a working listening
 *     socket. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "dpd/dpd_engine.h"

#define MBPS 1000000ull
#define MS 1000000ull

static char path[128];
static struct dpd_engine eng;
static struct dpd_server srv;
static pthread_t th;
static atomic_bool handed;

static struct cons_rtpath mk_path(uint64_t id, uint64_t src, uint64_t dst)
{
	struct cons_rtpath p = {
		.id = id, .src_host = src, .dst_host = dst,
		.req = { .src_ip = 0x0a000000 + (uint32_t)src, .dst_ip = 0x0a000000 + (uint32_t)dst,
			 .proto = 17, .dport = (uint16_t)(5000 + id), .type = CONS_PATH_DEADLINE,
			 .rate_bps = 2 * MBPS, .burst_bytes = 3000, .deadline_ns = 5 * MS,
			 .max_pkt_bytes = 1500 },
		.tc = 5, .dscp = 46, .service_rate_bps = 2 * MBPS, .service_rate_base_bps = 2 * MBPS,
		.net_budget_ns = 100000, .sched_deadline_ns = 5 * MS - 100000,
	};

	strcpy(p.req.owner, "t");
	return p;
}

static struct dp_miss_report mk_report(uint64_t id)
{
	struct dp_miss_report r;

	memset(&r, 0, sizeof(r));
	r.path_id = id;
	r.src_host = 2;
	r.first_ns = r.last_ns = 1000 + id;
	r.misses = 1;
	return r;
}

static void *serve(void *arg)
{
	char err[CONS_ERRLEN];

	(void)arg;
	for (;;) {
		if (dpd_server_poll(&srv, 10) == 1 && dpd_server_handover(&srv, err) == 0) {
			atomic_store(&handed, true);
			break;
		}
	}
	return NULL;
}

static int setup(void **state)
{
	const struct dp_io_config ioc = { .int_dev = "none0", .up_dev = "none1" };
	const struct dp_table_config tc = { .host_id = 1, .uplink_bps = 100 * MBPS,
					    .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	struct dp_miss_report r[3] = { mk_report(7), mk_report(8), mk_report(9) };
	char err[CONS_ERRLEN];
	int lfd;

	(void)state;
	rtv_log_init("test_dpd_server", RTV_LOG_ERROR);
	snprintf(path, sizeof(path), "/tmp/test_dpd_server.%d.sock", (int)getpid());
	if (dpd_engine_init(&eng, &ioc, &tc, 16) < 0 || (lfd = dpd_listen(path, err)) < 0)
		return -1;
	dpd_backlog_push(&eng.backlog, r, 3);	/* as if the engine had drained them */
	dpd_server_init(&srv, &eng, lfd, 1, 100 * MBPS);
	return pthread_create(&th, NULL, serve, NULL) ? -1 : 0;
}

static struct dpd_client cl;

static void test_hello(void **state)
{
	struct dpd_client other;
	char err[CONS_ERRLEN] = "";

	(void)state;
	assert_int_equal(dpd_client_open(&other, path, 9, "rtvd", 2000, err), -EINVAL);
	assert_non_null(strstr(err, "host 1, not host 9"));
	assert_int_equal(dpd_client_open(&cl, path, 1, "rtvd", 2000, err), 0);
	assert_int_equal(cl.state.host_id, 1);
	assert_int_equal(cl.state.gen, 0);
	assert_int_equal(cl.state.index, 0);
	assert_int_equal(cl.state.misses_kept, 3);
	assert_int_equal(cl.state.next_seq, 4);
	assert_int_equal(cl.state.pid, (uint32_t)getpid());
}

static void test_tables(void **state)
{
	struct cons_rtpath p[3] = { mk_path(1, 1, 2), mk_path(2, 3, 1), mk_path(3, 2, 3) };
	uint8_t boost[3] = { 1, 0, 0 };
	struct dpd_table t = { .index = 50, .n = 3, .paths = p, .boost = boost };
	struct dpd_table_ok ok;
	struct dpd_state st;
	char err[CONS_ERRLEN] = "";

	(void)state;
	assert_int_equal(dpd_client_table(&cl, &t, &ok, err), 0);
	assert_int_equal(ok.gen, 1);
	assert_int_equal(ok.index, 50);
	assert_int_equal(ok.n_tx, 1);		/* path 1: host 1 sends it */
	assert_int_equal(ok.n_rx, 1);		/* path 2: host 1 receives it; 3 is not ours */

	boost[0] = 2;				/* the same state, a new boost */
	assert_int_equal(dpd_client_table(&cl, &t, &ok, err), 0);
	assert_int_equal(ok.gen, 2);

	t.index = 49;				/* a restarted rtvd not caught up yet */
	t.n = 1;
	assert_int_equal(dpd_client_table(&cl, &t, &ok, err), -ESTALE);
	assert_non_null(strstr(err, "older than the one in force"));

	t.index = 60;				/* an invalid rtpath: refused, and the */
	p[0].req.rate_bps = 0;			/* peer that sent it is dropped */
	assert_int_equal(dpd_client_table(&cl, &t, &ok, err), -EINVAL);
	assert_non_null(strstr(err, "rtpath 0"));
	dpd_client_close(&cl);
	assert_int_equal(dpd_client_open(&cl, path, 1, "rtvd", 2000, err), 0);

	assert_int_equal(dpd_client_state(&cl, &st, err), 0);
	assert_int_equal(st.gen, 2);		/* still the second table */
	assert_int_equal(st.index, 50);
	assert_int_equal(st.n_tx, 1);
	assert_int_equal(st.n_rx, 1);
}

static void test_stats(void **state)
{
	struct dpd_msg m;
	char err[CONS_ERRLEN] = "";
	bool seen_tx = false, seen_rx = false;

	(void)state;
	assert_int_equal(dpd_client_stats(&cl, &m, err), 0);
	assert_int_equal(m.u.stats.n, 2);
	for (size_t i = 0; i < m.u.stats.n; i++) {
		const struct dpd_path_stats *p = &m.u.stats.paths[i];

		if (p->dir == DP_TX) {
			seen_tx = true;
			assert_int_equal(p->id, 1);
			assert_int_equal(p->boost, 2);
			assert_false(p->has_hist);
		} else {
			seen_rx = true;
			assert_int_equal(p->id, 2);
			assert_true(p->has_hist);
			assert_int_equal(p->delay.count, 0);
		}
	}
	assert_true(seen_tx && seen_rx);
	dpd_msg_free(&m);
}

static void test_misses(void **state)
{
	struct dp_miss_report r[8];
	uint64_t dropped;
	size_t n;
	char err[CONS_ERRLEN] = "";

	(void)state;
	assert_int_equal(dpd_client_misses(&cl, r, 2, &n, &dropped, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].path_id, 7);
	assert_int_equal(r[1].path_id, 8);
	cl.ack = 0;		/* as if that reply had been lost with its rtvd */
	assert_int_equal(dpd_client_misses(&cl, r, 8, &n, &dropped, err), 0);
	assert_int_equal(n, 3);			/* at least once: 7 and 8 again */
	assert_int_equal(r[0].path_id, 7);
	assert_int_equal(r[2].path_id, 9);
	cl.ack = 2;		/* only 7 acted on */
	assert_int_equal(dpd_client_misses(&cl, r, 8, &n, &dropped, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].path_id, 8);
	assert_int_equal(dropped, 0);
}

static void test_takeover(void **state)
{
	const struct dp_io_config ioc = { .int_dev = "none0", .up_dev = "none1" };
	const struct dp_table_config tc = { .host_id = 1, .uplink_bps = 100 * MBPS,
					    .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	struct dpd_engine e2;
	struct dp_miss_report r[8];
	char err[CONS_ERRLEN] = "";
	uint64_t takeovers = 0, first;
	int lfd = -1, c, a = -1;

	(void)state;
	dpd_client_close(&cl);
	assert_int_equal(dpd_engine_init(&e2, &ioc, &tc, 16), 0);
	assert_int_equal(dpd_takeover(path, 1, &e2, &lfd, &takeovers, err), 0);
	pthread_join(th, NULL);		/* the server thread ends with its handover */
	assert_true(atomic_load(&handed));
	assert_int_equal(takeovers, 1);
	assert_true(e2.has_table);
	assert_int_equal(e2.cur.index, 50);
	assert_int_equal(e2.cur.n, 3);
	assert_int_equal(e2.cur.boost[0], 2);
	assert_int_equal(e2.gen, 2);
	assert_int_equal(dpd_backlog_peek(&e2.backlog, r, 8, &first), 2);	/* 8, 9 */
	assert_int_equal(first, 2);
	assert_int_equal(r[0].path_id, 8);
	assert_true(lfd >= 0);
	c = dpd_connect(path, err);	/* the handed-over socket accepts */
	assert_true(c >= 0);
	for (int i = 0; i < 100 && (a = accept(lfd, NULL, NULL)) < 0 && errno == EAGAIN; i++)
		usleep(1000);
	assert_true(a >= 0);
	close(a);
	close(c);
	close(lfd);
	dpd_engine_close(&e2);
}

/* After test_takeover the server thread has ended with its handover. */
static int teardown(void **state)
{
	(void)state;
	dpd_server_close(&srv);
	close(srv.lfd);
	dpd_engine_close(&eng);
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_misses),
		cmocka_unit_test(test_takeover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
