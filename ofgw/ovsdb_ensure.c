/* ovsdb_ensure.c — the bridge settings rtvd needs, written only if missing.
 *
 * Two transactions (RFC 7047 §4.1.3, §5.2). The first only reads, in one
 * snapshot: every Bridge (name, settings, ports), the internal port and
 * interface by name, every Controller, and the root Open_vSwitch row. From
 * that, ofgw_odb_ensure_plan writes exactly what differs, so a restart of
 * rtvd with everything in place writes nothing at all. The write opens with
 * a "wait" that pins what the plan assumed about the bridge (absent, or
 * present under the same uuid); if someone changed it in between, the wait
 * times out (timeout 0: at once) and the caller reads again. Inserting a
 * second port or bridge of the same name is refused by the tables' name
 * indexes (§3.2 "indexes"), which the caller treats the same way.
 *
 * Rows are inserted the way ovs-vsctl add-br does: the bridge with its own
 * local port of type internal, the Open_vSwitch row's "bridges" mutated to
 * include it (Bridge is not a root table: unreferenced, it would be
 * garbage-collected at commit). If the database was never initialised
 * (no Open_vSwitch row), the plan inserts that row too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ofgw/ovsdb_internal.h"

enum { RD_BRIDGES, RD_PORT, RD_IFACE, RD_CTLS, RD_ROOT, RD_N };

#define FAIL_MODE "secure"
#define OF_VERSION "OpenFlow13"

static bool is_text(const char *s, size_t n)
{
	const char *end = memchr(s, '\0', n);

	if (end == NULL)
		return false;
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int spec_bad(char *err, const char *what)
{
	snprintf(err, OFGW_OVSDB_ERRLEN, "bridge settings: %s", what);
	return -EINVAL;
}

int ofgw_odb_spec_check(const char *bridge, const struct ofgw_ovsdb_bridge_spec *s,
			char err[OFGW_OVSDB_ERRLEN])
{
	if (!is_text(s->datapath_type, sizeof(s->datapath_type)))
		return spec_bad(err, "datapath_type is not a terminated string (\"netdev\" or \"system\")");
	if (!is_text(s->controller, sizeof(s->controller)) || strchr(s->controller, ':') == NULL)
		return spec_bad(err, "controller must be an OVS target such as tcp:127.0.0.1:6653");
	if (!is_text(s->int_port, sizeof(s->int_port)) || s->int_port[0] == '\0')
		return spec_bad(err, "int_port must name the internal port, e.g. rtv-int");
	if (!is_text(s->int_type, sizeof(s->int_type)))
		return spec_bad(err, "int_type is not a terminated string (\"internal\" or \"\")");
	if (strcmp(s->int_port, bridge) == 0)
		return spec_bad(err, "int_port must differ from the bridge name (that is its local port)");
	return 0;
}

json_t *ofgw_odb_ensure_read(const struct ofgw_ovsdb_bridge_spec *s)
{
	return json_pack("[s,"
			 "{s:s, s:s, s:[], s:[s,s,s,s,s,s,s]},"
			 "{s:s, s:s, s:[[s,s,s]], s:[s,s]},"
			 "{s:s, s:s, s:[[s,s,s]], s:[s,s]},"
			 "{s:s, s:s, s:[], s:[s,s]},"
			 "{s:s, s:s, s:[], s:[s]}]",
			 OFGW_OVSDB_DB,
			 "op", "select", "table", "Bridge", "where", "columns", "_uuid", "name",
			 "datapath_type", "fail_mode", "protocols", "controller", "ports",
			 "op", "select", "table", "Port", "where", "name", "==", s->int_port,
			 "columns", "_uuid", "interfaces",
			 "op", "select", "table", "Interface", "where", "name", "==", s->int_port,
			 "columns", "_uuid", "type",
			 "op", "select", "table", "Controller", "where", "columns", "_uuid", "target",
			 "op", "select", "table", "Open_vSwitch", "where", "columns", "_uuid");
}

/* ------------------------------------------------------------------------- */
/* Reading the read                                                          */

struct rd {
	const json_t *rows[RD_N];	/* each select's "rows" array */
};

static int proto_bad(char *err, const char *what)
{
	snprintf(err, OFGW_OVSDB_ERRLEN, "malformed transact result: %s", what);
	return -EPROTO;
}

static int parse_read(const json_t *result, struct rd *rd, char *err)
{
	int rc = ofgw_odb_txn_result(result, RD_N, err);

	if (rc != 0)
		return rc == -EAGAIN ? -EIO : rc;
	for (int i = 0; i < RD_N; i++) {
		const json_t *rows = json_object_get(json_array_get(result, (size_t)i), "rows");

		if (!json_is_array(rows))
			return proto_bad(err, "a select result has no \"rows\" array");
		for (size_t j = 0; j < json_array_size(rows); j++) {
			const json_t *row = json_array_get(rows, j);

			if (!json_is_object(row) || ofgw_odb_uuid(json_object_get(row, "_uuid")) == NULL)
				return proto_bad(err, "a selected row has no valid _uuid");
		}
		rd->rows[i] = rows;
	}
	return 0;
}

