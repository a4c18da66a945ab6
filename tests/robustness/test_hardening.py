"""Findings of the hardening pass (issue 20): each was seen as a crash, a silent loss or a
wrong result before its fix. Odd input goes through the worker's decode path (the classify
agent), the offline commands and the pure core.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.schema import EventError, parse_event
from streams.cli import main
from streams.exitcodes import ExitCode
from streams.offline import Rejected, read_events

NOW = datetime.now(UTC).replace(microsecond=0)


def body(**over) -> dict:
    out = {"event_id": "e1", "customer_id": "C-1", "channel": "chat",
           "occurred_at": (NOW - timedelta(minutes=5)).isoformat(), "text": "my bill is wrong"}
    out.update(over)
    return out


def raw(**over) -> bytes:
    """JSON bytes as a producer would send them (a lone surrogate as a \\u escape)."""
    return json.dumps(body(**over)).encode("ascii")


# -- 1, 2: lone surrogates ------------------------------------------------------------------

@pytest.mark.parametrize("over", [
    {"customer_id": "C-\ud800"}, {"event_id": "e-\udfff"}, {"text": "cancel \ud83d now"},
    {"turns": [{"speaker": "customer", "text": "bye \udc00"}], "channel": "call"},
    {"language": "e\ud800"}, {"metadata": {"k\ud800": 1}}, {"metadata": {"k": ["\udbff"]}},
])
def test_lone_surrogates_are_refused_at_decode(over):
    with pytest.raises(EventError) as info:
        parse_event(raw(**over), now=NOW)
    assert info.value.reason == "invalid_unicode"
    with pytest.raises(EventError):  # an already decoded dict too
        parse_event(body(**over), now=NOW)


async def test_surrogate_ids_and_text_are_dead_lettered_and_the_rest_signalled(pipeline):
    records = [raw(event_id="a", customer_id="C-\ud800"), raw(event_id="b"),
               raw(event_id="c", text="cancel \ud83d now"), raw(event_id="d")]
    out = await pipeline(records)
    assert [s["event_id"] for s in out.signals] == ["b", "d"]
    assert [d["reason"] for d in out.dead] == ["invalid_unicode", "invalid_unicode"]
    assert out.rejected("invalid_unicode") == 2


async def test_a_poisoned_batch_dead_letters_only_the_record_that_fails(
        pipeline, poisoned_classifier):
    """A classifier that raises on one text must not take the other customers' events."""
    records = [raw(event_id="a"), raw(event_id="b", text="poison pill"), raw(event_id="c")]
    out = await pipeline(records)
    assert [s["event_id"] for s in out.signals] == ["a", "c"]
    assert [d["reason"] for d in out.dead] == ["classification_failed"]


def test_an_alert_body_with_a_lone_surrogate_still_encodes():
    """Defence in depth behind the decoder: the alert and dead-letter encoder never raises."""
    from streams.steps import json_bytes as _json_bytes

    data = _json_bytes({"snippet": "cancel \ud83d now", "ok": "é"})
    assert json.loads(data) == {"snippet": "cancel \ud83d now", "ok": "é"}


# -- 4: huge integers, non-finite numbers, every decode failure per record -------------------

@pytest.mark.parametrize("record", [
    raw(rating=0).replace(b'"rating": 0', b'"rating": ' + b"9" * 400),
    raw(metadata={"n": 0}).replace(b'"n": 0', b'"n": ' + b"1" * 5000),
    raw(metadata={"n": 0}).replace(b'"n": 0', b'"n": -' + b"1" * 30),
    raw(metadata={"x": 0}).replace(b'"x": 0', b'"x": 1e400'),
    raw(metadata={"x": 0}).replace(b'"x": 0', b'"x": NaN'),
])
def test_huge_and_non_finite_numbers_are_refused_not_a_crash(record):
    with pytest.raises(EventError) as info:
        parse_event(record, now=NOW)
    assert info.value.reason == "invalid_field"


async def test_a_5000_digit_integer_is_dead_lettered(pipeline):
    record = raw(metadata={"n": 0}).replace(b'"n": 0', b'"n": ' + b"7" * 5000)
    out = await pipeline([record])
    assert [d["reason"] for d in out.dead] == ["invalid_field"]


