"""Out-of-office replies are found; a customer who mentions being away is not one."""

from __future__ import annotations

import pytest

from detector.autoreply import MAX_CHARS, auto_reply

AUTO_REPLIES = [
    "Thank you for your email. I am currently out of the office with limited access to email "
    "and will respond on my return on 8 December.",
    "Automatic reply: Your ticket #4411 has been updated",
    "Subject: Automatic reply: Complaint 2231",
    "Out of Office: back on 5 Jan",
    "I'm out of the office until Monday 14th. For urgent matters please contact my colleague "
    "on 0123 456789.",
    "Hi, I am on annual leave until 2 January and will reply when I get back. Thanks, Priya",
    "I will be away from the office from 20 Dec to 3 Jan. I'll get back to you as soon as "
    "possible.",
    "Ich bin bis zum 5. Januar nicht im Büro. In dringenden Fällen wenden Sie sich bitte an "
    "service@firma.de.",
    "Bonjour, je suis en congés jusqu'au 3 janvier. En cas d'urgence, appelez le standard.",
    "Estoy fuera de la oficina hasta el lunes. En caso de urgencia llame al 900 000 000.",
]
CUSTOMERS = [
    "I was out of the office when your engineer came, so he left without fixing anything.",
    "I'm out of the office all week so please call my mobile, the broadband is still down.",
    "Until you fix my router I can't work from home. I am away from my desk most of the day.",
    "Your automatic replies are useless, I need a human to look at my bill.",
    "I'm travelling until Friday and my card has been blocked abroad, please help urgently!",
    "The out of office reply from your team is all I ever get.",
    "I'm on holiday from tomorrow, can you confirm the engineer will come when I'm back?",
    "Out of office hours support is terrible, nobody answers after 6pm.",
    "Ooo that's annoying, the app logged me out again.",
]


@pytest.mark.parametrize("text", AUTO_REPLIES)
def test_away_messages_are_automatic_replies(text):
    assert auto_reply(text)


@pytest.mark.parametrize("text", CUSTOMERS)
def test_a_customer_who_mentions_being_away_is_not_one(text):
    assert not auto_reply(text)


def test_a_long_message_is_the_customers_own():
    body = AUTO_REPLIES[0] + " " + "The router has been dropping every evening. " * 30
    assert len(body) > MAX_CHARS and not auto_reply(body)