static const char *row_uuid(const json_t *row)
{
	return ofgw_odb_uuid(json_object_get(row, "_uuid"));
}

/* The row of `rows` whose uuid is `uuid`. */
static const json_t *row_by_uuid(const json_t *rows, const char *uuid)
{
	for (size_t i = 0; i < json_array_size(rows); i++)
		if (strcmp(row_uuid(json_array_get(rows, i)), uuid) == 0)
			return json_array_get(rows, i);
	return NULL;
}

static const json_t *bridge_by_name(const json_t *rows, const char *name)
{
	for (size_t i = 0; i < json_array_size(rows); i++) {
		const char *n = json_string_value(json_object_get(json_array_get(rows, i), "name"));

		if (n != NULL && strcmp(n, name) == 0)
			return json_array_get(rows, i);
	}
	return NULL;
}

/* The bridge whose "ports" hold port `uuid`, or NULL. */
static const json_t *bridge_with_port(const json_t *rows, const char *uuid)
{
	for (size_t i = 0; i < json_array_size(rows); i++) {
		struct ofgw_odb_set ports;

		if (ofgw_odb_uuid_set(json_object_get(json_array_get(rows, i), "ports"), &ports) == 0 &&
		    ofgw_odb_uuid_set_has(&ports, uuid))
			return json_array_get(rows, i);
	}
	return NULL;
}

