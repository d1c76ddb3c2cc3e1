#!/usr/bin/python3
"""The governance service's unary methods against the real governd (a
temporary SQLite store) through python3-grpcio: SubmitDecision validation
and idempotency, listing (filters, order, limits, paging), GetDecision,
sessions, approve / reject / escalate with request ids, expiry, and the
metrics and session statistics cross-checked against counts computed here.

docs/governance.md is the specification every assertion comes from."""

import math
import os
import re
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    OPEN_STATUSES, PRIORITIES, PRIORITY_RANK, SLOW, Gov, governance_pb2, Governd,
    GoverndCase, StreamReader, proposal, run_main, ts_float, uniq, wait_for)

SC = grpc.StatusCode
pb = governance_pb2
DID_RE = r"^d-[0-9a-f]{32}$"
SID_RE = r"^s-[0-9a-f]{32}$"
UNKNOWN_DID = "d-" + "0" * 32
UNKNOWN_SID = "s-" + "0" * 32


def short(x, n=600):
    """repr of x, cut to n characters (responses can be huge)."""
    r = repr(x) if isinstance(x, str) else str(x)
    return r if len(r) <= n else r[:n] + "... (%d characters)" % len(r)


def unauth_msg(sid):
    return "session '%s' is unknown or closed; open a new one with CreateSession" % sid


class GovApiCase(GoverndCase):
    GOVERND_KWARGS = {"db": True}

    def setUp(self):
        self.gov = Gov.connect(self.gd)
        self.op = uniq("op")

    def tearDown(self):
        self.gov.close()

    # -- helpers

    def assertStatus(self, got, code, *needles):
        """got: (code, details-or-response) from Gov.code()."""
        c, d = got
        self.assertEqual(c, code, "expected %s, got %s: %s" % (code.name, c.name, short(d)))
        for n in needles:
            self.assertIn(n, d)
        return d

    def submit_many(self, n, **over):
        """n submissions of the test's operation type, pipelined."""
        out = []
        for start in range(0, n, 200):
            futs = [self.gov.future("SubmitDecision", decision=proposal(
                        operation_type=over.get("operation_type", self.op),
                        **{k: v for k, v in over.items() if k != "operation_type"}))
                    for _ in range(start, min(n, start + 200))]
            out.extend(f.result().decision for f in futs)
        return out

    def sub(self, **over):
        over.setdefault("operation_type", self.op)
        r = self.gov.submit(**over)
        self.assertTrue(r.created)
        return r.decision

    def session(self, operator=None):
        return self.gov.session(operator or uniq("operator"))


# ====================================================================== submit

def _set(path, value):
    """A mutation setting a nested field (dotted path, [i] for list items)."""
    def f(d):
        obj = d
        parts = path.split(".")
        for p in parts[:-1]:
            m = re.match(r"(\w+)\[(\d+)\]$", p)
            if m:
                lst = getattr(obj, m.group(1))
                while len(lst) <= int(m.group(2)):
                    lst.add()
                obj = lst[int(m.group(2))]
            else:
                obj = getattr(obj, p)
        last = parts[-1]
        m = re.match(r"(\w+)\[(\d+)\]$", last)
        target = getattr(obj, last, None) if not m else None
        if isinstance(value, pb.DecisionHistory) or hasattr(value, "ToDatetime"):
            getattr(obj, last).CopyFrom(value)
        elif target is not None and hasattr(target, "update") and isinstance(value, dict):
            target.clear()
            target.update(value)
        elif target is not None and hasattr(target, "extend") and isinstance(value, list):
            del target[:]
            target.extend(value)
        else:
            setattr(obj, last, value)
    return f


def _now_ts():
    t = pb.Decision().created_at
    t.GetCurrentTime()
    return t


def _principles(n):
    def f(d):
        del d.ethical_assessment.principles[:]
        for i in range(n):
            d.ethical_assessment.principles.add(name="p%d" % i, severity=0.1)
    return f


def _actions(n, params=1):
    def f(d):
        del d.recommended_actions[:]
        for i in range(n):
            a = d.recommended_actions.add(action_type="a%d" % i, confidence=0.5)
            for j in range(params):
                a.parameters["k%d" % j] = "v"
    return f


NAN = float("nan")
INF = float("inf")

# (label, mutation, field name the message must name, value it must name or None)
INVALID_SUBMISSIONS = [
    ("operation_type empty", _set("operation_type", ""), "operation_type", None),
    ("operation_type upper case", _set("operation_type", "Block_IP"), "operation_type", "Block_IP"),
    ("operation_type space", _set("operation_type", "block ip"), "operation_type", "block ip"),
    ("operation_type slash", _set("operation_type", "a/b"), "operation_type", "a/b"),
    ("operation_type 65 chars", _set("operation_type", "a" * 65), "operation_type", None),
    ("operation_type non-ascii", _set("operation_type", "bl\u00f6ck"), "operation_type", None),
    ("priority empty", _set("priority", ""), "priority", None),
    ("priority lower case", _set("priority", "medium"), "priority", "medium"),
    ("priority mixed case", _set("priority", "Medium"), "priority", "Medium"),
    ("priority unknown", _set("priority", "URGENT"), "priority", "URGENT"),
    ("priority padded", _set("priority", " HIGH"), "priority", None),
    ("sla_seconds 0", _set("sla_seconds", 0), "sla_seconds", "0"),
    ("sla_seconds -1", _set("sla_seconds", -1), "sla_seconds", "-1"),
    ("sla_seconds 604801", _set("sla_seconds", 604801), "sla_seconds", "604801"),
    ("sla_seconds int32 min", _set("sla_seconds", -2 ** 31), "sla_seconds", None),
    ("risk score negative", _set("risk_assessment.score", -0.25), "score", "-0.25"),
    ("risk score 1.5", _set("risk_assessment.score", 1.5), "score", "1.5"),
    ("risk score NaN", _set("risk_assessment.score", NAN), "score", "nan"),
    ("risk score +inf", _set("risk_assessment.score", INF), "score", "inf"),
    ("risk score -inf", _set("risk_assessment.score", -INF), "score", "inf"),
    ("risk level lower case", _set("risk_assessment.level", "high"), "level", "high"),
    ("risk level unknown", _set("risk_assessment.level", "SEVERE"), "level", "SEVERE"),
    ("principle severity 1.5", lambda d: (_set("ethical_assessment.principles[1].name", "second")(d),
                                          _set("ethical_assessment.principles[1].severity", 1.5)(d)),
     "severity", "1.5"),
    ("principle severity negative", _set("ethical_assessment.principles[0].severity", -0.5),
     "severity", "-0.5"),
    ("principle severity NaN", _set("ethical_assessment.principles[0].severity", NAN),
     "severity", "nan"),
    ("ethical confidence 2", _set("ethical_assessment.confidence", 2.0), "confidence", "2"),
    ("ethical confidence NaN", _set("ethical_assessment.confidence", NAN), "confidence", "nan"),
    ("ethical confidence -inf", _set("ethical_assessment.confidence", -INF), "confidence", "inf"),
    ("action confidence 1.5", lambda d: (_set("recommended_actions[1].action_type", "second")(d),
                                         _set("recommended_actions[1].confidence", 1.5)(d)),
     "confidence", "1.5"),
    ("action confidence NaN", _set("recommended_actions[0].confidence", NAN),
     "confidence", "nan"),
    # server-owned fields
    ("decision_id set", _set("decision_id", "d-" + "1" * 32), "decision_id", None),
    ("status set", _set("status", "PENDING"), "status", None),
    ("created_at set", lambda d: d.created_at.GetCurrentTime(), "created_at", None),
    ("expires_at set", lambda d: d.expires_at.GetCurrentTime(), "expires_at", None),
    ("history set", lambda d: setattr(d.history, "reviewed_by", "mallory"), "history", None),
    ("escalated_to set", _set("escalated_to", "bob"), "escalated_to", None),
    ("escalation_reason set", _set("escalation_reason", "why"), "escalation_reason", None),
    ("escalated_at set", lambda d: d.escalated_at.GetCurrentTime(), "escalated_at", None),
    ("escalated_by set", _set("escalated_by", "bob"), "escalated_by", None),
    ("updated_at set", lambda d: d.updated_at.GetCurrentTime(), "updated_at", None),
    ("sla_violated set", _set("sla_violated", True), "sla_violated", None),
    # caps
    ("context value 4097 bytes", _set("context", {"k": "v" * 4097}), "context", None),
    ("context 65 entries", _set("context", {"k%d" % i: "v" for i in range(65)}), "context", None),
    ("risk details 65 entries",
     _set("risk_assessment.details", {"k%d" % i: "v" for i in range(65)}), "details", None),
    ("risk factors 65 items", _set("risk_assessment.factors", ["f"] * 65), "factors", None),
    ("risk factor 4097 bytes", _set("risk_assessment.factors", ["f" * 4097]), "factors", None),
    ("concerns 65 items", _set("ethical_assessment.concerns", ["c"] * 65), "concerns", None),
    ("principles 65 items", _principles(65), "principles", None),
    ("recommended_actions 65 items", _actions(65), "recommended_actions", None),
    ("action parameters 65 entries", _actions(1, params=65), "parameters", None),
    ("assigned_operator 129 bytes", _set("assigned_operator", "o" * 129), "assigned_operator", None),
    ("action_type 129 bytes", _set("recommended_actions[0].action_type", "a" * 129),
     "action_type", None),
    ("principle name 129 bytes", _set("ethical_assessment.principles[0].name", "n" * 129),
     "name", None),
    ("ethical reasoning 4097 bytes", _set("ethical_assessment.reasoning", "r" * 4097),
     "reasoning", None),
    ("action description 4097 bytes", _set("recommended_actions[0].description", "x" * 4097),
     "description", None),
    ("principle explanation 4097 bytes",
     _set("ethical_assessment.principles[0].explanation", "x" * 4097), "explanation", None),
]

