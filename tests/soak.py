#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""soak.py - the soak run of issue 11: `make soak`, not part of make test.

    python3 tests/soak.py                 # SOAK_MSGS messages (100000)

One tern (the release build, bin/, unless TERN_BIN says otherwise) on
loopback relays SOAK_MSGS messages, submitted over SMTP by SOAK_CLIENTS
processes (default 8, smtplib, 50 messages a session), each with a unique
"X-Soak: N" header, to two sinks (tests/soaksink.c, built as
build/soaksink) through a transport map:

  - every message has a recipient at sink.soak.test;
  - every 20th also one at down.soak.test (about 5 % of the recipients),
    whose sink is not listening (connection refused) until half of the
    messages have been accepted, and then comes up;
  - both sinks drop SOAK_DROP percent (10) of their connections at
    random moments: before the greeting, on a command, within the data,
    or after the final "." before the 250 (the message then counts as
    stored and a second copy of it as legitimate: "possibly duplicated").

retry_interval is 2s, so what was deferred comes back soon.  At the end
(every acknowledged message at its sinks, or a bounded wait) it checks
that each acknowledged N reached each of its destinations exactly once,
or more only where that sink dropped after the final "."; nothing else
arrived (no notices, no unacknowledged N); the spool's queue, state and
tmp are empty; and the open descriptors of the master and the queue
runner, counted idle before and after, did not grow.  It prints the
rates (acceptance, and overall: acknowledged messages over the time from
the first submission to the last delivery), the peak resident set
(VmHWM, sampled from /proc every SOAK_SAMPLE seconds, 0.25) of every
process kind and its peak private memory (smaps_rollup: a forked
agent's VmHWM counts the queue runner's pages it shares), the
descriptors, the drops and the duplicates, and exits 1 on any failure
(and gives up when no delivery happened for a minute: a hang).  A
remote agent that lives less than a sample period may be missed by the
sampler; the agents' figure is the largest seen.

