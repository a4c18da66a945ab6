"""Map an alert onto a generic CRM case / task, and from there onto Salesforce and HubSpot.

The generic case is what the webhook sink posts with ``CHURN_WEBHOOK_FORMAT=crm_case``; the
Salesforce and HubSpot functions are templates for the most common targets (see
docs/integrations.md). All mappings are pure functions of the alert dict (``Alert.to_dict``).

One CRM case per *situation*: the external id is the alert's ``case_key`` (contract 1.1; the
alert id for 1.0 alerts), so an escalation upserts the same case with its new severity,
reasons and evidence instead of opening another.
"""

from __future__ import annotations

from typing import Any

from detector.redact import escape_controls

#: Generic priority for each alert severity.
PRIORITY_BY_SEVERITY: dict[str, str] = {
    "low": "low",
    "medium": "normal",
    "high": "high",
    "critical": "urgent",
}
#: How soon someone should act, by severity (hours).
DUE_IN_HOURS: dict[str, int] = {"low": 168, "medium": 72, "high": 24, "critical": 4}
#: Salesforce's standard Case.Priority picklist has High / Medium / Low.
SALESFORCE_PRIORITY: dict[str, str] = {
    "low": "Low", "medium": "Medium", "high": "High", "critical": "High",
}
#: HubSpot's default hs_ticket_priority options: LOW / MEDIUM / HIGH (URGENT if you added it).
HUBSPOT_PRIORITY: dict[str, str] = {
    "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "HIGH",
}
TYPE_TITLES: dict[str, str] = {
    "customer_churn_risk": "Churn risk",
    "unresolved_issue": "Unresolved issue",
    "stage_friction_spike": "Friction spike",
    "cx_gap": "CX gap",
}
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
SOURCE = "churn-signal-detector"


