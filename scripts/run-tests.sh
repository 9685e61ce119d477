#!/usr/bin/env bash
# Runs test executables (cmocka binaries or shell scripts) grouped in suites and
# prints each runner's own summary lines, then one closing line:
#   tests: N passed, N failed
# A cmocka binary counts its individual tests; any other executable counts as one.
set -u
suite=unit
passed=0 failed=0
failed_names=()
summary_file=
logdir=${RTV_TEST_LOGDIR:-build/test-logs}
mkdir -p "$logdir"

run_one() {
	local t=$1 name log rc p f
	name="$suite/$(basename "$t")"
	log="$logdir/${suite}_$(basename "$t").log"
	if [ ! -x "$t" ]; then
		echo "[$suite] $t: missing (not built?)"
		failed=$((failed + 1)); failed_names+=("$name"); return
	fi
	local start=$SECONDS
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		if [ $rc -eq 0 ]; then p=1; else f=1; fi
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # crashed or exited non-zero after reporting passes
	fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		printf '[%s] %-32s FAILED (%d passed, %d failed, %ds) — log: %s\n' "$suite" "$(basename "$t")" "$p" "$f" $((SECONDS - start)) "$log"
		tail -n 40 "$log" | sed 's/^/    | /'
	else
		printf '[%s] %-32s ok (%d passed, %ds)\n' "$suite" "$(basename "$t")" "$p" $((SECONDS - start))
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift 2 ;;
	--summary-file) summary_file=$2; shift 2 ;;
	*) run_one "$1"; shift ;;
	esac
done

echo
for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
line="tests: $passed passed, $failed failed"
echo "$line"
[ -n "$summary_file" ] && echo "$line" >"$summary_file"
[ "$failed" -eq 0 ]
