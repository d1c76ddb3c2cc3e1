#!/usr/bin/python3
"""vcli bench against a real governd: exact counts with -n, -o json parsed
and its counts checked against governd's own (GetMetrics), per-request
template values, errors counted by status code, open-loop pacing (checked
by the schedule's own arithmetic, never by how fast the machine is),
mixes, warm-up, CSV, threads, the suites, and bad flags (exit 2, the bad
value named).  Timing assertions are lower bounds the schedule guarantees
or generous upper bounds: a slow machine must not fail this test."""

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SLOW, VCLI, Gov, GoverndCase, certs, run_main, run_tool)

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_TARGET = 0, 2, 3, 12
UNKNOWN_DID = "d-" + "0" * 32


def dead_addr():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return addr


def gone_pid():
    """The id of a process that has ended (and been reaped)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


class BenchTest(GoverndCase):
    GOVERND_KWARGS = {"db": True}
    NAME = "governd-bench"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gov = Gov.connect(cls.gd)
        cls.home = tempfile.mkdtemp(prefix="vcli-itest-bench-")

    @classmethod
    def tearDownClass(cls):
        cls.gov.close()
        super().tearDownClass()

    def vcli(self, *args, timeout=60):
        env = {"HOME": self.home, "XDG_CONFIG_HOME": self.home,
               "XDG_STATE_HOME": self.home}
        for k in ("VCLI_GOVERNANCE_ENDPOINT", "VCLI_TIMEOUT", "VCLI_OUTPUT",
                  "VCLI_OPERATOR", "VCLI_CONFIG"):
            env[k] = ""
        return run_tool([VCLI, "--server", self.gd.addr] + list(args),
                        timeout=timeout * SLOW, env=env)

    def bench_json(self, *args, timeout=60):
        res = self.vcli("bench", "-o", "json", *args, timeout=timeout)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        return json.loads(res.stdout)

    def metrics(self):
        return self.gov.call("GetMetrics").metrics

    # -- counts

    def test_total_is_exact(self):
        for n, conc, conns in ((1, 1, 1), (1234, 7, 1), (1000, 64, 3)):
            d = self.bench_json("HealthCheck", "-n", str(n), "--concurrency",
                                str(conc), "-c", str(conns))
            self.assertEqual(d["count"], n)
            self.assertEqual(d["ok"], n)
            self.assertEqual(d["errors"], 0)
            self.assertEqual(d["status"], {"OK": n})
            self.assertEqual(d["connections"], conns)
            self.assertEqual(d["call"],
                             "vertice.governance.v1.GovernanceService/HealthCheck")
            lat = d["latency_ms"]
            self.assertTrue(0 <= lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"]
                            <= lat["p99_9"] <= lat["max"], lat)
            self.assertEqual(sum(b["count"] for b in d["histogram"]), n)
            self.assertGreater(d["rps"], 0)

    def test_counts_match_governd(self):
        """Every SubmitDecision bench counts as OK is one governd created:
        an idempotency key per request ({{.UUID}}) makes each one new."""
        before = self.metrics().total_decisions
        data = json.dumps({"decision": {"operationType": "bench_test",
                                        "priority": "LOW", "slaSeconds": 3600},
                           "idempotencyKey": "k-{{.UUID}}"})
        d = self.bench_json("SubmitDecision", "-d", data, "-n", "300",
                            "--concurrency", "20")
        self.assertEqual(d["ok"], 300, d)
        self.assertEqual(self.metrics().total_decisions - before, 300)

        # {{.RequestNumber}} keys: a second run repeats them, and governd
        # creates nothing new (the idempotency key matched).
        prefix = uuid.uuid4().hex
        data = json.dumps({"decision": {"operationType": "bench_test",
                                        "priority": "LOW", "slaSeconds": 3600},
                           "idempotencyKey": prefix + "-{{.RequestNumber}}"})
        before = self.metrics().total_decisions
        for _ in range(2):
            d = self.bench_json("SubmitDecision", "-d", data, "-n", "50",
                                "--concurrency", "5")
            self.assertEqual(d["ok"], 50)
        self.assertEqual(self.metrics().total_decisions - before, 50)

    def test_warmup_is_not_counted(self):
        before = self.metrics().total_decisions
        data = '{"decision":{"operationType":"bench_warm","priority":"LOW",' \
               '"slaSeconds":3600},"idempotencyKey":"w-{{.UUID}}"}'
        d = self.bench_json("SubmitDecision", "-d", data, "--warmup", "40",
                            "-n", "60", "--concurrency", "4")
        self.assertEqual(d["count"], 60)
        self.assertEqual(d["ok"], 60, d["error_messages"])
        self.assertEqual(d["warmup"], 40)
        self.assertEqual(self.metrics().total_decisions - before, 100)

    def test_errors_by_status(self):
        sid = self.gov.session("bench-op-" + uuid.uuid4().hex[:8])
        data = json.dumps({"sessionId": sid, "decisionId": UNKNOWN_DID})
        d = self.bench_json("ApproveDecision", "-d", data, "-n", "25",
                            "--concurrency", "5")
        self.assertEqual(d["count"], 25)
        self.assertEqual(d["ok"], 0)
        self.assertEqual(d["status"], {"NOT_FOUND": 25})
        self.assertEqual(len(d["error_messages"]), 1)
        self.assertEqual(d["error_messages"][0]["status"], "NOT_FOUND")
        self.assertEqual(d["error_messages"][0]["count"], 25)

        # A mix of outcomes in one run: half the requests are invalid.
        d = self.bench_json("--mix", "ListPendingDecisions:1,GetMetrics:1",
                            "--mix-data", 'ListPendingDecisions={"status":"BOGUS"}',
                            "-n", "40", "--concurrency", "4")
        self.assertEqual(d["status"], {"OK": 20, "INVALID_ARGUMENT": 20})
        calls = {c["call"].split("/")[1]: c for c in d["calls"]}
        self.assertEqual(calls["ListPendingDecisions"]["ok"], 0)
        self.assertEqual(calls["GetMetrics"]["ok"], 20)

        # The summary shows them too.
        res = self.vcli("bench", "ApproveDecision", "-d", data, "-n", "3")
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        self.assertIn("[NOT_FOUND]", res.stdout)
        self.assertIn("Error distribution:", res.stdout)

    def test_mix_proportions(self):
        d = self.bench_json("--mix", "HealthCheck:3,grpc.health.v1.Health/Check:1",
                            "-n", "400", "--concurrency", "8")
        counts = {c["call"]: c["count"] for c in d["calls"]}
        self.assertEqual(counts["vertice.governance.v1.GovernanceService/HealthCheck"], 300)
        self.assertEqual(counts["grpc.health.v1.Health/Check"], 100)
        self.assertEqual(d["ok"], 400)

    def test_metadata_and_threads(self):
        d = self.bench_json("Check", "-m", "x-bench=1", "-m",
                            '{"x-request":"r-{{.RequestNumber}}"}', "-n", "1000",
                            "-c", "4", "--concurrency", "16", "--threads", "2")
        self.assertEqual(d["count"], 1000)
        self.assertEqual(d["ok"], 1000)
        self.assertEqual(d["threads"], 2)

    # -- open loop

    def test_rate_pacing(self):
        """At 200 req/s for 2 s exactly 400 requests are due, the last at
        1.995 s: the run cannot end sooner, whatever the machine."""
        d = self.bench_json("GetMetrics", "-q", "200", "-z", "2s",
                            "--concurrency", "5", timeout=60)
        self.assertEqual(d["count"], 400)
        self.assertEqual(d["ok"], 400)
        self.assertGreaterEqual(d["total_ms"], 1990)
        self.assertLess(d["total_ms"], 30000)
        self.assertIn("start_lag_ms", d)
        self.assertEqual(d["rate"]["schedule"], "const")

        # A step schedule: 100, 200 then 300 req/s for 0.5 s each.
        d = self.bench_json("HealthCheck", "--load-schedule", "step",
                            "--load-start", "100", "--load-step", "100",
                            "--load-step-duration", "500ms", "--load-end", "300",
                            "-z", "1500ms", "--concurrency", "10")
        self.assertEqual(d["count"], 50 + 100 + 150)
        self.assertGreaterEqual(d["total_ms"], 1490)

        # -n ends an open-loop run too: 30 requests at 100 req/s.
        d = self.bench_json("HealthCheck", "-q", "100", "-n", "30")
        self.assertEqual(d["count"], 30)
        self.assertGreaterEqual(d["total_ms"], 289)

    def test_concurrency_schedule(self):
        d = self.bench_json("HealthCheck", "--concurrency-schedule", "step",
                            "--concurrency-start", "1", "--concurrency-step", "2",
                            "--concurrency-step-duration", "100ms",
                            "--concurrency-end", "5", "-z", "500ms")
        self.assertEqual(d["workers"], 5)
        self.assertGreater(d["count"], 0)
        self.assertEqual(d["ok"], d["count"])

    # -- outputs

    def test_csv(self):
        path = os.path.join(self.home, "calls.csv")
        res = self.vcli("bench", "HealthCheck", "-n", "50", "--concurrency", "3",
                        "--csv", path)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        self.assertIn("Summary:", res.stdout)
        with open(path) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 50)
        self.assertEqual(sorted(int(r["request"]) for r in rows), list(range(50)))
        for r in rows:
            self.assertEqual(r["status"], "OK")
            self.assertEqual(r["method"], "HealthCheck")
            self.assertGreaterEqual(float(r["latency_us"]), 0)

        res = self.vcli("bench", "HealthCheck", "-n", "20", "-o", "csv")
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        rows = list(csv.DictReader(io.StringIO(res.stdout)))
        self.assertEqual(len(rows), 20)

    def test_interrupt_reports_what_was_measured(self):
        p = subprocess.Popen([VCLI, "--server", self.gd.addr, "bench", "HealthCheck",
                              "-z", "60s", "--concurrency", "4", "-o", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30 * SLOW)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted", err)
        d = json.loads(out)
        self.assertTrue(d["interrupted"])
        self.assertGreater(d["count"], 0)
        self.assertEqual(d["ok"], d["count"])
        self.assertLess(d["total_ms"], 50000)

    def test_unreachable(self):
        res = run_tool([VCLI, "--server", dead_addr(), "bench", "HealthCheck",
                        "-n", "10"], timeout=30 * SLOW)
        self.assertEqual(res.returncode, EXIT_UNREACHABLE, res.stderr)
        self.assertIn("cannot reach server", res.stderr)

    # -- suites

    def test_validation_suite_quick(self):
        res = self.vcli("bench", "--suite", "validation", "--quick", timeout=120)
        # Pass or miss is the machine's business; the table is ours.
        self.assertIn(res.returncode, (EXIT_OK, EXIT_TARGET), res.stderr)
        for name in ("HealthCheck 1K", "HealthCheck 5K", "HealthCheck 10K",
                     "Sustained 1,000 req/s", "CreateSession 1K",
                     "ListPendingDecisions 5K", "GetMetrics 10K", "Mixed 5K"):
            self.assertIn(name, res.stdout)
        for col in ("TARGET", "EARLIER SYSTEM", "RESULT"):
            self.assertIn(col, res.stdout)
        self.assertIn("4,366 req/s", res.stdout)
        self.assertIn("(3 s, --quick)", res.stdout)
        self.assertEqual(res.returncode == EXIT_OK, "all targets met" in res.stdout)

    def test_approvals_suite(self):
        before = self.metrics().approved_count
        res = self.vcli("bench", "--suite", "approvals", "--approvals", "400",
                        "-c", "5", "-o", "json", timeout=120)
        self.assertIn(res.returncode, (EXIT_OK, EXIT_TARGET), res.stderr)
        d = json.loads(res.stdout)
        self.assertEqual(d["suite"], "approvals")
        self.assertEqual(d["result"]["count"], 400)
        self.assertEqual(d["result"]["ok"], 400)
        self.assertEqual(d["governd_approved_delta"], 400)
        self.assertEqual(self.metrics().approved_count - before, 400)
        self.assertEqual(d["result"]["connections"], 5)

    def test_approvals_suite_decision_file(self):
        """--decision-file: the suite submits that decision (bench's
        decision-1k.json, the demo's size) and approves each copy."""
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "bench", "decision-1k.json")
        gov = Gov.connect(self.gd)
        try:
            before = gov.list_all(status="APPROVED", operation_type="purge_mail")[0]
            res = self.vcli("bench", "--suite", "approvals", "--approvals", "120", "-c", "2",
                            "--decision-file", src, "-o", "json", timeout=120)
            self.assertIn(res.returncode, (EXIT_OK, EXIT_TARGET), res.stderr)
            self.assertEqual(json.loads(res.stdout)["result"]["ok"], 120)
            after = gov.list_all(status="APPROVED", operation_type="purge_mail")[0]
            self.assertEqual(len(after) - len(before), 120)
            with open(src) as f:
                want = json.load(f)
            d = after[-1]
            self.assertEqual(dict(d.context), want["context"])
            self.assertEqual(d.risk_assessment.score, want["riskAssessment"]["score"])
        finally:
            gov.close()
        d = tempfile.mkdtemp(prefix="vcli-bench-dec-")
        keyed = os.path.join(d, "keyed.json")
        with open(keyed, "w") as f:
            f.write('{"operationType": "block_ip", "priority": "LOW", "idempotencyKey": "k"}')
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            f.write('{"operationType": "block_ip", "riskAssessment": {"score": "high"}}')
        for path, shown in ((keyed, "idempotencyKey"), (bad, "riskAssessment.score"),
                            (os.path.join(d, "missing.json"), "missing.json")):
            res = self.vcli("bench", "--suite", "approvals", "--approvals", "10",
                            "--decision-file", path)
            self.assertEqual(res.returncode, EXIT_USAGE, (path, res.stderr))
            self.assertIn(shown, res.stderr)

    def test_approvals_suite_request_ids(self):
        """--request-ids: each approval carries one, in vcli's form (the time
        in ms, then random) or all random; every one recorded, none twice."""
        gov = Gov.connect(self.gd)
        try:
            for kind in ("time", "random"):
                seen = set(d.decision_id for d in
                           gov.list_all(status="APPROVED",
                                        operation_type="vcli_bench_approval")[0])
                t0 = int(time.time() * 1000)
                res = self.vcli("bench", "--suite", "approvals", "--approvals", "150",
                                "-c", "3", "--request-ids", kind, "-o", "json", timeout=120)
                t1 = int(time.time() * 1000)
                self.assertIn(res.returncode, (EXIT_OK, EXIT_TARGET), res.stderr)
                self.assertEqual(json.loads(res.stdout)["result"]["ok"], 150)
                done = [d for d in gov.list_all(status="APPROVED",
                                                operation_type="vcli_bench_approval")[0]
                        if d.decision_id not in seen]
                rids = [d.history.request_id for d in done]
                self.assertEqual(len(rids), 150)
                self.assertEqual(len(set(rids)), 150)
                for r in rids:
                    self.assertRegex(r, r"^vcli-[0-9a-f]{32}$")
                stamped = [t0 <= int(r[5:17], 16) <= t1 for r in rids]
                self.assertEqual(all(stamped) if kind == "time" else any(stamped),
                                 kind == "time", (kind, rids[:3]))
        finally:
            gov.close()

    def test_server_cpu(self):
        """--server-pid reports governd's CPU over the measured calls: in
        the summary, in -o json and in the approvals suite; a process that
        ends before the run does is reported as such, not as 0."""
        pid = self.gd.proc.pid

        def cpu_ms():
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) * 1000 / os.sysconf("SC_CLK_TCK")

        before = cpu_ms()
        d = self.bench_json("HealthCheck", "-n", "20000", "--concurrency", "20",
                            "--server-pid", str(pid))
        after = cpu_ms()
        self.assertEqual(d["server_pid"], pid)
        self.assertNotIn("server_cpu_error", d)
        # What bench measured lies within what /proc shows around the run.
        self.assertGreaterEqual(d["server_cpu_ms"], 0)
        self.assertLessEqual(d["server_cpu_ms"], after - before)
        res = self.vcli("bench", "HealthCheck", "-n", "500", "--server-pid", str(pid))
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        self.assertRegex(res.stdout, r"Server CPU: +[0-9.]+ s \([0-9.]+ us per call, "
                         r"process %d\)" % pid)
        res = self.vcli("bench", "--suite", "approvals", "--approvals", "200", "-c", "4",
                        "--server-pid", str(pid), "-o", "json", timeout=120)
        self.assertIn(res.returncode, (EXIT_OK, EXIT_TARGET), res.stderr)
        self.assertIn("server_cpu_ms", json.loads(res.stdout)["result"])

        # A process gone before the end of the run: no figure, the reason.
        short = subprocess.Popen(["sleep", "0.2"])
        waiter = threading.Thread(target=short.wait)
        waiter.start()
        d = self.bench_json("HealthCheck", "-z", "1s", "--concurrency", "2",
                            "--server-pid", str(short.pid))
        waiter.join()
        self.assertNotIn("server_cpu_ms", d)
        self.assertIn("ended", d["server_cpu_error"])

    # -- usage errors

    def test_bad_flags(self):
        cases = [
            (["HealthCheck", "-n", "abc"], "'abc'"),
            (["HealthCheck", "-n", "0"], "'0'"),
            (["HealthCheck", "-q", "fast"], "'fast'"),
            (["HealthCheck", "-z", "10"], "'10'"),
            (["HealthCheck", "-t", "soon"], "'soon'"),
            (["HealthCheck", "--concurrency", "-3"], "'-3'"),
            (["HealthCheck", "-c", "2", "--threads", "4"], "--threads 4"),
            (["HealthCheck", "--load-schedule", "zigzag"], "'zigzag'"),
            (["HealthCheck", "--load-schedule", "step", "--load-start", "10",
              "--load-step", "5"], "--load-step-duration"),
            (["HealthCheck", "-o", "xml"], "'xml'"),
            (["HealthChek", "-n", "1"], "'HealthChek'"),
            (["StreamDecisions"], "'StreamDecisions'"),
            (["--mix", "HealthCheck:x"], "'HealthCheck:x'"),
            (["--mix", "HealthCheck:1", "--mix-data", "GetMetrics={}"], "'GetMetrics'"),
            (["ListPendingDecisions", "-d", '{"limt":10}'], "limt"),
            (["ListPendingDecisions", "-d", '{"limit":'], "not valid JSON"),
            (["HealthCheck", "-d", '{"x":"{{.Nope}}"}'], "{{.Nope}}"),
            (["HealthCheck", "-m", "bad key=1"], "'bad key'"),
            (["HealthCheck", "-D", "/nonexistent/data.json"], "/nonexistent/data.json"),
            ([], "no method given"),
            (["--suite", "validation", "-n", "5"], "--suite"),
            (["--suite", "nope"], "'nope'"),
            (["--suite", "approvals", "--approvals", "many"], "'many'"),
            (["HealthCheck", "--server-pid", "abc"], "'abc'"),
            (["HealthCheck", "--server-pid", "0"], "'0'"),
            (["HealthCheck", "--server-pid", str(gone_pid())], "no such process"),
            (["--suite", "validation", "--server-pid", "1"], "--server-pid"),
            (["--suite", "validation", "--request-ids", "time"], "--request-ids"),
            (["--suite", "approvals", "--request-ids", "uuid"], "'uuid'"),
            (["HealthCheck", "--request-ids", "time"], "--request-ids"),
            (["HealthCheck", "--decision-file", "x.json"], "--decision-file"),
            (["--suite", "validation", "--decision-file", "x.json"], "--decision-file"),
        ]
        for args, shown in cases:
            res = self.vcli("bench", *args)
            self.assertEqual(res.returncode, EXIT_USAGE,
                             "%s: %s %s" % (args, res.stdout, res.stderr))
            self.assertIn(shown, res.stderr, args)
            self.assertTrue(res.stderr.startswith("vcli: "), res.stderr)


