#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""crashtest.py - crash trials: nothing acknowledged is lost (issue 11).

    python3 tests/crashtest.py            # CRASH_TRIALS kills (default 1000)
    python3 tests/crashtest.py --power    # power cuts (POWER_TRIALS, default 50)

Kill mode runs three things at once against one tern that relays mail
to smtpsink.py on loopback (and delivers every fifth message to a local
Maildir):
  - senders: two threads submitting over SMTP (smtplib) and one through
    sendmail(8); every message carries a unique "X-Trial: N" header, and
    N counts as acknowledged when DATA got 250 or sendmail exited 0;
  - the sink, which stores what arrives (the trial numbers are read back
    from its .eml files and from the Maildir);
  - a killer that sends SIGKILL to a random tern process (the master,
    smtpd, the queue runner, a delivery agent or a local job: the
    master's descendants, found through /proc) at random moments, and
    starts the master again when it was the master that died.
At the end the master is up, the senders stop, one more queue run is
asked for (ternq flush), and every acknowledged N must reach the sink.
Duplicates are allowed but counted.  It prints
    "N kills, M acknowledged, 0 lost, D duplicated"
and exits 1 on any loss.

Power mode loads tests/faultshim.c (LD_PRELOAD) into every tern process:
the shim logs creates, renames, unlinks and fsyncs, and at each cut the
driver SIGKILLs the whole process group and throws away what a power
loss would (faultshim.c says what that is), then starts tern again.
The figure is "N power cuts, M acknowledged, 0 lost, D duplicated".
(A dm-flakey or dm-log-writes device would cut power below the file
system; this container has no device-mapper driver, so the shim it is.)

Environment: CRASH_TRIALS, POWER_TRIALS, CRASH_INTERVAL (mean seconds
between kills, default 0.5), CRASH_SEED, TERN_BIN (default the test
build), TERN_KEEP (keep the directories).  Loopback only; every process
is stopped by its PID; every wait is bounded.
"""
import argparse
import os
import random
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from smtpsink import SMTPSink  # noqa: E402

SHIM_SRC = os.path.join(harness.TOP, "tests", "faultshim.c")
LOCAL = harness.daemon_user() + "@tern.test"
TRIAL_RE = re.compile(rb"^X-Trial: (\d+)\r?$", re.M)


class Trial:
    """The tern under trial, its sink, and what was acknowledged."""

    def __init__(self, shim=None, relay_port=None, shim_env=None):
        self.lock = threading.Lock()
        self.next = 0
        self.acked = set()
        self.stop = threading.Event()
        self.paused = threading.Event()   # set: senders hold (power cut)
        self.sinkdir = harness.tempdir("tern-crash-sink-")
        self.sink = SMTPSink(harness.free_port(), self.sinkdir).start()
        self.shim = shim
        self.shim_env = shim_env or {}
        self.groups = []        # process groups of masters started
        self.t = harness.Tern(
            start=False, relay_networks="127.0.0.0/8",
            relayhost="[127.0.0.1]:%d" % (relay_port or self.sink.port),
            connect_timeout="2s", smtp_timeout="10s", retry_interval="1s")
        self.t.write_aliases("postmaster: %s\n" % harness.daemon_user())
        if shim:
            self.undo = os.path.join(self.t.dir, "undo")
            os.mkdir(self.undo)
            os.chmod(self.undo, 0o1777)
        self.start()

    def start(self):
        """Start ternd (under the shim in power mode); waits for 220."""
        env = dict(os.environ)
        if self.shim:
            log = os.path.join(self.undo, "log")
            open(log, "a").close()
            os.chmod(log, 0o666)
            env.update(LD_PRELOAD=self.shim, FAULTSHIM_LOG=log,
                       FAULTSHIM_UNDO=self.undo,
                       ASAN_OPTIONS=env.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0", **self.shim_env)
        t = self.t
        t.logf = open(t.log_path, "ab")
        t.proc = subprocess.Popen(
            [os.path.join(harness.BIN, "ternd"), "-f", "-d", "-c",
             t.conf_path], env=env, stdin=subprocess.DEVNULL,
            stdout=t.logf, stderr=t.logf, start_new_session=True)
        self.groups.append(t.proc.pid)
        if not harness.wait_for(t.is_listening, 30):
            raise AssertionError("ternd did not start:\n" + t.log()[-3000:])

    def number(self):
        with self.lock:
            self.next += 1
            return self.next

    def rcpt(self, n):
        """Every fifth message goes to a local Maildir, the rest to the
        sink: local agents and jobs are among the processes killed."""
        return LOCAL if n % 5 == 0 else "sink@remote.test"

    def message(self, n, how):
        return ("From: crash@tern.test\r\nTo: " + self.rcpt(n) + "\r\n"
                "Subject: trial %d\r\nX-Trial: %d\r\n\r\n"
                "sent by %s\r\n" % (n, n, how)).encode()

    def ack(self, n):
        with self.lock:
            self.acked.add(n)

    def smtp_sender(self):
        """Messages over SMTP, a few per session, until told to stop."""
        while not self.stop.is_set():
            if self.paused.is_set():
                time.sleep(0.02)
                continue
            try:
                with smtplib.SMTP("127.0.0.1", self.t.port,
                                  timeout=10) as s:
                    for _ in range(random.randint(1, 4)):
                        if self.stop.is_set() or self.paused.is_set():
                            break
                        n = self.number()
                        s.sendmail("crash@tern.test", [self.rcpt(n)],
                                   self.message(n, "smtp"))
                        self.ack(n)   # sendmail() raises unless 250
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)

    def sendmail_sender(self):
        """Messages through sendmail(8) and the submission socket."""
        sm = os.path.join(harness.BIN, "sendmail")
        while not self.stop.is_set():
            if self.paused.is_set():
                time.sleep(0.02)
                continue
            n = self.number()
            try:
                p = subprocess.run(
                    [sm, "-C", self.t.conf_path, "-i", "-f",
                     "crash@tern.test", self.rcpt(n)],
                    input=self.message(n, "sendmail"),
                    capture_output=True, timeout=20)
                if p.returncode == 0:
                    self.ack(n)
                else:
                    time.sleep(0.02)
            except subprocess.TimeoutExpired:
                pass

    def processes(self):
        """"{pid: name} of the master and all its descendants, named from
        the log ("tern/smtpd[PID]")."""
        kids = harness.proc_children()
        names = dict((int(p), n) for n, p in
                     re.findall(r"tern/(\w+)\[(\d+)\]", self.t.log()))
        names[self.t.proc.pid] = "master"
        out, todo = {}, [(self.t.proc.pid, None)]
        while todo:
            pid, parent = todo.pop()
            # one that has not logged yet is named by its parent
            out[pid] = names.get(pid) or "%s's child" % out.get(parent, "?")
            todo += [(k, pid) for k in kids.get(pid, [])]
        return out

    def kill_one(self, counts):
        """SIGKILL one random tern process; restart a dead master."""
        procs = self.processes()
        pid = random.choice(sorted(procs))
        name = procs[pid]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        counts[name] = counts.get(name, 0) + 1
        if pid == self.t.proc.pid:
            self.t.proc.wait(10)
            self.t.logf.close()
            self.start()
        return True

    def power_cut(self):
        """Everything dies at once; the shim's unsynced work is undone."""
        self.paused.set()
        os.killpg(self.t.proc.pid, signal.SIGKILL)
        self.t.proc.wait(10)
        self.t.logf.close()
        # the group is gone when no process of it is left (bounded)
        harness.wait_for(lambda: not group_alive(self.t.proc.pid), 10)
        replay_undo(self.undo)
        self.start()
        self.paused.clear()

    def arrivals(self):
        """{trial number: times it reached the sink or the Maildir}."""
        got = {}
        md = os.path.join(self.t.mail, harness.daemon_user())
        paths = [os.path.join(self.sinkdir, n)
                 for n in os.listdir(self.sinkdir) if n.endswith(".eml")]
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            if os.path.isdir(d):
                paths += [os.path.join(d, n) for n in os.listdir(d)]
        for p in paths:
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except FileNotFoundError:       # moved from new/ to cur/
                continue
            for m in TRIAL_RE.findall(data):
                got[int(m)] = got.get(int(m), 0) + 1
        return got

    def flush(self):
        subprocess.run([os.path.join(harness.BIN, "ternq"), "-C",
                        self.t.conf_path, "flush"], capture_output=True,
                       timeout=30)

    def close(self, keep):
        self.stop.set()
        self.t.stop()
        for pgid in self.groups:        # what a killed master left
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.sink.stop()
        if not keep:
            shutil.rmtree(self.t.dir, ignore_errors=True)
            shutil.rmtree(self.sinkdir, ignore_errors=True)


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def build_shim():
    """cc tests/faultshim.c into build/faultshim.so (when it is older)."""
    out = os.path.join(harness.TOP, "build", "faultshim.so")
    if not os.path.exists(out) or \
            os.path.getmtime(out) < os.path.getmtime(SHIM_SRC):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-shared", "-fPIC", "-o", out, SHIM_SRC, "-ldl"],
                       check=True, timeout=120)
    os.chmod(out, 0o755)
    return out


