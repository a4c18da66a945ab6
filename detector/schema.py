"""The interaction-event contract: parsing and validation of one JSON event.

Pure Python. ``parse_event`` turns raw bytes / text / a dict into an :class:`Event`
or raises :class:`EventError` with a human-readable reason; callers turn that
reason into a dead-letter record or a rejected-line report.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from detector.markup import looks_like_html, visible_text
from detector.replies import new_message
from detector.surveys import survey_answers

CHANNELS: tuple[str, ...] = ("review", "ticket", "social", "call", "chat", "email", "survey")
JOURNEY_STAGES: tuple[str, ...] = (
    "awareness",
    "purchase",
    "onboarding",
    "usage",
    "support",
    "billing",
    "renewal",
)
SPEAKERS: tuple[str, ...] = ("customer", "agent")
#: ``case_status`` values: "resolved" is a case-management system closing the customer's
#: case (a ticket solved). Such an event is not a contact and its text is not read as the
#: customer's words; it closes what was open up to its time (``detector.customer``).
CASE_STATUSES: tuple[str, ...] = ("resolved",)

#: Texts longer than this (in characters) are cut to it and flagged, never dropped: the first
#: quarter from the start, the rest from the end (a call's outcome and a letter's demand come
#: last; ``models.pieces`` keeps the pieces of a text it cannot read whole the same way).
MAX_TEXT_CHARS = 10_000
_HEAD_CHARS = MAX_TEXT_CHARS // 4
_CUT = "\n"  # between the kept start and end: a sentence break for the splitter
#: Identifier fields longer than this are refused (they end up as Kafka keys).
MAX_ID_CHARS = 256
#: Events further than this in the future (clock skew of producers) are refused.
MAX_FUTURE_SKEW = timedelta(days=1)
#: Events further in the future than this (but within a day) are clamped to the processing
#: time and flagged ``future_clamped``: one fast producer clock must not move the
#: watermarks (stage windows, customer risk time) past everyone else's events.
#: ``CHURN_MAX_FUTURE_SKEW_SECONDS``; never more than the lateness.
FUTURE_CLAMP = timedelta(minutes=2)
#: Events older than this (relative to the processing time) are accepted but flagged ``stale``.
STALE_AFTER = timedelta(days=365)
#: Timestamps before this are refused as implausible (typically a zero or epoch default).
MIN_TIMESTAMP = datetime(1990, 1, 1, tzinfo=UTC)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: Integers beyond a signed 64-bit range are refused (Kafka, JVM and database consumers).
MAX_ABS_INT = 2**63 - 1
#: Unicode categories refused in identifiers: controls (C0, C1, DEL), format characters
#: (zero-width, bidi overrides, BOM, soft hyphen), surrogates,
#: line and paragraph separators. ``contracts/event.schema.json`` refuses the same in the BMP.
ID_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_WS_RE = re.compile(r"[ \t]+")


class EventError(ValueError):
    """An event that cannot be accepted. ``reason`` is a short machine-friendly code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """One validated, normalised interaction event."""

    event_id: str
    customer_id: str
    channel: str
    occurred_at: datetime
    text: str
    turns: tuple[Turn, ...] = ()
    journey_stage: str | None = None
    rating: int | None = None
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    case_status: str | None = None
    #: The text to score: the customer's turns when turns are given, else ``text`` as a mail
    #: client shows it (:func:`detector.markup.visible_text`: an HTML body's words) without
    #: the quoted history of an e-mail reply (:func:`detector.replies.new_message`); of a
    #: survey response, its answers (:func:`detector.surveys.survey_answers`). Found once,
    #: when the event is made: scoring, the rules and the cascade all read it.
    customer_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        said = [t.text for t in self.turns if t.speaker == "customer" and t.text]
        if self.case_status is not None:  # the case system's record, not the customer
            text = ""
        elif said:
            text = " ".join(said)
        else:
            text = new_message(visible_text(self.text))
            if self.channel == "survey":
                text = survey_answers(text)
        object.__setattr__(self, "customer_text", text)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "occurred_at": self.occurred_at.isoformat(),
            "text": self.text,
        }
        if self.turns:
            out["turns"] = [{"speaker": t.speaker, "text": t.text} for t in self.turns]
        if self.journey_stage is not None:
            out["journey_stage"] = self.journey_stage
        if self.rating is not None:
            out["rating"] = self.rating
        if self.language is not None:
            out["language"] = self.language
        if self.metadata:
            out["metadata"] = self.metadata
        if self.case_status is not None:
            out["case_status"] = self.case_status
        return out


