#!/usr/bin/env python3
"""governd's metrics listener (docs/metrics.md) with the real tools:

- the exposition parsed by prometheus_client's parser (python3-prometheus-
  client, an independent implementation of the format) and checked by
  `promtool check metrics`;
- exact counts after a known number of calls of each kind (gRPC server
  metrics under go-grpc-prometheus' names, governance figures against what
  the store answers over gRPC, process figures against /proc);
- a real Prometheus server (Debian's prometheus) started on loopback with a
  1 s scrape interval scrapes governd, and PromQL queries over its HTTP API
  return the counts;
- HTTP behaviour: status codes, HEAD, keep-alive and pipelining, malformed
  and oversized requests, the connection cap, a slow client that never
  finishes its request while gRPC calls go on at full speed;
- /readyz turning 503 during a graceful shutdown held open by a call in
  flight, while /metrics still answers.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

import harness
from harness import (SLOW, Gov, Governd, GoverndCase, StreamReader, free_port,  # noqa: F401
                     grpc, proposal, run_main, run_tool, wait_for)
import h2raw

from prometheus_client.parser import text_string_to_metric_families

GOV_SVC = "vertice.governance.v1.GovernanceService"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def http_get(addr, path, method="GET", timeout=5.0):
    """(status, headers dict (lower-case names), body text) of one request
    on a fresh connection."""
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=timeout * SLOW)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


def scrape(gd):
    status, headers, body = http_get(gd.metrics_addr, "/metrics")
    if status != 200:
        raise AssertionError("GET /metrics: %d %s" % (status, body))
    return body


class Samples:
    """The samples of one exposition, parsed by prometheus_client."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = []
        for fam in text_string_to_metric_families(text):
            self.families[fam.name] = fam
            self.samples.extend(fam.samples)

    def get(self, name, **labels):
        """The value of the one sample of name whose labels include these;
        0 when there is none."""
        found = [s.value for s in self.samples
                 if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) > 1:
            raise AssertionError("%d samples of %s%r" % (len(found), name, labels))
        return found[0] if found else 0.0

    def sum(self, name, **labels):
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def grpc_value(s, name, method, service=GOV_SVC, **labels):
    return s.get(name, grpc_service=service, grpc_method=method, **labels)


