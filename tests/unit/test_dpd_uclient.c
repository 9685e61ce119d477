/* test_dpd_uclient.c — rtvd's libuv end of the channel (dpd.h, uclient.c)
 * against a real rtvdp server (server.c, engine without packet threads)
 * over a Unix socket.
 *
 * The link comes up with rtvdp's state; requests get their replies in
 * order (a table, stats, an error reply as the call's errno); rtvdp going
 * away brings the link down with a reason and a request then fails with
 * -ENOTCONN; a new rtvdp on the same path is found again by the retry; a
 * rtvdp that stops answering is dropped after the timeout (-ETIMEDOUT)
 * and found again when it answers; the loop closes with nothing open. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "dpd/dpd_engine.h"

#define MBPS 1000000ull

static char path[128];

/* One rtvdp: an engine without threads, its server in a thread. */
struct dp {
	struct dpd_engine e;
	struct dpd_server s;
	pthread_t th;
	atomic_bool stop, mute, muted;
};

static void *serve(void *arg)
{
	struct dp *d = arg;

	while (!atomic_load(&d->stop)) {
		atomic_store(&d->muted, atomic_load(&d->mute));
		if (atomic_load(&d->muted))
			usleep(5000);
		else
			dpd_server_poll(&d->s, 10);
	}
	return NULL;
}

static void dp_start(struct dp *d)
{
	const struct dp_io_config ioc = { .int_dev = "none0", .up_dev = "none1" };
	const struct dp_table_config tc = { .host_id = 1, .uplink_bps = 100 * MBPS,
					    .overhead_bytes = 24, .nrt_max_frame_bytes = 1514 };
	char err[CONS_ERRLEN];
	int lfd;

	memset(d, 0, sizeof(*d));
	assert_int_equal(dpd_engine_init(&d->e, &ioc, &tc, 16), 0);
	lfd = dpd_listen(path, err);
	assert_true(lfd >= 0);
	dpd_server_init(&d->s, &d->e, lfd, 1, 100 * MBPS);
	assert_int_equal(pthread_create(&d->th, NULL, serve, d), 0);
}

static void dp_stop(struct dp *d)
{
	atomic_store(&d->stop, true);
	pthread_join(d->th, NULL);
	dpd_server_close(&d->s);
	close(d->s.lfd);
	dpd_engine_close(&d->e);
	unlink(path);
}

/* What the callbacks saw. */
struct seen {
	int ups, downs, replies;
	int rc[16];			/* by reply, in order */
	enum dpd_type type[16];
	char why[CONS_ERRLEN];
	struct dpd_state st;
	uint64_t last_gen;
	size_t last_paths;
};

static void on_link(void *arg, bool up, const struct dpd_state *st, const char *why)
{
	struct seen *s = arg;

	if (up) {
		s->ups++;
		s->st = *st;
	} else {
		s->downs++;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
}

static void on_reply(void *arg, int rc, struct dpd_msg *r, const char *err)
{
	struct seen *s = arg;

	s->rc[s->replies & 15] = rc;
	s->type[s->replies++ & 15] = rc < 0 ? 0 : r->type;
	if (rc < 0) {
		snprintf(s->why, sizeof(s->why), "%s", err);
		return;
	}
	if (r->type == DPD_T_TABLE_OK)
		s->last_gen = r->u.table_ok.gen;
	if (r->type == DPD_T_STATS)
		s->last_paths = r->u.stats.n;
}

/* Runs the loop until *n reaches want (or 5 s pass). */
static void run_until(uv_loop_t *loop, const int *n, int want)
{
	uint64_t end = uv_now(loop) + 5000;

	while (*n < want && uv_now(loop) < end) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
	}
	assert_true(*n >= want);
}

static struct dpd_msg table_msg(uint64_t index, struct cons_rtpath *p, uint8_t *boost)
{
	struct dpd_msg q = { .type = DPD_T_TABLE };

	*p = (struct cons_rtpath){ .id = 1, .src_host = 1, .dst_host = 2,
		.req = { .src_ip = 0x0a000001, .dst_ip = 0x0a000002, .proto = 17, .dport = 5000,
			 .type = CONS_PATH_DEADLINE, .rate_bps = 2 * MBPS, .burst_bytes = 3000,
			 .deadline_ns = 5000000, .max_pkt_bytes = 1500 },
		.tc = 5, .dscp = 46, .service_rate_bps = 2 * MBPS,
		.service_rate_base_bps = 2 * MBPS, .sched_deadline_ns = 4000000 };
	strcpy(p->req.owner, "t");
	q.u.table = (struct dpd_table){ .index = index, .n = 1, .paths = p, .boost = boost };
	return q;
}

static void test_uclient(void **state)
{
	uv_loop_t loop;
	struct dpd_uclient c;
	struct seen s = { 0 };
	struct dp a, b;
	struct cons_rtpath p;
	uint8_t boost = 0;
	struct dpd_msg q;

	(void)state;
	rtv_log_init("test_dpd_uclient", RTV_LOG_ERROR);
	snprintf(path, sizeof(path), "/tmp/test_dpd_uclient.%d.sock", (int)getpid());
	assert_int_equal(uv_loop_init(&loop), 0);
	dp_start(&a);
	assert_int_equal(dpd_uclient_init(&c, &loop, path, 1, 300, 50, on_link, &s), 0);
	run_until(&loop, &s.ups, 1);
	assert_int_equal(s.st.host_id, 1);
	assert_int_equal(s.st.gen, 0);

	q = table_msg(10, &p, &boost);
	assert_int_equal(dpd_uclient_request(&c, &q, on_reply, &s), 0);
	q = (struct dpd_msg){ .type = DPD_T_STATS_GET };
	assert_int_equal(dpd_uclient_request(&c, &q, on_reply, &s), 0);
	run_until(&loop, &s.replies, 2);
	if (s.rc[0] != 0)
		fail_msg("table refused: %s", s.why);
	assert_int_equal(s.type[0], DPD_T_TABLE_OK);
	assert_int_equal(s.last_gen, 1);
	assert_int_equal(s.rc[1], 0);
	assert_int_equal(s.type[1], DPD_T_STATS);
	assert_int_equal(s.last_paths, 1);
	q = table_msg(9, &p, &boost);		/* older: an error reply */
	assert_int_equal(dpd_uclient_request(&c, &q, on_reply, &s), 0);
	run_until(&loop, &s.replies, 3);
	assert_int_equal(s.rc[2], -ESTALE);
	assert_non_null(strstr(s.why, "older"));

	dp_stop(&a);				/* rtvdp gone */
	run_until(&loop, &s.downs, 1);
	assert_non_null(strstr(s.why, "closed"));
	q = (struct dpd_msg){ .type = DPD_T_STATS_GET };
	assert_int_equal(dpd_uclient_request(&c, &q, on_reply, &s), -ENOTCONN);

	dp_start(&b);				/* a new one on the same path */
	run_until(&loop, &s.ups, 2);
	assert_int_equal(s.st.gen, 0);

	atomic_store(&b.mute, true);		/* alive but not answering */
	while (!atomic_load(&b.muted))
		usleep(1000);
	q = (struct dpd_msg){ .type = DPD_T_STATS_GET };
	assert_int_equal(dpd_uclient_request(&c, &q, on_reply, &s), 0);
	run_until(&loop, &s.replies, 4);
	assert_int_equal(s.rc[3], -ETIMEDOUT);
	assert_int_equal(s.downs, 2);
	assert_non_null(strstr(s.why, "did not answer"));
	atomic_store(&b.mute, false);
	run_until(&loop, &s.ups, 3);

	dpd_uclient_close(&c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	dp_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uclient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
