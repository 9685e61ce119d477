#!/usr/bin/env bash
# gossip5.sh — five real rtvd on loopback (voters h1-h3, standbys h4 h5),
#   gossip sealed with the rack key and the autopilot on (dead_after 3 s):
#   - every agent's `rtvctl members` shows all five alive with facts and
#     Raft roles, and no disagreement warning;
#   - facts: the VMs and the RT rate reserved on a host's uplink, from the
#     replicated state, reach every member;
#   - an intruder (an rtvd without the rack key, and raw garbage) changes no
#     view: its datagrams are counted as refused;
#   - gossip.detect_s.median: SIGKILL of a standby until every living
#     member marks it dead, three times (restarted in between);
#   - a voter whose rack key goes wrong is lost to gossip but heard by Raft:
#     it stays a voter and `rtvctl status` warns; a voter paused 1.5 s
#     (SIGSTOP, below autopilot_dead_after) stays a voter;
#   - autopilot.restore_s: SIGKILL of a follower voter until the leader's
#     configuration holds 3 voters again without it; the killed host comes
#     back as a standby; then a second voter is killed and the rack still
#     commits a write (it kept its fault tolerance).
# Figures go to build/bench/results.jsonl (RTV_BENCH_OUT) beside formula
# baselines, labelled. Times on a shared loopback are indications.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd jq
need_cmd python3
on_fail() { rack_tail_logs; }

