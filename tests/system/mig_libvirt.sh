#!/usr/bin/env bash
# mig_libvirt.sh — migrate/ against real libvirtd daemons on the lab rack
# (issue 15, phase 1). Two lab hosts, each with its own OVS (userspace
# datapath) and its own libvirtd (tests/lab/libvirt.sh), a diskless QEMU
# guest (TCG) whose NIC is a tap on the host's br-rtv. build/bin/migprobe
# holds a struct mig_conn and prints what it reports. Checks:
#   1. a guest started on h1: the connection reports the lifecycle event
#      and the VM (running, its MAC, OVS port and iface-id), and the OVS
#      Interface row carries the external_ids libvirt set (vm-id = uuid);
#   2. libvirtd on h1 restarted (the guest keeps running): the connection
#      reports the drop, reopens by itself and lists the guest again;
#   3. a live migration h1 -> h2 through mig_migrate_start (peer-to-peer,
#      bandwidth and downtime policy): it succeeds, QEMU's downtime comes
#      from the job statistics, the guest runs on h2 with its port on h2's
#      bridge, h1's connection reports it gone and h1's bridge lost it;
#   4. a migration to a host that does not answer fails with an error and
#      leaves the guest running where it was;
#   5. a migration started with virsh (outside rtvnet) h2 -> h1 is seen on
#      both sides: the source's migration passes then the VM gone, the
#      destination's "started (migrated)" then the VM running;
#   6. the guest undefined on h1: the connection reports it gone.
# Uses its own namespace prefix and directory: a lab you have up is untouched.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
PROBE=${MIGPROBE:-$ROOT/build/bin/migprobe}
. "$ROOT/tests/lib/common.sh"
pids=()
T_NAME=mig_libvirt

# a lab of its own (lab_test): lab.sh down also stops libvirtd and QEMU,
# which run in the lab's namespaces
lab_test mlv
need_cmd virsh qemu-system-x86_64 /usr/sbin/libvirtd
need_exec "$PROBE"

LAB_DIR=$RTV_LAB_DIR P=$RTV_LAB_PREFIX
. "$ROOT/tests/lab/libvirt.sh"

wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}
hx() { local h=$1; shift; ip netns exec "${P}h$h" "$@"; }
vsctl() { local h=$1; shift; hx "$h" ovs-vsctl --db=unix:"$LAB_DIR/h$h/ovs/db.sock" --timeout=5 "$@"; }
watch_start() {	# watch_start H FILE
	hx "$1" "$PROBE" watch --uri "$(lv_uri "$1")" --duration 600s >"$2" 2>"$2.err" &
	pids+=($!)
}
# has FILE JQ_FILTER: some line of FILE matches
has() { jq -e -s "map(select($2)) | length > 0" "$1" >/dev/null 2>&1; }

step "a rack of two hosts, a libvirtd on each"
"$LAB" up -n 2 -v 0 >"$RUN/up.log" 2>&1 || { bad "lab.sh up: $(tail -n 3 "$RUN/up.log")"; exit 1; }
lv_up 1 && lv_up 2 || { bad "libvirtd did not start"; exit 1; }
# the first call waits for QEMU's capability probe (seconds)
lv_virsh 1 version >/dev/null && lv_virsh 2 version >/dev/null || { bad "virsh cannot reach libvirtd"; exit 1; }
ok "libvirtd on h1 and h2"

step "1. a guest started on h1 is seen with its OVS port"
watch_start 1 "$RUN/w1.log"
watch_start 2 "$RUN/w2.log"
wait_for 15 has "$RUN/w1.log" '.ev == "synced"' || bad "h1: the connection never synced: $(cat "$RUN/w1.log.err")"
mac=52:54:00:15:00:01
lv_guest_xml mig-g1 $mac >"$RUN/g1.xml"
lv_virsh 1 define "$RUN/g1.xml" >/dev/null && lv_virsh 1 start mig-g1 >/dev/null || { bad "virsh start failed"; exit 1; }
uuid=$(lv_virsh 1 domuuid mig-g1 | tr -d '[:space:]')
if wait_for 10 has "$RUN/w1.log" ".ev == \"lifecycle\" and .what == \"started\" and .uuid == \"$uuid\""; then
	ok "lifecycle event 'started' for $uuid"
else
	bad "no 'started' event for $uuid"
