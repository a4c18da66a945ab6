"""The scenarios through the stream path over the embedded broker give the same alerts
(same ids) as `replay` over the same events in the same order."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from detector.engine import Detector
from models.labelled import LabelledClassifier
from streams.offline import read_events, replay
from streams.settings import Settings
from tests.integration.conftest import collect, produce

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).parents[1] / "scenarios"
ORDER = ["happy", "mild_review", "onboarding_to_cancel", "cross_channel", "rant", "stage_spike",
         "cx_gap", "out_of_order"]


def combined_lines() -> list[str]:
    """All scenarios, 20 days apart (all in the past) so that they do not overlap."""
    lines = []
    for k, name in enumerate(ORDER):
        for line in (SCENARIOS / f"{name}.jsonl").read_text().splitlines():
            body = json.loads(line)
            at = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
            body["occurred_at"] = (at - timedelta(days=20 * (len(ORDER) - k))).isoformat()
            lines.append(json.dumps(body))
    return lines


async def test_stream_path_matches_replay(broker, start_worker):
    lines = combined_lines()
    settings = Settings(_env_file=None)
    # the stream sees events in produce order: replay them in the same (file) order
    events = [e for _, e in read_events(lines, now=datetime.now().astimezone())]
    detector = Detector(risk=settings.risk_config(), stage_config=settings.stage_config())
    expected = [a.to_dict() for a in replay(LabelledClassifier(), events, detector, order="file")]
    assert {a["type"] for a in expected} == {
        "customer_churn_risk", "unresolved_issue", "stage_friction_spike", "cx_gap"}

    worker = start_worker(broker.bootstrap, CHURN_CLASSIFIER="labels")
    topics = settings.source_topics()
    # paced like live traffic (10 events/s): arrival order then follows event time closely
    # enough for the lateness allowance and for the open-window judgements of the stage
    # rules (the volume rule counts the open window too); a backlog consumed from several
    # partitions at once
    # would not be (see docs/alerts.md, "Time and ordering")
    await produce(broker.bootstrap, [
        (topics[json.loads(x)["channel"]], json.loads(x)["customer_id"].encode(), x.encode())
        for x in lines
    ], rate=10.0)
    want = {a["alert_id"] for a in expected}
    got = await collect(broker.bootstrap, "churn.alerts",
                        lambda r: want <= {a["alert_id"] for a in r}, 180, worker)
    got_ids = {a["alert_id"] for a in got}
    missing = [(a["type"], a["customer_id"], a["journey_stage"], a["severity"])
               for a in expected if a["alert_id"] not in got_ids]
    extra = [(a["type"], a["customer_id"], a["journey_stage"], a["severity"])
             for a in got if a["alert_id"] not in want]
    assert not missing and not extra, f"missing={missing} extra={extra}\n{worker.log()}"
    by_id = {a["alert_id"]: a for a in got}
    for alert in expected:
        streamed = by_id[alert["alert_id"]]
        for key in ("type", "severity", "customer_id", "journey_stage", "schema_version"):
            assert streamed[key] == alert[key]
