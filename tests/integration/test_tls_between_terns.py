# SPDX-License-Identifier: ISC
"""test_tls_between_terns.py - one tern delivering to another over TLS:
STARTTLS on port 25 with both log lines saying so, a `verify` destination
whose certificate names another host, and the smarthost case, where
alice's tern logs in to a second tern's submission port.

The sending side comes from test_delivery_tls (a tern whose transport
map routes tls.test to [localhost]:PORT); the receiving side is a real
ternd with tests/certs' certificate."""
import contextlib
import os
import re

import harness
from harness import (Tern, daemon_user, maildir_messages, need_tls,
                     tls_conf, wait_for)
from test_delivery_remote import ME, Stack, send
from test_delivery_tls import deferred, line_of, mapped, smarthost

MSG = (b"From: alice@tern.test\r\nTo: postmaster@tls.test\r\n"
       b"Subject: tern to tern\r\n\r\nover TLS both ways\r\n")


@contextlib.contextmanager
def receiver(cert="chain.pem", key="host.key", **conf):
    """The far tern: local domain tls.test, postmaster its user."""
    with Tern(local_domains="tls.test, localhost", hostname="mx.tls.test",
              **dict(tls_conf(cert, key), **conf)) as b:
        yield b


def test_starttls_between_two_terns():
    """Alice's tern finds STARTTLS at the far tern and uses it: her log
    says tls=TLSv1.3, the far log says the TLS connection was made, and
    the message there says ESMTPS with the cipher."""
    need_tls()
    with Stack() as st, receiver() as b:
        a = mapped(st, b.port, "verify")
        qid = send(a, ME + "@tern.test", ["postmaster@tls.test"], MSG)
        box = os.path.join(b.mail, daemon_user())
        assert wait_for(lambda: maildir_messages(box), 20), a.log() + b.log()
        assert wait_for(lambda: "status=sent" in line_of(a, qid), 10)
        assert line_of(a, qid).endswith(", tls=TLSv1.3"), line_of(a, qid)
        assert re.search(r"TLS connection established from localhost?"
                         r"\S*\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_",
                         b.log()) or "TLS connection established from " \
            "unknown[127.0.0.1]: TLSv1.3 with cipher TLS_" in b.log(), \
            b.log()
        raw = maildir_messages(box)[0][2].decode()
        assert "(using TLSv1.3 with cipher " in raw and \
            "with ESMTPS id" in raw, raw


def test_verify_defers_when_the_far_certificate_names_another_host():
    """`verify` to a tern whose certificate is for wrong.example: the
    message is deferred with the reason, and nothing arrives."""
    need_tls()
    with Stack() as st, receiver("other.pem", "other.key") as b:
        a = mapped(st, b.port, "verify")
        qid = send(a, ME + "@tern.test", ["postmaster@tls.test"], MSG)
        line = deferred(a, qid, "hostname mismatch")
        assert "certificate verification failed" in line, line
        assert maildir_messages(os.path.join(b.mail, daemon_user())) == []


def test_smarthost_login_to_a_second_tern_on_587():
    """relayhost = [localhost]:587-like port with relayhost_auth_file:
    alice's tern does STARTTLS, logs in with the password of the far
    tern's auth_users, and the far tern relays for her (to its own
    local domain here) and logs sasl_username."""
    need_tls()
    d = harness.tempdir()
    passwd = os.path.join(d, "passwd")
    with open(passwd, "w") as f:
        f.write("sub@tern.test:%s\n" % harness.sha512_hash("se:cret pw"))
    os.chmod(passwd, 0o600)
    sub = harness.free_port()

    class Port:
        port = sub
    with Stack() as st, receiver(submission_listen="127.0.0.1:%d" % sub,
                                 auth_users=passwd,
                                 sender_login=os.path.join(d, "owners"))\
            as b:
        with open(os.path.join(d, "owners"), "w") as f:
            f.write("sub@tern.test: @tern.test\n")
        a = smarthost(st, Port)
        qid = send(a, ME + "@tern.test", ["postmaster@tls.test"], MSG)
        box = os.path.join(b.mail, daemon_user())
        assert wait_for(lambda: maildir_messages(box), 20), a.log() + b.log()
        assert wait_for(lambda: "status=sent" in line_of(a, qid), 10)
        assert "(AUTH PLAIN)" in a.log(), a.log()
        assert "sasl_method=PLAIN, sasl_username=sub@tern.test" in b.log()
        raw = maildir_messages(box)[0][2].decode()
        assert "with ESMTPSA id" in raw, raw
        assert "se:cret" not in a.log() + b.log() + raw