Environment: SOAK_MSGS, SOAK_CLIENTS, SOAK_DROP, SOAK_SEED, SOAK_SAMPLE,
TERN_BIN, TERN_KEEP (keep the directories).  Loopback only; every
process is stopped by its PID; every wait is bounded.
"""
import multiprocessing
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

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TERN_BIN", os.path.join(TOP, "bin"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SINK_SRC = os.path.join(TOP, "tests", "soaksink.c")
SINK_BIN = os.path.join(TOP, "build", "soaksink")
SENDER = "soak@sink.soak.test"     # a notice would reach the sink, seen
PER_SESSION = 50
STALL = 60
NAME_RE = re.compile(rb"tern/(\w+)\[(\d+)\]")


def build_sink():
    """cc tests/soaksink.c into build/soaksink when it is older (make soak
    builds it too)."""
    if not os.path.exists(SINK_BIN) or \
            os.path.getmtime(SINK_BIN) < os.path.getmtime(SINK_SRC):
        os.makedirs(os.path.dirname(SINK_BIN), exist_ok=True)
        subprocess.run(["cc", "-O2", "-std=c11", "-D_DEFAULT_SOURCE",
                        "-Wall", "-Wextra", "-Werror", "-o", SINK_BIN,
                        SINK_SRC], check=True, timeout=120)


class Sink:
    """One soaksink process on a loopback port, its events in a log."""

    def __init__(self, name, port, workdir, drop, seed):
        self.name, self.port, self.drop, self.seed = name, port, drop, seed
        self.log = os.path.join(workdir, "sink-%s.log" % name)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [SINK_BIN, "-p", str(self.port), "-l", self.log,
             "-d", str(self.drop), "-s", str(self.seed)],
            stdin=subprocess.DEVNULL)
        if not harness.wait_for(self.answers, 10):
            raise AssertionError("soaksink on %d did not start" % self.port)
        # the probe's own connection is in the log: not counted below
        return self

    def answers(self):
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc:
            harness.stop_pid(self.proc)

    def events(self):
        """({id: times stored}, {id: times dropped after "."},
        {drop kind: count}, connections)."""
        got, maybe, drops, conns = {}, {}, {}, 0
        try:
            with open(self.log) as f:
                for line in f:
                    kind, _, arg = line.rstrip("\n").partition(" ")
                    if kind == "D":
                        got[arg] = got.get(arg, 0) + 1
                    elif kind == "P":
                        maybe[arg] = maybe.get(arg, 0) + 1
                    elif kind == "X":
                        drops[arg] = drops.get(arg, 0) + 1
                    elif kind == "C":
                        conns += 1
        except FileNotFoundError:
            pass
        return got, maybe, drops, conns


def destinations(n):
    """The domains message n goes to: the sink, and every 20th the one
    that is down for the first half."""
    return ("sink", "down") if n % 20 == 0 else ("sink",)


def message(n):
    to = ", ".join("r%d@%s.soak.test" % (n, d) for d in destinations(n))
    return ("From: %s\r\nTo: %s\r\nSubject: soak %d\r\nX-Soak: %d\r\n\r\n"
            "message %d of the soak run\r\n" % (SENDER, to, n, n, n)
            ).encode() + (b"0123456789abcdef" * 4 + b"\r\n") * 16


def client(port, w, nclients, total, counts, outdir):
    """Submit messages w+1, w+1+nclients, ... in sessions of PER_SESSION;
    the acknowledged numbers go to outdir/acked-W, one a line."""
    ids = list(range(w + 1, total + 1, nclients))
    acked = []
    i = 0
    while i < len(ids):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                for _ in range(PER_SESSION):
                    if i >= len(ids):
                        break
                    n = ids[i]
                    i += 1
                    s.sendmail(SENDER, ["r%d@%s.soak.test" % (n, d)
                                        for d in destinations(n)],
                               message(n))
                    acked.append(n)     # sendmail() raises unless 250
                    counts[w] += 1
        except (OSError, smtplib.SMTPException) as e:
            print("client %d: %s" % (w, e), file=sys.stderr)
            time.sleep(0.1)
    with open(os.path.join(outdir, "acked-%d" % w), "w") as f:
        f.write("".join("%d\n" % n for n in acked))


def descendants(root):
    kids, out, todo = harness.proc_children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def vm_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def private_kb(pid):
    """Private_Clean + Private_Dirty of smaps_rollup: what pid does not
    share (an agent's VmHWM counts the runner's pages it forked with)."""
    total = None
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total = (total or 0) + int(line.split()[1])
    except OSError:
        pass
    return total


def fd_list(pid):
    d = "/proc/%d/fd" % pid
    out = []
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass
    return sorted(out)


class Watch:
    """Samples the peak RSS of every tern process; names them from the
    log ("tern/KIND[PID]"), read as it grows."""

    def __init__(self, master, log_path, period):
        self.master, self.log_path, self.period = master, log_path, period
        self.peak = {}          # pid -> max VmHWM seen (kB)
        self.private = {}       # pid -> max private memory seen (kB)
        self.names = {master: "master"}
        self.offset = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def read_names(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        cut = data.rfind(b"\n") + 1     # whole lines only
        self.offset += cut
        for kind, pid in NAME_RE.findall(data[:cut]):
            self.names.setdefault(int(pid), kind.decode())

    def sample(self):
        for pid in descendants(self.master):
            hwm = vm_kb(pid, "VmHWM")
            if hwm is not None and hwm > self.peak.get(pid, 0):
                self.peak[pid] = hwm
            own = private_kb(pid)
            if own is not None and own > self.private.get(pid, 0):
                self.private[pid] = own
        self.read_names()

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.period)

    def pid_of(self, kind):
        self.read_names()
        pids = [p for p, k in self.names.items() if k == kind and
                os.path.exists("/proc/%d" % p)]
        return pids[0] if pids else None

    def by_kind(self):
        """{kind: (peak kB, peak private kB, processes seen)}."""
        self.read_names()
        out = {}
        for pid, kb in self.peak.items():
            kind = self.names.get(pid, "unnamed")
            top, own, count = out.get(kind, (0, 0, 0))
            out[kind] = (max(top, kb), max(own, self.private.get(pid, 0)),
                         count + 1)
        return out


def spool_left(spool):
    left = harness.spool_files(spool, "queue") + \
        harness.spool_files(spool, "state")
    tmp = os.path.join(spool, "tmp")
    if os.path.isdir(tmp):
        left += [os.path.join(tmp, n) for n in os.listdir(tmp)]
    return left


def idle_fds(watch, qmgr, timeout=30):
    """The master's and the queue runner's descriptors once they are
    alone: no agent running, and no free smtpd (each holds a socket to
    the master; smtpd_max_idle is 2s)."""
    def settled():
        return len(descendants(watch.master)) == 2
    harness.wait_for(settled, timeout, 0.1)
    time.sleep(0.5)
    return fd_list(watch.master), fd_list(qmgr)


def main():
    total = int(os.environ.get("SOAK_MSGS", "100000"))
    nclients = int(os.environ.get("SOAK_CLIENTS", "8"))
    drop = int(os.environ.get("SOAK_DROP", "10"))
    seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
    period = float(os.environ.get("SOAK_SAMPLE", "0.25"))
    keep = bool(os.environ.get("TERN_KEEP"))
    random.seed(seed)
    build_sink()
    t = harness.Tern(
        start=False, relay_networks="127.0.0.0/8", retry_interval="2s",
        connect_timeout="2s", smtp_timeout="10s", max_connections="200",
        max_connections_per_ip="200", smtpd_max_idle="2s",
        # the log is a file here (stderr), and tern's processes may not
        # write a file past 2 * max_message_size + 16M: ~100 MB of log
        max_message_size="256M")
    work = t.dir
    sinks = {"sink": Sink("sink", harness.free_port(), work, drop, seed),
             "down": Sink("down", harness.free_port(), work, drop, seed + 1)}
    transport = os.path.join(work, "transport")
    with open(transport, "w") as f:
        for name, s in sinks.items():
            f.write("%s.soak.test [127.0.0.1]:%d\n" % (name, s.port))
    t.write_conf(transport=transport)
    failures = []
    procs = []
    try:
        sinks["sink"].start()
        # no -d: a debug log of 100,000 sessions would be the bottleneck
        t.logf = open(t.log_path, "ab")
        t.proc = subprocess.Popen(
            [os.path.join(harness.BIN, "ternd"), "-f", "-c", t.conf_path],
            stdin=subprocess.DEVNULL, stdout=t.logf, stderr=t.logf,
            start_new_session=True)
        if not harness.wait_for(t.is_listening, 30):
            raise AssertionError("ternd did not start:\n" + t.log())
        watch = Watch(t.proc.pid, t.log_path, period)
        harness.wait_for(lambda: watch.pid_of("qmgr"), 10)
        qmgr = watch.pid_of("qmgr")
        fds_before = idle_fds(watch, qmgr)
        watch.thread.start()
        print("soak: %d messages, %d clients, drop %d%%, seed %d, %s, "
              "work %s" % (total, nclients, drop, seed, harness.BIN, work),
              flush=True)

        counts = multiprocessing.Array("l", nclients, lock=False)
        start = time.monotonic()
        for w in range(nclients):
            p = multiprocessing.Process(
                target=client,
                args=(t.port, w, nclients, total, counts, work))
            p.start()
            procs.append(p)
        half_at = None
        while any(p.is_alive() for p in procs):
            if half_at is None and sum(counts) >= total // 2:
                sinks["down"].start()
                half_at = time.monotonic() - start
            time.sleep(0.05)
        inject_end = time.monotonic()
        for p in procs:
            p.join(10)
        if half_at is None:
            sinks["down"].start()
            half_at = inject_end - start
        acked = set()
        for w in range(nclients):
            with open(os.path.join(work, "acked-%d" % w)) as f:
                acked.update(int(x) for x in f)
        print("soak: %d acknowledged in %.1f s; down.soak.test up at "
              "%.1f s" % (len(acked), inject_end - start, half_at),
              flush=True)

        # Wait for the last delivery: every acknowledged message at each
        # of its sinks and the spool empty; bounded, and given up after
        # STALL seconds without a new delivery (a hang).
        want = {d: {str(n) for n in acked if d in destinations(n)}
                for d in sinks}
        deadline = time.monotonic() + max(300, total / 50)
        last, seen, moved = None, -1, time.monotonic()
        while time.monotonic() < deadline:
            got = {d: sinks[d].events()[0] for d in sinks}
            done = all(want[d] <= set(got[d]) for d in sinks)
            if done and last is None:
                last = time.monotonic()
            if done and not spool_left(t.spool):
                break
            now = sum(len(g) for g in got.values())
            if now != seen:
                seen, moved = now, time.monotonic()
            elif time.monotonic() - moved > STALL:
                failures.append("no delivery for %d s" % STALL)
                break
            time.sleep(1)
        end = last or time.monotonic()
        watch.stop.set()
        watch.thread.join(10)
        watch.sample()
        fds_after = idle_fds(watch, qmgr)
        left = spool_left(t.spool)
        mailq = subprocess.run(
            [os.path.join(harness.BIN, "mailq"), "-C", t.conf_path],
            capture_output=True, text=True, timeout=60).stdout

        # The figures.
        elapsed = end - start
        print("rate: %d messages accepted in %.1f s (%.0f msg/s); all "
              "delivered %.1f s after the first submission (%.0f msg/s "
              "overall)" % (len(acked), inject_end - start,
                            len(acked) / (inject_end - start), elapsed,
                            len(acked) / elapsed))
        print("peak RSS (VmHWM), and peak private memory (smaps_rollup), "
              "largest of each kind:")
        for kind, (kb, own, count) in sorted(watch.by_kind().items()):
            print("  %-8s %7d kB  private %7d kB  (%d processes sampled)" %
                  (kind, kb, own, count))
        for who, b, a in (("master", fds_before[0], fds_after[0]),
                          ("qmgr", fds_before[1], fds_after[1])):
            print("open descriptors: %-6s before %d, after %d" %
                  (who, len(b), len(a)))
            if len(a) > len(b):
                failures.append("%s leaked descriptors: %s" % (who, sorted(
                    set(a) - set(b)) or a))
        dup_total = 0
        for d, s in sinks.items():
            got, maybe, drops, conns = s.events()
            lost = sorted(want[d] - set(got), key=int)
            dups = {i: c - 1 for i, c in got.items() if c > 1}
            bad = {i: c for i, c in dups.items() if c > maybe.get(i, 0)}
            extra = sorted(set(got) - want[d])
            dup_total += sum(dups.values())
            print("%s.soak.test: %d connections, dropped %s; %d stored, "
                  "%d lost, %d duplicated (all after the final \".\": %d "
                  "such drops), %d unexplained, %d unexpected" % (
                      d, conns, ", ".join("%s %d" % kv for kv in
                                          sorted(drops.items())) or "none",
                      sum(got.values()), len(lost), sum(dups.values()),
                      sum(maybe.values()), len(bad), len(extra)))
            if lost:
                failures.append("%s: %d lost, first %s" % (d, len(lost),
                                                           lost[:20]))
            if bad:
                failures.append("%s: unexplained duplicates %s" %
                                (d, sorted(bad.items())[:20]))
            if extra:
                failures.append("%s: unexpected arrivals %s" %
                                (d, extra[:20]))
        print("duplicates: %d, all where a sink dropped after the final "
              "\".\"" % dup_total if not any("unexplained" in f for f in
                                             failures) else
              "duplicates: %d" % dup_total)
        print("queue: %d files left in the spool; mailq: %s" % (
            len(left), mailq.strip().splitlines()[-1] if mailq.strip()
            else "(nothing)"))
        if len(acked) != total:
            failures.append("%d of %d messages not acknowledged" %
                            (total - len(acked), total))
        if left:
            failures.append("spool not empty: %s" % left[:10])
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
        t.stop()
        for s in sinks.values():
            s.stop()
    for f in failures:
        print("FAIL:", f)
    if failures:
        keep = True
        print("kept:", work)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    print("soak: %s" % ("FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(2))
    sys.exit(main())
