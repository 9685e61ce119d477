/* ovsdb_data.c — OVSDB values, the monitor replica and the port view.
 *
 * RFC 7047 §5.1 encodes a column's value (a "datum") by its type: a bare
 * atom for a set of exactly one element, ["set", [atoms]] otherwise, and
 * ["map", [[key, value], ...]] for maps; a uuid atom is ["uuid", "…"]. So
 * an optional column (min 0, max 1) arrives either as its atom or as
 * ["set", []]. Every getter here checks the shape and the atom types before
 * reading anything, because these bytes come from another process.
 *
 * The replica keeps, per monitored table, the rows as the server sent them
 * ({"<uuid>": {column: datum}}): with "monitor" (not monitor_cond), every
 * "new" row carries all monitored columns (§4.1.6), so applying an update
 * is replacing or deleting whole rows. Columns are type-checked only when
 * the view is built, where a bad row costs that row, not the connection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ofgw/ovsdb_internal.h"

#define MOD "ovsdb"

static const char *const table_name[OFGW_ODB_N_TABLES] = { "Bridge", "Port", "Interface" };

/* The columns we monitor; the view reads no others. */
static const char *const table_columns[OFGW_ODB_N_TABLES][8] = {
	{ "name", "ports", NULL },
	{ "name", "interfaces", NULL },
	{ "name", "type", "ofport", "external_ids", "mac_in_use", "mtu_request", "mtu", NULL },
};

/* External-id keys, first found wins (see ovsdb.h). */
static const char *const vm_id_keys[] = { "vm-id", "vm-uuid", NULL };
static const char *const iface_id_keys[] = { "iface-id", "iface-uuid", NULL };
static const char *const ip_address_keys[] = { "ip-address", NULL };

/* OVS numbers ports 1..OFPP_MAX (0xff00, exclusive, in its OpenFlow 1.0
 * terms) and gives the bridge's local port OFPP_LOCAL (0xfffe). */
#define OFPORT_MAX 0xfeff
#define OFPORT_LOCAL 0xfffe

/* ------------------------------------------------------------------------- */
/* Atoms and datums                                                          */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int ofgw_ovsdb_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hi < 0 ? -1 : hexval(s[3 * i + 1]);
		char sep = lo < 0 ? 'x' : s[3 * i + 2];

		if (lo < 0 || sep != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

bool ofgw_odb_is_uuid_str(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < OFGW_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : hexval(s[i]) < 0)
			return false;
	}
	return i == OFGW_UUID_LEN && s[i] == '\0';
}

static const char *tagged(const json_t *a, const char *tag)
{
	const char *t;

	if (!json_is_array(a) || json_array_size(a) != 2)
		return NULL;
	t = json_string_value(json_array_get(a, 0));
	return t != NULL && strcmp(t, tag) == 0 ? "" : NULL;
}

const char *ofgw_odb_uuid(const json_t *atom)
{
	const char *v;

	if (tagged(atom, "uuid") == NULL)
		return NULL;
	v = json_string_value(json_array_get(atom, 1));
	return v != NULL && ofgw_odb_is_uuid_str(v) ? v : NULL;
}

static bool is_atom(const json_t *a)
{
	if (json_is_string(a) || json_is_number(a) || json_is_boolean(a))
		return true;
	if (tagged(a, "uuid") == NULL && tagged(a, "named-uuid") == NULL)
		return false;
	return json_is_string(json_array_get(a, 1));
}

int ofgw_odb_set_view(const json_t *datum, struct ofgw_odb_set *s)
{
	memset(s, 0, sizeof(*s));
	if (tagged(datum, "set") != NULL) {
		const json_t *arr = json_array_get(datum, 1);

		if (!json_is_array(arr))
			return -EINVAL;
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (!is_atom(json_array_get(arr, i)))
				return -EINVAL;
		s->arr = arr;
		s->n = json_array_size(arr);
		return 0;
	}
	if (!is_atom(datum))
		return -EINVAL;
	s->single = datum;
	s->n = 1;
	return 0;
}

