/* missrep.c — the miss-report codec and its UDP socket (missrep.h).
 *
 * The decoder follows rpc/request.c: rtv_mp_sane (common/mpack.h) bounds
 * what msgpack-c may allocate before anything is unpacked, then every known
 * key is collected once with its type checked, then every value range-checked.
 * Nothing is handed to the caller unless the whole datagram is valid.
 *
 * The socket never blocks the loop: uv_udp_try_send hands the datagram to
 * the kernel or fails at once (a full socket buffer is a lost report, made
 * good by the next one's cumulative count).
 */
#include "agent/dataplane/missrep.h"
#include "pki/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/mpack.h"

#define MOD "missrep"

/* ------------------------------------------------------------------------- */
/* Codec                                                                     */

static int fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char err[CONS_ERRLEN], int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, CONS_ERRLEN, fmt, ap);
	va_end(ap);
	return rc;
}

/* Range rules shared by the encoder and the decoder. */
static int report_check(const struct agent_missrep *r, size_t i, char err[CONS_ERRLEN])
{
	if (r->path_id == 0)
		return fail(err, -EINVAL, "report %zu: \"id\" is 0; rtpath ids start at 1", i);
	if (r->misses > r->cum_misses)
		return fail(err, -EINVAL, "report %zu (rtpath %llu): %u misses in the interval but "
			    "%llu in all", i, (unsigned long long)r->path_id, r->misses,
			    (unsigned long long)r->cum_misses);
	if (r->first_ns > r->last_ns)
		return fail(err, -EINVAL, "report %zu (rtpath %llu): first miss after the last", i,
			    (unsigned long long)r->path_id);
	if (r->max_late_ns > AGENT_MISSREP_LATE_MAX_NS || r->uncertainty_ns > AGENT_MISSREP_UNC_MAX_NS)
		return fail(err, -EINVAL, "report %zu (rtpath %llu): lateness %llu ns or clock "
			    "uncertainty %llu ns above 1 s", i, (unsigned long long)r->path_id,
			    (unsigned long long)r->max_late_ns,
			    (unsigned long long)r->uncertainty_ns);
	return 0;
}

static int msg_check(const struct agent_missrep_msg *m, char err[CONS_ERRLEN])
{
	int rc = 0;

	if (m->host == 0)
		return fail(err, -EINVAL, "\"host\" is 0; host ids start at 1");
	if (m->n == 0 || m->n > AGENT_MISSREP_MAX)
		return fail(err, -EINVAL, "%zu reports; a datagram carries 1 to %d", m->n,
			    AGENT_MISSREP_MAX);
	for (size_t i = 0; i < m->n && rc == 0; i++)
		rc = report_check(&m->r[i], i, err);
	return rc;
}

#define REPORT_KEYS 9

static int pack_report(msgpack_packer *pk, const struct agent_missrep *r)
{
	int rc = msgpack_pack_map(pk, REPORT_KEYS);

	rc |= rtv_pk_kv_u64(pk, "id", r->path_id);
	rc |= rtv_pk_kv_u64(pk, "n", r->misses);
	rc |= rtv_pk_kv_u64(pk, "cum", r->cum_misses);
	rc |= rtv_pk_kv_u64(pk, "first_ns", r->first_ns);
	rc |= rtv_pk_kv_u64(pk, "last_ns", r->last_ns);
	rc |= rtv_pk_kv_u64(pk, "late_ns", r->max_late_ns);
	rc |= rtv_pk_kv_u64(pk, "late_ipid", r->max_late_ip_id);
	rc |= rtv_pk_kv_u64(pk, "ipid", r->last_ip_id);
	rc |= rtv_pk_kv_u64(pk, "unc_ns", r->uncertainty_ns);
	return rc;
}

