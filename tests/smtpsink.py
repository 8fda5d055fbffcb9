#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""smtpsink.py - an SMTP server for tern's tests that stores what it gets.

    python3 tests/smtpsink.py --port N --dir DIR [--host 127.0.0.1]
        [--pidfile FILE] [--reply-rcpt ADDR=550 ...] [--reply-mail CODE]
        [--reply-data CODE] [--greeting CODE] [--size N] [--no-pipelining]
        [--no-dsn] [--no-8bitmime] [--no-smtputf8] [--ehlo-fail]
        [--transcript FILE] [--tls-cert PEM --tls-key KEY] [--implicit-tls]
        [--tls-broken] [--auth USER:PASS] [--auth-mechs "PLAIN LOGIN"]
        [--delay-data SECONDS] [--slow-down-after N]

Each accepted message becomes DIR/N.eml (the data, dot-unstuffed, CRLF
as received) and then DIR/N.json, written atomically, with:
  session (connection number), helo, esmtp, mail_from, mail_params,
  rcpt_tos (accepted only), rcpt_params, size, data (utf-8, replaced),
  time (when it was stored, seconds since the epoch).
N counts from 1 across the whole run.  --reply-rcpt gives one recipient
a reply code (550, 450, 421 ...); --reply-data sets the reply to the end
of data; --ehlo-fail answers EHLO with 502 so clients fall back to HELO.
--transcript appends "C: ..." / "S: ..." lines per session.
--delay-data waits that long before the reply to the end of data (a
slow destination); --slow-down-after N accepts N messages in all, then
answers every RCPT with "450 4.7.1 ... rate limit exceeded".  Prints
nothing; SIGTERM ends it.  Only CRLF.CRLF ends a message.

TLS: with --tls-cert and --tls-key, EHLO offers STARTTLS (RFC 3207);
after it the session starts over and the client must EHLO again.
--implicit-tls makes every connection TLS from the start (port 465
style).  --tls-broken answers STARTTLS with 220 and then sends garbage
instead of a handshake, and closes.  --auth USER:PASS offers AUTH
(--auth-mechs, default "PLAIN LOGIN") under TLS only, and requires it
before MAIL.  The JSON of a message then also has tls (the protocol,
"TLSv1.3", or null) and auth_user (or null).

