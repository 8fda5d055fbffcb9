# SPDX-License-Identifier: ISC
"""test_mailq.py - mailq and ternq on a spool written by hand (no daemon),
and mailq for a user who cannot read the spool (through a real daemon).

Spool files are written here in their documented text formats
(include/envelope.h), so these tests also pin the formats down.

Benchmark generator (not a test):
    python3 tests/integration/test_mailq.py gen DIR 100000
    printf 'spool_dir = DIR\\n' > /tmp/b.conf
    time bin/mailq -C /tmp/b.conf > /dev/null
"""
import json
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))
import harness  # noqa: E402
BIN = harness.BIN

ALPHABET = "0123456789ABCDFGHJKLMNPQRSTVWXYZ"


def queueid_hash(qid):
    h = 2166136261
    for c in qid.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return "%02x" % (h & 0xff)


def make_id(sec, n):
    out = ""
    for v, w in ((sec, 7), (n // 1000000, 4), (n % 1000000, 4)):
        digits = ""
        for _ in range(w):
            digits = ALPHABET[v & 31] + digits
            v >>= 5
        out += digits
    return out


def xtext(s):
    out = ""
    for b in s.encode():
        if b < 33 or b > 126 or b in (ord("+"), ord("=")):
            out += "+%02X" % b
        else:
            out += chr(b)
    return out


def setup_spool(root):
    for kind in ("queue", "state"):
        for i in range(256):
            os.makedirs(os.path.join(root, kind, "%02x" % i), exist_ok=True)
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)


def write_msg(root, qid, arrival, sender, rcpts, body="Subject: t\r\n\r\nhi\r\n",
              state=None, held=False):
    """state: None (no file) or a list of (state, attempts, next, dsn, reply)."""
    env = ["version: 1", "id: " + qid, "arrival: %d" % arrival,
           "client: localhost [127.0.0.1]", "helo: localhost",
           "protocol: ESMTP", "sender: " + xtext(sender), "body: 8bitmime",
           "smtputf8: no"]
    env += ["rcpt: " + xtext(r) for r in rcpts]
    data = ("\n".join(env) + "\n\n").encode() + body.encode()
    path = os.path.join(root, "queue", queueid_hash(qid), qid)
    with open(path, "wb") as f:
        f.write(data)
    if state is not None or held:
        state = state or [("pending", 0, 0, "-", "")] * len(rcpts)
        lines = ["version: 1", "id: " + qid, "held: " + ("yes" if held else "no"),
                 "warned: no"]
        for i, (st, att, nxt, dsn, reply) in enumerate(state):
            lines.append("rcpt: %d %s %d %d %d %s %s" % (
                i, st, att, nxt, nxt - 1800 if nxt else 0, dsn,
                xtext(reply) if reply else "-"))
        with open(os.path.join(root, "state", queueid_hash(qid), qid), "w") as f:
            f.write("\n".join(lines) + "\n")
    return len(body.encode())


def conf(root):
    path = os.path.join(root, "tern.conf")
    with open(path, "w") as f:
        f.write("spool_dir = %s/spool\nhostname = test.example\n" % root)
    return path


def run(prog, *args):
    p = subprocess.run([os.path.join(BIN, prog)] + list(args),
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fixture(d):
    spool = os.path.join(d, "spool")
    setup_spool(spool)
    now = int(time.time())
    a = make_id(now - 7200, 1)
    b = make_id(now - 60, 2)
    c = make_id(now - 30, 3)
    write_msg(spool, b, now - 60, "alice@example.org",
              ["bob@example.com", "carol@example.net"],
              state=[("deferred", 2, now + 600, "4.4.1",
                      "connect to mx.example.com[192.0.2.1]:25: Connection refused"),
                     ("delivered", 1, 0, "2.0.0", "250 ok")])
    write_msg(spool, a, now - 7200, "", ["postmaster@example.com"], held=True)
    with open(os.path.join(spool, "queue", queueid_hash(c), c), "w") as f:
        f.write("version: 1\ngarbage\n\n")
    return spool, a, b, c


def test_mailq_empty():
    with tempfile.TemporaryDirectory() as d:
        setup_spool(os.path.join(d, "spool"))
        rc, out, err = run("mailq", "-C", conf(d))
        assert rc == 0, (rc, err)
        assert out == "Mail queue is empty\n", out


def test_mailq_listing():
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        rc, out, err = run("mailq", "-C", conf(d))
        assert rc == 0, (rc, err)
        lines = out.splitlines()
        assert lines[0].startswith("-Queue ID-"), out
        assert lines[1].startswith(a + "!"), out
        assert "MAILER-DAEMON" in lines[1], out
        assert lines[2].strip() == "postmaster@example.com", out
        assert lines[4].startswith(b + " "), out
        assert lines[4].endswith(" alice@example.org"), out
        assert lines[5].strip() == "(connect to mx.example.com[192.0.2.1]:25: Connection refused)", out
        assert lines[6].strip() == "bob@example.com", out
        assert "carol" not in out, out
        assert lines[8].startswith(c) and "(unreadable" in lines[8], out
        assert lines[-1] == "-- 1 Kbytes in 3 Requests.", out
        assert out.index(a) < out.index(b) < out.index(c)


def test_mailq_as_root_reads_as_the_spool_owner():
    """Run by root, mailq and ternq read a spool owned by a user as that
    user (tern(8): no root code parses the spool): a queue file that
    only root may read is unreadable to them, the others are listed."""
    harness.need_root("a spool owned by a throwaway user")
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        spool, a, b, c = fixture(d)
        user = harness.ThrowawayUser(d)
        try:
            for top, dirs, files in os.walk(spool):
                for name in dirs + files:
                    os.chown(os.path.join(top, name), user.uid, user.gid)
            os.chown(spool, user.uid, user.gid)
            path = os.path.join(spool, "queue", queueid_hash(b), b)
            os.chown(path, 0, 0)
            os.chmod(path, 0o600)
            rc, out, err = run("mailq", "-C", conf(d))
            assert rc == 0, (rc, err)
            line = [l for l in out.splitlines() if l.startswith(b)]
            assert line and "(unreadable" in line[0] and \
                "Permission denied" in line[0], out
            assert "alice@example.org" not in out, out
            assert out.startswith("-Queue ID-") and a + "!" in out, out
            rc, out, err = run("ternq", "-C", conf(d), "show", b)
            assert rc != 0 and "Permission denied" in err, (rc, out, err)
            rc, out, err = run("ternq", "-C", conf(d), "show", a)
            assert rc == 0 and "postmaster@example.com" in out, (rc, err)
        finally:
            user.remove()


def test_mailq_json():
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        nasty = make_id(int(time.time()), 4)
        write_msg(spool, nasty, int(time.time()), 'q"u\\o\tte\x01\u00e9@x.org',
                  ["r@y.org"])
        rc, out, err = run("mailq", "-C", conf(d), "-j")
        assert rc == 0, (rc, err)
        objs = [json.loads(line) for line in out.splitlines()]
        assert [o["queue_id"] for o in objs] == [a, b, c, nasty]
        assert objs[0]["held"] is True and objs[0]["sender"] == ""
        r = objs[1]["recipients"]
        assert len(r) == 1 and r[0]["address"] == "bob@example.com"
        assert r[0]["state"] == "deferred" and r[0]["attempts"] == 2
        assert r[0]["dsn"] == "4.4.1" and r[0]["delay_reason"].startswith("connect")
        assert objs[0]["recipients"][0]["next_attempt"] is None
        assert objs[2]["unreadable"] is True
        assert objs[3]["sender"] == 'q"u\\o\tte\x01\u00e9@x.org'


def test_mailq_shape():
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        rc, out, err = run("mailq", "-C", conf(d), "-s")
        assert rc == 0, (rc, err)
        rows = {l.split()[0]: l.split()[1:] for l in out.splitlines()[1:]}
        assert rows["TOTAL"][0] == "2", out
        assert rows["example.com"][0] == "2", out
        assert rows["example.com"][1] == "1" and rows["example.com"][6] == "1", out


def deferring_tern(**conf):
    """A daemon that relays to a closed port: remote mail stays queued."""
    return harness.Tern(relay_networks="127.0.0.0/8", retry_interval="1h",
                        relayhost="[127.0.0.1]:%d" % harness.free_port(),
                        **conf)


def submit_deferred(t, n):
    """Queue n messages for a remote recipient on t (whose relayhost is a
    closed port) and wait until each has been attempted once."""
    import smtplib
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", t.port, timeout=10) as s:
            s.sendmail("a%d@example.org" % i, ["r%d@example.com" % i],
                       b"Subject: %d\r\n\r\nbody\r\n" % i)
    assert harness.wait_for(lambda: len(harness.state_files(t)) == n, 10), \
        t.log()


class Outsider:
    """Runs mailq as a local user who cannot read t's spool.  As root: a
    throwaway user (the daemon runs as nobody).  Otherwise the daemon runs
    as ourselves, so we are that user with a configuration whose
    spool_dir we cannot enter; it names the daemon's submit socket."""

    def __init__(self, t):
        self.t, self.user = t, None
        if harness.IS_ROOT:
            self.user = harness.ThrowawayUser(t.dir)
            self.name = self.user.name
            self.bin = t.dir
            for prog in ("mailq", "ternq"):
                harness.bin_for_others(prog, t.dir)
            self.conf = t.conf_path
            os.chmod(self.conf, 0o644)
        else:
            self.name = harness.daemon_user()
            self.bin = BIN
            locked = os.path.join(t.dir, "locked")
            os.mkdir(locked, 0)
            self.conf = os.path.join(t.dir, "outsider.conf")
            with open(t.conf_path) as f, open(self.conf, "w") as g:
                g.write(f.read() + "spool_dir = %s\n" % locked)

    def run(self, *args, prog="mailq"):
        kw = dict(user=self.user.uid, group=self.user.gid,
                  extra_groups=[]) if self.user else {}
        p = subprocess.run([os.path.join(self.bin, prog), "-C", self.conf] +
                           list(args), capture_output=True, timeout=60, **kw)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def close(self):
        if self.user:
            self.user.remove()


def test_mailq_permission():
    """A user who cannot read the spool gets from the daemon the very
    listing its owner sees, in each format; with the daemon down mailq
    (and ternq) exit 77 and name the configured user."""
    with deferring_tern() as t:
        submit_deferred(t, 2)
        out = Outsider(t)
        try:
            for args, want in (([], "-- 1 Kbytes in 2 Requests.\n"),
                               (["-j"], '"address":"r1@example.com"'),
                               (["-s"], "\nexample.com 2 ")):
                rc, own, err = run("mailq", "-C", t.conf_path, *args)
                assert rc == 0 and want in own, (args, rc, own, err)
                rc, got, err = out.run(*args)
                assert (rc, got, err) == (0, own, ""), (args, rc, got, err)
            r = t.raw()              # over TCP the command does not exist
            assert r.cmd("XMAILQ JSON")[0] == 500
            r.close()
            t.stop()
            rc, got, err = out.run()
            assert rc == 77 and got == "", (rc, got, err)
            assert "cannot read the queue at" in err and \
                "Permission denied" in err, err
            assert "is ternd running?" in err, err
            assert err.rstrip().endswith(
                "run as root or as the user %s" % t.conf["user"]), err
            qid = os.path.basename(t.queue_files()[0])
            rc, got, err = out.run("show", qid, prog="ternq")
            assert rc == 77 and err.rstrip().endswith(
                "Permission denied (run as root or as the user %s)" %
                t.conf["user"]), (rc, err)
        finally:
            out.close()


def test_mailq_users():
    """mailq_users: a user it does not name is refused with a clear
    message (exit 77); one it names, and root, may list."""
    harness.need_root("a second local user for the daemon to refuse")
    with deferring_tern(mailq_users="root") as t:
        submit_deferred(t, 1)
        out = Outsider(t)
        try:
            rc, got, err = out.run("-j")
            assert rc == 77 and got == "", (rc, got, err)
            assert err == "mailq: the daemon does not list the queue: 550 " \
                "5.7.1 Queue listing not allowed for user %s (mailq_users)" \
                "\n" % out.name, err
            assert "reject: XMAILQ from uid=%d (%s)" % (out.user.uid,
                                                        out.name) in t.log()
            t.write_conf(mailq_users="postmaster, " + out.name)
            os.kill(t.proc.pid, 1)
            assert harness.wait_for(
                lambda: "configuration reloaded" in t.log(), 5), t.log()
            rc, got, err = out.run("-j")
            assert rc == 0 and json.loads(got)["recipients"][0][
                "address"] == "r0@example.com", (rc, got, err)
        finally:
            out.close()


def test_mailq_bad_config():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bad.conf")
        with open(path, "w") as f:
            f.write("no_such_key = 1\n")
        rc, out, err = run("mailq", "-C", path)
        assert rc == 78 and "bad.conf:1:" in err, (rc, err)


def test_ternq_direct():
    """Without a queue runner (no reader on the FIFO) ternq acts itself."""
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        os.mkfifo(os.path.join(spool, "trigger"), 0o600)
        cf = conf(d)
        rc, out, err = run("ternq", "-C", cf, "hold", b)
        assert rc == 0 and "held" in out, (rc, out, err)
        rc, out, err = run("mailq", "-C", cf)
        assert b + "!" in out, out
        rc, out, err = run("ternq", "-C", cf, "release", a)
        assert rc == 0, (rc, out, err)
        rc, out, err = run("mailq", "-C", cf, "-j")
        held = {json.loads(l)["queue_id"]: json.loads(l).get("held") for l in out.splitlines()}
        assert held[a] is False and held[b] is True, held
        rc, out, err = run("ternq", "-C", cf, "show", b)
        assert rc == 0 and "alice@example.org" in out and "Subject: t" in out, (rc, out, err)
        rc, out, err = run("ternq", "-C", cf, "delete", a)
        assert rc == 0 and "deleted" in out, (rc, out, err)
        assert not os.path.exists(os.path.join(spool, "queue", queueid_hash(a), a))
        rc, out, err = run("ternq", "-C", cf, "flush")
        assert rc == 75 and "not running" in err, (rc, err)
        rc, out, err = run("ternq", "-C", cf, "delete", "NOSUCHID")
        assert rc == 64, (rc, err)
        rc, out, err = run("ternq", "-C", cf, "delete", make_id(1, 1))
        assert rc != 0 and "no such message" in err, (rc, err)


def test_ternq_direct_takes_the_runners_lock():
    """Without a reader on the FIFO, ternq changes the spool only holding
    the queue runner's lock (spool/lock): while another process holds it
    (a runner starting up), ternq waits for it."""
    import fcntl
    import threading
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        os.mkfifo(os.path.join(spool, "trigger"), 0o600)
        fd = os.open(os.path.join(spool, "lock"), os.O_RDWR | os.O_CREAT,
                     0o600)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        timer = threading.Timer(1.0, lambda: os.close(fd))
        timer.start()
        try:
            start = time.time()
            rc, out, err = run("ternq", "-C", conf(d), "hold", b)
        finally:
            timer.join()
        assert rc == 0 and "held" in out, (rc, out, err)
        assert time.time() - start >= 0.9, time.time() - start
        rc, out, err = run("mailq", "-C", conf(d))
        assert b + "!" in out, out


def test_ternq_show_decodes():
    """ternq show prints addresses and replies decoded from xtext, with
    control bytes escaped, never raw."""
    with tempfile.TemporaryDirectory() as d:
        spool = os.path.join(d, "spool")
        setup_spool(spool)
        now = int(time.time())
        qid = make_id(now, 9)
        write_msg(spool, qid, now, "al+ice@example.org",
                  ["b\u00e9b+x@example.com", "c@example.net"],
                  state=[("deferred", 2, now + 600, "4.4.1",
                          "connect to mx[192.0.2.1]:25: Connection refused"
                          " \x1b[2J \\ end"),
                         ("delivered", 1, 0, "2.0.0", "250 2.0.0 Ok")])
        rc, out, err = run("ternq", "-C", conf(d), "show", qid)
        assert rc == 0, (rc, err)
        state = out.split("*** STATE ***\n")[1].split("*** MESSAGE")[0]
        assert state.splitlines() == [
            "held: no", "warned: no",
            "rcpt: b\u00e9b+x@example.com",
            "    state: deferred, 2 attempts",
            "    last attempt: %s (%d)" % (time.strftime(
                "%a %b %e %H:%M:%S %Y", time.localtime(now - 1200)), now - 1200),
            "    next attempt: %s (%d)" % (time.strftime(
                "%a %b %e %H:%M:%S %Y", time.localtime(now + 600)), now + 600),
            "    dsn: 4.4.1",
            "    reply: connect to mx[192.0.2.1]:25: Connection refused "
            "\\x1b[2J \\\\ end",
            "rcpt: c@example.net",
            "    state: delivered, 1 attempt",
            "    dsn: 2.0.0",
            "    reply: 250 2.0.0 Ok"], state
        assert "sender: al+ice@example.org\n" in out, out
        assert "\x1b" not in out and "+20" not in out and "+2B" not in out, out


def test_ternq_show_corrupt():
    """ternq show of a queue file that does not parse says why and still
    shows its bytes; one that names another id shows its envelope."""
    with tempfile.TemporaryDirectory() as d:
        spool = os.path.join(d, "spool")
        setup_spool(spool)
        now = int(time.time())
        bad, other, foreign = make_id(now, 11), make_id(now, 12), make_id(now, 13)
        with open(os.path.join(spool, "queue", queueid_hash(bad), bad),
                  "w") as f:
            f.write("version: 1\ngarbage\nSubject: kept\n\nbody\n")
        write_msg(spool, foreign, now, "a@example.org", ["b@example.com"],
                  body="Subject: foreign\r\n\r\nhi\r\n")
        os.rename(os.path.join(spool, "queue", queueid_hash(foreign), foreign),
                  os.path.join(spool, "queue", queueid_hash(other), other))
        rc, out, err = run("ternq", "-C", conf(d), "show", bad)
        assert rc == 0, (rc, err)
        env, rest = out.split("*** STATE ***\n")
        assert env.splitlines()[1].startswith("unreadable: line 2: "), env
        body = rest.split("*** MESSAGE CONTENTS %s ***\n" % bad)[1]
        assert body == "Subject: kept\n\nbody\n" \
            "*** END OF MESSAGE %s ***\n" % bad, body
        rc, out, err = run("ternq", "-C", conf(d), "show", other)
        assert rc == 0, (rc, err)
        assert "id: %s\n" % foreign in out and "rcpt: b@example.com\n" \
            in out and "Subject: foreign\n" in out, out


def test_ternq_runner():
    """With a reader on the FIFO, ternq sends one command line."""
    with tempfile.TemporaryDirectory() as d:
        spool, a, b, c = fixture(d)
        fifo = os.path.join(spool, "trigger")
        os.mkfifo(fifo, 0o600)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            rc, out, err = run("ternq", "-C", conf(d), "delete", b)
            assert rc == 0 and out == b + ": delete requested\n", (rc, out, err)
            rc, out, err = run("ternq", "-C", conf(d), "flush", "@example.com")
            assert rc == 0, (rc, out, err)
            data = os.read(fd, 4096).decode()
        finally:
            os.close(fd)
        assert data == "delete %s\nflush @example.com\n" % b, data
        assert os.path.exists(os.path.join(spool, "queue", queueid_hash(b), b))


class FakeTern:
    """A one-connection SMTP server on a Unix socket, standing in for ternd.

    reject maps an address to the RCPT reply to give it.  After the
    session, .lines holds the client's command lines and .data the bytes
    between DATA and the final dot (still dot-stuffed)."""

    def __init__(self, d, reject=None):
        import socket
        import threading
        self.path = os.path.join(d, "submit.sock")
        self.reject = reject or {}
        self.lines, self.data = [], b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(20)
        f = conn.makefile("rwb")
        f.write(b"220 test ESMTP\r\n")
        f.flush()
        for _ in range(1000):
            line = f.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            self.lines.append(line)
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                f.write(b"250-test\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n")
            elif verb == "RCPT":
                addr = line[line.index("<") + 1:line.index(">")]
                f.write(self.reject.get(addr, "250 2.1.5 Ok").encode() + b"\r\n")
            elif verb == "DATA":
                f.write(b"354 go\r\n")
                f.flush()
                while True:
                    chunk = f.readline()
                    if chunk in (b".\r\n", b""):
                        break
                    self.data += chunk
                f.write(b"250 2.0.0 Ok: queued as X\r\n")
            elif verb == "QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                break
            else:
                f.write(b"250 Ok\r\n")
            f.flush()
        conn.close()

    def close(self):
        self.sock.close()
        self.thread.join(5)


def sendmail(d, args, data, reject=None, server=True):
    cf = os.path.join(d, "tern.conf")
    with open(cf, "w") as f:
        f.write("submit_socket = %s/submit.sock\nhostname = host.example\n"
                "spool_dir = %s/spool\n" % (d, d))
    srv = FakeTern(d, reject) if server else None
    try:
        p = subprocess.run([os.path.join(BIN, "sendmail"), "-C", cf] + args,
                           input=data, capture_output=True, timeout=30)
    finally:
        if srv:
            srv.close()
    return p.returncode, p.stderr.decode(), srv


def test_sendmail_basic():
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["-f", "a@x.org", "b@y.org"],
                                b"Subject: hi\n\nline\n.dot\n..two\nlast")
        assert rc == 0, (rc, err)
        assert srv.lines[0] == "EHLO host.example", srv.lines
        assert srv.lines[1] == "MAIL FROM:<a@x.org>", srv.lines
        assert srv.lines[2] == "RCPT TO:<b@y.org>", srv.lines
        assert srv.data == b"Subject: hi\r\n\r\nline\r\n..dot\r\n...two\r\nlast\r\n", srv.data


def test_sendmail_dot_and_i():
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["b@y.org"], b"S: 1\n\nA\n.\nB\n")
        assert rc == 0 and srv.data == b"S: 1\r\n\r\nA\r\n", srv.data
        assert srv.lines[1].startswith("MAIL FROM:<") and srv.lines[1].endswith("@host.example>")
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["-oi", "b@y.org"], b"S: 1\n\nA\n.\nB\n")
        assert rc == 0 and srv.data == b"S: 1\r\n\r\nA\r\n..\r\nB\r\n", srv.data


