#!/usr/bin/env bash
# make demo: scripts/demo.sh BUILD_DIR   (KEEP=1: leave the lab rack up)
#
# rtvnet's main job, in about 3 minutes:
#  1. the paper's experiment 1 on the egress-link simulator (bench/linksim.c):
#     one 1 Gbit/s link, flows A and B with deadlines, a 1.1 Gbit/s UDP flood,
#     scheduled by EDF, WF²Q+ and a FIFO;
#  2. on the lab rack (tests/lab/lab.sh: 3 hosts in network namespaces, each
#     with its own Open vSwitch and rtvd): experiment 2 without and with
#     rtvnet (tests/lab/exp2.sh), experiment 3 — a flow no admission saw
#     joins, rtvnet escalates (exp3.sh) — and the Raft leader killed during
#     traffic (leaderkill.sh), then the leader's rtvd killed and restarted at
#     once on the traffic's own sending host, whose dataplane process rtvdp
#     forwards on (leaderkill.sh --on-path);
#  3. a summary table, then each claim that did not hold on this run, by
#     name. Exit status: 0 when every claim held; 1 when one did not (the
#     table is still printed); 2 when a step broke; 77 when not root (the
#     lab part cannot run: only the simulation was shown).
# Everything lands in results/demo-<date>/: every figure (results.jsonl), the
# simulator's table (bench_sim.txt), per-packet CSVs, plots (with gnuplot)
# and each lab step's log and folder.
set -uo pipefail

build=${1:-build}
cd "$(dirname "$0")/.."
bench=$build/bench/bench_sim
if [ ! -x "$bench" ]; then
	echo "demo: $bench is missing; run 'make build' first" >&2
	exit 1
fi

demo_t0=$SECONDS
dir=${DEMO_DIR:-results/demo-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$dir"
adir=$(cd "$dir" && pwd)	# absolute (DEMO_DIR may be either)

echo "== rtvnet demo, part 1: seed 000 experiment 1, simulated"
echo "   A link of 1 Gbit/s carries flow A (2 Mbit/s, deadline 5 ms), flow B"
echo "   (2 Mbit/s, deadline 10 ms) and a 1.1 Gbit/s UDP flood (NRT) that"
echo "   overloads it; 1,502-byte frames; 10 s of simulated time per scheduler."
echo

RTV_BENCH_OUT=$adir/results.jsonl RTV_BENCH_TABLE=$adir/results.tsv \
	"$bench" --csv "$dir" >"$dir/bench_sim.txt" || { echo "demo: $bench failed"; exit 1; }

# Plot wait against arrival time, one panel per scheduler.
plot() {
	command -v gnuplot >/dev/null || return 1
	local term=png
	gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo && term=pngcairo
	gnuplot <<-EOF 2>"$dir/gnuplot.log"
		set terminal $term size 1100,1000
		set output "$dir/exp1_waits.png"
		set datafile separator ","
		set multiplot layout 3,1 title "Experiment 1: wait in the send queue of A and B"
		set xlabel "arrival (s)"
		set ylabel "wait (ms)"
		set yrange [0:*]
		set key outside right
		do for [m in "EDF WFQ FIFO"] {
			set title m
			f = sprintf("$dir/exp1_%s.csv", m)
			plot f skip 1 using (\$3/1000):(strcol(2) eq "A" ? \$4/1000 : 1/0) with points pt 7 ps 0.3 lc rgb "#1f77b4" title "A", \
			     f skip 1 using (\$3/1000):(strcol(2) eq "B" ? \$4/1000 : 1/0) with points pt 7 ps 0.3 lc rgb "#d62728" title "B", \
			     5 with lines dt 2 lc rgb "#1f77b4" title "A's deadline", \
			     10 with lines dt 2 lc rgb "#d62728" title "B's deadline"
		}
		unset multiplot
	EOF
}
png=
if plot; then png=$dir/exp1_waits.png; fi

# Per scheduler and flow: packets sent, misses, max and mean wait (ms).
summary() {
	awk -F, 'NR > 1 { k = $1 " " $2; n[k]++; miss[k] += $7; s[k] += $4
			  if ($4 > mx[k]) mx[k] = $4 }
		 END { for (k in n) printf "%s %d %d %.2f %.2f\n", k, n[k], miss[k], mx[k] / 1000, s[k] / n[k] / 1000 }' \
		"$dir"/exp1_EDF.csv "$dir"/exp1_WFQ.csv "$dir"/exp1_FIFO.csv
}
figure() { sed -n "s/.*\"name\": \"$1\", \"value\": \([^,]*\),.*/\1/p" "$dir/results.jsonl" | tail -n 1; }
declare -A sent miss maxw avgw
while read -r mode flow n m mx av; do
	sent[$mode$flow]=$n; miss[$mode$flow]=$m; maxw[$mode$flow]=$mx; avgw[$mode$flow]=$av
