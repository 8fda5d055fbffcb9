# SPDX-License-Identifier: ISC
"""test_write_faults.py - a write or fsync of the commit path that fails
(issue 11, part 2: failing writes), as an SMTP client sees it.

tests/faults/eioshim.c, built here with cc and preloaded into ternd,
fails the Nth write or fsync of each new queue file (the directory fsync
of the commit included).  N walks every one of them for one transaction
of a message larger than the queue file's 64 KB buffer: each must end in
451 4.3.0 (452 4.3.1 for ENOSPC) with nothing left in the spool, until N
passes the last one and the message is queued.  Runs as any user."""
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
        assert t.proc.poll() is None