class BenchTLSTest(GoverndCase):
    """The TLS flags are the global ones, as for every command."""
    NAME = "governd-bench-mtls"
    GOVERND_ARGS = staticmethod(lambda: ["--tls-cert", certs().path("server.pem"),
                                         "--tls-key", certs().path("server.key"),
                                         "--tls-client-ca", certs().path("ca.pem")])

    def channel_kwargs(self):
        return {"creds": certs().client_creds(cert="client.pem", key="client.key")}

    def test_mtls(self):
        c = certs()
        res = run_tool([VCLI, "--server", self.gd.addr, "--tls-ca", c.path("ca.pem"),
                        "--tls-cert", c.path("client.pem"), "--tls-key",
                        c.path("client.key"), "bench", "Check", "-n", "300", "-c", "3",
                        "--concurrency", "12", "-o", "json"], timeout=60 * SLOW)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        d = json.loads(res.stdout)
        self.assertEqual(d["ok"], 300)

    def test_tls_errors(self):
        res = run_tool([VCLI, "--server", self.gd.addr, "--tls-ca", "/nonexistent/ca.pem",
                        "bench", "Check", "-n", "5"], timeout=60 * SLOW)
        self.assertEqual(res.returncode, EXIT_USAGE, res.stderr)
        self.assertIn("/nonexistent/ca.pem", res.stderr)
        # No client certificate: the server refuses the handshake.
        res = run_tool([VCLI, "--server", self.gd.addr, "--tls-ca", certs().path("ca.pem"),
                        "bench", "Check", "-n", "5"], timeout=60 * SLOW)
        self.assertEqual(res.returncode, EXIT_UNREACHABLE, res.stderr)


if __name__ == "__main__":
    run_main()
