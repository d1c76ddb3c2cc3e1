#!/usr/bin/python3
"""Our client side (vcli, and rpcprobe on the client library) against a
grpcio (Python) server defined here."""

import json
import os
import socket
import sys
import threading
import time
import unittest
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    RPCPROBE, SLOW, VCLI, certs, governance_pb2, health_pb2, parse_logfmt,
    run_main, run_tool, wait_for)

MiB = 1 << 20
GOV_SVC = "vertice.governance.v1.GovernanceService"
PROBE_SVC = "vcli.test.Probe"
HEALTHCHECK = "/%s/HealthCheck" % GOV_SVC
H_CHECK = "/grpc.health.v1.Health/Check"
H_WATCH = "/grpc.health.v1.Health/Watch"
BIG = bytes(range(256)) * (5 * MiB // 256)


class ProbeServer:
    """A grpcio server with the governance HealthCheck, grpc.health.v1 and
    test-only methods under vcli.test.Probe (raw bytes in and out)."""

    def __init__(self, creds=None):
        self.lock = threading.Lock()
        self.reset()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=24),
                                  options=[("grpc.so_reuseport", 0)])
        gov = {
            "HealthCheck": grpc.unary_unary_rpc_method_handler(
                self.health_check,
                request_deserializer=governance_pb2.HealthCheckRequest.FromString,
                response_serializer=governance_pb2.HealthCheckResponse.SerializeToString),
        }
        hl = {
            "Check": grpc.unary_unary_rpc_method_handler(
                self.check,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString),
            "Watch": grpc.unary_stream_rpc_method_handler(
                self.watch,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString),
        }
        raw = grpc.unary_unary_rpc_method_handler
        probe = {
            "Slow": raw(self.slow),
            "Big": raw(lambda req, ctx: BIG),
            "Echo": raw(self.echo),
            "Gzip": raw(self.echo),
            "GzipReply": raw(self.gzip_reply),
            "Fail": raw(self.fail),
            "Many": grpc.unary_stream_rpc_method_handler(self.many),
            "BigStream": grpc.unary_stream_rpc_method_handler(self.big_stream),
        }
        self.server.add_generic_rpc_handlers([
            grpc.method_handlers_generic_handler(GOV_SVC, gov),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", hl),
            grpc.method_handlers_generic_handler(PROBE_SVC, probe),
        ])
        if creds is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        assert self.port
        self.addr = "127.0.0.1:%d" % self.port
        self.server.start()

    def reset(self):
        with self.lock:
            self.hc_mode = "ok"
            self.watch_ended = []
            self.slow_ended = []
            self.metadata = {}

    def stop(self):
        self.server.stop(0).wait(5)

    def _record_md(self, name, ctx):
        with self.lock:
            self.metadata[name] = list(ctx.invocation_metadata())

    # -- handlers

    def health_check(self, req, ctx):
        self._record_md("HealthCheck", ctx)
        mode = self.hc_mode
        if mode == "slow":
            ev = threading.Event()
            ctx.add_callback(ev.set)
            ev.wait(2.0)
        elif mode == "error":
            ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "go away")
        elif mode == "unhealthy":
            return governance_pb2.HealthCheckResponse(healthy=False, status="NOT_SERVING",
                                                      uptime_seconds=42)
        return governance_pb2.HealthCheckResponse(healthy=True, status="SERVING",
                                                  uptime_seconds=42)

    def check(self, req, ctx):
        if req.service in ("", GOV_SVC):
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")

    def watch(self, req, ctx):
        done = threading.Event()
        t0 = time.monotonic()

        def ended():
            done.set()
            with self.lock:
                self.watch_ended.append((time.monotonic() - t0, ctx.is_active()))
        ctx.add_callback(ended)
        msg = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        for _ in range(2000):  # bounded: at most ~100 s
            yield msg
            if done.wait(0.05):
                return

    def slow(self, req, ctx):
        ev = threading.Event()
        t0 = time.monotonic()

        def ended():
            ev.set()
            with self.lock:
                self.slow_ended.append(time.monotonic() - t0)
        ctx.add_callback(ended)
        ev.wait(2.0)
        return b""

    def echo(self, req, ctx):
        self._record_md("Echo", ctx)
        ctx.set_trailing_metadata([("echo-len", str(len(req)))])
        return req

    def gzip_reply(self, req, ctx):
        ctx.set_compression(grpc.Compression.Gzip)
        return b"\0" * 65536

    def fail(self, req, ctx):
        ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request: 100% sure \u00fcn\u00efcode")

    def many(self, req, ctx):
        for i in range(1000):
            yield bytes([i % 256]) * 100

    def big_stream(self, req, ctx):
        for i in range(10):
            yield bytes([i]) * MiB


