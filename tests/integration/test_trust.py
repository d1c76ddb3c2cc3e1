#!/usr/bin/python3
"""Trust end to end (docs/security.md): bearer tokens and mTLS identities,
the role and review rules, refusals in the audit trail, safe defaults off
loopback, the hash-chained trail and `vcli audit verify` against a database
edited behind governd's back, and vcli's token handling (never shown, never
logged).  Every governd runs on a temporary store; tokens come from
`governd token create` on the same --db, some while governd runs."""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from harness import (  # noqa: E402
    GOVERND, SLOW, VCLI, Gov, Governd, _make_leaf, certs, governance_pb2, health_check,
    proposal, run_main, run_tool, std_check, wait_for)

pb = governance_pb2
SC = grpc.StatusCode
EXIT_DENIED, EXIT_AUDIT = 10, 13
TOKEN_RE = r"vt_[0-9a-f]{64}"


def make_token(db, name, role, identity=None, expires_in=None):
    """governd token create on db: (secret, token id)."""
    argv = [GOVERND, "token", "create", "--name", name, "--role", role, "--db", db]
    if identity:
        argv += ["--identity", identity]
    if expires_in:
        argv += ["--expires-in", expires_in]
    r = run_tool(argv)
    if r.returncode != 0:
        raise AssertionError("governd token create failed: %s" % r.stderr)
    secret = r.stdout.strip()
    if not re.fullmatch(TOKEN_RE, secret):
        raise AssertionError("not a token on stdout: %r" % r.stdout)
    if secret in r.stderr:
        raise AssertionError("the secret is on stderr too")
    return secret, re.search(r"created token (t-[0-9a-f]{32})", r.stderr).group(1)


class AuthGov(Gov):
    """Gov whose calls carry a bearer token (None: no credential)."""

    def __init__(self, ch, token=None, **kw):
        super().__init__(ch, **kw)
        self.token = token

    def metadata(self):
        return [("authorization", "Bearer " + self.token)] if self.token else None

    def call(self, method, req=None, timeout=None, **fields):
        if req is None:
            req = self.request(method, **fields)
        return self.stub(method)(req, timeout=(timeout or self.timeout) * SLOW,
                                 metadata=self.metadata())

    def stream_call(self, method, req, timeout=30):
        st = self.ch.unary_stream(
            "/vertice.governance.v1.GovernanceService/" + method,
            request_serializer=type(req).SerializeToString,
            response_deserializer=pb.AuditEntry.FromString if method == "ExportAudit"
            else pb.DecisionEvent.FromString)
        return st(req, timeout=timeout * SLOW, metadata=self.metadata())

    def admin(self, method, req, resp):
        f = self.ch.unary_unary("/vertice.governance.v1.GovernanceService/" + method,
                                request_serializer=type(req).SerializeToString,
                                response_deserializer=resp.FromString)
        return f(req, timeout=10 * SLOW, metadata=self.metadata())

    def audit(self, **filters):
        """Every entry matching filters, following the pages."""
        out, after = [], 0
        while True:
            r = self.admin("ListAudit", pb.ListAuditRequest(after_sequence=after, limit=1000,
                                                            **filters), pb.ListAuditResponse)
            out.extend(r.entries)
            if not r.next_after_sequence:
                return out
            after = r.next_after_sequence


