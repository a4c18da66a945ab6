"""The alert contract: what leaves the detector on ``churn.alerts``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ALERT_SCHEMA_VERSION = "1.1"
ALERT_TYPES: tuple[str, ...] = (
    "customer_churn_risk",
    "unresolved_issue",
    "stage_friction_spike",
    "cx_gap",
)
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def make_alert_id(alert_type: str, *parts: str) -> str:
    """Deterministic id: the same situation (type + identifying parts) gives the same id."""
    digest = hashlib.sha256("|".join((alert_type, *parts)).encode("utf-8")).hexdigest()
    return f"al-{digest[:24]}"


def make_case_key(alert_type: str, *parts: str) -> str:
    """Deterministic key of a *situation* (no severity): every alert of it carries the key,
    so that a CRM upserts one case and updates it as the situation escalates."""
    digest = hashlib.sha256("|".join(("case", alert_type, *parts)).encode("utf-8")).hexdigest()
    return f"case-{digest[:24]}"


@dataclass(frozen=True)
class Alert:
    """One explainable alert."""

    alert_id: str
    type: str
    severity: str
    customer_id: str | None
    journey_stage: str | None
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    recommended_action: str
    created_at: datetime
    model_version: str
    details: dict[str, Any] = field(default_factory=dict)
    schema_version: str = ALERT_SCHEMA_VERSION
    #: The situation this alert belongs to (same customer / stage, type and episode or
    #: thread; never the severity). None: a situation of its own (the alert id is used).
    case_key: str | None = None
    #: The previous alert of the same case, which this one replaces (None: the first).
    supersedes: str | None = None
    #: What is known about the customer's account (``detector.accounts``), if anything.
    account: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "alert_id": self.alert_id,
            "type": self.type,
            "severity": self.severity,
            "customer_id": self.customer_id,
            "journey_stage": self.journey_stage,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
            "evidence": [dict(e) for e in self.evidence],
            "recommended_action": self.recommended_action,
            "created_at": self.created_at.isoformat(),
            "schema_version": self.schema_version,
            "model_version": self.model_version,
            "details": dict(self.details),
            "case_key": self.case_key or self.alert_id,
            "supersedes": self.supersedes,
        }
        if self.account is not None:
            out["account"] = dict(self.account)
        return out
