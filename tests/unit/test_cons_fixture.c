/* test_cons_fixture.c — the replicated state under faults, in simulated time.
 *
 * libraft's fixture (raft/fixture.h) runs 3 or 5 voters and a standby in
 * memory, each with the real FSM (consensus/fsm.c) over its own cons_state.
 * Clients stream commands — host and VM adds, reservations that sometimes
 * exceed a link's RT budget, releases — to whichever server leads, while a
 * seeded random schedule kills, revives, partitions, saturates and deposes.
 * A client keeps one request outstanding and retries it with the same
 * (client_id, seq) until it gets an answer, as rtvd's clients do.
 *
 * After each schedule everything is healed and left to converge; then every
 * replica must hold a state equal to the others', pass cons_state_check (no
 * link over its RT budget), and hold exactly the rtpaths whose reservations
 * were answered "admitted" and not released since: nothing acknowledged is
 * lost and nothing is admitted twice. Another schedule snapshots every few
 * entries so followers catch up by InstallSnapshot, and one injects a disk
 * write failure on the leader (the I/O guard must hand leadership over).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "consensus/fsm_internal.h"

#define N_CLIENTS 4
#define N_HOSTS 5
#define VMS_PER_HOST 2
#define MAX_PATHS 4096
#define ROUND_MS 50

struct sim;

struct replica {
	struct cons_state *state;
	struct cons_fsm fsm;
	struct cons_io_guard guard;
	uint64_t n_applied_hook;
};

struct pending {
	struct raft_apply req;
	struct sim *sim;
	unsigned client;
};

struct client {
	uint64_t cid, seq;
	struct cons_cmd cmd;		/* the request in flight or to retry */
	bool busy;			/* cmd not answered yet */
	bool in_raft;			/* a raft_apply callback is due */
};

struct sim {
	struct raft_fixture f;
	unsigned n, n_voters;
	struct replica r[RAFT_FIXTURE_MAX_SERVERS];
	struct client c[N_CLIENTS];
	uint64_t rng;
	uint64_t seed;
	/* the model: rtpaths answered "admitted" and not released since */
	uint64_t live[MAX_PATHS];
	size_t n_live;
	bool host_acked[N_HOSTS + 1];
	/* counters, for the log and for "the stream did something" checks */
	uint64_t n_admitted, n_refused, n_released, n_duplicates, n_lost, n_other;
	uint64_t n_faults;
};

static uint64_t rnd(struct sim *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 2685821657736338717ull;
}

