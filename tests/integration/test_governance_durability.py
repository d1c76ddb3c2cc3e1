#!/usr/bin/python3
"""The governance store under concurrency and crashes, against the real
governd: 20 clients resolving one decision at once, approvals racing the
SLA sweeper, kill -9 in the middle of 1,000 concurrent approvals (every
acknowledged approval survives, nothing is half-written), a restart keeps
everything, decisions that expire while governd is down, a full disk, a
disk that fails a sync, and --demo.

docs/governance.md and docs/store.md are the specification."""

import http.client
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    OPEN_STATUSES, PRIORITIES, SLOW, Gov, governance_pb2, Governd, proposal, run_main,
    StreamReader, ts_float, uniq, wait_for)

SC = grpc.StatusCode
pb = governance_pb2
RESOLVED = pb.DecisionEvent.DECISION_RESOLVED
NEW = pb.DecisionEvent.NEW_DECISION
NO_BDP = [("grpc.http2.bdp_probe", 0)]


def submit_many(g, n, **over):
    out = []
    for start in range(0, n, 250):
        futs = [g.future("SubmitDecision", decision=proposal(**over), timeout=60)
                for _ in range(start, min(n, start + 250))]
        out.extend(f.result().decision for f in futs)
    return out


def integrity_check(db):
    """PRAGMA integrity_check on a copy of the database files (governd may
    still hold the originals)."""
    d = tempfile.mkdtemp(prefix="vcli-itest-dbcopy-")
    try:
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                shutil.copy(db + suffix, os.path.join(d, "copy.db" + suffix))
        con = sqlite3.connect(os.path.join(d, "copy.db"))
        try:
            return con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()
    finally:
        shutil.rmtree(d, True)


class GovdTest(unittest.TestCase):
    """A fresh governd with its own store for each test."""

    DEMO = False

    def setUp(self):
        self.gd = Governd(name="gov-durability", db=True, demo=self.DEMO)
        self.gd.start()
        self.gov = Gov.connect(self.gd)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.gov.close()
        try:
            if self.gd.running():
                self.gd.stop()
        finally:
            self.gd.cleanup()

    def client(self):
        c = Gov.connect(self.gd)
        self.clients.append(c)
        return c

    def reconnect(self):
        self.gov.close()
        self.gov = Gov.connect(self.gd)


