# rack.sh — start, stop and talk to N rtvd processes on loopback, each with
# its own temp data dir, config and CLI socket. Sourced by tests/system and
# the lab; bash only.
#
#   . tests/lib/rack.sh
#   rack_init 3                 # temp dir, free ports, configs (RACK_* below)
#   rack_start_all; leader=$(rack_wait_leader 10)
#   rack_ctl 2 reserve --src ...   # rtvctl against node 2's CLI socket
#   rack_kill 1; rack_start 1      # kill -9, restart from its data dir
#   rack_cleanup                   # stops everything, removes the temp dir
#   rack_tail_logs                 # the last lines of every node's log
#
# rack_init installs an EXIT/INT/TERM trap that calls rack_cleanup, so a
# failing test leaves no process or directory behind (set RACK_KEEP=1 to
# keep the directory for a post-mortem).
#
# Environment (all optional):
#   RTV_BUILD         build dir with bin/rtvd and bin/rtvctl (default: repo's build/)
#   RACK_PORT_BASE    first port; node i uses BASE+i (Raft) and BASE+50+i (RPC).
#                     Default: derived from $$ within 20000-29999 and checked free.
#   RACK_ELECTION     election timeout (default 250ms, the rack default, with
#                     pre-vote on: a killed leader is replaced in about half a
#                     second on loopback; bench_raft measures it)
#   RACK_LOG_LEVEL    rtvd log level (default info)
#   RACK_UPLINK       uplink capacity per host (default 10G)
#   RACK_RT_BUDGET    RT budget per host (default 50%)
#   RACK_GOSSIP       1: a [gossip] section (UDP BASE+100+i, seed node 1,
#                     200 ms probes so a test sees verdicts within seconds)
#   RACK_STANDBY      node ids bootstrapped as standbys ("4 5"): @standby peers
#   RACK_GOSSIP_EXTRA more lines for the [gossip] section (e.g. autopilot = yes)
#   RACK_KEYS         a keyring file for [tls] rack_keys instead of the rack's
#                     (gossip and miss reports are sealed with it)
#   RACK_TLS          1 (default): a rack CA in $RACK_DIR/pki (tests/lib/pki.sh),
#                     Raft and the RPC over mutual TLS (rpc_addr tls+tcp://,
#                     a read-only listener at BASE+150+i with the read CA);
#                     0: [tls] insecure = true (plaintext, said so in the log)
#
# Remote rtvctl against node I (TLS racks): rtvctl -e "$(rack_rpc_url I)"
# $(rack_ctl_admin) ...; readers: -e "$(rack_read_url I)" $(rack_ctl_read).