int agent_missrep_encode(const struct agent_missrep_msg *m, void **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	if (msg_check(m, NULL) < 0)
		return -EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = msgpack_pack_map(&pk, 5);
	rc |= rtv_pk_kv_u64(&pk, "v", AGENT_MISSREP_VERSION);
	rc |= rtv_pk_str(&pk, "t") | rtv_pk_str(&pk, "miss");
	rc |= rtv_pk_kv_u64(&pk, "host", m->host);
	rc |= rtv_pk_kv_u64(&pk, "seq", m->seq);
	rc |= rtv_pk_str(&pk, "r") | msgpack_pack_array(&pk, m->n);
	for (size_t i = 0; i < m->n; i++)
		rc |= pack_report(&pk, &m->r[i]);
	if (rc || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*buf = sb.data;
	*len = sb.size;
	return 0;
}

static bool str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

/* Finds each of names[0..n) in map o once, every value of type `type` (or
 * any type where types[i] is set otherwise). Unknown keys are skipped. */
static int collect(const msgpack_object *o, const char *const *names, const msgpack_object_type *types,
		   size_t n, const msgpack_object **vals, const char *ctx, char err[CONS_ERRLEN])
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(err, -EPROTO, "%s is not a msgpack map", ctx);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(err, -EPROTO, "%s: keys are strings", ctx);
		for (size_t k = 0; k < n; k++) {
			if (!str_is(&kv->key, names[k]))
				continue;
			if (vals[k])
				return fail(err, -EPROTO, "%s: \"%s\" appears twice", ctx, names[k]);
			if (kv->val.type != types[k])
				return fail(err, -EPROTO, "%s: \"%s\" has the wrong type", ctx,
					    names[k]);
			vals[k] = &kv->val;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!vals[k])
			return fail(err, -EPROTO, "%s: \"%s\" is missing", ctx, names[k]);
	return 0;
}

static const char *const report_names[REPORT_KEYS] = {
	"id", "n", "cum", "first_ns", "last_ns", "late_ns", "late_ipid", "ipid", "unc_ns",
};

static int decode_report(const msgpack_object *o, size_t i, struct agent_missrep *r,
			 char err[CONS_ERRLEN])
{
	msgpack_object_type types[REPORT_KEYS];
	const msgpack_object *v[REPORT_KEYS] = { 0 };
	char ctx[32];
	int rc;

	for (size_t k = 0; k < REPORT_KEYS; k++)
		types[k] = MSGPACK_OBJECT_POSITIVE_INTEGER;
	snprintf(ctx, sizeof(ctx), "report %zu", i);
	if ((rc = collect(o, report_names, types, REPORT_KEYS, v, ctx, err)) < 0)
		return rc;
	if (v[1]->via.u64 > UINT32_MAX || v[6]->via.u64 > UINT16_MAX || v[7]->via.u64 > UINT16_MAX)
		return fail(err, -EINVAL, "%s: \"n\" above 2^32 or an IP id above 65535", ctx);
	*r = (struct agent_missrep){
		.path_id = v[0]->via.u64, .misses = (uint32_t)v[1]->via.u64,
		.cum_misses = v[2]->via.u64, .first_ns = v[3]->via.u64, .last_ns = v[4]->via.u64,
		.max_late_ns = v[5]->via.u64, .max_late_ip_id = (uint16_t)v[6]->via.u64,
		.last_ip_id = (uint16_t)v[7]->via.u64, .uncertainty_ns = v[8]->via.u64,
	};
	return report_check(r, i, err);
}

static int decode_root(const msgpack_object *o, struct agent_missrep_msg *m,
		       char err[CONS_ERRLEN])
{
	static const char *const names[] = { "v", "t", "host", "seq", "r" };
	static const msgpack_object_type types[] = {
		MSGPACK_OBJECT_POSITIVE_INTEGER, MSGPACK_OBJECT_STR, MSGPACK_OBJECT_POSITIVE_INTEGER,
		MSGPACK_OBJECT_POSITIVE_INTEGER, MSGPACK_OBJECT_ARRAY,
	};
	const msgpack_object *v[5] = { 0 };
	int rc = collect(o, names, types, 5, v, "miss report", err);

	if (rc < 0)
		return rc;
	if (v[0]->via.u64 == 0)
		return fail(err, -EPROTO, "\"v\" is 0; versions start at 1");
	if (v[0]->via.u64 > AGENT_MISSREP_VERSION)
		return fail(err, -EPROTONOSUPPORT, "miss report version %llu is newer than this "
			    "rtvd's %d", (unsigned long long)v[0]->via.u64, AGENT_MISSREP_VERSION);
	if (!str_is(v[1], "miss"))
		return fail(err, -EPROTO, "\"t\" is not \"miss\"");
	if (v[4]->via.array.size == 0 || v[4]->via.array.size > AGENT_MISSREP_MAX)
		return fail(err, -EINVAL, "%u reports; a datagram carries 1 to %d",
			    v[4]->via.array.size, AGENT_MISSREP_MAX);
	m->host = v[2]->via.u64;
	m->seq = v[3]->via.u64;
	m->n = v[4]->via.array.size;
	for (size_t i = 0; i < m->n; i++)
		if ((rc = decode_report(&v[4]->via.array.ptr[i], i, &m->r[i], err)) < 0)
			return rc;
	return msg_check(m, err);
}

