#!/usr/bin/python3
"""The governance streams against the real governd: StreamDecisions (every
committed change, in commit order, to every subscriber, gap-free sequence
numbers, resume without loss or duplicates, also across a restart),
StreamEvents (CONNECTION_ESTABLISHED, coalesced METRICS_UPDATED), slow
subscribers ending RESOURCE_EXHAUSTED while everybody else carries on, and
streams ending UNAVAILABLE on a graceful shutdown.

docs/governance.md is the specification every assertion comes from."""

import os
import re
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import h2raw  # noqa: E402
from harness import (  # noqa: E402
    GOV, SLOW, Gov, governance_pb2, Governd, GoverndCase, proposal, run_main,
    StreamReader, ts_float, uniq, wait_for)

SC = grpc.StatusCode
pb = governance_pb2
NEW = pb.DecisionEvent.NEW_DECISION
UPDATED = pb.DecisionEvent.DECISION_UPDATED
RESOLVED = pb.DecisionEvent.DECISION_RESOLVED
ESTABLISHED = pb.GovernanceEvent.CONNECTION_ESTABLISHED
METRICS_UPDATED = pb.GovernanceEvent.METRICS_UPDATED
HEARTBEAT = pb.GovernanceEvent.HEARTBEAT
TYPE_NAMES = {NEW: "NEW", UPDATED: "UPDATED", RESOLVED: "RESOLVED"}
# grpcio channels that send no BDP pings: tests that are not about
# keepalive use them, so that they test one thing
# (test_busy_stream_keeps_a_default_grpcio_client is about those pings).
NO_BDP = [("grpc.http2.bdp_probe", 0)]


def key(ev):
    """What identifies an event: (sequence, type, decision id, status)."""
    return (ev.sequence, ev.type, ev.decision.decision_id, ev.decision.status)


def assert_gap_free(tc, events, what="events"):
    seqs = [e.sequence for e in events]
    if seqs:
        tc.assertGreater(seqs[0], 0, "sequence numbers start at 1")
    tc.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))) if seqs else [],
                   "%s: sequence numbers not consecutive: %s" % (what, gaps(seqs)))


def gaps(seqs):
    out = []
    for a, b in zip(seqs, seqs[1:]):
        if b != a + 1:
            out.append((a, b))
        if len(out) > 5:
            break
    return out


def subscribe(gd, resume_after=0, name="sub", options=(), **kw):
    """A StreamDecisions reader on a channel of its own."""
    ch = gd.channel(options=options)
    r = StreamReader(Gov(ch).stream_decisions(resume_after=resume_after, **kw), name=name)
    r.channel = ch
    return r


def close_reader(r):
    if not r.done.is_set():
        r.cancel()
    r.channel.close()


def sync(gov, readers, timeout=10.0):
    """Submits markers until every reader has received an event; returns
    the sequence number of the last marker (every reader has it and
    every later event)."""
    end = time.monotonic() + timeout * SLOW
    last = None
    while True:
        last = gov.submit(operation_type="marker").decision.decision_id
        t = time.monotonic() + 0.5 * SLOW
        while time.monotonic() < t:
            if all(any(e.decision.decision_id == last for e in r.snapshot()) for r in readers):
                ev = next(e for e in readers[0].snapshot() if e.decision.decision_id == last)
                return ev.sequence
            time.sleep(0.01)
        if time.monotonic() > end:
            raise AssertionError("subscribers did not start receiving: %s"
                                 % [(len(r.snapshot()), r.code, r.details) for r in readers])


def after(reader, seq):
    return [e for e in reader.snapshot() if e.sequence > seq]


def wait_after(tc, reader, seq, n, timeout=10.0):
    reader.wait(lambda it: sum(1 for e in it if e.sequence > seq) >= n, timeout * SLOW,
                "%d events after %d" % (n, seq))
    return after(reader, seq)


def generate(gd, n, op="load", sla=3600, channels=2, window=256):
    """n submissions, pipelined over a few channels; returns the decisions."""
    govs = [Gov.connect(gd) for _ in range(channels)]
    out = []
    try:
        i = 0
        while i < n:
            futs = []
            for j in range(min(window, n - i)):
                futs.append(govs[(i + j) % channels].future(
                    "SubmitDecision", decision=proposal(operation_type=op, sla_seconds=sla,
                                                        priority="LOW"), timeout=60))
            out.extend(f.result().decision for f in futs)
            i += len(futs)
    finally:
        for g in govs:
            g.close()
    return out


