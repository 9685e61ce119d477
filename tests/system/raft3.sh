#!/usr/bin/env bash
# raft3.sh — three real rtvd processes on loopback (issue 3, "Real processes"):
#   reserve through a follower; kill -9 the leader in the middle of a stream
#   of reservations; every acknowledged reservation is on every survivor and
#   nothing was admitted twice; the killed node restarts from its data dir and
#   catches up; exit codes 1 (refused, link named), 2 (usage), 3 (unavailable).
# Each step prints what it checks. Everything it starts is killed on exit.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd jq
on_fail() { rack_tail_logs; }

STREAM=${RAFT3_STREAM:-200}	# reservations in the stream
KILL_AT=${RAFT3_KILL_AT:-70}	# acknowledged ones before the leader dies

# expect_rc WANT STDERR_PATTERN CMD...: runs CMD, checks exit code and stderr.
expect_rc() {
	local want=$1 pat=$2 rc
	shift 2
	"$@" >"$RACK_DIR/out" 2>"$RACK_DIR/err"
	rc=$?
	if [ $rc != "$want" ]; then
		bad "exit $rc, want $want: $*"; sed 's/^/      /' "$RACK_DIR/err"; return 1
	fi
	if [ -n "$pat" ] && ! grep -qE "$pat" "$RACK_DIR/err"; then
		bad "stderr lacks /$pat/: $(cat "$RACK_DIR/err")"; return 1
	fi
	ok "exit $want${pat:+, stderr says /$pat/}: $(head -c 160 "$RACK_DIR/err")"
}

# id and dport of every rtpath node I holds ("ID DPORT" lines, sorted).
paths_of() {
	local i=$1
	shift
	rack_ctl "$i" --timeout 3s "$@" paths | awk '$1 ~ /^[0-9]+$/ { print $1, $5 }' | sort -n
}

# waits until node I's local copy equals file WANT (catch-up), up to T s.
wait_same_paths() {
	local i=$1 want=$2 t=${3:-10} end=$((SECONDS + ${3:-10}))
	while [ $SECONDS -lt $end ]; do
		paths_of "$i" >"$RACK_DIR/local.$i" 2>/dev/null && cmp -s "$RACK_DIR/local.$i" "$want" && return 0
		sleep 0.1
	done
	return 1
}

step "start 3 rtvd on loopback with separate data dirs"
rack_init 3 || exit 1
rack_start_all
leader=$(rack_wait_leader 15) || die "no leader within 15 s"
follower=$(rack_follower "$leader")
ok "leader is node $leader; node $follower is a follower"

step "every host registered itself (rtvctl hosts)"
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do
	n=$(rack_ctl "$leader" --linearizable hosts 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l)
	[ "$n" = 3 ] && break
	sleep 0.1
done
[ "$n" = 3 ] && ok "3 hosts" || die "$n hosts registered, want 3"

step "register VMs vm1..vm3 (10.0.0.1-3 on hosts 1-3) through the follower"
for i in 1 2 3; do
	rack_ctl "$follower" vm add --uuid "vm$i-uuid" --name "vm$i" --host "$i" --ip "10.0.0.$i" \
		--mac "52:54:00:00:00:0$i" >/dev/null || die "vm add vm$i failed"
done
n=$(rack_ctl "$follower" --linearizable vms | grep -c uuid)
[ "$n" = 3 ] && ok "3 VMs" || bad "$n VMs listed, want 3"

step "reserve through a follower (node $follower): exit 0 and an id"
id=$(rack_ctl "$follower" reserve --src 10.0.0.1 --dst 10.0.0.2 --dport 5000 --proto udp \
	--type deadline --rate 2M --deadline 5ms --burst 3000) || die "reserve via follower failed"
[[ $id =~ ^[0-9]+$ ]] && ok "rtpath $id" || die "reserve printed \"$id\", not an id"
if paths_of "$leader" --linearizable | grep -q "^$id 5000$"; then ok "the leader lists rtpath $id"
else bad "rtpath $id missing on the leader"; fi

step "-o json on a write and on reads is valid JSON"
rack_ctl "$follower" -o json paths "$id" >"$RACK_DIR/j1" && rack_ctl "$follower" -o json status >"$RACK_DIR/j2" ||
	bad "json reads failed"
for f in j1 j2; do
	jq . "$RACK_DIR/$f" >/dev/null 2>&1 && ok "$f parses" || bad "$f is not JSON: $(head -c 200 "$RACK_DIR/$f")"
done

step "exit codes: refused 1 (link named), usage 2, unavailable 3"
expect_rc 1 "link .*cannot take" rack_ctl "$follower" reserve --src 10.0.0.1 --dst 10.0.0.3 \
	--type deadline --rate 6G --deadline 5ms
expect_rc 1 "no rtpath" rack_ctl "$follower" release 999999
expect_rc 2 "a rate needs a unit" rack_ctl "$follower" reserve --src 10.0.0.1 --dst 10.0.0.3 \
	--type deadline --rate 12000 --deadline 5ms
