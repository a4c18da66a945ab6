"""Webhook sink against a real HTTP server on loopback with scripted failures."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from detector.alerts import Alert, make_alert_id
from streams.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RetryPolicy,
    SignatureError,
    SinkMetrics,
    WebhookClient,
    WebhookSink,
    consume_loop,
    redact_url,
    render_body,
    retry_after_seconds,
    sign,
    verify_signature,
)

SECRET = "s3cret-shared-with-the-crm"
CONTRACTS = Path(__file__).resolve().parents[2] / "detector" / "contracts"


def make_alert(n: int, customer: str | None = "C-1", severity: str = "high") -> dict[str, Any]:
    return Alert(
        alert_id=make_alert_id("customer_churn_risk", customer or "", str(n)),
        type="customer_churn_risk",
        severity=severity,
        customer_id=customer,
        journey_stage="billing",
        score=0.81234,
        reasons=("Latest email message asks to leave", "Friction raised: billing ×2"),
        evidence=({"event_id": f"e{n}", "channel": "email", "occurred_at":
                   "2026-11-02T09:12:00+00:00", "churn_intent": "explicit",
                   "friction_categories": ["billing"], "sentiment": -0.7, "rating": None,
                   "snippet": "please cancel my contract"},),
        recommended_action="Call the customer today",
        created_at=datetime(2026, 11, 2, 9, 12, tzinfo=UTC),
        model_version="test-model",
        details={"trigger_event_id": f"e{n}"},
    ).to_dict()


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    signature_ok: bool
    answer: str


@dataclass
class Receiver:
    """A loopback CRM endpoint: verifies signatures and answers from a script."""

    script: list[Any] = field(default_factory=list)
    default: Any = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    inflight: int = 0
    max_inflight: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            verify_signature(SECRET, body, request.headers.get(TIMESTAMP_HEADER),
                             request.headers.get(SIGNATURE_HEADER))
            ok = True
        except SignatureError:
            ok = False
        answer = self.script.pop(0) if self.script else self.default
        self.received.append(Received(body, dict(request.headers), ok, str(answer)))
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if not ok:
                return web.Response(status=401, text="bad signature")
            if answer == "timeout":
                await asyncio.sleep(5)
                return web.Response(status=200)
            if isinstance(answer, tuple):  # (429, retry-after)
                return web.Response(status=answer[0], headers={"Retry-After": answer[1]},
                                    text="slow down")
            status = int(answer)
            if 200 <= status < 300:
                self.events.append("post:" + request.headers[IDEMPOTENCY_HEADER])
            return web.Response(status=status, text=f"answer {status}: field 'subject' invalid"
                                if status == 400 else f"answer {status}")
        finally:
            self.inflight -= 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rcv = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/churn", rcv.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rcv.url = f"http://127.0.0.1:{port}/hooks/churn"
    yield rcv
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class Sleeps:
    """Records the backoff waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(receiver: Receiver, session: aiohttp.ClientSession, **kw: Any) -> WebhookClient:
    kw.setdefault("policy", RetryPolicy(max_retries=3, base_seconds=0.1, max_seconds=5.0))
    kw.setdefault("timeout_seconds", 0.5)
    kw.setdefault("rng", random.Random(7))
    kw.setdefault("metrics", SinkMetrics(CollectorRegistry()))
    return WebhookClient(receiver.url, SECRET, session=session, **kw)


async def test_signed_post_with_idempotency_key(receiver, session):
    alert = make_alert(1)
    result = await client(receiver, session).deliver(alert)
    assert result.delivered and result.attempts == 1 and result.status == 200
    [req] = receiver.received
    assert req.signature_ok
    assert req.headers[IDEMPOTENCY_HEADER] == alert["alert_id"]
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body) == alert
    ts = req.headers[TIMESTAMP_HEADER]
    assert abs(int(ts) - time.time()) < 5
    assert req.headers[SIGNATURE_HEADER] == sign(SECRET, ts, req.body)