class StreamCase(GoverndCase):
    GOVERND_KWARGS = {"db": True}

    def setUp(self):
        self.gov = Gov.connect(self.gd)
        self.readers = []

    def tearDown(self):
        for r in self.readers:
            close_reader(r)
        self.gov.close()

    def reader(self, *a, **kw):
        r = subscribe(self.gd, *a, **kw)
        self.readers.append(r)
        return r


class Decisions(StreamCase):
    NAME = "gov-streams"

    def test_every_change_to_every_subscriber_in_commit_order(self):
        g = self.gov
        rs = [self.reader(name="sub0"), self.reader(name="sub1"),
              self.reader(name="sub2", session_id="s-" + "0" * 32)]
        m = sync(g, rs)
        op = uniq("op")
        sid = g.session(uniq("alice"))
        want = []   # (type, response decision) in the order the writes were acknowledged

        def did(resp_decision, typ):
            want.append((typ, resp_decision))
            return resp_decision

        ka = uniq("k")
        a = did(g.submit(operation_type=op, key=ka).decision, NEW)
        b = did(g.submit(operation_type=op, priority="CRITICAL").decision, NEW)
        did(g.escalate(sid, a.decision_id, escalation_target="lead").decision, UPDATED)
        did(g.approve(sid, a.decision_id, request_id="r-" + a.decision_id).decision, RESOLVED)
        did(g.reject(sid, b.decision_id, comment="no").decision, RESOLVED)
        c = did(g.submit(operation_type=op).decision, NEW)
        did(g.escalate(sid, c.decision_id, escalation_target="lead").decision, UPDATED)
        did(g.escalate(sid, c.decision_id, escalation_target="lead2").decision, UPDATED)
        # writes that change nothing make no event
        self.assertEqual(g.code("ApproveDecision", session_id=sid, decision_id=a.decision_id)[0],
                         SC.FAILED_PRECONDITION)
        self.assertEqual(g.code("RejectDecision", session_id=sid, decision_id=c.decision_id)[0],
                         SC.INVALID_ARGUMENT)
        self.assertEqual(g.code("ApproveDecision", session_id="s-" + "0" * 32,
                                decision_id=c.decision_id)[0], SC.UNAUTHENTICATED)
        g.approve(sid, a.decision_id, request_id="r-" + a.decision_id)   # replay
        self.assertFalse(g.submit(operation_type=op, key=ka).created)   # idempotent
        g.close_session(g.session(uniq("bob")))
        # the sweeper's change is an event too
        d = did(g.submit(operation_type=op, sla_seconds=1).decision, NEW)
        wait_for(lambda: g.get(d.decision_id).status == "EXPIRED", 3 * SLOW, what="expiry")
        want.append((RESOLVED, g.get(d.decision_id)))
        for r in rs:
            with self.subTest(reader=r.thread.name):
                got = wait_after(self, r, m, len(want))
                time.sleep(0.3 * SLOW)
                got = after(r, m)
                self.assertEqual(len(got), len(want),
                                 "%s: %s" % (r.thread.name,
                                             [(e.sequence, TYPE_NAMES.get(e.type), e.decision.status)
                                              for e in got]))
                self.assertEqual(got[0].sequence, m + 1)
                assert_gap_free(self, got)
                for ev, (typ, dec) in zip(got, want):
                    self.assertEqual(ev.type, typ)
                    self.assertEqual(ev.decision, dec, "the event carries the decision as of the change")
                    self.assertGreater(ts_float(ev.timestamp), 0)
                assert_gap_free(self, r.snapshot(), "the whole stream")
        # every subscriber saw the same events
        self.assertEqual([key(e) for e in after(rs[0], m)], [key(e) for e in after(rs[1], m)])
        self.assertEqual([key(e) for e in after(rs[0], m)], [key(e) for e in after(rs[2], m)])

    def test_concurrent_writers_one_order_for_all(self):
        rs = [self.reader(name="sub%d" % i) for i in range(3)]
        m = sync(self.gov, rs)
        op = uniq("op")
        acked = []   # (thread, kind, decision id)
        lock = threading.Lock()
        errors = []

        def writer(t):
            g = Gov.connect(self.gd)
            try:
                sid = g.session("writer%d" % t)
                for i in range(20):
                    d = g.submit(operation_type=op).decision
                    with lock:
                        acked.append(("NEW", d.decision_id))
                    if i % 3 == 0:
                        g.escalate(sid, d.decision_id, escalation_target="x")
                        with lock:
                            acked.append(("UPDATED", d.decision_id))
                    if i % 2 == 0:
                        g.approve(sid, d.decision_id)
                        with lock:
                            acked.append(("RESOLVED", d.decision_id))
            except Exception as e:  # noqa: BLE001
                errors.append(e)
            finally:
                g.close()

        ts = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120 * SLOW)
        self.assertEqual(errors, [])
        n = len(acked)
        lists = []
        for r in rs:
            got = wait_after(self, r, m, n, timeout=20)
            time.sleep(0.2 * SLOW)
            got = after(r, m)
            self.assertEqual(len(got), n, "%s: every acknowledged write exactly once" % r.thread.name)
            assert_gap_free(self, got)
            lists.append([key(e) for e in got])
        self.assertEqual(lists[0], lists[1])
        self.assertEqual(lists[0], lists[2])
        got = after(rs[0], m)
        self.assertEqual(sorted((TYPE_NAMES[e.type], e.decision.decision_id) for e in got),
                         sorted(acked))
        # per decision: NEW, then UPDATED, then RESOLVED
        order = {}
        for e in got:
            order.setdefault(e.decision.decision_id, []).append(e.type)
        for d, types in order.items():
            self.assertEqual(types, sorted(types), d)
            self.assertEqual(types[0], NEW)

    def test_resume_gives_exactly_the_missed_events(self):
        g = self.gov
        full = self.reader(name="full")
        part = self.reader(name="part")
        m = sync(g, [full, part])
        op = uniq("op")
        sid = g.session(uniq("op"))
        ds = [g.submit(operation_type=op).decision for _ in range(10)]
        for d in ds[:5]:
            g.approve(sid, d.decision_id)
        got = wait_after(self, part, m, 15)
        k = got[7].sequence     # the last one the subscriber "saw"
        close_reader(part)
        # missed while away
        for d in ds[5:]:
            g.escalate(sid, d.decision_id, escalation_target="x")
        more = [g.submit(operation_type=op).decision for _ in range(5)]
        res = self.reader(resume_after=k, name="resumed")
        # live ones after the resume
        for d in more:
            g.reject(sid, d.decision_id, comment="c")
        total = 10 + 5 + 5 + 5 + 5
        wait_after(self, full, m, total)
        want = [key(e) for e in after(full, k)]
        got = wait_after(self, res, k, len(want))
        time.sleep(0.3 * SLOW)
        got = res.snapshot()
        self.assertEqual([key(e) for e in got], want, "no gaps, no duplicates")
        self.assertEqual(got[0].sequence, k + 1)
        assert_gap_free(self, got)
        # the events resent are the same as those first sent
        by_seq = {e.sequence: e for e in full.snapshot()}
        for e in got:
            self.assertEqual(e.SerializeToString(deterministic=True),
                             by_seq[e.sequence].SerializeToString(deterministic=True))

    def test_busy_stream_keeps_a_default_grpcio_client(self):
        """A grpcio subscriber with default channel options receiving a
        burst of events: grpcio sends BDP pings as data arrives, which a
        gRPC server must not count as abuse while it is sending (gRPC core
        resets its ping strikes whenever it writes HEADERS or DATA)."""
        r = self.reader(name="default-options")
        m = sync(self.gov, [r])
        made = generate(self.gd, 3000, op="burst")
        got = wait_after(self, r, m, len(made), timeout=30)
        self.assertEqual(len(got), len(made))
        self.assertIsNone(r.code, "the stream ended: %s %r" % (r.code, r.details))
        self.assertFalse(re.search(r"too_many_pings", self.gd.log()),
                         "governd sent GOAWAY too_many_pings to a well-behaved grpcio client")

    def test_resume_points(self):
        g = self.gov
        full = self.reader(name="full")
        m = sync(g, [full])
        time.sleep(0.2 * SLOW)
        last = full.snapshot()[-1].sequence
        # exactly the last one: nothing old, then live events
        r = self.reader(resume_after=last, name="at-last")
        time.sleep(0.3 * SLOW)
        self.assertEqual(r.snapshot(), [])
        self.assertIsNone(r.code)
        d = g.submit(operation_type="marker").decision
        got = r.wait_count(1, 5 * SLOW)
        self.assertEqual(got[0].sequence, last + 1)
        self.assertEqual(got[0].decision.decision_id, d.decision_id)
        # beyond the last one: INVALID_ARGUMENT
        for ra in (last + 2, last + 1000, 2 ** 63, 2 ** 64 - 1):
            with self.subTest(resume_after=ra):
                x = self.reader(resume_after=ra, name="future")
                self.assertEqual(x.wait_end(10 * SLOW), SC.INVALID_ARGUMENT, x.details)
                self.assertEqual(x.snapshot(), [])
        # from the very start
        one = self.reader(resume_after=1, name="from-1")
        got = one.wait(lambda it: it and it[-1].sequence >= last + 1, 10 * SLOW, "history")
        self.assertEqual(got[0].sequence, 2)
        assert_gap_free(self, got)
        self.assertLessEqual(m, last)


