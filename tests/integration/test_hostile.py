#!/usr/bin/python3
"""Hostile bytes on raw sockets against governd.  After each case governd
must still run and answer a fresh grpcio HealthCheck; at the end it must
exit 0 on SIGTERM (under ASan: no leak, no error)."""

import gzip
import os
import resource
import selectors
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import h2raw  # noqa: E402
from h2raw import (  # noqa: E402
    CONTINUATION, DATA, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PADDED,
    HEADERS, PING, PRIORITY, PUSH_PROMISE, RST_STREAM, SETTINGS, WINDOW_UPDATE,
    encode_headers, frame, grpc_headers, grpc_msg)
from harness import (  # noqa: E402
    H_CHECK, H_WATCH, HEALTHCHECK, SLOW, Gov, GoverndCase, governance_pb2,
    health_check, health_pb2, proposal, run_main)

# Room for a couple of thousand sockets here and in governd (inherits it).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < 8192 and (_hard == resource.RLIM_INFINITY or _hard > _soft):
    _new = 8192 if _hard == resource.RLIM_INFINITY else min(8192, _hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (_new, _hard))
    except (ValueError, OSError):
        pass

CHECK_REQ = health_pb2.HealthCheckRequest().SerializeToString()
HC_REQ = governance_pb2.HealthCheckRequest().SerializeToString()


def valid_block(path=HEALTHCHECK):
    return encode_headers(grpc_headers(path))