class CountingProxy:
    """TCP relay that counts the bytes each way (to see compression)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.up = 0
        self.down = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.addr = "127.0.0.1:%d" % self.lsock.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            self.socks += [c, s]
            threading.Thread(target=self._pump, args=(c, s, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "down"), daemon=True).start()

    def _pump(self, src, dst, way):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                setattr(self, way, getattr(self, way) + len(b))
                dst.sendall(b)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()
        for s in self.socks:
            s.close()


def _varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def parse_probe(stdout):
    lines = stdout.strip().splitlines()
    out = {}
    for ln in lines:
        if ln.startswith("status="):
            out.update(parse_logfmt(ln))
        elif ln.startswith("response="):
            out["response"] = bytes.fromhex(ln[len("response="):].strip())
    return out


class ClientCase(unittest.TestCase):
    SERVER_CREDS = None

    @classmethod
    def setUpClass(cls):
        creds = cls.SERVER_CREDS() if cls.SERVER_CREDS else None
        cls.srv = ProbeServer(creds)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.srv.reset()

    def probe(self, method, *args, server=None, timeout=30):
        if not os.path.exists(RPCPROBE):
            self.fail("rpcprobe not built: %s" % RPCPROBE)
        argv = [RPCPROBE, "--server", server or self.srv.addr] + list(args) + [method]
        t0 = time.monotonic()
        r = run_tool(argv, timeout=timeout)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, "rpcprobe %s: exit %s\nstdout: %s\nstderr: %s"
                         % (" ".join(argv[1:]), r.returncode, r.stdout, r.stderr[-2000:]))
        res = parse_probe(r.stdout)
        self.assertIn("status", res, "rpcprobe printed no status line:\n%s\n%s"
                      % (r.stdout, r.stderr[-2000:]))
        res["elapsed"] = elapsed
        res["stderr"] = r.stderr
        res["raw"] = r.stdout
        return res

    def vcli(self, *args, env=None, timeout=30):
        if not os.path.exists(VCLI):
            self.fail("vcli not built: %s" % VCLI)
        t0 = time.monotonic()
        r = run_tool([VCLI] + list(args), timeout=timeout, env=env)
        r.elapsed = time.monotonic() - t0
        return r

    def assertStatus(self, res, status, **fields):
        raw = res["raw"] if len(res["raw"]) < 600 else res["raw"][:600] + "...(cut)"
        self.assertEqual(res["status"], status, raw + res["stderr"][-2000:])
        for k, v in fields.items():
            self.assertEqual(res.get(k), str(v), "%s: %s" % (k, raw))


class Plaintext(ClientCase):

    # ---------------------------------------------------------- vcli

    def test_vcli_health(self):
        r = self.vcli("health", "--server", self.srv.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SERVING", r.stdout)

    def test_vcli_health_json(self):
        r = self.vcli("health", "--server", self.srv.addr, "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        self.assertIs(d["healthy"], True)
        self.assertEqual(d["status"], "SERVING")
        self.assertEqual(int(d["uptime_seconds"]), 42)

    def test_vcli_unhealthy_exit_6(self):
        self.srv.hc_mode = "unhealthy"
        r = self.vcli("health", "--server", self.srv.addr)
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        self.assertIn("NOT_SERVING", r.stdout + r.stderr)

    def test_vcli_error_status_exit_code(self):
        # PERMISSION_DENIED is "not allowed": exit 10 (docs/vcli.md).
        self.srv.hc_mode = "error"
        r = self.vcli("health", "--server", self.srv.addr)
        self.assertEqual(r.returncode, 10, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"PERMISSION_DENIED|go away")

    def test_vcli_deadline_exit_4(self):
        self.srv.hc_mode = "slow"
        r = self.vcli("health", "--server", self.srv.addr, "--timeout", "300ms")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertLess(r.elapsed, 1.8)

    def test_vcli_sends_user_agent(self):
        r = self.vcli("health", "--server", self.srv.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        md = dict(self.srv.metadata.get("HealthCheck", []))
        self.assertIn("vcli/", md.get("user-agent", ""))

    def test_vcli_unreachable_exit_3(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        r = self.vcli("health", "--server", addr)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(addr, r.stderr)

    # ---------------------------------------------------------- rpcprobe

    def test_probe_healthcheck(self):
        res = self.probe(HEALTHCHECK)
        self.assertStatus(res, "OK", msgs=1)
        h = governance_pb2.HealthCheckResponse.FromString(res["response"])
        self.assertTrue(h.healthy)
        self.assertEqual(h.status, "SERVING")
        self.assertEqual(h.uptime_seconds, 42)
        self.assertEqual(int(res["bytes"]), len(res["response"]))

    def test_probe_health_check(self):
        res = self.probe(H_CHECK)
        self.assertStatus(res, "OK", msgs=1)
        self.assertEqual(health_pb2.HealthCheckResponse.FromString(res["response"]).status,
                         health_pb2.HealthCheckResponse.SERVING)
        req = health_pb2.HealthCheckRequest(service="nope").SerializeToString().hex()
        self.assertStatus(self.probe(H_CHECK, "--request-hex", req), "NOT_FOUND")

    def test_probe_watch_cancel_reaches_server(self):
        res = self.probe(H_WATCH, "--stream", "--cancel-after", "3")
        self.assertStatus(res, "CANCELLED", msgs=3)
        wait_for(lambda: self.srv.watch_ended, 5, what="server to see the Watch end")
        elapsed, active = self.srv.watch_ended[0]
        self.assertFalse(active)
        self.assertLess(elapsed, 5)

    def test_probe_deadline(self):
        res = self.probe("/%s/Slow" % PROBE_SVC, "--deadline-ms", "200")
        self.assertStatus(res, "DEADLINE_EXCEEDED")
        self.assertLess(res["elapsed"], 1.5)
        wait_for(lambda: self.srv.slow_ended, 5, what="server to see the deadline")
        self.assertLess(self.srv.slow_ended[0], 1.5)

    def test_probe_unknown_method(self):
        for m in ("/%s/Nope" % PROBE_SVC, "/foo.Bar/Baz", "/%s/CreateSession" % GOV_SVC):
            with self.subTest(method=m):
                self.assertStatus(self.probe(m), "UNIMPLEMENTED")

    def test_probe_echo_and_metadata(self):
        payload = bytes(range(256)) + b"vcli"
        res = self.probe("/%s/Echo" % PROBE_SVC, "--request-hex", payload.hex(),
                         "--metadata", "x-itest=hello", "--metadata", "x-trace-bin=00ff616263")
        self.assertStatus(res, "OK", msgs=1, bytes=len(payload))
        self.assertEqual(res["response"], payload)
        md = dict(self.srv.metadata["Echo"])
        self.assertEqual(md.get("x-itest"), "hello")
        self.assertEqual(md.get("x-trace-bin"), b"\x00\xffabc")

    def test_probe_gzip_request_is_compressed(self):
        proxy = CountingProxy(self.srv.port)
        self.addCleanup(proxy.close)
        payload = b"\0" * 32768
        res = self.probe("/%s/Gzip" % PROBE_SVC, "--gzip", "--request-hex", payload.hex(),
                         server=proxy.addr)
        self.assertStatus(res, "OK", bytes=len(payload))
        self.assertEqual(res["response"], payload)
        self.assertLess(proxy.up, 16384, "request of 32 KiB zeros was not gzip-compressed "
                        "(%d bytes went upstream)" % proxy.up)
        # control: the same without --gzip
        proxy2 = CountingProxy(self.srv.port)
        self.addCleanup(proxy2.close)
        res = self.probe("/%s/Gzip" % PROBE_SVC, "--request-hex", payload.hex(),
                         server=proxy2.addr)
        self.assertStatus(res, "OK", bytes=len(payload))
        self.assertGreater(proxy2.up, 32768)

    def test_probe_gzip_echo(self):
        payload = os.urandom(3000) + b"a" * 3000
        res = self.probe("/%s/Echo" % PROBE_SVC, "--gzip", "--request-hex", payload.hex())
        self.assertStatus(res, "OK", bytes=len(payload))
        self.assertEqual(res["response"], payload)

    def test_probe_compressed_response(self):
        res = self.probe("/%s/GzipReply" % PROBE_SVC)
        self.assertStatus(res, "OK", msgs=1, bytes=65536)
        self.assertEqual(res["response"], b"\0" * 65536)

    def test_probe_error_message(self):
        res = self.probe("/%s/Fail" % PROBE_SVC)
        self.assertStatus(res, "INVALID_ARGUMENT")
        self.assertIn("bad request: 100% sure", res.get("message", ""))

    def test_probe_big_response_over_default_limit(self):
        res = self.probe("/%s/Big" % PROBE_SVC)
        self.assertStatus(res, "RESOURCE_EXHAUSTED")

    def test_probe_big_response_with_larger_limit(self):
        res = self.probe("/%s/Big" % PROBE_SVC, "--max-recv", "8388608")
        self.assertStatus(res, "OK", msgs=1, bytes=5 * MiB)
        self.assertEqual(res["response"], BIG)

    def test_probe_request_over_server_limit(self):
        # --request-size N sends N bytes of 'a' as bytes field 1: 5 MiB + 5
        res = self.probe("/%s/Echo" % PROBE_SVC, "--request-size", str(5 * MiB),
                         "--deadline-ms", "5000")
        self.assertStatus(res, "RESOURCE_EXHAUSTED")

    def test_probe_request_size_ok(self):
        for n in (MiB, 3 * MiB):
            with self.subTest(size=n):
                res = self.probe("/%s/Echo" % PROBE_SVC, "--request-size", str(n),
                                 "--deadline-ms", "5000", "--max-recv", str(8 * MiB))
                self.assertStatus(res, "OK", msgs=1)
                self.assertEqual(res["response"], b"\x0a" + _varint(n) + b"a" * n)

    def test_probe_many_stream_messages(self):
        res = self.probe("/%s/Many" % PROBE_SVC, "--stream")
        self.assertStatus(res, "OK", msgs=1000, bytes=100000)

    def test_probe_big_stream(self):
        res = self.probe("/%s/BigStream" % PROBE_SVC, "--stream")
        self.assertStatus(res, "OK", msgs=10, bytes=10 * MiB)

    def test_probe_unreachable(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        res = self.probe(HEALTHCHECK, server=addr)
        self.assertStatus(res, "UNAVAILABLE")

    def test_probe_tls_to_plaintext_server(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"), timeout=30)
        self.assertStatus(res, "UNAVAILABLE")

    def test_probe_usage_error(self):
        if not os.path.exists(RPCPROBE):
            self.fail("rpcprobe not built: %s" % RPCPROBE)
        for argv in ([RPCPROBE, "--server", self.srv.addr],
                     [RPCPROBE, "--server", self.srv.addr, "--deadline-ms", "soon", HEALTHCHECK],
                     [RPCPROBE, "--no-such-flag", HEALTHCHECK]):
            with self.subTest(argv=argv[1:]):
                r = run_tool(argv, timeout=10)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


def _tls_creds():
    return certs().server_creds()


def _mtls_creds():
    return certs().server_creds(client_ca="ca.pem")


class TLS(ClientCase):
    SERVER_CREDS = staticmethod(_tls_creds)

    def test_vcli_tls(self):
        r = self.vcli("health", "--server", self.srv.addr, "--tls",
                      "--tls-ca", certs().path("ca.pem"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SERVING", r.stdout)

    def test_vcli_tls_untrusted_server(self):
        r = self.vcli("health", "--server", self.srv.addr, "--tls",
                      "--tls-ca", certs().path("other_ca.pem"))
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_vcli_plaintext_to_tls_server(self):
        r = self.vcli("health", "--server", self.srv.addr, "--timeout", "3s")
        self.assertIn(r.returncode, (3,), r.stdout + r.stderr)

    def test_probe_tls(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"))
        self.assertStatus(res, "OK", msgs=1)

    def test_probe_tls_server_name(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"),
                         "--server-name", "localhost")
        self.assertStatus(res, "OK")
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"),
                         "--server-name", "wrong.example")
        self.assertStatus(res, "UNAVAILABLE")

    def test_probe_tls_wrong_ca(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("other_ca.pem"))
        self.assertStatus(res, "UNAVAILABLE")

    def test_probe_tls_stream_and_cancel(self):
        res = self.probe(H_WATCH, "--tls", "--ca", certs().path("ca.pem"),
                         "--stream", "--cancel-after", "2")
        self.assertStatus(res, "CANCELLED", msgs=2)
        wait_for(lambda: self.srv.watch_ended, 5, what="server to see the Watch end")


class MTLS(ClientCase):
    SERVER_CREDS = staticmethod(_mtls_creds)

    def test_vcli_mtls(self):
        r = self.vcli("health", "--server", self.srv.addr, "--tls",
                      "--tls-ca", certs().path("ca.pem"),
                      "--tls-cert", certs().path("client.pem"),
                      "--tls-key", certs().path("client.key"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SERVING", r.stdout)

    def test_vcli_mtls_without_cert(self):
        r = self.vcli("health", "--server", self.srv.addr, "--tls",
                      "--tls-ca", certs().path("ca.pem"))
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_probe_mtls(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"),
                         "--cert", certs().path("client.pem"),
                         "--key", certs().path("client.key"))
        self.assertStatus(res, "OK", msgs=1)

    def test_probe_mtls_without_cert(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"))
        self.assertStatus(res, "UNAVAILABLE")

    def test_probe_mtls_cert_from_other_ca(self):
        res = self.probe(HEALTHCHECK, "--tls", "--ca", certs().path("ca.pem"),
                         "--cert", certs().path("other_client.pem"),
                         "--key", certs().path("other_client.key"))
        self.assertStatus(res, "UNAVAILABLE")


if __name__ == "__main__":
    run_main()
