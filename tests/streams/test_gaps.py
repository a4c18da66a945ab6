"""The offset-gap guard of the state agents (pure logic; the fault tests run it for real)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.agents import Admission
from streams.gaps import GapGuard
from streams.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replay(guard: GapGuard, offsets: list[int], last: int | None) -> tuple[list[int], list[int]]:
    """Feed ``offsets`` like an agent does; return (applied offsets, seek targets)."""
    applied: list[int] = []
    seeks: list[int] = []
    for offset in offsets:
        verdict = guard.check("p0", offset, last)
        if verdict.action == "seek":
            assert verdict.seek_to is not None
            seeks.append(verdict.seek_to)
        elif verdict.action == "apply":
            applied.append(offset)
            last = offset if last is None else max(last, offset)
    return applied, seeks


def test_contiguous_and_redelivered_records_are_applied():
    guard = GapGuard()
    applied, seeks = replay(guard, [5, 6, 7, 3, 4, 8], last=4)
    assert applied == [5, 6, 7, 3, 4, 8]
    assert seeks == []
    assert guard.seeking == frozenset()


def test_first_record_of_an_unknown_partition_is_applied():
    applied, seeks = replay(GapGuard(), [40, 41], last=None)
    assert (applied, seeks) == ([40, 41], [])


def test_a_hole_after_a_restart_is_re_read_in_order():
    """The kill -9 signature: redeliveries, then a jump past records never applied."""
    clock = Clock()
    guard = GapGuard(clock=clock)
    # last applied 46; the restarted worker re-reads 31..46 then jumps to 73
    stream = [*range(31, 47), 73, 74, 75, *range(47, 80)]
    applied, seeks = replay(guard, stream, last=46)
    assert seeks == [47]
    assert applied == [*range(31, 47), *range(47, 80)]  # 73..75 only once, after 72
    assert guard.seeking == frozenset()


def test_re_seeks_when_the_missing_records_do_not_come_back():
    clock = Clock()
    guard = GapGuard(retry_seconds=1.0, max_seeks=3, clock=clock)
    assert guard.check("p0", 60, 40).action == "seek"
    assert guard.check("p0", 61, 40).action == "skip"  # still draining the old fetch
    clock.now += 1.5
    verdict = guard.check("p0", 62, 40)
    assert (verdict.action, verdict.seek_to) == ("seek", 41)
    clock.now += 1.5
    assert guard.check("p0", 60, 40).action == "seek"
    clock.now += 1.5
    verdict = guard.check("p0", 60, 40)  # retention took 41..59: give up, say how many
    assert (verdict.action, verdict.accepted_gap) == ("apply", 19)
    assert guard.seeking == frozenset()


def test_partitions_are_independent_and_forgotten_on_revoke():
    guard = GapGuard()
    assert guard.check("p0", 10, 5).action == "seek"
    assert guard.check("p1", 6, 5).action == "apply"
    assert guard.seeking == frozenset({"p0"})
    guard.forget(["p0"])
    assert guard.seeking == frozenset()
    assert guard.check("p0", 10, 5).action == "seek"  # a fresh seek, not a skip


def test_a_new_hole_gets_its_own_seek():
    guard = GapGuard()
    assert guard.check("p0", 10, 5).seek_to == 6
    assert guard.check("p0", 20, 12).seek_to == 13


def test_max_seeks_must_be_positive():
    with pytest.raises(ValueError):
        GapGuard(max_seeks=0)


def test_timer_re_seeks_a_partition_that_went_quiet_then_gives_up():
    clock = Clock()
    guard = GapGuard(retry_seconds=1.0, max_seeks=2, clock=clock)
    assert guard.check("p0", 60, 40).seek_to == 41
    assert guard.due() == []  # too early
    clock.now += 1.5
    assert guard.due() == [("p0", 41)]
    clock.now += 1.5
    assert guard.due() == []  # out of seeks: given up, reported with the next record
    verdict = guard.check("p0", 60, 40)
    assert (verdict.action, verdict.accepted_gap) == ("apply", 19)
    assert guard.check("p0", 61, 60).action == "apply"


def test_timer_seek_that_works_clears_the_pending_seek():
    clock = Clock()
    guard = GapGuard(clock=clock)
    guard.check("p0", 60, 40)
    clock.now += 2
    assert guard.due() == [("p0", 41)]
    assert guard.check("p0", 41, 40).action == "apply"
    assert guard.seeking == frozenset()
    assert guard.due() == []


def test_a_hole_at_the_end_of_a_partition_is_found_once_the_agent_idles():
    """Records fetched and lost with nothing produced after them: no later record shows
    the hole, so the partition's end offset has to."""
    clock = Clock()
    guard = GapGuard(retry_seconds=1.0, max_seeks=2, clock=clock)
    assert guard.tail("p0", 237, 600, idle_seconds=0.5) is None  # the agent is still busy
    assert guard.tail("p0", 599, 600, idle_seconds=5) is None  # everything taken
    assert guard.tail("p0", None, 600, idle_seconds=5) is None  # nothing taken yet
    assert guard.tail("p0", 237, None, idle_seconds=5) is None  # end unknown
    assert guard.tail("p0", 237, 600, idle_seconds=5) is None  # seen once: may be on its way
    clock.now += 0.5
    assert guard.tail("p0", 237, 600, idle_seconds=5) is None  # not for long enough yet
    clock.now += 0.6
    assert guard.tail("p0", 237, 600, idle_seconds=5) == 238
    assert guard.tail("p0", 237, 600, idle_seconds=5) is None  # under way: due() repeats it
    clock.now += 1.5
    assert guard.due() == [("p0", 238)]
    assert guard.check("p0", 238, 237).action == "apply"  # the records came back
    assert guard.seeking == frozenset()


