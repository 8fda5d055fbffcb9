# SPDX-License-Identifier: ISC
"""test_ternpasswd.py - ternpasswd(8) edits auth_users atomically.

- a user added with the password on standard input gets a yescrypt (or
  SHA-512) hash that crypt(3) verifies; a change replaces it; -D deletes;
  every other line, comment and blank line stays byte for byte; the
  file's mode is kept, and a new file is 0600;
- the file comes from auth_users in the configuration unless -f names it;
- bad user names, an empty password, an unknown user for -D and a file
  with a bad line are refused with sysexits codes and the file untouched;
- on a terminal the password is asked twice without echo.
Plain functions raising AssertionError; run by tests/run.py.
"""
import os
import pty
import select
import shutil
import signal
import stat
import subprocess
import time

import harness

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 64, 65, 67, 75


crypt = harness.crypt


def ternpasswd(*args, stdin=""):
    return subprocess.run([os.path.join(harness.BIN, "ternpasswd")] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=30)


def users(path):
    """{user: hash} of the entry lines of path."""
    out = {}
    for line in open(path).read().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            user, _, h = line.partition(":")
            out[user] = h
    return out


def verifies(h, password):
    return crypt(password, h) == h


def test_add_change_delete_keeps_other_lines():
    d = harness.tempdir()
    try:
        path = os.path.join(d, "passwd")
        before = ("# tern users\n"
                  "bob:$6$saltsalt$" + "b" * 86 + "\n"
                  "\n"
                  "   # indented comment, kept as it is\n"
                  "carol:!$6$locked$x\n")
        with open(path, "w") as f:
            f.write(before)
        os.chmod(path, 0o640)
        p = ternpasswd("-f", path, "alice", stdin="s3cret pass\n")
        assert p.returncode == 0, p.stderr
        assert "user alice added" in p.stdout, p.stdout
        text = open(path).read()
        assert text.startswith(before), text
        h = users(path)["alice"]
        assert h.startswith(("$y$", "$6$")), h
        assert verifies(h, "s3cret pass")
        assert not verifies(h, "s3cret pas")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640

        if harness.IS_ROOT:         # root keeps another owner's file his
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        # Change: the line is replaced where it is, the rest untouched.
        p = ternpasswd("-f", path, "bob", stdin="new bob\n")
        assert p.returncode == 0 and "user bob changed" in p.stdout, p.stderr
        if harness.IS_ROOT:
            assert (os.stat(path).st_uid, os.stat(path).st_gid) == (
                nobody.pw_uid, nobody.pw_gid)
        newbob = users(path)["bob"]
        assert verifies(newbob, "new bob")
        old_bob = before.split("\n")[1]
        assert open(path).read() == before.replace(
            old_bob, "bob:" + newbob) + "alice:" + h + "\n"

        # Delete.
        p = ternpasswd("-f", path, "-D", "alice")
        assert p.returncode == 0 and "user alice deleted" in p.stdout
        assert "alice" not in users(path)
        text = open(path).read()
        assert text.split("\n")[2:] == before.split("\n")[2:], text
        p = ternpasswd("-f", path, "-D", "alice")
        assert p.returncode == EX_NOUSER, p
        assert "no user alice" in p.stderr
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        leftovers = [n for n in os.listdir(d) if n not in
                     ("passwd", "passwd.lock")]
        assert not leftovers, leftovers
    finally:
        shutil.rmtree(d)


def test_new_file_and_config():
    d = harness.tempdir()
    try:
        path = os.path.join(d, "users")
        conf = os.path.join(d, "tern.conf")
        with open(conf, "w") as f:
            f.write("auth_users = %s\n" % path)
        p = ternpasswd("-c", conf, "alice@example.org", stdin="pw1")
        assert p.returncode == 0, p.stderr       # no newline at the end
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert os.stat(path).st_uid == os.geteuid()
        assert verifies(users(path)["alice@example.org"], "pw1")
        assert open(path).read().endswith("\n")
        # A last line without a newline gets one before the new line.
        with open(path, "a") as f:
            f.write("# no newline")
        p = ternpasswd("-c", conf, "bob", stdin="pw2\r\n")
        assert p.returncode == 0, p.stderr
        text = open(path).read()
        assert "# no newline\nbob:$" in text, text
        assert verifies(users(path)["bob"], "pw2")     # CR LF stripped
    finally:
        shutil.rmtree(d)


