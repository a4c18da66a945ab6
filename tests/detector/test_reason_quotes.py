"""An alert's reason for a rule's flag quotes the sentence that rule read (``flag_quotes``)."""

from __future__ import annotations

from dataclasses import replace

from detector.customer import RiskConfig
from detector.engine import Detector
from tests.conftest import make_signal


def _risk(signals):
    det = Detector(risk=RiskConfig())
    return [a for s in signals for a in det.process(s) if a.type == "customer_churn_risk"]


def _flagged(signal, **quotes):
    return replace(signal, flags=(*signal.flags, *quotes), flag_quotes=quotes)


CALL = ("Agent: Thanks for calling. Customer: Hi. Agent: What can I do? Customer: The app "
        "logs me out again, every single day. Agent: Sorry about that.")


def test_the_recurring_sentence_of_a_call_is_quoted_not_its_strongest_piece():
    """A call's evidence snippet is the piece the models weighed most; the reason that says
    the problem keeps happening quotes the sentence the rule read."""
    call = replace(make_signal("c1", channel="call", friction=("access",), sentiment=-0.6,
                               text=CALL), evidence="Agent: Sorry about that.")
    (alert,) = _risk([_flagged(call, recurring_problem="The app logs me out again, every "
                                                       "single day.")])
    assert alert.reasons[0] == (
        'Says the problem keeps happening, on phone: "The app logs me out again, every single '
        'day." (a failure that repeats, not a one-off: find its cause, not only this instance)')
    assert alert.evidence[-1]["snippet"] == "Agent: Sorry about that."


def test_each_flag_reason_quotes_its_own_sentence():
    letter = make_signal("l1", intent="at_risk", p=0.8, friction=("billing",), sentiment=-0.9,
                         channel="email", text="a long letter")
    (alert,) = _risk([_flagged(
        letter,
        escalation_threat="I will take this to the Financial Ombudsman.",
        leaving_date="My contract ends on the 31st and I will not renew.",
        recurring_problem="The bill has been wrong again this month.")])
    text = "\n".join(alert.reasons)
    assert ('Says they will take the complaint outside, to an ombudsman, a regulator, a court '
            'or their bank: "I will take this to the Financial Ombudsman."') in text
    assert ('Says when they leave: "My contract ends on the 31st and I will not renew." (the '
            'retention window closes then)') in text
    assert 'Says the problem keeps happening: "The bill has been wrong again this month."' in text


def test_a_repeat_said_with_nothing_on_record_quotes_it_and_asks_which_channel():
    first = make_signal("r1", friction=("product",), sentiment=-0.5)
    (alert,) = _risk([_flagged(first, repeat_contact="I've called three times about this.")])
    assert ('Says this is not their first contact about it: "I\'ve called three times about '
            'this." (no earlier contact about it is on record here: ask which channel they '
            'used)') in alert.reasons


def test_a_sentence_the_first_reason_quotes_already_is_not_quoted_again():
    short = make_signal("s1", intent="at_risk", p=0.9, sentiment=-0.5, channel="email",
                        text="I will not renew when my contract ends on the 31st.")
    (alert,) = _risk([_flagged(short, leaving_date=short.text)])
    assert alert.reasons[0].startswith('Credible leaving signal on email: "I will not renew')
    assert "Says when they leave: the retention window closes then" in alert.reasons


def test_quotes_are_redacted_and_cut_to_a_reason_quote():
    said = ("Third time the engineer did not come, call me on +44 7700 900123 or mail "
            "jo@example.com " + "and this keeps happening " * 10)
    (alert,) = _risk([_flagged(make_signal("p1", friction=("service",), sentiment=-0.7),
                               recurring_problem=said)])
    assert "+44 7700 900123" not in alert.reasons[0] and "jo@example.com" not in alert.reasons[0]
    quoted = alert.reasons[0].split('"')[1]
    assert len(quoted) <= 120 and quoted.endswith("…")


def test_a_quote_for_a_flag_the_signal_does_not_carry_is_not_used():
    plain = replace(make_signal("n1", friction=("product",), sentiment=-0.5),
                    flags=("repeat_contact",), flag_quotes={"recurring_problem": "again!"})
    (alert,) = _risk([plain])
    assert "again!" not in "\n".join(alert.reasons)
    assert not any("keeps happening" in r for r in alert.reasons)


def test_signals_without_quotes_keep_the_reasons_they_had():
    """A signal from a classifier before ``flag_quotes`` (read back from the signals topic)."""
    (alert,) = _risk([replace(make_signal("o1", friction=("service",), sentiment=-0.6),
                              flags=("recurring_problem",))])
    assert alert.reasons[0] == ("Says the problem keeps happening, on chat: a failure that "
                                "repeats, not a one-off (find its cause, not only this instance)")


def test_taking_a_request_back_quotes_the_sentence_that_takes_it_back():
    """A call whose strongest piece is the request to leave: the stand-down quotes the turn
    that takes it back."""
    asked = make_signal("t1", intent="explicit", p=0.95, sentiment=-0.6, friction=("billing",),
                        text="Please cancel my subscription.")
    call = replace(make_signal("t2", hours=1, sentiment=0.2, channel="call",
                               text="Customer: I want to cancel. Customer: Fine, I'll stay."),
                   evidence="I want to cancel.")
    alerts = _risk([asked, _flagged(call, retraction="Fine, I'll stay.")])
    assert alerts[-1].severity == "low"
    assert alerts[-1].reasons[0] == 'Took the request to leave back on phone: "Fine, I\'ll stay."'
