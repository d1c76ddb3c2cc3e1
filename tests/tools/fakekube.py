#!/usr/bin/python3
"""fakekube: a stand-in Kubernetes API server for the tests of `vcli k8s`.

It serves what kubectl and vcli need to be compared request for request:
discovery (/api, /apis and every group version, a CRD included), objects
made from kubectl's own dry-run output (tests/fixtures/k8s/) with the status
a cluster would give them, lists with label and field selectors and
limit/continue chunks, server-side Table responses (Accept:
application/json;as=Table;v=v1;g=meta.k8s.io), watch streams, pod logs, the
scale subresource, JSON merge / strategic merge patches, server-side apply
(application/apply-patch+yaml), deletes with DeleteOptions, self subject
access reviews and metrics.k8s.io.

Errors come as the API server's Status objects: 404 for an unknown
namespace or object, 403 for a verb/resource pair listed with --forbid,
401 without the configured credentials.

Every request is recorded (method, path, query, content type, accept,
body, authorization scheme) and can be read back, so that a test can
compare what two clients sent:
  GET    /_fake/requests    the records, in order (JSON list)
  DELETE /_fake/requests    forget them
  POST   /_fake/reset       back to the fixtures (for commands that change them)
  POST   /_fake/config      {"forbid": ["list/pods", ...],
                             "watch_seconds": 2.0}
  POST   /_fake/objects     [object, ...]: stored as they are (not kept
                            across a reset)

It listens on 127.0.0.1 on a port the kernel picks and prints
"PORT <n>" on its first line of stdout.  Plain HTTP by default; with
--tls-cert/--tls-key it speaks TLS, and with --client-ca it asks for
(and accepts) client certificates signed by that CA.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "fixtures", "k8s")

# ---------------------------------------------------------------- discovery

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
             "update", "watch"]


def res(name, singular, kind, namespaced, short=None, verbs=None,
        categories=None):
    d = {"name": name, "singularName": singular, "namespaced": namespaced,
         "kind": kind, "verbs": verbs or ALL_VERBS}
    if short:
        d["shortNames"] = short
    if categories:
        d["categories"] = categories
    return d


def sub(name, kind, namespaced, verbs, group=None, version=None):
    d = {"name": name, "singularName": "", "namespaced": namespaced,
         "kind": kind, "verbs": verbs}
    if group is not None:
        d["group"] = group
        d["version"] = version
    return d


GROUPS = [
    ("", "v1", [
        res("configmaps", "configmap", "ConfigMap", True, ["cm"]),
        res("events", "event", "Event", True, ["ev"]),
        res("limitranges", "limitrange", "LimitRange", True, ["limits"]),
        res("namespaces", "namespace", "Namespace", False, ["ns"],
            ["create", "delete", "get", "list", "patch", "update", "watch"]),
        sub("namespaces/status", "Namespace", False, ["get", "patch", "update"]),
        res("nodes", "node", "Node", False, ["no"]),
        sub("nodes/status", "Node", False, ["get", "patch", "update"]),
        res("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
            True, ["pvc"]),
        res("pods", "pod", "Pod", True, ["po"], categories=["all"]),
        sub("pods/log", "Pod", True, ["get"]),
        sub("pods/status", "Pod", True, ["get", "patch", "update"]),
        res("resourcequotas", "resourcequota", "ResourceQuota", True, ["quota"]),
        res("secrets", "secret", "Secret", True),
        res("serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"]),
        res("services", "service", "Service", True, ["svc"],
            categories=["all"]),
        sub("services/status", "Service", True, ["get", "patch", "update"]),
    ]),
    ("apps", "v1", [
        res("controllerrevisions", "controllerrevision", "ControllerRevision",
            True),
        res("daemonsets", "daemonset", "DaemonSet", True, ["ds"],
            categories=["all"]),
        res("deployments", "deployment", "Deployment", True, ["deploy"],
            categories=["all"]),
        sub("deployments/scale", "Scale", True, ["get", "patch", "update"],
            "autoscaling", "v1"),
        sub("deployments/status", "Deployment", True, ["get", "patch", "update"]),
        res("replicasets", "replicaset", "ReplicaSet", True, ["rs"],
            categories=["all"]),
        sub("replicasets/scale", "Scale", True, ["get", "patch", "update"],
            "autoscaling", "v1"),
        res("statefulsets", "statefulset", "StatefulSet", True, ["sts"],
            categories=["all"]),
        sub("statefulsets/scale", "Scale", True, ["get", "patch", "update"],
            "autoscaling", "v1"),
    ]),
    ("batch", "v1", [
        res("cronjobs", "cronjob", "CronJob", True, ["cj"], categories=["all"]),
        res("jobs", "job", "Job", True, categories=["all"]),
    ]),
    ("networking.k8s.io", "v1", [
        res("ingresses", "ingress", "Ingress", True, ["ing"]),
    ]),
    ("authorization.k8s.io", "v1", [
        res("selfsubjectaccessreviews", "selfsubjectaccessreview",
            "SelfSubjectAccessReview", False, verbs=["create"]),
    ]),
    ("metrics.k8s.io", "v1beta1", [
        res("nodes", "", "NodeMetrics", False, verbs=["get", "list"]),
        res("pods", "", "PodMetrics", True, verbs=["get", "list"]),
    ]),
    ("example.com", "v1", [
        res("widgets", "widget", "Widget", True, ["wd"]),
    ]),
]


def gv_string(group, version):
    return version if not group else group + "/" + version


def find_resource(group, version, plural):
    for g, v, lst in GROUPS:
        if g == group and v == version:
            for r in lst:
                if r["name"] == plural:
                    return r
    return None


# ---------------------------------------------------------------- helpers

def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    minutes = s // 60
    if minutes < 10:
        return "%dm" % minutes if s % 60 == 0 else "%dm%ds" % (minutes, s % 60)
    if minutes < 180:
        return "%dm" % minutes
    hours = s // 3600
    if hours < 8:
        return "%dh" % hours if minutes % 60 == 0 else "%dh%dm" % (hours, minutes % 60)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        return "%dd" % (hours // 24) if hours % 24 == 0 else \
            "%dd%dh" % (hours // 24, hours % 24)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else \
            "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def merge_patch(target, patch):
    """RFC 7386 (also used for strategic merge patches: lists replace)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(obj, ops):
    """RFC 6902: add, replace, remove (what kubectl rollout undo sends)."""
    out = copy.deepcopy(obj)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        cur = out
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(cur, list):
                cur[int(last)] = op["value"]
            else:
                cur[last] = op["value"]
        elif op["op"] == "remove":
            del cur[int(last) if isinstance(cur, list) else last]
        else:
            raise ApiError(422, "Invalid", "unsupported json patch op %r" % op["op"])
    return out


