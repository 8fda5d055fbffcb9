# SPDX-License-Identifier: ISC
"""test_virtual.py - mail accounts that are not Unix users (virtual
domains): delivery into an account's Maildir under virtual_user, unknown
users refused at RCPT, virtual_aliases (to accounts, to outside
addresses, catch-all), quotas (4.2.2 deferral, 5.2.2 bounce at
max_queue_lifetime, Maildir++ maildirsize), and ternpasswd's account
commands.  As root the mailboxes must belong to virtual_user: the
existing unprivileged user `games` (neither the daemon's `nobody` nor
default_privs' `daemon`) plays vmail; as an ordinary user everything
runs as that user."""
import contextlib
import json
import os
import pwd
import shutil
import smtplib
import subprocess

import harness
from harness import IS_ROOT, Tern, wait_for, wait_log
from smtpsink import SMTPSink

# virtual_user: under root the owner of the Maildirs; without root only
# a name (every process runs as the invoking user, who owns them).
VUSER = "games"
OWNER = pwd.getpwnam(VUSER).pw_uid if IS_ROOT else os.getuid()
PASSWORD = "bobs secret"


def passwd_file(d, lines):
    path = os.path.join(d, "passwd")
    with open(path, "w") as f:
        for name, fields in lines:
            f.write("%s:%s%s\n" % (name, harness.sha512_hash(PASSWORD),
                                   ":" + fields if fields else ""))
    os.chmod(path, 0o600)
    return path


@contextlib.contextmanager
def virtual_tern(accounts, aliases=None, **conf):
    """A tern with example.org virtual, the accounts [(name, fields)],
    Maildirs under DIR/vhosts (owned by virtual_user), and a relayhost
    sink for outside addresses and bounces."""
    d = harness.tempdir()
    sink = SMTPSink(harness.free_port(), os.path.join(d, "sink")).start()
    vhosts = os.path.join(d, "vhosts")
    os.mkdir(vhosts, 0o755)
    if IS_ROOT:
        pw = pwd.getpwnam(VUSER)
        os.chown(vhosts, pw.pw_uid, pw.pw_gid)
    args = dict(virtual_domains="example.org, example.net",
                virtual_user=VUSER,
                virtual_mailbox_path=os.path.join(vhosts, "%d/%u/"),
                auth_users=passwd_file(d, accounts),
                relayhost="[127.0.0.1]:%d" % sink.port,
                smtp_allow_loopback="yes")
    if aliases is not None:
        path = os.path.join(d, "virtual")
        with open(path, "w") as f:
            f.write(aliases)
        os.chmod(path, 0o644)
        args["virtual_aliases"] = path
    args.update(conf)
    try:
        with Tern(**args) as t:
            t.vhosts, t.sink, t.d = vhosts, sink, d
            yield t
    finally:
        sink.stop()
        shutil.rmtree(d, ignore_errors=True)


def send(t, rcpts, body, sender="alice@far.example"):
    msg = ("From: %s\r\nTo: %s\r\nSubject: test\r\n\r\n%s\r\n" % (
        sender, rcpts[0], body)).encode()
    with t.smtp() as s:
        s.sendmail(sender, rcpts, msg)


def maildir_files(path):
    new = os.path.join(path, "new")
    return sorted(os.path.join(new, f) for f in os.listdir(new)) \
        if os.path.isdir(new) else []


def wait_mail(path, n=1, timeout=15):
    return wait_for(lambda: len(maildir_files(path)) >= n, timeout)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_delivery_to_an_account():
    """Mail for Bob@Example.ORG lands in vhosts/example.org/bob/new, byte
    for byte behind Return-Path and Delivered-To, owned by virtual_user
    (0600, in 0700 directories), and the log says status=sent."""
    with virtual_tern([("bob@example.org", "")]) as t:
        send(t, ["Bob@Example.ORG"], "hello bob")
        box = os.path.join(t.vhosts, "example.org", "bob")
        assert wait_mail(box), t.log()
        data = read(maildir_files(box)[0])
        assert data.startswith(b"Return-Path: <alice@far.example>\n"
                               b"Delivered-To: Bob@Example.ORG\n"), data
        assert data.endswith(b"Subject: test\n\nhello bob\n"), data
        assert b"\r" not in data
        assert wait_log(t, "to=<Bob@Example.ORG>, relay=local"), t.log()
        assert "status=sent" in t.log()
        st = os.stat(maildir_files(box)[0])
        assert st.st_uid == OWNER
        assert st.st_mode & 0o777 == 0o600
        for sub in ("", "new", "cur", "tmp"):
            st = os.stat(os.path.join(box, sub))
            assert st.st_uid == OWNER
            assert st.st_mode & 0o777 == 0o700
        # no quota: no maildirsize
        assert not os.path.exists(os.path.join(box, "maildirsize"))


