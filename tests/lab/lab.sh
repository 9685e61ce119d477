#!/usr/bin/env bash
# lab.sh — a rack of hypervisor hosts in network namespaces, on one machine.
#
#   lab.sh up [-n HOSTS] [-v VMS_PER_HOST] [-r RATE]   build the rack (idempotent)
#   lab.sh down                                         remove everything (also after a crash)
#   lab.sh status [-o json]                             what is up
#   lab.sh exec NODE CMD...                             run CMD in a node (h1, h1v2, tor, leg, mgmt)
#   lab.sh rtvd-up [-e ELECTION_TIMEOUT]                rtvnet on every host of the rack that is up
#   lab.sh rtvd-down                                    rtvd off, OVS back to a plain switch
#   lab.sh rtvctl H ARGS...                             rtvctl on host H (its rtvd.sock)
#
# Topology (defaults: 3 hosts, 2 VMs each, 100 Mbit/s links):
#
#   VM ns  <name>h<H>v<V> : eth0 10.0.H.(10+V)/16, MAC 02:00:00:00:H:V
#      | veth (vm<V> in the host ns, a port of br-rtv)
#   host ns <name>h<H>    : its own ovsdb-server + ovs-vswitchd (userspace netdev
#                           datapath) with bridge br-rtv; the host's own address
#                           10.0.H.1/16 on br-rtv's internal port; uplink up0
#      | veth up0 <-> h<H>, shaped with HTB to RATE in both directions
#   ToR ns  <name>tor     : a Linux bridge forwarding by MAC; each port's egress
#                           is HTB with three classes in strict priority:
#                           top = MPLS TC 6-7, DSCP CS6/CS7, ARP; middle = the
#                           other MPLS frames, DSCP EF/CS5; low = the rest
#                           ("the DiffServ network"). The host's up0 has the
#                           same classes but no filters: one FIFO until rtvd
#                           schedules it.
#   leg ns  <name>leg     : a server without rtvnet on the ToR, 10.0.100.1/16,
#                           its egress shaped to RATE (experiment 3's flow C)
#   mgmt ns <name>mgmt    : the management network, bridge 10.1.0.254/24, a
#                           port m0 = 10.1.0.H/24 in every host (rtvd serves
#                           /metrics there; Prometheus runs in this namespace)
#
# What a real ToR must be set to: strict-priority (or low-latency) queues keyed
# on MPLS TC (EXP) for label-stacked frames, an escalated TC (6) above the
# level-0 one (5), and on DSCP 46/40/48/56 for unlabelled IP, trusting the
# marks set by the hosts (rtvd re-marks at the edge, so a VM cannot claim a
# class it did not reserve), and ARP/control traffic not stuck behind bulk
# queues. How to use the lab by hand, and what
# it measures on this machine: tests/lab/README.md.
#
# Each rtvd declares [uplink] hop_latency = 500us (RTV_LAB_HOP_LATENCY): a
# frame crosses a userspace OVS at each end (median 0.3-0.4 ms for both,
# p99 1-3 ms; tests/lab/README.md), and admission budgets it.
#
# With rtvd (rtvd-up), per host: up0 leaves the bridge and rtvd's dataplane
# sits between the veth pair rtv-int (an OVS port, the off-host port of
# rtvd's flows) and up0, with [ovs] enabled (rtvd is the bridge's OpenFlow
# controller) and [dataplane] enabled (EDF + pacer at the lab rate on up0).
#   VM -- br-rtv (OVS) -- rtv-int =veth= rtv-dp [rtvdp] up0 -- ToR
# Raft and RPC run in-band on 10.0.H.1 (br-rtv's internal port): OVS marks
# them CS6 and the dataplane sends them in its control queue. rtvctl on a
# host: lab.sh exec hH build/bin/rtvctl -s $RTV_LAB_DIR/hH/rtvd.sock CMD
# (lab.sh rtvctl H CMD... is the same). Log: $RTV_LAB_DIR/hH/rtvd.log.
#
# VM ports' MTU ([ovs] guest_mtu, docs/mtu.md): off unless
# RTV_LAB_GUEST_MTU=auto. The lab's guests are veth ends that do not learn the
# MTU set on the host end (a libvirt guest does, through virtio's host_mtu),
# and the kernel refuses a 1,500-byte frame sent to a veth end at 1,496, so
# with auto a guest left at 1,500 would lose full-size frames sent to it.
#
# State lives in $RTV_LAB_DIR (default /run/rtvnet-lab): one folder per host
# with its OVS run directory and logs.
set -u

