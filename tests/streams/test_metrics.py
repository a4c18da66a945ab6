"""Metrics: Prometheus naming, bounded labels, the hooks other parts call, consumer lag."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from unittest.mock import AsyncMock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from detector.alerts import ALERT_TYPES, SEVERITIES
from detector.schema import CHANNELS, JOURNEY_STAGES
from detector.signals import FRICTION_CATEGORIES, INTENTS, SIGNAL_FLAGS
from streams.lag import compute_lags, report_consumer_lag
from streams.metrics import (
    DEADLETTER_REASONS,
    ENCODER_PATHS,
    INFO_LABELS,
    LABEL_VALUES,
    MAX_LAG_PARTITIONS,
    OTHER,
    Metrics,
)
from streams.settings import Settings
from streams.topology import build_app

#: Every label name a metric of the worker may have. Anything else fails the test.
ALLOWED_LABEL_NAMES = {
    "channel", "reason", "category", "journey_stage", "intent", "type", "severity", "path",
    "topic", "partition", "agent", "outcome", "cause", "flag",
}
#: Histograms whose unit is a count, not a base unit.
UNITLESS_HISTOGRAMS = {"churn_classification_batch_size"}


def fresh() -> Metrics:
    return Metrics(CollectorRegistry())


def exercise(m: Metrics) -> None:
    """Call every metric and hook with hostile values (ids, free text) and normal ones."""
    hostile = ["C-000123", "evt-42", "I want to cancel my account now", "", "x" * 300]
    for value in hostile + list(CHANNELS):
        m.events_consumed.labels(channel=value).inc()
        m.events_rejected.labels(reason=value).inc()
        m.signals.labels(category=value, journey_stage=value, channel=value).inc()
        m.intents.labels(intent=value).inc()
        m.alerts.labels(type=value, severity=value).inc()
        m.alert_suppressed(value)
        m.count_encoder_path(value, 3)
        m.stage_friction_rate.labels(journey_stage=value).set(0.5)
        m.set_cx_gap(value, observed=0.4, expected=0.7)
        m.e2e_latency.labels(type=value).observe(1.0)
        m.offset_gaps.labels(agent=value, outcome=value).inc()
    m.configure_topics(["interactions.tickets"])
    m.set_consumer_lag({("interactions.tickets", 0): 5, ("C-000123", 1): 2,
                        ("interactions.tickets", 10_000): 1})
    m.set_cx_gap_threshold(0.15)
    m.set_info("heads-test", "hashing")
    m.classify_seconds.observe(0.02)
    m.batch_size.observe(8)
    m.duplicates.inc()


def label_values(m: Metrics) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for sample in family.samples:
            for name, value in sample.labels.items():
                if sample.name == "churn_worker_info" and name in INFO_LABELS:
                    continue
                if name == "le":
                    continue
                out.setdefault(name, set()).add(value)
    return out


def test_names_follow_prometheus_conventions():
    m = fresh()
    exercise(m)
    families = list(m.registry.collect())
    assert len(families) >= 18
    for family in families:
        assert family.name.startswith("churn_"), family.name
        assert family.documentation.strip(), family.name
        names = {s.name for s in family.samples}
        if family.type == "counter":
            assert family.name + "_total" in names, family.name
        elif family.type == "histogram":
            assert family.name.endswith("_seconds") or family.name in UNITLESS_HISTOGRAMS
            assert {family.name + "_bucket", family.name + "_count"} <= names
        elif family.type == "gauge":
            assert not family.name.endswith("_total"), family.name
        else:
            assert family.type == "info" and names == {"churn_worker_info"}
        assert "_ms" not in family.name and "milliseconds" not in family.name


def test_label_names_come_from_the_allow_list_and_values_from_bounded_sets():
    m = fresh()
    exercise(m)
    values = label_values(m)
    assert set(values) <= ALLOWED_LABEL_NAMES
    bounded = {k: {*v, OTHER} for k, v in LABEL_VALUES.items()}
    bounded["topic"] = {"interactions.tickets", OTHER}
    bounded["partition"] = {*map(str, range(MAX_LAG_PARTITIONS)), OTHER}
    for name, seen in values.items():
        assert seen <= bounded[name], (name, seen - bounded[name])
    text = generate_latest(m.registry).decode()
    for leak in ("C-000123", "evt-42", "cancel my account", "x" * 50):
        assert leak not in text
    # hostile values were counted, under "other", not dropped
    assert m.registry.get_sample_value("churn_events_consumed_total", {"channel": OTHER}) == 5


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_label_value_maps_into_its_bounded_set(value):
    m = fresh()
    m.events_consumed.labels(channel=value).inc()
    m.signals.labels(value, value, value).inc()  # positional labels are bounded too
    for name, seen in label_values(m).items():
        assert seen <= {*LABEL_VALUES[name], OTHER}


def test_known_series_exist_at_zero_before_any_event():
    reg = fresh().registry
    for channel in CHANNELS:
        assert reg.get_sample_value("churn_events_consumed_total", {"channel": channel}) == 0
    for reason in DEADLETTER_REASONS:
        assert reg.get_sample_value("churn_events_deadlettered_total", {"reason": reason}) == 0
    for type_ in ALERT_TYPES:
        assert reg.get_sample_value("churn_alerts_suppressed_total", {"type": type_}) == 0
        for severity in SEVERITIES:
            labels = {"type": type_, "severity": severity}
            assert reg.get_sample_value("churn_alerts_emitted_total", labels) == 0
    for intent in INTENTS:
        assert reg.get_sample_value("churn_intents_total", {"intent": intent}) == 0
    for flag in SIGNAL_FLAGS:
        assert reg.get_sample_value("churn_signal_flags_total", {"flag": flag}) == 0
    for path in ENCODER_PATHS:
        assert reg.get_sample_value("churn_encoder_texts_total", {"path": path}) == 0
    n_signal_series = len(FRICTION_CATEGORIES) * len(JOURNEY_STAGES) * len(CHANNELS)
    text = generate_latest(reg).decode()
    assert text.count("churn_friction_signals_total{") == n_signal_series
    # gauges have no made-up value before they are measured
    assert "churn_stage_cx_gap{" not in text and "churn_consumer_lag_records{" not in text


def test_hooks_for_cx_gap_encoder_path_and_suppressed_alerts():
    m = fresh()
    reg = m.registry
    m.set_cx_gap("billing", observed=0.45, expected=0.65)
    assert reg.get_sample_value("churn_stage_cx_gap", {"journey_stage": "billing"}) == \
        pytest.approx(0.2)
    m.set_cx_gap("usage", observed=0.3, expected=0.25, gap=0.05)
    assert reg.get_sample_value("churn_stage_cx_observed", {"journey_stage": "usage"}) == 0.3
    assert reg.get_sample_value("churn_stage_cx_expected", {"journey_stage": "usage"}) == 0.25
    assert reg.get_sample_value("churn_stage_cx_gap", {"journey_stage": "usage"}) == 0.05
    m.set_cx_gap_threshold(0.15)
    assert reg.get_sample_value("churn_stage_cx_gap_threshold") == 0.15
    m.count_encoder_path("static", 7)
    m.encoder_path.labels(path="transformer").inc(2)
    m.count_encoder_path("transformer", 0)
    assert reg.get_sample_value("churn_encoder_texts_total", {"path": "static"}) == 7
    assert reg.get_sample_value("churn_encoder_texts_total", {"path": "transformer"}) == 2
    m.alert_suppressed("customer_churn_risk")
    assert reg.get_sample_value(
        "churn_alerts_suppressed_total", {"type": "customer_churn_risk"}) == 1
    m.set_info("heads-x", "hashing")
    assert reg.get_sample_value(
        "churn_worker_info", {"version": "0.1.0", "model_version": "heads-x", "encoder": "hashing"}
    ) == 1


def test_consumer_lag_series_follow_the_assignment():
    m = fresh()
    reg = m.registry
    m.configure_topics(["a", "b"])
    m.set_consumer_lag({("a", 0): 10, ("a", 1): 0, ("b", 0): 3, ("a", 500): 2, ("a", 501): 4})
    get = reg.get_sample_value
    assert get("churn_consumer_lag_records", {"topic": "a", "partition": "0"}) == 10
    assert get("churn_consumer_lag_records", {"topic": "a", "partition": "other"}) == 6
    m.set_consumer_lag({("a", 0): 1})  # rebalance: b-0 and a-1 revoked
    assert get("churn_consumer_lag_records", {"topic": "a", "partition": "0"}) == 1
    assert get("churn_consumer_lag_records", {"topic": "b", "partition": "0"}) is None
    assert get("churn_consumer_lag_records", {"topic": "a", "partition": "1"}) is None


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


def test_compute_lags_from_end_and_committed_offsets():
    a0, a1, b0, c0 = TP("a", 0), TP("a", 1), TP("b", 0), TP("c", 0)
    lags = compute_lags(
        [a0, a1, b0, c0],
        highwaters={a0: 100, a1: 50, b0: 7, c0: None},
        committed={a0: 90, a1: None, b0: 9},
        earliest={a1: 20},
    )
    assert lags == {("a", 0): 10, ("a", 1): 30, ("b", 0): 0}


class FakeConsumer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self._committed_offset = {TP("in", 0): 4, TP("in", 1): None}

    def assignment(self):
        if self.fail:
            raise RuntimeError("not started")
        return {TP("in", 0), TP("in", 1), TP("app-customers-changelog", 0)}

    async def highwaters(self, *tps):
        return {tp: 10 for tp in tps}

    async def earliest_offsets(self, *tps):
        return {tp: 0 for tp in tps}


async def test_report_consumer_lag_reads_the_consumer_and_survives_errors():
    m = fresh()
    m.configure_topics(["in"])

    class App:
        consumer = FakeConsumer()

    def committed(tps):
        return {tp: App.consumer._committed_offset.get(tp) for tp in tps}

    await report_consumer_lag(App(), m, {"in"}, committed)
    get = m.registry.get_sample_value
    assert get("churn_consumer_lag_records", {"topic": "in", "partition": "0"}) == 6
    assert get("churn_consumer_lag_records", {"topic": "in", "partition": "1"}) == 10
    assert "changelog" not in generate_latest(m.registry).decode()
    App.consumer = FakeConsumer(fail=True)
    await report_consumer_lag(App(), m, {"in"}, committed)  # logged, not raised; gauges kept
    assert get("churn_consumer_lag_records", {"topic": "in", "partition": "0"}) == 6


def event(eid: str, cust: str, text: str, **over) -> bytes:
    body = {"event_id": eid, "customer_id": cust, "channel": "chat",
            "occurred_at": "2026-11-10T09:00:00Z", "text": text}
    body.update(over)
    return json.dumps(body).encode()


async def test_agent_metrics_after_feeding_events_stay_bounded(fake_classifier, tmp_path,
                                                               monkeypatch):
    """Events with many distinct ids and junk records: label values stay in bounded sets."""
    fake_classifier.last_encoder_paths = {"static": 3, "transformer": 1}
    settings_ = Settings(encoder="hashing", data_dir=tmp_path, metrics_port=0, kafka_broker="x:1")
    m = fresh()
    app = build_app(settings_, lambda: fake_classifier, m)
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    topics = app.topics_by_role
    signals_send = AsyncMock()
    monkeypatch.setattr(topics["signals"], "send", signals_send)
    monkeypatch.setattr(topics["deadletter"], "send", AsyncMock())
    async with app.agents_by_role["classify"].test_context() as ctx:
        for i in range(20):
            await ctx.put(event(f"evt-{i}", f"CUST-{i:05d}", "please cancel my subscription",
                                journey_stage="billing"), key=b"k")
        await ctx.put(b"{broken", key=b"k")
        await ctx.put(event("evt-x", "CUST-X", "hi", channel="carrier-pigeon-77"), key=b"k")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while signals_send.call_count < 20:
            assert loop.time() < deadline, "signals not sent in time"
            await asyncio.sleep(0.05)
    reg = m.registry
    assert reg.get_sample_value("churn_events_consumed_total", {"channel": "chat"}) == 20
    assert reg.get_sample_value("churn_events_deadlettered_total", {"reason": "invalid_json"}) == 1
    assert reg.get_sample_value(
        "churn_events_deadlettered_total", {"reason": "unknown_channel"}) == 1
    assert reg.get_sample_value("churn_encoder_texts_total", {"path": "static"}) >= 3
    assert reg.get_sample_value("churn_classification_batch_size_count") >= 1
    values = label_values(m)
    assert set(values) <= ALLOWED_LABEL_NAMES
    for name, seen in values.items():
        if name in LABEL_VALUES:
            assert seen <= {*LABEL_VALUES[name], OTHER}, (name, seen)
    text = generate_latest(reg).decode()
    assert "CUST-" not in text and "evt-" not in text and "pigeon" not in text


def test_revenue_at_risk_gauge_sums_the_latest_figure_per_customer_by_stage():
    m = Metrics(CollectorRegistry())

    def value(stage):
        return m.registry.get_sample_value("churn_revenue_at_risk", {"journey_stage": stage})

    assert value("billing") == 0.0
    m.record_revenue_at_risk("C-1", "billing", 1000.0)
    m.record_revenue_at_risk("C-2", "billing", 500.0)
    assert value("billing") == 1500.0
    m.record_revenue_at_risk("C-1", "renewal", 3000.0)  # C-1's latest alert moved stage
    assert value("billing") == 500.0 and value("renewal") == 3000.0
    m.record_revenue_at_risk("C-3", "not-a-stage", 10.0)
    assert value("other") == 10.0
    labels = {s.labels.get("journey_stage") for f in m.registry.collect()
              if f.name == "churn_revenue_at_risk" for s in f.samples}
    assert "C-1" not in labels and labels <= {*JOURNEY_STAGES, "other"}


def test_remembered_children_are_the_metrics_own_and_forgotten_on_remove():
    m = fresh()
    first = m.events_consumed.labels(channel="ticket")
    assert m.events_consumed.labels(channel="ticket") is first  # asked once, remembered
    first.inc()
    assert m.registry.get_sample_value("churn_events_consumed_total", {"channel": "ticket"}) == 1
    m.events_consumed.remove("ticket")
    m.events_consumed.labels(channel="ticket").inc(2)  # a new child, exported again
    assert m.registry.get_sample_value("churn_events_consumed_total", {"channel": "ticket"}) == 2
    m.events_consumed.labels(channel=["not", "hashable"]).inc()  # still bounded, not cached
    assert m.registry.get_sample_value("churn_events_consumed_total", {"channel": OTHER}) == 1
