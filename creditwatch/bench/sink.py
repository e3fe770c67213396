"""The archive sink beside the pipeline phase: does the record store keep up?

The sink (``creditwatch archive sink``, its own process and consumer group)
starts with the pipeline's worker and stores everything the phase reads and
writes: the inputs and every derived fact. Its counters are read from its
metrics endpoint when the worker is ready and when the pipeline has committed
its last input; its lag (messages on the archived topics it has not committed
past, against their true ends) is taken at that moment, then it is given time
to catch up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from creditwatch.admin_io import group_lag
from creditwatch.bench.histogram import scrape
from creditwatch.processes import SinkProcess
from streams.archive import DEFAULT_GROUP
from streams.archive.rows import ARCHIVED_TOPICS

RECORDS = "creditwatch_archive_records"
ROWS = "creditwatch_archive_rows_written"


@dataclass(frozen=True, slots=True)
class SinkCounts:
    """The sink's totals at a moment (monotonic seconds)."""

    at: float
    records: float  # messages read and stored (or dead-lettered)
    rows: float  # rows inserted or replaced


def counters(text: str) -> tuple[float, float]:
    """(messages, rows written) summed over every label set of the sink's counters.

    >>> counters('''# TYPE creditwatch_archive_records_total counter
    ... creditwatch_archive_records_total{topic="a"} 3.0
    ... creditwatch_archive_records_total{topic="b"} 4.0
    ... # TYPE creditwatch_archive_rows_written_total counter
    ... creditwatch_archive_rows_written_total{table="t"} 9.0
    ... ''')
    (7.0, 9.0)
    """
    totals = {RECORDS: 0.0, ROWS: 0.0}
    for family in text_string_to_metric_families(text):
        if family.name in totals:
            totals[family.name] += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return totals[RECORDS], totals[ROWS]


def counts_now(sink: SinkProcess) -> SinkCounts:
    """The sink's totals now; zero while its metrics server is not up yet (it serves
    them once the schema is migrated, before it joins its group)."""
    try:
        text = scrape(f"http://127.0.0.1:{sink.metrics_port}/metrics")
    except OSError:
        return SinkCounts(time.monotonic(), 0.0, 0.0)
    records, rows = counters(text)
    return SinkCounts(time.monotonic(), records, rows)


def lag(bootstrap: str) -> int:
    """Messages on the archived topics the sink has not stored yet."""
    return sum(group_lag(bootstrap, DEFAULT_GROUP, ARCHIVED_TOPICS).values())


def wait_caught_up(bootstrap: str, sink: SinkProcess, timeout: float) -> float | None:
    """Seconds until the sink's lag is 0 (None: not within ``timeout``, or it exited)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and sink.running():
        if lag(bootstrap) == 0:
            return time.monotonic() - started
        time.sleep(0.25)
    return None
