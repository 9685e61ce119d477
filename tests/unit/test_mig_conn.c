/* test_mig_conn.c — struct mig_conn on a libuv loop against libvirt's test
 * driver (test:///default: a real libvirt connection with one running
 * domain, "test", in this process; lifecycle events, no migration):
 *   - opens, reports the link and the inventory, then "synced";
 *   - a suspend/resume made through another connection arrives as
 *     lifecycle events and the VM's state follows;
 *   - a migration the driver cannot do ends in done() with an error, once,
 *     and the VM stays;
 *   - an unreachable URI reports the link down and keeps retrying;
 *   - an empty URI is refused;
 * and every test ends with the loop closing with nothing left open. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <uv.h>

#include "migrate/migrate.h"

struct seen {
	uv_loop_t loop;
	uv_timer_t guard;
	int ups, downs, synced, events, gone, dones;
	char last_err[MIG_ERRLEN];
	char last_event[32];
	enum mig_vm_state test_state;
	struct mig_result result;
	bool (*until)(struct seen *s);
};

static void check_stop(struct seen *s)
{
	if (s->until && s->until(s))
		uv_stop(&s->loop);
}

static void on_link(struct mig_conn *c, bool up, const char *err, void *arg)
{
	struct seen *s = arg;

	(void)c;
	if (up) {
		s->ups++;
	} else {
		s->downs++;
		snprintf(s->last_err, sizeof(s->last_err), "%s", err ? err : "");
	}
	check_stop(s);
}

static void on_synced(struct mig_conn *c, void *arg)
{
	(void)c;
	((struct seen *)arg)->synced++;
	check_stop(arg);
}

static void on_vm(struct mig_conn *c, const struct mig_vm *vm, void *arg)
{
	struct seen *s = arg;

	(void)c;
	if (strcmp(vm->name, "test") == 0)
		s->test_state = vm->state;
	check_stop(s);
}

static void on_gone(struct mig_conn *c, const char *uuid, void *arg)
{
	(void)c;
	(void)uuid;
	((struct seen *)arg)->gone++;
}

static void on_lifecycle(struct mig_conn *c, const struct mig_lifecycle *ev, void *arg)
{
	struct seen *s = arg;

	(void)c;
	s->events++;
	snprintf(s->last_event, sizeof(s->last_event), "%s", ev->what);
	check_stop(s);
}

static const struct mig_conn_cbs cbs = {
	.link = on_link, .synced = on_synced, .vm = on_vm, .vm_gone = on_gone,
	.lifecycle = on_lifecycle,
};

static void on_guard(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Runs the loop until s->until holds (or 10 s pass); true if it held. */
static bool run_until(struct seen *s, bool (*until)(struct seen *s))
{
	s->until = until;
	uv_timer_start(&s->guard, on_guard, 10000, 0);
	if (!until(s))
		uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&s->guard);
	s->until = NULL;	/* callbacks outside uv_run must not stop the next run */
	return until(s);
}

static void setup(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->test_state = (enum mig_vm_state)-1;
	assert_int_equal(uv_loop_init(&s->loop), 0);
	uv_timer_init(&s->loop, &s->guard);
}