int agent_missrep_decode(const void *buf, size_t len, struct agent_missrep_msg *m,
			 char err[CONS_ERRLEN])
{
	struct agent_missrep_msg tmp;
	msgpack_unpacked up;
	size_t off = 0;
	int rc;

	err[0] = '\0';
	if (len > AGENT_MISSREP_MAX_BYTES)
		return fail(err, -EPROTO, "%zu bytes; a miss report is at most %d", len,
			    AGENT_MISSREP_MAX_BYTES);
	if (!rtv_mp_sane(buf, len))
		return fail(err, -EPROTO, "not a well-formed msgpack message (%zu bytes)", len);
	memset(&tmp, 0, sizeof(tmp));
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
		rc = fail(err, -EPROTO, "not a well-formed msgpack message (%zu bytes)", len);
	else
		rc = decode_root(&up.data, &tmp, err);
	msgpack_unpacked_destroy(&up);
	if (rc == 0)
		*m = tmp;
	return rc;
}

/* ------------------------------------------------------------------------- */
/* The socket                                                                */

static void ip_str(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(ip) };

	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct agent_missrep_sock *s = h->data;

	(void)hint;
	*b = uv_buf_init((char *)s->buf, sizeof(s->buf));
}

static void log_dgram(struct agent_missrep_sock *s, uint32_t from, const char *why)
{
	char ip[INET_ADDRSTRLEN];
	uint64_t suppressed = 0;

	if (!rtv_ratelimit_ok(&s->bad_rl, &suppressed))
		return;
	ip_str(from, ip);
	rtv_warn(MOD, "ignored a datagram from %s: %s%s", ip, why,
		 suppressed ? " (and more like it, not logged)" : "");
}

static void bad_dgram(struct agent_missrep_sock *s, uint32_t from, const char *why)
{
	s->stats.dgrams_bad++;
	log_dgram(s, from, why);
}

/* Opens a sealed datagram into s->plain; false (counted, logged) when it is
 * refused. */
static bool unseal(struct agent_missrep_sock *s, uint32_t from, const uv_buf_t *b,
		   ssize_t *nread)
{
	struct timespec ts;
	size_t len = 0;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = pki_dgram_open(s->seal, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			    b->base, (size_t)*nread, s->plain, sizeof(s->plain), &len,
			    &s->sealed_by);
	if (rc == 0) {
		*nread = (ssize_t)len;
		return true;
	}
	if (rc == -EALREADY || rc == -ETIME)
		s->stats.dgrams_replayed++;
	else
		s->stats.dgrams_unauth++;
	log_dgram(s, from, pki_dgram_strerror(rc));
	return false;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
		    unsigned flags)
{
	struct agent_missrep_sock *s = u->data;
	struct agent_missrep_msg m;
	char err[CONS_ERRLEN];
	uint32_t from = 0;

	if (nread == 0 && !addr)
		return;	/* nothing more to read */
	if (addr && addr->sa_family == AF_INET)
		from = ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr);
	if (nread < 0) {
		bad_dgram(s, from, uv_strerror((int)nread));
		return;
	}
	s->stats.dgrams_received++;
	if (flags & UV_UDP_PARTIAL ||
	    (size_t)nread > AGENT_MISSREP_MAX_BYTES + (s->seal ? PKI_SEAL_OVERHEAD : 0)) {
		bad_dgram(s, from, "longer than a miss report may be");
		return;
	}
	if (s->seal && !unseal(s, from, b, &nread))
		return;
	if (agent_missrep_decode(s->seal ? (const void *)s->plain : b->base, (size_t)nread, &m,
				 err) < 0) {
		bad_dgram(s, from, err);
		return;
	}
	if (s->seal && m.host != s->sealed_by) {
		s->stats.dgrams_unauth++;
		s->stats.dgrams_wrong_sender++;
		log_dgram(s, from, "sealed by one host, reporting as another");
		return;
	}
	s->stats.reports_received += m.n;
	s->fn(s->arg, &m, from);
}

static void sockaddr_of(struct sockaddr_in *sa, uint32_t ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(ip);
	sa->sin_port = htons(port);
}

