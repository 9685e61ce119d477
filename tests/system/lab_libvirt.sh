#!/usr/bin/env bash
# lab_libvirt.sh — rtvd's libvirt module on the lab rack with a real libvirtd
# per host (tests/lab/libvirt.sh; lab.sh rtvd-up points [libvirt] uri at it).
# Checks: a guest started on h1 gets its VM record through Raft (name, host
# 1) on every host; after a live migration to h2 (migrate/'s driver) the
# record says host 2 on every host, written by h2's module from its libvirt
# events. Its own lab prefix and folder: a lab you have up is untouched.
. "$(dirname "$0")/../lib/common.sh"
T_NAME=lab_libvirt
LAB=$T_ROOT/tests/lab/lab.sh
PROBE=$T_ROOT/build/bin/migprobe

lab_test lbv
need_cmd virsh qemu-system-x86_64 /usr/sbin/libvirtd
need_exec "$PROBE"
LAB_DIR=$RTV_LAB_DIR P=$RTV_LAB_PREFIX
. "$T_ROOT/tests/lab/libvirt.sh"
on_fail() { for h in 1 2; do grep libvirt "$LAB_DIR/h$h/rtvd.log" 2>/dev/null | tail -n 5 | sed "s/^/      h$h: /"; done; }

ctl() { local h=$1; shift; "$LAB" rtvctl "$h" --timeout 2s "$@"; }
# host_of H UUID: the VM record's host as host H's replica has it
host_of() { ctl "$1" -o json vms 2>/dev/null | jq -r --arg u "$2" '[.. | objects | select(.uuid? == $u)] | .[0].host_id // empty'; }
wait_host() {	# wait_host UUID HOST: every host's replica says HOST, within 20 s
	local end=$((SECONDS + 20)) h all
	while [ $SECONDS -lt $end ]; do
		all=1
		for h in 1 2; do [ "$(host_of "$h" "$1")" = "$2" ] || all=0; done
		[ $all -eq 1 ] && return 0
		sleep 0.3
	done
	return 1
}

step "a rack of two hosts, libvirtd on each, then rtvd"
"$LAB" up -n 2 -v 0 >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
lv_up 1 && lv_up 2 && lv_virsh 1 version >/dev/null && lv_virsh 2 version >/dev/null || die "libvirtd did not start"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
grep -q "uri = qemu+unix" "$LAB_DIR/h1/rtvd.conf" && ok "rtvd.conf points [libvirt] at h1's libvirtd" ||
	bad "rtvd.conf has no libvirt uri"

step "a guest started on h1: its record through Raft"
lv_guest_xml lbv-g1 52:54:00:17:00:01 >"$RUN/g1.xml"
lv_virsh 1 define "$RUN/g1.xml" >/dev/null && lv_virsh 1 start lbv-g1 >/dev/null || die "virsh start failed"
uuid=$(lv_virsh 1 domuuid lbv-g1 | tr -d '[:space:]')
if wait_host "$uuid" 1; then
	ok "every host: VM $uuid on host 1 ($(ctl 2 vms | grep "$uuid"))"
else
	bad "the record did not say host 1 on every host: h1 '$(host_of 1 "$uuid")', h2 '$(host_of 2 "$uuid")'"
fi
ctl 1 -o json vms | jq -e --arg u "$uuid" '[.. | objects | select(.uuid? == $u)] | .[0].name == "lbv-g1"' >/dev/null &&
	ok "named lbv-g1 (from libvirt)" || bad "the record's name is not lbv-g1"

step "live migration h1 -> h2: the record follows"
ns "${P}h1" "$PROBE" migrate --uri "$(lv_uri 1)" --vm lbv-g1 --to "$(lv_peer_uri 2)" >"$RUN/mig.log" 2>&1 ||
	bad "migration failed: $(tail -n 1 "$RUN/mig.log")"
t0=$SECONDS
if wait_host "$uuid" 2; then
	ok "every host: VM $uuid on host 2, $((SECONDS - t0)) s after the migration returned"
else
	bad "the record did not follow: h1 '$(host_of 1 "$uuid")', h2 '$(host_of 2 "$uuid")'"
fi
finish
