#!/usr/bin/python3
"""vcli's basics against a real governd: output formats, endpoint from the
environment, documented exit codes, usage errors and help.

Exit codes: 0 ok, 1 internal error, 2 usage, 3 server unreachable /
UNAVAILABLE, 4 deadline exceeded, 5 other gRPC error, 6 reachable but not
healthy."""

import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    SLOW, VCLI, Governd, GoverndCase, certs, run_main, run_tool)


def vcli(*args, env=None, timeout=30):
    if not os.path.exists(VCLI):
        raise AssertionError("vcli not built: %s" % VCLI)
    e = {"VCLI_GOVERNANCE_ENDPOINT": ""}
    e.update(env or {})
    t0 = time.monotonic()
    r = run_tool([VCLI] + list(args), timeout=timeout * SLOW, env=e)
    r.elapsed = time.monotonic() - t0
    return r


def dead_addr():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return addr


class AgainstGovernd(GoverndCase):
    NAME = "vcli"

    def out(self, r):
        return "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr)

    def test_health_table(self):
        r = vcli("health", "--server", self.gd.addr)
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertIn("SERVING", r.stdout)
        self.assertFalse(r.stdout.lstrip().startswith("{"), "default output must be a table")
        self.assertGreaterEqual(len(r.stdout.strip().splitlines()), 1)

    def test_health_table_explicit(self):
        r = vcli("health", "--server", self.gd.addr, "-o", "table")
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertIn("SERVING", r.stdout)

    def test_health_json(self):
        r = vcli("health", "--server", self.gd.addr, "-o", "json")
        self.assertEqual(r.returncode, 0, self.out(r))
        d = json.loads(r.stdout)
        for k in ("healthy", "status", "uptime_seconds"):
            self.assertIn(k, d)
        self.assertIs(d["healthy"], True)
        self.assertEqual(d["status"], "SERVING")
        self.assertGreaterEqual(int(d["uptime_seconds"]), 0)

    def test_health_standard(self):
        """--standard asks grpc.health.v1 (what a Kubernetes gRPC probe asks)."""
        r = vcli("health", "--standard", "--server", self.gd.addr)
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertRegex(r.stdout, r"STATUS\s+SERVING")
        self.assertEqual(self.gd.wait_call(method="/grpc.health.v1.Health/Check")["code"], "OK")
        svc = "vertice.governance.v1.GovernanceService"
        r = vcli("health", "--standard", "--service", svc, "--server", self.gd.addr,
                 "-o", "json")
        self.assertEqual(r.returncode, 0, self.out(r))
        d = json.loads(r.stdout)
        self.assertEqual((d["service"], d["status"]), (svc, "SERVING"))
        r = vcli("health", "--standard", "--service", "no.such.Service", "--server",
                 self.gd.addr)
        self.assertEqual(r.returncode, 7, self.out(r))
        self.assertIn("unknown service 'no.such.Service' (NOT_FOUND)", r.stderr)
        r = vcli("health", "--service", svc, "--server", self.gd.addr)
        self.assertEqual(r.returncode, 2, self.out(r))
        self.assertIn("'--service' goes with '--standard'", r.stderr)

    def test_global_options_before_command(self):
        r = vcli("--server", self.gd.addr, "-o", "json", "health")
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertEqual(json.loads(r.stdout)["status"], "SERVING")

    def test_endpoint_from_environment(self):
        r = vcli("health", env={"VCLI_GOVERNANCE_ENDPOINT": self.gd.addr})
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertIn("SERVING", r.stdout)
        # --server wins over the environment
        r = vcli("health", "--server", self.gd.addr,
                 env={"VCLI_GOVERNANCE_ENDPOINT": dead_addr()})
        self.assertEqual(r.returncode, 0, self.out(r))

    def test_endpoint_from_environment_unreachable(self):
        addr = dead_addr()
        r = vcli("health", env={"VCLI_GOVERNANCE_ENDPOINT": addr})
        self.assertEqual(r.returncode, 3, self.out(r))
        self.assertIn(addr, r.stderr)

    def test_timeout_ok(self):
        r = vcli("health", "--server", self.gd.addr, "--timeout", "5s")
        self.assertEqual(r.returncode, 0, self.out(r))

    def test_repeated_runs(self):
        for _ in range(10):
            r = vcli("health", "--server", self.gd.addr)
            self.assertEqual(r.returncode, 0, self.out(r))
        self.assertEqual(len(self.gd.calls(method="/vertice.governance.v1.GovernanceService/HealthCheck",
                                           code="OK")) >= 10, True)