class Races(GovdTest):

    def race(self, did, calls):
        """Runs calls (fn(gov) -> response) on threads with separate
        channels, released together; returns [(code, response-or-details)]."""
        n = len(calls)
        govs = [self.client() for _ in range(n)]
        sids = [g.session("racer%02d" % i) for i, g in enumerate(govs)]  # connected
        barrier = threading.Barrier(n)
        results = [None] * n

        def run(i):
            try:
                barrier.wait(10 * SLOW)
                results[i] = (SC.OK, calls[i](govs[i], sids[i]))
            except grpc.RpcError as e:
                results[i] = (e.code(), e.details())
            except Exception as e:  # noqa: BLE001
                results[i] = ("exception", repr(e))

        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60 * SLOW)
        return results

    def test_twenty_clients_approve_one_decision(self):
        for rnd in range(3):
            with self.subTest(round=rnd):
                d = self.gov.submit(priority="CRITICAL").decision
                res = self.race(d.decision_id, [
                    (lambda g, s: g.approve(s, d.decision_id, comment="mine"))] * 20)
                ok = [i for i, r in enumerate(res) if r[0] == SC.OK]
                fp = [r for r in res if r[0] == SC.FAILED_PRECONDITION]
                self.assertEqual(len(ok), 1, res)
                self.assertEqual(len(fp), 19, res)
                for _, msg in fp:
                    self.assertIn("decision '%s' is already APPROVED" % d.decision_id, msg)
                x = self.gov.get(d.decision_id)
                self.assertEqual(x.status, "APPROVED")
                self.assertEqual(x.history.reviewed_by, "racer%02d" % ok[0])
                self.assertEqual(res[ok[0]][1].decision, x)

    def test_twenty_clients_approve_or_reject_one_decision(self):
        d = self.gov.submit().decision
        calls = [(lambda g, s: g.approve(s, d.decision_id)),
                 (lambda g, s: g.reject(s, d.decision_id, comment="no"))] * 10
        res = self.race(d.decision_id, calls)
        ok = [i for i, r in enumerate(res) if r[0] == SC.OK]
        self.assertEqual(len(ok), 1, res)
        self.assertEqual(sum(1 for r in res if r[0] == SC.FAILED_PRECONDITION), 19, res)
        winner = "APPROVED" if ok[0] % 2 == 0 else "REJECTED"
        x = self.gov.get(d.decision_id)
        self.assertEqual(x.status, winner)
        self.assertEqual(x.history.outcome, winner)
        for r in res:
            if r[0] == SC.FAILED_PRECONDITION:
                self.assertIn(winner, r[1])
        m = self.gov.metrics()
        self.assertEqual(m.approved_count + m.rejected_count, 1)

    def test_twenty_retries_with_one_request_id(self):
        d = self.gov.submit().decision
        rid = uniq("req")
        res = self.race(d.decision_id, [
            (lambda g, s: g.approve(s, d.decision_id, request_id=rid))] * 20)
        self.assertTrue(all(r[0] == SC.OK for r in res), res)
        first = res[0][1]
        for _, r in res:
            self.assertEqual(r.processed_at, first.processed_at)
            self.assertEqual(r.decision, first.decision)
        self.assertEqual(self.gov.metrics().approved_count, 1)

    def test_approvals_racing_the_sweeper(self):
        """Whichever commits first wins; the loser gets FAILED_PRECONDITION;
        never both."""
        ds = submit_many(self.gov, 30, sla_seconds=1)
        sid = self.gov.session("racer")
        outcomes = {}
        # approvals spread from just before to well after each expiry
        plan = sorted((ts_float(d.expires_at) - 0.1 + 1.2 * i / 29.0, d)
                      for i, d in enumerate(ds))
        for at, d in plan:
            while time.time() < at:
                time.sleep(0.002)
            code, r = self.gov.code("ApproveDecision", session_id=sid,
                                    decision_id=d.decision_id)
            outcomes[d.decision_id] = ("OK" if code == SC.OK else
                                       "FP" if code == SC.FAILED_PRECONDITION else code, r)
        wait_for(lambda: self.gov.list().total_count == 0, 3 * SLOW, what="all resolved")
        for d in ds:
            x = self.gov.get(d.decision_id)
            kind, r = outcomes.get(d.decision_id, (None, None))
            if kind == "OK":
                self.assertEqual(x.status, "APPROVED", d.decision_id)
                self.assertFalse(x.sla_violated)
                self.assertEqual(r.decision, x)
            elif kind == "FP":
                self.assertEqual(x.status, "EXPIRED", d.decision_id)
                self.assertIn("EXPIRED", r)
                self.assertTrue(x.sla_violated)
            else:
                self.fail("%s: unexpected outcome %r" % (d.decision_id, (kind, r)))
        m = self.gov.metrics()
        self.assertEqual(m.approved_count + m.expired_count, 30)
        self.assertEqual(m.sla_violations, m.expired_count)
        kinds = [k for k, _ in outcomes.values()]
        self.assertIn("OK", kinds)
        self.assertIn("FP", kinds)


