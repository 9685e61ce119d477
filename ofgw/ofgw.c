/* ofgw.c — the gateway object: configuration, the inputs (VM ports,
 * rtpaths) and the desired flows they imply, port changes, and the calls
 * an owner makes (packet-out, port counters, reads).
 *
 * rtpath flows are keyed like any flow, so two rtpaths with the same
 * 5-tuple would want the same flow entry: the lower id (admitted first)
 * owns it, and when it goes the next one takes over. Changing one rtpath
 * recomputes its own flow (and those of rtpaths sharing its tuple) only;
 * port changes recompute everything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/internal.h"

#define ECHO_INTERVAL_DEFAULT_MS 5000
#define ECHO_MISSED_DEFAULT 3

/* ------------------------------------------------------------------------- */
/* Desired flows                                                             */

static void pipeline_in(const struct ofgw *o, struct pipeline_in *in)
{
	*in = (struct pipeline_in){
		.host_id = o->cfg.host_id, .host_ip = o->cfg.host_ip,
		.offhost_port = o->offhost, .uplink_port = o->uplink,
		.control = o->cfg.control, .n_control = o->cfg.n_control,
		.ports = o->ports, .n_ports = o->n_ports,
		.vms = o->vms, .n_vms = o->n_vms,
	};
}

static bool same_tuple(const struct cons_rtpath *a, const struct cons_rtpath *b)
{
	return a->req.src_ip == b->req.src_ip && a->req.dst_ip == b->req.dst_ip &&
	       a->req.proto == b->req.proto && a->req.dport == b->req.dport;
}

/* Puts p's flow into desired unless an rtpath with a lower id owns that
 * entry; an owner with a higher id is displaced. */
static int install_rtpath(struct ofgw *o, const struct pipeline_in *in,
			  const struct cons_rtpath *p)
{
	const struct ofgw_flow *old;
	struct ofgw_flow f;

	if (pipeline_rtpath(in, p, &f) == 0)
		return 0;
	old = flowtab_find(&o->desired, &f);
	if (old != NULL && old->cookie != f.cookie) {
		if (ofgw_cookie_kind(old->cookie) == OFGW_COOKIE_RTPATH &&
		    ofgw_cookie_id(old->cookie) < p->id)
			return 0;
		ofgw__mark_dirty(o, old->cookie);
	}
	ofgw__mark_dirty(o, f.cookie);
	return flowtab_put(&o->desired, &f);
}

void ofgw__rebuild(struct ofgw *o)
{
	struct pipeline_in in;
	int rc;

	pipeline_in(o, &in);
	rc = pipeline_base(&in, &o->desired);
	for (size_t i = 0; i < o->n_paths && rc == 0; i++)
		rc = install_rtpath(o, &in, &o->paths[i]);
	if (rc != 0)
		rtv_error(OFGW_MOD, "out of memory computing flows: the switch may lack some");
	o->dirty_all = true;
}

/* p's flows go; rtpaths that shared its tuple may take the entry over. */
static void uninstall_rtpath(struct ofgw *o, const struct cons_rtpath *p)
{
	uint64_t cookie = ofgw_cookie(OFGW_COOKIE_RTPATH, p->id);
	struct pipeline_in in;

	if (flowtab_del_cookie(&o->desired, cookie, OFP_TABLE_ALL) == 0)
		return;
	ofgw__mark_dirty(o, cookie);
	pipeline_in(o, &in);
	for (size_t i = 0; i < o->n_paths; i++)
		if (o->paths[i].id != p->id && same_tuple(&o->paths[i], p))
			install_rtpath(o, &in, &o->paths[i]);
}

/* ------------------------------------------------------------------------- */
/* Inputs                                                                    */

