/* rtvctl — the command-line client of rtvd (see rtvctl --help, docs/rtvctl.md).
 *
 * Parse (rtvctl_args.c) → connect (client.c) → one request → print
 * (rtvctl_out.c). Exit codes follow rpc/proto.h: 0 ok, 1 refused, 2 usage,
 * 3 unavailable. Errors go to stderr as one sentence saying what was wrong
 * and what to do; with -o json stdout still receives a JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_vm.h"
#include "cli/rtvctl.h"
#include "cli/rtvctl_out.h"
#include "common/mpack.h"
#include "rpc/client.h"
#include "rpc/proto.h"

/* Reports a failure and returns the exit code for it. */
static int fail(const struct rtvctl_opts *o, int status, const char *msg)
{
	int code = agent_client_exit_code(status);
	const char *verb = rtvctl_verb_name(o->verb);

	if (status == CONS_EREFUSED || status == -CONS_EREFUSED)
		fprintf(stderr, "rtvctl: %s refused: %s\n", verb, msg);
	else
		fprintf(stderr, "rtvctl: %s%s%s\n", verb, *verb ? ": " : "", msg);
	if (o->output == RTVCTL_OUT_JSON)
		rtvctl_print_json_error(stdout, status, msg, code);
	return code;
}

static int fail_reply(const struct rtvctl_opts *o, const struct agent_client_reply *rep)
{
	char msg[CONS_ERRLEN + 64];

	if (rep->err[0])
		snprintf(msg, sizeof(msg), "%s", rep->err);
	else
		snprintf(msg, sizeof(msg), "rtvd answered %s (%d)",
			 agent_client_status_name(rep->status), rep->status);
	return fail(o, rep->status, msg);
}

/* Sends req (retrying while unavailable) and prints or reports the reply. */
static int exchange(struct agent_client *c, const struct rtvctl_opts *o,
		    struct agent_client_req *req, bool is_read)
{
	struct agent_client_reply rep;
	char err[RTVCTL_ERRLEN];
	int rc, code;

	/* Membership changes and transfers are not retried: a timed-out
	 * attempt may still complete, and a retry would then be refused as
	 * "configuration change in progress". They get one long attempt. */
	if (is_read)
		rc = agent_client_call_retry(c, req, o->timeout_ns, &rep);
	else
		rc = agent_client_call(c, req, o->timeout_ns, &rep);

	agent_client_req_close(req);
	if (rc != 0)
		return fail(o, rc, agent_client_err(c));
	if (rep.status != 0) {
		code = fail_reply(o, &rep);
	} else if (!is_read) {
		rtvctl_print_done(stdout, o, &rep);
		code = PROTO_EXIT_OK;
	} else if ((rc = rtvctl_print_read(stdout, o, &rep, err, sizeof(err))) != 0) {
		code = fail(o, rc, err);
	} else {
		code = PROTO_EXIT_OK;
	}
	agent_client_reply_close(&rep);
	return code;
}

static int run_read(struct agent_client *c, const struct rtvctl_opts *o)
{
	static const char *const ops[RTVCTL_N_VERBS] = {
		[RTVCTL_PATHS] = PROTO_OP_PATHS, [RTVCTL_HOSTS] = PROTO_OP_HOSTS,
		[RTVCTL_LINKS] = PROTO_OP_LINKS, [RTVCTL_VMS] = PROTO_OP_VMS,
		[RTVCTL_STATUS] = PROTO_OP_STATUS, [RTVCTL_MEMBERS] = PROTO_OP_STATUS,
	};
	struct agent_client_req req;

	if (agent_client_req_begin(&req, ops[o->verb], o->has_id ? 1 : 0, o->linearizable))
		return fail(o, -ENOMEM, "out of memory");
	if (o->has_id && rtv_pk_kv_u64(&req.pk, "id", o->id) != 0) {
		agent_client_req_close(&req);
		return fail(o, -ENOMEM, "out of memory");
	}
	return exchange(c, o, &req, true);
}

static int run_admin(struct agent_client *c, const struct rtvctl_opts *o)
{
	uint32_t wait_ms = (uint32_t)(o->timeout_ns / 1000000);
	struct agent_client_req req;
	int pk = 0;

	if (o->verb == RTVCTL_MEMBERS_ADD) {
		if (agent_client_req_begin_wait(&req, PROTO_OP_MEMBERS_ADD, 3, false, wait_ms))
			return fail(o, -ENOMEM, "out of memory");
		pk = rtv_pk_kv_u64(&req.pk, "id", o->id) |
		     rtv_pk_kv_str(&req.pk, "raft_addr", o->raft_addr) |
		     rtv_pk_kv_bool(&req.pk, "voter", o->voter);
	} else if (o->verb == RTVCTL_MEMBERS_REMOVE) {
		if (agent_client_req_begin_wait(&req, PROTO_OP_MEMBERS_REMOVE, 1, false, wait_ms))
			return fail(o, -ENOMEM, "out of memory");
		pk = rtv_pk_kv_u64(&req.pk, "id", o->id);
	} else {
		if (agent_client_req_begin_wait(&req, PROTO_OP_TRANSFER, o->has_id ? 1 : 0, false,
						wait_ms))
			return fail(o, -ENOMEM, "out of memory");
		if (o->has_id)
			pk = rtv_pk_kv_u64(&req.pk, "to", o->id);
	}
	if (pk) {
		agent_client_req_close(&req);
		return fail(o, -ENOMEM, "out of memory");
	}
	return exchange(c, o, &req, false);
}

