"""Phase (a): the practical limit: an aiokafka consumer plus ``orjson.loads`` per value.

No consumer group, no commits, no Faust: ``assign()`` every partition of the
input topics, read from the beginning and decode every value. Whatever the
pipeline does on top of this is its own cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from creditwatch.bench.kafka_io import Partition, bootstrap_list


@dataclass(frozen=True, slots=True)
class RawResult:
    events: int
    seconds: float  # first fetch issued to last value decoded
    undecodable: int  # deliberately bad records: still read, counted as consumed


async def raw_consume(
    bootstrap: str, targets: dict[Partition, int], timeout: float = 120.0
) -> RawResult:
    """Read every partition in ``targets`` up to its target offset, decoding each value."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_list(bootstrap),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic, p in targets]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {TopicPartition(t, p): end for (t, p), end in targets.items() if end > 0}
        events = undecodable = 0
        start = time.perf_counter()
        deadline = start + timeout
        while remaining and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=50_000)
            for tp, messages in batches.items():
                for message in messages:
                    try:
                        orjson.loads(message.value or b"")
                    except orjson.JSONDecodeError:
                        undecodable += 1
                    events += 1
                if messages and messages[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
        seconds = time.perf_counter() - start
    finally:
        await consumer.stop()
    if remaining:
        raise TimeoutError(f"raw consume did not reach the produced offsets in {timeout:.0f} s")
    return RawResult(events, seconds, undecodable)
