#!/usr/bin/env bash
# dp_miss.sh — rtvd's dataplane and the miss loop with real rtvd processes
# (issue 4: "A forced miss produces a report at the sender and, past the
# threshold, an escalation committed in Raft"):
#
#   ns va (VM 10.99.0.1) =veth= ns ha [rtvd 1: vA <-> wA] =wire, HTB= ns hb [rtvd 2: wB <-> vB] =veth= ns vb (VM 10.99.0.2)
#                                   \____ management veth 10.98.0.1 - 10.98.0.2 (Raft, RPC, miss reports) ____/
#
# Two rtvd, the two voters of a Raft cluster, each with [dataplane] enabled
# in its host's namespace ([uplink] capacity 1G; the wire is shaped below
# that). Checks, each printed as it runs:
#   1. with the wire at 100 Mbit/s, a reserved path's datagrams arrive intact
#      and unlabelled at the VM, labelled (MPLS, S=1) on the wire, and
#      `rtvctl paths -o json` shows the path's "stats" on both hosts (sender:
#      packets; receiver: packets and one-way delay) and the table shows them;
#   2. a forced miss: the wire is cut to 2 Mbit/s and the path sends 3.2
#      Mbit/s, so its queue in the wire's qdisc grows past the 5 ms deadline
#      (no scheduler can keep it): the receiver counts misses, the sender
#      receives reports (CS6 on the wire), raises its local boost at once,
#      and past the policy (5 misses) an escalation to level 1 is committed
#      in Raft: `rtvctl paths` shows level 1 on both hosts, and no proposal
#      beyond the path's max level;
#   3. a second path whose larger R admission cannot give (a reservation of
#      400M whose R·1.5 exceeds the link's 500M RT budget) misses too: its
#      escalations commit with the class alone (levels 1 and 2, its max;
#      R stays 400M), none is refused, and there is no retry loop;
#   4. once the misses stop, the boosts decay ([dataplane] boost_decay 2s);
#   5. a malformed datagram and a forged (unsealed) report are refused by the
#      rack key's seal check (miss reports are sealed: [tls] rack_keys, from
#      tests/lib/dp_rack.sh), counted and ignored: nothing reaches the report
#      handler;
#   5b. rtvd 1 SIGKILLed and restarted while rtpath A's local boost is in
#      force (A misses again): the new rtvd takes the boost back from
#      rtvdp (no reset);
#   6. SIGTERM: both rtvd stop with exit 0 and nothing left open.
# Everything it starts is killed and every namespace removed on exit.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/common.sh

. tests/lib/dp_rack.sh
dp_rack_env rtvdm 18201

need_root
need_exec "$RTVD" "$RTVDP" "$RTVCTL"
need_cmd tcpdump ethtool python3

dp_rack_up

step "VMs and rtpaths"
ctl 1 vm add --uuid va-uuid --name va --host 1 --ip 10.99.0.1 >/dev/null &&
	ctl 1 vm add --uuid vb-uuid --name vb --host 2 --ip 10.99.0.2 >/dev/null || die "vm add failed"
A=$(ctl 1 reserve --src 10.99.0.1 --dst 10.99.0.2 --proto udp --dport 5000 --type deadline \
	--rate 4M --burst 6000 --deadline 5ms --miss-count 5 --miss-after 60s --max-level 1) ||
	die "reserve A failed: $A"
B=$(ctl 2 reserve --src 10.99.0.1 --dst 10.99.0.2 --proto udp --dport 5002 --type reservation \
	--rate 400M --burst 6000 --deadline 20ms --miss-count 5 --miss-after 60s --max-level 2) ||
	die "reserve B failed: $B"
ok "rtpath A=$A (deadline 5 ms, 4M, escalate after 5 misses, up to level 1)"
ok "rtpath B=$B (reservation 400M, 20 ms: its escalation to R·1.5 = 600M exceeds the 500M RT budget)"
sent_on() { [ "$(path_stat 1 "$A" side)" = sender ] && [ "$(path_stat 2 "$A" side)" = receiver ]; }
wait_for 5 sent_on && ok "node 1 sends rtpath $A, node 2 receives it (stats sides)" ||
	bad "stats sides: node 1 '$(path_stat 1 "$A" side)', node 2 '$(path_stat 2 "$A" side)'"

