from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from detector.schema import MAX_TEXT_CHARS, EventError, parse_event

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def base(**over):
    obj = {
        "event_id": "e1",
        "customer_id": "C-1",
        "channel": "ticket",
        "occurred_at": "2026-11-10T09:00:00+01:00",
        "text": "My invoice is wrong",
    }
    obj.update(over)
    return obj


def test_valid_event_is_normalised_to_utc():
    ev = parse_event(json.dumps(base()).encode(), now=NOW)
    assert ev.occurred_at == datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    assert ev.channel == "ticket" and ev.journey_stage is None


@pytest.mark.parametrize(
    "raw,reason",
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (json.dumps(base(channel="fax")), "unknown_channel"),
        (json.dumps(base(journey_stage="checkout")), "unknown_journey_stage"),
        (json.dumps({k: v for k, v in base().items() if k != "customer_id"}), "missing_field"),
        (json.dumps(base(event_id=12)), "invalid_field"),
        (json.dumps(base(text="   ")), "empty_text"),
        (json.dumps(base(occurred_at="2026-11-10T09:00:00")), "invalid_field"),
        (json.dumps(base(occurred_at="2030-01-01T00:00:00Z")), "invalid_field"),
        (json.dumps(base(rating=7)), "invalid_field"),
        (json.dumps(base(rating=True)), "invalid_field"),
        (json.dumps(base(case_status="closed")), "invalid_field"),
        (json.dumps(base(text=None, case_status=None)), "empty_text"),
        (json.dumps(base(metadata=[1])), "invalid_field"),
        (json.dumps(base(turns=[{"speaker": "bot", "text": "x"}])), "invalid_field"),
    ],
)
def test_bad_input_gets_a_reason(raw, reason):
    with pytest.raises(EventError) as info:
        parse_event(raw, now=NOW)
    assert info.value.reason == reason
    assert info.value.detail


@pytest.mark.parametrize("text", [None, "", "   "])
def test_a_rating_alone_is_an_event(text):
    """A survey or review without comment: the rating is the signal (it was dead-lettered
    as empty_text). Without a rating, no text is still refused."""
    ev = parse_event(json.dumps(base(channel="survey", text=text, rating=1)), now=NOW)
    assert ev.text == "" and ev.rating == 1
    with pytest.raises(EventError, match="no rating") as info:
        parse_event(json.dumps(base(channel="survey", text=text, rating=None)), now=NOW)
    assert info.value.reason == "empty_text"


@pytest.mark.parametrize("text", [None, "Engineer replaced the line filter. Closing."])
def test_a_case_closed_is_an_event_whose_text_is_not_the_customers(text):
    """The case-management system closing the case: no text needed, and its note (the
    agent's words) is kept but not read as the customer's."""
    ev = parse_event(json.dumps(base(text=text, case_status="resolved")), now=NOW)
    assert ev.case_status == "resolved" and "case_resolved" in ev.flags
    assert ev.customer_text == "" and ev.text == (text or "")
    assert ev.to_dict()["case_status"] == "resolved"
    assert parse_event(ev.to_dict(), now=NOW) == ev


def test_call_with_turns_scores_customer_turns_only():
    ev = parse_event(
        base(channel="call", text=None, turns=[
            {"speaker": "agent", "text": "How can I help?"},
            {"speaker": "customer", "text": "I want to close my account."},
        ]),
        now=NOW,
    )
    assert ev.customer_text == "I want to close my account."
    assert "How can I help?" in ev.text


def test_call_without_customer_turns_is_flagged_not_dropped():
    ev = parse_event(base(channel="call", text=None, turns=[{"speaker": "agent", "text": "Hi"}]),
                     now=NOW)
    assert "no_customer_turns" in ev.flags


def test_huge_text_is_truncated_and_flagged():
    ev = parse_event(base(text="a" * (MAX_TEXT_CHARS * 3)), now=NOW)
    assert len(ev.text) == MAX_TEXT_CHARS and "text_truncated" in ev.flags


def test_a_huge_text_keeps_its_start_and_its_end():
    """A letter's demand and a call's outcome come last: the cut keeps the first quarter and
    the rest from the end (it kept only the start, so "Please cancel" was never read)."""
    text = "My broadband keeps dropping. " + "More details follow. " * 2000 + "Please cancel."
    ev = parse_event(base(text=text), now=NOW)
    assert len(ev.text) == MAX_TEXT_CHARS and "text_truncated" in ev.flags
    head, tail = ev.text.split("\n")
    assert text.startswith(head) and text.endswith(tail) and len(head) == MAX_TEXT_CHARS // 4