def test_read_events_never_raises_whatever_the_decoder_does(monkeypatch):
    import streams.offline as offline

    def broken(payload, now=None):
        raise KeyError("a decoder bug")

    monkeypatch.setattr(offline, "parse_event", broken)
    [(number, item)] = list(read_events([raw()]))
    assert number == 1 and isinstance(item, Rejected)
    assert item.reason.startswith("decode_failed")


def write_lines(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


BAD_LINES = [
    raw(event_id="ok1", occurred_at="2026-11-10T09:00:00Z"),
    raw(event_id="big", rating=0).replace(b'"rating": 0', b'"rating": ' + b"9" * 400),
    raw(event_id="huge", metadata={"n": 0}).replace(b'"n": 0', b'"n": ' + b"1" * 5000),
    raw(event_id="sur", customer_id="C-\ud800"),
    raw(event_id="txt", text="cancel \ud83d now"),
    raw(event_id="ok2", occurred_at="2026-11-10T10:00:00Z"),
]


@pytest.mark.parametrize("command", ["score", "replay"])
def test_score_and_replay_report_bad_lines_and_go_on(tmp_path, command):
    infile = write_lines(tmp_path, BAD_LINES)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    result = CliRunner().invoke(
        main, [command, str(infile), "-o", str(out), "--rejects", str(rejects)],
        env={"CHURN_ENCODER": "hashing"})
    assert result.exit_code == ExitCode.LINES_REJECTED, result.output
    bad = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [b["line"] for b in bad] == [2, 3, 4, 5]
    assert [b["reason"].split(":")[0] for b in bad] == [
        "invalid_field", "invalid_field", "invalid_unicode", "invalid_unicode"]
    if command == "score":
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert [r["event_id"] for r in rows] == ["ok1", "ok2"]


# -- 8: redaction misses ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "secret"), [
    ("jane\u200b@corp.example", "corp"), ("jöhn@exämple.de", "jöhn"),
    ("call 555-1234 today", "1234"), ("card 4111\u200b1111\u200b1111\u200b1111", "1111"),
    ("iban gb82 west 1234 5698 7654 32", "5698"), ("iban GB82-WEST-1234-5698-7654-32", "5698"),
    ("order 98765432 is late", "98765432"), ("ref\u202e 12345678", "12345678"),
    ("mail ｊａｎｅ@ｃｏｒｐ.ｅｘａｍｐｌｅ", "jane"),  # full-width (NFKC)
    ("call 555\u200b-\u200b1234", "1234"),
])
def test_redaction_finds_obfuscated_and_local_forms(text, secret):
    from detector.redact import Redactor, normalise

    out = Redactor()(text)
    assert secret not in normalise(out) and "[" in out, out


def test_a_long_digit_run_is_only_a_card_when_luhn_says_so():
    from detector.redact import Redactor

    r = Redactor()
    assert r("pay 4111 1111 1111 1111 now") == "pay [card] now"
    assert "[card]" not in r("parcel 1234 5678 9012 3456 now")
    assert "1234 5678" not in r("parcel 1234 5678 9012 3456 now")


def test_offline_reject_reasons_are_redacted_and_escaped(tmp_path):
    infile = write_lines(tmp_path, [raw(channel="jane.doe@example.com"),
                                    raw(channel="fax\u202e\u0085x")])
    rejects = tmp_path / "rejects.jsonl"
    result = CliRunner().invoke(main, ["score", str(infile), "--rejects", str(rejects)],
                                env={"CHURN_ENCODER": "hashing"})
    assert result.exit_code == ExitCode.LINES_REJECTED, result.output
    assert "jane.doe@example.com" not in result.output and "[email]" in result.output
    assert "\u202e" not in result.output and "\\u202e" in result.output
    assert "jane.doe@example.com" not in rejects.read_text().split('"raw"')[0]


# -- 9: control characters in ids; escaped where text is shown ------------------------------

