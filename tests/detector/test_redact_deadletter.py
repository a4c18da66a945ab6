from __future__ import annotations

import base64

from detector.deadletter import deadletter_record
from detector.redact import Redactor, snippet


def test_redacts_personal_data():
    r = Redactor()
    text = ("Mail me at jane.doe@example.com or +1 (415) 555-0100, card 4111 1111 1111 1111, "
            "account number 12345678")
    out = r(text)
    for secret in ("jane.doe@example.com", "555-0100", "4111 1111", "12345678"):
        assert secret not in out
    assert "[email]" in out and "[card]" in out


def test_extra_patterns_and_disable():
    assert Redactor(["ORD-\\d+"])("order ORD-991 late") == "order [redacted] late"
    assert Redactor(enabled=False)("a@b.co") == "a@b.co"


def test_snippet_is_bounded():
    s = snippet("word " * 500, Redactor(), 200)
    assert len(s) <= 200 and s.endswith("…")


def test_deadletter_keeps_original_bytes():
    raw = b"\xff\x00garbage"
    rec = deadletter_record(raw, "invalid_utf8", "bad", source_topic="t", partition=1, offset=7)
    assert rec["raw_encoding"] == "base64" and base64.b64decode(rec["raw"]) == raw
    assert (rec["source_topic"], rec["partition"], rec["offset"]) == ("t", 1, 7)
    text = deadletter_record(b'{"a":', "invalid_json", "x")
    assert text["raw"] == '{"a":' and text["raw_encoding"] == "utf-8"


def test_normalise_keeps_ascii_and_cleans_everything_else():
    import string

    from detector.redact import normalise

    ascii_text = string.printable * 3
    assert normalise(ascii_text) is ascii_text
    assert normalise("ｃａｒｄ\u200b ４１１１") == "card 4111"  # full-width, zero-width space
    assert normalise("fi\ufb01le\u202e") == "fifile"  # ligature, bidi override
