# SPDX-License-Identifier: ISC
"""test_write_faults.py - a write or fsync of the commit path that fails
(issue 11, part 2: failing writes), as an SMTP client sees it.

tests/faults/eioshim.c, built here with cc and preloaded into ternd,
fails the Nth write or fsync of each new queue file (the directory fsync
of the commit included).  N walks every one of them for one transaction
of a message larger than the queue file's 64 KB buffer: each must end in
451 4.3.0 (452 4.3.1 for ENOSPC) with nothing left in the spool, until N
passes the last one and the message is queued.  The same shim puts a
mailbox over its quota (EDQUOT on every write to it): delivery defers
with 4.2.2 and leaves no half message.  Runs as any user."""
import os
import subprocess

import harness
from harness import Tern, wait_for

SHIM = os.path.join(harness.TOP, "tests", "faults", "eioshim.c")
BODY = (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: eio\r\n\r\n"
        + (b"z" * 998 + b"\r\n") * 200)      # 200 KB: several writes


def build_shim(directory):
    cc = harness.need_tool("cc", "gcc")
    out = os.path.join(directory, "eioshim.so")
    r = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", out, SHIM,
                        "-ldl"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    os.chmod(directory, 0o755)
    return out


def start_with_shim(t, shim, ctl):
    """Start t with the shim preloaded; the environment is ours again
    once ternd runs (its processes fork, they never exec)."""
    keep = dict(os.environ)
    os.environ.update({
        "LD_PRELOAD": shim, "EIOSHIM_DIR": t.spool, "EIOSHIM_CTL": ctl,
        # the shim comes before libasan in the sanitizer build
        "ASAN_OPTIONS": keep.get("ASAN_OPTIONS", "") +
        ":verify_asan_link_order=0"})
    try:
        t.start()
    finally:
        os.environ.clear()
        os.environ.update(keep)


def transaction(t):
    """MAIL, RCPT, DATA: the reply to the end of data."""
    s = t.smtp()
    try:
        s.ehlo("client.example")
        assert s.mail("a@example.org")[0] == 250
        assert s.rcpt("b@example.net")[0] == 250
        return s.data(BODY)
    finally:
        s.quit()


def bdat_transaction(t):
    """The same message in three BDAT chunks over a raw socket (smtplib
    has no BDAT): the reply to the LAST chunk, as (code, text)."""
    import socket
    c = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    f = c.makefile("rb")
    try:
        def reply():
            lines = []
            while True:
                line = f.readline()
                assert line, "connection closed"
                lines.append(line)
                if line[3:4] != b"-":
                    return int(line[:3]), b"".join(lines)
        assert reply()[0] == 220
        c.sendall(b"EHLO client.example\r\n")
        assert b"CHUNKING" in reply()[1]
        c.sendall(b"MAIL FROM:<a@example.org>\r\n")
        assert reply()[0] == 250
        c.sendall(b"RCPT TO:<b@example.net>\r\n")
        assert reply()[0] == 250
        third = len(BODY) // 3
        parts = [BODY[:third], BODY[third:2 * third], BODY[2 * third:]]
        for i, part in enumerate(parts):
            last = b" LAST" if i == 2 else b""
            c.sendall(b"BDAT %d%s\r\n" % (len(part), last) + part)
            code, text = reply()
            if i < 2 and code != 250:
                return code, text
        c.sendall(b"QUIT\r\n")
        return code, text
    finally:
        f.close()
        c.close()


def spool_empty(t):
    return t.queue_files() == [] and \
        [f for f in t.tmp_files() if not f.endswith(".state")] == []


