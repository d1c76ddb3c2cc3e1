#!/usr/bin/python3
"""chaosproxy (tests/tools/chaosproxy.c) against plain TCP servers written
here: every toxic, per direction, toxicity, changes at run time, down/up,
backpressure, bad control input, clean exit; then governd through it
with grpcio, and the proxy under valgrind.

Timing: lower bounds are asserted tightly (the proxy must never let bytes
through early), upper bounds loosely (a slow machine must not fail a
test)."""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from chaos import CHAOSPROXY, ChaosError, ChaosProxy, binary_has_asan  # noqa: E402
from harness import Governd, SLOW, health_check, make_channel, run_main  # noqa: E402
import governance_pb2  # noqa: E402

UNDER_ASAN = binary_has_asan(CHAOSPROXY)
LOOSE = 5.0 * SLOW  # seconds added to upper bounds (SLOW: harness, ASan)
HEALTHCHECK = "/vertice.governance.v1.GovernanceService/HealthCheck"


# ---------------------------------------------------------------- servers

class Server:
    """A TCP server on a free loopback port; handler(conn) runs on a thread
    of its own for every accepted connection.

    close() must leave nothing behind: on Linux, closing a listening socket
    does not wake a thread blocked in accept(), so the socket would go on
    listening and hand later connections to a stale handler, and a thread
    using a closed descriptor number can hit a new socket that got the
    number.  Hence shutdown() first, join, and close under the lock."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.stopping = threading.Event()
        self.conns = set()
        self.lock = threading.Lock()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return  # shut down by close()
            with self.lock:
                if self.stopping.is_set():
                    c.close()
                    return
                self.conns.add(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.handler(c, self)
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(c)
                c.close()

    def close(self):
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept() with EINVAL
        except OSError:
            pass
        self.acceptor.join(10)
        if self.acceptor.is_alive():
            raise AssertionError("server %d: accept thread did not end" % self.port)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def echo(c, srv):
    while True:
        d = c.recv(65536)
        if not d:
            return
        c.sendall(d)


def greet_then_echo(c, srv):
    c.sendall(b"hi\n")
    echo(c, srv)


def wait_peer_close(c, srv):
    """Reads until the peer (the proxy) closes or the server stops."""
    c.settimeout(0.2)
    while not srv.stopping.is_set():
        try:
            if not c.recv(65536):
                return
        except socket.timeout:
            continue


PATTERN = random.Random(7).randbytes(256 * 1024)


def send_then_hold(n):
    """Sends PATTERN[:n], then keeps the connection open until the peer
    closes it."""
    def handler(c, srv):
        c.sendall(PATTERN[:n])
        wait_peer_close(c, srv)
    return handler


def send_then_close(n):
    def handler(c, srv):
        c.sendall(PATTERN[:n])
    return handler


class Blaster:
    """A handler that writes as fast as the connection takes bytes, for
    seconds, and counts what the kernel accepted."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.sent = 0

    def __call__(self, c, srv):
        c.settimeout(0.1)
        end = time.monotonic() + self.seconds
        chunk = b"b" * 65536
        while time.monotonic() < end and not srv.stopping.is_set():
            try:
                self.sent += c.send(chunk)
            except socket.timeout:
                continue


# ---------------------------------------------------------------- clients

def connect(addr, timeout=10.0):
    host, _, port = addr.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout * SLOW)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise AssertionError("connection ended after %d of %d bytes" % (len(out), n))
        out += d
    return out


def rtt(s, msg=b"ping"):
    """Seconds for msg to go through the echo server and back."""
    t = time.monotonic()
    s.sendall(msg)
    got = recv_exact(s, len(msg))
    el = time.monotonic() - t
    assert got == msg, (got[:16], msg, s.getsockname(), s.getpeername())
    return el


def read_to_end(s):
    """Reads until EOF; returns (bytes, how) with how "eof" or "reset"."""
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return out, "reset"
        if not d:
            return out, "eof"
        out += d


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- cases

