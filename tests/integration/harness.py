"""Shared helpers for the integration tests.

Environment (set by tests/integration/CMakeLists.txt):
  GOVERND   path of the governd binary
  VCLI      path of the vcli binary
  RPCPROBE  path of the rpcprobe test tool
  PYSTUBS   directory with the protoc-generated *_pb2.py modules
  VCLI_TEST_WRAPPER  optional command prefix for governd (valgrind ...)
  ITEST_LOGDIR       optional directory where governd logs are kept

Only 127.0.0.1, ports picked by the kernel, temporary directories and
bounded waits are used, so tests can run in parallel with each other.
"""

import atexit
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

PYSTUBS = os.environ.get("PYSTUBS")
if PYSTUBS:
    sys.path.insert(0, PYSTUBS)

import grpc  # noqa: E402

import governance_pb2  # noqa: E402
import health_pb2  # noqa: E402

GOVERND = os.environ.get("GOVERND", "")
VCLI = os.environ.get("VCLI", "")
RPCPROBE = os.environ.get("RPCPROBE", "")
WRAPPER = shlex.split(os.environ.get("VCLI_TEST_WRAPPER", ""))
UNDER_VALGRIND = any("valgrind" in os.path.basename(w) for w in WRAPPER)


def _binary_has_asan(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


UNDER_ASAN = _binary_has_asan(GOVERND)

# Multiplier for waits that depend on how fast governd runs.
if UNDER_VALGRIND:
    SLOW = 10.0
elif UNDER_ASAN:
    SLOW = 3.0
else:
    SLOW = 1.0
SLOW *= float(os.environ.get("ITEST_TIME_FACTOR", "1"))

GOV = "/vertice.governance.v1.GovernanceService/"
HEALTHCHECK = GOV + "HealthCheck"
H_CHECK = "/grpc.health.v1.Health/Check"
H_WATCH = "/grpc.health.v1.Health/Watch"

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

_LOGDIR = os.environ.get("ITEST_LOGDIR")
_started = []


def _prune_logs(days=1):
    """Keeps ITEST_LOGDIR from growing run after run."""
    if not _LOGDIR or not os.path.isdir(_LOGDIR):
        return
    cutoff = time.time() - days * 86400
    for name in os.listdir(_LOGDIR):
        p = os.path.join(_LOGDIR, name)
        try:
            if name.endswith(".log") and os.path.getmtime(p) < cutoff:
                os.remove(p)
        except OSError:
            pass


_prune_logs()


@atexit.register
def _kill_leftovers():
    for p in _started:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


def uniq(prefix="t"):
    """A fresh name (operation type, operator, directory), so that tests
    sharing one governd never see each other's data."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:16])


def wait_for(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it returns a true value; returns that value, or
    raises AssertionError after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- logs

_LOGFMT_RE = re.compile(r'([A-Za-z0-9_.\-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line):
    out = {}
    for k, v in _LOGFMT_RE.findall(line):
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out[k] = v
    return out


def parse_log_line(line):
    line = line.strip()
    if not line:
        return None
    if line.startswith("{"):
        try:
            d = json.loads(line)
            return {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in d.items()}
        except ValueError:
            return None
    if "msg=" not in line:
        return None  # valgrind chatter etc.
    return parse_logfmt(line)


# ---------------------------------------------------------------- certs

_certs = None
_certs_lock = threading.Lock()


def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stdout.decode(errors="replace")))


def _make_ca(d, name):
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "3",
              "-subj", "/CN=vcli itest " + name,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)


def _make_leaf(d, name, ca, ext, cn):
    extfile = os.path.join(d, name + ".ext")
    with open(extfile, "w") as f:
        f.write(ext)
    _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn], d)
    _openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
              "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "3",
              "-out", name + ".pem", "-extfile", extfile], d)


class Certs:
    """Test PKI: ca, server (SAN IP:127.0.0.1, DNS:localhost), client (by ca),
    other_ca and other_client (by other_ca)."""

    def __init__(self, d):
        self.dir = d
        _make_ca(d, "ca")
        _make_ca(d, "other_ca")
        _make_leaf(d, "server", "ca",
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
                   "localhost")
        _make_leaf(d, "client", "ca",
                   "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n", "itest-client")
        _make_leaf(d, "other_client", "other_ca",
                   "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n", "itest-other-client")

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def client_creds(self, ca="ca.pem", cert=None, key=None):
        return grpc.ssl_channel_credentials(
            root_certificates=self.read(ca),
            private_key=self.read(key) if key else None,
            certificate_chain=self.read(cert) if cert else None)

    def server_creds(self, client_ca=None):
        return grpc.ssl_server_credentials(
            [(self.read("server.key"), self.read("server.pem"))],
            root_certificates=self.read(client_ca) if client_ca else None,
            require_client_auth=bool(client_ca))


def certs():
    global _certs
    with _certs_lock:
        if _certs is None:
            d = tempfile.mkdtemp(prefix="vcli-itest-pki-")
            atexit.register(shutil.rmtree, d, True)
            _certs = Certs(d)
        return _certs


# ---------------------------------------------------------------- grpc helpers

BASE_OPTIONS = [
    ("grpc.enable_http_proxy", 0),
    # A channel of its own, never a subchannel shared with other channels:
    # tests that count connections depend on it.
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.enable_retries", 0),
]


def make_channel(addr, creds=None, options=()):
    opts = list(BASE_OPTIONS) + list(options)
    if creds is not None:
        return grpc.secure_channel(addr, creds, options=opts)
    return grpc.insecure_channel(addr, options=opts)


def unary_raw(ch, method):
    return ch.unary_unary(method)


def health_check(ch, timeout=5.0, **kw):
    f = ch.unary_unary(HEALTHCHECK,
                       request_serializer=governance_pb2.HealthCheckRequest.SerializeToString,
                       response_deserializer=governance_pb2.HealthCheckResponse.FromString)
    return f(governance_pb2.HealthCheckRequest(), timeout=timeout * SLOW, **kw)


def health_check_call(ch, timeout=5.0, **kw):
    """Like health_check but returns (response, call) for metadata access."""
    f = ch.unary_unary(HEALTHCHECK,
                       request_serializer=governance_pb2.HealthCheckRequest.SerializeToString,
                       response_deserializer=governance_pb2.HealthCheckResponse.FromString)
    return f.with_call(governance_pb2.HealthCheckRequest(), timeout=timeout * SLOW, **kw)


def std_check(ch, service="", timeout=5.0, **kw):
    f = ch.unary_unary(H_CHECK,
                       request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                       response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return f(health_pb2.HealthCheckRequest(service=service), timeout=timeout * SLOW, **kw)


def std_watch(ch, service="", timeout=None, **kw):
    """Health/Watch; a deadline always (30 s by default) so that a broken
    server fails a test instead of hanging it."""
    if timeout is None:
        timeout = 30 * SLOW
    f = ch.unary_stream(H_WATCH,
                        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return f(health_pb2.HealthCheckRequest(service=service), timeout=timeout, **kw)


def rpc_code(fn, *a, **kw):
    """Runs a call and returns its grpc.StatusCode (OK when it returned)."""
    try:
        fn(*a, **kw)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- governd

def governd_env(**extra):
    """The environment a test's governd runs in: no GOVERND_* variable of
    the caller's, and GOVERND_CONFIG=/dev/null (an empty configuration), so
    that neither ~/.config/governd nor /etc/governd changes what a test
    sees.  Keyword arguments are added (GOVERND_HEARTBEAT="2s")."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("GOVERND_")}
    e["GOVERND_CONFIG"] = os.devnull
    e.update(extra)
    return e


class Governd:
    """One governd process with its log.

    g = Governd(["--threads", "1"]); g.start(); ...; g.stop()
    """

    def __init__(self, args=(), name="governd", log_level="debug", use_wrapper=True,
                 tls=False, db=None, demo=False, listen="127.0.0.1:0"):
        """db: None (no --db; governd's state directory is pointed at a
        temporary directory so that the user's is never touched), True (a
        fresh governd.db in a temporary directory) or a path.  demo: add
        --demo.  listen: the --listen address (restart() reuses the port)."""
        if not GOVERND or not os.path.exists(GOVERND):
            raise AssertionError("GOVERND binary missing: %r" % GOVERND)
        self.args = list(args)
        self.name = name
        self.log_level = log_level
        self.wrapper = WRAPPER if use_wrapper else []
        self.tls = tls
        self.proc = None
        self.addr = None
        self.port = None
        self.returncode = None
        self.listen = listen
        self.demo = demo
        self.generation = 0
        self.state_dir = tempfile.mkdtemp(prefix="vcli-itest-state-")
        if db is True:
            db = os.path.join(self.state_dir, "governd.db")
        self.db = db
        if _LOGDIR:
            os.makedirs(_LOGDIR, exist_ok=True)
            self._tmp = None
            base = "%s-%d-%d.log" % (name, os.getpid(), int(time.time() * 1000) % 10000000)
            self.logpath = os.path.join(_LOGDIR, base)
        else:
            self._tmp = tempfile.mkdtemp(prefix="vcli-itest-log-")
            self.logpath = os.path.join(self._tmp, name + ".log")

    # -- lifecycle

    def command(self):
        extra = []
        if self.db:
            extra += ["--db", self.db]
        if self.demo:
            extra += ["--demo"]
        # The metrics listener on a free port (its default, 9464, is one
        # per host); self.metrics_addr has it once started.
        if not any(a.startswith("--metrics-listen") for a in self.args):
            extra += ["--metrics-listen", "127.0.0.1:0"]
        return self.wrapper + [GOVERND] + self.args + extra + [
            "--listen", self.listen, "--log-level", self.log_level]

    def environment(self):
        e = governd_env()
        e["XDG_STATE_HOME"] = self.state_dir
        return e

    def start(self, timeout=None):
        if timeout is None:
            timeout = 60.0 if self.wrapper else 15.0 * SLOW
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT,
                                     env=self.environment())
        _started.append(self.proc)
        end = time.monotonic() + timeout
        self.metrics_addr = None
        while time.monotonic() < end:
            for rec in self.records():
                if rec.get("msg") == "metrics listening":
                    self.metrics_addr = rec.get("addr")
                if rec.get("msg") == "governd listening":
                    addr = rec.get("addr", "")
                    self.addr = addr
                    # a Unix socket ("unix:PATH") has no port
                    self.port = None if addr.startswith("unix:") else \
                        int(addr.rpartition(":")[2])
                    self.listen_record = rec
                    return self
            if self.proc.poll() is not None:
                raise AssertionError("governd exited with %s before listening\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            time.sleep(0.02)
        self.kill()
        raise AssertionError("governd did not log 'governd listening' within %.0fs\n%s"
                             % (timeout, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=None, expect_code=0):
        """Signals governd, waits, checks the exit status (and valgrind's
        verdict).  Returns the exit code."""
        if self.proc is None:
            return None
        if timeout is None:
            timeout = 60.0 if self.wrapper else 15.0 * SLOW
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait(10)
            self._close()
            raise AssertionError("governd did not exit within %.0fs of %s\n%s"
                                 % (timeout, signal.Signals(sig).name, self.log_tail()))
        self._close()
        self.check_clean_exit(expect_code)
        return rc

    def check_clean_exit(self, expect_code=0):
        rc = self.proc.returncode
        self.returncode = rc
        text = self.log()
        problems = []
        if expect_code is not None and rc != expect_code:
            problems.append("exit status %s, expected %s" % (rc, expect_code))
        if self.wrapper and UNDER_VALGRIND:
            if re.search(r"definitely lost: [1-9]", text):
                problems.append("valgrind: definitely lost")
            if re.search(r"ERROR SUMMARY: [1-9]", text):
                problems.append("valgrind: errors")
        if re.search(r"(AddressSanitizer|LeakSanitizer|runtime error:)", text):
            problems.append("sanitizer report in log")
        if problems:
            raise AssertionError("governd: %s\n%s" % ("; ".join(problems), self.log_tail(300)))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def kill9(self):
        """SIGKILL (no chance to flush or clean up); waits for the process
        and checks that the log holds no sanitizer report from before."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        rc = self.wait_exit(30)
        self._close()
        if re.search(r"(AddressSanitizer|LeakSanitizer|runtime error:)", self.log()):
            raise AssertionError("governd: sanitizer report in log\n%s" % self.log_tail(300))
        return rc

    def restart(self, timeout=None, args=None):
        """Starts governd again after it stopped (stop() or kill9()), on the
        same database and the same port, with a fresh log file.  Retries
        for a while when the port is still taken."""
        if self.running():
            raise AssertionError("restart() while governd still runs")
        if args is not None:
            self.args = list(args)
        if self.port:  # the TCP address on its port; a Unix socket as it was
            self.listen = ",".join(a if a.startswith("unix:") else "127.0.0.1:%d" % self.port
                                   for a in self.listen.split(","))
        self.generation += 1
        root, ext = os.path.splitext(self.logpath)
        root = re.sub(r"\.r\d+$", "", root)
        self.logpath = "%s.r%d%s" % (root, self.generation, ext)
        self._recs, self._off = [], 0
        end = time.monotonic() + 10 * SLOW
        while True:
            try:
                return self.start(timeout)
            except AssertionError:
                if time.monotonic() >= end or "in use" not in self.log():
                    raise
                time.sleep(0.2)

    def _close(self):
        try:
            self._logf.close()
        except Exception:
            pass

    # `with Governd(...) as gd:` starts it, and kills (if still running)
    # and cleans up at the end, whatever happened.
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def cleanup(self):
        self.kill()
        if self._tmp:
            shutil.rmtree(self._tmp, True)
        shutil.rmtree(self.state_dir, True)

    # -- logs

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=150):
        lines = self.log().splitlines()
        head = "---- governd log (%s, %d lines%s) ----\n" % (
            self.logpath, len(lines), ", last %d" % n if len(lines) > n else "")
        return head + "\n".join(lines[-n:]) + "\n---- end of governd log ----"

    def records(self):
        """Parsed log lines (incremental: only new complete lines are read)."""
        if not hasattr(self, "_recs"):
            self._recs, self._off = [], 0
        try:
            with open(self.logpath, "rb") as f:
                f.seek(self._off)
                chunk = f.read()
        except OSError:
            return list(self._recs)
        end = chunk.rfind(b"\n")
        if end >= 0:
            self._off += end + 1
            for line in chunk[:end].decode("utf-8", "replace").splitlines():
                r = parse_log_line(line)
                if r is not None:
                    self._recs.append(r)
        return list(self._recs)

    def calls(self, method=None, code=None, peer=None):
        out = []
        for r in self.records():
            if r.get("msg") != "call":
                continue
            if method is not None and r.get("method") != method:
                continue
            if code is not None and r.get("code") != code:
                continue
            if peer is not None and r.get("peer") != peer:
                continue
            out.append(r)
        return out

    def wait_call(self, timeout=5.0, **kw):
        return wait_for(lambda: self.calls(**kw), timeout * SLOW,
                        what="governd call log %r" % (kw,))[-1]

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout * SLOW,
                        what="governd log matching %r" % pattern)

    # -- clients

    def channel(self, creds=None, options=()):
        return make_channel(self.addr, creds, options)


class GoverndCase(unittest.TestCase):
    """A TestCase class sharing one governd for its tests.  Subclasses set
    GOVERND_ARGS (a list, or a function of the Certs returning one)."""

    GOVERND_ARGS = []
    GOVERND_KWARGS = {}   # more Governd() arguments: db=True, demo=True, ...
    TLS = False
    NAME = "governd"

    @classmethod
    def governd_args(cls):
        a = cls.GOVERND_ARGS
        return a() if callable(a) else list(a)

    @classmethod
    def setUpClass(cls):
        cls.gd = Governd(cls.governd_args(), name=cls.NAME, **dict(cls.GOVERND_KWARGS))
        cls.gd.start()

    @classmethod
    def tearDownClass(cls):
        gd = cls.gd
        try:
            if gd.running():
                gd.stop()
        finally:
            gd.cleanup()

    def assertAlive(self):
        """governd still runs and answers a fresh connection."""
        gd = self.gd
        if not gd.running():
            self.fail("governd died (status %s)\n%s" % (gd.proc.poll(), gd.log_tail()))
        ch = gd.channel(**self.channel_kwargs())
        try:
            r = health_check(ch, timeout=10)
            self.assertTrue(r.healthy)
        except grpc.RpcError as e:
            self.fail("HealthCheck on a fresh connection failed: %s %s\n%s"
                      % (e.code(), e.details(), gd.log_tail()))
        finally:
            ch.close()

    def channel_kwargs(self):
        return {}


def run_main():
    """unittest.main with verbose output; exit status non-zero on failure."""
    unittest.main(verbosity=2)


def run_tool(argv, timeout=30, env=None, input=None):
    """Runs a command, returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    if env:
        e.update(env)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy"):
        e.pop(k, None)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=e, input=input, text=True)


# ---------------------------------------------------------------- governance

PRIORITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
OPEN_STATUSES = ("PENDING", "ESCALATED")
RESOLVED_STATUSES = ("APPROVED", "REJECTED", "EXPIRED")

_GOV_TYPES = {
    # method: (request class, response class, streaming)
    "HealthCheck": ("HealthCheckRequest", "HealthCheckResponse", False),
    "CreateSession": ("CreateSessionRequest", "CreateSessionResponse", False),
    "CloseSession": ("CloseSessionRequest", "CloseSessionResponse", False),
    "ListPendingDecisions": ("ListPendingDecisionsRequest", "ListPendingDecisionsResponse", False),
    "GetDecision": ("GetDecisionRequest", "GetDecisionResponse", False),
    "ApproveDecision": ("ApproveDecisionRequest", "ApproveDecisionResponse", False),
    "RejectDecision": ("RejectDecisionRequest", "RejectDecisionResponse", False),
    "EscalateDecision": ("EscalateDecisionRequest", "EscalateDecisionResponse", False),
    "GetMetrics": ("GetMetricsRequest", "GetMetricsResponse", False),
    "GetSessionStats": ("GetSessionStatsRequest", "GetSessionStatsResponse", False),
    "SubmitDecision": ("SubmitDecisionRequest", "SubmitDecisionResponse", False),
    "StreamDecisions": ("StreamDecisionsRequest", "DecisionEvent", True),
    "StreamEvents": ("StreamEventsRequest", "GovernanceEvent", True),
    "RecordExecution": ("RecordExecutionRequest", "RecordExecutionResponse", False),
    "ListAudit": ("ListAuditRequest", "ListAuditResponse", False),
}


def ts_float(ts):
    """google.protobuf.Timestamp -> seconds since the epoch (float)."""
    return ts.seconds + ts.nanos / 1e9


def proposal(**over):
    """A valid Decision proposal for SubmitDecision; keyword arguments
    replace top-level fields (risk_assessment etc. as dicts or messages)."""
    d = governance_pb2.Decision(
        operation_type="block_ip",
        priority="MEDIUM",
        sla_seconds=3600,
        context={"source_ip": "203.0.113.7", "reason": "port scan"},
        risk_assessment=governance_pb2.Risk(
            score=0.72, level="HIGH", factors=["repeated scans", "known bad ASN"],
            details={"asn": "AS64500"}),
        ethical_assessment=governance_pb2.EthicalAssessment(
            principles=[governance_pb2.EthicalPrinciple(
                name="proportionality", violated=False, severity=0.2,
                explanation="a temporary block")],
            concerns=["shared NAT"], confidence=0.8, reasoning="low collateral"),
        recommended_actions=[governance_pb2.Action(
            action_type="firewall_block", description="block for 24h",
            parameters={"duration": "24h"}, confidence=0.9)],
    )
    for k, v in over.items():
        if isinstance(v, dict) and k in ("risk_assessment", "ethical_assessment"):
            d.ClearField(k)
            getattr(d, k).CopyFrom(getattr(governance_pb2, {
                "risk_assessment": "Risk", "ethical_assessment": "EthicalAssessment"}[k])(**v))
        elif k in ("context",):
            d.ClearField(k)
            d.context.update(v)
        elif k in ("recommended_actions",):
            d.ClearField(k)
            d.recommended_actions.extend(v)
        elif v is None:
            d.ClearField(k)
        elif isinstance(v, (int, float, str, bool)):
            setattr(d, k, v)
        else:
            getattr(d, k).CopyFrom(v)
    return d


class Gov:
    """Typed governance calls on one channel.  Every call has a deadline
    (timeout seconds, scaled by SLOW); errors raise grpc.RpcError."""

    def __init__(self, ch, timeout=10.0):
        self.ch = ch
        self.timeout = timeout
        self._stubs = {}

    @classmethod
    def connect(cls, gd, **kw):
        return cls(gd.channel(), **kw)

    def close(self):
        self.ch.close()

    def stub(self, method):
        st = self._stubs.get(method)
        if st is None:
            req, resp, streaming = _GOV_TYPES[method]
            mk = self.ch.unary_stream if streaming else self.ch.unary_unary
            st = mk(GOV + method,
                    request_serializer=getattr(governance_pb2, req).SerializeToString,
                    response_deserializer=getattr(governance_pb2, resp).FromString)
            self._stubs[method] = st
        return st

    def request(self, method, **fields):
        return getattr(governance_pb2, _GOV_TYPES[method][0])(**fields)

    def call(self, method, req=None, timeout=None, **fields):
        if req is None:
            req = self.request(method, **fields)
        return self.stub(method)(req, timeout=(timeout or self.timeout) * SLOW)

    def future(self, method, req=None, timeout=None, **fields):
        if req is None:
            req = self.request(method, **fields)
        return self.stub(method).future(req, timeout=(timeout or self.timeout) * SLOW)

    def code(self, method, req=None, **fields):
        """(status code, details) of a call; (OK, response) when it worked."""
        try:
            return grpc.StatusCode.OK, self.call(method, req, **fields)
        except grpc.RpcError as e:
            return e.code(), e.details() or ""

    def raw(self, method, body, timeout=None):
        """A call with raw request bytes; the response is parsed."""
        resp = getattr(governance_pb2, _GOV_TYPES[method][1])
        f = self.ch.unary_unary(GOV + method, request_serializer=None,
                                response_deserializer=resp.FromString)
        return f(body, timeout=(timeout or self.timeout) * SLOW)

    # -- conveniences
    def submit(self, decision=None, key="", **over):
        if decision is None:
            decision = proposal(**over)
        return self.call("SubmitDecision", decision=decision, idempotency_key=key)

    def session(self, operator):
        return self.call("CreateSession", operator_id=operator).session_id

    def close_session(self, sid):
        return self.call("CloseSession", session_id=sid)

    def get(self, did):
        return self.call("GetDecision", decision_id=did).decision

    def list(self, **fields):
        return self.call("ListPendingDecisions", **fields)

    def list_all(self, limit=500, **fields):
        """Every match, following next_page_token; returns (decisions,
        total_count of the first page, number of pages)."""
        out, token, pages, total = [], "", 0, None
        while True:
            r = self.list(limit=limit, page_token=token, **fields)
            pages += 1
            if total is None:
                total = r.total_count
            out.extend(r.decisions)
            token = r.next_page_token
            if not token:
                return out, total, pages
            if pages > 10000:
                raise AssertionError("paging does not end")

    def approve(self, sid, did, **kw):
        return self.call("ApproveDecision", session_id=sid, decision_id=did, **kw)

    def reject(self, sid, did, **kw):
        return self.call("RejectDecision", session_id=sid, decision_id=did, **kw)

    def escalate(self, sid, did, **kw):
        return self.call("EscalateDecision", session_id=sid, decision_id=did, **kw)

    def record_execution(self, sid, did, action_type, index=0, succeeded=True, detail="",
                         target="", **kw):
        return self.call("RecordExecution", session_id=sid, decision_id=did,
                         execution=governance_pb2.ExecutionRecord(
                             action_type=action_type, action_index=index,
                             succeeded=succeeded, detail=detail, target=target), **kw)

    def metrics(self):
        return self.call("GetMetrics").metrics

    def stats(self, operator):
        return self.call("GetSessionStats", operator_id=operator)

    def stream_decisions(self, resume_after=0, timeout=None, **kw):
        return self.stub("StreamDecisions")(
            governance_pb2.StreamDecisionsRequest(resume_after=resume_after, **kw),
            timeout=timeout if timeout is not None else 120 * SLOW)

    def stream_events(self, timeout=None, **kw):
        return self.stub("StreamEvents")(
            governance_pb2.StreamEventsRequest(**kw),
            timeout=timeout if timeout is not None else 120 * SLOW)


class StreamReader:
    """Reads a grpcio server stream on a thread into .items; .code and
    .details are the final status (OK when the stream ended cleanly)."""

    def __init__(self, call, name="stream"):
        self.call = call
        self.items = []
        self.code = None
        self.details = None
        self.done = threading.Event()
        self._cv = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for m in self.call:
                with self._cv:
                    self.items.append(m)
                    self._cv.notify_all()
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code = e.code()
            self.details = e.details()
        finally:
            with self._cv:
                self.done.set()
                self._cv.notify_all()

    def wait(self, pred, timeout, what="stream items"):
        """Waits until pred(items) is true; returns a copy of the items."""
        end = time.monotonic() + timeout
        with self._cv:
            while not pred(self.items):
                left = end - time.monotonic()
                if left <= 0 or (self.done.is_set() and not pred(self.items)):
                    raise AssertionError(
                        "%s: timed out or ended (code %s %r) waiting for %s; have %d"
                        % (self.thread.name, self.code, self.details, what, len(self.items)))
                self._cv.wait(min(left, 0.2))
            return list(self.items)

    def wait_count(self, n, timeout):
        return self.wait(lambda it: len(it) >= n, timeout, "%d items" % n)

    def snapshot(self):
        with self._cv:
            return list(self.items)

    def wait_end(self, timeout):
        if not self.done.wait(timeout):
            raise AssertionError("%s did not end within %.1fs" % (self.thread.name, timeout))
        return self.code

    def cancel(self):
        self.call.cancel()
        self.done.wait(10)
