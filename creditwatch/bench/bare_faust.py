"""Phase (b): the Faust app a user would write by hand, as the yardstick for Faust's cost.

One agent over the three input topics, events one at a time, stdlib
``json.loads`` of each value and a per-subject counter in a table
(``table[key] = table[key] + 1``): the consumer, the table and its changelog,
nothing of creditwatch's own logic. Run it as a child process::

    BENCH_KAFKA=kafka://127.0.0.1:9092 BENCH_PARTITIONS=4 python -m creditwatch.bench.bare_faust

It prints the worker's ready line to stderr, like ``creditwatch worker``, so
the same start-up wait applies to both.
"""

from __future__ import annotations

import json
import os
import sys

import faust

from creditwatch.commands.worker import READY_LINE
from streams.settings import session_timeout
from topics.catalogue import INPUT_TOPICS

APP_ID = "creditwatch-bench-bare"


def build_app() -> faust.App:
    """The app, its topic, its table and its one agent, as a user would write them."""
    partitions = int(os.environ.get("BENCH_PARTITIONS", "4"))
    rebalance = float(os.environ.get("BENCH_REBALANCE_TIMEOUT", "3"))
    app = faust.App(
        os.environ.get("BENCH_APP_ID", APP_ID),
        broker=os.environ.get("BENCH_KAFKA", "kafka://127.0.0.1:9092"),
        store="memory://",
        datadir=os.environ.get("BENCH_DATA_DIR", "./bench-bare-data"),
        topic_partitions=partitions,
        web_enabled=False,
        # The same start-up settings as the creditwatch worker on the embedded broker.
        broker_rebalance_timeout=rebalance,
        broker_session_timeout=session_timeout(rebalance),
        broker_heartbeat_interval=1.0,
    )
    inputs = app.topic(
        *(spec.name for spec in INPUT_TOPICS),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )
    counts = app.Table(
        "subject-counts",
        default=int,
        # Faust derives the changelog's serializers from these, not from the schema.
        key_type=bytes,
        # Counts go through Faust's default JSON codec, as in Faust's own word-count example.
        schema=faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json"),
    )

    @app.agent(inputs, concurrency=1)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for key, value in stream.items():
            # The simulator's bad records are part of the load: a hand-written app
            # must survive them too, or Faust restarts the agent on every one.
            try:
                json.loads(value)
            except ValueError:
                continue
            if key is not None:
                counts[key] = counts[key] + 1

    return app


class Worker(faust.Worker):
    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        print(READY_LINE, file=sys.stderr, flush=True)


def main() -> None:
    Worker(build_app(), loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