LAB_DIR=${RTV_LAB_DIR:-/run/rtvnet-lab}
P=${RTV_LAB_PREFIX:-rtv}
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
LAB_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RTVD=${RTVD:-$LAB_ROOT/build/bin/rtvd}
RTVDP=${RTVDP:-$LAB_ROOT/build/bin/rtvdp}
RTVCTL=${RTVCTL:-$LAB_ROOT/build/bin/rtvctl}
# in each host's own namespace: no clash with the machine's loopback
RTVD_RAFT_PORT=18401 RTVD_RPC_PORT=18451 RTVD_MISS_PORT=18403 RTVD_OF_PORT=18490
RTVD_METRICS_PORT=9464	# on the management network, 10.1.0.H
RTVD_GOSSIP_PORT=7946	# UDP, on the management network too

. "$LAB_ROOT/tests/lib/common.sh"	# ns
. "$LAB_ROOT/tests/lib/pki.sh"	# the lab's rack CA ($LAB_DIR/pki)
# the operator's tool speaks on stderr, not in a test's ok/FAIL lines
die() { echo "lab: $*" >&2; exit 1; }
say() { [ -n "${LAB_QUIET:-}" ] || echo "lab: $*"; }
have_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

host_ns() { echo "${P}h$1"; }
vm_ns() { echo "${P}h$1v$2"; }
tor_ns() { echo "${P}tor"; }
mgmt_ns() { echo "${P}mgmt"; }
leg_ns() { echo "${P}leg"; }

ovs_env() { echo "OVS_RUNDIR=$LAB_DIR/h$1/ovs OVS_DBDIR=$LAB_DIR/h$1/ovs"; }
vsctl() { local h=$1; shift; ns "$(host_ns "$h")" env $(ovs_env "$h") ovs-vsctl --db=unix:"$LAB_DIR/h$h/ovs/db.sock" --timeout=10 "$@"; }

# HTB: a root class at RATE and three leaves in strict priority. The top
# leaf (prio 0) has the whole rate as its own; the middle (prio 1) and low
# (prio 2) leaves own 1 kbit and borrow the rest, the middle one first, so
# each is served only from what the classes above it leave. Printed as a tc
# batch (one process per port).
shape() {	# shape NS DEV RATE
	local nsn=$1 dev=$2 rate=$3
	# htb cannot "change" its root qdisc in place: add it only once
	tc -n "$nsn" qdisc show dev "$dev" | grep -q '^qdisc htb 1: root' ||
		echo "qdisc replace dev $dev root handle 1: htb default 20"
	echo "class replace dev $dev parent 1: classid 1:1 htb rate $rate ceil $rate quantum 1514"
	echo "class replace dev $dev parent 1:1 classid 1:10 htb rate $rate ceil $rate prio 0 quantum 1514"
	echo "class replace dev $dev parent 1:1 classid 1:15 htb rate 1kbit ceil $rate prio 1 quantum 1514"
	echo "class replace dev $dev parent 1:1 classid 1:20 htb rate 1kbit ceil $rate prio 2 quantum 1514"
}

# ToR classification, the "DiffServ network" rtvnet assumes:
#   top (1:10)    MPLS TC 6-7 (escalated rtpaths, rtvd's control), DSCP CS6
#                 and CS7 (48, 56), ARP (a flow's first packets wait for ARP:
#                 behind a full NRT queue that is ~120 ms at 100 Mbit/s)
#   middle (1:15) the other MPLS frames (rtpaths at level 0), DSCP EF and
#                 CS5 (46, 40): what hosts without rtvnet use for their own
#                 "real-time" traffic
#   low (1:20)    everything else
# The MPLS TC is bits 9-11 of the label stack entry (u32 at offset 0 of an
# mpls_uc frame's network header). Printed as a tc batch after the old
# filters are gone.
tor_filters() {	# tor_filters DEV
	local dev=$1
	echo "filter add dev $dev parent 1: protocol mpls_uc prio 1 u32 match u32 0x00000c00 0x00000c00 at 0 flowid 1:10"
	echo "filter add dev $dev parent 1: protocol mpls_uc prio 2 u32 match u32 0 0 flowid 1:15"
	echo "filter add dev $dev parent 1: protocol ip prio 3 u32 match ip dsfield 0xc0 0xfc flowid 1:10"
	echo "filter add dev $dev parent 1: protocol ip prio 3 u32 match ip dsfield 0xe0 0xfc flowid 1:10"
	echo "filter add dev $dev parent 1: protocol ip prio 3 u32 match ip dsfield 0xb8 0xfc flowid 1:15"
	echo "filter add dev $dev parent 1: protocol ip prio 3 u32 match ip dsfield 0xa0 0xfc flowid 1:15"
	echo "filter add dev $dev parent 1: protocol arp prio 4 u32 match u32 0 0 flowid 1:10"
}

