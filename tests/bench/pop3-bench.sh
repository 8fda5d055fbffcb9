#!/bin/sh
# SPDX-License-Identifier: ISC
#
# pop3-bench.sh - the pop3 figure of `make bench`: tern's POP3 server and
# Dovecot 2.3's pop3 (Debian's dovecot-pop3d) on the same mailbox, in one
# alternating run.
#
# A mailbox of POP3_MSGS (10000) messages of 4 KiB is written once as a
# Maildir (cur/NAME:2,, LF line ends, as tern delivers) and copied twice,
# one copy per server, so neither sees the other's index or lock files.
# Each server gets a private instance on loopback:
#   tern:    bin/ternd -f with pop3_listen = 127.0.0.1:$TERN_POP3_PORT, an
#            account bench@bench.test of virtual_domains whose mailbox= is
#            its copy, owned by virtual_user (nobody as root, else you);
#   Dovecot: dovecot -c $W/dovecot.conf with its own base_dir, state_dir
#            and log_path under $W, protocols = pop3, listen on
#            127.0.0.1:$DOVECOT_POP3_PORT, ssl = no, a passwd-file passdb
#            with the same SHA-512 crypt hash, a static userdb (nobody as
#            root, else you), mail_location = maildir:<its copy>,
#            pop3_uidl_format = %f (tern(8), POP3: the same UIDLs).
# Both take plaintext logins on loopback.  tests/bench/pop3load.py then
# runs one session per server and round, alternating (tern first in odd
# rounds, Dovecot first in even ones) for RUNS rounds after one warm-up
# session each (Dovecot builds its index then): login, UIDL, RETR of
# every message, no DELE.  It prints msgs/s and the memory of the
# session's processes (RSS and PSS summed over the processes that
# appeared for the session: tern's pop3-login and pop3, Dovecot's
# pop3-login and pop3), medians over the rounds, and whether the two
# UIDL lists are the same.
#
# A run on 2026-12-02 (2 shared CPUs, load average 6 from other work, so
# the spread is wide): tern 25243 msgs/s (22623-41133), Dovecot 2.3.19.1
# 19751 (14431-29214), x1.28; memory of a session RSS 4852 vs 6596 KiB
# (PSS 1603 vs 3798 KiB; tern's two processes against Dovecot's one
# pop3, its pop3-login having handed the connection over); UIDL lists
# identical.
#
# Knobs: RUNS (5), POP3_MSGS (10000), TERN_POP3_PORT (2610),
# DOVECOT_POP3_PORT (2611), BENCH_TMP (/var/tmp), TERND (bin/ternd).
# Never fails the build: a missing Dovecot prints "skipped".

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}
POP3_MSGS=${POP3_MSGS:-10000}
TP=${TERN_POP3_PORT:-2610}
DP=${DOVECOT_POP3_PORT:-2611}
TERND=${TERND:-$TOP/bin/ternd}
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
W=
TERN_PID=
DOVECOT_UP=

