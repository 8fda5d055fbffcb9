# SPDX-License-Identifier: ISC
"""test_ops.py - operating tern against a real daemon (issue: mailq,
sendmail(8), queue administration, man pages, service files, install).

sendmail(8), mailq(1), ternq(8) and newaliases(8) run as an
administrator would run them, with -C pointing at the test daemon's
configuration; bsd-mailx and pflogsumm are the outside programs an
administrator uses with them.  Remote mail goes to a relayhost on a
loopback port that is either closed (so the queue runner can only defer)
or served by smtpsink.py.  Every process started here is stopped by its
PID.  The install layout is covered by test_docs.py (etc/install.sh,
which `make install` runs)."""
import email
import email.policy
import email.utils
import json
import os
import pwd
import re
import select
import shutil
import signal
import subprocess
import time

import harness
from harness import (BIN, Tern, maildir_messages, state_files, wait_for,
                     wait_log)
from smtpsink import SMTPSink

# The user running the tests submits, and receives its own mail (root
# is fine: the local agent delivers as root into the test's directory).
USER = pwd.getpwuid(os.getuid()).pw_name


def clean_env(**extra):
    """The environment without NAME (sendmail's default full name)."""
    env = dict((k, v) for k, v in os.environ.items() if k != "NAME")
    env.update(extra)
    return env


def run(t, prog, *args, data=b"", env=None):
    """Run one of tern's commands with -C t's configuration."""
    env = clean_env() if env is None else env
    p = subprocess.run([os.path.join(BIN, prog), "-C", t.conf_path] +
                       list(args), input=data, capture_output=True,
                       timeout=30, env=env)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def mailbox(t, user=USER):
    # The harness aliases root to the daemon's user: root's own mailbox
    # is never written (issue 8).
    if user == "root":
        user = harness.daemon_user()
    return os.path.join(t.mail, user)


def wait_mail(t, n=1, user=USER, timeout=10):
    """Wait for n messages in user's Maildir; return them as
    email.message.EmailMessage objects."""
    wait_for(lambda: len(maildir_messages(mailbox(t, user))) >= n, timeout)
    got = maildir_messages(mailbox(t, user))
    assert len(got) == n, "%d messages for %s, wanted %d\n%s" % (
        len(got), user, n, t.log())
    return [email.message_from_bytes(raw, policy=email.policy.default)
            for _, _, raw in got]


def relay_tern(port=None, **kw):
    """A tern that relays everything to [127.0.0.1]:port (by default a
    closed port, so remote mail can only be deferred)."""
    conf = dict(relay_networks="127.0.0.0/8", relayhost="[127.0.0.1]:%d" %
                (port or harness.free_port()), retry_interval="1h")
    conf.update(kw)
    return Tern(**conf)


def sink_at(port, extra=()):
    """An smtpsink.py on port (started by the caller) in its own directory."""
    return SMTPSink(port, harness.tempdir("tern-sink-"), extra)


def stop_sink(sink):
    sink.stop()
    if not os.environ.get("TERN_KEEP"):
        shutil.rmtree(sink.dir, ignore_errors=True)


def relay_port(t):
    return int(t.conf["relayhost"].rsplit(":", 1)[1])


def queue_json(t):
    """mailq -j as {queue id: object}."""
    rc, out, err = run(t, "mailq", "-j")
    assert rc == 0, (rc, err)
    objs = [json.loads(line) for line in out.splitlines()]
    return {o["queue_id"]: o for o in objs}


def attempts(t, qid):
    o = queue_json(t).get(qid)
    return o["recipients"][0]["attempts"] if o else None


def submit_remote(t, subject="t", rcpt="x@example.com"):
    """Queue one message for a remote recipient over SMTP; its queue id."""
    s = t.smtp()
    s.ehlo("client.example")
    s.mail("a@example.org")
    assert s.rcpt(rcpt)[0] == 250
    code, msg = s.data(("Subject: %s\r\n\r\nbody\r\n" % subject).encode())
    assert code == 250, (code, msg)
    s.quit()
    return msg.split()[-1].decode()


def wait_attempts(t, qid, n, timeout=10):
    """Wait until the message has had at least n delivery attempts."""
    got = wait_for(lambda: (attempts(t, qid) or 0) >= n, timeout, 0.1)
    assert got, "%s: %s attempts, wanted %d\n%s" % (
        qid, attempts(t, qid), n, t.log())
    return attempts(t, qid)


def header_block(raw):
    return raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]


# --- 1. sendmail(8) submitting to the running daemon ---

