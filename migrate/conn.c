/* conn.c — one libvirt connection on a libuv loop (see migrate.h).
 *
 * Three kinds of thread meet here:
 *   the loop        owns the inventory, the state and the callbacks;
 *   the worker      makes every blocking libvirt call of the connection
 *                   (open, list, read one domain, job statistics, abort)
 *                   from a FIFO of requests, one at a time;
 *   libvirt's event thread (evloop.c) calls lifecycle_cb and close_cb.
 * The worker and the event thread only post messages (a mutex-protected
 * FIFO + uv_async_send); the loop handles them in order. Migration threads
 * (job.c) post the same way.
 *
 * Lifetime: the struct is reference-counted — the loop (until its handles
 * are closed) and each migration thread hold a reference — so a migration
 * that outlives mig_conn_free posts into a closed mailbox, not freed
 * memory.
 *
 * Reconnection: a failed open or a closed connection (libvirtd restarted:
 * libvirt notices through its keep-alive or the socket's EOF and calls
 * close_cb) schedules the next open after backoff_min_ms, doubling up to
 * backoff_max_ms; a successful open resets it and re-reads everything.
 */
#include "migrate/internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum req_kind { REQ_OPEN, REQ_SYNC, REQ_READ, REQ_JOB, REQ_ABORT, REQ_DROP, REQ_QUIT };

struct req {
	struct req *next;
	enum req_kind kind;
	char uuid[MIG_UUID_LEN];
	struct mig_job *job;
	bool settle;		/* REQ_READ: the VM just migrated away (below) */
};

struct mig_conn {
	atomic_int refs;
	uv_loop_t *loop;
	uv_async_t async;
	uv_timer_t retry;
	int handles;			/* uv handles not yet closed */
	char *uri;
	struct mig_conn_config cfg;
	struct mig_conn_cbs cbs;
	void *arg;

	pthread_mutex_t mu;		/* guards everything down to `worker` */
	struct mig__msg *head, **tail;
	bool closing;
	virConnectPtr vc;
	uint64_t gen;			/* bumped at every successful open */
	int ev_life, ev_iter;		/* libvirt event callback ids */
	pthread_cond_t wcond;
	struct req *rq, **rq_tail;
	pthread_t worker;

	/* loop thread only */
	bool up, reported_down, host_known;
	struct mig_host_res host;
	uint32_t backoff_ms;
	uint64_t opens;
	struct mig_vm *vms;
	size_t n_vms, cap_vms;
	struct mig_job **jobs;
	size_t n_jobs, cap_jobs;
};

/* ---- messages -------------------------------------------------------------- */

struct mig__msg *mig__msg_new(enum mig__msg_kind kind)
{
	struct mig__msg *m = calloc(1, sizeof(*m));

	if (m)
		m->kind = kind;
	return m;
}

void mig__msg_free(struct mig__msg *m)
{
	if (m) {
		free(m->uuids);
		free(m);
	}
}

static void conn_unref(struct mig_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (struct mig__msg *m = c->head, *next; m; m = next) {
		next = m->next;
		mig__msg_free(m);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->wcond);
	free(c->uri);
	free(c->vms);
	free(c->jobs);
	free(c);
}

void mig__post(struct mig_conn *c, struct mig__msg *m)
{
	if (!m)
		return;	/* out of memory: the next full sync repairs */
	m->next = NULL;
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		mig__msg_free(m);
		return;
	}
	*c->tail = m;
	c->tail = &m->next;
	uv_async_send(&c->async);
	pthread_mutex_unlock(&c->mu);
}

static void request_ex(struct mig_conn *c, enum req_kind kind, const char *uuid,
		       struct mig_job *j, bool settle)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = kind;
	r->job = j;
	r->settle = settle;
	if (uuid)
		snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	pthread_mutex_lock(&c->mu);
	*c->rq_tail = r;
	c->rq_tail = &r->next;
	pthread_cond_signal(&c->wcond);
	pthread_mutex_unlock(&c->mu);
}