VALID_SUBMISSIONS = [
    ("sla_seconds 1", _set("sla_seconds", 1)),
    ("sla_seconds 604800", _set("sla_seconds", 604800)),
    ("scores 0", lambda d: (_set("risk_assessment.score", 0.0)(d),
                            _set("ethical_assessment.confidence", 0.0)(d),
                            _set("recommended_actions[0].confidence", 0.0)(d),
                            _set("ethical_assessment.principles[0].severity", 0.0)(d))),
    ("scores 1", lambda d: (_set("risk_assessment.score", 1.0)(d),
                            _set("ethical_assessment.confidence", 1.0)(d),
                            _set("recommended_actions[0].confidence", 1.0)(d),
                            _set("ethical_assessment.principles[0].severity", 1.0)(d))),
    ("risk level empty", _set("risk_assessment.level", "")),
    ("risk level LOW", _set("risk_assessment.level", "LOW")),
    ("risk level CRITICAL", _set("risk_assessment.level", "CRITICAL")),
    ("context value 4096 bytes", _set("context", {"k": "v" * 4096})),
    ("context value 4096 bytes of 2-byte UTF-8", _set("context", {"k": "\u00e9" * 2048})),
    ("context 64 entries", _set("context", {"k%d" % i: "v" for i in range(64)})),
    ("risk factors 64 items", _set("risk_assessment.factors", ["f"] * 64)),
    ("recommended_actions 64 items", _actions(64)),
    ("principles 64 items", _principles(64)),
    ("assigned_operator 128 bytes", _set("assigned_operator", "o" * 128)),
    ("minimal proposal", lambda d: (d.ClearField("context"), d.ClearField("risk_assessment"),
                                    d.ClearField("ethical_assessment"),
                                    d.ClearField("recommended_actions"))),
]


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def _bad_utf8(body, marker):
    """body with marker (ASCII) replaced by the same number of bytes that
    are not UTF-8, so the protobuf framing stays valid."""
    m = marker.encode()
    assert body.count(m) == 1
    bad = (b"\xff\xfe\xc0\x80" * len(m))[:len(m)]
    return body.replace(m, bad)


class Submit(GovApiCase):
    NAME = "gov-api-submit"

    def test_submit_returns_the_stored_pending_decision(self):
        before = time.time()
        p = proposal(operation_type=self.op, priority="HIGH", sla_seconds=600,
                     assigned_operator="alice")
        r = self.gov.submit(p, key=uniq("key"))
        after = time.time()
        d = r.decision
        self.assertTrue(r.created)
        self.assertRegex(d.decision_id, DID_RE)
        self.assertEqual(d.status, "PENDING")
        self.assertEqual(d.operation_type, self.op)
        self.assertEqual(d.priority, "HIGH")
        self.assertEqual(d.sla_seconds, 600)
        self.assertEqual(d.assigned_operator, "alice")
        self.assertEqual(dict(d.context), dict(p.context))
        self.assertEqual(d.risk_assessment, p.risk_assessment)
        self.assertEqual(d.ethical_assessment, p.ethical_assessment)
        self.assertEqual(list(d.recommended_actions), list(p.recommended_actions))
        self.assertFalse(d.sla_violated)
        self.assertEqual(d.escalated_to, "")
        self.assertFalse(d.history.reviewed_by)
        self.assertFalse(d.history.outcome)
        created = ts_float(d.created_at)
        self.assertGreaterEqual(created, before - 1.0)
        self.assertLessEqual(created, after + 1.0)
        # expires_at = created_at + sla_seconds, exactly
        self.assertEqual(d.expires_at.seconds, d.created_at.seconds + 600)
        self.assertEqual(d.expires_at.nanos, d.created_at.nanos)
        # what GetDecision returns is what the submission returned
        self.assertEqual(self.gov.get(d.decision_id), d)

    def test_decision_ids_are_unique(self):
        ds = self.submit_many(100)
        ids = [d.decision_id for d in ds]
        self.assertEqual(len(set(ids)), 100)
        for i in ids:
            self.assertRegex(i, DID_RE)

    def test_every_validation_rule(self):
        for label, mutate, field, value in INVALID_SUBMISSIONS:
            with self.subTest(label):
                p = proposal(operation_type=self.op)
                mutate(p)
                code, det = self.gov.code("SubmitDecision", decision=p)
                self.assertEqual(code, SC.INVALID_ARGUMENT,
                                 "%s: expected INVALID_ARGUMENT, got %s %r" % (label, code.name, det))
                self.assertIn(field, det, "%s: the message must name the field" % label)
                if value is not None:
                    self.assertIn(value.lower(), det.lower(),
                                  "%s: the message must name the value" % label)
        # nothing of it was stored
        r = self.gov.list(operation_type=self.op)
        self.assertEqual(r.total_count, 0, [d.decision_id for d in r.decisions])

    def test_boundary_values_are_accepted(self):
        for label, mutate in VALID_SUBMISSIONS:
            with self.subTest(label):
                p = proposal(operation_type=self.op)
                mutate(p)
                code, resp = self.gov.code("SubmitDecision", decision=p)
                self.assertEqual(code, SC.OK, "%s: %r" % (label, resp))
                d = resp.decision
                self.assertEqual(d.status, "PENDING")
                got = self.gov.get(d.decision_id)
                if got.status == "EXPIRED" and d.sla_seconds <= 2:
                    # a slow machine (valgrind) read it after its SLA: the
                    # sweeper did its job; the rest must be what was stored
                    self.assertTrue(got.sla_violated)
                    got.sla_violated = d.sla_violated
                    got.updated_at.CopyFrom(d.updated_at)
                    got.history.CopyFrom(d.history)
                    got.status = d.status
                self.assertEqual(got, d)
                self.assertEqual(d.context, p.context)
                self.assertEqual(d.recommended_actions, p.recommended_actions)

    def test_every_priority_and_operation_type_charset(self):
        for prio in PRIORITIES:
            with self.subTest(priority=prio):
                self.assertEqual(self.sub(priority=prio).priority, prio)
        for op in ("a", "a" * 64, "x.y-z_0", "0", "block_ip.v2-beta"):
            with self.subTest(operation_type=op):
                self.assertEqual(self.sub(operation_type=op).operation_type, op)

    def test_request_over_one_mib_is_refused(self):
        # Every field within its own cap; the whole request is ~1.3 MiB.
        p = proposal(operation_type=self.op)
        _actions(0)(p)
        for i in range(6):
            a = p.recommended_actions.add(action_type="big%d" % i, confidence=0.5)
            for j in range(56):
                a.parameters["k%d" % j] = chr(97 + j % 26) * 4000
        size = len(pb.SubmitDecisionRequest(decision=p).SerializeToString())
        self.assertGreater(size, 1 << 20)
        self.assertStatus(self.gov.code("SubmitDecision", decision=p), SC.INVALID_ARGUMENT)
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 0)
        # and a request just under 1 MiB is fine
        del p.recommended_actions[4:]
        self.assertLess(len(pb.SubmitDecisionRequest(decision=p).SerializeToString()), 1 << 20)
        self.assertStatus(self.gov.code("SubmitDecision", decision=p), SC.OK)

    def test_invalid_utf8_is_refused(self):
        for where in ("context", "reasoning", "factor", "assigned_operator"):
            with self.subTest(where=where):
                marker = "MARK" + uuid.uuid4().hex[:8]
                p = proposal(operation_type=self.op)
                if where == "context":
                    p.context["k"] = marker
                elif where == "factor":
                    p.risk_assessment.factors.append(marker)
                elif where == "assigned_operator":
                    p.assigned_operator = marker
                else:
                    p.ethical_assessment.reasoning = marker
                body = _bad_utf8(pb.SubmitDecisionRequest(decision=p).SerializeToString(), marker)
                try:
                    self.gov.raw("SubmitDecision", body)
                    self.fail("a string that is not UTF-8 was accepted (%s)" % where)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), SC.INVALID_ARGUMENT, e.details())
                    self.assertIn("is not valid UTF-8", e.details())
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 0)

    def test_nul_in_a_string_and_field_number_0_are_refused(self):
        """protobuf-c hands strings over NUL-terminated: a NUL would cut the
        stored value short without a word (INVALID_ARGUMENT).  And it takes
        a field numbered 0 written as 0x80 0x00, then packs it into bytes
        it cannot read back (INTERNAL, as any request that does not
        decode).  Both are refused on the wire for every method, with the
        field's path; nothing is stored."""
        p = proposal(operation_type=self.op)
        p.context["k"] = "before\x00after"
        p.ethical_assessment.principles[0].explanation = "ok"
        code, det = self.gov.code("SubmitDecision", decision=p)
        self.assertEqual(code, SC.INVALID_ARGUMENT, det)
        self.assertRegex(det, r"^decision\.context\[\d+\]\.value contains a NUL character$")
        p = proposal(operation_type=self.op)
        p.ethical_assessment.principles[0].explanation = "a\x00b"
        code, det = self.gov.code("SubmitDecision", decision=p)
        self.assertEqual((code, det), (SC.INVALID_ARGUMENT,
                         "decision.ethical_assessment.principles[0].explanation "
                         "contains a NUL character"))
        # field number 0 inside the decision (protobuf-c's overlong form)
        d = proposal(operation_type=self.op).SerializeToString() + b"\x80\x00\x05"
        body = b"\x0a" + _varint(len(d)) + d
        with self.assertRaises(grpc.RpcError) as cm:
            self.gov.raw("SubmitDecision", body)
        self.assertEqual(cm.exception.code(), SC.INTERNAL)   # as any undecodable request
        self.assertEqual(cm.exception.details(),
                         "cannot decode request message: decision has a field numbered 0")
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 0)
        # any method: a review's comment
        sid = self.gov.session(uniq("op"))
        did = self.gov.submit(operation_type=self.op).decision.decision_id
        code, det = self.gov.code("ApproveDecision", session_id=sid, decision_id=did,
                                  comment="fine\x00 really")
        self.assertEqual((code, det), (SC.INVALID_ARGUMENT, "comment contains a NUL character"))
        self.assertEqual(self.gov.get(did).status, "PENDING")

    def test_idempotency_key_returns_the_first_decision(self):
        key = uniq("key")
        first = self.gov.submit(key=key, operation_type=self.op, priority="LOW")
        self.assertTrue(first.created)
        # the same key with a different body: the first decision, not created
        again = self.gov.submit(key=key, operation_type=self.op + "x", priority="CRITICAL",
                                sla_seconds=5)
        self.assertFalse(again.created)
        self.assertEqual(again.decision.decision_id, first.decision.decision_id)
        self.assertEqual(again.decision.operation_type, self.op)
        self.assertEqual(again.decision.priority, "LOW")
        self.assertEqual(again.decision.created_at, first.decision.created_at)
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 1)
        self.assertEqual(self.gov.list(operation_type=self.op + "x").total_count, 0)
        # still the first after it was resolved
        sid = self.session()
        self.gov.approve(sid, first.decision.decision_id)
        third = self.gov.submit(key=key, operation_type=self.op)
        self.assertFalse(third.created)
        self.assertEqual(third.decision.decision_id, first.decision.decision_id)
        self.assertEqual(third.decision.status, "APPROVED")
        # another key makes another decision
        other = self.gov.submit(key=uniq("key"), operation_type=self.op)
        self.assertTrue(other.created)
        self.assertNotEqual(other.decision.decision_id, first.decision.decision_id)

    def test_idempotency_key_length(self):
        self.assertTrue(self.gov.submit(key="k" * 100 + uuid.uuid4().hex[:28],
                                        operation_type=self.op).created)
        self.assertStatus(self.gov.code("SubmitDecision", decision=proposal(operation_type=self.op),
                                        idempotency_key="k" * 129),
                          SC.INVALID_ARGUMENT, "idempotency_key")
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 1)

    def test_idempotency_key_under_concurrency(self):
        key = uniq("key")
        n = 16
        results, errors = [], []
        barrier = threading.Barrier(n)

        def run():
            g = Gov.connect(self.gd)
            try:
                barrier.wait(10)
                results.append(g.submit(key=key, operation_type=self.op))
            except Exception as e:  # noqa: BLE001
                errors.append(e)
            finally:
                g.close()

        ts = [threading.Thread(target=run) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60 * SLOW)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), n)
        self.assertEqual(sum(1 for r in results if r.created), 1)
        self.assertEqual(len({r.decision.decision_id for r in results}), 1)
        self.assertEqual(self.gov.list(operation_type=self.op).total_count, 1)


