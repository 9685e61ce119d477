/* conn.c — the switch's connection to us: listening, framing, the OpenFlow
 * handshake, keepalives, and dispatch of what the switch sends.
 *
 * OVS dials its controller and redials with backoff when the connection
 * drops, so we only ever accept. One switch connection is live at a time: a
 * new one replaces the old (OVS reconnecting before we noticed the old one
 * die). The handshake is §6.3.1 / §7.5.1: both sides send HELLO at once;
 * with version bitmaps on both sides the version is the highest common one,
 * otherwise the lower of the two header versions. We speak 1.3 only and
 * answer anything else with HELLO_FAILED/INCOMPATIBLE and a sentence saying
 * what to configure. Then FEATURES (the datapath id) and PORT_DESC (port
 * names and numbers), after which ofgw.c reconciles the flow table.
 *
 * The stream is framed by the header's length: a read may hold part of a
 * message or several. A length below 8 cannot be framed past, so it ends
 * the connection; a message that frames but does not decode is counted,
 * logged (rate-limited) and skipped.
 *
 * Keepalive: every echo_interval_ms of silence from the switch counts one
 * miss and sends an ECHO_REQUEST; any message from the switch clears the
 * count; echo_max_missed misses in a row drop the connection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/internal.h"

#define RX_CHUNK 65536

struct wreq {
	uv_write_t req;
	struct ofgw *o;
	struct ofgw_conn *conn;
	uint8_t *data;
	bool close_after;
};

void ofgw__warn(struct ofgw *o, const char *fmt, ...)
{
	uint64_t suppressed = 0;
	char line[512];
	va_list ap;

	if (!rtv_ratelimit_ok(&o->rl, &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (suppressed)
		rtv_warn(OFGW_MOD, "%s (%llu similar lines suppressed)", line,
			 (unsigned long long)suppressed);
	else
		rtv_warn(OFGW_MOD, "%s", line);
}

uint32_t ofgw__next_xid(struct ofgw *o)
{
	if (++o->xid == 0)
		o->xid = 1;
	return o->xid;
}

/* ------------------------------------------------------------------------- */
/* Writing                                                                   */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;

	free(w->data);
	if (w->o->conn == w->conn && w->conn != NULL) {
		if (status < 0)
			ofgw__drop(w->o, uv_strerror(status));
		else if (w->close_after)
			ofgw__drop(w->o, "version negotiation failed");
	}
	free(w);
}

static int write_out(struct ofgw *o, bool close_after)
{
	struct wreq *w;
	uv_buf_t buf;
	size_t len;
	int rc;

	if (o->out.len == 0 || o->conn == NULL)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->o = o;
	w->conn = o->conn;
	w->close_after = close_after;
	w->data = ofp_buf_steal(&o->out, &len);
	o->st.tx_bytes += len;
	buf = uv_buf_init((char *)w->data, (unsigned)len);
	if ((rc = uv_write(&w->req, (uv_stream_t *)&o->conn->tcp, &buf, 1, on_write)) != 0) {
		free(w->data);
		free(w);
		ofgw__drop(o, uv_strerror(rc));
		return rc;
	}
	return 0;
}

int ofgw__flush(struct ofgw *o)
{
	return write_out(o, false);
}

/* Counts a message appended to o->out (the encoders append one each). */
static void sent(struct ofgw *o, int rc)
{
	if (rc == 0)
		o->st.tx_msgs++;
}

/* ------------------------------------------------------------------------- */
/* Closing                                                                   */

static void on_conn_closed(uv_handle_t *h)
{
	struct ofgw_conn *c = h->data;
	struct ofgw *o = c->o;

	free(c->rx);
	free(c);
	ofgw__handle_closed(o);
}

void ofgw__drop(struct ofgw *o, const char *why)
{
	struct ofgw_conn *c = o->conn;

	if (c == NULL)
		return;
	o->conn = NULL;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	ofp_buf_clear(&o->out);
	o->st.disconnections++;
	rtv_info(OFGW_MOD, "switch %016llx disconnected: %s", (unsigned long long)o->dpid, why);
	ofgw__on_disconnect(o);
	if (o->hooks.disconnected != NULL)
		o->hooks.disconnected(o->hooks.arg, why);
}

static void on_handle_closed(uv_handle_t *h)
{
	ofgw__handle_closed(h->data);
}

