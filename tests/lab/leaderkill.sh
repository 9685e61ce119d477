#!/usr/bin/env bash
# leaderkill.sh — the Raft leader dies during real-time traffic: deadlines
# stay met (the dataplane does not depend on the leader), a new leader is
# elected, and the next reservation succeeds.
#
#   tests/lab/leaderkill.sh [--duration D] [--kill-at D] [--on-path] [--results DIR] [--keep]
#
# The run: rtvd on every host (lab.sh rtvd-up unless it runs); leadership is
# handed to h3 (rtvctl transfer), the host that carries none of the traffic;
# A (2 Mbit/s, 5 ms) and B (2 Mbit/s, 10 ms) from VM h1v1 to VM h2v1 are
# reserved through h1 (not the leader) while h1v2 floods h2v2 at 1.1x the
# link rate. At --kill-at (default 3s) after A and B start, h3's rtvd gets
# SIGKILL. The script then waits for h1 and h2 to agree on a new leader,
# reserves a third rtpath D through the host that is not the new leader, and
# after the traffic restarts h3's rtvd and checks that it catches up (it
# lists D). --duration (default 8s) is A and B's run.
#
# Why h3: the claim tested by default is that the *leader* is not on the
# packet path of anyone else. --on-path makes h1 the leader instead, the
# host that sends A and B: its rtvd is killed under their traffic and
# restarted at once (A, B and D reserved through h2). The packets never pass
# through rtvd (rtvdp, the host's dataplane process, forwards on with the
# table it has and rtvd resynchronises when it is back:
# docs/dataplane-process.md), so the claims are the same: nothing lost or
# late through rtvnet. Its figures are lab.leaderkill_onpath.*.
#
# Printed: A and B's misses (late + lost) over the run and around the kill
# (sent from 1 s before it to 1 s after the election), max delay, the election
# time (SIGKILL -> h1 and h2 both log the new leader)
# (SIGKILL -> h1 and h2 name a new leader), D's reservation time, h3's
# catch-up. Results folder (default results/leaderkill-<date>/): per-packet
# CSVs, receivers' JSON, the table (leaderkill.txt), a plot (leaderkill.png,
# with gnuplot), figures.jsonl (also
# appended to $RTV_BENCH_OUT when set):
#   lab.leaderkill.misses        late + lost packets of A and B
#   lab.leaderkill.misses_near_kill   ... sent around the kill
#   lab.leaderkill.failover_ms   SIGKILL -> a new leader known to h1 and h2
#                                (from their logs, ms resolution)
# Claims: no miss around the kill, the new reservation committed, h3
# caught up, and no packet of A or B lost or late through rtvnet in the
# whole run (per packet, as in exp2.sh: captures where they
# enter and leave both dataplanes; a late packet is the lab's only if rtvd
# held it within its share). Exit status: 0 when all held; 1 when not (each
# failed claim named); 2 on bad usage or a broken rack.
set -u
NAME=leaderkill
. "$(dirname "$0")/lib.sh"
PORT_D=18034

duration=8s killat=3s results='' onpath=0
lab_args "--duration=duration --kill-at=killat --on-path=onpath=1" "$@"
victim=3 via=1 fig=lab.leaderkill
[ "$onpath" = 1 ] && victim=1 via=2 fig=lab.leaderkill_onpath
others=$(echo 1 2 3 | tr ' ' '\n' | grep -vx $victim | tr '\n' ' ')
timeline --kill-at "$killat"
ksecs=$at_secs
lab_start

lab_need 3 -n 3 -v 2 -r 20mbit
run=leaderkill
rtvnet_up
if [ "$leader" != $victim ]; then
	say "Raft leader h$leader; handing leadership to h$victim (rtvctl transfer $victim)"
	ctl "$leader" --timeout 5s transfer $victim >/dev/null 2>&1 || die "rtvctl transfer $victim failed"
	v_leads() { [ "$(leader_of "1 2 3")" = $victim ] && [ "$(leader_of 1)" = $victim ] && [ "$(leader_of 2)" = $victim ]; }
	wait_for 10 v_leads || die "h$victim did not become the leader within 10 s"