class Hostile(GoverndCase):
    NAME = "hostile"
    GOVERND_ARGS = ["--threads", "2"]

    def conn(self, handshake=True):
        c = h2raw.H2Conn.connect(self.gd.addr, timeout=5 * SLOW)
        self.addCleanup(c.close)
        if handshake:
            c.handshake()
        return c

    def assert_hc_ok(self, c, sid):
        st = c.wait_stream(sid, 5 * SLOW)
        self.assertTrue(st.ended and st.rst is None, "HealthCheck stream %d: %r" % (sid, st))
        msgs = st.messages()
        self.assertEqual(len(msgs), 1, st)
        self.assertTrue(governance_pb2.HealthCheckResponse.FromString(msgs[0][1]).healthy)
        rec = self.gd.wait_call(method=HEALTHCHECK, peer=c.local)
        self.assertEqual(rec["code"], "OK")

    def call_code(self, c, method):
        """governd's logged status for the call on raw connection c."""
        return self.gd.wait_call(method=method, peer=c.local)["code"]

    # ---------------------------------------------------------- preface

    def test_garbage_instead_of_preface(self):
        for junk in (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                     b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + b"\0" * 64,
                     os.urandom(4096),
                     b"\x16\x03\x01\x00\x05hello"):  # a TLS record on a plaintext port
            with self.subTest(junk=junk[:16]):
                c = self.conn(handshake=False)
                c.try_send(junk)
                self.assertTrue(c.wait_closed(5 * SLOW), "server kept a bad-preface connection open")
                c.close()
        self.assertAlive()

    def test_preface_only_then_silence(self):
        c = self.conn(handshake=False)
        c.send(h2raw.PREFACE)
        c2 = self.conn(handshake=False)
        c2.send(h2raw.PREFACE + h2raw.settings_frame())
        for _ in range(3):
            self.assertAlive()
        c.close()
        c2.close()
        self.assertAlive()

    # ---------------------------------------------------------- bad frames

    def test_invalid_frames_are_connection_errors(self):
        hdr1 = frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_WATCH))
        cases = [
            ("settings len 5", frame(SETTINGS, 0, 0, b"\0" * 5)),
            ("settings on stream 1", frame(SETTINGS, 0, 1, b"")),
            ("settings ack with payload", frame(SETTINGS, FLAG_ACK, 0, b"\0" * 6)),
            ("settings enable_push=2", h2raw.settings_frame([(h2raw.SETTINGS_ENABLE_PUSH, 2)])),
            ("settings window 2^31", h2raw.settings_frame([(h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 31)])),
            ("settings max_frame 100", h2raw.settings_frame([(h2raw.SETTINGS_MAX_FRAME_SIZE, 100)])),
            ("data on stream 0", frame(DATA, 0, 0, b"abc")),
            ("headers garbage hpack", frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1,
                                            b"\xff\xff\xff\xff\xff\x7f")),
            ("headers index 0", frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, b"\x80")),
            ("headers huge table update", frame(HEADERS, FLAG_END_HEADERS, 1,
                                                b"\x3f\xe1\xff\xff\xff\x0f")),
            ("headers truncated literal", frame(HEADERS, FLAG_END_HEADERS, 1, b"\x00\x7f\x10abc")),
            ("headers on stream 0", frame(HEADERS, FLAG_END_HEADERS, 0, valid_block())),
            ("headers on even stream", frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 2,
                                             valid_block())),
            ("ping len 7", frame(PING, 0, 0, b"1234567")),
            ("ping on stream 1", frame(PING, 0, 1, b"12345678")),
            ("window_update len 3", frame(WINDOW_UPDATE, 0, 0, b"\0\0\1")),
            ("window_update 0 on conn", h2raw.window_update(0, 0)),
            ("window overflow", h2raw.window_update(0, 0x7FFFFFFF) + h2raw.window_update(0, 0x7FFFFFFF)),
            ("rst_stream on stream 0", frame(RST_STREAM, 0, 0, b"\0\0\0\x08")),
            ("rst_stream on idle stream", frame(RST_STREAM, 0, 99, b"\0\0\0\x08")),
            ("rst_stream len 3", hdr1 + frame(RST_STREAM, 0, 1, b"\0\0\x08")),
            ("continuation without headers", frame(CONTINUATION, FLAG_END_HEADERS, 1, b"")),
            ("ping inside header block", frame(HEADERS, 0, 1, valid_block()) + h2raw.ping()),
            ("push_promise from client", frame(PUSH_PROMISE, FLAG_END_HEADERS, 1, b"\0\0\0\x02")),
            ("frame over max size", frame(DATA, 0, 1, b"x" * 100, length=0xFFFFFF)),
            ("padding longer than frame", hdr1 + frame(DATA, FLAG_PADDED, 1, b"\xff" + b"ab")),
            ("goaway len 4", frame(h2raw.GOAWAY, 0, 0, b"\0\0\0\0")),
        ]
        for name, payload in cases:
            with self.subTest(case=name):
                c = self.conn()
                c.try_send(payload)
                got = c.wait_goaway_or_close(5 * SLOW)
                self.assertTrue(got, "%s: neither GOAWAY nor close (frames %r)"
                                % (name, [f[:3] for f in c.frames]))
                if c.goaway is not None:
                    self.assertNotEqual(c.goaway[1], 0, "%s: GOAWAY with NO_ERROR" % name)
                self.assertTrue(c.wait_closed(5 * SLOW),
                                "%s: connection left open after the GOAWAY" % name)
                c.close()
        self.assertAlive()

    def test_stream_level_errors_keep_connection(self):
        """Errors confined to one stream: the connection survives and a
        following call on it completes."""
        cases = [
            ("priority len 4", frame(PRIORITY, 0, 1, b"\0\0\0\0")),
            ("data after end_stream", frame(HEADERS, FLAG_END_HEADERS, 1, valid_block())
             + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(HC_REQ))
             + frame(DATA, 0, 1, grpc_msg(HC_REQ))),
            # RFC 9113 says PROTOCOL_ERROR; nghttp2 deliberately ignores a
            # lower stream id that is not known to be closed.
            ("decreasing stream id", frame(HEADERS, FLAG_END_HEADERS, 5, valid_block(H_WATCH))
             + frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 3, valid_block())),
            ("rst right after headers", frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_WATCH))
             + h2raw.rst_stream(1, 0x8)),
        ]
        for name, payload in cases:
            with self.subTest(case=name):
                c = self.conn()
                c.send(payload)
                c.pump(lambda: 1 in c.streams and c.streams[1].done, 0.5 * SLOW)
                if c.goaway is not None or c.closed:
                    # a connection error is allowed by RFC 9113 for some of
                    # these; then the connection must be gone, not wedged
                    self.assertTrue(c.wait_closed(5 * SLOW), name)
                else:
                    c.grpc_call(9, HEALTHCHECK, HC_REQ)
                    self.assert_hc_ok(c, 9)
                c.close()
        self.assertAlive()

    def test_unknown_frame_types_are_ignored(self):
        c = self.conn()
        c.send(frame(0xFA, 0, 0, b"hello") + frame(0x21, 0xFF, 1, b"\0" * 100))
        c.grpc_call(1, HEALTHCHECK, HC_REQ)
        self.assert_hc_ok(c, 1)
        self.assertIsNone(c.goaway)

    def test_invalid_grpc_requests_end_the_stream(self):
        bad = [
            ("content-type text/plain", [(":method", "POST"), (":scheme", "http"),
                                         (":path", HEALTHCHECK), (":authority", "x"),
                                         ("content-type", "text/plain"), ("te", "trailers")]),
            ("GET", [(":method", "GET"), (":scheme", "http"), (":path", HEALTHCHECK),
                     (":authority", "x"), ("content-type", "application/grpc")]),
            ("missing :path", [(":method", "POST"), (":scheme", "http"), (":authority", "x"),
                               ("content-type", "application/grpc")]),
            ("upper-case header name", grpc_headers(HEALTHCHECK) + [("X-Bad", "1")]),
            ("bad grpc-timeout", grpc_headers(HEALTHCHECK) + [("grpc-timeout", "soon")]),
            ("huge grpc-timeout", grpc_headers(HEALTHCHECK) + [("grpc-timeout", "999999999H")]),
            ("bad -bin value", grpc_headers(HEALTHCHECK) + [("x-trace-bin", "%%%not base64%%%")]),
            ("connection header", grpc_headers(HEALTHCHECK) + [("connection", "keep-alive")]),
        ]
        for name, pairs in bad:
            with self.subTest(case=name):
                c = self.conn()
                c.send(frame(HEADERS, FLAG_END_HEADERS, 1, encode_headers(pairs))
                       + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(HC_REQ)))
                st = c.wait_stream(1, 5 * SLOW)
                self.assertTrue(st.done or c.goaway is not None or c.closed,
                                "%s: no answer: %r" % (name, st))
                c.close()
        self.assertAlive()

    # ---------------------------------------------------------- gRPC framing

    def test_4gib_length_prefix(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_CHECK))
               + frame(DATA, 0, 1, grpc_msg(b"abc", declared_len=0xFFFFFFFF)))
        c.grpc_call(3, HEALTHCHECK, HC_REQ)
        self.assert_hc_ok(c, 3)
        st1 = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st1.done, "the 4 GiB stream was left hanging: %r" % st1)
        if st1.rst is None:
            self.assertEqual(self.call_code(c, H_CHECK), "RESOURCE_EXHAUSTED")
        self.assertFalse(c.closed)
        c.grpc_call(5, HEALTHCHECK, HC_REQ)
        st5 = c.wait_stream(5, 5 * SLOW)
        self.assertTrue(st5.ended and len(st5.messages()) == 1, st5)

    def test_compressed_flag_without_encoding_is_internal(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_CHECK))
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(gzip.compress(CHECK_REQ), compressed=1)))
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done, st)
        self.assertEqual(self.call_code(c, H_CHECK), "INTERNAL")
        c.grpc_call(3, HEALTHCHECK, HC_REQ)
        self.assert_hc_ok(c, 3)

    def test_corrupt_gzip_is_internal(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1,
                     encode_headers(grpc_headers(H_CHECK, extra=[("grpc-encoding", "gzip")])))
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(b"\x1f\x8b\x08\x00garbage!!", compressed=1)))
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done, st)
        self.assertEqual(self.call_code(c, H_CHECK), "INTERNAL")
        c.grpc_call(3, HEALTHCHECK, HC_REQ)
        self.assert_hc_ok(c, 3)

    def test_raw_gzip_request_ok(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1,
                     encode_headers(grpc_headers(H_CHECK, extra=[("grpc-encoding", "gzip")])))
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(gzip.compress(CHECK_REQ), compressed=1)))
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.ended, st)
        self.assertEqual(self.call_code(c, H_CHECK), "OK")

    def test_unsupported_encoding_is_unimplemented(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1,
                     encode_headers(grpc_headers(H_CHECK, extra=[("grpc-encoding", "snappy")])))
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(b"\x00\x01\x02", compressed=1)))
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done, st)
        self.assertEqual(self.call_code(c, H_CHECK), "UNIMPLEMENTED")

    def test_message_split_across_many_data_frames(self):
        c = self.conn()
        body = grpc_msg(health_pb2.HealthCheckRequest(service="x" * 3000).SerializeToString())
        out = frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_CHECK))
        for i in range(len(body)):
            out += frame(DATA, FLAG_END_STREAM if i == len(body) - 1 else 0, 1, body[i:i + 1])
        c.send(out)
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done, st)
        self.assertEqual(self.call_code(c, H_CHECK), "NOT_FOUND")

    def test_empty_data_frames_and_zero_length_message(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block())
               + frame(DATA, 0, 1, b"") * 50
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(b"")))
        self.assert_hc_ok(c, 1)

    def test_no_message_at_all(self):
        """END_STREAM without any request message for a unary method."""
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, valid_block()))
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done, st)
        c.grpc_call(3, HEALTHCHECK, HC_REQ)
        self.assert_hc_ok(c, 3)

    # ---------------------------------------------------------- abrupt ends

    def test_half_sent_message_then_close(self):
        for abort in (False, True):
            for partial in (grpc_msg(b"0123456789", declared_len=100)[:15],
                            grpc_msg(b"")[:3]):
                c = self.conn()
                c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_CHECK))
                       + frame(DATA, 0, 1, partial))
                c.grpc_call(3, H_WATCH, CHECK_REQ)
                c.pump(lambda: len(c.streams[3].data) > 0, 2 * SLOW)
                c.abort() if abort else c.close()
        self.assertAlive()

    def test_close_mid_frame(self):
        cases = [  # (bytes cut short, handshake first, open a stream first)
            (frame(DATA, 0, 1, b"x" * 100)[:29], True, True),
            (frame(HEADERS, FLAG_END_HEADERS, 1, valid_block())[:20], True, False),
            (frame(SETTINGS, 0, 0, b"\0" * 12)[:5], True, False),
            (h2raw.PREFACE[:10], False, False),
        ]
        for abort in (False, True):
            for cut, handshake, open_stream in cases:
                c = self.conn(handshake=handshake)
                if open_stream:
                    c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_CHECK)))
                c.send(cut)
                time.sleep(0.02)
                c.abort() if abort else c.close()
        self.assertAlive()

    def test_close_with_watch_and_pending_writes(self):
        """A client that stops reading (window 0) with calls whose responses
        cannot be sent, then vanishes."""
        for abort in (False, True):
            c = self.conn(handshake=False)
            c.send(h2raw.PREFACE + h2raw.settings_frame([(h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 0)]))
            for sid in (1, 3, 5):
                c.grpc_call(sid, HEALTHCHECK, HC_REQ)
            c.grpc_call(7, H_WATCH, CHECK_REQ, extra=[("grpc-timeout", "200m")])
            time.sleep(0.4)
            c.abort() if abort else c.close()
        self.assertAlive()

    # ---------------------------------------------------------- floods

    def test_ping_flood_without_reading(self):
        c = self.conn()
        c.sock.settimeout(5 * SLOW)
        chunk = h2raw.ping() * 1000
        try:
            for _ in range(30):
                c.sock.sendall(chunk)
        except OSError:
            pass  # the server stopped reading or closed: both fine
        c.abort()
        self.assertAlive()

    def test_settings_flood(self):
        c = self.conn()
        c.sock.settimeout(5 * SLOW)
        try:
            for _ in range(20):
                c.sock.sendall(h2raw.settings_frame() * 1000)
        except OSError:
            pass
        c.abort()
        self.assertAlive()

    def test_rapid_reset(self):
        c = self.conn()
        c.sock.settimeout(5 * SLOW)
        block = valid_block(H_WATCH)
        sid = 1
        try:
            for _ in range(20):
                out = bytearray()
                for _ in range(250):
                    out += frame(HEADERS, FLAG_END_HEADERS, sid, block)
                    out += frame(DATA, FLAG_END_STREAM, sid, grpc_msg(CHECK_REQ))
                    out += h2raw.rst_stream(sid, 0x8)
                    sid += 2
                c.sock.sendall(out)
        except OSError:
            pass
        c.pump(None, 0.3)
        c.close()
        self.assertAlive()

    def test_continuation_flood_and_huge_headers(self):
        c = self.conn()
        c.sock.settimeout(5 * SLOW)
        c.send(frame(HEADERS, 0, 1, valid_block()))
        piece = h2raw.hpack_literal("x-flood", "a" * 16000)
        sent = 0
        try:
            for _ in range(512):  # up to 8 MiB of header block
                c.sock.sendall(frame(CONTINUATION, 0, 1, piece))
                sent += len(piece)
            c.sock.sendall(frame(CONTINUATION, FLAG_END_HEADERS, 1, b""))
        except OSError:
            pass
        st = c.wait_stream(1, 5 * SLOW)
        self.assertTrue(st.done or c.goaway is not None or c.closed,
                        "8 MiB of headers were neither refused nor answered: %r" % st)
        if st.ended and st.rst is None and c.goaway is None:
            self.assertNotEqual(self.call_code(c, HEALTHCHECK), "OK",
                                "a request with an 8 MiB header block was served")
        c.close()
        self.assertAlive()

    def test_window_update_spam(self):
        c = self.conn()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block(H_WATCH))
               + frame(DATA, FLAG_END_STREAM, 1, grpc_msg(CHECK_REQ)))
        try:
            c.sock.sendall(h2raw.window_update(1, 1) * 20000)
        except OSError:
            pass
        c.close()
        self.assertAlive()

    # ---------------------------------------------------------- many sockets

    def test_many_idle_connections(self):
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        n = min(2000, max(50, (soft - 400) // 2))
        stop = threading.Event()
        results = {"ok": 0, "fail": []}
        ch = self.gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)

        def pinger():
            while not stop.is_set():
                try:
                    health_check(ch, timeout=5)
                    results["ok"] += 1
                except grpc.RpcError as e:
                    results["fail"].append("%s %s" % (e.code(), e.details()))
                time.sleep(0.01)

        t = threading.Thread(target=pinger, daemon=True)
        t.start()
        socks = []
        sel = selectors.DefaultSelector()
        try:
            for _ in range(n):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.gd.port))
                socks.append(s)
                sel.register(s, selectors.EVENT_WRITE)
            pending = n
            deadline = time.monotonic() + 30
            connected = 0
            errors = 0
            while pending and time.monotonic() < deadline:
                for key, _ in sel.select(0.5):
                    sel.unregister(key.fileobj)
                    pending -= 1
                    if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        connected += 1
                    else:
                        errors += 1
            self.assertEqual(pending, 0, "%d of %d connects still pending" % (pending, n))
            self.assertEqual(connected, n, "%d connects failed" % errors)
            time.sleep(1.0)
            self.assertAlive()
        finally:
            sel.close()
            for s in socks:
                s.close()
            stop.set()
            t.join(10)
        self.assertEqual(results["fail"], [], "HealthChecks failed while %d idle sockets were open" % n)
        self.assertGreater(results["ok"], 0)
        self.assertAlive()


