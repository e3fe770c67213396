"""Cross-region surges: one complaint category rising in several counties on the same day."""

from __future__ import annotations

import dataclasses
import random

import orjson
import pytest

from creditwatch.simulation.traffic import poisson
from detectors.cross_region import CategorySeries, CrossRegionFinding, local_day
from detectors.policy import default_policy

POLICY = default_policy().cross_region
DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00Z, 08:00 in Shanghai, a Thursday
COUNTIES = ["130102", "130104", "130105", "130108", "130109", "130110"]


def weekend(day: int) -> bool:
    return local_day(START + day * DAY + 3600) % 7 in (2, 3)  # 1970-01-01 was a Thursday


def background(
    series: CategorySeries,
    days: range | int,
    rng: random.Random,
    per_day: float = 2.0,
    weekend_share: float = 1.0,
) -> None:
    """Ordinary traffic: a Poisson count of about ``per_day`` per county per day (times
    ``weekend_share`` at weekends). Asserts that it never raises a finding."""
    for day in range(days) if isinstance(days, int) else days:
        mean = per_day * (weekend_share if weekend(day) else 1.0)
        for county in COUNTIES:
            for _ in range(poisson(rng, mean)):
                at = START + day * DAY + rng.uniform(0, 10 * 3600)
                assert series.add("food_safety", county, "food_drug", at, 1, "bg", POLICY) is None


def surge(
    series: CategorySeries, day: int, counties: list[str], count: int = 12, policy=POLICY
) -> list[CrossRegionFinding]:
    findings = []
    for county in counties:
        for i in range(count):
            at = START + day * DAY + 11 * 3600 + i
            findings.append(
                series.add("food_safety", county, "food_drug", at, 1, f"{county}-{i}", policy)
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
    assert all(1.0 < s.expected < 4.0 for s in finding.surges)  # about two a day
    assert all(s.surprise >= POLICY.surge_surprise for s in finding.surges)
    assert finding.day == local_day(START + 20 * DAY)
    assert finding.sector == "food_drug"
    assert len(finding.event_ids) == 3


def test_a_surge_in_one_county_alone_is_local_not_cross_region() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(2))
    assert surge(series, 20, COUNTIES[:1], count=40) == []


def test_ordinary_days_never_alert_with_or_without_a_weekly_season() -> None:
    background(CategorySeries(), 120, random.Random(3))  # asserts no finding on every add
    background(CategorySeries(), 120, random.Random(3), per_day=6.0, weekend_share=0.3)


def test_nothing_alerts_during_warm_up() -> None:
    series = CategorySeries()
    background(series, POLICY.warmup_days - 1, random.Random(4))
    assert surge(series, POLICY.warmup_days - 1, COUNTIES) == []


def test_a_new_category_raises_no_storm() -> None:
    """Its first days after the warm-up, every county new: only a real surge counts."""
    series = CategorySeries()
    rng = random.Random(12)
    background(series, range(POLICY.warmup_days + 3), rng, per_day=0.3)
    assert surge(series, POLICY.warmup_days + 3, COUNTIES, count=POLICY.surge_min - 1) == []


def test_a_surge_day_is_learned_as_its_forecast_not_as_its_count() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(5))
    surge(series, 20, COUNTIES[:3], count=60)
    forecast = series.expected(series.counties[COUNTIES[0]], POLICY)
    series.add("food_safety", COUNTIES[5], "food_drug", START + 21 * DAY, 1, "next", POLICY)
    window = series.counties[COUNTIES[0]].days.window
    assert window[-1][0][0] == pytest.approx(forecast)  # not 60 + the background's
    assert series.counties[COUNTIES[0]].base() < 4.0


def test_a_county_surging_after_the_day_s_alert_is_not_learned_as_a_day_either() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(13))
    assert len(surge(series, 20, COUNTIES[:3])) == 1
    assert surge(series, 20, COUNTIES[3:4], count=60) == []  # one alert a day
    forecast = series.expected(series.counties[COUNTIES[3]], POLICY)
    series.add("food_safety", COUNTIES[5], "food_drug", START + 21 * DAY, 1, "next", POLICY)
    assert series.counties[COUNTIES[3]].days.window[-1][0][0] == pytest.approx(forecast)


def test_a_busy_county_surges_without_a_fixed_multiple_of_its_level() -> None:
    series = CategorySeries()
    background(series, 30, random.Random(6), per_day=7.0)
    assert surge(series, 30, COUNTIES[:3], count=11) == []  # ordinary for seven a day
    # 18 is less than three times seven, and still one in hundreds for these counties.
    (finding,) = surge(series, 31, COUNTIES[:3], count=18)
    assert all(s.count < 3 * s.expected for s in finding.surges)


