"""A simulated city's history in a record store, for the backtest's tests and benchmark.

The simulator's traffic (:class:`creditwatch.simulation.traffic.Simulator`),
stamped evenly over the days asked for, goes through the archive's own row
mapping (``streams.archive.rows.rows_of``: a record that breaks its contract
is not stored, as in the sink) and writer (``StoreWriter``, in batches), so
the store holds what the sink would have written from the same topics; no
broker is needed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditwatch.simulation.traffic import OutboundRecord, Simulator, SteppingClock
from streams.archive.rows import rows_of
from streams.archive.store import PendingRow, Source, StoreWriter

BATCH = 5_000


@dataclass(frozen=True, slots=True)
class CityHistory:
    """``subjects`` subjects' traffic, ``per_subject_per_day`` records each a day on
    average, over ``days`` days from ``start``."""

    start: datetime
    days: float
    subjects: int
    per_subject_per_day: float
    seed: int = 1

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("a simulated history starts at a timezone-aware time")

    @property
    def records(self) -> int:
        return max(1, round(self.subjects * self.days * self.per_subject_per_day))

    def messages(self) -> Iterator[OutboundRecord]:
        """The city's messages in the order they are produced (event-time order): the
        register's role records first, as ``creditwatch simulate`` sends them, then
        ``records`` records of traffic."""
        step = timedelta(days=self.days) / self.records
        simulator = Simulator(self.seed, self.subjects, clock=SteppingClock(self.start, step))
        return itertools.chain(simulator.registrations(), itertools.islice(simulator, self.records))


def store_history(
    database: str, history: CityHistory, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``history`` into the (migrated) store at ``database``; the number of input
    records stored. ``progress`` is told the messages mapped so far, batch by batch."""
    return asyncio.run(_store(database, history, progress))


async def _store(
    database: str, history: CityHistory, progress: Callable[[int], None] | None
) -> int:
    writer = await StoreWriter.connect(database)
    offsets: Counter[str] = Counter()
    stored = 0
    pending: list[PendingRow] = []
    try:
        for count, message in enumerate(history.messages(), start=1):
            source = Source(message.topic, 0, offsets[message.topic], message.key, message.value)
            offsets[message.topic] += 1
            mapped = rows_of(message.topic, message.key, message.value)
            if isinstance(mapped, list):  # else broken on purpose: the worker dead-letters it
                pending += (PendingRow(table, row, source) for table, row in mapped)
            if len(pending) >= BATCH:
                stored += sum((await writer.write(pending)).written.values())
                pending = []
                if progress is not None:
                    progress(count)
        if pending:
            stored += sum((await writer.write(pending)).written.values())
    finally:
        await writer.close()
    return stored