static unsigned pick(struct sim *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

static uint32_t vm_ip(unsigned host, unsigned vm)
{
	return (10u << 24) | (host << 8) | (vm + 1);
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                   */

static void make_host(struct cons_cmd *cmd, unsigned h)
{
	struct cons_host *x = &cmd->u.host;

	cmd->op = CONS_OP_HOST_ADD;
	x->id = h;
	snprintf(x->name, sizeof(x->name), "h%u", h);
	snprintf(x->raft_addr, sizeof(x->raft_addr), "127.0.0.1:%u", 17200 + h);
	snprintf(x->rpc_addr, sizeof(x->rpc_addr), "tcp://127.0.0.1:%u", 17250 + h);
	x->uplink_bps = 100000000;
	x->rt_budget_ppm = 500000;	/* half of each link for RT */
	x->max_frame_bytes = 1514;
	x->role = CONS_HOST_VOTER;
}

static void make_vm(struct cons_cmd *cmd, unsigned h, unsigned v)
{
	struct cons_vm *vm = &cmd->u.vm;

	cmd->op = CONS_OP_VM_SET;
	snprintf(vm->uuid, sizeof(vm->uuid), "vm-%u-%u", h, v);
	snprintf(vm->name, sizeof(vm->name), "guest%u%u", h, v);
	snprintf(vm->tenant, sizeof(vm->tenant), "t%u", v);
	vm->host_id = h;
	vm->ips[0] = vm_ip(h, v);
	vm->n_ips = 1;
	vm->macs[0][0] = 0x52;
	vm->macs[0][5] = (uint8_t)(h * 16 + v);
	vm->n_macs = 1;
}

/* Rates of 2..40 Mbit/s against 50 Mbit/s of RT budget per uplink: after a
 * few admissions some requests must be refused. */
static void make_reserve(struct sim *s, struct cons_cmd *cmd, unsigned client)
{
	struct cons_path_req *p = &cmd->u.path;
	unsigned hs = 1 + pick(s, N_HOSTS), hd = 1 + pick(s, N_HOSTS - 1);

	if (hd >= hs)
		hd++;
	cmd->op = CONS_OP_PATH_RESERVE;
	p->src_ip = vm_ip(hs, pick(s, VMS_PER_HOST));
	p->dst_ip = vm_ip(hd, pick(s, VMS_PER_HOST));
	p->proto = 17;
	p->dport = (uint16_t)(5000 + pick(s, 1000));
	p->type = pick(s, 2) ? CONS_PATH_DEADLINE : CONS_PATH_RESERVATION;
	p->rate_bps = 2000000ull * (1 + pick(s, 20));
	p->deadline_ns = 5000000ull + 1000000ull * pick(s, 15);
	snprintf(p->owner, sizeof(p->owner), "c%u-s%" PRIu64, client, s->c[client].seq);
}

static void next_cmd(struct sim *s, unsigned i)
{
	struct client *c = &s->c[i];
	unsigned k = pick(s, 20);

	memset(&c->cmd, 0, sizeof(c->cmd));
	if (k < 2)
		make_host(&c->cmd, 1 + pick(s, N_HOSTS));
	else if (k < 4)
		make_vm(&c->cmd, 1 + pick(s, N_HOSTS), pick(s, VMS_PER_HOST));
	else if (k < 7 && s->n_live > 0) {
		c->cmd.op = CONS_OP_PATH_RELEASE;
		c->cmd.u.ref.id = s->live[pick(s, (unsigned)s->n_live)];
	} else if (k < 8)
		c->cmd.op = CONS_OP_NOOP;
	else
		make_reserve(s, &c->cmd, i);
	c->seq++;
	c->cmd.client_id = c->cid;
	c->cmd.seq = c->seq;
	c->busy = true;
}

/* ------------------------------------------------------------------------- */
/* The model                                                                  */

static void live_remove(struct sim *s, uint64_t id)
{
	for (size_t i = 0; i < s->n_live; i++) {
		if (s->live[i] == id) {
			s->live[i] = s->live[--s->n_live];
			return;
		}
	}
}

static bool live_has(const struct sim *s, uint64_t id)
{
	for (size_t i = 0; i < s->n_live; i++)
		if (s->live[i] == id)
			return true;
	return false;
}

/* A definitive answer: the first one, or the deduplication table's copy. */
static void answered(struct sim *s, struct client *c, const struct cons_result *res)
{
	s->n_duplicates += res->duplicate;
	switch (c->cmd.op) {
	case CONS_OP_PATH_RESERVE:
		if (res->status == 0) {
			assert_false(live_has(s, res->id));
			assert_true(s->n_live < MAX_PATHS);
			s->live[s->n_live++] = res->id;
			s->n_admitted++;
		} else if (res->status == CONS_EREFUSED) {
			s->n_refused++;
		} else {
			s->n_other++;
		}
		break;
	case CONS_OP_PATH_RELEASE:
		if (res->status == 0) {
			live_remove(s, c->cmd.u.ref.id);
			s->n_released++;
		} else if (res->status != -ENOENT) {
			s->n_other++;	/* -ENOENT: another client released it first */
		}
		break;
	case CONS_OP_HOST_ADD:
		if (res->status == 0)
			s->host_acked[c->cmd.u.host.id] = true;
		else
			s->n_other++;
		break;
	default:
		if (res->status != 0)
			s->n_other++;
		break;
	}
	c->busy = false;
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	struct pending *p = req->data;
	struct sim *s = p->sim;
	struct client *c = &s->c[p->client];

	c->in_raft = false;
	if (status == 0)
		answered(s, c, result);
	else
		s->n_lost++;	/* outcome unknown: retried with the same seq */
	free(p);
}

/* ------------------------------------------------------------------------- */
/* Driving the cluster                                                        */

static int leader_of(struct sim *s)
{
	int found[RAFT_FIXTURE_MAX_SERVERS], n = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (raft_fixture_alive(&s->f, i) &&
		    raft_state(raft_fixture_get(&s->f, i)) == RAFT_LEADER)
			found[n++] = (int)i;
	return n ? found[pick(s, (unsigned)n)] : -1;
}

static int submit(struct sim *s, unsigned server, unsigned client)
{
	struct client *c = &s->c[client];
	struct raft_buffer buf;
	struct pending *p;
	char err[CONS_ERRLEN];
	int rc;

	rc = cons_entry_encode(&c->cmd, &buf, err);
	if (rc != 0)
		fail_msg("seed %" PRIu64 ": encode %s: %s", s->seed, cons_op_name(c->cmd.op), err);
	assert_int_equal(buf.len % 8, 0);	/* raft_uv needs 8-byte multiples */
	p = malloc(sizeof(*p));
	assert_non_null(p);
	p->req.data = p;
	p->sim = s;
	p->client = client;
	rc = raft_apply(raft_fixture_get(&s->f, server), &p->req, &buf, 1, apply_cb);
	if (rc != 0) {
		raft_free(buf.base);
		free(p);
		return rc;
	}
	c->in_raft = true;
	return 0;
}

static void drive_clients(struct sim *s, bool new_work)
{
	for (unsigned i = 0; i < N_CLIENTS; i++) {
		struct client *c = &s->c[i];
		int leader;

		if (c->in_raft || (!c->busy && !new_work))
			continue;
		leader = leader_of(s);
		if (leader < 0)
			return;
		if (!c->busy)
			next_cmd(s, i);
		submit(s, (unsigned)leader, i);	/* on failure: retried next round */
	}
}

static void poll_guards(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (raft_fixture_alive(&s->f, i))
			cons_io_guard_poll(&s->r[i].guard);
}

static void run_ms(struct sim *s, unsigned ms, bool new_work)
{
	for (unsigned t = 0; t < ms; t += ROUND_MS) {
		drive_clients(s, new_work);
		raft_fixture_step_until_elapsed(&s->f, ROUND_MS);
		poll_guards(s);
	}
}

/* libraft 0.15's fixture stores each server's log as an array that it
 * assumes starts at index 1. After an InstallSnapshot it empties the array
 * and the next conflicting-entry truncation copies past its end (ASan:
 * fixture.c:619, ioMethodTruncate). That stored copy is only read back by
 * raft_start, which runs once per server here, so truncation is skipped:
 * raft's own in-memory log, the one under test, is unaffected. */
static int fixture_truncate_noop(struct raft_io *io, raft_index index)
{
	(void)io;
	(void)index;
	return 0;
}

static void on_applied(void *arg, const struct cons_cmd *cmd, const struct cons_result *res)
{
	struct replica *r = arg;

	(void)cmd;
	(void)res;
	r->n_applied_hook++;
}

static void sim_init(struct sim *s, unsigned n_voters, unsigned n_standby, uint64_t seed,
		     unsigned snapshot_threshold)
{
	struct raft_configuration conf;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	s->n = n_voters + n_standby;
	s->n_voters = n_voters;
	assert_int_equal(raft_fixture_initialize(&s->f), 0);
	for (unsigned i = 0; i < s->n; i++) {
		struct replica *r = &s->r[i];
		struct cons_node_hooks hooks = { .arg = r, .applied = on_applied };
		struct raft *raft;

		assert_int_equal(cons_state_new(&r->state), 0);
		cons_fsm_init(&r->fsm, r->state, &hooks);
		assert_int_equal(raft_fixture_grow(&s->f, &r->fsm.fsm), 0);
		raft = raft_fixture_get(&s->f, i);
		cons_fsm_bind(&r->fsm, raft);
		cons_io_guard_install(&r->guard, raft);
		raft->io->truncate = fixture_truncate_noop;
		raft_set_pre_vote(raft, true);
		/* The fixture copies the leader's whole log at every step, so
		 * a long log makes the test slow: snapshot every 128 entries
		 * at least. */
		if (snapshot_threshold == 0)
			snapshot_threshold = 128;
		raft_set_snapshot_threshold(raft, snapshot_threshold);
		raft_set_snapshot_trailing(raft, snapshot_threshold / 2);
		/* as node.c: an InstallSnapshot lost to a fault (or dropped by a
		 * follower busy with its own snapshot) is retried after ten
		 * election timeouts, not raft's default 30 s */
		raft_set_install_snapshot_timeout(raft, 10 * raft->election_timeout);
	}
	for (unsigned i = 0; i < N_CLIENTS; i++)
		s->c[i].cid = 100 + i;
	assert_int_equal(raft_fixture_configuration(&s->f, n_voters, &conf), 0);
	assert_int_equal(raft_fixture_bootstrap(&s->f, &conf), 0);
	raft_configuration_close(&conf);
	assert_int_equal(raft_fixture_start(&s->f), 0);
}

static void sim_close(struct sim *s)
{
	raft_fixture_close(&s->f);	/* fails outstanding requests: apply_cb frees them */
	for (unsigned i = 0; i < s->n; i++)
		cons_state_free(s->r[i].state);
}

/* ------------------------------------------------------------------------- */
/* Faults                                                                     */

static unsigned n_alive(struct sim *s)
{
	unsigned k = 0;

	for (unsigned i = 0; i < s->n; i++)
		k += raft_fixture_alive(&s->f, i);
	return k;
}

/* raft_fixture_depose asserts that a stable leader exists and that every
 * other server is a follower; do it only then. */
static void maybe_depose(struct sim *s)
{
	if (s->f.leader_id == 0)
		return;
	for (unsigned j = 0; j < s->n; j++)
		if (raft_fixture_get(&s->f, j)->id != s->f.leader_id &&
		    raft_state(raft_fixture_get(&s->f, j)) != RAFT_FOLLOWER)
			return;
	raft_fixture_depose(&s->f);
}

static void partition(struct sim *s)
{
	uint64_t side = rnd(s);

	for (unsigned i = 0; i < s->n; i++)
		for (unsigned j = 0; j < s->n; j++)
			if (i != j && ((side >> i) & 1) != ((side >> j) & 1))
				raft_fixture_saturate(&s->f, i, j);
}

static void fault(struct sim *s)
{
	unsigned i = pick(s, s->n), j = pick(s, s->n);

	s->n_faults++;
	switch (pick(s, 9)) {
	case 0:
		if (raft_fixture_alive(&s->f, i) && n_alive(s) > 1)
			raft_fixture_kill(&s->f, i);
		break;
	case 1:
	case 2:
		if (!raft_fixture_alive(&s->f, i))
			raft_fixture_revive(&s->f, i);
		break;
	case 3:
		if (i != j)
			raft_fixture_saturate(&s->f, i, j);	/* one direction drops */
		break;
	case 4:
		if (i != j)
			raft_fixture_desaturate(&s->f, i, j);
		break;
	case 5:
		partition(s);
		break;
	case 6:
		for (i = 0; i < s->n; i++)
			for (j = 0; j < s->n; j++)
				if (i != j && raft_fixture_alive(&s->f, i) &&
				    raft_fixture_alive(&s->f, j))
					raft_fixture_desaturate(&s->f, i, j);
		break;
	case 7:
		maybe_depose(s);
		break;
	default:
		raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + pick(s, 1000));
		break;
	}
}

static void heal(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (!raft_fixture_alive(&s->f, i))
			raft_fixture_revive(&s->f, i);
		raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + i * 100);
	}
	for (unsigned i = 0; i < s->n; i++)
		for (unsigned j = 0; j < s->n; j++)
			if (i != j)
				raft_fixture_desaturate(&s->f, i, j);
}

