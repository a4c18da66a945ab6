"""A valence lexicon's reading of a text, as head input columns next to the embedding.

VADER (Hutto and Gilbert 2014, ``vaderSentiment``): a hand-rated word list with rules for
negation, intensifiers, "but", capitals and exclamation marks. Its scores of a text,
``compound`` (-1 .. 1), and the shares ``pos``, ``neg`` and ``neu`` (0 .. 1, summing to 1 for
a text with any word), are a pure function of the text: no state, no vocabulary learned from
data. The heads read them, times ``LexicalConfig.valence_weight``, as the last input columns
(:mod:`models.features`). The lexicon and the package version are fingerprinted
(:data:`VALENCE_DIGEST`): heads trained with another VADER are refused at load time.

Cost: about 0.05 ms for a one-sentence text, 0.25 ms for a piece of the bench's texts
(mean 364 characters); VADER's rules rescan the text for each sentiment word, so a
3,000-character letter takes 3-20 ms depending on how many it holds. VADER first writes
each emoji out as words, and its cost grows with the square of their number (2,000 emoji:
about a second; a 10,000-character text of emoji held a worker for a minute), so it reads
at most :data:`MAX_EMOJI` emoji of a text, the first ones (:func:`bounded`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from importlib import metadata, resources
from typing import Any

import numpy as np

VALENCE_COLUMNS = ("compound", "pos", "neg", "neu")
_LEXICON_FILES = ("vader_lexicon.txt", "emoji_utf8_lexicon.txt")


def _digest() -> str:
    h = hashlib.sha256(metadata.version("vaderSentiment").encode())
    for name in _LEXICON_FILES:
        h.update(resources.files("vaderSentiment").joinpath(name).read_bytes())
    return h.hexdigest()[:16]


VALENCE_DIGEST = _digest()

_analyzer: Any = None
_lock = threading.Lock()
MAX_EMOJI = 64  # emoji VADER reads per text; no training text holds more than a few
_emoji_class: re.Pattern[str] | None = None


def _vader() -> Any:
    global _analyzer
    with _lock:
        if _analyzer is None:
            _analyzer = _linear_analyzer()
    return _analyzer


def _linear_analyzer() -> Any:
    """VADER's analyzer, with its two look-backs around a sentiment word reading the words
    around it instead of lower-casing the whole text each time: the same scores, in time
    linear in the text (a 10,000-character letter took 100 ms, a hostile one 0.5 s)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as Vader

    class LinearVader(Vader):  # type: ignore[misc]
        @staticmethod
        def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> Any:
            lo = max(0, i - 3)  # it reads words i-3 .. i
            return Vader._negation_check(valence, words[lo:i + 1], start_i, i - lo)

        @staticmethod
        def _special_idioms_check(valence: float, words: list[str], i: int) -> Any:
            lo = max(0, i - 3)  # it reads words i-3 .. i+2, and whether they exist
            return Vader._special_idioms_check(valence, words[lo:i + 3], i - lo)

    return LinearVader()


def _emoji() -> re.Pattern[str]:
    """The characters VADER writes out as words (its emoji lexicon's one-character keys:
    it looks characters up one at a time, so longer keys never match)."""
    global _emoji_class
    if _emoji_class is None:
        keys = sorted(k for k in _vader().emojis if len(k) == 1)
        _emoji_class = re.compile("[" + "".join(re.escape(k) for k in keys) + "]")
    return _emoji_class


def bounded(text: str) -> str:
    """``text`` with every emoji after the first :data:`MAX_EMOJI` removed (the text VADER
    reads); a text with fewer is returned as it is."""
    if text.isascii():
        return text
    pattern = _emoji()
    if len(pattern.findall(text)) <= MAX_EMOJI:
        return text
    seen = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen <= MAX_EMOJI else ""

    return pattern.sub(keep, text)


def check_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """``columns`` as a tuple, refusing an empty, repeated or unknown one."""
    cols = tuple(columns)
    if not cols or len(set(cols)) != len(cols) or not set(cols) <= set(VALENCE_COLUMNS):
        raise ValueError(f"valence columns {cols!r}: a non-empty selection of "
                         f"{VALENCE_COLUMNS} without repeats")
    return cols


def valence(texts: Sequence[str], columns: Sequence[str] = VALENCE_COLUMNS) -> np.ndarray:
    """``(n, len(columns))`` float32: VADER's scores of each text, one row per text (a row
    depends on its text only)."""
    cols = check_columns(columns)
    out = np.zeros((len(texts), len(cols)), np.float32)
    if not len(texts):
        return out
    analyzer = _vader()
    for i, text in enumerate(texts):
        scores = analyzer.polarity_scores(bounded(text))
        out[i] = [scores[c] for c in cols]
    return out
