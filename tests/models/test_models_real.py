"""Real encoders (MiniLM, the locally distilled static model, the cascade) with the bundled
manifest and heads: hard cases, the issue's long call and requests to leave in other
languages through the served default (public data is evaluated by `churn-detector eval`)."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detector.schema import Event, Turn, parse_event
from models.cues import cue_sentences

pytestmark = pytest.mark.model

FIXTURE = Path(__file__).parent / "fixtures" / "few_shot.csv"
LEAVING_FIXTURE = Path(__file__).parent / "fixtures" / "leaving_multilingual.jsonl"
#: requests and hard negatives per language written after the cue lists, in two batches
#: (8 + 3, then 6 + 2), each measured once as it came (41 of 48 requests and 17 of 18
#: negatives right end to end, then 32 of 36 and 11 of 12), then the lists and the language
#: guess were extended for what they missed (docs/models.md, Other languages)
LATER_FIXTURE = Path(__file__).parent / "fixtures" / "leaving_multilingual_later.jsonl"
PATHS = ("transformer", "static", "cascade")


def _events(texts, channel="chat"):
    return [Event(event_id=f"e{i}", customer_id=f"C{i}", channel=channel,
                  occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=t)
            for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def served():
    """The served default: ``build_classifier()`` with no arguments, as settings give it."""
    from models import build_classifier

    return build_classifier()


@pytest.fixture(scope="module")
def paths():
    from models import build_classifier

    return {p: build_classifier(p) for p in PATHS}


def test_the_served_default_is_the_manifests_default_path(served):
    from models import bundled_artifacts
    from models.recipe import load_manifest

    default = load_manifest(bundled_artifacts()).default
    assert served.recipe.path == default == "transformer"
    assert served.encoder.name.startswith("all-MiniLM")


TEXTS = ["Please close my account, I've moved to another bank.",
         "Please cancel my order #4411, I ordered the wrong size.",
         "What's the early termination fee if I leave in March?",
         "Thanks, the new app is great!"]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_reads_the_basic_intents(paths, path):
    clf = paths[path]
    signals = clf.classify(_events(TEXTS))
    assert [s.churn_intent for s in signals] == ["explicit", "none", "at_risk", "none"]
    assert signals[0].churn_probability > 0.7 and signals[3].churn_probability < 0.3
    assert all(s.model_version == clf.model_version for s in signals)


def test_the_cascade_sends_only_some_events_to_the_transformer(paths):
    from models.datasets import load_seed

    cascade, static, strong = paths["cascade"], paths["static"], paths["transformer"]
    texts = [e.text for e in load_seed()[:80]]
    cascade.classify(_events(texts))
    p = cascade.last_encoder_paths
    assert p["static"] + p["transformer"] == len(texts)
    assert 0 < p["transformer"] < len(texts) // 2  # the unsure ones only
    assert cascade.model_version == f"{static.model_version}+{strong.model_version}"
    assert strong.model_version.startswith("all-MiniLM-L6-v2-")


HARD = {  # written for this test; none of them is in the seed set
    "I'd like to unsubscribe from your weekly newsletter emails.": "none",
    "help me cancel my subscription to the cooking newsletter": "none",
    "Can I switch to the premium account?": "none",
    "Remove the payee called J Smith from my account.": "none",
    "Could you help me with the removal of my Silver account?": "explicit",
    "Please get rid of my account, I don't use it.": "explicit",
}


@pytest.mark.parametrize("path", PATHS)
def test_hard_cases_of_the_churn_intent(paths, path):
    got = [s.churn_intent for s in paths[path].classify(_events(list(HARD)))]
    assert got == list(HARD.values())


FRICTION = {  # written for this test; none of them is in the seed set
    "You billed me twice for the same month and nobody refunds it.": "billing",
    "I can't log in since the password reset, the code never arrives.": "access",
    "The parcel was due Monday and it still hasn't shown up.": "delivery",
}

QUESTIONS = [  # written for this test: plain questions, no problem reported
    "What is the exchange rate for euros today?",
    "Please transfer $100 from my checking to my savings account.",
    "When is my next bill due?", "How do I add my partner to the account?",
    "What are your opening hours on Sunday?", "Can I pay my invoice by bank transfer?",
    "Where can I see my recent transactions?", "Is there a fee for using my card abroad?",
]


@pytest.mark.parametrize("path", ["transformer", "static"])
def test_friction_categories_and_plain_questions(paths, path):
    clf = paths[path]
    for sig, want in zip(clf.classify(_events(list(FRICTION))), FRICTION.values(),
                         strict=True):
        assert want in sig.friction_categories, (sig.friction, want)
    # questions on the topics of friction are mostly no friction (the presence head)
    flagged = [s.text for s in clf.classify(_events(QUESTIONS)) if s.friction_categories]
    assert len(flagged) <= 2, flagged


CANCELLATIONS = {  # written for this test; none of them is in the seed set or a public set
    "Can you stop the bank transfer I set up this morning? Wrong payee.": "none",
    "Cancel the payment to the electricity company, the amount is wrong.": "none",
    "How do I cancel a standing order?": "none",
    "I'd like to close my current account please.": "explicit",
    "I want to delete my profile and all my data.": "explicit",
    "cancel my gym membership from next month": "explicit",
}


def test_static_path_tells_a_cancelled_payment_from_a_closed_account(paths):
    """The static recipe's heads read content-word pairs and the churn-intent cues
    (``STATIC_LEXICAL``): a mean of token vectors alone reads "cancel my transfer" as
    leaving."""
    from models.features import DEFAULT_LEXICAL, STATIC_LEXICAL

    static = paths["static"]
    assert static.heads.lexical == static.recipe.lexical == STATIC_LEXICAL
    assert paths["transformer"].heads.lexical == DEFAULT_LEXICAL
    got = [s.churn_intent for s in static.classify(_events(list(CANCELLATIONS)))]
    assert got == list(CANCELLATIONS.values())


# ---- the issue's two small cases, through the served default -----------------------------

LAST_TURN = ("Honestly I have had enough of the dropped calls. Please cancel my account "
             "today, I am moving to another carrier.")
AGENT = ["Thanks for calling, how can I help you today?",
         "Can I have the account number please?",
         "Thank you. And the first line of the address?",
         "Great, and your date of birth for security?",
         "Thanks, one moment while I pull that up.",
         "I can see the account here. Anything else on the details?"]
CUSTOMER = ["Hi, I'm calling about my mobile account.",
            "Sure, it's 4471 2290 8812.",
            "It's 12 Elm Street.",
            "The third of May, 1984.",
            "Okay, no problem.",
            "No, that's all correct."]


def _call(small_talk: int) -> Event:
    turns = [{"speaker": "agent" if i % 2 == 0 else "customer",
              "text": (AGENT if i % 2 == 0 else CUSTOMER)[(i // 2) % len(AGENT)]}
             for i in range(small_talk)]
    turns.append({"speaker": "customer", "text": LAST_TURN})
    event = parse_event({"event_id": f"call-{small_talk}", "customer_id": "C-9",
                         "channel": "call", "occurred_at": "2026-11-02T09:00:00Z",
                         "turns": turns})
    assert isinstance(event, Event) and event.turns[-1].text == LAST_TURN
    assert len(event.turns) == small_talk + 1 or "text_truncated" in event.flags
    return event


@pytest.mark.parametrize("small_talk", [2, 60, 600])
def test_a_call_that_ends_with_a_request_to_leave_is_explicit_and_quotes_it(served,
                                                                           small_talk):
    """Issue 18: with three turns the transformer path said none (0.16); after 60 turns of
    small talk none (0.00). The last customer turn is the evidence. 600 turns (about 21,000
    characters) pass the intake's 10,000: the call's end is what it keeps most of."""
    (sig,) = served.classify([_call(small_talk)])
    assert sig.churn_intent == "explicit", sig.intent_probabilities
    assert sig.evidence_text == LAST_TURN


@pytest.mark.parametrize("text", [
    "Thanks, that's all sorted now.\n\nOn Mon, 2 Nov 2026 at 09:14, Acme Support "
    "<help@acme.com> wrote:\n> Hi Jo, we're sorry to hear you want to cancel your account.\n"
    "> Kind regards, Acme Support",
    "Sounds good, I'll keep the account then.\n\n-----Original Message-----\nFrom: Jo\n"
    "Sent: Monday\nSubject: Cancel\nPlease cancel my account immediately.",
    "Thanks, all sorted now.\n\n##- Please type your reply above this line -##\n\nYour request "
    "(4432) has been updated.\n\nJane (Acme Support)\nDec 1, 2026, 10:02 GMT\nHi John, I'm "
    "sorry to hear you want to cancel your account. Can you tell me why?",
    "On Mon, 1 Dec 2026 at 10:02, Acme Support <help@acme.com> wrote:\n> We are sorry to hear "
    "you want to cancel your account. Is there anything we can do?\n\nYes, you can refund me "
    "for the outage last week. That's all I asked for.",
])
def test_a_reply_is_read_without_the_history_it_quotes(served, text):
    """Read whole, all were requests to leave (P(explicit) 0.97-0.99 on the transformer):
    the quoted agent reply, or the customer's own earlier request, spoke for the thank-you
    above it."""
    (sig,) = served.classify(_events([text]))
    assert sig.churn_intent == "none", sig.intent_probabilities
    assert "cancel" not in (sig.evidence_text or "").lower()


@pytest.mark.parametrize("path", PATHS)
def test_a_case_closed_is_not_read_as_the_customers_words(paths, path):
    """The closing note is the agent's: read, it would be a request to leave."""
    from detector.schema import parse_event

    closed = parse_event({"event_id": "k1", "customer_id": "c", "channel": "ticket",
                          "occurred_at": "2026-12-01T10:00:00Z", "case_status": "resolved",
                          "text": "Customer asked to cancel the account over the double "
                                  "charge; refund issued, closing."})
    (sig,) = paths[path].classify([closed])
    assert sig.churn_intent == "none" and not sig.friction_categories and sig.sentiment == 0.0
    assert {"case_resolved", "nothing_to_read"} <= set(sig.flags)


