#!/usr/bin/python3
"""Writes the hand-made seeds of the fuzz corpora (the "seed-*" files).

    /usr/bin/python3 tests/fuzz/make_seeds.py BUILD_DIR

BUILD_DIR/py has the generated governance_pb2 (any configured tree).  The
captured seeds ("cap-*") come from capture_seeds.py; regression inputs
("crash-*", "regress-*") are added by hand and never rewritten here.
Seeds are replaced, never merged: run it again and commit what changed.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SVC = "/vertice.governance.v1.GovernanceService/"


def save(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- structured inputs (the op layouts of fuzz_server_h2.c, h2build.c and
# fuzz_client_response.c) ----

def take(b, two=False):
    """A length-prefixed run of bytes, as fuzz_take() reads it."""
    return (struct.pack(">H", len(b)) if two else bytes([len(b)])) + b


def grpc_msg(stream, payload, end=True, gzip=False, split=False):
    """h2_op_message: op 1 in both targets."""
    f = (1 if end else 0) | (2 if gzip else 0) | (16 if split else 0)
    return bytes([1, stream, f]) + take(payload, True)


def req_headers(stream, path_idx, end=False, opt=0, extra=()):
    """fuzz_server_h2 op_headers: op 0."""
    opt |= len(extra) << 5
    out = bytes([0, stream, 1 if end else 0, path_idx, opt])
    for k, v in extra:
        out += take(k) + take(v, True)
    return out


FLUSH = b"\x0b"   # op 11 of fuzz_server_h2 (12: wait, 13: shutdown)


def server_seeds(pb):
    # Stream bytes: 0 is stream 1, 1 is stream 3, 2 is stream 5 (fuzz_stream_id).
    methods = [m.name for m in pb.DESCRIPTOR.services_by_name["GovernanceService"].methods]
    reqs = {
        "HealthCheck": pb.HealthCheckRequest(),
        "CreateSession": pb.CreateSessionRequest(operator_id="alice"),
        "CloseSession": pb.CloseSessionRequest(session_id="s-1"),
        "ListPendingDecisions": pb.ListPendingDecisionsRequest(limit=5, priority="HIGH"),
        "GetDecision": pb.GetDecisionRequest(decision_id="d-1"),
        "ApproveDecision": pb.ApproveDecisionRequest(session_id="s-1", decision_id="d-1",
                                                     comment="ok"),
        "RejectDecision": pb.RejectDecisionRequest(session_id="s-1", decision_id="d-1",
                                                   reasoning="no"),
        "EscalateDecision": pb.EscalateDecisionRequest(session_id="s-1", decision_id="d-1",
                                                       escalation_target="lead"),
        "GetMetrics": pb.GetMetricsRequest(),
        "GetSessionStats": pb.GetSessionStatsRequest(operator_id="alice"),
        "StreamDecisions": pb.StreamDecisionsRequest(resume_after=0x45),
        "StreamEvents": pb.StreamEventsRequest(session_id="abc"),
        "SubmitDecision": pb.SubmitDecisionRequest(decision=pb.Decision(
            operation_type="block_ip", priority="HIGH", sla_seconds=60)),
        "CreateToken": pb.CreateTokenRequest(name="ci", role="producer", identity="ci-bot",
                                             expires_in_seconds=3600),
        "ListTokens": pb.ListTokensRequest(include_revoked=True),
        "RevokeToken": pb.RevokeTokenRequest(token_id="t-1"),
        "ListAudit": pb.ListAuditRequest(actor="alice", outcome="DENIED", limit=5),
        "ExportAudit": pb.ExportAuditRequest(after_sequence=3),
        "RecordExecution": pb.RecordExecutionRequest(
            session_id="s-1", decision_id="d-1",
            execution=pb.ExecutionRecord(action_type="k8s.scale", succeeded=True)),
    }
    # One call of every method, the message in one DATA with END_STREAM.
    for i, m in enumerate(methods):
        body = reqs[m].SerializeToString()
        save("server_h2", "call-" + m, b"\x01" + req_headers(1, i) + grpc_msg(1, body))
    get = reqs["GetDecision"].SerializeToString()
    submit = reqs["SubmitDecision"].SerializeToString()
    # Compressed, with grpc-encoding gzip and accept-encoding.
    save("server_h2", "gzip", b"\x01" + req_headers(1, 12, opt=2 | 4 | 8) +
         grpc_msg(1, submit, gzip=True))
    # Metadata (echoed back), a -bin key, a deadline.
    save("server_h2", "metadata", b"\x01" + req_headers(
        1, 4, opt=1, extra=((b"x-echo", b"hi"), (b"x-echo-bin", b"AAEC"), (b"x-id", b"1"))) +
        grpc_msg(1, get))
    # Several calls on one connection, interleaved, with reads between.
    save("server_h2", "interleaved", b"\x01" + req_headers(1, 0) + req_headers(3, 4) +
         FLUSH + grpc_msg(3, get, split=True) + FLUSH + grpc_msg(1, b"") + FLUSH +
         req_headers(5, 10) + grpc_msg(5, reqs["StreamDecisions"].SerializeToString()))
    # A stream with a small window: the server waits for WINDOW_UPDATE.
    save("server_h2", "flow-control", b"\x01" + b"\x05" + bytes([2 << 1, 3]) +
         struct.pack(">I", 64) + bytes([0]) + struct.pack(">I", 16) +
         req_headers(1, 11) + grpc_msg(1, pb.StreamEventsRequest(
             session_id="x" * 40).SerializeToString()) + FLUSH +
         b"\x06\x01" + struct.pack(">I", 1000) + FLUSH +
         b"\x06\x00\x01" + struct.pack(">I", 1000))
    # Cancelled by the client, a ping, GOAWAY.
    save("server_h2", "cancel", b"\x01" + req_headers(1, 10) +
         grpc_msg(1, reqs["StreamDecisions"].SerializeToString()) + FLUSH +
         b"\x03\x01\x08" + b"\x04\x00\x07" + b"\x07\x01\x00")
    # Headers over CONTINUATION, trailers from the client.
    save("server_h2", "continuation", b"\x01" + bytes([0, 1, 2, 0, 0]) +
         b"\x08\x01\x01" + take(b"x-more") + take(b"v", True) +
         grpc_msg(1, b"", end=False) + b"\x09\x01" + take(b"x-trailer") + take(b"t", True))
    # Refusals: GET, no content-type, unknown method, bad timeout, bad encoding.
    save("server_h2", "refusals", b"\x01" + bytes([0, 1, 1 | 4, 0, 0]) + take(b"GET") +
         bytes([0, 3, 1 | 8, 0, 0]) + req_headers(5, 15, end=True) +
         req_headers(7, 0x50, end=True, opt=1) + req_headers(9, 0, opt=2) +
         grpc_msg(9, b""))
    # Too large, truncated, two messages in a unary call, bad flag.
    save("server_h2", "framing", b"\x01" + req_headers(1, 4) +
         bytes([1, 1, 1 | 8]) + struct.pack(">I", 1 << 20) + take(b"", True) +
         req_headers(3, 4) + bytes([1, 3, 1 | 8]) + struct.pack(">I", 100) + take(get, True) +
         req_headers(5, 4) + grpc_msg(5, get, end=False) + grpc_msg(5, get) +
         req_headers(7, 4) + bytes([1, 7, 1 | 4, 2]) + take(get, True) +
         req_headers(9, 4) + bytes([1, 9, 1 | 2]) + take(get, True))
    # A deadline of 1 ms on an open stream, then a wait: DEADLINE_EXCEEDED.
    events = reqs["StreamEvents"].SerializeToString()
    save("server_h2", "deadline", b"\x01" + req_headers(1, 0x2b, opt=1) +
         grpc_msg(1, events) + FLUSH + b"\x0c" + req_headers(3, 0) + grpc_msg(3, b""))
    # Shutdown with an open stream and a call still arriving.
    save("server_h2", "shutdown", b"\x01" + req_headers(1, 10) +
         grpc_msg(1, reqs["StreamDecisions"].SerializeToString()) + req_headers(3, 4) +
         FLUSH + b"\x0d" + grpc_msg(3, get) + req_headers(5, 0) + grpc_msg(5, b""))
    # The raw preface alone, and a preface with garbage after it.
    save("server_h2", "preface-only", b"\x00PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    save("server_h2", "bad-preface", b"\x00PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n\x00\x00")
    save("server_h2", "http1", b"\x00GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def client_seeds():
    def resp_headers(status=0, ct=0, f=0, extra=()):
        f |= len(extra) << 4
        out = bytes([0, 1, f, status, ct])
        return out

    def trailers(code, msg, f=0):
        return bytes([2, 1, f, code]) + take(msg, True)

    msg = b"\x0a\x05\x0a\x03d-1"
    ok = resp_headers() + grpc_msg(1, msg, end=False) + trailers(0, b"")
    save("client_response", "unary-ok", b"\x80" + ok)
    save("client_response", "unary-gzip", b"\x80" + resp_headers(f=8) +
         grpc_msg(1, msg * 20, end=False, gzip=True) + trailers(0, b""))
    save("client_response", "stream-three", b"\x81" + resp_headers() +
         grpc_msg(1, msg, end=False) + grpc_msg(1, msg, end=False, split=True) +
         grpc_msg(1, b"", end=False) + trailers(0, b""))
    save("client_response", "stream-cancel", b"\x89" + resp_headers() +
         grpc_msg(1, msg, end=False) * 3 + trailers(0, b""))
    save("client_response", "trailers-only", b"\x80" + bytes([0, 1, 1 | 4, 0, 0, 5]) +
         take(b"decision 'd-1%C3%A9' not found%", True))
    save("client_response", "error-message", b"\x80" + resp_headers() +
         trailers(3, b"operation_type 'Block%20IP%20%C3%A9%25' is invalid %zz %4"))
    save("client_response", "http-503", b"\x80" + resp_headers(status=2) +
         b"\x03\x01\x01" + take(b"", True))
    save("client_response", "not-grpc", b"\x80" + resp_headers(ct=2) +
         b"\x03\x01\x01" + take(b"<html>", True))
    save("client_response", "too-large", b"\x84" + resp_headers() +
         grpc_msg(1, b"x" * 2000, end=False) + trailers(0, b""))
    save("client_response", "refused", b"\x80" + b"\x04\x01\x07")
    save("client_response", "goaway", b"\x80" + b"\x08\x00\x00" + resp_headers() +
         b"\x05\x00\x00")
    # Regression: a grpc-status that is not a number ("1x") was read as 82.
    save("client_response", "bad-status", b"\x80" + resp_headers() +
         bytes([2, 1, 1, 0xe0]) + take(b"1x"))
    save("client_response", "no-message", b"\x80" + resp_headers() + trailers(0, b""))
    save("client_response", "truncated", b"\x80" + resp_headers() +
         bytes([1, 1, 8]) + struct.pack(">I", 50) + take(msg, True) + trailers(0, b""))
    save("client_response", "raw-settings-only", b"\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    save("client_response", "raw-empty", b"\x00")


def gov_request_seeds(pb):
    methods = [m.name for m in pb.DESCRIPTOR.services_by_name["GovernanceService"].methods]
    idx = {m: i for i, m in enumerate(methods)}
    d = pb.Decision(
        operation_type="block_ip", priority="HIGH", sla_seconds=900,
        assigned_operator="alice", context={"ip": "203.0.113.7"},
        risk_assessment=pb.Risk(score=0.82, level="HIGH", factors=["port scan"],
                                details={"asn": "64500"}),
        ethical_assessment=pb.EthicalAssessment(
            principles=[pb.EthicalPrinciple(name="proportionality", severity=0.2,
                                            explanation="a 24 h block")],
            concerns=["shared NAT"], confidence=0.9, reasoning="clear\nsignal"),
        recommended_actions=[pb.Action(action_type="fw.block", confidence=0.95,
                                       description="block", parameters={"ttl": "24h"})])
    cases = {
        "submit-valid": ("SubmitDecision", pb.SubmitDecisionRequest(decision=d,
                                                                    idempotency_key="k-1")),
        "submit-empty": ("SubmitDecision", pb.SubmitDecisionRequest()),
        "submit-server-fields": ("SubmitDecision", pb.SubmitDecisionRequest(decision=pb.Decision(
            decision_id="x", operation_type="a", priority="LOW", sla_seconds=1))),
        "submit-bad-score": ("SubmitDecision", pb.SubmitDecisionRequest(decision=pb.Decision(
            operation_type="a", priority="LOW", sla_seconds=1,
            risk_assessment=pb.Risk(score=float("nan"))))),
        "submit-bad-utf8": ("SubmitDecision", None),
        "list": ("ListPendingDecisions", pb.ListPendingDecisionsRequest(
            status="PENDING", priority="CRITICAL", limit=10, operation_type="block_ip")),
        "list-bad-status": ("ListPendingDecisions", pb.ListPendingDecisionsRequest(
            status="DONE")),
        "get": ("GetDecision", pb.GetDecisionRequest(decision_id="d-0123")),
        "get-empty": ("GetDecision", pb.GetDecisionRequest()),
        "approve": ("ApproveDecision", pb.ApproveDecisionRequest(
            session_id="s-1", decision_id="d-1", comment="ok", request_id="r")),
        "approve-no-session": ("ApproveDecision", pb.ApproveDecisionRequest(decision_id="d")),
        "reject": ("RejectDecision", pb.RejectDecisionRequest(
            session_id="s-1", decision_id="d-1", reasoning="r\tr")),
        "reject-no-reason": ("RejectDecision", pb.RejectDecisionRequest(
            session_id="s-1", decision_id="d-1")),
        "escalate": ("EscalateDecision", pb.EscalateDecisionRequest(
            session_id="s", decision_id="d", escalation_target="lead", reason="why")),
        "create-session": ("CreateSession", pb.CreateSessionRequest(operator_id="alice")),
        "close-session": ("CloseSession", pb.CloseSessionRequest(session_id="s-1")),
        "session-stats": ("GetSessionStats", pb.GetSessionStatsRequest(operator_id="bob")),
        "stream-decisions": ("StreamDecisions", pb.StreamDecisionsRequest(resume_after=5)),
        "stream-decisions-beyond": ("StreamDecisions",
                                    pb.StreamDecisionsRequest(resume_after=1 << 40)),
        "stream-events": ("StreamEvents", pb.StreamEventsRequest(session_id="s")),
        "health": ("HealthCheck", pb.HealthCheckRequest()),
        "metrics": ("GetMetrics", pb.GetMetricsRequest(session_id="s")),
        "record-execution": ("RecordExecution", pb.RecordExecutionRequest(
            session_id="s-1", decision_id="d-1", request_id="r.exec",
            execution=pb.ExecutionRecord(action_type="k8s.scale", action_index=1,
                                         succeeded=True, detail="scaled to 5",
                                         target="context kind-prod"))),
        "record-execution-server-fields": ("RecordExecution", pb.RecordExecutionRequest(
            session_id="s-1", decision_id="d-1",
            execution=pb.ExecutionRecord(action_type="k8s.scale", action_index=-1,
                                         executed_by="mallory"))),
        "record-execution-empty": ("RecordExecution", pb.RecordExecutionRequest()),
        "create-token": ("CreateToken", pb.CreateTokenRequest(
            name="ci", role="operator", identity="kim", expires_in_seconds=86400)),
        "create-token-bad-role": ("CreateToken", pb.CreateTokenRequest(name="x", role="root")),
        "create-token-bad-expiry": ("CreateToken", pb.CreateTokenRequest(
            name="x", role="admin", expires_in_seconds=-1)),
        "list-tokens": ("ListTokens", pb.ListTokensRequest()),
        "revoke-token": ("RevokeToken", pb.RevokeTokenRequest(token_id="t-0123")),
        "revoke-token-empty": ("RevokeToken", pb.RevokeTokenRequest()),
        "list-audit": ("ListAudit", pb.ListAuditRequest(
            actor="alice", subject="d-1", action="decision.approve", outcome="OK", limit=10)),
        "list-audit-bad-outcome": ("ListAudit", pb.ListAuditRequest(outcome="MAYBE")),
        "export-audit": ("ExportAudit", pb.ExportAuditRequest(after_sequence=7)),
    }
    for name, (m, req) in cases.items():
        if req is None:
            # Invalid UTF-8 in a string field: protobuf-c takes it as bytes.
            body = b"\x0a\x0b\x12\x09block\xff_ip"
        else:
            body = req.SerializeToString()
        save("gov_request", name, bytes([idx[m]]) + body)


def json_seeds():
    full = """{
  "operationType": "block_ip",
  "context": {"ip": "203.0.113.7", "source": "ids"},
  "riskAssessment": {"score": 0.82, "level": "HIGH",
                     "factors": ["port scan"], "details": {"asn": "64500"}},
  "ethicalAssessment": {"principles": [{"name": "proportionality",
                        "severity": 0.2, "explanation": "a 24 h block"}],
                        "concerns": ["shared NAT"], "confidence": 0.9,
                        "reasoning": "clear signal"},
  "priority": "HIGH",
  "slaSeconds": 900,
  "assignedOperator": "alice",
  "recommendedActions": [{"actionType": "fw.block", "description": "block for 24h",
                          "parameters": {"ttl": "24h"}, "confidence": 0.95}],
  "idempotencyKey": "ids-alert-1"
}
"""
    save("decision_json", "docs-example", full)
    save("decision_json", "snake-case", '{"operation_type": "scale", "sla_seconds": "60", '
         '"risk_assessment": {"score": "0.5"}, "recommended_actions": []}')
    save("decision_json", "minimal", '{"operationType":"a"}')
    save("decision_json", "empty-object", "{}")
    save("decision_json", "timestamps", '{"createdAt": "2024-05-01T14:00:00.5+02:00", '
         '"expiresAt": "9999-12-31T23:59:59.999999999Z", "updatedAt": "0001-01-01T00:00:00Z",'
         ' "escalatedAt": null}')
    save("decision_json", "doubles", '{"riskAssessment": {"score": "NaN"}, '
         '"ethicalAssessment": {"confidence": "-Infinity", "principles": '
         '[{"severity": 1e308, "violated": true}]}, "recommendedActions": '
         '[{"confidence": -0.0}, {"confidence": 5e-324}]}')
    save("decision_json", "history", '{"history": {"submittedAt": "2024-01-01T00:00:00Z", '
         '"reviewedBy": "alice", "outcome": "APPROVED", "comment": "\\u00e9\\ud83d\\ude00"}}')
    save("decision_json", "int-edges", '{"slaSeconds": 2147483647}')
    save("decision_json", "int-overflow", '{"slaSeconds": 2147483648}')
    save("decision_json", "both-names", '{"slaSeconds": 1, "sla_seconds": 2}')
    save("decision_json", "duplicate-key", '{"priority": "HIGH", "priority": "LOW"}')
    save("decision_json", "unknown-field", '{"risk": 1}')
    save("decision_json", "wrong-type", '{"riskAssessment": {"score": "high"}}')
    save("decision_json", "map-non-string", '{"context": {"a": 1}}')
    save("decision_json", "escapes", '{"context": {"k\\n\\"": "v\\u0001\\t"}, '
         '"assignedOperator": "\\u2028"}')
    save("decision_json", "not-json", '{"operationType": ')
    save("decision_json", "array-top", '[1, 2]')


def config_seeds():
    save("config", "docs-example", "# vcli configuration\nserver = 10.0.0.7:50051\n"
         "operator = dave\ntimeout = 30s\noutput = json\n")
    save("config", "all-keys", "server = gov.example:443\noperator = alice\ntimeout = 1m30s\n"
         "connect-timeout = 500ms\noutput = yaml\ntls = yes\ntls-ca = /etc/ca.pem\n"
         "tls-cert = c.pem\ntls-key = k.pem\ntls-server-name = gov\ncolor = never\n")
    save("config", "crlf-blanks", "\r\n  # comment\r\n\tserver\t=\t[::1]:50051  \r\n\r\n")
    save("config", "cert-without-key", "tls-cert = c.pem\n")
    save("config", "duplicate", "output = json\noutput = yaml\n")
    save("config", "unknown-key", "servre = 1.2.3.4:5\n")
    save("config", "bad-values", "timeout = 0s\n")
    save("config", "no-equals", "server 1.2.3.4:5\n")
    save("config", "utf8-operator", "operator = \u00e9ve\n")
    save("config", "env-and-flags", "output = json\n\x00127.0.0.1:1\x00bob\x00\x002s\x00"
         "yaml\x00\x00\x00\x00\x00\x00\x00\x00tcp:9\x00\x00x\x00")
    save("config", "no-newline-at-end", "color = AUTO")


def main():
    sys.path.insert(0, os.path.join(os.path.abspath(sys.argv[1]), "py"))
    import governance_pb2 as pb
    server_seeds(pb)
    client_seeds()
    gov_request_seeds(pb)
    json_seeds()
    config_seeds()


if __name__ == "__main__":
    main()