static size_t path_index(const struct ofgw *o, uint64_t id, bool *found)
{
	size_t lo = 0, hi = o->n_paths;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->paths[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < o->n_paths && o->paths[lo].id == id;
	return lo;
}

int ofgw_rtpath_upsert(struct ofgw *o, const struct cons_rtpath *p)
{
	struct pipeline_in in;
	bool found;
	size_t i = path_index(o, p->id, &found);
	int rc;

	if (!found) {
		if (o->n_paths == o->cap_paths) {
			size_t cap = o->cap_paths ? o->cap_paths * 2 : 64;
			struct cons_rtpath *v = realloc(o->paths, cap * sizeof(*v));

			if (v == NULL)
				return -ENOMEM;
			o->paths = v;
			o->cap_paths = cap;
		}
		memmove(&o->paths[i + 1], &o->paths[i], (o->n_paths - i) * sizeof(*o->paths));
		o->n_paths++;
	} else {
		uninstall_rtpath(o, &o->paths[i]);
	}
	o->paths[i] = *p;
	pipeline_in(o, &in);
	rc = install_rtpath(o, &in, &o->paths[i]);
	ofgw__schedule(o);
	return rc;
}

int ofgw_rtpath_remove(struct ofgw *o, uint64_t id)
{
	struct cons_rtpath old;
	bool found;
	size_t i = path_index(o, id, &found);

	if (!found)
		return -ENOENT;
	old = o->paths[i];
	memmove(&o->paths[i], &o->paths[i + 1], (o->n_paths - i - 1) * sizeof(*o->paths));
	o->n_paths--;
	uninstall_rtpath(o, &old);
	ofgw__schedule(o);
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	const struct cons_rtpath *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int ofgw_set_rtpaths(struct ofgw *o, const struct cons_rtpath *paths, size_t n)
{
	struct cons_rtpath *v = NULL;

	if (n > 0) {
		if ((v = malloc(n * sizeof(*v))) == NULL)
			return -ENOMEM;
		memcpy(v, paths, n * sizeof(*v));
		qsort(v, n, sizeof(*v), cmp_path);
		for (size_t i = 1; i < n; i++)
			if (v[i].id == v[i - 1].id) {
				free(v);
				return -EINVAL;
			}
	}
	free(o->paths);
	o->paths = v;
	o->n_paths = o->cap_paths = n;
	ofgw__rebuild(o);
	ofgw__schedule(o);
	return 0;
}

static int check_vm_ports(const struct ofgw_vm_port *ports, size_t n, char err[OFGW_ERRLEN])
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(ports[i].name, OFGW_PORT_NAME_MAX);

		if (len == 0 || len == OFGW_PORT_NAME_MAX || ports[i].n_ips > OFGW_VM_IPS_MAX) {
			snprintf(err, OFGW_ERRLEN, "VM port %zu: name must be 1..%d characters and "
				 "IPs at most %d", i, OFGW_PORT_NAME_MAX - 1, OFGW_VM_IPS_MAX);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(ports[i].name, ports[j].name) == 0) {
				snprintf(err, OFGW_ERRLEN, "VM port '%s' given twice", ports[i].name);
				return -EINVAL;
			}
	}
	return 0;
}