@pytest.mark.parametrize("path", PATHS)
def test_closing_a_spare_account_is_not_a_request_to_leave(paths, path):
    """Each was explicit on the transformer (0.85-0.99); the last one still is."""
    spare = ["Can you close the duplicate account I accidentally created? I'll keep using the "
             "main one.",
             "Please delete my test account, we only use the production workspace now.",
             "Close my savings account and move the money to my current account please."]
    sigs = paths[path].classify(_events(spare + ["Please close both my accounts, I'm switching "
                                                 "banks."]))
    for sig in sigs[:-1]:
        assert sig.churn_intent == "none" and "spare_account" in sig.flags, sig
    assert sigs[-1].churn_intent == "explicit" and "spare_account" not in sigs[-1].flags


@pytest.mark.parametrize("path", PATHS)
def test_removing_a_detail_of_the_account_is_not_a_request_to_leave(paths, path):
    """"Please remove my ex-husband as an authorised user on my account." (0.83) and "Please
    delete my old address from my profile." (0.65) were explicit on the transformer."""
    details = ["Please remove my ex-husband as an authorised user on my account.",
               "Please delete my old address from my profile.", "How do I delete my profile "
               "picture?"]
    sigs = paths[path].classify(_events(details + ["Delete my card details and close my "
                                                   "account, I'm done."]))
    for sig in sigs[:-1]:
        assert sig.churn_intent == "none" and "account_detail" in sig.flags, sig
        assert sig.flag_quotes["account_detail"] == sig.text
    assert sigs[-1].churn_intent == "explicit" and "account_detail" not in sigs[-1].flags


@pytest.mark.parametrize("path", PATHS)
def test_saying_one_joined_is_not_a_churn_risk(paths, path):
    """Static read the first explicit (0.92), both paths the second and the third at risk
    (the third 0.67 / 0.56)."""
    said = ["Switched to you from EE last year and never looked back.",
            "Moved to this bank 2 years ago, no regrets at all.",
            "Switched from BT to you last year, no regrets."]
    for sig in paths[path].classify(_events(said)):
        assert sig.churn_intent == "none" and "joined" in sig.flags, sig


@pytest.mark.parametrize("path", PATHS)
def test_wanting_a_closed_account_back_is_not_a_request_to_leave(paths, path):
    """The first was explicit on both paths (0.84, 0.99), the second on the transformer
    (0.78); a request to leave next to it still is one."""
    back = ["You cancelled my account without telling me! I never asked for this. Please "
            "reinstate it immediately.",
            "Can you reactivate my account? I closed it by mistake last week."]
    sigs = paths[path].classify(_events(back + ["Reopen my old account, then close my "
                                                "current account please."]))
    for sig in sigs[:-1]:
        assert sig.churn_intent == "none" and "wants_back" in sig.flags, sig
    assert sigs[-1].churn_intent != "none" and "wants_back" not in sigs[-1].flags


