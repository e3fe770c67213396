"""Every deliberately bad record is rejected with exactly the reason it is tagged with."""

from __future__ import annotations

import random

import pytest

from creditwatch.simulation import bad
from creditwatch.simulation.traffic import Simulator
from tests.simulation.helpers import fake_clock
from topics.decode import Rejected, decode_input
from topics.validation import Reason

CASES = [(topic, reason) for topic, reasons in bad.REASONS_BY_TOPIC.items() for reason in reasons]


def test_every_reason_code_can_be_produced() -> None:
    covered = {reason for reasons in bad.REASONS_BY_TOPIC.values() for reason in reasons}
    assert covered == set(Reason)


@pytest.mark.parametrize(("topic", "reason"), CASES, ids=[f"{t}-{r}" for t, r in CASES])
def test_corruption_yields_exactly_its_reason(topic: str, reason: Reason) -> None:
    sim = Simulator(seed=11, subjects=300, clock=fake_clock())
    rng = random.Random(reason.value)
    other = sim.subjects[0].key
    # Many drafts and RNG draws, so that every variant of a corruption is exercised.
    for _ in range(40):
        draft = sim.draft(topic)
        key, value = bad.corrupt(rng, topic, draft.key, draft.payload, reason, other)
        result = decode_input(topic, key, value)
        assert isinstance(result, Rejected), value
        assert result.reason == reason.value, (result, value)


def test_complaints_cannot_be_made_inconsistent() -> None:
    sim = Simulator(seed=11, subjects=300, clock=fake_clock())
    draft = sim.draft("complaints.12315")
    with pytest.raises(ValueError):
        bad.corrupt(
            random.Random(1), draft.topic, draft.key, draft.payload, Reason.INCONSISTENT, b""
        )
