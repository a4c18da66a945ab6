"""The topology: a short list of steps, Faust internals in one module, the folding hop."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from unittest.mock import AsyncMock

from prometheus_client import CollectorRegistry

from detector.erasure import Forget
from models.labelled import LabelledClassifier
from streams import topology
from streams.metrics import Metrics
from streams.settings import Settings
from streams.steps import keyed_partition
from streams.topology import build_app
from tests.conftest import make_signal
from tests.streams.test_agents import sent, stage_signals, until

STREAMS = Path(topology.__file__).parent
#: Faust internals (private attributes and the table's raw store) the detector relies on
PRIVATE_FAUST = re.compile(r"\.(_committed_offset|_current_event|_on_changelog_sent|_read_offset"
                           r"|_fetch_max_wait_ms|_create_worker_consumer|data|take_events)\b")


def test_build_app_reads_as_the_list_of_steps():
    lines = inspect.getsource(build_app).splitlines()
    assert len(lines) < 80
    body = "\n".join(lines)
    for step in ("Classify(", "CustomerFold(", "StageFold(", "Profiles(", "app.agent("):
        assert step in body


def test_only_the_runtime_module_touches_faust_internals():
    offenders = {p.name: PRIVATE_FAUST.findall(p.read_text()) for p in STREAMS.glob("*.py")
                 if p.name != "runtime.py"}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert PRIVATE_FAUST.search((STREAMS / "runtime.py").read_text())  # the pattern works


def app_with(tmp_path, **over):
    settings = Settings(_env_file=None, **{
        "classifier": "labels", "data_dir": tmp_path, "metrics_port": 0, "kafka_broker": "x:1",
        "batch_within_seconds": 0.05, "state_batch_within_seconds": 0.05, **over})
    metrics = Metrics(CollectorRegistry())
    app = build_app(settings, LabelledClassifier, metrics)
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    return app, metrics


def mock_sends(app, monkeypatch, *roles):
    mocks = {role: AsyncMock() for role in roles}
    for role, mock in mocks.items():
        monkeypatch.setattr(app.topics_by_role[role], "send", mock)
    return mocks


def event(eid: str, customer: str, **over) -> bytes:
    body = {"event_id": eid, "customer_id": customer, "channel": "ticket",
            "occurred_at": "2026-11-10T09:00:00Z", "text": "charged twice, fix it",
            "metadata": {"labels": {"friction": ["billing"], "journey_stage": "billing",
                                    "sentiment": -0.7}}}
    body.update(over)
    return json.dumps(body).encode()


async def test_records_keyed_by_their_customer_fold_where_they_are_classified(
        tmp_path, monkeypatch):
    # the five records make one micro-batch by its size, however slowly the machine puts
    # them (with a 50 ms window a loaded machine split it in two: two stage records)
    app, _ = app_with(tmp_path, source_keyed_by_customer=True, topic_partitions=4,
                      batch_size=5, batch_within_seconds=30.0)
    sends = mock_sends(app, monkeypatch, "signals", "stage_signals", "alerts", "deadletter")
    table = app.tables_by_role["customers"]
    here = [c for c in (f"C-{i}" for i in range(40)) if keyed_partition(c.encode(), 4) == 0]
    elsewhere = [c for c in (f"C-{i}" for i in range(40)) if keyed_partition(c.encode(), 4)]
    async with app.agents_by_role["classify"].test_context() as ctx:
        for i, customer in enumerate(here[:3]):
            await ctx.put(event(f"e{i}", customer), key=customer.encode(), partition=0)
        # keyed by its customer, but where the default partitioner would not put it
        await ctx.put(event("x1", elsewhere[0]), key=elsewhere[0].encode(), partition=0)
        await ctx.put(event("x2", "C-unkeyed"), key=b"something-else", partition=0)
        await until(lambda: all(table.get(c) for c in here[:3])
                    and sends["signals"].call_count == 2)
    assert [k for k, _ in sent(sends["signals"])] == [elsewhere[0].encode(), b"C-unkeyed"]
    assert sorted(w["event_id"] for w in stage_signals(sends["stage_signals"])) == [
        "e0", "e1", "e2"]
    assert sends["stage_signals"].call_count == 1  # one record for the stage, not three
    assert elsewhere[0] not in table.data and "C-unkeyed" not in table.data


async def test_without_the_promise_every_signal_takes_the_repartition_hop(tmp_path, monkeypatch):
    app, _ = app_with(tmp_path, topic_partitions=1)
    sends = mock_sends(app, monkeypatch, "signals", "stage_signals", "alerts", "deadletter")
    async with app.agents_by_role["classify"].test_context() as ctx:
        await ctx.put(event("e1", "C-1"), key=b"C-1", partition=0)
        await until(lambda: sends["signals"].call_count == 1)
    assert not app.tables_by_role["customers"].data
    assert sends["stage_signals"].call_count == 0


async def test_an_erasure_reaches_the_stages_after_the_customers_earlier_signals(
        tmp_path, monkeypatch):
    app, _ = app_with(tmp_path)
    sends = mock_sends(app, monkeypatch, "stage_signals", "alerts")
    table = app.tables_by_role["customers"]
    async with app.agents_by_role["customers"].test_context() as ctx:
        await ctx.put(make_signal("e1", "C-1", stage="billing").to_wire(), key=b"C-1")
        await ctx.put(Forget("C-1").to_wire(), key=b"C-1")
        await until(lambda: (table.data.get("C-1") or {}).get("forgotten_at") is not None)
    values = [v for _, v in sent(sends["stage_signals"])]
    first_forget = next(i for i, v in enumerate(values) if "forget" in v)
    batches = [i for i, v in enumerate(values) if "signals" in v]
    assert batches and max(batches) < first_forget
