"""Peer-group outliers: a subject far above its sector-and-county peers."""

from __future__ import annotations

import random

import pytest

from detectors.peers import FEATURES, PeerGroup, peer_features
from detectors.policy import default_policy
from detectors.scoring import Score
from detectors.state import SubjectState

POLICY = default_policy()
PEERS = POLICY.peers
COOLDOWN = POLICY.alert_cooldown_s


def ordinary(rng: random.Random) -> tuple[float, ...]:
    return (round(rng.gauss(30, 3), 1), float(rng.randint(0, 1)), 0.0, 0.0)


def group_of(size: int, seed: int = 1) -> tuple[PeerGroup, dict[str, tuple[float, ...]]]:
    rng = random.Random(seed)
    group, members = PeerGroup(), {}
    for i in range(size):
        members[f"S{i}"] = ordinary(rng)
        group.update(None, members[f"S{i}"])
    return group, members


def test_a_subject_far_above_its_peers_is_flagged_with_the_features_that_make_it_unusual() -> None:
    group, _ = group_of(20)
    outlier = (31.0, 15.0, 0.0, 0.0)
    group.update(None, outlier)
    finding = group.assess("X", outlier, 0.0, PEERS, COOLDOWN)
    assert finding is not None
    assert finding.peers == 20
    top = finding.deviations[0]
    assert top.feature == "complaints_30d" and top.value == 15.0
    assert top.peer_mean < 1.0 and top.spreads >= PEERS.alert_spreads
    assert "score" not in {d.feature for d in finding.deviations}


def test_ordinary_members_are_not_flagged() -> None:
    group, members = group_of(40)
    assert all(group.assess(s, f, 0.0, PEERS, COOLDOWN) is None for s, f in members.items())


def test_too_few_peers_to_judge() -> None:
    group, _ = group_of(PEERS.min_peers - 1)
    outlier = (90.0, 30.0, 5.0, 10.0)
    group.update(None, outlier)
    assert group.assess("X", outlier, 0.0, PEERS, COOLDOWN) is None


def test_the_spread_floor_keeps_one_complaint_among_zeros_unremarkable() -> None:
    group = PeerGroup()
    for _ in range(30):
        group.update(None, (30.0, 0.0, 0.0, 0.0))
    one = (31.5, 1.0, 0.0, 0.0)
    group.update(None, one)
    assert group.assess("X", one, 0.0, PEERS, COOLDOWN) is None


def test_an_updated_subject_replaces_its_old_features() -> None:
    group, members = group_of(12)
    before = (list(group.sums), list(group.squares), group.subjects)
    old = members["S3"]
    group.update(old, (60.0, 9.0, 2.0, 1.0))
    group.update((60.0, 9.0, 2.0, 1.0), old)
    assert group.subjects == before[2]
    assert group.sums == pytest.approx(before[0]) and group.squares == pytest.approx(before[1])
    group.update(old, None)  # leaves the group
    assert group.subjects == before[2] - 1


def test_an_outlier_is_alerted_once_per_cooldown() -> None:
    group, _ = group_of(20)
    outlier = (31.0, 15.0, 0.0, 0.0)
    group.update(None, outlier)
    assert group.assess("X", outlier, 0.0, PEERS, COOLDOWN) is not None
    assert group.assess("X", outlier, COOLDOWN / 2, PEERS, COOLDOWN) is None
    assert group.assess("X", outlier, COOLDOWN + 1, PEERS, COOLDOWN) is not None


def test_restored_state_decides_exactly_like_the_original() -> None:
    group, _ = group_of(25, seed=4)
    outlier = (70.0, 2.0, 4.0, 0.0)
    group.update(None, outlier)
    restored = PeerGroup.from_bytes(group.to_bytes())
    assert restored == group
    assert restored.assess("X", outlier, 0.0, PEERS, COOLDOWN) == group.assess(
        "X", outlier, 0.0, PEERS, COOLDOWN
    )


def test_features_of_a_state_follow_the_feature_names() -> None:
    state = SubjectState(signals={"penalty_general": 1.5, "penalty_minor": 0.25})
    features = peer_features(state, Score(42.26, (), None))
    assert len(features) == len(FEATURES)
    assert dict(zip(FEATURES, features, strict=True)) == {
        "score": 42.3,
        "complaints_30d": 0.0,
        "penalties": 1.75,
        "iot_exceedances_24h": 0.0,
    }
