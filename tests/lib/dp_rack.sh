# dp_rack.sh — two hosts with rtvd and rtvdp each, for the dataplane's
# system tests (dp_miss.sh, dpd_restart.sh). Sourced after common.sh;
# DP_RT_PRIORITY (optional) sets [dataplane] rt_priority. The namespaces
# come from wire_topology (common.sh) plus a management link m0 (10.98.0.H).
#
#   dp_rack_env TAG PORT   the test's setting: RTVD, RTVDP, RTVCTL, PY, the
#                          namespaces VA HA HB VB (prefix TAG$$), DIR (a
#                          temporary directory), RAFT_PORT=PORT, RPC_PORT=
#                          PORT+50, MISS_PORT=PORT+2, RTVD_PID/RTVDP_PID,
#                          and the on_fail / cleanup traps that kill what
#                          it started and remove the namespaces (KEEP=1
#                          keeps DIR)
#   ctl I ARGS...          rtvctl on node I
#   json_get FILE EXPR     EXPR (Python) with j = the JSON document
#   path_stat I ID KEY     key of rtpath ID's "stats" on node I
#   path_level I ID        its level
#   dp_stat I KEY          the status reply's dataplane KEY on node I
#   write_conf I INT UP    node I's configuration, $DIR/nI.conf (Raft and the
#                          RPC over mutual TLS, certificates in $DIR/pki)
#   start_rtvd I NS        node I's rtvdp, then its rtvd, in namespace NS
#   metric I NAME{LABELS   the value of the first sample of node I's /metrics
#                          ([metrics] listen 10.98.0.I:RAFT_PORT+20) that
#                          starts with that text

. "$(dirname "${BASH_SOURCE[0]}")/pki.sh"
dp_rack_env() {	# dp_rack_env TAG PORT
	RTVD=${RTVD:-build/bin/rtvd}
	RTVDP=${RTVDP:-build/bin/rtvdp}
	RTVCTL=${RTVCTL:-build/bin/rtvctl}
	P=$1$$
	VA=${P}va HA=${P}ha HB=${P}hb VB=${P}vb
	DIR=$(mktemp -d "/tmp/$1.XXXXXX")
	PY=/usr/bin/python3
	RAFT_PORT=$2 RPC_PORT=$(($2 + 50)) MISS_PORT=$(($2 + 2))
	declare -gA RTVD_PID=() RTVDP_PID=()
	trap dp_rack_cleanup EXIT
	trap 'exit 130' INT TERM
}

on_fail() {
	local i
	for i in 1 2; do
		echo "--- tail of rtvd $i's and rtvdp $i's logs"
		tail -n 25 "$DIR/n$i.log" "$DIR/n$i.dp.log" 2>/dev/null | sed 's/^/   /'
	done
}

dp_rack_cleanup() {
	local p
	for p in "${pids[@]}" "${RTVD_PID[@]}" "${RTVDP_PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}" "${RTVD_PID[@]}" "${RTVDP_PID[@]}"; do wait "$p" 2>/dev/null; done
	ns_remove $VA $HA $HB $VB
	[ "${KEEP:-0}" = 1 ] && echo "kept $DIR" || rm -rf "$DIR"
}

ctl() { local i=$1; shift; "$RTVCTL" -s "$DIR/n$i.sock" --timeout 5s "$@"; }

# json_get FILE PYTHON_EXPR: evaluates EXPR with j = the JSON document.
json_get() { $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }

