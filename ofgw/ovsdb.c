/* ovsdb.c — the OVSDB client on the libuv loop: connection, reconnection,
 * echo, monitor, and the ensure-bridge transactions (contract: ovsdb.h).
 *
 * Life of a connection:
 *
 *   CONNECTING --connected--> MONITORING --monitor reply--> SYNCED
 *        ^                         |                           |
 *        |      timer (backoff)    v   error / EOF / bad input |
 *        +------------------- WAITING <------------------------+
 *
 * Everything a connection learnt (framer bytes, replica rows) is forgotten
 * when it ends; only the reported port view survives, so the next initial
 * state is diffed against what the owner already knows (ovsdb.h "Resync").
 * Any malformed message ends the connection: skipping it could leave the
 * replica silently wrong, a fresh "monitor" cannot. The backoff doubles
 * from backoff_min_ms to backoff_max_ms and is reset once a monitor reply
 * has been processed, so a server that accepts and then immediately drops
 * us is not hammered.
 *
 * ovsdb-server sends "echo" requests to idle clients and drops those that
 * do not answer (RFC 7047 §4.1.11); we answer every one at once. On a unix
 * socket the kernel reports a dead server as EOF, so we send no probes of
 * our own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <uv.h>

#include "common/log.h"
#include "ofgw/ovsdb_internal.h"

#define MOD "ovsdb"
#define MONITOR_ID "rtvd"
#define READ_BYTES 65536
#define ENSURE_TRIES 3		/* reads after a write lost a race */

enum state { ST_IDLE, ST_CONNECTING, ST_MONITORING, ST_SYNCED, ST_WAITING, ST_CLOSED };
enum pipe_state { PIPE_NONE, PIPE_OPEN, PIPE_CLOSING };
enum ens_phase { ENS_READ, ENS_WRITE };

struct ofgw_ovsdb {
	uv_loop_t *loop;
	struct ofgw_ovsdb_ops ops;
	void *arg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char bridge[OFGW_OVSDB_NAME_MAX];
	uint32_t backoff_min_ms, backoff_max_ms, backoff_ms;

	enum state st;
	enum pipe_state pipe_st;
	uv_pipe_t pipe;
	uv_connect_t connect_req;
	uv_timer_t timer;
	bool timer_open, warned_connect;
	void (*close_cb)(struct ofgw_ovsdb *c);

	struct ofgw_jrpc_framer framer;
	struct ofgw_odb_replica replica;
	struct ofgw_odb_view view, scratch;	/* reported; the next one being built */
	json_int_t next_id, monitor_id;

	bool have_spec, ens_running, ens_again;
	struct ofgw_ovsdb_bridge_spec spec;
	enum ens_phase ens_phase;
	json_int_t ens_id;
	size_t ens_n_ops;
	unsigned ens_tries;

	/* mtu_request writes in flight: request id and interface */
	struct {
		json_int_t id;
		char iface[OFGW_OVSDB_NAME_MAX];
	} mtu_txn[OFGW_OVSDB_MTU_INFLIGHT];

	struct ofgw_ovsdb_stats stats;
	struct rtv_ratelimit rl;
	char rbuf[READ_BYTES];
};

struct wreq {
	uv_write_t req;
	char *data;
};

static void drop(struct ofgw_ovsdb *c, const char *why);
static void ens_kick(struct ofgw_ovsdb *c);

static bool live(const struct ofgw_ovsdb *c)
{
	return c->st == ST_MONITORING || c->st == ST_SYNCED;
}

/* A line about bad input from the server, rate-limited. */
static void warn_bad(struct ofgw_ovsdb *c, const char *what, const char *detail)
{
	uint64_t supp = 0;

	if (rtv_ratelimit_ok(&c->rl, &supp))
		rtv_warn(MOD, "%s: %s: %s; reconnecting (%llu similar lines suppressed)", c->path, what,
			 detail, (unsigned long long)supp);
}

