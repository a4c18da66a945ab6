"""The quoted history of an e-mail reply is not what the customer says now."""

from __future__ import annotations

import pytest

from detector.replies import new_message
from detector.schema import parse_event

GMAIL = ("Thanks, that's all sorted now.\n\nOn Mon, 2 Nov 2026 at 09:14, Acme Support "
         "<help@acme.com> wrote:\n> Hi Jo, we're sorry to hear you want to cancel your account.\n"
         "> Kind regards, Acme Support")
OUTLOOK = ("Fine, I'll keep it.\n\n________________________________\nFrom: Acme Support "
           "<help@acme.com>\nSent: 02 November 2026 09:14\nTo: Jo\nSubject: RE: cancel\n\n"
           "We are sorry to hear you want to cancel.")
ORIGINAL = ("Sounds good, I'll keep the account then.\n\n-----Original Message-----\nFrom: Jo\n"
            "Sent: Monday\nSubject: Cancel\nPlease cancel my account immediately.")


@pytest.mark.parametrize(("text", "own"), [
    (GMAIL, "Thanks, that's all sorted now."),
    (OUTLOOK, "Fine, I'll keep it."),
    (ORIGINAL, "Sounds good, I'll keep the account then."),
    (OUTLOOK.replace("\n", "\r\n"), "Fine, I'll keep it."),
    # the header wrapped over two lines, as mail clients do with a long name
    ("Still broken.\nOn 2 Nov 2026, at 09:14, Acme Support\n<help@acme.com> wrote:\n\n> cancel",
     "Still broken."),
    ("Toujours en panne.\n\nLe lun. 2 nov. 2026 à 09:14, Acme <a@b.c> a écrit :\n> résilier",
     "Toujours en panne."),
    ("Noch immer kaputt.\n\nAm 02.11.2026 um 09:14 schrieb Acme <a@b.c>:\n> kündigen",
     "Noch immer kaputt."),
    # a help desk's marker: the ticket's history below it holds the agent's words
    ("Thanks, all sorted now.\n\n##- Please type your reply above this line -##\n\nYour "
     "request (4432) has been updated.\n\nJane (Acme Support)\nI'm sorry to hear you want "
     "to cancel your account.", "Thanks, all sorted now."),
    ("Still no refund.\n\n--- Reply above this line ---\nAgent: do you want to cancel?",
     "Still no refund."),
    ("Alles erledigt, danke.\n\n##- Bitte geben Sie Ihre Antwort über dieser Zeile ein -##\n\n"
     "Möchten Sie kündigen?", "Alles erledigt, danke."),
    # Apple Mail and others: "From: / Date:" after a blank line
    ("Thanks, all sorted now.\n\nFrom: help@acme.com\nDate: Monday, 1 December 2026\n"
     "Subject: Re: cancel\nWe are sorry to hear you want to cancel.", "Thanks, all sorted now."),
    # written below the quote it answers
    ("On Mon, 1 Dec 2026 at 10:02, Acme <help@acme.com> wrote:\n> We are sorry to hear you "
     "want to cancel your account.\n\nNo, I don't want to cancel. I want a refund.",
     "No, I don't want to cancel. I want a refund."),
    # a reply written between the quoted lines keeps every line of its own
    ("Still broken, see below.\n> Agent: have you tried restarting?\nYes, three times.\n"
     "> Agent: ok\nAnd it still drops.", "Still broken, see below.\nYes, three times.\n"
     "And it still drops."),
])
def test_the_quoted_history_is_left_out(text, own):
    assert new_message(text) == own


@pytest.mark.parametrize("text", [
    "My bill is wrong at 10:30 today, see ref: 4471.",
    "On Monday your agent wrote: we will refund you. Still nothing!",  # the customer's words
    # a ticket that opens with its own header lines (no blank line before "From:")
    "Ticket #123\nFrom: John\nSent: today\nMy bill is wrong.",
    "From: John Smith\nDate: 2026-11-02\nSubject: Billing\n\nMy bill is wrong.",
    "Line one\r\nline two: still broken",  # line endings alone change nothing
    "3 > 2, and I still pay more than my neighbour.",
])
def test_a_message_without_quoted_history_is_read_as_written(text):
    assert new_message(text) == text


@pytest.mark.parametrize("text", [
    "> quoted only\n> nothing else",
    "On Mon, 2 Nov 2026, Acme <a@b.c> wrote:\n> please confirm the cancellation",
])
def test_a_message_that_is_all_quote_is_kept_whole(text):
    """A forward without a comment: the quote is all there is to read."""
    assert new_message(text) == text


def test_the_event_keeps_its_text_and_scores_the_reply_alone():
    event = parse_event({"event_id": "e1", "customer_id": "C-1", "channel": "email",
                         "occurred_at": "2026-11-10T09:00:00Z", "text": GMAIL})
    assert event.text == GMAIL
    assert event.customer_text == "Thanks, that's all sorted now."


@pytest.mark.parametrize(("text", "own"), [
    ("Great service as always.\n\nCONFIDENTIALITY NOTICE: If you are not the intended "
     "recipient you must not use, copy or disclose this message and must delete it and any "
     "copies.", "Great service as always."),
    ("The invoice still shows the old price.\n\nKind regards,\nJane\n\nThis email and any "
     "attachments are confidential and intended solely for the addressee. If you have "
     "received this email in error please notify the sender and delete it.",
     "The invoice still shows the old price.\n\nKind regards,\nJane"),
    ("Thanks for sorting the refund so quickly!\n\nSent from my iPhone",
     "Thanks for sorting the refund so quickly!"),
    ("Please update my address.\n\n-- \nJohn\nTo cancel your subscription to this list reply "
     "STOP", "Please update my address."),
])
def test_a_mails_footer_is_not_read(text, own):
    """Read with its disclaimer, "Great service as always." was product friction at -0.61
    on the static path; a signature's mailing-list line held "cancel your subscription"."""
    assert new_message(text) == own


@pytest.mark.parametrize("text", [
    "Hello.\n\nThis message is confidential: please cancel my account.",  # short: the message
    "Sent from my iPhone",  # nothing else: read as it came
    "The app -- which I love -- keeps crashing.",
])
def test_what_only_looks_like_a_footer_stays(text):
    assert new_message(text) == text
