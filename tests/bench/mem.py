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

With --tls each session also says STARTTLS, does the TLS handshake (a
full one: SNI localhost, no certificate check, TLS 1.2 or later) and
EHLO again before it sits idle.  With --root PID (the server's master)
the helpers matter too: the private memory of the master's other
descendants (Postfix's tlsmgr, anvil, proxymap...; tern's master and
runner) is summed before the sessions open and while they are open,
and the growth, if any, is added to the sessions' total.

    python3 mem.py [--tls] [--root PID] PORT [N]
        prints: sessions procs total_kib per_session_kib helpers_kib
"""

import os
import socket
import ssl
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


def _tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def open_idle(port, n, host="127.0.0.1", tls=False):
    """Open n sessions that said EHLO (after STARTTLS with tls) and now
    sit idle."""
    conns = []
    ctx = _tls_context() if tls else None
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=15)
        f = s.makefile("rb")
        if _read_reply(f) != 220:
            raise ConnectionError("no 220 banner")
        s.sendall(b"EHLO mem.bench.test\r\n")
        if _read_reply(f) != 250:
            raise ConnectionError("EHLO refused")
        if tls:
            s.sendall(b"STARTTLS\r\n")
            if _read_reply(f) != 220:
                raise ConnectionError("STARTTLS refused")
            f.close()
            s = ctx.wrap_socket(s, server_hostname="localhost")
            f = s.makefile("rb")
            s.sendall(b"EHLO mem.bench.test\r\n")
            if _read_reply(f) != 250:
                raise ConnectionError("EHLO after STARTTLS refused")
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


def descendants(root):
    """PIDs of all processes below root (not root itself)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fp:
                st = fp.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = set(), [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def measure(port, n=50, settle=0.5, tls=False, root=None):
    """Return (sessions, procs, total KiB, KiB per session, helpers KiB).
    Without root, helpers is 0; with it, the growth of the private
    memory of root and its other descendants, included in total."""
    before = {}
    if root:
        before = {p: private_kib(p) for p in descendants(root) | {root}}
    conns = open_idle(port, n, tls=tls)
    try:
        time.sleep(settle)
        cports = {s.getsockname()[1] for s, _ in conns}
        pids = _pids_holding(_server_inodes(port, cports))
        total = sum(private_kib(p) for p in pids)
        helpers = 0
        if root:
            others = (descendants(root) | {root}) - pids
            helpers = max(0, sum(private_kib(p) for p in others)
                          - sum(v for p, v in before.items()
                                if p not in pids))
            total += helpers
    finally:
        close_all(conns)
    return n, len(pids), total, (total / n if n else 0.0), helpers


def main():
    args = sys.argv[1:]
    tls, root = False, None
    while args and args[0].startswith("--"):
        if args[0] == "--tls":
            tls = True
            args = args[1:]
        elif args[0] == "--root" and len(args) > 1:
            root = int(args[1])
            args = args[2:]
        else:
            break
    if not args or args[0].startswith("--"):
        sys.exit("usage: mem.py [--tls] [--root PID] PORT [N]")
    port = int(args[0])
    n = int(args[1]) if len(args) > 1 else 50
    sess, procs, total, per, helpers = measure(port, n, tls=tls, root=root)
    print("sessions=%d procs=%d total_kib=%d per_session_kib=%.0f "
          "helpers_kib=%d" % (sess, procs, total, per, helpers))


if __name__ == "__main__":
    main()