done < <(summary)
nrt=$(figure sim.exp1.edf.nrt_mbps)
cap=$(sed -n 's/.*"name": "sim.exp1.edf.nrt_mbps".*"baseline_value": \([^}]*\)}.*/\1/p' "$dir/results.jsonl" | tail -n 1)
dropped() { sed -n "s/^  FIFO $1 .* \([0-9]*\)  |.*/\1/p" "$dir/bench_sim.txt"; }

echo "What it shows:"
echo " * EDF (earliest deadline first, with the NRT rule): A and B missed"
echo "   ${miss[EDFA]} + ${miss[EDFB]} deadlines out of ${sent[EDFA]} + ${sent[EDFB]} packets. The flood still got"
echo "   $(printf %.1f "$nrt") Mbit/s of the $(printf %.1f "$cap") Mbit/s the link can give it next to A and B:"
echo "   NRT frames go first whenever no deadline is at risk, so A and B are held"
echo "   until just before their deadlines (waits up to ${maxw[EDFA]} and ${maxw[EDFB]} ms) — by design."
echo " * WFQ (WF²Q+, each flow served at the RFC 2212 rate for its deadline):"
echo "   ${miss[WFQA]} + ${miss[WFQB]} misses; A waits at most ${maxw[WFQA]} ms, B ${maxw[WFQB]} ms."
echo " * FIFO (one 1,000-packet queue, what a NIC does without rtvnet): the flood"
echo "   fills the queue, every frame waits ~12 ms, A missed ${miss[FIFOA]} of ${sent[FIFOA]} sent and B"
echo "   ${miss[FIFOB]} of ${sent[FIFOB]}, and $(dropped A) + $(dropped B) of their packets were dropped outright."
echo
printf "  %-6s %-4s %8s %8s %10s %10s\n" scheduler flow sent misses "max ms" "avg ms"
for mode in EDF WFQ FIFO; do
	for flow in A B; do
		printf "  %-6s %-4s %8s %8s %10s %10s\n" "$mode" "$flow" "${sent[$mode$flow]}" \
			"${miss[$mode$flow]}" "${maxw[$mode$flow]}" "${avgw[$mode$flow]}"
	done
done
echo "  (deadlines: A 5 ms, B 10 ms; a miss = last bit after the deadline;"
echo "   the paper's Table 8 beside ours: $dir/bench_sim.txt)"
echo
# the simulator's claim: EDF keeps every deadline of A and B, the FIFO does not
failed_claims=()
[ "${miss[EDFA]:-1}" = 0 ] && [ "${miss[EDFB]:-1}" = 0 ] ||
	failed_claims+=("exp1: EDF missed ${miss[EDFA]:-?} + ${miss[EDFB]:-?} deadlines of A and B (want 0)")
[ "${miss[FIFOA]:-0}" -gt 0 ] || failed_claims+=("exp1: the FIFO baseline missed nothing: no overload")
echo "Files in $dir/:"
echo "  bench_sim.txt        full table, beside the paper's Table 8"
echo "  results.jsonl        figures (sim.exp1.*)"
echo "  exp1_{EDF,WFQ,FIFO}.csv  every packet of A and B: arrival, wait, deadline, lateness"
if [ -n "$png" ]; then
	echo "  exp1_waits.png       wait over time per scheduler"
else
	echo "  (no plot: gnuplot is not installed or failed, see $dir/gnuplot.log)"
