"""Real customer text from review and complaint domains, mapped onto the taxonomy.

Read from ``../shared/data`` (never copied into the repository). None of these sets labels
churn intent or journey stage: those tasks stay unlabelled (``None``) for their rows. The
mapping is the project's own and is documented in ``docs/models.md``:

* ``mams_restaurant_absa`` (domain *restaurant*): aspect categories with polarity per
  sentence. A negative aspect is friction: food, menu, ambience, place -> product; service,
  staff -> service; price -> billing; miscellaneous -> friction present, category unknown.
  Sentiment: any negative aspect -> negative; else any positive -> positive; else neutral.
* ``womens_clothing_reviews`` (domain *apparel*): weak labels from the rating. 1-2 stars:
  product friction (the data's README: fit/size and fabric/quality about half each, returns
  in about a fifth, shipping rarely, service almost never), negative; 5 stars and
  recommended: no friction, positive; 3-4 stars: unlabelled for friction (mixed), 4 stars
  positive for sentiment.
* ``comcast_fcc_complaints`` (domain *telecom*): every row is a complaint filed with a
  regulator: friction present (category unknown), negative. ``consumer_text`` (without the
  FCC boilerplate). Its "cancel" talk is not labelled as churn.
* ``app_reviews_feature_sentiment`` (domain *apps*): a sentence with a negative feature has
  friction and is negative; one with positive features only has none and is positive; the
  rest (neutral features, none named) is unlabelled.
* Evaluation only, never training (licence or language): ``germeval2017_db_feedback``
  (German rail feedback; relevant documents; friction = a negative opinion; document
  sentiment) and ``multibooked_hotels_ca_eu`` (Catalan/Basque hotel sentences; friction = a
  negative opinion; sentiment negative when any opinion is negative, positive otherwise).

Splits: the published split where there is one; otherwise a hash of the text puts 25% in
``test`` (half, for the small app-review set). Large sets are capped deterministically (by
the same hash) to keep training and evaluation to minutes on two cores.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from models.datasets import Example

MAMS_CATEGORY = {"food": "product", "menu": "product", "ambience": "product",
                 "place": "product", "service": "service", "staff": "service",
                 "price": "billing"}
REAL_DOMAINS: tuple[str, ...] = ("restaurant", "apparel", "telecom", "apps")
FOREIGN_DOMAINS: tuple[str, ...] = ("rail_de", "hotels_ca", "hotels_eu")
TEST_SHARE = 0.25
APPS_TEST_SHARE = 0.5  # a small set (399 labelled sentences): half of it is held out
APPAREL_CAP = {"train": 3000, "test": 1200}
COMCAST_CAP = {"train": 1200, "test": 600}
RAIL_CAP = 1200


def hash_unit(text: str) -> float:
    """A stable number in [0, 1) from the text (split and sampling decisions)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little") / 2**32


def _split(text: str, share: float = TEST_SHARE) -> str:
    return "test" if hash_unit(text) < share else "train"


def _capped(rows: list[Example], caps: dict[str, int]) -> list[Example]:
    """At most ``caps[split]`` rows per split, chosen by the text's hash (not by order)."""
    out: list[Example] = []
    for split, cap in caps.items():
        part = sorted((r for r in rows if r.split == split),
                      key=lambda r: hash_unit("cap" + r.text))
        out.extend(part[:cap])
    return out


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_mams(root: Path) -> list[Example]:
    """MAMS restaurant sentences (train + val as ``train``, test as ``test``)."""
    out = []
    for name, split in (("train", "train"), ("val", "train"), ("test", "test")):
        for row in _jsonl(root / "mams_restaurant_absa" / f"{name}.jsonl"):
            aspects = row["aspects"]
            assert isinstance(aspects, list)
            negative = [a["category"] for a in aspects if a["polarity"] == "negative"]
            positive = [a["category"] for a in aspects if a["polarity"] == "positive"]
            categories = tuple(sorted({MAMS_CATEGORY[c] for c in negative
                                       if c in MAMS_CATEGORY}))
            sentiment = "negative" if negative else "positive" if positive else "neutral"
            out.append(Example(
                text=str(row["text"]), source="restaurant", split=split,
                friction=categories if categories or not negative else None,
                presence=bool(negative), sentiment=sentiment,
                original_label=",".join(f"{a['category']}:{a['polarity']}" for a in aspects)))
    return out