def test_a_huge_call_keeps_its_first_turns_and_its_last_ones_in_order():
    turns = [{"speaker": ("customer", "agent")[i % 2], "text": f"turn {i:03d} " + "x" * 90}
             for i in range(300)]
    ev = parse_event(base(channel="call", text=None, turns=turns), now=NOW)
    kept = [t.text for t in ev.turns]
    assert sum(map(len, kept)) == MAX_TEXT_CHARS and "text_truncated" in ev.flags
    assert kept[0] == turns[0]["text"] and kept[-1] == turns[-1]["text"]
    numbers = [int(t[5:8]) for t in kept if t.startswith("turn ")]
    assert numbers == sorted(numbers) and numbers[-1] == 299
    assert [t.speaker for t in ev.turns][-1] == "agent"
    assert len(ev.text) <= MAX_TEXT_CHARS and ev.text.endswith(turns[-1]["text"])


def test_one_huge_turn_keeps_its_start_and_its_end():
    said = "It started in May. " + "Nothing worked. " * 2000 + "I am leaving you."
    ev = parse_event(base(channel="call", text=None, turns=[{"speaker": "customer",
                                                             "text": said}]), now=NOW)
    first, last = ev.turns
    assert said.startswith(first.text) and said.endswith(last.text)
    assert first.speaker == last.speaker == "customer"
    assert len(first.text) + len(last.text) == MAX_TEXT_CHARS


def test_a_long_html_mail_is_cut_as_the_text_a_mail_client_shows():
    """Outlook writes kilobytes of styles before the message: cut as markup, the first
    quarter was styles, the cut left a <style> open, and the request to leave was lost
    (the models read raw CSS)."""
    styles = "<style>" + "".join(f".x{i} {{ margin:0; color:#1F497D; }}\n"
                                 for i in range(250)) + "</style>"
    ask = "Please cancel my broadband contract, I am moving to another provider."
    html = (f"<html><head>{styles}</head><body><p>Hi,</p><p>{ask}</p><p>Tom</p>"
            + "".join(f"<p>Earlier message {i}: thank you for contacting us.</p>"
                      for i in range(150)) + "</body></html>")
    assert len(html) > MAX_TEXT_CHARS
    ev = parse_event(json.dumps(base(channel="email", text=html)), now=NOW)
    assert ask in ev.customer_text and "<style>" not in ev.text and "margin" not in ev.text
    short = html.replace("".join(f"<p>Earlier message {i}: thank you for contacting us.</p>"
                                 for i in range(150)), "")
    ev = parse_event(json.dumps(base(channel="email", text=short)), now=NOW)
    assert ask in ev.customer_text and "text_truncated" not in ev.flags  # markup alone


def test_control_characters_are_removed():
    ev = parse_event(base(text="bad\x00 bill\x07 again"), now=NOW)
    assert ev.text == "bad bill again"


def test_full_width_letters_are_read_as_ascii():
    ev = parse_event(base(text="ｃａｎｃｅｌ　ｍｙ　ａｃｃｏｕｎｔ，　ｎｏｗ！"), now=NOW)
    assert ev.text == "cancel my account, now!"
    turned = parse_event(base(text="", channel="call", turns=[
        {"speaker": "customer", "text": "ＩＤ ４４２１ please"}]), now=NOW)
    assert turned.customer_text == "ID 4421 please"
    # other scripts and Latin letters with accents are left as they are
    assert parse_event(base(text="Ich kündige. 这个服务太差了"), now=NOW).text == \
        "Ich kündige. 这个服务太差了"


def test_invisible_format_characters_are_removed():
    # a soft hyphen from a word processor split "cancel" for the n-grams and rules (the
    # static path read the request as none); zero-width spaces, a BOM, direction marks
    # and overrides likewise; hidden tag characters too
    ev = parse_event(base(text="\ufeffPlease ca\u00adncel my acc\u200bount \u202etoday\u202c"
                                "\u200e.\U000E0041\U000E0042"), now=NOW)
    assert ev.text == "Please cancel my account today."
    turned = parse_event(base(text="", channel="call", turns=[
        {"speaker": "customer", "text": "close\u2060 it\u2066 now\u2069"}]), now=NOW)
    assert turned.customer_text == "close it now"
    # kept: joiners inside words and emoji, a subdivision flag's tags
    family = "\U0001F468\u200d\U0001F469 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    scotland = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"
    assert parse_event(base(text=f"{family} {scotland}"), now=NOW).text == f"{family} {scotland}"
    # nothing but invisible characters is no text
    with pytest.raises(EventError) as err:
        parse_event(base(text="\u200b\u00ad\ufeff"), now=NOW)
    assert err.value.reason == "empty_text"


def test_round_trip_to_dict():
    ev = parse_event(base(journey_stage="billing", rating=2, metadata={"plan": "x"}), now=NOW)
    again = parse_event(ev.to_dict(), now=NOW)
    assert again == ev
