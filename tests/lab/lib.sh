# lib.sh — what the lab's experiment scripts share (exp2.sh, exp3.sh,
# leaderkill.sh). Sourced, not run. The script sets NAME (its name in
# messages) before sourcing, and `results` (its results folder) before
# calling rx/tx.
#
#   lab_args "OPT=VAR ..." "$@"
#                             the script's options, then lab_opt's
#   lab_opt OPTION VALUE      --results, --keep, --help for every script
#   lab_start                 checks the tools, makes the results folder
#   lab_need HOSTS UP_ARGS    the rack that is up if it has HOSTS hosts with
#                             2 VMs, else `lab.sh up UP_ARGS` (taken down at
#                             exit unless --keep); sets rate, link_bps and
#                             flood_bps (1.1 x the link)
#   rtvnet_up                 rtvd on every host (unless it runs), a Raft
#                             leader, the VMs learnt on every host; sets
#                             `leader` and `via` (the first host that is not
#                             the leader)
#   reserve NAME HOST PORT DEADLINE [rtvctl reserve options]
#                             a deadline rtpath 10.0.1.11 -> 10.0.2.11 UDP
#                             PORT at 2 Mbit/s, burst $burst (default 6000),
#                             through HOST; released at exit; sets `rtpath`
#   start_ab SIZE RX_SECS     experiment 2's traffic: receivers, the 1.1x
#                             flood, 2 s later A and B ($secs, $duration)
#   rx NODE PORT NAME [recv options] / tx NODE NAME rtvgen-args...
#                             rtvgen in the background, JSON to
#                             $results/$run.NAME(.tx).json; `traffic_wait`
#                             waits for them all
#   hops_start $results/$run PORT... / hops_stop / hops FLOW...
#                             captures where A and B enter and leave rtvd,
#                             and per late packet whose it is (hops.sh)
#   per_packet FLOW SIZE RATE_BPS
#                             every packet of $run's FLOW: send time, state
#
# Exits: die() (tests/lib/common.sh) exits 2 here (bad usage or a broken
# rack), a missing tool 1, not root 77; the cleanup trap releases rtpaths,
# stops rtvgen and takes down what this script started.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
GEN=${RTVGEN:-$ROOT/build/bin/rtvgen}
LAB_DIR=${RTV_LAB_DIR:-/run/rtvnet-lab}
: "${NAME:=lab}"
T_NAME=$NAME T_DIE_RC=2
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lab/hops.sh"

PORT_A=18030 PORT_B=18031 PORT_NRT=18032	# UDP ports of A, B and the flood
keep=0 brought_up=0 rtvd_started=0
paths=()

say() { echo "$NAME: $*"; }
ctl() { "$LAB" rtvctl "$@"; }

lab_cleanup() {
	local p
	for p in "${pids[@]}" "${hop_pids[@]}" ${hop_cpu_pid:-}; do kill "$p" 2>/dev/null; done
	for p in "${paths[@]}"; do ctl "${p%%:*}" --timeout 5s release "${p#*:}" >/dev/null 2>&1; done
	if [ $brought_up -eq 1 ] && [ $keep -eq 0 ]; then
		LAB_QUIET=1 "$LAB" down >/dev/null 2>&1
	elif [ $rtvd_started -eq 1 ] && [ $keep -eq 0 ]; then
		LAB_QUIET=1 "$LAB" rtvd-down >/dev/null 2>&1
	fi
}
trap lab_cleanup EXIT
trap 'exit 1' INT TERM

# timeline OPTION AT: checks --duration ($duration) and an event's time AT
# (whole seconds, >= 1 s, 3 s before the end); sets secs and at_secs
timeline() {
	[[ $duration =~ ^[0-9]+s$ ]] || die "--duration: whole seconds like 10s, got '$duration'"
	[[ $2 =~ ^[0-9]+s$ ]] || die "$1: whole seconds like 3s, got '$2'"
	secs=${duration%s} at_secs=${2%s}
	[ "$at_secs" -ge 1 ] && [ "$secs" -ge $((at_secs + 3)) ] ||
		die "$1 must be >= 1s and 3s before --duration ends"
}

# usage: the script's header comment, from line 2 to `set -u`
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# lab_opt OPTION VALUE: the options every experiment takes (--results DIR,
# --keep, -h/--help); anything else dies. 0 when it took VALUE too (shift
# once more), 1 when not.
lab_opt() {
	case $1 in
	--results) results=$2; return 0 ;;
	--keep) keep=1; return 1 ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument '$1' (--help)" ;;
	esac
}

