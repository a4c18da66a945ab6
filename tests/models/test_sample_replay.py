"""The real model over the bundled sample stream: leaving customers alert, happy ones do not."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from detector.engine import Detector
from streams.offline import open_lines, read_events, replay

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def real_classifier():
    from models import build_classifier

    return build_classifier("transformer")


def test_sample_stream_alerts_leaving_customers_only(real_classifier):
    data = resources.files("streams").joinpath("data")
    expected = json.loads(data.joinpath("sample_stream.expected.json").read_text())
    events = [e for _, e in read_events(open_lines(data.joinpath("sample_stream.jsonl")))]
    assert all(not hasattr(e, "reason") for e in events), "the sample must be valid"
    alerts = list(replay(real_classifier, events, Detector()))
    alerted = {a.customer_id for a in alerts if a.type == "customer_churn_risk"}
    assert set(expected["leaving"]) <= alerted
    assert not alerted & set(expected["happy"])
    assert not alerted & set(expected["order_cancel"])
    high = {a.customer_id for a in alerts if a.severity in ("high", "critical")}
    assert set(expected["leaving"]) <= high
