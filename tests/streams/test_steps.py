"""Tier 1: the stream's steps as plain functions (no Faust)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner

from detector.erasure import Forget
from detector.redact import Redactor
from detector.schema import Event
from models.labelled import LabelledClassifier
from streams import steps
from streams.settings import Settings
from streams.steps import (
    Rejection,
    classify_records,
    dead_letter_bytes,
    decode_event,
    decode_signals,
    keyed_partition,
    stage_batches,
)
from tests.conftest import make_signal

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
CLAMP = timedelta(minutes=2)


def raw(eid: str, **over) -> bytes:
    body = {"event_id": eid, "customer_id": "C-1", "channel": "chat",
            "occurred_at": "2026-11-10T09:00:00Z", "text": "my bill is wrong"}
    body.update(over)
    return json.dumps(body).encode()


def test_decode_event_gives_an_event_or_the_reason():
    assert isinstance(decode_event(raw("e1"), NOW, CLAMP), Event)
    bad = decode_event(b"{nope", NOW, CLAMP)
    assert isinstance(bad, Rejection) and bad.reason == "invalid_json" and bad.detail
    empty = decode_event(None, NOW, CLAMP)
    assert isinstance(empty, Rejection) and empty.reason == "invalid_json"  # a null value


def test_a_decoder_bug_is_a_rejection_not_a_crash(monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(steps, "parse_event", broken)
    assert decode_event(raw("e1"), NOW, CLAMP) == Rejection("decode_failed", "ZeroDivisionError")


def test_decode_signals_reads_one_signal_a_forget_record_or_a_stage_batch():
    one = make_signal("e1", "C-1").to_wire()
    two = make_signal("e2", "C-2").to_wire()
    assert [s.event_id for s in decode_signals(one)] == ["e1"]  # type: ignore[union-attr]
    [forget] = decode_signals(Forget("C-1", "request").to_wire())  # type: ignore[misc]
    assert isinstance(forget, Forget) and forget.customer_id == "C-1"
    batch = decode_signals({"signals": [one, two]})
    assert [s.event_id for s in batch] == ["e1", "e2"]  # type: ignore[union-attr]
    for bad in ({"event_id": "x"}, {"signals": [one, {"nope": 1}]}, [1, 2], "text"):
        rejection = decode_signals(bad)
        assert isinstance(rejection, Rejection) and rejection.reason == "invalid_signal"


def test_a_signals_flag_quotes_cross_the_signals_topic_but_not_the_stage_records():
    quoted = replace(make_signal("q1", text="It failed again."), flags=("recurring_problem",),
                     flag_quotes={"recurring_problem": "It failed again."})
    [back] = decode_signals(json.loads(json.dumps(quoted.to_wire())))  # type: ignore[misc]
    assert (back.flags, back.flag_quotes) == (quoted.flags, quoted.flag_quotes)  # type: ignore[union-attr]
    older = quoted.to_wire()
    del older["flag_quotes"]  # a signal sent before they were
    [old] = decode_signals(older)  # type: ignore[misc]
    assert old.flag_quotes == {}  # type: ignore[union-attr]
    for bad in (["It failed again."], {"recurring_problem": 3}):
        rejection = decode_signals({**older, "flag_quotes": bad})
        assert isinstance(rejection, Rejection) and rejection.reason == "invalid_signal"
    assert "flag_quotes" not in json.dumps(stage_batches([quoted.to_wire()]))


def test_the_combiner_sends_one_record_per_stage_in_order_without_text():
    wires = [make_signal(f"e{i}", f"C-{i}", stage=stage, text="private words").to_wire()
             for i, stage in enumerate(["billing", "usage", "billing", "billing"])]
    wires[0]["bench"] = {"consumed_at": 1.0, "classified_at": 2.0}
    out = stage_batches(wires)
    assert list(out) == ["billing", "usage"]
    assert [w["event_id"] for w in out["billing"]["signals"]] == ["e0", "e2", "e3"]
    assert [w["event_id"] for w in out["usage"]["signals"]] == ["e1"]
    assert out["billing"]["signals"][0]["bench"] == {"consumed_at": 1.0, "classified_at": 2.0}
    for record in out.values():
        text = json.dumps(record)
        assert "private words" not in text and "embedding_packed" not in text
    # what the stage fold reads survives the trip
    [again] = decode_signals({"signals": [out["usage"]["signals"][0]]})  # type: ignore[misc]
    original = make_signal("e1", "C-1", stage="usage", text="private words")
    for field in ("event_id", "customer_id", "channel", "occurred_at", "sentiment", "rating",
                  "friction_categories", "journey_stage", "model_version"):
        assert getattr(again, field) == getattr(original, field)


def test_classify_records_keeps_record_indices_and_dead_letters_in_order(poisoned_classifier):
    values = [raw("a"), b"{bad", raw("b", text="poison"), raw("c", channel="fax"), raw("d")]
    out = classify_records(values, LabelledClassifier(), NOW, CLAMP)
    assert [(i, s.event_id) for i, s in out.signals] == [(0, "a"), (4, "d")]
    assert [(i, r.reason) for i, r in out.rejected] == [
        (1, "invalid_json"), (3, "unknown_channel"), (2, "classification_failed")]
    assert [i for i, _ in out.events] == [0, 2, 4]
    assert [type(e).__name__ for _, e in out.errors] == ["RuntimeError"]


def test_dead_letter_bytes_keep_the_original_and_redact_the_detail():
    record = json.loads(dead_letter_bytes(
        b"{bad", Rejection("invalid_json", "near jane@example.com"), Redactor(), topic="t",
        partition=2, offset=7, at=NOW))
    assert record["raw"] == "{bad" and record["reason"] == "invalid_json"
    assert (record["source_topic"], record["partition"], record["offset"]) == ("t", 2, 7)
    assert "jane@example.com" not in record["detail"]


@pytest.mark.parametrize("key", [b"C-1", b"customer-42", "Zoë-7".encode(), b""])
def test_keyed_partition_is_kafkas_default_partitioner(key):
    for n in (1, 4, 12):
        assert keyed_partition(key, n) == DefaultPartitioner()(key, list(range(n)),
                                                               list(range(n)))


@pytest.mark.parametrize(("broker", "seals"), [
    ("127.0.0.1:9092", True), ("localhost:9092,127.0.0.2:9093", True), ("[::1]:9092", True),
    ("kafka://127.0.0.1:9092", True), ("kafka-0.prod:9092", False),
    ("127.0.0.1:9092,kafka-0.prod:9092", False), ("", False),
])
def test_changelog_sealing_is_on_for_a_broker_on_loopback_only(broker, seals):
    assert Settings(_env_file=None, kafka_broker=broker).seals_changelog() is seals
    forced = Settings(_env_file=None, kafka_broker=broker, seal_changelog_batches=not seals)
    assert forced.seals_changelog() is (not seals)
    # the worker's broker override decides, when given
    assert Settings(_env_file=None).seals_changelog(broker) is seals
