#!/usr/bin/env python3
"""deploy/grafana and deploy/prometheus against what governd really exports:

- the dashboard parses as JSON, has the panels docs/metrics.md promises and
  a datasource variable, and every metric its PromQL queries names is a
  metric a running governd serves (read from a real scrape);
- the same for every alerting rule's expression, and each rule has a
  severity, a summary, a description and a runbook;
- deploy/prometheus's rules and deploy/k8s's PrometheusRule are the same
  rules (one set of alerts, two ways to load it).

promtool's own checks of the rules (check rules, test rules) are the ctest
entries prometheus_rules_check and prometheus_rules.
"""

import http.client
import json
import os
import re
import unittest

import yaml

from harness import SLOW, Gov, GoverndCase, run_main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "governd-dashboard.json")
RULES = os.path.join(ROOT, "deploy", "prometheus", "governd-rules.yml")
K8S_RULE = os.path.join(ROOT, "deploy", "k8s", "prometheusrule.yaml")

# Series Prometheus makes itself for every target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                "and", "or", "unless", "offset", "inf", "nan"}


def metric_names(expr):
    """The metric names an expression selects (functions, keywords, label
    names and values, ranges and Grafana variables left out)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)            # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\w+", "", e)                              # $__rate_interval
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", e):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def dashboard_exprs(d):
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", ""), t["expr"]))
            walk(p.get("panels", []))
    walk(d.get("panels", []))
    return out


class MonitoringAssets(GoverndCase):
    NAME = "governd-assets"
    GOVERND_KWARGS = {"db": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        gov = Gov.connect(cls.gd)
        try:
            gov.submit()
        finally:
            gov.close()
        host, port = cls.gd.metrics_addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=10 * SLOW)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        cls.exported = set(SYNTHETIC)
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
            cls.exported.add(name)
            if kind == "histogram":
                cls.exported |= {name + "_bucket", name + "_sum", name + "_count"}

    def test_name_extraction(self):
        self.assertEqual(metric_names(
            'histogram_quantile(0.99, sum by (grpc_method, le) (rate(a_bucket{x="y{"}'
            '[$__rate_interval]))) / on (job) group_left b_total offset 5m > bool 1'),
            {"a_bucket", "b_total"})

    def test_dashboard(self):
        with open(DASHBOARD) as f:
            d = json.load(f)
        self.assertEqual(d["uid"], "governd-overview")
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        exprs = dashboard_exprs(d)
        self.assertGreaterEqual(len(exprs), 15)
        used = set()
        for title, expr in exprs:
            names = metric_names(expr)
            self.assertTrue(names, "%s: no metric in %r" % (title, expr))
            unknown = names - self.exported
            self.assertFalse(unknown, "panel %r queries %s, which governd does not export"
                             % (title, sorted(unknown)))
            used |= names
        titles = " | ".join(t for t, _ in exprs).lower()
        for want in ("request rate", "error", "latency", "pending", "review latency",
                     "sla violations"):
            self.assertIn(want, titles)
        for m in ("grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
                  "governd_pending_decisions", "governd_review_latency_seconds_bucket",
                  "governd_sla_violations_total"):
            self.assertIn(m, used)
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")

    def test_rules(self):
        with open(RULES) as f:
            doc = yaml.safe_load(f)
        alerts = {}
        for g in doc["groups"]:
            for r in g["rules"]:
                alerts[r["alert"]] = r
        for want in ("GoverndDown", "GovernanceSLABreaches", "GovernancePendingBacklog",
                     "GovernanceHighErrorRate", "GovernanceHighLatencyP99"):
            self.assertIn(want, alerts)
        for name, r in alerts.items():
            self.assertIn(r["labels"]["severity"], ("warning", "critical"), name)
            self.assertTrue(r["annotations"].get("summary"), name)
            self.assertTrue(r["annotations"].get("description"), name)
            self.assertTrue(r["annotations"].get("runbook", "").startswith(
                "docs/operations.md#"), name)
            unknown = metric_names(r["expr"]) - self.exported
            self.assertFalse(unknown, "rule %s queries %s, which governd does not export"
                             % (name, sorted(unknown)))

    def test_k8s_rule_is_the_same(self):
        with open(RULES) as f:
            plain = yaml.safe_load(f)["groups"]
        with open(K8S_RULE) as f:
            k8s = yaml.safe_load(f)["spec"]["groups"]
        self.assertEqual(plain, k8s, "deploy/prometheus/governd-rules.yml and "
                         "deploy/k8s/prometheusrule.yaml differ: change both")


if __name__ == "__main__":
    run_main()
