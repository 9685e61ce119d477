#!/usr/bin/env bash
# rtvd_ovs.sh — rtvd as the OpenFlow controller of its own Open vSwitch, on the
# lab (issue 5, "Against a real OVS"): two hosts in network namespaces, each
# with its own ovsdb-server + ovs-vswitchd (userspace netdev bridge br-rtv)
# and one VM; each host's rtvd runs in the host namespace with [ovs] enabled,
# Raft and RPC on the host's 10.0.H.1 (so rtvd's own traffic crosses the
# bridges it programs). Checks, each printed as it runs:
#   1. rtvd sets br-rtv up (datapath, fail_mode secure, OpenFlow13, controller
#      = rtvd) and OVS connects; every flow carries one of rtvd's cookies;
#   2. the VMs appear in `rtvctl vms` on both hosts, learnt from OVSDB
#      (external_ids vm-id, attached-mac, ip-address set by lab.sh);
#   3. a reservation committed through one host reaches the other host's
#      bridge (the sender's marking flow with the rtpath's cookie), unasked;
#   4. kill -9 rtvd and restart it while a VM pings across hosts every 10 ms:
#      the reconciliation sends 0 flow-mods and no ping is lost;
#   5. restart ovs-vswitchd: all flows are back within 1 s of its reconnection;
#   6. a new veth "VM port" with external_ids shows up in `rtvctl vms` and is
#      reachable; once unplugged, its record goes (no rtpath uses it).
# OVS 3.1 redials a lost controller after 1, 2, 4, then 8 s: the test sets
# the Controller's max_backoff=1000 (rtvd keeps that setting), as an operator
# would. Everything started here is removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RTVD=${RTVD:-$ROOT/build/bin/rtvd}
RTVCTL=${RTVCTL:-$ROOT/build/bin/rtvctl}
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lib/pki.sh"
need_root
need_cmd ovs-vswitchd
need_exec "$RTVD" "$RTVCTL"
WAIT_POLL=0.05	# the reconnection checks time to within a second
RAFT_PORT=18101
RPC_PORT=18151
OF_PORT=18190
RUN=$(mktemp -d /tmp/rtv-rtvdovs.XXXXXX)
export RTV_LAB_PREFIX=rto$$ RTV_LAB_DIR=$RUN/lab LAB_QUIET=1
P=$RTV_LAB_PREFIX
declare -a PID=()
ping_pid=

on_fail() {
	for h in 1 2; do tail -n 15 "$RUN/n$h/rtvd.log" 2>/dev/null | sed "s/^/      h$h: /"; done
}

