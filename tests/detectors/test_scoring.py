"""The 0–100 risk score: base, capped and decayed signals, windows, clamping, floors.

Expected numbers are derived from the bundled policy's weights, so the tests
state the rule ("a general penalty adds its points") rather than a snapshot.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from detectors.policy import Policy, load_policy
from detectors.scoring import score_subject
from detectors.state import Observation, SubjectState
from detectors.windows import DAY_S, HOUR_S
from tests.factories import T0_S, observation
from topics.vocabulary import Tier

POLICY = load_policy()
BASE = POLICY.base_score
SIGNALS = POLICY.signals


def state_of(*observations: Observation, policy: Policy = POLICY) -> SubjectState:
    state = SubjectState()
    for obs in observations:
        state.apply(obs, policy)
    return state


def score_of(*observations: Observation, policy: Policy = POLICY) -> float:
    return score_subject(state_of(*observations, policy=policy), policy).value


def same_time(n: int, **fields: Any) -> list[Observation]:
    return [observation(T0_S, **fields) for _ in range(n)]


def test_a_subject_without_records_scores_the_base() -> None:
    score = score_subject(SubjectState(), POLICY)
    assert score.value == BASE
    assert score.contributions == () and score.floor is None


def test_an_adverse_record_adds_its_points_and_explains_them() -> None:
    score = score_subject(state_of(observation(T0_S, signal="penalty_general")), POLICY)
    assert score.value == BASE + SIGNALS["penalty_general"].points
    (fact,) = score.contributions
    assert fact.fact == "penalty_general" and fact.value == SIGNALS["penalty_general"].points


def test_repeats_add_up_to_the_cap() -> None:
    minor = SIGNALS["penalty_minor"]
    under_cap = int(minor.cap // minor.points)  # this many still add in full
    assert score_of(*same_time(under_cap, signal="penalty_minor")) == BASE + (
        under_cap * minor.points
    )
    assert score_of(*same_time(under_cap + 3, signal="penalty_minor")) == BASE + minor.cap


def test_positive_records_lower_the_score_down_to_their_cap() -> None:
    honour = SIGNALS["honour"]
    assert honour.points < 0
    assert score_of(observation(T0_S, signal="honour")) == BASE + honour.points
    assert score_of(*same_time(10, signal="honour")) == BASE + honour.cap


def test_adverse_and_positive_records_offset() -> None:
    obs = [observation(T0_S, signal="penalty_general"), observation(T0_S, signal="honour")]
    expected = BASE + SIGNALS["penalty_general"].points + SIGNALS["honour"].points
    assert score_of(*obs) == expected


def test_decayed_signal_contributes_less() -> None:
    general = SIGNALS["penalty_general"]
    state = state_of(
        observation(T0_S, signal="penalty_general"),
        observation(T0_S + general.half_life_s),  # any later record moves the clock
    )
    assert score_subject(state, POLICY).value == pytest.approx(BASE + general.points / 2)


def test_score_never_exceeds_100() -> None:
    worst = [
        observation(T0_S, signal=name)
        for name, s in SIGNALS.items()
        for _ in range(5)
        if s.points > 0
    ]
    assert sum(s.cap for s in SIGNALS.values() if s.points > 0) + BASE > 100
    assert score_of(*worst) == 100.0


def test_score_never_goes_below_0() -> None:
    # A generous policy base so the positive records' caps push it below zero.
    policy = dataclasses.replace(POLICY, base_score=5.0)
    best = [
        observation(T0_S, signal=name)
        for name, s in SIGNALS.items()
        for _ in range(5)
        if s.points < 0
    ]
    assert sum(s.cap for s in SIGNALS.values() if s.points < 0) + 5.0 < 0
    assert score_of(*best, policy=policy) == 0.0


def test_contributions_are_ordered_by_effect() -> None:
    score = score_subject(
        state_of(
            observation(T0_S, signal="interview"),
            observation(T0_S, signal="court_dishonest_debtor"),
            observation(T0_S, signal="honour"),
        ),
        POLICY,
    )
    effects = [abs(c.value) for c in score.contributions]
    assert effects == sorted(effects, reverse=True)
    assert score.contributions[0].fact == "court_dishonest_debtor"


def test_complaints_in_the_last_30_days_add_points() -> None:
    each, cap = POLICY.complaints.points_each, POLICY.complaints.cap
    four = [observation(T0_S + i * DAY_S, complaint_category="price") for i in range(4)]
    score = score_subject(state_of(*four), POLICY)
    assert score.value == BASE + 4 * each
    assert [c.fact for c in score.contributions] == ["complaints_30d"]
    many = [observation(T0_S + i * HOUR_S, complaint_category="price") for i in range(50)]
    assert score_of(*many) == BASE + cap


def test_complaints_older_than_30_days_stop_counting() -> None:
    old = observation(T0_S, complaint_category="price")
    assert score_of(old, observation(T0_S + 29 * DAY_S)) > BASE
    assert score_of(old, observation(T0_S + 31 * DAY_S)) == BASE


def test_iot_exceedances_count_for_24_hours() -> None:
    each = POLICY.iot.points_each
    two = [observation(T0_S + i * HOUR_S, iot_exceedance=True) for i in range(2)]
    assert score_of(*two) == BASE + 2 * each
    assert score_of(*two, observation(T0_S + 2 * DAY_S)) == BASE
    many = [observation(T0_S + i * 60, iot_exceedance=True) for i in range(100)]
    assert score_of(*many) == BASE + POLICY.iot.cap


def test_floor_applies_while_the_record_is_recent() -> None:
    serious = SIGNALS["penalty_serious"]
    assert serious.floor is Tier.C
    state = state_of(observation(T0_S, signal="penalty_serious"))
    assert score_subject(state, POLICY).floor is Tier.C
    state.advance(T0_S + serious.floor_s - DAY_S, POLICY)
    assert score_subject(state, POLICY).floor is Tier.C


def test_floor_expires_after_floor_days() -> None:
    serious = SIGNALS["penalty_serious"]
    state = state_of(observation(T0_S, signal="penalty_serious"))
    state.advance(T0_S + serious.floor_s + DAY_S, POLICY)
    score = score_subject(state, POLICY)
    assert score.floor is None
    assert score.value > BASE  # the penalty still weighs, only the floor is gone


def test_the_highest_floor_wins() -> None:
    state = state_of(
        observation(T0_S, signal="penalty_serious"),  # floor C
        observation(T0_S, signal="court_dishonest_debtor"),  # floor D
    )
    assert score_subject(state, POLICY).floor is Tier.D


def test_signals_without_a_floor_set_none() -> None:
    assert score_subject(state_of(*same_time(3, signal="tax_violation")), POLICY).floor is None


@pytest.mark.parametrize(
    ("sector", "points"),
    [("food_drug", 10.0), ("finance", 12.0), ("education", 9.0), ("production_safety", 13.0),
     ("other", 10.0)],
)  # fmt: skip
def test_the_same_penalty_weighs_by_the_sector_seed_6(sector: str, points: float) -> None:
    """Seed 六: a general penalty is worth the sector's weight times its points."""
    state = state_of(observation(signal="penalty_general", sector=sector))
    (contribution,) = score_subject(state, POLICY).contributions
    assert (contribution.fact, contribution.value) == ("penalty_general", points)


def test_a_sector_weight_scales_the_cap_too() -> None:
    repeats = same_time(10, signal="penalty_general", sector="production_safety")
    spec = SIGNALS["penalty_general"]
    assert score_of(*repeats) == BASE + spec.cap * 1.3
