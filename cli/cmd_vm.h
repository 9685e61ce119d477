/* cmd_vm.h — rtvctl's VM verbs made of several requests (cmd_vm.c):
 * `vm migrate` and `vms` with each VM's state. */
#ifndef RTV_CLI_CMD_VM_H
#define RTV_CLI_CMD_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/rtvctl.h"

struct agent_client;

/* True when argv's verb (after any global options) is "vm migrate" or
 * "vm place";
 * *verb_at is the index of the verb's first word. */
bool rtvctl_vm_take(int argc, char *const argv[], int *verb_at);
/* Runs `rtvctl ... vm migrate VM --to HOST [--wait D]` or `vm place VM`:
 * the exit code.
 * Global options are parsed by rtvctl_parse as for any verb. */
int rtvctl_vm_migrate_main(int argc, char *const argv[], int verb_at,
			   const struct rtvctl_env *env);
/* `rtvctl vms`: the records with each VM's state from its host's agent. */
int rtvctl_vms_run(struct agent_client *c, const struct rtvctl_opts *o);
/* `rtvctl vm place VM` (cmd_place.c): the exit code. With apply_to (room
 * for CONS_NAME_MAX bytes), the host id to move to when placement says
 * move, else "". */
int rtvctl_vm_place(struct agent_client *c, const struct rtvctl_opts *o, const char *vm,
		    char *apply_to);

/* A copy of the rack's state rebuilt from one agent's reads (hosts, switch
 * links, VMs, every rtpath's request re-admitted in id order; left_out
 * counts those the copy did not admit again). 0 or a status. */
struct rtvctl_rd;
struct rtvctl_state_copy {
	struct cons_state *s;
	int left_out;
	uint64_t *ids;		/* ids[copy's rtpath id] = the rack's id */
	struct rtvctl_rd *r;	/* private */
};
int rtvctl_state_copy(struct agent_client *c, uint64_t timeout, struct rtvctl_state_copy *sc);
void rtvctl_state_copy_close(struct rtvctl_state_copy *sc);	/* zeroed is a no-op */
/* Reports a failure (stderr, and a JSON error with -o json): the exit code. */
int rtvctl_vm_fail(const struct rtvctl_opts *o, int status, const char *msg);

#endif