def test_unknown_user_refused_at_rcpt():
    """An address of a virtual domain that is neither an account nor an
    alias is refused in the session with Postfix's words; an account's
    is taken."""
    with virtual_tern([("bob@example.org", "")]) as t:
        with t.smtp() as s:
            s.ehlo("client.test")
            s.mail("alice@far.example")
            code, text = s.rcpt("dave@example.org")
            assert code == 550, (code, text)
            assert text.decode() == ("5.1.1 <dave@example.org>: Recipient "
                                     "address rejected: User unknown in "
                                     "virtual mailbox table")
            assert s.rcpt("bob@example.org")[0] == 250
        assert "reject: RCPT" in t.log() or "dave@example.org" in t.log()


def test_aliases_outside_and_catchall():
    """info@ goes to bob's Maildir and to an outside address (the sink);
    bob@ keeps his own mail (an account wins over the catch-all); any
    other address of example.net goes to the catch-all's account."""
    aliases = ("# virtual(5)\n"
               "info@example.org  bob@example.org,\n"
               "    friend@far.example\n"
               "@example.net      carol@example.org\n")
    with virtual_tern([("bob@example.org", ""), ("carol@example.org", "")],
                      aliases) as t:
        bob = os.path.join(t.vhosts, "example.org", "bob")
        carol = os.path.join(t.vhosts, "example.org", "carol")
        send(t, ["info@example.org"], "for info")
        assert wait_mail(bob), t.log()
        assert b"for info" in read(maildir_files(bob)[0])
        assert wait_for(lambda: t.sink.messages(), 15), t.log()
        m = t.sink.messages()[0]
        assert m["rcpt_tos"] == ["friend@far.example"], m
        assert "for info" in m["data"]
        send(t, ["whoever@example.net"], "caught")
        assert wait_mail(carol), t.log()
        assert b"caught" in read(maildir_files(carol)[0])
        send(t, ["bob@example.org"], "bob's own")
        assert wait_mail(bob, 2), t.log()
        assert len(maildir_files(carol)) == 1
        with t.smtp() as s:
            s.ehlo("client.test")
            s.mail("alice@far.example")
            assert s.rcpt("nobody@example.org")[0] == 550
            assert s.rcpt("anything@example.net")[0] == 250


def test_quota_defers_then_bounces_with_5_2_2():
    """bob has quota=2K: a first message of 1.5K fits and maildirsize
    says so; a second is deferred with 4.2.2 (mailq and the log show
    it), and at max_queue_lifetime it bounces with Status: 5.2.2."""
    with virtual_tern([("bob@example.org", "quota=2K")],
                      max_queue_lifetime="6s", retry_interval="1s") as t:
        box = os.path.join(t.vhosts, "example.org", "bob")
        send(t, ["bob@example.org"], "x" * 1500)
        assert wait_mail(box), t.log()
        size = os.path.getsize(maildir_files(box)[0])
        assert maildir_files(box)[0].endswith(",S=%d" % size)
        msize = os.path.join(box, "maildirsize")
        # the line is appended just after the message is in new/
        assert wait_for(lambda: os.path.exists(msize) and
                        read(msize).count(b"\n") == 3), t.log()
        lines = read(msize).decode().split("\n")
        assert lines[0] == "2048S", lines
        assert sum(int(l.split()[0]) for l in lines[1:] if l) == size
        assert sum(int(l.split()[1]) for l in lines[1:] if l) == 1
        send(t, ["bob@example.org"], "y" * 1500)
        assert wait_log(t, "dsn=4.2.2, status=deferred (Mailbox full"), \
            t.log()
        q = harness.mailq_json(t)
        assert len(q) == 1 and "Mailbox full" in json.dumps(q), q
        assert len(maildir_files(box)) == 1
        assert wait_log(t, "dsn=5.2.2, status=expired", 20), t.log()
        assert wait_for(lambda: t.sink.messages(), 15), t.log()
        dsn = t.sink.messages()[0]
        assert dsn["rcpt_tos"] == ["alice@far.example"], dsn
        assert "Status: 5.2.2" in dsn["data"], dsn["data"]
        assert "Mailbox full" in dsn["data"]
        assert len(maildir_files(box)) == 1