fi
say "Raft leader h$victim; reserving A and B through h$via (not the leader)"
reserve A $via $PORT_A 5ms
id_A=$rtpath
reserve B $via $PORT_B 10ms
id_B=$rtpath
sleep 0.5
reach

say "A, B = 2 Mbit/s h1v1 -> h2v1 for $duration; NRT $((flood_bps / 1000000)) Mbit/s h1v2 -> h2v2;" \
	"SIGKILL to the leader's rtvd (h$victim) at t = $killat"
hops_start "$results/$run" $PORT_A $PORT_B
start_ab 1502 $((secs + 10))
sleep "$ksecs"

pidv=$(rtvd_pid $victim) || die "h$victim's rtvd is not running"
t_kill=$(date +%s%N)
kill -9 "$pidv"
say "SIGKILL to h$victim's rtvd (pid $pidv) at $(date -u -d "@${t_kill:0:10}.${t_kill:10:3}" +%T.%3N) UTC"
if [ "$onpath" = 1 ]; then	# on the path: back at once, under the traffic
	LAB_QUIET=1 "$LAB" rtvd-up >>"$results/rtvd-up.log" 2>&1 || say "lab.sh rtvd-up failed (see $results/rtvd-up.log)"
	say "h$victim's rtvd restarted under the traffic (pid $(rtvd_pid $victim))"
fi
read -r s1 s2 <<<"$others"
# a new leader that the two others agree on (each asked itself)
new_leader() {
	local a b
	a=$(ctl $s1 --timeout 1s -o json status 2>/dev/null | jq -e ".leader | select(. == $s1 or . == $s2)") &&
		b=$(ctl $s2 --timeout 1s -o json status 2>/dev/null | jq -e '.leader') && [ "$a" = "$b" ] && echo "$a"
}
newl=''
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do newl=$(new_leader) && break; sleep 0.05; done
t_elect=$(date +%s%N)
# when h1 and h2 knew the new leader: each rtvd logs "leader is N" (ms
# resolution); the later of the two. The rtvctl polling above finds it
# later than that (each call is a process in a namespace).
leader_known() {	# leader_known H: unix ns of the first "leader is $newl" after the kill
	local line t
	while read -r line; do
		t=$(date -d "${line%% *}" +%s%N 2>/dev/null) || continue
		[ "$t" -ge "$t_kill" ] && { echo "$t"; return 0; }
	done < <(grep -h "consensus: server $1: leader is $newl " "$LAB_DIR/h$1/rtvd.log" 2>/dev/null)
	return 1
}
if [ -n "$newl" ] && k1=$(leader_known $s1) && k2=$(leader_known $s2); then
	t_elect=$((k1 > k2 ? k1 : k2))
fi
failover_ms=$(( (t_elect - t_kill) / 1000000 ))
d_ok=0 d_ms=-
if [ -n "$newl" ]; then
	dvia=$((newl == s1 ? s2 : s1))
	say "new leader h$newl after ${failover_ms} ms; reserving D through h$dvia"
	t0=$(date +%s%N)
	if out=$(ctl "$dvia" --timeout 5s reserve --src 10.0.1.12 --dst 10.0.2.12 --proto udp --dport $PORT_D \
		--type deadline --rate 1M --deadline 20ms --owner "$NAME" 2>&1); then
		d_ok=1 d_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		paths+=("$dvia:$out")
		id_d=$out
		say "rtpath $id_d = D committed in $d_ms ms"
	else
		say "reserving D through h$dvia failed: $out"
	fi
else
	say "no new leader within 10 s of the kill"
fi
traffic_wait A B NRT
hops_stop
hops A B

if [ "$onpath" != 1 ]; then
	say "restarting h$victim's rtvd"
	LAB_QUIET=1 "$LAB" rtvd-up >>"$results/rtvd-up.log" 2>&1 || say "lab.sh rtvd-up failed (see $results/rtvd-up.log)"
