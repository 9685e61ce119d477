#!/usr/bin/env bash
# make bench [BENCH=group]: runs build/bench/bench_<group> (all groups when none
# is named), then prints every figure collected in build/bench/results.jsonl.
#
# A benchmark fails when it exits non-zero or exits 0 without a figure. One
# that exits 77 (BENCH_SKIPPED in bench/report.h: it needs root) is counted
# apart; run as root, where CI runs, a skip fails the run like a failure
# (docs/testing.md). Closing line: "bench: N ran, N failed, N skipped".
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
fi
ran=0 failed=0 skipped=0
for b in "${benches[@]}"; do
	name=$(basename "$b" | sed 's/^bench_//')
	echo "== $name"
	before=$(wc -l <"$RTV_BENCH_OUT")
	"$b"
	rc=$?
	figs=$(( $(wc -l <"$RTV_BENCH_OUT") - before ))
	if [ $rc = 77 ]; then
		skipped=$((skipped + 1))
		echo "bench: $name SKIPPED (no figure)" >&2
	elif [ $rc != 0 ]; then
		failed=$((failed + 1))
		echo "bench: $name FAILED (exit $rc, $figs figures)" >&2
	elif [ "$figs" -eq 0 ]; then
		failed=$((failed + 1))
		echo "bench: $name FAILED: exit 0 but no figure" >&2
	else
		ran=$((ran + 1))
	fi
done
echo
echo "== summary ($(wc -l <"$RTV_BENCH_OUT") figures, JSON lines in $build/bench/results.jsonl)"
awk -F'\t' '{ if ($5 == "-") printf "  %-36s %14s %-10s\n", $1, $2, $3;
	      else printf "  %-36s %14s %-10s  vs %-20s %14s\n", $1, $2, $3, $5, $6 }' "$RTV_BENCH_TABLE"
echo "bench: $ran ran, $failed failed, $skipped skipped"
if [ "$skipped" -ne 0 ] && [ "$(id -u)" -eq 0 ]; then
	echo "bench: FAILED: $skipped skipped as root, where every benchmark can run (docs/testing.md)" >&2
	exit 1
fi
[ "$failed" -eq 0 ]
