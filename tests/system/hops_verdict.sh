#!/usr/bin/env bash
# hops_verdict.sh — the per-packet verdict the lab tests rely on
# (tests/lab/hops.py, see tests/lab/README.md "Whose is a late or lost packet") on
# synthetic captures: a packet rtvd held beyond its share is rtvnet's, one
# the lab's hops made late is the lab's, one a capture missed counts against
# rtvnet, one on time is not late, one held too long while the CPU probe
# saw every CPU stalled long enough is the lab's and one with only one CPU
# stalled is not. Needs python3 only; no root.
set -u
. "$(dirname "$0")/../lib/common.sh"
need_cmd python3
step "hops.py on synthetic captures"
out=$(python3 "$T_ROOT/tests/lab/hops.py" --self-test 2>&1)
rc=$?
echo "$out" | sed 's/^/   | /'
[ $rc = 0 ] && ok "verdicts: rtvnet's: held too long, not captured, demoted, held too long with one CPU stalled; the lab's: slow hops, no CPU at all; 1 on time" ||
	bad "hops.py --self-test exit $rc"
finish