cleanup() {
	if [ -n "$TERN_PID" ] && kill -0 "$TERN_PID" 2>/dev/null; then
		kill -TERM "$TERN_PID"
		i=0
		while kill -0 "$TERN_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$TERN_PID" 2>/dev/null
	fi
	if [ -n "$DOVECOT_UP" ]; then
		"$DOVECOT" -c "$W/dovecot.conf" stop 2>/dev/null
		i=0
		while [ -f "$W/run/master.pid" ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	[ -n "$W" ] && [ -z "$KEEP" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

skip() {
	echo "pop3 bench: skipped: $*"
	exit 0
}

[ -x "$DOVECOT" ] || skip "no dovecot (apt-get install dovecot-pop3d)"
[ -x "$TERND" ] || skip "$TERND not built"
W=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tern-pop3bench.XXXXXX") || exit 1
chmod 755 "$W"
if [ "$(id -u)" -eq 0 ]; then
	owner=nobody
	group=$(id -gn nobody)
	daemon=nobody
	tern_user=daemon	# the login processes; default_privs below
	privs=bin
else
	owner=$(id -un)
	group=$(id -gn)
	daemon=$owner
	tern_user=$owner
	privs=nobody
fi
uid=$(id -u "$owner")
gid=$(id -g "$owner")

# The mailbox: POP3_MSGS messages of 4 KiB in cur/, then two copies.
python3 - "$W/mail" "$POP3_MSGS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d))
line = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-\n"
for i in range(n):
    head = (b"Return-Path: <a@bench.test>\nFrom: a@bench.test\n"
            b"To: bench@bench.test\nSubject: message %d\n\n" % i)
    body = (line * 64)[:4096 - len(head)]
    name = "%d.M%06dP1Q%d.bench.test:2," % (1700000000 + i, i, i)
    with open(os.path.join(root, "cur", name), "wb") as f:
        f.write(head + body)
PY
cp -a "$W/mail" "$W/tern-mail"
cp -a "$W/mail" "$W/dovecot-mail"
rm -rf "$W/mail"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$owner:$group" "$W/tern-mail" "$W/dovecot-mail"
fi
hash=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]);
import harness; print(harness.sha512_hash("bench pass"))' "$TOP/tests")

# tern
printf 'bench@bench.test:%s:mailbox=%s/\n' "$hash" "$W/tern-mail" \
    >"$W/tern.passwd"
chmod 600 "$W/tern.passwd"
mkdir -p "$W/spool"
[ "$(id -u)" -eq 0 ] && chown "$tern_user" "$W/spool"
cat >"$W/tern.conf" <<EOF
listen = 127.0.0.1:$((TP + 100))
pop3_listen = 127.0.0.1:$TP
pop3_loopback_plaintext = yes
auth_users = $W/tern.passwd
virtual_domains = bench.test
virtual_user = $owner
user = $tern_user
default_privs = $privs
spool_dir = $W/spool
pid_file = $W/ternd.pid
submit_socket = $W/submit.sock
log = stderr
hostname = tern-bench.bench.test
aliases = $W/aliases
EOF
echo "root: $owner" >"$W/aliases"
"$TERND" -n -c "$W/tern.conf" >/dev/null || skip "ternd -n rejects the configuration"
"$TERND" -f -c "$W/tern.conf" 2>"$W/ternd.log" &
TERN_PID=$!

# Dovecot
printf 'bench@bench.test:{CRYPT}%s\n' "$hash" >"$W/dovecot.passwd"
mkdir -p "$W/run" "$W/state" "$W/home"
if [ "$(id -u)" -eq 0 ]; then
	chown "$owner" "$W/home"
	internal=dovecot
	login=dovenull
else
	internal=$owner
	login=$owner
fi
cat >"$W/dovecot.conf" <<EOF
# private Dovecot for tests/bench/pop3-bench.sh
base_dir = $W/run
state_dir = $W/state
log_path = $W/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:$W/dovecot-mail
pop3_uidl_format = %f
default_internal_user = $internal
default_login_user = $login
passdb {
  driver = passwd-file
  args = scheme=CRYPT $W/dovecot.passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$W/home
}
service pop3-login {
  inet_listener pop3 {
    port = $DP
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
"$DOVECOT" -c "$W/dovecot.conf" ||
    skip "dovecot does not start: $(tail -3 "$W/dovecot.log" 2>/dev/null)"
DOVECOT_UP=1

# Both answer?
python3 - "$TP" "$DP" <<'PY' || skip "a server does not answer"
import socket, sys, time
for port in map(int, sys.argv[1:]):
    for _ in range(100):
        try:
            s = socket.create_connection(("127.0.0.1", port), 1)
            ok = s.recv(100).startswith(b"+OK")
            s.close()
            if ok:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        sys.exit(1)
PY
dpid=$(cat "$W/run/master.pid")
echo "pop3 bench: $POP3_MSGS messages of 4 KiB; tern (pid $TERN_PID) on" \
    "127.0.0.1:$TP, Dovecot $("$DOVECOT" --version | cut -d' ' -f1)" \
    "(pid $dpid) on 127.0.0.1:$DP; $RUNS rounds, alternating"

run() {	# name port pid
	python3 "$HERE/pop3load.py" --port "$2" --user bench@bench.test \
	    --password "bench pass" --server-pid "$3" | sed "s/^/$1 /"
}
{
	run warm-tern "$TP" "$TERN_PID"
	run warm-dovecot "$DP" "$dpid"
	r=1
	while [ $r -le "$RUNS" ]; do
		if [ $((r % 2)) -eq 1 ]; then
			run tern "$TP" "$TERN_PID"
			run dovecot "$DP" "$dpid"
		else
			run dovecot "$DP" "$dpid"
			run tern "$TP" "$TERN_PID"
		fi
		r=$((r + 1))
	done
} >"$W/results"
python3 - "$W/results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, _, js = line.partition(" ")
    rows.setdefault(who, []).append(json.loads(js))
def med(who, k):
    return statistics.median(r[k] for r in rows[who])
for who in ("tern", "dovecot"):
    if who not in rows:
        print("pop3 %-8s no result" % who)
        continue
    rates = [r["rate"] for r in rows[who]]
    print("pop3 %-8s %7.0f msgs/s (min %.0f, max %.0f), %.2f s a session,"
          " RSS %.0f KiB, PSS %.0f KiB in %d processes" % (
              who, med(who, "rate"), min(rates), max(rates),
              med(who, "seconds"), med(who, "rss_kb"), med(who, "pss_kb"),
              rows[who][0]["processes"]))
if "tern" in rows and "dovecot" in rows:
    print("pop3 tern/dovecot: rate x%.2f, RSS x%.2f, PSS x%.2f" % (
        med("tern", "rate") / med("dovecot", "rate"),
        med("tern", "rss_kb") / max(1, med("dovecot", "rss_kb")),
        med("tern", "pss_kb") / max(1, med("dovecot", "pss_kb"))))
    same = rows["tern"][0]["uidl"] == rows["dovecot"][0]["uidl"]
    print("pop3 UIDL lists %s (Dovecot with pop3_uidl_format = %%f)" % (
        "identical" if same else "DIFFER"))
PY
exit 0