@pytest.mark.parametrize("cid", ["C-\n1", "C-1\n", "C-1\r", "C-\t1", "C-1\x85", "C-1\u200b",
                                 "C-\u202e1", "C-1\u2028", "\ufeffC-1", "C-1\u00a0", "C-\u20661"])
async def test_control_and_invisible_characters_in_ids_are_dead_lettered(pipeline, cid):
    out = await pipeline([raw(customer_id=cid)])
    assert [d["reason"] for d in out.dead] == ["invalid_field"]


def test_schema_and_code_refuse_the_same_id_characters():
    import jsonschema

    from detector.schema import is_id_char

    schema = json.loads((Path(__file__).parents[2] / "detector/contracts/event.schema.json")
                        .read_text())
    pattern = schema["$defs"]["identifier"]["pattern"]
    import re

    compiled = re.compile(pattern)
    disagree = [hex(c) for c in range(0x10000)
                if bool(compiled.search(f"C-{chr(c)}1")) != is_id_char(chr(c))]
    assert disagree == []
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(body(customer_id="C-\n1")))
    assert not list(validator.iter_errors(body(customer_id="C-1 ünïcode ✓")))


def test_crm_case_and_terminal_escape_control_characters():
    from streams.crm_mapping import crm_case
    from streams.display import render_alert

    alert = {"alert_id": "a1", "type": "customer_churn_risk", "severity": "high",
             "score": 0.9, "customer_id": "C-1\nSubject: forged", "journey_stage": "billing",
             "reasons": ["why\u202e reversed", "line\r\nbreak"],
             "evidence": [{"event_id": "e\x1b[31m", "channel": "chat", "snippet": "a\u2028b"}],
             "recommended_action": "call", "created_at": "2026-11-02T09:12:00+00:00"}
    case = crm_case(alert)
    assert "\n" not in case["subject"] and "\\u000a" in case["subject"]
    lines = case["description"].splitlines()
    assert not any(line.startswith("Subject: forged") for line in lines)
    for text in (case["description"], render_alert(alert)):
        assert "\u202e" not in text and "\x1b" not in text and "\u2028" not in text
        assert "\r" not in text


# -- 3, 5, 11, 12: the webhook sink ----------------------------------------------------------

@pytest.mark.parametrize("value", ["²", "١٢", "1e3", "-5", "Mon, 99 Foo 2026 99:99:99 GMT",
                                   "\ud800", "9" * 400])
def test_a_bad_retry_after_is_ignored_not_a_crash(value):
    from streams.webhook import retry_after_seconds

    result = retry_after_seconds(value, now=1_800_000_000)
    assert result is None or result >= 0


def _webhook_sink(url: str, session, answers: list, **client_kw):
    """A WebhookSink against ``url`` whose dead letters land in the returned list."""
    import random

    from prometheus_client import CollectorRegistry

    from streams.webhook import RetryPolicy, SinkMetrics, WebhookClient, WebhookSink

    async def send(topic, key, value):
        answers.append(json.loads(value))

    async def no_sleep(_seconds):
        return None

    client_kw.setdefault("policy", RetryPolicy(max_retries=1, base_seconds=0.01,
                                               max_seconds=0.05))
    client = WebhookClient(url, "secret", session=session, timeout_seconds=2, sleep=no_sleep,
                           rng=random.Random(1), metrics=SinkMetrics(CollectorRegistry()),
                           **client_kw)
    return WebhookSink(client, send, deadletter_topic="dlq", concurrency=2)


def _alert_record(n: int):
    from dataclasses import dataclass

    @dataclass
    class Rec:
        offset: int
        value: bytes
        key: bytes = b"C-1"
        topic: str = "churn.alerts"
        partition: int = 0

    alert = {"alert_id": f"al-{n}", "type": "customer_churn_risk", "severity": "high",
             "created_at": "2026-11-02T09:12:00+00:00", "customer_id": "C-1"}
    return Rec(n, json.dumps(alert).encode())


async def _loopback(handler):
    from aiohttp import web

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


