# SPDX-License-Identifier: ISC
"""test_smtpd_tls.py - the server's TLS: STARTTLS on port 25 (RFC 3207),
implicit TLS on smtps_listen (RFC 8314), the submission port's rules
before AUTH, reloads, and handshakes that go wrong.

The certificates are tests/certs' fixtures (tests/certs/make.sh).  Every
test here needs a build with TLS and says SKIP without it."""
import os
import shutil
import signal
import socket
import smtplib

import harness
from harness import (CERTS, RawClient, Tern, daemon_user, maildir_messages,
                     need_tls, tls_conf, wait_for, wait_log)

MSG = (b"From: a@example.org\r\nTo: postmaster@tern.test\r\n"
       b"Subject: over TLS\r\n\r\nsecret body\r\n")


def mailbox(t):
    return os.path.join(t.mail, daemon_user())


def test_starttls_then_mail_says_esmtps_and_the_cipher():
    """STARTTLS is offered with a certificate; after it the client says
    EHLO again, and the Received: header and the log carry the protocol
    and cipher as Postfix writes them."""
    need_tls()
    with Tern(**tls_conf()) as t:
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=10)
        s.ehlo("client.example")
        assert s.has_extn("starttls"), s.esmtp_features
        code, _ = s.starttls(context=harness.client_tls())
        assert code == 220
        cert = s.sock.getpeercert()
        assert dict(x[0] for x in cert["subject"])["commonName"] == \
            "localhost"
        s.ehlo("client.example")
        assert not s.has_extn("starttls"), "offered twice"
        s.sendmail("a@example.org", ["postmaster@tern.test"], MSG)
        s.quit()
        assert wait_for(lambda: maildir_messages(mailbox(t)), 15), t.log()
        raw = maildir_messages(mailbox(t))[0][2].decode()
        head = raw.split("\n\n")[0]
        assert "\n\t(using TLSv1.3 with cipher TLS_" in head, head
        assert " bits))\n\tby tern.test (tern) with ESMTPS id " in head, head
        assert "secret body" in raw
        assert wait_log(t, "Anonymous TLS connection established from "
                        "unknown[127.0.0.1]: TLSv1.3 with cipher TLS_"), \
            t.log()


def test_no_certificate_no_starttls():
    """Without smtpd_tls_cert_file there is no STARTTLS to offer."""
    with Tern() as t:
        c = RawClient("127.0.0.1", t.port)
        code, text = c.cmd("EHLO client.example")
        assert code == 250 and "STARTTLS" not in text
        assert c.cmd("STARTTLS")[0] == 502
        c.close()


def starttls_raw(t, after=b""):
    """A raw client that says EHLO and STARTTLS, with after sent in the
    same packet, then does the handshake.  Returns it, now under TLS."""
    c = RawClient("127.0.0.1", t.port)
    assert c.cmd("EHLO client.example")[0] == 250
    c.send(b"STARTTLS\r\n" + after)
    code, text = c.reply()
    assert code == 220, text
    assert c.buf == b""
    c.sock = harness.client_tls().wrap_socket(c.sock,
                                             server_hostname="localhost")
    return c


def test_commands_pipelined_after_starttls_are_thrown_away():
    """CVE-2011-0411: a MAIL and RCPT sent in plaintext in the packet of
    STARTTLS must never run inside the TLS session.  The first reply in
    TLS is the one to our EHLO, and no MAIL was counted."""
    need_tls()
    with Tern(**tls_conf()) as t:
        c = starttls_raw(t, b"MAIL FROM:<evil@example.org>\r\n"
                         b"RCPT TO:<postmaster@tern.test>\r\n")
        code, text = c.cmd("EHLO client.example")
        assert code == 250 and text.startswith("tern.test\n"), (code, text)
        # still no transaction: RCPT needs a MAIL first
        assert c.cmd("RCPT TO:<postmaster@tern.test>")[0] == 503
        assert c.cmd("QUIT")[0] == 221
        c.close()
        # the start-up probe's session, then ours
        assert wait_log(t, "disconnect from", count=2), t.log()
        log = t.log()
        assert "thrown away" in log and " mail=" not in log, log
        assert "ehlo=2 rcpt=1 quit=1 starttls=1 commands=5" in log, log


def test_starttls_twice_and_ehlo_again():
    """Inside TLS: a second STARTTLS is refused, and a new EHLO is
    needed before MAIL (RFC 3207 4.2: the state is reset)."""
    need_tls()
    with Tern(**tls_conf()) as t:
        c = starttls_raw(t)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert c.cmd("EHLO client.example")[0] == 250
        code, text = c.cmd("STARTTLS")
        assert code == 554 and "TLS already active" in text, text
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        c.close()