static void request(struct mig_conn *c, enum req_kind kind, const char *uuid, struct mig_job *j)
{
	request_ex(c, kind, uuid, j, false);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- libvirt's event thread ------------------------------------------------- */

static const char *lifecycle_name(int ev)
{
	static const char *names[] = { "defined", "undefined", "started", "suspended",
				       "resumed", "stopped", "shutdown", "pmsuspended",
				       "crashed" };

	return ev >= 0 && ev < (int)(sizeof(names) / sizeof(names[0])) ? names[ev] : "unknown";
}

static void post_event(struct mig_conn *c, virDomainPtr dom, int event, int detail,
		       const char *what)
{
	struct mig__msg *m = mig__msg_new(MIG__MSG_LIFECYCLE);
	const char *name = virDomainGetName(dom);

	if (!m)
		return;
	if (virDomainGetUUIDString(dom, m->ev.uuid) < 0)
		virResetLastError();
	snprintf(m->ev.name, sizeof(m->ev.name), "%s", name ? name : "");
	m->ev.event = event;
	m->ev.detail = detail;
	m->ev.what = what;
	m->ev.recv_ns = now_ns();
	mig__post(c, m);
}

static int lifecycle_cb(virConnectPtr vc, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)vc;
	post_event(opaque, dom, event, detail, lifecycle_name(event));
	return 0;
}

/* Fires on the source at each pass of QEMU's memory copy: the first one is
 * how a migration started outside rtvd (virsh migrate) becomes visible. */
static void iteration_cb(virConnectPtr vc, virDomainPtr dom, int iteration, void *opaque)
{
	(void)vc;
	post_event(opaque, dom, -1, iteration, "migration-iteration");
}

/* libvirt holds c in each registered callback until it calls this */
static void cb_release(void *opaque)
{
	conn_unref(opaque);
}

static void close_cb(virConnectPtr vc, int reason, void *opaque)
{
	static const char *why[] = { "error", "end of file", "keep-alive timeout", "client" };
	struct mig_conn *c = opaque;
	struct mig__msg *m = mig__msg_new(MIG__MSG_CLOSED);

	if (!m)
		return;
	snprintf(m->err, sizeof(m->err), "libvirt connection closed (%s)",
		 reason >= 0 && reason < 4 ? why[reason] : "unknown");
	pthread_mutex_lock(&c->mu);
	m->gen = vc == c->vc ? c->gen : 0;	/* 0: an older connection */
	pthread_mutex_unlock(&c->mu);
	mig__post(c, m);
}

/* ---- the worker --------------------------------------------------------------- */

static void w_host(struct mig_conn *c, virConnectPtr vc, uint64_t gen)
{
	struct mig__msg *m = mig__msg_new(MIG__MSG_HOST);
	virNodeInfo ni;
	unsigned long long free_b;

	if (!m)
		return;
	if (virNodeGetInfo(vc, &ni) < 0 || (free_b = virNodeGetFreeMemory(vc)) == 0) {
		virResetLastError();	/* the next event retries */
		mig__msg_free(m);
		return;
	}
	m->gen = gen;
	m->host.cpus = ni.cpus;
	m->host.mem_total_bytes = (uint64_t)ni.memory * 1024;	/* KiB */
	m->host.mem_free_bytes = free_b;
	mig__post(c, m);
}

static void w_sync(struct mig_conn *c, virConnectPtr vc, uint64_t gen)
{
	virDomainPtr *doms = NULL;
	struct mig__msg *done = mig__msg_new(MIG__MSG_SYNCED);
	int n = virConnectListAllDomains(vc, &doms, 0);

	if (!done)
		goto out;
	done->gen = gen;
	if (n < 0) {
		mig__lv_error("listing domains", done->err, sizeof(done->err));
		n = 0;
	} else if (n > 0 && !(done->uuids = calloc((size_t)n, sizeof(*done->uuids)))) {
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct mig__msg *m = mig__msg_new(MIG__MSG_VM);

		if (virDomainGetUUIDString(doms[i], done->uuids[done->n_uuids]) == 0)
			done->n_uuids++;
		else
			virResetLastError();
		if (m && mig__vm_read(doms[i], &m->vm, m->err, sizeof(m->err)) == 0) {
			m->gen = gen;
			mig__post(c, m);
		} else {
			mig__msg_free(m);	/* gone meanwhile, or bad XML: logged by the loop */
		}
	}
	w_host(c, vc, gen);
	mig__post(c, done);
	done = NULL;
out:
	mig__msg_free(done);
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
}

