/* test_ofgw_conn.c — the gateway's switch connection against a scripted fake
 * switch (a plain socket in this test), for what a well-behaved OVS never
 * does: a hello split into single bytes, many messages in one write, a
 * switch that offers only OpenFlow 1.0, one that falls silent, one that
 * sends a header shorter than 8 bytes or a malformed flow dump, echo
 * requests, and a second connection replacing the first. The gateway
 * listens on an ephemeral loopback port. Every test ends with the loop
 * closing cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include <uv.h>

#include "common/log.h"
#include "ofgw/ofgw.h"
#include "ofgw/ofp.h"

#define WAIT_MS 5000

struct t {
	uv_loop_t loop;
	struct ofgw *o;
	int n_connected, n_disconnected, n_synced;
	struct ofgw_sync last;
	uint8_t rx[65536];
	size_t rx_len;
};

static struct t T;

static void on_connected(void *arg, uint64_t dpid)
{
	(void)dpid;
	((struct t *)arg)->n_connected++;
}

static void on_disconnected(void *arg, const char *why)
{
	(void)why;
	((struct t *)arg)->n_disconnected++;
}

static void on_synced(void *arg, const struct ofgw_sync *s)
{
	struct t *t = arg;

	t->n_synced++;
	t->last = *s;
}

static void gw_open(unsigned echo_ms)
{
	struct ofgw_config cfg = { .listen = "127.0.0.1:0", .uplink_port = "up0",
				   .echo_interval_ms = echo_ms, .echo_max_missed = 2 };
	struct ofgw_hooks hooks = { .arg = &T, .connected = on_connected,
				    .disconnected = on_disconnected, .synced = on_synced };
	char err[OFGW_ERRLEN];

	memset(&T, 0, sizeof(T));
	assert_int_equal(uv_loop_init(&T.loop), 0);
	assert_int_equal(ofgw_new(&T.loop, &cfg, &hooks, &T.o, err), 0);
	assert_int_equal(ofgw_start(T.o, err), 0);
}

static void gw_close(void)
{
	ofgw_close(T.o, NULL);
	while (uv_run(&T.loop, UV_RUN_ONCE))
		;
	ofgw_free(T.o);
	assert_int_equal(uv_loop_close(&T.loop), 0);
}

static void spin(void)
{
	uv_run(&T.loop, UV_RUN_NOWAIT);
	usleep(1000);
}

static int sw_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(ofgw_listen_port(T.o) > 0);
	sa.sin_port = htons((uint16_t)ofgw_listen_port(T.o));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	T.rx_len = 0;
	return fd;
}

static void sw_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads the next message from the gateway into m (views T.rx); false on
 * EOF or timeout. The loop runs meanwhile. */
static bool sw_recv(int fd, struct ofp_msg *m, size_t *len)
{
	uint64_t end;
	const char *why;

	uv_update_time(&T.loop);
	end = uv_now(&T.loop) + WAIT_MS;
	for (;;) {
		if (T.rx_len >= 8 && T.rx_len >= ofp_get16(T.rx + 2)) {
			size_t n = ofp_get16(T.rx + 2);
			static uint8_t msg[65536];

			memcpy(msg, T.rx, n);
			memmove(T.rx, T.rx + n, T.rx_len - n);
			T.rx_len -= n;
			assert_int_equal(ofp_decode(msg, n, m, &why), 0);
			*len = n;
			return true;
		}
		ssize_t r = recv(fd, T.rx + T.rx_len, sizeof(T.rx) - T.rx_len, MSG_DONTWAIT);

		if (r == 0)
			return false;
		if (r > 0) {
			T.rx_len += (size_t)r;
			continue;
		}
		uv_update_time(&T.loop);
		if (uv_now(&T.loop) > end)
			return false;
		spin();
	}
}

/* Skips messages until one of `type`; returns its xid. */
static uint32_t expect(int fd, uint8_t type, struct ofp_msg *m)
{
	size_t len;

	while (sw_recv(fd, m, &len))
		if (m->h.type == type)
			return m->h.xid;
	fail_msg("no %s from the gateway", ofp_type_name(type));
	return 0;
}

static size_t put_hdr(uint8_t *p, uint8_t type, uint16_t len, uint32_t xid)
{
	p[0] = 4;
	p[1] = type;
	ofp_set16(p + 2, len);
	ofp_set32(p + 4, xid);
	return 8;
}

