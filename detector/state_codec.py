"""The stored layout of a customer's state (version 2) and its migration from version 1.

``detector.customer`` works on the *working form*: the dict layout of version 1 (ISO time
strings, one dict per evidence item and thread). What the ``customers`` table stores is the
*stored form*, version 2, well under half the size (field by field: docs/operating.md,
"Customer state"):

* ``"v": 2`` (version 1 had no version field);
* ``risk_at`` is an integer: epoch seconds, or epoch microseconds where a time of the state
  has a fraction of a second (the value tells which: microseconds are >= 10**12, seconds
  < 10**11); every other time is an integer number of those units before it. A time that
  is not UTC (the schema makes every event time UTC) stays an ISO string, so that every
  time comes back exactly as it went in;
* evidence items, contacts, issue threads and last alerts are positional lists; channels,
  stages, categories, intents and severities are indexes into fixed code tables; an event
  id among ``seen`` is its position there; a thread time, case key or alert id that can be
  derived again is null or 1;
* an evidence item keeps its snippet only where an alert may quote it (churn intent,
  friction or negative sentiment: see :func:`quotable`); the others are never quoted;
* issue-thread embeddings (4-bit codes) are base85, the seen ids' digests base64 bytes;
* no ``customer_id`` (it is the table's key) and no per-channel counts (no rule reads them).

:func:`expand` turns either version into the working form, :func:`compact` the working
form into version 2: ``update_customer`` expands what it reads and compacts what it returns,
so a version-1 state is migrated the first time its customer is touched, and every alert
that follows is the one version 1 would have given (tests/detector/test_state_codec.py).
Readers outside ``detector`` use :func:`last_seen` and ``detector.erasure``, never keys.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from detector.alerts import ALERT_TYPES, SEVERITIES, make_alert_id, make_case_key

VERSION = 2
INTENTS_ORDER = ("none", "at_risk", "explicit")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
#: integer times below this are epoch seconds (until the year 5138) ...
_SECONDS_BELOW = 10**11
#: ... and from this up epoch microseconds (from 1970-01-12 on)
_MICROS_FROM = 10**12
_EVIDENCE_KEYS = ("event_id", "occurred_at", "channel", "churn_intent", "churn_probability",
                  "sentiment", "friction_categories", "journey_stage", "rating", "snippet")
_EVIDENCE_KEYSET = frozenset(_EVIDENCE_KEYS)
_THREAD_KEYS = ("thread_id", "first_at", "last_at", "count", "channels", "categories",
                "event_ids", "vec")
_THREAD_ALERT_KEYS = ("alerted", "case_key", "alert_id")
_LAST_ALERT_KEYS = ("severity", "at", "alert_id", "patterns", "case_key")
#: Code tables of version 2: a name is stored as its index here (names not listed stay
#: strings). Fixed with the version: never reorder, only a new version may change them.
CHANNEL_CODES = ("review", "ticket", "social", "call", "chat", "email", "survey")
STAGE_CODES = ("awareness", "purchase", "onboarding", "usage", "support", "billing",
               "renewal", "other")
CATEGORY_CODES = ("billing", "service", "communication", "product", "delivery", "access",
                  "usability", "policy", "integration")


def is_stored(state: dict[str, Any] | None) -> bool:
    """Whether ``state`` is in the stored form of this version."""
    return state is not None and state.get("v") == VERSION


# -- times -------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def encode_time(iso: str) -> int | str:
    """An ISO time of the working form -> an integer (or the string itself, see above)."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if at.utcoffset() != timedelta(0) or at.isoformat() != iso:
        return iso  # not UTC, or not written as isoformat() writes it: kept verbatim
    micros = (at - EPOCH) // _US
    if at.microsecond == 0 and 0 <= micros // 1_000_000 < _SECONDS_BELOW:
        return micros // 1_000_000
    if micros >= _MICROS_FROM:
        return micros
    return iso


@lru_cache(maxsize=4096)
def decode_time(value: int | str) -> str:
    """The exact ISO string :func:`encode_time` was given."""
    if isinstance(value, str):
        return value
    if value < _SECONDS_BELOW:
        return (EPOCH + timedelta(seconds=value)).isoformat()
    return (EPOCH + value * _US).isoformat()


