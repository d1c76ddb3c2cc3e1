#!/usr/bin/python3
"""Records real traffic for the seed corpora of the two HTTP/2 fuzz targets.

    /usr/bin/python3 tests/fuzz/capture_seeds.py BUILD_DIR

Starts BUILD_DIR/bin/governd (--demo, on a temporary store) behind a
recording TCP proxy and drives it with real clients: python3-grpcio (every
governance method, gzip, metadata, deadlines, a cancelled stream, the
health service), h2load, and vcli.  Each connection's bytes become seeds:

  corpus/server_h2/cap-<client>-<what>        0x00 + what the client sent
  corpus/client_response/cap-vcli-<what>      mode + what governd sent to vcli

(the leading byte is the target's mode byte: raw input, all at once; see
the targets' comments).  Files are replaced, never merged: run it again
after a protocol change and commit what changed.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
# Keep the seeds small: libFuzzer mutates short inputs best.
MAX_SEED = 16 * 1024


class Proxy:
    """Forwards one listening port to governd and keeps each connection's
    bytes, both ways."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []  # [client_bytes, server_bytes]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            rec = [bytearray(), bytearray()]
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._pump, args=(c, s, rec[0]), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, rec[1]), daemon=True).start()

    @staticmethod
    def _pump(src, dst, rec):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                rec += b
                dst.sendall(b)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def take(self):
        """Waits for the connections to go quiet, returns and forgets them."""
        time.sleep(0.3)
        with self.lock:
            got, self.conns = self.conns, []
        return [(bytes(a), bytes(b)) for a, b in got]


def save(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data[:MAX_SEED])


