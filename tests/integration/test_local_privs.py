# SPDX-License-Identifier: ISC
"""test_local_privs.py - issue 8, points 1, 4 and 5: local delivery
attacks that must fail.  No process with uid 0 reads a user's
.forward or :include:, a line of such a file has a length limit, the
mailbox path cannot be moved by the domain, a mailbox is not opened
through a symbolic link or when it has another owner or a second link,
and commands of the aliases file run as default_privs.

Most need root (throwaway users, root-only files) and SKIP without it."""
import os
import pwd
import secrets

import harness
from harness import IS_ROOT, Tern, ThrowawayUser, maildir_messages, \
    wait_for, wait_log
from test_delivery_local import local_tern
from test_delivery_remote import ME, Stack, send


def everything_under(*dirs):
    """The bytes of every regular file below dirs (log, spool, mail)."""
    out = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in files:
                p = os.path.join(root, name)
                if os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "rb") as f:
                        out.append((p, f.read()))
    return out


def assert_nowhere(secret, *dirs):
    """Not even lower-cased (user names are) or as a file name."""
    for path, data in everything_under(*dirs):
        assert secret.lower().encode() not in data.lower(), path
        assert secret.lower() not in path.lower(), path


def root_only_file(st, text):
    d = st.tmp("tern-secret-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "secret")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def test_include_of_a_root_only_file_leaks_nothing():
    """`:include:/root-only` in a .forward: read as the user, it cannot
    be opened; the secret is in no log line, spool file, mailbox or
    bounce, whether it would parse as targets or not."""
    harness.need_root("a throwaway user and a root-only file")
    for text in ("tern-secret-%s\n", "tern-secret-%s: not, a, target\n"):
        with Stack() as st:
            secret = "S3cr3t%s" % secrets.token_hex(6)
            path = root_only_file(st, text % secret)
            u = st.push(ThrowawayUser(st.tmp("tern-home-")))
            u.write_file(".forward", ":include:%s\n" % path)
            t = local_tern(st, "", max_queue_lifetime="3s",
                           bounce_queue_lifetime="3s")
            send(t, "%s@tern.test" % ME, [u.name + "@tern.test"],
                 b"Subject: steal\r\n\r\nbody\r\n")
            box = os.path.join(t.mail, ME)
            assert wait_for(lambda: maildir_messages(box), 20, 0.2), t.log()
            assert_nowhere(secret, t.dir, u.home)
            log = t.log()
            assert "cannot open :include: file %s: Permission denied" \
                % path in log, log
            assert "status=bounced" in log or "status=deferred" in log
            bounce = maildir_messages(box)[0][2]
            assert b"Permission denied" in bounce, bounce


def test_syntax_error_names_file_and_line_only():
    """A broken .forward line is reported as FILE:LINE, not quoted."""
    harness.need_root("a throwaway user owns the .forward")
    with Stack() as st:
        secret = "Pr1vate%s" % secrets.token_hex(6)
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        fwd = u.write_file(".forward", "# x\n\"|unterminated %s\n" % secret)
        t = local_tern(st, "")
        send(t, "s@example.org", [u.name + "@tern.test"],
             b"Subject: x\r\n\r\nbody\r\n")
        assert wait_log(t, "%s:2: syntax error" % fwd, 15), t.log()
        assert_nowhere(secret, os.path.join(t.dir, "log"), t.spool)


def test_huge_one_line_forward_is_refused():
    """A 32 MiB one-line .forward costs a line buffer, not 32 MiB: the
    line is refused as too long, by file and line."""
    harness.need_root("a throwaway user owns the .forward")
    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        fwd = u.write_file(".forward", "a" * (32 << 20))
        t = local_tern(st, "")
        send(t, "s@example.org", [u.name + "@tern.test"],
             b"Subject: x\r\n\r\nbody\r\n")
        assert wait_log(t, "%s:1: line too long" % fwd, 20), t.log()
        assert "aaaaaaaaaa" not in t.log()


def test_alias_command_runs_as_default_privs():
    """`|command` of the root-owned aliases file runs as default_privs,
    never as the spool's owner (nor root)."""
    with Stack() as st:
        out = st.tmp("tern-out-")
        os.chmod(out, 0o1777)
        t = local_tern(st, 'who: "|id -u > %s/uid"\n' % out)
        send(t, "s@example.org", ["who@tern.test"], b"Subject: x\r\n\r\nx\r\n")
        path = os.path.join(out, "uid")
        assert wait_for(lambda: os.path.exists(path) and
                        os.path.getsize(path) > 0, 15, 0.1), t.log()
        uid = int(open(path).read())
        if IS_ROOT:
            assert uid == pwd.getpwnam(harness.privs_user()).pw_uid, uid
            assert uid not in (0, pwd.getpwnam(ME).pw_uid), uid
        else:
            assert uid == os.getuid()


def test_domain_cannot_move_the_mailbox():
    """%d in mailbox_path with a recipient domain of ".." or "../x":
    nothing is written outside the mail directory."""
    with Stack() as st:
        t = st.push(Tern(start=False, relay_networks="127.0.0.0/8",
                         local_domains="tern.test, localhost"))
        t.write_conf(mailbox_path=os.path.join(t.mail, "%d", "%u/"))
        t.write_aliases("postmaster: %s\n" % ME)
        os.mkdir(os.path.join(t.mail, "tern.test"))
        os.chmod(os.path.join(t.mail, "tern.test"), 0o1777)
        t.start()
        s = t.smtp()
        s.ehlo("client.test")
        s.mail("s@example.org")
        codes = [s.rcpt(r)[0] for r in
                 ("%s@.." % ME, "%s@../x" % ME, "%s@tern.test/../.." % ME)]
        s.rset()
        s.quit()
        assert all(c >= 500 for c in codes), codes
        send(t, "s@example.org", ["%s@tern.test" % ME],
             b"Subject: x\r\n\r\nx\r\n")
        box = os.path.join(t.mail, "tern.test", ME)
        assert wait_for(lambda: maildir_messages(box), 15, 0.1), t.log()
        assert sorted(os.listdir(t.mail)) == ["tern.test"], \
            os.listdir(t.mail)
        assert not os.path.exists(os.path.join(t.dir, "x"))
        assert not os.path.exists(os.path.join(t.dir, ME))


def mbox_case(st, u, prepare):
    """u's mbox at ~/box/mbox, prepared by prepare(path); the log."""
    os.makedirs(os.path.join(u.home, "box"), exist_ok=True)
    os.chown(os.path.join(u.home, "box"), u.uid, u.gid)
    path = os.path.join(u.home, "box", "mbox")
    prepare(path)
    t = local_tern(st, "", mailbox="mbox",
                   mailbox_path=os.path.join("%h", "box", "mbox"))
    send(t, "s@example.org", [u.name + "@tern.test"],
         b"Subject: x\r\n\r\nx\r\n")
    assert wait_log(t, "status=deferred", 15), t.log()
    return t.log()


def test_mbox_symlink_links_and_owner_defer():
    """Postfix local(8)'s checks: a mailbox reached through a symbolic
    link (the file or a directory on the way), with two links, or owned
    by someone else defers with a clear reason and writes nothing."""
    harness.need_root("throwaway users own the mailboxes")
    with Stack() as st:
        target = root_only_file(st, "root's\n")
        before = open(target).read()
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))

        def symlinked(path):
            os.symlink(target, path)
            os.lchown(path, u.uid, u.gid)
        log = mbox_case(st, u, symlinked)
        assert "a symbolic link on the way" in log, log
        assert open(target).read() == before
        os.unlink(os.path.join(u.home, "box", "mbox"))

    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))

        def two_links(path):
            u.write_file("box/mbox", "", 0o600)
            os.link(path, os.path.join(u.home, "other"))
        log = mbox_case(st, u, two_links)
        assert "has 2 links, not one" in log, log
        assert os.path.getsize(os.path.join(u.home, "other")) == 0

    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))

        def foreign(path):
            with open(path, "w"):
                pass
            os.chmod(path, 0o666)       # writable, but root's
        log = mbox_case(st, u, foreign)
        assert "is owned by uid 0, not by the recipient" in log, log
        assert os.path.getsize(os.path.join(u.home, "box", "mbox")) == 0

    with Stack() as st:
        u = st.push(ThrowawayUser(st.tmp("tern-home-")))
        elsewhere = st.tmp("tern-elsewhere-")
        os.chmod(elsewhere, 0o1777)

        def dir_link(path):
            os.rmdir(os.path.dirname(path))
            os.symlink(elsewhere, os.path.dirname(path))
            os.lchown(os.path.dirname(path), u.uid, u.gid)
        log = mbox_case(st, u, dir_link)
        assert "a symbolic link on the way" in log, log
        assert os.listdir(elsewhere) == []


