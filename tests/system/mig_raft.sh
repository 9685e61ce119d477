#!/usr/bin/env bash
# mig_raft.sh — live migration with its Raft record on the lab rack, real
# libvirtd on h1 and h2 (QEMU in software emulation, TCG), three rtvd.
#
# A guest g1 (libvirt, on h1) has two rtpaths with a VM "peer" on h3:
# g1 -> peer and peer -> g1. Checked, each against every host's replica:
#   1. rtvctl vm migrate g1 --to h2: committed; both rtpaths keep their ids
#      and now start/end at h2; h1's uplink carries no reservation.
#   2. a refused prepare (h1's uplink full): exit 1, the message names the
#      link and its limit, paths and links unchanged.
#   3. a migration failed on purpose (h3 runs no libvirtd): aborted, state
#      as before.
#   4. crash points (docs/migration.md), the orchestrating (source) agent
#      killed: before the prepare commits, right after it applies the
#      prepare, 1 s into the libvirt job, after the guest moved but before
#      its commit. Each must end with no record left and the paths on the
#      host libvirt runs the guest on: aborted with state as before, or
#      committed.
#   5. g1 stopped: `rtvctl vms` says down, its rtpaths stay; undefined:
#      its rtpaths are released, logged and counted.
# Figures for bench_mig (when MIG_FIGURES is set, appended there as
# "name value"): mig.paths_follow_ms samples (destination's resume event
# -> commit applied there), and crash points ok / tried.
. "$(dirname "$0")/../lib/common.sh"
T_NAME=mig_raft
LAB=$T_ROOT/tests/lab/lab.sh

lab_test mgr
need_cmd virsh qemu-system-x86_64 /usr/sbin/libvirtd
LAB_DIR=$RTV_LAB_DIR P=$RTV_LAB_PREFIX
. "$T_ROOT/tests/lab/libvirt.sh"
on_fail() { mkdir -p "$RUN/logs"; cp "$LAB_DIR"/h*/rtvd.log "$RUN/logs/" 2>/dev/null; for h in 1 2 3; do grep -E "libvirt|migrat" "$LAB_DIR/h$h/rtvd.log" 2>/dev/null | tail -n 6 | sed "s/^/      h$h: /"; done; }