# ====================================================================== list

class List(GovApiCase):
    NAME = "gov-api-list"

    def test_default_and_explicit_statuses(self):
        ds = [self.sub() for _ in range(5)]
        sid = self.session()
        self.gov.approve(sid, ds[0].decision_id)
        self.gov.reject(sid, ds[1].decision_id, comment="no")
        self.gov.escalate(sid, ds[2].decision_id, escalation_target="boss")
        expect = {
            "": {ds[2].decision_id, ds[3].decision_id, ds[4].decision_id},
            "PENDING": {ds[3].decision_id, ds[4].decision_id},
            "ESCALATED": {ds[2].decision_id},
            "APPROVED": {ds[0].decision_id},
            "REJECTED": {ds[1].decision_id},
            "EXPIRED": set(),
        }
        for status, ids in expect.items():
            with self.subTest(status=status):
                r = self.gov.list(status=status, operation_type=self.op)
                self.assertEqual({d.decision_id for d in r.decisions}, ids)
                self.assertEqual(r.total_count, len(ids))
                self.assertEqual(r.next_page_token, "")
                for d in r.decisions:
                    if status:
                        self.assertEqual(d.status, status)
                    else:
                        self.assertIn(d.status, OPEN_STATUSES)
        # resolved decisions carry their history when listed
        r = self.gov.list(status="APPROVED", operation_type=self.op)
        self.assertEqual(len(r.decisions), 1)
        self.assertEqual(r.decisions[0].history.outcome, "APPROVED")

    def test_bad_filters(self):
        for fields in ({"status": "pending"}, {"status": "OPEN"}, {"status": "ALL"},
                       {"status": "APPROVED "}, {"status": "CLOSED"},
                       {"priority": "high"}, {"priority": "URGENT"}, {"priority": " LOW"}):
            with self.subTest(**fields):
                code, det = self.gov.code("ListPendingDecisions", **fields)
                self.assertEqual(code, SC.INVALID_ARGUMENT, det)
                self.assertIn(list(fields.values())[0].strip(), det)

    def test_filters(self):
        alice, bob = uniq("alice"), uniq("bob")
        made = []
        for i, prio in enumerate(["LOW", "HIGH", "HIGH", "CRITICAL", "MEDIUM", "HIGH"]):
            made.append(self.sub(priority=prio, assigned_operator=[alice, bob, ""][i % 3]))
        other_op = self.sub(operation_type=self.op + "-other", priority="HIGH",
                            assigned_operator=alice)

        def ids(**f):
            r = self.gov.list(**f)
            self.assertEqual(r.total_count, len(r.decisions))
            return {d.decision_id for d in r.decisions}

        def want(pred):
            return {d.decision_id for d in made if pred(d)}

        self.assertEqual(ids(operation_type=self.op), want(lambda d: True))
        self.assertEqual(ids(operation_type=self.op, priority="HIGH"),
                         want(lambda d: d.priority == "HIGH"))
        self.assertEqual(ids(operation_type=self.op, priority="CRITICAL"),
                         want(lambda d: d.priority == "CRITICAL"))
        self.assertEqual(ids(assigned_operator=alice),
                         want(lambda d: d.assigned_operator == alice) | {other_op.decision_id})
        self.assertEqual(ids(operation_type=self.op, assigned_operator=alice),
                         want(lambda d: d.assigned_operator == alice))
        self.assertEqual(ids(operation_type=self.op, assigned_operator=bob, priority="HIGH"),
                         want(lambda d: d.assigned_operator == bob and d.priority == "HIGH"))
        # exact match, not prefix
        self.assertEqual(ids(operation_type=self.op[:-1]), set())
        self.assertEqual(ids(assigned_operator=alice[:-1]), set())
        # escalation re-assigns: the filter follows it
        sid = self.session()
        target = uniq("carol")
        self.gov.escalate(sid, made[0].decision_id, escalation_target=target)
        self.assertEqual(ids(assigned_operator=target), {made[0].decision_id})
        self.assertEqual(ids(assigned_operator=target, status="ESCALATED"), {made[0].decision_id})
        self.assertEqual(ids(assigned_operator=target, status="PENDING"), set())
        # resolved ones: filters apply to them too
        self.gov.approve(sid, made[1].decision_id)
        self.assertEqual(ids(operation_type=self.op, status="APPROVED", priority="HIGH"),
                         {made[1].decision_id})
        self.assertEqual(ids(operation_type=self.op, status="APPROVED", priority="LOW"), set())

    def test_order_priority_then_oldest(self):
        prios = ["LOW", "CRITICAL", "MEDIUM", "HIGH", "LOW", "CRITICAL", "HIGH", "MEDIUM",
                 "MEDIUM", "LOW", "CRITICAL", "HIGH", "HIGH", "LOW", "MEDIUM", "CRITICAL"]
        made = [self.sub(priority=p) for p in prios]
        # submitted one after the other: created_at never goes backwards
        for a, b in zip(made, made[1:]):
            self.assertLessEqual(ts_float(a.created_at), ts_float(b.created_at))
        want = sorted(made, key=lambda d: (PRIORITY_RANK[d.priority],
                                           (d.created_at.seconds, d.created_at.nanos),
                                           d.decision_id))
        got = self.gov.list(operation_type=self.op).decisions
        self.assertEqual([d.decision_id for d in got], [d.decision_id for d in want])
        # the same order in the store-served (resolved) listing
        sid = self.session()
        for d in made:
            self.gov.reject(sid, d.decision_id, reasoning="order test")
        got = self.gov.list(operation_type=self.op, status="REJECTED").decisions
        self.assertEqual([d.decision_id for d in got], [d.decision_id for d in want])

    def test_limit_default_and_clamp(self):
        self.submit_many(505, priority="LOW")
        for limit, page in ((0, 50), (-7, 50), (-2 ** 31, 50), (1, 1), (499, 499), (500, 500),
                            (501, 500), (1000, 500), (2 ** 31 - 1, 500)):
            with self.subTest(limit=limit):
                r = self.gov.list(operation_type=self.op, limit=limit)
                self.assertEqual(len(r.decisions), page)
                self.assertEqual(r.total_count, 505)
                self.assertNotEqual(r.next_page_token, "")

    def check_paging(self, n, limit, **filters):
        full = self.gov.list(limit=500, **filters)
        self.assertEqual(full.total_count, n)
        self.assertEqual(len(full.decisions), n)
        seen, token, pages = [], "", 0
        while True:
            r = self.gov.list(limit=limit, page_token=token, **filters)
            pages += 1
            self.assertEqual(r.total_count, n, "total_count on page %d" % pages)
            self.assertGreater(len(r.decisions), 0, "an empty page %d" % pages)
            self.assertLessEqual(len(r.decisions), limit)
            seen.extend(d.decision_id for d in r.decisions)
            token = r.next_page_token
            if not token:
                break
            self.assertEqual(len(r.decisions), limit, "a short page that is not the last")
            self.assertLess(pages, n + 2, "paging does not end")
        self.assertEqual(seen, [d.decision_id for d in full.decisions])
        self.assertEqual(len(set(seen)), n)
        self.assertEqual(pages, (n + limit - 1) // limit)

    def test_paging_to_the_end(self):
        prios = ["HIGH", "LOW", "MEDIUM", "CRITICAL"]
        for i in range(23):
            self.sub(priority=prios[i % 4])
        for limit in (1, 5, 7, 22, 23, 24, 500):
            with self.subTest(limit=limit):
                self.check_paging(23, limit, operation_type=self.op)
        # a limit that divides the count exactly: no trailing empty page
        self.sub(priority="LOW")
        for limit in (4, 6, 8, 12):
            with self.subTest(limit=limit):
                self.check_paging(24, limit, operation_type=self.op)

    def test_paging_resolved_from_the_store(self):
        made = [self.sub(priority=PRIORITIES[i % 4]) for i in range(17)]
        sid = self.session()
        for d in made:
            self.gov.approve(sid, d.decision_id)
        for limit in (1, 3, 17):
            with self.subTest(limit=limit):
                self.check_paging(17, limit, operation_type=self.op, status="APPROVED")

    def test_paging_is_stable_while_decisions_arrive(self):
        orig = [self.sub(priority="MEDIUM") for _ in range(30)]
        seen, token, pages = [], "", 0
        added = []
        while True:
            r = self.gov.list(operation_type=self.op, limit=7, page_token=token)
            seen.extend(d.decision_id for d in r.decisions)
            pages += 1
            if pages in (1, 3):
                # new ones before and after the cursor
                added.append(self.sub(priority="CRITICAL"))
                added.append(self.sub(priority="LOW"))
                added.append(self.sub(priority="MEDIUM"))
            token = r.next_page_token
            if not token:
                break
            self.assertLess(pages, 50)
        self.assertEqual(len(seen), len(set(seen)), "a decision was listed twice")
        for d in orig:
            self.assertIn(d.decision_id, seen, "a decision was skipped")
        in_order = sorted(orig, key=lambda d: ((d.created_at.seconds, d.created_at.nanos),
                                               d.decision_id))
        self.assertEqual([i for i in seen if i in {d.decision_id for d in orig}],
                         [d.decision_id for d in in_order])
        for d in added:
            if d.priority == "CRITICAL":
                self.assertNotIn(d.decision_id, seen)
            else:
                self.assertIn(d.decision_id, seen)

    def test_bad_page_tokens(self):
        for _ in range(6):
            self.sub(priority="HIGH")
        r = self.gov.list(operation_type=self.op, limit=2)
        token = r.next_page_token
        self.assertNotEqual(token, "")
        for bad in ("garbage", "!!!!", "\u00e9t\u00e9", "0" * 200, "%00"):
            with self.subTest(token=bad):
                code, det = self.gov.code("ListPendingDecisions", operation_type=self.op,
                                          limit=2, page_token=bad)
                self.assertEqual(code, SC.INVALID_ARGUMENT, det)
        # made for other filters
        for other in ({"operation_type": self.op + "z"}, {"operation_type": self.op, "status": "PENDING"},
                      {"operation_type": self.op, "priority": "HIGH"},
                      {"operation_type": self.op, "assigned_operator": "x"},
                      {"operation_type": self.op, "status": "APPROVED"}, {}):
            with self.subTest(other=other):
                code, det = self.gov.code("ListPendingDecisions", limit=2, page_token=token, **other)
                self.assertEqual(code, SC.INVALID_ARGUMENT, det)
        # the token still works with its own filters
        r2 = self.gov.list(operation_type=self.op, limit=2, page_token=token)
        self.assertEqual(len(r2.decisions), 2)
        self.assertNotIn(r2.decisions[0].decision_id, [d.decision_id for d in r.decisions])

    def test_session_id_is_ignored_by_reads(self):
        d = self.sub()
        for sid in ("", UNKNOWN_SID, "not-a-session"):
            with self.subTest(session_id=sid):
                r = self.gov.list(operation_type=self.op, session_id=sid)
                self.assertEqual([x.decision_id for x in r.decisions], [d.decision_id])
                self.assertStatus(self.gov.code("GetMetrics", session_id=sid), SC.OK)


# ====================================================================== get

class Get(GovApiCase):
    NAME = "gov-api-get"

    def test_get_unknown_and_empty(self):
        for did in (UNKNOWN_DID, "d-" + "f" * 32, "nope"):
            with self.subTest(decision_id=did):
                self.assertStatus(self.gov.code("GetDecision", decision_id=did), SC.NOT_FOUND,
                                  "decision '%s' not found" % did)
        self.assertStatus(self.gov.code("GetDecision", decision_id=""), SC.INVALID_ARGUMENT)

    def test_get_follows_changes(self):
        d = self.sub()
        sid = self.session()
        e = self.gov.escalate(sid, d.decision_id, escalation_target="lead")
        self.assertEqual(self.gov.get(d.decision_id), e.decision)
        a = self.gov.approve(sid, d.decision_id)
        self.assertEqual(self.gov.get(d.decision_id), a.decision)


# ====================================================================== sessions

class Sessions(GovApiCase):
    NAME = "gov-api-sessions"

    def test_create(self):
        before = time.time()
        op = uniq("op")
        r1 = self.gov.call("CreateSession", operator_id=op)
        r2 = self.gov.call("CreateSession", operator_id=op)
        self.assertRegex(r1.session_id, SID_RE)
        self.assertRegex(r2.session_id, SID_RE)
        self.assertNotEqual(r1.session_id, r2.session_id)
        self.assertGreaterEqual(ts_float(r1.created_at), before - 1)
        self.assertLessEqual(ts_float(r1.created_at), time.time() + 1)
        # both sessions of one operator work
        for sid in (r1.session_id, r2.session_id):
            d = self.sub()
            a = self.gov.approve(sid, d.decision_id)
            self.assertEqual(a.decision.history.reviewed_by, op)

    def test_create_validation(self):
        for bad in ("", "o" * 129, "bad\x01op", "tab\there", "nl\n", "del\x7f", "\x1b[31mred"):
            with self.subTest(operator_id=bad):
                self.assertStatus(self.gov.code("CreateSession", operator_id=bad),
                                  SC.INVALID_ARGUMENT, "operator_id")
        for good in ("o" * 128, "op\u00e9rateur", "alice@example.com", "\u6f22" * 42):
            with self.subTest(operator_id=good):
                self.assertStatus(self.gov.code("CreateSession", operator_id=good), SC.OK)
        body = _bad_utf8(pb.CreateSessionRequest(operator_id="MARKmark").SerializeToString(),
                         "MARKmark")
        with self.assertRaises(grpc.RpcError) as cm:
            self.gov.raw("CreateSession", body)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)

    def test_close(self):
        sid = self.session()
        self.assertTrue(self.gov.close_session(sid).success)
        self.assertTrue(self.gov.close_session(sid).success, "closing twice is idempotent")
        self.assertStatus(self.gov.code("CloseSession", session_id=UNKNOWN_SID), SC.NOT_FOUND)

    def test_writes_need_an_open_session(self):
        d = self.sub()
        closed = self.session()
        self.gov.close_session(closed)
        writes = [
            ("ApproveDecision", {}),
            ("RejectDecision", {"comment": "no"}),
            ("EscalateDecision", {"escalation_target": "boss"}),
        ]
        for sid in (UNKNOWN_SID, closed, "garbage"):
            for method, extra in writes:
                with self.subTest(session=sid, method=method):
                    code, det = self.gov.code(method, session_id=sid,
                                              decision_id=d.decision_id, **extra)
                    self.assertEqual(code, SC.UNAUTHENTICATED, det)
                    self.assertEqual(det, unauth_msg(sid))
        for method, extra in writes:
            with self.subTest(session="", method=method):
                code, det = self.gov.code(method, session_id="", decision_id=d.decision_id,
                                          **extra)
                self.assertEqual(code, SC.UNAUTHENTICATED, det)
        got = self.gov.get(d.decision_id)
        self.assertEqual(got.status, "PENDING")
        self.assertEqual(got, d)
        # a new session works at once
        sid = self.session()
        self.assertTrue(self.gov.approve(sid, d.decision_id).success)

    def test_closing_one_session_leaves_the_others_open(self):
        op = uniq("op")
        s1, s2 = self.gov.session(op), self.gov.session(op)
        self.gov.close_session(s1)
        d = self.sub()
        self.assertStatus(self.gov.code("ApproveDecision", session_id=s1, decision_id=d.decision_id),
                          SC.UNAUTHENTICATED)
        self.assertTrue(self.gov.approve(s2, d.decision_id).success)


