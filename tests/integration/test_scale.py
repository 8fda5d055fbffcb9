# SPDX-License-Identifier: ISC
"""test_scale.py - the compact schedule at a small size (issue 13): a
deferred or held message costs the queue runner a small entry and the
head of its state file, and nothing of its queue file until it is due.
These assert behaviour: the schedule survives a restart with the same
next-attempt times; held messages stay listed, are released and go;
a flush still delivers what was deferred; a state file written before
the "due" line existed is still read.  Speed is `make bench-scale`'s."""
import os
import subprocess

import harness
from harness import state_files, wait_for, wait_log
from test_delivery_remote import Stack, send, sink
from test_queue import BODY, ME, relay


def mailq(t):
    return harness.mailq_json(t)


def next_attempts(t):
    """{queue id: next attempt of its (one) recipient} from mailq -j."""
    return {m["queue_id"]: m["recipients"][0]["next_attempt"]
            for m in mailq(t)}


def ternq(t, *args):
    p = subprocess.run([os.path.join(harness.BIN, "ternq"), "-C",
                        t.conf_path] + list(args), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def deferred(st, t, n):
    ids = [send(t, ME + "@tern.test", ["you%d@remote.test" % i], BODY)
           for i in range(n)]
    assert wait_for(lambda: len(state_files(t)) == n, 15), t.log()
    return ids


def test_schedule_survives_a_restart():
    """Deferred messages keep their next-attempt times across a restart
    of the daemon, and are not attempted before them."""
    with Stack() as st:
        t = relay(st, harness.free_port(), retry_interval="1h")
        ids = deferred(st, t, 5)
        before = next_attempts(t)
        assert sorted(before) == sorted(ids), before
        assert all(v is not None for v in before.values()), before
        attempts = t.log().count("status=deferred")
        t.stop()
        t.start()
        assert wait_log(t, "queue: 5 messages in the spool", 10), t.log()
        assert next_attempts(t) == before
        # not attempted again at start-up: they are due in an hour
        assert not wait_for(lambda: t.log().count("status=deferred") >
                            attempts, 2), t.log()
        assert next_attempts(t) == before


def test_held_messages_are_listed_released_and_delivered():
    """A held deferred message stays listed as held across a restart
    (the runner keeps only its entry); released, a flush delivers it."""
    with Stack() as st:
        port = harness.free_port()
        t = relay(st, port, retry_interval="1h")
        ids = deferred(st, t, 3)
        ternq(t, "hold", ids[0])
        assert wait_for(lambda: [m["held"] for m in mailq(t)
                                 if m["queue_id"] == ids[0]] == [True], 10)
        t.stop()
        t.start()
        assert wait_log(t, "queue: 3 messages in the spool", 10), t.log()
        held = {m["queue_id"]: m["held"] for m in mailq(t)}
        assert held == {ids[0]: True, ids[1]: False, ids[2]: False}, held
        s = sink(st, port)
        ternq(t, "flush")
        assert wait_for(lambda: len(s.messages()) == 2, 15), t.log()
        assert [m["queue_id"] for m in mailq(t)] == [ids[0]]
        ternq(t, "release", ids[0])
        ternq(t, "flush")
        assert wait_for(lambda: len(s.messages()) == 3, 15), t.log()
        assert wait_for(lambda: mailq(t) == [], 10), t.log()


def test_a_state_file_without_due_is_read_whole():
    """A state file written before the "due" line existed (the runner
    then parses it whole) keeps its message's next attempt and held
    flag; the next write adds the line."""
    with Stack() as st:
        t = relay(st, harness.free_port(), retry_interval="1h")
        ids = deferred(st, t, 2)
        before = next_attempts(t)
        t.stop()
        for path in state_files(t):
            with open(path) as f:
                lines = f.readlines()
            assert any(l.startswith("due: ") for l in lines), lines
            lines = [l for l in lines if not l.startswith("due: ")]
            if path.endswith(ids[1]):
                lines = [l.replace("held: no", "held: yes") for l in lines]
            with open(path, "w") as f:
                f.writelines(lines)
        t.start()
        assert wait_log(t, "queue: 2 messages in the spool", 10), t.log()
        assert next_attempts(t) == before
        held = {m["queue_id"]: m["held"] for m in mailq(t)}
        assert held == {ids[0]: False, ids[1]: True}, held
        assert "corrupt" not in t.log(), t.log()
        ternq(t, "release", ids[1])
        path = [p for p in state_files(t) if p.endswith(ids[1])][0]
        assert wait_for(lambda: "due: " in open(path).read(), 10), t.log()
