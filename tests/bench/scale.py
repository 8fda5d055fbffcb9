# SPDX-License-Identifier: ISC
"""scale.py - the figures of `make bench-scale` (tests/bench/scale.sh
says what each one is, and the knobs).  Started by scale.sh with WORK
(a scratch directory holding the compiled scalegen), TOP and PFB in the
environment.  Every process it starts it stops again, by PID."""

import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (its wait_listen)

WORK = os.environ["WORK"]
TOP = os.environ["TOP"]
PFB = os.environ.get("PFB", "/var/tmp/tern-pfbench")
SCALE = int(os.environ.get("SCALE", "1000000"))
PF_SCALE = int(os.environ.get("PF_SCALE", str(SCALE)))
PF_SEED = int(os.environ.get("PF_SEED", "200"))
ACCEPT_MSGS = int(os.environ.get("ACCEPT_MSGS", "5000"))
ACCEPT_RUNS = int(os.environ.get("ACCEPT_RUNS", "3"))
RETRY_SPREAD = int(os.environ.get("RETRY_SPREAD", "1800"))
TERN_PORT = int(os.environ.get("TERN_PORT", "2625"))
SINK_PORT = int(os.environ.get("SINK_PORT", "2726"))
PF_PORT = int(os.environ.get("PF_PORT", "2725"))
DEAD_PORT = 9                       # nothing listens: connect refused
TERND = os.environ.get("TERND", os.path.join(TOP, "bin/ternd"))
MAILQ = os.environ.get("MAILQ", os.path.join(TOP, "bin/mailq"))
ONLY = os.environ.get("ONLY", "mem,startup,accept,mailq").split(",")
ROOT = os.getuid() == 0
PF_CONF = os.path.join(PFB, "etc")


def say(*a):
    print(*a, flush=True)


def user():
    """The user ternd drops to: ourselves, or as root a "tern" user."""
    if not ROOT:
        return pwd.getpwuid(os.getuid()).pw_name
    try:
        pwd.getpwnam("tern")
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-d", "/nonexistent", "-s",
                        "/usr/sbin/nologin", "tern"], check=True)
    return "tern"


def as_user(argv):
    return ["runuser", "-u", user(), "--"] + argv if ROOT else argv


class Tern:
    """ternd -f on a spool of its own under WORK/name."""

    def __init__(self, name):
        self.dir = os.path.join(WORK, name)
        self.spool = os.path.join(self.dir, "spool")
        self.conf = os.path.join(self.dir, "tern.conf")
        self.logpath = os.path.join(self.dir, "ternd.log")
        self.proc = None
        os.makedirs(self.spool, exist_ok=True)
        os.chmod(self.dir, 0o755)
        if ROOT:
            shutil.chown(self.spool, user())
        os.chmod(self.spool, 0o700)
        with open(os.path.join(self.dir, "transport"), "w") as f:
            f.write("discard.bench.test discard\n"
                    "sink.bench.test [127.0.0.1]:%d\n"
                    "dead.bench.test [127.0.0.1]:%d\n" % (SINK_PORT,
                                                          DEAD_PORT))
        with open(self.conf, "w") as f:
            f.write("""# written by tests/bench/scale.py
listen = 127.0.0.1:%d
spool_dir = %s
pid_file = %s/ternd.pid
submit_socket = %s/submit.sock
log = stderr
hostname = tern-scale.bench.test
relay_networks = 127.0.0.0/8
user = %s
transport = %s/transport
max_connections = 200
max_connections_per_ip = 200
retry_interval = 30m
max_deliveries = 20
max_per_destination = 20
""" % (TERN_PORT, self.spool, self.dir, self.dir, user(), self.dir))

    def generate(self, n, pct, offset, spread):
        """n messages: pct percent deferred to the refusing port, their
        next attempts spread over [offset, offset + spread) seconds; the
        others pending, to the sink."""
        subprocess.run(as_user([os.path.join(WORK, "scalegen"), self.spool,
                                str(n), str(pct), "sink.bench.test",
                                "dead.bench.test", str(offset),
                                str(spread)]), check=True)

    def start(self):
        self.log_f = open(self.logpath, "wb")
        self.log_off = 0
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([TERND, "-f", "-c", self.conf],
                                     stderr=self.log_f)

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.log_f.close()

    def wait_log(self, pattern, limit):
        """Seconds from start until pattern is in the log, or None."""
        rx = re.compile(pattern.encode())
        buf = b""
        deadline = time.monotonic() + limit
        with open(self.logpath, "rb") as f:
            while time.monotonic() < deadline:
                chunk = f.read(1 << 20)
                if chunk:
                    buf = buf[-4096:] + chunk
                    m = rx.search(buf)
                    if m:
                        self.match = m
                        return time.monotonic() - self.t0
                    continue
                if self.proc.poll() is not None:
                    return None
                time.sleep(0.01)
        return None

    def runner_pid(self):
        with open(self.logpath, "rb") as f:
            m = re.search(rb"tern/qmgr\[(\d+)\]", f.read())
        return int(m.group(1)) if m else None


