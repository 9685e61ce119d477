#!/usr/bin/env bash
# lab.sh — the lab rack itself (issue 6, tests/lab/lab.sh) with rtvgen traffic.
# Checks, each printed with what it measured:
#   1. rtvgen refuses bad arguments (exit 2, a message saying what is wrong);
#      its receiver counts crafted probes right (loss, reordering,
#      duplicates, deadline misses, other flows, the FIN's tail count);
#   2. `lab.sh up -n 2 -v 1` builds the rack; a VM pings a VM on the other host;
#   3. `up` again changes nothing (same ports, classes, filters, namespaces);
#      `up -n 3 -v 2` grows it; `up` after a crashed ovs-vswitchd repairs it;
#   4. flow A (2 Mbit/s, 1502 B, deadline 5 ms) between VMs on different hosts
#      with no congestion: 0 loss, no duplicates, median delay < 2 ms;
#   5. the uplink shaping holds: a 150 Mbit/s flood arrives at <= 104 Mbit/s
#      (HTB at 100 Mbit/s plus its known few-% slack) and at >= 50 Mbit/s;
#   6. the ToR serves DSCP EF in strict priority: `up -r 20mbit` re-shapes
#      every link in place; two hosts flood one host's ToR port (10 + 18 Mbit/s
#      into 20 Mbit/s; EF leaves from the less loaded host, whose uplink is a
#      plain FIFO); an EF flow's median delay is < 1/4 of a DSCP-0 flow's,
#      which sits in the queue (>= 20 ms); the ToR's EF (middle) class drops nothing,
#      its low class drops. (At 20 Mbit/s because three userspace OVS
#      instances forwarding ~100 Mbit/s into one host need more CPU than
#      this 2-core machine reliably has; their socket buffers would then be
#      the queue, not the ToR's.)
#   7. `lab.sh down` after a simulated crash (OVS killed -9, a stray process
#      left in a VM) and after an `up` killed half-way leaves no namespace,
#      process, veth or state directory behind; `down` twice is harmless.
# The rack uses its own namespace prefix and state directory, so it does not
# touch a lab someone else has up. Everything is removed on exit, also on
# failure. The host's CPU is shared: the delay checks compare flows measured
# in the same run, or use bounds far from what the lab delivers.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
GEN=${RTVGEN:-$ROOT/build/bin/rtvgen}
export RTV_LAB_PREFIX=rtvs$$ RTV_LAB_DIR=/run/rtvnet-lab-st$$ LAB_QUIET=1
OUT=$(mktemp -d /tmp/rtv-lab-sys.XXXXXX)

info() { printf '   %s\n' "$*"; }
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }	# float a <= b
jv() { jq -r "$2" "$1" 2>/dev/null; }

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	"$LAB" down >/dev/null 2>&1
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root
need_cmd ovs-vswitchd jq
need_exec "$GEN"

