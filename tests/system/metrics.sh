#!/usr/bin/env bash
# metrics.sh — rtvd's /metrics, the Prometheus config and the Grafana
# dashboards, tested against a real Prometheus (issue 7):
#   three rtvd on loopback serve /metrics ([metrics] listen); each scrape is
#   HTTP 200 in text format 0.0.4 and passes `promtool check metrics`; the
#   numbers agree with the rack (leader, rtpaths, links, the rtpath cap and
#   its "other" aggregate, refused commands, commit latency); promtool checks
#   the scrape config and the alert rules and runs their unit tests; a real
#   Prometheus (127.0.0.1, temp storage, file_sd targets from gen-targets.sh)
#   scrapes the rack while reservations come and go; the dashboards pass the
#   lint (against the rack's scrapes and docs/metrics.md) and EVERY panel
#   query is evaluated through /api/v1/query (dashboards/eval-queries.sh:
#   "data"; NaN quantiles of a histogram without observations only for a
#   metric docs/metrics.md marks pending or whose source, the dataplane or
#   OVS, this loopback rack does not run; anything else fails); the alert rules evaluate and none fires on a healthy rack;
#   rtvd stops cleanly with scrapes in flight.
# METRICS_FIGURES=FILE: where to copy the query counts (bench_metrics reads
# them). Each step prints what it checks; everything started is stopped.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"

DASH=$RACK_ROOT/dashboards
DOCS=$RACK_ROOT/docs/metrics.md
RATE=1M		# per reservation
PROM_PID=
LOAD_PID=
on_fail() {
	rack_tail_logs
	[ -f "$RACK_DIR/prom/prom.log" ] && { echo "--- prometheus log"; tail -n 15 "$RACK_DIR/prom/prom.log"; }
}
cleanup_all() {
	local rc=$?
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	(exit $rc)
	rack_cleanup
}

