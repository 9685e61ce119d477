/* client.c — rtvd's end of the channel (dpd.h, "rtvd's end").
 *
 * Strict request/reply: rtvdp sends nothing unasked, so every reply read
 * answers the request just sent (its "re" is checked all the same). An
 * error reply becomes the call's return code with rtvdp's sentence in err.
 */
#include "dpd/dpd_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void dpd_default_path(const char *data_dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/rtvdp.sock", data_dir);
}

/* Sends q, reads its reply into *r (of type want, or an error). */
static int call(struct dpd_client *c, struct dpd_msg *q, enum dpd_type want, struct dpd_msg *r,
		char err[CONS_ERRLEN])
{
	int rc;

	if (c->fd < 0)
		return dpd__fail(err, -ENOTCONN, "not connected to rtvdp");
	q->seq = ++c->seq;
	if ((rc = dpd_send(c->fd, q, err)) < 0 ||
	    (rc = dpd_recv(c->fd, &c->rb, r, c->timeout_ms, err)) < 0)
		return rc;
	if (r->type == DPD_T_ERROR) {
		rc = r->u.error.code;
		dpd__fail(err, rc, "rtvdp: %s", r->u.error.msg);
		return rc;
	}
	if (r->type != want || r->re != q->seq) {
		dpd_msg_free(r);
		return dpd__fail(err, -EPROTO, "rtvdp answered request %llu with a %s for %llu",
				 (unsigned long long)q->seq, dpd_type_name(r->type),
				 (unsigned long long)r->re);
	}
	return 0;
}

static int hello(struct dpd_client *c, uint64_t host_id, const char *name, char err[CONS_ERRLEN])
{
	struct dpd_msg q = { .type = DPD_T_HELLO }, r;
	int rc;

	q.u.hello.host_id = host_id;
	q.u.hello.pid = (uint32_t)getpid();
	snprintf(q.u.hello.name, sizeof(q.u.hello.name), "%s", name);
	if ((rc = call(c, &q, DPD_T_STATE, &r, err)) < 0)
		return rc;
	c->state = r.u.state;
	return 0;
}

int dpd_client_open(struct dpd_client *c, const char *path, uint64_t host_id, const char *name,
		    int timeout_ms, char err[CONS_ERRLEN])
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	dpd_rbuf_init(&c->rb);
	if ((c->fd = dpd_connect(path, err)) < 0) {
		rc = c->fd;
		c->fd = -1;
		return rc;
	}
	if ((rc = hello(c, host_id, name, err)) < 0)
		dpd_client_close(c);
	return rc;
}

void dpd_client_close(struct dpd_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	dpd_rbuf_close(&c->rb);
}

int dpd_client_state(struct dpd_client *c, struct dpd_state *out, char err[CONS_ERRLEN])
{
	int rc = hello(c, c->state.host_id, "rtvd", err);

	if (rc == 0)
		*out = c->state;
	return rc;
}

int dpd_client_table(struct dpd_client *c, const struct dpd_table *t, struct dpd_table_ok *ok,
		     char err[CONS_ERRLEN])
{
	struct dpd_msg q = { .type = DPD_T_TABLE }, r;
	int rc;

	q.u.table = *t;
	if ((rc = call(c, &q, DPD_T_TABLE_OK, &r, err)) == 0)
		*ok = r.u.table_ok;
	return rc;
}

int dpd_client_stats(struct dpd_client *c, struct dpd_msg *m, char err[CONS_ERRLEN])
{
	struct dpd_msg q = { .type = DPD_T_STATS_GET };

	return call(c, &q, DPD_T_STATS, m, err);
}

int dpd_client_misses(struct dpd_client *c, struct dp_miss_report *out, size_t max, size_t *n,
		      uint64_t *dropped, char err[CONS_ERRLEN])
{
	struct dpd_msg q = { .type = DPD_T_MISSES_GET }, r;
	int rc;

	q.u.misses_get.ack = c->ack;
	q.u.misses_get.max = (uint32_t)(max < DPD_MISSES_MAX ? max : DPD_MISSES_MAX);
	if ((rc = call(c, &q, DPD_T_MISSES, &r, err)) < 0)
		return rc;
	*n = r.u.misses.n < max ? r.u.misses.n : max;
	if (*n)
		memcpy(out, r.u.misses.r, *n * sizeof(*out));
	*dropped = r.u.misses.dropped;
	if (*n)
		c->ack = r.u.misses.first_seq + *n;
	dpd_msg_free(&r);
	return 0;
}
