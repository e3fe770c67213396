"""The 双随机 spot-check draw: reproducible, tiered as the policy says, fair to inspectors."""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from detectors.policy import load_policy
from detectors.spotcheck import (
    DEFAULT_SPOTCHECK_PATH,
    TIERS,
    Inspector,
    PairingImpossible,
    SpotCheckPolicy,
    SpotCheckPolicyError,
    SpotSubject,
    TierRule,
    draw_plan,
    load_spotcheck_policy,
    parse_spotcheck_policy,
    round_dates,
    schedule,
)
from topics.vocabulary import Tier

REGION = "130102"
DAY = date(2026, 3, 1)
BUNDLED = tomllib.loads(DEFAULT_SPOTCHECK_PATH.read_text(encoding="utf-8"))
POLICY = parse_spotcheck_policy(BUNDLED)
ALL_DRAWN = SpotCheckPolicy("test", {t: TierRule(1.0, 1) for t in TIERS})  # every subject drawn


def city(n: int, seed: int = 3, region: str = REGION) -> list[SpotSubject]:
    rng = random.Random(seed)
    tiers = rng.choices(TIERS, weights=(0.35, 0.45, 0.15, 0.05), k=n)
    return [
        SpotSubject(f"9113{i:014d}", region, "other", tier, rng.random() < 0.2)
        for i, tier in enumerate(tiers)
    ]


def roster(n: int, region: str = REGION, **conflicts: frozenset[str]) -> list[Inspector]:
    return [
        Inspector(
            f"I{i:02d}",
            f"inspector {i}",
            frozenset({region}),
            conflicts.get(f"I{i:02d}", frozenset()),
        )
        for i in range(n)
    ]


def test_same_inputs_and_seed_give_the_same_plan_whatever_the_input_order() -> None:
    subjects, inspectors = city(400), roster(8)
    history = {subjects[0].uscc: {"I01"}}
    plan = draw_plan(subjects, inspectors, history, REGION, DAY, 42, POLICY)

    shuffled_subjects, shuffled_roster = subjects[:], inspectors[:]
    random.Random(1).shuffle(shuffled_subjects)
    random.Random(2).shuffle(shuffled_roster)
    again = draw_plan(shuffled_subjects, shuffled_roster, history, REGION, DAY, 42, POLICY)

    assert plan.tasks and again == plan
    assert again.to_dict() == plan.to_dict()


def test_a_different_seed_date_or_policy_version_draws_differently() -> None:
    subjects, inspectors = city(400), roster(8)
    plan = draw_plan(subjects, inspectors, {}, REGION, DAY, 42, POLICY)
    bumped = SpotCheckPolicy("2026.11-2", POLICY.default, POLICY.regions)

    for other in (
        draw_plan(subjects, inspectors, {}, REGION, DAY, 43, POLICY),
        draw_plan(subjects, inspectors, {}, REGION, date(2026, 3, 2), 42, POLICY),
        draw_plan(subjects, inspectors, {}, REGION, DAY, 42, bumped),
    ):
        assert other.tasks != plan.tasks


def test_tier_a_subjects_are_drawn_only_when_triggered() -> None:
    subjects = [SpotSubject(f"A{i:04d}", REGION, "other", Tier.A, i % 2 == 0) for i in range(2000)]
    plan = draw_plan(subjects, roster(6), {}, REGION, DAY, 5, POLICY)

    assert plan.counts[Tier.A].subjects == 2000 and plan.counts[Tier.A].eligible == 1000
    assert plan.tasks, "3 % of 1000 triggered subjects should give some tasks"
    assert all(t.subject.triggered and t.reason == "triggered" for t in plan.tasks)


def test_per_tier_shares_on_10k_subjects_match_the_configured_ratios() -> None:
    subjects = city(10_000)
    plan = draw_plan(subjects, roster(40), {}, REGION, DAY, 2026, POLICY)

    assert sum(c.subjects for c in plan.counts.values()) == 10_000
    for tier in TIERS:
        count = plan.counts[tier]
        ratio = POLICY.default[tier].ratio
        share = count.drawn / count.eligible
        standard_error = math.sqrt(ratio * (1 - ratio) / count.eligible)
        assert abs(share - ratio) <= 3 * standard_error, (tier, share, ratio)
        assert sum(t.subject.tier is tier for t in plan.tasks) == count.drawn
    # The ordering the policy promises shows up in the draw, not just in the file.
    shares = [plan.counts[t].drawn / plan.counts[t].eligible for t in (Tier.B, Tier.C, Tier.D)]
    assert shares == sorted(shares)


