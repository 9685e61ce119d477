/* job.c — one live migration (see migrate.h).
 *
 * virDomainMigrateToURI3 blocks for the whole migration (seconds to
 * minutes), so it runs on a thread of the job's own; the loop keeps a
 * timer that asks the connection's worker for the job's statistics every
 * progress_ms (progress reports, and the abort when the policy's timeout
 * passes). The thread's last act is to post the result; the job's memory
 * is shared by the loop and the thread and freed by whichever lets go
 * last, so a connection closed mid-migration leaves nothing dangling.
 *
 * Peer-to-peer: the source libvirtd talks to the destination's itself
 * (dest_uri is resolved there, not here), which is what lets the agent on
 * the source die without the migration half-done on the libvirt side.
 *
 * QEMU's downtime is read from the completed job's statistics: on the
 * source if it still knows the domain, else on the destination (with
 * VIR_MIGRATE_UNDEFINE_SOURCE the source forgets it).
 */
#include "migrate/internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mig_job {
	atomic_int refs;		/* the loop's and the thread's */
	struct mig_conn *c;
	virConnectPtr vc;		/* the thread's reference */
	char uuid[MIG_UUID_LEN];
	char *dest_uri, *stats_uri;
	struct mig_policy pol;
	struct mig_job_cbs cbs;
	void *arg;
	uv_timer_t timer;
	uint64_t start_ms;
	bool timed_out;			/* loop: aborted because of the timeout */
	struct mig__msg *done;		/* preallocated: posting the end never fails */
};

static void job_unref(struct mig_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	mig__msg_free(j->done);
	free(j->dest_uri);
	free(j->stats_uri);
	free(j);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the job's thread ------------------------------------------------------------ */

static int set_policy(struct mig_job *j, virDomainPtr dom, virTypedParameterPtr *par,
		      int *n, int *max, unsigned int *flags, char *err, size_t errlen)
{
	*flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
		 VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_ABORT_ON_ERROR;
	if (j->pol.auto_converge)
		*flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (j->pol.bandwidth_bps) {
		/* libvirt's unit is MiB/s: round up, never below 1 */
		unsigned long long mib = (j->pol.bandwidth_bps + 8ull * 1048576 - 1) / (8ull * 1048576);

		if (virTypedParamsAddULLong(par, n, max, VIR_MIGRATE_PARAM_BANDWIDTH, mib) < 0)
			return mig__lv_error("migration bandwidth", err, errlen);
	}
	if (j->pol.max_downtime_ns) {
		unsigned long long ms = (j->pol.max_downtime_ns + 999999) / 1000000;

		if (virDomainMigrateSetMaxDowntime(dom, ms, 0) < 0)
			return mig__lv_error("setting the migration's maximum downtime", err, errlen);
	}
	return 0;
}

/* QEMU's downtime from the completed job: source first, then destination */
static void completed_stats(struct mig_job *j, virDomainPtr dom, struct mig_result *r)
{
	const char *uri = j->stats_uri ? j->stats_uri : j->dest_uri;
	virConnectPtr dc;
	virDomainPtr dd;

	if (mig__job_stats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED, NULL, r, NULL, NULL, 0) >= 0 &&
	    r->stats_ok) {
		r->stats_from = "source";
		return;
	}
	dc = virConnectOpen(uri);
	dd = dc ? virDomainLookupByUUIDString(dc, j->uuid) : NULL;
	if (dd && mig__job_stats(dd, VIR_DOMAIN_JOB_STATS_COMPLETED, NULL, r, NULL, NULL, 0) >= 0 &&
	    r->stats_ok)
		r->stats_from = "destination";
	else
		virResetLastError();
	if (dd)
		virDomainFree(dd);
	if (dc)
		virConnectClose(dc);
}

static void *job_main(void *arg)
{
	struct mig_job *j = arg;
	struct mig_conn *c = j->c;
	struct mig__msg *m = j->done;
	struct mig_result *r = &m->result;
	virTypedParameterPtr par = NULL;
	int n = 0, max = 0;
	unsigned int flags = 0;
	virDomainPtr dom = virDomainLookupByUUIDString(j->vc, j->uuid);
	uint64_t t0 = mono_ms();

	j->done = NULL;
	if (!dom) {
		r->rc = mig__lv_error(j->uuid, r->err, sizeof(r->err));
		goto out;
	}
	r->rc = set_policy(j, dom, &par, &n, &max, &flags, r->err, sizeof(r->err));
	if (r->rc == 0 && virDomainMigrateToURI3(dom, j->dest_uri, par, (unsigned int)n, flags) < 0)
		r->rc = mig__lv_error("migration", r->err, sizeof(r->err));
	r->wall_ms = mono_ms() - t0;
	if (r->rc == 0)
		completed_stats(j, dom, r);
	virTypedParamsFree(par, n);
	virDomainFree(dom);
out:
	virConnectClose(j->vc);
	m->job = j;
	mig__post(c, m);
	mig__conn_release(c);
	job_unref(j);
	return NULL;
}

