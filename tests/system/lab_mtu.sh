#!/usr/bin/env bash
# lab_mtu.sh — the MTU below the guest on the lab rack (docs/mtu.md):
#   1. rtvd sets the VM ports' MTU up front: [ovs] guest_mtu auto on a
#      1500-byte uplink with the dataplane on gives 1496 (4 bytes of MPLS
#      label); OVS's mtu_request and the device's MTU say so on every host,
#      and `rtvctl vms` shows 1496 for every VM (from the replicated record);
#   2. a guest that ignores it (eth0 still 1500) sends 1500-byte datagrams of
#      an rtpath with DF clear: the dataplane fragments each into two
#      labelled fragments (captured on the sending host's uplink; counted in
#      /metrics) and every datagram arrives whole, byte for byte — before,
#      each was refused;
#   3. the same guest with DF set: the first datagram is answered with ICMP
#      frag-needed (next-hop MTU 1496), the guest's kernel learns the path
#      MTU (ip route get shows it) and refuses the rest itself; none of the
#      1500-byte ones arrives (the same run's step 2 shows it is the DF bit);
#   4. a guest that follows the managed MTU (eth0 1496, as virtio's host_mtu
#      tells a libvirt guest) sends 1496-byte datagrams with DF: all arrive,
#      and the uplink carries no fragment at all.
# Own namespace prefix and directory: a lab you have up is untouched.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
lab_test gxm
export RTV_LAB_GUEST_MTU=auto	# the lab leaves VM ports alone otherwise (lab.sh)
need_cmd tcpdump python3
P=$RTV_LAB_PREFIX
H1=${P}h1 H2=${P}h2 V1=${P}h1v1 V2=${P}h2v1
PORT=18040 N=100

on_fail() {
	for h in 1 2; do tail -n 8 "$RUN/lab/h$h/rtvd.log" 2>/dev/null | sed "s/^/      h$h: /"; done
}

ctl() { local h=$1; shift; "$LAB" rtvctl "$h" --timeout 2s "$@"; }
leader() { ctl 1 -o json status 2>/dev/null | jq -e '.leader | select(. > 0)'; }
vsctl() { local h=$1; shift; ns "${P}h$h" ovs-vsctl --db=unix:"$RUN/lab/h$h/ovs/db.sock" "$@"; }
dev_mtu() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
vms_mtu() {	# every VM on every host's view has MTU $1
	local h
	for h in 1 2; do
		ctl $h -o json vms | jq -e --argjson m "$1" '[.vms[] | .mtu == $m] | length == 2 and all' || return 1
	done
}
# h1's count of fragmented datagrams in /metrics (rtvdp -> rtvd -> /metrics)
frag_metric() {
	ns "$H1" curl -sf --max-time 2 http://10.1.0.1:9464/metrics |
		awk '/^rtvnet_dp_exceptions_total\{.*kind="fragmented"/ { print $NF }'
}
frag_metric_is() { [ "$(frag_metric)" = "$1" ]; }
ports_mtu() {
	local h
	for h in 1 2; do
		[ "$(vsctl $h get interface vm1 mtu_request)" = "$1" ] &&
			[ "$(vsctl $h get interface vm1 mtu)" = "$1" ] &&
			[ "$(dev_mtu "${P}h$h" vm1)" = "$1" ] || return 1
	done
}

# capture START|STOP NAME: labelled IPv4 fragments leaving h1 on up0
cap_start() {
	ns "$H1" tcpdump -i up0 -nn -U -w "$RUN/$1.pcap" 'mpls' >/dev/null 2>&1 &
	cap_pid=$!
	pids+=($cap_pid)
	sleep 1
}
cap_stop() { sleep 0.5; kill "$cap_pid" 2>/dev/null; wait "$cap_pid" 2>/dev/null; }
# fragments (MF set or offset != 0) inside MPLS frames of the capture
cap_frags() {
	tcpdump -nn -r "$RUN/$1.pcap" 'mpls and (ip[6:2] & 0x3fff != 0)' 2>/dev/null | wc -l
}
# run NAME SIZE DF_OPT: N datagrams h1v1 -> h2v1; sets rx_n, rx_bad
run() {
	local name=$1 size=$2 df=$3 out=$RUN/$1.json
	rm -f "$out" "$out.ready"
	ns "$V2" $UDP recv "$out" 20 2 $PORT &
	local rpid=$!
	wait_for 60 test -e "$out.ready" || die "$name: the receiver did not start"
	cap_start "$name"
	ns "$V1" $UDP send 10.0.2.11 $PORT $N "$size" 0.01 "$df" 2>"$RUN/$name.tx.err" ||
		bad "$name: sender failed: $(cat "$RUN/$name.tx.err")"
	wait "$rpid"
	cap_stop
	rx_n=$(jq ".\"$PORT\".n" "$out") rx_bad=$(jq ".\"$PORT\".bad" "$out")
	frags=$(cap_frags "$name")
}