def load_apparel(root: Path) -> list[Example]:
    """Women's clothing reviews: title + text, weak labels from the rating."""
    path = root / "womens_clothing_reviews" / "womens_clothing_ecommerce_reviews.csv"
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            body = (row.get("Review Text") or "").strip()
            if not body:
                continue
            title = (row.get("Title") or "").strip()
            text = f"{title}. {body}" if title else body
            rating, recommended = int(row["Rating"]), row["Recommended IND"] == "1"
            presence: bool | None = None
            if rating <= 2:
                presence = True
            elif rating == 5 and recommended:
                presence = False
            sentiment = "negative" if rating <= 2 else "positive" if rating >= 4 else None
            out.append(Example(
                text=text, source="apparel", split=_split(text),
                friction=() if presence is False else ("product",) if presence else None,
                presence=presence,
                sentiment=sentiment, original_label=f"rating:{rating}"))
    return _capped(out, APPAREL_CAP)


def load_comcast(root: Path) -> list[Example]:
    """Comcast complaints to the FCC: every one is friction, all negative."""
    path = root / "comcast_fcc_complaints" / "fcc_complaint_descriptions.csv"
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("consumer_text") or "").strip()
            if len(text) < 20:
                continue
            out.append(Example(
                text=text, source="telecom", split=_split(text), friction=None,
                presence=True, sentiment="negative", original_label="complaint",
                tags=("long",) if len(text) > 2000 else ()))
    return _capped(out, COMCAST_CAP)


def load_apps(root: Path) -> list[Example]:
    """App-store review sentences with feature-level sentiment."""
    out = []
    for row in _jsonl(root / "app_reviews_feature_sentiment" / "app_review_sentences.jsonl"):
        text = str(row["text"]).strip()
        if not text:
            continue
        negative, positive = row["features_negative"], row["features_positive"]
        presence: bool | None = True if negative else False if positive else None
        sentiment = "negative" if negative else "positive" if positive else None
        if presence is None:
            continue
        out.append(Example(
            text=text, source="apps", split=_split(text, APPS_TEST_SHARE),
            friction=() if presence is False else None, presence=presence,
            sentiment=sentiment, original_label=str(row["app_name"])))
    return out


def load_rail_de(root: Path) -> list[Example]:
    """GermEval 2017 (German rail feedback), relevant documents of the synchronic test set."""
    out = []
    for row in _jsonl(root / "germeval2017_db_feedback" / "test_syn.jsonl"):
        if not row.get("relevance"):
            continue
        opinions = row.get("opinions") or []
        assert isinstance(opinions, list)
        negative = any(o.get("polarity") == "negative" for o in opinions)
        out.append(Example(
            text=str(row["text"]), source="rail_de", split="test",
            friction=() if not negative else None, presence=negative,
            sentiment=str(row["sentiment"]), original_label=str(row.get("channel", ""))))
    return _capped(out, {"test": RAIL_CAP})


def _load_hotels(root: Path, lang: str) -> list[Example]:
    out = []
    for row in _jsonl(root / "multibooked_hotels_ca_eu" / f"{lang}_test.jsonl"):
        opinions = row.get("opinions") or []
        assert isinstance(opinions, list)
        if not opinions:
            continue
        negative = any(o.get("Polarity") == "Negative" for o in opinions)
        out.append(Example(
            text=str(row["text"]), source=f"hotels_{lang}", split="test",
            friction=() if not negative else None, presence=negative,
            sentiment="negative" if negative else "positive", original_label=lang))
    return out


REAL_LOADERS: dict[str, Callable[[Path], list[Example]]] = {
    "restaurant": load_mams, "apparel": load_apparel, "telecom": load_comcast,
    "apps": load_apps, "rail_de": load_rail_de,
    "hotels_ca": lambda root: _load_hotels(root, "ca"),
    "hotels_eu": lambda root: _load_hotels(root, "eu"),
}
