#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""dnsserver.py - a tiny authoritative DNS server for tern's tests.

    python3 tests/dnsserver.py --port N --zone FILE [--pidfile FILE] [--ad]
        [--ttl SECONDS] [--query-log FILE]

Answers on 127.0.0.1 over UDP and TCP (add --host ::1 for IPv6).  The
zone file has one record per line, '#' starts a comment:

    example.test      MX       10 mx.example.test
    nullmx.test       MX       0 .
    mx.example.test   A        127.0.0.1
    mx.example.test   AAAA     ::1
    alias.test        CNAME    mx.example.test
    broken.test       SERVFAIL
    slow.test         TIMEOUT          (no answer at all)
    _25._tcp.mx.example.test TLSA 3 1 1 40fd57...   (usage selector type hex)
    example.test      SECURE           (answers for it get the AD bit)

SECURE marks a name as DNSSEC-signed: every answer for it, records or
not, comes with the AD bit (RFC 4035 section 3.2.3), as a validating
resolver would send; --ad sets the bit on every answer.

A name with records but none of the asked type gets an empty NOERROR
answer (NODATA); a name not in the file gets NXDOMAIN.  The zone file
is re-read when it changes, so a test may rewrite it between steps.
Every record has the TTL --ttl (60).  --query-log appends "NAME TYPE"
for each query, so a test can count the lookups.
SIGTERM ends the server; the pid file is removed.

From a test:  srv = DNSServer(port, zone_path); srv.start(); ...; srv.stop()
"""
import argparse
import ipaddress
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TYPES = {"A": 1, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "TLSA": 52}
SPECIAL = ("SERVFAIL", "TIMEOUT", "SECURE")
OPTS = {"ttl": 60, "query_log": None}


def norm(name):
    return name.rstrip(".").lower()


def load_zone(path):
    """Return {name: [(type, value)]} and {name: 'SERVFAIL'|'TIMEOUT'}."""
    records, special = {}, {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 2)
            kind = parts[1].upper() if len(parts) > 1 else ""
            if kind == "SECURE" and len(parts) == 2:
                special.setdefault("$secure", set()).add(norm(parts[0]))
            elif kind in SPECIAL and len(parts) == 2:
                special[norm(parts[0])] = kind
            elif kind in TYPES and len(parts) == 3:
                records.setdefault(norm(parts[0]), []).append(
                    (kind, parts[2].strip()))
            else:
                raise ValueError("%s:%d: bad record" % (path, lineno))
    return records, special


def encode_name(name):
    out = b""
    for label in norm(name).split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def rdata(kind, value):
    if kind == "A":
        return ipaddress.IPv4Address(value).packed
    if kind == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if kind == "MX":
        pref, host = value.split()
        return struct.pack("!H", int(pref)) + encode_name(host)
    if kind in ("CNAME", "PTR"):
        return encode_name(value)
    if kind == "TLSA":
        usage, selector, mtype, data = value.split()
        return bytes([int(usage), int(selector), int(mtype)]) + \
            bytes.fromhex(data)
    raw = value.encode("utf-8")[:255]
    return bytes([len(raw)]) + raw


def parse_question(msg):
    """Return (id, flags, qname, qtype, end offset) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1 or flags & 0x8000:
        return None
    pos, labels = 12, []
    while pos < len(msg) and msg[pos] != 0:
        n = msg[pos]
        if n & 0xC0 or pos + 1 + n > len(msg):
            return None
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    if pos + 5 > len(msg):
        return None
    qtype, _ = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return qid, flags, ".".join(labels), qtype, pos + 5


class Zone:
    """The zone file, re-read whenever its mtime changes."""

    def __init__(self, path):
        self.path, self.mtime = path, None
        self.records, self.special = {}, {}
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            mtime = os.stat(self.path).st_mtime_ns
            if mtime != self.mtime:
                self.records, self.special = load_zone(self.path)
                self.mtime = mtime
            return self.records, self.special


