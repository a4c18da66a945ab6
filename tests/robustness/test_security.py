"""Security properties: secrets stay secret, personal data is redacted, artifacts are checked."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest

from detector.customer import RiskConfig, update_customer
from detector.redact import Redactor
from streams.broker import free_port, stop_process_group
from streams.settings import Settings
from tests.conftest import make_signal

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "hunter2-Kafka-S3cret-pw"
WEBHOOK_SECRET = "whsec-Very-Secret-Signing-Key"
NOW = datetime.now(UTC).replace(microsecond=0)

PII = {
    "email": "jane.doe@example.com",
    "phone": "+44 20 7946 0958",
    "card": "4111 1111 1111 1111",
    "account": "account number 12345678",
    "iban": "GB82 WEST 1234 5698 7654 32",
}
PII_TEXT = ("Cancel now. Mail jane.doe@example.com or call +44 20 7946 0958; refund card "
            "4111 1111 1111 1111, account number 12345678, IBAN GB82 WEST 1234 5698 7654 32.")


# -- secrets ---------------------------------------------------------------------------------

def test_secrets_are_masked_in_config_output_and_repr(monkeypatch):
    from streams.cli import main

    env = {"CHURN_KAFKA_SASL_PASSWORD": PASSWORD, "CHURN_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "CHURN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    result = CliRunner().invoke(main, ["config"], env=env)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and WEBHOOK_SECRET not in result.output
    shown = json.loads(result.output)
    assert shown["kafka_sasl_password"] == "**********"
    assert shown["webhook_secret"] == "**********"
    settings = Settings(_env_file=None, kafka_sasl_password=PASSWORD,
                        webhook_secret=WEBHOOK_SECRET)
    for text in (repr(settings), str(settings), json.dumps(settings.masked(), default=str),
                 settings.model_dump_json()):
        assert PASSWORD not in text and WEBHOOK_SECRET not in text


def test_secrets_can_come_from_a_file(tmp_path, monkeypatch):
    """Secrets come from the environment or an env file (``.env``), never from code."""
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"CHURN_KAFKA_SASL_PASSWORD={PASSWORD}\n")
    monkeypatch.delenv("CHURN_KAFKA_SASL_PASSWORD", raising=False)
    settings = Settings(_env_file=env_file)
    assert settings.kafka_sasl_password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings)


async def test_kafka_password_is_not_in_connection_errors():
    from streams.kafka import produce_events

    settings = Settings(_env_file=None, kafka_broker=f"127.0.0.1:{free_port()}",
                        kafka_security_protocol="SASL_PLAINTEXT",
                        kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="svc",
                        kafka_sasl_password=PASSWORD)
    with pytest.raises(Exception) as info:  # noqa: B017 - whatever the client raises
        await asyncio.wait_for(produce_events(settings, [{
            "event_id": "x", "customer_id": "x", "channel": "chat", "text": "x",
            "occurred_at": NOW.isoformat()}]), 30)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert PASSWORD not in text


def test_worker_does_not_print_credentials_when_the_broker_is_unreachable(tmp_path):
    """A worker with SASL credentials and no broker: its whole output (DEBUG logging,
    tracebacks included) never shows the password or the webhook secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
    env.update({
        "CHURN_KAFKA_BROKER": f"127.0.0.1:{free_port()}",
        "CHURN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "CHURN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "CHURN_KAFKA_SASL_USERNAME": "svc",
        "CHURN_KAFKA_SASL_PASSWORD": PASSWORD,
        "CHURN_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CHURN_CLASSIFIER": "labels",
        "CHURN_LOG_LEVEL": "DEBUG",
        "CHURN_DATA_DIR": str(tmp_path / "data"),
        "CHURN_METRICS_PORT": "0",
    })
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=12)
        except subprocess.TimeoutExpired:
            stop_process_group(proc, 15)
    output = log.read_text(errors="replace")
    assert output.strip(), "the worker said nothing about the failed connection"
    assert PASSWORD not in output and WEBHOOK_SECRET not in output


def test_faust_credentials_repr_hides_the_password():
    from streams.runtime import broker_credentials

    creds = broker_credentials(Settings(_env_file=None, kafka_security_protocol="SASL_PLAINTEXT",
                                        kafka_sasl_username="svc",
                                        kafka_sasl_password=PASSWORD))
    assert PASSWORD not in repr(creds) and PASSWORD not in str(creds)


# -- personal data ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(PII))
def test_default_redaction_covers_each_kind(kind):
    out = Redactor()(f"before {PII[kind]} after")
    assert PII[kind] not in out and out.startswith("before [") and out.endswith("] after")


