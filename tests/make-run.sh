#!/bin/sh
# make run: ternd in the foreground on 127.0.0.1:2525, everything under run/.
set -e
top=$(pwd)
run=$top/run
mkdir -p "$run/mail"
chmod 1777 "$run/mail"
me=$(id -un)
user=$me
[ "$(id -u)" = 0 ] && user=nobody
[ -f "$run/aliases" ] || printf 'postmaster: %s\n' "$me" > "$run/aliases"
cat > "$run/tern.conf" <<CONF
# written by make run; edit freely, it is rewritten on the next make run
hostname = localhost
listen = 127.0.0.1:2525
user = $user
spool_dir = $run/spool
pid_file = $run/ternd.pid
submit_socket = $run/submit.sock
local_domains = localhost
aliases = $run/aliases
mailbox_path = $run/mail/%u/
log = stderr
CONF
echo "tern: listening on 127.0.0.1:2525, spool in run/spool, mail in run/mail/$me/"
echo "tern: try: swaks --server 127.0.0.1:2525 --to $me@localhost  (or: python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', 2525).sendmail('you@localhost', ['$me@localhost'], 'Subject: hi\\\\n\\\\nhello')\")"
echo "tern: queue: bin/mailq -C run/tern.conf ; stop with Ctrl-C"
exec "$top/bin/ternd" -f -c "$run/tern.conf"