def test_sendmail_delivers_and_adds_headers():
    with Tern() as t:
        rc, out, err = run(t, "sendmail", "-i", USER,
                           data=b"body line\n.\nafter the dot\n")
        assert rc == 0 and out == "" and err == "", (rc, out, err)
        m, = wait_mail(t)
        assert m["Return-Path"] == "<%s@tern.test>" % USER, str(m)
        assert m["From"] == "%s@tern.test" % USER, str(m)
        assert email.utils.parsedate_to_datetime(m["Date"]) is not None
        assert re.fullmatch(r"<[0-9A-Z]{15}@tern\.test>", m["Message-ID"]), \
            m["Message-ID"]
        assert m["Delivered-To"] == "%s@tern.test" % USER, str(m)
        assert "from userid %d" % os.getuid() in m["Received"], str(m)
        assert m.get_content() == "body line\n.\nafter the dot\n", str(m)
        qid = m["Message-ID"][1:16]
        assert "%s: client=localhost[local], uid=%d\n" % (qid, os.getuid()) \
            in t.log(), t.log()
        t.stop()
        rc, out, err = run(t, "sendmail", USER, data=b"x\n")
        assert rc == 75, (rc, err)
        assert "cannot connect to tern" in err and \
            "is ternd running?" in err, err


def test_host_name_stays_local():
    """Setting local_domains keeps the host's own name and localhost local
    (Postfix's mydestination = $myhostname, localhost): `sendmail USER`
    and `sendmail USER@localhost` land here instead of being relayed.
    origin qualifies bare names; !name takes a domain out explicitly."""
    with relay_tern(local_domains="example.org") as t:
        for rcpt in (USER, USER + "@localhost", USER + "@example.org"):
            rc, out, err = run(t, "sendmail", "-i", rcpt, data=b"x\n")
            assert rc == 0, (rc, err)
        msgs = wait_mail(t, 3)
        assert sorted(m["Delivered-To"] for m in msgs) == sorted(
            [USER + "@tern.test", USER + "@localhost",
             USER + "@example.org"]), [str(m) for m in msgs]
        assert all(m["Return-Path"] == "<%s@tern.test>" % USER
                   for m in msgs)
        assert wait_for(lambda: t.queue_files() == [], 10), t.log()
    with relay_tern(local_domains="example.org, !localhost",
                    origin="example.org") as t:
        rc, out, err = run(t, "sendmail", "-i", USER, data=b"x\n")
        assert rc == 0, (rc, err)
        m, = wait_mail(t)
        assert m["Delivered-To"] == USER + "@example.org", str(m)
        assert m["Return-Path"] == "<%s@example.org>" % USER, str(m)
        # localhost was taken out: relayed (and deferred: nothing listens)
        rc, out, err = run(t, "sendmail", "-i", USER + "@localhost",
                           data=b"y\n")
        assert rc == 0, (rc, err)
        assert wait_for(lambda: "status=deferred" in t.log(), 10), t.log()
        assert len(t.queue_files()) == 1


def test_sendmail_t_bcc_is_removed():
    sink = sink_at(harness.free_port())
    sink.start()
    try:
        with relay_tern(sink.port) as t:
            msg = ("To: %s@tern.test\nCc: Carol <cc@example.net>\n"
                   "Bcc: %s@localhost,\n hidden@example.com\n"
                   "Subject: secret list\n\nbody\n" % (USER, USER)).encode()
            rc, out, err = run(t, "sendmail", "-t", "-i", data=msg)
            assert rc == 0, (rc, err)
            # Both local recipients are one mailbox: one copy, made for
            # the first (tern(8), Duplicates); the Bcc one is logged.
            copies = wait_mail(t, 1)
            assert copies[0]["Delivered-To"] == "%s@tern.test" % USER, \
                str(copies[0])
            assert wait_log(t, "to=<%s@localhost>, relay=local" % USER), \
                t.log()
            assert "status=sent (duplicate: delivered to maildir)" in \
                t.log(), t.log()
            wait_for(lambda: sum(len(m["rcpt_tos"]) for m in
                                 sink.messages()) >= 2, 10)
            remote = sink.messages()
            assert sorted(r for m in remote for r in m["rcpt_tos"]) == \
                ["cc@example.net", "hidden@example.com"], remote
            raws = [c.as_bytes() for c in copies] + \
                [m["data"].encode() for m in remote]
            for raw in raws:
                head = b"\n".join(l for l in header_block(raw).split(b"\n")
                                  if not l.startswith(b"Delivered-To:"))
                assert b"\nbcc:" not in b"\n" + head.lower(), raw
                assert b"hidden" not in raw and b"@localhost" not in head, raw
                assert b"Subject: secret list" in raw, raw
    finally:
        stop_sink(sink)


