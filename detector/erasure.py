"""Erasure of one customer (``churn-detector forget``, inactivity expiry).

A *forget record* travels through the stream like a signal, keyed by the customer, so that it
is applied in order with the customer's signals (a signal redelivered after a crash comes
before it again, never after): the customers agent replaces the customer's row by a marker
(hashes of its last event ids, so that a signal re-read after a crash is ignored, not applied
to an empty state) and passes the record to every stage, which drops the customer's event
ids from its examples. After ``MARKER_TTL`` a *purge* record (the same path) deletes the
marker: a changelog tombstone, removed by compaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from detector.stages import seen_key
from detector.state_codec import encode_time, forgotten_at, last_seen

#: The key that marks a forget record on the signals and stage-signals topics.
FORGET = "forget"
REASONS = ("request", "expired", "purge")
#: How long an erased customer's marker (hashes of its event ids, under its key) is kept.
MARKER_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Forget:
    """Erase ``customer_id`` (``reason``: an erasure request, or inactivity expiry)."""

    customer_id: str
    reason: str = "request"
    journey_stage: str | None = None  # set on the stage-signals topic

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {FORGET: self.customer_id, "reason": self.reason}
        if self.journey_stage is not None:
            out["journey_stage"] = self.journey_stage
        return out

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Forget:
        cid, reason, stage = obj.get(FORGET), obj.get("reason", "request"), obj.get(
            "journey_stage")
        if not isinstance(cid, str) or not cid or reason not in REASONS:
            raise ValueError("a forget record needs a customer id and a known reason")
        if stage is not None and not isinstance(stage, str):
            raise ValueError("journey_stage must be a string")
        return cls(cid, reason, stage)


def is_forget(value: Any) -> bool:
    return isinstance(value, dict) and FORGET in value


def forget_in_stage(state: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """The stage state without the customer's event ids among the buckets' examples and
    without the customer among the buckets' affected customers (the volume rule's). Its
    deduplication keys are hashes of (customer, event id): they stay, so that a signal of
    the customer re-read after a crash is still counted once. Counters hold no customer data.
    """
    seen = set(state.get("seen") or [])
    out = dict(state)
    buckets = {}
    for start, bucket in (state.get("buckets") or {}).items():
        examples = {cat: [e for e in ids if seen_key(customer_id, e) not in seen]
                    for cat, ids in bucket.get("examples", {}).items()}
        who = {cat: [c for c in ids if c != customer_id]
               for cat, ids in bucket.get("customers", {}).items()}
        buckets[start] = {**bucket, "examples": examples, "customers": who}
    out["buckets"] = buckets
    return out


def event_hash(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def forgotten_marker(state: dict[str, Any] | None, at: datetime, limit: int = 256
                     ) -> dict[str, Any]:
    """What is left of an erased customer until the marker is purged: hashes of its last
    event ids (a signal re-read after a crash is recognised and ignored) and the time (an
    integer, as in a stored state: ``detector.state_codec``). ``state``: either version."""
    state = state or {}
    hashes = list(state.get("forgotten_seen") or [])
    hashes += [event_hash(e) for e in state.get("seen") or []]
    return {"forgotten_at": encode_time(at.isoformat()), "forgotten_seen": hashes[-limit:]}


def is_marker(state: dict[str, Any] | None) -> bool:
    return state is not None and "forgotten_at" in state and "events" not in state


def purge_due(state: dict[str, Any] | None, now: datetime, ttl: timedelta) -> bool:
    """Whether an erasure marker (or the marker fields of a returned customer) is old enough
    to be dropped: by then no record from before the erasure can be re-read."""
    at = forgotten_at(state)
    return at is not None and now - at > ttl


def purged(state: dict[str, Any]) -> dict[str, Any] | None:
    """``state`` without erasure fields; None (delete the row) for a bare marker."""
    if is_marker(state):
        return None
    return {k: v for k, v in state.items() if k not in ("forgotten_at", "forgotten_seen")}


def inactive(state: dict[str, Any], now: datetime, days: float) -> bool:
    """Whether the customer's latest event is more than ``days`` before ``now`` (a state of
    either version)."""
    last = last_seen(state)
    if last is None or days <= 0:
        return False
    return (now - last).total_seconds() > days * 86400
