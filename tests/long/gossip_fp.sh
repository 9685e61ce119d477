#!/usr/bin/env bash
# gossip_fp.sh — gossip.false_positive_per_hour on five real rtvd (loopback,
#   200 ms probes, gossip sealed with the rack key): nobody fails, one member
#   (h5) is paused 0.5 s every 10 s (SIGSTOP/SIGCONT) and CPU-starved (nice
#   19, pinned to one CPU beside a busy loop of nice 0), so every dead
#   verdict any member reaches is a false positive. Run with Lifeguard and,
#   as the same-run baseline, without (lifeguard = no), RTV_FP_SECONDS each
#   (default 120 s: one verdict is 30/h, so small rates read as 0 — the
#   resolution is printed). The figure goes to build/bench/results.jsonl.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd jq
need_cmd taskset
on_fail() { rack_tail_logs; }

SECS=${RTV_FP_SECONDS:-120}
OUT=${RTV_BENCH_OUT:-$RACK_ROOT/build/bench/results.jsonl}
KEYS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtv-fpkeys.XXXXXX")
"$RACK_ROOT/pki/rtv-pki.sh" -d "$KEYS_DIR" init >/dev/null || die "rtv-pki.sh init failed"
export RACK_KEYS=$KEYS_DIR/rack.keys
BUSY=

stop_busy() { [ -z "$BUSY" ] || { kill "$BUSY" 2>/dev/null; wait "$BUSY" 2>/dev/null; BUSY=; }; }
cleanup_all() { stop_busy; rack_cleanup; rm -rf "$KEYS_DIR"; }

deaths() {	# every member's dead verdicts so far, space-separated
	local i n all=
	for i in 1 2 3 4 5; do
		n=$(rack_ctl "$i" --timeout 3s -o json members 2>/dev/null | jq -r .deaths) || return 1
		[ -n "$n" ] && [ "$n" != null ] || return 1
		all="$all $n"
	done
	echo $all
}

# run LIFEGUARD(yes|no): prints the false positives counted over SECS
run() {
	local lg=$1 t d0 d1 i
	RACK_GOSSIP_EXTRA="lifeguard = $lg" RACK_GOSSIP=1 rack_init 5 >&2 || return 1
	trap cleanup_all EXIT
	for i in 1 2 3 4; do rack_start "$i"; done
	taskset -c 1 nice -n 19 "$RTVD" -c "$(rack_conf 5)" >>"$(rack_logfile 5)" 2>&1 &
	RACK_PID[5]=$!
	rack_wait_leader 20 >/dev/null || { echo "no leader" >&2; return 1; }
	for t in $(seq 1 300); do
		[ "$(rack_ctl 1 -o json members 2>/dev/null | jq '[.members[] | select(.state == "alive")] | length')" = 5 ] && break
		sleep 0.1
	done
	sleep 5
	d0=$(deaths) || { echo "a member did not answer" >&2; return 1; }
	taskset -c 1 sh -c 'while :; do :; done' &
	BUSY=$!
	for t in $(seq 1 $((SECS / 10))); do
		kill -STOP "${RACK_PID[5]}"; sleep 0.5; kill -CONT "${RACK_PID[5]}"; sleep 9.5
	done
	stop_busy
	sleep 2
	d1=$(deaths) || { echo "a member did not answer" >&2; return 1; }
	rack_cleanup
	read -r -a a <<<"$d0"
	read -r -a b <<<"$d1"
	t=0
	for i in 0 1 2 3 4; do
		printf '   h%d declared %d dead\n' $((i + 1)) $((b[i] - a[i])) >&2
		t=$((t + b[i] - a[i]))
	done
	echo "$t"
}

step "Lifeguard: h5 paused 0.5 s / 10 s and starved, ${SECS} s"
lg=$(run yes) || die "run with Lifeguard failed"
ok "$lg dead verdicts"
step "baseline, same run: lifeguard = no"
sw=$(run no) || die "run without Lifeguard failed"
ok "$sw dead verdicts"
per_h() { awk "BEGIN{print $1 * 3600 / $SECS}"; }
mkdir -p "$(dirname "$OUT")"
printf '{"name": "gossip.false_positive_per_hour", "value": %s, "unit": "1/h", "better": "lower", "baseline": "same run, 5 rtvd, lifeguard = no (resolution %s/h)", "baseline_value": %s}\n' \
	"$(per_h "$lg")" "$(per_h 1)" "$(per_h "$sw")" >>"$OUT"
ok "gossip.false_positive_per_hour = $(per_h "$lg")/h, without Lifeguard $(per_h "$sw")/h (one verdict = $(per_h 1)/h)"
finish