# Both ends are created in their namespaces directly, so a crash never
# leaves one behind in the root namespace.
veth_pair() {	# veth_pair NS_A DEV_A NS_B DEV_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	# OVS userspace forwards without checksum offload: TCP needs it off
	ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1
	ns "$3" ethtool -K "$4" tx off >/dev/null 2>&1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# The pid in a pidfile of ours, if that process is alive and is ours (its
# command line names our run directory: a stale pidfile after a crash may
# hold a pid the kernel has since given to someone else).
lab_pid() {
	local f=$1 pid
	pid=$(cat "$f" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$LAB_DIR/" || return 1
	echo "$pid"
}

# The packet path runs at real-time priority, as on a host that gives its
# switch and dataplane the CPU they need: ovs-vswitchd at SCHED_FIFO 5,
# rtvd's dataplane threads at 10 ([dataplane] rt_priority). Without it this
# 2-core machine's other work (a build, the VMs' own senders) stalls the
# userspace hops for milliseconds and a 5 ms deadline sees it.
# RTV_LAB_RT=0 turns it off.
rt_prefix() {	# rt_prefix PRIO: "chrt -f PRIO" unless RTV_LAB_RT=0
	[ "${RTV_LAB_RT:-1}" = 0 ] || echo "chrt -f $1"
}

# Starts whichever of the host's two OVS daemons is not running, so that
# `up` also repairs a host whose OVS crashed (the bridge and its ports are
# in conf.db and come back with ovs-vswitchd).
start_ovs() {
	local h=$1 run=$LAB_DIR/h$1/ovs nsn
	nsn=$(host_ns "$h")
	mkdir -p "$run"
	if ! lab_pid "$run/ovsdb.pid" >/dev/null; then
		[ -f "$run/conf.db" ] || ovsdb-tool create "$run/conf.db" "$OVS_SCHEMA" || return 1
		ns "$nsn" ovsdb-server "$run/conf.db" --remote=punix:"$run/db.sock" \
			--pidfile="$run/ovsdb.pid" --unixctl="$run/ovsdb.ctl" \
			--log-file="$run/ovsdb.log" -vconsole:off --detach 2>>"$run/start.log" || return 1
		vsctl "$h" --no-wait init || return 1
	fi
	lab_pid "$run/vsd.pid" >/dev/null && return 0
	ns "$nsn" env OVS_RUNDIR="$run" $(rt_prefix 5) ovs-vswitchd unix:"$run/db.sock" \
		--pidfile="$run/vsd.pid" --unixctl="$run/vsd.ctl" \
		--log-file="$run/vsd.log" -vconsole:off --detach 2>>"$run/start.log" || return 1
}

up_vm() {	# up_vm H V: the VM's namespace and veth; prints its OVS port spec
	local h=$1 v=$2 vnsn mac ip
	vnsn=$(vm_ns "$h" "$v")
	mac=02:00:00:00:$(printf %02x "$h"):$(printf %02x "$v")
	ip=10.0.$h.$((10 + v))
	have_ns "$vnsn" || ip netns add "$vnsn" || return 1
	ip -n "$vnsn" link show eth0 >/dev/null 2>&1 || veth_pair "$vnsn" eth0 "$(host_ns "$h")" "vm$v" >&2 || return 1
	printf 'link set lo up\nlink set eth0 address %s\naddr replace %s/16 dev eth0\n' "$mac" "$ip" |
		ip -n "$vnsn" -batch - >&2 || return 1
	echo "-- --may-exist add-port br-rtv vm$v -- set interface vm$v external_ids:vm-id=$vnsn" \
		"external_ids:attached-mac=$mac external_ids:ip-address=$ip"
}

up_host() {
	local h=$1 nvm=$2 rate=$3 nsn tor v ports=""
	nsn=$(host_ns "$h")
	tor=$(tor_ns)
	have_ns "$nsn" || ip netns add "$nsn" || return 1
	ip -n "$nsn" link set lo up
	start_ovs "$h" || { echo "lab: OVS failed in $nsn; see $LAB_DIR/h$h/ovs/*.log" >&2; return 1; }
	if ! ip -n "$nsn" link show up0 >/dev/null 2>&1; then
		veth_pair "$nsn" up0 "$tor" "h$h" || return 1
		ip -n "$tor" link set "h$h" master br0 || return 1
	fi
	for v in $(seq 1 "$nvm"); do
		ports+=" $(up_vm "$h" "$v")" || return 1
	done
	# the management network: m0 10.1.0.H/24, out of band (metrics)
	if ! ip -n "$nsn" link show m0 >/dev/null 2>&1; then
		veth_pair "$nsn" m0 "$(mgmt_ns)" "m-h$h" || return 1
		ip -n "$(mgmt_ns)" link set "m-h$h" master mbr0 || return 1
	fi
	ip -n "$nsn" addr replace "10.1.0.$h/24" dev m0 || return 1
	# with rtvd (rtvd-up), rtvd's dataplane owns up0 and the bridge's
	# off-host port is rtv-int
	local upl=up0
	ip -n "$nsn" link show rtv-dp >/dev/null 2>&1 && upl=rtv-int
	# the bridge and all its ports in one OVSDB transaction
	vsctl "$h" --may-exist add-br br-rtv -- set bridge br-rtv datapath_type=netdev \
		other_config:hwaddr=02:00:00:00:"$(printf %02x "$h")":00 \
		-- --may-exist add-port br-rtv $upl $ports || return 1
	# OVS manages a port's qdisc unless told not to: with no QoS row it
	# deletes a root qdisc it did not create (our HTB) when it adds the
	# port. linux-noop leaves the qdisc to us; shape after adding the port.
	if [ $upl = up0 ] && [ "$(vsctl "$h" get port up0 qos)" = "[]" ]; then
		vsctl "$h" -- set port up0 qos=@q -- --id=@q create qos type=linux-noop >/dev/null || return 1
	fi
	printf 'link set br-rtv up\naddr replace 10.0.%s.1/16 dev br-rtv\n' "$h" | ip -n "$nsn" -batch - || return 1
	shape "$nsn" up0 "$rate" | tc -n "$nsn" -batch - || return 1
	tc -n "$tor" filter del dev "h$h" parent 1: 2>/dev/null
	{ shape "$tor" "h$h" "$rate"; tor_filters "h$h"; } | tc -n "$tor" -batch - || return 1
}

# The management namespace: bridge mbr0 at 10.1.0.254/24, one port per host
# (the host's m0 is 10.1.0.H). Prometheus runs here and scrapes every rtvd.
up_mgmt() {
	local m
	m=$(mgmt_ns)
	have_ns "$m" || ip netns add "$m" || return 1
	ip -n "$m" link set lo up
	ip -n "$m" link show mbr0 >/dev/null 2>&1 || ip -n "$m" link add mbr0 type bridge || return 1
	ip -n "$m" link set mbr0 up && ip -n "$m" addr replace 10.1.0.254/24 dev mbr0
}

# A server without rtvnet on the same ToR ("leg", 10.0.100.1, MAC
# 02:00:00:00:64:01): no OVS, no rtvd, it marks what it likes. Experiment 3's
# flow C comes from here. Its own egress is shaped to RATE like a host's.
up_legacy() {	# up_legacy RATE
	local rate=$1 l tor
	l=$(leg_ns) tor=$(tor_ns)
	have_ns "$l" || ip netns add "$l" || return 1
	ip -n "$l" link set lo up
	if ! ip -n "$l" link show eth0 >/dev/null 2>&1; then
		veth_pair "$l" eth0 "$tor" leg || return 1
		ip -n "$tor" link set leg master br0 || return 1
	fi
	printf 'link set eth0 address 02:00:00:00:64:01\naddr replace 10.0.100.1/16 dev eth0\n' |
		ip -n "$l" -batch - || return 1
	shape "$l" eth0 "$rate" | tc -n "$l" -batch - || return 1
	tc -n "$tor" filter del dev leg parent 1: 2>/dev/null
	{ shape "$tor" leg "$rate"; tor_filters leg; } | tc -n "$tor" -batch -
}

cmd_up() {
	local n=3 nvm=2 rate=100mbit opt h
	while getopts "n:v:r:" opt; do
		case $opt in
		n) n=$OPTARG ;; v) nvm=$OPTARG ;; r) rate=$OPTARG ;;
		*) die "usage: lab.sh up [-n HOSTS] [-v VMS_PER_HOST] [-r RATE]" ;;
		esac
	done
	[[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 32 ]] || die "-n: 1..32 hosts, got '$n'"
	[[ $nvm =~ ^[0-9]+$ && $nvm -ge 0 && $nvm -le 16 ]] || die "-v: 0..16 VMs per host, got '$nvm'"
	[[ $rate =~ ^[0-9]+(k|m|g)?bit$ ]] || die "-r: a tc rate like 100mbit, got '$rate'"
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	command -v ovs-vswitchd >/dev/null || die "Open vSwitch is not installed (make deps)"
	mkdir -p "$LAB_DIR"
	printf 'hosts=%s\nvms=%s\nrate=%s\n' "$n" "$nvm" "$rate" >"$LAB_DIR/lab.conf"
	have_ns "$(tor_ns)" || ip netns add "$(tor_ns)" || die "cannot create namespaces"
	ip -n "$(tor_ns)" link set lo up
	ip -n "$(tor_ns)" link show br0 >/dev/null 2>&1 || ip -n "$(tor_ns)" link add br0 type bridge
	ip -n "$(tor_ns)" link set br0 up
	up_mgmt || die "cannot build the management namespace"
	for h in $(seq 1 "$n"); do
		say "host h$h: namespace, OVS, uplink at $rate, $nvm VMs"
		up_host "$h" "$nvm" "$rate" || { echo "lab: building h$h failed; run 'lab.sh down' to clean up" >&2; exit 1; }
	done
	up_legacy "$rate" || { echo "lab: building the legacy host failed; run 'lab.sh down' to clean up" >&2; exit 1; }
	say "rack up: $n hosts x $nvm VMs, links $rate, a host without rtvnet (leg), management net 10.1.0.0/24 (lab.sh status)"
}

