/* rtvctl_out.h — how rtvctl prints: aligned tables for people, JSON (via
 * jansson, always valid) for programs. Private to rtvctl. */
#ifndef RTV_AGENT_RTVCTL_OUT_H
#define RTV_AGENT_RTVCTL_OUT_H

#include <stdio.h>

#include <jansson.h>
#include <msgpack.h>

#include "rpc/client.h"
#include "cli/rtvctl.h"

/* A msgpack object as a new JSON value: maps become objects (non-string
 * keys are printed), bin becomes a hex string, invalid UTF-8 is escaped as
 * hex, integers above 2^63 become reals. NULL on allocation failure. */
json_t *rtvctl_json_from_msgpack(const msgpack_object *o);

/* Prints a successful read reply for verb (paths, hosts, links, vms,
 * status) in o->output's format. Returns 0, or -EPROTO when the reply does
 * not hold what the verb needs (err filled). */
int rtvctl_print_read(FILE *f, const struct rtvctl_opts *o, const struct agent_client_reply *rep,
		      char *err, size_t errlen);

/* Prints the outcome of a submit verb or a membership verb. */
void rtvctl_print_submit(FILE *f, const struct rtvctl_opts *o,
			 const struct agent_client_submit_result *res);
void rtvctl_print_done(FILE *f, const struct rtvctl_opts *o, const struct agent_client_reply *rep);

/* cli/cmd_members.c: `rtvctl members` from a status reply (0, or -ENOENT
 * when the agent runs no gossip), and the warnings where gossip and Raft
 * disagree (printed by status too); returns how many. */
int rtvctl_print_members(FILE *f, const struct rtvctl_opts *o,
			 const struct agent_client_reply *rep, char *err, size_t errlen);
size_t rtvctl_members_warn(FILE *f, const msgpack_object *gossip);

/* -o json: a failure as {"status":…, "error":…, "exit":…} on f. */
void rtvctl_print_json_error(FILE *f, int status, const char *msg, int exit_code);

#endif /* RTV_AGENT_RTVCTL_OUT_H */
