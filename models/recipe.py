"""One declared recipe per served path, which serving, training and evaluation all build from.

A model folder holds ``manifest.json``: the default path, one :class:`Recipe` per path
(``transformer``, ``static``) and the cascade's routing rule. A recipe names the encoder,
the lexical features next to the embedding, how texts are split into pieces
(:mod:`models.pieces`), how piece scores are pooled per event, the training settings and
whether the leaving cues for other languages apply (:mod:`models.multilingual`).
``churn-detector train`` writes it, :func:`models.build_classifier` serves from it, and
``churn-detector eval`` trains and scores each fold with it: :func:`score_texts` is the one
scoring function all three call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detector.signals import INTENTS
from models.answers import empty_answer, phatic
from models.cues import cue_sentences, holds_cue, leaving_quote
from models.encoders import Encoder, encode_pieces
from models.features import LexicalConfig, lexical_features
from models.heads import Heads, HeadScores, TrainConfig
from models.idioms import as_meant
from models.pieces import PieceConfig, customer_lines, has_words, plain, split_covered

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "churn-manifest/1"
PATHS = ("transformer", "static")
SENTIMENT_POOLS = ("whole", "mean", "max")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides how one path turns texts into scores."""

    path: str  # transformer | static
    encoder: str  # the encoder kind (models.encoders.build_encoder)
    lexical: LexicalConfig | None
    pieces: PieceConfig = field(default_factory=PieceConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # how the pieces' P(negative) becomes the event's: the whole text's, the mean, the max
    sentiment_pool: str = "mean"
    leaving_cues: bool = True  # explicit requests to leave in other languages (cue lists)
    # the static encoder's token vectors tuned towards the transformer's embeddings of the
    # training texts (models.tokentune); the heads then read the tuned embedding
    tuned_table: bool = False
    # a message's sentences holding a leaving cue are also read on their own, for churn
    # intent (models.cues.cue_sentences)
    cue_sentences: bool = False

    def __post_init__(self) -> None:
        if self.sentiment_pool not in SENTIMENT_POOLS:
            raise ValueError(f"sentiment_pool {self.sentiment_pool!r} not in {SENTIMENT_POOLS}")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "encoder": self.encoder,
                "lexical": self.lexical.to_dict() if self.lexical is not None else None,
                "pieces": self.pieces.to_dict(), "train": asdict(self.train),
                "sentiment_pool": self.sentiment_pool, "leaving_cues": self.leaving_cues,
                "tuned_table": self.tuned_table, "cue_sentences": self.cue_sentences}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        lexical = LexicalConfig.from_dict(d["lexical"]) if d.get("lexical") else None
        return cls(path=d["path"], encoder=d["encoder"], lexical=lexical,
                   pieces=PieceConfig(**d.get("pieces", {})),
                   train=TrainConfig(**d.get("train", {})),
                   sentiment_pool=d.get("sentiment_pool", "mean"),
                   leaving_cues=bool(d.get("leaving_cues", True)),
                   tuned_table=bool(d.get("tuned_table", False)),
                   cue_sentences=bool(d.get("cue_sentences", False)))


@dataclass(frozen=True)
class CascadeRule:
    """The cascade sends an event to the transformer when the static path is unsure of it:
    its presence probability within ``band`` of the presence threshold, or its churn
    probability at least ``churn``. Chosen on training-domain folds (docs/models.md)."""

    band: float = 0.35
    churn: float = 1.01  # above 1: never routed for churn alone


@dataclass(frozen=True)
class Manifest:
    default: str
    recipes: dict[str, Recipe]
    cascade: CascadeRule = field(default_factory=CascadeRule)
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        body = {"format": MANIFEST_FORMAT, "default": self.default,
                "recipes": {k: r.to_dict() for k, r in sorted(self.recipes.items())},
                "cascade": asdict(self.cascade), **self.meta}
        (folder / MANIFEST_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def load_manifest(folder: Path) -> Manifest:
    """The manifest of a model folder; refuses another format."""
    body = json.loads((folder / MANIFEST_FILE).read_text("utf-8"))
    if body.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{folder / MANIFEST_FILE}: format {body.get('format')!r}, expected "
                         f"{MANIFEST_FORMAT}")
    meta = {k: v for k, v in body.items()
            if k not in ("format", "default", "recipes", "cascade")}
    try:
        return Manifest(body["default"],
                        {k: Recipe.from_dict(v) for k, v in body["recipes"].items()},
                        CascadeRule(**body.get("cascade", {})), meta)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{folder / MANIFEST_FILE}: not a recipe this version reads ({exc}); "
                         "retrain with `churn-detector train`") from None


def has_manifest(folder: Path) -> bool:
    return (folder / MANIFEST_FILE).is_file()


@dataclass
class PooledScores:
    """One batch's scores per event, pooled over its pieces."""

    intent: np.ndarray  # (n, 3) in INTENTS order
    intent_labels: list[str]
    friction: np.ndarray  # (n, 9)
    friction_labels: list[tuple[str, ...]]
    presence: np.ndarray  # (n,) P(any friction)
    sentiment: np.ndarray  # (n, 3) negative, neutral, positive
    stage: np.ndarray  # (n, 7)
    stage_labels: tuple[str, ...]
    evidence: list[str]  # the piece each event's decision rests on
    emb: np.ndarray  # (n, d) the embedding of each event's first piece (its whole text)
    unread: np.ndarray  # (n,) bool: nothing to read in the whole text, scored as saying nothing


