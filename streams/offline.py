"""Offline paths without a broker: read JSONL events, score them, replay the detector."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from detector.accounts import ProfileError, parse_profile
from detector.alerts import Alert
from detector.engine import Detector
from detector.schema import FUTURE_CLAMP, Event, EventError, parse_event
from detector.signals import Signal
from streams.steps import Classifier, classify_isolating


@dataclass
class Rejected:
    line: int
    reason: str
    raw: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "raw": self.raw}


def read_events(
    lines: Iterable[str | bytes], now: datetime | None = None,
    future_clamp: timedelta = FUTURE_CLAMP,
) -> Iterator[tuple[int, Event | Rejected]]:
    """Parse JSONL lines; yield (line number, Event) or (line number, Rejected). Never raises.

    ``now`` (default: the current time) is the processing time of ``parse_event``."""
    now = now or datetime.now(UTC)
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            text = line.decode("utf-8", errors="replace")
            payload: str | bytes = line
        else:
            text = payload = line
        if not text.strip():
            continue
        try:
            yield number, parse_event(payload, now=now, future_clamp=future_clamp)
        except EventError as exc:
            yield (
                number,
                Rejected(number, f"{exc.reason}: {exc.detail}", text.rstrip("\r\n")[:2000]),
            )
        except Exception as exc:  # a decoder bug: this line is rejected, the rest go on
            yield (
                number,
                Rejected(number, f"decode_failed: {type(exc).__name__}",
                         text.rstrip("\r\n")[:2000]),
            )


def read_profiles(lines: Iterable[str | bytes]) -> tuple[dict[str, dict[str, Any]], list[Rejected]]:
    """Customer profiles from JSONL (one profile a line, the latest per customer wins)."""
    profiles: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for number, line in enumerate(lines, start=1):
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        try:
            profile = parse_profile(text)
        except ProfileError as exc:
            rejected.append(Rejected(number, f"{exc.reason}: {exc.detail}", text.rstrip()[:2000]))
            continue
        profiles[profile["customer_id"]] = profile
    return profiles, rejected


def open_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes; a byte-order mark at its start (an editor's or a
    spreadsheet's UTF-8 export) is read past, not reported as bad JSON on line 1."""
    with open(path, "rb") as fh:
        first = True
        for line in fh:
            if first and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            first = False
            yield line


def _batches(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


OnError = Callable[[Event, Exception], None]


def score_events(
    classifier: Classifier, events: Iterable[Event], batch_size: int = 64,
    on_error: OnError | None = None,
) -> Iterator[Signal]:
    """Classify events in micro-batches. An event the classifier fails on is left out and
    passed to ``on_error`` (the rest of its batch is classified); without ``on_error`` the
    error is raised."""
    for batch in _batches(events, batch_size):
        done, failed = classify_isolating(classifier, batch)
        for i, exc in failed:
            if on_error is None:
                raise exc
            on_error(batch[i], exc)
        for _, signal in done:
            yield signal


def replay(
    classifier: Classifier,
    events: list[Event],
    detector: Detector,
    batch_size: int = 64,
    order: str = "event-time",
    on_error: OnError | None = None,
) -> Iterator[Alert]:
    """The whole detector over events in event-time order (ties keep file order).

    ``order="file"`` keeps the file's order instead: arrival order, as a stream would see
    it, with late and out-of-order events handled by the detector's lateness rules.
    """
    if order not in ("event-time", "file"):
        raise ValueError("order must be 'event-time' or 'file'")
    ordered = sorted(events, key=lambda e: e.occurred_at) if order == "event-time" else events
    for signal in score_events(classifier, ordered, batch_size, on_error):
        yield from detector.process(signal)


def write_jsonl(fh: IO[str], obj: dict[str, Any]) -> None:
    fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
