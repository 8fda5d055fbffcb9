# SPDX-License-Identifier: ISC
"""test_disk_full.py - full disks (issue 11, part 2), as a client and a
recipient see them.

The spool, or a mailbox, sits on a small tmpfs that the test mounts (so
these tests need root, and SKIP without it) and fills with a file.  A
full spool answers 452 4.3.1 at MAIL (queue_minfree) or at the end of
DATA (queue_minfree = 0) and keeps no queue file; mail queued before is
not harmed and goes out once the space is back, as new mail does, with
no restart.  A full mailbox defers with 4.2.2: an mbox is cut back to its
old size, a Maildir keeps nothing in tmp/.  Every mount is undone in a
finally block; every loop is bounded."""
import errno
import os
import pwd
import smtplib
import subprocess

import harness
from harness import Tern, ThrowawayUser, wait_for, wait_log
from smtpsink import SMTPSink

ME = harness.daemon_user()
STORAGE = b"4.3.1 Insufficient system storage"


def mount_tmpfs(path, size="2m", owner=None):
    """A tmpfs of size at path (made if missing), owned by owner."""
    os.makedirs(path, exist_ok=True)
    opts = "size=%s,mode=0755" % size
    if owner is not None:
        opts += ",uid=%d,gid=%d" % owner
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        harness.skip("cannot mount a tmpfs: %s" % r.stderr.strip())


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def fill(path):
    """Write path until the file system is full (bounded: 4 MB at most,
    more than any tmpfs here holds)."""
    chunk = b"x" * 65536
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 512):
            for _ in range(4 * 1024 * 1024 // size):
                try:
                    f.write(chunk[:size])
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break


def daemon_ids():
    """The uid and gid ternd runs as, to own a tmpfs spool."""
    pw = pwd.getpwnam(ME)
    return pw.pw_uid, pw.pw_gid


def message(n, extra=b""):
    return (b"From: a@example.org\r\nTo: b@example.net\r\n"
            b"Subject: disk %d\r\n\r\nbody %d\r\n" % (n, n)) + extra


def relay_tern(sink_port, **kw):
    """A tern whose spool is a 2 MB tmpfs, relaying to a sink at
    sink_port (down until the test starts it)."""
    t = Tern(start=False, relay_networks="127.0.0.0/8",
             relayhost="[127.0.0.1]:%d" % sink_port, smtp_allow_loopback="yes",
             retry_interval="1s", connect_timeout="2s", **kw)
    mount_tmpfs(t.spool, owner=daemon_ids())
    return t


def send(t, n, size=None, extra=b""):
    """One message: (the MAIL reply, the end-of-data reply or None)."""
    s = t.smtp()
    try:
        s.ehlo("client.example")
        opts = ["SIZE=%d" % size] if size is not None else []
        code, msg = s.mail("a@example.org", opts)
        if code != 250:
            return (code, msg), None
        assert s.rcpt("b@example.net")[0] == 250
        code, msg = s.data(message(n, extra))
        return (250, b""), (code, msg)
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


def message_tmp_files(t):
    return [f for f in t.tmp_files() if not f.endswith(".state")]


def arrived(sink, n):
    return wait_for(lambda: len(sink.messages()) >= n, 15, 0.1)


def test_spool_full_refused_at_mail():
    harness.need_root("a tmpfs spool")
    port = harness.free_port()
    t = relay_tern(port, queue_minfree="256K")
    filler = os.path.join(t.spool, "filler")
    sink = SMTPSink(port, os.path.join(t.dir, "sink"))
    try:
        t.start()
        # Queued while the sink is down: it must survive the full disk.
        assert send(t, 1)[1][0] == 250
        assert len(t.queue_files()) == 1
        first = t.queue_files()[0]
        before = open(first, "rb").read()
        assert wait_for(lambda: harness.state_files(t), 10), t.log()
        # Room for MAIL, but not for the SIZE= declared (1.5 x 1.3M).
        mail, _ = send(t, 2, size=1300 * 1024)
        assert mail[0] == 452 and STORAGE in mail[1], mail
        assert send(t, 2, size=100 * 1024)[1][0] == 250
        fill(filler)
        mail, _ = send(t, 3)
        assert mail[0] == 452 and STORAGE in mail[1], mail
        assert wait_log(t, "reject: MAIL"), t.log()
        assert len(t.queue_files()) == 2 and message_tmp_files(t) == []
        # The runner retries meanwhile (retry_interval 1s); a state file
        # it cannot write leaves the old one whole, and no tmp file.
        assert wait_log(t, "cannot write state file", 10), t.log()
        old = [open(p, "rb").read() for p in harness.state_files(t)]
        n = t.log().count("cannot write state file")
        assert wait_log(t, "cannot write state file", 10, n + 1), t.log()
        assert [open(p, "rb").read() for p in harness.state_files(t)] == old
        assert old and all(b"\nrcpt: 0 deferred " in s for s in old), old
        assert open(first, "rb").read() == before
        assert t.tmp_files() == [], t.tmp_files()
        # Space back: mail flows again, no restart, the old one too.
        os.unlink(filler)
        assert send(t, 4)[1][0] == 250
        sink.start()
        assert arrived(sink, 3), t.log()
        subjects = sorted(m["data"].split("Subject: ")[1].split("\r\n")[0]
                          for m in sink.messages())
        assert subjects == ["disk 1", "disk 2", "disk 4"], subjects
        assert t.proc.poll() is None
    finally:
        sink.stop()
        t.stop()
        umount(t.spool)
        t.__exit__(None, None, None)


def test_spool_full_refused_at_end_of_data():
    harness.need_root("a tmpfs spool")
    port = harness.free_port()
    t = relay_tern(port, queue_minfree="0")
    filler = os.path.join(t.spool, "filler")
    sink = SMTPSink(port, os.path.join(t.dir, "sink"))
    try:
        t.start()
        assert send(t, 1)[1][0] == 250
        fill(filler)
        # Small: ENOSPC at the commit's flush; large (300 KB): while the
        # data comes in, past the 64 KB buffer.
        for n, extra in ((2, b""), (3, (b"y" * 998 + b"\r\n") * 300)):
            mail, end = send(t, n, extra=extra)
            assert mail[0] == 250, mail
            assert end[0] == 452 and STORAGE in end[1], (end, t.log())
            assert len(t.queue_files()) == 1, t.queue_files()
            assert message_tmp_files(t) == [], t.tmp_files()
        os.unlink(filler)
        assert send(t, 4)[1][0] == 250
        sink.start()
        assert arrived(sink, 2), t.log()
        assert t.proc.poll() is None
    finally:
        sink.stop()
        t.stop()
        umount(t.spool)
        t.__exit__(None, None, None)


class Mount:
    """A tmpfs for a Stack: unmounted by stop()."""

    def __init__(self, path, size="1m", owner=None):
        self.path = path
        mount_tmpfs(path, size, owner)

    def stop(self):
        umount(self.path)


def fill_but(path, room):
    """Fill the file system, then give back room bytes."""
    fill(path)
    size = os.path.getsize(path)
    os.truncate(path, max(0, size - room))


BIG = b"Subject: big\r\n\r\n" + (b"q" * 998 + b"\r\n") * 300   # 300 KB


def full_mailbox(kind):
    """A user whose mailbox (kind "mbox" or "maildir") is on a 1 MB
    tmpfs: message 1 fits, BIG does not and defers with 4.2.2, and is
    delivered once the space is back.  The spool is not on the tmpfs."""
    from test_delivery_remote import Stack, send
    harness.need_root("a throwaway user with a mailbox on a tmpfs")
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        boxes = os.path.join(st.tmp("tern-boxes-"), "mnt")
        st.push(Mount(boxes))
        filler = os.path.join(boxes, "filler")
        if kind == "maildir":
            path = os.path.join(boxes, u.name)
            os.mkdir(path, 0o700)
            os.chown(path, u.uid, u.gid)
            conf = dict(mailbox_path=os.path.join(boxes, "%u/"))
        else:
            path = os.path.join(boxes, u.name)
            conf = dict(mailbox="mbox",
                        mailbox_path=os.path.join(boxes, "%u"))
        t = st.push(Tern(start=False, relay_networks="127.0.0.0/8",
                         retry_interval="1s", **conf))
        t.write_aliases("postmaster: %s\n" % ME)
        t.start()
        rcpt = [u.name + "@tern.test"]

        def delivered():
            if kind == "mbox":
                return open(path, "rb").read().count(b"\nSubject: ") \
                    if os.path.exists(path) else 0
            return len(harness.maildir_messages(path))
        send(t, "s@example.org", rcpt, b"Subject: one\r\n\r\nsmall\r\n")
        assert wait_for(lambda: delivered() == 1, 15, 0.1), t.log()
        old = open(path, "rb").read() if kind == "mbox" else None
        fill_but(filler, 64 * 1024)
        send(t, "s@example.org", rcpt, BIG)
        assert wait_log(t, "mailbox full", 15), t.log()
        # Not half a message: the mbox is as it was, tmp/ is empty.
        harness.assert_deferred_whole(t, kind, path, old, delivered)
        os.unlink(filler)
        assert wait_for(lambda: delivered() == 2, 15, 0.1), t.log()
        if kind == "mbox":
            assert open(path, "rb").read().startswith(old)
        else:
            assert os.listdir(os.path.join(path, "tmp")) == []
        assert wait_for(lambda: t.queue_files() == [], 10), t.log()


def test_mbox_full_defers_and_truncates():
    full_mailbox("mbox")


def test_maildir_full_defers_and_leaves_no_tmp():
    full_mailbox("maildir")