static void w_drop(struct mig_conn *c)
{
	virConnectPtr vc;
	int life, iter;

	pthread_mutex_lock(&c->mu);
	vc = c->vc;
	life = c->ev_life;
	iter = c->ev_iter;
	c->vc = NULL;
	pthread_mutex_unlock(&c->mu);
	if (!vc)
		return;
	/* these fail on a dead connection; the references go either way */
	if (life >= 0 && virConnectDomainEventDeregisterAny(vc, life) < 0)
		virResetLastError();
	if (iter >= 0 && virConnectDomainEventDeregisterAny(vc, iter) < 0)
		virResetLastError();
	if (virConnectUnregisterCloseCallback(vc, close_cb) < 0)
		virResetLastError();
	virConnectClose(vc);
}

static void w_open(struct mig_conn *c)
{
	struct mig__msg *m = mig__msg_new(MIG__MSG_OPEN_FAILED);
	virConnectPtr vc;
	int life, iter;
	uint64_t gen;

	if (!m)
		return;
	w_drop(c);
	vc = virConnectOpen(c->uri);
	if (!vc) {
		mig__lv_error(c->uri, m->err, sizeof(m->err));
		mig__post(c, m);
		return;
	}
	if (virConnectSetKeepAlive(vc, (int)c->cfg.keepalive_s, 3) < 0)
		virResetLastError();	/* a driver without keep-alive (test://) */
	/* each event registration holds a reference, dropped by cb_release
	 * once libvirt can no longer call it (it may be dispatching right
	 * now). Not the close callback: drivers without one accept it and
	 * never call its free function; libvirt calls it under a lock that
	 * virConnectUnregisterCloseCallback takes, so w_drop is enough. */
	atomic_fetch_add(&c->refs, 2);
	life = virConnectDomainEventRegisterAny(vc, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), c,
						cb_release);
	if (life < 0) {
		mig__lv_error("registering for libvirt's lifecycle events", m->err, sizeof(m->err));
		atomic_fetch_sub(&c->refs, 2);
		virConnectClose(vc);
		mig__post(c, m);
		return;
	}
	/* drivers that run inside this process (test://) have neither a
	 * close notice nor migration events: lifecycle events are enough */
	if (virConnectRegisterCloseCallback(vc, close_cb, c, NULL) < 0)
		virResetLastError();
	iter = virConnectDomainEventRegisterAny(vc, NULL, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
						VIR_DOMAIN_EVENT_CALLBACK(iteration_cb), c,
						cb_release);
	if (iter < 0) {
		virResetLastError();
		atomic_fetch_sub(&c->refs, 1);
	}
	pthread_mutex_lock(&c->mu);
	c->vc = vc;
	c->ev_life = life;
	c->ev_iter = iter;
	gen = ++c->gen;
	pthread_mutex_unlock(&c->mu);
	m->kind = MIG__MSG_OPENED;
	m->gen = gen;
	mig__post(c, m);
	w_sync(c, vc, gen);
}

/* After "stopped (migrated)" the source's libvirt undefines the domain
 * (VIR_MIGRATE_UNDEFINE_SOURCE) a moment later and sends no event for it:
 * while the domain still reads as shut off, look again for up to 2 s. A
 * domain migrated without that flag stays defined and is reported shut off
 * after the wait. */
