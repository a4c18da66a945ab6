"""Dead-letter records: the original bytes, the reason, and where they came from."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

#: Larger originals are cut to this many bytes (the record must fit a Kafka message);
#: the record then carries ``raw_truncated``, ``raw_size`` and ``raw_sha256`` of the whole.
MAX_RAW_BYTES = 256 * 1024


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
    extra: dict[str, Any] = {}
    if isinstance(raw, str) and len(raw) > MAX_RAW_BYTES // 4:
        raw = raw.encode("utf-8", errors="surrogatepass")
    if isinstance(raw, bytes | bytearray) and len(raw) > MAX_RAW_BYTES:
        extra = {"raw_truncated": True, "raw_size": len(raw),
                 "raw_sha256": hashlib.sha256(raw).hexdigest()}
        raw = bytes(raw[:MAX_RAW_BYTES])
    if raw is None:
        payload, encoding = None, None
    elif isinstance(raw, str):
        payload, encoding = raw, "utf-8"
    else:
        try:
            payload, encoding = bytes(raw).decode("utf-8"), "utf-8"
            # control characters grow 6x when JSON-escaped: base64 is smaller then
            if len(json.dumps(payload, ensure_ascii=False)) > 2 * len(raw) + 16:
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "escapes")
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
        **extra,
    }
