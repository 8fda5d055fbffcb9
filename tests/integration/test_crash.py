# SPDX-License-Identifier: ISC
"""test_crash.py - the short crash trials of `make test` (issue 11):
tests/crashtest.py with 50 SIGKILLs of random tern processes under load,
and with 10 power cuts through the LD_PRELOAD shim (tests/faultshim.c),
must lose nothing acknowledged.  A control shows the power trial can
see a loss: with the shim told to forget every directory fsync, mail
acknowledged while its relay is down is gone after the cut.
`make crashtest` runs the long trials."""
import os
import re
import subprocess
import sys

import harness
import crashtest

DRIVER = os.path.join(harness.TOP, "tests", "crashtest.py")
FIGURE = re.compile(r"^(\d+) (kills|power cuts), (\d+) acknowledged, "
                    r"(\d+) lost, (\d+) duplicated$", re.M)


def trial(args, env):
    """Run the driver; its figure as (kills, acknowledged, lost)."""
    p = subprocess.run([sys.executable, DRIVER] + args,
                       env=dict(os.environ, **env), capture_output=True,
                       timeout=110)
    out = p.stdout.decode(errors="replace")
    m = FIGURE.search(out)
    assert m, (p.returncode, out, p.stderr.decode(errors="replace")[-3000:])
    kills, acked, lost = int(m.group(1)), int(m.group(3)), int(m.group(4))
    assert lost == 0 and p.returncode == 0, out
    return kills, acked


def test_crash_kills():
    kills, acked = trial([], {"CRASH_TRIALS": "50", "CRASH_INTERVAL": "0.3"})
    assert kills == 50 and acked > 50, (kills, acked)


def test_crash_power_cuts():
    kills, acked = trial(["--power"], {"POWER_TRIALS": "10",
                                       "CRASH_INTERVAL": "0.3"})
    assert kills == 10 and acked > 10, (kills, acked)


def test_crash_power_control_loses():
    # The relay is a closed port, so all stays queued; without the
    # directory fsyncs the cut takes the acknowledged mail away.
    tr = crashtest.Trial(shim=crashtest.build_shim(),
                         relay_port=harness.free_port(),
                         shim_env={"FAULTSHIM_NO_DIRSYNC": "1"})
    try:
        for n in range(1, 4):
            with tr.t.smtp() as s:
                s.sendmail("crash@tern.test", ["sink@remote.test"],
                           tr.message(n, "smtp"))
        assert len(tr.t.queue_files()) == 3, tr.t.queue_files()
        tr.power_cut()
        assert tr.t.queue_files() == [], tr.t.queue_files()
    finally:
        tr.close(False)
