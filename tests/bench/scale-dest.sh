#!/bin/sh
# SPDX-License-Identifier: ISC
#
# scale-dest.sh - the per-destination figures of `make bench-scale`
# (issue 13, points 5 and 6): a flush of FLUSH_MSGS messages deferred for
# one destination that comes back, against the plain relay rate, and a
# flush of MANY_MSGS messages to MANY_DOMAINS domains, each with its own
# MX; tern against a private Postfix instance (postfix-peer.sh on
# PF_PORT, in PF_DIR), alternating.  See scaledest.py for how each figure
# is measured.
#
# Knobs (environment): FLUSH_MSGS (100000), RELAY_MSGS (10000),
# MANY_MSGS (10000), MANY_DOMAINS (2000), ROUNDS (1), DELIVERIES (tern's
# max_deliveries, 20), ONLY (flush,many), NO_POSTFIX=1, PF_PORT (2735),
# PF_DIR (/var/tmp/tern-pfscale), BENCH_TMP (/var/tmp), KEEP=1 (keep the
# scratch directories).  For a quick trial:
#	FLUSH_MSGS=2000 RELAY_MSGS=1000 MANY_MSGS=1000 MANY_DOMAINS=200 \
#	    sh tests/bench/scale-dest.sh
#
# It never fails the build: missing tools print "skipped" and exit 0.

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
PATH=$PATH:/usr/sbin
export PATH

for t in smtp-source smtp-sink python3; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "scale-dest: skipped: $t not found (smtp-source and" \
		    "smtp-sink come with Debian's postfix package)"
		exit 0
	fi
done
if [ ! -x "$TOP/bin/ternd" ]; then
	echo "scale-dest: skipped: bin/ternd not built"
	exit 0
fi
WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tern-scaledest.XXXXXX") || {
	echo "scale-dest: skipped: no scratch directory"
	exit 0
}
chmod 755 "$WORK"
trap '[ -n "$KEEP" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP

set -- --top "$TOP" --work "$WORK" \
    --flush-msgs "${FLUSH_MSGS:-100000}" --relay-msgs "${RELAY_MSGS:-10000}" \
    --many-msgs "${MANY_MSGS:-10000}" --many-domains "${MANY_DOMAINS:-2000}" \
    --rounds "${ROUNDS:-1}" --deliveries "${DELIVERIES:-20}" \
    --pf-port "${PF_PORT:-2735}" --pf-dir "${PF_DIR:-/var/tmp/tern-pfscale}" \
    --only "${ONLY:-flush,many}"
[ -n "$NO_POSTFIX" ] && set -- "$@" --no-postfix
python3 "$HERE/scaledest.py" "$@" || echo "scale-dest: scaledest.py exited $?"
exit 0
