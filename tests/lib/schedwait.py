#!/usr/bin/env python3
"""schedwait.py — did a dataplane thread hold a packet, or wait for a CPU?

hops.py says how long each host's dataplane held a late packet. On a
machine shared with other real-time work (other racks' dataplanes at the
same SCHED_FIFO priority, the kernel's RT throttling) a thread can be
runnable and still not run: that time is the machine's, not rtvnet's. The
kernel counts it per thread (/proc/PID/task/TID/schedstat, second field:
time spent waiting on a run queue), so this tool records it while the
traffic runs and then sets it against each hold, per packet.

  schedwait.py record OUT H=PID...
      every 1 ms until SIGINT/SIGTERM: a line "t_ns R" per round, and a
      line "t_ns H comm wait_ns state" per engine thread (dp-egress,
      dp-ingress, dp-poll) of each process whose run-queue wait or state
      (R, S...) changed (CLOCK_REALTIME,
      the pcaps' clock); H names the host of process PID
  schedwait.py verdict WAITS CSV HOPS_TXT S R
      re-reads each "rtvnet's: rtvd held it" line of HOPS_TXT (hops.py) for
      the flow from host S to host R (the sender's thread dp-egress, the
      receiver's dp-ingress): the packet was rtvnet's only if its holds,
      less what those threads waited for a CPU during them, still exceed
      the share. Prints one line per packet it moves to the machine and a
      JSON line {"late_rtvnet", "late_cpu", "max_cpu_wait_us"}.

Conservative in rtvnet's disfavour: only the part of a wait that surely
fell inside the hold counts (waited()); run the recorder above the
dataplane's priority (chrt -f 50) so that its samples come on time.
Standard library only; exit 2 on bad input.
"""
import bisect
import json
import os
import re
import signal
import sys
import time

PERIOD_S = 0.001
LATE = re.compile(r"^(\S+) (\d+): late by \d+ us \(VM->dp (\d+), dp (\d+), wire\+ToR (\d+), "
                  r"dp (\d+), dp->VM \d+ us\): rtvnet's: rtvd held it (\d+) us > its share (\d+) us")


ENGINE = ("dp-egress", "dp-ingress", "dp-poll")


def engine_threads(procs):
    """[(host, comm, schedstat path)] of the engine threads (dp.h names
    them); looked up again every second, since rtvdp may be replaced."""
    out = []
    for host, pid in procs:
        base = f"/proc/{pid}/task"
        try:
            tids = os.listdir(base)
        except OSError:
            continue
        for tid in tids:
            try:
                comm = open(f"{base}/{tid}/comm").read().strip()
            except OSError:
                continue
            if comm in ENGINE:
                out.append((host, comm, f"{base}/{tid}/schedstat"))
    return out


def record(out, specs):
    procs = [s.split("=", 1) for s in specs]
    last, stop, threads, found = {}, [], [], 0
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(out, "w") as f:
        while not stop:
            now = time.time_ns()
            if now - found > 1_000_000_000:
                threads, found = engine_threads(procs), now
            f.write(f"{now} R\n")	# a round: when the counters were last read
            for host, comm, path in threads:
                try:
                    wait = int(open(path).read().split()[1])
                    state = open(path[:-9] + "stat").read().rsplit(")", 1)[1].split()[0]
                except (OSError, ValueError, IndexError):
                    continue
                if last.get(path) != (wait, state):
                    last[path] = (wait, state)
                    f.write(f"{now} {host} {comm} {wait} {state}\n")
            time.sleep(PERIOD_S)


def load(path):
    """{(host, comm): ([t_ns...], [wait_ns...], [previous round's t_ns...])}
    with a line only where the wait grew (the thread got a CPU back between
    the previous round and that line); every thread's first line is its
    baseline."""
    series, asleep, last_round = {}, {}, 0
    for line in open(path):
        f = line.split()
        if len(f) == 2:
            last_round = int(f[0])
            continue
        t, host, comm, wait = int(f[0]), f[1], f[2], int(f[3])
        if len(f) > 4 and f[4] == "S":	# asleep at t: a later wait began after t
            asleep.setdefault((host, comm), []).append(t)
        s = series.setdefault((host, comm), ([], [], []))
        if s[1] and s[1][-1] == wait:
            continue
        s[0].append(t)
        s[1].append(wait)
        s[2].append(last_round)
    return series, asleep


def waited(data, key, start, end):
    """Run-queue wait of thread `key` that surely fell between start and
    end (ns). The kernel adds a wait to the counter when the thread gets
    the CPU back. Line i, the last at or before start, says the thread got
    a CPU after round r_i, so every wait added after line i began after
    r_i — or after the last round before start that saw it asleep (state
    S), if later: at most start minus that of them lies before start. Of the growth up
    to the last line at or before end, all ended by end; up to the first
    line after end, at most that line's lateness lies after end."""
    series, asleep = data
    if key not in series:
        return 0
    ts, ws, rs = series[key]
    i = bisect.bisect_right(ts, start) - 1
    if i < 0:
        return 0
    began = rs[i]
    sl = asleep.get(key, [])
    k = bisect.bisect_right(sl, start) - 1
    if k >= 0 and sl[k] >= ts[i]:	# seen asleep after line i: waits began later
        began = sl[k]
    before = max(0, start - began)
    best = 0
    j = bisect.bisect_right(ts, end) - 1
    if j > i:
        best = ws[j] - ws[i] - before
    j = bisect.bisect_left(ts, end)
    if j < len(ts):
        best = max(best, ws[j] - ws[i] - before - (ts[j] - end))
    return max(0, best)


def verdict(waits, csv, hops_txt, src, dst):
    series = load(waits)
    send = {}
    for row in open(csv).read().split("\n")[1:]:
        if row:
            f = row.split(",")
            send[int(f[0])] = int(f[1])
    rtvnet = cpu = 0
    worst = 0
    for line in open(hops_txt):
        m = LATE.match(line)
        if not m:
            continue
        seq = int(m.group(2))
        vm, dp1, wire, dp2, held, share = (int(m.group(k)) * 1000 for k in (3, 4, 5, 6, 7, 8))
        if seq not in send:
            rtvnet += 1
            continue
        a = send[seq] + vm
        b, c = a + dp1, a + dp1 + wire
        d = c + dp2
        w = waited(series, (src, "dp-egress"), a, b) + waited(series, (dst, "dp-ingress"), c, d)
        w = min(w, held)
        if held - w <= share:
            cpu += 1
            worst = max(worst, w)
            print(f"{m.group(1)} {seq}: held {held / 1e3:.0f} us, of which rtvdp's threads waited "
                  f"{w / 1e3:.0f} us for a CPU (run queue): the machine's, within the share "
                  f"{share / 1e3:.0f} us without it")
        else:
            rtvnet += 1
    print(json.dumps({"late_rtvnet": rtvnet, "late_cpu": cpu, "max_cpu_wait_us": worst // 1000}))


def main(argv):
    if len(argv) >= 3 and argv[1] == "record":
        record(argv[2], argv[3:])
    elif len(argv) == 7 and argv[1] == "verdict":
        verdict(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
