"""The anomaly part of cross-sector warnings: how usual a combination of departments is for
one sector, on a River Multinomial of department pairs."""

from __future__ import annotations

import random

import orjson
import pytest

from detectors.department_mix import DepartmentMix, pairs_of
from detectors.policy import default_policy
from topics.vocabulary import Department

POLICY = default_policy().cross_sector
USUAL = ("market_regulation", "taxation")
RARE = ("court", "ecology_environment")


def trained(findings: int, seed: int = 1) -> DepartmentMix:
    """A sector whose findings are nearly always market regulation with tax, sometimes
    with the court as well."""
    rng = random.Random(seed)
    mix = DepartmentMix()
    for _ in range(findings):
        mix.observe(USUAL + (("court",) if rng.random() < 0.3 else ()), POLICY)
    return mix


def test_a_usual_combination_is_usual_and_a_rare_pair_is_not() -> None:
    mix = trained(60)
    usual = mix.assess(USUAL, POLICY)
    assert usual is not None and not usual.unusual and usual.seen == 60
    rare = mix.assess(("market_regulation", "ecology_environment"), POLICY)
    assert rare is not None and rare.unusual
    assert rare.pair == ("ecology_environment", "market_regulation") and rare.seen == 0
    assert rare.share == pytest.approx(1 / 62)
    # A combination is as unusual as its rarest pair.
    mixed = mix.assess(USUAL + ("ecology_environment",), POLICY)
    assert mixed is not None and mixed.unusual and "ecology_environment" in mixed.pair


def test_an_unusual_combination_is_not_learned() -> None:
    mix = trained(60)
    before = mix.to_bytes()
    for _ in range(10):
        assessment = mix.observe(RARE, POLICY)
        assert assessment is not None and assessment.unusual
    assert mix.to_bytes() == before
    assert mix.observe(USUAL, POLICY) is not None
    assert mix.findings == 61


def test_a_new_sector_raises_no_storm() -> None:
    """Until it has seen enough findings nothing is unusual: the prior of each pair's rate."""
    mix = DepartmentMix()
    rng = random.Random(3)
    departments = [d.value for d in Department]
    enough = int(1 / POLICY.unusual_share) - 2
    for _ in range(enough):
        assessment = mix.observe(rng.sample(departments, 2), POLICY)
        assert assessment is not None and not assessment.unusual
    assert mix.findings == enough


def test_one_department_has_no_combination() -> None:
    mix = trained(30)
    assert mix.assess(("taxation",), POLICY) is None
    assert mix.observe(("taxation", "taxation"), POLICY) is None
    assert pairs_of(["b", "a", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_a_restored_mix_judges_and_learns_exactly_like_the_original() -> None:
    rng = random.Random(4)
    mix = trained(25, seed=4)
    restored = DepartmentMix.from_bytes(mix.to_bytes())
    departments = [d.value for d in Department]
    for _ in range(200):
        combination = rng.sample(departments, rng.randint(1, 3))
        assert restored.observe(combination, POLICY) == mix.observe(combination, POLICY)
    assert restored.to_bytes() == mix.to_bytes()


def test_the_state_is_bounded_by_the_pairs_of_departments() -> None:
    mix = DepartmentMix()
    departments = [d.value for d in Department]
    for a in departments:
        for b in departments:
            for _ in range(3):
                mix.learn((a, b))
    n = len(departments)
    assert len(mix.pairs.counts) == n * (n - 1) // 2
    assert len(mix.to_bytes()) < 5_000


@pytest.mark.parametrize(
    "document",
    [
        {"format": 2},
        {
            "format": 1,
            "findings": -1,
            "pairs": {
                "type": "river.proba.Multinomial",
                "params": {},
                "state": {"counts": {}, "n": 0},
            },
        },
        {"format": 1, "findings": 1, "pairs": {"type": "builtins.eval", "params": {}, "state": {}}},
    ],  # fmt: skip
)
def test_anything_else_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        DepartmentMix.from_bytes(orjson.dumps(document))
