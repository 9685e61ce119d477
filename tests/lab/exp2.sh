#!/usr/bin/env bash
# exp2.sh — the paper's experiment 2 (seed 000, Table 9) on the lab rack.
#
#   tests/lab/exp2.sh [--duration D] [--size B] [--results DIR] [--keep] [--with-rtvnet]
#
# Flows A (2 Mbit/s, deadline 5 ms) and B (2 Mbit/s, deadline 10 ms) go from
# VM h1v1 to VM h2v1 (different hosts) while VM h1v2 floods h2v2 with UDP at
# 1.1x the link rate, so the NRT overload sits on the same sending host's
# uplink as A and B. Frames of 1,502 bytes, as in the paper. A and B start 2 s
# after the flood and run for --duration (default 10 s).
#
# Without rtvnet (the default, and for now the only mode) the host uplink is
# the lab's plain HTB class behind Open vSwitch: one FIFO for everything. This
# is the baseline rtvnet has to beat. --with-rtvnet (reservations for A and B
# through rtvd, EDF at the sending host) is NOT AVAILABLE YET: it needs rtvd's
# dataplane wired into the lab hosts (issue 4 / issue 6); the script says so
# and exits 2.
#
# The rack: uses the lab that is up (tests/lab/lab.sh status; it needs 2 hosts
# with 2 VMs each, and takes the link rate from it), else brings one up
# (-n 2 -v 2, 100 Mbit/s) and takes it down at the end unless --keep.
# RTV_LAB_PREFIX / RTV_LAB_DIR select the lab as for lab.sh.
#
# Output: a table of delay max/min/avg/p99, misses (received late), losses,
# beside the paper's Table 9; in the results folder (default
# results/exp2-<date>/): per-packet CSVs <mode>.A.csv / <mode>.B.csv
# (seq,send_ns,recv_ns,delay_us,miss), each receiver's JSON summary, the
# table (<mode>.txt), a plot of delay over time (<mode>.png, with gnuplot),
# and figures.jsonl (also appended to $RTV_BENCH_OUT when set):
#   lab.exp2.<mode>.misses   late + lost packets of A and B (a packet that
#                            never arrives has missed its deadline too)
#   lab.exp2.<mode>.max_ms.A, lab.exp2.<mode>.max_ms.B
# where <mode> is "without" (or "with", later).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
GEN=${RTVGEN:-$ROOT/build/bin/rtvgen}
LAB_DIR=${RTV_LAB_DIR:-/run/rtvnet-lab}
PORT_A=18030 PORT_B=18031 PORT_NRT=18032

duration=10s size=1502 results='' keep=0 mode=without hosts=0 vms=0 rate=''
die() { echo "exp2: $*" >&2; exit 2; }
usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=${2:-}; shift ;;
	--size) size=${2:-}; shift ;;
	--results) results=${2:-}; shift ;;
	--keep) keep=1 ;;
	--with-rtvnet) mode=with ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument '$1' (--help)" ;;
	esac
	shift
done
[ "$mode" = with ] && die "--with-rtvnet is not available yet: rtvd's dataplane is not wired into the lab hosts (issue 4/6). Run without it for the baseline."
[[ $duration =~ ^[0-9]+s$ ]] && [ "${duration%s}" -ge 1 ] || die "--duration: whole seconds like 10s, got '$duration'"
[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge 78 ] && [ "$size" -le 1514 ] || die "--size: frame bytes 78..1514, got '$size'"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "$GEN" ] || die "$GEN is not built (make build)"
command -v jq >/dev/null || die "jq is missing (make deps)"
results=${results:-$ROOT/results/exp2-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results" || die "cannot create $results"

pids=()
brought_up=0
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ $brought_up -eq 1 ] && [ $keep -eq 0 ] && LAB_QUIET=1 "$LAB" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the rack ---------------------------------------------------------------
lab_ok() {
	"$LAB" status >/dev/null 2>&1 || return 1
	. "$LAB_DIR/lab.conf" && [ "$hosts" -ge 2 ] && [ "$vms" -ge 2 ]
}
if ! lab_ok; then
	echo "exp2: bringing up a lab rack (2 hosts x 2 VMs, 100 Mbit/s links)"
	brought_up=1
	"$LAB" up -n 2 -v 2 >"$results/lab-up.log" 2>&1 || die "lab.sh up failed: see $results/lab-up.log"
	lab_ok || die "the lab is not up after lab.sh up"
fi
. "$LAB_DIR/lab.conf"
link_bps=$(echo "$rate" | awk '{ n = $0 + 0; u = substr($0, length(n "") + 1, 1);
	print n * (u == "g" ? 1e9 : u == "m" ? 1e6 : u == "k" ? 1e3 : 1) }')
flood_bps=$(awk -v r="$link_bps" 'BEGIN { printf "%.0f", r * 1.1 }')
for p in "h1v1 10.0.2.11" "h1v2 10.0.2.12"; do	# ARP resolved before the overload
	read -r node ip <<<"$p"
	"$LAB" exec "$node" ping -c 2 -i 0.2 -W 1 -q "$ip" >/dev/null 2>&1 ||
		die "$node cannot reach $ip: is the lab healthy? (lab.sh status)"
done

