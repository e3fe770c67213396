"""Faust's stall detector in the worker's log, said as what it is.

Every ``broker_commit_interval * 2.5`` seconds (7 s by default) Faust's
consumer checks each assigned partition (``verify_event_path`` in
``faust/transport/drivers/aiokafka.py``). A partition with records waiting
whose stream has taken no event from it for ``stream_processing_timeout``
(default 300 s) since the worker started, or since the last one, is reported
as an ERROR block: "Stream has not started processing TP(...)" or "Stream
stopped processing, or is slow for TP(...)", followed by a list of possible
failures. The same goes for a partition not committed for
``broker_commit_livelock_soft_timeout``. While a backlog drains, partitions
wait their turn for minutes (a rebalance also clears the detector's record of
which partitions were served), so a healthy worker writes about a hundred of
these blocks in twenty minutes, and operators read them as failures.

:class:`StallReports` rewrites those records only: it reads the partition's
committed offset and high-water mark, and says how far behind the partition
is and whether it has moved. A partition with records waiting whose
committed offset has not moved for ``stall_after_s`` (the worker uses Faust's
``stream_processing_timeout``) is a real stall and is logged as a WARNING;
one that moves, or has only just been reported, as INFO. Every other record
passes unchanged. The worker installs it when it starts
(:func:`creditwatch.commands.worker.service_worker`), not at import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import faust
from faust.transport.drivers.aiokafka import (
    SLOW_PROCESSING_NO_COMMIT_SINCE_START,
    SLOW_PROCESSING_NO_RECENT_COMMIT,
    SLOW_PROCESSING_STREAM_IDLE,
    SLOW_PROCESSING_STREAM_IDLE_SINCE_START,
    AIOKafkaConsumerThread,
)
from faust.types import TP

#: Faust's reports that fire for a partition with lag: a backlog, or a stall.
#: Reports about fetching (no fetch request, broker not responding, no
#: high-water) concern the broker connection and stay errors.
LAG_REPORTS = (
    SLOW_PROCESSING_STREAM_IDLE_SINCE_START,
    SLOW_PROCESSING_STREAM_IDLE,
    SLOW_PROCESSING_NO_COMMIT_SINCE_START,
    SLOW_PROCESSING_NO_RECENT_COMMIT,
)

#: ``tp -> (committed offset, high-water)``, either ``None`` when not known.
Offsets = Callable[[TP], tuple[int | None, int | None]]


@dataclass
class _Seen:
    committed: int | None
    since: float  # when the committed offset was first seen at this value
    reported: float  # the last report about this partition


class StallReports(logging.Filter):
    """Turn Faust's stall-detector ERROR blocks into one true line each.

    Parameters
    ----------
    offsets
        The partition's committed offset and high-water mark, read when a report arrives.
    stall_after_s
        A partition with lag whose committed offset has not moved this long is stalled.
    clock
        Monotonic seconds.
    """

    def __init__(
        self,
        offsets: Offsets,
        stall_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.offsets = offsets
        self.stall_after_s = stall_after_s
        self.clock = clock
        # One entry per partition this worker has been assigned: bounded.
        self._seen: dict[TP, _Seen] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        found = _lag_report(record)
        if found is None:
            return True
        report, tp = found
        try:
            level, message = self._describe(tp, report % record.args)
        except Exception:  # a Faust version with other arguments: keep its record as it is
            return True
        record.levelno, record.levelname = level, logging.getLevelName(level)
        record.msg, record.args = message, ()
        return True

    def _describe(self, tp: TP, faust_said: str) -> tuple[int, str]:
        committed, highwater = self.offsets(tp)
        now, stall_s = self.clock(), self.stall_after_s
        seen = self._seen.get(tp)
        if seen is None:
            progress = f"first report (a warning if it has not moved in {stall_s:.0f} s)"
            seen = self._seen[tp] = _Seen(committed, since=now, reported=now)
        elif seen.committed != committed:
            progress = _moved(seen.committed, committed, now - seen.reported)
            seen = self._seen[tp] = _Seen(committed, since=now, reported=now)
        else:
            progress = f"not moved for {now - seen.since:.0f} s (a warning after {stall_s:.0f} s)"
            seen.reported = now
        where = (
            f"{tp.topic}[{tp.partition}] is {_behind(committed, highwater)} "
            f"(committed offset {_known(committed)}, high-water {_known(highwater)})"
        )
        if now - seen.since >= stall_s and _has_lag(committed, highwater):
            return logging.WARNING, (
                f"{where} and has stalled: no progress for {now - seen.since:.0f} s. "
                f"Check the agent reading {tp.topic}: a call that hangs, or an agent "
                f"that crashed (Faust's stall detector: {faust_said})"
            )
        return logging.INFO, (
            f"{where}, {progress}. This is Faust's stall detector during a backlog: "
            f"the partition waits its turn or catches up; not a failure "
            f"(Faust said: {faust_said})"
        )


def _lag_report(record: logging.LogRecord) -> tuple[str, TP] | None:
    """Which of Faust's lag reports ``record`` is, and about which partition."""
    args = record.args
    if not isinstance(record.msg, str) or not isinstance(args, tuple):
        return None
    if not args or not isinstance(args[0], TP):
        return None
    for report in LAG_REPORTS:
        # Faust logs the report, then its list of possible causes, through
        # mode's "[^--Label]: " prefix.
        if report in record.msg:
            return report, args[0]
    return None


def _moved(before: int | None, committed: int | None, interval_s: float) -> str:
    if before is None or committed is None:
        return f"committed offset now {_known(committed)}"
    if committed < before:  # reset by a rebalance or a seek
        return f"committed offset moved back by {before - committed} records"
    return f"advanced {committed - before} records in the last {interval_s:.0f} s"


def _has_lag(committed: int | None, highwater: int | None) -> bool:
    # Faust reports only partitions with records waiting; trust it when we cannot tell.
    return committed is None or highwater is None or highwater > committed


def _behind(committed: int | None, highwater: int | None) -> str:
    if committed is None or highwater is None:
        return "behind by an unknown number of records"
    return f"{max(highwater - committed, 0)} records behind"


def _known(offset: int | None) -> str:
    return "unknown" if offset is None else str(offset)


def app_offsets(app: faust.App) -> Offsets:
    """A partition's committed offset (Faust's monitor) and high-water (its consumer)."""

    def offsets(tp: TP) -> tuple[int | None, int | None]:
        committed = app.monitor.tp_committed_offsets.get(tp)
        try:
            highwater: int | None = app.consumer.highwater(tp)
        except Exception:  # not started, or the partition was just revoked
            highwater = None
        return committed, highwater

    return offsets


def install_filter(reports: StallReports) -> StallReports:
    """Put ``reports`` on Faust's consumer logger, replacing any earlier one."""
    uninstall()
    AIOKafkaConsumerThread.logger.addFilter(reports)
    return reports


def install(app: faust.App) -> StallReports:
    """Rewrite ``app``'s stall-detector reports; a stall is ``stream_processing_timeout``."""
    return install_filter(StallReports(app_offsets(app), app.conf.stream_processing_timeout))


def uninstall() -> None:
    logger = AIOKafkaConsumerThread.logger
    for installed in [f for f in logger.filters if isinstance(f, StallReports)]:
        logger.removeFilter(installed)
