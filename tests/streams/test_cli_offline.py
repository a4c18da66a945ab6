"""`score` and `replay` run on JSONL files without any broker; bad lines are reported."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.cli import main

GOOD = {"event_id": "e1", "customer_id": "C-1", "channel": "email",
        "occurred_at": "2026-11-10T09:00:00Z", "text": "Please cancel my subscription"}


def write_input(tmp_path: Path) -> Path:
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({**GOOD, "event_id": "e2", "channel": "pigeon"}),
        json.dumps({k: v for k, v in GOOD.items() if k != "customer_id"}),
        "",
        json.dumps({**GOOD, "event_id": "e3", "text": "Thanks, all sorted!"}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def env() -> dict[str, str]:
    return {"CHURN_ENCODER": "hashing"}


def test_score_writes_one_result_per_valid_event_and_reports_rejects(tmp_path):
    infile = write_input(tmp_path)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    result = CliRunner().invoke(
        main, ["score", str(infile), "-o", str(out), "--rejects", str(rejects)], env=env())
    assert result.exit_code == 3, result.output  # finished, but lines were rejected
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["event_id"] for r in rows] == ["e1", "e3"]
    for row in rows:
        assert set(row) >= {"event_id", "customer_id", "churn_intent", "churn_probability",
                            "friction", "friction_categories", "sentiment", "journey_stage",
                            "journey_stage_source", "model_version"}
        assert row["journey_stage_source"] == "inferred"
        assert -1 <= row["sentiment"] <= 1 and 0 <= row["churn_probability"] <= 1
    bad = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [b["line"] for b in bad] == [2, 3, 4]
    assert bad[0]["reason"].startswith("invalid_json") and bad[0]["raw"] == "{not json"
    assert bad[1]["reason"].startswith("unknown_channel")
    assert bad[2]["reason"].startswith("missing_field")
    assert "line 2: rejected" in result.output


def test_a_byte_order_mark_at_the_start_of_the_file_is_read_past(tmp_path):
    """An editor's or a spreadsheet's UTF-8 export starts with a byte-order mark: the first
    event is scored, not rejected as bad JSON; a mark inside the file is still bad input."""
    infile = tmp_path / "bom.jsonl"
    second = {**GOOD, "event_id": "e2"}
    infile.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n"
                       + b"\xef\xbb\xbf" + json.dumps(second).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["score", str(infile), "-o", str(out)], env=env())
    assert [json.loads(x)["event_id"] for x in out.read_text().splitlines()] == ["e1"]
    assert result.exit_code == 3 and "line 2: rejected" in result.output


def test_replay_writes_alerts(tmp_path):
    events = [
        {**GOOD, "event_id": f"r{i}", "occurred_at": f"2026-11-1{i}T09:00:00Z",
         "metadata": {"labels": lab}}
        for i, lab in enumerate([
            {"friction": ["billing"], "sentiment": -0.6, "topic": "double charge"},
            {"friction": ["billing"], "sentiment": -0.7, "topic": "double charge"},
            {"churn_intent": "explicit", "sentiment": -0.8, "friction": ["billing"],
             "topic": "double charge"},
        ])
    ]
    infile = tmp_path / "h.jsonl"
    infile.write_text("\n".join(json.dumps(e) for e in events) + "\n{oops\n")
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(main, ["replay", str(infile), "-o", str(out)],
                                env={"CHURN_CLASSIFIER": "labels"})
    assert result.exit_code == 3, result.output  # finished, but a line was rejected
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    types = {a["type"] for a in alerts}
    assert {"customer_churn_risk", "unresolved_issue"} <= types
    assert "rejected 1 lines" in result.output


def test_config_masks_secrets():
    result = CliRunner().invoke(main, ["config"], env={"CHURN_KAFKA_SASL_PASSWORD": "hunter2"})
    assert result.exit_code == 0
    assert "hunter2" not in result.output
    assert json.loads(result.output)["kafka_sasl_password"] == "**********"


def test_bad_config_is_a_clear_error_not_a_traceback():
    result = CliRunner().invoke(main, ["config"], env={"CHURN_BATCH_SIZE": "many"})
    assert result.exit_code != 0
    assert "invalid configuration" in result.output and "Traceback" not in result.output


def test_replay_with_profiles_adds_account_context_and_reports_bad_profiles(tmp_path):
    events = [
        {**GOOD, "event_id": f"p{i}", "occurred_at": f"2026-11-1{i}T09:00:00Z",
         "metadata": {"labels": {"friction": ["billing"], "sentiment": -0.7,
                                 "topic": "double charge", **extra}}}
        for i, extra in enumerate([{}, {}, {"churn_intent": "explicit"}])
    ]
    infile = tmp_path / "p.jsonl"
    infile.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    profiles = tmp_path / "profiles.jsonl"
    profiles.write_text(json.dumps({"customer_id": "C-1", "plan": "Pro", "monthly_revenue": 100,
                                    "owner": "Sam"}) + "\n{bad\n")
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(main, ["replay", str(infile), "-o", str(out), "--profiles",
                                       str(profiles)], env={"CHURN_CLASSIFIER": "labels"})
    assert result.exit_code == 0, result.output
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    assert alerts and all(a["account"]["owner"] == "Sam" for a in alerts)
    assert "profile line 2: rejected: invalid_json" in result.output


def test_replay_a_case_closed_by_the_case_system_ends_the_issue(tmp_path):
    """The third contact about a double charge is the customer's thanks, read with the
    friction it names: it raised unresolved_issue. A `case_status: "resolved"` event from
    the case system before it (no text) closes the thread: no alert on the thanks."""
    def event(i: int, day: int, labels: dict, **extra) -> dict:
        return {**GOOD, "event_id": f"r{i}", "occurred_at": f"2026-11-{day}T09:00:00Z",
                "metadata": {"labels": labels}, **extra}

    billing = {"friction": ["billing"], "sentiment": -0.6, "topic": "double charge"}
    story = [event(0, 10, billing), event(1, 11, billing),
             event(2, 13, {**billing, "sentiment": 0.4})]
    closed = {"event_id": "case-1", "customer_id": "C-1", "channel": "ticket",
              "occurred_at": "2026-11-12T09:00:00Z", "case_status": "resolved"}

    def alerts(events: list[dict]) -> list[dict]:
        infile, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        infile.write_text("\n".join(json.dumps(e) for e in events) + "\n")
        result = CliRunner().invoke(main, ["replay", str(infile), "-o", str(out)],
                                    env={"CHURN_CLASSIFIER": "labels"})
        assert result.exit_code == 0, result.output
        return [json.loads(x) for x in out.read_text().splitlines()]

    assert [a for a in alerts(story) if a["type"] == "unresolved_issue"]
    after = alerts([*story[:2], closed, story[2]])
    assert not [a for a in after if a["details"]["trigger_event_id"] in ("case-1", "r2")]
