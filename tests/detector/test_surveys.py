"""A survey response is read as its answers, without the survey's own questions."""

from __future__ import annotations

import json

import pytest

from detector.schema import parse_event
from detector.surveys import survey_answers


@pytest.mark.parametrize(("text", "answers"), [
    ("What could we do better? Nothing, you were great, the driver even carried it upstairs!",
     "Nothing, you were great, the driver even carried it upstairs!"),
    ("How likely are you to recommend us? 2. Why? Support never answers.",
     "2. Support never answers."),
    ("Q1: How satisfied were you with your visit?\nA: Very satisfied\nQ2: Anything we could "
     "improve?\nA: No, all good", "Very satisfied\nNo, all good"),
    ("What is the main reason for your score? Price went up again", "Price went up again"),
    ("Is there anything else you'd like to tell us? no", "no"),
    ("What did you like most about your stay? The staff. What could we improve? Breakfast was "
     "cold.", "The staff. Breakfast was cold."),
    ("How would you rate our service? Poor. How can we improve? Answer the phone!",
     "Poor. Answer the phone!"),
    ("Q2: Comments\nThe app keeps crashing", "The app keeps crashing"),
    ("Why? Because nobody calls back.", "Because nobody calls back."),
    ("Any other comments?\nComment: the app logs me out every day",
     "the app logs me out every day"),
])
def test_the_surveys_questions_and_answer_labels_are_not_read(text, answers):
    assert survey_answers(text) == answers


@pytest.mark.parametrize("text", [
    "Why do you charge me twice? Fix it.",  # the customer's own question
    "How do I cancel? This survey is pointless.",
    "Recipes are good, delivery is unreliable.",
    "How likely are you to recommend us?",  # nothing but the prompt: read as it came
    "Did our payment go through? We were charged but the invoice says unpaid.",
])
def test_a_customers_own_questions_and_a_bare_prompt_stay(text):
    assert survey_answers(text) == text


def _event(channel: str, text: str):
    return parse_event(json.dumps({"event_id": "e1", "customer_id": "c1", "channel": channel,
                                   "occurred_at": "2026-12-01T10:00:00Z",
                                   "text": text}).encode())


def test_only_a_survey_event_is_read_without_its_questions():
    text = "What could we do better? Answer the phone."
    survey, ticket = _event("survey", text), _event("ticket", text)
    assert survey.customer_text == "Answer the phone." and survey.text == text
    assert ticket.customer_text == text
