from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from detector.alerts import ALERT_TYPES, SEVERITIES
from detector.customer import RiskConfig, ordinal, risk_score, update_customer
from detector.engine import Detector
from detector.state_codec import expand, last_seen
from tests.conftest import make_signal

CFG = RiskConfig()


def run(signals, cfg=CFG):
    det = Detector(risk=cfg)
    alerts = [a for s in signals for a in det.process(s)]
    return det, alerts


def test_happy_customer_never_alerts():
    signals = [make_signal(f"h{i}", hours=i * 12, sentiment=0.8, rating=5) for i in range(20)]
    det, alerts = run(signals)
    assert alerts == []
    assert risk_score(det.customers["C-1"], signals[-1].occurred_at, CFG) < 0.2


def test_single_mildly_negative_review_does_not_alert():
    _, alerts = run([make_signal("r1", sentiment=-0.4, friction=("product",), rating=3)])
    assert alerts == []


def test_explicit_cancel_after_friction_is_critical_with_reasons_and_evidence():
    signals = [
        make_signal("t1", hours=0, friction=("billing",), sentiment=-0.5, channel="chat",
                    text="I was charged twice"),
        make_signal("t2", hours=30, friction=("billing",), sentiment=-0.7, channel="email",
                    text="Still charged twice, nobody answers"),
        make_signal("t3", hours=60, intent="explicit", p=0.95, sentiment=-0.8, channel="call",
                    text="Close my account, I'm done. Call me on +44 7700 900123"),
    ]
    _, alerts = run(signals)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.type == "customer_churn_risk" and alert.type in ALERT_TYPES
    assert alert.severity == "critical" and alert.severity in SEVERITIES
    assert alert.customer_id == "C-1"
    assert alert.details["trigger_event_id"] == "t3"
    assert {e["event_id"] for e in alert.evidence} == {"t1", "t2", "t3"}
    assert any("asks to leave" in r for r in alert.reasons)
    assert any("3rd contact in 3 days across chat, email and phone" in r for r in alert.reasons)
    assert all(len(e["snippet"]) <= 200 for e in alert.evidence)
    assert "+44 7700 900123" not in str(alert.to_dict()), "phone number must be redacted"
    assert alert.recommended_action


def test_alert_id_is_deterministic_across_runs():
    signals = [make_signal("x1", intent="explicit", p=0.9, sentiment=-0.6)]
    _, a1 = run(signals)
    _, a2 = run(signals)
    assert a1[0].alert_id == a2[0].alert_id
    _, other = run([make_signal("x2", "C-2", intent="explicit", p=0.9, sentiment=-0.6)])
    assert other[0].alert_id != a1[0].alert_id
    _, later = run([make_signal("x3", hours=500, intent="explicit", p=0.9, sentiment=-0.6)])
    assert later[0].alert_id != a1[0].alert_id


def test_alert_id_names_the_situation_not_the_arrival_order():
    story = [
        make_signal("o1", hours=0, friction=("billing",), sentiment=-0.6, channel="chat"),
        make_signal("o2", hours=30, friction=("billing",), sentiment=-0.7, channel="email"),
        make_signal("o3", hours=60, friction=("billing",), sentiment=-0.8, channel="call"),
    ]
    _, in_order = run(story)
    _, shuffled = run([story[0], story[2], story[1]])
    ids = {(a.type, a.alert_id) for a in in_order if a.type == "unresolved_issue"}
    assert ids and ids == {(a.type, a.alert_id) for a in shuffled if a.type == "unresolved_issue"}


def test_redelivered_event_is_counted_once():
    s = make_signal("d1", friction=("billing",), sentiment=-0.5)
    det, _ = run([s, s, s])
    assert det.duplicates == 2
    assert det.customers["C-1"]["events"] == 1
    assert expand(det.customers["C-1"], "C-1")["friction_counts"] == {"billing": 1}
    assert det.stages["usage"]["events"] == 1


def test_burst_of_angry_messages_gives_few_escalating_alerts():
    signals = [make_signal(f"b{i}", hours=i * 0.05, intent="at_risk", p=0.8, sentiment=-0.9,
                           friction=("service",)) for i in range(50)]
    _, alerts = run(signals)
    assert 1 <= len(alerts) <= 4, "50 messages must not give 50 alerts"
    for alert_type in {a.type for a in alerts}:
        ranks = [SEVERITIES.index(a.severity) for a in alerts if a.type == alert_type]
        assert len(ranks) <= 3
        assert ranks == sorted(set(ranks)), "each re-alert of a type must escalate"


