#!/usr/bin/env bash
# lab_gossip.sh — gossip (docs/gossip.md) on the lab rack: lab.sh rtvd-up
# gives every host a [gossip] section on the management network (10.1.0.H,
# sealed with the lab's rack key). Checks, each printed as it runs:
#   1. every host's `rtvctl members -o json` holds all three hosts alive,
#      sealed, each with its Raft role; the leader's table has no warning;
#   2. load facts reach every host: CPU and memory of each host; h1's RT
#      reserved after one `rtvctl reserve` h1v1 -> h2v1; h1's uplink use
#      while h1v1 sends to h2v1, against what the kernel counted leaving
#      h1's up0 in the same seconds (and above h1's idle figure before);
#   3. a partition on a real network: the management switch's port toward
#      h3 goes down (the cable pulled); h1 and h2 mark h3 dead, h3 marks
#      both dead; Raft (in-band on the data network) still hears h3, so the
#      leader's `rtvctl members` warns of the disagreement;
#   4. the port comes back: every view converges to all alive, h3's
#      incarnation rose (it refuted its death);
#   5. lab.sh down leaves no namespace of the lab.
# The bounds of 3 and 4 are derived from the [gossip] lines lab.sh wrote
# (probe_interval P, pushpull_interval PP) and the module's defaults:
#   verdict  <= (n x (lhm_max + 1) + suspicion_max_mult x suspicion_mult) x P
#            a probe round of the n members at the slowest local-health
#            multiplier (the cut-off h3 misses every ack, so its own probes
#            slow down to (8 + 1) x P), then the longest suspicion timeout
#            (6 x 4 x P below 10 members);
#   heal     <= 2 x PP + 10 x P
#            h1's or h2's next push-pull comes within 2 x PP of the heal (the
#            first round is PP plus a random share of PP after start, then
#            every PP); it also pushes to the one member it holds dead (h3),
#            which refutes; the refutations spread in a few probe intervals.
# Own namespace prefix and directory: a lab you have up is untouched.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
lab_test gxg
need_cmd python3
P=$RTV_LAB_PREFIX
N=3 PORT=18050

on_fail() {
	local h
	for h in 1 2 3; do grep -i gossip "$RUN/lab/h$h/rtvd.log" 2>/dev/null | tail -n 5 | sed "s/^/      h$h: /"; done
}