def test_a_weekend_is_judged_against_weekends() -> None:
    rng = random.Random(7)
    series = CategorySeries()
    background(series, 28, rng, per_day=8.0, weekend_share=0.25)
    sunday = next(d for d in range(28, 35) if weekend(d) and weekend(d - 1))
    background(series, range(28, sunday), rng, per_day=8.0, weekend_share=0.25)
    expected = series.expected(series.counties[COUNTIES[0]], POLICY)
    assert expected < 4.0  # a Sunday's two, not the week's mean of six
    assert len(surge(series, sunday, COUNTIES[:3], count=12)) == 1


def test_late_complaints_are_counted_aside() -> None:
    series = CategorySeries()
    background(series, 3, random.Random(7))
    series.add("food_safety", COUNTIES[0], "food_drug", START, 2, "late", POLICY)
    assert series.late == 2


def test_days_without_complaints_are_learned_as_zeros_and_a_new_county_joins_in_line() -> None:
    series = CategorySeries()
    background(series, 10, random.Random(8))
    series.add("food_safety", "130111", "food_drug", START + 16 * DAY, 1, "after", POLICY)
    assert series.days_closed == 16
    days = [x for (x,), _ in series.counties[COUNTIES[0]].days.window]
    assert days[-6:] == [0.0] * 6 and sum(days[:10]) > 0
    assert [x for (x,), _ in series.counties["130111"].days.window] == [0.0] * 16
    lengths = {len(s.days.window) for s in series.counties.values()}
    assert lengths == {16}  # the new county's days line up with the others'


def test_a_shorter_baseline_in_a_new_policy_keeps_the_latest_days() -> None:
    series = CategorySeries()
    background(series, 20, random.Random(9))
    shorter = dataclasses.replace(POLICY, baseline_days=7)
    series.add("food_safety", COUNTIES[0], "food_drug", START + 21 * DAY, 1, "x", shorter)
    assert {len(s.days.window) for s in series.counties.values()} == {7}


def test_a_restored_series_decides_exactly_like_the_original() -> None:
    rng = random.Random(10)
    series = CategorySeries()
    background(series, 15, rng, per_day=3.0, weekend_share=0.5)
    restored = CategorySeries.from_bytes(series.to_bytes())
    assert restored.to_bytes() == series.to_bytes()
    for day in range(15, 30):
        count = 14 if day % 5 == 0 else 0
        assert surge(restored, day, COUNTIES[:3], count) == surge(series, day, COUNTIES[:3], count)
        background(restored, range(day, day + 1), random.Random(day), per_day=3.0)
        background(series, range(day, day + 1), random.Random(day), per_day=3.0)
        restored = CategorySeries.from_bytes(restored.to_bytes())
    assert restored.to_bytes() == series.to_bytes()


def test_a_series_saved_by_the_exponential_format_is_converted_on_load() -> None:
    decay = 2 ** (-1 / 14)
    old = {
        "format": 1,
        "day": 20_500,
        "days_closed": 30,
        "alerted_today": False,
        "late": 1,
        "sectors_today": {"food_drug": 3},
        "counties": {"130102": [2.5 * (1 - decay**30), 30, 3, False, "e9"]},
    }
    converted = CategorySeries.from_bytes(orjson.dumps(old))
    county = converted.counties["130102"]
    assert county.base() == pytest.approx(2.5) and county.today == 3
    assert (converted.day, converted.days_closed, converted.late) == (20_500, 30, 1)


@pytest.mark.parametrize(
    "document",
    [
        {"format": 7},
        "text",
        {
            "format": 2,
            "day": 1,
            "days_closed": 1,
            "alerted_today": False,
            "late": 0,
            "sectors_today": {},
            "season": 1.0,
            "dispersion": None,
            "counties": {
                "130102": [
                    3,
                    {"mean": {"n": 1.0, "mean": 1.0}, "window": [1, 2, 3, 4]},
                    0,
                    False,
                    "",
                ]
            },
        },
    ],  # fmt: skip
)
def test_anything_else_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        CategorySeries.from_bytes(orjson.dumps(document))


def test_a_category_state_is_bounded() -> None:
    series = CategorySeries()
    background(series, 200, random.Random(11), per_day=5.0)
    size = len(series.to_bytes())
    per_county = size / len(series.counties)
    assert per_county < 400  # bytes: a window of baseline_days small numbers
    background(series, range(200, 260), random.Random(12), per_day=5.0)
    assert len(series.to_bytes()) <= size * 1.05
