/* rtvctl.h — rtvctl's command line, parsed into plain structs by pure
 * functions (rtvctl_args.c) so every rule is unit-tested without a daemon;
 * rtvctl_main.c talks to rtvd, rtvctl_out.c prints.
 *
 *   rtvctl [global options] VERB [arguments] [options]
 *
 * Global options may stand before or after the verb. Units are parsed with
 * common/units (a rate needs a unit). Every failure of the command line is
 * a usage error (exit 2) with a sentence saying what was wrong and what to
 * write instead.
 */
#ifndef RTV_AGENT_RTVCTL_H
#define RTV_AGENT_RTVCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/consensus.h"

#define RTVCTL_ERRLEN 512
#define RTVCTL_PATH_MAX 512
#define RTVCTL_DEFAULT_TIMEOUT_NS 5000000000ull
#define RTVCTL_DEFAULT_MISS_AFTER_NS 20000000000ull	/* the paper waited 20 s */

enum rtvctl_verb {
	RTVCTL_NONE = 0,	/* only global options (e.g. --help) */
	RTVCTL_RESERVE,
	RTVCTL_RELEASE,
	RTVCTL_PATHS,
	RTVCTL_HOSTS,
	RTVCTL_LINKS,
	RTVCTL_VMS,
	RTVCTL_VM_ADD,
	RTVCTL_VM_REMOVE,
	RTVCTL_LINK_SET,
	RTVCTL_STATUS,
	RTVCTL_MEMBERS_ADD,
	RTVCTL_MEMBERS_REMOVE,
	RTVCTL_TRANSFER,
	RTVCTL_MEMBERS,		/* the gossip view (cli/cmd_members.c) */
	RTVCTL_N_VERBS
};

enum rtvctl_output { RTVCTL_OUT_TABLE, RTVCTL_OUT_JSON };

/* link set: which optional values were given (the rest are kept from the
 * existing link, or defaulted for a new one). */
#define RTVCTL_LINK_CAP_BA (1u << 0)
#define RTVCTL_LINK_BUDGET (1u << 1)
#define RTVCTL_LINK_HOP (1u << 2)

struct rtvctl_opts {
	/* global */
	char endpoint[1024];		/* one URL or a comma-separated list */
	enum rtvctl_output output;
	uint64_t timeout_ns;
	bool linearizable;
	bool help;			/* print help for `verb` (NONE: general) */
	/* tls+tcp:// endpoints: the client certificate (rtvctl pki) */
	char cert[RTVCTL_PATH_MAX], key[RTVCTL_PATH_MAX], ca[RTVCTL_PATH_MAX];

	enum rtvctl_verb verb;
	/* submit verbs: the command (client_id/seq are set by the client) */
	struct cons_cmd cmd;
	unsigned link_given;		/* RTVCTL_LINK_* */
	/* paths [ID], members add|remove ID, transfer [ID] */
	uint64_t id;
	bool has_id;
	char raft_addr[CONS_ADDR_MAX];	/* members add */
	bool voter;			/* members add: false with --standby */
};

/* Environment the parser may consult (tests pass their own). */
struct rtvctl_env {
	const char *endpoint;		/* $RTVCTL_ENDPOINT or NULL */
	const char *user;		/* default owner of reservations, or NULL */
	const char *cert, *key, *ca;	/* $RTVCTL_CERT, $RTVCTL_KEY, $RTVCTL_CA */
};

/* `rtvctl pki ARGS`: runs the rack CA script (pki/rtv-pki.sh, installed as
 * <prefix>/libexec/rtvnet/rtv-pki.sh; $RTV_PKI_SCRIPT overrides) with ARGS.
 * Returns only on failure, with an exit code. */
int rtvctl_pki(int argc, char *const argv[]);

/* Parses argv[1..argc-1]. Returns 0 (o filled; check o->help), or -EINVAL
 * with err saying what was wrong and what to do. */
int rtvctl_parse(int argc, char *const argv[], const struct rtvctl_env *env,
		 struct rtvctl_opts *o, char *err, size_t errlen);

const char *rtvctl_verb_name(enum rtvctl_verb verb);
/* True for verbs that change the state through a Raft command. */
bool rtvctl_verb_submits(enum rtvctl_verb verb);
/* The help text for a verb (RTVCTL_NONE: the overview). */
const char *rtvctl_help(enum rtvctl_verb verb);

/* Small parsers, exported for the tests. 0 or -EINVAL with err filled. */
int rtvctl_parse_ipv4(const char *s, uint32_t *ip, char *err, size_t errlen);
int rtvctl_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen);
int rtvctl_parse_uint(const char *what, const char *s, uint64_t max, uint64_t *v,
		      char *err, size_t errlen);

/* A client of another agent at URL (a host's rpc_addr), connected the way
 * this rtvctl may: with its own --cert/--key/--ca when given; else, for a
 * tls+tcp:// URL, with the credentials of the agent it talks to (that agent's
 * status lists their files: rtvctl on a host acts with the host's certificate,
 * whose key only root can read); plaintext URLs need none. 0, or a negative
 * errno (-EACCES: no credentials to use). cmd_vm.c. */
struct agent_client;
int rtvctl_peer_client(const struct rtvctl_opts *o, struct agent_client *local, const char *url,
		       uint64_t timeout, struct agent_client **out);

#endif /* RTV_AGENT_RTVCTL_H */
