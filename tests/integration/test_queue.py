# SPDX-License-Identifier: ISC
"""test_queue.py - the queue runner's schedule end to end (issue: queue
runner, local and remote delivery, retry every 30 minutes, bounce after
days): deferral and retry, expiry, delay notices, and a queue runner
killed in the middle of a delivery.  Time is compressed by configuration
(retry_interval = 2s and lifetimes of seconds); every wait is bounded.

A remote that is down is a closed loopback port used as relayhost; it
comes up as smtpsink.py on that port."""
import json
import os
import signal
import subprocess
import time

import harness
from harness import Tern, maildir_messages, state_files, wait_for, wait_log
from test_delivery_remote import (ME, Stack, dsn_blocks, notices,
                                  queue_empty, send, sink)

BODY = (b"From: me@tern.test\r\nTo: you@remote.test\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <q@x>\r\n"
        b"Subject: queued\r\n\r\nbody line\r\n")


def relay(st, port, **kw):
    """A tern relaying everything to [127.0.0.1]:port (maybe closed)."""
    conf = dict(relay_networks="127.0.0.0/8",
                relayhost="[127.0.0.1]:%d" % port, connect_timeout="2s",
                smtp_timeout="10s")
    conf.update(kw)
    t = st.push(Tern(start=False, **conf))
    t.write_aliases("postmaster: %s\n" % ME)
    t.start()
    return t


def mailq(t):
    return harness.mailq_json(t)


def test_down_then_up():
    with Stack() as st:
        port = harness.free_port()
        t = relay(st, port)
        qid = send(t, ME + "@tern.test", ["you@remote.test"], BODY)
        assert wait_log(t, "%s: to=<you@remote.test>" % qid, 10), t.log()
        assert wait_log(t, "status=deferred", 5), t.log()
        assert wait_for(lambda: state_files(t), 5, 0.05), t.log()
        assert [os.path.basename(p) for p in state_files(t)] == [qid]
        assert len(t.queue_files()) == 1
        q = mailq(t)
        assert len(q) == 1 and q[0]["queue_id"] == qid, q
        assert "you@remote.test" in json.dumps(q[0]), q
        # At least one retry while it is still down (retry_interval 2s).
        assert wait_log(t, "status=deferred", 8, count=2), t.log()
        s = sink(st, port)
        up = time.monotonic()
        assert wait_for(lambda: s.messages(), 10, 0.1), t.log()
        took = time.monotonic() - up
        assert took < 3 * 2 + 2, took
        m = s.messages()
        assert len(m) == 1 and m[0]["rcpt_tos"] == ["you@remote.test"], m
        assert m[0]["mail_from"] == ME + "@tern.test"
        assert m[0]["data"].endswith(BODY.decode()), m[0]["data"]
        assert queue_empty(t, 5), (t.queue_files(), state_files(t))
        assert wait_log(t, "%s: removed" % qid, 5), t.log()
        assert "status=sent" in t.log()
        assert mailq(t) == []


