"""Webhook sink: consume ``churn.alerts`` and POST each alert to a configured URL.

Delivery contract (see docs/integrations.md):

* body: the alert JSON (or the generic CRM case, ``CHURN_WEBHOOK_FORMAT=crm_case``), optionally
  wrapped as a CloudEvents 1.0 structured event;
* headers: ``Idempotency-Key: <alert_id>``, ``X-Churn-Case-Key: <case_key>`` (upsert the
  CRM case on it: escalations of one situation update one case),
  ``X-Churn-Timestamp: <unix seconds>`` and
  ``X-Churn-Signature: sha256=<hex HMAC-SHA256 over timestamp + "." + raw body>``;
* retries with exponential backoff and jitter on 5xx, 429 (``Retry-After`` honoured) and network
  errors or timeouts; other 4xx are not retried; after the last try the alert goes to the webhook
  dead-letter topic with the response code and a body excerpt;
* at most ``webhook_concurrency`` alerts in flight (alerts of one customer in order); offsets are
  committed only after every alert of a fetched batch was delivered or dead-lettered, so a crash
  re-posts (with the same ``Idempotency-Key``) but never loses an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import random
import signal
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import click
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from detector.deadletter import deadletter_record
from streams.crm_mapping import case_key, crm_case
from streams.health import Health
from streams.settings import Settings
from streams.webhook_verify import (
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    sign,
    sign_standard,
    verify_signature,
    verify_standard,
)

__all__ = [
    "SIGNATURE_HEADER", "STANDARD_ID_HEADER", "STANDARD_SIGNATURE_HEADER",
    "STANDARD_TIMESTAMP_HEADER", "TIMESTAMP_HEADER", "SignatureError", "sign", "sign_standard",
    "verify_signature", "verify_standard",
]

log = logging.getLogger("churn.webhook")

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: The situation the alert belongs to (contract 1.1 ``case_key``): upsert the CRM case on it.
CASE_KEY_HEADER = "X-Churn-Case-Key"
BODY_EXCERPT_CHARS = 500
#: At most this many bytes of a response body are read (the excerpt needs 500 characters).
BODY_READ_BYTES = 4096
CLOUDEVENTS_SOURCE = "urn:churn-signal-detector"
CLOUDEVENTS_TYPE_PREFIX = "com.churn-signal-detector.alert."
ALERT_DATASCHEMA = (
    "https://churn-signal-detector.example/contracts/alert/1.0/alert.schema.json"
)


# -- signing (streams/webhook_verify.py: standard library only, for receivers) -------------

SIGNATURE_SCHEMES = ("churn", "standard", "both")


# -- request body ----------------------------------------------------------------------------


def render_body(
    alert: dict[str, Any], *, fmt: str = "alert", cloudevents: bool = False
) -> tuple[bytes, str]:
    """The bytes to POST for one alert and their content type."""
    payload = crm_case(alert) if fmt == "crm_case" else alert
    content_type = "application/json"
    if cloudevents:
        payload = {
            "specversion": "1.0",
            "id": alert["alert_id"],
            "source": CLOUDEVENTS_SOURCE,
            "type": CLOUDEVENTS_TYPE_PREFIX + alert["type"],
            "subject": alert.get("customer_id") or alert.get("journey_stage") or "",
            "time": alert["created_at"],
            "datacontenttype": "application/json",
            "dataschema": ALERT_DATASCHEMA if fmt == "alert" else None,
            "data": payload,
        }
        if payload["dataschema"] is None:
            del payload["dataschema"]
        content_type = "application/cloudevents+json"
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return body, content_type


def redact_url(url: str) -> str:
    """The URL without credentials or query string (safe for logs and dead letters)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # unparseable (e.g. an unclosed IPv6 bracket): show nothing of it
        return "<invalid url>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- retry policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: try ``n`` waits ``base * 2**(n-1)`` capped, × [0.5, 1]."""

    max_retries: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (retry - 1))
        return ceiling * rng.uniform(0.5, 1.0)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (delta seconds or an HTTP date); None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true too
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


