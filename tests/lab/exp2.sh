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
# Without rtvnet (the default) the host uplink is the lab's plain HTB class
# behind Open vSwitch: one FIFO for everything. This is the baseline rtvnet
# has to beat.
#
# --with-rtvnet runs both: first without (on the plain lab; rtvd is taken
# down if it runs), then with rtvnet (lab.sh rtvd-up: rtvd's dataplane owns
# every host's uplink, rtvd is each OVS's controller); it waits for a Raft
# leader and for the VMs to be learnt from OVSDB, reserves A (2M, 5 ms, UDP
# to A's port) and B (2M, 10 ms) as deadline rtpaths through a host that is
# NOT the leader, sends the same traffic, releases A and B, and prints both
# runs beside the paper's Table 9.
#
# The rack: uses the lab that is up (tests/lab/lab.sh status; it needs 2 hosts
# with 2 VMs each, 3 hosts with --with-rtvnet, and takes the link rate from
# it), else brings one up (-n 2 -v 2 at 100 Mbit/s; with --with-rtvnet -n 3
# -v 2 at 20 Mbit/s: at 100 and even 50 Mbit/s this 2-core machine's
# userspace OVS, with rtvd's dataplane threads beside it, is CPU-bound and
# drops before any link is full; tests/lab/README.md) and takes it down at
# the end unless --keep (a rack it did not bring up stays; rtvd it started
# is taken down unless --keep).
# A and B are reserved with a burst of 8 frames up to 6,008 B (4 frames of
# 1,502 B; rtvgen sends at most 8 back to back when it is late): with the default burst
# of one frame, the sender's pacing jitter on this busy machine makes the
# policer demote a third of A's packets to NRT. And with --max-pkt of the
# frame size: the policer counts wire bytes, and a reservation's wire rate
# is its rate at max-pkt-sized frames; smaller frames at the same bit rate
# put more overhead on the wire (500-byte frames: 3.7 % more than at 1,518)
# and would be demoted to NRT for the difference.
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
#   lab.exp2.<mode>.max_ms.A, lab.exp2.<mode>.max_ms.B (beside the paper's)
#   lab.exp2.with.late_rtvnet  late packets rtvd is to blame for (below),
#                              beside those the lab's own hops made late
# where <mode> is "without" or "with".
#
# Whose is a late or lost packet: during the run with rtvnet, tcpdump records (kernel
# timestamps) every A and B frame where it enters and leaves each host's
# dataplane; tests/lab/hops.py splits each late packet's delay into rtvd's
# time and the lab's (VM stacks, userspace OVS, links, ToR) and names the
# side that overran its share: rtvd's share is the deadline minus the net
# budget admission gave the network hops, the lab's is that budget. A packet
# a capture missed counts against rtvnet. Every late packet is listed.
#
# Claims, printed after the table; exit status 1 names each one that failed
# (0 when all held, 2 on bad usage or a broken rack):
#   without rtvnet, the flood makes A and B miss (late + lost > 0);
#   with rtvnet, no packet of A or B is lost or late through rtvnet (per
#   packet: a loss or lateness is the lab's only if the captures place it
#   in the lab's hops).
set -u
NAME=exp2
. "$(dirname "$0")/lib.sh"

duration=10s size=1502 results='' mode=without

lab_args "--duration=duration --size=size --with-rtvnet=mode=with" "$@"
[[ $duration =~ ^[0-9]+s$ ]] && [ "${duration%s}" -ge 1 ] || die "--duration: whole seconds like 10s, got '$duration'"
[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge 78 ] && [ "$size" -le 1514 ] || die "--size: frame bytes 78..1514, got '$size'"
lab_start

# --- the rack ---------------------------------------------------------------
if [ $mode = with ]; then lab_need 3 -n 3 -v 2 -r 20mbit; else lab_need 2 -n 2 -v 2; fi

rtvnet_exp2() {
	rtvnet_up
	say "Raft leader h$leader; reserving A and B through h$via (not the leader)"
	burst=$((8 * size < 6008 ? 8 * size : 6008))	# what rtvgen may send back to back, at most 4 full frames
	reserve A "$via" $PORT_A 5ms --max-pkt "$size"
	id_A=$rtpath
	reserve B "$via" $PORT_B 10ms --max-pkt "$size"
	id_B=$rtpath
	sleep 0.5	# the sender's flows and dataplane table follow the commit
}

# --- traffic ---------------------------------------------------------------
secs=${duration%s}
traffic() {
	echo "exp2 ($run rtvnet): A, B = 2 Mbit/s of ${size} B frames h1v1 -> h2v1 for $duration;" \
		"NRT = $((flood_bps / 1000000)) Mbit/s h1v2 -> h2v2 (1.1 x the $rate links)"
	[ $run = with ] && hops_start "$results/$run" $PORT_A $PORT_B
	start_ab "$size" $((secs + 10))
	traffic_wait A B NRT
	[ $run = with ] || return 0
	hops_stop
	hops A B
}

# --- the claims -------------------------------------------------------------
late_lost() { echo $(( $(q "$1" A .misses) + $(q "$1" A .lost) + $(q "$1" B .misses) + $(q "$1" B .lost) )); }
claims() {
	echo "Claims:"
	claim "without rtvnet the flood makes A and B miss (late + lost: $(late_lost without))" \
		[ "$(late_lost without)" -gt 0 ]
	[ -f "$results/with.A.json" ] || return 0
	run=with claim_none_late_through_rtvnet
}