def test_sendmail_from_header():
    """The From: that sendmail adds to a message without one names the
    envelope sender (-f, else the submitting user), with the full name
    of -F (else $NAME) as display name; -F alone never changes the
    address.  A From: in the message is kept, -F or not."""
    me = "%s@tern.test" % USER
    other = "other@example.org"
    cases = [([], {}, ("", me), me),
             (["-f", other], {}, ("", other), other),
             (["-F", "Full Name"], {}, ("Full Name", me), me),
             (["-f", other, "-F", "Full Name"], {}, ("Full Name", other),
              other),
             (["-F", "Q. Public, Jr."], {}, ("Q. Public, Jr.", me), me),
             ([], {"NAME": "Env Name"}, ("Env Name", me), me),
             (["-F", "Option"], {"NAME": "Env Name"}, ("Option", me), me),
             (["-f", "<>", "-F", "Robot"], {},
              ("Robot", "MAILER-DAEMON@tern.test"), "")]
    with Tern() as t:
        for i, (args, env, want, sender) in enumerate(cases):
            rc, out, err = run(t, "sendmail", *(args + [USER]),
                               data=b"Subject: case %d\n\nhi\n" % i,
                               env=clean_env(**env))
            assert rc == 0, (args, rc, err)
            m = wait_mail(t, i + 1)[i]
            assert m["Subject"] == "case %d" % i, str(m)
            assert len(m.get_all("From")) == 1, (args, str(m))
            assert email.utils.parseaddr(m["From"]) == want, \
                (args, env, m["From"])
            assert m["Return-Path"] == "<%s>" % sender, (args, str(m))
        n = len(cases)
        rc, out, err = run(t, "sendmail", "-F", "Ignored", "-f", other, USER,
                           data=b"From: Me <me@example.org>\n\nhi\n")
        assert rc == 0, (rc, err)
        m = wait_mail(t, n + 1)[n]
        assert m.get_all("From") == ["Me <me@example.org>"], str(m)
        assert m["Return-Path"] == "<%s>" % other, str(m)
        # -bs: the daemon adds the same From: for local SMTP clients.
        c = Chat([os.path.join(BIN, "sendmail"), "-C", t.conf_path, "-bs"])
        try:
            assert c.reply()[0] == 220
            assert c.cmd("HELO me.example")[0] == 250
            assert c.cmd("MAIL FROM:<%s>" % other)[0] == 250
            assert c.cmd("RCPT TO:<%s>" % me)[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.p.stdin.write(b"Subject: bs\r\n\r\nhi\r\n")
            assert c.cmd(".")[0] == 250
            assert c.cmd("QUIT")[0] == 221
        finally:
            c.close()
        m = wait_mail(t, n + 2)[n + 1]
        assert email.utils.parseaddr(m["From"]) == ("", other), str(m)


def test_sendmail_keeps_long_lines():
    """A 2000-character line (and a 1600-character header line) reach
    the mailbox byte for byte: sendmail no longer cuts them."""
    line = b"x" * 1000 + b" " + b"y" * 999
    subject = b" ".join([b"subject"] * 200)
    with Tern() as t:
        rc, out, err = run(t, "sendmail", "-i", USER,
                           data=b"Subject: " + subject + b"\n\n" + line +
                           b"\n.\nshort\n")
        assert rc == 0 and err == "", (rc, err)
        wait_mail(t)
        (_, _, raw), = maildir_messages(mailbox(t))
        assert b"\nSubject: " + subject + b"\n" in raw, raw
        assert raw.endswith(b"\n\n" + line + b"\n.\nshort\n"), raw[-3000:]
        m = email.message_from_bytes(raw, policy=email.policy.default)
        assert m.get_content() == (line + b"\n.\nshort\n").decode(), str(m)


class Chat:
    """A program speaking SMTP on its standard input and output."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.buf = b""

    def reply(self, timeout=10):
        """One whole reply as (code, last line)."""
        end = time.monotonic() + timeout
        while True:
            lines = self.buf.split(b"\r\n")
            for i, l in enumerate(lines[:-1]):
                if len(l) >= 4 and l[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(l[:3]), l.decode()
            left = end - time.monotonic()
            assert left > 0, "no SMTP reply; have %r" % self.buf
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                assert chunk, "end of output; have %r" % self.buf
                self.buf += chunk

    def cmd(self, line):
        self.p.stdin.write(line.encode() + b"\r\n")
        self.p.stdin.flush()
        return self.reply()

    def close(self):
        self.p.stdin.close()
        try:
            return self.p.wait(10)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait(5)
            self.p.stdout.close()
            self.p.stderr.close()


def test_sendmail_bs():
    with Tern() as t:
        c = Chat([os.path.join(BIN, "sendmail"), "-C", t.conf_path, "-bs"])
        try:
            code, line = c.reply()
            assert code == 220 and "tern.test" in line, line
            assert c.cmd("EHLO me.example")[0] == 250
            assert c.cmd("MAIL FROM:<%s@tern.test>" % USER)[0] == 250
            assert c.cmd("RCPT TO:<%s@tern.test>" % USER)[0] == 250
            assert c.cmd("RCPT TO:<nosuchuser@tern.test>")[0] == 550
            assert c.cmd("DATA")[0] == 354
            c.p.stdin.write(b"Subject: over -bs\r\n\r\n..dot\r\n")
            code, line = c.cmd(".")
            assert code == 250 and "queued as" in line, line
            assert c.cmd("QUIT")[0] == 221
        finally:
            rc = c.close()
        assert rc == 0, rc
        m, = wait_mail(t)
        assert m["Subject"] == "over -bs" and m.get_content() == ".dot\n", \
            str(m)
        assert m["Message-ID"] and m["Date"], str(m)
        assert "uid=%d" % os.getuid() in t.log(), t.log()
        t.stop()
        rc, out, err = run(t, "sendmail", "-bs", data=b"QUIT\r\n")
        assert rc == 75 and "is ternd running?" in err, (rc, out, err)


# --- 2. bsd-mailx, pointed at tern's sendmail ---

def test_bsd_mailx():
    """`mail -s test USER` reaches tern.  bsd-mailx runs the program named
    by its "sendmail" variable (set in a MAILRC file here), so neither
    /usr/sbin/sendmail nor any other system file is involved."""
    mailx = harness.need_tool("bsd-mailx")
    with Tern() as t:
        argfile = os.path.join(t.dir, "sendmail-args")
        wrapper = os.path.join(t.dir, "sendmail")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "$@" > %s\nexec %s -C %s "$@"\n' % (
                argfile, os.path.join(BIN, "sendmail"), t.conf_path))
        os.chmod(wrapper, 0o755)
        rcfile = os.path.join(t.dir, "mailrc")
        with open(rcfile, "w") as f:
            f.write("set sendmail=%s\nset sendwait\n" % wrapper)
        env = clean_env(MAILRC=rcfile, HOME=t.dir)
        p = subprocess.run([mailx, "-s", "test", USER], input=b"hi\n",
                           env=env, capture_output=True, timeout=30)
        assert p.returncode == 0, p
        m, = wait_mail(t)
        assert os.path.exists(argfile), "mailx did not run tern's sendmail"
        assert m["Subject"] == "test" and m.get_content() == "hi\n", str(m)
        assert m["From"] == "%s@tern.test" % USER, str(m)
        assert m["Return-Path"] == "<%s@tern.test>" % USER, str(m)


# --- 3. mailq on a live queue ---

def test_mailq_live_deferred():
    with relay_tern() as t:
        qid = submit_remote(t, rcpt="x@example.com")
        wait_attempts(t, qid, 1)
        port = relay_port(t)
        rc, out, err = run(t, "mailq")
        assert rc == 0, (rc, err)
        lines = out.splitlines()
        assert lines[0].startswith("-Queue ID-"), out
        assert lines[1].startswith(qid + " ") and \
            lines[1].endswith(" a@example.org"), out
        assert lines[2].strip() == "(connect to 127.0.0.1[127.0.0.1]:%d: " \
            "Connection refused)" % port, out
        assert lines[3].strip() == "x@example.com", out
        assert lines[-1] == "-- 1 Kbytes in 1 Request.", out
        o = queue_json(t)[qid]
        assert o["sender"] == "a@example.org" and o["held"] is False, o
        r, = o["recipients"]
        assert r["address"] == "x@example.com" and r["state"] == "deferred"
        assert r["attempts"] >= 1 and r["dsn"] == "4.4.1", r
        assert isinstance(r["next_attempt"], int) and \
            r["next_attempt"] > time.time() + 600, r
        assert "Connection refused" in r["delay_reason"], r
        rc, sout, err = run(t, "mailq", "-s")
        assert rc == 0, (rc, err)
        rows = {l.split()[0]: l.split()[1:] for l in sout.splitlines()[1:]}
        assert rows["TOTAL"][0] == "1" and rows["example.com"][0] == "1", sout
        rc, bp, err = run(t, "sendmail", "-bp")
        assert rc == 0 and bp == out, (rc, bp, out, err)


# --- 3b. TERN_CONFIG: the configuration file without -C ---

def run_env(prog, *args, conf, data=b""):
    """Run one of tern's commands with TERN_CONFIG=conf and no -C."""
    p = subprocess.run([os.path.join(BIN, prog)] + list(args), input=data,
                       capture_output=True, timeout=30,
                       env=dict(os.environ, TERN_CONFIG=conf))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def test_tern_config_environment():
    """With only TERN_CONFIG naming the file, ternd, sendmail, mailq, ternq
    and newaliases all use the test instance; -C still wins over it."""
    t = relay_tern(start=False)
    with t:
        t.start(conf_from_env=True)
        cf = t.conf_path
        rc, out, err = run_env("ternd", "-n", conf=cf)
        assert rc == 0 and out == "ternd: %s: configuration ok\n" % cf, \
            (rc, out, err)
        rc, out, err = run_env("sendmail", "-i", "x@example.com", conf=cf,
                               data=b"Subject: via env\n\nbody\n")
        assert rc == 0 and err == "", (rc, err)
        assert wait_for(lambda: len(t.queue_files()) == 1, 5), t.log()
        qid = os.path.basename(t.queue_files()[0])
        rc, out, err = run_env("mailq", conf=cf)
        assert rc == 0 and out.splitlines()[1].startswith(qid + " "), \
            (rc, out, err)
        rc, out, err = run_env("ternq", "show", qid, conf=cf)
        assert rc == 0 and "Subject: via env" in out, (rc, out, err)
        rc, out, err = run_env("newaliases", conf=cf)
        assert rc == 0 and t.conf["aliases"] in out, (rc, out, err)
        missing = os.path.join(t.dir, "no-such.conf")
        rc, out, err = run_env("mailq", conf=missing)
        assert rc == 78 and missing in err, (rc, err)
        rc, out, err = run_env("mailq", "-C", cf, conf=missing)
        assert rc == 0 and qid in out, (rc, out, err)
        rc, out, err = run_env("ternd", "-n", "-c", cf, conf=missing)
        assert rc == 0, (rc, out, err)


# --- 4. ternq while the queue runner is busy ---

def test_ternq_hold_and_release():
    with relay_tern(retry_interval="1s") as t:
        qid = submit_remote(t, "held")
        wait_attempts(t, qid, 2)
        rc, out, err = run(t, "ternq", "hold", qid)
        assert rc == 0 and out == qid + ": hold requested\n", (rc, out, err)
        assert wait_log(t, qid + ": placed on hold"), t.log()
        time.sleep(0.3)     # an attempt already running ends
        o = queue_json(t)[qid]
        assert o["held"] is True, o
        before = o["recipients"][0]["attempts"]
        tried = t.log().count(qid + ": to=<x@example.com>")
        rc, out, err = run(t, "mailq")
        assert qid + "!" in out, out
        time.sleep(3.2)     # three retry intervals
        assert attempts(t, qid) == before, (before, t.log())
        assert t.log().count(qid + ": to=<x@example.com>") == tried, t.log()
        rc, out, err = run(t, "ternq", "release", qid)
        assert rc == 0 and out == qid + ": release requested\n", (rc, out)
        wait_attempts(t, qid, before + 1, 5)
        assert queue_json(t)[qid]["held"] is False
        assert qid + ": released from hold" in t.log()


def test_ternq_flush_and_sendmail_q():
    with relay_tern() as t:
        qid = submit_remote(t, "flushed")
        wait_attempts(t, qid, 1)
        time.sleep(0.5)
        assert attempts(t, qid) == 1, t.log()    # retry_interval = 1h
        rc, out, err = run(t, "ternq", "flush")
        assert rc == 0, (rc, out, err)
        wait_attempts(t, qid, 2, 5)
        rc, out, err = run(t, "ternq", "flush", qid)
        assert rc == 0, (rc, out, err)
        wait_attempts(t, qid, 3, 5)
        rc, out, err = run(t, "ternq", "flush", "@example.com")
        assert rc == 0, (rc, out, err)
        wait_attempts(t, qid, 4, 5)
        rc, out, err = run(t, "sendmail", "-q")
        assert rc == 0, (rc, out, err)
        wait_attempts(t, qid, 5, 5)
        rc, out, err = run(t, "sendmail", "-qI" + qid)
        assert rc == 0, (rc, out, err)
        wait_attempts(t, qid, 6, 5)
        time.sleep(0.3)
        assert attempts(t, qid) == 6, t.log()


# A client on the submit socket as another user (root-only tests):
# prints each reply, one line per reply line.
SUBMIT_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def reply():
    out = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        out.append(line)
        if len(line) < 4 or line[3] != "-":
            return "\n".join(out)
reply()
for cmd in sys.argv[2:]:
    f.write(cmd.encode() + b"\r\n")
    f.flush()
    print(reply())
"""


def submit_session(t, *cmds, user=None):
    """Commands over t's submit socket, as user (a ThrowawayUser) or as
    ourselves; the replies' text."""
    kw = dict(user=user.uid, group=user.gid, extra_groups=[]) if user \
        else {}
    p = subprocess.run(["python3", "-c", SUBMIT_CLIENT,
                        t.conf["submit_socket"]] + list(cmds),
                       capture_output=True, timeout=30, cwd="/", **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def test_etrn_is_for_trusted_clients_only():
    """ETRN (RFC 1985) answers trusted clients only: a TCP client outside
    relay_networks and a local user other than root or the daemon's user
    get 459 4.7.1 and no rescan; sendmail -q as that user exits 77."""
    with Tern() as t:           # relay_networks: 127.0.0.1 is not in it
        r = t.raw()
        code, text = r.cmd("EHLO client.example")
        assert code == 250 and "ETRN" not in text.split("\n"), text
        code, text = r.cmd("ETRN @example.com")
        assert code == 459 and text.startswith("4.7.1 "), text
        r.close()
        out = submit_session(t, "EHLO local", "ETRN @example.com")
        assert "250-ETRN" in out and "250 2.0.0 Queuing started" in out, out
        assert wait_log(t, "rescan for @example.com started"), t.log()
        if not harness.IS_ROOT:
            return
        with harness.ThrowawayUser(t.dir) as u:
            out = submit_session(t, "EHLO local", "ETRN @other.example",
                                 "ETRN *", user=u)
            assert "ETRN" not in out.split("\n")[:-2], out
            assert out.count("459 4.7.1 Error: ETRN not allowed for this "
                             "user; only root and %s may flush the queue"
                             % t.conf["user"]) == 2, out
            prog = harness.bin_for_others("sendmail", t.dir)
            os.chmod(t.conf_path, 0o644)
            p = subprocess.run([prog, "-C", t.conf_path, "-qR" + "x.example"],
                               capture_output=True, timeout=30, user=u.uid,
                               group=u.gid, extra_groups=[])
            assert p.returncode == 77, (p.returncode, p.stderr)
            assert b"cannot flush the queue: 459 4.7.1 Error: ETRN not " \
                b"allowed" in p.stderr, p.stderr
            assert wait_log(t, "reject: ETRN from localhost[local], uid=%d"
                            % u.uid, count=3), t.log()
        time.sleep(0.3)
        for domain in ("other.example", "x.example"):
            assert "rescan for @" + domain not in t.log(), t.log()


def test_etrn_flood_costs_one_rescan_and_one_more():
    """A hundred ETRNs for a domain that arrive while the queue runner is
    busy (here: stopped) cost the rescan they start and a single
    follow-up, not one rescan each; every message for the domain is
    attempted again, and a message for another domain is not."""
    with relay_tern() as t:             # 127.0.0.1 may relay and ETRN
        ids = [submit_remote(t, "e%d" % i, "x%d@example.com" % i)
               for i in range(12)]
        other = submit_remote(t, "other", "y@other.example")
        for qid in ids + [other]:
            wait_attempts(t, qid, 1)
        qmgr = int(re.findall(r"tern/qmgr\[(\d+)\]", t.log())[-1])
        os.kill(qmgr, signal.SIGSTOP)
        try:
            r = t.raw()
            r.send("EHLO client.example\r\n" +
                   "ETRN @example.com\r\n" * 100)
            assert r.reply()[0] == 250
            codes = [r.reply()[0] for _ in range(100)]
            assert codes == [250] * 100, codes
            r.close()
        finally:
            os.kill(qmgr, signal.SIGCONT)
        done = "queue: rescan for @example.com done: "
        assert wait_log(t, done, count=2), t.log()
        time.sleep(0.5)
        log = t.log()
        assert log.count("queue: rescan for @example.com started") == 2, log
        assert log.count(done) == 2, log
        assert done + "12 messages to attempt now" in log, log
        assert log.count("a rescan is running; one more follows it") == 1
        for qid in ids:
            wait_attempts(t, qid, 2)
        assert attempts(t, other) == 1, t.log()


def test_ternq_show_and_delete():
    with relay_tern() as t:
        qid = submit_remote(t, "doomed")
        wait_attempts(t, qid, 1)
        rc, out, err = run(t, "ternq", "show", qid)
        assert rc == 0, (rc, err)
        for text in ("id: " + qid, "sender: a@example.org",
                     "rcpt: x@example.com", "Subject: doomed", "\nbody\n",
                     "    state: deferred, 1 attempt",
                     "    reply: connect to 127.0.0.1[127.0.0.1]:%d: "
                     "Connection refused\n" % relay_port(t)):
            assert text in out, (text, out)
        assert "+20" not in out, out
        rc, out, err = run(t, "ternq", "delete", qid)
        assert rc == 0 and out == qid + ": delete requested\n", (rc, out)
        assert wait_for(lambda: not t.queue_files() and
                        not state_files(t), 5), (t.queue_files(), t.log())
        assert wait_log(t, qid + ": removed"), t.log()
        rc, out, err = run(t, "mailq")
        assert out == "Mail queue is empty\n", out
        rc, out, err = run(t, "ternq", "show", qid)
        assert rc != 0 and "no such message" in err, (rc, err)
        # The relay comes up: nothing arrives there, even when asked.
        sink = sink_at(relay_port(t))
        sink.start()
        try:
            assert run(t, "ternq", "flush")[0] == 0
            assert run(t, "sendmail", "-q")[0] == 0
            time.sleep(1.5)
            assert sink.messages() == [], sink.messages()
        finally:
            stop_sink(sink)
        assert t.log().count(qid + ": to=<") == 1, t.log()


# --- 5. newaliases on the daemon's aliases file ---

def test_newaliases_live():
    with Tern() as t:
        path = t.conf["aliases"]
        rc, out, err = run(t, "newaliases")
        n = "2 aliases" if harness.IS_ROOT else "1 alias"   # + root:
        assert rc == 0 and out == "newaliases: %s: %s, ok\n" % (path, n), \
            (rc, out, err)
        t.write_aliases("postmaster: %s\nops: %s\n" % (
            harness.daemon_user(), mailbox(t).rsplit("/", 1)[1]))
        rc, out, err = run(t, "newaliases")
        assert rc == 0 and out == "newaliases: %s: 2 aliases, ok\n" % path, \
            (rc, out, err)
        rc, out, err = run(t, "sendmail", "-bi")
        assert rc == 0 and out == "newaliases: %s: 2 aliases, ok\n" % path, \
            (rc, out, err)
        # The daemon reads the edited file itself: no restart needed.
        rc, out, err = run(t, "sendmail", "ops",
                           data=b"Subject: via alias\n\nx\n")
        assert rc == 0, (rc, err)
        m, = wait_mail(t)
        assert m["Subject"] == "via alias", str(m)
        with open(path, "a") as f:
            f.write("this line is broken\n")
        rc, out, err = run(t, "newaliases")
        assert rc == 65 and err.startswith(path + ":3: "), (rc, err)
        assert out == "", out


# --- 6. pflogsumm reads tern's log ---

def grand_totals(report):
    """The counts of pflogsumm's "Grand Totals" section, by label."""
    out = {}
    part = report.split("Grand Totals", 1)[1].split("\n\n\n", 1)[0]
    for line in part.splitlines():
        m = re.match(r"\s*(\d+)\s+(\w[\w ]*?)(\s+\(.*)?$", line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def test_pflogsumm_counts():
    pflogsumm = harness.need_tool("pflogsumm")
    sink = sink_at(harness.free_port(),
                   ["--reply-rcpt", "later@example.net=451",
                    "--reply-rcpt", "gone@example.net=550"])
    sink.start()
    try:
        with relay_tern(sink.port) as t:
            s = t.smtp()
            for i, (sender, rcpt) in enumerate((
                    ("a@example.org", "%s@tern.test" % USER),
                    ("a@example.org", "ok@example.net"),
                    ("a@example.org", "later@example.net"),
                    ("", "gone@example.net"))):
                s.sendmail(sender, [rcpt], "S: %d\r\n\r\nx\r\n" % i)
            s.mail("a@example.org")
            code, _ = s.rcpt("nosuchuser@tern.test")
            assert code == 550, code
            s.quit()
            assert run(t, "sendmail", USER, data=b"S: 5\n\nx\n")[0] == 0
            # Delivered: USER twice, ok@, and the double bounce of the
            # null-sender message to postmaster.
            assert wait_log(t, "status=sent", count=4), t.log()
            assert wait_log(t, "status=deferred"), t.log()
            assert wait_log(t, "status=bounced"), t.log()
            p = subprocess.run([pflogsumm, "--syslog-name=tern",
                                t.log_path], capture_output=True, text=True,
                               timeout=60)
            assert p.returncode == 0, p
            got = grand_totals(p.stdout)
            want = {"received": 5, "delivered": 4, "deferred": 1,
                    "bounced": 1, "rejected": 1}
            assert {k: got.get(k) for k in want} == want, \
                (got, p.stdout[:1500], t.log())
    finally:
        stop_sink(sink)


def test_ternq_delete_domain_while_busy():
    """With the runner retrying every second, "delete @domain" removes
    exactly that domain's messages; the rest is delivered once the relay
    comes up, and nothing deleted ever arrives."""
    with relay_tern(retry_interval="1s") as t:
        s = t.smtp()
        for i in range(20):
            s.sendmail("a@example.org", ["r%d@example.com" % i],
                       "Subject: drop %d\r\n\r\nx\r\n" % i)
        s.sendmail("a@example.org", ["keep@example.net"],
                   "Subject: keep\r\n\r\nx\r\n")
        s.quit()
        assert wait_for(lambda: len(t.queue_files()) == 21, 5)
        assert wait_log(t, "to=<r19@example.com>"), t.log()
        rc, out, err = run(t, "ternq", "delete", "@example.com")
        assert rc == 0 and out == "@example.com: delete requested\n", \
            (rc, out, err)
        assert wait_for(lambda: len(t.queue_files()) == 1 and
                        len(state_files(t)) <= 1, 10), t.queue_files()
        left, = queue_json(t).values()
        assert left["recipients"][0]["address"] == "keep@example.net", left
        sink = sink_at(relay_port(t))
        sink.start()
        try:
            assert wait_for(lambda: not t.queue_files(), 10), t.log()
            time.sleep(1.2)
            got = [m["rcpt_tos"] for m in sink.messages()]
            assert got == [["keep@example.net"]], got
        finally:
            stop_sink(sink)


def test_ternq_with_the_daemon_down():
    """hold and delete done while ternd is stopped hold across a restart."""
    with relay_tern(retry_interval="1s") as t:
        held, gone = submit_remote(t, "held"), submit_remote(t, "gone")
        wait_attempts(t, held, 1)
        wait_attempts(t, gone, 1)
        t.stop()
        rc, out, err = run(t, "ternq", "hold", held)
        assert rc == 0 and "held" in out, (rc, out, err)
        rc, out, err = run(t, "ternq", "delete", gone)
        assert rc == 0 and "deleted" in out, (rc, out, err)
        rc, out, err = run(t, "ternq", "flush")
        assert rc == 75 and "not running" in err, (rc, err)
        before = attempts(t, held)
        t.start()
        time.sleep(2.5)
        q = queue_json(t)
        assert list(q) == [held] and q[held]["held"] is True, q
        assert attempts(t, held) == before, t.log()
        assert run(t, "ternq", "release", held)[0] == 0
        wait_attempts(t, held, before + 1, 5)


def test_init_script_runs_the_real_daemon():
    """etc/init.d/tern starts, reloads and stops the real ternd, which
    daemonizes, writes its pid file and delivers mail meanwhile."""
    t = Tern(start=False)
    script = os.path.join(t.dir, "init")
    with open(os.path.join(harness.TOP, "etc/init.d/tern")) as f:
        text = f.read()
    text = re.sub(r"^DAEMON=.*$", "DAEMON=" + os.path.join(BIN, "ternd"),
                  text, flags=re.M)
    text = re.sub(r"^CONFIG=.*$", "CONFIG=" + t.conf_path, text, flags=re.M)
    with open(script, "w") as f:
        f.write(text)
    pidfile = t.conf["pid_file"]

    def init(action):
        p = subprocess.run(["sh", script, action], capture_output=True,
                           text=True, timeout=90)
        return p.returncode, p.stdout + p.stderr

    pid = None
    try:
        assert init("status")[0] == 3
        rc, out = init("start")
        assert rc == 0, out
        assert wait_for(lambda: os.path.exists(pidfile), 10), out
        pid = int(open(pidfile).read())
        assert wait_for(lambda: _greets(t.port), 10)
        s = t.smtp()
        s.sendmail("a@example.org", ["%s@tern.test" % USER],
                   b"Subject: via init\r\n\r\nhello\r\n")
        s.quit()
        box = mailbox(t)
        assert wait_for(lambda: maildir_messages(box), 10), box
        assert init("reload")[0] == 0
        rc, out = init("status")
        assert rc == 0 and str(pid) in out, out
        rc, out = init("stop")
        assert rc == 0, out
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), 15)
        pid = None
        assert init("status")[0] == 3
    finally:
        if pid is not None:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    shutil.rmtree(t.dir, ignore_errors=True)


def _greets(port):
    try:
        r = harness.RawClient("127.0.0.1", port)
        r.close()
        return r.greeting[0] == 220
    except OSError:
        return False


def test_make_run_delivers_what_it_suggests():
    """`make run` (tests/make-run.sh, moved to a scratch directory and a
    free port): it starts, and the message it suggests sending lands in
    the mail directory it names, as root (mail for root goes to an
    alias, never written by root) and as an ordinary user."""
    import smtplib
    top = harness.TOP
    if not os.access(os.path.join(top, "bin", "ternd"), os.X_OK):
        harness.skip("bin/ternd not built (make test builds it)")
    d = harness.tempdir("tern-makerun-")
    port = harness.free_port()
    env = dict(os.environ, TERN_RUN_DIR=os.path.join(d, "run"),
               TERN_RUN_PORT=str(port))
    p = subprocess.Popen(["sh", "tests/make-run.sh"], cwd=top, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        lines = [p.stdout.readline().decode() for _ in range(3)]
        m = re.search(r"mail in (\S+)/ *$", lines[0])
        rcpt = re.search(r"--to (\S+)", lines[1])
        assert m and rcpt and ("127.0.0.1:%d" % port) in lines[0], lines
        box = m.group(1)
        if not box.startswith("/"):
            box = os.path.join(top, box)

        def up():
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
                return True
            except OSError:
                return False
        assert wait_for(up, 15, 0.1), "make run does not answer"
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.sendmail("you@localhost", [rcpt.group(1)],
                   "Subject: hi\r\n\r\nhello from make run\r\n")
        s.quit()
        assert wait_for(lambda: maildir_messages(box), 20, 0.1), box
        _, _, raw = maildir_messages(box)[0]
        assert b"hello from make run" in raw
    finally:
        harness.stop_pid(p)
        p.stdout.close()
        shutil.rmtree(d, ignore_errors=True)