class Events(StreamCase):
    NAME = "gov-streams-events"

    def events(self, name="events"):
        ch = self.gd.channel(options=NO_BDP)
        r = StreamReader(Gov(ch).stream_events(), name=name)
        r.channel = ch
        self.readers.append(r)
        return r

    def test_connection_established_with_the_metrics(self):
        g = self.gov
        g.submit(priority="CRITICAL")
        r = self.events()
        first = r.wait_count(1, 5 * SLOW)[0]
        self.assertEqual(first.type, ESTABLISHED)
        self.assertTrue(first.HasField("metrics"))
        self.assertEqual(first.metrics, g.metrics())
        self.assertGreater(ts_float(first.timestamp), time.time() - 60)
        # nothing changes: no METRICS_UPDATED
        time.sleep(1.0)
        self.assertEqual([e.type for e in r.snapshot()], [ESTABLISHED])
        # a change: METRICS_UPDATED with the new figures, soon
        before = g.metrics()
        t0 = time.monotonic()
        g.submit(priority="HIGH")
        got = r.wait(lambda it: any(e.type == METRICS_UPDATED for e in it), 2 * SLOW,
                     "METRICS_UPDATED")
        self.assertLess(time.monotonic() - t0, 1.0 * SLOW + 0.5)
        upd = [e for e in got if e.type == METRICS_UPDATED][-1]
        self.assertEqual(upd.metrics.total_decisions, before.total_decisions + 1)
        self.assertEqual(upd.metrics.pending_count, before.pending_count + 1)
        self.assertEqual(upd.metrics.high_priority_count, before.high_priority_count + 1)
        self.assertEqual(upd.metrics, g.metrics())

    def test_updates_are_coalesced(self):
        g = self.gov
        rs = [self.events("ev0"), self.events("ev1")]
        for r in rs:
            r.wait_count(1, 5 * SLOW)
        sid = g.session(uniq("op"))
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 1.5:
            d = g.submit(priority="LOW").decision
            g.approve(sid, d.decision_id)
            n += 2
        span = time.monotonic() - t0
        time.sleep(1.0)
        final = g.metrics()
        for r in rs:
            with self.subTest(reader=r.thread.name):
                got = r.wait(lambda it: it[-1].metrics == final, 3 * SLOW, "final metrics")
                upd = [e for e in got if e.type == METRICS_UPDATED]
                self.assertGreaterEqual(len(upd), 1)
                # at most 4 a second (+1 for the boundaries)
                self.assertLessEqual(len(upd), 4 * (span + 1.0) + 1,
                                     "%d METRICS_UPDATED for %d changes in %.1fs"
                                     % (len(upd), n, span))
                self.assertLess(len(upd), n)
                for e in got[1:]:
                    self.assertIn(e.type, (METRICS_UPDATED, HEARTBEAT))
                # never going backwards
                totals = [e.metrics.total_decisions for e in got if e.HasField("metrics")]
                self.assertEqual(totals, sorted(totals))