class Exposition(GoverndCase):
    """What /metrics says after known calls."""

    NAME = "governd-metrics"
    GOVERND_KWARGS = {"db": True}

    def setUp(self):
        self.gov = Gov.connect(self.gd)

    def tearDown(self):
        self.gov.close()

    def test_01_listener_is_logged(self):
        self.assertTrue(self.gd.metrics_addr, "no 'metrics listening' log line")
        self.assertTrue(self.gd.metrics_addr.startswith("127.0.0.1:"))

    def test_promtool_check_metrics(self):
        self.gov.submit()
        self.gov.code("GetDecision", decision_id="dec-nope")
        text = scrape(self.gd)
        r = run_tool([PROMTOOL, "check", "metrics"], input=text, timeout=30)
        self.assertEqual(r.returncode, 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr))
        self.assertEqual((r.stdout + r.stderr).strip(), "", "promtool has remarks")

    def test_families_have_help_and_type(self):
        text = scrape(self.gd)
        names = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
        helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
        types = dict(names)
        self.assertEqual(len(types), len(names), "a family is declared twice")
        for n, t in names:
            self.assertIn(n, helps)
            if t == "counter":
                self.assertTrue(n.endswith("_total"), n)
        for n in ("grpc_server_started_total", "grpc_server_handled_total",
                  "grpc_server_msg_received_total", "grpc_server_msg_sent_total",
                  "process_resident_memory_bytes", "process_virtual_memory_bytes",
                  "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                  "process_start_time_seconds", "governd_pending_decisions",
                  "governd_decisions_resolved_total", "governd_sla_violations_total",
                  "governd_open_sessions", "governd_stream_subscribers"):
            self.assertIn(n, types)
        self.assertEqual(types["grpc_server_handling_seconds"], "histogram")
        self.assertEqual(types["governd_review_latency_seconds"], "histogram")
        self.assertEqual(types["governd_store_commit_duration_seconds"], "histogram")
        self.assertEqual(types["governd_store_batch_operations"], "histogram")

    def test_grpc_counts_are_exact(self):
        n = 7
        before = Samples(scrape(self.gd))
        for _ in range(n):
            self.gov.submit()
        for _ in range(3):
            code, _ = self.gov.code("GetDecision", decision_id="dec-unknown")
            self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        # An unknown method is not counted anywhere (as go-grpc-prometheus
        # never sees it).
        self.assertEqual(harness.rpc_code(self.gov.ch.unary_unary(
            "/" + GOV_SVC + "/NoSuchMethod"), b"", timeout=5), grpc.StatusCode.UNIMPLEMENTED)
        after = Samples(scrape(self.gd))

        def d(name, method, **kw):
            return grpc_value(after, name, method, **kw) - grpc_value(before, name, method, **kw)

        self.assertEqual(d("grpc_server_started_total", "SubmitDecision", grpc_type="unary"), n)
        self.assertEqual(d("grpc_server_handled_total", "SubmitDecision", grpc_code="OK"), n)
        self.assertEqual(d("grpc_server_msg_received_total", "SubmitDecision"), n)
        self.assertEqual(d("grpc_server_msg_sent_total", "SubmitDecision"), n)
        self.assertEqual(d("grpc_server_handling_seconds_count", "SubmitDecision"), n)
        self.assertEqual(d("grpc_server_handling_seconds_bucket", "SubmitDecision",
                           le="+Inf"), n)
        self.assertGreater(d("grpc_server_handling_seconds_sum", "SubmitDecision"), 0)
        self.assertEqual(d("grpc_server_handled_total", "GetDecision", grpc_code="NotFound"), 3)
        self.assertEqual(d("grpc_server_msg_sent_total", "GetDecision"), 0)
        self.assertEqual(d("grpc_server_started_total", "GetDecision"), 3)
        self.assertEqual(after.sum("grpc_server_started_total", grpc_method="NoSuchMethod"), 0)
        # Every method of both services is there from the start, at 0 if
        # never called, with every code (so rate() sees the first call).
        self.assertEqual(len([s for s in after.samples if s.name == "grpc_server_handled_total"
                              and s.labels["grpc_method"] == "ApproveDecision"]), 17)
        self.assertIn("Watch", {s.labels["grpc_method"] for s in after.samples
                                if s.name == "grpc_server_started_total"
                                and s.labels["grpc_service"] == "grpc.health.v1.Health"})
        # Buckets are cumulative and end at the count.
        b = [(float(s.labels["le"]), s.value) for s in after.samples
             if s.name == "grpc_server_handling_seconds_bucket"
             and s.labels["grpc_method"] == "SubmitDecision"]
        self.assertEqual([x[0] for x in b], sorted(x[0] for x in b))
        self.assertEqual([x[1] for x in b], sorted(x[1] for x in b))
        self.assertEqual([x[0] for x in b][:11],
                         [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10])

    def test_server_stream_counts(self):
        before = Samples(scrape(self.gd))
        stream = StreamReader(self.gov.stream_decisions(), "decisions")
        wait_for(lambda: Samples(scrape(self.gd)).get("governd_stream_subscribers",
                                                      stream="decisions") >= 1,
                 10 * SLOW, what="a decisions subscriber")
        for _ in range(3):
            self.gov.submit()
        stream.wait_count(3, 10 * SLOW)
        stream.cancel()
        wait_for(lambda: grpc_value(Samples(scrape(self.gd)), "grpc_server_handled_total",
                                    "StreamDecisions", grpc_code="Canceled")
                 > grpc_value(before, "grpc_server_handled_total", "StreamDecisions",
                              grpc_code="Canceled"),
                 10 * SLOW, what="the cancelled stream counted")
        after = Samples(scrape(self.gd))
        self.assertEqual(grpc_value(after, "grpc_server_started_total", "StreamDecisions",
                                    grpc_type="server_stream")
                         - grpc_value(before, "grpc_server_started_total", "StreamDecisions"), 1)
        self.assertEqual(grpc_value(after, "grpc_server_msg_sent_total", "StreamDecisions")
                         - grpc_value(before, "grpc_server_msg_sent_total", "StreamDecisions"),
                         len(stream.snapshot()))
        self.assertEqual(after.get("governd_stream_subscribers", stream="decisions"), 0)

    def test_governance_figures_match_the_store(self):
        g = self.gov
        ids = {}
        for p in ("CRITICAL", "HIGH", "HIGH", "LOW"):
            ids.setdefault(p, []).append(g.submit(priority=p).decision.decision_id)
        before = Samples(scrape(self.gd))
        sid = g.session("ana")
        self.assertEqual(Samples(scrape(self.gd)).get("governd_open_sessions"),
                         before.get("governd_open_sessions") + 1)
        g.approve(sid, ids["HIGH"][0], comment="ok")
        g.reject(sid, ids["LOW"][0], comment="no", reasoning="not needed")
        g.escalate(sid, ids["CRITICAL"][0], reason="needs a lead", escalation_target="lead")
        g.close_session(sid)
        s = Samples(scrape(self.gd))
        # Pending by priority: what ListPendingDecisions counts.
        decisions, _, _ = g.list_all()
        for p in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
            self.assertEqual(s.get("governd_pending_decisions", priority=p.lower()),
                             len([x for x in decisions if x.priority == p]), p)
        self.assertEqual(s.get("governd_escalated_decisions", priority="critical"),
                         len([x for x in decisions if x.status == "ESCALATED"
                              and x.priority == "CRITICAL"]))
        m = g.metrics()
        self.assertEqual(s.sum("governd_pending_decisions"), m.pending_count)
        self.assertEqual(s.sum("governd_decisions_resolved_total", outcome="approved"),
                         m.approved_count)
        self.assertEqual(s.sum("governd_decisions_resolved_total", outcome="rejected"),
                         m.rejected_count)
        self.assertEqual(s.sum("governd_sla_violations_total"), m.sla_violations)

        def delta(name, **kw):
            return s.get(name, **kw) - before.get(name, **kw)

        self.assertEqual(delta("governd_decisions_resolved_total", outcome="approved",
                               priority="high"), 1)
        self.assertEqual(delta("governd_decisions_resolved_total", outcome="rejected",
                               priority="low"), 1)
        self.assertEqual(delta("governd_escalations_total"), 1)
        self.assertEqual(delta("governd_review_latency_seconds_count", outcome="approved"), 1)
        self.assertEqual(delta("governd_review_latency_seconds_count", outcome="rejected"), 1)
        self.assertEqual(delta("governd_review_latency_seconds_bucket", outcome="approved",
                               le="1"), 1)
        self.assertEqual(s.get("governd_open_sessions"), before.get("governd_open_sessions"))
        # The store's histograms: one observation per commit, the batch
        # sizes adding up to the operations.
        self.assertGreater(s.get("governd_store_commit_duration_seconds_count"), 0)
        self.assertEqual(s.get("governd_store_commit_duration_seconds_count"),
                         s.get("governd_store_batch_operations_count"))
        self.assertGreaterEqual(s.get("governd_store_batch_operations_sum"),
                                s.get("governd_store_batch_operations_count"))
        self.assertEqual(s.get("governd_ready"), 1)

    def test_sla_violation_counted(self):
        before = Samples(scrape(self.gd))
        self.gov.submit(priority="HIGH", sla_seconds=1)
        wait_for(lambda: Samples(scrape(self.gd)).get("governd_sla_violations_total",
                                                      priority="high")
                 > before.get("governd_sla_violations_total", priority="high"),
                 15 * SLOW, interval=0.2, what="the expired decision counted")
        s = Samples(scrape(self.gd))
        self.assertEqual(s.get("governd_sla_violations_total", priority="high")
                         - before.get("governd_sla_violations_total", priority="high"), 1)
        self.assertEqual(s.get("governd_decisions_resolved_total", outcome="expired",
                               priority="high")
                         - before.get("governd_decisions_resolved_total", outcome="expired",
                                      priority="high"), 1)

    def test_process_figures(self):
        pid = self.gd.proc.pid
        if harness.WRAPPER:
            self.skipTest("governd runs under a wrapper: /proc of the pid is the wrapper's")
        s = Samples(scrape(self.gd))
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
        self.assertLess(abs(s.get("process_resident_memory_bytes") - rss), rss * 0.25 + (2 << 20))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        self.assertLessEqual(abs(s.get("process_open_fds") - fds), 2)
        with open("/proc/%d/limits" % pid) as f:
            soft = re.search(r"Max open files\s+(\d+)", f.read()).group(1)
        self.assertEqual(s.get("process_max_fds"), float(soft))
        started = s.get("process_start_time_seconds")
        self.assertLess(abs(started - os.stat("/proc/%d" % pid).st_mtime), 120)
        self.assertLessEqual(started, time.time())
        self.assertGreater(s.get("process_virtual_memory_bytes"), rss)
        self.assertGreaterEqual(s.get("process_cpu_seconds_total"), 0)