class ChaosCase(unittest.TestCase):
    """A proxy of its own for every test, in front of cls.HANDLER's server;
    tearDown checks that the proxy exits 0 on SIGTERM with a clean log."""

    HANDLER = staticmethod(echo)
    PROXY_KWARGS = {}

    def setUp(self):
        self.server = Server(self.HANDLER)
        self.addCleanup(self.server.close)
        self.cp = ChaosProxy(self.server.addr, **self.PROXY_KWARGS).start()
        self.addCleanup(self.cp.cleanup)
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.cp.running():
            self.cp.stop()

    def client(self):
        s = connect(self.cp.addr)
        self.socks.append(s)
        return s


class Basics(ChaosCase):

    def test_passthrough_many_bytes_and_stats(self):
        s = self.client()
        data = PATTERN[:200000]
        s.sendall(data)
        self.assertEqual(recv_exact(s, len(data)), data)
        st = self.cp.stats()
        self.assertEqual(st["state"], "up")
        self.assertEqual((st["open"], st["total"], st["toxics"]), (1, 1, 0))
        self.assertEqual(st["bytes_upstream"], len(data))
        self.assertEqual(st["bytes_downstream"], len(data))

    def test_half_close_passes_through(self):
        s = self.client()
        s.sendall(b"last words")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_end(s), (b"last words", "eof"))
        self.cp.wait_stats(lambda st: st["open"] == 0, 5 * SLOW, "the connection to close")

    def test_many_connections_at_once(self):
        self.cp.add("lat", "latency", "downstream", latency=100)
        n = 40
        results = [None] * n

        def one(i):
            try:
                s = connect(self.cp.addr)
                msg = PATTERN[i * 1000:(i + 1) * 1000 + 9000]
                t = time.monotonic()
                s.sendall(msg)
                got = recv_exact(s, len(msg))
                results[i] = (got == msg, time.monotonic() - t)
                s.close()
            except Exception as e:  # reported below
                results[i] = (e, 0)

        ths = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(30 * SLOW)
        for ok, el in results:
            self.assertIs(ok, True)
            self.assertGreaterEqual(el, 0.1)
        self.assertEqual(self.cp.stats()["total"], n)

    def test_sigint_exits_cleanly_with_open_connections(self):
        s = self.client()
        self.cp.add("hold", "timeout", "upstream", timeout=0)
        s.sendall(b"stuck")
        self.cp.stop(sig=signal.SIGINT)
        self.assertEqual(read_to_end(s)[0], b"")


class Latency(ChaosCase):

    def test_latency_downstream(self):
        s = self.client()
        rtt(s)
        self.cp.add("lat", "latency", "downstream", latency=200)
        el = rtt(s)
        self.assertGreaterEqual(el, 0.2)
        self.assertLess(el, 0.2 + LOOSE)

    def test_stacked_toxics_add_up_in_both_directions(self):
        self.cp.add("up", "latency", "upstream", latency=100)
        self.cp.add("down1", "latency", "downstream", latency=100)
        self.cp.add("down2", "latency", "downstream", latency=50)
        self.assertEqual([t["name"] for t in self.cp.list()], ["up", "down1", "down2"])
        el = rtt(self.client())
        self.assertGreaterEqual(el, 0.25)
        self.assertLess(el, 0.25 + LOOSE)

    def test_jitter_varies_within_its_range(self):
        self.cp.add("lat", "latency", "downstream", latency=60, jitter=50)
        s = self.client()
        samples = [rtt(s, b"j%d" % i) for i in range(12)]
        self.assertGreaterEqual(min(samples), 0.010)
        # Uniform on 10..110 ms: twelve draws within 15 ms of each other
        # would be a broken jitter, not bad luck.
        self.assertGreater(max(samples) - min(samples), 0.015, samples)

    def test_order_is_kept_under_jitter(self):
        self.cp.add("lat", "latency", "upstream", latency=20, jitter=20)
        s = self.client()
        msg = b"".join(b"%05d" % i for i in range(400))
        for i in range(0, len(msg), 50):
            s.sendall(msg[i:i + 50])
            time.sleep(0.001)
        self.assertEqual(recv_exact(s, len(msg)), msg)

    def test_added_and_removed_at_run_time_on_an_open_connection(self):
        s = self.client()
        rtt(s)
        self.cp.add("lat", "latency", "downstream", latency=300)
        self.assertGreaterEqual(rtt(s), 0.3)
        self.cp.remove("lat")
        # What a toxic holds when it goes is let through at once: 20 s of
        # latency, removed after 0.2 s.
        self.cp.add("lat", "latency", "downstream", latency=20000)
        t = time.monotonic()
        s.sendall(b"held")
        time.sleep(0.2)
        self.cp.remove("lat")
        s.settimeout(30)
        self.assertEqual(recv_exact(s, 4), b"held")
        el = time.monotonic() - t
        self.assertGreaterEqual(el, 0.2)
        self.assertLess(el, 10, "removal did not release the held bytes")
        self.assertLess(rtt(s), 10)


