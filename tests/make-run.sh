#!/bin/sh
# make run: ternd in the foreground on 127.0.0.1:2525, everything under run/.
set -e
# TERN_RUN_DIR and TERN_RUN_PORT move it (the test of make run uses them).
top=$(pwd)
run=${TERN_RUN_DIR:-$top/run}
port=${TERN_RUN_PORT:-2525}
mkdir -p "$run/mail"
chmod 1777 "$run/mail"
me=$(id -un)
user=$me
box=$me
privs=
if [ "$(id -u)" = 0 ]; then
	# As root: the daemon runs as nobody, and since no root process
	# writes root's mailbox (tern(8)), mail for root goes to daemon's
	# box here; aliases' files and commands run as daemon too.
	user=nobody
	box=daemon
	privs="default_privs = daemon"
elif [ "$me" = nobody ]; then
	privs="default_privs = daemon"	# never the daemon's own user
fi
[ -f "$run/aliases" ] || printf 'postmaster: %s\n' "$me" > "$run/aliases"
if [ "$(id -u)" = 0 ] && ! grep -q '^root:' "$run/aliases"; then
	printf 'root: daemon\n' >> "$run/aliases"
fi
cat > "$run/tern.conf" <<CONF
# written by make run; edit freely, it is rewritten on the next make run
hostname = localhost
listen = 127.0.0.1:$port
user = $user
$privs
spool_dir = $run/spool
pid_file = $run/ternd.pid
submit_socket = $run/submit.sock
local_domains = localhost
aliases = $run/aliases
mailbox_path = $run/mail/%u/
log = stderr
CONF
rel=${run#"$top"/}
echo "tern: listening on 127.0.0.1:$port, spool in $rel/spool, mail in $rel/mail/$box/"
echo "tern: try: swaks --server 127.0.0.1:$port --to $me@localhost  (or: python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', $port).sendmail('you@localhost', ['$me@localhost'], 'Subject: hi\\\\n\\\\nhello')\")"
echo "tern: queue: bin/mailq -C $rel/tern.conf ; stop with Ctrl-C"
exec "$top/bin/ternd" -f -c "$run/tern.conf"