const json_t *ofgw_odb_set_at(const struct ofgw_odb_set *s, size_t i)
{
	if (i >= s->n)
		return NULL;
	return s->single ? s->single : json_array_get(s->arr, i);
}

int ofgw_odb_uuid_set(const json_t *datum, struct ofgw_odb_set *s)
{
	if (ofgw_odb_set_view(datum, s) != 0)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++)
		if (ofgw_odb_uuid(ofgw_odb_set_at(s, i)) == NULL)
			return -EINVAL;
	return 0;
}

bool ofgw_odb_uuid_set_has(const struct ofgw_odb_set *s, const char *uuid)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *u = ofgw_odb_uuid(ofgw_odb_set_at(s, i));

		if (u != NULL && strcmp(u, uuid) == 0)
			return true;
	}
	return false;
}

static int copy_str(const char *v, char *out, size_t n)
{
	size_t len = strlen(v);

	if (len >= n)
		return -ENAMETOOLONG;
	memcpy(out, v, len + 1);
	return 0;
}

int ofgw_odb_string(const json_t *datum, char *out, size_t n)
{
	if (!json_is_string(datum))
		return -EINVAL;
	return copy_str(json_string_value(datum), out, n);
}

int ofgw_odb_opt_string(const json_t *datum, char *out, size_t n)
{
	struct ofgw_odb_set s;

	if (ofgw_odb_set_view(datum, &s) != 0 || s.n > 1)
		return -EINVAL;
	if (s.n == 0) {
		if (n > 0)
			out[0] = '\0';
		return n > 0 ? 0 : -ENAMETOOLONG;
	}
	return ofgw_odb_string(ofgw_odb_set_at(&s, 0), out, n);
}

int ofgw_odb_opt_integer(const json_t *datum, int64_t *v, bool *present)
{
	struct ofgw_odb_set s;
	const json_t *a;

	if (ofgw_odb_set_view(datum, &s) != 0 || s.n > 1)
		return -EINVAL;
	*present = s.n == 1;
	if (s.n == 0)
		return 0;
	a = ofgw_odb_set_at(&s, 0);
	if (!json_is_integer(a))
		return -EINVAL;
	*v = json_integer_value(a);
	return 0;
}

int ofgw_odb_string_set_is(const json_t *datum, const char *want, bool *is)
{
	struct ofgw_odb_set s;

	if (ofgw_odb_set_view(datum, &s) != 0)
		return -EINVAL;
	for (size_t i = 0; i < s.n; i++)
		if (!json_is_string(ofgw_odb_set_at(&s, i)))
			return -EINVAL;
	*is = s.n == 1 && strcmp(json_string_value(ofgw_odb_set_at(&s, 0)), want) == 0;
	return 0;
}

int ofgw_odb_map_get(const json_t *datum, const char *key, const char **val)
{
	const json_t *pairs;
	const char *found = NULL;

	if (tagged(datum, "map") == NULL || !json_is_array(pairs = json_array_get(datum, 1)))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(pairs); i++) {
		const json_t *p = json_array_get(pairs, i);
		const char *k = json_string_value(json_array_get(p, 0));
		const char *v = json_string_value(json_array_get(p, 1));

		if (!json_is_array(p) || json_array_size(p) != 2 || k == NULL || v == NULL)
			return -EINVAL;
		if (found == NULL && strcmp(k, key) == 0)
			found = v;
	}
	if (found == NULL)
		return -ENOENT;
	*val = found;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* The replica                                                               */

int ofgw_odb_replica_init(struct ofgw_odb_replica *r)
{
	for (int t = 0; t < OFGW_ODB_N_TABLES; t++) {
		r->rows[t] = json_object();
		if (r->rows[t] == NULL) {
			ofgw_odb_replica_close(r);
			return -ENOMEM;
		}
	}
	return 0;
}

void ofgw_odb_replica_close(struct ofgw_odb_replica *r)
{
	for (int t = 0; t < OFGW_ODB_N_TABLES; t++) {
		json_decref(r->rows[t]);
		r->rows[t] = NULL;
	}
}