def test_risk_decays_with_half_life():
    cfg = RiskConfig(half_life_hours=10)
    det, _ = run([make_signal("a", intent="at_risk", p=0.9, sentiment=-0.5)], cfg)
    st = det.customers["C-1"]
    from datetime import timedelta

    t0 = make_signal("a").occurred_at
    r0 = risk_score(st, t0, cfg)
    r10 = risk_score(st, t0 + timedelta(hours=10), cfg)
    assert r10 < r0
    import math

    assert math.isclose(-math.log(1 - r10), -math.log(1 - r0) / 2, rel_tol=1e-6)


def test_late_event_counts_but_decayed():
    on_time = [make_signal("a", hours=100, sentiment=-0.5, friction=("billing",))]
    det, _ = run(on_time + [make_signal("late", hours=0, intent="at_risk", p=0.9)])
    st = det.customers["C-1"]
    assert st["events"] == 2
    assert last_seen(st) == on_time[0].occurred_at


def test_state_is_bounded():
    cfg = RiskConfig(evidence_size=5, seen_ids_size=20, max_contacts=10)
    signals = [make_signal(f"s{i}", hours=i * 0.1) for i in range(200)]
    det, _ = run(signals, cfg)
    st = det.customers["C-1"]
    assert len(st["evidence"]) == 5 and len(st["seen"]) == 20 and len(st["contacts"]) <= 10


def test_update_is_pure():
    first = update_customer(None, make_signal("p1"), CFG)
    snapshot = repr(first.state)
    update_customer(first.state, make_signal("p2", friction=("billing",)), CFG)
    assert repr(first.state) == snapshot


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


def test_low_rating_after_support_contact_is_a_pattern():
    signals = [
        make_signal("s1", hours=0, channel="ticket", stage="support", friction=("service",),
                    sentiment=-0.4),
        make_signal("s2", hours=20, channel="survey", stage="support", rating=1, sentiment=-0.7),
    ]
    det = Detector()
    det.process(signals[0])
    update = update_customer(det.customers["C-1"], signals[1], CFG)
    assert "low_rating_after_support" in update.patterns
    assert "low_rating_after_onboarding" not in update.patterns


def test_low_rating_after_onboarding_is_a_pattern():
    first = update_customer(None, make_signal("o1", stage="onboarding", channel="chat"), CFG)
    update = update_customer(first.state, make_signal("o2", hours=5, channel="review",
                                                      stage="usage", rating=2), CFG)
    assert "low_rating_after_onboarding" in update.patterns


def test_escalation_patterns_sentiment_sliding_and_intent_rising():
    state = None
    seen = []
    for i, (intent, sent) in enumerate([("none", 0.2), ("none", -0.3), ("at_risk", -0.6),
                                        ("explicit", -0.9)]):
        up = update_customer(state, make_signal(f"e{i}", hours=i * 10, intent=intent, p=0.9,
                                                sentiment=sent), CFG)
        state = up.state
        seen.append(up.patterns)
    assert "sentiment_sliding" in seen[2]
    assert "intent_rising" in seen[2] and "intent_rising" in seen[3]
    assert "intent_rising" not in seen[1]


def test_a_first_message_is_not_rising_intent():
    """Rising needs an earlier contact: a customer's first message asking to leave is
    alerted on its own strength, not as a trend, and no reason claims earlier contacts."""
    first = update_customer(None, make_signal("f1", intent="explicit", p=0.9,
                                              sentiment=-0.6), CFG)
    assert "intent_rising" not in first.patterns
    assert first.alerts and not any("earlier contacts" in r for r in first.alerts[0].reasons)
    at_risk = update_customer(None, make_signal("f2", intent="at_risk", p=0.9), CFG)
    assert "intent_rising" not in at_risk.patterns
    later = update_customer(first.state, make_signal("f3", hours=1, intent="none"), CFG)
    rising = update_customer(later.state, make_signal("f4", hours=2, intent="explicit",
                                                      p=0.9), CFG)
    assert "intent_rising" in rising.patterns


def test_a_message_the_models_label_explicit_is_a_request_to_leave():
    """The alert rules read a request to leave where the models label one (P(explicit) from
    0.5): "The app keeps logging me out. I want to cancel my subscription." at 0.51 raised no
    alert, and the customer's next message, which took it back, raised the first one."""
    asks = update_customer(None, make_signal("e1", intent="explicit", p=0.51,
                                             sentiment=-0.5), CFG)
    assert [a.severity for a in asks.alerts] == ["high"]
    assert any("asks to leave" in r for r in asks.alerts[0].reasons)
    took_back = update_customer(asks.state, make_signal("e2", hours=2, intent="none", p=0.97,
                                                        sentiment=-0.5,
                                                        friction=("service",)), CFG)
    assert took_back.alerts == []
    stricter = RiskConfig(explicit_probability=0.6)  # fewer requests: still a churn risk
    held = update_customer(None, make_signal("e3", intent="explicit", p=0.51, sentiment=-0.5),
                           stricter)
    assert [a.severity for a in held.alerts] == ["medium"]
    assert any("Credible leaving signal" in r for r in held.alerts[0].reasons)


