"""The worker's Kafka producer, replaced for agent tests: nothing leaves the process.

Agents write their outputs and changelog records with ``streams.channels.produce``,
which hands them to ``app.producer.send``. :func:`recorded_producer` swaps that
method for one that records each record by topic and acknowledges it at once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import faust
import orjson
from aiokafka.structs import RecordMetadata, TopicPartition

from streams.app import app


@dataclass(frozen=True)
class SentRecord:
    key: bytes | None
    value: bytes | None
    partition: int | None


class RecordedProducer:
    def __init__(self) -> None:
        self.sent: dict[str, list[SentRecord]] = defaultdict(list)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        **kwargs: Any,
    ) -> asyncio.Future[RecordMetadata]:
        records = self.sent[topic]
        records.append(SentRecord(key, value, partition))
        where = TopicPartition(topic, partition or 0)
        delivered: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        delivered.set_result(
            RecordMetadata(topic, where.partition, where, len(records) - 1, -1, 0, -1)
        )
        return delivered

    def records(self, topic: faust.TopicT) -> list[SentRecord]:
        return self.sent[topic.get_topic_name()]

    def values(self, topic: faust.TopicT) -> list[dict[str, Any]]:
        """The JSON documents sent to ``topic``, in order."""
        return [orjson.loads(record.value or b"null") for record in self.records(topic)]


@contextmanager
def recorded_producer() -> Iterator[RecordedProducer]:
    recorder = RecordedProducer()
    with patch.object(app.producer, "send", new=recorder.send):
        yield recorder