/* ------------------------------------------------------------------------- */
/* Checks                                                                     */

static bool clients_idle(const struct sim *s)
{
	for (unsigned i = 0; i < N_CLIENTS; i++)
		if (s->c[i].busy)
			return false;
	return true;
}

static void dump(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct raft *r = raft_fixture_get(&s->f, i);

		print_message("  server %u: %s state %d term %llu last %llu commit %llu "
			      "applied %llu snapshot %llu; state at %llu, %zu rtpaths, "
			      "%llu restores\n", i + 1,
			      raft_fixture_alive(&s->f, i) ? "alive" : "dead", raft_state(r),
			      (unsigned long long)r->current_term,
			      (unsigned long long)raft_last_index(r),
			      (unsigned long long)r->commit_index,
			      (unsigned long long)raft_last_applied(r),
			      (unsigned long long)r->log.snapshot.last_index,
			      (unsigned long long)cons_state_applied_index(s->r[i].state),
			      cons_state_n_paths(s->r[i].state),
			      (unsigned long long)s->r[i].fsm.n_restored);
	}
}

/* One stable leader, no other server that believes it leads, and every
 * server has applied the leader's whole log. */
static bool settled(struct raft_fixture *f, void *arg)
{
	struct raft *leader;
	unsigned n = raft_fixture_n(f);

	(void)arg;
	if (f->leader_id == 0)
		return false;
	leader = raft_fixture_get(f, (unsigned)f->leader_id - 1);
	for (unsigned i = 0; i < n; i++) {
		struct raft *r = raft_fixture_get(f, i);

		if ((r != leader && raft_state(r) == RAFT_LEADER) ||
		    raft_last_applied(r) != raft_last_index(leader))
			return false;
	}
	return true;
}

