"""Scores and tiers: the one place a subject's tier is computed.

A subject's tier moves after one of its records (:mod:`pipeline.subject`) or
after a workflow changed what counts in its score (:mod:`pipeline.supervision`:
a breach found by a deadline, a repaired or disputed record). Both go through
:func:`retier`, so the hysteresis, the floors and the version sequence are the
same whatever moved it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from detectors.policy import Policy
from detectors.scoring import Score, score_subject
from detectors.state import SubjectState
from detectors.tiers import next_tier
from pipeline.alerts import evidence_of
from topics.risk import TierChange
from topics.vocabulary import Sector, Tier


def retier(subject: str, state: SubjectState, policy: Policy) -> tuple[Score, TierChange | None]:
    """Score the subject as its state stands; move its tier (and version) if the score says so.

    The tier change's reasons are the score's contributions; it takes effect
    at the subject's last event.
    """
    score = score_subject(state, policy)
    previous = Tier(state.tier) if state.tier is not None else None
    tier = next_tier(previous, score.value, score.floor, policy.tiers)
    state.score = score.value
    if tier is previous:
        return score, None
    state.tier = tier.value
    state.version += 1
    return score, TierChange(
        subject=subject,
        previous_tier=previous,
        tier=tier,
        score=score.value,
        reasons=evidence_of(score.contributions),
        effective_at=datetime.fromtimestamp(state.clock, UTC),
        version=state.version,
        policy_version=policy.version,
        region=state.region,
        sector=Sector(state.sector),
    )
