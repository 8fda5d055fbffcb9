# SPDX-License-Identifier: ISC
"""test_delivery_remote.py - the queue runner's SMTP client end to end
(issue: queue runner, local and remote delivery, retry every 30 minutes,
bounce after days).  Time is compressed by configuration.

Alice's tern finds Bob's tern through MX records served by dnsserver.py
on loopback; remote_port sends every connection to Bob's port.  Remote
failures come from smtpsink.py (a closed port, 550 for one recipient).
Every helper process is stopped by its PID."""
import base64
import email
import email.policy
import mailbox
import os
import re
import shutil
import time

import harness
from harness import Tern, maildir_messages, state_files, wait_for, wait_log
from dnsserver import DNSServer
from smtpsink import SMTPSink

ME = harness.daemon_user()


class Stack:
    """Context manager that stops everything pushed on it, in reverse."""

    def __init__(self):
        self.items = []
        self.dirs = []

    def tmp(self, prefix):
        """A temporary directory, removed at the end unless a test
        failed or TERN_KEEP is set."""
        d = harness.tempdir(prefix)
        self.dirs.append(d)
        return d

    def push(self, obj):
        self.items.append(obj)
        return obj

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for obj in reversed(self.items):
            if isinstance(obj, Tern):
                obj.__exit__(*exc)
            else:
                obj.stop()
        if exc[0] is None and not os.environ.get("TERN_KEEP"):
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
        return False


def dns(st, zone_text):
    d = st.tmp("tern-dns-")
    path = os.path.join(d, "zone")
    with open(path, "w") as f:
        f.write(zone_text)
    port = harness.free_port()
    return st.push(DNSServer(port, path).start())


def sink(st, port=None, extra=()):
    d = st.tmp("tern-sink-")
    return st.push(SMTPSink(port or harness.free_port(), d, extra).start())


def alice(st, remote_port, start=True, **kw):
    """The sending tern: relays for 127.0.0.1, local user ME.  Its MX
    hosts are other terns and sinks on loopback, which tern refuses as
    a loop unless smtp_allow_loopback is set (then only its own
    listening address and port is a loop)."""
    conf = dict(relay_networks="127.0.0.0/8", remote_port=remote_port,
                dns_server="127.0.0.1:65000", address_family="ipv4",
                connect_timeout="2s", smtp_timeout="10s",
                smtp_allow_loopback="yes")
    conf.update(kw)
    t = st.push(Tern(start=False, **conf))
    t.write_aliases("postmaster: %s\nalice: %s\n" % (ME, ME))
    if start:
        t.start()
    return t


def send(t, sender, rcpts, body, mail_opts=(), rcpt_opts=()):
    """Submit one message over SMTP; returns its queue id."""
    s = t.smtp()
    s.ehlo("client.test")
    code, msg = s.mail(sender, list(mail_opts))
    assert code == 250, (code, msg)
    for r in rcpts:
        code, msg = s.rcpt(r, list(rcpt_opts))
        assert code == 250, (r, code, msg)
    code, msg = s.data(body)
    assert code == 250, (code, msg)
    s.quit()
    return msg.split()[-1].decode()


def notices(t, user=ME, n=1, timeout=15):
    """Wait for n messages in user's Maildir on t; parse them."""
    path = os.path.join(t.mail, user)
    wait_for(lambda: len(maildir_messages(path)) >= n, timeout, 0.1)
    msgs = maildir_messages(path)
    return [email.message_from_bytes(raw, policy=email.policy.compat32)
            for _, _, raw in msgs]


def dsn_blocks(msg):
    """(report-type, per-message dict, [per-recipient dicts]) of a DSN."""
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    parts = msg.get_payload()
    status = [p for p in parts
              if p.get_content_type() == "message/delivery-status"]
    assert len(status) == 1, [p.get_content_type() for p in parts]
    blocks = [dict((k.lower(), v) for k, v in b.items())
              for b in status[0].get_payload()]
    return msg.get_param("report-type"), blocks[0], blocks[1:]


def queue_empty(t, timeout=15):
    return wait_for(lambda: not t.queue_files() and not state_files(t),
                    timeout, 0.1)


