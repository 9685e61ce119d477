#!/usr/bin/env bash
# mig_guest.sh — a guest running a real Linux userland live-migrates while it
# sends (issue 15): three lab hosts, a libvirtd on h1 and h2
# (tests/lab/libvirt.sh), a guest (tests/lab/guest.sh: Debian's cloud
# kernel, busybox, rtvgen) on h1 sending 1 Mbit/s of 250-byte UDP frames to
# the lab VM h3v1, whose rtvgen receiver keeps every packet's arrival time.
# The guest migrates h1 -> h2 and back through migrate/'s driver
# (build/bin/migprobe); then a migration capped at 1 MiB/s with a 5 s
# timeout, which the driver aborts. Checks: both migrations succeed with
# QEMU's downtime in the job statistics, the traffic continues from the new
# host each time (packets arrive after each migration); the slow one ends
# with -ETIMEDOUT, the guest still defined and running on h1 only, and
# sending through and after the abort. Printed for each migration:
# the receiver's largest gap between two packets during it (the network
# downtime as the receiver sees it) beside QEMU's downtime, and the largest
# gap of a quiet window of the same run before it (what this machine's
# scheduling alone does to a TCG guest's sender).
# rtvd is not running here: the bridges are plain learning switches, so
# this is the network downtime a migration costs on its own.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
PROBE=${MIGPROBE:-$ROOT/build/bin/migprobe}
GEN=$ROOT/build/bin/rtvgen
. "$ROOT/tests/lib/common.sh"
pids=()
T_NAME=mig_guest

# a lab of its own (lab_test): lab.sh down also stops libvirtd and QEMU,
# which run in the lab's namespaces
lab_test mgg
need_cmd virsh qemu-system-x86_64 apt-get /usr/sbin/libvirtd
need_exec "$PROBE" "$GEN"
LOGDIR=$(cd "$ROOT" && mkdir -p "${RTV_TEST_LOGDIR:-build/test-logs}" && cd "${RTV_TEST_LOGDIR:-build/test-logs}" && pwd)

LAB_DIR=$RTV_LAB_DIR P=$RTV_LAB_PREFIX
. "$ROOT/tests/lab/libvirt.sh"
. "$ROOT/tests/lab/guest.sh"
now_ns() { date +%s%N; }

step "the guest: kernel and initramfs, a rack of three hosts, libvirtd on h1 and h2"
lg_build >"$RUN/build.log" 2>&1 || { bad "guest build: $(tail -n 3 "$RUN/build.log")"; exit 1; }
"$LAB" up -n 3 -v 1 >"$RUN/up.log" 2>&1 || { bad "lab.sh up: $(tail -n 3 "$RUN/up.log")"; exit 1; }
lv_up 1 && lv_up 2 && lv_virsh 1 version >/dev/null && lv_virsh 2 version >/dev/null ||
	{ bad "libvirtd did not start"; exit 1; }
ok "built; rack and libvirtd up"

step "the guest boots on h1 and sends to h3v1"
ip netns exec "${P}h3v1" "$GEN" recv --port 18100 --duration 600s --csv "$RUN/rx.csv" --json \
	>"$RUN/rx.json" 2>"$RUN/rx.err" &
rx=$!
pids+=($rx)
lg_xml lg1 52:54:00:16:00:01 'rtv.ip=10.0.1.50/16 rtv.send="--dst 10.0.3.11:18100 --rate 1M --size 250 --duration 600s"' \
	>"$RUN/lg1.xml"
lv_virsh 1 define "$RUN/lg1.xml" >/dev/null && lv_virsh 1 start lg1 >/dev/null || { bad "the guest did not start"; exit 1; }
console=$(lv_dir 1)/log/qemu/lg1.console
for _ in $(seq 1 120); do grep -q "guest: eth0" "$console" 2>/dev/null && break; sleep 0.5; done
grep -q "guest: eth0 10.0.1.50/16 up" "$console" && ok "booted: $(grep -c . "$console") console lines" ||
	{ bad "the guest did not come up: $(tail -n 5 "$console" 2>/dev/null)"; exit 1; }
sleep 3

quiet_from=$(now_ns)
sleep 8
quiet_to=$(now_ns)

migrate() {	# migrate FROM TO: through the driver; sets m_from m_to m_json
	m_from=$(now_ns)
	ip netns exec "${P}h$1" "$PROBE" migrate --uri "$(lv_uri "$1")" --vm lg1 --to "$(lv_peer_uri "$2")" \
		--max-downtime 50ms --timeout 180s >"$RUN/mig$1$2.log" 2>&1
	m_rc=$?
	m_to=$(now_ns)
	m_json=$(jq -c 'select(.ev == "done")' "$RUN/mig$1$2.log" 2>/dev/null | tail -n 1)
}
for pair in "1 2" "2 1"; do
	read -r a b <<<"$pair"
	step "live migration h$a -> h$b under traffic"
	migrate "$a" "$b"
	if [ $m_rc -eq 0 ] && echo "$m_json" | jq -e '.rc == 0 and .stats_ok' >/dev/null; then
		ok "migrated: $(echo "$m_json" | jq -r '"libvirt elapsed \(.elapsed_ms) ms, QEMU downtime \(.downtime_ms) ms, \(.data_bytes / 1048576 | floor) MiB"')"
	else
		bad "migration h$a -> h$b failed: $m_json $(tail -n 2 "$RUN/mig$a$b.log")"
		exit 1
	fi
	eval "w${a}${b}=\"$m_from $m_to $(echo "$m_json" | jq -r .downtime_ms)\""
	sleep 5
