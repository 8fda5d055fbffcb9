# SPDX-License-Identifier: ISC
"""test_pop3.py - the POP3 server (RFC 1939, 2449, 2595, 5034): Python's
poplib in plaintext on loopback, after stls() and with POP3_SSL; curl's
pop3:// and pop3s://; byte-identical RETR, DELE at QUIT only, a kill -9
after DELE, [IN-USE], failed logins slowed and logged for fail2ban, bad
input, 10,000 messages, the idle timeout and the per-address limit.  The
mailbox is a Unix user's Maildir: a throwaway user's under root (its
mailbox process then runs as that uid), the invoking user's otherwise."""
import contextlib
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import time

import harness
from harness import (IS_ROOT, CERTS, Tern, ThrowawayUser, client_tls,
                     need_tls, tls_built_in, tls_conf, wait_for, wait_log)

PASSWORD = "pop secret"
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def fail2ban_regexes():
    """The failregex lines of etc/fail2ban/tern-pop3.conf, <HOST> filled in
    as fail2ban does."""
    out, on = [], False
    with open(os.path.join(TOP, "etc", "fail2ban", "tern-pop3.conf")) as f:
        for line in f:
            if line.startswith("failregex"):
                on = True
                line = line.split("=", 1)[1]
            elif not line.startswith((" ", "\t")):
                on = False
            if on and line.strip():
                out.append(re.compile(line.strip().replace(
                    "<HOST>", r"(?P<host>[0-9a-fA-F.:]+)")))
    return out


class Box:
    """The test's mailbox: a Maildir under the user's home."""

    def __init__(self, user):
        self.user = user
        self.path = os.path.join(user.home, "Maildir")
        self.n = 0
        for sub in ("", "tmp", "new", "cur"):
            p = os.path.join(self.path, sub)
            os.makedirs(p, exist_ok=True)
            self.own(p)

    def own(self, p):
        if IS_ROOT:
            os.chown(p, self.user.uid, self.user.gid)

    def add(self, body, sub="new", name=None):
        """One message file with LF line ends, as tern's delivery writes."""
        self.n += 1
        name = name or "%d.M%dP%dQ%d.tern.test" % (
            1700000000 + self.n, self.n, os.getpid(), self.n)
        p = os.path.join(self.path, sub, name)
        with open(p, "wb") as f:
            f.write(body)
        self.own(p)
        return name

    def files(self, sub="cur"):
        return sorted(os.listdir(os.path.join(self.path, sub)))


def message(i, extra=b""):
    return (b"From: a@tern.test\nSubject: message %d\n\nline one\n"
            b".a line with a dot\n..two dots\n%s\nlast\n" % (i, extra))


def crlf(b):
    return b.replace(b"\n", b"\r\n")


@contextlib.contextmanager
def pop3_tern(**conf):
    """A tern with POP3 on loopback (and 995-style TLS when built with
    it) for a user whose Maildir holds nothing yet."""
    d = harness.tempdir()
    user = ThrowawayUser(d)
    try:
        box = Box(user)
        pw = os.path.join(d, "passwd")
        with open(pw, "w") as f:
            f.write("%s:%s\n" % (user.name, harness.sha512_hash(PASSWORD)))
        os.chmod(pw, 0o600)
        p3 = harness.free_port()
        args = dict(pop3_listen="127.0.0.1:%d" % p3, auth_users=pw,
                    pop3_loopback_plaintext="yes",
                    # the home ThrowawayUser made (without root, the
                    # invoking user's home in passwd is not this one)
                    mailbox_path=os.path.join(d, "home-%u", "Maildir/"),
                    smtpd_auth_failure_delay="1s")
        p3s = None
        if tls_built_in():
            p3s = harness.free_port()
            args.update(tls_conf(), pop3s_listen="127.0.0.1:%d" % p3s)
        args.update(conf)
        with Tern(**args) as t:
            t.p3, t.p3s, t.box, t.user = p3, p3s, box, user
            yield t
    finally:
        user.remove()
        shutil.rmtree(d, ignore_errors=True)