# ================================================================== executions

def _exec_actions():
    return [pb.Action(action_type="firewall_block", description="block for 24h",
                      parameters={"duration": "24h"}, confidence=0.9),
            pb.Action(action_type="k8s.scale", description="scale web to 5",
                      parameters={"name": "web", "replicas": "5"}, confidence=0.8)]


def _exec_req(sid, did, action_type="k8s.scale", index=1, **ex):
    rid = ex.pop("request_id", "")
    return pb.RecordExecutionRequest(session_id=sid, decision_id=did, request_id=rid,
                                     execution=pb.ExecutionRecord(
                                         action_type=action_type, action_index=index, **ex))


class Executions(GovApiCase):
    """RecordExecution (docs/governance.md): the outcome of carrying out an
    approved decision's recommended action, appended to the decision."""
    NAME = "gov-api-exec"

    def approved(self, operator=None):
        operator = operator or uniq("alice")
        sid = self.gov.session(operator)
        d = self.sub(recommended_actions=_exec_actions())
        a = self.gov.approve(sid, d.decision_id, comment="go", request_id=uniq("req"))
        return operator, sid, a.decision

    def test_record_appends_to_the_approved_decision(self):
        op, sid, d = self.approved()
        rid = uniq("req")
        before = time.time()
        r = self.gov.record_execution(sid, d.decision_id, "k8s.scale", index=1, succeeded=True,
                                      detail="deployment.apps/web scaled to 5",
                                      target="context kind-prod, cluster https://127.0.0.1:6443",
                                      request_id=rid)
        after = time.time()
        self.assertTrue(r.success)
        self.assertEqual(r.message, "execution of k8s.scale recorded on decision '%s'"
                         % d.decision_id)
        self.assertGreaterEqual(ts_float(r.processed_at), before - 1)
        self.assertLessEqual(ts_float(r.processed_at), after + 1)
        x = r.decision
        self.assertEqual(x.status, "APPROVED")
        self.assertEqual(len(x.executions), 1)
        e = x.executions[0]
        self.assertEqual(e.action_type, "k8s.scale")
        self.assertEqual(e.action_index, 1)
        self.assertTrue(e.succeeded)
        self.assertEqual(e.detail, "deployment.apps/web scaled to 5")
        self.assertEqual(e.target, "context kind-prod, cluster https://127.0.0.1:6443")
        self.assertEqual(e.executed_by, op)
        self.assertEqual(e.request_id, rid)
        self.assertEqual(e.executed_at, r.processed_at)
        self.assertEqual(x.updated_at, r.processed_at)
        # the rest is the approval's, untouched
        self.assertEqual(x.history, d.history)
        for f in ("operation_type", "priority", "context", "risk_assessment",
                  "ethical_assessment", "recommended_actions", "created_at", "expires_at"):
            self.assertEqual(getattr(x, f), getattr(d, f), f)
        # GetDecision and the APPROVED listing read the new bytes
        self.assertEqual(self.gov.get(d.decision_id), x)
        listed = [y for y in self.gov.list(status="APPROVED", operation_type=self.op).decisions
                  if y.decision_id == d.decision_id]
        self.assertEqual(listed, [x])
        # a second one (a failure, without a request id) comes after it
        r2 = self.gov.record_execution(sid, d.decision_id, "firewall_block", index=0,
                                       succeeded=False, detail="the firewall said no")
        self.assertEqual([(e.action_type, e.succeeded, e.request_id)
                          for e in r2.decision.executions],
                         [("k8s.scale", True, rid), ("firewall_block", False, "")])
        self.assertEqual(self.gov.get(d.decision_id), r2.decision)

    def test_every_refusal(self):
        op, sid, d = self.approved()
        did = d.decision_id
        pending = self.sub(recommended_actions=_exec_actions())
        rejected = self.sub(recommended_actions=_exec_actions())
        self.gov.reject(sid, rejected.decision_id, comment="no")
        escalated = self.sub(recommended_actions=_exec_actions())
        self.gov.escalate(sid, escalated.decision_id, escalation_target="lead")
        closed = self.gov.session(op)
        self.gov.close_session(closed)
        code = lambda req: self.gov.code("RecordExecution", req)  # noqa: E731
        cases = [
            # sessions: the same answer as the reviews
            (_exec_req("", did), SC.UNAUTHENTICATED, "session_id is required"),
            (_exec_req(UNKNOWN_SID, did), SC.UNAUTHENTICATED, unauth_msg(UNKNOWN_SID)),
            (_exec_req(closed, did), SC.UNAUTHENTICATED, unauth_msg(closed)),
            # the decision
            (_exec_req(sid, ""), SC.INVALID_ARGUMENT, "decision_id is required"),
            (_exec_req(sid, UNKNOWN_DID), SC.NOT_FOUND,
             "decision '%s' not found" % UNKNOWN_DID),
            (_exec_req(sid, UNKNOWN_DID, action_type=""), SC.NOT_FOUND, UNKNOWN_DID),
            (_exec_req(sid, pending.decision_id), SC.FAILED_PRECONDITION,
             "decision '%s' is PENDING; only an approved decision can have executions"
             % pending.decision_id),
            (_exec_req(sid, rejected.decision_id), SC.FAILED_PRECONDITION, "is REJECTED"),
            (_exec_req(sid, escalated.decision_id), SC.FAILED_PRECONDITION, "is ESCALATED"),
            # the record
            (pb.RecordExecutionRequest(session_id=sid, decision_id=did), SC.INVALID_ARGUMENT,
             "execution is required"),
            (_exec_req(sid, did, action_type=""), SC.INVALID_ARGUMENT,
             "execution.action_type is required"),
            (_exec_req(sid, did, index=-1), SC.INVALID_ARGUMENT,
             "execution.action_index -1 is negative"),
            (_exec_req(sid, did, index=2), SC.INVALID_ARGUMENT,
             "action_index 2 is out of range: decision '%s' has 2 recommended actions" % did),
            (_exec_req(sid, did, action_type="k8s.delete"), SC.INVALID_ARGUMENT,
             "action_type 'k8s.delete' is not recommended action 1 of decision '%s' "
             "(that one is 'k8s.scale')" % did),
            (_exec_req(sid, did, action_type="firewall_block"), SC.INVALID_ARGUMENT,
             "'firewall_block'"),
            (_exec_req(sid, did, detail="x" * 4097), SC.INVALID_ARGUMENT,
             "execution.detail is longer than 4096 bytes"),
            (_exec_req(sid, did, target="t" * 513), SC.INVALID_ARGUMENT,
             "execution.target is longer than 512 bytes"),
            (_exec_req(sid, did, target="a\nb"), SC.INVALID_ARGUMENT, "execution.target"),
            (_exec_req(sid, did, action_type="k8s.\x01"), SC.INVALID_ARGUMENT,
             "execution.action_type"),
            (_exec_req(sid, did, executed_by="mallory"), SC.INVALID_ARGUMENT,
             "execution.executed_by"),
            (_exec_req(sid, did, executed_at=_now_ts()), SC.INVALID_ARGUMENT,
             "execution.executed_at"),
            (_exec_req(sid, did, request_id="r" * 129), SC.INVALID_ARGUMENT, "request_id"),
        ]
        for req, want, needle in cases:
            with self.subTest(req=short(req, 200)):
                self.assertStatus(code(req), want, needle)
        # nothing was recorded by any of them
        for x in (d.decision_id, pending.decision_id, rejected.decision_id,
                  escalated.decision_id):
            self.assertEqual(list(self.gov.get(x).executions), [])
        # a detail of exactly 4096 bytes and a target of 512 are fine
        ok = self.gov.record_execution(sid, did, "k8s.scale", index=1, detail="d" * 4096,
                                       target="t" * 512)
        self.assertEqual(len(ok.decision.executions), 1)
        # producers cannot smuggle records in with a proposal
        smuggled = proposal()
        smuggled.executions.add(action_type="k8s.scale", succeeded=True)
        self.assertStatus(self.gov.code("SubmitDecision", decision=smuggled),
                          SC.INVALID_ARGUMENT, "executions are recorded by RecordExecution")

    def test_expired_decisions_have_no_executions(self):
        sid = self.session()
        d = self.sub(sla_seconds=1, recommended_actions=_exec_actions())
        wait_for(lambda: self.gov.get(d.decision_id).status == "EXPIRED", 2.5 + 1.5 * SLOW,
                 interval=0.05, what="EXPIRED")
        self.assertStatus(self.gov.code("RecordExecution", _exec_req(sid, d.decision_id)),
                          SC.FAILED_PRECONDITION, "is EXPIRED; only an approved decision")

    def test_request_id_replay(self):
        op, sid, d = self.approved()
        _, _, other = self.approved(op)
        rid = uniq("req")
        r1 = self.gov.record_execution(sid, d.decision_id, "k8s.scale", index=1,
                                       detail="scaled", request_id=rid)
        time.sleep(0.05)
        # a retry, even saying something else, returns the first outcome
        r2 = self.gov.record_execution(sid, d.decision_id, "k8s.scale", index=1,
                                       succeeded=False, detail="second", request_id=rid)
        self.assertEqual(r2, r1)
        self.assertEqual(len(self.gov.get(d.decision_id).executions), 1)
        # the same id on another decision
        self.assertStatus(self.gov.code("RecordExecution",
                                        _exec_req(sid, other.decision_id, request_id=rid)),
                          SC.ALREADY_EXISTS, "request id '%s' was used for decision '%s'"
                          % (rid, d.decision_id))
        self.assertEqual(list(self.gov.get(other.decision_id).executions), [])
        # without a request id each call is a record of its own
        self.gov.record_execution(sid, other.decision_id, "k8s.scale", index=1)
        self.gov.record_execution(sid, other.decision_id, "k8s.scale", index=1)
        self.assertEqual(len(self.gov.get(other.decision_id).executions), 2)

    def test_at_most_sixteen(self):
        op, sid, d = self.approved()
        rids = [uniq("req") for _ in range(16)]
        futs = [self.gov.future("RecordExecution", _exec_req(sid, d.decision_id, request_id=r,
                                                             detail="try %d" % i))
                for i, r in enumerate(rids)]
        for f in futs:
            self.assertTrue(f.result().success)
        x = self.gov.get(d.decision_id)
        self.assertEqual(len(x.executions), 16)
        self.assertEqual(sorted(e.request_id for e in x.executions), sorted(rids))
        self.assertStatus(self.gov.code("RecordExecution", _exec_req(sid, d.decision_id)),
                          SC.FAILED_PRECONDITION,
                          "decision '%s' has 16 executions recorded, the most it may have"
                          % d.decision_id)
        # a retry of a recorded one still answers its first outcome
        self.assertTrue(self.gov.record_execution(sid, d.decision_id, "k8s.scale", index=1,
                                                  request_id=rids[3]).success)
        self.assertEqual(self.gov.get(d.decision_id), x)

    def test_event_audit_and_unchanged_metrics(self):
        op, sid, d = self.approved()
        m0 = self.gov.metrics()
        st0 = self.gov.stats(op)
        reader = StreamReader(self.gov.stream_decisions(resume_after=m0.last_sequence),
                              name="exec-events")
        try:
            r = self.gov.record_execution(sid, d.decision_id, "k8s.scale", index=1,
                                          succeeded=True, detail="scaled")
            reader.wait_count(1, 10 * SLOW)
            ev = reader.snapshot()[0]
        finally:
            reader.cancel()
        self.assertEqual(ev.type, pb.DecisionEvent.DECISION_UPDATED)
        self.assertEqual(ev.sequence, m0.last_sequence + 1)
        self.assertEqual(ev.decision, r.decision)
        m1 = self.gov.metrics()
        self.assertEqual(m1.last_sequence, m0.last_sequence + 1)
        m1.last_sequence = m0.last_sequence
        self.assertEqual(m1, m0, "an execution is not a review: the metrics stay")
        self.assertEqual(self.gov.stats(op), st0)
        # the audit entry
        entries = self.gov.call("ListAudit", subject=d.decision_id,
                                action="decision.execute").entries
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual((e.actor, e.outcome, e.subject),
                         (op, "OK", d.decision_id))
        self.assertEqual(e.detail, "action=k8s.scale succeeded=true session=%s" % sid)