class Crash(GovdTest):

    def test_kill9_during_1000_concurrent_approvals(self):
        g = self.gov
        nthreads, per = 50, 20
        ds = submit_many(g, nthreads * per, operation_type="crash")
        ids = [d.decision_id for d in ds]
        work = [ids[t::nthreads] for t in range(nthreads)]
        acked = {}        # decision id -> (operator, response)
        failed = {}       # decision id -> (code, details)
        lock = threading.Lock()
        go = threading.Event()
        govs = [self.client() for _ in range(nthreads)]
        sids = [govs[t].session("crash%02d" % t) for t in range(nthreads)]

        def approver(t):
            go.wait(30)
            for did in work[t]:
                try:
                    r = govs[t].approve(sids[t], did, request_id="rq-" + did, timeout=10)
                    with lock:
                        acked[did] = ("crash%02d" % t, r)
                except grpc.RpcError as e:
                    with lock:
                        failed[did] = (e.code(), e.details())
                    if e.code() == SC.UNAVAILABLE:
                        # governd is gone: the rest of this thread's work is
                        # never attempted
                        return

        ts = [threading.Thread(target=approver, args=(t,)) for t in range(nthreads)]
        for t in ts:
            t.start()
        go.set()
        wait_for(lambda: len(acked) >= 300, 60 * SLOW, interval=0.001,
                 what="300 acknowledged approvals")
        self.gd.kill9()
        n_acked_at_kill = len(acked)
        for t in ts:
            t.join(30 * SLOW)
        self.assertLess(len(acked), len(ids), "the kill came after every approval: no test")
        for did, (code, det) in failed.items():
            self.assertEqual(code, SC.UNAVAILABLE, "%s: %s %s" % (did, code, det))
        self.assertEqual(integrity_check(self.gd.db), "ok")

        self.gd.restart()
        for c in govs:
            c.close()
        self.clients = []
        self.reconnect()
        g = self.gov
        got = {did: g.get(did) for did in ids}
        approved = {did for did, x in got.items() if x.status == "APPROVED"}
        # every acknowledged approval is there, with its history
        for did, (op, r) in acked.items():
            x = got[did]
            self.assertEqual(x.status, "APPROVED", "acknowledged approval of %s lost" % did)
            self.assertEqual(x.history.reviewed_by, op)
            self.assertEqual(x.history.request_id, "rq-" + did)
            self.assertEqual(x, r.decision)
        # nothing half-written: each decision either untouched or approved
        # completely (an approval committed without its answer may be there)
        for did, x in got.items():
            self.assertIn(x.status, ("PENDING", "APPROVED"), did)
            if x.status == "PENDING":
                self.assertFalse(x.history.outcome)
                self.assertFalse(x.history.reviewed_by)
            else:
                self.assertEqual(x.history.outcome, "APPROVED")
                self.assertRegex(x.history.reviewed_by, r"^crash\d\d$")
                self.assertEqual(x.history.request_id, "rq-" + did)
                self.assertTrue(x.history.HasField("reviewed_at"))
                self.assertEqual(x.history.submitted_at, x.created_at)
        # the store agrees with itself
        m = g.metrics()
        self.assertEqual(m.total_decisions, len(ids))
        self.assertEqual(m.approved_count, len(approved))
        self.assertEqual(m.pending_count, len(ids) - len(approved))
        self.assertEqual(g.list(status="APPROVED").total_count, len(approved))
        self.assertEqual(g.list().total_count, len(ids) - len(approved))
        # the event log too: one NEW per decision, one RESOLVED per approval
        ch = self.gd.channel(options=NO_BDP)
        self.addCleanup(ch.close)
        rd = StreamReader(Gov(ch).stream_decisions(resume_after=1), name="history")
        self.addCleanup(rd.cancel)
        want = len(ids) - 1 + len(approved)
        evs = rd.wait_count(want, 30 * SLOW)
        time.sleep(0.3)
        evs = rd.snapshot()
        self.assertEqual(len(evs), want)
        self.assertEqual([e.sequence for e in evs], list(range(2, 2 + want)))
        self.assertEqual(sorted(e.decision.decision_id for e in evs if e.type == RESOLVED),
                         sorted(approved))
        self.assertEqual(sum(1 for e in evs if e.type == NEW), len(ids) - 1)
        # a retry of an acknowledged approval returns the original answer
        sid = g.session("after-crash")
        for did, (op, r) in list(acked.items())[:200]:
            again = g.approve(sid, did, request_id="rq-" + did)
            self.assertEqual(again.processed_at, r.processed_at, did)
            self.assertEqual(again.decision, r.decision, did)
        # and the ones that never got an answer can be retried to the end
        for did in ids:
            if did not in acked:
                r = g.approve(sid, did, request_id="rq-" + did)
                self.assertTrue(r.success)
        self.assertEqual(g.metrics().approved_count, len(ids))
        self.assertGreaterEqual(n_acked_at_kill, 300)