def main():
    build = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.join(build, "py"))
    import grpc
    import governance_pb2 as pb
    import health_pb2 as hpb

    tmp = tempfile.mkdtemp(prefix="capture-")
    gov = subprocess.Popen(
        [os.path.join(build, "bin", "governd"), "--listen", "127.0.0.1:0",
         "--db", os.path.join(tmp, "gov.db"), "--demo", "--threads", "1"],
        stderr=subprocess.PIPE, text=True)
    port = None
    for line in gov.stderr:
        if "governd listening" in line:
            port = int(line.split("addr=")[1].split()[0].rsplit(":", 1)[1])
            break
    threading.Thread(target=lambda: [None for _ in gov.stderr], daemon=True).start()
    proxy = Proxy(("127.0.0.1", port))
    addr = "127.0.0.1:%d" % proxy.port
    svc = "/vertice.governance.v1.GovernanceService/"

    def grpc_calls(name, fn, **chan_opts):
        with grpc.insecure_channel(addr, **chan_opts) as ch:
            try:
                fn(ch)
            except grpc.RpcError:
                pass
        for i, (c2s, _) in enumerate(proxy.take()):
            save("server_h2", "cap-grpcio-%s%s" % (name, "-%d" % i if i else ""),
                 b"\x00" + c2s)

    def unary(ch, method, req, resp_type, **kw):
        return ch.unary_unary(svc + method, request_serializer=req.__class__.SerializeToString,
                              response_deserializer=resp_type.FromString)(req, **kw)

    # A session and a pending decision to act on.
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        sid = unary(ch, "CreateSession", pb.CreateSessionRequest(operator_id="alice"),
                    pb.CreateSessionResponse).session_id
        lst = unary(ch, "ListPendingDecisions", pb.ListPendingDecisionsRequest(limit=5),
                    pb.ListPendingDecisionsResponse)
        ids = [d.decision_id for d in lst.decisions]

    decision = pb.Decision(
        operation_type="block_ip", priority="HIGH", sla_seconds=900,
        context={"ip": "203.0.113.7", "source": "ids"},
        risk_assessment=pb.Risk(score=0.82, level="HIGH", factors=["port scan"],
                                details={"asn": "64500"}),
        ethical_assessment=pb.EthicalAssessment(
            principles=[pb.EthicalPrinciple(name="proportionality", severity=0.2,
                                            explanation="a 24 h block")],
            concerns=["shared NAT"], confidence=0.9, reasoning="clear signal"),
        recommended_actions=[pb.Action(action_type="fw.block", confidence=0.95,
                                       parameters={"ttl": "24h"})])

    grpc_calls("health", lambda ch: unary(ch, "HealthCheck", pb.HealthCheckRequest(),
                                          pb.HealthCheckResponse))
    grpc_calls("create-session", lambda ch: unary(
        ch, "CreateSession", pb.CreateSessionRequest(operator_id="bob"),
        pb.CreateSessionResponse))
    grpc_calls("list", lambda ch: unary(
        ch, "ListPendingDecisions",
        pb.ListPendingDecisionsRequest(limit=3, priority="HIGH", status="PENDING"),
        pb.ListPendingDecisionsResponse))
    grpc_calls("get", lambda ch: unary(ch, "GetDecision",
                                       pb.GetDecisionRequest(decision_id=ids[0]),
                                       pb.GetDecisionResponse))
    grpc_calls("approve", lambda ch: unary(
        ch, "ApproveDecision",
        pb.ApproveDecisionRequest(session_id=sid, decision_id=ids[1], comment="ok",
                                  request_id="r-1"),
        pb.ApproveDecisionResponse))
    grpc_calls("reject", lambda ch: unary(
        ch, "RejectDecision",
        pb.RejectDecisionRequest(session_id=sid, decision_id=ids[2],
                                 reasoning="too broad \u00e9"),
        pb.RejectDecisionResponse))
    grpc_calls("escalate", lambda ch: unary(
        ch, "EscalateDecision",
        pb.EscalateDecisionRequest(session_id=sid, decision_id=ids[3],
                                   escalation_target="soc-lead", reason="unsure"),
        pb.EscalateDecisionResponse))
    grpc_calls("metrics", lambda ch: unary(ch, "GetMetrics", pb.GetMetricsRequest(),
                                           pb.GetMetricsResponse))
    grpc_calls("session-stats", lambda ch: unary(
        ch, "GetSessionStats", pb.GetSessionStatsRequest(operator_id="alice"),
        pb.GetSessionStatsResponse))
    grpc_calls("submit", lambda ch: unary(
        ch, "SubmitDecision",
        pb.SubmitDecisionRequest(decision=decision, idempotency_key="cap-1"),
        pb.SubmitDecisionResponse, metadata=(("x-request-id", "cap"),
                                             ("x-trace-bin", b"\x00\x01\xff"))))
    grpc_calls("submit-gzip", lambda ch: unary(
        ch, "SubmitDecision", pb.SubmitDecisionRequest(decision=decision),
        pb.SubmitDecisionResponse, compression=grpc.Compression.Gzip, timeout=5))
    grpc_calls("invalid", lambda ch: unary(
        ch, "GetDecision", pb.GetDecisionRequest(decision_id="bad\u00ff\x01id"),
        pb.GetDecisionResponse))
    grpc_calls("close-session", lambda ch: unary(
        ch, "CloseSession", pb.CloseSessionRequest(session_id=sid),
        pb.CloseSessionResponse))

    def stream(ch, method, req, resp_type, n):
        it = ch.unary_stream(svc + method, request_serializer=req.__class__.SerializeToString,
                             response_deserializer=resp_type.FromString)(req)
        for i, _ in enumerate(it):
            if i + 1 >= n:
                it.cancel()
                break

    grpc_calls("stream-decisions", lambda ch: stream(
        ch, "StreamDecisions", pb.StreamDecisionsRequest(resume_after=1),
        pb.DecisionEvent, 3))
    grpc_calls("stream-events", lambda ch: stream(
        ch, "StreamEvents", pb.StreamEventsRequest(), pb.GovernanceEvent, 1))

    def health_watch(ch):
        it = ch.unary_stream("/grpc.health.v1.Health/Watch",
                             request_serializer=hpb.HealthCheckRequest.SerializeToString,
                             response_deserializer=hpb.HealthCheckResponse.FromString)(
            hpb.HealthCheckRequest())
        next(it)
        it.cancel()

    grpc_calls("health-check", lambda ch: ch.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=hpb.HealthCheckRequest.SerializeToString,
        response_deserializer=hpb.HealthCheckResponse.FromString)(
            hpb.HealthCheckRequest(service="vertice.governance.v1.GovernanceService")))
    grpc_calls("health-watch", health_watch)
    grpc_calls("unknown-method", lambda ch: unary(ch, "NoSuchMethod",
                                                  pb.HealthCheckRequest(),
                                                  pb.HealthCheckResponse))

    # h2load: many streams on one connection, the benchmark's request.
    if shutil.which("h2load"):
        body = os.path.join(tmp, "body")
        with open(body, "wb") as f:
            f.write(b"\x00\x00\x00\x00\x00")
        subprocess.run(["h2load", "-n", "6", "-c", "1", "-m", "3", "-d", body,
                        "-H", "content-type: application/grpc", "-H", "te: trailers",
                        "http://%s%sHealthCheck" % (addr, svc)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        for i, (c2s, _) in enumerate(proxy.take()):
            save("server_h2", "cap-h2load-health%s" % ("-%d" % i if i else ""), b"\x00" + c2s)

    # vcli: what governd sends our client (unary 0x00, streaming 0x01).
    vcli = os.path.join(build, "bin", "vcli")
    env = dict(os.environ, NO_COLOR="1", XDG_CONFIG_HOME=tmp)

    def vcli_run(name, mode, *args, timeout=5):
        try:
            subprocess.run([vcli, "--server", addr] + list(args), env=env, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            pass
        for i, (c2s, s2c) in enumerate(proxy.take()):
            suffix = "-%d" % i if i else ""
            save("client_response", "cap-vcli-%s%s" % (name, suffix), bytes([mode]) + s2c)
            save("server_h2", "cap-vcli-%s%s" % (name, suffix), b"\x00" + c2s)

    vcli_run("health", 0x00, "health")
    vcli_run("list", 0x00, "gov", "list", "--limit", "2")
    vcli_run("get", 0x00, "gov", "get", ids[4])
    vcli_run("get-missing", 0x00, "gov", "get", "d-no-such-\u00e9")
    vcli_run("metrics", 0x00, "gov", "metrics")
    vcli_run("approve", 0x00, "--operator", "carol", "gov", "approve", ids[4], "--comment",
             "fine")
    dj = os.path.join(tmp, "bad.json")
    with open(dj, "w") as f:
        f.write('{"operationType": "Block IP \u00e9%", "priority": "HIGH", "slaSeconds": 60}')
    vcli_run("submit-invalid", 0x00, "gov", "submit", "-f", dj)
    vcli_run("watch", 0x01, "gov", "watch", timeout=1.5)

    gov.terminate()
    gov.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