async def read_at_most(stream: Any, limit: int) -> bytes:
    """At most ``limit`` bytes of a response body (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@dataclass
class DeliveryResult:
    """Outcome of delivering one alert (after all its tries)."""

    delivered: bool
    attempts: int
    status: int | None
    body_excerpt: str
    reason: str  # delivered | webhook_rejected | webhook_retries_exhausted | webhook_failed
    error: str | None = None


# -- metrics ---------------------------------------------------------------------------------


class SinkMetrics:
    """Metrics of the webhook sink (registry injected; labels from bounded sets)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "churn_webhook_deliveries_total",
            "Alerts handled by the webhook sink, by outcome (delivered or deadlettered)",
            ["outcome"], registry=r,
        )
        self.attempts = Counter(
            "churn_webhook_attempts_total",
            "HTTP attempts by result class (2xx, 4xx, 429, 5xx, timeout, network)",
            ["result"], registry=r,
        )
        self.duration = Histogram(
            "churn_webhook_delivery_duration_seconds",
            "Time from first try to delivery or dead-lettering of one alert",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=r,
        )
        self.inflight = Gauge(
            "churn_webhook_inflight", "Alerts being delivered right now", registry=r
        )


def _result_class(status: int | None, error: str | None) -> str:
    if status is None:
        return "timeout" if error == "timeout" else "network"
    if status == 429:
        return "429"
    return f"{status // 100}xx" if 200 <= status < 600 else "network"


# -- HTTP client -----------------------------------------------------------------------------


class WebhookClient:
    """Posts alerts with signature, idempotency key and the retry policy."""

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        session: aiohttp.ClientSession,
        timeout_seconds: float = 10.0,
        policy: RetryPolicy | None = None,
        fmt: str = "alert",
        cloudevents: bool = False,
        scheme: str = "both",
        extra_secrets: tuple[str | bytes, ...] = (),
        metrics: SinkMetrics | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.policy = policy or RetryPolicy()
        self.fmt = fmt
        self.cloudevents = cloudevents
        if scheme not in SIGNATURE_SCHEMES:
            raise ValueError(f"signature scheme must be one of {SIGNATURE_SCHEMES}")
        self.scheme = scheme
        self.secrets = (secret, *extra_secrets)
        self.metrics = metrics or SinkMetrics()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.clock = clock

    async def _attempt(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str, str | None, str | None]:
        """One POST: (status, body excerpt, Retry-After header, error)."""
        ts = str(int(self.clock()))
        headers = dict(headers)
        if self.scheme in ("churn", "both"):
            headers[TIMESTAMP_HEADER] = ts
            headers[SIGNATURE_HEADER] = sign(self.secret, ts, body)
        if self.scheme in ("standard", "both"):
            msg_id = headers[IDEMPOTENCY_HEADER]
            headers[STANDARD_ID_HEADER] = msg_id
            headers[STANDARD_TIMESTAMP_HEADER] = ts
            headers[STANDARD_SIGNATURE_HEADER] = sign_standard(self.secrets, msg_id, ts, body)
        try:
            async with self.session.post(
                self.url, data=body, headers=headers, timeout=self.timeout,
                allow_redirects=False,
            ) as resp:
                text = (await read_at_most(resp.content, BODY_READ_BYTES)).decode(
                    "utf-8", errors="replace")
                return resp.status, text[:BODY_EXCERPT_CHARS], resp.headers.get("Retry-After"), None
        except TimeoutError:
            return None, "", None, "timeout"
        except aiohttp.ClientError as exc:
            return None, "", None, f"{type(exc).__name__}: {str(exc)[:200]}"

    async def deliver(self, alert: dict[str, Any]) -> DeliveryResult:
        """POST one alert until delivered, refused (4xx but 429) or out of retries."""
        body, content_type = render_body(alert, fmt=self.fmt, cloudevents=self.cloudevents)
        headers = {
            "Content-Type": content_type,
            IDEMPOTENCY_HEADER: str(alert["alert_id"]),
            CASE_KEY_HEADER: case_key(alert),
            "User-Agent": "churn-signal-detector-webhook/1",
        }
        attempts = 0
        while True:
            attempts += 1
            status, excerpt, retry_after, error = await self._attempt(body, headers)
            self.metrics.attempts.labels(result=_result_class(status, error)).inc()
            if status is not None and 200 <= status < 300:
                return DeliveryResult(True, attempts, status, excerpt, "delivered")
            retryable = status is None or status == 429 or status >= 500
            if not retryable:
                return DeliveryResult(False, attempts, status, excerpt, "webhook_rejected", error)
            if attempts > self.policy.max_retries:
                return DeliveryResult(
                    False, attempts, status, excerpt, "webhook_retries_exhausted", error
                )
            wait = self.policy.backoff(attempts, self.rng)
            hinted = retry_after_seconds(retry_after, self.clock()) if status == 429 else None
            if hinted is not None:
                wait = min(hinted, self.policy.max_seconds)
            log.info(
                "webhook attempt failed; retrying",
                extra={"alert_id": alert["alert_id"], "status": status, "error": error,
                       "attempt": attempts, "wait_s": round(wait, 3)},
            )
            await self.sleep(wait)


