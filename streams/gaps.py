"""Offset-gap guard for the state agents: never skip a record of an internal topic.

Faust (0.15.x) can hand an agent a partition's records with a hole in them after a
restart or a rebalance: records fetched before the recovery seek are dropped from its
queues, processing resumes past them, and they are never applied (see
docs/robustness.md, "records skipped after a restart"). The records are on the topic;
nothing in at-least-once delivery brings them back.

The guard makes the state agents' own bookkeeping authoritative. Each agent persists, per
input partition, the last offset it applied (next to its state, in the ``applied_offsets``
table, whose changelog survives crashes and moves with the partition). The detector's
internal topics are written without transactions, so their offsets are contiguous: a record
whose offset is past ``last applied + 1`` means records were skipped. The agent then seeks
the partition back to the first missing offset and leaves the records after the hole
unapplied until the missing ones have come round again (they come back after it, in order).

A hole at the *end* of what a partition holds shows no later record: records fetched and
lost on their way to the agent, with nothing produced after them. :meth:`GapGuard.tail`
catches it from outside: the agent has been idle for ``retry_seconds`` while the
partition's end offset stayed past the last record it took for ``retry_seconds``, so it
seeks back the same way.

Records at or below the last applied offset are redeliveries and are processed as usual
(the state drops repeated ``event_id``s). If the missing records never arrive (deleted by
retention, or control records of a transactional producer), the guard gives up after
``max_seeks`` seeks ``retry_seconds`` apart, accepts the gap and says so, rather than stall
the partition for ever.

This module is pure (no Faust): the agents call :meth:`GapGuard.check` per record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["apply", "skip", "seek"]


@dataclass(frozen=True)
class Verdict:
    """What to do with one record.

    ``apply``: process it (``accepted_gap`` > 0 when the guard gave up on that many missing
    records just before it). ``seek``: seek the partition to ``seek_to`` and do not process
    it. ``skip``: a seek is under way; do not process it (it comes round again).
    """

    action: Action
    seek_to: int | None = None
    accepted_gap: int = 0


APPLY = Verdict("apply")
SKIP = Verdict("skip")


@dataclass
class _Seek:
    target: int
    last_at: float
    seeks: int
    given_up: bool = False


class GapGuard:
    """Per-partition gap detection with bounded re-seeks (one guard per agent)."""

    def __init__(self, retry_seconds: float = 1.0, max_seeks: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_seeks < 1:
            raise ValueError("max_seeks must be at least 1")
        self.retry_seconds = retry_seconds
        self.max_seeks = max_seeks
        self._clock = clock
        self._pending: dict[Any, _Seek] = {}
        self._suspects: dict[Any, tuple[int, float]] = {}  # tail shortfalls seen once

    @property
    def seeking(self) -> frozenset[Any]:
        """Partitions with a seek under way."""
        return frozenset(self._pending)

    def check(self, partition: Any, offset: int, last_applied: int | None) -> Verdict:
        """Decide for the record at ``offset`` given the partition's last applied offset."""
        if last_applied is None or offset <= last_applied + 1:
            pending = self._pending.get(partition)
            if pending is not None and offset >= pending.target:
                del self._pending[partition]  # the missing records are back
            return APPLY
        expected = last_applied + 1
        now = self._clock()
        pending = self._pending.get(partition)
        if pending is None or pending.target != expected:
            self._pending[partition] = _Seek(expected, now, 1)
            return Verdict("seek", seek_to=expected)
        if pending.given_up or (now - pending.last_at >= self.retry_seconds
                                and pending.seeks >= self.max_seeks):
            del self._pending[partition]
            return Verdict("apply", accepted_gap=offset - expected)
        if now - pending.last_at < self.retry_seconds:
            return SKIP  # records fetched before the seek, still draining
        pending.seeks += 1
        pending.last_at = now
        return Verdict("seek", seek_to=expected)

    def tail(self, partition: Any, last_taken: int | None, end: int | None,
             idle_seconds: float) -> int | None:
        """The offset to seek ``partition`` to when records before its ``end`` offset never
        reached an agent idle for ``idle_seconds`` (None: nothing to do).

        ``last_taken``: the highest offset the agent took from it since the assignment.
        The same shortfall must be seen twice, ``retry_seconds`` apart, before the seek: a
        record fetched a moment ago may still be on its way to an agent that was idle. A
        seek under way is left to :meth:`due`. An end offset can run ahead of the last
        record (a transaction's commit marker): then the seek brings nothing and the guard
        gives up after ``max_seeks``, as for any gap.
        """
        if (last_taken is None or end is None or end <= last_taken + 1
                or idle_seconds < self.retry_seconds or partition in self._pending):
            self._suspects.pop(partition, None)
            return None
        now = self._clock()
        seen = self._suspects.setdefault(partition, (last_taken, now))
        if seen[0] != last_taken:  # it moved on since: watch again from here
            self._suspects[partition] = (last_taken, now)
            return None
        if now - seen[1] < self.retry_seconds:
            return None
        del self._suspects[partition]
        self._pending[partition] = _Seek(last_taken + 1, now, 1)
        return last_taken + 1

    def due(self) -> list[tuple[Any, int]]:
        """Seeks to repeat now (partition, offset), for partitions where no record arrives.

        Call it from a timer: a seek that was lost (e.g. undone by the consumer) would
        otherwise leave a partition waiting for records that never come. A partition out of
        seeks is given up on: its next record is applied and the gap reported then.
        """
        now = self._clock()
        out: list[tuple[Any, int]] = []
        for partition, pending in self._pending.items():
            if pending.given_up or now - pending.last_at < self.retry_seconds:
                continue
            if pending.seeks >= self.max_seeks:
                pending.given_up = True
                continue
            pending.seeks += 1
            pending.last_at = now
            out.append((partition, pending.target))
        return out

    def forget(self, partitions: Iterable[Any]) -> None:
        """Drop seeks under way for partitions this worker no longer owns."""
        for partition in partitions:
            self._pending.pop(partition, None)
            self._suspects.pop(partition, None)
