# SPDX-License-Identifier: ISC
"""test_ternd.py - the ternd command line: -n, -P, config errors."""
import os
import pwd
import shutil
import subprocess

import harness

TERND = os.path.join(harness.BIN, "ternd")


def run(*args):
    p = subprocess.run([TERND] + list(args), capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stdout, p.stderr


def conf(text):
    d = harness.tempdir()
    path = os.path.join(d, "tern.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_empty_config_is_valid():
    path = conf("")
    code, out, err = run("-n", "-c", path)
    assert code == 0, err
    assert "configuration ok" in out


def test_missing_aliases_file():
    """The default /etc/aliases may be missing (no MTA was installed):
    one notice, and the configuration is fine.  A file that tern.conf
    names must exist."""
    path = conf("")
    code, out, err = run("-n", "-c", path)
    assert code == 0, err
    if not os.path.exists("/etc/aliases"):
        assert "notice: /etc/aliases does not exist: no aliases" in err, err
    path = conf("aliases = /nonexistent/aliases\n")
    code, out, err = run("-n", "-c", path)
    assert code != 0, out
    assert "/nonexistent/aliases: No such file or directory" in err, err


def test_daemon_without_aliases_file():
    """A daemon whose config names no aliases file starts, logs one
    notice when /etc/aliases is missing, and delivers local mail."""
    with harness.Tern(start=False) as t:
        del t.conf["aliases"]
        t.write_conf()
        t.start()
        s = t.smtp()
        s.sendmail("a@example.org", [harness.daemon_user() + "@tern.test"],
                   b"Subject: x\r\n\r\nbody\r\n")
        s.quit()
        # The system's /etc/aliases, if there is one, may send it on to
        # another user (Debian's "nobody: root"): any mailbox will do.

        def delivered():
            return sum(len(harness.maildir_messages(os.path.join(t.mail, u)))
                       for u in os.listdir(t.mail))
        assert harness.wait_for(lambda: delivered() == 1, 10), t.log()
        if not os.path.exists("/etc/aliases"):
            assert t.log().count("/etc/aliases does not exist") == 1, t.log()
    with harness.Tern(start=False) as t:
        gone = os.path.join(t.dir, "gone")
        t.write_conf(aliases=gone)
        p = t.start(wait=False)
        assert p.wait(10) != 0
        assert "aliases %s: No such file" % gone in t.log(), t.log()


def test_bad_config_names_file_and_line():
    path = conf("# ok\nhostname = mx.example\nretry_intervall = 5m\n")
    code, out, err = run("-n", "-c", path)
    assert code != 0
    assert err.strip() == ('ternd: %s:3: unknown key "retry_intervall" '
                           '(did you mean "retry_interval"?)' % path), err
    path = conf("max_message_size = lots\n")
    code, out, err = run("-n", "-c", path)
    assert code != 0 and "%s:1: max_message_size:" % path in err, err
    path = conf("relay_networks = 10.0.0.0/33\n")
    code, out, err = run("-n", "-c", path)
    assert code != 0 and "%s:1: relay_networks:" % path in err, err
    code, out, err = run("-n", "-c", "/nonexistent/tern.conf")
    assert code != 0 and "/nonexistent/tern.conf" in err


def test_print_effective_config():
    path = conf("retry_interval = 2m\nlisten = 127.0.0.1:2525, [::1]:2525\n")
    code, out, err = run("-P", "-c", path)
    assert code == 0, err
    lines = dict(l.split(" = ", 1) for l in out.splitlines() if " = " in l)
    assert lines["retry_interval"] == "120s"
    assert lines["listen"] == "127.0.0.1:2525, [::1]:2525"
    assert lines["max_message_size"] == str(25 * 1024 * 1024)
    assert lines["mailbox"] == "maildir"


def test_bad_aliases_file_fails_check():
    d = harness.tempdir()
    with open(os.path.join(d, "aliases"), "w") as f:
        f.write("good: root\nthis line has no colon\n")
    path = conf("aliases = %s/aliases\n" % d)
    code, out, err = run("-n", "-c", path)
    assert code != 0 and "%s/aliases:2:" % d in err, err


def test_busy_port_is_reported_before_detaching():
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        d = harness.tempdir()
        path = conf("listen = 127.0.0.1:%d\nspool_dir = %s/spool\n"
                    "pid_file = %s/pid\nsubmit_socket = %s/s.sock\n"
                    "user = %s\n" % (port, d, d, d, harness.daemon_user()))
        code, out, err = run("-c", path)   # no -f: it would daemonize
        assert code != 0, (out, err)
        assert "cannot listen on 127.0.0.1:%d" % port in err, err
        assert not os.path.exists(d + "/pid")


# --- the spool at start-up: made and cleaned as `user`, no link followed ---

def spool_made(t):
    """Start t once and stop it, so its spool exists as ternd makes it."""
    t.start()
    t.stop()
    return t.spool


def refused(t, what):
    """ternd must exit non-zero at start-up, naming what is wrong."""
    p = t.start(wait=False)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        t.stop()
        raise AssertionError("ternd started with a bad spool:\n" + t.log())
    t.logf.close()
    log = t.log()
    assert rc != 0, log
    assert what in log, (what, log)
    assert "spool %s not usable; not started" % t.spool in log, log
    return log


def owned_like_spool(path):
    """As root: give path to the daemon user, as a compromised spool
    user would have made it."""
    if harness.IS_ROOT:
        pw = pwd.getpwnam(harness.daemon_user())
        os.lchown(path, pw.pw_uid, pw.pw_gid)


def test_spool_tmp_symlink_is_refused():
    """tmp/ replaced by a link to a directory that only root may read:
    ternd refuses to start and the file there is still there (before,
    root emptied the link's target as stale tmp files)."""
    with harness.Tern(start=False) as t:
        spool = spool_made(t)
        secret = harness.tempdir("tern-secret-")
        os.chmod(secret, 0o700)
        keep = os.path.join(secret, "keep")
        with open(keep, "w") as f:
            f.write("root's own\n")
        os.rename(spool + "/tmp", spool + "/tmp.real")
        os.symlink(secret, spool + "/tmp")
        owned_like_spool(spool + "/tmp")
        refused(t, "spool %s/tmp: is a symbolic link, not a directory" %
                spool)
        with open(keep) as f:
            assert f.read() == "root's own\n"
        assert os.listdir(secret) == ["keep"]
        assert not os.path.exists(t.conf["pid_file"])
        os.unlink(keep)
        os.rmdir(secret)


def test_spool_state_symlink_makes_nothing():
    """state/ replaced by a link to a directory the daemon user could
    write: refused, and not one directory is made in the target (before,
    root made all 256 there)."""
    with harness.Tern(start=False) as t:
        spool = spool_made(t)
        target = harness.tempdir("tern-target-")
        owned_like_spool(target)
        shutil.rmtree(spool + "/state")
        os.symlink(target, spool + "/state")
        owned_like_spool(spool + "/state")
        refused(t, "spool %s/state: is a symbolic link, not a directory" %
                spool)
        assert os.listdir(target) == []
        os.rmdir(target)
        # One hash directory deep, and the trigger as a plain file.
        os.unlink(spool + "/state")
        os.mkdir(spool + "/state", 0o700)
        owned_like_spool(spool + "/state")
        os.rmdir(spool + "/queue/3a")
        os.symlink("/", spool + "/queue/3a")
        refused(t, "spool %s/queue/3a: is a symbolic link, not a "
                "directory" % spool)
        os.unlink(spool + "/queue/3a")
        os.unlink(spool + "/trigger")
        with open(spool + "/trigger", "w"):
            pass
        owned_like_spool(spool + "/trigger")
        refused(t, "spool %s/trigger: is a file, not a FIFO" % spool)


def test_spool_wrong_owner_is_refused():
    """A part of the spool owned by someone other than `user` (here
    root) stops ternd with the path, the owner and the user it wants."""
    harness.need_root("chown a part of the spool to root")
    with harness.Tern(start=False) as t:
        spool = spool_made(t)
        uid = pwd.getpwnam(harness.daemon_user()).pw_uid
        os.chown(spool + "/queue", 0, 0)
        refused(t, "spool %s/queue: is owned by uid 0, not by uid %d (the "
                "user that runs tern); every part of the spool must belong "
                "to user %s" % (spool, uid, harness.daemon_user()))
        os.chown(spool + "/queue", uid, -1)
        os.chown(spool, 0, 0)
        refused(t, "spool %s: is owned by uid 0, not by uid %d" %
                (spool, uid))
        os.chown(spool, uid, -1)
        os.chmod(spool, 0o777)
        refused(t, "spool %s: is writable by others (mode 0777; make it "
                "0700)" % spool)
        os.chmod(spool, 0o700)
        t.start()       # and with all that put right, it starts