def test_each_failed_write_of_the_commit_is_451():
    t = Tern(start=False, relay_networks="127.0.0.0/8",
             relayhost="[127.0.0.1]:%d" % harness.free_port(),
             retry_interval="1h", queue_minfree="0")
    with t:
        shim = build_shim(t.dir)
        ctl = os.path.join(t.dir, "eioshim.ctl")

        def fail(n, name="EIO"):
            with open(ctl, "w") as f:
                f.write("%d %s\n" % (n, name))
        fail(0)
        start_with_shim(t, shim, ctl)
        n = 1
        while n <= 40:
            fail(n)
            code, msg = transaction(t)
            if code == 250:
                break
            assert code == 451 and b"4.3.0" in msg, (n, code, msg, t.log())
            assert spool_empty(t), (n, t.queue_files(), t.tmp_files())
            n += 1
        calls = n - 1
        # at least: a write past the buffer, the flush, the fsync of the
        # file, the fsync of its directory
        assert calls >= 4 and code == 250, (calls, code, t.log())
        assert wait_for(lambda: len(t.queue_files()) == 1, 5)
        assert "cannot commit queue file" in t.log()
        # A full disk at the first and at the last of them: 452 4.3.1.
        for n in (1, calls - 1, calls):
            fail(n, "ENOSPC")
            code, msg = transaction(t)
            assert code == 452 and b"4.3.1" in msg, (n, code, msg)
            assert len(t.queue_files()) == 1, t.queue_files()
        # The same walk through BDAT: each failure is 451 (or 452 for a
        # full disk) at the chunk it happens in, and nothing is queued.
        for n in range(1, calls + 1):
            fail(n)
            code, msg = bdat_transaction(t)
            if n < calls:
                assert code == 451 and b"4.3.0" in msg, (n, code, msg)
            assert len(t.queue_files()) == 1, (n, t.queue_files())
            assert [f for f in t.tmp_files() if not f.endswith(".state")] \
                == [], (n, t.tmp_files())
        fail(1, "ENOSPC")
        code, msg = bdat_transaction(t)
        assert code == 452 and b"4.3.1" in msg, (code, msg)
        fail(0)
        assert bdat_transaction(t)[0] == 250
        assert wait_for(lambda: len(t.queue_files()) == 2, 5)
        assert t.proc.poll() is None


def over_quota(kind):
    """A user whose mailbox (kind "mbox" or "maildir") is over its file
    system quota: every write to it fails with EDQUOT (the shim, while
    its control file exists).  The message defers with 4.2.2 and leaves
    no half message (the mbox as it was, tmp/ empty), and is delivered
    once the quota is lifted.  As root the mailbox is a throwaway
    user's; as anyone else, the invoking user's."""
    from harness import ThrowawayUser, maildir_messages
    from test_delivery_remote import Stack, send
    with Stack() as st:
        d = st.tmp("tern-quota-")
        shim = build_shim(d)
        u = st.push(ThrowawayUser(d)) if harness.IS_ROOT else \
            ThrowawayUser(d)
        boxes = os.path.join(d, "boxes")
        os.mkdir(boxes)
        os.chmod(boxes, 0o755)
        path = os.path.join(boxes, u.name)
        if kind == "maildir":
            os.mkdir(path, 0o700)
            os.chown(path, u.uid, u.gid)
            conf = dict(mailbox_path=os.path.join(boxes, "%u/"))
        else:
            conf = dict(mailbox="mbox", mailbox_path=os.path.join(boxes, "%u"))
            open(path, "wb").close()
            os.chown(path, u.uid, u.gid)
            os.chmod(path, 0o600)
        ctl = os.path.join(d, "quota-on")
        t = st.push(Tern(start=False, retry_interval="1s", **conf))
        keep = dict(os.environ)
        os.environ.update({
            "LD_PRELOAD": shim, "EIOSHIM_QUOTA": boxes,
            "EIOSHIM_QUOTA_CTL": ctl, "ASAN_OPTIONS":
            keep.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
        try:
            t.start()
        finally:
            os.environ.clear()
            os.environ.update(keep)
        rcpt = [u.name + "@tern.test"]

        def delivered():
            if kind == "mbox":
                return open(path, "rb").read().count(b"\nSubject: ")
            return len(maildir_messages(path))
        send(t, "s@example.org", rcpt, b"Subject: one\r\n\r\nsmall\r\n")
        assert wait_for(lambda: delivered() == 1, 15, 0.1), t.log()
        old = open(path, "rb").read() if kind == "mbox" else None
        open(ctl, "w").close()
        send(t, "s@example.org", rcpt, BODY.replace(b"Subject: eio",
                                                   b"Subject: two"))
        harness.assert_deferred_whole(t, kind, path, old, delivered)
        assert "mailbox full" in t.log() or "quota" in t.log(), t.log()
        os.unlink(ctl)
        assert wait_for(lambda: delivered() == 2, 15, 0.1), t.log()
        assert wait_for(lambda: t.queue_files() == [], 10), t.log()


def test_maildir_over_quota_defers_with_422():
    over_quota("maildir")


def test_mbox_over_quota_defers_and_truncates():
    over_quota("mbox")
