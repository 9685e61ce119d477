#!/usr/bin/env bash
# lab_metrics.sh — rtvnet's metrics, dashboards and alerts on the lab rack,
# through a real Prometheus (issue 7). Checks, each printed as it runs:
#   1. a 3x2 lab rack at 20 Mbit/s with rtvd (tests/lab/lab.sh up, rtvd-up);
#      Prometheus (the Debian package) in the lab's management namespace on
#      10.1.0.254, temp storage, 1 s scrapes and rule evaluations, targets
#      from dashboards/prometheus/gen-targets.sh (h1..h3 = 10.1.0.H:9464) and
#      dashboards/prometheus/alerts.yml as it is (copied, not changed);
#   2. every rtvd is scraped (up == 1 for 3 targets), each host's /metrics
#      passes `promtool check metrics`, the dashboards pass lint.sh against
#      the lab's scrapes, every alert rule evaluates;
#   3. experiment 3 (tests/lab/exp3.sh) runs on this rack: A and B miss when
#      flow C joins their ToR class, the sender escalates them, the misses
#      stop. Once both are escalated, while the misses are in the 1 min rate
#      window and A and B still run, EVERY panel query of every dashboard is
#      evaluated through /api/v1/query (dashboards/eval-queries.sh with no
#      idle source: this rack runs the dataplane and OVS) and must be "data";
#   4. RtvnetDeadlineMisses (the real rule: rate over 1 min > 1/s for 30 s)
#      fires for the escalated rtpaths within 60 s of C's first packet, and
#      is resolved within 120 s of it while A and B still send: it clears
#      because escalation stopped the misses, not because the traffic ended.
#      A and B therefore run for EXP3_DURATION (default 75s, C joins at 4 s);
#   5. no other alert fires at any time (a healthy rack: OVS connected, a
#      leader, every rtvd up). A pending one is printed, not failed: with
#      1 s scrapes on this loaded machine a scrape can time out, and for
#      that moment the rack's series lack one host (RtvnetNoRaftLeader
#      pending when it was the leader's); the rules' `for:` is there so
#      that such a moment does not fire;
#   6. lab.sh down removes every namespace and process (Prometheus too).
# EXP3_ARGS: more exp3.sh options (a negative control: "--miss-count 100000"
# never escalates, and checks 3 and 4 fail).
# METRICS_FIGURES=FILE: the query counts (with_data, total, ...), as
# tests/system/metrics.sh writes them. LAB_METRICS_KEEP=1: keep the run's
# folder (exp3's results, Prometheus' alert polls, the query outcomes). Uses
# its own namespace prefix and directory: a lab you have up is untouched.
# About 2 minutes 15 s.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
. "$ROOT/tests/lib/common.sh"
need_root
need_cmd prometheus promtool curl
lab_test rlm
DASH=$ROOT/dashboards
DOCS=$ROOT/docs/metrics.md
P=$RTV_LAB_PREFIX
PROM=10.1.0.254:9090	# in the management namespace: no clash with the machine's ports
DURATION=${EXP3_DURATION:-75s}
JOIN=4s
POLL_PID='' EXP3_PID=''