static virDomainPtr settle_lookup(virConnectPtr vc, const char *uuid)
{
	virDomainPtr dom = NULL;

	for (int i = 0; i < 20; i++) {
		int st = 0, reason = 0;

		if (dom)
			virDomainFree(dom);
		dom = virDomainLookupByUUIDString(vc, uuid);
		if (!dom || virDomainGetState(dom, &st, &reason, 0) < 0 || st != VIR_DOMAIN_SHUTOFF)
			break;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	virResetLastError();
	return dom ? dom : virDomainLookupByUUIDString(vc, uuid);
}

static void w_read(struct mig_conn *c, virConnectPtr vc, uint64_t gen, const char *uuid,
		   bool settle)
{
	struct mig__msg *m = mig__msg_new(MIG__MSG_VM);
	virDomainPtr dom;

	if (!m)
		return;
	m->gen = gen;
	dom = settle ? settle_lookup(vc, uuid) : virDomainLookupByUUIDString(vc, uuid);
	if (!dom) {
		if (mig__lv_error(uuid, m->err, sizeof(m->err)) != -ENOENT) {
			mig__msg_free(m);	/* connection trouble: close_cb follows */
			return;
		}
		m->kind = MIG__MSG_VM_GONE;
		snprintf(m->vm.uuid, sizeof(m->vm.uuid), "%s", uuid);
	} else {
		if (mig__vm_read(dom, &m->vm, m->err, sizeof(m->err)) < 0) {
			/* undefined between lookup and read: gone */
			m->kind = MIG__MSG_VM_GONE;
			snprintf(m->vm.uuid, sizeof(m->vm.uuid), "%s", uuid);
		}
		virDomainFree(dom);
	}
	mig__post(c, m);
}

static void w_job(struct mig_conn *c, virConnectPtr vc, const struct req *r)
{
	struct mig__msg *m = mig__msg_new(MIG__MSG_JOB_PROGRESS);
	virDomainPtr dom = virDomainLookupByUUIDString(vc, r->uuid);

	if (!m || !dom) {
		if (!dom)
			virResetLastError();
		mig__msg_free(m);
		return;
	}
	if (r->kind == REQ_ABORT) {
		if (virDomainAbortJob(dom) < 0)
			virResetLastError();	/* finished meanwhile */
		mig__msg_free(m);
	} else if (mig__job_stats(dom, 0, &m->progress, NULL, NULL, m->err, sizeof(m->err)) >= 0) {
		m->job = r->job;
		mig__post(c, m);
	} else {
		mig__msg_free(m);
	}
	virDomainFree(dom);
}

static void *worker_main(void *arg)
{
	struct mig_conn *c = arg;

	for (;;) {
		struct req *r;
		virConnectPtr vc;
		uint64_t gen;

		pthread_mutex_lock(&c->mu);
		while (!c->rq)
			pthread_cond_wait(&c->wcond, &c->mu);
		r = c->rq;
		c->rq = r->next;
		if (!c->rq)
			c->rq_tail = &c->rq;
		vc = c->vc;
		gen = c->gen;
		pthread_mutex_unlock(&c->mu);
		if (r->kind == REQ_QUIT) {
			free(r);
			break;
		}
		if (r->kind == REQ_OPEN)
			w_open(c);
		else if (r->kind == REQ_DROP)
			w_drop(c);
		else if (vc && r->kind == REQ_SYNC)
			w_sync(c, vc, gen);
		else if (vc && r->kind == REQ_READ) {
			w_read(c, vc, gen, r->uuid, r->settle);
			w_host(c, vc, gen);
		}
		else if (vc)
			w_job(c, vc, r);
		free(r);
	}
	w_drop(c);
	return NULL;
}

/* ---- the loop ------------------------------------------------------------------ */

static struct mig_vm *find_vm(const struct mig_conn *c, const char *key)
{
	for (size_t i = 0; i < c->n_vms; i++) {
		if (strcmp(c->vms[i].uuid, key) == 0 || strcmp(c->vms[i].name, key) == 0)
			return &c->vms[i];
	}
	return NULL;
}

static void vm_upsert(struct mig_conn *c, const struct mig_vm *vm)
{
	struct mig_vm *v = find_vm(c, vm->uuid);

	if (!v) {
		if (c->n_vms == c->cap_vms) {
			size_t cap = c->cap_vms ? 2 * c->cap_vms : 16;
			struct mig_vm *nv = realloc(c->vms, cap * sizeof(*nv));

			if (!nv)
				return;	/* the next sync repairs */
			c->vms = nv;
			c->cap_vms = cap;
		}
		v = &c->vms[c->n_vms++];
	}
	*v = *vm;
	if (c->cbs.vm)
		c->cbs.vm(c, v, c->arg);
}

static void vm_remove(struct mig_conn *c, const char *uuid)
{
	struct mig_vm *v = find_vm(c, uuid);
	char gone[MIG_UUID_LEN];

	if (!v)
		return;
	snprintf(gone, sizeof(gone), "%s", v->uuid);
	*v = c->vms[--c->n_vms];
	if (c->cbs.vm_gone)
		c->cbs.vm_gone(c, gone, c->arg);
}

static void synced(struct mig_conn *c, const struct mig__msg *m)
{
	for (size_t i = c->n_vms; i-- > 0;) {
		bool seen = false;

		for (size_t k = 0; k < m->n_uuids && !seen; k++)
			seen = strcmp(c->vms[i].uuid, m->uuids[k]) == 0;
		if (!seen)
			vm_remove(c, c->vms[i].uuid);
	}
	if (c->cbs.synced)
		c->cbs.synced(c, c->arg);
}

static void link_down(struct mig_conn *c, const char *why)
{
	bool report = c->up || !c->reported_down;

	c->up = false;
	c->reported_down = true;
	if (report && c->cbs.link)
		c->cbs.link(c, false, why, c->arg);
}

static void on_retry(uv_timer_t *t)
{
	request(t->data, REQ_OPEN, NULL, NULL);
}

static void schedule_retry(struct mig_conn *c)
{
	uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
	c->backoff_ms = c->backoff_ms * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms
								   : c->backoff_ms * 2;
}

static bool current(struct mig_conn *c, uint64_t gen)
{
	bool cur;

	pthread_mutex_lock(&c->mu);
	cur = gen == c->gen;
	pthread_mutex_unlock(&c->mu);
	return cur;
}

static void handle(struct mig_conn *c, struct mig__msg *m)
{
	switch (m->kind) {
	case MIG__MSG_OPENED:
		c->up = true;
		c->reported_down = false;
		c->opens++;
		c->backoff_ms = c->cfg.backoff_min_ms;
		if (c->cbs.link)
			c->cbs.link(c, true, NULL, c->arg);
		break;
	case MIG__MSG_OPEN_FAILED:
		link_down(c, m->err);
		schedule_retry(c);
		break;
	case MIG__MSG_CLOSED:
		if (m->gen == 0 || !current(c, m->gen) || !c->up)
			break;
		link_down(c, m->err);
		request(c, REQ_DROP, NULL, NULL);
		schedule_retry(c);
		break;
	case MIG__MSG_VM:
		if (current(c, m->gen))
			vm_upsert(c, &m->vm);
		break;
	case MIG__MSG_VM_GONE:
		if (current(c, m->gen))
			vm_remove(c, m->vm.uuid);
		break;
	case MIG__MSG_SYNCED:
		if (current(c, m->gen))
			synced(c, m);
		break;
	case MIG__MSG_HOST:
		if (current(c, m->gen)) {
			c->host = m->host;
			c->host_known = true;
		}
		break;
	case MIG__MSG_LIFECYCLE:
		if (c->cbs.lifecycle)
			c->cbs.lifecycle(c, &m->ev, c->arg);
		request_ex(c, REQ_READ, m->ev.uuid, NULL,
			   m->ev.event == VIR_DOMAIN_EVENT_STOPPED &&
			   m->ev.detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED);
		break;
	case MIG__MSG_JOB_PROGRESS:
	case MIG__MSG_JOB_DONE:
		for (size_t i = 0; i < c->n_jobs; i++) {
			if (c->jobs[i] != m->job)
				continue;
			if (m->kind == MIG__MSG_JOB_PROGRESS)
				mig__job_progress(m->job, &m->progress);
			else
				mig__job_done(m->job, &m->result);
			break;
		}
		break;
	}
}

static void on_async(uv_async_t *a)
{
	struct mig_conn *c = a->data;
	struct mig__msg *m, *next;

	pthread_mutex_lock(&c->mu);
	m = c->head;
	c->head = NULL;
	c->tail = &c->head;
	pthread_mutex_unlock(&c->mu);
	for (; m; m = next) {
		next = m->next;
		handle(c, m);
		mig__msg_free(m);
	}
}

int mig_conn_new(uv_loop_t *loop, const struct mig_conn_config *cfg,
		 const struct mig_conn_cbs *cbs, void *arg,
		 struct mig_conn **out, char *err, size_t errlen)
{
	struct mig_conn *c;
	int rc;

	if (!cfg->uri || !cfg->uri[0]) {
		snprintf(err, errlen, "libvirt: no uri (libvirt is off)");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->uri = strdup(cfg->uri))) {
		free(c);
		return -ENOMEM;
	}
	rc = mig__evloop_ref(err, errlen);
	if (rc) {
		free(c->uri);
		free(c);
		return rc;
	}
	atomic_init(&c->refs, 1);
	c->loop = loop;
	c->cfg = *cfg;
	c->cfg.uri = c->uri;
	if (!c->cfg.backoff_min_ms)
		c->cfg.backoff_min_ms = 200;
	if (!c->cfg.backoff_max_ms)
		c->cfg.backoff_max_ms = 5000;
	if (!c->cfg.keepalive_s)
		c->cfg.keepalive_s = 5;
	c->backoff_ms = c->cfg.backoff_min_ms;
	if (cbs)
		c->cbs = *cbs;
	c->arg = arg;
	c->tail = &c->head;
	c->rq_tail = &c->rq;
	c->ev_life = c->ev_iter = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wcond, NULL);
	uv_async_init(loop, &c->async, on_async);
	uv_timer_init(loop, &c->retry);
	c->async.data = c->retry.data = c;
	c->handles = 2;
	rc = -pthread_create(&c->worker, NULL, worker_main, c);
	if (rc) {
		snprintf(err, errlen, "libvirt: cannot start the worker thread");
		mig__evloop_unref();
		c->worker = 0;
		mig_conn_free(c);
		return rc;
	}
	request(c, REQ_OPEN, NULL, NULL);
	*out = c;
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct mig_conn *c = h->data;

	if (--c->handles == 0)
		conn_unref(c);
}

