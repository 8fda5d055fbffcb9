# SPDX-License-Identifier: ISC
"""mem.py - private memory per idle SMTP session of a server.

Opens N connections to HOST:PORT, reads each banner and sends EHLO, then
finds the server processes that hold the other end of exactly those
connections (socket inodes in /proc/net/tcp matched against /proc/PID/fd)
and sums their private memory (Private_Clean + Private_Dirty from
/proc/PID/smaps_rollup).  This works the same for tern's per-connection
children and for Postfix's smtpd processes, and ignores idle, queue and
other helper processes.  Reading other users' /proc/PID/fd needs root or
the same user as the server.

    python3 mem.py PORT [N]      prints: sessions procs total_kib per_session_kib
"""

import os
import socket
import sys
import time


def _read_reply(f):
    """Read one (possibly multi-line) SMTP reply; return its code."""
    for _ in range(100):
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])
    raise ConnectionError("reply too long")


def open_idle(port, n, host="127.0.0.1"):
    """Open n sessions that said EHLO and now sit idle."""
    conns = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=15)
        f = s.makefile("rb")
        if _read_reply(f) != 220:
            raise ConnectionError("no 220 banner")
        s.sendall(b"EHLO mem.bench.test\r\n")
        if _read_reply(f) != 250:
            raise ConnectionError("EHLO refused")
        conns.append((s, f))
    return conns


def close_all(conns):
    for s, f in conns:
        try:
            s.sendall(b"QUIT\r\n")
            s.settimeout(2)
            _read_reply(f)
        except (OSError, ValueError):
            pass
        f.close()
        s.close()


def _server_inodes(port, client_ports):
    """Socket inodes of the server side of our connections."""
    inodes = set()
    with open("/proc/net/tcp") as fp:
        next(fp)
        for line in fp:
            fld = line.split()
            lport = int(fld[1].split(":")[1], 16)
            rport = int(fld[2].split(":")[1], 16)
            if lport == port and rport in client_ports:
                inodes.add(fld[9])
    return inodes


def _pids_holding(inodes):
    pids = set()
    want = {"socket:[%s]" % i for i in inodes}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % d):
                if os.readlink("/proc/%s/fd/%s" % (d, fd)) in want:
                    pids.add(int(d))
                    break
        except OSError:
            continue
    return pids


def private_kib(pid):
    """Private_Clean + Private_Dirty of one process, in KiB."""
    total = 0
    try:
        path = "/proc/%d/smaps_rollup" % pid
        if not os.path.exists(path):
            path = "/proc/%d/smaps" % pid
        with open(path) as fp:
            for line in fp:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


def measure(port, n=50, settle=0.5):
    """Return (sessions, procs, total KiB, KiB per session)."""
    conns = open_idle(port, n)
    try:
        time.sleep(settle)
        cports = {s.getsockname()[1] for s, _ in conns}
        pids = _pids_holding(_server_inodes(port, cports))
        total = sum(private_kib(p) for p in pids)
    finally:
        close_all(conns)
    return n, len(pids), total, (total / n if n else 0.0)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: mem.py PORT [N]")
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    sess, procs, total, per = measure(port, n)
    print("sessions=%d procs=%d total_kib=%d per_session_kib=%.0f"
          % (sess, procs, total, per))


if __name__ == "__main__":
    main()
