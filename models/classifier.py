"""Signal classifiers: trained heads over sentence embeddings -> :class:`Signal`.

* :class:`RecipeClassifier`: one path's recipe (:mod:`models.recipe`): its encoder and
  trained :class:`~models.heads.Heads`; texts are scored in pieces and pooled per event.
* :class:`SimilarityClassifier`: heads fitted at start-up on a taxonomy's examples (and,
  optionally, the seed set); used with the fast hashing encoder in tests and for custom
  taxonomies.
* :class:`models.cascade.CascadeClassifier`: static path for every event, transformer for
  the uncertain or risky ones.

Events are classified in micro-batches: one encoder call per batch (per path). An explicit
request to leave written in another language (de, es, fr, it, nl, pt) is caught by the cue
lists of :mod:`models.multilingual` and marked low-confidence with its language.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from detector.autoreply import auto_reply
from detector.redact import QUOTE_CHARS
from detector.schema import Event
from detector.signals import FRICTION_CATEGORIES, INTENTS, Signal
from models.cues import bereavement, implicit_leaving, retained, retraction
from models.deadlines import leaving_date
from models.downgrades import asks_downgrade
from models.encoders import Encoder
from models.escalations import threatens_escalation
from models.heads import Heads, fit_heads
from models.language import detect_language, english_by_default, is_english
from models.multilingual import LeavingCue, detect_leaving_request
from models.pieces import customer_lines
from models.recipe import PooledScores, Recipe, score_texts
from models.recurring import recurrence
from models.repeats import says_repeat
from models.staying import detail_removed, joined, spare_account, wants_back
from models.terms import asks_leaving_terms

DEFAULT_TAXONOMY = "taxonomy.json"
#: channels whose single message can be talk about the talk ("bye" in a chat), read as a turn
CONVERSATIONS = ("chat", "call")
CUE_PROBABILITY = 0.6  # the churn probability of an explicit request found by a cue list


def load_taxonomy(path: str | Path | None = None) -> dict[str, Any]:
    """Load the taxonomy JSON (the bundled default when ``path`` is None)."""
    if path is None:
        text = resources.files("models").joinpath(DEFAULT_TAXONOMY).read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    taxonomy: dict[str, Any] = json.loads(text)
    for section in ("intents", "friction", "sentiment", "journey_stages"):
        if section not in taxonomy:
            raise ValueError(f"taxonomy lacks section {section!r}")
    missing = [i for i in INTENTS if i not in taxonomy["intents"]]
    missing += [c for c in FRICTION_CATEGORIES if c not in taxonomy["friction"]]
    if missing:
        raise ValueError(f"taxonomy lacks labels {missing}")
    return taxonomy


@dataclass(frozen=True)
class ClassifierConfig:
    rating_weight: float = 0.5
    #: the company's own names, as :func:`models.cues.own_name_keys` gives them: with them,
    #: a switch already made to another named company is read as leaving, one to the
    #: company itself as joining
    own_names: frozenset[str] = frozenset()


def apply_leaving_cues(texts: Sequence[str], languages: Sequence[str | None],
                       scores: PooledScores, english: Sequence[bool] | None = None
                       ) -> list[LeavingCue | None]:
    """Explicit requests to leave written in a language the English models cannot read:
    the event becomes ``explicit`` (probability :data:`CUE_PROBABILITY`) with the cue's
    phrase as evidence; the caller marks it low-confidence with its language. A text the
    language guess calls English only for want of any stop word is read by the lists too
    (they match no English text of the training data). ``english``: each text's
    :func:`~models.language.is_english`, when the caller has it already."""
    if english is None:
        english = [is_english(t, lang) for t, lang in zip(texts, languages, strict=True)]
    found: list[LeavingCue | None] = [None] * len(texts)
    ie = INTENTS.index("explicit")
    for i, text in enumerate(texts):
        if english[i] and (languages[i] or not english_by_default(text)):
            continue  # English, declared or with English words: the English models read it
        cue = found[i] = detect_leaving_request(text)
        if cue is not None and scores.intent_labels[i] != "explicit":
            row = np.zeros(len(INTENTS))
            row[ie] = CUE_PROBABILITY
            row[INTENTS.index("none")] = 1.0 - CUE_PROBABILITY
            scores.intent[i] = row
            scores.intent_labels[i] = "explicit"
            scores.evidence[i] = cue.phrase
    return found


RETRACTED_CHURN = 0.1  # at most this churn probability for a text that takes leaving back


def apply_retractions(texts: Sequence[str], scores: PooledScores,
                      english: Sequence[bool] | None = None,
                      turns: Sequence[Sequence[str] | None] | None = None) -> list[str | None]:
    """English texts that take a leaving request back or say none is coming
    (:func:`models.cues.retraction`): each one's sentence (None for the rest). Such a
    text's churn probability is scaled down to at most :data:`RETRACTED_CHURN` and its
    intent is ``none``: "I won't be leaving you" reads as a request to leave to the
    embedding heads. A conversation whose customer asked to leave and took it back in a
    later turn (:func:`models.cues.retained`: a retention call) keeps its churn
    probability, but as ``at_risk``, never ``explicit``."""
    found: list[str | None] = [None] * len(texts)
    for i, text in enumerate(texts):
        if english is not None and not english[i]:
            continue
        found[i] = said = retraction(text)
        if said is None:
            units = turns[i] if turns is not None and turns[i] else customer_lines(text)
            found[i] = said = retained(units) if units and len(units) > 1 else None
            if said is not None:
                _explicit_to_at_risk(scores, i)
            continue
        _churn_down(scores, i)
    return found


def apply_bereavements(texts: Sequence[str], scores: PooledScores,
                       english: Sequence[bool] | None = None) -> list[bool]:
    """English texts that tell of an account holder's death (:func:`models.cues.bereavement`):
    their churn probability is scaled down to at most :data:`RETRACTED_CHURN`, intent
    ``none``; the signal is flagged ``bereavement``. Closing a deceased customer's account
    is not a churn risk to act on with retention offers."""
    found = [(english is None or english[i]) and bereavement(t) for i, t in enumerate(texts)]
    for i in np.flatnonzero(found).tolist():
        _churn_down(scores, i)
    return found


def apply_spare_accounts(texts: Sequence[str], scores: PooledScores,
                         english: Sequence[bool] | None = None,
                         rule: Callable[[str], str | None] = spare_account) -> list[str | None]:
    """English texts that close a spare account (:func:`models.staying.spare_account`: a
    duplicate, second or test account, or one replaced by another the customer keeps with
    the company): each one's sentence (None for the rest). Their churn probability is
    scaled down to at most :data:`RETRACTED_CHURN`, intent ``none``; the signal is flagged
    ``spare_account``. "Can you close the duplicate account I accidentally created? I'll
    keep using the main one." was an explicit request to leave."""
    found: list[str | None] = [None] * len(texts)
    for i, text in enumerate(texts):
        if english is not None and not english[i]:
            continue
        found[i] = rule(text)
        if found[i] is not None:
            _churn_down(scores, i)
    return found