def login(t, **kw):
    c = poplib.POP3("127.0.0.1", t.p3, timeout=15, **kw)
    c.user(t.user.name)
    c.pass_(PASSWORD)
    return c


def login_refused(t, why):
    """A login with the right password that gets -ERR: its line."""
    c = poplib.POP3("127.0.0.1", t.p3, timeout=15)
    c.user(t.user.name)
    try:
        c.pass_(PASSWORD)
    except poplib.error_proto as e:
        c.close()
        return e.args[0]
    raise AssertionError("logged in: " + why)


def raw(t, port=None):
    s = socket.create_connection(("127.0.0.1", port or t.p3), 10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return s, f


def cmd(s, f, line):
    s.sendall(line.encode() + b"\r\n")
    return f.readline().decode().rstrip("\r\n")


def multiline(f):
    out = []
    while True:
        l = f.readline()
        assert l, "connection closed"
        if l == b".\r\n":
            return out
        out.append(l)


def retr_bytes(c, i):
    """RETR as poplib gives it, joined back with CRLF."""
    _, lines, _ = c.retr(i)
    return b"".join(l + b"\r\n" for l in lines)


def test_pop3_plain_list_retr_dele():
    with pop3_tern() as t:
        bodies = [message(i) for i in range(3)]
        names = [t.box.add(b) for b in bodies]
        c = login(t)
        # new/ went to cur/ as Dovecot moves it: NAME -> NAME:2,
        assert t.box.files("new") == []
        assert t.box.files("cur") == sorted(n + ":2," for n in names)
        count, size = c.stat()
        assert count == 3
        assert size == sum(len(crlf(b)) for b in bodies)
        _, listing, _ = c.list()
        assert [l.split() for l in listing] == [
            [b"%d" % (i + 1), b"%d" % len(crlf(b))]
            for i, b in enumerate(bodies)]
        _, uidls, _ = c.uidl()
        assert [l.split()[1].decode() for l in uidls] == names
        for i, b in enumerate(bodies):
            assert retr_bytes(c, i + 1) == crlf(b)
        # TOP: the header, the blank line and one body line
        _, top, _ = c.top(1, 1)
        assert top == [b"From: a@tern.test", b"Subject: message 0", b"",
                       b"line one"]
        c.dele(1)
        c.dele(3)
        assert c.stat() == (1, len(crlf(bodies[1])))
        assert len(t.box.files()) == 3      # not before QUIT
        c.quit()
        # what RETR sent is Seen, as Dovecot marks it at UPDATE
        assert t.box.files() == [names[1] + ":2,S"]
        # the UIDL is stable across sessions and the flag's rename; TOP
        # alone, or RETR undone by RSET, leaves a new message unseen
        late = t.box.add(message(9))
        c = login(t)
        assert c.uidl(1).split()[2].decode() == names[1]
        c.top(2, 0)
        c.quit()
        assert t.box.files() == sorted([names[1] + ":2,S", late + ":2,"])
        c = login(t)
        retr_bytes(c, 2)
        c.rset()
        c.quit()
        assert t.box.files() == sorted([names[1] + ":2,S", late + ":2,"])
        assert wait_log(t, "Login: user=<%s>, method=PLAIN, rip=127.0.0.1"
                        ", lip=127.0.0.1, session=<" % t.user.name)
        assert "del=2/3" in t.log()


def test_pop3_capa_and_plaintext_refused():
    with pop3_tern(pop3_loopback_plaintext="no") as t:
        c = poplib.POP3("127.0.0.1", t.p3, timeout=10)
        capa = c.capa()
        assert "USER" not in capa and "SASL" not in capa
        assert "UIDL" in capa and "TOP" in capa and "RESP-CODES" in capa
        if t.p3s:
            assert "STLS" in capa
        try:
            c.user(t.user.name)
            raise AssertionError("USER accepted in plaintext")
        except poplib.error_proto as e:
            assert b"[AUTH] Plaintext authentication disallowed" in \
                e.args[0]
        c.quit()
        line = [l for l in t.log().splitlines()
                if "disallowed plaintext" in l][0]
        assert any(r.search(line) for r in fail2ban_regexes()), line


def test_pop3_stls_and_pop3s():
    need_tls()
    with pop3_tern(pop3_loopback_plaintext="no") as t:
        body = message(7, b"x" * 70 + b"\n") * 40
        t.box.add(body)
        c = poplib.POP3("127.0.0.1", t.p3, timeout=15)
        c.stls(client_tls(verify=False))
        assert "USER" in c.capa() and "STLS" not in c.capa()
        c.user(t.user.name)
        c.pass_(PASSWORD)
        assert retr_bytes(c, 1) == crlf(body)
        c.quit()
        c = poplib.POP3_SSL("127.0.0.1", t.p3s, timeout=15,
                            context=client_tls(verify=False))
        c.user(t.user.name)
        c.pass_(PASSWORD)
        assert c.stat()[0] == 1
        c.dele(1)
        c.quit()
        assert t.box.files() == []
        assert wait_log(t, ", TLS, session=<")


def test_pop3_auth_plain():
    import base64
    with pop3_tern() as t:
        t.box.add(message(1))
        s, f = raw(t)
        tok = base64.b64encode(b"\0%s\0%s" % (t.user.name.encode(),
                                               PASSWORD.encode())).decode()
        assert cmd(s, f, "AUTH PLAIN") == "+ "
        assert cmd(s, f, tok).startswith("+OK")
        assert cmd(s, f, "STAT").startswith("+OK 1 ")
        assert cmd(s, f, "QUIT").startswith("+OK")
        s.close()
        s, f = raw(t)
        assert cmd(s, f, "AUTH PLAIN " + tok).startswith("+OK")
        s.close()


def test_pop3_wrong_password_slowed_and_logged():
    with pop3_tern(smtpd_auth_max_failures="2") as t:
        c = poplib.POP3("127.0.0.1", t.p3, timeout=15)
        c.user(t.user.name)
        start = time.monotonic()
        try:
            c.pass_("wrong")
            raise AssertionError("a wrong password was taken")
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [AUTH]")
        assert time.monotonic() - start >= 0.9
        c.user(t.user.name)
        try:
            c.pass_("wrong again")
        except poplib.error_proto:
            pass
        # the second failure is the last: the server closes
        assert c.file.readline().startswith(b"-ERR Too many")
        assert c.file.readline() == b""
        assert wait_log(t, "Disconnected (auth failed, 2 attempts in")
        line = [l for l in t.log().splitlines() if "auth failed" in l][0]
        assert "user=<%s>" % t.user.name in line
        m = [r.search(line) for r in fail2ban_regexes()]
        assert any(x and x.group("host") == "127.0.0.1" for x in m), line
        # fail2ban's dovecot.conf: the same text after "pop3-login: "
        dovecot = re.compile(
            r"(?:Aborted login|Disconnected)(?::(?: [^ \(]+)+)? \((?:auth "
            r"failed, \d+ attempts(?: in \d+ secs)?|tried to use (?:disabled"
            r"|disallowed) \S+ auth|proxy dest auth failed)\):(?: user=<[^>]"
            r"*>,)?(?: method=\S+,)? rip=(?P<host>\S+?)(?:[^>]*(?:, session="
            r"<\S+>)?)\s*$")
        assert dovecot.search(line.split("]: ", 1)[1]), line


def test_pop3_in_use():
    with pop3_tern() as t:
        t.box.add(message(1))
        c = login(t)
        assert login_refused(t, "two sessions on one maildrop").startswith(
            b"-ERR [IN-USE]")
        c.quit()
        d = login(t)        # free again
        d.quit()


def session_pids(t, before):
    """The children of ternd that appeared since before."""
    def kids():
        out = set()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[1]) == t.proc.pid:
                out.add(int(p))
        return out
    if before is None:
        return kids()
    return kids() - before