# lab_args "OPT=VAR ..." ARGS...: the script's options. OPT=VAR takes a value
# into VAR; OPT=VAR=VALUE is a flag that sets VAR to VALUE; anything else goes
# to lab_opt (--results, --keep, --help; unknown dies)
lab_args() {
	local spec=$1 s v took
	shift
	while [ $# -gt 0 ]; do
		took=0
		for s in $spec; do
			[ "$1" = "${s%%=*}" ] || continue
			v=${s#*=} took=1
			if [[ $v == *=* ]]; then
				printf -v "${v%%=*}" '%s' "${v#*=}"
			else
				printf -v "$v" '%s' "${2:-}"
				shift
			fi
			break
		done
		[ $took = 1 ] || { lab_opt "$1" "${2:-}" && shift; }
		shift
	done
}

# lab_start: the tools every experiment needs, and its results folder
# ($results, default results/$NAME-<date>/)
lab_start() {
	need_root
	need_exec "$GEN"
	need_cmd jq
	results=${results:-$ROOT/results/$NAME-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$results" || die "cannot create $results"
}

lab_ok() {	# lab_ok HOSTS
	"$LAB" status >/dev/null 2>&1 || return 1
	(. "$LAB_DIR/lab.conf" && [ "$hosts" -ge "$1" ] && [ "$vms" -ge 2 ])
}
lab_need() {	# lab_need HOSTS UP_ARGS...
	local n=$1; shift
	if ! lab_ok "$n"; then
		say "bringing up a lab rack (lab.sh up $*)"
		brought_up=1
		"$LAB" up "$@" >"$results/lab-up.log" 2>&1 || die "lab.sh up failed: see $results/lab-up.log"
		lab_ok "$n" || die "the lab is not up after lab.sh up"
	fi
	. "$LAB_DIR/lab.conf"
	link_bps=$(echo "$rate" | awk '{ n = $0 + 0; u = substr($0, length(n "") + 1, 1);
		print n * (u == "g" ? 1e9 : u == "m" ? 1e6 : u == "k" ? 1e3 : 1) }')
	flood_bps=$(awk -v r="$link_bps" 'BEGIN { printf "%.0f", r * 1.1 }')	# the NRT flood: 1.1x the link
}

# ARP resolved before any overload: every VM pair the experiments use
reach() {
	local p node ip
	for p in "h1v1 10.0.2.11" "h1v2 10.0.2.12" "$@"; do
		read -r node ip <<<"$p"
		"$LAB" exec "$node" ping -c 2 -i 0.2 -W 1 -q "$ip" >/dev/null 2>&1 ||
			die "$node cannot reach $ip: is the lab healthy? (lab.sh status)"
	done
}

rtvd_pid() { [ -f "$LAB_DIR/h$1/rtvd.pid" ] && kill -0 "$(cat "$LAB_DIR/h$1/rtvd.pid")" 2>/dev/null &&
	cat "$LAB_DIR/h$1/rtvd.pid"; }
rtvd_running() { rtvd_pid 1 >/dev/null; }
# the leader as host H sees it (default: any host that answers)
leader_of() {
	local h l
	for h in ${1:-$(seq 1 "$hosts")}; do
		l=$(ctl "$h" --timeout 1s -o json status 2>/dev/null | jq -e '.leader | select(. > 0)') &&
			{ echo "$l"; return 0; }
	done
	return 1
}
vms_known() {	# on every host, h1v1 and h2v1 with their addresses
	local h
	for h in $(seq 1 "$hosts"); do
		ctl "$h" --timeout 1s -o json vms 2>/dev/null | jq -e '[.. | objects | select(.host_id? != null)]
			| any(.host_id == 1 and ((.ips // []) | any(. == "10.0.1.11")))
			and any(.host_id == 2 and ((.ips // []) | any(. == "10.0.2.11")))' >/dev/null || return 1
	done
}
rtvnet_up() {
	local h
	if ! rtvd_running; then
		say "starting rtvd on every host (lab.sh rtvd-up)"
		rtvd_started=1
		LAB_QUIET=1 "$LAB" rtvd-up >"$results/rtvd-up.log" 2>&1 || die "lab.sh rtvd-up failed: $(tail -n 3 "$results/rtvd-up.log")"
	fi
	wait_for 20 leader_of || die "no Raft leader within 20 s (see $LAB_DIR/h*/rtvd.log)"
	wait_for 20 vms_known || die "the VMs are not in rtvctl vms on every host within 20 s"
	leader=$(leader_of)
	via=1
	for h in $(seq 1 "$hosts"); do [ "$h" != "$leader" ] && via=$h && break; done
}

reserve() {	# reserve NAME HOST PORT DEADLINE [options]
	local name=$1 h=$2 port=$3 dl=$4 out
	shift 4
	out=$(ctl "$h" --timeout 5s reserve --src 10.0.1.11 --dst 10.0.2.11 --proto udp --dport "$port" \
		--type deadline --rate 2M --burst "${burst:-6000}" --deadline "$dl" --owner "$NAME" "$@" 2>&1) ||
		die "reserving $name through h$h was refused: $out"
	rtpath=$out
	paths+=("$h:$rtpath")
	say "rtpath $rtpath = $name (UDP to 10.0.2.11:$port, deadline type, 2 Mbit/s, $dl) via h$h"
}

rx() {	# rx NODE PORT NAME [recv options]
	local node=$1 port=$2 name=$3; shift 3
	"$LAB" exec "$node" "$GEN" recv --port "$port" --json "$@" \
		>"$results/$run.$name.json" 2>"$results/$run.$name.err" &
	pids+=($!)
}
tx() {	# tx NODE NAME ARGS...
	local node=$1 name=$2; shift 2
	"$LAB" exec "$node" "$GEN" "$@" --json >"$results/$run.$name.tx.json" 2>"$results/$run.$name.tx.err" &
	pids+=($!)
}
traffic_wait() {	# traffic_wait FLOWS...: wait for rtvgen, check each flow has a result
	local p f
	for p in "${pids[@]}"; do wait "$p"; done
	pids=()
	for f in "$@"; do
		jq -e .received "$results/$run.$f.json" >/dev/null 2>&1 ||
			die "no result for $f: $(cat "$results/$run.$f.err" "$results/$run.$f.tx.err" 2>/dev/null | head -3)"
	done
}
# start_ab SIZE RX_SECS: the traffic of experiment 2 — receivers of A and B
# (h2v1) and of the flood (h2v2) for RX_SECS, the 1.1x flood from h1v2 for
# $secs + 3 s, and 2 s later A (2 Mbit/s, 5 ms) and B (2 Mbit/s, 10 ms) of
# SIZE-byte frames from h1v1 for $duration. Returns once all are started.
start_ab() {
	local size=$1 rxs=$2
	rx h2v1 $PORT_A A --duration "${rxs}s" --csv "$results/$run.A.csv"
	rx h2v1 $PORT_B B --duration "${rxs}s" --csv "$results/$run.B.csv"
	rx h2v2 $PORT_NRT NRT --duration "${rxs}s"
	sleep 0.3
	# the flood first: the uplink's queue takes a second or so to reach its
	# steady depth; A and B are measured against that, not against its growth
	tx h1v2 NRT flood --dst 10.0.2.12:$PORT_NRT --rate "${flood_bps}bit" --size 1502 --duration "$((secs + 3))s"
	sleep 2
	tx h1v1 A send --flow A --dst 10.0.2.11:$PORT_A --rate 2M --size "$size" --deadline 5ms --duration "$duration"
	tx h1v1 B send --flow B --dst 10.0.2.11:$PORT_B --rate 2M --size "$size" --deadline 10ms --duration "$duration"
}
# claim TEXT CMD...: prints whether the claim held; claims_exit names each
# one that failed and exits 1
failed_claims=()
claim() {
	local what=$1
	shift
	if "$@"; then echo "  holds: $what"; else echo "  FAILED: $what"; failed_claims+=("$what"); fi
}
claims_exit() {
	local c
	[ ${#failed_claims[@]} -eq 0 ] && return 0
	for c in "${failed_claims[@]}"; do echo "$NAME: claim failed: $c"; done
	exit 1
}
# hj FLOW KEY: KEY of FLOW's verdicts in $run's hops.json
hj() { jq -s -r "map(select(.flow == \"$1\"))[0].$2" "$results/$run.hops.json"; }
# claim_none_late_through_rtvnet: the claims, from $run's verdicts (hops),
# that no packet of A or B was lost or late through rtvnet; then every late
# or lost packet, with where its time went and whose it is
claim_none_late_through_rtvnet() {
	claim "no packet of A or B lost through rtvnet (lost: A $(q $run A .lost), B $(q $run B .lost); rtvnet's: A $(( $(hj A lost_in_rtvd) + $(hj A lost_rtvnet) )), B $(( $(hj B lost_in_rtvd) + $(hj B lost_rtvnet) )))" \
		[ $(( $(hj A lost_in_rtvd) + $(hj A lost_rtvnet) + $(hj B lost_in_rtvd) + $(hj B lost_rtvnet) )) = 0 ]
	claim "no packet of A or B late through rtvnet (late: A $(q $run A .misses), B $(q $run B .misses); rtvnet's: A $(hj A late_rtvnet), B $(hj B late_rtvnet), of which demoted: A $(hj A late_demoted), B $(hj B late_demoted), not captured: A $(hj A unattributed), B $(hj B unattributed); the lab's for want of a CPU (cpuprobe): A $(hj A late_cpu), B $(hj B late_cpu))" \
		[ "$(hj A late_rtvnet)" = 0 -a "$(hj B late_rtvnet)" = 0 ]
	if grep -qv '^{' "$results/$run.hops.txt"; then
		echo "  every late or lost packet: where its time went, whose it is (rtvnet's first; the first 40; all: $run.hops.txt):"
		{ grep -v '^{' "$results/$run.hops.txt" | grep "rtvnet's"
		  grep -v '^{' "$results/$run.hops.txt" | grep -v "rtvnet's"; } | head -n 40 | sed 's/^/    /'
	fi
}
# hops FLOW...: whose is each late packet of $run's FLOWs (tests/lab/hops.sh
# captured them between hops_start and hops_stop): the deadline and net
# budget of rtpath $id_<FLOW>, then hops_report
hops() {
	local f id dl net args=()
	for f in "$@"; do
		id=id_$f; id=${!id}
		read -r dl net < <(ctl 1 --timeout 5s -o json paths "$id" |
			jq -r '.paths[0] | "\(.deadline_ns) \(.net_budget_ns)"') || die "rtpath $id of $f: no reply"
		args+=("$f:$results/$run.$f.csv:$dl:$net:$(jq -r .sent "$results/$run.$f.tx.json")")
	done
	hops_report "$results/$run" "${args[@]}"
}
# plot_ab PNG T0_NS TITLE [gnuplot commands...]: A's and B's one-way delay
# over send time (s after T0_NS) from $run's CSVs, with their deadlines; the
# commands come after the defaults (a later `set` wins). Quiet without gnuplot.
plot_ab() {
	local png=$1 t0=$2 title=$3 f
	shift 3
	command -v gnuplot >/dev/null || return 0
	f=$results/$run
	{
		printf '%s\n' "set terminal png size 1000,500" "set output \"$png\"" 'set datafile separator ","' \
			"set title \"$title\"" 'set xlabel "send time (s)"' 'set ylabel "delay (ms)"' \
			'set yrange [0:*]' 'set autoscale xfix' 'set key top left' "$@"
		echo "plot \"$f.A.csv\" skip 1 using ((\$2 - $t0) / 1e9):(\$4 / 1000) with points pt 7 ps 0.3 lc rgb \"#1f77b4\" title \"A (deadline 5 ms)\", \\"
		echo "     \"$f.B.csv\" skip 1 using ((\$2 - $t0) / 1e9):(\$4 / 1000) with points pt 7 ps 0.3 lc rgb \"#d62728\" title \"B (deadline 10 ms)\", \\"
		echo '     5 with lines dt 2 lc rgb "#1f77b4" notitle, 10 with lines dt 2 lc rgb "#d62728" notitle'
	} | gnuplot 2>"$results/gnuplot.log" && echo "plot: $png"
}
# lab_done: the figures to $RTV_BENCH_OUT (when set), empty logs removed, and
# where the results are
lab_done() {
	[ -n "${RTV_BENCH_OUT:-}" ] && cat "$results/figures.jsonl" >>"$RTV_BENCH_OUT"
	find "$results" -name "*.err" -empty -delete
	echo "results: $results"
}
q() { jq -r "$3" "$results/$1.$2.json"; }
ms() { q "$1" "$2" "(.delay_us.$3 | round) / 1000"; }

# per_packet FLOW SIZE RATE_BPS: every packet of $run's FLOW as "send_ns
# flow state" (state: ok, late, lost), from the receiver's CSV
# (seq,send_ns,recv_ns,delay_us,miss) and the sender's count; a lost
# packet's send time is interpolated from the constant rate
per_packet() {
	local f=$1 sent period
	sent=$(jq -r .sent "$results/$run.$f.tx.json")
	period=$(awk -v s="$2" -v r="$3" 'BEGIN { printf "%.0f", s * 8 / r * 1e9 }')
	awk -F, -v sent="$sent" -v period="$period" -v f="$f" '
		NR > 1 { got[$1] = $2; late[$1] = $5; o = $2 - $1 * period; if (!n++ || o < t0) t0 = o }
		END { for (s = 0; s < sent; s++)
			if (s in got) printf "%s %s %s\n", got[s], f, late[s] ? "late" : "ok"
			else printf "%.0f %s lost\n", t0 + s * period, f }' "$results/$run.$f.csv"
}