# full-width Latin letters, digits and punctuation (U+FF01-U+FF5E) and the ideographic space,
# as their ASCII forms: "ｃａｎｃｅｌ ｍｙ ａｃｃｏｕｎｔ" is English to the models and cue lists
# (what NFKC does to these; NFKC as a whole would also rewrite ligatures, superscripts and
# fractions in the evidence an alert quotes)
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


# invisible format characters nobody reads: a soft hyphen, zero-width space, word joiner,
# BOM, direction marks, embeddings, overrides and isolates. Copied from web pages and word
# processors they split words for every reader that looks at characters ("ca\u00adncel" is
# no "cancel" to the n-grams and rules; the transformer's tokenizer already drops them),
# and bidi overrides make quoted evidence display other than it reads. Kept: the zero-width
# joiner and non-joiner (spelling in Persian and Indic scripts, emoji sequences) and
# Arabic's number signs.
_INVISIBLE = dict.fromkeys([0xAD, 0x180E, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F),
                            *range(0x2060, 0x2065), *range(0x2066, 0x2070), 0xFEFF,
                            0xFFF9, 0xFFFA, 0xFFFB])
# Unicode tag characters hide ASCII text from a reader ("ASCII smuggling"); only a
# subdivision flag (a black flag, then tags) keeps them
_TAGS_RE = re.compile("(\U0001F3F4[\U000E0020-\U000E007F]+)|[\U000E0000-\U000E007F]+")
_FULL_WIDTH_OR_INVISIBLE = _FULL_WIDTH | _INVISIBLE


def _flag_or_nothing(match: re.Match[str]) -> str:
    return match.group(1) or ""


def clean_text(text: str) -> str:
    """Normalise text: NFC, full-width forms as ASCII, drop control and invisible format
    characters, collapse runs of spaces."""
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = _TAGS_RE.sub(_flag_or_nothing, text.translate(_FULL_WIDTH_OR_INVISIBLE))
    text = _CONTROL_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip()


def parse_timestamp(value: Any, *, now: datetime | None = None) -> datetime:
    """Parse an ISO 8601 timestamp that carries a zone; return it in UTC."""
    if not isinstance(value, str):
        raise EventError("invalid_field", "occurred_at must be an ISO 8601 string")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EventError("invalid_field", f"occurred_at is not ISO 8601: {value[:40]!r}") from exc
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise EventError("invalid_field", "occurred_at has no time zone")
    try:
        ts = ts.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+14:00
        raise EventError("invalid_field", "occurred_at is out of range") from exc
    if ts < MIN_TIMESTAMP:
        raise EventError("invalid_field", f"occurred_at is before {MIN_TIMESTAMP.year}")
    if now is not None and ts - now > MAX_FUTURE_SKEW:
        raise EventError("invalid_field", "occurred_at is more than a day in the future")
    return ts


def _require_str(obj: dict[str, Any], name: str) -> str:
    if name not in obj or obj[name] is None:
        raise EventError("missing_field", f"{name} is required")
    value = obj[name]
    if not isinstance(value, str):
        raise EventError("invalid_field", f"{name} must be a string")
    if len(value) > MAX_ID_CHARS:
        raise EventError("invalid_field", f"{name} is longer than {MAX_ID_CHARS} characters")
    bad = next((ch for ch in value if not is_id_char(ch)), None)
    if bad is not None:
        raise EventError(
            "invalid_field",
            f"{name} has a control, format or other invisible character (U+{ord(bad):04X})",
        )
    value = value.strip(" ")
    if not value:
        raise EventError("invalid_field", f"{name} must not be empty")
    return value


