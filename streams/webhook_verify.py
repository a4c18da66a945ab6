"""Verify the detector's webhook requests: standard library only.

A receiver can copy this one file (or import it) without installing the detector or any of
its dependencies. Two schemes are sent (``CHURN_WEBHOOK_SIGNATURE_SCHEME``):

* ``churn``: ``X-Churn-Timestamp: <unix seconds>`` and
  ``X-Churn-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>``;
* ``standard`` (Standard Webhooks, https://www.standardwebhooks.com):
  ``webhook-id: <alert_id>``, ``webhook-timestamp: <unix seconds>`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + raw body)>``,
  one ``v1,...`` per signing secret, separated by spaces (key rotation). A secret written
  ``whsec_<base64>`` is used base64-decoded, as the Standard Webhooks libraries do; any other
  secret is used as its UTF-8 bytes.

Both verifiers raise :class:`SignatureError` (never anything else) for a missing, malformed,
stale or wrong signature::

    from webhook_verify import SignatureError, verify_standard

    try:
        verify_standard([secret], raw_body, request.headers)
    except SignatureError:
        return 401
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Churn-Signature"
TIMESTAMP_HEADER = "X-Churn-Timestamp"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"

_TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")
_HEX_SIGNATURE_RE = re.compile(r"sha256=[0-9a-f]{64}")
_MAX_HEADER_CHARS = 4096


class SignatureError(ValueError):
    """A webhook request whose signature or timestamp does not verify."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def standard_key(secret: str | bytes) -> bytes:
    """The HMAC key of the Standard Webhooks scheme (``whsec_<base64>`` decoded)."""
    if isinstance(secret, str) and secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("a whsec_ secret must be base64") from exc
    return _key(secret)


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``timestamp + "." + body`` with the shared secret."""
    mac = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign_standard(secrets: Iterable[str | bytes], msg_id: str, timestamp: str,
                  body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` per secret, separated by spaces."""
    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(standard_key(s), signed, hashlib.sha256).digest())
        .decode("ascii")
        for s in secrets
    )


def _timestamp(value: object, tolerance_seconds: float, now: float | None) -> str:
    if not isinstance(value, str) or not _TIMESTAMP_RE.fullmatch(value.strip()):
        raise SignatureError("timestamp is not a plain integer of seconds")
    value = value.strip()
    now = time.time() if now is None else now
    if abs(now - int(value)) > tolerance_seconds:
        raise SignatureError("timestamp outside the tolerance window (replayed or skewed)")
    return value


def verify_signature(
    secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance_seconds: float = 300.0,
    now: float | None = None,
) -> None:
    """Verify the ``churn`` scheme; raise :class:`SignatureError` unless authentic and fresh.

    ``body`` must be the raw request body; timestamps older (or further in the future) than
    ``tolerance_seconds`` are refused so that a captured request cannot be replayed later.
    """
    if not timestamp or not signature:
        raise SignatureError("missing signature or timestamp header")
    ts = _timestamp(timestamp, tolerance_seconds, now)
    if not isinstance(signature, str) or not _HEX_SIGNATURE_RE.fullmatch(signature.strip()):
        raise SignatureError("signature header is not sha256=<64 hex digits>")
    expected = sign(secret, ts, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii")):
        raise SignatureError("signature does not match")


def _header(headers: Mapping[str, str], name: str) -> object:
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def verify_standard(
    secrets: Iterable[str | bytes],
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: float = 300.0,
    now: float | None = None,
) -> str:
    """Verify the Standard Webhooks headers against any of ``secrets`` (rotation: old and
    new); return the ``webhook-id`` (deduplicate on it). Raises :class:`SignatureError`."""
    msg_id = _header(headers, STANDARD_ID_HEADER)
    timestamp = _header(headers, STANDARD_TIMESTAMP_HEADER)
    signatures = _header(headers, STANDARD_SIGNATURE_HEADER)
    if not msg_id or not timestamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not isinstance(msg_id, str) or not isinstance(signatures, str):
        raise SignatureError("malformed webhook headers")
    if len(msg_id) > _MAX_HEADER_CHARS or len(signatures) > _MAX_HEADER_CHARS:
        raise SignatureError("webhook headers too long")
    ts = _timestamp(timestamp, tolerance_seconds, now)
    try:
        given = []
        for item in signatures.split():
            version, _, value = item.partition(",")
            if version == "v1":
                given.append(base64.b64decode(value, validate=True))
        signed = msg_id.encode("utf-8") + b"." + ts.encode("ascii") + b"." + body
    except (binascii.Error, ValueError) as exc:  # bad base64, a lone surrogate in the id
        raise SignatureError("malformed webhook-signature or webhook-id") from exc
    if not given:
        raise SignatureError("no v1 signature in webhook-signature")
    for secret in secrets:
        expected = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, sig) for sig in given):
            return msg_id
    raise SignatureError("signature does not match")