def test_redaction_leaves_ordinary_text_and_dates_alone():
    text = "Order 12345 arrived on 2026-11-10 after 3 days; ticket #4521"
    assert Redactor()(text) == text


def test_configurable_patterns_and_settings_default_on():
    settings = Settings(_env_file=None, redact_patterns=(r"\bCUST-\d{4}\b",))
    assert settings.redact_pii is True
    redactor = Redactor(settings.redact_patterns, enabled=settings.redact_pii)
    assert redactor("member CUST-1234 called") == "member [redacted] called"


def test_alert_evidence_and_reasons_are_redacted():
    sig = make_signal("p1", "C-PII", intent="explicit", p=0.97, sentiment=-0.9, text=PII_TEXT)
    upd = update_customer(None, sig, RiskConfig(), Redactor())
    assert upd.alerts, "an explicit request to leave must alert"
    dumped = json.dumps([a.to_dict() for a in upd.alerts], ensure_ascii=False)
    for value in PII.values():
        assert value not in dumped
    assert "[email]" in dumped
    assert PII_TEXT not in json.dumps(upd.state, ensure_ascii=False)


def body(**over) -> bytes:
    out = {"event_id": "s1", "customer_id": "C-SECRET-CUSTOMER", "channel": "chat",
           "occurred_at": (NOW - timedelta(minutes=1)).isoformat(), "text": PII_TEXT,
           "metadata": {"labels": {"churn_intent": "explicit", "sentiment": -0.8}}}
    out.update(over)
    return json.dumps(out).encode()


async def test_dead_letter_reasons_are_redacted(pipeline):
    out = await pipeline([body(channel="jane.doe@example.com"),
                          body(occurred_at="call +44 20 7946 0958")])
    details = " ".join(d["detail"] for d in out.dead)
    assert [d["reason"] for d in out.dead] == ["unknown_channel", "invalid_field"]
    assert "jane.doe@example.com" not in details and "7946 0958" not in details
    assert "[email]" in details


async def test_metrics_and_logs_carry_no_personal_data(agent_pipeline, caplog):
    caplog.set_level(logging.DEBUG)
    out = await agent_pipeline([body(), body(event_id="s2", channel="fax"),
                                b"{" + PII_TEXT.encode()])
    exposition = generate_latest(out.metrics.registry).decode()
    logs = "\n".join(r.getMessage() + " " + json.dumps(vars(r), default=str)
                     for r in caplog.records if r.name.startswith("churn"))
    for text in (exposition, logs):
        for value in PII.values():
            assert value not in text
        assert "Cancel now" not in text
    assert "C-SECRET-CUSTOMER" not in exposition


# -- model artifacts -------------------------------------------------------------------------

def test_model_artifacts_are_not_pickles_and_tampering_is_refused(tmp_path):
    heads_mod = pytest.importorskip("models.heads")
    from detector.signals import FRICTION_CATEGORIES, INTENTS

    d, rng = 8, np.random.default_rng(0)

    def multi(labels):
        return heads_mod.MultiHead(tuple(labels), rng.normal(size=(len(labels), d)),
                                   rng.normal(size=len(labels)), 1.0, np.zeros(len(labels)))

    heads = heads_mod.Heads(
        "hashing", multi(INTENTS), multi(FRICTION_CATEGORIES),
        multi(heads_mod.TASK_LABELS["sentiment"]), multi(heads_mod.TASK_LABELS["stage"]),
        heads_mod.BinaryHead(heads_mod.PRESENCE_LABELS, rng.normal(size=(1, d)), np.zeros(1),
                             np.ones(1), np.zeros(1), np.full(1, 0.5)))
    heads.save(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [heads_mod.META_FILE, heads_mod.HEADS_FILE]
    blob = (tmp_path / heads_mod.HEADS_FILE).read_bytes()
    assert not blob.startswith(b"\x80"), "pickle protocol header"
    assert heads_mod.load_heads(tmp_path).encoder == "hashing"
    tampered = bytearray(blob)
    tampered[-1] ^= 0x01
    (tmp_path / heads_mod.HEADS_FILE).write_bytes(bytes(tampered))
    with pytest.raises(heads_mod.ArtifactError, match="sha256"):
        heads_mod.load_heads(tmp_path)


def test_no_pickle_loading_in_the_code():
    """No module loads pickles (np.load with allow_pickle, pickle, joblib, torch.load)."""
    offenders = []
    for folder in ("detector", "models", "streams"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for needle in ("import pickle", "allow_pickle=True", "joblib.load", "torch.load(",
                           "cloudpickle"):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders
