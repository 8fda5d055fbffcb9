# SPDX-License-Identifier: ISC
"""test_destinations.py - per-destination delivery (issue 13: "At scale",
points 5-7): recipients of one domain grouped per transaction up to
destination_recipient_limit on a reused connection; destination_rate
holds over a period compressed by configuration; a destination that
says "slow down" (421, 450 4.7.1 ... rate) is backed off from alone,
shown in mailq, while other mail goes out at once; a slow destination
never delays another.

Every destination is a smtpsink.py on loopback reached through the
transport map, so each domain has a server of its own."""
import os
import re
import time

import harness
from harness import mailq_json, state_files, wait_for, wait_log
from test_delivery_remote import ME, MSG, Stack, alice, harness_flush, \
    queue_empty, send, sink
from test_scale import ternq


def tern_with_map(st, routes, **kw):
    """A sending tern whose transport map sends each domain of routes
    (domain -> "target [options]") to its own sink."""
    path = os.path.join(st.tmp("tern-map-"), "transport")
    with open(path, "w") as f:
        for dom, target in routes.items():
            f.write("%s %s\n" % (dom, target))
    return alice(st, harness.free_port(), transport=path, **kw)


def sessions(s):
    """The sink's distinct session numbers, in order of first message."""
    out = []
    for m in s.messages():
        if m["session"] not in out:
            out.append(m["session"])
    return out


def test_recipients_grouped_up_to_the_limit_on_one_connection():
    """Five recipients of one domain, limit 2: three transactions
    (2 + 2 + 1) on one connection; a second message due with it rides
    the same connection."""
    with Stack() as st:
        port = harness.free_port()
        a = tern_with_map(st, {"grp.test": "127.0.0.1:%d" % port},
                          destination_recipient_limit=2)
        rcpts = ["r%d@grp.test" % i for i in range(5)]
        send(a, ME + "@tern.test", rcpts, MSG)
        send(a, ME + "@tern.test", ["other@grp.test"], MSG)
        assert wait_log(a, "status=deferred", 10, 6), a.log()
        s = sink(st, port)
        harness_flush(a)
        assert wait_for(lambda: len(s.messages()) == 4, 15, 0.1), a.log()
        got = s.messages()
        sizes = sorted(len(m["rcpt_tos"]) for m in got)
        assert sizes == [1, 1, 2, 2], got
        assert sorted(r for m in got for r in m["rcpt_tos"]) == \
            sorted(rcpts + ["other@grp.test"]), got
        assert len(sessions(s)) == 1, [m["session"] for m in got]
        assert queue_empty(a), a.log()


def test_more_transactions_than_one_agent_takes():
    """destination_recipient_limit = 1 and 25 recipients of one domain:
    25 jobs, more than the 20 one agent takes; the first agent gets 20,
    the next the other 5, and every recipient arrives once."""
    with Stack() as st:
        port = harness.free_port()
        a = tern_with_map(st, {"many.test": "127.0.0.1:%d" % port},
                          destination_recipient_limit=1)
        rcpts = ["r%d@many.test" % i for i in range(25)]
        send(a, ME + "@tern.test", rcpts, MSG)
        assert wait_log(a, "status=deferred", 10, 25), a.log()
        s = sink(st, port)
        harness_flush(a)
        assert wait_for(lambda: len(s.messages()) == 25, 15, 0.1), a.log()
        got = sorted(r for m in s.messages() for r in m["rcpt_tos"])
        assert got == sorted(rcpts), got
        assert len(sessions(s)) == 2, [m["session"] for m in s.messages()]
        assert queue_empty(a), a.log()
        assert "AddressSanitizer" not in a.log(), a.log()