async def test_a_429_with_a_unicode_retry_after_does_not_stop_the_sink():
    import aiohttp
    from aiohttp import web

    calls = []

    async def handler(request):
        calls.append(1)
        return web.Response(status=429, headers={"Retry-After": "²"}, text="slow")

    runner, url = await _loopback(handler)
    dead: list = []
    try:
        async with aiohttp.ClientSession() as session:
            sink = _webhook_sink(url, session, dead)
            offsets = await sink.handle_batch([_alert_record(1), _alert_record(2)])
    finally:
        await runner.cleanup()
    assert offsets == {("churn.alerts", 0): 3}
    assert [d["reason"] for d in dead] == ["webhook_retries_exhausted"] * 2
    assert len(calls) == 4


@pytest.mark.parametrize("url", ["http://[::1", "http://h:99999/x", "ftp://crm.example/x",
                                 "http://"])
def test_a_bad_webhook_url_is_a_clear_start_up_error(url, monkeypatch):
    from streams.settings import Settings

    with pytest.raises(ValueError, match="webhook URL"):
        Settings(_env_file=None, webhook_url=url, webhook_secret="topsecret")
    monkeypatch.setenv("CHURN_KAFKA_BROKER", "127.0.0.1:9")
    monkeypatch.setenv("CHURN_WEBHOOK_URL", url)
    monkeypatch.setenv("CHURN_WEBHOOK_SECRET", "topsecret")
    result = CliRunner().invoke(main, ["sink", "webhook"])
    assert result.exit_code != 0 and "webhook URL" in result.output
    assert "Traceback" not in result.output and "topsecret" not in result.output


async def test_an_alert_that_fails_to_post_is_dead_lettered_and_the_sink_goes_on():
    """A URL the HTTP client refuses (a client built without the start-up check) fails each
    alert alone (its dead letter used to raise on the URL), offsets still committed."""
    import aiohttp

    dead: list = []
    async with aiohttp.ClientSession() as session:
        sink = _webhook_sink("http://[::1", session, dead)
        offsets = await sink.handle_batch([_alert_record(1), _alert_record(2)])
    assert offsets == {("churn.alerts", 0): 3}
    assert len(dead) == 2 and all(d["url"] == "<invalid url>" for d in dead)


async def test_any_error_while_posting_dead_letters_that_alert_as_webhook_failed():
    class Session:
        def post(self, *args, **kwargs):
            raise RuntimeError("a bug in the HTTP stack")

    dead: list = []
    sink = _webhook_sink("http://crm.example/hook", Session(), dead)
    offsets = await sink.handle_batch([_alert_record(1), _alert_record(2)])
    assert offsets == {("churn.alerts", 0): 3}
    assert [d["reason"] for d in dead] == ["webhook_failed"] * 2
    assert "RuntimeError" in dead[0]["detail"]


async def test_a_huge_response_body_is_read_only_a_few_kilobytes():
    from streams.webhook import BODY_READ_BYTES, WebhookClient

    class Stream:
        def __init__(self):
            self.given = 0

        async def read(self, n=-1):
            n = 65536 if n < 0 else min(n, 65536)
            if self.given >= 50_000_000:
                return b""
            self.given += n
            return b"x" * n

    class Response:
        status = 400
        headers: dict = {}

        def __init__(self):
            self.content = Stream()

        async def text(self, errors="strict"):
            while await self.content.read():
                pass
            return "x"

        async def read(self):
            await self.text()
            return b"x"

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return None

    class Session:
        def __init__(self):
            self.responses = []

        def post(self, *args, **kwargs):
            self.responses.append(Response())
            return self.responses[-1]

    session = Session()
    client = WebhookClient("http://crm.example/hook", "s", session=session)  # type: ignore
    result = await client.deliver({"alert_id": "a", "type": "t", "severity": "high",
                                   "created_at": "x"})
    assert result.status == 400 and len(result.body_excerpt) == 500
    assert session.responses[0].content.given <= BODY_READ_BYTES


