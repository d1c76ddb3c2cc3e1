#!/usr/bin/env python3
"""Chaos scenarios of the validation matrix, for real: faults injected by
tests/tools/chaosproxy (docs/chaosproxy.md) between clients and the real
governd, and signals sent to governd itself.  Each scenario asserts explicit
outcomes; the earlier system's "latency" was a short deadline and 7 of its
10 chaos scenarios never ran.

Clients: python3-grpcio (an independent gRPC implementation) and vcli (our
client library).  Time bounds are tight from below and loose from above:
a slow machine may make a call slower, never faster than the fault allows.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from chaos import ProxiedGoverndCase  # noqa: E402
from harness import (  # noqa: E402
    SLOW, VCLI, Gov, governance_pb2, Governd, run_main, uniq, wait_for)

SC = grpc.StatusCode
pb = governance_pb2


def timed(fn, *a, **kw):
    """(result or RpcError, seconds)"""
    t0 = time.monotonic()
    try:
        r = fn(*a, **kw)
    except grpc.RpcError as e:
        r = e
    return r, time.monotonic() - t0


def exact(g, method, timeout, **fields):
    """A call with exactly this deadline (Gov.call scales by SLOW)."""
    return g.stub(method)(g.request(method, **fields), timeout=timeout)


def stopped(pid, tid):
    with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def vcli_env(addr, tmp):
    e = dict(os.environ)
    e.update({"VCLI_GOVERNANCE_ENDPOINT": addr, "XDG_CONFIG_HOME": tmp,
              "XDG_STATE_HOME": tmp, "NO_COLOR": "1"})
    return e


class ChaosCase(ProxiedGoverndCase):
    """One governd (with a store) behind one proxy for the class."""
    GOVERND_NAME = "chaos"

    def proxied(self, **kw):
        """A grpcio client through the proxy, connected (before any toxic)."""
        ch = grpc.insecure_channel(self.cp.addr, options=[("grpc.http2.bdp_probe", 0)])
        grpc.channel_ready_future(ch).result(timeout=10 * SLOW)
        self.addCleanup(ch.close)
        return Gov(ch, **kw)

    def direct(self):
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        return g

    def vcli(self, *args, timeout=60):
        return subprocess.run([VCLI] + list(args), env=vcli_env(self.cp.addr, self.tmp),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout * SLOW, check=False)


class Latency(ChaosCase):

    def test_added_latency_with_mixed_deadlines(self):
        """100 ms - 2 s added on the way back: calls whose deadline covers
        it succeed (and take at least that long); the others fail with
        DEADLINE_EXCEEDED at their deadline, not later; nothing hangs."""
        g = self.proxied()
        for lat in (100, 500, 2000):
            with self.subTest(latency_ms=lat):
                with self.cp.toxic("lat", "latency", "downstream", latency=lat):
                    r, took = timed(g.call, "HealthCheck", timeout=lat / 1000 + 1.0 * SLOW)
                    self.assertNotIsInstance(r, grpc.RpcError, r)
                    self.assertGreaterEqual(took, lat / 1000 * 0.95)
                    short = lat / 2000
                    r, took = timed(exact, g, "HealthCheck", short)
                    self.assertIsInstance(r, grpc.RpcError)
                    self.assertEqual(r.code(), SC.DEADLINE_EXCEEDED)
                    self.assertLess(took, short + 0.5 * SLOW, "failed at its deadline")
                # the channel is fine once the latency is gone
                r, took = timed(g.call, "HealthCheck", timeout=2 * SLOW)
                self.assertNotIsInstance(r, grpc.RpcError, r)

    def test_vcli_deadlines_under_latency(self):
        with self.cp.toxic("lat", "latency", "downstream", latency=800):
            t0 = time.monotonic()
            r = self.vcli("--timeout", "200ms", "gov", "metrics")
            took = time.monotonic() - t0
            self.assertEqual(r.returncode, 4, r.stderr)   # deadline exceeded
            self.assertIn("200ms", r.stderr.decode())
            self.assertLess(took, 0.2 + 1.0 * SLOW)
            r = self.vcli("--timeout", "5s", "gov", "metrics", "-o", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("totalDecisions", r.stdout.decode())

    def test_timeout_recovery_all_six(self):
        """A slowed server (300 ms each way), a sequence of short and long
        deadlines on one connection: every short one times out, and the
        call after each timeout works -- six of six (the earlier system
        managed five)."""
        g = self.proxied()
        recovered = 0
        with self.cp.toxic("slow", "latency", "downstream", latency=300):
            for short in (0.05, 0.1, 0.15, 0.2, 0.1, 0.05):
                r, _ = timed(exact, g, "GetMetrics", short)
                self.assertIsInstance(r, grpc.RpcError)
                self.assertEqual(r.code(), SC.DEADLINE_EXCEEDED)
                r, took = timed(g.call, "GetMetrics", timeout=3 * SLOW)
                if not isinstance(r, grpc.RpcError):
                    recovered += 1
                    self.assertGreaterEqual(took, 0.29)
        self.assertEqual(recovered, 6)


class Isolation(ChaosCase):

    def test_twenty_workers_half_failing(self):
        """20 workers; the 10 behind a proxy that holds everything fail
        (DEADLINE_EXCEEDED), the 10 talking to governd directly are
        unaffected: every call succeeds, quickly."""
        bad = [self.proxied(timeout=0.3) for _ in range(10)]
        good = [self.direct() for _ in range(10)]
        # attached to the open connections too: nothing comes back on them
        self.cp.add("hold", "timeout", "downstream", timeout=0)
        results = {"bad": [], "good": []}
        lock = threading.Lock()

        def work(kind, g):
            for _ in range(15):
                r, took = timed(exact, g, "GetMetrics", 0.3 if kind == "bad" else 5.0 * SLOW)
                with lock:
                    results[kind].append((r, took))

        ts = [threading.Thread(target=work, args=("bad", g)) for g in bad] + \
             [threading.Thread(target=work, args=("good", g)) for g in good]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(len(results["bad"]), 150)
        self.assertEqual(len(results["good"]), 150)
        codes = {r.code() if isinstance(r, grpc.RpcError) else SC.OK for r, _ in results["bad"]}
        self.assertEqual(codes, {SC.DEADLINE_EXCEEDED})
        errs = [r for r, _ in results["good"] if isinstance(r, grpc.RpcError)]
        self.assertEqual(errs, [])
        lat = sorted(t for _, t in results["good"])
        self.assertLess(lat[len(lat) * 99 // 100], 0.25 * SLOW, "healthy calls stayed fast")


class Network(ChaosCase):

    def test_bandwidth_starvation(self):
        """5 KB/s back to the client: a 40-decision listing (~10 KB) takes
        seconds and succeeds with a deadline that covers it, fails cleanly
        with one that does not; governd serves a direct client meanwhile."""
        g = self.proxied()
        d = self.direct()
        want = d.list(limit=100)
        size = len(want.SerializeToString())
        self.assertGreater(size, 6000)
        with self.cp.toxic("thin", "bandwidth", "downstream", rate=5):
            r, took = timed(exact, g, "ListPendingDecisions", 0.5, limit=100)
            self.assertIsInstance(r, grpc.RpcError)
            self.assertEqual(r.code(), SC.DEADLINE_EXCEEDED)
            box = {}
            t = threading.Thread(target=lambda: box.update(
                r=timed(g.call, "ListPendingDecisions", timeout=60, limit=100)))
            t.start()
            # meanwhile, direct calls are unaffected
            for _ in range(20):
                _, took_d = timed(d.metrics)
                self.assertLess(took_d, 0.5 * SLOW)
            t.join(90)
            r, took = box["r"]
            self.assertNotIsInstance(r, grpc.RpcError, r)
            self.assertEqual(r, want)
            self.assertGreaterEqual(took, size / (5 * 1024) * 0.8)

    def test_sliced_and_partial_writes(self):
        """Every chunk cut into 2-12 byte pieces written separately, both
        ways: unary calls with large bodies and a stream still work, byte
        for byte."""
        g = self.proxied(timeout=30 * SLOW)
        self.cp.add("up", "slicer", "upstream", average_size=7, size_variation=5, delay=50)
        self.cp.add("down", "slicer", "downstream", average_size=7, size_variation=5, delay=50)
        ctx = {"k%02d" % i: "v" * 100 for i in range(20)}
        sid = g.session(uniq("slicer"))
        made = g.submit(operation_type="sliced", context=ctx).decision
        self.assertEqual(dict(made.context), ctx)
        got = g.get(made.decision_id)
        self.assertEqual(got, made)
        g.approve(sid, made.decision_id, request_id=uniq("r"))
        self.assertEqual(g.get(made.decision_id).status, "APPROVED")
        stream = g.stream_decisions(resume_after=max(1, g.metrics().last_sequence - 3),
                                    timeout=30 * SLOW)
        evs = [next(stream) for _ in range(3)]
        stream.cancel()
        seqs = [e.sequence for e in evs]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 3)))

    def test_connection_reset_mid_stream_watch_resumes(self):
        """vcli gov watch through the proxy; the connection is reset (RST)
        in the middle of the stream; changes are made while it reconnects;
        it prints every event once, in order."""
        d = self.direct()
        p = subprocess.Popen([VCLI, "gov", "watch", "-o", "json"],
                             env=vcli_env(self.cp.addr, self.tmp), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = []
        threading.Thread(target=lambda: [lines.append(json.loads(x)) for x in p.stdout],
                         daemon=True).start()
        # subscribed: connected through the proxy, its starting point read
        wait_for(lambda: self.cp.stats()["open"] >= 1, 10 * SLOW, interval=0.05,
                 what="vcli to connect")
        time.sleep(0.5)
        before = [d.submit(operation_type="reset-before").decision for _ in range(3)]
        wait_for(lambda: len(lines) >= 3, 10 * SLOW, interval=0.05, what="3 events")
        self.cp.add("rst", "reset_peer", "downstream", timeout=0)
        wait_for(lambda: self.cp.stats()["open"] == 0 or p.poll() is not None, 5 * SLOW,
                 interval=0.05, what="the connection to be reset")
        during = [d.submit(operation_type="reset-during").decision for _ in range(3)]
        self.cp.remove("rst")
        after = [d.submit(operation_type="reset-after").decision for _ in range(2)]
        wait_for(lambda: len(lines) >= 8, 20 * SLOW, interval=0.05, what="8 events")
        time.sleep(0.3)
        ids = [e["decision"]["decisionId"] for e in lines]
        self.assertEqual(ids, [x.decision_id for x in before + during + after])
        seqs = [int(e["sequence"]) for e in lines]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        self.assertIsNone(p.poll(), "watch keeps running")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10 * SLOW), 0)
        self.assertIn("reconnecting", p.stderr.read())


class Signals(unittest.TestCase):
    """Signals to governd itself (its own instance per test)."""

    def setUp(self):
        self.gd = Governd(name="chaos-signals", db=True, log_level="info")
        self.gd.start()
        self.addCleanup(self.gd.cleanup)

    def tearDown(self):
        if self.gd.running():
            os.kill(self.gd.proc.pid, signal.SIGCONT)
            self.gd.stop()

    def test_sigstop_freeze_then_sigcont(self):
        """governd frozen: every call fails at its deadline (nothing
        hangs, a stream reader is not stuck forever); after SIGCONT the same
        channel works again."""
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        g.metrics()
        pid = self.gd.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            # the signal is asynchronous: wait until every thread is stopped
            wait_for(lambda: all(stopped(pid, t) for t in os.listdir("/proc/%d/task" % pid)),
                     5 * SLOW, interval=0.01, what="governd to stop")
            for _ in range(3):
                r, took = timed(exact, g, "GetMetrics", 0.3)
                self.assertIsInstance(r, grpc.RpcError)
                self.assertEqual(r.code(), SC.DEADLINE_EXCEEDED)
                self.assertLess(took, 0.3 + 1.0 * SLOW)
            stream = g.stream_decisions(timeout=0.5)
            r, took = timed(lambda: next(stream))
            self.assertIsInstance(r, grpc.RpcError)
            self.assertEqual(r.code(), SC.DEADLINE_EXCEEDED)
            # vcli too
            t0 = time.monotonic()
            v = subprocess.run([VCLI, "--timeout", "300ms", "health"],
                               env=vcli_env(self.gd.addr, self.gd.state_dir),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(v.returncode, 4, v.stderr)
            self.assertLess(time.monotonic() - t0, 0.3 + 2.0 * SLOW)
        finally:
            os.kill(self.gd.proc.pid, signal.SIGCONT)
        r, took = timed(g.call, "GetMetrics", timeout=5 * SLOW)
        self.assertNotIsInstance(r, grpc.RpcError, r)

    def test_sigkill_under_load_clients_carry_on(self):
        """8 producers submit with idempotency keys, retrying UNAVAILABLE
        with the same key; governd is killed with SIGKILL in the middle and
        restarted.  Every submission ends acknowledged, exactly once: the
        store holds each key once, and nothing acknowledged was lost."""
        keys = [uniq("k") for _ in range(400)]
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()

        def producer(chunk):
            ch = grpc.insecure_channel(self.gd.addr)
            g = Gov(ch, timeout=2.0)
            try:
                for k in chunk:
                    end = time.monotonic() + 60 * SLOW
                    while time.monotonic() < end and not stop.is_set():
                        try:
                            d = g.submit(key=k, operation_type="kill9").decision
                            with lock:
                                acked[k] = d.decision_id
                            break
                        except grpc.RpcError as e:
                            if e.code() not in (SC.UNAVAILABLE, SC.DEADLINE_EXCEEDED):
                                raise
                            time.sleep(0.05)
            finally:
                ch.close()

        ts = [threading.Thread(target=producer, args=(keys[i::8],)) for i in range(8)]
        for t in ts:
            t.start()
        wait_for(lambda: len(acked) >= 100, 30 * SLOW, interval=0.01, what="100 acks")
        with lock:
            before_kill = dict(acked)
        self.gd.kill9()
        time.sleep(0.3)
        self.gd.restart()
        for t in ts:
            t.join(120 * SLOW)
        stop.set()
        self.assertEqual(len(acked), len(keys), "every producer carried on to the end")
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        # acknowledged before the kill: still there, same id
        for k, did in before_kill.items():
            self.assertEqual(g.get(did).idempotency_key, k)
        # each key once: the store's total is exactly the number of keys
        self.assertEqual(g.metrics().total_decisions, len(keys))
        for k, did in acked.items():
            self.assertEqual(g.submit(key=k, operation_type="kill9").decision.decision_id, did)


if __name__ == "__main__":
    run_main()
