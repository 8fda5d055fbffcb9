# SPDX-License-Identifier: ISC
"""bench.py - the measuring half of `make bench` (bench.sh starts servers).

Measures each server given (tern and/or the Postfix peer), alternating
between them run by run, and prints a table:

  accept 1/conn    smtp-source -s 20 -m MSGS -l 4096, one message per
                   connection, to bench@discard.bench.test
  accept 10/conn   smtp-source -d -s 20 -m 200 -l 4096 repeated MSGS/200
                   times: -d keeps each session open and the 20 sessions
                   share the 200 messages, so a connection carries 10 on
                   average (8-12 seen); smtp-source has no exact
                   per-connection count
  idle memory      mem.py: private memory of the processes holding 50 idle
                   sessions (after EHLO), divided by 50
  relay            smtp-sink -M N on the sink port; N messages injected to
                   bench@sink.bench.test; time from the first injection
                   until smtp-sink exits (it has all N)
  local            smtp-source -s 20 -m LOCAL_MSGS -l 4096, one message
                   per connection, to the server's local Maildir user
                   (tern: bench@tern-bench.bench.test, an alias of the
                   mailbox user; Postfix: bench@maildir.bench.test, its
                   virtual(8)); time from the first injection until every
                   message is a file in the Maildir's new/
  latency          lat.py: one message at a time, from the server's 250 to
                   arrival at a sink, median over COUNT
  tls              tlsload (tlsload.c, which bench.sh compiles): 20
                   concurrent sessions for TLS_SECS seconds, each
                   connect, EHLO, STARTTLS, handshake resuming the
                   worker's previous TLS session (ticket), EHLO, one
                   4096-byte message to bench@discard.bench.test, QUIT;
                   completed sessions per second.  Only servers that
                   offer STARTTLS.  With the master's pid known, also the
                   server's CPU time per session (all its processes, with
                   reaped children): the rate is bounded by the load
                   client, which shares the machine, the CPU time is not
  tls full         the same without resumption (every handshake a full
                   one); only when asked for, with --only tlsfull
  idle TLS memory  mem.py --tls: as idle memory, but each of the 50
                   sessions has done STARTTLS, a handshake and EHLO;
                   growth of the server's other processes (Postfix's
                   tlsmgr, anvil...) is added when the master's pid is
                   known

Before every run the server's queue must be empty (bounded wait), so one
server's background deliveries never overlap the other's measurement.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import lat
import mem

FROM = "from@bench.test"
SESSIONS = 20
MSGLEN = 4096


def log(msg):
    print(msg, flush=True)


class Server:
    def __init__(self, name, port, queue_dirs, maildir=None, local=None):
        self.name = name
        self.port = port
        self.queue_dirs = queue_dirs
        self.maildir = maildir      # the local user's Maildir
        self.local = local          # the address that reaches it
        self.res = {}
        self.stuck = 0
        self.pid = None             # the master, for mem.py's helpers

    def settle(self, quiet=2.0, limit=60.0):
        """After a relay run: smtp-sink exits on its Nth message without
        answering it or the others in flight, so the server defers those
        (retry in 30m).  Wait until the queue stops changing and accept
        what is left as stuck."""
        deadline = time.monotonic() + limit
        last, since = self.queued(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            n = self.queued()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        if last > self.stuck:
            log("  %s: %d deferred by the exiting smtp-sink"
                % (self.name, last - self.stuck))
            self.stuck = last

    def queued(self):
        """Messages still in the queue (files under the queue dirs)."""
        n = 0
        for top in self.queue_dirs:
            for _, _, files in os.walk(top):
                n += len(files)
        return n

    def drain(self, limit=120.0):
        """Wait until only the known-stuck messages are left."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.queued() <= self.stuck:
                return True
            time.sleep(0.2)
        log("  %s: queue not empty after %.0fs (%d files)"
            % (self.name, limit, self.queued()))
        return False