BODY = (b"From: Alice <alice@tern.test>\r\nTo: Bob <bob@bob.test>\r\n"
        b"Subject: through the MX\r\nMessage-ID: <mx1@tern.test>\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n"
        b"Hello Bob,\r\n.a line with a leading dot\r\n"
        b"From the start of a line\r\n>From quoted already\r\n"
        b"\xc3\xa9t\xc3\xa9 8bit\r\n")
ZONE = ("bob.test MX 10 mx.bob.test\nmx.bob.test A 127.0.0.1\n")


def bob_tern(st, **kw):
    conf = dict(local_domains="bob.test", hostname="mx.bob.test")
    conf.update(kw)
    b = st.push(Tern(start=False, **conf))
    b.write_aliases("postmaster: %s\nbob: %s\n" % (ME, ME))
    b.start()
    return b


def check_bob_copy(raw, qid_alice):
    """raw is LF-terminated: trace headers, then exactly BODY."""
    body = BODY.replace(b"\r\n", b"\n")
    assert raw.endswith(b"\n" + body), raw
    head = raw[:-len(body)]
    lines = head.split(b"\n")
    assert lines[0] == b"Return-Path: <alice@tern.test>", lines
    assert lines[1] == b"Delivered-To: bob@bob.test", lines
    assert lines[2].startswith(b"Received: from tern.test (localhost "
                               b"[127.0.0.1])") or \
        lines[2].startswith(b"Received: from tern.test"), lines
    assert b"by mx.bob.test (tern)" in head, head
    assert (b"by tern.test (tern) with ESMTP id " + qid_alice.encode()) \
        in head, head
    assert head.count(b"Received: ") == 2, head


def test_mx_to_maildir():
    with Stack() as st:
        b = bob_tern(st)
        d = dns(st, ZONE)
        a = alice(st, b.port, dns_server="127.0.0.1:%d" % d.port)
        qid = send(a, "alice@tern.test", ["bob@bob.test"], BODY,
                   ["BODY=8BITMIME"])
        box = os.path.join(b.mail, ME)
        assert wait_for(lambda: maildir_messages(box), 15, 0.1), \
            a.log() + b.log()
        msgs = maildir_messages(box)
        assert len(msgs) == 1
        key, msg, raw = msgs[0]
        check_bob_copy(raw, qid)
        assert msg["Subject"] == "through the MX"
        assert msg.get_subdir() == "new"
        assert wait_log(a, "%s: to=<bob@bob.test>, relay=mx.bob.test"
                        "[127.0.0.1]:%d, " % (qid, b.port), 5), a.log()
        assert "status=sent" in a.log()
        assert queue_empty(a), a.queue_files()
        assert queue_empty(b), b.queue_files()
        assert "%s: removed" % qid in a.log()


def test_mx_to_mbox():
    with Stack() as st:
        b = bob_tern(st, mailbox="mbox")
        b.stop()
        b.write_conf(mailbox_path=os.path.join(b.mail, "%u.mbox"))
        b.start()
        d = dns(st, ZONE)
        a = alice(st, b.port, dns_server="127.0.0.1:%d" % d.port)
        qid = send(a, "alice@tern.test", ["bob@bob.test"], BODY,
                   ["BODY=8BITMIME"])
        path = os.path.join(b.mail, ME + ".mbox")
        assert wait_for(lambda: os.path.exists(path) and
                        os.path.getsize(path) > 0 and queue_empty(b, 0),
                        15, 0.1), a.log() + b.log()
        qid2 = send(a, "alice@tern.test", ["bob@bob.test"],
                    BODY.replace(b"through", b"again through"),
                    ["BODY=8BITMIME"])
        assert wait_for(lambda: open(path, "rb").read().count(
            b"\nFrom alice@tern.test ") + open(path, "rb").read().startswith(
            b"From alice@tern.test ") >= 2, 15, 0.1), b.log()
        with open(path, "rb") as f:
            data = f.read()
        # mboxrd quoting on disk: one more '>' before every ">*From ".
        assert b"\n>From the start of a line\n" in data, data
        assert b"\n>>From quoted already\n" in data, data
        box = mailbox.mbox(path, create=False)
        msgs = list(box)
        assert len(msgs) == 2, len(msgs)
        assert msgs[0]["Subject"] == "through the MX"
        assert msgs[1]["Subject"] == "again through the MX"
        assert msgs[0].get_from().startswith("alice@tern.test "), \
            msgs[0].get_from()
        # Python's mbox reader does not undo the quoting: compare the
        # stored text with the body, quoted the mboxrd way.
        raw = box.get_bytes(box.keys()[0])
        quoted = BODY.replace(b"\r\n", b"\n").replace(
            b"\nFrom the", b"\n>From the").replace(b"\n>From quoted",
                                                   b"\n>>From quoted")
        assert raw.endswith(quoted), raw
        check_bob_copy(raw.replace(quoted, BODY.replace(b"\r\n", b"\n")),
                       qid)
        assert qid2 != qid
        assert queue_empty(a)