def apply_joined(texts: Sequence[str], scores: PooledScores,
                 english: Sequence[bool] | None = None,
                 own_names: frozenset[str] = frozenset()) -> list[str | None]:
    """English texts that say the writer joined the company (:func:`models.staying.joined`:
    "Switched to you from EE last year and never looked back."; with ``own_names``, to the
    company by name), read as :func:`apply_spare_accounts` reads a spare account closed
    (flag ``joined``): the heads read the switch as a churn risk (static explicit 0.92)."""
    return apply_spare_accounts(texts, scores, english,
                                lambda text: joined(text, own_names))


def apply_wants_back(texts: Sequence[str], scores: PooledScores,
                     english: Sequence[bool] | None = None) -> list[str | None]:
    """English texts whose writer wants a closed account back or to come back
    (:func:`models.staying.wants_back`: "Can you reactivate my account? I closed it by
    mistake.", "You cancelled my account without telling me!"), read as :func:`
    apply_spare_accounts` reads a spare account closed (flag ``wants_back``): the heads read
    the closing words as a request to leave (transformer explicit 0.78-0.84)."""
    return apply_spare_accounts(texts, scores, english, wants_back)


IMPLICIT_PROBABILITY = 0.6  # at least this churn probability for leaving said without a request


def apply_account_details(texts: Sequence[str], scores: PooledScores,
                          english: Sequence[bool] | None = None) -> list[str | None]:
    """English texts that remove a detail of the account, not the account
    (:func:`models.staying.detail_removed`: "Please remove my ex-husband as an authorised
    user on my account.", "Please delete my old address from my profile."), read as
    :func:`apply_spare_accounts` reads a spare account closed (flag ``account_detail``): the
    transformer read them as requests to leave (0.65-0.83)."""
    return apply_spare_accounts(texts, scores, english, detail_removed)