def _enc_opt(iso: str | None) -> int | str | None:
    return None if iso is None else encode_time(iso)


def _dec_opt(value: int | str | None) -> str | None:
    return None if value is None else decode_time(value)


def last_seen(state: dict[str, Any] | None) -> datetime | None:
    """Event time of the customer's latest event (either version; None: none yet)."""
    if not state:
        return None
    at = state.get("risk_at")
    return None if at is None else datetime.fromisoformat(decode_time(at))


def forgotten_at(state: dict[str, Any] | None) -> datetime | None:
    """When the customer was erased (either version; None: not erased)."""
    at = (state or {}).get("forgotten_at")
    if not isinstance(at, int | str) or isinstance(at, bool):
        return None
    return datetime.fromisoformat(decode_time(at))


# -- small codes -------------------------------------------------------------------------

_INDEX: dict[tuple[str, ...], dict[str, int]] = {}


def _index(names: tuple[str, ...]) -> dict[str, int]:
    """Name -> code of a table of names (built once per table)."""
    index = _INDEX.get(names)
    if index is None:
        index = _INDEX[names] = {name: i for i, name in enumerate(names)}
    return index


def _code(value: str, names: tuple[str, ...]) -> int | str:
    return _index(names).get(value, value)


def _codes(names: list[str], table: tuple[str, ...]) -> list[int | str]:
    if not names:
        return []
    index = _index(table)
    return [index.get(n, n) for n in names]


def _name(code: int | str, names: tuple[str, ...]) -> str:
    return names[code] if isinstance(code, int) else code


class _VecCodec:
    """Packed embeddings base64 <-> base85, remembering recent pairs both ways (base85 is
    pure Python: a thread's vector, decoded when its state is read, is encoded again for
    free when the state is written). Bounded: forgets everything past ``size`` pairs."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self.to85: dict[str, str] = {}
        self.to64: dict[str, str] = {}

    def _remember(self, b64: str, b85: str) -> None:
        if len(self.to85) >= self.size:
            self.to85.clear()
            self.to64.clear()
        self.to85[b64], self.to64[b85] = b85, b64

    def encode(self, packed: str) -> str | list[str]:
        known = self.to85.get(packed)
        if known is not None:
            return known
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            return [packed]
        if base64.b64encode(raw).decode("ascii") != packed:
            return [packed]  # not canonical base64: kept verbatim (in a list)
        b85 = base64.b85encode(raw).decode("ascii")
        self._remember(packed, b85)
        return b85

    def decode(self, stored: str) -> str:
        known = self.to64.get(stored)
        if known is None:
            known = base64.b64encode(base64.b85decode(stored)).decode("ascii")
            self._remember(known, stored)
        return known


_VECS = _VecCodec()


def _enc_vec(vec: str | None) -> str | list[str] | None:
    return None if vec is None else _VECS.encode(vec)


def _dec_vec(stored: str | list[str] | None) -> str | None:
    if stored is None:
        return None
    return stored[0] if isinstance(stored, list) else _VECS.decode(stored)


def quotable(item: dict[str, Any]) -> bool:
    """Whether an alert can quote this evidence item's snippet later: the churn-risk alert
    quotes items with churn intent, friction or a negative sentiment (and the message that
    triggers it, which is the signal at hand); the unresolved-issue alert quotes members of
    an issue thread, which all have one of those."""
    return bool(item["churn_intent"] != "none" or item["friction_categories"]
                or item["sentiment"] < -0.2)


# -- evidence, threads, alerts -----------------------------------------------------------

@lru_cache(maxsize=1 << 16)
def _micros(iso: str) -> int | None:
    """Epoch microseconds of an ISO time written by ``isoformat()`` in UTC, else None."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if at.utcoffset() != timedelta(0) or at.isoformat() != iso:
        return None
    return (at - EPOCH) // _US


@lru_cache(maxsize=1 << 16)
def _iso(micros: int) -> str:
    """The ISO form of epoch microseconds (a customer's times come back at every update)."""
    return (EPOCH + micros * _US).isoformat()


