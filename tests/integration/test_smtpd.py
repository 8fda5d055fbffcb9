# SPDX-License-Identifier: ISC
"""test_smtpd.py - the SMTP server as a client sees it (issue: ternd
receives mail).  Clients are Python's smtplib and raw sockets.

Messages that must stay in the queue for inspection go to a remote
domain through a relayhost on a closed port, so the queue runner can only
defer them; the queue file itself never changes."""
import os
import smtplib
import socket
import time

import harness
from harness import Tern, read_queue_file, wait_for

ME = harness.daemon_user()


def message_tmp_files(t):
    """tmp/ files of messages being received (the queue runner also
    passes its state files through tmp/ as ID.state)."""
    return [f for f in t.tmp_files() if not f.endswith(".state")]


def queued(t, n=1):
    """Wait until n queue files exist; return their paths."""
    wait_for(lambda: len(t.queue_files()) >= n, 5)
    return t.queue_files()


def relay_tern(**kw):
    """A tern that trusts 127.0.0.1 and can never deliver remote mail."""
    conf = dict(relay_networks="127.0.0.0/8", relayhost="[127.0.0.1]:%d" %
                harness.free_port(), retry_interval="1h")
    conf.update(kw)
    return Tern(**conf)


def local_tern(**kw):
    t = Tern(start=False, **kw)
    t.write_aliases("postmaster: %s\nalice: %s\nbob: %s\n" % (ME, ME, ME))
    t.start()
    return t


def test_message_is_queued_exactly():
    with relay_tern() as t:
        s = t.smtp()
        body = (b"From: a@example.org\r\nTo: b@example.net\r\n"
                b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
                b"Message-ID: <m1@example.org>\r\n"
                b"Subject: hello\r\n\r\nline one\r\n.leading dot\r\n"
                b"\xc3\xa9t\xc3\xa9 8bit\r\n")
        s.ehlo("client.example")
        code, msg = s.mail("a@example.org", ["BODY=8BITMIME"])
        assert code == 250, (code, msg)
        assert s.rcpt("b@example.net", ["NOTIFY=SUCCESS,FAILURE",
                                        "ORCPT=rfc822;b@example.net"])[0] == 250
        assert s.rcpt("c@example.net")[0] == 250
        code, msg = s.data(body)
        assert code == 250 and msg.startswith(b"2.0.0 Ok: queued as "), msg
        qid = msg.split()[-1].decode()
        s.quit()
        files = queued(t)
        assert len(files) == 1, files
        assert os.path.basename(files[0]) == qid
        assert message_tmp_files(t) == []
        env, rcpts, data = read_queue_file(files[0])
        assert env["version"] == "1" and env["id"] == qid
        assert env["sender"] == "a@example.org"
        assert env["body"] == "8bitmime" and env["helo"] == "client.example"
        assert rcpts[0].split()[0] == "b@example.net"
        assert "notify=success,failure" in rcpts[0]
        assert "orcpt=rfc822;b@example.net" in rcpts[0]
        assert rcpts[1] == "c@example.net"
        assert data.startswith(b"Received: from client.example (unknown "
                               b"[127.0.0.1])\r\n\tby tern.test (tern) with "
                               b"ESMTP id " + qid.encode())
        assert data[data.index(b"\r\nFrom: a@"):] == b"\r\n" + body, data
        assert "%s: from=<a@example.org>, size=" % qid in t.log()


def test_ehlo_extensions_and_enhanced_codes():
    with local_tern() as t:
        r = t.raw()
        assert r.greeting[0] == 220 and "tern.test" in r.greeting[1]
        code, text = r.cmd("EHLO client.example")
        assert code == 250
        for ext in ("PIPELINING", "SIZE 26214400", "8BITMIME",
                    "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN"):
            assert ext in text.split("\n"), (ext, text)
        for line in ("NOOP", "RSET", "VRFY alice", "HELP", "FOO"):
            code, text = r.cmd(line)
            assert text[:1] in "245" and text[1] == "." and \
                text[3] == ".", (line, code, text)
        assert r.cmd("VRFY alice")[0] == 252
        assert r.cmd("QUIT")[0] == 221