def max_in_window(times, width):
    """The most of times (sorted) within any window of this width."""
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_rate_limit_holds():
    """rate=3 per 3s for one domain (transport map override): 9
    messages take at least two more periods, and no window of a period
    sees more than 3; a domain without a rate is not slowed."""
    with Stack() as st:
        slow, free = sink(st), sink(st)
        a = tern_with_map(st, {
            "rated.test": "127.0.0.1:%d rate=3" % slow.port,
            "free.test": "127.0.0.1:%d" % free.port},
            destination_rate_period="3s")
        t0 = time.time()
        for i in range(9):
            send(a, ME + "@tern.test", ["u%d@rated.test" % i], MSG)
        for i in range(9):
            send(a, ME + "@tern.test", ["u%d@free.test" % i], MSG)
        assert wait_for(lambda: len(free.messages()) == 9, 10, 0.1), a.log()
        assert len(slow.messages()) < 9, "rate not applied"
        assert wait_for(lambda: len(slow.messages()) == 9, 30, 0.1), a.log()
        times = sorted(m["time"] for m in slow.messages())
        # a little slack for the time between hand-out and arrival
        assert max_in_window(times, 2.7) <= 3, [t - t0 for t in times]
        assert times[-1] - times[0] >= 5.4, [t - t0 for t in times]
        assert "status=deferred" not in a.log(), a.log()
        assert queue_empty(a), a.log()


def test_global_rate_and_its_period():
    """destination_rate itself (no map option): 2 per 2s."""
    with Stack() as st:
        s = sink(st)
        a = tern_with_map(st, {"g.test": "127.0.0.1:%d" % s.port},
                          destination_rate=2, destination_rate_period="2s")
        for i in range(6):
            send(a, ME + "@tern.test", ["u%d@g.test" % i], MSG)
        assert wait_for(lambda: len(s.messages()) == 6, 30, 0.1), a.log()
        times = sorted(m["time"] for m in s.messages())
        assert max_in_window(times, 1.8) <= 2, times
        assert times[-1] - times[0] >= 3.6, times


def throttled_rcpts(t):
    return [(m["queue_id"], r) for m in mailq_json(t)
            for r in m["recipients"] if "throttled_until" in r]


def test_421_backs_off_one_destination_only():
    with Stack() as st:
        tr = st.tmp("tern-transcript-")
        bad = sink(st, extra=["--greeting", "421", "--transcript",
                              os.path.join(tr, "t")])
        good = sink(st)
        a = tern_with_map(st, {
            "busy.test": "127.0.0.1:%d" % bad.port,
            "fine.test": "127.0.0.1:%d" % good.port},
            destination_backoff="40s", retry_interval="2s")
        qid = send(a, ME + "@tern.test", ["x@busy.test"], MSG)
        assert wait_log(a, "busy.test asked to slow down", 10), a.log()
        assert wait_log(a, "%s: to=<x@busy.test>" % qid, 10), a.log()
        now = time.time()
        # the other destination is not held back
        send(a, ME + "@tern.test", ["y@fine.test"], MSG)
        assert wait_for(lambda: good.messages(), 5, 0.05), a.log()
        # mailq shows the back-off and its end, for that domain alone
        got = throttled_rcpts(a)
        assert [q for q, _ in got] == [qid], mailq_json(a)
        r = got[0][1]
        assert r["address"] == "x@busy.test", r
        assert now + 30 <= r["throttled_until"] <= now + 45, (now, r)
        assert "421" in r["throttle_reason"], r
        # rescheduled to the back-off's end, not counted as an attempt
        assert r["next_attempt"] >= now + 30, (now, r)
        assert r["attempts"] == 0, r
        p = harness.subprocess.run(
            [os.path.join(harness.BIN, "mailq"), "-C", a.conf_path],
            capture_output=True, timeout=30)
        assert b"-- destination busy.test throttled until" in p.stdout, \
            p.stdout
        # more mail for it waits without a connection (retry_interval
        # is 2s: it would otherwise have been tried again by now)
        with open(os.path.join(tr, "t")) as f:
            before = len(set(line.split()[0] for line in f))
        qid2 = send(a, ME + "@tern.test", ["z@busy.test"], MSG)
        assert wait_log(a, "%s: to=<z@busy.test>" % qid2, 10), a.log()
        assert "destination busy.test asked to slow down; backing off " \
            "until" in a.log(), a.log()
        time.sleep(3)
        with open(os.path.join(tr, "t")) as f:
            assert len(set(line.split()[0] for line in f)) == before
        assert len(throttled_rcpts(a)) == 2, mailq_json(a)