def run_cmd(argv, timeout):
    """Run one load-generator command; return True on success."""
    try:
        p = subprocess.run(argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        log("  timeout: %s" % " ".join(argv))
        return False
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()
        log("  failed (%d): %s: %s" % (p.returncode, " ".join(argv),
                                        err[-1] if err else ""))
        return False
    return True


def source_argv(port, msgs, rcpt, per_conn):
    argv = ["smtp-source", "-s", str(SESSIONS), "-m", str(msgs),
            "-l", str(MSGLEN), "-f", FROM, "-t", rcpt]
    if per_conn > 1:
        argv.insert(1, "-d")
    return argv + ["127.0.0.1:%d" % port]


def accept_run(srv, msgs, per_conn):
    """One accept-rate run; messages per second or None."""
    rcpt = "bench@discard.bench.test"
    t0 = time.monotonic()
    if per_conn == 1:
        if not run_cmd(source_argv(srv.port, msgs, rcpt, 1), 600):
            return None
    else:
        batch = SESSIONS * per_conn
        for _ in range(max(1, msgs // batch)):
            if not run_cmd(source_argv(srv.port, batch, rcpt, per_conn), 300):
                return None
        msgs = max(1, msgs // batch) * batch
    return msgs / (time.monotonic() - t0)


def wait_listen(port, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def relay_run(srv, msgs, sink_port):
    """One relay run: msgs per second until smtp-sink has all, or None."""
    limit = max(30.0, msgs / 20.0)     # give up below 20 msg/s
    argv = ["smtp-sink", "-M", str(msgs), "127.0.0.1:%d" % sink_port, "256"]
    if os.geteuid() == 0:
        argv[1:1] = ["-u", "nobody"]    # smtp-sink refuses to run as root
    sink = subprocess.Popen(argv,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        if not wait_listen(sink_port):
            log("  smtp-sink did not listen on %d" % sink_port)
            return None
        t0 = time.monotonic()
        if not run_cmd(source_argv(srv.port, msgs, "bench@sink.bench.test",
                                   1), limit):
            return None
        try:
            sink.wait(timeout=max(1.0, limit - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            log("  %s: smtp-sink did not get all %d messages in %.0fs"
                % (srv.name, msgs, limit))
            return None
        return msgs / (time.monotonic() - t0)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
        srv.settle()


def maildir_count(srv):
    try:
        return len(os.listdir(os.path.join(srv.maildir, "new")))
    except OSError:
        return 0


def local_run(srv, msgs):
    """One local-delivery run: msgs per second until all are in new/."""
    limit = max(30.0, msgs / 20.0)     # give up below 20 msg/s
    before = maildir_count(srv)
    t0 = time.monotonic()
    if not run_cmd(source_argv(srv.port, msgs, srv.local, 1), limit):
        return None
    while maildir_count(srv) < before + msgs:
        if time.monotonic() - t0 > limit:
            log("  %s: %d of %d in the Maildir after %.0fs"
                % (srv.name, maildir_count(srv) - before, msgs, limit))
            return None
        time.sleep(0.005)
    return msgs / (time.monotonic() - t0)


def offers_starttls(port):
    """Whether the server on port advertises STARTTLS after EHLO."""
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            f = s.makefile("rb")
            lines = []
            if mem._read_reply(f) != 220:
                return False
            s.sendall(b"EHLO probe.bench.test\r\n")
            for _ in range(100):
                line = f.readline()
                lines.append(line[4:].strip().upper())
                if len(line) < 4 or line[3:4] != b"-":
                    break
            s.sendall(b"QUIT\r\n")
            return b"STARTTLS" in lines
    except (OSError, ValueError):
        return False


def tree_cpu(root):
    """CPU seconds used so far by root and everything below it, with
    the children they have reaped (utime + stime + cutime + cstime)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in mem.descendants(root) | {root}:
        try:
            with open("/proc/%d/stat" % pid) as fp:
                st = fp.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        total += sum(int(x) for x in f[11:15])
    return total / tck


def tls_run(srv, tlsload, secs, resume, cpus):
    """One TLS run with tlsload; sessions per second or None.  With the
    server's master pid known, also logs the server's CPU time per
    session (all its processes), which the machine's other load
    disturbs less than the rate."""
    argv = [tlsload, "-c", str(SESSIONS), "-t", str(secs), "-l",
            str(MSGLEN), "-f", FROM, "-r", "bench@discard.bench.test",
            "127.0.0.1:%d" % srv.port]
    if not resume:
        argv.insert(1, "-R")
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    cpu0 = tree_cpu(srv.pid) if srv.pid else None
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=secs + 120)
    except subprocess.TimeoutExpired:
        log("  timeout: %s" % " ".join(argv))
        return None
    srv_cpu = "n/a"
    out = dict(kv.split("=", 1) for kv in p.stdout.decode().split()
               if "=" in kv)
    err = p.stderr.decode(errors="replace").strip()
    if err:
        log("  %s: %s" % (srv.name, err.splitlines()[-1]))
    if p.returncode != 0 or "rate" not in out:
        log("  failed (%d): %s" % (p.returncode, " ".join(argv)))
        return None
    if cpu0 is not None and int(out["sessions"]) > 0:
        ms = 1000 * (tree_cpu(srv.pid) - cpu0) / int(out["sessions"])
        srv.res.setdefault(label_cpu(resume), []).append(ms)
        srv_cpu = "%.2f" % ms
    log("    %s: %s sessions, %s failed, %s resumed, %s ms/session,"
        " server CPU %s ms/session, client CPU %s ms/session"
        % (srv.name, out["sessions"], out["failures"], out["resumed"],
           out["ms_per_session"], srv_cpu, out["client_cpu_ms"]))
    if int(out["failures"]) > 0:
        return None
    return float(out["rate"])


def label_cpu(resume):
    return "tls cpu" if resume else "tls full cpu"


def stats(vals):
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def alternate(servers, runs, label, fn, unit="msg/s"):
    """Run fn(srv) runs times per server, alternating; store the rates."""
    for i in range(runs):
        order = servers if i % 2 == 0 else list(reversed(servers))
        for srv in order:
            if not srv.drain():
                continue
            r = fn(srv)
            log("  %-14s run %d/%d %-8s %s" % (label, i + 1, runs, srv.name,
                "%.0f %s" % (r, unit) if r else "FAILED"))
            if r:
                srv.res.setdefault(label, []).append(r)


def fmt_rate(srv, label, unit="msg/s"):
    s = stats(srv.res.get(label, []))
    if s is None:
        return "%s n/a" % srv.name
    return "%s %.0f %s (%.0f-%.0f)" % (srv.name, s[0], unit, s[1], s[2])


def ratio(servers, label, key=lambda s, l: stats(s.res.get(l, []))):
    if len(servers) < 2:
        return ""
    a, b = key(servers[0], label), key(servers[1], label)
    if not a or not b or not b[0]:
        return ""
    return ", ratio %.2f" % (a[0] / b[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern-port", type=int)
    ap.add_argument("--tern-queue", action="append", default=[])
    ap.add_argument("--pf-port", type=int)
    ap.add_argument("--pf-queue", action="append", default=[])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--msgs", type=int, default=5000)
    ap.add_argument("--relay-msgs", type=int, default=2000)
    ap.add_argument("--relay-runs", type=int, default=3)
    ap.add_argument("--mem-sessions", type=int, default=50)
    ap.add_argument("--lat-count", type=int, default=20)
    ap.add_argument("--sink-port", type=int, default=2726)
    ap.add_argument("--tern-maildir")
    ap.add_argument("--pf-maildir")
    ap.add_argument("--local-msgs", type=int, default=1000)
    ap.add_argument("--local-runs", type=int, default=5)
    ap.add_argument("--tern-pid", type=int)
    ap.add_argument("--pf-pid", type=int)
    ap.add_argument("--tlsload", help="the compiled tlsload client")
    ap.add_argument("--tls-secs", type=float, default=10)
    ap.add_argument("--tls-runs", type=int)
    ap.add_argument("--client-cpus",
                    help="taskset -c list for tlsload (default: any)")
    ap.add_argument("--only", default="",
                    help="comma-separated: accept,relay,local,mem,lat,"
                    "tls,tlsmem (and tlsfull, never by default)")
    a = ap.parse_args()

    servers = []
    if a.tern_port:
        servers.append(Server("tern", a.tern_port, a.tern_queue,
                              a.tern_maildir, "bench@tern-bench.bench.test"))
        servers[-1].pid = a.tern_pid
    if a.pf_port:
        servers.append(Server("postfix", a.pf_port, a.pf_queue,
                              a.pf_maildir, "bench@maildir.bench.test"))
        servers[-1].pid = a.pf_pid
    if not servers:
        sys.exit("bench.py: no server to measure")

    only = set(a.only.split(",")) if a.only else None

    def want(part):
        return only is None or part in only

    for per in (1, 10) if want("accept") else ():
        label = "accept %d/conn" % per
        log("%s: %d runs x %d messages, %d sessions, %d bytes"
            % (label, a.runs, a.msgs, SESSIONS, MSGLEN))
        alternate(servers, a.runs, label,
                  lambda s, per=per: accept_run(s, a.msgs, per))

    if want("relay"):
        log("relay: %d runs x %d messages to smtp-sink on 127.0.0.1:%d"
            % (a.relay_runs, a.relay_msgs, a.sink_port))
        alternate(servers, a.relay_runs, "relay",
                  lambda s: relay_run(s, a.relay_msgs, a.sink_port))

    if want("local") and a.local_runs > 0:
        local = [s for s in servers if s.maildir]
        log("local: %d runs x %d messages into a Maildir"
            % (a.local_runs, a.local_msgs))
        alternate(local, a.local_runs, "local",
                  lambda s: local_run(s, a.local_msgs))

    tls = []
    if a.tlsload and (want("tls") or want("tlsmem") or
                      (only and "tlsfull" in only)):
        tls = [s for s in servers if offers_starttls(s.port)]
        for s in servers:
            if s not in tls:
                log("tls: %s offers no STARTTLS; its TLS figures skipped"
                    % s.name)
    tls_runs = a.tls_runs or a.runs
    for label, resume in (("tls", True), ("tls full", False)):
        if not tls or not (want("tls") if resume
                           else only and "tlsfull" in only):
            continue
        log("%s: %d runs x %gs, %d sessions, STARTTLS, %s, %d bytes"
            % (label, tls_runs, a.tls_secs, SESSIONS,
               "resumed" if resume else "full handshakes", MSGLEN))
        alternate(tls, tls_runs, label,
                  lambda s, r=resume: tls_run(s, a.tlsload, a.tls_secs, r,
                                              a.client_cpus),
                  unit="sess/s")

    mems, lats, tlsmems = {}, {}, {}
    for srv in servers:
        srv.drain()
        if want("mem"):
            try:
                mems[srv.name] = mem.measure(srv.port, a.mem_sessions)
            except OSError as e:
                log("  memory %s: %s" % (srv.name, e))
        if want("tlsmem") and srv in tls:
            try:
                tlsmems[srv.name] = mem.measure(srv.port, a.mem_sessions,
                                                tls=True, root=srv.pid)
            except OSError as e:
                log("  TLS memory %s: %s" % (srv.name, e))
        srv.drain()
        if not want("lat"):
            continue
        try:
            lats[srv.name] = lat.measure(srv.port, a.sink_port, a.lat_count)
        except OSError as e:
            log("  latency %s: %s" % (srv.name, e))

    report(servers, mems, lats, tls, tlsmems)


def mem_line(label, servers, mems, helpers=False):
    """The line of one memory figure, with the ratio of the first two."""
    parts = []
    for s in servers:
        m = mems.get(s.name)
        if not m:
            parts.append("%s n/a" % s.name)
            continue
        extra = (", helpers +%d KiB in all" % m[4]
                 if helpers and m[4] else "")
        parts.append("%s %.0f KiB (%d sessions, %d procs%s)"
                     % (s.name, m[3], m[0], m[1], extra))
    line = "%-15s %s" % (label, ", ".join(parts))
    if len(servers) == 2 and all(mems.get(s.name) for s in servers) \
            and mems[servers[1].name][3]:
        line += ", ratio %.2f" % (mems[servers[0].name][3] /
                                  mems[servers[1].name][3])
    return line


def report(servers, mems, lats, tls, tlsmems):
    log("")
    log("== results (median, min-max over runs) ==")
    for label in ("accept 1/conn", "accept 10/conn", "relay", "local"):
        log("%-15s %s%s" % (label + ":", ", ".join(fmt_rate(s, label)
                                                  for s in servers),
                            ratio(servers, label)))
    for label in ("tls", "tls full"):
        if any(s.res.get(label) for s in tls):
            log("%-15s %s%s" % (label + ":", ", ".join(
                fmt_rate(s, label, "sess/s") for s in tls),
                ratio(tls, label)))
        cpu = label_cpu(label == "tls")
        if any(s.res.get(cpu) for s in tls):
            parts = []
            for s in tls:
                st = stats(s.res.get(cpu, []))
                parts.append("%s %s" % (s.name, "%.2f ms (%.2f-%.2f)" % st
                                        if st else "n/a"))
            log("%-15s %s%s" % ("  server CPU:", ", ".join(parts),
                                ratio(tls, cpu)))
    log(mem_line("idle session:", servers, mems))
    if tlsmems:
        log(mem_line("idle TLS sess:", tls, tlsmems, helpers=True))
    parts = []
    for s in servers:
        t = lats.get(s.name)
        parts.append("%s %s" % (s.name, "%.1f ms (%.1f-%.1f, %d lost)"
                                % (t[1], t[2], t[3], t[4])
                                if t and t[0] else "n/a"))
    log("%-15s %s" % ("250->sink:", ", ".join(parts)))
    log("goals: accept and relay ratio >= 2.00, local ratio >= 1.50,"
        " idle session ratio <= 0.25, tern 250->sink < 50 ms,"
        " tls ratio >= 1.50, idle TLS session ratio <= 0.50")


if __name__ == "__main__":
    main()
