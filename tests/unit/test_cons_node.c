/* test_cons_node.c — the Raft node API with real raft_uv I/O and the TCP
 * transport: three or four nodes on one libuv loop in this process, on
 * 127.0.0.1 ports 17200-17299, each with its own temporary data dir (the
 * fixture of cons_cluster.h).
 *
 * Covers: bootstrap of 3 voters, submit through the leader (and refusal on
 * followers), the `applied` hook on every replica, barrier, status, leader
 * change by transfer and by stopping the leader, a node restarted from its
 * data dir catching up (from its own snapshot and the leader's), adding a
 * standby, promoting it, removing it, and configuration errors. Every test
 * ends by checking that the loop closes with nothing left open.
 *
 * Waits are bounded by generous deadlines that only turn a hang into a
 * failure; no test asserts on timing.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "tests/unit/cons_cluster.h"

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */

static void test_bootstrap_submit_transfer(void **state)
{
	struct cluster c;
	struct cons_node_status st;
	struct cons_cmd cmd;
	struct cons_result res;
	struct answer a = { 0 };
	int li, fi, li2;

	(void)state;
	cluster_init(&c, 17200, 3, 0);
	for (unsigned i = 0; i < 3; i++)
		node_open(&c, i, false);
	li = wait_leader(&c, -1);
	fi = (li + 1) % 3;
	for (unsigned i = 0; i < 3; i++)
		assert_true(c.t[i].n_leader_events > 0);

	submit_hosts(&c, 1, 4);
	/* a follower refuses writes */
	host_cmd(&cmd, 9, 100);
	assert_int_equal(cons_node_submit(c.t[fi].node, &cmd, submit_cb, &a),
			 -CONS_ENOTLEADER);
	assert_false(a.done);
	/* a retried request answers the first answer from the dedup table */
	host_cmd(&cmd, 4, 4);
	res = submit_ok(&c, &cmd);
	assert_true(res.duplicate);

	for (unsigned i = 0; i < 3; i++) {
		wait_same(&c, (unsigned)li, i);
		assert_int_equal(cons_state_n_hosts(c.t[i].state), 4);
		assert_true(c.t[i].n_applied >= 4);	/* the hook runs on every replica */
	}

	/* barrier: everything committed before it is applied on the leader */
	memset(&a, 0, sizeof(a));
	assert_int_equal(cons_node_barrier(c.t[li].node, done_cb, &a), 0);
	wait_answer(&c, &a, "barrier");
	assert_int_equal(a.status, 0);
	assert_int_equal(cons_node_barrier(c.t[fi].node, done_cb, &a), -CONS_ENOTLEADER);

	cons_node_status(c.t[li].node, &st);
	assert_int_equal(st.role, CONS_ROLE_LEADER);
	assert_int_equal(st.id, (uint64_t)li + 1);
	assert_int_equal(st.leader_id, (uint64_t)li + 1);
	assert_string_equal(st.leader_addr, c.t[li].addr);
	assert_int_equal(st.n_peers, 3);
	assert_true(st.applied_index <= st.commit_index && st.commit_index <= st.last_index);
	assert_true(st.leader_changes >= 1);
	for (unsigned i = 0; i < 3; i++) {
		const struct cons_peer_status *p = cluster_peer(&st, i + 1);

		assert_non_null(p);
		assert_true(p->voter);
		assert_false(p->standby);
		assert_string_equal(p->raft_addr, c.t[i].addr);
		assert_true(p->match_index > 0);
		assert_int_equal(p->lag, st.last_index - p->match_index);
	}
	cons_node_status(c.t[fi].node, &st);
	assert_int_equal(st.role, CONS_ROLE_FOLLOWER);
	assert_int_equal(st.leader_id, (uint64_t)li + 1);
	assert_int_equal(cluster_peer(&st, 1)->match_index, 0);	/* known only on the leader */

	/* transfer: leadership moves, and writes go on through the new leader */
	memset(&a, 0, sizeof(a));
	assert_int_equal(cons_node_transfer(c.t[li].node, 0, done_cb, &a), 0);
	wait_answer(&c, &a, "transfer");
	assert_int_equal(a.status, 0);
	li2 = wait_leader(&c, li);
	assert_int_not_equal(li2, li);
	submit_hosts(&c, 5, 6);
	for (unsigned i = 0; i < 3; i++)
		wait_same(&c, (unsigned)li2, i);
	cluster_close(&c);
}

