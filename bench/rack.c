/* rack.c — a local rack of rtvd processes for benchmarks (see rack.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc/proto.h"
#include "bench/rack.h"
#include "bench/report.h"

#define MS 1000000ull

static struct rack *the_rack;	/* for the atexit handler */

void rack_die(struct rack *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", r->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	for (int i = 1; i <= RACK_NODES && r->dir[0]; i++)
		fprintf(stderr, "  node %d log: %s (kept)\n", i, r->n[i].log);
	r->keep = true;
	exit(1);
}

void rack_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int rack_metrics_port(const struct rack *r, int i)
{
	return r->base + 80 + i;
}

/* ------------------------------------------------------------------------- */
/* Temp dir, ports, configs, processes                                        */

static bool port_free(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool ports_free(const struct rack *r, int base)
{
	for (int i = 1; i <= RACK_NODES; i++)
		if (!port_free(base + i) || !port_free(base + 50 + i) ||
		    (r->metrics && !port_free(base + 80 + i)))
			return false;
	return true;
}

static int pick_ports(struct rack *r)
{
	int base = 20000 + (int)((getpid() * 131) % 9800);

	for (int tries = 0; tries < 50; tries++, base = 20000 + (base - 20000 + 117) % 9800)
		if (ports_free(r, base))
			return base;
	rack_die(r, "no free ports in 20000-29999");
}

static void write_conf(struct rack *r, int i)
{
	struct rack_node *n = &r->n[i];
	FILE *f;

	snprintf(n->conf, sizeof(n->conf), "%s/n%d/rtvd.conf", r->dir, i);
	snprintf(n->log, sizeof(n->log), "%s/n%d/rtvd.log", r->dir, i);
	snprintf(n->sock_url, sizeof(n->sock_url), "ipc://%s/n%d/rtvd.sock", r->dir, i);
	snprintf(n->rpc_url, sizeof(n->rpc_url), "tls+tcp://127.0.0.1:%d", r->base + 50 + i);
	if (!(f = fopen(n->conf, "w")))
		rack_die(r, "%s: %s", n->conf, strerror(errno));
	fprintf(f, "[node]\nid = %d\nname = h%d\ndata_dir = %s/n%d/data\n"
		"raft_addr = 127.0.0.1:%d\nrpc_addr = %s\n"
		"cli_socket = %s/n%d/rtvd.sock\n[cluster]\n",
		i, i, r->dir, i, r->base + i, n->rpc_url, r->dir, i);
	for (int j = 1; j <= RACK_NODES; j++)
		fprintf(f, "peer = %d@127.0.0.1:%d@tls+tcp://127.0.0.1:%d\n", j, r->base + j,
			r->base + 50 + j);
	fprintf(f, "[uplink]\ncapacity = 10G\nrt_budget = 50%%\n[raft]\nelection_timeout = 250ms\n"
		"[log]\nlevel = warn\n");
	if (r->metrics)
		fprintf(f, "[metrics]\nlisten = 127.0.0.1:%d\n", rack_metrics_port(r, i));
	fprintf(f, "[tls]\nca = %s/ca.crt\ncert = %s/host-%d.crt\nkey = %s/host-%d.key\n"
		"rack_keys = %s/rack.keys\n", r->pki, r->pki, i, r->pki, i, r->pki);
	fclose(f);
}

void rack_spawn(struct rack *r, int i)
{
	struct rack_node *n = &r->n[i];
	pid_t pid = fork();

	if (pid < 0)
		rack_die(r, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the bench */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(r->rtvd, "rtvd", "-c", n->conf, (char *)NULL);
		_exit(127);
	}
	n->pid = pid;
}

void rack_kill(struct rack *r, int i)
{
	if (r->n[i].pid > 0) {
		kill(r->n[i].pid, SIGKILL);
		waitpid(r->n[i].pid, NULL, 0);
		r->n[i].pid = 0;
	}
}

void rack_stop(struct rack *r)
{
	for (int i = 1; i <= RACK_NODES; i++) {
		rack_kill(r, i);
		agent_client_free(r->n[i].ctl);
		r->n[i].ctl = NULL;
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	struct rack *r = the_rack;

	rack_stop(r);
	if (r->keep || (r->keep_env && getenv(r->keep_env)))
		fprintf(stderr, "%s: keeping %s for a post-mortem\n", r->name, r->dir);
	else if (r->dir[0])
		nftw(r->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(130);	/* cleanup() runs through atexit */
}

/* rtvd and the build dir next to this program (build/bench/..). */
static void find_rtvd(struct rack *r)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("RTVD");

	self[len > 0 ? len : 0] = '\0';
	if (snprintf(r->build, sizeof(r->build), "%s/..", dirname(self)) >= (int)sizeof(r->build))
		rack_die(r, "path too long: %s", self);
	if (env && *env)
		snprintf(r->rtvd, sizeof(r->rtvd), "%s", env);
	else if (snprintf(r->rtvd, sizeof(r->rtvd), "%s/bin/rtvd", r->build) >=
		 (int)sizeof(r->rtvd))
		rack_die(r, "path too long: %s", r->build);
	if (access(r->rtvd, X_OK) != 0)
		rack_die(r, "%s is not built (make build), or set RTVD", r->rtvd);
}

static void make_dirs(struct rack *r)
{
	char d[PATH_MAX + 16];

	snprintf(r->dir, sizeof(r->dir), "/tmp/rtv-%s.XXXXXX", r->name);
	for (char *p = r->dir; *p; p++)
		if (*p == '_')
			*p = '-';
	if (!mkdtemp(r->dir))
		rack_die(r, "mkdtemp: %s", strerror(errno));
	for (int i = 1; i <= RACK_NODES; i++) {
		snprintf(d, sizeof(d), "%s/n%d", r->dir, i);
		mkdir(d, 0755);
		snprintf(d, sizeof(d), "%s/n%d/data", r->dir, i);
		mkdir(d, 0755);
	}
}

int bench_pki(const char *build, const char *dir)
{
	const char *src = getenv("RTV_SRC");
	char root[PATH_MAX], cmd[3 * PATH_MAX + 128];

	snprintf(root, sizeof(root), "%s%s", src && *src ? src : build, src && *src ? "" : "/..");
	if (snprintf(cmd, sizeof(cmd), "RTV_BUILD='%s' bash -c '. \"$1/tests/lib/pki.sh\" && "
		     "pki_rack \"$2\"' - '%s' '%s'", build, root, dir) >= (int)sizeof(cmd) ||
	    system(cmd) != 0) {
		fprintf(stderr, "tests/lib/pki.sh could not make the rack CA in %s\n", dir);
		return -1;
	}
	return 0;
}

void rack_up(struct rack *r)
{
	char err[AGENT_CLIENT_ERRLEN];

	find_rtvd(r);
	the_rack = r;
	make_dirs(r);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r->base = pick_ports(r);
	snprintf(r->pki, sizeof(r->pki), "%s/pki", r->dir);
	if (bench_pki(r->build, r->pki) != 0)
		rack_die(r, "no certificates");
	r->tls = (struct agent_client_tls){ NULL, NULL, NULL };
	{
		static char ca[PATH_MAX + 16], crt[PATH_MAX + 16], key[PATH_MAX + 16];

		snprintf(ca, sizeof(ca), "%s/ca.crt", r->pki);
		snprintf(crt, sizeof(crt), "%s/admin-test.crt", r->pki);
		snprintf(key, sizeof(key), "%s/admin-test.key", r->pki);
		r->tls = (struct agent_client_tls){ ca, crt, key };
	}
	for (int i = 1; i <= RACK_NODES; i++) {
		write_conf(r, i);
		rack_spawn(r, i);
	}
	for (int i = 1; i <= RACK_NODES; i++)
		if (agent_client_new(r->n[i].sock_url, 500 * MS, false, &r->n[i].ctl, err,
				     sizeof(err)) != 0)
			rack_die(r, "client for node %d: %s", i, err);
}

/* ------------------------------------------------------------------------- */
/* Asking the agents                                                          */

int rack_status(struct rack *r, int i, struct rack_status *st)
{
	struct agent_client_req req;
	struct agent_client_reply rep;
	int rc;

	memset(st, 0, sizeof(*st));
	if (r->n[i].pid <= 0 || agent_client_req_begin(&req, PROTO_OP_STATUS, 0, false))
		return -ESRCH;
	rc = agent_client_call(r->n[i].ctl, &req, 300 * MS, &rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	rc = rep.status;
	(void)agent_client_map_str(rep.map, "role", st->role, sizeof(st->role));
	(void)agent_client_map_uint(rep.map, "leader", &st->leader);
	(void)agent_client_map_uint(rep.map, "applied", &st->applied);
	(void)agent_client_map_uint(rep.map, "commit", &st->commit);
	agent_client_reply_close(&rep);
	return rc;
}

static int stable_leader(struct rack *r, int except)
{
	struct rack_status st;
	uint64_t cand = 0;

	for (int i = 1; i <= RACK_NODES; i++) {
		if (r->n[i].pid <= 0)
			continue;
		if (rack_status(r, i, &st) != 0 || st.leader == 0 || (int)st.leader == except ||
		    (cand && st.leader != cand))
			return 0;
		cand = st.leader;
	}
	if (!cand || rack_status(r, (int)cand, &st) != 0 || strcmp(st.role, "leader") != 0)
		return 0;
	return (int)cand;
}

int rack_try_leader(struct rack *r, unsigned timeout_ms, int except)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	int l;

	while (bench_now_ns() < end) {
		if ((l = stable_leader(r, except)) > 0)
			return l;
		rack_sleep_ms(10);
	}
	return 0;
}

int rack_wait_leader(struct rack *r, unsigned timeout_ms, int except)
{
	int l = rack_try_leader(r, timeout_ms, except);

	if (!l)
		rack_die(r, "no leader within %u ms", timeout_ms);
	return l;
}

bool rack_caught_up(struct rack *r, int leader, unsigned timeout_ms)
{
	uint64_t end = bench_now_ns() + timeout_ms * MS;
	struct rack_status ls, st;
	int lagging = 0;

	while (bench_now_ns() < end) {
		lagging = 0;
		if (rack_status(r, leader, &ls) != 0)
			lagging = leader;
		for (int i = 1; !lagging && i <= RACK_NODES; i++)
			if (r->n[i].pid > 0 &&
			    (rack_status(r, i, &st) != 0 || st.applied < ls.commit))
				lagging = i;
		if (!lagging)
			return true;
		rack_sleep_ms(20);
	}
	rack_status(r, lagging, &st);
	fprintf(stderr, "%s: WARNING: node %d has not caught up within %u ms "
		"(applied %llu, leader %d committed %llu); see its log in %s\n", r->name, lagging,
		timeout_ms, (unsigned long long)st.applied, leader, (unsigned long long)ls.commit,
		r->dir);
	r->keep = true;
	return false;
}

int rack_read_list(struct rack *r, int i, const char *op, const char *key, bool lin,
		   struct agent_client_reply *rep, const msgpack_object **arr)
{
	struct agent_client_req req;
	int rc;

	if (agent_client_req_begin(&req, op, 0, lin))
		return -ENOMEM;
	rc = agent_client_call_retry(r->n[i].ctl, &req, 5000 * MS, rep);
	agent_client_req_close(&req);
	if (rc != 0)
		return rc;
	*arr = agent_client_reply_get(rep, key);
	if (rep->status != 0 || !*arr || (*arr)->type != MSGPACK_OBJECT_ARRAY) {
		rc = rep->status ? rep->status : -EPROTO;
		agent_client_reply_close(rep);
		return rc;
	}
	return (int)(*arr)->via.array.size;
}

int rack_count_list(struct rack *r, int i, const char *op, const char *key, bool lin)
{
	struct agent_client_reply rep;
	const msgpack_object *arr;
	int n = rack_read_list(r, i, op, key, lin, &rep, &arr);

	if (n >= 0)
		agent_client_reply_close(&rep);
	return n;
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                   */

static uint32_t vm_ip(int host, int k)
{
	return (10u << 24) | ((uint32_t)host << 8) | (uint32_t)(k + 1);	/* 10.0.H.K+1 */
}

void rack_register_vms(struct rack *r, int l)
{
	struct agent_client_submit_result res;
	struct cons_cmd cmd;
	uint64_t end = bench_now_ns() + 10000 * MS;

	while (rack_count_list(r, l, PROTO_OP_HOSTS, "hosts", true) < RACK_NODES) {
		if (bench_now_ns() > end)
			rack_die(r, "the hosts did not register themselves within 10 s");
		rack_sleep_ms(20);
	}
	for (int h = 1; h <= RACK_NODES; h++)
		for (int k = 0; k < RACK_VMS_PER_HOST; k++) {
			memset(&cmd, 0, sizeof(cmd));
			cmd.op = CONS_OP_VM_SET;
			snprintf(cmd.u.vm.uuid, sizeof(cmd.u.vm.uuid), "bench-vm-%d-%d", h, k);
			snprintf(cmd.u.vm.name, sizeof(cmd.u.vm.name), "vm%d.%d", h, k);
			cmd.u.vm.host_id = (uint64_t)h;
			cmd.u.vm.ips[0] = vm_ip(h, k);
			cmd.u.vm.n_ips = 1;
			if (agent_client_submit(r->n[l].ctl, &cmd, 5000 * MS, &res) != 0)
				rack_die(r, "vm add: %s", res.err);
		}
}

void rack_reserve_cmd(uint64_t k, bool mixed, struct cons_cmd *cmd)
{
	const int per = RACK_VMS_PER_HOST;
	int src = (int)(k % RACK_VMS);
	int dst = (src + per + (int)(k / RACK_VMS) % per) % RACK_VMS;
	struct cons_path_req *p = &cmd->u.path;

	if (dst / per == src / per)
		dst = (dst + per) % RACK_VMS;
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = CONS_OP_PATH_RESERVE;
	p->src_ip = vm_ip(src / per + 1, src % per);
	p->dst_ip = vm_ip(dst / per + 1, dst % per);
	p->proto = 17;
	p->dport = (uint16_t)(1 + (k / RACK_VMS) % 65000);
	p->type = mixed && k % 5 == 0 ? CONS_PATH_RESERVATION : CONS_PATH_DEADLINE;
	p->rate_bps = 100000;
	p->deadline_ns = 20 * MS;
	p->max_pkt_bytes = 200;
	snprintf(p->owner, sizeof(p->owner), "bench");
}