def is_id_char(ch: str) -> bool:
    """Whether ``ch`` may appear in an identifier: visible characters and the plain space.

    Controls, zero-width and bidi characters, and whitespace other than U+0020 would let one
    id look like another or forge lines where an id is displayed (CRM subjects, logs).
    """
    if ch == " ":
        return True
    return unicodedata.category(ch) not in ID_REFUSED_CATEGORIES and not ch.isspace()


def _parse_turns(raw: Any) -> tuple[Turn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise EventError("invalid_field", "turns must be a list")
    turns = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise EventError("invalid_field", f"turns[{i}] must be an object")
        speaker = item.get("speaker")
        if speaker not in SPEAKERS:
            raise EventError("invalid_field", f"turns[{i}].speaker must be customer or agent")
        text = item.get("text")
        if not isinstance(text, str):
            raise EventError("invalid_field", f"turns[{i}].text must be a string")
        turns.append(Turn(speaker=speaker, text=clean_text(text)))
    return tuple(turns)


def _cut_text(text: str) -> str:
    """``text`` cut to ``MAX_TEXT_CHARS``: its start and its end, a line break between."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    tail = MAX_TEXT_CHARS - _HEAD_CHARS - len(_CUT)
    return text[:_HEAD_CHARS] + _CUT + text[-tail:]


def _truncate_turns(turns: tuple[Turn, ...]) -> tuple[tuple[Turn, ...], bool]:
    """Keep at most ``MAX_TEXT_CHARS`` characters of turn text in total, in order: the
    turns' first quarter and the rest from their end (a turn across a cut keeps its part on
    each side)."""
    total = sum(len(t.text) for t in turns)
    if total <= MAX_TEXT_CHARS:
        return turns, False
    tail_from = total - (MAX_TEXT_CHARS - _HEAD_CHARS)
    kept: list[Turn] = []
    start = 0
    for turn in turns:
        end = start + len(turn.text)
        if start < _HEAD_CHARS:
            kept.append(Turn(speaker=turn.speaker, text=turn.text[:_HEAD_CHARS - start]))
        if end > tail_from:
            kept.append(Turn(speaker=turn.speaker, text=turn.text[max(0, tail_from - start):]))
        start = end
    return tuple(t for t in kept if t.text), True


def decode_json(raw: bytes | str) -> Any:
    """Decode UTF-8 JSON, raising :class:`EventError` with a clear reason."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventError("invalid_utf8", f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        return json.loads(raw, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EventError("invalid_json", str(exc)[:120]) from exc
    except ValueError as exc:  # EventError from the hooks; anything else the decoder raises
        if isinstance(exc, EventError):
            raise
        raise EventError("invalid_json", str(exc)[:120]) from exc


def _parse_int(text: str) -> int:
    # refuse before Python converts it: 5,000 digits raise ValueError, 400 overflow floats
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_ABS_INT:
        raise EventError("invalid_field", f"integer out of range ({len(text)} characters)")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise EventError("invalid_field", f"number out of range: {text[:40]}")
    return value


def _parse_constant(text: str) -> float:
    raise EventError("invalid_field", f"{text} is not a JSON number")


def check_values(obj: Any) -> None:
    """Refuse what JSON can carry but the detector cannot pass on: lone surrogates in any
    string or key (they cannot be encoded as UTF-8), integers beyond 64 bits, non-finite
    numbers. Raises :class:`EventError`."""
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE_RE.search(value):
                raise EventError("invalid_unicode", "a string holds a lone UTF-16 surrogate")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_ABS_INT:
                raise EventError("invalid_field", "integer out of range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise EventError("invalid_field", "number out of range")
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)