def relay_to(st, port, **kw):
    """A tern relaying all remote mail to [127.0.0.1]:port."""
    return alice(st, port, relayhost="[127.0.0.1]:%d" % port, **kw)


MSG = (b"From: me@tern.test\r\nTo: a@remote.test, b@remote.test\r\n"
       b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <two@x>\r\n"
       b"Subject: two recipients\r\n\r\nbody\r\n")


def test_one_recipient_refused():
    with Stack() as st:
        s = sink(st, extra=["--reply-rcpt", "bad@remote.test=550"])
        a = relay_to(st, s.port)
        qid = send(a, ME + "@tern.test", ["good@remote.test",
                                          "bad@remote.test"], MSG)
        msgs = notices(a, n=1)
        assert len(msgs) == 1, a.log()
        m = msgs[0]
        assert m["To"] and (ME + "@tern.test") in m["To"], m["To"]
        assert m["Auto-Submitted"] == "auto-replied", m.items()
        kind, per_msg, blocks = dsn_blocks(m)
        assert kind == "delivery-status"
        assert per_msg["reporting-mta"] == "dns; tern.test", per_msg
        assert len(blocks) == 1, blocks
        b = blocks[0]
        assert b["final-recipient"] == "rfc822; bad@remote.test", b
        assert b["action"] == "failed", b
        assert b["status"].startswith("5.") and b["status"].count(".") == 2, b
        assert b["diagnostic-code"].startswith("smtp; 550"), b
        assert "User unknown" in b["diagnostic-code"], b
        assert b["remote-mta"] == "dns; 127.0.0.1", b
        parts = [p.get_content_type() for p in m.get_payload()]
        assert parts[0] == "text/plain" and parts[1] == \
            "message/delivery-status", parts
        # Without RET=FULL only the headers come back; the notice has a
        # Received: of its own (as Postfix's do).
        assert parts[2] == "text/rfc822-headers", parts
        returned = m.get_payload()[2].get_payload()
        assert "Subject: two recipients" in returned, returned
        assert returned.rstrip().endswith("Subject: two recipients"), \
            returned
        assert m["Received"].startswith("by tern.test (tern) id "), m.items()
        got = s.messages()
        assert len(got) == 1 and got[0]["rcpt_tos"] == ["good@remote.test"]
        assert "dsn=5.1.1, status=bounced" in a.log(), a.log()
        assert "%s: sender non-delivery notification" % qid in a.log()
        assert queue_empty(a)
        # With RET=FULL the whole message comes back.
        send(a, ME + "@tern.test", ["bad@remote.test"], MSG, ["RET=FULL"])
        m = notices(a, n=2)[1]
        part = m.get_payload()[2]
        assert part.get_content_type() == "message/rfc822", m.as_string()
        inner = part.get_payload()[0]
        assert inner["Subject"] == "two recipients"
        assert inner.get_payload() == "body\n", inner.as_string()


