#!/usr/bin/python3
"""governd on a Unix socket (--listen unix:PATH): python3-grpcio and vcli
call it there; the socket file's mode, its removal at shutdown, a stale one
replaced, and the paths governd must not take (a file that is not a socket,
another governd's socket, a missing directory, malformed addresses); and a
TCP address with TLS beside the socket (--listen HOST:PORT,unix:PATH);
local users known by the socket (--peer-role USER=ROLE)."""

import json
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    GOVERND, SLOW, VCLI, Gov, Governd, GoverndCase, certs, health_check, proposal,
    rpc_code, run_main, run_tool, wait_for)

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE = 0, 2, 3


def sockdir():
    # Short: a socket path holds at most 107 bytes.
    return tempfile.mkdtemp(prefix="vu-", dir="/tmp")


def vcli_env(home):
    env = {"HOME": home, "XDG_CONFIG_HOME": home, "XDG_STATE_HOME": home}
    for k in ("VCLI_GOVERNANCE_ENDPOINT", "VCLI_TIMEOUT", "VCLI_OUTPUT",
              "VCLI_OPERATOR", "VCLI_CONFIG"):
        env[k] = ""
    return env


def run_governd(args, timeout=15):
    """governd without the wrapper that must exit by itself: (rc, output)."""
    state = tempfile.mkdtemp(prefix="vcli-itest-state-")
    env = dict(os.environ, XDG_STATE_HOME=state)
    p = subprocess.run([GOVERND, "--metrics-listen", "127.0.0.1:0"] + args,
                       stdin=subprocess.DEVNULL, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout


class UnixSocketServing(GoverndCase):
    """One governd on a Unix socket, called by grpcio and by vcli."""

    NAME = "governd-unix"

    @classmethod
    def setUpClass(cls):
        cls.dir = sockdir()
        cls.path = os.path.join(cls.dir, "g.sock")
        cls.GOVERND_KWARGS = {"db": True, "listen": "unix:" + cls.path}
        super().setUpClass()
        cls.home = tempfile.mkdtemp(prefix="vcli-itest-unix-")

    def vcli(self, *args, server=None, timeout=60):
        return run_tool([VCLI, "--server", server or self.gd.addr] + list(args),
                        timeout=timeout * SLOW, env=vcli_env(self.home))

    def test_listening_record(self):
        self.assertEqual(self.gd.addr, "unix:" + self.path)
        self.assertIsNone(self.gd.port)

    def test_socket_file_mode(self):
        """Owner and group only: the file's mode is the access control."""
        st = os.lstat(self.path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)

    def test_grpcio_peer(self):
        """An independent gRPC implementation over the socket: a session,
        a submission, an approval and the stored outcome; governd names the
        peer by its process (SO_PEERCRED)."""
        ch = grpc.insecure_channel("unix:" + self.path)
        try:
            self.assertTrue(health_check(ch, timeout=10).healthy)
            gov = Gov(ch)
            sid = gov.session("unix-op")
            did = gov.submit(key="unix-1").decision.decision_id
            gov.approve(sid, did, comment="over the socket")
            self.assertEqual(gov.get(did).status, "APPROVED")
        finally:
            ch.close()
        peer = "unix:pid=%d,uid=%d" % (os.getpid(), os.getuid())
        wait_for(lambda: self.gd.calls(
            method="/vertice.governance.v1.GovernanceService/ApproveDecision", peer=peer),
            5 * SLOW,
                 what="a call record with the peer %s" % peer)

    def test_vcli_commands(self):
        """vcli's commands, both spellings of the address, and the
        environment variable."""
        res = self.vcli("health", "-o", "json")
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        res = self.vcli("health", server="unix://" + self.path)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        f = os.path.join(self.home, "d.json")
        with open(f, "w") as fh:
            json.dump({"operationType": "block_ip", "priority": "HIGH", "slaSeconds": 600,
                       "idempotencyKey": "unix-vcli-1"}, fh)
        res = self.vcli("--operator", "unix-vcli", "gov", "submit", "-f", f)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        did = res.stdout.strip()
        res = self.vcli("--operator", "unix-vcli", "gov", "approve", did, "--comment", "ok")
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        env = vcli_env(self.home)
        env["VCLI_GOVERNANCE_ENDPOINT"] = self.gd.addr
        res = run_tool([VCLI, "gov", "get", did, "-o", "json"], env=env, timeout=30 * SLOW)
        self.assertEqual(res.returncode, EXIT_OK, res.stderr)
        self.assertEqual(json.loads(res.stdout)["status"], "APPROVED")

    def test_bench_approvals(self):
        """The approvals suite on ten connections over the socket: every
        approval answered and counted."""
        res = self.vcli("bench", "--suite", "approvals", "--approvals", "2000", "-c", "10",
                        "-o", "json", timeout=120)
        self.assertIn(res.returncode, (EXIT_OK, 12), res.stderr)
        d = json.loads(res.stdout)
        self.assertEqual(d["result"]["ok"], 2000)
        self.assertEqual(d["governd_approved_delta"], 2000)
        self.assertEqual(d["result"]["connections"], 10)

    def test_connections_spread_over_workers(self):
        """Accepted on one worker, handed out in turn: with two workers,
        20 connections at once all work (each holds a call open)."""
        chans = [grpc.insecure_channel("unix:" + self.path) for _ in range(20)]
        try:
            for ch in chans:
                self.assertTrue(health_check(ch, timeout=10).healthy)
        finally:
            for ch in chans:
                ch.close()
        self.assertAlive()

    def test_vcli_bad_addresses(self):
        for addr, want in (("unix:", "no socket path"),
                           ("unix://rel/g.sock", "absolute path"),
                           ("unix-abstract:g", "abstract"),
                           ("unix:/" + "a" * 120, "too long")):
            res = self.vcli("health", server=addr)
            self.assertEqual(res.returncode, EXIT_USAGE, (addr, res.stderr))
            self.assertIn(want, res.stderr)
            self.assertIn(addr[:40], res.stderr)
        res = self.vcli("health", server="unix:" + os.path.join(self.dir, "none.sock"),
                        timeout=60)
        self.assertEqual(res.returncode, EXIT_UNREACHABLE, res.stderr)
        self.assertIn("none.sock", res.stderr)


class UnixSocketLifecycle(unittest.TestCase):

    def assertServes(self, gd):
        ch = gd.channel()
        try:
            self.assertTrue(health_check(ch, timeout=10).healthy)
        finally:
            ch.close()

    def test_removed_at_shutdown_and_stale_replaced(self):
        d = sockdir()
        path = os.path.join(d, "g.sock")
        gd = Governd(listen="unix:" + path, db=True, name="governd-unix-life")
        try:
            gd.start()
            self.assertTrue(os.path.exists(path))
            gd.stop()
            self.assertFalse(os.path.exists(path), "the socket outlived governd")
            # kill -9 leaves the file: the next start replaces it.
            gd.restart()
            gd.kill9()
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
            gd.restart()
            self.assertTrue(any(r.get("msg", "").startswith("removed a stale socket")
                                for r in gd.records()), gd.log_tail())
            self.assertServes(gd)
        finally:
            if gd.running():
                gd.stop()
            gd.cleanup()

    def test_another_governd_keeps_its_socket(self):
        """A second governd on the same path is refused, and leaves the
        first one's socket alone."""
        d = sockdir()
        path = os.path.join(d, "g.sock")
        gd = Governd(listen="unix:" + path, db=True, name="governd-unix-first")
        try:
            gd.start()
            rc, out = run_governd(["--db", os.path.join(d, "other.db"), "--listen",
                                   "unix:" + path])
            self.assertEqual(rc, 1, out)
            self.assertIn("a server is accepting on it", out)
            self.assertIn(path, out)
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
            self.assertServes(gd)
        finally:
            gd.stop()
            gd.cleanup()

    def test_paths_not_taken(self):
        d = sockdir()
        plain = os.path.join(d, "plain")
        with open(plain, "w") as f:
            f.write("keep me\n")
        rc, out = run_governd(["--db", os.path.join(d, "a.db"), "--listen", "unix:" + plain])
        self.assertEqual(rc, 1, out)
        self.assertIn("it exists and is not a socket", out)
        with open(plain) as f:
            self.assertEqual(f.read(), "keep me\n")
        missing = os.path.join(d, "no", "such", "dir", "g.sock")
        rc, out = run_governd(["--db", os.path.join(d, "b.db"), "--listen", "unix:" + missing])
        self.assertEqual(rc, 1, out)
        self.assertIn(missing, out)
        self.assertIn("No such file or directory", out)

    def test_bad_listen_addresses(self):
        """Refused before any store is opened, and by --check-config."""
        d = sockdir()
        for addr, want in (("unix:", "no socket path"),
                           ("unix://rel/g.sock", "absolute path"),
                           ("unix-abstract:g", "abstract"),
                           ("unix:/" + "a" * 120, "too long"),
                           ("nowhere", "want HOST:PORT or unix:PATH")):
            db = os.path.join(d, "never.db")
            for extra in ([], ["--check-config"]):
                rc, out = run_governd(["--db", db, "--listen", addr] + extra)
                self.assertEqual(rc, EXIT_USAGE, (addr, extra, out))
                self.assertIn(want, out)
                self.assertIn(addr, out)
                self.assertFalse(os.path.exists(db))

    def test_out_of_descriptors(self):
        """With its descriptors used up, governd leaves new connections in
        the backlog (one warning, not one per retry) and takes them again
        as soon as some are free."""
        d = sockdir()
        path = os.path.join(d, "g.sock")
        gd = Governd(listen="unix:" + path, db=True, name="governd-unix-emfile",
                     use_wrapper=False)
        gd.wrapper = ["prlimit", "--nofile=48"]
        held = []
        try:
            gd.start()
            for _ in range(100):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                held.append(s)
            wait_for(lambda: any(r.get("msg", "").startswith("cannot accept connections")
                                 for r in gd.records()), 10 * SLOW,
                     what="governd's warning that it cannot accept")
            for s in held:
                s.close()
            held = []
            self.assertServes(gd)
            warnings = [r for r in gd.records()
                        if r.get("msg", "").startswith("cannot accept connections")]
            self.assertEqual(len(warnings), 1, gd.log_tail())
            self.assertIn("Too many open files", warnings[0].get("error", ""))
            gd.stop()
        finally:
            for s in held:
                s.close()
            gd.cleanup()

    def test_sigterm_with_connections_open(self):
        """Shutdown with clients connected over the socket: a clean exit,
        the file removed."""
        d = sockdir()
        path = os.path.join(d, "g.sock")
        with Governd(listen="unix:" + path, db=True, name="governd-unix-term") as gd:
            chans = [grpc.insecure_channel("unix:" + path) for _ in range(4)]
            for ch in chans:
                self.assertTrue(health_check(ch, timeout=10).healthy)
            gd.stop(sig=signal.SIGTERM)
            for ch in chans:
                ch.close()
            self.assertFalse(os.path.exists(path))


class TcpAndUnixSocket(unittest.TestCase):
    """--listen HOST:PORT,unix:PATH: TLS and bearer tokens on TCP; the
    socket in clear, with the same tokens."""

    def test_both_listeners(self):
        d = sockdir()
        path = os.path.join(d, "g.sock")
        db = os.path.join(d, "g.db")
        r = run_tool([GOVERND, "token", "create", "--name", "bot", "--role", "producer",
                      "--db", db])
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        with Governd(["--tls-cert", certs().path("server.pem"), "--tls-key",
                      certs().path("server.key"), "--auth"],
                     listen="127.0.0.1:0,unix:" + path, db=db, name="governd-tcp-unix") as gd:
            lines = [r for r in gd.records() if r.get("msg") == "governd listening"]
            self.assertEqual(len(lines), 2, gd.log_tail())
            self.assertRegex(lines[0]["addr"], r"^127\.0\.0\.1:\d+$")
            self.assertEqual(lines[0]["tls"], "true")
            self.assertEqual(lines[1]["addr"], "unix:" + path)
            self.assertEqual(lines[1]["tls"], "false")
            self.assertEqual(lines[1]["auth"], "token")
            auth = (("authorization", "Bearer " + token),)

            def submit(gov, **kw):
                req = gov.request("SubmitDecision", decision=proposal())
                return gov.stub("SubmitDecision")(req, timeout=10 * SLOW, **kw)

            # TCP: TLS, the token
            ch = grpc.secure_channel(lines[0]["addr"], certs().client_creds())
            try:
                self.assertEqual(submit(Gov(ch), metadata=auth).decision.status, "PENDING")
            finally:
                ch.close()
            # the socket: clear text, the same token; none: refused
            ch = grpc.insecure_channel("unix:" + path)
            try:
                self.assertTrue(health_check(ch, timeout=10).healthy)
                gov = Gov(ch)
                self.assertEqual(submit(gov, metadata=auth).decision.status, "PENDING")
                self.assertEqual(rpc_code(submit, gov), grpc.StatusCode.UNAUTHENTICATED)
            finally:
                ch.close()
            env = vcli_env(d)
            env["VCLI_TOKEN"] = token
            res = run_tool([VCLI, "--server", "unix:" + path, "gov", "list"], env=env,
                           timeout=30 * SLOW)
            self.assertEqual(res.returncode, EXIT_OK, res.stderr)
            gd.stop()
            self.assertFalse(os.path.exists(path))

    def test_listen_lists_refused(self):
        d = sockdir()
        db = os.path.join(d, "never.db")
        tls = ["--tls-cert", certs().path("server.pem"), "--tls-key",
               certs().path("server.key")]
        for args, want in (
                (["--listen", "127.0.0.1:0,127.0.0.1:1"], "one HOST:PORT at most"),
                (["--listen", "unix:%s/a,unix:%s/b" % (d, d)], "one Unix socket at most"),
                (["--listen", "127.0.0.1:0,"], "one of each separated by a comma"),
                (["--listen", "unix:%s/a" % d] + tls, "apply to a TCP address"),
                (["--listen", "0.0.0.0:0,unix:%s/a" % d], "refusing to serve '0.0.0.0:0'")):
            rc, out = run_governd(["--db", db] + args)
            self.assertEqual(rc, EXIT_USAGE, (args, out))
            self.assertIn(want, out)
            self.assertFalse(os.path.exists(db))


class UnixSocketPeerRoles(unittest.TestCase):
    """--peer-role USER=ROLE: a local user is a credential on the socket
    (SO_PEERCRED), a token still wins, TCP then needs credentials too."""

    def serving(self, d, roles, listen=None, db=None):
        """governd with these --peer-role values (`with` starts it)."""
        args = []
        for r in roles:
            args += ["--peer-role", r]
        return Governd(args, listen=listen or "unix:" + os.path.join(d, "g.sock"),
                       db=db or os.path.join(d, "g.db"), name="governd-peer-role")

    def session_open(self, gd, d):
        """vcli session open over the socket, no operator, no token."""
        return run_tool([VCLI, "--server", gd.addr, "session", "open"],
                        env=vcli_env(d), timeout=30 * SLOW)

    def test_local_user_is_an_operator(self):
        d = sockdir()
        path, db = os.path.join(d, "g.sock"), os.path.join(d, "g.db")
        me = pwd.getpwuid(os.geteuid()).pw_name
        r = run_tool([GOVERND, "token", "create", "--name", "bot", "--role", "producer",
                      "--db", db])
        self.assertEqual(r.returncode, 0, r.stderr)
        auth = (("authorization", "Bearer " + r.stdout.strip()),)
        with self.serving(d, [me + "=operator"], listen="127.0.0.1:0,unix:" + path,
                          db=db) as gd:
            lines = [x for x in gd.records() if x.get("msg") == "governd listening"]
            self.assertEqual([x["auth"] for x in lines], ["token", "token+peer"])
            ch = grpc.insecure_channel("unix:" + path)
            try:
                gov = Gov(ch)
                # the token wins: a producer's submission over the socket
                sub = gov.stub("SubmitDecision")
                req = gov.request("SubmitDecision", decision=proposal())
                did = sub(req, timeout=10 * SLOW, metadata=auth).decision.decision_id
                self.assertEqual(gov.get(did).submitted_by, "bot")
                # no token: the socket's user, an operator
                resp = gov.call("CreateSession", operator_id="")
                self.assertEqual(resp.operator_id, me)
                out = gov.approve(resp.session_id, did, comment="as the local user")
                self.assertEqual(out.decision.history.reviewed_by, me)
                code, msg = gov.code("SubmitDecision", decision=proposal())
                self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
                self.assertIn("'%s' is operator" % me, msg)
                code, msg = gov.code("CreateSession", operator_id="someone-else")
                self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
                self.assertIn("own-identity", msg)
                entries = gov.call("ListAudit", subject=did,
                                   action="decision.approve").entries
                self.assertEqual([(e.actor, e.role, e.outcome) for e in entries],
                                 [(me, "operator", "OK")])
                did = sub(req, timeout=10 * SLOW, metadata=auth).decision.decision_id
            finally:
                ch.close()
            # TCP has no peer: a credential is needed there
            ch = grpc.insecure_channel(lines[0]["addr"])
            try:
                code, msg = Gov(ch).code("ListPendingDecisions", limit=1)
                self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
            finally:
                ch.close()
            # vcli over the socket: no operator, no token
            env = vcli_env(d)
            res = run_tool([VCLI, "--server", "unix:" + path, "-o", "json", "session",
                            "open"], env=env, timeout=30 * SLOW)
            self.assertEqual(res.returncode, EXIT_OK, res.stderr)
            self.assertEqual(json.loads(res.stdout)["operator"], me)
            res = run_tool([VCLI, "--server", "unix:" + path, "gov", "approve", did,
                            "--comment", "from vcli"], env=env, timeout=30 * SLOW)
            self.assertEqual(res.returncode, EXIT_OK, res.stderr)

    def test_unmapped_user_needs_a_token(self):
        d = sockdir()
        other = 4242 if os.geteuid() != 4242 else 4243
        with self.serving(d, ["%d=operator" % other]) as gd:
            ch = grpc.insecure_channel(gd.addr)
            try:
                code, msg = Gov(ch).code("ListPendingDecisions", limit=1)
            finally:
                ch.close()
            self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
            self.assertIn("user id %d on this socket has no role" % os.geteuid(), msg)
            res = self.session_open(gd, d)
            self.assertNotEqual(res.returncode, EXIT_OK)
            self.assertIn("--peer-role", res.stderr)

    def test_vcli_without_peer_roles(self):
        """No --peer-role: vcli on the socket asks for an operator."""
        d = sockdir()
        with self.serving(d, []) as gd:
            res = self.session_open(gd, d)
            self.assertEqual(res.returncode, EXIT_USAGE, res.stderr)
            self.assertIn("use --operator NAME", res.stderr)

    def test_peer_roles_refused(self):
        d = sockdir()
        db = os.path.join(d, "never.db")
        sock = "unix:%s/g.sock" % d
        me = pwd.getpwuid(os.geteuid()).pw_name
        for listen, roles, want in (
                ("127.0.0.1:0", [me + "=operator"], "needs a Unix socket"),
                (sock, ["no-such-user-here=operator"], "no local user 'no-such-user-here'"),
                (sock, [me + "=boss"], "invalid value '%s=boss'" % me),
                (sock, ["=operator"], "invalid value '=operator'"),
                (sock, ["99999999999=admin"], "invalid user id '99999999999'"),
                (sock, [me + "=operator", "%d=admin" % os.geteuid()],
                 "user id %d ('%s') a role twice" % (os.geteuid(), me))):
            args = ["--db", db, "--listen", listen]
            for r in roles:
                args += ["--peer-role", r]
            rc, out = run_governd(args)
            self.assertEqual(rc, EXIT_USAGE, (args, out))
            self.assertIn(want, out)
            self.assertFalse(os.path.exists(db))
            rc, out = run_governd(args + ["--check-config"])
            self.assertEqual(rc, EXIT_USAGE, (args, out))


if __name__ == "__main__":
    run_main()
