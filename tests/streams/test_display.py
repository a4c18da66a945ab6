"""The terminal rendering names the case an alert belongs to."""

from __future__ import annotations

from streams.display import render_alert
from tests.streams.test_webhook import make_alert


def test_case_line_says_new_or_which_alert_it_updates():
    first = dict(make_alert(1), case_key="case-" + "b" * 24, supersedes=None)
    later = dict(make_alert(2), case_key="case-" + "b" * 24, supersedes=first["alert_id"])
    assert f"  case: case-{'b' * 24} (new)" in render_alert(first)
    assert f"(updates {first['alert_id']})" in render_alert(later)
    assert "case:" not in render_alert(make_alert(3)), "a 1.0 alert is a case of its own"
