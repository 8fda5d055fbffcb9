#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""hostile_server.py - a scripted SMTP server that misbehaves, one way per
run, for tern's tests of its SMTP client (issue 11, part 3).

    python3 tests/hostile_server.py --case CASE --port N [--host 127.0.0.1]
        [--pidfile FILE] [--record FILE]

Cases (what the server does; everything else is plain SMTP):
  endless-multiline  answers EHLO with "250-..." lines that never end
  long-line          answers MAIL FROM with one 1 MiB line
  endless-line       a greeting "220 xxx..." with no end of line, ever
  drip               a greeting sent one byte per second
  garbage            NULs, 8-bit bytes and escapes in every reply; the end
                     of data gets "451 4.3.0 <garbage>"
  binary             a greeting of binary bytes, no reply code at all
  data-disconnect    resets the connection after 16 KiB of the message
                     (with a small receive window, so a message of
                     1 MB is still being sent)
  early-250          "250" right after "354", before the message
  early-554          "554 5.3.4" right after "354", then closes
  dot-disconnect     reads the whole message, closes instead of replying
  dot-silent         reads the whole message, never replies
  silent             accepts and never says a word
  starttls-plain     offers STARTTLS, answers it with 220, then goes on in
                     plaintext (and garbage) instead of a handshake; a
                     session without STARTTLS gets plain SMTP

--record FILE gets one JSON line per connection when it ends: n (its
number from 1), case, sent (octets written), dot (the end of data was
read), peer_hwm_kb (the client process's peak RSS, VmHWM, while it was
connected, when /proc shows who the client is; else null).  Every
connection ends when the client goes away, at SIGTERM, or after 60 s.
Stdlib only; from a test: HostileServer(case, port, record).start(),
.records(), .stop().
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

CASES = ("endless-multiline", "long-line", "endless-line", "drip",
         "garbage", "binary", "data-disconnect", "early-250", "early-554",
         "dot-disconnect", "dot-silent", "silent", "starttls-plain")
LIFETIME = 60.0
GARBAGE = b"\x00\xff\xfe\x80\x1b[2J\x07 \xc3\x28"


class Gone(Exception):
    """The client closed the connection, or the time is up."""


def peer_pid(conn):
    """The pid of the process that holds the client end of conn, found
    through /proc/net/tcp (the socket's inode) and /proc/*/fd; or None."""
    host, port = conn.getpeername()[:2]
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(host), "little"),
                          port)
    inode = None
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == want:
                    inode = fields[9]
                    break
    except OSError:
        return None
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target:
                    return int(pid)
        except OSError:
            continue
    return None


