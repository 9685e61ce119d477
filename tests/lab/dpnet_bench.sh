#!/usr/bin/env bash
# dpnet_bench.sh — the dataplane on real packets against a direct path, same
# run (issue 4, "Benchmarks"); driven by bench/bench_dpnet.c (make bench
# BENCH=dpnet), which turns what this prints into figures.
#
# Two copies of the dp_veth.sh topology exist side by side, identical but for
# what forwards between a VM's veth and the wire:
#
#   R  ns va (10.99.0.1) =veth= ns ha [dptest vA <-> wA] =wire= ns hb [dptest wB <-> vB] =veth= ns vb (10.99.0.2)
#   D  ns va (10.99.0.1) =veth= ns ha [bridge vA + wA]   =wire= ns hb [bridge wB + vB]   =veth= ns vb (10.99.0.2)
#
# "Direct" is the same namespaces, veths, offload settings and HTB-shaped wire
# with the kernel's Linux bridge in place of rtvd's dataplane: what a host
# without rtvd does (its switch puts the uplink on the VMs' bridge), and the
# strictest such baseline, as the bridge forwards in softirq inside the
# sender's own system call while dptest adds two user-space hops (AF_PACKET
# in and out) per host. The lab's hosts run Open vSwitch in user space, which
# would be a slower "direct". Both wires are shaped with HTB (both
# directions) at the link rate; dptest's pacer runs at the same rate.
#
# Measurements, each repeated DPNET_REPS times, R and D interleaved (the
# order alternating between repetitions) so that drift in the machine's
# other load hits both alike:
#   tput     iperf3 TCP va -> vb, MSS 1448 (1,514-byte frames), NRT traffic
#            (no rtpath), Mbit/s of goodput at the receiver after a 1 s
#            omit; during R runs also the CPU time (utime + stime,
#            /proc/PID/stat) of both dptest processes and the frame bytes wA
#            sent on the wire
#   lat      rtvgen 10 Mbit/s of 1,502-byte UDP frames, one-way delay
#            p50/p99 at the receiver (kernel receive stamp − send time, one
#            clock); on R the flow is an admitted rtpath (deadline type,
#            5 ms), so it is stamped, EDF-queued, paced, popped and checked
#   lat1cpu  (DPNET_1CPU=1 only) lat with both rtvgens and every dptest
#            thread pinned to CPU 0: the dataplane's path without cross-CPU
#            wake-ups, which cost far more on some virtual machines than on
#            hardware (the bench prints the platform's figure)
#   ahead20  tput on R alone (against the direct runs above) with dptest's
#            pacer slack (--ahead) at 20 µs, rtvd's default before it became
#            250 µs (consensus.h, CONS_TX_AHEAD_MAX_NS): a pacer thread that
#            wakes later than its slack finds the link idle and restarts from
#            "now", losing that time (sched/pacer.c), so the slack must cover
#            the platform's timer wake-up latency; this run shows the loss
#   busy     tput and lat again, R and D interleaved, with dptest's poll mode
#            busy ([dataplane] poll = busy: one thread per host spins over
#            both directions, no wake-ups), each host's on a CPU of its own
#            (ha 0, hb 1: "a core dedicated to the network", which on this
#            machine everything else must share). tput runs the pollers at
#            normal priority (iperf3 needs the CPUs too); CPU per Gbit then
#            counts the spinning. lat runs them at SCHED_FIFO DPNET_RT_PRIO,
#            so that other work on the shared machine does not preempt them
#            as it could not on a dedicated core, both rtvgens (on R and on
#            D alike) at SCHED_FIFO DPNET_RT_PRIO + 10, like VMs whose cores
#            are elsewhere, and the kernel's softirq threads (ksoftirqd/N) at
#            SCHED_FIFO DPNET_RT_PRIO + 5: frames sent and received through
#            AF_PACKET are processed in softirq on the pollers' CPUs, and
#            once the kernel defers that to ksoftirqd, a thread at normal
#            priority would wait behind the spinning one (the host tuning a
#            busy-polling dataplane on kernel sockets needs). Everything else
#            on the machine gets only RT throttling's 5 % for those ~25 s;
#            ksoftirqd is restored after
#   tput1g   tput with both wires and dptest's pacer at 1 Gbit/s (default
#            slack), DPNET_REPS_1G pairs. On 2 shared cores this is CPU-bound
#            for both paths (TCP without offloads), not link-bound
#
# Output: on stdout only "key=value" lines, one per measurement, in run order
# (tput.100m.direct, tput.100m.dp, cpu_s.100m, gbit.100m, lat.direct.p50,
# lat.direct.p99, lat.dp.p50, lat.dp.p99, lat1cpu.*, tput.ahead20.dp,
# cpu_s.ahead20, gbit.ahead20, tput.busy.*, cpu_s.busy, gbit.busy,
# latbusy.*, tput.1g.*, cpu_s.1g, gbit.1g: Mbit/s, µs, CPU seconds, Gbit)
# and info.* lines; progress on stderr. Exit 0, 1 on failure (the reason on
# stderr), 77 when skipped (not root).
# Environment: DPNET_REPS (3), DPNET_REPS_1G (3), DPNET_TPUT_S (2),
# DPNET_LAT_S (3), DPNET_1CPU (0), DPNET_CPU (unset; N: every sleeping
# dptest with --cpu N, [dataplane] cpu = N: threads and RPS on CPU N), DPNET_RATE (100mbit), DPNET_AHEAD (250us,
# rtvd's default), DPNET_ALT (1; 0 skips the 20 µs slack run), DPNET_BUSY
# (1; 0 skips the busy-poll phase), DPNET_1G (1; 0
# skips the 1 Gbit/s phase), DPNET_RT_PRIO (10, as dp_veth.sh; rtvd's
# default is 0), DPNET_BIN (build/bin). Runtime with the defaults: ~2 min.
# Ports 18301 (iperf3) and 18310 (rtvgen) inside the namespaces. Everything
# started is killed and every namespace removed on exit, also on failure.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/common.sh