def parse_event(
    raw: bytes | str | dict[str, Any],
    *,
    now: datetime | None = None,
    future_clamp: timedelta = FUTURE_CLAMP,
) -> Event:
    """Validate and normalise one interaction event (see ``contracts/event.schema.json``).

    ``now`` is the processing time: events more than ``future_clamp`` ahead of it are
    dated ``now`` and flagged ``future_clamped``; more than a day ahead are refused."""
    obj = raw if isinstance(raw, dict) else decode_json(raw)
    if not isinstance(obj, dict):
        raise EventError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    check_values(obj)

    event_id = _require_str(obj, "event_id")
    customer_id = _require_str(obj, "customer_id")
    channel = obj.get("channel")
    if channel is None:
        raise EventError("missing_field", "channel is required")
    if channel not in CHANNELS:
        raise EventError(
            "unknown_channel", f"channel {str(channel)[:40]!r} is not one of {CHANNELS}"
        )
    if "occurred_at" not in obj:
        raise EventError("missing_field", "occurred_at is required")
    occurred_at = parse_timestamp(obj["occurred_at"], now=now)

    turns, turns_cut = _truncate_turns(_parse_turns(obj.get("turns")))
    text_raw = obj.get("text")
    if text_raw is not None and not isinstance(text_raw, str):
        raise EventError("invalid_field", "text must be a string")
    text = clean_text(text_raw or "")
    flags: list[str] = []
    if now is not None and now - occurred_at > STALE_AFTER:
        flags.append("stale")
    if now is not None and occurred_at - now > future_clamp:
        occurred_at = now
        flags.append("future_clamped")
    if not text and turns:
        text = " ".join(t.text for t in turns if t.text)
    case_status = obj.get("case_status")
    if case_status is not None and case_status not in CASE_STATUSES:
        raise EventError("invalid_field",
                         f"case_status must be one of {CASE_STATUSES} or null, got "
                         f"{str(case_status)[:40]!r}")
    if case_status is not None:
        flags.append("case_resolved")
    # a rating alone is a survey without comment; a case closed needs no text
    if not text and obj.get("rating") is None and case_status is None:
        raise EventError("empty_text", "text is missing or empty, no turns carry text, "
                         "there is no rating and no case_status")
    if turns and not any(t.speaker == "customer" and t.text for t in turns):
        flags.append("no_customer_turns")
    if len(text) > MAX_TEXT_CHARS and looks_like_html(text):
        # an HTML mail is cut as the text a mail client shows, not as markup: Outlook's
        # styles fill the first quarter, and a cut through an open <style> hid the rest
        text = clean_text(visible_text(text))
    if len(text) > MAX_TEXT_CHARS or turns_cut:
        text = _cut_text(text)
        flags.append("text_truncated")

    stage = obj.get("journey_stage")
    if stage is not None and stage not in JOURNEY_STAGES:
        raise EventError(
            "unknown_journey_stage",
            f"journey_stage {str(stage)[:40]!r} is not one of {JOURNEY_STAGES}",
        )
    rating = obj.get("rating")
    if rating is not None:
        if (
            isinstance(rating, bool)
            or not isinstance(rating, int | float)
            or (isinstance(rating, float) and not rating.is_integer())
        ):
            raise EventError("invalid_field", "rating must be an integer 1-5")
        rating = int(rating)
        if not 1 <= rating <= 5:
            raise EventError("invalid_field", "rating must be an integer 1-5")
    language = obj.get("language")
    if language is not None and (not isinstance(language, str) or len(language) > 35):
        raise EventError("invalid_field", "language must be a short string (BCP 47 tag)")
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise EventError("invalid_field", "metadata must be an object")

    return Event(
        event_id=event_id,
        customer_id=customer_id,
        channel=channel,
        occurred_at=occurred_at,
        text=text,
        turns=turns,
        journey_stage=stage,
        rating=rating,
        language=language,
        metadata=metadata,
        flags=tuple(flags),
        case_status=case_status,
    )
