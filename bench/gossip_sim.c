/* gossip_sim.c — the simulated rack behind gossip_sim.h. */
#include "bench/gossip_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_BASE_IP 0x0a000001u	/* 10.0.0.1 is member 0 */
#define SIM_PORT 7946

enum ev_kind { EV_TIMER, EV_PKT };

struct ev {
	uint64_t t, seq;
	uint32_t node;
	uint8_t kind, late;	/* late: already delayed by starvation */
	uint16_t len;
	struct gossip_addr from;
	uint8_t *data;
};

struct sim_node {
	struct gsim *s;
	size_t idx;
	struct gossip *g;
	bool dead;
	uint64_t armed_ns;		/* the pending timer event's time, 0 none */
	uint64_t paused_until;
	uint64_t starve_lag_ns, starve_last;
	uint64_t timer_late_at;		/* a timer event delayed by starvation */
	uint64_t tx_bytes;
	int group;
	struct gossip_ops auth;		/* cfg.auth's hooks for this member */
};

struct gsim {
	struct gsim_config cfg;
	uint64_t now, seq, rng;
	struct sim_node *nodes;
	struct ev *heap;
	size_t n_heap, cap_heap;
	uint64_t delivered, dropped;
	bool partitioned;
};

/* ------------------------------------------------------------------------- */
/* Randomness and the event heap                                             */

static uint64_t rnd(struct gsim *s)
{
	s->rng ^= s->rng >> 12;		/* xorshift64* */
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct gsim *s, struct ev e)
{
	size_t i;

	if (s->n_heap == s->cap_heap) {
		size_t cap = s->cap_heap ? s->cap_heap * 2 : 1024;
		struct ev *h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->cap_heap = cap;
	}
	e.seq = s->seq++;
	for (i = s->n_heap++; i > 0 && ev_less(&e, &s->heap[(i - 1) / 2]); i = (i - 1) / 2)
		s->heap[i] = s->heap[(i - 1) / 2];
	s->heap[i] = e;
	return 0;
}

static struct ev heap_pop(struct gsim *s)
{
	struct ev top = s->heap[0], last = s->heap[--s->n_heap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->n_heap)
			break;
		if (c + 1 < s->n_heap && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_heap)
		s->heap[i] = last;
	return top;
}

/* ------------------------------------------------------------------------- */
/* The members' ops                                                          */

static uint64_t op_now(void *data)
{
	return ((struct sim_node *)data)->s->now;
}

static uint64_t op_random(void *data)
{
	return rnd(((struct sim_node *)data)->s);
}

static int op_send(void *data, const struct gossip_addr *to, const void *buf, size_t len)
{
	struct sim_node *src = data;
	struct gsim *s = src->s;
	size_t dst = to->ip - SIM_BASE_IP;
	uint64_t span = s->cfg.lat_max_ns - s->cfg.lat_min_ns;
	struct ev e = { .kind = EV_PKT, .len = (uint16_t)len, .from = gsim_addr(src->idx) };

	src->tx_bytes += len;
	if (to->ip < SIM_BASE_IP || dst >= s->cfg.n || to->port != SIM_PORT || len > UINT16_MAX ||
	    (s->partitioned && s->nodes[dst].group != src->group) ||
	    rnd(s) % 1000000 < s->cfg.loss_ppm) {
		s->dropped++;
		return 0;	/* a datagram lost is not an error to the sender */
	}
	e.node = (uint32_t)dst;
	e.t = s->now + s->cfg.lat_min_ns + (span ? rnd(s) % span : 0);
	e.data = malloc(len);
	if (!e.data)
		return -ENOMEM;
	memcpy(e.data, buf, len);
	if (heap_push(s, e)) {
		free(e.data);
		return -ENOMEM;
	}
	return 0;
}

static void op_change(void *data, const struct gossip_member *m, enum gossip_state old)
{
	struct sim_node *nd = data;

	if (nd->s->cfg.on_change)
		nd->s->cfg.on_change(nd->s->cfg.arg, nd->idx, m, old);
}

/* ------------------------------------------------------------------------- */
/* Life cycle                                                                */