class _Clock:
    """Times relative to the customer's latest event time (the risk clock): an integer
    number of units before it, the unit being a second where every time of the state is a
    whole second, else a microsecond. A time that is not canonical UTC stays a string.
    Without a risk clock (no event yet, or an odd one), times are absolute
    (:func:`encode_time`)."""

    def __init__(self, base: int | None, unit: int) -> None:
        self.base, self.unit = base, unit

    @classmethod
    def for_working(cls, risk_at: str | None, times: list[str]) -> _Clock:
        base = _micros(risk_at) if risk_at else None
        if base is None:
            return cls(None, 1)
        whole = all(m is None or m % 1_000_000 == 0 for m in map(_micros, [risk_at, *times]))
        if whole and 0 <= base // 1_000_000 < _SECONDS_BELOW:
            return cls(base, 1_000_000)
        return cls(base, 1) if base >= _MICROS_FROM else cls(None, 1)

    @classmethod
    def for_stored(cls, risk: int | str | None) -> _Clock:
        if not isinstance(risk, int):
            return cls(None, 1)
        return cls(risk * 1_000_000, 1_000_000) if risk < _SECONDS_BELOW else cls(risk, 1)

    def risk(self, risk_at: str | None) -> int | str | None:
        """How the risk clock itself is stored: in the unit (its size tells which)."""
        if self.base is None:
            return risk_at
        return self.base // self.unit

    def enc(self, iso: str) -> int | str:
        if self.base is None:
            return encode_time(iso)
        m = _micros(iso)
        return iso if m is None else (self.base - m) // self.unit

    def dec(self, value: int | str) -> str:
        if isinstance(value, str):
            return value
        if self.base is None:
            return decode_time(value)
        return _iso(self.base - value * self.unit)


#: how far back among the seen ids an event id is stored by reference (evidence and thread
#: members are almost always recent arrivals)
REF_WINDOW = 64


class _Ids:
    """Event ids by reference: an id among the state's last ``REF_WINDOW`` seen ids is stored
    as its position from the end of that list (0: the latest); any other id as itself.
    Carries the state's :class:`_Clock` and customer id too."""

    def __init__(self, seen: list[str], clock: _Clock, customer_id: str = "") -> None:
        self.seen = seen
        self.clock = clock
        self.customer_id = customer_id
        recent = seen[-REF_WINDOW:]
        self.position = {eid: len(recent) - 1 - i for i, eid in enumerate(recent)}
        #: event id -> time of its (first) evidence item, for thread times (working form)
        self.evidence_times: dict[str, str] = {}

    def know_evidence(self, evidence: list[dict[str, Any]]) -> None:
        for item in reversed(evidence):
            if isinstance(item.get("event_id"), str):
                self.evidence_times[item["event_id"]] = item.get("occurred_at", "")

    def ref(self, eid: str) -> int | str:
        return self.position.get(eid, eid)

    def refs(self, eids: list[str]) -> list[int | str]:
        return [self.position.get(e, e) for e in eids]

    def get(self, ref: int | str) -> str:
        return self.seen[-1 - ref] if isinstance(ref, int) else ref


def _names(codes: list[int | str], table: tuple[str, ...]) -> list[str]:
    return [_name(c, table) for c in codes]


def _trimmed(row: list[Any]) -> list[Any]:
    """``row`` without trailing nulls (a reader pads them back)."""
    while row and row[-1] is None:
        row.pop()
    return row


def _enc_evidence(item: dict[str, Any], ids: _Ids) -> list[Any] | dict[str, Any]:
    if item.keys() != _EVIDENCE_KEYSET:
        return dict(item)  # a shape this version does not know: kept as it is
    return _trimmed([
        ids.ref(item["event_id"]), ids.clock.enc(item["occurred_at"]),
        _code(item["channel"], CHANNEL_CODES), _code(item["churn_intent"], INTENTS_ORDER),
        item["churn_probability"], item["sentiment"],
        _codes(item["friction_categories"], CATEGORY_CODES),
        _code(item["journey_stage"], STAGE_CODES),
        item["rating"], item["snippet"] if quotable(item) else None,
    ])