recv_start() {	# recv_start NAME MAX_S QUIET_S
	rm -f "$DIR/$1.json" "$DIR/$1.json.ready"
	ip netns exec $VB $UDP recv "$DIR/$1.json" "$2" "$3" 5000 5002 >/dev/null 2>"$DIR/$1.log" &
	RECV_PID=$!
	pids+=($RECV_PID)
	for _ in $(seq 50); do [ -f "$DIR/$1.json.ready" ] && return 0; sleep 0.1; done
	return 1
}

step "1. the wire at 100 Mbit/s: 200 datagrams on rtpath $A"
ns $VA ping -c 1 -W 2 10.99.0.2 >/dev/null || bad "ping va -> vb through both dataplanes"
ip netns exec $HB tcpdump -i wB -nn -s 128 -U -w "$DIR/wire.pcap" >/dev/null 2>"$DIR/tcpdump.log" &
TCPDUMP=$!
pids+=($TCPDUMP)
ip netns exec $HA tcpdump -i m0 -nn -s 128 -U -w "$DIR/mgmt.pcap" udp port $MISS_PORT >/dev/null 2>"$DIR/tcpdump_m.log" &
TCPDUMP_M=$!
pids+=($TCPDUMP_M)
sleep 0.5
recv_start r1 20 1.5 || die "receiver did not start"
ns $VA $UDP send 10.99.0.2 5000 200 1000 0.004 || bad "sender failed"
wait $RECV_PID
kill $TCPDUMP 2>/dev/null
wait $TCPDUMP 2>/dev/null
n=$(json_get "$DIR/r1.json" "j['5000']['n']")
nbad=$(json_get "$DIR/r1.json" "j['5000']['bad']")
[ "$n" = 200 ] && [ "$nbad" = 0 ] && ok "200/200 datagrams at vb, payload intact (label popped)" ||
	bad "received ${n:-?}/200, ${nbad:-?} corrupted"
WIRE='
import struct, sys
f = open(sys.argv[1], "rb"); f.read(24); lab = plain = bad = 0
while True:
    h = f.read(16)
    if len(h) < 16: break
    incl = struct.unpack("<IIII", h)[2]; fr = f.read(incl)
    et = struct.unpack("!H", fr[12:14])[0]; off = 14; mpls = False
    if et == 0x8847:
        e = struct.unpack("!I", fr[14:18])[0]; off = 18; mpls = True
        bad += not (e >> 8) & 1
    elif et != 0x0800: continue
    ip = fr[off:]; ihl = (ip[0] & 15) * 4
    if ip[9] == 17 and struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == 5000:
        lab += mpls; plain += not mpls
print(lab, plain, bad)
'
read -r lab plain sbad <<<"$($PY -c "$WIRE" "$DIR/wire.pcap")"
[ "${lab:-0}" = 200 ] && [ "$plain" = 0 ] && [ "$sbad" = 0 ] &&
	ok "on the wire: 200 labelled (MPLS, S=1), none plain" || bad "on the wire: ${lab:-?} labelled, ${plain:-?} plain, ${sbad:-?} without S"
tx=$(path_stat 1 "$A" packets)
rx=$(path_stat 2 "$A" packets)
p50=$(path_stat 2 "$A" delay_p50_ns)
p99=$(path_stat 2 "$A" delay_p99_ns)
mx=$(path_stat 2 "$A" delay_max_ns)
m1=$(path_stat 2 "$A" misses)
[ "${tx:-0}" -ge 200 ] && [ "${rx:-0}" -ge 200 ] && [ "${p50:-0}" -gt 0 ] &&
	ok "stats: sender packets=$tx, receiver packets=$rx, one-way delay p50 ${p50} ns, p99 ${p99} ns, max ${mx} ns, misses ${m1}" ||
	bad "stats: sender packets=${tx:-?}, receiver packets=${rx:-?}, p50=${p50:-?}"
