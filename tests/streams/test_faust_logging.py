"""Faust's stall detector in the worker's log: what it reports, at the level it deserves.

The records are made by Faust's own code (``AIOKafkaConsumerThread``'s
slow-processing report, on its own logger), as a worker with a backlog makes
them every few seconds; only the consumer state around them is stubbed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.transport.drivers.aiokafka import (
    SLOW_PROCESSING_NO_RECENT_FETCH,
    SLOW_PROCESSING_STREAM_IDLE,
    SLOW_PROCESSING_STREAM_IDLE_SINCE_START,
    AIOKafkaConsumerThread,
)
from faust.types import TP
from mode.utils.logging import CompositeLogger

from creditwatch.commands.worker import service_worker
from streams.runtime import faust_logging
from streams.runtime.faust_logging import StallReports

FAUST_LOGGER = AIOKafkaConsumerThread.logger
PARTITION = TP("enforcement.events", 2)
TIMEOUT = 300.0  # Faust's default stream_processing_timeout


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Offsets:
    """The consumer state a report is read against: committed offset and high-water."""

    def __init__(self, committed: int | None, highwater: int | None) -> None:
        self.committed = committed
        self.highwater = highwater

    def __call__(self, tp: TP) -> tuple[int | None, int | None]:
        assert tp == PARTITION
        return self.committed, self.highwater


def faust_consumer_thread() -> Any:
    """Enough of an ``AIOKafkaConsumerThread`` for Faust's own report methods to run."""
    thread = SimpleNamespace(
        consumer=SimpleNamespace(
            app=SimpleNamespace(
                conf=SimpleNamespace(
                    stream_processing_timeout=TIMEOUT,
                    broker_commit_livelock_soft_timeout=TIMEOUT,
                )
            )
        ),
        # mode's Service logger and its "[^--Label]: " prefix, on Faust's module logger.
        log=CompositeLogger(
            FAUST_LOGGER, formatter=lambda severity, msg, *a, **k: f"[^--Consumer]: {msg}"
        ),
    )
    for name in ("_log_slow_processing", "_make_slow_processing_error"):
        setattr(thread, name, getattr(AIOKafkaConsumerThread, name).__get__(thread))
    return thread