void ofgw_odb_replica_clear(struct ofgw_odb_replica *r)
{
	for (int t = 0; t < OFGW_ODB_N_TABLES; t++)
		json_object_clear(r->rows[t]);
}

json_t *ofgw_odb_monitor_params(const char *mon_id)
{
	json_t *reqs = json_object(), *p;

	for (int t = 0; reqs != NULL && t < OFGW_ODB_N_TABLES; t++) {
		json_t *cols = json_array();

		for (int i = 0; cols != NULL && table_columns[t][i] != NULL; i++)
			json_array_append_new(cols, json_string(table_columns[t][i]));
		if (cols == NULL || json_array_size(cols) == 0 ||
		    json_object_set_new(reqs, table_name[t], json_pack("{s:o}", "columns", cols))) {
			json_decref(reqs);
			reqs = NULL;
		}
	}
	if (reqs == NULL)
		return NULL;
	p = json_pack("[s, s, o]", OFGW_OVSDB_DB, mon_id, reqs);
	return p;
}

static int table_index(const char *name)
{
	for (int t = 0; t < OFGW_ODB_N_TABLES; t++)
		if (strcmp(name, table_name[t]) == 0)
			return t;
	return -1;
}

static int upd_bad(char *err, const char *table, const char *uuid, const char *what)
{
	snprintf(err, OFGW_OVSDB_ERRLEN, "bad table-updates: %s%s%.40s: %s", table,
		 uuid ? " row " : "", uuid ? uuid : "", what);
	return -EPROTO;
}

/* <table-updates>: {"<table>": {"<uuid>": {"old": <row>, "new": <row>}}}. */
static int check_updates(const json_t *updates, char *err)
{
	const char *tname, *uuid;
	json_t *tu, *ru;

	if (!json_is_object(updates))
		return upd_bad(err, "(all)", NULL, "not an object");
	json_object_foreach((json_t *)updates, tname, tu) {
		if (table_index(tname) < 0)
			return upd_bad(err, "(unmonitored table)", NULL, "unexpected");
		if (!json_is_object(tu))
			return upd_bad(err, tname, NULL, "not an object");
		json_object_foreach(tu, uuid, ru) {
			json_t *o = json_object_get(ru, "old"), *n = json_object_get(ru, "new");

			if (!ofgw_odb_is_uuid_str(uuid))
				return upd_bad(err, tname, NULL, "a key is not a uuid");
			if (!json_is_object(ru) || (o == NULL && n == NULL))
				return upd_bad(err, tname, uuid, "neither \"old\" nor \"new\"");
			if ((o != NULL && !json_is_object(o)) || (n != NULL && !json_is_object(n)))
				return upd_bad(err, tname, uuid, "a row is not an object");
		}
	}
	return 0;
}

int ofgw_odb_replica_apply(struct ofgw_odb_replica *r, const json_t *updates,
			   char err[OFGW_OVSDB_ERRLEN])
{
	const char *tname, *uuid;
	json_t *tu, *ru;
	int rc = check_updates(updates, err);

	if (rc != 0)
		return rc;
	json_object_foreach((json_t *)updates, tname, tu) {
		json_t *rows = r->rows[table_index(tname)];

		json_object_foreach(tu, uuid, ru) {
			json_t *n = json_object_get(ru, "new");

			if (n == NULL)
				json_object_del(rows, uuid);
			else if (json_object_set(rows, uuid, n) != 0)
				rc = -ENOMEM;
		}
	}
	if (rc != 0)
		snprintf(err, OFGW_OVSDB_ERRLEN, "out of memory applying an update");
	return rc;
}

/* ------------------------------------------------------------------------- */
/* The port view                                                             */

void ofgw_odb_view_init(struct ofgw_odb_view *v)
{
	memset(v, 0, sizeof(*v));
}

void ofgw_odb_view_close(struct ofgw_odb_view *v)
{
	free(v->ports);
	ofgw_odb_view_init(v);
}

