# SPDX-License-Identifier: ISC
"""test_delivery_local.py - local delivery end to end (issue: queue
runner, local and remote delivery, retry every 30 minutes, bounce after
days): aliases to users, addresses, files, commands and :include:,
~/.forward, recipient_delimiter, command exit codes, and the uid every
target is written with.

As root the tests make throwaway users (tern-t-XXXX, removed by name at
the end) and check that each target is written with the right uid;
without root the invoking user stands in for them and the ~/.forward
parts are skipped (a .forward needs a home the test owns)."""
import email
import email.policy
import os
import pwd
import time

import harness
from harness import (IS_ROOT, Tern, ThrowawayUser, maildir_messages,
                     state_files, wait_for, wait_log)
from test_delivery_remote import (ME, Stack, dsn_blocks, notices,
                                  queue_empty, send, sink)

DAEMON_UID = pwd.getpwnam(ME).pw_uid
# Files and commands of the aliases file run as default_privs (issue 8).
PRIVS_UID = pwd.getpwnam(harness.privs_user()).pw_uid if IS_ROOT \
    else DAEMON_UID


def outdir(st):
    """A directory every target user can write (like /tmp)."""
    d = st.tmp("tern-out-")
    os.chmod(d, 0o1777)
    return d


def local_tern(st, aliases, **kw):
    conf = dict(relay_networks="127.0.0.0/8")
    conf.update(kw)
    t = st.push(Tern(start=False, **conf))
    t.write_aliases("postmaster: %s\n%s" % (ME, aliases))
    t.start()
    return t


def read(path, timeout=10):
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0,
             timeout, 0.05)
    with open(path, "rb") as f:
        return f.read()


def owner(path):
    return os.stat(path).st_uid


def test_aliases_every_target():
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        out = outdir(st)
        s = sink(st)
        inc = os.path.join(out, "inc")
        with open(inc, "w") as f:
            f.write("# included\n%s/inc.mbox, \"|cat > %s/inc.pipe\"\n"
                    % (out, out))
        if IS_ROOT:
            os.chown(inc, u.uid, u.gid)
        t = local_tern(st, 'team: %s, far@remote.test, %s/team.mbox,\n'
                       '\t"|cat > %s/team.pipe", :include:%s\n'
                       % (u.name, out, out, inc),
                       relayhost="[127.0.0.1]:%d" % s.port)
        body = (b"Subject: to the team\r\nMessage-ID: <t@x>\r\n"
                b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n"
                b"hello team\r\nFrom here\r\n")
        qid = send(t, "sender@example.org", ["team@tern.test"], body)
        assert wait_for(lambda: queue_empty(t, 0) and s.messages(), 15,
                        0.1), t.log()
        lf = body.replace(b"\r\n", b"\n")
        # The user's Maildir, written with the user's uid.
        box = os.path.join(t.mail, u.name)
        msgs = maildir_messages(box)
        assert len(msgs) == 1, t.log()
        key, msg, raw = msgs[0]
        assert raw.startswith(b"Return-Path: <sender@example.org>\n"
                              b"Delivered-To: team@tern.test\n"), raw
        assert raw.endswith(lf), raw
        assert owner(os.path.join(box, "new", key)) == u.uid
        # /file: mbox format; |command: the message on stdin.  Both from
        # the root-owned aliases file run as default_privs, never as the
        # daemon's user, who owns the spool.
        mbox = read(os.path.join(out, "team.mbox"))
        assert mbox.startswith(b"From sender@example.org "), mbox
        assert mbox.endswith(lf.replace(b"\nFrom here", b"\n>From here") +
                             b"\n"), mbox
        pipe = read(os.path.join(out, "team.pipe"))
        assert pipe.startswith(b"Return-Path: <sender@example.org>\n")
        assert pipe.endswith(lf), pipe
        for name in ("team.mbox", "team.pipe"):
            assert owner(os.path.join(out, name)) == PRIVS_UID, name
        # An :include: of the aliases file is read as default_privs, and
        # its targets run as that user too, whoever owns the file.
        assert b"hello team" in read(os.path.join(out, "inc.mbox"))
        assert b"hello team" in read(os.path.join(out, "inc.pipe"))
        for name in ("inc.mbox", "inc.pipe"):
            assert owner(os.path.join(out, name)) == PRIVS_UID, name
        # The address: a new queue message, same sender, to the relay.
        got = s.messages()
        assert len(got) == 1 and got[0]["rcpt_tos"] == ["far@remote.test"]
        assert got[0]["mail_from"] == "sender@example.org"
        assert "Delivered-To: team@tern.test\r\n" in got[0]["data"]
        assert got[0]["data"].endswith(body.decode())
        log = t.log()
        assert "to=<%s@tern.test>, orig_to=<team@tern.test>, relay=local" \
            % u.name in log, log
        assert "%s: to=<team@tern.test>, relay=local" % qid in log
        assert "forwarded as " in log


