"""Rule alerts: what a supervision centre is told at once, and what it is spared."""

from __future__ import annotations

import math
from dataclasses import replace

from detectors.policy import load_policy
from detectors.rules import RuleHit, evaluate_rules
from detectors.scoring import score_subject
from detectors.state import Observation, SubjectState
from detectors.tiers import next_tier
from detectors.windows import DAY_S, HOUR_S
from tests.factories import T0_S, observation
from topics.vocabulary import AlertKind, AlertSeverity, Tier

POLICY = load_policy()
COOLDOWN = POLICY.alert_cooldown_s
# Midnight (UTC) of T0's day: complaint windows count whole days.
DAY0 = (T0_S // DAY_S) * DAY_S


def step(state: SubjectState, obs: Observation) -> list[RuleHit]:
    """Apply one observation as ``pipeline.subject`` does and return the rules it fires."""
    previous = Tier(state.tier) if state.tier is not None else None
    state.apply(obs, POLICY)
    score = score_subject(state, POLICY)
    tier = next_tier(previous, score.value, score.floor, POLICY.tiers)
    state.tier = tier.value
    return evaluate_rules(state, obs, score, previous, tier, POLICY)


def keys(hits: list[RuleHit]) -> list[str]:
    return [hit.rule_key for hit in hits]


# --- facts that alert every time ------------------------------------------------


def test_every_serious_penalty_alerts_even_within_the_cooldown() -> None:
    state = SubjectState()
    first = step(state, observation(T0_S, event_id="p-1", signal="penalty_serious"))
    second = step(state, observation(T0_S + DAY_S, event_id="p-2", signal="penalty_serious"))
    # (The second also takes the subject to tier D, which is a separate alert.) Both
    # have one key, so the alert manager folds the second into the first while it is open.
    assert [k for k in keys(first) if k.startswith("penalty")] == ["penalty_serious"]
    assert [k for k in keys(second) if k.startswith("penalty")] == ["penalty_serious"]
    (hit,) = [h for h in second if h.rule_key.startswith("penalty")]
    assert hit.kind is AlertKind.RULE and hit.severity is AlertSeverity.HIGH
    assert hit.evidence[0].about == {"event": "p-2"}


def test_dishonest_debtor_ruling_alerts_critically_every_time() -> None:
    state = SubjectState()
    for i in range(3):
        hits = step(
            state,
            observation(T0_S + i * HOUR_S, event_id=f"c-{i}", signal="court_dishonest_debtor"),
        )
        ruling = [h for h in hits if h.rule_key.startswith("court_dishonest_debtor")]
        assert keys(ruling) == ["court_dishonest_debtor"]
        assert ruling[0].evidence[0].about == {"event": f"c-{i}"}
        assert ruling[0].severity is AlertSeverity.CRITICAL


def test_ordinary_records_do_not_alert() -> None:
    state = SubjectState()
    for i, signal in enumerate(["penalty_general", "interview", "honour", None]):
        assert step(state, observation(T0_S + i * DAY_S, signal=signal)) == []


# --- complaint surge ------------------------------------------------------------


def complaint(at_s: float, category: str = "food_safety") -> Observation:
    return observation(at_s, complaint_category=category)


def test_surge_fires_when_a_quiet_subject_reaches_the_minimum() -> None:
    state = SubjectState()
    minimum = POLICY.complaints.surge_min
    for i in range(minimum - 1):
        assert step(state, complaint(DAY0 + i * DAY_S + HOUR_S)) == []
    hits = step(state, complaint(DAY0 + (minimum - 1) * DAY_S + HOUR_S))
    assert keys(hits) == ["complaint_surge:food_safety"]
    (fact,) = hits[0].evidence
    assert fact.fact == "complaints_7d:food_safety"
    assert fact.value == minimum and fact.threshold == minimum


def test_surge_counts_one_category_at_a_time() -> None:
    state = SubjectState()
    minimum = POLICY.complaints.surge_min
    for i in range(minimum - 1):
        assert step(state, complaint(DAY0 + i * HOUR_S, "price")) == []
        assert step(state, complaint(DAY0 + i * HOUR_S, "contract")) == []


def test_surge_must_exceed_the_baseline_by_the_ratio() -> None:
    state = SubjectState()
    background = 20  # one a day on days 1..20: the "23 days before" the last week
    for day in range(1, background + 1):
        state.apply(complaint(DAY0 + day * DAY_S + HOUR_S), POLICY)
    # Policy: a week must bring surge_ratio times what the baseline predicts for a week.
    predicted_week = background / 23 * 7
    needed = math.ceil(POLICY.complaints.surge_ratio * predicted_week)
    assert needed > POLICY.complaints.surge_min  # the ratio, not the minimum, decides
    last_day = DAY0 + 29 * DAY_S
    for i in range(needed - 1):
        assert step(state, complaint(last_day + i * 60)) == [], f"fired at {i + 1}"
    hits = step(state, complaint(last_day + needed * 60))
    assert keys(hits) == ["complaint_surge:food_safety"]
    assert hits[0].evidence[0].value == needed


def test_surge_is_not_repeated_within_the_cooldown() -> None:
    state = SubjectState()
    minimum = POLICY.complaints.surge_min
    fired = [step(state, complaint(DAY0 + i * HOUR_S)) for i in range(minimum + 5)]
    assert [keys(h) for h in fired].count(["complaint_surge:food_safety"]) == 1


def test_a_complaint_from_before_the_last_seven_days_does_not_make_a_surge() -> None:
    """Four complaints this week and one 7 days 23 hours ago: not five in seven days."""
    state = SubjectState()
    minimum = POLICY.complaints.surge_min
    state.apply(complaint(DAY0 + 30 * 60), POLICY)  # day 0, 00:30
    last = DAY0 + 7 * DAY_S + 23 * HOUR_S  # day 7, 23:00
    for i in range(minimum - 2):
        state.apply(complaint(last - (i + 1) * HOUR_S), POLICY)
    assert step(state, complaint(last + 30 * 60)) == []


# --- cooldown -------------------------------------------------------------------


def exceedance(at_s: float) -> Observation:
    return observation(at_s, iot_exceedance=True)


def test_cooldown_suppresses_a_repeat_and_allows_it_afterwards() -> None:
    state = SubjectState()
    needed = POLICY.iot.alert_exceedances
    burst = [step(state, exceedance(T0_S + i * 60)) for i in range(needed + 2)]
    assert [len(h) for h in burst] == [0] * (needed - 1) + [1, 0, 0]
    fired_at = T0_S + (needed - 1) * 60

    # A fresh burst a day before the cooldown ends: still quiet.
    almost = fired_at + COOLDOWN - DAY_S
    assert all(step(state, exceedance(almost + i * 60)) == [] for i in range(needed))

    # After the cooldown the same condition alerts again.
    after = fired_at + COOLDOWN + HOUR_S
    again = [keys(step(state, exceedance(after + i * 60))) for i in range(needed)]
    assert again == [[]] * (needed - 1) + [["iot_exceedances"]]


def test_one_rules_cooldown_does_not_silence_another() -> None:
    state = SubjectState()
    for i in range(POLICY.iot.alert_exceedances):
        step(state, exceedance(DAY0 + i * 60))
    assert "iot_exceedances" in state.alerted
    fired = [
        step(state, complaint(DAY0 + HOUR_S + i * 60)) for i in range(POLICY.complaints.surge_min)
    ]
    assert keys(fired[-1]) == ["complaint_surge:food_safety"]


# --- IoT ------------------------------------------------------------------------


def test_iot_alert_fires_at_the_policy_count_within_24_hours() -> None:
    state = SubjectState()
    needed = POLICY.iot.alert_exceedances
    for i in range(needed - 1):
        assert step(state, exceedance(T0_S + i * 2 * HOUR_S)) == []
    (hit,) = step(state, exceedance(T0_S + (needed - 1) * 2 * HOUR_S))
    assert hit.kind is AlertKind.IOT
    (fact,) = hit.evidence
    assert (fact.value, fact.threshold) == (needed, needed)


def test_exceedances_more_than_a_day_apart_do_not_add_up() -> None:
    state = SubjectState()
    for i in range(POLICY.iot.alert_exceedances * 2):
        assert step(state, exceedance(T0_S + i * 25 * HOUR_S)) == []


def test_readings_within_their_limit_do_not_alert() -> None:
    state = SubjectState()
    for i in range(10):
        assert step(state, observation(T0_S + i * 60)) == []


# --- tier D -------------------------------------------------------------------------


def test_tier_d_alert_only_on_the_transition_into_d() -> None:
    state = SubjectState()
    hits = step(state, observation(T0_S, event_id="c-1", signal="court_dishonest_debtor"))
    assert state.tier == "D"
    (tier_d,) = [h for h in hits if h.rule_key == "tier_d"]
    assert tier_d.severity is AlertSeverity.CRITICAL
    assert tier_d.evidence[0].fact == "score"
    assert tier_d.evidence[0].threshold == POLICY.tiers.d_from
    assert any(f.fact == "court_dishonest_debtor" for f in tier_d.evidence[1:])
    # Still in D on the next records: no new tier-D alert.
    assert "tier_d" not in keys(step(state, observation(T0_S + HOUR_S, signal="interview")))
    assert "tier_d" not in keys(step(state, observation(T0_S + 2 * HOUR_S, signal="honour")))


def test_tier_d_rule_compares_previous_and_new_tier() -> None:
    state = SubjectState()
    state.apply(observation(T0_S, signal="court_dishonest_debtor"), POLICY)
    score = score_subject(state, POLICY)
    obs = observation(T0_S)
    assert keys(evaluate_rules(state, obs, score, Tier.C, Tier.D, POLICY)) == ["tier_d"]
    fresh = SubjectState()
    fresh.apply(obs, POLICY)
    assert evaluate_rules(fresh, obs, score, Tier.D, Tier.D, POLICY) == []
    assert evaluate_rules(fresh, obs, score, Tier.D, Tier.C, POLICY) == []


def test_the_surge_windows_are_the_policy_s() -> None:
    """Six complaints three weeks ago and five now: within a 30-day baseline the old ones
    raise the bar past five; with a 3-day surge against 10 days they are forgotten."""
    short = replace(POLICY.complaints, surge_days=3, baseline_days=10)
    hits: dict[str, list[RuleHit]] = {}
    for name, policy in (("bundled", POLICY), ("short", replace(POLICY, complaints=short))):
        state = SubjectState()
        for i in range(6):
            state.apply(complaint(DAY0 + i * HOUR_S), policy)
        now = DAY0 + 21 * DAY_S
        for i in range(4):
            state.apply(complaint(now + i * HOUR_S), policy)
        last = complaint(now + 5 * HOUR_S)
        state.apply(last, policy)
        score = score_subject(state, policy)
        hits[name] = evaluate_rules(state, last, score, Tier.A, Tier.A, policy)
    assert hits["bundled"] == []
    (surge,) = hits["short"]
    assert surge.evidence[0].fact == "complaints_3d:food_safety"
    assert surge.evidence[0].says == "expected_from_baseline"
    assert surge.evidence[0].about == {"expected": 1.0, "days": 3, "before": 7}
