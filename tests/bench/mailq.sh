#!/bin/sh
# mailq.sh - list a spool of N queued messages (default 100000) with
# bin/mailq and bin/mailq -j, and print the time of each listing.  The
# spool is generated in the documented formats (tests/integration/
# test_mailq.py gen), a third of the messages with a state file.
#
#	sh tests/bench/mailq.sh [N]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
N=${1:-${MAILQ_MSGS:-100000}}
WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tern-mailq.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
python3 "$TOP/tests/integration/test_mailq.py" gen "$WORK" "$N" || exit 1
printf 'spool_dir = %s/spool\n' "$WORK" > "$WORK/tern.conf"
for args in "" "-j"; do
	"$TOP/bin/mailq" -C "$WORK/tern.conf" $args > /dev/null  # warm cache
	python3 - "$TOP/bin/mailq" "$WORK" "$N" $args <<'PY'
import subprocess, sys, time
mailq, work, n = sys.argv[1:4]
start = time.monotonic()
with open(work + "/out", "wb") as out:
    subprocess.run([mailq, "-C", work + "/tern.conf"] + sys.argv[4:],
                   stdout=out, check=True)
lines = sum(1 for _ in open(work + "/out", "rb"))
print("mailq %-3s %s messages: %.2f s (%d lines)" % (
    " ".join(sys.argv[4:]), n, time.monotonic() - start, lines))
PY
done
