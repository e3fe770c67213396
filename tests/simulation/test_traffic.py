"""The traffic generator: reproducible, valid, believable, adversarial where tagged."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from creditwatch.simulation.population import RiskProfile, Subject, build_population
from creditwatch.simulation.traffic import OutboundRecord, Simulator
from tests.simulation.helpers import SAMPLE_SIZE, fake_clock
from topics.complaints import Complaint
from topics.decode import InputRecord, Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.iot import IotReading
from topics.roles import RoleAssignment
from topics.vocabulary import EnforcementKind, PersonRole, Severity, SubjectType

Decoded = list[tuple[OutboundRecord, InputRecord | Rejected]]


def _valid(decoded: Decoded) -> list[InputRecord]:
    return [d for r, d in decoded if not r.duplicate and not isinstance(d, Rejected)]


def test_same_seed_gives_identical_bytes_and_another_seed_differs() -> None:
    def run(seed: int) -> list[tuple[str, bytes, bytes]]:
        sim = Simulator(seed=seed, subjects=2_000, clock=fake_clock(), bad_ratio=0.05)
        return [(r.topic, r.key, r.value) for r in sim.take(3_000)]

    assert run(7) == run(7)
    other = run(8)
    assert sum(a != b for a, b in zip(run(7), other, strict=True)) > 2_900


def test_every_valid_record_decodes_and_every_bad_one_gets_its_reason(decoded: Decoded) -> None:
    for record, result in decoded:
        if record.expected_valid:
            assert not isinstance(result, Rejected), (result, record.value)
        else:
            assert isinstance(result, Rejected), record.value
            assert result.reason == record.reason, (result, record.value)


def test_timestamps_carry_the_shanghai_offset(sample: list[OutboundRecord]) -> None:
    fresh = [r for r in sample if r.expected_valid]
    assert all(b'+08:00"' in r.value for r in fresh)


def test_topic_mix_is_mostly_iot_then_complaints_then_enforcement(
    sample: list[OutboundRecord],
) -> None:
    shares = {t: n / SAMPLE_SIZE for t, n in Counter(r.topic for r in sample).items()}
    assert 0.77 <= shares["iot.readings"] <= 0.83
    assert 0.11 <= shares["complaints.12315"] <= 0.15
    assert 0.055 <= shares["enforcement.events"] <= 0.085


def test_bad_records_and_resends_appear_at_their_default_ratios(
    sample: list[OutboundRecord],
) -> None:
    bad = sum(not r.expected_valid for r in sample) / SAMPLE_SIZE
    duplicates = sum(r.duplicate for r in sample) / SAMPLE_SIZE
    assert 0.0025 <= bad <= 0.008
    assert 0.001 <= duplicates <= 0.0035


def test_event_ids_are_unique_except_tagged_resends(decoded: Decoded) -> None:
    first_seen: dict[str, bytes] = {}
    for record, result in decoded:
        if isinstance(result, Rejected):
            continue
        if record.duplicate:
            assert first_seen[result.event_id] == record.value  # same event, same bytes
        else:
            assert result.event_id not in first_seen
            first_seen[result.event_id] = record.value


def test_enforcement_kinds_are_weighted_like_real_supervision(decoded: Decoded) -> None:
    events = [d for d in _valid(decoded) if isinstance(d, EnforcementEvent)]
    kinds = Counter(e.kind for e in events)
    severities = Counter(e.severity for e in events if e.kind is EnforcementKind.PENALTY)
    assert kinds.most_common(1)[0][0] is EnforcementKind.SPOT_CHECK
    assert severities[Severity.MINOR] > severities[Severity.GENERAL] > severities[Severity.SERIOUS]
    rare = kinds[EnforcementKind.LICENCE_REVOKED] + kinds[EnforcementKind.COURT_DISHONEST_DEBTOR]
    assert 0 < rare < 0.03 * len(events)
    for kind in (
        EnforcementKind.HONOUR,
        EnforcementKind.VOLUNTARY_REGISTRATION,
        EnforcementKind.COMMITMENT_MADE,
        EnforcementKind.COMMITMENT_FULFILLED,
        EnforcementKind.RECTIFICATION_ORDERED,
        EnforcementKind.RECTIFICATION_COMPLETED,
    ):
        assert kinds[kind] > 0, kind


def test_rectification_deadlines_fall_15_to_30_days_later(decoded: Decoded) -> None:
    ordered = [
        d
        for d in _valid(decoded)
        if isinstance(d, EnforcementEvent) and d.kind is EnforcementKind.RECTIFICATION_ORDERED
    ]
    assert ordered
    for event in ordered:
        assert event.deadline is not None
        assert timedelta(days=15) <= event.deadline - event.occurred_at <= timedelta(days=30)


def test_enforcement_names_the_subjects_legal_representative(
    decoded: Decoded, city: list[Subject]
) -> None:
    rep_of = {s.uscc: s.legal_rep_id for s in city}
    subjects_per_rep = Counter(rep_of.values())
    events = [d for d in _valid(decoded) if isinstance(d, EnforcementEvent)]
    assert all(e.legal_rep_id == rep_of[e.subject] for e in events)
    assert any(subjects_per_rep[e.legal_rep_id or ""] > 1 for e in events)


def _adverse(record: InputRecord) -> bool:
    if isinstance(record, Complaint):
        return True
    if isinstance(record, IotReading):
        return record.limit is not None and record.value > record.limit
    return record.kind in {
        EnforcementKind.PENALTY,
        EnforcementKind.COURT_DISHONEST_DEBTOR,
        EnforcementKind.LICENCE_REVOKED,
        EnforcementKind.LICENCE_SUSPENDED,
    }


def test_high_risk_subjects_attract_far_more_adverse_events(
    decoded: Decoded, city: list[Subject]
) -> None:
    profile = {s.uscc: s.profile for s in city}
    population = Counter(profile.values())
    adverse = Counter(profile[d.subject] for d in _valid(decoded) if _adverse(d))
    per_subject = {p: adverse[p] / population[p] for p in RiskProfile}
    assert per_subject[RiskProfile.HIGH] > 5 * per_subject[RiskProfile.CLEAN]
    assert per_subject[RiskProfile.VERY_BAD] > per_subject[RiskProfile.HIGH]


def test_serious_sanctions_concentrate_on_risky_subjects(
    decoded: Decoded, city: list[Subject]
) -> None:
    profile = {s.uscc: s.profile for s in city}
    serious = [
        d
        for d in _valid(decoded)
        if isinstance(d, EnforcementEvent)
        and (
            d.severity is Severity.SERIOUS
            or d.kind in {EnforcementKind.COURT_DISHONEST_DEBTOR, EnforcementKind.LICENCE_REVOKED}
        )
    ]
    risky = sum(profile[e.subject] is not RiskProfile.CLEAN for e in serious)
    assert serious and risky / len(serious) > 0.9


def test_risky_subjects_get_complaint_surges_in_one_category(
    decoded: Decoded, city: list[Subject]
) -> None:
    profile = {s.uscc: s.profile for s in city}
    per_subject_category = Counter(
        (d.subject, d.category) for d in _valid(decoded) if isinstance(d, Complaint)
    )
    surges = [key for key, n in per_subject_category.items() if n >= 10]
    assert surges
    assert all(profile[subject] is not RiskProfile.CLEAN for subject, _ in surges)


def test_iot_readings_exceed_limits_mostly_at_risky_subjects(
    decoded: Decoded, city: list[Subject]
) -> None:
    profile = {s.uscc: s.profile for s in city}
    readings = [d for d in _valid(decoded) if isinstance(d, IotReading)]
    over = [r for r in readings if r.limit is not None and r.value > r.limit]
    assert 0 < len(over) < 0.05 * len(readings)
    assert sum(profile[r.subject] is not RiskProfile.CLEAN for r in over) / len(over) > 0.6


def test_ratios_of_zero_give_only_fresh_valid_records() -> None:
    sim = Simulator(seed=2, subjects=500, clock=fake_clock(), bad_ratio=0, duplicate_ratio=0)
    records = sim.take(2_000)
    assert all(r.expected_valid and not r.duplicate for r in records)


def test_a_city_without_sensors_still_produces_complaints_and_events() -> None:
    no_devices = [s for s in build_population(seed=3, size=400) if not s.devices][:50]
    records = Simulator(seed=3, subjects=no_devices, clock=fake_clock()).take(200)
    assert {r.topic for r in records} == {"complaints.12315", "enforcement.events"}


def test_a_naive_clock_is_refused() -> None:
    sim = Simulator(seed=1, subjects=50, clock=lambda: datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        sim.take(1)


def test_the_register_names_every_subject_s_people_once_and_decodes(city: list[Subject]) -> None:
    simulator = Simulator(seed=1, subjects=city, clock=fake_clock())
    registered = simulator.registrations()
    assert registered == Simulator(seed=1, subjects=city, clock=fake_clock()).registrations()
    decoded = [decode_input(r.topic, r.key, r.value) for r in registered]
    roles = [d for d in decoded if isinstance(d, RoleAssignment)]
    assert len(roles) == len(decoded) == len(city) + sum(len(s.officers) for s in city)
    assert {r.subject for r in roles if r.role is PersonRole.LEGAL_REPRESENTATIVE} == {
        s.uscc for s in city
    }
    assert {r.subject_type for r in roles} >= {SubjectType.STATE_OWNED, SubjectType.ENTERPRISE}
    assert len({r.event_id for r in roles}) == len(roles)


def test_registering_leaves_the_traffic_as_it_was(city: list[Subject]) -> None:
    plain = Simulator(seed=1, subjects=city, clock=fake_clock()).take(200)
    registering = Simulator(seed=1, subjects=city, clock=fake_clock())
    registering.registrations()
    # The clock moved once for the registrations; every draw after it is the same.
    assert [(r.topic, r.key) for r in registering.take(200)] == [(r.topic, r.key) for r in plain]


def test_enforcement_records_say_the_type_of_a_subject_that_is_not_an_enterprise(
    decoded: Decoded,
) -> None:
    by_uscc = {s.uscc: s for s in build_population(seed=1)}
    events = [d for _, d in decoded if isinstance(d, EnforcementEvent)]
    typed = [e for e in events if e.subject_type is not None]
    assert typed and all(by_uscc[e.subject].subject_type == e.subject_type for e in typed)
    assert all(
        by_uscc[e.subject].subject_type is SubjectType.ENTERPRISE
        for e in events
        if e.subject_type is None
    )