def worker_fds(t):
    """The open descriptors of each live smtpd process of t (the pids of
    its "tern/smtpd[PID]" log lines), by pid."""
    out = {}
    for line in t.log().splitlines():
        i = line.find("tern/smtpd[")
        if i < 0:
            continue
        pid = line[i + 11:line.index("]", i)]
        try:
            out[pid] = len(os.listdir("/proc/%s/fd" % pid))
        except OSError:
            pass
    return out


def test_bad_handshakes_end_cleanly_and_leak_nothing():
    """Garbage in place of a ClientHello, a client that goes away in the
    middle, and one that never finishes: each ends its session with a
    log line, and the worker that served it serves the next session
    with no descriptor more than before."""
    need_tls()
    with Tern(smtpd_timeout="2s", max_errors=100, **tls_conf()) as t:
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=10)
        s.ehlo()
        s.quit()
        assert wait_log(t, "disconnect from"), t.log()
        before = worker_fds(t)
        for attempt in ("garbage", "drop", "silent"):
            c = RawClient("127.0.0.1", t.port)
            assert c.cmd("EHLO x")[0] == 250
            assert c.cmd("STARTTLS")[0] == 220
            if attempt == "garbage":
                c.send(b"EHLO this is not a ClientHello\r\n" * 4)
            elif attempt == "drop":
                c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            if attempt != "silent":
                assert c.closed(timeout=5) or attempt == "drop"
            else:
                assert c.closed(timeout=6), "a silent handshake stayed"
            c.close()
        assert wait_log(t, "SSL_accept error from unknown[127.0.0.1]:",
                        count=3), t.log()
        log = t.log()
        assert "timeout in the TLS handshake" in log, log
        assert "handshake failed" in log, log
        assert wait_log(t, "disconnect from", count=4), log
        # and the daemon still takes mail
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=10)
        s.starttls(context=harness.client_tls())
        s.sendmail("a@example.org", ["postmaster@tern.test"], MSG)
        s.quit()
        # the worker logs its disconnect just before it closes the
        # socket: give it a moment (bounded) to be idle again
        def no_more():
            after = worker_fds(t)
            return all(n <= before[p] for p, n in after.items()
                       if p in before)
        assert wait_for(no_more, 5), (before, worker_fds(t))


def auth_users():
    """An auth_users file with one user, for the submission listeners."""
    path = os.path.join(harness.tempdir(), "passwd")
    with open(path, "w") as f:
        f.write("alice:%s\n" % harness.sha512_hash("pw"))
    return path


def test_smtps_is_tls_from_the_first_byte():
    """smtps_listen (465) starts with the handshake, then greets; there,
    as on 587, MAIL needs AUTH first."""
    need_tls()
    port = harness.free_port()
    with Tern(smtps_listen="127.0.0.1:%d" % port, auth_users=auth_users(),
              **tls_conf()) as t:
        s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10,
                             context=harness.client_tls())
        code, _ = s.ehlo("laptop.example")
        assert code == 250 and not s.has_extn("starttls")
        code, text = s.mail("alice@tern.test")
        assert code == 530 and b"Authentication required" in text, text
        s.quit()
        # a plaintext client on 465 gets no greeting, only the end
        c = socket.create_connection(("127.0.0.1", port), 5)
        c.sendall(b"EHLO plain.example\r\n")
        c.settimeout(5)
        try:
            got = c.recv(100)
        except ConnectionResetError:
            got = b""
        assert not got.startswith(b"220"), got
        c.close()
        assert wait_log(t, "SSL_accept error from unknown[127.0.0.1]"), \
            t.log()


def test_submission_wants_starttls_before_auth_and_mail():
    """On submission_listen (587), before TLS: no AUTH offered, AUTH
    refused with 538, MAIL with 530; STARTTLS works."""
    need_tls()
    port = harness.free_port()
    with Tern(submission_listen="127.0.0.1:%d" % port,
              auth_users=auth_users(), **tls_conf()) as t:
        c = RawClient("127.0.0.1", port)
        code, text = c.cmd("EHLO laptop.example")
        assert code == 250 and "STARTTLS" in text and "AUTH" not in text
        code, text = c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
        assert code == 538 and text.startswith("5.7.11 Encryption "
                                               "required"), text
        code, text = c.cmd("MAIL FROM:<alice@tern.test>")
        assert code == 530 and "STARTTLS" in text, text
        c.close()


