#!/bin/sh
# SPDX-License-Identifier: ISC
#
# bench.sh - `make bench`: tern's receiving and relay speed, side by side
# with a private Postfix 3.7 instance when one is running, and its POP3
# server against a private Dovecot 2.3 (pop3-bench.sh).
#
# Starts bin/ternd -f with a bench configuration in a scratch directory
# (always stopped again, by PID, from a trap), waits for its port, and runs
# tests/bench/bench.py, which drives tern (and the Postfix peer on
# 127.0.0.1:2725 if it answers) with Postfix's smtp-source, alternating
# run by run, and prints medians, spreads and ratios tern/Postfix.
# Start the peer first, as root:  sh tests/bench/postfix-peer.sh start
#
# TLS: when ternd is built with TLS and knows smtpd_tls_cert_file, the
# bench configuration offers STARTTLS with tests/certs/chain.pem and
# host.key, the certificate the Postfix peer uses too, and the tls and
# tlsmem figures run with tests/bench/tlsload.c, compiled here with
# `cc -O2 ... -lssl -lcrypto` (a bench tool, not part of the build).
#
# Knobs (environment): RUNS (5), MSGS (5000), RELAY_MSGS (2000),
# RELAY_RUNS (3), MEM_SESSIONS (50), LAT_COUNT (20), TERN_PORT (2625),
# SINK_PORT (2726, fixed by the peer's transport map), PF_PORT (2725),
# PFB (/var/tmp/tern-pfbench), BENCH_TMP (/var/tmp: where the scratch directory
# goes; put it and PFB on the same file system), TERND (bin/ternd), NO_TERN=1 (measure only the Postfix peer),
# NO_POSTFIX=1 (only tern), LOCAL_MSGS (1000), LOCAL_RUNS (5),
# ONLY (a comma-separated subset of accept,relay,local,mem,lat,tls,tlsmem,
# pop3 (tests/bench/pop3-bench.sh, tern against a private Dovecot);
# tlsfull, the TLS figure without resumption, runs only when named here),
# TLS_SECS (10 seconds a TLS run), TLS_RUNS (RUNS), TLS_CPUS (a taskset -c
# CPU list for the TLS load client; default any), MAILQ_MSGS (100000
# queued messages for the mailq listing at the end; 0 skips it).
#
# Durability, checked with strace -f -e trace=fsync,fdatasync,rename on
# Postfix 3.7.11's cleanup processes (Debian 12, ext4): cleanup creates
# incoming/RANDOM.PID, renames it at once to incoming/QUEUEID, writes the
# message, then fsync()s the queue FILE before the 250; it never fsyncs
# the queue DIRECTORY (no fsync on a directory fd, no fdatasync).  tern
# (strace of ternd, same day) writes spool/tmp/ID, fsync(file), renames it
# to spool/queue/XX/ID, fsync(queue/XX), then answers 250: strictly more
# than Postfix.  On ext4 (data=ordered) the file's fsync also commits the
# journal holding the directory entry, so in practice the two are equally
# durable there, and tern pays for one extra fsync per message.
#
# TLS, like for like: both servers offer STARTTLS with the same chain and
# RSA-2048 key, TLS 1.2 and 1.3 (1.3 is what tlsload gets, with
# TLS_AES_256_GCM_SHA384 and X25519), stateless session tickets (Postfix:
# tlsmgr's keys, TLS_README's session cache), log one line per handshake
# and name the cipher in Received: (Postfix: smtpd_tls_loglevel = 1,
# smtpd_tls_received_header = yes), and discard the message after
# queueing it, as in the accept figures.  The load client runs on the
# same CPUs (about 0.8 ms of CPU per resumed session, 1.3 ms per full
# one), so the rate ratio understates the servers' own difference; the
# server CPU per session line shows that one.  TLS_CPUS pins the client.
#
# The bench never fails the build: missing tools or servers make it print
# "skipped" and exit 0.

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}
MSGS=${MSGS:-5000}
RELAY_MSGS=${RELAY_MSGS:-2000}
RELAY_RUNS=${RELAY_RUNS:-3}
MEM_SESSIONS=${MEM_SESSIONS:-50}
LAT_COUNT=${LAT_COUNT:-20}
TERN_PORT=${TERN_PORT:-2625}
SINK_PORT=${SINK_PORT:-2726}
PF_PORT=${PF_PORT:-2725}
PFB=${PFB:-/var/tmp/tern-pfbench}
TERND=${TERND:-$TOP/bin/ternd}
WORK=
TERN_PID=
TERN_TLS=
TOOLS=