void ofgw_odb_view_swap(struct ofgw_odb_view *a, struct ofgw_odb_view *b)
{
	struct ofgw_odb_view t = *a;

	*a = *b;
	*b = t;
}

struct build {
	const struct ofgw_odb_replica *r;
	struct ofgw_odb_view *v;
	const char *bridge;
	uint64_t *n_bad;
	struct rtv_ratelimit *rl;
};

static void bad_row(struct build *b, int t, const char *uuid, const char *what)
{
	uint64_t supp = 0;

	(*b->n_bad)++;
	if (b->rl != NULL && !rtv_ratelimit_ok(b->rl, &supp))
		return;
	rtv_warn(MOD, "%s row %s: %s; ignored (%llu similar lines suppressed)", table_name[t],
		 uuid, what, (unsigned long long)supp);
}

/* The first of `keys` present in external_ids, copied into out. */
static void ext_id(struct build *b, const char *uuid, const json_t *ids,
		   const char *const *keys, char *out, size_t n)
{
	const char *v;

	for (; *keys != NULL; keys++) {
		int rc = ofgw_odb_map_get(ids, *keys, &v);

		if (rc == -ENOENT)
			continue;
		if (rc != 0 || copy_str(v, out, n) != 0)
			bad_row(b, OFGW_ODB_INTERFACE, uuid, "external_ids value too long or map malformed");
		return;
	}
}

static void iface_macs(struct build *b, const char *uuid, const json_t *row,
		       struct ofgw_ovsdb_port *p)
{
	const json_t *ids = json_object_get(row, "external_ids");
	char mac[OFGW_OVSDB_NAME_MAX];
	const char *v;
	int rc = ofgw_odb_map_get(ids, "attached-mac", &v);

	if (rc == 0)
		p->has_attached_mac = ofgw_ovsdb_mac_parse(v, p->attached_mac) == 0;
	if ((rc == 0 && !p->has_attached_mac) || rc == -EINVAL)
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "external_ids:attached-mac is not a MAC");
	if (ofgw_odb_opt_string(json_object_get(row, "mac_in_use"), mac, sizeof(mac)) != 0) {
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "mac_in_use malformed");
		return;
	}
	p->has_mac_in_use = mac[0] != '\0' && ofgw_ovsdb_mac_parse(mac, p->mac_in_use) == 0;
	if (mac[0] != '\0' && !p->has_mac_in_use)
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "mac_in_use is not a MAC");
}

/* mtu_request (set by whoever manages the port: rtvd for VM ports) and mtu
 * (what the device has, written by ovs-vswitchd); each an optional integer,
 * 0 when absent. OVS itself accepts 68..65535 (vswitch.ovsschema, min 1). */
static void iface_mtus(struct build *b, const char *uuid, const json_t *row,
		       struct ofgw_ovsdb_port *p)
{
	static const char *const col[2] = { "mtu_request", "mtu" };
	uint32_t *out[2] = { &p->mtu_request, &p->mtu };

	for (int i = 0; i < 2; i++) {
		const json_t *d = json_object_get(row, col[i]);
		int64_t v = 0;
		bool present = false;

		if (d == NULL)
			continue;	/* a server whose schema predates the column */
		if (ofgw_odb_opt_integer(d, &v, &present) != 0 ||
		    (present && (v < 1 || v > 65535)))
			bad_row(b, OFGW_ODB_INTERFACE, uuid, i ? "mtu malformed" : "mtu_request malformed");
		else if (present)
			*out[i] = (uint32_t)v;
	}
}

static void iface_fields(struct build *b, const char *uuid, const json_t *row,
			 struct ofgw_ovsdb_port *p)
{
	const json_t *ids = json_object_get(row, "external_ids");
	int64_t ofport = -1;
	bool present = false;