jqt() { jq -e "$@" >/dev/null; }	# a jq test, quiet
ctl() { local h=$1; shift; "$LAB" rtvctl "$h" --timeout 3s "$@"; }
# the replicated view that must agree everywhere: paths (no stats), links
view() { ctl "$1" -o json paths | jq -c '[.paths[] | del(.stats)]' && ctl "$1" -o json links | jq -c .links; }
host_of() { ctl "$1" -o json vms 2>/dev/null | jq -r --arg u "$2" '.vms[] | select(.uuid == $u) | .host_id'; }
all_agree() {	# every running agent's replica equal (within 10 s)
	local end=$((SECONDS + 10)) a b c
	while [ $SECONDS -lt $end ]; do
		a=$(view 1 2>/dev/null) b=$(view 2 2>/dev/null) c=$(view 3 2>/dev/null)
		[ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && return 0
		sleep 0.3
	done
	return 1
}
no_record() {	# wait until no agent lists a migration (within $2 s, default 60)
	local end=$((SECONDS + ${1:-60})) h n
	while [ $SECONDS -lt $end ]; do
		n=0
		for h in 1 2 3; do
			n=$((n + $(ctl "$h" -o json status 2>/dev/null | jq '[.libvirt.migrations[]?] | length' 2>/dev/null || echo 1)))
		done
		[ "$n" -eq 0 ] && return 0
		sleep 0.5
	done
	return 1
}
# the paths start/end where the VM's record says, on h1's replica
paths_follow() {
	local vh
	vh=$(host_of 1 "$uuid")
	ctl 1 -o json paths | jq -e --arg ip "$GIP" --argjson h "$vh" \
		'[.paths[] | select(.src_ip == $ip) | .src_host == $h] + [.paths[] | select(.dst_ip == $ip) | .dst_host == $h] | length == 2 and all' >/dev/null
}
# where libvirt runs the guest: 1, 2 or "" (nowhere)
lv_host() { local h; for h in 1 2; do lv_virsh "$h" domstate g1 2>/dev/null | grep -q running && { echo "$h"; return; }; done; }
rtvd_kill() { kill -9 "$(cat "$LAB_DIR/h$1/rtvd.pid")" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$(cat "$LAB_DIR/h$1/rtvd.pid")" 2>/dev/null || return 0; sleep 0.1; done; }
rtvd_restart() {	# rtvd_restart H [ENV=VALUE...]: (re)start H's rtvd with extra environment
	local h=$1; shift
	rtvd_kill "$h"
	setsid ip netns exec "${P}h$h" env "$@" "$T_ROOT/build/bin/rtvd" -c "$LAB_DIR/h$h/rtvd.conf" \
		>>"$LAB_DIR/h$h/rtvd.log" 2>&1 </dev/null &
	echo $! >"$LAB_DIR/h$h/rtvd.pid"
	disown
	for _ in $(seq 1 100); do ctl "$h" status >/dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}
wait_dead() { local end=$((SECONDS + ${2:-60})); while [ $SECONDS -lt $end ]; do kill -0 "$(cat "$LAB_DIR/h$1/rtvd.pid")" 2>/dev/null || return 0; sleep 0.2; done; return 1; }
follow_samples() { grep -ho "rtpaths are this host's [0-9.]* ms after the guest resumed" "$LAB_DIR"/h*/rtvd.log | awk '{print $5}'; }

step "a rack of three hosts, libvirtd on h1 and h2, rtvd on all"
"$LAB" up -n 3 -v 0 >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
lv_up 1 && lv_up 2 || die "libvirtd did not start"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
for _ in $(seq 1 60); do ctl 1 status >/dev/null 2>&1 && break; sleep 0.5; done

step "guest g1 on h1 (libvirt), VM peer on h3, two rtpaths between them"
lv_guest_xml g1 52:54:00:15:00:01 >"$RUN/g1.xml"
lv_virsh 1 define "$RUN/g1.xml" >/dev/null && lv_virsh 1 start g1 >/dev/null || die "virsh start g1 failed"
uuid=$(lv_virsh 1 domuuid g1 | tr -d '[:space:]')
GIP=10.15.0.1 PIP=10.15.0.3
for _ in $(seq 1 60); do [ "$(host_of 1 "$uuid")" = 1 ] && break; sleep 0.3; done
ctl 1 vm add --uuid "$uuid" --name g1 --host 1 --ip $GIP >/dev/null || die "vm add g1"
ctl 1 vm add --uuid peer --name peer --host 3 --ip $PIP >/dev/null || die "vm add peer"
ctl 1 reserve --src $GIP --dst $PIP --type deadline --rate 10M --deadline 20ms >/dev/null || die "reserve g1->peer"
ctl 1 reserve --src $PIP --dst $GIP --type deadline --rate 10M --deadline 20ms >/dev/null || die "reserve peer->g1"
check "every replica agrees" all_agree
ids_before=$(ctl 1 -o json paths | jq -c '[.paths[].id]')

step "1. rtvctl vm migrate g1 --to h2"
before=$(view 1)
ctl 1 -o json vm migrate g1 --to h2 --dry-run >"$RUN/dry1.json" 2>&1 || bad "dry run: $(cat "$RUN/dry1.json")"
check "--dry-run: both rtpaths would be admitted from h2" jqt '.result == "would prepare" and (.rtpaths | length == 2) and ([.rtpaths[].new_route] | sort == ["h2->tor->h3", "h3->tor->h2"])' "$RUN/dry1.json"
check "--dry-run changed nothing" [ "$before" = "$(view 1)" ]
ctl 1 -o json vm migrate g1 --to h2 --wait 120s >"$RUN/m1.json" 2>"$RUN/m1.err"; rc=$?
if [ $rc -eq 0 ] && jq -e '.result == "committed"' "$RUN/m1.json" >/dev/null; then
	ok "committed in $(jq .total_ms "$RUN/m1.json") ms (prepare $(jq .prepare_ms "$RUN/m1.json") ms)"
else
	bad "exit $rc: $(cat "$RUN/m1.json") $(tail -n 2 "$RUN/m1.err")"
fi
check "every replica: g1 on host 2" bash -c "for h in 1 2 3; do [ \"\$($LAB rtvctl \$h -o json vms | jq -r --arg u $uuid '.vms[] | select(.uuid == \$u) | .host_id')\" = 2 ] || exit 1; done"
check "libvirt runs g1 on h2" [ "$(lv_host)" = 2 ]
check "both rtpaths kept their ids and follow g1 to h2" bash -c "[ '$ids_before' = \"\$($LAB rtvctl 1 -o json paths | jq -c '[.paths[].id]')\" ]" 
check "...their ends are host 2" paths_follow
check "h1's uplink carries no reservation any more" bash -c "$LAB rtvctl 1 -o json links | jq -e '[.links[] | select(.a == \"h1\" or .b == \"h1\") | .reserved_ab_bps + .reserved_ba_bps] | add == 0' >/dev/null"
check "every replica agrees" all_agree
ctl 2 vms | grep -q "g1.*h2.*running" && ok "rtvctl vms: $(ctl 2 vms | grep g1)" || bad "rtvctl vms does not show g1 running on h2: $(ctl 2 vms | grep g1)"

step "rtvctl vm place g1: every host explained"
ctl 1 -o json vm place g1 >"$RUN/place.json" 2>"$RUN/place.err" && ok "$(cat "$RUN/place.json")" || bad "vm place: $(cat "$RUN/place.err")"
check "three candidates" jqt '.candidates | length == 3' "$RUN/place.json"
check "h3 (no libvirt) refused as not accepting VMs" jqt '[.candidates[] | select(.host_id == 3) | .refusal] == ["not accepting VMs"]' "$RUN/place.json"
check "h2 is where g1 is" jqt '.from == 2' "$RUN/place.json"
ctl 1 vm place g1 | sed 's/^/      /'

step "2. a refused prepare: h1's uplink is full"
ctl 1 vm add --uuid hog --name hog --host 1 --ip 10.15.0.9 >/dev/null || die "vm add hog"
ctl 1 vm add --uuid sink2 --name sink2 --host 2 --ip 10.15.0.22 >/dev/null || die "vm add sink2"
ctl 1 vm add --uuid sink3 --name sink3 --host 3 --ip 10.15.0.23 >/dev/null || die "vm add sink3"
hogs=()
for d in 10.15.0.22 10.15.0.23; do	# 2 × 24 Mbit/s: h1->tor's 50 Mbit/s limit nearly full
	out=$(ctl 1 reserve --src 10.15.0.9 --dst $d --type deadline --rate 24M --deadline 20ms) || die "reserve hog: $out"
	hogs+=("$(grep -o '[0-9][0-9]*' <<<"$out" | head -n 1)")
done
before=$(view 1)
ctl 1 vm migrate g1 --to h1 --dry-run >"$RUN/dry2.out" 2>&1
grep -q "would be refused: rtpath .* link h1->tor" "$RUN/dry2.out" && ok "--dry-run: $(head -c 200 "$RUN/dry2.out")" || bad "--dry-run: $(cat "$RUN/dry2.out")"
ctl 1 vm migrate g1 --to h1 --wait 30s >"$RUN/m2.out" 2>"$RUN/m2.err"; rc=$?
check "exit 1 (refused)" [ $rc -eq 1 ]
grep -q "h1->tor.*RT limit\|tor->h1.*RT limit" "$RUN/m2.err" && ok "names the link and limit: $(head -c 300 "$RUN/m2.err")" ||
	bad "the refusal does not name the link and its limit: $(cat "$RUN/m2.err")"
check "nothing changed" [ "$before" = "$(view 1)" ]
check "g1 still runs on h2" [ "$(lv_host)" = 2 ]
for id in "${hogs[@]}"; do ctl 1 release "$id" >/dev/null || bad "release rtpath $id"; done

step "3. a migration failed on purpose (h3 runs no libvirtd)"
before=$(view 1)
ctl 1 -o json vm migrate g1 --to h3 --wait 60s >"$RUN/m3.json" 2>"$RUN/m3.err"; rc=$?
check "exit 1, aborted" grep -q '"result":"aborted"' "$RUN/m3.json"
no_record 20 || bad "a migration record is left"
check "state as before" [ "$before" = "$(view 1)" ]
check "every replica agrees" all_agree
check "g1 still runs on h2" [ "$(lv_host)" = 2 ]

# crash POINT: migrate g1 from its libvirt host to the other, the source's
# agent started with RTV_MIG_CRASH=POINT (or, for "submit", the prepare made
# unable to commit while the source is killed). Ends: no record, paths on
# libvirt's host, replicas equal, and state as before if it did not move.
tried=0 good=0
crash_point() {
	local point=$1 src dst before ok_all=1
	src=$(lv_host); dst=$((3 - src))
	before=$(view 1)
	tried=$((tried + 1))
	step "4. crash point '$point': the source agent (h$src) killed; g1 h$src -> h$dst"
	if [ "$point" = submit ]; then
		# no quorum: stop the two other agents, so the prepare cannot commit
		local others=() h
		for h in 1 2 3; do [ "$h" != "$src" ] && others+=("$(cat "$LAB_DIR/h$h/rtvd.pid")"); done
		kill -STOP "${others[@]}"
		"$LAB" rtvctl "$src" --timeout 2s vm migrate g1 --to "h$dst" --wait 5s >"$RUN/c-$point.out" 2>&1
		rtvd_kill "$src"
		kill -CONT "${others[@]}"
		sleep 1
		rtvd_restart "$src" || bad "h$src did not restart"
	else
		[ "$point" = job ] && sed -i '/^\[libvirt\]$/a migrate_bandwidth = 40Mbit' "$LAB_DIR/h$src/rtvd.conf"
		rtvd_restart "$src" RTV_MIG_CRASH="$point" || { bad "h$src did not restart"; return; }
		ctl "$dst" vm migrate g1 --to "h$dst" --wait 90s >"$RUN/c-$point.out" 2>&1 &
		local mpid=$!
		wait_dead "$src" 90 && ok "h$src's agent died at '$point'" || bad "h$src's agent did not die at '$point'"
		[ "$point" = job ] && sed -i '/^migrate_bandwidth/d' "$LAB_DIR/h$src/rtvd.conf"
		if [ "$point" != moved ]; then rtvd_restart "$src" || bad "h$src did not restart"; fi
		wait "$mpid"
	fi
	no_record 90 && ok "no migration record left" || { bad "a record is left"; ok_all=0; }
	[ "$point" = moved ] && { rtvd_restart "$src" || bad "h$src did not restart"; }
	local where; where=$(lv_host)
	if [ "$(host_of 1 "$uuid")" = "$where" ] && paths_follow; then
		ok "g1 runs on h$where and its record and rtpaths say so ($([ "$where" = "$src" ] && echo aborted || echo committed))"
	else
		bad "libvirt runs g1 on h$where, its record says host $(host_of 1 "$uuid")"; ok_all=0
	fi
	if [ "$where" = "$src" ]; then
		[ "$before" = "$(view 1)" ] && ok "state as before" || { bad "state differs from before"; ok_all=0; }
	fi
	all_agree && ok "every replica agrees" || { bad "replicas differ"; ok_all=0; }
	[ $ok_all = 1 ] && good=$((good + 1))
}
crash_point submit
crash_point prepared
crash_point job
crash_point moved

step "5. g1 stopped, then undefined"
where=$(lv_host)
lv_virsh "$where" destroy g1 >/dev/null || bad "virsh destroy"
sleep 2
ctl 1 vms | grep -q "g1.*down" && ok "stopped: rtvctl vms says down: $(ctl 1 vms | grep g1)" || bad "rtvctl vms: $(ctl 1 vms | grep g1)"
check "stopped: its two rtpaths are kept" bash -c "[ \"\$($LAB rtvctl 1 -o json paths | jq --arg ip $GIP '[.paths[] | select(.src_ip == \$ip or .dst_ip == \$ip)] | length')\" = 2 ]"
lv_virsh "$where" undefine g1 >/dev/null || bad "virsh undefine"
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ] && [ "$(ctl 1 -o json paths | jq --arg ip $GIP '[.paths[] | select(.src_ip == $ip or .dst_ip == $ip)] | length')" != 0 ]; do sleep 0.3; done
check "undefined: its rtpaths are released" [ "$(ctl 1 -o json paths | jq --arg ip $GIP '[.paths[] | select(.src_ip == $ip or .dst_ip == $ip)] | length')" = 0 ]
check "...with a log line" grep -q "was undefined on this host: releasing its 2 rtpaths" "$LAB_DIR/h$where/rtvd.log"
check "...and a count (status: libvirt.rtpaths_released_undefined)" [ "$(ctl "$where" -o json status | jq .libvirt.rtpaths_released_undefined)" = 2 ]
# metric H REGEX: the value of the first series of H's /metrics matching REGEX, as an integer
metric() { ns "${P}h$1" curl -s "http://10.1.0.$1:9464/metrics" | grep -m1 "^$2" | awk '{printf "%d", $NF}'; }
check "...and a metric (rtvnet_vm_undefined_rtpaths_released_total 2)" [ "$(metric "$where" 'rtvnet_vm_undefined_rtpaths_released_total')" = 2 ]
# the last crash point ('moved') committed onto g1's host, whose agent has run
# since (only sources were killed); other agents' counters restarted with them
n=$(metric "$where" 'rtvnet_vm_migrations_total{.*result="committed"')
check "h$where: rtvnet_vm_migrations_total{result=\"committed\"} >= 1 ($n)" [ "${n:-0}" -ge 1 ]
check "every replica agrees" all_agree

step "figures"
samples=$(follow_samples | tr '\n' ' ')
echo "   destination resume -> commit applied (ms): $samples"
echo "   crash points ended clean: $good / $tried"
if [ -n "${MIG_FIGURES:-}" ]; then
	for s in $samples; do echo "follow_ms $s"; done >>"$MIG_FIGURES"
	echo "rollback $good $tried" >>"$MIG_FIGURES"
fi
finish