From a test:  sink = SMTPSink(port, dir, extra_args); sink.start(); ...
sink.messages() -> list of the JSON dicts; sink.stop()
"""
import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time

TEXTS = {2: "2.0.0 Ok", 4: "4.3.0 Try again later", 5: "5.0.0 Rejected"}
RCPT_TEXTS = {4: "4.2.0 <%s>: Recipient address temporarily rejected",
              5: "5.1.1 <%s>: Recipient address rejected: User unknown"}


def reply_text(code, default=None):
    if code == 421:
        return "421 4.3.2 Service shutting down, closing transmission channel"
    return "%d %s" % (code, default or TEXTS[code // 100])


class Sink:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.sessions = 0
        self.rcpt_codes = {}
        for item in args.reply_rcpt or []:
            addr, _, code = item.rpartition("=")
            self.rcpt_codes[addr.lower()] = int(code)

    def store(self, sess, data):
        self.count += 1
        base = os.path.join(self.args.dir, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(data)
        meta = dict(session=sess["n"], helo=sess["helo"],
                    esmtp=sess["esmtp"], mail_from=sess["mail_from"],
                    mail_params=sess["mail_params"],
                    rcpt_tos=sess["rcpt_tos"],
                    rcpt_params=sess["rcpt_params"], size=len(data),
                    tls=sess.get("tls"), auth_user=sess.get("auth_user"),
                    data=data.decode("utf-8", "replace"), time=time.time())
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
        os.rename(base + ".json.tmp", base + ".json")

    def ehlo_lines(self, sess):
        lines = [self.args.name]
        if not self.args.no_pipelining:
            lines.append("PIPELINING")
        lines.append("SIZE %d" % self.args.size)
        if not self.args.no_8bitmime:
            lines.append("8BITMIME")
        if not self.args.no_smtputf8:
            lines.append("SMTPUTF8")
        if not self.args.no_dsn:
            lines.append("DSN")
        lines.append("ENHANCEDSTATUSCODES")
        if self.args.tls_cert and not sess.get("tls"):
            lines.insert(1, "STARTTLS")
        if self.args.auth and sess.get("tls"):
            lines.insert(1, "AUTH " + self.args.auth_mechs)
        return lines

    def tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.args.tls_cert, self.args.tls_key)
        return ctx

    async def handle(self, reader, writer):
        self.sessions += 1
        sess = dict(n=self.sessions, helo=None, esmtp=False, tls=None,
                    auth_user=None, writer=writer)
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            sess["tls"] = ssl_object.version()
        log = []

        async def send(line):
            log.append("S: " + line)
            writer.write(line.encode("utf-8") + b"\r\n")
            await writer.drain()

        try:
            await self.session(reader, send, sess, log)
        except (ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, asyncio.TimeoutError):
            pass
        finally:
            if self.args.transcript:
                with open(self.args.transcript, "a", encoding="utf-8") as f:
                    f.write("".join("%d %s\n" % (sess["n"], x) for x in log))
            writer.close()

    def reset(self, sess):
        sess.update(mail_from=None, mail_params=[], rcpt_tos=[],
                    rcpt_params=[])

    async def session(self, reader, send, sess, log):
        self.reset(sess)
        if self.args.greeting != 220:
            await send(reply_text(self.args.greeting,
                                  "5.3.2 Go away"))
            if self.args.greeting != 421:
                await self.refuse_all(reader, send, log)
            return
        await send("220 %s ESMTP smtpsink" % self.args.name)
        for _ in range(100000):
            raw = await asyncio.wait_for(reader.readline(), 60)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            log.append("C: " + line)
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if not await self.command(verb, arg, reader, send, sess, log):
                return

    async def refuse_all(self, reader, send, log):
        for _ in range(100):
            raw = await asyncio.wait_for(reader.readline(), 60)
            if not raw:
                return
            log.append("C: " + raw.decode("utf-8", "replace").rstrip())
            if raw.upper().startswith(b"QUIT"):
                await send("221 2.0.0 Bye")
                return
            await send("503 5.5.1 Go away")

    async def command(self, verb, arg, reader, send, sess, log):
        if verb == "EHLO":
            if self.args.ehlo_fail:
                await send("502 5.5.2 Error: command not recognized")
                return True
            sess.update(helo=arg, esmtp=True)
            self.reset(sess)
            lines = self.ehlo_lines(sess)
            for text in lines[:-1]:
                await send("250-" + text)
            await send("250 " + lines[-1])
        elif verb == "HELO":
            sess.update(helo=arg, esmtp=False)
            self.reset(sess)
            await send("250 " + self.args.name)
        elif verb == "STARTTLS" and self.args.tls_cert and not sess["tls"]:
            return await self.starttls(reader, send, sess)
        elif verb == "AUTH" and self.args.auth and sess["tls"]:
            await self.auth(arg, reader, send, sess, log)
        elif verb == "MAIL" and self.args.auth and not sess["auth_user"]:
            await send("530 5.7.0 Authentication required")
        elif verb == "MAIL":
            await self.mail(arg, send, sess)
        elif verb == "RCPT":
            code = await self.rcpt(arg, send, sess)
            if code == 421:
                return False
        elif verb == "DATA":
            return await self.data(reader, send, sess, log)
        elif verb == "RSET":
            self.reset(sess)
            await send("250 2.0.0 Ok")
        elif verb == "NOOP":
            await send("250 2.0.0 Ok")
        elif verb == "QUIT":
            await send("221 2.0.0 Bye")
            return False
        else:
            await send("502 5.5.2 Error: command not recognized")
        return True

    async def starttls(self, reader, send, sess):
        writer = sess["writer"]
        await send("220 2.0.0 Ready to start TLS")
        if self.args.tls_broken:
            writer.write(b"this is not a TLS ServerHello\r\n" * 4)
            await writer.drain()
            return False
        await writer.start_tls(self.tls_context())
        sess.update(tls=writer.get_extra_info("ssl_object").version(),
                    helo=None, esmtp=False, auth_user=None)
        self.reset(sess)
        return True

    async def auth(self, arg, reader, send, sess, log):
        """AUTH PLAIN [initial] or AUTH LOGIN; the secrets are not logged."""
        user, _, password = self.args.auth.partition(":")
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()

        async def ask(prompt):
            await send("334 " + prompt)
            raw = await asyncio.wait_for(reader.readline(), 60)
            log.append("C: <AUTH response>")
            return raw.strip()

        try:
            if mech == "PLAIN" and mech in self.args.auth_mechs.split():
                raw = initial.strip() or await ask("")
                parts = base64.b64decode(raw).split(b"\0")
                ok = len(parts) == 3 and parts[1].decode() == user and \
                    parts[2].decode() == password
            elif mech == "LOGIN" and mech in self.args.auth_mechs.split():
                got_user = base64.b64decode(await ask("VXNlcm5hbWU6"))
                got_pass = base64.b64decode(await ask("UGFzc3dvcmQ6"))
                ok = got_user.decode() == user and got_pass.decode() == \
                    password
            else:
                await send("504 5.5.4 Unrecognized authentication type")
                return
        except (ValueError, UnicodeDecodeError):
            ok = False
        if ok:
            sess["auth_user"] = user
            await send("235 2.7.0 Authentication successful")
        else:
            await send("535 5.7.8 Error: authentication failed")

    async def mail(self, arg, send, sess):
        if not arg.upper().startswith("FROM:<") or ">" not in arg:
            await send("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        addr, _, params = arg[6:].partition(">")
        params = params.split()
        size = [p for p in params if p.upper().startswith("SIZE=")]
        if self.args.reply_mail:
            await send(reply_text(self.args.reply_mail))
            return
        if size and int(size[0][5:]) > self.args.size:
            await send("552 5.3.4 Message size exceeds fixed limit")
            return
        sess.update(mail_from=addr, mail_params=params, rcpt_tos=[],
                    rcpt_params=[])
        await send("250 2.1.0 Ok")

    async def rcpt(self, arg, send, sess):
        if sess["mail_from"] is None:
            await send("503 5.5.1 Error: need MAIL command")
            return 503
        if not arg.upper().startswith("TO:<") or ">" not in arg:
            await send("501 5.5.4 Syntax: RCPT TO:<address>")
            return 501
        addr, _, params = arg[4:].partition(">")
        code = self.rcpt_codes.get(addr.lower(), 250)
        if 0 <= self.args.slow_down_after <= self.count:
            await send("450 4.7.1 <%s>: rate limit exceeded, slow down"
                       % addr)
            return 450
        if code == 250:
            sess["rcpt_tos"].append(addr)
            sess["rcpt_params"].append(params.split())
            await send("250 2.1.5 Ok")
        elif code == 421:
            await send(reply_text(421))
        else:
            await send("%d %s" % (code, RCPT_TEXTS.get(
                code // 100, "%d.0.0 No" % (code // 100)) % addr))
        return code

    async def data(self, reader, send, sess, log):
        if sess["mail_from"] is None or not sess["rcpt_tos"]:
            await send("554 5.5.1 Error: no valid recipients")
            return True
        await send("354 End data with <CR><LF>.<CR><LF>")
        chunks = []
        for _ in range(10000000):
            raw = await asyncio.wait_for(reader.readline(), 60)
            if not raw:
                return False
            if raw == b".\r\n":
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            chunks.append(raw)
        log.append("C: <%d lines of data>" % len(chunks))
        code = self.args.reply_data
        if self.args.delay_data:
            await asyncio.sleep(self.args.delay_data)
        if code:
            await send(reply_text(code))
        else:
            self.store(sess, b"".join(chunks))
            await send("250 2.0.0 Ok: queued as %d" % self.count)
        self.reset(sess)
        return code != 421


async def serve(args):
    sink = Sink(args)
    server = await asyncio.start_server(
        sink.handle, args.host, args.port, limit=1 << 20, reuse_address=True,
        ssl=sink.tls_context() if args.implicit_tls else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    async with server:
        await stop.wait()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="test SMTP sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--name", default="sink.test")
    p.add_argument("--pidfile")
    p.add_argument("--reply-rcpt", action="append", metavar="ADDR=CODE")
    p.add_argument("--reply-mail", type=int, default=0)
    p.add_argument("--reply-data", type=int, default=0)
    p.add_argument("--greeting", type=int, default=220)
    p.add_argument("--size", type=int, default=10485760)
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--no-dsn", action="store_true")
    p.add_argument("--no-8bitmime", action="store_true")
    p.add_argument("--no-smtputf8", action="store_true")
    p.add_argument("--ehlo-fail", action="store_true")
    p.add_argument("--transcript")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--tls-broken", action="store_true")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--auth-mechs", default="PLAIN LOGIN")
    p.add_argument("--delay-data", type=float, default=0)
    p.add_argument("--slow-down-after", type=int, default=-1)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # asyncio warns about eof_received() on every STARTTLS session
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    os.makedirs(args.dir, exist_ok=True)
    asyncio.run(serve(args))
    return 0


class SMTPSink:
    """Run smtpsink.py as a subprocess from a test; stop() kills by pid."""

    def __init__(self, port, directory, extra=(), pidfile=None):
        self.port, self.dir, self.extra = port, directory, list(extra)
        self.pidfile = pidfile or os.path.join(directory, "sink.pid")
        self.proc = None

    def start(self, timeout=10.0):
        os.makedirs(self.dir, exist_ok=True)
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--port",
             str(self.port), "--dir", self.dir, "--pidfile", self.pidfile]
            + self.extra)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.pidfile):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("smtpsink.py did not start on port %d" % self.port)

    def messages(self):
        """The stored messages' JSON, in arrival order."""
        names = [n for n in os.listdir(self.dir) if n.endswith(".json")]
        out = []
        for name in sorted(names, key=lambda n: int(n.split(".")[0])):
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                out.append(json.load(f))
        return out

    def stop(self):
        if self.proc is None:
            return
        from harness import stop_pid   # tests/ is on the path of its users
        stop_pid(self.proc, 5)
        self.proc = None


if __name__ == "__main__":
    sys.exit(main())
