# SPDX-License-Identifier: ISC
"""test_delivery_tls.py - TLS in the queue runner's SMTP client (issue 10,
items 6 to 8): opportunistic STARTTLS and its plaintext retry, the
encrypt and verify levels of the transport map, the relayhost login on
a submission port with STARTTLS and on an implicit-TLS port, and DANE
from TLSA records that the test DNS server marks as authenticated.

The far side is smtpsink.py with the certificates of tests/certs (host.pem
names localhost and mx.test.example); every message it stores says
whether TLS was up and who logged in.  Each test SKIPs when ternd has no
TLS built in."""
import os

import harness
from harness import CERTS, need_tls, wait_for, wait_log
from test_delivery_remote import ME, MSG, Stack, alice, dns, queue_empty, \
    send, sink
from test_nexthop import sender_tern

CA = os.path.join(CERTS, "ca.pem")


def cert(name):
    return ["--tls-cert", os.path.join(CERTS, name + ".pem"),
            "--tls-key", os.path.join(CERTS, name + ".key")]


def fixture(name):
    with open(os.path.join(CERTS, name), encoding="ascii") as f:
        return f.read().strip()


def mapped(st, port, level="", **kw):
    """Alice's tern with tls.test routed to [localhost]:port (level)."""
    path = os.path.join(st.tmp("tern-map-"), "transport")
    with open(path, "w") as f:
        f.write("tls.test [localhost]:%d %s\n" % (port, level))
    kw.setdefault("smtp_tls_ca_path", CA)
    kw.setdefault("smtp_mx_address_limit", 1)   # not ::1 after 127.0.0.1
    return sender_tern(st, transport=path, **kw)


def line_of(t, qid):
    """The result line of qid in t's log (the last one)."""
    lines = [x for x in t.log().splitlines() if qid + ": to=<" in x]
    return lines[-1] if lines else ""


def delivered(t, s, qid):
    assert wait_for(lambda: s.messages(), 15, 0.1), t.log()
    assert wait_for(lambda: "status=sent" in line_of(t, qid), 5), t.log()
    return s.messages()[0], line_of(t, qid)


def deferred(t, qid, why):
    assert wait_log(t, why), t.log()
    assert wait_for(lambda: "status=deferred" in line_of(t, qid), 10), \
        t.log()
    return line_of(t, qid)


def test_may_uses_starttls():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = mapped(st, s.port)
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] == "TLSv1.3", msg
        assert line.endswith(", tls=TLSv1.3"), line
        assert "certificate not verified" in a.log(), a.log()
        assert queue_empty(a), a.log()


def test_no_starttls_is_plaintext():
    need_tls()
    with Stack() as st:
        s = sink(st)
        a = mapped(st, s.port)
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] is None, msg
        assert line.endswith(", tls=none"), line


def test_level_none_never_starts_tls():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = mapped(st, s.port, "none")
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] is None and line.endswith(", tls=none"), (msg, line)


def test_handshake_failure_retries_in_plaintext_once():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host") + ["--tls-broken"])
        a = mapped(st, s.port)
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] is None and msg["session"] == 2, msg
        assert line.endswith(", tls=none"), line
        log = a.log()
        assert "TLS handshake with host localhost[127.0.0.1]:%d failed" \
            % s.port in log, log
        assert log.count("trying again without TLS") == 1, log


def test_encrypt_to_host_without_starttls_defers():
    need_tls()
    with Stack() as st:
        s = sink(st)
        a = mapped(st, s.port, "encrypt")
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        line = deferred(a, qid, "TLS is required (TLS level encrypt), but "
                        "was not offered by host localhost")
        assert line.endswith(", tls=none") and "dsn=4.7.4" in line, line
        assert s.messages() == []


def test_verify_with_the_right_ca_is_sent():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = mapped(st, s.port, "verify")
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] == "TLSv1.3" and line.endswith(", tls=TLSv1.3"), line
        assert "certificate verified" in a.log(), a.log()


