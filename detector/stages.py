"""Per-journey-stage aggregation of signals (friction counts by stage x category x channel)."""

from __future__ import annotations

from typing import Any

from detector.signals import FRICTION_CATEGORIES, Signal


def new_stage_state(stage: str) -> dict[str, Any]:
    return {
        "journey_stage": stage,
        "events": 0,
        "with_friction": 0,
        "sentiment_sum": 0.0,
        "friction": {c: 0 for c in FRICTION_CATEGORIES},
        "by_channel": {},
    }


def update_stage(state: dict[str, Any] | None, signal: Signal) -> dict[str, Any]:
    """Fold one signal into its stage's counters (pure: returns a new dict)."""
    st = new_stage_state(signal.journey_stage) if state is None else _copy(state)
    st["events"] += 1
    st["sentiment_sum"] += signal.sentiment
    if signal.friction_categories:
        st["with_friction"] += 1
    channel = st["by_channel"].setdefault(signal.channel, {"events": 0, "friction": {}})
    channel["events"] += 1
    for cat in signal.friction_categories:
        st["friction"][cat] = st["friction"].get(cat, 0) + 1
        channel["friction"][cat] = channel["friction"].get(cat, 0) + 1
    return st


def friction_rate(state: dict[str, Any]) -> float:
    """Share of the stage's events that raised any friction."""
    return state["with_friction"] / state["events"] if state["events"] else 0.0


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    out["friction"] = dict(state["friction"])
    out["by_channel"] = {
        k: {"events": v["events"], "friction": dict(v["friction"])}
        for k, v in state["by_channel"].items()
    }
    return out