def test_root_mailbox_is_deferred():
    """No process with uid 0 writes root's mailbox: without an alias for
    root the mail waits, with a reason that says what to do, and
    `ternd -n` warns."""
    harness.need_root("mail for root")
    with Stack() as st:
        t = local_tern(st, "")
        send(t, "s@example.org", ["root@tern.test"], b"Subject: x\r\n\r\nx\r\n")
        assert wait_log(t, "alias root to a real user", 15), t.log()
        assert not os.path.exists(os.path.join(t.mail, "root"))
        import subprocess
        p = subprocess.run([os.path.join(harness.BIN, "ternd"), "-n", "-c",
                            t.conf_path], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode == 0, p.stderr
        assert "no alias for root" in p.stderr, p.stderr


def test_reused_job_process_stays_with_its_user():
    """A user's job process takes that user's next deliveries (speed),
    never another user's: 16 messages alternating between two users,
    sent back to back so one agent gets several, land each in its own
    user's Maildir only, every file owned by that user."""
    with Stack() as st:
        a = st.push(ThrowawayUser(st.tmp("tern-home-")))
        b = st.push(ThrowawayUser(st.tmp("tern-home-"))) if IS_ROOT else a
        t = local_tern(st, "")
        s = t.smtp()
        s.ehlo("client.test")
        for i in range(16):
            u = (a, b)[i % 2]
            s.sendmail("s@example.org", [u.name + "@tern.test"],
                       b"Subject: n%d for %s\r\n\r\nx\r\n"
                       % (i, u.name.encode()))
        s.quit()
        boxes = {u.name: os.path.join(t.mail, u.name) for u in (a, b)}
        want = 16 if a is b else 8
        assert wait_for(lambda: all(len(maildir_messages(p)) >= want
                                    for p in boxes.values()), 30, 0.1), \
            t.log()
        for u in (a, b):
            got = maildir_messages(boxes[u.name])
            assert len(got) == want, (u.name, len(got))
            for key, msg, raw in got:
                assert msg["Subject"].endswith(" for " + u.name), \
                    (u.name, msg["Subject"])
                path = os.path.join(boxes[u.name], "new", key)
                assert os.stat(path).st_uid == u.uid, path