class Bandwidth(ChaosCase):
    HANDLER = staticmethod(send_then_close(100 * 1024))

    def test_rate_is_roughly_kept(self):
        self.cp.add("bw", "bandwidth", "downstream", rate=100)
        s = self.client()
        t = time.monotonic()
        data, how = read_to_end(s)
        el = time.monotonic() - t
        self.assertEqual((data, how), (PATTERN[:100 * 1024], "eof"))
        # 100 KiB at 100 KiB/s, the first 2 KiB piece free: >= 0.98 s.
        self.assertGreaterEqual(el, 0.9, "%.0f KB/s" % (100 / el))
        self.assertLess(el, 1.0 + LOOSE)


class SlowClose(ChaosCase):
    HANDLER = staticmethod(send_then_close(3))

    def test_close_is_passed_on_late(self):
        self.cp.add("sc", "slow_close", "downstream", delay=400)
        t = time.monotonic()
        s = self.client()
        self.assertEqual(recv_exact(s, 3), PATTERN[:3])  # the bytes are not held
        self.assertEqual(read_to_end(s), (b"", "eof"))
        el = time.monotonic() - t
        self.assertGreaterEqual(el, 0.4)
        self.assertLess(el, 0.4 + LOOSE)


class Timeout(ChaosCase):
    HANDLER = staticmethod(greet_then_echo)

    def test_stalls_then_closes(self):
        self.cp.add("to", "timeout", "upstream", timeout=300)
        t = time.monotonic()
        s = self.client()
        self.assertEqual(recv_exact(s, 3), b"hi\n")  # downstream untouched
        s.sendall(b"ping")
        data, _ = read_to_end(s)
        el = time.monotonic() - t
        self.assertEqual(data, b"", "bytes passed a timeout toxic")
        self.assertGreaterEqual(el, 0.3)
        self.assertLess(el, 0.3 + LOOSE)

    def test_zero_holds_one_direction_until_removed(self):
        self.cp.add("to", "timeout", "upstream", timeout=0)
        s = self.client()
        self.assertEqual(recv_exact(s, 3), b"hi\n")
        s.sendall(b"ping")
        s.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            s.recv(10)
        s.settimeout(10 * SLOW)
        self.cp.remove("to")
        self.assertEqual(recv_exact(s, 4), b"ping")
        self.assertLess(rtt(s), LOOSE)

    def test_added_to_an_open_connection(self):
        s = self.client()
        self.assertEqual(recv_exact(s, 3), b"hi\n")
        self.cp.add("to", "timeout", "downstream", timeout=200)
        s.sendall(b"ping")
        self.assertEqual(read_to_end(s)[0], b"")


class ResetPeer(ChaosCase):
    HANDLER = staticmethod(greet_then_echo)

    def test_reset_after_timeout(self):
        self.cp.add("rst", "reset_peer", "downstream", timeout=200)
        t = time.monotonic()
        s = self.client()
        self.assertEqual(recv_exact(s, 3), b"hi\n")
        with self.assertRaises(ConnectionResetError):
            while s.recv(100):
                pass
        el = time.monotonic() - t
        self.assertGreaterEqual(el, 0.2)
        self.assertLess(el, 0.2 + LOOSE)

    def test_reset_at_once(self):
        self.cp.add("rst", "reset_peer", "upstream")
        # The RST can beat a timed connect() to its result: then connect
        # itself reports it.
        try:
            s = self.client()
        except ConnectionResetError:
            return
        self.assertEqual(read_to_end(s)[1], "reset")


