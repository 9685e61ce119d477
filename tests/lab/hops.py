#!/usr/bin/env python3
"""hops.py — whose is each late packet: rtvnet's or the lab's? Per packet.

A late packet of an admitted rtpath is late as the receiving VM sees it
(rtvgen recv's CSV: seq,send_ns,recv_ns,delay_us,miss). This tool follows it
through the four points where it enters and leaves rtvd's dataplanes, from
kernel timestamps of captures (tcpdump, one shared clock in the lab):

  t0  the sending VM's send call            (the probe's send time)
  a   the frame reaches the sender's dataplane   (h1 rtv-dp, ingress)
  b   the sender's dataplane puts it on the uplink (h1 up0, egress)
  c   it reaches the receiver's dataplane         (h2 up0, ingress)
  d   the receiver's dataplane hands it on        (h2 rtv-dp, egress)
  e   the receiving VM's kernel has it            (the CSV's recv time)

rtvd holds the packet for (b - a) + (d - c); the lab (VM stacks, the two
hosts' userspace switches, the links and the ToR) for the rest. Admission
gave the network hops a budget, net_budget_ns (hop latencies and one frame
per switch), and rtvd the remainder, deadline - net_budget_ns. A packet
later than its deadline overran at least one of the two shares:

  rtvnet's   rtvd held it longer than deadline - net_budget_ns, or a point
             is missing from the captures (then nobody can tell: counted
             against rtvnet)
  the lab's  rtvd held it within its share, so the lab's hops took more
             than the budget they were given (each segment is printed);
             or (--cpu) rtvd held it within its share of the time a thread
             of its priority could run: tests/lab/cpuprobe, in the same run,
             found every CPU held by other work (other labs' threads of the
             same priority, interrupts) for the rest of its hold ("late_cpu")

Usage: hops.py --pcap a=FILE --pcap b=FILE --pcap c=FILE --pcap d=FILE
               [--cpu FILE] FLOW:CSV:DEADLINE_NS:NET_BUDGET_NS[:SENT] ...
With SENT (the sender's count: seq 0..SENT-1), each packet the VM never got
is placed by the last point that saw it: lost inside a dataplane (captured
going in, never coming out) is rtvnet's; lost before the sender's
dataplane, between the dataplanes or after the receiver's is the lab's; a
pattern of points with holes counts against rtvnet.

Prints one line per late or lost packet, then one JSON object per flow:
{"flow", "received", "late", "late_lab", "late_rtvnet", "unattributed",
"lab_max_over_budget_us", "captured": {"a": n, ...}, "lost_in_rtvd",
"lost_lab", "lost_rtvnet" (demoted, or not placeable), "capture_gaps"
(packets the VM got that a point missed), "late_demoted", "late_cpu"
(of late_lab, those the CPU probe excused), "cpu_probe" (was one given)}
Exit 0, or 2 on bad input. `hops.py --self-test` checks the verdicts on
synthetic captures. Standard library only.
"""
import json
import struct
import sys

MAGIC = b"RTVG"
POINTS = "abcd"


