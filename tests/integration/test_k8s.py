#!/usr/bin/python3
"""vcli k8s against the fake API server (tests/tools/fakekube.py), next to
kubectl with the same kubeconfig.

Each comparison runs kubectl, then vcli, with the same arguments and a
fresh HOME each (so both start with a cold discovery cache), and checks:
the same requests beyond discovery (method, path, query, content type,
Accept), the same stdout, the same exit code and the same message on
stderr (kubectl's "error: " and vcli's "vcli: " prefixes aside).  Without
kubectl on the machine the comparisons are skipped; the tests of vcli's
own behaviour still run.

Environment: VCLI (the binary), FAKEKUBE (the fake server's script).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

VCLI = os.environ.get("VCLI", "")
FAKEKUBE = os.environ.get("FAKEKUBE", "")
def _kubectl():
    """kubectl, when it is recent enough to be the reference (1.30 or
    newer: Debian's kubernetes-client 1.20 sends other requests)."""
    path = shutil.which("kubectl")
    if not path:
        return None
    try:
        out = subprocess.run([path, "version", "--client", "-o", "json"],
                             capture_output=True, text=True, timeout=30).stdout
        v = json.loads(out)["clientVersion"]
        if (int(v["major"]), int(re.sub(r"\D.*", "", v["minor"]))) >= (1, 30):
            return path
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        pass
    sys.stderr.write("test_k8s: kubectl at %s is older than 1.30: the "
                     "comparisons with it are skipped\n" % path)
    return None


KUBECTL = _kubectl()
PY = "/usr/bin/python3"
DEADLINE = 60


class Fake:
    """One fakekube process on 127.0.0.1 and a port the kernel picked."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([PY, FAKEKUBE] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError("fakekube did not start: %r %s" % (
                line, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        self.tls = "--tls-cert" in args

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def control(self, method, path, body=None, ctx=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return json.loads(r.read() or b"null")

    def requests(self, ctx=None):
        return self.control("GET", "/_fake/requests", ctx=ctx)

    def clear(self, ctx=None):
        self.control("DELETE", "/_fake/requests", ctx=ctx)

    def config(self, ctx=None, **kw):
        self.control("POST", "/_fake/config", kw, ctx=ctx)

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


DISCOVERY_PREFIXES = ("/api", "/apis", "/version")


def is_discovery(r):
    p = r["path"]
    if p in ("/api", "/apis", "/version", "/api/v1"):
        return True
    parts = p.strip("/").split("/")
    return parts[0] == "apis" and len(parts) == 3


def action_requests(reqs):
    return [(r["method"], r["path"], r["query"], r["content_type"], r["accept"],
             r.get("body"))
            for r in reqs if not is_discovery(r)]


def norm_err(text):
    """The message without the tool's prefix, first letter in lower case."""
    out = []
    for line in text.strip().splitlines():
        for p in ("vcli: ", "error: "):
            if line.startswith(p):
                line = line[len(p):]
        out.append(line[:1].lower() + line[1:])
    return "\n".join(out)


def kubeconfig(server, user=None, ns="shop", extra_cluster=None):
    cluster = {"server": server}
    cluster.update(extra_cluster or {})
    return {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "contexts": [{"name": "fake", "context": dict(
                {"cluster": "fake", "user": "u"}, **({"namespace": ns} if ns else {}))}],
            "users": [{"name": "u", "user": user or {}}]}


class Base(unittest.TestCase):
    fake_args = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vcli-k8s-")
        cls.fake = Fake(*cls.fake_args)
        cls.kc = os.path.join(cls.tmp, "kubeconfig")
        with open(cls.kc, "w") as f:
            json.dump(kubeconfig(cls.fake.url), f)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def home(self):
        h = tempfile.mkdtemp(dir=self.tmp)
        return h

    def run_tool(self, argv, home=None, kc=None, timeout=DEADLINE):
        env = dict(os.environ)
        env["HOME"] = home or self.home()
        env["KUBECONFIG"] = kc or self.kc
        env.pop("KUBECACHEDIR", None)
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def vcli(self, *args, **kw):
        return self.run_tool([VCLI, "k8s"] + list(args), **kw)

    def kubectl(self, *args, **kw):
        return self.run_tool([KUBECTL] + list(args), **kw)

    def compare(self, *args, requests=True, kc=None):
        """kubectl and vcli: same requests, stdout, exit code, message."""
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        self.fake.clear()
        k = self.kubectl(*args, kc=kc)
        kreq = self.fake.requests()
        self.fake.clear()
        v = self.vcli(*args, kc=kc)
        vreq = self.fake.requests()
        what = " ".join(args)
        self.assertEqual(v[1], k[1], "stdout of '%s'" % what)
        self.assertEqual(v[0], k[0], "exit code of '%s': %s" % (what, v[2]))
        self.assertEqual(norm_err(v[2]), norm_err(k[2]), "stderr of '%s'" % what)
        if requests:
            self.assertEqual(action_requests(vreq), action_requests(kreq),
                             "requests of '%s'" % what)
            # Discovery: vcli asks for nothing kubectl does not.
            kd = {r["path"] for r in kreq if is_discovery(r)} | {"/version"}
            vd = {r["path"] for r in vreq if is_discovery(r)}
            self.assertLessEqual(vd, kd, "discovery of '%s'" % what)
        return v


class GetTest(Base):
    def test_tables(self):
        for args in (["get", "pods"], ["get", "po", "-A", "-o", "wide"],
                     ["get", "deploy,svc"], ["get", "wd"], ["get", "widgets.example.com"],
                     ["get", "deployments.v1.apps"], ["get", "Pod", "-n", "kube-system"],
                     ["get", "nodes", "--show-labels"], ["get", "ns"],
                     ["get", "pods", "-l", "app=web", "--field-selector", "status.phase=Running"],
                     ["get", "pods", "-A", "-l", "app in (web,coredns)"],
                     ["get", "deploy/web", "svc/web"], ["get", "po", "-L", "app", "-A"],
                     ["get", "rs", "-o", "wide"], ["get", "cm,deploy", "-n", "shop"],
                     ["get", "deploy", "web", "--no-headers"], ["get", "svc", "-A"]):
            with self.subTest(args=args):
                self.compare(*args)

    def test_formats(self):
        for args in (["get", "po", "-o", "json"], ["get", "po", "-o", "yaml"],
                     ["get", "deploy", "web", "-o", "yaml"], ["get", "deploy", "web", "-o", "json"],
                     ["get", "po,deploy", "-o", "name"], ["get", "no", "-o", "yaml"],
                     ["get", "svc", "-A", "-o", "jsonpath={.items[*].metadata.name}"],
                     ["get", "po", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\t\"}"
                      "{.status.podIP}{\"\\n\"}{end}"],
                     ["get", "no", "-o",
                      "jsonpath={.items[?(@.metadata.name==\"node-1\")].status.nodeInfo.osImage}"],
                     ["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"],
                     ["get", "cm", "web-conf", "-o", "yaml"]):
            with self.subTest(args=args):
                self.compare(*args)

    def test_errors(self):
        # Unknown resource, unknown namespace (list and name), unknown name.
        for args in (["get", "foo"], ["get", "pods", "-n", "nope"],
                     ["get", "pods", "x", "-n", "nope"], ["get", "pods", "nope"],
                     ["get", "pods", "nope", "debug", "-n", "default"],
                     ["get", "secrets"], ["get", "nodes", "missing-node"]):
            with self.subTest(args=args):
                v = self.compare(*args)
                self.assertIn(v[0], (0, 1))
        rc, out, err = self.vcli("get", "foo")
        self.assertEqual(rc, 1)
        self.assertIn('the server doesn\'t have a resource type "foo"', err)
        rc, out, err = self.vcli("get", "pods", "-n", "nope")
        self.assertEqual(rc, 1)
        self.assertIn('namespaces "nope" not found', err)
        rc, out, err = self.vcli("get", "secrets")
        self.assertEqual((rc, out), (0, ""))
        self.assertEqual(err, "No resources found in shop namespace.\n")

    def test_forbidden(self):
        self.fake.config(forbid=["list/services", "get/deployments"])
        try:
            for args in (["get", "svc"], ["get", "svc", "-A"], ["get", "deploy", "web"]):
                with self.subTest(args=args):
                    v = self.compare(*args)
                    self.assertEqual(v[0], 1)
                    self.assertIn("forbidden", v[2])
        finally:
            self.fake.config(forbid=[])

    def test_usage_errors(self):
        rc, out, err = self.vcli("get", "pods", "-o", "custom")
        self.assertEqual(rc, 2)
        self.assertIn("\"custom\"", err)
        rc, out, err = self.vcli("get")
        self.assertEqual(rc, 2)
        rc, out, err = self.vcli("get", "pods", "--request-timeout", "soon")
        self.assertEqual(rc, 2)
        self.assertIn("'soon'", err)

    def test_discovery_cache(self):
        home = self.home()
        self.fake.clear()
        rc, out, err = self.vcli("get", "po", home=home)
        self.assertEqual(rc, 0, err)
        first = self.fake.requests()
        self.assertTrue(any(r["path"] == "/apis" for r in first))
        self.assertTrue(os.path.isdir(os.path.join(home, ".kube", "cache", "vcli-discovery")))
        self.fake.clear()
        for name in ("deploy", "svc", "wd", "Deployment", "deployments.apps", "po"):
            rc, out, err = self.vcli("get", name, home=home)
            self.assertEqual(rc, 0, err)
        again = self.fake.requests()
        self.assertEqual([r for r in again if is_discovery(r)], [],
                         "a warm cache asks no discovery")
        # A name the cache does not know: discovery again, once.
        self.fake.clear()
        rc, out, err = self.vcli("get", "nosuchthing", home=home)
        self.assertEqual(rc, 1)
        self.assertEqual(sum(1 for r in self.fake.requests() if r["path"] == "/apis"), 1)

    def test_connection_reuse(self):
        # Many chunks over one connection: the fake serves HTTP/1.1
        # keep-alive; a fresh connection per request would show as
        # several peers, which the fake does not record, so measure that
        # vcli does the chunked list right instead.
        rc, out, err = self.vcli("get", "po", "-A", "--chunk-size", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 7)
        lists = [r for r in self.fake.requests() if r["path"] == "/api/v1/pods"]
        self.assertGreaterEqual(len(lists), 3)
        self.assertEqual(lists[1]["query"].get("continue"), "2")

    def test_watch(self):
        self.fake.config(watch_seconds=1.5)
        try:
            self.compare("get", "deploy", "-w")
            env = dict(os.environ, HOME=self.home(), KUBECONFIG=self.kc)
            p = subprocess.Popen([VCLI, "k8s", "get", "deploy", "web", "-w"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            req = urllib.request.Request(
                self.fake.url + "/apis/apps/v1/namespaces/shop/deployments/web/scale",
                method="PATCH", data=b'{"spec":{"replicas":4}}',
                headers={"Content-Type": "application/merge-patch+json"})
            urllib.request.urlopen(req, timeout=10).read()
            out, err = p.communicate(timeout=DEADLINE)
            self.assertEqual(p.returncode, 0, err)
            lines = out.splitlines()
            self.assertTrue(lines[0].startswith("NAME"))
            self.assertIn("3/3", lines[1])
            self.assertTrue(any("4/4" in l for l in lines[2:]), out)
            watch = [r for r in self.fake.requests() if r["query"].get("watch") == "true"]
            self.assertEqual(watch[-1]["query"]["fieldSelector"], "metadata.name=web")
        finally:
            urllib.request.urlopen(urllib.request.Request(
                self.fake.url + "/apis/apps/v1/namespaces/shop/deployments/web/scale",
                method="PATCH", data=b'{"spec":{"replicas":3}}',
                headers={"Content-Type": "application/merge-patch+json"}), timeout=10).read()
            self.fake.config(watch_seconds=2.0)

    def test_describe(self):
        # kubectl reads each object twice (JSON, then protobuf) and builds
        # the events' field selector from a Go map (any order): the
        # requests are compared as sets of paths and selector terms.
        pod = json.loads(self.vcli("get", "po", "-o", "json")[1])["items"][0]["metadata"]["name"]
        for args in (["describe", "pod", pod], ["describe", "deploy", "web"],
                     ["describe", "svc", "web"], ["describe", "node", "node-1"],
                     ["describe", "pod", "debug", "-n", "default"], ["describe", "nodes"],
                     ["describe", "svc", "kubernetes", "-n", "default"],
                     ["describe", "deploy", "-n", "kube-system"], ["describe", "pods"],
                     ["describe", "deploy/web", "svc/web"], ["describe", "po", "nope"],
                     ["describe", "pods", "-l", "app=web"]):
            with self.subTest(args=args):
                self.compare(*args, requests=False)
                if not KUBECTL:
                    continue

                def terms(reqs):
                    out = set()
                    for r in reqs:
                        if is_discovery(r):
                            continue
                        q = dict(r["query"])
                        fs = q.pop("fieldSelector", None)
                        out.add((r["method"], r["path"], tuple(sorted(q.items())),
                                 tuple(sorted(fs.split(","))) if fs else ()))
                    return out
                self.fake.clear()
                self.kubectl(*args)
                k = terms(self.fake.requests())
                self.fake.clear()
                self.vcli(*args)
                self.assertEqual(terms(self.fake.requests()), k)

    def test_api_resources(self):
        for args in (["api-resources"], ["api-resources", "-o", "wide"],
                     ["api-resources", "--api-group=apps", "-o", "name"],
                     ["api-resources", "--namespaced=false"]):
            with self.subTest(args=args):
                self.compare(*args)

    def test_no_credentials_over_http(self):
        kc = os.path.join(self.tmp, "kc-token")
        with open(kc, "w") as f:
            json.dump(kubeconfig(self.fake.url, {"token": "secret"}), f)
        self.fake.clear()
        rc, out, err = self.vcli("get", "po", kc=kc)
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(r["auth"] == "" for r in self.fake.requests()))


def normalize(reqs):
    """Requests without what legitimately differs from run to run: the
    restart time of rollout restart, the watches of wait and rollout
    status (kubectl's informer may or may not open one when the list
    already settles it), and the SelfSubjectAccessReview's encoding
    (kubectl sends protobuf)."""
    out = []
    for r in action_requests(reqs):
        method, path, query, ctype, accept, body = r
        if query.get("watch") == "true":
            continue
        query = {k: v for k, v in query.items() if k != "timeoutSeconds"}
        if isinstance(body, dict):
            ann = body.get("spec", {}).get("template", {}).get("metadata", {}).get(
                "annotations", {})
            if "kubectl.kubernetes.io/restartedAt" in ann:
                ann["kubectl.kubernetes.io/restartedAt"] = "T"
        if path.endswith("/selfsubjectaccessreviews"):
            ctype = accept = body = None
        # vcli never asks for protobuf (kubectl's typed clients do): what
        # must match is a table or not.
        accept = "table" if "as=Table" in (accept or "") else "json"
        if method == "PUT" and not ctype:
            ctype = "application/json"  # kubectl's scale PUT names none
        out.append((method, path, query, ctype, accept, body))
    return out


class ChangeTest(Base):
    """Commands that change the cluster: the fake is reset before each
    tool runs the same sequence, so both start from the same objects."""

    def sequence(self, *steps, compare_accept=True):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        runs = []
        for tool in (self.kubectl, self.vcli):
            self.fake.control("POST", "/_fake/reset", {})
            self.fake.clear()
            home = self.home()
            outs = []
            for step in steps:
                rc, out, err = tool(*step, home=home)
                outs.append((" ".join(step), rc, out, norm_err(err)))
            reqs = normalize(self.fake.requests())
            if not compare_accept:
                reqs = [r[:4] + r[5:] for r in reqs]
            runs.append((outs, reqs))
        self.fake.control("POST", "/_fake/reset", {})
        for k, v in zip(runs[0][0], runs[1][0]):
            self.assertEqual(v, k)
        if runs[1][1] != runs[0][1]:
            import difflib
            diff = "\n".join(difflib.unified_diff(
                [repr(r) for r in runs[0][1]], [repr(r) for r in runs[1][1]],
                "kubectl", "vcli", lineterm="", n=1))
            self.fail("requests of %s differ:\n%s" % (steps, diff))
        return runs[1][0]

    def test_scale(self):
        self.sequence(["scale", "deploy", "web", "--replicas=5"], ["get", "deploy,rs"],
                      ["scale", "deploy/web", "--replicas=2", "--current-replicas=5"],
                      ["scale", "deploy", "web", "--replicas=1", "--current-replicas=3"],
                      ["scale", "deploy", "nope", "--replicas=1"],
                      ["scale", "rs", "--replicas=1"])
        rc, out, err = self.vcli("scale", "deploy", "web")
        self.assertEqual(rc, 2)

    def test_delete(self):
        pod = json.loads(self.vcli("get", "po", "-o", "json")[1])["items"][0]["metadata"]["name"]
        man = os.path.join(self.tmp, "del.yaml")
        with open(man, "w") as f:
            f.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-conf}\n---\n"
                    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n")
        self.sequence(["delete", "pod", "debug", "-n", "default"],
                      ["delete", "deploy", "web", "--cascade=orphan", "--grace-period=5"],
                      ["get", "rs,po"], ["delete", "pod", pod, "--now"],
                      ["delete", "pod", "nope"], ["delete", "pod", "nope", "--ignore-not-found"],
                      ["delete", "-f", man], ["delete", "-f", man],
                      ["delete", "deploy", "coredns", "-n", "kube-system", "--cascade=foreground"],
                      ["get", "po", "-A"])
        self.sequence(["delete", "pod", "-l", "app=web"], ["get", "po"])

    def test_apply(self):
        d = os.path.join(self.tmp, "manifests")
        os.makedirs(os.path.join(d, "sub"), exist_ok=True)
        with open(os.path.join(d, "a.yaml"), "w") as f:
            f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-conf\ndata:\n"
                    "  a: \"1\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                    "  name: api\n  labels: {app: api}\nspec:\n  replicas: 2\n"
                    "  selector: {matchLabels: {app: api}}\n  template:\n"
                    "    metadata: {labels: {app: api}}\n    spec:\n"
                    "      containers: [{name: api, image: \"busybox:1.36\"}]\n")
        with open(os.path.join(d, "b.json"), "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
                 "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]}}]}, f)
        with open(os.path.join(d, "sub", "c.yaml"), "w") as f:
            f.write("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: cog}\n"
                    "spec: {size: 1}\n")
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not a manifest\n")
        v = "--validate=false"
        self.sequence(["apply", "--server-side", v, "-f", os.path.join(d, "a.yaml")],
                      ["apply", "--server-side", v, "-f", d],
                      ["apply", "--server-side", v, "-f", d, "-R", "--force-conflicts"],
                      ["get", "deploy,svc,cm,wd"],
                      ["apply", "--server-side", v, "-f", os.path.join(d, "a.yaml"),
                       "-n", "kube-system"],
                      ["apply", "--server-side", v, "-f", os.path.join(d, "nope.yaml")])
        rc, out, err = self.vcli("apply", "-f", os.path.join(d, "a.yaml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.fake.requests()[-1]["query"]["fieldValidation"], "Strict")

    def test_rollout(self):
        self.sequence(["rollout", "status", "deploy/web"],
                      ["rollout", "history", "deploy/web"],
                      ["rollout", "restart", "deploy/web"],
                      ["rollout", "status", "deploy", "web"],
                      ["rollout", "history", "deploy/web"],
                      ["rollout", "history", "deploy/web", "--revision=1"],
                      ["rollout", "undo", "deploy/web"],
                      ["get", "rs"],
                      ["rollout", "undo", "deploy/web", "--to-revision=2"],
                      ["rollout", "undo", "deploy/web", "--to-revision=9"],
                      ["rollout", "status", "deploy/nope"])

    def test_logs(self):
        pod = json.loads(self.vcli("get", "po", "-o", "json")[1])["items"][0]["metadata"]["name"]
        self.sequence(["logs", pod], ["logs", pod, "--tail=2", "--timestamps"],
                      ["logs", pod, "-c", "nginx", "-p"], ["logs", pod, "--since=1h"],
                      ["logs", "deploy/web"], ["logs", "pod/" + pod, "--tail=1"],
                      ["logs", "nope"], ["logs", pod, "-c", "sidecar"],
                      compare_accept=False)
        # kubectl reads the pods of -l in a random order: compare as sets.
        k = self.kubectl("logs", "-l", "app=web") if KUBECTL else None
        v = self.vcli("logs", "-l", "app=web")
        self.assertEqual(v[0], 0)
        self.assertEqual(len(v[1].splitlines()), 15)
        if k:
            self.assertEqual(sorted(v[1].splitlines()), sorted(k[1].splitlines()))
        self.fake.config(watch_seconds=0.6)
        try:
            rc, out, err = self.vcli("logs", pod, "-f", "--tail=1")
            self.assertEqual(rc, 0, err)
            self.assertEqual(len(out.splitlines()), 4)
            self.assertIn("follow 3", out)
        finally:
            self.fake.config(watch_seconds=2.0)

    def test_wait_top_auth(self):
        self.fake.config(forbid=["delete/pods"])
        try:
            self.sequence(["wait", "--for=condition=Available", "deploy/web", "--timeout=5s"],
                          ["wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=5s"],
                          ["top", "pods"], ["top", "nodes"], ["top", "pods", "-A"],
                          ["top", "node", "node-2"],
                          ["auth", "can-i", "list", "pods"], ["auth", "can-i", "delete", "pods"],
                          ["auth", "can-i", "delete", "deploy", "-n", "kube-system"],
                          ["auth", "can-i", "get", "pods/log"])
        finally:
            self.fake.config(forbid=[])
        t0 = time.time()
        rc, out, err = self.vcli("wait", "--for=condition=Nope", "deploy/web", "--timeout=1s")
        self.assertEqual(rc, 1)
        self.assertIn("timed out waiting for the condition", err)
        self.assertLess(time.time() - t0, 20)
        # wait --for=delete returns when the object goes.
        env = dict(os.environ, HOME=self.home(), KUBECONFIG=self.kc)
        p = subprocess.Popen([VCLI, "k8s", "wait", "--for=delete", "pod/debug", "-n", "default",
                              "--timeout=20s"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        self.vcli("delete", "pod", "debug", "-n", "default", "--wait=false")
        out, err = p.communicate(timeout=DEADLINE)
        self.assertEqual((p.returncode, out), (0, "pod/debug deleted\n"), err)
        self.fake.control("POST", "/_fake/reset", {})


class GovExecuteTest(Base):
    """vcli gov approve --execute: a decision's cluster action, checked
    before the approval and carried out after it, on fakekube."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import harness
        cls.gd = harness.Governd(db=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.gd.stop()
        cls.gd.cleanup()
        super().tearDownClass()

    def setUp(self):
        self.fake.control("POST", "/_fake/reset", {})
        self.fake.config(forbid=[])
        self.h = self.home()

    def gov(self, *args, stdin=None):
        env = dict(os.environ, HOME=self.h, KUBECONFIG=self.kc,
                   XDG_STATE_HOME=os.path.join(self.h, "state"),
                   XDG_CONFIG_HOME=os.path.join(self.h, "config"),
                   VCLI_GOVERNANCE_ENDPOINT=self.gd.addr, VCLI_OPERATOR="alice")
        p = subprocess.run([VCLI, "gov"] + list(args), env=env, input=stdin,
                           capture_output=True, text=True, timeout=DEADLINE)
        return p.returncode, p.stdout, p.stderr

    def submit(self, action_type=None, **params):
        doc = {"operationType": "k8s_remediation", "priority": "HIGH", "slaSeconds": 900,
               "riskAssessment": {"score": 0.4, "level": "MEDIUM"},
               "recommendedActions": [{"actionType": "notify", "parameters": {"to": "ops"}}]}
        if action_type:
            doc["recommendedActions"].append(
                {"actionType": action_type, "parameters": params, "confidence": 0.9})
        rc, out, err = self.gov("submit", "-f", "-", stdin=json.dumps(doc))
        self.assertEqual(rc, 0, err)
        return out.strip()

    def decision(self, did):
        rc, out, err = self.gov("get", did, "-o", "json")
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def status(self, did):
        return self.decision(did)["status"]

    def executions(self, did):
        return self.decision(did).get("executions", [])

    def changes(self):
        return [(r["method"], r["path"]) for r in self.fake.requests()
                if r["method"] in ("PATCH", "DELETE", "PUT")]

    def test_scale(self):
        did = self.submit("k8s.scale", resource="deploy", name="web", namespace="shop",
                          replicas="5")
        self.fake.clear()
        rc, out, err = self.gov("approve", did, "--execute", "--comment", "ok")
        self.assertEqual(rc, 0, err)
        self.assertIn("executed: deployment.apps/web scaled to 5", out)
        self.assertEqual(self.status(did), "APPROVED")
        reqs = [r for r in self.fake.requests() if not is_discovery(r)]
        ssar = [r for r in reqs if r["path"].endswith("selfsubjectaccessreviews")]
        self.assertEqual(ssar[0]["body"]["spec"]["resourceAttributes"],
                         {"namespace": "shop", "verb": "patch", "group": "apps",
                          "resource": "deployments", "name": "web", "subresource": "scale"})
        # The check came before the change.
        self.assertLess(reqs.index(ssar[0]), [i for i, r in enumerate(reqs)
                                              if r["method"] == "PATCH"][0])
        self.assertEqual(self.changes(),
                         [("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web/scale")])
        self.assertIn("5/5", self.vcli("get", "deploy", "web", home=self.h)[1])
        # What came of it is on the decision, as governd recorded it.
        self.assertIn("recorded: execution of k8s.scale recorded on decision '%s'" % did, out)
        ex = self.executions(did)
        self.assertEqual(len(ex), 1, ex)
        e = ex[0]
        self.assertEqual((e["actionType"], e["actionIndex"], e["succeeded"], e["detail"]),
                         ("k8s.scale", 1, True, "deployment.apps/web scaled to 5"))
        self.assertEqual(e["executedBy"], "alice")
        self.assertRegex(e["target"], r"^context \S+, cluster https?://127\.0\.0\.1:\d+$")
        self.assertRegex(e["requestId"], r"^vcli-[0-9a-f]{32}\.exec$")
        # The table of `gov get` shows it too.
        rc, out, err = self.gov("get", did)
        self.assertEqual(rc, 0, err)
        self.assertIn("deployment.apps/web scaled to 5", out)

    def test_a_failed_action_is_recorded_as_failed(self):
        # Applying into a namespace that does not exist: the check passes
        # (an access review), the apply is refused with 404.
        manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nowhere\n"
        did = self.submit("k8s.apply", manifest=manifest, namespace="no-such-ns")
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 5, err)
        self.assertIn("approved, but the action on configmap/nowhere failed", err)
        self.assertIn("recorded: execution of k8s.apply", out)
        ex = self.executions(did)
        self.assertEqual([(e["actionType"], e["actionIndex"], e.get("succeeded", False))
                          for e in ex], [("k8s.apply", 1, False)])
        self.assertIn('namespaces "no-such-ns" not found', ex[0]["detail"])

    def test_a_rerun_records_once_and_an_unrecorded_outcome_says_so(self):
        did = self.submit("k8s.scale", name="web", namespace="shop", replicas="3")
        rid = "rerun-" + os.urandom(6).hex()
        for _ in range(2):
            rc, out, err = self.gov("approve", did, "--execute", "--request-id", rid)
            self.assertEqual(rc, 0, err)
        ex = self.executions(did)
        self.assertEqual([e["requestId"] for e in ex], [rid + ".exec"])
        # The record's request id already names another decision: the
        # action runs, the record is refused, exit 14.
        import harness
        taken = "taken-" + os.urandom(6).hex()
        g = harness.Gov.connect(self.gd)
        try:
            g.record_execution(g.session("alice"), did, "k8s.scale", index=1,
                               request_id=taken + ".exec")
        finally:
            g.close()
        did3 = self.submit("k8s.scale", name="web", namespace="shop", replicas="2")
        rc, out, err = self.gov("approve", did3, "--execute", "--request-id", taken)
        self.assertEqual(rc, 14, err)
        self.assertIn("executed: deployment.apps/web scaled to 2", out)
        self.assertIn("cannot record the execution on decision '%s'" % did3, err)
        self.assertIn("(ALREADY_EXISTS)", err)
        self.assertIn("the action ran, but its outcome is not recorded on decision '%s'"
                      % did3, err)
        self.assertEqual(self.status(did3), "APPROVED")
        self.assertEqual(self.executions(did3), [])

    def test_refused_before_anything_changes(self):
        self.fake.config(forbid=["patch/deployments/scale"])
        did = self.submit("k8s.scale", name="web", replicas="0")
        self.fake.clear()
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 10, err)
        self.assertIn("may not patch deployments/scale", err)
        self.assertEqual(self.status(did), "PENDING")
        self.assertEqual(self.changes(), [])
        # A missing object: exit 7, still pending.
        did2 = self.submit("k8s.delete", resource="pod", name="nope")
        rc, out, err = self.gov("approve", did2, "--execute")
        self.assertEqual(rc, 7, err)
        self.assertEqual(self.status(did2), "PENDING")
        # Bad parameters: exit 9.
        did3 = self.submit("k8s.scale", name="web", replicas="many")
        rc, out, err = self.gov("approve", did3, "--execute")
        self.assertEqual(rc, 9, err)
        self.assertIn("'many'", err)
        # No cluster action at all.
        did4 = self.submit()
        rc, out, err = self.gov("approve", did4, "--execute")
        self.assertEqual(rc, 9, err)
        self.assertEqual(self.status(did4), "PENDING")
        self.assertEqual(self.changes(), [])

    def test_without_execute_nothing_moves(self):
        did = self.submit("k8s.delete", resource="deploy", name="web")
        self.fake.clear()
        rc, out, err = self.gov("approve", did)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.status(did), "APPROVED")
        self.assertEqual(self.fake.requests(), [])

    def test_delete_restart_apply(self):
        did = self.submit("k8s.rollout_restart", name="web")
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 0, err)
        self.assertIn("executed: deployment.apps/web restarted", out)
        did = self.submit("k8s.delete", resource="deployment", name="coredns",
                          namespace="kube-system", propagation="orphan", grace_period="5")
        self.fake.clear()
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 0, err)
        d = [r for r in self.fake.requests() if r["method"] == "DELETE"][0]
        self.assertEqual(d["body"], {"gracePeriodSeconds": 5, "propagationPolicy": "Orphan"})
        manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gov-made\n"
                    "data:\n  why: approved\n")
        did = self.submit("k8s.apply", manifest=manifest, namespace="shop")
        self.fake.clear()
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 0, err)
        self.assertIn("executed: configmap/gov-made serverside-applied", out)
        p = [r for r in self.fake.requests() if r["method"] == "PATCH"][0]
        self.assertEqual(p["content_type"], "application/apply-patch+yaml")
        self.assertEqual(p["query"]["fieldManager"], "vcli-gov")
        self.assertEqual(self.vcli("get", "cm", "gov-made", "-o", "jsonpath={.data.why}",
                                   home=self.h)[1], "approved")
        # Approved twice: the second is refused (exit 8), nothing runs.
        self.fake.clear()
        rc, out, err = self.gov("approve", did, "--execute")
        self.assertEqual(rc, 8, err)
        self.assertEqual(self.changes(), [])


class ChunkTest(Base):
    fake_args = ("--pods", "1234")

    def test_chunked_lists(self):
        v = self.compare("get", "pods", "-A")
        self.assertEqual(len(v[1].splitlines()), 1234 + 6 + 1)
        self.compare("get", "pods", "-n", "bulk-07", "-o", "name")
        self.compare("get", "pods", "-A", "-l", "shard=3", "-o", "wide")


class ConfigTest(unittest.TestCase):
    """config subcommands on copies of the same files, merged."""

    A = """apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:1
    certificate-authority: ca.pem
    proxy-url: http://proxy:3128
- name: b
  cluster: {server: "https://b", certificate-authority-data: QUJD, insecure-skip-tls-verify: true}
contexts:
- name: fake
  context: {cluster: fake, user: u, namespace: shop}
users:
- name: u
  user: {token: abc}
- name: x
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./cred.sh
      args: ["a", "on"]
      interactiveMode: Never
current-context: fake
"""
    B = """apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: https://other}
contexts:
- name: zz
  context: {cluster: b, user: x}
users:
- name: v
  user: {username: bob, password: pw, client-certificate: c.pem, client-key-data: S0VZ}
current-context: zz
"""

    def setUp(self):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        self.tmp = tempfile.mkdtemp(prefix="vcli-k8s-config-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def files(self, who):
        d = os.path.join(self.tmp, who)
        os.makedirs(d, exist_ok=True)
        for n, t in (("a.yaml", self.A), ("b.yaml", self.B)):
            with open(os.path.join(d, n), "w") as f:
                f.write(t)
        return "%s/a.yaml:%s/b.yaml:%s/missing.yaml" % (d, d, d)

    def run_both(self, *args):
        out = []
        for who, argv in (("k", [KUBECTL]), ("v", [VCLI, "k8s"])):
            env = dict(os.environ, HOME=self.tmp, KUBECONFIG=self.files(who))
            p = subprocess.run(argv + list(args), env=env, capture_output=True, text=True,
                               timeout=DEADLINE)
            contents = [open(os.path.join(self.tmp, who, n)).read()
                        for n in ("a.yaml", "b.yaml")]
            out.append((p.returncode, p.stdout, norm_err(p.stderr), contents))
        self.assertEqual(out[1], out[0], " ".join(args))

    def test_read(self):
        for args in (["config", "view"], ["config", "view", "--minify"],
                     ["config", "view", "--raw"], ["config", "view", "--minify", "--context", "zz"],
                     ["config", "get-contexts"], ["config", "get-contexts", "-o", "name"],
                     ["config", "get-contexts", "zz"], ["config", "current-context"]):
            with self.subTest(args=args):
                self.run_both(*args)

    def test_write(self):
        for args in (["config", "use-context", "zz"], ["config", "use-context", "nope"],
                     ["config", "set-context", "--current", "--namespace=prod"],
                     ["config", "set-context", "newctx", "--cluster=b", "--user=u"],
                     ["config", "set-context", "zz", "--namespace=ops"]):
            with self.subTest(args=args):
                self.run_both(*args)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=DEADLINE)


class TlsAuthTest(unittest.TestCase):
    """HTTPS with each kind of credential the kubeconfig can carry."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vcli-k8s-tls-")
        t = cls.tmp
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "2", "-subj", "/CN=fake-ca", cwd=t)
        with open(os.path.join(t, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=t)
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
                cwd=t)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key",
                "-out", "client.csr", "-subj", "/CN=alice", cwd=t)
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "client.pem", "-days", "2", cwd=t)
        cls.fake = Fake("--tls-cert", os.path.join(t, "server.pem"),
                        "--tls-key", os.path.join(t, "server.key"),
                        "--client-ca", os.path.join(t, "ca.pem"),
                        "--token", "tok-1", "--token", "exec-tok", "--basic", "bob:pw")
        import ssl
        cls.ctx = ssl.create_default_context(cafile=os.path.join(t, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def b64(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return base64.b64encode(f.read()).decode()

    def try_user(self, user, cluster=None, tool="vcli", expect_auth=None, rc_want=0):
        if cluster is None:
            cluster = {"certificate-authority-data": self.b64("ca.pem")}
        kc = os.path.join(self.tmp, "kc-%s.json" % tool)
        with open(kc, "w") as f:
            json.dump(kubeconfig(self.fake.url, user, extra_cluster=cluster), f)
        self.fake.clear(ctx=self.ctx)
        argv = [VCLI, "k8s", "get", "pods"] if tool == "vcli" else [KUBECTL, "get", "pods"]
        env = dict(os.environ, HOME=self.home, KUBECONFIG=kc)
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(p.returncode, rc_want, p.stderr)
        if expect_auth is not None:
            auths = {r["auth"] for r in self.fake.requests(ctx=self.ctx)}
            self.assertEqual(auths, {expect_auth})
        return p

    def setUp(self):
        self.home = tempfile.mkdtemp(dir=self.tmp)

    def test_token_and_ca_data(self):
        p = self.try_user({"token": "tok-1"}, expect_auth="bearer:tok-1")
        self.assertIn("web-", p.stdout)
        if KUBECTL:
            k = self.try_user({"token": "tok-1"}, tool="kubectl", expect_auth="bearer:tok-1")
            self.assertEqual(k.stdout, p.stdout)

    def test_ca_file_token_file(self):
        tf = os.path.join(self.tmp, "token")
        with open(tf, "w") as f:
            f.write("tok-1\n")
        self.try_user({"tokenFile": tf}, cluster={"certificate-authority":
                                                 os.path.join(self.tmp, "ca.pem")},
                      expect_auth="bearer:tok-1")

    def test_basic(self):
        self.try_user({"username": "bob", "password": "pw"}, expect_auth="basic:bob:pw")

    def test_client_cert_data_and_files(self):
        self.try_user({"client-certificate-data": self.b64("client.pem"),
                       "client-key-data": self.b64("client.key")}, expect_auth="cert:alice")
        self.try_user({"client-certificate": os.path.join(self.tmp, "client.pem"),
                       "client-key": os.path.join(self.tmp, "client.key")},
                      expect_auth="cert:alice")

    def test_insecure_and_bad_ca(self):
        self.try_user({"token": "tok-1"}, cluster={"insecure-skip-tls-verify": True},
                      expect_auth="bearer:tok-1")
        p = self.try_user({"token": "tok-1"}, cluster={}, rc_want=1)
        self.assertIn("vcli: ", p.stderr)

    def test_unauthorized(self):
        p = self.try_user({"token": "wrong"}, rc_want=1)
        want = "You must be logged in to the server (the server has asked for the client " \
               "to provide credentials)"
        self.assertEqual(p.stderr, "vcli: %s\n" % want)
        if KUBECTL:
            k = self.try_user({"token": "wrong"}, tool="kubectl", rc_want=1)
            self.assertIn(want, k.stderr)

    def test_exec_plugin(self):
        for api in ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"):
            with self.subTest(api=api):
                counter = os.path.join(self.tmp, "count-" + api.rsplit("/", 1)[1])
                script = os.path.join(self.tmp, "cred-" + api.rsplit("/", 1)[1] + ".sh")
                exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
                with open(script, "w") as f:
                    f.write("#!/bin/sh\necho x >> %s\n"
                            "case \"$KUBERNETES_EXEC_INFO\" in *%s*) ;; *) exit 3;; esac\n"
                            "test \"$1\" = arg1 || exit 4\n"
                            "test \"$CRED_ENV\" = yes || exit 5\n"
                            "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
                            "\"status\":{\"token\":\"exec-tok\",\"expirationTimestamp\":\"%s\"}}'\n"
                            % (counter, api, api, exp))
                os.chmod(script, 0o755)
                user = {"exec": {"apiVersion": api, "command": script, "args": ["arg1"],
                                 "env": [{"name": "CRED_ENV", "value": "yes"}],
                                 "interactiveMode": "Never"}}
                self.try_user(user, expect_auth="bearer:exec-tok")
                self.try_user(user, expect_auth="bearer:exec-tok")
                with open(counter) as f:
                    self.assertEqual(len(f.read().split()), 1, "cached until it expires")
                if KUBECTL:
                    self.try_user(user, tool="kubectl", expect_auth="bearer:exec-tok")

    def test_exec_plugin_errors(self):
        p = self.try_user({"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                    "command": "/nonexistent/plugin",
                                    "interactiveMode": "Never"}}, rc_want=1)
        self.assertIn("/nonexistent/plugin", p.stderr)
        p = self.try_user({"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                    "command": "true"}}, rc_want=1)
        self.assertIn("interactiveMode must be specified", p.stderr)


if __name__ == "__main__":
    if not VCLI or not FAKEKUBE:
        sys.exit("set VCLI and FAKEKUBE")
    unittest.main(verbosity=2)
