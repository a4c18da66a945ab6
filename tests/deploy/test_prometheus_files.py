"""The shipped Prometheus config and rules: promtool checks, unit tests, names, runbook links."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from streams.metrics import LABEL_VALUES
from tests.deploy.shipped import (
    PROM_CONFIG,
    PROMETHEUS_LABELS,
    RULES,
    RULES_TEST,
    RUNBOOK,
    RUNBOOK_URL,
    SINK_LABELS,
    exported_metric_names,
    label_names,
    load_rules,
    metric_names,
    rule_exprs,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed: Debian package `prometheus` (run `make test-deps`)",
)
REQUIRED_ALERTS = {
    "ChurnWorkerDown",
    "ChurnDetectorAbsent",
    "ChurnWebhookDeadLetters",
    "ChurnOffsetGapsAccepted",
    "ChurnConsumerLagGrowing",
    "ChurnDeadLetterRateHigh",
    "ChurnClassificationLatencyHigh",
    "ChurnAlertStorm",
    "ChurnCxGapPastThreshold",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_promtool
def test_promtool_check_config_passes_on_the_shipped_config():
    result = promtool("check", "config", str(PROM_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@needs_promtool
def test_promtool_check_rules_passes_on_the_shipped_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in result.stdout


@needs_promtool
def test_promtool_rule_unit_tests_pass():
    """Each alert fires on series that should fire it and stays quiet otherwise."""
    result = promtool("test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_check_rules_fails_on_a_broken_rule(tmp_path):
    """The check above can fail: a syntax error in an expression is reported."""
    broken = tmp_path / "broken.rules.yml"
    broken.write_text(RULES.read_text().replace("> 0.05", "> > 0.05"))
    result = promtool("check", "rules", str(broken))
    assert result.returncode != 0


def test_every_required_alert_exists_with_summary_description_and_runbook_section():
    runbook = RUNBOOK.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+\s+(.+)$", runbook, flags=re.M)
    }
    alerts = {
        rule["alert"]: rule
        for group in load_rules()["groups"] for rule in group["rules"] if "alert" in rule
    }
    assert REQUIRED_ALERTS <= set(alerts)
    for name, rule in alerts.items():
        ann = rule["annotations"]
        assert ann["summary"].strip() and ann["description"].strip(), name
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        path, _, anchor = ann["runbook_url"].partition("#")
        assert path == RUNBOOK_URL and path.startswith("https://"), name
        assert anchor == name.lower(), name
        assert anchor in anchors, f"{name}: no section #{anchor} in docs/runbook.md"


def test_rules_read_only_exported_metrics_or_recording_rules():
    exported = exported_metric_names()
    recorded = {name for kind, name, _ in rule_exprs() if kind == "record"}
    allowed_labels = set(LABEL_VALUES) | {"topic", "partition"} | PROMETHEUS_LABELS | SINK_LABELS
    for kind, name, expr in rule_exprs():
        read = metric_names(expr)
        assert read, f"{name}: reads no metric"
        assert read <= exported | recorded, f"{name} reads unknown {read - exported - recorded}"
        assert label_names(expr) <= allowed_labels, f"{name}: {label_names(expr)}"
        if kind == "record":
            assert re.fullmatch(r"churn:[a-z0-9_]+:[a-z0-9_]+", name), name