void mig_conn_free(struct mig_conn *c)
{
	if (!c)
		return;
	if (c->worker) {
		request(c, REQ_QUIT, NULL, NULL);
		pthread_join(c->worker, NULL);
		mig__evloop_unref();
	}
	pthread_mutex_lock(&c->mu);
	c->closing = true;
	for (struct req *r = c->rq, *next; r; r = next) {
		next = r->next;
		free(r);
	}
	c->rq = NULL;
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < c->n_jobs; i++)
		mig__job_orphan(c->jobs[i]);
	c->n_jobs = 0;
	uv_close((uv_handle_t *)&c->async, on_handle_closed);
	uv_close((uv_handle_t *)&c->retry, on_handle_closed);
}

bool mig_conn_up(const struct mig_conn *c) { return c->up; }
const char *mig_conn_uri(const struct mig_conn *c) { return c->uri; }
uint64_t mig_conn_opens(const struct mig_conn *c) { return c->opens; }

int mig_conn_host(const struct mig_conn *c, struct mig_host_res *out)
{
	if (!c->host_known)
		return -ENODATA;
	*out = c->host;
	out->vcpus_used = 0;
	out->mem_used_bytes = 0;
	for (size_t i = 0; i < c->n_vms; i++) {
		if (c->vms[i].state == MIG_VM_SHUTOFF)
			continue;
		out->vcpus_used += c->vms[i].vcpus;
		out->mem_used_bytes += c->vms[i].mem_bytes;
	}
	return 0;
}

