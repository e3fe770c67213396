"""The worker's topic objects (:class:`Channels`) and how it writes to them (:class:`Outbox`).

Every topic carries raw bytes: inputs are decoded by our own validators (so a
bad record becomes a dead letter, not an agent crash) and outputs are plain
JSON produced by the contract records, readable by any Kafka client.

:meth:`Outbox.send` hands a record straight to the worker's Kafka producer.
Faust's ``Topic.send`` wraps each record in a future, queues it in a buffer
and has a background task hand it on: 75 µs a record against 26 µs for the
producer itself (``creditwatch bench sends``).

No input offset is committed past a record whose outputs were not delivered.
Faust flushes the producer before it commits, but a flush only waits: a
delivery that failed after the producer's retries would be committed past, its
inputs never read again. So the worker's consumer first waits for every
delivery its app's outbox handed on (:meth:`Outbox.all_delivered`, through
:func:`install_commit_guard`) and, if one failed, does not commit: Faust
crashes the worker on it, as it does for a message it could not attach, and
the next worker reads from the last commit. A record too large to send at all
is never handed on: it goes to ``risk.dlq`` as an ``output_too_large`` letter
instead (bounded, with its size and digest).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, cast

import faust
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import RecordMetadata
from faust.exceptions import ProducerSendError
from faust.transport.consumer import Consumer
from faust.types import TP

from streams import metrics
from streams.runtime.patches import Method, replace_method
from topics.catalogue import (
    ACCESS_TOKENS,
    ADVERSE_SIGNALS,
    ALERT_CANDIDATES,
    AUDIT_REQUESTS,
    CASE_COMMANDS,
    COMPLAINT_COUNTS,
    DEPARTMENT_MIX,
    ENFORCEMENT_EVENTS,
    INPUT_TOPICS,
    PEER_FEATURES,
    PERSON_FACTS,
    REGISTRY_MEMBERSHIPS,
    RISK_ALERTS,
    RISK_AUDIT,
    RISK_CASES,
    RISK_CREDIT_REPORTS,
    RISK_DLQ,
    RISK_LIST_CHANGES,
    RISK_PERSON_RECORDS,
    RISK_POLICY_VERSIONS,
    RISK_PUBLICATIONS,
    RISK_REGISTRATIONS,
    RISK_SILENCES,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
    TopicSpec,
)
from topics.risk import OUTPUT_TOO_LARGE, dead_letter, dead_letter_key

log = logging.getLogger(__name__)


def raw_topic(
    app: faust.App,
    *names: str,
    partitions: int | None = None,
    config: dict[str, str] | None = None,
) -> faust.TopicT:
    """A topic of raw bytes keys and values (default: the app's partition count)."""
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions or app.conf.topic_partitions,
        config=config,
    )


def _of(*specs: TopicSpec) -> Any:
    """A :class:`Channels` field: the catalogue topics (one, or the inputs) it reads or writes."""
    return field(metadata={"topics": specs})


@dataclass(frozen=True, slots=True)
class Channels:
    """One topic object per catalogue topic the worker reads or writes.

    A new topic is one line here (its :class:`~topics.catalogue.TopicSpec` comes
    from ``topics/catalogue.py``); :meth:`declare` makes every field's topic.
    """

    inputs: faust.TopicT = _of(*INPUT_TOPICS)  # one channel: one ordered stream per subject
    alerts: faust.TopicT = _of(RISK_ALERTS)
    tier_changes: faust.TopicT = _of(RISK_TIER_CHANGES)
    dead_letters: faust.TopicT = _of(RISK_DLQ)
    list_changes: faust.TopicT = _of(RISK_LIST_CHANGES)
    workflow_notices: faust.TopicT = _of(RISK_WORKFLOW)
    publications: faust.TopicT = _of(RISK_PUBLICATIONS)
    credit_reports: faust.TopicT = _of(RISK_CREDIT_REPORTS)
    audit_trail: faust.TopicT = _of(RISK_AUDIT)
    audit_requests: faust.TopicT = _of(AUDIT_REQUESTS)
    access_tokens: faust.TopicT = _of(ACCESS_TOKENS)
    silences: faust.TopicT = _of(RISK_SILENCES)
    policy_versions: faust.TopicT = _of(RISK_POLICY_VERSIONS)
    alert_candidates: faust.TopicT = _of(ALERT_CANDIDATES)
    adverse_signals: faust.TopicT = _of(ADVERSE_SIGNALS)
    cross_sector_candidates: faust.TopicT = _of(DEPARTMENT_MIX)  # keyed by sector
    complaint_counts: faust.TopicT = _of(COMPLAINT_COUNTS)
    peer_feature_changes: faust.TopicT = _of(PEER_FEATURES)
    person_facts: faust.TopicT = _of(PERSON_FACTS)  # seed 十一: to the person-record agent
    person_records: faust.TopicT = _of(RISK_PERSON_RECORDS)
    # Issue 18: what self-service and associations file (written, never read, here) ...
    filings: faust.TopicT = _of(ENFORCEMENT_EVENTS)
    # ... the association member register and the subjects' voluntary registrations.
    memberships: faust.TopicT = _of(REGISTRY_MEMBERSHIPS)
    registrations: faust.TopicT = _of(RISK_REGISTRATIONS)
    # Issue 17: the case agent reads the three topics keyed by case key as one stream.
    case_feed: faust.TopicT = _of(RISK_ALERTS, RISK_WORKFLOW, CASE_COMMANDS)
    case_commands: faust.TopicT = _of(CASE_COMMANDS)
    cases: faust.TopicT = _of(RISK_CASES)

    @classmethod
    def declare(cls, app: faust.App, partitions: int) -> Channels:
        """Every channel's topic object on ``app`` (``partitions``: the worker's default)."""
        topics = {}
        for channel in fields(cls):
            specs: tuple[TopicSpec, ...] = channel.metadata["topics"]
            topics[channel.name] = raw_topic(
                app,
                *(spec.name for spec in specs),
                partitions=specs[0].partitions(partitions),
                # A multi-topic channel cannot carry per-topic config; `creditwatch topics
                # create` sets retention and compaction for every topic from the catalogue.
                config=specs[0].config() if len(specs) == 1 else None,
            )
        return cls(**topics)