def rmtree(path):
    """rm -rf: faster than shutil.rmtree on a million files"""
    subprocess.run(["rm", "-rf", path])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def runner_rss(t, n):
    """The queue runner's RSS once its start-up scan has loaded n."""
    t.start()
    try:
        if t.wait_log(r"queue: (\d+) messages in the spool", 600) is None:
            return None
        assert int(t.match.group(1)) == n, t.match.group(0)
        time.sleep(1)
        pid = t.runner_pid()
        return rss_kib(pid) if pid else None
    finally:
        t.stop()


def fig_mem():
    say("== mem: queue runner memory per deferred message (%d)" % SCALE)
    empty, full = Tern("mem-empty"), Tern("mem-full")
    full.generate(SCALE, 100, 86400, 3600)
    r0, r1 = runner_rss(empty, 0), runner_rss(full, SCALE)
    if r0 is None or r1 is None:
        say("mem: skipped: the runner did not finish its scan")
        return
    say("mem  runner RSS empty %d KiB, with %d deferred %d KiB: "
        "%.0f bytes per message" % (r0, SCALE, r1,
                                    (r1 - r0) * 1024.0 / SCALE))
    rmtree(full.dir)


def sink():
    argv = ["smtp-sink"] + (["-u", "nobody"] if ROOT else []) + [
        "127.0.0.1:%d" % SINK_PORT, "1000"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def fig_startup(t):
    say("== startup: %d queued, half deferred with state files" % SCALE)
    s = sink()
    try:
        if not wait_port(SINK_PORT):
            say("startup: skipped: smtp-sink does not listen")
            return
        t.start()
        first = t.wait_log(r"status=sent", 300)
        scan = t.wait_log(r"queue: \d+ messages in the spool", 600)
    finally:
        t.stop()
        stop(s)
    say("startup  first delivery after %s s; start-up scan done after "
        "%s s" % ("%.2f" % first if first else "-",
                  "%.2f" % scan if scan else "-"))


def source(port, msgs):
    argv = ["smtp-source", "-s", "20", "-m", str(msgs), "-l", "4096", "-f",
            "bench@scale.bench.test", "-t", "bench@discard.bench.test",
            "127.0.0.1:%d" % port]
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=900)
    return msgs / (time.monotonic() - t0) if p.returncode == 0 else None


def wait_port(port, limit=30):
    return bench.wait_listen(port, limit)


def tern_accept(t, full):
    t.start()
    try:
        if full and t.wait_log(r"queue: \d+ messages in the spool",
                               600) is None:
            return None
        if not wait_port(TERN_PORT):
            return None
        return source(TERN_PORT, ACCEPT_MSGS)
    finally:
        t.stop()


def med(v):
    v = [x for x in v if x]
    return statistics.median(v) if v else None


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def fmt(v):
    return "%.0f" % v if v else "-"


