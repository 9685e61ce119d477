/* fuzz_domxml.c — the domain XML decoder (migrate/domxml.c) on arbitrary
 * bytes: what a libvirtd (of another version, or broken) could send back
 * from virDomainGetXMLDesc.
 *
 * Properties: nothing crashes or leaks (ASan); on success every string is
 * terminated inside its field, the uuid is 36 lower-case characters in the
 * 8-4-4-4-12 form, the name is non-empty, every MAC is six lower-case hex
 * pairs, there are at most MIG_IFACES_MAX interfaces and at least one
 * vCPU; on failure err says something and the output is untouched.
 * Seeds: a running guest on an OVS bridge, a shut-off one, a bad one.
 */
// fuzz-files: migrate/domxml.c
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

static void check_vm(const struct mig_vm *vm)
{
	check_str(vm->uuid, sizeof(vm->uuid));
	check_str(vm->name, sizeof(vm->name));
	if (strlen(vm->uuid) != 36 || !vm->name[0] || vm->vcpus == 0 ||
	    vm->n_ifaces > MIG_IFACES_MAX)
		abort();
	for (int i = 0; i < 36; i++) {
		char ch = vm->uuid[i];

		if ((i == 8 || i == 13 || i == 18 || i == 23) ? ch != '-' :
		    !(isdigit((unsigned char)ch) || (ch >= 'a' && ch <= 'f')))
			abort();
	}
	for (uint32_t i = 0; i < vm->n_ifaces; i++) {
		const struct mig_iface *f = &vm->ifaces[i];

		check_str(f->mac, sizeof(f->mac));
		check_str(f->bridge, sizeof(f->bridge));
		check_str(f->port, sizeof(f->port));
		check_str(f->iface_id, sizeof(f->iface_id));
		if (strlen(f->mac) != 17)
			abort();
		for (int k = 0; k < 17; k++) {
			char ch = f->mac[k];

			if (k % 3 == 2 ? ch != ':' : !(isdigit((unsigned char)ch) || (ch >= 'a' && ch <= 'f')))
				abort();
		}
		if (!f->ovs && f->iface_id[0])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_vm vm, untouched;
	char err[MIG_ERRLEN] = "";

	memset(&vm, 0x5a, sizeof(vm));
	untouched = vm;
	if (mig_domxml_parse((const char *)data, size, &vm, err, sizeof(err)) == 0) {
		check_vm(&vm);
	} else if (!err[0] || memcmp(&vm, &untouched, sizeof(vm)) != 0) {
		abort();
	}
	return 0;
}