def ternpasswd(t, *args, stdin=""):
    return subprocess.run([os.path.join(harness.BIN, "ternpasswd"), "-c",
                           t.conf_path] + list(args), input=stdin.encode(),
                          capture_output=True, timeout=30)


def test_ternpasswd_accounts():
    """ternpasswd adds an account (-a, with -q), refuses to add it twice,
    lists it (-l), sets its quota (-q) and keeps it across a password
    change, and -u counts the messages and bytes of its Maildir; the
    running daemon delivers to it after a reload."""
    with virtual_tern([("bob@example.org", "mailbox=/nonexistent/bob/")]) \
            as t:
        pw = t.conf["auth_users"]
        p = ternpasswd(t, "-a", "-q", "500M", "carol@example.org",
                       stdin="carols pw\n")
        assert p.returncode == 0, p.stderr
        assert b"user carol@example.org added" in p.stdout
        p = ternpasswd(t, "-a", "carol@example.org", stdin="again\n")
        assert p.returncode == 65 and b"exists already" in p.stderr
        assert ternpasswd(t, "-q", "1K", "dave@example.org").returncode == 67
        assert ternpasswd(t, "-q", "5X", "carol@example.org").returncode == 65
        line = [l for l in read(pw).decode().splitlines()
                if l.startswith("carol@")][0]
        assert line.endswith(":quota=500M"), line
        assert harness.crypt("carols pw", line.split(":")[1]) == \
            line.split(":")[1]
        # a new password keeps the fields; -q changes quota= alone
        assert ternpasswd(t, "bob@example.org",
                          stdin="new pw\n").returncode == 0
        assert ternpasswd(t, "-q", "2K", "bob@example.org").returncode == 0
        bob = [l for l in read(pw).decode().splitlines()
               if l.startswith("bob@")][0]
        assert bob.split(":")[2] == "mailbox=/nonexistent/bob/ quota=2K", bob
        assert ternpasswd(t, "-q", "0", "bob@example.org").returncode == 0
        bob = [l for l in read(pw).decode().splitlines()
               if l.startswith("bob@")][0]
        assert bob.split(":")[2] == "mailbox=/nonexistent/bob/", bob
        p = ternpasswd(t, "-l")
        assert p.returncode == 0, p.stderr
        out = p.stdout.decode().splitlines()
        assert out[0].split() == ["ACCOUNT", "QUOTA", "MAILBOX"]
        assert ["bob@example.org", "-", "/nonexistent/bob/"] in \
            [l.split() for l in out]
        carol_box = os.path.join(t.vhosts, "example.org", "carol") + "/"
        assert ["carol@example.org", "500M", carol_box] in \
            [l.split() for l in out]
        assert "$" not in p.stdout.decode()     # never a hash
        # the daemon learns of carol on HUP, then delivers to her
        os.kill(t.proc.pid, 1)
        assert wait_log(t, "configuration reloaded"), t.log()
        assert "2 users from" in t.log()  # the new checker, before that
        send(t, ["carol@example.org"], "one")
        send(t, ["carol@example.org"], "two")
        assert wait_mail(carol_box, 2), t.log()
        size = sum(os.path.getsize(f) for f in maildir_files(carol_box))
        p = ternpasswd(t, "-u")
        assert p.returncode == 0, p.stderr
        rows = {l.split()[0]: l.split() for l in
                p.stdout.decode().splitlines()[1:]}
        assert rows["carol@example.org"][1:] == [
            "2", str(size), "500M", "0%"], rows


