/* gossip_sim.h — many gossip members in one process over a simulated network.
 *
 * A discrete-event simulation: one clock, one event heap, every member a
 * real `struct gossip` whose ops read the simulated clock and send into the
 * simulated network. The network delivers each datagram after a latency
 * drawn uniformly from [lat_min, lat_max] (so datagrams reorder), drops it
 * with probability loss_ppm, and drops it between partitioned groups.
 * Members can be killed (SIGKILL: silent for good), paused (SIGSTOP: events
 * wait until the pause ends, then run in order) and starved (each event
 * runs late by a random lag, in order, as on a CPU-starved host).
 * Deterministic for a seed. Used by tests/unit/test_gossip*.c and
 * bench/bench_gossip.c.
 */
#ifndef RTV_BENCH_GOSSIP_SIM_H
#define RTV_BENCH_GOSSIP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/gossip.h"

struct gsim;

struct gsim_config {
	size_t n;			/* members (their slots; started by gsim_start) */
	uint64_t seed;
	uint32_t loss_ppm;		/* datagram loss, 0..1,000,000 */
	uint64_t lat_min_ns, lat_max_ns;
	struct gossip_config base;	/* name and addr are set per member */
	/* optional: every state change any member sees */
	void (*on_change)(void *arg, size_t observer, const struct gossip_member *m,
			  enum gossip_state old);
	/* optional: fills member i's seal_key/seal/open/wall_ns and their
	 * data (called by gsim_start; hooks left NULL stay off) */
	void (*auth)(void *arg, size_t i, struct gossip_ops *ops);
	void *arg;
};

/* Returns 0, -EINVAL or -ENOMEM. Members are named "h<i>" at 10.0.x.y:7946. */
int gsim_new(const struct gsim_config *cfg, struct gsim **out);
void gsim_free(struct gsim *s);

/* Creates member i's gossip object (with cfg, or the base if NULL) and
 * starts its timers. */
int gsim_start(struct gsim *s, size_t i, const struct gossip_config *cfg);
/* Member i joins through member j. */
int gsim_join(struct gsim *s, size_t i, size_t j);
struct gossip *gsim_gossip(struct gsim *s, size_t i);
struct gossip_addr gsim_addr(size_t i);
const char *gsim_name(size_t i, char buf[GOSSIP_NAME_MAX]);

void gsim_run_until(struct gsim *s, uint64_t t_ns);
/* Runs until pred(arg) holds, checked every step_ns, or until t_max_ns.
 * Returns true if it held (the clock then stands where it first did). */
bool gsim_run_while_not(struct gsim *s, bool (*pred)(struct gsim *, void *), void *arg,
			uint64_t step_ns, uint64_t t_max_ns);
uint64_t gsim_now(const struct gsim *s);

void gsim_kill(struct gsim *s, size_t i);
bool gsim_killed(const struct gsim *s, size_t i);
void gsim_pause(struct gsim *s, size_t i, uint64_t duration_ns);
void gsim_starve(struct gsim *s, size_t i, uint64_t max_lag_ns);	/* 0 ends it */
/* group[i] for each member; datagrams cross only within a group. NULL heals. */
void gsim_partition(struct gsim *s, const int *group);
void gsim_set_loss(struct gsim *s, uint32_t loss_ppm);

/* Bytes member i sent (envelopes included). */
uint64_t gsim_tx_bytes(const struct gsim *s, size_t i);
/* Datagrams delivered / dropped so far (all members). */
uint64_t gsim_delivered(const struct gsim *s);
uint64_t gsim_dropped(const struct gsim *s);

/* True if every started, living member except `subject` holds member
 * `subject` in `state`. */
bool gsim_all_see(struct gsim *s, size_t subject, enum gossip_state state);
/* How many living members hold `subject` in `state`. */
size_t gsim_count_see(struct gsim *s, size_t subject, enum gossip_state state);

#endif /* RTV_BENCH_GOSSIP_SIM_H */