void ofgw__close_handles(struct ofgw *o)
{
	ofgw__drop(o, "the gateway is closing");
	uv_close((uv_handle_t *)&o->server, on_handle_closed);
	uv_close((uv_handle_t *)&o->echo_timer, on_handle_closed);
	uv_close((uv_handle_t *)&o->batch_timer, on_handle_closed);
	uv_close((uv_handle_t *)&o->retry_timer, on_handle_closed);
}

/* ------------------------------------------------------------------------- */
/* The handshake                                                             */

static void refuse_version(struct ofgw *o, const struct ofp_msg *m)
{
	char text[200];
	int n;

	n = snprintf(text, sizeof(text),
		     "rtvd speaks OpenFlow 1.3 only (peer offered version 0x%02x%s); set the bridge's "
		     "protocols to include OpenFlow13", m->h.version,
		     m->u.hello.has_bitmap ? " and a bitmap without 1.3" : "");
	sent(o, ofp_encode_error(&o->out, m->h.xid, OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE, text,
				 (size_t)n));
	ofgw__warn(o, "%s", text);
	write_out(o, true);
}

static void on_hello(struct ofgw *o, const struct ofp_msg *m)
{
	bool ok;

	if (m->h.type != OFPT_HELLO) {
		o->st.decode_errors++;
		ofgw__warn(o, "switch sent %s before HELLO; dropping it", ofp_type_name(m->h.type));
		ofgw__drop(o, "no HELLO from the switch");
		return;
	}
	if (m->u.hello.has_bitmap)
		ok = m->u.hello.bitmap & (1u << OFP_VERSION_13);
	else
		ok = m->h.version >= OFP_VERSION_13;
	if (!ok) {
		refuse_version(o, m);
		return;
	}
	o->phase = OFGW_FEATURES;
	sent(o, ofp_encode_simple(&o->out, ofgw__next_xid(o), OFPT_FEATURES_REQUEST));
	ofgw__flush(o);
}

static void on_features(struct ofgw *o, const struct ofp_msg *m)
{
	if (o->phase != OFGW_FEATURES)
		return;
	o->dpid = m->u.features.dpid;
	o->phase = OFGW_PORTS;
	o->n_ports_new = 0;
	o->ports_xid = ofgw__next_xid(o);
	sent(o, ofp_encode_port_desc_request(&o->out, o->ports_xid));
	ofgw__flush(o);
}