# -- the sink loop ---------------------------------------------------------------------------


class Record(Protocol):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


SendFn = Callable[[str, bytes | None, bytes], Awaitable[Any]]


class WebhookSink:
    """Turns fetched alert records into deliveries or dead letters; commits only afterwards."""

    def __init__(
        self,
        client: WebhookClient,
        send: SendFn,
        *,
        deadletter_topic: str,
        concurrency: int = 8,
        metrics: SinkMetrics | None = None,
    ) -> None:
        self.client = client
        self.send = send
        self.deadletter_topic = deadletter_topic
        self.semaphore = asyncio.Semaphore(concurrency)
        self.metrics = metrics or client.metrics

    async def _dead_letter(
        self, rec: Record, reason: str, detail: str, alert_id: str | None,
        result: DeliveryResult | None,
    ) -> None:
        body = deadletter_record(
            rec.value, reason, detail, source_topic=rec.topic, partition=rec.partition,
            offset=rec.offset, failed_at=datetime.now(UTC),
        )
        body.update({
            "alert_id": alert_id,
            "attempts": result.attempts if result else 0,
            "response_code": result.status if result else None,
            "response_body": result.body_excerpt if result else None,
            "url": redact_url(self.client.url),
        })
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        await self.send(self.deadletter_topic, rec.key, raw)
        self.metrics.deliveries.labels(outcome="deadlettered").inc()
        log.warning("alert dead-lettered", extra={"alert_id": alert_id, "reason": reason,
                                                    "status": body["response_code"]})

    async def handle(self, rec: Record) -> DeliveryResult | None:
        """Deliver one record or dead-letter it. Raises only if dead-lettering itself fails."""
        try:
            alert = json.loads(rec.value or b"")
            if not isinstance(alert, dict) or not isinstance(alert.get("alert_id"), str):
                raise ValueError("not an alert object with an alert_id")
            for name in ("type", "severity", "created_at"):
                if name not in alert:
                    raise ValueError(f"alert has no {name}")
        except (ValueError, UnicodeDecodeError) as exc:
            await self._dead_letter(rec, "invalid_alert", str(exc)[:200], None, None)
            return None
        async with self.semaphore:
            self.metrics.inflight.inc()
            started = time.monotonic()
            try:
                result = await self.client.deliver(alert)
            except Exception as exc:  # a bad URL, header or response: this alert, not the sink
                log.exception("webhook delivery failed", extra={"alert_id": alert["alert_id"]})
                result = DeliveryResult(False, 1, None, "", "webhook_failed",
                                        f"{type(exc).__name__}: {str(exc)[:200]}")
            finally:
                self.metrics.inflight.dec()
        self.metrics.duration.observe(time.monotonic() - started)
        if result.delivered:
            self.metrics.deliveries.labels(outcome="delivered").inc()
            return result
        detail = (
            f"HTTP {result.status}" if result.status is not None else (result.error or "error")
        ) + f" after {result.attempts} attempt(s)"
        await self._dead_letter(rec, result.reason, detail, alert["alert_id"], result)
        return result

    async def handle_batch(self, records: list[Record]) -> dict[tuple[str, int], int]:
        """Handle a fetched batch; return the offsets to commit ((topic, partition) -> next).

        Records with the same key (customer) are delivered in order; different keys run
        concurrently, bounded by the semaphore.
        """
        by_key: dict[bytes | None, list[Record]] = defaultdict(list)
        for rec in records:
            by_key[rec.key].append(rec)

        async def in_order(recs: list[Record]) -> None:
            for rec in recs:
                await self.handle(rec)

        await asyncio.gather(*(in_order(recs) for recs in by_key.values()))
        commit: dict[tuple[str, int], int] = {}
        for rec in records:
            tp = (rec.topic, rec.partition)
            commit[tp] = max(commit.get(tp, 0), rec.offset + 1)
        return commit