alive() { [ -e "/proc/$1" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

# SIGTERM to every daemon of ours at once, a second for all to exit, then
# SIGKILL. A zombie counts as gone: --detach'ed daemons are reparented to
# whatever init the machine has, which may reap them late.
kill_pidfiles() {
	local f pid pids=() left
	for f in "$@"; do
		[ -f "$f" ] || continue
		pid=$(lab_pid "$f") && pids+=("$pid") && kill "$pid" 2>/dev/null
		rm -f "$f"
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=0
		for pid in "${pids[@]}"; do alive "$pid" && left=1; done
		[ $left -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do alive "$pid" && kill -9 "$pid" 2>/dev/null; done
	return 0
}

cmd_down() {
	local d n pid
	# processes first (OVS and anything the lab started), then namespaces
	kill_pidfiles "$LAB_DIR"/h*/*.pid "$LAB_DIR"/h*/ovs/*.pid
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${P}(tor|h[0-9]+(v[0-9]+)?|mgmt|leg)$"); do
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	# temporary veth ends an older lab.sh left in the root namespace;
	# another lab's up that is still running owns its own (name holds its pid)
	for d in $(ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \(rtvtmp[0-9]*[ab]\)[@:].*/\1/p'); do
		pid=${d#rtvtmp}; pid=${pid%[ab]}
		kill -0 "$pid" 2>/dev/null || ip link del "$d" 2>/dev/null
	done
	rm -rf "$LAB_DIR"
	say "rack down"
}

cmd_status() {
	local json=0 h n=0 nvm=0 rate=- nsn state up=0
	[ "${1:-}" = "-o" ] && [ "${2:-}" = json ] && json=1
	if [ -f "$LAB_DIR/lab.conf" ]; then . "$LAB_DIR/lab.conf"; n=$hosts; nvm=$vms; fi
	[ $json -eq 1 ] && printf '{"hosts": ['
	for h in $(seq 1 "$n"); do
		nsn=$(host_ns "$h")
		state=down
		have_ns "$nsn" && lab_pid "$LAB_DIR/h$h/ovs/vsd.pid" >/dev/null &&
			vsctl "$h" br-exists br-rtv 2>/dev/null && state=up
		[ $state = up ] && up=$((up + 1))
		if [ $json -eq 1 ]; then
			[ "$h" -gt 1 ] && printf ', '
			printf '{"name": "h%s", "netns": "%s", "ovs": "%s", "addr": "10.0.%s.1"}' "$h" "$nsn" "$state" "$h"
		else
			printf 'h%-3s netns %-10s ovs %-4s addr 10.0.%s.1  ports: %s\n' "$h" "$nsn" "$state" "$h" \
				"$(vsctl "$h" list-ports br-rtv 2>/dev/null | tr '\n' ' ')"
		fi
	done
	if [ $json -eq 1 ]; then
		printf '], "vms_per_host": %s, "rate": "%s", "up": %s}\n' "$nvm" "$rate" "$up"
	else
		echo "rack: $up/$n hosts up, $nvm VMs per host, links $rate"
	fi
	[ "$n" -gt 0 ] && [ $up -eq "$n" ]
}

cmd_exec() {
	local node=${1:-}; shift || true
	case $node in
	tor) ns "$(tor_ns)" "$@" ;;
	mgmt) ns "$(mgmt_ns)" "$@" ;;
	leg) ns "$(leg_ns)" "$@" ;;
	h[0-9]*v[0-9]*) ns "${P}$node" "$@" ;;
	h[0-9]*) ns "${P}$node" env $(ovs_env "${node#h}") "$@" ;;
	*) die "exec: node is h<N>, h<N>v<M>, tor, leg or mgmt" ;;
	esac
}

