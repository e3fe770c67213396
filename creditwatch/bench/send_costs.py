"""``creditwatch bench sends``: what one record costs each way a worker can write it.

Starts an embedded broker and :mod:`creditwatch.bench.sends` as a worker, waits
for its result line and turns it into rows. This is the measurement behind
:meth:`streams.runtime.channels.Outbox.send`, :func:`streams.runtime.tables.write_through`
and :meth:`streams.runtime.tables.BatchCache.flush`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson

from creditwatch.bench.kafka_io import create_topic
from creditwatch.bench.report import Row
from creditwatch.bench.throughput import ModuleProcess
from creditwatch.embedded import EmbeddedBroker, free_port, wait_for

MODULE = "creditwatch.bench.sends"
RESULT_PREFIX = "bench-sends: "  # what the child prints; see creditwatch.bench.sends
#: The child's topics, created here with its partition count before it starts:
#: the embedded broker would auto-create them with four.
TRIGGER_TOPIC, TARGET_TOPIC = "bench.sends-trigger", "bench.sends"
PARTITIONS = 1
WAYS = {
    "topic_send": "Faust Topic.send: future, producer buffer, background task",
    "produce": "streams.runtime.channels.Outbox.send: straight to the producer",
    "table_set": "table[key] = value: store, then changelog via Topic.send_soon",
    "write_through": "streams.runtime.tables.write_through: store, then changelog via produce",
    "batch_flush": "streams.runtime.tables.BatchCache.flush, 1,000 keys a batch: store, then "
    "changelog in record batches (what the agents do)",
}


def bench_sends(records: int, timeout: float = 180.0) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="cw-bench-sends-") as tmp, EmbeddedBroker() as broker:
        log_dir = Path(tmp)
        for topic in (TRIGGER_TOPIC, TARGET_TOPIC):
            create_topic(broker.bootstrap, topic, PARTITIONS)
        child = ModuleProcess(
            "sends",
            MODULE,
            log_dir,
            env={
                "CREDITWATCH_KAFKA": f"kafka://{broker.bootstrap}",
                "CREDITWATCH_PARTITIONS": str(PARTITIONS),
                "CREDITWATCH_REBALANCE_TIMEOUT": "3",
                "CREDITWATCH_WEB_PORT": str(free_port()),
                "CREDITWATCH_DATA_DIR": str(log_dir / "data"),
                "BENCH_RECORDS": str(records),
            },
        )
        with child:
            child.wait_ready()
            wait_for(
                lambda: RESULT_PREFIX in child.log_text(),
                timeout,
                "the send timings",
                abort=lambda: None if child.running() else f"it exited:\n{child.log_tail()}",
            )
            line = next(x for x in child.log_text().splitlines() if RESULT_PREFIX in x)
    timings = orjson.loads(line.split(RESULT_PREFIX, 1)[1])
    return [
        Row(f"sends.{way}", timings[way], "µs/record", f"{what}; {records:,} records")
        for way, what in WAYS.items()
    ]