	if (ofgw_odb_string(json_object_get(row, "type"), p->type, sizeof(p->type)) != 0) {
		p->type[0] = '\0';
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "type malformed");
	}
	if (ofgw_odb_opt_integer(json_object_get(row, "ofport"), &ofport, &present) != 0)
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "ofport malformed");
	else if (present && ofport != -1 && ofport != OFPORT_LOCAL && (ofport < 1 || ofport > OFPORT_MAX))
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "ofport out of range");
	else if (present)
		p->ofport = (int32_t)ofport;
	ext_id(b, uuid, ids, vm_id_keys, p->vm_id, sizeof(p->vm_id));
	ext_id(b, uuid, ids, iface_id_keys, p->iface_id, sizeof(p->iface_id));
	ext_id(b, uuid, ids, ip_address_keys, p->ip_address, sizeof(p->ip_address));
	iface_macs(b, uuid, row, p);
	iface_mtus(b, uuid, row, p);
}

static int add_iface(struct build *b, const char *uuid)
{
	const json_t *row = json_object_get(b->r->rows[OFGW_ODB_INTERFACE], uuid);
	struct ofgw_ovsdb_port *p;

	if (row == NULL) {
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "referenced but not in the replica");
		return 0;
	}
	if (b->v->n == b->v->cap) {
		size_t cap = b->v->cap ? 2 * b->v->cap : 16;

		p = realloc(b->v->ports, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		b->v->ports = p;
		b->v->cap = cap;
	}
	p = &b->v->ports[b->v->n];
	memset(p, 0, sizeof(*p));
	p->ofport = -1;
	if (ofgw_odb_string(json_object_get(row, "name"), p->name, sizeof(p->name)) != 0 ||
	    p->name[0] == '\0') {
		bad_row(b, OFGW_ODB_INTERFACE, uuid, "name missing, malformed or too long");
		return 0;
	}
	snprintf(p->bridge, sizeof(p->bridge), "%s", b->bridge);
	iface_fields(b, uuid, row, p);
	b->v->n++;
	return 0;
}

static int add_port(struct build *b, const char *uuid)
{
	const json_t *row = json_object_get(b->r->rows[OFGW_ODB_PORT], uuid);
	struct ofgw_odb_set ifaces;
	int rc = 0;

	if (row == NULL) {
		bad_row(b, OFGW_ODB_PORT, uuid, "referenced but not in the replica");
		return 0;
	}
	if (ofgw_odb_uuid_set(json_object_get(row, "interfaces"), &ifaces) != 0) {
		bad_row(b, OFGW_ODB_PORT, uuid, "interfaces malformed");
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < ifaces.n; i++)
		rc = add_iface(b, ofgw_odb_uuid(ofgw_odb_set_at(&ifaces, i)));
	return rc;
}

static const json_t *find_bridge(struct build *b, const char **uuid)
{
	const char *key;
	json_t *row;

	json_object_foreach(b->r->rows[OFGW_ODB_BRIDGE], key, row) {
		const char *name = json_string_value(json_object_get(row, "name"));

		if (name == NULL)
			bad_row(b, OFGW_ODB_BRIDGE, key, "name malformed");
		else if (strcmp(name, b->bridge) == 0) {
			*uuid = key;
			return row;
		}
	}
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ofgw_ovsdb_port *)a)->name,
		      ((const struct ofgw_ovsdb_port *)b)->name);
}

/* Interface names are unique in OVS (an index); should two rows still
 * share one, the first in sorted order is kept so the key stays a key. */
static void sort_unique(struct build *b)
{
	struct ofgw_odb_view *v = b->v;
	size_t w = 0;

	if (v->n == 0)
		return;
	qsort(v->ports, v->n, sizeof(v->ports[0]), by_name);
	for (size_t i = 0; i < v->n; i++) {
		if (w > 0 && strcmp(v->ports[w - 1].name, v->ports[i].name) == 0) {
			bad_row(b, OFGW_ODB_INTERFACE, v->ports[i].name, "duplicate interface name");
			continue;
		}
		v->ports[w++] = v->ports[i];
	}
	v->n = w;
}

