#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""scaledest.py - the per-destination figures of `make bench-scale`
(issue 13, points 5 and 6), driven by tests/bench/scale-dest.sh.

  flush    FLUSH_MSGS messages (4 KiB) to one domain whose server is
           down are all deferred; the server comes back (smtp-sink -M N)
           and the queue is flushed (tern: ternq flush; Postfix:
           postqueue -f); msgs/s from the flush until smtp-sink has all.
           The plain relay rate beside it: RELAY_MSGS injected with the
           server up, from the first injection until smtp-sink has all.
  many     MANY_MSGS messages to MANY_DOMAINS domains, deferred while
           their servers are down, then flushed: tern finds each
           domain's own MX (mx.dN.many.bench.test, one of 127.0.x.y) in
           tests/dnsserver.py; Postfix, which can only ask the system's
           resolver, routes each domain to the same address with a
           transport map entry of its own (a destination of its own
           for its queue manager).  One smtp-sink on 0.0.0.0 serves
           every address.
  many-map the same for tern routed as Postfix is, by a transport map
           entry per domain ([127.0.x.y]:port, no DNS): like for like.

tern runs from bin/ternd with its own spool; Postfix is a private
instance made by tests/bench/postfix-peer.sh on PF_PORT (2735), never the
system's.  ROUNDS alternate tern and Postfix; medians are printed.  A
figure that cannot be measured prints "skipped" and why.
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SIZE = 4096
FROM = "from@bench.test"


def log(msg):
    print(msg, flush=True)


def wait_for(pred, limit, step=0.2):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), 1) as s:
            s.settimeout(5)
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


def count_files(top):
    n = 0
    for _, _, files in os.walk(top):
        n += len(files)
    return n


def stop(proc, wait=10):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Sink:
    """smtp-sink -M n: exits when it has n messages."""

    def __init__(self, port, n, host="127.0.0.1"):
        argv = ["smtp-sink", "-M", str(n), "%s:%d" % (host, port), "512"]
        if os.geteuid() == 0:
            argv[1:1] = ["-u", "nobody"]   # it refuses to run as root
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: answers(port), 10, 0.05):
            stop(self.proc)
            raise RuntimeError("smtp-sink does not listen on %d" % port)

    def wait(self, limit):
        try:
            self.proc.wait(limit)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        stop(self.proc)


def inject(port, rcpt, n, sessions=20):
    subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(n), "-l",
                    str(SIZE), "-f", FROM, "-t", rcpt, "127.0.0.1:%d" % port],
                   check=True, stdout=subprocess.DEVNULL, timeout=3600)


def inject_many(port, domains, per_domain):
    """per_domain messages to u@each domain, 10 smtp-source at a time."""
    procs, i = [], 0
    while i < len(domains) or procs:
        while i < len(domains) and len(procs) < 10:
            procs.append(subprocess.Popen(
                ["smtp-source", "-s", "1", "-m", str(per_domain), "-l",
                 str(SIZE), "-f", FROM, "-t", "u@" + domains[i],
                 "127.0.0.1:%d" % port], stdout=subprocess.DEVNULL))
            i += 1
        procs[0].wait(600)
        procs = [p for p in procs if p.poll() is None]


