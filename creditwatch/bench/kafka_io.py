"""Kafka plumbing shared by the phases: fast producing, produced offsets, group commits.

The bench counts what it produced (from the producer's delivery reports)
instead of asking the broker: Tansu's ``end_offsets()`` can under-count right
after producing, and a target that is too low would stop a timing early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from creditwatch.topic_admin import admin_client

#: (topic, partition)
Partition = tuple[str, int]

#: Big batches: pre-loading is about throughput (~89k/s here), not latency.
BULK_PRODUCER: dict[str, Any] = {
    "acks": 1,
    "linger_ms": 20,
    "max_batch_size": 512 * 1024,
}
#: Small batches for live traffic, so the producer adds ~1 ms, not 20.
LIVE_PRODUCER: dict[str, Any] = {"acks": 1, "linger_ms": 1}


@dataclass
class Produced:
    """Next offset per partition, from delivery reports: what a consumer must reach."""

    ends: dict[Partition, int] = field(default_factory=dict)

    def record(self, topic: str, partition: int, offset: int) -> None:
        key = (topic, partition)
        self.ends[key] = max(self.ends.get(key, 0), offset + 1)

    def count(self, topics: Iterable[str] | None = None) -> int:
        wanted = None if topics is None else set(topics)
        return sum(end for (t, _), end in self.ends.items() if wanted is None or t in wanted)

    def targets(self, topics: Iterable[str]) -> dict[Partition, int]:
        wanted = set(topics)
        return {tp: end for tp, end in self.ends.items() if tp[0] in wanted}


def bootstrap_list(bootstrap: str) -> list[str]:
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


async def produce_all(
    bootstrap: str,
    messages: Iterable[tuple[str, bytes | None, bytes]],
    produced: Produced,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Send ``(topic, key, value)`` as fast as the broker takes them; return how many.

    The default partitioner (murmur2 of the key) is Kafka's, so keys land where
    kafka-python and Java producers would put them.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_list(bootstrap), **BULK_PRODUCER)
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for topic, key, value in messages:
            pending.append(await producer.send(topic, value, key=key))
            sent += 1
            # Settle in slices so memory stays flat for million-record loads.
            if len(pending) >= 20_000:
                _record_all(await asyncio.gather(*pending), produced)
                pending.clear()
                if progress is not None:
                    progress(sent)
        _record_all(await asyncio.gather(*pending), produced)
    finally:
        await producer.stop()
    return sent


def _record_all(metadata: Iterable[Any], produced: Produced) -> None:
    for meta in metadata:
        produced.record(meta.topic, meta.partition, meta.offset)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """Create one topic (e.g. a table changelog before its worker exists)."""
    with admin_client(bootstrap) as admin:
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        except TopicAlreadyExistsError:
            pass


class GroupOffsets:
    """Committed input offsets of consumer groups, read with one kafka-python admin client."""

    def __init__(self, bootstrap: str) -> None:
        self._exit = ExitStack()
        self._admin = self._exit.enter_context(admin_client(bootstrap))

    def committed(self, group: str, topics: Iterable[str]) -> dict[Partition, int]:
        wanted = set(topics)
        return {tp: offset for tp, offset in self.all_committed(group).items() if tp[0] in wanted}

    def all_committed(self, group: str) -> dict[Partition, int]:
        """Every partition the group has committed, whatever the topic."""
        offsets = self._admin.list_group_offsets(group).get(group, {})
        return {(tp.topic, tp.partition): m.offset for tp, m in offsets.items() if m.offset >= 0}

    def close(self) -> None:
        self._exit.close()


def reached(committed: dict[Partition, int], targets: dict[Partition, int]) -> bool:
    """Every partition's commit at or past its target.

    >>> reached({("t", 0): 5, ("t", 1): 3}, {("t", 0): 5, ("t", 1): 3})
    True
    >>> reached({("t", 0): 5}, {("t", 0): 5, ("t", 1): 3})
    False
    """
    return all(committed.get(tp, 0) >= end for tp, end in targets.items())


@dataclass(frozen=True, slots=True)
class CommitProgress:
    """When a group's commits first moved and when they covered every target."""

    first_commit_at: float | None  # monotonic
    committed_at_first: int
    done_at: float | None  # monotonic; None: timed out


def watch_commits(
    offsets: GroupOffsets,
    group: str,
    topics: Iterable[str],
    targets: dict[Partition, int],
    timeout: float,
    *,
    interval: float = 0.1,
    alive: Callable[[], bool] = lambda: True,
    progress: Callable[[int], None] | None = None,
) -> CommitProgress:
    """Poll the group's commits until they reach ``targets``, the timeout, or a dead consumer."""
    topics = tuple(topics)
    deadline = time.monotonic() + timeout
    first_at: float | None = None
    first_count = 0
    while time.monotonic() < deadline and alive():
        committed = offsets.committed(group, topics)
        now = time.monotonic()
        count = sum(committed.values())
        if first_at is None and count > 0:
            first_at, first_count = now, count
        if progress is not None:
            progress(count)
        if reached(committed, targets):
            return CommitProgress(first_at, first_count, now)
        time.sleep(interval)
    return CommitProgress(first_at, first_count, None)