BIN=${DPNET_BIN:-build/bin}
REPS=${DPNET_REPS:-3}
TPUT_S=${DPNET_TPUT_S:-2}
LAT_S=${DPNET_LAT_S:-3}
REPS_1G=${DPNET_REPS_1G:-3}
RATE=${DPNET_RATE:-100mbit}
RT_PRIO=${DPNET_RT_PRIO:-10}
AHEAD=${DPNET_AHEAD:-250us}
POLL=sleep
CPU=${DPNET_CPU:-}	# [dataplane] cpu for the sleeping dptests: engine + RPS on it
CPUS=$(taskset -c -p $$ | sed 's/.*: //')	# what lat1cpu gives back
P=dpn$$
DIR=$(mktemp -d /tmp/dpnet.XXXXXX)
IPERF_PORT=18301
LAT_PORT=18310
DP_PIDS=()
SIRQ=()		# ksoftirqd threads given SCHED_FIFO (busy phase), restored on exit
DP_RUN=0	# dptest starts so far: run 1 carries the latency flow

softirq_fifo() {	# prio: every ksoftirqd at SCHED_FIFO prio
	local p
	for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do chrt -f -p "$1" "$p" && SIRQ+=("$p"); done
}
softirq_normal() {
	local p
	for p in "${SIRQ[@]}"; do chrt -o -p 0 "$p" 2>/dev/null; done
	SIRQ=()
}
log() { printf 'dpnet: %s\n' "$*" >&2; }
die() { log "$*"; for f in "$DIR"/*.log; do [ -s "$f" ] && sed "s|^|   $(basename "$f"): |" "$f" >&2; done; exit 1; }
names() { echo "${P}${1}va ${P}${1}ha ${P}${1}hb ${P}${1}vb"; }

cleanup() {
	local p n
	softirq_normal
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ns_remove $(names r) $(names d)
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_root
need_exec "$BIN/dptest" "$BIN/rtvgen"
need_cmd iperf3 ethtool jq

# ---- topology ------------------------------------------------------------------

topology() {	# r|d
	local va ha hb vb n
	read -r va ha hb vb <<<"$(names "$1")"
	wire_topology "$va" "$ha" "$hb" "$vb" "$RATE" || return 1
	[ "$1" = r ] && return 0
	for n in "$ha vA wA" "$hb wB vB"; do
		set -- $n
		# no netfilter on bridged frames (br_netfilter may be loaded)
		ns "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-arptables=0 2>/dev/null
		ns "$1" ip link add br0 type bridge && ns "$1" ip link set "$2" master br0 &&
			ns "$1" ip link set "$3" master br0 && ns "$1" ip link set br0 up || return 1
	done
}

RT_PATH="id=1,src=10.99.0.1,dst=10.99.0.2,proto=17,dport=$LAT_PORT,type=deadline,rate=20mbit,burst=30000,deadline=5ms,net=1ms,src-host=1,dst-host=2"

start_dp() {	# dptest on both R hosts, with $AHEAD, $POLL, $RT_PRIO; with POLL=busy
		# each on a CPU of its own (ha 0, hb 1)
	local va ha hb vb pin=() cpu=()
	read -r va ha hb vb <<<"$(names r)"
	DP_PIDS=()
	DP_RUN=$((DP_RUN + 1))
	for h in "$ha vA wA 1" "$hb vB wB 2"; do
		set -- $h
		[ "$POLL" = busy ] && pin=(taskset -c $(($4 - 1)))
		cpu=()
		[ "$POLL" = sleep ] && [ -n "$CPU" ] && cpu=(--cpu "$CPU")
		"${pin[@]}" ip netns exec "$1" "$BIN/dptest" --int "$2" --up "$3" --host-id "$4" \
			--rate "$RATE" --mtu 1500 --host-ip 10.99.0.254 --ahead "$AHEAD" \
			--uncertainty 1us --poll "$POLL" --rt-prio "$RT_PRIO" "${cpu[@]}" \
			--stats "$DIR/dp$4.run$DP_RUN.stats" --path "$RT_PATH" \
			>"$DIR/dp$4.out" 2>>"$DIR/dp$4.log" &
		pids+=($!)
		DP_PIDS+=($!)
	done
	sleep 0.5
	for p in "${DP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "dptest died at start"; done
}

stop_dp() {
	local p
	for p in "${DP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	DP_PIDS=()
}

servers() {	# iperf3 servers in both vb namespaces
	local t vb
	for t in r d; do
		vb=${P}${t}vb
		ip netns exec "$vb" iperf3 -s -p $IPERF_PORT >/dev/null 2>"$DIR/iperf_s_$t.log" &
		pids+=($!)
	done
	sleep 0.3
}

warm() {	# ARP and the bridges' MAC tables
	local t
	for t in r d; do
		ns "${P}${t}va" ping -c 2 -i 0.2 -W 2 10.99.0.2 >/dev/null || die "ping va -> vb failed on topology $t"
	done
}

# ---- measurements ----------------------------------------------------------------

# CPU seconds (utime + stime) of the running dptest processes.
dp_cpu_ticks() {
	local p sum=0
	for p in "${DP_PIDS[@]}"; do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo $sum
}

wire_bytes() { ns "${P}rha" cat /sys/class/net/wA/statistics/tx_bytes; }

tput_run() {	# t(r|d) label: prints tput.<label>.<direct|dp>=Mbit/s (and CPU on r)
	local t=$1 label=$2 mode=direct c0 b0 c1 b1 mbps json=$DIR/iperf_$1.json
	[ "$t" = r ] && { mode=dp; c0=$(dp_cpu_ticks); b0=$(wire_bytes); }
	timeout $((TPUT_S + 15)) ip netns exec "${P}${t}va" iperf3 -c 10.99.0.2 -p $IPERF_PORT \
		-t "$TPUT_S" -O 1 -J >"$json" 2>"$DIR/iperf_c.log" || die "iperf3 ($mode, $label) failed"
	mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$json") || die "iperf3 JSON unreadable"
	echo "tput.$label.$mode=$mbps"
	if [ "$t" = r ]; then
		c1=$(dp_cpu_ticks); b1=$(wire_bytes)
		echo "cpu_s.$label=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { print d / hz }')"
		echo "gbit.$label=$(awk -v d=$((b1 - b0)) 'BEGIN { print d * 8 / 1e9 }')"
	fi
	log "  $label $mode: $mbps Mbit/s"
}

lat_run() {	# t(r|d) key [cpu]: prints <key>.<mode>.p50 / .p99 in µs; with cpu,
		# rtvgen and (on r) every dptest thread are pinned to that CPU
	local t=$1 key=$2 cpu=${3:-} mode=direct json=$DIR/lat_$1.json rpid pin=() p lost
	[ "$t" = r ] && mode=dp
	[ -n "${APP_PRIO:-}" ] && pin=(chrt -f "$APP_PRIO")	# the rtvgens, both paths
	if [ -n "$cpu" ]; then
		pin+=(taskset -c "$cpu")
		if [ "$t" = r ]; then
			for p in "${DP_PIDS[@]}"; do taskset -a -p -c "$cpu" "$p" >/dev/null || die "taskset $p"; done
		fi
	fi
	"${pin[@]}" ip netns exec "${P}${t}vb" "$BIN/rtvgen" recv --port $LAT_PORT \
		--duration $((LAT_S + 5))s --json >"$json" 2>"$DIR/rtvgen_r.log" &
	rpid=$!
	pids+=($rpid)
	sleep 0.3
	timeout $((LAT_S + 10)) "${pin[@]}" ip netns exec "${P}${t}va" "$BIN/rtvgen" send \
		--dst 10.99.0.2:$LAT_PORT --rate 10M --size 1502 --duration "${LAT_S}s" --json \
		>"$DIR/rtvgen_s.json" 2>"$DIR/rtvgen_s.log" || die "rtvgen send ($mode) failed"
	wait $rpid || die "rtvgen recv ($mode) failed"
	if [ -n "$cpu" ] && [ "$t" = r ]; then
		for p in "${DP_PIDS[@]}"; do taskset -a -p -c "$CPUS" "$p" >/dev/null; done
	fi
	jq -e '.received > 0' "$json" >/dev/null || die "latency ($mode): nothing received"
	jq -e '.lost == 0' "$json" >/dev/null && lost=0 || lost=$(jq .lost "$json")
	[ "$lost" = 0 ] || echo "info.lost=$key $mode: $lost of $(jq .sent "$json") probes lost"
	echo "$key.$mode.p50=$(jq -r .delay_us.p50 "$json")"
	echo "$key.$mode.p99=$(jq -r .delay_us.p99 "$json")"
	log "  $key $mode: p50 $(jq -r .delay_us.p50 "$json") us, p99 $(jq -r .delay_us.p99 "$json") us, $(jq -r .received "$json") probes"
}

# Interleaved: D then R on odd repetitions, R then D on even ones.
both() {	# fn args...
	local i fn=$1
	shift
	for i in $(seq "$REPS"); do
		if [ $((i % 2)) = 1 ]; then "$fn" d "$@" && "$fn" r "$@"; else "$fn" r "$@" && "$fn" d "$@"; fi
	done
}

# ---- the run -------------------------------------------------------------------

log "topologies R (dptest) and D (Linux bridge), wires HTB $RATE"
topology r && topology d || die "cannot build the topologies"
start_dp
servers
warm
echo "info.direct=linux-bridge"
echo "info.rate=$RATE"
echo "info.rt_prio=$RT_PRIO"
echo "info.ahead=$AHEAD"
echo "info.reps=$REPS"
log "throughput at $RATE (iperf3 TCP, ${TPUT_S}s + 1s omitted, x$REPS each)"
both tput_run 100m
log "one-way latency, 10 Mbit/s of 1502-byte UDP frames (${LAT_S}s x$REPS each)"
both lat_run lat
if [ "${DPNET_1CPU:-0}" != 0 ]; then
	log "the same with rtvgen and every dptest thread on CPU 0 (no cross-CPU wake-ups)"
	both lat_run lat1cpu 0
fi
if [ "${DPNET_ALT:-1}" != 0 ]; then
	log "throughput at $RATE on R with dptest --ahead 20us (x$REPS)"
	stop_dp
	AHEAD=20us start_dp
	warm
	for i in $(seq "$REPS"); do tput_run r ahead20; done
fi
if [ "${DPNET_BUSY:-1}" != 0 ]; then
	log "busy polling: dptest --poll busy on CPU 0 (ha) and 1 (hb); throughput at normal priority"
	stop_dp
	POLL=busy RT_PRIO=0 start_dp
	warm
	both tput_run busy
	log "busy polling: latency, dptest at SCHED_FIFO $RT_PRIO, rtvgen $((RT_PRIO + 10)), ksoftirqd $((RT_PRIO + 5))"
	stop_dp
	softirq_fifo $((RT_PRIO + 5))
	POLL=busy start_dp
	warm
	APP_PRIO=$((RT_PRIO + 10)) both lat_run latbusy
	stop_dp
	softirq_normal
fi
if [ "${DPNET_1G:-1}" != 0 ]; then
	RATE=1gbit
	log "throughput at 1 Gbit/s (wires and pacer)"
	stop_dp
	for t in r d; do htb "${P}${t}ha" wA "$RATE" && htb "${P}${t}hb" wB "$RATE" || die "HTB re-rate"; done
	start_dp
	warm
	REPS=$REPS_1G both tput_run 1g
fi
stop_dp
# What the dataplanes counted: drops and send errors (any, per run), and the
# latency flow as an rtpath (labelled at ha, popped and checked at hb).
drops=$(grep -HE '^(drop_[a-z_]+|io\.tx_errors|io\.rx_truncated)=[1-9]' "$DIR"/dp*.stats |
	sed "s|^$DIR/||; s|\.stats:|: |" | tr '\n' ' ')
echo "info.dataplane_drops=${drops:-none}"
st() { sed -n "s/^$2=//p" "$DIR/$1.run1.stats"; }
echo "info.rt_path=sent $(st dp1 path.1.tx_pkts), received $(st dp2 path.1.rx_pkts), misses $(st dp2 path.1.rx_misses), vA to wB p99 $(st dp2 path.1.delay_p99_ns) ns"
exit 0