# --- traffic ----------------------------------------------------------------
secs=${duration%s}
rx() {	# rx NODE PORT NAME [recv options]
	local node=$1 port=$2 name=$3; shift 3
	"$LAB" exec "$node" "$GEN" recv --port "$port" --json --duration "$((secs + 10))s" "$@" \
		>"$results/$mode.$name.json" 2>"$results/$mode.$name.err" &
	pids+=($!)
}
tx() {	# tx NODE NAME ARGS...
	local node=$1 name=$2; shift 2
	"$LAB" exec "$node" "$GEN" "$@" --json >"$results/$mode.$name.tx.json" 2>"$results/$mode.$name.tx.err" &
	pids+=($!)
}
echo "exp2 ($mode rtvnet): A, B = 2 Mbit/s of ${size} B frames h1v1 -> h2v1 for $duration;" \
	"NRT = $((flood_bps / 1000000)) Mbit/s h1v2 -> h2v2 (1.1 x the $rate links)"
rx h2v1 $PORT_A A --csv "$results/$mode.A.csv"
rx h2v1 $PORT_B B --csv "$results/$mode.B.csv"
rx h2v2 $PORT_NRT NRT
sleep 0.3
# the flood first: the uplink's queue takes a second or so to reach its
# steady depth; A and B are measured against that, not against its growth
tx h1v2 NRT flood --dst 10.0.2.12:$PORT_NRT --rate "${flood_bps}bit" --size 1502 --duration "$((secs + 3))s"
sleep 2
tx h1v1 A send --flow A --dst 10.0.2.11:$PORT_A --rate 2M --size "$size" --deadline 5ms --duration "$duration"
tx h1v1 B send --flow B --dst 10.0.2.11:$PORT_B --rate 2M --size "$size" --deadline 10ms --duration "$duration"
for p in "${pids[@]}"; do wait "$p"; done
pids=()
for f in A B NRT; do
	jq -e .received "$results/$mode.$f.json" >/dev/null 2>&1 ||
		die "no result for $f: $(cat "$results/$mode.$f.err" "$results/$mode.$f.tx.err" 2>/dev/null | head -3)"
done

# --- the table --------------------------------------------------------------
q() { jq -r "$2" "$results/$mode.$1.json"; }
ms() { q "$1" "(.delay_us.$2 | round) / 1000"; }
row() { printf '%-26s %10s %10s %10s %10s\n' "$@"; }
table() {
	echo "Experiment 2, $mode rtvnet (seed 000 Table 9 beside it; the paper's links are 1 Gbit/s, ours $rate)"
	row "" "lab A" "lab B" "paper A" "paper B"
	row "delay max (ms)" "$(ms A max)" "$(ms B max)" 13.9 14.0
	row "delay min (ms)" "$(ms A min)" "$(ms B min)" 6.3 7.8
	row "delay avg (ms)" "$(ms A avg)" "$(ms B avg)" 13.5 13.5
	row "delay p99 (ms)" "$(ms A p99)" "$(ms B p99)" - -
	row "deadline (ms)" 5 10 5 10
	row "misses (late)" "$(q A .misses)" "$(q B .misses)" - -
	row "lost" "$(q A .lost)" "$(q B .lost)" - -
	row "received / sent" "$(q A .received)/$(q A .sent)" "$(q B .received)/$(q B .sent)" - -
	echo "NRT: offered $(jq -r .mbps "$results/$mode.NRT.tx.json") Mbit/s, delivered $(q NRT .mbps) Mbit/s," \
		"lost $(q NRT .lost) of $(q NRT .sent)"
	echo "(paper: \"without\" = Table 9's run without RTvNIC; delays from kernel receive timestamps, one shared clock)"
}
table | tee "$results/$mode.txt"

misses=$(( $(q A .misses) + $(q A .lost) + $(q B .misses) + $(q B .lost) ))
{
	printf '{"name": "lab.exp2.%s.misses", "value": %s, "unit": "packets", "better": "lower"}\n' "$mode" "$misses"
	printf '{"name": "lab.exp2.%s.max_ms.A", "value": %s, "unit": "ms", "better": "lower", "baseline": "paper", "baseline_value": 13.9}\n' "$mode" "$(ms A max)"
	printf '{"name": "lab.exp2.%s.max_ms.B", "value": %s, "unit": "ms", "better": "lower", "baseline": "paper", "baseline_value": 14.0}\n' "$mode" "$(ms B max)"
} >"$results/figures.jsonl"
[ -n "${RTV_BENCH_OUT:-}" ] && cat "$results/figures.jsonl" >>"$RTV_BENCH_OUT"
echo "lab.exp2.$mode.misses = $misses (late + lost, A and B)"

# --- the plot ---------------------------------------------------------------
if command -v gnuplot >/dev/null; then
	t0=$(sed -n 2p "$results/$mode.A.csv" | cut -d, -f2)
	gnuplot <<-EOF 2>"$results/gnuplot.log" && echo "plot: $results/$mode.png"
		set terminal png size 1000,500
		set output "$results/$mode.png"
		set datafile separator ","
		set title "Experiment 2 $mode rtvnet: one-way delay of A and B ($((flood_bps / 1000000)) Mbit/s NRT on a $rate uplink)"
		set xlabel "send time (s)"
		set ylabel "delay (ms)"
		set yrange [0:*]
		set autoscale xfix
		set key top left
		plot "$results/$mode.A.csv" skip 1 using ((\$2 - $t0) / 1e9):(\$4 / 1000) with points pt 7 ps 0.3 lc rgb "#1f77b4" title "A (deadline 5 ms)", \
		     "$results/$mode.B.csv" skip 1 using ((\$2 - $t0) / 1e9):(\$4 / 1000) with points pt 7 ps 0.3 lc rgb "#d62728" title "B (deadline 10 ms)", \
		     5 with lines dt 2 lc rgb "#1f77b4" notitle, 10 with lines dt 2 lc rgb "#d62728" notitle
	EOF
fi
find "$results" -name "*.err" -empty -delete
echo "results: $results"