static void converge(struct sim *s)
{
	heal(s);
	for (unsigned k = 0; k < 400 && !clients_idle(s); k++)
		run_ms(s, ROUND_MS, false);
	if (!clients_idle(s))
		fail_msg("seed %" PRIu64 ": requests still unanswered after healing", s->seed);
	if (!raft_fixture_step_until(&s->f, settled, NULL, 60000)) {
		dump(s);
		fail_msg("seed %" PRIu64 ": replicas did not settle on one leader's log", s->seed);
	}
}

static void check_replica(struct sim *s, unsigned i)
{
	const struct cons_state *st = s->r[i].state;
	char err[CONS_ERRLEN] = "";

	if (cons_state_check(st, err) != 0 || !cons_state_equal(st, s->r[0].state) ||
	    cons_state_n_paths(st) != s->n_live)
		dump(s);
	if (cons_state_check(st, err) != 0)
		fail_msg("seed %" PRIu64 ": replica %u: %s", s->seed, i, err);
	if (!cons_state_equal(st, s->r[0].state))
		fail_msg("seed %" PRIu64 ": replica %u differs from replica 0", s->seed, i);
	/* exactly the admitted-and-not-released rtpaths: none lost, none twice */
	if (cons_state_n_paths(st) != s->n_live)
		fail_msg("seed %" PRIu64 ": replica %u holds %zu rtpaths, %zu acknowledged",
			 s->seed, i, cons_state_n_paths(st), s->n_live);
	for (size_t k = 0; k < s->n_live; k++)
		if (!cons_state_path(st, s->live[k]))
			fail_msg("seed %" PRIu64 ": replica %u lost acknowledged rtpath %llu",
				 s->seed, i, (unsigned long long)s->live[k]);
	for (unsigned h = 1; h <= N_HOSTS; h++)
		if (s->host_acked[h] && !cons_state_host(st, h))
			fail_msg("seed %" PRIu64 ": replica %u lost acknowledged host %u",
				 s->seed, i, h);
}