def test_a_message_the_models_label_at_risk_is_at_least_medium():
    """"Your price went up again. I'm moving to Mint Mobile when my contract ends in March."
    read at_risk (churn probability 0.55, P(at_risk) 0.48) and, on its own, raised no alert:
    each intent's share counted only above the probability floor."""
    moving = update_customer(None, make_signal("m1", intent="at_risk", p=0.48,
                                               sentiment=-0.8, friction=("billing",)), CFG)
    assert [a.severity for a in moving.alerts] == ["medium"]
    assert any("Credible leaving signal" in r for r in moving.alerts[0].reasons)
    assert update_customer(None, make_signal("m2", intent="none", p=0.55, sentiment=-0.8,
                                             friction=("billing",)), CFG).alerts == []


def test_the_action_fits_whether_a_problem_is_on_record():
    """A request to leave with no friction on record has no fix to own: the action asks
    what made the customer decide; with friction on record it is to fix the problem."""
    leaving = update_customer(None, make_signal("a1", intent="explicit", p=0.9), CFG)
    assert "what made them decide" in leaving.alerts[0].recommended_action
    first = update_customer(None, make_signal("a2", friction=("billing",), sentiment=-0.6), CFG)
    then = update_customer(first.state, make_signal("a3", hours=1, intent="explicit", p=0.9),
                           CFG)
    assert then.alerts[0].severity == "critical"  # asks to leave after a negative contact
    assert "fix the root cause" in then.alerts[0].recommended_action


def test_friction_read_from_another_language_says_so():
    from dataclasses import replace

    german = replace(make_signal("de1", intent="explicit", p=0.9, friction=("product",),
                                 sentiment=-0.6),
                     flags=("non_english", "leaving_cue"), language="de")
    reasons = update_customer(None, german, CFG).alerts[0].reasons
    assert any(r.startswith("Friction raised: product ×1 (the latest read from de by English")
               for r in reasons)
    english = update_customer(None, make_signal("en1", intent="explicit", p=0.9,
                                                friction=("product",)), CFG)
    assert "Friction raised: product ×1" in english.alerts[0].reasons


def test_a_late_message_is_held_like_one_in_order():
    """The minimum interval between escalations is measured to the customer's latest event
    time: a burst that arrives out of order alerts as it does in order (it once escalated to
    critical when its first message came last)."""
    burst = [make_signal(f"b{i}", hours=i / 6, channel="social", friction=("service",),
                         sentiment=-0.8) for i in range(6)]

    def alerts(order: list[int]) -> set[tuple[str, str]]:
        state, out = None, set()
        for i in order:
            up = update_customer(state, burst[i], CFG)
            state = up.state
            out |= {(a.type, a.severity) for a in up.alerts}
        return out

    in_order = alerts([0, 1, 2, 3, 4, 5])
    assert ("customer_churn_risk", "critical") not in in_order
    assert alerts([3, 1, 5, 2, 4, 0]) == in_order


def test_cross_channel_repeats_name_the_integration_gap():
    story = [make_signal(f"c{i}", hours=i * 24, channel=ch, friction=("billing",), sentiment=-0.6)
             for i, ch in enumerate(["chat", "email", "call"])]
    _, alerts = run(story)
    issue = [a for a in alerts if a.type == "unresolved_issue"]
    assert issue and issue[0].details["cross_channel"] is True
    assert issue[0].details["channels"] == ["chat", "email", "call"]
    assert any("Integration gap" in r for r in issue[0].reasons)
    assert "3rd contact in 2 days" in issue[0].reasons[0]


def test_issue_state_is_bounded():
    signals = [make_signal(f"t{i}", hours=i, friction=(cat,), sentiment=-0.5,
                           embedding=tuple(float(j == i % 16) for j in range(16)))
               for i, cat in enumerate(["billing", "access", "delivery", "product"] * 10)]
    det, _ = run(signals)
    threads = expand(det.customers["C-1"], "C-1")["threads"]
    assert len(threads) <= CFG.issue_max_threads
    assert all(len(t["event_ids"]) <= 6 for t in threads)


