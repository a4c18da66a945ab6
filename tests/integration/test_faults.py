"""Delivery under faults, over the embedded broker: kill -9, broker freeze, rebalance.

Each test streams labelled events (``CHURN_CLASSIFIER=labels``: no model) plus junk records,
disturbs the worker(s) mid-stream, then accounts for every produced record from outside:

* processed: the sum of ``events`` over the last ``customers`` changelog value per customer
  (what a restarted worker would restore), and the same for the ``stages`` table;
* dead-lettered: source records named by ``churn.deadletter`` (topic, partition, offset:
  a dead letter redelivered after a crash is counted once);
* lost = produced - processed - dead-lettered (must be 0; an over-count fails too);
* alerts: deduplicated by ``alert_id``, the customer alerts must be exactly those of an
  undisturbed run (``replay`` over the same events in the same order); duplicate ids after
  dedup must be 0, and redelivered alert records are reported.

The counts are printed (``-s``) and written to ``$CHURN_FAULT_REPORT`` when set.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from detector.engine import Detector
from models.labelled import LabelledClassifier
from streams.offline import read_events, replay
from streams.settings import Settings
from tests.integration.conftest import WorkerProcess, collect, produce

pytestmark = pytest.mark.integration

APP_ID = "churn-signal-detector"
SOURCE = "interactions.tickets"
CUSTOMER_ALERTS = {"customer_churn_risk", "unresolved_issue"}


def make_stream(customers: int, per_customer: int, junk: int, seed: int) -> list[bytes]:
    """Labelled chat events (one source topic: per-customer order is kept) plus junk."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    bodies: list[dict[str, Any]] = []
    for i in range(per_customer):
        for c in range(customers):
            roll = rng.random()
            labels: dict[str, Any] = {"sentiment": round(rng.uniform(-0.2, 0.6), 2)}
            if roll < 0.15:
                labels = {"churn_intent": "at_risk", "friction": ["billing"], "sentiment": -0.6,
                          "topic": "double charge"}
            elif roll < 0.2:
                labels = {"churn_intent": "explicit", "sentiment": -0.8}
            elif roll < 0.35:
                labels = {"friction": [rng.choice(["service", "product"])], "sentiment": -0.4,
                          "topic": "outage"}
            bodies.append({
                "event_id": f"f{seed}-{c}-{i}",
                "customer_id": f"C-{seed}-{c}",
                "channel": "chat",
                "occurred_at": (now - timedelta(hours=3 * (per_customer - i), minutes=c))
                .isoformat(),
                "text": f"message {i} from customer {c}",
                "journey_stage": rng.choice(["billing", "support", "usage"]),
                "metadata": {"labels": labels},
            })
    records = [json.dumps(b).encode() for b in bodies]
    for k in range(junk):  # spread bad records through the stream
        records.insert(rng.randrange(len(records)), b"{junk %d" % k)
    return records


def expected_customer_alerts(records: list[bytes]) -> dict[str, dict[str, Any]]:
    """Alerts of an undisturbed run by id: replay in arrival order."""
    settings = Settings(_env_file=None)
    events = [e for _, e in read_events(records, now=datetime.now(UTC))
              if not hasattr(e, "reason")]
    detector = Detector(risk=settings.risk_config(), stage_config=settings.stage_config())
    return {a.alert_id: a.to_dict()
            for a in replay(LabelledClassifier(), events, detector, order="file")
            if a.type in CUSTOMER_ALERTS}


async def read_topic(bootstrap: str, topic: str, idle: float = 3.0,
                     latest_only: bool = False,
                     positions: list[tuple[int, int]] | None = None) -> list[Any]:
    """All records of ``topic`` (key, JSON value) until ``idle`` seconds bring nothing new;
    with ``latest_only`` the last value per key (a table's state, decoded once)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[Any] = []
    latest: dict[Any, bytes | None] = {}
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    if latest_only:
                        latest[m.key] = m.value
                    else:
                        out.append((m.key, json.loads(m.value) if m.value else None))
                        if positions is not None:
                            positions.append((m.partition, m.offset))
                    quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    if latest_only:
        return [(k, json.loads(v) if v else None) for k, v in latest.items()]
    return out


async def committed_offsets(bootstrap: str, topic: str) -> dict[int, int | None]:
    """The worker group's committed offsets of ``topic`` (diagnostics; no group join)."""
    from aiokafka import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=APP_ID,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(4)}
    except Exception as exc:  # noqa: BLE001 - diagnostics only
        return {-1: repr(exc)}  # type: ignore[dict-item]
    finally:
        await consumer.stop()


