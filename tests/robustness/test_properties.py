"""Property-based tests: generated junk at the decoder and at the pipeline core.

* ``parse_event`` either returns a normalised :class:`Event` or raises :class:`EventError`
  (never anything else), for arbitrary bytes, arbitrary JSON and near-valid events;
* every refused record makes a dead-letter record that is JSON and fits a Kafka message;
* ``update_customer`` / ``update_stage`` never raise on arbitrary (well-typed) signals,
  in any order, with redeliveries, and their state stays bounded and JSON-serialisable.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.customer import RiskConfig, update_customer
from detector.deadletter import deadletter_record
from detector.schema import CHANNELS, JOURNEY_STAGES, MAX_TEXT_CHARS, EventError, parse_event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal
from detector.stages import StageConfig, update_stage

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)

timestamps = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    st.text(max_size=30),
    st.integers(),
)

near_valid = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(st.text(max_size=300), st.integers(), st.none()),
        "customer_id": st.one_of(st.text(max_size=20), st.just("C-1"), st.integers()),
        "channel": st.one_of(st.sampled_from(CHANNELS), st.text(max_size=10), st.integers()),
        "occurred_at": timestamps,
        "text": st.one_of(st.text(max_size=200), st.none(), st.integers(), json_values),
        "turns": st.one_of(
            st.lists(st.fixed_dictionaries({
                "speaker": st.sampled_from(["customer", "agent", "bot", 1]),
                "text": st.one_of(st.text(max_size=50), st.none()),
            }), max_size=4),
            json_values,
        ),
        "journey_stage": st.one_of(st.sampled_from(JOURNEY_STAGES), st.text(max_size=10)),
        "rating": st.one_of(st.integers(-3, 9), st.floats(), st.booleans(), st.text(max_size=3)),
        "language": st.one_of(st.text(max_size=40), st.integers()),
        "metadata": json_values,
    },
)


def check_decode(raw: bytes | str | dict) -> None:
    try:
        event = parse_event(raw, now=NOW)
    except EventError as exc:
        record = deadletter_record(raw if not isinstance(raw, dict) else json.dumps(raw),
                                   exc.reason, exc.detail, source_topic="t", partition=0,
                                   offset=1)
        assert len(json.dumps(record, ensure_ascii=False).encode()) < 1_000_000
        assert exc.reason.replace("_", "").isalnum()
        return
    assert event.channel in CHANNELS
    assert event.text and len(event.text) <= MAX_TEXT_CHARS
    assert sum(len(t.text) for t in event.turns) <= MAX_TEXT_CHARS
    assert event.occurred_at.tzinfo is not None
    assert event.occurred_at - NOW <= timedelta(days=1)
    assert event.journey_stage is None or event.journey_stage in JOURNEY_STAGES
    assert event.rating is None or 1 <= event.rating <= 5
    json.dumps(event.to_dict(), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes_on_bytes(raw):
    check_decode(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoder_never_crashes_on_any_json(value):
    check_decode(json.dumps(value).encode())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid)
def test_decoder_never_crashes_on_near_valid_events(obj):
    check_decode(json.dumps(obj, ensure_ascii=False).encode("utf-8", errors="surrogatepass"))
    check_decode(obj)


unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def signals(draw, customers=("C-1", "C-2", "C-3")) -> Signal:
    intent = draw(st.sampled_from(INTENTS))
    friction = {c: draw(unit) for c in FRICTION_CATEGORIES}
    cats = tuple(c for c in FRICTION_CATEGORIES if friction[c] > 0.5)
    dim = draw(st.sampled_from([None, 4]))
    return Signal(
        event_id=f"e{draw(st.integers(0, 60))}",
        customer_id=draw(st.sampled_from(customers)),
        channel=draw(st.sampled_from(CHANNELS)),
        occurred_at=NOW + timedelta(minutes=draw(st.integers(-60 * 24 * 400, 60 * 24))),
        churn_intent=intent,
        churn_probability=draw(unit),
        intent_probabilities={i: draw(unit) for i in INTENTS},
        friction=friction,
        friction_categories=cats,
        sentiment=draw(st.floats(-1.0, 1.0)),
        journey_stage=draw(st.sampled_from(JOURNEY_STAGES)),
        journey_stage_source="event",
        text=draw(st.text(max_size=300)),
        rating=draw(st.one_of(st.none(), st.integers(1, 5))),
        model_version="prop",
        embedding=None if dim is None else tuple(draw(st.lists(
            st.floats(-1, 1), min_size=dim, max_size=dim))),
    )


SMALL = RiskConfig(seen_ids_size=16, evidence_size=4, max_contacts=8, issue_max_threads=2)
STAGE = StageConfig(seen_ids_size=16, window_minutes=60, step_minutes=15, spike_min_events=3,
                    spike_min_count=1, baseline_min_events=1, warmup_windows=1,
                    gap_min_events=1, gap_duration_minutes=0,
                    expectations={"billing": {"satisfaction": 0.9, "friction_rate": 0.05}})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(signals(), min_size=1, max_size=60))
def test_pipeline_core_never_raises_and_state_stays_bounded(stream):
    customers: dict[str, dict] = {}
    stages: dict[str, dict] = {}
    for signal in stream + stream[: len(stream) // 3]:  # with redeliveries
        upd = update_customer(customers.get(signal.customer_id), signal, SMALL)
        customers[signal.customer_id] = upd.state
        st_ = upd.state
        assert len(st_["seen"]) <= SMALL.seen_ids_size
        assert len(st_["evidence"]) <= SMALL.evidence_size
        assert len(st_["contacts"]) <= SMALL.max_contacts
        assert len(st_["threads"]) <= SMALL.issue_max_threads
        assert math.isfinite(st_["risk_acc"]) and st_["risk_acc"] >= 0
        for alert in upd.alerts:
            json.dumps(alert.to_dict(), allow_nan=False)
        if upd.duplicate:
            continue
        supd = update_stage(stages.get(signal.journey_stage), signal, STAGE)
        stages[signal.journey_stage] = supd.state
        assert len(supd.state["seen"]) <= STAGE.seen_ids_size
        # buckets older than lateness + window are dropped
        assert len(supd.state["buckets"]) <= (60 + 30) / 15 + 2 + 1
        for alert in supd.alerts:
            json.dumps(alert.to_dict(), allow_nan=False)
    json.dumps(customers, allow_nan=False)
    json.dumps(stages, allow_nan=False)
    unique = {s.event_id for s in stream}
    assert sum(c["events"] for c in customers.values()) <= len(unique) * len(customers)