class Slicer(ChaosCase):
    HANDLER = staticmethod(send_then_hold(2000))

    def test_same_bytes_in_several_smaller_reads(self):
        self.cp.add("sl", "slicer", "downstream", average_size=100, size_variation=40,
                    delay=20000)
        s = self.client()
        t = time.monotonic()
        reads = []
        while sum(map(len, reads)) < 2000:
            d = s.recv(65536)
            self.assertTrue(d, "connection ended early")
            reads.append(d)
        el = time.monotonic() - t
        self.assertEqual(b"".join(reads), PATTERN[:2000])
        self.assertGreaterEqual(len(reads), 5, [len(r) for r in reads])
        # At least 2000 / 140 = 15 slices, 20 ms apart.
        self.assertGreaterEqual(el, 0.28)


class LimitData(ChaosCase):
    HANDLER = staticmethod(send_then_hold(5000))

    def test_closes_after_n_bytes(self):
        self.cp.add("lim", "limit_data", "downstream", bytes=1000)
        s = self.client()
        self.assertEqual(read_to_end(s), (PATTERN[:1000], "eof"))
        self.cp.wait_stats(lambda st: st["open"] == 0, 5 * SLOW, "the connection to close")


class Toxicity(ChaosCase):

    def closed_at_once(self):
        """Whether a new connection is closed by the proxy (rather than
        echoing)."""
        s = self.client()
        try:
            s.sendall(b"x")
            return s.recv(10) != b"x"
        except (ConnectionResetError, BrokenPipeError):
            return True

    def test_zero_never_one_always_half_some(self):
        self.cp.add("cut", "limit_data", "downstream", toxicity=0, bytes=0)
        self.assertEqual(self.cp.list()[0]["toxicity"], 0)
        self.assertFalse(any(self.closed_at_once() for _ in range(8)))
        self.cp.remove("cut")
        self.cp.add("cut", "limit_data", "downstream", toxicity=1, bytes=0)
        self.assertTrue(all(self.closed_at_once() for _ in range(8)))
        self.cp.remove("cut")
        self.cp.add("cut", "limit_data", "downstream", toxicity=0.5, bytes=0)
        closed = sum(self.closed_at_once() for _ in range(40))
        # Both ends have probability 2 * 2^-40.
        self.assertTrue(0 < closed < 40, closed)


class DownUp(ChaosCase):

    def test_down_cuts_and_refuses_up_serves_again(self):
        s = self.client()
        rtt(s)
        self.cp.down()
        self.assertEqual(self.cp.stats()["state"], "down")
        self.assertEqual(read_to_end(s)[0], b"")
        with self.assertRaises(ConnectionRefusedError):
            connect(self.cp.addr)
        self.assertEqual(self.cp.stats()["open"], 0)
        self.cp.down()  # idempotent
        self.cp.up()
        self.assertEqual(self.cp.stats()["state"], "up")
        rtt(self.client())

    def test_reset_removes_toxics_and_brings_up(self):
        self.cp.add("lat", "latency", "downstream", latency=5000)
        self.cp.add("to", "timeout", "upstream", timeout=0)
        self.cp.down()
        self.cp.reset()
        st = self.cp.stats()
        self.assertEqual((st["state"], st["toxics"]), ("up", 0))
        self.assertEqual(self.cp.list(), [])
        self.assertLess(rtt(self.client()), LOOSE)


