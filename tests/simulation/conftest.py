"""Shared, deterministic traffic samples for the simulator tests (no broker needed)."""

from __future__ import annotations

import pytest

from creditwatch.simulation.population import Subject, build_population
from creditwatch.simulation.traffic import OutboundRecord, Simulator
from tests.simulation.helpers import SAMPLE_SIZE, fake_clock
from topics.decode import InputRecord, Rejected, decode_input


@pytest.fixture(scope="session")
def city() -> list[Subject]:
    return build_population(seed=1)


@pytest.fixture(scope="session")
def sample(city: list[Subject]) -> list[OutboundRecord]:
    return Simulator(seed=1, subjects=city, clock=fake_clock()).take(SAMPLE_SIZE)


@pytest.fixture(scope="session")
def decoded(sample: list[OutboundRecord]) -> list[tuple[OutboundRecord, InputRecord | Rejected]]:
    return [(r, decode_input(r.topic, r.key, r.value)) for r in sample]
