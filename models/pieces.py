"""Long texts read whole: split an event's text into the pieces the model scores.

MiniLM reads at most 256 word pieces, so a complaint letter or a call is mostly cut off, and
a mean of token vectors over 3,000 characters drowns the one sentence that matters. A text
longer than ``window`` characters is scored as the whole text plus windows of whole
sentences, each at most ``window`` characters (a call: the whole of what the customer said
plus each customer turn);
the classifier pools the pieces' scores per event (``models.recipe``) and quotes the
strongest piece as evidence. Short texts are one piece, themselves.

What the model reads of a piece is :func:`plain`: links and @handles dropped, hashtags read as
words; the evidence quotes the piece as written.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"')\]]))\s+|\s*\n+\s*")
# the same gaps in a text without line breaks, found from the sentence end (several times
# faster: the search skips to the punctuation)
_SENTENCE_GAP = re.compile(r"[.!?…][\"')\]]?(\s+)")
_SPEAKER = re.compile(r"^\s*(customer|caller|client|user|me|agent|rep|representative|advisor|"
                      r"operator|support)\s*:\s*", re.I)
_AGENT_SPEAKERS = {"agent", "rep", "representative", "advisor", "operator", "support"}
# a word that is a link or an @handle (at the start of a whitespace-separated word only, so
# an e-mail address stays), a retweet's "RT" before the handle it quotes, and a hashtag that
# starts with a letter (``#12345`` stays)
_MARKUP = re.compile(r"(?<!\S)(?:(?:https?://|www\.)\S+|@\w+|RT(?=\s+@)|#(?=[^\W\d_])(\w+))")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_MARKUP_HINTS = ("@", "#", "http", "www.")


def _unmark(m: re.Match[str]) -> str:
    tag = m.group(1)
    return _CAMEL.sub(" ", tag) if tag is not None else ""


_HASHTAG = re.compile(r"(?<!\S)#(?=[^\W\d_])(\w+)")


def hashtags_as_words(text: str) -> str:
    """``text`` with each hashtag read as its words, as :func:`plain` reads it ("#NeverAgain"
    -> "Never Again"), and nothing else changed."""
    return _HASHTAG.sub(_unmark, text) if "#" in text else text


def lowered(text: str) -> str:
    """``text`` lower-cased with "'" for "’", as long as ``text`` (a character that
    lower-cases to two, like "İ", kept), so that spans found in it hold for ``text``."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.replace("\u2019", "'") if "\u2019" in low else low


def plain(text: str) -> str:
    """The words of a piece the model reads: links and @handles dropped, and the "RT" of a
    retweet before the handle it quotes, a hashtag read as its words (``#NeverAgain`` ->
    ``Never Again``). Social posts to a company start with its handle and often end with a
    link; neither says anything about the customer, and the training text has almost none,
    so they moved scores on their own. Each change stays inside one whitespace-separated
    word, so the plain text of a long text is still its windows' plain texts in order
    (:func:`split_covered`); only "RT" looks at the next word, and a window cut between the
    two (inside a sentence longer than a window) keeps it. A piece that is nothing but
    markup has nothing to read (:func:`has_words`)."""
    if not any(h in text for h in _MARKUP_HINTS):
        return text
    return _MARKUP.sub(_unmark, text)


def has_words(read: str) -> bool:
    """Whether a piece's plain text holds anything to read: a letter or digit of any script,
    or a symbol such as an emoji. A piece of nothing but links, handles, punctuation or
    zero-width characters reads as the empty text, which the heads do not score as neutral
    (the transformer's reading of it is billing and product friction)."""
    return any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in read)


@dataclass(frozen=True)
class PieceConfig:
    """How texts are split: windows of at most ``window`` characters, at most ``max_pieces``
    windows (the first quarter and the last three quarters are kept when there are more:
    calls and letters end with what the customer wants)."""

    window: int = 400
    max_pieces: int = 24

    def to_dict(self) -> dict[str, int]:
        return {"window": self.window, "max_pieces": self.max_pieces}


def _split_sentences(text: str) -> list[str]:
    """``_SENTENCE_END.split(text)``: at each whitespace run after a sentence end (or a
    sentence end and a closing quote or bracket), and at each run holding a line break."""
    if "\n" in text:
        return _SENTENCE_END.split(text)
    parts, last = [], 0
    for m in _SENTENCE_GAP.finditer(text):
        parts.append(text[last:m.start(1)])
        last = m.end(1)
    parts.append(text[last:])
    return parts


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines), stripped, none empty."""
    return [s.strip() for s in _split_sentences(text) if s and s.strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each of :func:`sentences` starts and ends in ``text``."""
    spans, at = [], 0
    for s in sentences(text):
        start = text.find(s, at)
        spans.append((start, start + len(s)))
        at = start + len(s)
    return spans


