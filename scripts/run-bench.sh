#!/usr/bin/env bash
# make bench [BENCH=group]: runs build/bench/bench_<group> (all groups when none
# is named), then prints every figure collected in build/bench/results.jsonl.
set -u
build=$1; group=${2:-}
mkdir -p "$build/bench"
export RTV_BENCH_OUT=$PWD/$build/bench/results.jsonl
export RTV_BENCH_TABLE=$PWD/$build/bench/results.tsv
: >"$RTV_BENCH_OUT"; : >"$RTV_BENCH_TABLE"
if [ -n "$group" ]; then
	benches=("$build/bench/bench_$group")
	[ -x "${benches[0]}" ] || { echo "bench: no group '$group' (have: $(ls "$build"/bench | sed -n 's/^bench_//p' | tr '\n' ' '))" >&2; exit 2; }
else
	benches=()
	for b in "$build"/bench/bench_*; do [ -x "$b" ] && benches+=("$b"); done
	# Slow suites opt in with a marker file next to their source.
fi
fail=0
for b in "${benches[@]}"; do
	echo "== $(basename "$b" | sed 's/^bench_//')"
	"$b" || { echo "bench: $(basename "$b") failed" >&2; fail=1; }
done
echo
echo "== summary ($(wc -l <"$RTV_BENCH_OUT") figures, JSON lines in $build/bench/results.jsonl)"
awk -F'\t' '{ if ($5 == "-") printf "  %-36s %14s %-10s\n", $1, $2, $3;
	      else printf "  %-36s %14s %-10s  vs %-20s %14s\n", $1, $2, $3, $5, $6 }' "$RTV_BENCH_TABLE"
exit $fail
