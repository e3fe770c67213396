"""A–D tiers with hysteresis: subjects near a boundary must not flap."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from detectors.policy import load_policy
from detectors.tiers import next_tier, tier_for
from topics.vocabulary import Tier

TIERS = load_policy().tiers
H = TIERS.hysteresis
B, C, D = TIERS.b_from, TIERS.c_from, TIERS.d_from


def walk(start: Tier | None, scores: Iterable[float], floor: Tier | None = None) -> list[Tier]:
    """The tier after each score, as the subject's history unfolds."""
    tiers: list[Tier] = []
    tier = start
    for score in scores:
        tier = next_tier(tier, score, floor, TIERS)
        tiers.append(tier)
    return tiers


@pytest.mark.parametrize(
    ("score", "tier"),
    [(0.0, Tier.A), (B - 0.01, Tier.A), (B, Tier.B), (C, Tier.C), (D - 0.01, Tier.C),
     (D, Tier.D), (100.0, Tier.D)],
)  # fmt: skip
def test_tier_bounds(score: float, tier: Tier) -> None:
    assert tier_for(score, TIERS) is tier


@pytest.mark.parametrize("score", [B - 0.01, B, C + 0.5, D])
def test_first_assignment_has_no_hysteresis(score: float) -> None:
    assert next_tier(None, score, None, TIERS) is tier_for(score, TIERS)


def test_no_flapping_around_a_boundary_within_the_margin() -> None:
    around_c = [C - 0.1, C + 0.1, C - H + 0.5, C + H - 0.5, C, C - 1, C + 2]
    assert set(walk(Tier.B, around_c)) == {Tier.B}
    assert set(walk(Tier.C, around_c)) == {Tier.C}


def test_moves_up_once_past_the_margin_and_stays_on_the_way_back() -> None:
    scores = [C + H - 0.01, C + H, C - 0.5, C - H + 0.01, C - H - 0.01]
    assert walk(Tier.B, scores) == [Tier.B, Tier.C, Tier.C, Tier.C, Tier.B]


def test_moves_down_only_past_the_margin() -> None:
    assert next_tier(Tier.B, B - H + 0.01, None, TIERS) is Tier.B
    assert next_tier(Tier.B, B - H - 0.01, None, TIERS) is Tier.A


def test_large_moves_skip_tiers() -> None:
    assert next_tier(Tier.A, 95.0, None, TIERS) is Tier.D
    assert next_tier(Tier.D, 5.0, None, TIERS) is Tier.A


def test_a_jump_lands_on_the_tier_the_score_clears_by_the_margin() -> None:
    # Past D's bound but not by the margin: the subject goes to C, not D.
    assert next_tier(Tier.A, D + H / 2, None, TIERS) is Tier.C


def test_floor_overrides_a_low_score() -> None:
    assert next_tier(Tier.A, 10.0, Tier.D, TIERS) is Tier.D
    assert next_tier(None, 10.0, Tier.C, TIERS) is Tier.C


def test_floor_never_lowers_a_tier() -> None:
    assert next_tier(Tier.D, 90.0, Tier.C, TIERS) is Tier.D
    assert next_tier(None, 90.0, Tier.B, TIERS) is Tier.D


def test_when_the_floor_lapses_the_score_decides() -> None:
    held = walk(Tier.A, [10.0, 10.0], floor=Tier.D)
    assert held == [Tier.D, Tier.D]
    assert next_tier(held[-1], 10.0, None, TIERS) is Tier.A