class Offline(unittest.TestCase):
    """Cases that need no server."""

    def out(self, r):
        return "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr)

    def test_unreachable_exit_3(self):
        r = vcli("health", "--server", "127.0.0.1:1")
        self.assertEqual(r.returncode, 3, self.out(r))
        self.assertIn("127.0.0.1:1", r.stderr)
        self.assertLess(r.elapsed, 10)

    def test_bad_timeout_values_exit_2(self):
        for v in ("0.001ms", "banana", "-1s", "10", "0s"):
            with self.subTest(value=v):
                r = vcli("health", "--server", "127.0.0.1:1", "--timeout", v)
                self.assertEqual(r.returncode, 2, self.out(r))
                self.assertIn(v, r.stderr)

    def test_bad_output_format_exit_2(self):
        r = vcli("health", "--server", "127.0.0.1:1", "-o", "yaml-ish")
        self.assertEqual(r.returncode, 2, self.out(r))
        self.assertIn("yaml-ish", r.stderr)

    def test_bad_server_address_exit_2(self):
        for v in ("127.0.0.1:notaport", "127.0.0.1:70000"):
            with self.subTest(value=v):
                r = vcli("health", "--server", v)
                self.assertEqual(r.returncode, 2, self.out(r))
                self.assertIn(v, r.stderr)

    def test_help(self):
        r = vcli("--help")
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertIn("health", r.stdout)
        r = vcli("health", "--help")
        self.assertEqual(r.returncode, 0, self.out(r))
        self.assertIn("--server", r.stdout)
        self.assertIn("--timeout", r.stdout)

    def test_unknown_command_exit_2(self):
        r = vcli("frobnicate")
        self.assertEqual(r.returncode, 2, self.out(r))
        self.assertIn("frobnicate", r.stderr)

    def test_unknown_flag_exit_2(self):
        r = vcli("health", "--no-such-flag")
        self.assertEqual(r.returncode, 2, self.out(r))
        self.assertIn("--no-such-flag", r.stderr)

    def test_missing_flag_value_exit_2(self):
        r = vcli("health", "--server")
        self.assertEqual(r.returncode, 2, self.out(r))

    def test_no_command(self):
        r = vcli()
        self.assertEqual(r.returncode, 2, self.out(r))


class AgainstTLSGovernd(GoverndCase):
    NAME = "vcli-mtls"
    GOVERND_ARGS = staticmethod(lambda: ["--tls-cert", certs().path("server.pem"),
                                         "--tls-key", certs().path("server.key"),
                                         "--tls-client-ca", certs().path("ca.pem")])

    def channel_kwargs(self):
        return {"creds": certs().client_creds(cert="client.pem", key="client.key")}

    def test_mtls(self):
        c = certs()
        r = vcli("health", "--server", self.gd.addr, "--tls", "--tls-ca", c.path("ca.pem"),
                 "--tls-cert", c.path("client.pem"), "--tls-key", c.path("client.key"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SERVING", r.stdout)

    def test_mtls_without_cert_exit_3(self):
        r = vcli("health", "--server", self.gd.addr, "--tls", "--tls-ca", certs().path("ca.pem"))
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertAlive()

    def test_missing_ca_file(self):
        r = vcli("health", "--server", self.gd.addr, "--tls", "--tls-ca", "/nonexistent/ca.pem")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("/nonexistent/ca.pem", r.stderr)


if __name__ == "__main__":
    run_main()
