#!/bin/sh
# SPDX-License-Identifier: ISC
#
# postfix-peer.sh - a private Postfix instance to benchmark tern against.
#
# Usage: sh tests/bench/postfix-peer.sh start|stop|status [DIR]
#
# Sets up exactly the instance that ../shared/bench-peer.md describes under
# DIR (default /var/tmp/tern-pfbench; not /tmp, where parallel test runs
# sweep /tmp/tern-*): its own config_directory, queue and data
# directories, listening on 127.0.0.1:2725 only.  It never reads or writes
# /etc/postfix.  STARTTLS is offered (smtpd_tls_security_level = may)
# with the certificate chain and key that tern's bench uses,
# tests/certs/chain.pem and host.key, copied into DIR/etc; tlsmgr keeps
# the session ticket keys and the session cache (TLS_README's settings),
# and the TLS protocol and cipher are logged and put in Received:, as
# tern does.  Postfix needs root to start; without root, or without the
# Debian package installed, the script explains and exits 0 so that a bench
# run simply goes on without the peer.  Every action is idempotent.
#
# Knobs for a second instance beside the first (tests/bench/scale-dest.sh
# runs one): PF_PORT, the smtpd port (2725), and PF_MAIN_EXTRA, a file
# whose lines are appended to main.cf (a later line of a parameter
# overrides the earlier one in Postfix).

PFB=${2:-/var/tmp/tern-pfbench}
PORT=${PF_PORT:-2725}
CERTS=$(cd "$(dirname "$0")/../certs" && pwd)

usage() {
	echo "usage: $0 start|stop|status [DIR]" >&2
	exit 2
}

need_postfix() {
	if ! command -v postfix >/dev/null 2>&1 &&
	    [ ! -x /usr/sbin/postfix ]; then
		echo "postfix-peer: Postfix is not installed; install it with:"
		echo '  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections'
		echo '  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix'
		exit 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "postfix-peer: needs root (Postfix's master starts as root" \
		    "and drops to the postfix user); skipped"
		exit 0
	fi
}

write_main_cf() {
	cat >"$PFB/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PFB/etc
queue_directory = $PFB/queue
data_directory = $PFB/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf-bench.bench.test
mydomain = bench.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = sink.bench.test, discard.bench.test
virtual_mailbox_domains = maildir.bench.test
virtual_mailbox_base = $PFB/mail
virtual_mailbox_maps = static:bench/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
transport_maps = inline:{ sink.bench.test=smtp:[127.0.0.1]:2726, discard.bench.test=discard:silently }
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtp_dns_support_level = disabled
smtp_host_lookup = native
biff = no
maillog_file = $PFB/maillog
shlib_directory = /usr/lib/postfix
maillog_file_prefixes = $PFB
smtpd_tls_security_level = may
smtpd_tls_cert_file = $PFB/etc/tls-chain.pem
smtpd_tls_key_file = $PFB/etc/tls-key.pem
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
EOF
	if [ -n "$PF_MAIN_EXTRA" ]; then
		cat "$PF_MAIN_EXTRA" >>"$PFB/etc/main.cf"
	fi
}

# The same certificate chain and key as tern's bench, root-only key.
copy_certs() {
	cp "$CERTS/chain.pem" "$PFB/etc/tls-chain.pem" &&
	    install -m 600 "$CERTS/host.key" "$PFB/etc/tls-key.pem"
}

write_master_cf() {
	cat >"$PFB/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PORT inet n   -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Postfix prints start-up errors only to a terminal or the log.
pf() {
	script -qc "postfix -c $PFB/etc $*" /dev/null
}

is_running() {
	postfix -c "$PFB/etc" status >/dev/null 2>&1
}

# Wait (bounded) until the smtpd port answers.
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$PORT),1); sys.exit(0 if s.recv(512).startswith(b'220') else 1)" \
		    2>/dev/null; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

peer_start() {
	if [ -f "$PFB/etc/main.cf" ] && is_running; then
		echo "postfix-peer: already running in $PFB"
		return 0
	fi
	mkdir -p "$PFB/etc" "$PFB/queue" "$PFB/data" "$PFB/mail" || exit 1
	chmod 755 "$PFB"
	chown postfix:postfix "$PFB/data"
	chown 65534:65534 "$PFB/mail"
	copy_certs || exit 1
	write_main_cf
	write_master_cf
	if ! pf check; then
		echo "postfix-peer: 'postfix check' failed; see $PFB/maillog" >&2
		exit 1
	fi
	if ! pf start; then
		echo "postfix-peer: start failed; see $PFB/maillog" >&2
		exit 1
	fi
	if ! wait_port; then
		echo "postfix-peer: nothing answers on 127.0.0.1:$PORT" >&2
		exit 1
	fi
	echo "postfix-peer: running in $PFB on 127.0.0.1:$PORT" \
	    "(master pid $(tr -d ' ' <"$PFB/queue/pid/master.pid"))"
}

peer_stop() {
	if [ -f "$PFB/etc/main.cf" ] && is_running; then
		pf stop
		echo "postfix-peer: stopped ($PFB)"
	else
		echo "postfix-peer: not running ($PFB)"
	fi
}

peer_status() {
	if [ -f "$PFB/etc/main.cf" ] && is_running; then
		echo "postfix-peer: running in $PFB (master pid" \
		    "$(tr -d ' ' <"$PFB/queue/pid/master.pid"))"
		postqueue -c "$PFB/etc" -p
	else
		echo "postfix-peer: not running ($PFB)"
		return 1
	fi
}

[ $# -ge 1 ] || usage
case $1 in
start)	need_postfix; peer_start ;;
stop)	need_postfix; peer_stop ;;
status)	need_postfix; peer_status ;;
*)	usage ;;
esac