fi

# ---------------------------------------------------------------------------
# Part 2: the lab rack — real hosts in network namespaces, each with its own
# Open vSwitch and its own rtvd (Raft, OpenFlow controller, deadline
# dataplane on the uplink): experiment 2 without and with rtvnet, experiment
# 3 (escalation), and the Raft leader killed during traffic.
echo
echo "== rtvnet demo, part 2: the lab rack (3 hosts x 2 VMs, a ToR, a server without rtvnet)"
if [ "$(id -u)" -ne 0 ]; then
	echo "   skipped: the lab needs root (network namespaces); its claims were not checked."
	for c in "${failed_claims[@]}"; do echo "   CLAIM FAILED: $c"; done
	[ ${#failed_claims[@]} -eq 0 ] || exit 1
	exit 77
fi
LAB=tests/lab/lab.sh
keep=${KEEP:-0}
[ "$keep" = 0 ] && trap 'LAB_QUIET=1 $LAB down >/dev/null 2>&1' EXIT
echo "   bringing the rack up (20 Mbit/s links: this 2-core machine's userspace"
echo "   Open vSwitch is CPU-bound at 50-100 Mbit/s; the paper's links are 1 Gbit/s)"
LAB_QUIET=1 $LAB down >/dev/null 2>&1
$LAB up -n 3 -v 2 -r 20mbit >"$dir/lab-up.log" 2>&1 || { echo "   lab.sh up failed: $dir/lab-up.log"; tail -n 5 "$dir/lab-up.log"; exit 1; }

# step TITLE SCRIPT ARGS...: one experiment, its log in $dir, its table shown
step() {
	local title=$1 script=$2 name t0 rc
	shift 2
	name=${STEP_NAME:-$(basename "$script" .sh)}
	echo
	echo "-- $title"
	t0=$SECONDS
	env -u RTV_BENCH_OUT "$script" --keep --results "$adir/$name" "$@" >"$dir/$name.log" 2>&1
	rc=$?
	grep -v '^results: \|^plot: ' "$dir/$name.log" | sed -n '/^[A-Z]/,$p' | sed 's/^/   /'
	cat "$dir/$name/figures.jsonl" >>"$dir/results.jsonl" 2>/dev/null
	echo "   ($((SECONDS - t0)) s; log $dir/$name.log)"
	return $rc
}
# a step's exit status: 0 its claim held, 1 it ran but its claim did not
# hold on this run (printed above, and in the summary), 2+ it broke
fail=0
check() { case $1 in 0) ;; 1) failed_claims+=("$2: $(sed -n 's/^[a-z0-9]*: claim failed: //p' "$dir/$2.log" | paste -sd ';' -)") ;; *) fail=1 ;; esac; }
step "Experiment 2: A (2 Mbit/s, 5 ms) and B (2 Mbit/s, 10 ms) h1v1 -> h2v1 beside a 1.1x NRT flood," \
	tests/lab/exp2.sh --with-rtvnet --duration "${DEMO_EXP2_DURATION:-5s}"; check $? exp2
step "Experiment 3: flow C (a server without rtvnet, EF, at link rate) joins A and B's ToR class" \
	tests/lab/exp3.sh --duration "${DEMO_EXP3_DURATION:-10s}"; check $? exp3
step "Leader kill: SIGKILL to the Raft leader's rtvd while A and B run" \
	tests/lab/leaderkill.sh; check $? leaderkill
STEP_NAME=leaderkill_onpath step "rtvd restart under traffic: SIGKILL to the leader's rtvd on A and B's own sending host (h1), restarted at once; rtvdp, h1's dataplane process, forwards on" \
	tests/lab/leaderkill.sh --on-path; check $? leaderkill_onpath