def test_expiry_bounces_and_null_sender_does_not():
    with Stack() as st:
        port = harness.free_port()
        life = dict(max_queue_lifetime="6s", bounce_queue_lifetime="6s")
        t = relay(st, port, **life)
        quiet = relay(st, port, double_bounce="", **life)
        qid = send(t, ME + "@tern.test", ["you@remote.test"], BODY)
        nqid = send(t, "", ["other@remote.test"], BODY)
        qid3 = send(quiet, "", ["third@remote.test"], BODY)
        start = time.monotonic()
        # The sender's bounce, and postmaster's copy of the failed <> mail.
        msgs = notices(t, n=2, timeout=20)
        assert time.monotonic() - start >= 4, "expired too early"
        assert len(msgs) == 2, t.log()
        by_rcpt = {}
        for m in msgs:
            assert m["From"].startswith("MAILER-DAEMON") or \
                "MAILER-DAEMON" in m["From"], m["From"]
            kind, per_msg, blocks = dsn_blocks(m)
            assert kind == "delivery-status"
            assert len(blocks) == 1, blocks
            by_rcpt[blocks[0]["final-recipient"]] = (m, blocks[0])
        m, b = by_rcpt["rfc822; you@remote.test"]
        assert m["To"].strip("<>").lower().endswith(ME + "@tern.test"), m["To"]
        assert b["action"] == "failed" and b["status"] == "4.4.7", b
        assert "refused" in b["diagnostic-code"].lower(), b
        # a refused connection is our own words, not a reply of the host
        assert b["diagnostic-code"].startswith("X-Tern; connect to"), b
        text = m.get_payload()[0].get_payload(decode=True).decode()
        assert "could not be delivered" in text, text
        assert "Delivery time expired" in text, text
        # Returned content: the original headers are in the report.
        assert "Subject: queued" in m.as_string()
        m, b = by_rcpt["rfc822; other@remote.test"]
        assert "postmaster" in m["To"].lower(), m["To"]
        assert b["action"] == "failed" and b["status"] == "4.4.7", b
        # the report about the failed notice names its real sender, <>
        assert "X-Tern-Sender: rfc822; <>" in m.as_string(), m.as_string()
        assert "%s: to=<you@remote.test>, relay=none" % qid in t.log()
        assert "status=expired" in t.log()
        assert "%s: undeliverable notice reported to <postmaster@tern.test>" \
            % nqid in t.log(), t.log()
        assert queue_empty(t, 10), (t.queue_files(), state_files(t))
        # double_bounce = "": the failed <> mail is logged and dropped.
        assert wait_log(quiet, "%s: undeliverable notice to "
                        "<third@remote.test> dropped" % qid3, 10), quiet.log()
        assert queue_empty(quiet, 10), quiet.queue_files()
        assert maildir_messages(os.path.join(quiet.mail, ME)) == []
        # Nothing ever went to <> on either side.
        for x in (t, quiet):
            assert "to=<>" not in x.log(), x.log()


def test_one_delay_notice():
    with Stack() as st:
        port = harness.free_port()
        t = relay(st, port, delay_warning="3s", max_queue_lifetime="1h")
        qid = send(t, ME + "@tern.test", ["late@remote.test"], BODY)
        # NOTIFY without DELAY: never a delay notice for this one.
        qid2 = send(t, ME + "@tern.test", ["quiet@remote.test"], BODY, (),
                    ["NOTIFY=FAILURE"])
        start = time.monotonic()
        msgs = notices(t, n=1, timeout=15)
        assert time.monotonic() - start >= 2, "warned too early"
        assert len(msgs) == 1
        kind, per_msg, blocks = dsn_blocks(msgs[0])
        assert kind == "delivery-status"
        assert len(blocks) == 1
        b = blocks[0]
        assert b["action"] == "delayed", b
        assert b["final-recipient"] == "rfc822; late@remote.test", b
        assert b["status"].startswith("4."), b
        assert "will-retry-until" in b, b
        assert "sender delay notification" in t.log()
        # Two more deferred rounds, and still only one notice.
        n = t.log().count("%s: to=<late@remote.test>" % qid)
        assert wait_log(t, "%s: to=<late@remote.test>" % qid, 10, n + 2), \
            t.log()
        time.sleep(0.5)
        assert len(maildir_messages(os.path.join(t.mail, ME))) == 1
        assert t.log().count("sender delay notification") == 1, t.log()
        assert len(t.queue_files()) == 2 and len(state_files(t)) == 2
        assert "%s: sender delay notification" % qid2 not in t.log()
        # Written down, so a restarted runner does not warn again.
        name = [p for p in state_files(t) if p.endswith(qid)][0]
        with open(name) as f:
            assert "warned" in f.read()
        t.stop()
        t.start()
        n = t.log().count("%s: to=<late@remote.test>" % qid)
        assert wait_log(t, "%s: to=<late@remote.test>" % qid, 10, n + 2), \
            t.log()
        assert t.log().count("sender delay notification") == 1, t.log()


