/* evloop.c — libvirt's events on a thread of their own.
 *
 * libvirt delivers domain events, keep-alives and the connection-closed
 * notice only while an event loop implementation runs. Two choices: an
 * implementation on libuv (virEventRegisterImpl with add/update/remove
 * callbacks mapped to uv_poll/uv_timer), or libvirt's own default loop
 * (virEventRegisterDefaultImpl) driven by virEventRunDefaultImpl on a
 * thread of its own. We take the second, because
 *   - libvirt calls the add/update/remove callbacks from whatever thread
 *     is inside the library — a worker in virConnectOpen, a migration
 *     thread — while libuv handles may only be touched from the loop's
 *     thread: an implementation on libuv would need a lock and a hand-off
 *     for every callback, i.e. a second event loop in disguise;
 *   - the implementation is process-global and must be registered before
 *     any connection opens; libvirt's own is the one its tests exercise;
 *   - what reaches rtvd is a handful of events a second, which one
 *     uv_async per connection carries to the loop without ever blocking it.
 * The cost is one thread per process, idle in poll(2).
 *
 * libvirt's default error handler prints every error on stderr; it is
 * replaced by a silent one here (errors are reported by lverr.c).
 */
#include "migrate/internal.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static int ev_refs;
static bool ev_registered;
static atomic_bool ev_quit;
static pthread_t ev_thread;

static void silent(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static void *ev_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&ev_quit)) {
		if (virEventRunDefaultImpl() < 0)
			virResetLastError();	/* EINTR and the like: go on */
	}
	return NULL;
}

static void wake_once(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

int mig__evloop_ref(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&ev_mu);
	if (!ev_registered) {
		virSetErrorFunc(NULL, silent);
		if (virEventRegisterDefaultImpl() < 0) {
			rc = mig__lv_error("libvirt event loop", err, errlen);
			goto out;
		}
		ev_registered = true;
	}
	if (ev_refs == 0) {
		atomic_store(&ev_quit, false);
		rc = -pthread_create(&ev_thread, NULL, ev_main, NULL);
		if (rc) {
			snprintf(err, errlen, "libvirt event thread: cannot start");
			goto out;
		}
	}
	ev_refs++;
out:
	pthread_mutex_unlock(&ev_mu);
	return rc;
}

void mig__evloop_unref(void)
{
	pthread_mutex_lock(&ev_mu);
	if (ev_refs > 0 && --ev_refs == 0) {
		atomic_store(&ev_quit, true);
		/* a timer due now makes virEventRunDefaultImpl return */
		virEventAddTimeout(0, wake_once, NULL, NULL);
		pthread_join(ev_thread, NULL);
	}
	pthread_mutex_unlock(&ev_mu);
}
