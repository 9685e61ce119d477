#!/usr/bin/env bash
# ofgw_ovs.sh — the OpenFlow gateway as a process (build/bin/ofgwd) programming
# a real Open vSwitch, with traffic (issue 5, "Against a real OVS"):
#   - a host namespace runs its own ovsdb-server + ovs-vswitchd (netdev bridge,
#     OpenFlow 1.3, fail-mode secure, controller = ofgwd on 127.0.0.1:17620);
#     two VM namespaces hang off the bridge by veth, with an rtpath from va;
#   - ofgwd installs the pipeline: dump-flows shows exactly the flows it
#     reports, the rtpath's marking flow among them;
#   - va pings vb every 10 ms while ofgwd is killed (-9) and restarted: the
#     restart reconciles with 0 flow-mods and not one ping is lost;
#   - ovs-vswitchd restarts (its table empty): the flows are back within 1 s
#     of its reconnection, and va reaches vb again.
# Each step prints what it checks. Everything started here is removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OFGWD=${OFGWD:-$ROOT/build/bin/ofgwd}
. "$ROOT/tests/lib/common.sh"
need_root
need_cmd ovs-vswitchd
need_exec "$OFGWD"
PORT=17620
P=ofgwt$$
HNS=${P}h
RUN=$(mktemp -d /tmp/rtv-ofgw-sys.XXXXXX)
on_fail() { tail -n 20 "$RUN"/ofgwd.out "$RUN"/vsd.log 2>/dev/null | sed 's/^/      /'; }

hns() { ip netns exec "$HNS" "$@"; }
vsctl() { hns ovs-vsctl --db=unix:"$RUN"/db.sock --timeout=20 "$@"; }
ofctl() { hns env OVS_RUNDIR="$RUN" ovs-ofctl -O OpenFlow13 "$@"; }
ofgwd_pid=
ping_pid=

cleanup() {
	if [ -n "$ofgwd_pid" ]; then
		kill "$ofgwd_pid" 2>/dev/null
		wait "$ofgwd_pid" 2>/dev/null
	fi
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null
	for f in vsd ovsdb; do [ -f "$RUN/$f.pid" ] && kill "$(cat "$RUN/$f.pid")" 2>/dev/null; done
	sleep 0.2
	for n in "$HNS" "${P}a" "${P}b"; do
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$RUN"
}
trap cleanup EXIT

start_vswitchd() {
	hns env OVS_RUNDIR="$RUN" ovs-vswitchd unix:"$RUN"/db.sock --pidfile="$RUN"/vsd.pid \
		--unixctl="$RUN"/vsd.ctl --log-file="$RUN"/vsd.log -vconsole:off --detach 2>>"$RUN"/start.log
}

# starts ofgwd in the host namespace, its events in $RUN/ofgwd.out
start_ofgwd() {
	: >"$RUN"/ofgwd.out
	ip netns exec "$HNS" "$OFGWD" --listen 127.0.0.1:$PORT --host-id 1 --host-ip 10.0.1.1 --uplink up0 \
		--offhost rtv-int --control tcp:17100 \
		--vm va,02:00:00:00:01:01,10.0.1.11 --vm vb,02:00:00:00:01:02,10.0.1.12 \
		--rtpath 7,10.0.1.11,10.0.2.11,17,5000,46 >>"$RUN"/ofgwd.out 2>"$RUN"/ofgwd.err &
	ofgwd_pid=$!
}

