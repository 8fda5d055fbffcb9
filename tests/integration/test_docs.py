# SPDX-License-Identifier: ISC
"""test_docs.py - the documentation and service files agree with the code.

- every key of the table in src/lib/config.c has an entry in tern.conf(5) and
  a commented "#key = default" line in etc/tern.conf with the table's
  default, and neither names a key the table does not have; `ternd -P`
  on an empty file prints those same defaults;
- every manual page lints clean (mandoc -T lint -W warning, and groff -ww);
- etc/install.sh lays out the expected files under DESTDIR, never
  overwrites tern.conf, and makes the COMPAT links only when asked;
- the systemd unit and the init script are valid, and the init script
  starts, reloads and stops a stand-in daemon through its pid file.

Plain functions raising AssertionError; run by tests/run.py, or alone:
    python3 tests/integration/test_docs.py
"""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import harness

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANUALS = ["man/mailq.1", "man/aliases.5", "man/tern.conf.5",
           "man/newaliases.8", "man/sendmail.8", "man/tern.8",
           "man/ternd.8", "man/ternq.8", "man/ternpasswd.8"]
PROGRAMS = {"ternd": "sbin", "sendmail": "sbin", "newaliases": "sbin",
            "ternq": "sbin", "ternpasswd": "sbin", "mailq": "bin"}
INSTALL_VARS = ("DESTDIR", "PREFIX", "SBINDIR", "BINDIR", "MANDIR",
                "SYSCONFDIR", "SPOOLDIR", "UNITDIR", "BINSRC", "COMPAT",
                "TERN_USER")


def read(rel):
    with open(os.path.join(TOP, rel), encoding="utf-8") as f:
        return f.read()


def config_table():
    """[(name, type, default)] from the key table of src/lib/config.c."""
    keys = re.findall(r'\{\s*"(\w+)",\s*CONF_(\w+),\s*"((?:[^"\\]|\\.)*)"',
                      read("src/lib/config.c"))
    assert len(keys) >= 30, "cannot parse the key table of src/lib/config.c"
    return keys


def sample_lines():
    """{key: (default, explanation line above it)} from etc/tern.conf."""
    lines = read("etc/tern.conf").split("\n")
    found = {}
    for i, line in enumerate(lines):
        m = re.match(r"^#(\w+) =(?: (.*))?$", line)
        if m:
            assert m.group(1) not in found, "%s twice in etc/tern.conf" % m.group(1)
            above = lines[i - 1] if i else ""
            found[m.group(1)] = (m.group(2) or "", above)
    return found


def test_every_key_in_manual():
    text = read("man/tern.conf.5")
    documented = re.findall(r"^\.It Cm (\w+) Pq", text, re.M)
    names = [k[0] for k in config_table()]
    missing = [k for k in names if k not in documented]
    assert not missing, "keys missing from tern.conf(5): %s" % missing
    extra = [k for k in documented if k not in names]
    assert not extra, "tern.conf(5) documents unknown keys: %s" % extra
    assert len(documented) == len(set(documented)), "a key documented twice"


def test_manual_defaults_match_table():
    text = read("man/tern.conf.5")
    for name, _, dflt in config_table():
        m = re.search(r"^\.It Cm %s Pq (.*)$" % name, text, re.M)
        line = m.group(1)
        if dflt == "":
            assert "default: empty" in line, "%s: %s" % (name, line)
        else:
            assert dflt in line, "%s: default %r not in %r" % (name, dflt, line)


def test_every_key_in_sample_config():
    sample = sample_lines()
    for name, _, dflt in config_table():
        assert name in sample, "etc/tern.conf lacks #%s = %s" % (name, dflt)
        value, above = sample[name]
        assert value == dflt, "etc/tern.conf: %s = %r, table says %r" % (
            name, value, dflt)
        assert re.match(r"^# \S", above), \
            "etc/tern.conf: no explanation above #%s" % name
    names = {k[0] for k in config_table()}
    extra = sorted(set(sample) - names)
    assert not extra, "etc/tern.conf names unknown keys: %s" % extra


