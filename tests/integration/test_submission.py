# SPDX-License-Identifier: ISC
"""test_submission.py - users' mail programs on the submission ports:
AUTH PLAIN and LOGIN (RFC 4954) after STARTTLS on 587 and on 465,
relaying once logged in, sender ownership (sender_login), failed logins
(slowed down, limited, logged for fail2ban), bad AUTH input, and the
password checker's isolation.  msmtp, when installed, is the real
client of the README's example."""
import base64
import contextlib
import os
import re
import shutil
import smtplib
import subprocess
import time

import harness
from harness import (CERTS, RawClient, Tern, daemon_user, need_tls,
                     tls_conf, wait_for, wait_log)
from smtpsink import SMTPSink

PASSWORD = "correct horse"
# fail2ban's filter.d/postfix.conf, mode "auth" (its _daemon aside)
FAIL2BAN = re.compile(r"\[(?P<host>[0-9.:a-f]+)\]: SASL ((?i:LOGIN|PLAIN|"
                      r"(?:CRAM|DIGEST)-MD5)) authentication failed:(?! "
                      r"Connection lost to authentication server| Invalid "
                      r"authentication mechanism)")


def passwd_file(d, users):
    """auth_users with a SHA-512 crypt hash per user."""
    path = os.path.join(d, "passwd")
    with open(path, "w") as f:
        f.write("# user:hash\n")
        for user, pw in users.items():
            f.write("%s:%s\n" % (user, harness.sha512_hash(pw)))
    os.chmod(path, 0o600)
    return path


@contextlib.contextmanager
def submission_tern(**conf):
    """A tern with 587 and 465, alice's password, and a relayhost sink
    for what logged-in users relay."""
    need_tls()
    d = harness.tempdir()
    sink = SMTPSink(harness.free_port(), os.path.join(d, "sink")).start()
    sub, smtps = harness.free_port(), harness.free_port()
    args = dict(tls_conf(), submission_listen="127.0.0.1:%d" % sub,
                smtps_listen="127.0.0.1:%d" % smtps,
                auth_users=passwd_file(d, {"alice": PASSWORD,
                                           "bob": "bobs secret"}),
                relayhost="[127.0.0.1]:%d" % sink.port,
                smtp_allow_loopback="yes")
    args.update(conf)
    try:
        with Tern(**args) as t:
            t.sub, t.smtps, t.sink = sub, smtps, sink
            yield t
    finally:
        sink.stop()
        shutil.rmtree(d, ignore_errors=True)


def login_587(t, user="alice", password=PASSWORD):
    s = smtplib.SMTP("127.0.0.1", t.sub, timeout=20)
    s.starttls(context=harness.client_tls())
    s.login(user, password)
    return s


MSG = (b"From: alice@tern.test\r\nTo: friend@far.example\r\n"
       b"Subject: from my laptop\r\n\r\nhello from alice\r\n")


def test_login_on_587_relays_and_says_esmtpsa():
    """alice logs in after STARTTLS (smtplib picks PLAIN), may relay to
    another domain, and the message says ESMTPSA, names no password,
    and its log line has sasl_method and sasl_username."""
    with submission_tern() as t:
        s = smtplib.SMTP("127.0.0.1", t.sub, timeout=20)
        s.ehlo("laptop.example")
        assert not s.has_extn("auth"), "AUTH offered before TLS"
        s.starttls(context=harness.client_tls())
        s.ehlo("laptop.example")
        assert s.esmtp_features.get("auth", "").split() == ["PLAIN",
                                                            "LOGIN"]
        assert s.login("alice", PASSWORD)[0] == 235
        s.sendmail("alice@tern.test", ["friend@far.example"], MSG)
        s.quit()
        assert wait_for(lambda: t.sink.messages(), 20), t.log()
        m = t.sink.messages()[0]
        head = m["data"].split("\r\n\r\n")[0]
        assert "with ESMTPSA id" in head and "(using TLSv1.3" in head, head
        assert PASSWORD not in m["data"] and "alice" not in \
            head.split("Received:")[1].split(";")[0], head
        assert re.search(r": client=unknown\[127\.0\.0\.1\], "
                         r"sasl_method=PLAIN, sasl_username=alice\n",
                         t.log()), t.log()
        assert PASSWORD not in t.log()