def test_recipient_delimiter_and_extension():
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        out = outdir(st)
        t = local_tern(st, 'pipe: "|echo \\"$EXTENSION $LOCAL $RECIPIENT\\" '
                       '> %s/ext.out"\n' % out)
        send(t, "s@example.org", ["%s+box@tern.test" % u.name,
                                  "pipe+Some.Ext@tern.test"],
             b"Subject: ext\r\n\r\nx\r\n")
        assert wait_for(lambda: queue_empty(t, 0), 15, 0.1), t.log()
        msgs = maildir_messages(os.path.join(t.mail, u.name))
        assert len(msgs) == 1, t.log()
        assert b"Delivered-To: %s+box@tern.test\n" % u.name.encode() \
            in msgs[0][2]
        got = read(os.path.join(out, "ext.out")).decode()
        # The local part is lowercased before the split.
        assert got.split() == ["some.ext", "pipe",
                               "pipe+Some.Ext@tern.test"], got


def test_command_exit_codes():
    with Stack() as st:
        out = outdir(st)
        aliases = ('tempfail: "|cat > /dev/null; exit 75"\n'
                   'permfail: "|cat > /dev/null; echo no such mailbox; '
                   'exit 1"\n')
        t = local_tern(st, aliases)
        qid = send(t, ME + "@tern.test", ["tempfail@tern.test",
                                          "permfail@tern.test"],
                   b"Subject: exits\r\n\r\nx\r\n")
        # Exit 1: one bounce with the command's output.
        msgs = notices(t, n=1)
        assert len(msgs) == 1
        kind, _, blocks = dsn_blocks(msgs[0])
        assert [b["final-recipient"] for b in blocks] == \
            ["rfc822; permfail@tern.test"], blocks
        b = blocks[0]
        assert b["action"] == "failed" and b["status"].startswith("5."), b
        assert "exited 1" in b["diagnostic-code"], b
        assert "no such mailbox" in b["diagnostic-code"], b
        # Exit 75: deferred, kept, retried.
        assert wait_log(t, "%s: to=<tempfail@tern.test>, relay=local" % qid)
        assert "status=deferred (command exited 75" in t.log(), t.log()
        assert wait_for(lambda: state_files(t), 5, 0.05)
        assert len(t.queue_files()) == 1
        n = t.log().count("to=<tempfail@tern.test>")
        assert wait_log(t, "to=<tempfail@tern.test>", 8, n + 1), t.log()
        # Fixed (aliases are read at each delivery): delivered next time.
        t.write_aliases("postmaster: %s\ntempfail: \"|cat > %s/late\"\n"
                        % (ME, out))
        assert b"Subject: exits" in read(os.path.join(out, "late"), 10), \
            t.log()
        assert queue_empty(t, 10), t.log()
        assert len(maildir_messages(os.path.join(t.mail, ME))) == 1


def test_dot_forward():
    harness.need_root("a throwaway user owns the .forward")
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        out = outdir(st)
        u.write_file(".forward", "# mine\n\\%s, \"|cat > %s/fwd.pipe\"\n"
                     % (u.name, out))
        t = local_tern(st, "")
        send(t, "s@example.org", [u.name + "@tern.test"],
             b"Subject: fwd\r\n\r\nforwarded\r\n")
        assert wait_for(lambda: queue_empty(t, 0), 15, 0.1), t.log()
        pipe = os.path.join(out, "fwd.pipe")
        assert b"forwarded" in read(pipe)
        assert owner(pipe) == u.uid          # runs as the .forward's user
        msgs = maildir_messages(os.path.join(t.mail, u.name))
        assert len(msgs) == 1, t.log()
        assert owner(os.path.join(t.mail, u.name, "new", msgs[0][0])) == u.uid
        # A group-writable .forward is ignored: plain mailbox delivery.
        os.chmod(os.path.join(u.home, ".forward"), 0o664)
        os.unlink(pipe)
        send(t, "s@example.org", [u.name + "@tern.test"],
             b"Subject: fwd2\r\n\r\nnot forwarded\r\n")
        assert wait_for(lambda: len(maildir_messages(
            os.path.join(t.mail, u.name))) == 2, 15, 0.1), t.log()
        assert not os.path.exists(pipe)
        assert "ignoring %s/.forward" % u.home in t.log()