def _dec_evidence(row: list[Any] | dict[str, Any], ids: _Ids) -> dict[str, Any]:
    if isinstance(row, dict):
        return dict(row)
    eid, at, channel, intent, p, sentiment, cats, stage, rating, quote = (
        row + [None] * (len(_EVIDENCE_KEYS) - len(row)))
    # same key order as update_customer builds an item (alerts carry these dicts)
    return {
        "event_id": ids.get(eid), "channel": _name(channel, CHANNEL_CODES),
        "occurred_at": ids.clock.dec(at), "churn_intent": _name(intent, INTENTS_ORDER),
        "churn_probability": p, "sentiment": sentiment,
        "friction_categories": _names(cats, CATEGORY_CODES),
        "journey_stage": _name(stage, STAGE_CODES),
        "rating": rating, "snippet": quote if quote is not None else "",
    }


def _enc_thread(t: dict[str, Any], ids: _Ids) -> list[Any] | dict[str, Any]:
    known = set(_THREAD_KEYS) | set(_THREAD_ALERT_KEYS)
    if not set(_THREAD_KEYS) <= set(t) or not set(t) <= known:
        return dict(t)
    # the first time is the time of the thread's first event, the last often the same:
    # null where it can be read from there
    first = None if ids.evidence_times.get(t["thread_id"]) == t["first_at"] else \
        ids.clock.enc(t["first_at"])
    last = None if t["last_at"] == t["first_at"] else ids.clock.enc(t["last_at"])
    row = [ids.ref(t["thread_id"]), first, last, t["count"], _codes(t["channels"], CHANNEL_CODES),
           _codes(t["categories"], CATEGORY_CODES), ids.refs(t["event_ids"]),
           _enc_vec(t["vec"])]
    if any(k in t for k in _THREAD_ALERT_KEYS):
        # the case key and alert id as update_customer derives them: 1 (derived again)
        case_key, alert_id = t.get("case_key"), t.get("alert_id")
        if ids.customer_id and case_key == _thread_case_key(ids.customer_id, t["thread_id"]):
            case_key = _DERIVED
        if ids.customer_id and "alerted" in t and alert_id == _thread_alert_id(
                ids.customer_id, t["thread_id"], t["alerted"]):
            alert_id = _DERIVED
        row += [_code(t["alerted"], SEVERITIES) if "alerted" in t else None, case_key, alert_id]
    return row


#: a case key or alert id that is derived again from the state, not stored
_DERIVED = 1


def _thread_case_key(customer_id: str, thread_id: str) -> str:
    return make_case_key("unresolved_issue", customer_id, thread_id)


def _thread_alert_id(customer_id: str, thread_id: str, severity: str) -> str:
    return make_alert_id("unresolved_issue", customer_id, thread_id, severity)


def _dec_thread(row: list[Any] | dict[str, Any], ids: _Ids) -> dict[str, Any]:
    if isinstance(row, dict):
        return {**row, "channels": list(row["channels"]),
                "categories": list(row["categories"]), "event_ids": list(row["event_ids"])}
    thread_id = ids.get(row[0])
    first = ids.evidence_times[thread_id] if row[1] is None else ids.clock.dec(row[1])
    last = first if row[2] is None else ids.clock.dec(row[2])
    out = {"thread_id": thread_id, "first_at": first, "last_at": last, "count": row[3],
           "channels": _names(row[4], CHANNEL_CODES), "categories": _names(row[5], CATEGORY_CODES),
           "event_ids": [ids.get(e) for e in row[6]], "vec": _dec_vec(row[7])}
    if len(row) > 8:
        alerted, case_key, alert_id = row[8:11]
        if alerted is not None:
            out["alerted"] = _name(alerted, SEVERITIES)
        if case_key is not None:
            out["case_key"] = (_thread_case_key(ids.customer_id, thread_id)
                               if case_key == _DERIVED else case_key)
        if alert_id is not None:
            out["alert_id"] = (_thread_alert_id(ids.customer_id, thread_id, out["alerted"])
                               if alert_id == _DERIVED else alert_id)
    return out


def _enc_last_alert(kind: str, entry: dict[str, Any], ids: _Ids) -> list[Any] | dict[str, Any]:
    if tuple(entry) != _LAST_ALERT_KEYS:
        return dict(entry)
    case_key = entry["case_key"]
    if ids.customer_id and case_key == make_case_key(kind, ids.customer_id, entry["at"]):
        case_key = _DERIVED  # the case opened with this alert
    return [_code(entry["severity"], SEVERITIES), ids.clock.enc(entry["at"]), entry["alert_id"],
            entry["patterns"], case_key]


