"""``churn-detector alerts tail``: filters, rendering, the CLI, and a real topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

import streams.kafka
from streams.cli import main
from streams.tail import AlertFilter, format_alert, tail_alerts
from tests.integration.conftest import ROOT, broker, produce  # noqa: F401 - broker fixture


def alert(aid: str, type_: str = "customer_churn_risk", severity: str = "high",
          stage: str | None = "billing", **extra: Any) -> dict[str, Any]:
    body = {
        "alert_id": aid, "type": type_, "severity": severity, "customer_id": "C-42",
        "journey_stage": stage, "score": 0.81,
        "reasons": ["Latest chat message asks to leave", "3rd contact in 6 days across chat"],
        "evidence": [{"event_id": "e-1", "channel": "chat"},
                     {"event_id": "e-2", "channel": "call"}],
        "recommended_action": "Call the customer today.",
        "created_at": "2026-11-10T09:00:00+00:00", "schema_version": "1.0",
        "model_version": "test", "details": {},
    }
    body.update(extra)
    return body


ALERTS = [
    alert("a-low", severity="low", stage="usage"),
    alert("a-med", severity="medium", stage="billing"),
    alert("a-crit", severity="critical", stage="support"),
    alert("a-spike", type_="stage_friction_spike", severity="high", stage="onboarding",
          customer_id=None),
    alert("a-weird", severity="unheard-of", stage=None),
]


def ids(alerts: list[dict[str, Any]], flt: AlertFilter) -> list[str]:
    return [a["alert_id"] for a in alerts if flt.matches(a)]


def test_filters_by_type_minimum_severity_and_stage():
    assert ids(ALERTS, AlertFilter()) == [a["alert_id"] for a in ALERTS]
    assert ids(ALERTS, AlertFilter(types=frozenset({"stage_friction_spike"}))) == ["a-spike"]
    assert ids(ALERTS, AlertFilter(min_severity="high")) == ["a-crit", "a-spike"]
    assert ids(ALERTS, AlertFilter(min_severity="low")) == ["a-low", "a-med", "a-crit", "a-spike"]
    assert ids(ALERTS, AlertFilter(stages=frozenset({"billing", "usage"}))) == ["a-low", "a-med"]
    both = AlertFilter(types=frozenset({"customer_churn_risk"}), min_severity="medium",
                       stages=frozenset({"support", "onboarding"}))
    assert ids(ALERTS, both) == ["a-crit"]


def test_human_format_shows_severity_colour_reasons_and_evidence():
    text = format_alert(ALERTS[2], as_json=False, colour=True)
    assert "\033[" in text and "CRITICAL" in text
    assert "asks to leave" in text and "e-1 (chat)" in text and "Call the customer" in text
    plain = format_alert(ALERTS[2], as_json=False, colour=False)
    assert "\033[" not in plain
    line = format_alert(ALERTS[2], as_json=True, colour=True)
    assert "\n" not in line and json.loads(line) == ALERTS[2]


async def fake_source(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


async def test_tail_alerts_stops_after_limit_of_matching_alerts():
    out: list[str] = []
    n = await tail_alerts(fake_source(ALERTS), AlertFilter(min_severity="medium"), out.append,
                          as_json=True, limit=2)
    assert n == 2 and [json.loads(x)["alert_id"] for x in out] == ["a-med", "a-crit"]


def test_cli_tail_json_with_filters(monkeypatch):
    seen: dict[str, Any] = {}

    def consume(settings, topic, *, bootstrap=None, from_beginning=True, group_id=None):
        seen.update(topic=topic, from_beginning=from_beginning, broker=settings.kafka_broker)
        return fake_source(ALERTS)

    monkeypatch.setattr(streams.kafka, "consume_json", consume)
    result = CliRunner().invoke(
        main, ["alerts", "tail", "--json", "--severity", "medium", "--type",
               "customer_churn_risk", "--from-beginning"],
        env={"CHURN_KAFKA_BROKER": "k:9092", "CHURN_TOPIC_ALERTS": "my.alerts"},
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [a["alert_id"] for a in lines] == ["a-med", "a-crit"]
    assert seen == {"topic": "my.alerts", "from_beginning": True, "broker": "k:9092"}


def test_cli_tail_human_output_and_errors(monkeypatch):
    monkeypatch.setattr(streams.kafka, "consume_json", lambda *a, **k: fake_source(ALERTS))
    runner = CliRunner()
    result = runner.invoke(main, ["alerts", "tail", "--stage", "support", "--colour"],
                           env={"CHURN_KAFKA_BROKER": "k:9092"})
    assert result.exit_code == 0, result.output
    assert "\033[" in result.stdout and "a-crit" in result.stdout and "a-low" not in result.stdout
    assert "why:" in result.stdout and "seen:" in result.stdout
    missing = runner.invoke(main, ["alerts", "tail"], env={"CHURN_KAFKA_BROKER": ""})
    assert missing.exit_code != 0 and "CHURN_KAFKA_BROKER" in missing.output
    bad = runner.invoke(main, ["alerts", "tail", "--severity", "huge"],
                        env={"CHURN_KAFKA_BROKER": "k:9092"})
    assert bad.exit_code == 2


@pytest.mark.integration
async def test_tail_reads_the_real_alert_topic(broker):  # noqa: F811
    records = [("churn.alerts", b"C-42", json.dumps(a).encode()) for a in ALERTS]
    records.insert(1, ("churn.alerts", b"x", b"not json at all"))
    await produce(broker.bootstrap, records)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
    env["CHURN_KAFKA_BROKER"] = broker.bootstrap
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "alerts", "tail", "--from-beginning", "--json",
         "--severity", "high", "--limit", "2"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line)["alert_id"] for line in proc.stdout.splitlines()]
    assert got == ["a-crit", "a-spike"]
