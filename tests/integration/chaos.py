"""Driver for tests/tools/chaosproxy, the fault-injecting TCP proxy
(docs/chaosproxy.md), for the chaos tests.

    with ChaosProxy("127.0.0.1:%d" % server_port) as cp:
        cp.add("slow", "latency", "downstream", latency=200)
        ... connect to cp.addr ...
        with cp.toxic("cut", "limit_data", "upstream", bytes=100):
            ...
        cp.down(); cp.up()
        cp.stats()["open"]

Environment: CHAOSPROXY, the binary (set by tests/integration/CMakeLists.txt).
The proxy listens on free loopback ports picked by the kernel; its stderr
goes to a log file that stop() checks for sanitizer and valgrind reports.
This module needs nothing but the standard library.
"""

import contextlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

CHAOSPROXY = os.environ.get("CHAOSPROXY", "")


class ProxiedGoverndCase(unittest.TestCase):
    """One governd (with a store and the demo queue) behind one proxy, per
    class; each test starts with a proxy without toxics and a directory of
    its own (self.tmp)."""
    GOVERND_NAME = "proxied"
    PROXY_SEED = None

    @classmethod
    def setUpClass(cls):
        from harness import Governd  # here: chaosproxy's own tests need no governd
        cls.gd = Governd(name=cls.GOVERND_NAME, db=True, demo=True, log_level="info")
        cls.gd.start()
        cls.cp = ChaosProxy(cls.gd.addr, seed=cls.PROXY_SEED)
        cls.cp.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.cp.stop()
        finally:
            cls.cp.cleanup()
            try:
                if cls.gd.running():
                    cls.gd.stop()
            finally:
                cls.gd.cleanup()

    def setUp(self):
        from harness import uniq
        self.cp.reset()
        self.tmp = os.path.join(self.gd.state_dir, uniq("vcli"))
        os.makedirs(self.tmp)


class ChaosError(Exception):
    """The proxy answered "err ..."; str() is the message."""


