"""Scores and tiers: the one place a subject's tier is computed.

A subject's tier moves after one of its records (:mod:`pipeline.subject`),
after a workflow changed what counts in its score (:mod:`pipeline.supervision`:
a breach found by a deadline, a repaired or disputed record), or after the
policy changed (:func:`regrade`). All three go through :func:`retier`, so the
hysteresis, the floors and the version sequence are the same whatever moved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detectors.policy import Policy
from detectors.scoring import Fact, Score, score_subject
from detectors.state import SubjectState
from detectors.tiers import next_tier
from pipeline.alerts import evidence, evidence_of
from pipeline.context import StepContext
from topics.risk import TierChange
from topics.vocabulary import Sector, Tier

#: The reason a tier change names when a new policy, not a record, moved the tier.
POLICY_CHANGED = "policy_changed"
#: Each tier by the value a subject's state keeps (a lookup, not a call, per record).
TIERS: dict[str, Tier] = {tier.value: tier for tier in Tier}


def retier(
    subject: str,
    state: SubjectState,
    policy: Policy,
    because: tuple[Fact, ...] = (),
    at_s: float | None = None,
) -> tuple[Score, TierChange | None]:
    """Score the subject as its state stands; move its tier (and version) if the score says so.

    The tier change's reasons are ``because`` (what moved it, when that is not
    a record: a policy change) followed by the score's contributions. It takes
    effect at the subject's last event, or at ``at_s`` if that is later.
    """
    score = score_subject(state, policy)
    previous = TIERS[state.tier] if state.tier is not None else None
    tier = next_tier(previous, score.value, score.floor, policy.tiers_for(state.sector))
    state.score = score.value
    if tier is previous:
        return score, None
    state.tier = tier.value
    state.version += 1
    effective_s = state.clock if at_s is None else max(at_s, state.clock)
    state.tier_since_s = effective_s  # seed 九: the red list counts the time in a tier
    return score, TierChange(
        subject=subject,
        previous_tier=previous,
        tier=tier,
        score=score.value,
        reasons=evidence_of(because + score.contributions),
        effective_at=datetime.fromtimestamp(effective_s, UTC),
        version=state.version,
        policy_version=policy.version,
        region=state.region,
        sector=Sector(state.sector),
    )


@dataclass(frozen=True, slots=True)
class GradedUnder:
    """The policy a partition's subjects were last graded under (item 5 of issue 14)."""

    version: str
    digest: str

    @classmethod
    def of(cls, policy: Policy) -> GradedUnder:
        return cls(policy.version, policy.digest)


def needs_regrade(graded_under: GradedUnder | None, policy: Policy) -> bool:
    """Whether subjects graded under ``graded_under`` must be graded again under ``policy``.

    Unrecorded (a partition never stamped: new, or from before stamps) counts
    as different; re-grading under the policy a subject was graded with moves
    nothing, so the only cost of a needless re-grade is the time it takes.

    >>> from detectors.policy import load_policy
    >>> policy = load_policy()
    >>> needs_regrade(GradedUnder.of(policy), policy), needs_regrade(None, policy)
    (False, True)
    """
    return graded_under is None or graded_under.digest != policy.digest


def regrade(
    subject: str,
    state: SubjectState,
    graded_under: GradedUnder | None,
    context: StepContext,
    at_s: float,
) -> tuple[bool, TierChange | None]:
    """Re-score and re-tier a subject under ``context.policy`` after a policy change.

    Returns whether the state changed (its score or tier moved: it must be
    stored, so its profile shows the score of the policy it names) and the
    tier change if the tier moved: an ordinary one (the next version) whose
    first reason is :data:`POLICY_CHANGED`. It takes effect at ``at_s`` (when
    the worker put the policy in force), or at the subject's last event if
    that is later, so the subject's history stays in order.
    """
    before = state.score
    cause = policy_change(graded_under, context.policy, before)
    _, change = retier(subject, state, context.policy, (cause,), at_s)
    return change is not None or state.score != before, change


def contribution_view(fact: Fact) -> dict[str, Any]:
    """A score contribution as a subject's profile shows it: its points, labelled and
    explained in Chinese and English (pipeline/alert_titles.py).

    >>> view = contribution_view(Fact("complaints_30d", 6.0, says="records", about={"count": 3}))
    >>> view["points"], view["label_zh"], view["detail_zh"], view["detail"]
    (6.0, '30 日投诉举报', '3 条记录', '3 records')
    """
    worded = evidence(fact).asdict()
    worded.pop("threshold")
    return {**worded, "points": worded.pop("value")}


def policy_change(graded_under: GradedUnder | None, policy: Policy, score_before: float) -> Fact:
    """The reason a tier change names when a policy change moved it: the score the
    subject had under the old policy, and which policy replaced which, worded in
    Chinese and English (pipeline/alert_titles.py).

    >>> from detectors.policy import load_policy
    >>> from pipeline.alert_titles import fact_words
    >>> policy = load_policy()
    >>> fact = policy_change(GradedUnder("2020.1", "ab" * 32), policy, 48.123)
    >>> (zh, en) = fact_words(fact)[1]
    >>> fact.fact, fact.value, en.startswith("policy 2020.1 (sha256 abababababab) -> ")
    ('policy_changed', 48.12, True)
    >>> zh.startswith("策略 2020.1（摘要 abababababab）更换为策略 ")
    True
    """
    about: dict[str, str] = {"new": policy.version, "new_digest": policy.digest[:12]}
    if graded_under is None:
        unrecorded = "policy_replaced_unrecorded"
        return Fact(POLICY_CHANGED, round(score_before, 2), says=unrecorded, about=about)
    about |= {"old": graded_under.version, "old_digest": graded_under.digest[:12]}
    return Fact(POLICY_CHANGED, round(score_before, 2), says="policy_replaced", about=about)