struct gossip_addr gsim_addr(size_t i)
{
	return (struct gossip_addr){ .ip = SIM_BASE_IP + (uint32_t)i, .port = SIM_PORT };
}

const char *gsim_name(size_t i, char buf[GOSSIP_NAME_MAX])
{
	snprintf(buf, GOSSIP_NAME_MAX, "h%zu", i);
	return buf;
}

int gsim_new(const struct gsim_config *cfg, struct gsim **out)
{
	struct gsim *s;

	if (cfg->n == 0 || cfg->n > 60000 || cfg->lat_max_ns < cfg->lat_min_ns ||
	    cfg->loss_ppm > 1000000)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 1;
	s->now = 1000000000ull;		/* t = 1 s: 0 means "never" to gossip */
	s->nodes = calloc(cfg->n, sizeof(*s->nodes));
	if (!s->nodes) {
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		s->nodes[i].s = s;
		s->nodes[i].idx = i;
	}
	*out = s;
	return 0;
}

void gsim_free(struct gsim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_heap; i++)
		free(s->heap[i].data);
	for (size_t i = 0; i < s->cfg.n; i++)
		gossip_free(s->nodes[i].g);
	free(s->heap);
	free(s->nodes);
	free(s);
}

/* Makes sure member i has a timer event no later than t. */
static void arm(struct gsim *s, struct sim_node *nd, uint64_t t)
{
	if (nd->timer_late_at)
		return;		/* the late timer runs everything due when it comes */
	if (nd->armed_ns && nd->armed_ns <= t && nd->armed_ns >= s->now)
		return;
	nd->armed_ns = t;
	heap_push(s, (struct ev){ .t = t, .node = (uint32_t)nd->idx, .kind = EV_TIMER });
}

/* The authentication hooks a test gave this member (gsim_config.auth). */
static void with_auth(struct gsim *s, struct sim_node *nd, struct gossip_ops *ops)
{
	if (!s->cfg.auth)
		return;
	s->cfg.auth(s->cfg.arg, nd->idx, &nd->auth);
	ops->auth_data = nd->auth.auth_data ? nd->auth.auth_data : nd->auth.data;
	ops->seal_key = nd->auth.seal_key;
	ops->seal = nd->auth.seal;
	ops->open = nd->auth.open;
	ops->wall_ns = nd->auth.wall_ns;
}

int gsim_start(struct gsim *s, size_t i, const struct gossip_config *cfg)
{
	struct sim_node *nd = &s->nodes[i];
	struct gossip_config c = cfg ? *cfg : s->cfg.base;
	struct gossip_ops ops = { .data = nd, .now_ns = op_now, .random = op_random,
				  .send = op_send, .on_change = op_change };
	char err[GOSSIP_ERRLEN];
	int rc;

	if (i >= s->cfg.n || nd->g)
		return -EINVAL;
	gsim_name(i, c.name);
	c.addr = gsim_addr(i);
	with_auth(s, nd, &ops);
	rc = gossip_new(&c, &ops, &nd->g, err);
	if (rc) {
		fprintf(stderr, "gsim: member %zu: %s\n", i, err);
		return rc;
	}
	arm(s, nd, gossip_tick(nd->g));
	return 0;
}

int gsim_join(struct gsim *s, size_t i, size_t j)
{
	struct gossip_addr a = gsim_addr(j);
	int rc = gossip_join(s->nodes[i].g, &a, 1);

	arm(s, &s->nodes[i], gossip_tick(s->nodes[i].g));
	return rc;
}

struct gossip *gsim_gossip(struct gsim *s, size_t i)
{
	return s->nodes[i].g;
}

/* ------------------------------------------------------------------------- */
/* Running                                                                   */

/* A paused or starved member runs its events later, in order. */
static bool defer(struct gsim *s, struct sim_node *nd, struct ev *e)
{
	uint64_t t = 0;

	if (s->now < nd->paused_until)
		t = nd->paused_until;
	else if (nd->starve_lag_ns && !e->late) {
		t = s->now + rnd(s) % nd->starve_lag_ns;
		if (t < nd->starve_last)
			t = nd->starve_last;
		nd->starve_last = t;
		e->late = 1;
	}
	if (t == 0)
		return false;
	e->t = t;
	if (e->kind == EV_TIMER && e->late)
		nd->timer_late_at = t;
	else if (e->kind == EV_TIMER)
		nd->armed_ns = t;
	heap_push(s, *e);
	return true;
}

