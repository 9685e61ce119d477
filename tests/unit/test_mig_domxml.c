/* test_mig_domxml.c — the domain XML decoder (migrate/domxml.c) and the
 * state mapping: what libvirt 9 prints for a running guest on an OVS
 * bridge, then every field broken in turn (each refusal leaves the output
 * untouched and says what was wrong). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>

#include "migrate/migrate.h"

/* virsh dumpxml of a lab guest (libvirt 9.0), trimmed of devices we skip */
static const char *running_xml =
	"<domain type='qemu' id='1'>\n"
	"  <name>mig-g1</name>\n"
	"  <uuid>6B171BC9-F284-488E-BC8F-8A65A5F80F42</uuid>\n"
	"  <memory unit='KiB'>32768</memory>\n"
	"  <currentMemory unit='KiB'>32768</currentMemory>\n"
	"  <vcpu placement='static'>1</vcpu>\n"
	"  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>\n"
	"  <devices>\n"
	"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='52:54:00:15:00:01'/>\n"
	"      <source bridge='br-rtv'/>\n"
	"      <virtualport type='openvswitch'>\n"
	"        <parameters interfaceid='b581c144-fa03-4f77-91f7-260121224ce5'/>\n"
	"      </virtualport>\n"
	"      <target dev='vnet0'/>\n"
	"      <model type='virtio'/>\n"
	"      <alias name='net0'/>\n"
	"    </interface>\n"
	"    <interface type='network'>\n"
	"      <mac address='52:54:00:AA:BB:CC'/>\n"
	"      <source network='default'/>\n"
	"    </interface>\n"
	"  </devices>\n"
	"</domain>\n";

static int parse(const char *xml, struct mig_vm *vm, char *err)
{
	return mig_domxml_parse(xml, strlen(xml), vm, err, MIG_ERRLEN);
}

static void test_running_guest(void **state)
{
	struct mig_vm vm;
	char err[MIG_ERRLEN] = "";

	(void)state;
	assert_int_equal(parse(running_xml, &vm, err), 0);
	assert_string_equal(vm.uuid, "6b171bc9-f284-488e-bc8f-8a65a5f80f42");
	assert_string_equal(vm.name, "mig-g1");
	assert_int_equal(vm.vcpus, 1);
	assert_int_equal(vm.mem_bytes, 32u << 20);
	assert_int_equal(vm.state, MIG_VM_SHUTOFF);
	assert_int_equal(vm.n_ifaces, 2);
	assert_string_equal(vm.ifaces[0].mac, "52:54:00:15:00:01");
	assert_string_equal(vm.ifaces[0].bridge, "br-rtv");
	assert_string_equal(vm.ifaces[0].port, "vnet0");
	assert_string_equal(vm.ifaces[0].iface_id, "b581c144-fa03-4f77-91f7-260121224ce5");
	assert_true(vm.ifaces[0].ovs);
	assert_string_equal(vm.ifaces[1].mac, "52:54:00:aa:bb:cc");
	assert_false(vm.ifaces[1].ovs);
	assert_string_equal(vm.ifaces[1].port, "");
	assert_string_equal(vm.ifaces[1].iface_id, "");
}