# --- rtvnet on the rack (rtvd-up / rtvd-down) -------------------------------

rtvd_conf() {	# rtvd_conf H HOSTS RATE ELECTION: the host's rtvd.conf on stdout
	local h=$1 n=$2 rate=$3 et=$4 i voters=$(( $2 < 3 ? $2 : 3 ))
	cat <<-CONF
	# written by tests/lab/lab.sh rtvd-up
	[node]
	id = $h
	name = h$h
	data_dir = $LAB_DIR/h$h/rtvd-data
	raft_addr = 10.0.$h.1:$RTVD_RAFT_PORT
	rpc_addr = tls+tcp://10.0.$h.1:$RTVD_RPC_PORT
	cli_socket = $LAB_DIR/h$h/rtvd.sock
	[cluster]
	CONF
	# the first three hosts vote, the others are standbys
	for i in $(seq 1 "$n"); do
		printf 'peer = %s@10.0.%s.1:%s@tls+tcp://10.0.%s.1:%s%s\n' "$i" "$i" "$RTVD_RAFT_PORT" "$i" \
			"$RTVD_RPC_PORT" "$([ "$i" -gt "$voters" ] && echo @standby)"
	done
	cat <<-CONF
	[uplink]
	capacity = ${rate%bit}
	hop_latency = ${RTV_LAB_HOP_LATENCY:-500us}
	[raft]
	election_timeout = $et
	[ovs]
	enabled = true
	db = unix:$LAB_DIR/h$h/ovs/db.sock
	bridge = br-rtv
	datapath_type = netdev
	of_listen = 127.0.0.1:$RTVD_OF_PORT
	offhost_port = rtv-int
	int_port = rtv-int
	int_type =
	guest_mtu = ${RTV_LAB_GUEST_MTU:-off}
	[dataplane]
	enabled = true
	int_dev = rtv-dp
	uplink_dev = up0
	host_ip = 10.0.$h.1
	miss_port = $RTVD_MISS_PORT
	rt_priority = $([ "${RTV_LAB_RT:-1}" = 0 ] && echo 0 || echo 10)
	[metrics]
	listen = 10.1.0.$h:$RTVD_METRICS_PORT
	[libvirt]
	uri = $(lab_libvirt_uri "$h")
	peer_uri = qemu+tcp://10.1.0.%i:16509/system
	CONF
	rtvd_gossip_conf "$h" "$n"
	pki_tls_section "$LAB_DIR/pki" "$h"	# Raft, RPC, miss reports: the lab's rack CA
}

