#!/usr/bin/env bash
# eval-queries.sh — evaluates every panel query of rtvnet's dashboards
# through a real Prometheus' HTTP API (/api/v1/query), as Grafana would.
#
#   dashboards/eval-queries.sh -p http://127.0.0.1:9090 [-r RATE_INTERVAL]
#                              [-d METRICS_MD] [-f FIGURES] DASHBOARD.json...
#
# Template variables are resolved the way Grafana does: label_values(M, L)
# asks Prometheus for the series of M; a multi-value "All" variable becomes
# its allValue (.*), a single-value one its first value (numerically; not
# "other" when there is another). $__rate_interval is RATE_INTERVAL (default
# 1m), $__interval 15s, $__range 5m.
#
# Each query's outcome:
#   data     at least one series with a number (0 is a number);
#   pending  series, all NaN, and the query uses a metric that docs/metrics.md
#            marks "(pending)": a histogram whose module is not wired yet has
#            no observations, so its quantiles are NaN;
#   FAIL     an error, no series at all, or NaN from non-pending metrics.
# A variable without values is a failure too. Prints one line per query and
# a summary; with -f writes "with_data N", "total N", "pending N", "failed N"
# lines to FIGURES. Exit 1 if anything failed.
set -u
prom= rate=1m docs= figures=
while getopts "p:r:d:f:h" opt; do
	case $opt in
	p) prom=${OPTARG%/} ;;
	r) rate=$OPTARG ;;
	d) docs=$OPTARG ;;
	f) figures=$OPTARG ;;
	*) sed -n 's/^# \{0,1\}//; 2,24p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$prom" ] && [ $# -gt 0 ] || { sed -n 's/^# \{0,1\}//; 2,24p' "$0" >&2; exit 2; }

pending=""
[ -n "$docs" ] && pending=$(grep '(pending)' "$docs" | grep -o '`rtvnet_[a-z0-9_]*`' | tr -d '`')

total=0 with_data=0 n_pending=0 failed=0
say() { printf '   %-7s %s\n' "$1" "$2"; }

# GET/POST helpers: the JSON answer on stdout, or nothing.
api_query() { curl -sf --max-time 10 "$prom/api/v1/query" --data-urlencode "query=$1"; }
api_series() { curl -sf --max-time 10 -G "$prom/api/v1/series" --data-urlencode "match[]=$1"; }

# Values of a label_values(METRIC, LABEL) variable, one a line, sorted.
var_values() {
	local q=$1 metric label
	metric=$(sed -n 's/^ *label_values(\(.*\), *\([a-zA-Z_][a-zA-Z0-9_]*\)) *$/\1/p' <<<"$q")
	label=$(sed -n 's/^ *label_values(\(.*\), *\([a-zA-Z_][a-zA-Z0-9_]*\)) *$/\2/p' <<<"$q")
	[ -n "$metric" ] || return 1
	api_series "$metric" | jq -r --arg l "$label" '[.data[][$l] // empty] | unique[]' |
		sort -n -k1,1 | awk '$0 != "other" { print; next } { o = $0 } END { if (o) print o }'
}

# True if the expr names a pending metric (histograms by their base name).
uses_pending() {
	local m base
	for m in $(grep -o 'rtvnet_[a-zA-Z0-9_]*' <<<"$1" | sort -u); do
		base=$(sed 's/_\(bucket\|sum\|count\)$//' <<<"$m")
		grep -qx -e "$m" -e "$base" <<<"$pending" && return 0
	done
	return 1
}

# Substitutes variables into expr: $__rate_interval etc., then each $var.
subst() {
	local e=$1 name
	e=${e//\$__rate_interval/$rate}
	e=${e//\$__interval/15s}
	e=${e//\$__range/5m}
	for name in "${!VARS[@]}"; do
		e=${e//\$\{$name\}/${VARS[$name]}}
		e=${e//\$$name/${VARS[$name]}}
	done
	printf '%s' "$e"
}

eval_one() {
	local where=$1 expr=$2 ans status n numbers
	total=$((total + 1))
	ans=$(api_query "$expr")
	status=$(jq -r '.status // "error"' <<<"${ans:-{\}}" 2>/dev/null)
	if [ "$status" != success ]; then
		failed=$((failed + 1))
		say FAIL "$where: the query failed: $(jq -r '.error // "no answer"' <<<"${ans:-{\}}" 2>/dev/null) [$expr]"
		return
	fi
	n=$(jq '.data.result | if type == "array" then length else 1 end' <<<"$ans")
	numbers=$(jq '[.data.result | if type == "array" then .[].value[1] else .[1] end
		       | select(. != "NaN")] | length' <<<"$ans")
	if [ "$n" -eq 0 ]; then
		failed=$((failed + 1))
		say FAIL "$where: no data [$expr]"
	elif [ "$numbers" -gt 0 ]; then
		with_data=$((with_data + 1))
		say data "$where: $n series"
	elif uses_pending "$expr"; then
		n_pending=$((n_pending + 1))
		say pending "$where: $n series, all NaN (no observations until its module is wired)"
	else
		failed=$((failed + 1))
		say FAIL "$where: $n series, all NaN [$expr]"
	fi
}

for f in "$@"; do
	dash=$(jq -r .title "$f")
	declare -A VARS=()
	while IFS=$'\t' read -r name query multi allvalue; do
		[ -n "$name" ] || continue
		values=$(var_values "$query")
		if [ -z "$values" ]; then
			failed=$((failed + 1))
			say FAIL "$dash: variable \$$name ($query) has no values"
			VARS[$name]=none
		elif [ "$multi" = true ]; then
			VARS[$name]=$allvalue
			say var "$dash: \$$name = $allvalue (All of $(wc -l <<<"$values") values)"
		else
			VARS[$name]=$(head -n1 <<<"$values")
			say var "$dash: \$$name = ${VARS[$name]} (of $(wc -l <<<"$values") values)"
		fi
	done < <(jq -r '.templating.list[]? | [.name, (.query.query // .query),
		(.includeAll // false), (.allValue // ".*")] | @tsv' "$f")
	while IFS=$'\t' read -r title ref expr; do
		eval_one "$dash / $title [$ref]" "$(subst "$expr")"
	done < <(jq -r '.panels[]? | .title as $t | .targets[]? | [$t, .refId, .expr] | @tsv' "$f")
	unset VARS
done

printf '   dashboard queries: %d total, %d with data, %d pending, %d failed\n' \
	"$total" "$with_data" "$n_pending" "$failed"
if [ -n "$figures" ]; then
	printf 'with_data %d\ntotal %d\npending %d\nfailed %d\n' "$with_data" "$total" "$n_pending" \
		"$failed" >"$figures"
fi
[ "$failed" -eq 0 ]