class Consumer(Protocol):
    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]: ...

    async def commit(self, offsets: dict[Any, int]) -> None: ...


async def consume_loop(
    consumer: Consumer, sink: WebhookSink, stop: asyncio.Event, max_records: int
) -> None:
    """Fetch, deliver or dead-letter the whole batch, then commit; until ``stop`` is set.

    If delivery or dead-lettering raises, nothing of the batch is committed (the exception
    propagates and the records are delivered again after a restart, with the same ids).
    """
    from aiokafka import TopicPartition
    from aiokafka.errors import CommitFailedError

    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
        records = [rec for recs in batch.values() for rec in recs]
        if not records:
            continue
        offsets = await sink.handle_batch(records)
        try:
            await consumer.commit({TopicPartition(t, p): off for (t, p), off in offsets.items()})
        except CommitFailedError:  # rebalanced meanwhile: redelivered, same ids
            log.warning("offset commit failed after a rebalance; records will be re-sent")


async def run_sink(
    settings: Settings,
    *,
    stop: asyncio.Event,
    metrics: SinkMetrics | None = None,
    bootstrap: str | None = None,
    health: Health | None = None,
) -> None:
    """Consume ``churn.alerts`` with the sink's consumer group until ``stop`` is set.

    ``health`` (``/readyz``) turns ready once the consumer holds an assignment."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from streams.kafka import client_kwargs

    metrics = metrics or SinkMetrics()
    kwargs = client_kwargs(settings, bootstrap)
    consumer = AIOKafkaConsumer(
        settings.topic_alerts, **kwargs, group_id=settings.webhook_consumer_group,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**kwargs, acks="all")
    try:
        await producer.start()
        await consumer.start()
        if health is not None:
            health.ready_check = lambda: (bool(consumer.assignment()),
                                          "waiting for the partition assignment")
        connector = aiohttp.TCPConnector(limit=settings.webhook_concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = WebhookClient(
                settings.webhook_url, settings.webhook_secret.get_secret_value(),
                session=session, timeout_seconds=settings.webhook_timeout_seconds,
                policy=RetryPolicy(settings.webhook_max_retries,
                                   settings.webhook_backoff_base_seconds,
                                   settings.webhook_backoff_max_seconds),
                fmt=settings.webhook_format, cloudevents=settings.webhook_cloudevents,
                scheme=settings.webhook_signature_scheme,
                extra_secrets=settings.webhook_extra_secret_list(), metrics=metrics,
            )

            async def send(topic: str, key: bytes | None, value: bytes) -> None:
                await producer.send_and_wait(topic, value=value, key=key)

            sink = WebhookSink(client, send, deadletter_topic=settings.topic_webhook_deadletter,
                               concurrency=settings.webhook_concurrency, metrics=metrics)
            log.info("webhook sink started", extra={"url": redact_url(settings.webhook_url)})
            await consume_loop(consumer, sink, stop, settings.webhook_concurrency * 4)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await producer.stop()


# -- CLI -------------------------------------------------------------------------------------


@click.group(name="sink")
def sink() -> None:
    """Deliver alerts downstream."""


@sink.command(name="webhook")
def webhook_cmd() -> None:
    """POST every alert on churn.alerts to CHURN_WEBHOOK_URL (signed, retried, dead-lettered)."""
    from streams.health import heartbeat, serve
    from streams.logs import setup_logging
    from streams.metrics import add_process_metrics

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: show it plainly
        raise click.ClickException(f"invalid configuration: {exc}") from None
    if not settings.kafka_broker:
        raise click.ClickException("CHURN_KAFKA_BROKER is not set")
    if not settings.webhook_url:
        raise click.ClickException("CHURN_WEBHOOK_URL is not set")
    if not settings.webhook_secret.get_secret_value():
        raise click.ClickException("CHURN_WEBHOOK_SECRET is not set (requests must be signed)")
    setup_logging(settings.log_level, settings.log_json)
    metrics = SinkMetrics()
    add_process_metrics(metrics.registry)
    health = Health(settings.liveness_timeout_seconds)
    if settings.metrics_port:  # /metrics, /livez, /readyz
        serve(settings.metrics_port, metrics.registry, health)

    async def main_() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        beating = asyncio.create_task(heartbeat(health, stop))
        try:
            await run_sink(settings, stop=stop, metrics=metrics, health=health)
        finally:
            beating.cancel()

    asyncio.run(main_())
