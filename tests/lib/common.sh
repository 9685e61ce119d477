# common.sh — what every shell test, experiment and benchmark script shares.
# Sourced, not run; bash only. Defines functions and T_NAME, nothing else runs.
#
# Results, one line each (stdout):
#   step TEXT            a heading for the checks that follow
#   ok TEXT              a check that held
#   bad TEXT             a check that did not; counts into $failures
#   check TEXT CMD...    ok or bad from CMD's exit status
#   die TEXT             bad, then the script's on_fail hook if it defines
#                        one (dump its logs there), then exit $T_DIE_RC (1)
#   finish               "NAME: all checks passed", exit 0; or on_fail and
#                        "NAME: N check(s) failed", exit 1
#
# Skips (see docs/testing.md for the rule scripts/run-tests.sh applies):
#   skip REASON          "NAME: skipped (REASON)", exit 77
#   need_root            skip unless root: the one thing CI always has
#   need_cmd CMD...      exit 1 (a failure, not a skip) if a command is
#                        missing: `make deps` installs every one of them
#   need_exec FILE...    exit 1 if a program is not built: `make build`
#
# Namespaces and links:
#   ns NS CMD...                 CMD in network namespace NS
#   quiet_if NS DEV              offloads off (the dataplane must not get GSO
#                                super-frames), link up
#   veth NS_A DEV_A NS_B DEV_B   a veth pair between two namespaces, quiet
#   htb NS DEV RATE              one HTB class at RATE on DEV's root (added,
#                                or its rate changed in place)
#   wire_topology VA HA HB VB RATE
#                                two hosts and their VMs, the dataplane
#                                tests' rack: VA (10.99.0.1, eth0) =vA= HA
#                                =wA= wire, HTB RATE both ways =wB= HB =vB=
#                                VB (10.99.0.2); IPv6 off
#   ns_remove NS...              kills what runs in each namespace, deletes it
#
# A test on a lab rack of its own (tests/lab/lab.sh):
#   lab_test TAG                 needs root, Open vSwitch, jq, rtvd and
#                                rtvgen; RUN = a new temp folder; exports
#                                RTV_LAB_PREFIX=TAG<pid>, RTV_LAB_DIR=$RUN/lab
#                                and LAB_QUIET=1, so a lab someone else has
#                                up stays untouched; at exit (a trap the
#                                script may replace) kills $pids and
#                                $hop_pids, takes the lab down, removes RUN
#                                (kept with KEEP=1)
#   lab_claims SCRIPT DIR ARGS...
#                                tests/lab/SCRIPT (exp2.sh, exp3.sh,
#                                leaderkill.sh) --keep ARGS into DIR (log
#                                DIR.log): its table printed, each claim that
#                                held ok, each that failed bad; dies if the
#                                script broke (exit 2+)
#   claims_report NAME LOG RC    the same from a log and exit status of a
#                                lab script run some other way
#
# Waiting:
#   wait_for SECONDS CMD...      polls CMD (output discarded) every
#                                $WAIT_POLL seconds (0.2) until it succeeds;
#                                1 after SECONDS (whole) have passed
#
# UDP: the command of tests/lib/udp.py (UDP probes: `$UDP send|recv ...`).
# T_NAME (default: the script's file name without .sh) prefixes the closing
# and skip lines; set it before sourcing to change it.

T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_SKIP=77	# automake's skip status; scripts/run-tests.sh counts it apart
T_DIE_RC=${T_DIE_RC:-1}
UDP="python3 $T_ROOT/tests/lib/udp.py"	# the dataplane tests' UDP probes (udp.py send|recv)
failures=${failures:-0}
pids=() hop_pids=()	# background processes a script started

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() { printf '   FAIL: %s\n' "$*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
die() {
	bad "$*"
	if declare -F on_fail >/dev/null; then on_fail; fi
	exit "$T_DIE_RC"
}
finish() {
	echo
	if [ "$failures" -eq 0 ]; then
		echo "$T_NAME: all checks passed"
		exit 0
	fi
	if declare -F on_fail >/dev/null; then on_fail; fi
	echo "$T_NAME: $failures check(s) failed"
	exit 1
}

skip() { echo "$T_NAME: skipped ($*)"; exit $T_SKIP; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root: network namespaces"; }
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null ||
			{ echo "$T_NAME: FAIL: $c is missing (make deps installs it)"; exit 1; }
	done
}
need_exec() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || { echo "$T_NAME: FAIL: $f is not built (make build)"; exit 1; }
	done
}

