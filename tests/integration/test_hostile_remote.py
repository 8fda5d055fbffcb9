# SPDX-License-Identifier: ISC
"""test_hostile_remote.py - what a hostile remote side cannot do (issue 8,
points 3, 6 and 7a): odd bytes in replies, mail loops, tarpits.

The remote side is a small scripted server in this file (FakeMX): it
counts the connections it gets and answers each from a script, so a test
can reply with a DEL byte or never answer at all.  Every thread it starts
is stopped at the end of the test."""
import os
import socket
import threading
import time

import harness
from harness import maildir_messages, wait_for, wait_log
from test_delivery_remote import (ME, Stack, alice, dns, queue_empty,
                                  send, state_files)


class FakeMX:
    """Listens on each of addrs at one port.  mode "del": a normal SMTP
    server whose reply to the end of data holds a 0x7f byte; mode
    "tarpit": accepts and never says a word."""

    def __init__(self, mode, addrs=("127.0.0.1",), port=None):
        self.mode = mode
        self.port = port or harness.free_port()
        self.connections = []          # (local address) per accept
        self.messages = 0
        self.stopping = False
        self.socks = []
        self.threads = []
        for a in addrs:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, self.port))
            s.listen(64)
            s.settimeout(0.2)
            self.socks.append(s)

    def start(self):
        for s in self.socks:
            t = threading.Thread(target=self.accept_loop, args=(s,),
                                 daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def accept_loop(self, s):
        while not self.stopping:
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(c.getsockname()[0])
            t = threading.Thread(target=self.serve, args=(c,), daemon=True)
            t.start()

    def serve(self, c):
        c.settimeout(0.5)
        try:
            if self.mode == "tarpit":
                while not self.stopping:
                    try:
                        if c.recv(4096) == b"":
                            return
                    except socket.timeout:
                        pass
                return
            self.converse(c)
        except OSError:
            pass
        finally:
            c.close()

    def converse(self, c):
        f = c.makefile("rb")
        c.settimeout(10)
        c.sendall(b"220 fake.test ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                c.sendall(b"250-fake.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go\r\n")
                while f.readline() not in (b".\r\n", b""):
                    pass
                self.messages += 1
                c.sendall(b"250 2.0.0 Ok: queued as \x7fDEL\x7f\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 2.0.0 Ok\r\n")

    def stop(self):
        self.stopping = True
        for s in self.socks:
            s.close()
        for t in self.threads:
            t.join(2)


MSG = (b"From: me@tern.test\r\nTo: x@remote.test\r\n"
       b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <h@x>\r\n"
       b"Subject: hostile\r\n\r\nbody\r\n")


def test_del_byte_in_reply_delivers_once():
    """A 250 with DEL bytes: delivered once, never re-sent, no bounce."""
    with Stack() as st:
        mx = st.push(FakeMX("del").start())
        a = alice(st, mx.port, relayhost="[127.0.0.1]:%d" % mx.port)
        qid = send(a, ME + "@tern.test", ["x@remote.test"], MSG)
        assert wait_log(a, "%s: to=<x@remote.test>" % qid, 10), a.log()
        assert queue_empty(a), a.log()
        time.sleep(5)       # two retry intervals: nothing may be re-sent
        assert mx.messages == 1, (mx.messages, a.log())
        assert "status=sent" in a.log(), a.log()
        assert "status=deferred" not in a.log(), a.log()
        assert not maildir_messages(os.path.join(a.mail, ME)), a.log()


def received_message(n):
    """A message with n Received: headers above it."""
    trace = b"".join(b"Received: from h%d.test by h%d.test; "
                     b"Tue, 01 Dec 2026 10:00:00 +0000\r\n" % (i, i + 1)
                     for i in range(n))
    return trace + MSG


def test_hop_limit_refused_at_end_of_data():
    """max_hops (50) counts tern's own Received: too: 49 from the client
    are taken, 51 get 554 5.4.6 at the end of DATA and of BDAT LAST, and
    nothing is queued."""
    with Stack() as st:
        a = alice(st, harness.free_port())
        s = a.smtp()
        s.ehlo("client.test")
        s.mail(ME + "@tern.test")
        s.rcpt(ME + "@tern.test")
        code, msg = s.data(received_message(49))
        assert code == 250, (code, msg)
        s.mail(ME + "@tern.test")
        s.rcpt(ME + "@tern.test")
        code, msg = s.data(received_message(51))
        assert (code, msg[:5]) == (554, b"5.4.6"), (code, msg)
        s.mail(ME + "@tern.test")
        s.rcpt(ME + "@tern.test")
        body = received_message(51)
        s.putcmd("BDAT %d LAST" % len(body))
        s.send(body)
        code, msg = s.getreply()
        assert (code, msg[:5]) == (554, b"5.4.6"), (code, msg)
        s.quit()
        assert wait_for(lambda: len(maildir_messages(
            os.path.join(a.mail, ME))) == 1, 10, 0.1), a.log()
        assert queue_empty(a), a.log()
        assert "reject: 52 Received: headers, max_hops 50" in a.log()


def test_literal_of_self_is_local_no_loop():
    """The attack: a sender at [127.0.0.1] (and [IPv6:::1]) asks for a
    success notice.  The literal is this host, so the notice is local
    mail: one copy (the duplicate filter merges the literal recipient
    with the plain one) and one notice each, and nothing is relayed."""
    with Stack() as st:
        a = alice(st, harness.free_port())
        box = os.path.join(a.mail, ME)
        for n, lit in enumerate(["[127.0.0.1]", "[IPv6:::1]"], 1):
            s = a.smtp()
            s.ehlo("client.test")
            code, msg = s.mail("%s@%s" % (ME, lit))
            assert code == 250, (code, msg)
            code, msg = s.rcpt(ME + "@tern.test", ["NOTIFY=SUCCESS"])
            assert code == 250, (code, msg)
            code, msg = s.rcpt("%s@%s" % (ME, lit))
            assert code == 250, (lit, code, msg)     # local, RFC 5321 4.1.3
            assert s.data(MSG)[0] == 250
            s.quit()
            assert wait_for(lambda: len(maildir_messages(box)) >= 2 * n,
                            15, 0.1), a.log()
        time.sleep(3)
        assert len(maildir_messages(box)) == 4, a.log()
        assert queue_empty(a), a.log()
        assert "tern/smtp[" not in a.log(), a.log()   # no SMTP client ran
        assert "relay=%s" % ME not in a.log()


def test_mx_leading_back_is_a_loop():
    """An MX on loopback for a domain nobody configured fails at once
    with 5.4.6; with smtp_allow_loopback (tests), an MX at this host's
    own listening address and port still does."""
    zone = ("loop.test MX 10 mx.loop.test\nmx.loop.test A 127.0.0.1\n"
            "self.test A 127.0.0.1\n")
    for allow in ("no", "yes"):
        with Stack() as st:
            d = dns(st, zone)
            a = alice(st, 0, start=False, smtp_allow_loopback=allow,
                      dns_server="127.0.0.1:%d" % d.port)
            a.write_conf(remote_port=a.port)
            a.start()
            send(a, ME + "@tern.test", ["u@loop.test", "v@self.test"], MSG)
            box = os.path.join(a.mail, ME)
            assert wait_for(lambda: maildir_messages(box), 15, 0.1), a.log()
            raw = maildir_messages(box)[0][2].decode(errors="replace")
            assert raw.count("Status: 5.4.6") == 2, raw
            assert "mail for loop.test loops back to myself" in raw, raw
            assert "mail for self.test loops back to myself" in raw, raw
            assert queue_empty(a), a.log()
            assert a.log().count("tern/smtpd[") >= 1
            assert "connect to" not in a.log(), a.log()


def test_hop_limit_of_a_queued_message():
    """A message queued under a higher max_hops fails with 5.4.6 before
    it is sent on, and the sender is told."""
    with Stack() as st:
        closed = harness.free_port()
        a = alice(st, closed, relayhost="[127.0.0.1]:%d" % closed)
        qid = send(a, ME + "@tern.test", ["x@remote.test"],
                   received_message(10))
        assert wait_log(a, "%s: to=<x@remote.test>" % qid, 10), a.log()
        a.stop()
        a.write_conf(max_hops=5)
        a.start()
        box = os.path.join(a.mail, ME)
        assert wait_for(lambda: maildir_messages(box), 15, 0.1), a.log()
        raw = maildir_messages(box)[0][2].decode(errors="replace")
        assert "Status: 5.4.6" in raw, raw
        assert "too many hops: 11 Received: headers, max_hops 5" in raw, raw
        assert queue_empty(a), a.log()


class Drip(FakeMX):
    """A tarpit that keeps a connection busy: one byte of a greeting that
    never ends, every half second."""

    def serve(self, c):
        try:
            c.sendall(b"220-")
            while not self.stopping:
                time.sleep(0.5)
                c.sendall(b"x")
        except OSError:
            pass
        finally:
            c.close()


def tarpit_zone(hosts, per_host, first=2):
    """tarpit.test with hosts MX hosts of per_host addresses each, all on
    127.0.0.N from first on; returns (zone text, addresses)."""
    zone, addrs, n = "", [], first
    for h in range(hosts):
        zone += "tarpit.test MX 10 mx%d.tarpit.test\n" % h
        for _ in range(per_host):
            zone += "mx%d.tarpit.test A 127.0.0.%d\n" % (h, n)
            addrs.append("127.0.0.%d" % n)
            n += 1
    return zone, addrs


def attempts(t):
    return t.log().count("to=<x@tarpit.test>")


def tarpit_tern(st, zone, pit, **kw):
    """A tern whose DNS is zone and whose remote_port is pit's, with one
    message for x@tarpit.test sent."""
    st.push(pit.start())
    d = dns(st, zone)
    conf = dict(dns_server="127.0.0.1:%d" % d.port, smtp_timeout="1s")
    conf.update(kw)
    a = alice(st, pit.port, **conf)
    send(a, ME + "@tern.test", ["x@tarpit.test"], MSG)
    return a


def test_tarpit_costs_two_sessions_per_attempt():
    """12 silent addresses: each attempt makes at most 2 connections
    (smtp_mx_session_limit), then defers."""
    zone, addrs = tarpit_zone(3, 4)
    with Stack() as st:
        pit = FakeMX("tarpit", addrs)
        a = tarpit_tern(st, zone, pit)
        assert wait_for(lambda: attempts(a) >= 2, 20, 0.1), a.log()
        n = attempts(a)
        assert "dsn=4.4.2, status=deferred" in a.log(), a.log()
        assert "2 address(es) and 2 session(s) tried: the limit" in a.log()
        assert len(pit.connections) <= 2 * (n + 1), (pit.connections, n)
        assert a.queue_files(), a.log()


def test_refusing_addresses_count_too():
    """4 refusing addresses, then silent ones: the fifth address is the
    last one tried (smtp_mx_address_limit) and costs one session."""
    zone, _ = tarpit_zone(1, 4, first=60)          # nobody listens there
    zone2, addrs = tarpit_zone(2, 4)
    zone += zone2.replace("MX 10", "MX 20")
    with Stack() as st:
        pit = FakeMX("tarpit", addrs)
        a = tarpit_tern(st, zone, pit)
        assert wait_for(lambda: attempts(a) >= 1, 20, 0.1), a.log()
        assert wait_log(a, "5 address(es) and 1 session(s) tried", 5), \
            a.log()
        assert len(pit.connections) == 1, (pit.connections, a.log())
        assert "Connection refused" in a.log(), a.log()


def test_dripping_tarpit_ends_at_the_deadline_local_mail_flows():
    """A greeting that drips one byte at a time never trips smtp_timeout;
    smtp_attempt_timeout ends the attempt with a deferral, and local mail
    sent meanwhile is delivered at once."""
    zone, addrs = tarpit_zone(2, 2)
    with Stack() as st:
        pit = st.push(Drip("tarpit", addrs).start())
        d = dns(st, zone)
        a = alice(st, pit.port, dns_server="127.0.0.1:%d" % d.port,
                  smtp_timeout="30s", smtp_attempt_timeout="6s",
                  retry_interval="1h", max_deliveries=1)
        start = time.time()
        for i in range(3):
            send(a, ME + "@tern.test", ["x@tarpit.test"], MSG)
        assert wait_for(lambda: len(pit.connections) >= 1, 10, 0.05)
        sent = time.time()
        send(a, ME + "@tern.test", [ME + "@tern.test"], MSG)
        box = os.path.join(a.mail, ME)
        assert wait_for(lambda: maildir_messages(box), 3, 0.05), a.log()
        assert time.time() - sent < 3
        assert wait_for(lambda: attempts(a) >= 3, 20, 0.1), a.log()
        assert time.time() - start < 20, a.log()
        assert "reached smtp_attempt_timeout (6s)" in a.log(), a.log()
        assert "status=deferred" in a.log() and "status=sent" not in \
            a.log().split("tarpit.test")[-1], a.log()
        assert len(pit.connections) <= 2, pit.connections


def test_one_destination_holds_a_bounded_share_of_active_messages():
    """With max_active_per_destination = 2, five messages for a tarpit:
    two are active, three wait parked in the spool, and each gets its
    attempt when an active one of that domain leaves."""
    zone, addrs = tarpit_zone(1, 2)
    with Stack() as st:
        pit = Drip("tarpit", addrs)
        a = tarpit_tern(st, zone, pit, smtp_attempt_timeout="2s",
                        max_active_per_destination=2, retry_interval="1h")
        qids = [send(a, ME + "@tern.test", ["x@tarpit.test"], MSG)
                for _ in range(4)]
        assert wait_for(lambda: a.log().count("parked: 2 active messages "
                                              "for tarpit.test") >= 3,
                        10, 0.05), a.log()
        assert wait_for(lambda: attempts(a) >= 5, 30, 0.1), a.log()
        for q in qids:
            assert "%s: to=<x@tarpit.test>" % q in a.log(), a.log()
        assert len(a.queue_files()) == 5
        send(a, ME + "@tern.test", [ME + "@tern.test"], MSG)
        assert wait_for(lambda: maildir_messages(os.path.join(a.mail, ME)),
                        5, 0.05), a.log()
