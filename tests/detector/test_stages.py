from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from detector.stages import StageConfig, friction_rate, update_stage
from tests.conftest import make_signal

CFG = StageConfig(window_minutes=60, step_minutes=15, lateness_minutes=30, warmup_windows=2,
                  spike_min_events=10, spike_min_count=4)


def feed(signals, cfg=CFG, state=None):
    alerts, late = [], 0
    for s in signals:
        up = update_stage(state, s, cfg)
        state, alerts, late = up.state, alerts + up.alerts, late + int(up.late)
    return state, alerts, late


def quiet(hours: float, start: float = 0.0, every_min: int = 3, stage="onboarding"):
    n = int(hours * 60 / every_min)
    return [make_signal(f"q{start}-{i}", f"C{i}", hours=start + i * every_min / 60, stage=stage,
                        friction=("access",) if i % 25 == 0 else ()) for i in range(n)]


def test_counts_and_rate_per_stage_and_channel():
    state, _, _ = feed([make_signal("a", friction=("billing",), channel="email"),
                        make_signal("b", channel="chat")])
    assert state["events"] == 2 and friction_rate(state) == 0.5
    assert state["by_channel"]["email"]["friction"] == {"billing": 1}


def test_an_automatic_reply_is_not_counted_in_its_stage():
    away = replace(make_signal("ooo", channel="email", sentiment=0.0), flags=("auto_reply",))
    state, _, _ = feed([make_signal("a", friction=("billing",), channel="email"), away])
    assert state["events"] == 1 and friction_rate(state) == 1.0
    assert state["by_channel"]["email"]["events"] == 1
    again = update_stage(state, away)  # still seen: a redelivery is a duplicate
    assert again.duplicate


def test_a_case_closed_is_not_counted_in_its_stage():
    closed = replace(make_signal("closed", channel="ticket", sentiment=0.0),
                     flags=("case_resolved",))
    state, _, _ = feed([make_signal("a", friction=("billing",), channel="ticket"), closed])
    assert state["events"] == 1 and friction_rate(state) == 1.0


def test_late_events_beyond_lateness_are_counted_not_windowed():
    state, _, late = feed([make_signal("a", hours=5), make_signal("b", hours=5.25),
                           make_signal("within", hours=4.8), make_signal("old", hours=1)])
    assert late == 1 and state["late"] == 1
    in_buckets = sum(b["events"] for b in state["buckets"].values())
    assert in_buckets == 3 and state["events"] == 4


def test_buckets_are_bounded():
    state, _, _ = feed(quiet(24))
    assert len(state["buckets"]) <= (60 + 30) / 15 + 2


def test_spike_needs_baseline_and_volume():
    surge = [make_signal(f"s{i}", f"S{i}", hours=10 + i / 60, stage="onboarding",
                         friction=("access",)) for i in range(30)]
    _, alerts, _ = feed(surge)  # no baseline yet: no alert
    assert alerts == []
    state, _, _ = feed(quiet(10))
    _, alerts, _ = feed(surge[:3], state=state)  # baseline, but too few events
    assert alerts == []
    _, alerts, _ = feed(surge, state=state)
    spikes = [a for a in alerts if a.type == "stage_friction_spike"]
    assert spikes and spikes[0].journey_stage == "onboarding"
    assert spikes[0].details["category"] == "access" and spikes[0].customer_id is None
    assert spikes[0].details["rate"] > spikes[0].details["baseline_rate"]
    assert len(spikes) <= 3