@pytest.mark.parametrize("path", PATHS)
def test_a_survey_response_is_read_as_its_answers(paths, path):
    """Read with its questions, the transformer found no friction in this response (the
    prompts "How likely are you to recommend us?" and "Why?" spoke for it)."""
    survey = parse_event({"event_id": "s1", "customer_id": "c", "channel": "survey",
                          "occurred_at": "2026-12-01T10:00:00Z", "rating": 2,
                          "text": "How likely are you to recommend us? 2. Why? Support never "
                                  "answers and the invoices are wrong."})
    (sig,) = paths[path].classify([survey])
    assert "service" in sig.friction_categories and sig.sentiment < -0.3, sig


@pytest.mark.parametrize("path", PATHS)
def test_a_diarised_call_is_read_without_the_agents_retention_pitch(paths, path):
    """"Speaker 1/2" labels: read whole, the agent's "Are you looking to cancel your account
    today?" made it a request to leave on both paths (0.58 / 0.51)."""
    call = ("Speaker 1: Thank you for calling Northwave, how can I help?\n"
            "Speaker 2: Hi, I'm calling about my bill, it doubled this month.\n"
            "Speaker 1: I'm sorry to hear that. Are you looking to cancel your account today?\n"
            "Speaker 2: Not at all, I just want to know why it went up.")
    (sig,) = paths[path].classify(_events([call]))
    assert sig.churn_intent == "none", sig.intent_probabilities
    assert "billing" in sig.friction_categories


def test_a_chat_handed_from_a_bot_to_a_named_agent_is_read_as_the_customers(served):
    chat = ("John Doe: my card was declined\nAcme Bot: Sorry! Want to talk to an agent?\n"
            "John Doe: yes\nSam (Acme): Hi John, do you want to close the account?\n"
            "John Doe: no, I want to pay my bill")
    (sig,) = served.classify(_events([chat]))
    assert sig.churn_intent == "none", sig.intent_probabilities


def test_a_contact_form_asking_to_cancel_is_a_request_to_leave(served):
    """A web form pasted into a ticket: its subject line read with its label was none
    (P(explicit) 0.16), and so was the form (0.30)."""
    form = ("Subject: Cancel subscription\nAccount ID: 483920\n"
            "Reason for cancelling: Too expensive\nComments: n/a")
    (sig,) = served.classify(_events([form]))
    assert sig.churn_intent == "explicit", sig.intent_probabilities
    assert "Cancel subscription" in (sig.evidence_text or "")


@pytest.mark.parametrize("path", PATHS)
def test_an_out_of_office_reply_is_read_as_saying_nothing(paths, path):
    """The static path read it as communication friction at sentiment -0.48."""
    text = ("Thank you for your email. I am currently out of the office with limited access "
            "to email and will respond on my return on 8 December.")
    (sig,) = paths[path].classify(_events([text]))
    assert "auto_reply" in sig.flags
    assert sig.churn_intent == "none" and not sig.friction_categories and sig.sentiment == 0.0


HTML_LEAVING = ("<html><body><p>Hi,</p><p>Please <b>cancel</b> my account today. I am moving "
                "to another provider.</p><p>Thanks,<br>Jo</p></body></html>")
HTML_THANKS = ('<div dir="ltr">Thanks, that&#39;s all sorted now.</div><br><div '
               'class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 2 Nov 2026 at '
               '10:02, Acme Support &lt;help@acme.com&gt; wrote:<br></div><blockquote '
               'class="gmail_quote">We are sorry to hear you want to cancel your account.'
               '</blockquote></div>')


@pytest.mark.parametrize("path", PATHS)
def test_an_html_mail_is_read_as_its_visible_new_message(paths, path):
    """Read with its tags, the HTML request quoted its markup (and the static path read
    product friction at sentiment -0.96 into it); the HTML thank-you was read with the
    agent's quoted "sorry to hear you want to cancel"."""
    leaving, thanks = paths[path].classify(_events([HTML_LEAVING, HTML_THANKS]))
    assert leaving.churn_intent == "explicit"
    assert "<" not in leaving.evidence_text and "cancel my account" in leaving.evidence_text
    assert not leaving.friction_categories
    assert thanks.churn_intent == "none", thanks.intent_probabilities


@pytest.mark.parametrize(("text", "language"), [
    ("Ich kündige meinen Vertrag zum Monatsende.", "de"),
    ("Quiero cancelar mi suscripción ya.", "es"),
    ("je veux résilier mon abonnement", "fr"),
    # no stop word of any language: the heuristic says English by default, the cues still read
    ("Desidero recedere dal contratto.", "it"),
    ("Basta, annullo l'abbonamento da subito.", "it"),
])
def test_a_request_to_leave_in_another_language_is_explicit_and_marked(served, text,
                                                                       language):
    (sig,) = served.classify(_events([text]))
    assert sig.churn_intent == "explicit"
    assert sig.confidence == "low"
    assert "leaving_cue" in sig.flags and "non_english" in sig.flags
    assert sig.language == language
    assert sig.evidence and sig.evidence in text


@pytest.mark.parametrize(("fixture", "at_least"), [(LEAVING_FIXTURE, 20), (LATER_FIXTURE, 8)])
def test_requests_to_leave_in_six_languages_are_mostly_explicit(served, fixture, at_least):
    rows = [json.loads(line) for line in fixture.read_text("utf-8").splitlines()
            if line.strip()]
    explicit = [r for r in rows if r["label"] == "explicit" and r["lang"] != "en"]
    signals = served.classify(_events([r["text"] for r in explicit]))
    hits: dict[str, list[bool]] = defaultdict(list)
    for row, sig in zip(explicit, signals, strict=True):
        hits[row["lang"]].append(sig.churn_intent == "explicit")
    assert set(hits) == {"de", "es", "fr", "it", "nl", "pt"}
    for lang, got in sorted(hits.items()):
        assert len(got) >= at_least and sum(got) / len(got) >= 0.80, (lang, got)


def test_few_shot_rows_adapt_the_bundled_transformer_heads(tmp_path):
    from models.train import train_user

    result = train_user(FIXTURE, tmp_path, Path.home() / ".cache" / "churn-detector",
                        "transformer")
    cv = result["cross_validation"]
    assert cv["adapted"]["explicit_f1"] >= cv["bundled"]["explicit_f1"] - 0.05
    assert json.loads((tmp_path / "transformer" / "heads.json").read_text())["adapted_from"]


