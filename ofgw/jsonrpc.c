/* jsonrpc.c — JSON-RPC 1.0 over a byte stream, as OVSDB uses it.
 *
 * RFC 7047 §4 carries JSON-RPC 1.0 messages over a stream with nothing
 * between them: one JSON object after another. We frame them ourselves
 * rather than retrying json_loadb on a growing buffer (quadratic for a large
 * initial monitor reply split over many reads): a bracket counter that skips
 * strings and their escapes finds the end of each top-level object, and only
 * then does jansson parse (and fully validate) that one message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ofgw/ovsdb_internal.h"

void ofgw_jrpc_framer_init(struct ofgw_jrpc_framer *f, size_t max_bytes)
{
	memset(f, 0, sizeof(*f));
	f->max_bytes = max_bytes;
}

void ofgw_jrpc_framer_close(struct ofgw_jrpc_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	ofgw_jrpc_framer_reset(f);
}

void ofgw_jrpc_framer_reset(struct ofgw_jrpc_framer *f)
{
	f->len = f->start = f->pos = 0;
	f->depth = 0;
	f->in_string = f->escape = false;
	f->error = 0;
}

int ofgw_jrpc_framer_feed(struct ofgw_jrpc_framer *f, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (f->start > 0) {	/* drop the messages already returned */
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->pos -= f->start;
		f->start = 0;
	}
	if (n > f->cap - f->len) {
		size_t cap = f->cap ? f->cap : 4096;
		char *p;

		while (cap - f->len < n) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		p = realloc(f->buf, cap);
		if (p == NULL)
			return -ENOMEM;
		f->buf = p;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return 0;
}

static int framer_fail(struct ofgw_jrpc_framer *f, int e)
{
	f->error = e;
	return e;
}

/* Scans one byte inside a message; true when it closed the top level. */
static bool scan_byte(struct ofgw_jrpc_framer *f, char ch, int *e)
{
	if (f->in_string) {
		if (f->escape)
			f->escape = false;
		else if (ch == '\\')
			f->escape = true;
		else if (ch == '"')
			f->in_string = false;
		return false;
	}
	switch (ch) {
	case '"':
		f->in_string = true;
		break;
	case '{':
	case '[':
		if (++f->depth > OFGW_JRPC_DEPTH_MAX)
			*e = -EPROTO;
		break;
	case '}':
	case ']':
		return --f->depth == 0;
	}
	return false;
}

int ofgw_jrpc_framer_next(struct ofgw_jrpc_framer *f, const char **msg, size_t *len)
{
	int e = 0;

	if (f->error != 0)
		return f->error;
	while (f->pos < f->len) {
		char ch = f->buf[f->pos];

		if (f->depth == 0) {
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
				f->start = ++f->pos;
				continue;
			}
			if (ch != '{')
				return framer_fail(f, -EPROTO);
			f->depth = 1;
			f->start = f->pos++;
			continue;
		}
		if (f->pos + 1 - f->start > f->max_bytes)
			return framer_fail(f, -EMSGSIZE);
		f->pos++;
		if (scan_byte(f, ch, &e)) {
			*msg = f->buf + f->start;
			*len = f->pos - f->start;
			f->start = f->pos;
			return 1;
		}
		if (e != 0)
			return framer_fail(f, e);
	}
	return 0;
}

/* ------------------------------------------------------------------------- */

static int bad(char *err, const char *what)
{
	snprintf(err, OFGW_OVSDB_ERRLEN, "malformed JSON-RPC message: %s", what);
	return -EPROTO;
}

/* JSON-RPC 1.0: a request has "method", "params" (an array) and "id"; a
 * notification is a request whose id is null; a response has "result",
 * "error" and the request's "id" (RFC 7047 §4). */
static int classify(json_t *j, struct ofgw_jrpc_msg *m, char *err)
{
	json_t *method = json_object_get(j, "method");

	memset(m, 0, sizeof(*m));
	m->id = json_object_get(j, "id");
	if (m->id == NULL)
		return bad(err, "no \"id\"");
	if (method != NULL) {
		if (!json_is_string(method))
			return bad(err, "\"method\" is not a string");
		m->params = json_object_get(j, "params");
		if (!json_is_array(m->params))
			return bad(err, "\"params\" is not an array");
		m->method = json_string_value(method);
		m->kind = json_is_null(m->id) ? OFGW_JRPC_NOTIFY : OFGW_JRPC_REQUEST;
		return 0;
	}
	m->result = json_object_get(j, "result");
	m->error = json_object_get(j, "error");
	if (m->error != NULL && !json_is_null(m->error)) {
		m->kind = OFGW_JRPC_ERROR;
		return 0;
	}
	if (m->result == NULL)
		return bad(err, "neither \"method\" nor \"result\"");
	m->kind = OFGW_JRPC_REPLY;
	return 0;
}

int ofgw_jrpc_parse(const char *data, size_t len, json_t **root, struct ofgw_jrpc_msg *m,
		    char err[OFGW_OVSDB_ERRLEN])
{
	json_error_t je;
	json_t *j;
	int rc;

	*root = NULL;
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		snprintf(err, OFGW_OVSDB_ERRLEN, "malformed JSON at byte %d: %s", je.position,
			 je.text);
		return -EPROTO;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return bad(err, "not an object");
	}
	rc = classify(j, m, err);
	if (rc != 0) {
		json_decref(j);
		return rc;
	}
	*root = j;
	return 0;
}

json_t *ofgw_jrpc_request(const char *method, json_t *params, json_int_t id)
{
	return json_pack("{s:s, s:o, s:I}", "method", method, "params", params, "id", id);
}

json_t *ofgw_jrpc_reply(json_t *result, const json_t *id)
{
	return json_pack("{s:o, s:n, s:O}", "result", result, "error", "id", (json_t *)id);
}

char *ofgw_jrpc_dump(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT);

	if (s != NULL)
		*len = strlen(s);
	return s;
}

/* The server's text ends up in our log lines: no control characters. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void ofgw_jrpc_error_text(const json_t *error, char *out, size_t n)
{
	const char *e = json_string_value(json_object_get(error, "error"));
	const char *d = json_string_value(json_object_get(error, "details"));
	char *dump;

	if (n == 0)
		return;
	if (e != NULL) {
		snprintf(out, n, "%s%s%s", e, d ? ": " : "", d ? d : "");
	} else if (json_is_string(error)) {
		snprintf(out, n, "%s", json_string_value(error));
	} else {
		dump = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(out, n, "%s", dump ? dump : "(unprintable error)");
		free(dump);
	}
	sanitize(out);
}