static const uint8_t hello13[16] = { 4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10 };

/* Features reply, port-desc reply (LOCAL + up0) and an empty flow dump in
 * one write, each answering the gateway's request in turn. */
static void handshake(int fd, bool split_hello)
{
	uint8_t buf[512];
	struct ofp_msg m;
	uint32_t xid;
	size_t n;

	if (split_hello)
		for (size_t i = 0; i < sizeof(hello13); i++) {
			sw_send(fd, hello13 + i, 1);
			spin();
		}
	else
		sw_send(fd, hello13, sizeof(hello13));
	expect(fd, OFPT_HELLO, &m);
	xid = expect(fd, OFPT_FEATURES_REQUEST, &m);
	memset(buf, 0, sizeof(buf));
	n = put_hdr(buf, OFPT_FEATURES_REPLY, 32, xid);
	ofp_set64(buf + 8, 0x1234);
	sw_send(fd, buf, 32);
	xid = expect(fd, OFPT_MULTIPART_REQUEST, &m);
	memset(buf, 0, sizeof(buf));
	n = put_hdr(buf, OFPT_MULTIPART_REPLY, 16 + 128, xid);
	ofp_set16(buf + 8, OFPMP_PORT_DESC);
	ofp_set32(buf + 16, OFGW_PORT_LOCAL);
	memcpy(buf + 16 + 8, "\x02\0\0\0\0\x01", 6);
	strcpy((char *)buf + 16 + 16, "br0");
	ofp_set32(buf + 80, 4);
	strcpy((char *)buf + 80 + 16, "up0");
	sw_send(fd, buf, 16 + 128);
	(void)n;
}

static void dump_reply(int fd, uint32_t xid)
{
	uint8_t buf[16] = { 0 };

	put_hdr(buf, OFPT_MULTIPART_REPLY, 16, xid);
	ofp_set16(buf + 8, OFPMP_FLOW);
	sw_send(fd, buf, 16);
}

/* Answers flow-mods until the barrier; returns how many flow-mods came. */
static int answer_batch(int fd)
{
	uint8_t buf[8];
	struct ofp_msg m;
	size_t len;
	int n = 0;

	while (sw_recv(fd, &m, &len)) {
		if (m.h.type == OFPT_FLOW_MOD)
			n++;
		if (m.h.type == OFPT_BARRIER_REQUEST) {
			put_hdr(buf, OFPT_BARRIER_REPLY, 8, m.h.xid);
			sw_send(fd, buf, 8);
			return n;
		}
	}
	fail_msg("no barrier request");
	return -1;
}

static void run_until_synced(int n)
{
	for (int i = 0; i < WAIT_MS && T.n_synced < n; i++)
		spin();
	assert_int_equal(T.n_synced, n);
}

/* ------------------------------------------------------------------------- */

static void test_handshake_and_batch(void **state)
{
	struct ofgw_stats st;
	struct ofp_msg m;
	int fd, mods;

	(void)state;
	gw_open(0);
	fd = sw_connect();
	handshake(fd, true);
	dump_reply(fd, expect(fd, OFPT_MULTIPART_REQUEST, &m));
	mods = answer_batch(fd);
	run_until_synced(1);
	assert_int_equal(T.n_connected, 1);
	assert_true(T.last.full);
	ofgw_get_stats(T.o, &st);
	assert_int_equal(mods, (int)st.n_desired);
	assert_int_equal(T.last.added, st.n_desired);
	assert_true(st.connected && st.synced);
	assert_true(st.dpid == 0x1234);
	assert_int_equal(st.decode_errors, 0);
	assert_non_null(ofgw_port_by_name(T.o, "up0"));
	/* an echo request is answered with its xid and data */
	{
		uint8_t echo[12] = { 4, OFPT_ECHO_REQUEST, 0, 12, 0, 0, 0, 77, 'p', 'i', 'n', 'g' };

		uint8_t three[36];

		sw_send(fd, echo, sizeof(echo));
		assert_int_equal(expect(fd, OFPT_ECHO_REPLY, &m), 77);
		assert_int_equal(m.u.echo.len, 4);
		assert_memory_equal(m.u.echo.data, "ping", 4);
		/* three messages in one write, the last split over two */
		for (int i = 0; i < 3; i++) {
			memcpy(three + 12 * i, echo, 12);
			three[7 + 12 * i] = (uint8_t)(80 + i);
		}
		sw_send(fd, three, 30);
		spin();
		sw_send(fd, three + 30, 6);
		for (int i = 0; i < 3; i++)
			assert_int_equal(expect(fd, OFPT_ECHO_REPLY, &m), 80 + i);
	}
	close(fd);
	for (int i = 0; i < WAIT_MS && T.n_disconnected == 0; i++)
		spin();
	assert_int_equal(T.n_disconnected, 1);
	gw_close();
}

