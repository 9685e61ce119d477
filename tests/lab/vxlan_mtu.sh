#!/usr/bin/env bash
# vxlan_mtu.sh — seed 002's MTU effect on the lab: large UDP datagrams
# between two VMs over a VXLAN overlay, the guests' MTU managed (uplink MTU
# less VXLAN's 50 bytes) or not (the uplink's own 1500).
#
#   vxlan_mtu.sh [--size BYTES] [--secs S] [--load PCT] [--results DIR] [--keep]
#
# The overlay is Open vSwitch's own (userspace datapath): on h1 and h2 a
# bridge br-ovl holds the VM's port vm1 and a VXLAN tunnel port to the other
# host's address (key 100, one tenant), over br-rtv's underlay address
# 10.0.H.1. rtvd does not build this overlay yet (docs/mtu.md): run it on a
# lab without rtvd (lab.sh rtvd-down). The VMs' ports go back to br-rtv at
# exit.
#
# Each side: iperf3 offers UDP datagrams of --size bytes (32768, the paper's)
# at --load percent of the link rate (default 85: the fragments' IP headers
# and VXLAN's 50 bytes each add to the wire, and one fragment lost loses the
# whole datagram) for --secs; delivered = datagrams the receiving guest's
# kernel reassembled (IpReasmOKs), goodput = delivered x size x 8 / secs.
# Unmanaged: guest MTU 1500, so each 1500-byte IP fragment becomes a 1550-byte
# VXLAN packet on a 1500-byte uplink. Managed: guest MTU 1450.
# Writes $results/vxlan_mtu.json (both sides, one object).
set -u
NAME=vxlan_mtu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

size=32768 secs=5 load=85
lab_args "--size=size --secs=secs --load=load" "$@"
[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge 1473 ] && [ "$size" -le 65507 ] ||
	die "--size: 1473..65507 bytes (a datagram that fragments), got '$size'"
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] || die "--secs: whole seconds, got '$secs'"
[[ $load =~ ^[0-9]+$ ]] && [ "$load" -ge 1 ] && [ "$load" -le 100 ] || die "--load: 1..100 (%), got '$load'"
lab_start
need_cmd iperf3
lab_need 2 -n 2 -v 2 -r 100mbit
rtvd_running && die "rtvd runs on this lab: its flows do not know the overlay (lab.sh rtvd-down)"

vs() { local h=$1; shift; "$LAB" exec "h$h" ovs-vsctl --db=unix:"$LAB_DIR/h$h/ovs/db.sock" "$@"; }
overlay_down() {
	local h
	for h in 1 2; do
		vs $h -- --if-exists del-br br-ovl -- --may-exist add-port br-rtv vm1 \
			-- set interface vm1 external_ids:vm-id="${RTV_LAB_PREFIX:-rtv}h${h}v1" \
			external_ids:attached-mac=02:00:00:00:0$h:01 external_ids:ip-address=10.0.$h.11 \
			>/dev/null 2>&1
		"$LAB" exec "h${h}v1" ip link set eth0 mtu 1500 2>/dev/null
	done
}
trap 'overlay_down; lab_cleanup' EXIT

for h in 1 2; do
	o=$((3 - h))
	vs $h -- --if-exists del-port br-rtv vm1 -- --may-exist add-br br-ovl \
		-- set bridge br-ovl datapath_type=netdev -- --may-exist add-port br-ovl vm1 \
		-- --may-exist add-port br-ovl vx$o -- set interface vx$o type=vxlan \
		options:remote_ip=10.0.$o.1 options:key=100 || die "h$h: building the overlay failed"
	"$LAB" exec "h$h" ip link set br-ovl up
	# OVS resolves the tunnel's next hop from ARP it sees on br-rtv
	"$LAB" exec "h$h" ping -c 2 -i 0.2 -W 1 -q 10.0.$o.1 >/dev/null || die "h$h cannot reach 10.0.$o.1"
done
"$LAB" exec h1v1 ping -c 3 -i 0.2 -W 1 -q 10.0.2.11 >/dev/null || die "h1v1 cannot reach h2v1 over the overlay"

reasm() { "$LAB" exec h2v1 nstat -az IpReasmOKs | awk '$1 == "IpReasmOKs" { print $2 }'; }
uplink_pkts() { "$LAB" exec h1 ip -s -j link show up0 | jq '.[0].stats64.tx.packets'; }

side() {	# side NAME GUEST_MTU: sets delivered, goodput, offered, up_pkts
	local name=$1 mtu=$2 r0 r1 u0 u1
	"$LAB" exec h1v1 ip link set eth0 mtu "$mtu" && "$LAB" exec h2v1 ip link set eth0 mtu "$mtu" ||
		die "setting the guests' MTU to $mtu"
	"$LAB" exec h1v1 ip route flush cache
	"$LAB" exec h2v1 iperf3 -s -1 -D -p 5201 || die "iperf3 server"
	sleep 0.5
	r0=$(reasm) u0=$(uplink_pkts)
	"$LAB" exec h1v1 iperf3 -c 10.0.2.11 -u -b $((link_bps / 100 * load)) -l "$size" -t "$secs" -J \
		2>/dev/null | sed -n '/^{/,$p' >"$results/$name.iperf3.json"
	sleep 1
	r1=$(reasm) u1=$(uplink_pkts)
	offered=$(jq '.end.sum.packets' "$results/$name.iperf3.json")
	delivered=$((r1 - r0)) up_pkts=$((u1 - u0))
	goodput=$(awk -v d=$delivered -v s=$size -v t=$secs 'BEGIN { printf "%.1f", d * s * 8 / t / 1e6 }')
	say "$name (guest MTU $mtu): $delivered of $offered datagrams of $size B delivered," \
		"$goodput Mbit/s; $up_pkts packets left h1's uplink"
	printf '"%s":{"guest_mtu":%s,"offered":%s,"delivered":%s,"goodput_mbps":%s,"uplink_pkts":%s}' \
		"$name" "$mtu" "$offered" "$delivered" "$goodput" "$up_pkts" >>"$results/vxlan_mtu.parts"
}

rm -f "$results/vxlan_mtu.parts"
side unmanaged 1500
echo , >>"$results/vxlan_mtu.parts"
side managed 1450
{ echo "{\"size\":$size,\"secs\":$secs,\"link_bps\":$link_bps,\"load_pct\":$load,"; cat "$results/vxlan_mtu.parts"; echo "}"; } |
	tr -d '\n' | jq . >"$results/vxlan_mtu.json" && rm -f "$results/vxlan_mtu.parts"
say "results: $results/vxlan_mtu.json (paper, 1 GbE, 32768 B: 924 Mbit/s managed vs 200 not)"