def frames(path):
    """(ts_ns, bytes) of every frame in a pcap file (Ethernet, us or ns)."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        else:
            magic = struct.unpack(">I", hdr[:4])[0]
            end = ">"
        if magic not in (0xA1B2C3D4, 0xA1B23C4D):
            raise ValueError(f"{path}: not a pcap file")
        scale = 1 if magic == 0xA1B23C4D else 1000
        if struct.unpack(end + "I", hdr[20:24])[0] != 1:
            raise ValueError(f"{path}: not Ethernet captures")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack(end + "IIII", rec)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield sec * 1_000_000_000 + frac * scale, data


def probe(frame):
    """(flow, seq) of an rtvgen probe in an Ethernet frame, MPLS or not."""
    off, etype = 14, struct.unpack(">H", frame[12:14])[0]
    if etype == 0x8847:
        while off + 4 <= len(frame):
            s = frame[off + 2] & 1
            off += 4
            if s:
                break
        etype = 0x0800
    if etype != 0x0800 or off + 20 > len(frame) or frame[off + 9] != 17:
        return None
    p = off + (frame[off] & 0x0F) * 4 + 8
    if frame[p:p + 4] != MAGIC or frame[p + 5] & 1:	# FIN probes are not data
        return None
    seq = struct.unpack(">Q", frame[p + 8:p + 16])[0]
    flow = frame[p + 28:p + 36].rstrip(b"\0").decode("ascii", "replace")
    return flow, seq


def seen(path):
    """{(flow, seq): first timestamp} at one capture point, and the set of
    those that carried an MPLS label there."""
    out, labelled = {}, set()
    for ts, fr in frames(path):
        k = probe(fr)
        if k and k not in out:
            out[k] = ts
            if fr[12:14] == b"\x88\x47":
                labelled.add(k)
    return out, labelled


def cpu_stalls(path):
    """The intervals (start_ns, end_ns), sorted, in which cpuprobe found
    every CPU unable to run a thread of its priority: the intersection of
    the per-CPU stalls (a CPU with none leaves nothing)."""
    ncpu, ev = None, []
    with open(path) as f:
        for line in f:
            x = line.split()
            if x[:2] == ["#", "cpus"]:
                ncpu = int(x[2])
            elif len(x) == 3:
                ev += [(int(x[1]), 1), (int(x[2]), -1)]
    if not ncpu:
        raise ValueError(f"{path}: no '# cpus N' header: not cpuprobe's output")
    out, n, start = [], 0, None
    for t, d in sorted(ev):
        n += d
        if n >= ncpu and start is None:
            start = t
        elif n < ncpu and start is not None:
            if t > start:
                out.append((start, t))
            start = None
    return out


def stalled(stalls, lo, hi):
    """How long within [lo, hi] every CPU was stalled, ns."""
    return sum(max(0, min(e, hi) - max(s, lo)) for s, e in stalls if s < hi and e > lo)


def demoted_ok(at):
    """The packets that left the sender's dataplane labelled (point b)."""
    return at["b_labelled"]


def lost(flow, sent, got, at, r):
    """Where each packet the VM never got was last seen: lost inside a
    dataplane (seen going in, never coming out) is rtvnet's; before the
    sender's dataplane, on the wire or ToR, or after the receiver's, the
    lab's."""
    where = {"": "before the sender's dataplane (VM, host switch)", "a": None,
             "ab": "between the dataplanes (wire, ToR)", "abc": None,
             "abcd": "after the receiver's dataplane (host switch, VM)"}
    for seq in range(sent):
        k = (flow, seq)
        if k in got:
            continue
        path = "".join(p for p in POINTS if k in at[p])
        if "b" in path and k not in demoted_ok(at):
            r["lost_rtvnet"] += 1
            print(f"{flow} {seq}: lost: rtvnet's, demoted (it left the sender's dataplane unlabelled, as NRT)")
        elif path in ("a", "abc"):
            r["lost_in_rtvd"] += 1
            out = "b" if path == "a" else "d"
            print(f"{flow} {seq}: lost: rtvnet's, inside a dataplane (captured at {path[-1]}, never at {out})")
        elif path in where:
            r["lost_lab"] += 1
            print(f"{flow} {seq}: lost: the lab's, {where[path]}")
        else:
            r["lost_rtvnet"] += 1
            print(f"{flow} {seq}: lost: captured only at {','.join(path)}: counted as rtvnet's")