# ====================================================================== review

class Review(GovApiCase):
    NAME = "gov-api-review"

    def test_approve(self):
        op = uniq("alice")
        sid = self.gov.session(op)
        d = self.sub()
        before = time.time()
        r = self.gov.approve(sid, d.decision_id, comment="looks right", reasoning="low risk",
                             request_id=uniq("req"))
        after = time.time()
        self.assertTrue(r.success)
        self.assertEqual(r.message, "decision '%s' approved" % d.decision_id)
        self.assertGreaterEqual(ts_float(r.processed_at), before - 1)
        self.assertLessEqual(ts_float(r.processed_at), after + 1)
        x = r.decision
        self.assertEqual(x.decision_id, d.decision_id)
        self.assertEqual(x.status, "APPROVED")
        h = x.history
        self.assertEqual(h.submitted_at, d.created_at)
        self.assertEqual(h.reviewed_by, op)
        self.assertEqual(h.outcome, "APPROVED")
        self.assertEqual(h.comment, "looks right")
        self.assertEqual(h.reasoning, "low risk")
        self.assertRegex(h.request_id, r"^req-")
        self.assertGreaterEqual(ts_float(h.reviewed_at), ts_float(d.created_at))
        self.assertLessEqual(abs(ts_float(h.reviewed_at) - ts_float(r.processed_at)), 1.0)
        self.assertGreaterEqual(ts_float(x.updated_at), ts_float(d.created_at))
        self.assertFalse(x.sla_violated)
        # the rest of the decision is unchanged
        for f in ("operation_type", "priority", "sla_seconds", "context", "risk_assessment",
                  "ethical_assessment", "recommended_actions", "created_at", "expires_at"):
            self.assertEqual(getattr(x, f), getattr(d, f), f)
        self.assertEqual(self.gov.get(d.decision_id), x)

    def test_reject(self):
        op = uniq("bob")
        sid = self.gov.session(op)
        for fields in ({"comment": "too risky"}, {"reasoning": "collateral damage"},
                       {"comment": "c", "reasoning": "r"}):
            with self.subTest(**fields):
                d = self.sub()
                r = self.gov.reject(sid, d.decision_id, **fields)
                self.assertTrue(r.success)
                self.assertIn(d.decision_id, r.message)
                self.assertIn("rejected", r.message)
                h = r.decision.history
                self.assertEqual(r.decision.status, "REJECTED")
                self.assertEqual(h.outcome, "REJECTED")
                self.assertEqual(h.reviewed_by, op)
                self.assertEqual(h.submitted_at, d.created_at)
                self.assertEqual(h.comment, fields.get("comment", ""))
                self.assertEqual(h.reasoning, fields.get("reasoning", ""))
                self.assertTrue(h.HasField("reviewed_at"))
                self.assertEqual(self.gov.get(d.decision_id), r.decision)

    def test_reject_needs_comment_or_reasoning(self):
        sid = self.session()
        d = self.sub()
        self.assertStatus(self.gov.code("RejectDecision", session_id=sid, decision_id=d.decision_id),
                          SC.INVALID_ARGUMENT)
        self.assertStatus(self.gov.code("RejectDecision", session_id=sid, decision_id=d.decision_id,
                                        comment="", reasoning="", request_id=uniq("r")),
                          SC.INVALID_ARGUMENT)
        self.assertEqual(self.gov.get(d.decision_id).status, "PENDING")

    def test_decision_id_checks(self):
        sid = self.session()
        calls = [("ApproveDecision", {}), ("RejectDecision", {"comment": "x"}),
                 ("EscalateDecision", {"escalation_target": "boss"})]
        for method, extra in calls:
            with self.subTest(method=method):
                self.assertStatus(self.gov.code(method, session_id=sid, decision_id="", **extra),
                                  SC.INVALID_ARGUMENT)
                self.assertStatus(self.gov.code(method, session_id=sid, decision_id=UNKNOWN_DID,
                                                **extra),
                                  SC.NOT_FOUND, UNKNOWN_DID)
        # order: an unknown decision is NOT_FOUND before the comment/target checks
        self.assertStatus(self.gov.code("RejectDecision", session_id=sid, decision_id=UNKNOWN_DID),
                          SC.NOT_FOUND)
        self.assertStatus(self.gov.code("EscalateDecision", session_id=sid,
                                        decision_id=UNKNOWN_DID), SC.NOT_FOUND)

    def test_first_resolution_wins(self):
        sid = self.session()
        a, r = self.sub(), self.sub()
        self.gov.approve(sid, a.decision_id)
        self.gov.reject(sid, r.decision_id, comment="no")
        for did, status in ((a.decision_id, "APPROVED"), (r.decision_id, "REJECTED")):
            for method, extra in (("ApproveDecision", {}), ("RejectDecision", {"comment": "x"}),
                                  ("EscalateDecision", {"escalation_target": "boss"})):
                with self.subTest(status=status, method=method):
                    self.assertStatus(self.gov.code(method, session_id=sid, decision_id=did,
                                                    **extra),
                                      SC.FAILED_PRECONDITION, status)
            self.assertStatus(self.gov.code("ApproveDecision", session_id=sid, decision_id=did),
                              SC.FAILED_PRECONDITION,
                              "decision '%s' is already %s" % (did, status))
            self.assertEqual(self.gov.get(did).status, status)
        # the history is the first resolution's
        self.assertEqual(self.gov.get(a.decision_id).history.outcome, "APPROVED")
        # check order: a reject without comment on a resolved decision is
        # INVALID_ARGUMENT (3 before 4)
        self.assertStatus(self.gov.code("RejectDecision", session_id=sid,
                                        decision_id=a.decision_id), SC.INVALID_ARGUMENT)

    def test_request_id_replay(self):
        sid = self.session()
        d, other = self.sub(), self.sub()
        rid = uniq("req")
        r1 = self.gov.approve(sid, d.decision_id, comment="first", request_id=rid)
        time.sleep(0.05)
        r2 = self.gov.approve(sid, d.decision_id, comment="second", request_id=rid)
        self.assertTrue(r2.success)
        self.assertEqual(r2.processed_at, r1.processed_at)
        self.assertEqual(r2.decision, r1.decision)
        self.assertEqual(r2.message, r1.message, "a retry returns the same response")
        self.assertEqual(r2, r1, "a retry must return the original response")
        self.assertEqual(self.gov.get(d.decision_id).history.comment, "first")
        # the same request id on another decision
        self.assertStatus(self.gov.code("ApproveDecision", session_id=sid,
                                        decision_id=other.decision_id, request_id=rid),
                          SC.ALREADY_EXISTS)
        self.assertStatus(self.gov.code("RejectDecision", session_id=sid,
                                        decision_id=other.decision_id, comment="x",
                                        request_id=rid),
                          SC.ALREADY_EXISTS)
        self.assertEqual(self.gov.get(other.decision_id).status, "PENDING")
        # another session (even another operator) retrying: the original outcome
        sid2 = self.session()
        self.assertEqual(self.gov.approve(sid2, d.decision_id, request_id=rid), r1)
        # without a request id, the second approval is refused
        self.assertStatus(self.gov.code("ApproveDecision", session_id=sid,
                                        decision_id=d.decision_id),
                          SC.FAILED_PRECONDITION, "APPROVED")
        # request id too long
        self.assertStatus(self.gov.code("ApproveDecision", session_id=sid,
                                        decision_id=other.decision_id, request_id="r" * 129),
                          SC.INVALID_ARGUMENT, "request_id")
        self.assertTrue(self.gov.approve(sid, other.decision_id,
                                         request_id="r" * 96 + uuid.uuid4().hex).success)

    def test_request_id_replay_after_the_status_changed(self):
        sid = self.session()
        d = self.sub()
        rid_e, rid_r = uniq("req"), uniq("req")
        e1 = self.gov.escalate(sid, d.decision_id, escalation_target="lead", reason="unsure",
                               request_id=rid_e)
        self.assertEqual(e1.decision.status, "ESCALATED")
        j1 = self.gov.reject(sid, d.decision_id, comment="no", request_id=rid_r)
        self.assertEqual(j1.decision.status, "REJECTED")
        # replays: whatever the status is now
        self.assertEqual(self.gov.escalate(sid, d.decision_id, escalation_target="lead",
                                           reason="unsure", request_id=rid_e), e1)
        self.assertEqual(self.gov.reject(sid, d.decision_id, comment="no", request_id=rid_r), j1)
        self.assertEqual(self.gov.get(d.decision_id).status, "REJECTED")
        # a replayed write is not a new review
        self.assertEqual(self.gov.list(operation_type=self.op, status="REJECTED").total_count, 1)

    def test_escalate(self):
        op = uniq("alice")
        sid = self.gov.session(op)
        target = uniq("lead")
        d = self.sub(assigned_operator="someone")
        before = time.time()
        r = self.gov.escalate(sid, d.decision_id, escalation_target=target,
                              reason="needs a second pair of eyes")
        self.assertTrue(r.success)
        self.assertIn(d.decision_id, r.message)
        x = r.decision
        self.assertEqual(x.status, "ESCALATED")
        self.assertEqual(x.escalated_to, target)
        self.assertEqual(x.escalated_by, op)
        self.assertEqual(x.escalation_reason, "needs a second pair of eyes")
        self.assertEqual(x.assigned_operator, target)
        self.assertGreaterEqual(ts_float(x.escalated_at), before - 1)
        self.assertLessEqual(ts_float(x.escalated_at), time.time() + 1)
        self.assertFalse(x.history.outcome, "escalation does not resolve")
        self.assertEqual(self.gov.get(d.decision_id), x)
        # still open: listed by default, reviewable, escalatable again
        self.assertIn(d.decision_id, [y.decision_id for y in
                                      self.gov.list(operation_type=self.op).decisions])
        op2 = uniq("bob")
        sid2 = self.gov.session(op2)
        r2 = self.gov.escalate(sid2, d.decision_id, escalation_target=target + "-2")
        self.assertEqual(r2.decision.escalated_to, target + "-2")
        self.assertEqual(r2.decision.escalated_by, op2)
        self.assertEqual(r2.decision.escalation_reason, "")
        self.assertEqual(r2.decision.assigned_operator, target + "-2")
        self.assertGreaterEqual(ts_float(r2.decision.escalated_at), ts_float(x.escalated_at))
        a = self.gov.approve(sid, d.decision_id, comment="ok after escalation")
        self.assertEqual(a.decision.status, "APPROVED")
        self.assertEqual(a.decision.history.reviewed_by, op)
        self.assertEqual(a.decision.escalated_to, target + "-2", "escalation record kept")

    def test_escalate_validation(self):
        sid = self.session()
        d = self.sub()
        self.assertStatus(self.gov.code("EscalateDecision", session_id=sid,
                                        decision_id=d.decision_id), SC.INVALID_ARGUMENT,
                          "escalation_target")
        self.assertStatus(self.gov.code("EscalateDecision", session_id=sid,
                                        decision_id=d.decision_id, escalation_target="t" * 129),
                          SC.INVALID_ARGUMENT, "escalation_target")
        self.assertEqual(self.gov.get(d.decision_id).status, "PENDING")
        self.assertTrue(self.gov.escalate(sid, d.decision_id, escalation_target="t" * 128).success)