cleanup() {
	local h
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null
	for h in "${!PID[@]}"; do [ -n "${PID[$h]}" ] && kill -9 "${PID[$h]}" 2>/dev/null; done
	for h in "${!PID[@]}"; do [ -n "${PID[$h]}" ] && wait "${PID[$h]}" 2>/dev/null; done
	"$LAB" down >/dev/null 2>&1
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hns() { local h=$1; shift; ip netns exec "${P}h$h" "$@"; }
ovsrun() { echo "$RUN/lab/h$1/ovs"; }
vsctl() { local h=$1; shift; hns "$h" ovs-vsctl --db=unix:"$(ovsrun "$h")"/db.sock --timeout=10 "$@"; }
ofctl() { local h=$1; shift; hns "$h" env OVS_RUNDIR="$(ovsrun "$h")" ovs-ofctl -O OpenFlow13 "$@"; }
ctl() { local h=$1; shift; "$RTVCTL" -s "$RUN/n$h/rtvd.sock" "$@"; }
log() { echo "$RUN/n$1/rtvd.log"; }
# the n-th full reconciliation logged by host h's rtvd
reconciled() { grep 'OpenFlow: reconciled' "$(log "$1")" | sed -n "${2}p"; }
n_reconciled() { grep -c 'OpenFlow: reconciled' "$(log "$1")"; }
more_reconciled() { [ "$(n_reconciled "$1")" -gt "$2" ]; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
# rtpath id → the cookie as ovs-ofctl prints it (kind 3 in the top byte)
cookie() { printf 'cookie=0x3%014x,' "$1"; }

write_conf() {
	local h=$1
	mkdir -p "$RUN/n$h"
	cat >"$RUN/n$h/rtvd.conf" <<-EOF
	[node]
	id = $h
	name = h$h
	data_dir = $RUN/n$h/data
	raft_addr = 10.0.$h.1:$RAFT_PORT
	rpc_addr = tls+tcp://10.0.$h.1:$RPC_PORT
	cli_socket = $RUN/n$h/rtvd.sock
	[cluster]
	peer = 1@10.0.1.1:$RAFT_PORT@tls+tcp://10.0.1.1:$RPC_PORT
	peer = 2@10.0.2.1:$RAFT_PORT@tls+tcp://10.0.2.1:$RPC_PORT
	[uplink]
	capacity = 100M
	[ovs]
	enabled = true
	db = unix:$(ovsrun "$h")/db.sock
	bridge = br-rtv
	datapath_type = netdev
	of_listen = 127.0.0.1:$OF_PORT
	uplink_port = up0
	EOF
	[ -f "$RUN/pki/ca.crt" ] || pki_rack "$RUN/pki" || die "cannot make the rack CA"
	pki_tls_section "$RUN/pki" "$h" >>"$RUN/n$h/rtvd.conf"
}

start_rtvd() {
	local h=$1
	# not through hns: $! must be rtvd itself (ip netns exec execs it)
	ip netns exec "${P}h$h" "$RTVD" -c "$RUN/n$h/rtvd.conf" >>"$(log "$h")" 2>&1 &
	PID[$h]=$!
}

has_leader() { ctl 1 --timeout 1s status -o json | grep -q '"leader": [12]'; }
vm_listed() {	# vm_listed HOST UUID HOST_ID IP
	ctl "$1" --timeout 1s -o json vms |
		jq -e --arg u "$2" --argjson h "$3" --arg ip "$4" \
			'any(.vms[]; .uuid == $u and .host_id == $h and ((.ips // []) | any(. == $ip)))' >/dev/null
}
vm_gone() { ! ctl "$1" --timeout 1s vms | awk '{ print $1 }' | grep -qx "$2"; }
of_connected() { [ "$(vsctl "$1" get controller br-rtv is_connected)" = true ]; }
flow_there() { ofctl "$1" dump-flows br-rtv | grep -q "$(cookie "$2")"; }
nflows() { ofctl "$1" dump-flows br-rtv | grep -c 'cookie='; }

start_vswitchd() {
	local r
	r=$(ovsrun "$1")
	hns "$1" env OVS_RUNDIR="$r" ovs-vswitchd unix:"$r"/db.sock --pidfile="$r"/vsd.pid \
		--unixctl="$r"/vsd.ctl --log-file="$r"/vsd.log -vconsole:off --detach 2>>"$r"/start.log
}

# ---------------------------------------------------------------------------
step "the lab: 2 hosts (own OVS each), 1 VM per host (prefix $P)"
"$LAB" up -n 2 -v 1 -r 100mbit || die "lab.sh up failed"
ok "h1: ${P}h1v1 10.0.1.11, h2: ${P}h2v1 10.0.2.11 (ports plugged before rtvd starts)"

step "1. rtvd sets br-rtv up and becomes its controller"
for h in 1 2; do write_conf $h; start_rtvd $h; done
for h in 1 2; do
	wait_for 15 grep -q 'OpenFlow: reconciled' "$(log $h)" || die "h$h: no reconciliation within 15 s"
done
wait_for 10 has_leader || die "no Raft leader within 10 s"
for h in 1 2; do
	fm=$(vsctl $h get bridge br-rtv fail_mode) dp=$(vsctl $h get bridge br-rtv datapath_type)
	pr=$(vsctl $h get bridge br-rtv protocols) tg=$(vsctl $h get controller br-rtv target)
	# vswitchd updates is_connected in OVSDB a little after the connection
	wait_for 5 of_connected $h
	con=$(vsctl $h get controller br-rtv is_connected)
	if [ "$fm" = secure ] && [ "$dp" = netdev ] && [ "$pr" = '[OpenFlow13]' ] &&
		[ "$tg" = "\"tcp:127.0.0.1:$OF_PORT\"" ] && [ "$con" = true ]; then
		ok "h$h: fail_mode=$fm datapath=$dp protocols=$pr controller=$tg connected"
	else
		bad "h$h: fail_mode=$fm datapath=$dp protocols=$pr controller=$tg connected=$con"
	fi
	vsctl $h set controller br-rtv max_backoff=1000
	line=$(reconciled $h 1)
	n=$(nflows $h)
	foreign=$(ofctl $h dump-flows br-rtv | grep 'cookie=' | grep -vc 'cookie=0x[1-4][0-9a-f]\{14\},')
	if [ "$n" = "$(field flows "$line")" ] && [ "$n" -gt 0 ] && [ "$foreign" = 0 ]; then
		ok "h$h: $n flows, every cookie rtvd's (kinds 1-4); first contact: ${line#*reconciled }"
	else
		bad "h$h: $n flows, $foreign with foreign cookies; rtvd said: $line"
	fi
done

step "2. the VMs are learnt from OVSDB, on every host"
for h in 1 2; do
	for v in 1 2; do
		if wait_for 10 vm_listed $h "${P}h${v}v1" $v "10.0.$v.11"; then
			ok "h$h's rtvctl vms: ${P}h${v}v1 on host $v, 10.0.$v.11"
		else
			bad "h$h's rtvctl vms lacks ${P}h${v}v1 on host $v: $(ctl $h vms | tr '\n' '|')"
		fi
	done
done

step "3. a reservation committed through one host reaches the other host's bridge"
reserve() {	# reserve VIA SRC DST DPORT → prints the id
	ctl "$1" reserve --src "$2" --dst "$3" --proto udp --dport "$4" --type deadline \
		--rate 1M --deadline 10ms
}
id1=$(reserve 2 10.0.1.11 10.0.2.11 5000) || die "reserve through h2 failed: $id1"
t0=$(date +%s%N)
wait_for 2 flow_there 1 "$id1" && ok "rtpath $id1 (h1v1 -> h2v1, committed via h2): marking flow on h1 after $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(cookie "$id1"))" ||
	bad "rtpath $id1: no flow with $(cookie "$id1") on h1 within 2 s"
id2=$(reserve 1 10.0.2.11 10.0.1.11 5001) || die "reserve through h1 failed: $id2"
t0=$(date +%s%N)
wait_for 2 flow_there 2 "$id2" && ok "rtpath $id2 (h2v1 -> h1v1, committed via h1): marking flow on h2 after $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(cookie "$id2"))" ||
	bad "rtpath $id2: no flow with $(cookie "$id2") on h2 within 2 s"
ofctl 1 dump-flows br-rtv | grep "$(cookie "$id1")" | grep -q 'set_field:46->ip_dscp' &&
	ok "h1's flow for rtpath $id1 marks DSCP 46 (EF)" || bad "h1's flow for rtpath $id1 does not mark EF"

step "4. kill -9 rtvd on h1 and restart it while h1v1 pings h2v1 every 10 ms"
flows_before=$(nflows 1)
ip netns exec "${P}h1v1" ping -i 0.01 -c 500 -W 1 10.0.2.11 >"$RUN/ping.out" 2>&1 &
ping_pid=$!
sleep 1
before=$(n_reconciled 1)
kill -9 "${PID[1]}"
{ wait "${PID[1]}"; } 2>/dev/null
sleep 0.3
start_rtvd 1
wait_for 15 more_reconciled 1 "$before" || die "h1: no reconciliation within 15 s of the restart"
line=$(reconciled 1 $((before + 1)))
if [ "$(field added "$line")" = 0 ] && [ "$(field modified "$line")" = 0 ] &&
	[ "$(field deleted "$line")" = 0 ] && [ "$(field unchanged "$line")" = "$flows_before" ]; then
	ok "restart reconciled with 0 flow-mods: ${line#*reconciled }"
else
	bad "restart changed flows: $line (had $flows_before)"
fi
grep 'OpenFlow: listening' "$(log 1)" | tail -n 1 | sed 's/.*OpenFlow: /   (rtvd: /; s/$/)/'
wait "$ping_pid"
ping_pid=
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$RUN/ping.out")
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$RUN/ping.out")
if [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ]; then
	ok "pings: $sent sent, $recv received, 0 lost across the rtvd restart"
else
	bad "pings: $sent sent, $recv received: $(tail -n 2 "$RUN/ping.out" | tr '\n' ' ')"
fi

step "5. restart ovs-vswitchd on h1 (its flow table starts empty)"
want=$(nflows 1)
before=$(n_reconciled 1)
r=$(ovsrun 1)
kill "$(cat "$r"/vsd.pid)"
for _ in $(seq 50); do kill -0 "$(cat "$r"/vsd.pid 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
t0=$(date +%s%N)
start_vswitchd 1 || die "ovs-vswitchd did not start again"
# the netdev bridge's local port is a new tap: give it the host address again (as lab.sh does)
hns 1 ip link set br-rtv up
hns 1 ip addr replace 10.0.1.1/16 dev br-rtv
wait_for 10 more_reconciled 1 "$before" || die "h1: no reconciliation after the OVS restart"
t1=$(date +%s%N)
line=$(reconciled 1 $((before + 1)))
ms=$(field ms "$line")
if [ "$(field added "$line")" = "$want" ] && awk -v m="$ms" 'BEGIN { exit !(m < 1000) }'; then
	ok "all $want flows back ${ms} ms after OVS reconnected ($(( (t1 - t0) / 1000000 )) ms after ovs-vswitchd was started, detach included)"
else
	bad "after the OVS restart: $line (want added=$want in < 1000 ms)"
fi
[ "$(nflows 1)" = "$want" ] && ok "dump-flows shows $want flows again" || bad "dump-flows shows $(nflows 1), want $want"
ip netns exec "${P}h1v1" ping -c 3 -i 0.2 -W 1 10.0.2.11 >/dev/null && ok "h1v1 reaches h2v1 again" ||
	bad "h1v1 cannot reach h2v1 after the OVS restart"

step "6. a new veth VM port with external_ids on h1"
V=${P}h1v9
ip netns add "$V" || die "cannot create $V"
ip link add "${P}x9" type veth peer name "${P}y9" || die "veth"
ip link set "${P}x9" netns "${P}h1" && ip link set "${P}y9" netns "$V" || die "veth move"
hns 1 ip link set "${P}x9" name vm9 && hns 1 ip link set vm9 up
hns 1 ethtool -K vm9 tx off >/dev/null 2>&1
ip netns exec "$V" ip link set "${P}y9" name eth0
ip netns exec "$V" ip link set eth0 address 02:00:00:00:01:09
ip netns exec "$V" ip addr add 10.0.1.19/16 dev eth0
ip netns exec "$V" ip link set eth0 up
ip netns exec "$V" ethtool -K eth0 tx off >/dev/null 2>&1
vsctl 1 add-port br-rtv vm9 -- set interface vm9 external_ids:vm-id="$V" \
	external_ids:attached-mac=02:00:00:00:01:09 external_ids:ip-address=10.0.1.19 || die "add-port vm9"
t0=$(date +%s%N)
if wait_for 5 vm_listed 2 "$V" 1 10.0.1.19; then
	ok "h2's rtvctl vms shows $V on host 1 (10.0.1.19) $(( ($(date +%s%N) - t0) / 1000000 )) ms after add-port"
else
	bad "$V not in h2's rtvctl vms: $(ctl 2 vms | tr '\n' '|')"
fi
ip netns exec "${P}h2v1" ping -c 3 -i 0.2 -W 1 10.0.1.19 >/dev/null && ok "h2v1 reaches the new VM" ||
	bad "h2v1 cannot reach the new VM"
vsctl 1 del-port br-rtv vm9
wait_for 5 vm_gone 2 "$V" && ok "unplugged (no rtpath uses it): $V left the replicated state" ||
	bad "$V still listed after del-port"

step "rtvd stops cleanly (SIGTERM: every handle closed)"
for h in 1 2; do
	kill -TERM "${PID[$h]}"
	wait "${PID[$h]}"
	rc=$?
	PID[$h]=
	if [ $rc = 0 ] && ! grep -q 'left open' "$(log $h)"; then
		ok "h$h: exit 0, nothing left open"
	else
		bad "h$h: exit $rc; $(grep 'left open' "$(log $h)" | head -n 2)"
	fi
done

finish