def test_rate_reply_backs_off_and_keeps_the_rest():
    """450 4.7.1 "rate limit exceeded" to RCPT after 2 messages: the
    agent stops there, the destination is backed off from, and the
    messages left wait for the back-off's end."""
    with Stack() as st:
        port = harness.free_port()
        a = tern_with_map(st, {"rl.test": "127.0.0.1:%d" % port},
                          destination_backoff="30s")
        for i in range(5):
            send(a, ME + "@tern.test", ["u%d@rl.test" % i], MSG)
        assert wait_log(a, "status=deferred", 10, 5), a.log()
        s = sink(st, port, ["--slow-down-after", "2"])
        harness_flush(a)
        assert wait_log(a, "rl.test asked to slow down", 10), a.log()
        assert wait_for(lambda: len(state_files(a)) == 3 and
                        len(throttled_rcpts(a)) == 3, 10, 0.1), a.log()
        assert len(s.messages()) == 2
        now = time.time()
        for _, r in throttled_rcpts(a):
            assert r["next_attempt"] >= now + 20, r
            assert "4.7.1" in r["throttle_reason"], r
            assert "4.7.1" in r["delay_reason"], r


def test_slow_destination_does_not_delay_another():
    """Each message for slow.test takes 4s at its server; with 3
    delivery slots, at most 2 per destination, mail for fast.test
    still goes out at once."""
    with Stack() as st:
        slow = sink(st, extra=["--delay-data", "4"])
        fast = sink(st)
        a = tern_with_map(st, {
            "slow.test": "127.0.0.1:%d" % slow.port,
            "fast.test": "127.0.0.1:%d" % fast.port},
            max_deliveries=3, max_per_destination=2)
        for i in range(6):
            send(a, ME + "@tern.test", ["u%d@slow.test" % i], MSG)
        t0 = time.time()
        send(a, ME + "@tern.test", ["v@fast.test"], MSG)
        assert wait_for(lambda: fast.messages(), 3, 0.05), a.log()
        assert fast.messages()[0]["time"] - t0 < 2.5
        assert len(slow.messages()) < 6
        assert wait_for(lambda: len(slow.messages()) == 6, 40, 0.1), a.log()
        assert queue_empty(a), a.log()


def mx_queries(path, name):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.split() == [name, "15"])
    except OSError:
        return 0


def test_mx_answer_cached_for_its_ttl():
    """The first agent for a domain looks up its MX; the next one, within
    the answer's TTL (4s here), gets it from the queue runner; after the
    TTL the domain is looked up again."""
    from dnsserver import DNSServer
    with Stack() as st:
        s = sink(st)
        d = st.tmp("tern-dns-")
        zone, qlog = os.path.join(d, "zone"), os.path.join(d, "queries")
        with open(zone, "w") as f:
            f.write("cache.test MX 10 mx.cache.test\n"
                    "mx.cache.test A 127.0.0.1\n")
        dns = st.push(DNSServer(harness.free_port(), zone, extra=[
            "--ttl", "4", "--query-log", qlog]).start())
        a = alice(st, s.port, dns_server="127.0.0.1:%d" % dns.port)
        send(a, ME + "@tern.test", ["one@cache.test"], MSG)
        assert wait_for(lambda: len(s.messages()) == 1, 10, 0.05), a.log()
        send(a, ME + "@tern.test", ["two@cache.test"], MSG)
        assert wait_for(lambda: len(s.messages()) == 2, 10, 0.05), a.log()
        assert mx_queries(qlog, "cache.test") == 1, open(qlog).read()
        assert "cache.test: MX hosts from the queue runner's cache" in \
            a.log(), a.log()
        time.sleep(4.5)
        send(a, ME + "@tern.test", ["three@cache.test"], MSG)
        assert wait_for(lambda: len(s.messages()) == 3, 10, 0.05), a.log()
        assert mx_queries(qlog, "cache.test") == 2, open(qlog).read()
        assert queue_empty(a), a.log()


