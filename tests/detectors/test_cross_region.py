"""Cross-region surges: one complaint category rising in several counties on the same day."""

from __future__ import annotations

import random

from detectors.cross_region import CategorySeries, local_day
from detectors.policy import default_policy

POLICY = default_policy().cross_region
DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00Z, 08:00 in Shanghai
COUNTIES = ["130102", "130104", "130105", "130108", "130109", "130110"]


def background(series: CategorySeries, days: int, rng: random.Random, per_day: int = 2) -> None:
    """``days`` days of ordinary traffic: about ``per_day`` complaints per county per day."""
    for day in range(days):
        for county in COUNTIES:
            for _ in range(rng.randint(0, 2 * per_day)):
                at = START + day * DAY + rng.uniform(0, 10 * 3600)
                assert series.add("food_safety", county, "food_drug", at, 1, "bg", POLICY) is None


def surge(series: CategorySeries, day: int, counties: list[str], count: int = 12) -> list:
    findings = []
    for county in counties:
        for i in range(count):
            at = START + day * DAY + 11 * 3600 + i
            findings.append(
                series.add("food_safety", county, "food_drug", at, 1, f"{county}-{i}", POLICY)
            )
    return [f for f in findings if f is not None]


def test_surges_in_enough_counties_raise_one_finding_with_counts_and_expected_levels() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(1))
    findings = surge(series, 20, COUNTIES[:3])
    assert len(findings) == 1
    finding = findings[0]
    assert {s.county for s in finding.surges} == set(COUNTIES[:3])
    assert all(s.count >= POLICY.surge_min for s in finding.surges)
    assert all(0 < s.expected < s.count / POLICY.surge_ratio for s in finding.surges)
    assert finding.day == local_day(START + 20 * DAY)
    assert finding.sector == "food_drug"
    assert len(finding.event_ids) == 3


def test_a_surge_in_one_county_alone_is_local_not_cross_region() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(2))
    assert surge(series, 20, COUNTIES[:1], count=40) == []


def test_ordinary_days_never_alert() -> None:
    series = CategorySeries()
    background(series, 120, random.Random(3))  # asserts no finding on every add


def test_nothing_alerts_during_warm_up() -> None:
    series = CategorySeries()
    background(series, POLICY.warmup_days - 1, random.Random(4))
    assert surge(series, POLICY.warmup_days - 1, COUNTIES) == []


def test_a_surge_day_is_not_learned_as_normal() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(5))
    surge(series, 20, COUNTIES[:3], count=60)  # closes day 19: the baseline is as of then
    before = series.counties[COUNTIES[0]].expected(2 ** (-1 / POLICY.half_life_days))
    background_next = START + 21 * DAY
    series.add("food_safety", COUNTIES[0], "food_drug", background_next, 1, "next", POLICY)
    after = series.counties[COUNTIES[0]].expected(2 ** (-1 / POLICY.half_life_days))
    assert after == before  # the surge day was skipped, not averaged in


def test_a_higher_usual_level_needs_a_higher_count_to_surge() -> None:
    series = CategorySeries()
    background(series, 30, random.Random(6), per_day=6)  # ~6 a day: 3x is ~18
    assert surge(series, 30, COUNTIES[:3], count=8) == []


def test_late_complaints_are_counted_aside() -> None:
    series = CategorySeries()
    background(series, 3, random.Random(7))
    series.add("food_safety", COUNTIES[0], "food_drug", START, 2, "late", POLICY)
    assert series.late == 2


def test_restored_state_decides_exactly_like_the_original() -> None:
    series = CategorySeries()
    background(series, 15, random.Random(8))
    restored = CategorySeries.from_bytes(series.to_bytes())
    assert restored == series
    assert surge(restored, 15, COUNTIES[:4]) == surge(series, 15, COUNTIES[:4])