static int add_port(struct ofgw *o, const struct ofgw_port *p)
{
	if (o->n_ports_new == o->cap_ports_new) {
		size_t cap = o->cap_ports_new ? o->cap_ports_new * 2 : 16;
		struct ofgw_port *v = realloc(o->ports_new, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		o->ports_new = v;
		o->cap_ports_new = cap;
	}
	o->ports_new[o->n_ports_new++] = *p;
	return 0;
}

/* The port list replaces ours once complete; then the switch is connected. */
static void on_port_desc(struct ofgw *o, const struct ofp_msg *m)
{
	struct ofgw_port p, *tmp;
	const char *why = NULL;
	size_t off = 0, ntmp;
	int rc;

	while ((rc = ofp_next_port(m->u.multipart.body, m->u.multipart.len, &off, &p, &why)) == 1)
		if (add_port(o, &p) != 0) {
			ofgw__drop(o, "out of memory reading the port list");
			return;
		}
	if (rc < 0) {
		o->st.decode_errors++;
		ofgw__warn(o, "malformed port-desc reply: %s", why);
		ofgw__drop(o, "malformed port-desc reply");
		return;
	}
	if (m->u.multipart.flags & OFPMPF_MORE)
		return;
	tmp = o->ports, o->ports = o->ports_new, o->ports_new = tmp;
	ntmp = o->cap_ports, o->cap_ports = o->cap_ports_new, o->cap_ports_new = ntmp;
	o->n_ports = o->n_ports_new;
	o->n_ports_new = 0;
	o->ports_xid = 0;
	o->phase = OFGW_DUMP;
	rtv_info(OFGW_MOD, "switch %016llx connected with %zu ports", (unsigned long long)o->dpid,
		 o->n_ports);
	if (o->hooks.connected != NULL)
		o->hooks.connected(o->hooks.arg, o->dpid);
	if (o->conn != NULL)
		ofgw__on_ready(o);
}

/* ------------------------------------------------------------------------- */
/* Dispatch                                                                  */

static void on_multipart(struct ofgw *o, const struct ofp_msg *m)
{
	uint32_t xid = m->h.xid;

	if (xid == o->ports_xid && m->u.multipart.type == OFPMP_PORT_DESC)
		on_port_desc(o, m);
	else if (xid == o->dump_xid && m->u.multipart.type == OFPMP_FLOW)
		ofgw__on_flow_stats(o, m);
	else if (xid == o->stats_xid && m->u.multipart.type == OFPMP_PORT_STATS)
		ofgw__on_port_stats(o, m);
}

static void dispatch(struct ofgw *o, const struct ofp_msg *m)
{
	switch (m->h.type) {
	case OFPT_ECHO_REQUEST:
		sent(o, ofp_encode_echo(&o->out, m->h.xid, true, m->u.echo.data, m->u.echo.len));
		ofgw__flush(o);
		break;
	case OFPT_FEATURES_REPLY:
		on_features(o, m);
		break;
	case OFPT_MULTIPART_REPLY:
		on_multipart(o, m);
		break;
	case OFPT_BARRIER_REPLY:
		ofgw__on_barrier(o, m->h.xid);
		break;
	case OFPT_ERROR:
		ofgw__on_error(o, m);
		break;
	case OFPT_PORT_STATUS:
		ofgw__on_port_status(o, m);
		break;
	case OFPT_PACKET_IN:
		o->st.packet_ins++;
		if (o->hooks.packet_in != NULL)
			o->hooks.packet_in(o->hooks.arg, &m->u.packet_in);
		break;
	default:	/* echo replies, flow-removed, ...: liveness only */
		break;
	}
}

/* At debug level every message from the switch is logged in hex, in lines
 * of at most 256 bytes; the lines of one message joined are what
 * `ovs-ofctl ofp-print HEX` decodes (the golden decoding tests were
 * captured this way). */
static void log_hex(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * 256 + 1];

	for (size_t off = 0; off < len; off += 256) {
		size_t n = len - off < 256 ? len - off : 256;

		for (size_t i = 0; i < n; i++) {
			hex[2 * i] = digits[buf[off + i] >> 4];
			hex[2 * i + 1] = digits[buf[off + i] & 15];
		}
		hex[2 * n] = '\0';
		rtv_debug(OFGW_MOD, "rx %s %zu bytes @%zu: %s", ofp_type_name(buf[1]), len, off, hex);
	}
}

static void handle(struct ofgw *o, const uint8_t *buf, size_t len)
{
	const char *why = NULL;
	struct ofp_msg m;
	int rc;

	if (rtv_log_level_cur <= RTV_LOG_DEBUG)
		log_hex(buf, len);
	o->st.rx_msgs++;
	o->st.rx_bytes += len;
	o->echo_missed = 0;
	if ((rc = ofp_decode(buf, len, &m, &why)) != 0) {
		o->st.decode_errors++;
		ofgw__warn(o, "malformed %s from the switch (xid %u, %zu bytes): %s",
			   ofp_type_name(buf[1]), ofp_get32(buf + 4), len, why);
		if (m.h.type == OFPT_MULTIPART_REPLY && m.h.xid == o->dump_xid)
			ofgw__on_flow_stats(o, NULL);	/* the dump is unusable */
		return;
	}
	if (o->phase == OFGW_HELLO) {
		on_hello(o, &m);
		return;
	}
	if (m.h.version != OFP_VERSION_13) {
		o->st.decode_errors++;
		ofgw__warn(o, "switch sent %s in version 0x%02x after negotiating 1.3",
			   ofp_type_name(m.h.type), m.h.version);
		sent(o, ofp_encode_error(&o->out, m.h.xid, OFPET_BAD_REQUEST, OFPBRC_BAD_VERSION, buf,
					 len < 64 ? len : 64));
		ofgw__flush(o);
		return;
	}
	dispatch(o, &m);
}

