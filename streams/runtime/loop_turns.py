"""Long work in short turns, so one task does not hold the event loop for long.

Everything a worker does runs on one event loop, and a record's every hop
inside the worker waits for whatever holds the loop: the alert manager's
candidate, the producer's sender with the outputs already made, the fetcher
with the next records. An ingest batch at 1,000 events/s on a shared 2-core
machine held the loop for 66 ms at the median and 400 ms at worst (measured
with a watchdog thread sampling the loop, ``creditwatch bench latency``), so
every hop behind it waited that long. :class:`Turns` hands the loop on at most
every :data:`TURN_S` of work: the other tasks take their turn, and the work
goes on where it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: Seconds of work between two turns of the event loop: about one fetch wait
#: under load (streams/runtime/fetch_wait.py), a fraction of a plain hop's p99.
TURN_S = 0.01


class Turns:
    """Yields to the event loop once ``turn_s`` has passed since the last yield.

    >>> clock = iter([0.0, 0.004, 0.012, 0.013]).__next__
    >>> turns = Turns(0.01, clock)
    >>> [turns.due() for _ in range(3)]
    [False, True, False]
    """

    def __init__(self, turn_s: float = TURN_S, clock: Callable[[], float] = time.perf_counter):
        self.turn_s, self.clock = turn_s, clock
        self.since = clock()

    def due(self) -> bool:
        """Whether the turn is over (the next one then starts now)."""
        now = self.clock()
        if now - self.since < self.turn_s:
            return False
        self.since = now
        return True

    async def take(self) -> None:
        """Let the other tasks run if this one has had its turn."""
        if self.due():
            await asyncio.sleep(0)
            self.since = self.clock()
