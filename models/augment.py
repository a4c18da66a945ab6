"""Typo copies of training rows, for heads that must read misspelled text.

Customers misspell ("cancel my acount", "deleet my profile"), and the static path reads
words and character n-grams of the exact spelling: a typo breaks a content pair ("cancel
account"), the churn-intent cue (a cancel verb before "account") and the distilled token
vector of the word. Each training row with a churn-intent label gets one copy, carrying that
label only, in which every word of four or more letters is, with probability ``rate``,
changed once: a letter dropped, two neighbours swapped, a letter doubled or one replaced.
The change is a pure function of the text (a hash seeds it), so training stays
deterministic. Copies come only from rows outside the validation split and never enter it
(the tag :data:`TYPO_TAG` keeps them out), so the probabilities are still calibrated on
real text.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Sequence
from dataclasses import replace

from models.datasets import Example

TYPO_TAG = "typo-copy"


def typo_variant(text: str, rate: float) -> str:
    """``text`` with some words misspelled once (deterministic for a given text and rate)."""
    rng = random.Random(int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8],
                                       "little"))
    words = text.split(" ")
    for k, word in enumerate(words):
        if len(word) < 4 or not word.isalpha() or rng.random() >= rate:
            continue
        i = rng.randrange(1, len(word) - 1)
        op = rng.randrange(4)
        if op == 0:  # drop
            word = word[:i] + word[i + 1:]
        elif op == 1:  # swap with the next letter
            word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif op == 2:  # double
            word = word[:i] + word[i] + word[i:]
        else:  # replace
            word = word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]
        words[k] = word
    return " ".join(words)


def typo_copies(rows: Sequence[Example], rate: float, in_validation: Sequence[bool]
                ) -> list[Example]:
    """One misspelled copy (tagged :data:`TYPO_TAG`, same source) of each row with a churn
    intent label outside the validation split whose copy differs from it; none when
    ``rate`` is 0. The copies carry the intent label only: they are there for the churn
    intent head (on the seed set's cross-validation, copies with every label cost the
    distilled heads up to 6 points of friction and 2 of journey stage, docs/models.md)."""
    if rate <= 0:
        return []
    out = []
    for row, val in zip(rows, in_validation, strict=True):
        if val or row.intent is None:
            continue
        text = typo_variant(row.text, rate)
        if text != row.text:
            out.append(replace(row, text=text, friction=None, sentiment=None, stage=None,
                               tags=(*row.tags, TYPO_TAG)))
    return out