static void check_all(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		check_replica(s, i);
}

/* Hosts and VMs first, without faults, so reservations have somewhere to go. */
static void setup_topology(struct sim *s)
{
	for (unsigned h = 1; h <= N_HOSTS; h++) {
		for (int v = -1; v < VMS_PER_HOST; v++) {
			struct client *c = &s->c[0];

			memset(&c->cmd, 0, sizeof(c->cmd));
			if (v < 0)
				make_host(&c->cmd, h);
			else
				make_vm(&c->cmd, h, (unsigned)v);
			c->seq++;
			c->cmd.client_id = c->cid;
			c->cmd.seq = c->seq;
			c->busy = true;
			for (unsigned k = 0; k < 100 && c->busy; k++)
				run_ms(s, ROUND_MS, false);
			assert_false(c->busy);
		}
	}
	assert_int_equal(s->n_other, 0);
}

/* RTV_FIXTURE_SEED=n replays schedule n alone in each test (debugging);
 * RTV_FIXTURE_SEEDS=n runs n schedules per test instead of the default. */
static bool seed_selected(uint64_t seed)
{
	const char *env = getenv("RTV_FIXTURE_SEED");

	return !env || strtoull(env, NULL, 0) == seed;
}

/* Under AddressSanitizer every step costs ~8x: a third of the schedules
 * still walks every code path, and the plain build runs them all. */