def _dec_last_alert(kind: str, row: list[Any] | dict[str, Any], ids: _Ids) -> dict[str, Any]:
    if isinstance(row, dict):
        return dict(row)
    at = ids.clock.dec(row[1])
    case_key = make_case_key(kind, ids.customer_id, at) if row[4] == _DERIVED else row[4]
    return {"severity": _name(row[0], SEVERITIES), "at": at,
            "alert_id": row[2], "patterns": list(row[3]), "case_key": case_key}


_HEX = frozenset("0123456789abcdef")


def _enc_digests(digests: list[str], seen: list[str]) -> str | list[str]:
    """The seen ids' digests (8 hex digits: 4 bytes each) as one base64 string; a list as it
    is where one is missing (a state from before digests) or not aligned."""
    joined = "".join(digests)
    if len(digests) != len(seen) or len(joined) != 8 * len(digests) or not _HEX >= set(joined):
        return list(digests)
    return base64.b64encode(bytes.fromhex(joined)).decode("ascii")


def _dec_digests(stored: str | list[str]) -> list[str]:
    if isinstance(stored, list):
        return list(stored)
    raw = base64.b64decode(stored).hex()
    return [raw[i:i + 8] for i in range(0, len(raw), 8)]


# -- whole states ------------------------------------------------------------------------

#: working-form keys that :func:`compact` writes in its own way
_WORKING_KEYS = frozenset((
    "customer_id", "risk_acc", "risk_at", "events", "friction_counts", "channels", "contacts",
    "evidence", "seen", "seen_digests", "last_alerts", "max_intent", "last_intent", "threads",
    "last_alert_at", "forgotten_at", "forgotten_seen",
))
#: stored-form keys of this version
_STORED_KEYS = frozenset((
    "v", "events", "seen", "digests", "risk_acc", "risk_at", "intent", "friction_counts",
    "contacts", "evidence",
    "threads", "alerts", "alerted_at", "forgotten_at", "forgotten_seen",
))


def _enc_contacts(contacts: list[list[str]], evidence: list[dict[str, Any]],
                  clock: _Clock) -> list[Any]:
    """A contact that is also an evidence item (same time and channel) is that item's index;
    the others are [time, channel]."""
    where = {}
    for i, item in reversed(list(enumerate(evidence))):
        where[(item.get("occurred_at"), item.get("channel"))] = i
    out: list[Any] = []
    for at, channel in contacts:  # the other form only where needed (a default is eager)
        i = where.get((at, channel))
        out.append(i if i is not None else [clock.enc(at), _code(channel, CHANNEL_CODES)])
    return out


def _dec_contacts(stored: list[Any], evidence: list[dict[str, Any]],
                  clock: _Clock) -> list[list[str]]:
    return [[evidence[c]["occurred_at"], evidence[c]["channel"]] if isinstance(c, int)
            else [clock.dec(c[0]), _name(c[1], CHANNEL_CODES)] for c in stored]


def compact(st: dict[str, Any]) -> dict[str, Any]:
    """The stored form (version 2) of a working-form state."""
    last_alerts = st.get("last_alerts") or {}
    times = [at for at, _ in st["contacts"]] + [e.get("occurred_at", "") for e in st["evidence"]]
    times += [t.get(k, "") for t in st.get("threads") or [] for k in ("first_at", "last_at")]
    times += [a.get("at", "") for a in last_alerts.values()] + [st.get("last_alert_at") or ""]
    clock = _Clock.for_working(st["risk_at"], times)
    ids = _Ids(st["seen"], clock, st.get("customer_id") or "")
    ids.know_evidence(st["evidence"])
    out: dict[str, Any] = {
        "v": VERSION,
        "events": st["events"],
        "seen": list(st["seen"]),
        "digests": _enc_digests(list(st.get("seen_digests") or []), st["seen"]),
        "risk_acc": st["risk_acc"],
        "risk_at": clock.risk(st["risk_at"]),
    }
    intent = [_code(st["max_intent"], INTENTS_ORDER),
              _code(st.get("last_intent", "none"), INTENTS_ORDER)]
    if intent != [0, 0]:
        out["intent"] = intent
    if st["friction_counts"]:
        out["friction_counts"] = dict(st["friction_counts"])
    out["contacts"] = _enc_contacts(st["contacts"], st["evidence"], clock)
    out["evidence"] = [_enc_evidence(e, ids) for e in st["evidence"]]
    out["threads"] = [_enc_thread(t, ids) for t in st.get("threads") or []]
    if last_alerts:
        out["alerts"] = {
            (str(ALERT_TYPES.index(kind)) if kind in ALERT_TYPES else kind):
            _enc_last_alert(kind, entry, ids) for kind, entry in last_alerts.items()}
    if st.get("last_alert_at"):
        out["alerted_at"] = clock.enc(st["last_alert_at"])
    if "forgotten_at" in st:
        out["forgotten_at"] = _enc_opt(st["forgotten_at"])
    if "forgotten_seen" in st:
        out["forgotten_seen"] = list(st["forgotten_seen"])
    for key, value in st.items():  # fields this version does not know travel as they are
        if key not in _WORKING_KEYS and key not in _STORED_KEYS:
            out[key] = value
    return out


