# SPDX-License-Identifier: ISC
"""lat.py - latency from a server's 250 to arrival at a sink.

Runs a small SMTP sink on 127.0.0.1:SINKPORT (a thread) that records with
time.time() the moment each message's final "." arrives, then sends COUNT
messages one at a time to the server on 127.0.0.1:PORT for RCPT (a domain
the server routes to the sink) and, for each, measures the time from the
server's "250" after DATA until the sink has the message.  One message is
in flight at a time: this is the idle-system, single-message latency.

    python3 lat.py PORT SINKPORT [COUNT] [RCPT]
    prints: n median_ms min_ms max_ms lost
"""

import socket
import socketserver
import statistics
import sys
import threading
import time

ARRIVED = {}
ARRIVED_CV = threading.Condition()


class _Sink(socketserver.StreamRequestHandler):
    timeout = 30

    def _say(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def _data(self):
        token = None
        for _ in range(1000000):
            line = self.rfile.readline()
            if not line:
                return
            if line in (b".\r\n", b".\n"):
                break
            if token is None and line.lower().startswith(b"subject: lat-"):
                token = line.split(b":", 1)[1].strip().decode()
        now = time.time()
        if token is not None:
            with ARRIVED_CV:
                ARRIVED[token] = now
                ARRIVED_CV.notify_all()
        self._say("250 2.0.0 Ok: sunk")

    def handle(self):
        self._say("220 lat-sink.bench.test ESMTP")
        for _ in range(100000):
            line = self.rfile.readline()
            if not line:
                return
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                self._say("250-lat-sink.bench.test\r\n250-8BITMIME\r\n"
                          "250 SIZE 100000000")
            elif cmd == b"DATA":
                self._say("354 go ahead")
                self._data()
            elif cmd == b"QUIT":
                self._say("221 2.0.0 Bye")
                return
            else:
                self._say("250 2.0.0 Ok")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def start_sink(port):
    srv = _Server(("127.0.0.1", port), _Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _reply(f):
    for _ in range(100):
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])
    raise ConnectionError("reply too long")


def _send_one(port, rcpt, token):
    """Send one message; return time.time() of the 250 after DATA."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        f = s.makefile("rb")
        steps = [(None, 220), (b"EHLO lat.bench.test", 250),
                 (b"MAIL FROM:<from@bench.test>", 250),
                 (b"RCPT TO:<%s>" % rcpt.encode(), 250), (b"DATA", 354)]
        for cmd, want in steps:
            if cmd is not None:
                s.sendall(cmd + b"\r\n")
            code = _reply(f)
            if code != want:
                raise ConnectionError("%s -> %d" % (cmd, code))
        body = ("From: from@bench.test\r\nTo: %s\r\nSubject: %s\r\n\r\n"
                % (rcpt, token)) + ("x" * 76 + "\r\n") * 50 + ".\r\n"
        s.sendall(body.encode())
        code = _reply(f)
        t250 = time.time()
        if code != 250:
            raise ConnectionError("end of data -> %d" % code)
        s.sendall(b"QUIT\r\n")
        return t250


def measure(port, sink_port, count=20, rcpt="bench@sink.bench.test",
            wait=5.0):
    """Return (n, median ms, min ms, max ms, lost) over count messages."""
    srv = start_sink(sink_port)
    lats, lost = [], 0
    try:
        for i in range(count):
            token = "lat-%d-%d" % (int(time.time() * 1000), i)
            t250 = _send_one(port, rcpt, token)
            deadline = time.time() + wait
            with ARRIVED_CV:
                while token not in ARRIVED and time.time() < deadline:
                    ARRIVED_CV.wait(deadline - time.time())
                t = ARRIVED.get(token)
            if t is None:
                lost += 1
            else:
                lats.append((t - t250) * 1000.0)
            time.sleep(0.05)
    finally:
        srv.shutdown()
        srv.server_close()
    if not lats:
        return 0, float("nan"), float("nan"), float("nan"), lost
    return (len(lats), statistics.median(lats), min(lats), max(lats), lost)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: lat.py PORT SINKPORT [COUNT] [RCPT]")
    port, sink = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rcpt = sys.argv[4] if len(sys.argv) > 4 else "bench@sink.bench.test"
    n, med, lo, hi, lost = measure(port, sink, count, rcpt)
    print("n=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f lost=%d"
          % (n, med, lo, hi, lost))


if __name__ == "__main__":
    main()
