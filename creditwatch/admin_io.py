"""Synchronous Kafka reads and writes for administrative commands (kafka-python).

``creditwatch token`` and ``creditwatch audit`` read a whole topic (the token
records, the audit trail) and write a few records that must be on the broker
before the command reports success (``acks=all``, then flush).

Reading "to the end" uses :func:`streams.runtime.end_offsets.true_end_offsets`: the
embedded broker reports a partition's end as its last batch's base offset + 1,
which would cut off the last records of a batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from creditwatch.topic_admin import BrokerUnreachable, admin_client, check_reachable
from streams.runtime.end_offsets import true_end_offsets
from topics.audit import AuditRequest, encode_request
from topics.catalogue import AUDIT_REQUESTS

TIMEOUT_S = 10.0


class ReadIncomplete(RuntimeError):
    """A topic could not be read to its end within the timeout."""


@dataclass(frozen=True, slots=True)
class Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _client_config(bootstrap: str, timeout: float) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "client_id": "creditwatch-admin",
        "request_timeout_ms": int(timeout * 1000),
    }
    if "bootstrap_timeout_ms" in KafkaConsumer.DEFAULT_CONFIG:  # kafka-python 3
        config["bootstrap_timeout_ms"] = int(timeout * 1000)
    return config


def read_topic(bootstrap: str, topic: str, timeout: float = TIMEOUT_S) -> list[Message]:
    """Every record of ``topic``, partition by partition, from the beginning to the end.

    A topic that does not exist reads as empty (it is not created). Raises
    :class:`BrokerUnreachable` or :class:`ReadIncomplete`.
    """
    check_reachable(bootstrap, timeout)
    try:
        consumer = KafkaConsumer(
            enable_auto_commit=False, group_id=None, **_client_config(bootstrap, timeout)
        )
    except kafka.errors.KafkaError as exc:
        raise BrokerUnreachable(f"Kafka broker at {bootstrap} did not answer: {exc}") from exc
    try:
        # topics() lists without auto-creating; partitions_for_topic() might create it.
        if topic not in consumer.topics():
            return []
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = asyncio.run(true_end_offsets(bootstrap, consumer.end_offsets(partitions)))
        return _read_until(consumer, ends, timeout)
    finally:
        consumer.close()


def _read_until(consumer: KafkaConsumer, ends: dict[Any, int], timeout: float) -> list[Message]:
    messages: list[Message] = []
    remaining = {tp for tp, end in ends.items() if end > 0}
    deadline = time.monotonic() + timeout
    while remaining:
        if time.monotonic() > deadline:
            behind = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(remaining))
            raise ReadIncomplete(f"could not read {behind} to its end within {timeout:g} s")
        for tp, records in consumer.poll(timeout_ms=500).items():
            for record in records:
                messages.append(Message(tp.partition, record.offset, record.key, record.value))
                if record.offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    messages.sort(key=lambda m: (m.partition, m.offset))
    return messages


@contextmanager
def producer(bootstrap: str, timeout: float = TIMEOUT_S) -> Iterator[KafkaProducer]:
    """A producer whose sends are acknowledged by every in-sync replica; flushed on exit."""
    check_reachable(bootstrap, timeout)
    config = _client_config(bootstrap, timeout)
    config.pop("bootstrap_timeout_ms", None)
    if "bootstrap_timeout_ms" in KafkaProducer.DEFAULT_CONFIG:
        config["bootstrap_timeout_ms"] = int(timeout * 1000)
    try:
        client = KafkaProducer(acks="all", max_block_ms=int(timeout * 1000), **config)
    except kafka.errors.KafkaError as exc:
        raise BrokerUnreachable(f"Kafka broker at {bootstrap} did not answer: {exc}") from exc
    try:
        yield client
        client.flush(timeout=timeout)
    finally:
        client.close(timeout=timeout)


def send(
    client: KafkaProducer, topic: str, key: bytes | None, value: bytes, timeout: float
) -> None:
    """Send one record and wait for its acknowledgement (raises on failure)."""
    client.send(topic, key=key, value=value).get(timeout=timeout)


def send_audit_request(
    client: KafkaProducer, request: AuditRequest, timeout: float = TIMEOUT_S
) -> None:
    """Queue an action for the audit trail (the worker's chaining agent appends it)."""
    send(client, AUDIT_REQUESTS.name, request.actor.encode(), encode_request(request), timeout)


def end_offsets(
    bootstrap: str, topics: Iterable[str], timeout: float = TIMEOUT_S
) -> dict[tuple[str, int], int]:
    """The true end offset of every partition of ``topics`` (missing topics: none)."""
    check_reachable(bootstrap, timeout)
    config = _client_config(bootstrap, timeout)
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, **config)
    try:
        existing = consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        reported = {
            (tp.topic, tp.partition): end for tp, end in consumer.end_offsets(partitions).items()
        }
    finally:
        consumer.close()
    return asyncio.run(true_end_offsets(bootstrap, reported))


def group_lag(
    bootstrap: str, group: str, topics: Iterable[str], timeout: float = TIMEOUT_S
) -> dict[str, int]:
    """Messages of each topic a consumer group has not committed past (its lag), per topic."""
    topics = tuple(topics)
    ends = end_offsets(bootstrap, topics, timeout)
    with admin_client(bootstrap, timeout=timeout) as admin:
        offsets = admin.list_group_offsets(group).get(group, {})
    committed = {(tp.topic, tp.partition): max(m.offset, 0) for tp, m in offsets.items()}
    lag = dict.fromkeys(topics, 0)
    for (topic, partition), end in ends.items():
        lag[topic] += max(0, end - committed.get((topic, partition), 0))
    return lag
