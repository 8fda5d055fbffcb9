# SPDX-License-Identifier: ISC
"""test_floods.py - floods and slow clients (issue 11, part 4): 2,000 idle
connections from one address, 100,000 RCPT commands in one session, a
1 GiB BDAT stream, and a connection rate past max_connection_rate.  Each
ends in its configured limit, the session (or the daemon) still answers,
and a well-behaved client from another address is served at once."""
import os
import re
import resource
import selectors
import smtplib
import socket
import time

import harness
from harness import RawClient, Tern, wait_for


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def smtpd_pids(t):
    """The live smtpd processes of t (children of its master)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == t.proc.pid and \
                    ("tern/smtpd[%s]" % d) in t.log():
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def good_client(t, source="127.0.0.2"):
    """A whole message from another loopback address; its seconds."""
    t0 = time.monotonic()
    s = smtplib.SMTP("127.0.0.1", t.port, timeout=10,
                     source_address=(source, 0))
    s.sendmail("a@example.org", ["postmaster@tern.test"],
               b"Subject: still served\r\n\r\nhello\r\n")
    s.quit()
    return time.monotonic() - t0


def test_slowloris_2000_idle_connections():
    """2,000 connections from 127.0.0.1 that never say a word: the first
    max_connections_per_ip get a greeting and are held, every other one
    gets 421 at once; the master's memory does not grow with them, and a
    client from 127.0.0.2 is served in under a second meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            harness.skip("needs %d descriptors (ulimit -n %d)" % (want, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    # AddressSanitizer's quarantine keeps freed memory resident: without
    # it, the sanitizer build's RSS shows what the program keeps.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = asan + ":quarantine_size_mb=0"
    try:
        t = Tern(smtpd_timeout="60s", max_connections=100,
                 max_connections_per_ip=10)
    finally:
        os.environ["ASAN_OPTIONS"] = asan
    with t:
        before = rss_kib(t.proc.pid)
        socks, greeted, refused = [], 0, 0
        sel = selectors.DefaultSelector()
        try:
            # in batches of 100, within the listen backlog
            for batch in range(20):
                for _ in range(100):
                    c = socket.socket()
                    c.setblocking(False)
                    c.connect_ex(("127.0.0.1", t.port))
                    socks.append(c)
                    sel.register(c, selectors.EVENT_READ)
                deadline = time.monotonic() + 20
                while sel.get_map() and time.monotonic() < deadline:
                    for key, _ in sel.select(timeout=1):
                        try:
                            data = key.fileobj.recv(512)
                        except (ConnectionResetError, BlockingIOError):
                            data = b""
                        sel.unregister(key.fileobj)
                        if data.startswith(b"220 "):
                            greeted += 1
                        elif data.startswith(b"421 4.7.0"):
                            refused += 1
                assert not sel.get_map(), "no answer in 20 s"
            assert greeted == 10 and refused == 1990, (greeted, refused)
            assert len(smtpd_pids(t)) <= 11, smtpd_pids(t)
            took = good_client(t)
            assert took < 1.0, took
            grew = rss_kib(t.proc.pid) - before
            assert grew < 4096, "master grew by %d KiB" % grew
            print("slowloris: master RSS %d KiB (grew %d), smtpds %d KiB "
                  "in all, good client %.3f s" % (
                      rss_kib(t.proc.pid), grew,
                      sum(rss_kib(p) for p in smtpd_pids(t)), took))
        finally:
            for c in socks:
                c.close()
        assert "too many connections from one address" in t.log()


def test_slowloris_from_many_addresses_takes_every_slot():
    """Idle connections from 10 addresses take all max_connections (30)
    slots: the master goes into stress, the sessions idle longer than
    smtpd_stress_timeout end with 421 4.4.2, and a client that talks is
    served within a second instead of getting 421 4.7.0."""
    with Tern(smtpd_timeout="60s", smtpd_stress_timeout="1s",
              max_connections=30, max_connections_per_ip=3) as t:
        idle = []
        time.sleep(0.5)     # the harness's own probe session is over
        try:
            for i in range(30):
                c = socket.create_connection(
                    ("127.0.0.1", t.port), timeout=10,
                    source_address=("127.0.1.%d" % (1 + i // 3), 0))
                idle.append(c)
            # two more at once: stress starts while the last sessions
            # may not have greeted yet, which must not end them
            extra = [socket.create_connection(
                ("127.0.0.1", t.port), timeout=10,
                source_address=("127.0.2.%d" % (1 + i), 0)) for i in range(2)]
            for c in extra:
                data = c.recv(512)
                assert data.startswith((b"421 4.7.0", b"220 ")), data
                c.close()
            for c in idle:
                data = c.recv(512)
                assert data.startswith(b"220 "), data
            # idle longer than smtpd_stress_timeout, but no stress yet:
            # nothing has asked for a slot
            time.sleep(1.5)
            assert len(smtpd_pids(t)) >= 30
            took = good_client(t, source="127.0.0.3")
            assert took < 1.0, took
            evicted = 0
            for c in idle:
                c.settimeout(2)
                try:
                    data = c.recv(512)
                except OSError:
                    data = b""
                evicted += data.startswith(b"421 4.4.2")
            # (a session forked just before a signal may have missed it)
            assert evicted >= 20, "%d idle sessions ended" % evicted
            print("stress: good client %.3f s, %d idle sessions ended" %
                  (took, evicted))
        finally:
            for c in idle:
                c.close()
        log = t.log()
        assert "all 30 connections taken" in log, log[-2000:]
        assert "timeout after CONNECT" in log


def test_100000_rcpt_commands_in_one_session():
    """max_recipients takes 100; the other 99,900 get 452 4.5.3, none
    counts as an error, and the session still answers."""
    with Tern(max_recipients=100) as t:
        c = RawClient("127.0.0.1", t.port, timeout=60)
        assert c.cmd("EHLO flood.example")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        codes = {}
        for batch in range(100):
            c.send(b"RCPT TO:<postmaster@tern.test>\r\n" * 1000)
            for _ in range(1000):
                code, _ = c.reply()
                codes[code] = codes.get(code, 0) + 1
        assert codes == {250: 100, 452: 99900}, codes
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("QUIT")[0] == 221
        c.close()


def test_1gib_bdat_stream_is_read_and_refused():
    """BDAT with 1 GiB against max_message_size = 1M: the whole chunk is
    read (RFC 3030), refused with 552 5.3.4, nothing is queued, and the
    session goes on."""
    with Tern(max_message_size="1M") as t:
        c = RawClient("127.0.0.1", t.port, timeout=120)
        assert c.cmd("EHLO big.example")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<postmaster@tern.test>")[0] == 250
        size = 1 << 30
        c.send(b"BDAT %d LAST\r\n" % size)
        block = b"x" * (1 << 20)
        for _ in range(size // len(block)):
            c.sock.sendall(block)
        code, text = c.reply()
        assert code == 552 and "5.3.4" in text, (code, text)
        assert c.cmd("NOOP")[0] == 250
        c.close()
        assert t.queue_files() == []


def test_connection_rate_per_address():
    """max_connection_rate = 50: the 51st connection in a minute from
    127.0.0.1 gets 421 without an smtpd; 127.0.0.2 is counted apart."""
    with Tern(max_connection_rate=50) as t:
        # the harness's start-up probe was the first
        got = []
        for _ in range(60):
            c = socket.create_connection(("127.0.0.1", t.port), 5)
            got.append(c.recv(200)[:3])
            c.close()
        assert got.count(b"220") == 49 and got.count(b"421") == 11, got
        assert good_client(t) < 1.0
        assert wait_for(lambda: "connection rate limit exceeded: more "
                        "than 50 a minute from 127.0.0.1" in t.log(), 5)
        c = RawClient("127.0.0.1", t.port)
        assert c.greeting[0] == 421 and "from your address" in c.greeting[1]
        c.close()