def binary_has_asan(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def _value(text):
    if re.fullmatch(r"\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def parse_stats(reply):
    """ "state=up open=1 ..." -> {"state": "up", "open": 1, ...}"""
    out = {}
    for word in reply.split():
        k, _, v = word.partition("=")
        out[k] = _value(v)
    return out


def parse_list(reply):
    """ "toxics=N | NAME TYPE STREAM k=v ... | ..." -> a list of dicts with
    name, type, stream and the keys (toxicity included)."""
    parts = reply.split(" | ")
    out = []
    for part in parts[1:]:
        words = part.split()
        t = {"name": words[0], "type": words[1], "stream": words[2]}
        for w in words[3:]:
            k, _, v = w.partition("=")
            t[k] = _value(v)
        out.append(t)
    return out


class ChaosProxy:
    """One chaosproxy process forwarding to upstream ("HOST:PORT"), and a
    control connection to it.  Requests raise ChaosError on "err"."""

    def __init__(self, upstream, binary=None, wrapper=(), max_pending=None,
                 seed=None, listen="127.0.0.1:0", control="127.0.0.1:0"):
        self.binary = binary or CHAOSPROXY
        if not self.binary or not os.path.exists(self.binary):
            raise AssertionError("CHAOSPROXY binary missing: %r" % self.binary)
        self.upstream = upstream
        self.wrapper = list(wrapper)
        self.max_pending = max_pending
        self.seed = seed
        self.listen = listen
        self.control = control
        self.proc = None
        self.addr = self.control_addr = None
        self.port = self.control_port = None
        self.returncode = None
        self._ctl = None
        self._ctlbuf = b""
        self._tmp = tempfile.mkdtemp(prefix="vcli-chaosproxy-")
        self.logpath = os.path.join(self._tmp, "chaosproxy.log")
        self._logf = None

    # -- lifecycle

    def command(self):
        cmd = self.wrapper + [self.binary, "--upstream", self.upstream,
                              "--listen", self.listen, "--control", self.control]
        if self.max_pending is not None:
            cmd += ["--max-pending", str(self.max_pending)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        return cmd

    def start(self, timeout=None):
        """Starts the proxy and waits for its "listening" line."""
        if timeout is None:
            timeout = 60.0 if self.wrapper else 15.0
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._logf)
        line = self._first_line(timeout)
        m = re.fullmatch(r"listening (\S+):(\d+) control (\S+):(\d+)", line)
        if not m:
            self.kill()
            raise AssertionError("chaosproxy: unexpected first line %r\n%s"
                                 % (line, self.log()))
        self.port, self.control_port = int(m.group(2)), int(m.group(4))
        self.addr = "%s:%d" % (m.group(1), self.port)
        self.control_addr = "%s:%d" % (m.group(3), self.control_port)
        self._ctl = socket.create_connection((m.group(3).strip("[]"), self.control_port),
                                             timeout=timeout)
        return self

    def _first_line(self, timeout):
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = end - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError("chaosproxy did not print its ports within %.0fs\n%s"
                                     % (timeout, self.log()))
            r, _, _ = select.select([fd], [], [], min(left, 0.2))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait(10)
                    raise AssertionError("chaosproxy exited with %s before listening\n%s"
                                         % (self.proc.returncode, self.log()))
                buf += chunk
        return buf.split(b"\n", 1)[0].decode("utf-8", "replace")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None, expect_code=0):
        """Signals the proxy, waits, and checks its exit status and log
        (sanitizer reports, valgrind errors).  Returns the exit status."""
        if self.proc is None:
            return None
        if timeout is None:
            timeout = 60.0 if self.wrapper else 15.0
        self._close_ctl()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("chaosproxy did not exit within %.0fs of %s\n%s"
                                 % (timeout, signal.Signals(sig).name, self.log()))
        self._close_log()
        self.returncode = rc
        text = self.log()
        problems = []
        if expect_code is not None and rc != expect_code:
            problems.append("exit status %s, expected %s" % (rc, expect_code))
        if re.search(r"(AddressSanitizer|LeakSanitizer|runtime error:)", text):
            problems.append("sanitizer report")
        if re.search(r"ERROR SUMMARY: [1-9]", text):
            problems.append("valgrind errors")
        if re.search(r"(definitely|indirectly) lost: [1-9]", text):
            problems.append("valgrind: memory lost")
        if problems:
            raise AssertionError("chaosproxy: %s\n%s" % ("; ".join(problems), text))
        return rc

    def kill(self):
        self._close_ctl()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_log()

    def cleanup(self):
        self.kill()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self._tmp, True)

    def _close_ctl(self):
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    def _close_log(self):
        if self._logf is not None:
            self._logf.close()
            self._logf = None

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def pid(self):
        return self.proc.pid

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        try:
            if self.running() and exc[0] is None:
                self.stop()
        finally:
            self.cleanup()

    # -- control protocol

    def send_raw(self, data):
        """Sends bytes as they are on the control connection."""
        self._ctl.sendall(data)

    def read_reply(self, timeout=10.0):
        """The next reply line, without its newline."""
        self._ctl.settimeout(timeout)
        while b"\n" not in self._ctlbuf:
            chunk = self._ctl.recv(65536)
            if not chunk:
                raise AssertionError("chaosproxy closed the control connection\n%s"
                                     % self.log())
            self._ctlbuf += chunk
        line, _, self._ctlbuf = self._ctlbuf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def request_line(self, line):
        """Sends one request, returns the whole reply line ("ok ..." or
        "err ...")."""
        if isinstance(line, str):
            line = line.encode()
        self.send_raw(line + b"\n")
        return self.read_reply()

    def request(self, line):
        """Sends one request; returns what follows "ok" or raises
        ChaosError with the message of "err"."""
        reply = self.request_line(line)
        if reply == "ok" or reply.startswith("ok "):
            return reply[3:]
        if reply.startswith("err "):
            raise ChaosError(reply[4:])
        raise AssertionError("chaosproxy: malformed reply %r" % reply)

    def add(self, name, type, stream="downstream", toxicity=None, **attrs):
        """Adds a toxic; attrs are its keys (latency=200, rate=100, ...)."""
        words = ["add", name, type, stream]
        if toxicity is not None:
            words.append("toxicity=%s" % toxicity)
        words += ["%s=%s" % kv for kv in attrs.items()]
        return self.request(" ".join(words))

    def remove(self, name):
        return self.request("remove " + name)

    @contextlib.contextmanager
    def toxic(self, name, type, stream="downstream", toxicity=None, **attrs):
        """The toxic for the duration of a with block."""
        self.add(name, type, stream, toxicity, **attrs)
        try:
            yield self
        finally:
            if self._ctl is not None:
                self.remove(name)

    def list(self):
        return parse_list(self.request("list"))

    def down(self):
        return self.request("down")

    def up(self, retry_for=5.0):
        """Listens again.  Re-binding the port can fail for a moment if the
        kernel lent it to an outgoing connection meanwhile: retried."""
        end = time.monotonic() + retry_for
        while True:
            try:
                return self.request("up")
            except ChaosError:
                if time.monotonic() >= end:
                    raise
                time.sleep(0.05)

    def reset(self):
        return self.request("reset")

    def stats(self):
        return parse_stats(self.request("stats"))

    def wait_stats(self, pred, timeout=5.0, what="stats"):
        """Polls stats until pred(stats) holds; returns them."""
        end = time.monotonic() + timeout
        while True:
            st = self.stats()
            if pred(st):
                return st
            if time.monotonic() >= end:
                raise AssertionError("chaosproxy: timed out waiting for %s; last %r"
                                     % (what, st))
            time.sleep(0.02)