# a line break inside a sentence: a hard-wrapped e-mail or complaint ("I called\n again.")
_WRAPPED = re.compile(r"(?<=[\w,;\-])[ \t]*\n(?=[ \t]*[a-z0-9(])")


def wrapped_sentence_spans(text: str) -> list[tuple[int, int]]:
    """:func:`sentence_spans`, but a line break inside a sentence (after a word and before a
    lower-case one: a hard-wrapped e-mail) does not end it."""
    joined = _WRAPPED.sub(lambda m: " " * len(m.group()), text) if "\n" in text else text
    return sentence_spans(joined)


def span_at(spans: Sequence[tuple[int, int]], at: int, length: int) -> tuple[int, int]:
    """The span of ``spans`` (sorted, of a text ``length`` long) holding position ``at``;
    ``(0, length)`` when ``at`` is between them."""
    k = bisect_right([a for a, _ in spans], at) - 1
    return spans[k] if k >= 0 and at < spans[k][1] else (0, length)


def sentence_around(text: str, at: int) -> tuple[int, int]:
    """Where the sentence of :func:`wrapped_sentence_spans` holding position ``at`` of
    ``text`` starts and ends; ``(0, len(text))`` when ``at`` is between them."""
    return span_at(wrapped_sentence_spans(text), at, len(text))


def _pack(parts: Sequence[str], window: int) -> list[str]:
    """Consecutive parts joined with spaces into strings of at most ``window`` characters
    (a part longer than that stands alone)."""
    out: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + 1 + len(part) > window:
            out.append(current)
            current = part
        else:
            current = f"{current} {part}" if current else part
    if current:
        out.append(current)
    return out


def _chunks(sentence: str, window: int) -> list[str]:
    """A sentence longer than the window, cut at word boundaries."""
    return _pack(sentence.split(), window)


def windows(units: Sequence[str], window: int) -> list[str]:
    """Consecutive units (sentences or turns) joined into windows of at most ``window``
    characters; a unit longer than a window is cut at word boundaries."""
    return _pack([part for unit in units
                  for part in ([unit] if len(unit) <= window else _chunks(unit, window))],
                 window)


# a chat export's line: an optional time stamp ("[10:02]", "10:02 AM -", "(2026-12-01
# 10:02:15)"), then a speaker's name of at most 40 characters ("Sarah (Acme Support)",
# "John Smith") and a colon
_STAMP = r"(?:[\[(]?\d{1,4}[-/.:]\d{1,2}(?:[-/.:]\d{1,4})*(?:[ T,]+\d{1,2}:\d{2}(?::\d{2})?)?" \
         r"\s*(?:[ap]\.?m\.?)?[\])]?\s*[-–|]?\s*)"
_NAMED = re.compile(r"^\s*(" + _STAMP + r")?([^\W\d_][\w .'’()&/-]{0,39}?)\s*:\s+(?=\S)",
                    re.I)
# a speaker whose name holds one of these words speaks for the company
_AGENT_ROLE = re.compile(r"\b(?:agent|support|rep|representative|advis[oe]r|operator|team|"
                         r"service|bot|assistant|specialist|care|helpdesk|staff|moderator|"
                         r"concierge)\b", re.I)


# what only the company's side says on a call or chat: a transcript whose speakers are
# "Speaker 1" / "Speaker 2" (speech-to-text with diarisation) names its agent this way
_AGENT_SCRIPT = re.compile(
    r"\b(?:thanks?(?: you)? for (?:calling|contacting|holding|choosing)|you'?re (?:through|"
    r"speaking) (?:to|with)|how (?:can|may) i (?:help|assist)|what can i (?:do|help with) "
    r"for you|is there anything else i can (?:help|do|assist)|(?:i'?m|i am|so) sorry to hear "
    r"(?:that|about|you)|bear with me|for (?:security|verification|data protection) "
    r"(?:purposes|reasons)|can i (?:take|confirm|just confirm) your|i understand your "
    r"frustration|apologi[sz]e for (?:the|any) inconvenience)", re.I)


# a speaker's affiliation: "Sam (Acme)", "Sam from Acme", "Sam @ Acme"
_AFFILIATION = re.compile(r"(?:\(([^()]+)\)|\b(?:from|at)\s+(.+)$|@\s*(.+)$)", re.I)
_WORD = re.compile(r"[^\W\d_]{3,}")


def _affiliation(speaker: str) -> set[str]:
    """The words of a speaker's affiliation, lower-cased (none without one)."""
    m = _AFFILIATION.search(speaker)
    said = next((g for g in m.groups() if g), "") if m else ""
    return {w.lower() for w in _WORD.findall(said)}