expect_rc 2 "unknown command" rack_ctl "$follower" frobnicate
expect_rc 3 "cannot connect" "$RTVCTL" -s "$RACK_DIR/nobody.sock" --timeout 1s status
expect_rc 3 "did not accept" "$RTVCTL" -s "$RACK_DIR/nobody.sock" --timeout 1s reserve \
	--src 10.0.0.1 --dst 10.0.0.3 --type deadline --rate 1M --deadline 5ms

step "a stream of $STREAM reservations through node $follower; kill -9 the leader (node $leader) after $KILL_AT acks"
: >"$RACK_DIR/acked"
: >"$RACK_DIR/failed"
(
	for k in $(seq 1 "$STREAM"); do
		port=$((10000 + k))
		out=$(rack_ctl "$follower" --timeout 8s reserve --src 10.0.0.1 --dst 10.0.0.3 \
			--dport $port --proto udp --type deadline --rate 1M --deadline 10ms 2>&1)
		rc=$?
		if [ $rc = 0 ]; then echo "$out $port" >>"$RACK_DIR/acked"
		else echo "$port rc=$rc $out" >>"$RACK_DIR/failed"; fi
	done
) &
loop=$!
end=$((SECONDS + 30))
while [ "$(wc -l <"$RACK_DIR/acked")" -lt "$KILL_AT" ] && [ $SECONDS -lt $end ]; do sleep 0.01; done
t_kill=$(date +%s%N)
rack_kill "$leader"
ok "killed node $leader after $(wc -l <"$RACK_DIR/acked") acks"
old=$leader
leader=$(rack_wait_leader 10 "$old") || die "no new leader within 10 s of the kill"
ok "new leader: node $leader ($(( ($(date +%s%N) - t_kill) / 1000000 )) ms after the kill, seen by polling)"
wait $loop
n_ack=$(wc -l <"$RACK_DIR/acked")
n_fail=$(wc -l <"$RACK_DIR/failed")
ok "stream done: $n_ack acknowledged, $n_fail not"
[ "$n_fail" = 0 ] || { bad "$n_fail reservations failed (the client retries until --timeout 8s):"; head -5 "$RACK_DIR/failed"; }

step "every acknowledged reservation is on every survivor; none admitted twice"
sort -n "$RACK_DIR/acked" >"$RACK_DIR/acked.sorted"
paths_of "$leader" --linearizable >"$RACK_DIR/lin" || die "linearizable paths failed"
missing=$(comm -23 <(sort "$RACK_DIR/acked") <(sort "$RACK_DIR/lin") | wc -l)
[ "$missing" = 0 ] && ok "all $n_ack acked ids present with their ports (linearizable)" ||
	bad "$missing acknowledged reservations missing or with another port"
dups=$(awk '{print $2}' "$RACK_DIR/lin" | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && ok "no port reserved twice (exactly-once)" || bad "$dups ports reserved twice"
# A reservation whose rtvctl gave up (exit 3) may still have been applied:
# it is the only kind of extra allowed.
stream_paths=$(awk '$2 > 10000' "$RACK_DIR/lin" | wc -l)
if [ "$stream_paths" -ge "$n_ack" ] && [ "$stream_paths" -le $((n_ack + n_fail)) ]; then
	ok "$stream_paths stream paths for $n_ack acks and $n_fail unacknowledged attempts (no extra)"
else
	bad "$stream_paths stream paths for $n_ack acks and $n_fail unacknowledged attempts"
fi
for i in 1 2 3; do
	[ "$i" = "$old" ] && continue
	if wait_same_paths "$i" "$RACK_DIR/lin" 10; then ok "node $i's local copy is identical ($(wc -l <"$RACK_DIR/lin") paths)"
	else bad "node $i's local copy differs: $(diff "$RACK_DIR/lin" "$RACK_DIR/local.$i" | head -5 | tr '\n' ' ')"; fi
done

step "restart node $old from its data dir: it catches up"
rack_start "$old"
if wait_same_paths "$old" "$RACK_DIR/lin" 15; then ok "node $old lists the same $(wc -l <"$RACK_DIR/lin") paths"
else bad "node $old did not catch up: $(diff "$RACK_DIR/lin" "$RACK_DIR/local.$old" | head -5 | tr '\n' ' ')"; fi
role=$(rack_role "$old")
[ "$role" = follower ] || [ "$role" = leader ] && ok "node $old is a $role again" || bad "node $old role: $role"

step "release through the restarted node"
rel=$(head -n1 "$RACK_DIR/acked.sorted" | awk '{print $1}')
rack_ctl "$old" release "$rel" >/dev/null && ok "released $rel" || bad "release $rel failed"
if paths_of "$leader" --linearizable | grep -q "^$rel "; then bad "$rel still listed"; else ok "$rel gone"; fi

finish