class NotSent(Exception):
    """A record that was never handed to the producer (it is in ``risk.dlq`` instead)."""


#: Deliveries handed on before the outbox looks which of them have settled, between commits.
SETTLE_EVERY = 10_000
#: The largest record (key and value) :meth:`Outbox.send_in_batches` puts in a batch of its
#: own making; larger ones go through :meth:`Outbox.send` (table values are far smaller).
BATCHED_RECORD_MAX = 64 * 1024


class Outbox:
    """Hands every record the worker writes to its Kafka producer, and keeps track of
    their deliveries for the consumer's commits (:func:`install_commit_guard`).

    A delivery is looked at when the consumer is about to commit, and every
    :data:`SETTLE_EVERY` records between commits, rather than by a callback of
    its own: a done-callback per record costs a few microseconds of event-loop
    work (about 4 µs against 0.2 µs, measured here), most of a small record's
    wiring.
    """

    def __init__(self, app: faust.App, dead_letters: faust.TopicT) -> None:
        self.app = app
        self.dead_letters = dead_letters
        #: Deliveries handed on and not yet seen settled, and the topic of each.
        self.handed: list[asyncio.Future[RecordMetadata]] = []
        self.handed_to: list[str] = []
        #: Deliveries that failed after the producer's retries, in this worker's life.
        self.undelivered: Counter[str] = Counter()

    async def send(
        self,
        topic: faust.TopicT,
        key: bytes | None,
        value: bytes | None,
        *,
        partition: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Send one record (``partition`` None: by key, as Kafka's clients do); return its
        delivery.

        Waits only while the producer's buffer is full. A delivery that fails
        after the producer's retries is logged and counted
        (``creditwatch_produce_failures_total``), and stops the worker's commits
        (:meth:`all_delivered`). A record larger than the producer sends is
        dead-lettered in its place; its delivery then fails with :class:`NotSent`.
        """
        name = topic.get_topic_name()
        try:
            # Faust types it an Awaitable; its aiokafka driver returns aiokafka's Future.
            delivery = cast(
                "asyncio.Future[RecordMetadata]",
                await self.app.producer.send(name, key, value, partition, None, None),
            )
        except ProducerSendError as exc:
            cause = exc.__cause__
            if not isinstance(cause, MessageSizeTooLargeError) or topic is self.dead_letters:
                raise
            return await self._dead_letter_unsent(name, key, value, cause)
        return self._handed(delivery, name)

    async def send_in_batches(
        self, topic: faust.TopicT, partition: int, records: Sequence[tuple[bytes, bytes | None]]
    ) -> tuple[asyncio.Future[RecordMetadata], int]:
        """Send ``records`` to one partition, in order, in as few record batches as fit;
        return the last batch's delivery and its last record's place in it (the
        delivery's offset is the batch's first record's).

        In aiokafka alone a record costs about 12 µs through ``send`` and under 1 µs
        appended to a batch (``docs/performance.md``). A record larger than
        :data:`BATCHED_RECORD_MAX` goes alone through :meth:`send`, which dead-letters
        one too large to send at all; the order in the partition is kept either way.
        """
        name = topic.get_topic_name()
        # Faust's producer has no batch call; its aiokafka producer does.
        producer = cast(Any, self.app.producer)._ensure_producer()
        batch, count = producer.create_batch(), 0
        delivery: asyncio.Future[RecordMetadata] | None = None
        for key, value in records:
            if len(key) + len(value or b"") > BATCHED_RECORD_MAX:
                if count:
                    await self._hand_batch(producer, batch, name, partition)
                    batch, count = producer.create_batch(), 0
                delivery = await self.send(topic, key, value, partition=partition)
                continue
            if batch.append(key=key, value=value, timestamp=None) is None:  # full
                await self._hand_batch(producer, batch, name, partition)
                batch, count = producer.create_batch(), 0
                batch.append(key=key, value=value, timestamp=None)  # a first record fits
            count += 1
        if count:
            return await self._hand_batch(producer, batch, name, partition), count - 1
        assert delivery is not None, "records to send"
        return delivery, 0

    async def _hand_batch(
        self, producer: Any, batch: Any, topic: str, partition: int
    ) -> asyncio.Future[RecordMetadata]:
        delivery: asyncio.Future[RecordMetadata] = await producer.send_batch(
            batch, topic, partition=partition
        )
        return self._handed(delivery, topic)

    def _handed(
        self, delivery: asyncio.Future[RecordMetadata], topic: str
    ) -> asyncio.Future[RecordMetadata]:
        """Keep ``delivery`` (a record's or a batch's) until it settles; return it."""
        self.handed.append(delivery)
        self.handed_to.append(topic)
        if len(self.handed) >= SETTLE_EVERY:
            self._settle()
        return delivery

    async def _dead_letter_unsent(
        self, topic: str, key: bytes | None, value: bytes | None, error: MessageSizeTooLargeError
    ) -> asyncio.Future[RecordMetadata]:
        size = len(key or b"") + len(value or b"")
        limit = self.app.conf.producer_max_request_size
        detail = f"a {size:,}-byte record for {topic} is more than the producer sends ({limit:,})"
        letter = dead_letter(topic, None, None, key, value, OUTPUT_TOO_LARGE, detail)
        await self.send(self.dead_letters, dead_letter_key(key), letter.dumps())
        metrics.dead_letters.labels(topic, OUTPUT_TOO_LARGE).inc()
        log.error("record to %s not sent, dead-lettered instead: %s (%s)", topic, detail, error)
        not_sent: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        not_sent.set_exception(NotSent(detail))
        not_sent.exception()  # retrieved: it is accounted for, not an unhandled error
        return not_sent

    def _settle(self) -> None:
        """Forget the deliveries that settled, counting and logging those that failed."""
        pending: list[asyncio.Future[RecordMetadata]] = []
        pending_to: list[str] = []
        for delivery, topic in zip(self.handed, self.handed_to, strict=True):
            if not delivery.done():
                pending.append(delivery)
                pending_to.append(topic)
            elif _failed(delivery):
                self.undelivered[topic] += 1
                metrics.produce_failures.labels(topic).inc()
                log.error("record to %s not delivered: %r", topic, delivery.exception())
        self.handed, self.handed_to = pending, pending_to

    async def all_delivered(self) -> None:
        """Wait for every delivery handed on so far; raise ``ProducerSendError`` if one of
        them, or any earlier one, failed (its inputs must then never be committed)."""
        pending = [delivery for delivery in self.handed if not delivery.done()]
        if pending:
            await asyncio.wait(pending)
        self._settle()
        if self.undelivered:
            counts = ", ".join(f"{n} to {topic}" for topic, n in self.undelivered.items())
            raise ProducerSendError(
                f"records not delivered ({counts}): not committing the offsets of their inputs"
            )


def _failed(delivery: asyncio.Future[RecordMetadata]) -> bool:
    return not delivery.cancelled() and delivery.exception() is not None


def install_commit_guard() -> None:
    """Make Faust's consumers commit only what their app's outbox has delivered."""
    replace_method(Consumer, "_handle_attached", _committing_only_delivered)


def _committing_only_delivered(handle_attached: Method) -> Method:
    """Faust's ``Consumer._handle_attached``, then the app's :meth:`Outbox.all_delivered`.

    It runs just before Faust commits ``commit_offsets``; a ``ProducerSendError``
    from it makes Faust crash the worker instead of committing. An app without an
    outbox (one that writes nothing through it) commits as Faust does.
    """

    async def _handle_attached(self: Consumer, commit_offsets: Mapping[TP, int]) -> None:
        await handle_attached(self, commit_offsets)
        outbox: Outbox | None = getattr(self.app, "outbox", None)
        if outbox is not None:
            await outbox.all_delivered()

    return _handle_attached
