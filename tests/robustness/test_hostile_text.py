"""Long hostile texts through every hand-written pattern on the serving path.

A pattern that can re-read the rest of a text from each of its characters takes time that
grows with the square of the text (or worse): a 10,000-digit message took 1.4 s in the
German leaving cues (``\\w*vertrag`` at no word start) and 0.5 s in the e-mail redaction,
"account" and 3,000 spaces took 103 s in the account-number redaction, and "this is my
last order" repeated took 2.4 s over 44,000 characters in the last-order cue, and VADER
(the transformer's valence columns) lower-cased the whole text for each sentiment word it
met: "i don't want to cancel" repeated to 10,000 characters, 0.5 s. The texts
here are five times the event limit, so a quadratic pattern costs seconds to minutes and
the hang guard (``pytest.mark.timeout``, far above the few hundred milliseconds this takes)
fails the test: it is a guard against hangs, not a speed measurement.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.markup import visible_text
from detector.redact import Redactor, snippet
from detector.replies import new_message
from detector.schema import MAX_TEXT_CHARS
from models.answers import empty_answer, phatic
from models.cues import (
    bereavement,
    cue_sentences,
    implicit_leaving,
    leaving_quote,
    retained,
    retraction,
)
from models.deadlines import leaving_date
from models.downgrades import asks_downgrade
from models.escalations import threatens_escalation
from models.idioms import as_meant
from models.language import is_english
from models.multilingual import detect_leaving_request
from models.pieces import PieceConfig, customer_lines, split_covered
from models.recurring import says_recurring
from models.repeats import says_repeat
from models.staying import detail_removed, joined, spare_account, wants_back
from models.terms import asks_leaving_terms
from models.valence import valence

#: pieces of the patterns, each repeated to a long text: what they may match again and again
FRAGMENTS = [
    "1234567890", "1-", "1a", "x.", "a@b.", "+1", "GB82 WEST 1234 5698 7654 32 ", "account ",
    "account" + " " * 40, "account no. ", "john.smith@example.com ", "((((", "...", "'''",
    "this is my last order ", "i don't want to cancel ", "please ignore my cancellation ",
    "never again ", "you've lost a customer ", "won't be back until ", "i'm moving my ",
    "going to another new bank ", "done with you ", "my mum passed away ", "late father ",
    "cancel my account ", "switching to another bank ", "ich kündige meinen vertrag ",
    "vertrag soll ", "konto schliessen ", "quiero cancelar mi suscripción ",
    "je veux résilier ", "disdetta ", "opzeggen abonnement ", "cancelar tudo ",
    "Agent: hi\nCustomer: ", "\u200b", "😡", "ok i'll take the ", "keep my ",
    "or i go to another ", "or I walk ", "Switching to Monzo ", "leaving you for X ",
    "if one more and i'm done, ", "deleted. ", "you closed my account ", "reopen my ",
    "I'll switch to ", "send me my pac ", "turn off auto-renew ", "my notice period ",
    "i was told it would ", "i have called you ", "third time ", "yet again ", "as i said ",
    "still not ", "nobody has ", "promised me a ", "again, ",
    "i will report this to the ", "ombudsman ", "my lawyer will ", "court ",
    "dispute the charge with my bank ", "chargeback ", "i intend to ", "would like to ",
    "please send me my deadlock letter ", "will be contacting ", "@a ", "@PizzaCo never again ",
    "i'm done flying with ", "porting my number ", "lost a customer ", "not using the app ",
    "haven't used the service in ", "no longer ", "n't ", "not ", "aaaa",
    "i'm still within my cooling-off ", "cancel within the ", "14 day ", "money back guarantee ",
    "i'm in the free trial ", "cancel ", "right to cancel ", "cooling off ",
    "cancel it at the end of the ", "cancel it before it renews ", "cancel the whole thing ",
    "never mind the discount, cancel ", "before the next payment ", "when my contract ",
    "i've had a quote from Octopus ", "quote from Aaaa", "won't bother ", "quotes elsewhere ",
    "cancel my plan on the 1st ", "leaving friday ", "my contract ends ", "tomorrow ",
    "or i cancel ", "i will cancel if ", "cancel. ", "move me to the cheapest plan ",
    "remove the sports add-on ", "reduce my data ", "anything cheaper ", "downgrade ",
    "On Mon, 2 Nov 2026 ", "> ", "\n> ", "wrote ", "on x\n", "From: a\n", "\n\nFrom: a\nSent",
    "-----", "_" * 8, "<p", "<div style='", "<b>", "</blockquote>", "&amp;", "[10:02] Support: ",
    "Bob: ",
    "late again ", "missing drinks again ", "again my order was ", "every time ",
    "every single time it's late ", "always late ", "keeps crashing ", "i keep getting ",
    "third week in a row ", "twice this week ", "another outage ", "it happened again ",
    "as usual ", "over and over ", "once more ", "why is it always ", "is down ",
    "internet is ", "i'm always ", "wasn't late ", "stop it happening again ",
    "remove my old card ", "delete my address from my profile ", "take my card off ",
    "n/a ", "no, ", "nothing to add ", "thanks, bye ", "mm-hmm ",
    "can't fault ", "no complaints ", "not bad ", "can't recommend them ", "give it one star ",
    "one star. ", "1/", "zero stars ", "never had any ", "not a single ", "hassle-free ",
    "switched to Monzo ", "Switched to @Rival, ", "i'm with Three now ", "i'm now with X ",
    "moved my account to Acme ", "i have just ", ". finally ", "switched from BT to you ",
    "switched from a b c d ",
    "i will be renewing ", "we'll be ", "i ", "i " + " " * 30, "just renewed. ",
    "sticking with you ", "i'm not going anywhere ", "when i renew ",
    "never let me down ", "hasn't once let ", "never had a reason to ", "have no reason to ",
    "wouldn't go ", "would never shop a b c ", "anywhere else ",
    "what's the cancellation fee ", "what happens to my a b if i close ", "if i ", "fee ",
    "will i lose x if we ", "notice period ", "cancel ? ", "is there a fee to cancel my plan ",
]
LENGTH = 5 * MAX_TEXT_CHARS


def _long(fragment: str) -> str:
    return (fragment * (LENGTH // len(fragment) + 1))[:LENGTH]


@pytest.mark.timeout(60)
def test_every_pattern_reads_a_long_hostile_text_in_linear_time():
    redactor = Redactor()
    for fragment in FRAGMENTS:
        text = _long(fragment)
        redactor(text)
        snippet(text, redactor)
        implicit_leaving(text)
        implicit_leaving(text, frozenset({"acme"}))
        says_repeat(text)
        says_recurring(text)
        threatens_escalation(text)
        leaving_date(text)
        asks_downgrade(text)
        retraction(text)
        retained(["Please cancel my account.", text])
        bereavement(text)
        spare_account(text)
        joined(text)
        wants_back(text)
        detail_removed(text)
        empty_answer(text)
        phatic(text)
        as_meant(text)
        asks_leaving_terms(text)
        cue_sentences([text])
        leaving_quote(text, "explicit")
        leaving_quote(text, "at_risk")
        detect_leaving_request(text)
        is_english(text)
        customer_lines(text)
        split_covered(text, PieceConfig())
        valence([text])
        new_message(text)
        visible_text(text)


@pytest.mark.timeout(30)
def test_vader_reads_a_long_text_of_sentiment_words_in_linear_time():
    """A fifth of a second here; about a minute when VADER lower-cased the whole text for
    each sentiment word (and the same scores: tests/models/test_valence.py)."""
    text = _long("i don't want to cancel, not good ") * 2
    assert valence([text]).shape == (1, 4)


def test_the_linear_patterns_still_redact():
    redactor = Redactor()
    assert redactor("mail john.smith@example.com or jöhn@exämple.de") == "mail [email] or [email]"
    for text in ("account no. : 1234567", "acct#12345", "account number 98765", "a/c 55555"):
        assert redactor(text) == "[account]", text
    assert redactor("x" * 30 + "@example.com") == "[email]"


_PIECES = st.one_of(st.characters(), st.sampled_from(
    [" ", ".", ",", "!", "?", "'", "\u2019", "\n", ":", "never again", "you've lost a customer",
     "won't be back", "my last order", "cancel my account", "i'll take the offer",
     "Customer: ", "Agent: ", "thanks for", "again", "elsewhere", "if ", "\u0130",
     "Switching to ", "Monzo", "or I walk", "send me my PAC", "auto-renew", "from",
     "I was told it would", "never", "third time I've called", "again, ", "\n called",
     "I will report you to ", "the ombudsman", "my bank", "cancel my plan", " on Friday",
     "tomorrow", "or I cancel", "move me to the ", "cheapest plan", "remove the ", "add-on",
     "downgrade", "late again", "every time", "keeps crashing", "third week in a row",
     "another outage", "wasn't ", "?", "remove my old ", "address from my profile",
     "take my card off", "no comments", "bye"]))
_TEXT = st.lists(_PIECES, max_size=60).map("".join)


@given(_TEXT, _TEXT)
@settings(max_examples=300, deadline=None)
def test_the_leaving_rules_quote_what_was_written_and_never_raise(first: str, later: str):
    """Whatever the text, the rules return None or a stretch of it (what an alert quotes)."""
    for text in (first, later, first + " " + later):
        said = implicit_leaving(text)
        assert said is None or (said and said in text)
        back = retraction(text)
        assert back is None or back in text
        again = says_repeat(text)
        assert again is None or (again and again in text)
        recurs = says_recurring(text)
        assert recurs is None or (recurs and recurs in text)
        outside = threatens_escalation(text)
        assert outside is None or (outside and outside in text)
        when = leaving_date(text)
        assert when is None or (when and when in text)
        down = asks_downgrade(text)
        assert down is None or (down and down in text)
        detail = detail_removed(text)
        assert detail is None or (detail and detail in text)
    kept = retained([first, later])
    assert kept is None or kept in first or kept in later