int ofgw_odb_view_build(const struct ofgw_odb_replica *r, const char *bridge,
			struct ofgw_odb_view *v, uint64_t *n_bad, struct rtv_ratelimit *rl)
{
	struct build b = { r, v, bridge, n_bad, rl };
	const char *uuid = NULL;
	const json_t *br;
	struct ofgw_odb_set ports;
	int rc = 0;

	v->n = 0;
	br = find_bridge(&b, &uuid);
	if (br == NULL)
		return 0;
	if (ofgw_odb_uuid_set(json_object_get(br, "ports"), &ports) != 0) {
		bad_row(&b, OFGW_ODB_BRIDGE, uuid, "ports malformed");
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < ports.n; i++)
		rc = add_port(&b, ofgw_odb_uuid(ofgw_odb_set_at(&ports, i)));
	if (rc == 0)
		sort_unique(&b);
	return rc;
}

const struct ofgw_ovsdb_port *ofgw_odb_view_find(const struct ofgw_odb_view *v, const char *name)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->ports[mid].name, name);

		if (c == 0)
			return &v->ports[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* mac_in_use is left out: it is an ephemeral column (vswitch.ovsschema),
 * empty after every ovsdb-server restart until ovs-vswitchd writes it again,
 * so comparing it would report every port as changed twice per restart.
 * mtu is ephemeral too, but its changes matter (docs/mtu.md): only a change
 * between two known values is one. */
static bool port_equal(const struct ofgw_ovsdb_port *a, const struct ofgw_ovsdb_port *b)
{
	return strcmp(a->bridge, b->bridge) == 0 && strcmp(a->type, b->type) == 0 &&
	       a->ofport == b->ofport && a->mtu_request == b->mtu_request &&
	       (a->mtu == b->mtu || a->mtu == 0 || b->mtu == 0) &&
	       strcmp(a->vm_id, b->vm_id) == 0 &&
	       strcmp(a->iface_id, b->iface_id) == 0 &&
	       strcmp(a->ip_address, b->ip_address) == 0 &&
	       a->has_attached_mac == b->has_attached_mac &&
	       (!a->has_attached_mac || memcmp(a->attached_mac, b->attached_mac, 6) == 0);
}

/* One merge walk over both sorted views, reporting only `want`. */
static bool diff_pass(const struct ofgw_odb_view *old, const struct ofgw_odb_view *cur,
		      enum ofgw_odb_change want,
		      bool (*fn)(void *, enum ofgw_odb_change, const struct ofgw_ovsdb_port *,
				 const struct ofgw_ovsdb_port *),
		      void *arg)
{
	size_t i = 0, j = 0;

	while (i < old->n || j < cur->n) {
		const struct ofgw_ovsdb_port *a = i < old->n ? &old->ports[i] : NULL;
		const struct ofgw_ovsdb_port *c = j < cur->n ? &cur->ports[j] : NULL;
		int cmp = a == NULL ? 1 : c == NULL ? -1 : strcmp(a->name, c->name);
		bool go = true;

		if (cmp < 0 && want == OFGW_ODB_REMOVED)
			go = fn(arg, want, a, NULL);
		else if (cmp > 0 && want == OFGW_ODB_ADDED)
			go = fn(arg, want, NULL, c);
		else if (cmp == 0 && want == OFGW_ODB_CHANGED && !port_equal(a, c))
			go = fn(arg, want, a, c);
		if (!go)
			return false;
		i += cmp <= 0;
		j += cmp >= 0;
	}
	return true;
}

void ofgw_odb_view_diff(const struct ofgw_odb_view *old, const struct ofgw_odb_view *cur,
			bool (*fn)(void *arg, enum ofgw_odb_change ch,
				   const struct ofgw_ovsdb_port *was,
				   const struct ofgw_ovsdb_port *now),
			void *arg)
{
	if (diff_pass(old, cur, OFGW_ODB_REMOVED, fn, arg) &&
	    diff_pass(old, cur, OFGW_ODB_CHANGED, fn, arg))
		diff_pass(old, cur, OFGW_ODB_ADDED, fn, arg);
}
