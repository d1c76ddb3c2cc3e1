#!/usr/bin/python3
"""vcli k8s next to kubectl, for what kubectl users reach for first:
-o custom-columns, --sort-by, config view --flatten, a cluster's
tls-server-name and describe of every kind (docs/commands/k8s.md).

The machinery is test_k8s.py's: fakekube on a free loopback port, kubectl
then vcli with the same kubeconfig and a fresh HOME each, the same
requests (beyond discovery), stdout, exit code and message.  Without
kubectl 1.30 or newer the comparisons are skipped.

Environment: VCLI (the binary), FAKEKUBE (the fake server's script).
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_k8s as tk  # noqa: E402  (the fake, the comparisons)

KUBECTL = tk.KUBECTL

# ConfigMaps whose names and values exercise kubectl's ordering: numbers
# against numbers, quantities (9 < 2k), byte order otherwise (a10 < a9).
SORT_CMS = ["a10", "a9", "a09", "b1", "10", "9", "1000", "2k", "1Ki",
            "x-2169dd42", "x-23b80e68"]


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                        "k8s", "describe")


def describe_objects():
    """The describe fixtures with what a cluster adds: defaults and status
    (fixed times: describe prints them as dates)."""
    def fx(name):
        with open(os.path.join(FIXTURES, name)) as f:
            o = json.load(f)
        o["metadata"].pop("creationTimestamp", None)
        tmpl = o.get("spec", {}).get("template", {}).get("metadata")
        if tmpl is not None:
            tmpl.pop("creationTimestamp", None)
        return o

    objs = []
    sec = fx("secret-db.json")
    sec["data"]["ca.crt"] = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" * 3).decode()
    objs.append(sec)
    objs.append(fx("sa-builder.json"))
    quota = fx("quota-shop.json")
    quota["status"] = {"hard": {"pods": "10", "requests.cpu": "4"},
                       "used": {"pods": "4", "requests.cpu": "250m"}}
    objs.append(quota)
    job = fx("job-migrate.json")
    uid = "0b3c9a52-5d0e-4a8e-9d55-3f0c2f4a1a77"
    job["metadata"]["uid"] = uid
    job["metadata"]["labels"] = {"batch.kubernetes.io/controller-uid": uid,
                                 "batch.kubernetes.io/job-name": "migrate",
                                 "controller-uid": uid, "job-name": "migrate"}
    job["spec"].update({"parallelism": 1, "completions": 1, "backoffLimit": 6,
                        "completionMode": "NonIndexed", "suspend": False,
                        "podReplacementPolicy": "TerminatingOrFailed",
                        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                        "manualSelector": False})
    job["spec"]["template"]["metadata"]["labels"] = dict(job["metadata"]["labels"])
    job["status"] = {"startTime": "2026-03-01T03:00:00Z",
                     "completionTime": "2026-03-01T03:00:07Z", "succeeded": 1,
                     "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                     "conditions": [{"type": "Complete", "status": "True",
                                     "lastProbeTime": "2026-03-01T03:00:07Z",
                                     "lastTransitionTime": "2026-03-01T03:00:07Z"}]}
    objs.append(job)
    cj = fx("cronjob-nightly.json")
    cj["spec"].update({"concurrencyPolicy": "Allow", "suspend": False,
                       "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1})
    cj["spec"]["jobTemplate"].setdefault("metadata", {}).pop("creationTimestamp", None)
    cj["spec"]["jobTemplate"]["spec"]["template"].get("metadata", {}).pop(
        "creationTimestamp", None)
    cj["status"] = {"lastScheduleTime": "2026-03-01T03:00:00Z",
                    "lastSuccessfulTime": "2026-03-01T03:00:09Z"}
    objs.append(cj)
    ing = fx("ingress-web.json")
    ing["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    objs.append(ing)
    sts = fx("sts-db.json")
    sts["spec"]["template"]["spec"].update({"restartPolicy": "Always",
                                            "terminationGracePeriodSeconds": 30})
    sts["status"] = {"replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                     "updatedReplicas": 2, "availableReplicas": 2,
                     "currentRevision": "db-6d4f8b7c9", "updateRevision": "db-6d4f8b7c9",
                     "observedGeneration": 1, "collisionCount": 0}
    objs.append(sts)
    ds = fx("ds-agent.json")
    ds["status"] = {"currentNumberScheduled": 2, "desiredNumberScheduled": 2,
                    "numberAvailable": 2, "numberMisscheduled": 0, "numberReady": 2,
                    "observedGeneration": 1, "updatedNumberScheduled": 2}
    objs.append(ds)
    pvc = fx("pvc-data.json")
    pvc["metadata"]["annotations"] = {"pv.kubernetes.io/bind-completed": "yes"}
    pvc["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                     "capacity": {"storage": "1Gi"}}
    objs.append(pvc)
    # A custom resource with every kind of value, for the generic describer.
    objs.append({"apiVersion": "example.com/v1", "kind": "Widget",
                 "metadata": {"name": "sprocket", "namespace": "shop",
                              "annotations": {"team": "gears"},
                              "finalizers": ["example.com/cleanup"]},
                 "spec": {"size": 3, "ratio": 1.5, "enabled": True, "tags": ["a", "b"],
                          "ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}],
                          "ownerURL": "https://example.com", "maxHTTPRetries": 3,
                          "apiVersionHint": "v2", "nested": {"deepValue": None, "x_y": 1}},
                 "status": {"phase": "Ready", "observedGeneration": 2,
                            "conditions": [{"type": "Ready", "status": "True"}]}})
    return objs


def usage_error(self, args, want):
    """vcli refuses a bad command line with exit 2 where kubectl says 1;
    the message is kubectl's."""
    rc, out, err = self.vcli(*args)
    self.assertEqual(rc, 2, err)
    self.assertEqual(out, "")
    self.assertIn(want, err)
    if KUBECTL:
        k = self.kubectl(*args)
        self.assertEqual(k[0], 1)
        self.assertIn(want, k[2])