/* Stop the leader: the others elect a new one and go on; the old leader
 * restarts from its data dir with an empty state and catches up. With a
 * snapshot every 16 entries it reloads its own snapshot, and the leader
 * has compacted past what it missed, so it also gets the leader's. */
static void test_restart_catches_up(void **state)
{
	struct cluster c;
	struct cons_node_status st;
	int li, li2;

	(void)state;
	cluster_init(&c, 17210, 3, 16);
	for (unsigned i = 0; i < 3; i++)
		node_open(&c, i, false);
	li = wait_leader(&c, -1);
	submit_hosts(&c, 1, 40);
	for (unsigned i = 0; i < 3; i++)
		wait_same(&c, (unsigned)li, i);

	node_stop(&c, (unsigned)li);
	li2 = wait_leader(&c, li);
	submit_hosts(&c, 41, 100);

	c.t[li].n_restored = 0;
	node_open(&c, (unsigned)li, false);	/* bootstrap is refused: a restart */
	wait_same(&c, (unsigned)li2, (unsigned)li);
	assert_int_equal(cons_state_n_hosts(c.t[li].state), 100);
	assert_true(c.t[li].n_restored >= 1);
	cons_node_status(c.t[li].node, &st);
	assert_int_not_equal(st.role, CONS_ROLE_LEADER);

	/* and it takes part again: a write after its return reaches it */
	submit_hosts(&c, 101, 101);
	wait_same(&c, (unsigned)li2, (unsigned)li);
	cluster_close(&c);
}

static bool peer_role(struct cluster *c, void *arg)
{
	const int *want = arg;	/* {id, voter, standby} */
	struct cons_node_status st;
	const struct cons_peer_status *p;
	int li = leader_index(c);

	if (li < 0)
		return false;
	cons_node_status(c->t[li].node, &st);
	p = cluster_peer(&st, (uint64_t)want[0]);
	if (want[1] < 0)
		return p == NULL;
	return p && p->voter == (want[1] == 1) && p->standby == (want[2] == 1);
}

static void change(struct cluster *c, int rc_want, int (*fn)(struct cluster *c, int li,
							       struct answer *a))
{
	struct answer a = { 0 };
	int li = wait_leader(c, -1);
	int rc = fn(c, li, &a);

	if (rc != rc_want)
		fail_msg("membership call: %d (want %d): %s", rc, rc_want,
			 cons_node_errmsg(c->t[li].node));
	if (rc != 0)
		return;
	wait_answer(c, &a, "membership");
	if (a.status != 0)
		fail_msg("membership: %d: %s", a.status, cons_node_errmsg(c->t[li].node));
}

static int add_standby(struct cluster *c, int li, struct answer *a)
{
	return cons_node_add(c->t[li].node, 4, c->t[3].addr, false, done_cb, a);
}

static int promote(struct cluster *c, int li, struct answer *a)
{
	return cons_node_add(c->t[li].node, 4, c->t[3].addr, true, done_cb, a);
}

static int add_moved(struct cluster *c, int li, struct answer *a)
{
	return cons_node_add(c->t[li].node, 4, "127.0.0.1:1", true, done_cb, a);
}

static int remove4(struct cluster *c, int li, struct answer *a)
{
	return cons_node_remove(c->t[li].node, 4, done_cb, a);
}

static int add5_voter(struct cluster *c, int li, struct answer *a)
{
	return cons_node_add(c->t[li].node, 5, c->t[4].addr, true, done_cb, a);
}

static int remove5(struct cluster *c, int li, struct answer *a)
{
	return cons_node_remove(c->t[li].node, 5, done_cb, a);
}