def test_rate_by_nexthop_shares_an_mx_host():
    """destination_rate_by = nexthop: two domains whose MX is one host
    share its rate, 2 per 2s, once an agent has reported the answer
    (before it, each counts under its domain)."""
    from dnsserver import DNSServer
    with Stack() as st:
        s = sink(st)
        zone = os.path.join(st.tmp("tern-dns-"), "zone")
        with open(zone, "w") as f:
            f.write("one.test MX 10 mx.shared.test\n"
                    "two.test MX 10 mx.shared.test\n"
                    "mx.shared.test A 127.0.0.1\n")
        dns = st.push(DNSServer(harness.free_port(), zone).start())
        a = alice(st, s.port, dns_server="127.0.0.1:%d" % dns.port,
                  destination_rate=2, destination_rate_period="2s",
                  destination_rate_by="nexthop")
        send(a, ME + "@tern.test", ["w@one.test"], MSG)
        send(a, ME + "@tern.test", ["w@two.test"], MSG)
        assert wait_for(lambda: len(s.messages()) == 2, 10, 0.05), a.log()
        t1 = time.time()
        for i in range(3):
            send(a, ME + "@tern.test", ["u%d@one.test" % i], MSG)
            send(a, ME + "@tern.test", ["u%d@two.test" % i], MSG)
        assert wait_for(lambda: len(s.messages()) == 8, 30, 0.1), a.log()
        times = sorted(m["time"] for m in s.messages() if m["time"] > t1)
        assert len(times) == 6, times
        assert max_in_window(times, 1.8) <= 2, [t - t1 for t in times]
        assert times[-1] - times[0] >= 3.6, [t - t1 for t in times]
        assert queue_empty(a), a.log()


def test_backlog_parked_behind_a_backed_off_domain_waits():
    """One active message per domain: both servers down, four messages
    each deferred; then busy.test says 421 and fine.test is up, and a
    flush makes all due.  busy.test gets one connection and the rest of
    its backlog stays parked (not deferred again one by one) until its
    back-off ends, while fine.test's backlog flows."""
    with Stack() as st:
        tr = st.tmp("tern-transcript-")
        bport, fport = harness.free_port(), harness.free_port()
        a = tern_with_map(st, {
            "busy.test": "127.0.0.1:%d" % bport,
            "fine.test": "127.0.0.1:%d" % fport},
            destination_backoff="30s", max_active_per_destination=1,
            retry_interval="1h")
        for i in range(4):
            send(a, ME + "@tern.test", ["b%d@busy.test" % i], MSG)
            send(a, ME + "@tern.test", ["f%d@fine.test" % i], MSG)
        assert wait_for(lambda: len(state_files(a)) == 8, 15, 0.1), a.log()
        sink(st, bport, ["--greeting", "421", "--transcript",
                         os.path.join(tr, "t")])
        good = sink(st, fport)
        mark = len(a.log())
        harness_flush(a)
        assert wait_for(lambda: len(good.messages()) == 4, 15, 0.1), a.log()
        assert wait_log(a, "busy.test asked to slow down", 10), a.log()
        time.sleep(1)
        with open(os.path.join(tr, "t")) as f:
            assert len(set(line.split()[0] for line in f)) == 1
        after = a.log()[mark:]
        assert len(re.findall(r"to=<b\d@busy.test>", after)) <= 2, after
        assert len(a.queue_files()) == 4


def test_held_message_gives_up_its_turn_in_the_backlog():
    """One active message per domain, each taking 2s at its server: the
    first goes, the next two are parked behind it.  Holding the second
    (the head of the parked list) must not cost the third its turn: it
    goes when the first is done, and the held one only once released."""
    with Stack() as st:
        slow = sink(st, extra=["--delay-data", "2"])
        a = tern_with_map(st, {"slow.test": "127.0.0.1:%d" % slow.port},
                          max_active_per_destination=1)
        ids = [send(a, ME + "@tern.test", ["u%d@slow.test" % i], MSG)
               for i in range(3)]
        assert wait_log(a, "%s: parked" % ids[2], 10), a.log()
        assert "%s: parked" % ids[1] in a.log(), a.log()
        ternq(a, "hold", ids[1])
        assert wait_for(lambda: len(slow.messages()) == 2, 15, 0.1), a.log()
        rcpts = [m["rcpt_tos"] for m in slow.messages()]
        assert rcpts == [["u0@slow.test"], ["u2@slow.test"]], rcpts
        assert mailq_json(a)[0]["held"] is True
        ternq(a, "release", ids[1])
        assert wait_for(lambda: len(slow.messages()) == 3, 15, 0.1), a.log()
        assert queue_empty(a), a.log()
