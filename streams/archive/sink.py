"""The archive sink: topics -> PostgreSQL, in batches, nothing lost or doubled.

A separate process (``creditwatch archive sink``) with its own consumer group
(:data:`DEFAULT_GROUP`), so database latency and CPU stay out of the Faust
workers' hot path and the store can fall behind and catch up without slowing
the pipeline. Each batch:

1. maps every message to its rows (:func:`streams.archive.rows.rows_of`);
2. writes them in **one PostgreSQL transaction** (:class:`~streams.archive.store.StoreWriter`),
   each row keyed by its idempotency key, so a replay writes nothing twice;
3. sends a dead letter (``risk.dlq``) for each message PostgreSQL refused a
   row of (``store_rejected``, with the database's message) or the sink
   could not read (``store_unreadable``), and waits until they are delivered;
4. only then commits the batch's Kafka offsets.

A ``kill -9`` at any point leaves either an uncommitted batch (re-read, its
rows already there or written now) or nothing: no row is lost or doubled.
Refused rows never stop the batch: the rest of it is written. A database that
is unreachable stops progress (the batch is retried, lag grows) but loses
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError

from streams.archive import DEFAULT_GROUP
from streams.archive import sink_metrics as metrics
from streams.archive.rows import (
    ARCHIVED_TOPICS,
    STORE_REJECTED,
    STORE_UNREADABLE,
    Skipped,
    Unreadable,
    rows_of,
)
from streams.archive.store import BatchResult, PendingRow, Source, StoreWriter
from streams.settings import session_timeout
from topics.catalogue import RISK_DLQ
from topics.risk import dead_letter, dead_letter_key

log = logging.getLogger(__name__)

MAX_BATCH = 5_000
POLL_TIMEOUT_MS = 200
LAG_EVERY_S = 2.0
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0

Message: TypeAlias = ConsumerRecord  # of bytes keys and values


@dataclass(frozen=True, slots=True)
class SinkSettings:
    bootstrap: str  # host:port,...
    database: str  # libpq URL
    group: str = DEFAULT_GROUP
    topics: tuple[str, ...] = ARCHIVED_TOPICS
    max_batch: int = MAX_BATCH
    rebalance_timeout_s: float | None = None  # None: aiokafka's default
    fetch_max_wait_ms: int = 100


@dataclass(slots=True)
class Mapped:
    """A batch's messages as rows, and the dead letters of those the sink cannot read."""

    rows: list[PendingRow] = field(default_factory=list)
    letters: dict[Source, tuple[str, str]] = field(default_factory=dict)  # reason, detail
    by_topic: dict[str, int] = field(default_factory=dict)


def map_batch(messages: Iterable[Message]) -> Mapped:
    """Every message of a batch as rows (pure apart from the skip counter)."""
    mapped = Mapped()
    for message in messages:
        topic = message.topic
        mapped.by_topic[topic] = mapped.by_topic.get(topic, 0) + 1
        source = Source(topic, message.partition, message.offset, message.key, message.value)
        result = rows_of(topic, message.key, message.value)
        if isinstance(result, Skipped):
            metrics.records_skipped.labels(topic, result.reason).inc()
        elif isinstance(result, Unreadable):
            mapped.letters[source] = (STORE_UNREADABLE, result.detail)
            metrics.records_unreadable.labels(topic).inc()
        else:
            mapped.rows.extend(PendingRow(table, row, source) for table, row in result)
    return mapped


class DeadLetters:
    """Sends the sink's dead letters to ``risk.dlq`` and waits for their delivery."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send(self, letters: Mapping[Source, tuple[str, str]]) -> None:
        deliveries = []
        for source, (reason, detail) in letters.items():
            letter = dead_letter(
                source.topic,
                source.partition,
                source.offset,
                source.key,
                source.value,
                reason,
                detail,
            )
            deliveries.append(
                await self.producer.send(
                    RISK_DLQ.name, letter.dumps(), key=dead_letter_key(source.key)
                )
            )
        if deliveries:
            await asyncio.gather(*deliveries)  # raises if one was not delivered


def rejected_letters(result: BatchResult) -> dict[Source, tuple[str, str]]:
    """One ``store_rejected`` letter per message, naming each refused table's reason."""
    reasons: dict[Source, list[str]] = {}
    for pending, why in result.rejected:
        reasons.setdefault(pending.source, []).append(f"{pending.table.name}: {why}")
    return {source: (STORE_REJECTED, "; ".join(why)) for source, why in reasons.items()}


