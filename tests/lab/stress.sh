#!/usr/bin/env bash
# stress.sh — many rtpaths at once on the lab rack: mixed deadlines (1-20
# ms), frame sizes (128-1,000 B) and rates, two senders' uplinks overloaded and
# an incast on the ToR port of the receiving host; without and with rtvnet.
#
#   tests/lab/stress.sh [--packets N] [--results DIR] [--keep]
#
# Seven flows to the VMs of h2, each N packets (default 100,000) at 500
# packets/s, its deadline in every probe:
#   F1 h1v1 -> h2v1  0.8 Mbit/s of 200 B, 2 ms     F5 h3v2 -> h2v2  0.512 Mbit/s of 128 B, 3 ms
#   F2 h1v1 -> h2v1  2 Mbit/s of 500 B, 5 ms       F6 h3v1 -> h2v1  3.2 Mbit/s of 800 B, 15 ms
#   F3 h1v2 -> h2v2  1.2 Mbit/s of 300 B, 20 ms    F7 h1v2 -> h2v2  0.8 Mbit/s of 200 B, 1 ms
#   F4 h3v1 -> h2v1  4 Mbit/s of 1,000 B, 10 ms
# and two NRT floods of 1,502 B frames into h2v2: from h1v2 at 1.1x the link
# (h1's uplink overloaded) and from h3v2 at 0.6x (h3's uplink busy, and
# h2's ToR port takes 1.7x its rate: incast). Together the flows ask for
# more than the RT budget of h2's link (50 %), and F7's 1 ms is below the
# network's own budget at 20 Mbit/s: admission must refuse some, saying why.
#
# The floods run until every flow has sent its N packets (a sender that
# falls behind its schedule on a busy machine shifts it, so a run can take
# longer than N / 1000 s). Without rtvnet (the plain lab) first, then with rtvnet (lab.sh rtvd-up):
# each flow reserved as a deadline rtpath (through a host that is not the
# Raft leader; burst: 8 frames, what rtvgen may send back to back; --max-pkt
# its frame size); the refused ones still send, unreserved. With rtvnet,
# tcpdump records the admitted flows' frames where they enter and leave both
# dataplanes (tests/lab/hops.sh) for the per-packet verdict of hops.py.
#
# Figures (admitted flows, as the receiving VMs count them; baseline: the
# same flows in the run without rtvnet), in figures.jsonl and appended to
# $RTV_BENCH_OUT when set:
#   rt.stress.late_ppm      late packets per million sent
#   rt.stress.lost_ppm      lost packets per million sent
#   rt.stress.max_late_ms   the latest packet's lateness (0 when none)
#   rt.stress.admitted      flows admitted (baseline: flows requested)
#   rt.undetected_misses    misses the receiving VMs saw (late + lost) minus
#                           the misses the senders' rtvd were told of
#                           (rtvctl paths: stats.misses on the sender)
#
# Claims (exit 1 names each that failed; 2 on bad usage or a broken rack):
# without rtvnet the admitted flows miss; each refusal says why; every
# admitted flow sent N packets, and none of its packets was lost or late
# through rtvnet (per packet, tests/lab/hops.py: a loss or lateness is the
# lab's only if the captures place it in the lab's hops; each is listed);
# rt.undetected_misses is 0 (the raw counts are in the figures).
# The rack: the lab that is up with 3 hosts (2 VMs each), else `lab.sh up -n
# 3 -v 2 -r 20mbit`, taken down at the end unless --keep. RTV_LAB_PREFIX /
# RTV_LAB_DIR select the lab as for lab.sh. Runtime: about 2 x N / 500 s.
set -u
NAME=stress
. "$(dirname "$0")/lib.sh"

packets=100000 results=''
lab_args "--packets=packets" "$@"
[[ $packets =~ ^[0-9]+$ ]] && [ "$packets" -ge 100 ] || die "--packets: a number >= 100, got '$packets'"
lab_start
lab_need 3 -n 3 -v 2 -r 20mbit
link_rate=$rate