def test_refusals_leave_the_file_alone():
    d = harness.tempdir()
    try:
        path = os.path.join(d, "passwd")
        before = "bob:$6$x$y\n"
        with open(path, "w") as f:
            f.write(before)
        for name in ("a:b", "", "al ice", "al\x01ice", "x" * 256):
            p = ternpasswd("-f", path, name, stdin="pw\n")
            assert p.returncode == EX_DATAERR, (name, p)
            assert "bad user name" in p.stderr, p.stderr
        p = ternpasswd("-f", path, "alice", stdin="\n")
        assert p.returncode == EX_DATAERR and "empty password" in p.stderr
        p = ternpasswd("-f", path, "alice", stdin="")
        assert p.returncode == EX_DATAERR and "empty password" in p.stderr
        p = ternpasswd("-f", path, "alice", stdin="x" * 1025 + "\n")
        assert p.returncode == EX_DATAERR and "longer" in p.stderr
        p = ternpasswd("-f", path)
        assert p.returncode == EX_USAGE and "usage:" in p.stderr
        assert open(path).read() == before
        # A bad line: nothing written, the line named, its text not shown.
        with open(path, "w") as f:
            f.write("bob:$6$x$y\nbroken secret-ish line\n")
        p = ternpasswd("-f", path, "alice", stdin="pw\n")
        assert p.returncode == EX_DATAERR, p
        assert "passwd:2: expected user:hash" in p.stderr, p.stderr
        assert "secret-ish" not in p.stderr
        assert open(path).read() == "bob:$6$x$y\nbroken secret-ish line\n"
    finally:
        shutil.rmtree(d)


def test_lock_held_is_a_temporary_failure():
    d = harness.tempdir()
    try:
        path = os.path.join(d, "passwd")
        import fcntl
        with open(path + ".lock", "w") as lk:
            fcntl.lockf(lk, fcntl.LOCK_EX)
            start = time.monotonic()
            p = ternpasswd("-f", path, "alice", stdin="pw\n")
            assert p.returncode == EX_TEMPFAIL, p
            assert "locked" in p.stderr, p.stderr
            assert time.monotonic() - start < 20
        assert not os.path.exists(path)
    finally:
        shutil.rmtree(d)


def run_on_tty(args, answers):
    """Run ternpasswd on a pseudo-terminal, typing each answer after each
    prompt; return (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(os.path.join(harness.BIN, "ternpasswd"),
                 ["ternpasswd"] + args)
    shown = b""
    try:
        for answer in answers:
            deadline = time.monotonic() + 10
            while not shown.rstrip().endswith(b"password:"):
                assert time.monotonic() < deadline, shown
                r, _, _ = select.select([fd], [], [], 1)
                if r:
                    shown += os.read(fd, 1024)
            shown += b"\n"      # marks where we typed
            os.write(fd, answer.encode() + b"\n")
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if not r:
                continue
            try:
                data = os.read(fd, 1024)
            except OSError:
                break
            if not data:
                break
            shown += data
    finally:
        status = None
        deadline = time.monotonic() + 10
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                status = os.waitpid(pid, 0)[1]
            else:
                time.sleep(0.05)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_terminal_asks_twice_without_echo():
    d = harness.tempdir()
    try:
        path = os.path.join(d, "passwd")
        rc, shown = run_on_tty(["-f", path, "alice"],
                               ["tty pass", "tty pass"])
        assert rc == 0, shown
        assert "New password:" in shown and "Retype new password:" in shown
        assert "tty pass" not in shown, shown          # never echoed
        assert verifies(users(path)["alice"], "tty pass")
        rc, shown = run_on_tty(["-f", path, "alice"], ["one", "two"])
        assert rc == EX_DATAERR and "differ" in shown, shown
        assert verifies(users(path)["alice"], "tty pass")
    finally:
        shutil.rmtree(d)
