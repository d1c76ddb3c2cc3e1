#!/usr/bin/python3
"""governd against a grpcio (Python) client: services, status codes,
deadlines, cancellation, compression, size limits, metadata, TLS, mTLS and
graceful shutdown.  Also runs with governd under valgrind
(VCLI_TEST_WRAPPER), where the loop counts are smaller."""

import gzip
import os
import signal
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import h2raw  # noqa: E402
from harness import (  # noqa: E402
    GOV, H_CHECK, H_WATCH, HEALTHCHECK, NOT_SERVING, SERVICE_UNKNOWN, SERVING,
    SLOW, UNDER_VALGRIND, Governd, GoverndCase, certs, governance_pb2,
    health_check, health_check_call, health_pb2, rpc_code, run_main, std_check,
    std_watch, wait_for)

SC = grpc.StatusCode
N = (lambda full, vg: vg if UNDER_VALGRIND else full)

OTHER_UNARY = ["CreateSession", "CloseSession", "ListPendingDecisions", "GetDecision",
               "ApproveDecision", "RejectDecision", "EscalateDecision", "GetMetrics",
               "GetSessionStats"]
OTHER_STREAMING = ["StreamDecisions", "StreamEvents"]
MiB = 1 << 20


def check_request_of_size(total):
    """A serialized grpc.health.v1.HealthCheckRequest of exactly total bytes
    (an unknown service name, so a server that accepts it says NOT_FOUND)."""
    for name_len in range(max(0, total - 6), total + 1):
        b = health_pb2.HealthCheckRequest(service="a" * name_len).SerializeToString()
        if len(b) == total:
            return b
    raise ValueError("no HealthCheckRequest of %d bytes" % total)


