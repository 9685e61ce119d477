#!/usr/bin/env bash
# rtvd_libvirt.sh — rtvd's libvirt module (agent/libvirt) against libvirt's
# test driver: one rtvd with [libvirt] uri = test:///default, whose
# in-process libvirt runs one domain, "test". Checks: the module learns the
# domain and writes its VM record (uuid, name, this host) through Raft, as
# `rtvctl vms` shows.
# Everything it starts is killed on exit.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
T_NAME=rtvd_libvirt

on_fail() { rack_tail_logs; }

need_exec "$RTVD" "$RTVCTL"
rack_init 1
printf '[libvirt]\nuri = test:///default\n' >>"$(rack_conf 1)"

step "rtvd with [libvirt] uri = test:///default"
rack_start_all
leader=$(rack_wait_leader 15) || die "no leader"
ok "leader $leader"
test_uuid=6695eb01-f6a4-8304-79aa-97f2502e193f	# the test driver's domain
vms_has_test() { rack_ctl 1 --timeout 2s vms 2>/dev/null | grep -q "$test_uuid.*test\|test.*$test_uuid"; }
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ] && ! vms_has_test; do sleep 0.3; done
if vms_has_test; then
	ok "rtvctl vms: $(rack_ctl 1 --timeout 2s vms | grep "$test_uuid")"
else
	bad "the test domain never appeared in rtvctl vms: $(rack_ctl 1 --timeout 2s vms 2>&1 | head -5)"
fi
json=$(rack_ctl 1 --timeout 2s -o json vms 2>/dev/null)
check "its record: host 1, name test" \
	jq -e --arg u "$test_uuid" '[.. | objects | select(.uuid? == $u)] | .[0] | .host_id == 1 and .name == "test"' <<<"$json" >/dev/null
check "the log says where it came from" grep -q "learnt from libvirt" "$(rack_logfile 1)"
finish