@pytest.mark.parametrize(("ts", "sig"), [
    ("²", "sha256=" + "0" * 64), ("١٢٣", "sha256=" + "0" * 64), ("1_800_000_000", "x"),
    ("1800000000", "sha256=é"), ("1800000000", "sha256=\ud800"), ("1800000000", "v1,abc"),
    (" ", "sha256="), ("9" * 400, "sha256=" + "0" * 64), ("1800000000", "sha256=" + "G" * 64),
])
def test_verify_signature_raises_its_own_error_on_malformed_headers(ts, sig):
    from streams.webhook_verify import SignatureError, verify_signature

    with pytest.raises(SignatureError):
        verify_signature("secret", b"{}", ts, sig, now=1_800_000_000)


def test_standard_webhooks_signatures_with_key_rotation():
    import base64

    from streams.webhook_verify import SignatureError, sign_standard, verify_standard

    old, new = "whsec_" + base64.b64encode(b"old-key-bytes").decode(), "new-secret"
    body, ts = b'{"alert_id":"al-1"}', "1800000000"
    headers = {"webhook-id": "al-1", "webhook-timestamp": ts,
               "webhook-signature": sign_standard([new, old], "al-1", ts, body)}
    assert headers["webhook-signature"].count("v1,") == 2
    assert verify_standard([old], body, headers, now=1_800_000_000) == "al-1"
    assert verify_standard([new], body, headers, now=1_800_000_000) == "al-1"
    with pytest.raises(SignatureError, match="does not match"):
        verify_standard(["third"], body, headers, now=1_800_000_000)
    with pytest.raises(SignatureError, match="does not match"):  # the id is signed
        verify_standard([new], body, {**headers, "webhook-id": "al-2"}, now=1_800_000_000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_standard([new], body, headers, now=1_800_000_000 + 301)
    for bad in ({**headers, "webhook-signature": "v1,!!!"}, {**headers, "webhook-id": "\ud800"},
                {**headers, "webhook-timestamp": "²"}, {"webhook-id": "al-1"}):
        with pytest.raises(SignatureError):
            verify_standard([new], body, bad, now=1_800_000_000)


def test_the_receiver_module_needs_only_the_standard_library():
    import subprocess
    import sys

    module = Path(__file__).parents[2] / "streams" / "webhook_verify.py"
    code = (f"import runpy, sys; ns = runpy.run_path({str(module)!r}); "
            "bad = [m for m in ('aiohttp', 'pydantic', 'faust', 'detector', 'streams', 'numpy')"
            " if m in sys.modules]; print(bad); assert not bad; "
            "sig = ns['sign_standard'](['k'], 'id', '1', b'{}'); "
            "ns['verify_standard'](['k'], b'{}', {'webhook-id': 'id', 'webhook-timestamp': '1',"
            " 'webhook-signature': sig}, now=1)")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


async def test_the_sink_sends_both_schemes_and_a_receiver_verifies_each():
    import aiohttp
    from aiohttp import web

    from streams.webhook_verify import verify_signature, verify_standard

    seen = []

    async def handler(request):
        body = await request.read()
        verify_signature("secret", body, request.headers.get("X-Churn-Timestamp"),
                         request.headers.get("X-Churn-Signature"))
        seen.append(verify_standard(["secret", "next"], body, request.headers))
        return web.Response(status=204)

    runner, url = await _loopback(handler)
    dead: list = []
    try:
        async with aiohttp.ClientSession() as session:
            sink = _webhook_sink(url, session, dead, extra_secrets=("next",))
            await sink.handle_batch([_alert_record(5)])
    finally:
        await runner.cleanup()
    assert seen == ["al-5"] and dead == []


# -- 6: future skew cannot move the watermarks -----------------------------------------------

def _labelled_events(minutes_ahead: float) -> list:
    """Events a minute apart, each decoded a minute after it happened (the stream's
    processing time), one of them dated ``minutes_ahead`` into the future (a fast clock)."""
    events = []
    for i in range(40):
        at = NOW - timedelta(minutes=40 - i)
        processed_at = at + timedelta(minutes=1)
        if i == 3:
            at = processed_at + timedelta(minutes=minutes_ahead)
        events.append(parse_event(body(
            event_id=f"f{i}", customer_id=f"C-{i % 4}", occurred_at=at.isoformat(),
            journey_stage="billing", text="charged twice",
            metadata={"labels": {"churn_intent": "none", "sentiment": -0.5,
                                 "friction": ["billing"] if i > 20 else []}}),
            now=processed_at))
    return events


@pytest.mark.parametrize("minutes_ahead", [23 * 60 + 50, 30])
def test_an_event_from_the_future_is_clamped_and_later_events_are_not_late(minutes_ahead):
    from detector.engine import Detector
    from models.labelled import LabelledClassifier

    events = _labelled_events(minutes_ahead)
    assert "future_clamped" in events[3].flags
    assert events[3].occurred_at == NOW - timedelta(minutes=36)  # its processing time
    detector = Detector()
    for signal in LabelledClassifier().classify(events):  # in arrival order, like a stream
        detector.process(signal)
    assert detector.late == 0
    stage = detector.stages["billing"]
    assert datetime.fromisoformat(stage["watermark"]) <= NOW


def test_a_small_clock_skew_is_kept_as_it_is():
    event = parse_event(body(occurred_at=(NOW + timedelta(seconds=30)).isoformat()), now=NOW)
    assert event.occurred_at == NOW + timedelta(seconds=30) and not event.flags


async def test_clamped_future_events_are_counted(agent_pipeline):
    ahead = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    out = await agent_pipeline([raw(occurred_at=ahead)])
    assert "future_clamped" in out.signals[0]["flags"]
    assert out.metrics.registry.get_sample_value("churn_events_future_clamped_total") == 1
    flags = {"flag": "future_clamped"}
    assert out.metrics.registry.get_sample_value("churn_signal_flags_total", flags) == 1


async def test_every_flag_of_a_classified_event_is_counted(agent_pipeline):
    """An SRE sees how much of the traffic the models read poorly (the share flagged
    non_english, nothing_to_read) next to the alerts, not only in each signal."""
    out = await agent_pipeline([raw(text="x" * 20_000), raw(event_id="e2", text="ok"),
                                raw(event_id="e3", text="word " * 3_000)])
    reg = out.metrics.registry
    assert reg.get_sample_value("churn_signal_flags_total", {"flag": "text_truncated"}) == 2
    assert reg.get_sample_value("churn_signal_flags_total", {"flag": "retraction"}) == 0


def test_the_future_skew_cannot_exceed_the_lateness():
    from streams.settings import Settings

    settings = Settings(_env_file=None, max_future_skew_seconds=3600, lateness_minutes=30)
    assert settings.future_clamp() == timedelta(minutes=30)
    assert Settings(_env_file=None).future_clamp() == timedelta(minutes=2)


# -- 7: stage deduplication per customer; a re-used id with other content is counted ---------

def test_the_same_event_id_from_two_customers_counts_twice_in_the_stage():
    from detector.stages import update_stage
    from tests.conftest import make_signal

    first = update_stage(None, make_signal("e-1", "C-1", stage="billing"))
    second = update_stage(first.state, make_signal("e-1", "C-2", stage="billing"))
    assert not second.duplicate and second.state["events"] == 2
    again = update_stage(second.state, make_signal("e-1", "C-2", stage="billing"))
    assert again.duplicate and again.state["events"] == 2


def test_a_replayed_id_with_different_content_is_flagged_as_a_conflict():
    from detector.customer import RiskConfig, update_customer
    from detector.engine import Detector
    from tests.conftest import make_signal

    cfg = RiskConfig()
    first = update_customer(None, make_signal("e-1", text="my bill is wrong"), cfg)
    same = update_customer(first.state, make_signal("e-1", text="my bill is wrong"), cfg)
    assert same.duplicate and not same.conflict
    other = update_customer(first.state, make_signal("e-1", text="cancel everything"), cfg)
    assert other.duplicate and other.conflict
    assert other.state["events"] == 1
    detector = Detector()
    detector.process(make_signal("e-1", text="a"))
    detector.process(make_signal("e-1", text="b"))
    assert (detector.duplicates, detector.conflicts) == (1, 1)


async def test_conflicting_redeliveries_are_counted_and_logged(caplog):
    """Through the customers agent: the metric and a warning with the event id."""
    import logging
    from unittest.mock import AsyncMock

    from prometheus_client import CollectorRegistry

    from models.labelled import LabelledClassifier
    from streams.metrics import Metrics
    from streams.settings import Settings
    from streams.topology import build_app
    from tests.conftest import make_signal

    caplog.set_level(logging.WARNING)
    settings = Settings(_env_file=None, classifier="labels", metrics_port=0,
                        kafka_broker="x:1", state_batch_within_seconds=0.05)
    metrics = Metrics(CollectorRegistry())
    app = build_app(settings, LabelledClassifier, metrics)
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    for role in ("stage_signals", "alerts"):
        app.topics_by_role[role].send = AsyncMock()
    agent = app.agents_by_role["customers"]
    async with agent.test_context() as ctx:
        for text in ("my bill is wrong", "my bill is wrong", "something else entirely"):
            await ctx.put(make_signal("e-9", "C-9", text=text).to_wire(), key=b"C-9")
    reg = metrics.registry
    assert reg.get_sample_value("churn_events_duplicate_total") == 2
    assert reg.get_sample_value("churn_events_id_conflicts_total") == 1
    assert any("e-9" in r.getMessage() and "different content" in r.getMessage()
               for r in caplog.records)


# -- 10: erasure (forget) and inactivity expiry ------------------------------------------------

def _agents_app(tmp_path, **over):
    from unittest.mock import AsyncMock

    from prometheus_client import CollectorRegistry

    from models.labelled import LabelledClassifier
    from streams.metrics import Metrics
    from streams.settings import Settings
    from streams.topology import build_app

    settings = Settings(_env_file=None, classifier="labels", metrics_port=0, data_dir=tmp_path,
                        kafka_broker="x:1", state_batch_within_seconds=0.05, **over)
    metrics = Metrics(CollectorRegistry())
    app = build_app(settings, LabelledClassifier, metrics)
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()
    sends = {}
    for role in ("stage_signals", "alerts", "signals"):
        sends[role] = AsyncMock()
        app.topics_by_role[role].send = sends[role]
    return app, metrics, sends


async def _until(predicate, timeout=10.0):
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_forget_erases_the_customer_state_and_reaches_every_stage(tmp_path):
    from detector.erasure import Forget
    from detector.schema import JOURNEY_STAGES
    from tests.conftest import make_signal

    app, metrics, sends = _agents_app(tmp_path)
    table = app.tables_by_role["customers"]
    async with app.agents_by_role["customers"].test_context() as ctx:
        await ctx.put(make_signal("e1", "C-GONE", text="jane@x.example").to_wire(),
                      key=b"C-GONE")
        await ctx.put(make_signal("e2", "C-STAYS").to_wire(), key=b"C-STAYS")
        await _until(lambda: table.get("C-GONE") is not None)
        await ctx.put(Forget("C-GONE").to_wire(), key=b"C-GONE")
        await _until(lambda: "events" not in table.data["C-GONE"])
        marker = table.data["C-GONE"]
        assert set(marker) == {"forgotten_at", "forgotten_seen"}  # hashes, no data
        assert "e1" not in json.dumps(marker) and "jane" not in json.dumps(marker)
        assert table.get("C-STAYS") is not None
        # a signal from before the erasure, re-read after a crash, is not applied again
        await ctx.put(make_signal("e1", "C-GONE", text="jane@x.example").to_wire(),
                      key=b"C-GONE")
        await ctx.put(make_signal("e3", "C-STAYS").to_wire(), key=b"C-STAYS")
        await _until(lambda: table.get("C-STAYS")["events"] == 2)
        assert "events" not in table.data["C-GONE"]
        # the customer comes back with a new event: a fresh state
        await ctx.put(make_signal("e9", "C-GONE", text="hello again").to_wire(), key=b"C-GONE")
        await _until(lambda: table.data["C-GONE"].get("events") == 1)
    forwarded = [c.kwargs["value"] for c in sends["stage_signals"].call_args_list
                 if "forget" in c.kwargs["value"]]
    assert sorted(f["journey_stage"] for f in forwarded) == sorted(JOURNEY_STAGES)
    assert all(f["forget"] == "C-GONE" for f in forwarded)
    assert metrics.registry.get_sample_value("churn_customers_forgotten_total",
                                             {"cause": "request"}) == 1


async def test_forget_in_the_stage_agent_drops_the_customers_keys(tmp_path):
    from detector.erasure import Forget
    from tests.conftest import make_signal

    app, _, _ = _agents_app(tmp_path)
    table = app.tables_by_role["stages"]
    async with app.agents_by_role["stages"].test_context() as ctx:
        for eid, cid in (("e1", "C-GONE"), ("e2", "C-STAYS")):
            wire = make_signal(eid, cid, stage="billing", friction=("billing",)).to_wire()
            await ctx.put(wire, key=b"billing")
        await _until(lambda: len((table.get("billing") or {}).get("seen", [])) == 2)
        await ctx.put(Forget("C-GONE", journey_stage="billing").to_wire(), key=b"billing")
        await _until(lambda: "e1" not in json.dumps(table.get("billing")["buckets"]))
    state = table.get("billing")
    assert len(state["seen"]) == 2 and state["events"] == 2  # hashed keys still deduplicate
    assert "C-GONE" not in json.dumps(state)
    examples = [e for b in state["buckets"].values() for ids in b["examples"].values()
                for e in ids]
    assert "e1" not in examples and "e2" in examples


def test_forget_offline_leaves_nothing_of_the_customer():
    from detector.engine import Detector
    from tests.conftest import make_signal

    detector = Detector()
    for i, cid in enumerate(["C-GONE", "C-STAYS", "C-GONE"]):
        detector.process(make_signal(f"e{i}", cid, intent="explicit", friction=("billing",),
                                     text="mail jane@x.example"))
    detector.forget("C-GONE")
    dumped = json.dumps([detector.customers, detector.stages])
    assert "C-GONE" not in dumped and '"e0"' not in dumped and '"e2"' not in dumped
    assert "C-STAYS" in dumped


async def test_inactive_customers_expire_through_the_stream(tmp_path):
    from datetime import UTC, datetime

    from detector.erasure import inactive
    from tests.conftest import make_signal

    old = make_signal("e1", "C-OLD")  # 2026-11-02
    assert inactive({"risk_at": old.occurred_at.isoformat()}, datetime.now(UTC), 7)
    assert not inactive({"risk_at": datetime.now(UTC).isoformat()}, datetime.now(UTC), 7)
    assert not inactive({"risk_at": old.occurred_at.isoformat()}, datetime.now(UTC), 0)
    app, _, sends = _agents_app(tmp_path, customer_expiry_days=7,
                                customer_expiry_check_seconds=0.1)
    table = app.tables_by_role["customers"]
    async with app.agents_by_role["customers"].test_context() as ctx:
        await ctx.put(old.to_wire(), key=b"C-OLD")
        await _until(lambda: table.get("C-OLD") is not None)
        assert await app.expire_customers() == 1  # one run of the expiry timer
        [call] = sends["signals"].call_args_list
        assert call.kwargs == {"key": b"C-OLD",
                               "value": {"forget": "C-OLD", "reason": "expired"}}
        await ctx.put(call.kwargs["value"], key=b"C-OLD")  # the record comes round
        await _until(lambda: "events" not in table.data["C-OLD"])
        # an hour later the marker is purged: a tombstone, nothing of the customer left
        marker = table.data["C-OLD"]
        table.data["C-OLD"] = {**marker, "forgotten_at": "2026-01-01T00:00:00+00:00"}
        assert await app.expire_customers() == 1
        purge = sends["signals"].call_args_list[-1].kwargs
        assert purge["value"] == {"forget": "C-OLD", "reason": "purge"}
        await ctx.put(purge["value"], key=b"C-OLD")
        await _until(lambda: "C-OLD" not in table.data)


def test_forget_command_refuses_an_invalid_id(monkeypatch):
    monkeypatch.setenv("CHURN_KAFKA_BROKER", "127.0.0.1:9")
    result = CliRunner().invoke(main, ["forget", "C-1\n"])
    assert result.exit_code != 0 and "not a valid customer id" in result.output