def test_bad_ca_store_still_encrypts_but_cannot_verify():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        bad = os.path.join(st.tmp("tern-ca-"), "ca.pem")
        with open(bad, "w") as f:
            f.write("not a certificate\n")
        path = os.path.join(st.tmp("tern-map-"), "transport")
        with open(path, "w") as f:
            f.write("tls.test [localhost]:%d\nv.test [localhost]:%d "
                    "verify\n" % (s.port, s.port))
        a = sender_tern(st, transport=path, smtp_tls_ca_path=bad,
                        smtp_mx_address_limit=1)
        q1 = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        msg, line = delivered(a, s, q1)
        assert msg["tls"] == "TLSv1.3", msg
        assert "smtp_tls_ca_path: %s" % bad in a.log(), a.log()
        q2 = send(a, ME + "@tern.test", ["far@v.test"], MSG)
        line = deferred(a, q2, "certificate verification failed")
        assert "dsn=4.7.5" in line, line


def check_verify_refused(name, why):
    with Stack() as st:
        s = sink(st, extra=cert(name))
        a = mapped(st, s.port, "verify")
        qid = send(a, ME + "@tern.test", ["far@tls.test"], MSG)
        line = deferred(a, qid, "certificate verification failed: " + why)
        assert "TLS with host localhost[127.0.0.1]:%d refused" % s.port \
            in line, line
        assert "dsn=4.7.5" in line, line
        assert s.messages() == []


def test_verify_wrong_name_defers():
    need_tls()
    check_verify_refused("other", "hostname mismatch")


def test_verify_expired_defers():
    need_tls()
    check_verify_refused("expired", "certificate has expired")


def test_verify_self_signed_defers():
    need_tls()
    check_verify_refused("self", "self-signed certificate")


def auth_file(st, port, user="sub@tern.test", password="se:cret pw"):
    path = os.path.join(st.tmp("tern-auth-"), "relay_auth")
    with open(path, "w") as f:
        f.write("# relayhost credentials\n[localhost]:%d %s:%s\n"
                % (port, user, password))
    os.chmod(path, 0o600)
    return path


def smarthost(st, s, **kw):
    kw.setdefault("smtp_tls_ca_path", CA)
    kw.setdefault("smtp_mx_address_limit", 1)
    return sender_tern(st, relayhost="[localhost]:%d" % s.port,
                       relayhost_auth_file=auth_file(st, s.port), **kw)


def test_smarthost_starttls_and_auth_plain():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host") + [
            "--auth", "sub@tern.test:se:cret pw"])
        a = smarthost(st, s)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["auth_user"] == "sub@tern.test" and msg["tls"], msg
        assert line.endswith(", tls=TLSv1.3"), line
        assert "as sub@tern.test (AUTH PLAIN)" in a.log(), a.log()
        assert "se:cret" not in a.log(), a.log()


def test_smarthost_auth_login():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host") + [
            "--auth", "sub@tern.test:se:cret pw", "--auth-mechs", "LOGIN"])
        a = smarthost(st, s)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        msg, _ = delivered(a, s, qid)
        assert msg["auth_user"] == "sub@tern.test", msg
        assert "(AUTH LOGIN)" in a.log(), a.log()


def test_smarthost_implicit_tls():
    """Port 465 style: TLS before the greeting (smtp_tls_implicit_port
    names the sink's port here)."""
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host") + [
            "--implicit-tls", "--auth", "sub@tern.test:se:cret pw"])
        a = smarthost(st, s, smtp_tls_implicit_port=s.port)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] == "TLSv1.3" and msg["auth_user"], msg
        assert line.endswith(", tls=TLSv1.3"), line


def check_password_never_sent(s, a, qid, why):
    line = deferred(a, qid, why)
    assert "dsn=4.7" in line, line
    assert s.messages() == []
    with open(s.transcript, encoding="utf-8") as f:
        talk = f.read()
    assert "AUTH" not in talk and "cret" not in talk, talk


def test_smarthost_without_auth_defers_and_keeps_the_password():
    need_tls()
    with Stack() as st:
        d = st.tmp("tern-talk-")
        s = sink(st, extra=cert("host") + [
            "--transcript", os.path.join(d, "talk")])
        s.transcript = os.path.join(d, "talk")
        a = smarthost(st, s)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        check_password_never_sent(
            s, a, qid, "offers no AUTH PLAIN or LOGIN: not sending the "
            "credentials")