ctl() { local h=$1; shift; "$LAB" rtvctl "$h" --timeout 2s "$@"; }
leader() { ctl 1 -o json status 2>/dev/null | jq -e '.leader | select(. > 0)'; }
mjson() { ctl "$1" -o json members 2>/dev/null; }
# names host H holds in STATE, sorted, space-separated
names() { mjson "$1" | jq -r --arg s "$2" '[.members[] | select(.state == $s) | .name] | sort | join(" ")'; }
view_is() {	# view_is "HOSTS" STATE "NAMES": each of HOSTS holds exactly NAMES in STATE
	local h
	for h in $1; do [ "$(names "$h" "$2")" = "$3" ] || return 1; done
}
views() { local h; for h in 1 2 3; do printf 'h%s: %s | ' "$h" "$(mjson "$h" | jq -c '[.members[] | [.name, .state]]')"; done; }
fact() {	# fact H NAME FIELD: host H's view of NAME's FIELD
	mjson "$1" | jq -r --arg n "$2" --arg f "$3" '.members[] | select(.name == $n) | .[$f]'
}
ms() {	# ms DURATION: a [gossip] duration (500ms, 10s) in ms
	case $1 in
	*ms) echo "${1%ms}" ;;
	*s) echo $(( ${1%s} * 1000 )) ;;
	*) die "duration $1: expected NNms or NNs" ;;
	esac
}
conf_ms() { ms "$(sed -n "s/^$1 = //p" "$RUN/lab/h1/rtvd.conf")"; }

step "1. a ${N}x1 rack at 20 Mbit/s with rtvd and gossip on every host (prefix $P)"
"$LAB" up -n $N -v 1 -r 20mbit >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "lab.sh rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
wait_for 20 leader || die "no Raft leader within 20 s"
sed -n '/^\[gossip\]/,/^\[/p' "$RUN/lab/h2/rtvd.conf" | grep -q '^seeds = 10.1.0.1:7946,10.1.0.3:7946$' &&
	grep -q '^rack_keys = ' "$RUN/lab/h2/rtvd.conf" && ok "h2's rtvd.conf: [gossip] on 10.1.0.2, seeds h1 and h3, rack_keys" ||
	bad "h2's rtvd.conf: $(sed -n '/^\[gossip\]/,$p' "$RUN/lab/h2/rtvd.conf" | tr '\n' '|')"
PI=$(conf_ms probe_interval) PP=$(conf_ms pushpull_interval)
VERDICT_S=$(( (N * (8 + 1) + 6 * 4) * PI / 1000 + 1 )) HEAL_S=$(( (2 * PP + 10 * PI) / 1000 + 1 ))
echo "   probe_interval ${PI} ms, pushpull_interval ${PP} ms: verdict bound ${VERDICT_S} s, heal bound ${HEAL_S} s"
t0=$SECONDS
wait_for 30 view_is "1 2 3" alive "h1 h2 h3" && ok "all three alive in every host's view after $((SECONDS - t0)) s" ||
	die "views: $(views)"
j=$(mjson 1)
jq -e '.sealed == "yes" and .rx_refused == 0' <<<"$j" >/dev/null && ok "sealed with the rack key, nothing refused" ||
	bad "sealed/refused: $(jq -c '[.sealed, .rx_refused]' <<<"$j")"
jq -e '[.members[] | select(.raft_role == "voter")] | length == 3' <<<"$j" >/dev/null &&
	ok "every member a Raft voter beside its gossip state" || bad "roles: $(jq -c '[.members[] | [.name, .raft_role]]' <<<"$j")"
# the table on the leader (the only one that knows whether Raft hears each
# member); a loaded machine may delay one heartbeat past a round, so a
# transient "Raft has not heard" warning is given a few seconds to clear
table_clean() {
	local l
	l=$(leader) && ctl "$l" members >"$RUN/members.txt" 2>&1 &&
		[ "$(grep -cE "^h[1-3] +10\.1\.0\.[1-3]:7946 +alive" "$RUN/members.txt")" = 3 ] &&
		! grep -q '^warning' "$RUN/members.txt"
}
wait_for 10 table_clean && ok "rtvctl members on the leader: 3 rows alive on the management network, no warning" ||
	bad "rtvctl members: $(tr '\n' '|' <"$RUN/members.txt")"

step "2. load facts: CPU, memory, RT reserved, uplink use"
facts_ok() {	# every host holds every host's CPU and memory, 20 Mbit/s uplinks
	local h
	for h in 1 2 3; do
		mjson "$h" | jq -e '[.members[] | .facts_seq > 0 and .cpu_ppm > 0 and .mem_total_bytes > 0 and
			.mem_avail_bytes > 0 and .mem_avail_bytes <= .mem_total_bytes and .uplink_bps == 20000000 and
			.vm_count == 1 and (.version | startswith("rtvd"))] | length == 3 and all' >/dev/null || return 1
	done
}
wait_for 15 facts_ok && ok "every host sees every host's CPU, memory, 20 Mbit/s uplink, 1 VM, version" ||
	bad "facts at h3: $(mjson 3 | jq -c '[.members[] | [.name, .facts_seq, .cpu_ppm, .mem_avail_bytes, .uplink_bps, .vm_count]]')"
idle=$(fact 3 h1 uplink_util_ppm)
rtpath=$(ctl 1 --timeout 5s reserve --src 10.0.1.11 --dst 10.0.2.11 --proto udp --dport $PORT \
	--type deadline --rate 4M --deadline 20ms --owner lab_gossip 2>&1) || die "reserve refused: $rtpath"
rt_seen() { local h; for h in 1 2 3; do [ "$(fact "$h" h1 rt_reserved_bps)" -ge 4000000 ] || return 1; done; }
wait_for 15 rt_seen && ok "rtpath $rtpath (4 Mbit/s h1v1 -> h2v1): every host sees h1's RT reserved $(fact 3 h1 rt_reserved_bps) bit/s" ||
	bad "h1's rt_reserved_bps at h1..h3: $(for h in 1 2 3; do printf '%s ' "$(fact $h h1 rt_reserved_bps)"; done)"
[ "$(fact 3 h2 rt_reserved_bps)" = 0 ] && ok "h2 reserved nothing on its own uplink: 0" ||
	bad "h2's rt_reserved_bps: $(fact 3 h2 rt_reserved_bps)"
