/* module.c — the registry of modules and what the core offers them
 * (core.h): accessors, internal submits, and the hooks called in turn.
 *
 * Descriptors are registered once per process, before rtvd_run; each run
 * copies them into its struct rtvd with the module's `self`. A module
 * whose init/start left self NULL (disabled) gets no hook but free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/rtvd.h"

static const struct agent_module *registered[AGENT_MODULES_MAX];
static size_t n_registered;

int agent_module_register(const struct agent_module *m)
{
	for (size_t i = 0; i < n_registered; i++)
		if (registered[i] == m || strcmp(registered[i]->name, m->name) == 0 ||
		    (m->section && registered[i]->section &&
		     strcmp(registered[i]->section, m->section) == 0))
			return -EEXIST;
	if (n_registered == AGENT_MODULES_MAX)
		return -ENOSPC;
	registered[n_registered++] = m;
	return 0;
}

const struct agent_module *agent_module_of_section(const char *section)
{
	for (size_t i = 0; i < n_registered; i++)
		if (registered[i]->section && strcmp(registered[i]->section, section) == 0)
			return registered[i];
	return NULL;
}

int agent_modules_config_done(const struct agent_config *cfg, char *why, size_t whylen)
{
	for (size_t i = 0; i < n_registered; i++) {
		const struct agent_module *m = registered[i];

		if (m->config_done && m->config_done(cfg, why, whylen) < 0)
			return -EINVAL;
	}
	return 0;
}

void agent_module_sections(char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n_registered && used < n; i++)
		if (registered[i]->section)
			used += (size_t)snprintf(buf + used, n - used, ", %s",
						 registered[i]->section);
}

/* ------------------------------------------------------------------------- */
/* Accessors                                                                 */

uv_loop_t *agent_core_loop(const struct rtvd *d)
{
	return d->loop;
}

const struct agent_config *agent_core_config(const struct rtvd *d)
{
	return d->cfg;
}

const struct cons_state *agent_core_state(const struct rtvd *d)
{
	return d->state;
}

struct cons_node *agent_core_node(const struct rtvd *d)
{
	return d->node;
}

uint64_t agent_core_leader(const struct rtvd *d)
{
	return d->leader_id;
}

bool agent_core_stopping(const struct rtvd *d)
{
	return d->stopping;
}

size_t agent_core_n_waiting(const struct rtvd *d)
{
	return d->n_waiting;
}

const char *const agent_core_rpc_refusal_names[AGENT_CORE_RPC_REFUSAL_N] = {
	"auth", "proto", "timeout", "other",
};

int agent_core_rpc_refusals(const struct rtvd *d, bool read_listener,
			    uint64_t out[AGENT_CORE_RPC_REFUSAL_N])
{
	struct agent_server_refusals r;
	int rc = agent_server_refusals(&d->server, read_listener, &r);

	out[0] = r.auth;
	out[1] = r.proto;
	out[2] = r.timeout;
	out[3] = r.other;
	return rc;
}

uint64_t agent_core_rpc_read_only_refused(const struct rtvd *d)
{
	return d->server.n_read_only_refused;
}

struct agent_loopq *agent_core_loopq(struct rtvd *d)
{
	return &d->loopq;
}

/* ------------------------------------------------------------------------- */
/* Internal submits                                                          */

struct agent_submit {
	struct agent_job job;	/* first: the job's done callback finds us */
	agent_submit_cb cb;
	void *arg;
};

static void on_submit_done(struct agent_job *job, const void *reply, size_t len, int status,
			   const char *err)
{
	struct agent_submit *s = (struct agent_submit *)job;

	(void)reply;
	(void)len;
	s->cb(s->arg, &job->req.cmd, status, err);
	agent_submit_drop(s);
}