/* ------------------------------------------------------------------------- */
/* Sending                                                                   */

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct ofgw_ovsdb *c = req->handle->data;

	free(w->data);
	free(w);
	if (status < 0 && status != UV_ECANCELED && live(c))
		drop(c, uv_strerror(status));
}

/* Sends msg (consumed). 0 or a negative errno (the caller drops). */
static int send_json(struct ofgw_ovsdb *c, json_t *msg)
{
	struct wreq *w = calloc(1, sizeof(*w));
	size_t len = 0;
	uv_buf_t buf;
	int rc;

	if (w == NULL || msg == NULL || (w->data = ofgw_jrpc_dump(msg, &len)) == NULL) {
		free(w);
		json_decref(msg);
		return -ENOMEM;
	}
	json_decref(msg);
	buf = uv_buf_init(w->data, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written);
	if (rc != 0) {
		free(w->data);
		free(w);
	}
	return rc;
}

/* Sends a request (params consumed); its id, or 0 after dropping. */
static json_int_t send_request(struct ofgw_ovsdb *c, const char *method, json_t *params)
{
	json_int_t id = ++c->next_id;
	int rc;

	if (params == NULL) {
		drop(c, "out of memory");
		return 0;
	}
	rc = send_json(c, ofgw_jrpc_request(method, params, id));
	if (rc != 0) {
		drop(c, rc == -ENOMEM ? "out of memory" : uv_strerror(rc));
		return 0;
	}
	return id;
}

/* ------------------------------------------------------------------------- */
/* The port view                                                             */

static bool emit(void *arg, enum ofgw_odb_change ch, const struct ofgw_ovsdb_port *was,
		 const struct ofgw_ovsdb_port *now)
{
	struct ofgw_ovsdb *c = arg;

	switch (ch) {
	case OFGW_ODB_REMOVED:
		c->stats.ports_removed++;
		rtv_info(MOD, "port %s removed from %s", was->name, was->bridge);
		if (c->ops.port_removed)
			c->ops.port_removed(c->arg, was);
		break;
	case OFGW_ODB_CHANGED:
		c->stats.ports_changed++;
		rtv_debug(MOD, "port %s changed (ofport %d)", now->name, now->ofport);
		if (c->ops.port_changed)
			c->ops.port_changed(c->arg, was, now);
		break;
	case OFGW_ODB_ADDED:
		c->stats.ports_added++;
		rtv_info(MOD, "port %s on %s (ofport %d, vm-id '%s')", now->name, now->bridge,
			 now->ofport, now->vm_id);
		if (c->ops.port_added)
			c->ops.port_added(c->arg, now);
		break;
	}
	return c->st == ST_SYNCED;	/* stop if a callback closed us */
}

/* Rebuilds the view, makes it current, then reports the differences (so
 * callbacks see the new view through ofgw_ovsdb_port_find). */
static void refresh_view(struct ofgw_ovsdb *c)
{
	if (ofgw_odb_view_build(&c->replica, c->bridge, &c->scratch, &c->stats.bad_fields,
				&c->rl) != 0) {
		drop(c, "out of memory building the port view");
		return;
	}
	ofgw_odb_view_swap(&c->view, &c->scratch);
	ofgw_odb_view_diff(&c->scratch, &c->view, emit, c);
}

/* ------------------------------------------------------------------------- */
/* Ensuring the bridge                                                       */

static void ens_done(struct ofgw_ovsdb *c, int rc, bool changed, const char *err)
{
	c->ens_running = false;
	c->ens_id = 0;
	if (rc != 0)
		rtv_warn(MOD, "ensuring bridge %s failed: %s", c->bridge, err);
	else if (changed)
		rtv_info(MOD, "bridge %s: settings written", c->bridge);
	if (c->ops.ensured)
		c->ops.ensured(c->arg, rc, changed, err);
	if (c->ens_again && c->st == ST_SYNCED) {
		c->ens_again = false;
		ens_kick(c);
	}
}