fi
running=".ev == \"vm\" and .uuid == \"$uuid\" and .state == \"running\" and .ifaces[0].mac == \"$mac\" and .ifaces[0].ovs and .ifaces[0].bridge == \"br-rtv\" and (.ifaces[0].port | length > 0)"
if wait_for 10 has "$RUN/w1.log" "$running"; then
	port=$(jq -r -s "map(select($running)) | last | .ifaces[0].port" "$RUN/w1.log")
	ifid=$(jq -r -s "map(select($running)) | last | .ifaces[0].iface_id" "$RUN/w1.log")
	ok "inventory: mig-g1 running, $mac on OVS port $port, iface-id $ifid"
	# the userspace (netdev) datapath opens the tap as a system port
	ofport=$(vsctl 1 get interface "$port" ofport 2>&1)
	[[ $ofport =~ ^[0-9]+$ && $ofport -gt 0 ]] && ok "OVS (netdev datapath) gave $port OpenFlow port $ofport" ||
		bad "OVS did not attach $port (ofport '$ofport': $(vsctl 1 get interface "$port" error 2>&1))"
	ext=$(vsctl 1 get interface "$port" external_ids 2>&1)
	if [[ $ext == *"vm-id=\"$uuid\""* && $ext == *"iface-id=\"$ifid\""* && $ext == *"attached-mac=\"$mac\""* ]]; then
		ok "h1's OVS Interface $port: $ext"
	else
		bad "h1's OVS Interface $port external_ids do not match: $ext"
	fi
else
	bad "the inventory never showed mig-g1 running with its interface"
fi

step "2. libvirtd on h1 restarted: the connection comes back by itself"
kill "$(lab_lv_pid 1)" 2>/dev/null
wait_for 10 has "$RUN/w1.log" '.ev == "link" and .up == false' && ok "drop reported: $(jq -r -s 'map(select(.ev == "link" and .up == false)) | first | .err' "$RUN/w1.log")" ||
	bad "the drop was not reported"
lv_up 1 || bad "libvirtd h1 did not restart"
if wait_for 20 has "$RUN/w1.log" '.ev == "link" and .up and .opens == 2'; then
	ok "reopened (opens = 2)"
else
	bad "no reconnection within 20 s"
fi
n_sync=$(jq -s 'map(select(.ev == "synced")) | length' "$RUN/w1.log")
syncs() { test "$(jq -s 'map(select(.ev == "synced")) | length' "$RUN/w1.log")" -ge 2; }
wait_for 10 syncs && lv_virsh 1 domstate mig-g1 | grep -q running && ok "inventory re-read; the guest kept running" ||
	bad "no second sync ($n_sync) or the guest stopped"
res=$(jq -c -s 'map(select(.ev == "synced")) | last' "$RUN/w1.log")
echo "$res" | jq -e '.cpus > 0 and .mem_total > 0 and .vcpus_used == 1 and .mem_used == 33554432' >/dev/null &&
	ok "host resources from libvirt: $(echo "$res" | jq -r '"\(.cpus) CPUs, \(.mem_total / 1048576 | floor) MiB, used by VMs: \(.vcpus_used) vCPU, \(.mem_used / 1048576) MiB"')" ||
	bad "host resources wrong: $res"

step "3. live migration h1 -> h2 through the driver"
hx 1 "$PROBE" migrate --uri "$(lv_uri 1)" --vm mig-g1 --to "$(lv_peer_uri 2)" \
	--bandwidth 400M --max-downtime 100ms --timeout 120s >"$RUN/mig.log" 2>"$RUN/mig.err"
rc=$?
done_line=$(jq -c 'select(.ev == "done")' "$RUN/mig.log" 2>/dev/null | tail -n 1)
if [ $rc -eq 0 ] && echo "$done_line" | jq -e '.rc == 0 and .stats_ok and .downtime_ms > 0' >/dev/null; then
	ok "migrated: $(echo "$done_line" | jq -r '"wall \(.wall_ms) ms, libvirt elapsed \(.elapsed_ms) ms, QEMU downtime \(.downtime_ms) ms (job stats, \(.stats_from)), \(.data_bytes) B"')"
	echo "   progress reports: $(jq -s 'map(select(.ev == "progress")) | length' "$RUN/mig.log")"
else
	bad "migration failed (rc $rc): $done_line $(cat "$RUN/mig.err")"
fi
lv_virsh 2 domstate mig-g1 2>/dev/null | grep -q running && ok "mig-g1 runs on h2" || bad "mig-g1 is not running on h2"
lv_virsh 1 dominfo mig-g1 >/dev/null 2>&1 && bad "mig-g1 is still defined on h1" || ok "mig-g1 is gone from h1"
wait_for 10 has "$RUN/w1.log" ".ev == \"gone\" and .uuid == \"$uuid\"" && ok "h1's connection reported it gone" ||
	bad "h1's connection did not report it gone"
