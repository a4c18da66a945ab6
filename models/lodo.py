"""Leave-one-domain-out evaluation: what a deployment in an unseen domain gets.

Each English domain is held out in turn: both paths are trained with their recipe on every
other domain's training rows (plus the taxonomy examples) and score the held-out domain's
test rows as served (pieces, pooling, leaving cues: :func:`models.recipe.score_texts`). The
cascade routes with the manifest's rule over those two fold models. The non-English sets are
scored by the paths trained on every English domain and reported apart. Baselines: VADER,
keyword rules, zero-shot similarity to the taxonomy's descriptions. With adaptation on, each
held-out real domain's fold model is also adapted (:mod:`models.adapt`) on 8 rows per label
from that domain's *training* split and scored again on the same test rows.

Measures per domain (where its labels allow): friction present F1, friction category
macro-F1, sentiment AUC (negative vs the rest), explicit churn F1, any churn risk F1,
journey stage accuracy, and the share of texts over 2,000 characters with friction found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import FRICTION_CATEGORIES
from models.datasets import Example
from models.embcache import embed
from models.encoders import Encoder
from models.heads import Heads, fit_heads
from models.realdata import hash_unit
from models.recipe import CascadeRule, PooledScores, Recipe, score_texts

ENGLISH_DOMAINS = ("banking77", "clinc150", "bitext", "restaurant", "apparel", "telecom",
                   "apps", "seed")
REAL_DOMAINS = ("restaurant", "apparel", "telecom", "apps")
FOREIGN_DOMAINS = ("rail_de", "hotels_ca", "hotels_eu")
CATEGORY_DOMAINS = frozenset({"banking77", "clinc150", "bitext", "restaurant", "seed"})
LONG_CHARS = 2000
MEASURES = ("friction_present_f1", "friction_category_macro_f1", "sentiment_auc",
            "explicit_f1", "churn_risk_f1", "stage_accuracy")
ADAPT_ROWS_PER_LABEL = 8
ADAPT_DRAWS = 3  # the adapted column is the mean over this many draws of the rows


@dataclass
class Domain:
    name: str
    train: list[Example]
    test: list[Example]


class CachedEmbeddings:
    """An encoder that reads and fills the on-disk embedding cache (evaluation only)."""

    def __init__(self, inner: Encoder, cache_dir: Path | None) -> None:
        self.inner, self.cache_dir = inner, cache_dir
        self.name, self.dim = inner.name, inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return embed(self.inner, list(texts), self.cache_dir)


def capped(rows: Sequence[Example], limit: int | None) -> list[Example]:
    """At most ``limit`` rows, chosen by a hash of the text (deterministic)."""
    if not limit or len(rows) <= limit:
        return list(rows)
    return sorted(rows, key=lambda e: hash_unit("limit" + e.text))[:limit]


def load_domains(data_root: Path | None, seed: Sequence[Example],
                 limit: int | None = None) -> dict[str, Domain]:
    """Every domain that is available: the query sets, the real review and complaint sets
    (``models.realdata``) and the seed set (its rows are both its training and test rows:
    it is only ever evaluated held out)."""
    from models.datasets import load_public
    from models.realdata import REAL_LOADERS
    from models.train import cap_per_label, test_rows, train_rows

    out: dict[str, Domain] = {}
    if data_root is not None:
        for name, rows in load_public(data_root).items():
            test = rows if name == "bitext" else test_rows(name, rows)
            out[name] = Domain(name, cap_per_label(train_rows(name, rows), 40),
                               capped(test, limit))
        for name, loader in REAL_LOADERS.items():
            rows = loader(data_root)
            out[name] = Domain(name, [e for e in rows if e.split == "train"],
                               capped([e for e in rows if e.split == "test"], limit))
    out["seed"] = Domain("seed", list(seed), list(seed))
    return out


def training_pool(domains: dict[str, Domain], taxonomy_rows: Sequence[Example],
                  exclude: str | None = None) -> list[Example]:
    """Training rows of every English domain but ``exclude``, plus the taxonomy examples."""
    rows = list(taxonomy_rows)
    for name in ENGLISH_DOMAINS:
        if name in domains and name != exclude:
            rows += domains[name].train
    return rows


@dataclass
class FittedPath:
    """One path trained with its recipe: its heads, the encoder they read (a tuned static
    encoder when the recipe tunes the table) and the tuned table, if any."""

    heads: Heads
    encoder: Encoder
    table: Any = None


def fit_path(recipe: Recipe, encoder: Encoder, rows: Sequence[Example],
             target: Encoder | None = None) -> FittedPath:
    """One path trained on ``rows`` with its recipe. With ``recipe.tuned_table`` the static
    encoder's table is first tuned on the rows' texts towards ``target``'s embeddings (the
    transformer) and the heads read the tuned embedding."""
    table = None
    if recipe.tuned_table:
        from models.tokentune import TunedStaticEncoder, tune_on

        if target is None:
            raise ValueError("a tuned table needs the transformer's embeddings as targets")
        base = getattr(encoder, "inner", encoder)
        table = tune_on(base, target, [e.text for e in rows])
        encoder = TunedStaticEncoder.from_base(base, table)
    emb = encoder.encode([e.text for e in rows])
    return FittedPath(fit_heads(emb, list(rows), encoder.name, recipe.train, recipe.lexical),
                      encoder, table)


def score_rows(recipe: Recipe, encoder: Encoder, heads: Heads, rows: Sequence[Example]
               ) -> PooledScores:
    """The rows scored as served (the rules of ``models.classifier.apply_rules`` included)."""
    from models.classifier import apply_rules
    from models.language import is_english

    texts = [e.text for e in rows]
    scores = score_texts(texts, encoder, heads, recipe)
    english = [is_english(t, None) for t in texts]
    apply_rules(texts, scores, english, [None] * len(texts), recipe.leaving_cues)
    return scores


# ---- measures -----------------------------------------------------------------------------

def f1(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    g, p = np.asarray(gold, bool), np.asarray(pred, bool)
    tp = int((g & p).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + int((~g & p).sum()) + int((g & ~p).sum()))


def auc(gold: Sequence[bool], score: Sequence[float] | np.ndarray) -> float | None:
    """ROC AUC (ties count half); None without both classes."""
    g, s = np.asarray(gold, bool), np.asarray(score, np.float64)
    pos, neg = s[g], s[~g]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(allv):  # average ranks of ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2)
                 / (len(pos) * len(neg)))


@dataclass
class Predictions:
    """One system's decisions on a domain's rows (None: the system does not do that task)."""

    present: list[bool] | None = None
    categories: list[tuple[str, ...]] | None = None
    negative: np.ndarray | None = None  # a score that ranks negative sentiment
    intent: list[str] | None = None
    stage: list[str] | None = None


def from_scores(s: PooledScores) -> Predictions:
    return Predictions([bool(c) for c in s.friction_labels], list(s.friction_labels),
                       s.sentiment[:, 0] - s.sentiment[:, 2], list(s.intent_labels),
                       [s.stage_labels[j] for j in s.stage.argmax(axis=1)])


def measure(domain: str, rows: Sequence[Example], p: Predictions) -> dict[str, float]:
    """The measures this domain's labels allow for this system (friction categories only
    for the domains labelled by category, and for a user's own rows)."""
    out: dict[str, float] = {}
    idx = [i for i, e in enumerate(rows) if e.friction_present is not None]
    if idx and p.present is not None:
        out["friction_present_f1"] = f1([bool(rows[i].friction_present) for i in idx],
                                        [p.present[i] for i in idx])
        long = [i for i in idx if len(rows[i].text) > LONG_CHARS and rows[i].friction_present]
        if long:
            out["long_friction_found"] = float(np.mean([p.present[i] for i in long]))
            out["long_rows"] = float(len(long))
    idx = [i for i, e in enumerate(rows) if e.friction is not None]
    if (domain in CATEGORY_DOMAINS or domain == "user") and idx and p.categories is not None:
        cats = p.categories
        fs = [f1([c in (rows[i].friction or ()) for i in idx], [c in cats[i] for i in idx])
              for c in FRICTION_CATEGORIES if any(c in (rows[i].friction or ()) for i in idx)]
        if fs:
            out["friction_category_macro_f1"] = float(np.mean(fs))
    idx = [i for i, e in enumerate(rows) if e.sentiment is not None]
    if idx and p.negative is not None:
        a = auc([rows[i].sentiment == "negative" for i in idx], p.negative[idx])
        if a is not None:
            out["sentiment_auc"] = a
    idx = [i for i, e in enumerate(rows) if e.intent is not None]
    if idx and p.intent is not None and any(rows[i].intent == "explicit" for i in idx):
        out["explicit_f1"] = f1([rows[i].intent == "explicit" for i in idx],
                                [p.intent[i] == "explicit" for i in idx])
        if any(rows[i].intent == "at_risk" for i in idx):
            out["churn_risk_f1"] = f1([rows[i].intent != "none" for i in idx],
                                      [p.intent[i] != "none" for i in idx])
    idx = [i for i, e in enumerate(rows) if e.stage is not None]
    if idx and p.stage is not None:
        out["stage_accuracy"] = float(np.mean([p.stage[i] == rows[i].stage for i in idx]))
    return {k: round(v, 4) for k, v in out.items()}