def uids_of(pids):
    """The real uids of the processes pids."""
    uids = set()
    for p in pids:
        with open("/proc/%d/status" % p) as f:
            uids.add(int([l for l in f if l.startswith("Uid:")][0]
                         .split()[1]))
    return uids


def test_pop3_kill9_after_dele_deletes_nothing():
    with pop3_tern() as t:
        for i in range(3):
            t.box.add(message(i))
        before = session_pids(t, None)
        c = login(t)
        c.dele(1)
        c.dele(2)
        pids = session_pids(t, before)
        assert len(pids) == 2, pids         # login and mailbox
        if IS_ROOT:     # the mailbox process is the user's
            assert t.user.uid in uids_of(pids), uids_of(pids)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        assert wait_for(lambda: not session_pids(t, before), 10)
        c.close()
        assert len(t.box.files()) == 3
        # a client that just goes away deletes nothing either
        c = login(t)
        c.dele(1)
        c.close()
        assert wait_log(t, "Disconnected: connection closed")
        c = login(t)
        assert c.stat()[0] == 3
        c.quit()


def test_pop3_bad_input():
    with pop3_tern() as t:
        names = [t.box.add(message(i)) for i in range(3)]
        s, f = raw(t)
        # wrong state before login
        assert cmd(s, f, "STAT").startswith("-ERR Not logged in")
        assert cmd(s, f, "PASS x").startswith("-ERR No username")
        # a line over 255 octets, then the session goes on
        assert cmd(s, f, "USER " + "a" * 300).startswith("-ERR Line too")
        assert cmd(s, f, "USER " + t.user.name) == "+OK"
        assert cmd(s, f, "PASS " + PASSWORD).startswith("+OK Logged in")
        assert cmd(s, f, "USER x").startswith("-ERR Already logged in")
        assert cmd(s, f, "NOOP " + "b" * 300).startswith("-ERR Line too")
        for bad in ("0", "99999", "-1", "1x", ""):
            assert cmd(s, f, "RETR " + bad).startswith("-ERR"), bad
        assert cmd(s, f, "DELE 2") == "+OK Marked to be deleted."
        assert cmd(s, f, "DELE 2") == "-ERR Message is deleted."
        assert cmd(s, f, "RETR 2") == "-ERR Message is deleted."
        assert cmd(s, f, "LIST 2") == "-ERR Message is deleted."
        assert cmd(s, f, "TOP 1 x").startswith("-ERR")
        assert cmd(s, f, "FROB").startswith("-ERR Unknown command")
        # mail delivered now is for the next session
        late = t.box.add(message(9))
        assert cmd(s, f, "STAT").startswith("+OK 2 ")
        # a file another program took: -ERR, and the session goes on
        os.unlink(os.path.join(t.box.path, "cur", names[2] + ":2,"))
        assert cmd(s, f, "RETR 3").startswith("-ERR Message 3 is gone")
        # another program renamed it for its flags: still found
        os.rename(os.path.join(t.box.path, "cur", names[0] + ":2,"),
                  os.path.join(t.box.path, "cur", names[0] + ":2,S"))
        assert cmd(s, f, "RETR 1").startswith("+OK")
        assert b"".join(multiline(f)) == crlf(message(0)).replace(
            b"\r\n.", b"\r\n..")
        assert cmd(s, f, "RSET") == "+OK"
        assert cmd(s, f, "STAT").startswith("+OK 3 ")
        assert cmd(s, f, "QUIT").startswith("+OK")
        s.close()
        c = login(t)
        _, uidls, _ = c.uidl()
        assert [l.split()[1].decode() for l in uidls] == [
            names[0], names[1], late]
        c.quit()