def fig_accept(full, pf):
    say("== accept: msg/s with an empty queue and with %d deferred being "
        "retried (ACCEPT_MSGS=%d, %d rounds)" % (SCALE, ACCEPT_MSGS,
                                                  ACCEPT_RUNS))
    empty = Tern("accept-empty")
    res = {"tern empty": [], "tern full": [], "pf empty": [], "pf full": []}
    for _ in range(ACCEPT_RUNS):
        res["tern empty"].append(tern_accept(empty, False))
        res["tern full"].append(tern_accept(full, True))
        if pf:
            res["pf empty"].append(pf.accept(False))
            res["pf full"].append(pf.accept(True))
    te, tf = med(res["tern empty"]), med(res["tern full"])
    for k in sorted(res):
        if res[k]:
            say("accept  rounds %-10s %s" % (k, " ".join(fmt(v)
                                                        for v in res[k])))
    say("accept  tern: empty %s msg/s, full %s msg/s, full/empty %s" % (
        fmt(te), fmt(tf), ratio(tf, te)))
    if pf:
        pe, pff = med(res["pf empty"]), med(res["pf full"])
        say("accept  postfix (%d queued): empty %s msg/s, full %s msg/s, "
            "full/empty %s" % (PF_SCALE, fmt(pe), fmt(pff), ratio(pff, pe)))
        say("accept  tern/postfix: empty %s, full %s" % (ratio(te, pe),
                                                         ratio(tf, pff)))
    rmtree(empty.dir)


def timed_listing(argv):
    """(seconds to the first line, seconds in all, lines) of argv."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE)
    first, lines = None, 0
    while True:
        chunk = p.stdout.read1(1 << 16)
        if not chunk:
            break
        if first is None:
            first = time.monotonic() - t0
        lines += chunk.count(b"\n")
    p.wait()
    return first, time.monotonic() - t0, lines


def drop_caches():
    """Empty the page cache (as root): both queues of a million do not
    fit in this machine's memory at once, so each lister starts from an
    empty cache and warms it with its own queue alone."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def fig_mailq(spool_conf, pf):
    say("== mailq: listing %d messages" % SCALE)
    for args in ([], ["-j"]):
        cmd = [MAILQ, "-C", spool_conf] + args
        drop_caches()
        timed_listing(cmd)               # a warm cache, as in the runs
        runs = [timed_listing(cmd) for _ in range(3)]
        say("mailq %-3s tern: %.2f s in all, first line after %.3f s "
            "(%d lines)" % (" ".join(args), med([r[1] for r in runs]),
                            med([r[0] for r in runs]), runs[0][2]))
        if pf:
            pcmd = ["postqueue", "-c", PF_CONF, "-j" if args else "-p"]
            pf.postfix("start")         # showq lists; stopped after
            wait_port(PF_PORT)
            drop_caches()
            timed_listing(pcmd)
            runs = [timed_listing(pcmd) for _ in range(3)]
            pf.postfix("stop")
            say("mailq %-3s postfix (%d queued): %.2f s in all, first line "
                "after %.3f s (%d lines)" % (
                    " ".join(args), PF_SCALE, med([r[1] for r in runs]),
                    med([r[0] for r in runs]), runs[0][2]))