static void ens_read(struct ofgw_ovsdb *c)
{
	c->ens_phase = ENS_READ;
	c->stats.txn_reads++;
	c->ens_id = send_request(c, "transact", ofgw_odb_ensure_read(&c->spec));
}

static void ens_kick(struct ofgw_ovsdb *c)
{
	if (!c->have_spec || c->st != ST_SYNCED)
		return;
	if (c->ens_running) {
		c->ens_again = true;
		return;
	}
	c->ens_running = true;
	c->ens_tries = 0;
	ens_read(c);
}

static void ens_on_read(struct ofgw_ovsdb *c, const json_t *result)
{
	char err[OFGW_OVSDB_ERRLEN] = "";
	json_t *write = NULL;
	int rc = ofgw_odb_ensure_plan(c->bridge, &c->spec, result, &write, err);

	if (rc != 0 || write == NULL) {
		ens_done(c, rc, false, err);
		return;
	}
	c->ens_phase = ENS_WRITE;
	c->ens_n_ops = json_array_size(write) - 1;
	c->stats.txn_writes++;
	c->ens_id = send_request(c, "transact", write);
}

static void ens_on_write(struct ofgw_ovsdb *c, const json_t *result)
{
	char err[OFGW_OVSDB_ERRLEN] = "";
	int rc = ofgw_odb_txn_result(result, c->ens_n_ops, err);

	if (rc == -EAGAIN && ++c->ens_tries < ENSURE_TRIES) {
		rtv_info(MOD, "bridge %s changed while we wrote it (%s); reading again", c->bridge, err);
		ens_read(c);
		return;
	}
	ens_done(c, rc == -EAGAIN ? -EIO : rc, rc == 0, err);
}

static void ens_on_reply(struct ofgw_ovsdb *c, const struct ofgw_jrpc_msg *m)
{
	char err[OFGW_OVSDB_ERRLEN];

	if (m->kind == OFGW_JRPC_ERROR) {
		ofgw_jrpc_error_text(m->error, err, sizeof(err));
		ens_done(c, -EIO, false, err);
	} else if (c->ens_phase == ENS_READ) {
		ens_on_read(c, m->result);
	} else {
		ens_on_write(c, m->result);
	}
}

/* ------------------------------------------------------------------------- */
/* Interface MTUs                                                            */

int ofgw_ovsdb_set_mtu_request(struct ofgw_ovsdb *c, const char *iface, uint32_t mtu)
{
	json_t *op;
	int slot = -1;

	if (iface == NULL || iface[0] == '\0' || strlen(iface) >= OFGW_OVSDB_NAME_MAX ||
	    mtu < 68 || mtu > 65535)
		return -EINVAL;
	if (c->st != ST_SYNCED)
		return -ENOTCONN;
	for (int i = 0; i < OFGW_OVSDB_MTU_INFLIGHT && slot < 0; i++)
		if (c->mtu_txn[i].id == 0)
			slot = i;
	if (slot < 0)
		return -EBUSY;
	/* "wait" is not needed: the row is named, and the value is absolute */
	op = json_pack("{s:s, s:s, s:[[s, s, s]], s:{s:I}}", "op", "update", "table", "Interface",
		       "where", "name", "==", iface, "row", "mtu_request", (json_int_t)mtu);
	c->stats.mtu_writes++;
	c->mtu_txn[slot].id = send_request(c, "transact",
					   op ? json_pack("[s, o]", OFGW_OVSDB_DB, op) : NULL);
	snprintf(c->mtu_txn[slot].iface, sizeof(c->mtu_txn[slot].iface), "%s", iface);
	return c->mtu_txn[slot].id ? 0 : -ENOTCONN;
}

