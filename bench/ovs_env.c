/* ovs_env.c — see ovs_env.h. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/ovs_env.h"

#define SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"

static bool on_path(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

bool ovs_env_available(void)
{
	return on_path("ovs-vswitchd") && on_path("ovsdb-server") && on_path("ovs-vsctl") &&
	       on_path("ovs-ofctl") && access(SCHEMA, R_OK) == 0;
}

static int vrun(struct ovs_env *e, char *out, size_t len, const char *fmt, va_list ap)
{
	char body[4096], cmd[4400];
	FILE *f;
	size_t n = 0;
	int st;

	vsnprintf(body, sizeof(body), fmt, ap);
	snprintf(cmd, sizeof(cmd), "DB=unix:%s/db.sock; OVS_RUNDIR=%s; OVS_DBDIR=%s; "
		 "export OVS_RUNDIR OVS_DBDIR; %s", e->dir, e->dir, e->dir, body);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL && len > 0) {
		n = fread(out, 1, len - 1, f);
		out[n] = '\0';
	}
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int ovs_env_run(struct ovs_env *e, char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vrun(e, out, len, fmt, ap);
	va_end(ap);
	return rc;
}

static int must(struct ovs_env *e, const char *what, const char *cmd)
{
	int rc = ovs_env_run(e, NULL, 0, "%s", cmd);

	if (rc != 0)
		fprintf(stderr, "ovs_env: %s failed (exit %d); logs in %s\n", what, rc, e->dir);
	return rc == 0 ? 0 : -1;
}

int ovs_env_start_vswitchd(struct ovs_env *e)
{
	if (must(e, "ovs-vswitchd",
		 "ovs-vswitchd $DB --pidfile=$OVS_RUNDIR/vsd.pid --unixctl=$OVS_RUNDIR/vsd.ctl "
		 "--log-file=$OVS_RUNDIR/vsd.log -vconsole:off --detach 2>>$OVS_RUNDIR/start.log") != 0)
		return -1;
	e->vsd_up = true;
	return 0;
}

int ovs_env_start(struct ovs_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/rtv-ovs.XXXXXX");
	if (mkdtemp(e->dir) == NULL) {
		perror("ovs_env: mkdtemp");
		return -1;
	}
	if (must(e, "ovsdb-tool create", "ovsdb-tool create $OVS_RUNDIR/conf.db " SCHEMA) != 0 ||
	    must(e, "ovsdb-server",
		 "ovsdb-server $OVS_RUNDIR/conf.db --remote=punix:$OVS_RUNDIR/db.sock "
		 "--pidfile=$OVS_RUNDIR/ovsdb.pid --unixctl=$OVS_RUNDIR/ovsdb.ctl "
		 "--log-file=$OVS_RUNDIR/ovsdb.log -vconsole:off --detach "
		 "2>>$OVS_RUNDIR/start.log") != 0)
		return -1;
	e->db_up = true;
	if (must(e, "ovs-vsctl init", "ovs-vsctl --db=$DB --no-wait init") != 0)
		return -1;
	return ovs_env_start_vswitchd(e);
}

int ovs_env_add_bridge(struct ovs_env *e, const char *br, int port)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "ovs-vsctl --db=$DB --timeout=20 add-br %s -- set bridge %s datapath_type=netdev "
		 "protocols=OpenFlow13 fail-mode=secure other-config:disable-in-band=true", br, br);
	if (must(e, "add-br", cmd) != 0)
		return -1;
	if (port == 0)
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "ovs-vsctl --db=$DB --timeout=20 -- --id=@c create controller "
		 "target=\\\"tcp:127.0.0.1:%d\\\" max_backoff=1000 -- set bridge %s controller=@c",
		 port, br);
	return must(e, "set-controller", cmd);
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* SIGTERM, wait up to 5 s, then SIGKILL. */
static void kill_pidfile(struct ovs_env *e, const char *name)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	if ((pid = read_pid(path)) <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
		nanosleep(&ts, NULL);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
		nanosleep(&ts, NULL);
	unlink(path);
}

int ovs_env_stop_vswitchd(struct ovs_env *e)
{
	if (!e->vsd_up)
		return 0;
	kill_pidfile(e, "vsd.pid");
	e->vsd_up = false;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ovs_env_stop(struct ovs_env *e)
{
	if (e->dir[0] == '\0')
		return;
	ovs_env_stop_vswitchd(e);
	if (e->db_up)
		kill_pidfile(e, "ovsdb.pid");
	e->db_up = false;
	if (getenv("RTV_KEEP_OVS") == NULL)
		nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	e->dir[0] = '\0';
}

/* A new target string makes ovs-vswitchd open a new connection at once;
 * "PORT" and "0PORT" name the same port, so alternate between them. */
int ovs_env_reconnect(struct ovs_env *e, const char *br)
{
	return ovs_env_run(e, NULL, 0,
			   "t=$(ovs-vsctl --db=$DB get controller %s target | tr -d '\"'); "
			   "case $t in *:0*) n=$(echo $t | sed 's/:0\\([0-9]*\\)$/:\\1/');; "
			   "*) n=$(echo $t | sed 's/:\\([0-9]*\\)$/:0\\1/');; esac; "
			   "ovs-vsctl --db=$DB --no-wait set controller %s target=\"\\\"$n\\\"\"",
			   br, br) == 0 ? 0 : -1;
}

int ovs_env_count_flows(struct ovs_env *e, const char *br)
{
	char cmd[256];
	char out[32];

	snprintf(cmd, sizeof(cmd), "ovs-ofctl -O OpenFlow13 dump-flows %s | grep -c 'cookie='", br);
	if (ovs_env_run(e, out, sizeof(out), "%s", cmd) > 1)
		return -1;
	return atoi(out);
}
