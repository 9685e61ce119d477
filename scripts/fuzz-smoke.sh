#!/usr/bin/env bash
# Runs each libFuzzer harness for a few seconds from its seed corpus (if any).
# A crash fails the run and leaves the reproducer in build/fuzz/crashes/.
set -u
secs=$1; shift
[ $# -eq 0 ] && exit 0
mkdir -p build/fuzz/crashes
fail=0 n=0
for f in "$@"; do
	name=$(basename "$f")
	corpus=build/fuzz/corpus/$name
	mkdir -p "$corpus"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	n=$((n + 1))
	if "$f" -max_total_time="$secs" -artifact_prefix=build/fuzz/crashes/"$name"- \
		"$corpus" $seeds >build/fuzz/"$name".log 2>&1; then
		printf '[fuzz] %-28s ok (%s)\n' "$name" "$(grep -o 'Done [0-9]* runs' build/fuzz/"$name".log | tail -n1)"
	else
		printf '[fuzz] %-28s FAILED — log: build/fuzz/%s.log\n' "$name" "$name"
		tail -n 30 build/fuzz/"$name".log | sed 's/^/    | /'
		fail=$((fail + 1))
	fi
done
echo "fuzz: $((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
