"""Faust topic objects for the catalogue in :mod:`topics.catalogue`, and how to write to them.

Every topic carries raw bytes: inputs are decoded by our own validators (so a
bad record becomes a dead letter, not an agent crash) and outputs are plain
JSON produced by the contract records, readable by any Kafka client.

:func:`produce` hands a record straight to the worker's Kafka producer.
Faust's ``Topic.send`` wraps each record in a future, queues it in a buffer
and has a background task hand it on: 75 µs a record against 26 µs for the
producer itself (``creditwatch bench sends``).

No input offset is committed past a record whose outputs were not delivered.
Faust flushes the producer before it commits, but a flush only waits: a
delivery that failed after the producer's retries would be committed past, its
inputs never read again. So the worker's consumer first waits for every
delivery :func:`produce` handed on (:func:`all_delivered`) and, if one failed,
does not commit: Faust crashes the worker on it, as it does for a message it
could not attach, and the next worker reads from the last commit. A record
too large to send at all is never handed on: it goes to ``risk.dlq`` as an
``output_too_large`` letter instead (bounded, with its size and digest).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from functools import partial
from typing import cast

import faust
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import RecordMetadata
from faust.exceptions import ProducerSendError
from faust.transport.consumer import Consumer
from faust.types import TP

from streams import metrics
from streams.app import app, settings
from streams.runtime.patches import Method, replace_method
from topics.catalogue import (
    ACCESS_TOKENS,
    ADVERSE_SIGNALS,
    ALERT_CANDIDATES,
    AUDIT_REQUESTS,
    COMPLAINT_COUNTS,
    INPUT_TOPICS,
    PEER_FEATURES,
    RISK_ALERTS,
    RISK_AUDIT,
    RISK_CREDIT_REPORTS,
    RISK_DLQ,
    RISK_LIST_CHANGES,
    RISK_PUBLICATIONS,
    RISK_SILENCES,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
    TopicSpec,
)
from topics.risk import OUTPUT_TOO_LARGE, dead_letter, dead_letter_key


def raw_topic(
    *names: str, partitions: int | None = None, config: dict[str, str] | None = None
) -> faust.TopicT:
    """A topic of raw bytes keys and values (default: the worker's partition count)."""
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions if partitions is None else partitions,
        config=config,
    )


def _topic(*specs: TopicSpec) -> faust.TopicT:
    return raw_topic(
        *(spec.name for spec in specs),
        partitions=specs[0].partitions(settings.partitions),
        # A multi-topic channel cannot carry per-topic config; `creditwatch topics
        # create` sets retention and compaction for every topic from the catalogue.
        config=specs[0].config() if len(specs) == 1 else None,
    )


inputs = _topic(*INPUT_TOPICS)
alerts = _topic(RISK_ALERTS)
tier_changes = _topic(RISK_TIER_CHANGES)
dead_letters = _topic(RISK_DLQ)
adverse_signals = _topic(ADVERSE_SIGNALS)
complaint_counts = _topic(COMPLAINT_COUNTS)
peer_feature_changes = _topic(PEER_FEATURES)
list_changes = _topic(RISK_LIST_CHANGES)
workflow_notices = _topic(RISK_WORKFLOW)
publications = _topic(RISK_PUBLICATIONS)
credit_reports = _topic(RISK_CREDIT_REPORTS)
audit_trail = _topic(RISK_AUDIT)
audit_requests = _topic(AUDIT_REQUESTS)
access_tokens = _topic(ACCESS_TOKENS)
silences = _topic(RISK_SILENCES)
alert_candidates = _topic(ALERT_CANDIDATES)


log = logging.getLogger(__name__)


async def produce(
    topic: faust.TopicT, key: bytes | None, value: bytes | None, *, partition: int | None = None
) -> asyncio.Future[RecordMetadata]:
    """Send one record (``partition`` None: by key, as Kafka's clients do); return its delivery.

    Waits only while the producer's buffer is full. A delivery that fails after
    the producer's retries is logged and counted
    (``creditwatch_produce_failures_total``), and stops the worker's commits
    (:func:`all_delivered`). A record larger than the producer sends is
    dead-lettered in its place; its delivery then fails with :class:`NotSent`.
    """
    name = topic.get_topic_name()
    try:
        # Faust types it an Awaitable; its aiokafka driver returns aiokafka's Future.
        delivery = cast(
            "asyncio.Future[RecordMetadata]",
            await app.producer.send(name, key, value, partition, None, None),
        )
    except ProducerSendError as exc:
        if not isinstance(exc.__cause__, MessageSizeTooLargeError) or topic is dead_letters:
            raise
        return await _dead_letter_unsent(name, key, value, exc.__cause__)
    _unsettled.add(delivery)
    delivery.add_done_callback(partial(_settled, name))
    return delivery


class NotSent(Exception):
    """A record that was never handed to the producer (it is in ``risk.dlq`` instead)."""


async def _dead_letter_unsent(
    topic: str, key: bytes | None, value: bytes | None, error: MessageSizeTooLargeError
) -> asyncio.Future[RecordMetadata]:
    size = len(key or b"") + len(value or b"")
    limit = app.conf.producer_max_request_size
    detail = f"a {size:,}-byte record for {topic} is more than the producer sends ({limit:,})"
    letter = dead_letter(topic, None, None, key, value, OUTPUT_TOO_LARGE, detail)
    await produce(dead_letters, dead_letter_key(key), letter.dumps())
    metrics.dead_letters.labels(topic, OUTPUT_TOO_LARGE).inc()
    log.error("record to %s not sent, dead-lettered instead: %s (%s)", topic, detail, error)
    not_sent: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
    not_sent.set_exception(NotSent(detail))
    not_sent.exception()  # retrieved: it is accounted for, not an unhandled error
    return not_sent


#: Deliveries :func:`produce` handed on that have not settled yet.
_unsettled: set[asyncio.Future[RecordMetadata]] = set()
#: Deliveries that failed after the producer's retries, in this worker's life.
undelivered: Counter[str] = Counter()


def _failed(delivery: asyncio.Future[RecordMetadata]) -> bool:
    return not delivery.cancelled() and delivery.exception() is not None


def _settled(topic: str, delivery: asyncio.Future[RecordMetadata]) -> None:
    _unsettled.discard(delivery)
    if _failed(delivery):
        undelivered[topic] += 1
        metrics.produce_failures.labels(topic).inc()
        log.error("record to %s not delivered: %r", topic, delivery.exception())


async def all_delivered() -> None:
    """Wait for every delivery handed on so far; raise ``ProducerSendError`` if one of
    them, or any earlier one, failed (its inputs must then never be committed)."""
    pending = list(_unsettled)
    if pending:
        await asyncio.wait(pending)
    if undelivered or any(map(_failed, pending)):
        counts = ", ".join(f"{n} to {topic}" for topic, n in undelivered.items())
        raise ProducerSendError(
            f"records not delivered ({counts or 'just now'}): "
            "not committing the offsets of their inputs"
        )


def _committing_only_delivered(handle_attached: Method) -> Method:
    """Faust's ``Consumer._handle_attached``, then :func:`all_delivered`.

    It runs just before Faust commits ``commit_offsets``; a ``ProducerSendError``
    from it makes Faust crash the worker instead of committing.
    """

    async def _handle_attached(self: Consumer, commit_offsets: Mapping[TP, int]) -> None:
        await handle_attached(self, commit_offsets)
        await all_delivered()

    return _handle_attached


replace_method(Consumer, "_handle_attached", _committing_only_delivered)
