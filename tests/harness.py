# SPDX-License-Identifier: ISC
"""harness.py - start real tern daemons (and helpers) for integration tests.

    with harness.Tern(max_message_size="1M") as t:
        s = t.smtp()                       # smtplib.SMTP on t.port
        ...
        assert t.queue_files() == [...]

Every daemon gets its own directory (config, spool, mail), a free loopback
port, and is stopped by its PID when the block ends (SIGTERM, then
SIGKILL; the whole process group as a last resort).  Binaries come from
$TERN_BIN (default build/test/bin, the sanitizer build).
"""
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TERN_BIN", os.path.join(TOP, "build", "test", "bin"))
IS_ROOT = os.geteuid() == 0
# ASan's leak checker cannot follow fork-heavy daemons cheaply; the unit
# tests keep it on.
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")


class TestTimeout(Exception):
    pass


class Skip(Exception):
    """Raised by skip(): the test could not run here, and says why."""


def skip(why):
    """End the current test as skipped: run.py prints "SKIP name: why"
    and counts it (under TERN_TEST_STRICT=1, as CI runs, a skip fails)."""
    raise Skip(why)


def need_root(what):
    """Skip unless running as root; what says what root is needed for."""
    if not IS_ROOT:
        skip("needs root (%s)" % what)


CERTS = os.path.join(TOP, "tests", "certs")


def tls_built_in():
    """Whether the ternd under test has TLS (ternd -V; make TLS=no)."""
    out = subprocess.run([os.path.join(BIN, "ternd"), "-V"],
                         capture_output=True, text=True, timeout=10).stdout
    return "OpenSSL" in out


def need_tls(what="TLS"):
    """Skip unless the build has TLS."""
    if not tls_built_in():
        skip("needs TLS (%s): this tern was built with TLS=no" % what)


def tls_conf(cert="chain.pem", key="host.key"):
    """The server keys for a test certificate from tests/certs."""
    return {"smtpd_tls_cert_file": os.path.join(CERTS, cert),
            "smtpd_tls_key_file": os.path.join(CERTS, key)}


def client_tls(verify=True):
    """An ssl context for a client: trusts the test CA, or nothing."""
    import ssl
    ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def crypt(password, setting):
    """crypt(3): Python's module while it exists, else libcrypt by ctypes."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt as mod
        return mod.crypt(password, setting)
    except ImportError:
        import ctypes
        import ctypes.util
        lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        out = lib.crypt(password.encode(), setting.encode())
        return out.decode() if out else None


def sha512_hash(password):
    """A SHA-512 crypt hash of password, for an auth_users file."""
    import random
    salt = "".join(random.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                 "OPQRSTUVWXYZ0123456789./") for _ in range(16))
    return crypt(password, "$6$" + salt + "$")


def need_tool(tool, package=None):
    """The path of tool on PATH, or skip naming the package to install."""
    path = shutil.which(tool)
    if not path:
        skip("needs %s (apt-get install %s)" % (tool, package or tool))
    return path


def need_tls():
    """Skip unless ternd was built with TLS (`ternd -V` says which)."""
    out = subprocess.run([os.path.join(BIN, "ternd"), "-V"],
                         capture_output=True, text=True, timeout=10)
    if "not built in" in out.stdout + out.stderr or out.returncode != 0:
        skip("TLS not built in (ternd -V: %s)" % out.stdout.strip())


CERTS = os.path.join(TOP, "tests", "certs")


def run_with_timeout(fn, seconds):
    """Run fn() with a SIGALRM deadline (tests run in worker processes)."""
    def alarm(signum, frame):
        raise TestTimeout("test took longer than %d s" % seconds)
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tempdir(prefix="tern-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


def daemon_user():
    """The user the daemon runs as: ourselves, or 'nobody' under root."""
    if IS_ROOT:
        return "nobody"
    return pwd.getpwuid(os.getuid()).pw_name


def privs_user():
    """default_privs for the daemon: never the daemon's own user."""
    return "daemon" if daemon_user() == "nobody" else "nobody"