def apply_implicit_leaving(texts: Sequence[str], scores: PooledScores,
                           english: Sequence[bool] | None = None,
                           skip: Sequence[bool] | None = None,
                           own_names: frozenset[str] = frozenset()) -> list[str | None]:
    """English texts read as no churn intent that say the writer is leaving without asking
    to close anything (:func:`models.cues.implicit_leaving`: "You've lost a customer.",
    "This will be my last order with you."): each one's sentence (None for the rest). Such a
    text becomes ``at_risk`` with a churn probability of at least
    :data:`IMPLICIT_PROBABILITY` (the added mass on ``at_risk``), quoting the sentence when
    the text is too long to quote whole; the signal is flagged ``implicit_leaving``. A text
    the models read at risk keeps their reading and is flagged (and quoted) the same way, so
    "You've lost a customer." makes the same case on every path; one read explicit is left
    alone. ``skip``: texts a retraction or a bereavement rule has read. ``own_names``: see
    :func:`models.cues.implicit_leaving`."""
    found: list[str | None] = [None] * len(texts)
    none, at_risk = INTENTS.index("none"), INTENTS.index("at_risk")
    for i, text in enumerate(texts):
        if (scores.intent_labels[i] == "explicit" or (english is not None and not english[i])
                or (skip is not None and skip[i])):
            continue
        said = found[i] = implicit_leaving(text, own_names)
        if said is None:
            continue
        if scores.intent_labels[i] == "none":  # read at risk: the models' reading stands
            row = scores.intent[i].astype(np.float64)
            churn = 1.0 - row[none]
            if churn < IMPLICIT_PROBABILITY:
                row[at_risk] += IMPLICIT_PROBABILITY - churn
                row[none] = 1.0 - IMPLICIT_PROBABILITY
                scores.intent[i] = row
            scores.intent_labels[i] = "at_risk"
        if len(text) > QUOTE_CHARS:
            scores.evidence[i] = capped(said)
    return found


def apply_leaving_terms(texts: Sequence[str], scores: PooledScores,
                        english: Sequence[bool] | None = None) -> list[str | None]:
    """English texts read ``explicit`` that ask about the terms of leaving
    (:func:`models.terms.asks_leaving_terms`: "What's your cancellation policy?", "What
    happens to my data if I close my account?"): each one's sentence (None for the rest).
    Their reading moves to ``at_risk`` (the explicit share added to at risk, the churn
    probability kept): the customer weighs leaving and has not asked to; the signal is
    flagged ``leaving_terms``. A text the heads read at risk keeps their reading, unflagged:
    its evidence may be another sentence ("We are evaluating two alternative tools.")."""
    found: list[str | None] = [None] * len(texts)
    for i, text in enumerate(texts):
        if scores.intent_labels[i] != "explicit" or (english is not None and not english[i]):
            continue
        said = found[i] = asks_leaving_terms(text)
        if said is not None:
            _explicit_to_at_risk(scores, i)
            if len(text) > QUOTE_CHARS:
                scores.evidence[i] = capped(said)
    return found


def capped(sentence: str) -> str:
    """A rule's sentence as an alert may quote it: at most :data:`QUOTE_CHARS` characters,
    " …" where cut."""
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[:QUOTE_CHARS - 2] + " …"


@dataclass(frozen=True)
class RuleReadings:
    """What the hand-written rules read in a batch (each list one entry per text)."""

    retracted: list[str | None]
    bereaved: list[bool]
    spare: list[str | None]  # closes a spare account
    joined: list[str | None]  # says they joined the company
    back: list[str | None]  # wants a closed account back, or to come back
    details: list[str | None]  # removes a detail of the account, not the account
    implicit: list[str | None]
    terms: list[str | None]  # asks about the terms of leaving
    cues: list[LeavingCue | None] | None  # None: the recipe reads no other-language cues
    repeats: list[str | None]  # said to be a repeat contact (no score changes)
    escalations: list[str | None]  # the complaint taken outside (no score changes)
    dated: list[str | None]  # a churn risk that names when they leave (no score changes)
    downgrades: list[str | None]  # asks to trade down (no score changes)
    auto_replies: list[bool]  # an out-of-office reply: scored as saying nothing
    recurring: list[str | None]  # said to keep happening (no score changes)