@dataclass
class Pieces:
    """A batch's pieces, flat: the text each belongs to, and for each long text whose
    windows cover it (:func:`models.pieces.split_covered`) the flat index of its whole
    piece and the indices of its windows. A text's cue sentences
    (:func:`models.cues.cue_sentences`) come after its windows, marked ``intent_only``; an
    alert quotes the turn or window that holds one (``quoted``)."""

    flat: list[str]
    owner: np.ndarray  # (pieces,) int64
    wholes: dict[int, range]
    intent_only: np.ndarray  # (pieces,) bool: read for churn intent only
    quoted: np.ndarray  # (pieces,) int64: the piece an alert quotes for it (itself, mostly)


def split_batch(texts: Sequence[str], turns: Sequence[Sequence[str] | None] | None,
                cfg: PieceConfig, with_cue_sentences: bool = False) -> Pieces:
    """All pieces of a batch (see :class:`Pieces`); with ``with_cue_sentences``, each
    text's cue sentences that are not a piece already."""
    flat: list[str] = []
    owner: list[int] = []
    wholes: dict[int, range] = {}
    extra: list[int] = []
    quoted: list[int] = []
    for i, text in enumerate(texts):
        said = turns[i] if turns is not None else None
        parts, covered = split_covered(text, cfg, said)
        if covered:
            wholes[len(flat)] = range(len(flat) + 1, len(flat) + len(parts))
        quoted += range(len(flat), len(flat) + len(parts))
        if with_cue_sentences:
            units = said or customer_lines(text) or [text]
            cues = [c for c in dict.fromkeys(cue_sentences(units)) if c not in parts]
            extra += range(len(flat) + len(parts), len(flat) + len(parts) + len(cues))
            # quoted in its turn or window (the last that holds it), else in the whole text
            quoted += [len(flat) + next((k for k in range(len(parts) - 1, 0, -1)
                                         if c in parts[k]), 0) for c in cues]
            parts = parts + cues
        flat += parts
        owner += [i] * len(parts)
    intent_only = np.zeros(len(flat), bool)
    intent_only[extra] = True
    return Pieces(flat, np.asarray(owner, dtype=np.int64), wholes, intent_only,
                  np.asarray(quoted, dtype=np.int64))


def pieces_of(texts: Sequence[str], turns: Sequence[Sequence[str] | None] | None,
              cfg: PieceConfig) -> tuple[list[str], np.ndarray]:
    """All pieces of a batch, flat, and the index of the text each belongs to."""
    batch = split_batch(texts, turns, cfg)
    return batch.flat, batch.owner