static void step(struct gsim *s, struct ev e)
{
	struct sim_node *nd = &s->nodes[e.node];

	if (!nd->g || nd->dead) {
		if (e.kind == EV_PKT)
			s->dropped++;
		free(e.data);
		return;
	}
	if (e.kind == EV_TIMER && e.late) {
		if (e.t != nd->timer_late_at)
			return;
		nd->timer_late_at = 0;
	} else if (e.kind == EV_TIMER && e.t != nd->armed_ns) {
		return;		/* superseded by an earlier arm */
	}
	if (defer(s, nd, &e))
		return;
	if (e.kind == EV_PKT) {
		s->delivered++;
		gossip_recv(nd->g, &e.from, e.data, e.len);
		free(e.data);
	}
	if (e.kind == EV_TIMER)
		nd->armed_ns = 0;
	arm(s, nd, gossip_tick(nd->g));
}

void gsim_run_until(struct gsim *s, uint64_t t_ns)
{
	while (s->n_heap && s->heap[0].t <= t_ns) {
		struct ev e = heap_pop(s);

		s->now = e.t;
		step(s, e);
	}
	if (s->now < t_ns)
		s->now = t_ns;
}

bool gsim_run_while_not(struct gsim *s, bool (*pred)(struct gsim *, void *), void *arg,
			uint64_t step_ns, uint64_t t_max_ns)
{
	while (!pred(s, arg)) {
		if (s->now >= t_max_ns)
			return false;
		gsim_run_until(s, s->now + step_ns < t_max_ns ? s->now + step_ns : t_max_ns);
	}
	return true;
}

uint64_t gsim_now(const struct gsim *s)
{
	return s->now;
}

/* ------------------------------------------------------------------------- */
/* Faults and observations                                                   */

void gsim_kill(struct gsim *s, size_t i)
{
	s->nodes[i].dead = true;
}

bool gsim_killed(const struct gsim *s, size_t i)
{
	return s->nodes[i].dead;
}

void gsim_pause(struct gsim *s, size_t i, uint64_t duration_ns)
{
	s->nodes[i].paused_until = s->now + duration_ns;
}

void gsim_starve(struct gsim *s, size_t i, uint64_t max_lag_ns)
{
	s->nodes[i].starve_lag_ns = max_lag_ns;
}

void gsim_partition(struct gsim *s, const int *group)
{
	s->partitioned = group != NULL;
	for (size_t i = 0; i < s->cfg.n; i++)
		s->nodes[i].group = group ? group[i] : 0;
}

void gsim_set_loss(struct gsim *s, uint32_t loss_ppm)
{
	s->cfg.loss_ppm = loss_ppm;
}

uint64_t gsim_tx_bytes(const struct gsim *s, size_t i)
{
	return s->nodes[i].tx_bytes;
}

uint64_t gsim_delivered(const struct gsim *s)
{
	return s->delivered;
}

uint64_t gsim_dropped(const struct gsim *s)
{
	return s->dropped;
}

size_t gsim_count_see(struct gsim *s, size_t subject, enum gossip_state state)
{
	char name[GOSSIP_NAME_MAX];
	struct gossip_member m;
	size_t c = 0;

	gsim_name(subject, name);
	for (size_t i = 0; i < s->cfg.n; i++) {
		if (i == subject || !s->nodes[i].g || s->nodes[i].dead)
			continue;
		if (gossip_member_find(s->nodes[i].g, name, &m) == 0 && m.state == state)
			c++;
	}
	return c;
}

bool gsim_all_see(struct gsim *s, size_t subject, enum gossip_state state)
{
	size_t live = 0;

	for (size_t i = 0; i < s->cfg.n; i++)
		live += i != subject && s->nodes[i].g && !s->nodes[i].dead;
	return gsim_count_see(s, subject, state) == live;
}
