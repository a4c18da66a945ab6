"""A churn risk that names when the customer leaves (models/deadlines.py)."""

from __future__ import annotations

from models.deadlines import leaving_date
from tests.models.rule_fixtures import assert_gates_hide_no_match, fixture_rows, fixture_texts


def test_leaving_on_a_date_is_found_and_its_near_misses_are_not():
    """Own rows (40 / 30: "my contract ends on the 31st ... I will not be renewing",
    "Porting my number to EE on Friday."; "I cancelled my old account last week", "I'm
    leaving for work now, call me tonight"), rows written after the first version (22 / 17)
    and after the second (22 / 17; one near miss, "The contract renews next week and I'm
    happy to stay.", which the models read as no churn risk, so no flag)."""
    for name, at_least, near in (("leaving_date.jsonl", 40, 0),
                                 ("leaving_date_later.jsonl", 21, 0),
                                 ("leaving_date_final.jsonl", 19, 1)):
        rows = fixture_rows(name)
        said = [leaving_date(r["text"]) for r in rows]
        assert sum(s is not None for r, s in zip(rows, said, strict=True)
                   if not r["dated"]) <= near
        found = sum(s is not None for r, s in zip(rows, said, strict=True) if r["dated"])
        assert found >= at_least
        assert all(s is None or s in r["text"] for r, s in zip(rows, said, strict=True))


def test_leave_and_switch_in_other_senses_are_not_leaving():
    for text in ("I'm leaving for Montreal tomorrow and need to let my bank know.",
                 "Leave the credit on my account for next month.",
                 "I'm leaving town this weekend so the engineer can't come.",
                 "Please switch my payment date to the 15th.",
                 "I would leave today if there were any other provider.",
                 "Can you close my account on Friday?"):
        assert leaving_date(text) is None, text
    assert leaving_date("Bill up again. I'm leaving you at the end of the month.") == (
        "I'm leaving you at the end of the month.")


def test_the_date_gates_let_every_match_through(monkeypatch):
    import models.deadlines as deadlines
    from models.cues import prepared

    texts = fixture_texts("leaving_date.jsonl", "leaving_date_later.jsonl",
                          "leaving_date_final.jsonl")
    every_word = frozenset(w for t in texts for w in prepared(t)[2])
    assert_gates_hide_no_match(monkeypatch, deadlines, "leaving_date", texts, 80,
                               also={"_GATE": every_word, "_WHEN_WORDS": every_word})