def test_verify_signature_refuses_forgeries_and_old_timestamps():
    body = json.dumps(make_alert(2)).encode()
    now = 1_800_000_000
    ts = str(now)
    good = sign(SECRET, ts, body)
    verify_signature(SECRET, body, ts, good, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature("other-secret", body, ts, good, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, body + b" ", ts, good, now=now)
    with pytest.raises(SignatureError, match="does not match"):  # timestamp is signed too
        verify_signature(SECRET, body, str(now + 1), good, now=now)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(SECRET, body, ts, good, now=now + 301)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(SECRET, body, ts, good, now=now - 301)
    with pytest.raises(SignatureError, match="missing"):
        verify_signature(SECRET, body, None, good, now=now)


async def test_retries_follow_scripted_failures(receiver, session):
    receiver.script = [500, (429, "2"), "timeout", 200]
    sleeps = Sleeps()
    metrics = SinkMetrics(CollectorRegistry())
    alert = make_alert(3)
    result = await client(receiver, session, sleep=sleeps, metrics=metrics).deliver(alert)
    assert result.delivered and result.attempts == 4
    assert [r.answer for r in receiver.received] == ["500", "(429, '2')", "timeout", "200"]
    # backoff 1: 0.1 s × jitter [0.5, 1]; then Retry-After: 2 honoured; backoff 3: 0.4 × jitter
    assert 0.05 <= sleeps.waits[0] <= 0.1
    assert sleeps.waits[1] == 2.0
    assert 0.2 <= sleeps.waits[2] <= 0.4
    assert len(sleeps.waits) == 3
    assert {r.headers[IDEMPOTENCY_HEADER] for r in receiver.received} == {alert["alert_id"]}
    assert len({r.body for r in receiver.received}) == 1
    assert all(r.signature_ok for r in receiver.received)
    reg = metrics.registry
    for result_class in ("5xx", "429", "timeout", "2xx"):
        assert reg.get_sample_value("churn_webhook_attempts_total", {"result": result_class}) == 1


async def test_retry_after_is_capped_and_parsed_as_http_date(receiver, session):
    receiver.script = [(429, "3600"), 200]
    sleeps = Sleeps()
    await client(receiver, session, sleep=sleeps).deliver(make_alert(4))
    assert sleeps.waits == [5.0]  # capped at backoff max
    later = datetime.fromtimestamp(1_800_000_030, UTC)
    assert retry_after_seconds(format_datetime(later, usegmt=True), now=1_800_000_000) == 30
    assert retry_after_seconds("soon") is None


async def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(max_retries=10, base_seconds=1.0, max_seconds=30.0)
    rng = random.Random(1)
    waits = [policy.backoff(n, rng) for n in range(1, 8)]
    for n, w in enumerate(waits, start=1):
        ceiling = min(30.0, 2 ** (n - 1))
        assert ceiling / 2 <= w <= ceiling
    assert len({round(w, 6) for w in waits}) == len(waits), "jitter varies the waits"


def sink_for(receiver, session, *, concurrency=4, **kw):
    dead: list[tuple[str, bytes | None, dict[str, Any]]] = []

    async def send(topic: str, key: bytes | None, value: bytes) -> None:
        body = json.loads(value)
        dead.append((topic, key, body))
        receiver.events.append(f"dlq:{body['alert_id']}")

    c = client(receiver, session, **kw)
    return WebhookSink(c, send, deadletter_topic="churn.alerts.webhook-deadletter",
                       concurrency=concurrency), dead


@dataclass
class Rec:
    offset: int
    value: bytes | None
    key: bytes | None = b"C-1"
    topic: str = "churn.alerts"
    partition: int = 0


def deadletter_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((CONTRACTS / "deadletter.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


async def test_400_is_not_retried_and_dead_lettered_with_code_and_excerpt(receiver, session):
    receiver.script = [400]
    sleeps = Sleeps()
    sink, dead = sink_for(receiver, session, sleep=sleeps)
    alert = make_alert(5)
    await sink.handle(Rec(7, json.dumps(alert).encode()))
    assert len(receiver.received) == 1 and sleeps.waits == []
    [(topic, key, body)] = dead
    assert topic == "churn.alerts.webhook-deadletter" and key == b"C-1"
    assert body["reason"] == "webhook_rejected" and body["response_code"] == 400
    assert "field 'subject' invalid" in body["response_body"]
    assert body["alert_id"] == alert["alert_id"] and body["attempts"] == 1
    assert body["offset"] == 7 and json.loads(body["raw"]) == alert
    assert body["url"] == receiver.url
    deadletter_validator().validate(body)


async def test_permanent_failure_ends_on_the_deadletter_topic(receiver, session):
    receiver.default = 503
    sleeps = Sleeps()
    sink, dead = sink_for(receiver, session, sleep=sleeps)
    await sink.handle(Rec(0, json.dumps(make_alert(6)).encode()))
    assert len(receiver.received) == 4  # first try + max_retries=3
    assert len(sleeps.waits) == 3
    [(_, _, body)] = dead
    assert body["reason"] == "webhook_retries_exhausted"
    assert body["response_code"] == 503 and body["attempts"] == 4
    assert body["response_body"] == "answer 503"
    deadletter_validator().validate(body)
    reg = sink.metrics.registry
    assert reg.get_sample_value("churn_webhook_deliveries_total", {"outcome": "deadlettered"}) == 1


async def test_network_error_is_retried_then_dead_lettered(session):
    dead_url = Receiver(url="http://127.0.0.1:9/nothing-listens-here")
    sleeps = Sleeps()
    sink, dead = sink_for(dead_url, session, sleep=sleeps,
                          policy=RetryPolicy(max_retries=2, base_seconds=0.1, max_seconds=1))
    await sink.handle(Rec(0, json.dumps(make_alert(7)).encode()))
    [(_, _, body)] = dead
    assert body["reason"] == "webhook_retries_exhausted" and body["response_code"] is None
    assert body["attempts"] == 3 and "Client" in body["detail"]


async def test_invalid_alert_record_is_dead_lettered_without_a_post(receiver, session):
    sink, dead = sink_for(receiver, session)
    await sink.handle(Rec(3, b"{not json"))
    await sink.handle(Rec(4, json.dumps({"hello": 1}).encode()))
    assert receiver.received == []
    assert [d[2]["reason"] for d in dead] == ["invalid_alert", "invalid_alert"]
    for _, _, body in dead:
        deadletter_validator().validate(body)


async def test_concurrency_is_bounded_and_one_customer_stays_in_order(receiver, session):
    receiver.delay = 0.15
    # a request timed out by a stalled event loop (a loaded machine) would be sent again:
    # this test is about concurrency and order, so the timeout is far from the delay
    sink, _ = sink_for(receiver, session, concurrency=3, timeout_seconds=10.0)
    recs = [Rec(i, json.dumps(make_alert(i, customer=f"C-{i}")).encode(), key=f"C-{i}".encode())
            for i in range(9)]
    same = [make_alert(100 + i, customer="C-SAME") for i in range(3)]
    recs += [Rec(9 + i, json.dumps(a).encode(), key=b"C-SAME") for i, a in enumerate(same)]
    offsets = await sink.handle_batch(recs)
    assert offsets == {("churn.alerts", 0): 12}
    assert len(receiver.received) == 12
    assert receiver.max_inflight == 3
    order = [json.loads(r.body)["alert_id"] for r in receiver.received
             if json.loads(r.body)["customer_id"] == "C-SAME"]
    assert order == [a["alert_id"] for a in same]


class FakeConsumer:
    """Hands out scripted batches and records commits (in the receiver's event log)."""

    def __init__(self, batches: list[list[Rec]], log: list[str], stop: asyncio.Event) -> None:
        self.batches = batches
        self.log = log
        self.stop = stop
        self.commits: list[dict[Any, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, list[Rec]]:
        if not self.batches:
            self.stop.set()
            return {}
        batch = self.batches.pop(0)
        return {("churn.alerts", 0): batch}

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.append({(tp.topic, tp.partition): o for tp, o in offsets.items()})
        self.log.append("commit")


async def test_offsets_are_committed_only_after_delivery_or_dead_lettering(receiver, session):
    receiver.script = [200, 400, 500, 200, 200]
    receiver.delay = 0.05
    sink, dead = sink_for(receiver, session, sleep=Sleeps())
    alerts = [make_alert(i, customer=f"C-{i}") for i in range(4)]
    batch = [Rec(10 + i, json.dumps(a).encode(), key=f"C-{i}".encode())
             for i, a in enumerate(alerts)]
    stop = asyncio.Event()
    consumer = FakeConsumer([batch], receiver.events, stop)
    await consume_loop(consumer, sink, stop, max_records=16)
    assert consumer.commits == [{("churn.alerts", 0): 14}]
    assert receiver.events[-1] == "commit"
    handled = {e.split(":", 1)[1] for e in receiver.events[:-1]}
    assert handled == {a["alert_id"] for a in alerts}
    assert len(dead) == 1


async def test_nothing_is_committed_when_dead_lettering_fails(receiver, session):
    receiver.default = 400

    async def broken_send(topic: str, key: bytes | None, value: bytes) -> None:
        raise ConnectionError("dead-letter topic unavailable")

    sink = WebhookSink(client(receiver, session), broken_send,
                       deadletter_topic="churn.alerts.webhook-deadletter", concurrency=2)
    stop = asyncio.Event()
    consumer = FakeConsumer([[Rec(0, json.dumps(make_alert(9)).encode())]], [], stop)
    with pytest.raises(ConnectionError):
        await consume_loop(consumer, sink, stop, max_records=16)
    assert consumer.commits == []


async def test_cloudevents_and_crm_case_bodies(receiver, session):
    alert = make_alert(11)
    await client(receiver, session, cloudevents=True).deliver(alert)
    req = receiver.received[-1]
    assert req.headers["Content-Type"] == "application/cloudevents+json"
    envelope = json.loads(req.body)
    assert envelope["specversion"] == "1.0" and envelope["id"] == alert["alert_id"]
    assert envelope["type"] == "com.churn-signal-detector.alert.customer_churn_risk"
    assert envelope["time"] == alert["created_at"] and envelope["data"] == alert
    assert envelope["subject"] == "C-1" and envelope["dataschema"].endswith("alert.schema.json")
    body, ctype = render_body(alert, fmt="crm_case")
    case = json.loads(body)
    assert ctype == "application/json" and case["external_id"] == alert["alert_id"]


def test_redact_url_drops_credentials_and_query():
    assert redact_url("https://user:pw@crm.example:8443/hook?token=abc") == (
        "https://crm.example:8443/hook"
    )


async def test_an_escalating_customer_is_one_crm_case_updated_in_place(receiver, session):
    from detector.engine import Detector
    from tests.conftest import make_signal

    story = [
        make_signal("x1", "C-ESC", hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("x2", "C-ESC", hours=20, friction=("billing",), sentiment=-0.7,
                    intent="at_risk", p=0.7, channel="email"),
        make_signal("x3", "C-ESC", hours=30, friction=("billing",), sentiment=-0.8,
                    intent="at_risk", p=0.9, channel="call"),
        make_signal("x4", "C-ESC", hours=40, intent="explicit", p=0.95, sentiment=-0.9),
    ]
    detector = Detector()
    alerts = [a.to_dict() for s in story for a in detector.process(s)
              if a.type == "customer_churn_risk"]
    assert len(alerts) >= 2
    crm = client(receiver, session, fmt="crm_case")
    for alert in alerts:
        assert (await crm.deliver(alert)).delivered
    cases = [json.loads(r.body) for r in receiver.received]
    assert len({c["external_id"] for c in cases}) == 1, "one case key: upserts, not new cases"
    assert {r.headers["X-Churn-Case-Key"] for r in receiver.received} == {cases[0]["external_id"]}
    ranks = [("low", "medium", "high", "critical").index(c["severity"]) for c in cases]
    # severity never falls; it stays when the case learns of a first request to leave
    assert ranks == sorted(ranks), "the case's severity never decreases"
    assert cases[0]["supersedes"] is None
    assert [c["supersedes"] for c in cases[1:]] == [c["alert_id"] for c in cases[:-1]]
    assert len({r.headers[IDEMPOTENCY_HEADER] for r in receiver.received}) == len(cases)
