"""Recurring issues per customer: the same problem raised again, found by embedding similarity.

Each customer keeps a few *issue threads* (bounded). A thread holds a compact int8
embedding of its latest message, when it started, how many contacts it has had, on
which channels, and the event ids. Pure Python: no numpy, so ``detector`` stays light.
"""

from __future__ import annotations

import base64
import math
import operator
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class IssueConfig:
    similarity: float = 0.55
    window_hours: float = 14 * 24.0
    repeat_threshold: int = 3
    max_threads: int = 3
    max_event_ids: int = 6


#: 4-bit codes: each component is scaled by the vector's largest magnitude to -7..7 and
#: stored as a nibble (value + 8); two per byte, high nibble first. 384 dims -> 256 chars.
LEVELS = 7
_HIGH = bytes((((b >> 4) - 8) & 0xFF) for b in range(256))  # byte -> signed high code
_LOW = bytes((((b & 0x0F) - 8) & 0xFF) for b in range(256))  # byte -> signed low code


def quantise(vector: Sequence[float]) -> list[int]:
    """Components scaled to integers in [-7, 7] (cosine does not depend on the scale)."""
    top = max(map(abs, vector), default=0.0) or 1.0
    return [max(-LEVELS, min(LEVELS, round(x / top * LEVELS))) for x in vector]


def pack(vector: Sequence[float]) -> str:
    """Vector -> base64 of its 4-bit codes (``models.classifier.pack_rows`` does the same
    for whole batches with numpy; this is the pure-Python path)."""
    q = quantise(vector)
    if len(q) % 2:
        q.append(0)
    raw = bytes(((hi + 8) << 4) | (lo + 8) for hi, lo in zip(q[::2], q[1::2], strict=True))
    return base64.b64encode(raw).decode("ascii")


def unpack(packed: str) -> array[int]:
    """The integer components of a packed vector."""
    raw = base64.b64decode(packed)
    out = bytearray(2 * len(raw))
    out[0::2] = raw.translate(_HIGH)
    out[1::2] = raw.translate(_LOW)
    return array("b", out)


@lru_cache(maxsize=1 << 14)
def _unpacked(packed: str) -> tuple[array[int], float]:
    """A packed vector's components and norm (cached: a thread's vector is compared at every
    message of its customer)."""
    vec = unpack(packed)
    return vec, math.sqrt(sum(map(operator.mul, vec, vec))) or 1.0


def packed_similarity(a: str, b: str) -> float:
    """Cosine similarity of two packed vectors (0 when their sizes differ)."""
    (va, na), (vb, nb) = _unpacked(a), _unpacked(b)
    if len(va) != len(vb):
        return 0.0
    return sum(map(operator.mul, va, vb)) / (na * nb)


def opens_issue(categories: Sequence[str], intent: str) -> bool:
    """Whether a message names a problem (a friction category or churn intent): only such a
    message opens an issue thread."""
    return bool(categories) or intent != "none"


def joins_issue(sentiment: float) -> bool:
    """Whether a message without a problem of its own may still join a similar open thread
    (a clearly negative follow-up such as "still nothing?")."""
    return sentiment < -0.3


def track_issue(
    threads: list[dict[str, Any]],
    *,
    event_id: str,
    occurred_at: datetime,
    channel: str,
    categories: Sequence[str],
    embedding: str | None,
    cfg: IssueConfig,
    may_open: bool = True,
    said_repeat: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Attach a message to the most similar open thread, or start one. Returns (threads, thread).

    With ``may_open`` false a message only joins a thread; with none similar, threads are
    returned unchanged and the thread is None. With ``said_repeat`` (the customer says they
    raised it before) it joins the most similar open thread however far below the threshold.

    Similarity is cosine of the packed int8 embeddings; without one, threads match on a
    shared friction category. Threads idle longer than the window are closed (dropped).
    """
    horizon = occurred_at - timedelta(hours=cfg.window_hours)
    live = [t for t in threads if datetime.fromisoformat(t["last_at"]) >= horizon]
    best, best_sim = None, -1.0
    nearest, nearest_sim = None, -2.0
    for thread in live:
        if embedding and thread.get("vec"):
            sim = packed_similarity(embedding, thread["vec"])
        else:
            sim = 1.0 if set(categories) & set(thread["categories"]) else 0.0
        if sim >= cfg.similarity and sim > best_sim:
            best, best_sim = thread, sim
        if sim > nearest_sim:
            nearest, nearest_sim = thread, sim
    if best is None and said_repeat:
        best = nearest
    if best is None and not may_open:
        return threads, None
    if best is None:
        best = {
            "thread_id": event_id,
            "first_at": occurred_at.isoformat(),
            "last_at": occurred_at.isoformat(),
            "count": 0,
            "channels": [],
            "categories": [],
            "event_ids": [],
            "vec": None,
        }
        live.append(best)
    best["count"] += 1
    if occurred_at.isoformat() > best["last_at"]:
        best["last_at"] = occurred_at.isoformat()
    if occurred_at.isoformat() < best["first_at"]:  # a late event: it started earlier
        best["first_at"] = occurred_at.isoformat()
        best["thread_id"] = event_id
    if channel not in best["channels"]:
        best["channels"].append(channel)
    best["categories"] = sorted(set(best["categories"]) | set(categories))
    best["event_ids"] = (best["event_ids"] + [event_id])[-cfg.max_event_ids :]
    if embedding:
        best["vec"] = embedding
    live.sort(key=lambda t: t["last_at"])
    return live[-cfg.max_threads :], best
