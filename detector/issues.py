"""Recurring issues per customer: the same problem raised again, found by embedding similarity.

Each customer keeps a few *issue threads* (bounded). A thread holds a compact int8
embedding of its latest message, when it started, how many contacts it has had, on
which channels, and the event ids. Pure Python: no numpy, so ``detector`` stays light.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class IssueConfig:
    similarity: float = 0.55
    window_hours: float = 14 * 24.0
    repeat_threshold: int = 3
    max_threads: int = 3
    max_event_ids: int = 6


def pack(vector: Sequence[float]) -> str:
    """L2-normalised vector -> base64 of int8 components (384 dims -> 512 chars)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    q = bytes((max(-127, min(127, round(x / norm * 127))) & 0xFF) for x in vector)
    return base64.b64encode(q).decode("ascii")


def unpack(packed: str) -> list[float]:
    raw = base64.b64decode(packed)
    return [(b - 256 if b > 127 else b) / 127.0 for b in raw]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


def is_issue(categories: Sequence[str], sentiment: float, intent: str) -> bool:
    """Whether a message raises a problem worth tracking as an issue thread."""
    return bool(categories) or sentiment < -0.3 or intent != "none"


def track_issue(
    threads: list[dict[str, Any]],
    *,
    event_id: str,
    occurred_at: datetime,
    channel: str,
    categories: Sequence[str],
    embedding: Sequence[float] | None,
    cfg: IssueConfig,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Attach a message to the most similar open thread, or start one. Returns (threads, thread).

    Similarity is cosine of embeddings; without an embedding, threads match on a shared
    friction category. Threads idle longer than the window are closed (dropped).
    """
    horizon = occurred_at - timedelta(hours=cfg.window_hours)
    live = [t for t in threads if datetime.fromisoformat(t["last_at"]) >= horizon]
    vec = list(embedding) if embedding else None
    best, best_sim = None, -1.0
    for thread in live:
        if vec is not None and thread.get("vec"):
            sim = cosine(vec, unpack(thread["vec"]))
        else:
            sim = 1.0 if set(categories) & set(thread["categories"]) else 0.0
        if sim >= cfg.similarity and sim > best_sim:
            best, best_sim = thread, sim
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
    if vec is not None:
        best["vec"] = pack(vec)
    live.sort(key=lambda t: t["last_at"])
    return live[-cfg.max_threads :], best
