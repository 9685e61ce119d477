#!/usr/bin/env bash
# lab_stress.sh — tests/lab/stress.sh on a lab rack of its own (make
# test-long): seven rtpaths with deadlines of 1-20 ms, frames of 128-1,000 B,
# 0.5-4 Mbit/s, STRESS_PACKETS packets each (default 100,000), beside two
# overloaded uplinks and an incast on the receiving host's ToR port; without
# and with rtvnet. Checked claim by claim: without rtvnet the flows miss;
# every refusal says why; every admitted flow sent its packets, and none
# was lost or late through rtvnet (per packet: tests/lab/hops.py); the
# senders were told of every miss the VMs saw (rt.undetected_misses = 0).
# The figures (rt.stress.*, rt.undetected_misses) are printed and appended
# to $RTV_BENCH_OUT when set. About 2 x STRESS_PACKETS / 500 s plus a minute.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/lib/common.sh"
lab_test rst

step "stress: 7 rtpaths x ${STRESS_PACKETS:-100000} packets, 2 overloaded uplinks, an incast; without and with rtvnet"
lab_claims stress.sh "$RUN/stress" --packets "${STRESS_PACKETS:-100000}"
sed 's/^/   /' "$RUN/stress/figures.jsonl" 2>/dev/null
finish