def customer_lines(text: str) -> list[str] | None:
    """For a transcript written as ``Agent: ...`` / ``Customer: ...`` lines, the customer's
    lines without the speaker prefix; None when the text is not such a transcript. A chat
    export with time stamps and names (``[10:02] Sarah (Acme Support): ...``) is one too
    when a speaker's name says it speaks for the company (:data:`_AGENT_ROLE`) and another's
    does not (a speaker whose affiliation names the same company, "Sam (Acme)" next to
    "Acme Bot", speaks for it too), or, when no name says so (``Speaker 1:``,
    ``SPEAKER_00:``), a speaker's lines say the company's script (:data:`_AGENT_SCRIPT`:
    "Thank you for calling", "How can I help?") and another's do not: the others' lines,
    each with the unlabelled lines under it."""
    if ":" not in text:  # no speaker labels
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    labelled = [(m, ln) for ln in lines if (m := _SPEAKER.match(ln))]
    if len(labelled) < 2 or len(labelled) < len(lines) // 2:
        return _named_customer_lines(lines)
    said = [ln[m.end():].strip() for m, ln in labelled
            if m.group(1).lower() not in _AGENT_SPEAKERS]
    return [s for s in said if s] or None


def _is_title(line: str) -> bool:
    """A chat export's title line: short, not a sentence ("Chat transcript - 12 Dec 2026",
    "Conversation with Acme Support")."""
    text = line.strip()
    return 0 < len(text) <= 80 and text[-1] not in ".!?,;:"


def _named_customer_lines(lines: list[str]) -> list[str] | None:
    """:func:`customer_lines` of a chat export whose speakers are named. Labelled lines
    without time stamps where no speaker speaks twice are not one: "Service: slow\nFood:
    cold" is a review."""
    turns: list[tuple[str, list[str]]] = []  # (speaker, lines)
    stamped = titles = 0
    for ln in lines:
        m = _NAMED.match(ln)
        if m:
            turns.append((m.group(2).strip(), [ln[m.end():].strip()]))
            stamped += m.group(1) is not None
        elif turns:  # a message over several lines
            turns[-1][1].append(ln.strip())
        elif titles < 2 and _is_title(ln):  # "Chat transcript - 12 Dec 2026"
            titles += 1
        else:
            return None  # prose before the first speaker: not an export
    if len(turns) < 2 or len(turns) < len(lines) // 2:
        return None
    speakers = [who for who, _ in turns]
    if stamped < len(turns) and len(set(speakers)) == len(speakers):
        return None
    agents = {who for who in speakers if _AGENT_ROLE.search(who)}
    if agents:  # "Sam (Acme)" next to "Acme Bot": the same company's affiliation
        company = {w.lower() for who in agents for w in _WORD.findall(_AGENT_ROLE.sub(" ", who))}
        agents |= {who for who in speakers if company & _affiliation(who)}
    else:  # "Speaker 1", "SPEAKER_00": the one who speaks the company's script
        agents = {who for who, body in turns if _AGENT_SCRIPT.search(" ".join(body))}
    if not agents or not set(speakers) - agents:
        return None
    said = [" ".join(part for part in body if part) for who, body in turns if who not in agents]
    return [s for s in said if any(c.isalpha() for c in s)] or None  # not "Started: 10:02"


def _keep(parts: list[str], cfg: PieceConfig) -> list[str]:
    if len(parts) <= cfg.max_pieces:
        return parts
    head = cfg.max_pieces // 4
    return parts[:head] + parts[len(parts) - (cfg.max_pieces - head):]


def split_text(text: str, cfg: PieceConfig, turns: Sequence[str] | None = None) -> list[str]:
    """The pieces of one text: ``[text]`` when it is short, else the whole text first, then
    its windows. ``turns``: the customer's turns of a conversation (each a unit)."""
    return split_covered(text, cfg, turns)[0]


def split_covered(text: str, cfg: PieceConfig, turns: Sequence[str] | None = None
                  ) -> tuple[list[str], bool]:
    """:func:`split_text`'s pieces, and whether the windows cover the whole: true when
    there are windows and none was left out (``max_pieces``), so that the whole's words,
    split at whitespace (``str.split``), are the windows' words in order. Windows are cut
    only at whitespace (sentence gaps, line breaks, between words and turns), so an encoder
    whose tokens never cross whitespace can build the whole's tokens from theirs."""
    units = list(turns) if turns else customer_lines(text)
    if units is not None:  # a conversation: each customer turn is a piece of its own
        joined = " ".join(units)
        parts = [c for u in units for c in ([u] if len(u) <= cfg.window
                                             else _chunks(u, cfg.window))]
        if len(parts) <= 1:
            return ([joined] if joined else [text]), False
        kept = _keep(parts, cfg)
        return [joined] + kept, len(kept) == len(parts)
    if len(text) <= cfg.window:
        return [text], False
    parts = windows(sentences(text), cfg.window)
    kept = _keep(parts, cfg)
    return [text] + kept, len(kept) == len(parts) > 0
