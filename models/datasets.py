"""Labelled data for training and evaluation, mapped onto the project's taxonomy.

Sources:

* ``seed``: the project's own seed set (``models/data/seed.jsonl``), fully labelled.
* ``banking77``, ``clinc150``, ``bitext``: public sets read from ``../shared/data`` (never
  copied into the repository). Their intents are mapped onto the taxonomy by the tables
  below (documented in ``docs/models.md``). A task a source does not label is ``None`` for
  that source's rows: those rows neither train nor evaluate that task.
* a user's CSV/JSONL file (``load_user_file``), for ``churn-detector train --data``.

Mapping rules: an intent maps to ``explicit`` only when it asks to close / delete the
account; ``at_risk`` when it asks about leaving costs; friction only when the text reports a
problem (a plain how-to question is "no friction"); intents whose friction is ambiguous
(e.g. "why is my transfer pending?") are left unlabelled for friction (``EXCLUDED``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from detector.signals import FRICTION_CATEGORIES, INTENTS

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
STAGES: tuple[str, ...] = (
    "awareness", "purchase", "onboarding", "usage", "support", "billing", "renewal"
)
PUBLIC_DATASETS: tuple[str, ...] = ("banking77", "clinc150", "bitext")
EXCLUDED = None  # friction not labelled for this intent (ambiguous): not used for friction


@dataclass(frozen=True)
class Example:
    """One labelled text. A task label of None means "not labelled for this task"."""

    text: str
    source: str
    split: str = "train"  # train | test
    intent: str | None = None
    friction: tuple[str, ...] | None = None
    sentiment: str | None = None
    # friction present at all, where the category is unknown (weak labels: a 1-2 star
    # rating, a complaint filed with a regulator); None: follows ``friction``
    presence: bool | None = None
    stage: str | None = None
    original_label: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def friction_present(self) -> bool | None:
        """Whether the text reports any friction (None: not labelled)."""
        if self.presence is not None:
            return self.presence
        return None if self.friction is None else bool(self.friction)


# ---------------------------------------------------------------------------------------
# Banking77 (Casanueva et al. 2020): 77 banking intents. No at_risk intent exists.
BANKING77_INTENT = {"terminate_account": "explicit"}  # every other intent: none
BANKING77_FRICTION: dict[str, tuple[str, ...] | None] = {
    # billing: charges, fees, refunds, wrong amounts, unrecognised charges, payment failures
    **{k: ("billing",) for k in (
        "card_payment_fee_charged", "extra_charge_on_statement", "transaction_charged_twice",
        "request_refund", "Refund_not_showing_up", "transfer_fee_charged", "exchange_charge",
        "cash_withdrawal_charge", "top_up_by_card_charge", "top_up_by_bank_transfer_charge",
        "card_payment_wrong_exchange_rate", "wrong_exchange_rate_for_cash_withdrawal",
        "wrong_amount_of_cash_received", "direct_debit_payment_not_recognised",
        "card_payment_not_recognised", "cash_withdrawal_not_recognised",
        "declined_card_payment", "declined_transfer", "declined_cash_withdrawal",
        "failed_transfer", "top_up_failed", "top_up_reverted", "reverted_card_payment?",
    )},
    # product: the card itself does not work
    **{k: ("product",) for k in (
        "card_not_working", "contactless_not_working", "virtual_card_not_working",
        "card_swallowed",
    )},
    "card_arrival": ("delivery",),  # "still waiting on my card"
    # access: identity checks, blocked PIN, forgotten passcode
    **{k: ("access",) for k in (
        "unable_to_verify_identity", "pin_blocked", "passcode_forgotten",
    )},
    # ambiguous (delays of money movements, security incidents, the closing request itself)
    **{k: EXCLUDED for k in (
        "pending_cash_withdrawal", "pending_top_up", "pending_card_payment", "pending_transfer",
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "transfer_not_received_by_recipient", "lost_or_stolen_card", "lost_or_stolen_phone",
        "compromised_card", "cancel_transfer", "beneficiary_not_allowed", "terminate_account",
    )},
}  # every other Banking77 intent (questions and requests): no friction

# ---------------------------------------------------------------------------------------
# CLINC150 (Larson et al. 2019): only the customer-service-like domains are used, plus the
# trap intents ``cancel`` ("stop talking") and ``cancel_reservation`` as hard negatives.
# No churn intent exists in CLINC150: every used row is intent ``none``.
CLINC150_DOMAINS = ("banking", "credit_cards", "travel")
CLINC150_EXTRA_INTENTS = ("cancel", "cancel_reservation")
CLINC150_FRICTION: dict[str, tuple[str, ...] | None] = {
    "card_declined": ("billing",),
    "account_blocked": ("access",),
    "lost_luggage": ("delivery",),
    "damaged_card": ("product",),
    "report_fraud": EXCLUDED,
    "report_lost_card": EXCLUDED,
}  # every other used intent: no friction

# ---------------------------------------------------------------------------------------
# Bitext customer-support sample: 27 intents. Machine-generated text.
BITEXT_INTENT = {"delete_account": "explicit", "check_cancellation_fee": "at_risk"}
BITEXT_FRICTION: dict[str, tuple[str, ...] | None] = {
    "payment_issue": ("billing",),
    "get_refund": ("billing",),
    "track_refund": ("billing",),
    "registration_problems": ("access",),
    "recover_password": ("access",),
    # complaint about what? / asking for a human: ambiguous; the churn requests themselves
    "complaint": EXCLUDED,
    "contact_human_agent": EXCLUDED,
    "contact_customer_service": EXCLUDED,
    "delete_account": EXCLUDED,
    "check_cancellation_fee": EXCLUDED,
}  # every other intent (cancel_order included): no friction


def _friction(table: dict[str, tuple[str, ...] | None], label: str) -> tuple[str, ...] | None:
    return table[label] if label in table else ()


def load_banking77(root: Path) -> list[Example]:
    """Banking77 train and test splits, mapped."""
    out = []
    for split in ("train", "test"):
        with open(root / "banking77" / f"{split}.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                label = row["category"]
                out.append(Example(
                    text=row["text"], source="banking77", split=split,
                    intent=BANKING77_INTENT.get(label, "none"),
                    friction=_friction(BANKING77_FRICTION, label), original_label=label,
                ))
    return out


def load_clinc150(root: Path) -> list[Example]:
    """CLINC150 train and test rows of the customer-service domains, mapped."""
    domains = json.loads((root / "clinc150" / "domains.json").read_text("utf-8"))
    keep = {i for d in CLINC150_DOMAINS for i in domains[d]} | set(CLINC150_EXTRA_INTENTS)
    data = json.loads((root / "clinc150" / "data_full.json").read_text("utf-8"))
    out = []
    for split in ("train", "test"):
        for text, label in data[split]:
            if label in keep:
                out.append(Example(
                    text=text, source="clinc150", split=split, intent="none",
                    friction=_friction(CLINC150_FRICTION, label), original_label=label,
                ))
    return out


def load_bitext(root: Path) -> list[Example]:
    """Bitext customer-support rows, mapped. It has no split: all rows are ``test``
    when it is held out and ``train`` otherwise (the split field says ``test``)."""
    path = root / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            label = row["intent"]
            out.append(Example(
                text=row["instruction"], source="bitext", split="test",
                intent=BITEXT_INTENT.get(label, "none"),
                friction=_friction(BITEXT_FRICTION, label), original_label=label,
            ))
    return out


LOADERS = {"banking77": load_banking77, "clinc150": load_clinc150, "bitext": load_bitext}


def load_public(root: Path, names: Iterable[str] = PUBLIC_DATASETS) -> dict[str, list[Example]]:
    """The public datasets under ``root`` (e.g. ``../shared/data``), mapped."""
    if not root.is_dir():
        raise FileNotFoundError(f"public data folder {root} not found")
    return {name: LOADERS[name](root) for name in names}


def _parse_labels(obj: dict[str, object], source: str, split: str = "train") -> Example:
    def opt(key: str, allowed: Sequence[str]) -> str | None:
        value = obj.get(key)
        if value in (None, ""):
            return None
        value = str(value).strip()
        if value not in allowed:
            raise ValueError(f"{key} {value!r} is not one of {list(allowed)}")
        return value

    text = str(obj.get("text") or "").strip()
    if not text:
        raise ValueError("missing text")
    fr = obj.get("friction")
    friction: tuple[str, ...] | None
    if fr is None or (isinstance(fr, str) and fr.strip() in ("", "?")):
        friction = None
    else:
        items = fr if isinstance(fr, list) else str(fr).replace(",", ";").split(";")
        friction = tuple(sorted({str(x).strip() for x in items if str(x).strip()} - {"none"}))
        bad = [c for c in friction if c not in FRICTION_CATEGORIES]
        if bad:
            raise ValueError(f"friction {bad} not in {list(FRICTION_CATEGORIES)}")
    tags = obj.get("tags") or ()
    return Example(
        text=text, source=source, split=split,
        intent=opt("intent", INTENTS), friction=friction,
        sentiment=opt("sentiment", SENTIMENTS), stage=opt("stage", STAGES),
        tags=tuple(tags) if isinstance(tags, list) else tuple(str(tags).split(";")),
        original_label=str(obj.get("channel", "")) + "/" + str(obj.get("domain", "")),
    )


def seed_path() -> Path:
    return Path(str(resources.files("models").joinpath("data/seed.jsonl")))


def load_seed(path: Path | None = None) -> list[Example]:
    """The project's seed set (JSONL: text, channel, domain, intent, friction, sentiment,
    stage, tags)."""
    out = []
    with open(path or seed_path(), encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(_parse_labels(json.loads(line), "seed"))
                except ValueError as exc:
                    raise ValueError(f"seed line {n}: {exc}") from None
    return out


def _user_rows(path: Path) -> list[dict[str, object]]:
    """The rows of a user's file as dicts; a spreadsheet's byte-order mark is read past."""
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows: list[dict[str, object]] = [dict(r) for r in csv.DictReader(fh)]
        for r in rows:  # in CSV an empty friction cell means "no friction" only if column given
            if r.get("friction") == "":
                r["friction"] = "none"
        return rows
    rows = []
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path} line {n}: not JSON ({exc.args[0]})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path} line {n}: a JSON object is needed, not "
                                 f"{type(row).__name__}")
            rows.append(row)
    return rows


def load_user_file(path: Path) -> list[Example]:
    """A user's labelled CSV or JSONL (UTF-8): column ``text`` plus any of ``intent``,
    ``friction`` (``;``-separated, ``none`` or empty list for no friction), ``sentiment``,
    ``stage``. Anything it cannot read is a ``ValueError`` naming the file and row."""
    try:
        rows = _user_rows(path)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                         f"{exc.start}); save it as UTF-8") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    out = []
    for n, row in enumerate(rows, 1):
        try:
            out.append(_parse_labels(row, "user"))
        except ValueError as exc:
            raise ValueError(f"{path} row {n}: {exc}") from None
    if not out:
        raise ValueError(f"{path} holds no labelled rows")
    return out


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 over texts and labels: identifies the training data in artifact metadata."""
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.text, e.source, e.intent, e.friction, e.sentiment, e.stage])
                 .encode())
        h.update(b"\n")
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