wait_for 10 has "$RUN/w2.log" "$running" && ok "h2's connection lists it running" || bad "h2's connection does not list it running"
p2=$(jq -r -s "map(select($running)) | last | .ifaces[0].port" "$RUN/w2.log")
[[ $(vsctl 2 get interface "$p2" external_ids 2>&1) == *"vm-id=\"$uuid\""* ]] && ok "h2's bridge has its port $p2" ||
	bad "h2's bridge has no port with vm-id $uuid"
vsctl 1 list-ports br-rtv | grep -qx "$port" && bad "h1's bridge still has $port" || ok "h1's bridge no longer has $port"

step "4. a migration to a host that does not answer fails and leaves the guest"
hx 2 "$PROBE" migrate --uri "$(lv_uri 2)" --vm mig-g1 --to "qemu+tcp://10.1.0.77:16509/system" \
	--timeout 60s >"$RUN/mig-bad.log" 2>&1
rc=$?
bad_line=$(jq -c 'select(.ev == "done")' "$RUN/mig-bad.log" 2>/dev/null | tail -n 1)
if [ $rc -ne 0 ] && echo "$bad_line" | jq -e '.rc != 0 and (.err | length > 0)' >/dev/null; then
	ok "refused: $(echo "$bad_line" | jq -r .err)"
else
	bad "a migration to nowhere did not fail cleanly (rc $rc): $bad_line"
fi
lv_virsh 2 domstate mig-g1 | grep -q running && ok "mig-g1 still runs on h2" || bad "mig-g1 no longer runs on h2"

step "5. a migration started outside rtvnet (virsh migrate h2 -> h1) is followed"
n1=$(wc -l <"$RUN/w1.log")
n2=$(wc -l <"$RUN/w2.log")
if lv_virsh 2 migrate --live --p2p --persistent --undefinesource mig-g1 "$(lv_peer_uri 1)" >"$RUN/virsh-mig.log" 2>&1; then
	ok "virsh migrate done"
else
	bad "virsh migrate failed: $(cat "$RUN/virsh-mig.log")"
fi
tail -n +$((n1 + 1)) "$RUN/w1.log" >"$RUN/w1.tail"
tail -n +$((n2 + 1)) "$RUN/w2.log" >"$RUN/w2.tail"
wait_for 10 has "$RUN/w2.log" ".ev == \"gone\" and .uuid == \"$uuid\"" && tail -n +$((n2 + 1)) "$RUN/w2.log" >"$RUN/w2.tail"
# the source sees QEMU's memory passes (or the migration pause) before the end
if has "$RUN/w2.tail" "(.ev == \"lifecycle\" and .what == \"migration-iteration\") or (.ev == \"vm\" and .state == \"migrating\")" &&
	has "$RUN/w2.tail" ".ev == \"gone\" and .uuid == \"$uuid\""; then
	ok "source h2: $(jq -r -s 'map(select(.ev == "lifecycle") | .what) | join(", ")' "$RUN/w2.tail"), then gone"
else
	bad "source h2 did not see the migration: $(jq -c -s 'map(.ev + ":" + (.what // .state // ""))' "$RUN/w2.tail")"
fi
wait_for 10 has "$RUN/w1.log" "$running" && tail -n +$((n1 + 1)) "$RUN/w1.log" >"$RUN/w1.tail"
if has "$RUN/w1.tail" ".ev == \"lifecycle\" and .what == \"started\" and .detail == 1" &&
	has "$RUN/w1.tail" "$running"; then
	ok "destination h1: $(jq -r -s 'map(select(.ev == "lifecycle") | .what) | join(", ")' "$RUN/w1.tail"); running"
else
	bad "destination h1 did not see it arrive: $(jq -c -s 'map(.ev + ":" + (.what // .state // ""))' "$RUN/w1.tail")"
fi

step "6. undefined: reported gone"
lv_virsh 1 destroy mig-g1 >/dev/null && lv_virsh 1 undefine mig-g1 >/dev/null || bad "virsh destroy/undefine failed"
# h1 saw it leave once already (check 3): this is the second time
gone_twice() { test "$(jq -s "map(select(.ev == \"gone\" and .uuid == \"$uuid\")) | length" "$RUN/w1.log")" -ge 2; }
wait_for 10 gone_twice &&
	ok "h1's connection reported it gone" || bad "h1's connection did not report the undefine"

for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()
for f in "$RUN"/w1.log.err "$RUN"/w2.log.err; do
	[ -s "$f" ] && bad "$(basename "$f"): $(head -n 3 "$f")"
done

finish
