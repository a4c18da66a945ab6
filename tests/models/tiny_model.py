"""A tiny, deterministic model for fast tests: a handful of hand-written rows, the hashing
encoder, heads fitted in well under a second, and a model folder (manifest + heads) written
the way ``churn-detector train`` writes one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from detector.schema import Event, Turn
from models.datasets import Example
from models.encoders import HashingEncoder
from models.heads import Heads, fit_heads
from models.pieces import PieceConfig
from models.recipe import CascadeRule, Manifest, Recipe

LEAVING = ("Honestly I have had enough of the dropped calls. Please cancel my account today, "
           "I am moving to another carrier.")
SMALL_TALK = ("Yes, I can give you my account number.", "It is four four seven one.",
              "That is my address on Elm Street.", "My date of birth is the third of May.",
              "Sure, I can hold for a moment.", "Okay, thank you.")
AGENT = ("Thanks for calling, how can I help?", "Can I have your account number please?",
         "Thank you, one moment while I look that up.", "Can you confirm your address?")
COMPLAINT = "You charged me twice for the same month and the refund never came."
FILLER = ("I have been a customer for a few years now.", "I live in a small town near the coast.",
          "My partner and I share the plan with our two children.",
          "We mostly use the service in the evenings and at weekends.",
          "I usually read my statements online at the end of the month.",
          "Last spring we moved to a new house on the same street.",
          "I am writing this message from my kitchen table.",
          "My neighbour recommended you to me when we first moved here.",
          "Our old provider closed its shop in town two years ago.",
          "The children use the plan mostly for their school work.",
          "I prefer to write rather than call during working hours.",
          "This is the first time I have written to you about anything.")


def _rows() -> list[Example]:
    rows: list[Example] = []
    explicit = ["please cancel my account", "I want to close my account and leave",
                "cancel my contract today, I am moving to another carrier",
                "I am switching to another provider, cancel my subscription",
                "terminate my account now, I have had enough",
                "please cancel my plan, I am leaving for a competitor"]
    none = ["what is my account number", "thanks for the help", "can you confirm my address",
            "when is my next bill due", "I will hold for a moment", "my date of birth is in May",
            "yes that is my address on the street", "okay thank you, have a nice day"]
    rows += [Example(t, "tiny", intent="explicit", sentiment="negative") for t in explicit]
    rows += [Example(t, "tiny", intent="none", sentiment="neutral") for t in none]
    friction = {
        "billing": ["you charged me twice for the same month", "my bill is wrong, I was "
                    "overcharged", "the refund for the double charge never came",
                    "I was billed twice and nobody refunds it"],
        "delivery": ["my parcel never arrived", "the courier lost my package",
                     "the delivery is two weeks late", "the parcel was left in the rain"],
        "access": ["I cannot log in to my account", "the password reset code never arrives",
                   "my login fails every time", "I am locked out of the app"],
    }
    for cat, texts in friction.items():
        rows += [Example(t, "tiny", friction=(cat,), sentiment="negative") for t in texts]
    calm = ["I have been a customer for years", "we moved to a new house last spring",
            "I read my statements online", "my neighbour recommended you",
            "we use the service in the evenings", "I live near the coast"]
    rows += [Example(t, "tiny", intent="none", friction=(), sentiment="neutral") for t in calm]
    rows += [Example(t, "tiny", sentiment="positive") for t in
             ["great service, thank you so much", "I love the new app", "excellent support"]]
    return rows


ROWS = _rows()


def encoder() -> HashingEncoder:
    """The encoder ``build_encoder("hashing")`` serves (same dimension)."""
    return HashingEncoder()


def tiny_heads(rows: list[Example] | None = None, recipe: Recipe | None = None) -> Heads:
    rows = ROWS if rows is None else rows
    enc = encoder()
    recipe = recipe or recipe_for("static")
    return fit_heads(enc.encode([e.text for e in rows]), rows, enc.name, recipe.train,
                     recipe.lexical)


def recipe_for(path: str, **kw: object) -> Recipe:
    """A recipe of ``path`` over the hashing encoder (no lexical features)."""
    return Recipe(path, "hashing", None, **kw)  # type: ignore[arg-type]


def write_model_folder(root: Path, rows: list[Example] | None = None,
                       rule: CascadeRule | None = None,
                       pieces: PieceConfig | None = None) -> Manifest:
    """A model folder as ``train`` writes it: ``manifest.json`` and one heads folder per
    path. The transformer path is fitted on fewer rows, so the two paths differ."""
    rows = ROWS if rows is None else rows
    cfg = pieces or PieceConfig()
    recipes = {"static": recipe_for("static", pieces=cfg),
               "transformer": recipe_for("transformer", pieces=cfg,
                                         sentiment_pool="max")}
    tiny_heads(rows, recipes["static"]).save(root / "static", {"taxonomy_version": "t"})
    tiny_heads(rows[::2] + rows[1:4], recipes["transformer"]).save(
        root / "transformer", {"taxonomy_version": "t"})
    manifest = Manifest("static", recipes, rule or CascadeRule(), {"trained_on": ["tiny"]})
    manifest.save(root)
    return manifest


def event(text: str, i: int = 0, language: str | None = None,
          turns: tuple[Turn, ...] = ()) -> Event:
    return Event(event_id=f"e{i}", customer_id=f"C-{i}", channel="call" if turns else "chat",
                 occurred_at=datetime(2026, 11, 2, tzinfo=UTC), text=text, language=language,
                 turns=turns)


def call_turns(small_talk_turns: int) -> tuple[Turn, ...]:
    """A call: agent and customer alternate through ``small_talk_turns`` turns of account
    look-up, then the customer asks to leave."""
    turns = [Turn("agent" if i % 2 == 0 else "customer",
                  AGENT[(i // 2) % len(AGENT)] if i % 2 == 0
                  else SMALL_TALK[(i // 2) % len(SMALL_TALK)])
             for i in range(small_talk_turns)]
    return tuple(turns) + (Turn("customer", LEAVING),)


def letter(complaint_at: int = 5) -> str:
    """A long letter (over 400 characters) whose only complaint is one sentence."""
    body = list(FILLER)
    body.insert(complaint_at, COMPLAINT)
    return " ".join(body)
