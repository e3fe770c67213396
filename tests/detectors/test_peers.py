"""Peer-group outliers: a subject far above its sector-and-county peers, on River statistics."""

from __future__ import annotations

import dataclasses
import random

import orjson
import pytest

from detectors.peers import FEATURES, PeerGroup, peer_features
from detectors.policy import PeerPolicy, default_policy
from detectors.scoring import Score
from detectors.state import SubjectState

POLICY = default_policy()
PEERS = POLICY.peers
COOLDOWN = POLICY.alert_cooldown_s
Features = tuple[float, ...]


def ordinary(rng: random.Random) -> Features:
    return (round(rng.gauss(30, 3), 1), float(rng.randint(0, 1)), 0.0, 0.0)


def group_of(size: int, seed: int = 1) -> tuple[PeerGroup, dict[str, Features]]:
    rng = random.Random(seed)
    group, members = PeerGroup(), {}
    for i in range(size):
        members[f"S{i}"] = ordinary(rng)
        assert group.update(f"S{i}", None, members[f"S{i}"], 0.0, PEERS, COOLDOWN) is None
    return group, members


def join(group: PeerGroup, subject: str, features: Features, at_s: float = 0.0,
         policy: PeerPolicy = PEERS):  # fmt: skip
    return group.update(subject, None, features, at_s, policy, COOLDOWN)


def complaints(n: float) -> Features:
    return (31.0, n, 0.0, 0.0)


def test_a_subject_far_above_its_peers_is_flagged_with_the_features_that_make_it_unusual() -> None:
    group, _ = group_of(20)
    finding = join(group, "X", complaints(15.0))
    assert finding is not None
    assert finding.peers == 20
    top = finding.deviations[0]
    assert top.feature == "complaints_30d" and top.value == 15.0
    assert top.peer_mean < 1.0 and top.spreads >= PEERS.alert_spreads
    assert top.surprise is not None and top.surprise >= PEERS.alert_surprise
    assert "score" not in {d.feature for d in finding.deviations}


def test_ordinary_members_are_not_flagged_however_they_change() -> None:
    rng = random.Random(2)
    group, members = group_of(40, seed=2)
    for _ in range(400):
        subject = rng.choice(list(members))
        new = ordinary(rng)
        assert group.update(subject, members[subject], new, 0.0, PEERS, COOLDOWN) is None
        members[subject] = new
    assert group.held == {} and group.counted == 40


def test_a_new_group_raises_no_storm() -> None:
    """Members joining one by one, some unusual among the first few: nothing is judged
    before the group has its minimum of peers, whatever the first members look like."""
    rng = random.Random(5)
    group = PeerGroup()
    findings = [
        join(group, f"S{i}", (rng.uniform(20, 90), float(rng.randint(0, 30)), 0.0, 0.0))
        for i in range(PEERS.min_peers + 1)
    ]
    assert findings == [None] * (PEERS.min_peers + 1)


def test_one_member_and_a_group_of_identical_members() -> None:
    one = PeerGroup()
    assert join(one, "A", complaints(45.0)) is None  # no peers at all
    same = PeerGroup()
    for i in range(30):
        join(same, f"S{i}", (30.0, 0.0, 0.0, 0.0))
    # Zero variance: the spread floor decides; one complaint among zeros is unremarkable.
    assert join(same, "X", (31.5, 1.0, 0.0, 0.0)) is None
    assert join(same, "Y", (30.0, 12.0, 0.0, 0.0)) is not None


def test_a_flagged_subject_is_not_learned_and_rejoins_once_ordinary() -> None:
    group, _ = group_of(20)
    before = [(v.mean.get(), v.get(), v.n) for v in group.features]
    assert join(group, "X", complaints(15.0)) is not None
    assert [(v.mean.get(), v.get(), v.n) for v in group.features] == before
    assert group.held == {"X": complaints(15.0)} and group.members == 21
    # Still far above: still held, the statistics untouched.
    assert group.update("X", complaints(15.0), complaints(16.0), 1.0, PEERS, COOLDOWN) is None
    assert [(v.mean.get(), v.get(), v.n) for v in group.features] == before
    # Back among the others: learned again.
    assert group.update("X", complaints(16.0), complaints(1.0), 2.0, PEERS, COOLDOWN) is None
    assert group.held == {} and group.counted == 21


def test_one_outlier_does_not_hide_the_next() -> None:
    """Learning the first outlier would widen the spread the second one is measured by."""
    group, _ = group_of(12)
    assert join(group, "X", complaints(14.0)) is not None
    assert join(group, "Y", complaints(14.0)) is not None

    learning = dataclasses.replace(PEERS, max_held_share=0.0)  # one may still be held...
    naive, _ = group_of(12)
    join(naive, "Z", complaints(14.0), policy=learning)
    join(naive, "X", complaints(14.0), policy=learning)  # ...but not a second: it is learned
    assert join(naive, "Y", complaints(14.0), policy=learning) is None  # and hides the third