def test_pop3_client_sends_without_reading():
    with pop3_tern() as t:
        big = message(1, b"y" * 70 + b"\n") * 2000      # ~200 KB
        for i in range(5):
            t.box.add(big)
        s, f = raw(t)
        cmd(s, f, "USER " + t.user.name)
        assert cmd(s, f, "PASS " + PASSWORD).startswith("+OK")
        # 200 RETRs (40 MB of answers) sent before reading one byte
        s.sendall(b"".join(b"RETR %d\r\n" % (i % 5 + 1)
                           for i in range(200)) + b"QUIT\r\n")
        for i in range(200):
            assert f.readline().startswith(b"+OK"), i
            assert b"".join(multiline(f)) == crlf(big).replace(
                b"\n.", b"\n..")
        assert f.readline().startswith(b"+OK Logging out")
        s.close()


def test_pop3_ten_thousand_messages():
    with pop3_tern() as t:
        body = message(0, b"z" * 3900)
        cur = os.path.join(t.box.path, "cur")
        for i in range(10000):
            p = os.path.join(cur, "%d.M%dP1Q%d.tern.test:2," % (
                1600000000 + i, i, i))
            with open(p, "wb") as f:
                f.write(body)
            t.box.own(p)
        start = time.monotonic()
        c = login(t)
        logged_in = time.monotonic()
        _, listing, _ = c.list()
        _, uidls, _ = c.uidl()
        listed = time.monotonic()
        assert len(listing) == 10000 and len(uidls) == 10000
        assert uidls[-1].split()[1] == b"1600009999.M9999P1Q9999.tern.test"
        # the bound is a second; the sanitizer build is slower: be generous
        assert listed - logged_in < 3, listed - logged_in
        assert logged_in - start < 10, logged_in - start
        c.quit()


