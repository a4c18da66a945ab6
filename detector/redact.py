"""Personal-data redaction for text that leaves the service (alert evidence, logs), and
escaping of invisible characters where text reaches a terminal or a CRM payload."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

#: Zero-width and bidi controls, BOM, soft hyphen... (Unicode category Cf): removed before
#: matching, so that ``jane\u200b@corp.example`` or ``4111\u200b1111...`` are still found.
_FORMAT_CATEGORY = "Cf"

_DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    # any script in the local part and the domain (jöhn@exämple.de); a match starts where a
    # run of local-part characters starts (else a long run without "@" is read once from
    # each of its characters: 10,000 digits took half a second)
    ("email", r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"),
    # IBANs in any case, also written in groups of four with spaces or dashes
    ("iban", r"(?i)\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b"),
    ("card", r"\b\d(?:[ -]?\d){12,18}\b"),
    # each run of spaces after a word (three optional runs in a row took minutes on a long one)
    ("account", r"(?i)\b(?:account|acct|a/c)\s*(?:(?:no\.?|number|#)\s*)?(?:[:#]\s*)?\d{5,}\b"),
    # phone numbers, but not ISO dates (2026-11-10); also the 7-digit local form 555-1234
    ("phone", r"(?<![\w(])(?!\d{4}-\d{2}-\d{2}\b)(?:\+|\()?\d[\d ().-]{7,}\d\b"),
    ("phone", r"(?<![\w(-])\d{3}[ .-]\d{4}\b(?![-.]\d)"),
    # order, account or reference numbers: any other run of 8 or more digits
    ("number", r"(?<!\w)\d{8,}(?!\w)"),
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    """ISO 13616 check digits (mod 97 == 1)."""
    text = re.sub(r"[ -]", "", candidate).upper()
    moved = text[4:] + text[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1
    except ValueError:
        return False


#: What each default pattern's every match holds: a (Unicode) digit, or "@".
_NEEDS: dict[str, str] = {"email": "@", "iban": "digit", "card": "digit", "account": "digit",
                          "phone": "digit", "number": "digit"}
_DIGIT = re.compile(r"\d")

#: Validators: a match that fails its check is left for the later patterns.
_CHECKS: dict[str, Callable[[str], bool]] = {
    "card": lambda m: _luhn_ok(re.sub(r"\D", "", m)),
    "iban": _iban_ok,
}


def _checked(name: str, check: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return f"[{name}]" if check(match.group()) else match.group()

    return replace


def normalise(text: str) -> str:
    """NFKC (full-width digits, ligatures) without format characters (zero-width, bidi)."""
    if text.isascii():  # NFKC leaves ASCII as it is, and every format character is non-ASCII
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != _FORMAT_CATEGORY)


class Redactor:
    """Replace personal data with ``[email]``, ``[phone]`` ... placeholders.

    Text is normalised first (:func:`normalise`); cards must pass the Luhn check and IBANs
    their check digits, other long digit runs become ``[number]``.
    """

    def __init__(self, extra_patterns: Iterable[str] = (), enabled: bool = True) -> None:
        self._patterns: list[tuple[str, re.Pattern[str], str | None]] = [
            (name, re.compile(p), _NEEDS[name]) for name, p in _DEFAULT_PATTERNS]
        self._patterns += [("redacted", re.compile(p), None) for p in extra_patterns]
        self.enabled = enabled

    def __call__(self, text: str) -> str:
        if not self.enabled:
            return text
        text = normalise(text)
        # a default pattern cannot match a text without what it needs (a placeholder adds
        # neither a digit nor "@"): most evidence holds no digit and no address
        present = {"@": "@" in text, "digit": _DIGIT.search(text) is not None}
        for name, pattern, need in self._patterns:
            if need is not None and not present[need]:
                continue
            check = _CHECKS.get(name)
            if check is None:
                text = pattern.sub(f"[{name}]", text)
            else:
                text = pattern.sub(_checked(name, check), text)
        return text


#: how much of an evidence snippet an alert's reason quotes (models.cues picks what fits)
QUOTE_CHARS = 120


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` as a reason quotes it: at most ``limit`` characters, "…" where cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(text: str, redactor: Redactor, limit: int = 200) -> str:
    """A redacted excerpt of at most ``limit`` characters."""
    text = redactor(" ".join(text.split()))
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def escape_controls(text: str) -> str:
    """``text`` with control, format (zero-width, bidi) and line-separator characters written
    as ``\\uXXXX``, so that it cannot forge lines or reorder what a terminal or a CRM shows."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)
