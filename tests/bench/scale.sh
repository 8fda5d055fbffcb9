#!/bin/sh
# SPDX-License-Identifier: ISC
#
# scale.sh - `make bench-scale`: how tern's costs grow with the queue
# (issue 13), with Postfix 3.7's figure beside tern's where Postfix does
# the same thing.  Not part of `make test`; it never fails the build:
# a missing tool makes it print "skipped" for that figure.
#
# Figures (tests/bench/scale.py measures them):
#   mem      queue runner RSS per deferred message: RSS with SCALE
#            deferred messages minus RSS with an empty queue, over SCALE
#   startup  SCALE queued (half deferred, with state files; half pending
#            to a smtp-sink): seconds from ternd's start to the first
#            delivery, and to the end of the start-up scan
#   accept   smtp-source -s 20 -m ACCEPT_MSGS -l 4096 into a discard
#            domain, with an empty queue and with SCALE deferred messages
#            whose retries (to a refusing port) fall due meanwhile
#            (spread over RETRY_SPREAD seconds), alternating, ACCEPT_RUNS
#            rounds; Postfix the same, its queue filled as below
#   mailq    mailq and mailq -j of the SCALE spool: total seconds, and
#            for -j the seconds to its first line (it streams); Postfix's
#            mailq (postqueue -p) and postqueue -j of its full queue;
#            each from an emptied page cache (as root), then one warm-up
#            run and the median of 3 (both queues do not fit in memory)
# and then, if it exists, tests/bench/scale-dest.sh (flush after an
# outage, many destinations, rate limits), whose output is passed on.
#
# The SCALE spools are not accepted over SMTP (a million would take
# minutes): tests/bench/scalegen.c, compiled here against build/libtern.a,
# writes them with tern's own envelope and state writers.  Postfix's
# queue: PF_SEED messages are accepted into its deferred queue (to
# sink.bench.test while nothing listens on the sink port), then their
# files are copied to PF_SCALE files in total and `postsuper -s` renames
# each to its inode's queue id; its defer logs are not copied (mailq
# shows no reason for the copies).
#
# Knobs (environment): SCALE (1000000), PF_SCALE (SCALE), PF_SEED (200),
# ACCEPT_MSGS (5000), ACCEPT_RUNS (3), RETRY_SPREAD (1800, seconds),
# TERN_PORT (2625), SINK_PORT (2726), PF_PORT (2725),
# PFB (/var/tmp/tern-pfbench), BENCH_TMP (/var/tmp), TERND (bin/ternd),
# MAILQ (bin/mailq), NO_POSTFIX=1, ONLY (a comma-separated subset of
# mem,startup,accept,mailq,dest), KEEP=1 (keep the scratch directory).
# The disk needs about SCALE x 4.5 KiB and 1.5 x SCALE inodes per spool
# (two spools exist at once) and as much again for Postfix.

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BENCH_TMP=${BENCH_TMP:-/var/tmp}
PFB=${PFB:-/var/tmp/tern-pfbench}
WORK=

cleanup() {
	if [ -n "$WORK" ] && [ -d "$WORK" ] && [ -z "$KEEP" ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

PATH=$PATH:/usr/sbin
export PATH
for t in smtp-source smtp-sink python3 cc; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "bench-scale: skipped: $t not found (smtp-source and" \
		    "smtp-sink come with Debian's postfix package)"
		exit 0
	fi
done
[ -f "$TOP/build/libtern.a" ] || { echo "bench-scale: run make first"; exit 0; }
WORK=$(mktemp -d "$BENCH_TMP/tern-scale.XXXXXX") || exit 1
chmod 755 "$WORK"
gen() {
	cc -O2 -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -iquote "$TOP/include" \
	    -o "$WORK/scalegen" "$HERE/scalegen.c" "$TOP/build/libtern.a" \
	    -lresolv -lcrypt "$@" 2>>"$WORK/cc.err"
}
if ! gen -lssl -lcrypto && ! gen; then	# the TLS build, or TLS=no
	cat "$WORK/cc.err"
	echo "bench-scale: skipped: cannot compile scalegen.c"
	exit 0
fi

WORK=$WORK TOP=$TOP PFB=$PFB python3 "$HERE/scale.py"
# The million-message spools go (and reach the disk) before the
# destination figures, so that their page cache and writeback weigh on
# neither MTA there.
if [ -z "$KEEP" ]; then
	rm -rf "$WORK"
	WORK=
fi
sync

case ",${ONLY:-dest}," in
*,dest,*)
	if [ -f "$HERE/scale-dest.sh" ]; then
		echo
		sh "$HERE/scale-dest.sh"
	else
		echo "dest: tests/bench/scale-dest.sh not there; skipped"
	fi
	;;
esac
exit 0