# path_stat I ID KEY: key of rtpath ID's "stats" on node I ("" if none).
path_stat() {
	ctl "$1" -o json paths "$2" >"$DIR/ps.json" 2>/dev/null || return 1
	json_get "$DIR/ps.json" "j['paths'][0].get('stats', {}).get('$3', '')"
}
path_level() {
	ctl "$1" -o json paths "$2" >"$DIR/pl.json" 2>/dev/null || return 1
	json_get "$DIR/pl.json" "j['paths'][0]['level']"
}
dp_stat() {	# dp_stat I KEY: the status reply's dataplane counter
	ctl "$1" -o json status >"$DIR/st$1.json" 2>/dev/null || return 1
	json_get "$DIR/st$1.json" "j['dataplane']['$2']"
}
write_conf() {	# write_conf I INT UP
	local i=$1
	mkdir -p "$DIR/n$i"
	cat >"$DIR/n$i.conf" <<EOF
[node]
id = $i
name = h$i
data_dir = $DIR/n$i
raft_addr = 10.98.0.$i:$RAFT_PORT
rpc_addr = tls+tcp://10.98.0.$i:$RPC_PORT
cli_socket = $DIR/n$i.sock
[cluster]
peer = 1@10.98.0.1:$RAFT_PORT@tls+tcp://10.98.0.1:$RPC_PORT
peer = 2@10.98.0.2:$RAFT_PORT@tls+tcp://10.98.0.2:$RPC_PORT
[uplink]
capacity = 1G
rt_budget = 50%
[raft]
election_timeout = 250ms
[metrics]
listen = 10.98.0.$i:$((RAFT_PORT + 20))
[dataplane]
enabled = true
int_dev = $2
uplink_dev = $3
host_ip = 10.99.0.25$i
clock_uncertainty = 1us
miss_port = $MISS_PORT
miss_interval = 100ms
boost_decay = 2s
${DP_RT_PRIORITY:+rt_priority = $DP_RT_PRIORITY}
EOF
	[ -f "$DIR/pki/ca.crt" ] || pki_rack "$DIR/pki" || return 1
	pki_tls_section "$DIR/pki" "$i" >>"$DIR/n$i.conf"
}

metric() {	# metric I PREFIX
	local ns=$([ "$1" = 1 ] && echo $HA || echo $HB)
	ip netns exec "$ns" curl -s --max-time 5 "http://10.98.0.$1:$((RAFT_PORT + 20))/metrics" |
		awk -v p="$2" 'index($0, p) == 1 { print $NF; exit }'
}

start_rtvd() {	# start_rtvd I NS: the host's rtvdp (its dataplane), then rtvd
	ip netns exec "$2" "$RTVDP" -c "$DIR/n$1.conf" >>"$DIR/n$1.dp.log" 2>&1 &
	RTVDP_PID[$1]=$!
	ip netns exec "$2" "$RTVD" -c "$DIR/n$1.conf" >>"$DIR/n$1.log" 2>&1 &
	RTVD_PID[$1]=$!
}

# dp_rack_up: the two-host rack both dataplane system tests start from: the
# topology (vA - ha - wire - hb - vB, a management link), rtvd 1 and 2 with
# their rtvdp, a leader, both hosts registered, both dataplanes running.
dp_rack_up() {
	step "topology: 2 VMs, 2 hosts, a 100 Mbit/s wire, a management link"
	wire_topology $VA $HA $HB $VB 100mbit && veth $HA m0 $HB m0 || die "cannot build the namespaces, veths and HTB"
	ns $HA ip addr add 10.98.0.1/24 dev m0
	ns $HB ip addr add 10.98.0.2/24 dev m0
	ok "va 10.99.0.1 - ha - wire - hb - vb 10.99.0.2; management 10.98.0.1 - 10.98.0.2"

	step "start rtvd 1 (ha: vA <-> wA) and rtvd 2 (hb: wB <-> vB), a 2-voter Raft cluster"
	write_conf 1 vA wA
	write_conf 2 vB wB
	"$RTVD" -c "$DIR/n1.conf" --check-config >/dev/null || die "config 1 refused: $("$RTVD" -c "$DIR/n1.conf" --check-config 2>&1)"
	start_rtvd 1 $HA
	start_rtvd 2 $HB
	leader_known() { [ "$(ctl 1 -o json status 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["leader"])' 2>/dev/null)" -gt 0 ] 2>/dev/null; }
	wait_for 15 leader_known || die "no Raft leader within 15 s"
	hosts2() { [ "$(ctl 1 --linearizable hosts 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l)" = 2 ]; }
	wait_for 10 hosts2 || die "the hosts did not register"
	[ "$(dp_stat 1 running)" = True ] && [ "$(dp_stat 2 running)" = True ] &&
		ok "leader elected, both hosts registered, both dataplanes running" ||
		die "dataplane not running: $(cat "$DIR/st1.json" "$DIR/st2.json" 2>/dev/null | head -c 400)"
}