def raw_check(ch, body, timeout=10.0, **kw):
    """Health/Check with raw request bytes; returns the status code."""
    f = ch.unary_unary(H_CHECK, request_serializer=None,
                       response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return rpc_code(f, body, timeout=timeout * SLOW, **kw)


def last_peer(gd, method):
    return gd.wait_call(method=method)["peer"]


class PlainServer(GoverndCase):
    """governd with default limits, plaintext."""

    NAME = "interop-plain"

    def setUp(self):
        self.ch = self.gd.channel()

    def tearDown(self):
        self.ch.close()

    def test_listening_log_line(self):
        rec = self.gd.listen_record
        self.assertEqual(rec.get("level"), "info")
        self.assertRegex(rec.get("addr", ""), r"^127\.0\.0\.1:[1-9][0-9]*$")
        self.assertEqual(rec.get("tls"), "false")
        self.assertRegex(rec.get("threads", ""), r"^[1-9][0-9]*$")
        self.assertRegex(rec.get("ts", ""), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

    def test_healthcheck(self):
        r = health_check(self.ch)
        self.assertTrue(r.healthy)
        self.assertEqual(r.status, "SERVING")
        self.assertGreaterEqual(r.uptime_seconds, 0)
        self.assertLess(r.uptime_seconds, 3600)

    def test_uptime_advances(self):
        first = health_check(self.ch).uptime_seconds
        r = wait_for(lambda: (lambda x: x if x.uptime_seconds >= first + 1 else None)(
            health_check(self.ch)), 3 * SLOW, interval=0.1, what="uptime_seconds to advance")
        self.assertLessEqual(r.uptime_seconds, first + 3 * SLOW + 1)

    def test_call_log_line(self):
        health_check(self.ch)
        rec = self.gd.wait_call(method=HEALTHCHECK, code="OK")
        self.assertEqual(rec.get("level"), "debug")
        self.assertRegex(rec.get("peer", ""), r"^127\.0\.0\.1:[1-9][0-9]*$")
        self.assertGreaterEqual(float(rec.get("duration_ms", "-1")), 0.0)

    def test_std_health_check_known_services(self):
        for svc in ("", "vertice.governance.v1.GovernanceService", "grpc.health.v1.Health"):
            with self.subTest(service=svc):
                self.assertEqual(std_check(self.ch, svc).status, SERVING)

    def test_std_health_check_unknown_service(self):
        for svc in ("nope", "vertice.governance.v1", "GovernanceService", "grpc.health.v1.Health "):
            with self.subTest(service=svc):
                self.assertEqual(rpc_code(std_check, self.ch, svc), SC.NOT_FOUND)

    def test_every_governance_method_is_served(self):
        # Since the governance core landed, no method of the contract answers
        # UNIMPLEMENTED; an empty request gets that method's own answer
        # (a validation error, an empty page, a stream that stays open...).
        for m in OTHER_UNARY:
            with self.subTest(method=m):
                f = self.ch.unary_unary(GOV + m)
                self.assertNotEqual(rpc_code(f, b"", timeout=5 * SLOW), SC.UNIMPLEMENTED)
        for m in OTHER_STREAMING:
            with self.subTest(method=m):
                f = self.ch.unary_stream(GOV + m)
                self.assertNotEqual(rpc_code(lambda: list(f(b"", timeout=1 * SLOW))),
                                    SC.UNIMPLEMENTED)

    def test_unknown_paths_unimplemented(self):
        for path in ("/foo.Bar/Baz", GOV + "Nope", "/grpc.health.v1.Health/Nope",
                     "/vertice.governance.v1.GovernanceService/healthcheck"):
            with self.subTest(path=path):
                f = self.ch.unary_unary(path)
                self.assertEqual(rpc_code(f, b"", timeout=5 * SLOW), SC.UNIMPLEMENTED)
        health_check(self.ch)

    def test_watch_sends_serving_then_client_cancel_reaches_server(self):
        before = len(self.gd.calls(method=H_WATCH, code="CANCELLED"))
        call = std_watch(self.ch, "")
        first = next(call)
        self.assertEqual(first.status, SERVING)
        call.cancel()
        wait_for(lambda: len(self.gd.calls(method=H_WATCH, code="CANCELLED")) > before,
                 5 * SLOW, what="code=CANCELLED for the cancelled Watch")
        health_check(self.ch)

    def test_watch_unknown_service_stays_open(self):
        call = std_watch(self.ch, "no.such.Service")
        self.assertEqual(next(call).status, SERVICE_UNKNOWN)
        time.sleep(0.3)
        self.assertTrue(call.is_active(), "Watch of an unknown service must stay open")
        call.cancel()

    def test_many_watchers_then_cancel(self):
        n = N(20, 5)
        before = len(self.gd.calls(method=H_WATCH, code="CANCELLED"))
        calls = [std_watch(self.ch, "") for _ in range(n)]
        for c in calls:
            self.assertEqual(next(c).status, SERVING)
        for c in calls:
            c.cancel()
        wait_for(lambda: len(self.gd.calls(method=H_WATCH, code="CANCELLED")) >= before + n,
                 10 * SLOW, what="%d CANCELLED Watch calls" % n)
        self.assertTrue(health_check(self.ch).healthy)

    def test_deadline_exceeded_grpcio(self):
        before = len(self.gd.calls(method=H_WATCH))
        call = std_watch(self.ch, "", timeout=0.3)
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as cm:
            for _ in call:
                pass
        self.assertEqual(cm.exception.code(), SC.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - t0, 3.0 * SLOW)
        # grpcio also cancels at its own deadline, so the server may see
        # either its timer or the client's RST_STREAM first.
        rec = wait_for(lambda: self.gd.calls(method=H_WATCH)[before:],
                       5 * SLOW, what="a call line for the Watch")[-1]
        self.assertIn(rec["code"], ("DEADLINE_EXCEEDED", "CANCELLED"))

    def test_deadline_exceeded_server_side(self):
        """grpc-timeout enforced by governd itself: a raw client that never
        cancels must get trailers (DEADLINE_EXCEEDED) from the server."""
        c = h2raw.H2Conn.connect(self.gd.addr)
        try:
            c.handshake()
            t0 = time.monotonic()
            c.grpc_call(1, H_WATCH, health_pb2.HealthCheckRequest().SerializeToString(),
                        extra=[("grpc-timeout", "200m")])
            st = c.wait_stream(1, timeout=5 * SLOW)
            elapsed = time.monotonic() - t0
            self.assertTrue(st.done, "server did not end the stream after grpc-timeout: %r" % st)
            self.assertGreaterEqual(elapsed, 0.15)
            self.assertLess(elapsed, 3.0 * SLOW)
            msgs = st.messages()
            self.assertGreaterEqual(len(msgs), 1, st)
            self.assertEqual(health_pb2.HealthCheckResponse.FromString(msgs[0][1]).status,
                             SERVING)
            rec = self.gd.wait_call(method=H_WATCH, peer=c.local)
            self.assertEqual(rec["code"], "DEADLINE_EXCEEDED")
        finally:
            c.close()

    def test_unary_with_deadline_ok(self):
        self.assertTrue(health_check(self.ch, timeout=2.0).healthy)
        self.assertEqual(std_check(self.ch, "", timeout=2.0).status, SERVING)

    def test_gzip_request(self):
        r = health_check(self.ch, compression=grpc.Compression.Gzip)
        self.assertTrue(r.healthy)
        # A request large and compressible enough that grpcio really
        # compresses it; decoding it proves decompression (else INTERNAL).
        self.assertEqual(rpc_code(std_check, self.ch, "x" * 20000,
                                  compression=grpc.Compression.Gzip), SC.NOT_FOUND)
        self.assertEqual(std_check(self.ch, "", compression=grpc.Compression.Gzip).status,
                         SERVING)

    def test_gzip_channel_default_compression(self):
        ch = self.gd.channel(options=[("grpc.default_compression_algorithm",
                                       grpc.Compression.Gzip)])
        try:
            self.assertTrue(health_check(ch).healthy)
            self.assertEqual(std_check(ch, "").status, SERVING)
            call = std_watch(ch, "")
            self.assertEqual(next(call).status, SERVING)
            call.cancel()
        finally:
            ch.close()

    def test_gzip_bomb_over_max_recv(self):
        """4 MiB + 1 KiB that compress to a few KiB: the limit applies after
        decompression."""
        body = check_request_of_size(4 * MiB + 1024)
        self.assertLess(len(gzip.compress(body)), 64 * 1024)
        self.assertEqual(raw_check(self.ch, body, compression=grpc.Compression.Gzip),
                         SC.RESOURCE_EXHAUSTED)
        self.assertTrue(health_check(self.ch).healthy)

    def test_max_recv_default_boundary(self):
        """Default --max-recv-size is 4194304: exactly that is accepted, one
        byte more is RESOURCE_EXHAUSTED, and the connection keeps working."""
        self.assertTrue(health_check(self.ch).healthy)
        peer = last_peer(self.gd, HEALTHCHECK)
        self.assertEqual(raw_check(self.ch, check_request_of_size(4 * MiB)), SC.NOT_FOUND)
        self.assertEqual(raw_check(self.ch, check_request_of_size(4 * MiB + 1)),
                         SC.RESOURCE_EXHAUSTED)
        self.assertTrue(health_check(self.ch).healthy)
        self.assertEqual(last_peer(self.gd, HEALTHCHECK), peer,
                         "the call after RESOURCE_EXHAUSTED used a new connection")

    def test_metadata_accepted(self):
        md = [("x-request-id", "itest-1"), ("x-trace-bin", b"\x00\x01\xfe\xff"),
              ("x-empty-bin", b""), ("x-long", "v" * 2000),
              ("authorization", "Bearer not-a-secret")]
        r, call = health_check_call(self.ch, metadata=md)
        self.assertTrue(r.healthy)
        self.assertEqual(call.code(), SC.OK)
        self.assertEqual(std_check(self.ch, "", metadata=md).status, SERVING)
        log = self.gd.log()
        self.assertNotIn("not-a-secret", log, "request metadata values must not be logged")

    def test_malformed_protobuf_is_internal(self):
        for body in (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # bad varint tag
                     b"\x0a\x10abc",                                      # truncated string
                     b"\x0f"):                                            # group end / bad wire type
            with self.subTest(body=body):
                self.assertEqual(raw_check(self.ch, body), SC.INTERNAL)
        f = self.ch.unary_unary(HEALTHCHECK, request_serializer=None)
        self.assertEqual(rpc_code(f, b"\x0a\x10abc", timeout=5 * SLOW), SC.INTERNAL)
        self.assertTrue(health_check(self.ch).healthy)

    def test_concurrent_calls_one_connection(self):
        n = N(64, 8)
        results = [None] * n
        futs = [None] * n
        f = self.ch.unary_unary(HEALTHCHECK,
                                request_serializer=governance_pb2.HealthCheckRequest.SerializeToString,
                                response_deserializer=governance_pb2.HealthCheckResponse.FromString)
        for i in range(n):
            futs[i] = f.future(governance_pb2.HealthCheckRequest(), timeout=10 * SLOW)
        for i in range(n):
            results[i] = futs[i].result().healthy
        self.assertTrue(all(results))

    def test_many_connections_sequential_calls(self):
        chans = [self.gd.channel() for _ in range(N(8, 3))]
        try:
            for _ in range(N(25, 4)):
                for ch in chans:
                    self.assertTrue(health_check(ch).healthy)
        finally:
            for ch in chans:
                ch.close()

    def test_std_watch_over_many_streams_and_unary_mixed(self):
        watch = std_watch(self.ch, "vertice.governance.v1.GovernanceService")
        self.assertEqual(next(watch).status, SERVING)
        for _ in range(N(20, 5)):
            self.assertTrue(health_check(self.ch).healthy)
        self.assertTrue(watch.is_active())
        watch.cancel()


class SmallRecvServer(GoverndCase):
    """--max-recv-size 1024 on one worker thread."""

    NAME = "interop-maxrecv"
    GOVERND_ARGS = ["--max-recv-size", "1024", "--threads", "1"]

    def setUp(self):
        self.ch = self.gd.channel()

    def tearDown(self):
        self.ch.close()

    def test_boundary(self):
        self.assertEqual(raw_check(self.ch, check_request_of_size(1024)), SC.NOT_FOUND)
        self.assertEqual(raw_check(self.ch, check_request_of_size(1025)), SC.RESOURCE_EXHAUSTED)
        self.assertEqual(raw_check(self.ch, check_request_of_size(100000)), SC.RESOURCE_EXHAUSTED)

    def test_same_connection_keeps_working(self):
        self.assertTrue(health_check(self.ch).healthy)
        peer = last_peer(self.gd, HEALTHCHECK)
        for _ in range(3):
            self.assertEqual(raw_check(self.ch, check_request_of_size(5000)),
                             SC.RESOURCE_EXHAUSTED)
            self.assertTrue(health_check(self.ch).healthy)
        self.assertEqual(last_peer(self.gd, HEALTHCHECK), peer)
        rec = self.gd.wait_call(method=H_CHECK, code="RESOURCE_EXHAUSTED")
        self.assertEqual(rec["peer"], peer)

    def test_limit_applies_after_decompression(self):
        body = check_request_of_size(2000)
        self.assertEqual(raw_check(self.ch, body, compression=grpc.Compression.Gzip),
                         SC.RESOURCE_EXHAUSTED)
        self.assertEqual(raw_check(self.ch, check_request_of_size(1000),
                                   compression=grpc.Compression.Gzip), SC.NOT_FOUND)


class TLSServer(GoverndCase):
    NAME = "interop-tls"
    GOVERND_ARGS = staticmethod(lambda: ["--tls-cert", certs().path("server.pem"),
                                         "--tls-key", certs().path("server.key")])

    def channel_kwargs(self):
        return {"creds": certs().client_creds()}

    def test_listen_line_says_tls(self):
        self.assertEqual(self.gd.listen_record.get("tls"), "true")

    def test_healthcheck_and_watch(self):
        ch = self.gd.channel(certs().client_creds())
        try:
            self.assertTrue(health_check(ch).healthy)
            self.assertEqual(std_check(ch, "").status, SERVING)
            w = std_watch(ch, "")
            self.assertEqual(next(w).status, SERVING)
            w.cancel()
        finally:
            ch.close()

    def test_localhost_name(self):
        ch = self.gd.channel(certs().client_creds(), options=[
            ("grpc.ssl_target_name_override", "localhost")])
        try:
            self.assertTrue(health_check(ch).healthy)
        finally:
            ch.close()

    def _tls_socket(self, alpn):
        ctx = ssl.create_default_context(cafile=certs().path("ca.pem"))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        raw = socket.create_connection(("127.0.0.1", self.gd.port), timeout=5 * SLOW)
        return ctx.wrap_socket(raw, server_hostname="localhost")

    def test_alpn_h2_and_raw_call_over_tls(self):
        s = self._tls_socket(["h2"])
        try:
            self.assertEqual(s.selected_alpn_protocol(), "h2")
            c = h2raw.H2Conn(None, None, sock=s)
            c.handshake()
            c.grpc_call(1, HEALTHCHECK, b"")
            st = c.wait_stream(1, 5 * SLOW)
            self.assertTrue(st.ended, st)
            msgs = st.messages()
            self.assertEqual(len(msgs), 1, st)
            self.assertTrue(governance_pb2.HealthCheckResponse.FromString(msgs[0][1]).healthy)
        finally:
            s.close()

    def test_tls_without_h2_alpn_does_not_break_server(self):
        for alpn in (None, ["http/1.1"]):
            with self.subTest(alpn=alpn):
                try:
                    s = self._tls_socket(alpn)
                    self.assertNotEqual(s.selected_alpn_protocol(), "http/1.1")
                    s.close()
                except (ssl.SSLError, OSError):
                    pass  # refusing the handshake is fine
        self.assertAlive()

    def test_plaintext_client_fails(self):
        ch = self.gd.channel()
        try:
            self.assertEqual(rpc_code(health_check, ch, timeout=5), SC.UNAVAILABLE)
        finally:
            ch.close()
        self.assertAlive()

    def test_untrusting_client_fails(self):
        ch = self.gd.channel(certs().client_creds(ca="other_ca.pem"))
        try:
            self.assertEqual(rpc_code(health_check, ch, timeout=5), SC.UNAVAILABLE)
        finally:
            ch.close()
        self.assertAlive()


class MTLSServer(GoverndCase):
    NAME = "interop-mtls"
    GOVERND_ARGS = staticmethod(lambda: ["--tls-cert", certs().path("server.pem"),
                                         "--tls-key", certs().path("server.key"),
                                         "--tls-client-ca", certs().path("ca.pem")])

    def channel_kwargs(self):
        return {"creds": certs().client_creds(cert="client.pem", key="client.key")}

    def test_client_with_cert(self):
        ch = self.gd.channel(certs().client_creds(cert="client.pem", key="client.key"))
        try:
            self.assertTrue(health_check(ch).healthy)
            self.assertEqual(std_check(ch, "").status, SERVING)
        finally:
            ch.close()

    def test_client_without_cert_fails(self):
        ch = self.gd.channel(certs().client_creds())
        try:
            self.assertEqual(rpc_code(health_check, ch, timeout=5), SC.UNAVAILABLE)
        finally:
            ch.close()
        self.assertAlive()

    def test_client_with_cert_from_other_ca_fails(self):
        ch = self.gd.channel(certs().client_creds(cert="other_client.pem",
                                                  key="other_client.key"))
        try:
            self.assertEqual(rpc_code(health_check, ch, timeout=5), SC.UNAVAILABLE)
        finally:
            ch.close()
        self.assertAlive()


class _Gate:
    """A request iterator that yields one message only when opened."""

    def __init__(self, msg):
        self.msg = msg
        self.ev = threading.Event()
        self.send = True

    def __iter__(self):
        self.ev.wait(60)
        if self.send:
            yield self.msg

    def open(self, send=True):
        self.send = send
        self.ev.set()


def _unary_in_flight(ch, gate, timeout):
    """A HealthCheck whose request (HEADERS sent, message not yet) stays
    open until gate opens: a unary call in flight from governd's view."""
    f = ch.stream_unary(HEALTHCHECK,
                        request_serializer=governance_pb2.HealthCheckRequest.SerializeToString,
                        response_deserializer=governance_pb2.HealthCheckResponse.FromString)
    return f.future(iter(gate), timeout=timeout)


class Shutdown(unittest.TestCase):
    """Each test owns its governd and stops it."""

    def start(self, *args):
        gd = Governd(list(args), name="interop-shutdown")
        self.addCleanup(gd.cleanup)
        gd.start()
        return gd

    def test_graceful_shutdown(self):
        gd = self.start("--grace", "3s")
        ch = gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        watch = std_watch(ch, "")
        self.assertEqual(next(watch).status, SERVING)
        gate = _Gate(governance_pb2.HealthCheckRequest())
        self.addCleanup(gate.open, False)
        inflight = _unary_in_flight(ch, gate, 30 * SLOW)
        time.sleep(0.3 * SLOW)

        t0 = time.monotonic()
        gd.send_signal(signal.SIGTERM)
        gd.wait_log(r'msg="?shutting down', timeout=5)

        # The Watch stream hears NOT_SERVING, then ends with UNAVAILABLE.
        got = []
        with self.assertRaises(grpc.RpcError) as cm:
            for m in watch:
                got.append(m.status)
        self.assertIn(NOT_SERVING, got, "Watch did not receive NOT_SERVING: %r" % got)
        self.assertEqual(got[-1], NOT_SERVING)
        self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)

        # New connections are refused once shutdown has begun.
        ch2 = gd.channel()
        try:
            self.assertEqual(rpc_code(health_check, ch2, timeout=3), SC.UNAVAILABLE)
        finally:
            ch2.close()

        # The call in flight finishes within the grace period, DRAINING.
        gate.open()
        try:
            r = inflight.result(timeout=10 * SLOW)
        except grpc.RpcError as e:
            self.fail("unary call in flight at SIGTERM failed: %s %s\n%s"
                      % (e.code(), e.details(), gd.log_tail()))
        self.assertFalse(r.healthy)
        self.assertEqual(r.status, "DRAINING")

        rc = gd.wait_exit(3 + 5 * SLOW)
        self.assertIsNotNone(rc, "governd still running %.1fs after SIGTERM with --grace 3s\n%s"
                             % (time.monotonic() - t0, gd.log_tail()))
        gd.check_clean_exit(0)
        self.assertEqual(gd.calls(method=H_WATCH)[-1]["code"], "UNAVAILABLE")

    def test_grace_expiry_ends_stuck_calls(self):
        gd = self.start("--grace", "500ms")
        ch = gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        gate = _Gate(governance_pb2.HealthCheckRequest())
        self.addCleanup(gate.open, False)
        stuck = _unary_in_flight(ch, gate, 60)
        time.sleep(0.3 * SLOW)
        t0 = time.monotonic()
        gd.send_signal(signal.SIGTERM)
        rc = gd.wait_exit(0.5 + 5 * SLOW)
        self.assertIsNotNone(rc, "governd ignored --grace 500ms with a stuck call\n%s"
                             % gd.log_tail())
        gd.check_clean_exit(0)
        with self.assertRaises(grpc.RpcError) as cm:
            stuck.result(timeout=10)
        self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)
        self.assertLess(time.monotonic() - t0, 0.5 + 5 * SLOW)

    def test_shutdown_with_stuck_and_silent_connections(self):
        """Connections that never finish their preface, never read, or stop
        mid-message must not hold governd past its grace period."""
        gd = self.start("--grace", "1s")
        silent = socket.create_connection(("127.0.0.1", gd.port), timeout=5)
        self.addCleanup(silent.close)
        conns = [h2raw.H2Conn.connect(gd.addr) for _ in range(3)]
        for c in conns:
            self.addCleanup(c.close)
        preface_only, stalled, half = conns
        preface_only.send(h2raw.PREFACE + h2raw.settings_frame())
        stalled.send(h2raw.PREFACE + h2raw.settings_frame(
            [(h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 0)]))
        stalled.grpc_call(1, H_WATCH, b"")
        stalled.grpc_call(3, HEALTHCHECK, b"")
        half.handshake()
        half.send(h2raw.frame(h2raw.HEADERS, h2raw.FLAG_END_HEADERS, 1,
                              h2raw.encode_headers(h2raw.grpc_headers(H_CHECK)))
                  + h2raw.frame(h2raw.DATA, 0, 1, h2raw.grpc_msg(b"abc", declared_len=50)))
        time.sleep(0.3 * SLOW)
        t0 = time.monotonic()
        gd.send_signal(signal.SIGTERM)
        rc = gd.wait_exit(1 + 5 * SLOW)
        self.assertIsNotNone(rc, "governd still running %.1fs after SIGTERM (--grace 1s) with "
                             "stuck connections\n%s" % (time.monotonic() - t0, gd.log_tail()))
        gd.check_clean_exit(0)

    def test_sigint(self):
        gd = self.start()
        ch = gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        gd.stop(sig=signal.SIGINT)
        self.assertRegex(gd.log(), r'msg="?shutting down')

    def test_idle_sigterm_is_quick(self):
        gd = self.start("--grace", "10s")
        t0 = time.monotonic()
        gd.stop()
        self.assertLess(time.monotonic() - t0, 5 * SLOW,
                        "an idle governd must not wait for the grace period")


if __name__ == "__main__":
    run_main()