static void test_membership(void **state)
{
	struct cluster c;
	int li;
	int standby[3] = { 4, 0, 1 }, voter[3] = { 4, 1, 0 }, gone[3] = { 4, -1, 0 };
	int voter5[3] = { 5, 1, 0 }, gone5[3] = { 5, -1, 0 };

	(void)state;
	cluster_init(&c, 17220, 3, 0);
	for (unsigned i = 0; i < 3; i++)
		node_open(&c, i, false);
	li = wait_leader(&c, -1);
	submit_hosts(&c, 1, 5);

	node_open(&c, 3, true);			/* joins: no bootstrap */
	change(&c, 0, add_standby);
	c.t[3].outsider = false;
	assert_true(run_until(&c, peer_role, standby));
	li = wait_leader(&c, -1);
	wait_same(&c, (unsigned)li, 3);	/* a standby replicates the state */
	change(&c, -EALREADY, add_standby);
	change(&c, -EEXIST, add_moved);

	change(&c, 0, promote);
	assert_true(run_until(&c, peer_role, voter));
	submit_hosts(&c, 6, 7);
	li = wait_leader(&c, -1);
	wait_same(&c, (unsigned)li, 3);

	change(&c, 0, remove4);
	c.t[3].outsider = true;
	assert_true(run_until(&c, peer_role, gone));
	node_stop(&c, 3);
	submit_hosts(&c, 8, 8);			/* the three go on without it */

	/* straight to voter: spare, standby, voter in one call */
	node_open(&c, 4, true);
	change(&c, 0, add5_voter);
	c.t[4].outsider = false;
	assert_true(run_until(&c, peer_role, voter5));
	li = wait_leader(&c, -1);
	wait_same(&c, (unsigned)li, 4);
	change(&c, 0, remove5);
	c.t[4].outsider = true;
	assert_true(run_until(&c, peer_role, gone5));
	cluster_close(&c);
}

struct applied_arg {
	unsigned i;
	uint64_t index;
};

static bool applied_upto(struct cluster *c, void *arg)
{
	struct applied_arg *a = arg;

	return cons_state_applied_index(c->t[a->i].state) >= a->index;
}

static bool never(struct cluster *c, void *arg)
{
	(void)c;
	(void)arg;
	return false;
}

/* Both followers have applied up to index before `end` (loop time, ms). */
static void followers_apply_by(struct cluster *c, uint64_t index, uint64_t end, const char *what)
{
	for (unsigned i = 1; i < 3; i++) {
		struct applied_arg a = { i, index };

		uv_update_time(&c->loop);
		if (uv_now(&c->loop) >= end || !run_within(c, end - uv_now(&c->loop), applied_upto, &a))
			fail_msg("%s: follower %u applied up to %llu of %llu before the heartbeat "
				 "could come", what, i + 1,
				 (unsigned long long)cons_state_applied_index(c->t[i].state),
				 (unsigned long long)index);
	}
}

/* Followers learn a commit at once, not with the next heartbeat: the
 * leader appends a commit notice (a barrier) once its commands are applied.
 * The heartbeat is 10 s, so only the notice can tell the followers within
 * the test's window; one voter elects itself at once, its two standbys never
 * campaign (the 30 s election timeout stays out of the way). A burst of
 * commands costs one notice, and a notice never causes another. */
static void test_commit_notice(void **state)
{
	struct cluster c;
	struct cons_node_status st;
	struct cons_result res = { 0 };
	struct answer a[10];
	struct cons_cmd cmd;
	uint64_t end;
	int li;

	(void)state;
	cluster_init(&c, 17250, 1, 0);
	c.election_ms = 30000;
	c.heartbeat_ms = 10000;
	for (unsigned i = 1; i < 3; i++) {
		c.peers[i].id = i + 1;
		snprintf(c.peers[i].raft_addr, sizeof(c.peers[i].raft_addr), "%s", c.t[i].addr);
		c.peers[i].voter = false;	/* a standby */
	}
	c.n_peers = 3;
	for (unsigned i = 0; i < 3; i++)
		node_open(&c, i, false);
	li = wait_leader(&c, -1);
	assert_int_equal(li, 0);
	/* every node just heard from the leader: no heartbeat for 10 s now */
	uv_update_time(&c.loop);
	end = uv_now(&c.loop) + c.heartbeat_ms * 8 / 10;

	for (unsigned h = 1; h <= 5; h++) {
		host_cmd(&cmd, h, h);
		res = submit_ok(&c, &cmd);
		followers_apply_by(&c, res.index, end, "one command");
	}
	/* a burst, all appended before any commits: one notice after it */
	for (unsigned k = 0; k < 10; k++) {
		memset(&a[k], 0, sizeof(a[k]));
		host_cmd(&cmd, 6 + k, 6 + k);
		assert_int_equal(cons_node_submit(c.t[0].node, &cmd, submit_cb, &a[k]), 0);
	}
	for (unsigned k = 0; k < 10; k++) {
		wait_answer(&c, &a[k], "burst");
		assert_int_equal(a[k].status, 0);
	}
	followers_apply_by(&c, a[9].res.index, end, "a burst");
	/* idle: no notice follows a notice */
	run_within(&c, 300, never, NULL);
	cons_node_status(c.t[0].node, &st);
	assert_int_equal(st.last_index, a[9].res.index + 1);
	assert_int_equal(st.commit_index, st.last_index);
	for (unsigned i = 1; i < 3; i++)
		assert_int_equal(cons_state_n_hosts(c.t[i].state), 15);
	cluster_close(&c);
}