def test_mbox_in_a_root_owned_spool():
    """mailbox = mbox in a directory users cannot write (like /var/mail):
    the mbox is made for the user, who then owns what is written."""
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        spool = st.tmp("tern-mbox-")
        os.chmod(spool, 0o755)
        t = local_tern(st, "", mailbox="mbox",
                       mailbox_path=os.path.join(spool, "%u"))
        for i in range(2):
            send(t, "s@example.org", [u.name + "@tern.test"],
                 b"Subject: mbox %d\r\n\r\nFrom line %d\r\n" % (i, i))
        path = os.path.join(spool, u.name)
        assert wait_for(lambda: os.path.exists(path) and
                        open(path, "rb").read().count(b"Subject: mbox") == 2,
                        15, 0.1), t.log()
        st_ = os.stat(path)
        assert st_.st_uid == u.uid, (st_.st_uid, u.uid)
        assert st_.st_mode & 0o077 == 0, oct(st_.st_mode)
        import mailbox
        # The two may be delivered in either order.
        msgs = sorted(mailbox.mbox(path, create=False),
                      key=lambda m: m["Subject"])
        assert [m["Subject"] for m in msgs] == ["mbox 0", "mbox 1"]
        assert msgs[1].get_payload() == ">From line 1\n", \
            msgs[1].get_payload()
        assert os.listdir(spool) == [u.name], os.listdir(spool)
        assert queue_empty(t, 5)


def test_many_long_orcpts():
    """Issue 8: the local recipients of one message no longer share one
    64 KiB request to the master.  100 recipients (the limit) with long
    ORCPTs full of xtext escapes (about 80 KiB as the old request had
    them) are all delivered at the first attempt."""
    with Stack() as st:
        t = local_tern(st, "")
        n = 100
        rcpts = ["%s+r%d@tern.test" % (ME, i) for i in range(n)]
        opts = ["ORCPT=rfc822;%s%d@example.org" % ("+3D" * 150, i)
                for i in range(n)]
        s = t.smtp()
        s.ehlo("client.test")
        assert s.mail("s@example.org")[0] == 250
        for r, o in zip(rcpts, opts):
            code, msg = s.rcpt(r, [o])
            assert code == 250, (r, code, msg)
        assert s.data(b"Subject: many\r\n\r\nx\r\n")[0] == 250
        s.quit()
        assert queue_empty(t, 30), t.log()
        log = t.log()
        assert log.count("relay=local") == n, log[-3000:]
        assert "status=deferred" not in log, log[-3000:]
        assert len(maildir_messages(os.path.join(t.mail, ME))) == 1


def test_max_hops_of_a_queued_message():
    """A local message queued under a higher max_hops (here: deferred by
    a command, then the daemon restarted with max_hops = 5) fails with
    5.4.6 at its next attempt, and the sender gets the bounce."""
    with Stack() as st:
        t = local_tern(st, 'tempfail: "|cat > /dev/null; exit 75"\n')
        trace = b"".join(b"Received: from h%d.test by h%d.test; "
                         b"Tue, 01 Dec 2026 10:00:00 +0000\r\n" % (i, i + 1)
                         for i in range(10))
        qid = send(t, ME + "@tern.test", ["tempfail@tern.test"],
                   trace + b"Subject: hops\r\n\r\nx\r\n")
        assert wait_log(t, "%s: to=<tempfail@tern.test>, relay=local" % qid)
        assert "status=deferred (command exited 75" in t.log(), t.log()
        t.stop()
        t.write_conf(max_hops=5)
        t.start()
        msgs = notices(t, n=1)
        kind, _, blocks = dsn_blocks(msgs[0])
        b = blocks[0]
        assert b["final-recipient"] == "rfc822; tempfail@tern.test", b
        assert b["status"] == "5.4.6", b
        assert "too many hops: 11 Received: headers, max_hops 5" in \
            b["diagnostic-code"], b
        assert queue_empty(t), t.log()


def test_job_process_never_holds_the_envelope():
    """The process that runs as the recipient (the job, here running
    bert's .forward command) holds the message alone, never the queue
    file, whose envelope names every other recipient, Bcc included: not
    in the job process itself (looked at by root while the command runs),
    and not in the command."""
    harness.need_root("a throwaway user owns the .forward")
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        out = outdir(st)
        u.write_file(".forward", '"|ls -l /proc/$$/fd > %s/fds; '
                     'echo $PPID > %s/ppid; sleep 3; cat > %s/body"\n'
                     % (out, out, out))
        t = local_tern(st, "")
        send(t, "s@example.org", [u.name + "@tern.test",
                                  "secret-bcc@example.net"],
             b"Subject: bcc\r\n\r\nthe body\r\n")
        ppid = int(read(os.path.join(out, "ppid")).strip())
        job = []
        for fd in os.listdir("/proc/%d/fd" % ppid):
            try:
                job.append(os.readlink("/proc/%d/fd/%s" % (ppid, fd)))
            except OSError:
                pass
        assert job and not [p for p in job if p.startswith(t.spool)], job
        assert any("memfd:tern-message" in p for p in job), job
        assert read(os.path.join(out, "body")).endswith(b"the body\n")
        fds = read(os.path.join(out, "fds")).decode()
        assert " 0 -> " in fds and t.spool not in fds, fds