static void teardown(struct seen *s, struct mig_conn *c)
{
	mig_conn_free(c);
	uv_close((uv_handle_t *)&s->guard, NULL);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

static bool is_synced(struct seen *s) { return s->synced > 0; }
static bool is_paused(struct seen *s) { return s->test_state == MIG_VM_PAUSED; }
static bool is_running(struct seen *s) { return s->test_state == MIG_VM_RUNNING; }
static bool is_done(struct seen *s) { return s->dones > 0; }
static bool two_downs(struct seen *s) { return s->downs > 0 && s->events == 0; }

static void test_inventory_and_events(void **state)
{
	struct mig_conn_config cfg = { .uri = "test:///default" };
	struct seen s;
	struct mig_conn *c;
	char err[MIG_ERRLEN];
	const struct mig_vm *vm;
	virConnectPtr own;
	virDomainPtr dom;
	size_t n;

	(void)state;
	setup(&s);
	assert_int_equal(mig_conn_new(&s.loop, &cfg, &cbs, &s, &c, err, sizeof(err)), 0);
	assert_true(run_until(&s, is_synced));
	assert_int_equal(s.ups, 1);
	assert_true(mig_conn_up(c));
	assert_int_equal(mig_conn_opens(c), 1);
	vm = mig_conn_vms(c, &n);
	assert_int_equal(n, 1);
	assert_string_equal(vm[0].name, "test");
	assert_int_equal(vm[0].state, MIG_VM_RUNNING);
	assert_ptr_equal(mig_conn_vm(c, vm[0].uuid), &vm[0]);
	/* the test driver's node: some CPUs and memory; "test" holds its share */
	{
		struct mig_host_res h;

		assert_int_equal(mig_conn_host(c, &h), 0);
		assert_true(h.cpus > 0);
		assert_true(h.mem_total_bytes > 0 && h.mem_free_bytes <= h.mem_total_bytes);
		assert_int_equal(h.vcpus_used, vm[0].vcpus);
		assert_int_equal(h.mem_used_bytes, vm[0].mem_bytes);
	}
	assert_ptr_equal(mig_conn_vm(c, "test"), &vm[0]);
	assert_null(mig_conn_vm(c, "nope"));

	/* the test driver's default state is shared by its connections */
	own = virConnectOpen("test:///default");
	assert_non_null(own);
	dom = virDomainLookupByName(own, "test");
	assert_non_null(dom);
	assert_int_equal(virDomainSuspend(dom), 0);
	assert_true(run_until(&s, is_paused));
	assert_string_equal(s.last_event, "suspended");
	assert_int_equal(virDomainResume(dom), 0);
	assert_true(run_until(&s, is_running));
	assert_string_equal(s.last_event, "resumed");
	virDomainFree(dom);
	virConnectClose(own);
	teardown(&s, c);
}

static void on_done(struct mig_job *j, const struct mig_result *r, void *arg)
{
	struct seen *s = arg;

	(void)j;
	s->dones++;
	s->result = *r;
	check_stop(s);
}

static void test_failed_migration(void **state)
{
	static const struct mig_job_cbs jcbs = { .done = on_done };
	struct mig_conn_config cfg = { .uri = "test:///default" };
	struct mig_policy pol = { .bandwidth_bps = 100000000, .progress_ms = 50 };
	struct seen s;
	struct mig_conn *c;
	struct mig_job *j;
	char err[MIG_ERRLEN];

	(void)state;
	setup(&s);
	assert_int_equal(mig_conn_new(&s.loop, &cfg, &cbs, &s, &c, err, sizeof(err)), 0);
	assert_true(run_until(&s, is_synced));
	assert_int_equal(mig_migrate_start(c, "nope", "test:///other", NULL, &pol, &jcbs, &s, &j,
					   err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no VM 'nope'"));
	assert_int_equal(mig_migrate_start(c, "test", "", NULL, &pol, &jcbs, &s, &j, err,
					   sizeof(err)), -EINVAL);
	assert_int_equal(mig_migrate_start(c, "test", "test:///other", NULL, &pol, &jcbs, &s, &j,
					   err, sizeof(err)), 0);
	assert_true(run_until(&s, is_done));
	assert_int_equal(s.dones, 1);
	assert_true(s.result.rc < 0);
	assert_true(strlen(s.result.err) > 0);
	assert_false(s.result.stats_ok);
	/* the VM is re-read after the job: still running here */
	assert_true(run_until(&s, is_running));
	teardown(&s, c);
	assert_int_equal(s.dones, 1);
}

static void test_unreachable_retries(void **state)
{
	struct mig_conn_config cfg = {
		.uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
		.backoff_min_ms = 20, .backoff_max_ms = 40,
	};
	struct seen s;
	struct mig_conn *c;
	char err[MIG_ERRLEN];

	(void)state;
	setup(&s);
	assert_int_equal(mig_conn_new(&s.loop, &cfg, &cbs, &s, &c, err, sizeof(err)), 0);
	assert_true(run_until(&s, two_downs));
	assert_false(mig_conn_up(c));
	assert_int_equal(mig_conn_opens(c), 0);
	assert_non_null(strstr(s.last_err, "/nonexistent/libvirt-sock"));
	/* a second failure is not reported again, but retried */
	uv_timer_start(&s.guard, on_guard, 200, 0);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	assert_int_equal(s.downs, 1);
	teardown(&s, c);
}

static void test_empty_uri(void **state)
{
	struct mig_conn_config cfg = { .uri = "" };
	struct mig_conn *c = NULL;
	char err[MIG_ERRLEN] = "";
	uv_loop_t loop;

	(void)state;
	uv_loop_init(&loop);
	assert_int_equal(mig_conn_new(&loop, &cfg, &cbs, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "off"));
	mig_conn_free(NULL);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory_and_events),
		cmocka_unit_test(test_failed_migration),
		cmocka_unit_test(test_unreachable_retries),
		cmocka_unit_test(test_empty_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