def test_sendmail_t():
    msg = (b"From: me@x.org\nTo: \"Doe, J\" <j@y.org>,\n\tk@y.org (Kay)\n"
           b"Cc: team: l@z.org, m@z.org;\nBcc: hidden@w.org\n"
           b"Subject: t\n\nbody\n")
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["-t", "-i", "extra@v.org"], msg)
        assert rc == 0, (rc, err)
        rcpts = [l[9:-1] for l in srv.lines if l.startswith("RCPT TO:<")]
        assert rcpts == ["extra@v.org", "j@y.org", "k@y.org", "l@z.org",
                         "m@z.org", "hidden@w.org"], rcpts
        assert b"hidden" not in srv.data and b"Bcc" not in srv.data, srv.data
        assert srv.data.startswith(b"From: me@x.org\r\nTo: \"Doe, J\" <j@y.org>,\r\n\tk@y.org"), srv.data


def test_sendmail_fullname_8bit():
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["-F", "Joe Q. User", "-f", "joe", "b@y.org"],
                                "Subject: caf\u00e9\n\n\u00e9\n".encode())
        assert rc == 0, (rc, err)
        assert srv.lines[1] == "MAIL FROM:<joe@host.example> BODY=8BITMIME", srv.lines
        assert b'From: "Joe Q. User" <joe@host.example>\r\n' in srv.data, srv.data


