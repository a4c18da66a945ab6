"""Soak (opt-in: ``pytest -m soak``): a steady rate for a few minutes, RSS over time.

A worker (``CHURN_CLASSIFIER=labels``) takes ``CHURN_SOAK_RATE`` events/s (default 150) for
``CHURN_SOAK_SECONDS`` (default 240) from a fixed population of customers, so that the
per-customer state warms up and then stops growing. The worker's RSS is sampled every
5 s and written as CSV (seconds, rss_bytes, produced) to ``$CHURN_SOAK_REPORT`` (default:
the test's tmp dir; the path is printed). Passes when memory plateaus: the mean RSS of the
last third of the run is within 8 % of the middle third's, everything produced was
processed, and the largest per-customer state stays under its bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import produce
from tests.integration.test_faults import account, read_topic, wait_processing

RATE = float(os.environ.get("CHURN_SOAK_RATE", "150"))
SECONDS = float(os.environ.get("CHURN_SOAK_SECONDS", "240"))
CUSTOMERS = int(os.environ.get("CHURN_SOAK_CUSTOMERS", "60"))
# the run's own length plus start-up and the final count (the suite default is 600 s)
pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(SECONDS + 400)]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def event(i: int, rng: random.Random) -> tuple[str, bytes, bytes]:
    c = rng.randrange(CUSTOMERS)
    roll = rng.random()
    labels: dict = {"sentiment": 0.3}
    if roll < 0.1:
        labels = {"churn_intent": "at_risk", "friction": ["billing"], "sentiment": -0.6,
                  "topic": f"issue {rng.randrange(20)}"}
    elif roll < 0.12:
        labels = {"churn_intent": "explicit", "sentiment": -0.8}
    body = {"event_id": f"soak-{i}", "customer_id": f"C-{c}", "channel": "chat",
            "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
            "text": f"message {i} " + "lorem ipsum " * rng.randrange(1, 30),
            "journey_stage": rng.choice(["billing", "support", "usage", "renewal"]),
            "metadata": {"labels": labels}}
    return "interactions.tickets", body["customer_id"].encode(), json.dumps(body).encode()


async def drained(worker, expected: int, timeout: float) -> None:
    """Until the worker's own metrics say it has consumed ``expected`` events."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).read().decode())
        consumed = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("churn_events_consumed_total{"))
        if consumed >= expected:
            await asyncio.sleep(5)  # the customers / stages agents trail the classifier
            return
        await asyncio.sleep(2)


async def test_soak_memory_plateaus(broker, start_worker, tmp_path):
    # glibc gives each executor thread its own malloc arena; capping them keeps RSS from
    # stepping up whenever another thread first allocates (see docs/robustness.md)
    arenas = {"MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}
    worker = start_worker(broker.bootstrap, CHURN_CLASSIFIER="labels",
                          CHURN_LAG_INTERVAL_SECONDS="5", **arenas)
    rng = random.Random(7)
    await produce(broker.bootstrap, [event(-1, rng)])
    await wait_processing(broker.bootstrap, worker)
    total = int(RATE * SECONDS)
    records = [event(i, rng) for i in range(total)]
    samples: list[tuple[float, int, int]] = []
    started = time.monotonic()
    feeding = asyncio.create_task(produce(broker.bootstrap, records, rate=RATE))
    while not feeding.done():
        elapsed = time.monotonic() - started
        samples.append((round(elapsed, 1), rss_bytes(worker.proc.pid),
                        min(total, int(elapsed * RATE))))
        assert worker.alive(), worker.log()
        await asyncio.sleep(5)
    await feeding
    report = Path(os.environ.get("CHURN_SOAK_REPORT") or tmp_path / "soak-rss.csv")
    report.write_text("seconds,rss_bytes,produced\n" + "".join(
        f"{t},{r},{n}\n" for t, r, n in samples))
    print(f"\nSOAK RSS series: {report}")

    await drained(worker, total + 1, timeout=120)
    counts = await account(broker.bootstrap, total + 1, 0)
    state = [v for _, v in await read_topic(broker.bootstrap,
                                            "churn-signal-detector-customers-changelog",
                                            latest_only=True)]
    largest = max(len(json.dumps(v)) for v in state if v)
    n = len(samples)
    middle = [r for _, r, _ in samples[n // 3: 2 * n // 3]]
    last = [r for _, r, _ in samples[2 * n // 3:]]
    mid_mean, last_mean = sum(middle) / len(middle), sum(last) / len(last)
    per_event = (last_mean - mid_mean) / max(1.0, RATE * SECONDS / 3)
    summary = {"rate": RATE, "seconds": SECONDS, "events": total + 1,
               "processed": counts["processed"], "lost": counts["lost"],
               "rss_first_mb": round(samples[0][1] / 2**20, 1),
               "rss_middle_mean_mb": round(mid_mean / 2**20, 1),
               "rss_last_mean_mb": round(last_mean / 2**20, 1),
               "rss_max_mb": round(max(r for _, r, _ in samples) / 2**20, 1),
               "growth_bytes_per_event_last_third": round(per_event, 1),
               "largest_customer_state_bytes": largest}
    print(f"SOAK-REPORT {json.dumps(summary)}")
    assert counts["lost"] == 0 and counts["processed"] == total + 1, summary
    assert last_mean <= mid_mean * 1.08, summary
    assert largest < 64_000, summary