def test_dsn_notify_and_pass_on():
    with Stack() as st:
        s = sink(st, extra=["--reply-rcpt", "gone@remote.test=550"])
        a = relay_to(st, s.port)
        # NOTIFY=SUCCESS to a remote recipient and to a local one;
        # NOTIFY=NEVER to a refused one: no bounce for it.
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG,
                   ["RET=HDRS", "ENVID=env+2Did"],
                   ["NOTIFY=SUCCESS", "ORCPT=rfc822;orig@remote.test"])
        msgs = notices(a, n=1)
        kind, per_msg, blocks = dsn_blocks(msgs[0])
        assert per_msg.get("original-envelope-id") == "env-id", per_msg
        assert len(blocks) == 1
        b = blocks[0]
        assert b["action"] == "relayed", b
        assert b["final-recipient"] == "rfc822; far@remote.test", b
        assert b["original-recipient"] == "rfc822;orig@remote.test", b
        assert b["status"].startswith("2."), b
        got = s.messages()
        assert len(got) == 1
        assert got[0]["rcpt_params"] == [["NOTIFY=SUCCESS",
                                          "ORCPT=rfc822;orig@remote.test"]], got
        assert "RET=HDRS" in got[0]["mail_params"], got[0]["mail_params"]
        assert "ENVID=env+2Did" in got[0]["mail_params"], got[0]
        assert "%s: sender delivery status notification" % qid in a.log()

        qid2 = send(a, ME + "@tern.test", [ME + "@tern.test"],
                    b"Subject: local dsn\r\n\r\nx\r\n", (),
                    ["NOTIFY=SUCCESS,FAILURE"])
        msgs = notices(a, n=3)           # the message and its notice
        reports = [m for m in msgs if m.get_content_type() ==
                   "multipart/report"]
        assert len(reports) == 2, [m["Subject"] for m in msgs]
        kind, per_msg, blocks = dsn_blocks(reports[1])
        assert blocks[0]["action"] == "delivered", blocks
        assert blocks[0]["final-recipient"] == "rfc822; %s@tern.test" % ME

        qid3 = send(a, ME + "@tern.test", ["gone@remote.test"], MSG, (),
                    ["NOTIFY=NEVER"])
        assert wait_log(a, "%s: to=<gone@remote.test>" % qid3, 10), a.log()
        assert "dsn=5.1.1, status=bounced" in a.log()
        assert queue_empty(a), a.queue_files()
        time.sleep(0.5)
        assert len(maildir_messages(os.path.join(a.mail, ME))) == 3
        assert "%s: sender non-delivery" % qid3 not in a.log()
        assert s.messages()[-1]["rcpt_tos"] == ["far@remote.test"]
        assert qid2


def test_dsn_not_offered():
    with Stack() as st:
        s = sink(st, extra=["--no-dsn"])
        a = relay_to(st, s.port)
        send(a, ME + "@tern.test", ["far@remote.test"], MSG,
             ["RET=FULL"], ["NOTIFY=SUCCESS"])
        assert wait_for(lambda: s.messages(), 10, 0.1), a.log()
        got = s.messages()[0]
        assert got["rcpt_params"] == [[]], got
        assert not [p for p in got["mail_params"]
                    if p.upper().startswith(("RET=", "ENVID="))], got
        # The next hop cannot carry the request on: we say "relayed".
        b = dsn_blocks(notices(a, n=1)[0])[2][0]
        assert b["action"] == "relayed", b


def test_recipients_grouped_by_domain():
    with Stack() as st:
        s = sink(st)
        a = relay_to(st, s.port)
        send(a, ME + "@tern.test", ["a@remote.test", "b@remote.test"], MSG)
        assert wait_for(lambda: s.messages(), 10, 0.1), a.log()
        assert queue_empty(a)
        got = s.messages()
        assert len(got) == 1, got
        assert sorted(got[0]["rcpt_tos"]) == ["a@remote.test",
                                             "b@remote.test"], got
        assert got[0]["data"].endswith(MSG.decode())


