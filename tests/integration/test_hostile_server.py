# SPDX-License-Identifier: ISC
"""test_hostile_server.py - tern relays one message to a hostile remote
server (tests/hostile_server.py, one case per test) and it ends deferred,
or bounced where the server refused it, within the attempt's deadline,
with a clear reason in `mailq`, and no crash, no hang and a bounded read
(issue 11, part 3).

Time is compressed by configuration: smtp_timeout 2s, smtp_attempt_timeout
4s, retry_interval 1h (so one attempt is all a test sees).  When the end
of data was sent and no reply came, the reason says "message may be sent
more than once", as Postfix's does; when the server had not seen the end
of data, it must not say so."""
import json
import os
import subprocess
import time

import harness
from harness import maildir_messages, wait_for
from hostile_server import HostileServer
from test_delivery_remote import ME, Stack, alice, queue_empty, send

ATTEMPT = 4             # smtp_attempt_timeout, seconds
MORE_THAN_ONCE = "message may be sent more than once"
SMALL = (b"From: me@tern.test\r\nTo: x@remote.test\r\n"
         b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <h@x>\r\n"
         b"Subject: hostile\r\n\r\nbody\r\n")
CRASH = ("exited with signal", "killed by signal", "AddressSanitizer",
         "runtime error:", "exited with status")


def hostile(st, case, **conf):
    """A hostile server playing case, and a tern relaying to it."""
    srv = st.push(HostileServer(case, harness.free_port(),
                                st.tmp("tern-hostile-")).start())
    kw = dict(relayhost="[127.0.0.1]:%d" % srv.port, smtp_timeout="2s",
              smtp_attempt_timeout="%ds" % ATTEMPT, retry_interval="1h",
              smtp_tls="none")
    kw.update(conf)
    return srv, alice(st, srv.port, **kw)


