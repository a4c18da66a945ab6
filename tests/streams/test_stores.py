"""The RocksDB table store (rocksdict) passes the same aggregation tests as the memory store."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics
from streams.settings import Settings
from streams.topology import build_app
from tests.conftest import make_signal
from tests.streams.test_agents import stage_signals, until

STORES = ["memory", "rocksdb"]


def build(store: str, tmp_path: Path, fake_classifier):
    settings = Settings(encoder="hashing", data_dir=tmp_path, metrics_port=0,
                        kafka_broker="x:1", store=store)
    metrics = Metrics(CollectorRegistry())
    app = build_app(settings, lambda: fake_classifier, metrics)
    app.finalize()
    app.flow_control.resume()
    return app, metrics


def test_store_setting_selects_the_faust_store(tmp_path, fake_classifier):
    assert str(build("memory", tmp_path, fake_classifier)[0].conf.store) == "memory:"
    app, _ = build("rocksdb", tmp_path, fake_classifier)
    assert str(app.conf.store) == "rocksdb:"
    from faust.stores.rocksdb import USE_ROCKSDICT

    assert USE_ROCKSDICT, "rocksdict must be installed (it is a runtime dependency)"


@pytest.mark.parametrize("store", STORES)
async def test_customer_agent_aggregates_alike_in_every_store(store, tmp_path, fake_classifier,
                                                              monkeypatch):
    app, metrics = build(store, tmp_path, fake_classifier)
    topics = app.topics_by_role
    alerts_send, stage_send = AsyncMock(), AsyncMock()
    monkeypatch.setattr(topics["alerts"], "send", alerts_send)
    monkeypatch.setattr(topics["stage_signals"], "send", stage_send)
    agent = app.agents_by_role["customers"]
    story = [
        make_signal("t1", "C-9", hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("t2", "C-9", hours=20, friction=("billing",), sentiment=-0.7, channel="email"),
        make_signal("t3", "C-9", hours=40, intent="explicit", p=0.95, sentiment=-0.8),
        make_signal("o1", "C-10", hours=41, sentiment=0.8),
    ]
    table = app.tables_by_role["customers"]
    async with agent.test_context() as ctx:
        for s in story + [story[1]]:  # t2 redelivered
            await ctx.put(s.to_wire(), key=s.customer_id.encode())
        await until(lambda: (table.get("C-9") or {}).get("events") == 3
                    and (table.get("C-10") or {}).get("events") == 1)
        assert table["C-9"]["events"] == 3
        assert table["C-10"]["events"] == 1
        assert "C-404" not in table
        snapshot = json.dumps({k: table[k] for k in ("C-9", "C-10")}, sort_keys=True)
    alerts = [json.loads(c.kwargs["value"]) for c in alerts_send.call_args_list]
    assert {a["type"] for a in alerts} == {"customer_churn_risk"}
    assert alerts[-1]["severity"] == "critical"
    assert [e["event_id"] for e in alerts[-1]["evidence"]] == ["t1", "t2", "t3"]
    assert len(stage_signals(stage_send)) == 4
    assert metrics.registry.get_sample_value("churn_events_duplicate_total") == 1
    if store == "rocksdb":
        assert list(tmp_path.rglob("*.db")) or list(tmp_path.rglob("CURRENT")), (
            "RocksDB files must be under data_dir"
        )
    # Both stores end in the state the pure, in-memory detector computes for the same story.
    from detector.engine import Detector

    reference = Detector()
    for s in story + [story[1]]:
        reference.process(s)
    expected = {k: reference.customers[k] for k in ("C-9", "C-10")}
    assert json.loads(snapshot) == json.loads(json.dumps(expected, sort_keys=True))