def has_ipv6_loopback():
    import socket
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_mx_routing_outcomes():
    """Backup MX when the first is down; null MX, NXDOMAIN bounce at
    once; SERVFAIL defers."""
    with Stack() as st:
        b = bob_tern(st)
        down = "::1" if has_ipv6_loopback() else None
        zone = ZONE.replace("bob.test MX 10", "bob.test MX 20") + \
            "nullmx.test MX 0 .\nbroken.test SERVFAIL\n"
        if down:
            zone += "bob.test MX 10 mx0.bob.test\nmx0.bob.test AAAA ::1\n"
        d = dns(st, zone)
        a = alice(st, b.port, dns_server="127.0.0.1:%d" % d.port,
                  address_family="any")
        qid = send(a, "alice@tern.test", ["bob@bob.test"], BODY,
                   ["BODY=8BITMIME"])
        assert wait_for(lambda: maildir_messages(os.path.join(b.mail, ME)),
                        15, 0.1), a.log()
        if down:
            assert "relay=mx0.bob.test[::1]:%d" % b.port not in a.log() \
                or "Connection refused" in a.log(), a.log()
            assert "connect to mx0.bob.test[::1]:%d" % b.port in a.log(), \
                a.log()
        assert "%s: to=<bob@bob.test>, relay=mx.bob.test[127.0.0.1]" % qid \
            in a.log(), a.log()
        send(a, ME + "@tern.test", ["x@nullmx.test", "y@nxdomain.test",
                                    "z@broken.test"], MSG)
        msgs = notices(a, n=1)
        blocks = dsn_blocks(msgs[0])[2]
        got = dict((b["final-recipient"], b) for b in blocks)
        assert sorted(got) == ["rfc822; x@nullmx.test",
                               "rfc822; y@nxdomain.test"], got
        assert got["rfc822; x@nullmx.test"]["status"] == "5.1.10", got
        assert got["rfc822; y@nxdomain.test"]["status"] == "5.1.2", got
        assert wait_log(a, "to=<z@broken.test>", 10), a.log()
        assert "dsn=4.4.3, status=deferred" in a.log(), a.log()
        assert len(a.queue_files()) == 1


def test_connection_reused():
    """Two messages for one domain due together go over one session."""
    with Stack() as st:
        port = harness.free_port()
        a = relay_to(st, port)
        send(a, ME + "@tern.test", ["a@remote.test"], MSG)
        send(a, ME + "@tern.test", ["b@remote.test"], MSG)
        assert wait_log(a, "status=deferred", 10, 2), a.log()
        s = sink(st, port)
        harness_flush(a)
        assert wait_for(lambda: len(s.messages()) == 2, 10, 0.1), a.log()
        got = s.messages()
        assert got[0]["session"] == got[1]["session"], got
        assert sorted(m["rcpt_tos"][0] for m in got) == \
            ["a@remote.test", "b@remote.test"]
        assert "agent for remote.test: 2 messages" in a.log(), a.log()
        assert queue_empty(a)


def harness_flush(t):
    """Ask the queue runner to attempt everything now (trigger FIFO)."""
    fd = os.open(os.path.join(t.spool, "trigger"),
                 os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"flush\n")
    finally:
        os.close(fd)


# --- lines over 998 octets, relayed (RFC 5322 2.1.1) ---

def sink_raw(s, n, timeout=15):
    """Wait for n messages at sink s; [(json, raw bytes as received)]."""
    wait_for(lambda: len(s.messages()) >= n, timeout, 0.1)
    out = []
    for i, meta in enumerate(s.messages()):
        with open(os.path.join(s.dir, "%d.eml" % (i + 1)), "rb") as f:
            out.append((meta, f.read()))
    return out


def check_line_limit(raw):
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"", raw[-100:]     # ends in CRLF
    longest = max(len(line) for line in lines)
    assert longest <= 998, longest
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"


def unfold(header_block):
    return re.sub(rb"\r\n(?=[ \t])", b"", header_block)