def chain_hash(prev, e):
    """docs/security.md's hash of an entry (a dict with the export's keys)."""
    fields = [str(e["atMs"]), e["actor"], e["role"], e["action"], e["outcome"], e["subject"],
              e["detail"]]
    text = prev + "\n" + "".join("%d:%s\n" % (len(f.encode()), f) for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()


class AuthServer(unittest.TestCase):
    """One governd --auth per class, with tokens for every role made before
    it starts."""

    ARGS = ["--auth"]

    @classmethod
    def setUpClass(cls):
        cls.gd = Governd(cls.ARGS, name="trust-" + cls.__name__.lower(), db=True)
        db = cls.gd.db
        cls.tok = {}
        for name, role, ident in (("bot", "producer", None), ("alice", "operator", None),
                                  ("bob", "operator", None), ("carol", "operator", None),
                                  ("root", "admin", None),
                                  ("bot-reviews", "operator", "bot")):
            cls.tok[name] = make_token(db, name, role, ident)[0]
        cls.gd.start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.gd.running():
                cls.gd.stop()
        finally:
            cls.gd.cleanup()

    def as_(self, who):
        g = AuthGov(self.gd.channel(), self.tok[who] if who else None)
        self.addCleanup(g.close)
        return g

    def denied(self, fn, *a, rule=None, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.code(), SC.PERMISSION_DENIED, cm.exception.details())
        if rule:
            self.assertTrue(cm.exception.details().startswith(rule + ": "),
                            cm.exception.details())
        return cm.exception.details()

    def refusals(self, **filters):
        return self.as_("root").audit(outcome="DENIED", **filters)


class Rules(AuthServer):

    def test_no_credential_is_unauthenticated_but_health_is_open(self):
        g = self.as_(None)
        for method in ("GetMetrics", "ListPendingDecisions", "SubmitDecision", "CreateSession"):
            code, details = g.code(method)
            self.assertEqual(code, SC.UNAUTHENTICATED, method)
            self.assertIn("needs a credential", details)
        with self.assertRaises(grpc.RpcError) as cm:
            g.audit()
        self.assertEqual(cm.exception.code(), SC.UNAUTHENTICATED)
        g.token = "vt_" + "0" * 64
        code, details = g.code("GetMetrics")
        self.assertEqual((code, details), (SC.UNAUTHENTICATED, "the bearer token is not known"))
        g.token = "not-a-token"
        code, details = g.code("GetMetrics")
        self.assertEqual(code, SC.UNAUTHENTICATED)
        self.assertIn("malformed", details)
        ch = self.gd.channel()
        self.addCleanup(ch.close)
        self.assertTrue(health_check(ch).healthy)
        self.assertEqual(std_check(ch).status, 1)  # SERVING

    def test_every_role_reads(self):
        d = self.as_("bot").submit(operation_type="read_check").decision
        for who in ("bot", "alice", "root"):
            g = self.as_(who)
            self.assertEqual(g.get(d.decision_id).decision_id, d.decision_id)
            g.metrics()
            g.list(limit=1)
        self.denied(self.as_("bot").audit, rule="role")

    def test_producer_cannot_review(self):
        bot = self.as_("bot")
        d = bot.submit().decision
        self.assertEqual(d.submitted_by, "bot")
        msg = self.denied(bot.approve, "s-" + "1" * 32, d.decision_id, rule="role")
        self.assertIn("ApproveDecision needs the operator role; 'bot' is producer", msg)
        self.denied(bot.call, "CreateSession", operator_id="bot", rule="role")
        got = self.refusals(actor="bot", action="decision.approve", subject=d.decision_id)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].role, "producer")
        self.assertEqual(got[0].detail, msg)

    def test_operator_cannot_submit(self):
        msg = self.denied(self.as_("alice").submit, operation_type="not_mine", rule="role")
        self.assertIn("SubmitDecision needs the producer role; 'alice' is operator", msg)
        got = self.refusals(actor="alice", action="decision.submit")
        self.assertTrue(any(e.detail == msg for e in got))
        # nor may anyone set the submitter
        code, details = self.as_("bot").code(
            "SubmitDecision", decision=proposal(submitted_by="someone-else"))
        self.assertEqual(code, SC.INVALID_ARGUMENT)
        self.assertIn("submitted_by", details)

    def test_assigned_to_someone_else_unless_escalated_to_them(self):
        d = self.as_("bot").submit(assigned_operator="bob").decision
        alice, bob = self.as_("alice"), self.as_("bob")
        sa, sb = alice.session(""), bob.session("")
        msg = self.denied(alice.approve, sa, d.decision_id, rule="assigned-to-other")
        self.assertIn("is assigned to 'bob'", msg)
        self.denied(alice.escalate, sa, d.decision_id, escalation_target="alice",
                    rule="assigned-to-other")
        r = bob.escalate(sb, d.decision_id, escalation_target="alice", reason="yours")
        self.assertEqual(r.decision.escalated_by, "bob")
        # escalated to alice: hers now, and no longer bob's
        self.denied(bob.approve, sb, d.decision_id, rule="assigned-to-other")
        r = alice.approve(sa, d.decision_id, comment="ok")
        self.assertEqual(r.decision.history.reviewed_by, "alice")
        self.assertEqual(len(self.refusals(subject=d.decision_id)), 3)

    def test_nobody_reviews_what_they_submitted(self):
        d = self.as_("bot").submit().decision
        same = self.as_("bot-reviews")   # an operator token for identity "bot"
        sid = same.session("")
        msg = self.denied(same.approve, sid, d.decision_id, rule="no-self-review")
        self.assertIn("'bot' submitted decision '%s'" % d.decision_id, msg)
        self.denied(same.reject, sid, d.decision_id, comment="no", rule="no-self-review")
        self.denied(same.escalate, sid, d.decision_id, escalation_target="alice",
                    rule="no-self-review")
        got = self.refusals(subject=d.decision_id, actor="bot")
        self.assertEqual(sorted(e.action for e in got),
                         ["decision.approve", "decision.escalate", "decision.reject"])

    def test_operator_id_must_be_the_credentials(self):
        alice = self.as_("alice")
        msg = self.denied(alice.call, "CreateSession", operator_id="bob", rule="own-identity")
        self.assertIn("operator_id 'bob' is not the credential's identity 'alice'", msg)
        r = alice.call("CreateSession", operator_id="")
        self.assertEqual(r.operator_id, "alice")
        self.assertEqual(alice.call("CreateSession", operator_id="alice").operator_id, "alice")
        got = self.refusals(actor="alice", action="session.open")
        self.assertTrue(any(e.detail == msg for e in got))

    def test_a_session_is_its_operators_alone(self):
        d = self.as_("bot").submit().decision
        alice, carol = self.as_("alice"), self.as_("carol")
        sa = alice.session("")
        msg = self.denied(carol.approve, sa, d.decision_id, rule="session-owner")
        self.assertIn("belongs to 'alice', not to 'carol'", msg)
        self.denied(carol.close_session, sa, rule="session-owner")
        alice.close_session(sa)

    def test_the_reviewer_is_the_credential(self):
        d = self.as_("bot").submit().decision
        carol = self.as_("carol")
        r = carol.reject(carol.session(""), d.decision_id, comment="too broad")
        self.assertEqual(r.decision.history.reviewed_by, "carol")
        e = self.as_("root").audit(subject=d.decision_id, action="decision.reject")
        self.assertEqual([(x.actor, x.role, x.outcome) for x in e],
                         [("carol", "operator", "OK")])
        self.assertEqual(self.as_("carol").stats("carol").rejected, 1)

    def test_only_the_approver_records_executions(self):
        d = self.as_("bot").submit(recommended_actions=[pb.Action(
            action_type="k8s.scale", parameters={"name": "web", "replicas": "5"})]).decision
        alice, bob, bot = self.as_("alice"), self.as_("bob"), self.as_("bot")
        sa, sb = alice.session(""), bob.session("")
        alice.approve(sa, d.decision_id, comment="ok")
        msg = self.denied(bob.record_execution, sb, d.decision_id, "k8s.scale",
                          rule="executed-by-reviewer")
        self.assertIn("decision '%s' was approved by 'alice'; only they may record its "
                      "executions, not 'bob'" % d.decision_id, msg)
        # another's session, and a role that may not record at all
        self.denied(bob.record_execution, sa, d.decision_id, "k8s.scale", rule="session-owner")
        msg = self.denied(bot.record_execution, sa, d.decision_id, "k8s.scale", rule="role")
        self.assertIn("RecordExecution needs the operator role; 'bot' is producer", msg)
        self.assertEqual(list(alice.get(d.decision_id).executions), [])
        r = alice.record_execution(sa, d.decision_id, "k8s.scale", succeeded=True,
                                   detail="deployment.apps/web scaled to 5")
        self.assertEqual([(e.executed_by, e.succeeded) for e in r.decision.executions],
                         [("alice", True)])
        got = self.refusals(subject=d.decision_id, action="decision.execute")
        self.assertEqual(sorted((e.actor, e.detail.split(":")[0]) for e in got),
                         [("bob", "executed-by-reviewer"), ("bob", "session-owner"),
                          ("bot", "role")])
        ok = self.as_("root").audit(subject=d.decision_id, action="decision.execute",
                                    outcome="OK")
        self.assertEqual([(e.actor, e.role, e.detail) for e in ok],
                         [("alice", "operator",
                           "action=k8s.scale succeeded=true session=%s" % sa)])

    def test_admin_tokens_over_grpc(self):
        root = self.as_("root")
        r = root.admin("CreateToken", pb.CreateTokenRequest(name="ci", role="producer",
                                                            identity="ci-bot"),
                       pb.CreateTokenResponse)
        self.assertRegex(r.secret, TOKEN_RE)
        self.assertEqual((r.token.role, r.token.identity, r.token.created_by),
                         ("producer", "ci-bot", "root"))
        ci = AuthGov(self.gd.channel(), r.secret)
        self.addCleanup(ci.close)
        self.assertEqual(ci.submit().decision.submitted_by, "ci-bot")
        listed = root.admin("ListTokens", pb.ListTokensRequest(), pb.ListTokensResponse)
        self.assertIn(r.token.token_id, [t.token_id for t in listed.tokens])
        self.assertNotIn(r.secret, str(listed))
        rv = root.admin("RevokeToken", pb.RevokeTokenRequest(token_id=r.token.token_id),
                        pb.RevokeTokenResponse)
        self.assertEqual(rv.token.revoked_by, "root")
        # revoked here: refused at once, not after the cache's half second
        code, details = ci.code("GetMetrics")
        self.assertEqual((code, details), (SC.UNAUTHENTICATED, "the bearer token was revoked"))
        for who in ("alice", "bot"):
            self.denied(self.as_(who).admin, "CreateToken",
                        pb.CreateTokenRequest(name="x", role="admin"), pb.CreateTokenResponse,
                        rule="role")
        with self.assertRaises(grpc.RpcError) as cm:
            root.admin("CreateToken", pb.CreateTokenRequest(name="x", role="root"),
                       pb.CreateTokenResponse)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("role 'root' is invalid", cm.exception.details())
        kinds = [e.action for e in root.audit(subject=r.token.token_id)]
        self.assertEqual(kinds, ["token.create", "token.revoke"])

    def test_tokens_from_the_cli_count_within_a_second(self):
        secret, tid = make_token(self.gd.db, "late", "operator")
        g = AuthGov(self.gd.channel(), secret)
        self.addCleanup(g.close)
        g.metrics()  # a new token works at once: a cache miss asks the store
        r = run_tool([GOVERND, "token", "revoke", tid, "--db", self.gd.db])
        self.assertEqual(r.returncode, 0, r.stderr)
        t0 = time.monotonic()
        wait_for(lambda: g.code("GetMetrics")[0] == SC.UNAUTHENTICATED, 1.5 * SLOW,
                 interval=0.02, what="the revoked token to be refused")
        self.assertLess(time.monotonic() - t0, 1.5 * SLOW)
        self.assertEqual(g.code("GetMetrics")[1], "the bearer token was revoked")
        listed = run_tool([GOVERND, "token", "list", "--all", "--db", self.gd.db])
        self.assertEqual(listed.returncode, 0, listed.stderr)
        row = next(line for line in listed.stdout.splitlines() if line.startswith(tid))
        self.assertRegex(row, r"\d{4}-\d\d-\d\dT.*Z\s+never\s+\d{4}-\d\d-\d\dT.*Z$")
        self.assertNotIn(secret, listed.stdout + listed.stderr)
        self.assertNotIn(tid, run_tool([GOVERND, "token", "list", "--db",
                                        self.gd.db]).stdout)
        r = run_tool([GOVERND, "token", "revoke", "t-" + "0" * 32, "--db", self.gd.db])
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_tokens_expire(self):
        secret, tid = make_token(self.gd.db, "short", "operator", expires_in="1s")
        g = AuthGov(self.gd.channel(), secret)
        self.addCleanup(g.close)
        g.metrics()
        wait_for(lambda: g.code("GetMetrics")[0] == SC.UNAUTHENTICATED, 5 * SLOW,
                 interval=0.05, what="the token to expire")
        self.assertRegex(g.code("GetMetrics")[1],
                         r"^the bearer token '%s' expired at \d{4}-\d\d-\d\dT[\d:]+Z; "
                         r"ask an admin for a new one$" % tid)
        listed = run_tool([GOVERND, "token", "list", "--db", self.gd.db])
        row = next(line for line in listed.stdout.splitlines() if line.startswith(tid))
        self.assertRegex(row, r"Z\s+\d{4}-\d\d-\d\dT[\d:]+Z$")
        r = run_tool([GOVERND, "token", "create", "--name", "x", "--role", "operator",
                      "--expires-in", "soon", "--db", self.gd.db])
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid duration 'soon' for '--expires-in'", r.stderr)
        root = self.as_("root")
        with self.assertRaises(grpc.RpcError) as cm:
            root.admin("CreateToken", pb.CreateTokenRequest(name="x", role="operator",
                                                            expires_in_seconds=-5),
                       pb.CreateTokenResponse)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("expires_in_seconds -5 is invalid", cm.exception.details())
        r = root.admin("CreateToken", pb.CreateTokenRequest(name="hour", role="operator",
                                                            expires_in_seconds=3600),
                       pb.CreateTokenResponse)
        self.assertAlmostEqual(r.token.expires_at.seconds, time.time() + 3600, delta=120)
        listed = root.admin("ListTokens", pb.ListTokensRequest(), pb.ListTokensResponse)
        by_id = {t.token_id: t for t in listed.tokens}
        self.assertEqual(by_id[r.token.token_id].expires_at.seconds, r.token.expires_at.seconds)
        self.assertFalse(by_id[r.token.token_id].HasField("revoked_at"))

    def test_governd_token_usage_errors_name_the_value(self):
        r = run_tool([GOVERND, "token", "create", "--name", "x", "--role", "god", "--db",
                      self.gd.db])
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid role 'god' for '--role'", r.stderr)
        r = run_tool([GOVERND, "token", "frob"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown subcommand 'frob'", r.stderr)

    def test_the_log_never_holds_a_token(self):
        self.as_("alice").metrics()
        self.as_(None).code("GetMetrics")
        log = self.gd.log()
        for secret in self.tok.values():
            self.assertNotIn(secret, log)


class MutualTLS(unittest.TestCase):
    """--tls-client-ca: the certificate's CN is the identity, its role from
    --mtls-role; a token on the same connection wins over the certificate."""

    @classmethod
    def setUpClass(cls):
        c = certs()
        cls.certs = c
        extra = tempfile.mkdtemp(prefix="vcli-itest-pki2-")
        cls.extra = extra
        for name in ("ca.pem", "ca.key"):
            shutil.copy(c.path(name), os.path.join(extra, name))
        _make_leaf(extra, "stranger", "ca",
                   "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n", "stranger")
        cls.gd = Governd(["--tls-cert", c.path("server.pem"), "--tls-key", c.path("server.key"),
                          "--tls-client-ca", c.path("ca.pem"),
                          "--mtls-role", "itest-client=operator"],
                         name="trust-mtls", db=True)
        cls.producer = make_token(cls.gd.db, "bot", "producer")[0]
        cls.gd.start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.gd.running():
                cls.gd.stop()
        finally:
            cls.gd.cleanup()
            shutil.rmtree(cls.extra, True)

    def gov(self, cert="client", token=None, d=None):
        d = d or self.certs.dir
        creds = grpc.ssl_channel_credentials(
            root_certificates=self.certs.read("ca.pem"),
            private_key=open(os.path.join(d, cert + ".key"), "rb").read(),
            certificate_chain=open(os.path.join(d, cert + ".pem"), "rb").read())
        g = AuthGov(self.gd.channel(creds), token)
        self.addCleanup(g.close)
        return g

    def test_the_certificate_is_the_operator(self):
        self.assertEqual(self.gd.listen_record.get("auth"), "token+certificate")
        d = self.gov(token=self.producer).submit().decision
        self.assertEqual(d.submitted_by, "bot")   # the token won
        g = self.gov()
        r = g.call("CreateSession", operator_id="")
        self.assertEqual(r.operator_id, "itest-client")
        a = g.approve(r.session_id, d.decision_id, comment="checked")
        self.assertEqual(a.decision.history.reviewed_by, "itest-client")
        self.assertEqual(g.call("CreateSession", operator_id="itest-client").operator_id,
                         "itest-client")
        with self.assertRaises(grpc.RpcError) as cm:
            g.call("CreateSession", operator_id="alice")
        self.assertEqual(cm.exception.code(), SC.PERMISSION_DENIED)
        with self.assertRaises(grpc.RpcError) as cm:
            g.submit()
        self.assertEqual(cm.exception.code(), SC.PERMISSION_DENIED)
        self.assertIn("'itest-client' is operator", cm.exception.details())

    def test_an_identity_without_a_role_is_refused(self):
        g = self.gov(cert="stranger", d=self.extra)
        with self.assertRaises(grpc.RpcError) as cm:
            g.metrics()
        self.assertEqual(cm.exception.code(), SC.PERMISSION_DENIED)
        self.assertIn("certificate identity 'stranger' has no role", cm.exception.details())
        self.assertIn("role: ", cm.exception.details())

    def test_a_certificate_from_another_ca_never_gets_in(self):
        g = self.gov(cert="other_client")
        code, _ = g.code("GetMetrics")
        self.assertEqual(code, SC.UNAVAILABLE)


class Exposure(unittest.TestCase):
    """Off loopback governd refuses to start without TLS and authentication,
    unless --insecure, which it warns about at every start."""

    def start_fails(self, args):
        state = tempfile.mkdtemp(prefix="vcli-itest-expose-")
        self.addCleanup(shutil.rmtree, state, True)
        p = subprocess.run([GOVERND, "--db", os.path.join(state, "g.db")] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30 * SLOW)
        return p

    def test_non_loopback_without_tls_or_auth_refuses_to_start(self):
        p = self.start_fails(["--listen", "0.0.0.0:0"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("refusing to serve '0.0.0.0:0' without TLS and authentication", p.stderr)
        self.assertIn("--insecure", p.stderr)
        c = certs()
        tls = ["--tls-cert", c.path("server.pem"), "--tls-key", c.path("server.key")]
        p = self.start_fails(["--listen", "[::]:0"] + tls)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("without authentication", p.stderr)
        p = self.start_fails(["--listen", "0.0.0.0:0", "--auth"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("without TLS", p.stderr)
        p = self.start_fails(["--mtls-role", "x=operator"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("'--mtls-role' needs '--tls-client-ca'", p.stderr)

    def test_insecure_starts_and_warns_every_time(self):
        db = None
        for i in range(2):
            gd = Governd(["--insecure"] + (["--db", db] if db else []),
                         name="trust-insecure-%d" % i, db=None if db else True,
                         listen="0.0.0.0:0")
            self.addCleanup(gd.cleanup)
            gd.start()
            db = db or gd.db
            warn = [r for r in gd.records() if r.get("level") == "warn"]
            self.assertEqual([r.get("msg") for r in warn],
                             ["insecure: serving a non-loopback address without protection"],
                             gd.log())
            self.assertEqual(warn[0].get("missing"), "TLS and authentication")
            ch = gd.channel()
            self.assertTrue(health_check(ch).healthy)
            ch.close()
            gd.stop()

    def test_tls_and_auth_off_loopback_start_quietly(self):
        c = certs()
        gd = Governd(["--tls-cert", c.path("server.pem"), "--tls-key", c.path("server.key"),
                      "--auth"], name="trust-exposed-ok", db=True, listen="0.0.0.0:0")
        self.addCleanup(gd.cleanup)
        gd.start()
        self.assertFalse([r for r in gd.records() if r.get("level") == "warn"], gd.log())
        self.assertEqual(gd.listen_record.get("auth"), "token")
        gd.stop()


class AuditChain(unittest.TestCase):
    """The trail as vcli verify sees it, and as a database edited while
    governd is stopped: a changed field, a removed row, two swapped rows,
    and an entry rewritten with its hash recomputed."""

    @classmethod
    def setUpClass(cls):
        cls.gd = Governd(["--auth"], name="trust-audit", db=True)
        db = cls.gd.db
        cls.root = make_token(db, "root", "admin")[0]
        bot = make_token(db, "bot", "producer")[0]
        alice = make_token(db, "alice", "operator")[0]
        cls.gd.start()
        b, a = AuthGov(cls.gd.channel(), bot), AuthGov(cls.gd.channel(), alice)
        cls.decisions = [b.submit(operation_type="audit_%d" % i).decision.decision_id
                         for i in range(4)]
        sid = a.session("")
        a.approve(sid, cls.decisions[0], comment="fine")
        a.reject(sid, cls.decisions[1], comment="no")
        a.escalate(sid, cls.decisions[2], escalation_target="alice")
        for fn in (lambda: a.submit(), lambda: b.approve(sid, cls.decisions[3])):
            try:
                fn()
            except grpc.RpcError:
                pass
        a.close_session(sid)
        b.close()
        a.close()
        cls.gd.stop()
        cls.pristine = db + ".pristine"
        shutil.copy(db, cls.pristine)

    @classmethod
    def tearDownClass(cls):
        cls.gd.cleanup()

    def vcli(self, *args):
        home = tempfile.mkdtemp(prefix="vcli-itest-home-")
        self.addCleanup(shutil.rmtree, home, True)
        env = {"HOME": home, "XDG_STATE_HOME": home, "XDG_CONFIG_HOME": home,
               "VCLI_TOKEN": self.root, "VCLI_GOVERNANCE_ENDPOINT": self.gd.addr,
               "NO_COLOR": "1", "VCLI_OUTPUT": "", "VCLI_OPERATOR": ""}
        return run_tool([VCLI] + list(args), env=env, timeout=60 * SLOW)

    def with_db(self, edit):
        """Runs governd on a copy of the pristine database, edited."""
        shutil.copy(self.pristine, self.gd.db)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.gd.db + suffix):
                os.remove(self.gd.db + suffix)
        if edit:
            con = sqlite3.connect(self.gd.db)
            con.executescript(edit)
            con.commit()
            con.close()
        self.gd.restart()
        self.addCleanup(self.gd.stop)

    def export(self):
        r = self.vcli("audit", "export")
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def test_an_untouched_trail_verifies_here_and_by_the_documented_format(self):
        self.with_db(None)
        entries = self.export()
        self.assertGreaterEqual(len(entries), 13)
        prev = "0" * 64
        for i, e in enumerate(entries):
            self.assertEqual(sorted(e), sorted(["sequence", "at", "atMs", "actor", "role",
                                                "action", "outcome", "subject", "detail",
                                                "prevHash", "hash"]))
            self.assertEqual(e["sequence"], i + 1)
            self.assertEqual(e["prevHash"], prev)
            self.assertEqual(chain_hash(prev, e), e["hash"])
            prev = e["hash"]
        actions = [(e["actor"], e["action"], e["outcome"]) for e in entries]
        for want in [("local:%s" % os.environ.get("USER", ""), "token.create", "OK"),
                     ("bot", "decision.submit", "OK"), ("alice", "session.open", "OK"),
                     ("alice", "decision.approve", "OK"), ("alice", "decision.reject", "OK"),
                     ("alice", "decision.escalate", "OK"), ("alice", "decision.submit", "DENIED"),
                     ("bot", "decision.approve", "DENIED"), ("alice", "session.close", "OK")]:
            if want[1] == "token.create":
                self.assertTrue(any(a[1:] == want[1:] and a[0].startswith("local:")
                                    for a in actions), actions)
            else:
                self.assertIn(want, actions)
        r = self.vcli("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        head = entries[-1]
        self.assertIn("%d entries, chain intact; head %d %s" % (len(entries), head["sequence"],
                                                                 head["hash"]), r.stdout)
        r = self.vcli("audit", "verify", "--anchor", "%d:%s" % (head["sequence"], head["hash"]),
                      "-o", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["ok"], True)

    def verify_fails(self, first_bad, words):
        r = self.vcli("audit", "verify")
        self.assertEqual(r.returncode, EXIT_AUDIT, r.stdout + r.stderr)
        self.assertIn(words, r.stdout)
        r = self.vcli("audit", "verify", "-o", "json")
        self.assertEqual(r.returncode, EXIT_AUDIT, r.stdout + r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual((v["ok"], v["firstBadSequence"]), (False, first_bad), v)

    def test_a_changed_field_is_named(self):
        self.with_db("UPDATE audit SET actor = 'mallory' WHERE seq = 7;")
        self.verify_fails(7, "entry 7 was altered: its hash does not match its content")

    def test_a_removed_entry_is_named(self):
        self.with_db("DELETE FROM audit WHERE seq = 6;")
        self.verify_fails(6, "entry 6 was removed (the trail goes from 5 to 7)")

    def test_swapped_entries_are_named(self):
        self.with_db("UPDATE audit SET seq = -1 WHERE seq = 8;"
                     "UPDATE audit SET seq = 8 WHERE seq = 9;"
                     "UPDATE audit SET seq = 9 WHERE seq = -1;")
        self.verify_fails(8, "entry 8 is out of place: it was chained after the entry now at 9")

    def test_a_rewritten_hash_is_caught_by_the_next_link(self):
        con = sqlite3.connect(self.pristine)
        cols = ["seq", "at_ms", "actor", "role", "action", "outcome", "subject", "detail",
                "prev_hash", "hash"]
        row = dict(zip(cols, con.execute("SELECT %s FROM audit WHERE seq = 5"
                                         % ", ".join(cols)).fetchone()))
        con.close()
        row["detail"] = "nothing to see"
        e = {"atMs": row["at_ms"], "actor": row["actor"], "role": row["role"],
             "action": row["action"], "outcome": row["outcome"], "subject": row["subject"],
             "detail": row["detail"]}
        forged = chain_hash(row["prev_hash"], e)
        self.with_db("UPDATE audit SET detail = 'nothing to see', hash = '%s' WHERE seq = 5;"
                     % forged)
        self.verify_fails(5, "entry 5 was altered (its hash rewritten to match): entry 6")

    def test_a_cut_tail_needs_an_anchor(self):
        self.with_db(None)
        head = self.export()[-1]
        self.gd.stop()
        con = sqlite3.connect(self.gd.db)
        con.execute("DELETE FROM audit WHERE seq = ?", (head["sequence"],))
        con.commit()
        con.close()
        self.gd.restart()
        r = self.vcli("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout)  # nothing to compare with...
        r = self.vcli("audit", "verify", "--anchor", "%d:%s" % (head["sequence"], head["hash"]))
        self.assertEqual(r.returncode, EXIT_AUDIT, r.stdout)  # ...but the anchor
        self.assertIn("entry %d (the anchor) is missing" % head["sequence"], r.stdout)

    def test_list_filters(self):
        self.with_db(None)
        d0 = self.decisions[0]
        r = self.vcli("audit", "list", "--decision", d0, "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        self.assertEqual([e["action"] for e in got["entries"]],
                         ["decision.submit", "decision.approve"])
        self.assertEqual(got["nextAfterSequence"], 0)
        r = self.vcli("audit", "list", "--denied", "-o", "json")
        self.assertEqual({(e["actor"], e["action"]) for e in json.loads(r.stdout)["entries"]},
                         {("alice", "decision.submit"), ("bot", "decision.approve")})
        r = self.vcli("audit", "list", "--actor", "alice", "--action", "decision.reject")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("SEQ"))
        self.assertEqual(len(lines), 2)
        self.assertIn(self.decisions[1], lines[1])
        r = self.vcli("audit", "list", "--limit", "2", "-o", "json")
        page = json.loads(r.stdout)
        self.assertEqual(len(page["entries"]), 2)
        self.assertEqual(page["nextAfterSequence"], 2)
        r = self.vcli("audit", "list", "--since", "1h", "--until", "2999-01-01T00:00:00Z",
                      "-o", "json")
        self.assertEqual(len(json.loads(r.stdout)["entries"]), len(self.export()))
        r = self.vcli("audit", "list", "--since", "2999-01-01T00:00:00Z", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["entries"], [])
        r = self.vcli("audit", "list", "--since", "yesterday")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid time 'yesterday' for '--since'", r.stderr)


class VcliToken(unittest.TestCase):
    """vcli takes the token from --token, VCLI_TOKEN or the config file (in
    that order), sends it, and never shows it."""

    @classmethod
    def setUpClass(cls):
        cls.gd = Governd(["--auth"], name="trust-vcli", db=True)
        cls.op = make_token(cls.gd.db, "dana", "operator")[0]
        cls.prod = make_token(cls.gd.db, "bot", "producer")[0]
        cls.gd.start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.gd.running():
                cls.gd.stop()
        finally:
            cls.gd.cleanup()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="vcli-itest-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.conf = os.path.join(self.home, "vcli", "config")
        os.makedirs(os.path.dirname(self.conf))
        self.outputs = []

    def vcli(self, *args, token_env=None, input=None):
        env = {"HOME": self.home, "XDG_STATE_HOME": os.path.join(self.home, "state"),
               "XDG_CONFIG_HOME": self.home, "VCLI_GOVERNANCE_ENDPOINT": self.gd.addr,
               "NO_COLOR": "1", "VCLI_OUTPUT": "", "VCLI_OPERATOR": "",
               "VCLI_TOKEN": token_env or ""}
        r = run_tool([VCLI] + list(args), env=env, input=input, timeout=30 * SLOW)
        self.outputs.append(r.stdout + r.stderr)
        return r

    def tearDown(self):
        for secret in (self.op, self.prod):
            for out in self.outputs:
                self.assertNotIn(secret, out)
            self.assertNotIn(secret, self.gd.log())
            for root, _, files in os.walk(os.path.join(self.home, "state")):
                for f in files:
                    with open(os.path.join(root, f)) as fh:
                        self.assertNotIn(secret, fh.read())

    def test_flag_env_and_config_file(self):
        r = self.vcli("gov", "list")
        self.assertEqual(r.returncode, EXIT_DENIED, r.stderr)
        self.assertIn("UNAUTHENTICATED", r.stderr)
        self.assertEqual(self.vcli("--token", self.op, "gov", "list").returncode, 0)
        self.assertEqual(self.vcli("gov", "list", token_env=self.op).returncode, 0)
        with open(self.conf, "w") as f:
            f.write("token = %s\n" % self.op)
        self.assertEqual(self.vcli("gov", "list").returncode, 0)
        # precedence: a flag beats the environment, which beats the file
        bad = "vt_" + "1" * 64
        self.assertEqual(self.vcli("gov", "list", token_env=bad).returncode, EXIT_DENIED)
        self.assertEqual(self.vcli("--token", self.op, "gov", "list",
                                   token_env=bad).returncode, 0)

    def test_config_show_masks_it(self):
        for args, env, source in ((("--token", self.op), None, "flag --token"),
                                  ((), self.op, "env VCLI_TOKEN")):
            r = self.vcli(*args, "config", "show", "-o", "json", token_env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            t = json.loads(r.stdout)["token"]
            self.assertEqual(t, {"value": "(hidden)", "source": source})
            r = self.vcli(*args, "config", "show", token_env=env)
            self.assertRegex(r.stdout, r"(?m)^token\s+\(hidden\)\s+" + re.escape(source))
        with open(self.conf, "w") as f:
            f.write("token = %s has spaces\n" % self.op)
        r = self.vcli("config", "show")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid value '(hidden)' for 'token'", r.stderr)

    def test_writes_take_the_operator_from_the_token(self):
        path = os.path.join(self.home, "d.json")
        with open(path, "w") as f:
            f.write('{"operationType": "block_ip", "priority": "LOW", "slaSeconds": 600}')
        r = self.vcli("gov", "submit", "-f", path, "-o", "json", token_env=self.prod)
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual(d["submittedBy"], "bot")
        r = self.vcli("gov", "approve", d["decisionId"], "--comment", "ok", token_env=self.prod)
        self.assertEqual(r.returncode, EXIT_DENIED, r.stderr)
        self.assertIn("needs the operator role", r.stderr)
        r = self.vcli("gov", "approve", d["decisionId"], "--comment", "ok", "-o", "json",
                      token_env=self.op)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["decision"]["history"]["reviewedBy"], "dana")
        r = self.vcli("session", "show", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["operator"], "dana")
        # a mismatched --operator is refused by the server, not papered over
        r = self.vcli("--operator", "eve", "session", "open", token_env=self.op)
        self.assertEqual(r.returncode, EXIT_DENIED, r.stderr)
        self.assertIn("own-identity", r.stderr)

    def test_audit_commands_with_the_token(self):
        r = self.vcli("audit", "verify", token_env=self.op)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.vcli("audit", "list", token_env=self.prod)
        self.assertEqual(r.returncode, EXIT_DENIED, r.stderr)


if __name__ == "__main__":
    run_main()