fi
v_caught_up() { ctl $victim --timeout 1s -o json paths "$id_d" >/dev/null 2>&1; }
caught=no
[ $d_ok -eq 1 ] && wait_for 20 v_caught_up && caught=yes

misses=$(( $(q $run A .misses) + $(q $run A .lost) + $(q $run B .misses) + $(q $run B .lost) ))
# the misses the kill could have caused: packets sent from 1 s before the
# kill to 1 s after the new leader was known (a packet in flight at the kill
# is covered by the second before it)
{ per_packet A 1502 2e6; per_packet B 1502 2e6; } | sort -n >"$results/packets.txt"
near=$(awk -v a=$((t_kill - 1000000000)) -v b=$((t_elect + 1000000000)) \
	'$1 >= a && $1 <= b { n++; if ($3 != "ok") m++ } END { printf "%d %d\n", m, n }' "$results/packets.txt")
near_miss=${near% *} near_n=${near#* }
table() {
	echo "Leader kill: SIGKILL to the Raft leader (h$victim$([ "$onpath" = 1 ] && echo ", A and B's sender, restarted at once")) during A and B's traffic"
	printf '  %-36s %s of %s sent (A %s late %s lost, B %s late %s lost)\n' "A, B misses (late + lost)" "$misses" \
		"$(( $(q $run A .sent) + $(q $run B .sent) ))" "$(q $run A .misses)" "$(q $run A .lost)" \
		"$(q $run B .misses)" "$(q $run B .lost)"
	printf '  %-36s %s of %s sent from 1 s before the kill to 1 s after the election\n' \
		"misses around the kill" "$near_miss" "$near_n"
	printf '  %-36s A %s ms, B %s ms (deadlines 5, 10)\n' "max delay" "$(ms $run A max)" "$(ms $run B max)"
	printf '  %-36s %s\n' "new leader" "$([ -n "$newl" ] && echo "h$newl after $failover_ms ms" || echo none)"
	printf '  %-36s %s\n' "next reservation (D)" "$([ $d_ok -eq 1 ] && echo "committed in $d_ms ms via h$dvia" || echo failed)"
	printf '  %-36s %s\n' "h$victim restarted, caught up (lists D)" "$caught"
}
table | tee "$results/leaderkill.txt"
{
	printf '{"name": "%s.misses", "value": %s, "unit": "packets", "better": "lower"}\n' "$fig" "$misses"
	printf '{"name": "%s.lost", "value": %s, "unit": "packets", "better": "lower"}\n' "$fig" \
		"$(( $(q $run A .lost) + $(q $run B .lost) ))"
	printf '{"name": "%s.misses_near_kill", "value": %s, "unit": "packets", "better": "lower"}\n' "$fig" "$near_miss"
	[ -n "$newl" ] && printf '{"name": "%s.failover_ms", "value": %s, "unit": "ms", "better": "lower"}\n' "$fig" "$failover_ms"
} >"$results/figures.jsonl"
t0=$(sed -n 2p "$results/$run.A.csv" | cut -d, -f2)
k=$(awk -v a="$t_kill" -v b="$t0" 'BEGIN { print (a - b) / 1e9 }')
e=$(awk -v a="$t_elect" -v b="$t0" 'BEGIN { print (a - b) / 1e9 }')
plot_ab "$results/leaderkill.png" "$t0" "Leader kill: one-way delay of A and B; SIGKILL to the leader's rtvd, then a new leader" \
	'set yrange [0:12]' "set arrow from $k,graph 0 to $k,graph 1 nohead dt 3 lc rgb \"black\"" \
	"set label \"SIGKILL\" at $k,graph 0.95 offset 0.5,0" \
	"set arrow from $e,graph 0 to $e,graph 1 nohead dt 3 lc rgb \"#2ca02c\"" \
	"set label \"new leader\" at $e,graph 0.88 offset 0.5,0"
lab_done
echo "Claims:"
claim "no miss around the kill ($near_miss)" [ "$near_miss" -eq 0 ]
claim "the next reservation committed" [ $d_ok -eq 1 ]
claim "the killed host caught up" [ $caught = yes ]
claim_none_late_through_rtvnet
claims_exit