done
step "a migration slower than the policy's timeout is aborted; the guest stays on h1"
# 8 Mbit/s (1 MiB/s, libvirt's smallest cap) for ~90 MiB: far beyond 5 s
abort_from=$(now_ns)
ip netns exec "${P}h1" "$PROBE" migrate --uri "$(lv_uri 1)" --vm lg1 --to "$(lv_peer_uri 2)" \
	--bandwidth 8M --timeout 5s >"$RUN/mig-slow.log" 2>&1
rc=$?
slow=$(jq -c 'select(.ev == "done")' "$RUN/mig-slow.log" 2>/dev/null | tail -n 1)
if [ $rc -ne 0 ] && echo "$slow" | jq -e '.rc == -110' >/dev/null; then
	ok "aborted: $(echo "$slow" | jq -r '"\(.err) (wall \(.wall_ms) ms)"'); progress reports: $(jq -r -s 'map(select(.ev == "progress") | "\(.elapsed_ms)ms:\(.data_processed / 1048576 | floor)MiB") | join(" ")' "$RUN/mig-slow.log")"
else
	bad "the slow migration was not aborted by the timeout (rc $rc): $slow"
fi
lv_virsh 1 domstate lg1 | grep -q running && ok "lg1 still runs on h1" || bad "lg1 no longer runs on h1"
lv_virsh 2 dominfo lg1 >/dev/null 2>&1 && bad "lg1 is defined on h2 after the abort" || ok "nothing left on h2"
abort_to=$(now_ns)
sleep 5

kill -INT $rx
wait $rx
pids=()

step "what the receiver saw"
# gap FROM_NS TO_NS: the largest gap between two arrivals in the window
# (and the first arrival after it), in ms; "none" without arrivals
gap() {
	awk -F, -v a="$1" -v b="$2" 'NR > 1 { t = $3 + 0
		if (t >= a && prev && prev <= b) { g = t - prev; if (g > max) max = g; n++ }
		prev = t } END { if (n) printf "%.1f", max / 1e6; else print "none" }' "$RUN/rx.csv"
}
# after TO_NS: arrivals in the 4 s after TO_NS
after() { awk -F, -v b="$1" 'NR > 1 && $3 + 0 > b && $3 + 0 <= b + 4e9 { n++ } END { print n + 0 }' "$RUN/rx.csv"; }
q=$(gap "$quiet_from" "$quiet_to")
echo "   quiet window (8 s, no migration): largest gap $q ms"
n=$(after "$abort_to")
m=$(awk -F, -v a="$abort_from" -v b="$abort_to" 'NR > 1 && $3 + 0 >= a && $3 + 0 <= b { n++ } END { print n + 0 }' "$RUN/rx.csv")
[ "$m" -gt 100 ] && [ "$n" -gt 100 ] &&
	ok "aborted migration: $m packets during it (largest gap $(gap "$abort_from" "$abort_to") ms), $n after" ||
	bad "aborted migration: $m packets during it, $n after (the guest stopped sending)"
[ "$n" -gt 100 ] || tail -n 4 "$(lv_dir 1)/log/qemu/lg1.console" 2>/dev/null | sed "s/^/      h1 console: /"
for w in 12 21; do
	eval "set -- \$w$w"
	g=$(gap "$1" "$2")
	n=$(after "$2")
	if [ "$n" -gt 100 ]; then
		ok "h${w:0:1} -> h${w:1:1}: receiver's largest gap $g ms during the migration, QEMU's downtime $3 ms; $n packets after it"
	else
		bad "h${w:0:1} -> h${w:1:1}: only $n packets arrived after the migration (traffic did not follow)"
		for h in 1 2; do tail -n 3 "$(lv_dir $h)/log/qemu/lg1.console" 2>/dev/null | sed "s/^/      h$h console: /"; done
	fi
done
jq -r '"   receiver: \(.received) received, \(.lost) lost of \(.sent)"' "$RUN/rx.json" 2>/dev/null

# the guest's own troubles, named: a kernel panic in the TCG guest
for h in 1 2; do
	c=$(lv_dir $h)/log/qemu/lg1.console
	grep -q "Kernel panic" "$c" 2>/dev/null || continue
	echo "   the guest's kernel panicked on h$h (console kept in $LOGDIR/mig_guest.h$h.console):"
	grep -B 12 -m 1 "Kernel panic" "$c" | sed 's/^/      | /'
done
if [ $failures -ne 0 ]; then
	mkdir -p "$LOGDIR"
	for h in 1 2; do cp "$(lv_dir $h)/log/qemu/lg1.console" "$LOGDIR/mig_guest.h$h.console" 2>/dev/null; done
fi

finish
