# SPDX-License-Identifier: ISC
"""test_nexthop.py - next hops the admin configures (issue: "A
newcomer's first hour"): relayhost and transport targets written as
addresses are used as those addresses, never looked up as MX names; a
configured next hop that fails in DNS defers (4.4.3) and is never
bounced; `ternd -n` warns about a relayhost that is an address written
without brackets, and still accepts the file.

Every tern here asks a test DNS server that knows none of the names
used, so an MX lookup of an address would get NXDOMAIN (and used to
bounce the mail)."""
import os
import subprocess
import tempfile
import time

import harness
from harness import maildir_messages, wait_for, wait_log
from test_delivery_remote import (ME, MSG, Stack, alice, dns, queue_empty,
                                  send, sink)

ZONE = "unrelated.test A 127.0.0.2\n"


def sender_tern(st, **kw):
    """Alice's tern: remote_port is a closed port, so only the port
    written in the next hop can reach the sink."""
    d = dns(st, ZONE)
    kw.setdefault("smtp_allow_loopback", "no")  # explicit hops need none
    return alice(st, harness.free_port(),
                 dns_server="127.0.0.1:%d" % d.port, **kw)


def no_notice(t, wait=0.5):
    time.sleep(wait)
    return maildir_messages(os.path.join(t.mail, ME)) == []


def test_relayhost_address_without_brackets():
    with Stack() as st:
        s = sink(st)
        a = sender_tern(st, relayhost="127.0.0.1:%d" % s.port)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        assert wait_for(lambda: s.messages(), 15, 0.1), a.log()
        assert s.messages()[0]["rcpt_tos"] == ["far@remote.test"]
        assert queue_empty(a), a.log()
        assert "%s: to=<far@remote.test>, relay=127.0.0.1[127.0.0.1]:%d, " \
            % (qid, s.port) in a.log(), a.log()
        assert "type=MX" not in a.log(), a.log()
        assert no_notice(a)


def test_relayhost_localhost():
    """localhost is the loopback host by name (RFC 6761): no MX lookup,
    which the test DNS server would answer with NXDOMAIN."""
    with Stack() as st:
        s = sink(st)
        a = sender_tern(st, relayhost="localhost:%d" % s.port)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        assert wait_for(lambda: s.messages(), 15, 0.1), a.log()
        assert queue_empty(a), a.log()
        assert "%s: to=<far@remote.test>, relay=localhost[127.0.0.1]:%d, " \
            % (qid, s.port) in a.log(), a.log()


def test_transport_address_target():
    with Stack() as st:
        s = sink(st)
        path = os.path.join(st.tmp("tern-map-"), "transport")
        with open(path, "w") as f:
            f.write("remote.test 127.0.0.1:%d\n" % s.port)
        a = sender_tern(st, transport=path)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        assert wait_for(lambda: s.messages(), 15, 0.1), a.log()
        assert queue_empty(a), a.log()
        assert "%s: to=<far@remote.test>, relay=127.0.0.1[127.0.0.1]:%d, " \
            % (qid, s.port) in a.log(), a.log()
        assert no_notice(a)


def mailq(t):
    p = subprocess.run([os.path.join(harness.BIN, "mailq"), "-C",
                        t.conf_path], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_configured_next_hop_nxdomain_defers():
    """relayhost naming a host that does not exist, and a transport
    target that does not exist: deferred with 4.4.3, retried, listed
    by mailq, never bounced."""
    with Stack() as st:
        path = os.path.join(st.tmp("tern-map-"), "transport")
        with open(path, "w") as f:
            f.write("mapped.test [nosuch-mapped.test]:2526\n")
        a = sender_tern(st, relayhost="nosuch-relay.test:2526",
                        transport=path)
        q1 = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        q2 = send(a, ME + "@tern.test", ["near@mapped.test"], MSG)
        for qid, rcpt in ((q1, "far@remote.test"), (q2, "near@mapped.test")):
            # Two attempts (retry_interval is 2s): still only deferred.
            assert wait_log(a, "%s: to=<%s>" % (qid, rcpt), 15, 2), a.log()
            lines = [x for x in a.log().splitlines()
                     if "%s: to=<%s>" % (qid, rcpt) in x]
            assert all("dsn=4.4.3, status=deferred" in x for x in lines), \
                lines
        log = a.log()
        assert "status=bounced" not in log, log
        assert "nosuch-relay.test type=MX: Host not found " \
            "(relayhost nosuch-relay.test)" in log, log
        assert "nosuch-mapped.test type=A: Host not found" in log, log
        assert len(a.queue_files()) == 2, a.queue_files()
        out = mailq(a)
        for qid, rcpt in ((q1, "far@remote.test"), (q2, "near@mapped.test")):
            assert qid in out and rcpt in out, out
        assert "nosuch-relay.test" in out and "nosuch-mapped.test" in out, \
            out
        assert no_notice(a, 0)


def ternd_check(relayhost):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tern.conf")
        # root aliased: else -n warns that root's mail would wait.
        with open(os.path.join(d, "aliases"), "w") as f:
            f.write("root: postmaster\n")
        with open(path, "w") as f:
            f.write("aliases = %s/aliases\nrelayhost = %s\n"
                    % (d, relayhost))
        p = subprocess.run([os.path.join(harness.BIN, "ternd"), "-n", "-c",
                            path], capture_output=True, text=True,
                           timeout=20)
    return path, p.returncode, p.stdout, p.stderr


def test_ternd_n_warns_about_unbracketed_address():
    warned = {
        "10.1.2.3": "an address without brackets, used as [10.1.2.3]:25 "
                    "without MX lookup; write it so",
        "10.1.2.3:2526": "used as [10.1.2.3]:2526 without MX lookup",
        "2001:db8::1": "an IPv6 address without brackets, used as "
                       "[2001:db8::1]:25 without MX lookup; a port needs "
                       "brackets: write [2001:db8::1]:25",
        "10.1.2.256": "looks like an IPv4 address but is not one, so it "
                      "is looked up in DNS as a name",
    }
    for relayhost, says in warned.items():
        path, rc, out, err = ternd_check(relayhost)
        assert rc == 0, (relayhost, rc, err)
        assert "configuration ok" in out, (relayhost, out)
        assert err.startswith("ternd: %s: warning: relayhost = %s: "
                              % (path, relayhost)), (relayhost, err)
        assert says in err, (relayhost, err)
    for relayhost in ("[10.1.2.3]", "[10.1.2.3]:2526", "[IPv6:2001:db8::1]",
                      "smtp.example.net", "smtp.example.net:587",
                      "localhost:10025"):
        path, rc, out, err = ternd_check(relayhost)
        assert rc == 0 and err == "", (relayhost, rc, err)
        assert "configuration ok" in out, (relayhost, out)