/* ------------------------------------------------------------------------- */
/* Reading                                                                   */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct ofgw_conn *c = h->data;

	(void)hint;
	if (c->rx_cap - c->rx_len < RX_CHUNK) {
		size_t cap = c->rx_len + 2 * RX_CHUNK;
		uint8_t *p = realloc(c->rx, cap);

		if (p == NULL) {
			*buf = uv_buf_init(NULL, 0);	/* libuv reports UV_ENOBUFS */
			return;
		}
		c->rx = p;
		c->rx_cap = cap;
	}
	*buf = uv_buf_init((char *)c->rx + c->rx_len, (unsigned)(c->rx_cap - c->rx_len));
}

/* Handles every complete message in the buffer, keeps a partial one. */
static void process(struct ofgw_conn *c)
{
	struct ofgw *o = c->o;
	struct ofp_header h;
	const char *why;
	size_t off = 0;

	while (c->rx_len - off >= OFP_HEADER_LEN) {
		if (ofp_peek_header(c->rx + off, c->rx_len - off, &h, &why) != 0) {
			o->st.decode_errors++;
			ofgw__warn(o, "unframeable stream from the switch: %s", why);
			ofgw__drop(o, "unframeable OpenFlow stream");
			return;
		}
		if (c->rx_len - off < h.length)
			break;
		handle(o, c->rx + off, h.length);
		if (c->closing)
			return;
		off += h.length;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ofgw_conn *c = s->data;

	(void)buf;
	if (c->closing)
		return;
	if (n < 0) {
		ofgw__drop(c->o, n == UV_EOF ? "the switch closed the connection" : uv_strerror((int)n));
		return;
	}
	c->rx_len += (size_t)n;
	process(c);
}

/* ------------------------------------------------------------------------- */
/* Accepting                                                                 */

static void on_connection(uv_stream_t *server, int status)
{
	struct ofgw *o = server->data;
	struct ofgw_conn *c;

	if (status < 0 || o->closing || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->o = o;
	uv_tcp_init(o->loop, &c->tcp);
	c->tcp.data = c;
	o->open_handles++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	ofgw__drop(o, "replaced by a new connection from the switch");
	o->conn = c;
	o->phase = OFGW_HELLO;
	o->echo_missed = 0;
	o->st.connections++;
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	sent(o, ofp_encode_hello(&o->out, ofgw__next_xid(o)));
	ofgw__flush(o);
}

static void on_echo_timer(uv_timer_t *t)
{
	struct ofgw *o = t->data;

	if (o->conn == NULL)
		return;
	if (o->echo_missed >= o->cfg.echo_max_missed) {
		o->st.echo_timeouts++;
		ofgw__warn(o, "switch silent for %u keepalive intervals of %u ms", o->echo_missed,
			   o->cfg.echo_interval_ms);
		ofgw__drop(o, "keepalive timeout");
		return;
	}
	o->echo_missed++;
	if (o->phase > OFGW_HELLO) {
		sent(o, ofp_encode_echo(&o->out, ofgw__next_xid(o), false, NULL, 0));
		ofgw__flush(o);
	}
}

int ofgw__parse_listen(const char *s, struct sockaddr_in *sa, char err[OFGW_ERRLEN])
{
	const char *colon = s != NULL ? strrchr(s, ':') : NULL;
	char ip[48];
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip)) {
		snprintf(err, OFGW_ERRLEN, "listen address '%s' is not IP:PORT (e.g. 127.0.0.1:6653)",
			 s ? s : "(null)");
		return -EINVAL;
	}
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535 ||
	    uv_ip4_addr(ip, (int)port, sa) != 0) {
		snprintf(err, OFGW_ERRLEN, "listen address '%s' is not an IPv4 address and port 0..65535",
			 s);
		return -EINVAL;
	}
	return 0;
}

int ofgw__listen(struct ofgw *o, char err[OFGW_ERRLEN])
{
	struct sockaddr_in sa;
	int rc;

	if ((rc = ofgw__parse_listen(o->cfg.listen, &sa, err)) != 0)
		return rc;
	rc = uv_tcp_bind(&o->server, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&o->server, 8, on_connection);
	if (rc != 0) {
		snprintf(err, OFGW_ERRLEN, "cannot listen for the switch on %s: %s", o->cfg.listen,
			 uv_strerror(rc));
		return rc;
	}
	o->listening = true;
	uv_timer_start(&o->echo_timer, on_echo_timer, o->cfg.echo_interval_ms,
		       o->cfg.echo_interval_ms);
	return 0;
}
