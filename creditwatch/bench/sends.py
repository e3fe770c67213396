"""Microseconds per record for each way a worker can write to Kafka, inside a running worker.

``creditwatch bench sends`` runs this module as a child against an embedded
broker. Once the worker is up, one agent times, for the same records:

* ``topic_send``: Faust's ``Topic.send`` (a future per record, queued in
  Faust's producer buffer, handed on by a background task);
* ``produce``: :func:`streams.runtime.channels.produce`, straight to the producer;
* ``table_set``: ``table[key] = value``, Faust's table write and changelog;
* ``write_through``: :func:`streams.runtime.tables.write_through`, what the agents use.

Each is timed until the producer has flushed everything it was given, in
three interleaved rounds; the best round counts. The result goes to stderr as
one line, ``bench-sends: {json}``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable

import faust
import orjson
from faust.types import EventT

os.environ.setdefault("CREDITWATCH_APP_ID", "creditwatch-bench-sends")

from creditwatch.bench.send_costs import RESULT_PREFIX, TARGET_TOPIC, TRIGGER_TOPIC  # noqa: E402
from creditwatch.commands.worker import service_worker, use_uvloop  # noqa: E402

use_uvloop()  # as the worker does, before the app and its event loop exist

from streams.app import app  # noqa: E402
from streams.runtime.channels import produce, raw_topic  # noqa: E402
from streams.runtime.tables import bytes_table, write_through  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", "5000"))
ROUNDS = 3
VALUE = b"x" * 200  # about a subject state's size


trigger = raw_topic(TRIGGER_TOPIC)
target = raw_topic(TARGET_TOPIC)
table = bytes_table("bench-sends", "Records written by the send benchmark.")
_triggered = False


async def per_record_us(send: Callable[[bytes], Awaitable[object]], keys: list[bytes]) -> float:
    started = time.perf_counter()
    for key in keys:
        await send(key)
    await app.producer.flush()
    return (time.perf_counter() - started) / len(keys) * 1e6


@app.agent(trigger)
async def measure(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        results = await time_every_way(event)
        print(RESULT_PREFIX + orjson.dumps(results).decode(), file=sys.stderr, flush=True)


async def time_every_way(event: EventT) -> dict[str, float]:
    """µs per record each way; ``event`` is the current event (table writes go to its partition)."""
    keys = [f"key-{i}".encode() for i in range(RECORDS)]

    async def topic_send(key: bytes) -> object:
        return await target.send(key=key, value=VALUE)

    async def direct(key: bytes) -> object:
        return await produce(target, key, VALUE)

    async def table_set(key: bytes) -> None:
        table[key] = VALUE

    async def through(key: bytes) -> None:
        await write_through(table, key, VALUE, event)

    await per_record_us(topic_send, keys)  # warm-up: connections, metadata
    # Rounds interleave the ways, and each way's best round counts (as timeit
    # does): the other processes on the machine only ever add time.
    ways = {
        "topic_send": topic_send,
        "produce": direct,
        "table_set": table_set,
        "write_through": through,
    }
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            taken = await per_record_us(way, keys)
            best[name] = min(taken, best.get(name, taken))
    return best


@app.timer(1.0)
async def start_measuring() -> None:
    global _triggered
    if not _triggered:
        _triggered = True
        await trigger.send(key=b"go", value=b"go")


def main() -> None:
    service_worker(app, "warning").execute_from_commandline()


if __name__ == "__main__":
    main()