#if defined(__SANITIZE_ADDRESS__)
#define SEED_SHARE 3
#else
#define SEED_SHARE 1
#endif

static uint64_t n_seeds(uint64_t dflt)
{
	const char *env = getenv("RTV_FIXTURE_SEEDS");

	return env ? strtoull(env, NULL, 0) : dflt / SEED_SHARE;
}

static void schedule(unsigned n_voters, unsigned n_standby, uint64_t seed,
		     unsigned snapshot_threshold, unsigned rounds)
{
	struct sim *s;

	if (!seed_selected(seed))
		return;
	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	sim_init(s, n_voters, n_standby, seed, snapshot_threshold);
	if (!raft_fixture_step_until_has_leader(&s->f, 10000))
		fail_msg("seed %" PRIu64 ": no first leader", seed);
	setup_topology(s);
	for (unsigned k = 0; k < rounds; k++) {
		if (pick(s, 3) == 0)
			fault(s);
		run_ms(s, ROUND_MS * (1 + pick(s, 4)), true);
	}
	converge(s);
	check_all(s);
	print_message("seed %" PRIu64 " %u+%u: %" PRIu64 " faults, admitted %" PRIu64
		      ", refused %" PRIu64 ", released %" PRIu64 ", unknown-then-retried %"
		      PRIu64 ", duplicates %" PRIu64 ", live %zu, term %llu\n", seed,
		      n_voters, n_standby, s->n_faults, s->n_admitted, s->n_refused,
		      s->n_released, s->n_lost, s->n_duplicates, s->n_live,
		      (unsigned long long)raft_fixture_get(&s->f, 0)->current_term);
	/* the stream must have exercised admission both ways */
	assert_true(s->n_admitted > 0);
	assert_true(s->n_refused > 0);
	assert_int_equal(s->n_other, 0);
	sim_close(s);
	free(s);
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */

static void test_three_voters_and_standby(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= n_seeds(40); seed++)
		schedule(3, 1, seed, 0, 200);
}

static void test_five_voters_and_standby(void **state)
{
	(void)state;
	for (uint64_t seed = 1001; seed <= 1000 + n_seeds(30); seed++)
		schedule(5, 1, seed, 0, 200);
}

/* Snapshots every 8 entries: revived servers catch up by InstallSnapshot. */
static void test_snapshot_heavy(void **state)
{
	(void)state;
	for (uint64_t seed = 2001; seed <= 2000 + n_seeds(30); seed++)
		schedule(3, 1, seed, 8, 200);
}

static void run_until_answered(struct sim *s, unsigned client)
{
	for (unsigned k = 0; k < 200 && s->c[client].busy; k++)
		run_ms(s, ROUND_MS, false);
	assert_false(s->c[client].busy);
}

/* A follower away for many snapshots comes back through InstallSnapshot and
 * its state (restored, then applied further) equals the others'. */
static void test_install_snapshot(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	unsigned away;
	int li;

	(void)state;
	assert_non_null(s);
	sim_init(s, 3, 1, 7, 4);
	assert_true(raft_fixture_step_until_has_leader(&s->f, 10000));
	setup_topology(s);
	li = leader_of(s);
	away = ((unsigned)li + 1) % s->n;
	raft_fixture_kill(&s->f, away);
	for (unsigned k = 0; k < 40; k++) {
		next_cmd(s, 1);
		run_until_answered(s, 1);
	}
	raft_fixture_revive(&s->f, away);
	converge(s);
	check_all(s);
	assert_true(s->r[away].fsm.n_restored > 0);
	assert_true(raft_fixture_n_recv(&s->f, away, RAFT_IO_INSTALL_SNAPSHOT) > 0);
	sim_close(s);
	free(s);
}

/* A failed disk write on the leader: raft 0.15 would keep leading; the guard
 * logs it and hands leadership to an up-to-date voter. */
