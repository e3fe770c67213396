"""Microseconds per record for each way a worker can write to Kafka, inside a running worker.

``creditwatch bench sends`` runs this module as a child against an embedded
broker. Once the worker is up, one agent times, for the same records:

* ``topic_send``: Faust's ``Topic.send`` (a future per record, queued in
  Faust's producer buffer, handed on by a background task);
* ``produce``: :meth:`streams.runtime.channels.Outbox.send`, straight to the producer;
* ``table_set``: ``table[key] = value``, Faust's table write and changelog;
* ``write_through``: :func:`streams.runtime.tables.write_through`, one table write;
* ``batch_flush``: :class:`streams.runtime.tables.BatchCache`, what the agents use:
  a batch's writes flushed together, the changelog in record batches.

Each is timed until the producer has flushed everything it was given, in
three interleaved rounds; the best round counts. The result goes to stderr as
one line, ``bench-sends: {json}``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Awaitable, Callable

import faust
import orjson
from faust.types import EventT

from creditwatch.bench.send_costs import RESULT_PREFIX, TARGET_TOPIC, TRIGGER_TOPIC
from creditwatch.commands.worker import service_worker, use_uvloop
from streams.app import create_app
from streams.runtime.batches import BATCH_MAX
from streams.runtime.channels import Outbox, raw_topic
from streams.runtime.tables import BatchCache, bytes_table, write_through
from streams.settings import Settings
from topics.catalogue import RISK_DLQ

ROUNDS = 3
VALUE = b"x" * 200  # about a subject state's size
#: The app id (so consumer group and changelog) unless CREDITWATCH_APP_ID names one.
APP_ID = "creditwatch-bench-sends"


Send = Callable[[bytes], Awaitable[object]]


async def per_record_us(
    app: faust.App, send: Send, keys: list[bytes], finish: Callable[[], Awaitable[object]]
) -> float:
    started = time.perf_counter()
    for key in keys:
        await send(key)
    await finish()
    await app.producer.flush()
    return (time.perf_counter() - started) / len(keys) * 1e6


def build_app(settings: Settings, records: int) -> faust.App:
    """The worker app, with one agent that times every way once the worker is up."""
    app = create_app(settings)
    trigger = raw_topic(app, TRIGGER_TOPIC)
    target = raw_topic(app, TARGET_TOPIC)
    outbox = app.outbox = Outbox(app, raw_topic(app, RISK_DLQ.name))
    table = bytes_table(
        app, "bench-sends", "Records written by the send benchmark.", settings.partitions
    )
    triggered = False

    async def time_every_way(event: EventT) -> dict[str, float]:
        """µs per record each way; ``event`` is the current event (table writes go to its
        partition)."""
        keys = [f"key-{i}".encode() for i in range(records)]

        async def topic_send(key: bytes) -> object:
            return await target.send(key=key, value=VALUE)

        async def direct(key: bytes) -> object:
            return await outbox.send(target, key, VALUE)

        async def table_set(key: bytes) -> None:
            table[key] = VALUE

        async def through(key: bytes) -> None:
            await write_through(outbox, table, key, VALUE, event)

        def new_batch() -> BatchCache[bytes]:
            return BatchCache(table, bytes, bytes, outbox)

        batch = new_batch()

        async def batched(key: bytes) -> None:
            nonlocal batch
            batch.put(key, VALUE, event)
            if len(batch.owners) >= BATCH_MAX:
                await flushed()

        async def flushed() -> None:
            nonlocal batch
            await batch.flush()
            batch = new_batch()

        async def nothing() -> None:
            return None

        await per_record_us(app, topic_send, keys, nothing)  # warm-up: connections, metadata
        # Rounds interleave the ways, and each way's best round counts (as timeit
        # does): the other processes on the machine only ever add time.
        ways: dict[str, tuple[Send, Callable[[], Awaitable[object]]]] = {
            "topic_send": (topic_send, nothing),
            "produce": (direct, nothing),
            "table_set": (table_set, nothing),
            "write_through": (through, nothing),
            "batch_flush": (batched, flushed),
        }
        best: dict[str, float] = {}
        for _ in range(ROUNDS):
            for name, (way, finish) in ways.items():
                taken = await per_record_us(app, way, keys, finish)
                best[name] = min(taken, best.get(name, taken))
        return best

    @app.agent(trigger)
    async def measure(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            results = await time_every_way(event)
            print(RESULT_PREFIX + orjson.dumps(results).decode(), file=sys.stderr, flush=True)

    @app.timer(1.0)
    async def start_measuring() -> None:
        nonlocal triggered
        if not triggered:
            triggered = True
            await trigger.send(key=b"go", value=b"go")

    return app


def main() -> None:
    use_uvloop()  # as the worker does, before the app and its event loop exist
    settings = Settings.from_env()
    if "CREDITWATCH_APP_ID" not in os.environ:
        settings = dataclasses.replace(settings, app_id=APP_ID)
    records = int(os.environ.get("BENCH_RECORDS", "5000"))
    service_worker(build_app(settings, records), "warning").execute_from_commandline()


if __name__ == "__main__":
    main()
