"""Typo copies of training rows (models/augment.py) and how the heads train on them."""

from __future__ import annotations

import numpy as np
import pytest

from models.augment import TYPO_TAG, typo_copies, typo_variant
from models.datasets import Example, load_seed
from models.encoders import HashingEncoder
from models.heads import TrainConfig, fit_heads, in_validation, typo_rows, validation_mask


def _one_edit_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one letter dropped, doubled, replaced or swapped."""
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    return len(long_) == len(short) + 1 and any(
        long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def test_typo_variant_misspells_long_words_once_and_deterministically():
    text = "please cancel my account and refund the annual subscription fee now"
    assert typo_variant(text, 0.0) == text
    every = typo_variant(text, 1.0)
    assert every == typo_variant(text, 1.0)  # a function of the text
    for before, after in zip(text.split(" "), every.split(" "), strict=True):
        if len(before) < 4:
            assert after == before  # "my", "and", "the", "fee", "now" stay
        else:
            assert after == before or _one_edit_apart(before, after), (before, after)
    changed = sum(a != b for a, b in zip(text.split(" "), every.split(" "), strict=True))
    assert changed >= 5  # nearly every long word (a swap of two equal letters is no change)
    assert typo_variant("IBAN-1234 €50 ok", 1.0) == "IBAN-1234 €50 ok"  # not words


def test_typo_copies_come_from_training_rows_and_never_enter_validation():
    rows = [Example(f"please cancel subscription number {i} today", "seed", intent="explicit",
                    friction=("billing",), sentiment="negative", stage="billing")
            for i in range(200)]
    rows.append(Example("the delivery van never arrived today", "seed", friction=("delivery",)))
    cfg = TrainConfig(typo_rate=1.0)
    val = validation_mask(rows, cfg)
    assert 0 < val.sum() < len(rows)
    copies = typo_rows(rows, cfg)
    originals = {e.text for e, v in zip(rows, val, strict=True) if not v and e.intent}
    assert len(copies) == len(originals)  # every intent row differs at rate 1
    # the copies teach churn intent only: other labels are blanked, unlabelled rows skipped
    assert all(TYPO_TAG in c.tags and c.intent == "explicit" and c.source == "seed"
               and c.friction is None and c.sentiment is None and c.stage is None
               for c in copies)
    # a copy whose text hashes into the validation split still stays out of it
    assert any(in_validation(c.text, cfg.val_fraction) for c in copies)
    assert not validation_mask(copies, cfg).any()
    assert typo_copies(rows, 0.0, val.tolist()) == []
    assert typo_rows(rows, TrainConfig()) == []
    with pytest.raises(ValueError, match="typo_rate"):
        TrainConfig(typo_rate=1.5)


def test_fit_for_trains_on_the_copies_and_records_them(tmp_path):
    from models.evaluate import train_config_for
    from models.train import fit_for

    assert train_config_for("static").typo_rate == 1.0
    assert train_config_for("transformer").typo_rate == 0.0
    rows = [e for e in load_seed() if e.intent is not None]
    enc = HashingEncoder(dim=64)
    x = enc.encode([e.text for e in rows])
    cfg = TrainConfig(typo_rate=0.5)
    heads = fit_for(enc, rows, x, cfg, None)
    n = len(typo_rows(rows, cfg))
    assert n > 100 and heads.meta["training"] == {"intent_weighting": "source",
                                                  "typo_rate": 0.5, "typo_copies": n}
    plain = fit_for(enc, rows, x, TrainConfig(), None)
    assert plain.meta["training"]["typo_copies"] == 0
    assert not np.allclose(heads.intent.coef, plain.intent.coef)  # the copies were used
    # validation (and so calibration) is the same real rows either way
    again = fit_heads(np.vstack([x, enc.encode([e.text for e in typo_rows(rows, cfg)])]),
                      rows + typo_rows(rows, cfg), enc.name, cfg)
    assert np.array_equal(again.intent.coef, heads.intent.coef)
