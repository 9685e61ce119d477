/* lverr.c — libvirt's error convention, translated once.
 *
 * libvirt calls return -1 or NULL and leave a virError in thread-local
 * storage; this turns it into a negative errno (what callers compare) and a
 * sentence (what people read), and resets it so the next call starts
 * clean. libvirt's default error handler, which prints every error on
 * stderr, is silenced in evloop.c: errors reach the log through here. */
#include "migrate/internal.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>

static int code_errno(const virError *e)
{
	switch (e->code) {
	case VIR_ERR_NO_DOMAIN: return ENOENT;
	case VIR_ERR_NO_CONNECT: case VIR_ERR_INVALID_CONN: case VIR_ERR_RPC: return ENOTCONN;
	case VIR_ERR_OPERATION_TIMEOUT: return ETIMEDOUT;
	case VIR_ERR_OPERATION_ABORTED: return ECANCELED;
	case VIR_ERR_OPERATION_INVALID: return EBUSY;
	case VIR_ERR_INVALID_ARG: case VIR_ERR_XML_ERROR: case VIR_ERR_CONFIG_UNSUPPORTED:
		return EINVAL;
	case VIR_ERR_NO_SUPPORT: case VIR_ERR_OPERATION_UNSUPPORTED: return EOPNOTSUPP;
	case VIR_ERR_AUTH_FAILED: case VIR_ERR_OPERATION_DENIED: return EACCES;
	case VIR_ERR_NO_MEMORY: return ENOMEM;
	case VIR_ERR_DOM_EXIST: return EEXIST;
	case VIR_ERR_MIGRATE_UNSAFE: return EPERM;
	case VIR_ERR_SYSTEM_ERROR:
		/* virReportSystemError keeps the errno in int1 */
		return e->int1 > 0 && e->int1 < 4096 ? e->int1 : EIO;
	default: return EIO;
	}
}

int mig__lv_error(const char *what, char *err, size_t errlen)
{
	virErrorPtr e = virGetLastError();
	int rc = e ? -code_errno(e) : -EIO;

	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what,
			 e && e->message ? e->message : "libvirt failed without saying why");
	virResetLastError();
	return rc;
}