def runner_pid(t):
    """The pid of the current queue runner, from its last log line."""
    pid = None
    for line in t.log().splitlines():
        i = line.find("tern/qmgr[")
        if i >= 0:
            pid = int(line[i + 10:line.index("]", i)])
    return pid


def test_runner_killed_mid_delivery():
    with Stack() as st:
        out = os.path.join(st.tmp("tern-out-"), "copies")
        os.chmod(os.path.dirname(out), 0o1777)
        t = st.push(Tern(start=False, relay_networks="127.0.0.0/8"))
        t.write_aliases("postmaster: %s\nslow: |sleep 2; cat >> %s\n"
                        % (ME, out))
        t.start()
        assert wait_log(t, "tern/qmgr[", 10)
        qid = send(t, "someone@example.org", ["slow@tern.test"],
                   b"Subject: crash\r\n\r\ndo not lose me\r\n")
        assert wait_log(t, "agent for local", 10), t.log()
        time.sleep(0.5)
        assert not os.path.exists(out) or os.path.getsize(out) == 0
        pid = runner_pid(t)
        assert pid and pid != t.proc.pid
        os.kill(pid, signal.SIGKILL)
        assert wait_log(t, "queue runner exited; restarting", 10), t.log()
        assert wait_log(t, "queue: 1 messages in the spool", 10) or \
            wait_log(t, "queue: 0 messages in the spool", 1), t.log()
        assert wait_for(lambda: queue_empty(t, 0), 20, 0.1), t.log()
        assert runner_pid(t) != pid
        with open(out, "rb") as f:
            data = f.read()
        assert data.count(b"do not lose me") >= 1, data
        assert "%s: removed" % qid in t.log()


class SlowProxy:
    """A loopback TCP proxy to port that holds each new connection for
    delay seconds before it connects through: a remote that answers
    slowly.  stop() closes it; its threads end with their sockets."""

    def __init__(self, port, delay):
        import socket
        import threading
        self.port_to, self.delay = port, delay
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        import socket
        import threading
        while not self.done.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def conn(self, c):
        import socket
        import threading
        if self.done.wait(self.delay):
            c.close()
            return
        try:
            u = socket.create_connection(("127.0.0.1", self.port_to), 5)
        except OSError:
            c.close()
            return

        def pump(a, b):
            a.settimeout(30)
            try:
                for _ in range(100000):
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(u, c), daemon=True).start()
        pump(c, u)

    def stop(self):
        self.done.set()
        self.lsock.close()
        self.thread.join(5)


def test_runner_killed_mid_smtp():
    with Stack() as st:
        s = sink(st)
        proxy = st.push(SlowProxy(s.port, 2))
        t = relay(st, proxy.port, smtp_timeout="20s")
        assert wait_log(t, "tern/qmgr[", 10)
        qid = send(t, ME + "@tern.test", ["far@remote.test"], BODY)
        assert wait_log(t, "agent for remote.test", 10), t.log()
        time.sleep(0.5)
        assert s.messages() == []
        pid = runner_pid(t)
        os.kill(pid, signal.SIGKILL)
        assert wait_log(t, "queue runner exited; restarting", 10), t.log()
        assert wait_for(lambda: queue_empty(t, 0), 20, 0.1), t.log()
        assert runner_pid(t) != pid
        got = s.messages()
        assert 1 <= len(got) <= 2, got
        assert all(m["rcpt_tos"] == ["far@remote.test"] for m in got)
        assert "%s: removed" % qid in t.log()


