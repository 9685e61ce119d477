/* migprobe_main.c — migrate/ against a real libvirtd, for the lab's tests.
 *
 *   migprobe watch   --uri URI [--duration D]
 *   migprobe migrate --uri URI --vm NAME|UUID --to DEST_URI [--stats-uri URI]
 *                    [--bandwidth RATE] [--max-downtime D] [--timeout D]
 *
 * watch: opens a struct mig_conn on a libuv loop and prints one JSON object
 * per line for everything the connection reports, as it happens:
 *   {"ev":"link","up":true|false,"err":...,"opens":N}
 *   {"ev":"synced","vms":N,"cpus":N,"mem_total":B,"mem_free":B,"vcpus_used":N,
 *    "mem_used":B}    (the host's resources, mig_conn_host)
 *   {"ev":"lifecycle","uuid":...,"name":...,"what":"started","event":E,"detail":D}
 *   {"ev":"vm","uuid":...,"name":...,"state":"running","vcpus":N,"mem_bytes":N,
 *    "ifaces":[{"mac":...,"bridge":...,"port":...,"iface_id":...,"ovs":true}]}
 *   {"ev":"gone","uuid":...}
 * until --duration (default 10s) or SIGINT/SIGTERM.
 *
 * migrate: waits for the connection and its inventory, runs one live
 * migration through mig_migrate_start and prints {"ev":"progress",...}
 * lines, then {"ev":"done","rc":0,"err":...,"wall_ms":N,"stats_ok":true,
 * "downtime_ms":N,"elapsed_ms":N,"data_bytes":N,"stats_from":...}.
 *
 * Exit status: 0 (migrate: the migration succeeded), 1 on failure, 2 on
 * bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/units.h"
#include "migrate/migrate.h"

struct probe {
	uv_loop_t loop;
	uv_timer_t deadline;
	uv_signal_t sigint, sigterm;
	struct mig_conn *conn;
	bool migrate, started;
	const char *vm, *to, *stats_uri;
	struct mig_policy pol;
	int rc;
};

static void emit(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

static json_t *vm_json(const struct mig_vm *vm)
{
	json_t *ifs = json_array();

	for (uint32_t i = 0; i < vm->n_ifaces; i++) {
		const struct mig_iface *f = &vm->ifaces[i];

		json_array_append_new(ifs, json_pack("{s:s,s:s,s:s,s:s,s:b}", "mac", f->mac,
						     "bridge", f->bridge, "port", f->port,
						     "iface_id", f->iface_id, "ovs", f->ovs));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:o}", "ev", "vm", "uuid", vm->uuid,
			 "name", vm->name, "state", mig_vm_state_name(vm->state), "vcpus",
			 (int)vm->vcpus, "mem_bytes", (json_int_t)vm->mem_bytes, "ifaces", ifs);
}

static void stop(struct probe *p)
{
	uv_stop(&p->loop);
}

static void on_progress(struct mig_job *j, const struct mig_progress *pr, void *arg)
{
	(void)j;
	(void)arg;
	emit(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "ev", "progress",
		       "elapsed_ms", (json_int_t)pr->elapsed_ms,
		       "data_total", (json_int_t)pr->data_total_bytes,
		       "data_processed", (json_int_t)pr->data_processed_bytes,
		       "data_remaining", (json_int_t)pr->data_remaining_bytes,
		       "iteration", (json_int_t)pr->iteration));
}

static void on_done(struct mig_job *j, const struct mig_result *r, void *arg)
{
	struct probe *p = arg;

	(void)j;
	emit(json_pack("{s:s,s:i,s:s,s:I,s:b,s:I,s:I,s:I,s:s?}", "ev", "done", "rc", r->rc,
		       "err", r->err, "wall_ms", (json_int_t)r->wall_ms, "stats_ok", r->stats_ok,
		       "downtime_ms", (json_int_t)r->downtime_ms,
		       "elapsed_ms", (json_int_t)r->elapsed_ms,
		       "data_bytes", (json_int_t)r->data_bytes, "stats_from", r->stats_from));
	p->rc = r->rc == 0 ? 0 : 1;
	stop(p);
}

static void on_link(struct mig_conn *c, bool up, const char *err, void *arg)
{
	(void)arg;
	emit(json_pack("{s:s,s:b,s:s?,s:I}", "ev", "link", "up", up, "err", err,
		       "opens", (json_int_t)mig_conn_opens(c)));
}

static void on_synced(struct mig_conn *c, void *arg)
{
	struct probe *p = arg;
	static const struct mig_job_cbs jcbs = { .progress = on_progress, .done = on_done };
	char err[MIG_ERRLEN];
	struct mig_job *j;
	size_t n;

	struct mig_host_res h = { 0 };

	mig_conn_vms(c, &n);
	mig_conn_host(c, &h);
	emit(json_pack("{s:s,s:i,s:i,s:I,s:I,s:i,s:I}", "ev", "synced", "vms", (int)n,
		       "cpus", (int)h.cpus, "mem_total", (json_int_t)h.mem_total_bytes,
		       "mem_free", (json_int_t)h.mem_free_bytes, "vcpus_used", (int)h.vcpus_used,
		       "mem_used", (json_int_t)h.mem_used_bytes));
	if (!p->migrate || p->started)
		return;
	p->started = true;
	if (mig_migrate_start(c, p->vm, p->to, p->stats_uri, &p->pol, &jcbs, p, &j, err,
			      sizeof(err)) < 0) {
		emit(json_pack("{s:s,s:i,s:s}", "ev", "done", "rc", -1, "err", err));
		p->rc = 1;
		stop(p);
	}
}

static void on_vm(struct mig_conn *c, const struct mig_vm *vm, void *arg)
{
	(void)c;
	(void)arg;
	emit(vm_json(vm));
}

static void on_gone(struct mig_conn *c, const char *uuid, void *arg)
{
	(void)c;
	(void)arg;
	emit(json_pack("{s:s,s:s}", "ev", "gone", "uuid", uuid));
}

static void on_lifecycle(struct mig_conn *c, const struct mig_lifecycle *ev, void *arg)
{
	(void)c;
	(void)arg;
	emit(json_pack("{s:s,s:s,s:s,s:s,s:i,s:i}", "ev", "lifecycle", "uuid", ev->uuid,
		       "name", ev->name, "what", ev->what, "event", ev->event,
		       "detail", ev->detail));
}

static void on_deadline(uv_timer_t *t)
{
	struct probe *p = t->data;

	if (p->migrate) {
		emit(json_pack("{s:s,s:i,s:s}", "ev", "done", "rc", -1, "err",
			       "migprobe: --duration passed before the migration ended"));
		p->rc = 1;
	}
	stop(p);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	stop(s->data);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: migprobe watch --uri URI [--duration D]\n"
		"       migprobe migrate --uri URI --vm NAME|UUID --to DEST_URI [--stats-uri URI]\n"
		"                [--bandwidth RATE] [--max-downtime D] [--timeout D] [--duration D]\n");
	return 2;
}

static int parse(int argc, char **argv, struct probe *p, const char **uri, uint64_t *dur_ns)
{
	static const struct option opts[] = {
		{ "uri", 1, 0, 'u' }, { "duration", 1, 0, 'd' }, { "vm", 1, 0, 'v' },
		{ "to", 1, 0, 't' }, { "stats-uri", 1, 0, 's' }, { "bandwidth", 1, 0, 'b' },
		{ "max-downtime", 1, 0, 'm' }, { "timeout", 1, 0, 'T' }, { 0, 0, 0, 0 },
	};
	char err[128];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int rc = 0;

		switch (o) {
		case 'u': *uri = optarg; break;
		case 'v': p->vm = optarg; break;
		case 't': p->to = optarg; break;
		case 's': p->stats_uri = optarg; break;
		case 'd': rc = rtv_parse_duration_ns(optarg, dur_ns, err, sizeof(err)); break;
		case 'b': rc = rtv_parse_rate_bps(optarg, &p->pol.bandwidth_bps, err, sizeof(err)); break;
		case 'm': rc = rtv_parse_duration_ns(optarg, &p->pol.max_downtime_ns, err, sizeof(err)); break;
		case 'T': rc = rtv_parse_duration_ns(optarg, &p->pol.timeout_ns, err, sizeof(err)); break;
		default: return usage();
		}
		if (rc) {
			fprintf(stderr, "migprobe: %s\n", err);
			return 2;
		}
	}
	if (!*uri || (p->migrate && (!p->vm || !p->to)) || optind != argc)
		return usage();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct mig_conn_cbs cbs = {
		.link = on_link, .synced = on_synced, .vm = on_vm, .vm_gone = on_gone,
		.lifecycle = on_lifecycle,
	};
	struct probe p = { .rc = 0 };
	const char *uri = NULL;
	uint64_t dur_ns = 10000000000ull;
	char err[MIG_ERRLEN];
	struct mig_conn_config cfg = { 0 };
	int rc;

	if (argc < 2 || (strcmp(argv[1], "watch") && strcmp(argv[1], "migrate")))
		return usage();
	p.migrate = strcmp(argv[1], "migrate") == 0;
	if (p.migrate)
		dur_ns = 300000000000ull;
	rc = parse(argc - 1, argv + 1, &p, &uri, &dur_ns);
	if (rc)
		return rc;
	uv_loop_init(&p.loop);
	cfg.uri = uri;
	rc = mig_conn_new(&p.loop, &cfg, &cbs, &p, &p.conn, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "migprobe: %s\n", err);
		return 1;
	}
	uv_timer_init(&p.loop, &p.deadline);
	p.deadline.data = &p;
	uv_timer_start(&p.deadline, on_deadline, dur_ns / 1000000, 0);
	uv_signal_init(&p.loop, &p.sigint);
	uv_signal_init(&p.loop, &p.sigterm);
	p.sigint.data = p.sigterm.data = &p;
	uv_signal_start(&p.sigint, on_signal, SIGINT);
	uv_signal_start(&p.sigterm, on_signal, SIGTERM);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	mig_conn_free(p.conn);
	uv_close((uv_handle_t *)&p.deadline, NULL);
	uv_close((uv_handle_t *)&p.sigint, NULL);
	uv_close((uv_handle_t *)&p.sigterm, NULL);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&p.loop);
	if (rc)
		fprintf(stderr, "migprobe: the loop still has handles open (%s)\n", uv_strerror(rc));
	return rc ? 1 : p.rc;
}