def apply_rules(texts: Sequence[str], scores: PooledScores, english: Sequence[bool],
                languages: Sequence[str | None], leaving_cues: bool,
                turns: Sequence[Sequence[str] | None] | None = None,
                own_names: frozenset[str] = frozenset()) -> RuleReadings:
    """The rules that read what the heads miss, in their order, as serving and ``eval``
    both apply them after the heads: retractions (and retention calls), bereavements,
    spare accounts closed, joining said, a closed account wanted back, a detail of the
    account removed, leaving said without a request (not on texts the first six read), a
    question about the terms of leaving (an explicit reading moves to at risk), and,
    where the recipe has them, the leaving cues of other languages; then what only flags a
    signal: a message said to be a repeat contact, a complaint taken outside the company, a
    churn risk that names its date, a request to trade down, a failure said to keep
    happening; last, out-of-office replies that nothing read as a churn risk are scored as
    saying nothing."""
    retracted = apply_retractions(texts, scores, english, turns)
    bereaved = apply_bereavements(texts, scores, english)
    spare = apply_spare_accounts(texts, scores, english)
    came = apply_joined(texts, scores, english, own_names)
    back = apply_wants_back(texts, scores, english)
    details = apply_account_details(texts, scores, english)
    implicit = apply_implicit_leaving(
        texts, scores, english, [r is not None or b or k is not None or j is not None
                                 or w is not None or d is not None
                                 for r, b, k, j, w, d in zip(retracted, bereaved, spare, came,
                                                             back, details, strict=True)],
        own_names)
    terms = apply_leaving_terms(texts, scores, english)
    cues = apply_leaving_cues(texts, languages, scores, english) if leaving_cues else None
    repeats = [says_repeat(t) if en else None for t, en in zip(texts, english, strict=True)]
    escalations = [threatens_escalation(t) if en else None
                   for t, en in zip(texts, english, strict=True)]
    dated = [leaving_date(t) if en and label != "none" else None
             for t, en, label in zip(texts, english, scores.intent_labels, strict=True)]
    downgrades = [asks_downgrade(t) if en else None for t, en in zip(texts, english, strict=True)]
    auto = apply_auto_replies(texts, scores)
    recurring = read_recurring(texts, scores, english)
    return RuleReadings(retracted, bereaved, spare, came, back, details, implicit, terms, cues,
                        repeats, escalations, dated, downgrades, auto, recurring)


#: a message the models read this negative names a problem (for :func:`read_recurring`)
RECURRING_SENTIMENT = -0.3


def read_recurring(texts: Sequence[str], scores: PooledScores,
                   english: Sequence[bool]) -> list[str | None]:
    """The sentence of each English text that says a failure keeps happening
    (:func:`models.recurring.recurrence`): where it names no failure itself ("Our Wi-Fi goes
    off every night"), only when the models read a problem in the message (friction
    present, or sentiment under :data:`RECURRING_SENTIMENT`). Scores are not changed."""
    out: list[str | None] = []
    for i, (text, en) in enumerate(zip(texts, english, strict=True)):
        found = recurrence(text) if en else None
        if found is not None and not found[1]:
            sentiment = float(scores.sentiment[i, 2] - scores.sentiment[i, 0])
            if not (scores.friction_labels[i] or sentiment < RECURRING_SENTIMENT):
                found = None
        out.append(found[0] if found is not None else None)
    return out


def apply_auto_replies(texts: Sequence[str], scores: PooledScores) -> list[bool]:
    """Out-of-office replies (:func:`detector.autoreply.auto_reply`) that nothing read as a
    churn risk: scored as saying nothing (intent ``none``, no friction, neutral sentiment);
    the signal is flagged ``auto_reply`` and the detector does not count it as a contact.
    "I am currently out of the office with limited access to email" read communication
    friction at -0.48 on the static path. A message a model or rule reads as a churn risk
    keeps its reading ("I'm on leave until Monday and will reply when back. Meanwhile cancel
    my plan.")."""
    found = [scores.intent_labels[i] == "none" and auto_reply(t) for i, t in enumerate(texts)]
    for i in (i for i, hit in enumerate(found) if hit):
        scores.intent[i] = np.eye(len(INTENTS))[INTENTS.index("none")]
        scores.friction[i] = 0.0
        scores.presence[i] = 0.0
        scores.friction_labels[i] = ()
        scores.sentiment[i] = (0.0, 1.0, 0.0)  # negative, neutral, positive
    return found