# ====================================================================== expiry

class Expiry(GovApiCase):
    NAME = "gov-api-expiry"

    def test_sla_expiry(self):
        sid = self.session()
        d = self.sub(sla_seconds=1, priority="CRITICAL")
        keep = self.sub(sla_seconds=3600)
        esc = self.sub(sla_seconds=1)
        self.gov.escalate(sid, esc.decision_id, escalation_target="lead")
        exp = ts_float(d.expires_at)
        self.assertAlmostEqual(exp - ts_float(d.created_at), 1.0, places=3)

        def expired():
            x = self.gov.get(d.decision_id)
            return x if x.status == "EXPIRED" else None
        x = wait_for(expired, 1.0 + 1.5 * SLOW + 1.0, interval=0.05, what="EXPIRED")
        seen = time.time()
        self.assertLessEqual(seen, exp + 1.0 + 0.5 * SLOW + 0.2,
                             "not swept within a second of expires_at")
        self.assertTrue(x.sla_violated)
        self.assertEqual(x.history.outcome, "EXPIRED")
        self.assertEqual(x.history.reviewed_by, "system")
        rv = ts_float(x.history.reviewed_at)
        self.assertGreaterEqual(rv, exp - 0.01)
        self.assertLessEqual(rv, exp + 1.0 + 0.5 * SLOW)
        # escalated decisions expire too
        wait_for(lambda: self.gov.get(esc.decision_id).status == "EXPIRED", 3 * SLOW,
                 what="escalated decision to expire")
        # and can no longer be reviewed
        for method, extra in (("ApproveDecision", {}), ("RejectDecision", {"comment": "late"}),
                              ("EscalateDecision", {"escalation_target": "x"})):
            with self.subTest(method=method):
                self.assertStatus(self.gov.code(method, session_id=sid, decision_id=d.decision_id,
                                                **extra),
                                  SC.FAILED_PRECONDITION, "EXPIRED")
        self.assertStatus(self.gov.code("ApproveDecision", session_id=sid,
                                        decision_id=d.decision_id),
                          SC.FAILED_PRECONDITION, "decision '%s' is" % d.decision_id)
        r = self.gov.list(operation_type=self.op, status="EXPIRED")
        self.assertEqual({y.decision_id for y in r.decisions}, {d.decision_id, esc.decision_id})
        r = self.gov.list(operation_type=self.op)
        self.assertEqual([y.decision_id for y in r.decisions], [keep.decision_id])
        self.assertEqual(self.gov.get(keep.decision_id).status, "PENDING")


