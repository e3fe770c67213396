"""A batch's table writes reach the changelog in record batches, in order, per partition."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from faust.types import TP

from streams.runtime.channels import BATCHED_RECORD_MAX
from streams.runtime.tables import BatchCache
from streams.wiring import Wiring
from tests.streams.recorded_producer import RecordedProducer, SentRecord, recorded_producer


class Owner:
    """Stands in for the Faust event of a key: it says the key's partition."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def flush(worker: Wiring, writes: list[tuple[bytes, bytes, int]]) -> RecordedProducer:
    """Put each (key, value, partition) in one batch of the case-file table, then flush."""
    table = worker.tables.case_files
    cache: BatchCache[bytes] = BatchCache(table, bytes, bytes, worker.outbox)
    with recorded_producer(worker.app) as producer:
        for key, value, partition in writes:
            cache.put(key, value, cast(Any, Owner(partition)))
        asyncio.run(cache.flush())
    for key, _, _ in writes:
        table.data.pop(key, None)
    return producer


def test_each_partitions_writes_go_together_in_the_order_they_were_made(
    worker: Wiring,
) -> None:
    table = worker.tables.case_files
    changelog = table.changelog_topic
    producer = flush(worker, [(b"a", b"1", 0), (b"b", b"2", 1), (b"c", b"3", 0)])
    assert producer.records(changelog) == [
        SentRecord(b"a", b"1", 0),
        SentRecord(b"c", b"3", 0),
        SentRecord(b"b", b"2", 1),
    ]
    # The store learns how far each partition's changelog holds what it holds.
    name = changelog.get_topic_name()
    assert table.data.persisted_offset(TP(name, 0)) == 1  # the second record of three
    assert table.data.persisted_offset(TP(name, 1)) == 2


def test_a_value_too_large_to_send_is_dead_lettered_and_the_others_keep_their_order(
    worker: Wiring,
) -> None:
    too_large = b"x" * (worker.app.conf.producer_max_request_size + 1)
    assert len(too_large) > BATCHED_RECORD_MAX  # so it goes alone, through Outbox.send
    producer = flush(worker, [(b"a", b"1", 0), (b"big", too_large, 0), (b"c", b"3", 0)])
    changelog = worker.tables.case_files.changelog_topic
    assert producer.records(changelog) == [SentRecord(b"a", b"1", 0), SentRecord(b"c", b"3", 0)]
    letters = producer.values(worker.channels.dead_letters)
    assert [letter["reason"] for letter in letters] == ["output_too_large"]
    worker.outbox.undelivered.clear()