def test_a_customer_who_took_the_request_back_is_not_cited_as_leaving_later():
    """After "please ignore my cancellation request, I'm staying" (flag ``retraction``), a
    later alert on the same customer no longer says earlier messages asked to leave."""
    from dataclasses import replace

    asked = make_signal("q1", hours=0, intent="explicit", p=0.9, sentiment=-0.6,
                        friction=("access",), text="Locked out again. Cancel my plan.")
    back = replace(make_signal("q2", hours=4, sentiment=0.5,
                               text="Please ignore my cancellation request, I'm staying."),
                   flags=("retraction",))
    later = [make_signal(f"q{3 + i}", hours=30 + i, friction=("billing",), sentiment=-0.8,
                         channel=ch, text="The bill is wrong again.")
             for i, ch in enumerate(("email", "call", "chat"))]
    det, alerts = run([asked, back, *later])
    assert alerts[0].details["trigger_event_id"] == "q1"
    assert any(a.details["trigger_event_id"] != "q1" for a in alerts), alerts
    for alert in alerts[1:]:
        assert not any("Earlier messages showed" in r for r in alert.reasons), alert.reasons
    # without the retraction the same journey cites the request to leave
    _, alerts = run([asked, replace(back, flags=()), *later])
    assert any("Earlier messages showed explicit" in r for a in alerts[1:] for r in a.reasons)


def test_a_critical_case_learns_of_a_later_request_to_leave_once():
    """The sample's energy customer: a "last straw" post made the case critical, then an
    e-mail asked to close the account and was held back (same severity, same patterns), so
    the case never said the customer had asked to leave. Now one update, under its own id;
    a second request adds nothing."""
    signals = [make_signal(f"f{i}", hours=i * 8, friction=("billing",), sentiment=-0.7,
                           channel=("chat", "email", "call")[i % 3]) for i in range(5)]
    signals += [
        make_signal("f5", hours=44, intent="at_risk", p=0.8, friction=("billing",),
                    sentiment=-0.8, channel="social", text="This is the last straw."),
        make_signal("f6", hours=48, intent="explicit", p=0.95, sentiment=-0.7, channel="email",
                    text="Please close my account and send my final bill."),
        make_signal("f7", hours=50, intent="explicit", p=0.95, sentiment=-0.7, channel="email",
                    text="Again: close my account."),
    ]
    _, alerts = run(signals)
    churn = [a for a in alerts if a.type == "customer_churn_risk"]
    assert [a.details["trigger_event_id"] for a in churn][-2:] == ["f5", "f6"]
    before, request = churn[-2:]
    assert before.severity == request.severity == "critical"
    assert request.case_key == before.case_key and request.supersedes == before.alert_id
    assert request.alert_id != before.alert_id
    assert "asks_to_leave" in request.details["patterns"]
    assert any("asks to leave" in r for r in request.reasons)


def test_a_case_raised_by_a_request_to_leave_is_not_updated_by_the_next_one():
    signals = [
        make_signal("g1", hours=0, friction=("billing",), sentiment=-0.6),
        make_signal("g2", hours=20, intent="explicit", p=0.95, friction=("billing",),
                    sentiment=-0.8, text="Close my account."),
        make_signal("g3", hours=30, intent="explicit", p=0.95, sentiment=-0.8,
                    text="Close my account now."),
    ]
    _, alerts = run(signals)
    assert [a.details["trigger_event_id"] for a in alerts
            if a.type == "customer_churn_risk"] == ["g2"]


def test_a_request_that_left_the_bounded_evidence_is_still_on_record():
    """The evidence on record is bounded: once the update's request has dropped out of it,
    a second request must not update the case again under the same id."""
    from dataclasses import replace

    cfg = replace(CFG, evidence_size=3)
    signals = [make_signal(f"f{i}", hours=i * 8, friction=("billing",), sentiment=-0.7,
                           channel=("chat", "email", "call")[i % 3]) for i in range(5)]
    signals += [
        make_signal("f5", hours=44, intent="at_risk", p=0.8, friction=("billing",),
                    sentiment=-0.8, channel="social"),
        make_signal("f6", hours=46, intent="explicit", p=0.95, sentiment=-0.7),
        *[make_signal(f"g{i}", hours=47 + i, friction=("billing",), sentiment=-0.7)
          for i in range(4)],
        make_signal("f7", hours=52, intent="explicit", p=0.95, sentiment=-0.7),
    ]
    _, alerts = run(signals, cfg)
    churn = [a for a in alerts if a.type == "customer_churn_risk"]
    assert [a.details["trigger_event_id"] for a in churn][-2:] == ["f5", "f6"]
    assert len({a.alert_id for a in alerts}) == len(alerts)