# [gossip] on the management network (docs/gossip.md): every host binds
# 10.1.0.H:7946 and seeds with all the others (up to 16), so any host that is up lets a
# restarted one back in. Sealed by [tls] rack_keys (the lab's rack key, in
# pki_tls_section). Probes every 500 ms rather than memberlist's 1 s and a
# push-pull every 10 s rather than 30 s: a lab test sees a verdict, and a
# healed partition converge, within seconds (tests/system/lab_gossip.sh
# derives its bounds from these lines). The autopilot stays off: the lab's
# tests kill and pause hosts and expect the voters they started with.
rtvd_gossip_conf() {	# rtvd_gossip_conf H HOSTS
	local h=$1 i seeds="" k=0
	for i in $(seq 1 "$2"); do	# rtvd takes up to 16 seeds
		[ "$i" != "$h" ] && [ $k -lt 16 ] || continue
		seeds=${seeds:+$seeds,}10.1.0.$i:$RTVD_GOSSIP_PORT k=$((k + 1))
	done
	printf '[gossip]\nbind = 10.1.0.%s:%s\n' "$h" "$RTVD_GOSSIP_PORT"
	[ -z "$seeds" ] || echo "seeds = $seeds"
	printf 'probe_interval = 500ms\nprobe_timeout = 250ms\ngossip_interval = 100ms\npushpull_interval = 10s\n'
}