class SlowSubscribers(StreamCase):
    NAME = "gov-streams-slow"

    def _latency_probe(self, stop, out):
        g = Gov.connect(self.gd)
        try:
            while not stop.is_set():
                t = time.monotonic()
                g.metrics()
                g.list(limit=10)
                out.append(time.monotonic() - t)
                time.sleep(0.05)
        except Exception as e:  # noqa: BLE001
            out.append(e)
        finally:
            g.close()

    def test_slow_subscriber_ends_resource_exhausted(self):
        g = self.gov
        # a default grpcio subscriber: its BDP probes grow its window, so it
        # keeps up with the burst of 5,600 expiries below; with a fixed
        # 64 KiB window a Python reader on a busy 2-core machine can itself
        # fall 1 MiB behind that burst, and rightly be ended
        fast = self.reader(name="fast")
        m = sync(g, [fast])
        # a grpcio subscriber that stops reading (no BDP window growth)
        slow_ch = self.gd.channel(options=[("grpc.http2.bdp_probe", 0)])
        self.addCleanup(slow_ch.close)
        slow = Gov(slow_ch).stream_decisions(resume_after=m)
        self.addCleanup(slow.cancel)
        # a raw HTTP/2 subscriber that grants no flow-control window at all
        raw = h2raw.H2Conn.connect(self.gd.addr)
        self.addCleanup(raw.close)
        raw.handshake(settings=((h2raw.SETTINGS_ENABLE_PUSH, 0),
                                (h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 0)), conn_window=0)
        raw.grpc_call(1, GOV + "StreamDecisions",
                      pb.StreamDecisionsRequest(resume_after=m).SerializeToString())
        raw.pump(timeout=0.3)
        stop = threading.Event()
        lat = []
        probe = threading.Thread(target=self._latency_probe, args=(stop, lat))
        probe.start()
        # more than 10,000 events: submissions that expire a second later
        try:
            made = generate(self.gd, 5600, op="flood", sla=1)
            wait_for(lambda: g.list(operation_type="flood").total_count == 0, 15 * SLOW,
                     interval=0.2, what="the flood to expire")
            raw.pump(timeout=0.2)
        finally:
            stop.set()
            probe.join(30)
        n = 2 * len(made)
        # the fast subscriber got everything
        got = wait_after(self, fast, m, n, timeout=30)
        assert_gap_free(self, got)
        self.assertEqual(len(got), n)
        # unary calls kept working meanwhile
        errs = [x for x in lat if isinstance(x, Exception)]
        self.assertEqual(errs, [])
        self.assertGreater(len(lat), 5)
        self.assertLess(max(lat), 2.0 * SLOW, "a unary call stalled: %.2fs" % max(lat))
        # the stalled grpcio subscriber: what it got, then RESOURCE_EXHAUSTED
        got_slow = []
        code = details = None
        try:
            for ev in slow:
                got_slow.append(ev)
                if len(got_slow) > n + 10:
                    break
        except grpc.RpcError as e:
            code, details = e.code(), e.details()
        self.assertEqual(code, SC.RESOURCE_EXHAUSTED,
                         "stalled subscriber: %s %r after %d events" % (code, details, len(got_slow)))
        self.assertLess(len(got_slow), n, "it did fall behind")
        if got_slow:
            assert_gap_free(self, got_slow)
            self.assertEqual(got_slow[0].sequence, m + 1)
        last = got_slow[-1].sequence if got_slow else m
        self.assertIn("subscriber too slow; resume from sequence %d" % last, details)
        # resuming from there gives the rest, without gaps or duplicates
        res = self.reader(resume_after=last, name="resumed", options=NO_BDP)
        rest = wait_after(self, res, last, got[-1].sequence - last, timeout=30)
        self.assertEqual([key(e) for e in rest], [key(e) for e in got if e.sequence > last])
        # the raw subscriber was ended too (status from governd's call log);
        # once it opens its window it gets what was queued, then the
        # trailers: nothing is lost silently
        rec = self.gd.wait_call(method=GOV + "StreamDecisions", peer=raw.local, timeout=10)
        self.assertEqual(rec["code"], "RESOURCE_EXHAUSTED")
        raw.send(h2raw.window_update(0, 1 << 30) + h2raw.window_update(1, 1 << 30))
        st = raw.wait_stream(1, timeout=10 * SLOW)
        self.assertTrue(st.done and st.trailers and st.rst is None, st)
        evs = [pb.DecisionEvent.FromString(p) for _, p in st.messages()]
        if evs:
            assert_gap_free(self, evs, "raw subscriber")
            self.assertEqual(evs[0].sequence, m + 1)
        self.assertLess(len(evs), n)
        self.assertAlive()

    def test_slow_subscriber_over_one_mib_unsent(self):
        """Spec: at most 1 MiB unsent (or 10,000 events behind) per stream;
        past that RESOURCE_EXHAUSTED.  Few but large events here."""
        g = self.gov
        fast = self.reader(name="fast")
        m = sync(g, [fast])
        raw = h2raw.H2Conn.connect(self.gd.addr)
        self.addCleanup(raw.close)
        raw.handshake(settings=((h2raw.SETTINGS_ENABLE_PUSH, 0),
                                (h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 0)), conn_window=0)
        raw.grpc_call(1, GOV + "StreamDecisions",
                      pb.StreamDecisionsRequest(resume_after=m).SerializeToString())
        raw.pump(timeout=0.3)
        big = {"k%02d" % i: chr(97 + i % 26) * 4000 for i in range(60)}   # ~240 KB
        for _ in range(8):                                               # ~1.9 MB
            g.submit(operation_type="big", context=big)
        wait_after(self, fast, m, 8)
        # It never opens its window, so the trailers wait behind the queued
        # events (nothing is dropped); governd has ended the call, which its
        # call log shows, and holds no more than the queue's bound for it.
        wait_for(lambda: any(r["code"] == "RESOURCE_EXHAUSTED" for r in
                             self.gd.calls(method=GOV + "StreamDecisions", peer=raw.local)),
                 5 * SLOW, interval=0.1, what="the ~1.9 MB-behind subscriber to be ended")
        self.assertAlive()