lab_test() {
	need_root
	need_cmd ovs-vswitchd jq
	need_exec "$T_ROOT/build/bin/rtvd" "$T_ROOT/build/bin/rtvgen"
	RUN=$(mktemp -d "/tmp/rtv-$T_NAME.XXXXXX")
	export RTV_LAB_PREFIX=$1$$ RTV_LAB_DIR=$RUN/lab LAB_QUIET=1
	trap lab_test_cleanup EXIT
	trap 'exit 130' INT TERM
}
lab_test_cleanup() {
	local p
	for p in "${pids[@]}" "${hop_pids[@]}" ${hop_cpu_pid:-}; do kill "$p" 2>/dev/null; done
	"$T_ROOT/tests/lab/lab.sh" down >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then echo "$T_NAME: kept $RUN"; else rm -rf "$RUN"; fi
}

lab_claims() {
	local script=$1 dir=$2 name
	shift 2
	name=$(basename "$script" .sh)
	"$T_ROOT/tests/lab/$script" --keep --results "$dir" "$@" >"$dir.log" 2>&1
	claims_report "$name" "$dir.log" $?
}
# claims_report NAME LOG RC: a lab script's table and claims from its LOG and
# exit status RC: each claim that held ok, each that failed bad
claims_report() {
	local name=$1 log=$2 rc=$3 c
	[ "$rc" -le 1 ] || die "$name broke (exit $rc): $(tail -n 5 "$log")"
	sed -n '/^[A-Z]/,/^results:/p' "$log" |
		grep -v '^results:\|^plot:\|^Claims:\|^  holds: \|^  FAILED: ' | sed 's/^/   /'
	while read -r c; do ok "$name: $c"; done < <(sed -n 's/^  holds: //p' "$log")
	while read -r c; do bad "$name: $c"; done < <(sed -n "s/^$name: claim failed: //p" "$log")
	[ "$rc" = 0 ] || grep -q "^$name: claim failed" "$log" || bad "$name: exit 1 without a named claim"
}

ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
quiet_if() {
	ns "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1
	ns "$1" ip link set "$2" up
}
# Both ends are made under temporary names in this namespace, then moved
# and renamed: the final names (eth0, wA...) may exist here already. A pair
# left half-built is removed.
veth() {
	local a=vt$$a b=vt$$b
	if ip link add "$a" type veth peer name "$b" &&
		ip link set "$a" netns "$1" && ip link set "$b" netns "$3" &&
		ns "$1" ip link set "$a" name "$2" && ns "$3" ip link set "$b" name "$4"; then
		quiet_if "$1" "$2" && quiet_if "$3" "$4"
		return
	fi
	ip link del "$a" 2>/dev/null
	ns "$1" ip link del "$a" 2>/dev/null
	return 1
}
htb() {
	local verb=add
	ns "$1" tc qdisc show dev "$2" | grep -q htb && verb=change
	if [ $verb = add ]; then ns "$1" tc qdisc add dev "$2" root handle 1: htb default 10 || return 1; fi
	ns "$1" tc class $verb dev "$2" parent 1: classid 1:10 htb rate "$3" ceil "$3" quantum 1514
}

wire_topology() {
	local n
	for n in "$1" "$2" "$3" "$4"; do
		ip netns add "$n" || return 1
		ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ns "$n" ip link set lo up
	done
	veth "$1" eth0 "$2" vA && veth "$2" wA "$3" wB && veth "$3" vB "$4" eth0 || return 1
	ns "$1" ip addr add 10.99.0.1/24 dev eth0 && ns "$4" ip addr add 10.99.0.2/24 dev eth0 || return 1
	htb "$2" wA "$5" && htb "$3" wB "$5"
}
ns_remove() {
	local n p
	for n in "$@"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
}

wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while [ "${EPOCHREALTIME/./}" -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep "${WAIT_POLL:-0.2}"
	done
	return 1
}