/* The answer to one of our mtu_request writes; false if the id is not one. */
static bool mtu_on_reply(struct ofgw_ovsdb *c, json_int_t id, const struct ofgw_jrpc_msg *m)
{
	char err[OFGW_OVSDB_ERRLEN] = "";
	int rc;

	for (int i = 0; i < OFGW_OVSDB_MTU_INFLIGHT; i++) {
		if (c->mtu_txn[i].id != id)
			continue;
		c->mtu_txn[i].id = 0;
		if (m->kind == OFGW_JRPC_ERROR) {
			ofgw_jrpc_error_text(m->error, err, sizeof(err));
			rc = -EIO;
		} else {
			rc = ofgw_odb_txn_result(m->result, 1, err);
		}
		if (rc != 0) {
			c->stats.mtu_failures++;
			rtv_warn(MOD, "setting mtu_request of %s failed: %s", c->mtu_txn[i].iface, err);
		}
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------------- */
/* Receiving                                                                 */

static void on_monitor_reply(struct ofgw_ovsdb *c, const struct ofgw_jrpc_msg *m)
{
	char err[OFGW_OVSDB_ERRLEN];

	c->monitor_id = 0;
	if (m->kind == OFGW_JRPC_ERROR) {
		ofgw_jrpc_error_text(m->error, err, sizeof(err));
		warn_bad(c, "monitor refused", err);
		drop(c, "monitor refused");
		return;
	}
	if (ofgw_odb_replica_apply(&c->replica, m->result, err) != 0) {
		c->stats.bad_msgs++;
		warn_bad(c, "bad monitor reply", err);
		drop(c, "bad monitor reply");
		return;
	}
	c->st = ST_SYNCED;
	c->stats.syncs++;
	c->backoff_ms = c->backoff_min_ms;
	refresh_view(c);
	if (c->st != ST_SYNCED)
		return;
	rtv_info(MOD, "%s: synced, %zu ports on %s", c->path, c->view.n, c->bridge);
	if (c->ops.synced)
		c->ops.synced(c->arg);
	ens_kick(c);
}

/* "update" notification: params [<json-value> monitor id, <table-updates>]. */
static void on_update(struct ofgw_ovsdb *c, const struct ofgw_jrpc_msg *m)
{
	const char *mon = json_string_value(json_array_get(m->params, 0));
	char err[OFGW_OVSDB_ERRLEN];

	if (json_array_size(m->params) != 2 || mon == NULL || strcmp(mon, MONITOR_ID) != 0) {
		snprintf(err, sizeof(err), "params are not [\"%s\", <table-updates>]", MONITOR_ID);
		c->stats.bad_msgs++;
		warn_bad(c, "bad update", err);
		drop(c, "bad update");
		return;
	}
	if (ofgw_odb_replica_apply(&c->replica, json_array_get(m->params, 1), err) != 0) {
		c->stats.bad_msgs++;
		warn_bad(c, "bad update", err);
		drop(c, "bad update");
		return;
	}
	c->stats.updates++;
	if (c->st == ST_SYNCED)
		refresh_view(c);
}

static void on_request(struct ofgw_ovsdb *c, const struct ofgw_jrpc_msg *m)
{
	json_t *reply;
	int rc;

	if (strcmp(m->method, "echo") == 0) {
		c->stats.echoes++;
		reply = ofgw_jrpc_reply(json_incref(m->params), m->id);
	} else {
		rtv_debug(MOD, "request '%s' answered with \"unknown method\"", m->method);
		reply = json_pack("{s:n, s:s, s:O}", "result", "error", "unknown method", "id",
				  m->id);
	}
	rc = send_json(c, reply);
	if (rc != 0)
		drop(c, rc == -ENOMEM ? "out of memory" : uv_strerror(rc));
}

static void on_reply(struct ofgw_ovsdb *c, const struct ofgw_jrpc_msg *m)
{
	json_int_t id = json_is_integer(m->id) ? json_integer_value(m->id) : 0;

	if (id != 0 && id == c->monitor_id)
		on_monitor_reply(c, m);
	else if (id != 0 && id == c->ens_id)
		ens_on_reply(c, m);
	else if (id != 0 && mtu_on_reply(c, id, m))
		return;
	else
		rtv_debug(MOD, "reply to no request of ours; ignored");
}

static void on_message(struct ofgw_ovsdb *c, const char *data, size_t len)
{
	struct ofgw_jrpc_msg m;
	char err[OFGW_OVSDB_ERRLEN];
	json_t *root;

	if (ofgw_jrpc_parse(data, len, &root, &m, err) != 0) {
		c->stats.bad_msgs++;
		warn_bad(c, "bad message", err);
		drop(c, "bad message");
		return;
	}
	if (m.kind == OFGW_JRPC_REQUEST)
		on_request(c, &m);
	else if (m.kind == OFGW_JRPC_NOTIFY && strcmp(m.method, "update") == 0)
		on_update(c, &m);
	else if (m.kind == OFGW_JRPC_NOTIFY)
		rtv_debug(MOD, "notification '%s' ignored", m.method);
	else
		on_reply(c, &m);
	json_decref(root);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ofgw_ovsdb *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ofgw_ovsdb *c = s->data;
	const char *msg;
	size_t len;
	int rc;

	if (nread < 0) {
		drop(c, nread == UV_EOF ? "server closed the connection" : uv_strerror((int)nread));
		return;
	}
	if (ofgw_jrpc_framer_feed(&c->framer, buf->base, (size_t)nread) != 0) {
		drop(c, "out of memory");
		return;
	}
	while (live(c) && (rc = ofgw_jrpc_framer_next(&c->framer, &msg, &len)) != 0) {
		if (rc == 1) {
			on_message(c, msg, len);
			continue;
		}
		if (rc == -EMSGSIZE) {
			c->stats.too_big++;
			warn_bad(c, "message too large", "over the configured msg_max_bytes");
		} else {
			c->stats.bad_msgs++;
			warn_bad(c, "bad framing", "the stream is not a sequence of JSON objects");
		}
		drop(c, "bad input");
	}
}

/* ------------------------------------------------------------------------- */
/* Connecting                                                                */

static void do_connect(struct ofgw_ovsdb *c);

static void on_timer(uv_timer_t *t)
{
	struct ofgw_ovsdb *c = t->data;

	if (c->st == ST_WAITING)
		do_connect(c);
}

/* After ofgw_ovsdb_close: runs the owner's callback once both handles are closed. */
static void maybe_closed(struct ofgw_ovsdb *c)
{
	void (*cb)(struct ofgw_ovsdb *) = c->close_cb;

	if (c->timer_open || c->pipe_st != PIPE_NONE || cb == NULL)
		return;
	c->close_cb = NULL;
	cb(c);
}

static void on_pipe_closed(uv_handle_t *h)
{
	struct ofgw_ovsdb *c = h->data;

	c->pipe_st = PIPE_NONE;
	if (c->st == ST_CLOSED) {
		maybe_closed(c);
		return;
	}
	uv_timer_start(&c->timer, on_timer, c->backoff_ms, 0);
	c->backoff_ms = c->backoff_ms > c->backoff_max_ms / 2 ? c->backoff_max_ms : 2 * c->backoff_ms;
}

/* Ends the connection (or attempt) and schedules the next one. */
static void drop(struct ofgw_ovsdb *c, const char *why)
{
	if (c->st == ST_CLOSED || c->st == ST_WAITING)
		return;
	if (live(c)) {
		c->stats.disconnects++;
		rtv_warn(MOD, "%s: connection lost (%s); reconnecting in %u ms", c->path, why,
			 c->backoff_ms);
	}
	c->st = ST_WAITING;
	c->monitor_id = 0;
	c->ens_id = 0;
	memset(c->mtu_txn, 0, sizeof(c->mtu_txn));	/* the owner writes again on resync */
	if (c->pipe_st == PIPE_OPEN) {
		c->pipe_st = PIPE_CLOSING;
		uv_close((uv_handle_t *)&c->pipe, on_pipe_closed);
	}
	if (c->ens_running) {
		c->ens_running = c->ens_again = false;
		if (c->ops.ensured)
			c->ops.ensured(c->arg, -ENOTCONN, false,
				       "connection to ovsdb-server lost; retried after reconnecting");
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct ofgw_ovsdb *c = req->handle->data;

	if (c->st != ST_CONNECTING)
		return;		/* closed meanwhile (status is UV_ECANCELED) */
	if (status < 0) {
		c->stats.connect_failures++;
		if (!c->warned_connect)
			rtv_warn(MOD, "cannot connect to %s: %s; retrying (is ovsdb-server running?)",
				 c->path, uv_strerror(status));
		c->warned_connect = true;
		drop(c, uv_strerror(status));
		return;
	}
	c->stats.connects++;
	c->warned_connect = false;
	rtv_info(MOD, "connected to %s", c->path);
	c->st = ST_MONITORING;
	ofgw_jrpc_framer_reset(&c->framer);
	ofgw_odb_replica_clear(&c->replica);
	status = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	if (status != 0) {
		drop(c, uv_strerror(status));
		return;
	}
	c->monitor_id = send_request(c, "monitor", ofgw_odb_monitor_params(MONITOR_ID));
}

static void do_connect(struct ofgw_ovsdb *c)
{
	int rc = uv_pipe_init(c->loop, &c->pipe, 0);

	if (rc != 0) {	/* cannot happen with ipc = 0; retry later regardless */
		c->st = ST_WAITING;
		uv_timer_start(&c->timer, on_timer, c->backoff_max_ms, 0);
		return;
	}
	c->pipe.data = c;
	c->pipe_st = PIPE_OPEN;
	c->st = ST_CONNECTING;
	uv_pipe_connect(&c->connect_req, &c->pipe, c->path, on_connect);
}

/* ------------------------------------------------------------------------- */
/* API                                                                       */

static int cfg_bad(char *err, int rc, const char *what, const char *val)
{
	snprintf(err, OFGW_OVSDB_ERRLEN, "ovsdb: %s: '%.160s'", what, val ? val : "(null)");
	return rc;
}

static int parse_cfg(struct ofgw_ovsdb *c, const struct ofgw_ovsdb_config *cfg, char *err)
{
	const char *remote = cfg->remote ? cfg->remote : OFGW_OVSDB_REMOTE_DEFAULT;
	const char *path = strncmp(remote, "unix:", 5) == 0 ? remote + 5 : remote;

	if (path == remote && remote[0] != '/')
		return cfg_bad(err, -EINVAL,
			       "remote must be unix:PATH (e.g. " OFGW_OVSDB_REMOTE_DEFAULT ")", remote);
	if (path[0] == '\0' || strlen(path) >= sizeof(c->path))
		return cfg_bad(err, -ENAMETOOLONG, "socket path empty or longer than 107 bytes", path);
	if (cfg->bridge == NULL || cfg->bridge[0] == '\0' || strlen(cfg->bridge) >= sizeof(c->bridge))
		return cfg_bad(err, -EINVAL, "bridge must be a name of 1 to 63 bytes", cfg->bridge);
	c->backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : OFGW_OVSDB_BACKOFF_MIN_DEFAULT_MS;
	c->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : OFGW_OVSDB_BACKOFF_MAX_DEFAULT_MS;
	if (c->backoff_min_ms > c->backoff_max_ms) {
		snprintf(err, OFGW_OVSDB_ERRLEN, "ovsdb: backoff_min_ms %u exceeds backoff_max_ms %u",
			 c->backoff_min_ms, c->backoff_max_ms);
		return -EINVAL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->bridge, sizeof(c->bridge), "%s", cfg->bridge);
	c->backoff_ms = c->backoff_min_ms;
	return 0;
}

int ofgw_ovsdb_new(uv_loop_t *loop, const struct ofgw_ovsdb_config *cfg,
		   const struct ofgw_ovsdb_ops *ops, void *arg, struct ofgw_ovsdb **out,
		   char err[OFGW_OVSDB_ERRLEN])
{
	struct ofgw_ovsdb *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL || ofgw_odb_replica_init(&c->replica) != 0) {
		free(c);
		snprintf(err, OFGW_OVSDB_ERRLEN, "ovsdb: out of memory");
		return -ENOMEM;
	}
	rc = parse_cfg(c, cfg, err);
	if (rc != 0) {
		ofgw_ovsdb_free(c);
		return rc;
	}
	c->loop = loop;
	if (ops != NULL)
		c->ops = *ops;
	c->arg = arg;
	c->rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(20, 5);
	ofgw_jrpc_framer_init(&c->framer, cfg->msg_max_bytes ? cfg->msg_max_bytes
							      : OFGW_OVSDB_MSG_MAX_DEFAULT_BYTES);
	ofgw_odb_view_init(&c->view);
	ofgw_odb_view_init(&c->scratch);
	*out = c;
	return 0;
}

int ofgw_ovsdb_start(struct ofgw_ovsdb *c)
{
	int rc;

	if (c->st != ST_IDLE)
		return -EALREADY;
	rc = uv_timer_init(c->loop, &c->timer);
	if (rc != 0)
		return rc;
	c->timer.data = c;
	c->timer_open = true;
	do_connect(c);
	return 0;
}

int ofgw_ovsdb_ensure_bridge(struct ofgw_ovsdb *c, const struct ofgw_ovsdb_bridge_spec *spec,
			     char err[OFGW_OVSDB_ERRLEN])
{
	int rc = ofgw_odb_spec_check(c->bridge, spec, err);

	if (rc != 0)
		return rc;
	c->spec = *spec;
	c->have_spec = true;
	ens_kick(c);
	return 0;
}

bool ofgw_ovsdb_synced(const struct ofgw_ovsdb *c)
{
	return c->st == ST_SYNCED;
}

size_t ofgw_ovsdb_n_ports(const struct ofgw_ovsdb *c)
{
	return c->view.n;
}

const struct ofgw_ovsdb_port *ofgw_ovsdb_port_at(const struct ofgw_ovsdb *c, size_t i)
{
	return i < c->view.n ? &c->view.ports[i] : NULL;
}

const struct ofgw_ovsdb_port *ofgw_ovsdb_port_find(const struct ofgw_ovsdb *c, const char *name)
{
	return ofgw_odb_view_find(&c->view, name);
}

void ofgw_ovsdb_get_stats(const struct ofgw_ovsdb *c, struct ofgw_ovsdb_stats *out)
{
	*out = c->stats;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct ofgw_ovsdb *c = h->data;

	c->timer_open = false;
	maybe_closed(c);
}

void ofgw_ovsdb_close(struct ofgw_ovsdb *c, void (*cb)(struct ofgw_ovsdb *c))
{
	bool started = c->timer_open;

	if (c->st == ST_CLOSED)
		return;
	c->st = ST_CLOSED;
	c->close_cb = cb;
	c->ens_running = c->ens_again = false;
	if (c->pipe_st == PIPE_OPEN) {
		c->pipe_st = PIPE_CLOSING;
		uv_close((uv_handle_t *)&c->pipe, on_pipe_closed);
	}
	if (started) {
		uv_timer_stop(&c->timer);
		uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	} else if (cb != NULL) {
		c->close_cb = NULL;
		cb(c);
	}
}

void ofgw_ovsdb_free(struct ofgw_ovsdb *c)
{
	if (c == NULL)
		return;
	ofgw_jrpc_framer_close(&c->framer);
	ofgw_odb_replica_close(&c->replica);
	ofgw_odb_view_close(&c->view);
	ofgw_odb_view_close(&c->scratch);
	free(c);
}
