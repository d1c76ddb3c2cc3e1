#!/usr/bin/python3
"""vcli's governance commands end to end against the real governd:
gov list/get/approve/reject/escalate/submit/metrics/stats/watch, session
open/close/show, config show; -o json parsed with the protobuf JSON mapping
and cross-checked against what python3-grpcio reads from the same governd;
exit codes (`vcli --help`: 2 usage, 3 unreachable, 7 not found, 8 conflict,
9 rejected input); the remembered session and its transparent renewal.
XDG_STATE_HOME, XDG_CONFIG_HOME and HOME point at temporary directories."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from google.protobuf import json_format  # noqa: E402

from harness import (  # noqa: E402
    SLOW, VCLI, Gov, governance_pb2, Governd, GoverndCase, run_main, run_tool, ts_float,
    uniq, wait_for)

pb = governance_pb2
DID_RE = r"^d-[0-9a-f]{32}$"
SID_RE = r"^s-[0-9a-f]{32}$"
UNKNOWN_DID = "d-" + "0" * 32

EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_REJECTED = 2, 3, 7, 8, 9


def dead_addr():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return addr


def parse(text, msg):
    """-o json output (one object) as a protobuf message; unknown keys fail."""
    return json_format.Parse(text, msg)


class Env:
    """A user's environment: temporary HOME and XDG directories, the server,
    an operator."""

    def __init__(self, addr, operator):
        self.dir = tempfile.mkdtemp(prefix="vcli-itest-user-")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "config")
        self.home = os.path.join(self.dir, "home")
        for d in (self.state, self.config, self.home):
            os.makedirs(d)
        self.vars = {
            "HOME": self.home, "XDG_STATE_HOME": self.state, "XDG_CONFIG_HOME": self.config,
            "VCLI_GOVERNANCE_ENDPOINT": addr, "VCLI_OPERATOR": operator, "NO_COLOR": "1",
            "VCLI_TIMEOUT": "", "VCLI_OUTPUT": "", "VCLI_CONFIG": "", "VCLI_TLS_CA": "",
            "VCLI_TLS_CERT": "", "VCLI_TLS_KEY": "", "VCLI_TLS_SERVER_NAME": "",
        }
        self.operator = operator

    def run(self, *args, input=None, timeout=30, **extra):
        if not os.path.exists(VCLI):
            raise AssertionError("vcli not built: %s" % VCLI)
        e = dict(self.vars)
        e.update(extra)
        r = run_tool([VCLI] + list(args), timeout=timeout * SLOW, env=e, input=input)
        r.args_ = args
        return r

    def cleanup(self):
        shutil.rmtree(self.dir, True)


def out(r):
    return "vcli %s: exit %s\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(r.args_), r.returncode, r.stdout[-3000:], r.stderr[-3000:])


class CliCase(GoverndCase):
    GOVERND_KWARGS = {"db": True}
    NAME = "gov-cli"

    def setUp(self):
        self.gov = Gov.connect(self.gd)
        self.env = Env(self.gd.addr, uniq("alice"))
        self.op = uniq("op").replace("-", "_")

    def tearDown(self):
        self.gov.close()
        self.env.cleanup()

    def ok(self, *args, **kw):
        r = self.env.run(*args, **kw)
        self.assertEqual(r.returncode, 0, out(r))
        return r

    def fails(self, code, *args, needles=(), **kw):
        r = self.env.run(*args, **kw)
        self.assertEqual(r.returncode, code, out(r))
        self.assertEqual(r.stdout, "", "errors go to stderr only\n" + out(r))
        self.assertTrue(r.stderr.startswith("vcli: "), out(r))
        for n in needles:
            self.assertIn(n, r.stderr, out(r))
        return r

    def seed(self, n=1, **over):
        over.setdefault("operation_type", self.op)
        return [self.gov.submit(**over).decision for _ in range(n)]


class GovCommands(CliCase):

    def test_list(self):
        ds = self.seed(1, priority="LOW") + self.seed(2, priority="CRITICAL") + \
            self.seed(1, priority="HIGH", assigned_operator="bob-" + self.op)
        extra = self.seed(1)[0]
        sid = self.gov.session("seed")
        self.gov.approve(sid, extra.decision_id)
        want = self.gov.list(operation_type=self.op)
        r = self.ok("gov", "list", "--type", self.op, "-o", "json")
        got = parse(r.stdout, pb.ListPendingDecisionsResponse())
        self.assertEqual(got, want)
        self.assertEqual(got.total_count, 4)
        # table: a header and one row per decision, in the same order
        r = self.ok("gov", "list", "--type", self.op)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        self.assertIn("ID", lines[0])
        self.assertIn("PRIORITY", lines[0])
        ids = [re.search(r"d-[0-9a-f]{32}", ln).group(0) for ln in lines[1:]]
        self.assertEqual(ids, [d.decision_id for d in want.decisions])
        # filters
        for args, fields in ((["--priority", "CRITICAL"], {"priority": "CRITICAL"}),
                             (["--priority", "critical"], {"priority": "CRITICAL"}),
                             (["--assigned", "bob-" + self.op], {"assigned_operator": "bob-" + self.op}),
                             (["--status", "APPROVED"], {"status": "APPROVED"})):
            with self.subTest(args=args):
                r = self.ok("gov", "list", "--type", self.op, "-o", "json", *args)
                got = parse(r.stdout, pb.ListPendingDecisionsResponse())
                self.assertEqual(got, self.gov.list(operation_type=self.op, **fields))
                self.assertGreater(len(got.decisions), 0)
        self.fails(EXIT_REJECTED, "gov", "list", "--status", "bogus", needles=["BOGUS"])
        # an empty result: a note on stderr, exit 0
        r = self.ok("gov", "list", "--type", self.op + "-none")
        self.assertIn("no decisions match", r.stderr)
        self.assertNotRegex(r.stdout, r"d-[0-9a-f]{32}")
        self.assertIsNotNone(ds)

    def test_list_paging(self):
        made = self.seed(23, priority="MEDIUM")
        want = [d.decision_id for d in self.gov.list(operation_type=self.op).decisions]
        self.assertEqual(sorted(want), sorted(d.decision_id for d in made))
        r = self.ok("gov", "list", "--type", self.op, "--limit", "10", "-o", "json")
        p1 = parse(r.stdout, pb.ListPendingDecisionsResponse())
        self.assertEqual(len(p1.decisions), 10)
        self.assertEqual(p1.total_count, 23)
        self.assertTrue(p1.next_page_token)
        r = self.ok("gov", "list", "--type", self.op, "--limit", "10", "--page-token",
                    p1.next_page_token, "-o", "json")
        p2 = parse(r.stdout, pb.ListPendingDecisionsResponse())
        self.assertEqual([d.decision_id for d in list(p1.decisions) + list(p2.decisions)], want[:20])
        r = self.env.run("gov", "list", "--type", self.op, "--limit", "4", "--all", "-o", "json")
        self.assertEqual(r.returncode, 0, out(r))
        allp = parse(r.stdout, pb.ListPendingDecisionsResponse())
        self.assertEqual([d.decision_id for d in allp.decisions], want)
        self.fails(EXIT_REJECTED, "gov", "list", "--type", self.op, "--page-token", "garbage")

    def test_get(self):
        d = self.seed(1, priority="HIGH")[0]
        r = self.ok("gov", "get", d.decision_id, "-o", "json")
        self.assertEqual(parse(r.stdout, pb.Decision()), self.gov.get(d.decision_id))
        r = self.ok("gov", "get", d.decision_id)
        self.assertIn(d.decision_id, r.stdout)
        self.assertIn("PENDING", r.stdout)
        self.assertIn(self.op, r.stdout)
        r = self.ok("gov", "get", d.decision_id, "-o", "yaml")
        self.assertIn(d.decision_id, r.stdout)
        self.fails(EXIT_NOT_FOUND, "gov", "get", UNKNOWN_DID, needles=[UNKNOWN_DID])
        self.fails(EXIT_USAGE, "gov", "get")
        self.fails(EXIT_REJECTED, "gov", "get", "")

    def test_approve_reject_escalate(self):
        a, b, c, e = self.seed(4)
        op = self.env.operator
        r = self.ok("gov", "approve", a.decision_id, "--comment", "fine", "--reasoning", "low risk",
                    "--request-id", "rq-" + a.decision_id, "-o", "json")
        resp = parse(r.stdout, pb.ApproveDecisionResponse())
        x = self.gov.get(a.decision_id)
        self.assertTrue(resp.success)
        self.assertEqual(resp.decision, x)
        self.assertEqual(x.status, "APPROVED")
        self.assertEqual(x.history.reviewed_by, op)
        self.assertEqual((x.history.comment, x.history.reasoning), ("fine", "low risk"))
        self.assertEqual(x.history.request_id, "rq-" + a.decision_id)
        # a retry with the same request id: the original outcome, exit 0
        r = self.ok("gov", "approve", a.decision_id, "--request-id", "rq-" + a.decision_id,
                    "-o", "json")
        self.assertEqual(parse(r.stdout, pb.ApproveDecisionResponse()).processed_at,
                         resp.processed_at)
        # the same request id on another decision: conflict
        self.fails(EXIT_CONFLICT, "gov", "approve", b.decision_id,
                   "--request-id", "rq-" + a.decision_id)
        # the first resolution wins
        self.fails(EXIT_CONFLICT, "gov", "approve", a.decision_id, needles=["APPROVED"])
        self.fails(EXIT_CONFLICT, "gov", "reject", a.decision_id, "--comment", "late",
                   needles=["APPROVED"])
        self.fails(EXIT_NOT_FOUND, "gov", "approve", UNKNOWN_DID, needles=[UNKNOWN_DID])
        # reject
        self.fails(EXIT_USAGE, "gov", "reject", b.decision_id)
        self.assertEqual(self.gov.get(b.decision_id).status, "PENDING")
        before = int(time.time() * 1000)
        r = self.ok("gov", "reject", b.decision_id, "--reasoning", "too broad")
        after = int(time.time() * 1000)
        self.assertIn(b.decision_id, r.stdout)
        x = self.gov.get(b.decision_id)
        self.assertEqual((x.status, x.history.reviewed_by, x.history.reasoning),
                         ("REJECTED", op, "too broad"))
        # vcli's own request id: vcli-, then the time in ms (12 hex digits,
        # so ids sort by time), then 20 random hex digits
        self.assertRegex(x.history.request_id, r"^vcli-[0-9a-f]{32}$")
        self.assertTrue(before <= int(x.history.request_id[5:17], 16) <= after,
                        (before, x.history.request_id, after))
        # escalate
        self.fails(EXIT_USAGE, "gov", "escalate", c.decision_id)
        self.ok("gov", "escalate", c.decision_id, "--to", "lead-" + self.op, "--reason", "unsure")
        x = self.gov.get(c.decision_id)
        self.assertEqual((x.status, x.escalated_to, x.escalated_by, x.escalation_reason,
                          x.assigned_operator),
                         ("ESCALATED", "lead-" + self.op, op, "unsure", "lead-" + self.op))
        r = self.ok("gov", "list", "--assigned", "lead-" + self.op, "-o", "json")
        self.assertEqual([d.decision_id for d in
                          parse(r.stdout, pb.ListPendingDecisionsResponse()).decisions],
                         [c.decision_id])
        self.ok("gov", "approve", c.decision_id)
        self.assertEqual(self.gov.get(c.decision_id).status, "APPROVED")
        # writes need an operator
        self.fails(EXIT_USAGE, "gov", "approve", e.decision_id, VCLI_OPERATOR="")
        self.assertEqual(self.gov.get(e.decision_id).status, "PENDING")
        # --operator wins over the environment
        self.ok("gov", "approve", e.decision_id, "--operator", "flag-" + self.op)
        self.assertEqual(self.gov.get(e.decision_id).history.reviewed_by, "flag-" + self.op)

    def test_submit(self):
        doc = {
            "operationType": self.op, "priority": "HIGH", "slaSeconds": 900,
            "context": {"host": "web-7"},
            "riskAssessment": {"score": 0.61, "level": "HIGH", "factors": ["beaconing"]},
            "ethicalAssessment": {"principles": [{"name": "proportionality", "severity": 0.3}],
                                  "confidence": 0.7},
            "recommendedActions": [{"actionType": "isolate", "confidence": 0.8,
                                    "parameters": {"vlan": "quarantine"}}],
            "assignedOperator": "bob",
        }
        path = os.path.join(self.env.dir, "decision.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = self.ok("gov", "submit", "-f", path)
        did = r.stdout.strip()
        self.assertRegex(did, DID_RE)
        x = self.gov.get(did)
        want = json_format.ParseDict(doc, pb.Decision())
        for f in ("operation_type", "priority", "sla_seconds", "context", "risk_assessment",
                  "ethical_assessment", "recommended_actions", "assigned_operator"):
            self.assertEqual(getattr(x, f), getattr(want, f), f)
        self.assertEqual(x.status, "PENDING")
        # stdin, snake_case names, -o json: the stored decision
        snake = {"operation_type": self.op, "priority": "LOW", "sla_seconds": 60,
                 "risk_assessment": {"score": 0.1}}
        r = self.ok("gov", "submit", "-f", "-", "-o", "json", input=json.dumps(snake))
        d = parse(r.stdout, pb.Decision())
        self.assertEqual(d, self.gov.get(d.decision_id))
        self.assertEqual((d.priority, d.sla_seconds), ("LOW", 60))
        # idempotency key: in the file, or the flag
        keyed = dict(doc, idempotencyKey=uniq("key"))
        first = self.ok("gov", "submit", "-f", "-", input=json.dumps(keyed)).stdout.strip()
        again = self.ok("gov", "submit", "-f", "-", input=json.dumps(dict(keyed, priority="LOW")))
        self.assertEqual(again.stdout.strip(), first)
        k = uniq("key")
        one = self.ok("gov", "submit", "-f", path, "--idempotency-key", k).stdout.strip()
        two = self.ok("gov", "submit", "-f", path, "--idempotency-key", k).stdout.strip()
        self.assertEqual(one, two)
        self.assertNotEqual(one, first)
        # refused: by the file's parser or by the server
        for bad, needle in (("not json", None), ('{"operationType": "x", "bogusField": 1}', "bogusField"),
                            (json.dumps(dict(doc, priority="URGENT")), "URGENT"),
                            (json.dumps(dict(doc, slaSeconds=0)), "sla_seconds"),
                            (json.dumps(dict(doc, riskAssessment={"score": 1.5})), "score")):
            with self.subTest(input=bad[:40]):
                self.fails(EXIT_REJECTED, "gov", "submit", "-f", "-", input=bad,
                           needles=[needle] if needle else [])
        self.fails(EXIT_USAGE, "gov", "submit")
        self.assertNotEqual(self.env.run("gov", "submit", "-f", "/nonexistent/x.json").returncode, 0)

    def test_metrics_and_stats(self):
        a, b, c = self.seed(3)
        self.ok("gov", "approve", a.decision_id)
        self.ok("gov", "reject", b.decision_id, "--comment", "no")
        self.ok("gov", "escalate", c.decision_id, "--to", "x")
        r = self.ok("gov", "metrics", "-o", "json")
        self.assertEqual(parse(r.stdout, pb.DecisionMetrics()), self.gov.metrics())
        r = self.ok("gov", "metrics")
        self.assertIn("PENDING", r.stdout)
        r = self.ok("gov", "stats", "-o", "json")
        got = parse(r.stdout, pb.GetSessionStatsResponse())
        want = self.gov.stats(self.env.operator)
        self.assertEqual(got, want)
        self.assertEqual((got.approved, got.rejected, got.escalated, got.total_decisions),
                         (1, 1, 1, 3))
        self.fails(EXIT_NOT_FOUND, "gov", "stats", "--operator", uniq("nobody"))

    def test_unreachable(self):
        r = self.env.run("gov", "list", "--server", dead_addr())
        self.assertEqual(r.returncode, EXIT_UNREACHABLE, out(r))
        r = self.env.run("gov", "approve", UNKNOWN_DID, VCLI_GOVERNANCE_ENDPOINT=dead_addr())
        self.assertEqual(r.returncode, EXIT_UNREACHABLE, out(r))


class Sessions(CliCase):

    def session_file(self):
        r = self.ok("session", "show", "-o", "json")
        return json.loads(r.stdout)

    def test_open_show_close(self):
        self.fails(EXIT_NOT_FOUND, "session", "show")
        r = self.ok("session", "open", "-o", "json")
        opened = json.loads(r.stdout)
        sid = opened["sessionId"]
        self.assertRegex(sid, SID_RE)
        shown = self.session_file()
        self.assertEqual(shown["sessionId"], sid)
        self.assertEqual(shown["operator"], self.env.operator)
        self.assertTrue(shown["file"].startswith(self.env.state + os.sep), shown)
        self.assertTrue(os.path.exists(shown["file"]))
        # the server knows it: it is open and the operator's
        d = self.seed(1)[0]
        self.assertEqual(self.gov.approve(sid, d.decision_id).decision.history.reviewed_by,
                         self.env.operator)
        # opening again closes the remembered one first
        sid2 = json.loads(self.ok("session", "open", "-o", "json").stdout)["sessionId"]
        self.assertNotEqual(sid2, sid)
        d2 = self.seed(1)[0]
        self.assertEqual(self.gov.code("ApproveDecision", session_id=sid,
                                       decision_id=d2.decision_id)[0].name, "UNAUTHENTICATED")
        # close: the server closes it, the file is forgotten
        self.ok("session", "close")
        self.assertEqual(self.gov.code("ApproveDecision", session_id=sid2,
                                       decision_id=d2.decision_id)[0].name, "UNAUTHENTICATED")
        self.fails(EXIT_NOT_FOUND, "session", "show")
        self.assertFalse(os.path.exists(shown["file"]))
        r = self.ok("session", "close")     # none remembered: says so, exit 0
        self.assertTrue(r.stdout.strip() or r.stderr.strip())

    def test_writes_reuse_the_remembered_session(self):
        a, b = self.seed(2)
        self.ok("gov", "approve", a.decision_id)
        sid = self.session_file()["sessionId"]
        self.ok("gov", "approve", b.decision_id)
        self.assertEqual(self.session_file()["sessionId"], sid)
        st = self.gov.stats(self.env.operator)
        self.assertEqual(st.approved, 2)

    def test_transparent_renewal(self):
        a, b = self.seed(2)
        sid = json.loads(self.ok("session", "open", "-o", "json").stdout)["sessionId"]
        # another client closes it
        self.assertTrue(self.gov.close_session(sid).success)
        r = self.ok("gov", "approve", a.decision_id, "--request-id", "rq-" + a.decision_id)
        new = self.session_file()["sessionId"]
        self.assertNotEqual(new, sid)
        x = self.gov.get(a.decision_id)
        self.assertEqual((x.status, x.history.reviewed_by, x.history.request_id),
                         ("APPROVED", self.env.operator, "rq-" + a.decision_id))
        self.assertIn(a.decision_id, r.stdout)
        # a session the server never knew (a different server's, say)
        path = self.session_file()["file"]
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace(new, "s-" + "0" * 32))
        self.ok("gov", "reject", b.decision_id, "--comment", "renewed")
        self.assertEqual(self.gov.get(b.decision_id).status, "REJECTED")
        self.assertNotIn(self.session_file()["sessionId"], (new, "s-" + "0" * 32))


class Config(CliCase):

    def test_precedence_flag_env_file_default(self):
        cfgdir = os.path.join(self.env.config, "vcli")
        os.makedirs(cfgdir)
        with open(os.path.join(cfgdir, "config"), "w") as f:
            f.write("operator = file-%s\ntimeout = 3s\nserver = %s\n" % (self.op, dead_addr()))
        r = self.ok("config", "show", "-o", "json", "--timeout", "7s", VCLI_OPERATOR="",
                    VCLI_GOVERNANCE_ENDPOINT=self.gd.addr)
        c = json.loads(r.stdout)
        self.assertEqual(c["timeout"], {"value": "7s", "source": "flag --timeout"})
        self.assertEqual(c["server"]["value"], self.gd.addr)
        self.assertEqual(c["server"]["source"], "env VCLI_GOVERNANCE_ENDPOINT")
        self.assertEqual(c["operator"]["value"], "file-" + self.op)
        self.assertRegex(c["operator"]["source"], r"/vcli/config:1$")
        self.assertEqual(c["connect-timeout"]["source"], "default")
        # the file's operator is the one that reviews
        d = self.seed(1)[0]
        self.ok("gov", "approve", d.decision_id, VCLI_OPERATOR="")
        self.assertEqual(self.gov.get(d.decision_id).history.reviewed_by, "file-" + self.op)
        # a bad config file is a usage error
        with open(os.path.join(cfgdir, "config"), "w") as f:
            f.write("this is not a setting\n")
        self.assertEqual(self.env.run("gov", "list").returncode, EXIT_USAGE)


def spawn_watch(env, *args):
    e = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy"):
        e.pop(k, None)
    e.update(env.vars)
    p = subprocess.Popen([VCLI, "gov", "watch", "-o", "json"] + list(args), env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []

    def read():
        for ln in p.stdout:
            lines.append(ln)
    t = threading.Thread(target=read, daemon=True)
    t.start()
    p.lines = lines
    p.reader = t
    return p


def events(lines):
    return [json_format.Parse(ln, pb.DecisionEvent()) for ln in list(lines) if ln.strip()]


class Watch(unittest.TestCase):

    def setUp(self):
        self.gd = Governd(name="gov-cli-watch", db=True)
        self.gd.start()
        self.gov = Gov.connect(self.gd)
        self.env = Env(self.gd.addr, uniq("watcher"))
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        self.gov.close()
        self.env.cleanup()
        try:
            if self.gd.running():
                self.gd.stop()
        finally:
            self.gd.cleanup()

    def watch(self, *args):
        p = spawn_watch(self.env, *args)
        self.procs.append(p)
        return p

    def wait_lines(self, p, pred, timeout, what):
        return wait_for(lambda: pred(events(p.lines)) or (p.poll() is not None and
                        self.fail("vcli gov watch exited %s: %s" % (p.returncode, p.stderr.read()))),
                        timeout, interval=0.05, what=what)

    def test_watch_resumes_after_a_restart(self):
        p = self.watch()
        # live from now: wait until it prints
        def started():
            self.gov.submit(operation_type="marker")
            time.sleep(0.2)
            return events(p.lines)
        wait_for(started, 10 * SLOW, interval=0.01, what="vcli gov watch to print")
        sid = self.gov.session("w")
        ds = [self.gov.submit(operation_type="before").decision for _ in range(3)]
        self.gov.approve(sid, ds[0].decision_id)
        self.wait_lines(p, lambda ev: sum(1 for e in ev if e.decision.operation_type == "before"
                                          or e.type == pb.DecisionEvent.DECISION_RESOLVED) >= 4,
                        10 * SLOW, "events before the restart")
        self.gd.stop()
        # down long enough for vcli's back-off to grow past 1 s, so that the
        # changes below are made while it is not connected
        time.sleep(1.5)
        self.gd.restart()
        self.gov.close()
        self.gov = Gov.connect(self.gd)
        # changes right after the restart, probably before vcli reconnects
        sid = self.gov.session("w")
        after = [self.gov.submit(operation_type="after").decision for _ in range(3)]
        self.gov.reject(sid, ds[1].decision_id, comment="after the restart")
        evs = self.wait_lines(p, lambda ev: ev if sum(1 for e in ev if e.decision.decision_id in
                                                     {d.decision_id for d in after} |
                                                     {ds[1].decision_id}) >= 4 else None,
                              15 * SLOW, "events after the restart")
        time.sleep(0.3)
        evs = events(p.lines)
        seqs = [e.sequence for e in evs]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))),
                         "no gap, no duplicate across the restart")
        self.assertEqual(p.poll(), None, "watch keeps running")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10 * SLOW), 0)

    def test_watch_restart_before_the_first_event_misses_nothing(self):
        """The stream starts "from now on"; governd restarts before any
        event reached vcli, and decisions are made while it reconnects:
        vcli still prints them, because "now" was a sequence number."""
        old = [self.gov.submit(operation_type="old").decision for _ in range(2)]
        p = self.watch()
        # connected: governd's call log shows the GetMetrics vcli asked
        # for its starting point; give the stream itself a moment
        self.gd.wait_call(method="/vertice.governance.v1.GovernanceService/GetMetrics",
                          timeout=10)
        time.sleep(0.5)
        self.assertEqual(events(p.lines), [], "nothing happened yet")
        self.gd.stop()
        time.sleep(1.5)      # vcli's back-off grows past 1 s
        self.gd.restart()
        self.gov.close()
        self.gov = Gov.connect(self.gd)
        new = [self.gov.submit(operation_type="new").decision for _ in range(3)]
        evs = self.wait_lines(p, lambda ev: ev if len(ev) >= 3 else None, 15 * SLOW,
                              "the three decisions made while vcli reconnected")
        time.sleep(0.3)
        evs = events(p.lines)
        self.assertEqual([e.decision.decision_id for e in evs],
                         [d.decision_id for d in new])
        self.assertEqual([e.sequence for e in evs], [len(old) + 1, len(old) + 2, len(old) + 3])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10 * SLOW), 0)

    def test_watch_resume_after(self):
        ds = [self.gov.submit(operation_type="hist").decision for _ in range(5)]
        p = self.watch("--resume-after", "2")
        evs = self.wait_lines(p, lambda ev: ev if len(ev) >= 3 else None, 10 * SLOW,
                              "history after 2")
        self.assertEqual([e.sequence for e in evs[:3]], [3, 4, 5])
        self.assertEqual([e.decision.decision_id for e in evs[:3]],
                         [d.decision_id for d in ds[2:]])
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(10 * SLOW), 0)
        # beyond the last event: rejected input
        r = self.env.run("gov", "watch", "--resume-after", "1000")
        self.assertEqual(r.returncode, EXIT_REJECTED, out(r))


if __name__ == "__main__":
    run_main()