def test_held_subjects_are_bounded_by_the_policy_share() -> None:
    group, _ = group_of(20)
    flagged = [join(group, f"X{i}", complaints(20.0 + i)) for i in range(10)]
    assert all(f is not None for f in flagged[:2])
    assert len(group.held) <= max(1, int(PEERS.max_held_share * group.members))


def test_a_count_only_seldom_far_in_a_skewed_group_is_not_an_outlier() -> None:
    """Spreads alone would flag it; under the peers' negative binomial law it is not rare
    enough for a policy that asks one in a thousand."""
    policy = dataclasses.replace(PEERS, alert_surprise=3.0)
    group = PeerGroup()
    for i in range(4):  # busy members, in the statistics from the start
        join(group, f"B{i}", complaints(22.0), policy=policy)
    for i in range(17):
        join(group, f"Q{i}", complaints(0.0), policy=policy)
    deviations = group.assess(complaints(45.0), policy)
    assert deviations is not None
    top = deviations[0]
    assert top.spreads >= policy.alert_spreads and top.surprise is not None
    assert top.surprise < policy.alert_surprise
    assert top.flags(dataclasses.replace(policy, alert_surprise=0.0))
    assert join(group, "X", complaints(45.0), policy=policy) is None


def test_a_group_that_shrinks_below_its_minimum_judges_nobody() -> None:
    group, members = group_of(PEERS.min_peers + 2)
    for subject in list(members)[:3]:
        assert group.update(subject, members[subject], None, 0.0, PEERS, COOLDOWN) is None
    assert group.counted == PEERS.min_peers - 1
    assert join(group, "X", complaints(30.0)) is None
    # Every member leaving empties the statistics exactly, rounding dust included.
    for subject in list(members)[3:] + ["X"]:
        features = members.get(subject, complaints(30.0))
        group.update(subject, features, None, 0.0, PEERS, COOLDOWN)
    assert group.counted == 0 and all(v.get() == 0.0 for v in group.features)


def test_an_outlier_is_alerted_once_per_cooldown() -> None:
    group, _ = group_of(20)
    assert join(group, "X", complaints(15.0), 0.0) is not None
    update = group.update
    assert update("X", complaints(15.0), complaints(16.0), COOLDOWN / 2, PEERS, COOLDOWN) is None
    assert update("X", complaints(16.0), complaints(17.0), COOLDOWN + 1, PEERS, COOLDOWN)


def test_a_restored_group_decides_exactly_like_the_original() -> None:
    rng = random.Random(4)
    group, members = group_of(25, seed=4)
    join(group, "X", complaints(18.0))
    restored = PeerGroup.from_bytes(group.to_bytes())
    assert restored.to_bytes() == group.to_bytes()
    for step in range(300):
        subject = rng.choice([*members, "X"])
        old = members.get(subject, complaints(18.0))
        new = complaints(float(rng.choice([0, 1, 2, 25]))) if step % 7 == 0 else ordinary(rng)
        members[subject] = new
        assert restored.update(subject, old, new, step, PEERS, COOLDOWN) == group.update(
            subject, old, new, step, PEERS, COOLDOWN
        )
        if step % 50 == 0:
            restored = PeerGroup.from_bytes(restored.to_bytes())
    assert restored.to_bytes() == group.to_bytes()


def test_a_group_saved_by_the_sums_format_is_converted_on_load() -> None:
    values = [(30.0, float(n % 3), 0.0, 0.0) for n in range(12)]
    old = {
        "format": 1,
        "subjects": len(values),
        "sums": [sum(v[i] for v in values) for i in range(len(FEATURES))],
        "squares": [sum(v[i] ** 2 for v in values) for i in range(len(FEATURES))],
        "alerted": {"S9": 12.0},
    }
    converted = PeerGroup.from_bytes(orjson.dumps(old))
    fresh = PeerGroup()
    for n, v in enumerate(values):
        join(fresh, f"S{n}", v)
    assert converted.alerted == {"S9": 12.0} and converted.counted == 12
    for got, want in zip(converted.features, fresh.features, strict=True):
        assert got.mean.get() == pytest.approx(want.mean.get())
        assert got.get() == pytest.approx(want.get())


@pytest.mark.parametrize(
    "document",
    [
        {"format": 9},
        [],
        {"format": 2, "features": [], "held": {}, "alerted": {}},
        {
            "format": 2,
            "features": [{"type": "os.system", "params": {}, "state": {}}] * 4,
            "held": {},
            "alerted": {},
        },
    ],  # fmt: skip
)
def test_anything_else_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        PeerGroup.from_bytes(orjson.dumps(document))


def test_a_group_state_is_small() -> None:
    group, _ = group_of(500)
    join(group, "X", complaints(30.0))
    assert len(group.to_bytes()) < 1_000  # bytes, whatever the group's size


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