def expand(state: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """The working form (a fresh, mutable copy) of a state of either version."""
    if not is_stored(state):
        return _copy_working(state, customer_id)
    clock = _Clock.for_stored(state["risk_at"])
    ids = _Ids(state["seen"], clock, customer_id)
    evidence = [_dec_evidence(e, ids) for e in state["evidence"]]
    ids.know_evidence(evidence)
    intent = state.get("intent", [0, 0])
    st: dict[str, Any] = {
        "customer_id": customer_id,
        "risk_acc": state["risk_acc"],
        "risk_at": None if state["risk_at"] is None else decode_time(state["risk_at"]),
        "events": state["events"],
        "friction_counts": dict(state.get("friction_counts") or {}),
        "channels": {},  # not stored: no rule reads it
        "contacts": _dec_contacts(state["contacts"], evidence, clock),
        "evidence": evidence,
        "seen": list(state["seen"]),
        "seen_digests": _dec_digests(state["digests"]),
        "last_alerts": {
            kind: _dec_last_alert(kind, v, ids) for kind, v in (
                (ALERT_TYPES[int(k)] if k.isdigit() else k, v)
                for k, v in (state.get("alerts") or {}).items())
        },
        "max_intent": _name(intent[0], INTENTS_ORDER),
        "last_intent": _name(intent[1], INTENTS_ORDER),
        "threads": [_dec_thread(t, ids) for t in state["threads"]],
    }
    if "alerted_at" in state:
        st["last_alert_at"] = clock.dec(state["alerted_at"])
    if "forgotten_at" in state:
        st["forgotten_at"] = _dec_opt(state["forgotten_at"])
    if "forgotten_seen" in state:
        st["forgotten_seen"] = list(state["forgotten_seen"])
    for key, value in state.items():
        if key not in _STORED_KEYS:
            st[key] = value
    return st


def _copy_working(state: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """A mutable copy of a version-1 (working-form) state."""
    out = dict(state)
    out.setdefault("customer_id", customer_id)
    for key in ("friction_counts", "channels", "last_alerts"):
        out[key] = dict(state.get(key) or {})
    for key in ("contacts", "evidence", "seen", "seen_digests"):
        out[key] = list(state.get(key) or [])
    out["contacts"] = [list(c) for c in out["contacts"]]
    out["evidence"] = [dict(e) for e in out["evidence"]]
    out["last_alerts"] = {k: dict(v) for k, v in out["last_alerts"].items()}
    if "forgotten_seen" in state:
        out["forgotten_seen"] = list(state["forgotten_seen"])
    if isinstance(out.get("forgotten_at"), int):
        out["forgotten_at"] = decode_time(out["forgotten_at"])
    out["threads"] = [_dec_thread(t, _Ids([], _Clock(None, 1)))
                      for t in state.get("threads") or []]
    return out


def migrate(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A state of any version in the stored form of this one (None stays None)."""
    if state is None or is_stored(state):
        return state
    if "events" not in state:  # an erasure marker: no customer state, only the marker
        out = dict(state)
        if "forgotten_at" in out:
            out["forgotten_at"] = _enc_opt(out["forgotten_at"])
        return out
    return compact(expand(state, ""))