def test_small_tiers_are_rounded_stochastically_not_always_down() -> None:
    # 7 D subjects at 20 % expect 1.4 per round: rounding down would always give 1.
    subjects = [SpotSubject(f"D{i}", REGION, "other", Tier.D) for i in range(7)]
    drawn = [
        draw_plan(subjects, roster(4), {}, REGION, DAY, seed, POLICY).counts[Tier.D].drawn
        for seed in range(400)
    ]
    assert set(drawn) == {1, 2}
    assert abs(sum(drawn) / len(drawn) - 1.4) < 0.1


def test_region_override_changes_only_the_tiers_it_names() -> None:
    park = "130172"
    plan = draw_plan(city(3000, region=park), roster(20, park), {}, park, DAY, 1, POLICY)
    assert plan.counts[Tier.D].ratio == 0.30 and plan.counts[Tier.D].rounds_per_year == 6
    assert plan.counts[Tier.C].ratio == 0.15
    assert plan.counts[Tier.B].ratio == POLICY.default[Tier.B].ratio


def test_pairs_avoid_conflicts_and_recent_inspectors_and_are_distinct() -> None:
    subjects = city(2000)
    rng = random.Random(9)
    usccs = [s.uscc for s in subjects]
    conflicts = {f"I{i:02d}": frozenset(rng.sample(usccs, 300)) for i in range(10)}
    inspectors = roster(10, **conflicts)
    history = {u: set(rng.sample([f"I{i:02d}" for i in range(10)], 3)) for u in usccs}

    plan = draw_plan(subjects, inspectors, history, REGION, DAY, 11, POLICY)

    assert len(plan.tasks) > 50
    for task in plan.tasks:
        first, second = task.inspectors
        assert first != second
        for inspector in task.inspectors:
            assert task.subject.uscc not in conflicts[inspector]
            assert inspector not in history[task.subject.uscc]


def test_only_inspectors_covering_the_region_are_sent() -> None:
    subjects = [SpotSubject(f"D{i}", REGION, "other", Tier.D) for i in range(50)]
    elsewhere = [Inspector(f"X{i}", "far away", frozenset({"130181"})) for i in range(5)]
    plan = draw_plan(subjects, roster(3) + elsewhere, {}, REGION, DAY, 1, POLICY)
    assert {i for t in plan.tasks for i in t.inspectors} <= {"I00", "I01", "I02"}


def test_work_is_spread_over_the_roster() -> None:
    plan = draw_plan(city(4000), roster(10), {}, REGION, DAY, 3, POLICY)
    load = [sum(i in t.inspectors for t in plan.tasks) for i in (f"I{n:02d}" for n in range(10))]
    assert max(load) - min(load) <= 1


def test_conflicts_making_a_pairing_impossible_raise_a_clear_error() -> None:
    subjects = [SpotSubject("D1", REGION, "other", Tier.D)]
    inspectors = roster(3, I00=frozenset({"D1"}), I01=frozenset({"D1"}))

    with pytest.raises(PairingImpossible) as caught:
        draw_plan(subjects, inspectors, {}, REGION, DAY, 1, ALL_DRAWN)

    message = str(caught.value)
    assert "D1" in message and "2 declared a conflict (I00, I01)" in message
    assert "leaving 1" in message


def test_repeats_and_short_rosters_are_named_as_the_reason() -> None:
    subjects = [SpotSubject("D1", REGION, "other", Tier.D)]

    with pytest.raises(PairingImpossible, match=r"2 inspected it recently \(I00, I02\)"):
        draw_plan(subjects, roster(3), {"D1": {"I00", "I02"}}, REGION, DAY, 1, ALL_DRAWN)
    with pytest.raises(PairingImpossible, match="only 1 inspector"):
        draw_plan(subjects, roster(1), {}, REGION, DAY, 1, ALL_DRAWN)


