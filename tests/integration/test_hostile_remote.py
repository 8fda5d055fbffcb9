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