def test_hup_reloads_the_certificate_and_keeps_it_when_bad():
    """HUP loads the files again: new sessions get the new certificate.
    A HUP with a broken key keeps the old one and says so."""
    need_tls()
    d = harness.tempdir()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    shutil.copy(os.path.join(CERTS, "chain.pem"), cert)
    shutil.copy(os.path.join(CERTS, "host.key"), key)
    os.chmod(d, 0o755)

    def peer_cn(t):
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=10)
        s.starttls(context=harness.client_tls(verify=False))
        der = s.sock.getpeercert(binary_form=True)
        s.quit()
        return der

    with Tern(smtpd_tls_cert_file=cert, smtpd_tls_key_file=key) as t:
        first = peer_cn(t)
        shutil.copy(os.path.join(CERTS, "other.pem"), cert)
        shutil.copy(os.path.join(CERTS, "other.key"), key)
        os.kill(t.proc.pid, signal.SIGHUP)
        assert wait_log(t, "configuration reloaded"), t.log()
        assert wait_for(lambda: peer_cn(t) != first, 10), t.log()
        second = peer_cn(t)
        with open(key, "w") as f:
            f.write("not a key\n")
        os.kill(t.proc.pid, signal.SIGHUP)
        assert wait_log(t, "keeping the old TLS certificate and key"), \
            t.log()
        assert wait_log(t, "configuration reloaded", count=2), t.log()
        assert peer_cn(t) == second


def test_root_only_key_file():
    """The key file may be 0600 root: ternd reads it before the smtpd
    (as `user`) exists, and the smtpd could not open it."""
    harness.need_root("a key file that only root can read")
    need_tls()
    d = harness.tempdir()
    key = os.path.join(d, "key.pem")
    shutil.copy(os.path.join(CERTS, "host.key"), key)
    os.chown(key, 0, 0)
    os.chmod(key, 0o600)
    os.chmod(d, 0o700)
    with Tern(smtpd_tls_cert_file=os.path.join(CERTS, "chain.pem"),
              smtpd_tls_key_file=key) as t:
        s = smtplib.SMTP("127.0.0.1", t.port, timeout=10)
        assert s.starttls(context=harness.client_tls())[0] == 220
        s.ehlo()
        assert s.mail("a@example.org")[0] == 250
        s.quit()


def test_ternd_n_checks_the_certificate_and_key():
    """ternd -n loads the pair: a key of another certificate, a missing
    file, or smtps_listen without them is a configuration error."""
    tern = os.path.join(harness.BIN, "ternd")
    d = harness.tempdir()

    def check(text):
        path = os.path.join(d, "tern.conf")
        with open(path, "w") as f:
            f.write(text)
        import subprocess
        p = subprocess.run([tern, "-n", "-c", path], capture_output=True,
                           text=True, timeout=20)
        return p.returncode, p.stderr

    code, err = check("smtps_listen = 127.0.0.1:4650\n")
    assert code != 0 and "smtps_listen needs smtpd_tls_cert_file" in err
    code, err = check("submission_listen = 127.0.0.1:5870\n"
                      "auth_users = %s/missing\n" % d)
    assert code != 0 and "auth_users: " in err and "missing" in err, err
    need_tls()
    code, err = check("smtpd_tls_cert_file = %s/host.pem\n"
                      "smtpd_tls_key_file = %s/other.key\n"
                      % (CERTS, CERTS))
    assert code != 0 and "TLS: " in err, err
    code, err = check("smtpd_tls_cert_file = %s/host.pem\n" % CERTS)
    assert code != 0 and "go together" in err, err
    code, err = check("smtpd_tls_cert_file = %s/chain.pem\n"
                      "smtpd_tls_key_file = %s/host.key\n"
                      "submission_listen = 127.0.0.1:5870\n"
                      "auth_users = %s\n" % (CERTS, CERTS, auth_users()))
    assert code == 0, err


def test_sessions_resume_with_tickets_in_any_worker():
    """A client that comes back resumes its TLS session from the ticket
    (no full handshake), whichever smtpd takes it: every smtpd has the
    ticket key of ternd's context."""
    need_tls()
    with Tern(**tls_conf()) as t:
        ctx = harness.client_tls()
        sess, reused = None, []
        for i in range(3):
            c = RawClient("127.0.0.1", t.port)
            c.cmd("EHLO client.example")
            c.send(b"STARTTLS\r\n")
            assert c.reply()[0] == 220
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost",
                                     session=sess)
            assert c.cmd("EHLO client.example")[0] == 250
            assert c.cmd("QUIT")[0] == 221
            reused.append(c.sock.session_reused)
            sess = c.sock.session
            c.close()
        assert reused == [False, True, True], reused
        assert wait_log(t, "Reused TLS connection established from "
                        "unknown[127.0.0.1]: TLSv1.3", count=2), t.log()