def attribute(flow, csv, deadline_ns, net_ns, at, sent=None, stalls=None):
    share_ns = deadline_ns - net_ns
    r = {"flow": flow, "received": 0, "late": 0, "late_lab": 0, "late_rtvnet": 0,
         "unattributed": 0, "lab_max_over_budget_us": 0.0,
         "captured": {p: sum(1 for k in at[p] if k[0] == flow) for p in POINTS},
         "lost_in_rtvd": 0, "lost_lab": 0, "lost_rtvnet": 0, "capture_gaps": 0,
         "late_demoted": 0, "late_cpu": 0, "cpu_probe": stalls is not None}
    with open(csv) as f:
        next(f, None)
        rows = [line.strip().split(",") for line in f if line.strip()]
    got = {(flow, int(row[0])) for row in rows}
    # a packet the VM got that a point missed is a capture gap
    r["capture_gaps"] = sum(1 for k in got if any(k not in at[p] for p in POINTS))
    if sent is not None:
        lost(flow, sent, got, at, r)
    for seq, t0, te, _, miss in rows:
        seq, t0, te = int(seq), int(t0), int(te)
        r["received"] += 1
        if miss != "1":
            continue
        r["late"] += 1
        k = (flow, seq)
        t = {p: at[p].get(k) for p in POINTS}
        if None in t.values():
            r["late_rtvnet"] += 1
            r["unattributed"] += 1
            print(f"{flow} {seq}: late by {(te - t0 - deadline_ns) / 1e3:.0f} us; not captured at "
                  f"{','.join(p for p in POINTS if t[p] is None)}: counted as rtvnet's")
            continue
        if k not in demoted_ok(at):
            r["late_rtvnet"] += 1
            r["late_demoted"] += 1
            print(f"{flow} {seq}: late by {(te - t0 - deadline_ns) / 1e3:.0f} us: rtvnet's, demoted "
                  f"(it left the sender's dataplane unlabelled, as NRT; wire+ToR "
                  f"{(t['c'] - t['b']) / 1e3:.0f} us)")
            continue
        rtv = (t["b"] - t["a"]) + (t["d"] - t["c"])
        lab = (te - t0) - rtv
        segs = (f"VM->dp {(t['a'] - t0) / 1e3:.0f}, dp {(t['b'] - t['a']) / 1e3:.0f}, "
                f"wire+ToR {(t['c'] - t['b']) / 1e3:.0f}, dp {(t['d'] - t['c']) / 1e3:.0f}, "
                f"dp->VM {(te - t['d']) / 1e3:.0f} us")
        cpu = stalled(stalls, t["a"], t["b"]) + stalled(stalls, t["c"], t["d"]) if stalls else 0
        if rtv > share_ns and rtv - cpu <= share_ns:
            r["late_lab"] += 1
            r["late_cpu"] += 1
            verdict = (f"the lab's: no CPU would run rtvd's priority for {cpu / 1e3:.0f} us of "
                       f"rtvd's {rtv / 1e3:.0f} us hold (cpuprobe): {(rtv - cpu) / 1e3:.0f} us "
                       f"<= its share {share_ns / 1e3:.0f} us")
        elif rtv > share_ns:
            r["late_rtvnet"] += 1
            verdict = f"rtvnet's: rtvd held it {rtv / 1e3:.0f} us > its share {share_ns / 1e3:.0f} us"
            if cpu:
                verdict += f" (no CPU for {cpu / 1e3:.0f} us of it: not enough to excuse it)"
        else:
            r["late_lab"] += 1
            over = (lab - net_ns) / 1e3
            r["lab_max_over_budget_us"] = max(r["lab_max_over_budget_us"], over)
            verdict = (f"the lab's: its hops took {lab / 1e3:.0f} us > their budget "
                       f"{net_ns / 1e3:.0f} us; rtvd {rtv / 1e3:.0f} us <= {share_ns / 1e3:.0f} us")
        print(f"{flow} {seq}: late by {(te - t0 - deadline_ns) / 1e3:.0f} us ({segs}): {verdict}")
    return r