# rx NODE PORT NAME SECONDS [rtvgen recv options]: a receiver in the
# background for at most SECONDS (it stops earlier at the sender's FIN), its
# JSON summary in $OUT/NAME.json.
rx() {
	local node=$1 port=$2 name=$3 secs=$4; shift 4
	"$LAB" exec "$node" "$GEN" recv --port "$port" --json --duration "${secs}s" "$@" \
		>"$OUT/$name.json" 2>"$OUT/$name.err" &
	pids+=($!)
}
# tx NODE NAME send|flood [options]: a sender in the background.
tx() {
	local node=$1 name=$2; shift 2
	"$LAB" exec "$node" "$GEN" "$@" --json >"$OUT/$name.tx.json" 2>"$OUT/$name.tx.err" &
	pids+=($!)
}
wait_all() { local p; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done; pids=(); }
summary() {	# name: one line of what a receiver measured
	jq -r 'def ms: (. | round) / 1000; .delay_us as $d |
		"\(.flow): \(.received) received, \(.lost) lost, delay ms min \($d.min | ms) avg \($d.avg | ms) p50 \($d.p50 | ms) p99 \($d.p99 | ms) max \($d.max | ms), \(.mbps) Mbit/s"' "$OUT/$1.json" 2>/dev/null ||
		echo "$1: no summary ($(head -c 300 "$OUT/$1.err" 2>/dev/null))"
}
ping_ok() { "$LAB" exec "$1" ping -c 3 -i 0.2 -W 2 -q "$2" 2>&1 | grep -q ' 0% packet loss'; }
snapshot() {	# what `up` builds, without counters
	local h
	ip netns list | awk '{print $1}' | grep "^$RTV_LAB_PREFIX" | sort
	for h in $(seq 1 "$1"); do
		"$LAB" exec "h$h" ovs-vsctl --db=unix:"$RTV_LAB_DIR/h$h/ovs/db.sock" list-ports br-rtv
		"$LAB" exec "h$h" tc class show dev up0
		"$LAB" exec tor tc class show dev "h$h"
		"$LAB" exec tor tc filter show dev "h$h" | grep -c flowid
	done
}
leftovers() {	# prints anything of this lab still there
	ip netns list | awk '{print $1}' | grep "^$RTV_LAB_PREFIX"
	pgrep -af -- "$RTV_LAB_DIR/" | grep -v pgrep
	ip -o link show | grep -o 'rtvtmp[0-9]*[ab]' | while read -r d; do
		p=${d#rtvtmp}; p=${p%[ab]}; kill -0 "$p" 2>/dev/null || echo "veth $d"
	done
	[ -e "$RTV_LAB_DIR" ] && echo "state dir $RTV_LAB_DIR"
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && echo "stray process $1"
	return 0
}

step "rtvgen validates its arguments (exit 2 and a reason)"
for args in "send --dst 10.0.2.11:18000 --rate 2000" "send --dst 10.0.2.11 --rate 2M" \
	"send --dst 10.0.2.11:18000 --rate 2M --size 60" "send --dst 10.0.2.11:18000 --rate 2M --dscp 64" \
	"recv --port 70000" "recv --port 18000 --deadline 5" "recv" "bogus"; do
	msg=$("$GEN" $args 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 2 ] && [ -n "$msg" ]; then ok "rtvgen $args -> 2: $(echo "$msg" | head -1)"
	else bad "rtvgen $args -> exit $rc, message '$msg'"; fi
done

step "rtvgen's receiver counts loss, reordering, duplicates, misses and foreign packets"
# crafted probes on loopback: seqs 0 1 2 5 4 4 3 7, seq 2 sent 7 ms "late"
# (deadline 5 ms in the probe), a non-probe, another flow's probe, FIN(9)
"$GEN" recv --port 18006 --bind 127.0.0.1 --duration 5s --json --csv "$OUT/p.csv" >"$OUT/p.json" &
pids+=($!)
sleep 0.3
/usr/bin/python3 - 18006 <<-'EOF'
	import socket, struct, sys, time
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	def probe(seq, flags=0, flow=b'T', late_ns=0):
	    return struct.pack('>IBBHQQI8s', 0x52545647, 1, flags, 0, seq, time.time_ns() - late_ns, 5000, flow) + bytes(100)
	to = ('127.0.0.1', int(sys.argv[1]))
	for q in (0, 1, 2, 5, 4, 4, 3, 7):
	    s.sendto(probe(q, late_ns=7000000 if q == 2 else 0), to)
	s.sendto(b'not a probe', to)
	s.sendto(probe(1, flow=b'OTHER'), to)
	s.sendto(probe(9, flags=1), to)
	EOF
wait_all
got=$(jv "$OUT/p.json" '[.received, .lost, .reordered, .duplicates, .misses, .foreign, .got_fin] | map(tostring) | join(" ")')
check "received 7, lost 2 (6, 8), reordered 2, duplicates 1, misses 1, foreign 2, FIN: got '$got'" \
	test "$got" = "7 2 2 1 1 2 true"
check "CSV: 7 rows in arrival order, the late one marked" \
	test "$(tail -n +2 "$OUT/p.csv" | awk -F, '{ printf "%s%s ", $1, $5 ? "!" : "" }')" = "0 1 2! 5 4 3 7 "

step "lab.sh up -n 2 -v 1: two hosts, one VM each"
t=$SECONDS
if "$LAB" up -n 2 -v 1 >"$OUT/up.log" 2>&1; then ok "up in $((SECONDS - t)) s"; else bad "up failed: $(tail -3 "$OUT/up.log")"; exit 1; fi
check "status: 2/2 hosts up" "$LAB" status >/dev/null
check "h1v1 (10.0.1.11) pings h2v1 (10.0.2.11) across the ToR" ping_ok h1v1 10.0.2.11
info "$("$LAB" exec h1v1 ping -c 3 -i 0.2 -q 10.0.2.11 | tail -1)"

step "up is idempotent, grows the rack, and repairs a crashed OVS"
snapshot 2 >"$OUT/snap1"
"$LAB" up -n 2 -v 1 >>"$OUT/up.log" 2>&1 || bad "second up failed"
snapshot 2 >"$OUT/snap2"
if cmp -s "$OUT/snap1" "$OUT/snap2"; then ok "second up: namespaces, OVS ports, HTB classes and ToR filters unchanged ($(wc -l <"$OUT/snap1") lines compared)"
else bad "second up changed the rack:"; diff "$OUT/snap1" "$OUT/snap2" | head -10 | sed 's/^/      /'; fi
t=$SECONDS
"$LAB" up -n 3 -v 2 >>"$OUT/up.log" 2>&1 || bad "up -n 3 -v 2 failed"
check "up -n 3 -v 2 grew it to 3 hosts x 2 VMs in $((SECONDS - t)) s" "$LAB" status >/dev/null
ports=$("$LAB" exec h1 ovs-vsctl --db=unix:"$RTV_LAB_DIR/h1/ovs/db.sock" list-ports br-rtv | tr '\n' ' ')
check "h1's bridge has up0 vm1 vm2 (got: $ports)" test "$ports" = "up0 vm1 vm2 "
kill -9 "$(cat "$RTV_LAB_DIR/h1/ovs/vsd.pid")" 2>/dev/null
sleep 0.2
if "$LAB" status >/dev/null; then bad "status did not notice h1's ovs-vswitchd is gone"
else ok "status notices h1's ovs-vswitchd is gone (exit non-zero)"; fi
"$LAB" up -n 3 -v 2 >>"$OUT/up.log" 2>&1 || bad "up after the crash failed"
check "up restarted it: status 3/3 hosts up" "$LAB" status >/dev/null
check "h1v1 pings h3v2 through the repaired h1" ping_ok h1v1 10.0.3.12
# every pair the traffic steps use has ARP resolved before any congestion
for p in "h1v1 10.0.2.11" "h1v2 10.0.2.12" "h1v1 10.0.3.11" "h2v1 10.0.3.11" "h1v2 10.0.3.12" "h2v2 10.0.3.12"; do
	ping_ok $p || bad "ping $p"
done

step "flow A, 2 Mbit/s of 1502 B frames, h1v1 -> h2v1, no congestion, 3 s"
rx h2v1 18000 a 10 --csv "$OUT/a.csv"
sleep 0.3
tx h1v1 a send --flow A --dst 10.0.2.11:18000 --rate 2M --size 1502 --deadline 5ms --duration 3s
wait_all
info "$(summary a); misses(>5 ms) $(jv "$OUT/a.json" .misses)"
sent=$(jv "$OUT/a.tx.json" .sent)
check "all $sent sent arrived once: received $(jv "$OUT/a.json" .received), lost $(jv "$OUT/a.json" .lost), duplicates $(jv "$OUT/a.json" .duplicates)" \
	test "$(jv "$OUT/a.json" '[.received, .lost, .duplicates] | join(" ")')" = "${sent:-x} 0 0"
p50=$(jv "$OUT/a.json" '(.delay_us.p50 | round) / 1000')
check "median one-way delay small: $p50 ms < 2 ms (two userspace OVS hops and the ToR)" fle "${p50:-99}" 1.999
check "per-packet CSV has one row per packet" test "$(($(wc -l <"$OUT/a.csv") - 1))" = "$(jv "$OUT/a.json" .received)"

step "uplink shaping: a 150 Mbit/s flood h1v2 -> h2v2 through 100 Mbit/s links, 3 s"
rx h2v2 18001 flood 6
sleep 0.3
tx h1v2 flood flood --dst 10.0.2.12:18001 --rate 150M --duration 3s
wait_all
offered=$(jv "$OUT/flood.tx.json" .mbps)
got=$(jv "$OUT/flood.json" .mbps)
info "offered $offered Mbit/s; $(summary flood)"
info "per second at the receiver (Mbit/s): $(jv "$OUT/flood.json" '[.series[] | select(.pps > 0) | .mbps] | join(" ")')"
check "the sender offered more than the link: $offered Mbit/s >= 105" fle 105 "${offered:-0}"
check "delivered $got Mbit/s <= 104 (100 Mbit/s HTB + slack)" fle "${got:-999}" 104
check "delivered $got Mbit/s >= 50 (the link is used)" fle 50 "${got:-0}"
info "h1 up0: $("$LAB" exec h1 tc -s class show dev up0 | grep -A1 'htb 1:1 root' | tail -1 | sed 's/^ *//')"

step "ToR strict priority: links at 20 Mbit/s; h1 and h2 flood h3's ToR port (10 + 18 Mbit/s), EF vs DSCP 0 flows, 2 s"
"$LAB" up -n 3 -v 2 -r 20mbit >>"$OUT/up.log" 2>&1 || bad "up -r 20mbit failed"
rates=$(for h in 1 2 3; do "$LAB" exec "h$h" tc class show dev up0; "$LAB" exec tor tc class show dev "h$h"; done |
	grep -c 'class htb 1:1 root rate 20Mbit ceil 20Mbit')
check "up -r 20mbit re-shaped all 6 link directions in place ($rates)" test "$rates" -eq 6
tor0=$("$LAB" exec tor tc -s class show dev h3)
rx h3v2 18002 f1 6
rx h3v2 18003 f2 6
rx h3v1 18004 ef 6
rx h3v1 18005 be 6
sleep 0.3
tx h1v2 f1 flood --dst 10.0.3.12:18002 --rate 10M --duration 3.5s
tx h2v2 f2 flood --dst 10.0.3.12:18003 --rate 18M --duration 3.5s
sleep 1
tx h1v1 ef send --flow EF --dst 10.0.3.11:18004 --rate 2M --dscp 46 --deadline 5ms --duration 2s
tx h2v1 be send --flow BE --dst 10.0.3.11:18005 --rate 2M --dscp 0 --deadline 5ms --duration 2s
wait_all
tor1=$("$LAB" exec tor tc -s class show dev h3)
for f in f1 f2 ef be; do info "$(summary $f)"; done
ef50=$(jv "$OUT/ef.json" '(.delay_us.p50 | round) / 1000')
be50=$(jv "$OUT/be.json" '(.delay_us.p50 | round) / 1000')
efloss=$(jv "$OUT/ef.json" '.lost')
check "DSCP 0 waits in the ToR queue: median $be50 ms >= 20 ms" fle 20 "${be50:-0}"
check "EF median $ef50 ms < 1/4 of DSCP 0's ($be50 ms)" awk -v a="${ef50:-99}" -v b="${be50:-0}" 'BEGIN { exit !(a * 4 < b) }'
check "EF lost $efloss of $(jv "$OUT/ef.tx.json" .sent) (DSCP 0 lost $(jv "$OUT/be.json" .lost))" \
	fle "${efloss:-999}" "$(jv "$OUT/ef.tx.json" '.sent / 100 | floor')"
drops() { echo "$1" | awk -v c="$2" '$1 == "class" && $3 == c { f = 1; next } f && /dropped/ { gsub(/,/, ""); print $7; exit }'; }
sent_pkts() { echo "$1" | awk -v c="$2" '$1 == "class" && $3 == c { f = 1; next } f && /Sent/ { print $4; exit }'; }
hi_d=$(($(drops "$tor1" 1:15) - $(drops "$tor0" 1:15)))
lo_d=$(($(drops "$tor1" 1:20) - $(drops "$tor0" 1:20)))
hi_p=$(($(sent_pkts "$tor1" 1:15) - $(sent_pkts "$tor0" 1:15)))
check "ToR port h3: middle class (EF) sent $hi_p packets and dropped $hi_d" test "$hi_d" -eq 0 -a "$hi_p" -ge "$(jv "$OUT/ef.json" .received)"
check "ToR port h3: low class dropped $lo_d (it was congested)" test "$lo_d" -gt 0

step "lab.sh down after a crash: OVS killed -9, a stray process in a VM"
"$LAB" exec h1v1 sleep "3$$" 2>/dev/null &
pids+=($!)
disown
sleep 0.3
stray=$(pgrep -xf "sleep 3$$")
info "stray process in h1v1: pid ${stray:-?}"
for f in "$RTV_LAB_DIR"/h1/ovs/*.pid "$RTV_LAB_DIR"/h2/ovs/vsd.pid; do kill -9 "$(cat "$f")" 2>/dev/null; done
t=$SECONDS
if "$LAB" down; then ok "down exits 0 ($((SECONDS - t)) s)"; else bad "down failed"; fi
left=$(leftovers "$stray")
check "nothing left (namespaces, processes, veths, $RTV_LAB_DIR)" test -z "$left"
[ -n "$left" ] && echo "$left" | sed 's/^/      /'
check "down again on nothing: exit 0" "$LAB" down

step "lab.sh down after an up killed half-way"
setsid "$LAB" up -n 3 -v 2 >>"$OUT/up.log" 2>&1 &
upid=$!
sleep 1.5
kill -9 -- -"$upid" 2>/dev/null
wait "$upid" 2>/dev/null
sleep 0.3
info "half-built: $(ip netns list | grep -c "^$RTV_LAB_PREFIX") namespaces, $(pgrep -fc -- "$RTV_LAB_DIR/") OVS processes"
check "down exits 0" "$LAB" down
left=$(leftovers)
check "nothing left" test -z "$left"
[ -n "$left" ] && echo "$left" | sed 's/^/      /'

finish