def last_values(records: list[Any]) -> dict[Any, Any]:
    latest: dict[Any, Any] = {}
    for key, value in records:
        latest[key] = value
    return latest


async def account(bootstrap: str, produced_valid: int, produced_junk: int) -> dict[str, Any]:
    """Counts from outside the workers (changelogs, dead-letter, alerts, signals)."""
    changelog_at: list[tuple[int, int]] = []
    changelog = await read_topic(bootstrap, f"{APP_ID}-customers-changelog",
                                 positions=changelog_at)
    customers = last_values(changelog)
    stages = last_values(await read_topic(bootstrap, f"{APP_ID}-stages-changelog",
                                          latest_only=True))
    dead = await read_topic(bootstrap, "churn.deadletter", idle=1.0)
    signal_positions: list[tuple[int, int]] = []
    signals = await read_topic(bootstrap, "churn.signals", idle=1.0,
                               positions=signal_positions)
    kept = [(pos, rec) for pos, rec in zip(signal_positions, signals, strict=True)
            if rec[1] and "forget" not in rec[1]]  # forget records are not signals
    signal_positions, signals = [p for p, _ in kept], [r for _, r in kept]
    alerts = [v for _, v in await read_topic(bootstrap, "churn.alerts", idle=1.0)]
    processed = sum(v.get("events", 0) for v in customers.values() if v)  # no erasure markers
    in_state = {eid for v in customers.values() if v for eid in v.get("seen", [])}
    in_signals = {v["event_id"] for _, v in signals}
    where = {v["event_id"]: pos for pos, (_, v) in zip(signal_positions, signals, strict=True)}
    ids = Counter(a["alert_id"] for a in alerts)
    # a dead-letter record names its source record: redelivered ones are counted once
    dead_sources = {(d["source_topic"], d["partition"], d["offset"]) for _, d in dead}
    return {
        "produced": produced_valid + produced_junk,
        "produced_valid": produced_valid,
        "processed": processed,
        "stage_processed": sum(v["events"] for v in stages.values() if v),
        "dead_lettered": len(dead_sources),
        "dead_letter_records_redelivered": len(dead) - len(dead_sources),
        "lost": produced_valid + produced_junk - processed - len(dead_sources),
        "signals_redelivered": len(signals) - len({v["event_id"] for _, v in signals}),
        "alert_records": len(alerts),
        "alert_records_redelivered": sum(n - 1 for n in ids.values()),
        "alert_ids": sorted(ids),
        "_in_state": in_state,
        "_in_signals": in_signals,
        "_where": where,
        "_signal_order": [v["event_id"] for _, v in signals],
        "_changelog": [(pos, k.decode().strip('"'), v.get("events") if v else None)
                       for pos, (k, v) in zip(changelog_at, changelog, strict=True)],
        "customer_alert_ids": sorted(a["alert_id"] for a in alerts
                                     if a["type"] in CUSTOMER_ALERTS),
        "_alerts": {a["alert_id"]: a for a in alerts},
    }


async def state_history(bootstrap: str, event_ids: set[str]) -> list[Any]:
    """Every customers-changelog record of the customers behind ``event_ids`` (diagnostics)."""
    customers = {e.rsplit("-", 1)[0] for e in event_ids}
    positions: list[tuple[int, int]] = []
    records = await read_topic(bootstrap, f"{APP_ID}-customers-changelog", idle=1.0,
                               positions=positions)
    out = []
    for (partition, offset), (key, value) in zip(positions, records, strict=True):
        if value and any(e.rsplit("-", 1)[0] in customers for e in value.get("seen", [])[:1]):
            out.append([partition, offset, key.decode() if key else None, value["events"],
                        sorted(set(value["seen"]) & event_ids)])
    return out