int agent_submit_new(struct rtvd *d, const struct cons_cmd *cmd, agent_submit_cb cb,
		     void *arg, struct agent_submit **out, char err[CONS_ERRLEN])
{
	struct agent_submit *s = malloc(sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, CONS_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	agent_job_init(&s->job, d, on_submit_done);
	s->job.internal = true;
	s->cb = cb;
	s->arg = arg;
	rc = agent_req_init_submit(&s->job.req, cmd, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void agent_submit_run(struct agent_submit *s)
{
	agent_job_run(&s->job);	/* may answer at once */
}

int agent_core_submit(struct rtvd *d, const struct cons_cmd *cmd, agent_submit_cb cb,
		      void *arg, struct agent_submit **out, char err[CONS_ERRLEN])
{
	int rc = agent_submit_new(d, cmd, cb, arg, out, err);

	if (rc == 0)
		agent_submit_run(*out);
	return rc;
}

void agent_submit_drop(struct agent_submit *s)
{
	if (!s)
		return;
	agent_job_close(&s->job);
	free(s);
}

/* ------------------------------------------------------------------------- */
/* Hooks                                                                     */

#define EACH_STARTED(d, slot) \
	for (const struct agent_module_slot *slot = (d)->mods; slot < (d)->mods + (d)->n_mods; slot++) \
		if (slot->self)

static int run_phase(struct rtvd *d, bool init)
{
	if (init) {
		d->n_mods = n_registered;
		for (size_t i = 0; i < n_registered; i++)
			d->mods[i] = (struct agent_module_slot){ registered[i], NULL };
	}
	for (size_t i = 0; i < d->n_mods; i++) {
		struct agent_module_slot *s = &d->mods[i];
		int (*fn)(struct rtvd *, void **) = init ? s->m->init : s->m->start;
		int rc;

		if (!fn)
			continue;
		rc = fn(d, &s->self);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int agent_modules_init(struct rtvd *d)
{
	return run_phase(d, true);
}

int agent_modules_start(struct rtvd *d)
{
	return run_phase(d, false);
}

void agent_modules_applied(struct rtvd *d, const struct cons_cmd *cmd,
			   const struct cons_result *res)
{
	EACH_STARTED(d, s)
		if (s->m->applied)
			s->m->applied(s->self, cmd, res);
}

void agent_modules_restored(struct rtvd *d)
{
	EACH_STARTED(d, s)
		if (s->m->restored)
			s->m->restored(s->self);
}

void agent_modules_request(struct rtvd *d, const struct agent_req_ev *ev)
{
	EACH_STARTED(d, s)
		if (s->m->request)
			s->m->request(s->self, ev);
}

size_t agent_modules_status_keys(const struct rtvd *d)
{
	size_t n = 0;

	EACH_STARTED(d, s)
		if (s->m->status_keys)
			n += s->m->status_keys(s->self);
	return n;
}

int agent_modules_pack_status(const struct rtvd *d, msgpack_packer *pk)
{
	EACH_STARTED(d, s)
		if (s->m->pack_status && s->m->pack_status(s->self, pk) < 0)
			return -ENOMEM;
	return 0;
}

int agent_modules_pack_path(const struct rtvd *d, msgpack_packer *pk,
			    const struct cons_rtpath *p)
{
	EACH_STARTED(d, s) {
		int rc = s->m->pack_path ? s->m->pack_path(s->self, pk, p) : 0;

		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return cons_pack_path(pk, p);
}

void agent_core_iface(const struct rtvd *d, const char *name,
		      void (*fn)(void *arg, void *self, const void *iface), void *arg)
{
	EACH_STARTED(d, s) {
		const void *iface = s->m->iface ? s->m->iface(s->self, name) : NULL;

		if (iface)
			fn(arg, s->self, iface);
	}
}

void agent_modules_close(struct rtvd *d)
{
	for (size_t i = d->n_mods; i-- > 0;)
		if (d->mods[i].self && d->mods[i].m->close)
			d->mods[i].m->close(d->mods[i].self);
}

void agent_modules_free(struct rtvd *d)
{
	for (size_t i = d->n_mods; i-- > 0;) {
		if (d->mods[i].self && d->mods[i].m->free)
			d->mods[i].m->free(d->mods[i].self);
		d->mods[i].self = NULL;
	}
}
