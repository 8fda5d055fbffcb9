# SPDX-License-Identifier: ISC
"""test_local_duplicates.py - one copy per final target and message
(issue: "A newcomer's first hour"): a user reached through an alias and
directly, through ~/.forward, or with a +extension gets one copy; a
file, a command and a forwarded address reached from two recipients are
written, run and sent once; a deferral is shared, so nothing is lost;
duplicate_filter_limit = 0 turns the filter off.

As root the users are throwaway users (tern-t-XXXX); without root the
invoking user is bert and "root" stands in for ada (its Maildir is under
the test's own mail directory, written as the invoking user), and the
~/.forward case is skipped."""
import os
import time

import harness
from harness import (IS_ROOT, ThrowawayUser, maildir_messages, wait_for,
                     wait_log)
from test_delivery_local import local_tern, outdir, read
from test_delivery_remote import ME, Stack, queue_empty, send, sink


def users(st, n):
    """n distinct local user names; the last is the invoking user when
    not root."""
    if IS_ROOT:
        return [st.push(ThrowawayUser(st.tmp("tern-home-"))).name
                for _ in range(n)]
    if n > 2:
        harness.skip("needs root (more than two local users)")
    return ["root", ME][-n:]


def copies(t, user):
    return maildir_messages(os.path.join(t.mail, user))


def settled(t, timeout=15):
    """The queue is empty; give a stray second delivery time to show."""
    assert queue_empty(t, timeout), t.log()
    time.sleep(0.5)


def test_alias_direct_and_extension_once():
    with Stack() as st:
        ada, bert = users(st, 2)
        t = local_tern(st, "team: %s, %s\n" % (ada, bert))
        qid = send(t, "s@example.org", ["team@tern.test", bert + "@tern.test",
                                        bert + "+ext@tern.test"],
                   b"Subject: once\r\n\r\nhello\r\n")
        settled(t)
        assert len(copies(t, ada)) == 1, t.log()
        got = copies(t, bert)
        assert len(got) == 1, (len(got), t.log())
        # The copy is the first recipient's (the envelope order).
        assert got[0][2].startswith(b"Return-Path: <s@example.org>\n"
                                    b"Delivered-To: team@tern.test\n"), got
        log = t.log()
        assert ("%s: to=<%s@tern.test>, relay=local" % (qid, bert)) in log
        for rcpt in (bert, bert + "+ext"):
            line = [x for x in log.splitlines()
                    if "%s: to=<%s@tern.test>, relay=local" % (qid, rcpt) in x]
            assert len(line) == 1 and "status=sent (duplicate: delivered " \
                "to maildir)" in line[0], (rcpt, line, log)

        # The filter off: one copy per recipient, as before.
        t.stop()
        t.write_conf(duplicate_filter_limit=0)
        t.start()
        send(t, "s@example.org", ["team@tern.test", bert + "@tern.test",
                                  bert + "+ext@tern.test"],
             b"Subject: thrice\r\n\r\nhello\r\n")
        settled(t)
        assert len(copies(t, bert)) == 1 + 3, t.log()
        assert len(copies(t, ada)) == 2


def test_file_command_and_address_once():
    with Stack() as st:
        (bert,) = users(st, 1)
        out = outdir(st)
        s = sink(st)
        targets = '%s/archive.mbox, "|cat >> %s/pipe.out", far@remote.test' \
            % (out, out)
        t = local_tern(st, "list: %s, %s\ncopy: %s, other@remote.test\n"
                       % (bert, targets, targets),
                       relayhost="[127.0.0.1]:%d" % s.port)
        qid = send(t, "s@example.org", ["list@tern.test", "copy@tern.test"],
                   b"Subject: twice listed\r\n\r\nbody line\r\n")
        assert wait_for(lambda: len(s.messages()) >= 2, 15, 0.1), t.log()
        settled(t)
        assert len(copies(t, bert)) == 1
        mbox = read(os.path.join(out, "archive.mbox"))
        assert mbox.count(b"From s@example.org ") == 1, mbox
        pipe = read(os.path.join(out, "pipe.out"))
        assert pipe.count(b"Subject: twice listed") == 1, pipe
        rcpts = sorted(r for m in s.messages() for r in m["rcpt_tos"])
        assert rcpts == ["far@remote.test", "other@remote.test"], \
            s.messages()
        log = t.log()
        assert "%s: to=<far@remote.test>, orig_to=<copy@tern.test>, " \
            "relay=local" % qid in log, log
        assert "status=sent (duplicate: forwarded as " in log, log
        assert "%s: to=<copy@tern.test>, relay=local" % qid in log, log


def test_dot_forward_once():
    harness.need_root("throwaway users own the .forward files")
    with Stack() as st:
        out = outdir(st)
        us = [st.push(ThrowawayUser(st.tmp("tern-home-"))) for _ in range(3)]
        ada, bert, carl = us
        bert.write_file(".forward", '\\%s, "|cat >> %s/fwd.pipe"\n'
                        % (bert.name, out))
        carl.write_file(".forward", "%s\n" % bert.name)
        t = local_tern(st, "team: %s, %s\n" % (ada.name, bert.name))
        send(t, "s@example.org", ["team@tern.test", bert.name + "@tern.test",
                                  carl.name + "@tern.test"],
             b"Subject: forwarded\r\n\r\nx\r\n")
        settled(t)
        assert len(copies(t, ada.name)) == 1
        assert len(copies(t, bert.name)) == 1, t.log()
        assert copies(t, carl.name) == []
        pipe = read(os.path.join(out, "fwd.pipe"))
        assert pipe.count(b"Subject: forwarded") == 1, pipe
        assert os.stat(os.path.join(out, "fwd.pipe")).st_uid == bert.uid


def test_shared_deferral_is_retried_together():
    """The first attempt of a command defers: the second recipient that
    reaches it defers too, and the retry runs it once for both."""
    with Stack() as st:
        out = outdir(st)
        script = os.path.join(out, "once.sh")
        with open(script, "w") as f:
            f.write("echo run >> %s/runs\n"
                    "if [ -e %s/flag ]; then cat >> %s/got; exit 0; fi\n"
                    "cat > /dev/null; touch %s/flag; exit 75\n"
                    % (out, out, out, out))
        os.chmod(script, 0o644)
        cmd = '"|sh %s"' % script
        t = local_tern(st, "a: %s\nb: %s\n" % (cmd, cmd))
        qid = send(t, ME + "@tern.test", ["a@tern.test", "b@tern.test"],
                   b"Subject: shared\r\n\r\nx\r\n")
        assert wait_log(t, "%s: to=<b@tern.test>" % qid), t.log()
        assert "%s: to=<b@tern.test>, relay=local" % qid in t.log()
        assert "status=deferred (duplicate: command exited 75" in t.log(), \
            t.log()
        settled(t, 20)
        runs = read(os.path.join(out, "runs")).decode().split()
        assert runs == ["run", "run"], (runs, t.log())
        got = read(os.path.join(out, "got"))
        assert got.count(b"Subject: shared") == 1, got
        log = t.log()
        for rcpt in ("a", "b"):
            assert "%s: to=<%s@tern.test>, relay=local" % (qid, rcpt) in log
        assert log.count("status=sent") == 2, log
        assert copies(t, ME) == []           # no bounce, no delay notice