/* ---- the loop ------------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
	job_unref(h->data);
}

static void on_tick(uv_timer_t *t)
{
	struct mig_job *j = t->data;

	if (j->pol.timeout_ns && !j->timed_out &&
	    (mono_ms() - j->start_ms) * 1000000u >= j->pol.timeout_ns) {
		j->timed_out = true;
		mig__conn_abort_job(j->c, j->uuid);
		return;
	}
	mig__conn_query_job(j->c, j, j->uuid);
}

void mig__job_progress(struct mig_job *j, const struct mig_progress *p)
{
	if (j->cbs.progress)
		j->cbs.progress(j, p, j->arg);
}

void mig__job_done(struct mig_job *j, const struct mig_result *res)
{
	struct mig_result r = *res;

	mig__conn_job_del(j->c, j);
	uv_timer_stop(&j->timer);
	if (r.rc && j->timed_out) {
		r.rc = -ETIMEDOUT;
		snprintf(r.err, sizeof(r.err), "migration aborted after the policy's timeout of %llu ms",
			 (unsigned long long)(j->pol.timeout_ns / 1000000));
	}
	mig__conn_reread(j->c, j->uuid);
	if (j->cbs.done)
		j->cbs.done(j, &r, j->arg);
	uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

void mig__job_orphan(struct mig_job *j)
{
	uv_timer_stop(&j->timer);
	uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

int mig_migrate_abort(struct mig_job *j)
{
	mig__conn_abort_job(j->c, j->uuid);
	return 0;
}

static struct mig_job *job_new(struct mig_conn *c, const struct mig_vm *vm, const char *dest_uri,
			       const char *stats_uri, const struct mig_policy *pol)
{
	struct mig_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	atomic_init(&j->refs, 1);
	j->c = c;
	snprintf(j->uuid, sizeof(j->uuid), "%s", vm->uuid);
	j->dest_uri = strdup(dest_uri);
	j->stats_uri = stats_uri ? strdup(stats_uri) : NULL;
	j->done = mig__msg_new(MIG__MSG_JOB_DONE);
	if (pol)
		j->pol = *pol;
	if (!j->pol.progress_ms)
		j->pol.progress_ms = 500;
	if (!j->dest_uri || (stats_uri && !j->stats_uri) || !j->done) {
		job_unref(j);
		return NULL;
	}
	return j;
}

int mig_migrate_start(struct mig_conn *c, const char *uuid_or_name, const char *dest_uri,
		      const char *stats_uri, const struct mig_policy *pol,
		      const struct mig_job_cbs *cbs, void *arg, struct mig_job **out,
		      char *err, size_t errlen)
{
	const struct mig_vm *vm = mig_conn_vm(c, uuid_or_name);
	struct mig_job *j;
	pthread_attr_t attr;
	int rc;

	if (!dest_uri || !dest_uri[0]) {
		snprintf(err, errlen, "migration: no destination URI");
		return -EINVAL;
	}
	if (!vm) {
		snprintf(err, errlen, "migration: no VM '%s' on %s", uuid_or_name, mig_conn_uri(c));
		return -ENOENT;
	}
	if (vm->state != MIG_VM_RUNNING && vm->state != MIG_VM_PAUSED) {
		snprintf(err, errlen, "migration: VM %s is %s, not running", vm->name,
			 mig_vm_state_name(vm->state));
		return -EBUSY;
	}
	j = job_new(c, vm, dest_uri, stats_uri, pol);
	if (!j)
		return -ENOMEM;
	if (cbs)
		j->cbs = *cbs;
	j->arg = arg;
	j->vc = mig__conn_ref(c);
	if (!j->vc) {
		job_unref(j);
		snprintf(err, errlen, "migration: libvirt at %s is not connected", mig_conn_uri(c));
		return -ENOTCONN;
	}
	rc = mig__conn_job_add(c, j);
	if (rc)
		goto fail;
	atomic_fetch_add(&j->refs, 1);	/* the thread's */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&(pthread_t){ 0 }, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_fetch_sub(&j->refs, 1);
		mig__conn_job_del(c, j);
		goto fail;
	}
	j->start_ms = mono_ms();
	uv_timer_init(mig__conn_loop(c), &j->timer);
	j->timer.data = j;
	uv_timer_start(&j->timer, on_tick, j->pol.progress_ms, j->pol.progress_ms);
	mig__conn_vm_state(c, j->uuid, MIG_VM_MIGRATING);
	*out = j;
	return 0;
fail:
	snprintf(err, errlen, "migration: cannot start its thread");
	virConnectClose(j->vc);
	mig__conn_release(c);
	job_unref(j);
	return rc;
}
