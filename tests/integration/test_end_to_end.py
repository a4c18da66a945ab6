"""Tier 3: the real worker (real model) over the embedded broker, read by independent clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import collect, produce

pytestmark = [pytest.mark.integration, pytest.mark.model]

NOW = datetime.now(UTC).replace(microsecond=0)


def ev(eid: str, cust: str, channel: str, hours_ago: float, text: str, **extra) -> dict:
    body = {
        "event_id": eid,
        "customer_id": cust,
        "channel": channel,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "text": text,
    }
    body.update(extra)
    return body


LEAVING = [
    ev(
        "L1",
        "C-LEAVE",
        "chat",
        100,
        "I was charged twice for my November bill, please fix it.",
        journey_stage="billing",
    ),
    ev(
        "L2",
        "C-LEAVE",
        "email",
        70,
        "Second time writing: the double charge is still on my "
        "account and nobody has answered my chat.",
        journey_stage="billing",
    ),
    ev(
        "L3",
        "C-LEAVE",
        "call",
        40,
        "",
        turns=[
            {"speaker": "agent", "text": "Thanks for calling, how can I help?"},
            {
                "speaker": "customer",
                "text": "Third time about this double charge. Honestly I'm "
                "looking at other providers, what is the early termination fee?",
            },
        ],
    ),
    ev(
        "L4",
        "C-LEAVE",
        "email",
        2,
        "Please cancel my subscription and close my account. "
        "I'm switching to another provider at the end of the week.",
    ),
]
HAPPY = [
    ev("H1", "C-HAPPY", "review", 90, "Setup took five minutes and the app is lovely.", rating=5),
    ev("H2", "C-HAPPY", "survey", 30, "Support answered quickly, very happy.", rating=5),
    ev("H3", "C-HAPPY", "social", 1, "Loving the new features this month, great job team!"),
]


async def test_worker_turns_events_into_alerts_over_the_wire(broker, start_worker):
    topics = {
        "review": "interactions.reviews",
        "survey": "interactions.tickets",
        "social": "interactions.social",
        "call": "interactions.calls",
        "chat": "interactions.tickets",
        "email": "interactions.tickets",
    }
    worker = start_worker(broker.bootstrap, CHURN_ENCODER="transformer")
    records = [
        (topics[e["channel"]], e["customer_id"].encode(), json.dumps(e).encode())
        for e in sorted(LEAVING + HAPPY, key=lambda e: e["occurred_at"])
    ]
    records.insert(2, ("interactions.tickets", b"junk", b"{this is not json"))
    records.insert(
        4,
        (
            "interactions.reviews",
            b"C-X",
            json.dumps(
                {
                    "event_id": "bad1",
                    "customer_id": "C-X",
                    "channel": "fax",
                    "occurred_at": NOW.isoformat(),
                    "text": "hello",
                }
            ).encode(),
        ),
    )
    records.insert(
        5,
        (
            "interactions.reviews",
            b"C-X",
            json.dumps(
                {
                    "event_id": "bad2",
                    "channel": "review",
                    "occurred_at": NOW.isoformat(),
                    "text": "no customer",
                }
            ).encode(),
        ),
    )
    await produce(broker.bootstrap, records)

    def explicit_alert(alerts):
        return any(
            a["customer_id"] == "C-LEAVE" and a["details"]["trigger_event_id"] == "L4"
            for a in alerts
        )

    alerts = await collect(broker.bootstrap, "churn.alerts", explicit_alert, 150, worker)
    assert explicit_alert(alerts), f"no alert for the leaving customer; worker log:\n{worker.log()}"
    final = [a for a in alerts if a["details"]["trigger_event_id"] == "L4"][0]
    assert final["type"] == "customer_churn_risk"
    assert final["_key"] == "C-LEAVE"
    assert final["severity"] in ("high", "critical")
    assert {"L1", "L2", "L4"} <= {e["event_id"] for e in final["evidence"]}
    assert {"chat", "email"} <= {e["channel"] for e in final["evidence"]}
    assert any("asks to leave" in r for r in final["reasons"])
    for field in (
        "alert_id",
        "score",
        "recommended_action",
        "created_at",
        "schema_version",
        "model_version",
        "journey_stage",
    ):
        assert field in final
    assert not [a for a in alerts if a["customer_id"] == "C-HAPPY"]

    dead = await collect(broker.bootstrap, "churn.deadletter", lambda r: len(r) >= 3, 30, worker)
    reasons = sorted(d["reason"] for d in dead)
    assert reasons == ["invalid_json", "missing_field", "unknown_channel"]
    assert all(d["source_topic"] and d["offset"] is not None for d in dead)
    assert worker.alive(), "a malformed record must not stop the worker"

    # the worker keeps consuming after bad input: a new explicit event still alerts
    late = ev("L5", "C-LATE", "chat", 0, "Close my account today, I have switched provider.")
    await produce(
        broker.bootstrap, [("interactions.tickets", b"C-LATE", json.dumps(late).encode())]
    )
    more = await collect(
        broker.bootstrap,
        "churn.alerts",
        lambda r: any(a["customer_id"] == "C-LATE" for a in r),
        60,
        worker,
    )
    assert any(a["customer_id"] == "C-LATE" for a in more)