def baselines(rows: Sequence[Example], zero_shot: Any, emb: np.ndarray | None
              ) -> dict[str, Predictions]:
    from models.baselines import keyword_friction, keyword_intent, keyword_stage, vader_compound

    texts = [e.text for e in rows]
    comp = vader_compound(texts)
    kw = keyword_friction(texts)
    out = {"vader": Predictions(present=[c <= -0.05 for c in comp], negative=-comp),
           "keywords": Predictions([bool(c) for c in kw], kw, None, keyword_intent(texts),
                                   keyword_stage(texts))}
    if zero_shot is not None and emb is not None:
        z = zero_shot.predict(emb)
        cats = z["friction"][1]
        out["zero_shot"] = Predictions([bool(c) for c in cats], cats,
                                       z["sentiment"][0][:, 0] - z["sentiment"][0][:, 2],
                                       z["intent"][1], z["stage"][1])
    return out


def adaptation_rows(domain: Domain, draw: int = 0) -> list[Example]:
    """8 rows per label of the domain's training split (by category where it has them,
    else by friction present / not), chosen by a hash of the text salted by ``draw``; never
    test rows."""
    salt = "adapt" if draw == 0 else f"adapt-{draw}"
    ranked = sorted(domain.train, key=lambda e: hash_unit(salt + e.text))
    picked: list[Example] = []
    keys = ([(c,) for c in FRICTION_CATEGORIES] + [()]
            if domain.name in CATEGORY_DOMAINS else [True, False])
    for key in keys:
        if isinstance(key, tuple):
            match = [e for e in ranked if e.friction is not None
                     and (key[0] in e.friction if key else not e.friction)]
        else:
            match = [e for e in ranked if e.friction_present is key]
        picked += [e for e in match[:ADAPT_ROWS_PER_LABEL] if e not in picked]
    return picked