class Retention(StreamCase):
    """A governd that keeps few events and beats often: what happens at the
    edges of resume, and the heartbeat, without waiting 15 s."""
    NAME = "gov-streams-retention"
    GOVERND_ARGS = ["--event-retention", "100", "--heartbeat", "300ms"]

    def test_resume_from_before_the_oldest_kept_event_is_out_of_range(self):
        g = self.gov
        m0 = g.metrics().last_sequence
        # far more than the retention plus the trimming's slack (1,024)
        made = {d.decision_id for d in generate(self.gd, 1500, op="retained")}
        last = g.metrics().last_sequence
        self.assertEqual(last, m0 + 1500)
        r = self.reader(resume_after=1, name="too-old")
        r.done.wait(10 * SLOW)
        self.assertEqual(r.code, SC.OUT_OF_RANGE, r.details)
        self.assertEqual(r.snapshot(), [])
        mo = re.search(r"no longer retained \(the oldest kept is (\d+)\): resume from (\d+)",
                       r.details or "")
        self.assertIsNotNone(mo, r.details)
        first, hint = int(mo.group(1)), int(mo.group(2))
        self.assertEqual(hint, first - 1)
        self.assertGreater(first, m0 + 1, "events were trimmed")
        self.assertLessEqual(last - first + 1, 100 + 1024 + 64, "retention kept")
        # resuming where the message says gives every kept event, in order:
        # the newest of the submissions just made
        ok = self.reader(resume_after=hint, name="from-oldest")
        got = wait_after(self, ok, hint, last - hint, timeout=20)
        assert_gap_free(self, got)
        self.assertEqual(got[0].sequence, first)
        self.assertEqual(got[-1].sequence, last)
        self.assertTrue({e.decision.decision_id for e in got} <= made)
        self.assertTrue(all(e.type == NEW for e in got))
        # a resume point in the future is a different error
        fut = self.reader(resume_after=last + 1000, name="future")
        fut.done.wait(10 * SLOW)
        self.assertEqual(fut.code, SC.INVALID_ARGUMENT, fut.details)

    def test_heartbeat_when_nothing_changes(self):
        ch = self.gd.channel(options=NO_BDP)
        r = StreamReader(Gov(ch).stream_events(), name="beats")
        r.channel = ch
        self.readers.append(r)
        t0 = time.monotonic()
        got = r.wait(lambda it: sum(1 for e in it if e.type == HEARTBEAT) >= 3, 10 * SLOW,
                     "3 heartbeats")
        span = time.monotonic() - t0
        self.assertEqual(got[0].type, ESTABLISHED)
        beats = [e for e in got if e.type == HEARTBEAT]
        # not before the period is up: 3 beats take at least 3 x 300 ms
        self.assertGreaterEqual(span, 0.85)
        stamps = [ts_float(e.timestamp) for e in beats]
        for a, b in zip(stamps, stamps[1:]):
            self.assertGreaterEqual(b - a, 0.25, stamps)
        for e in beats:
            self.assertEqual(e.message, "heartbeat")


