#!/usr/bin/env python3
"""The client library's resilience (docs/client.md) against the real
governd, with faults injected for real by tests/tools/chaosproxy and by
signals: the circuit breaker opening, failing fast and probing back;
reads retried through connection resets; a write without a key sent once
even when its answer is lost; a write with a request id or key retried to
exactly one effect, across a SIGKILL and restart of governd under load.

Clients: rpcprobe (the library, one client for many calls, reporting
attempts and the circuit's state per call) and vcli.  Time bounds are
tight from below and loose from above.
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import ProxiedGoverndCase  # noqa: E402
from harness import (  # noqa: E402
    GOV, RPCPROBE, SLOW, VCLI, Gov, Governd, parse_logfmt, run_main, uniq, wait_for)

HEALTH = GOV + "HealthCheck"
LIST = GOV + "ListPendingDecisions"


def vcli_env(addr, tmp):
    e = dict(os.environ)
    e.update({"VCLI_GOVERNANCE_ENDPOINT": addr, "XDG_CONFIG_HOME": tmp,
              "XDG_STATE_HOME": tmp, "NO_COLOR": "1"})
    return e


class Probe:
    """rpcprobe --stdin: one client, one call per call()."""

    def __init__(self, addr, method, *args):
        self.p = subprocess.Popen(
            [RPCPROBE, "--server", addr, "--stdin"] + list(args) + [method],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1)

    def call(self):
        self.p.stdin.write("call\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("rpcprobe ended: %s" % self.p.stderr.read())
        res = parse_logfmt(line)
        if res.get("status") == "OK":
            self.p.stdout.readline()  # response=HEX
        res["attempts"] = int(res["attempts"])
        res["elapsed_ms"] = float(res["elapsed_ms"])
        res["failures"] = int(res["failures"])
        return res

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(30 * SLOW)
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        if rc != 0:
            raise AssertionError("rpcprobe exit %d: %s" % (rc, err))


class ProxiedCase(ProxiedGoverndCase):
    """One governd with a store, one proxy in front of it, per class."""
    GOVERND_NAME = "resil"
    PROXY_SEED = 7

    def probe(self, method, *args):
        p = Probe(self.cp.addr, method, *args)
        self.addCleanup(lambda: p.p.poll() is None and p.p.kill())
        return p

    def direct(self):
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        return g

    def hold(self):
        """Every byte held both ways, new connections included: a server
        that accepts and says nothing."""
        self.cp.add("hold-up", "timeout", "upstream", timeout=0)
        self.cp.add("hold-down", "timeout", "downstream", timeout=0)
        # connections already open are closed, as by a restart
        self.cp.down()
        self.cp.up()

    def vcli(self, *args, timeout=60):
        return subprocess.run([VCLI] + list(args), env=vcli_env(self.cp.addr, self.tmp),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout * SLOW, check=False)


class Breaker(ProxiedCase):

    CONNECT_MS = 1000
    COOLDOWN_MS = 1500

    def breaker_probe(self):
        return self.probe(HEALTH, "--deadline-ms", str(int(10000 * SLOW)),
                          "--connect-timeout-ms", str(self.CONNECT_MS),
                          "--breaker-threshold", "3",
                          "--breaker-cooldown-ms", str(self.COOLDOWN_MS),
                          "--no-reconnect-backoff")

    def test_opens_fails_fast_probes_and_closes(self):
        """Server up: calls flow.  Server silent: three attempts cost the
        connect timeout each and open the circuit; the next calls fail in
        well under a millisecond-scale bound, without dialling.  After the
        cool-down a probe into the still-silent server fails and opens it
        again; once the server is back, the probe after the cool-down
        succeeds and calls flow."""
        p = self.breaker_probe()
        r = p.call()
        self.assertEqual((r["status"], r["circuit"], r["attempts"]), ("OK", "closed", 1))
        self.hold()
        total_before = self.cp.stats()["total"]
        for i in range(3):
            r = p.call()
            self.assertEqual(r["status"], "UNAVAILABLE", r)
            self.assertEqual(r["attempts"], 1)
            self.assertIn("no HTTP/2 settings from the server after %d ms" % self.CONNECT_MS,
                          r["message"])
            self.assertGreaterEqual(r["elapsed_ms"], self.CONNECT_MS * 0.99)
            self.assertEqual(r["failures"], i + 1)
        self.assertEqual(r["circuit"], "open")
        # open: fail fast, nothing dialled
        fast = []
        for _ in range(20):
            r = p.call()
            self.assertEqual(r["status"], "UNAVAILABLE", r)
            self.assertEqual(r["attempts"], 0)
            self.assertRegex(r["message"], r"^circuit open after 3 transport failures in a row "
                             r"\(the last: cannot connect to .*no HTTP/2 settings.*\); "
                             r"next probe in [0-9.]+ (ms|s)$")
            fast.append(r["elapsed_ms"])
        self.assertEqual(self.cp.stats()["total"], total_before + 3, "the open circuit dials")
        fast.sort()
        median = fast[len(fast) // 2]
        print("fail-fast latency: median %.3f ms, max %.3f ms (connect timeout %d ms)"
              % (median, fast[-1], self.CONNECT_MS), file=sys.stderr)
        self.assertLess(median, self.CONNECT_MS / 100)
        self.assertLess(fast[-1], self.CONNECT_MS / 10 * SLOW)
        # cooled down, still silent: the probe fails, the circuit opens again
        time.sleep(self.COOLDOWN_MS / 1000 + 0.05)
        r = p.call()
        self.assertEqual((r["status"], r["attempts"], r["circuit"]), ("UNAVAILABLE", 1, "open"), r)
        self.assertGreaterEqual(r["elapsed_ms"], self.CONNECT_MS * 0.99)
        r = p.call()
        self.assertEqual(r["attempts"], 0, r)
        # the server is back; the circuit stays open until the cool-down
        self.cp.reset()
        r = p.call()
        self.assertEqual((r["status"], r["attempts"]), ("UNAVAILABLE", 0), r)
        time.sleep(self.COOLDOWN_MS / 1000 + 0.05)
        r = p.call()
        self.assertEqual((r["status"], r["attempts"], r["circuit"], r["failures"]),
                         ("OK", 1, "closed", 0), r)
        for _ in range(5):
            r = p.call()
            self.assertEqual((r["status"], r["circuit"]), ("OK", "closed"), r)
        p.close()

    def test_call_under_way_waits_for_the_probe(self):
        """A retry-safe call whose attempts open the circuit does not fail
        fast: it waits out the cool-down and goes as the probe.  The
        server comes back meanwhile: it succeeds on its third attempt."""
        p = self.probe(HEALTH, "--retry-safe", "--max-attempts", "6",
                       "--deadline-ms", str(int(20000 * SLOW)),
                       "--connect-timeout-ms", "500", "--breaker-threshold", "2",
                       "--breaker-cooldown-ms", str(self.COOLDOWN_MS),
                       "--no-reconnect-backoff")
        self.assertEqual(p.call()["status"], "OK")
        self.hold()
        before = self.cp.stats()["total"]
        res = {}
        t = threading.Thread(target=lambda: res.update(p.call()))
        t.start()
        # the second attempt started; once its connect timeout has
        # passed the circuit is open, for the cool-down
        wait_for(lambda: self.cp.stats()["total"] == before + 2, 10 * SLOW,
                 interval=0.01, what="a second attempt")
        time.sleep(0.5 + 0.3)
        self.assertEqual(self.cp.stats()["total"], before + 2, "no attempt while open")
        self.cp.reset()
        t.join(30 * SLOW)
        self.assertEqual((res["status"], res["attempts"], res["circuit"]), ("OK", 3, "closed"),
                         res)
        self.assertGreaterEqual(res["elapsed_ms"], 2 * 500 + self.COOLDOWN_MS * 0.99)
        self.assertEqual(self.cp.stats()["total"], before + 3)
        p.close()

    def test_breaker_off(self):
        """--no-breaker: every call dials (and pays the connect timeout)."""
        p = self.probe(HEALTH, "--connect-timeout-ms", "300", "--no-breaker",
                       "--no-reconnect-backoff")
        self.assertEqual(p.call()["status"], "OK")
        self.hold()
        for _ in range(6):
            r = p.call()
            self.assertEqual((r["status"], r["attempts"], r["circuit"]),
                             ("UNAVAILABLE", 1, "closed"), r)
            self.assertGreaterEqual(r["elapsed_ms"], 300 * 0.99)
        p.close()


class Retries(ProxiedCase):

    def reset_each_connection(self, toxicity):
        self.cp.add("rst", "reset_peer", "downstream", toxicity=toxicity, timeout=0)

    def test_reads_retried_through_reset_peer(self):
        """Half the connections are reset as they open (reset_peer,
        toxicity 0.5, a fixed seed).  A retry-safe read is sent again on a
        new connection until one passes: every call succeeds, and the
        attempts add up to the connections the proxy saw."""
        self.reset_each_connection(0.5)
        p = self.probe(LIST, "--retry-safe", "--max-attempts", "30",
                       "--retry-backoff-ms", "5", "--reconnect-backoff-ms", "5",
                       "--no-breaker", "--deadline-ms", str(int(20000 * SLOW)))
        attempts = []
        for _ in range(12):
            before = self.cp.stats()["total"]
            r = p.call()
            self.assertEqual(r["status"], "OK", r)
            attempts.append(r["attempts"])
            self.assertEqual(self.cp.stats()["total"] - before, r["attempts"])
            # the next call needs a connection of its own again
            self.cp.down()
            self.cp.up()
        p.close()
        self.assertTrue(any(a > 1 for a in attempts), attempts)
        self.assertTrue(any(a == 1 for a in attempts), attempts)

    def test_not_retry_safe_reads_are_not_retried(self):
        """The same resets, calls not marked retry-safe: each either
        passes on its one connection or fails UNAVAILABLE after one
        attempt."""
        self.reset_each_connection(0.5)
        p = self.probe(LIST, "--no-breaker", "--no-reconnect-backoff")
        seen = set()
        for _ in range(12):
            before = self.cp.stats()["total"]
            r = p.call()
            self.assertEqual(r["attempts"], 1, r)
            self.assertEqual(self.cp.stats()["total"] - before, 1)
            seen.add(r["status"])
            self.cp.down()
            self.cp.up()
        p.close()
        self.assertEqual(seen, {"OK", "UNAVAILABLE"})

    def test_vcli_read_retried(self):
        """vcli gov list through the resets: exit 0 with the default
        --retries, or (no retries) exit 3 at the first reset."""
        self.reset_each_connection(1.0)
        r = self.vcli("--no-retry", "gov", "list")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertNotIn("attempts", r.stderr)
        r = self.vcli("--retries", "2", "--reconnect-backoff", "10ms", "gov", "list")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("(after 3 attempts)", r.stderr)
        self.cp.reset()
        self.reset_each_connection(0.5)
        for _ in range(5):
            r = self.vcli("--retries", "30", "--reconnect-backoff", "5ms",
                          "--retry-backoff", "5ms", "--breaker", "0", "gov", "list",
                          "-o", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            json.loads(r.stdout)

    def lose_the_answer(self, argv, gov):
        """Runs vcli with argv while the server's answers are held; once
        the server has done the work (the decision count moves), closes
        every connection: the client never hears.  Returns the process's
        result and the count before."""
        before = gov.metrics().total_decisions
        self.cp.add("hold", "timeout", "downstream", timeout=0)
        p = subprocess.Popen([VCLI] + argv, env=vcli_env(self.cp.addr, self.tmp),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: gov.metrics().total_decisions == before + 1, 10 * SLOW,
                     interval=0.01, what="governd to store the decision")
            self.cp.down()
            time.sleep(0.2)
            self.cp.reset()
            out, err = p.communicate(timeout=60 * SLOW)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        return p.returncode, out, err, before

    def decision_file(self, key=None):
        doc = {"operationType": uniq("resil"), "priority": "LOW", "slaSeconds": 600,
               "riskAssessment": {"score": 0.2, "level": "LOW"}}
        if key:
            doc["idempotencyKey"] = key
        path = os.path.join(self.tmp, uniq("d") + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path, doc["operationType"]

    def test_submit_without_key_sent_once(self):
        """A submission without an idempotency key is not retry-safe: its
        answer lost, vcli exits 3 and says nothing more was sent — the
        server holds exactly one decision for it, not two."""
        g = self.direct()
        path, op = self.decision_file()
        rc, out, err, before = self.lose_the_answer(
            ["--retries", "5", "--reconnect-backoff", "10ms", "gov", "submit", "-f", path], g)
        self.assertEqual(rc, 3, err)
        self.assertNotIn("attempts", err)
        time.sleep(0.5)
        self.assertEqual(g.metrics().total_decisions, before + 1)

    def test_submit_with_key_retried_to_one_decision(self):
        """With a key the same lost answer is retried: vcli exits 0 with
        the decision the first attempt made (the server says the key was
        used), and there is still exactly one."""
        g = self.direct()
        key = uniq("key")
        path, op = self.decision_file(key)
        rc, out, err, before = self.lose_the_answer(
            ["--retries", "20", "--reconnect-backoff", "20ms", "--timeout", "30s",
             "gov", "submit", "-f", path], g)
        self.assertEqual(rc, 0, err)
        self.assertIn("was used before", err)
        did = out.strip()
        self.assertEqual(g.get(did).idempotency_key, key)
        self.assertEqual(g.metrics().total_decisions, before + 1)

    def test_approve_answer_lost_retried_once_applied(self):
        """approve carries a request id: its lost answer is retried, and
        the decision is approved once, with that request id."""
        g = self.direct()
        did = g.submit(operation_type=uniq("approve")).decision.decision_id
        env = vcli_env(self.cp.addr, self.tmp)
        r = subprocess.run([VCLI, "--operator", "ana", "session", "open"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.cp.add("hold", "timeout", "downstream", timeout=0)
        p = subprocess.Popen([VCLI, "--operator", "ana", "--retries", "20",
                              "--reconnect-backoff", "20ms", "--timeout", "30s",
                              "gov", "approve", did, "--request-id", "rid-" + did],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            wait_for(lambda: g.get(did).status == "APPROVED", 10 * SLOW, interval=0.01,
                     what="the approval")
            self.cp.down()
            time.sleep(0.2)
            self.cp.reset()
            out, err = p.communicate(timeout=60 * SLOW)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        d = g.get(did)
        self.assertEqual(d.status, "APPROVED")
        self.assertEqual(d.history.request_id, "rid-" + did)
        self.assertEqual(d.history.reviewed_by, "ana")


class Bench(ProxiedCase):

    def bench_through_outage(self, *args):
        """vcli bench HealthCheck for 1.5 s through the proxy, which drops
        every connection and refuses new ones for 0.3 s in the middle."""
        p = subprocess.Popen(
            [VCLI, "bench", "HealthCheck", "-z", "1.5s", "--concurrency", "4", "-o", "json",
             "-t", "10s", "--no-progress"] + list(args),
            env=vcli_env(self.cp.addr, self.tmp), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: self.cp.stats()["bytes_downstream"] > 10000, 10 * SLOW,
                     interval=0.01, what="the load to start")
            time.sleep(0.3)
            self.cp.down()
            time.sleep(0.3)
            self.cp.up()
            out, err = p.communicate(timeout=60 * SLOW)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        return json.loads(out)

    def test_default_is_one_attempt(self):
        """Without --retry the outage shows as UNAVAILABLE errors, as it
        always did, and retries is 0."""
        d = self.bench_through_outage()
        self.assertIs(d["retry"], False)
        self.assertEqual(d["retries"], 0)
        self.assertGreater(d["status"].get("UNAVAILABLE", 0), 0, d["status"])

    def test_retry_rides_out_the_outage(self):
        """With --retry every call ends OK: the ones the outage caught were
        sent again once the proxy listened again."""
        d = self.bench_through_outage("--retry", "--retries", "50", "--reconnect-backoff",
                                      "10ms", "--breaker-cooldown", "300ms")
        self.assertIs(d["retry"], True)
        self.assertEqual(d["status"], {"OK": d["count"]})
        self.assertGreater(d["retries"], 0)

    def test_retry_not_with_a_suite(self):
        r = self.vcli("bench", "--suite", "validation", "--retry")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--retry is for a load of your own", r.stderr)


class KillUnderLoad(unittest.TestCase):
    """vcli approvals with request ids, governd SIGKILLed and restarted
    in the middle of them, while other clients read."""

    def setUp(self):
        self.gd = Governd(name="resil-kill", db=True, log_level="info")
        self.gd.start()
        self.addCleanup(self.gd.cleanup)
        self.tmp = os.path.join(self.gd.state_dir, uniq("vcli"))
        os.makedirs(self.tmp)

    def tearDown(self):
        if self.gd.running():
            self.gd.stop()

    def test_sigkill_restart_under_load_exactly_once(self):
        g = Gov.connect(self.gd)
        dids = [g.submit(operation_type="kill9-approve").decision.decision_id
                for _ in range(80)]
        g.close()
        env = vcli_env(self.gd.addr, self.tmp)
        r = subprocess.run([VCLI, "--operator", "ana", "session", "open"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        acked, failed, lock = {}, [], threading.Lock()
        stop = threading.Event()
        reads = {"ok": 0, "failed": 0}

        def approver(chunk):
            for did in chunk:
                p = subprocess.run(
                    [VCLI, "--operator", "ana", "--retries", "40",
                     "--reconnect-backoff", "50ms", "--timeout", "60s", "-o", "json",
                     "gov", "approve", did, "--request-id", "kill-" + did],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    timeout=120 * SLOW)
                with lock:
                    if p.returncode == 0:
                        acked[did] = json.loads(p.stdout)
                    else:
                        failed.append((did, p.returncode, p.stderr))

        def reader():
            while not stop.is_set():
                p = subprocess.run([VCLI, "--retries", "40", "--reconnect-backoff", "50ms",
                                    "--timeout", "60s", "gov", "list", "-o", "json"],
                                   env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=120 * SLOW)
                reads["ok" if p.returncode == 0 else "failed"] += 1

        ts = [threading.Thread(target=approver, args=(dids[i::4],)) for i in range(4)]
        rs = [threading.Thread(target=reader) for _ in range(2)]
        for t in ts + rs:
            t.start()
        try:
            wait_for(lambda: len(acked) >= 20, 60 * SLOW, interval=0.01, what="20 approvals")
            with lock:
                before_kill = set(acked)
            self.gd.kill9()
            time.sleep(0.5)
            self.gd.restart()
            for t in ts:
                t.join(300 * SLOW)
        finally:
            stop.set()
            for t in rs:
                t.join(120 * SLOW)
        self.assertEqual(failed, [], "every approval carried on to the end")
        self.assertEqual(len(acked), len(dids))
        self.assertLess(len(before_kill), len(dids), "the kill came in the middle")
        self.assertEqual(reads["failed"], 0, reads)
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        for did in dids:
            d = g.get(did)
            # approved exactly once, by the request id vcli sent: a second
            # application would have been refused (FAILED_PRECONDITION) and
            # vcli would have exited 8
            self.assertEqual(d.status, "APPROVED", did)
            self.assertEqual(d.history.request_id, "kill-" + did)
        m = g.metrics()
        self.assertEqual(m.approved_count, len(dids))
        self.assertEqual(m.total_decisions, len(dids))


if __name__ == "__main__":
    run_main()
