"""The worker the agent tests run against: built as ``creditwatch worker`` builds it.

One per session, never started (no broker): agents run under
``agent.test_context()``, tables are filled as recovery fills them, and the
producer is replaced by a recorder (``tests/streams/recorded_producer.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import PSEUDONYM_KEY_VARIABLE, Settings
from streams.wiring import Wiring
from streams.worker import build_worker


def worker_settings(data_dir: Path) -> Settings:
    """What a test worker runs with: the defaults, the session's pseudonym key
    (tests/conftest.py), its own data directory."""
    return Settings(
        app_id="creditwatch-tests",
        data_dir=str(data_dir),
        pseudonym_key=os.environ[PSEUDONYM_KEY_VARIABLE],
    )


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wiring]:
    """The worker's wiring: ``worker.app`` with every component registered, and
    what they were built with (channels, tables, publisher, context)."""
    yield build_worker(worker_settings(tmp_path_factory.mktemp("worker-data")))