def test_an_end_that_never_comes_back_is_given_up_like_any_gap():
    """A transactional producer's commit marker puts the end one past the last record."""
    clock = Clock()
    guard = GapGuard(retry_seconds=1.0, max_seeks=2, clock=clock)
    assert guard.tail("p0", 99, 101, idle_seconds=5) is None
    clock.now += 1.5
    assert guard.tail("p0", 99, 101, idle_seconds=5) == 100
    clock.now += 1.5
    assert guard.due() == [("p0", 100)]
    clock.now += 1.5
    assert guard.due() == []  # given up
    assert guard.tail("p0", 99, 101, idle_seconds=5) is None  # no seeking for ever
    assert guard.check("p0", 101, 99).accepted_gap == 1  # reported with the next record


class FakeRuntime:
    """The part of streams.runtime.Runtime the admission uses: end offsets and seeks."""

    def __init__(self, ends: dict[Any, int], committed: dict[Any, int] | None = None) -> None:
        self.end_offsets, self.seeks = ends, []
        self.committed_at, self.in_rebalance = committed or {}, False

    def settled(self) -> bool:
        return not self.in_rebalance

    def assigned(self, topics: frozenset[str]) -> set[Any]:
        return {tp for tp in self.end_offsets if tp.topic in topics}

    def committed(self, tp: Any) -> int | None:
        return self.committed_at.get(tp)

    async def ends(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: self.end_offsets[tp] for tp in tps}

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))


def record_at(tp: TP, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=tp, topic=tp.topic,
                                                   partition=tp.partition, offset=offset))


async def test_an_idle_agent_seeks_back_to_records_that_never_reached_it():
    """What the keyed kill -9 test showed: after a restart, records of two partitions were
    fetched and never delivered, and nothing was produced after them."""
    clock = Clock()
    p0, p1 = TP("interactions.tickets", 0), TP("interactions.tickets", 1)
    runtime = FakeRuntime({p0: 600, p1: 840})
    metrics = Metrics(CollectorRegistry())
    admission = Admission("classify", GapGuard(clock=clock), runtime, metrics,  # type: ignore[arg-type]
                          frozenset({"interactions.tickets"}), clock=clock)
    with admission.batch():
        assert await admission.admit(record_at(p0, 237), None)
        assert await admission.admit(record_at(p1, 839), None)
        await admission.find_tail_holes()  # busy: records may still be on their way
    await admission.find_tail_holes()  # idle, but not for long enough
    assert runtime.seeks == []
    clock.now += 1.5
    await admission.find_tail_holes()  # seen once
    clock.now += 1.5
    await admission.find_tail_holes()
    assert runtime.seeks == [(p0, 238)]  # p1 was read to its end
    assert metrics.offset_gaps.labels(agent="classify", outcome="seek")._value.get() == 1
    with admission.batch():
        assert await admission.admit(record_at(p0, 238), 237)  # they came back
    admission.forget([p0, p1])
    clock.now += 5
    await admission.find_tail_holes()
    assert runtime.seeks == [(p0, 238)]


async def test_a_partition_nothing_came_from_since_the_assignment_is_watched_too():
    """Its start is the committed offset; nothing is done in a rebalance or a recovery."""
    clock = Clock()
    p0, p1 = TP("churn.signals", 0), TP("churn.signals", 1)
    runtime = FakeRuntime({p0: 500, p1: 90}, committed={p0: 120})
    admission = Admission("customers", GapGuard(clock=clock), runtime,  # type: ignore[arg-type]
                          Metrics(CollectorRegistry()), frozenset({"churn.signals"}), clock=clock)
    clock.now += 5
    runtime.in_rebalance = True
    await admission.find_tail_holes()
    assert runtime.seeks == []  # records are held back in a rebalance
    runtime.in_rebalance = False
    await admission.find_tail_holes()
    clock.now += 1.5
    await admission.find_tail_holes()
    assert runtime.seeks == [(p0, 120)]  # p1: no committed offset known, left alone


def test_the_baseline_is_the_last_offset_taken_else_the_one_before_the_committed():
    """One rule for the classify agent's gap check and the tail watch: a committed offset
    of 0 means offset 0 is next to read, so the baseline is -1 (a hole from 0 is caught)."""
    p0, p1, p2 = TP("in", 0), TP("in", 1), TP("in", 2)
    runtime = FakeRuntime({}, committed={p0: 120, p1: 0})
    admission = Admission("classify", GapGuard(), runtime,  # type: ignore[arg-type]
                          Metrics(CollectorRegistry()), frozenset({"in"}))
    assert [admission.baseline(tp) for tp in (p0, p1, p2)] == [119, -1, None]
    admission.taken[p0] = 130
    assert admission.baseline(p0) == 130


def test_a_record_still_on_its_way_is_not_taken_for_a_hole():
    """The shortfall must stay the same for ``retry_seconds``: a record that arrives
    meanwhile moves the last taken offset, and the watch starts again."""
    clock = Clock()
    guard = GapGuard(retry_seconds=1.0, clock=clock)
    assert guard.tail("p0", 41, 43, idle_seconds=5) is None
    clock.now += 1.5
    assert guard.tail("p0", 42, 43, idle_seconds=5) is None  # one came: watch again
    assert guard.tail("p0", 42, 43, idle_seconds=5) is None  # nothing missing now
    clock.now += 1.5
    assert guard.tail("p0", 42, 43, idle_seconds=5) is None
    assert guard.seeking == frozenset()