def test_smarthost_without_tls_defers_and_keeps_the_password():
    need_tls()
    with Stack() as st:
        d = st.tmp("tern-talk-")
        s = sink(st, extra=["--transcript", os.path.join(d, "talk")])
        s.transcript = os.path.join(d, "talk")
        a = smarthost(st, s)
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        check_password_never_sent(
            s, a, qid, "TLS is required (relayhost_auth_file login), but "
            "was not offered")


def test_auth_file_readable_by_others_is_not_used():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host") + ["--auth", "u:p"])
        a = smarthost(st, s, start=False)
        os.chmod(a.conf["relayhost_auth_file"], 0o644)
        a.start()
        qid = send(a, ME + "@tern.test", ["far@remote.test"], MSG)
        deferred(a, qid, "cannot log in to relayhost")
        assert "not readable by group or others" in a.log(), a.log()
        assert s.messages() == []


def dane_tern(st, s, tlsa_hex, secure=True):
    """MX of dane.test is mx.test.example (named in host.pem) at the
    sink's port, with a TLSA 3 1 1 record; secure: AD-marked answers."""
    zone = ("dane.test MX 10 mx.test.example\n"
            "mx.test.example A 127.0.0.1\n"
            "_%d._tcp.mx.test.example TLSA 3 1 1 %s\n" % (s.port, tlsa_hex))
    if secure:
        zone += ("dane.test SECURE\nmx.test.example SECURE\n"
                 "_%d._tcp.mx.test.example SECURE\n" % s.port)
    d = dns(st, zone)
    return alice(st, s.port, dns_server="127.0.0.1:%d" % d.port,
                 smtp_dane="yes")


def test_dane_match_is_sent():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = dane_tern(st, s, fixture("host.spki-sha256"))
        qid = send(a, ME + "@tern.test", ["far@dane.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] == "TLSv1.3" and line.endswith(", tls=TLSv1.3"), line
        assert "DANE verified" in a.log(), a.log()


def test_dane_mismatch_defers():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = dane_tern(st, s, fixture("other.spki-sha256"))
        qid = send(a, ME + "@tern.test", ["far@dane.test"], MSG)
        line = deferred(a, qid, "(DANE)")
        assert "DANE verification failed" in line, line
        assert s.messages() == []


def test_dane_without_ad_bit_is_plain_may():
    need_tls()
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        a = dane_tern(st, s, fixture("other.spki-sha256"), secure=False)
        qid = send(a, ME + "@tern.test", ["far@dane.test"], MSG)
        msg, line = delivered(a, s, qid)
        assert msg["tls"] == "TLSv1.3", msg
        assert "certificate not verified" in a.log(), a.log()
        assert "DANE" not in a.log(), a.log()


def tls_built_in():
    try:
        need_tls()
    except harness.Skip:
        return False
    return True


def test_either_build_may_delivers_and_encrypt_needs_tls():
    """Runs with TLS built in or not: may always delivers (in plaintext
    without TLS); encrypt without TLS built in defers, saying so."""
    with Stack() as st:
        s = sink(st, extra=cert("host"))
        path = os.path.join(st.tmp("tern-map-"), "transport")
        with open(path, "w") as f:
            f.write("may.test [localhost]:%d\nenc.test [localhost]:%d "
                    "encrypt\n" % (s.port, s.port))
        a = sender_tern(st, transport=path, smtp_mx_address_limit=1)
        q1 = send(a, ME + "@tern.test", ["far@may.test"], MSG)
        msg, line = delivered(a, s, q1)
        tls = tls_built_in()
        assert (msg["tls"] == "TLSv1.3") == tls, msg
        q2 = send(a, ME + "@tern.test", ["far@enc.test"], MSG)
        if tls:
            assert wait_for(lambda: "status=sent" in line_of(a, q2), 15), \
                a.log()
        else:
            line = deferred(a, q2, "TLS is required for localhost")
            assert "but not available: TLS is not built in" in line, line
