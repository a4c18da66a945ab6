"""The stream's steps as plain functions: decode, classify, forward (fold lives in detector/).

Nothing here knows Faust or Kafka: a record is bytes or a decoded JSON value in, a value or
a :class:`Rejection` (a dead-letter reason) out. ``streams/agents.py`` runs them on batches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiokafka.partitioner import murmur2

from detector.deadletter import deadletter_record
from detector.erasure import Forget, is_forget
from detector.redact import Redactor
from detector.schema import Event, EventError, parse_event
from detector.signals import Signal

#: what a stage record carries of a signal: what ``Signal.from_wire`` requires, what the
#: stage fold reads (rating, model version) and the opt-in bench stamps
STAGE_FIELDS = ("event_id", "customer_id", "channel", "occurred_at", "churn_intent",
                "churn_probability", "friction", "friction_categories", "sentiment",
                "journey_stage", "journey_stage_source", "rating", "model_version", "bench")


class Classifier(Protocol):
    model_version: str

    def classify(self, events: list[Event]) -> list[Signal]: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record cannot be processed: the dead-letter reason and a short detail."""

    reason: str
    detail: str


def decode_event(raw: bytes | None, now: datetime, future_clamp: timedelta) -> Event | Rejection:
    """An interaction event from a source record's bytes, or why not."""
    try:
        return parse_event(raw or b"", now=now, future_clamp=future_clamp)
    except EventError as exc:
        return Rejection(exc.reason, exc.detail)
    except Exception as exc:  # a decoder bug must not stop the stream
        return Rejection("decode_failed", type(exc).__name__)


def decode_signals(value: Any) -> list[Signal | Forget] | Rejection:
    """The signals (and erasure records) of an internal record, in order, or why not.

    A record holds one signal, one forget record, or a stage batch (``{"signals": [...]}``,
    see :func:`stage_batches`).
    """
    try:
        return [Forget.from_wire(wire) if is_forget(wire) else Signal.from_wire(wire)
                for wire in wires_of(value)]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejection("invalid_signal", str(exc)[:200])


def wires_of(value: Any) -> list[Any]:
    """The wire forms an internal record holds: a stage batch's signals, else the value."""
    if isinstance(value, dict) and isinstance(value.get("signals"), list):
        return list(value["signals"])
    return [value]


def classify_isolating(
    classifier: Classifier, events: list[Event]
) -> tuple[list[tuple[int, Signal]], list[tuple[int, Exception]]]:
    """Classify a batch; if the batch raises, classify its events one by one, so that one
    poisoned event fails alone. Returns ([(index, signal)], [(index, error)])."""
    try:
        return list(enumerate(classifier.classify(events))), []
    except Exception:
        if len(events) == 1:
            raise
    done: list[tuple[int, Signal]] = []
    failed: list[tuple[int, Exception]] = []
    for i, event in enumerate(events):
        try:
            done.extend((i, s) for s in classifier.classify([event]))
        except Exception as exc:
            failed.append((i, exc))
    return done, failed


@dataclass
class Classified:
    """A batch of source records after decode and classify, by record index."""

    events: list[tuple[int, Event]]
    signals: list[tuple[int, Signal]]
    rejected: list[tuple[int, Rejection]]  # decode rejections, then classification failures
    errors: list[tuple[int, Exception]]  # the exceptions behind classification failures


def classify_records(values: Sequence[bytes | None], classifier: Classifier, now: datetime,
                     future_clamp: timedelta) -> Classified:
    """Decode a batch of source record values and classify the valid events together."""
    out = Classified([], [], [], [])
    for i, value in enumerate(values):
        decoded = decode_event(value, now, future_clamp)
        if isinstance(decoded, Rejection):
            out.rejected.append((i, decoded))
        else:
            out.events.append((i, decoded))
    if not out.events:
        return out
    index = [i for i, _ in out.events]
    try:  # one poisoned event fails alone
        done, failed = classify_isolating(classifier, [e for _, e in out.events])
    except Exception as batch_error:  # a one-event batch that raised
        done, failed = [], [(0, batch_error)]
    out.signals = [(index[k], signal) for k, signal in done]
    for k, error in failed:
        out.rejected.append((index[k], Rejection("classification_failed", type(error).__name__)))
        out.errors.append((index[k], error))
    return out


def json_bytes(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; a lone surrogate falls back to ``\\u`` escapes (valid JSON)."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def dead_letter_bytes(raw: Any, rejection: Rejection, redactor: Redactor, *, topic: str,
                      partition: int, offset: int, at: datetime) -> bytes:
    """The dead-letter record for a rejected record (detail redacted)."""
    return json_bytes(deadletter_record(
        raw, rejection.reason, redactor(rejection.detail), source_topic=topic,
        partition=partition, offset=offset, failed_at=at))


def keyed_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the Java client, aiokafka and
    Faust use) gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def signal_wire(signal: Signal, bench: dict[str, float] | None = None) -> dict[str, Any]:
    """A signal as sent on the signals topic (``bench``: the opt-in bench timestamps)."""
    wire = signal.to_wire()
    if bench is not None:
        wire["bench"] = bench
    return wire


def stage_batches(wires: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The combiner: one record per journey stage for a batch's new signals, in order.

    Each signal keeps what the stage fold reads (no text, evidence or embedding).
    """
    out: dict[str, dict[str, Any]] = {}
    for wire in wires:
        slim = {k: wire[k] for k in STAGE_FIELDS if k in wire}
        out.setdefault(wire["journey_stage"], {"signals": []})["signals"].append(slim)
    return out