def test_a_retained_customer_is_cited_as_at_risk_who_agreed_to_stay():
    """A retention call (asked to cancel, then agreed to stay: at risk, flag retraction):
    the alert says so, and later alerts recall at-risk intent, not a request to leave."""
    from dataclasses import replace

    call = replace(make_signal("k1", hours=0, intent="at_risk", p=0.9, sentiment=-0.3,
                               channel="call", friction=("billing",),
                               text="I want to cancel my contract."), flags=("retraction",))
    later = [make_signal(f"k{2 + i}", hours=30 + i, friction=("billing",), sentiment=-0.8,
                         channel=ch) for i, ch in enumerate(("email", "chat", "ticket"))]
    det, alerts = run([call, *later])
    assert any("then agreed to stay in the same conversation" in r for r in alerts[0].reasons)
    assert expand(det.customers["C-1"], "C-1")["max_intent"] == "at_risk"
    assert not [r for a in alerts for r in a.reasons if "asks to leave" in r]


def _said_again(signal):
    return replace(signal, flags=(*signal.flags, "repeat_contact"))


def test_a_message_said_to_be_a_repeat_joins_the_open_issue_however_it_is_worded():
    """Three contacts about one double charge: the third ("Third time contacting you about
    the double charge. Nobody has fixed it.") is worded far from the others (cosine 0.46 on
    the transformer, under CHURN_ISSUE_SIMILARITY) and read as service friction; the
    customer says it is the same problem, so it joins the thread."""
    first = tuple(float(j == 0) for j in range(16))
    other = tuple(float(j == 1) for j in range(16))  # orthogonal: similarity 0
    story = [make_signal("b1", hours=0, channel="call", friction=("billing",), sentiment=-0.8,
                         embedding=first),
             make_signal("b2", hours=192, channel="email", friction=("billing",),
                         sentiment=-0.8, embedding=first),
             make_signal("b3", hours=264, channel="chat", friction=("service",),
                         sentiment=-0.9, embedding=other)]
    _, alerts = run(story)
    assert not [a for a in alerts if a.type == "unresolved_issue"]
    _, alerts = run([*story[:2], _said_again(story[2])])
    issue = [a for a in alerts if a.type == "unresolved_issue"]
    assert issue and "3rd contact in 11 days" in issue[-1].reasons[0]
    risk = [a for a in alerts if a.type == "customer_churn_risk"][-1]
    assert "said_repeat" in risk.details["patterns"]
    assert "Says this is not their first contact about it" in risk.reasons


def test_a_first_message_said_to_be_a_repeat_is_at_least_medium_and_asks_which_channel():
    """"I've called three times about my broadband dropping out": nothing on record, so the
    earlier contacts went through a channel not connected here (the integration gap)."""
    plain = make_signal("r1", friction=("product",), sentiment=-0.5)
    assert run([plain])[1] == []
    _, alerts = run([_said_again(plain)])
    assert [a.severity for a in alerts] == ["medium"]
    assert any("no earlier contact about it is on record here" in r for r in alerts[0].reasons)
    # not a problem of its own and nothing to join: no pattern, no alert
    assert run([_said_again(make_signal("r2", sentiment=0.2))])[1] == []


def test_a_complaint_taken_outside_is_a_high_case_on_its_own():
    """A formal letter (friction, very negative, churn 0.48) that ends "I will refer this
    matter to the Financial Ombudsman Service." raised no alert: one message, risk 0.42."""
    letter = make_signal("l1", intent="none", p=0.52, friction=("billing", "service"),
                         sentiment=-0.96, channel="email")
    assert run([letter])[1] == []
    _, alerts = run([replace(letter, flags=("escalation_threat",))])
    assert [a.severity for a in alerts] == ["high"]
    assert any("take the complaint outside" in r for r in alerts[0].reasons)
    assert "escalation_threat" in alerts[0].details["patterns"]


def test_a_churn_risk_that_names_its_date_is_a_high_case():
    """"My contract ends on the 31st ... otherwise I will not be renewing." (at risk): a
    medium case, "reach out within 2 days", though the window closes on the 31st."""
    notice = make_signal("d1", intent="at_risk", p=0.94, sentiment=-0.3, channel="email")
    assert [a.severity for a in run([notice])[1]] == ["medium"]
    _, alerts = run([replace(notice, flags=("leaving_date",))])
    assert [a.severity for a in alerts] == ["high"]
    assert "Says when they leave: the retention window closes then" in alerts[0].reasons
    # a date said by a message the models read as no churn risk raises nothing
    calm = make_signal("d2", sentiment=0.4)
    assert run([replace(calm, flags=("leaving_date",))])[1] == []


