"""The published JSON Schemas and AsyncAPI document agree with what the code produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from detector.alerts import ALERT_SCHEMA_VERSION, ALERT_TYPES, SEVERITIES, Alert, make_alert_id
from detector.deadletter import deadletter_record
from detector.engine import Detector
from detector.schema import CASE_STATUSES, CHANNELS, JOURNEY_STAGES, EventError, parse_event
from streams.offline import open_lines, read_events, replay
from streams.settings import Settings
from tests.conftest import make_signal

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "detector" / "contracts"
SAMPLE = resources.files("streams").joinpath("data/sample_stream.jsonl")


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((CONTRACTS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


EVENT = validator("event.schema.json")
ALERT = validator("alert.schema.json")
DEADLETTER = validator("deadletter.schema.json")


def errors(v: jsonschema.Draft202012Validator, obj: Any) -> list[str]:
    return [e.message for e in v.iter_errors(obj)]


# -- events -----------------------------------------------------------------------------------


def test_every_sample_stream_line_validates_and_round_trips():
    lines = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert len(lines) > 100
    for number, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert errors(EVENT, obj) == [], f"line {number}"
        assert errors(EVENT, parse_event(obj).to_dict()) == [], f"line {number} normalised"


def test_events_of_the_other_test_modules_validate():
    from tests.integration.test_end_to_end import HAPPY, LEAVING
    from tests.streams.test_agents import event

    produced = LEAVING + HAPPY + [json.loads(event("e1", "please cancel"))]
    for obj in produced:
        assert errors(EVENT, obj) == [], obj["event_id"]


NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
BASE = {"event_id": "e-1", "customer_id": "C-1", "channel": "chat",
        "occurred_at": "2026-11-10T09:00:00Z", "text": "my bill is wrong"}


def variant(**changes: Any) -> dict[str, Any]:
    obj = dict(BASE)
    for key, value in changes.items():
        if value is ...:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


CASES: list[tuple[str, dict[str, Any]]] = [
    ("minimal", variant()),
    ("all fields", variant(journey_stage="billing", rating=2, language="en",
                           metadata={"plan": "x"}, turns=[{"speaker": "customer", "text": "hi"}])),
    ("unknown field is ignored", variant(extra_field={"a": 1})),
    ("offset zone", variant(occurred_at="2026-11-10T09:00:00.123+02:00")),
    ("nulls for optionals", variant(journey_stage=None, rating=None, language=None,
                                    metadata=None, turns=None)),
    ("text only in turns", variant(text=..., turns=[{"speaker": "agent", "text": "hello"},
                                                    {"speaker": "customer", "text": "cancel"}])),
    ("rating as 4.0", variant(rating=4.0)),
    ("missing event_id", variant(event_id=...)),
    ("missing customer_id", variant(customer_id=...)),
    ("blank customer_id", variant(customer_id="   ")),
    ("customer_id not a string", variant(customer_id=42)),
    ("control char in id", variant(event_id="e\x01")),
    ("id too long", variant(customer_id="C" * 300)),
    ("unknown channel", variant(channel="fax")),
    ("missing channel", variant(channel=...)),
    ("no time zone", variant(occurred_at="2026-11-10T09:00:00")),
    ("not a timestamp", variant(occurred_at="yesterday")),
    ("timestamp not a string", variant(occurred_at=1700000000)),
    ("missing occurred_at", variant(occurred_at=...)),
    ("empty text, no turns", variant(text="")),
    ("a rating alone", variant(text=..., rating=1)),
    ("a rating and empty text", variant(text="", rating=5)),
    ("no text and a null rating", variant(text=..., rating=None)),
    ("no text and a bad rating", variant(text=..., rating=9)),
    ("a case closed, no text", variant(text=..., case_status="resolved")),
    ("a case closed with a note", variant(case_status="resolved")),
    ("an unknown case status", variant(case_status="closed")),
    ("no text and a null case status", variant(text=..., case_status=None)),
    ("blank text", variant(text="   ")),
    ("text not a string", variant(text=["a"])),
    ("rating 0", variant(rating=0)),
    ("rating 6", variant(rating=6)),
    ("rating 4.5", variant(rating=4.5)),
    ("rating bool", variant(rating=True)),
    ("unknown stage", variant(journey_stage="churned")),
    ("metadata a list", variant(metadata=[1, 2])),
    ("language a number", variant(language=7)),
    ("turns not a list", variant(turns="hello")),
    ("turn with bad speaker", variant(turns=[{"speaker": "bot", "text": "x"}])),
    ("turn without text", variant(turns=[{"speaker": "customer"}])),
]


@pytest.mark.parametrize("name,obj", CASES, ids=[c[0] for c in CASES])
def test_event_schema_accepts_exactly_what_the_parser_accepts(name: str, obj: dict[str, Any]):
    try:
        parse_event(obj, now=NOW)
        parser_ok = True
    except EventError:
        parser_ok = False
    schema_errors = errors(EVENT, obj)
    assert (schema_errors == []) == parser_ok, (name, parser_ok, schema_errors)


def test_event_schema_enums_match_the_code():
    props = json.loads((CONTRACTS / "event.schema.json").read_text())["properties"]
    assert tuple(props["channel"]["enum"]) == CHANNELS
    assert tuple(s for s in props["journey_stage"]["enum"] if s) == JOURNEY_STAGES
    assert tuple(s for s in props["case_status"]["enum"] if s) == CASE_STATUSES


# -- alerts -----------------------------------------------------------------------------------


def test_alert_schema_enums_match_the_code():
    schema = json.loads((CONTRACTS / "alert.schema.json").read_text())
    props = schema["properties"]
    assert tuple(props["type"]["enum"]) == ALERT_TYPES
    assert tuple(props["severity"]["enum"]) == SEVERITIES
    assert schema["x-contract-version"] == ALERT_SCHEMA_VERSION


def test_every_alert_of_an_offline_replay_validates(fake_classifier):
    events = [e for _, e in read_events(open_lines(Path(str(SAMPLE))))]
    alerts = [a.to_dict() for a in replay(fake_classifier, events, Detector())]
    assert alerts, "the replay must produce alerts to validate"
    for alert in alerts:
        assert errors(ALERT, alert) == [], alert["alert_id"]


def test_alerts_of_rule_stories_validate():
    detector = Detector()
    story = [
        make_signal("t1", "C-9", hours=0, friction=("billing",), sentiment=-0.6, rating=1),
        make_signal("t2", "C-9", hours=20, friction=("billing",), sentiment=-0.7,
                    channel="email"),
        make_signal("t3", "C-9", hours=40, intent="explicit", p=0.95, sentiment=-0.8),
    ]
    story += [make_signal(f"s{i}", f"C-{i}", hours=i, friction=("service",), sentiment=-0.5,
                          stage="support") for i in range(40)]
    alerts = [a.to_dict() for s in story for a in detector.process(s)]
    assert alerts
    for alert in alerts:
        assert errors(ALERT, alert) == [], alert


def stage_alert() -> dict[str, Any]:
    return Alert(
        alert_id=make_alert_id("stage_friction_spike", "billing", "2026-11-10T09"),
        type="stage_friction_spike", severity="high", customer_id=None, journey_stage="billing",
        score=3.2, reasons=("Friction rate at billing is 3.2x its baseline",), evidence=(),
        recommended_action="Check the billing run", created_at=NOW,
        model_version="m", details={"rate": 0.4, "baseline": 0.125, "window_minutes": 60},
    ).to_dict()


def test_stage_alert_without_customer_validates():
    assert errors(ALERT, stage_alert()) == []


@pytest.mark.parametrize("mutate", [
    lambda a: a.pop("alert_id"),
    lambda a: a.update(alert_id="12345"),
    lambda a: a.update(type="vip_upsell"),
    lambda a: a.update(severity="urgent"),
    lambda a: a.update(score="0.9"),
    lambda a: a.update(reasons="one reason"),
    lambda a: a.update(details=None),
    lambda a: a.update(customer_id=""),
    lambda a: a.update(created_at="2026-11-10"),
    lambda a: a.update(schema_version="2.0"),
    lambda a: a.update(surprise=True),
    lambda a: a.update(evidence=[{"channel": "fax"}]),
], ids=["no id", "bad id", "type", "severity", "score str", "reasons str", "details null",
        "empty customer", "date only", "major 2", "extra prop", "evidence channel"])
def test_alert_schema_refuses_broken_alerts(mutate):
    alert = stage_alert()
    mutate(alert)
    assert errors(ALERT, alert), "must fail validation"


# -- dead letters -------------------------------------------------------------------------------


def test_deadletter_records_validate():
    at = datetime(2026, 11, 10, tzinfo=UTC)
    records = [
        deadletter_record(b"{broken", "invalid_json", "Expecting value", source_topic="t",
                          partition=0, offset=5, failed_at=at),
        deadletter_record(b"\xff\xfe", "invalid_utf8", "bad byte", failed_at=at),
        deadletter_record(None, "classification_failed", "RuntimeError"),
        deadletter_record("text", "empty_text", "no text", partition=3, offset=0),
    ]
    assert records[1]["raw_encoding"] == "base64"
    for rec in records:
        assert errors(DEADLETTER, rec) == [], rec
    broken = dict(records[0], raw_encoding=None)
    assert errors(DEADLETTER, broken)
    assert errors(DEADLETTER, dict(records[0], offset=-1))
    assert errors(DEADLETTER, {k: v for k, v in records[0].items() if k != "reason"})


# -- AsyncAPI -----------------------------------------------------------------------------------


def test_asyncapi_document_covers_every_topic_and_points_at_the_schemas():
    doc = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    assert str(doc["asyncapi"]).startswith(("2.6", "3.0"))
    major = doc["info"]["version"].split(".")[0]
    assert major == ALERT_SCHEMA_VERSION.split(".")[0]
    settings = Settings()
    addresses = {ch.get("address", name) for name, ch in doc["channels"].items()}
    expected = {getattr(settings, f) for f in type(settings).model_fields if f.startswith("topic_")
                and isinstance(getattr(settings, f), str)}
    assert expected <= addresses, expected - addresses
    refs = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref" and not v.startswith("#"):
                    refs.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs, "messages must reference the JSON Schema files"
    for ref in refs:
        target = (ROOT / "docs" / ref.split("#")[0]).resolve()
        assert target.is_file(), ref
    assert {Path(r).name for r in refs} >= {"event.schema.json", "alert.schema.json",
                                            "deadletter.schema.json"}


def test_a_day_in_the_future_is_refused_by_the_parser_only():
    """Documented limit: the schema cannot express 'at most one day ahead' (needs a clock)."""
    obj = variant(occurred_at=(NOW + timedelta(days=2)).isoformat())
    assert errors(EVENT, obj) == []
    with pytest.raises(EventError):
        parse_event(obj, now=NOW)
