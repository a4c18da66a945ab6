"""Account context: customer profiles (plan, revenue, renewal, owner, segment) and what they
change on an alert.

Profiles arrive on a compacted topic keyed by customer id (contract:
``contracts/profile.schema.json``); :func:`parse_profile` validates one. An alert of a customer
with a profile carries ``account`` (what is known, plus an expected revenue at risk), and a
renewal within ``renewal_window_days`` raises its severity one step. Without a profile nothing
changes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from detector.alerts import SEVERITIES, severity_rank

PROFILE_FIELDS: tuple[str, ...] = (
    "customer_id", "plan", "monthly_revenue", "currency", "renewal_date", "owner", "segment",
    "updated_at",
)
MAX_TEXT = 256
#: above any real account's monthly revenue; keeps the revenue at risk a finite number (1e308
#: made it ``Infinity``, which is not JSON)
MAX_MONTHLY_REVENUE = 1e12


class ProfileError(ValueError):
    """A profile that cannot be used; ``reason`` is a short code for the dead-letter record."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class AccountConfig:
    """How account context ranks alerts (settings ``CHURN_RENEWAL_WINDOW_DAYS``, ...)."""

    renewal_window_days: float = 30.0
    revenue_horizon_months: float = 12.0


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ProfileError("invalid_profile", f"{name} must be a non-empty string of at most "
                           f"{MAX_TEXT} characters")
    return value.strip()


def parse_profile(raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Validate one profile record; return its normalised JSON dict (only known fields)."""
    obj: Any = raw
    if not isinstance(raw, dict):
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileError("invalid_json", str(exc)[:120]) from exc
    if not isinstance(obj, dict):
        raise ProfileError("not_an_object", "a profile must be a JSON object")
    customer_id = _text(obj, "customer_id")
    if customer_id is None:
        raise ProfileError("missing_field", "customer_id is required")
    out: dict[str, Any] = {"customer_id": customer_id}
    revenue = obj.get("monthly_revenue")
    if revenue is not None:
        if (isinstance(revenue, bool) or not isinstance(revenue, int | float)
                or not math.isfinite(revenue) or not 0 <= revenue <= MAX_MONTHLY_REVENUE):
            raise ProfileError("invalid_profile", "monthly_revenue must be a number from 0 to "
                               f"{MAX_MONTHLY_REVENUE:.0e}")
        out["monthly_revenue"] = float(revenue)
    renewal = obj.get("renewal_date")
    if renewal is not None:
        try:
            out["renewal_date"] = date.fromisoformat(str(renewal)[:10]).isoformat()
        except ValueError as exc:
            raise ProfileError("invalid_profile", "renewal_date must be YYYY-MM-DD") from exc
    for name in ("plan", "currency", "owner", "segment", "updated_at"):
        value = _text(obj, name)
        if value is not None:
            out[name] = value
    return out


def renewal_in_days(profile: dict[str, Any], at: datetime) -> int | None:
    """Whole days from ``at`` to the renewal date (negative: past), or None when unknown."""
    if not profile.get("renewal_date"):
        return None
    return (date.fromisoformat(profile["renewal_date"]) - at.date()).days


def renews_soon(profile: dict[str, Any] | None, at: datetime, cfg: AccountConfig) -> bool:
    """Whether the account renews within the window (today included)."""
    if not profile:
        return False
    days = renewal_in_days(profile, at)
    return days is not None and 0 <= days <= cfg.renewal_window_days


def raise_for_renewal(severity: str, profile: dict[str, Any] | None, at: datetime,
                      cfg: AccountConfig) -> str:
    """One step up (critical stays critical) when the account renews soon."""
    if not renews_soon(profile, at, cfg):
        return severity
    return SEVERITIES[min(len(SEVERITIES) - 1, severity_rank(severity) + 1)]


def account_view(profile: dict[str, Any], at: datetime, risk: float, cfg: AccountConfig,
                 raised: bool) -> dict[str, Any]:
    """The ``account`` block of an alert: the profile, the renewal distance, and the expected
    revenue at risk = monthly revenue x horizon months x the customer's risk score."""
    view = {k: profile[k] for k in PROFILE_FIELDS if k in profile and k != "updated_at"}
    days = renewal_in_days(profile, at)
    if days is not None:
        view["renewal_in_days"] = days
    if "monthly_revenue" in profile:
        expected = profile["monthly_revenue"] * cfg.revenue_horizon_months * max(0.0, risk)
        view["expected_revenue_at_risk"] = round(expected, 2)
        view["revenue_horizon_months"] = cfg.revenue_horizon_months
    view["severity_raised_for_renewal"] = raised
    return view


def account_reason(view: dict[str, Any]) -> str:
    """One line for the alert's reasons."""
    parts = []
    if view.get("plan"):
        parts.append(f"plan {view['plan']}")
    if "monthly_revenue" in view:
        currency = f" {view['currency']}" if view.get("currency") else ""
        parts.append(f"{view['monthly_revenue']:,.0f}{currency}/month")
    if "renewal_in_days" in view:
        days = view["renewal_in_days"]
        parts.append(f"renews in {days} day{'s' if days != 1 else ''}" if days >= 0
                     else f"renewal date passed {-days} days ago")
    if view.get("owner"):
        parts.append(f"owner {view['owner']}")
    text = "Account: " + (", ".join(parts) or "profile known")
    if "expected_revenue_at_risk" in view:
        text += (f"; expected revenue at risk {view['expected_revenue_at_risk']:,.0f}"
                 f" over {view['revenue_horizon_months']:g} months")
    if view.get("severity_raised_for_renewal"):
        text += " (severity raised one step: renewal is near)"
    return text