def test_talk_of_leaving_without_a_request_is_a_high_case():
    """"Can I get my PAC code please?", "Switching to Monzo.", "We're migrating to HubSpot
    next quarter." (at risk through ``implicit_leaving``) were medium cases, "reach out
    within 2 days", where a request to leave is high."""
    said = make_signal("s1", intent="at_risk", p=0.6, sentiment=0.1, channel="chat",
                       text="We're migrating to HubSpot next quarter.")
    assert [a.severity for a in run([said])[1]] == ["medium"]
    _, alerts = run([replace(said, flags=("implicit_leaving",))])
    assert [a.severity for a in alerts] == ["high"]
    assert alerts[0].reasons[0].startswith('Talks of leaving on chat: "We\'re migrating')
    assert "says_leaving" in alerts[0].details["patterns"]
    # the flag on a message the models read as no churn risk raises nothing
    assert run([replace(make_signal("s2", sentiment=0.4), flags=("implicit_leaving",))])[1] == []


@pytest.mark.parametrize(("text", "opening"), [
    ("ok forget the pause, just cancel it at the end of the billing period",
     'Asks to cancel on chat: "ok forget'),
    ("Right, that's it. Cancel the whole thing.", 'Asks to cancel on chat: "Right'),
    ("cancel please", 'Asks to cancel on chat: "cancel please"'),
    ("Fix it by Friday or I cancel.", 'Talks of leaving on chat: "Fix it'),
    ("Send me my PAC code.", 'Talks of leaving on chat: "Send me'),
])
def test_talk_of_leaving_that_is_a_request_does_not_say_no_request_was_made(text, opening):
    """The leaving rule also reads requests whose object the conversation named ("just
    cancel it at the end of the billing period"): the reason said "(no request to close
    anything yet)" of a customer who had just asked."""
    said = replace(make_signal("s1", intent="at_risk", p=0.6, sentiment=-0.2, channel="chat",
                               text=text), flags=("implicit_leaving",))
    reason = run([said])[1][0].reasons[0]
    assert reason.startswith(opening)
    assert reason.endswith("(no request to close anything yet)") == opening.startswith("Talks")


def test_a_request_taken_back_later_stands_the_case_down_once():
    """"I want to cancel my subscription, it's too expensive." (a high case: contact within 24
    hours) then, 20 minutes later, "Actually the 50% discount works for me, I'll stay." (flag
    ``retraction``): nothing was sent, so the callback was still made. Now the case is
    updated at low, under its key, and says why; once."""
    ask = make_signal("t1", intent="explicit", p=0.92, sentiment=-0.2, channel="chat",
                      text="I want to cancel my subscription, it's too expensive.")
    stay = replace(make_signal("t2", hours=0.3, sentiment=0.6, channel="chat",
                               text="Actually the 50% discount works for me, I'll stay."),
                   flags=("retraction",))
    again = replace(make_signal("t3", hours=1, sentiment=0.5, channel="chat",
                                text="Thanks again, I'm staying."), flags=("retraction",))
    _, alerts = run([ask, stay, again])
    assert [a.severity for a in alerts] == ["high", "low"]
    down = alerts[1]
    assert down.case_key == alerts[0].case_key and down.supersedes == alerts[0].alert_id
    assert down.reasons[0] == ('Took the request to leave back on chat: "Actually the 50% '
                               'discount works for me, I\'ll stay."')
    assert down.details["patterns"] == ["took_back"]
    assert down.recommended_action.startswith("No retention call is needed")
    # a later request to leave opens the case again above low
    back = make_signal("t4", hours=2, intent="explicit", p=0.95, sentiment=-0.5,
                       text="Changed my mind, close my account.")
    _, alerts = run([ask, stay, back])
    assert [a.severity for a in alerts][-1] in ("high", "critical")
    # a retraction with no case open sends nothing
    assert run([stay])[1] == []


def test_talk_of_leaving_after_unhappy_contacts_is_critical_as_a_request_would_be():
    """Three contacts about broken internet, then "Please send me my PAC code and tell me
    what I owe to leave." (at risk through ``implicit_leaving``): high, "contact within 24
    hours", where a request to leave after such contacts is critical ("call today")."""
    earlier = [make_signal(f"n{k}", hours=24 * k, friction=("product",), sentiment=-0.8,
                           channel="chat") for k in range(2)]
    pac = make_signal("n9", hours=24 * 3, intent="at_risk", p=0.6, sentiment=-0.2,
                      channel="email",
                      text="Please send me my PAC code and tell me what I owe to leave.")
    assert run([*earlier, pac])[1][-1].severity != "critical"
    _, alerts = run([*earlier, replace(pac, flags=("implicit_leaving",))])
    assert alerts[-1].severity == "critical"
    assert "says_leaving" in alerts[-1].details["patterns"]
    # alone it stays high (test above)


