/* test_cons_tls.c — Raft over mutual TLS (consensus/transport_tls.c): real
 * nodes on one loop (the fixture of cons_cluster.h), ports 17400-17449,
 * certificates from pki/rtv-pki.sh.
 *
 * A rack of three elects, commits and replicates over TLS. Then, each
 * against a running rack, a fourth process (forked, with its own loop) that
 * must not get in:
 *   - another CA's certificate (trusting ours, so our side must refuse it)
 *     bootstrapping a cluster with the rack's nodes: every node refuses its
 *     connections, no replica's state moves, the rack commits on;
 *   - a self-signed "rtvd-host-4" that the leader is asked to add as a
 *     standby: the leader refuses to talk to it, it never gets an entry;
 *   - a valid rack certificate of host 5 claiming to be server 3: refused
 *     for the name/id mismatch;
 *   - an expired certificate of the rack: refused, naming the expiry date.
 * And a certificate renewed on a running rack with traffic
 * (cons_node_set_tls): no command fails, the renewal takes effect.
 * Each refusal is counted (cons_node_status.tls_refused) and logged with
 * the peer's address, its certificate's name and the reason; the log lines
 * are checked by capturing stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "pki/pki.h"
#include "tests/unit/cons_cluster.h"
#include "tests/unit/pki_fixture.h"

static char base[64], rack[96], intruder[96], self_dir[96];

static int setup_all(void **state)
{
	(void)state;
	rtv_log_init("test_cons_tls", getenv("TEST_DEBUG") ? RTV_LOG_DEBUG : RTV_LOG_WARN);
	snprintf(base, sizeof(base), "/tmp/test_cons_tls.XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(rack, sizeof(rack), "%s/rack", base);
	snprintf(intruder, sizeof(intruder), "%s/intruder", base);
	snprintf(self_dir, sizeof(self_dir), "%s/self", base);
	pkifx_rack(rack);
	for (uint64_t id = 1; id <= 3; id++)
		pkifx_issue(rack, id, 30);
	pkifx_issue(rack, 5, 30);
	pkifx_issue(rack, 4, -1);	/* expired */
	/* another rack's host 4, trusting our CA as well as its own */
	pkifx_rack(intruder);
	pkifx_issue(intruder, 4, 30);
	pkifx_sh("cat %s/ca.crt >>%s/ca.crt", rack, intruder);
	assert_int_equal(mkdir(self_dir, 0700), 0);
	pkifx_self_signed(self_dir, "host-4", "rtvd-host-4");
	pkifx_sh("cat %s/host-4.crt %s/ca.crt >%s/ca.crt", self_dir, rack, self_dir);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	pkifx_sh("rm -rf %s", base);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Helpers                                                                    */

/* stderr into a file while a test runs, to check the log lines. */
static char log_path[128];
static int saved_stderr = -1;

static void capture_start(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "%s/stderr.log", base);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved_stderr >= 0);
	dup2(fd, 2);
	close(fd);
}

/* Restores stderr and checks that one line holds every one of the words. */
static void capture_expect(const char *w1, const char *w2, const char *w3)
{
	char line[1024];
	bool found = false;
	FILE *f;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(log_path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, w1) && strstr(line, w2) && strstr(line, w3);
	fclose(f);
	if (!found)
		pkifx_sh("echo 'log lacks a line with \"%s\" \"%s\" \"%s\":'; cat %s", w1, w2, w3,
			 log_path);
	assert_true(found);
}

static void rack_up(struct cluster *c, unsigned port_base)
{
	cluster_init(c, port_base, 3, 0);
	/* an election timeout well above the stalls of four nodes sharing one
	 * loop (and TLS handshakes under ASan on a busy machine): the checks
	 * that the rack's term and leader did not move must not trip on them */
	c->election_ms = 1000;
	for (unsigned i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "host-%u", i + 1);
		c->t[i].tls = pkifx_creds(rack, rack, name, 0);
		node_open(c, i, false);
	}
	int li = wait_leader(c, -1);
	submit_hosts(c, 1, 3);
	for (unsigned i = 0; i < 3; i++)
		wait_same(c, (unsigned)li, i);
}