# --- the table --------------------------------------------------------------
row() { printf '%-24s %9s %9s %9s %9s %9s %9s\n' "$@"; }
cell() { [ -f "$results/$1.A.json" ] && "${@:2}" || echo -; }	# cell RUN FN ARGS: "-" if RUN did not run
table() {
	local w=without v=with
	echo "Experiment 2 (seed 000 Table 9 beside it; the paper's links are 1 Gbit/s, ours $rate)"
	row "" "without A" "without B" "with A" "with B" "paper A" "paper B"
	for k in max min avg p99; do
		row "delay $k (ms)" "$(cell $w ms $w A $k)" "$(cell $w ms $w B $k)" "$(cell $v ms $v A $k)" "$(cell $v ms $v B $k)" \
			"$(case $k in max) echo 13.9;; min) echo 6.3;; avg) echo 13.5;; *) echo -;; esac)" \
			"$(case $k in max) echo 14.0;; min) echo 7.8;; avg) echo 13.5;; *) echo -;; esac)"
	done
	row "deadline (ms)" 5 10 5 10 5 10
	row "misses (late)" "$(cell $w q $w A .misses)" "$(cell $w q $w B .misses)" "$(cell $v q $v A .misses)" "$(cell $v q $v B .misses)" - -
	row "lost" "$(cell $w q $w A .lost)" "$(cell $w q $w B .lost)" "$(cell $v q $v A .lost)" "$(cell $v q $v B .lost)" - -
	row "received / sent" "$(cell $w q $w A '"\(.received)/\(.sent)"')" "$(cell $w q $w B '"\(.received)/\(.sent)"')" \
		"$(cell $v q $v A '"\(.received)/\(.sent)"')" "$(cell $v q $v B '"\(.received)/\(.sent)"')" - -
	for r in $w $v; do
		[ -f "$results/$r.NRT.json" ] || continue
		echo "NRT $r: offered $(jq -r .mbps "$results/$r.NRT.tx.json") Mbit/s, delivered $(q $r NRT .mbps) Mbit/s," \
			"lost $(q $r NRT .lost) of $(q $r NRT .sent)"
	done
	echo "(paper: Table 9's run without RTvNIC (without) and the paper's with-RTvNIC run; delays from kernel receive timestamps, one shared clock)"
}

figures() {	# figures RUN
	local r=$1 misses base=''
	misses=$(( $(q $r A .misses) + $(q $r A .lost) + $(q $r B .misses) + $(q $r B .lost) ))
	# with rtvnet: the same traffic's run without it is the baseline
	[ "$r" = with ] && [ -f "$results/without.A.json" ] && base=$(( $(q without A .misses) + $(q without A .lost) +
		$(q without B .misses) + $(q without B .lost) ))
	printf '{"name": "lab.exp2.%s.misses", "value": %s, "unit": "packets", "better": "lower"%s}\n' "$r" "$misses" \
		"${base:+, \"baseline\": \"without rtvnet\", \"baseline_value\": $base}"
	printf '{"name": "lab.exp2.%s.max_ms.A", "value": %s, "unit": "ms", "better": "lower", "baseline": "paper, 1 Gbit/s, without RTvNIC", "baseline_value": 13.9}\n' "$r" "$(ms $r A max)"
	printf '{"name": "lab.exp2.%s.max_ms.B", "value": %s, "unit": "ms", "better": "lower", "baseline": "paper, 1 Gbit/s, without RTvNIC", "baseline_value": 14.0}\n' "$r" "$(ms $r B max)"
	# with rtvnet: the late packets rtvd held beyond its share (or that the
	# captures missed), beside those the lab's hops made late, per packet
	[ "$r" = with ] && printf '{"name": "lab.exp2.with.late_rtvnet", "value": %s, "unit": "packets", "better": "lower", "baseline": "late through the lab'"'"'s own hops, same run", "baseline_value": %s}\n' \
		$(( $(hj A late_rtvnet) + $(hj B late_rtvnet) )) $(( $(hj A late_lab) + $(hj B late_lab) ))
	echo "lab.exp2.$r.misses = $misses (late + lost, A and B)" >&2
}

plot() {	# plot RUN
	plot_ab "$results/$1.png" "$(sed -n 2p "$results/$1.A.csv" | cut -d, -f2)" \
		"Experiment 2 $1 rtvnet: one-way delay of A and B ($((flood_bps / 1000000)) Mbit/s NRT on a $rate uplink)"
}

# --- the runs ---------------------------------------------------------------
: >"$results/figures.jsonl"
if rtvd_running && [ $mode = without ]; then
	die "rtvd runs on the lab (lab.sh rtvd-up): the baseline needs the plain lab; run lab.sh rtvd-down, or use --with-rtvnet"
fi
if rtvd_running; then	# --with-rtvnet on a lab with rtvd: its baseline without it first
	echo "exp2: taking rtvd down for the run without rtvnet (lab.sh rtvd-down)"
	LAB_QUIET=1 "$LAB" rtvd-down >"$results/rtvd-down.log" 2>&1 || die "lab.sh rtvd-down failed"
fi
runs=without
[ $mode = with ] && runs="without with"
for run in $runs; do
	[ $run = with ] && rtvnet_exp2
	reach
	traffic
	figures $run >>"$results/figures.jsonl"
	plot $run
done
table >"$results/$mode.txt"
claims >>"$results/$mode.txt"	# not in a pipe: failed_claims must outlive it
cat "$results/$mode.txt"
lab_done
claims_exit