def mailq(t):
    """mailq -j against the daemon's configuration: {address: recipient}"""
    p = subprocess.run([os.path.join(harness.BIN, "mailq"), "-C",
                        t.conf_path, "-j"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.decode().splitlines():
        for r in json.loads(line)["recipients"]:
            out[r["address"]] = r
    return out


def relay(st, case, body=SMALL, status="deferred", **conf):
    """Send one message through a tern to a hostile server playing case;
    wait for its outcome, check the deadline, that no process crashed,
    and (when deferred) that mailq shows the reason.  Returns (tern,
    server, the result's log line, the mailq reason or None)."""
    srv, a = hostile(st, case, **conf)
    start = time.monotonic()
    qid = send(a, ME + "@tern.test", ["x@remote.test"], body)
    mark = "%s: to=<x@remote.test>" % qid
    assert wait_for(lambda: mark in a.log(), ATTEMPT + 6, 0.05), a.log()
    took = time.monotonic() - start
    assert took < ATTEMPT + 3, (took, a.log())
    line = [x for x in a.log().splitlines() if mark in x][0]
    assert "status=%s" % status in line, (line, a.log())
    reason = None
    if status == "deferred":
        assert wait_for(lambda: mailq(a).get("x@remote.test", {}).get(
            "delay_reason"), 5, 0.1), a.log()
        r = mailq(a)["x@remote.test"]
        assert r["state"] == "deferred" and r["dsn"].startswith("4."), r
        reason = r["delay_reason"]
        assert all(ord(c) >= 32 and ord(c) != 127 for c in reason), reason
    if status == "bounced":         # the sender is told; nothing waits
        box = os.path.join(a.mail, ME)
        assert wait_for(lambda: maildir_messages(box), 10, 0.1), a.log()
        assert queue_empty(a), a.log()
    # the agent ended at once and normally; nothing crashed
    assert wait_for(lambda: len(srv.records()) >= 1, 5, 0.05), a.log()
    a.stop()
    for bad in CRASH:
        assert bad not in a.log(), a.log()
    return a, srv, line, reason


def bounded(srv, limit_mb=16):
    """What the server pushed before tern hung up is bounded (tern read at
    most 64 KiB of it; the rest sat in socket buffers), and so is the
    agent's peak RSS, when the server could see it."""
    for rec in srv.records():
        assert rec["sent"] < limit_mb << 20, rec
        if rec["peer_hwm_kb"] is not None:
            assert rec["peer_hwm_kb"] < 64 * 1024, rec


def test_endless_multiline_reply():
    with Stack() as st:
        a, srv, line, reason = relay(st, "endless-multiline")
        assert reason.startswith("malformed reply from ") and \
            reason.endswith(" while sending EHLO"), reason
        bounded(srv)
        assert MORE_THAN_ONCE not in a.log()


def test_one_megabyte_reply_line():
    with Stack() as st:
        a, srv, line, reason = relay(st, "long-line")
        assert reason.endswith(" while sending MAIL FROM") and \
            "malformed reply" in reason, reason
        bounded(srv)


def test_endless_line_without_end_of_line():
    """A greeting that streams "xxx..." at full speed, never an LF: the
    line is judged by its first 1000 octets, not waited for."""
    with Stack() as st:
        a, srv, line, reason = relay(st, "endless-line")
        assert "malformed reply" in reason and reason.endswith(
            "while receiving the initial server greeting"), reason
        bounded(srv)


def test_drip_one_byte_a_second_ends_at_the_deadline():
    with Stack() as st:
        a, srv, line, reason = relay(st, "drip")
        assert reason.endswith("reached smtp_attempt_timeout (%ds) while "
                               "receiving the initial server greeting"
                               % ATTEMPT), reason
        bounded(srv)


def test_nuls_and_8bit_garbage_in_replies():
    """Every reply carries NULs, 8-bit bytes and an escape; the 451 to the
    end of data is the reason, cleaned, with its text after the NUL."""
    with Stack() as st:
        a, srv, line, reason = relay(st, "garbage")
        assert reason.startswith("451 4.3.0 ") and \
            reason.endswith(" not today"), reason
        assert "dsn=4.3.0" in line, line
        assert srv.records()[0]["dot"] is True


def test_binary_greeting():
    with Stack() as st:
        a, srv, line, reason = relay(st, "binary")
        assert "malformed reply" in reason and reason.endswith(
            "while receiving the initial server greeting"), reason


def wmem_max():
    """The largest send buffer the kernel grows a TCP socket to."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 << 20


def test_disconnect_in_the_middle_of_data():
    """The server hangs up after 16 KiB of the message: it never had the
    message, so nothing says it may be sent twice.  The message is larger
    than twice the biggest send buffer, so tern cannot have handed all
    of it, end of data included, to its kernel before the reset came."""
    lines = min(2 * wmem_max() + (1 << 20), 20 << 20) // 50 + 1
    body = SMALL + b"a line of the body, long enough to fill buffers\r\n" \
        * lines
    with Stack() as st:
        a, srv, line, reason = relay(st, "data-disconnect", body=body)
        assert reason.startswith("lost connection with ") and \
            reason.endswith("while sending the message body"), reason
        assert MORE_THAN_ONCE not in a.log(), a.log()
        assert srv.records()[0]["dot"] is False


def test_250_before_the_end_of_data():
    """A 250 that comes before the end of data is out of step: the end is
    never sent, the message is deferred, and the log warns of a second
    copy (the server claimed it had one)."""
    with Stack() as st:
        a, srv, line, reason = relay(st, "early-250")
        assert "replied before the end of data: 250 2.0.0 Ok: taken " \
            "early -- " + MORE_THAN_ONCE in reason, reason
        assert "status=sent" not in a.log(), a.log()
        assert srv.records()[0]["dot"] is False


def test_554_before_the_end_of_data_bounces():
    """A refusal before the end of data decides the message: it bounces,
    and the sender's notice has the server's status."""
    with Stack() as st:
        a, srv, line, reason = relay(st, "early-554", status="bounced")
        assert "dsn=5.3.4" in line and "Message too big" in line, line
        assert srv.records()[0]["dot"] is False
        raw = maildir_messages(os.path.join(a.mail, ME))[0][2]
        assert b"Status: 5.3.4" in raw, raw


def test_disconnect_after_the_end_of_data():
    with Stack() as st:
        a, srv, line, reason = relay(st, "dot-disconnect")
        assert reason.startswith("lost connection with ") and \
            reason.endswith("while sending end of data -- " +
                            MORE_THAN_ONCE), reason
        assert srv.records()[0]["dot"] is True


def test_no_reply_to_the_end_of_data():
    with Stack() as st:
        a, srv, line, reason = relay(st, "dot-silent")
        assert reason.startswith("conversation with ") and \
            reason.endswith("timed out while sending end of data -- " +
                            MORE_THAN_ONCE), reason
        assert srv.records()[0]["dot"] is True


def test_greeting_that_never_comes():
    with Stack() as st:
        a, srv, line, reason = relay(st, "silent")
        assert reason.startswith("conversation with ") and reason.endswith(
            "timed out while receiving the initial server greeting"), reason


def test_starttls_answered_in_plaintext():
    """220 to STARTTLS, then plaintext: at level encrypt the message
    waits, saying why; at level may it goes once more without TLS."""
    harness.need_tls()
    with Stack() as st:
        a, srv, line, reason = relay(st, "starttls-plain",
                                     smtp_tls="encrypt")
        assert reason.startswith("TLS handshake with host ") and \
            " failed: " in reason, reason
        assert len(srv.records()) == 1, srv.records()
    with Stack() as st:
        a, srv, line, reason = relay(st, "starttls-plain", smtp_tls="may",
                                     status="sent")
        assert line.endswith(", tls=none"), line
        assert "trying again without TLS" in a.log(), a.log()
        assert wait_for(lambda: len(srv.records()) == 2, 5, 0.05)