@pytest.mark.parametrize("case", ["call-2", "call-60", "de", "es", "fr"])
def test_the_issue_cases_raise_an_alert_that_quotes_the_request(served, case):
    """Issue 18's cases end as an alert a support lead sees, through the detector: the call
    quotes its last turn; a request in another language says its language and low
    confidence."""
    from detector.engine import Detector

    texts = {"de": "Ich kündige meinen Vertrag zum Monatsende.",
             "es": "Quiero cancelar mi suscripción ya.",
             "fr": "je veux résilier mon abonnement"}
    event = _call(int(case.split("-")[1])) if case.startswith("call") else _events(
        [texts[case]])[0]
    (signal,) = served.classify([event])
    alerts = [a.to_dict() for a in Detector().process(signal)]
    risk = [a for a in alerts if a["type"] == "customer_churn_risk"]
    assert risk, alerts
    evidence = risk[0]["evidence"][-1]
    assert evidence["churn_intent"] == "explicit"
    if case.startswith("call"):
        assert evidence["snippet"] == LAST_TURN
    else:
        assert evidence["snippet"] in texts[case]
        assert signal.confidence == "low" and signal.language == case


def test_an_alert_on_another_language_says_which_and_how_sure(served):
    from detector.engine import Detector

    (signal,) = served.classify(_events(["Quiero cancelar mi suscripción ya."]))
    (alert,) = [a.to_dict() for a in Detector().process(signal)
                if a.type == "customer_churn_risk"]
    assert "written in es" in alert["reasons"][0] and "low confidence" in alert["reasons"][0]
    assert alert["details"]["confidence"] == "low"


def test_a_message_the_english_models_cannot_read_says_its_language(served):
    """It was English at normal confidence ("me" is an English stop word too), so nothing
    told support that the "no friction" reading meant "not read"."""
    (signal,) = served.classify(_events(["Me cobraron dos veces este mes y nadie me "
                                         "responde."]))
    assert "non_english" in signal.flags and signal.confidence == "low"
    assert signal.language == "es"


@pytest.mark.parametrize("path", PATHS)
def test_tweets_of_nothing_but_a_link_raise_nothing(paths, path):
    """Three tweets of "@acme https://t.co/..." read as billing and product friction on the
    transformer path and made an unresolved_issue alert ("3rd contact about billing,
    product"): the empty text the model was left with is no complaint. A retweet of one
    ("RT @bob: @acme https://t.co/...") read as product friction on the static path."""
    from detector.engine import Detector

    events = [Event(event_id=f"l{i}", customer_id="C-L", channel="social",
                    occurred_at=datetime(2026, 11, 2 + i, tzinfo=UTC),
                    text=("RT @bob: " if i == 2 else "") + f"@acme https://t.co/abc{i}")
              for i in range(3)]
    signals = paths[path].classify(events)
    for s in signals:
        assert s.friction_categories == () and s.churn_intent == "none", s
        assert s.sentiment == 0.0 and s.confidence == "low" and "nothing_to_read" in s.flags
    detector = Detector()
    assert [a for s in signals for a in detector.process(s)] == []


@pytest.mark.parametrize("path", PATHS)
def test_survey_answers_and_call_turns_that_say_nothing_are_no_complaint(paths, path):
    """"No comments." read service and product friction at -0.95, "No issues" product
    friction at -0.74, and a balance-check call took friction from its closing "Nope,
    that's it." (models/answers.py)."""
    from models.answers import empty_answer
    from tests.models.rule_fixtures import fixture_rows
    from tests.models.test_answers import FIXTURES

    texts = [r["text"] for r in fixture_rows(*FIXTURES) if r["empty"] and empty_answer(r["text"])]
    assert len(texts) >= 90
    events = [Event(event_id=f"a{i}", customer_id="C-A", channel="survey",
                    occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=t)
              for i, t in enumerate(texts)]
    call = Event(event_id="call", customer_id="C-A", channel="call",
                 occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text="", turns=(
                     Turn("agent", "Thanks for calling, how can I help?"),
                     Turn("customer", "I want to check my balance."),
                     Turn("agent", "It's 42 pounds. Anything else I can help with?"),
                     Turn("customer", "Nope, that's it.")))
    *answers, called = paths[path].classify([*events, call])
    for s in answers:
        assert s.friction_categories == () and s.churn_intent == "none", s.text
        assert s.sentiment == 0.0 and "nothing_to_read" in s.flags, s.text
    assert called.friction_categories == () and "nothing_to_read" not in called.flags


@pytest.mark.parametrize("path", PATHS)
def test_a_routine_call_that_ends_in_goodbye_is_no_churn_risk(paths, path):
    """A billing call whose last customer turn is "Bye." was an explicit request to leave
    (P 0.50, evidence "Bye."); "Sorry, can you repeat that?" read billing and product
    friction. Each phatic turn of the fixtures closes a balance-check call here."""
    from models.answers import phatic
    from tests.models.rule_fixtures import fixture_rows
    from tests.models.test_answers import PHATIC_FIXTURES

    closing = [r["text"] for r in fixture_rows(*PHATIC_FIXTURES)
               if r["phatic"] and phatic(r["text"])]
    assert len(closing) >= 80
    events = [Event(event_id=f"b{i}", customer_id="C-B", channel="call",
                    occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text="", turns=(
                        Turn("agent", "Thanks for calling, how can I help?"),
                        Turn("customer", "I want to check my balance."),
                        Turn("agent", "It's 42 pounds. Anything else I can help with?"),
                        Turn("customer", said)))
              for i, said in enumerate(closing)]
    signals = paths[path].classify(events)
    assert [said for s, said in zip(signals, closing, strict=True)
            if s.churn_intent == "explicit" or s.friction_categories] == []
    # before: 18 of 84 calls read wrong on the transformer path, 26 on static; the whole
    # text "I want to check my balance. Bye bye!" is still the models' to read (static:
    # at risk)
    risky = [said for s, said in zip(signals, closing, strict=True) if s.churn_intent != "none"]
    assert risky == [] if path == "transformer" else len(risky) <= 1, risky
    # each sent alone as a chat message (an integration that sends every message) says
    # nothing; "Bye @StreamCo" on social media is the models' to read
    alone = [Event(event_id=f"m{i}", customer_id="C-B", channel="chat",
                   occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=said)
             for i, said in enumerate(closing)]
    posted = Event(event_id="post", customer_id="C-B", channel="social",
                   occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text="Bye @StreamCo")
    *messages, post = paths[path].classify([*alone, posted])
    assert [m.text for m in messages if m.churn_intent != "none" or m.friction_categories
            or "nothing_to_read" not in m.flags] == []
    assert post.churn_intent != "none" and "nothing_to_read" not in post.flags


