"""Issue 15: the store survives a sink crash (kill -9) and is rebuilt from the topics.

Simulated city traffic (bad records and duplicate re-sends included) goes
through a real worker first; then sinks in their own consumer groups store
the same topics into separate databases, one undisturbed, one killed twice
mid-stream, and a dropped database is rebuilt from offset 0. All must hold
the same rows: counts and order-independent digests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from creditwatch import cli
from creditwatch.embedded import EmbeddedPostgres
from creditwatch.processes import SinkProcess
from streams.archive.store import TableDigest, digests
from tests.conftest import fresh_store
from tests.integration.archive_support import settle
from tests.integration.conftest import Pipeline, running_pipeline

pytestmark = pytest.mark.integration

RECORDS = 3000


@pytest.fixture(scope="module")
def loaded() -> Iterator[Pipeline]:
    """A pipeline that has processed a simulated city's traffic: the topics are final."""
    with running_pipeline() as pipeline:
        bootstrap = pipeline.stack.bootstrap
        args = ["simulate", "--bootstrap", bootstrap, "--rate", "0", "--count", str(RECORDS)]
        assert cli.main([*args, "--subjects", "300", "--seed", "15", "--no-progress"]) == 0
        settle(bootstrap, [], timeout=240)
        yield pipeline


def sink(pipeline: Pipeline, url: str, group: str, batch: int | None = None) -> SinkProcess:
    stack = pipeline.stack
    assert stack.workdir is not None
    return SinkProcess(stack.workdir, stack.kafka_url, url, name=group, group=group, batch=batch)


def stored(url: str) -> list[TableDigest]:
    with psycopg.connect(url) as conn:
        return digests(conn)


def total_rows(url: str) -> int:
    return sum(d.rows for d in stored(url))


@pytest.fixture(scope="module")
def steady(
    loaded: Pipeline, embedded_postgres: EmbeddedPostgres
) -> Iterator[tuple[str, list[TableDigest]]]:
    """A store written by a sink that was never disturbed, and its digests."""
    with fresh_store(embedded_postgres) as url:
        with sink(loaded, url, "archive-steady") as steady_sink:
            steady_sink.wait_ready(timeout=90)
            settle(loaded.stack.bootstrap, ["archive-steady"], timeout=240)
        yield url, stored(url)


def test_the_store_holds_the_traffic(steady: tuple[str, list[TableDigest]]) -> None:
    rows = {d.table: d.rows for d in steady[1]}
    # Every table the city's traffic feeds has rows; inputs are at most what was sent
    # (bad records are the worker's dead letters, duplicates are stored once).
    assert 0.9 * RECORDS < rows["enforcement_events"] + rows["complaints"] + rows["iot_readings"]
    assert rows["enforcement_events"] + rows["complaints"] + rows["iot_readings"] < RECORDS
    for table in ("tier_changes", "tier_state", "alert_snapshots", "publications"):
        assert rows[table] > 0, table


def test_kill_9_of_the_sink_mid_stream_loses_and_doubles_nothing(
    loaded: Pipeline,
    embedded_postgres: EmbeddedPostgres,
    steady: tuple[str, list[TableDigest]],
) -> None:
    expected = steady[1]
    everything = sum(d.rows for d in expected)
    with fresh_store(embedded_postgres) as url:
        crashing = sink(loaded, url, "archive-crashing", batch=50)
        for share in (0.2, 0.5):
            crashing.start()
            crashing.wait_ready(timeout=90)
            deadline = time.monotonic() + 120
            while total_rows(url) < share * everything:
                assert time.monotonic() < deadline, crashing.log_tail()
                time.sleep(0.05)
            crashing.kill()  # SIGKILL: whatever batch it was in, uncommitted
            assert total_rows(url) < everything, "killed after it had finished: not mid-stream"
        with crashing:
            crashing.wait_ready(timeout=90)
            settle(loaded.stack.bootstrap, ["archive-crashing"], timeout=240)
        assert stored(url) == expected


def test_a_dropped_store_is_rebuilt_from_the_topics_with_identical_digests(
    loaded: Pipeline,
    embedded_postgres: EmbeddedPostgres,
    steady: tuple[str, list[TableDigest]],
) -> None:
    url, expected = steady
    name = url.split("?")[0].rsplit("/", 1)[1]
    embedded_postgres.drop_database(name)
    embedded_postgres.create_database(name)
    assert all(d.rows == 0 for d in stored_or_empty(url))

    rebuild = ["archive", "rebuild", "--yes", "--database", url]
    assert cli.main([*rebuild, "--bootstrap", loaded.stack.bootstrap]) == 0
    assert stored(url) == expected


def stored_or_empty(url: str) -> list[TableDigest]:
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('enforcement_events')").fetchone()
    return stored(url) if exists and exists[0] else []