class ColumnsTest(tk.Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        docs = [{"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "sort"}, "status": {"phase": "Active"}}]
        for n in SORT_CMS:
            docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": n, "namespace": "sort"},
                         "data": {"x": n}})
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "nodata", "namespace": "sort"}})
        cls.fake.control("POST", "/_fake/objects", docs)

    def test_custom_columns(self):
        cc = ("NAME:.metadata.name,NS:metadata.namespace,IP:{.status.podIP},"
              "C:{.spec.containers[*].name},SPEC:.spec.containers,L:.metadata.labels,"
              "READY:.status.containerStatuses[0].ready,NONE:.spec.nope")
        for args in (["get", "po", "-o", "custom-columns=" + cc],
                     ["get", "po", "-A", "-o", "custom-columns=" + cc],
                     ["get", "po", "-A", "--no-headers", "-o", "custom-columns=" + cc],
                     ["get", "deploy", "web", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas"],
                     ["get", "po,deploy", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas"],
                     ["get", "deploy/web", "svc/web", "-o", "custom-columns=KIND:.kind,N:.metadata.name"],
                     ["get", "no", "-o", "custom-columns=N:.metadata.name,CPU:.status.capacity.cpu,"
                      "T:.spec.taints"],
                     ["get", "wd", "-o", "custom-columns=N:.metadata.name,SIZE:.spec.size"],
                     ["get", "secrets", "-o", "custom-columns=N:.metadata.name"],
                     ["get", "po", "nope", "-o", "custom-columns=N:.metadata.name"],
                     ["get", "po", "-l", "app=web", "-o", "custom-columns=A:.metadata.name,B:"],
                     ["get", "cm", "-n", "sort", "-o", "custom-columns=N:.metadata.name,D:.data"]):
            with self.subTest(args=args):
                self.compare(*args)

    def test_custom_columns_file(self):
        path = os.path.join(self.tmp, "cols.txt")
        with open(path, "w") as f:
            f.write("NAME   NODE           IMAGES\n"
                    ".metadata.name  {.spec.nodeName}  .spec.containers[*].image\n")
        self.compare("get", "po", "-A", "-o", "custom-columns-file=" + path)
        self.compare("get", "po", "-A", "--no-headers", "--sort-by=.spec.nodeName",
                     "-o", "custom-columns-file=" + path)
        bad = os.path.join(self.tmp, "bad.txt")
        with open(bad, "w") as f:
            f.write("A B\n.metadata.name\n")
        usage_error(self, ["get", "po", "-o", "custom-columns-file=" + bad],
                    "number of headers (2) and field specifications (1) don't match")
        usage_error(self, ["get", "po", "-o", "custom-columns-file=/nonexistent/cols"],
                    "error reading template /nonexistent/cols, open /nonexistent/cols: "
                    "no such file or directory")

    def test_custom_columns_errors(self):
        usage_error(self, ["get", "po", "-o", "custom-columns=NAME"],
                    "unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>")
        usage_error(self, ["get", "po", "-o", "custom-columns="],
                    "custom-columns format specified but no custom columns given")
        usage_error(self, ["get", "po", "-o", "custom-columns=A:{{x}}"],
                    "unexpected path string, expected a 'name1.name2' or '.name1.name2' "
                    "or '{name1.name2}' or '{.name1.name2}'")

    def test_sort_by_tables(self):
        for args in (["get", "po", "-A", "--sort-by=.metadata.name"],
                     ["get", "po", "-A", "--sort-by={.metadata.creationTimestamp}"],
                     ["get", "po", "-A", "--sort-by=.status.startTime", "-o", "wide"],
                     ["get", "po", "-A", "--sort-by=status.podIP"],
                     ["get", "po", "-A", "--sort-by=.metadata.uid", "--no-headers"],
                     ["get", "rs", "-A", "--sort-by=.spec.replicas"],
                     ["get", "deploy", "-A", "--sort-by=.status.readyReplicas"],
                     ["get", "cm", "-n", "sort", "--sort-by=.metadata.name"],
                     ["get", "cm", "-n", "sort", "--sort-by=.data.x"],
                     ["get", "no", "--sort-by=.metadata.name", "--show-labels"],
                     ["get", "po", "-A", "-l", "app=web", "--sort-by=.spec.nodeName"],
                     # Nothing has the field: kubectl prints nothing.
                     ["get", "po", "-A", "--sort-by=.spec.replicas"],
                     # One row is left alone.
                     ["get", "deploy", "web", "--sort-by=.nope"],
                     # Several types: kubectl refuses.
                     ["get", "cm,deploy", "--sort-by=.metadata.name"],
                     ["get", "secrets", "--sort-by=.metadata.name"]):
            with self.subTest(args=args):
                self.compare(*args)

    def test_sort_by_objects(self):
        for args in (["get", "cm", "-n", "sort", "--sort-by=.data.x", "-o", "name"],
                     ["get", "cm", "-n", "sort", "--sort-by=.metadata.name", "-o",
                      "custom-columns=N:.metadata.name,X:.data.x"],
                     ["get", "po,deploy,rs", "-A", "--sort-by=.metadata.creationTimestamp",
                      "-o", "name"],
                     ["get", "deploy,rs", "-A", "--sort-by=.spec.replicas", "-o",
                      "jsonpath={range .items[*]}{.metadata.name}{\" \"}{end}"],
                     ["get", "po", "-A", "--sort-by=.status.podIP", "-o", "json"],
                     ["get", "po", "-A", "--sort-by=.nope", "-o", "name"],
                     ["get", "secrets", "--sort-by=.nope", "-o", "name"],
                     ["get", "deploy", "web", "--sort-by=.nope", "-o", "name"]):
            with self.subTest(args=args):
                self.compare(*args)


def request_terms(reqs):
    """Requests as a set of (method, path, query, field selector terms):
    kubectl reads each object twice (JSON, then protobuf) and builds some
    field selectors from a Go map (any order)."""
    out = set()
    for r in reqs:
        if tk.is_discovery(r):
            continue
        q = dict(r["query"])
        fs = q.pop("fieldSelector", None)
        out.add((r["method"], r["path"], tuple(sorted(q.items())),
                 tuple(sorted(fs.split(","))) if fs else ()))
    return out


class DescribeTest(tk.Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake.control("POST", "/_fake/objects", describe_objects())

    def compare_describe(self, *args, any_order=False):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        self.fake.clear()
        k = self.kubectl(*args)
        kreq = request_terms(self.fake.requests())
        self.fake.clear()
        v = self.vcli(*args)
        vreq = request_terms(self.fake.requests())
        what = " ".join(args)
        if any_order:
            # kubectl walks a Go map there: its order is random.
            self.assertEqual(sorted(v[1].splitlines()), sorted(k[1].splitlines()), what)
        else:
            self.assertEqual(v[1], k[1], "stdout of '%s'" % what)
        self.assertEqual(v[0], k[0], "exit code of '%s': %s" % (what, v[2]))
        self.assertEqual(tk.norm_err(v[2]), tk.norm_err(k[2]), "stderr of '%s'" % what)
        self.assertEqual(vreq, kreq, "requests of '%s'" % what)
        return v

    def test_kinds(self):
        for args in (["describe", "cm", "web-conf"], ["describe", "configmaps"],
                     ["describe", "ns", "shop"], ["describe", "ns", "default"],
                     ["describe", "sa", "builder"], ["describe", "quota"],
                     ["describe", "rs", "-n", "kube-system"], ["describe", "rs/web-rp2cvn992s"],
                     ["describe", "sts", "db"], ["describe", "ds", "agent", "-n", "kube-system"],
                     ["describe", "job", "migrate"], ["describe", "cj", "nightly"],
                     ["describe", "ing", "web"], ["describe", "pvc", "data-db-0"],
                     ["describe", "jobs.batch"], ["describe", "job", "mig"],
                     ["describe", "sts", "nope"], ["describe", "deploy", "w"],
                     ["describe", "sts/db", "ing/web"], ["describe", "rs", "-l", "app=web"]):
            with self.subTest(args=args):
                self.compare_describe(*args)

    def test_secret_values_hidden(self):
        v = self.compare_describe("describe", "secret", "db", any_order=True)
        self.assertNotIn("s3cret", v[1])
        self.assertIn("password:  6 bytes", v[1])
        self.assertIn("ca.crt:    84 bytes", v[1])

    def test_generic(self):
        for args in (["describe", "wd", "gear"], ["describe", "widgets.example.com", "sprocket"],
                     ["describe", "wd"]):
            with self.subTest(args=args):
                self.compare_describe(*args)

    def test_refused(self):
        # kubectl has a describer of its own for these; vcli says so
        # rather than print them another way.
        rc, out, err = self.vcli("describe", "limitranges", "x")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("describing limitrange is not supported yet", err)


class FlattenTest(unittest.TestCase):
    """config view --flatten on two merged files whose references are
    relative to each file's own directory."""

    def setUp(self):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        self.tmp = tempfile.mkdtemp(prefix="vcli-k8s-flatten-")
        for d in ("one", "two"):
            os.makedirs(os.path.join(self.tmp, d))
        for name, data in (("one/ca.crt", b"CA-ONE\n"), ("two/ca.crt", b"CA-TWO\x00\xff\n"),
                           ("two/c.crt", b"CERT\n"), ("two/c.key", b"KEY" * 100)):
            with open(os.path.join(self.tmp, name), "wb") as f:
                f.write(data)
        with open(os.path.join(self.tmp, "one", "config"), "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "a",
                       "clusters": [{"name": "a", "cluster": {
                           "server": "https://10.0.0.1", "certificate-authority": "ca.crt",
                           "tls-server-name": "api.example"}}],
                       "contexts": [{"name": "a", "context": {"cluster": "a", "user": "ua",
                                                              "namespace": "ns1"}}],
                       "users": [{"name": "ua", "user": {"token": "tok-a"}}]}, f)
        with open(os.path.join(self.tmp, "two", "config"), "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "b", "cluster": {
                           "server": "https://10.0.0.2", "certificate-authority": "ca.crt"}},
                                    {"name": "c", "cluster": {
                                        "server": "https://10.0.0.3",
                                        "certificate-authority-data": "Q0EK"}}],
                       "contexts": [{"name": "b", "context": {"cluster": "b", "user": "ub"}}],
                       "users": [{"name": "ub", "user": {
                           "client-certificate": "c.crt",
                           "client-key": os.path.join(self.tmp, "two", "c.key"),
                           "tokenFile": "tok.txt", "password": "pw", "username": "bob"}}]},
                      f)
        self.kc = "%s/one/config:%s/two/config" % (self.tmp, self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def both(self, *args):
        out = []
        for argv in ([KUBECTL], [tk.VCLI, "k8s"]):
            env = dict(os.environ, HOME=self.tmp, KUBECONFIG=self.kc)
            p = subprocess.run(argv + list(args), env=env, capture_output=True,
                               text=True, timeout=tk.DEADLINE, cwd="/")
            out.append((p.returncode, p.stdout, tk.norm_err(p.stderr)))
        self.assertEqual(out[1], out[0], " ".join(args))
        return out[1]

    def test_flatten(self):
        for args in (["config", "view", "--flatten"],
                     ["config", "view", "--flatten", "--minify"],
                     ["config", "view", "--flatten", "--minify", "--context", "b"],
                     ["config", "view", "--flatten", "--raw"]):
            with self.subTest(args=args):
                rc, out, _ = self.both(*args)
                self.assertEqual(rc, 0)
                self.assertNotIn("DATA+OMITTED", out)
        rc, out, _ = self.both("config", "view", "--flatten")
        self.assertIn("certificate-authority-data: %s" % base64.b64encode(
            b"CA-TWO\x00\xff\n").decode(), out)
        self.assertNotIn("ca.crt", out)

    def test_flatten_missing_file(self):
        os.unlink(os.path.join(self.tmp, "two", "c.crt"))
        rc, out, err = self.both("config", "view", "--flatten")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("open %s/two/c.crt: no such file or directory" % self.tmp, err)
        # --minify to a context that does not use it: no error.
        rc, out, err = self.both("config", "view", "--flatten", "--minify")
        self.assertEqual(rc, 0)


class TlsServerNameTest(unittest.TestCase):
    """A server whose certificate names api.internal.test only, reached at
    127.0.0.1: tls-server-name makes it verifiable, as with kubectl."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vcli-k8s-sni-")
        t = cls.tmp
        tk.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                   "-out", "ca.pem", "-days", "2", "-subj", "/CN=fake-ca", cwd=t)
        with open(os.path.join(t, "san.ext"), "w") as f:
            f.write("subjectAltName=DNS:api.internal.test\n")
        tk.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                   "-out", "server.csr", "-subj", "/CN=api.internal.test", cwd=t)
        tk.openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                   "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile",
                   "san.ext", cwd=t)
        cls.fake = tk.Fake("--tls-cert", os.path.join(t, "server.pem"),
                           "--tls-key", os.path.join(t, "server.key"), "--token", "tok-1")
        import ssl
        cls.ctx = ssl.create_default_context(cafile=os.path.join(t, "ca.pem"))
        cls.ctx.check_hostname = False

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_both(self, cluster, *extra):
        """(rc, stdout, requests) of kubectl, then of vcli."""
        kc = os.path.join(self.tmp, "kc.json")
        cluster = dict({"certificate-authority": os.path.join(self.tmp, "ca.pem")},
                       **cluster)
        with open(kc, "w") as f:
            json.dump(tk.kubeconfig(self.fake.url, {"token": "tok-1"},
                                    extra_cluster=cluster), f)
        out = []
        tools = ([KUBECTL], [tk.VCLI, "k8s"]) if KUBECTL else ([tk.VCLI, "k8s"],)
        for argv in tools:
            self.fake.clear(ctx=self.ctx)
            env = dict(os.environ, HOME=tempfile.mkdtemp(dir=self.tmp), KUBECONFIG=kc)
            p = subprocess.run(argv + ["get", "pods"] + list(extra), env=env,
                               capture_output=True, text=True, timeout=tk.DEADLINE)
            out.append((p.returncode, p.stdout, self.fake.requests(ctx=self.ctx), p.stderr))
        return out

    def check(self, cluster, *extra, ok):
        runs = self.run_both(cluster, *extra)
        for rc, out, reqs, err in runs:
            self.assertEqual(rc, 0 if ok else 1, err)
            if ok:
                self.assertIn("web-", out)
            else:
                self.assertEqual(out, "")
        if len(runs) == 2:
            self.assertEqual(runs[1][1], runs[0][1])
        return runs

    def test_name_verifies(self):
        runs = self.check({"tls-server-name": "api.internal.test"}, ok=True)
        for rc, out, reqs, err in runs:
            self.assertEqual({r["sni"] for r in reqs}, {"api.internal.test"})
            self.assertEqual({r["host"] for r in reqs}, {"127.0.0.1:%d" % self.fake.port})

    def test_without_name_or_wrong_name(self):
        runs = self.check({}, ok=False)
        self.assertIn("certificate", runs[-1][3])
        self.check({"tls-server-name": "other.internal.test"}, ok=False)

    def test_flags(self):
        # --tls-server-name on the command line.
        self.check({}, "--tls-server-name", "api.internal.test", ok=True)
        # --server without --tls-server-name drops the cluster's name ...
        self.check({"tls-server-name": "api.internal.test"}, "--server", self.fake.url,
                   ok=False)
        # ... and with it keeps the flag's.
        self.check({}, "--server", self.fake.url, "--tls-server-name",
                   "api.internal.test", ok=True)

    def test_insecure_still_sends_name(self):
        runs = self.check({"tls-server-name": "api.internal.test",
                           "insecure-skip-tls-verify": True,
                           "certificate-authority": None}, ok=True)
        for rc, out, reqs, err in runs:
            self.assertEqual({r["sni"] for r in reqs}, {"api.internal.test"})


class ManyPodsTest(tk.Base):
    fake_args = ("--pods", "40")

    def test_sort_by_many(self):
        """Beyond 12 objects (Go sorts them otherwise than by insertion):
        distinct keys come out as kubectl's."""
        for args in (["get", "po", "-A", "--sort-by=.metadata.uid"],
                     ["get", "po", "-A", "--sort-by=.metadata.uid", "-o", "name"],
                     ["get", "po", "-A", "--sort-by=.status.podIP",
                      "-o", "custom-columns=N:.metadata.name,IP:.status.podIP"]):
            with self.subTest(args=args):
                self.compare(*args)


if __name__ == "__main__":
    if not tk.VCLI or not tk.FAKEKUBE:
        sys.exit("set VCLI and FAKEKUBE")
    unittest.main(verbosity=2)