OUT=${RTV_BENCH_OUT:-$RACK_ROOT/build/bench/results.jsonl}
figure() {	# name value unit better baseline baseline_value
	mkdir -p "$(dirname "$OUT")"
	printf '{"name": "%s", "value": %s, "unit": "%s", "better": "%s", "baseline": "%s", "baseline_value": %s}\n' \
		"$@" >>"$OUT"
	printf '   figure %s = %s %s (baseline %s: %s)\n' "$1" "$2" "$3" "$5" "$6"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

KEYS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtv-g5keys.XXXXXX")
"$RACK_ROOT/pki/rtv-pki.sh" -d "$KEYS_DIR" init >/dev/null || die "rtv-pki.sh init failed"
export RACK_KEYS=$KEYS_DIR/rack.keys
export RACK_STANDBY="4 5"
export RACK_GOSSIP_EXTRA=$'autopilot = yes\nautopilot_dead_after = 3s'
RACK_GOSSIP=1 rack_init 5 || exit 1
trap 'rack_cleanup; rm -rf "$KEYS_DIR"' EXIT
# every host its own copy of the keyring, so that one can go wrong alone
for i in 1 2 3 4 5; do
	install -m 600 "$RACK_KEYS" "$RACK_DIR/n$i/rack.keys"
	sed -i "s|^rack_keys = .*|rack_keys = $RACK_DIR/n$i/rack.keys|" "$(rack_conf "$i")"
done
rack_start_all
leader=$(rack_wait_leader 20) || die "no leader"
ok "leader h$leader"

# names node I holds in STATE, sorted, space-separated
members() {
	rack_ctl "$1" --timeout 2s -o json members 2>/dev/null |
		jq -r --arg s "$2" '[.members[] | select(.state == $s) | .name] | sort | join(" ")'
}
wait_view() {	# wait_view "NODES" STATE "NAMES" timeout_s
	local t i all
	for t in $(seq 1 $(( $4 * 10 ))); do
		all=1
		for i in $1; do [ "$(members "$i" "$2")" = "$3" ] || { all=0; break; }; done
		[ $all = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

step "all five agents see all five members alive, sealed"
if wait_view "1 2 3 4 5" alive "h1 h2 h3 h4 h5" 30; then ok "h1..h5 alive everywhere"
else bad "views: $(for i in 1 2 3 4 5; do printf '%s | ' "$(members $i alive)"; done)"; fi
sleep 3	# a facts round
rack_ctl "$leader" members >"$RACK_DIR/members.txt" 2>&1
cat "$RACK_DIR/members.txt"
[ "$(grep -cE '^h[1-5] +127\.0\.0\.1:[0-9]+ +alive' "$RACK_DIR/members.txt")" = 5 ] &&
	ok "rtvctl members: 5 rows alive" || bad "rtvctl members table"
grep -q 'sealed with the rack key: yes' "$RACK_DIR/members.txt" && ok "sealed" || bad "not sealed"
grep -q '^warning' "$RACK_DIR/members.txt" && bad "warnings on a healthy rack" || ok "no disagreement warning"
j=$(rack_ctl "$leader" -o json members)
if jq -e '[.members[] | select(.raft_role == "voter")] | length == 3' <<<"$j" >/dev/null &&
   jq -e '[.members[] | select(.raft_role == "standby")] | length == 2' <<<"$j" >/dev/null &&
   jq -e '.members[] | select(.name == "h2") | .mem_total_bytes > 0 and .facts_seq > 0 and (.version | startswith("rtvd"))' <<<"$j" >/dev/null
then ok "json: 3 voters, 2 standbys, facts of h2"; else bad "json: $j"; fi

step "facts follow the replicated state: VMs on h2, an RT reservation h2 -> h3"
rack_ctl "$leader" vm add --uuid g5-vm2 --name vm2 --host 2 --ip 10.0.0.2 >/dev/null || bad "vm add vm2"
rack_ctl "$leader" vm add --uuid g5-vm3 --name vm3 --host 3 --ip 10.0.0.3 >/dev/null || bad "vm add vm3"
rack_ctl "$leader" reserve --src 10.0.0.2 --dst 10.0.0.3 --proto udp --dport 9 --type deadline \
	--rate 20M --deadline 5ms >/dev/null || bad "reserve h2 -> h3"
for t in $(seq 1 100); do
	f=$(rack_ctl 5 -o json members | jq -c '.members[] | select(.name == "h2") | [.vm_count, .rt_reserved_bps]')
	jq -e '.[0] == 1 and .[1] >= 20000000' <<<"$f" >/dev/null && break
	sleep 0.1
done
jq -e '.[0] == 1 and .[1] >= 20000000' <<<"$f" >/dev/null &&
	ok "h5 sees h2 with 1 VM and $(jq '.[1]' <<<"$f") bit/s RT reserved on its uplink" ||
	bad "h2's [vm_count, rt_reserved_bps] at h5: $f"

step "an intruder without the rack key, and garbage, change nothing"
before=$(rack_ctl 1 -o json members | jq .rx_refused)
RACK_KEYS= rack_write_conf 6 1
sed -i "s/^seeds = .*/seeds = $(rack_gossip_addr 1)/" "$(rack_conf 6)"
rack_start 6
python3 - "$(rack_gossip_addr 1)" <<'PY'
import os, socket, sys
host, port = sys.argv[1].split(":")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(os.urandom(1 + i % 300), (host, int(port)))
# a well-formed envelope claiming to be h2, sealed with key 1 and a made-up MAC
s.sendto(bytes([0x96, 0x01, 0xa2]) + b"h2" + bytes([0x01, 0xcf]) + (1).to_bytes(8, "big")
         + bytes([0xc4, 0x01, 0x90, 0xc4, 0x20]) + os.urandom(32), (host, int(port)))
PY
sleep 5
after=$(rack_ctl 1 -o json members | jq .rx_refused)
[ "$after" -gt "$before" ] && ok "h1 refused $((after - before)) datagrams" || bad "refused $before -> $after"
if wait_view "1 2 3 4 5" alive "h1 h2 h3 h4 h5" 1 && [ -z "$(members 1 dead)$(members 1 suspect)" ] &&
   ! rack_ctl 1 -o json members | jq -e '.members[] | select(.name == "h6")' >/dev/null; then
	ok "views unchanged: h6 unknown, nobody suspect or dead"
else bad "views after the intruder: $(rack_ctl 1 -o json members | jq -c '[.members[] | [.name, .state]]')"; fi
rack_kill 6

voters() {	# the leader's configuration: voter ids, sorted
	rack_ctl "$leader" --timeout 2s -o json status 2>/dev/null |
		jq -r '[.peers[] | select(.voter) | .id] | sort | join(" ")'
}
replacements() { rack_ctl "$leader" -o json members | jq .autopilot_replacements; }
follower_voter() {
	local v
	for v in $(voters); do [ "$v" != "$leader" ] && { echo "$v"; return; }; done
}

step "a voter with a wrong rack key: gossip loses it, Raft hears it: kept, and status warns"
leader=$(rack_wait_leader 10) || die "no leader"
w=$(follower_voter)
echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$RACK_DIR/n$w/wrong.keys"
chmod 600 "$RACK_DIR/n$w/wrong.keys"
cp "$RACK_DIR/n$w/rack.keys" "$RACK_DIR/n$w/right.keys"
mv "$RACK_DIR/n$w/wrong.keys" "$RACK_DIR/n$w/rack.keys"
if wait_view "$leader" dead "h$w" 20; then ok "h$w dead in the leader's gossip view"
else bad "h$w at the leader: $(rack_ctl "$leader" -o json members | jq -c --arg n "h$w" '.members[] | select(.name == $n) | .state')"; fi
sleep 5	# beyond autopilot_dead_after (3 s)
[ "$(voters)" = "1 2 3" ] && [ "$(replacements)" = 0 ] && ok "voters still $(voters): Raft hears h$w" ||
	bad "voters $(voters), replacements $(replacements)"
rack_ctl "$leader" status >"$RACK_DIR/st" 2>&1
grep "warning: h$w is dead in gossip but Raft hears it" "$RACK_DIR/st" && ok "status warns" ||
	bad "no warning in: $(tail -5 "$RACK_DIR/st")"
mv "$RACK_DIR/n$w/right.keys" "$RACK_DIR/n$w/rack.keys"
if wait_view "1 2 3 4 5" alive "h1 h2 h3 h4 h5" 30; then ok "key back: h$w alive everywhere again"
else bad "after the key came back: $(for i in 1 2 3 4 5; do printf '%s | ' "$(members $i alive)"; done)"; fi

step "a voter paused 1.5 s (SIGSTOP, under autopilot_dead_after) is kept"
p=$(follower_voter)
kill -STOP "$(rack_pid "$p")"; sleep 1.5; kill -CONT "$(rack_pid "$p")"
sleep 5
[ "$(voters)" = "1 2 3" ] && [ "$(replacements)" = 0 ] && ok "voters still $(voters)" ||
	bad "voters $(voters), replacements $(replacements) after a 1.5 s pause of h$p"
wait_view "1 2 3 4 5" alive "h1 h2 h3 h4 h5" 30 || bad "h$p not alive everywhere after its pause"

step "gossip.detect_s: SIGKILL of standby h5 until h1..h4 all mark it dead (3 rounds)"
ds=()
for r in 1 2 3; do
	t0=$(now_ms)
	rack_kill 5
	if wait_view "1 2 3 4" dead "h5" 30; then
		ds+=("$(( $(now_ms) - t0 ))")
		ok "round $r: dead everywhere after ${ds[-1]} ms (polling adds up to ~0.5 s)"
	else bad "round $r: dead views $(for i in 1 2 3 4; do printf '%s | ' "$(members $i dead)"; done)"; fi
	rack_start 5
	wait_view "1 2 3 4 5" alive "h1 h2 h3 h4 h5" 30 || bad "h5 did not come back alive"
done
if [ ${#ds[@]} = 3 ]; then
	med=$(printf '%s\n' "${ds[@]}" | sort -n | sed -n 2p)
	# SWIM: a probe reaches the dead member after e/(e-1) probe intervals on
	# average; then the probe timeout, then Lifeguard's suspicion timeout:
	# 4 x max(1, log10 5) probe intervals = 0.8 s once 3 members confirmed,
	# 6 x that = 4.8 s with no confirmation. The baseline is the latter (the
	# former, 1.2 s, is the lower bound).
	figure gossip.detect_s.median "$(awk "BEGIN{print $med/1000}")" s lower \
		"formula: SWIM e/(e-1)*probe interval + probe timeout + Lifeguard max suspicion timeout (200ms probes, 5 members)" \
		"$(awk 'BEGIN{e=exp(1); print e/(e-1)*0.2 + 0.1 + 6*4*0.2}')"
fi

step "autopilot: SIGKILL of a follower voter; the leader promotes a standby"
leader=$(rack_wait_leader 10) || die "no leader"
victim=$(follower_voter)
echo "   voters before: $(voters); killing h$victim"
t0=$(now_ms)
rack_kill "$victim"
restored=""
for t in $(seq 1 600); do
	v=$(voters)
	if [ "$(wc -w <<<"$v")" = 3 ] && [[ " $v " != *" $victim "* ]]; then restored=$(( $(now_ms) - t0 )); break; fi
	sleep 0.1
done
if [ -n "$restored" ]; then
	ok "voters $(voters) after $restored ms"
	figure autopilot.restore_s "$(awk "BEGIN{print $restored/1000}")" s lower \
		"formula: autopilot_dead_after (3s) + the gossip.detect_s formula + 2 Raft config changes (~0)" \
		"$(awk 'BEGIN{e=exp(1); print 3 + e/(e-1)*0.2 + 0.1 + 6*4*0.2}')"
else
	bad "voters after 60 s: $(voters)"
fi
grep -h 'autopilot' "$(rack_logfile "$leader")" | tail -3 | sed 's/^/   /'

step "h$victim restarts and rejoins as a standby"
rack_start "$victim"
for t in $(seq 1 200); do
	role=$(rack_ctl "$leader" -o json members 2>/dev/null |
		jq -r --arg n "h$victim" '.members[] | select(.name == $n) | "\(.state) \(.raft_role)"')
	[ "$role" = "alive standby" ] && break
	sleep 0.1
done
[ "$role" = "alive standby" ] && ok "h$victim: $role" || bad "h$victim: $role"

step "a second voter fails: the rack still commits"
v2=$(follower_voter)
rack_kill "$v2"
if rack_ctl "$leader" --timeout 10s vm add --uuid vm-g5 --name vmg5 --host "$leader" \
	--ip 10.9.0.1 --mac 52:54:00:00:09:01 >/dev/null; then
	ok "write committed with h$v2 dead (voters were $(voters))"
else bad "no commit after the second failure"; fi

finish
