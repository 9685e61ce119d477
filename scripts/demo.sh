#!/usr/bin/env bash
# make demo: scripts/demo.sh BUILD_DIR
#
# Until the multi-host lab exists, the demo is the paper's experiment 1 on the
# egress-link simulator (bench/linksim.c): one 1 Gbit/s link, flows A and B
# with deadlines, a 1.1 Gbit/s UDP flood, scheduled by EDF, WF²Q+ and a FIFO.
# Everything lands in results/demo-<date>/: the figures (results.jsonl), the
# full table (bench_sim.txt), per-packet waits (exp1_<mode>.csv) and, when
# gnuplot is installed, a plot (exp1_waits.png).
set -euo pipefail

build=${1:-build}
cd "$(dirname "$0")/.."
bench=$build/bench/bench_sim
if [ ! -x "$bench" ]; then
	echo "demo: $bench is missing; run 'make build' first" >&2
	exit 1
fi

dir=results/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$dir"

echo "== rtvnet demo: seed 000 experiment 1, simulated"
echo "   A link of 1 Gbit/s carries flow A (2 Mbit/s, deadline 5 ms), flow B"
echo "   (2 Mbit/s, deadline 10 ms) and a 1.1 Gbit/s UDP flood (NRT) that"
echo "   overloads it; 1,502-byte frames; 10 s of simulated time per scheduler."
echo

RTV_BENCH_OUT=$PWD/$dir/results.jsonl RTV_BENCH_TABLE=$PWD/$dir/results.tsv \
	"$bench" --csv "$dir" >"$dir/bench_sim.txt"

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
# Part 2: experiment 2 on the lab rack — real hosts in network namespaces,
# each with its own Open vSwitch and its own rtvd (Raft, OpenFlow controller,
# deadline dataplane on the uplink).
echo
echo "== rtvnet demo: seed 000 experiment 2 on the lab rack (3 hosts, 2 VMs each)"
if [ "$(id -u)" -ne 0 ]; then
	echo "   skipped: the lab needs root (network namespaces)."
	exit 0
fi
echo "   A (2 Mbit/s, 5 ms) and B (2 Mbit/s, 10 ms) go from VM h1v1 to VM h2v1 while"
echo "   h1v2 floods h2v2 at 1.1x the link rate through the same uplink: first on"
echo "   the plain rack (one FIFO), then with rtvd on every host and A and B"
echo "   reserved from a host that is not the Raft leader. About 40 s."
echo
t0=$SECONDS
if tests/lab/exp2.sh --with-rtvnet --duration "${DEMO_EXP2_DURATION:-5s}" \
	--results "$PWD/$dir/exp2" >"$dir/exp2.log" 2>&1; then
	sed -n '/^Experiment 2/,$p' "$dir/exp2.log" | sed 's/^/  /'
	cat "$dir/exp2/figures.jsonl" >>"$dir/results.jsonl" 2>/dev/null
else
	echo "   the lab run failed; its log: $dir/exp2.log"
	tail -n 15 "$dir/exp2.log" | sed 's/^/    | /'
	exit 1
fi
echo
echo "   ($((SECONDS - t0)) s; per-packet CSVs and plots in $dir/exp2/."
echo "   The paper's links are 1 Gbit/s; this 2-core machine's userspace OVS"
echo "   limits the lab to 20 Mbit/s links, so queueing delays are ~50x longer.)"
echo
echo "Try it yourself: tests/lab/lab.sh up -n 3 -v 2 -r 20mbit && tests/lab/lab.sh rtvd-up"
echo "  tests/lab/lab.sh rtvctl 1 status; tests/lab/lab.sh rtvctl 1 vms; tests/lab/lab.sh down"
echo "Metrics: each lab host's rtvd serves Prometheus text on 127.0.0.1:9464/metrics inside"
echo "  its namespace (tests/lab/lab.sh exec h1 curl -s 127.0.0.1:9464/metrics); metric list in"
echo "  docs/metrics.md. Grafana: copy dashboards/*.json to /var/lib/grafana/dashboards/rtvnet and"
echo "  point Grafana's provisioning at dashboards/provisioning/ (datasource + dashboard provider)."
