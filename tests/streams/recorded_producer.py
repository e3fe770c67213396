"""The worker's Kafka producer, replaced for agent tests: nothing leaves the process.

Agents write their outputs and changelog records through the worker's outbox
(``streams.runtime.channels.Outbox.send``), which hands them to
``app.producer.send``. :func:`recorded_producer` swaps that method for one that
records each record by topic and acknowledges it at once; the record batches a
table's flush builds (``Outbox.send_in_batches``, through the aiokafka producer's
``create_batch``/``send_batch``) are recorded record by record the same way. It
refuses a record
larger than the producer's ``max_request_size`` as aiokafka does
(``ProducerSendError`` from ``MessageSizeTooLargeError``, before anything is
sent); with ``failing=True`` every delivery fails instead, as one does after
the producer's retries.
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
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import RecordMetadata, TopicPartition
from faust.exceptions import ProducerSendError


@dataclass(frozen=True)
class SentRecord:
    key: bytes | None
    value: bytes | None
    partition: int | None


class RecordedProducer:
    def __init__(self, max_request_size: int, failing: bool = False) -> None:
        self.sent: dict[str, list[SentRecord]] = defaultdict(list)
        self.max_request_size = max_request_size
        self.failing = failing

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
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, [])
        if size > self.max_request_size:
            error = MessageSizeTooLargeError(f"The message is {size} bytes when serialized")
            raise ProducerSendError(f"Error while sending: {error!r}") from error
        records = self.sent[topic]
        records.append(SentRecord(key, value, partition))
        return self._delivery(topic, partition or 0, len(records) - 1)

    def create_batch(self) -> RecordedBatch:
        return RecordedBatch()

    async def send_batch(
        self, batch: RecordedBatch, topic: str, *, partition: int
    ) -> asyncio.Future[RecordMetadata]:
        records = self.sent[topic]
        first = len(records)
        records += [SentRecord(key, value, partition) for key, value in batch.records]
        return self._delivery(topic, partition, first)

    def _delivery(self, topic: str, partition: int, offset: int) -> asyncio.Future[RecordMetadata]:
        where = TopicPartition(topic, partition)
        delivered: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        if self.failing:
            delivered.set_exception(KafkaTimeoutError("batch expired"))
        else:
            delivered.set_result(RecordMetadata(topic, partition, where, offset, -1, 0, -1))
        return delivered

    def records(self, topic: faust.TopicT) -> list[SentRecord]:
        return self.sent[topic.get_topic_name()]

    def values(self, topic: faust.TopicT) -> list[dict[str, Any]]:
        """The JSON documents sent to ``topic``, in order."""
        return [orjson.loads(record.value or b"null") for record in self.records(topic)]


class RecordedBatch:
    """What ``create_batch`` gives: records appended in order (it is never full)."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: float | None) -> bool:
        self.records.append((key, value))
        return True


@contextmanager
def recorded_producer(app: faust.App, failing: bool = False) -> Iterator[RecordedProducer]:
    """``app``'s producer, recording what it is given (``failing``: every delivery fails)."""
    recorder = RecordedProducer(app.conf.producer_max_request_size, failing)
    with (
        patch.object(app.producer, "send", new=recorder.send),
        patch.object(app.producer, "_ensure_producer", new=lambda: recorder),
    ):
        yield recorder
