"""The shipped Prometheus and Grafana files, and the PromQL expressions they use."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
PROM_CONFIG = PROM_DIR / "prometheus.yml"
RULES = PROM_DIR / "churn-detector.rules.yml"
RULES_TEST = PROM_DIR / "churn-detector.rules.test.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "churn-detector.json"
DATASOURCE_UID = "churn-prometheus"
#: Every panel and query variable reads the datasource the `datasource` variable picks.
PANEL_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RUNBOOK = ROOT / "docs" / "runbook.md"
#: Where the published runbook lives: alert rules link its sections with absolute URLs.
RUNBOOK_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"][
    "Documentation"] + "runbook.md"

#: What the dashboard's Grafana variables become when the expressions run against Prometheus.
GRAFANA_SUBSTITUTIONS = {
    "$__rate_interval": "5m",
    "$__interval": "15s",
    "$__range": "15m",
    "$channel": ".*",
    "$stage": ".*",
}

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}
#: Labels that Prometheus or the histogram type add, on top of the service's own.
PROMETHEUS_LABELS = {"job", "instance", "le", "__name__"}
#: Label names of the webhook sink's metrics (streams/webhook.py SinkMetrics).
SINK_LABELS = {"outcome", "result"}


def exported_metric_names() -> set[str]:
    """Every series a worker or a webhook sink serves on /metrics, plus Prometheus' ``up``."""
    from prometheus_client import CollectorRegistry

    from streams.metrics import Metrics, add_process_metrics
    from streams.webhook import SinkMetrics

    worker = Metrics(CollectorRegistry())
    add_process_metrics(worker.registry)
    sink = SinkMetrics(CollectorRegistry())
    add_process_metrics(sink.registry)
    sink_names = {s.name for family in sink.registry.collect() for s in family.samples}
    sink_names |= {f.name + "_total" for f in sink.registry.collect() if f.type == "counter"}
    sink_names |= {f.name + suffix for f in sink.registry.collect() if f.type == "histogram"
                   for suffix in ("_bucket", "_sum", "_count")}
    return worker.metric_names() | sink_names | {"up"}


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def load_rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included (rows themselves left out)."""
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            out.extend(panel.get("panels") or [])
        else:
            out.append(panel)
    return out


def dashboard_exprs(dashboard: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(panel title / refId, expr)`` of every dashboard target."""
    dashboard = dashboard or load_dashboard()
    return [
        (f"{p['title']} / {t['refId']}", t["expr"])
        for p in panels(dashboard) for t in p["targets"]
    ]


def variable_queries(dashboard: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """``(variable, metric selector, label)`` of each ``label_values(selector, label)`` variable."""
    dashboard = dashboard or load_dashboard()
    out = []
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
        assert m, f"variable {var['name']}: unsupported query {query!r}"
        out.append((var["name"], m.group(1), m.group(2)))
    return out


def rule_exprs(rules: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """``(kind, name, expr)`` for every recording (``record``) and alerting (``alert``) rule."""
    rules = rules or load_rules()
    out = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            kind = "record" if "record" in rule else "alert"
            out.append((kind, rule[kind], rule["expr"].strip()))
    return out


def substitute(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced (longest names first)."""
    for name in sorted(GRAFANA_SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_SUBSTITUTIONS[name])
    return expr


def _strip(expr: str) -> str:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric (and recording rule) names an expression reads."""
    text = _strip(expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def label_names(expr: str) -> set[str]:
    """Label names an expression matches on or aggregates by."""
    text = _strip(expr)
    names: set[str] = set()
    for body in re.findall(r"\{([^}]*)\}", text):
        names.update(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", body))
    for body in re.findall(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text
    ):
        names.update(n.strip() for n in body.split(",") if n.strip())
    return names
