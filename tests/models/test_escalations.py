"""A complaint taken outside the company (models/escalations.py)."""

from __future__ import annotations

from models.escalations import threatens_escalation
from tests.models.rule_fixtures import assert_gates_hide_no_match, fixture_rows, fixture_texts


def test_threats_to_take_the_complaint_outside_are_found_and_their_near_misses_are_not():
    """Own rows the patterns were written against (40 / 30: "I will refer this matter to
    the Financial Ombudsman Service.", "My solicitor will be in touch.", "I'll be disputing
    the charge with my bank."; "Is the ombudsman service free to use?", "We are authorised
    and regulated by the Financial Conduct Authority.", "Please escalate this to your
    complaints team.") and rows written after they were frozen (22 / 17); a second version
    for a coordinated verb ("I will cancel and report you to the ombudsman"; 10 / 10 more
    development rows) and rows written after it (22 / 17; one near miss: "I'm writing to my
    MP to thank your Leeds team."). A third version (16 / 10 development rows) for what the
    writer means to do ("I now intend to refer the matter to the Financial Ombudsman.", "I
    would like to escalate this complaint to the ombudsman.", none before), a sentence
    without a preposition ("Will be contacting trading standards.") and a deadlock letter
    asked for, even as a question ("Can I get a deadlock letter so I can go to the
    ombudsman?"; not "What is a deadlock letter?"), and rows written after it (12 of 14
    found, no near miss of 10)."""
    for name, at_least, near in (("escalation.jsonl", 40, 0), ("escalation_later.jsonl", 18, 0),
                                 ("escalation_dev2.jsonl", 10, 0),
                                 ("escalation_final.jsonl", 21, 1),
                                 ("escalation_s23.jsonl", 16, 0),
                                 ("escalation_s23_later.jsonl", 12, 0)):
        rows = fixture_rows(name)
        said = [threatens_escalation(r["text"]) for r in rows]
        assert len([r["text"] for r, s in zip(rows, said, strict=True)
                    if s is not None and not r["threat"]]) <= near
        found = sum(s is not None for r, s in zip(rows, said, strict=True) if r["threat"])
        assert found >= at_least
        assert all(s is None or s in r["text"] for r, s in zip(rows, said, strict=True))


def test_the_threat_is_quoted_from_the_customer_lines_and_small_print_is_not_one():
    letter = ("Dear Sir or Madam,\n\nI am writing to complain about my mortgage account. "
              "If I do not receive a satisfactory response within eight weeks I will refer "
              "this matter to the Financial Ombudsman Service.\n\nYours faithfully,\nJ. Patel")
    assert threatens_escalation(letter) == (
        "If I do not receive a satisfactory response within eight weeks I will refer this "
        "matter to the Financial Ombudsman Service.")
    call = ("Agent: You can refer your complaint to the ombudsman.\n"
            "Customer: Thanks, I'll think about it.")
    assert threatens_escalation(call) is None
    assert threatens_escalation("Your letter says: if you are unhappy you can refer your "
                                "complaint to the ombudsman.") is None


def test_the_escalation_gates_let_every_match_through(monkeypatch):
    import models.escalations as escalations

    texts = fixture_texts("escalation.jsonl", "escalation_later.jsonl", "escalation_dev2.jsonl",
                          "escalation_final.jsonl", "escalation_s23.jsonl",
                          "escalation_s23_later.jsonl")
    assert_gates_hide_no_match(monkeypatch, escalations, "threatens_escalation", texts, 118,
                               tables=("THREAT_CUES",))
