#!/usr/bin/env bash
# eval-queries.sh — evaluates every panel query of rtvnet's dashboards
# through a real Prometheus' HTTP API (/api/v1/query), as Grafana would.
#
#   dashboards/eval-queries.sh -p http://127.0.0.1:9090 [-r RATE_INTERVAL]
#                              [-d METRICS_MD] [-i "SOURCE..."] [-f FIGURES]
#                              DASHBOARD.json...
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
#            marks "(pending)": a histogram its module does not fill yet has
#            no observations, so its quantiles are NaN;
#   idle     the same for a metric whose source (the last column of
#            docs/metrics.md) is one of -i's, not running in this test (the
#            loopback system test runs no dataplane and no OVS);
#   FAIL     an error, no series at all, or NaN from any other metric.
# A variable without values is a failure too. Prints one line per query and
# a summary; with -f writes "with_data N", "total N", "pending N", "idle N",
# "failed N" lines to FIGURES. Exit 1 if anything failed.
set -u
prom= rate=1m docs= figures= idle=
while getopts "p:r:d:i:f:h" opt; do
	case $opt in
	p) prom=${OPTARG%/} ;;
	r) rate=$OPTARG ;;
	d) docs=$OPTARG ;;
	f) figures=$OPTARG ;;
	i) idle=$OPTARG ;;
	*) sed -n 's/^# \{0,1\}//; 2,30p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$prom" ] && [ $# -gt 0 ] || { sed -n 's/^# \{0,1\}//; 2,30p' "$0" >&2; exit 2; }

# "name source" of every documented metric: the table's first and last columns.
sources=""
[ -n "$docs" ] && sources=$(awk -F'|' '$2 ~ /^ `rtvnet_/ { n = $2; s = $(NF - 1); gsub(/[ `]/, "", n);
	sub(/^ +/, "", s); sub(/ +$/, "", s); print n, s }' "$docs")
pending=$(awk '/\(pending\)$/ { print $1 }' <<<"$sources")
idle_names=$(for s in $idle; do awk -v s="$s" '$2 == s { print $1 }' <<<"$sources"; done)

total=0 with_data=0 n_pending=0 n_idle=0 failed=0
say() { printf '   %-7s %s\n' "$1" "$2"; }

# The series matching a selector (JSON), or nothing.
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

# True if the expr names a metric of the list $2 (histograms by their base name).
uses() {
	local m base
	[ -n "$2" ] || return 1
	for m in $(grep -o 'rtvnet_[a-zA-Z0-9_]*' <<<"$1" | sort -u); do
		base=$(sed 's/_\(bucket\|sum\|count\)$//' <<<"$m")
		grep -qx -e "$m" -e "$base" <<<"$2" && return 0
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

# Escapes a value for a curl config file ("..." with \\ and \").
curl_quote() {
	local v=${1//\\/\\\\}
	printf '"%s"' "${v//\"/\\\"}"
}

# Pass 1: resolve the variables, substitute, and list every query (one curl
# config entry each, so that one curl process asks them all).
work=$(mktemp -d "${TMPDIR:-/tmp}/rtv-eval.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
where=() exprs=()
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
		where+=("$dash / $title [$ref]")
		exprs+=("$(subst "$expr")")
	done < <(jq -r '.panels[]? | .title as $t | .targets[]? | [$t, .refId, .expr] | @tsv' "$f")
	unset VARS
done
for i in "${!exprs[@]}"; do
	[ "$i" -gt 0 ] && echo next
	echo "url = $(curl_quote "$prom/api/v1/query")"
	echo "data-urlencode = $(curl_quote "query=${exprs[$i]}")"
	echo "output = $(curl_quote "$work/$i.json")"
	echo "max-time = 10"
	echo "silent"
done >"$work/curl.conf"

# Pass 2: ask, then classify every answer with one jq: "i status series numbers error".
[ ${#exprs[@]} -gt 0 ] && curl -K "$work/curl.conf"
files=()
for i in "${!exprs[@]}"; do
	[ -s "$work/$i.json" ] || echo '{"status": "error", "error": "no answer"}' >"$work/$i.json"
	files+=("$work/$i.json")
done
[ ${#files[@]} -gt 0 ] && jq -r --slurp 'to_entries[] | .value as $a | [.key, ($a.status // "error"),
	($a.data.result // [] | if type == "array" then length else 1 end),
	($a.data.result // [] | [if type == "array" then .[].value[1] else .[1] end
				 | select(. != "NaN")] | length),
	($a.error // "" | gsub("[\t\n]"; " "))] | @tsv' "${files[@]}" >"$work/answers.tsv"

while IFS=$'\t' read -r i status n numbers err; do
	total=$((total + 1))
	w=${where[$i]}
	e=${exprs[$i]}
	if [ "$status" != success ]; then
		failed=$((failed + 1))
		say FAIL "$w: the query failed: $err [$e]"
	elif [ "$n" -eq 0 ]; then
		failed=$((failed + 1))
		say FAIL "$w: no data [$e]"
	elif [ "$numbers" -gt 0 ]; then
		with_data=$((with_data + 1))
		say data "$w: $n series"
	elif uses "$e" "$pending"; then
		n_pending=$((n_pending + 1))
		say pending "$w: $n series, all NaN (a histogram its module does not fill yet)"
	elif uses "$e" "$idle_names"; then
		n_idle=$((n_idle + 1))
		say idle "$w: $n series, all NaN (its source, $idle, does not run here)"
	else
		failed=$((failed + 1))
		say FAIL "$w: $n series, all NaN [$e]"
	fi
done <"$work/answers.tsv"
printf '   dashboard queries: %d total, %d with data, %d pending, %d idle, %d failed\n' \
	"$total" "$with_data" "$n_pending" "$n_idle" "$failed"
if [ -n "$figures" ]; then
	printf 'with_data %d\ntotal %d\npending %d\nidle %d\nfailed %d\n' "$with_data" "$total" \
		"$n_pending" "$n_idle" "$failed" >"$figures"
fi
[ "$failed" -eq 0 ]
