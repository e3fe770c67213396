"""Cross-sector warnings: adverse records from several departments, or sectors of one person."""

from __future__ import annotations

import hashlib
import random

import pytest

from detectors.cross_sector import (
    MAX_MEMBERS,
    AdverseSignal,
    LinkedSignals,
    Member,
    linkage_group,
    person_pseudonym,
)
from detectors.policy import default_policy

POLICY = default_policy().cross_sector
DAY = 86_400.0


def signal(
    event_id: str,
    day: float,
    department: str = "market_regulation",
    subject: str = "S1",
    sector: str = "food_drug",
    kind: str = "penalty_general",
) -> AdverseSignal:
    return AdverseSignal(event_id, day * DAY, subject, kind, department, sector, "130102")


def test_two_departments_within_the_window_raise_a_finding_naming_both() -> None:
    linked = LinkedSignals()
    assert linked.add(signal("e1", 0), POLICY) is None
    finding = linked.add(signal("e2", 5, department="taxation", kind="tax_violation"), POLICY)
    assert finding is not None
    assert finding.departments == ("market_regulation", "taxation")
    assert [s.event_id for s in finding.signals] == ["e1", "e2"]
    assert finding.subjects == ("S1",)


def test_many_records_from_one_department_are_not_cross_sector() -> None:
    linked = LinkedSignals()
    assert all(linked.add(signal(f"e{i}", i), POLICY) is None for i in range(10))


def test_records_further_apart_than_the_window_do_not_combine() -> None:
    linked = LinkedSignals()
    window_days = POLICY.window_s / DAY
    linked.add(signal("e1", 0), POLICY)
    assert linked.add(signal("e2", window_days + 1, department="taxation"), POLICY) is None


def test_a_representatives_subjects_in_two_sectors_combine() -> None:
    linked = LinkedSignals()
    linked.add(signal("e1", 0, subject="S1", sector="food_drug"), POLICY)
    finding = linked.add(signal("e2", 3, subject="S2", sector="catering"), POLICY)
    assert finding is not None
    assert finding.subjects == ("S1", "S2")
    assert finding.sectors == ("food_drug", "catering")


def test_it_alerts_again_only_when_the_pattern_widens() -> None:
    linked = LinkedSignals()
    linked.add(signal("e1", 0), POLICY)
    assert linked.add(signal("e2", 1, department="taxation"), POLICY) is not None
    assert linked.add(signal("e3", 2, department="taxation"), POLICY) is None
    widened = linked.add(signal("e4", 3, department="court"), POLICY)
    assert widened is not None and len(widened.departments) == 3


def test_a_redelivered_record_changes_nothing() -> None:
    linked = LinkedSignals()
    linked.add(signal("e1", 0), POLICY)
    linked.add(signal("e1", 0), POLICY)
    assert len(linked.signals) == 1


def test_memory_is_bounded_by_the_policy() -> None:
    linked = LinkedSignals()
    for i in range(POLICY.max_signals * 3):
        linked.add(signal(f"e{i}", i / 100), POLICY)
    assert len(linked.signals) == POLICY.max_signals


def test_restored_state_decides_exactly_like_the_original() -> None:
    rng = random.Random(7)
    departments = ["market_regulation", "taxation", "court", "ecology_environment"]
    stream = [
        signal(f"e{i}", i * rng.uniform(1, 20), department=rng.choice(departments))
        for i in range(40)
    ]
    original, decisions = LinkedSignals(), []
    for i, s in enumerate(stream):
        if i == 20:
            restored = LinkedSignals.from_bytes(original.to_bytes())
            assert restored == original
            original = restored
        decisions.append(original.add(s, POLICY))
    uninterrupted = LinkedSignals()
    assert decisions == [uninterrupted.add(s, POLICY) for s in stream]


KEY = b"k3y-of-this-deployment-0123456789abcdef"
OTHER_KEY = b"k3y-of-another-deployment-0123456789ab"


def test_representatives_are_pseudonymised_in_group_names() -> None:
    group = linkage_group("91130102MA0EXAMPL1", "LR123456789", KEY)
    assert group.startswith("rep:") and "LR123456789" not in group
    assert group == linkage_group("another subject", "LR123456789", KEY)
    assert linkage_group("91130102MA0EXAMPL1", None, KEY) == "subject:91130102MA0EXAMPL1"


def test_a_person_s_pseudonym_depends_on_the_key() -> None:
    pseudonym = person_pseudonym("LR123456789", KEY)
    assert pseudonym == person_pseudonym("LR123456789", KEY)  # every worker agrees
    assert pseudonym != person_pseudonym("LR123456789", OTHER_KEY)
    assert pseudonym != person_pseudonym("LR123456788", KEY)
    with pytest.raises(ValueError, match="secret key"):
        person_pseudonym("LR123456789", b"")


def test_without_the_key_hashing_candidate_ids_does_not_find_the_person() -> None:
    """The pseudonym is no plain hash of the id: hashing every candidate the usual
    ways, the true id included, reproduces nothing (the attack of issue 20, item 3)."""
    rep = "LR123456789"
    pseudonym = person_pseudonym(rep, KEY)
    candidates = [f"LR123{n:03d}789" for n in range(1000)] + [f"LR{n:06d}789" for n in range(1000)]
    assert rep in candidates
    for candidate in candidates:
        data = candidate.encode()
        unkeyed = {
            hashlib.blake2b(data, digest_size=8).hexdigest(),
            hashlib.blake2b(data, digest_size=16).hexdigest(),
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
            person_pseudonym(candidate, OTHER_KEY),
        }
        assert not any(h.startswith(pseudonym) or pseudonym.startswith(h) for h in unkeyed)


def test_a_group_remembers_its_subjects_boundedly_and_across_restarts() -> None:
    linked = LinkedSignals()
    for n in range(MAX_MEMBERS + 5):
        linked.join(Member(f"S{n}", "130102", "food_drug", "B", 30.0))
    linked.join(Member("S3", "130104", "finance", "C", 55.0))  # refreshed: kept, now newest
    assert len(linked.members) == MAX_MEMBERS
    assert "S0" not in linked.members and linked.members["S3"].tier == "C"
    assert [m.subject for m in linked.others("S3")][-1] == f"S{MAX_MEMBERS + 4}"
    assert LinkedSignals.from_bytes(linked.to_bytes()) == linked


def test_a_state_written_before_groups_had_members_still_loads() -> None:
    old = b'{"format": 1, "alerted_sources": 0, "signals": []}'
    assert LinkedSignals.from_bytes(old).members == {}