def bin_for_others(name, directory):
    """A copy of BIN/name in directory (made 0755 on the way), for running
    as another user: the checkout may sit where that user cannot enter
    (/root/...)."""
    os.chmod(directory, 0o755)
    path = os.path.join(directory, name)
    shutil.copy(os.path.join(BIN, name), path)
    os.chmod(path, 0o755)
    return path


def wait_for(pred, timeout=10.0, step=0.02):
    """Poll pred() until true or timeout; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def proc_children():
    """{ppid: [pid, ...]} of the live (not zombie) processes, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append(int(d))
    return kids


def stop_pid(proc, timeout=10.0):
    """Stop proc, then anything left in its process group (children of a
    master that was killed with SIGKILL)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Tern:
    """One ternd in the foreground with its own config and spool."""

    def __init__(self, start=True, **conf):
        self.dir = tempdir()
        self.port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        os.mkdir(self.mail)
        os.chmod(self.mail, 0o1777)
        self.conf_path = os.path.join(self.dir, "tern.conf")
        self.log_path = os.path.join(self.dir, "log")
        self.conf = {
            "hostname": "tern.test",
            "listen": "127.0.0.1:%d" % self.port,
            "user": daemon_user(),
            "default_privs": privs_user(),
            "spool_dir": self.spool,
            "pid_file": os.path.join(self.dir, "ternd.pid"),
            "submit_socket": os.path.join(self.dir, "submit.sock"),
            "local_domains": "tern.test, localhost",
            "relay_networks": "192.0.2.0/24",
            "aliases": os.path.join(self.dir, "aliases"),
            "mailbox_path": os.path.join(self.mail, "%u/"),
            "log": "stderr",
            "retry_interval": "2s",
        }
        self.conf.update({k: str(v) for k, v in conf.items()})
        if not os.path.exists(self.conf["aliases"]):
            # Root's mailbox is never written (issue 8): alias root.
            self.write_aliases("postmaster: %s\n%s" % (
                daemon_user(), "root: %s\n" % daemon_user() if IS_ROOT
                else ""))
        self.proc = None
        self.write_conf()
        if start:
            self.start()

    def write_aliases(self, text):
        with open(self.conf["aliases"], "w") as f:
            f.write(text)

    def write_conf(self, **changes):
        self.conf.update({k: str(v) for k, v in changes.items()})
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))

    def start(self, wait=True, conf_from_env=False):
        """Start ternd; conf_from_env: name the file in $TERN_CONFIG
        instead of with -c."""
        argv = [os.path.join(BIN, "ternd"), "-f", "-d"]
        env = dict(os.environ, TERN_CONFIG=self.conf_path) \
            if conf_from_env else None
        if not conf_from_env:
            argv += ["-c", self.conf_path]
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=self.logf, start_new_session=True)
        if wait and not wait_for(self.is_listening, 15):
            self.stop()
            raise AssertionError("ternd did not start:\n" + self.log())
        return self.proc

    def is_listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("ternd exited %s:\n%s" %
                                 (self.proc.returncode, self.log()))
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                s.settimeout(2)
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.logf.close()

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def smtp(self, **kw):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=10, **kw)
        return s

    def raw(self):
        return RawClient("127.0.0.1", self.port)

    def queue_files(self):
        return spool_files(self.spool, "queue")

    def tmp_files(self):
        d = os.path.join(self.spool, "tmp")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None and not os.environ.get("TERN_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def spool_files(spool, kind):
    """The files under spool/KIND/XX/ ("queue" or "state"), sorted."""
    out = []
    top = os.path.join(spool, kind)
    if not os.path.isdir(top):
        return out
    for sub in sorted(os.listdir(top)):
        d = os.path.join(top, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return out


def read_queue_file(path):
    """Split a queue file into (envelope dict, rcpt list, message bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    head, _, body = data.partition(b"\n\n")
    env, rcpts = {}, []
    for line in head.decode().split("\n"):
        k, _, v = line.partition(": ")
        if k == "rcpt":
            rcpts.append(v)
        else:
            env[k] = v
    return env, rcpts, body


class RawClient:
    """A line-level SMTP client for malformed and pipelined input."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """One whole (possibly multi-line) reply: returns (code, text)."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                break
        return int(lines[-1][:3]), "\n".join(x[4:] for x in lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


# --- delivery test helpers (queue runner, local and remote delivery) ---

def mailq_json(t):
    """mailq -j of tern t: one dict per queued message."""
    import json
    p = subprocess.run([os.path.join(BIN, "mailq"), "-C", t.conf_path,
                        "-j"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l]


def wait_log(t, text, timeout=10.0, count=1):
    """Wait until text occurs at least count times in t's log."""
    return wait_for(lambda: t.log().count(text) >= count, timeout, 0.05)


def state_files(t):
    """The state files under t's spool/state/."""
    return spool_files(t.spool, "state")


def maildir_messages(path):
    """The messages of the Maildir at path, read with mailbox.Maildir,
    oldest first, as (key, mailbox.MaildirMessage, raw bytes)."""
    import mailbox
    # The local agent makes tmp/, new/, then cur/: until cur/ is there
    # mailbox.Maildir cannot read the directory (FileNotFoundError).
    if not all(os.path.isdir(os.path.join(path, d))
               for d in ("tmp", "new", "cur")):
        return []
    md = mailbox.Maildir(path, factory=None, create=False)

    def order(key):
        sec, _, rest = key.partition(".")
        usec = rest[1:].split("P")[0] if rest.startswith("M") else "0"
        return (int(sec) if sec.isdigit() else 0,
                int(usec) if usec.isdigit() else 0, key)
    return [(k, md.get_message(k), md.get_bytes(k))
            for k in sorted(md.keys(), key=order)]


class ThrowawayUser:
    """A system user tern-t-XXXX with its own home, for root-only tests
    (useradd -M, removed by name with userdel at the end).  Without root
    it stands for the invoking user and creates nothing."""

    def __init__(self, parent_dir):
        self.created = False
        if not IS_ROOT:
            pw = pwd.getpwuid(os.getuid())
            self.name, self.uid, self.gid = pw.pw_name, pw.pw_uid, pw.pw_gid
            self.home = os.path.join(parent_dir, "home-" + self.name)
            os.makedirs(self.home, exist_ok=True)
            return
        self.name = "tern-t-%04x" % (os.getpid() & 0xffff ^
                                     int(time.monotonic() * 1000) & 0xffff)
        self.home = os.path.join(parent_dir, "home-" + self.name)
        subprocess.run(["useradd", "-M", "-d", self.home, "-s", "/bin/sh",
                        "-U", self.name], check=True, timeout=30,
                       capture_output=True)
        self.created = True
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.makedirs(self.home, exist_ok=True)
        os.chown(self.home, self.uid, self.gid)
        os.chmod(self.home, 0o755)

    def write_file(self, name, text, mode=0o644):
        """A file in the home, owned by the user."""
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        if IS_ROOT:
            os.chown(path, self.uid, self.gid)
        return path

    def remove(self):
        if self.created:
            subprocess.run(["userdel", self.name], timeout=30,
                           capture_output=True)
            self.created = False

    stop = remove

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def assert_deferred_whole(t, kind, path, old, delivered):
    """A mailbox write that failed (full disk, quota): the message is
    deferred with 4.2.2 and left no half of itself, the mbox exactly
    old, a Maildir's tmp/ empty and one message in it; still queued."""
    assert wait_for(lambda: any(b" 4.2.2 " in open(p, "rb").read()
                                for p in state_files(t)), 15), t.log()
    if kind == "mbox":
        assert open(path, "rb").read() == old
    else:
        assert os.listdir(os.path.join(path, "tmp")) == []
        assert delivered() == 1
    assert len(t.queue_files()) == 1
