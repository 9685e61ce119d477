/* cons_cluster.c — see cons_cluster.h. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
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

#include "tests/unit/cons_cluster.h"

/* ------------------------------------------------------------------------- */
/* Loop helpers                                                               */

static void wake_cb(uv_timer_t *t)
{
	(void)t;
}

/* Runs the loop until done() or until ms have passed (false then). */
bool run_within(struct cluster *c, uint64_t ms,
		       bool (*done)(struct cluster *c, void *arg), void *arg)
{
	uint64_t end;

	uv_update_time(&c->loop);
	end = uv_now(&c->loop) + ms;
	while (!done(c, arg)) {
		uv_update_time(&c->loop);
		if (uv_now(&c->loop) > end)
			return false;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
	return true;
}

bool run_until(struct cluster *c, bool (*done)(struct cluster *c, void *arg), void *arg)
{
	return run_within(c, WAIT_MS, done, arg);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ------------------------------------------------------------------------- */
/* Nodes                                                                      */

static void on_leader(void *arg, uint64_t leader_id, bool self)
{
	struct tnode *t = arg;

	(void)self;
	t->n_leader_events++;
	t->leader_seen = leader_id;
}

static void on_applied(void *arg, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct tnode *t = arg;

	(void)cmd;
	(void)res;
	t->n_applied++;
}

static void on_restored(void *arg)
{
	((struct tnode *)arg)->n_restored++;
}

void cluster_init(struct cluster *c, unsigned port_base, unsigned n_voters,
			 unsigned snapshot_threshold)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(uv_loop_init(&c->loop), 0);
	assert_int_equal(uv_timer_init(&c->loop, &c->wake), 0);
	assert_int_equal(uv_timer_start(&c->wake, wake_cb, 20, 20), 0);
	snprintf(c->base, sizeof(c->base), "/tmp/test_cons_node.XXXXXX");
	assert_non_null(mkdtemp(c->base));
	c->port_base = port_base;
	c->snapshot_threshold = snapshot_threshold;
	for (unsigned i = 0; i < MAX_NODES; i++) {
		struct tnode *t = &c->t[i];

		t->id = i + 1;
		snprintf(t->dir, sizeof(t->dir), "%s/n%u", c->base, i + 1);
		snprintf(t->addr, sizeof(t->addr), "127.0.0.1:%u", port_base + i);
		assert_int_equal(mkdir(t->dir, 0700), 0);
	}
	for (unsigned i = 0; i < n_voters; i++) {
		c->peers[i].id = i + 1;
		snprintf(c->peers[i].raft_addr, sizeof(c->peers[i].raft_addr), "%s", c->t[i].addr);
		c->peers[i].voter = true;
	}
	c->n_peers = n_voters;
}

/* Opens node i from its data dir with a fresh state; `join`: no peers. */
void node_open(struct cluster *c, unsigned i, bool join)
{
	struct tnode *t = &c->t[i];
	struct cons_node_config cfg = {
		.id = t->id, .raft_addr = t->addr, .data_dir = t->dir,
		.peers = join ? NULL : c->peers, .n_peers = join ? 0 : c->n_peers,
		.pre_vote = true, .snapshot_threshold = c->snapshot_threshold,
		.election_timeout_ms = c->election_ms, .heartbeat_ms = c->heartbeat_ms,
		.tls = t->tls,
	};
	struct cons_node_hooks hooks = { .arg = t, .leader_changed = on_leader,
					 .applied = on_applied, .restored = on_restored };
	char err[CONS_ERRLEN] = "";
	int rc;

	assert_int_equal(cons_state_new(&t->state), 0);
	rc = cons_node_new(&c->loop, &cfg, t->state, &hooks, &t->node, err);
	if (rc != 0)
		fail_msg("node %u: %s", i + 1, err);
	rc = cons_node_start(t->node);
	if (rc != 0)
		fail_msg("node %u start: %s", i + 1, cons_node_errmsg(t->node));
	t->open = true;
	t->closed = false;
	t->outsider = join;
}

/* The close callback gets only the node: find its tnode. */
static struct cluster *closing_cluster;

static void on_closed(struct cons_node *n)
{
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (closing_cluster->t[i].node == n)
			closing_cluster->t[i].closed = true;
}

static bool node_is_closed(struct cluster *c, void *arg)
{
	(void)c;
	return ((struct tnode *)arg)->closed;
}

void node_stop(struct cluster *c, unsigned i)
{
	struct tnode *t = &c->t[i];

	closing_cluster = c;
	cons_node_close(t->node, on_closed);
	assert_true(run_until(c, node_is_closed, t));
	cons_node_free(t->node);
	cons_state_free(t->state);
	t->node = NULL;
	t->state = NULL;
	t->open = false;
}

void cluster_close(struct cluster *c)
{
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (c->t[i].open)
			node_stop(c, i);
	uv_close((uv_handle_t *)&c->wake, NULL);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&c->loop), 0);
	assert_int_equal(nftw(c->base, rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int leader_index(struct cluster *c)
{
	int found = -1;

	for (unsigned i = 0; i < MAX_NODES; i++) {
		struct cons_node_status st;

		if (!c->t[i].open)
			continue;
		cons_node_status(c->t[i].node, &st);
		if (st.role == CONS_ROLE_LEADER)
			found = (int)i;
	}
	return found;
}

/* A leader other than node *arg (or any if *arg < 0), known to every open node. */
static bool new_leader_known(struct cluster *c, void *arg)
{
	int not = *(int *)arg, li = leader_index(c);

	if (li < 0 || li == not)
		return false;
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (c->t[i].open && !c->t[i].outsider && c->t[i].leader_seen != (uint64_t)li + 1)
			return false;
	return true;
}

int wait_leader(struct cluster *c, int not)
{
	if (!run_until(c, new_leader_known, &not))
		fail_msg("no leader known to all nodes within %d ms", WAIT_MS);
	return leader_index(c);
}

/* ------------------------------------------------------------------------- */
/* Requests                                                                   */


void submit_cb(void *arg, int status, const struct cons_result *res)
{
	struct answer *a = arg;

	a->done = true;
	a->status = status;
	if (res)
		a->res = *res;
}

void done_cb(void *arg, int status)
{
	struct answer *a = arg;

	a->done = true;
	a->status = status;
}

static bool answered(struct cluster *c, void *arg)
{
	(void)c;
	return ((struct answer *)arg)->done;
}

void wait_answer(struct cluster *c, struct answer *a, const char *what)
{
	if (!run_until(c, answered, a))
		fail_msg("%s: no answer within %d ms", what, WAIT_MS);
}

void host_cmd(struct cons_cmd *cmd, unsigned h, uint64_t seq)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = CONS_OP_HOST_ADD;
	cmd->client_id = 7;
	cmd->seq = seq;
	cmd->u.host.id = h;
	snprintf(cmd->u.host.name, sizeof(cmd->u.host.name), "host%u", h);
	cmd->u.host.uplink_bps = 1000000000;
	cmd->u.host.rt_budget_ppm = 400000;
	cmd->u.host.max_frame_bytes = 1514;
}

/* Submits to the current leader and waits for the answer, which must be an
 * applied command. */
struct cons_result submit_ok(struct cluster *c, const struct cons_cmd *cmd)
{
	struct answer a = { 0 };
	int li = wait_leader(c, -1);
	int rc = cons_node_submit(c->t[li].node, cmd, submit_cb, &a);

	if (rc != 0)
		fail_msg("submit to node %d: %d %s", li + 1, rc, cons_node_errmsg(c->t[li].node));
	wait_answer(c, &a, "submit");
	if (a.status != 0 || a.res.status != 0)
		fail_msg("submit: status %d, result %d (%s)", a.status, a.res.status, a.res.err);
	return a.res;
}

void submit_hosts(struct cluster *c, unsigned from, unsigned to)
{
	for (unsigned h = from; h <= to; h++) {
		struct cons_cmd cmd;
		struct cons_result res;

		host_cmd(&cmd, h, h);
		res = submit_ok(c, &cmd);
		assert_false(res.duplicate);
		assert_true(res.index > 0);
	}
}

struct same_arg {
	unsigned a, b;
};

/* Node b has applied all that node a has, and their states are equal. */
static bool states_equal(struct cluster *c, void *arg)
{
	struct same_arg *s = arg;

	return cons_state_applied_index(c->t[s->b].state) ==
		       cons_state_applied_index(c->t[s->a].state) &&
	       cons_state_equal(c->t[s->a].state, c->t[s->b].state);
}

void wait_same(struct cluster *c, unsigned a, unsigned b)
{
	struct same_arg s = { a, b };

	if (!run_until(c, states_equal, &s))
		fail_msg("node %u did not catch up with node %u (applied %llu vs %llu)", b + 1,
			 a + 1, (unsigned long long)cons_state_applied_index(c->t[b].state),
			 (unsigned long long)cons_state_applied_index(c->t[a].state));
}

const struct cons_peer_status *cluster_peer(const struct cons_node_status *st, uint64_t id)
{
	for (size_t i = 0; i < st->n_peers; i++)
		if (st->peers[i].id == id)
			return &st->peers[i];
	return NULL;
}