@pytest.mark.parametrize("path", PATHS)
def test_routine_contacts_raise_no_alert(paths, path):
    """Seven customers' routine contacts (calls that end "No, that's all. Bye.", "Bye.",
    "Okay, thanks, bye."; survey answers "No comments.", "Nothing, all good.", "No issues";
    "Please remove my ex-husband as an authorised user on my account.") raised five churn
    alerts, two of them high "asks to leave" cases quoting "Bye." and the ex-husband."""
    from detector.engine import Detector

    lines = (Path(__file__).parent / "fixtures" / "routine_contacts.jsonl").read_text("utf-8")
    events = [parse_event(line.encode()) for line in lines.splitlines()]
    detector = Detector()
    alerts = [a for s in paths[path].classify(events) for a in detector.process(s)]
    assert alerts == [], [(a.customer_id, a.reasons[0]) for a in alerts]


RETRACTIONS = Path(__file__).parent / "fixtures" / "retractions.jsonl"


@pytest.mark.parametrize("path", PATHS)
def test_taking_a_request_back_is_not_a_request_to_leave(paths, path):
    """Own rows (tests/models/fixtures/retractions.jsonl): 31 retractions ("please ignore my
    cancellation request, I'm staying"; before the rule the transformer read 18 of the first
    24 as a churn risk, 14 as explicit) and 28 near misses that do leave or threaten to ("I'm not
    cancelling yet, but one more outage and I'm gone"), which the retraction rule leaves as
    read."""
    rows = [json.loads(line) for line in RETRACTIONS.read_text("utf-8").splitlines()]
    clf = paths[path]
    signals = clf.classify(_events([r["text"] for r in rows]))
    scores = clf.score(_events([r["text"] for r in rows]))
    scores = scores[0] if isinstance(scores, tuple) else scores  # the cascade's (scores, mask)
    for row, sig, before in zip(rows, signals, scores.intent_labels, strict=True):
        if row["retraction"]:
            assert sig.churn_intent == "none" and sig.churn_probability <= 0.1 + 1e-6, row
            assert "retraction" in sig.flags
        else:
            assert "retraction" not in sig.flags, row
            # as the heads read it, or a churn risk by the leaving rule ("If this isn't fixed
            # by Friday I'm cancelling.")
            assert sig.churn_intent == before or (
                before == "none" and sig.churn_intent == "at_risk"
                and "implicit_leaving" in sig.flags), row


EMBEDDED = Path(__file__).parent / "fixtures" / "embedded_leaving.jsonl"


@pytest.mark.parametrize("path", PATHS)
def test_a_request_to_leave_after_a_complaint_is_read(paths, path):
    """Own rows (tests/models/fixtures/embedded_leaving.jsonl): 24 short messages that
    complain, then ask to leave or threaten to ("... I have had enough. Please terminate my
    contract."), and 18 near misses with the same words that do not leave ("Please close the
    complaint I opened last week", "I want to cancel my booking"). Read whole, the
    transformer found 13 of the 24 (6 of the 16 requests explicit); its cue sentences read
    on their own, 23 (15)."""
    rows = [json.loads(line) for line in EMBEDDED.read_text("utf-8").splitlines()]
    signals = paths[path].classify(_events([r["text"] for r in rows]))
    leaving = [s.churn_intent != "none" for s, r in zip(signals, rows, strict=True)
               if r["intent"] != "none"]
    explicit = [s.churn_intent == "explicit" for s, r in zip(signals, rows, strict=True)
                if r["intent"] == "explicit"]
    near_misses = [r["text"] for s, r in zip(signals, rows, strict=True)
                   if r["intent"] == "none" and s.churn_intent != "none"]
    assert len(leaving) == 24 and len(explicit) == 16
    assert sum(leaving) >= 22 and sum(explicit) >= 14
    assert len(near_misses) <= 3, near_misses
    for s, r in zip(signals, rows, strict=True):  # the quote holds the request
        cues = cue_sentences([r["text"]])
        if r["intent"] == "explicit" and s.churn_intent == "explicit" and cues:
            assert any(c in s.evidence_text for c in cues), s


