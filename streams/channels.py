"""Faust topic objects for the catalogue in :mod:`topics.catalogue`, and how to write to them.

Every topic carries raw bytes: inputs are decoded by our own validators (so a
bad record becomes a dead letter, not an agent crash) and outputs are plain
JSON produced by the contract records, readable by any Kafka client.

:func:`produce` hands a record straight to the worker's Kafka producer.
Faust's ``Topic.send`` wraps each record in a future, queues it in a buffer
and has a background task hand it on: 75 µs a record against 26 µs for the
producer itself (``creditwatch bench sends``). Both are flushed before Faust
commits the input offsets that caused them, so nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import cast

import faust
from aiokafka.structs import RecordMetadata

from streams import metrics
from streams.app import app, settings
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
    RISK_DLQ,
    RISK_LIST_CHANGES,
    RISK_SILENCES,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
    TopicSpec,
)


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
    (``creditwatch_produce_failures_total``).
    """
    name = topic.get_topic_name()
    # Faust types it an Awaitable; its aiokafka driver returns aiokafka's Future.
    delivery = cast(
        "asyncio.Future[RecordMetadata]",
        await app.producer.send(name, key, value, partition, None, None),
    )
    delivery.add_done_callback(partial(_report_failure, name))
    return delivery


def _report_failure(topic: str, delivery: asyncio.Future[RecordMetadata]) -> None:
    if delivery.cancelled() or delivery.exception() is None:
        return
    metrics.produce_failures.labels(topic).inc()
    log.error("record to %s not delivered: %r", topic, delivery.exception())
