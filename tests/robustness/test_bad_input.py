"""One test per kind of bad input, through the worker's decode path (streams/steps.py).

Each kind is either processed (normalised, maybe flagged) or dead-lettered with its
original bytes, the reason and where it came from, and counted in the metrics. The
outcomes are summarised in docs/robustness.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from detector.customer import RiskConfig, update_customer
from detector.deadletter import MAX_RAW_BYTES
from detector.schema import MAX_TEXT_CHARS
from detector.stages import StageConfig, update_stage
from tests.conftest import make_signal

NOW = datetime.now(UTC).replace(microsecond=0)


def body(**over) -> dict:
    out = {"event_id": "e1", "customer_id": "C-1", "channel": "chat",
           "occurred_at": (NOW - timedelta(minutes=5)).isoformat(), "text": "my bill is wrong"}
    for key, value in over.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def raw(**over) -> bytes:
    return json.dumps(body(**over), ensure_ascii=False).encode("utf-8")


async def dead_lettered(pipeline, record: bytes, reason: str) -> dict:
    """Run one record; assert it was dead-lettered for ``reason``; return the record."""
    out = await pipeline([record])
    assert not out.signals
    assert [d["reason"] for d in out.dead] == [reason]
    dead = out.dead[0]
    assert dead["source_topic"] is not None and dead["offset"] is not None
    assert dead["partition"] is not None and dead["detail"]
    if dead["raw_encoding"] == "utf-8":
        assert dead["raw"].encode("utf-8") == record
    else:
        assert base64.b64decode(dead["raw"]) == record
    assert out.rejected(reason) == 1
    return dead


async def processed(pipeline, record: bytes) -> dict:
    """Run one record; assert it was classified; return its signal."""
    out = await pipeline([record])
    assert not out.dead, out.dead
    assert len(out.signals) == 1
    assert out.consumed(out.signals[0]["channel"]) == 1
    return out.signals[0]


# -- not an event at all ------------------------------------------------------------------

async def test_not_json(pipeline):
    dead = await dead_lettered(pipeline, b"{this is not json", "invalid_json")
    assert dead["raw_encoding"] == "utf-8"


@pytest.mark.parametrize("record", [b"[1, 2, 3]", b'"a string"', b"42", b"null", b"true"])
async def test_json_but_not_an_object(pipeline, record):
    await dead_lettered(pipeline, record, "not_an_object")


async def test_deeply_nested_json(pipeline):
    await dead_lettered(pipeline, b"[" * 100_000, "invalid_json")


async def test_empty_record(pipeline):
    await dead_lettered(pipeline, b"", "invalid_json")


# -- required fields ---------------------------------------------------------------------

@pytest.mark.parametrize("field", ["event_id", "customer_id", "channel", "occurred_at"])
async def test_missing_required_field(pipeline, field):
    dead = await dead_lettered(pipeline, raw(**{field: ...}), "missing_field")
    assert field in dead["detail"]


@pytest.mark.parametrize("over", [
    {"customer_id": 123}, {"event_id": ["a"]}, {"occurred_at": 1_700_000_000},
    {"text": {"a": 1}}, {"rating": "five"}, {"rating": 7}, {"rating": True},
    {"turns": "customer: hi"}, {"turns": [{"speaker": "bot", "text": "x"}]},
    {"metadata": [1]}, {"language": 5}, {"customer_id": "x" * 300},
    {"customer_id": "   "},
])
async def test_wrong_typed_fields(pipeline, over):
    await dead_lettered(pipeline, raw(**over), "invalid_field")


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
async def test_non_finite_rating_is_refused_not_a_crash(pipeline, value):
    record = raw(rating=0).replace(b'"rating": 0', b'"rating": ' + value)
    await dead_lettered(pipeline, record, "invalid_field")


async def test_unknown_channel(pipeline):
    await dead_lettered(pipeline, raw(channel="fax"), "unknown_channel")


async def test_unknown_journey_stage(pipeline):
    await dead_lettered(pipeline, raw(journey_stage="moon"), "unknown_journey_stage")


@pytest.mark.parametrize("text", ["", "   \n\t  ", None, "\x00\x01\x02"])
async def test_empty_or_whitespace_text(pipeline, text):
    await dead_lettered(pipeline, raw(text=text), "empty_text")


@pytest.mark.parametrize("text", [..., "", None])
async def test_a_rating_without_text_is_a_signal(pipeline, text):
    """A survey answered with a score and no comment counts (its rating; how it is scored:
    ``tests/models/test_models_real.py``): it was dead-lettered as empty_text."""
    signal = await processed(pipeline, raw(text=text, rating=1, channel="survey"))
    assert signal["rating"] == 1 and signal["text"] == ""


# -- size and encoding --------------------------------------------------------------------

async def test_text_of_one_megabyte_is_truncated_and_flagged(pipeline):
    signal = await processed(pipeline, raw(text="word " * 200_000))
    assert len(signal["text"]) <= MAX_TEXT_CHARS
    assert "text_truncated" in signal["flags"]


async def test_one_megabyte_of_turns_is_truncated_and_flagged(pipeline):
    turns = [{"speaker": "customer", "text": "again " * 50_000} for _ in range(4)]
    signal = await processed(pipeline, raw(text=None, channel="call", turns=turns))
    assert len(signal["text"]) <= MAX_TEXT_CHARS + 4
    assert "text_truncated" in signal["flags"]


async def test_one_megabyte_of_junk_is_dead_lettered_within_the_message_limit(pipeline):
    junk = b"\xff" + b"x" * 1_000_000
    out = await pipeline([junk])
    (dead,) = out.dead
    assert dead["reason"] == "invalid_utf8"
    assert dead["raw_truncated"] is True and dead["raw_size"] == len(junk)
    assert dead["raw_sha256"] == hashlib.sha256(junk).hexdigest()
    assert base64.b64decode(dead["raw"]) == junk[:MAX_RAW_BYTES]
    assert len(json.dumps(dead)) < 1_000_000  # fits a default Kafka message


async def test_invalid_utf8(pipeline):
    record = raw(text="caf\u00e9").replace("é".encode(), b"\xe9")
    dead = await dead_lettered(pipeline, record, "invalid_utf8")
    assert dead["raw_encoding"] == "base64"


async def test_control_characters_in_text_are_removed(pipeline):
    signal = await processed(pipeline, raw(text="bill\x00 is\x07 wrong\x1b[31m\u0085"))
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"
                   for ch in signal["text"][:-1])
    assert "bill" in signal["text"] and "\x00" not in signal["text"]


async def test_control_characters_in_ids_are_refused(pipeline):
    await dead_lettered(pipeline, raw(customer_id="C-1\x00"), "invalid_field")


# -- timestamps ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2026-11-10T09:00:00", "2026-11-10 09:00"])
async def test_timestamp_without_zone(pipeline, value):
    dead = await dead_lettered(pipeline, raw(occurred_at=value), "invalid_field")
    assert "zone" in dead["detail"]


@pytest.mark.parametrize("value", [
    (NOW + timedelta(days=3)).isoformat(), "9999-12-31T23:59:59-12:00",
])
async def test_timestamp_far_in_the_future(pipeline, value):
    await dead_lettered(pipeline, raw(occurred_at=value), "invalid_field")


async def test_old_timestamp_is_processed_and_flagged_stale(pipeline):
    signal = await processed(pipeline, raw(occurred_at=(NOW - timedelta(days=800)).isoformat()))
    assert "stale" in signal["flags"]


@pytest.mark.parametrize("value", ["1970-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                   "not a date"])
async def test_implausible_timestamps(pipeline, value):
    await dead_lettered(pipeline, raw(occurred_at=value), "invalid_field")


# -- text content --------------------------------------------------------------------------

async def test_html_is_read_as_its_visible_text_and_script_is_dropped(pipeline):
    text = '<script>alert("x")</script><b>cancel</b> my <img src=x onerror=1> account'
    signal = await processed(pipeline, raw(text=text))
    # scored and quoted as a mail client shows it (detector.markup); the event is not changed
    assert signal["text"] == "cancel my account"
    assert "<" not in (signal["evidence"] or signal["text"])
    # an entity is decoded into text, which stays data: consumers escape on display
    escaped = await processed(pipeline, raw(text="<p>&lt;script&gt;x&lt;/script&gt; hi</p>"))
    assert escaped["text"] == "<script>x</script> hi"


@pytest.mark.parametrize("text", [
    "😡😡 cancel NOW 🔥", "أريد إلغاء اشتراكي", "שלום, אני רוצה לבטל", "解約したいです",
    "Хочу расторгнуть договор", "mixed \u202eRTL override\u202c text", "e\u0301te\u0301",
])
async def test_emoji_rtl_and_non_latin_scripts(pipeline, text):
    signal = await processed(pipeline, raw(text=text))
    # NFC; a bidi override is an invisible control, removed (it made quoted evidence
    # display other than it reads)
    expected = unicodedata.normalize("NFC", text).replace("\u202e", "").replace("\u202c", "")
    assert signal["text"] == expected.strip()


async def test_call_with_no_customer_turns(pipeline):
    turns = [{"speaker": "agent", "text": "Hello, how can I help?"},
             {"speaker": "agent", "text": "Are you still there?"}]
    signal = await processed(pipeline, raw(text=None, channel="call", turns=turns))
    assert "no_customer_turns" in signal["flags"]


async def test_a_bad_record_does_not_stop_the_batch(pipeline):
    records = [raw(event_id="ok1"), b"{bad", raw(event_id="ok2", channel="fax"),
               raw(event_id="ok3")]
    out = await pipeline(records)
    assert [s["event_id"] for s in out.signals] == ["ok1", "ok3"]
    assert [d["reason"] for d in out.dead] == ["invalid_json", "unknown_channel"]


# -- redelivery and volume (the pipeline core) --------------------------------------------

def test_duplicate_event_id_is_counted_once_in_customer_and_stage_state():
    cfg, stage_cfg = RiskConfig(), StageConfig()
    first = make_signal("dup-1", "C-1", intent="at_risk", friction=("billing",),
                        sentiment=-0.6)
    upd = update_customer(None, first, cfg)
    again = update_customer(upd.state, first, cfg)
    assert again.duplicate and not again.alerts
    assert again.state["events"] == 1 and again.state["friction_counts"] == {"billing": 1}
    stage = update_stage(None, first, stage_cfg)
    stage_again = update_stage(stage.state, first, stage_cfg)
    assert stage_again.duplicate and not stage_again.alerts
    assert stage_again.state["events"] == 1


def test_ten_thousand_events_for_one_customer_in_a_minute_stay_bounded():
    cfg, stage_cfg = RiskConfig(), StageConfig()
    state, stage_state = None, None
    sizes = []
    started = time.perf_counter()
    for i in range(10_000):
        sig = make_signal(f"burst-{i}", "C-BURST", hours=i / 600_000 * 10,
                          intent=("explicit" if i % 97 == 0 else "none"),
                          friction=(("billing",) if i % 3 == 0 else ()),
                          sentiment=-0.5 if i % 2 else 0.2)
        upd = update_customer(state, sig, cfg)
        state = upd.state
        stage_state = update_stage(stage_state, sig, stage_cfg).state
        if i % 1000 == 999:
            sizes.append(len(json.dumps(state)))
    elapsed = time.perf_counter() - started
    assert state["events"] == 10_000
    assert len(state["seen"]) == cfg.seen_ids_size
    assert len(state["evidence"]) <= cfg.evidence_size
    assert len(state["contacts"]) <= cfg.max_contacts
    assert len(state["threads"]) <= cfg.issue_max_threads
    assert len(stage_state["seen"]) == stage_cfg.seen_ids_size
    # state size plateaus once the bounded lists are full
    assert max(sizes[2:]) <= sizes[1] * 1.05, sizes
    print(f"\n10,000 events for one customer: {10_000 / elapsed:.0f} events/s "
          f"(customer + stage update), customer state {sizes[-1]} bytes")