class Tern:
    def __init__(self, a, name, extra):
        self.a = a
        self.dir = tempfile.mkdtemp(prefix="tern-scale-%s." % name,
                                    dir=a.work)
        os.chmod(self.dir, 0o755)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool, 0o700)
        user = pwd.getpwuid(os.getuid()).pw_name
        if os.geteuid() == 0:
            if subprocess.run(["id", "tern"], capture_output=True).returncode:
                subprocess.run(["useradd", "-r", "-M", "-d", "/nonexistent",
                                "-s", "/usr/sbin/nologin", "tern"], check=True)
            user = "tern"
            shutil.chown(self.spool, user)
        self.conf = os.path.join(self.dir, "tern.conf")
        with open(os.path.join(self.dir, "transport"), "w") as f:
            f.write("flush.bench.test [127.0.0.1]:%d\n" % a.sink_port)
        lines = dict(listen="127.0.0.1:%d" % a.tern_port,
                     spool_dir=self.spool,
                     pid_file=os.path.join(self.dir, "ternd.pid"),
                     submit_socket=os.path.join(self.dir, "submit.sock"),
                     log="stderr", hostname="tern-bench.bench.test",
                     local_domains="tern-bench.bench.test",
                     relay_networks="127.0.0.0/8", user=user,
                     transport=os.path.join(self.dir, "transport"),
                     aliases=os.path.join(self.dir, "aliases"),
                     max_connections=200, max_connections_per_ip=200,
                     retry_interval="1h", max_deliveries=a.deliveries,
                     max_per_destination=20)
        lines.update(extra)
        with open(os.path.join(self.dir, "aliases"), "w") as f:
            f.write("postmaster: root\n")
        with open(self.conf, "w") as f:
            for k, v in lines.items():
                f.write("%s = %s\n" % (k, v))
        self.logf = open(os.path.join(self.dir, "ternd.log"), "wb")
        self.proc = subprocess.Popen([a.ternd, "-f", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf)
        if not wait_for(lambda: answers(a.tern_port), 15, 0.1):
            self.stop()
            raise RuntimeError("ternd does not answer")

    def deferred(self):
        return count_files(os.path.join(self.spool, "state"))

    def queued(self):
        return count_files(os.path.join(self.spool, "queue"))

    def flush(self):
        subprocess.run([self.a.ternq, "-C", self.conf, "flush"], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)

    def empty(self):
        subprocess.run([self.a.ternq, "-C", self.conf, "delete", "ALL"],
                       capture_output=True, timeout=600)

    def stop(self):
        stop(self.proc, 30)
        self.logf.close()
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Postfix:
    def __init__(self, a, transport_lines):
        self.a = a
        self.dir = a.pf_dir
        os.makedirs(self.dir, exist_ok=True)
        tmap = os.path.join(self.dir, "scale-transport")
        with open(tmap, "w") as f:
            f.write("flush.bench.test smtp:[127.0.0.1]:%d\n" % a.sink_port)
            f.write("".join(transport_lines))
        extra = os.path.join(self.dir, "scale-main.cf")
        with open(extra, "w") as f:
            f.write("relay_domains = flush.bench.test, .many.bench.test\n"
                    "transport_maps = texthash:%s\n" % tmap)
        env = dict(os.environ, PF_PORT=str(a.pf_port), PF_MAIN_EXTRA=extra)
        out = subprocess.run(["sh", a.peer, "start", self.dir], env=env,
                             capture_output=True, text=True, timeout=120)
        if not answers(a.pf_port):
            raise RuntimeError("no Postfix: " + out.stdout.strip())
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")

    def _count(self, *dirs):
        return sum(count_files(os.path.join(self.queue, d)) for d in dirs)

    def deferred(self):
        return self._count("deferred")

    def queued(self):
        return self._count("maildrop", "incoming", "active", "deferred")

    def flush(self):
        subprocess.run(["postqueue", "-c", self.etc, "-f"], check=True,
                       capture_output=True, timeout=60)

    def empty(self):
        subprocess.run(["postsuper", "-c", self.etc, "-d", "ALL"],
                       capture_output=True, timeout=600)

    def stop(self):
        self.empty()
        subprocess.run(["sh", self.a.peer, "stop", self.dir],
                       env=dict(os.environ, PF_PORT=str(self.a.pf_port)),
                       capture_output=True, timeout=120)


def relay_rate(srv, port, n):
    sink = Sink(srv.a.sink_port, n)
    try:
        t0 = time.monotonic()
        inject(port, "u@flush.bench.test", n)
        if not sink.wait(max(60, n / 20)):
            return None
        return n / (time.monotonic() - t0)
    finally:
        sink.stop()


def outage_then_flush(srv, n, sink_host, sink_port, injector):
    """Deferred with the server down, then flushed: msgs/s, or None.
    What an earlier run left (smtp-sink exits on its Nth message, and the
    messages in flight then are deferred) is deleted first."""
    srv.empty()
    if not wait_for(lambda: srv.queued() == 0, 120, 0.5):
        log("  %s: queue not empty before the outage" % srv.name)
        return None
    t0 = time.monotonic()
    injector()
    if not wait_for(lambda: srv.deferred() >= n, max(300, n / 50), 0.5):
        log("  %s: %d of %d deferred; giving up" % (srv.name,
                                                     srv.deferred(), n))
        return None
    log("  %s: %d deferred in %.1f s" % (srv.name, n, time.monotonic() - t0))
    sink = Sink(sink_port, n, sink_host)
    try:
        t0 = time.monotonic()
        srv.flush()
        if not sink.wait(max(120, n / 20)):
            log("  %s: the sink did not get all %d" % (srv.name, n))
            return None
        return n / (time.monotonic() - t0)
    finally:
        sink.stop()


def many_setup(a):
    """Domains, the zone for tern's DNS server, Postfix's map lines."""
    domains, zone, tmap, tern_map = [], [], [], []
    for i in range(a.many_domains):
        d = "d%d.many.bench.test" % i
        ip = "127.0.%d.%d" % (1 + i // 250, 1 + i % 250)
        domains.append(d)
        zone.append("%s MX 10 mx.%s\nmx.%s A %s\n" % (d, d, d, ip))
        tmap.append("%s smtp:[%s]:%d\n" % (d, ip, a.many_port))
        tern_map.append("%s [%s]:%d\n" % (d, ip, a.many_port))
    return domains, "".join(zone), tmap, tern_map


def med(xs):
    xs = [x for x in xs if x]
    return statistics.median(xs) if xs else None


def fmt(x):
    return "%.0f" % x if x else "-"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--top", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--flush-msgs", type=int, default=100000)
    p.add_argument("--relay-msgs", type=int, default=10000)
    p.add_argument("--many-msgs", type=int, default=10000)
    p.add_argument("--many-domains", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--deliveries", type=int, default=20)
    p.add_argument("--tern-port", type=int, default=2745)
    p.add_argument("--sink-port", type=int, default=2746)
    p.add_argument("--many-port", type=int, default=2747)
    p.add_argument("--dns-port", type=int, default=2753)
    p.add_argument("--pf-port", type=int, default=2735)
    p.add_argument("--pf-dir", default="/var/tmp/tern-pfscale")
    p.add_argument("--only", default="flush,many")
    p.add_argument("--no-postfix", action="store_true")
    a = p.parse_args()
    a.ternd = os.path.join(a.top, "bin", "ternd")
    a.ternq = os.path.join(a.top, "bin", "ternq")
    a.peer = os.path.join(a.top, "tests", "bench", "postfix-peer.sh")
    only = a.only.split(",")
    use_pf = not a.no_postfix and os.geteuid() == 0 and \
        shutil.which("postfix") is not None
    if not use_pf:
        log("scale-dest: Postfix skipped (needs root and the postfix "
            "package)")
    domains, zone, tmap, tern_map = many_setup(a)
    dns = None
    if "many" in only:
        zpath = os.path.join(a.work, "zone")
        with open(zpath, "w") as f:
            f.write(zone)
        sys.path.insert(0, os.path.join(a.top, "tests"))
        from dnsserver import DNSServer
        dns = DNSServer(a.dns_port, zpath).start()
    res = {k: {"tern": [], "postfix": []} for k in
           ("relay", "flush", "many", "many-map")}
    per = max(1, a.many_msgs // a.many_domains)
    try:
        for r in range(a.rounds):
            for name in ("tern", "postfix"):
                if name == "postfix" and not use_pf:
                    continue
                log("round %d: %s" % (r + 1, name))
                if name == "tern":
                    srv = Tern(a, "dest", dict(
                        dns_server="127.0.0.1:%d" % a.dns_port,
                        remote_port=a.many_port, smtp_allow_loopback="yes",
                        address_family="ipv4"))
                    port = a.tern_port
                else:
                    srv = Postfix(a, tmap)
                    port = a.pf_port
                srv.name = name
                try:
                    if "flush" in only:
                        x = relay_rate(srv, port, a.relay_msgs)
                        log("  %s relay: %s msg/s" % (name, fmt(x)))
                        res["relay"][name].append(x)
                        x = outage_then_flush(
                            srv, a.flush_msgs, "127.0.0.1", a.sink_port,
                            lambda: inject(port, "u@flush.bench.test",
                                           a.flush_msgs))
                        log("  %s flush: %s msg/s" % (name, fmt(x)))
                        res["flush"][name].append(x)
                    if "many" in only:
                        n = per * len(domains)
                        x = outage_then_flush(
                            srv, n, "0.0.0.0", a.many_port,
                            lambda: inject_many(port, domains, per))
                        log("  %s many: %s msg/s" % (name, fmt(x)))
                        res["many"][name].append(x)
                    if "many" in only and name == "tern":
                        # the map is read at every routing: no reload
                        with open(os.path.join(srv.dir, "transport"),
                                  "a") as f:
                            f.write("".join(tern_map))
                        x = outage_then_flush(
                            srv, n, "0.0.0.0", a.many_port,
                            lambda: inject_many(port, domains, per))
                        log("  %s many, transport map: %s msg/s"
                            % (name, fmt(x)))
                        res["many-map"][name].append(x)
                finally:
                    srv.stop()
    finally:
        if dns is not None:
            dns.stop()
    log("")
    log("scale-dest: medians of %d round(s), msg/s (tern / Postfix)"
        % a.rounds)
    rows = [("relay", "plain relay, %d msgs, one domain" % a.relay_msgs),
            ("flush", "flush after an outage, %d msgs, one domain"
             % a.flush_msgs),
            ("many", "flush of %d msgs to %d domains, own MX each"
             % (per * len(domains), len(domains))),
            ("many-map", "the same, tern routed by a transport map too")]
    for key, label in rows:
        pf = "many" if key == "many-map" else key   # Postfix: map both
        t, f = med(res[key]["tern"]), med(res[pf]["postfix"])
        if not res[key]["tern"] and not res[key]["postfix"]:
            continue
        ratio = " (%.2fx)" % (t / f) if t and f else ""
        log("  %-52s %8s / %-8s%s" % (label, fmt(t), fmt(f), ratio))
    t, rl = med(res["flush"]["tern"]), med(res["relay"]["tern"])
    if t and rl:
        log("  tern flush / plain relay: %.2f" % (t / rl))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(130))
    sys.exit(main())