def macro(per_domain: dict[str, dict[str, Any]], system: str, domains: Sequence[str]
          ) -> dict[str, float]:
    """Each measure's mean over the domains that have it."""
    out = {}
    for m in MEASURES:
        vals = [per_domain[d][system][m] for d in domains
                if d in per_domain and m in per_domain[d].get(system, {})]
        if vals:
            out[m] = round(float(np.mean(vals)), 4)
    return out


def cascade_scores(static: PooledScores, strong: PooledScores, static_heads: Heads,
                   rule: CascadeRule) -> tuple[PooledScores, float]:
    """The cascade's scores given both paths' scores of the same rows, and its routed share
    (scoring every row with both and merging gives what routing the mask alone would)."""
    from models.cascade import merge, route_mask

    mask = route_mask(static, static_heads, rule)
    sub = replace(strong, intent=strong.intent[mask], friction=strong.friction[mask],
                  sentiment=strong.sentiment[mask], stage=strong.stage[mask],
                  intent_labels=[x for x, k in zip(strong.intent_labels, mask, strict=True) if k],
                  friction_labels=[x for x, k in zip(strong.friction_labels, mask, strict=True)
                                   if k],
                  evidence=[x for x, k in zip(strong.evidence, mask, strict=True) if k],
                  presence=strong.presence[mask])
    return merge(static, sub, mask), float(mask.mean()) if len(mask) else 0.0