const struct mig_vm *mig_conn_vms(const struct mig_conn *c, size_t *n)
{
	*n = c->n_vms;
	return c->vms;
}

const struct mig_vm *mig_conn_vm(const struct mig_conn *c, const char *uuid_or_name)
{
	return find_vm(c, uuid_or_name);
}

/* ---- for job.c ---------------------------------------------------------------- */

virConnectPtr mig__conn_ref(struct mig_conn *c)
{
	virConnectPtr vc;

	pthread_mutex_lock(&c->mu);
	vc = c->vc;
	if (vc && virConnectRef(vc) < 0)
		vc = NULL;
	if (vc)
		atomic_fetch_add(&c->refs, 1);	/* the job thread's */
	pthread_mutex_unlock(&c->mu);
	return vc;
}

void mig__conn_release(struct mig_conn *c)
{
	conn_unref(c);
}

uv_loop_t *mig__conn_loop(struct mig_conn *c) { return c->loop; }

void mig__conn_query_job(struct mig_conn *c, struct mig_job *j, const char *uuid)
{
	request(c, REQ_JOB, uuid, j);
}

void mig__conn_abort_job(struct mig_conn *c, const char *uuid)
{
	request(c, REQ_ABORT, uuid, NULL);
}

void mig__conn_vm_state(struct mig_conn *c, const char *uuid, enum mig_vm_state st)
{
	struct mig_vm *v = find_vm(c, uuid);

	if (v && v->state != st) {
		v->state = st;
		if (c->cbs.vm)
			c->cbs.vm(c, v, c->arg);
	}
}

void mig__conn_reread(struct mig_conn *c, const char *uuid)
{
	request(c, REQ_READ, uuid, NULL);
}

int mig__conn_job_add(struct mig_conn *c, struct mig_job *j)
{
	if (c->n_jobs == c->cap_jobs) {
		size_t cap = c->cap_jobs ? 2 * c->cap_jobs : 4;
		struct mig_job **nj = realloc(c->jobs, cap * sizeof(*nj));

		if (!nj)
			return -ENOMEM;
		c->jobs = nj;
		c->cap_jobs = cap;
	}
	c->jobs[c->n_jobs++] = j;
	return 0;
}

void mig__conn_job_del(struct mig_conn *c, struct mig_job *j)
{
	for (size_t i = 0; i < c->n_jobs; i++) {
		if (c->jobs[i] == j) {
			c->jobs[i] = c->jobs[--c->n_jobs];
			return;
		}
	}
}