static void test_version_refused(void **state)
{
	static const uint8_t hello10[8] = { 1, 0, 0, 8, 0, 0, 0, 5 };
	struct ofp_msg m;
	size_t len;
	int fd;

	(void)state;
	gw_open(0);
	fd = sw_connect();
	sw_send(fd, hello10, sizeof(hello10));
	expect(fd, OFPT_HELLO, &m);
	assert_int_equal(expect(fd, OFPT_ERROR, &m), 5);
	assert_int_equal(m.u.error.type, OFPET_HELLO_FAILED);
	assert_non_null(memmem(m.u.error.data, m.u.error.len, "OpenFlow 1.3", 12));
	assert_false(sw_recv(fd, &m, &len));	/* then the gateway hangs up */
	assert_int_equal(T.n_connected, 0);
	close(fd);
	gw_close();
}

static void test_keepalive_timeout(void **state)
{
	struct ofgw_stats st;
	struct ofp_msg m;
	int fd, echoes = 0;
	size_t len;

	(void)state;
	gw_open(30);
	fd = sw_connect();
	handshake(fd, false);
	dump_reply(fd, expect(fd, OFPT_MULTIPART_REQUEST, &m));
	answer_batch(fd);
	while (sw_recv(fd, &m, &len))	/* silent switch: echoes, then EOF */
		echoes += m.h.type == OFPT_ECHO_REQUEST;
	assert_int_equal(echoes, 2);
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.echo_timeouts, 1);
	assert_false(st.connected);
	close(fd);
	gw_close();
}

/* A flow as a flow-stats entry (OpenFlow 1.3 §7.3.5.2): the flow-mod
 * encoding's match and instructions behind a 48-byte stats header. */
static size_t put_flow_stats(uint8_t *p, const struct ofgw_flow *f)
{
	struct ofp_flow_mod fm = { .command = OFPFC_ADD, .flow = *f, .out_port = OFGW_PORT_ANY };
	struct ofp_buf b;
	size_t body;

	ofp_buf_init(&b);
	assert_int_equal(ofp_encode_flow_mod(&b, 1, &fm), 0);
	body = b.len - 48;
	memset(p, 0, 48);
	ofp_set16(p, (uint16_t)(48 + body));
	p[2] = f->table_id;
	ofp_set16(p + 12, f->priority);
	ofp_set16(p + 14, f->idle_timeout_s);
	ofp_set16(p + 16, f->hard_timeout_s);
	ofp_set16(p + 18, f->flags);
	ofp_set64(p + 24, f->cookie);
	memcpy(p + 48, b.data + 48, body);
	ofp_buf_uninit(&b);
	return 48 + body;
}

struct flows {
	struct ofgw_flow v[64];
	size_t n;
};

static void collect(void *arg, const struct ofgw_flow *f)
{
	struct flows *fl = arg;

	assert_true(fl->n < 64);
	fl->v[fl->n++] = *f;
}

/* What reconciliations changed, by action, adds up over batches
 * (rtvnet_openflow_reconcile_flows_total): a dump with one desired flow
 * as it should be, one with other content and one stale flow gives
 * add n − 2, modify 1, delete 1; a reconnection to an empty table then
 * adds all n again. The installed count follows. */
