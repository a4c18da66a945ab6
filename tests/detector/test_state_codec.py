"""The compact stored state (version 2) and the migration of version-1 states.

``fixtures/state_v1.json`` was recorded with the code of version 1 (see
``fixtures/record_state_v1.py``): customer states, the signals that came next, and what
version 1 did with them. Folding the same signals into the migrated states must give the
same alerts, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from detector.customer import RiskConfig, risk_score, update_customer
from detector.erasure import MARKER_TTL, forgotten_marker, inactive, is_marker, purge_due, purged
from detector.redact import Redactor
from detector.signals import Signal
from detector.state_codec import (
    VERSION,
    compact,
    decode_time,
    encode_time,
    expand,
    is_stored,
    last_seen,
    migrate,
)
from tests.conftest import make_signal

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "state_v1.json").read_text())
CFG = RiskConfig()


def alert_digest(alert: dict[str, Any]) -> str:
    text = json.dumps(alert, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def summary(alert: dict[str, Any]) -> dict[str, Any]:
    """As the fixture records an alert: identity in the clear, everything as a digest."""
    return {**{k: alert[k] for k in ("alert_id", "type", "severity", "case_key",
                                     "supersedes", "reasons")},
            "sha256": alert_digest(alert)}


def fold(states: dict[str, Any], wires: list[dict[str, Any]],
         profiles: dict[str, Any]) -> list[dict[str, Any]]:
    """Fold wire signals as the stream does: each state through JSON, as the table keeps it."""
    steps = []
    for wire in wires:
        s = Signal.from_wire(wire)
        up = update_customer(states.get(s.customer_id), s, CFG, Redactor(),
                             profiles.get(s.customer_id))
        states[s.customer_id] = json.loads(json.dumps(up.state))
        steps.append({"duplicate": up.duplicate, "conflict": up.conflict,
                      "suppressed": up.suppressed, "patterns": up.patterns,
                      "alerts": [summary(a.to_dict()) for a in up.alerts]})
    return steps


@pytest.mark.parametrize("name", ["scenarios", "stories", "erasure"])
def test_migrated_states_give_the_alerts_version_1_gave(name: str) -> None:
    case = FIXTURE[name]
    states = json.loads(json.dumps(case["states"]))
    assert not any(is_stored(s) for s in states.values())  # version 1, as recorded
    steps = fold(states, case["signals"], case.get("profiles", {}))
    assert sum(len(s["alerts"]) for s in case["steps"]) > 0
    for i, (got, want) in enumerate(zip(steps, case["steps"], strict=True)):
        assert got == want, (name, i, case["signals"][i]["event_id"])
    # every customer a new signal reached is now in the stored form of this version
    touched = {w["customer_id"] for w, s in zip(case["signals"], steps, strict=True)
               if not s["duplicate"]}
    assert touched and all(is_stored(states[c]) for c in touched)


@pytest.mark.parametrize("name", ["scenarios", "stories"])
def test_the_same_signals_from_no_state_give_the_alerts_version_1_gave(name: str) -> None:
    case = FIXTURE[name]
    steps = fold({}, case["first"] + case["signals"], case["profiles"])
    assert [a for s in steps for a in s["alerts"]] == case["from_scratch_alerts"]


def test_stored_states_are_a_fraction_of_version_1() -> None:
    old = new = 0
    for name in ("scenarios", "stories"):
        for cid, state in FIXTURE[name]["states"].items():
            stored = migrate(state)
            assert stored is not None and stored["v"] == VERSION
            assert compact(expand(stored, cid)) == stored  # a fixed point
            old += len(json.dumps(state, separators=(",", ":")))
            new += len(json.dumps(stored, separators=(",", ":")))
    assert new < 0.6 * old, (new, old)


def test_expand_gives_back_version_1_but_for_what_no_rule_reads() -> None:
    """The working form of a migrated state is the version-1 state, except the channel
    counts (no rule reads them) and the snippets no alert can quote."""
    for cid, state in FIXTURE["stories"]["states"].items():
        back = expand(migrate(state) or {}, cid)
        want = json.loads(json.dumps(state))
        want["channels"] = {}
        for item in want["evidence"]:
            if not (item["churn_intent"] != "none" or item["friction_categories"]
                    or item["sentiment"] < -0.2):
                item["snippet"] = ""
        assert back == want


def test_erasure_markers_of_either_version() -> None:
    case = FIXTURE["erasure"]
    at = datetime.fromisoformat(case["forgotten_at"])
    for state in case["states"].values():
        assert not purge_due(state, at + MARKER_TTL / 2, MARKER_TTL)
        assert purge_due(state, at + 2 * MARKER_TTL, MARKER_TTL)
        stored = migrate(state)
        assert purge_due(stored, at + 2 * MARKER_TTL, MARKER_TTL)
        assert not purge_due(stored, at + MARKER_TTL / 2, MARKER_TTL)
        left = purged(stored or {})
        if is_marker(state):
            assert left is None
        else:  # the customer came back: its state stays, the marker fields go
            assert left is not None and "forgotten_at" not in left and left["events"] >= 1
    # a marker made from a stored state holds the same hashes as one from version 1
    v1 = FIXTURE["stories"]["states"]
    for state in v1.values():
        assert (forgotten_marker(migrate(state), at)["forgotten_seen"]
                == forgotten_marker(state, at)["forgotten_seen"])
    marker = forgotten_marker(migrate(next(iter(v1.values()))), at)
    assert set(marker) == {"forgotten_at", "forgotten_seen"}
    assert isinstance(marker["forgotten_at"], int)


def test_inactivity_reads_either_version() -> None:
    up = update_customer(None, make_signal("a", hours=0), CFG)
    then = make_signal("a").occurred_at
    assert last_seen(up.state) == then
    for state in (up.state, {"risk_at": then.isoformat()}):
        assert inactive(state, then + timedelta(days=8), 7)
        assert not inactive(state, then + timedelta(days=6), 7)
        assert not inactive(state, then + timedelta(days=8), 0)


@pytest.mark.parametrize("at", [
    datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 2, 9, 0, 0, 71186, tzinfo=UTC),
    datetime(2026, 11, 2, 9, 0, 0, 1000, tzinfo=timezone.utc),  # noqa: UP017 (another UTC)
    datetime(1970, 1, 2, 0, 0, 0, 5, tzinfo=UTC),  # too early for microseconds: a string
    datetime(2026, 11, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))),  # not UTC: a string
    datetime(2026, 11, 2, 9, 0),  # no zone: a string
])
def test_times_come_back_exactly(at: datetime) -> None:
    iso = at.isoformat()
    stored = encode_time(iso)
    assert decode_time(stored) == iso
    if at.utcoffset() == timedelta(0) and at.year > 2000:
        assert isinstance(stored, int)


def test_times_within_a_state_come_back_exactly() -> None:
    """Whole seconds and fractions, late events and times that are not UTC, in one state."""
    base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    times = [base, base + timedelta(hours=3, microseconds=250), base - timedelta(days=2),
             (base + timedelta(hours=5)).astimezone(timezone(timedelta(hours=-5)))]
    state = None
    for i, at in enumerate(times):
        signal = make_signal(f"t{i}", friction=("billing",), sentiment=-0.6)
        signal = Signal.from_wire({**signal.to_wire(), "occurred_at": at.isoformat()})
        state = update_customer(state, signal, CFG).state
    assert state is not None
    work = expand(state, "C-1")
    assert sorted(e["occurred_at"] for e in work["evidence"]) == sorted(
        t.isoformat() for t in times)
    assert compact(work) == state


def test_ids_out_of_the_seen_window_are_kept_in_full() -> None:
    """Evidence refers to event ids by their place among the seen ids; an item whose id has
    left that bounded list keeps the id itself."""
    cfg = RiskConfig(seen_ids_size=3)
    state = None
    early = make_signal("first-and-earliest", hours=0, friction=("billing",), sentiment=-0.6)
    for s in [early] + [make_signal(f"late-{i}", hours=-1 - i) for i in range(5)]:
        state = update_customer(state, s, cfg).state
    assert state is not None
    assert "first-and-earliest" not in state["seen"]
    work = expand(state, "C-1")
    assert work["evidence"][-1]["event_id"] == "first-and-earliest"
    assert any(t["thread_id"] == "first-and-earliest" for t in work["threads"])


def test_risk_score_reads_either_form() -> None:
    up = update_customer(None, make_signal("x", intent="explicit", p=0.9), CFG)
    at = make_signal("x", hours=10).occurred_at
    assert risk_score(up.state, at, CFG) == risk_score(expand(up.state, "C-1"), at, CFG) > 0


def test_erased_customer_comes_back_and_is_purged_in_the_stored_form() -> None:
    story = [make_signal(f"b{i}", hours=i * 10, friction=("billing",), sentiment=-0.6,
                         channel=ch) for i, ch in enumerate(["chat", "email", "call"])]
    state = None
    for s in story[:2]:
        state = json.loads(json.dumps(update_customer(state, s, CFG).state))
    at = story[1].occurred_at + timedelta(hours=1)
    marker = forgotten_marker(state, at)
    assert is_marker(marker)
    # re-read from before the erasure: ignored
    again = update_customer(marker, story[0], CFG)
    assert again.duplicate and again.state is marker
    # the customer is back: a fresh state that keeps the marker fields until the purge
    back = update_customer(marker, story[2], CFG).state
    back = json.loads(json.dumps(back))
    assert is_stored(back) and back["events"] == 1 and "forgotten_seen" in back
    later = update_customer(back, make_signal("b9", hours=40, sentiment=-0.6,
                                              friction=("billing",)), CFG).state
    assert later["events"] == 2 and later["forgotten_at"] == marker["forgotten_at"]
    assert not purge_due(later, at + MARKER_TTL / 2, MARKER_TTL)
    assert purge_due(later, at + 2 * MARKER_TTL, MARKER_TTL)
    kept = purged(later)
    assert kept is not None and "forgotten_at" not in kept and kept["events"] == 2
    assert update_customer(kept, story[0], CFG).duplicate is False  # the hashes are gone