#      name src  dst  port  rate    size deadline
FLOWS=("F1 h1v1 h2v1 19001 0.8M   200  2ms"
       "F2 h1v1 h2v1 19002 2M     500  5ms"
       "F3 h1v2 h2v2 19003 1.2M   300  20ms"
       "F4 h3v1 h2v1 19004 4M     1000 10ms"
       "F5 h3v2 h2v2 19005 0.512M 128  3ms"
       "F6 h3v1 h2v1 19006 3.2M   800  15ms"
       "F7 h1v2 h2v2 19007 0.8M   200  1ms")
PPS=500		# per flow: 3,500 probes/s and the floods are what two userspace OVS hops take here
secs=$(( (packets + PPS - 1) / PPS ))
ip_of() { local h=${1#h}; echo "10.0.${h%v*}.$((10 + ${h#*v}))"; }	# h2v1 -> 10.0.2.11
# per flow: sent (the sender's count: a receiver that never saw the FIN
# knows only the highest seq it got), received, late, lost = sent - received
sent_of() { jq -r .sent "$results/$1.$2.tx.json"; }
lost_of() { echo $(( $(sent_of "$1" "$2") - $(q "$1" "$2" .received) )); }
late_of() { q "$1" "$2" .misses; }

# stop_floods: ends both floods (rtvgen in h1v2 and h3v2, found by pid in
# those namespaces of this lab) once every flow has sent its packets
stop_floods() {
	local v p
	for v in h1v2 h3v2; do
		for p in $(ip netns pids "${RTV_LAB_PREFIX:-rtv}$v" 2>/dev/null); do
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "$GEN flood" && kill "$p" 2>/dev/null
		done
	done
}
traffic() {	# all flows and both floods, receivers first; the floods end with the flows
	local f name src dst port rate size dl senders=()
	for f in "${FLOWS[@]}"; do
		read -r name src dst port rate size dl <<<"$f"
		rx "$dst" "$port" "$name" --duration "$((secs * 3 + 30))s" --csv "$results/$run.$name.csv"
	done
	rx h2v2 19100 NRT1 --duration "$((secs * 3 + 30))s"
	rx h2v2 19101 NRT3 --duration "$((secs * 3 + 30))s"
	sleep 0.3
	tx h1v2 NRT1 flood --dst 10.0.2.12:19100 --rate "${flood_bps}bit" --size 1502 --duration "$((secs * 3 + 30))s"
	tx h3v2 NRT3 flood --dst 10.0.2.12:19101 --rate "$((link_bps * 6 / 10))bit" --size 1502 --duration "$((secs * 3 + 30))s"
	sleep 2
	for f in "${FLOWS[@]}"; do
		read -r name src dst port rate size dl <<<"$f"
		tx "$src" "$name" send --flow "$name" --dst "$(ip_of "$dst"):$port" --rate "$rate" --size "$size" \
			--deadline "$dl" --count "$packets"
		senders+=("${pids[-1]}")
	done
	for p in "${senders[@]}"; do wait "$p"; done
	stop_floods
	traffic_wait F1 F2 F3 F4 F5 F6 F7
}

# --- without rtvnet ----------------------------------------------------------
if rtvd_running; then
	say "taking rtvd down for the run without rtvnet (lab.sh rtvd-down)"
	LAB_QUIET=1 "$LAB" rtvd-down >"$results/rtvd-down.log" 2>&1 || die "lab.sh rtvd-down failed"
fi
reach "h1v2 10.0.2.12" "h3v1 10.0.2.11" "h3v2 10.0.2.12"
run=without
say "without rtvnet: 7 flows x $packets packets, floods from h1v2 and h3v2 into h2v2"
traffic

# --- with rtvnet -------------------------------------------------------------
rtvnet_up
run=with
admitted=() refused=()
for f in "${FLOWS[@]}"; do
	read -r name src dst port fr size dl <<<"$f"
	if out=$(ctl "$via" --timeout 5s reserve --src "$(ip_of "$src")" --dst "$(ip_of "$dst")" --proto udp \
		--dport "$port" --type deadline --rate "$fr" --burst $((8 * size)) --max-pkt "$size" \
		--deadline "$dl" --owner "$NAME" 2>&1); then
		paths+=("$via:$out")
		printf -v "id_$name" '%s' "$out"
		admitted+=("$name")
		say "$name admitted: rtpath $out ($fr of $size B, $dl)"
	else
		refused+=("$name")
		echo "$out" >"$results/$name.refused"
		say "$name refused: ${out#rtvctl: }"
	fi
done
[ ${#admitted[@]} -gt 0 ] || die "admission refused every flow"
sleep 0.5
ports_from() {	# ports_from HOST: the admitted flows sent from HOST's VMs
	local f name src dst port rest
	for f in "${FLOWS[@]}"; do
		read -r name src dst port rest <<<"$f"
		[[ " ${admitted[*]} " == *" $name "* ]] && [ "${src%v*}" = "h$1" ] && echo "$port"
	done
}
for h in 1 3; do
	p=$(ports_from $h)
	[ -n "$p" ] && hops_start "$results/with.h$h" --from $h --to 2 $p
done
say "with rtvnet: the same traffic"
traffic
hops_stop
for h in 1 3; do
	args=()
	for f in "${FLOWS[@]}"; do
		read -r name src dst port _ _ _ <<<"$f"
		[[ " ${admitted[*]} " == *" $name "* ]] && [ "${src%v*}" = "h$h" ] || continue
		id=id_$name
		read -r d n < <(ctl 1 --timeout 5s -o json paths "${!id}" |
			jq -r '.paths[0] | "\(.deadline_ns) \(.net_budget_ns)"') || die "rtpath ${!id}: no reply"
		args+=("$name:$results/with.$name.csv:$d:$n:$(sent_of with "$name")")
	done
	[ ${#args[@]} -gt 0 ] && hops_report "$results/with.h$h" "${args[@]}"
done
cat "$results"/with.h*.hops.json >"$results/with.hops.json"
cat "$results"/with.h*.hops.txt >"$results/with.hops.txt"

# --- figures ------------------------------------------------------------------
sum() {	# sum RUN FN: FN RUN FLOW over the admitted flows
	local f t=0
	for f in "${admitted[@]}"; do t=$((t + $("$2" "$1" "$f"))); done
	echo $t
}
late_over() {	# late_over RUN: max over admitted flows of (delay - deadline), ms
	local f name src dst port rate size dl dl_us m=0 v
	for f in "${FLOWS[@]}"; do
		read -r name src dst port rate size dl <<<"$f"
		[[ " ${admitted[*]} " == *" $name "* ]] || continue
		dl_us=$(( ${dl%ms} * 1000 ))
		v=$(awk -F, -v d="$dl_us" 'NR > 1 && $4 - d > m { m = $4 - d } END { printf "%.3f", m / 1000 }' \
			"$results/$1.$name.csv")
		m=$(awk -v a="$m" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
	done
	echo "$m"
}
told() {	# misses the senders' rtvd were told of, over the admitted flows
	local f name src t=0 id v
	for f in "${FLOWS[@]}"; do
		read -r name src _ <<<"$f"
		[[ " ${admitted[*]} " == *" $name "* ]] || continue
		id=id_$name
		v=$(ctl "${src:1:1}" --timeout 5s -o json paths "${!id}" | jq -r '.paths[0].stats.misses // 0')
		t=$((t + ${v:-0}))
	done
	echo $t
}
declare -A sent late lost late_ms
for r in without with; do
	read -r sent[$r] late[$r] lost[$r] <<<"$(sum $r sent_of) $(sum $r late_of) $(sum $r lost_of)"
	late_ms[$r]=$(late_over $r)
done
seen=$(( late[with] + lost[with] ))
told_n=$(told)
ppm() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? a * 1e6 / b : 0 }'; }
{
	printf '{"name": "rt.stress.late_ppm", "value": %s, "unit": "ppm", "better": "lower", "baseline": "without rtvnet, same traffic", "baseline_value": %s}\n' \
		"$(ppm "${late[with]}" "${sent[with]}")" "$(ppm "${late[without]}" "${sent[without]}")"
	printf '{"name": "rt.stress.lost_ppm", "value": %s, "unit": "ppm", "better": "lower", "baseline": "without rtvnet, same traffic", "baseline_value": %s}\n' \
		"$(ppm "${lost[with]}" "${sent[with]}")" "$(ppm "${lost[without]}" "${sent[without]}")"
	printf '{"name": "rt.stress.max_late_ms", "value": %s, "unit": "ms", "better": "lower", "baseline": "without rtvnet, same traffic", "baseline_value": %s}\n' \
		"${late_ms[with]}" "${late_ms[without]}"
	printf '{"name": "rt.stress.admitted", "value": %s, "unit": "flows", "better": "higher", "baseline": "requested", "baseline_value": %s}\n' \
		"${#admitted[@]}" "${#FLOWS[@]}"
	printf '{"name": "rt.undetected_misses", "value": %s, "unit": "packets", "better": "lower", "baseline": "misses the receiving VMs saw, same run", "baseline_value": %s}\n' \
		"$((seen - told_n))" "$seen"
} >"$results/figures.jsonl"

# --- table and claims -------------------------------------------------------------
run=with
{
	echo "Stress: 7 flows x $packets packets to h2's VMs, floods from h1v2 (1.1x) and h3v2 (0.6x) into h2v2, links $link_rate"
	printf '  %-4s %-26s %-10s %20s %20s\n' flow "request" "admission" "without: late/lost" "with: late/lost"
	for f in "${FLOWS[@]}"; do
		read -r name src dst port rr size dl <<<"$f"
		a=admitted
		[ -f "$results/$name.refused" ] && a=refused
		printf '  %-4s %-26s %-10s %20s %20s\n' "$name" "$src->$dst $rr/${size}B/$dl" "$a" \
			"$(late_of without $name)/$(lost_of without $name) of $(sent_of without $name)" \
			"$(late_of with $name)/$(lost_of with $name) of $(sent_of with $name)"
	done
	for f in "${refused[@]}"; do echo "  $f refused: $(sed 's/^rtvctl: //' "$results/$f.refused")"; done
	echo "  admitted flows: late ${late[with]} (without: ${late[without]}), lost ${lost[with]} (without: ${lost[without]})" \
		"of ${sent[with]} sent; latest ${late_ms[with]} ms past its deadline (without: ${late_ms[without]} ms)"
	echo "  misses the VMs saw ${seen}, the senders were told of ${told_n}: rt.undetected_misses = $((seen - told_n))"
} >"$results/stress.txt"
{
	echo "Claims:"
	claim "without rtvnet the admitted flows miss (late + lost: $(( late[without] + lost[without] )))" \
		[ $(( late[without] + lost[without] )) -gt 0 ]
	for f in "${refused[@]}"; do
		claim "$f's refusal says why: $(head -c 160 "$results/$f.refused")" grep -q 'refused' "$results/$f.refused"
	done
	for f in "${admitted[@]}"; do
		claim "$f sent $packets packets (sent $(sent_of with $f))" [ "$(sent_of with $f)" -ge "$packets" ]
		claim "$f: no packet lost through rtvnet (lost $(lost_of with $f): rtvnet's $(( $(hj $f lost_in_rtvd) + $(hj $f lost_rtvnet) )), the lab's $(hj $f lost_lab))" \
			[ $(( $(hj $f lost_in_rtvd) + $(hj $f lost_rtvnet) )) = 0 ]
		claim "$f: no packet late through rtvnet (late $(late_of with $f): rtvnet's $(hj $f late_rtvnet), the lab's $(hj $f late_lab), of which for want of a CPU $(hj $f late_cpu))" \
			[ "$(hj $f late_rtvnet)" = 0 ]
	done
	claim "the senders were told of every miss the VMs saw (rt.undetected_misses = $((seen - told_n)))" \
		[ "$seen" = "$told_n" ]
	if grep -qv '^{' "$results/with.hops.txt"; then
		echo "  late or lost packets of admitted flows (rtvnet's first; the first 40; all: with.hops.txt):"
		{ grep -v '^{' "$results/with.hops.txt" | grep "rtvnet's"
		  grep -v '^{' "$results/with.hops.txt" | grep -v "rtvnet's"; } | head -n 40 | sed 's/^/    /'
	fi
} >>"$results/stress.txt"
cat "$results/stress.txt"
lab_done
claims_exit