class Backpressure(ChaosCase):
    """A server that writes as fast as it can behind toxics that hold
    bytes: the proxy's memory stays at its cap and the server is slowed
    down by TCP instead."""

    CAP = 256 * 1024
    PROXY_KWARGS = {"max_pending": CAP}
    BLAST = Blaster(1.2)
    HANDLER = BLAST

    def test_holding_toxics_are_bounded(self):
        # One item of overhead per read, at most one read past the cap.
        bound = self.CAP + 64 * 1024 + 4096
        rss0 = rss_kib(self.cp.pid())
        for name, kind, attrs in (("to", "timeout", {"timeout": 0}),
                                  ("lat", "latency", {"latency": 300}),
                                  ("bw", "bandwidth", {"rate": 64})):
            with self.subTest(kind=kind):
                self.BLAST.sent = 0
                self.cp.add(name, kind, "downstream", **attrs)
                s = connect(self.cp.addr)
                try:
                    s.settimeout(0.05)
                    end = time.monotonic() + 1.5
                    while time.monotonic() < end:  # a client that reads all it gets
                        try:
                            s.recv(1 << 20)
                        except socket.timeout:
                            pass
                    st = self.cp.stats()
                    self.assertLessEqual(st["peak_pending"], bound, st)
                    self.assertLess(self.BLAST.sent, 64 << 20, "the server was never slowed")
                finally:
                    s.close()
                    self.cp.remove(name)
                    self.cp.wait_stats(lambda st: st["open"] == 0, 5 * SLOW, "the close")
        # ASan keeps freed memory in quarantine: RSS says nothing there.
        if not UNDER_ASAN:
            growth = rss_kib(self.cp.pid()) - rss0
            self.assertLess(growth, 32 * 1024, "RSS grew by %d KiB" % growth)


class Control(ChaosCase):

    BAD = [
        ("add a bogus downstream", r'unknown toxic type "bogus"'),
        ("add a latency sideways latency=1", r'bad stream "sideways"'),
        ("add a latency downstream latency=12x", r'bad value "12x" for latency'),
        ("add a latency downstream latency=-5", r'bad value "-5"'),
        ("add a latency downstream latency=99999999999999999999999",
         r'bad value "99999999999999999999999"'),
        ("add a latency downstream latency=3600001", r'bad value "3600001"'),
        ("add a latency downstream", r'missing key "latency"'),
        ("add a latency downstream latency=1 frobs=2", r'unknown key "frobs" for latency'),
        ("add a latency downstream latency=1 toxicity=1.5", r'bad toxicity "1.5"'),
        ("add a latency downstream latency=1 toxicity=nan", r'bad toxicity "nan"'),
        ("add a latency downstream latency=1 toxicity=", r'bad toxicity ""'),
        ("add a latency downstream latency=1 latency=2", r'key "latency" given twice'),
        ("add a latency downstream latency", r'bad argument "latency"'),
        ("add a latency downstream =5", r'bad argument "=5"'),
        ("add bad/name latency downstream latency=1", r'bad toxic name "bad/name"'),
        ("add a bandwidth downstream rate=0", r'bad value "0" for rate'),
        ("add a slicer downstream average_size=10 size_variation=10",
         r'size_variation "10" must be less than average_size "10"'),
        ("add a timeout", r"wrong number of words for 'add'"),
        ("add ok1 latency downstream latency=1", r'toxic "ok1" exists'),
        ("remove ghost", r'no toxic "ghost"'),
        ("remove", r"wrong number of words for 'remove'"),
        ("list extra", r"wrong number of words for 'list'"),
        ("frobnicate", r'unknown request "frobnicate"'),
        ("", r"empty request"),
        ("   ", r"empty request"),
        (" ".join(["add"] * 17), r"too many words"),
        (b"add\x00x", r"NUL byte"),
        (b"\xff\xfe", r'unknown request "\?\?"'),
        ("x" * 5000, r"longer than 1023 bytes"),
    ]

    def test_bad_input_gets_an_err_naming_it(self):
        self.cp.add("ok1", "latency", "upstream", latency=1)
        for line, want in self.BAD:
            with self.subTest(line=line[:40]):
                reply = self.cp.request_line(line)
                self.assertTrue(reply.startswith("err "), reply)
                self.assertRegex(reply, want)
        # Nothing was added by the bad lines, and the proxy still proxies.
        self.assertEqual([t["name"] for t in self.cp.list()], ["ok1"])
        rtt(self.client())

    def test_crlf_and_pipelined_requests(self):
        self.cp.send_raw(b"stats\r\nlist\nadd l latency downstream latency=5 jitter=2\r\n")
        self.assertTrue(self.cp.read_reply().startswith("ok state=up"))
        self.assertEqual(self.cp.read_reply(), "ok toxics=0")
        self.assertEqual(self.cp.read_reply(), "ok added l")
        self.assertEqual(self.cp.list(), [{"name": "l", "type": "latency",
                                           "stream": "downstream", "toxicity": 1,
                                           "latency": 5, "jitter": 2}])

    def test_defaults_shown_by_list(self):
        self.cp.add("s", "slicer", "upstream", average_size=10)
        self.cp.add("r", "reset_peer", "downstream", toxicity=0.25, timeout=100000)
        self.assertEqual(self.cp.list(), [
            {"name": "s", "type": "slicer", "stream": "upstream", "toxicity": 1,
             "average_size": 10, "size_variation": 0, "delay": 0},
            {"name": "r", "type": "reset_peer", "stream": "downstream",
             "toxicity": 0.25, "timeout": 100000}])

    def test_too_many_toxics(self):
        for i in range(32):
            self.cp.add("t%d" % i, "latency", "upstream", latency=0)
        with self.assertRaisesRegex(ChaosError, r"too many toxics \(at most 32\)"):
            self.cp.add("t32", "latency", "upstream", latency=0)
        rtt(self.client())
        self.cp.reset()

    def test_random_requests_each_get_one_reply(self):
        rnd = random.Random(11)
        words = ["add", "remove", "list", "stats", "up", "reset", "x", "latency",
                 "bandwidth", "slicer", "limit_data", "timeout", "slow_close",
                 "reset_peer", "upstream", "downstream", "latency=5", "rate=1",
                 "toxicity=0.5", "bytes=9", "timeout=0", "delay=3", "=", "==",
                 "average_size=4", "size_variation=2", "\t", "\x01", "é"]
        lines = []
        for _ in range(300):
            lines.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 8))))
        self.cp.send_raw("".join(l + "\n" for l in lines).encode())
        for line in lines:
            reply = self.cp.read_reply()
            self.assertRegex(reply, r"^(ok( |$)|err )", line)
        self.cp.reset()
        rtt(self.client())

    def test_several_control_connections(self):
        other = socket.create_connection(("127.0.0.1", self.cp.control_port), timeout=10)
        self.socks.append(other)
        other.sendall(b"add lat latency downstream latency=1\n")
        self.assertEqual(other.recv(100), b"ok added lat\n")
        self.assertEqual(self.cp.list()[0]["name"], "lat")


