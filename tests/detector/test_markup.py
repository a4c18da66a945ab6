"""An HTML e-mail body is read as the text a mail client shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from detector.markup import visible_text
from detector.schema import Event

GMAIL_REPLY = (
    '<div dir="ltr">Thanks, that&#39;s all sorted now.</div><br><div class="gmail_quote">'
    '<div dir="ltr" class="gmail_attr">On Mon, 2 Nov 2026 at 10:02, Acme Support '
    '&lt;help@acme.com&gt; wrote:<br></div><blockquote class="gmail_quote">We are sorry to '
    'hear you want to cancel your account.</blockquote></div>')


def test_tags_go_blocks_break_lines_and_entities_are_decoded():
    body = ("<html><head><style>p {color: red}</style></head><body><p>Hi,</p><p>Please "
            "<b>cancel</b> my account&nbsp;today &amp; refund me.</p><p>Thanks,<br>Jo</p>"
            "<script>track()</script></body></html>")
    assert visible_text(body) == ("Hi,\n\nPlease cancel my account today & refund me.\n\n"
                                  "Thanks,\nJo")


def test_quoted_history_is_left_out_unless_it_is_all_there_is():
    assert visible_text(GMAIL_REPLY) == (
        "Thanks, that's all sorted now.\n\nOn Mon, 2 Nov 2026 at 10:02, Acme Support "
        "<help@acme.com> wrote:")
    assert visible_text("<blockquote>a forwarded complaint</blockquote>") == \
        "a forwarded complaint"


@pytest.mark.parametrize("text", [
    "I think 3 < 4 and <3 you", "Price went from <10 to >20 a month", "plain text, no tags",
    "<script>only a script</script>",
])
def test_text_without_visible_html_is_kept(text):
    assert visible_text(text) == text


def test_an_event_scores_the_visible_new_message_and_keeps_its_text():
    event = Event(event_id="e1", customer_id="C1", channel="email",
                  occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=GMAIL_REPLY)
    assert event.customer_text == "Thanks, that's all sorted now."
    assert event.text == GMAIL_REPLY