on_fail() {
	local h
	for h in 1 2 3; do tail -n 6 "$RUN/lab/h$h/rtvd.log" 2>/dev/null | sed "s/^/      h$h: /"; done
	tail -n 6 "$RUN/prom/prom.log" 2>/dev/null | sed 's/^/      prometheus: /'
	tail -n 12 "$RUN/exp3.log" 2>/dev/null | sed 's/^/      exp3: /'
}
stop() {	# stop PID: TERM, then wait for it
	[ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
	return 0
}
cleanup() {
	stop "$POLL_PID"
	stop "$EXP3_PID"	# its own trap releases A and B and stops rtvgen
	[ -f "$RUN/prom/pid" ] && kill "$(cat "$RUN/prom/pid")" 2>/dev/null
	"$LAB" down >/dev/null 2>&1	# also kills whatever still runs in the namespaces
	if [ -n "${LAB_METRICS_KEEP:-}" ]; then echo "lab_metrics: results kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mgmt() { "$LAB" exec mgmt "$@"; }
api() { mgmt curl -sf --max-time 5 -G "http://$PROM/api/v1/$1" "${@:2}"; }
# pq EXPR: the first sample's value of an instant query ("" if none)
pq() { api query --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
now() { date +%s.%N; }
rel() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f s", a - b }'; }
wait_for() {	# wait_for SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
	return 1
}

step "1. a 3x2 lab rack at 20 Mbit/s with rtvd (prefix $P); Prometheus in ${P}mgmt on $PROM"
"$LAB" up -n 3 -v 2 -r 20mbit >"$RUN/up.log" 2>&1 || die "lab.sh up: $(tail -n 3 "$RUN/up.log")"
"$LAB" rtvd-up >"$RUN/rtvd-up.log" 2>&1 || die "lab.sh rtvd-up: $(tail -n 3 "$RUN/rtvd-up.log")"
ok "rack up with rtvd, $SECONDS s; [metrics] listen = 10.1.0.H:9464 on each host's m0"
R=$RUN/prom
mkdir -p "$R/targets"
for h in 1 2 3; do echo "h$h 10.1.0.$h:9464"; done >"$R/hosts.txt"
"$DASH/prometheus/gen-targets.sh" -r lab -o "$R/targets/rtvd.json" "$R/hosts.txt" || die "gen-targets.sh failed"
cp "$DASH/prometheus/alerts.yml" "$R/"
sed -e 's/scrape_interval: 15s/scrape_interval: 1s/; s/evaluation_interval: 15s/evaluation_interval: 1s/' \
	-e 's/scrape_timeout: 10s/scrape_timeout: 1s/; s/refresh_interval: 30s/refresh_interval: 1s/' \
	"$DASH/prometheus/prometheus.yml" >"$R/prometheus.yml"
grep -q 'scrape_interval: 1s' "$R/prometheus.yml" && grep -q 'evaluation_interval: 1s' "$R/prometheus.yml" ||
	die "the 1 s intervals did not apply to dashboards/prometheus/prometheus.yml"
out=$(promtool check config "$R/prometheus.yml" 2>&1) || die "promtool check config: $out"
mgmt sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$R/pid" prometheus --config.file="$R/prometheus.yml" \
	--storage.tsdb.path="$R/data" --web.listen-address="$PROM" --log.level=warn >"$R/prom.log" 2>&1 &
wait_for 20 api status/buildinfo || die "Prometheus did not answer on $PROM within 20 s"
ok "Prometheus $(api status/buildinfo | jq -r .data.version) ready in ${P}mgmt (pid $(cat "$R/pid")), alerts.yml as in the repo"

# every alert Prometheus reports, once a second until the end:
# "unix_time name state rtpath active_at" lines ("unix_time -" when none,
# "unix_time ?" when Prometheus did not answer)
poll_alerts() {
	local t a
	while :; do
		t=$(now)
		if a=$(api alerts) && a=$(jq -r '.data.alerts[] |
			"\(.labels.alertname) \(.state) \(.labels.rtpath // "-") \(.activeAt)"' <<<"$a"); then
			[ -n "$a" ] && sed "s/^/$t /" <<<"$a" || echo "$t -"
		else
			echo "$t ?"	# no answer: neither "none" nor an alert
		fi
		sleep 1
	done
}
poll_alerts >"$R/alerts.txt" 2>/dev/null &
POLL_PID=$!

step "2. every rtvd scraped; promtool check metrics on each host; lint; rules evaluate"
scraped() { [ "$(pq 'count(up{job="rtvd"} == 1)')" = 3 ] && [ "$(pq 'min(count_over_time(up{job="rtvd"}[1m]))')" -ge 3 ]; }
if wait_for 30 scraped; then
	ok "up == 1 for 3 targets ($(api targets | jq -r '[.data.activeTargets[] | "\(.labels.host)=\(.scrapeUrl | sub("/metrics"; ""))"] | sort | join(" ")'))"
else
	bad "after 30 s: $(api targets | jq -c '[.data.activeTargets[] | {host: .labels.host, health, lastError}]')"
fi
for h in 1 2 3; do
	mgmt curl -sf --max-time 5 -o "$RUN/metrics.h$h" "http://10.1.0.$h:9464/metrics" ||
		{ bad "h$h: scraping 10.1.0.$h:9464 from ${P}mgmt failed"; continue; }
	if out=$(promtool check metrics <"$RUN/metrics.h$h" 2>&1); then
		ok "h$h: $(grep -vc '^#' "$RUN/metrics.h$h") samples, promtool check metrics: clean"
	else
		bad "h$h: promtool check metrics: $out"
	fi
done
cat "$RUN"/metrics.h[123] >"$RUN/metrics.all" 2>/dev/null
"$DASH/lint.sh" -m "$RUN/metrics.all" -d "$DOCS" -a "$DASH/prometheus/alerts.yml" "$DASH"/*.json \
	>"$RUN/lint.log" 2>&1 && ok "dashboards/lint.sh against the lab's scrapes: $(tail -n 1 "$RUN/lint.log")" ||
	bad "dashboards/lint.sh: $(grep FAIL "$RUN/lint.log" | head -5)"
rules=$(api rules)
n_rules=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
n_ok=$(jq '[.data.groups[].rules[] | select(.health == "ok")] | length' <<<"$rules")
[ "${n_rules:-0}" -gt 0 ] && [ "$n_rules" = "$n_ok" ] && ok "$n_ok of $n_rules alert rules evaluated without error" ||
	bad "rule health: $(jq -c '[.data.groups[].rules[] | {name, health, lastError}]' <<<"$rules")"

step "3. experiment 3 (A and B $DURATION, C joins at $JOIN); every dashboard query while the misses are in the rate window"
t_exp=$(now)
# shellcheck disable=SC2086	# EXP3_ARGS: words
"$ROOT/tests/lab/exp3.sh" --duration "$DURATION" --join-at "$JOIN" --keep --results "$RUN/exp3" ${EXP3_ARGS:-} \
	>"$RUN/exp3.log" 2>&1 &
EXP3_PID=$!
# A and B's ids: exp3 prints "rtpath N = A ..."
wait_for 30 grep -q '^exp3: rtpath [0-9]* = B ' "$RUN/exp3.log" ||
	die "exp3 did not reserve A and B within 30 s"
id_a=$(sed -n 's/^exp3: rtpath \([0-9]*\) = A .*/\1/p' "$RUN/exp3.log")
id_b=$(sed -n 's/^exp3: rtpath \([0-9]*\) = B .*/\1/p' "$RUN/exp3.log")
ok "exp3: A = rtpath $id_a, B = rtpath $id_b, escalation policy on both"
# escalated: the sender's rtvnet_rtpath_escalation_level, as Prometheus scraped it
escalated() { [ "$(pq "count(rtvnet_rtpath_escalation_level{rtpath=~\"$id_a|$id_b\"} >= 1)")" = 2 ]; }
if wait_for 40 escalated; then
	t_esc=$(now)
	ok "Prometheus sees A and B at escalation level 1, $(rel "$t_esc" "$t_exp") after exp3 started"
else
	t_esc=$(now)
	bad "A and B not both escalated in Prometheus 40 s into exp3 (levels: $(api query --data-urlencode \
		'query=rtvnet_rtpath_escalation_level' | jq -c '[.data.result[] | {rtpath: .metric.rtpath, v: .value[1]}]'))"
fi
sleep 3	# the misses' last scrapes are in
misses=$(pq "round(sum(increase(rtvnet_rtpath_misses_total{rtpath=~\"$id_a|$id_b\"}[1m])))")
ok "misses of A and B in the last minute, as Prometheus has them: ${misses:-none}"
mgmt "$DASH/eval-queries.sh" -p "http://$PROM" -r 1m -d "$DOCS" -i "" -f "$RUN/figures" "$DASH"/*.json \
	>"$RUN/eval.log" 2>&1
eval_rc=$?
grep -v '^   data ' "$RUN/eval.log" | grep -v '^   var ' | grep -v 'dashboard queries:' | sed 's/^/   /'
grep '^   var ' "$RUN/eval.log"
read -r _ with_data < <(grep '^with_data ' "$RUN/figures" 2>/dev/null)
read -r _ total < <(grep '^total ' "$RUN/figures" 2>/dev/null)
[ -n "${METRICS_FIGURES:-}" ] && [ -f "$RUN/figures" ] && cp "$RUN/figures" "$METRICS_FIGURES"
if [ $eval_rc -eq 0 ] && [ -n "${total:-}" ] && [ "$total" -gt 0 ] && [ "$with_data" = "$total" ]; then
	ok "$with_data of $total dashboard queries return data (no idle source, none pending)"
else
	bad "dashboard queries: ${with_data:-?} of ${total:-?} with data ($(tail -n 1 "$RUN/eval.log"))"
fi
wait "$EXP3_PID"
exp3_rc=$?
EXP3_PID=
claims_report exp3 "$RUN/exp3.log" $exp3_rc

step "4. RtvnetDeadlineMisses fires for the escalated rtpaths and clears while A and B still send"
c0=$(awk -F, 'NR == 2 { printf "%.3f", $2 / 1e9 }' "$RUN/exp3/exp3.C.csv" 2>/dev/null)
ab_end=$(awk -F, 'FNR > 1 && $2 + 0 > m { m = $2 + 0 } END { if (m) printf "%.3f", m / 1e9 }' \
	"$RUN/exp3/exp3.A.csv" "$RUN/exp3/exp3.B.csv" 2>/dev/null)
[ -n "$c0" ] && [ -n "$ab_end" ] || die "no per-packet CSV of A, B or C from exp3"
dm() { awk '$2 == "RtvnetDeadlineMisses"' "$R/alerts.txt"; }
fired=$(dm | awk '$3 == "firing" { print $1; exit }')
if [ -n "$fired" ]; then
	# resolved: the first poll after firing with no RtvnetDeadlineMisses at all
	# (the poll's lines are in time order, one group per poll)
	gone() { awk -v f="$fired" '$1 <= f || $2 == "?" { next }
		$1 != cur { if (cur != "" && !dm) { print cur; found = 1; exit } cur = $1; dm = 0 }
		$2 == "RtvnetDeadlineMisses" { dm = 1 }
		END { if (!found && cur != "" && !dm) print cur }' "$R/alerts.txt"; }
	end=$(awk -v c="$c0" 'BEGIN { printf "%d", c + 125 }')
	while [ -z "$(gone)" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
	cleared=$(gone)
fi
paths_fired=$(dm | awk '$3 == "firing" { print $4 }' | sort -un | tr '\n' ' ')
pending_at=$(dm | awk '{ print $5; exit }')
echo "   C's first packet at 0 s; A and B's last packet $(rel "$ab_end" "$c0")"
[ -n "$pending_at" ] && pending_at=$(date -d "$pending_at" +%s.%N 2>/dev/null) && pending_at=$(rel "$pending_at" "$c0")
echo "   alert pending from ${pending_at:-never} (Prometheus' activeAt); first seen firing $([ -n "$fired" ] &&
	rel "$fired" "$c0" || echo never); resolved $([ -n "${cleared:-}" ] && rel "$cleared" "$c0" || echo never)"
if [ -z "$fired" ]; then
	bad "RtvnetDeadlineMisses never fired (rate per rtpath over 1 min must exceed 1/s for 30 s)"
elif awk -v f="$fired" -v c="$c0" 'BEGIN { exit !(f - c <= 60) }'; then
	ok "RtvnetDeadlineMisses firing $(rel "$fired" "$c0") after C joined, for rtpath(s) $paths_fired"
	[ "$(wc -w <<<"$paths_fired")" = 2 ] ||
		echo "   note: one rtpath only: each needs over 60 misses in the minute (rate > 1/s); exp3's table has the counts"
else
	bad "RtvnetDeadlineMisses fired only $(rel "$fired" "$c0") after C joined (> 60 s)"
fi
for p in $paths_fired; do
	[ "$p" = "$id_a" ] || [ "$p" = "$id_b" ] || bad "RtvnetDeadlineMisses fired for rtpath $p, not A ($id_a) or B ($id_b)"
done
if [ -n "$fired" ] && [ -n "${cleared:-}" ] && awk -v r="$cleared" -v c="$c0" 'BEGIN { exit !(r - c <= 120) }'; then
	if awk -v r="$cleared" -v e="$ab_end" 'BEGIN { exit !(r < e) }'; then
		ok "resolved $(rel "$cleared" "$c0") after C joined, $(rel "$ab_end" "$cleared" | tr -d +) before A and B stopped: escalation stopped the misses"
	else
		bad "resolved $(rel "$cleared" "$c0") after C joined, only after A and B stopped ($(rel "$ab_end" "$c0"))"
	fi
elif [ -n "$fired" ]; then
	bad "RtvnetDeadlineMisses still active 120 s after C joined"
fi

step "5. no other alert firing on this healthy rack"
stop "$POLL_PID"
POLL_PID=
polls=$(awk '{ print $1 }' "$R/alerts.txt" | sort -u | wc -l)
others=$(awk '$2 != "-" && $2 != "?" && $2 != "RtvnetDeadlineMisses" && $3 == "firing" { print $2 "(" $3 ")" }' "$R/alerts.txt" | sort -u | tr '\n' ' ')
pend=$(awk '$2 != "-" && $2 != "?" && $2 != "RtvnetDeadlineMisses" && $3 != "firing" { print $2 "(" $3 ")" }' "$R/alerts.txt" | sort -u | tr '\n' ' ')
[ -n "$pend" ] && echo "   note: pending for a moment, never firing: $pend"
[ -z "$others" ] && ok "$polls polls of /api/v1/alerts over $(rel "$(tail -n 1 "$R/alerts.txt" | cut -d' ' -f1)" \
	"$(head -n 1 "$R/alerts.txt" | cut -d' ' -f1)" | tr -d +): none but RtvnetDeadlineMisses fired" ||
	bad "other alerts active: $others"

step "6. down removes everything"
kill "$(cat "$R/pid")" 2>/dev/null
"$LAB" down >/dev/null 2>&1
left=$(ip netns list | grep -c "^${P}")
[ "$left" = 0 ] && ! pgrep -f "$RUN/" >/dev/null && ok "no namespace, no process left (Prometheus stopped)" ||
	bad "$left namespaces or processes of $RUN left"

finish