def test_sendmail_errors():
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, [], b"x\n", server=False)
        assert rc == 64 and "no recipients" in err, (rc, err)
        rc, err, srv = sendmail(d, ["b@y.org"], b"x\n", server=False)
        assert rc == 75 and "cannot connect to tern at" in err and "is ternd running" in err, (rc, err)
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["b@y.org", "c@y.org"], b"x\n",
                                reject={"c@y.org": "550 5.1.1 no such user"})
        assert rc == 67 and "550 5.1.1 no such user" in err, (rc, err)
        assert srv.data == b"\r\nx\r\n" or srv.data == b"x\r\n", srv.data
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["b@y.org", "c@y.org"], b"x\n",
                                reject={"c@y.org": "451 4.3.0 try later"})
        assert rc == 75 and "451" in err and srv.data == b"", (rc, err)
    with tempfile.TemporaryDirectory() as d:
        rc, err, srv = sendmail(d, ["b@y.org"], b"a\x00b\n", server=False)
        assert rc == 65, (rc, err)


def test_newaliases():
    with tempfile.TemporaryDirectory() as d:
        al, cf = os.path.join(d, "aliases"), os.path.join(d, "tern.conf")
        with open(cf, "w") as f:
            f.write("aliases = %s\n" % al)
        rc, out, err = run("newaliases", "-C", cf)
        assert rc == 66 and "No such file" in err, (rc, err)
        with open(al, "w") as f:
            f.write("# comment\npostmaster: root\nlist: a,\n  b\n")
        rc, out, err = run("newaliases", "-C", cf)
        assert rc == 0 and out == "newaliases: %s: 2 aliases, ok\n" % al, (rc, out, err)
        with open(al, "a") as f:
            f.write("broken line\n")
        rc, out, err = run("newaliases", "-C", cf)
        assert rc == 65 and err.startswith(al + ":5: "), (rc, err)


def generate(root, n):
    spool = os.path.join(root, "spool") if not root.endswith("spool") else root
    setup_spool(spool)
    now = int(time.time())
    for i in range(n):
        qid = make_id(now - (n - i), i)
        st = None
        if i % 3 == 0:
            st = [("deferred", 1, now + 1800, "4.4.1", "connect: Connection refused")]
        write_msg(spool, qid, now - (n - i), "sender%d@example.org" % i,
                  ["rcpt%d@dom%d.example" % (i, i % 50)], state=st,
                  body="Subject: x\r\n\r\n" + "x" * 2000 + "\r\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        generate(sys.argv[2], int(sys.argv[3]))