def _segment_max(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.full((n,) + values.shape[1:], -np.inf)
    np.maximum.at(out, owner, values)
    return out


def _segment_argmax(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """For each text, the flat index of its piece with the largest value (first on ties)."""
    order = np.lexsort((-values, owner))  # by owner, then value descending
    first = np.ones(len(order), bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    best = np.zeros(n, dtype=np.int64)
    best[owner[order][first]] = order[first]
    return best


def silence(hs: HeadScores, rows: np.ndarray) -> HeadScores:
    """The head outputs with the masked rows read as saying nothing: intent ``none``, no
    friction, neutral sentiment (the stage head's reading is kept)."""
    intent, friction = hs.intent.copy(), hs.friction.copy()
    presence, sentiment = hs.presence.copy(), hs.sentiment.copy()
    intent[rows] = np.eye(len(INTENTS))[INTENTS.index("none")]
    friction[rows] = 0.0
    presence[rows] = 0.0
    sentiment[rows] = (0.0, 1.0, 0.0)  # negative, neutral, positive
    return HeadScores(intent, friction, presence, sentiment, hs.stage)


def score_texts(texts: Sequence[str], encoder: Encoder, heads: Heads, recipe: Recipe,
                turns: Sequence[Sequence[str] | None] | None = None,
                conversational: Sequence[bool] | None = None) -> PooledScores:
    """Score a batch: split each text into pieces, embed every piece in one encoder call
    (their :func:`~models.pieces.plain` words; :func:`~models.encoders.encode_pieces`: an
    encoder that can build a long text's embedding from its windows' tokens, and so do the
    lexical features), run every head once over all pieces, then pool per text. Friction,
    presence and churn intent take the strongest piece (a letter that complains in one
    paragraph complains; one that asks to leave in one sentence asks to leave: a piece that
    holds a leaving cue and is read ``explicit`` outranks every other); sentiment pools as
    the recipe says; the stage reads the whole text. The evidence is the piece that carries
    the churn decision when the text is decided at risk or explicit, else the one most
    likely to hold friction when it has friction, else the whole text; a turn or window is
    preferred to the whole text when it carries the decision by itself, and of a churn
    decision's piece longer than an alert quotes, the sentences that hold the leaving cue
    (:func:`~models.cues.leaving_quote`).
    With ``recipe.cue_sentences``, a text's sentences that hold a leaving cue are also read
    on their own, for churn intent only; one that decides is quoted in its turn or window
    (or text) as above. A piece with nothing to read (no letter or digit, an empty answer,
    talk about the talk inside a text or in a whole ``conversational`` one: a chat or call
    message) is scored as saying nothing (:mod:`models.answers`). Idioms the models read
    backwards ("can't fault it", "one star.") are read as meant (:mod:`models.idioms`)."""
    n = len(texts)
    batch = split_batch(texts, turns, recipe.pieces, recipe.cue_sentences)
    flat, owner, cue = batch.flat, batch.owner, batch.intent_only
    read = [plain(piece) for piece in flat]  # the evidence quotes ``flat``
    meant = [as_meant(r) for r in read]  # "can't fault it" read as "very good it"
    emb = encode_pieces(encoder, meant, batch.wholes)
    lexical = getattr(heads, "lexical", None)
    if lexical is not None:  # a long text's tokens and words are its windows'
        hs = heads.scores(emb, meant, lexical_features(meant, lexical, batch.wholes))
    else:
        hs = heads.scores(emb, meant)
    first = np.zeros(n, dtype=np.int64)
    first[owner[::-1]] = np.arange(len(owner))[::-1]  # each text's first piece
    inner = np.ones(len(flat), bool)
    inner[first] = False
    talk = inner.copy()  # where talk about the talk says nothing: turns, windows, chat lines
    if conversational is not None:
        talk[first] = np.asarray(conversational, bool)
    # nothing to read: a link, a handle, "N/A", "Nope, that's it."; in a turn, a window or a
    # chat or call message also talk about the talk ("Bye.", "Mm-hmm."): no churn, no
    # friction, neutral
    blank = np.fromiter((not has_words(r) or (phatic(r) if said else empty_answer(r))
                         for r, said in zip(read, talk.tolist(), strict=True)),
                        bool, len(read))
    if blank.any():
        hs = silence(hs, blank)
    # the piece that carries the churn decision: one that holds a leaving cue and is read as
    # a request to leave (the most certain), else the one most likely to signal leaving at
    # all. Read whole, a message can be more likely at risk (0.98) than its request to leave
    # read alone (0.96, explicit 0.69): "That's the fourth outage. Cancel the contract,
    # I'm going to Virgin." A piece without a cue does not outrank: the explicit readings
    # of windows such as "This is the third time I am writing about this." are noise.
    p_explicit = hs.intent[:, INTENTS.index("explicit")]
    churn = 1.0 - hs.intent[:, INTENTS.index("none")]
    decides = np.flatnonzero(p_explicit >= 0.5).tolist()
    asks = [k for k in decides if cue[k] or holds_cue(flat[k])]
    churn[asks] = 1.0 + p_explicit[asks]
    top_churn = _segment_argmax(churn, owner, n)
    intent = hs.intent[top_churn]
    # a cue sentence is read for churn intent only: the rest pools the text's other pieces
    # (each text's first piece is never a cue sentence)
    friction = _segment_max(np.where(cue[:, None], 0.0, hs.friction), owner, n)
    presence = _segment_max(np.where(cue, 0.0, hs.presence), owner, n)
    top_friction = _segment_argmax(np.where(cue, -1.0, hs.presence), owner, n)
    ps = hs.sentiment
    if recipe.sentiment_pool == "whole":
        sentiment = ps[first]
    elif recipe.sentiment_pool == "max":
        sentiment = ps[_segment_argmax(np.where(cue, -1.0, ps[:, 0]), owner, n)]
    else:
        kept = (~cue).astype(np.float64)
        counts = np.bincount(owner, weights=kept, minlength=n)
        sentiment = np.zeros((n, ps.shape[1]))
        np.add.at(sentiment, owner, ps * kept[:, None])
        sentiment /= counts[:, None]
    labels = heads.decide_friction(friction, presence)
    intent_labels = heads.decide_intent(intent)
    # evidence: a piece of its own (a turn, a window) rather than the whole, when it carries
    # the decision too
    piece_intent = heads.decide_intent(hs.intent)
    part_churn = _segment_argmax(np.where(inner, churn, -1.0), owner, n)
    part_friction = _segment_argmax(np.where(inner & ~cue, hs.presence, -1.0), owner, n)
    evidence = []
    for i in range(n):
        if intent_labels[i] != "none":
            j = part_churn[i]
            k = j if inner[j] and piece_intent[j] != "none" else top_churn[i]
            evidence.append(leaving_quote(flat[batch.quoted[k]], intent_labels[i]))
        elif labels[i]:
            j = part_friction[i]
            evidence.append(flat[j] if inner[j] and hs.presence[j] >= heads.presence.threshold
                            else flat[top_friction[i]])
        else:
            evidence.append(flat[first[i]])
    return PooledScores(intent, intent_labels, friction, labels, presence,
                        sentiment, hs.stage[first], heads.stage.labels, evidence, emb[first],
                        blank[first])
