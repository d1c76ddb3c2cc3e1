#!/usr/bin/python3
"""governd's command line, log formats, and connection-level limits:
--max-connections, --max-streams, keepalive (server pings and client ping
enforcement) and --handshake-timeout."""

import json
import os
import shutil
import signal
import tempfile
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import h2raw  # noqa: E402
from harness import (  # noqa: E402
    GOVERND, H_WATCH, HEALTHCHECK, SERVING, SLOW, Governd, GoverndCase, certs,
    health_check, health_pb2, rpc_code, run_main, std_watch, wait_for)

SC = grpc.StatusCode


def run_governd(args, timeout=10):
    """Runs governd without the wrapper; returns (rc, stdout+stderr).  A
    governd that does not exit (it accepted the flags) is killed.  Its
    default database goes to a temporary state directory, never the
    user's."""
    state = tempfile.mkdtemp(prefix="vcli-itest-state-")
    env = dict(os.environ, XDG_STATE_HOME=state)
    p = subprocess.Popen([GOVERND] + args, stdin=subprocess.DEVNULL, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=10 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        shutil.rmtree(state, ignore_errors=True)
        return None, (out or "") + (err or "")
    shutil.rmtree(state, ignore_errors=True)
    return p.returncode, out + err


class CommandLine(unittest.TestCase):

    def test_help(self):
        rc, out = run_governd(["--help"])
        self.assertEqual(rc, 0, out)
        for flag in ("--listen", "--threads", "--tls-cert", "--tls-key", "--tls-client-ca",
                     "--max-recv-size", "--max-streams", "--max-connections",
                     "--keepalive-time", "--keepalive-timeout", "--keepalive-min-time",
                     "--grace", "--handshake-timeout", "--log-level", "--log-format"):
            self.assertIn(flag, out)

    def test_version(self):
        rc, out = run_governd(["--version"])
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"\d+\.\d+\.\d+")

    def test_bad_values_exit_2_naming_the_value(self):
        L = ["--listen", "127.0.0.1:0"]
        cases = [
            (["--bogus-flag"] + L, "--bogus-flag"),
            (["--threads", "abc"] + L, "abc"),
            (["--threads", "-3"] + L, "-3"),
            (["--max-recv-size", "lots"] + L, "lots"),
            (["--max-recv-size", "-1"] + L, "-1"),
            (["--max-streams", "many"] + L, "many"),
            (["--max-connections", "1x"] + L, "1x"),
            (["--grace", "5parsecs"] + L, "5parsecs"),
            (["--keepalive-time", "soon"] + L, "soon"),
            (["--keepalive-timeout", "-1s"] + L, "-1s"),
            (["--keepalive-min-time", "xyz"] + L, "xyz"),
            (["--handshake-timeout", "1fortnight"] + L, "1fortnight"),
            (["--log-level", "loud"] + L, "loud"),
            (["--log-format", "xml"] + L, "xml"),
            (["--cpu-latency-us", "-7"] + L, "-7"),
            (["--cpu-latency-us", "fast"] + L, "fast"),
            (["--listen", "not-an-address"], "not-an-address"),
            (["--listen", "127.0.0.1:99999"], "99999"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                rc, out = run_governd(args)
                self.assertEqual(rc, 2, "governd %s: exit %s\n%s" % (args, rc, out))
                self.assertIn(needle, out)
                self.assertNotIn("governd listening", out)

    def test_missing_value(self):
        rc, out = run_governd(["--listen", "127.0.0.1:0", "--threads"])
        self.assertEqual(rc, 2, out)
        self.assertIn("--threads", out)

    def test_unreadable_tls_files_fail(self):
        missing = "/nonexistent/itest-server.pem"
        rc, out = run_governd(["--listen", "127.0.0.1:0", "--tls-cert", missing,
                               "--tls-key", certs().path("server.key")])
        self.assertIsNotNone(rc, "governd started with a missing certificate:\n" + out)
        self.assertNotEqual(rc, 0, out)
        self.assertGreater(rc, 0, "governd crashed: %s\n%s" % (rc, out))
        self.assertIn(missing, out)
        self.assertNotIn("governd listening", out)

    def test_cert_without_key_fails(self):
        rc, out = run_governd(["--listen", "127.0.0.1:0", "--tls-cert", certs().path("server.pem")])
        self.assertIsNotNone(rc, "governd started with --tls-cert but no --tls-key:\n" + out)
        self.assertGreater(rc, 0, out)
        self.assertNotIn("governd listening", out)

    def test_port_in_use_fails(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc, out = run_governd(["--listen", "127.0.0.1:%d" % port])
        self.assertIsNotNone(rc, "governd started on a port already in use:\n" + out)
        self.assertGreater(rc, 0, out)
        self.assertIn(str(port), out)


class JsonLogs(unittest.TestCase):

    def test_json_format(self):
        gd = Governd(["--log-format", "json", "--threads", "2"], name="lifecycle-json")
        self.addCleanup(gd.cleanup)
        gd.start()
        ch = gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        gd.wait_call(method=HEALTHCHECK, code="OK")
        gd.stop()
        lines = [ln for ln in gd.log().splitlines() if ln.strip()]
        self.assertTrue(lines)
        msgs = []
        for ln in lines:
            d = json.loads(ln)  # every line is one JSON object
            self.assertIsInstance(d, dict)
            for k in ("ts", "level", "msg"):
                self.assertIn(k, d, ln)
            msgs.append(d)
        listen = [d for d in msgs if d["msg"] == "governd listening"]
        self.assertEqual(len(listen), 1)
        self.assertEqual(str(listen[0]["threads"]), "2")
        self.assertIn("shutting down", [d["msg"] for d in msgs])


class InfoLevel(unittest.TestCase):

    def test_no_call_lines_at_info(self):
        gd = Governd([], name="lifecycle-info", log_level="info")
        self.addCleanup(gd.cleanup)
        gd.start()
        ch = gd.channel()
        self.addCleanup(ch.close)
        for _ in range(3):
            self.assertTrue(health_check(ch).healthy)
        gd.stop()
        self.assertEqual(gd.calls(), [])
        self.assertNotIn("level=debug", gd.log())


class CpuLatency(unittest.TestCase):
    """--cpu-latency-us holds a PM QoS request (/dev/cpu_dma_latency) for
    the life of governd, or says why it cannot and serves anyway."""

    def test_request_held_while_running_or_refusal_logged(self):
        gd = Governd(["--cpu-latency-us", "0"], name="lifecycle-qos", log_level="info")
        self.addCleanup(gd.cleanup)
        gd.start()
        ch = gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        fds = os.listdir("/proc/%d/fd" % gd.proc.pid)
        held = [f for f in fds
                if os.readlink("/proc/%d/fd/%s" % (gd.proc.pid, f)) == "/dev/cpu_dma_latency"]
        if os.access("/dev/cpu_dma_latency", os.W_OK):
            self.assertEqual(len(held), 1, "governd holds the request")
            self.assertIn('msg="holding a CPU wake-up latency request" max_us=0', gd.log())
        else:
            self.assertEqual(held, [])
            self.assertIn("cannot hold a CPU wake-up latency request", gd.log())
        gd.stop()


class MaxConnections(GoverndCase):
    NAME = "lifecycle-maxconn"
    GOVERND_ARGS = ["--max-connections", "5", "--threads", "3"]

    def test_threads_in_listen_line(self):
        self.assertEqual(self.gd.listen_record.get("threads"), "3")

    def test_sixth_connection_refused_then_recovers(self):
        chans = [self.gd.channel() for _ in range(5)]
        try:
            for ch in chans:
                self.assertTrue(health_check(ch).healthy)
            sixth = self.gd.channel()
            try:
                self.assertEqual(rpc_code(health_check, sixth, timeout=5), SC.UNAVAILABLE)
            finally:
                sixth.close()
            # a raw TCP connection over the limit is closed by the server
            c = h2raw.H2Conn.connect(self.gd.addr)
            try:
                c.handshake()
                self.assertTrue(c.wait_closed(5 * SLOW),
                                "6th raw connection not closed by the server")
            finally:
                c.close()
            for ch in chans:
                self.assertTrue(health_check(ch).healthy, "existing connections must keep working")
            chans.pop().close()
            chans.pop().close()

            def fresh_works():
                ch = self.gd.channel()
                try:
                    return rpc_code(health_check, ch, timeout=3) == SC.OK
                finally:
                    ch.close()
            wait_for(fresh_works, 10 * SLOW, interval=0.2,
                     what="a new connection after two were closed")
        finally:
            for ch in chans:
                ch.close()


class MaxStreams(GoverndCase):
    NAME = "lifecycle-maxstreams"
    GOVERND_ARGS = ["--max-streams", "2"]

    def test_settings_and_refusal(self):
        c = h2raw.H2Conn.connect(self.gd.addr)
        try:
            c.handshake()
            c.pump(lambda: h2raw.SETTINGS_MAX_CONCURRENT_STREAMS in c.server_settings, 5 * SLOW)
            self.assertEqual(c.server_settings.get(h2raw.SETTINGS_MAX_CONCURRENT_STREAMS), 2,
                             "server SETTINGS: %r" % c.server_settings)
            req = health_pb2.HealthCheckRequest().SerializeToString()
            # wait for the server's ACK of our SETTINGS, so limits are in force
            c.pump(lambda: any(f[0] == h2raw.SETTINGS and f[1] & h2raw.FLAG_ACK
                               for f in c.frames), 5 * SLOW)
            c.grpc_call(1, H_WATCH, req)
            c.grpc_call(3, H_WATCH, req)
            c.pump(lambda: all(len(c.streams[s].messages()) >= 1 for s in (1, 3)), 5 * SLOW)
            for s in (1, 3):
                self.assertGreaterEqual(len(c.streams[s].messages()), 1, c.streams[s])
            c.grpc_call(5, H_WATCH, req)
            st5 = c.wait_stream(5, 5 * SLOW)
            if c.goaway is not None:
                # RFC 9113 5.1.2 asks for a stream error, but nghttp2 makes
                # exceeding an acknowledged limit a connection error; accept
                # it when GOAWAY says stream 5 was never processed.
                self.assertEqual(c.goaway[0], 3, "GOAWAY %r" % (c.goaway,))
                self.assertNotEqual(c.goaway[1], 0)
                self.assertTrue(c.wait_closed(5 * SLOW))
            else:
                self.assertIsNotNone(st5.rst, "3rd concurrent stream over --max-streams 2 was "
                                     "neither refused nor answered with GOAWAY: %r" % st5)
                self.assertFalse(c.streams[1].done or c.streams[3].done)
                # freeing a slot lets a new stream in
                c.send(h2raw.rst_stream(1, 0x8))
                c.grpc_call(7, H_WATCH, req)
                c.pump(lambda: len(c.streams[7].messages()) >= 1 or c.streams[7].done, 5 * SLOW)
                self.assertGreaterEqual(len(c.streams[7].messages()), 1, c.streams[7])
                self.assertFalse(c.closed)
        finally:
            c.close()
        self.assertAlive()

    def test_grpcio_queues_streams_over_the_limit(self):
        ch = self.gd.channel()
        try:
            # one at a time: grpcio queues by its own order, so a stream
            # opened later could take a slot first
            w1 = std_watch(ch, "")
            self.assertEqual(next(w1).status, SERVING)
            w2 = std_watch(ch, "")
            self.assertEqual(next(w2).status, SERVING)
            w3 = std_watch(ch, "")
            got = []
            t = threading.Thread(target=lambda: got.append(next(w3).status), daemon=True)
            t.start()
            t.join(0.5)
            self.assertEqual(got, [], "a 3rd stream ran although --max-streams is 2")
            w1.cancel()
            t.join(5 * SLOW)
            self.assertEqual(got, [SERVING])
            self.assertTrue(w2.is_active())
            w2.cancel()
            w3.cancel()
        finally:
            ch.close()
        self.assertAlive()


class KeepaliveEnforcement(GoverndCase):
    NAME = "lifecycle-pingpolicy"
    GOVERND_ARGS = ["--keepalive-min-time", "5s"]

    def test_raw_ping_flood_gets_goaway_too_many_pings(self):
        c = h2raw.H2Conn.connect(self.gd.addr)
        try:
            c.handshake()
            c.pump(lambda: c.server_settings, 5 * SLOW)
            deadline = time.monotonic() + 5 * SLOW
            i = 0
            while c.goaway is None and not c.closed and time.monotonic() < deadline:
                c.try_send(h2raw.ping(i.to_bytes(8, "big")))
                i += 1
                c.pump(lambda: c.goaway is not None, 0.05)
            self.assertIsNotNone(c.goaway, "no GOAWAY after %d PINGs in a row" % i)
            last, code, debug = c.goaway
            self.assertEqual(code, 0xB, "GOAWAY code %s, want ENHANCE_YOUR_CALM"
                             % h2raw.ERR_NAMES.get(code, code))
            self.assertIn(b"too_many_pings", debug)
            self.assertTrue(c.wait_closed(3 * SLOW), "connection not closed after GOAWAY")
        finally:
            c.close()
        self.gd.wait_log(r"level=warn.*too_many_pings|too_many_pings.*level=warn", 5)
        self.assertAlive()

    def test_raw_ping_flood_with_open_stream_closes_connection(self):
        """ENHANCE_YOUR_CALM means the connection goes: a stream still open
        on it must end, not linger."""
        c = h2raw.H2Conn.connect(self.gd.addr)
        try:
            c.handshake()
            c.grpc_call(1, H_WATCH, health_pb2.HealthCheckRequest().SerializeToString())
            c.pump(lambda: len(c.streams[1].messages()) >= 1, 5 * SLOW)
            deadline = time.monotonic() + 5 * SLOW
            while c.goaway is None and not c.closed and time.monotonic() < deadline:
                c.try_send(h2raw.ping())
                c.pump(lambda: c.goaway is not None, 0.05)
            self.assertIsNotNone(c.goaway, "no GOAWAY for a PING flood")
            self.assertEqual(c.goaway[1], 0xB)
            self.assertTrue(c.wait_closed(3 * SLOW),
                            "connection with an open Watch not closed after GOAWAY "
                            "too_many_pings (stream 1: %r)" % c.streams[1])
        finally:
            c.close()
        self.assertAlive()

    def test_grpcio_aggressive_keepalive(self):
        # grpcio 1.51 sends keepalive PINGs at most once a second, and only
        # with a call active: keep a Watch open.
        ch = self.gd.channel(options=[("grpc.keepalive_time_ms", 100),
                                      ("grpc.keepalive_timeout_ms", 2000),
                                      ("grpc.keepalive_permit_without_calls", 1),
                                      ("grpc.http2.max_pings_without_data", 0)])
        try:
            self.assertTrue(health_check(ch).healthy)
            watch = std_watch(ch, "")
            self.assertEqual(next(watch).status, SERVING)
            before = self.gd.log().count("too_many_pings")
            wait_for(lambda: self.gd.log().count("too_many_pings") > before,
                     8 * SLOW, interval=0.1, what="a too_many_pings warning")
            self.assertRegex(self.gd.log(), r"level=warn[^\n]*too_many_pings")
            # the connection is closed: the Watch on it ends UNAVAILABLE
            ended = []

            def drain():
                try:
                    for _ in watch:
                        pass
                    ended.append("OK")
                except grpc.RpcError as e:
                    ended.append(e.code())
            t = threading.Thread(target=drain, daemon=True)
            t.start()
            t.join(3 * SLOW)
            if not ended:
                watch.cancel()
                t.join(5)
                self.fail("the Watch on a connection closed for too_many_pings is still open "
                          "3s later")
            self.assertEqual(ended, [SC.UNAVAILABLE])
            codes = [rpc_code(health_check, ch, timeout=3) for _ in range(3)]
            self.assertEqual(codes[1:], [SC.OK, SC.OK], "calls after GOAWAY: %r" % codes)
            self.assertIn(codes[0], (SC.OK, SC.UNAVAILABLE))
        finally:
            ch.close()
        self.assertAlive()


class ServerKeepalive(GoverndCase):
    NAME = "lifecycle-keepalive"
    GOVERND_ARGS = ["--keepalive-time", "300ms", "--keepalive-timeout", "500ms"]

    def test_unacked_ping_closes_connection(self):
        c = h2raw.H2Conn.connect(self.gd.addr)
        c.auto_ping_ack = False
        try:
            c.handshake()
            c.grpc_call(1, H_WATCH, health_pb2.HealthCheckRequest().SerializeToString())
            t0 = time.monotonic()
            c.pump(lambda: c.pings > 0, 3 * SLOW)
            self.assertGreater(c.pings, 0, "no keepalive PING from the server")
            self.assertTrue(c.wait_closed(4 * SLOW),
                            "connection not closed after an unanswered keepalive PING")
            self.assertLess(time.monotonic() - t0, 0.3 + 0.5 + 4 * SLOW)
        finally:
            c.close()
        self.assertAlive()

    def test_acked_pings_keep_connection(self):
        ch = self.gd.channel()
        try:
            w = std_watch(ch, "")
            self.assertEqual(next(w).status, SERVING)
            self.assertTrue(health_check(ch).healthy)
            peer = self.gd.wait_call(method=HEALTHCHECK)["peer"]
            time.sleep(1.5)
            self.assertTrue(w.is_active(), "Watch ended on a connection that answers PINGs")
            self.assertTrue(health_check(ch).healthy)
            self.assertEqual(self.gd.calls(method=HEALTHCHECK)[-1]["peer"], peer)
            w.cancel()
        finally:
            ch.close()


class HandshakeTimeout(GoverndCase):
    NAME = "lifecycle-handshake"
    GOVERND_ARGS = ["--handshake-timeout", "500ms"]

    def test_silent_connection_closed(self):
        s = socket.create_connection(("127.0.0.1", self.gd.port), timeout=5 * SLOW)
        t0 = time.monotonic()
        try:
            s.settimeout(0.5 + 4 * SLOW)
            try:
                data = s.recv(4096)
                while data:
                    data = s.recv(4096)
            except socket.timeout:
                self.fail("silent connection still open %.1fs later" % (time.monotonic() - t0))
            except ConnectionResetError:
                pass
        finally:
            s.close()
        self.assertAlive()

    def test_magic_only_connection_closed(self):
        c = h2raw.H2Conn.connect(self.gd.addr)
        try:
            c.send(h2raw.PREFACE)
            self.assertTrue(c.wait_closed(0.5 + 4 * SLOW),
                            "connection that sent only the preface magic stayed open")
        finally:
            c.close()
        self.assertAlive()

    def test_idle_established_connection_not_closed(self):
        ch = self.gd.channel()
        try:
            self.assertTrue(health_check(ch).healthy)
            peer = self.gd.wait_call(method=HEALTHCHECK)["peer"]
            time.sleep(1.2)
            self.assertTrue(health_check(ch).healthy)
            self.assertEqual(self.gd.calls(method=HEALTHCHECK)[-1]["peer"], peer)
        finally:
            ch.close()


class TLSHandshakeTimeout(GoverndCase):
    NAME = "lifecycle-tls-handshake"
    GOVERND_ARGS = staticmethod(lambda: ["--handshake-timeout", "500ms",
                                         "--tls-cert", certs().path("server.pem"),
                                         "--tls-key", certs().path("server.key")])

    def channel_kwargs(self):
        return {"creds": certs().client_creds()}

    def test_no_client_hello_closed(self):
        s = socket.create_connection(("127.0.0.1", self.gd.port), timeout=5)
        t0 = time.monotonic()
        try:
            s.settimeout(0.5 + 4 * SLOW)
            try:
                while s.recv(4096):
                    pass
            except socket.timeout:
                self.fail("TLS connection without ClientHello still open %.1fs later"
                          % (time.monotonic() - t0))
            except ConnectionResetError:
                pass
        finally:
            s.close()
        self.assertAlive()

    def test_partial_client_hello_closed(self):
        s = socket.create_connection(("127.0.0.1", self.gd.port), timeout=5)
        try:
            # TLS record header announcing a 512-byte handshake, then 5 bytes
            s.sendall(b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03")
            s.settimeout(0.5 + 4 * SLOW)
            try:
                while s.recv(4096):
                    pass
            except socket.timeout:
                self.fail("half a ClientHello kept the connection open")
            except ConnectionResetError:
                pass
        finally:
            s.close()
        self.assertAlive()


if __name__ == "__main__":
    run_main()
