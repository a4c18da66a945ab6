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
from detector.schema import (
    CHANNELS,
    JOURNEY_STAGES,
    MAX_TEXT_CHARS,
    EventError,
    is_id_char,
    parse_event,
)
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal
from detector.stages import StageConfig, update_stage

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

#: Any code point, surrogates and invisible characters included, with the ones that found
#: bugs drawn often (lone surrogates, zero-width, bidi, line separators, superscript digits).
ODD_CHARS = ["\ud800", "\udfff", "\udbff", "\u200b", "\u202e", "\u2066", "\ufeff", "\n",
             "\r", "\t", "\x85", "\u2028", "\x00", "\x1b", "\u00b2", "\u0663", "@", "\u00e9"]
any_char = st.one_of(st.characters(exclude_categories=()), st.sampled_from(ODD_CHARS))
any_text = st.text(any_char, max_size=60)
#: Integers far beyond 64 bits (up to 400 digits) and floats with NaN and infinities.
any_int = st.one_of(st.integers(), st.integers(-(10**400), 10**400),
                    st.sampled_from([2**63, -(2**63) - 1, 10**19]))

json_values = st.recursive(
    st.none() | st.booleans() | any_int | st.floats() | any_text,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(any_text, children, max_size=5),
    max_leaves=20,
)

timestamps = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    any_text,
    any_int,
)


def field(specific):
    """A field's plausible values, or any JSON value at all (every type in every field)."""
    return st.one_of(specific, json_values)


near_valid = st.fixed_dictionaries(
    {},
    optional={
        "event_id": field(st.one_of(st.text(max_size=300), any_text)),
        "customer_id": field(st.one_of(st.just("C-1"), any_text.map(lambda t: "C-" + t))),
        "channel": field(st.sampled_from(CHANNELS)),
        "occurred_at": field(timestamps),
        "text": field(any_text),
        "turns": field(
            st.lists(st.fixed_dictionaries({
                "speaker": field(st.sampled_from(["customer", "agent", "bot"])),
                "text": field(any_text),
            }), max_size=4),
        ),
        "journey_stage": field(st.sampled_from(JOURNEY_STAGES)),
        "rating": field(st.one_of(st.integers(-3, 9), st.floats(), any_int)),
        "language": field(any_text),
        "metadata": json_values,
    },
)


def json_bytes(value) -> bytes:
    """JSON as a producer may send it: lone surrogates as \\u escapes, huge integers
    written out (``json.dumps`` refuses integers over 4,300 digits)."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


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
    # everything accepted can be encoded and sent on (Kafka keys, signals, alerts)
    json.dumps(event.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")
    for name in ("event_id", "customer_id"):
        value = getattr(event, name)
        value.encode("utf-8")
        assert all(is_id_char(ch) for ch in value), value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes_on_bytes(raw):
    check_decode(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoder_never_crashes_on_any_json(value):
    check_decode(json_bytes(value))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid)
def test_decoder_never_crashes_on_near_valid_events(obj):
    check_decode(json_bytes(obj))
    check_decode(json.dumps(obj, ensure_ascii=False).encode("utf-8", errors="surrogatepass"))
    check_decode(obj)


@settings(max_examples=200, deadline=None)
@given(near_valid, st.sampled_from(["rating", "metadata", "event_id", "occurred_at"]),
       st.integers(1, 6000), st.booleans())
def test_decoder_never_crashes_on_integers_of_any_length(obj, name, digits, negative):
    """Integers written out with up to 6,000 digits (Python refuses to convert 4,300)."""
    number = ("-" if negative else "") + "9" * digits
    text = json_bytes({**obj, name: 0}).replace(f'"{name}": 0'.encode(), f'"{name}": '.encode()
                                                 + number.encode())
    check_decode(text)


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


header_values = st.one_of(any_text, st.none(), st.integers().map(str),
                          st.text("v1,= sha256ABCDEF0123456789+/", max_size=80))


@settings(max_examples=300, deadline=None)
@given(header_values, header_values, header_values, st.binary(max_size=50))
def test_signature_verifiers_raise_only_their_own_error(ts, sig, msg_id, body):
    """Any header values at all: verified, or SignatureError, never anything else."""
    from streams.webhook_verify import SignatureError, verify_signature, verify_standard

    try:
        verify_signature("secret", body, ts, sig, now=1_800_000_000)
    except SignatureError:
        pass
    headers = {k: v for k, v in (("webhook-id", msg_id), ("webhook-timestamp", ts),
                                 ("webhook-signature", sig)) if v is not None}
    try:
        verify_standard(["secret", "whsec_c2VjcmV0"], body, headers, now=1_800_000_000)
    except SignatureError:
        pass


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_redaction_and_escaping_never_raise_and_escaping_leaves_nothing_invisible(text):
    import unicodedata

    from detector.redact import Redactor, escape_controls

    Redactor()(text)
    shown = escape_controls(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in shown)