# ====================================================================== metrics

def expected_metrics(ds):
    """DecisionMetrics computed here from decisions as GetDecision returns
    them (the whole store)."""
    m = pb.DecisionMetrics()
    st = [d.status for d in ds]
    m.pending_count = sum(1 for s in st if s in OPEN_STATUSES)
    m.total_decisions = len(ds)
    m.approved_count = st.count("APPROVED")
    m.rejected_count = st.count("REJECTED")
    m.escalated_count = st.count("ESCALATED")
    m.expired_count = st.count("EXPIRED")
    m.critical_count = sum(1 for d in ds if d.status in OPEN_STATUSES and d.priority == "CRITICAL")
    m.high_priority_count = sum(1 for d in ds if d.status in OPEN_STATUSES and d.priority == "HIGH")
    rt = [ts_float(d.history.reviewed_at) - ts_float(d.created_at)
          for d in ds if d.status in ("APPROVED", "REJECTED")]
    m.avg_response_time_seconds = sum(rt) / len(rt) if rt else 0.0
    ar = m.approved_count + m.rejected_count
    m.approval_rate = m.approved_count / ar if ar else 0.0
    m.sla_violations = sum(1 for d in ds if d.sla_violated)
    return m


class Metrics(unittest.TestCase):
    """A fresh governd per test: the metrics cover the whole store."""

    def setUp(self):
        self.gd = Governd(name="gov-api-metrics", db=True)
        self.gd.start()
        self.gov = Gov.connect(self.gd)

    def tearDown(self):
        self.gov.close()
        try:
            if self.gd.running():
                self.gd.stop()
        finally:
            self.gd.cleanup()

    def assertMetrics(self, got, want):
        for f in ("pending_count", "total_decisions", "approved_count", "rejected_count",
                  "escalated_count", "expired_count", "critical_count", "high_priority_count",
                  "sla_violations"):
            self.assertEqual(getattr(got, f), getattr(want, f), f)
        self.assertAlmostEqual(got.avg_response_time_seconds, want.avg_response_time_seconds,
                               delta=0.002)
        self.assertAlmostEqual(got.approval_rate, want.approval_rate, delta=1e-9)

    def test_empty_store(self):
        m = self.gov.metrics()
        self.assertEqual(m, pb.DecisionMetrics(), "a fresh store has all-zero metrics")

    def test_metrics_and_session_stats_cross_checked(self):
        g = self.gov
        prios = ["CRITICAL", "CRITICAL", "HIGH", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "LOW",
                 "LOW", "LOW", "CRITICAL", "HIGH"]
        ds = [g.submit(operation_type="op_%d" % (i % 3), priority=p).decision
              for i, p in enumerate(prios)]
        expiring = [g.submit(priority="CRITICAL", sla_seconds=1).decision,
                    g.submit(priority="HIGH", sla_seconds=1).decision]
        ids = [d.decision_id for d in ds]
        a1 = g.call("CreateSession", operator_id="alice")
        time.sleep(0.01)
        a2 = g.call("CreateSession", operator_id="alice")
        b1 = g.call("CreateSession", operator_id="bob")
        A1, A2, B1 = a1.session_id, a2.session_id, b1.session_id
        g.approve(A1, ids[0])
        g.approve(A2, ids[2])
        g.approve(A1, ids[5])
        g.reject(A2, ids[7], comment="no")
        g.reject(B1, ids[3], reasoning="risky")
        g.approve(B1, ids[8])
        g.escalate(A1, ids[1], escalation_target="bob")
        g.escalate(B1, ids[4], escalation_target="carol")
        g.escalate(A2, ids[4], escalation_target="dave")
        time.sleep(0.3)
        g.approve(B1, ids[1])
        # failures and replays change nothing
        self.assertEqual(rpc(g, "ApproveDecision", session_id=A1, decision_id=ids[0]),
                         SC.FAILED_PRECONDITION)
        self.assertEqual(rpc(g, "RejectDecision", session_id=A1, decision_id=ids[6]),
                         SC.INVALID_ARGUMENT)
        self.assertEqual(rpc(g, "ApproveDecision", session_id=UNKNOWN_SID, decision_id=ids[6]),
                         SC.UNAUTHENTICATED)
        rid = uniq("req")
        g.approve(A1, ids[9], request_id=rid)
        g.approve(A1, ids[9], request_id=rid)
        # wait for both expiries
        wait_for(lambda: all(g.get(d.decision_id).status == "EXPIRED" for d in expiring),
                 4 * SLOW, interval=0.1, what="expiry")
        everything = [g.get(i) for i in ids + [d.decision_id for d in expiring]]
        want = expected_metrics(everything)
        # what this test did, counted independently of the store
        self.assertEqual(want.total_decisions, 14)
        self.assertEqual(want.approved_count, 6)   # 0 2 5 8 1 9
        self.assertEqual(want.rejected_count, 2)   # 7 3
        self.assertEqual(want.escalated_count, 1)  # 4
        self.assertEqual(want.expired_count, 2)
        self.assertEqual(want.sla_violations, 2)
        self.assertEqual(want.pending_count, 4)    # 4 6 10 11
        self.assertEqual(want.critical_count, 1)   # 10
        self.assertEqual(want.high_priority_count, 2)  # 4 11
        self.assertAlmostEqual(want.approval_rate, 6 / 8)
        self.assertGreater(want.avg_response_time_seconds, 0)
        self.assertMetrics(g.metrics(), want)
        # List agrees
        for status, n in (("", 4), ("PENDING", 3), ("ESCALATED", 1), ("APPROVED", 6),
                          ("REJECTED", 2), ("EXPIRED", 2)):
            self.assertEqual(g.list(status=status).total_count, n, status)
        self.assertEqual(g.list(priority="CRITICAL").total_count, 1)
        self.assertEqual(g.list(priority="HIGH").total_count, 2)

        # session statistics
        def stats_want(op):
            revs = [d for d in everything if d.history.reviewed_by == op
                    and d.status in ("APPROVED", "REJECTED")]
            rt = [ts_float(d.history.reviewed_at) - ts_float(d.created_at) for d in revs]
            return (sum(1 for d in revs if d.status == "APPROVED"),
                    sum(1 for d in revs if d.status == "REJECTED"),
                    sum(rt) / len(rt) if rt else 0.0)

        for op, esc, appr, rej, start in (("alice", 2, 3 + 1, 1, a1.created_at),
                                          ("bob", 1, 2, 1, b1.created_at)):
            with self.subTest(operator=op):
                s = g.stats(op)
                wa, wr, wavg = stats_want(op)
                self.assertEqual((s.approved, s.rejected, s.escalated), (appr, rej, esc))
                self.assertEqual((wa, wr), (appr, rej))
                self.assertEqual(s.total_decisions, appr + rej + esc)
                self.assertAlmostEqual(s.avg_response_time_seconds, wavg, delta=0.002)
                self.assertEqual(s.session_start, start)
        # session_start: the oldest open session, else the most recent one
        g.close_session(A1)
        self.assertEqual(g.stats("alice").session_start, a2.created_at)
        g.close_session(A2)
        self.assertEqual(g.stats("alice").session_start, a2.created_at)
        a3 = g.call("CreateSession", operator_id="alice")
        self.assertEqual(g.stats("alice").session_start, a3.created_at)
        # an operator with a session and no reviews
        e1 = g.call("CreateSession", operator_id="erin")
        s = g.stats("erin")
        self.assertEqual((s.total_decisions, s.approved, s.rejected, s.escalated), (0, 0, 0, 0))
        self.assertEqual(s.avg_response_time_seconds, 0.0)
        self.assertEqual(s.session_start, e1.created_at)
        # never had a session (an escalation target, the sweeper, nobody)
        for op in ("carol", "system", "nobody"):
            with self.subTest(unknown=op):
                self.assertEqual(rpc(g, "GetSessionStats", operator_id=op), SC.NOT_FOUND)
        # metrics unchanged by all that
        self.assertMetrics(g.metrics(), want)


def rpc(g, method, **fields):
    return g.code(method, **fields)[0]


if __name__ == "__main__":
    run_main()
