"""``evaluations.sector`` (seed 六): the contract, what it rejects, and what a grade does."""

from __future__ import annotations

from typing import Any

import pytest

from detectors.policy import load_policy
from pipeline.context import StepContext
from pipeline.subject import process
from tests.factories import EVALUATIONS_TOPIC, T0, encode, evaluation, evaluation_data
from tests.factories import pseudonym_key as key
from topics.decode import Rejected, decode_input
from topics.evaluations import SectorEvaluation
from topics.vocabulary import EvaluationLevel, Tier

CONTEXT = StepContext(load_policy(), key())


def rejected(**fields: Any) -> Rejected:
    data = evaluation_data(**fields)
    result = decode_input(EVALUATIONS_TOPIC, str(data["subject"]).encode(), encode(data))
    assert isinstance(result, Rejected)
    return result


def test_a_valid_evaluation_decodes_with_its_level_and_grade() -> None:
    data = evaluation_data(level="state", grade="A", valid_until=T0.replace(year=2028))
    record = decode_input(EVALUATIONS_TOPIC, str(data["subject"]).encode(), encode(data))
    assert isinstance(record, SectorEvaluation)
    assert (record.level, record.grade, record.sector.value) == (
        EvaluationLevel.STATE, Tier.A, "food_drug")  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({"sector": "other"}, "bad_enum", "sector"),  # only the 8 key sectors are evaluated
        ({"grade": "E"}, "bad_enum", "grade"),
        ({"level": "municipal"}, "bad_enum", "level"),
        ({"evaluator": None}, "missing_field", "evaluator"),
        ({"valid_until": T0}, "inconsistent", "valid_until"),
        ({"evaluated_at": "2026-03-02T08:00:00"}, "naive_timestamp", "evaluated_at"),
    ],
)
def test_a_bad_evaluation_is_rejected_with_a_stable_reason(
    fields: dict[str, Any], reason: str, field: str
) -> None:
    result = rejected(**fields)
    assert (result.reason, result.field) == (reason, field)


@pytest.mark.parametrize(
    ("grade", "score", "tier"),
    [("A", 22.0, "A"), ("B", 28.0, "B"), ("C", 42.0, "B"), ("D", 54.0, "C")],
)
def test_a_grade_moves_the_score_as_a_credit_record(grade: str, score: float, tier: str) -> None:
    state, out = process(None, evaluation(grade=grade), CONTEXT)
    assert (state.score, state.tier) == (score, tier)
    assert out.tier_change is not None
    assert out.tier_change.reasons[0].fact == f"sector_evaluation_{grade.lower()}"


def test_the_same_grade_weighs_more_in_a_life_safety_sector() -> None:
    food, _ = process(None, evaluation(grade="D", sector="food_drug"), CONTEXT)
    safety, _ = process(None, evaluation(grade="D", sector="production_safety"), CONTEXT)
    # 24 points in food and drugs (weight 1.0), 31.2 in production safety (1.3), where
    # C also starts lower (45): 61.2 is C there, as 54 is C in food and drugs.
    assert (food.score, safety.score) == (54.0, 61.2)