RACK_ROOT=${RACK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$RACK_ROOT/tests/lib/pki.sh"
RACK_TLS=${RACK_TLS:-1}
RTV_BUILD=${RTV_BUILD:-$RACK_ROOT/build}
RTVD=${RTVD:-$RTV_BUILD/bin/rtvd}
RTVCTL=${RTVCTL:-$RTV_BUILD/bin/rtvctl}
RACK_N=0
RACK_DIR=
RACK_PORT_BASE=${RACK_PORT_BASE:-}
declare -a RACK_PID=()

rack_log() { printf '%s rack: %s\n' "$(date +%T.%3N)" "$*" >&2; }

# rack_port_free PORT: true if nothing listens on 127.0.0.1:PORT (TCP).
rack_port_free() {
	! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# Picks RACK_PORT_BASE so that BASE+1..BASE+N and BASE+51..BASE+50+N are free.
rack_pick_ports() {
	local n=$1 base try i ok
	if [ -n "$RACK_PORT_BASE" ]; then return 0; fi
	base=$((20000 + ($$ * 97) % 9800))
	for try in $(seq 0 40); do
		ok=1
		for i in $(seq 1 "$n"); do
			rack_port_free $((base + i)) && rack_port_free $((base + 50 + i)) &&
				rack_port_free $((base + 150 + i)) || { ok=0; break; }
		done
		if [ $ok = 1 ]; then RACK_PORT_BASE=$base; return 0; fi
		base=$((20000 + (base - 20000 + 113) % 9800))
	done
	rack_log "no free ports found in 20000-29999"
	return 1
}

rack_raft_addr() { echo "127.0.0.1:$((RACK_PORT_BASE + $1))"; }
rack_rpc_url() {
	if [ "$RACK_TLS" = 1 ]; then echo "tls+tcp://127.0.0.1:$((RACK_PORT_BASE + 50 + $1))"
	else echo "tcp://127.0.0.1:$((RACK_PORT_BASE + 50 + $1))"; fi
}
rack_read_url() { echo "tls+tcp://127.0.0.1:$((RACK_PORT_BASE + 150 + $1))"; }
rack_ctl_admin() { pki_ctl_admin "$RACK_DIR/pki"; }
rack_ctl_read() { pki_ctl_read "$RACK_DIR/pki"; }
rack_sock() { echo "$RACK_DIR/n$1/rtvd.sock"; }
rack_conf() { echo "$RACK_DIR/n$1/rtvd.conf"; }
rack_gossip_addr() { echo "127.0.0.1:$((RACK_PORT_BASE + 100 + $1))"; }
rack_logfile() { echo "$RACK_DIR/n$1/rtvd.log"; }

# rack_write_conf I [join]: node I's config; the bootstrap peers are nodes
# 1..RACK_N unless join=1 (a node added later with `rtvctl members add`).
rack_write_conf() {
	local i=$1 join=${2:-0} j
	mkdir -p "$RACK_DIR/n$i/data"
	{
		echo "[node]"
		echo "id = $i"
		echo "name = h$i"
		echo "data_dir = $RACK_DIR/n$i/data"
		echo "raft_addr = $(rack_raft_addr "$i")"
		echo "rpc_addr = $(rack_rpc_url "$i")"
		[ "$RACK_TLS" != 1 ] || echo "rpc_read_addr = $(rack_read_url "$i")"
		echo "cli_socket = $(rack_sock "$i")"
		echo "[cluster]"
		for j in $(seq 1 "$RACK_N"); do
			echo "peer = $j@$(rack_raft_addr "$j")@$(rack_rpc_url "$j")$(
				[[ " ${RACK_STANDBY:-} " = *" $j "* ]] && echo @standby)"
		done
		if [ "$join" = 1 ]; then
			echo "peer = $i@$(rack_raft_addr "$i")@$(rack_rpc_url "$i")"
			echo "join = true"
		fi
		echo "[uplink]"
		echo "capacity = ${RACK_UPLINK:-10G}"
		echo "rt_budget = ${RACK_RT_BUDGET:-50%}"
		echo "[raft]"
		echo "election_timeout = ${RACK_ELECTION:-250ms}"
		echo "[log]"
		echo "level = ${RACK_LOG_LEVEL:-info}"
		if [ "${RACK_GOSSIP:-0}" = 1 ]; then
			echo "[gossip]"
			echo "bind = $(rack_gossip_addr "$i")"
			echo "seeds = $(rack_gossip_addr 1)"
			echo "probe_interval = 200ms"
			echo "probe_timeout = 100ms"
			echo "gossip_interval = 50ms"
			[ -z "${RACK_GOSSIP_EXTRA:-}" ] || printf '%s\n' "$RACK_GOSSIP_EXTRA"
		fi
		if [ "$RACK_TLS" = 1 ]; then
			# RACK_KEYS, when set, replaces the rack's keyring
			pki_tls_section "$RACK_DIR/pki" "$i" |
				sed "${RACK_KEYS:+s|^rack_keys = .*|rack_keys = $RACK_KEYS|}"
			echo "read_ca = $RACK_DIR/pki/read-ca.crt"
		else
			printf '[tls]\ninsecure = true\n'
			[ -z "${RACK_KEYS:-}" ] || echo "rack_keys = $RACK_KEYS"
		fi
	} >"$(rack_conf "$i")"
}

# rack_init N: temp dir, ports, configs for nodes 1..N; installs the trap.
rack_init() {
	RACK_N=$1
	[ -x "$RTVD" ] || { rack_log "$RTVD is not built (make build)"; return 1; }
	[ -x "$RTVCTL" ] || { rack_log "$RTVCTL is not built (make build)"; return 1; }
	RACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtv-rack.XXXXXX") || return 1
	trap rack_cleanup EXIT
	trap 'exit 130' INT TERM
	rack_pick_ports "$RACK_N" || return 1
	local i
	if [ "$RACK_TLS" = 1 ]; then
		pki_rack "$RACK_DIR/pki" || return 1
	fi
	for i in $(seq 1 "$RACK_N"); do rack_write_conf "$i"; done
	rack_log "rack of $RACK_N in $RACK_DIR, ports $((RACK_PORT_BASE + 1))-$((RACK_PORT_BASE + 50 + RACK_N))"
}

# rack_start I: starts node I in the background (appending to its log).
rack_start() {
	local i=$1
	"$RTVD" -c "$(rack_conf "$i")" >>"$(rack_logfile "$i")" 2>&1 &
	RACK_PID[$i]=$!
}

rack_start_all() {
	local i
	for i in $(seq 1 "$RACK_N"); do rack_start "$i"; done
}

rack_pid() { echo "${RACK_PID[$1]:-}"; }

rack_alive() {
	local p=${RACK_PID[$1]:-}
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# rack_kill I: kill -9, and reap it.
rack_kill() {
	local p=${RACK_PID[$1]:-}
	[ -n "$p" ] || return 0
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	RACK_PID[$1]=
}

# rack_stop I [timeout_s]: SIGTERM (leadership hand-over), then kill -9.
rack_stop() {
	local i=$1 t=${2:-5} p=${RACK_PID[$1]:-} k
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for k in $(seq 1 $((t * 20))); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	RACK_PID[$i]=
}

rack_tail_logs() {
	local i
	for i in $(seq 1 "$RACK_N"); do
		echo "--- tail of node $i's log"
		tail -n 15 "$(rack_logfile "$i")" 2>/dev/null
	done
}

rack_cleanup() {
	local rc=$? i
	trap - EXIT
	for i in "${!RACK_PID[@]}"; do
		[ -n "${RACK_PID[$i]}" ] && kill -9 "${RACK_PID[$i]}" 2>/dev/null
	done
	for i in "${!RACK_PID[@]}"; do
		[ -n "${RACK_PID[$i]}" ] && wait "${RACK_PID[$i]}" 2>/dev/null
	done
	RACK_PID=()
	if [ -n "$RACK_DIR" ] && [ -d "$RACK_DIR" ]; then
		if [ "${RACK_KEEP:-0}" = 1 ] || { [ $rc != 0 ] && [ "${RACK_KEEP_ON_FAIL:-0}" = 1 ]; }; then
			rack_log "kept $RACK_DIR"
		else
			rm -rf "$RACK_DIR"
		fi
	fi
	RACK_DIR=
	return $rc
}

# rack_ctl I ARGS...: rtvctl against node I's CLI socket.
rack_ctl() {
	local i=$1
	shift
	"$RTVCTL" -s "$(rack_sock "$i")" "$@"
}

# rack_json_field KEY < json: a top-level scalar of rtvctl's indented JSON.
rack_json_field() {
	sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n1
}

# rack_role I: node I's role ("leader", "follower", ...) or "down".
rack_role() {
	local out
	out=$(rack_ctl "$1" --timeout 1s status -o json 2>/dev/null) || { echo down; return; }
	echo "$out" | rack_json_field role
}

# rack_leader_of I: the leader id node I knows (0 = none).
rack_leader_of() {
	local out
	out=$(rack_ctl "$1" --timeout 1s status -o json 2>/dev/null) || { echo 0; return; }
	echo "$out" | rack_json_field leader
}

# rack_wait_leader TIMEOUT_S [EXCEPT]: waits until a live node (other than
# EXCEPT) is leader and every live node agrees; prints its id.
rack_wait_leader() {
	local t=${1:-10} except=${2:-0} end i l agree cand
	end=$((SECONDS + t))
	while [ $SECONDS -lt "$end" ]; do
		cand=0
		agree=1
		for i in $(seq 1 "$RACK_N"); do
			rack_alive "$i" || continue
			l=$(rack_leader_of "$i")
			if [ -z "$l" ] || [ "$l" = 0 ] || [ "$l" = "$except" ]; then agree=0; break; fi
			if [ $cand = 0 ]; then cand=$l; elif [ "$cand" != "$l" ]; then agree=0; break; fi
		done
		if [ $agree = 1 ] && [ $cand != 0 ] && [ "$(rack_role "$cand")" = leader ]; then
			echo "$cand"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# rack_follower LEADER: some live node that is not LEADER.
rack_follower() {
	local i
	for i in $(seq 1 "$RACK_N"); do
		if [ "$i" != "$1" ] && rack_alive "$i"; then echo "$i"; return 0; fi
	done
	return 1
}

# rack_path_ids I [--linearizable]: the rtpath ids node I holds, one a line, sorted.
rack_path_ids() {
	local i=$1
	shift
	rack_ctl "$i" "$@" paths | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -n
}

# rack_applied I: node I's applied index.
rack_applied() {
	rack_ctl "$1" --timeout 1s status -o json 2>/dev/null | rack_json_field applied
}