def escaped(value: Any) -> Any:
    """``value`` with control, zero-width and bidi characters escaped in every string (ids,
    reasons, snippets): no forged lines or reordered text in a CRM case."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(v) for v in value]
    return value


def case_subject(alert: dict[str, Any]) -> str:
    """One-line subject, e.g. ``[HIGH] Churn risk: customer C-10457 (billing)``."""
    alert = escaped(alert)
    title = TYPE_TITLES.get(alert["type"], alert["type"].replace("_", " ").capitalize())
    stage = alert.get("journey_stage")
    customer = alert.get("customer_id")
    if customer:
        who = f"customer {customer}" + (f" ({stage})" if stage else "")
    else:
        who = f"{stage} stage" if stage else "all customers"
    subject = f"[{alert['severity'].upper()}] {title}: {who}"
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _evidence_line(item: dict[str, Any]) -> str:
    when = str(item.get("occurred_at", ""))[:16].replace("T", " ")
    parts = [p for p in (when, item.get("channel"), item.get("churn_intent")) if p]
    cats = item.get("friction_categories") or []
    if cats:
        parts.append("/".join(cats))
    if item.get("rating") is not None:
        parts.append(f"{item['rating']}★")
    line = " · ".join(str(p) for p in parts)
    snippet = item.get("snippet")
    return f"- {line}: \"{snippet}\"" if snippet else f"- {line}"


def case_key(alert: dict[str, Any]) -> str:
    """The case an alert upserts: its ``case_key``, or its alert id (contract 1.0)."""
    return str(alert.get("case_key") or alert["alert_id"])


def _account_lines(account: dict[str, Any]) -> list[str]:
    lines = []
    facts = [f"{k.replace('_', ' ')}: {account[k]}" for k in
             ("plan", "segment", "owner", "renewal_date") if account.get(k)]
    if "monthly_revenue" in account:
        currency = f" {account['currency']}" if account.get("currency") else ""
        facts.append(f"monthly revenue: {account['monthly_revenue']:,.2f}{currency}")
    if facts:
        lines.append("Account: " + " · ".join(facts))
    if "expected_revenue_at_risk" in account:
        lines.append(f"Expected revenue at risk: {account['expected_revenue_at_risk']:,.2f}"
                     f" over {account.get('revenue_horizon_months', 12):g} months")
    return lines


def case_description(alert: dict[str, Any]) -> str:
    """Plain-text description: why (reasons), evidence, recommended action, provenance."""
    alert = escaped(alert)
    lines = [
        f"{TYPE_TITLES.get(alert['type'], alert['type'])} alert {alert['alert_id']}"
        f" (severity {alert['severity']}, score {alert['score']:.2f})",
    ]
    who = []
    if alert.get("customer_id"):
        who.append(f"Customer: {alert['customer_id']}")
    if alert.get("journey_stage"):
        who.append(f"Journey stage: {alert['journey_stage']}")
    if who:
        lines.append(" · ".join(who))
    if alert.get("supersedes"):
        lines.append(f"Escalation of case {case_key(alert)}: replaces alert {alert['supersedes']}")
    if alert.get("account"):
        lines += _account_lines(alert["account"])
    if alert.get("reasons"):
        lines += ["", "Why:"] + [f"- {r}" for r in alert["reasons"]]
    if alert.get("evidence"):
        lines += ["", "Evidence:"] + [_evidence_line(e) for e in alert["evidence"]]
    lines += [
        "",
        f"Recommended action: {alert.get('recommended_action', '')}",
        f"Detected at {alert['created_at']} by model {alert.get('model_version', 'unknown')}.",
    ]
    text = "\n".join(lines)
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def crm_case(alert: dict[str, Any]) -> dict[str, Any]:
    """The generic CRM case / task for one alert; ``external_id`` is the case key (upsert on
    it: every escalation of a situation updates one case)."""
    alert = escaped(alert)
    severity = alert["severity"]
    tags = ["churn", alert["type"], severity]
    if alert.get("journey_stage"):
        tags.append(alert["journey_stage"])
    account = alert.get("account") or {}
    return {
        "external_id": case_key(alert),
        "alert_id": alert["alert_id"],
        "supersedes": alert.get("supersedes"),
        "subject": case_subject(alert),
        "priority": PRIORITY_BY_SEVERITY[severity],
        "description": case_description(alert),
        "customer_id": alert.get("customer_id"),
        "type": alert["type"],
        "severity": severity,
        "due_in_hours": DUE_IN_HOURS[severity],
        "tags": tags,
        "source": SOURCE,
        "created_at": alert["created_at"],
        "schema_version": alert.get("schema_version", "1.0"),
        "owner": account.get("owner"),
        "expected_revenue_at_risk": account.get("expected_revenue_at_risk"),
    }


def salesforce_case(alert: dict[str, Any]) -> dict[str, Any]:
    """Fields of a Salesforce ``Case``: upsert by the external-id field ``Churn_Case_Key__c``
    (``PATCH .../sobjects/Case/Churn_Case_Key__c/<key>``); ``Churn_Alert_Id__c`` holds the
    latest alert of the case."""
    case = crm_case(alert)
    return {
        "Subject": case["subject"],
        "Priority": SALESFORCE_PRIORITY[alert["severity"]],
        "Description": case["description"],
        "Status": "New",
        "Origin": "Churn Detector",
        "Type": "Churn Risk",
        "Churn_Case_Key__c": case["external_id"],
        "Churn_Alert_Id__c": case["alert_id"],
        "Churn_Customer_Id__c": case["customer_id"],
        "Churn_Revenue_At_Risk__c": case["expected_revenue_at_risk"],
    }


def hubspot_ticket(alert: dict[str, Any]) -> dict[str, Any]:
    """Body of a HubSpot ticket upsert (``POST /crm/v3/objects/tickets/batch/upsert`` with
    ``idProperty=churn_case_key``, a unique custom property); ``churn_alert_id`` holds the
    latest alert of the case."""
    case = crm_case(alert)
    return {
        "properties": {
            "subject": case["subject"],
            "content": case["description"],
            "hs_ticket_priority": HUBSPOT_PRIORITY[alert["severity"]],
            "hs_pipeline": "0",
            "hs_pipeline_stage": "1",
            "churn_case_key": case["external_id"],
            "churn_alert_id": case["alert_id"],
            "churn_customer_id": case["customer_id"],
        }
    }
