"""The offset-gap guard of the state agents (pure logic; the fault tests run it for real)."""

from __future__ import annotations

import pytest

from streams.gaps import GapGuard


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