/* "" and "system" are the same datapath and the same interface type. */
static bool same_type(const char *a, const char *b)
{
	if (strcmp(a, "system") == 0)
		a = "";
	if (strcmp(b, "system") == 0)
		b = "";
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------------- */
/* Building the write                                                        */

struct plan {
	const char *bridge;
	const struct ofgw_ovsdb_bridge_spec *s;
	struct rd rd;
	json_t *ops;		/* the operations, without the database name */
	size_t n_guards;	/* leading "wait"s: no change by themselves */
	bool oom;
	char *err;
};

static void add(struct plan *p, json_t *op)
{
	if (op == NULL || json_array_append_new(p->ops, op) != 0)
		p->oom = true;
}

static json_t *where_uuid(const char *uuid)
{
	return json_pack("[[s,s,[s,s]]]", "_uuid", "==", "uuid", uuid);
}

static void op_insert(struct plan *p, const char *table, json_t *row, const char *name)
{
	add(p, json_pack("{s:s, s:s, s:o, s:s}", "op", "insert", "table", table, "row", row,
			 "uuid-name", name));
}

static void op_update(struct plan *p, const char *table, const char *uuid, json_t *row)
{
	add(p, json_pack("{s:s, s:s, s:o, s:o}", "op", "update", "table", table, "where",
			 where_uuid(uuid), "row", row));
}

/* table[uuid].column ∪= {named-uuid name} */
static void op_mutate_add(struct plan *p, const char *table, const char *uuid,
			  const char *column, const char *name)
{
	add(p, json_pack("{s:s, s:s, s:o, s:[[s,s,[s,[[s,s]]]]]}", "op", "mutate", "table", table,
			 "where", where_uuid(uuid), "mutations", column, "insert", "set",
			 "named-uuid", name));
}

/* Fails at once (timeout 0) unless `column` of the rows matching `where`
 * equals `rows`. */
static void op_wait(struct plan *p, const char *table, json_t *where, const char *column,
		    json_t *rows)
{
	add(p, json_pack("{s:s, s:s, s:o, s:[s], s:s, s:o, s:i}", "op", "wait", "table", table,
			 "where", where, "columns", column, "until", "==", "rows", rows, "timeout", 0));
	p->n_guards++;
}

/* Interface + Port named int_port; the Port's uuid-name is "rtv_iport". */
static void insert_int_port(struct plan *p)
{
	op_insert(p, "Interface",
		  json_pack("{s:s, s:s}", "name", p->s->int_port, "type", p->s->int_type), "rtv_iif");
	op_insert(p, "Port",
		  json_pack("{s:s, s:[s,s]}", "name", p->s->int_port, "interfaces", "named-uuid",
			    "rtv_iif"),
		  "rtv_iport");
}

static void attach_root(struct plan *p)
{
	const json_t *root = json_array_get(p->rd.rows[RD_ROOT], 0);

	if (root != NULL) {
		op_mutate_add(p, "Open_vSwitch", row_uuid(root), "bridges", "rtv_br");
		return;
	}
	op_wait(p, "Open_vSwitch", json_array(), "_uuid", json_array());
	op_insert(p, "Open_vSwitch", json_pack("{s:[s,s]}", "bridges", "named-uuid", "rtv_br"),
		  "rtv_root");
}

static int plan_create(struct plan *p)
{
	const json_t *port = json_array_get(p->rd.rows[RD_PORT], 0);

	if (port != NULL) {
		const json_t *owner = bridge_with_port(p->rd.rows[RD_BRIDGES], row_uuid(port));
		const char *oname = json_string_value(json_object_get(owner, "name"));

		snprintf(p->err, OFGW_OVSDB_ERRLEN,
			 "port %s already exists (on bridge %.60s); remove it with ovs-vsctl del-port",
			 p->s->int_port, oname ? oname : "(none)");
		return -EEXIST;
	}
	op_wait(p, "Bridge", json_pack("[[s,s,s]]", "name", "==", p->bridge), "name", json_array());
	op_insert(p, "Interface", json_pack("{s:s, s:s}", "name", p->bridge, "type", "internal"),
		  "rtv_lif");
	op_insert(p, "Port",
		  json_pack("{s:s, s:[s,s]}", "name", p->bridge, "interfaces", "named-uuid", "rtv_lif"),
		  "rtv_lport");
	insert_int_port(p);
	op_insert(p, "Controller", json_pack("{s:s}", "target", p->s->controller), "rtv_ctl");
	op_insert(p, "Bridge",
		  json_pack("{s:s, s:s, s:s, s:[s,[s]], s:[s,s], s:[s,[[s,s],[s,s]]]}",
			    "name", p->bridge, "datapath_type", p->s->datapath_type,
			    "fail_mode", FAIL_MODE, "protocols", "set", OF_VERSION,
			    "controller", "named-uuid", "rtv_ctl",
			    "ports", "set", "named-uuid", "rtv_lport", "named-uuid", "rtv_iport"),
		  "rtv_br");
	attach_root(p);
	return 0;
}

static int bridge_bad(struct plan *p, const char *what)
{
	snprintf(p->err, OFGW_OVSDB_ERRLEN, "malformed Bridge %s row: %s", p->bridge, what);
	return -EPROTO;
}

/* The plain columns of the bridge: set in *row what differs. */
static int diff_bridge(struct plan *p, const json_t *br, json_t *row)
{
	const char *dp = json_string_value(json_object_get(br, "datapath_type"));
	char fail_mode[OFGW_OVSDB_NAME_MAX];
	bool is = false;

	if (dp == NULL)
		return bridge_bad(p, "datapath_type");
	if (!same_type(dp, p->s->datapath_type))
		json_object_set_new(row, "datapath_type", json_string(p->s->datapath_type));
	if (ofgw_odb_opt_string(json_object_get(br, "fail_mode"), fail_mode, sizeof(fail_mode)) == -EINVAL)
		return bridge_bad(p, "fail_mode");
	if (strcmp(fail_mode, FAIL_MODE) != 0)
		json_object_set_new(row, "fail_mode", json_string(FAIL_MODE));
	if (ofgw_odb_string_set_is(json_object_get(br, "protocols"), OF_VERSION, &is) != 0)
		return bridge_bad(p, "protocols");
	if (!is)
		json_object_set_new(row, "protocols", json_pack("[s,[s]]", "set", OF_VERSION));
	return 0;
}

/* Exactly one Controller with our target. */
static int diff_controller(struct plan *p, const json_t *br, json_t *row)
{
	struct ofgw_odb_set ctls;
	const json_t *ctl;
	const char *target;

	if (ofgw_odb_uuid_set(json_object_get(br, "controller"), &ctls) != 0)
		return bridge_bad(p, "controller");
	ctl = ctls.n == 1 ? row_by_uuid(p->rd.rows[RD_CTLS],
					ofgw_odb_uuid(ofgw_odb_set_at(&ctls, 0))) : NULL;
	target = json_string_value(json_object_get(ctl, "target"));
	if (target != NULL && strcmp(target, p->s->controller) == 0)
		return 0;
	if (target != NULL) {
		op_update(p, "Controller", row_uuid(ctl),
			  json_pack("{s:s}", "target", p->s->controller));
		return 0;
	}
	op_insert(p, "Controller", json_pack("{s:s}", "target", p->s->controller), "rtv_ctl");
	json_object_set_new(row, "controller", json_pack("[s,s]", "named-uuid", "rtv_ctl"));
	return 0;
}

/* The internal port: on our bridge, with one interface of the right type. */
static int diff_int_port(struct plan *p, const json_t *br)
{
	const json_t *port = json_array_get(p->rd.rows[RD_PORT], 0);
	const json_t *iface = json_array_get(p->rd.rows[RD_IFACE], 0), *owner;
	const char *oname, *type;
	struct ofgw_odb_set ifaces;

	if (port == NULL) {
		insert_int_port(p);
		op_mutate_add(p, "Bridge", row_uuid(br), "ports", "rtv_iport");
		return 0;
	}
	owner = bridge_with_port(p->rd.rows[RD_BRIDGES], row_uuid(port));
	if (owner != br) {
		oname = json_string_value(json_object_get(owner, "name"));
		snprintf(p->err, OFGW_OVSDB_ERRLEN,
			 "port %s is on bridge %.60s, not %s; remove it there with ovs-vsctl del-port",
			 p->s->int_port, oname ? oname : "(none)", p->bridge);
		return -EEXIST;
	}
	if (ofgw_odb_uuid_set(json_object_get(port, "interfaces"), &ifaces) != 0 || iface == NULL ||
	    !ofgw_odb_uuid_set_has(&ifaces, row_uuid(iface))) {
		snprintf(p->err, OFGW_OVSDB_ERRLEN,
			 "port %s on bridge %s has no interface of the same name (a bond?); "
			 "remove it with ovs-vsctl del-port", p->s->int_port, p->bridge);
		return -EEXIST;
	}
	type = json_string_value(json_object_get(iface, "type"));
	if (type == NULL || !same_type(type, p->s->int_type))
		op_update(p, "Interface", row_uuid(iface),
			  json_pack("{s:s}", "type", p->s->int_type));
	return 0;
}

static int plan_update(struct plan *p, const json_t *br)
{
	json_t *row = json_object();
	int rc;

	if (row == NULL)
		return -ENOMEM;
	op_wait(p, "Bridge", where_uuid(row_uuid(br)), "name",
		json_pack("[{s:s}]", "name", p->bridge));
	rc = diff_bridge(p, br, row);
	if (rc == 0)
		rc = diff_controller(p, br, row);
	if (rc == 0)
		rc = diff_int_port(p, br);
	if (rc == 0 && json_object_size(row) > 0)
		op_update(p, "Bridge", row_uuid(br), json_incref(row));
	json_decref(row);
	return rc;
}

static int finish(struct plan *p, json_t **write)
{
	json_t *params;

	if (json_array_size(p->ops) == p->n_guards)
		return 0;	/* nothing differs */
	add(p, json_pack("{s:s, s:s}", "op", "comment", "comment", "rtvd: ensure bridge settings"));
	params = json_pack("[s]", OFGW_OVSDB_DB);
	if (p->oom || params == NULL || json_array_extend(params, p->ops) != 0) {
		json_decref(params);
		return -ENOMEM;
	}
	*write = params;
	return 0;
}

int ofgw_odb_ensure_plan(const char *bridge, const struct ofgw_ovsdb_bridge_spec *s,
			 const json_t *result, json_t **write, char err[OFGW_OVSDB_ERRLEN])
{
	struct plan p = { .bridge = bridge, .s = s, .err = err };
	const json_t *br;
	int rc;

	*write = NULL;
	rc = parse_read(result, &p.rd, err);
	if (rc != 0)
		return rc;
	p.ops = json_array();
	if (p.ops == NULL)
		return -ENOMEM;
	br = bridge_by_name(p.rd.rows[RD_BRIDGES], bridge);
	rc = br == NULL ? plan_create(&p) : plan_update(&p, br);
	if (rc == 0)
		rc = finish(&p, write);
	if (rc == -ENOMEM)
		snprintf(err, OFGW_OVSDB_ERRLEN, "out of memory planning the bridge transaction");
	json_decref(p.ops);
	return rc;
}

/* ------------------------------------------------------------------------- */

/* One element per operation: an object (done), an object with "error"
 * (failed), or null (not run after an earlier error); a further element
 * with "error" if the commit itself failed (RFC 7047 §4.1.3). */
int ofgw_odb_txn_result(const json_t *result, size_t n_ops, char err[OFGW_OVSDB_ERRLEN])
{
	if (!json_is_array(result) || json_array_size(result) < n_ops)
		return proto_bad(err, "fewer results than operations");
	for (size_t i = 0; i < json_array_size(result); i++) {
		const json_t *r = json_array_get(result, i), *e = json_object_get(r, "error");
		const char *es = json_string_value(e);

		if (!json_is_object(r) && !(json_is_null(r) && i < n_ops))
			return proto_bad(err, "a result is neither an object nor null");
		if (e == NULL)
			continue;
		ofgw_jrpc_error_text(r, err, OFGW_OVSDB_ERRLEN);
		if (es != NULL && (strcmp(es, "timed out") == 0 || strcmp(es, "constraint violation") == 0))
			return -EAGAIN;
		return -EIO;
	}
	return 0;
}
