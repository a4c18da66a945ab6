"""Plain aiokafka clients (producer for ``produce``/feeder, consumer for live alerts)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from detector.schema import Event
from streams.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the configured protocol (CA bundle, client certificate), if TLS."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    ctx = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    if settings.kafka_ssl_certfile:
        ctx.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    return ctx


def client_kwargs(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """aiokafka connection arguments from settings (TLS / SASL included)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": bootstrap or settings.kafka_broker,
        "security_protocol": settings.kafka_security_protocol,
    }
    ctx = ssl_context(settings)
    if ctx is not None:
        kwargs["ssl_context"] = ctx
    if settings.kafka_security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs


def shift_to_now(events: list[Event], now: datetime | None = None) -> list[dict[str, Any]]:
    """Event dicts with occurred_at shifted by whole hours so that the last event happens
    within the hour before ``now``. Whole hours keep the events where they were within the
    stage windows (which start on whole quarter hours) and the hours of the day: shifted to
    the minute, the same sample raised a ``cx_gap`` or not depending on when it was run."""
    if not events:
        return []
    now = now or datetime.now(UTC)
    delta: timedelta = now - max(e.occurred_at for e in events)
    delta -= delta % timedelta(hours=1)
    out = []
    for event in events:
        body = event.to_dict()
        body["occurred_at"] = (event.occurred_at + delta).isoformat()
        out.append(body)
    return out


async def produce_events(
    settings: Settings,
    bodies: Iterable[dict[str, Any]],
    *,
    bootstrap: str | None = None,
    rate: float | None = None,
    raw: Iterable[tuple[str, bytes, bytes]] | None = None,
) -> int:
    """Send event dicts to their channel's source topic, keyed by customer_id.

    ``rate`` limits events per second (None: as fast as possible).
    """
    producer = AIOKafkaProducer(**client_kwargs(settings, bootstrap), acks="all")
    await producer.start()
    topics = settings.source_topics()
    sent = 0
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for body in bodies:
            topic = topics[body["channel"]]
            value = json.dumps(body, ensure_ascii=False).encode("utf-8")
            await producer.send(topic, value=value, key=body["customer_id"].encode("utf-8"))
            sent += 1
            if rate:
                delay = started + sent / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        for topic, key, value in raw or ():
            await producer.send(topic, value=value, key=key)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def consume_json(
    settings: Settings,
    topic: str,
    *,
    bootstrap: str | None = None,
    from_beginning: bool = True,
    group_id: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield JSON objects from ``topic`` until cancelled (undecodable records are skipped)."""
    consumer = AIOKafkaConsumer(
        topic,
        **client_kwargs(settings, bootstrap),
        group_id=group_id,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=group_id is not None,
    )
    await consumer.start()
    try:
        async for msg in consumer:
            try:
                obj = json.loads(msg.value)
            except (TypeError, ValueError):
                continue
            if isinstance(obj, dict):
                yield obj
    finally:
        await consumer.stop()


async def send_forget(settings: Settings, customer_id: str, bootstrap: str | None = None) -> None:
    """Put a forget record for ``customer_id`` on the signals topic (keyed like its signals,
    so it lands in the customer's partition, after every signal already there)."""
    from detector.erasure import Forget

    producer = AIOKafkaProducer(**client_kwargs(settings, bootstrap), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic_signals, key=customer_id.encode("utf-8"),
            value=json.dumps(Forget(customer_id).to_wire()).encode("utf-8"))
    finally:
        await producer.stop()