def test_pop3_idle_timeout_and_limit():
    with pop3_tern(pop3_timeout="2s", max_connections_per_ip="2") as t:
        c = login(t)
        d = poplib.POP3("127.0.0.1", t.p3, timeout=10)
        s = socket.create_connection(("127.0.0.1", t.p3), 10)
        assert s.makefile("rb").readline().startswith(
            b"-ERR [SYS/TEMP]")
        s.close()
        d.quit()
        start = time.monotonic()
        assert c.file.readline() == b""     # closed by the server
        assert 1.5 < time.monotonic() - start < 8
        assert wait_log(t, "Disconnected for inactivity")


def curl(args):
    return subprocess.run(["curl", "-sS", "--max-time", "20"] + args,
                          capture_output=True, timeout=30)


def test_pop3_curl():
    harness.need_tool("curl")
    with pop3_tern() as t:
        bodies = [message(i) for i in range(2)]
        for b in bodies:
            t.box.add(b)
        url = "pop3://%s:%s@127.0.0.1:%d/" % (
            t.user.name, PASSWORD.replace(" ", "%20"), t.p3)
        r = curl([url])
        assert r.returncode == 0, r.stderr
        assert r.stdout.split(b"\r\n")[:2] == [
            b"1 %d" % len(crlf(bodies[0])), b"2 %d" % len(crlf(bodies[1]))]
        r = curl([url + "1"])
        assert r.returncode == 0 and r.stdout == crlf(bodies[0]), r
        r = curl(["-X", "DELE", "-I", url + "1"])
        assert r.returncode == 0, r.stderr
        assert len(t.box.files()) == 1
        if t.p3s:
            r = curl(["--cacert", os.path.join(CERTS, "ca.pem"), "-k",
                      "pop3s://%s:%s@127.0.0.1:%d/1" % (
                          t.user.name, PASSWORD.replace(" ", "%20"),
                          t.p3s)])
            assert r.returncode == 0 and r.stdout == crlf(bodies[1]), r