class Restart(GovdTest):

    def test_restart_keeps_everything(self):
        g = self.gov
        sid = g.session("alice")
        ds = [g.submit(priority=PRIORITIES[i % 4], operation_type="op%d" % (i % 3),
                       key="key-%d" % i).decision for i in range(12)]
        r_app = g.approve(sid, ds[0].decision_id, request_id="rq-a", comment="ok")
        g.reject(sid, ds[1].decision_id, reasoning="no")
        r_esc = g.escalate(sid, ds[2].decision_id, escalation_target="bob", request_id="rq-e")
        exp = g.submit(sla_seconds=1).decision
        wait_for(lambda: g.get(exp.decision_id).status == "EXPIRED", 3 * SLOW, what="expiry")
        ids = [d.decision_id for d in ds] + [exp.decision_id]

        def snapshot():
            lists = {}
            for st in ("", "PENDING", "ESCALATED", "APPROVED", "REJECTED", "EXPIRED"):
                r = g.list(status=st, limit=500)
                lists[st] = ([d.SerializeToString(deterministic=True) for d in r.decisions],
                             r.total_count)
            return ({i: g.get(i) for i in ids}, lists, g.metrics(), g.stats("alice"))

        before = snapshot()
        self.gd.stop()
        self.gd.restart()
        self.reconnect()
        g = self.gov
        after = snapshot()
        self.assertEqual(after[0], before[0], "decisions")
        self.assertEqual(after[1], before[1], "listings")
        self.assertEqual(after[2], before[2], "metrics")
        self.assertEqual(after[3].approved, before[3].approved)
        self.assertEqual(after[3].rejected, before[3].rejected)
        self.assertEqual(after[3].escalated, before[3].escalated)
        self.assertAlmostEqual(after[3].avg_response_time_seconds,
                               before[3].avg_response_time_seconds, delta=0.002)
        # idempotency keys and request ids survive too
        again = g.submit(key="key-3", operation_type="other")
        self.assertFalse(again.created)
        self.assertEqual(again.decision.decision_id, ds[3].decision_id)
        sid2 = g.session("carol")
        again_app = g.approve(sid2, ds[0].decision_id, request_id="rq-a")
        again_esc = g.escalate(sid2, ds[2].decision_id, escalation_target="bob", request_id="rq-e")
        for x, y in ((again_app, r_app), (again_esc, r_esc)):
            self.assertEqual((x.success, x.processed_at, x.decision),
                             (y.success, y.processed_at, y.decision))
        self.assertEqual(g.code("ApproveDecision", session_id=sid2, decision_id=ds[5].decision_id,
                                request_id="rq-a")[0], SC.ALREADY_EXISTS)
        # the first resolution still wins
        code, det = g.code("ApproveDecision", session_id=sid2, decision_id=ds[1].decision_id)
        self.assertEqual(code, SC.FAILED_PRECONDITION)
        self.assertIn("REJECTED", det)
        # the whole response, message included, is the original one
        self.assertEqual(again_app, r_app)
        self.assertEqual(again_esc, r_esc)

    def test_decisions_expire_while_governd_is_down(self):
        g = self.gov
        d = g.submit(sla_seconds=2).decision
        keep = g.submit(sla_seconds=3600).decision
        self.gd.stop()
        exp = ts_float(d.expires_at)
        while time.time() < exp + 0.3:
            time.sleep(0.05)
        self.gd.restart()
        up = time.time()
        self.reconnect()
        g = self.gov
        x = wait_for(lambda: (lambda y: y if y.status == "EXPIRED" else None)(g.get(d.decision_id)),
                     3 * SLOW, interval=0.05, what="EXPIRED after the restart")
        self.assertLessEqual(time.time() - up, 1.0 + 0.5 * SLOW + 0.3)
        self.assertTrue(x.sla_violated)
        self.assertEqual(x.history.reviewed_by, "system")
        self.assertEqual(g.get(keep.decision_id).status, "PENDING")
        sid = g.session("late")
        code, det = g.code("ApproveDecision", session_id=sid, decision_id=d.decision_id)
        self.assertEqual(code, SC.FAILED_PRECONDITION)
        self.assertIn("EXPIRED", det)
        m = g.metrics()
        self.assertEqual((m.expired_count, m.sla_violations, m.pending_count), (1, 1, 1))