def test_bad_sequence_and_syntax():
    with local_tern(max_errors=30) as t:
        r = t.raw()
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert r.cmd("HELO")[0] == 501
        assert r.cmd("EHLO x")[0] == 250
        assert r.cmd("RCPT TO:<alice@tern.test>")[0] == 503
        assert r.cmd("DATA")[0] == 503
        assert r.cmd("MAIL TO:<a@example.org>")[0] == 501
        assert r.cmd("MAIL FROM:a@example.org")[0] == 501
        assert r.cmd("MAIL FROM:<a@@example.org>")[0] == 501
        assert r.cmd("MAIL FROM:<a@example.org> FOO=BAR")[0] == 555
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert r.cmd("DATA")[0] == 554
        assert r.cmd("RCPT TO:<alice@tern.test")[0] == 501
        assert r.cmd("XYZZY")[0] == 500
        assert r.cmd("RCPT TO:<alice@tern.test>")[0] == 250
        assert r.cmd("RSET")[0] == 250
        assert r.cmd("RCPT TO:<alice@tern.test>")[0] == 503


def test_helo_with_control_bytes_is_refused():
    """A HELO/EHLO name with a control byte gets 501 and changes nothing;
    the session goes on, and its mail still gets through.  The log has
    the refused name escaped, and no raw control byte at all."""
    with relay_tern() as t:
        r = t.raw()
        for line in ("EHLO evil\x1b[2Jname", "EHLO a\rforged: line",
                     "HELO tab\there", "EHLO del\x7f", "HELO \x01"):
            code, text = r.cmd(line)
            assert code == 501 and text.startswith("5.5.2 "), (line, text)
        # Not greeted yet: the refused names did not count as HELO.
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert r.cmd("EHLO b\u00fccher.example")[0] == 250   # UTF-8
        assert r.cmd("EHLO evil\x1bagain")[0] == 501
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert r.cmd("RCPT TO:<b@example.net>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        code, text = r.cmd("Subject: x\r\n\r\nbody\r\n.")
        assert code == 250 and text.startswith("2.0.0 Ok: queued"), text
        assert r.cmd("QUIT")[0] == 221
        files = queued(t)
        env, _, data = read_queue_file(files[0])
        assert env["helo"] == "b\u00fccher.example", env
        assert data.startswith("Received: from b\u00fccher.example "
                               "(".encode()), data[:80]
        wait_for(lambda: "disconnect from" in t.log(), 5)
        with open(t.log_path, "rb") as f:
            log = f.read()
        for line in log.split(b"\n"):
            bad = [c for c in line if c < 0x20 or c == 0x7f]
            assert not bad, (bad, line)
        assert b"helo=<evil\\x1b[2Jname>" in log, log
        assert b"helo=<a\\x0dforged: line>" in log, log
        assert b"helo=<del\\x7f>" in log, log


def test_trusted_clients_get_date_and_message_id():
    """Like Postfix for its local clients: a trusted (relay_networks)
    client's message without Date: or Message-ID: gets them; a stranger's
    message is stored as sent."""
    body = b"From: a@example.org\r\nSubject: bare\r\n\r\nbody\r\n"

    def delivered(networks):
        with local_tern(relay_networks=networks) as t:
            s = t.smtp()
            s.sendmail("a@example.org", ["alice@tern.test"], body)
            s.quit()
            box = os.path.join(t.mail, ME)
            assert wait_for(lambda: len(harness.maildir_messages(box)), 10)
            return harness.maildir_messages(box)[0][1:]
    m, raw = delivered("127.0.0.0/8")
    assert m["Date"] and m["Message-ID"], raw
    assert m["Message-ID"].endswith("@tern.test>"), raw
    assert raw.count(b"\nFrom: ") == 1, raw
    m, raw = delivered("192.0.2.0/24")
    assert m["Date"] is None and m["Message-ID"] is None, raw
    assert raw.endswith(body.replace(b"\r\n", b"\n")), raw


def test_utf8_address_needs_smtputf8():
    """RFC 6531 3.7.4.1: a UTF-8 address without SMTPUTF8 is 553 5.6.7,
    and says why; with SMTPUTF8 it is accepted."""
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        code, text = r.cmd("MAIL FROM:<j\u00f6rg@example.org>")
        assert code == 553 and text.startswith("5.6.7 ") and \
            "SMTPUTF8" in text, (code, text)
        assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
        code, text = r.cmd("RCPT TO:<m\u00fcller@example.net>")
        assert code == 553 and text.startswith("5.6.7 ") and \
            "SMTPUTF8" in text, (code, text)
        assert r.cmd("RCPT TO:<a b@example.net>")[0] == 501
        r.cmd("RSET")
        assert r.cmd("MAIL FROM:<j\u00f6rg@example.org> SMTPUTF8")[0] == 250
        assert r.cmd("RCPT TO:<m\u00fcller@example.net>")[0] == 250


def test_received_names_ipv6_clients_and_lost_connections():
    """Received: writes an IPv6 client as [IPv6:::1] (RFC 5321 4.1.3), and
    a client that goes away is logged after its last command, as Postfix
    does ("lost connection after RCPT")."""
    with Tern(start=False, relay_networks="127.0.0.0/8, ::1/128",
              relayhost="[127.0.0.1]:%d" % harness.free_port(),
              retry_interval="1h") as t:
        t.write_conf(listen="127.0.0.1:%d, [::1]:%d" % (t.port, t.port))
        t.start()
        s = smtplib.SMTP("::1", t.port, timeout=10)
        s.sendmail("a@example.org", ["b@example.net"],
                   b"Subject: v6\r\n\r\nx\r\n")
        s.quit()
        _, _, data = read_queue_file(queued(t)[0])
        assert b"(unknown [IPv6:::1])\r\n" in data.split(b"\r\n\t")[0] + \
            b"\r\n", data
        for upto, last in ((["EHLO x"], "EHLO"),
                           (["EHLO x", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<b@example.net>"], "RCPT"),
                           (["EHLO x", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<b@example.net>", "DATA"], "DATA")):
            r = t.raw()
            for c in upto:
                r.cmd(c)
            if last == "DATA":
                r.send("Subject: half\r\n")
            r.close()
            assert wait_for(lambda: "lost connection after %s from" % last
                            in t.log(), 10), t.log()
        r = t.raw()
        r.close()
        assert wait_for(lambda: "lost connection after CONNECT from"
                        in t.log(), 10), t.log()
        assert "after READY" not in t.log() and "after RCPT from" in t.log()


def test_address_forms():
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        assert r.cmd("MAIL FROM:<>")[0] == 250
        for a in ('<"john smith"@example.net>', "<user@[192.0.2.1]>",
                  "<user@[IPv6:2001:db8::1]>", "<@hop1.example,@hop2.example:u@example.net>",
                  "<u.v+tag@sub.example.net>"):
            assert r.cmd("RCPT TO:%s" % a)[0] == 250, a
        for a in ("<u@>", "<@example.net>", "<u@-bad.example>", "<u@[999.1.1.1]>",
                  "<a b@example.net>", "<u@example..net>", "<%s@example.net>" % ("x" * 65)):
            assert r.cmd("RCPT TO:%s" % a)[0] == 501, a
        assert r.cmd("DATA")[0] == 354
        r.send("Subject: forms\r\n\r\nbody\r\n.\r\n")
        code, text = r.reply()
        assert code == 250, text
        env, rcpts, _ = read_queue_file(queued(t)[0])
        assert env["sender"] == ""
        assert rcpts[0] == '"john+20smith"@example.net'
        assert rcpts[3] == "u@example.net"  # source route dropped


def test_unknown_user_and_relay_denied():
    with local_tern() as t:
        s = t.smtp()
        s.ehlo("x")
        s.mail("a@example.org")
        code, msg = s.rcpt("nosuchuser@tern.test")
        assert code == 550 and msg.startswith(b"5.1.1"), msg
        code, msg = s.rcpt("someone@elsewhere.example")
        assert code == 554 and msg.startswith(b"5.7.1"), msg
        assert s.rcpt("Alice@TERN.test")[0] == 250
        assert s.rcpt("postmaster@tern.test")[0] == 250
        assert s.rcpt("%s+ext@tern.test" % ME)[0] == 250
        s.quit()
        assert "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1" \
            in t.log()


def test_relay_tricks_refused():
    tricks = ["victim%elsewhere.example@tern.test",
              "elsewhere.example!victim@tern.test",
              '"victim@elsewhere.example"@tern.test',
              "@tern.test:victim@elsewhere.example",
              "victim@elsewhere.example@tern.test",
              "victim@elsewhere.example"]
    with local_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@example.org>")
        for a in tricks:
            code, text = r.cmd("RCPT TO:<%s>" % a)
            assert code in (501, 550, 554), (a, code, text)
        assert r.cmd("DATA")[0] == 554
        r.cmd("QUIT")
        time.sleep(0.3)
        assert t.queue_files() == []


def test_pipelining_replies_in_order():
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        r.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               "RCPT TO:<bad@>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
        codes = [r.reply()[0] for _ in range(5)]
        assert codes == [250, 250, 501, 250, 354], codes
        r.send("Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<a@example.org>\r\n"
               "RCPT TO:<d@example.net>\r\nDATA\r\n")
        codes = [r.reply()[0] for _ in range(4)]
        assert codes == [250, 250, 250, 354], codes
        r.send("Subject: q\r\n\r\ny\r\n.\r\nQUIT\r\n")
        assert r.reply()[0] == 250 and r.reply()[0] == 221
        assert len(queued(t, 2)) == 2


def test_max_recipients():
    with relay_tern(max_recipients=3) as t:
        r = t.raw()
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@example.org>")
        codes = [r.cmd("RCPT TO:<u%d@example.net>" % i) for i in range(5)]
        assert [c for c, _ in codes] == [250, 250, 250, 452, 452], codes
        assert codes[3][1].startswith("4.5.3")
        assert r.cmd("DATA")[0] == 354
        r.send("\r\nx\r\n.\r\n")
        assert r.reply()[0] == 250
        _, rcpts, _ = read_queue_file(queued(t)[0])
        assert len(rcpts) == 3


def test_size_limits():
    with relay_tern(max_message_size="10K") as t:
        s = t.smtp()
        s.ehlo("x")
        assert s.esmtp_features["size"] == "10240"
        code, msg = s.mail("a@example.org", ["SIZE=20000"])
        assert code == 552 and msg.startswith(b"5.3.4"), msg
        s.rset()
        big = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 200
        assert s.mail("a@example.org")[0] == 250  # no SIZE declared
        assert s.rcpt("b@example.net")[0] == 250
        code, msg = s.data(big)
        assert code == 552 and msg.startswith(b"5.3.4"), (code, msg)
        # the session goes on and a small message is accepted
        s.sendmail("a@example.org", ["b@example.net"], b"Subject: s\r\n\r\nok\r\n")
        s.quit()
        assert len(queued(t)) == 1
        assert message_tmp_files(t) == []


def test_long_command_line_refused_and_session_in_sync():
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        code, text = r.cmd("MAIL FROM:<%s@example.org>" % ("a" * 600))
        assert code == 500 and "too long" in text, (code, text)
        assert r.cmd("NOOP")[0] == 250  # in sync again


def test_long_text_lines_are_accepted_and_stored_unchanged():
    """A 2000-character line is queued as it came (250, not 550 5.6.0);
    only command lines are limited.  A line longer than the server's
    read buffer (16 KiB) and one starting with a dot are kept too."""
    with relay_tern() as t:
        line = ("0123456789" * 200).encode()
        huge = b"." + b"z" * 40000
        body = (b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <l@x>\r\n"
                b"Subject: l\r\n\r\n" + line + b"\r\n" + huge + b"\r\nend\r\n")
        s = t.smtp()
        s.ehlo("client.example")
        s.mail("a@example.org")
        assert s.rcpt("b@example.net")[0] == 250
        code, msg = s.data(body)
        assert code == 250 and msg.startswith(b"2.0.0 Ok: queued as "), \
            (code, msg)
        assert s.noop()[0] == 250
        s.quit()
        env, rcpts, data = read_queue_file(queued(t)[0])
        assert data.endswith(b"\r\nSubject: l\r\n\r\n" + line + b"\r\n" +
                             huge + b"\r\nend\r\n"), data[-200:]


def test_too_many_errors():
    with local_tern(max_errors=3) as t:
        r = t.raw()
        for _ in range(3):
            assert r.cmd("BOGUS")[0] == 500
        code, text = r.reply()
        assert code == 421 and text.startswith("4.7.0"), (code, text)
        assert r.closed()


def test_idle_timeout():
    with local_tern(smtpd_timeout="1s") as t:
        r = t.raw()
        r.cmd("EHLO x")
        start = time.monotonic()
        code, text = r.reply()
        assert code == 421 and "timeout" in text, (code, text)
        assert r.closed()
        assert 0.8 < time.monotonic() - start < 5


def test_bdat_chunking():
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<b@example.net>")
        part1 = (b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
                 b"Message-ID: <c@x>\r\nSubject: chunks\r\n\r\nfirst ")
        part2 = b"second\r\n.\r\nstill content\r\n"
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        code, text = r.reply()
        assert code == 250 and "%d octets" % len(part1) in text, text
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        code, text = r.reply()
        assert code == 250 and "queued as" in text, text
        _, _, data = read_queue_file(queued(t)[0])
        assert data.endswith(part1 + part2), data
        # BDAT with no recipients: the chunk is read and refused
        r.cmd("MAIL FROM:<a@example.org>")
        r.send(b"BDAT 5 LAST\r\nabcde")
        assert r.reply()[0] == 554
        assert r.cmd("NOOP")[0] == 250


def test_smuggling_never_makes_two_messages():
    endings = [b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r",
               b"\r.\r", b"\r\n\x00.\r\n"]
    with relay_tern() as t:
        for i, fake in enumerate(endings):
            r = t.raw()
            r.cmd("EHLO x")
            r.cmd("MAIL FROM:<a@example.org>")
            r.cmd("RCPT TO:<b%d@example.net>" % i)
            assert r.cmd("DATA")[0] == 354
            r.send(b"Subject: s\r\n\r\nhello" + fake +
                   b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<x@example.net>"
                   b"\r\nDATA\r\nsmuggled\r\n.\r\n")
            code, text = r.reply()
            assert code == 250, (fake, code, text)
            assert r.cmd("QUIT")[0] == 221, fake
            r.close()
        files = queued(t, len(endings))
        assert len(files) == len(endings), files
        for f in files:
            env, rcpts, data = read_queue_file(f)
            assert env["sender"] == "a@example.org"
            assert b"MAIL FROM:<evil@example.org>" in data
            # canonical CRLF: no bare CR or LF is left in the queue file
            assert data.count(b"\n") == data.count(b"\r\n"), data
            assert data.count(b"\r") == data.count(b"\r\n"), data


def test_kill_session_mid_data_leaves_nothing():
    with relay_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<b@example.net>")
        assert r.cmd("DATA")[0] == 354
        r.send("Subject: half\r\n\r\nhalf a message\r\n")
        wait_for(lambda: len(message_tmp_files(t)) == 1, 5)
        assert len(message_tmp_files(t)) == 1
        kids = children_of(t.proc.pid)
        smtpd = [p for p in kids if "smtpd" in proc_log_name(t, p)]
        assert smtpd, kids
        for p in smtpd:
            os.kill(p, 9)
        time.sleep(0.3)
        assert t.queue_files() == []
        r.close()
        # a restart removes the stale tmp file
        t.stop()
        t.start()
        assert t.tmp_files() == [] and t.queue_files() == []


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def proc_log_name(t, pid):
    """Which kind of child pid is, from the daemon's log."""
    for line in t.log().splitlines():
        if "[%d]:" % pid in line:
            return line.split()[4]
    return ""


def test_kill9_master_after_250_keeps_message():
    with relay_tern() as t:
        s = t.smtp()
        s.sendmail("a@example.org", ["b@example.net"], b"Subject: k\r\n\r\nkeep me\r\n")
        s.quit()
        files = queued(t)
        before = open(files[0], "rb").read()
        qmgr = wait_for(lambda: [int(l.split("qmgr[")[1].split("]")[0])
                                 for l in t.log().splitlines()
                                 if " tern/qmgr[" in l], 5)[0]
        t.kill9()
        # the queue runner notices its master is gone and stops by itself
        assert wait_for(lambda: not os.path.exists("/proc/%d" % qmgr), 5), \
            "queue runner outlived its master"
        assert "the master has gone away" in t.log()
        assert open(files[0], "rb").read() == before
        t.start()
        assert t.queue_files() == files
        assert open(files[0], "rb").read() == before


def test_write_error_answers_451():
    with relay_tern() as t:
        tmp = os.path.join(t.spool, "tmp")
        os.rmdir(tmp)
        with open(tmp, "w") as f:
            f.write("not a directory\n")
        r = t.raw()
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<b@example.net>")
        code, text = r.cmd("DATA")
        assert code == 451 and text.startswith("4.3.0"), (code, text)
        assert r.cmd("NOOP")[0] == 250
        assert t.queue_files() == []


def test_connection_limits():
    with local_tern(max_connections_per_ip=2) as t:
        # The start-up probe's session counts until the master reaps it.
        a = wait_for(lambda: retry_connect(t), 5)
        b = wait_for(lambda: retry_connect(t), 5)
        assert a and b and a.greeting[0] == 220 and b.greeting[0] == 220
        c = t.raw()
        assert c.greeting[0] == 421 and c.greeting[1].startswith("4.7.0")
        assert c.closed()
        a.cmd("QUIT")
        a.close()
        d = wait_for(lambda: retry_connect(t), 5)
        assert d and d.greeting[0] == 220
    with local_tern(max_connections=1) as t:
        a = wait_for(lambda: retry_connect(t), 5)  # start-up probe gone
        b = t.raw()
        assert a.greeting[0] == 220 and b.greeting[0] == 421


def retry_connect(t):
    r = t.raw()
    if r.greeting[0] == 220:
        return r
    r.close()
    return None


def test_sighup_reloads_config():
    with relay_tern(max_message_size="100K") as t:
        s = t.smtp()
        s.ehlo("x")
        assert s.esmtp_features["size"] == "102400"
        s.quit()
        t.write_conf(max_message_size="2K")
        os.kill(t.proc.pid, 1)
        wait_for(lambda: "configuration reloaded" in t.log(), 5)
        s = t.smtp()
        s.ehlo("x")
        assert s.esmtp_features["size"] == "2048"
        assert s.mail("a@example.org")[0] == 250
        assert s.rcpt("b@example.net")[0] == 250
        code, msg = s.data(b"Subject: x\r\n\r\n" + b"y" * 3000 + b"\r\n")
        assert code == 552, (code, msg)
        s.quit()
        # a bad file on HUP is logged and the old one kept
        with open(t.conf_path, "a") as f:
            f.write("max_mesage_size = 1\n")
        os.kill(t.proc.pid, 1)
        wait_for(lambda: "reload failed" in t.log(), 5)
        assert "max_mesage_size" in t.log()
        s = t.smtp()
        s.ehlo("x")
        assert s.esmtp_features["size"] == "2048"
        s.quit()


def test_sigterm_exits_cleanly():
    with local_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        os.kill(t.proc.pid, 15)
        # the session in progress may finish
        assert r.cmd("NOOP")[0] == 250
        r.cmd("QUIT")
        assert t.proc.wait(15) == 0
        try:
            socket.create_connection(("127.0.0.1", t.port), 1).close()
            raise AssertionError("still listening after SIGTERM")
        except OSError:
            pass


def test_client_name_lookup_is_forward_confirmed():
    from dnsserver import DNSServer
    d = harness.tempdir()
    zone = os.path.join(d, "zone")
    with open(zone, "w") as f:
        f.write("1.0.0.127.in-addr.arpa PTR client.example.test\n"
                "client.example.test A 127.0.0.1\n")
    dns = DNSServer(harness.free_port(), zone).start()
    try:
        with local_tern(client_name_lookup="yes",
                        dns_server="127.0.0.1:%d" % dns.port) as t:
            t.raw().cmd("QUIT")
            assert wait_for(lambda: "connect from client.example.test[127.0.0.1]"
                            in t.log(), 5), t.log()
        # a PTR name whose address does not lead back stays "unknown"
        with open(zone, "w") as f:
            f.write("1.0.0.127.in-addr.arpa PTR liar.example.test\n"
                    "liar.example.test A 192.0.2.7\n")
        with local_tern(client_name_lookup="yes",
                        dns_server="127.0.0.1:%d" % dns.port) as t:
            t.raw().cmd("QUIT")
            assert wait_for(lambda: "connect from unknown[127.0.0.1]"
                            in t.log(), 5), t.log()
    finally:
        dns.stop()


def test_local_submitter_may_name_bare_users():
    with local_tern() as t:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(t.conf["submit_socket"])
        f = c.makefile("rwb")

        def cmd(line):
            f.write(line.encode() + b"\r\n")
            f.flush()
            while True:
                r = f.readline().decode()
                if r[3:4] != "-":
                    return int(r[:3])
        assert f.readline().startswith(b"220")
        assert cmd("EHLO local") == 250
        assert cmd("MAIL FROM:<%s>" % ME) == 250
        assert cmd("RCPT TO:<alice>") == 250
        assert cmd("DATA") == 354
        f.write(b"Subject: bare\r\n\r\nhi\r\n.\r\n")
        f.flush()
        assert f.readline().startswith(b"250")
        cmd("QUIT")
        c.close()
        assert wait_for(lambda: "from=<%s@tern.test>" % ME in t.log(), 5)
    # a TCP client may not
    with local_tern() as t:
        r = t.raw()
        r.cmd("EHLO x")
        assert r.cmd("MAIL FROM:<%s>" % ME)[0] == 501


def smtpd_pids(t):
    """The smtpd pids of the "connect from" lines, in log order."""
    return [int(l.split("smtpd[")[1].split("]")[0]) for l in
            t.log().splitlines() if "tern/smtpd[" in l and
            "]: connect from" in l]


def session(t):
    r = t.raw()
    assert r.greeting[0] == 220
    r.cmd("QUIT")
    assert r.closed()
    r.close()


def test_smtpd_process_serves_several_sessions():
    with local_tern(smtpd_max_use=3, smtpd_max_idle="2s") as t:
        before = len(smtpd_pids(t))  # the start-up probe
        for _ in range(4):
            session(t)
            # the worker reports itself free (slow on a loaded machine)
            time.sleep(0.5)
        pids = smtpd_pids(t)[before:]
        assert len(pids) == 4, pids
        # the probe's process and then these share at most 3 sessions each
        every = smtpd_pids(t)
        assert max(every.count(p) for p in every) == 3, every
        assert len(set(every)) == 2, every
        last = every[-1]
        assert os.path.exists("/proc/%d" % last)
        # idle past smtpd_max_idle: the master lets it go
        assert wait_for(lambda: not os.path.exists("/proc/%d" % last) or
                        open("/proc/%d/stat" % last).read().split()[2] == "Z",
                        8), "idle smtpd did not exit"
        session(t)
        assert smtpd_pids(t)[-1] != last


def test_smtpd_max_use_1_forks_per_connection():
    with local_tern(smtpd_max_use=1) as t:
        for _ in range(3):
            session(t)
        pids = smtpd_pids(t)
        assert len(pids) == len(set(pids)) == 4, pids