static void rack_down(struct cluster *c)
{
	struct pki_creds *tls[MAX_NODES];

	for (unsigned i = 0; i < MAX_NODES; i++)
		tls[i] = c->t[i].tls;
	cluster_close(c);
	for (unsigned i = 0; i < MAX_NODES; i++)
		pki_creds_free(tls[i]);
}

static uint64_t refused(struct cluster *c, unsigned i)
{
	struct cons_node_status st;

	cons_node_status(c->t[i].node, &st);
	return st.tls_refused;
}

/* Node i's refusals for one reason (cons_tls_refusal_names). */
static uint64_t refused_by(struct cluster *c, unsigned i, enum cons_tls_refusal r)
{
	struct cons_node_status st;

	cons_node_status(c->t[i].node, &st);
	return st.tls_refused_by[r];
}

/* Every rack node (0-2) has refused at least one connection. */
static bool all_refused(struct cluster *c, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < 3; i++)
		if (refused(c, i) == 0)
			return false;
	return true;
}

static bool one_refused(struct cluster *c, void *arg)
{
	return refused(c, *(unsigned *)arg) > 0;
}

/* What an intruder must not change: each replica's state (hosts and
 * applied index; nothing else is submitted meanwhile). Leadership is not
 * compared: the intruder's messages never reach raft (the refusal counts
 * and log lines show it), and on a loaded machine the four processes'
 * handshakes alone can delay heartbeats past an election timeout. */
struct snap {
	uint64_t applied[3];
	size_t hosts[3];
};

static void snap_take(struct cluster *c, struct snap *s)
{
	for (unsigned i = 0; i < 3; i++) {
		s->applied[i] = cons_state_applied_index(c->t[i].state);
		s->hosts[i] = cons_state_n_hosts(c->t[i].state);
	}
}

static void snap_same(struct cluster *c, const struct snap *before)
{
	struct snap now;

	snap_take(c, &now);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(now.applied[i], before->applied[i]);
		assert_int_equal(now.hosts[i], before->hosts[i]);
	}
}

static pid_t intruder_pid;	/* killed by teardown if a test fails first */

static int teardown_one(void **state)
{
	(void)state;
	if (intruder_pid > 0) {
		kill(intruder_pid, SIGKILL);
		waitpid(intruder_pid, NULL, 0);
		intruder_pid = 0;
	}
	return 0;
}

static pid_t intruder_spawn(struct cluster *c, struct pki_creds *creds, uint64_t id, bool join)
{
	struct cons_peer peers[4];
	size_t n = 3;
	pid_t pid;

	memcpy(peers, c->peers, 3 * sizeof(peers[0]));
	peers[id <= 3 ? id - 1 : n++] = (struct cons_peer){ .id = id, .voter = true };
	snprintf(peers[id <= 3 ? id - 1 : 3].raft_addr, CONS_ADDR_MAX, "%s", c->t[3].addr);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the test */
		struct cons_node_config cfg = { .id = id, .raft_addr = c->t[3].addr,
						.data_dir = c->t[3].dir, .peers = join ? NULL : peers,
						.n_peers = join ? 0 : n, .pre_vote = true,
						.election_timeout_ms = 250, .tls = creds };
		char err[CONS_ERRLEN];
		struct cons_state *st;
		struct cons_node *node;
		uv_loop_t loop;

		uv_loop_init(&loop);
		if (cons_state_new(&st) != 0 ||
		    cons_node_new(&loop, &cfg, st, NULL, &node, err) != 0 ||
		    cons_node_start(node) != 0)
			_exit(2);
		uv_run(&loop, UV_RUN_DEFAULT);
		_exit(0);
	}
	pki_creds_free(creds);
	intruder_pid = pid;
	return pid;
}