SAMPLE_TYPES = {"block_ip", "quarantine_host", "scale_deployment", "rotate_credentials",
                "disable_account"}


def mount_tmpfs(path, size):
    """Mounts a tmpfs of size at path; False when this machine does not let
    us (not root, no mount permission in a container)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs",
                        path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return r.returncode == 0


class DiskFull(unittest.TestCase):
    """The store on a full filesystem: writes fail with RESOURCE_EXHAUSTED
    and a message that says so, reads keep working, governd says so in its
    log, and once space returns writes work again with nothing lost and
    nothing corrupt."""

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="vcli-itest-full-")
        if not mount_tmpfs(self.mnt, "2m"):
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.addCleanup(self._umount)
        self.db = os.path.join(self.mnt, "governd.db")
        self.gd = Governd(name="gov-diskfull", db=self.db, log_level="info")
        self.gd.start()
        self.addCleanup(self.gd.cleanup)
        self.gov = Gov.connect(self.gd)

    def _umount(self):
        subprocess.run(["umount", "-l", self.mnt], check=False)
        shutil.rmtree(self.mnt, True)

    def test_writes_fail_clearly_reads_work_and_space_brings_writes_back(self):
        g = self.gov
        sid = g.session(uniq("op"))
        acked, failure = [], None
        big = {"k%d" % i: "x" * 400 for i in range(4)}
        for _ in range(20000):
            try:
                acked.append(g.submit(operation_type="fill", context=big).decision)
            except grpc.RpcError as e:
                failure = e
                break
        self.assertIsNotNone(failure, "2 MiB filled up")
        self.assertGreater(len(acked), 10)
        self.assertEqual(failure.code(), SC.RESOURCE_EXHAUSTED, failure.details())
        self.assertIn("disk is full", failure.details())
        # still full: the next writes fail the same way
        for _ in range(3):
            with self.assertRaises(grpc.RpcError) as cm:
                g.submit(operation_type="fill", context=big)
            self.assertEqual(cm.exception.code(), SC.RESOURCE_EXHAUSTED)
        # reads keep working, and show exactly what was acknowledged
        m = g.metrics()
        self.assertEqual(m.total_decisions, len(acked))
        self.assertEqual(m.pending_count, len(acked))
        self.assertEqual(g.get(acked[0].decision_id).status, "PENDING")
        self.assertEqual(g.list(limit=5).total_count, len(acked))
        self.assertEqual(g.code("HealthCheck")[0], SC.OK)
        # governd says so in its log
        rec = self.gd.wait_log(r'msg="store write failed".*code="disk full"', timeout=5)
        self.assertIsNotNone(rec)
        # space returns: writes work again
        subprocess.run(["mount", "-o", "remount,size=64m", self.mnt], check=True)
        after = g.submit(operation_type="after").decision
        g.approve(sid, acked[0].decision_id)
        self.assertEqual(g.get(acked[0].decision_id).status, "APPROVED")
        # a restart finds everything acknowledged, and a sound database
        g.close()
        self.gd.stop()
        self.assertEqual(integrity_check(self.db), "ok")
        self.gd.restart()
        self.gov = g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        for d in acked[1:] + [after]:
            self.assertEqual(g.get(d.decision_id).status, "PENDING")
        self.assertEqual(g.get(acked[0].decision_id).status, "APPROVED")
        self.assertEqual(g.metrics().total_decisions, len(acked) + 1)
        self.gd.stop()


FAILSYNC = os.environ.get("FAILSYNC", "")


def http_get(addr, path):
    """(status, body) of one GET on the metrics listener."""
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5 * SLOW)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


class FailsyncGovernd(Governd):
    """governd with tests/tools/failsync.c preloaded while self.failsync:
    every fsync/fdatasync fails with EIO while the trigger file exists."""

    def __init__(self, trigger, suffix="", **kw):
        super().__init__(**kw)
        self.trigger = trigger
        self.suffix = suffix
        self.failsync = True

    def environment(self):
        e = super().environment()
        if self.failsync:
            e["LD_PRELOAD"] = FAILSYNC
            e["FAILSYNC_TRIGGER"] = self.trigger
            if self.suffix:
                e["FAILSYNC_SUFFIX"] = self.suffix
            # the sanitizer build: the shim comes before ASan's runtime
            e["ASAN_OPTIONS"] = ":".join(
                x for x in (e.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0") if x)
        return e


class FailsyncCase(unittest.TestCase):
    """governd under tests/tools/failsync.c: the syncs of the files whose
    path ends with SUFFIX (all of them when empty) fail while
    self.trigger exists."""
    NAME = "gov-syncfail"
    SUFFIX = ""

    def setUp(self):
        if not FAILSYNC or not os.path.exists(FAILSYNC):
            self.skipTest("FAILSYNC (tests/tools/failsync.c) not built")
        self.tmp = tempfile.mkdtemp(prefix="vcli-itest-failsync-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.trigger = os.path.join(self.tmp, "fail-syncs")
        # Not under valgrind: the preloaded shim is the point here.
        self.gd = FailsyncGovernd(self.trigger, suffix=self.SUFFIX, name=self.NAME, db=True,
                                  log_level="info", use_wrapper=False)
        self.gd.start()
        self.addCleanup(self.gd.cleanup)
        self.gov = Gov.connect(self.gd)

    def restart_on_a_healthy_disk(self):
        """Stops governd, checks the files, restarts it without the shim;
        returns a new client."""
        self.gov.close()
        self.gd.stop()
        self.assertEqual(integrity_check(self.gd.db), "ok")
        self.gd.failsync = False
        self.gd.restart()
        self.gov = Gov.connect(self.gd)
        self.addCleanup(self.gov.close)
        return self.gov


class SyncFailure(FailsyncCase):
    """The disk fails a sync of the store's log (EIO from fdatasync): the
    writes of that commit are not acknowledged, every later write fails
    with a message that says to restart, reads keep working, /readyz and
    governd_ready say not ready, governd logs it, and a restart finds
    every acknowledged write (docs/store.md, durability)."""

    def test_a_failed_sync_stops_writes_and_loses_no_acknowledged_one(self):
        g = self.gov
        sid = g.session(uniq("op"))
        ds = submit_many(g, 12)
        for d in ds[:4]:
            g.approve(sid, d.decision_id)
        self.assertEqual(http_get(self.gd.metrics_addr, "/readyz")[0], 200)

        open(self.trigger, "w").close()
        code, details = g.code("ApproveDecision", session_id=sid,
                               decision_id=ds[4].decision_id, request_id="rid-unknown")
        self.assertEqual(code, SC.UNAVAILABLE, details)
        # The disk answers again, but what the log holds after a failed
        # sync is unknown: the store stays stopped until a restart.
        os.unlink(self.trigger)
        for call in (lambda: g.approve(sid, ds[5].decision_id),
                     lambda: g.submit(operation_type="after_failure"),
                     lambda: g.session(uniq("op2"))):
            with self.assertRaises(grpc.RpcError) as cm:
                call()
            self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)
            self.assertIn("syncing its log failed", cm.exception.details())
            self.assertIn("restart governd", cm.exception.details())
        # reads keep working and show only what was acknowledged
        for d in ds[:4]:
            self.assertEqual(g.get(d.decision_id).status, "APPROVED")
        for d in ds[4:]:
            self.assertEqual(g.get(d.decision_id).status, "PENDING")
        m = g.metrics()
        self.assertEqual((m.total_decisions, m.approved_count, m.pending_count), (12, 4, 8))
        self.assertEqual(g.code("HealthCheck")[0], SC.OK)
        # not ready, with the reason; the gauge; the log
        status, body = http_get(self.gd.metrics_addr, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("sync of its log failed", body)
        self.assertRegex(http_get(self.gd.metrics_addr, "/metrics")[1],
                         r"(?m)^governd_ready 0$")
        self.assertIsNotNone(self.gd.wait_log(r'msg="store write failed"', timeout=5))

        # A restart (the disk is fine again) finds every acknowledged
        # approval; the one whose sync failed was never acknowledged: it
        # may or may not have reached the log, and its retry with the same
        # request id settles it either way.
        g = self.restart_on_a_healthy_disk()
        for d in ds[:4]:
            self.assertEqual(g.get(d.decision_id).status, "APPROVED")
        self.assertIn(g.get(ds[4].decision_id).status, ("PENDING", "APPROVED"))
        for d in ds[5:]:
            self.assertEqual(g.get(d.decision_id).status, "PENDING")
        sid = g.session(uniq("op3"))
        g.approve(sid, ds[4].decision_id, request_id="rid-unknown")
        self.assertEqual(g.get(ds[4].decision_id).status, "APPROVED")
        g.approve(sid, ds[5].decision_id)
        self.assertEqual(g.metrics().approved_count, 6)
        self.assertEqual(http_get(self.gd.metrics_addr, "/readyz")[0], 200)
        self.gd.stop()


class DatabaseSyncFailure(FailsyncCase):
    """The disk fails the checkpoint thread's sync of the database file
    (EIO from fdatasync on it, the log's syncs still succeed): what the
    file holds of the copied pages is unknown, so writes stop with a
    message that says to restart, before any checkpoint could let the log
    start over; nothing acknowledged is lost (docs/store.md, checkpoints)."""
    NAME = "gov-dbsyncfail"
    SUFFIX = "/governd.db"

    def test_a_failed_database_sync_stops_writes_and_loses_nothing(self):
        self.assertTrue(self.gd.db.endswith(self.SUFFIX))
        g = self.gov
        sid = g.session(uniq("op"))
        small = submit_many(g, 4)
        for d in small[:2]:
            g.approve(sid, d.decision_id)
        open(self.trigger, "w").close()
        # Large proposals (64 KiB of context each, stored twice: the row
        # and its event) fill the 32 MiB log that starts a checkpoint
        # round in ~260 writes; the thread's sync of the database file at
        # the end of the round fails, and the next write meets it.
        big = {"k%02d" % i: ("%02d" % i) * 2000 for i in range(16)}
        acked, err = [], None
        deadline = time.monotonic() + 120
        while err is None and len(acked) < 3000 and time.monotonic() < deadline:
            try:
                acked.append(g.submit(operation_type="bulk_import", context=big).decision)
            except grpc.RpcError as e:
                err = e
        self.assertIsNotNone(err, "no write failed after %d large ones" % len(acked))
        self.assertGreater(len(acked), 100)
        self.assertEqual(err.code(), SC.UNAVAILABLE, err.details())
        self.assertIn("syncing its database file failed", err.details())
        self.assertIn("restart governd", err.details())
        for call in (lambda: g.approve(sid, small[2].decision_id),
                     lambda: g.submit(operation_type="after_failure")):
            with self.assertRaises(grpc.RpcError) as cm:
                call()
            self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)
            self.assertIn("syncing its database file failed", cm.exception.details())
        # reads keep working; not ready, with the reason
        self.assertEqual(g.get(small[0].decision_id).status, "APPROVED")
        self.assertEqual(g.get(acked[-1].decision_id).status, "PENDING")
        self.assertEqual(g.metrics().total_decisions, 4 + len(acked))
        status, body = http_get(self.gd.metrics_addr, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("sync of its database file failed", body)
        self.assertRegex(http_get(self.gd.metrics_addr, "/metrics")[1],
                         r"(?m)^governd_ready 0$")

        # The log still holds every acknowledged write: a restart on a
        # healthy disk finds them all.
        g = self.restart_on_a_healthy_disk()
        for d in small[:2]:
            self.assertEqual(g.get(d.decision_id).status, "APPROVED")
        for d in acked[::25] + acked[-3:]:
            got = g.get(d.decision_id)
            self.assertEqual((got.status, got.context["k15"]), ("PENDING", "15" * 2000))
        m = g.metrics()
        self.assertEqual((m.total_decisions, m.approved_count), (4 + len(acked), 2))
        g.approve(g.session(uniq("op2")), small[2].decision_id)
        self.assertEqual(http_get(self.gd.metrics_addr, "/readyz")[0], 200)
        self.gd.stop()


class Demo(GovdTest):
    DEMO = True

    def all_decisions(self):
        out = []
        for st in ("PENDING", "ESCALATED", "APPROVED", "REJECTED", "EXPIRED"):
            out.extend(self.gov.list_all(status=st)[0])
        return out

    def test_demo_fills_realistic_data(self):
        ds = self.all_decisions()
        m = self.gov.metrics()
        self.assertEqual(len(ds), m.total_decisions)
        self.assertGreaterEqual(len(ds), 30, "about 40 sample decisions")
        self.assertLessEqual(len(ds), 100)
        types = {d.operation_type for d in ds}
        self.assertGreaterEqual(len(types), 5, types)
        self.assertGreaterEqual(len(types & SAMPLE_TYPES), 3, types)
        open_ = [d for d in ds if d.status in OPEN_STATUSES]
        self.assertGreaterEqual(len(open_), 10, "a queue to work on")
        self.assertGreaterEqual(len({d.priority for d in open_}), 3)
        self.assertEqual({d.priority for d in ds} - set(PRIORITIES), set())
        self.assertGreater(sum(1 for d in ds if d.risk_assessment.factors), len(ds) // 2)
        self.assertGreater(sum(1 for d in ds if d.ethical_assessment.principles), len(ds) // 2)
        self.assertGreater(sum(1 for d in ds if d.recommended_actions), len(ds) // 2)
        self.assertGreater(sum(1 for d in ds if d.context), len(ds) // 2)
        self.assertGreater(len({round(d.risk_assessment.score, 2) for d in ds}), 5)
        for d in ds:
            self.assertRegex(d.decision_id, r"^d-[0-9a-f]{32}$")
            self.assertRegex(d.operation_type, r"^[a-z0-9_.-]{1,64}$")
            self.assertTrue(0.0 <= d.risk_assessment.score <= 1.0)
            if d.status in ("APPROVED", "REJECTED", "EXPIRED"):
                self.assertEqual(d.history.outcome, d.status)
                self.assertTrue(d.history.reviewed_by)
        # each sample passes SubmitDecision's own validation
        for d in ds[:50]:
            p = pb.Decision()
            p.CopyFrom(d)
            for f in ("decision_id", "status", "created_at", "expires_at", "history",
                      "escalated_to", "escalation_reason", "escalated_at", "escalated_by",
                      "updated_at", "sla_violated", "idempotency_key"):
                p.ClearField(f)
            p.sla_seconds = max(1, min(p.sla_seconds, 604800))
            code, det = self.gov.code("SubmitDecision", decision=p)
            self.assertEqual(code, SC.OK, "demo decision %s does not validate: %s"
                             % (d.decision_id, det))
        # metrics agree with the sample
        self.assertEqual(m.pending_count, len(open_))
        self.assertEqual(m.critical_count,
                         sum(1 for d in open_ if d.priority == "CRITICAL"))

    def test_demo_only_fills_an_empty_store(self):
        n = self.gov.metrics().total_decisions
        self.gd.stop()
        self.gd.restart()
        self.reconnect()
        self.assertEqual(self.gov.metrics().total_decisions, n, "--demo on a filled store")

    def test_demo_leaves_a_store_with_data_alone(self):
        gd = Governd(name="gov-demo-nonempty", db=True)
        gd.start()
        self.addCleanup(gd.cleanup)
        g = Gov.connect(gd)
        g.submit(operation_type="mine")
        g.close()
        gd.stop()
        gd.demo = True
        gd.restart()
        g = Gov.connect(gd)
        self.addCleanup(g.close)
        self.assertEqual(g.metrics().total_decisions, 1)
        gd.stop()


if __name__ == "__main__":
    run_main()
