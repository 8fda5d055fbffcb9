#!/bin/sh
# SPDX-License-Identifier: ISC
#
# install.sh - install tern: programs, manual pages, the configuration
# file, the systemd unit, the init script, and (as root, without DESTDIR)
# the tern user and the spool directory.  Run from the top of the source
# tree, usually by "make install".  POSIX sh and coreutils install(1).
#
# Settings, from the environment (make passes them), with defaults:
#	DESTDIR		staging root prepended to every path	(empty)
#	PREFIX		/usr/local
#	SBINDIR		$PREFIX/sbin	ternd, sendmail, newaliases, ternq,
#					ternpasswd
#	BINDIR		$PREFIX/bin	mailq
#	MANDIR		$PREFIX/share/man
#	SYSCONFDIR	/etc		tern/tern.conf, init.d/tern
#	SPOOLDIR	/var/spool/tern
#	UNITDIR		/lib/systemd/system when PREFIX is /usr,
#			$PREFIX/lib/systemd/system otherwise
#	BINSRC		bin		where the built programs are
#	TERN_USER	tern		the unprivileged user (user in tern.conf)
#	COMPAT		no		yes: also link /usr/sbin/sendmail,
#					/usr/bin/mailq and /usr/bin/newaliases
#
# An existing tern.conf is never overwritten; tern.conf.sample is always
# installed beside it.  The user and the spool are made only by root and
# only without DESTDIR (a package's scripts do that at install time).

set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
BINDIR=${BINDIR:-$PREFIX/bin}
MANDIR=${MANDIR:-$PREFIX/share/man}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SPOOLDIR=${SPOOLDIR:-/var/spool/tern}
BINSRC=${BINSRC:-bin}
TERN_USER=${TERN_USER:-tern}
COMPAT=${COMPAT:-no}
if [ -z "${UNITDIR:-}" ]; then
	case "$PREFIX" in
	/usr|/usr/) UNITDIR=/lib/systemd/system ;;
	*) UNITDIR=$PREFIX/lib/systemd/system ;;
	esac
fi

PROGS_SBIN="ternd sendmail newaliases ternq ternpasswd"
PROGS_BIN="mailq"

say() {
	echo "install.sh: $*"
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

# The unit file and the init script name /usr/local/sbin/ternd.
rewrite_paths() {
	sed "s|/usr/local/sbin/ternd|$SBINDIR/ternd|g" "$1"
}

install_programs() {
	for p in $PROGS_SBIN $PROGS_BIN; do
		dir=$SBINDIR
		[ "$p" = mailq ] && dir=$BINDIR
		if [ ! -f "$BINSRC/$p" ]; then
			say "warning: $BINSRC/$p is not built, skipped"
			continue
		fi
		install -d -m 0755 "$DESTDIR$dir"
		install -m 0755 "$BINSRC/$p" "$DESTDIR$dir/$p"
		say "$DESTDIR$dir/$p"
	done
}

install_manuals() {
	for page in man/*.[158]; do
		[ -f "$page" ] || continue
		sec=${page##*.}
		install -d -m 0755 "$DESTDIR$MANDIR/man$sec"
		install -m 0644 "$page" "$DESTDIR$MANDIR/man$sec/${page#man/}"
	done
	say "manual pages in $DESTDIR$MANDIR"
}

install_config() {
	confdir=$DESTDIR$SYSCONFDIR/tern
	install -d -m 0755 "$confdir"
	install -m 0644 etc/tern.conf "$confdir/tern.conf.sample"
	if [ -e "$confdir/tern.conf" ]; then
		say "$confdir/tern.conf exists, kept (new one:" \
		    "$confdir/tern.conf.sample)"
	else
		install -m 0644 etc/tern.conf "$confdir/tern.conf"
		say "$confdir/tern.conf"
	fi
}

install_services() {
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	rewrite_paths etc/tern.service > "$tmp"
	install -d -m 0755 "$DESTDIR$UNITDIR"
	install -m 0644 "$tmp" "$DESTDIR$UNITDIR/tern.service"
	say "$DESTDIR$UNITDIR/tern.service"
	rewrite_paths etc/init.d/tern > "$tmp"
	install -d -m 0755 "$DESTDIR$SYSCONFDIR/init.d"
	install -m 0755 "$tmp" "$DESTDIR$SYSCONFDIR/init.d/tern"
	say "$DESTDIR$SYSCONFDIR/init.d/tern"
	rm -f "$tmp"
	trap - EXIT
}

# The user and the spool need root and the real system.
install_system() {
	if [ -n "$DESTDIR" ]; then
		say "DESTDIR set: not creating user $TERN_USER or $SPOOLDIR"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		say "not root: not creating user $TERN_USER or $SPOOLDIR"
		return 0
	fi
	shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/sbin/nologin
	[ -x "$shell" ] || shell=/bin/false
	if ! id "$TERN_USER" >/dev/null 2>&1; then
		command -v useradd >/dev/null 2>&1 ||
		    die "useradd not found: create the user $TERN_USER yourself"
		useradd --system --user-group --no-create-home \
		    --home-dir "$SPOOLDIR" --shell "$shell" \
		    --comment "tern mail transfer agent" "$TERN_USER"
		say "created user $TERN_USER"
	fi
	group=$(id -gn "$TERN_USER")
	install -d -o "$TERN_USER" -g "$group" -m 0700 "$SPOOLDIR"
	say "$SPOOLDIR (owner $TERN_USER, mode 0700)"
	# virtual_user's default: the owner of the virtual domains' Maildirs
	if ! id vmail >/dev/null 2>&1 && command -v useradd >/dev/null 2>&1
	then
		useradd --system --user-group --no-create-home \
		    --home-dir /var/mail/vhosts --shell "$shell" \
		    --comment "tern virtual mailboxes" vmail
		say "created user vmail"
	fi
}

# COMPAT=yes: the paths every Unix program expects.  A file that is not
# a symbolic link there belongs to another mail system and is kept.
compat_link() {
	target=$1
	link=$DESTDIR$2
	if [ "$target" = "$2" ]; then
		return 0	# installed there already (PREFIX=/usr)
	fi
	install -d -m 0755 "${link%/*}"
	if [ -e "$link" ] && [ ! -L "$link" ]; then
		say "warning: $link exists and is not a link, kept"
		return 0
	fi
	ln -sf "$target" "$link"
	say "$link -> $target"
}

install_compat() {
	case "$COMPAT" in
	yes) ;;
	no|'') return 0 ;;
	*) die "COMPAT must be yes or no, not \"$COMPAT\"" ;;
	esac
	compat_link "$SBINDIR/sendmail" /usr/sbin/sendmail
	compat_link "$BINDIR/mailq" /usr/bin/mailq
	compat_link "$SBINDIR/newaliases" /usr/bin/newaliases
}

if [ ! -f etc/tern.conf ] || [ ! -d man ]; then
	die "run me from the top of the tern source tree"
fi
command -v install >/dev/null 2>&1 || die "install(1) not found"

install_programs
install_manuals
install_config
install_services
install_system
install_compat
say "done"
