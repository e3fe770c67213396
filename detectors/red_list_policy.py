"""The red list's part of the policy file (seed 九 守信激励: 诚信红名单).

Parsed from the same versioned ``policy.toml`` as the scores, by
:func:`parse_red_list`: the entry rules (how long in which tier, how many
honours within how long, how long without an adverse record) and the
incentive measures a listed subject enjoys. The decision is
:func:`detectors.red_list.review_red_list`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get
from detectors.supervision_policy import SECONDS_PER_DAY, MeasureSpec, parse_measures
from topics.vocabulary import Tier

#: A red list's measures are incentives (topics.lists.MeasureCategory.INCENTIVE).
INCENTIVES = ("incentive",)
#: Honours a subject's state remembers (detectors/state.py): the most a rule can ask for.
MAX_HONOURS = 8


@dataclass(frozen=True, slots=True)
class RedListPolicy:
    """A subject is on the red list while every rule holds:

    * its tier is ``tier`` and has been since at least ``tier_s`` ago;
    * it has at least ``honours`` records of ``honour_signals`` within ``honours_within_s``;
    * it has had no adverse record (a signal with positive points) for ``clean_s``.

    It leaves when one stops holding: the tier moves, an adverse record arrives,
    or its honours grow older than ``honours_within_s`` (the entry's end).
    """

    tier: Tier
    tier_s: float
    honour_signals: frozenset[str]
    honours: int
    honours_within_s: float
    clean_s: float
    measures: tuple[MeasureSpec, ...]


def parse_red_list(table: dict[str, Any], signals: dict[str, float]) -> RedListPolicy:
    """Build the red-list policy from ``[red_list]``; ``signals`` maps each known
    signal to its points (an honour must be a positive record: negative points)."""
    where = "red_list."
    try:
        tier = Tier(_get(table, "tier", str, where))
    except ValueError:
        raise PolicyError("policy: 'red_list.tier' must be one of A, B, C, D") from None
    honour_signals = frozenset(_get(table, "honour_signals", list, where))
    wrong = sorted(s for s in honour_signals if signals.get(s, 0.0) >= 0)
    if not honour_signals or wrong:
        raise PolicyError(
            f"policy: 'red_list.honour_signals' must name known positive records, not {wrong}"
        )
    policy = RedListPolicy(
        tier=tier,
        tier_s=_get(table, "tier_days", float, where) * SECONDS_PER_DAY,
        honour_signals=honour_signals,
        honours=_get(table, "honours", int, where),
        honours_within_s=_get(table, "honours_within_days", float, where) * SECONDS_PER_DAY,
        clean_s=_get(table, "clean_days", float, where) * SECONDS_PER_DAY,
        measures=parse_measures(table, "measures", where, INCENTIVES),
    )
    if policy.tier_s < 0 or policy.clean_s < 0:
        raise PolicyError("policy: need red_list.tier_days >= 0 and clean_days >= 0")
    if not 1 <= policy.honours <= MAX_HONOURS or policy.honours_within_s <= 0:
        raise PolicyError(
            f"policy: need 1 <= red_list.honours <= {MAX_HONOURS} and honours_within_days > 0"
        )
    if not policy.measures:
        raise PolicyError("policy: 'red_list.measures' names no incentive")
    return policy