static void test_units_and_vcpu_current(void **state)
{
	struct mig_vm vm;
	char err[MIG_ERRLEN];
	static const struct { const char *mem; uint64_t bytes; } cases[] = {
		{ "<memory unit='MiB'>512</memory>", 512ull << 20 },
		{ "<memory unit='GB'>2</memory>", 2000000000ull },
		{ "<memory>1024</memory>", 1024ull * 1024 },
		{ "<memory unit='b'>4096</memory>", 4096 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char xml[512];

		snprintf(xml, sizeof(xml),
			 "<domain><name>a</name><uuid>00000000-0000-4000-8000-000000000001</uuid>"
			 "<vcpu current='2'>4</vcpu>%s</domain>", cases[i].mem);
		assert_int_equal(parse(xml, &vm, err), 0);
		assert_int_equal(vm.mem_bytes, cases[i].bytes);
		assert_int_equal(vm.vcpus, 2);
		assert_int_equal(vm.n_ifaces, 0);
	}
}

/* Each bad document is refused, *vm untouched, err names the problem. */
static void test_refusals(void **state)
{
	static const struct { const char *xml, *says; } bad[] = {
		{ "", "not well-formed" },
		{ "<domain><name>a</name>", "not well-formed" },
		{ "<dom/>", "root element" },
		{ "<domain><name>a</name><memory>1</memory></domain>", "uuid" },
		{ "<domain><uuid>0000-zz</uuid><name>a</name><memory>1</memory></domain>", "uuid" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><memory>1</memory></domain>",
		  "<name>" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name></name>"
		  "<memory>1</memory></domain>", "<name>" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid>"
		  "<name>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</name>"
		  "<memory>1</memory></domain>", "longer than 63" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a&#10;b</name>"
		  "<memory>1</memory></domain>", "control character" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory unit='parsec'>1</memory></domain>", "memory" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory unit='TiB'>99999999999</memory></domain>", "memory" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory>-1</memory></domain>", "memory" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<vcpu>0</vcpu><memory>1</memory></domain>", "vcpu" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory>1</memory><devices><interface/></devices></domain>", "mac" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory>1</memory><devices><interface><mac address='52:54:00:00:00'/>"
		  "</interface></devices></domain>", "mac" },
		{ "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
		  "<memory>1</memory><devices><interface><mac address='52:54:00:00:00:01'/>"
		  "<target dev='a-name-far-too-long-for-ifnamsiz'/></interface></devices></domain>",
		  "too long" },
		{ "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>"
		  "<uuid>00000000-0000-4000-8000-000000000001</uuid><name>&x;</name>"
		  "<memory>1</memory></domain>", "DOCTYPE" },
		{ "<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
		  "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>&b;</name>"
		  "<memory>1</memory></domain>", "DOCTYPE" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mig_vm vm;
		char err[MIG_ERRLEN] = "";

		memset(&vm, 0xa5, sizeof(vm));
		if (parse(bad[i].xml, &vm, err) == 0)
			fail_msg("case %zu accepted: %s", i, bad[i].xml);
		if (!strstr(err, bad[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].says);
		for (size_t k = 0; k < sizeof(vm); k++)
			assert_int_equal(((unsigned char *)&vm)[k], 0xa5);
	}
}

static void test_too_many_ifaces(void **state)
{
	char xml[4096], *p = xml;
	struct mig_vm vm;
	char err[MIG_ERRLEN];

	(void)state;
	p += sprintf(p, "<domain><uuid>00000000-0000-4000-8000-000000000001</uuid><name>a</name>"
			"<memory>1</memory><devices>");
	for (int i = 0; i <= MIG_IFACES_MAX; i++)
		p += sprintf(p, "<interface><mac address='52:54:00:00:00:%02x'/></interface>", i);
	sprintf(p, "</devices></domain>");
	assert_int_equal(parse(xml, &vm, err), -E2BIG);
	assert_non_null(strstr(err, "interfaces"));
}

static void test_state_mapping(void **state)
{
	(void)state;
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_RUNNING, 0, false), MIG_VM_RUNNING);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_RUNNING, 0, true), MIG_VM_MIGRATING);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, false),
			 MIG_VM_PAUSED);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION, false),
			 MIG_VM_MIGRATING);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_SHUTOFF, 0, false), MIG_VM_SHUTOFF);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_CRASHED, 0, false), MIG_VM_SHUTOFF);
	assert_int_equal(mig_vm_state_from(VIR_DOMAIN_PMSUSPENDED, 0, false), MIG_VM_PAUSED);
	assert_string_equal(mig_vm_state_name(MIG_VM_MIGRATING), "migrating");
	assert_string_equal(mig_vm_state_name(MIG_VM_SHUTOFF), "shut off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_guest),
		cmocka_unit_test(test_units_and_vcpu_current),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_many_ifaces),
		cmocka_unit_test(test_state_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