int ofgw_set_vm_ports(struct ofgw *o, const struct ofgw_vm_port *ports, size_t n,
		      char err[OFGW_ERRLEN])
{
	struct ofgw_vm_port *v = NULL;
	int rc;

	if ((rc = check_vm_ports(ports, n, err)) != 0)
		return rc;
	if (n > 0 && (v = malloc(n * sizeof(*v))) == NULL)
		return -ENOMEM;
	if (n > 0)
		memcpy(v, ports, n * sizeof(*v));
	free(o->vms);
	o->vms = v;
	o->n_vms = n;
	ofgw__rebuild(o);
	ofgw__schedule(o);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Ports                                                                     */

static void port_changed(struct ofgw *o, const struct ofgw_port *p, uint8_t reason)
{
	size_t i;

	for (i = 0; i < o->n_ports && o->ports[i].no != p->no; i++)
		;
	if (reason == OFPPR_DELETE) {
		if (i < o->n_ports)
			o->ports[i] = o->ports[--o->n_ports];
		return;
	}
	if (i == o->n_ports) {
		if (o->n_ports == o->cap_ports) {
			size_t cap = o->cap_ports ? o->cap_ports * 2 : 16;
			struct ofgw_port *v = realloc(o->ports, cap * sizeof(*v));

			if (v == NULL) {
				rtv_error(OFGW_MOD, "out of memory adding port %s", p->name);
				return;
			}
			o->ports = v;
			o->cap_ports = cap;
		}
		o->n_ports++;
	}
	o->ports[i] = *p;
}

void ofgw__on_port_status(struct ofgw *o, const struct ofp_msg *m)
{
	const struct ofgw_port *p = &m->u.port_status.port;

	if (o->phase < OFGW_DUMP)
		return;		/* the port-desc reply will have it */
	rtv_debug(OFGW_MOD, "port %s (%u) %s", p->name, p->no,
		  m->u.port_status.reason == OFPPR_ADD ? "added"
		  : m->u.port_status.reason == OFPPR_DELETE ? "removed" : "changed");
	port_changed(o, p, m->u.port_status.reason);
	if (o->hooks.port_changed != NULL)
		o->hooks.port_changed(o->hooks.arg, p, m->u.port_status.reason == OFPPR_DELETE);
	ofgw__rebuild(o);
	ofgw__schedule(o);
}

void ofgw__on_port_stats(struct ofgw *o, const struct ofp_msg *m)
{
	struct ofgw_port_stats ps;
	ofgw_port_stats_cb cb = o->stats_cb;
	const char *why = NULL;
	size_t off = 0;
	int rc;

	while ((rc = ofp_next_port_stats(m->u.multipart.body, m->u.multipart.len, &off, &ps,
					 &why)) == 1) {
		if (o->n_pstats == o->cap_pstats) {
			size_t cap = o->cap_pstats ? o->cap_pstats * 2 : 16;
			struct ofgw_port_stats *v = realloc(o->pstats, cap * sizeof(*v));

			if (v == NULL) {
				rc = -ENOMEM;
				break;
			}
			o->pstats = v;
			o->cap_pstats = cap;
		}
		o->pstats[o->n_pstats++] = ps;
	}
	if (rc < 0) {
		o->st.decode_errors += rc != -ENOMEM;
		ofgw__warn(o, "port stats reply unusable: %s", rc == -ENOMEM ? "out of memory" : why);
	} else if (m->u.multipart.flags & OFPMPF_MORE) {
		return;
	}
	o->stats_cb = NULL;
	o->stats_xid = 0;
	cb(o->stats_arg, rc < 0 ? rc : 0, rc < 0 ? NULL : o->pstats, rc < 0 ? 0 : o->n_pstats);
	o->n_pstats = 0;
}

/* ------------------------------------------------------------------------- */
/* Calls                                                                     */

static bool handshaken(const struct ofgw *o)
{
	return o->conn != NULL && o->phase >= OFGW_DUMP;
}

int ofgw_packet_out(struct ofgw *o, uint32_t in_port, uint32_t out_port, const void *data,
		    size_t len)
{
	struct ofgw_action a = { .type = OFGW_ACT_OUTPUT, .value = out_port };
	int rc;

	if (!handshaken(o))
		return -ENOTCONN;
	if (len == 0 || len > 65000 || data == NULL)
		return -EINVAL;
	rc = ofp_encode_packet_out(&o->out, ofgw__next_xid(o), in_port, &a, 1, data, len);
	if (rc != 0)
		return rc;
	o->st.tx_msgs++;
	return ofgw__flush(o);
}

int ofgw_request_port_stats(struct ofgw *o, ofgw_port_stats_cb cb, void *arg)
{
	int rc;

	if (!handshaken(o))
		return -ENOTCONN;
	if (o->stats_cb != NULL)
		return -EBUSY;
	o->stats_xid = ofgw__next_xid(o);
	if ((rc = ofp_encode_port_stats_request(&o->out, o->stats_xid, OFGW_PORT_ANY)) != 0)
		return rc;
	o->st.tx_msgs++;
	o->stats_cb = cb;
	o->stats_arg = arg;
	o->n_pstats = 0;
	return ofgw__flush(o);
}

void ofgw_get_stats(const struct ofgw *o, struct ofgw_stats *out)
{
	*out = o->st;
	out->connected = handshaken(o);
	out->synced = o->phase == OFGW_READY && !o->in_flight && o->n_dirty == 0 && !o->dirty_all;
	out->dpid = o->dpid;
	out->n_ports = o->n_ports;
	out->n_desired = o->desired.n;
	out->n_installed = o->installed.n;
}

const struct ofgw_port *ofgw_port_by_name(const struct ofgw *o, const char *name)
{
	for (size_t i = 0; i < o->n_ports; i++)
		if (strcmp(o->ports[i].name, name) == 0)
			return &o->ports[i];
	return NULL;
}

void ofgw_foreach_desired(const struct ofgw *o,
			  void (*fn)(void *arg, const struct ofgw_flow *f), void *arg)
{
	for (size_t i = 0; i < o->desired.n; i++)
		fn(arg, &o->desired.flows[i]);
}

int ofgw_listen_port(const struct ofgw *o)
{
	struct sockaddr_in sa;
	int len = sizeof(sa);

	if (!o->listening || uv_tcp_getsockname(&o->server, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------------------- */
/* Life cycle                                                                */

static int copy_name(char *dst, const char *src, const char *what, char err[OFGW_ERRLEN])
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= OFGW_PORT_NAME_MAX) {
		snprintf(err, OFGW_ERRLEN, "%s port name '%s' is longer than %d characters", what,
			 src, OFGW_PORT_NAME_MAX - 1);
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

static int check_config(const struct ofgw_config *cfg, char err[OFGW_ERRLEN])
{
	struct sockaddr_in sa;
	int rc;

	if ((rc = ofgw__parse_listen(cfg->listen, &sa, err)) != 0)
		return rc;
	if (cfg->n_control > OFGW_CONTROL_PORTS_MAX) {
		snprintf(err, OFGW_ERRLEN, "at most %d control ports", OFGW_CONTROL_PORTS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_control; i++)
		if ((cfg->control[i].proto != 6 && cfg->control[i].proto != 17) ||
		    cfg->control[i].port == 0) {
			snprintf(err, OFGW_ERRLEN, "control port %zu: protocol must be 6 (TCP) or 17 "
				 "(UDP) and the port non-zero", i);
			return -EINVAL;
		}
	return 0;
}

static int init_config(struct ofgw *o, const struct ofgw_config *cfg, char err[OFGW_ERRLEN])
{
	int rc;

	if ((rc = check_config(cfg, err)) != 0)
		return rc;
	if (strlen(cfg->listen) >= sizeof(o->listen)) {
		snprintf(err, OFGW_ERRLEN, "listen address too long");
		return -EINVAL;
	}
	if ((rc = copy_name(o->offhost, cfg->offhost_port, "off-host", err)) != 0 ||
	    (rc = copy_name(o->uplink, cfg->uplink_port, "uplink", err)) != 0)
		return rc;
	o->cfg = *cfg;
	strcpy(o->listen, cfg->listen);
	o->cfg.listen = o->listen;
	o->cfg.offhost_port = o->offhost;
	o->cfg.uplink_port = o->uplink;
	if (o->cfg.echo_interval_ms == 0)
		o->cfg.echo_interval_ms = ECHO_INTERVAL_DEFAULT_MS;
	if (o->cfg.echo_max_missed == 0)
		o->cfg.echo_max_missed = ECHO_MISSED_DEFAULT;
	return 0;
}

int ofgw_new(struct uv_loop_s *loop, const struct ofgw_config *cfg,
	     const struct ofgw_hooks *hooks, struct ofgw **out, char err[OFGW_ERRLEN])
{
	struct ofgw *o = calloc(1, sizeof(*o));
	int rc;

	if (o == NULL)
		return -ENOMEM;
	if ((rc = init_config(o, cfg, err)) != 0) {
		free(o);
		return rc;
	}
	o->loop = loop;
	if (hooks != NULL)
		o->hooks = *hooks;
	o->rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(20, 10);
	flowtab_init(&o->desired);
	flowtab_init(&o->installed);
	flow_ops_init(&o->ops);
	ofp_buf_init(&o->out);
	uv_tcp_init(loop, &o->server);
	uv_timer_init(loop, &o->echo_timer);
	uv_timer_init(loop, &o->batch_timer);
	uv_timer_init(loop, &o->retry_timer);
	o->server.data = o->echo_timer.data = o->batch_timer.data = o->retry_timer.data = o;
	o->open_handles = 4;
	ofgw__rebuild(o);
	*out = o;
	return 0;
}

int ofgw_start(struct ofgw *o, char err[OFGW_ERRLEN])
{
	if (o->started) {
		snprintf(err, OFGW_ERRLEN, "the gateway is already started");
		return -EALREADY;
	}
	o->started = true;
	return ofgw__listen(o, err);
}

void ofgw__handle_closed(struct ofgw *o)
{
	if (--o->open_handles == 0 && o->closing && o->close_cb != NULL)
		o->close_cb(o);
}

void ofgw_close(struct ofgw *o, void (*cb)(struct ofgw *o))
{
	if (o->closing)
		return;
	o->closing = true;
	o->close_cb = cb;
	ofgw__close_handles(o);
}

void ofgw_free(struct ofgw *o)
{
	if (o == NULL)
		return;
	flowtab_uninit(&o->desired);
	flowtab_uninit(&o->installed);
	flow_ops_uninit(&o->ops);
	ofp_buf_uninit(&o->out);
	free(o->ports);
	free(o->ports_new);
	free(o->vms);
	free(o->paths);
	free(o->opaque);
	free(o->pstats);
	free(o);
}
