#!/usr/bin/env bash
# lint.sh — static checks of rtvnet's Grafana dashboards (jq only).
#
#   dashboards/lint.sh [-m METRICS] [-d METRICS_MD] [-a ALERTS_YML] DASHBOARD.json...
#
# Always: every file is JSON; dashboard uids and titles are unique; panel ids
# are unique within a dashboard; every panel (rows aside) has a datasource
# with the provisioned uid (provisioning/datasources/prometheus.yaml) and at
# least one target, each with a refId (unique in its panel), a datasource and
# a non-empty expr; gridPos fits the 24-column grid; every $variable an expr
# uses is a template variable of the dashboard or one of Grafana's
# ($__rate_interval, $__interval, $__range); template variables have a
# datasource and a query.
# With -m (a scraped /metrics): every rtvnet_ name in an expr (and in the
# alert rules with -a) is a sample name in it.
# With -d (docs/metrics.md): the documented families and the families in
# METRICS (# TYPE lines) are the same set.
# Prints one line per check that failed and a summary; exit 1 if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
metrics= docs= alerts=
while getopts "m:d:a:h" opt; do
	case $opt in
	m) metrics=$OPTARG ;;
	d) docs=$OPTARG ;;
	a) alerts=$OPTARG ;;
	*) sed -n 's/^# \{0,1\}//; 2,19p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "lint: no dashboards given" >&2; exit 2; }
command -v jq >/dev/null || { echo "lint: jq is needed (apt-get install jq)" >&2; exit 2; }

failures=0
checks=0
fail() { printf '   FAIL: %s\n' "$*"; failures=$((failures + 1)); }
check() { checks=$((checks + 1)); }

ds_uid=$(sed -n 's/^ *uid: *\([A-Za-z0-9_-]*\).*/\1/p' "$here/provisioning/datasources/prometheus.yaml" | head -n1)
[ -n "$ds_uid" ] || fail "provisioning/datasources/prometheus.yaml has no uid"

# One line per problem found inside one dashboard.
per_dashboard='
def vars: [.templating.list[]?.name];
def builtin: ["__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"];
(vars + builtin) as $known
| [.panels[]? | select(.type != "row")] as $panels
| ($panels | map(.id) | group_by(.) | map(select(length > 1) | "panel id \(.[0]) is used \(length) times")[]),
  ($panels[] | . as $p | "panel \(.id) \"\(.title)\"" as $n |
    (if (.datasource.uid // "") != $uid then "\($n): datasource uid is \(.datasource.uid // "missing"), want \($uid)" else empty end),
    (if ((.targets // []) | length) == 0 then "\($n): no targets" else empty end),
    (if (.gridPos.w // 0) < 1 or (.gridPos.h // 0) < 1 or ((.gridPos.x // 0) + (.gridPos.w // 0)) > 24
     then "\($n): gridPos \(.gridPos) does not fit the 24-column grid" else empty end),
    ((.targets // []) | map(.refId) | group_by(.) | map(select(length > 1) | "\($n): refId \(.[0]) repeated")[]),
    ((.targets // [])[] |
      (if (.refId // "") == "" then "\($n): a target has no refId" else empty end),
      (if (.datasource.uid // $p.datasource.uid // "") != $uid then "\($n) [\(.refId)]: target datasource is not \($uid)" else empty end),
      (if ((.expr // "") | test("\\S") | not) then "\($n) [\(.refId)]: empty expr" else empty end),
      ((.expr // "") | [scan("\\$\\{?([A-Za-z_][A-Za-z0-9_]*)")[0]] | unique[] |
        select(. as $v | $known | index($v) | not) | "\($n): expr uses $\(.) which is not a variable"))),
  (.templating.list[]? |
    (if (.datasource.uid // "") != $uid then "variable \(.name): datasource is not \($uid)" else empty end),
    (if (.query.query // .query // "") == "" then "variable \(.name): no query" else empty end))
'

uids=() titles=()
for f in "$@"; do
	name=$(basename "$f")
	check
	if ! jq -e . "$f" >/dev/null 2>&1; then
		fail "$name: not valid JSON"
		continue
	fi
	uid=$(jq -r '.uid // ""' "$f")
	title=$(jq -r '.title // ""' "$f")
	[ -n "$uid" ] || fail "$name: no uid"
	[ -n "$title" ] || fail "$name: no title"
	uids+=("$uid")
	titles+=("$title")
	n_panels=$(jq '[.panels[]? | select(.type != "row")] | length' "$f")
	n_targets=$(jq '[.panels[]?.targets[]?] | length' "$f")
	[ "$n_panels" -gt 0 ] || fail "$name: no panels"
	while IFS= read -r problem; do
		[ -n "$problem" ] && fail "$name: $problem"
	done < <(jq -r --arg uid "$ds_uid" "$per_dashboard" "$f")
	checks=$((checks + n_panels + n_targets))
	printf '   %s: uid %s, %d panels, %d queries, %d variables\n' "$name" "$uid" "$n_panels" \
		"$n_targets" "$(jq '[.templating.list[]?] | length' "$f")"
done
dup=$(printf '%s\n' "${uids[@]}" | sort | uniq -d)
[ -z "$dup" ] || fail "dashboard uid used more than once: $dup"
dup=$(printf '%s\n' "${titles[@]}" | sort | uniq -d)
[ -z "$dup" ] || fail "dashboard title used more than once: $dup"

# Metric names: every rtvnet_ name used must be a sample name of a real scrape.
if [ -n "$metrics" ]; then
	samples=$(grep -v '^#' "$metrics" | sed -n 's/^\([a-zA-Z_:][a-zA-Z0-9_:]*\).*/\1/p' | sort -u)
	used=$(jq -r '.panels[]?.targets[]?.expr // empty, .templating.list[]?.query.query // empty' "$@" 2>/dev/null |
		grep -o 'rtvnet_[a-zA-Z0-9_]*' | sort -u)
	[ -n "$alerts" ] && used=$(printf '%s\n%s\n' "$used" "$(grep -o 'rtvnet_[a-zA-Z0-9_]*' "$alerts")" | sort -u)
	n_used=$(wc -w <<<"$used")
	checks=$((checks + n_used))
	for m in $(comm -23 <(tr ' ' '\n' <<<"$used" | sed '/^$/d') <(echo "$samples")); do
		fail "metric $m is used by a dashboard or alert but not in $metrics"
	done
	printf '   %d metric names used by the dashboards%s, checked against a scrape of %d sample names\n' \
		"$n_used" "${alerts:+ and alerts}" "$(wc -l <<<"$samples")"
fi

# The documented list and the exposition name the same families.
if [ -n "$docs" ] && [ -n "$metrics" ]; then
	documented=$(grep -o '^| `rtvnet_[a-z0-9_]*`' "$docs" | tr -d '|` ' | sort -u)
	exported=$(sed -n 's/^# TYPE \(rtvnet_[a-zA-Z0-9_]*\) .*/\1/p' "$metrics" | sort -u)
	for m in $(comm -23 <(echo "$documented") <(echo "$exported")); do
		fail "$m is in $(basename "$docs") but not exported"
	done
	for m in $(comm -13 <(echo "$documented") <(echo "$exported")); do
		fail "$m is exported but not in $(basename "$docs")"
	done
	checks=$((checks + $(wc -l <<<"$exported")))
	printf '   %d families documented, %d exported\n' "$(wc -l <<<"$documented")" "$(wc -l <<<"$exported")"
fi

if [ $failures -gt 0 ]; then
	printf '   lint: %d of %d checks failed\n' "$failures" "$checks"
	exit 1
fi
printf '   lint: %d checks passed\n' "$checks"