def test_cx_gap_needs_duration_and_resets():
    cfg = StageConfig(gap_threshold=0.2, gap_min_events=5, gap_duration_minutes=60,
                      expectations={"billing": {"satisfaction": 0.8}})
    unhappy = [make_signal(f"u{i}", f"U{i}", hours=i * 0.1, stage="billing", sentiment=-0.6)
               for i in range(8)]  # 48 minutes: not long enough
    state, alerts, _ = feed(unhappy, cfg)
    assert alerts == []
    more = [make_signal(f"v{i}", f"V{i}", hours=0.8 + i * 0.1, stage="billing", sentiment=-0.6)
            for i in range(8)]
    state, alerts, _ = feed(more, cfg, state)
    gaps = [a for a in alerts if a.type == "cx_gap"]
    assert len(gaps) == 1
    assert gaps[0].details["expected"] == 0.8 and gaps[0].details["observed"] < 0.3
    happy = [make_signal(f"h{i}", f"H{i}", hours=1.6 + i * 0.05, stage="billing", sentiment=0.9)
             for i in range(40)]
    state, _, _ = feed(happy, cfg, state)
    assert state["gap"] == {"since": None, "alerted": None}


def test_stage_update_is_pure():
    first = update_stage(None, make_signal("a", friction=("billing",)), CFG).state
    snap = repr(first)
    update_stage(first, make_signal("b", hours=1 + 1 / 60, friction=("billing",)), CFG)
    assert repr(first) == snap
    assert timedelta(minutes=CFG.step_minutes) == CFG.step


def test_stage_update_leaves_the_previous_state_untouched_in_the_same_bucket():
    state, _, _ = feed(quiet(30))  # a day and more: the count model exists
    assert state["volume"]["hours"] >= 24
    snap = repr(state)
    last = max(s.occurred_at for s in quiet(30))
    nxt = make_signal("same-bucket", "C-new", hours=(last - make_signal("x").occurred_at)
                      .total_seconds() / 3600, stage="onboarding", friction=("access",))
    update_stage(state, nxt, CFG)
    assert repr(state) == snap


def test_volume_model_counts_empty_steps_and_learns_a_quiet_stage():
    sparse = [make_signal(f"sp{i}", f"S{i}", hours=i * 12, stage="onboarding",
                          friction=("access",)) for i in range(8)]  # one complaint per 12 h
    state, alerts, _ = feed(sparse)
    volume = state["volume"]
    assert volume["hours"] >= 80, "steps without events are part of the baseline"
    assert abs(volume["counts_all"]["access"] / volume["exposure_all"] - 1 / 12) < 0.05
    assert alerts == []


def test_a_windows_detail_is_summed_on_first_use_as_the_counts_are():
    import random

    from detector.stages import _Window

    rng = random.Random(5)
    cats, chans = ("product", "billing", "service"), ("chat", "email")
    buckets = []
    for k in range(5):
        b = {"events": rng.randint(1, 9), "with_friction": 1, "sat_sum": 0.5, "judged": 2,
             "friction": {c: rng.randint(0, 3) for c in cats},
             "channels": {ch: {c: rng.randint(0, 2) for c in cats} for ch in chans},
             "examples": {c: [f"e{k}{c}{i}" for i in range(2)] for c in cats},
             "customers": {c: [f"C{rng.randint(0, 4)}" for _ in range(3)] for c in cats},
             "first": {c: f"2026-12-0{rng.randint(1, 9)}T00:00:00+00:00" for c in cats}}
        if k == 2:
            del b["judged"], b["customers"], b["first"]  # older buckets lack these
        buckets.append(b)
    window = _Window(buckets)
    assert window["events"] == sum(b["events"] for b in buckets)
    assert window["judged"] == 8 and window["friction"]["product"] == sum(
        b["friction"]["product"] for b in buckets)
    assert "customers" not in dict.keys(window)  # not summed until asked for
    assert window["customers"]["billing"] == {
        c for b in buckets for c in b.get("customers", {}).get("billing", [])}
    assert window["first"]["service"] == min(
        b["first"]["service"] for b in buckets if "first" in b)
    assert window["channels"]["email"]["product"] == sum(
        b["channels"]["email"]["product"] for b in buckets)
    assert window["examples"]["product"] == [e for b in buckets for e in b["examples"]["product"]]
    with pytest.raises(KeyError):
        window["nothing"]  # an unknown key is not a window's detail