wall=$((SECONDS - demo_t0))
printf '{"name": "lab.demo.wall_s", "value": %s, "unit": "s", "better": "lower"}\n' "$wall" >>"$dir/results.jsonl"
fig() { sed -n "s/.*\"name\": \"$1\", \"value\": \([^,}]*\).*/\1/p" "$dir/results.jsonl" | tail -n 1; }
echo
echo "== Summary                                               rtvnet      baseline"
printf '   %-52s %-11s %s\n' "exp1 (simulated 1 Gbit/s): A+B misses, EDF" "${miss[EDFA]:-?}+${miss[EDFB]:-?}" "FIFO ${miss[FIFOA]:-?}+${miss[FIFOB]:-?}"
printf '   %-52s %-11s %s\n' "exp2: A / B max delay (ms)" "$(fig lab.exp2.with.max_ms.A) / $(fig lab.exp2.with.max_ms.B)" \
	"without $(fig lab.exp2.without.max_ms.A) / $(fig lab.exp2.without.max_ms.B); paper 13.9 / 14.0"
printf '   %-52s %-11s %s\n' "exp2: A+B misses (late + lost)" "$(fig lab.exp2.with.misses)" "without $(fig lab.exp2.without.misses)"
printf '   %-52s %-11s %s\n' "exp3: C's start -> last miss (s)" "$(fig lab.exp3.recovery_s)" "paper ~20 (asked at 24 s)"
printf '   %-52s %-11s %s\n' "exp3: misses after escalation" "$(fig lab.exp3.misses_after)" ""
printf '   %-52s %-11s %s\n' "leader kill: A+B misses" "$(fig lab.leaderkill.misses)" ""
printf '   %-52s %-11s %s\n' "leader kill: new leader after (ms)" "$(fig lab.leaderkill.failover_ms)" ""
printf '   %-52s %-11s %s\n' "rtvd killed+restarted on the path: A+B lost" "$(fig lab.leaderkill_onpath.lost)" "goal 0"
printf '   %-52s %-11s %s\n' "rtvd killed+restarted on the path: A+B misses" "$(fig lab.leaderkill_onpath.misses)" "late or lost, rtvnet's or the lab's (verdicts above)"
printf '   %-52s %-11s %s\n' "whole demo (s)" "$wall" "target <= 180"
for c in "${failed_claims[@]}"; do echo "   CLAIM FAILED: $c"; done
[ $fail -ne 0 ] && echo "   a lab step BROKE (exit 2+): see its log above"
echo
echo "Results in $dir/: results.jsonl (every figure), exp1_waits.png,"
echo "  exp2/{without,with}.png, exp3/exp3.png, leaderkill/leaderkill.png, per-packet CSVs"
echo "  and each step's log."
echo "Metrics: every lab host's rtvd serves Prometheus text on the management network"
echo "  (tests/lab/lab.sh exec mgmt curl -s 10.1.0.1:9464/metrics); the metric list is"
echo "  docs/metrics.md. Grafana: copy dashboards/*.json to /var/lib/grafana/dashboards/rtvnet"
echo "  and point Grafana's provisioning at dashboards/provisioning/ (datasource + dashboards)."
if [ "$keep" != 0 ]; then
	echo
	echo "The rack is still up (KEEP=1). Try:"
	echo "  tests/lab/lab.sh status"
	echo "  tests/lab/lab.sh rtvctl 1 status            # Raft role, term, leader"
	echo "  tests/lab/lab.sh rtvctl 2 vms               # VMs learnt from each host's OVSDB"
	echo "  tests/lab/lab.sh rtvctl 2 reserve --src 10.0.1.11 --dst 10.0.2.11 --proto udp --dport 5000 \\"
	echo "      --type deadline --rate 2M --deadline 5ms     # from any host"
	echo "  tests/lab/lab.sh rtvctl 1 paths; tests/lab/lab.sh rtvctl 1 links"
	echo "  tests/lab/lab.sh exec h1v1 build/bin/rtvgen send --dst 10.0.2.11:5000 --rate 2M --deadline 5ms"
	echo "  tests/lab/lab.sh exec mgmt curl -s 10.1.0.2:9464/metrics | grep rtvnet_rtpath"
	echo "  tests/lab/lab.sh down                      # when done"
fi
[ $fail -ne 0 ] && exit 2
[ ${#failed_claims[@]} -eq 0 ] || { echo "demo: ${#failed_claims[@]} claim(s) failed (listed above)"; exit 1; }
exit 0