def test_a_closed_account_wanted_back_is_a_case_to_reopen_it():
    """"You cancelled my account without telling me! ... Please reinstate it immediately."
    was an explicit request to leave ("asks to leave", hold the cancellation); read as
    wanting it back (intent none) it raised nothing. Now a case whose action is reopening
    the account: high when the message is unhappy, medium otherwise ("Can I rejoin?")."""
    angry = make_signal("w1", sentiment=-0.9, friction=("access",), channel="chat",
                        text="You cancelled my account without telling me!")
    assert run([angry])[1] == []
    _, alerts = run([replace(angry, flags=("wants_back",))])
    assert [a.severity for a in alerts] == ["high"]
    assert alerts[0].reasons[0].startswith('Wants a closed account back, or to come back, on '
                                           'chat: "You cancelled my account')
    assert "wants_back" in alerts[0].details["patterns"]
    assert "reopen or reinstate it" in alerts[0].recommended_action
    assert "cancellation" not in alerts[0].recommended_action
    calm = make_signal("w2", sentiment=0.2, channel="chat", text="Can I rejoin on my old plan?")
    _, alerts = run([replace(calm, flags=("wants_back",))])
    assert [a.severity for a in alerts] == ["medium"]
    assert alerts[0].recommended_action.startswith("Within 2 days: check why the account")


def test_trading_down_after_a_complaint_is_a_medium_case_and_alone_raises_nothing():
    """"Your prices went up again this month." then "Can you move me to the cheapest plan
    please?" then "Please remove the sports add-on and the extra line.": no alert at all
    (the requests read intent none and no friction). Trading down after a complaint is now
    a medium case that says so; a downgrade with nothing unhappy in the window is not."""
    price = make_signal("p1", hours=0, friction=("billing",), sentiment=-0.9, channel="chat")
    plain = make_signal("p2", hours=24 * 7, sentiment=-0.1, channel="chat")
    assert run([price, plain])[1] == []
    _, alerts = run([price, replace(plain, flags=("downgrade",))])
    assert [a.severity for a in alerts] == ["medium"]
    assert "trading_down" in alerts[0].details["patterns"]
    assert any(r.startswith("Asks to trade down") for r in alerts[0].reasons)
    # a downgrade alone (even one the models read as a complaint), or after the contact
    # window has passed: the flag only
    assert run([replace(plain, flags=("downgrade",))])[1] == []
    sour = replace(plain, sentiment=-0.6, friction=("product",))
    assert [a.details["patterns"] for a in run([replace(sour, flags=("downgrade",))])[1]] in (
        [], [[]])
    late = replace(plain, event_id="p3", flags=("downgrade",),
                   occurred_at=price.occurred_at + timedelta(hours=CFG.contact_window_hours + 1))
    assert run([price, late])[1] == []


def test_packed_similarity_is_the_cosine_of_the_unpacked_vectors():
    import math
    import random

    from detector.issues import pack, packed_similarity, unpack

    def cosine(a: str, b: str) -> float:  # the definition, on the unpacked codes
        va, vb = unpack(a), unpack(b)
        if len(va) != len(vb):
            return 0.0
        na = math.sqrt(sum(x * x for x in va)) or 1.0
        nb = math.sqrt(sum(x * x for x in vb)) or 1.0
        return sum(x * y for x, y in zip(va, vb, strict=True)) / (na * nb)

    rng = random.Random(7)
    vectors = [pack([rng.gauss(0, 1) for _ in range(384)]) for _ in range(40)]
    vectors += [pack([0.0] * 384), pack([-1.0] * 384), pack([rng.gauss(0, 1) for _ in range(382)])]
    for a in vectors:
        for b in vectors:
            assert packed_similarity(a, b) == cosine(a, b)
    assert packed_similarity(vectors[0], vectors[-1]) == 0.0  # sizes differ


def test_an_automatic_reply_is_not_a_contact():
    """The customer's mailbox answering every agent message adds no contact, evidence or
    risk, and raises nothing (models.classifier.apply_auto_replies flags it)."""
    complaints = [make_signal(f"c{i}", hours=i * 5, friction=("billing",), sentiment=-0.6)
                  for i in range(2)]
    away = [replace(make_signal(f"ooo{i}", hours=11 + i, sentiment=0.0), flags=("auto_reply",))
            for i in range(3)]
    det, alerts = run(complaints + away)
    state = expand(det.customers["C-1"], "C-1")
    assert len(state["contacts"]) == 2 and state["events"] == 5
    assert all(e["event_id"].startswith("c") for e in state["evidence"])
    assert alerts == run(complaints)[1]



def _resolved(event_id: str, hours: float):
    """A case closed by the case-management system (``case_status: "resolved"``)."""
    return replace(make_signal(event_id, hours=hours, channel="ticket", sentiment=0.0,
                               text=""), flags=("case_resolved",))