def self_test():
    """Synthetic captures: one packet rtvd held too long, one the lab made
    late, one on time, one a capture missed; the verdicts must follow."""
    import os
    import tempfile
    d = tempfile.mkdtemp(prefix="hops-selftest.")

    def frame(seq, mpls):
        udp = struct.pack(">HHHH", 40000, 18030, 8 + 36, 0) + MAGIC + bytes([1, 0, 0, 0]) + \
            struct.pack(">QQI", seq, 0, 5000) + b"A".ljust(8, b"\0")
        ip = bytes([0x45, 0]) + struct.pack(">H", 20 + len(udp)) + bytes(5) + bytes([17]) + bytes(10)
        eth = bytes(12) + (b"\x88\x47" + struct.pack(">I", (1234 << 12) | (5 << 9) | (1 << 8) | 64)
                           if mpls else b"\x08\x00")
        return eth + ip + udp

    def pcap(point, stamps):
        path = os.path.join(d, point + ".pcap")
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
            for seq, ts in stamps:
                fr = frame(seq, point in "bc" and seq != 6)
                f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(fr), len(fr)) + fr)
        return path

    ms = 1_000_000
    t0 = {0: 0, 1: 10 * ms, 2: 20 * ms, 3: 30 * ms, 4: 40 * ms, 6: 60 * ms, 7: 70 * ms,
          8: 80 * ms}
    # seq 0: rtvd holds 4.5 ms (> 5 - 1.6); seq 1: the wire takes 5 ms; seq 2: on
    # time; seq 3: late, but point c never saw it (a capture gap); seq 4: lost
    # inside the sender's dataplane; seq 5 (sent, never captured): lost before
    # the sender's dataplane; seq 6: demoted (unlabelled on the uplink), late;
    # seq 7: held 4.5 ms, but both CPUs were stalled for 2 ms of it (the
    # lab's); seq 8: the same hold with only one CPU stalled (rtvnet's)
    hold = {0: (0.1, 4.6, 4.7, 4.8, 5.2), 1: (0.1, 0.5, 5.5, 5.6, 6.0),
            2: (0.1, 0.5, 0.6, 0.7, 1.0), 3: (0.1, 0.5, None, 6.0, 6.5),
            4: (0.1, None, None, None, None), 6: (0.1, 0.2, 9.0, 9.1, 9.3),
            7: (0.1, 4.6, 4.7, 4.8, 5.2), 8: (0.1, 4.6, 4.7, 4.8, 5.2)}
    pts = {p: [] for p in POINTS}
    for seq, h in hold.items():
        for p, x in zip(POINTS, h):
            if x is not None:
                pts[p].append((seq, t0[seq] + int(x * ms)))
    pcaps = {p: pcap(p, pts[p]) for p in POINTS}
    csv = os.path.join(d, "A.csv")
    with open(csv, "w") as f:
        f.write("seq,send_ns,recv_ns,delay_us,miss\n")
        for seq, h in hold.items():
            if h[4] is None:
                continue
            rx = int(h[4] * ms)
            f.write(f"{seq},{t0[seq]},{t0[seq] + rx},{rx // 1000},{int(rx > 5 * ms)}\n")
    cpu = os.path.join(d, "cpu.txt")
    with open(cpu, "w") as f:
        f.write("# cpus 2 prio 10 period_us 200 threshold_us 300\n")
        f.write(f"0 {70 * ms + 1 * ms} {70 * ms + 3 * ms}\n1 {70 * ms + 500_000} {70 * ms + 3 * ms}\n")
        f.write(f"0 {80 * ms + 1 * ms} {80 * ms + 3 * ms}\n")
    # through main(), as the lab scripts call it
    import contextlib
    import io
    buf = io.StringIO()
    argv = ["hops.py"] + [x for p in POINTS for x in ("--pcap", f"{p}={pcaps[p]}")] + \
        ["--cpu", cpu, f"A:{csv}:{5 * ms}:{1600 * 1000}:9"]
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    print(buf.getvalue(), end="")
    if rc != 0:
        print(f"hops.py self-test FAILED: main() returned {rc}", file=sys.stderr)
        return 1
    r = json.loads([x for x in buf.getvalue().splitlines() if x.startswith("{")][-1])
    want = {"received": 7, "late": 6, "late_lab": 2, "late_rtvnet": 4, "unattributed": 1,
            "late_demoted": 1, "lost_in_rtvd": 1, "lost_lab": 1, "lost_rtvnet": 0,
            "capture_gaps": 1, "late_cpu": 1}
    bad = {k: (r[k], v) for k, v in want.items() if r[k] != v}
    if bad:
        print(f"hops.py self-test FAILED: got/want {bad}", file=sys.stderr)
        return 1
    print("hops.py self-test: verdicts as expected")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    pcaps, flows, i, cpu = {}, [], 1, None
    while i < len(argv):
        if argv[i] == "--cpu" and i + 1 < len(argv):
            cpu = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--pcap" and i + 1 < len(argv) and "=" in argv[i + 1]:
            p, path = argv[i + 1].split("=", 1)
            pcaps[p] = path
            i += 2
            continue
        parts = argv[i].split(":")
        if len(parts) not in (4, 5) or not all(x.isdigit() for x in parts[2:]):
            print(f"hops.py: expected FLOW:CSV:DEADLINE_NS:NET_BUDGET_NS[:SENT], got '{argv[i]}'",
                  file=sys.stderr)
            return 2
        flows.append((parts[0], parts[1], int(parts[2]), int(parts[3]),
                      int(parts[4]) if len(parts) == 5 else None))
        i += 1
    if sorted(pcaps) != list(POINTS) or not flows:
        print(__doc__.split("Usage: ")[1].split("\n\n")[0], file=sys.stderr)
        return 2
    try:
        at = {}
        for p in POINTS:
            at[p], labelled = seen(pcaps[p])
            if p == "b":
                at["b_labelled"] = labelled
        stalls = cpu_stalls(cpu) if cpu else None
        res = [attribute(f, c, d, n, at, s, stalls) for f, c, d, n, s in flows]
    except (OSError, ValueError) as e:
        print(f"hops.py: {e}", file=sys.stderr)
        return 2
    for r in res:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