class CommandLine(unittest.TestCase):

    def run_proxy(self, args, timeout=10):
        r = subprocess.run([CHAOSPROXY] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout * SLOW, text=True)
        return r.returncode, r.stdout + r.stderr

    def test_usage_errors_exit_2_naming_the_value(self):
        for args, want in ((["--listen", "127.0.0.1:0"], "--upstream"),
                           (["--upstream", "127.0.0.1"], "'127.0.0.1'"),
                           (["--upstream", "127.0.0.1:1", "--listen", "nowhere:1"], "'nowhere:1'"),
                           (["--upstream", "127.0.0.1:1", "--max-pending", "lots"], "'lots'"),
                           (["--upstream", "127.0.0.1:1", "--bogus"], "'--bogus'")):
            with self.subTest(args=args):
                rc, out = self.run_proxy(args)
                self.assertEqual(rc, 2, out)
                self.assertIn(want, out)

    def test_port_in_use_exits_1(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            rc, out = self.run_proxy(["--upstream", "127.0.0.1:1", "--listen",
                                      "127.0.0.1:%d" % s.getsockname()[1]])
        finally:
            s.close()
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot listen", out)

    def test_help(self):
        rc, out = self.run_proxy(["--help"])
        self.assertEqual(rc, 0)
        for flag in ("--upstream", "--listen", "--control", "--max-pending", "--seed"):
            self.assertIn(flag, out)

    def test_upstream_refusing_closes_the_client(self):
        # A port bound but not listening refuses connections, and stays
        # ours: a port closed again could be taken by a parallel test.
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        try:
            with ChaosProxy("127.0.0.1:%d" % dead.getsockname()[1]) as cp:
                s = connect(cp.addr)
                self.assertEqual(read_to_end(s)[0], b"")
                s.close()
        finally:
            dead.close()


class ThroughGovernd(unittest.TestCase):
    """governd behind the proxy, called with grpcio."""

    @classmethod
    def setUpClass(cls):
        cls.gd = Governd(["--threads", "1"], name="governd-chaos").start()
        cls.cp = ChaosProxy(cls.gd.addr).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.cp.stop()
        finally:
            cls.cp.cleanup()
            cls.gd.stop()
            cls.gd.cleanup()

    def tearDown(self):
        self.cp.reset()

    def call(self, ch, timeout):
        f = ch.unary_unary(HEALTHCHECK,
                           request_serializer=governance_pb2.HealthCheckRequest.SerializeToString,
                           response_deserializer=governance_pb2.HealthCheckResponse.FromString)
        return f(governance_pb2.HealthCheckRequest(), timeout=timeout)

    def test_latency_slows_calls_and_deadlines_expire(self):
        ch = make_channel(self.cp.addr)
        try:
            self.assertTrue(health_check(ch).healthy)  # connected, no toxic
            self.cp.add("lat", "latency", "downstream", latency=200)
            t = time.monotonic()
            self.assertTrue(self.call(ch, 10 * SLOW).healthy)
            self.assertGreaterEqual(time.monotonic() - t, 0.2)
            with self.assertRaises(grpc.RpcError) as cm:
                self.call(ch, 0.1)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            ch.close()
        self.assertTrue(self.gd.running())

    def test_down_is_unavailable_up_serves(self):
        self.cp.down()
        ch = make_channel(self.cp.addr)
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                self.call(ch, 5 * SLOW)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            ch.close()
        self.cp.up()
        ch = make_channel(self.cp.addr)
        try:
            self.assertTrue(health_check(ch).healthy)
        finally:
            ch.close()


@unittest.skipIf(UNDER_ASAN, "valgrind cannot run an ASan binary")
@unittest.skipUnless(shutil.which("valgrind"), "valgrind is not installed")
class UnderValgrind(unittest.TestCase):
    """Every toxic and the control errors with the proxy under valgrind;
    stop() fails on a memory error or a leak."""

    def test_every_toxic_valgrind_clean(self):
        srv = Server(greet_then_echo)
        self.addCleanup(srv.close)
        cp = ChaosProxy(srv.addr, wrapper=[
            "valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible"])
        self.addCleanup(cp.cleanup)
        cp.start()
        for line, _ in Control.BAD[:12]:
            self.assertTrue(cp.request_line(line).startswith("err "))
        toxics = [("lat", "latency", "downstream", {"latency": 20, "jitter": 10}),
                  ("bw", "bandwidth", "upstream", {"rate": 1000}),
                  ("sl", "slicer", "downstream", {"average_size": 3, "size_variation": 2}),
                  ("sc", "slow_close", "downstream", {"delay": 10}),
                  ("lim", "limit_data", "upstream", {"bytes": 30}),
                  ("to", "timeout", "upstream", {"timeout": 0})]
        socks = []
        for name, kind, stream, attrs in toxics:
            cp.add(name, kind, stream, **attrs)
            s = connect(cp.addr, timeout=30)
            socks.append(s)
            s.sendall(b"some bytes for %s" % name.encode())
        cp.remove("to")  # releases what it held, on open connections
        cp.add("rst", "reset_peer", "downstream", timeout=50)
        socks.append(connect(cp.addr, timeout=30))
        time.sleep(0.5)
        cp.down()
        cp.up()
        s = connect(cp.addr, timeout=30)
        socks.append(s)
        s.sendall(b"x")
        for s in socks:
            s.close()
        self.assertEqual(cp.stop(), 0)
        self.assertIn("ERROR SUMMARY: 0 errors", cp.log())


if __name__ == "__main__":
    run_main()
