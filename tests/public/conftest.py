"""A fresh, migrated record store per test module, on the session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditwatch.embedded import EmbeddedPostgres
from tests.conftest import fresh_store


@pytest.fixture(scope="module")
def module_store(embedded_postgres: EmbeddedPostgres) -> Iterator[str]:
    with fresh_store(embedded_postgres) as url:
        yield url
