#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""pop3load.py - one timed POP3 session against a server, for the pop3
figure of `make bench` (tests/bench/pop3-bench.sh).

Logs in with USER/PASS, reads UIDL, then RETRs every message, pipelined
in windows of --window commands (both tern and Dovecot announce
PIPELINING), checks each answer ends where it should, and before QUIT
sums the memory of the server's session processes: the descendants of
--server-pid that did not exist before the session (tern: the login and
the mailbox process; Dovecot: pop3-login and pop3).  Prints one JSON
line: messages, seconds, msgs/s, bytes, rss_kb, pss_kb, processes, and
a digest of the UIDL list (the two servers' lists must match)."""
import argparse
import hashlib
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mem import descendants  # noqa: E402


def memory(pid):
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.buf = bytearray()
        self.pos = 0

    def fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed")
        self.buf += chunk

    def line(self):
        # between answers only: multi() holds offsets into buf
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i != -1:
                out = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return out
            self.fill()

    def multi(self):
        """The body of a multi-line answer, after its status line."""
        start = self.pos
        if self.buf.startswith(b".\r\n", start):
            self.pos = start + 3
            return b""
        while True:
            i = self.buf.find(b"\r\n.\r\n", max(start, self.pos - 4))
            if i != -1:
                out = bytes(self.buf[start:i + 2])
                self.pos = i + 5
                return out
            self.pos = max(start, len(self.buf))
            self.fill()

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.line()


def session(a):
    before = descendants(a.server_pid) if a.server_pid else set()
    t0 = time.monotonic()
    c = Conn(a.port)
    assert c.line().startswith(b"+OK")
    assert c.cmd("USER " + a.user).startswith(b"+OK")
    r = c.cmd("PASS " + a.password)
    assert r.startswith(b"+OK"), r
    assert c.cmd("UIDL").startswith(b"+OK")
    uidls = c.multi().split(b"\r\n")[:-1]
    n = len(uidls)
    total = 0
    i = 1
    while i <= n:
        w = min(a.window, n - i + 1)
        c.s.sendall(b"".join(b"RETR %d\r\n" % k for k in range(i, i + w)))
        for _ in range(w):
            st = c.line()
            assert st.startswith(b"+OK"), st
            total += len(c.multi())
        i += w
    t1 = time.monotonic()
    procs = sorted(descendants(a.server_pid) - before) if a.server_pid \
        else []
    rss = pss = 0
    for p in procs:
        r_, p_ = memory(p)
        rss += r_
        pss += p_
    assert c.cmd("QUIT").startswith(b"+OK")
    c.s.close()
    digest = hashlib.sha256(b"\n".join(u.split(b" ", 1)[1]
                                       for u in uidls)).hexdigest()[:16]
    return dict(messages=n, seconds=round(t1 - t0, 4),
                rate=round(n / (t1 - t0), 1), bytes=total, rss_kb=rss,
                pss_kb=pss, processes=len(procs), uidl=digest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--window", type=int, default=64)
    print(json.dumps(session(ap.parse_args())))


if __name__ == "__main__":
    main()
