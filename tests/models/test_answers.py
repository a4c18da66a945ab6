"""Talk that says nothing (models/answers.py): "N/A", "No comments.", "Nope, that's it.";
in a conversation also "Bye.", "Mm-hmm.", "Sorry, can you repeat that?"."""

from __future__ import annotations

from models.answers import empty_answer, phatic
from models.pieces import plain
from tests.models.rule_fixtures import fixture_rows

#: development rows, then the rows of the count (docs/models.md, "Answers that say nothing")
FIXTURES = ("empty_answers.jsonl", "empty_answers_later.jsonl")
PHATIC_FIXTURES = ("phatic_turns.jsonl", "phatic_turns_later.jsonl")


def _read(text: str) -> bool:
    return empty_answer(plain(text))


def test_the_development_rows_are_read_and_no_near_miss_is():
    rows = fixture_rows(FIXTURES[0])
    assert [r["text"] for r in rows if _read(r["text"]) != r["empty"]] == []


def test_the_count_on_rows_written_after_the_rule_holds():
    """31 of 40 empty answers, no near miss of 14, when the rule was frozen."""
    rows = fixture_rows(FIXTURES[1])
    assert sum(_read(r["text"]) for r in rows if r["empty"]) >= 31
    assert [r["text"] for r in rows if not r["empty"] and _read(r["text"])] == []


def test_what_says_something_is_read():
    for text in ("not really", "No, still broken.", "Nothing works.", "fine, whatever",
                 "No thanks, I'm leaving.", "That's it, I'm cancelling.", "no good",
                 "Nothing was fine.", "Good", "ok", "", "...", "N/A - first time customer"):
        assert not _read(text), text
    for text in ("N/A", "No comments.", "Nope, that's it.", "um no, that's all thanks",
                 "It was fine.", "All good, cheers!", "No issues at all", "Nothing, all good."):
        assert _read(text), text


def test_a_long_text_is_never_one():
    """More than 12 words or 120 characters is refused before the pattern runs (a hostile
    text costs nothing)."""
    assert not _read("no " * 13)
    for text in ("no, " * 20_000, "nothing " * 20_000, "n/a" + " " * 50_000 + "n/a"):
        assert not empty_answer(text)


def test_phatic_turns_development_rows_are_read_and_no_near_miss_is():
    rows = fixture_rows(PHATIC_FIXTURES[0])
    assert [r["text"] for r in rows if phatic(plain(r["text"])) != r["phatic"]] == []


def test_the_phatic_count_on_rows_written_after_the_rule_holds():
    """25 of 35 phatic turns, no near miss of 12, when the rule was frozen."""
    rows = fixture_rows(PHATIC_FIXTURES[1])
    assert sum(phatic(plain(r["text"])) for r in rows if r["phatic"]) >= 25
    assert [r["text"] for r in rows if not r["phatic"] and phatic(plain(r["text"]))] == []


def test_every_empty_answer_is_phatic_and_a_leaving_turn_is_not():
    for row in fixture_rows(*FIXTURES):
        assert not empty_answer(row["text"]) or phatic(row["text"]), row
    for text in ("Bye, I'm cancelling.", "Thanks for nothing.", "Okay, then cancel it.",
                 "Hello? I've been on hold for an hour.", "bye " * 13):
        assert not phatic(text), text
    assert phatic("Okay, thanks, bye.") and not empty_answer("Okay, thanks, bye.")
