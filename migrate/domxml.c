/* domxml.c — what rtvnet reads from a libvirt domain's XML (see migrate.h).
 *
 * The XML comes from libvirtd (virDomainGetXMLDesc): trusted more than a
 * packet, but still input — a libvirtd of another version, a hand-edited
 * definition or a bug must give a clear refusal, never a crash or a
 * truncated name. libxml2 parses it without network access, without
 * entity substitution and without printing anything; a document with a
 * DOCTYPE (entity declarations) is refused; every value is checked and
 * copied out before the document is freed.
 *
 * Elements used (libvirt's format, https://libvirt.org/formatdomain.html):
 *   /domain/uuid, /domain/name, /domain/vcpu (its `current` attribute if
 *   set), /domain/currentMemory or /domain/memory (with `unit`),
 *   /domain/devices/interface: mac/@address, source/@bridge, target/@dev,
 *   virtualport[@type='openvswitch']/parameters/@interfaceid.
 */
#include "migrate/migrate.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n; n = n->next) {
		if (named(n, name))
			return n;
	}
	return NULL;
}

/* Copies an attribute or the element's text into buf; -ENOENT if absent,
 * -ENAMETOOLONG if it does not fit. */
static int copy_value(const xmlNode *n, const char *attr, char *buf, size_t size)
{
	xmlChar *v = attr ? xmlGetProp(n, (const xmlChar *)attr) : xmlNodeGetContent(n);
	size_t len;
	int rc = 0;

	if (!v)
		return -ENOENT;
	len = strlen((const char *)v);
	if (len >= size)
		rc = -ENAMETOOLONG;
	else
		memcpy(buf, v, len + 1);
	xmlFree(v);
	return rc;
}

static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static bool uuid_ok(char *u)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (strlen(u) != 36)
		return false;
	for (int i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (u[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)u[i])) {
			return false;
		}
		u[i] = (char)tolower((unsigned char)u[i]);
	}
	return true;
}

