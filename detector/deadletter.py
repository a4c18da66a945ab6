"""Dead-letter records: the original bytes, the reason, and where they came from."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any


def deadletter_record(
    raw: bytes | str | None,
    reason: str,
    detail: str,
    *,
    source_topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    failed_at: datetime | None = None,
) -> dict[str, Any]:
    """Build the JSON body of one dead-letter record (see contracts/deadletter.schema.json)."""
    if raw is None:
        payload, encoding = None, None
    elif isinstance(raw, str):
        payload, encoding = raw, "utf-8"
    else:
        try:
            payload, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    return {
        "reason": reason,
        "detail": detail,
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "raw": payload,
        "raw_encoding": encoding,
        "failed_at": failed_at.isoformat() if failed_at else None,
    }