def faust_reports_idle(report: str = SLOW_PROCESSING_STREAM_IDLE_SINCE_START) -> None:
    """What ``verify_event_path`` does for a partition with lag and no recent stream event."""
    AIOKafkaConsumerThread._log_slow_processing_stream(
        faust_consumer_thread(), report, PARTITION, "6.00 minutes ago"
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def last(self) -> tuple[int, str]:
        record = self.records[-1]
        return record.levelno, record.getMessage()


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    FAUST_LOGGER.addHandler(handler)
    level = FAUST_LOGGER.level
    FAUST_LOGGER.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        FAUST_LOGGER.removeHandler(handler)
        FAUST_LOGGER.setLevel(level)
        faust_logging.uninstall()


def install(offsets: Offsets, clock: Clock) -> StallReports:
    return faust_logging.install_filter(StallReports(offsets, stall_after_s=TIMEOUT, clock=clock))


def test_faust_report_without_filter_is_an_error_block(records: Records) -> None:
    """The defect as operators see it: an ERROR block with a list of possible failures."""
    faust_reports_idle()
    level, message = records.last()
    assert level == logging.ERROR
    assert "Stream has not started processing TP(topic='enforcement.events'" in message
    assert "There are multiple possible explanations" in message


def test_a_partition_catching_up_is_reported_as_info_with_its_lag(records: Records) -> None:
    offsets, clock = Offsets(committed=1_000, highwater=51_000), Clock()
    install(offsets, clock)

    faust_reports_idle()
    level, message = records.last()
    assert level == logging.INFO
    assert "enforcement.events[2]" in message
    assert "50000 records behind (committed offset 1000, high-water 51000)" in message
    assert "Faust's stall detector" in message and "backlog" in message
    assert "not a failure" in message
    assert "There are multiple possible explanations" not in message

    offsets.committed, clock.now = 21_000, clock.now + 400  # progress since the last report
    faust_reports_idle(SLOW_PROCESSING_STREAM_IDLE)
    level, message = records.last()
    assert level == logging.INFO
    assert "30000 records behind" in message
    assert "advanced 20000 records in the last 400 s" in message


def test_a_partition_with_lag_and_no_progress_is_a_stall_warning(records: Records) -> None:
    offsets, clock = Offsets(committed=1_000, highwater=51_000), Clock()
    install(offsets, clock)

    faust_reports_idle()
    assert records.last()[0] == logging.INFO  # not yet long enough to call it a stall
    clock.now += TIMEOUT - 1
    faust_reports_idle()
    assert records.last()[0] == logging.INFO
    clock.now += 2
    faust_reports_idle()
    level, message = records.last()
    assert level == logging.WARNING
    assert "enforcement.events[2]" in message
    assert "stalled" in message and "no progress for 301 s" in message
    assert "50000 records behind (committed offset 1000, high-water 51000)" in message

    offsets.committed, clock.now = 1_500, clock.now + 5  # it moves again: no longer a stall
    faust_reports_idle()
    assert records.last()[0] == logging.INFO


def test_unknown_offsets_are_said_to_be_unknown(records: Records) -> None:
    install(Offsets(committed=None, highwater=None), Clock())
    faust_reports_idle()
    level, message = records.last()
    assert level == logging.INFO
    assert "committed offset unknown, high-water unknown" in message


def test_unrelated_errors_pass_unchanged(records: Records) -> None:
    install(Offsets(committed=1_000, highwater=51_000), Clock())

    # A broker that stops answering fetches is a real failure: Faust's record stays as it is.
    thread = faust_consumer_thread()
    thread.log.error(SLOW_PROCESSING_NO_RECENT_FETCH, PARTITION, "6.00 minutes ago")
    level, message = records.last()
    assert level == logging.ERROR
    assert message == (
        "[^--Consumer]: Aiokafka stopped fetching from "
        "TP(topic='enforcement.events', partition=2) (last done 6.00 minutes ago)"
    )
    FAUST_LOGGER.error("Committing raised exception: %r", RuntimeError("boom"))
    assert records.last() == (logging.ERROR, "Committing raised exception: RuntimeError('boom')")


def test_offsets_are_read_from_a_faust_app() -> None:
    app = faust.App("faust-logging-test", broker="kafka://127.0.0.1:1")
    app.monitor.tp_committed_offsets[PARTITION] = 700
    app.consumer = SimpleNamespace(highwater=lambda tp: 1_000)  # type: ignore[assignment]
    assert faust_logging.app_offsets(app)(PARTITION) == (700, 1_000)

    def not_started(tp: TP) -> int:
        raise RuntimeError("consumer not started")

    app.consumer = SimpleNamespace(highwater=not_started)  # type: ignore[assignment]
    assert faust_logging.app_offsets(app)(PARTITION) == (700, None)


def test_the_worker_installs_the_filter_when_it_starts(
    records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = faust.App("faust-logging-worker", broker="kafka://127.0.0.1:1")
    worker = service_worker(app, "warning")
    faust_reports_idle()
    assert records.last()[0] == logging.ERROR  # creating the worker installs nothing

    async def started(self: Any) -> None:  # logging set-up, signals, ... : not under test
        return None

    monkeypatch.setattr(faust.Worker, "default_on_first_start", started)
    monkeypatch.setattr(faust.Worker, "autodiscover", lambda self: None)
    monkeypatch.setattr(faust.Worker, "change_workdir", lambda self, path: None)
    asyncio.run(worker.on_first_start())
    faust_reports_idle()
    level, message = records.last()
    assert level == logging.INFO and "Faust's stall detector" in message