class Http(GoverndCase):
    """The listener as an HTTP server: status codes, limits, hostile clients."""

    NAME = "governd-metrics-http"
    GOVERND_KWARGS = {"db": True}

    def raw(self, data, timeout=5.0, shut=False):
        """Sends data on a fresh connection; returns everything read until
        the server closes (or timeout)."""
        host, port = self.gd.metrics_addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout * SLOW)
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
            out = b""
            end = time.monotonic() + timeout * SLOW
            while time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
            return out
        finally:
            s.close()

    def test_routes(self):
        st, h, body = http_get(self.gd.metrics_addr, "/metrics")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], CONTENT_TYPE)
        self.assertEqual(int(h["content-length"]), len(body.encode()))
        st, h, body = http_get(self.gd.metrics_addr, "/healthz")
        self.assertEqual((st, body), (200, "ok\n"))
        st, h, body = http_get(self.gd.metrics_addr, "/readyz")
        self.assertEqual((st, body), (200, "ok\n"))
        st, h, body = http_get(self.gd.metrics_addr, "/metrics/x")
        self.assertEqual(st, 404)
        st, h, body = http_get(self.gd.metrics_addr, "/metrics?format=x")
        self.assertEqual(st, 200)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            st, h, body = http_get(self.gd.metrics_addr, "/metrics", method=method)
            self.assertEqual(st, 405, method)
            self.assertEqual(h.get("allow"), "GET, HEAD")
        st, h, body = http_get(self.gd.metrics_addr, "/metrics", method="HEAD")
        self.assertEqual(st, 200)
        self.assertEqual(body, "")
        self.assertGreater(int(h["content-length"]), 1000)

    def test_keep_alive_and_pipelining(self):
        host, port = self.gd.metrics_addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=5 * SLOW)
        try:
            for path in ("/healthz", "/metrics", "/readyz", "/nope", "/healthz"):
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 404 if path == "/nope" else 200)
            # One connection all along.
            self.assertIsNotNone(c.sock)
        finally:
            c.close()
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        out = self.raw(req * 3 + b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200 OK\r\n"), 4, out)
        self.assertTrue(out.endswith(b"ok\n"))

    def test_bad_requests(self):
        cases = [
            (b"GET /metrics HTTP/1.1\r\n\r\n", b"400"),                       # no Host
            (b"GET /metrics HTTP/1.1\nHost: x\n\n", b"400"),                  # bare LF
            (b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", b"400"),
            (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", b"413"),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"413"),
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"431"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"v" * 9000, b"431"),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, b"400"),  # TLS
            (h2raw.PREFACE, b"400"),                                          # HTTP/2
        ]
        for data, want in cases:
            out = self.raw(data)
            self.assertTrue(out.startswith(b"HTTP/1.1 " + want + b" "),
                            "%r... -> %r" % (data[:40], out[:80]))
            # The connection is closed after an error (the read ended).
            self.assertIn(b"Connection: close", out)
        # Still serving.
        self.assertEqual(http_get(self.gd.metrics_addr, "/healthz")[0], 200)

    def test_slow_and_idle_clients_do_not_stall_grpc(self):
        """Connections beyond the cap are closed at once; a client that
        trickles a request forever holds one slot, nothing else; gRPC calls
        meanwhile run at their usual speed."""
        host, port = self.gd.metrics_addr.rsplit(":", 1)
        socks = []
        try:
            for i in range(70):
                s = socket.create_connection((host, int(port)), timeout=5 * SLOW)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost")   # never finished
                socks.append(s)
            # The ones past the cap (64) are closed by the server.
            closed = 0
            for s in socks:
                s.settimeout(0.05)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed += 1
            self.assertGreaterEqual(closed, 6)
            self.assertLessEqual(closed, 70 - 60)
            gov = Gov.connect(self.gd)
            try:
                t0 = time.monotonic()
                for _ in range(200):
                    gov.call("HealthCheck")
                took = time.monotonic() - t0
            finally:
                gov.close()
            self.assertLess(took, 10 * SLOW)
        finally:
            for s in socks:
                s.close()
        # Freed slots serve again.
        wait_for(lambda: self._healthz_ok(), 10 * SLOW, interval=0.1, what="a free slot")

    def _healthz_ok(self):
        try:
            return http_get(self.gd.metrics_addr, "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def test_unfinished_request_is_dropped(self):
        """A request head not finished within 10 s closes the connection."""
        host, port = self.gd.metrics_addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=30 * SLOW)
        try:
            t0 = time.monotonic()
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            for _ in range(3):
                time.sleep(1)
                s.sendall(b"X-Slow: 1\r\n")
            s.settimeout(30 * SLOW)
            self.assertEqual(s.recv(100), b"")
            took = time.monotonic() - t0
            self.assertGreaterEqual(took, 9.5)
            self.assertLess(took, 25 * SLOW)
        finally:
            s.close()


class MetricsFlag(unittest.TestCase):
    """--metrics-listen off, a bad value, a taken port."""

    def run_governd(self, args, wait_listen=True):
        gd = Governd(args, name="governd-mflag", db=True)
        self.addCleanup(gd.cleanup)
        return gd

    def test_off(self):
        for v in ("off", ""):
            gd = self.run_governd(["--metrics-listen", v])
            gd.start()
            self.assertIsNone(gd.metrics_addr)
            self.assertFalse(any(r.get("msg") == "metrics listening" for r in gd.records()))
            gd.stop()

    def test_bad_values(self):
        for v in ("nohost", "127.0.0.1:99999", "127.0.0.1:"):
            gd = self.run_governd(["--metrics-listen", v])
            with self.assertRaises(AssertionError):
                gd.start(timeout=10 * SLOW)
            self.assertEqual(gd.proc.wait(10), 2, gd.log_tail())   # bad usage
            self.assertIn(v, gd.log())

    def test_taken_port(self):
        hold = socket.socket()
        hold.bind(("127.0.0.1", 0))
        hold.listen(1)
        addr = "127.0.0.1:%d" % hold.getsockname()[1]
        try:
            gd = self.run_governd(["--metrics-listen", addr])
            with self.assertRaises(AssertionError):
                gd.start(timeout=10 * SLOW)
            self.assertEqual(gd.proc.wait(10), 1)
            self.assertIn("cannot serve metrics", gd.log())
            self.assertIn(addr, gd.log())
        finally:
            hold.close()


class Readiness(unittest.TestCase):
    """/readyz during a graceful shutdown held open by a call in flight."""

    def test_readyz_503_while_draining(self):
        gd = Governd(["--grace", "20s"], name="governd-readyz", db=True)
        self.addCleanup(gd.cleanup)
        gd.start()
        self.assertEqual(http_get(gd.metrics_addr, "/readyz")[:3:2], (200, "ok\n"))
        # A connection with a call whose request never ends: the drain
        # waits for the client to close it (or for the grace period).
        h = h2raw.H2Conn.connect(gd.addr, timeout=10 * SLOW)
        try:
            h.handshake()
            h.grpc_call(1, "/" + GOV_SVC + "/HealthCheck", end_stream=False)
            h.pump(timeout=0.5)
            gd.send_signal(signal.SIGTERM)
            wait_for(lambda: http_get(gd.metrics_addr, "/readyz")[0] == 503, 10 * SLOW,
                     interval=0.05, what="/readyz 503")
            st, _, body = http_get(gd.metrics_addr, "/readyz")
            self.assertEqual((st, body), (503, "shutting down\n"))
            # Health stays 200 (the process serves) and the last scrapes work.
            self.assertEqual(http_get(gd.metrics_addr, "/healthz")[0], 200)
            s = Samples(scrape(gd))
            self.assertEqual(s.get("governd_ready"), 0)
            self.assertTrue(gd.running())
        finally:
            h.close()
        # The call's connection gone, governd finishes (no second signal:
        # that one would kill it) and the listener closes.
        self.assertEqual(gd.wait_exit(30 * SLOW), 0, gd.log_tail())
        gd.check_clean_exit(0)
        host, port = gd.metrics_addr.rsplit(":", 1)
        with self.assertRaises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()


class PrometheusServer(unittest.TestCase):
    """A real Prometheus scrapes governd; PromQL answers the counts."""

    def setUp(self):
        if not os.path.exists(PROMETHEUS):
            self.fail("prometheus is not installed (apt-get install prometheus)")
        self.gd = Governd([], name="governd-prom", db=True)
        self.addCleanup(self.gd.cleanup)
        self.gd.start()
        self.dir = tempfile.mkdtemp(prefix="vcli-itest-prom-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: governd\n"
                    "    static_configs:\n      - targets: ['%s']\n" % self.gd.metrics_addr)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.addCleanup(self.log.close)
        self.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + cfg,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop_prom)
        wait_for(self._ready, 60, interval=0.2, what="prometheus ready")

    def _stop_prom(self):
        if self.prom.poll() is None:
            self.prom.terminate()
            try:
                self.prom.wait(20)
            except subprocess.TimeoutExpired:
                self.prom.kill()
                self.prom.wait(5)

    def _prom_log(self):
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def _api(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read().decode())

    def _ready(self):
        if self.prom.poll() is not None:
            raise AssertionError("prometheus exited %s\n%s" % (self.prom.returncode,
                                                                 self._prom_log()))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        """The value of a PromQL instant query with one result; None when
        it has none."""
        d = self._api("/api/v1/query", query=expr)
        self.assertEqual(d["status"], "success", d)
        res = d["data"]["result"]
        if not res:
            return None
        if len(res) != 1:
            raise AssertionError("%s: %d results: %r" % (expr, len(res), res))
        return float(res[0]["value"][1])

    def wait_value(self, expr, want, timeout=30):
        last = []

        def ok():
            last[:] = [self.query(expr)]
            return last[0] == want
        try:
            wait_for(ok, timeout * SLOW, interval=0.25, what="%s == %s" % (expr, want))
        except AssertionError:
            raise AssertionError("%s: last %r, wanted %r\n%s" % (expr, last, want,
                                                                  self._prom_log()))

    def test_promql_counts(self):
        gov = Gov.connect(self.gd)
        try:
            n = 5
            ids = [gov.submit(priority=("HIGH" if i % 2 else "LOW")).decision.decision_id
                   for i in range(n)]
            sid = gov.session("ana")
            gov.approve(sid, ids[0])
            gov.reject(sid, ids[1], comment="no", reasoning="not needed")
            for _ in range(4):
                gov.code("GetDecision", decision_id="dec-nope")
            decisions, _, _ = gov.list_all()
        finally:
            gov.close()
        self.wait_value('up{job="governd"}', 1)
        self.wait_value('grpc_server_handled_total{grpc_method="SubmitDecision",'
                        'grpc_code="OK"}', n)
        self.wait_value('sum(grpc_server_started_total{grpc_method="SubmitDecision"})', n)
        self.wait_value('grpc_server_handled_total{grpc_method="GetDecision",'
                        'grpc_code="NotFound"}', 4)
        self.wait_value('sum(grpc_server_handled_total{grpc_method="ApproveDecision"})', 1)
        self.wait_value('grpc_server_handling_seconds_count{grpc_method="SubmitDecision"}', n)
        for p in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
            self.wait_value('governd_pending_decisions{priority="%s"}' % p.lower(),
                            len([d for d in decisions if d.priority == p]))
        self.wait_value('sum(governd_decisions_resolved_total{outcome=~"approved|rejected"})', 2)
        self.wait_value('sum(governd_review_latency_seconds_count)', 2)
        self.wait_value('governd_open_sessions', 1)
        # A quantile over the handling-time histogram computes (what the
        # dashboard and the p99 alert use).
        q = self.query('histogram_quantile(0.99, sum by (le) (rate('
                       'grpc_server_handling_seconds_bucket{grpc_method="SubmitDecision"}[1m])))')
        self.assertTrue(q is None or q >= 0)
        self.assertGreater(self.query('process_resident_memory_bytes{job="governd"}'), 1 << 20)
        targets = self._api("/api/v1/targets")["data"]["activeTargets"]
        self.assertEqual([t["health"] for t in targets], ["up"], targets)
        self.assertEqual(targets[0]["lastError"], "")


if __name__ == "__main__":
    run_main()