class Shutdown(unittest.TestCase):

    def test_sigterm_ends_streams_unavailable_and_exits_0(self):
        gd = Governd(name="gov-streams-shutdown", db=True)
        gd.start()
        self.addCleanup(gd.cleanup)
        g = Gov.connect(gd)
        self.addCleanup(g.close)
        ds = [subscribe(gd, name="dec%d" % i) for i in range(2)]
        ech = gd.channel()
        self.addCleanup(ech.close)
        ev = StreamReader(Gov(ech).stream_events(), name="events")
        sync(g, ds)
        ev.wait_count(1, 5 * SLOW)
        gd.stop(signal.SIGTERM)     # checks exit status 0 and sanitizer reports
        for r in ds + [ev]:
            with self.subTest(reader=r.thread.name):
                self.assertEqual(r.wait_end(10 * SLOW), SC.UNAVAILABLE, r.details)
        for r in ds:
            r.channel.close()


class Restart(unittest.TestCase):
    """Sequence numbers and resume survive a restart on the same store."""

    def test_resume_across_restart(self):
        gd = Governd(name="gov-streams-restart", db=True)
        gd.start()
        self.addCleanup(gd.cleanup)
        g = Gov.connect(gd)
        full = subscribe(gd, name="before")
        m = sync(g, [full])
        sid = g.session("alice")
        ds = [g.submit(operation_type="pre").decision for _ in range(6)]
        for d in ds[:3]:
            g.approve(sid, d.decision_id)
        pre = wait_after(self, full, m, 9)
        k = pre[3].sequence
        last_pre = pre[-1].sequence
        gd.stop()
        self.assertEqual(full.wait_end(10 * SLOW), SC.UNAVAILABLE)
        full.channel.close()
        g.close()

        gd.restart()
        g = Gov.connect(gd)
        self.addCleanup(g.close)
        live = subscribe(gd, name="live-after")
        self.addCleanup(close_reader, live)
        res = subscribe(gd, resume_after=k, name="resumed")
        self.addCleanup(close_reader, res)
        # the history before the restart, as it was sent then
        old = wait_after(self, res, k, last_pre - k)
        self.assertEqual([key(e) for e in old[:last_pre - k]],
                         [key(e) for e in pre if e.sequence > k])
        m2 = sync(g, [live, res])
        sid = g.session("alice")
        post = [g.submit(operation_type="post").decision for _ in range(3)]
        g.reject(sid, ds[4].decision_id, comment="after restart")
        g.approve(sid, post[0].decision_id)
        got = wait_after(self, res, k, (m2 - k) + 5)
        assert_gap_free(self, got)
        self.assertEqual(got[0].sequence, k + 1)
        self.assertGreater(min(e.sequence for e in got if e.decision.operation_type != "pre"),
                           last_pre, "sequence numbers continue after the restart")
        live_got = wait_after(self, live, m2, 5)
        time.sleep(0.2 * SLOW)
        self.assertEqual([key(e) for e in after(live, m2)], [key(e) for e in got if e.sequence > m2])
        self.assertEqual(len(live_got), 5)
        gd.stop()


if __name__ == "__main__":
    run_main()