def test_login_mechanism_with_and_without_initial_response():
    """AUTH LOGIN, both as "AUTH LOGIN <user>" and as the two 334
    prompts."""
    with submission_tern() as t:
        for initial in (True, False):
            s = smtplib.SMTP("127.0.0.1", t.sub, timeout=20)
            s.starttls(context=harness.client_tls())
            s.ehlo()
            s.user, s.password = "bob", "bobs secret"
            code, text = s.auth("LOGIN", s.auth_login,
                                initial_response_ok=initial)
            assert code == 235, text
            s.sendmail("bob@tern.test", ["friend@far.example"], MSG)
            s.quit()
        assert wait_log(t, "sasl_method=LOGIN, sasl_username=bob", 10, 2), \
            t.log()


def test_smtps_465_login_and_send():
    """Implicit TLS on 465: SMTP_SSL, login, send."""
    with submission_tern() as t:
        s = smtplib.SMTP_SSL("127.0.0.1", t.smtps, timeout=20,
                             context=harness.client_tls())
        s.login("alice", PASSWORD)
        s.sendmail("alice@tern.test", ["friend@far.example"], MSG)
        s.quit()
        assert wait_for(lambda: t.sink.messages(), 20), t.log()


def test_wrong_password_is_slowed_limited_and_logged_for_fail2ban():
    """Each failure waits longer (1 s, then 2 s), the third ends the
    session with 421, and every one is a line fail2ban matches."""
    with submission_tern(smtpd_auth_failure_delay="1s",
                         smtpd_auth_max_failures=3) as t:
        c = RawClient("127.0.0.1", t.sub, timeout=30)
        c.cmd("EHLO laptop.example")
        assert c.cmd("STARTTLS")[0] == 220
        c.sock = harness.client_tls().wrap_socket(
            c.sock, server_hostname="localhost")
        c.cmd("EHLO laptop.example")
        waits = []
        for n in range(3):
            resp = base64.b64encode(b"\0alice\0wrong%d" % n).decode()
            t0 = time.monotonic()
            code, text = c.cmd("AUTH PLAIN " + resp)
            waits.append(time.monotonic() - t0)
            assert code == 535 and text.startswith("5.7.8 "), text
        assert waits[0] >= 0.9 and waits[1] >= 1.9 and waits[2] >= 2.9, \
            waits
        code, text = c.reply()
        assert code == 421 and "too many failed authentications" in text
        assert c.closed()
        c.close()
        assert wait_log(t, "SASL PLAIN authentication failed", count=3)
        lines = [l for l in t.log().splitlines() if "SASL" in l]
        assert len(lines) == 3, lines
        for l in lines:
            assert "warning: unknown[127.0.0.1]: SASL PLAIN authentication "\
                "failed: authentication failure" in l, l
            m = FAIL2BAN.search(l)
            assert m and m.group("host") == "127.0.0.1", l
        assert "wrong" not in t.log()
        # an unknown user fails the same way
        s = smtplib.SMTP("127.0.0.1", t.sub, timeout=20)
        s.starttls(context=harness.client_tls())
        try:
            s.login("mallory", PASSWORD)
            assert False, "mallory logged in"
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
        s.close()


def test_sender_ownership():
    """Logged in, alice may send as alice@ a local domain and nothing
    else; with sender_login, as what it lists."""
    with submission_tern() as t:
        s = login_587(t)
        code, text = s.mail("bob@tern.test")
        assert code == 553 and text == (b"5.7.1 Sender address rejected: "
                                        b"not owned by user alice"), text
        assert s.mail("alice@tern.test")[0] == 250
        s.rset()
        assert s.mail("alice@localhost")[0] == 250
        s.rset()
        assert s.mail("alice@far.example")[0] == 553
        s.quit()
        assert "reject: MAIL from unknown[127.0.0.1]: 553 5.7.1 Sender " \
            "address rejected: not owned by user alice; from=<bob@tern." \
            "test>" in t.log()
        path = os.path.join(t.dir, "sender_login")
        with open(path, "w") as f:
            f.write("alice: alice@far.example, @example.net\n")
        t.write_conf(sender_login=path)
        t.stop()
        t.start()
        s = login_587(t)
        assert s.mail("alice@far.example")[0] == 250
        s.rset()
        assert s.mail("anything@example.net")[0] == 250
        s.rset()
        assert s.mail("alice@tern.test")[0] == 553
        s.quit()