static void test_config_errors(void **state)
{
	uv_loop_t loop;
	struct cons_state *s;
	struct cons_node *n = NULL;
	struct cons_peer peers[2] = { { 1, "127.0.0.1:17231", true },
				      { 2, "127.0.0.1:17232", true } };
	struct cons_node_config cfg = { .id = 3, .raft_addr = "127.0.0.1:17233",
					.data_dir = "/nonexistent/rtv", .peers = peers,
					.n_peers = 2 };
	char err[CONS_ERRLEN] = "", dir[] = "/tmp/test_cons_cfg.XXXXXX";

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(cons_state_new(&s), 0);
	assert_non_null(mkdtemp(dir));

	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/rtv"));
	cfg.data_dir = dir;
	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -EINVAL);
	assert_non_null(strstr(err, "must include this node"));
	cfg.id = 1;
	cfg.raft_addr = "127.0.0.1:17299";
	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -EINVAL);
	assert_non_null(strstr(err, "listens on"));
	cfg.raft_addr = "127.0.0.1:17231";
	cfg.election_timeout_ms = 100;
	cfg.heartbeat_ms = 100;
	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -EINVAL);
	assert_non_null(strstr(err, "heartbeat"));
	cfg.heartbeat_ms = 0;
	peers[1].id = 1;
	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	cfg.id = 0;
	assert_int_equal(cons_node_new(&loop, &cfg, s, NULL, &n, err), -EINVAL);
	assert_null(n);

	cons_state_free(s);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A node that cannot listen fails to start with a message, and closes. */
static void test_start_fails_on_busy_port(void **state)
{
	struct cluster c;
	uv_tcp_t busy;
	struct sockaddr_in sa;
	int rc;

	(void)state;
	cluster_init(&c, 17240, 1, 0);
	assert_int_equal(uv_tcp_init(&c.loop, &busy), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 17240, &sa), 0);
	assert_int_equal(uv_tcp_bind(&busy, (const struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&busy, 4, NULL), 0);

	c.t[0].open = false;
	{
		struct tnode *t = &c.t[0];
		struct cons_node_config cfg = { .id = 1, .raft_addr = t->addr, .data_dir = t->dir,
						.peers = c.peers, .n_peers = 1, .pre_vote = true };
		char err[CONS_ERRLEN];

		assert_int_equal(cons_state_new(&t->state), 0);
		assert_int_equal(cons_node_new(&c.loop, &cfg, t->state, NULL, &t->node, err), 0);
		rc = cons_node_start(t->node);
		assert_true(rc < 0);
		assert_non_null(strstr(cons_node_errmsg(t->node), "in use"));
		t->open = true;
	}
	uv_close((uv_handle_t *)&busy, NULL);
	cluster_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_start_fails_on_busy_port),
		cmocka_unit_test(test_bootstrap_submit_transfer),
		cmocka_unit_test(test_restart_catches_up),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_commit_notice),
	};

	rtv_log_init("test_cons_node", RTV_LOG_WARN);
	/* as in rtvd (daemon.c): raft_uv writing to a peer that just closed (a
	 * stopped node) must get EPIPE, not kill the process */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