def decoded_parts(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return [(p.get_content_type(), p.get_payload(decode=True))
            for p in m.walk() if not p.is_multipart()]


LONG_TEXT = "Gr\u00fc\u00dfe aus K\u00f6ln, " * 120 + "end"   # 2400+ octets
LONG_SUBJECT = " ".join("word%d" % i for i in range(300))


def test_long_lines_reencoded_when_relayed():
    """A text body line of 2400 octets and a 2300-octet Subject: the
    next hop gets no line over 998 octets (the body as quoted-printable,
    the Subject folded), decoding gives back the original text exactly,
    and SIZE counts what was sent."""
    body = ("From: alice@tern.test\r\nTo: x@remote.test\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <ll@x>\r\n"
            "Subject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nfirst line\r\n%s\r\n"
            "-- \r\nsig\r\n" % (LONG_SUBJECT, LONG_TEXT)).encode()
    with Stack() as st:
        s = sink(st)
        a = relay_to(st, s.port)
        qid = send(a, "alice@tern.test", ["x@remote.test"], body,
                   ["BODY=8BITMIME"])
        (meta, raw), = sink_raw(s, 1)
        check_line_limit(raw)
        assert "SIZE=%d" % len(raw) in meta["mail_params"], \
            (meta["mail_params"], len(raw))
        head, _, _ = raw.partition(b"\r\n\r\n")
        orig_head = body.partition(b"\r\n\r\n")[0]
        assert unfold(head).endswith(b"\r\n" + orig_head.replace(
            b"Content-Transfer-Encoding: 8bit",
            b"Content-Transfer-Encoding: quoted-printable") +
            b"\r\nMIME-Version: 1.0"), head
        m = email.message_from_bytes(raw, policy=email.policy.default)
        orig = email.message_from_bytes(body, policy=email.policy.default)
        assert m["Subject"] == LONG_SUBJECT
        assert m["Content-Transfer-Encoding"] == "quoted-printable"
        assert m.get_content() == orig.get_content(), m.get_content()[:200]
        assert LONG_TEXT in m.get_content()
        assert wait_log(a, "%s: lines over 998 octets: 1 part(s) sent as "
                        "quoted-printable, size=%d" % (qid, len(raw)), 5), \
            a.log()
        assert queue_empty(a)


def test_long_lines_in_multipart_reencoded():
    """Only the parts with long lines change: a 7bit HTML part becomes
    quoted-printable, a base64 part written as one long line is cut into
    76-octet lines; the short part and the structure stay byte for byte."""
    html = "<p>" + "x" * 3000 + "</p>"
    blob = bytes(range(256)) * 12
    b64 = base64.b64encode(blob).decode()            # one 4096-octet line
    short = ("--frontier\r\nContent-Type: text/plain\r\n\r\n"
             "short part\r\n")
    body = ("From: alice@tern.test\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=frontier\r\n\r\n"
            "preamble\r\n" + short +
            "--frontier\r\nContent-Type: text/html\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n" + html + "\r\n"
            "--frontier\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n"
            "--frontier--\r\n").encode()
    with Stack() as st:
        s = sink(st)
        a = relay_to(st, s.port)
        send(a, "alice@tern.test", ["x@remote.test"], body)
        (meta, raw), = sink_raw(s, 1)
        check_line_limit(raw)
        assert "SIZE=%d" % len(raw) in meta["mail_params"]
        assert short.encode() in raw and b"\r\npreamble\r\n" in raw
        assert raw.endswith(b"\r\n--frontier--\r\n"), raw[-50:]
        assert decoded_parts(raw) == decoded_parts(body), \
            [(t, len(p)) for t, p in decoded_parts(raw)]
        assert dict(decoded_parts(raw))["application/octet-stream"] == blob
        assert dict(decoded_parts(raw))["text/html"].decode() == html
        m = email.message_from_bytes(raw, policy=email.policy.default)
        ctes = [p["Content-Transfer-Encoding"] for p in m.walk()]
        assert ctes == [None, None, "quoted-printable", "base64"], ctes


def test_long_header_without_white_space_bounces():
    """A header line that cannot be folded is not cut: the recipient
    fails with 5.6.0 and the sender gets a bounce naming the reason;
    nothing reaches the next hop.  Local delivery keeps it as it is."""
    token = "t" * 1200
    body = ("From: alice@tern.test\r\nX-Token: %s\r\nSubject: unfoldable"
            "\r\n\r\nbody\r\n" % token).encode()
    with Stack() as st:
        s = sink(st)
        a = relay_to(st, s.port)
        send(a, "alice@tern.test", ["x@remote.test", "alice@tern.test"],
             body)
        msgs = notices(a, n=2)
        copy = [m for m in msgs if m["Subject"] == "unfoldable"]
        assert len(copy) == 1 and copy[0]["X-Token"] == token, \
            [m["Subject"] for m in msgs]
        bounce, = [m for m in msgs if m["Subject"] != "unfoldable"]
        kind, per_msg, blocks = dsn_blocks(bounce)
        assert [(b["final-recipient"], b["action"], b["status"])
                for b in blocks] == \
            [("rfc822; x@remote.test", "failed", "5.6.0")], blocks
        diag = " ".join(blocks[0]["diagnostic-code"].split())
        assert diag.startswith("X-Tern; ") and \
            "no white space to fold at" in diag, diag
        assert "remote-mta" not in blocks[0], blocks[0]   # decided here
        assert "dsn=5.6.0, status=bounced" in a.log(), a.log()
        assert s.messages() == []
        assert queue_empty(a)
