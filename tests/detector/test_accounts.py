"""Account context: profiles parse strictly, rank alerts as documented, and their absence
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from detector.accounts import ProfileError, parse_profile
from detector.alerts import SEVERITIES
from detector.engine import Detector
from tests.conftest import T0, make_signal

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "detector" / "contracts"
                     / "profile.schema.json").read_text())
PROFILE = {"customer_id": "C-9", "plan": "Enterprise", "monthly_revenue": 20000,
           "currency": "EUR", "renewal_date": "2027-06-30", "owner": "Dana Fox",
           "segment": "enterprise"}


def story(customer: str = "C-9"):
    return [
        make_signal("t1", customer, hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("t2", customer, hours=20, friction=("billing",), sentiment=-0.7,
                    channel="email"),
        make_signal("t3", customer, hours=30, friction=("billing",), sentiment=-0.7,
                    channel="call"),
        make_signal("t4", customer, hours=40, intent="at_risk", p=0.8, sentiment=-0.8),
    ]


def alerts(profiles=None, customer: str = "C-9"):
    det = Detector(profiles=profiles or {})
    return [a.to_dict() for s in story(customer) for a in det.process(s)]


def test_no_profile_changes_nothing():
    plain = alerts()
    other = alerts({"C-OTHER": parse_profile(dict(PROFILE, customer_id="C-OTHER"))})
    assert plain == other and plain
    assert all("account" not in a for a in plain)


def test_profile_adds_account_and_revenue_at_risk_without_changing_severity():
    plain = alerts()
    rich = alerts({"C-9": parse_profile(PROFILE)})
    assert [(a["type"], a["severity"]) for a in rich] == [(a["type"], a["severity"])
                                                          for a in plain]
    churn = [a for a in rich if a["type"] == "customer_churn_risk"][-1]
    account = churn["account"]
    assert account["plan"] == "Enterprise" and account["owner"] == "Dana Fox"
    assert account["severity_raised_for_renewal"] is False
    risk = churn["details"]["risk_score"]
    assert account["expected_revenue_at_risk"] == pytest.approx(20000 * 12 * risk, rel=1e-4)
    assert any(r.startswith("Account: plan Enterprise, 20,000 EUR/month") for r in
               churn["reasons"])


def test_revenue_ranks_otherwise_identical_customers():
    small = alerts({"C-9": parse_profile(dict(PROFILE, monthly_revenue=20))})
    large = alerts({"C-9": parse_profile(PROFILE)})
    s, big = small[-1]["account"], large[-1]["account"]
    assert big["expected_revenue_at_risk"] == pytest.approx(1000 * s["expected_revenue_at_risk"],
                                                            rel=1e-3)


def test_renewal_within_the_window_raises_severity_one_step():
    plain = alerts()
    soon = (T0.date().replace(day=T0.day + 10)).isoformat()  # 10 days after the story starts
    renewing = alerts({"C-9": parse_profile(dict(PROFILE, renewal_date=soon))})
    assert len(renewing) == len(plain)
    for before, after in zip(plain, renewing, strict=True):
        want = SEVERITIES[min(3, SEVERITIES.index(before["severity"]) + 1)]
        assert after["severity"] == want
        assert after["account"]["severity_raised_for_renewal"] is True
        assert 0 <= after["account"]["renewal_in_days"] <= 30
    passed = alerts({"C-9": parse_profile(dict(PROFILE, renewal_date="2026-10-01"))})
    assert [a["severity"] for a in passed] == [a["severity"] for a in plain]


@pytest.mark.parametrize("profile,ok", [
    (PROFILE, True),
    ({"customer_id": "C-1"}, True),
    (dict(PROFILE, plan=None, owner=None), True),
    (dict(PROFILE, extra="ignored"), True),
    (dict(PROFILE, renewal_date="2027-06-30T00:00:00Z"), True),
    ({"plan": "x"}, False),
    (dict(PROFILE, customer_id=""), False),
    (dict(PROFILE, monthly_revenue=-5), False),
    (dict(PROFILE, monthly_revenue="100"), False),
    (dict(PROFILE, monthly_revenue=True), False),
    (dict(PROFILE, monthly_revenue=1e12), True),
    (dict(PROFILE, monthly_revenue=1e308), False),
    (dict(PROFILE, renewal_date="next year"), False),
    (dict(PROFILE, owner="   "), False),
    (dict(PROFILE, segment=7), False),
])
def test_profile_schema_accepts_exactly_what_the_parser_accepts(profile, ok):
    try:
        parse_profile(profile)
        parsed = True
    except ProfileError:
        parsed = False
    valid = not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(profile))
    assert parsed == ok and valid == ok


def test_the_largest_profile_gives_an_alert_that_is_strict_json():
    """A monthly revenue of 1e308 made the revenue at risk ``Infinity`` in the alert, which
    no strict JSON reader (a CRM's) accepts; the profile is refused now, and the largest
    accepted one still gives finite numbers."""
    with pytest.raises(ProfileError):
        parse_profile(dict(PROFILE, monthly_revenue=1e308))
    got = alerts({"C-9": parse_profile(dict(PROFILE, monthly_revenue=1e12))})
    assert got and all(json.loads(json.dumps(a, allow_nan=False)) == a for a in got)


def test_bad_profile_bytes_give_a_reason():
    with pytest.raises(ProfileError) as exc:
        parse_profile(b"{nope")
    assert exc.value.reason == "invalid_json"
    with pytest.raises(ProfileError) as exc:
        parse_profile(b"[1]")
    assert exc.value.reason == "not_an_object"
