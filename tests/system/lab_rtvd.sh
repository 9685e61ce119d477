#!/usr/bin/env bash
# lab_rtvd.sh — rtvnet on the lab rack (issue 6): tests/lab/lab.sh rtvd-up on
# a 3-host rack (own OVS per host, rtvd's dataplane between rtv-int and up0,
# Raft in-band through it), then tests/lab/exp2.sh --with-rtvnet at small
# scale. Checks, each printed as it runs:
#   1. rtvd-up: a Raft leader, every VM learnt from OVSDB on every host;
#   2. a reservation made through a host that is not the leader is visible
#      on every host, and cross-host traffic still flows;
#   3. experiment 2 for 4 s at 20 Mbit/s (A 2M/5 ms, B 2M/10 ms, NRT 1.1x):
#      without rtvnet A and B miss (late or lost); with rtvnet none is lost
#      and none is late through rtvnet. exp2.sh checks it per packet: it
#      captures where A and B enter and leave both dataplanes, and a late
#      packet is the lab's only if rtvd held it within its share of the
#      deadline (deadline - the network budget admission gave the hops) so
#      that the lab's own hops overran theirs; the lab's late packets are
#      listed one by one, and any other late packet fails the check.
#   4. admission refuses a path that would overbook a link and names the
#      link; the refusal changes nothing;
#   5. experiment 3 (tests/lab/exp3.sh, 9 s): flow C from the server without
#      rtvnet makes A and B miss, the sender escalates both through Raft,
#      2 s without a miss follow, no packet late through rtvnet (exp3.sh's
#      claims, each checked);
#   6. SIGKILL to the Raft leader during A and B's traffic
#      (tests/lab/leaderkill.sh): no miss among the packets sent from 1 s
#      before the kill to 1 s after the election, a new leader, the next
#      reservation commits, the killed host catches up, nothing lost and no
#      packet late through rtvnet in the whole run (its claims);
#   7. down removes every namespace and process.
# Uses its own namespace prefix and directory: a lab you have up is untouched.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
lab_test rlr
P=$RTV_LAB_PREFIX

on_fail() {
	for h in 1 2 3; do tail -n 8 "$RUN/lab/h$h/rtvd.log" 2>/dev/null | sed "s/^/      h$h: /"; done
}

ctl() { local h=$1; shift; "$LAB" rtvctl "$h" --timeout 2s "$@"; }
leader() { ctl 1 -o json status 2>/dev/null | jq -e '.leader | select(. > 0)'; }
vms_everywhere() {
	local h
	for h in 1 2 3; do [ "$(ctl $h vms 2>/dev/null | grep -c "^${P}h[123]v[12] ")" = 6 ] || return 1; done
}
path_on() { ctl "$1" -o json paths "$2" 2>/dev/null | jq -e ".paths[0].id == $2"; }

step "1. a 3x2 rack at 20 Mbit/s with rtvd on every host (prefix $P)"
t0=$SECONDS
"$LAB" up -n 3 -v 2 -r 20mbit >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "lab.sh rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
wait_for 20 leader || die "no Raft leader within 20 s (Raft runs in-band through the dataplane)"
L=$(leader)
ok "leader h$L, $((SECONDS - t0)) s after up; Raft in-band: br-rtv -> OVS -> rtv-int -> dataplane -> up0"
wait_for 20 vms_everywhere && ok "all 6 VMs in rtvctl vms on every host (learnt from OVSDB)" ||
	bad "VMs missing: $(ctl 1 vms | tr '\n' '|')"
for h in 1 2 3; do
	[ "$(ip netns exec "${P}h$h" env OVS_RUNDIR="$RUN/lab/h$h/ovs" ovs-vsctl --db=unix:"$RUN/lab/h$h/ovs/db.sock" \
		list-ports br-rtv | grep -c '^up0$')" = 0 ] && ctl $h -o json status | jq -e '.dataplane.running' >/dev/null ||
		bad "h$h: up0 still on the bridge, or the dataplane is not running"
done

step "2. a reservation through a host that is not the leader"
V=1
[ "$L" = 1 ] && V=2
id=$(ctl $V reserve --src 10.0.1.12 --dst 10.0.3.11 --proto udp --dport 18477 --type deadline \
	--rate 1M --deadline 10ms) || die "reserve through h$V (leader h$L) refused: $id"
for h in 1 2 3; do
	wait_for 3 path_on $h "$id" && ok "rtpath $id (made through h$V) visible on h$h" || bad "rtpath $id not on h$h"
done
"$LAB" exec h1v2 ping -c 3 -i 0.2 -W 1 -q 10.0.3.11 >/dev/null && ok "h1v2 pings h3v1 through both dataplanes" ||
	bad "h1v2 cannot reach h3v1"
ctl $V release "$id" >/dev/null || bad "release $id failed"
"$LAB" rtvd-down >/dev/null 2>&1	# exp2 runs its baseline on the plain lab

step "3. experiment 2, 4 s per run, without and with rtvnet"
lab_claims exp2.sh "$RUN/exp2" --with-rtvnet --duration 4s

step "4. admission refuses the path that would overbook a link, and names it"
id=$(ctl 2 reserve --src 10.0.1.12 --dst 10.0.3.11 --type deadline --rate 6M --deadline 20ms) ||
	die "the first 6 Mbit/s reservation was refused: $id"
out=$(ctl 3 reserve --src 10.0.1.11 --dst 10.0.3.12 --type deadline --rate 6M --deadline 20ms 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'link h1->tor' <<<"$out" && grep -q '10 Mbit/s' <<<"$out" &&
	ok "second 6 Mbit/s from h1 refused (exit 1): ${out#rtvctl: }" || bad "expected a refusal naming h1->tor, got exit $rc: $out"
[ "$(ctl 1 -o json paths | jq '.paths | length')" = 1 ] && ok "the refused path left no trace" || bad "paths changed by a refusal"
ctl 2 release "$id" >/dev/null || bad "release $id failed"

step "5. experiment 3: C joins A and B's ToR class; escalation through Raft ends the misses"
lab_claims exp3.sh "$RUN/exp3" --duration 9s
during=$(sed -n 's/^  misses after C, before escalation *//p' "$RUN/exp3.log")
[ "${during:-0}" -gt 0 ] && ok "C caused misses ($during) before escalation" || bad "C caused no misses: the scenario did not bite"

step "6. SIGKILL to the Raft leader during traffic"
lab_claims leaderkill.sh "$RUN/lk"

step "7. down removes everything"
"$LAB" down >/dev/null 2>&1
left=$(ip netns list | grep -c "^${P}")
[ "$left" = 0 ] && ! pgrep -f "$RUN/lab/" >/dev/null && ok "no namespace, no process left" ||
	bad "$left namespaces left"

finish
