# SPDX-License-Identifier: ISC
"""test_soak_small.py - a short soak run of `make test` (issue 11):
tests/soak.py with 300 messages through the test build, to sinks that
drop a fifth of their connections at random moments and a destination
that is down for the first half.  Nothing acknowledged is lost, nothing
is duplicated but where a sink dropped after the final ".", the queue
ends empty and the master and the queue runner hold no more descriptors
than before.  `make soak` runs the long one (100,000 messages)."""
import os
import re
import subprocess
import sys

import harness

DRIVER = os.path.join(harness.TOP, "tests", "soak.py")


def test_soak_small():
    p = subprocess.run(
        [sys.executable, DRIVER], capture_output=True, timeout=100,
        env=dict(os.environ, TERN_BIN=harness.BIN, SOAK_MSGS="300",
                 SOAK_CLIENTS="4", SOAK_DROP="20"))
    out = p.stdout.decode(errors="replace")
    why = out + p.stderr.decode(errors="replace")[-3000:]
    assert p.returncode == 0 and out.rstrip().endswith("soak: ok"), why
    assert "300 acknowledged" in out, why
    # both destinations had their mail, none lost or unexplained
    stored = re.findall(r"^(sink|down)\.soak\.test: .*; (\d+) stored, "
                        r"0 lost, \d+ duplicated .* 0 unexplained, "
                        r"0 unexpected$", out, re.M)
    assert sorted(d for d, _ in stored) == ["down", "sink"], why
    assert "queue: 0 files left in the spool" in out, why
    fds = re.findall(r"^open descriptors: \w+ +before (\d+), after (\d+)$",
                     out, re.M)
    assert len(fds) == 2 and all(int(a) <= int(b) for b, a in fds), why