step "1. a 2x1 rack at 20 Mbit/s with rtvd: the VM ports get MTU 1496 (prefix $P)"
"$LAB" up -n 2 -v 1 -r 20mbit >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "lab.sh rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
wait_for 20 leader || die "no Raft leader within 20 s"
wait_for 20 ports_mtu 1496 && ok "mtu_request, mtu and the device: 1496 on vm1 of both hosts" ||
	bad "VM port MTUs: h1 $(vsctl 1 get interface vm1 mtu_request)/$(dev_mtu "$H1" vm1)," \
		"h2 $(vsctl 2 get interface vm1 mtu_request)/$(dev_mtu "$H2" vm1)"
wait_for 20 vms_mtu 1496 && ok "rtvctl vms shows MTU 1496 for both VMs on both hosts" ||
	bad "rtvctl vms: $(ctl 1 vms | tr '\n' '|')"
grep -q "mtu_request 1496" "$RUN/lab/h1/rtvd.log" && ok "rtvd logged the change" || bad "no log line"
rtpath=$(ctl 1 --timeout 5s reserve --src 10.0.1.11 --dst 10.0.2.11 --proto udp --dport $PORT \
	--type deadline --rate 2M --burst 12000 --deadline 20ms --owner lab_mtu 2>&1) ||
	die "reserving the rtpath was refused: $rtpath"
ok "rtpath $rtpath: 10.0.1.11 -> 10.0.2.11 UDP $PORT, 2 Mbit/s, 20 ms"

step "2. guest MTU 1500, DF clear: the dataplane fragments, every datagram arrives whole"
[ "$(dev_mtu "$V1" eth0)" = 1500 ] || die "the guest's eth0 is not at 1500"
run nodf 1472 --no-df
[ "$rx_n" = $N ] && [ "$rx_bad" = 0 ] && ok "$rx_n of $N 1500-byte datagrams arrived, 0 corrupted" ||
	bad "$rx_n of $N arrived, $rx_bad corrupted"
[ "$frags" -ge $((2 * N)) ] && ok "$frags labelled IPv4 fragments left h1 (2 per datagram)" ||
	bad "$frags labelled fragments on h1's uplink, want >= $((2 * N))"
wait_for 10 frag_metric_is $N && ok "h1's /metrics: rtvnet_dp_exceptions_total{kind=\"fragmented\"} $N" ||
	bad "h1's /metrics counts $(frag_metric) fragmented datagrams, want $N"

step "3. guest MTU 1500, DF set: frag-needed, the guest learns 1496 and none of them arrives"
run df 1472 --df
[ "$rx_n" = 0 ] && ok "0 of $N arrived" || bad "$rx_n of $N DF datagrams over the MTU arrived"
grep -q "refused" "$RUN/df.tx.err" && ok "the guest's kernel refused the rest: $(cat "$RUN/df.tx.err")" ||
	bad "the sender was never refused (no frag-needed learnt)"
ns "$V1" ip route get 10.0.2.11 | grep -q "mtu 1496" &&
	ok "the guest learnt path MTU 1496 from the ICMP ($(ns "$V1" ip route get 10.0.2.11 | grep -o 'mtu [0-9]*'))" ||
	bad "no path MTU learnt: $(ns "$V1" ip route get 10.0.2.11 | tr '\n' ' ')"
ns "$V1" ip route flush cache

step "4. the guest follows the managed MTU (eth0 1496): nothing fragments"
ip -n "$V1" link set eth0 mtu "$(dev_mtu "$H1" vm1)" || die "setting the guest's MTU"
run managed 1468 --df
[ "$rx_n" = $N ] && [ "$rx_bad" = 0 ] && ok "$rx_n of $N 1496-byte DF datagrams arrived" ||
	bad "$rx_n of $N arrived, $rx_bad corrupted"
[ "$frags" = 0 ] && ok "no fragment on h1's uplink" || bad "$frags fragments on h1's uplink"
sleep 2
[ "$(frag_metric)" = $N ] && ok "the fragmented count stayed at $N" || bad "fragmented is now $(frag_metric)"
ctl 1 --timeout 5s release "$rtpath" >/dev/null 2>&1

finish