def test_ternd_n_checks_virtual_files():
    """ternd -n parses virtual_aliases (FILE:LINE on an error, a warning
    for a key outside the virtual domains) and checks virtual_user."""
    with virtual_tern([("bob@example.org", "")],
                      "@example.org bob@example.org\n"
                      "x@other.test bob@example.org\n") as t:
        def check():
            return subprocess.run([os.path.join(harness.BIN, "ternd"), "-n",
                                   "-c", t.conf_path], capture_output=True,
                                  text=True, timeout=30)
        p = check()
        assert p.returncode == 0, p.stderr
        assert "x@other.test is not in virtual_domains" in p.stderr
        with open(t.conf["virtual_aliases"], "a") as f:
            f.write("broken@example.org\n")
        p = check()
        assert p.returncode == 78, p.stderr
        assert t.conf["virtual_aliases"] + ":3:" in p.stderr, p.stderr
        with open(t.conf["virtual_aliases"], "w") as f:
            f.write("")
        t.write_conf(virtual_user="no-such-user-here")
        p = check()
        assert "virtual_user no-such-user-here does not exist" in p.stderr
        assert p.returncode == (78 if IS_ROOT else 0), p.stderr


def test_extension_and_checker_restart():
    """bob+news@ reaches bob (recipient_delimiter); after the checker is
    killed, the master starts a new one and the next RCPT and delivery
    ask it, not the dead one."""
    with virtual_tern([("bob@example.org", "")]) as t:
        box = os.path.join(t.vhosts, "example.org", "bob")
        send(t, ["bob+news@example.org"], "with an extension")
        assert wait_mail(box), t.log()
        assert b"Delivered-To: bob+news@example.org\n" in \
            read(maildir_files(box)[0])
        pids = [int(l.split("tern/auth[")[1].split("]")[0])
                for l in t.log().splitlines() if "tern/auth[" in l]
        assert pids, t.log()
        os.kill(pids[-1], 9)
        assert wait_log(t, "killed by signal 9"), t.log()
        assert wait_for(lambda: t.log().count("user from") >= 2), t.log()
        send(t, ["bob@example.org"], "after the restart")
        assert wait_mail(box, 2), t.log()


def test_readme_accounts_steps():
    """The README's "Mail accounts" steps, as a new user types them (the
    paths and port of this test's tern): the Maildir directory,
    ternpasswd -a, virtual_domains and pop3_listen in tern.conf and a
    restart, swaks, and the POP3 read with curl."""
    swaks = harness.need_tool("swaks")
    harness.need_tool("curl")
    with virtual_tern([("alice@example.net", "")]) as t:
        # 1. the directory (virtual_tern made vhosts for virtual_user)
        # 2. the account
        p = ternpasswd(t, "-a", "-q", "500M", "bob@example.org",
                       stdin="PASSWORD\n")
        assert p.returncode == 0, p.stderr
        # 3. the domain and a POP3 listener on loopback, and a restart
        port = harness.free_port()
        t.write_conf(virtual_domains="example.net, example.org",
                     pop3_listen="127.0.0.1:%d" % port,
                     pop3_loopback_plaintext="yes")
        # (a reload would not bind the new address, and says so)
        os.kill(t.proc.pid, 1)
        assert wait_log(t, "pop3_listen changed: the listening sockets "
                        "stay as they are until tern is restarted"), t.log()
        t.stop()
        t.start()
        # 4. swaks
        p = subprocess.run([swaks, "--server", "127.0.0.1", "--port",
                            str(t.port), "--to", "bob@example.org",
                            "--from", "someone@far.example"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        box = os.path.join(t.vhosts, "example.org", "bob")
        assert wait_mail(box), t.log()
        assert b"This is a test mailing" in read(maildir_files(box)[0])
        # 5. curl pop3://
        p = subprocess.run(["curl", "-s", "-u", "bob@example.org:PASSWORD",
                            "pop3://127.0.0.1:%d/1" % port],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (p.returncode, p.stderr, t.log())
        assert "This is a test mailing" in p.stdout, p.stdout