def test_a_case_closed_ends_the_issue_and_the_contact_count():
    """Two contacts about a dropping line, the case closed, then the customer's "Thanks,
    that fixed it!" read with the friction it names: without the closing event it is the
    third contact on the thread (unresolved_issue "still unresolved") and a high case; with
    it, a first contact of a new case and no alert."""
    line = tuple(float(j == 0) for j in range(16))
    story = [make_signal(f"d{i}", hours=i * 20, channel=ch, friction=("product",),
                         sentiment=-0.8, embedding=line)
             for i, ch in enumerate(["chat", "call"])]
    thanks = make_signal("thanks", hours=60, friction=("product",), sentiment=0.2,
                         embedding=line)
    _, before = run([*story, thanks])
    assert [a for a in before if a.type == "unresolved_issue"
            and a.details["trigger_event_id"] == "thanks"]
    det, after = run([*story, _resolved("closed", 50), thanks])
    assert not [a for a in after if a.details["trigger_event_id"] in ("closed", "thanks")]
    state = expand(det.customers["C-1"], "C-1")
    assert [t["count"] for t in state["threads"]] == [1]
    assert len(state["contacts"]) == 1 and state["friction_counts"] == {"product": 1}
    assert state["events"] == 4 and "closed" not in {e["event_id"] for e in state["evidence"]}


def test_a_case_closed_keeps_the_churn_intent_and_later_problems_open_a_new_case():
    ask = make_signal("ask", hours=0, intent="explicit", p=0.95, sentiment=-0.8,
                      friction=("billing",))
    det, first = run([ask])
    again = make_signal("again", hours=48, intent="explicit", p=0.95, sentiment=-0.8,
                        friction=("billing",))
    _, plain = run([ask, again])
    _, closed = run([ask, _resolved("closed", 24), again])
    assert first and closed[-1].details["trigger_event_id"] == "again"
    assert closed[-1].case_key != first[0].case_key  # a new case, not an escalation of the old
    assert not [a for a in plain if a.details["trigger_event_id"] == "again"]  # held: same case


def test_a_late_case_closed_leaves_what_came_after_it():
    """Arriving after later messages, the closing event ends only what was open at its
    time; the risk score, which it cannot take apart, stays."""
    story = [make_signal(f"p{i}", hours=i * 10, friction=("billing",), sentiment=-0.7)
             for i in range(3)]
    det, _ = run(story)
    risk = expand(det.customers["C-1"], "C-1")["risk_acc"]
    det.process(_resolved("closed", 15))
    state = expand(det.customers["C-1"], "C-1")
    assert [c[0] for c in state["contacts"]] == [story[2].occurred_at.isoformat()]
    assert state["risk_acc"] == risk and state["friction_counts"] == {"billing": 3}


def _keeps_happening(signal):
    return replace(signal, flags=(*signal.flags, "recurring_problem"))


def test_weekly_complaints_said_to_keep_happening_are_a_medium_case_that_says_so():
    """A food-delivery customer complains once a week ("@FoodDash order late again, 70
    mins", "missing drinks again. Every time.", "Third week in a row my order is wrong."):
    each names a different problem and the score decays between them, so without the flag
    nothing alerts; with it each is at least a medium case whose reason says it recurs."""
    story = [make_signal(f"w{i}", hours=168 * i, channel=ch, friction=fr, sentiment=-0.6)
             for i, (ch, fr) in enumerate((("social", ("delivery",)), ("social", ("product",)),
                                            ("chat", ("billing",))))]
    _, alerts = run(story)
    assert [a for a in alerts if a.type == "customer_churn_risk"] == []
    _, alerts = run([_keeps_happening(s) for s in story])
    risk = [a for a in alerts if a.type == "customer_churn_risk"]
    assert len(risk) == 3 and {a.severity for a in risk} == {"medium"}
    assert all("keeps_happening" in a.details["patterns"] for a in risk)
    assert risk[0].reasons[0].startswith("Says the problem keeps happening, on social media")
    assert len({a.case_key for a in risk}) == 1  # one case, updated weekly
    assert "2nd contact in 7 days" in risk[1].reasons[1]


def test_a_request_to_leave_that_says_it_keeps_happening_keeps_the_request_first():
    signal = _keeps_happening(make_signal("k1", intent="explicit", friction=("service",),
                                          sentiment=-0.8))
    _, alerts = run([signal])
    (risk,) = [a for a in alerts if a.type == "customer_churn_risk"]
    assert risk.reasons[0].startswith("Latest chat message asks to leave")
    assert "Says the problem keeps happening: a failure that repeats" in " ".join(risk.reasons)