def answer(zone, msg, udp, ad=False):
    """Build the response to one query, or None to stay silent."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, qname, qtype, end = q
    if OPTS["query_log"]:
        with open(OPTS["query_log"], "a") as f:
            f.write("%s %d\n" % (norm(qname), qtype))
    records, special = zone.get()
    name = norm(qname)
    ad = ad or name in special.get("$secure", ())
    rcode, answers = 0, []
    if special.get(name) == "TIMEOUT":
        return None
    if special.get(name) == "SERVFAIL":
        rcode = 2
    elif name not in records:
        rcode = 3
    else:
        seen = set()
        while name in records and name not in seen:
            seen.add(name)
            recs = records[name]
            cname = [v for k, v in recs if k == "CNAME"]
            if cname and qtype != TYPES["CNAME"]:
                answers.append((name, "CNAME", cname[0]))
                name = norm(cname[0])
                continue
            answers += [(name, k, v) for k, v in recs if TYPES[k] == qtype]
            break
    body = b""
    for owner, kind, value in answers:
        data = rdata(kind, value)
        body += encode_name(owner) + struct.pack(
            "!HHIH", TYPES[kind], 1, OPTS["ttl"], len(data)) + data
    rflags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode
    if ad and rcode != 2:
        rflags |= 0x0020
    count = len(answers)
    if udp and 12 + (end - 12) + len(body) > 512:
        rflags |= 0x0200
        body, count = b"", 0
    header = struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0)
    return header + msg[12:end] + body


def serve_udp(sock, zone, ad):
    while True:
        try:
            msg, peer = sock.recvfrom(4096)
        except OSError:
            return
        resp = answer(zone, msg, True, ad)
        if resp is not None:
            sock.sendto(resp, peer)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp_conn(conn, zone, ad):
    with conn:
        conn.settimeout(10)
        for _ in range(100):
            head = recv_exact(conn, 2)
            if head is None:
                return
            msg = recv_exact(conn, struct.unpack("!H", head)[0])
            if msg is None:
                return
            resp = answer(zone, msg, False, ad)
            if resp is None:
                return
            conn.sendall(struct.pack("!H", len(resp)) + resp)


def serve_tcp(sock, zone, ad):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=serve_tcp_conn, args=(conn, zone, ad),
                         daemon=True).start()


def main(argv=None):
    p = argparse.ArgumentParser(description="test DNS server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--zone", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--pidfile")
    p.add_argument("--ad", action="store_true",
                   help="set the AD bit on every answer")
    p.add_argument("--ttl", type=int, default=60)
    p.add_argument("--query-log")
    args = p.parse_args(argv)
    OPTS.update(ttl=args.ttl, query_log=args.query_log)
    zone = Zone(args.zone)
    zone.get()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((args.host, args.port))
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.host, args.port))
    tcp.listen(16)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    for fn, sock in ((serve_udp, udp), (serve_tcp, tcp)):
        threading.Thread(target=fn, args=(sock, zone, args.ad),
                         daemon=True).start()
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    while not done.wait(0.5):
        pass
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass
    return 0


class DNSServer:
    """Run dnsserver.py as a subprocess from a test; stop() kills by pid."""

    def __init__(self, port, zone, pidfile=None, host="127.0.0.1",
                 extra=()):
        self.port, self.zone, self.host = port, zone, host
        self.extra = list(extra)
        self.pidfile = pidfile or "%s.dns.pid" % zone
        self.proc = None

    def start(self, timeout=10.0):
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--port",
             str(self.port), "--zone", self.zone, "--host", self.host,
             "--pidfile", self.pidfile] + self.extra)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.pidfile):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("dnsserver.py did not start on port %d" % self.port)

    def stop(self):
        if self.proc is None:
            return
        from harness import stop_pid   # tests/ is on the path of its users
        stop_pid(self.proc, 5)
        self.proc = None


if __name__ == "__main__":
    sys.exit(main())
