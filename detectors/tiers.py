"""A–D credit tiers with hysteresis (seed 七: graded, differentiated supervision)."""

from __future__ import annotations

from detectors.policy import TierPolicy
from detectors.scoring import TIER_ORDER
from topics.vocabulary import Tier


def tier_for(score: float, tiers: TierPolicy) -> Tier:
    """The tier a score falls in, ignoring history.

    >>> from detectors.policy import TierPolicy
    >>> bounds = TierPolicy(b_from=25, c_from=50, d_from=75, hysteresis=3)
    >>> [tier_for(s, bounds).value for s in (0, 25, 49.9, 75)]
    ['A', 'B', 'B', 'D']
    """
    if score >= tiers.d_from:
        return Tier.D
    if score >= tiers.c_from:
        return Tier.C
    if score >= tiers.b_from:
        return Tier.B
    return Tier.A


def next_tier(previous: Tier | None, score: float, floor: Tier | None, tiers: TierPolicy) -> Tier:
    """The subject's tier after a score update.

    A move needs the score to pass the boundary by ``tiers.hysteresis`` so a
    subject hovering near a boundary does not flap; a floor (e.g. a court
    dishonest-debtor ruling) applies regardless.

    >>> from detectors.policy import TierPolicy
    >>> bounds = TierPolicy(b_from=25, c_from=50, d_from=75, hysteresis=3)
    >>> next_tier(Tier.B, 51.0, None, bounds).value  # past 50, but not past 53
    'B'
    >>> next_tier(Tier.B, 53.0, None, bounds).value
    'C'
    >>> next_tier(Tier.C, 48.0, None, bounds).value  # below 50, not below 47
    'C'
    >>> next_tier(Tier.A, 10.0, Tier.D, bounds).value
    'D'
    """
    rank = TIER_ORDER.index
    if previous is None:
        tier = tier_for(score, tiers)
    else:
        riskier = tier_for(score - tiers.hysteresis, tiers)
        safer = tier_for(score + tiers.hysteresis, tiers)
        if rank(riskier) > rank(previous):
            tier = riskier
        elif rank(safer) < rank(previous):
            tier = safer
        else:
            tier = previous
    if floor is not None and rank(floor) > rank(tier):
        tier = floor
    return tier
