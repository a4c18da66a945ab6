"""Generic CRM case mapping and its Salesforce / HubSpot templates."""

from __future__ import annotations

from streams.crm_mapping import crm_case, hubspot_ticket, salesforce_case
from tests.contracts.test_schemas import stage_alert
from tests.streams.test_webhook import make_alert


def test_generic_case_from_a_customer_alert():
    alert = make_alert(1, customer="C-10457", severity="critical")
    case = crm_case(alert)
    assert case["external_id"] == alert["alert_id"]
    assert case["subject"] == "[CRITICAL] Churn risk: customer C-10457 (billing)"
    assert case["priority"] == "urgent" and case["due_in_hours"] == 4
    for reason in alert["reasons"]:
        assert f"- {reason}" in case["description"]
    assert '"please cancel my contract"' in case["description"]
    assert alert["recommended_action"] in case["description"]
    assert case["tags"] == ["churn", "customer_churn_risk", "critical", "billing"]


def test_priority_follows_severity():
    got = {s: crm_case(make_alert(2, severity=s))["priority"]
           for s in ("low", "medium", "high", "critical")}
    assert got == {"low": "low", "medium": "normal", "high": "high", "critical": "urgent"}


def test_stage_alert_without_customer():
    case = crm_case(stage_alert())
    assert case["subject"] == "[HIGH] Friction spike: billing stage"
    assert case["customer_id"] is None and "Customer:" not in case["description"]


def test_salesforce_and_hubspot_templates():
    alert = make_alert(3, severity="high")
    sf = salesforce_case(alert)
    assert sf["Churn_Alert_Id__c"] == alert["alert_id"] and sf["Priority"] == "High"
    assert sf["Subject"] == crm_case(alert)["subject"]
    hs = hubspot_ticket(alert)["properties"]
    assert hs["churn_alert_id"] == alert["alert_id"] and hs["hs_ticket_priority"] == "HIGH"
    assert hs["content"] == crm_case(alert)["description"]


def test_cases_upsert_on_the_case_key_and_name_the_escalation():
    first = dict(make_alert(5, severity="medium"), case_key="case-" + "a" * 24)
    second = dict(make_alert(6, severity="critical"), case_key="case-" + "a" * 24,
                  supersedes=first["alert_id"],
                  account={"customer_id": "C-1", "plan": "Enterprise", "monthly_revenue": 20000.0,
                           "currency": "EUR", "owner": "Dana", "expected_revenue_at_risk":
                           194000.0, "revenue_horizon_months": 12.0,
                           "severity_raised_for_renewal": True})
    a, b = crm_case(first), crm_case(second)
    assert a["external_id"] == b["external_id"] == "case-" + "a" * 24
    assert (a["alert_id"], b["alert_id"]) == (first["alert_id"], second["alert_id"])
    assert f"replaces alert {first['alert_id']}" in b["description"]
    assert "Expected revenue at risk: 194,000.00 over 12 months" in b["description"]
    assert b["owner"] == "Dana" and b["expected_revenue_at_risk"] == 194000.0
    sf = salesforce_case(second)
    assert sf["Churn_Case_Key__c"] == b["external_id"] and sf["Churn_Alert_Id__c"] == b["alert_id"]
    assert hubspot_ticket(second)["properties"]["churn_case_key"] == b["external_id"]
