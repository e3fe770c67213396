"""The synthetic city: valid identifiers, believable make-up, reproducible."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from stdnum.cn import uscc as stdnum_uscc

from creditwatch.simulation import population
from creditwatch.simulation.population import (
    SECTOR_DEVICES,
    RiskProfile,
    Subject,
    build_population,
    organisation_code_check,
)
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Metric, PersonRole, Sector, SubjectType


def test_every_uscc_is_valid_unique_and_registered_in_the_subjects_county(
    city: list[Subject],
) -> None:
    codes = [s.uscc for s in city]
    assert len(city) == 10_000
    assert len(set(codes)) == len(codes)
    for subject in city:
        assert stdnum_uscc.is_valid(subject.uscc), subject.uscc
        assert subject.uscc[2:8] == subject.region
        assert subject.region in SHIJIAZHUANG_COUNTIES
        assert subject.uscc[:2] in {"91", "92", "93", "52"}


def test_organisation_code_carries_its_gb_11714_check_character(city: list[Subject]) -> None:
    # 91110000600037341L is stdnum's reference USCC; its organisation code is 60003734-1.
    assert organisation_code_check("60003734") == "1"
    assert all(organisation_code_check(s.uscc[8:16]) == s.uscc[16] for s in city)


def test_same_seed_same_city_and_another_seed_another_city() -> None:
    assert build_population(seed=5, size=300) == build_population(seed=5, size=300)
    first = {s.uscc for s in build_population(seed=5, size=300)}
    assert first.isdisjoint(s.uscc for s in build_population(seed=6, size=300))


def test_most_subjects_are_clean_a_few_high_risk_fewer_very_bad(city: list[Subject]) -> None:
    shares = Counter(s.profile for s in city)
    assert 0.90 <= shares[RiskProfile.CLEAN] / len(city) <= 0.96
    assert 0.03 <= shares[RiskProfile.HIGH] / len(city) <= 0.08
    assert 0.005 <= shares[RiskProfile.VERY_BAD] / len(city) <= 0.025


def test_some_legal_representatives_run_two_to_four_subjects(city: list[Subject]) -> None:
    subjects_per_rep = Counter(s.legal_rep_id for s in city)
    multi = [n for n in subjects_per_rep.values() if n > 1]
    assert 0.03 <= len(multi) / len(subjects_per_rep) <= 0.08  # seed 十一: ~5 %
    assert max(multi) <= 4
    assert all(rep.startswith("LR") and rep[2:].isdigit() for rep in subjects_per_rep)


def test_sectors_are_weighted_like_a_city_register(city: list[Subject]) -> None:
    shares = Counter(s.sector for s in city)
    assert set(shares) == set(Sector)
    assert shares.most_common(2)[0][0] is Sector.OTHER
    assert shares[Sector.FOOD_DRUG] > shares[Sector.FINANCE] * 4


def test_devices_belong_to_sectors_that_have_them(city: list[Subject]) -> None:
    expected = {
        Sector.FOOD_DRUG: {Metric.COLD_CHAIN_TEMPERATURE, Metric.CAMERA_AI_EVENT},
        Sector.ENVIRONMENT: {Metric.COD, Metric.NOX},
        Sector.PRODUCTION_SAFETY: {Metric.GAS_CONCENTRATION},
        Sector.URBAN_OPERATIONS: {Metric.GAS_CONCENTRATION},
        Sector.ELDERLY_CHILDCARE: {Metric.CAMERA_AI_EVENT},
        Sector.CONSTRUCTION: {Metric.PM25},
    }
    assert set(expected) == set(SECTOR_DEVICES)
    seen: dict[Sector, set[Metric]] = {}
    device_ids = [d.device_id for s in city for d in s.devices]
    for subject in city:
        for device in subject.devices:
            seen.setdefault(subject.sector, set()).add(device.metric)
            assert device.spec.normal < device.spec.limit
    assert seen == expected
    assert len(device_ids) == len(set(device_ids)) > 2_000


def test_subject_types_follow_the_registration_code_and_a_few_are_state_owned(
    city: list[Subject],
) -> None:
    types = Counter(s.subject_type for s in city)
    for subject in city:
        if subject.uscc[:2] == "92":
            assert subject.subject_type is SubjectType.INDIVIDUAL_BUSINESS
        if subject.uscc[:2] == "52":
            assert subject.subject_type is SubjectType.SOCIAL_ORGANISATION
    assert 0.01 <= types[SubjectType.STATE_OWNED] / len(city) <= 0.06
    state_owned = [s for s in city if s.subject_type is SubjectType.STATE_OWNED]
    assert all(s.officers[0][1] is PersonRole.PRINCIPAL_OFFICER for s in state_owned)


def test_some_actual_controllers_control_several_subjects(city: list[Subject]) -> None:
    controlled = Counter(
        person for s in city for person, role in s.officers if role is PersonRole.ACTUAL_CONTROLLER
    )
    assert 0.05 <= sum(controlled.values()) / len(city) <= 0.2
    assert any(n > 1 for n in controlled.values())  # seed 十一: one person behind several


def test_people_and_types_leave_every_other_draw_of_the_city_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """They come from a random stream of their own: without them it is the same city."""
    with_people = build_population(seed=3, size=500)
    monkeypatch.setattr(population, "assign_people", lambda subjects, seed: subjects)
    without = build_population(seed=3, size=500)
    assert [dataclasses.replace(s, subject_type=SubjectType.ENTERPRISE, officers=()) for s in
            with_people] == without  # fmt: skip
