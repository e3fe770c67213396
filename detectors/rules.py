"""Rule alerts: facts a supervision centre must see at once, with their evidence.

Seed 八/十六: serious violations and court dishonest-debtor rulings, a surge of
12315 complaints, repeated IoT limit breaches, and a subject falling to tier D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.alert_rules import AlertRule
from detectors.iot import Explanation
from detectors.policy import Policy
from detectors.scoring import Fact, Score, TitleValue
from detectors.state import Observation, SubjectState
from topics.iot import IotReading
from topics.vocabulary import AlertKind, AlertSeverity, Tier

__all__ = ["TitleValue"]  # what a title names (re-exported: detectors.scoring)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired: the one type every alert is built from (pipeline/alerts.py).

    ``rule`` says which rule, and so the alert's titles; ``severity`` is the
    policy's for that rule (``policy.alerts.severity``); ``rule_key`` identifies
    the condition for dedup and cooldown; ``about`` holds what the title names.
    """

    rule: AlertRule
    rule_key: str
    kind: AlertKind
    severity: AlertSeverity
    evidence: tuple[Fact, ...]
    cooldown: bool = True  # False: every occurrence is a distinct fact and alerts
    about: Mapping[str, TitleValue] = field(default_factory=dict)


#: Signals that alert on every occurrence: each is a distinct legal fact. Their hits
#: share one key per subject, so while its alert is open the alert manager folds a
#: subject's next ruling into it (count, source events, latest evidence).
EVENT_RULES: dict[str, AlertRule] = {
    rule.value: rule
    for rule in (
        AlertRule.PENALTY_SERIOUS,
        AlertRule.COURT_DISHONEST_DEBTOR,
        AlertRule.LICENCE_REVOKED,
    )
}


def evaluate_rules(
    state: SubjectState,
    obs: Observation,
    score: Score,
    previous_tier: Tier | None,
    tier: Tier,
    policy: Policy,
) -> list[RuleHit]:
    """Rules fired by ``obs``; records firing times in ``state`` for cooldowns."""
    hits: list[RuleHit] = []
    severity = policy.alerts.severity
    if obs.signal in EVENT_RULES:
        rule = EVENT_RULES[obs.signal]
        hits.append(
            RuleHit(
                rule,
                obs.signal,
                AlertKind.RULE,
                severity.of(rule),
                (Fact(obs.signal, 1.0, says="event", about={"event": obs.event_id}),),
                cooldown=False,
            )
        )
    if obs.complaint_category is not None:
        surge = _complaint_surge(state, obs.complaint_category, policy)
        if surge is not None:
            hits.append(surge)
    if obs.iot_exceedance:
        count = score.iot_exceedances_24h
        if count >= policy.iot.alert_exceedances:
            hits.append(
                RuleHit(
                    AlertRule.IOT_EXCEEDANCES,
                    "iot_exceedances",
                    AlertKind.IOT,
                    severity.of(AlertRule.IOT_EXCEEDANCES),
                    (Fact("iot_exceedances_24h", count, policy.iot.alert_exceedances),),
                )
            )
    if tier is Tier.D and previous_tier is not Tier.D:
        hits.append(
            RuleHit(
                AlertRule.TIER_D,
                "tier_d",
                AlertKind.RULE,
                severity.of(AlertRule.TIER_D),
                (
                    Fact(
                        "score",
                        score.value,
                        policy.tiers_for(state.sector).d_from,
                        says="previous_tier",
                        about={"previous": previous_tier.value if previous_tier else "none"},
                    ),
                    *score.contributions[:3],
                ),
            )
        )
    return [hit for hit in hits if _off_cooldown(state, hit, policy)]


def _complaint_surge(state: SubjectState, category: str, policy: Policy) -> RuleHit | None:
    rules = policy.complaints
    days, before = rules.surge_days, rules.baseline_days - rules.surge_days
    recent = state.complaints.recent(days, state.clock, label=category)
    baseline = state.complaints.recent(rules.baseline_days, state.clock, label=category)
    expected = max((baseline - recent) / before * days, rules.baseline_floor)
    if recent < rules.surge_min or recent < rules.surge_ratio * expected:
        return None
    return RuleHit(
        AlertRule.COMPLAINT_SURGE,
        f"complaint_surge:{category}",
        AlertKind.RULE,
        policy.alerts.severity.of(AlertRule.COMPLAINT_SURGE),
        (
            Fact(
                f"complaints_{days}d:{category}",
                recent,
                max(rules.surge_min, rules.surge_ratio * expected),
                says="expected_from_baseline",
                about={"expected": round(expected, 1), "days": days, "before": before},
            ),
        ),
        about={"category": category},
    )


def _off_cooldown(state: SubjectState, hit: RuleHit, policy: Policy) -> bool:
    if not hit.cooldown:
        return True
    last = state.alerted.get(hit.rule_key)
    if last is not None and state.clock - last < policy.alert_cooldown_s:
        return False
    state.alerted[hit.rule_key] = state.clock
    return True


def iot_anomaly_hit(
    reading: IotReading, score: float, why: Explanation | None, policy: Policy
) -> RuleHit | None:
    """An anomalous reading (its series' model scored it ``score``, explained by ``why``;
    the model explains only readings that score the threshold, so ``why`` may be None
    below it).

    Seed 十六: non-contact supervision. The alert explains itself: the score,
    the expected value and spread, which evidence decided it and over which window.
    """
    if score < policy.iot.anomaly_threshold:
        return None
    assert why is not None, "a reading that scores the threshold is explained"
    strong = score >= policy.iot.anomaly_high
    return RuleHit(
        rule=AlertRule.IOT_ANOMALY,
        rule_key=f"iot_anomaly:{reading.device_id}:{reading.metric}",
        kind=AlertKind.ANOMALY,
        severity=policy.alerts.severity.of(AlertRule.IOT_ANOMALY, strong),
        about={"metric": reading.metric, "device": reading.device_id},
        evidence=(
            Fact(
                "anomaly_score",
                round(score, 4),
                policy.iot.anomaly_threshold,
                says="decided_by",
                about={"evidence": why.feature},
            ),
            Fact("value", reading.value, reading.limit, says="unit", about={"unit": reading.unit}),
            Fact(
                "expected",
                round(why.expected, 4),
                says="predictor",
                about={"predictor": why.predictor, "spread": why.spread},
            ),
            Fact("deviation", round(why.deviation, 2), says="spreads_from_expected"),
            Fact(
                "baseline_mean",
                round(why.baseline_mean, 4),
                says="baseline",
                about={"std": why.baseline_std, "points": why.points_seen, "window": why.window},
            ),
        ),
        cooldown=False,  # the detector damps repeats of one event itself
    )
