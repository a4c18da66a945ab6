"""Volume surges are seen at any traffic level; ordinary daily variation is not a surge."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.scenarios.journeys import T0, daily_traffic, ev, login_outage, run


def spikes(alerts, stage):
    return [a for a in alerts if a["type"] == "stage_friction_spike"
            and a["journey_stage"] == stage]


def test_surge_in_a_stage_with_near_zero_background_is_alerted_within_the_window():
    rng = random.Random(3)
    background = [ev(f"bg-{i}", f"C-bg{i}", T0 + timedelta(hours=rng.uniform(0, 6 * 24)),
                     "My activation code does not work" if i % 5 == 0 else "Setup done",
                     {"sentiment": -0.4, "friction": ["access"]} if i % 5 == 0
                     else {"sentiment": 0.5}, journey_stage="onboarding")
                  for i in range(14)]  # about 14 onboarding events in six days
    start = T0 + timedelta(days=6, hours=10)
    alerts = run(background + login_outage("onboarding", start, 40))
    found = spikes(alerts, "onboarding")
    assert found, alerts
    first = found[0]
    assert first["details"]["rule"] == "volume" and first["details"]["category"] == "access"
    at = datetime.fromisoformat(first["created_at"])
    assert at < start + timedelta(minutes=60), "alerted within the window"
    assert first["details"]["customers"] >= 3
    assert f"from {first['details']['customers']} customers" in first["reasons"][0]
    assert first["details"]["since"] == start.isoformat()
    assert "since 2026-11-08 10:00 UTC" in first["reasons"][0]
    # the alerts of the surge escalate one case
    assert len({a["case_key"] for a in found}) == 1
    assert found[-1]["severity"] == "critical" and found[-1]["details"]["customers"] >= 25
    assert [a["supersedes"] for a in found] == [None] + [a["alert_id"] for a in found[:-1]]


def test_surge_in_a_busy_stage_is_alerted_within_the_window():
    rng = random.Random(5)
    traffic = daily_traffic("usage", 4, 60, rng)  # the outage hits amid traffic
    start = T0 + timedelta(days=3, hours=14)
    alerts = run(traffic + login_outage("usage", start, 40))
    found = [a for a in spikes(alerts, "usage") if a["details"]["category"] == "access"]
    assert found, [a["type"] for a in alerts]
    assert datetime.fromisoformat(found[0]["created_at"]) < start + timedelta(minutes=60)
    volume = [a for a in found if a["details"]["rule"] == "volume"]
    assert volume and volume[0]["details"]["customers"] >= 3
    assert volume[0]["details"]["count"] >= 3 * volume[0]["details"]["expected"]
    assert len({a["case_key"] for a in found}) == 1, "rate and volume rules share the case"
    for alert in found:  # whichever rule spoke, it names the customers and since when
        assert alert["details"]["customers"] >= 3 and alert["details"]["since"]
        assert f"{alert['details']['customers']} customers" in " ".join(alert["reasons"])


def test_two_weeks_of_ordinary_daily_variation_raise_no_stage_alert():
    rng = random.Random(11)
    traffic = (daily_traffic("usage", 14, 40, rng, prefix="u")
               + daily_traffic("onboarding", 14, 1.5, rng, prefix="o")
               + daily_traffic("billing", 14, 8, rng, prefix="b", categories=("billing",)))
    alerts = run(traffic)
    stage_alerts = [a for a in alerts if a["customer_id"] is None]
    assert stage_alerts == [], [(a["journey_stage"], a["reasons"][:2]) for a in stage_alerts]
