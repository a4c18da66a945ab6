"""Personal-data redaction for text that leaves the service (alert evidence, logs)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    # IBANs, also written in groups of four ("GB82 WEST 1234 5698 7654 32")
    ("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
    ("card", r"\b\d(?:[ -]?\d){12,18}\b"),
    ("account", r"(?i)\b(?:account|acct|a/c)\s*(?:no\.?|number|#)?\s*[:#]?\s*\d{5,}\b"),
    # phone numbers, but not ISO dates (2026-11-10)
    ("phone", r"(?<![\w(])(?!\d{4}-\d{2}-\d{2}\b)(?:\+|\()?\d[\d ().-]{7,}\d\b"),
)


class Redactor:
    """Replace personal data with ``[email]``, ``[phone]`` ... placeholders."""

    def __init__(self, extra_patterns: Iterable[str] = (), enabled: bool = True) -> None:
        patterns = list(_DEFAULT_PATTERNS) + [("redacted", p) for p in extra_patterns]
        self._patterns = [(name, re.compile(p)) for name, p in patterns]
        self.enabled = enabled

    def __call__(self, text: str) -> str:
        if not self.enabled:
            return text
        for name, pattern in self._patterns:
            text = pattern.sub(f"[{name}]", text)
        return text


def snippet(text: str, redactor: Redactor, limit: int = 200) -> str:
    """A redacted excerpt of at most ``limit`` characters."""
    text = redactor(" ".join(text.split()))
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"