OUTAGE_THEN_LEAVING = [
    "That's the fourth outage. Cancel the contract, I'm going to Virgin.",
    "Fourth outage this week. Cancel the contract, I'm going to Virgin.",
    "Another outage, the fourth one. Cancel the contract. I'm going to Virgin.",
    "I've had enough of the outages, this is the fourth. Cancel my contract, I'm off to "
    "Virgin.",
    "Honestly the broadband has dropped out again, fourth outage this month. Cancel the "
    "contract, I'm going to Virgin Media.",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_request_to_leave_outranks_a_stronger_risk_reading_of_the_whole(paths, path):
    """Read whole, each of these is more likely at risk (churn 0.98-0.99, explicit 0.08-0.44
    on the transformer) than its request to leave read alone (churn 0.96, explicit
    0.69-0.86); pooled by churn alone, every one was ``at_risk`` on the transformer. A
    sentence with a leaving cue that reads explicit decides (models.recipe.score_texts)."""
    signals = paths[path].classify(_events(OUTAGE_THEN_LEAVING))
    assert [s.churn_intent for s in signals] == ["explicit"] * len(OUTAGE_THEN_LEAVING)
    assert all("ancel" in s.evidence_text for s in signals)


@pytest.mark.parametrize("path", PATHS)
def test_a_chat_export_is_read_without_the_agents_words(paths, path):
    """A chat pasted as text with time stamps and names: the agent's "sorry to hear you
    want to cancel your account" made it a request to leave at 0.99 (transformer) and 0.86
    (static), above a customer who says they do not want to cancel."""
    export = ("[10:02] Sarah (Acme Support): Hi! I'm sorry to hear you want to cancel your "
              "account. Can I ask why?\n"
              "[10:03] John: I don't want to cancel, I want to know why my bill doubled\n"
              "[10:04] Sarah (Acme Support): Let me check that for you.")
    signal = paths[path].classify(_events([export]))[0]
    assert signal.churn_intent == "none", signal
    assert "Sarah" not in signal.evidence_text and "sorry to hear" not in signal.evidence_text


def _read_leaving_fixture(clf, fixture: Path) -> tuple[int, list[str], list[str]]:
    """A leaving fixture's rows classified: how many leaving rows read as a churn risk, the
    near misses read as one, and the near misses the leaving rule flagged."""
    rows = [json.loads(line) for line in fixture.read_text("utf-8").splitlines()]
    signals = clf.classify(_events([r["text"] for r in rows]))
    found = sum(s.churn_intent != "none" for s, r in zip(signals, rows, strict=True)
                if r["leaving"])
    near = [(s, r["text"]) for s, r in zip(signals, rows, strict=True) if not r["leaving"]]
    return (found, [t for s, t in near if s.churn_intent != "none"],
            [t for s, t in near if "implicit_leaving" in s.flags])


IMPLICIT = Path(__file__).parent / "fixtures" / "implicit_leaving.jsonl"
IMPLICIT_LATER = Path(__file__).parent / "fixtures" / "implicit_leaving_later.jsonl"


@pytest.mark.parametrize("path", PATHS)
def test_leaving_said_without_a_request_is_a_churn_risk(paths, path):
    """Own rows (tests/models/fixtures/implicit_leaving*.jsonl): "You've lost a customer.",
    "Never again.", "I'm porting my number to EE tomorrow." read no churn intent on every
    path (the transformer found 19 of 44 and, in rows written after the rule was frozen, 13
    of 22); the rule makes them at risk, flagged, and adds no near miss (the paths' own
    readings of a few near misses stay theirs: "My contract ends next month, what renewal
    offers do you have?")."""
    for fixture, at_least in ((IMPLICIT, 40), (IMPLICIT_LATER, 18)):
        found, near_misses, flagged = _read_leaving_fixture(paths[path], fixture)
        assert found >= at_least, (fixture.name, found)
        assert len(near_misses) <= 3, near_misses
        assert flagged == []
    said = paths[path].classify(_events(["You've lost a customer."]))[0]
    assert said.churn_intent == "at_risk" and said.churn_probability == pytest.approx(0.6)
    assert "implicit_leaving" in said.flags


STEPS = [Path(__file__).parent / "fixtures" / f"leaving_steps{s}.jsonl"
         for s in ("", "_later", "_final")]


@pytest.mark.parametrize("path", PATHS)
def test_switching_ultimatums_and_steps_to_leave_are_a_churn_risk(paths, path):
    """Own rows (tests/models/fixtures/leaving_steps*.jsonl): "Switching to Monzo.", "Match
    it or I go.", "Send me my PAC code.", "Turn off auto renewal please.", "What's my notice
    period?" read no churn intent (the transformer found 6 of the 22 rows written last);
    the rule makes them at risk, and flags no near miss (the paths' own readings of a few
    stay theirs: static reads "I switched to paperless billing last month." as explicit)."""
    for fixture, at_least in zip(STEPS, (38, 21, 21), strict=True):
        found, _, flagged = _read_leaving_fixture(paths[path], fixture)
        assert found >= at_least, (fixture.name, found)
        assert flagged == []


BARE_CANCEL = [Path(__file__).parent / "fixtures" / f"bare_cancel{s}.jsonl"
               for s in ("", "_later")]


@pytest.mark.parametrize("path", PATHS)
def test_cancelling_with_nothing_after_it_is_a_churn_risk(paths, path):
    """Own rows (tests/models/fixtures/bare_cancel*.jsonl): "If this is not refunded by
    Friday I will cancel.", "Fix it or I cancel." read no churn intent (the transformer found
    13 of the 24 rows written last); the rule makes them at risk and flags no near miss."""
    for fixture, at_least in zip(BARE_CANCEL, (40, 24), strict=True):
        found, _, flagged = _read_leaving_fixture(paths[path], fixture)
        assert found >= at_least, (fixture.name, found)
        assert flagged == []
    said = paths[path].classify(_events(["If this is not refunded by Friday I will cancel."]))[0]
    assert said.churn_intent == "at_risk" and "implicit_leaving" in said.flags


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("stayed", ["Thirty percent? OK, that's fair. I'll stay then.",
                                    "Go on then, I'll take the thirty percent. Send me the new "
                                    "contract."])
def test_a_retention_call_is_at_risk_not_a_request_to_leave(paths, path, stayed):
    """The customer asked to cancel, the agent offered a discount, the customer stayed
    (saying so, or accepting the offer): read `explicit` 0.99 on every path, a critical
    "asks to leave" for a customer just kept. Now at risk, flagged, and the alert says the
    customer agreed to stay."""
    from detector.engine import Detector
    from detector.schema import Turn

    turns = [("agent", "Thank you for calling Northwave, Ellie speaking, how can I help?"),
             ("customer", "Hi, I want to cancel my contract. The bill went up again and the "
                          "signal is poor."),
             ("agent", "I'm sorry. I can offer you 30 percent off for twelve months."),
             ("customer", stayed),
             ("agent", "Great, I've applied it. Anything else?"),
             ("customer", "No, that's all, thanks.")]
    call = Event(event_id="rc", customer_id="C-rc", channel="call", text="",
                 occurred_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
                 turns=tuple(Turn(speaker=s, text=t) for s, t in turns))
    (sig,) = paths[path].classify([call])
    assert sig.churn_intent == "at_risk" and "retraction" in sig.flags
    assert sig.intent_probabilities["explicit"] == 0.0
    alerts = [a for a in Detector().process(sig) if a.type == "customer_churn_risk"]
    assert alerts and all(a.severity != "critical" for a in alerts)
    assert not [r for a in alerts for r in a.reasons if "asks to leave" in r]
    assert all(any("agreed to stay" in r for r in a.reasons) for a in alerts)


@pytest.mark.parametrize("path", PATHS)
def test_closing_a_deceased_customers_account_is_not_a_request_to_leave(paths, path):
    """Read `explicit` (0.67-1.0) on every path: a critical alert sending a retention agent
    with a concession to a bereaved family. Now `none`, flagged `bereavement`."""
    texts = ["My mum passed away last month. I need to close her account. What documents "
             "do you need?",
             "Sadly my wife has passed away, please cancel her subscription.",
             "I'm the executor of my late father's estate and need to cancel his broadband "
             "contract."]
    for sig in paths[path].classify(_events(texts)):
        assert sig.churn_intent == "none" and "bereavement" in sig.flags, sig
        assert sig.churn_probability <= 0.1 + 1e-6


def test_a_retraction_raises_no_alert_after_a_complaint(served):
    """The customer who complained, asked to cancel and took it back the same day got a
    critical alert quoting the retraction as "asks to leave" (P(explicit) 0.81). Only the
    case's stand-down quotes it now, at low."""
    from detector.engine import Detector

    texts = ["The app has logged me out five times today. Please cancel my subscription.",
             "Thanks for fixing the login so quickly. Please ignore my cancellation request, "
             "I'm staying."]
    events = [Event(event_id=f"r{i}", customer_id="C-r", channel=ch,
                    occurred_at=datetime(2026, 11, 2, 9 + 6 * i, tzinfo=UTC), text=t)
              for i, (ch, t) in enumerate(zip(("chat", "email"), texts, strict=True))]
    detector = Detector()
    signals = served.classify(events)
    alerts = [a for s in signals for a in detector.process(s)]
    assert signals[1].churn_intent == "none" and "retraction" in signals[1].flags
    quoting = [a for a in alerts if "ignore my cancellation" in " ".join(a.reasons)]
    assert [(a.severity, a.reasons[0][:38]) for a in quoting] == [
        ("low", "Took the request to leave back on emai")]
    assert quoting[0].case_key == alerts[0].case_key


@pytest.mark.parametrize("path", PATHS)
def test_a_rating_without_text_reads_as_the_rating_alone(paths, path):
    """A survey answered with a score and no comment: nothing to read, so no churn intent,
    no friction, neutral text sentiment blended with the rating; no language to guess."""
    events = [Event(event_id=f"r{k}", customer_id="C-r", channel="survey",
                    occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text="", rating=k)
              for k in (1, 5)]
    low, high = paths[path].classify(events)
    for sig in (low, high):
        assert sig.churn_intent == "none" and sig.churn_probability == 0.0
        assert sig.friction_categories == ()
        assert "nothing_to_read" in sig.flags and "non_english" not in sig.flags
    assert low.sentiment == pytest.approx(-0.5) and high.sentiment == pytest.approx(0.5)


def test_failures_said_to_keep_happening_are_flagged_on_the_served_path(served):
    """Own rows: the development rows and those of each version's count (docs/models.md,
    "Said to keep happening"): 95 of 103 recurrences flagged on the served default, none of
    the 80 near misses ("Thanks again", "Will fly again.", "I keep meaning to update my
    card")."""
    from tests.models.rule_fixtures import fixture_rows
    from tests.models.test_recurring import FIXTURES

    rows = fixture_rows(*FIXTURES)
    signals = served.classify(_events([r["text"] for r in rows]))
    flagged = ["recurring_problem" in s.flags for s in signals]
    assert [r["text"] for r, f in zip(rows, flagged, strict=True)
            if f and not r["recurring"]] == []
    assert sum(f for r, f in zip(rows, flagged, strict=True) if r["recurring"]) >= 95


@pytest.mark.parametrize(("path", "more"), [("transformer", 25), ("static", 15)])
def test_praise_by_denial_and_verdicts_against_are_read_as_meant(paths, path, more,
                                                                  monkeypatch):
    """Of 40 later praise rows ("Honestly I can't fault the food here.") 6 read right on
    the transformer (no friction, positive) and 4 on static before models/idioms.py, 38 and
    27 after; of 28 verdicts against ("Save your money and go elsewhere.") 19 and 23 read
    negative before, 27 after. Measured here against the same models without the idioms."""
    import models.recipe
    from tests.models.rule_fixtures import fixture_rows

    rows = fixture_rows("idioms_later.jsonl")
    praise = [r["text"] for r in rows if r["idiom"] == "praise"]
    against = [r["text"] for r in rows if r["idiom"] == "against"]

    def right() -> tuple[int, int]:
        signals = paths[path].classify(_events(praise + against, "review"))
        good = sum(not s.friction_categories and s.sentiment > 0
                   for s in signals[:len(praise)])
        return good, sum(s.sentiment < 0 for s in signals[len(praise):])

    praise_read, against_read = right()
    monkeypatch.setattr(models.recipe, "as_meant", lambda text: text)
    praise_before, against_before = right()
    assert praise_read >= praise_before + more and praise_read >= 0.6 * len(praise)
    assert against_read >= against_before + 3 and against_read >= 0.9 * len(against)


@pytest.mark.parametrize("path", PATHS)
def test_customers_praising_by_denial_are_not_read_as_complaining(paths, path, monkeypatch):
    """Six customers' reviews, surveys and posts of praise by denial ("Can't fault it.",
    "Their app never disappoints.", "No problems at all, the transfer went through
    instantly."): 9 of 13 read friction and negative on the transformer (12 and 10 on
    static) without models/idioms.py, and two raised churn alerts ("Credible leaving signal
    on review: "Their app never disappoints. ...""). One, "Second stay and still nothing to
    complain about.", is still read at risk by the transformer's intent head (as "Second
    stay, still great." is): docs/models.md, known limits."""
    import models.recipe

    lines = (Path(__file__).parent / "fixtures" / "praise_contacts.jsonl").read_text("utf-8")
    events = [parse_event(line.encode()) for line in lines.splitlines()]

    def read() -> tuple[int, int]:
        signals = paths[path].classify(events)
        return (sum(bool(s.friction_categories) for s in signals),
                sum(s.sentiment < 0 for s in signals))

    friction, negative = read()
    assert friction <= 2 and negative <= 1, (friction, negative)
    monkeypatch.setattr(models.recipe, "as_meant", lambda text: text)
    assert min(read()) >= 8


@pytest.mark.parametrize("path", ["transformer", "static"])
def test_a_customer_who_says_they_switched_is_a_churn_risk_when_the_company_is_named(
        paths, path):
    """"Switched to Monzo last week, best decision ever." read no churn on the served
    models (0.09 on the transformer) and raised nothing. With the company's own names
    (``CHURN_COMPANY_NAMES``) it is a churn risk that quotes it; a switch to the company
    itself is a customer who joined (static read "Switched to @AcmeBank ..." explicit)."""
    from detector.engine import Detector
    from models.classifier import ClassifierConfig, RecipeClassifier
    from models.cues import own_name_keys

    served = paths[path]
    named = RecipeClassifier(served.encoder, served.heads, served.recipe,
                             ClassifierConfig(own_names=own_name_keys(["Acme Bank",
                                                                       "@AcmeBank"])))
    events = _events(["Switched to Monzo last week, best decision ever.",
                      "Switched to @AcmeBank last week, best decision ever."], "social")
    left, joined = named.classify(events)
    assert left.churn_intent == "at_risk" and "implicit_leaving" in left.flags
    assert "implicit_leaving" not in joined.flags and "joined" in joined.flags
    assert joined.churn_intent == "none"  # static read it explicit
    (alert,) = [a.to_dict() for a in Detector().process(left)]
    assert "Switched to Monzo last week" in alert["reasons"][0]
    unnamed = served.classify(events[:1])[0]
    assert "implicit_leaving" not in unnamed.flags
    if path == "transformer":  # static reads it at risk by itself
        assert unnamed.churn_intent == "none" and list(Detector().process(unnamed)) == []


@pytest.mark.parametrize(("path", "before"), [("transformer", 7), ("static", 2)])
def test_a_customer_who_says_they_renew_is_not_a_churn_risk(paths, path, before, monkeypatch):
    """Of 25 own rows written after the renewal cue was frozen ("I'll happily renew when it
    comes up in March.", "We have extended our lease for another two years."), 9 read as a
    churn risk on the transformer and 2 on static without it, none with it; its 15 near
    misses ("I would have renewed if you hadn't doubled the price.") read the same either
    way. Measured here against the same models without the cue."""
    import models.cues
    from tests.models.rule_fixtures import fixture_rows

    rows = fixture_rows("staying_later.jsonl")
    events = _events([r["text"] for r in rows], "review")

    def at_risk() -> list[bool]:
        return [s.churn_intent != "none" for s in paths[path].classify(events)]

    read = at_risk()
    monkeypatch.setattr(models.cues, "_RENEWAL_WORDS", ())
    unread = at_risk()
    staying = [r["staying"] for r in rows]
    assert sum(r for r, s in zip(read, staying, strict=True) if s) == 0
    assert sum(r for r, s in zip(unread, staying, strict=True) if s) >= before
    assert [r for r, s in zip(read, staying, strict=True) if not s] == [
        r for r, s in zip(unread, staying, strict=True) if not s]


@pytest.mark.parametrize("path", ["transformer", "static"])
def test_loyal_praise_by_denial_is_not_read_as_complaining(paths, path, monkeypatch):
    """"Ten years with this airline and they've never let me down.", "Would never bank
    anywhere else.": of 20 own rows written after the three idioms were frozen, 14 read
    friction on the transformer and 18 on static, 19 negative on each, without them; none
    with them."""
    import models.idioms
    from tests.models.rule_fixtures import fixture_rows

    rows = fixture_rows("idioms_loyal_later.jsonl")
    events = _events([r["text"] for r in rows if r["idiom"] == "praise"], "review")

    def read() -> tuple[int, int]:
        signals = paths[path].classify(events)
        return (sum(bool(s.friction_categories) for s in signals),
                sum(s.sentiment < 0 for s in signals))

    assert read() == (0, 0)
    monkeypatch.setattr(models.idioms, "PRAISE", models.idioms.PRAISE[:-3])
    friction, negative = read()
    assert friction >= 12 and negative >= 16


def test_a_renewal_after_a_request_to_leave_stands_the_case_down(served):
    """A customer who asked to leave and then says they renewed: the open churn case is
    updated to low, quoting the renewal (before the renewal cue the second message read
    ``none`` at 0.42, no retraction, and the case stayed open as it was)."""
    from detector.engine import Detector

    first, later = _events(["Please cancel my subscription, the app keeps crashing.",
                            "Sorted now, thanks. I've renewed for another year."], "chat")
    later = dataclasses.replace(later, customer_id=first.customer_id,
                                occurred_at=first.occurred_at + timedelta(days=2))
    detector = Detector()
    opened = [a.to_dict() for s in served.classify([first]) for a in detector.process(s)]
    assert [a["severity"] for a in opened if a["type"] == "customer_churn_risk"] != []
    signal = served.classify([later])[0]
    assert signal.churn_intent == "none" and "retraction" in signal.flags
    (down,) = [a.to_dict() for a in detector.process(signal)
               if a.type == "customer_churn_risk"]
    assert down["severity"] == "low"
    assert "I've renewed for another year." in down["reasons"][0]


@pytest.mark.parametrize(("path", "before", "after"),
                         [("transformer", 9, 1), ("static", 13, 2)])
def test_a_question_about_the_terms_of_leaving_is_a_risk_not_a_request(paths, path, before,
                                                                       after, monkeypatch):
    """Of 65 own questions about leaving's terms ("What's your cancellation policy?", "What
    happens to my data if I close my account?") the transformer read 11 explicit and static
    16, each a critical "asks to leave" alert; with models/terms.py 1 and 2 (the rule's two
    misses: "Do I get my deposit back if I close the account?"), at risk instead. The 44
    near misses ("How do I cancel my account?", "Close my account today. Is there a fee?")
    read the same either way. Measured against the same models without the rule."""
    import models.classifier
    from tests.models.rule_fixtures import fixture_rows
    from tests.models.test_terms import COUNTED, DEVELOPMENT

    rows = fixture_rows(*DEVELOPMENT, COUNTED)
    events = _events([r["text"] for r in rows], "chat")
    read = paths[path].classify(events)
    monkeypatch.setattr(models.classifier, "asks_leaving_terms", lambda text: None)
    unread = paths[path].classify(events)
    terms = [r["terms"] for r in rows]
    assert sum(s.churn_intent == "explicit" for s, t in zip(read, terms, strict=True)
               if t) <= after
    assert sum(s.churn_intent == "explicit"
               for s, t in zip(unread, terms, strict=True) if t) >= before
    assert [s.churn_intent for s, t in zip(read, terms, strict=True) if not t] == [
        s.churn_intent for s, t in zip(unread, terms, strict=True) if not t]


def test_a_question_about_the_cancellation_policy_opens_a_case_that_says_so(served):
    from detector.engine import Detector

    (signal,) = served.classify(_events(["Hi, what's your cancellation policy?"], "chat"))
    assert signal.churn_intent == "at_risk" and "leaving_terms" in signal.flags
    (alert,) = [a.to_dict() for a in Detector().process(signal)]
    assert alert["severity"] != "critical"
    assert alert["reasons"][0].startswith(
        'Asks about the terms of leaving on chat: "Hi, what\'s your cancellation policy?"')
