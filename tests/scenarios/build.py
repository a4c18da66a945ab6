"""Builds the scenario event files (JSONL) used by the scenario tests.

Run `python -m tests.scenarios.build` to regenerate; the files are committed. Events carry
`metadata.labels` so that the scenarios test the rules, not the model
(`CHURN_CLASSIFIER=labels`, see models/labelled.py).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def ev(eid, cust, channel, at, text, labels=None, **extra):
    body = {
        "event_id": eid,
        "customer_id": cust,
        "channel": channel,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "text": text,
    }
    body.update(extra)
    if labels is not None:
        body.setdefault("metadata", {})["labels"] = labels
    return body


def happy():
    texts = [
        "Love the new dashboard!",
        "Setup was quick, thanks.",
        "Great support today.",
        "Five stars, works perfectly.",
        "Renewed without any fuss.",
        "All good here.",
    ]
    return [
        ev(
            f"hap-{i}",
            "C-HAPPY",
            ch,
            T0 + timedelta(days=i),
            t,
            {"sentiment": 0.8},
            **({"rating": 5} if ch in ("review", "survey") else {}),
        )
        for i, (t, ch) in enumerate(
            zip(texts, ["review", "chat", "survey", "review", "email", "social"], strict=False)
        )
    ]


def mild_review():
    return [
        ev(
            "mild-1",
            "C-MILD",
            "review",
            T0,
            "Decent product, the app is a bit slow sometimes.",
            {"sentiment": -0.3, "friction": ["product"]},
            rating=3,
        )
    ]


def onboarding_to_cancel():
    topic = "activation code rejected"
    return [
        ev(
            "onb-1",
            "C-ONB",
            "chat",
            T0,
            "My activation code is rejected, can't get started.",
            {"sentiment": -0.4, "friction": ["access"], "topic": topic},
            journey_stage="onboarding",
        ),
        ev(
            "onb-2",
            "C-ONB",
            "ticket",
            T0 + timedelta(days=1),
            "Still can't activate, the code is rejected again.",
            {"sentiment": -0.6, "friction": ["access"], "topic": topic},
            journey_stage="support",
        ),
        ev(
            "onb-3",
            "C-ONB",
            "ticket",
            T0 + timedelta(days=2, hours=3),
            "Third ticket: activation still failing, nobody has fixed it.",
            {"sentiment": -0.7, "friction": ["access", "service"], "topic": topic},
            journey_stage="support",
        ),
        ev(
            "onb-4",
            "C-ONB",
            "email",
            T0 + timedelta(days=3),
            "Please cancel my subscription and close my account. I never got it working.",
            {
                "churn_intent": "explicit",
                "churn_probability": 0.95,
                "sentiment": -0.8,
                "friction": ["access"],
                "topic": topic,
            },
            journey_stage="renewal",
        ),
    ]


def cross_channel():
    topic = "double charge on invoice"
    return [
        ev(
            "xch-1",
            "C-XCH",
            "chat",
            T0,
            "I was charged twice this month.",
            {"sentiment": -0.5, "friction": ["billing"], "topic": topic},
            journey_stage="billing",
        ),
        ev(
            "xch-2",
            "C-XCH",
            "email",
            T0 + timedelta(days=2),
            "Writing again about the double charge, chat said it was fixed, it isn't.",
            {"sentiment": -0.6, "friction": ["billing", "integration"], "topic": topic},
            journey_stage="billing",
        ),
        ev(
            "xch-3",
            "C-XCH",
            "call",
            T0 + timedelta(days=4),
            "",
            {"sentiment": -0.7, "friction": ["billing", "integration"], "topic": topic},
            journey_stage="billing",
            turns=[
                {"speaker": "agent", "text": "How can I help?"},
                {
                    "speaker": "customer",
                    "text": "Third time: I was charged twice and I have "
                    "explained it on chat and by email already.",
                },
            ],
        ),
    ]


def stage_spike():
    rng = random.Random(7)
    out = []
    n = 0
    # 8 quiet hours: onboarding and usage at ~24 events/hour, ~4% access friction
    for minute in range(0, 8 * 60, 5):
        for stage in ("onboarding", "usage"):
            for _ in range(2):
                n += 1
                at = T0 + timedelta(minutes=minute, seconds=rng.randint(0, 299))
                bad = rng.random() < 0.04
                labels = {"sentiment": -0.3 if bad else 0.4}
                if bad:
                    labels["friction"] = ["access"]
                out.append(
                    ev(
                        f"spk-{n}",
                        f"C-S{n}",
                        rng.choice(["chat", "email", "ticket"]),
                        at,
                        "Login trouble" if bad else "How do I add a user?",
                        labels,
                        journey_stage=stage,
                    )
                )
    # the surge: one hour of onboarding access failures across many customers
    for i in range(50):
        n += 1
        at = T0 + timedelta(hours=8, seconds=i * 70)
        bad = i % 5 != 0
        labels = {"sentiment": -0.4 if bad else 0.3}
        if bad:
            labels["friction"] = ["access"]
        out.append(
            ev(
                f"spk-{n}",
                f"C-S{n}",
                ["chat", "email", "social"][i % 3],
                at,
                "Can't log in after signing up, verification email never arrives"
                if bad
                else "Signed up, looks good",
                labels,
                journey_stage="onboarding",
            )
        )
    # usage stays quiet during the surge, and a little after it
    for i in range(30):
        n += 1
        at = T0 + timedelta(hours=8, seconds=i * 130)
        out.append(
            ev(
                f"spk-{n}",
                f"C-S{n}",
                "chat",
                at,
                "How do I export a report?",
                {"sentiment": 0.4},
                journey_stage="usage",
            )
        )
    return sorted(out, key=lambda e: e["occurred_at"])


def cx_gap():
    out = []
    for i in range(60):  # billing events every 5 minutes for 5 hours, customers unhappy
        at = T0 + timedelta(minutes=5 * i)
        out.append(
            ev(
                f"gap-{i}",
                f"C-G{i % 20}",
                ["email", "chat", "survey"][i % 3],
                at,
                "The new invoice layout is confusing and the fees went up.",
                {"sentiment": -0.5, "friction": ["billing"] if i % 4 else []},
                journey_stage="billing",
            )
        )
    return out


def rant():
    return [
        ev(
            f"rant-{i}",
            "C-RANT",
            "social",
            T0 + timedelta(minutes=i),
            f"@brand your service is a joke, {i + 1} hours without internet and no answer",
            {
                "churn_intent": "at_risk" if i % 3 else "none",
                "sentiment": -0.9,
                "friction": ["product", "service"],
                "topic": "internet outage no answer",
            },
        )
        for i in range(50)
    ]


def out_of_order():
    story = onboarding_to_cancel()
    late = [
        dict(e, event_id=e["event_id"].replace("onb", "ooo"), customer_id="C-OOO") for e in story
    ]
    return [late[2], late[0], late[3], late[1]]


SCENARIOS = {
    "happy": happy,
    "mild_review": mild_review,
    "onboarding_to_cancel": onboarding_to_cancel,
    "cross_channel": cross_channel,
    "stage_spike": stage_spike,
    "cx_gap": cx_gap,
    "rant": rant,
    "out_of_order": out_of_order,
}


def main() -> None:
    for name, build in SCENARIOS.items():
        with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for body in build():
                fh.write(json.dumps(body) + "\n")


if __name__ == "__main__":
    main()