# waits up to $1 s for the n-th "synced full=1" line; prints it
wait_synced() {
	local t=$1 n=${2:-1} end
	end=$((SECONDS + t))
	while [ $SECONDS -le $end ]; do
		if [ "$(grep -c '^synced full=1' "$RUN"/ofgwd.out)" -ge "$n" ]; then
			grep '^synced full=1' "$RUN"/ofgwd.out | sed -n "${n}p"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
nflows() { ofctl dump-flows br0 | grep -c 'cookie='; }

step "a host namespace with its own OVS, two VM namespaces on its bridge"
ip netns add "$HNS" && ip netns add "${P}a" && ip netns add "${P}b" || die "cannot create namespaces"
hns ip link set lo up
ovsdb-tool create "$RUN"/conf.db /usr/share/openvswitch/vswitch.ovsschema || die "ovsdb-tool"
hns ovsdb-server "$RUN"/conf.db --remote=punix:"$RUN"/db.sock --pidfile="$RUN"/ovsdb.pid \
	--unixctl="$RUN"/ovsdb.ctl --log-file="$RUN"/ovsdb.log -vconsole:off --detach \
	2>>"$RUN"/start.log || die "ovsdb-server"
vsctl --no-wait init && start_vswitchd || die "ovs-vswitchd"
vsctl add-br br0 -- set bridge br0 datapath_type=netdev protocols=OpenFlow13 fail-mode=secure \
	other-config:disable-in-band=true -- set-controller br0 tcp:127.0.0.1:$PORT || die "add-br"
i=1
for v in a b; do
	ip link add "${P}x$v" type veth peer name "${P}y$v" || die "veth"
	ip link set "${P}x$v" netns "$HNS" && ip link set "${P}y$v" netns "${P}$v" || die "veth move"
	hns ip link set "${P}x$v" name "v$v" && hns ip link set "v$v" up
	ip netns exec "${P}$v" ip link set "${P}y$v" name eth0
	ip netns exec "${P}$v" ip link set eth0 address 02:00:00:00:01:0$i
	ip netns exec "${P}$v" ip addr add 10.0.1.1$i/16 dev eth0
	ip netns exec "${P}$v" ip link set eth0 up
	ip netns exec "${P}$v" ethtool -K eth0 tx off >/dev/null 2>&1
	hns ethtool -K "v$v" tx off >/dev/null 2>&1
	vsctl add-port br0 "v$v" || die "add-port v$v"
	i=$((i + 1))
done
ok "OVS in $HNS, VMs ${P}a (10.0.1.11) and ${P}b (10.0.1.12) on br0"

step "ofgwd connects and installs the pipeline"
start_ofgwd
line=$(wait_synced 20) || die "no reconciliation within 20 s"
want=$(field desired "$line")
[ "$(field added "$line")" = "$want" ] && ok "first contact added all $want flows ($line)" ||
	bad "first contact: $line"
got=$(nflows)
[ "$got" = "$want" ] && ok "dump-flows shows $got flows" || bad "dump-flows shows $got flows, want $want"
if ofctl dump-flows br0 | grep -q 'cookie=0x300000000000007,.*priority=502,udp,in_port=1,nw_src=10.0.1.11,nw_dst=10.0.2.11,tp_dst=5000 actions=set_field:46->ip_dscp,goto_table:1'; then
	ok "the rtpath's marking flow is there (cookie 0x300000000000007)"
else
	bad "the rtpath's marking flow is missing"
fi
ip netns exec "${P}a" ping -c 3 -i 0.2 -W 1 10.0.1.12 >/dev/null && ok "va reaches vb" || bad "va cannot reach vb"

step "kill -9 ofgwd and restart it while va pings vb every 10 ms"
ip netns exec "${P}a" ping -i 0.01 -c 500 -W 1 10.0.1.12 >"$RUN"/ping.out 2>&1 &
ping_pid=$!
sleep 1
kill -9 "$ofgwd_pid"
wait "$ofgwd_pid" 2>/dev/null
sleep 1
start_ofgwd
line=$(wait_synced 20) || die "no reconciliation after the restart"
for k in added modified deleted; do
	[ "$(field $k "$line")" = 0 ] || bad "restart changed flows: $line"
done
[ "$(field unchanged "$line")" = "$want" ] &&
	ok "restart reconciled with 0 flow-mods, $want unchanged (${line##* })" || bad "restart: $line"
wait "$ping_pid"
ping_pid=
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$RUN"/ping.out)
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$RUN"/ping.out)
if [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ]; then
	ok "pings: $sent sent, $recv received, 0 lost across the controller restart"
else
	bad "pings: $sent sent, $recv received: $(tail -n 2 "$RUN"/ping.out | tr '\n' ' ')"
fi

step "restart ovs-vswitchd (its flow table starts empty)"
kill "$(cat "$RUN"/vsd.pid)"
for _ in $(seq 50); do kill -0 "$(cat "$RUN"/vsd.pid 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
t0=$(date +%s%N)
start_vswitchd || die "ovs-vswitchd restart"
line=$(wait_synced 20 2) || die "no reconciliation after the OVS restart"
t1=$(date +%s%N)
ms=$(field ms "$line")
if [ "$(field added "$line")" = "$want" ] && awk -v m="$ms" 'BEGIN { exit !(m < 1000) }'; then
	ok "all $want flows restored ${ms} ms after reconnecting ($(( (t1 - t0) / 1000000 )) ms after vswitchd start)"
else
	bad "OVS restart: $line"
fi
got=$(nflows)
[ "$got" = "$want" ] && ok "dump-flows shows $got flows again" || bad "dump-flows shows $got, want $want"
ip netns exec "${P}a" ping -c 3 -i 0.2 -W 1 10.0.1.12 >/dev/null && ok "va reaches vb again" || bad "va cannot reach vb"

finish