# The host's own libvirtd if tests/lab/libvirt.sh started one (lv_up before
# rtvd-up), else empty: libvirt off (the machine's qemu:///system is no lab
# host's)
lab_libvirt_uri() {
	local sock=$LAB_DIR/h$1/libvirt/run/libvirt-sock
	[ -S "$sock" ] && echo "qemu+unix:///system?socket=$sock"
}

# rtv-int (OVS port) =veth= rtv-dp (the dataplane's int_dev); up0 leaves the
# bridge. The host's IP answers ARP only on br-rtv: up0, rtv-dp and rtv-int
# now reach the kernel too (arp_ignore 1, arp_announce 2).
rtvd_plumb() {
	local h=$1 nsn d
	nsn=$(host_ns "$h")
	ns "$nsn" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
	if ! ip -n "$nsn" link show rtv-dp >/dev/null 2>&1; then
		ip -n "$nsn" link add rtv-int type veth peer name rtv-dp || return 1
	fi
	for d in rtv-int rtv-dp up0; do
		ns "$nsn" ethtool -K "$d" tx off tso off gso off gro off >/dev/null 2>&1
		ip -n "$nsn" link set "$d" up || return 1
	done
	vsctl "$h" -- --if-exists del-port br-rtv up0 -- --may-exist add-port br-rtv rtv-int || return 1
	# OVS may have reset up0's qdisc when the port left: shape it again
	shape "$nsn" up0 "$rate" | tc -n "$nsn" -batch - || return 1
}

# rtvdp, the host's dataplane process (docs/dataplane-process.md): reads the
# same rtvd.conf, listens on <data_dir>/rtvdp.sock, forwards rtv-dp <-> up0.
rtvdp_start() {	# rtvdp_start H [--takeover]: unless it runs already (--takeover: replace it)
	local h=$1 dir=$LAB_DIR/h$1
	[ "${2:-}" = --takeover ] || ! lab_pid "$dir/rtvdp.pid" >/dev/null || return 0
	setsid ip netns exec "$(host_ns "$h")" "$RTVDP" -c "$dir/rtvd.conf" ${2:-} \
		>>"$dir/rtvdp.log" 2>&1 </dev/null &
	echo $! >"$dir/rtvdp.pid"
}