class ArchiveSink:
    """One batch at a time from a consumer to the store (see the module docstring)."""

    def __init__(
        self,
        writer_factory: Callable[[], Awaitable[StoreWriter]],
        letters: DeadLetters,
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._writer_factory = writer_factory
        self._writer: StoreWriter | None = None
        self.letters = letters
        self.on_batch = on_batch
        self.records = 0
        self.rows_written = 0

    async def store(self, messages: Sequence[Message]) -> None:
        """Write one batch and send its dead letters; retry while the database is away."""
        started = time.perf_counter()
        mapped = map_batch(messages)
        result = await self._write(mapped.rows)
        await self.letters.send({**mapped.letters, **rejected_letters(result)})
        for topic, count in mapped.by_topic.items():
            metrics.records_consumed.labels(topic).inc(count)
        for table, count in result.written.items():
            metrics.rows_written.labels(table).inc(count)
        for table, count in result.unchanged.items():
            metrics.rows_unchanged.labels(table).inc(count)
        for pending, _ in result.rejected:
            metrics.rows_rejected.labels(pending.table.name).inc()
        metrics.batch_seconds.observe(time.perf_counter() - started)
        self.records += len(messages)
        self.rows_written += sum(result.written.values())
        if self.on_batch is not None:
            self.on_batch(len(messages))

    async def _write(self, rows: list[PendingRow]) -> BatchResult:
        delay = RETRY_FIRST_S
        while True:
            try:
                if self._writer is None:
                    self._writer = await self._writer_factory()
                return await self._writer.write(rows)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                metrics.database_errors.inc()
                log.error("record store unavailable (%s); retrying in %.1f s", exc, delay)
                await self._reset()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def _reset(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                await writer.close()
            except psycopg.Error:
                pass

    async def close(self) -> None:
        await self._reset()


class _Ready(ConsumerRebalanceListener):
    """Calls ``on_ready(partitions)`` once, at the first assignment."""

    def __init__(self, on_ready: Callable[[int], None] | None) -> None:
        self.on_ready = on_ready

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self.on_ready is not None:
            self.on_ready(len(assigned))
            self.on_ready = None


def consumer_for(settings: SinkSettings, group: str | None) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap.split(","),
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.max_batch,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "heartbeat_interval_ms": 1000,
    }
    if settings.rebalance_timeout_s is not None:
        options["rebalance_timeout_ms"] = int(settings.rebalance_timeout_s * 1000)
        options["session_timeout_ms"] = int(session_timeout(settings.rebalance_timeout_s) * 1000)
    return AIOKafkaConsumer(**options)


def producer_for(settings: SinkSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=settings.bootstrap.split(","), acks="all")


async def update_lag(consumer: AIOKafkaConsumer) -> dict[str, int]:
    """Messages not yet stored per topic, over this sink's partitions (the broker's
    high watermark from the latest fetch minus the position)."""
    lag: dict[str, int] = {}
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        behind = max(0, highwater - await consumer.position(tp))
        lag[tp.topic] = lag.get(tp.topic, 0) + behind
    for topic in ARCHIVED_TOPICS:
        metrics.lag.labels(topic).set(lag.get(topic, 0))
    return lag


async def run_sink(
    settings: SinkSettings,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
) -> ArchiveSink:
    """Consume the archived topics in the sink's group until ``stop`` is set;
    ``on_ready(partitions)`` once it has joined the group and has partitions."""
    consumer = consumer_for(settings, settings.group)
    producer = producer_for(settings)
    await producer.start()
    await consumer.start()
    sink = ArchiveSink(lambda: StoreWriter.connect(settings.database), DeadLetters(producer))
    consumer.subscribe(list(settings.topics), listener=_Ready(on_ready))
    lag_at = 0.0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(
                timeout_ms=POLL_TIMEOUT_MS, max_records=settings.max_batch
            )
            if batches:
                await sink.store([m for messages in batches.values() for m in messages])
                await _commit(consumer, batches)
            if time.monotonic() - lag_at > LAG_EVERY_S:
                lag_at = time.monotonic()
                await update_lag(consumer)
    finally:
        await sink.close()
        await consumer.stop()
        await producer.stop()
    return sink


async def _commit(
    consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[Message]]
) -> None:
    offsets = {tp: messages[-1].offset + 1 for tp, messages in batches.items() if messages}
    try:
        await consumer.commit(offsets)
    except CommitFailedError as exc:
        # The group rebalanced meanwhile: the new owner re-reads these messages and
        # finds their rows already stored. Nothing is lost, nothing doubled.
        log.warning("offsets not committed (%s); the batch will be re-read", exc)


async def replay(
    settings: SinkSettings, progress: Callable[[int, int], None] | None = None
) -> ArchiveSink:
    """Read every archived topic from offset 0 to its end now and store it (no group:
    ``creditwatch archive rebuild``); ``progress(records, rows)`` after each batch."""
    from streams.runtime.end_offsets import read_to_end

    producer = producer_for(settings)
    await producer.start()
    sink = ArchiveSink(lambda: StoreWriter.connect(settings.database), DeadLetters(producer))
    if progress is not None:
        sink.on_batch = lambda _: progress(sink.records, sink.rows_written)
    try:
        async for batches in read_to_end(
            settings.bootstrap, topics=settings.topics, max_records=settings.max_batch
        ):
            await sink.store([m for messages in batches.values() for m in messages])
    finally:
        await sink.close()
        await producer.stop()
    return sink
