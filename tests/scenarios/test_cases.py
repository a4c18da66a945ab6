"""One case per situation: a content-free rant, escalations, neutral questions in the CX gap."""

from __future__ import annotations

from datetime import timedelta

from detector.alerts import SEVERITIES
from tests.scenarios.journeys import QUESTIONS, T0, ev, run

RANT = ("Terrible. Just terrible.", "worst app ever", "what a joke")


def rant(customer: str = "C-RANT", n: int = 50, minutes: float = 60.0):
    return [ev(f"{customer}-{i}", customer, T0 + timedelta(minutes=i * minutes / n),
               RANT[i % len(RANT)], {"sentiment": -0.9}, channel="social")
            for i in range(n)]


def test_content_free_rant_is_one_case_per_kind_and_few_alerts():
    alerts = run(rant())
    churn = [a for a in alerts if a["type"] == "customer_churn_risk"]
    issues = [a for a in alerts if a["type"] == "unresolved_issue"]
    assert churn, "a furious customer is still worth one look"
    assert len({a["case_key"] for a in churn}) <= 1
    assert len({a["case_key"] for a in issues}) <= 1
    assert len(alerts) <= 4, [(a["type"], a["severity"]) for a in alerts]


def test_a_rant_that_turns_to_leaving_escalates_the_same_case_at_once():
    story = rant(n=20, minutes=20)
    story.append(ev("C-RANT-leave", "C-RANT", T0 + timedelta(minutes=21),
                    "I'm done, cancel my account today",
                    {"sentiment": -0.9, "churn_intent": "explicit", "churn_probability": 0.95},
                    channel="social"))
    alerts = [a for a in run(story) if a["type"] == "customer_churn_risk"]
    assert len(alerts) >= 2, "churn intent is not held back by the minimum interval"
    assert alerts[-1]["details"]["trigger_event_id"] == "C-RANT-leave"
    assert len({a["case_key"] for a in alerts}) == 1
    ranks = [SEVERITIES.index(a["severity"]) for a in alerts]
    assert ranks == sorted(set(ranks))
    assert alerts[-1]["supersedes"] == alerts[-2]["alert_id"]


def test_a_negative_message_without_a_problem_opens_no_issue_thread_but_joins_one():
    topic = "router keeps dropping"
    story = [
        ev("j-0", "C-J", T0, "Thanks for nothing", {"sentiment": -0.8, "topic": topic}),
        ev("j-1", "C-J", T0 + timedelta(days=1), "Still nothing", {"sentiment": -0.8,
                                                                 "topic": topic}),
        ev("j-2", "C-J", T0 + timedelta(days=2), "Router drops every hour",
           {"sentiment": -0.6, "friction": ["product"], "topic": topic}),
        ev("j-3", "C-J", T0 + timedelta(days=3), "Again!!", {"sentiment": -0.8, "topic": topic},
           channel="email"),
        ev("j-4", "C-J", T0 + timedelta(days=4), "Seriously?", {"sentiment": -0.8,
                                                              "topic": topic}, channel="call"),
    ]
    issues = [a for a in run(story) if a["type"] == "unresolved_issue"]
    assert issues, "follow-ups join the thread the problem opened"
    assert issues[0]["details"]["thread_id"] == "j-2"
    assert issues[0]["details"]["trigger_event_id"] == "j-4"


def test_neutral_questions_raise_no_cx_gap_while_billing_complaints_do():
    story = []
    for i in range(72):  # six hours of how-to questions at usage, every 5 minutes
        at = T0 + timedelta(hours=8, minutes=5 * i)
        # the model reads some questions as usability friction: still no opinion
        labels = {"sentiment": 0.0, "friction": ["usability"] if i % 4 == 0 else []}
        story.append(ev(f"q-{i}", f"C-Q{i}", at, QUESTIONS[i % len(QUESTIONS)], labels,
                        journey_stage="usage"))
        story.append(ev(f"b-{i}", f"C-B{i % 30}", at + timedelta(seconds=30),
                        "You charged me twice and the fees went up again!",
                        {"sentiment": -0.6, "friction": ["billing"]}, channel="email",
                        journey_stage="billing"))
    alerts = run(story)
    gaps = [a for a in alerts if a["type"] == "cx_gap"]
    assert not [a for a in gaps if a["journey_stage"] == "usage"]
    billing = [a for a in gaps if a["journey_stage"] == "billing"]
    assert billing
    assert billing[0]["details"]["judged"] >= 10
    assert billing[0]["details"]["neutral_left_out"] == 0
    assert "messages with an opinion judged" in billing[0]["reasons"][0]
    assert len({a["case_key"] for a in billing}) == 1


def test_cx_gap_names_the_neutral_messages_it_left_out():
    story = []
    for i in range(60):
        at = T0 + timedelta(minutes=5 * i)
        story.append(ev(f"m-{i}", f"C-M{i}", at, "Where do I find my invoice?",
                        {"sentiment": 0.0}, journey_stage="billing"))
        story.append(ev(f"n-{i}", f"C-N{i}", at + timedelta(seconds=20),
                        "This invoice is wrong and nobody answers", {"sentiment": -0.7},
                        journey_stage="billing"))
    [first, *_] = [a for a in run(story) if a["type"] == "cx_gap"]
    assert first["details"]["judged"] == first["details"]["neutral_left_out"]
    assert first["details"]["satisfaction"] == 0.0
    assert first["details"]["events"] == 2 * first["details"]["judged"]
