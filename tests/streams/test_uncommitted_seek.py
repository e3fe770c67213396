"""After a rebalance, a partition nobody committed is read from its beginning again.

A consumer in a group, assigned a partition whose fetch position has moved
past records the worker dropped (as Faust drops the records of a partition it
is still recovering), is sought as Faust's recovery seeks it: aiokafka's own
seek leaves a partition without a committed offset where it is, and the
replacement puts it back at the beginning.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from creditwatch.embedded import EmbeddedStack
from creditwatch.topic_admin import create_topics
from streams.runtime.uncommitted_seek import _placing_uncommitted
from topics.catalogue import TopicSpec

pytestmark = pytest.mark.integration

RECORDS = 5


async def position_after_seek(bootstrap: str, commit: int | None, replaced: bool) -> int:
    """Where a group consumer reads a partition of ``RECORDS`` records next, once its
    position was moved to the end and Faust's recovery seek ran (committed at ``commit``)."""
    topic = f"uncommitted-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [TopicSpec(topic, "records a worker dropped")], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(RECORDS):
            await producer.send_and_wait(topic, f"record {n}".encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"group-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        if commit is not None:
            await consumer.commit({tp: OffsetAndMetadata(commit, "")})
        # Where a fetch Faust dropped leaves the partition.
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        seek: Any = consumer_thread_seek(consumer, replaced)
        await seek()
        return await consumer.position(tp)
    finally:
        await consumer.stop()


def consumer_thread_seek(consumer: AIOKafkaConsumer, replaced: bool) -> Any:
    """Faust's consumer thread's seek_to_committed over ``consumer``, replaced or not."""

    async def faust_seek(thread: Any) -> Any:
        return await consumer.seek_to_committed()

    thread = SimpleNamespace(
        app=SimpleNamespace(conf=SimpleNamespace(consumer_auto_offset_reset="earliest")),
        seek_to_beginning=consumer.seek_to_beginning,
    )
    seek = _placing_uncommitted(faust_seek) if replaced else faust_seek
    return lambda: seek(thread)


@pytest.mark.parametrize("replaced", [True, False], ids=["replaced", "faust's own"])
def test_a_partition_nobody_committed_is_read_from_its_beginning_again(
    embedded_stack: EmbeddedStack, replaced: bool
) -> None:
    position = asyncio.run(position_after_seek(embedded_stack.bootstrap, None, replaced))
    # Faust's own seek leaves it past the records: they would never be read.
    assert position == (0 if replaced else RECORDS)


def test_a_committed_partition_is_read_from_its_commit(embedded_stack: EmbeddedStack) -> None:
    assert asyncio.run(position_after_seek(embedded_stack.bootstrap, 2, replaced=True)) == 2