ctl 2 paths >"$DIR/table.txt"
grep -E "^$A +.*receiver +[0-9]+ +[0-9]+ +[0-9.]+ [mun]?s/" "$DIR/table.txt" >/dev/null &&
	ok "rtvctl paths (table) on node 2 shows SIDE/PKTS/MISSES/DELAY" ||
	{ bad "table lacks the stats columns"; sed 's/^/      /' "$DIR/table.txt"; }

# the latency histograms are rtvdp's: they reach rtvd's /metrics over the channel
hist() { c=$(metric 2 'rtvnet_rtpath_one_way_delay_seconds_count{'); [ "${c%.*}" -gt 0 ] 2>/dev/null; }
wait_for 5 hist && ok "node 2's /metrics: rtvnet_rtpath_one_way_delay_seconds_count $(metric 2 'rtvnet_rtpath_one_way_delay_seconds_count{'), node 1's RT queue delay count $(metric 1 'rtvnet_dp_queue_delay_seconds_count{class="rt"')" ||
	bad "rtvdp's one-way delay histogram is not in node 2's /metrics ($(metric 2 'rtvnet_rtpath_one_way_delay_seconds_count'))"

step "2. forced miss: the wire cut to 2 Mbit/s, rtpath $A sends 3.2 Mbit/s for 2 s (rtpath $B a little)"
htb $HA wA 2mbit && htb $HB wB 2mbit || die "cannot reshape the wire"
recv_start r2 30 3 || die "receiver did not start"
ns $VA $UDP send 10.99.0.2 5002 40 1000 0.05 &
SENDB=$!
pids+=($SENDB)
ns $VA $UDP send 10.99.0.2 5000 800 1000 0.0025 || bad "sender failed"
wait $SENDB
rx_missed() { [ "$(path_stat 2 "$A" misses)" -gt 0 ] 2>/dev/null; }
wait_for 5 rx_missed && ok "receiver (node 2) counted $(path_stat 2 "$A" misses) misses on rtpath $A, worst $(path_stat 2 "$A" worst_late_ns) ns late" ||
	bad "no misses at the receiver"
reported() { [ "$(dp_stat 1 reports_applied)" -gt 0 ] 2>/dev/null; }
wait_for 5 reported && ok "sender (node 1): $(dp_stat 1 reports_received) reports received, $(dp_stat 1 reports_applied) applied, $(dp_stat 1 misses_reported) misses reported; node 2 sent $(dp_stat 2 reports_sent) in $(dp_stat 2 dgrams_sent) datagrams" ||
	bad "the sender got no report (node 2 sent $(dp_stat 2 reports_sent))"
[ "$(dp_stat 1 boosts_raised)" -ge 1 ] 2>/dev/null && grep -q "rtpath $A: local boost raised" "$DIR/n1.log" &&
	ok "local boost at once: boosts_raised=$(dp_stat 1 boosts_raised); log: $(grep -m1 "rtpath $A: local boost raised" "$DIR/n1.log" | sed 's/.*dataplane: //')" ||
	bad "no local boost (boosts_raised=$(dp_stat 1 boosts_raised))"
level1() { [ "$(path_level 1 "$A")" = 1 ] && [ "$(path_level 2 "$A")" = 1 ]; }
wait_for 10 level1 && ok "escalation committed in Raft: rtpath $A at level 1 on both hosts" ||
	bad "rtpath $A level: node 1 $(path_level 1 "$A"), node 2 $(path_level 2 "$A")"
[ "$(path_stat 1 "$A" escalations_committed)" = 1 ] && [ "$(path_stat 1 "$A" escalations_proposed)" = 1 ] &&
	ok "node 1 proposed 1 and committed 1 escalation of $A (max level 1: nothing beyond)" ||
	bad "escalations of $A: proposed $(path_stat 1 "$A" escalations_proposed), committed $(path_stat 1 "$A" escalations_committed)"
ctl 1 paths | sed 's/^/   node 1: /'