class DefaultDeadline(GoverndCase):
    """A unary call sent without grpc-timeout gets the server's deadline
    (--default-deadline); a stream keeps none; a client's own wins."""
    NAME = "default-deadline"
    GOVERND_ARGS = ["--default-deadline", "300ms"]

    def conn(self):
        c = h2raw.H2Conn.connect(self.gd.addr, timeout=5 * SLOW)
        self.addCleanup(c.close)
        c.handshake()
        return c

    def test_a_unary_call_never_finished_ends_deadline_exceeded(self):
        c = self.conn()
        t0 = time.monotonic()
        c.send(frame(HEADERS, FLAG_END_HEADERS, 1, valid_block()))  # no request, no end
        st = c.wait_stream(1, 10 * SLOW)
        self.assertTrue(st.done, st)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertEqual(self.gd.wait_call(method=HEALTHCHECK, peer=c.local)["code"],
                         "DEADLINE_EXCEEDED")

    def test_a_stream_keeps_no_deadline_and_the_clients_own_wins(self):
        c = self.conn()
        c.grpc_call(1, H_WATCH, CHECK_REQ)
        # the client's 30 s deadline, not the server's 300 ms
        c.headers(3, grpc_headers(HEALTHCHECK, extra=[("grpc-timeout", "30S")]))
        c.pump(lambda: len(c.streams[1].data) > 0, 5 * SLOW)
        c.pump(None, 1.0)
        self.assertFalse(c.streams[1].done, c.streams[1])
        self.assertFalse(c.streams[3].done, c.streams[3])
        c.data(3, grpc_msg(HC_REQ), end_stream=True)
        self.assert_ok(c, 3)

    def assert_ok(self, c, sid):
        st = c.wait_stream(sid, 5 * SLOW)
        self.assertTrue(st.ended and st.rst is None, st)
        self.assertEqual(self.gd.wait_call(method=HEALTHCHECK, peer=c.local)["code"], "OK")


class WriteQueueBound(GoverndCase):
    """Writes faster than the store takes them meet a bounded queue
    (--max-queued-writes): the excess is refused RESOURCE_EXHAUSTED, what
    was accepted is all there, nothing else."""
    NAME = "write-queue"
    GOVERND_ARGS = ["--max-queued-writes", "1"]

    def test_a_burst_past_the_bound_is_refused_not_queued(self):
        g = Gov.connect(self.gd)
        self.addCleanup(g.close)
        futures = [g.future("SubmitDecision", decision=proposal(), idempotency_key="q%d" % i)
                   for i in range(2000)]
        ok, refused, other = 0, 0, []
        for f in futures:
            try:
                f.result()
                ok += 1
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    self.assertIn("writes waiting", e.details())
                    refused += 1
                else:
                    other.append((e.code(), e.details()))
        self.assertEqual(other, [])
        self.assertGreater(refused, 0, "2000 submissions at once never found the queue full")
        self.assertGreater(ok, 0)
        self.assertEqual(g.call("GetMetrics").metrics.pending_count, ok)
        self.assertAlive()


if __name__ == "__main__":
    run_main()