def test_pop3_mbox_user_refused():
    with pop3_tern(mailbox_path="%h/mbox") as t:
        assert login_refused(t, "an mbox served").startswith(
            b"-ERR [SYS/PERM]")
        assert wait_log(t, "POP3 serves Maildir mailboxes only")


def test_pop3_virtual_accounts():
    """Accounts of virtual_domains: the Maildir of mailbox=, else of
    virtual_mailbox_path with %d and %u lower-cased, served as
    virtual_user (under root: check /proc)."""
    d = harness.tempdir()
    owner = ThrowawayUser(d)
    try:
        vdir = os.path.join(d, "vhosts")
        os.makedirs(os.path.join(vdir, "example.org"))
        bob = Box(type("U", (), dict(home=os.path.join(d, "bob"),
                                     uid=owner.uid, gid=owner.gid))())
        for p in (vdir, os.path.join(vdir, "example.org"),
                  os.path.join(d, "bob")):
            if IS_ROOT:
                os.chown(p, owner.uid, owner.gid)
        bob.add(message(1))
        pw = os.path.join(d, "passwd")
        with open(pw, "w") as f:
            f.write("bob@example.org:%s:mailbox=%s/\n" % (
                harness.sha512_hash(PASSWORD), bob.path))
            f.write("Carol@Example.ORG:%s\n" % harness.sha512_hash(PASSWORD))
        p3 = harness.free_port()
        with Tern(pop3_listen="127.0.0.1:%d" % p3, auth_users=pw,
                  pop3_loopback_plaintext="yes",
                  virtual_domains="example.org",
                  virtual_user=owner.name if IS_ROOT else "vmail",
                  virtual_mailbox_path=vdir + "/%d/%u/") as t:
            before = session_pids(t, None)
            c = poplib.POP3("127.0.0.1", p3, timeout=15)
            c.user("bob@example.org")
            c.pass_(PASSWORD)
            assert retr_bytes(c, 1) == crlf(message(1))
            if IS_ROOT:
                assert owner.uid in uids_of(session_pids(t, before))
            c.quit()
            c = poplib.POP3("127.0.0.1", p3, timeout=15)
            c.user("Carol@Example.ORG")
            c.pass_(PASSWORD)
            assert c.stat() == (0, 0)
            c.quit()
            assert os.path.isdir(os.path.join(vdir, "example.org", "carol",
                                              "cur"))
    finally:
        owner.remove()
        shutil.rmtree(d, ignore_errors=True)


def test_pop3_config_checks():
    """ternd -n: pop3s_listen needs a certificate, and a POP3 listener
    needs auth_users."""
    t = Tern(start=False, pop3s_listen="127.0.0.1:%d" % harness.free_port())
    try:
        r = subprocess.run([os.path.join(harness.BIN, "ternd"), "-n", "-c",
                            t.conf_path], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0
        assert "pop3s_listen needs smtpd_tls_cert_file" in r.stderr, r.stderr
        t.write_conf(pop3s_listen="", pop3_listen="127.0.0.1:%d" %
                     harness.free_port(), auth_users=os.path.join(
                         t.dir, "missing"))
        r = subprocess.run([os.path.join(harness.BIN, "ternd"), "-n", "-c",
                            t.conf_path], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0 and "auth_users" in r.stderr, r.stderr
    finally:
        shutil.rmtree(t.dir, ignore_errors=True)


def test_pop3_login_across_reload():
    """A connection from before a reload logs in through the checker it
    began with; a new one through the new checker."""
    with pop3_tern() as t:
        t.box.add(message(1))
        early = poplib.POP3("127.0.0.1", t.p3, timeout=15)
        os.kill(t.proc.pid, signal.SIGHUP)
        assert wait_log(t, "configuration reloaded")
        early.user(t.user.name)
        early.pass_(PASSWORD)
        assert early.stat()[0] == 1
        early.quit()
        c = login(t)
        assert c.stat()[0] == 1
        c.quit()