def _churn_down(scores: PooledScores, i: int) -> None:
    none = INTENTS.index("none")
    row = scores.intent[i].astype(np.float64)
    churn = 1.0 - row[none]
    if churn > RETRACTED_CHURN:
        row = row * (RETRACTED_CHURN / churn)
        row[none] = 1.0 - RETRACTED_CHURN
        scores.intent[i] = row
    scores.intent_labels[i] = "none"


def _explicit_to_at_risk(scores: PooledScores, i: int) -> None:
    row = scores.intent[i].astype(np.float64)
    explicit, at_risk = INTENTS.index("explicit"), INTENTS.index("at_risk")
    row[at_risk] += row[explicit]
    row[explicit] = 0.0
    scores.intent[i] = row
    if scores.intent_labels[i] == "explicit":
        scores.intent_labels[i] = "at_risk"


def make_signals(events: Sequence[Event], scores: PooledScores, keep_embeddings: bool,
                 model_version: str, config: ClassifierConfig,
                 read: RuleReadings | None = None,
                 english: Sequence[bool] | None = None,
                 texts: Sequence[str] | None = None) -> list[Signal]:
    """Turn pooled head outputs into signals (rating blend, stage source, language
    confidence, the leaving cue of another language, the evidence piece, each rule's flag
    and sentence). The batch's arrays are read once, as Python lists; ``read``: what the
    rules read (:func:`apply_rules`; none: no rule flags); ``texts``: each event's
    ``customer_text``, when the caller has it already."""
    packed = pack_rows(scores.emb) if keep_embeddings else None
    if texts is None:
        texts = [e.customer_text for e in events]
    if english is None:
        english = [is_english(t, e.language) for t, e in zip(texts, events, strict=True)]
    intents = scores.intent.tolist()
    frictions = scores.friction.tolist()
    sentiments = (scores.sentiment[:, 2] - scores.sentiment[:, 0]).tolist()
    stages = [scores.stage_labels[j] for j in np.argmax(scores.stage, axis=1).tolist()] \
        if len(events) else []
    w = config.rating_weight
    none = INTENTS.index("none")
    cues = read.cues if read is not None else None
    # each rule's reading per event, and the flag it sets where it read something
    rules: list[tuple[str, Sequence[str | bool | None]]] = [] if read is None else [
        ("retraction", read.retracted), ("bereavement", read.bereaved),
        ("spare_account", read.spare), ("joined", read.joined), ("wants_back", read.back),
        ("account_detail", read.details), ("implicit_leaving", read.implicit),
        ("leaving_terms", read.terms),
        ("repeat_contact", read.repeats), ("escalation_threat", read.escalations),
        ("leaving_date", read.dated), ("downgrade", read.downgrades),
        ("recurring_problem", read.recurring), ("auto_reply", read.auto_replies)]
    out = []
    for i, event in enumerate(events):
        text = texts[i]
        sentiment = sentiments[i]
        if event.rating is not None:
            sentiment = (1 - w) * sentiment + w * (event.rating - 3) / 2.0
        if event.journey_stage:
            stage, source = event.journey_stage, "event"
        else:
            stage, source = stages[i], "inferred"
        cue = cues[i] if cues is not None else None
        unread = bool(scores.unread[i])  # scored as saying nothing (models.recipe)
        # a cue list read it: not English; nothing to read (a rating alone): no language
        non_english = (not english[i] and not unread) or cue is not None
        flags = event.flags + (("non_english",) if non_english else ())
        if unread:
            flags += ("nothing_to_read",)
        flags += tuple(flag for flag, per_event in rules
                       if per_event[i] is not None and per_event[i] is not False)
        quotes = {flag: capped(said) for flag, per_event in rules
                  if isinstance(said := per_event[i], str) and said}
        language = event.language
        if cue is not None:
            flags += ("leaving_cue",)
            language = language or cue.language
        elif non_english and language is None:  # the guess, so an alert can say which
            guess = detect_language(text)
            language = None if guess in ("en", "und") else guess
        evidence = scores.evidence[i]
        out.append(Signal(
            event_id=event.event_id,
            customer_id=event.customer_id,
            channel=event.channel,
            occurred_at=event.occurred_at,
            churn_intent=scores.intent_labels[i],
            churn_probability=1.0 - intents[i][none],
            intent_probabilities=dict(zip(INTENTS, intents[i], strict=True)),
            friction=dict(zip(FRICTION_CATEGORIES, frictions[i], strict=True)),
            friction_categories=scores.friction_labels[i],
            sentiment=max(-1.0, min(1.0, sentiment)),
            journey_stage=stage,
            journey_stage_source=source,
            text=text,
            rating=event.rating,
            language=language,
            confidence="low" if non_english or unread else "normal",
            model_version=model_version,
            flags=flags,
            evidence="" if evidence == text else evidence,
            flag_quotes=quotes,
            embedding_packed=packed[i] if packed is not None else None,
        ))
    return out


