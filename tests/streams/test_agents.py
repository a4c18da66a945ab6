"""Tier 2: the Faust agents through ``test_context()`` on the memory transport."""

from __future__ import annotations

import asyncio
import json
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry

from models.labelled import LabelledClassifier
from streams.metrics import Metrics
from streams.settings import Settings
from streams.topology import build_app
from tests.conftest import make_signal


@pytest.fixture
def built(tmp_path):
    settings = Settings(encoder="hashing", data_dir=tmp_path, metrics_port=0, kafka_broker="x:1")
    metrics = Metrics(CollectorRegistry())
    # labels in the events stand in for the model: these tests are about the agents
    app = build_app(settings, LabelledClassifier, metrics)
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    return app, metrics


def sent(mock: AsyncMock) -> list[tuple[bytes, object]]:
    return [(c.kwargs["key"], c.kwargs["value"]) for c in mock.call_args_list]


def stage_signals(mock: AsyncMock) -> list[dict]:
    """The signals forwarded to the stage topic (records carry a batch per stage)."""
    return [w for c in mock.call_args_list for w in c.kwargs["value"]["signals"]]


async def until(predicate, timeout: float = 10.0) -> None:
    """Poll until the micro-batch (flushed after ``within`` seconds) has been processed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def event(eid: str, text: str, **over):
    body = {"event_id": eid, "customer_id": "C-7", "channel": "chat",
            "occurred_at": "2026-11-10T09:00:00Z", "text": text}
    body.update(over)
    return json.dumps(body).encode()


async def test_classify_agent_rekeys_signals_and_deadletters_bad_records(built, monkeypatch):
    app, metrics = built
    topics = app.topics_by_role
    signals_send, dl_send = AsyncMock(), AsyncMock()
    monkeypatch.setattr(topics["signals"], "send", signals_send)
    monkeypatch.setattr(topics["deadletter"], "send", dl_send)
    agent = app.agents_by_role["classify"]
    async with agent.test_context() as ctx:
        await ctx.put(event("e1", "please cancel my subscription",
                            metadata={"labels": {"churn_intent": "explicit"}}), key=b"whatever")
        await ctx.put(b"{broken", key=b"k")
        await ctx.put(event("e2", "hi", channel="fax"), key=b"k2")
        await ctx.put(event("e3", "thanks so much great service", customer_id="C-8",
                            metadata={"labels": {"sentiment": 0.9}}), key=None)
        await until(lambda: signals_send.call_count >= 2)
    keys = [k for k, _ in sent(signals_send)]
    values = [v for _, v in sent(signals_send)]
    assert keys == [b"C-7", b"C-8"]
    assert values[0]["event_id"] == "e1" and values[0]["churn_intent"] == "explicit"
    assert values[1]["churn_intent"] == "none"
    reasons = [json.loads(v)["reason"] for _, v in sent(dl_send)]
    assert reasons == ["invalid_json", "unknown_channel"]
    dead = json.loads(sent(dl_send)[0][1])
    assert dead["raw"] == "{broken" and dead["offset"] is not None
    reg = metrics.registry
    assert reg.get_sample_value("churn_events_deadlettered_total", {"reason": "invalid_json"}) == 1
    assert reg.get_sample_value("churn_events_consumed_total", {"channel": "chat"}) == 2


async def test_a_case_closed_without_text_passes_the_classify_agent_flagged(built,
                                                                           monkeypatch):
    """Contract 1.2: the case system's closing event needs no text; it travels on as a
    signal flagged case_resolved, not a dead letter."""
    app, _ = built
    topics = app.topics_by_role
    signals_send, dl_send = AsyncMock(), AsyncMock()
    monkeypatch.setattr(topics["signals"], "send", signals_send)
    monkeypatch.setattr(topics["deadletter"], "send", dl_send)
    async with app.agents_by_role["classify"].test_context() as ctx:
        await ctx.put(event("k1", None, channel="ticket", case_status="resolved"), key=b"C-7")
        await until(lambda: signals_send.call_count >= 1)
    (value,) = [v for _, v in sent(signals_send)]
    assert value["event_id"] == "k1" and "case_resolved" in value["flags"]
    assert value["churn_intent"] == "none" and not dl_send.called


async def test_customer_agent_emits_alert_and_deduplicates(built, monkeypatch):
    app, metrics = built
    topics = app.topics_by_role
    alerts_send, stage_send = AsyncMock(), AsyncMock()
    monkeypatch.setattr(topics["alerts"], "send", alerts_send)
    monkeypatch.setattr(topics["stage_signals"], "send", stage_send)
    agent = app.agents_by_role["customers"]
    story = [
        make_signal("t1", "C-9", hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("t2", "C-9", hours=20, friction=("billing",), sentiment=-0.7, channel="email"),
        make_signal("t3", "C-9", hours=40, intent="explicit", p=0.95, sentiment=-0.8),
    ]
    async with agent.test_context() as ctx:
        for s in story + [story[1]]:  # t2 redelivered
            await ctx.put(s.to_wire(), key=b"C-9")
        table = app.tables_by_role["customers"]
        await until(lambda: (table.get("C-9") or {}).get("events") == 3)
    alerts = [json.loads(v) for _, v in sent(alerts_send)]
    assert {a["type"] for a in alerts} == {"customer_churn_risk"}
    final = alerts[-1]
    assert final["customer_id"] == "C-9" and final["severity"] == "critical"
    assert final["details"]["trigger_event_id"] == "t3"
    assert [e["event_id"] for e in final["evidence"]] == ["t1", "t2", "t3"]
    assert len({a["alert_id"] for a in alerts}) == len(alerts)
    forwarded = [w["event_id"] for w in stage_signals(stage_send)]
    assert sorted(forwarded) == ["t1", "t2", "t3"], "duplicate must not reach stage aggregation"
    assert all("text" not in w for w in stage_signals(stage_send))
    assert metrics.registry.get_sample_value("churn_events_duplicate_total") == 1
    assert metrics.registry.get_sample_value(
        "churn_alerts_emitted_total", {"type": "customer_churn_risk", "severity": "critical"}) == 1


async def test_failed_batch_dead_letters_each_record_once(tmp_path, monkeypatch):
    class Broken:
        model_version = "broken"

        def classify(self, events):
            raise RuntimeError("model exploded")

    settings = Settings(encoder="hashing", data_dir=tmp_path, metrics_port=0, kafka_broker="x:1")
    app = build_app(settings, Broken, Metrics(CollectorRegistry()))
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    dl_send = AsyncMock()
    monkeypatch.setattr(app.topics_by_role["deadletter"], "send", dl_send)
    async with app.agents_by_role["classify"].test_context() as ctx:
        await ctx.put(b"{broken", key=b"k")
        await ctx.put(event("f1", "hello"), key=b"C-7")
        await until(lambda: dl_send.call_count >= 2)
        await asyncio.sleep(0.3)
    reasons = sorted(json.loads(v)["reason"] for _, v in sent(dl_send))
    assert reasons == ["classification_failed", "invalid_json"]


async def test_profiles_agent_keeps_profiles_and_customer_alerts_carry_the_account(
        built, monkeypatch):
    app, metrics = built
    topics = app.topics_by_role
    alerts_send, stage_send, dl_send = AsyncMock(), AsyncMock(), AsyncMock()
    monkeypatch.setattr(topics["alerts"], "send", alerts_send)
    monkeypatch.setattr(topics["stage_signals"], "send", stage_send)
    monkeypatch.setattr(topics["deadletter"], "send", dl_send)
    table = app.tables_by_role["profiles"]
    profile = {"customer_id": "C-9", "plan": "Enterprise", "monthly_revenue": 5000,
               "renewal_date": "2026-11-20", "owner": "Dana"}
    async with app.agents_by_role["profiles"].test_context() as ctx:
        await ctx.put(json.dumps(profile).encode(), key=b"C-9")
        await ctx.put(json.dumps({"customer_id": "C-1", "monthly_revenue": -1}).encode(),
                      key=b"C-1")
        await ctx.put(json.dumps({"customer_id": "C-2"}).encode(), key=b"C-3")
        await until(lambda: table.get("C-9") is not None and dl_send.call_count == 2)
    assert table["C-9"]["monthly_revenue"] == 5000.0
    assert [json.loads(v)["reason"] for _, v in sent(dl_send)] == ["invalid_profile"] * 2
    story = [
        make_signal("t1", "C-9", hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("t2", "C-9", hours=20, friction=("billing",), sentiment=-0.7, channel="email"),
        make_signal("t3", "C-9", hours=40, intent="explicit", p=0.95, sentiment=-0.8),
    ]
    async with app.agents_by_role["customers"].test_context() as ctx:
        for s in story:
            await ctx.put(s.to_wire(), key=b"C-9")
        await until(lambda: alerts_send.call_count >= 1
                    and (app.tables_by_role["customers"].get("C-9") or {}).get("events") == 3)
    alerts = [json.loads(v) for _, v in sent(alerts_send)]
    last = alerts[-1]
    assert last["account"]["owner"] == "Dana" and last["account"]["renewal_in_days"] == 16
    assert last["severity"] == "critical" and last["case_key"].startswith("case-")
    gauge = metrics.registry.get_sample_value("churn_revenue_at_risk",
                                              {"journey_stage": "usage"})
    assert gauge == last["account"]["expected_revenue_at_risk"] > 0