def test_duplicate_subjects_are_refused() -> None:
    subjects = [SpotSubject("D1", REGION, "other", Tier.D)] * 2
    with pytest.raises(ValueError, match="D1 appears more than once"):
        draw_plan(subjects, roster(3), {}, REGION, DAY, 1, POLICY)


def test_the_bundled_policy_loads() -> None:
    policy = load_spotcheck_policy()
    ratios = [policy.default[t].ratio for t in TIERS]
    assert ratios == sorted(ratios) and ratios[0] < ratios[1] < ratios[2]
    assert set(policy.regions) == {"130172"}


def edited(dotted: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(BUNDLED)
    *parents, leaf = dotted.split("/")
    table = document
    for part in parents:
        table = table[part]
    if value is None:
        del table[leaf]
    else:
        table[leaf] = value
    return document


@pytest.mark.parametrize(
    ("dotted", "value", "named"),
    [
        ("version", None, "'version'"),
        ("ratio/C", None, "'ratio.C'"),
        ("ratio/B", "five", "'ratio.B' must be float"),
        ("ratio/D", 1.5, "'ratio.D' must be within 0..1"),
        ("ratio/A", 0.08, "'ratio.B' must be at least 'ratio.A'"),
        ("ratio/E", 0.1, "unknown tier 'ratio.E'"),
        ("rounds_per_year/D", -1, "'rounds_per_year.D' must be >= 0"),
        ("rounds_per_year/A", 1.5, "'rounds_per_year.A' must be int"),
        ("region/130172/ratio/D", 0.05, "'region.130172.ratio.D' must be at least"),
        ("region/999999", {"ratio": {"B": 0.1}}, "'region.999999' is not a county code"),
        ("region/130102", {"ratios": {"B": 0.1}}, "unknown key 'region.130102.ratios'"),
    ],
)
def test_a_broken_policy_names_the_key(dotted: str, value: Any, named: str) -> None:
    with pytest.raises(SpotCheckPolicyError, match="spotcheck policy") as caught:
        parse_spotcheck_policy(edited(dotted, value))
    assert named in str(caught.value)


def test_a_missing_or_invalid_policy_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SpotCheckPolicyError, match="not found"):
        load_spotcheck_policy(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n")
    with pytest.raises(SpotCheckPolicyError, match="not valid TOML"):
        load_spotcheck_policy(broken)


# --- issue 18 item 8: list measures, departments and joint visits, scheduled rounds

ONE_DRAW = SpotCheckPolicy(
    "test", POLICY.default, measure_factors={"more_spot_checks": 2.0, "fewer_spot_checks": 0.5}
)


@pytest.mark.parametrize(
    ("measure", "ratio"), [(None, 0.20), ("more_spot_checks", 0.40), ("fewer_spot_checks", 0.10)]
)
def test_key_attention_is_drawn_more_and_the_red_list_less(measure: str | None, ratio: float):
    measures = frozenset({measure} if measure else ())
    subjects = [SpotSubject(f"D{i:05d}", REGION, "other", Tier.D, measures=measures)
                for i in range(2000)]  # fmt: skip
    plan = draw_plan(subjects, roster(40), {}, REGION, DAY, 11, ONE_DRAW)
    # Counts are rounded stochastically: within one subject of the expected count.
    assert abs(plan.counts[Tier.D].drawn - 2000 * ratio) <= 1
    assert all(t.measures == tuple(measures) for t in plan.tasks)


def test_a_factor_never_draws_more_than_every_subject() -> None:
    policy = SpotCheckPolicy("test", POLICY.default, measure_factors={"more_spot_checks": 10.0})
    subjects = [SpotSubject(f"D{i}", REGION, "other", Tier.D, measures=frozenset(
        {"more_spot_checks"})) for i in range(30)]  # fmt: skip
    assert draw_plan(subjects, roster(8), {}, REGION, DAY, 1, policy).counts[Tier.D].drawn == 30


def test_measures_the_policy_does_not_weigh_change_nothing() -> None:
    plain = city(500)
    marked = [dataclasses.replace(s, measures=frozenset({"no_bidding"})) for s in plain]
    one = draw_plan(plain, roster(8), {}, REGION, DAY, 3, ONE_DRAW)
    other = draw_plan(marked, roster(8), {}, REGION, DAY, 3, ONE_DRAW)
    assert [t.subject.uscc for t in one.tasks] == [t.subject.uscc for t in other.tasks]


JOINT = SpotCheckPolicy(
    "test",
    {t: TierRule(1.0, 1) for t in TIERS},
    departments={"market_regulation": None, "health": frozenset({"food_drug"})},
)


def test_departments_drawing_the_same_subject_make_one_joint_visit() -> None:
    food = SpotSubject("F1", REGION, "food_drug", Tier.B)
    school = SpotSubject("E1", REGION, "education", Tier.B)
    plan = draw_plan([food, school], roster(4), {}, REGION, DAY, 1, JOINT)
    assert [(t.subject.uscc, t.departments) for t in plan.tasks] == [
        ("E1", ("market_regulation",)),
        ("F1", ("health", "market_regulation")),  # 进一次门、查多项事
    ]
    assert plan.counts[Tier.B].drawn == 2  # visits, not department tasks
    assert plan.to_dict()["tasks"][1]["visit"] == f"{REGION}|2026-03-01|F1"


def test_an_inspector_of_a_department_goes_only_on_its_visits() -> None:
    school = SpotSubject("E1", REGION, "education", Tier.B)
    health = [Inspector(f"H{i}", "h", frozenset({REGION}), department="health") for i in range(4)]
    market = [Inspector(f"M{i}", "m", frozenset({REGION}), department="market_regulation")
              for i in range(2)]  # fmt: skip
    (task,) = draw_plan([school], health + market, {}, REGION, DAY, 1, JOINT).tasks
    assert task.inspectors == ("M0", "M1")
    with pytest.raises(PairingImpossible):
        draw_plan([school], health, {}, REGION, DAY, 1, JOINT)


def test_a_scheduled_round_draws_only_the_tiers_due() -> None:
    subjects = [SpotSubject(f"S{i}", REGION, "other", Tier(t)) for i, t in enumerate("BCD" * 5)]
    plan = draw_plan(subjects, roster(6), {}, REGION, DAY, 1, ALL_DRAWN, tiers=(Tier.D,))
    assert {t.subject.tier for t in plan.tasks} == {Tier.D} and len(plan.tasks) == 5
    assert [plan.counts[t].due for t in TIERS] == [False, False, False, True]
    assert plan.counts[Tier.B].eligible == 5 and plan.counts[Tier.B].drawn == 0


def test_rounds_are_spread_over_the_year_on_working_days_and_nest() -> None:
    calendar = load_policy().supervision.calendar
    rounds = schedule(POLICY.default, 2026, calendar.next_working_day)
    # 1 January 2026 is a holiday (to the 3rd), the 4th a Sunday worked in exchange;
    # 1 October is in the National Day holiday (to the 7th).
    assert list(rounds) == [date(2026, 1, 4), date(2026, 4, 2), date(2026, 7, 2), date(2026, 10, 8)]
    assert rounds[date(2026, 1, 4)] == TIERS and rounds[date(2026, 7, 2)] == (Tier.C, Tier.D)
    assert all(calendar.is_working_day(day) for day in rounds)
    assert round_dates(2026, 0) == [] and len(round_dates(2026, 12)) == 12


@pytest.mark.parametrize(
    ("dotted", "value", "named"),
    [
        ("measures/more_spot_checks", 0, "'measures.more_spot_checks' must be positive"),
        ("departments/police", "all", "'departments.police' is not a department"),
        ("departments/health", ["food"], "'departments.health' must be \"all\" or a list"),
        ("departments/health", [], "'departments.health' must be \"all\" or a list"),
    ],
)
def test_a_broken_measure_or_department_names_the_key(dotted: str, value: Any, named: str):
    with pytest.raises(SpotCheckPolicyError, match="spotcheck policy") as caught:
        parse_spotcheck_policy(edited(dotted, value))
    assert named in str(caught.value)