def hwm_kb(pid):
    """VmHWM of pid in kB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, TypeError, ValueError):
        pass
    return None


class Session:
    """One connection: a small line reader and writer that count what
    goes out and give up (Gone) when the client has left or the
    connection has lived LIFETIME seconds."""

    def __init__(self, server, conn, n):
        self.server, self.conn, self.n = server, conn, n
        self.case = server.case
        self.buf = b""
        self.sent = 0
        self.dot = False
        self.start = time.monotonic()
        self.pid = None
        self.hwm = None
        conn.settimeout(0.25)

    def alive(self):
        if self.server.stopping or \
                time.monotonic() - self.start > LIFETIME:
            raise Gone()

    def sample(self):
        """The client's peak RSS so far (it only grows)."""
        if self.pid is None:
            self.pid = peer_pid(self.conn) or 0
        h = hwm_kb(self.pid) if self.pid else None
        if h is not None:
            self.hwm = max(self.hwm or 0, h)

    def send(self, data):
        self.alive()
        try:
            self.conn.sendall(data)
        except OSError:
            raise Gone()
        self.sent += len(data)

    def line(self):
        """The next line from the client, CRLF included."""
        while b"\n" not in self.buf:
            self.alive()
            try:
                chunk = self.conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                raise Gone()
            if not chunk:
                raise Gone()
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def pause(self, seconds):
        """Wait, but end (Gone) as soon as the client leaves; what it
        sends meanwhile is kept for line()."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.alive()
            try:
                chunk = self.conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                raise Gone()
            if not chunk:
                raise Gone()
            self.buf += chunk

    def wait_gone(self):
        """Read and drop whatever comes until the client leaves."""
        while True:
            self.alive()
            try:
                if self.conn.recv(65536) == b"":
                    raise Gone()
            except socket.timeout:
                continue
            except OSError:
                raise Gone()

    def message(self, stop_after=None):
        """The message after 354, to the end of data; with stop_after,
        only until that many octets have come (False), else True."""
        got = 0
        while True:
            line = self.line()
            got += len(line)
            if line == b".\r\n":
                self.dot = True
                return True
            if stop_after is not None and got >= stop_after:
                return False

    def run(self):
        try:
            self.sample()
            getattr(self, "case_" + self.case.replace("-", "_"))()
        except Gone:
            pass
        finally:
            try:
                self.conn.close()
            except OSError:
                pass
            self.server.record(dict(n=self.n, case=self.case,
                                    sent=self.sent, dot=self.dot,
                                    peer_hwm_kb=self.hwm))

    # --- plain SMTP, with a hook per stage -------------------------------

    def smtp(self, greeting=b"220 hostile.test ESMTP\r\n",
             ehlo=b"250-hostile.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
             mail=b"250 2.1.0 Ok\r\n", rcpt=b"250 2.1.5 Ok\r\n",
             data=None, starttls=None):
        """Plain SMTP; data, when given, takes over at DATA (and the
        session goes on when it returns True); starttls at STARTTLS."""
        self.send(greeting)
        while True:
            line = self.line()
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.send(ehlo)
                self.sample()
            elif verb == b"MAIL":
                self.send(mail)
            elif verb == b"RCPT":
                self.send(rcpt)
            elif verb == b"DATA":
                if data is not None and not data():
                    return
                if data is not None:
                    continue
                self.send(b"354 go ahead\r\n")
                self.message()
                self.send(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"STAR" and starttls is not None:
                return starttls()
            elif verb == b"QUIT":
                self.send(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.send(b"250 2.0.0 Ok\r\n")

    def case_endless_multiline(self):
        self.send(b"220 hostile.test ESMTP\r\n")
        self.line()
        i = 0
        while True:
            self.send(b"".join(b"250-endless line %d of a reply that "
                               b"never ends\r\n" % (i + k)
                               for k in range(100)))
            i += 100
            if i % 10000 == 0:
                self.sample()

    def case_long_line(self):
        self.smtp(mail=b"250 " + b"x" * (1 << 20) + b"\r\n")

    def case_endless_line(self):
        self.send(b"220 ")
        chunk = b"x" * 65536
        n = 0
        while True:
            self.send(chunk)
            n += 1
            if n % 16 == 0:
                self.sample()

    def case_drip(self):
        for b in b"220 hostile.test ESMTP, one byte a second\r\n":
            self.send(bytes([b]))
            self.sample()
            self.pause(1)
        self.smtp(greeting=b"")

    def case_garbage(self):
        def data():
            self.send(b"354 go \x00\xff ahead\r\n")
            self.message()
            self.send(b"451 4.3.0 " + GARBAGE + b" not today\r\n")
            return True         # and on to QUIT
        self.smtp(greeting=b"220 hostile.test " + GARBAGE + b"\r\n",
                  ehlo=b"250-hostile.test " + GARBAGE + b"\r\n250-" +
                  GARBAGE + b"\r\n250 PIPELINING\r\n",
                  mail=b"250 2.1.0 " + GARBAGE + b"\r\n",
                  rcpt=b"250 2.1.5 \x00\r\n", data=data)

    def case_binary(self):
        self.send(bytes(range(256)) + b"\r\n")
        self.wait_gone()

    def case_data_disconnect(self):
        def data():
            self.send(b"354 go ahead\r\n")
            self.message(stop_after=16384)
            # unread data and no linger: close() resets the connection
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        self.smtp(data=data)

    def case_early_250(self):
        def data():
            self.send(b"354 go ahead\r\n250 2.0.0 Ok: taken early\r\n")
            if self.message():
                self.send(b"250 2.0.0 Ok: queued\r\n")
            self.wait_gone()
        self.smtp(data=data)

    def case_early_554(self):
        def data():
            self.send(b"354 go ahead\r\n554 5.3.4 Message too big for "
                      b"this server\r\n")
            time.sleep(0.5)
        self.smtp(data=data)

    def case_dot_disconnect(self):
        def data():
            self.send(b"354 go ahead\r\n")
            self.message()
        self.smtp(data=data)

    def case_dot_silent(self):
        def data():
            self.send(b"354 go ahead\r\n")
            self.message()
            self.wait_gone()
        self.smtp(data=data)

    def case_silent(self):
        self.wait_gone()

    def case_starttls_plain(self):
        def starttls():
            self.send(b"220 2.0.0 Ready to start TLS\r\n")
            self.send(b"250 2.0.0 Ok, in plaintext after all\r\n")
            while True:
                self.line()
                self.send(b"500 " + GARBAGE + b"\r\n")
        self.smtp(ehlo=b"250-hostile.test\r\n250-STARTTLS\r\n"
                  b"250 PIPELINING\r\n", starttls=starttls)


class Server:
    def __init__(self, args):
        self.case = args.case
        self.record_path = args.record
        self.stopping = False
        self.lock = threading.Lock()
        self.n = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.case == "data-disconnect":
            # a small window: the client is still sending when we go
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind((args.host, args.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)

    def record(self, obj):
        if self.record_path:
            with self.lock, open(self.record_path, "a") as f:
                f.write(json.dumps(obj) + "\n")

    def serve(self):
        threads = []
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.n += 1
            t = threading.Thread(target=Session(self, conn, self.n).run,
                                 daemon=True)
            t.start()
            threads.append(t)
        self.sock.close()
        for t in threads:
            t.join(2)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="hostile SMTP server")
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--pidfile")
    p.add_argument("--record")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    server = Server(args)

    def stop(signum, frame):
        server.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    server.serve()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass
    return 0


class HostileServer:
    """Run hostile_server.py as a subprocess from a test; stop() ends it
    by its pid."""

    def __init__(self, case, port, directory):
        self.case, self.port, self.dir = case, port, directory
        self.pidfile = os.path.join(directory, "hostile.pid")
        self.record_path = os.path.join(directory, "record.jsonl")
        self.proc = None

    def start(self, timeout=10.0):
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--case", self.case,
             "--port", str(self.port), "--pidfile", self.pidfile,
             "--record", self.record_path])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.pidfile):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("hostile_server.py did not start on port %d"
                           % self.port)

    def records(self):
        """One dict per connection that has ended, in order."""
        try:
            with open(self.record_path) as f:
                return [json.loads(line) for line in f]
        except OSError:
            return []

    def stop(self):
        if self.proc is None:
            return
        from harness import stop_pid   # tests/ is on the path of its users
        stop_pid(self.proc, 5)
        self.proc = None


if __name__ == "__main__":
    sys.exit(main())
