/* cmd_vm.h — rtvctl's VM verbs made of several requests (cmd_vm.c):
 * `vm migrate` and `vms` with each VM's state. */
#ifndef RTV_CLI_CMD_VM_H
#define RTV_CLI_CMD_VM_H

#include <stdbool.h>

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
/* `rtvctl vm place VM` (cmd_place.c): the exit code. */
int rtvctl_vm_place(struct agent_client *c, const struct rtvctl_opts *o, const char *vm);
/* Reports a failure (stderr, and a JSON error with -o json): the exit code. */
int rtvctl_vm_fail(const struct rtvctl_opts *o, int status, const char *msg);

#endif
