/* vm.c — one VM as libvirt describes it, and a job's statistics. The calls
 * here block (RPC to libvirtd): worker and job threads only. */
#include "migrate/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mig_vm_state_name(enum mig_vm_state s)
{
	switch (s) {
	case MIG_VM_SHUTOFF: return "shut off";
	case MIG_VM_RUNNING: return "running";
	case MIG_VM_PAUSED: return "paused";
	case MIG_VM_MIGRATING: return "migrating";
	}
	return "?";
}

enum mig_vm_state mig_vm_state_from(int st, int reason, bool migrating)
{
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:	/* being shut down: still running */
		return migrating ? MIG_VM_MIGRATING : MIG_VM_RUNNING;
	case VIR_DOMAIN_PAUSED:
		if (migrating || reason == VIR_DOMAIN_PAUSED_MIGRATION ||
		    reason == VIR_DOMAIN_PAUSED_POSTCOPY)
			return MIG_VM_MIGRATING;
		return MIG_VM_PAUSED;
	case VIR_DOMAIN_PMSUSPENDED:
		return MIG_VM_PAUSED;
	default:	/* shut off, crashed, no state */
		return MIG_VM_SHUTOFF;
	}
}

static uint64_t ull(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v = 0;

	if (virTypedParamsGetULLong(p, n, name, &v) <= 0)
		return 0;
	return v;
}

int mig__job_stats(virDomainPtr dom, unsigned int flags, struct mig_progress *p,
		   struct mig_result *r, bool *migrating, char *err, size_t errlen)
{
	virTypedParameterPtr par = NULL;
	int n = 0, type = 0, op = 0;

	if (virDomainGetJobStats(dom, &type, &par, &n, flags) < 0)
		return mig__lv_error("job statistics", err, errlen);
	if (p) {
		p->elapsed_ms = ull(par, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
		p->data_total_bytes = ull(par, n, VIR_DOMAIN_JOB_DATA_TOTAL);
		p->data_processed_bytes = ull(par, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
		p->data_remaining_bytes = ull(par, n, VIR_DOMAIN_JOB_DATA_REMAINING);
		p->dirty_rate_pages_s = ull(par, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
		p->iteration = ull(par, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	}
	if (r) {
		unsigned long long dt;

		r->stats_ok = virTypedParamsGetULLong(par, n, VIR_DOMAIN_JOB_DOWNTIME, &dt) > 0;
		r->downtime_ms = dt;
		r->elapsed_ms = ull(par, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
		r->data_bytes = ull(par, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
	}
	if (migrating)
		*migrating = type != VIR_DOMAIN_JOB_NONE &&
			     virTypedParamsGetInt(par, n, VIR_DOMAIN_JOB_OPERATION, &op) > 0 &&
			     (op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN ||
			      op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT);
	virTypedParamsFree(par, n);
	return type;
}

int mig__vm_read(virDomainPtr dom, struct mig_vm *vm, char *err, size_t errlen)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	int st = 0, reason = 0, rc;
	bool migrating = false;

	if (!xml)
		return mig__lv_error("reading a domain's XML", err, errlen);
	rc = mig_domxml_parse(xml, strlen(xml), vm, err, errlen);
	free(xml);
	if (rc)
		return rc;
	if (virDomainGetState(dom, &st, &reason, 0) < 0)
		return mig__lv_error("reading a domain's state", err, errlen);
	if ((st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_PAUSED) &&
	    mig__job_stats(dom, 0, NULL, NULL, &migrating, NULL, 0) < 0)
		migrating = false;
	vm->state = mig_vm_state_from(st, reason, migrating);
	return 0;
}