step "3. rtpath $B: no larger R fits, so escalation raises its class alone"
at_max() { [ "$(path_level 1 "$B")" = 2 ] 2>/dev/null; }
wait_for 15 at_max && ok "rtpath $B at level 2 (its max): $(grep -m1 "rtpath $B is at level 2" "$DIR/n1.log" | sed 's/.*dataplane: //' | cut -c1-120)" ||
	bad "rtpath $B at level $(path_level 1 "$B") (proposed $(path_stat 1 "$B" escalations_proposed), misses $(path_stat 1 "$B" misses))"
ctl 1 -o json paths "$B" >"$DIR/pb.json" 2>/dev/null
[ "$(json_get "$DIR/pb.json" "j['paths'][0]['service_rate_bps']")" = 400000000 ] &&
	[ "$(json_get "$DIR/pb.json" "j['paths'][0]['tc']")" = 5 ] &&
	ok "rtpath $B: R still 400M (600M does not fit the 500M budget), class TC 5" ||
	bad "rtpath $B: R $(json_get "$DIR/pb.json" "j['paths'][0]['service_rate_bps']"), TC $(json_get "$DIR/pb.json" "j['paths'][0]['tc']")"
[ "$(path_stat 1 "$B" escalations_refused)" = 0 ] && ok "rtpath $B: no escalation refused" ||
	bad "rtpath $B: $(path_stat 1 "$B" escalations_refused) escalations refused"

step "4. the misses stop: the boosts decay (boost_decay 2s)"
wait $RECV_PID
decayed() { [ "$(path_stat 1 "$A" boost)" = 0 ] && [ "$(path_stat 1 "$B" boost)" = 0 ]; }
wait_for 20 decayed && ok "boosts back to 0 (boosts_lowered=$(dp_stat 1 boosts_lowered))" ||
	bad "boosts: A $(path_stat 1 "$A" boost), B $(path_stat 1 "$B" boost)"
for id in $A $B; do
	sm=$(path_stat 1 "$id" misses)
	rm_=$(path_stat 2 "$id" misses)
	[ -n "$sm" ] && [ "$sm" = "$rm_" ] && ok "rtpath $id: the sender learnt all $sm misses the receiver counted" ||
		bad "rtpath $id: the sender learnt ${sm:-?} misses, the receiver counted ${rm_:-?}"
done
pb=$(path_stat 1 "$B" escalations_proposed)
[ "${pb:-99}" -le 3 ] && ok "rtpath $B: $pb proposals in all (one per level)" ||
	bad "rtpath $B: $pb proposals: a retry loop"
kill $TCPDUMP_M 2>/dev/null
wait $TCPDUMP_M 2>/dev/null
TOS='
import struct, sys
f = open(sys.argv[1], "rb"); f.read(24); n = cs6 = 0
while True:
    h = f.read(16)
    if len(h) < 16: break
    incl = struct.unpack("<IIII", h)[2]; fr = f.read(incl)
    if struct.unpack("!H", fr[12:14])[0] != 0x0800: continue
    n += 1; cs6 += fr[15] == 0xc0
print(n, cs6)
'
read -r nrep ncs6 <<<"$($PY -c "$TOS" "$DIR/mgmt.pcap")"
[ "${nrep:-0}" -gt 0 ] && [ "$nrep" = "$ncs6" ] && ok "$nrep miss-report datagrams on the management link, all DSCP CS6 (TOS 0xc0)" ||
	bad "miss reports on the wire: ${nrep:-?}, CS6: ${ncs6:-?}"

step "5. a malformed datagram and a forged report are refused as unsealed, counted and ignored"
FORGE='
import socket, sys
def pk(o):
    if isinstance(o, int):
        return bytes([0xcf]) + o.to_bytes(8, "big")
    if isinstance(o, str):
        b = o.encode(); return bytes([0xa0 | len(b)]) + b
    if isinstance(o, list):
        return bytes([0x90 | len(o)]) + b"".join(pk(x) for x in o)
    return bytes([0x80 | len(o)]) + b"".join(pk(k) + pk(v) for k, v in o.items())