def replay_undo(undo):
    """What a power cut leaves of the shim's log (faultshim.c): names
    made or removed in a directory that no later fsync of it made
    durable are undone, newest first; then every file created or written
    under the shim is cut back to its last fsync'd size.  The log and
    the backups go, for the next round."""
    with open(os.path.join(undo, "log")) as f:
        recs = [line.split() for line in f if line.endswith("\n")]
    synced_at = {}                     # directory -> index of its last D
    size = {}                          # dev:ino -> size on disk
    for i, r in enumerate(recs):
        if r[0] == "D":
            synced_at[r[1]] = i
        elif r[0] == "C":
            size[r[1]] = 0
        elif r[0] == "W":
            size.setdefault(r[1], int(r[2]))
        elif r[0] == "S":
            size[r[1]] = int(r[2])

    def durable(i, path):
        return synced_at.get(os.path.dirname(path), -1) > i

    def exists(p):
        return os.path.lexists(p)
    for i in range(len(recs) - 1, -1, -1):
        r = recs[i]
        if r[0] == "C" and not durable(i, r[2]) and exists(r[2]):
            st = os.stat(r[2])
            if "%d:%d" % (st.st_dev, st.st_ino) == r[1]:
                os.unlink(r[2])
        elif r[0] == "R" and not durable(i, r[2]):
            if exists(r[2]):
                os.rename(r[2], r[1])
            if r[3] != "-" and exists(r[3]):
                os.link(r[3], r[2])
        elif r[0] == "U" and not durable(i, r[1]):
            if r[2] != "-" and exists(r[2]) and not exists(r[1]):
                os.link(r[2], r[1])
    top = os.path.dirname(undo)
    for d, _, files in os.walk(top):
        if d == undo:
            continue
        for name in files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            key = "%d:%d" % (st.st_dev, st.st_ino)
            if key in size and st.st_size > size[key]:
                os.truncate(p, size[key])
    for name in os.listdir(undo):
        os.unlink(os.path.join(undo, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--power", action="store_true",
                    help="power cuts through the LD_PRELOAD shim")
    ap.add_argument("--trials", type=int)
    args = ap.parse_args()
    seed = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
    random.seed(seed)
    mean = float(os.environ.get("CRASH_INTERVAL", "0.5"))
    if args.power:
        n_trials = args.trials or int(os.environ.get("POWER_TRIALS", "50"))
    else:
        n_trials = args.trials or int(os.environ.get("CRASH_TRIALS", "1000"))
    interrupted = []

    def interrupt(signum, frame):
        # No exception at a random place (say inside Popen, with a new
        # master half started): the trial stops at the next kill.
        interrupted.append(signum)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    tr = Trial(shim=build_shim() if args.power else None)
    keep = bool(os.environ.get("TERN_KEEP"))
    lost = True
    try:
        senders = [threading.Thread(target=tr.smtp_sender, daemon=True)
                   for _ in range(2)]
        senders.append(threading.Thread(target=tr.sendmail_sender,
                                        daemon=True))
        for s in senders:
            s.start()
        counts, kills = {}, 0
        start = time.monotonic()
        while kills < n_trials and not interrupted:
            time.sleep(random.uniform(0, 2 * mean))
            if args.power:
                tr.power_cut()
                kills += 1
            elif tr.kill_one(counts):
                kills += 1
        tr.stop.set()
        if interrupted:
            print("interrupted after %d kills" % kills)
            return 2
        for s in senders:
            s.join(30)
        # One more queue run: every acknowledged message must arrive.
        acked = set(tr.acked)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tr.flush()
            if acked <= set(tr.arrivals()):
                break
            time.sleep(1)
        got = tr.arrivals()
        missing = sorted(acked - set(got))
        dup = sum(c - 1 for n, c in got.items() if c > 1)
        what = "power cuts" if args.power else "kills"
        print("%d %s, %d acknowledged, %d lost, %d duplicated" %
              (kills, what, len(acked), len(missing), dup))
        print("(seed %d, %.0f s, %d sent, %d arrived unacknowledged%s)" % (
            seed, time.monotonic() - start, tr.next,
            len(set(got) - acked), "" if args.power else ", killed: " +
            ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
        if missing:
            keep = True
            print("lost:", missing[:50], "in", tr.t.dir, tr.sinkdir)
        lost = bool(missing)
    finally:
        tr.close(keep)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
