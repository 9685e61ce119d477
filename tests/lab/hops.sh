# hops.sh — whose is a late packet, rtvnet's or the lab's: captures where a
# flow from one host to another enters and leaves each rtvd dataplane, and
# tests/lab/hops.py over them. Sourced (after tests/lib/common.sh); bash only.
#
#   hops_start OUT [--from S] [--to R] [--at NS_S:IN:UP:NS_R:UP:IN] PORT...
#                             tcpdump, kernel timestamps, of the rtvgen probes
#                             to the UDP PORTs (labelled or not) from host S
#                             (default 1) to host R (default 2) at
#                               a: hS rtv-dp in   (into the sender's dataplane)
#                               b: hS up0 out     (out of it, onto the uplink)
#                               c: hR up0 in      (into the receiver's)
#                               d: hR rtv-dp out  (out of it, to the host's OVS)
#                             in OUT.hop-<point>.pcap; call it once per
#                             sending host, each with its own OUT. --at
#                             names the namespaces and devices outside the
#                             lab: a = NS_S's IN, b = NS_S's UP, c = NS_R's
#                             UP, d = NS_R's IN (the two-host system tests);
#                             once per run it also starts tests/lab/cpuprobe
#                             (CPU stalls at rtvd's dataplane priority, 10) in
#                             OUT.cpu: hops.py's "no CPU" verdicts
#   hops_stop                 ends every capture and the probe; dies if the
#                             kernel dropped a frame of any (the proof would
#                             have holes) or the probe failed
#   hops_report OUT FLOW:CSV:DEADLINE_NS:NET_BUDGET_NS...
#                             hops.py: one line per late packet and whose it
#                             is in OUT.hops.txt, one JSON object per flow in
#                             OUT.hops.json
#
# The dataplane's AF_PACKET sockets send through the qdisc, so the egress taps
# see its frames after any queueing in the host; every namespace of the lab
# reads one clock, so the four timestamps and the VMs' are comparable.
# The lab's namespaces are ${RTV_LAB_PREFIX:-rtv}h<H>.

hop_outs=()
hop_cpu='' hop_cpu_pid=''

hops_start() {
	local out=$1 from=1 to=2 at="" spec p ns dev dir f port
	local -a n
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--from) from=$2; shift 2 ;;
		--to) to=$2; shift 2 ;;
		--at) at=$2; shift 2 ;;
		*) break ;;
		esac
	done
	local pre=${RTV_LAB_PREFIX:-rtv}h
	[ -n "$at" ] || at="$pre$from:rtv-dp:up0:$pre$to:up0:rtv-dp"
	IFS=: read -ra n <<<"$at"
	need_cmd tcpdump python3
	f="udp and ("
	for port in "$@"; do f+="dst port $port or "; done
	f="${f% or })"
	hop_outs+=("$out")
	for spec in "a:${n[0]}:${n[1]}:in" "b:${n[0]}:${n[2]}:out" "c:${n[3]}:${n[4]}:in" \
		    "d:${n[3]}:${n[5]}:out"; do
		IFS=: read -r p ns dev dir <<<"$spec"
		# not through a shell function: $! must be tcpdump itself
		ip netns exec "$ns" tcpdump -i "$dev" -Q "$dir" -n -s 128 -B 8192 \
			--time-stamp-precision=nano -w "$out.hop-$p.pcap" "$f or (mpls and $f)" \
			2>"$out.hop-$p.err" &
		hop_pids+=($!)
	done
	for p in a b c d; do
		wait_for 5 grep -q 'listening on' "$out.hop-$p.err" ||
			die "capture $p did not start: $(cat "$out.hop-$p.err")"
	done
	if [ -z "$hop_cpu_pid" ]; then
		hop_cpu=$out.cpu
		"$T_ROOT/build/bin/cpuprobe" --out "$hop_cpu" --prio 10 2>"$out.cpu.err" &
		hop_cpu_pid=$!
		wait_for 5 grep -q 'stalls over' "$out.cpu.err" ||
			die "the CPU probe did not start: $(cat "$out.cpu.err")"
	fi
}

hops_stop() {
	local p out
	for p in "${hop_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${hop_pids[@]}"; do wait "$p" 2>/dev/null; done
	hop_pids=()
	if [ -n "$hop_cpu_pid" ]; then
		kill -INT "$hop_cpu_pid" 2>/dev/null
		wait "$hop_cpu_pid" || die "the CPU probe failed: $(cat "$hop_cpu.err" 2>/dev/null)"
		hop_cpu_pid=''
	fi
	for out in "${hop_outs[@]}"; do
		for p in a b c d; do
			grep -q '^0 packets dropped by kernel' "$out.hop-$p.err" ||
				die "capture $p ($out) lost frames: $(grep dropped "$out.hop-$p.err" | tr '\n' ' ')"
		done
	done
	hop_outs=()
}

hops_report() {
	local out=$1
	shift
	python3 "$T_ROOT/tests/lab/hops.py" --pcap a="$out.hop-a.pcap" --pcap b="$out.hop-b.pcap" \
		--pcap c="$out.hop-c.pcap" --pcap d="$out.hop-d.pcap" ${hop_cpu:+--cpu "$hop_cpu"} \
		"$@" >"$out.hops.txt" ||
		die "hops.py failed on the captures $out.hop-*.pcap"
	grep '^{' "$out.hops.txt" >"$out.hops.json"
}
