#!/usr/bin/env python3
"""udp.py — the UDP probes the dataplane's system tests send between VMs.

  udp.py send DST PORTS N SIZE GAP_S [--tos T] [--df | --no-df]
      N datagrams of SIZE bytes to each of PORTS (comma-separated) in turn,
      at least GAP_S seconds apart (a sleep after each round: never a burst
      to catch up, so a flow never exceeds SIZE / GAP_S). --tos sets the IP
      TOS byte, --df the don't-fragment bit (a datagram over the path MTU
      the kernel learnt is refused: counted, not fatal), --no-df clears it
      (the kernel's default sets it on what fits). Prints how many were
      sent and refused to stderr when any was refused.
  udp.py recv OUT SECONDS QUIET_S PORT... [--deadline-ms D]
      receives on every PORT until SECONDS have passed or nothing arrived for
      QUIET_S after the first datagram; writes OUT (JSON, per port: n, bad =
      payload not what was sent, tos = the TOS values seen, max_us and late =
      one-way delays from the send time in the payload, late counting those
      above D) and creates OUT.ready once it listens.

Payload: seq (u32), send time (u64 ns, CLOCK_REALTIME), then a pattern of
the seq, so a corrupted byte shows. Standard library only.
"""
import errno
import json
import select
import socket
import sys
import time

HDR = 12


def body(seq, size):
    return (bytes((seq * 7 + i) & 255 for i in range(64)) * (size // 64 + 1))[:max(size - HDR, 0)]


def payload(seq, size):
    b = body(seq, size)
    return seq.to_bytes(4, "big") + time.time_ns().to_bytes(8, "big") + b


def send(dst, ports, n, size, gap, tos, df):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    if df is not None:  # IP_MTU_DISCOVER = IP_PMTUDISC_DO (2) or _DONT (0)
        s.setsockopt(socket.IPPROTO_IP, 10, 2 if df else 0)
    sent = refused = 0
    for seq in range(n):
        for port in ports:
            try:
                s.sendto(payload(seq, size), (dst, port))
                sent += 1
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    raise
                refused += 1
        time.sleep(gap)
    if refused:
        print(f"udp.py: sent {sent}, refused {refused} (EMSGSIZE: over the path MTU)",
              file=sys.stderr)


def recv(out, secs, quiet, ports, deadline_ns):
    socks = {}
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
        s.bind(("0.0.0.0", port))
        socks[s] = port
    res = {p: {"n": 0, "bad": 0, "tos": [], "late": 0, "max_us": 0} for p in ports}
    open(out + ".ready", "w").close()
    end, last = time.time() + secs, None
    while time.time() < end and (last is None or time.time() - last < quiet):
        for s in select.select(list(socks), [], [], 0.2)[0]:
            data, anc, _, _ = s.recvmsg(65536, 64)
            now, last = time.time_ns(), time.time()
            r = res[socks[s]]
            seq = int.from_bytes(data[:4], "big")
            delay = now - int.from_bytes(data[4:HDR], "big")
            r["n"] += 1
            r["bad"] += data[HDR:] != body(seq, len(data))
            r["late"] += deadline_ns is not None and delay > deadline_ns
            r["max_us"] = max(r["max_us"], delay // 1000)
            for _, typ, val in anc:
                if typ == socket.IP_TOS and val[0] not in r["tos"]:
                    r["tos"].append(val[0])
    json.dump(res, open(out, "w"))


def opt(args, name, default, conv):
    if name in args:
        i = args.index(name)
        v = conv(args[i + 1]) if conv else True
        del args[i:i + (2 if conv else 1)]
        return v
    return default


def main(argv):
    args = argv[1:]
    try:
        if args[:1] == ["send"]:
            tos, df = opt(args, "--tos", 0, int), opt(args, "--df", None, None)
            if opt(args, "--no-df", False, None):
                df = False
            _, dst, ports, n, size, gap = args
            send(dst, [int(p) for p in ports.split(",")], int(n), int(size), float(gap), tos, df)
            return 0
        if args[:1] == ["recv"]:
            d = opt(args, "--deadline-ms", None, float)
            _, out, secs, quiet, *ports = args
            recv(out, float(secs), float(quiet), [int(p) for p in ports],
                 None if d is None else int(d * 1e6))
            return 0
    except (ValueError, IndexError) as e:
        print(f"udp.py: bad arguments: {e}", file=sys.stderr)
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