static void test_disk_error_moves_leadership(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	unsigned li;
	int rc;

	(void)state;
	assert_non_null(s);
	sim_init(s, 3, 0, 11, 0);
	assert_true(raft_fixture_step_until_has_leader(&s->f, 10000));
	setup_topology(s);
	li = (unsigned)leader_of(s);
	raft_fixture_io_fault(&s->f, li, 0, 1);	/* the next I/O: the append below */
	next_cmd(s, 2);
	rc = submit(s, li, 2);
	assert_int_equal(rc, RAFT_IOERR);
	assert_int_equal(s->r[li].guard.n_errors, 1);
	poll_guards(s);
	assert_int_equal(s->r[li].guard.n_transfers, 1);
	for (unsigned k = 0; k < 100 && (raft_state(raft_fixture_get(&s->f, li)) == RAFT_LEADER ||
					  leader_of(s) < 0); k++)
		raft_fixture_step_until_elapsed(&s->f, ROUND_MS);
	assert_int_not_equal(raft_state(raft_fixture_get(&s->f, li)), RAFT_LEADER);
	assert_true(leader_of(s) >= 0);
	run_until_answered(s, 2);	/* the retry goes to the new leader */
	converge(s);
	check_all(s);
	sim_close(s);
	free(s);
}

struct raw_answer {
	struct raft_apply req;
	bool done;
	int status;
	struct cons_result res;
};

static void raw_cb(struct raft_apply *req, int status, void *result)
{
	struct raw_answer *a = req->data;

	a->done = true;
	a->status = status;
	if (result)
		a->res = *(struct cons_result *)result;
}

static bool raw_done(struct raft_fixture *f, void *arg)
{
	(void)f;
	return ((struct raw_answer *)arg)->done;
}

/* A log entry that is not a command (corrupt, or from a newer format) is
 * answered with the decoder's error on every replica alike, and the log
 * goes on: raft would retry a failed apply forever. */
static void test_undecodable_entry(void **state)
{
	static const unsigned char junk[][16] = {
		{ 1, 2, 3 },					/* not 8-byte framed */
		{ 4, 0, 0, 0, 0, 0, 0, 0, 0xc1, 0, 0, 0, 0, 0, 0, 0 },	/* 0xc1: never msgpack */
		{ 9, 0, 0, 0, 0, 0, 0, 0, 0x80 },		/* length beyond the entry */
	};
	static const size_t junk_len[] = { 3, 16, 16 };
	struct sim *s = calloc(1, sizeof(*s));
	struct raw_answer a;

	(void)state;
	assert_non_null(s);
	sim_init(s, 3, 1, 13, 0);
	assert_true(raft_fixture_step_until_has_leader(&s->f, 10000));
	setup_topology(s);
	for (size_t k = 0; k < sizeof(junk_len) / sizeof(junk_len[0]); k++) {
		struct raft_buffer buf = { raft_malloc(junk_len[k]), junk_len[k] };

		memset(&a, 0, sizeof(a));
		a.req.data = &a;
		memcpy(buf.base, junk[k], junk_len[k]);
		assert_int_equal(raft_apply(raft_fixture_get(&s->f, (unsigned)leader_of(s)),
					    &a.req, &buf, 1, raw_cb), 0);
		assert_true(raft_fixture_step_until(&s->f, raw_done, &a, 10000));
		assert_int_equal(a.status, 0);
		assert_int_equal(a.res.status, -EPROTO);
		assert_true(strlen(a.res.err) > 0);
	}
	next_cmd(s, 1);		/* and real commands still apply after them */
	run_until_answered(s, 1);
	converge(s);
	check_all(s);
	for (unsigned i = 0; i < s->n; i++)
		assert_int_equal(s->r[i].fsm.n_undecodable, 3);
	sim_close(s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_snapshot),
		cmocka_unit_test(test_disk_error_moves_leadership),
		cmocka_unit_test(test_undecodable_entry),
		cmocka_unit_test(test_three_voters_and_standby),
		cmocka_unit_test(test_five_voters_and_standby),
		cmocka_unit_test(test_snapshot_heavy),
	};

	rtv_log_init("test_cons_fixture", RTV_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