static void test_reconcile_counts(void **state)
{
	static uint8_t buf[16384];
	struct ofgw_flow stale;
	struct ofgw_stats st;
	struct flows fl = { .n = 0 };
	struct ofp_msg m;
	uint32_t xid;
	size_t n = 16;
	int fd;

	(void)state;
	gw_open(0);
	fd = sw_connect();
	handshake(fd, false);
	xid = expect(fd, OFPT_MULTIPART_REQUEST, &m);
	ofgw_foreach_desired(T.o, collect, &fl);
	assert_true(fl.n >= 3);
	memset(&stale, 0, sizeof(stale));
	stale.cookie = 0xdead;
	stale.table_id = 1;
	stale.priority = 7;
	ofgw_match_eth_type(&stale.match, 0x0806);
	assert_int_equal(ofgw_flow_add_action(&stale, OFGW_ACT_OUTPUT, 4), 0);
	n += put_flow_stats(buf + n, &fl.v[0]);
	fl.v[1].idle_timeout_s = 60;	/* same key, other content */
	n += put_flow_stats(buf + n, &fl.v[1]);
	n += put_flow_stats(buf + n, &stale);
	put_hdr(buf, OFPT_MULTIPART_REPLY, (uint16_t)n, xid);
	ofp_set16(buf + 8, OFPMP_FLOW);
	sw_send(fd, buf, n);
	assert_int_equal(answer_batch(fd), (int)fl.n);	/* n − 2 adds, 1 modify, 1 delete */
	run_until_synced(1);
	assert_int_equal(T.last.added, fl.n - 2);
	assert_int_equal(T.last.modified, 1);
	assert_int_equal(T.last.deleted, 1);
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.flows_added, fl.n - 2);
	assert_int_equal(st.flows_modified, 1);
	assert_int_equal(st.flows_deleted, 1);
	assert_int_equal(st.n_installed, fl.n);
	assert_int_equal(st.reconciles, 1);

	/* the switch comes back empty: everything is added again */
	close(fd);
	for (int i = 0; i < WAIT_MS && T.n_disconnected == 0; i++)
		spin();
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.n_installed, 0);
	fd = sw_connect();
	handshake(fd, false);
	dump_reply(fd, expect(fd, OFPT_MULTIPART_REQUEST, &m));
	assert_int_equal(answer_batch(fd), (int)fl.n);
	run_until_synced(2);
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.flows_added, 2 * fl.n - 2);
	assert_int_equal(st.flows_modified, 1);
	assert_int_equal(st.flows_deleted, 1);
	assert_int_equal(st.n_installed, fl.n);
	assert_int_equal(st.reconciles, 2);
	close(fd);
	gw_close();
}

static void test_bad_input(void **state)
{
	static const uint8_t short_hdr[8] = { 4, OFPT_ECHO_REQUEST, 0, 4, 0, 0, 0, 1 };
	uint8_t bad[16 + 56];
	struct ofgw_stats st;
	struct ofp_msg m;
	uint32_t xid;
	size_t len;
	int fd, fd2;

	(void)state;
	gw_open(0);
	fd = sw_connect();
	handshake(fd, false);
	/* a flow dump whose only entry claims 8 bytes: counted, dumped again */
	xid = expect(fd, OFPT_MULTIPART_REQUEST, &m);
	memset(bad, 0, sizeof(bad));
	put_hdr(bad, OFPT_MULTIPART_REPLY, sizeof(bad), xid);
	ofp_set16(bad + 8, OFPMP_FLOW);
	ofp_set16(bad + 16, 8);
	sw_send(fd, bad, sizeof(bad));
	xid = expect(fd, OFPT_MULTIPART_REQUEST, &m);	/* the retry, a second later */
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.decode_errors, 1);
	dump_reply(fd, xid);
	answer_batch(fd);
	run_until_synced(1);
	/* a second connection replaces the first */
	fd2 = sw_connect();
	for (int i = 0; i < 100 && T.n_disconnected == 0; i++)
		spin();
	assert_int_equal(T.n_disconnected, 1);
	assert_false(sw_recv(fd, &m, &len));
	/* a header shorter than 8 bytes cannot be framed past: dropped */
	expect(fd2, OFPT_HELLO, &m);
	sw_send(fd2, hello13, sizeof(hello13));
	expect(fd2, OFPT_FEATURES_REQUEST, &m);
	sw_send(fd2, short_hdr, sizeof(short_hdr));
	assert_false(sw_recv(fd2, &m, &len));
	ofgw_get_stats(T.o, &st);
	assert_int_equal(st.decode_errors, 2);
	assert_int_equal(st.disconnections, 2);
	close(fd);
	close(fd2);
	gw_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_batch),
		cmocka_unit_test(test_version_refused),
		cmocka_unit_test(test_keepalive_timeout),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_reconcile_counts),
	};

	rtv_log_init("test_ofgw_conn", RTV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