def test_corrupt_files_are_moved_aside_with_the_reason():
    """A queue or state file that does not parse is moved to corrupt/,
    and the log says which line is wrong; the other mail stays queued.
    The start-up scan reads only the head of the state file; a queue
    file is parsed when its message is next attempted (the flush)."""
    with Stack() as st:
        t = relay(st, harness.free_port(), retry_interval="1h")
        ids = [send(t, "me@tern.test", ["you@remote.test"], BODY)
               for _ in range(3)]
        assert wait_for(lambda: len(state_files(t)) == 3, 15), t.log()
        t.stop()
        path = {os.path.basename(p): p for p in t.queue_files()}
        with open(path[ids[0]], "r+b") as f:
            data = f.read()
            f.seek(0)
            f.write(b"garbage\n" + data)
        state = [p for p in state_files(t) if p.endswith(ids[1])][0]
        with open(state, "wb") as f:
            f.write(b"version: 1\nnonsense\n")
        t.start()
        corrupt = os.path.join(t.spool, "corrupt")
        assert wait_for(lambda: os.path.isdir(corrupt) and
                        len(os.listdir(corrupt)) == 1, 10), t.log()
        assert os.listdir(corrupt) == [ids[1] + ".state"]
        p = subprocess.run([os.path.join(harness.BIN, "ternq"), "-C",
                            t.conf_path, "flush"], capture_output=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: len(os.listdir(corrupt)) == 2, 10), t.log()
        assert sorted(os.listdir(corrupt)) == sorted(
            [ids[0], ids[1] + ".state"])
        for name in (ids[0], ids[1] + ".state"):
            wait_log(t, "%s: corrupt spool file moved to %s: line " % (
                name, os.path.join(corrupt, name)))
        assert sorted(os.path.basename(p) for p in t.queue_files()) == \
            sorted(ids[1:]), t.queue_files()


def test_an_empty_state_file_is_no_state():
    """A retry's state file is written without fsync (only the schedule
    is in it), so a power cut can leave it empty: that reads as no state
    file, so the message is due at once (retry_interval is an hour) and
    is delivered, and nothing goes to corrupt/.  The state of a retry is
    still written: a restart keeps its next attempt."""
    with Stack() as st:
        port = harness.free_port()
        t = relay(st, port, retry_interval="1h")
        qid = send(t, ME + "@tern.test", ["you@remote.test"], BODY)
        assert wait_for(lambda: state_files(t), 10, 0.05), t.log()
        t.stop()
        with open(state_files(t)[0], "rb") as f:
            assert b"rcpt: 0 deferred 1 " in f.read()
        with open(state_files(t)[0], "wb"):
            pass                            # what the cut left
        s = sink(st, port)
        t.start()
        assert wait_for(lambda: s.messages(), 15, 0.1), t.log()
        assert [m["rcpt_tos"] for m in s.messages()] == [["you@remote.test"]]
        assert queue_empty(t, 5), (t.queue_files(), state_files(t))
        assert not os.path.isdir(os.path.join(t.spool, "corrupt")) or \
            os.listdir(os.path.join(t.spool, "corrupt")) == []
        assert "corrupt" not in t.log(), t.log()
        assert "%s: removed" % qid in t.log()


def test_mail_announced_to_a_full_fifo_is_delivered():
    """A "new ID" line is dropped when the trigger FIFO is full (a session
    never blocks on it); the runner, finding it drained a full FIFO,
    rescans and loads the messages nobody announced (found by make
    soak: 18,733 of 100,000 messages stayed queued until a restart)."""
    with Stack() as st:
        s = sink(st)
        t = relay(st, s.port)
        assert wait_log(t, "tern/qmgr[", 10)
        pid = runner_pid(t)
        os.kill(pid, signal.SIGSTOP)
        try:
            fd = os.open(os.path.join(t.spool, "trigger"),
                         os.O_WRONLY | os.O_NONBLOCK)
            for chunk in (4096, 1):         # full to the last byte
                for _ in range(1 << 17):
                    try:
                        os.write(fd, b"x" * chunk)
                    except BlockingIOError:
                        break
            qids = [send(t, ME + "@tern.test", ["you@remote.test"], BODY)
                    for _ in range(2)]
        finally:
            os.kill(pid, signal.SIGCONT)
        assert wait_log(t, "rescan done: 2 unannounced messages loaded",
                        10), t.log()[-3000:]
        os.write(fd, b"\n")                 # ends the overlong line
        os.close(fd)
        assert wait_for(lambda: len(s.messages()) == 2, 15, 0.1), \
            t.log()[-3000:]
        assert queue_empty(t), t.log()[-3000:]
        for qid in qids:
            assert "%s: to=<you@remote.test>" % qid in t.log()