skip() {
	echo "bench: skipped: $*"
	exit 0
}

cleanup() {
	if [ -n "$TERN_PID" ] && kill -0 "$TERN_PID" 2>/dev/null; then
		kill -TERM "$TERN_PID" 2>/dev/null
		i=0
		while kill -0 "$TERN_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$TERN_PID" 2>/dev/null
		wait "$TERN_PID" 2>/dev/null
	fi
	TERN_PID=
	if [ -n "$WORK" ] && [ -d "$WORK" ] && [ -z "$KEEP" ]; then
		rm -rf "$WORK"
	fi
	if [ -n "$TOOLS" ] && [ -d "$TOOLS" ]; then
		rm -rf "$TOOLS"
	fi
	TOOLS=
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# An SMTP greeting on 127.0.0.1:$1 within $2 tenths of a second.
answers() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, tries = int(sys.argv[1]), int(sys.argv[2])
for _ in range(tries):
    try:
        s = socket.create_connection(("127.0.0.1", port), 1)
        s.settimeout(5)
        ok = s.recv(512).startswith(b"220")
        s.sendall(b"QUIT\r\n")
        s.close()
        sys.exit(0 if ok else 1)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

check_tools() {
	for t in smtp-source smtp-sink python3; do
		if ! command -v $t >/dev/null 2>&1 && [ ! -x /usr/sbin/$t ]; then
			echo "bench: $t not found.  smtp-source and smtp-sink come" \
			    "with Debian's postfix package:"
			echo '  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections'
			echo '  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix'
			echo "  (this leaves the system Postfix unconfigured and stopped)"
			skip "$t missing"
		fi
	done
	PATH=$PATH:/usr/sbin
	export PATH
}

# The user the daemon drops to: ourselves, or as root a "tern" system user.
bench_user() {
	if [ "$(id -u)" -ne 0 ]; then
		id -un
		return
	fi
	if ! id tern >/dev/null 2>&1; then
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin tern >&2 ||
		    return 1
	fi
	echo tern
}

write_config() {
	user=$(bench_user) || skip "cannot create the tern user"
	mkdir -p "$WORK/spool" || exit 1
	chmod 755 "$WORK"
	[ "$(id -u)" -eq 0 ] && chown "$user" "$WORK/spool"
	chmod 700 "$WORK/spool"
	# Local delivery: bench@ is an alias of the Maildir user, as root
	# nobody (uid 65534, whom Postfix's virtual(8) delivers as).
	mbuser=$user
	[ "$(id -u)" -eq 0 ] && mbuser=nobody
	MAILDIR=$WORK/mail/$mbuser
	mkdir -p "$WORK/mail" || exit 1
	[ "$(id -u)" -eq 0 ] && chown "$mbuser" "$WORK/mail"
	echo "bench: $mbuser" >"$WORK/aliases"
	cat >"$WORK/transport" <<EOF
discard.bench.test discard
sink.bench.test [127.0.0.1]:$SINK_PORT
EOF
	cat >"$WORK/tern.conf" <<EOF
# tern bench configuration, written by tests/bench/bench.sh
listen = 127.0.0.1:$TERN_PORT
spool_dir = $WORK/spool
pid_file = $WORK/ternd.pid
submit_socket = $WORK/submit.sock
log = stderr
hostname = tern-bench.bench.test
local_domains = tern-bench.bench.test
relay_networks = 127.0.0.0/8
user = $user
transport = $WORK/transport
aliases = $WORK/aliases
mailbox_path = $WORK/mail/%u/
max_connections = 200
max_connections_per_ip = 200
retry_interval = 30m
max_deliveries = 20
max_per_destination = 20
EOF
	if [ -n "$TERN_TLS" ]; then
		cat >>"$WORK/tern.conf" <<EOF
smtpd_tls_cert_file = $TOP/tests/certs/chain.pem
smtpd_tls_key_file = $TOP/tests/certs/host.key
EOF
	fi
}

# The TLS load client, compiled into $TOOLS (a scratch directory); its
# path, or nothing (and a note) when OpenSSL's headers or cc are missing.
build_tlsload() {
	if ! ${CC:-cc} -O2 -o "$TOOLS/tlsload" "$HERE/tlsload.c" \
	    -lssl -lcrypto 2>"$TOOLS/cc.log"; then
		echo "bench: cannot compile tests/bench/tlsload.c" \
		    "(apt-get install libssl-dev); TLS figures skipped" >&2
		tail -3 "$TOOLS/cc.log" >&2
		return 1
	fi
	echo "$TOOLS/tlsload"
}

start_tern() {
	if [ ! -x "$TERND" ]; then
		echo "bench: $TERND not built (make bench runs make all first)"
		return 1
	fi
	if answers "$TERN_PORT" 1; then
		echo "bench: something already answers on 127.0.0.1:$TERN_PORT"
		return 1
	fi
	WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tern-bench.XXXXXX") || return 1
	TERN_TLS=
	"$TERND" -V 2>&1 | grep -q "TLS: OpenSSL" && TERN_TLS=1
	write_config
	if [ -n "$TERN_TLS" ] &&
	    ! "$TERND" -n -c "$WORK/tern.conf" >/dev/null 2>&1; then
		echo "bench: this ternd takes no smtpd_tls_cert_file; tern" \
		    "offers no STARTTLS here"
		TERN_TLS=
		write_config
	fi
	if ! "$TERND" -n -c "$WORK/tern.conf"; then
		echo "bench: ternd -n rejects the bench configuration"
		return 1
	fi
	"$TERND" -f -c "$WORK/tern.conf" 2>"$WORK/ternd.log" &
	TERN_PID=$!
	if ! answers "$TERN_PORT" 100; then
		echo "bench: ternd (pid $TERN_PID) does not answer on" \
		    "127.0.0.1:$TERN_PORT; its log:"
		tail -20 "$WORK/ternd.log"
		return 1
	fi
	echo "bench: ternd pid $TERN_PID on 127.0.0.1:$TERN_PORT," \
	    "spool $WORK/spool, log $WORK/ternd.log"
}

check_tools
set --
if [ -z "$NO_TERN" ]; then
	if start_tern; then
		set -- --tern-port "$TERN_PORT" --tern-queue "$WORK/spool/queue" \
		    --tern-maildir "$MAILDIR" --tern-pid "$TERN_PID"
	else
		cleanup
		echo "bench: tern not measured"
	fi
fi
if [ -z "$NO_POSTFIX" ] && answers "$PF_PORT" 1; then
	echo "bench: Postfix peer answers on 127.0.0.1:$PF_PORT ($PFB)"
	set -- "$@" --pf-port "$PF_PORT"
	for q in maildrop incoming active; do
		set -- "$@" --pf-queue "$PFB/queue/$q"
	done
	set -- "$@" --pf-maildir "$PFB/mail/bench"
	pfpid=$(tr -d ' ' <"$PFB/queue/pid/master.pid" 2>/dev/null)
	[ -n "$pfpid" ] && set -- "$@" --pf-pid "$pfpid"
else
	echo "bench: no Postfix peer on 127.0.0.1:$PF_PORT (start one as" \
	    "root with: sh tests/bench/postfix-peer.sh start)"
fi
[ $# -gt 0 ] || skip "no server to measure"
TOOLS=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tern-benchtools.XXXXXX") || exit 1
if TLSLOAD=$(build_tlsload); then
	set -- "$@" --tlsload "$TLSLOAD" --tls-secs "${TLS_SECS:-10}" \
	    --tls-runs "${TLS_RUNS:-$RUNS}"
	[ -n "$TLS_CPUS" ] && set -- "$@" --client-cpus "$TLS_CPUS"
fi
if answers "$SINK_PORT" 1; then
	skip "port $SINK_PORT (the relay sink) is already in use"
fi

python3 "$HERE/bench.py" "$@" --runs "$RUNS" --msgs "$MSGS" \
    --relay-msgs "$RELAY_MSGS" --relay-runs "$RELAY_RUNS" \
    --mem-sessions "$MEM_SESSIONS" --lat-count "$LAT_COUNT" \
    --sink-port "$SINK_PORT" --local-msgs "${LOCAL_MSGS:-1000}" \
    --local-runs "${LOCAL_RUNS:-5}" --only "${ONLY:-}"
rc=$?
[ $rc -eq 0 ] || echo "bench: bench.py exited $rc"
# Listing the queue: mailq on a spool of MAILQ_MSGS (100000) messages.
[ "${MAILQ_MSGS:-100000}" -gt 0 ] && sh "$HERE/mailq.sh"
# POP3 against a private Dovecot on the same mailbox (pop3-bench.sh).
case ",${ONLY:-pop3}," in
*,pop3,*) RUNS=$RUNS TERND=$TERND sh "$HERE/pop3-bench.sh" ;;
esac
exit 0
