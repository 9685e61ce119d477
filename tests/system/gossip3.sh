#!/usr/bin/env bash
# gossip3.sh — three real rtvd processes on loopback with [gossip]: every
#   agent's `status` shows all three members alive with their facts; after
#   kill -9 of one, both survivors mark it dead (the time it took is printed,
#   an indication only: loopback, 200 ms probes); a bad [gossip] key is
#   refused at start with a message.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd jq
on_fail() { rack_tail_logs; }

RACK_GOSSIP=1 rack_init 3 || exit 1
rack_start_all

# members I STATE: names node I holds in STATE, sorted, space-separated.
members() {
	rack_ctl "$1" --timeout 2s -o json status 2>/dev/null |
		jq -r --arg s "$2" '[.gossip.members[] | select(.state == $s) | .name] | sort | join(" ")'
}

step "all three agents see all three members alive"
for t in $(seq 1 100); do
	all=1
	for i in 1 2 3; do [ "$(members "$i" alive)" = "h1 h2 h3" ] || all=0; done
	[ $all = 1 ] && break
	sleep 0.1
done
if [ $all = 1 ]; then ok "h1 h2 h3 alive everywhere"; else bad "views: $(members 1 alive) | $(members 2 alive) | $(members 3 alive)"; fi

step "facts: memory, CPU and version of h2 as h1 sees them"
sleep 1
f=$(rack_ctl 1 -o json status | jq -c '.gossip.members[] | select(.name == "h2")')
if jq -e '.mem_total_bytes > 0 and .mem_avail_bytes > 0 and (.version | startswith("rtvd "))' <<<"$f" >/dev/null; then
	ok "$f"
else
	bad "h2's facts at h1: $f"
fi

step "rtvctl status shows the gossip view as a table"
rack_ctl 2 status >"$RACK_DIR/st" 2>&1
if grep -q '^MEMBER' "$RACK_DIR/st" && [ "$(grep -cE '^h[123] +alive' "$RACK_DIR/st")" = 3 ]; then
	ok "$(sed -n '/^gossip:/,$p' "$RACK_DIR/st" | head -5 | tr '\n' '|')"
else
	bad "status: $(cat "$RACK_DIR/st")"
fi

step "kill -9 h3: h1 and h2 mark it dead"
t0=$(date +%s%N)
rack_kill 3
for t in $(seq 1 300); do
	[ "$(members 1 dead)" = h3 ] && [ "$(members 2 dead)" = h3 ] && break
	sleep 0.1
done
if [ "$(members 1 dead)" = h3 ] && [ "$(members 2 dead)" = h3 ]; then
	ok "h3 dead at h1 and h2 after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
	bad "after 30 s: dead at h1 '$(members 1 dead)', at h2 '$(members 2 dead)'"
fi
[ "$(members 1 alive)" = "h1 h2" ] && ok "h1 h2 still alive at h1" || bad "alive at h1: $(members 1 alive)"

step "a bad [gossip] key is refused with a message"
conf=$RACK_DIR/bad.conf
sed 's/^probe_timeout = .*/probe_timeout = soon/' "$(rack_conf 3)" >"$conf"
if out=$("$RTVD" -c "$conf" 2>&1); then
	bad "rtvd started with probe_timeout = soon"
else
	grep -q 'probe_timeout' <<<"$out" && ok "refused: $(head -c 200 <<<"$out")" || bad "message: $out"
fi

finish
