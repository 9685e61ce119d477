/* ofgwd — the OpenFlow gateway alone, as a process: rtvd's controller side
 * without Raft or RPC, for system tests and the lab until rtvd embeds
 * ofgw/ (then the tests drive rtvd instead).
 *
 *   ofgwd --listen 127.0.0.1:PORT [--host-id N] [--host-ip A.B.C.D]
 *         [--uplink NAME] [--offhost NAME] [--control tcp:PORT|udp:PORT]...
 *         [--vm NAME,MAC,IP]... [--rtpath ID,SRC,DST,PROTO,DPORT,DSCP]...
 *
 * Prints one line per event on stdout (flushed), e.g.
 *   connected dpid=0000a69efd4f9042
 *   synced full=1 added=20 modified=0 deleted=0 unchanged=0 errors=0 desired=20 ms=0.9
 *   disconnected why=the switch closed the connection
 * and runs until SIGINT/SIGTERM. Exit 2 on a usage error.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"
#include "ofgw/ofgw.h"

#define MAX_VMS 64
#define MAX_PATHS 1024

static struct ofgw *gw;
static uv_signal_t sigint, sigterm;
static struct ofgw_vm_port vms[MAX_VMS];
static size_t n_vms;
static struct cons_rtpath paths[MAX_PATHS];
static size_t n_paths;

static void usage(const char *why)
{
	fprintf(stderr, "ofgwd: %s\nusage: ofgwd --listen IP:PORT [--host-id N] [--host-ip IP] "
		"[--uplink NAME] [--offhost NAME] [--control tcp:PORT|udp:PORT]... "
		"[--vm NAME,MAC,IP]... [--rtpath ID,SRC,DST,PROTO,DPORT,DSCP]...\n", why);
	exit(2);
}

static uint32_t parse_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		usage("bad IPv4 address");
	return ntohl(a.s_addr);
}

static void parse_vm(char *s)
{
	char *name = strtok(s, ","), *mac = strtok(NULL, ","), *ip = strtok(NULL, ",");
	struct ofgw_vm_port *v = &vms[n_vms];
	unsigned m[6];

	if (n_vms == MAX_VMS || name == NULL || mac == NULL || ip == NULL ||
	    strlen(name) >= OFGW_PORT_NAME_MAX ||
	    sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		usage("--vm wants NAME,MAC,IP");
	strcpy(v->name, name);
	for (int i = 0; i < 6; i++)
		v->mac[i] = (uint8_t)m[i];
	v->ips[0] = parse_ip(ip);
	v->n_ips = 1;
	n_vms++;
}

static void parse_rtpath(const char *s, uint64_t host_id)
{
	struct cons_rtpath *p = &paths[n_paths];
	unsigned long long id;
	unsigned proto, dport, dscp;
	char src[32], dst[32];

	if (n_paths == MAX_PATHS ||
	    sscanf(s, "%llu,%31[^,],%31[^,],%u,%u,%u", &id, src, dst, &proto, &dport, &dscp) != 6 ||
	    proto > 255 || dport > 65535 || dscp > 63)
		usage("--rtpath wants ID,SRC,DST,PROTO,DPORT,DSCP");
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->src_host = host_id;
	p->req.src_ip = parse_ip(src);
	p->req.dst_ip = parse_ip(dst);
	p->req.proto = (uint8_t)proto;
	p->req.dport = (uint16_t)dport;
	p->dscp = (uint8_t)dscp;
	n_paths++;
}

static void on_connected(void *arg, uint64_t dpid)
{
	(void)arg;
	printf("connected dpid=%016llx\n", (unsigned long long)dpid);
	fflush(stdout);
}

static void on_disconnected(void *arg, const char *why)
{
	(void)arg;
	printf("disconnected why=%s\n", why);
	fflush(stdout);
}

static void on_synced(void *arg, const struct ofgw_sync *s)
{
	struct ofgw_stats st;

	(void)arg;
	ofgw_get_stats(gw, &st);
	printf("synced full=%d added=%u modified=%u deleted=%u unchanged=%u errors=%u desired=%zu "
	       "ms=%.1f\n", s->full, s->added, s->modified, s->deleted, s->unchanged, s->errors,
	       st.n_desired, s->duration_ns / 1e6);
	fflush(stdout);
}

static void on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	(void)signum;
	if (uv_is_closing((uv_handle_t *)&sigint))
		return;
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
	ofgw_close(gw, NULL);
}

static void parse_control(const char *s, struct ofgw_config *cfg)
{
	unsigned port;

	if (cfg->n_control == OFGW_CONTROL_PORTS_MAX || strlen(s) < 5 ||
	    sscanf(s + 4, "%u", &port) != 1 || port == 0 || port > 65535 ||
	    (strncmp(s, "tcp:", 4) != 0 && strncmp(s, "udp:", 4) != 0))
		usage("--control wants tcp:PORT or udp:PORT");
	cfg->control[cfg->n_control].proto = s[0] == 't' ? 6 : 17;
	cfg->control[cfg->n_control++].port = (uint16_t)port;
}

static void parse_args(int argc, char **argv, struct ofgw_config *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		char *val = i + 1 < argc ? argv[++i] : NULL;

		if (val == NULL)
			usage("an option lacks its value");
		if (strcmp(opt, "--listen") == 0)
			cfg->listen = val;
		else if (strcmp(opt, "--host-id") == 0)
			cfg->host_id = strtoull(val, NULL, 10);
		else if (strcmp(opt, "--host-ip") == 0)
			cfg->host_ip = parse_ip(val);
		else if (strcmp(opt, "--uplink") == 0)
			cfg->uplink_port = val;
		else if (strcmp(opt, "--offhost") == 0)
			cfg->offhost_port = val;
		else if (strcmp(opt, "--control") == 0)
			parse_control(val, cfg);
		else if (strcmp(opt, "--vm") == 0)
			parse_vm(val);
		else if (strcmp(opt, "--rtpath") == 0)
			parse_rtpath(val, cfg->host_id ? cfg->host_id : 1);
		else
			usage("unknown option");
	}
	if (cfg->listen == NULL)
		usage("--listen is required");
	if (cfg->host_id == 0)
		cfg->host_id = 1;
}

int main(int argc, char **argv)
{
	struct ofgw_config cfg = { 0 };
	struct ofgw_hooks hooks = { .connected = on_connected, .disconnected = on_disconnected,
				    .synced = on_synced };
	char err[OFGW_ERRLEN];
	uv_loop_t *loop = uv_default_loop();

	rtv_log_init("ofgwd", getenv("RTV_LOG") ? RTV_LOG_DEBUG : RTV_LOG_INFO);
	parse_args(argc, argv, &cfg);
	if (ofgw_new(loop, &cfg, &hooks, &gw, err) != 0 ||
	    ofgw_set_vm_ports(gw, vms, n_vms, err) != 0) {
		fprintf(stderr, "ofgwd: %s\n", err);
		return 2;
	}
	ofgw_set_rtpaths(gw, paths, n_paths);
	if (ofgw_start(gw, err) != 0) {
		fprintf(stderr, "ofgwd: %s\n", err);
		return 1;
	}
	uv_signal_init(loop, &sigint);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_run(loop, UV_RUN_DEFAULT);
	ofgw_free(gw);
	uv_loop_close(loop);
	return 0;
}