def event_turns(event: Event) -> list[str] | None:
    """The customer's turns of a conversation event (None: not a conversation)."""
    if not event.turns:
        return None
    said = [t.text for t in event.turns if t.speaker == "customer" and t.text]
    return said or None


def pack_rows(emb: np.ndarray) -> list[str]:
    """Each row as base64 of its 4-bit codes, byte for byte ``detector.issues.pack``."""
    top = np.abs(emb).max(axis=1, keepdims=True).astype(np.float64)
    top[top == 0] = 1.0
    q = np.clip(np.rint(emb.astype(np.float64) / top * 7.0), -7, 7).astype(np.int16) + 8
    if q.shape[1] % 2:
        q = np.concatenate([q, np.full((q.shape[0], 1), 8, dtype=q.dtype)], axis=1)
    raw = ((q[:, 0::2] << 4) | q[:, 1::2]).astype(np.uint8)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in raw]


class RecipeClassifier:
    """Classifies events with one path's recipe: its encoder and its trained heads."""

    def __init__(self, encoder: Encoder, heads: Heads, recipe: Recipe,
                 config: ClassifierConfig | None = None) -> None:
        self.encoder = encoder
        self.heads = heads
        self.recipe = recipe
        self.config = config or ClassifierConfig()
        self.model_version = heads.version
        self.path_name = recipe.path
        self.last_encoder_paths: dict[str, int] = {}

    def score(self, events: Sequence[Event]) -> PooledScores:
        """The pooled scores of a micro-batch (one encoder call over all its pieces)."""
        return score_texts([e.customer_text for e in events], self.encoder, self.heads,
                           self.recipe, [event_turns(e) for e in events],
                           [e.channel in CONVERSATIONS for e in events])

    def signals(self, events: Sequence[Event], scores: PooledScores,
                keep_embeddings: bool = True) -> list[Signal]:
        texts = [e.customer_text for e in events]
        english = [is_english(t, e.language) for t, e in zip(texts, events, strict=True)]
        read = apply_rules(texts, scores, english, [e.language for e in events],
                           self.recipe.leaving_cues, [event_turns(e) for e in events],
                           self.config.own_names)
        return make_signals(events, scores, keep_embeddings, self.model_version, self.config,
                            read, english, texts)

    def classify(self, events: Sequence[Event], keep_embeddings: bool = True) -> list[Signal]:
        """Classify a micro-batch of events with a single encoder call."""
        if not events:
            return []
        scores = self.score(events)
        self.last_encoder_paths = {self.path_name: len(events)}
        return self.signals(events, scores, keep_embeddings)


class SimilarityClassifier(RecipeClassifier):
    """Heads fitted at start-up on the taxonomy's examples (plus ``extra`` labelled rows).

    Used with the hashing encoder (fast tests) and with custom taxonomies that have no
    trained artifacts.
    """

    def __init__(self, encoder: Encoder, taxonomy: dict[str, Any] | None = None,
                 config: ClassifierConfig | None = None, extra: Sequence[Any] = ()) -> None:
        import hashlib

        from models.train import taxonomy_examples

        self.taxonomy = taxonomy or load_taxonomy()
        rows = taxonomy_examples(self.taxonomy) + list(extra)
        x = encoder.encode([e.text for e in rows])
        heads = fit_heads(x, rows, encoder.name)
        digest = hashlib.sha256(json.dumps(self.taxonomy, sort_keys=True).encode()
                                ).hexdigest()[:8]
        heads.meta["version"] = (f"heads-{encoder.name}-{self.taxonomy.get('version', 'custom')}"
                                 f"-{digest}")
        super().__init__(encoder, heads, Recipe("static", encoder.name, None), config)