rtvd_start() {	# rtvd_start H: unless it runs already
	local h=$1 dir=$LAB_DIR/h$1
	rtvdp_start "$h"
	lab_pid "$dir/rtvd.pid" >/dev/null && return 0
	"$RTVD" -c "$dir/rtvd.conf" --check-config >/dev/null 2>"$dir/rtvd.check" ||
		{ cat "$dir/rtvd.check" >&2; return 1; }
	# setsid: rtvd outlives this script and is not in its process group
	setsid ip netns exec "$(host_ns "$h")" "$RTVD" -c "$dir/rtvd.conf" \
		>>"$dir/rtvd.log" 2>&1 </dev/null &
	echo $! >"$dir/rtvd.pid"
}

cmd_rtvd_up() {
	local et=250ms opt h hosts vms rate
	while getopts "e:" opt; do
		case $opt in
		e) et=$OPTARG ;;
		*) die "usage: lab.sh rtvd-up [-e ELECTION_TIMEOUT]" ;;
		esac
	done
	[ -f "$LAB_DIR/lab.conf" ] || die "no lab is up (lab.sh up first)"
	. "$LAB_DIR/lab.conf"
	[ -x "$RTVD" ] && [ -x "$RTVCTL" ] || die "$RTVD / $RTVCTL not built (make build)"
	[ -f "$LAB_DIR/pki/ca.crt" ] || pki_rack "$LAB_DIR/pki" || die "cannot make the lab's rack CA"
	for h in $(seq 1 "$hosts"); do
		mkdir -p "$LAB_DIR/h$h"
		rtvd_conf "$h" "$hosts" "$rate" "$et" >"$LAB_DIR/h$h/rtvd.conf"
		rtvd_plumb "$h" || die "h$h: plumbing rtv-int/rtv-dp failed; lab.sh down cleans up"
		rtvd_start "$h" || die "h$h: rtvd did not start; see $LAB_DIR/h$h/rtvd.log"
		say "host h$h: rtvdp (rtv-dp <-> up0 at $rate) and rtvd (OVS controller), logs $LAB_DIR/h$h/rtvdp.log, rtvd.log"
	done
	say "rtvnet up; e.g. lab.sh rtvctl 1 status"
}

# rtvd off; the bridge becomes a plain learning switch on up0 again
cmd_rtvd_down() {
	local h hosts=0 nsn
	[ -f "$LAB_DIR/lab.conf" ] && . "$LAB_DIR/lab.conf"
	kill_pidfiles "$LAB_DIR"/h*/rtvd.pid "$LAB_DIR"/h*/rtvdp.pid
	for h in $(seq 1 "$hosts"); do
		nsn=$(host_ns "$h")
		have_ns "$nsn" || continue
		vsctl "$h" -- --if-exists del-port br-rtv rtv-int -- del-controller br-rtv \
			-- del-fail-mode br-rtv -- set bridge br-rtv protocols=[] 2>/dev/null
		ip -n "$nsn" link del rtv-int 2>/dev/null
		ip -n "$nsn" link del rtvdeg-rtv-dp 2>/dev/null	# a degraded host's bridge
		ns "$nsn" env $(ovs_env "$h") ovs-ofctl del-flows br-rtv 2>/dev/null
		ns "$nsn" env $(ovs_env "$h") ovs-ofctl add-flow br-rtv actions=NORMAL 2>/dev/null
		rm -rf "$LAB_DIR/h$h/rtvd-data" "$LAB_DIR/h$h/rtvd.sock"
	done
	[ "$hosts" -gt 0 ] && LAB_QUIET=1 cmd_up -n "$hosts" -v "$vms" -r "$rate"
	say "rtvnet down"
}

cmd_rtvctl() {	# rtvctl H ARGS...: rtvctl on host H
	local h=${1:-}; shift || true
	[[ $h =~ ^[0-9]+$ ]] || die "rtvctl: usage lab.sh rtvctl HOST_NUMBER ARGS..."
	ns "$(host_ns "$h")" "$RTVCTL" -s "$LAB_DIR/h$h/rtvd.sock" "$@"
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) shift; cmd_status "$@" ;;
exec) shift; cmd_exec "$@" ;;
rtvd-up) shift; cmd_rtvd_up "$@" ;;
rtvd-down) cmd_rtvd_down ;;
rtvctl) shift; cmd_rtvctl "$@" ;;
-h|--help|help|"") sed -n '2,/^set -u/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] ;;
*) die "unknown command '$1' (up, down, status, exec, rtvd-up, rtvd-down, rtvctl; --help)" ;;
esac