static bool mac_ok(char *m)
{
	if (strlen(m) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return false;
		m[i] = (char)tolower((unsigned char)m[i]);
	}
	return true;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* libvirt's memory units (formatdomain.html#memory-allocation); default KiB */
static int mem_bytes(const xmlNode *n, uint64_t *out)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
		{ "GB", 1000000000 }, { "G", 1 << 30 }, { "GiB", 1 << 30 },
		{ "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	char text[24], unit[8] = "KiB";
	uint64_t v;
	int rc = copy_value(n, NULL, text, sizeof(text));

	if (rc || parse_u64(text, &v))
		return -EINVAL;
	rc = copy_value(n, "unit", unit, sizeof(unit));
	if (rc && rc != -ENOENT)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(units[i].unit, unit) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -EINVAL;
			*out = v * units[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_vcpus(const xmlNode *dom, uint32_t *out)
{
	const xmlNode *n = child(dom, "vcpu");
	char text[24];
	uint64_t v;
	int rc;

	if (!n) {
		*out = 1;	/* libvirt's default */
		return 0;
	}
	rc = copy_value(n, "current", text, sizeof(text));
	if (rc == -ENOENT)
		rc = copy_value(n, NULL, text, sizeof(text));
	if (rc || parse_u64(text, &v) || v == 0 || v > 65536)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_iface(const xmlNode *n, struct mig_iface *f, char *err, size_t errlen)
{
	const xmlNode *c;
	int rc;

	memset(f, 0, sizeof(*f));
	c = child(n, "mac");
	if (!c || copy_value(c, "address", f->mac, sizeof(f->mac)) || !mac_ok(f->mac)) {
		snprintf(err, errlen, "domain XML: an interface without a valid <mac address>");
		return -EINVAL;
	}
	if ((c = child(n, "source")) &&
	    (rc = copy_value(c, "bridge", f->bridge, sizeof(f->bridge))) && rc != -ENOENT)
		goto too_long;
	if ((c = child(n, "target")) &&
	    (rc = copy_value(c, "dev", f->port, sizeof(f->port))) && rc != -ENOENT)
		goto too_long;
	c = child(n, "virtualport");
	if (c) {
		char type[16];

		f->ovs = copy_value(c, "type", type, sizeof(type)) == 0 &&
			 strcmp(type, "openvswitch") == 0;
		c = child(c, "parameters");
		if (f->ovs && c &&
		    (rc = copy_value(c, "interfaceid", f->iface_id, sizeof(f->iface_id))) &&
		    rc != -ENOENT)
			goto too_long;
	}
	if (!printable(f->bridge) || !printable(f->port) || !printable(f->iface_id)) {
		snprintf(err, errlen, "domain XML: interface %s has a control character in a name", f->mac);
		return -EINVAL;
	}
	return 0;
too_long:
	snprintf(err, errlen, "domain XML: interface %s: bridge, target or interfaceid too long", f->mac);
	return -EINVAL;
}

static int parse_ifaces(const xmlNode *dom, struct mig_vm *vm, char *err, size_t errlen)
{
	const xmlNode *devs = child(dom, "devices");

	vm->n_ifaces = 0;
	if (!devs)
		return 0;
	for (const xmlNode *n = devs->children; n; n = n->next) {
		int rc;

		if (!named(n, "interface"))
			continue;
		if (vm->n_ifaces == MIG_IFACES_MAX) {
			snprintf(err, errlen, "domain XML: more than %d interfaces", MIG_IFACES_MAX);
			return -E2BIG;
		}
		rc = parse_iface(n, &vm->ifaces[vm->n_ifaces], err, errlen);
		if (rc)
			return rc;
		vm->n_ifaces++;
	}
	return 0;
}

static int parse_domain(const xmlNode *dom, struct mig_vm *vm, char *err, size_t errlen)
{
	const xmlNode *n;

	if (!dom || !named(dom, "domain")) {
		snprintf(err, errlen, "domain XML: the root element is not <domain>");
		return -EINVAL;
	}
	n = child(dom, "uuid");
	if (!n || copy_value(n, NULL, vm->uuid, sizeof(vm->uuid)) || !uuid_ok(vm->uuid)) {
		snprintf(err, errlen, "domain XML: no valid <uuid>");
		return -EINVAL;
	}
	n = child(dom, "name");
	if (!n || copy_value(n, NULL, vm->name, sizeof(vm->name)) || !vm->name[0] ||
	    !printable(vm->name)) {
		snprintf(err, errlen, "domain XML: <name> missing, empty, longer than %d bytes or "
			 "with a control character", MIG_NAME_LEN - 1);
		return -EINVAL;
	}
	if (parse_vcpus(dom, &vm->vcpus)) {
		snprintf(err, errlen, "domain XML: <vcpu> is not a count 1..65536");
		return -EINVAL;
	}
	n = child(dom, "currentMemory");
	if (!n)
		n = child(dom, "memory");
	if (!n || mem_bytes(n, &vm->mem_bytes)) {
		snprintf(err, errlen, "domain XML: no <memory> with a size and a known unit");
		return -EINVAL;
	}
	return parse_ifaces(dom, vm, err, errlen);
}

int mig_domxml_parse(const char *xml, size_t len, struct mig_vm *out, char *err, size_t errlen)
{
	struct mig_vm vm;
	xmlDoc *doc;
	int rc;

	if (len > INT32_MAX) {
		snprintf(err, errlen, "domain XML: %zu bytes is too large", len);
		return -E2BIG;
	}
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL, XML_OPTS);
	if (!doc) {
		const xmlError *e = xmlGetLastError();

		snprintf(err, errlen, "domain XML: not well-formed: %s",
			 e && e->message ? e->message : "parse error");
		/* libxml2's message ends with a newline */
		err[strcspn(err, "\n")] = '\0';
		return -EINVAL;
	}
	memset(&vm, 0, sizeof(vm));
	vm.state = MIG_VM_SHUTOFF;
	/* libvirt never writes a DOCTYPE; one could declare entities whose
	 * expansion (xmlNodeGetContent follows references) grows without bound */
	if (doc->intSubset || doc->extSubset) {
		snprintf(err, errlen, "domain XML: a DOCTYPE is not expected");
		rc = -EINVAL;
	} else {
		rc = parse_domain(xmlDocGetRootElement(doc), &vm, err, errlen);
	}
	xmlFreeDoc(doc);
	if (rc == 0)
		*out = vm;
	return rc;
}