def test_sample_config_sections():
    text = read("etc/tern.conf")
    heads = re.findall(r"^### (\w[\w ]*)", text, re.M)
    assert [h.split()[0] for h in heads] == ["Receiving", "The", "Local",
                                             "Remote"], heads


def conf_value(ctype, text):
    """A value of the given CONF_ type in a comparable form."""
    text = text.strip()
    if ctype in ("DURATION", "SIZE"):
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800} \
            if ctype == "DURATION" else {"k": 1024, "m": 1024 ** 2,
                                         "g": 1024 ** 3}
        m = re.match(r"^(\d+)([a-zA-Z]?)[bB]?$", text)
        assert m, "bad %s %r" % (ctype, text)
        return int(m.group(1)) * units.get(m.group(2).lower(), 1)
    if ctype in ("LIST", "CIDRS", "LISTEN"):
        return [v for v in re.split(r"[,\s]+", text) if v]
    return text


def ternd_binary():
    for d in ("build/test/bin", "bin"):
        path = os.path.join(TOP, d, "ternd")
        if os.access(path, os.X_OK):
            return path
    raise AssertionError("no ternd binary: run `make testbuild` first")


def test_ternd_prints_documented_defaults():
    """ternd -P on an empty file shows the table's defaults, in order."""
    d = tempfile.mkdtemp(prefix="tern-conf-")
    try:
        empty = os.path.join(d, "empty.conf")
        open(empty, "w").close()
        p = subprocess.run([ternd_binary(), "-P", "-c", empty],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(d)
    printed = [tuple(line.split(" = ", 1)) if " = " in line
               else (line.rstrip(" ="), "") for line in p.stdout.splitlines()]
    table = config_table()
    assert [k for k, _ in printed] == [k[0] for k in table], printed
    computed = {"hostname", "origin", "local_domains"}
    for (name, ctype, dflt), (_, value) in zip(table, printed):
        if name in computed:
            assert value, "%s: computed default is empty" % name
            continue
        assert conf_value(ctype, value) == conf_value(ctype, dflt), \
            "ternd -P: %s = %r, documented default %r" % (name, value, dflt)


def lint_one(page, mandoc):
    """Return the complaints about one page (mandoc, and groff if present)."""
    out = []
    groff = shutil.which("groff")
    path = os.path.join(TOP, page)
    p = subprocess.run([mandoc, "-T", "lint", "-W", "warning", path],
                       capture_output=True, text=True, timeout=60)
    out += (p.stdout + p.stderr).splitlines()
    if groff:
        p = subprocess.run([groff, "-t", "-ww", "-z", "-mandoc", path],
                           capture_output=True, text=True, timeout=60)
        out += (p.stdout + p.stderr).splitlines()
    return out


def test_manuals_lint_clean():
    mandoc = harness.need_tool("mandoc")
    problems = []
    for page in MANUALS:
        assert os.path.isfile(os.path.join(TOP, page)), "%s missing" % page
        problems += lint_one(page, mandoc)
    assert not problems, "\n".join(problems)


def test_manuals_cross_references_exist():
    have = {os.path.basename(p) for p in MANUALS}
    ours = {"tern", "ternd", "ternq", "mailq", "sendmail", "newaliases",
            "aliases", "tern.conf", "ternpasswd"}
    for page in MANUALS:
        for name, sec in re.findall(r"^\.Xr (\S+) (\d)", read(page), re.M):
            if name in ours:
                assert "%s.%s" % (name, sec) in have, \
                    "%s: .Xr %s %s has no page" % (page, name, sec)


def test_license():
    text = read("LICENSE")
    assert "Copyright (c) 2026 The tern authors" in text
    assert "Permission to use, copy, modify, and distribute" in text


def fake_bindir(root):
    d = os.path.join(root, "binsrc")
    os.makedirs(d)
    for prog in PROGRAMS:
        with open(os.path.join(d, prog), "w") as f:
            f.write("#!/bin/sh\necho %s\n" % prog)
    return d


def run_install(**env_over):
    env = {k: v for k, v in os.environ.items() if k not in INSTALL_VARS}
    env.update(env_over)
    p = subprocess.run(["sh", "etc/install.sh"], cwd=TOP, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "install.sh exit %d:\n%s%s" % (
        p.returncode, p.stdout, p.stderr)
    return p.stdout + p.stderr


def test_install_layout():
    root = tempfile.mkdtemp(prefix="tern-install-")
    try:
        dest = os.path.join(root, "dest")
        out = run_install(DESTDIR=dest, BINSRC=fake_bindir(root))
        for prog, sub in PROGRAMS.items():
            path = os.path.join(dest, "usr/local", sub, prog)
            assert os.access(path, os.X_OK), "%s not installed" % path
        for page in MANUALS:
            sec = page.rsplit(".", 1)[1]
            path = os.path.join(dest, "usr/local/share/man/man" + sec,
                                os.path.basename(page))
            assert os.path.isfile(path), "%s not installed" % path
        conf = os.path.join(dest, "etc/tern/tern.conf")
        assert read("etc/tern.conf") == open(conf).read()
        assert os.path.isfile(conf + ".sample")
        unit = open(os.path.join(
            dest, "usr/local/lib/systemd/system/tern.service")).read()
        assert "ExecStart=/usr/local/sbin/ternd -f\n" in unit
        init = os.path.join(dest, "etc/init.d/tern")
        assert os.stat(init).st_mode & stat.S_IXUSR
        assert "DAEMON=/usr/local/sbin/ternd\n" in open(init).read()
        assert not os.path.exists(os.path.join(dest, "var")), \
            "the spool must not be made under DESTDIR"
        assert "not creating user" in out, out
        assert not os.path.exists(os.path.join(dest, "usr/sbin")), \
            "COMPAT links made without COMPAT=yes"
        # A second install keeps the administrator's file.
        with open(conf, "w") as f:
            f.write("hostname = kept.example\n")
        out = run_install(DESTDIR=dest, BINSRC=fake_bindir(root + "/2"))
        assert open(conf).read() == "hostname = kept.example\n", out
        assert read("etc/tern.conf") == open(conf + ".sample").read()
    finally:
        shutil.rmtree(root)


def test_install_prefix_usr_and_compat():
    root = tempfile.mkdtemp(prefix="tern-install-")
    try:
        dest = os.path.join(root, "dest")
        os.makedirs(os.path.join(dest, "usr/bin"))
        other = os.path.join(dest, "usr/bin/newaliases")
        with open(other, "w") as f:      # another MTA's file is kept
            f.write("other\n")
        out = run_install(DESTDIR=dest, PREFIX="/usr", COMPAT="yes",
                          BINSRC=fake_bindir(root))
        unit = os.path.join(dest, "lib/systemd/system/tern.service")
        assert "ExecStart=/usr/sbin/ternd -f\n" in open(unit).read()
        assert os.access(os.path.join(dest, "usr/sbin/ternd"), os.X_OK)
        # PREFIX=/usr: sendmail is installed where the link would be.
        assert not os.path.islink(os.path.join(dest, "usr/sbin/sendmail"))
        assert open(other).read() == "other\n", out
        assert "is not a link, kept" in out, out
    finally:
        shutil.rmtree(root)


def test_install_compat_links():
    root = tempfile.mkdtemp(prefix="tern-install-")
    try:
        dest = os.path.join(root, "dest")
        run_install(DESTDIR=dest, COMPAT="yes", BINSRC=fake_bindir(root))
        for link, target in (("usr/sbin/sendmail", "/usr/local/sbin/sendmail"),
                             ("usr/bin/mailq", "/usr/local/bin/mailq"),
                             ("usr/bin/newaliases",
                              "/usr/local/sbin/newaliases")):
            assert os.readlink(os.path.join(dest, link)) == target, link
    finally:
        shutil.rmtree(root)


def test_service_unit():
    text = read("etc/tern.service")
    for line in ("Type=simple", "ExecStart=/usr/local/sbin/ternd -f",
                 "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                 "WantedBy=multi-user.target"):
        assert re.search("^%s$" % re.escape(line), text, re.M), line


def test_service_unit_verifies():
    text = read("etc/tern.service")
    analyze = harness.need_tool("systemd-analyze", "systemd")
    d = tempfile.mkdtemp(prefix="tern-unit-")
    try:
        path = os.path.join(d, "tern.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/local/sbin/ternd", "/bin/true"))
        p = subprocess.run([analyze, "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        out = (p.stdout + p.stderr).strip()
        assert p.returncode == 0 and not out, out
    finally:
        shutil.rmtree(d)


def test_shell_scripts_parse():
    shells = [s for s in ("sh", "dash") if shutil.which(s)]
    for script in ("etc/install.sh", "etc/init.d/tern"):
        for sh in shells:
            p = subprocess.run([sh, "-n", script], cwd=TOP,
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, "%s -n %s: %s" % (sh, script, p.stderr)
    init = read("etc/init.d/tern")
    for word in ("### BEGIN INIT INFO", "### END INIT INFO", "start)",
                 "stop)", "restart)", "reload|force-reload)", "status)",
                 "/run/ternd.pid"):
        assert word in init, word


FAKE_TERND = r'''#!%s
# Stand-in for ternd: -n ok, -P prints pid_file, otherwise daemonizes.
import os, signal, sys, time
PIDFILE = %r
if "-n" in sys.argv:
    sys.exit(0)
if "-P" in sys.argv:
    print("pid_file = " + PIDFILE)
    sys.exit(0)
if os.fork():
    sys.exit(0)
os.setsid()
def stop(sig, frame):
    os.unlink(PIDFILE)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGHUP, lambda s, f: open(PIDFILE + ".hup", "w").close())
for fd in (0, 1, 2):
    os.dup2(os.open(os.devnull, os.O_RDWR), fd)
with open(PIDFILE + ".tmp", "w") as f:
    f.write("%%d\n" %% os.getpid())
os.rename(PIDFILE + ".tmp", PIDFILE)
for _ in range(600):
    time.sleep(0.1)
'''


def test_init_script_lifecycle():
    d = tempfile.mkdtemp(prefix="tern-init-")
    pidfile = os.path.join(d, "ternd.pid")
    daemon = os.path.join(d, "ternd")
    pid = None
    try:
        with open(daemon, "w") as f:
            f.write(FAKE_TERND % (sys.executable, pidfile))
        os.chmod(daemon, 0o755)
        script = os.path.join(d, "init")
        with open(script, "w") as f:
            f.write(re.sub(r"^DAEMON=.*$", "DAEMON=" + daemon,
                           read("etc/init.d/tern"), flags=re.M))

        def init(action):
            p = subprocess.run(["sh", script, action], capture_output=True,
                               text=True, timeout=90)
            return p.returncode, p.stdout + p.stderr

        assert init("status")[0] == 3
        rc, out = init("start")
        assert rc == 0, out
        pid = int(open(pidfile).read())
        rc, out = init("status")
        assert rc == 0 and str(pid) in out, out
        assert init("start")[0] == 0     # already running: still success
        rc, out = init("reload")
        assert rc == 0, out
        deadline = time.monotonic() + 10
        while not os.path.exists(pidfile + ".hup"):
            assert time.monotonic() < deadline, "no SIGHUP arrived"
            time.sleep(0.05)
        rc, out = init("stop")
        assert rc == 0, out
        assert not os.path.exists(pidfile)
        pid = None
        assert init("status")[0] == 3
        assert init("bogus")[0] == 2
    finally:
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(d)


if __name__ == "__main__":
    failed = 0
    tests = [(n, f) for n, f in sorted(globals().items(),
             key=lambda i: getattr(i[1], "__code__", None) and
             i[1].__code__.co_firstlineno or 0)
             if n.startswith("test_") and callable(f)]
    for name, fn in tests:
        try:
            fn()
            print("PASS", name)
        except Exception as e:  # report and go on
            failed += 1
            print("FAIL", name, "-", e)
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