static void intruder_kill(pid_t pid)
{
	int status = 0;

	intruder_pid = 0;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* killed by us, not dead of its own (a failed start exits 2) */
	assert_true(WIFSIGNALED(status));
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */

static void test_tls_rack(void **state)
{
	struct cluster c;
	int li;

	(void)state;
	rack_up(&c, 17400);
	li = wait_leader(&c, -1);
	for (unsigned i = 0; i < 3; i++) {
		wait_same(&c, (unsigned)li, i);
		assert_int_equal(cons_state_n_hosts(c.t[i].state), 3);
		assert_int_equal(refused(&c, i), 0);
	}
	/* a new leader over TLS too */
	node_stop(&c, (unsigned)li);
	int li2 = wait_leader(&c, li);
	assert_int_not_equal(li2, li);
	submit_hosts(&c, 4, 4);
	rack_down(&c);
}

static void test_tls_other_ca_refused(void **state)
{
	struct cluster c;
	struct snap before;

	(void)state;
	rack_up(&c, 17410);
	snap_take(&c, &before);
	capture_start();
	pid_t pid = intruder_spawn(&c, pkifx_creds(intruder, intruder, "host-4", 0), 4, false);
	/* with pre-vote it asks every node for votes: each refuses it */
	bool ok = run_until(&c, all_refused, NULL);
	capture_expect("refused incoming peer 127.0.0.1:", "CN=rtvd-host-4",
		       "not issued by the rack CA");
	assert_true(ok);
	for (unsigned i = 0; i < 3; i++)	/* counted under its reason */
		assert_true(refused_by(&c, i, CONS_TLS_R_UNKNOWN_CA) > 0);
	snap_same(&c, &before);
	submit_hosts(&c, 4, 4);	/* the rack works on */
	intruder_kill(pid);
	rack_down(&c);
}

static bool never(struct cluster *c, void *arg)
{
	(void)c;
	(void)arg;
	return false;
}

static bool add_done(struct cluster *c, void *arg)
{
	(void)c;
	return ((struct answer *)arg)->done;
}

static void test_tls_self_signed_standby_refused(void **state)
{
	struct cluster c;
	struct answer a = { 0 };
	struct cons_node_status st;
	unsigned li;

	(void)state;
	rack_up(&c, 17420);
	li = (unsigned)wait_leader(&c, -1);
	capture_start();
	pid_t pid = intruder_spawn(&c, pkifx_creds(self_dir, self_dir, "host-4", 0), 4, true);
	assert_int_equal(cons_node_add(c.t[li].node, 4, c.t[3].addr, false, done_cb, &a), 0);
	assert_true(run_until(&c, add_done, &a));
	/* the configuration change commits among the voters, but the leader
	 * refuses every connection to the impostor: it never gets an entry */
	bool ok = run_until(&c, one_refused, &li);
	submit_hosts(&c, 4, 5);
	run_within(&c, 500, never, NULL);	/* more replication attempts */
	capture_expect("refused dialed peer 127.0.0.1:", "CN=rtvd-host-4",
		       "not issued by the rack CA");
	assert_true(ok);
	cons_node_status(c.t[li].node, &st);
	assert_non_null(cluster_peer(&st, 4));
	assert_int_equal(cluster_peer(&st, 4)->match_index, 0);
	intruder_kill(pid);
	rack_down(&c);
}

static void test_tls_name_mismatch_refused(void **state)
{
	struct cluster c;
	struct snap before;

	(void)state;
	rack_up(&c, 17430);
	snap_take(&c, &before);
	capture_start();
	/* host 5's genuine certificate, claiming Raft id 3 */
	pid_t pid = intruder_spawn(&c, pkifx_creds(rack, rack, "host-5", 0), 3, false);
	unsigned n1 = 0;
	bool ok = run_until(&c, one_refused, &n1);
	capture_expect("refused incoming peer 127.0.0.1:", "names rtvd-host-5",
		       "claims Raft id 3");
	assert_true(ok);
	assert_true(refused_by(&c, n1, CONS_TLS_R_ID_MISMATCH) > 0);
	snap_same(&c, &before);
	intruder_kill(pid);
	rack_down(&c);
}

static void test_tls_expired_refused(void **state)
{
	struct cluster c;
	struct snap before;

	(void)state;
	rack_up(&c, 17440);
	snap_take(&c, &before);
	capture_start();
	pid_t pid = intruder_spawn(&c, pkifx_creds(rack, rack, "host-4", PKI_CREDS_ALLOW_EXPIRED),
				   4, false);
	bool ok = run_until(&c, all_refused, NULL);
	capture_expect("refused incoming peer 127.0.0.1:", "CN=rtvd-host-4",
		       "certificate expired on");
	assert_true(ok);
	for (unsigned i = 0; i < 3; i++)
		assert_true(refused_by(&c, i, CONS_TLS_R_EXPIRED) > 0);
	snap_same(&c, &before);
	intruder_kill(pid);
	rack_down(&c);
}

/* Renewal on a running rack with traffic: node 1 switches credentials
 * while commands keep committing. First to an expired certificate, which
 * proves the switch takes effect (a restarted peer refuses node 1's new
 * connections), then to a fresh one, after which that peer catches up. */
/* Makes node 1 the leader (transfer) if it is not. */
static void lead_by_1(struct cluster *c)
{
	int li = wait_leader(c, -1);
	struct answer a = { 0 };

	if (li == 0)
		return;
	assert_int_equal(cons_node_transfer(c->t[li].node, 1, done_cb, &a), 0);
	wait_answer(c, &a, "transfer to node 1");
	assert_int_equal(a.status, 0);
	wait_leader(c, li);
}

static void test_tls_renew_running(void **state)
{
	struct pki_creds *expired, *fresh;
	struct cluster c;
	unsigned peer = 1;	/* node 2 */
	int li;

	(void)state;
	/* made first: openssl would stall the rack's loop past an election */
	pkifx_issue(rack, 1, -1);
	expired = pkifx_creds(rack, rack, "host-1", PKI_CREDS_ALLOW_EXPIRED);
	pkifx_issue(rack, 1, 60);
	fresh = pkifx_creds(rack, rack, "host-1", 0);
	rack_up(&c, 17450);

	/* node 1 leads, so it is the one that must reach the restarted peer
	 * (a follower never dials another follower) */
	lead_by_1(&c);
	assert_int_equal(cons_node_set_tls(c.t[0].node, expired), 0);
	node_stop(&c, peer);	/* its connections to node 1 are made anew */
	node_open(&c, peer, false);
	c.t[peer].outsider = true;	/* it cannot follow node 1's view now */
	submit_hosts(&c, 4, 6);		/* the other two commit on */
	for (int tries = 0; tries < 3 && !run_within(&c, 5000, one_refused, &peer); tries++)
		lead_by_1(&c);	/* leadership moved (a busy machine): again */
	assert_true(one_refused(&c, &peer));

	assert_int_equal(cons_node_set_tls(c.t[0].node, fresh), 0);
	submit_hosts(&c, 7, 9);
	c.t[peer].outsider = false;
	li = wait_leader(&c, -1);
	for (unsigned i = 0; i < 3; i++) {
		wait_same(&c, (unsigned)li, i);
		assert_int_equal(cons_state_n_hosts(c.t[i].state), 9);
	}
	pki_creds_free(expired);	/* the node holds its own references */
	pki_creds_free(fresh);
	rack_down(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tls_rack, teardown_one),
		cmocka_unit_test_teardown(test_tls_other_ca_refused, teardown_one),
		cmocka_unit_test_teardown(test_tls_self_signed_standby_refused, teardown_one),
		cmocka_unit_test_teardown(test_tls_name_mismatch_refused, teardown_one),
		cmocka_unit_test_teardown(test_tls_expired_refused, teardown_one),
		cmocka_unit_test_teardown(test_tls_renew_running, teardown_one),
	};

	signal(SIGPIPE, SIG_IGN);	/* as rtvd: writes to a closed peer fail with EPIPE */
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