async def settle(bootstrap: str, valid: int, junk: int, workers: list[WorkerProcess],
                 timeout: float = 60) -> dict[str, Any]:
    """Poll the counts until everything is accounted for (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await account(bootstrap, valid, junk)
        done = counts["processed"] >= valid and counts["dead_lettered"] >= junk and (
            counts["stage_processed"] >= valid)
        if done or time.monotonic() > deadline:
            lost = counts["_in_signals"] - counts["_in_state"]
            if lost:
                counts["_history"] = await state_history(bootstrap, lost)
            return counts
        for w in workers:
            if not w.alive():
                raise AssertionError(f"worker died:\n{w.log()}")
        await asyncio.sleep(2)


def alert_brief(alert: dict[str, Any]) -> dict[str, Any]:
    """What tells two alerts of one customer apart (for the report of a mismatch)."""
    keep = ("customer_id", "type", "severity", "score", "created_at", "reasons", "details")
    return {k: alert.get(k) for k in keep}


def check(name: str, counts: dict[str, Any], expected: dict[str, dict[str, Any]],
          workers: list[WorkerProcess], stage_valid: int | None = None) -> None:
    """``stage_valid``: events the stage states must count, when not ``produced_valid``
    (a forgotten customer leaves the customer states, its events stay in the stage counts)."""
    expected_alerts = set(expected)
    got = set(counts["customer_alert_ids"])
    if got != expected_alerts:
        customers = {counts["_alerts"][a]["customer_id"] for a in got - expected_alerts}
        customers |= {expected[a]["customer_id"] for a in expected_alerts - got}
        print("ALERT-MISMATCH", json.dumps({
            "extra": [alert_brief(counts["_alerts"][a]) for a in got - expected_alerts],
            "missing": [alert_brief(expected[a]) for a in expected_alerts - got],
            "signal_order": {c: [int(e.rsplit("-", 1)[1]) for e in counts["_signal_order"]
                                 if e.startswith(c.replace("C-", "f", 1) + "-")]
                             for c in customers},
            "state_events_history": {c: [(pos, n) for pos, k, n in counts["_changelog"] if k == c]
                                     for c in customers},
            "same_customers_matching": [alert_brief(expected[a]) for a in expected_alerts & got
                                        if expected[a]["customer_id"] in customers],
        }, default=str))
    summary = {k: v for k, v in counts.items()
               if not k.endswith("alert_ids") and not k.startswith("_")}
    if counts["lost"]:  # where did they go? (the state's seen ids hold every event here)
        signalled_not_in_state = counts["_in_signals"] - counts["_in_state"]
        summary["lost_but_on_signals_topic"] = len(signalled_not_in_state)
        summary["lost_examples"] = sorted(signalled_not_in_state)[:10]
        summary["committed_at_kill"] = counts.get("_committed_at_kill")
        summary["lost_at"] = sorted(counts["_where"][e] for e in signalled_not_in_state)[:40]
        summary["state_history"] = counts.get("_history", [])[-60:]
    worker_logs = [w.log_path.read_text(errors="replace") for w in workers]
    # the state agents' gap guard (streams/gaps.py): holes it re-read, holes it gave up on
    summary["offset_gap_seeks"] = sum(log.count("seeking back to") for log in worker_logs)
    summary["offset_gaps_accepted"] = sum(log.count("going on without them")
                                          for log in worker_logs)
    summary.update(test=name, expected_customer_alerts=len(expected_alerts),
                   customer_alerts=len(got), missing_alerts=len(expected_alerts - got),
                   extra_alerts=len(got - expected_alerts),
                   duplicate_alert_ids_after_dedup=len(counts["alert_ids"])
                   - len(set(counts["alert_ids"])))
    print(f"\nFAULT-REPORT {json.dumps(summary)}")
    report = os.environ.get("CHURN_FAULT_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(summary) + "\n")
    logs = "\n".join(w.log()[-1500:] for w in workers)
    assert counts["lost"] == 0, f"{summary}\n{logs}"
    assert counts["processed"] == counts["produced_valid"], summary
    assert counts["stage_processed"] == (stage_valid or counts["produced_valid"]), summary
    assert summary["duplicate_alert_ids_after_dedup"] == 0
    assert got == expected_alerts, f"{summary}\n{logs}"


def records_for(stream: list[bytes]) -> list[tuple[str, bytes | None, bytes]]:
    out = []
    for value in stream:
        try:
            key = json.loads(value)["customer_id"].encode()
        except ValueError:
            key = b"junk"
        out.append((SOURCE, key, value))
    return out


async def wait_processing(bootstrap: str, worker: WorkerProcess, timeout: float = 60) -> None:
    """Until the worker has produced its first signal (it is up and assigned)."""
    got = await collect(bootstrap, "churn.signals", lambda r: len(r) >= 1, timeout, worker)
    assert got, f"worker never started processing:\n{worker.log()}"


def stream_counts(stream: list[bytes]) -> tuple[int, int]:
    junk = sum(1 for v in stream if v.startswith(b"{junk"))
    return len(stream) - junk, junk


ENV = {"CHURN_CLASSIFIER": "labels", "CHURN_LAG_INTERVAL_SECONDS": "60"}


def scenario(customers: int, per_customer: int, junk: int, seed: int
             ) -> tuple[list[tuple[str, bytes | None, bytes]], int, int, dict[str, Any]]:
    """A fault test's records, valid and junk counts, and the undisturbed run's alerts."""
    stream = make_stream(customers=customers, per_customer=per_customer, junk=junk, seed=seed)
    valid, junk = stream_counts(stream)
    return records_for(stream), valid, junk, expected_customer_alerts(stream)


async def warm_up(bootstrap: str, records: list[Any], worker: WorkerProcess) -> None:
    """Feed the first 20 records and wait until the worker is processing."""
    await produce(bootstrap, records[:20])
    await wait_processing(bootstrap, worker)


async def test_kill_9_mid_stream_then_restart(broker, start_worker, tmp_path: Path):
    """A backlog consumed at full speed; kill -9 once a third of it has been classified."""
    records, valid, junk, expected = scenario(customers=40, per_customer=60, junk=20, seed=1)
    worker = start_worker(broker.bootstrap, **ENV)
    await warm_up(broker.bootstrap, records, worker)
    await produce(broker.bootstrap, records[20:], rate=2000)
    await collect(broker.bootstrap, "churn.signals", lambda r: len(r) >= valid // 3, 60, worker)
    worker.stop(signal.SIGKILL)
    committed = await committed_offsets(broker.bootstrap, "churn.signals")
    await asyncio.sleep(float(os.environ.get("CHURN_FAULT_RESTART_DELAY", "0")))
    restarted = start_worker(broker.bootstrap, **ENV)
    counts = await settle(broker.bootstrap, valid, junk, [restarted])
    counts["_committed_at_kill"] = committed
    check("kill_9_restart", counts, expected, [worker, restarted])


async def test_broker_frozen_20s_mid_stream(broker, start_worker):
    records, valid, junk, expected = scenario(customers=20, per_customer=30, junk=10, seed=2)
    worker = start_worker(broker.bootstrap, **ENV)
    await warm_up(broker.bootstrap, records, worker)
    half = len(records) // 2
    await produce(broker.bootstrap, records[20:half], rate=80)
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(20)
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    await produce(broker.bootstrap, records[half:], rate=80)
    counts = await settle(broker.bootstrap, valid, junk, [worker], timeout=90)
    assert worker.alive(), worker.log()
    check("broker_sigstop_20s", counts, expected, [worker])


async def test_two_workers_one_leaves_mid_stream(broker, start_worker):
    records, valid, junk, expected = scenario(customers=30, per_customer=40, junk=20, seed=3)
    first = start_worker(broker.bootstrap, **ENV)
    second = start_worker(broker.bootstrap, **ENV)
    await warm_up(broker.bootstrap, records, first)
    await asyncio.sleep(5)  # let the group settle with both members
    feeding = asyncio.create_task(produce(broker.bootstrap, records[20:], rate=80))
    await asyncio.sleep(len(records) / 3 / 80)
    second.stop(signal.SIGKILL)
    await feeding
    counts = await settle(broker.bootstrap, valid, junk, [first])
    check("two_workers_one_killed", counts, expected, [first, second])


async def test_kill_9_after_forget_mid_stream(broker, start_worker, tmp_path: Path):
    """``forget`` for one customer mid-stream, then kill -9 and restart: nothing lost, no
    duplicate alert id, and the customer's state does not come back with the recovery (the
    signals re-read after the restart come before the forget record again)."""
    from streams.kafka import send_forget

    gone, last_i = "C-4-0", 15
    stream = [v for v in make_stream(customers=40, per_customer=60, junk=20, seed=4)
              if not v.startswith(b'{"event_id": "f4-0-')
              or int(json.loads(v)["event_id"].rsplit("-", 1)[1]) <= last_i]
    valid, junk = stream_counts(stream)
    records, expected = records_for(stream), expected_customer_alerts(stream)
    theirs = {f"f4-0-{i}" for i in range(last_i + 1)}
    worker = start_worker(broker.bootstrap, **ENV)
    await warm_up(broker.bootstrap, records, worker)
    feeding = asyncio.create_task(produce(broker.bootstrap, records[20:], rate=2000))
    await collect(broker.bootstrap, "churn.signals",
                  lambda r: theirs <= {v.get("event_id") for v in r}, 60, worker)
    await send_forget(Settings(_env_file=None), gone, bootstrap=broker.bootstrap)
    await collect(broker.bootstrap, "churn.signals", lambda r: len(r) >= valid // 3, 60, worker)
    worker.stop(signal.SIGKILL)
    await feeding
    restarted = start_worker(broker.bootstrap, **ENV)
    counts = await settle(broker.bootstrap, valid - len(theirs), junk, [restarted])
    check("kill_9_after_forget", counts, expected, [worker, restarted], stage_valid=valid)
    customers = last_values(await read_topic(broker.bootstrap, f"{APP_ID}-customers-changelog",
                                             idle=1.0))
    marker = customers.get(f'"{gone}"'.encode()) or customers.get(gone.encode())
    assert marker is None or set(marker) == {"forgotten_at", "forgotten_seen"}, marker
    assert not counts["_in_state"] & theirs
    stages = last_values(await read_topic(broker.bootstrap, f"{APP_ID}-stages-changelog",
                                          idle=1.0))
    assert gone not in json.dumps([v for v in stages.values() if v])


async def processed_events(bootstrap: str, worker: WorkerProcess, at_least: int) -> None:
    """Until the customers' changelog holds ``at_least`` events (no signals topic to watch
    when events fold where they are classified)."""
    def enough(records: list[dict[str, Any]]) -> bool:
        latest = {r["_key"]: r.get("events", 0) for r in records}
        return sum(latest.values()) >= at_least

    await collect(bootstrap, f"{APP_ID}-customers-changelog", enough, 60, worker)


async def test_kill_9_mid_stream_with_events_keyed_by_customer(broker, start_worker):
    """The folding hop (``CHURN_SOURCE_KEYED_BY_CUSTOMER``): state written where events are
    classified, the same accounting after kill -9, and no event took the signals topic."""
    records, valid, junk, expected = scenario(customers=40, per_customer=60, junk=20, seed=5)
    broker.create_topics({SOURCE: Settings(_env_file=None).topic_partitions})
    env = {**ENV, "CHURN_SOURCE_KEYED_BY_CUSTOMER": "true"}
    worker = start_worker(broker.bootstrap, **env)
    await produce(broker.bootstrap, records[:20])
    await processed_events(broker.bootstrap, worker, 1)
    await produce(broker.bootstrap, records[20:], rate=2000)
    await processed_events(broker.bootstrap, worker, valid // 3)
    worker.stop(signal.SIGKILL)
    restarted = start_worker(broker.bootstrap, **env)
    counts = await settle(broker.bootstrap, valid, junk, [restarted])
    check("kill_9_restart_keyed", counts, expected, [worker, restarted])
    assert not counts["_in_signals"], "keyed events must not take the repartition hop"
