# SPDX-License-Identifier: ISC
"""test_ternd.py - the ternd command line: -n, -P, config errors."""
import os
import pwd
import re
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


def test_version_says_whether_tls_is_built_in():
    """ternd -V prints the version and the TLS library, or that there is
    none, as the build chose (build/tls: make or make TLS=no)."""
    with open(os.path.join(harness.TOP, "build", "tls")) as f:
        tls = f.read().strip()
    code, out, err = run("-V")
    assert code == 0, err
    assert re.fullmatch(r"ternd \d+\.\d+ \(TLS: (OpenSSL 3\.\S+ .*|not "
                        r"built in)\)\n", out), out
    assert ("OpenSSL 3." in out) == (tls == "yes"), (tls, out)


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


def aliased_on_host(name):
    try:
        with open("/etc/aliases") as f:
            return any(line.split(":")[0].strip().lower() == name
                       for line in f if ":" in line)
    except OSError:
        return False


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
        box = os.path.join(t.mail, harness.daemon_user())
        assert harness.wait_for(lambda: "relay=local" in t.log(), 10), \
            t.log()
        # The host's /etc/aliases may send it elsewhere ("nobody: root",
        # and root's own mailbox waits for an alias, see tern(8)).
        if not aliased_on_host(harness.daemon_user()):
            assert harness.wait_for(
                lambda: len(harness.maildir_messages(box)) == 1, 10), \
                t.log()
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
                    "user = %s\ndefault_privs = %s\n"
                    % (port, d, d, d, harness.daemon_user(),
                       harness.privs_user()))
        code, out, err = run("-c", path)   # no -f: it would daemonize
        assert code != 0, (out, err)
        assert "cannot listen on 127.0.0.1:%d" % port in err, err
        assert not os.path.exists(d + "/pid")


def test_default_privs_never_user_or_root():
    """Issue 8: files and commands of the aliases file must not run as
    root or as the spool's owner; -n refuses either, by name or uid."""
    for bad in ("root", harness.daemon_user()):
        path = conf("user = %s\ndefault_privs = %s\n"
                    % (harness.daemon_user(), bad))
        code, out, err = run("-n", "-c", path)
        assert code != 0, (bad, out)
        assert "default_privs" in err and "configuration ok" not in out, err
    path = conf("user = %s\ndefault_privs = %s\n"
                % (harness.daemon_user(), harness.privs_user()))
    code, out, err = run("-n", "-c", path)
    assert code == 0, err


def proc_limit(pid, name):
    """The soft limit called name in /proc/PID/limits, as text."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(name):
                return line[len(name):].split()[0]
    return None


def limits_of_children(t):
    """(smtpd's descriptors, smtpd's and the queue runner's file size
    limits) of a running tern, the pids from its log."""
    c = harness.RawClient("127.0.0.1", t.port)
    assert c.cmd("EHLO x")[0] == 250
    # through a pipe the log lines may come a moment later
    assert harness.wait_log(t, "tern/smtpd["), t.log()
    pid = int(re.findall(r"tern/smtpd\[(\d+)\]", t.log())[-1])
    assert harness.wait_log(t, "tern/qmgr["), t.log()
    qmgr = int(re.findall(r"tern/qmgr\[(\d+)\]", t.log())[-1])
    out = (proc_limit(pid, "Max open files"), proc_limit(pid, "Max file size"),
           proc_limit(qmgr, "Max file size"))
    c.close()
    return out


def test_children_get_resource_limits():
    """tern(8) RESOURCE LIMITS: an smtpd has 256 descriptors and a file
    size limit of twice max_message_size plus 16 MiB, and the queue
    runner has that file size limit too, when the log goes to a pipe (as
    under systemd) or syslog; when standard error is a regular file
    (`ternd -f 2>>file`) there is no file size limit, so that the log
    lines of a busy runner are not lost past it."""
    size = str(2 * 1024 * 1024 + 16 * 1024 * 1024)
    with harness.Tern(start=False, max_message_size="1M") as t:
        t.logf = open(t.log_path, "ab")
        cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=t.logf)
        try:
            t.proc = subprocess.Popen(
                [os.path.join(harness.BIN, "ternd"), "-f", "-d", "-c",
                 t.conf_path], stdin=subprocess.DEVNULL, stdout=cat.stdin,
                stderr=cat.stdin, start_new_session=True)
            cat.stdin.close()
            assert harness.wait_for(t.is_listening, 15), t.log()
            assert limits_of_children(t) == ("256", size, size), t.log()
        finally:
            t.stop()
            harness.stop_pid(cat)
    with harness.Tern(max_message_size="1M") as t:
        assert limits_of_children(t) == ("256", "unlimited", "unlimited")