r = {"id": int(sys.argv[1]), "n": 1, "cum": 1, "first_ns": 1, "last_ns": 2, "late_ns": 5,
     "late_ipid": 1, "ipid": 1, "unc_ns": 1}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"\xde\xad\xbe\xef not msgpack", ("10.98.0.1", int(sys.argv[2])))
s.sendto(pk({"v": 1, "t": "miss", "host": 2, "seq": 1, "r": [r]}), ("10.98.0.1", int(sys.argv[2])))
'
un0=$(dp_stat 1 dgrams_unauth)
rej0=$(dp_stat 1 reports_rejected)
rcv0=$(dp_stat 1 reports_received)
ns $HB $PY -c "$FORGE" 999999 $MISS_PORT
sleep 0.5
un1=$(dp_stat 1 dgrams_unauth)
[ "$un1" -ge $((un0 + 2)) ] && grep -q "missrep: ignored a datagram" "$DIR/n1.log" &&
	ok "both refused by the seal check: dgrams_unauth $un0 -> $un1, logged" ||
	bad "unsealed datagrams not refused (dgrams_unauth $un0 -> $un1)"
[ "$(dp_stat 1 reports_rejected)" = "$rej0" ] && [ "$(dp_stat 1 reports_received)" = "$rcv0" ] &&
	ok "nothing reached the report handler (received $rcv0, rejected $rej0: unchanged)" ||
	bad "a forged report got past the seal check"

ctl 1 status >"$DIR/status.txt"
grep -qE "^local boosts: [1-9][0-9]* raised, [1-9][0-9]* lowered; escalations: [0-9]+ proposed, 3 committed, 0 refused" "$DIR/status.txt" &&
	ok "rtvctl status: $(grep "^local boosts" "$DIR/status.txt")" ||
	{ bad "rtvctl status lacks the dataplane's counters"; sed 's/^/      /' "$DIR/status.txt"; }

step "5b. rtvd 1 SIGKILLed while a local boost is in force: the restarted rtvd takes it back from rtvdp"
ns $VA $UDP send 10.99.0.2 5000 1200 1000 0.0025 &	# misses again, 3 s
SENDA=$!
pids+=($SENDA)
boosted() { b=$(path_stat 1 "$A" boost); [ "${b:-0}" -gt 0 ] 2>/dev/null; }
if wait_for 10 boosted; then
	b0=$(path_stat 1 "$A" boost)
	kill -9 "${RTVD_PID[1]}"; wait "${RTVD_PID[1]}" 2>/dev/null
	ip netns exec $HA "$RTVD" -c "$DIR/n1.conf" >>"$DIR/n1.log" 2>&1 &
	RTVD_PID[1]=$!
	taken() { grep -q "rtpath $A: local boost [1-9][0-9]* taken back from rtvdp" "$DIR/n1.log"; }
	wait_for 15 taken && ok "boost $b0 of rtpath $A when rtvd 1 was killed; the new rtvd: $(grep -o "rtpath $A: local boost [0-9]* taken back from rtvdp" "$DIR/n1.log" | tail -1) (no reset to 0)" ||
		bad "the restarted rtvd 1 did not take rtpath $A's boost back (boost now '$(path_stat 1 "$A" boost)')"
else
	bad "rtpath $A got no local boost to carry across a restart (boost '$(path_stat 1 "$A" boost)')"
fi
wait $SENDA

step "6. SIGTERM: both stop cleanly"
for i in 1 2; do kill -TERM "${RTVD_PID[$i]}"; done
for i in 1 2; do
	wait "${RTVD_PID[$i]}"
	rc=$?
	unset "RTVD_PID[$i]"
	if [ $rc = 0 ] && ! grep -q "left open" "$DIR/n$i.log"; then
		ok "rtvd $i: exit 0, loop closed with nothing open ($(grep -m1 "dataplane: stopped" "$DIR/n$i.log" | sed 's/.*dataplane: //'))"
	else
		bad "rtvd $i: exit $rc$(grep "left open" "$DIR/n$i.log" | head -3)"
	fi
done

finish