mport() { echo $((RACK_PORT_BASE + 80 + $1)); }
murl() { echo "http://127.0.0.1:$(mport "$1")/metrics"; }
# value FILE NAME{labels}: the value of one exact sample line ("" if absent)
value() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }
scrape() { curl -sS --max-time 5 -o "$RACK_DIR/metrics.$1" -D "$RACK_DIR/headers.$1" "$(murl "$1")"; }
prom_query() {
	curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

step "tools: curl, jq, promtool, prometheus"
need_cmd curl jq promtool prometheus
ok "$(prometheus --version 2>&1 | head -n1)"

step "start 3 rtvd on loopback, each with [metrics] listen (node 1: rtpath_cap = 2)"
rack_init 3 || exit 1
trap cleanup_all EXIT
PROM_PORT=$((RACK_PORT_BASE + 90))
for i in 1 2 3; do
	rack_port_free "$(mport $i)" || die "port $(mport $i) is in use"
	printf '[metrics]\nlisten = 127.0.0.1:%d\n' "$(mport $i)" >>"$(rack_conf $i)"
done
rack_port_free $PROM_PORT || die "port $PROM_PORT is in use"
printf 'rtpath_cap = 2\n' >>"$(rack_conf 1)"
rack_start_all
leader=$(rack_wait_leader 15) || die "no leader within 15 s"
follower=$(rack_follower "$leader")
end=$((SECONDS + 10))
until [ "$(rack_ctl "$leader" --linearizable hosts 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l)" = 3 ]; do
	[ $SECONDS -lt $end ] || die "the hosts did not register within 10 s"
	sleep 0.1
done
ok "leader node $leader; 3 hosts registered; metrics on ports $(mport 1)-$(mport 3)"

step "VMs on each host; 4 rtpaths from h1 (cap 2 there), 1 from h2, 1 from h3; one refused"
for i in 1 2 3; do
	rack_ctl "$follower" vm add --uuid "vm$i" --name "vm$i" --host "$i" --ip "10.0.0.$i" >/dev/null ||
		die "vm add vm$i failed"
done
reserve() {	# SRC DST DPORT TYPE DEADLINE
	rack_ctl "$follower" reserve --src "10.0.0.$1" --dst "10.0.0.$2" --proto udp --dport "$3" \
		--type "$4" --rate $RATE --deadline "$5"
}
for p in 1 2 3 4; do reserve 1 2 $p deadline "$((p + 1))ms" >/dev/null || die "reserve h1->h2 :$p failed"; done
reserve 2 3 5 reservation 10ms >/dev/null || die "reserve h2->h3 failed"
reserve 3 1 6 deadline 8ms >/dev/null || die "reserve h3->h1 failed"
rack_ctl "$follower" reserve --src 10.0.0.1 --dst 10.0.0.3 --proto udp --dport 7 --type deadline \
	--rate 9G --deadline 5ms >/dev/null 2>&1
[ $? = 1 ] && ok "6 rtpaths admitted; a 9 Gbit/s one refused (exit 1)" || bad "the 9 Gbit/s reservation was not refused"
# every replica has applied everything before the scrape
applied=$(rack_applied "$leader")
for i in 1 2 3; do
	end=$((SECONDS + 5))
	until [ "$(rack_applied $i)" -ge "$applied" ] 2>/dev/null; do
		[ $SECONDS -lt $end ] || die "node $i did not catch up"
		sleep 0.05
	done
done

step "scrape every agent: HTTP 200, Content-Type 0.0.4, promtool check metrics"
for i in 1 2 3; do
	scrape $i || { bad "scraping node $i failed"; continue; }
	code=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$RACK_DIR/headers.$i")
	ctype=$(sed -n 's/^[Cc]ontent-[Tt]ype: *\(.*\)\r$/\1/p' "$RACK_DIR/headers.$i")
	[ "$code" = 200 ] || bad "node $i: HTTP $code"
	[[ $ctype == "text/plain; version=0.0.4"* ]] || bad "node $i: Content-Type \"$ctype\""
	if out=$(promtool check metrics <"$RACK_DIR/metrics.$i" 2>&1); then
		ok "node $i: HTTP $code, $ctype, $(wc -c <"$RACK_DIR/metrics.$i") bytes, $(grep -vc '^#' "$RACK_DIR/metrics.$i") samples, promtool: clean"
	else
		bad "node $i: promtool check metrics: $out"
	fi
done
curl -sf "http://127.0.0.1:$(mport 1)/" | grep -q /metrics && ok "/ points to /metrics" || bad "/ does not answer"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(mport 1)/nope" | grep -q 404 &&
	ok "/nope: 404" || bad "/nope did not answer 404"

step "the numbers agree with the rack"
M() { echo "$RACK_DIR/metrics.$1"; }
# what the replicated state says h1->tor carries (bit/s in rtvctl, bytes/s here)
want_link=$(rack_ctl "$leader" links -o json | jq '[.. | objects | select(.a? == "h1" and .b? == "tor")
	| .reserved_ab_bps][0] / 8')
n_leaders=0
f0=$failures
for i in 1 2 3; do
	[ "$(value "$(M $i)" rtvnet_raft_is_leader)" = 1 ] && { n_leaders=$((n_leaders + 1)); said=$i; }
	[ "$(value "$(M $i)" rtvnet_raft_leader_node)" = "$leader" ] || bad "node $i: rtvnet_raft_leader_node is not $leader"
	[ "$(value "$(M $i)" 'rtvnet_build_info{version="0.3.0",protocol="1"}')" = 1 ] || bad "node $i: rtvnet_build_info"
	[ "$(value "$(M $i)" rtvnet_state_hosts)" = 3 ] || bad "node $i: rtvnet_state_hosts != 3"
	n=$(awk '$1 ~ /^rtvnet_state_rtpaths\{/ { s += $2 } END { print s + 0 }' "$(M $i)")
	[ "$n" = 6 ] || bad "node $i: rtvnet_state_rtpaths sum to $n, want 6"
	r=$(value "$(M $i)" 'rtvnet_link_reserved_bytes_per_second{link="h1--tor",dir="h1->tor"}')
	[ "$r" = "$want_link" ] || bad "node $i: h1->tor reserved $r B/s, rtvctl links says $want_link"
	[ "$(value "$(M $i)" 'rtvnet_raft_applied_commands_total{op="path_reserve",outcome="refused"}')" = 1 ] ||
		bad "node $i: the refused reservation is not counted"
done
[ $n_leaders = 1 ] && [ "$said" = "$leader" ] || bad "$n_leaders nodes say rtvnet_raft_is_leader 1"
[ $failures = $f0 ] && ok "one rtvnet_raft_is_leader, on node $leader; every node: 3 hosts, 6 rtpaths, h1->tor $want_link B/s reserved as rtvctl links says, 1 refused reserve"
# node 1: cap 2 → rtpaths 1, 2 on their own, 3 (4 ms) and 4 (5 ms) in "other"
m1=$(M 1)
own=$(grep -c '^rtvnet_rtpath_deadline_seconds{rtpath="[0-9]' "$m1")
other=$(value "$m1" 'rtvnet_rtpath_deadline_seconds{rtpath="other",type="deadline"}')
sum=$(awk '$1 ~ /^rtvnet_rtpath_reserved_bytes_per_second\{/ { s += $2 } END { print s + 0 }' "$m1")
agg=$(value "$m1" 'rtvnet_metrics_rtpaths_aggregated{side="tx"}')
if [ "$own" = 2 ] && [ "$other" = 0.004 ] && [ "$sum" = 500000 ] && [ "$agg" = 2 ]; then
	ok "node 1 (cap 2): 2 rtpaths with own series, 2 folded into other (tightest deadline 0.004 s), reserved sums to 4 × 125000 B/s"
else
	bad "node 1 cap: $own own series (want 2), other deadline $other (0.004), reserved sum $sum (500000), aggregated $agg (2)"
fi
[ -n "$(value "$(M 2)" 'rtvnet_rtpath_misses_total{rtpath="1",type="deadline"}')" ] &&
	[ -z "$(value "$(M 1)" 'rtvnet_rtpath_misses_total{rtpath="1",type="deadline"}')" ] &&
	ok "rtpath 1's receiver (h2) exports its misses, its sender (h1) does not" ||
	bad "rtpath 1's misses are not on its receiver only"
c=$(value "$(M "$leader")" rtvnet_raft_commit_latency_seconds_count)
[ "${c:-0}" -ge 9 ] 2>/dev/null && ok "leader measured $c commit latencies" || bad "leader's commit latency count is ${c:-absent}"
s=$(awk '$1 ~ /^rtvnet_rpc_requests_total\{op="submit",status="ok"\}/ { s += $2 } END { print s + 0 }' "$(M 1)" "$(M 2)" "$(M 3)")
[ "$s" -ge 9 ] && ok "$s submits answered ok across the agents (forwarded ones count twice)" || bad "only $s submits counted"

step "promtool: scrape config, alert rules, alert unit tests"
out=$(promtool check config "$DASH/prometheus/prometheus.yml" 2>&1) && ok "check config prometheus.yml" || bad "$out"
out=$(promtool check rules "$DASH/prometheus/alerts.yml" 2>&1) &&
	ok "check rules alerts.yml: $(grep -o '[0-9]* rules found' <<<"$out")" || bad "$out"
out=$(cd "$DASH/prometheus" && promtool test rules alerts_test.yml 2>&1) &&
	ok "test rules alerts_test.yml: every alert fires on its condition and clears" || bad "$out"

step "file_sd targets from the host list; Prometheus on 127.0.0.1:$PROM_PORT (1 s scrapes, temp storage)"
P=$RACK_DIR/prom
mkdir -p "$P/targets"
for i in 1 2 3; do echo "h$i 127.0.0.1:$(mport $i)"; done >"$P/hosts.txt"
"$DASH/prometheus/gen-targets.sh" -r lab -o "$P/targets/rtvd.json" "$P/hosts.txt" || die "gen-targets.sh failed"
[ "$(jq length "$P/targets/rtvd.json")" = 3 ] && ok "gen-targets.sh: 3 targets" || bad "gen-targets.sh wrote $(cat "$P/targets/rtvd.json")"
cp "$DASH/prometheus/alerts.yml" "$P/"
sed -e 's/scrape_interval: 15s/scrape_interval: 1s/; s/evaluation_interval: 15s/evaluation_interval: 1s/' \
	-e 's/scrape_timeout: 10s/scrape_timeout: 1s/; s/refresh_interval: 30s/refresh_interval: 1s/' \
	"$DASH/prometheus/prometheus.yml" >"$P/prometheus.yml"
out=$(promtool check config "$P/prometheus.yml" 2>&1) || die "generated config: $out"
prometheus --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$P/prom.log" 2>&1 &
PROM_PID=$!
end=$((SECONDS + 15))
until curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; do
	[ $SECONDS -lt $end ] && kill -0 $PROM_PID 2>/dev/null || die "Prometheus did not get ready"
	sleep 0.1
done
ok "Prometheus ready (pid $PROM_PID)"

# load while Prometheus scrapes: reserve and release through a follower,
# reads on every agent (commit latency, RPC counters and rates move)
(
	k=100
	while :; do
		id=$(rack_ctl "$follower" reserve --src 10.0.0.2 --dst 10.0.0.1 --proto udp --dport $k \
			--type deadline --rate 100k --deadline 20ms 2>/dev/null)
		[ -n "$id" ] && rack_ctl "$leader" release "$id" >/dev/null 2>&1
		rack_ctl $((k % 3 + 1)) status >/dev/null 2>&1
		k=$((k + 1))
		sleep 0.3
	done
) &
LOAD_PID=$!

step "Prometheus scrapes every agent (at least 6 scrapes each)"
end=$((SECONDS + 30))
while :; do
	up=$(prom_query 'count(up{job="rtvd"} == 1)')
	n=$(prom_query 'min(count_over_time(up{job="rtvd"}[1m]))')
	[ "${up:-0}" = 3 ] && [ "${n:-0}" -ge 6 ] && break
	[ $SECONDS -lt $end ] || die "after 30 s: ${up:-0} targets up, ${n:-0} scrapes each"
	sleep 0.5
done
health=$(curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
	jq -r '[.data.activeTargets[] | "\(.labels.host)=\(.health)"] | sort | join(" ")')
ok "3 targets up ($health), $n scrapes each"

step "dashboard lint (uids, datasources, targets, variables; names vs the rack's /metrics and docs/metrics.md)"
for i in 1 2 3; do scrape $i || bad "scraping node $i failed"; done
cat "$RACK_DIR/metrics.1" "$RACK_DIR/metrics.2" "$RACK_DIR/metrics.3" >"$RACK_DIR/metrics.all"
"$DASH/lint.sh" -m "$RACK_DIR/metrics.all" -d "$DOCS" -a "$DASH/prometheus/alerts.yml" "$DASH"/*.json ||
	bad "dashboard lint"

step "every panel query of every dashboard through /api/v1/query"
"$DASH/eval-queries.sh" -p "http://127.0.0.1:$PROM_PORT" -r 30s -d "$DOCS" -i "dataplane openflow" \
	-f "$RACK_DIR/figures" 	"$DASH"/*.json || bad "dashboard queries failed (see FAIL lines)"
[ -n "${METRICS_FIGURES:-}" ] && cp "$RACK_DIR/figures" "$METRICS_FIGURES"
read -r _ with_data < <(grep with_data "$RACK_DIR/figures")
read -r _ total < <(grep total "$RACK_DIR/figures")
read -r _ pend < <(grep pending "$RACK_DIR/figures")
read -r _ idle < <(grep idle "$RACK_DIR/figures")
ok "$with_data of $total queries return numbers; NaN quantiles of empty histograms: $pend not counted yet by their module, $idle from the dataplane, which this loopback rack does not run"

step "alert rules evaluate in Prometheus; none fires on a healthy rack"
rules=$(curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/rules")
n_rules=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
n_ok=$(jq '[.data.groups[].rules[] | select(.health == "ok")] | length' <<<"$rules")
[ "$n_rules" -gt 0 ] && [ "$n_rules" = "$n_ok" ] && ok "$n_ok of $n_rules rules evaluated without error" ||
	bad "rule health: $(jq -c '[.data.groups[].rules[] | {name, health, lastError}]' <<<"$rules")"
active=$(jq -r '[.data.groups[].rules[] | select(.state != "inactive") | .name] | join(" ")' <<<"$rules")
[ -z "$active" ] && ok "no alert pending or firing" || bad "alerts active on a healthy rack: $active"

step "rtvd stops cleanly (exit 0, every handle closed) with scrapes in flight"
kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; LOAD_PID=
victim=$follower
pid=$(rack_pid "$victim")
clients=()
for k in $(seq 1 8); do
	(for j in $(seq 1 20); do curl -s --max-time 2 -o /dev/null "$(murl "$victim")"; done) &
	clients+=($!)
done
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
RACK_PID[$victim]=
wait "${clients[@]}" 2>/dev/null
if [ $rc = 0 ] && ! grep -qE "handle left open|scrapes still posted" "$(rack_logfile "$victim")"; then
	ok "node $victim exited 0 in $ms ms under 8 scraping clients"
else
	bad "node $victim: exit $rc after $ms ms; $(grep -E 'left open|still posted' "$(rack_logfile "$victim")" | head -3)"
fi

finish