# 1,000-byte datagrams every 5 ms or more (~1.7 Mbit/s on the wire at
# most) for 10 s or more. Once they flow, 5 s of h3's view of h1's uplink use
# beside what the kernel counted leaving h1's up0 in the same 5 s: the
# dataplane's byte count (what the fact is made of) and the device's are
# independent, and both include Raft's in-band traffic.
up0_bytes() { ip -n "${P}h1" -s -j link show up0 | jq '.[0].stats64.tx.bytes'; }
flowing() { local b=$(up0_bytes); sleep 1; [ $(( $(up0_bytes) - b )) -ge 50000 ]; }
ns "${P}h2v1" $UDP recv "$RUN/rx.json" 40 2 $PORT &
pids+=($!)
wait_for 10 test -e "$RUN/rx.json.ready" || die "the receiver did not start"
ns "${P}h1v1" $UDP send 10.0.2.11 $PORT 2000 1000 0.005 &
pids+=($!)
wait_for 10 flowing || die "h1v1's datagrams never left h1's up0 at 50 kB/s"
sleep 2	# one facts refresh (2 s) wholly inside the flow
b0=$(up0_bytes) t0=$(date +%s%N) samples=()
for i in 1 2 3 4 5; do samples+=("$(fact 3 h1 uplink_util_ppm)"); sleep 1; done
b1=$(up0_bytes) t1=$(date +%s%N)
wait "${pids[-1]}" "${pids[-2]}"
rx=$(jq ".\"$PORT\".n" "$RUN/rx.json")
kern=$(( (b1 - b0) * 8 * 1000000000 / (t1 - t0) / 20 ))	# bit/s as ppm of 20 Mbit/s
med=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 3p)
echo "   h1's uplink use at h3: idle $idle ppm; during the flow ${samples[*]} ppm; up0's kernel counter $kern ppm; $rx datagrams arrived"
[ "$rx" -gt 0 ] && [ "$med" -gt $((idle * 4)) ] && [ $((med * 10)) -ge $((kern * 7)) ] && [ $((med * 10)) -le $((kern * 14)) ] &&
	ok "h1's uplink use follows the flow: median $med ppm, up0 counted $kern ppm (idle $idle)" ||
	bad "h1's uplink use: median $med ppm, up0 counted $kern ppm, idle $idle (want 0.7 to 1.4 x up0's, and over 4 x idle)"
ctl 1 --timeout 5s release "$rtpath" >/dev/null 2>&1

step "3. partition: the management switch's port toward h3 goes down"
inc=$(fact 1 h3 incarnation)
ip -n "${P}mgmt" link set m-h3 down || die "cannot take m-h3 down"
t0=$(date +%s%N)
wait_for "$VERDICT_S" view_is "1 2" dead "h3" && ok "h1 and h2 hold h3 dead after $(( ($(date +%s%N) - t0) / 1000000 )) ms" ||
	bad "after ${VERDICT_S} s: $(views)"
wait_for "$VERDICT_S" view_is 3 dead "h1 h2" && ok "h3 holds h1 and h2 dead after $(( ($(date +%s%N) - t0) / 1000000 )) ms" ||
	bad "after ${VERDICT_S} s: $(views)"
# Raft runs in-band on the data network: its leader (whichever host it is
# now) still hears the member gossip holds dead, and says so
warns() {
	L=$(leader) && ctl "$L" members >"$RUN/members.txt" 2>&1 &&
		grep -q "is dead in gossip but Raft hears it" "$RUN/members.txt"
}
wait_for 10 warns && ok "leader h$L: $(grep -m1 'is dead in gossip' "$RUN/members.txt")" ||
	bad "no disagreement warning at the leader (h${L:-none}): $(tr '\n' '|' <"$RUN/members.txt")"

step "4. heal: the port comes back; every view converges to all alive"
ip -n "${P}mgmt" link set m-h3 up || die "cannot bring m-h3 up"
t0=$(date +%s%N)
wait_for "$HEAL_S" view_is "1 2 3" alive "h1 h2 h3" &&
	ok "all alive everywhere after $(( ($(date +%s%N) - t0) / 1000000 )) ms (bound ${HEAL_S} s)" ||
	bad "after ${HEAL_S} s: $(views)"
[ "$(fact 1 h3 incarnation)" -gt "$inc" ] && ok "h3 refuted its death: incarnation $inc -> $(fact 1 h3 incarnation)" ||
	bad "h3's incarnation at h1: $inc -> $(fact 1 h3 incarnation)"

step "5. lab.sh down"
"$LAB" down >/dev/null 2>&1
left=$(ip netns list | awk '{print $1}' | grep -c "^${P}" || true)
[ "$left" = 0 ] && ok "no namespace of the lab left" || bad "$left namespaces left"

finish
