"""Idioms the models read backwards, read as meant (models/idioms.py): "Can't fault it.",
"No complaints here." as praise; "Do not recommend!", "One star." as verdicts against."""

from __future__ import annotations

import pytest

from models import idioms
from models.idioms import as_meant, idioms_in
from models.pieces import lowered, plain
from tests.models.rule_fixtures import fixture_rows

#: development rows, then the rows of the count (docs/models.md, "Idioms read as meant")
FIXTURES = ("idioms.jsonl", "idioms_later.jsonl")


def _kinds(text: str) -> set[str]:
    """Which of the two kinds of idiom ``text`` holds ({"none"}: neither)."""
    low = lowered(plain(text))
    found = {name for name, table in (("praise", idioms.PRAISE), ("against", idioms.AGAINST))
             if idioms._said(low, table)}
    return found or {"none"}


def test_the_development_rows_are_read_and_no_near_miss_is():
    rows = fixture_rows(FIXTURES[0])
    assert [r["text"] for r in rows if _kinds(r["text"]) != {r["idiom"]}] == []


def test_the_count_on_rows_written_after_the_rule_holds():
    """39 of 40 praise, 24 of 28 verdicts against, 1 near miss of 20 when the rule was
    frozen; "can't recommend" (declared, written wrong) was mended after the count: 25."""
    rows = fixture_rows(FIXTURES[1])
    assert sum(_kinds(r["text"]) == {"praise"} for r in rows if r["idiom"] == "praise") >= 39
    assert sum(_kinds(r["text"]) == {"against"} for r in rows if r["idiom"] == "against") >= 25
    assert [r["text"] for r in rows
            if r["idiom"] == "none" and _kinds(r["text"]) != {"none"}] == [
        "It's not bad, it's appalling."]


LOYAL = ("idioms_loyal.jsonl", "idioms_loyal_later.jsonl")


def test_loyal_praise_by_denial_is_read_and_its_near_misses_are_not():
    """"never let me down", "never had a reason to look elsewhere", "wouldn't go anywhere
    else": read as friction and negative on both paths (19 of 20 later rows negative on
    each). Development rows 10 / 6 all read right; rows written after the rule was frozen:
    20 of 20, 1 near miss of 12 ("Don't let me down again", a request: "don't" was then
    taken out of the declared negations), 0 after."""
    for name in LOYAL:
        rows = fixture_rows(name)
        assert [r["text"] for r in rows if _kinds(r["text"]) != {r["idiom"]}] == []


@pytest.mark.parametrize(("text", "meant"), [
    ("Can't fault it.", "very good it."),
    ("No complaints here, works as described.", "very good here, works as described."),
    ("Nothing  to\ncomplain about!", "very  very\nvery good!"),  # the spaces kept
    ("I can’t fault the staff.", "I very good the staff."),  # a typographic apostrophe
    ("Do not recommend!", "very very bad!"),
    ("One star.", "very bad."),
    ("Rating: 1/5.", "Rating: bad."),
    ("I cannot recommend them highly enough.", "I very very very very good."),
    ("Can't recommend, it broke.", "very bad, it broke."),
    ("Ten years, never let me down.", "Ten years, very very very good."),
    ("Wouldn't go anywhere else.", "very very very good."),
])
def test_an_idiom_is_said_plainly_word_for_word(text, meant):
    assert as_meant(text) == meant
    assert len(as_meant(text).split()) == len(text.split())


@pytest.mark.parametrize("text", [
    "I'd give it five stars.", "Took off one star.", "Ignore the one star reviews.",
    "No complaints were answered.", "The issue is not bad service, it's the price.",
    "I can't complain enough about this.", "One out of five calls drops.",
    "Would you recommend it?", "It's not bad enough to return.", "4.1/5 stars", "",
    "My complaint is still open.", "No problems on your side, you said, but it's down.",
    "Don't let me down again.", "They let me down again.", "Never let me down until May.",
    "I had no reason to complain before this year.", "Can't get it anywhere else.",
])
def test_what_is_no_such_idiom_is_left_as_written(text):
    assert as_meant(text) == text and idioms_in(text) == []


def test_the_hints_only_save_time(monkeypatch):
    """Every table row tried on every text gives the same readings as the hinted ones."""
    texts = [r["text"] for name in FIXTURES for r in fixture_rows(name)]
    hinted = [as_meant(t) for t in texts]
    assert sum(h != t for h, t in zip(hinted, texts, strict=True)) >= 100
    for table in ("PRAISE", "AGAINST"):
        monkeypatch.setattr(idioms, table, tuple(((" ",), p) for _, p in getattr(idioms, table)))
    assert [as_meant(t) for t in texts] == hinted


@pytest.mark.parametrize("text", [
    "no " * 50_000, "not " * 50_000 + "bad", "1/" * 50_000, "one " * 50_000 + "star",
    "cannot recommend " * 10_000, " " * 100_000 + "not bad", "star " * 50_000,
    "give it " * 20_000 + "one star", "İ" * 10_000 + " can't fault it",
])
def test_a_hostile_text_is_read_through(text):
    meant = as_meant(text)
    assert len(meant.split()) == len(text.split())