/* CS6 on everything the socket sends (docs/architecture.md: "at the highest priority"). */
static int mark_cs6(uv_udp_t *u)
{
	int tos = AGENT_MISSREP_DSCP << 2;
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)u, &fd) < 0)
		return -EBADF;
	return setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ? -errno : 0;
}

int agent_missrep_open(struct agent_missrep_sock *s, uv_loop_t *loop, uint64_t host,
		       uint32_t ip, uint16_t port, agent_missrep_fn fn, void *arg,
		       char err[CONS_ERRLEN])
{
	struct sockaddr_in sa;
	char ips[INET_ADDRSTRLEN];
	int rc;

	memset(s, 0, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	s->host = host;
	s->bad_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(10, 5);
	s->send_rl = (struct rtv_ratelimit)RTV_RATELIMIT_INIT(10, 5);
	if ((rc = uv_udp_init(loop, &s->udp)) < 0)
		return fail(err, rc, "miss reports: %s", uv_strerror(rc));
	s->udp.data = s;
	s->open = true;
	sockaddr_of(&sa, ip, port);
	ip_str(ip, ips);
	rc = uv_udp_bind(&s->udp, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = mark_cs6(&s->udp);
	if (rc == 0)
		rc = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
	if (rc < 0) {
		fail(err, rc, "miss reports: cannot listen on UDP %s:%u: %s (set [dataplane] "
		     "miss_port to a free port)", ips, port, uv_strerror(rc));
		agent_missrep_close(s);
	}
	return rc;
}

/* Replaces *buf (len bytes) with its sealed form. */
static int seal(struct agent_missrep_sock *s, void **buf, size_t *len)
{
	size_t cap = *len + PKI_SEAL_OVERHEAD, out_len = 0;
	void *out = malloc(cap);
	struct timespec ts;
	int rc;

	if (!out) {
		free(*buf);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = pki_dgram_seal(s->seal, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			    *buf, *len, out, cap, &out_len);
	free(*buf);
	if (rc < 0) {
		free(out);
		return rc;
	}
	*buf = out;
	*len = out_len;
	return 0;
}

void agent_missrep_set_seal(struct agent_missrep_sock *s, struct pki_dgram *d)
{
	pki_dgram_free(s->seal);
	s->seal = d;
}

int agent_missrep_send(struct agent_missrep_sock *s, uint32_t ip, uint16_t port,
		       const struct agent_missrep *r, size_t n)
{
	struct agent_missrep_msg m = { .host = s->host, .seq = s->seq + 1, .n = n };
	char ips[INET_ADDRSTRLEN];
	uint64_t suppressed = 0;
	struct sockaddr_in sa;
	void *buf = NULL;
	size_t len = 0;
	uv_buf_t b;
	int rc = -EINVAL;

	if (!s->open || n == 0 || n > AGENT_MISSREP_MAX)
		return -EINVAL;
	memcpy(m.r, r, n * sizeof(*r));
	if ((rc = agent_missrep_encode(&m, &buf, &len)) == 0 && s->seal)
		rc = seal(s, &buf, &len);
	if (rc == 0) {
		sockaddr_of(&sa, ip, port);
		b = uv_buf_init(buf, (unsigned)len);
		rc = uv_udp_try_send(&s->udp, &b, 1, (const struct sockaddr *)&sa);
		rc = rc < 0 ? rc : 0;
		free(buf);
	}
	if (rc == 0) {
		s->seq++;
		s->stats.dgrams_sent++;
		s->stats.reports_sent += n;
		return 0;
	}
	s->stats.send_errors++;
	if (rtv_ratelimit_ok(&s->send_rl, &suppressed)) {
		ip_str(ip, ips);
		rtv_warn(MOD, "cannot send %zu miss reports to %s:%u: %s%s", n, ips, port,
			 rc == -EINVAL ? "invalid report" : uv_strerror(rc),
			 suppressed ? " (and more failures, not logged)" : "");
	}
	return rc;
}

void agent_missrep_close(struct agent_missrep_sock *s)
{
	pki_dgram_free(s->seal);
	s->seal = NULL;
	if (!s->open)
		return;
	s->open = false;
	uv_udp_recv_stop(&s->udp);
	if (!uv_is_closing((uv_handle_t *)&s->udp))
		uv_close((uv_handle_t *)&s->udp, NULL);
}