/* link set keeps an existing link's RT budget and hop latency unless the
 * user gave them: read the link first (this agent's copy is enough, the
 * user is changing it anyway). */
static int link_merge(struct agent_client *c, struct rtvctl_opts *o)
{
	struct cons_link *want = &o->cmd.u.link;
	struct agent_client_req req;
	struct agent_client_reply rep;
	const msgpack_object *a;
	int rc;

	if ((o->link_given & RTVCTL_LINK_BUDGET) && (o->link_given & RTVCTL_LINK_HOP))
		return 0;
	if (agent_client_req_begin(&req, PROTO_OP_LINKS, 0, false))
		return -ENOMEM;
	rc = agent_client_call_retry(c, &req, o->timeout_ns, &rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	a = agent_client_reply_get(&rep, "links");
	for (uint32_t i = 0; rep.status == 0 && a && a->type == MSGPACK_OBJECT_ARRAY &&
			     i < a->via.array.size; i++) {
		struct cons_link l;
		char why[CONS_ERRLEN];
		if (cons_unpack_link(&a->via.array.ptr[i], &l, why) != 0 ||
		    strcmp(l.a, want->a) != 0 || strcmp(l.b, want->b) != 0)
			continue;
		if (!(o->link_given & RTVCTL_LINK_BUDGET))
			want->rt_budget_ppm = l.rt_budget_ppm;
		if (!(o->link_given & RTVCTL_LINK_HOP))
			want->hop_latency_ns = l.hop_latency_ns;
	}
	agent_client_reply_close(&rep);
	return 0;
}

static int run_submit(struct agent_client *c, struct rtvctl_opts *o)
{
	struct agent_client_submit_result res;
	int rc;

	if (o->verb == RTVCTL_LINK_SET && (rc = link_merge(c, o)) != 0)
		return fail(o, rc, agent_client_err(c));
	rc = agent_client_submit(c, &o->cmd, o->timeout_ns, &res);
	if (rc != 0)
		return fail(o, rc, res.err[0] ? res.err : agent_client_status_name(rc));
	rtvctl_print_submit(stdout, o, &res);
	return PROTO_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct rtvctl_env env = { getenv("RTVCTL_ENDPOINT"),
				  getenv("USER") ? getenv("USER") : getenv("LOGNAME"),
				  getenv("RTVCTL_CERT"), getenv("RTVCTL_KEY"), getenv("RTVCTL_CA") };
	struct agent_client_tls tls;
	struct rtvctl_opts o;
	struct agent_client *c;
	char err[RTVCTL_ERRLEN];
	int code, verb_at;

	if (argc > 1 && strcmp(argv[1], "pki") == 0)
		return rtvctl_pki(argc - 1, argv + 1);
	if (rtvctl_vm_take(argc, argv, &verb_at))
		return rtvctl_vm_migrate_main(argc, argv, verb_at, &env);
	if (rtvctl_parse(argc, argv, &env, &o, err, sizeof(err)) != 0)
		return fail(&o, -EINVAL, err);
	if (o.help) {
		fputs(rtvctl_help(o.verb), stdout);
		return PROTO_EXIT_OK;
	}
	/* Reads fail at once when nobody listens; writes wait for a restarting
	 * agent until --timeout, like any other unavailability. */
	tls = (struct agent_client_tls){ o.ca, o.cert, o.key };
	code = agent_client_new_tls(o.endpoint, o.timeout_ns, !rtvctl_verb_submits(o.verb),
				    o.cert[0] ? &tls : NULL, &c, err, sizeof(err));
	if (code != 0)
		return fail(&o, code, err);
	if (rtvctl_verb_submits(o.verb))
		code = run_submit(c, &o);
	else if (o.verb == RTVCTL_MEMBERS_ADD || o.verb == RTVCTL_MEMBERS_REMOVE ||
		 o.verb == RTVCTL_TRANSFER)
		code = run_admin(c, &o);
	else if (o.verb == RTVCTL_VMS)
		code = rtvctl_vms_run(c, &o);
	else
		code = run_read(c, &o);
	agent_client_free(c);
	return code;
}