def pb_fields(b):
    """The fields of a protobuf message, schema-less: (number, value)."""
    out, i = [], 0

    def varint(i):
        v = s = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7f) << s
            s += 7
            if c < 0x80:
                return v, i
    while i < len(b):
        key, i = varint(i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(i)
        elif wt == 2:
            n, i = varint(i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError("wire type %d" % wt)
        out.append((f, v))
    return out


def ssar_from_protobuf(body):
    """kubectl sends SelfSubjectAccessReviews as protobuf: the k8s envelope
    (magic, runtime.Unknown), then spec.resourceAttributes' strings."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("no k8s protobuf envelope")
    raw = dict(pb_fields(body[4:])).get(2, b"")
    spec = dict(pb_fields(raw)).get(2, b"")
    attrs = dict(pb_fields(spec)).get(1, b"")
    names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
             6: "subresource", 7: "name"}
    ra = {names[f]: v.decode() for f, v in pb_fields(attrs) if f in names and v}
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {}, "spec": {"resourceAttributes": ra}}


def get_path(obj, dotted):
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


# label selectors: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a
_SEL_RE = re.compile(r"\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|"
                     r"\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def split_selector(sel):
    parts, depth, cur = [], 0, ""
    for c in sel:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(sel):
    reqs = []
    for p in split_selector(sel):
        m = _SEL_RE.match(p)
        if not m:
            raise ValueError("unable to parse requirement: %r" % p)
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            reqs.append(("!", key, None))
        elif op:
            reqs.append(("!=" if op == "!=" else "=", key, val))
        elif setop:
            reqs.append((setop, key, [x.strip() for x in setvals.split(",")]))
        else:
            reqs.append(("exists", key, None))
    return reqs


def labels_match(reqs, labels):
    for op, key, val in reqs:
        have = key in labels
        if op == "=" and (not have or labels[key] != val):
            return False
        if op == "!=" and have and labels[key] == val:
            return False
        if op == "in" and (not have or labels[key] not in val):
            return False
        if op == "notin" and have and labels[key] in val:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
    return True


def parse_field_selector(sel):
    reqs = []
    for p in sel.split(","):
        if not p.strip():
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", p)
        if not m:
            raise ValueError("invalid selector: '%s'; can't understand '%s'"
                             % (sel, p))
        reqs.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return reqs


FIELDS_OK = {"metadata.name", "metadata.namespace", "status.phase",
             "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName",
             "spec.unschedulable", "type", "involvedObject.name",
             "involvedObject.namespace", "involvedObject.uid", "involvedObject.kind",
             "involvedObject.apiVersion", "involvedObject.fieldPath",
             "involvedObject.resourceVersion", "reason", "source"}


def fields_match(reqs, obj):
    for field, eq, val in reqs:
        have = get_path(obj, field)
        have = "" if have is None else str(have).lower() if isinstance(have, bool) else str(have)
        if (have == val) != eq:
            return False
    return True


# ---------------------------------------------------------------- the cluster

class Cluster:
    def __init__(self, pods=0, now=None):
        self.lock = threading.Condition()
        self.rv = 1000
        self.objs = {}      # (group, plural) -> {(ns, name): obj}
        self.events = []    # (rv, type, group, plural, obj)
        self.logs = {}      # (ns, pod, container) -> [(t, line)]
        self.prev_logs = {}
        self.forbid = set()
        self.watch_seconds = 2.0
        self.requests = []
        self.list_cache = {}
        self.restarts = {}
        self.bulk = pods
        self.start = now or time.time()
        # Every fixture is 3 days and some hours old: the AGE column stays
        # the same for the whole of a test.
        self.base = int(self.start) - 3 * 86400 - 2 * 3600
        with self.lock:
            self.load_fixtures()
            if pods:
                self.make_bulk_pods(pods)

    # -- storage
    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def bucket(self, group, plural):
        return self.objs.setdefault((group, plural), {})

    def put(self, group, plural, obj, event="ADDED", age_hours=0):
        md = obj.setdefault("metadata", {})
        if not md.get("uid"):
            md["uid"] = hashlib.md5(("%s/%s/%s/%s" % (
                group, plural, md.get("namespace", ""), md["name"])).encode()
            ).hexdigest()
            u = md["uid"]
            md["uid"] = "%s-%s-%s-%s-%s" % (u[:8], u[8:12], u[12:16], u[16:20], u[20:32])
        if not md.get("creationTimestamp"):
            md["creationTimestamp"] = rfc3339(self.base - age_hours * 3600)
        md.setdefault("generation", 1) if plural in ("deployments", "replicasets") else None
        md["resourceVersion"] = self.next_rv()
        self.bucket(group, plural)[(md.get("namespace", ""), md["name"])] = obj
        self.events.append((int(md["resourceVersion"]), event, group, plural,
                            copy.deepcopy(obj)))
        self.lock.notify_all()

    def remove(self, group, plural, ns, name):
        obj = self.bucket(group, plural).pop((ns, name))
        obj["metadata"]["resourceVersion"] = self.next_rv()
        self.events.append((int(obj["metadata"]["resourceVersion"]), "DELETED",
                            group, plural, copy.deepcopy(obj)))
        self.lock.notify_all()
        return obj

    # -- fixtures
    def fixture(self, name):
        with open(os.path.join(FIXTURES, name)) as f:
            return json.load(f)

    def load_fixtures(self):
        for ns in ("default", "kube-system", "kube-public"):
            self.put("", "namespaces", {"kind": "Namespace", "apiVersion": "v1",
                     "metadata": {"name": ns, "labels": {
                         "kubernetes.io/metadata.name": ns}},
                     "spec": {"finalizers": ["kubernetes"]},
                     "status": {"phase": "Active"}}, age_hours=24)
        ns = self.fixture("ns-shop.json")
        ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": "shop"}
        ns["spec"] = {"finalizers": ["kubernetes"]}
        ns["status"] = {"phase": "Active"}
        del ns["metadata"]["creationTimestamp"]
        self.put("", "namespaces", ns)
        for i, name in enumerate(("node-1", "node-2")):
            self.put("", "nodes", self.make_node(name, i), age_hours=24)
        svc = {"kind": "Service", "apiVersion": "v1",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"component": "apiserver",
                                       "provider": "kubernetes"}},
               "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                        "ports": [{"name": "https", "port": 443,
                                   "protocol": "TCP", "targetPort": 6443}],
                        "type": "ClusterIP", "sessionAffinity": "None"},
               "status": {"loadBalancer": {}}}
        self.put("", "services", svc, age_hours=24)
        svc = self.fixture("svc-web.json")
        del svc["metadata"]["creationTimestamp"]
        svc["spec"].update({"clusterIP": "10.96.14.7", "clusterIPs": ["10.96.14.7"],
                            "sessionAffinity": "None"})
        self.put("", "services", svc)
        cm = self.fixture("cm-web-conf.json")
        del cm["metadata"]["creationTimestamp"]
        self.put("", "configmaps", cm)
        for fx, h in (("deploy-coredns.json", 24), ("deploy-web.json", 0)):
            d = self.fixture(fx)
            del d["metadata"]["creationTimestamp"]
            del d["spec"]["template"]["metadata"]["creationTimestamp"]
            d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": "25%", "maxUnavailable": "25%"}}
            d["spec"]["revisionHistoryLimit"] = 10
            d["spec"]["progressDeadlineSeconds"] = 600
            tmpl = d["spec"]["template"]["spec"]
            tmpl["containers"][0]["imagePullPolicy"] = "IfNotPresent"
            tmpl["restartPolicy"] = "Always"
            tmpl["dnsPolicy"] = "ClusterFirst"
            tmpl["terminationGracePeriodSeconds"] = 30
            tmpl["schedulerName"] = "default-scheduler"
            self.put("apps", "deployments", d, age_hours=h)
            self.reconcile(d["metadata"]["namespace"], d["metadata"]["name"],
                           age_hours=h)
        # What the scheduler and the kubelet said about the first web pod.
        first = sorted(k for k in self.bucket("", "pods") if k[0] == "shop")[0]
        pod = self.bucket("", "pods")[first]
        for i, (reason, comp, msg) in enumerate((
                ("Scheduled", "default-scheduler",
                 "Successfully assigned shop/%s to node-1" % first[1]),
                ("Pulled", "kubelet", 'Container image "nginx:1.25" already present on machine'),
                ("Started", "kubelet", "Started container nginx"))):
            self.put("", "events", {
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": "%s.%x" % (first[1], 0x1800 + i), "namespace": "shop"},
                "involvedObject": {"kind": "Pod", "namespace": "shop", "name": first[1],
                                   "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
                "reason": reason, "message": msg, "source": {"component": comp},
                "firstTimestamp": rfc3339(self.base - 60 + i), "lastTimestamp": rfc3339(self.base - 60 + i),
                "count": 1, "type": "Normal", "reportingComponent": comp})
        # A pod of its own, as `kubectl run debug --image=busybox` makes it,
        # that has not been scheduled yet.
        self.put("", "pods", {
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "debug", "namespace": "default",
                         "labels": {"run": "debug"}},
            "spec": {"containers": [{"name": "debug", "image": "busybox",
                                     "resources": {}}],
                     "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "False",
                                       "reason": "Unschedulable",
                                       "lastProbeTime": None,
                                       "lastTransitionTime": rfc3339(self.base)}]}})
        self.put("example.com", "widgets", {
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "gear", "namespace": "shop",
                         "labels": {"app": "web"}},
            "spec": {"size": 3}})

    def make_node(self, name, i):
        return {"kind": "Node", "apiVersion": "v1",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    **({"node-role.kubernetes.io/control-plane": ""} if i == 0 else {})}},
                "spec": {"podCIDR": "10.244.%d.0/24" % i},
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "172.18.0.%d" % (2 + i)},
                                  {"type": "Hostname", "address": name}],
                    "capacity": {"cpu": "4", "memory": "8141348Ki", "pods": "110"},
                    "allocatable": {"cpu": "4", "memory": "8141348Ki", "pods": "110"},
                    "conditions": [
                        {"type": "MemoryPressure", "status": "False",
                         "reason": "KubeletHasSufficientMemory",
                         "message": "kubelet has sufficient memory available",
                         "lastHeartbeatTime": rfc3339(self.base),
                         "lastTransitionTime": rfc3339(self.base)},
                        {"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "message": "kubelet is posting ready status",
                         "lastHeartbeatTime": rfc3339(self.base),
                         "lastTransitionTime": rfc3339(self.base)}],
                    "nodeInfo": {"kubeletVersion": "v1.32.4",
                                 "osImage": "Debian GNU/Linux 12 (bookworm)",
                                 "kernelVersion": "6.1.0-31-amd64",
                                 "containerRuntimeVersion": "containerd://1.7.24",
                                 "operatingSystem": "linux", "architecture": "amd64"}}}

    def pod_for(self, ns, name, labels, spec, owner, node, ip, age_hours=0):
        cs = [{"name": c["name"], "image": c["image"], "imageID": "",
               "ready": True, "restartCount": 0, "started": True,
               "state": {"running": {"startedAt": rfc3339(self.base - age_hours * 3600)}},
               "containerID": "containerd://" + hashlib.sha1(
                   (ns + name + c["name"]).encode()).hexdigest()}
              for c in spec["containers"]]
        pod = {"kind": "Pod", "apiVersion": "v1",
               "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
               "spec": dict(copy.deepcopy(spec), nodeName=node),
               "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                          "hostIP": "172.18.0.2", "qosClass": "BestEffort",
                          "startTime": rfc3339(self.base - age_hours * 3600),
                          "conditions": [
                              {"type": t, "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": rfc3339(self.base)}
                              for t in ("Initialized", "Ready", "ContainersReady",
                                        "PodScheduled")],
                          "containerStatuses": cs}}
        if owner:
            pod["metadata"]["ownerReferences"] = [owner]
        for c in spec["containers"]:
            lines = [(self.base + 60 * k, "%s %s line %d" % (name, c["name"], k + 1))
                     for k in range(5)]
            self.logs[(ns, name, c["name"])] = lines
            self.prev_logs[(ns, name, c["name"])] = [(self.base - 60, "previous run of %s" % name)]
        return pod

    def reconcile(self, ns, name, age_hours=0):
        """What the deployment and replicaset controllers would do, at once."""
        d = self.bucket("apps", "deployments")[(ns, name)]
        tmpl = d["spec"]["template"]
        # The pod-template-hash.  A restart's timestamp counts as the
        # ordinal of that restart, so that two clients restarting at
        # different seconds get the same ReplicaSet names.
        hashed = copy.deepcopy(tmpl)
        hashed.get("metadata", {}).pop("creationTimestamp", None)
        ann = hashed.get("metadata", {}).get("annotations", {})
        if "kubectl.kubernetes.io/restartedAt" in ann:
            at = ann["kubectl.kubernetes.io/restartedAt"]
            ann["kubectl.kubernetes.io/restartedAt"] = self.restarts.setdefault(
                at, len(self.restarts) + 1)
        h = hashlib.sha1(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
        pth = "".join("bcdfghjklmnpqrstvwxz2456789"[int(h[i:i + 2], 16) % 27] for i in range(0, 20, 2))
        rsname = name + "-" + pth
        revision = d["metadata"].get("annotations", {}).get(
            "deployment.kubernetes.io/revision")
        rss = [o for (n, _), o in self.bucket("apps", "replicasets").items()
               if n == ns and o["metadata"]["name"].startswith(name + "-")]
        if (ns, rsname) not in self.bucket("apps", "replicasets"):
            rev = str(1 + max([int(r["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "0")) for r in rss] or [0]))
        else:
            rev = self.bucket("apps", "replicasets")[(ns, rsname)]["metadata"][
                "annotations"]["deployment.kubernetes.io/revision"]
        want = d["spec"].get("replicas", 1)
        labels = dict(tmpl["metadata"].get("labels", {}), **{"pod-template-hash": pth})
        owner_d = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                   "uid": d["metadata"]["uid"], "controller": True,
                   "blockOwnerDeletion": True}
        # Old replicasets scale to zero, their pods go.
        for r in rss:
            rn = r["metadata"]["name"]
            if rn != rsname and r["spec"].get("replicas", 0) != 0:
                r["spec"]["replicas"] = 0
                r["status"] = {"replicas": 0, "observedGeneration": 1}
                self.put("apps", "replicasets", r, "MODIFIED")
                for key in [k for k, p in self.bucket("", "pods").items()
                            if k[0] == ns and p["metadata"]["name"].startswith(rn + "-")]:
                    self.remove("", "pods", ns, key[1])
        rs = self.bucket("apps", "replicasets").get((ns, rsname))
        if rs is None:
            rs = {"kind": "ReplicaSet", "apiVersion": "apps/v1",
                  "metadata": {"name": rsname, "namespace": ns, "labels": labels,
                               "annotations": {"deployment.kubernetes.io/revision": rev,
                                               "deployment.kubernetes.io/desired-replicas": str(want),
                                               "deployment.kubernetes.io/max-replicas": str(want + 1)},
                               "ownerReferences": [owner_d]},
                  "spec": {"replicas": want,
                           "selector": {"matchLabels": dict(
                               d["spec"]["selector"]["matchLabels"], **{"pod-template-hash": pth})},
                           "template": dict(copy.deepcopy(tmpl), metadata={"labels": labels})}}
            ev = "ADDED"
        else:
            rs["spec"]["replicas"] = want
            ev = "MODIFIED"
        rs["status"] = {"replicas": want, "fullyLabeledReplicas": want,
                        "readyReplicas": want, "availableReplicas": want,
                        "observedGeneration": 1}
        self.put("apps", "replicasets", rs, ev, age_hours=age_hours)
        owner_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rsname,
                    "uid": rs["metadata"]["uid"], "controller": True,
                    "blockOwnerDeletion": True}
        pods = sorted(k[1] for k, p in self.bucket("", "pods").items()
                      if k[0] == ns and p["metadata"]["name"].startswith(rsname + "-"))
        for pn in pods[want:]:
            self.remove("", "pods", ns, pn)
        for k in range(len(pods), want):
            pn = "%s-%s" % (rsname, hashlib.sha1(("%s%d" % (rsname, k)).encode()).hexdigest()[:5])
            ip = "10.244.%d.%d" % (k % 2, 10 + k + len(ns))
            pod = self.pod_for(ns, pn, labels, tmpl["spec"], owner_rs,
                               "node-%d" % (1 + k % 2), ip, age_hours)
            # One minute apart, so that "the newest" is one pod.
            pod["metadata"]["creationTimestamp"] = rfc3339(
                self.base - age_hours * 3600 - 60 * k)
            self.put("", "pods", pod, age_hours=age_hours)
        d["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = rev
        d["status"] = {"observedGeneration": d["metadata"].get("generation", 1),
                       "replicas": want, "updatedReplicas": want, "readyReplicas": want,
                       "availableReplicas": want,
                       "conditions": [
                           {"type": "Available", "status": "True",
                            "reason": "MinimumReplicasAvailable",
                            "message": "Deployment has minimum availability.",
                            "lastUpdateTime": rfc3339(self.base),
                            "lastTransitionTime": rfc3339(self.base)},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable",
                            "message": 'ReplicaSet "%s" has successfully progressed.' % rsname,
                            "lastUpdateTime": rfc3339(self.base),
                            "lastTransitionTime": rfc3339(self.base)}]}
        if want == 0:
            for k in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
                d["status"].pop(k)
        if revision != rev:
            pass
        self.put("apps", "deployments", d, "MODIFIED")

    def make_bulk_pods(self, n):
        """n pods over 50 namespaces, for the benchmark."""
        spec = {"containers": [{"name": "app", "image": "registry.local/app:1.0",
                                "resources": {}}],
                "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
        for i in range(50):
            nsn = "bulk-%02d" % i
            self.put("", "namespaces", {"kind": "Namespace", "apiVersion": "v1",
                     "metadata": {"name": nsn}, "spec": {}, "status": {"phase": "Active"}})
        for i in range(n):
            ns = "bulk-%02d" % (i % 50)
            name = "app-%05d" % i
            pod = self.pod_for(ns, name, {"app": "bulk", "shard": str(i % 7)}, spec,
                               None, "node-%d" % (1 + i % 2),
                               "10.245.%d.%d" % (i // 250, i % 250), 0)
            self.logs.pop((ns, name, "app"), None)
            self.prev_logs.pop((ns, name, "app"), None)
            self.put("", "pods", pod)

    # -- tables
    def columns(self, plural, group):
        def c(name, typ="string", fmt="", prio=0, desc=""):
            return {"name": name, "type": typ, "format": fmt,
                    "description": desc or name, "priority": prio}
        if group == "" and plural == "pods":
            return [c("Name", fmt="name"), c("Ready"), c("Status"), c("Restarts", "string"),
                    c("Age"), c("IP", prio=1), c("Node", prio=1),
                    c("Nominated Node", prio=1), c("Readiness Gates", prio=1)]
        if plural == "deployments":
            return [c("Name", fmt="name"), c("Ready"), c("Up-to-date", "integer"),
                    c("Available", "integer"), c("Age"), c("Containers", prio=1),
                    c("Images", prio=1), c("Selector", prio=1)]
        if plural == "replicasets":
            return [c("Name", fmt="name"), c("Desired", "integer"), c("Current", "integer"),
                    c("Ready", "integer"), c("Age"), c("Containers", prio=1),
                    c("Images", prio=1), c("Selector", prio=1)]
        if plural == "services":
            return [c("Name", fmt="name"), c("Type"), c("Cluster-IP"), c("External-IP"),
                    c("Port(s)"), c("Age"), c("Selector", prio=1)]
        if plural == "nodes" and group == "":
            return [c("Name", fmt="name"), c("Status"), c("Roles"), c("Age"), c("Version"),
                    c("Internal-IP", prio=1), c("External-IP", prio=1),
                    c("OS-Image", prio=1), c("Kernel-Version", prio=1),
                    c("Container-Runtime", prio=1)]
        if plural == "namespaces":
            return [c("Name", fmt="name"), c("Status"), c("Age")]
        if plural == "configmaps":
            return [c("Name", fmt="name"), c("Data", "integer"), c("Age")]
        return [c("Name", fmt="name"), c("Age")]

    def cells(self, plural, group, o):
        md, spec, st = o["metadata"], o.get("spec", {}), o.get("status", {})
        age = human_duration(time.time() - parse_rfc3339(md["creationTimestamp"]))
        name = md["name"]
        if group == "" and plural == "pods":
            cs = st.get("containerStatuses", [])
            ready = sum(1 for x in cs if x.get("ready"))
            restarts = sum(x.get("restartCount", 0) for x in cs)
            return [name, "%d/%d" % (ready, len(spec.get("containers", []))),
                    st.get("phase", "Unknown"), str(restarts), age,
                    st.get("podIP", "<none>"), spec.get("nodeName", "<none>"),
                    "<none>", "<none>"]
        if plural == "deployments":
            ctn = spec["template"]["spec"]["containers"]
            sel = ",".join("%s=%s" % kv for kv in sorted(spec["selector"].get("matchLabels", {}).items()))
            return [name, "%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)),
                    st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age,
                    ",".join(x["name"] for x in ctn), ",".join(x["image"] for x in ctn), sel]
        if plural == "replicasets":
            ctn = spec["template"]["spec"]["containers"]
            sel = ",".join("%s=%s" % kv for kv in sorted(spec["selector"].get("matchLabels", {}).items()))
            return [name, spec.get("replicas", 1), st.get("replicas", 0),
                    st.get("readyReplicas", 0), age, ",".join(x["name"] for x in ctn),
                    ",".join(x["image"] for x in ctn), sel]
        if plural == "services":
            ports = ",".join("%d/%s" % (p["port"], p.get("protocol", "TCP"))
                             for p in spec.get("ports", []))
            sel = ",".join("%s=%s" % kv for kv in sorted(spec.get("selector", {}).items()))
            return [name, spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"),
                    "<none>", ports or "<none>", age, sel or "<none>"]
        if plural == "nodes" and group == "":
            ready = any(c["type"] == "Ready" and c["status"] == "True"
                        for c in st.get("conditions", []))
            roles = sorted(k.split("/", 1)[1] for k in md.get("labels", {})
                           if k.startswith("node-role.kubernetes.io/"))
            ni = st.get("nodeInfo", {})
            ip = [a["address"] for a in st.get("addresses", []) if a["type"] == "InternalIP"]
            return [name, "Ready" if ready else "NotReady", ",".join(roles) or "<none>",
                    age, ni.get("kubeletVersion", ""), ip[0] if ip else "<none>", "<none>",
                    ni.get("osImage", ""), ni.get("kernelVersion", ""),
                    ni.get("containerRuntimeVersion", "")]
        if plural == "namespaces":
            return [name, st.get("phase", "Active"), age]
        if plural == "configmaps":
            return [name, len(o.get("data", {})) + len(o.get("binaryData", {})), age]
        return [name, age]

    def table(self, plural, group, items, include, rv, cont=None, columns=True):
        rows = []
        for o in items:
            row = {"cells": self.cells(plural, group, o)}
            if include == "Object":
                row["object"] = o
            elif include != "None":
                row["object"] = {"kind": "PartialObjectMetadata",
                                 "apiVersion": "meta.k8s.io/v1",
                                 "metadata": o["metadata"]}
            rows.append(row)
        t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
             "metadata": {"resourceVersion": rv}, "rows": rows}
        if cont:
            t["metadata"]["continue"] = cont
        if columns:
            t["columnDefinitions"] = self.columns(plural, group)
        return t


# ---------------------------------------------------------------- HTTP

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Failure", "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def not_found(plural, group, name):
    what = plural if not group else plural + "." + group
    return ApiError(404, "NotFound", '%s "%s" not found' % (what, name),
                    {"name": name, "group": group, "kind": plural})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakekube/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakekube: " + (fmt % args) + "\n")

    # -- plumbing
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, ctype="application/json"):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", "fake")
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def auth_scheme(self):
        a = self.headers.get("Authorization", "")
        if a.startswith("Bearer "):
            return "bearer:" + a[7:]
        if a.startswith("Basic "):
            try:
                return "basic:" + base64.b64decode(a[6:]).decode()
            except Exception:
                return "basic:?"
        cert = getattr(self.connection, "getpeercert", None)
        if cert and self.connection.getpeercert():
            subj = dict(x[0] for x in self.connection.getpeercert()["subject"])
            return "cert:" + subj.get("commonName", "")
        return ""

    def authorized(self, scheme):
        s = self.server
        if not (s.tokens or s.basic or s.client_ca):
            return True
        if scheme.startswith("bearer:") and scheme[7:] in s.tokens:
            return True
        if scheme.startswith("basic:") and scheme[6:] in s.basic:
            return True
        return scheme.startswith("cert:") and s.client_ca

    def record(self, method, body):
        u = urllib.parse.urlsplit(self.path)
        rec = {"method": method, "path": u.path,
               "query": dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True)),
               "content_type": self.headers.get("Content-Type", ""),
               "accept": self.headers.get("Accept", ""),
               "auth": self.auth_scheme(),
               "user_agent": self.headers.get("User-Agent", ""),
               "host": self.headers.get("Host", ""),
               # The TLS client's server name indication (None: none sent).
               "sni": getattr(self.connection, "sni_name", None)}
        if body:
            try:
                rec["body"] = json.loads(body)
            except ValueError:
                rec["body"] = body.decode("utf-8", "replace") \
                    if not body.startswith(b"k8s\x00") else "protobuf:" + body.hex()
        if not u.path.startswith("/_fake/"):
            with self.server.cluster.lock:
                self.server.cluster.requests.append(rec)
        return u, rec

    def handle_any(self, method):
        body = self.body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        u, rec = self.record(method, body)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        try:
            if u.path.startswith("/_fake/"):
                return self.control(method, u.path, body)
            if not self.authorized(rec["auth"]):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            return self.api(method, u.path, q, body)
        except ApiError as e:
            self.send_json(e.code, status_obj(e.code, e.reason, e.message, e.details))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # -- control
    def control(self, method, path, body):
        c = self.server.cluster
        if path == "/_fake/requests":
            with c.lock:
                out = list(c.requests)
                if method == "DELETE":
                    c.requests.clear()
            return self.send_json(200, out)
        if path == "/_fake/reset" and method == "POST":
            # The fixtures again, as at the start (same times, same uids).
            with c.lock:
                fresh = Cluster(pods=c.bulk, now=c.start)
                fresh.forbid, fresh.watch_seconds = c.forbid, c.watch_seconds
                fresh.requests = c.requests
                for k, v in fresh.__dict__.items():
                    if k != "lock":
                        setattr(c, k, v)
                c.lock.notify_all()
            return self.send_json(200, {"ok": True})
        if path == "/_fake/config" and method == "POST":
            cfg = json.loads(body or b"{}")
            with c.lock:
                if "forbid" in cfg:
                    c.forbid = set(cfg["forbid"])
                if "watch_seconds" in cfg:
                    c.watch_seconds = float(cfg["watch_seconds"])
            return self.send_json(200, {"ok": True})
        if path == "/_fake/objects" and method == "POST":
            # More objects, as they are (a test's own fixtures): each goes
            # where discovery puts its apiVersion and kind.
            with c.lock:
                for o in json.loads(body or b"[]"):
                    gv = o["apiVersion"]
                    group, version = gv.split("/") if "/" in gv else ("", gv)
                    plural = [r["name"] for g, v, rs in GROUPS if g == group and v == version
                              for r in rs if r["kind"] == o["kind"] and "/" not in r["name"]]
                    if not plural:
                        raise ApiError(400, "BadRequest", "no resource for %s %s" % (gv, o["kind"]))
                    c.put(group, plural[0], copy.deepcopy(o))
            return self.send_json(200, {"ok": True})
        raise ApiError(404, "NotFound", "no such control path")

    # -- the API
    def discovery(self, path):
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                    "serverAddress": "127.0.0.1:6443"}]}
        if path == "/apis":
            groups = []
            for g, v, _ in GROUPS:
                if g:
                    gv = {"groupVersion": g + "/" + v, "version": v}
                    groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        for g, v, lst in GROUPS:
            if path == ("/api/" + v if not g else "/apis/%s/%s" % (g, v)):
                return {"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": gv_string(g, v), "resources": lst}
            if g and path == "/apis/" + g:
                gv = {"groupVersion": g + "/" + v, "version": v}
                return {"kind": "APIGroup", "apiVersion": "v1", "name": g,
                        "versions": [gv], "preferredVersion": gv}
        return None

    def api(self, method, path, q, body):
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.4",
                                        "platform": "linux/amd64"})
        if method == "GET":
            d = self.discovery(path.rstrip("/"))
            if d is not None:
                return self.send_json(200, d)
        m = re.match(r"^/api/(v1)/(.*)$", path) or re.match(r"^/apis/([^/]+/[^/]+)/(.*)$", path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        gv, rest = m.group(1), m.group(2).strip("/").split("/")
        group, version = ("", "v1") if gv == "v1" else tuple(gv.split("/"))
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and find_resource(group, version, rest[2]):
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        r = find_resource(group, version, plural)
        if r is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subres = rest[2] if len(rest) > 2 else None
        if subres and not find_resource(group, version, plural + "/" + subres):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        c = self.server.cluster
        verb = {"GET": "get" if name else ("watch" if q.get("watch") in ("1", "true") else "list"),
                "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
        key = "%s/%s" % (verb, plural if not subres else plural + "/" + subres)
        with c.lock:
            forbidden = key in c.forbid or ("%s/%s" % (verb, plural)) in c.forbid
        if forbidden:
            user = self.user()
            res_txt = plural if not group else plural + "." + group
            where = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
            sr = ' subresource "%s"' % subres if subres else ""
            raise ApiError(403, "Forbidden",
                           '%s%s is forbidden: User "%s" cannot %s resource "%s"%s in API group "%s" %s'
                           % (res_txt, ' "%s"' % name if name else "", user, verb, plural, sr,
                              group, where),
                           {"name": name or "", "group": group, "kind": plural})
        if ns is not None and not (group == "" and plural == "namespaces"):
            with c.lock:
                known = ("", ns) in c.bucket("", "namespaces")
            if not known and method != "PATCH":
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                               {"name": ns, "kind": "namespaces"})
        if plural == "selfsubjectaccessreviews":
            return self.access_review(body)
        if group == "metrics.k8s.io":
            return self.metrics(plural, ns, name)
        if verb == "watch":
            return self.watch(group, plural, ns, q)
        if verb == "list":
            return self.list(group, version, plural, ns, q)
        if verb == "get":
            if subres == "log":
                return self.log(ns, name, q)
            if subres == "scale":
                return self.send_json(200, self.scale_of(group, plural, ns, name))
            return self.get(group, plural, ns, name, q)
        if verb == "patch":
            return self.patch(group, version, plural, ns, name, subres, q, body)
        if verb == "delete":
            return self.delete(group, plural, ns, name, q, body)
        if verb == "create":
            return self.create(group, version, plural, ns, body)
        if verb == "update" and subres == "scale":
            return self.set_scale(group, plural, ns, name, json.loads(body)["spec"].get("replicas", 0))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def user(self):
        a = self.auth_scheme()
        if a.startswith("basic:"):
            return a[6:].split(":", 1)[0]
        if a.startswith("cert:"):
            return a[5:]
        return "test-user" if a else "system:anonymous"

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def lookup(self, group, plural, ns, name):
        o = self.server.cluster.bucket(group, plural).get((ns or "", name))
        if o is None:
            raise not_found(plural, group, name)
        return o

    def get(self, group, plural, ns, name, q):
        c = self.server.cluster
        with c.lock:
            o = copy.deepcopy(self.lookup(group, plural, ns, name))
            if self.wants_table():
                return self.send_json(200, c.table(plural, group, [o], q.get("includeObject", "Metadata"),
                                                   o["metadata"]["resourceVersion"]))
        return self.send_json(200, o)

    def select(self, group, plural, ns, q):
        c = self.server.cluster
        try:
            lsel = parse_label_selector(q.get("labelSelector", ""))
            fsel = parse_field_selector(q.get("fieldSelector", ""))
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e))
        for f, _, _ in fsel:
            if f not in FIELDS_OK:
                raise ApiError(400, "BadRequest",
                               'Unable to find "%s" that match label selector "", field selector '
                               '"%s": field label not supported: %s'
                               % (plural, q.get("fieldSelector"), f))
        items = [o for (n, _), o in sorted(c.bucket(group, plural).items())
                 if (ns is None or n == ns)
                 and labels_match(lsel, o["metadata"].get("labels", {}))
                 and fields_match(fsel, o)]
        return items, lsel, fsel

    def list(self, group, version, plural, ns, q):
        c = self.server.cluster
        # The same list at the same resourceVersion is the same bytes: keep
        # them, so that a benchmark measures the client, not this server.
        key = (self.path, self.headers.get("Accept", ""), c.rv)
        with c.lock:
            hit = c.list_cache.get(key)
        if hit is not None:
            return self.send_bytes(200, hit)
        with c.lock:
            items, _, _ = self.select(group, plural, ns, q)
            rv = str(c.rv)
            start = int(q["continue"]) if q.get("continue", "").isdigit() else 0
            limit = int(q.get("limit") or 0)
            cont = None
            if limit and start + limit < len(items):
                cont = str(start + limit)
                items = items[start:start + limit]
            else:
                items = items[start:]
            items = copy.deepcopy(items)
            if self.wants_table():
                t = c.table(plural, group, items, q.get("includeObject", "Metadata"), rv, cont)
                return self.send_bytes(200, self.cache(key, t))
        r = find_resource(group, version, plural)
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        lst = {"kind": r["kind"] + "List", "apiVersion": gv_string(group, version),
               "metadata": {"resourceVersion": rv}, "items": items}
        if cont:
            lst["metadata"]["continue"] = cont
        return self.send_bytes(200, self.cache(key, lst))

    def cache(self, key, obj):
        c = self.server.cluster
        data = json.dumps(obj).encode()
        with c.lock:
            if len(c.list_cache) > 256:
                c.list_cache.clear()
            c.list_cache[key] = data
        return data

    def send_bytes(self, code, data):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def watch(self, group, plural, ns, q):
        c = self.server.cluster
        table = self.wants_table()
        try:
            lsel = parse_label_selector(q.get("labelSelector", ""))
            fsel = parse_field_selector(q.get("fieldSelector", ""))
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e))
        since = int(q.get("resourceVersion") or 0)
        timeout = float(q.get("timeoutSeconds") or 0)
        with c.lock:
            if not since:
                # No version: the current objects as ADDED, then changes.
                pending = [(0, "ADDED", group, plural, copy.deepcopy(o))
                           for o in c.bucket(group, plural).values()]
                since = c.rv
            else:
                pending = []
            limit = c.watch_seconds if not timeout else min(timeout, c.watch_seconds)
        self.start_chunked("application/json")
        deadline = time.time() + limit
        first = True
        try:
            while True:
                with c.lock:
                    for ev in c.events:
                        if ev[0] > since:
                            pending.append(ev)
                            since = ev[0]
                    if not pending:
                        left = deadline - time.time()
                        if left <= 0:
                            break
                        c.lock.wait(left)
                        continue
                for rv, typ, g, p, o in pending:
                    if g != group or p != plural:
                        continue
                    if ns is not None and o["metadata"].get("namespace") != ns:
                        continue
                    if not (labels_match(lsel, o["metadata"].get("labels", {}))
                            and fields_match(fsel, o)):
                        continue
                    if table:
                        obj = c.table(plural, group, [o], q.get("includeObject", "Metadata"),
                                      o["metadata"]["resourceVersion"], columns=first)
                        first = False
                    else:
                        obj = o
                    self.chunk(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
                pending = []
            self.end_chunked()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def log(self, ns, name, q):
        c = self.server.cluster
        with c.lock:
            pod = self.lookup("", "pods", ns, name)
            ctns = [x["name"] for x in pod["spec"]["containers"]]
            ctn = q.get("container")
            if not ctn:
                if len(ctns) > 1:
                    raise ApiError(400, "BadRequest",
                                   "a container name must be specified for pod %s, choose one of: [%s]"
                                   % (name, " ".join(ctns)))
                ctn = ctns[0]
            if ctn not in ctns:
                raise ApiError(400, "BadRequest", "container %s is not valid for pod %s" % (ctn, name))
            src = c.prev_logs if q.get("previous") == "true" else c.logs
            lines = list(src.get((ns, name, ctn), []))
        if q.get("sinceSeconds"):
            cut = time.time() - int(q["sinceSeconds"])
            lines = [x for x in lines if x[0] >= cut]
        if q.get("sinceTime"):
            cut = parse_rfc3339(q["sinceTime"])
            lines = [x for x in lines if x[0] >= cut]
        if q.get("tailLines"):
            n = int(q["tailLines"])
            lines = lines[-n:] if n else []
        def fmt(t, line):
            if q.get("timestamps") == "true":
                return "%s %s\n" % (datetime.datetime.fromtimestamp(
                    t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000000Z"), line)
            return line + "\n"
        if q.get("follow") != "true":
            return self.send_text(200, "".join(fmt(t, l) for t, l in lines))
        self.start_chunked("text/plain")
        try:
            for t, l in lines:
                self.chunk(fmt(t, l).encode())
            with c.lock:
                limit = c.watch_seconds
            for k in range(3):
                time.sleep(limit / 3)
                self.chunk(fmt(time.time(), "%s %s follow %d" % (name, ctn, k + 1)).encode())
            self.end_chunked()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def scale_of(self, group, plural, ns, name):
        c = self.server.cluster
        with c.lock:
            o = self.lookup(group, plural, ns, name)
            sel = ",".join("%s=%s" % kv for kv in sorted(
                o["spec"]["selector"].get("matchLabels", {}).items()))
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": name, "namespace": ns,
                                 "uid": o["metadata"]["uid"],
                                 "resourceVersion": o["metadata"]["resourceVersion"],
                                 "creationTimestamp": o["metadata"]["creationTimestamp"]},
                    "spec": {"replicas": o["spec"].get("replicas", 1)},
                    "status": {"replicas": o.get("status", {}).get("replicas", 0),
                               "selector": sel}}

    def set_scale(self, group, plural, ns, name, replicas):
        c = self.server.cluster
        with c.lock:
            o = self.lookup(group, plural, ns, name)
            o["spec"]["replicas"] = int(replicas)
            o["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
            if plural == "deployments":
                c.reconcile(ns, name)
            else:
                c.put(group, plural, o, "MODIFIED")
        return self.send_json(200, self.scale_of(group, plural, ns, name))

    def patch(self, group, version, plural, ns, name, subres, q, body):
        c = self.server.cluster
        ctype = self.headers.get("Content-Type", "").split(";")[0]
        if ctype == "application/apply-patch+yaml":
            return self.apply(group, version, plural, ns, name, q, body)
        if ctype == "application/json-patch+json":
            ops = json.loads(body)
            with c.lock:
                o = self.lookup(group, plural, ns, name)
                new = json_patch(o, ops)
                if plural == "deployments":
                    if new.get("spec") != o.get("spec"):
                        new["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
                    c.bucket(group, plural)[(ns, name)] = new
                    c.reconcile(ns, name)
                else:
                    c.put(group, plural, new, "MODIFIED")
                out = copy.deepcopy(c.bucket(group, plural)[(ns or "", name)])
            return self.send_json(200, out)
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType",
                           'the body of the request was in an unknown format - accepted media types include: '
                           'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml')
        patch = json.loads(body)
        if subres == "scale":
            reps = patch.get("spec", {}).get("replicas")
            return self.set_scale(group, plural, ns, name, reps)
        with c.lock:
            o = self.lookup(group, plural, ns, name)
            new = merge_patch(o, patch)
            new["metadata"]["uid"] = o["metadata"]["uid"]
            if plural == "deployments":
                if new.get("spec") != o.get("spec"):
                    new["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
                c.bucket(group, plural)[(ns, name)] = new
                c.reconcile(ns, name)
            else:
                c.put(group, plural, new, "MODIFIED")
            out = copy.deepcopy(c.bucket(group, plural)[(ns or "", name)])
        return self.send_json(200, out)

    def apply(self, group, version, plural, ns, name, q, body):
        c = self.server.cluster
        if not q.get("fieldManager"):
            raise ApiError(400, "BadRequest",
                           "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                           "is required for apply patch")
        try:
            obj = yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise ApiError(400, "BadRequest", "error decoding YAML: %s" % e)
        with c.lock:
            if ns is not None and ("", ns) not in c.bucket("", "namespaces"):
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                               {"name": ns, "kind": "namespaces"})
            old = c.bucket(group, plural).get((ns or "", name))
            if old is None:
                new = obj
                new.setdefault("metadata", {})["namespace"] = ns
                if ns is None:
                    new["metadata"].pop("namespace")
                code, ev = 201, "ADDED"
            else:
                new = merge_patch(old, obj)
                code, ev = 200, "MODIFIED"
            new["metadata"].setdefault("managedFields", [])
            new["metadata"]["managedFields"] = [{"manager": q["fieldManager"],
                                                 "operation": "Apply",
                                                 "apiVersion": gv_string(group, version)}]
            if plural == "deployments":
                new.setdefault("metadata", {})
                if old is not None and new.get("spec") != old.get("spec"):
                    new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
                if old is None:
                    c.put(group, plural, new, ev)
                else:
                    c.bucket(group, plural)[(ns, name)] = new
                c.reconcile(ns, name)
            else:
                if plural == "pods" and old is None:
                    new.setdefault("status", {"phase": "Pending"})
                c.put(group, plural, new, ev)
            out = copy.deepcopy(c.bucket(group, plural)[(ns or "", name)])
        return self.send_json(code, out)

    def create(self, group, version, plural, ns, body):
        c = self.server.cluster
        obj = json.loads(body)
        name = obj.get("metadata", {}).get("name")
        with c.lock:
            if (ns or "", name) in c.bucket(group, plural):
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists'
                               % (plural if not group else plural + "." + group, name))
            if ns is not None:
                obj["metadata"]["namespace"] = ns
            c.put(group, plural, obj)
            out = copy.deepcopy(obj)
        return self.send_json(201, out)

    def delete(self, group, plural, ns, name, q, body):
        c = self.server.cluster
        opts = json.loads(body) if body else {}
        policy = opts.get("propagationPolicy") or q.get("propagationPolicy") or "Background"
        with c.lock:
            o = self.lookup(group, plural, ns, name)
            out = copy.deepcopy(o)
            c.remove(group, plural, ns or "", name)
            if policy != "Orphan":
                uid = o["metadata"]["uid"]
                for (g, p), b in list(c.objs.items()):
                    for key, child in list(b.items()):
                        refs = child["metadata"].get("ownerReferences", [])
                        if any(r.get("uid") == uid for r in refs):
                            self.cascade(g, p, key, child)
        return self.send_json(200, out)

    def cascade(self, g, p, key, obj):
        c = self.server.cluster
        c.remove(g, p, key[0], key[1])
        uid = obj["metadata"]["uid"]
        for (g2, p2), b in list(c.objs.items()):
            for key2, child in list(b.items()):
                if any(r.get("uid") == uid for r in child["metadata"].get("ownerReferences", [])):
                    self.cascade(g2, p2, key2, child)

    def access_review(self, body):
        if self.headers.get("Content-Type", "").startswith("application/vnd.kubernetes.protobuf"):
            try:
                review = ssar_from_protobuf(body)
            except (ValueError, IndexError) as e:
                raise ApiError(400, "BadRequest", "cannot decode the protobuf body: %s" % e)
        else:
            review = json.loads(body)
        ra = review.get("spec", {}).get("resourceAttributes", {})
        verb, resource = ra.get("verb", ""), ra.get("resource", "")
        if ra.get("subresource"):
            resource += "/" + ra["subresource"]
        c = self.server.cluster
        with c.lock:
            denied = ("%s/%s" % (verb, resource)) in c.forbid
        review["status"] = {"allowed": not denied}
        if denied:
            review["status"]["reason"] = "forbidden by fakekube --forbid"
        review.setdefault("metadata", {})["creationTimestamp"] = None
        return self.send_json(201, review)

    def metrics(self, plural, ns, name):
        c = self.server.cluster
        now = rfc3339(time.time())
        with c.lock:
            if plural == "nodes":
                items = [{"metadata": {"name": n["metadata"]["name"], "creationTimestamp": now},
                          "timestamp": now, "window": "20.05s",
                          "usage": {"cpu": "%dm" % (250 + 100 * i), "memory": "%dKi" % (1048576 + 262144 * i)}}
                         for i, n in enumerate(c.bucket("", "nodes").values())]
                kind = "NodeMetrics"
            else:
                items = []
                for i, p in enumerate(c.bucket("", "pods").values()):
                    if ns is not None and p["metadata"]["namespace"] != ns:
                        continue
                    if p.get("status", {}).get("phase") != "Running":
                        continue
                    items.append({"metadata": {"name": p["metadata"]["name"],
                                               "namespace": p["metadata"]["namespace"],
                                               "labels": p["metadata"].get("labels", {}),
                                               "creationTimestamp": now},
                                  "timestamp": now, "window": "15s",
                                  "containers": [{"name": x["name"],
                                                  "usage": {"cpu": "%dm" % (1 + 3 * (i % 5)),
                                                            "memory": "%dKi" % (4096 * (1 + i % 4))}}
                                                 for x in p["spec"]["containers"]]})
                kind = "PodMetrics"
        if name:
            for it in items:
                if it["metadata"]["name"] == name:
                    it.update({"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1"})
                    return self.send_json(200, it)
            raise ApiError(404, "NotFound", '%s.metrics.k8s.io "%s" not found' % (plural, name))
        return self.send_json(200, {"kind": kind + "List", "apiVersion": "metrics.k8s.io/v1beta1",
                                    "metadata": {}, "items": items})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pods", type=int, default=0,
                    help="also serve this many pods over 50 namespaces (benchmark)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca", help="ask for client certificates signed by this CA")
    ap.add_argument("--token", action="append", default=[],
                    help="accept this bearer token (any credential option requires one)")
    ap.add_argument("--basic", action="append", default=[], help="accept USER:PASSWORD")
    ap.add_argument("--forbid", action="append", default=[],
                    help="VERB/RESOURCE[/SUB] answered 403, e.g. delete/pods")
    ap.add_argument("--watch-seconds", type=float, default=2.0,
                    help="how long a watch or log -f stream stays open")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", args.port), Handler)
    srv.cluster = Cluster(pods=args.pods)
    srv.cluster.forbid = set(args.forbid)
    srv.cluster.watch_seconds = args.watch_seconds
    srv.tokens = set(args.token)
    srv.basic = set(args.basic)
    srv.client_ca = bool(args.client_ca)
    srv.verbose = args.verbose
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL

        def remember_sni(sock, name, _ctx):
            sock.sni_name = name
        ctx.sni_callback = remember_sni
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