def test_bad_auth_input():
    """Each gets its own clear reply, and the session goes on: a line over
    12 KiB, base64 that does not decode, a NUL too many in PLAIN, a
    cancelled exchange, an unknown mechanism; then a login works, and a
    second AUTH, or one inside a transaction, is refused."""
    with submission_tern() as t:
        c = RawClient("127.0.0.1", t.sub, timeout=20)
        c.cmd("EHLO laptop.example")
        c.cmd("STARTTLS")
        c.sock = harness.client_tls().wrap_socket(
            c.sock, server_hostname="localhost")
        c.cmd("EHLO laptop.example")
        code, text = c.cmd("AUTH PLAIN " + "A" * 13000)
        assert code == 500 and "too long" in text, text
        assert c.cmd("AUTH PLAIN !!!notbase64")[0:1] == (501,)
        assert "Cannot decode" in c.cmd("AUTH PLAIN Zm9v=")[1]
        nul3 = base64.b64encode(b"\0alice\0pass\0word").decode()
        code, text = c.cmd("AUTH PLAIN " + nul3)
        assert code == 501 and "malformed PLAIN" in text, text
        assert c.cmd("AUTH PLAIN")[0] == 334
        code, text = c.cmd("*")
        assert code == 501 and "aborted" in text, text
        assert c.cmd("AUTH LOGIN")[0] == 334
        code, text = c.cmd("A" * 12300)
        assert code == 500 and text.startswith("5.5.6"), text
        assert c.cmd("AUTH CRAM-MD5")[0] == 504
        ok = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
        assert c.cmd("AUTH PLAIN " + ok)[0] == 235
        assert c.cmd("AUTH PLAIN " + ok)[0] == 503
        assert c.cmd("NOOP")[0] == 250
        c.close()
        # AUTH inside a transaction
        s = login_587(t)
        s.mail("alice@tern.test")
        code, text = s.docmd("AUTH PLAIN " + ok)
        assert code == 503, text
        s.close()


def test_plaintext_submission_from_loopback_when_allowed():
    """submission_loopback_plaintext: AUTH offered and accepted without
    TLS from 127.0.0.1 (local webmail); still not on port 25."""
    with submission_tern(submission_loopback_plaintext="yes") as t:
        s = smtplib.SMTP("127.0.0.1", t.sub, timeout=20)
        s.ehlo()
        assert "PLAIN" in s.esmtp_features.get("auth", "")
        s.login("alice", PASSWORD)
        s.sendmail("alice@tern.test", ["friend@far.example"], MSG)
        s.quit()
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=20)
        s.ehlo()
        assert not s.has_extn("auth")
        assert s.docmd("AUTH PLAIN AGFsaWNlAHg=")[0] == 503
        s.quit()
        assert wait_for(lambda: t.sink.messages(), 20), t.log()
        assert "with ESMTPA id" in t.sink.messages()[0]["data"]


def test_checker_holds_the_hashes_out_of_the_smtpd_reach():
    """The password file is root's (0600); the checker that read it runs
    as `user` but is not dumpable, so an smtpd (the same uid) can neither
    ptrace it nor read its memory."""
    harness.need_root("a root-only password file and a non-dumpable "
                      "checker")
    with submission_tern() as t:
        path = t.conf["auth_users"]
        os.chown(path, 0, 0)
        login_587(t).quit()
        pids = set(re.findall(r"tern/auth\[(\d+)\]", t.log()))
        assert pids, t.log()
        pid = pids.pop()
        with open("/proc/%s/status" % pid) as f:
            uid = [l for l in f if l.startswith("Uid:")][0].split()[1]
        import pwd
        user = pwd.getpwnam(daemon_user())
        assert int(uid) == user.pw_uid
        # not dumpable: its /proc files belong to root
        assert os.stat("/proc/%s/mem" % pid).st_uid == 0
        probe = ("import os,sys\nos.setgid(%d)\nos.setuid(%d)\n"
                 "try:\n open('/proc/%s/mem','rb')\n sys.exit(1)\n"
                 "except PermissionError:\n pass\n"
                 "try:\n open(%r)\n sys.exit(2)\n"
                 "except PermissionError:\n sys.exit(0)\n"
                 % (user.pw_gid, user.pw_uid, pid, path))
        p = subprocess.run(["python3", "-c", probe], timeout=20)
        assert p.returncode == 0, p.returncode


def test_msmtp_as_the_readme_shows():
    """The README's example: msmtp with tls on, auth on, port 587."""
    msmtp = harness.need_tool("msmtp")
    with submission_tern() as t:
        rc = os.path.join(t.dir, "msmtprc")
        with open(rc, "w") as f:
            f.write("account default\nhost localhost\nport %d\n"
                    "tls on\ntls_trust_file %s/ca.pem\nauth on\n"
                    "user alice\npassword %s\nfrom alice@tern.test\n"
                    % (t.sub, CERTS, PASSWORD))
        os.chmod(rc, 0o600)
        p = subprocess.run([msmtp, "-C", rc, "friend@far.example"],
                           input=MSG, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: t.sink.messages(), 20), t.log()
        assert "hello from alice" in t.sink.messages()[0]["data"]