class Postfix:
    """The private Postfix peer (tests/bench/postfix-peer.sh), its queue
    filled with PF_SCALE deferred messages.  It runs only while its own
    figures are measured, so that its retries never load tern's."""

    def __init__(self):
        self.ok = False
        peer = os.path.join(TOP, "tests/bench/postfix-peer.sh")
        if os.environ.get("NO_POSTFIX") or not ROOT or \
                not shutil.which("postfix"):
            say("postfix: not measured (NO_POSTFIX, not root, or not "
                "installed)")
            return
        self.peer = peer
        subprocess.run(["sh", peer, "start", PFB], stdout=subprocess.DEVNULL)
        if not wait_port(PF_PORT):
            say("postfix: the peer does not answer on %d" % PF_PORT)
            return
        self.ok = self.fill()

    def postfix(self, *args):
        return subprocess.run(["postfix", "-c", PF_CONF] + list(args),
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0

    def count(self, queue):
        n = 0
        for _, _, files in os.walk(os.path.join(PFB, "queue", queue)):
            n += len(files)
        return n

    def fill(self):
        """PF_SEED deferred by accepting them to the sink while nothing
        listens there; then copies up to PF_SCALE, renamed to their
        inodes' ids by postsuper -s."""
        subprocess.run(["postsuper", "-c", PF_CONF, "-d", "ALL"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        argv = ["smtp-source", "-s", "10", "-m", str(PF_SEED), "-l", "4096",
                "-f", "bench@scale.bench.test", "-t",
                "bench@sink.bench.test", "127.0.0.1:%d" % PF_PORT]
        subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=300)
        deadline = time.monotonic() + 120
        while self.count("deferred") < PF_SEED and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        seeds = []
        for d, _, files in os.walk(os.path.join(PFB, "queue", "deferred")):
            seeds += [os.path.join(d, f) for f in files]
        if not seeds:
            say("postfix: no deferred messages to copy")
            return False
        self.postfix("stop")
        t0 = time.monotonic()
        # a directory Postfix made (it makes deferred/X only when needed)
        dst = os.path.dirname(seeds[0])
        st = os.stat(seeds[0])
        now = time.time()
        for i in range(PF_SCALE - len(seeds)):
            # any name: postsuper -s renames it after its inode
            name = os.path.join(dst, "F%07X" % i)
            shutil.copyfile(seeds[i % len(seeds)], name)
            os.chown(name, st.st_uid, st.st_gid)
            os.chmod(name, 0o700)
            # a deferred file's mtime is its next attempt: spread them
            # as tern's (scalegen's RETRY_SPREAD)
            t = now + 60 + i % RETRY_SPREAD
            os.utime(name, (t, t))
        subprocess.run(["postsuper", "-c", PF_CONF, "-s"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        say("postfix: %d deferred messages in its queue (%d accepted, "
            "the rest copied and renamed by postsuper -s in %.0f s)" % (
                self.count("deferred"), len(seeds),
                time.monotonic() - t0))
        return True             # stopped: it runs only for its figures

    def accept(self, full):
        """Postfix's rate; the empty case with its deferred queue moved
        aside (postfix stopped for the move)."""
        deferred = os.path.join(PFB, "queue", "deferred")
        aside = os.path.join(PFB, "queue", "deferred.aside")
        if not full:
            os.rename(deferred, aside)
            os.mkdir(deferred, 0o700)
            st = os.stat(aside)
            os.chown(deferred, st.st_uid, st.st_gid)
            for c in "0123456789ABCDEF":
                os.mkdir(os.path.join(deferred, c), 0o700)
                os.chown(os.path.join(deferred, c), st.st_uid, st.st_gid)
        self.postfix("start")
        try:
            if not wait_port(PF_PORT):
                return None
            return source(PF_PORT, ACCEPT_MSGS)
        finally:
            self.postfix("stop")
            if not full:
                shutil.rmtree(deferred)
                os.rename(aside, deferred)

    def close(self):
        if self.ok:
            subprocess.run(["postsuper", "-c", PF_CONF, "-d", "ALL"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        subprocess.run(["sh", self.peer, "stop", PFB],
                       stdout=subprocess.DEVNULL)


def main():
    say("bench-scale: SCALE=%d on %d CPUs, %s" % (SCALE, os.cpu_count(),
                                                  time.strftime("%F %T")))
    if "mem" in ONLY:
        fig_mem()
    full = None
    if {"startup", "mailq"} & set(ONLY):
        full = Tern("full")
        t0 = time.monotonic()
        # half pending to the sink, half deferred to a refusing port,
        # due over RETRY_SPREAD seconds from a minute from now
        full.generate(SCALE, 50, 60, RETRY_SPREAD)
        say("spool: %d messages generated in %.0f s" % (
            SCALE, time.monotonic() - t0))
    pf = None
    if {"accept", "mailq"} & set(ONLY):
        pf = Postfix()
        if not pf.ok:
            pf = None
    try:
        if "mailq" in ONLY:
            fig_mailq(full.conf, pf)
        if "startup" in ONLY:           # it delivers the pending half
            fig_startup(full)
        if "accept" in ONLY:
            # every message deferred now: the retries fall due
            acc = Tern("accept-full")
            acc.generate(SCALE, 100, 0, RETRY_SPREAD)
            fig_accept(acc, pf)
    finally:
        if pf is not None:
            pf.close()


if __name__ == "__main__":
    sys.exit(main())
